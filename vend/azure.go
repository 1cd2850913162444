package vend

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	icebergio "github.com/apache/iceberg-go/io"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/vend/azure"
)

// AzureConfig is the Azure Blob Storage / ADLS Gen2 section of a storage
// profile. Locations are abfs[s]://<container>@<account>.dfs.core.windows.net/<path>
// or wasb[s]://<container>@<account>.blob.core.windows.net/<path>; the
// account is the first label of the host. Both are served through the Blob
// endpoint (ADLS Gen2 accounts answer the Blob API too).
type AzureConfig struct {
	// Endpoint is the Blob service URL of the account; empty:
	// https://<account>.blob.<domain of the location's host>. Emulators
	// take a path-style URL (Azurite:
	// https://127.0.0.1:10000/devstoreaccount1).
	Endpoint string
	// AccountKey is the account's shared key. When set, the catalog reads
	// and writes with it, and vends service SAS signed with it unless an
	// Azure AD credential is configured too.
	AccountKey Secret
	// TenantID, ClientID and ClientSecret are a service principal (all
	// three or none). Without them and without AccountKey the default
	// Azure credential chain (environment, workload identity, managed
	// identity, Azure CLI) is used. An Azure AD credential makes vended
	// SAS user-delegation SAS.
	TenantID     string
	ClientID     string
	ClientSecret Secret
	// SASScope is what a vended SAS covers: "directory" (default; the
	// table's directory, sr=d — needs an account with hierarchical
	// namespace, i.e. ADLS Gen2) or "container" (the whole container: the
	// narrowest SAS Azure offers on flat-namespace accounts and emulators).
	SASScope string

	// TokenCredential, when set, is the Azure AD credential (programmatic
	// use and tests; no configuration key): an azure.TokenSource, or a
	// credential of the Azure SDK (azcore.TokenCredential, or anything with
	// its method GetToken(context.Context, policy.TokenRequestOptions)
	// (azcore.AccessToken, error)).
	TokenCredential any
	// HTTPClient, when set, carries every request (tests; no configuration
	// key).
	HTTPClient *http.Client
}

// SAS scopes.
const (
	SASScopeDirectory = "directory"
	SASScopeContainer = "container"
)

func (c AzureConfig) sasScope() string {
	if c.SASScope == "" {
		return SASScopeDirectory
	}
	return c.SASScope
}

// azureAccount is the account of a warehouse location and the Blob
// endpoint that serves it.
type azureAccount struct {
	name     string   // account name
	endpoint *url.URL // Blob service URL, path ending in "/"
	// hostStyle: the endpoint's host starts with the account name.
	hostStyle bool
}

// resolveAzureAccount finds the account and endpoint of a warehouse at
// base (a parsed abfs/wasb location).
func resolveAzureAccount(base location, cfg AzureConfig) (azureAccount, error) {
	_, host, err := azureContainerHost(base)
	if err != nil {
		return azureAccount{}, err
	}
	name, domain, _ := strings.Cut(host, ".")
	if name == "" {
		return azureAccount{}, fmt.Errorf("azure: location %s names no storage account", base.raw)
	}
	ep := cfg.Endpoint
	if ep == "" {
		// account.dfs.core.windows.net and account.blob.core.windows.net
		// are the same account; the Blob endpoint serves both.
		_, rest, ok := strings.Cut(domain, ".")
		if !ok || (!strings.HasPrefix(domain, "dfs.") && !strings.HasPrefix(domain, "blob.")) {
			return azureAccount{}, fmt.Errorf("azure: cannot derive the Blob endpoint from %s; set the endpoint", host)
		}
		ep = "https://" + name + ".blob." + rest + "/"
	}
	u, err := url.Parse(ep)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		return azureAccount{}, fmt.Errorf("azure: endpoint %q is not an http(s) URL", ep)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	first, _, _ := strings.Cut(u.Hostname(), ".")
	return azureAccount{name: name, endpoint: u, hostStyle: strings.EqualFold(first, name)}, nil
}

