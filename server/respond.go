package server

import (
	"encoding/json"

	"github.com/valyala/fasthttp"

	"github.com/bingsan/bingsan/gen/iceberg"
)

// tableResponse is the 200 answer of loadTable, createTable, registerTable
// (LoadTableResult) and updateTable (CommitTableResponse). It writes the
// stored metadata bytes into the body as they are: the generated responses
// would hand them to encoding/json, which validates and compacts every byte
// of a json.RawMessage again (most of the time of a load of large
// metadata). The other fields are small and encoded from a pooled buffer.
type tableResponse struct {
	srv      *Server
	etag     *string
	metadata []byte // the table metadata JSON, as stored
	rest     tableResponseRest
}

// tableResponseRest is every field but metadata, in the spec's names.
type tableResponseRest struct {
	MetadataLocation   *string                      `json:"metadata-location,omitempty"`
	Config             *map[string]string           `json:"config,omitempty"`
	StorageCredentials *[]iceberg.StorageCredential `json:"storage-credentials,omitempty"`
}

var (
	_ iceberg.LoadTableResponseObject     = tableResponse{}
	_ iceberg.CreateTableResponseObject   = tableResponse{}
	_ iceberg.RegisterTableResponseObject = tableResponse{}
	_ iceberg.UpdateTableResponseObject   = tableResponse{}
)

// loadTableResponse answers with a LoadTableResult.
func (a *api) loadTableResponse(r iceberg.LoadTableResult, etag *string) tableResponse {
	return tableResponse{srv: a.srv, etag: etag, metadata: r.Metadata, rest: tableResponseRest{
		MetadataLocation: r.MetadataLocation, Config: r.Config, StorageCredentials: r.StorageCredentials,
	}}
}

// commitTableResponse answers with a CommitTableResponse.
func (a *api) commitTableResponse(r iceberg.CommitTableResponse, etag *string) tableResponse {
	loc := r.MetadataLocation
	return tableResponse{srv: a.srv, etag: etag, metadata: r.Metadata, rest: tableResponseRest{MetadataLocation: &loc}}
}

func (r tableResponse) VisitLoadTableResponse(ctx *fasthttp.RequestCtx) error   { return r.write(ctx) }
func (r tableResponse) VisitCreateTableResponse(ctx *fasthttp.RequestCtx) error { return r.write(ctx) }
func (r tableResponse) VisitRegisterTableResponse(ctx *fasthttp.RequestCtx) error {
	return r.write(ctx)
}
func (r tableResponse) VisitUpdateTableResponse(ctx *fasthttp.RequestCtx) error { return r.write(ctx) }

var (
	metadataOpen = []byte(`{"metadata":`)
	jsonNull     = []byte("null")
	comma        = []byte(",")
	closeNewline = []byte("}\n")
)

// write sends {"metadata":<stored bytes>,<the other fields>} followed by a
// newline, as the generated encoder does.
func (r tableResponse) write(ctx *fasthttp.RequestCtx) error {
	if r.etag != nil {
		ctx.Response.Header.Set("etag", *r.etag)
	}
	ctx.Response.Header.SetContentType("application/json")
	ctx.SetStatusCode(fasthttp.StatusOK)

	buf := r.srv.bufs.Get()
	defer r.srv.bufs.Put(buf)
	if err := json.NewEncoder(buf).Encode(r.rest); err != nil {
		return err
	}
	// buf holds {<the other fields>}\n.
	rest := buf.Bytes()
	rest = rest[1 : len(rest)-2]

	doc := r.metadata
	if len(doc) == 0 {
		doc = jsonNull
	}
	ctx.Response.AppendBody(metadataOpen)
	ctx.Response.AppendBody(doc)
	if len(rest) > 0 {
		ctx.Response.AppendBody(comma)
		ctx.Response.AppendBody(rest)
	}
	ctx.Response.AppendBody(closeNewline)
	return nil
}
