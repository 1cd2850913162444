package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bingsan/bingsan/auth"
	"github.com/bingsan/bingsan/gen/managementapi"
	"github.com/bingsan/bingsan/server/servertest"
	"github.com/bingsan/bingsan/store"
)

// whCall sends a JSON request and returns status and body.
func whCall(t *testing.T, method, url, body string, headers ...string) (int, []byte) {
	t.Helper()
	ct := ""
	var raw []byte
	if body != "" {
		ct, raw = "application/json", []byte(body)
	}
	status, _, b := call(t, method, url, ct, raw, headers...)
	return status, b
}

func whMust(t *testing.T, want int, method, url, body string, headers ...string) []byte {
	t.Helper()
	status, b := whCall(t, method, url, body, headers...)
	if status != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, url, status, want, b)
	}
	return b
}

// whError expects an Iceberg error of status and type.
func whError(t *testing.T, status int, typ, method, url, body string, headers ...string) {
	t.Helper()
	got, b := whCall(t, method, url, body, headers...)
	if got != status {
		t.Fatalf("%s %s: status %d, want %d: %s", method, url, got, status, b)
	}
	if e := errorOf(t, got, b); e.Type != typ {
		t.Fatalf("%s %s: error type %s, want %s: %s", method, url, e.Type, typ, b)
	}
}

func fileURI(dir string) string { return "file://" + filepath.ToSlash(dir) }

func createWarehouseBody(name, location string) string {
	return fmt.Sprintf(`{"name":%q,"location":%q,"storage":{"type":"file"}}`, name, location)
}

func listWarehouses(t *testing.T, base string, headers ...string) []managementapi.Warehouse {
	t.Helper()
	var out managementapi.WarehouseList
	if err := json.Unmarshal(whMust(t, 200, "GET", base+"/management/v1/warehouses", "", headers...), &out); err != nil {
		t.Fatal(err)
	}
	return out.Warehouses
}