// azureContainerHost splits the authority of an Azure location.
func azureContainerHost(l location) (string, string, error) {
	c, h, ok := strings.Cut(l.bucket, "@")
	if !ok || c == "" || h == "" {
		return "", "", errs.New(errs.BadRequest, "Azure location %s must name a container and an account: <scheme>://<container>@<account>.<host>/<path>", l.raw)
	}
	return c, h, nil
}

func (c AzureConfig) check() error {
	if (c.TenantID == "") != (c.ClientID == "") || (c.ClientID == "") != (c.ClientSecret == "") {
		return errors.New("azure: tenant-id, client-id and client-secret must be set together")
	}
	switch c.SASScope {
	case "", SASScopeDirectory, SASScopeContainer:
	default:
		return fmt.Errorf("azure: sas-scope %q is not %s or %s", c.SASScope, SASScopeDirectory, SASScopeContainer)
	}
	return nil
}

// azureBackend is the FileIO of one Azure warehouse's account, over the
// Blob REST API: exclusive creates are Put Blob with If-None-Match: *.
type azureBackend struct {
	cfg     AzureConfig
	account azureAccount
	http    *http.Client
	svc     *azure.Client     // the catalog's own access
	token   azure.TokenSource // nil without Azure AD
}

var _ objectIO = (*azureBackend)(nil)

// azureTokenEarlyRefresh: Azure AD tokens are renewed this long before
// they expire.
const azureTokenEarlyRefresh = 5 * time.Minute

// newAzureBackend builds the clients; it contacts no server.
func newAzureBackend(base location, cfg AzureConfig) (*azureBackend, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	acct, err := resolveAzureAccount(base, cfg)
	if err != nil {
		return nil, err
	}
	b := &azureBackend{cfg: cfg, account: acct, http: &http.Client{Transport: baseTransport(cfg.HTTPClient), Timeout: time.Minute}}
	var src azure.TokenSource
	switch {
	case cfg.TokenCredential != nil:
		src, err = azureSDKTokenSource(cfg.TokenCredential)
		if err != nil {
			return nil, fmt.Errorf("azure: %w", err)
		}
	case cfg.ClientID != "":
		src = azure.ClientSecret(cfg.TenantID, cfg.ClientID, cfg.ClientSecret.Reveal(), b.http)
	case cfg.AccountKey == "":
		src = azure.Default(b.http)
	}
	if src != nil {
		b.token = azureTokenCredential{inner: azure.Cached(src, azureTokenEarlyRefresh)}
	}
	b.svc, err = azure.NewClient(acct.name, acct.endpoint, b.http, cfg.AccountKey.Reveal(), b.token)
	if err != nil {
		return nil, fmt.Errorf("azure: account key: %w", err)
	}
	return b, nil
}

// object splits an Azure location of this backend's account into
// container and blob name.
func (b *azureBackend) object(loc string) (string, string, error) {
	cont, key, err := b.containerKey(loc)
	if err != nil {
		return "", "", err
	}
	if key == "" {
		return "", "", errs.New(errs.BadRequest, "Not an Azure blob location: %s", loc)
	}
	return cont, key, nil
}

// containerKey splits an Azure location of this backend's account.
func (b *azureBackend) containerKey(loc string) (string, string, error) {
	l, err := parseLocation(loc)
	if err != nil {
		return "", "", err
	}
	if l.kind != kindAzure {
		return "", "", errs.New(errs.BadRequest, "Not an Azure location: %s", loc)
	}
	cont, host, err := azureContainerHost(l)
	if err != nil {
		return "", "", err
	}
	if name, _, _ := strings.Cut(host, "."); !strings.EqualFold(name, b.account.name) {
		return "", "", errs.New(errs.BadRequest, "Location %s is in storage account %s; this warehouse's storage is account %s", loc, name, b.account.name)
	}
	return cont, l.key, nil
}

