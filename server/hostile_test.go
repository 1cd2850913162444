package server_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/bingsan/bingsan/server/servertest"
)

// Hostile input, as an attacker would send it, on both stores: bytes no
// database or file system takes (NUL, invalid UTF-8, control characters),
// sizes past the limits, paths that climb out, keys spelt differently.
// Every one is a 4xx with an Iceberg error, the same on both stores, and
// changes nothing.
func TestHostileInput(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		srv := servertest.Start(t, b, servertest.Config{})
		base := srv.URL + "/v1"
		epMust(t, 200, "POST", base+"/namespaces", `{"namespace":["a"],"properties":{"owner":"a"}}`)
		epMust(t, 200, "POST", base+"/namespaces", `{"namespace":["b"]}`)
		epMust(t, 200, "POST", base+"/namespaces/a/tables", epCreateTableBody("t"))
		epMust(t, 200, "POST", base+"/namespaces/b/tables", epCreateTableBody("victim"))
		victim := epLoad(t, srv.URL, []string{"b"}, "victim")
		var vm struct {
			Location string `json:"location"`
		}
		if err := json.Unmarshal(victim.Metadata, &vm); err != nil {
			t.Fatal(err)
		}
		aLoc := srv.Warehouse + "/a"
		epMust(t, 200, "POST", base+"/namespaces/a/functions", createFunctionBody("fa"))
		fnDef := fnDefinition("int", "spark", "x + 1")

		long := func(n int) string { return strings.Repeat("n", n) }
		token := func(raw string) string { return base64.RawURLEncoding.EncodeToString([]byte(raw)) }
		cases := []struct {
			name    string
			method  string
			path    string
			body    string
			status  int
			errType string
			says    string // part of the message
		}{
			// Bytes.
			{"NUL in a namespace", "POST", "/namespaces", `{"namespace":["x\u0000y"]}`, 400, "BadRequestException", "Namespace level 1"},
			{"NUL in a second level", "POST", "/namespaces", `{"namespace":["a","x\u0000y"]}`, 400, "BadRequestException", "Namespace level 2"},
			{"newline in a namespace", "POST", "/namespaces", `{"namespace":["x\ny"]}`, 400, "BadRequestException", "control characters"},
			{"C1 control in a namespace", "POST", "/namespaces", `{"namespace":["x\u0085y"]}`, 400, "BadRequestException", "control characters"},
			{"NUL in a table name", "POST", "/namespaces/a/tables", `{"name":"x\u0000y","schema":` + epSchema + `}`, 400, "BadRequestException", "Table name"},
			{"NUL in a view name", "POST", "/namespaces/a/views", `{"name":"v\u0000","schema":` + epSchema + `,"view-version":{"version-id":1,"timestamp-ms":1,"schema-id":0,"summary":{},"default-namespace":["a"],"representations":[{"type":"sql","sql":"select 1","dialect":"spark"}]}}`, 400, "BadRequestException", "View name"},
			{"NUL in a property key", "POST", "/namespaces", `{"namespace":["p"],"properties":{"k\u0000":"v"}}`, 400, "BadRequestException", "Property key"},
			{"NUL in a property value", "POST", "/namespaces", `{"namespace":["p"],"properties":{"k":"v\u0000"}}`, 400, "BadRequestException", "Value of property"},
			{"NUL in a property update", "POST", "/namespaces/a/properties", `{"updates":{"k\u0000":"v"}}`, 400, "BadRequestException", "Property key"},
			{"NUL in a property removal", "POST", "/namespaces/a/properties", `{"removals":["k\u0000"]}`, 400, "BadRequestException", "Property key"},
			{"%00 in a path", "GET", "/namespaces/a%00b", "", 400, "BadRequestException", "control characters"},
			{"%00 in a table path", "GET", "/namespaces/a/tables/t%00x", "", 400, "BadRequestException", "Table name"},
			{"%00 in a commit path", "POST", "/namespaces/a/tables/t%00x", `{"requirements":[],"updates":[{"action":"set-properties","updates":{"k":"v"}}]}`, 400, "BadRequestException", "Table name"},
			{"invalid UTF-8 in a path", "GET", "/namespaces/%FF%FE", "", 400, "BadRequestException", "UTF-8"},
			{"invalid UTF-8 in a table path", "DELETE", "/namespaces/a/tables/%FF%FE", "", 400, "BadRequestException", "UTF-8"},
			{"invalid UTF-8 in parent", "GET", "/namespaces?parent=%FF", "", 400, "BadRequestException", "UTF-8"},
			{"page token of bad bytes", "GET", "/namespaces/a/tables?pageToken=" + token("\xff"), "", 400, "BadRequestException", "page token"},
			{"namespace page token of bad bytes", "GET", "/namespaces?pageToken=" + token("\x00"), "", 400, "BadRequestException", "page token"},
			{"rename onto a NUL name", "POST", "/tables/rename", `{"source":{"namespace":["a"],"name":"t"},"destination":{"namespace":["a"],"name":"t\u0000"}}`, 400, "BadRequestException", "Table name"},
			{"transaction with a NUL name", "POST", "/transactions/commit", `{"table-changes":[{"identifier":{"namespace":["a"],"name":"\u0000"},"requirements":[],"updates":[{"action":"set-properties","updates":{"k":"v"}}]}]}`, 400, "BadRequestException", "Table name"},
			// Sizes.
			{"a 3,000-byte table name", "POST", "/namespaces/a/tables", epCreateTableBody(long(3000)), 400, "BadRequestException", "at most 200"},
			{"a 1 MB table name", "POST", "/namespaces/a/tables", epCreateTableBody(long(1 << 20)), 400, "BadRequestException", "at most 200"},
			{"a 1 MB namespace", "POST", "/namespaces", `{"namespace":["` + long(1<<20) + `"]}`, 400, "BadRequestException", "at most 200"},
			{"a 3,000-byte path", "GET", "/namespaces/" + long(3000), "", 400, "BadRequestException", "at most 200"},
			{"17 levels", "POST", "/namespaces", `{"namespace":["a"` + strings.Repeat(`,"l"`, 16) + `]}`, 400, "BadRequestException", "at most 16"},
			{"a 2,000-byte property key", "POST", "/namespaces", `{"namespace":["p"],"properties":{"` + long(2000) + `":"v"}}`, 400, "BadRequestException", "at most 1024"},
			// Where files go.
			{"location climbing out", "POST", "/namespaces/a/tables", `{"name":"x","schema":` + epSchema + `,"location":"` + aLoc + `/../b/x"}`, 400, "BadRequestException", "segments"},
			{"location in another namespace", "POST", "/namespaces/a/tables", `{"name":"x","schema":` + epSchema + `,"location":"` + vm.Location + `"}`, 400, "BadRequestException", "must lie inside"},
			{"location over another namespace", "POST", "/namespaces/a/tables", `{"name":"x","schema":` + epSchema + `,"location":"` + srv.Warehouse + `/b"}`, 400, "BadRequestException", "must lie inside"},
			{"location that URI parsing cuts", "POST", "/namespaces/a/tables", `{"name":"x","schema":` + epSchema + `,"location":"` + aLoc + `/x?y"}`, 400, "BadRequestException", "must not contain"},
			{"data path in another namespace", "POST", "/namespaces/a/tables", `{"name":"x","schema":` + epSchema + `,"properties":{"write.data.path":"` + vm.Location + `/data"}}`, 400, "BadRequestException", "write.data.path"},
			{"a name no file system takes", "POST", "/namespaces/a/tables", `{"name":"x","schema":` + epSchema + `,"location":"` + aLoc + `/` + long(300) + `"}`, 400, "BadRequestException", "too long"},
			{"namespace location in another namespace", "POST", "/namespaces", `{"namespace":["a","c"],"properties":{"location":"` + srv.Warehouse + `/b/c"}}`, 400, "BadRequestException", "must lie inside"},
			{"moving a namespace", "POST", "/namespaces/a/properties", `{"updates":{"location":"` + aLoc + `/elsewhere"}}`, 400, "BadRequestException", "location"},
			{"set-location into another namespace", "POST", "/namespaces/a/tables/t", `{"requirements":[],"updates":[{"action":"set-location","location":"` + vm.Location + `"}]}`, 400, "BadRequestException", "must lie inside"},
			{"register of another namespace's file", "POST", "/namespaces/a/register", fmt.Sprintf(`{"name":"stolen","metadata-location":%q}`, victim.MetadataLocation), 400, "BadRequestException", "Cannot register"},
			{"register of a live table's file", "POST", "/namespaces/b/register", fmt.Sprintf(`{"name":"twin","metadata-location":%q}`, victim.MetadataLocation), 409, "AlreadyExistsException", "UUID"},
			{"register over a live table", "POST", "/namespaces/b/register", fmt.Sprintf(`{"name":"victim","metadata-location":%q,"overwrite":true}`, victim.MetadataLocation), 200, "", ""},
			{"register of a system file", "POST", "/namespaces/a/register", `{"name":"x","metadata-location":"file:///etc/passwd"}`, 400, "BadRequestException", "Cannot register"},
			// Functions.
			{"NUL in a function name", "POST", "/namespaces/a/functions", `{"name":"f\u0000","definitions":[` + fnDef + `]}`, 400, "BadRequestException", "Function name"},
			{"%00 in a function path", "GET", "/namespaces/a/functions/f%00x", "", 400, "BadRequestException", "Function name"},
			{"invalid UTF-8 in a function path", "DELETE", "/namespaces/a/functions/%FF%FE", "", 400, "BadRequestException", "UTF-8"},
			{"a 3,000-byte function name", "POST", "/namespaces/a/functions", `{"name":"` + long(3000) + `","definitions":[` + fnDef + `]}`, 400, "BadRequestException", "at most 200"},
			{"NUL in a function property", "POST", "/namespaces/a/functions", `{"name":"f","properties":{"k\u0000":"v"},"definitions":[` + fnDef + `]}`, 400, "BadRequestException", "Property key"},
			{"function location in another namespace", "POST", "/namespaces/a/functions", `{"name":"f","location":"` + vm.Location + `/f","definitions":[` + fnDef + `]}`, 400, "BadRequestException", "must lie inside"},
			{"function location climbing out", "POST", "/namespaces/a/functions", `{"name":"f","location":"` + aLoc + `/../b/f","definitions":[` + fnDef + `]}`, 400, "BadRequestException", "segments"},
			{"function set-location into another namespace", "POST", "/namespaces/a/functions/fa", `{"updates":[{"action":"set-location","location":"` + srv.Warehouse + `/b/f"}]}`, 400, "BadRequestException", "must lie inside"},
			{"rename a function onto a NUL name", "POST", "/functions/rename", `{"source":{"namespace":["a"],"name":"fa"},"destination":{"namespace":["a"],"name":"f\u0000"}}`, 400, "BadRequestException", "Function name"},
			{"register-function of another namespace's file", "POST", "/namespaces/a/register-function", fmt.Sprintf(`{"name":"stolen","metadata-location":%q}`, victim.MetadataLocation), 400, "BadRequestException", "Cannot register"},
			{"register-function of a system file", "POST", "/namespaces/a/register-function", `{"name":"x","metadata-location":"file:///etc/passwd"}`, 400, "BadRequestException", "Cannot register"},
			// Keys.
			{"idempotency key that is no UUID", "POST", "/namespaces", `{"namespace":["k"]}`, 400, "BadRequestException", "Idempotency-Key"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				before := epCatalogState(t, srv)
				var headers []string
				if strings.HasPrefix(tc.name, "idempotency key") {
					headers = []string{"Idempotency-Key", "not-a-uuid"}
				}
				ct := ""
				if tc.body != "" {
					ct = "application/json"
				}
				status, _, body := call(t, tc.method, base+tc.path, ct, []byte(tc.body), headers...)
				if status != tc.status {
					t.Fatalf("status %d, want %d: %.300s", status, tc.status, body)
				}
				if tc.errType != "" {
					e := errorOf(t, status, body)
					if e.Type != tc.errType || !strings.Contains(strings.ToLower(e.Message), strings.ToLower(tc.says)) {
						t.Fatalf("error %s %q, want %s saying %q", e.Type, e.Message, tc.errType, tc.says)
					}
				}
				if d := epDiff(before, epCatalogState(t, srv)); d != "" && tc.status != 200 {
					t.Fatalf("a refused request changed the catalog:\n%s", d)
				}
			})
		}

		// A name of dots is a name like any other: its directory cannot climb.
		var created epTable
		if err := json.Unmarshal(epMust(t, 200, "POST", base+"/namespaces/a/tables", epCreateTableBody("..")), &created); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(created.MetadataLocation, aLoc+"/~2e~2e-") {
			t.Fatalf("table .. lives at %s", created.MetadataLocation)
		}

		// Idempotency keys are UUIDs: spelt in capitals, the same key.
		key := uuid.NewString()
		first := epMust(t, 200, "POST", base+"/namespaces", `{"namespace":["once"]}`, "Idempotency-Key", key)
		second := epMust(t, 200, "POST", base+"/namespaces", `{"namespace":["once"]}`, "Idempotency-Key", strings.ToUpper(key))
		if string(first) != string(second) {
			t.Fatalf("replay differs: %s / %s", first, second)
		}
	})
}

