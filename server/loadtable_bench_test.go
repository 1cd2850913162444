package server_test

// End-to-end benchmarks of loadTable over a loopback connection, on SQLite
// and (when PostgreSQL answers) PostgreSQL:
//
//	go test ./server -run '^$' -bench LoadTable -benchmem
//
// Client and server share the process, so B/op and allocs/op count both.

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/bingsan/bingsan/server/servertest"
)

func BenchmarkLoadTable(b *testing.B) {
	for _, backend := range servertest.Backends {
		b.Run(string(backend), func(b *testing.B) {
			srv := servertest.Start(b, backend, servertest.Config{})
			hc := &fasthttp.HostClient{Addr: strings.TrimPrefix(srv.URL, "http://"), MaxConns: 1}
			do := func(method, path, body string) []byte {
				req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
				defer fasthttp.ReleaseRequest(req)
				defer fasthttp.ReleaseResponse(resp)
				req.Header.SetMethod(method)
				req.SetRequestURI(srv.URL + path)
				if body != "" {
					req.Header.SetContentType("application/json")
					req.SetBodyString(body)
				}
				if err := hc.Do(req, resp); err != nil {
					b.Fatal(err)
				}
				if resp.StatusCode() != 200 {
					b.Fatalf("%s %s: %d %s", method, path, resp.StatusCode(), resp.Body())
				}
				return append([]byte(nil), resp.Body()...)
			}
			do("POST", "/v1/namespaces", `{"namespace":["db"]}`)
			for _, name := range []string{"small", "big"} {
				do("POST", "/v1/namespaces/db/tables", `{"name":"`+name+`","schema":{"type":"struct","schema-id":0,"fields":[`+
					`{"id":1,"name":"id","required":true,"type":"long"},{"id":2,"name":"ts","required":false,"type":"timestamptz"}]}}`)
			}
			size := growTable(b, do, "/v1/namespaces/db/tables/big", 1_000_000)

			for _, tc := range []struct {
				name, path string
				size       int
			}{
				{"small", "/v1/namespaces/db/tables/small", 0},
				{fmt.Sprintf("%.1fMB", float64(size)/1e6), "/v1/namespaces/db/tables/big", size},
			} {
				b.Run(tc.name, func(b *testing.B) {
					req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
					defer fasthttp.ReleaseRequest(req)
					defer fasthttp.ReleaseResponse(resp)
					req.SetRequestURI(srv.URL + tc.path)
					b.SetBytes(int64(tc.size))
					b.ReportAllocs()
					for b.Loop() {
						if err := hc.Do(req, resp); err != nil || resp.StatusCode() != 200 {
							b.Fatal(err, resp.StatusCode())
						}
					}
				})
			}
		})
	}
}

// growTable appends snapshots to the table at path until its metadata has
// at least size bytes, and returns the size.
func growTable(b *testing.B, do func(method, path, body string) []byte, path string, size int) int {
	var parent int64
	id, seq, ts := int64(1000), int64(0), time.Now().UnixMilli()
	for {
		body := do("GET", path, "")
		// The metadata is all of the body but the location and envelope.
		if len(body) >= size {
			return len(body)
		}
		var sb strings.Builder
		sb.WriteString(`{"requirements":[],"updates":[`)
		for i := range 400 {
			id, seq, ts = id+1, seq+1, ts+1
			if i > 0 {
				sb.WriteByte(',')
			}
			p := ""
			if parent != 0 {
				p = fmt.Sprintf(`"parent-snapshot-id":%d,`, parent)
			}
			fmt.Fprintf(&sb, `{"action":"add-snapshot","snapshot":{"snapshot-id":%d,%s"sequence-number":%d,"timestamp-ms":%d,`+
				`"manifest-list":"s3://bucket/db/big/metadata/snap-%d-1-6a1f3c2e-9d4b-4f7a-8c1e-2b3d4e5f6a7b.avro","schema-id":0,`+
				`"summary":{"operation":"append","added-data-files":"4","added-records":"125000","total-records":"%d","total-data-files":"%d"}}}`,
				id, p, seq, ts, id, seq*125000, seq*4)
			parent = id
		}
		fmt.Fprintf(&sb, `,{"action":"set-snapshot-ref","ref-name":"main","type":"branch","snapshot-id":%d}]}`, parent)
		do("POST", path, sb.String())
	}
}