// WriteNew implements FileIO: one Put Blob with If-None-Match: *; Azure
// refuses it when the blob exists, and a Put Blob is atomic.
func (b *azureBackend) WriteNew(ctx context.Context, loc string, data []byte) error {
	ctx, cancel := detach(ctx)
	defer cancel()
	cont, key, err := b.object(loc)
	if err != nil {
		return err
	}
	if err := b.svc.Create(ctx, cont, key, data); err != nil {
		return azureError(err, "write", loc)
	}
	return nil
}

// Read implements FileIO.
func (b *azureBackend) Read(ctx context.Context, loc string) ([]byte, error) {
	ctx, cancel := detach(ctx)
	defer cancel()
	cont, key, err := b.object(loc)
	if err != nil {
		return nil, err
	}
	data, err := b.svc.Get(ctx, cont, key)
	if err != nil {
		return nil, azureError(err, "read", loc)
	}
	return data, nil
}

// Exists implements FileIO.
func (b *azureBackend) Exists(ctx context.Context, loc string) (bool, error) {
	ctx, cancel := detach(ctx)
	defer cancel()
	cont, key, err := b.object(loc)
	if err != nil {
		return false, err
	}
	if err := b.svc.Exists(ctx, cont, key); err != nil {
		err = azureError(err, "stat", loc)
		if errs.Is(err, errs.NotFound) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// Delete implements FileIO; a missing blob is not an error.
func (b *azureBackend) Delete(ctx context.Context, loc string) error {
	ctx, cancel := detach(ctx)
	defer cancel()
	cont, key, err := b.object(loc)
	if err != nil {
		return err
	}
	if err := b.svc.Delete(ctx, cont, key); err != nil {
		if err = azureError(err, "delete", loc); !errs.Is(err, errs.NotFound) {
			return err
		}
	}
	return nil
}

// FS implements FileIO: iceberg-go reads the container's files with the
// catalog's own access.
func (b *azureBackend) FS(ctx context.Context, loc string) (icebergio.IO, error) {
	if _, _, err := b.containerKey(loc); err != nil {
		return nil, err
	}
	l, _ := parseLocation(loc)
	return newObjectFS(ctx, b, kindAzure, l.bucket), nil
}

// azureError turns an Azure failure into an errs kind. The message names
// the cause as the store reported it (status and error code) or the
// network error; neither contains credentials.
func azureError(err error, op, loc string) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var re *azure.Error
	if errors.As(err, &re) {
		switch {
		case re.Status == http.StatusNotFound && op != "write":
			return errs.Wrap(errs.NotFound, err, "File does not exist: %s", loc)
		case (re.Code == "BlobAlreadyExists" || re.Code == "ConditionNotMet" || re.Status == http.StatusPreconditionFailed) && op == "write":
			return errs.Wrap(errs.AlreadyExists, err, "File already exists: %s", loc)
		}
		return refusal(err, re.Status, re.Code, azureErrorText(re), op, loc)
	}
	var te *azureTokenError
	if errors.As(err, &te) {
		return errs.Wrap(errs.ServiceUnavailable, err, "Storage credentials are unavailable: cannot %s %s: %s", op, loc, te.Error())
	}
	return errs.Wrap(errs.ServiceUnavailable, err, "Storage is unreachable: cannot %s %s: %s", op, loc, networkCause(err))
}

// azureErrorText is "status code" of an Azure error response.
func azureErrorText(re *azure.Error) string {
	if re.Code != "" {
		return fmt.Sprintf("%d %s", re.Status, re.Code)
	}
	return fmt.Sprint(re.Status)
}

// azureTokenCredential marks failures of the catalog's Azure AD
// credential, so that they are told apart from storage failures.
type azureTokenCredential struct{ inner azure.TokenSource }

func (c azureTokenCredential) Token(ctx context.Context, scope string) (azure.Token, error) {
	t, err := c.inner.Token(ctx, scope)
	if err != nil {
		return t, &azureTokenError{err: err}
	}
	return t, nil
}

// azureTokenError is a failure to obtain the catalog's Azure AD token.
type azureTokenError struct{ err error }

func (e *azureTokenError) Error() string {
	return "Azure AD issued no token to the catalog: " + firstLine(e.err.Error())
}

func (e *azureTokenError) Unwrap() error { return e.err }

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}
