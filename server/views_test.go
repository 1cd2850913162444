package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	goiceberg "github.com/apache/iceberg-go"
	icecatalog "github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/rest"
	"github.com/apache/iceberg-go/table"
	"github.com/apache/iceberg-go/view"
	"github.com/google/uuid"

	"github.com/bingsan/bingsan/gen/iceberg"
	"github.com/bingsan/bingsan/server/servertest"
)

// viewSchema is the Java kit's view schema (schema id 5, field ids 3 and 4).
const viewSchema = `{"type":"struct","schema-id":5,"fields":[{"id":3,"name":"id","type":"int","required":true},{"id":4,"name":"data","type":"string","required":true}]}`

// viewReq sends a JSON request and fails the test unless the status is want.
func viewReq(t *testing.T, method, url string, body string, want int) []byte {
	t.Helper()
	var b []byte
	ct := ""
	if body != "" {
		b, ct = []byte(body), "application/json"
	}
	status, _, resp := call(t, method, url, ct, b)
	if status != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, url, status, want, resp)
	}
	return resp
}

// viewErr sends a request that must fail with status and Iceberg error
// type typ, and whose message must start with prefix.
func viewErr(t *testing.T, method, url, body string, status int, typ, prefix string) {
	t.Helper()
	resp := viewReq(t, method, url, body, status)
	if method == "HEAD" {
		if len(resp) != 0 {
			t.Fatalf("HEAD %s answered with a body", url)
		}
		return
	}
	e := errorOf(t, status, resp)
	if e.Type != typ || !strings.HasPrefix(e.Message, prefix) {
		t.Fatalf("%s %s: %s %q, want %s %q", method, url, e.Type, e.Message, typ, prefix)
	}
}

func createViewBody(name string, dialectSQL ...string) string {
	var reps []string
	for i := 0; i+1 < len(dialectSQL); i += 2 {
		reps = append(reps, fmt.Sprintf(`{"type":"sql","dialect":%q,"sql":%q}`, dialectSQL[i], dialectSQL[i+1]))
	}
	return fmt.Sprintf(`{"name":%q,"schema":%s,"properties":{"prop1":"val1"},"view-version":{"version-id":1,"schema-id":5,
		"timestamp-ms":%d,"summary":{"engine-name":"test"},"default-namespace":["ns"],"representations":[%s]}}`,
		name, viewSchema, time.Now().UnixMilli(), strings.Join(reps, ","))
}

func replaceViewBody(uuid, schema string, schemaID int, dialect, sql string) string {
	reqs := "[]"
	if uuid != "" {
		reqs = fmt.Sprintf(`[{"type":"assert-view-uuid","uuid":%q}]`, uuid)
	}
	addSchema := ""
	if schema != "" {
		addSchema = fmt.Sprintf(`{"action":"add-schema","schema":%s},`, schema)
	}
	return fmt.Sprintf(`{"requirements":%s,"updates":[%s
		{"action":"add-view-version","view-version":{"version-id":2,"schema-id":%d,"timestamp-ms":%d,
			"summary":{"engine-name":"test"},"default-namespace":["ns"],"representations":[{"type":"sql","dialect":%q,"sql":%q}]}},
		{"action":"set-current-view-version","view-version-id":-1}]}`, reqs, addSchema, schemaID, time.Now().UnixMilli(), dialect, sql)
}

func loadViewOf(t *testing.T, body []byte) (iceberg.LoadViewResult, view.Metadata) {
	t.Helper()
	var res iceberg.LoadViewResult
	if err := json.Unmarshal(body, &res); err != nil {
		t.Fatalf("not a LoadViewResult: %v: %s", err, body)
	}
	m, err := view.ParseMetadataBytes(res.Metadata)
	if err != nil {
		t.Fatalf("view metadata: %v: %s", err, res.Metadata)
	}
	return res, m
}