// A warehouse created at runtime serves the Iceberg API at once; it is
// updated, deactivated (403 for every request), reactivated, renamed (its
// tables follow) and deleted, with cascade once it holds a table, whose
// files the purge deletes.
func TestWarehouseLifecycle(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		srv := servertest.Start(t, b, servertest.Config{ManagedWarehouses: true})
		base := srv.URL
		dir := filepath.Join(t.TempDir(), "sales")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		var w managementapi.Warehouse
		if err := json.Unmarshal(whMust(t, 201, "POST", base+"/management/v1/warehouses", createWarehouseBody("sales", fileURI(dir))), &w); err != nil {
			t.Fatal(err)
		}
		if !w.Active || w.ManagedBy != "api" || w.Storage.Type != "file" || w.TableLayout != "name-uuid" || w.CredentialDuration != "1h0m0s" {
			t.Fatalf("created warehouse: %+v", w)
		}
		names := []string{}
		for _, x := range listWarehouses(t, base) {
			names = append(names, x.Name+"/"+string(x.ManagedBy))
		}
		if !slices.Equal(names, []string{"default/configuration", "sales/api"}) {
			t.Fatalf("warehouses: %v", names)
		}
		// /v1/config resolves it by name and by location.
		for _, q := range []string{"sales", fileURI(dir)} {
			body := whMust(t, 200, "GET", base+"/v1/config?warehouse="+url.QueryEscape(q), "")
			if !strings.Contains(string(body), `"prefix":"sales"`) {
				t.Fatalf("config for %s: %s", q, body)
			}
		}
		whMust(t, 200, "POST", base+"/v1/sales/namespaces", `{"namespace":["q1"]}`)
		var loaded struct {
			MetadataLocation string `json:"metadata-location"`
		}
		if err := json.Unmarshal(whMust(t, 200, "POST", base+"/v1/sales/namespaces/q1/tables", epCreateTableBody("orders")), &loaded); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(loaded.MetadataLocation, fileURI(dir)+"/") {
			t.Fatalf("table metadata %s is not in the warehouse %s", loaded.MetadataLocation, dir)
		}

		// Update: delegation settings and credential duration.
		if err := json.Unmarshal(whMust(t, 200, "POST", base+"/management/v1/warehouses/sales",
			`{"credential-duration":"2h","vended-credentials":false,"table-layout":"name"}`), &w); err != nil {
			t.Fatal(err)
		}
		if w.CredentialDuration != "2h0m0s" || w.VendedCredentials || w.TableLayout != "name" {
			t.Fatalf("updated warehouse: %+v", w)
		}

		// Deactivated: 403 on the Iceberg API and /v1/config, the contents kept.
		whMust(t, 200, "POST", base+"/management/v1/warehouses/sales/deactivate", "")
		whError(t, 403, "ForbiddenException", "GET", base+"/v1/sales/namespaces/q1/tables/orders", "")
		whError(t, 403, "ForbiddenException", "GET", base+"/v1/config?warehouse=sales", "")
		whError(t, 403, "ForbiddenException", "POST", base+"/v1/sales/namespaces", `{"namespace":["q2"]}`)
		whMust(t, 200, "POST", base+"/management/v1/warehouses/sales/reactivate", "")
		whMust(t, 200, "GET", base+"/v1/sales/namespaces/q1/tables/orders", "")

		// Rename: the old name is gone, the table answers under the new one.
		whMust(t, 200, "POST", base+"/management/v1/warehouses/sales/rename", `{"new-name":"revenue"}`)
		whError(t, 404, "NoSuchWarehouseException", "GET", base+"/v1/sales/namespaces/q1/tables/orders", "")
		whMust(t, 200, "GET", base+"/v1/revenue/namespaces/q1/tables/orders", "")
		whMust(t, 200, "POST", base+"/v1/revenue/namespaces/q1/tables/orders", `{"updates":[{"action":"set-properties","updates":{"k":"v"}}],"requirements":[]}`)

		var fn struct {
			MetadataLocation string `json:"metadata-location"`
		}
		if err := json.Unmarshal(whMust(t, 200, "POST", base+"/v1/revenue/namespaces/q1/functions", createFunctionBody("f")), &fn); err != nil {
			t.Fatal(err)
		}

		// Delete: refused while it holds a namespace, then with cascade.
		whError(t, 409, "WarehouseNotEmptyException", "DELETE", base+"/management/v1/warehouses/revenue", "")
		whMust(t, 200, "GET", base+"/v1/revenue/namespaces/q1/tables/orders", "")
		whMust(t, 204, "DELETE", base+"/management/v1/warehouses/revenue?cascade=true", "")
		whError(t, 404, "NoSuchWarehouseException", "GET", base+"/management/v1/warehouses/revenue", "")
		whError(t, 404, "NoSuchWarehouseException", "GET", base+"/v1/revenue/namespaces", "")
		if _, err := os.Stat(strings.TrimPrefix(loaded.MetadataLocation, "file://")); !os.IsNotExist(err) {
			t.Fatalf("the cascade left the table's metadata file: %v", err)
		}
		if _, err := os.Stat(strings.TrimPrefix(fn.MetadataLocation, "file://")); !os.IsNotExist(err) {
			t.Fatalf("the cascade left the function's metadata file: %v", err)
		}
		// The name and location are free again; an empty warehouse is
		// deleted without cascade.
		whMust(t, 201, "POST", base+"/management/v1/warehouses", createWarehouseBody("revenue", fileURI(dir)))
		whMust(t, 204, "DELETE", base+"/management/v1/warehouses/revenue", "")

		// Every change is an event.
		var page struct {
			Events []struct {
				Type string `json:"type"`
			} `json:"events"`
		}
		if err := json.Unmarshal(whMust(t, 200, "GET", base+"/v1/events?types=warehouse.created,warehouse.updated,warehouse.renamed,warehouse.deactivated,warehouse.reactivated,warehouse.deleted", ""), &page); err != nil {
			t.Fatal(err)
		}
		var types []string
		for _, e := range page.Events {
			types = append(types, strings.TrimPrefix(e.Type, "io.bingsan.warehouse."))
		}
		for _, want := range []string{"created", "updated", "deactivated", "reactivated", "renamed", "deleted"} {
			if !slices.Contains(types, want) {
				t.Errorf("no warehouse.%s event in %v", want, types)
			}
		}
	})
}