// Dropping a table with purge hands its files to the purger: until it is
// done, nobody registers them (they are about to disappear), while a new
// table may be created where the old one was.
func TestPurgeHoldsFilesUntilDone(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		srv := servertest.Start(t, b, servertest.Config{})
		base := srv.URL + "/v1"
		epMust(t, 200, "POST", base+"/namespaces", `{"namespace":["ns"]}`)
		epMust(t, 200, "POST", base+"/namespaces/ns/tables", epCreateTableBody("t"))
		old := epLoad(t, srv.URL, []string{"ns"}, "t")
		epMust(t, 204, "DELETE", base+"/namespaces/ns/tables/t?purgeRequested=true", "")
		status, _, body := call(t, "POST", base+"/namespaces/ns/register", "application/json",
			[]byte(fmt.Sprintf(`{"name":"t","metadata-location":%q}`, old.MetadataLocation)))
		if status != 409 || !strings.Contains(errorOf(t, status, body).Message, "purge") {
			t.Fatalf("register of files being purged: %d %s", status, body)
		}
		epMust(t, 200, "POST", base+"/namespaces/ns/tables", epCreateTableBody("t"))
		if _, err := srv.Catalog.PurgeOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(localPath(t, old.MetadataLocation)); !os.IsNotExist(err) {
			t.Fatalf("purged metadata file still there: %v", err)
		}
		// The new table's files were not the old one's to delete.
		now := epLoad(t, srv.URL, []string{"ns"}, "t")
		if _, err := os.Stat(localPath(t, now.MetadataLocation)); err != nil {
			t.Fatalf("the new table lost its metadata file: %v", err)
		}
		entries, _ := os.ReadDir(filepath.Dir(localPath(t, old.MetadataLocation)))
		if len(entries) != 0 {
			t.Fatalf("left in the purged table's metadata directory: %v", entries)
		}
	})
}