// An iceberg-go client goes through the whole lifecycle of a view.
func TestViewsWithIcebergGoClient(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		srv := servertest.Start(t, b, servertest.Config{})
		ctx := context.Background()
		cat, err := rest.NewCatalog(ctx, "x", srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		for _, ns := range []string{"ns", "other_ns"} {
			if err := cat.CreateNamespace(ctx, table.Identifier{ns}, nil); err != nil {
				t.Fatal(err)
			}
		}
		sc := goiceberg.NewSchema(0,
			goiceberg.NestedField{ID: 1, Name: "id", Type: goiceberg.PrimitiveTypes.Int32, Required: true},
			goiceberg.NestedField{ID: 2, Name: "data", Type: goiceberg.PrimitiveTypes.String})
		version, err := view.NewVersion(1, 0, view.Representations{
			view.NewRepresentation("select * from ns.tbl", "spark"),
			view.NewRepresentation("select * from ns.tbl using X", "trino"),
		}, table.Identifier{"ns"})
		if err != nil {
			t.Fatal(err)
		}
		id := table.Identifier{"ns", "view"}
		created, err := cat.CreateView(ctx, id, version, sc, icecatalog.WithViewProperties(goiceberg.Properties{"prop1": "val1"}))
		if err != nil {
			t.Fatalf("CreateView: %v", err)
		}
		if created.MetadataLocation() == "" || created.CurrentVersion().VersionID != 1 || len(created.CurrentVersion().Representations) != 2 {
			t.Fatalf("created = %s %+v", created.MetadataLocation(), created.CurrentVersion())
		}
		if !strings.HasPrefix(created.Location(), srv.Warehouse+"/ns/view-") || created.Properties()["prop1"] != "val1" {
			t.Errorf("location %s, properties %v", created.Location(), created.Properties())
		}
		loaded, err := cat.LoadView(ctx, id)
		if err != nil {
			t.Fatalf("LoadView: %v", err)
		}
		if loaded.MetadataLocation() != created.MetadataLocation() || !loaded.Metadata().Equals(created.Metadata()) {
			t.Errorf("loaded %s, created %s", loaded.MetadataLocation(), created.MetadataLocation())
		}
		if ok, err := cat.CheckViewExists(ctx, id); err != nil || !ok {
			t.Errorf("CheckViewExists = %v, %v", ok, err)
		}
		if ok, err := cat.CheckViewExists(ctx, table.Identifier{"ns", "nope"}); err != nil || ok {
			t.Errorf("CheckViewExists(missing) = %v, %v", ok, err)
		}
		if _, err := cat.CreateView(ctx, id, version, sc); !errors.Is(err, icecatalog.ErrViewAlreadyExists) {
			t.Errorf("create again: %v", err)
		}

		// Replace the version on a new schema.
		otherSchema := goiceberg.NewSchema(0, goiceberg.NestedField{ID: 1, Name: "some_id", Type: goiceberg.PrimitiveTypes.Int32, Required: true})
		v2, err := view.NewVersion(2, view.LastAddedID, view.Representations{
			view.NewRepresentation("select count(*) from ns.tbl", "spark"),
			view.NewRepresentation("select count(*) from ns.tbl", "trino"),
		}, table.Identifier{"ns"})
		if err != nil {
			t.Fatal(err)
		}
		replaced, err := cat.UpdateView(ctx, id,
			[]view.Requirement{view.AssertViewUUID(loaded.Metadata().ViewUUID())},
			[]view.Update{view.NewAddSchemaUpdate(otherSchema), view.NewAddViewVersionUpdate(v2), view.NewSetCurrentVersionUpdate(view.LastAddedID)})
		if err != nil {
			t.Fatalf("UpdateView: %v", err)
		}
		if replaced.CurrentVersion().VersionID != 2 || replaced.CurrentSchema().ID != 1 || len(replaced.Versions()) != 2 ||
			len(replaced.Metadata().VersionLog()) != 2 || replaced.MetadataLocation() == created.MetadataLocation() {
			t.Errorf("replaced: %s version %+v", replaced.MetadataLocation(), replaced.CurrentVersion())
		}
		_, err = cat.UpdateView(ctx, id, []view.Requirement{view.AssertViewUUID(uuid.MustParse("00000000-0000-0000-0000-000000000001"))},
			[]view.Update{view.NewSetPropertiesUpdate(goiceberg.Properties{"k": "v"})})
		if !errors.Is(err, rest.ErrCommitFailed) {
			t.Errorf("replace with a wrong uuid: %v", err)
		}

		// Rename across namespaces, list, drop.
		moved := table.Identifier{"other_ns", "renamedView"}
		renamed, err := cat.RenameView(ctx, id, moved)
		if err != nil {
			t.Fatalf("RenameView: %v", err)
		}
		if renamed.MetadataLocation() != replaced.MetadataLocation() {
			t.Errorf("rename changed the metadata: %s", renamed.MetadataLocation())
		}
		var listed []string
		for ident, err := range cat.ListViews(ctx, table.Identifier{"other_ns"}) {
			if err != nil {
				t.Fatal(err)
			}
			listed = append(listed, strings.Join(ident, "."))
		}
		if !slices.Equal(listed, []string{"other_ns.renamedView"}) {
			t.Errorf("ListViews = %v", listed)
		}
		if _, err := cat.LoadView(ctx, id); !errors.Is(err, icecatalog.ErrNoSuchView) {
			t.Errorf("load under the old name: %v", err)
		}
		if err := cat.DropView(ctx, moved); err != nil {
			t.Fatalf("DropView: %v", err)
		}
		if err := cat.DropView(ctx, moved); !errors.Is(err, icecatalog.ErrNoSuchView) {
			t.Errorf("drop again: %v", err)
		}

		// Register the dropped view's last metadata file under a new name.
		registered, err := cat.RegisterView(ctx, table.Identifier{"ns", "registered"}, replaced.MetadataLocation())
		if err != nil {
			t.Fatalf("RegisterView: %v", err)
		}
		if registered.CurrentVersion().VersionID != 2 || registered.Metadata().ViewUUID() != replaced.Metadata().ViewUUID() {
			t.Errorf("registered = %+v", registered.CurrentVersion())
		}
		if _, err := cat.RegisterView(ctx, table.Identifier{"ns", "registered"}, replaced.MetadataLocation()); !errors.Is(err, icecatalog.ErrViewAlreadyExists) {
			t.Errorf("register again: %v", err)
		}
	})
}