// Bad input is a 4xx naming the problem, and changes nothing.
func TestWarehouseBadInput(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		srv := servertest.Start(t, b, servertest.Config{ManagedWarehouses: true})
		base := srv.URL
		dir := t.TempDir()
		whMust(t, 201, "POST", base+"/management/v1/warehouses", createWarehouseBody("a", fileURI(filepath.Join(dir, "a"))))
		before := listWarehouses(t, base)
		cases := []struct {
			name, method, path, body string
			status                   int
			typ                      string
		}{
			{"unknown storage type", "POST", "/management/v1/warehouses", fmt.Sprintf(`{"name":"x","location":%q,"storage":{"type":"ftp"}}`, fileURI(dir+"/x")), 400, "BadRequestException"},
			{"type not matching the location", "POST", "/management/v1/warehouses", `{"name":"x","location":"s3://bucket/x","storage":{"type":"gcs"}}`, 400, "BadRequestException"},
			{"unsupported scheme", "POST", "/management/v1/warehouses", `{"name":"x","location":"ftp://host/x","storage":{"type":"file"}}`, 400, "BadRequestException"},
			{"missing name", "POST", "/management/v1/warehouses", fmt.Sprintf(`{"location":%q,"storage":{"type":"file"}}`, fileURI(dir+"/x")), 400, "BadRequestException"},
			{"missing location", "POST", "/management/v1/warehouses", `{"name":"x","storage":{"type":"file"}}`, 400, "BadRequestException"},
			{"name with a slash", "POST", "/management/v1/warehouses", createWarehouseBody("x/y", fileURI(dir+"/x")), 400, "BadRequestException"},
			{"credential duration out of range", "POST", "/management/v1/warehouses", fmt.Sprintf(`{"name":"x","location":%q,"storage":{"type":"file"},"credential-duration":"1m"}`, fileURI(dir+"/x")), 400, "BadRequestException"},
			{"credential duration malformed", "POST", "/management/v1/warehouses", fmt.Sprintf(`{"name":"x","location":%q,"storage":{"type":"file"},"credential-duration":"soon"}`, fileURI(dir+"/x")), 400, "BadRequestException"},
			{"secret without a key-encryption secret", "POST", "/management/v1/warehouses", `{"name":"x","location":"s3://bucket/x","storage":{"type":"s3","s3":{"access-key-id":"AK","secret-access-key":"SK"}}}`, 400, "BadRequestException"},
			{"name taken", "POST", "/management/v1/warehouses", createWarehouseBody("a", fileURI(dir+"/x")), 409, "AlreadyExistsException"},
			{"name of the configuration file's", "POST", "/management/v1/warehouses", createWarehouseBody("default", fileURI(dir+"/x")), 409, "AlreadyExistsException"},
			{"location taken", "POST", "/management/v1/warehouses", createWarehouseBody("x", fileURI(dir+"/a")), 409, "AlreadyExistsException"},
			{"location inside another", "POST", "/management/v1/warehouses", createWarehouseBody("x", fileURI(dir+"/a/sub")), 409, "AlreadyExistsException"},
			{"location containing another", "POST", "/management/v1/warehouses", createWarehouseBody("x", fileURI(dir)), 409, "AlreadyExistsException"},
			{"location inside the default warehouse", "POST", "/management/v1/warehouses", createWarehouseBody("x", srv.Warehouse+"/inner"), 409, "AlreadyExistsException"},
			{"rename to an existing name", "POST", "/management/v1/warehouses/a/rename", `{"new-name":"default"}`, 409, "AlreadyExistsException"},
			{"rename to a bad name", "POST", "/management/v1/warehouses/a/rename", `{"new-name":""}`, 400, "BadRequestException"},
			{"rename of a missing warehouse", "POST", "/management/v1/warehouses/nope/rename", `{"new-name":"b"}`, 404, "NoSuchWarehouseException"},
			{"update of a missing warehouse", "POST", "/management/v1/warehouses/nope", `{"remote-signing":false}`, 404, "NoSuchWarehouseException"},
			{"update with another storage type", "POST", "/management/v1/warehouses/a", `{"storage":{"type":"s3"}}`, 400, "BadRequestException"},
			{"update with a bad layout", "POST", "/management/v1/warehouses/a", `{"table-layout":"flat"}`, 400, "BadRequestException"},
			{"change of the configuration file's", "POST", "/management/v1/warehouses/default", `{"remote-signing":false}`, 403, "ForbiddenException"},
			{"rename of the configuration file's", "POST", "/management/v1/warehouses/default/rename", `{"new-name":"b"}`, 403, "ForbiddenException"},
			{"deactivation of the configuration file's", "POST", "/management/v1/warehouses/default/deactivate", "", 403, "ForbiddenException"},
			{"deletion of the configuration file's", "DELETE", "/management/v1/warehouses/default", "", 403, "ForbiddenException"},
			{"deletion of a missing warehouse", "DELETE", "/management/v1/warehouses/nope", "", 404, "NoSuchWarehouseException"},
			{"get of a missing warehouse", "GET", "/management/v1/warehouses/nope", "", 404, "NoSuchWarehouseException"},
			{"malformed body", "POST", "/management/v1/warehouses", `{"name":`, 400, "BadRequestException"},
			{"config of a missing warehouse", "GET", "/v1/config?warehouse=nope", "", 404, "NoSuchWarehouseException"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				whError(t, c.status, c.typ, c.method, base+c.path, c.body)
			})
		}
		whMust(t, 200, "POST", base+"/v1/a/namespaces", `{"namespace":["n"]}`)
		whError(t, 409, "WarehouseNotEmptyException", "DELETE", base+"/management/v1/warehouses/a", "")
		after := listWarehouses(t, base)
		if len(after) != len(before) {
			t.Fatalf("bad input changed the warehouses: %+v", after)
		}
		for i := range before {
			if before[i].Name != after[i].Name || before[i].Location != after[i].Location || before[i].Active != after[i].Active ||
				!before[i].UpdatedAt.Equal(*after[i].UpdatedAt) {
				t.Fatalf("bad input changed warehouse %s: %+v -> %+v", before[i].Name, before[i], after[i])
			}
		}
		whMust(t, 200, "GET", base+"/v1/a/namespaces/n", "")
	})
}

