package server

import (
	"context"
	"maps"
	"net/url"
	"strings"

	"github.com/bingsan/bingsan/catalog"
	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/gen/iceberg"
	"github.com/bingsan/bingsan/internal/reqctx"
	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/vend"
)

// Delegated access to table storage: the X-Iceberg-Access-Delegation header
// on create, load and register, loadCredentials and signRequest.

// accessMode is the access the caller may have to the table's files.
func (a *api) accessMode(ctx context.Context, id store.Ident) vend.Mode {
	if f := a.srv.opts.AccessMode; f != nil {
		return f(ctx, id)
	}
	return vend.ReadWrite
}

// accessRequest reads the X-Iceberg-Access-Delegation header (nil: absent).
// Values the server does not know are ignored, never refused.
func accessRequest(a *api, ctx context.Context, id store.Ident, header *iceberg.DataAccess) catalog.AccessRequest {
	return catalog.AccessRequest{Mode: a.accessMode(ctx, id), Delegation: delegation(header)}
}

// delegation reads the header's list. The spec after 1.11 declares it an
// array (the generated binding splits it at commas), 1.11 a string: the
// same comma-separated text either way, parsed as one.
func delegation(header *iceberg.DataAccess) vend.Delegation {
	if header == nil {
		return vend.Delegation{}
	}
	return vend.ParseDelegation(strings.Join(*header, ","))
}

// withAccess fills a LoadTableResult's config and storage-credentials from
// a grant: the credentials go into both (clients such as PyIceberg and
// Trino read only config), and remote signing gets the signer endpoint of
// the table, relative to the catalog's base URI.
func withAccess(out iceberg.LoadTableResult, id store.Ident, g vend.Grant) iceberg.LoadTableResult {
	if len(g.Config) > 0 || g.RemoteSigning {
		cfg := maps.Clone(g.Config)
		if cfg == nil {
			cfg = map[string]string{}
		}
		if g.RemoteSigning {
			ep := signerEndpoint(id)
			cfg["signer.endpoint"] = ep
			cfg["s3.signer.endpoint"] = ep
		}
		out.Config = &cfg
	}
	if len(g.Credentials) > 0 {
		creds := storageCredentials(g.Credentials)
		out.StorageCredentials = &creds
	}
	return out
}

// signerEndpoint is the signRequest route of the table, relative to the
// catalog's base URI.
func signerEndpoint(id store.Ident) string {
	return "v1/" + url.PathEscape(id.Warehouse) +
		"/namespaces/" + url.PathEscape(strings.Join(id.Namespace, store.NamespaceSeparator)) +
		"/tables/" + url.PathEscape(id.Name) + "/sign"
}

func storageCredentials(creds []vend.Credential) []iceberg.StorageCredential {
	out := make([]iceberg.StorageCredential, len(creds))
	for i, c := range creds {
		out[i] = iceberg.StorageCredential{Prefix: c.Prefix, Config: maps.Clone(c.Config)}
	}
	return out
}

// LoadCredentials returns credentials for the table's files; an empty list
// when its warehouse vends none (local storage, or vending disabled).
func (a *api) LoadCredentials(ctx context.Context, req iceberg.LoadCredentialsRequestObject) (iceberg.LoadCredentialsResponseObject, error) {
	wh, err := a.warehouse(req.Prefix)
	if err != nil {
		return nil, err
	}
	id := pathIdent(wh, req.NamespaceParam, req.Table)
	creds, err := a.cat.LoadCredentials(ctx, id, a.accessMode(ctx, id))
	if err != nil {
		return nil, err
	}
	noStore(ctx)
	return iceberg.LoadCredentials200JSONResponse{LoadCredentialsResponseJSONResponse: iceberg.LoadCredentialsResponseJSONResponse{
		StorageCredentials: storageCredentials(creds),
	}}, nil
}

// SignRequest signs a client's request to object storage when it
// addresses the table's files, and answers 403 otherwise.
func (a *api) SignRequest(ctx context.Context, req iceberg.SignRequestRequestObject) (iceberg.SignRequestResponseObject, error) {
	wh, err := a.warehouse(req.Prefix)
	if err != nil {
		return nil, err
	}
	b := req.Body
	if b.Uri == "" || b.Method == "" {
		return nil, errs.New(errs.BadRequest, "Invalid sign request: uri and method are required")
	}
	r := vend.SignRequest{Method: string(b.Method), URI: b.Uri, Headers: b.Headers, Region: b.Region}
	if b.Body != nil {
		r.Body = *b.Body
	}
	if b.Provider != nil {
		r.Provider = *b.Provider
	}
	id := pathIdent(wh, req.NamespaceParam, req.Table)
	signed, err := a.cat.SignRequest(ctx, id, a.accessMode(ctx, id), r)
	if err != nil {
		return nil, err
	}
	noStore(ctx)
	return iceberg.SignRequest200JSONResponse{RemoteSignResponseJSONResponse: iceberg.RemoteSignResponseJSONResponse{
		Uri: signed.URI, Headers: signed.Headers,
	}}, nil
}

// noStore marks a response carrying credentials or signatures as not to be
// cached (the signer spec's Cache-Control: no-cache).
func noStore(ctx context.Context) {
	if rc, ok := reqctx.Request(ctx); ok {
		rc.Response.Header.Set("Cache-Control", "no-cache")
	}
}