// Every error path over HTTP; none of them changes anything.
func TestViewErrorsOverHTTP(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		srv := servertest.Start(t, b, servertest.Config{})
		base := srv.URL + "/v1/default"
		views := base + "/namespaces/ns/views"
		viewReq(t, "POST", base+"/namespaces", `{"namespace":["ns"]}`, 200)
		viewReq(t, "POST", base+"/namespaces", `{"namespace":["only_views"]}`, 200)
		viewReq(t, "POST", base+"/namespaces/ns/tables", `{"name":"t","schema":`+viewSchema+`}`, 200)
		created := viewReq(t, "POST", views, createViewBody("v", "spark", "select 1", "trino", "select 1"), 200)
		_, m := loadViewOf(t, created)
		viewReq(t, "POST", base+"/namespaces/only_views/views", createViewBody("w", "spark", "select 1"), 200)
		before := viewReq(t, "GET", views+"/v", "", 200)
		uuid := m.ViewUUID().String()

		viewErr(t, "POST", base+"/namespaces/missing/views", createViewBody("v", "spark", "x"), 404, "NoSuchNamespaceException", "Namespace does not exist: missing")
		viewErr(t, "POST", views, createViewBody("v", "spark", "x"), 409, "AlreadyExistsException", "View already exists: ns.v")
		viewErr(t, "POST", views, createViewBody("t", "spark", "x"), 409, "AlreadyExistsException", "Table with same name already exists: ns.t")
		viewErr(t, "POST", views, createViewBody("x", "spark", "a", "SPARK", "b"), 400, "BadRequestException", "")
		viewErr(t, "POST", views, createViewBody("x"), 400, "BadRequestException", "")
		viewErr(t, "POST", views, `{"name":"x"`, 400, "BadRequestException", "")
		viewErr(t, "POST", base+"/namespaces/ns/tables", `{"name":"v","schema":`+viewSchema+`}`, 409, "AlreadyExistsException", "View with same name already exists: ns.v")

		viewErr(t, "GET", views+"/nope", "", 404, "NoSuchViewException", "View does not exist: ns.nope")
		viewErr(t, "GET", views+"/t", "", 404, "NoSuchViewException", "View does not exist: ns.t")
		viewErr(t, "GET", base+"/namespaces/missing/views/v", "", 404, "NoSuchViewException", "View does not exist: missing.v")
		viewErr(t, "GET", base+"/namespaces/ns/tables/v", "", 404, "NoSuchTableException", "Table does not exist: ns.v")
		viewErr(t, "HEAD", views+"/nope", "", 404, "", "")
		viewErr(t, "HEAD", views+"/t", "", 404, "", "")
		viewErr(t, "GET", base+"/namespaces/missing/views", "", 404, "NoSuchNamespaceException", "Namespace does not exist: missing")

		good := replaceViewBody(uuid, viewSchema, -1, "spark", "select 2")
		viewErr(t, "POST", views+"/nope", good, 404, "NoSuchViewException", "View does not exist: ns.nope")
		viewErr(t, "POST", base+"/namespaces/missing/views/v", good, 404, "NoSuchViewException", "View does not exist: missing.v")
		viewErr(t, "POST", views+"/v", replaceViewBody("00000000-0000-0000-0000-000000000001", "", 0, "spark", "x"), 409, "CommitFailedException", "")
		viewErr(t, "POST", views+"/v", `{"updates":[{"action":"set-current-view-version","view-version-id":7}]}`, 400, "BadRequestException", "")
		viewErr(t, "POST", views+"/v", `{"updates":[{"action":"add-snapshot"}]}`, 400, "BadRequestException", "")
		viewErr(t, "POST", views+"/v", `{"updates":[{"action":"add-schema"}]}`, 400, "BadRequestException", "")
		viewErr(t, "POST", views+"/v", `{"requirements":[{"type":"assert-create"}],"updates":[]}`, 400, "BadRequestException", "")
		// Dropping the trino dialect is not allowed by default.
		viewErr(t, "POST", views+"/v", replaceViewBody(uuid, "", 0, "spark", "select 2"), 400, "BadRequestException", "")

		rename := func(from, to string) string {
			f, g := strings.Split(from, "."), strings.Split(to, ".")
			return fmt.Sprintf(`{"source":{"namespace":[%q],"name":%q},"destination":{"namespace":[%q],"name":%q}}`, f[0], f[1], g[0], g[1])
		}
		viewErr(t, "POST", base+"/views/rename", rename("ns.v", "ns.t"), 409, "AlreadyExistsException", "Cannot rename ns.v to ns.t. Table already exists")
		viewErr(t, "POST", base+"/views/rename", rename("ns.v", "only_views.w"), 409, "AlreadyExistsException", "Cannot rename ns.v to only_views.w. View already exists")
		viewErr(t, "POST", base+"/views/rename", rename("ns.nope", "ns.x"), 404, "NoSuchViewException", "View does not exist: ns.nope")
		viewErr(t, "POST", base+"/views/rename", rename("ns.v", "missing.x"), 404, "NoSuchNamespaceException", "Namespace does not exist: missing")
		viewErr(t, "POST", base+"/views/rename", rename("ns.t", "ns.x"), 404, "NoSuchViewException", "View does not exist: ns.t")
		// The reverse: a table onto a view (wording is the table code's).
		viewErr(t, "POST", base+"/tables/rename", rename("ns.t", "ns.v"), 409, "AlreadyExistsException", "")

		viewErr(t, "DELETE", views+"/nope", "", 404, "NoSuchViewException", "View does not exist: ns.nope")
		viewErr(t, "DELETE", views+"/t", "", 404, "NoSuchViewException", "View does not exist: ns.t")
		viewErr(t, "DELETE", base+"/namespaces/only_views", "", 409, "NamespaceNotEmptyException", "")

		var res iceberg.LoadViewResult
		_ = json.Unmarshal(before, &res)
		register := func(name, loc string) string { return fmt.Sprintf(`{"name":%q,"metadata-location":%q}`, name, loc) }
		viewErr(t, "POST", base+"/namespaces/ns/register-view", register("v", res.MetadataLocation), 409, "AlreadyExistsException", "View already exists: ns.v")
		viewErr(t, "POST", base+"/namespaces/ns/register-view", register("t", res.MetadataLocation), 409, "AlreadyExistsException", "Table with same name already exists: ns.t")
		viewErr(t, "POST", base+"/namespaces/missing/register-view", register("x", res.MetadataLocation), 404, "NoSuchNamespaceException", "Namespace does not exist: missing")
		viewErr(t, "POST", base+"/namespaces/ns/register-view", register("x", srv.Warehouse+"/ns/nope.metadata.json"), 400, "BadRequestException", "Metadata file does not exist")

		// Nothing changed.
		if after := viewReq(t, "GET", views+"/v", "", 200); string(after) != string(before) {
			t.Errorf("view changed:\n%s\n%s", before, after)
		}
		viewReq(t, "HEAD", views+"/v", "", 204)
		viewReq(t, "HEAD", base+"/namespaces/ns/tables/t", "", 204)
		viewErr(t, "HEAD", views+"/x", "", 404, "", "")
		var list iceberg.ListTablesResponse
		if err := json.Unmarshal(viewReq(t, "GET", views, "", 200), &list); err != nil || len(*list.Identifiers) != 1 {
			t.Errorf("views of ns: %+v %v", list, err)
		}
		if err := json.Unmarshal(viewReq(t, "GET", base+"/namespaces/only_views/views", "", 200), &list); err != nil || len(*list.Identifiers) != 1 {
			t.Errorf("views of only_views: %+v %v", list, err)
		}
	})
}