// Secrets of storage profiles are stored sealed and never returned; an
// update that leaves a secret out keeps it.
func TestWarehouseSecretsSealed(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		srv := servertest.Start(t, b, servertest.Config{ManagedWarehouses: true, KeyEncryptionSecret: "kek-for-tests"})
		base := srv.URL
		const secret = "wJalrXUtnFEMI-very-secret"
		body := fmt.Sprintf(`{"name":"lake","location":"s3://bucket/lake","storage":{"type":"s3","s3":{"endpoint":"http://127.0.0.1:9000","path-style":true,"access-key-id":"AKID","secret-access-key":%q}}}`, secret)
		resp := whMust(t, 201, "POST", base+"/management/v1/warehouses", body)
		var w managementapi.Warehouse
		if err := json.Unmarshal(resp, &w); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(w.Secrets, []string{"s3.secret-access-key"}) || w.Storage.S3 == nil || *w.Storage.S3.AccessKeyId != "AKID" {
			t.Fatalf("created: %s", resp)
		}
		resp2 := whMust(t, 200, "POST", base+"/management/v1/warehouses/lake", `{"storage":{"type":"s3","s3":{"endpoint":"http://127.0.0.1:9000","access-key-id":"AKID2"}}}`)
		for _, r := range [][]byte{resp, resp2, whMust(t, 200, "GET", base+"/management/v1/warehouses/lake", ""),
			whMust(t, 200, "GET", base+"/management/v1/warehouses", "")} {
			if strings.Contains(string(r), secret) {
				t.Fatalf("a response shows the secret: %s", r)
			}
		}
		e, _ := srv.Registry.Get("lake")
		if e.Config.S3.SecretAccessKey != secret || e.Config.S3.AccessKeyID != "AKID2" {
			t.Fatalf("the update lost the secret or the key id: %q %q", e.Config.S3.SecretAccessKey, e.Config.S3.AccessKeyID)
		}
		// Azure's account key and client secret are sealed and hidden the same way.
		const azureKey = "QXp1cml0ZUFjY291bnRLZXlGb3JUZXN0c09ubHkxMjM0NTY3ODkw"
		az := whMust(t, 201, "POST", base+"/management/v1/warehouses", fmt.Sprintf(
			`{"name":"blob","location":"abfss://data@acct.dfs.core.windows.net/wh","storage":{"type":"azure","azure":{"endpoint":"https://127.0.0.1:10000/acct","account-key":%q}}}`, azureKey))
		if strings.Contains(string(az), azureKey) || !strings.Contains(string(az), `"secrets":["azure.account-key"]`) {
			t.Fatalf("azure warehouse: %s", az)
		}
		if e, _ := srv.Registry.Get("blob"); e.Config.Azure.AccountKey != azureKey {
			t.Fatal("the azure account key was not kept")
		}
		if stored, err := storedWarehouses(srv); err != nil || strings.Contains(stored, azureKey) {
			t.Fatalf("the azure account key is stored in the clear: %v", err)
		}
		whMust(t, 200, "POST", base+"/management/v1/warehouses/lake/rename", `{"new-name":"lake2"}`)
		if e, _ := srv.Registry.Get("lake2"); e.Config.S3.SecretAccessKey != secret {
			t.Fatalf("the rename lost the secret")
		}
		stored, err := storedWarehouses(srv)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(stored, secret) || !strings.Contains(stored, "AKID2") {
			t.Fatalf("stored rows hold the secret in the clear (or lost the key id): %s", stored)
		}
	})
}

