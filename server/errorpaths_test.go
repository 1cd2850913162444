package server_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/bingsan/bingsan/gen/iceberg"
	"github.com/bingsan/bingsan/server/servertest"
)

const epSchema = `{"type":"struct","schema-id":0,"fields":[` +
	`{"id":1,"name":"id","type":"long","required":true},` +
	`{"id":2,"name":"name","type":"string","required":false}]}`

func epCreateTableBody(name string) string {
	return fmt.Sprintf(`{"name":%q,"schema":%s}`, name, epSchema)
}

// epMust sends a request that must succeed with status want.
func epMust(t *testing.T, want int, method, url, body string, headers ...string) []byte {
	t.Helper()
	ct := ""
	if body != "" {
		ct = "application/json"
	}
	status, _, resp := call(t, method, url, ct, []byte(body), headers...)
	if status != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, url, status, want, resp)
	}
	return resp
}

// epTable is what a load of a table returns.
type epTable struct {
	MetadataLocation string          `json:"metadata-location"`
	Metadata         json.RawMessage `json:"metadata"`
}

// epLoad loads ns.name and returns the response.
func epLoad(t *testing.T, base string, ns []string, name string) epTable {
	t.Helper()
	var tb epTable
	body := epMust(t, 200, "GET", base+"/v1/namespaces/"+epNS(ns)+"/tables/"+url.PathEscape(name), "")
	if err := json.Unmarshal(body, &tb); err != nil {
		t.Fatal(err)
	}
	return tb
}

func epNS(levels []string) string {
	esc := make([]string, len(levels))
	for i, l := range levels {
		esc[i] = url.PathEscape(l)
	}
	return strings.Join(esc, "%1F")
}

// epCatalogState is everything a client can observe of the catalog (every
// namespace with its properties, every table with its metadata) plus every
// file in the warehouse. Two equal states mean a request changed nothing.
func epCatalogState(t *testing.T, srv *servertest.Instance) map[string]string {
	t.Helper()
	state := map[string]string{}
	var walk func(parent []string)
	walk = func(parent []string) {
		u := srv.URL + "/v1/namespaces"
		if parent != nil {
			u += "?parent=" + epNS(parent)
		}
		var list iceberg.ListNamespacesResponse
		if err := json.Unmarshal(epMust(t, 200, "GET", u, ""), &list); err != nil {
			t.Fatal(err)
		}
		for _, ns := range *list.Namespaces {
			key := strings.Join(ns, ".")
			state["namespace "+key] = string(epMust(t, 200, "GET", srv.URL+"/v1/namespaces/"+epNS(ns), ""))
			var tables iceberg.ListTablesResponse
			if err := json.Unmarshal(epMust(t, 200, "GET", srv.URL+"/v1/namespaces/"+epNS(ns)+"/tables", ""), &tables); err != nil {
				t.Fatal(err)
			}
			for _, id := range *tables.Identifiers {
				tb := epLoad(t, srv.URL, id.Namespace, id.Name)
				state["table "+key+"."+id.Name] = tb.MetadataLocation + "\n" + string(tb.Metadata)
			}
			walk(ns)
		}
	}
	walk(nil)
	for _, f := range filesUnder(t, localPath(t, srv.Warehouse)) {
		state["file "+f] = ""
	}
	return state
}

func epDiff(before, after map[string]string) string {
	var out []string
	for k, v := range before {
		if w, ok := after[k]; !ok {
			out = append(out, "- "+k)
		} else if w != v {
			out = append(out, "~ "+k)
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			out = append(out, "+ "+k)
		}
	}
	slices.Sort(out)
	return strings.Join(out, "\n")
}