// The Java kit's replace and concurrent-replace cases over HTTP: two
// replaces computed on the same version both succeed through the server's
// retry on the latest metadata, and the history shows both.
func TestReplaceViewOverHTTP(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		srv := servertest.Start(t, b, servertest.Config{})
		base := srv.URL + "/v1/default"
		views := base + "/namespaces/ns/views"
		viewReq(t, "POST", base+"/namespaces", `{"namespace":["ns"]}`, 200)
		body := strings.Replace(createViewBody("v", "trino", "select * from ns.tbl"), `"prop1":"val1"`, `"replace.drop-dialect.allowed":"true"`, 1)
		res, m := loadViewOf(t, viewReq(t, "POST", views, body, 200))
		uuid := m.ViewUUID().String()

		other := `{"type":"struct","schema-id":7,"fields":[{"id":1,"name":"some_id","type":"int","required":true}]}`
		replaces := []string{
			replaceViewBody(uuid, other, -1, "spark", "select count(some_id) from ns.tbl"),
			replaceViewBody(uuid, "", 0, "trino", "select count(id) from ns.tbl"),
		}
		var wg sync.WaitGroup
		out := make([][]byte, len(replaces))
		for i, r := range replaces {
			wg.Add(1)
			go func() {
				defer wg.Done()
				status, _, resp := call(t, "POST", views+"/v", "application/json", []byte(r))
				if status != 200 {
					t.Errorf("replace %d: %d %s", i, status, resp)
				}
				out[i] = resp
			}()
		}
		wg.Wait()
		if t.Failed() {
			return
		}
		loaded, lm := loadViewOf(t, viewReq(t, "GET", views+"/v", "", 200))
		if lm.CurrentVersionID() != 3 || len(lm.Versions()) != 3 || len(lm.VersionLog()) != 3 || len(lm.Schemas()) != 2 {
			t.Fatalf("after two replaces: current %d, %d versions, log %d, %d schemas",
				lm.CurrentVersionID(), len(lm.Versions()), len(lm.VersionLog()), len(lm.Schemas()))
		}
		bySQL := map[string]*view.Version{}
		for _, v := range lm.Versions() {
			bySQL[v.Representations[0].Sql] = v
		}
		if v := bySQL["select count(some_id) from ns.tbl"]; v == nil || v.SchemaID != 1 {
			t.Errorf("spark version = %+v", v)
		}
		if v := bySQL["select count(id) from ns.tbl"]; v == nil || v.SchemaID != 0 {
			t.Errorf("trino version = %+v", v)
		}
		if loaded.MetadataLocation == res.MetadataLocation || !strings.Contains(loaded.MetadataLocation, "/metadata/00002-") {
			t.Errorf("metadata location %s", loaded.MetadataLocation)
		}

		// Properties and location: versions stay.
		loc := srv.Warehouse + "/ns/updated/v"
		_, pm := loadViewOf(t, viewReq(t, "POST", views+"/v", `{"requirements":[{"type":"assert-view-uuid","uuid":"`+uuid+`"}],"updates":[
			{"action":"set-properties","updates":{"key1":"val1"}},{"action":"remove-properties","removals":["non-existing"]},
			{"action":"set-location","location":"`+loc+`"}]}`, 200))
		if pm.Properties()["key1"] != "val1" || pm.Location() != loc || len(pm.Versions()) != 3 || len(pm.VersionLog()) != 3 {
			t.Errorf("after properties and location: %v %s", pm.Properties(), pm.Location())
		}
	})
}