// storedWarehouses is the stored rows' settings and secrets, as text.
func storedWarehouses(srv *servertest.Instance) (string, error) {
	rows, err := srv.Store.ListWarehouses(context.Background())
	var b strings.Builder
	for _, r := range rows {
		b.Write(r.Settings)
		b.Write(r.Secrets)
	}
	return b.String(), err
}

// With authentication on, warehouses need the admin privilege; their
// changes are audited.
func TestWarehouseAdminOnly(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		e := startAuth(t, b, servertest.Config{ManagedWarehouses: true, Auth: &auth.Options{}})
		reader, _ := e.principal("reader", "readers")
		loc := fileURI(t.TempDir())
		for _, tok := range []string{"", reader} {
			want := 403
			if tok == "" {
				want = 401
			}
			if status, body := e.do("POST", "/management/v1/warehouses", tok, createWarehouseBody("w", loc)); status != want {
				t.Fatalf("create without admin: %d %s", status, body)
			}
			if status, body := e.do("GET", "/management/v1/warehouses", tok, nil); status != want {
				t.Fatalf("list without admin: %d %s", status, body)
			}
		}
		e.must(201, "POST", "/management/v1/warehouses", e.admin, createWarehouseBody("w", loc), nil)
		e.must(200, "POST", "/management/v1/warehouses/w/deactivate", e.admin, nil, nil)
		var audit managementapi.AuditPage
		e.must(200, "GET", "/management/v1/audit?operation=createWarehouse", e.admin, nil, &audit)
		found := false
		for _, a := range audit.Entries {
			if a.Target == "warehouse w" && a.Outcome == "success" {
				found = true
			}
		}
		if !found {
			t.Fatalf("no audit entry for the warehouse's creation: %+v", audit.Entries)
		}
		e.must(200, "GET", "/management/v1/audit?operation=deactivateWarehouse", e.admin, nil, &audit)
		if len(audit.Entries) == 0 {
			t.Fatal("no audit entry for the deactivation")
		}
	})
}