func TestErrorPaths(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		srv := servertest.Start(t, b, servertest.Config{})
		base := srv.URL + "/v1"

		// Fixture: ns.t, other.t2, and a file in the warehouse that is not
		// Iceberg metadata.
		epMust(t, 200, "POST", base+"/namespaces", `{"namespace":["ns"],"properties":{"owner":"a"}}`)
		epMust(t, 200, "POST", base+"/namespaces", `{"namespace":["other"]}`)
		epMust(t, 200, "POST", base+"/namespaces/ns/tables", epCreateTableBody("t"))
		epMust(t, 200, "POST", base+"/namespaces/other/tables", epCreateTableBody("t2"))
		tb := epLoad(t, srv.URL, []string{"ns"}, "t")
		var meta struct {
			UUID string `json:"table-uuid"`
		}
		if err := json.Unmarshal(tb.Metadata, &meta); err != nil || meta.UUID == "" {
			t.Fatalf("table uuid: %v %s", err, tb.Metadata)
		}
		garbage := filepath.Join(localPath(t, srv.Warehouse), "not-iceberg", "00000-garbage.metadata.json")
		if err := os.MkdirAll(filepath.Dir(garbage), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(garbage, []byte("this is not { json at all"), 0o644); err != nil {
			t.Fatal(err)
		}
		notMetadata := filepath.Join(filepath.Dir(garbage), "00001-json.metadata.json")
		if err := os.WriteFile(notMetadata, []byte(`{"hello":"world"}`), 0o644); err != nil {
			t.Fatal(err)
		}

		cases := []struct {
			name    string
			method  string
			path    string
			body    string
			status  int
			errType string
			message string // exact message, when set
		}{
			{"create table in missing namespace", "POST", "/namespaces/missing/tables", epCreateTableBody("x"),
				404, "NoSuchNamespaceException", ""},
			{"create existing table", "POST", "/namespaces/ns/tables", epCreateTableBody("t"),
				409, "AlreadyExistsException", "Table already exists: ns.t"},
			{"create table without schema", "POST", "/namespaces/ns/tables", `{"name":"x"}`,
				400, "BadRequestException", ""},
			{"load missing table", "GET", "/namespaces/ns/tables/nope", "",
				404, "NoSuchTableException", ""},
			{"load table in missing namespace", "GET", "/namespaces/missing/tables/t", "",
				404, "NoSuchTableException", ""},
			{"commit to missing table", "POST", "/namespaces/ns/tables/nope",
				`{"requirements":[],"updates":[{"action":"set-properties","updates":{"k":"v"}}]}`,
				404, "NoSuchTableException", ""},
			{"commit with unknown update action", "POST", "/namespaces/ns/tables/t",
				`{"requirements":[],"updates":[{"action":"frobnicate","x":1}]}`,
				400, "BadRequestException", ""},
			{"commit with unknown requirement type", "POST", "/namespaces/ns/tables/t",
				`{"requirements":[{"type":"assert-nothing"}],"updates":[{"action":"set-properties","updates":{"k":"v"}}]}`,
				400, "BadRequestException", ""},
			{"commit with wrong field type", "POST", "/namespaces/ns/tables/t",
				`{"requirements":[],"updates":[{"action":"set-current-schema","schema-id":"x"}]}`,
				400, "BadRequestException", ""},
			{"commit with wrong property value type", "POST", "/namespaces/ns/tables/t",
				`{"requirements":[],"updates":[{"action":"set-properties","updates":{"k":1}}]}`,
				400, "BadRequestException", ""},
			{"commit with updates not an array", "POST", "/namespaces/ns/tables/t",
				`{"requirements":[],"updates":{"action":"set-properties","updates":{"k":"v"}}}`,
				400, "BadRequestException", ""},
			{"commit update without action", "POST", "/namespaces/ns/tables/t",
				`{"requirements":[],"updates":[{"updates":{"k":"v"}}]}`,
				400, "BadRequestException", ""},
			{"commit add-schema without schema", "POST", "/namespaces/ns/tables/t",
				`{"requirements":[],"updates":[{"action":"add-schema"}]}`,
				400, "BadRequestException", ""},
			{"commit set-properties without updates", "POST", "/namespaces/ns/tables/t",
				`{"requirements":[],"updates":[{"action":"set-properties"}]}`,
				400, "BadRequestException", ""},
			{"commit set-snapshot-ref without snapshot-id", "POST", "/namespaces/ns/tables/t",
				`{"requirements":[],"updates":[{"action":"set-snapshot-ref","ref-name":"main","type":"branch"}]}`,
				400, "BadRequestException", ""},
			{"commit assert-table-uuid without uuid", "POST", "/namespaces/ns/tables/t",
				`{"requirements":[{"type":"assert-table-uuid"}],"updates":[{"action":"set-properties","updates":{"k":"v"}}]}`,
				400, "BadRequestException", ""},
			{"commit without updates", "POST", "/namespaces/ns/tables/t",
				`{"requirements":[]}`,
				400, "BadRequestException", ""},
			{"transaction change without updates", "POST", "/transactions/commit",
				`{"table-changes":[{"identifier":{"namespace":["ns"],"name":"t"},"requirements":[]}]}`,
				400, "BadRequestException", ""},
			{"set-snapshot-ref to unknown snapshot", "POST", "/namespaces/ns/tables/t",
				`{"requirements":[],"updates":[{"action":"set-snapshot-ref","ref-name":"main","type":"branch","snapshot-id":123456789}]}`,
				400, "BadRequestException", ""},
			{"set-current-schema to unknown schema", "POST", "/namespaces/ns/tables/t",
				`{"requirements":[],"updates":[{"action":"set-current-schema","schema-id":42}]}`,
				400, "BadRequestException", ""},
			{"assert-table-uuid mismatch", "POST", "/namespaces/ns/tables/t",
				`{"requirements":[{"type":"assert-table-uuid","uuid":"` + uuid.NewString() + `"}],` +
					`"updates":[{"action":"set-properties","updates":{"k":"v"}}]}`,
				409, "CommitFailedException", ""},
			{"assert-ref-snapshot-id mismatch", "POST", "/namespaces/ns/tables/t",
				`{"requirements":[{"type":"assert-ref-snapshot-id","ref":"main","snapshot-id":1}],` +
					`"updates":[{"action":"set-properties","updates":{"k":"v"}}]}`,
				409, "CommitFailedException", ""},
			{"assert-create on existing table", "POST", "/namespaces/ns/tables/t",
				`{"requirements":[{"type":"assert-create"}],"updates":[{"action":"set-properties","updates":{"k":"v"}}]}`,
				409, "CommitFailedException", ""},
			{"create table with empty name", "POST", "/namespaces/ns/tables", epCreateTableBody(""),
				400, "BadRequestException", ""},
			{"create namespace with empty level", "POST", "/namespaces", `{"namespace":["a",""]}`,
				400, "BadRequestException", ""},
			{"create namespace with no levels", "POST", "/namespaces", `{"namespace":[]}`,
				400, "BadRequestException", ""},
			{"load table with empty namespace level", "GET", "/namespaces/ns%1F/tables/t", "",
				400, "BadRequestException", ""},
			{"create table in namespace with empty level", "POST", "/namespaces/%1Fns/tables", epCreateTableBody("x"),
				400, "BadRequestException", ""},
			{"rename to empty name", "POST", "/tables/rename",
				`{"source":{"namespace":["ns"],"name":"t"},"destination":{"namespace":["ns"],"name":""}}`,
				400, "BadRequestException", ""},
			{"rename to empty namespace level", "POST", "/tables/rename",
				`{"source":{"namespace":["ns"],"name":"t"},"destination":{"namespace":["ns",""],"name":"x"}}`,
				400, "BadRequestException", ""},
			{"register garbage metadata file", "POST", "/namespaces/ns/register",
				fmt.Sprintf(`{"name":"reg","metadata-location":%q}`, "file://"+garbage),
				400, "BadRequestException", ""},
			{"register JSON that is not table metadata", "POST", "/namespaces/ns/register",
				fmt.Sprintf(`{"name":"reg","metadata-location":%q}`, "file://"+notMetadata),
				400, "BadRequestException", ""},
			{"register missing metadata file", "POST", "/namespaces/ns/register",
				fmt.Sprintf(`{"name":"reg","metadata-location":%q}`, "file://"+garbage+".missing"),
				400, "BadRequestException", ""},
			{"register onto existing name", "POST", "/namespaces/ns/register",
				fmt.Sprintf(`{"name":"t","metadata-location":%q}`, tb.MetadataLocation),
				409, "AlreadyExistsException", ""},
			{"rename missing source", "POST", "/tables/rename",
				`{"source":{"namespace":["ns"],"name":"nope"},"destination":{"namespace":["ns"],"name":"x"}}`,
				404, "NoSuchTableException", ""},
			{"rename source in missing namespace", "POST", "/tables/rename",
				`{"source":{"namespace":["missing"],"name":"t"},"destination":{"namespace":["ns"],"name":"x"}}`,
				404, "NoSuchTableException", ""},
			{"rename to missing namespace", "POST", "/tables/rename",
				`{"source":{"namespace":["ns"],"name":"t"},"destination":{"namespace":["missing"],"name":"t"}}`,
				404, "NoSuchNamespaceException", ""},
			{"rename onto existing table", "POST", "/tables/rename",
				`{"source":{"namespace":["ns"],"name":"t"},"destination":{"namespace":["other"],"name":"t2"}}`,
				409, "AlreadyExistsException", ""},
			{"drop missing table", "DELETE", "/namespaces/ns/tables/nope", "",
				404, "NoSuchTableException", ""},
			{"drop missing table with purge", "DELETE", "/namespaces/ns/tables/nope?purgeRequested=true", "",
				404, "NoSuchTableException", ""},
			{"drop non-empty namespace", "DELETE", "/namespaces/ns", "",
				409, "NamespaceNotEmptyException", ""},
			{"drop missing namespace", "DELETE", "/namespaces/missing", "",
				404, "NoSuchNamespaceException", ""},
			{"update properties: key removed and set", "POST", "/namespaces/ns/properties",
				`{"removals":["owner"],"updates":{"owner":"b"}}`,
				422, "UnprocessableEntityException", ""},
			{"update properties of missing namespace", "POST", "/namespaces/missing/properties",
				`{"updates":{"owner":"b"}}`,
				404, "NoSuchNamespaceException", ""},
			{"list namespaces with pageSize=0", "GET", "/namespaces?pageSize=0", "",
				400, "BadRequestException", ""},
			{"list namespaces with negative pageSize", "GET", "/namespaces?pageSize=-1", "",
				400, "BadRequestException", ""},
			{"list tables with pageSize=0", "GET", "/namespaces/ns/tables?pageSize=0", "",
				400, "BadRequestException", ""},
			{"list namespaces with garbage page token", "GET", "/namespaces?pageSize=2&pageToken=%25%25%25", "",
				400, "BadRequestException", ""},
			{"list tables of missing namespace", "GET", "/namespaces/missing/tables", "",
				404, "NoSuchNamespaceException", ""},
			{"load table with snapshots=bogus", "GET", "/namespaces/ns/tables/t?snapshots=bogus", "",
				400, "BadRequestException", ""},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				before := epCatalogState(t, srv)
				ct := ""
				if tc.body != "" {
					ct = "application/json"
				}
				status, _, body := call(t, tc.method, base+tc.path, ct, []byte(tc.body))
				if status != tc.status {
					t.Errorf("%s %s %s: status %d, want %d: %s", tc.method, tc.path, tc.body, status, tc.status, body)
				} else if e := errorOf(t, status, body); e.Type != tc.errType || (tc.message != "" && e.Message != tc.message) {
					t.Errorf("%s %s: error %s %q, want %s %q", tc.method, tc.path, e.Type, e.Message, tc.errType, tc.message)
				}
				if diff := epDiff(before, epCatalogState(t, srv)); diff != "" {
					t.Errorf("a rejected request changed the catalog:\n%s", diff)
				}
			})
		}

		t.Run("If-None-Match", func(t *testing.T) {
			path := base + "/namespaces/ns/tables/t"
			status, hdr, body := call(t, "GET", path, "", nil)
			etag := hdr.Get("ETag")
			if status != 200 || etag == "" {
				t.Fatalf("load: %d, ETag %q", status, etag)
			}
			for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag, "*"} {
				status, hdr, resp := call(t, "GET", path, "", nil, "If-None-Match", inm)
				if status != 304 || len(resp) != 0 {
					t.Errorf("If-None-Match %s: %d with %d body bytes, want 304 and no body", inm, status, len(resp))
				}
				if hdr.Get("ETag") != "" && hdr.Get("ETag") != etag {
					t.Errorf("If-None-Match %s: 304 with another ETag %s", inm, hdr.Get("ETag"))
				}
			}
			// A tag of another representation does not match.
			if status, _, resp := call(t, "GET", path, "", nil, "If-None-Match", `"not-the-tag"`); status != 200 || !reflect.DeepEqual(resp, body) {
				t.Errorf("other tag: %d", status)
			}
			if status, hdr, _ := call(t, "GET", path+"?snapshots=refs", "", nil, "If-None-Match", etag); status != 200 || hdr.Get("ETag") == etag {
				t.Errorf("snapshots=refs with the tag of snapshots=all: %d, ETag %s", status, hdr.Get("ETag"))
			}
			// After a commit the old tag is stale.
			epMust(t, 200, "POST", path, `{"requirements":[],"updates":[{"action":"set-properties","updates":{"etag-test":"1"}}]}`)
			status, hdr, resp := call(t, "GET", path, "", nil, "If-None-Match", etag)
			if status != 200 || len(resp) == 0 || hdr.Get("ETag") == etag || hdr.Get("ETag") == "" {
				t.Errorf("stale tag after a commit: %d, ETag %s -> %s", status, etag, hdr.Get("ETag"))
			}
		})

		t.Run("Idempotency-Key", func(t *testing.T) {
			key := uuid.NewString()
			body := `{"namespace":["idem"],"properties":{"p":"1"}}`
			status1, _, resp1 := call(t, "POST", base+"/namespaces", "application/json", []byte(body), "Idempotency-Key", key)
			if status1 != 200 {
				t.Fatalf("first create: %d %s", status1, resp1)
			}
			status2, _, resp2 := call(t, "POST", base+"/namespaces", "application/json", []byte(body), "Idempotency-Key", key)
			if status2 != 200 || string(resp2) != string(resp1) {
				t.Fatalf("replay: %d %s, want the original 200 %s", status2, resp2, resp1)
			}
			// Without the key the same request is a conflict: it really was
			// created only once, and the replay did not run it again.
			status3, _, resp3 := call(t, "POST", base+"/namespaces", "application/json", []byte(body))
			if status3 != 409 || errorOf(t, status3, resp3).Type != "AlreadyExistsException" {
				t.Fatalf("create without key: %d %s", status3, resp3)
			}
			before := epCatalogState(t, srv)
			status4, _, resp4 := call(t, "POST", base+"/namespaces", "application/json",
				[]byte(`{"namespace":["idem2"]}`), "Idempotency-Key", key)
			if status4 != 422 || errorOf(t, status4, resp4).Type != "UnprocessableEntityException" {
				t.Fatalf("same key, other body: %d %s", status4, resp4)
			}
			if diff := epDiff(before, epCatalogState(t, srv)); diff != "" {
				t.Fatalf("key reuse changed the catalog:\n%s", diff)
			}
			count := 0
			var list iceberg.ListNamespacesResponse
			if err := json.Unmarshal(epMust(t, 200, "GET", base+"/namespaces", ""), &list); err != nil {
				t.Fatal(err)
			}
			for _, ns := range *list.Namespaces {
				if strings.Join(ns, ".") == "idem" {
					count++
				}
				if strings.Join(ns, ".") == "idem2" {
					t.Fatal("idem2 was created")
				}
			}
			if count != 1 {
				t.Fatalf("namespace idem listed %d times", count)
			}
			// The replayed 4xx of a request is final too.
			key2 := uuid.NewString()
			for i := 0; i < 2; i++ {
				status, _, resp := call(t, "POST", base+"/namespaces", "application/json", []byte(body), "Idempotency-Key", key2)
				if status != 409 || errorOf(t, status, resp).Type != "AlreadyExistsException" {
					t.Fatalf("attempt %d of a failing keyed create: %d %s", i, status, resp)
				}
			}
		})

		t.Run("pagination", func(t *testing.T) {
			epMust(t, 200, "POST", base+"/namespaces", `{"namespace":["pg"]}`)
			var wantNS, wantTables []string
			for _, n := range []string{"e", "b", "d", "a", "c"} {
				epMust(t, 200, "POST", base+"/namespaces", `{"namespace":["pg",`+fmt.Sprintf("%q", n)+`]}`)
				epMust(t, 200, "POST", base+"/namespaces/pg/tables", epCreateTableBody("t_"+n))
				wantNS = append(wantNS, "pg."+n)
				wantTables = append(wantTables, "pg.t_"+n)
			}
			slices.Sort(wantNS)
			slices.Sort(wantTables)

			nsPages := epPaginate(t, base+"/namespaces?parent=pg&pageSize=2", func(b []byte) ([]string, *string) {
				var r iceberg.ListNamespacesResponse
				if err := json.Unmarshal(b, &r); err != nil {
					t.Fatal(err)
				}
				var out []string
				for _, ns := range *r.Namespaces {
					out = append(out, strings.Join(ns, "."))
				}
				return out, r.NextPageToken
			})
			tablePages := epPaginate(t, base+"/namespaces/pg/tables?pageSize=2", func(b []byte) ([]string, *string) {
				var r iceberg.ListTablesResponse
				if err := json.Unmarshal(b, &r); err != nil {
					t.Fatal(err)
				}
				var out []string
				for _, id := range *r.Identifiers {
					out = append(out, strings.Join(id.Namespace, ".")+"."+id.Name)
				}
				return out, r.NextPageToken
			})
			for _, c := range []struct {
				what  string
				pages [][]string
				want  []string
			}{{"namespaces", nsPages, wantNS}, {"tables", tablePages, wantTables}} {
				var all []string
				for i, p := range c.pages {
					if len(p) > 2 {
						t.Errorf("%s page %d has %d items: %v", c.what, i, len(p), p)
					}
					all = append(all, p...)
				}
				got := slices.Clone(all)
				slices.Sort(got)
				if !slices.Equal(got, c.want) || len(all) != len(c.want) {
					t.Errorf("%s over pages %v: %v, want each of %v once", c.what, c.pages, all, c.want)
				}
				if len(c.pages) != 3 {
					t.Errorf("%s: %d pages %v, want 3 (2+2+1)", c.what, len(c.pages), c.pages)
				}
			}
		})
	})
}

// epPaginate follows next-page-token from first until a page has none,
// returning the items of every page (at most 10 pages).
func epPaginate(t *testing.T, first string, decode func([]byte) ([]string, *string)) [][]string {
	t.Helper()
	var pages [][]string
	next := first
	for range 10 {
		items, token := decode(epMust(t, 200, "GET", next, ""))
		pages = append(pages, items)
		if token == nil || *token == "" {
			return pages
		}
		next = first + "&pageToken=" + url.QueryEscape(*token)
	}
	t.Fatalf("pagination of %s did not end after 10 pages: %v", first, pages)
	return nil
}