func TestListViewsPagination(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		srv := servertest.Start(t, b, servertest.Config{})
		base := srv.URL + "/v1/default"
		viewReq(t, "POST", base+"/namespaces", `{"namespace":["ns"]}`, 200)
		for _, n := range []string{"c", "a", "e", "b", "d"} {
			viewReq(t, "POST", base+"/namespaces/ns/views", createViewBody(n, "spark", "select 1"), 200)
		}
		viewReq(t, "POST", base+"/namespaces/ns/tables", `{"name":"t","schema":`+viewSchema+`}`, 200)
		var names []string
		url := base + "/namespaces/ns/views?pageSize=2"
		for pages := 1; ; pages++ {
			var list iceberg.ListTablesResponse
			if err := json.Unmarshal(viewReq(t, "GET", url, "", 200), &list); err != nil {
				t.Fatal(err)
			}
			for _, id := range *list.Identifiers {
				names = append(names, id.Name)
			}
			if list.NextPageToken == nil {
				if pages != 3 {
					t.Errorf("%d pages, want 3", pages)
				}
				break
			}
			url = base + "/namespaces/ns/views?pageSize=2&pageToken=" + *list.NextPageToken
		}
		if !slices.Equal(names, []string{"a", "b", "c", "d", "e"}) {
			t.Errorf("paged views = %v", names)
		}
	})
}