// Two nodes on one PostgreSQL database: a warehouse created on one serves
// createTable and loadTable on the other within a second, and its
// deactivation reaches the other as fast.
func TestWarehouseMultiNode(t *testing.T) {
	t.Parallel()
	a := servertest.Start(t, servertest.Postgres, servertest.Config{ManagedWarehouses: true})
	b := servertest.Start(t, servertest.Postgres, servertest.Config{ManagedWarehouses: true, Database: a.Database})
	dir := t.TempDir()
	whMust(t, 201, "POST", a.URL+"/management/v1/warehouses", createWarehouseBody("shared", fileURI(dir)))
	created := time.Now()
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for !ok() {
			if time.Since(created) > time.Second {
				t.Fatalf("%s: not seen by the other node within a second", what)
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Logf("%s: seen by the other node after %s", what, time.Since(created).Round(time.Millisecond))
	}
	waitFor("created", func() bool { _, ok := b.Registry.Get("shared"); return ok })
	whMust(t, 200, "POST", b.URL+"/v1/shared/namespaces", `{"namespace":["ns"]}`)
	whMust(t, 200, "POST", b.URL+"/v1/shared/namespaces/ns/tables", epCreateTableBody("t"))
	whMust(t, 200, "GET", a.URL+"/v1/shared/namespaces/ns/tables/t", "")
	whMust(t, 200, "GET", b.URL+"/v1/config?warehouse=shared", "")

	whMust(t, 200, "POST", a.URL+"/management/v1/warehouses/shared/deactivate", "")
	created = time.Now()
	waitFor("deactivated", func() bool { e, _ := b.Registry.Get("shared"); return !e.Active })
	whError(t, 403, "ForbiddenException", "GET", b.URL+"/v1/shared/namespaces/ns/tables/t", "")
}

// Concurrent creates of overlapping locations: exactly one wins.
func TestWarehouseConcurrentOverlap(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		srv := servertest.Start(t, b, servertest.Config{ManagedWarehouses: true})
		dir := t.TempDir()
		const n = 6
		statuses := make(chan int, n)
		for i := range n {
			go func() {
				loc := fileURI(dir + strings.Repeat("/d", i+1)) // each inside the previous
				status, _ := whCall(t, "POST", srv.URL+"/management/v1/warehouses", createWarehouseBody(fmt.Sprintf("w%d", i), loc))
				statuses <- status
			}()
		}
		won := 0
		for range n {
			switch s := <-statuses; s {
			case 201:
				won++
			case 409:
			default:
				t.Errorf("status %d", s)
			}
		}
		if won != 1 || len(listWarehouses(t, srv.URL)) != 2 {
			t.Fatalf("%d overlapping creates won", won)
		}
	})
}

// The configuration file wins for the warehouses it names: what is stored
// under such a name is replaced at the next start.
func TestWarehouseFileWins(t *testing.T) {
	t.Parallel()
	a := servertest.Start(t, servertest.Postgres, servertest.Config{ManagedWarehouses: true})
	ws := a.Store
	rows, err := ws.ListWarehouses(context.Background())
	if err != nil || len(rows) != 1 || rows[0].Source != store.WarehouseFromConfig {
		t.Fatalf("bootstrapped rows: %+v %v", rows, err)
	}
	changed := rows[0]
	changed.Active = false
	changed.Settings = []byte(`{"table-layout":"name","credential-duration-ns":7200000000000}`)
	if err := ws.UpdateWarehouse(context.Background(), changed, store.EventWarehouseUpdated); err != nil {
		t.Fatal(err)
	}
	// A second node starting on the database writes the file's version back
	// (its file names "default" at its own location).
	b := servertest.Start(t, servertest.Postgres, servertest.Config{ManagedWarehouses: true, Database: a.Database})
	e, ok := b.Registry.Get("default")
	if !ok || !e.Active || e.Config.TableLayout != "name-uuid" || e.Config.Location != b.Warehouse {
		t.Fatalf("after the start, default is %+v", e)
	}
	whMust(t, 200, "POST", b.URL+"/v1/namespaces", `{"namespace":["n"]}`)
}

// Grants follow a rename, and go with a deleted warehouse: one created
// later under the name does not inherit them.
func TestWarehouseGrantsFollow(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		e := startAuth(t, b, servertest.Config{ManagedWarehouses: true, Auth: &auth.Options{}})
		reader, _ := e.principal("analyst", "analysts")
		e.must(201, "POST", "/management/v1/warehouses", e.admin, createWarehouseBody("w", fileURI(t.TempDir())), nil)
		e.must(201, "POST", "/management/v1/grants", e.admin,
			`{"role":"analysts","privilege":"read","securable":{"type":"warehouse","warehouse":"w"}}`, nil)
		eventually := func(path string, want int) {
			t.Helper()
			deadline := time.Now().Add(5 * time.Second)
			for {
				status, body := e.do("GET", path, reader, nil)
				if status == want {
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("GET %s: %d, want %d: %s", path, status, want, body)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
		eventually("/v1/w/namespaces", 200)
		e.must(200, "POST", "/management/v1/warehouses/w/rename", e.admin, `{"new-name":"w2"}`, nil)
		eventually("/v1/w2/namespaces", 200)
		e.must(204, "DELETE", "/management/v1/warehouses/w2", e.admin, nil, nil)
		e.must(201, "POST", "/management/v1/warehouses", e.admin, createWarehouseBody("w2", fileURI(t.TempDir())), nil)
		eventually("/v1/w2/namespaces", 403)
	})
}
