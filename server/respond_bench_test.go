package server

// The loadTable response on its own: the stored metadata written as it is
// (tableResponse) against the generated response, which hands it to
// encoding/json (validated and compacted again).
//
//	go test ./server -run '^$' -bench TableResponse -benchmem

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/bingsan/bingsan/gen/iceberg"
	"github.com/bingsan/bingsan/internal/bufpool"
)

// metadataOfSize is a table metadata document of about n bytes (its
// snapshots make up the bulk).
func metadataOfSize(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"format-version":2,"table-uuid":"6a1f3c2e-9d4b-4f7a-8c1e-2b3d4e5f6a7b","location":"s3://bucket/db/t",` +
		`"last-sequence-number":0,"last-updated-ms":1700000000000,"last-column-id":1,"current-schema-id":0,` +
		`"schemas":[{"type":"struct","schema-id":0,"fields":[{"id":1,"name":"id","required":true,"type":"long"}]}],` +
		`"default-spec-id":0,"partition-specs":[{"spec-id":0,"fields":[]}],"last-partition-id":999,` +
		`"default-sort-order-id":0,"sort-orders":[{"order-id":0,"fields":[]}],"properties":{"owner":"bench"},"snapshots":[`)
	for i := 0; b.Len() < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"snapshot-id":%d,"sequence-number":%d,"timestamp-ms":%d,"manifest-list":"s3://bucket/db/t/metadata/snap-%d.avro",`+
			`"summary":{"operation":"append","added-data-files":"4","added-records":"125000","total-records":"%d"},"schema-id":0}`,
			1000+i, i+1, 1700000000000+i, 1000+i, (i+1)*125000)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

func BenchmarkTableResponse(b *testing.B) {
	srv := &Server{bufs: bufpool.New(maxPooledBuffer, nil)}
	a := &api{srv: srv}
	loc := "s3://bucket/db/t/metadata/00001-6a1f3c2e-9d4b-4f7a-8c1e-2b3d4e5f6a7b.metadata.json"
	etag := `"0123456789abcdef0123456789abcdef"`
	cfg := map[string]string{"s3.endpoint": "http://127.0.0.1:9000", "client.region": "us-east-1", "s3.path-style-access": "true"}
	for _, size := range []int{4 << 10, 1 << 20} {
		doc := metadataOfSize(size)
		if !json.Valid(doc) {
			b.Fatal("invalid test document")
		}
		result := iceberg.LoadTableResult{MetadataLocation: &loc, Metadata: doc, Config: &cfg}
		for _, impl := range []string{"raw", "encoding-json"} {
			b.Run(fmt.Sprintf("%dKiB/%s", size>>10, impl), func(b *testing.B) {
				var ctx fasthttp.RequestCtx
				b.SetBytes(int64(len(doc)))
				b.ReportAllocs()
				for b.Loop() {
					ctx.Response.Reset()
					var err error
					if impl == "raw" {
						err = a.loadTableResponse(result, &etag).VisitLoadTableResponse(&ctx)
					} else {
						err = iceberg.LoadTable200JSONResponse{LoadTableResponseJSONResponse: iceberg.LoadTableResponseJSONResponse{
							Body: result, Headers: iceberg.LoadTableResponseResponseHeaders{Etag: &etag},
						}}.VisitLoadTableResponse(&ctx)
					}
					if err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// The raw response is the same JSON value as the generated one.
func TestTableResponseMatchesGenerated(t *testing.T) {
	srv := &Server{bufs: bufpool.New(maxPooledBuffer, nil)}
	a := &api{srv: srv}
	loc := "file:///w/db/t/metadata/00001-x.metadata.json"
	etag := `"e"`
	cfg := map[string]string{"k": "v<&>"}
	creds := []iceberg.StorageCredential{{Prefix: "s3://b/p", Config: map[string]string{"a": "b"}}}
	doc := metadataOfSize(2000)
	for _, result := range []iceberg.LoadTableResult{
		{MetadataLocation: &loc, Metadata: doc, Config: &cfg, StorageCredentials: &creds},
		{MetadataLocation: &loc, Metadata: doc},
		{Metadata: doc}, // staged create
	} {
		var raw, gen fasthttp.RequestCtx
		if err := a.loadTableResponse(result, &etag).VisitLoadTableResponse(&raw); err != nil {
			t.Fatal(err)
		}
		if err := (iceberg.LoadTable200JSONResponse{LoadTableResponseJSONResponse: iceberg.LoadTableResponseJSONResponse{
			Body: result, Headers: iceberg.LoadTableResponseResponseHeaders{Etag: &etag},
		}}).VisitLoadTableResponse(&gen); err != nil {
			t.Fatal(err)
		}
		var got, want any
		if err := json.Unmarshal(raw.Response.Body(), &got); err != nil {
			t.Fatalf("raw response is not JSON: %v\n%s", err, raw.Response.Body())
		}
		if err := json.Unmarshal(gen.Response.Body(), &want); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("raw response differs:\n got %s\nwant %s", raw.Response.Body(), gen.Response.Body())
		}
		for _, h := range []string{"Content-Type", "Etag"} {
			if g, w := string(raw.Response.Header.Peek(h)), string(gen.Response.Header.Peek(h)); g != w {
				t.Errorf("header %s: %q, want %q", h, g, w)
			}
		}
		if raw.Response.StatusCode() != 200 {
			t.Errorf("status %d", raw.Response.StatusCode())
		}
	}
	var commit fasthttp.RequestCtx
	if err := a.commitTableResponse(iceberg.CommitTableResponse{MetadataLocation: loc, Metadata: doc}, nil).VisitUpdateTableResponse(&commit); err != nil {
		t.Fatal(err)
	}
	var c iceberg.CommitTableResponse
	if err := json.Unmarshal(commit.Response.Body(), &c); err != nil || c.MetadataLocation != loc || !bytes.Equal(c.Metadata, doc) {
		t.Fatalf("commit response: %v %s", err, commit.Response.Body())
	}
}
