package catalog_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/iceberg-go/view"

	"github.com/bingsan/bingsan/catalog"
	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/internal/pgtest"
	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/store/migrate"
	"github.com/bingsan/bingsan/store/postgres"
	"github.com/bingsan/bingsan/store/sqlite"
	"github.com/bingsan/bingsan/vend"
)

// The view tests run on both stores.
var viewBackends = []string{"sqlite", "postgres"}

// viewSetup is setup on the given backend; wrap, when set, wraps the store
// the Service uses (to inject races).
func viewSetup(t *testing.T, backend string, opts catalog.Options, wrap func(store.Store) store.Store) *env {
	t.Helper()
	ctx := context.Background()
	var (
		st interface {
			store.Store
			Migrate(context.Context, migrate.Direction) error
		}
		err error
	)
	switch backend {
	case "postgres":
		st, err = postgres.Open(ctx, pgtest.NewDatabase(t), postgres.Options{})
	default:
		st, err = sqlite.Open(ctx, filepath.Join(t.TempDir(), "catalog.db"), sqlite.Options{})
	}
	if err != nil {
		t.Fatalf("open %s: %v", backend, err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if err := st.Migrate(ctx, migrate.Up); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	dir := t.TempDir()
	whLoc := "file://" + filepath.ToSlash(dir)
	if opts.Warehouses == nil {
		opts.Warehouses = map[string]string{warehouse: whLoc}
	}
	if opts.RetryBaseDelay == 0 {
		opts.RetryBaseDelay = time.Millisecond
	}
	if opts.RetryMaxDelay == 0 {
		opts.RetryMaxDelay = 20 * time.Millisecond
	}
	var svcStore store.Store = st
	if wrap != nil {
		svcStore = wrap(st)
	}
	e := &env{svc: catalog.New(svcStore, vend.NewLocal(), opts), st: st, dir: dir, whLoc: whLoc, opts: opts}
	e.mustNamespace(t, "ns")
	return e
}

func forEachViewBackend(t *testing.T, fn func(t *testing.T, backend string)) {
	for _, b := range viewBackends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			fn(t, b)
		})
	}
}

// The Java kit's schemas: ids the catalog must renumber (schema 5 becomes
// 0) while keeping the field ids.
const (
	viewSchemaJSON  = `{"type":"struct","schema-id":5,"fields":[{"id":3,"name":"id","type":"int","required":true,"doc":"unique ID"},{"id":4,"name":"data","type":"string","required":true}]}`
	otherSchemaJSON = `{"type":"struct","schema-id":7,"fields":[{"id":1,"name":"some_id","type":"int","required":true}]}`
)

// viewVersion is a view-version with the given dialect/sql pairs.
func viewVersion(id, schemaID int, dialectSQL ...string) string {
	var reps []string
	for i := 0; i+1 < len(dialectSQL); i += 2 {
		reps = append(reps, fmt.Sprintf(`{"type":"sql","dialect":%q,"sql":%q}`, dialectSQL[i], dialectSQL[i+1]))
	}
	return fmt.Sprintf(`{"version-id":%d,"schema-id":%d,"timestamp-ms":%d,"summary":{"engine-name":"test"},
		"default-namespace":["ns"],"representations":[%s]}`, id, schemaID, time.Now().UnixMilli(), strings.Join(reps, ","))
}

func (e *env) createView(id store.Ident, location string, props map[string]string, dialectSQL ...string) (catalog.ViewResult, error) {
	if len(dialectSQL) == 0 {
		dialectSQL = []string{"spark", "select * from ns.tbl"}
	}
	sc, err := catalog.ParseSchema(json.RawMessage(viewSchemaJSON))
	if err != nil {
		return catalog.ViewResult{}, err
	}
	v, err := catalog.ParseViewVersion(json.RawMessage(viewVersion(1, 5, dialectSQL...)))
	if err != nil {
		return catalog.ViewResult{}, err
	}
	return e.svc.CreateView(context.Background(), catalog.CreateViewInput{
		Ident: id, Location: location, Properties: props, Schema: sc, ViewVersion: v,
	})
}

func (e *env) mustCreateView(t *testing.T, id store.Ident, props map[string]string, dialectSQL ...string) (catalog.ViewResult, view.Metadata) {
	t.Helper()
	res, err := e.createView(id, "", props, dialectSQL...)
	if err != nil {
		t.Fatalf("CreateView(%s): %v", id, err)
	}
	return res, parseView(t, res.Metadata)
}

func (e *env) loadView(t *testing.T, id store.Ident) (catalog.ViewResult, view.Metadata) {
	t.Helper()
	res, err := e.svc.LoadView(context.Background(), id)
	if err != nil {
		t.Fatalf("LoadView(%s): %v", id, err)
	}
	return res, parseView(t, res.Metadata)
}

func (e *env) replaceView(id store.Ident, reqs, upds string) (catalog.ViewResult, error) {
	c, err := catalog.ParseViewChange(id, json.RawMessage(reqs), json.RawMessage(upds))
	if err != nil {
		return catalog.ViewResult{}, err
	}
	return e.svc.CommitView(context.Background(), c)
}

func viewVersionOf(t testing.TB, s string) *view.Version {
	t.Helper()
	v, err := catalog.ParseViewVersion(json.RawMessage(s))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func (e *env) mustReplaceView(t *testing.T, id store.Ident, reqs, upds string) (catalog.ViewResult, view.Metadata) {
	t.Helper()
	res, err := e.replaceView(id, reqs, upds)
	if err != nil {
		t.Fatalf("CommitView(%s): %v", id, err)
	}
	return res, parseView(t, res.Metadata)
}

func parseView(t *testing.T, doc []byte) view.Metadata {
	t.Helper()
	m, err := view.ParseMetadataBytes(doc)
	if err != nil {
		t.Fatalf("view.ParseMetadataBytes: %v\n%s", err, doc)
	}
	return m
}

// replaceUpdates is what a client sends to replace a view's version: the
// schema, a version on it and that version made current.
func replaceUpdates(schemaJSON string, dialectSQL ...string) string {
	return fmt.Sprintf(`[{"action":"add-schema","schema":%s},
		{"action":"add-view-version","view-version":%s},
		{"action":"set-current-view-version","view-version-id":-1}]`, schemaJSON, viewVersion(2, -1, dialectSQL...))
}

func assertUUID(m view.Metadata) string {
	return fmt.Sprintf(`[{"type":"assert-view-uuid","uuid":%q}]`, m.ViewUUID())
}

func wantMessage(t *testing.T, err error, kind errs.Kind, prefix string) {
	t.Helper()
	wantKind(t, err, kind)
	var de *errs.Error
	if !errors.As(err, &de) || !strings.HasPrefix(de.Message, prefix) {
		t.Fatalf("message %q, want prefix %q", err, prefix)
	}
}

func TestCreateView(t *testing.T) {
	t.Parallel()
	forEachViewBackend(t, func(t *testing.T, b string) {
		e := viewSetup(t, b, catalog.Options{
			Defaults:  map[string]string{"view-default.key1": "default", "view-default.key2": "default", "table-default.t": "x"},
			Overrides: map[string]string{"view-override.key3": "override", "clients": "4"},
		}, nil)
		ctx := context.Background()
		id := ident("ns", "v")
		if err := e.svc.ViewExists(ctx, id); !errs.Is(err, errs.NoSuchView) {
			t.Fatalf("ViewExists before create: %v", err)
		}
		res, m := e.mustCreateView(t, id, map[string]string{"key2": "request", "key3": "request", "prop1": "val1"},
			"spark", "select * from ns.tbl", "trino", "select * from ns.tbl using X")

		if m.FormatVersion() != 1 || m.CurrentVersionID() != 1 || len(m.Versions()) != 1 {
			t.Errorf("format %d, current version %d, %d versions", m.FormatVersion(), m.CurrentVersionID(), len(m.Versions()))
		}
		if log := m.VersionLog(); len(log) != 1 || log[0].VersionID != 1 {
			t.Errorf("version log = %+v", log)
		}
		sc := m.CurrentSchema()
		if sc.ID != 0 || len(m.Schemas()) != 1 || m.CurrentSchemaID() != 0 {
			t.Errorf("schema id %d, %d schemas", sc.ID, len(m.Schemas()))
		}
		if f, ok := sc.FindFieldByName("id"); !ok || f.ID != 3 || f.Doc != "unique ID" {
			t.Errorf("field id = %+v: field ids are kept", f)
		}
		v := m.CurrentVersion()
		if v.SchemaID != 0 || len(v.Representations) != 2 || v.Representations[1].Dialect != "trino" ||
			v.Summary["engine-name"] != "test" || !slices.Equal(v.DefaultNamespace, []string{"ns"}) {
			t.Errorf("version = %+v", v)
		}
		props := m.Properties()
		want := map[string]string{"key1": "default", "key2": "request", "key3": "override", "prop1": "val1"}
		for k, v := range want {
			if props[k] != v {
				t.Errorf("property %s = %q, want %q (all: %v)", k, props[k], v, props)
			}
		}
		if _, ok := props["t"]; ok {
			t.Errorf("table default applied to a view: %v", props)
		}
		if !regexp.MustCompile(`^` + regexp.QuoteMeta(e.whLoc) + `/ns/v-[0-9a-f]{32}$`).MatchString(m.Location()) {
			t.Errorf("location = %s", m.Location())
		}
		if !regexp.MustCompile(`^` + regexp.QuoteMeta(m.Location()) + `/metadata/00000-[0-9a-f-]{36}\.metadata\.json$`).MatchString(res.MetadataLocation) {
			t.Errorf("metadata location = %s", res.MetadataLocation)
		}
		onDisk, err := os.ReadFile(localPath(res.MetadataLocation))
		if err != nil || string(onDisk) != string(res.Metadata) {
			t.Errorf("metadata file = %q, %v", onDisk, err)
		}

		loaded, lm := e.loadView(t, id)
		if loaded.MetadataLocation != res.MetadataLocation || !lm.Equals(m) {
			t.Errorf("load = %s, want %s", loaded.MetadataLocation, res.MetadataLocation)
		}
		if err := e.svc.ViewExists(ctx, id); err != nil {
			t.Errorf("ViewExists: %v", err)
		}
		// A view is not a table.
		if err := e.svc.TableExists(ctx, id); !errs.Is(err, errs.NoSuchTable) {
			t.Errorf("TableExists(view) = %v", err)
		}
		_, err = e.svc.LoadTable(ctx, id, "")
		wantMessage(t, err, errs.NoSuchTable, "Table does not exist: ns.v")
	})
}

func TestCreateViewLocations(t *testing.T) {
	t.Parallel()
	forEachViewBackend(t, func(t *testing.T, b string) {
		e := viewSetup(t, b, catalog.Options{}, nil)
		loc := e.whLoc + "/ns/custom/place"
		res, err := e.createView(ident("ns", "located"), loc+"/", nil)
		if err != nil {
			t.Fatal(err)
		}
		if m := parseView(t, res.Metadata); m.Location() != loc || !strings.HasPrefix(res.MetadataLocation, loc+"/metadata/00000-") {
			t.Errorf("location %s, metadata %s", m.Location(), res.MetadataLocation)
		}

		custom := e.whLoc + "/ns/custom-metadata"
		res, err = e.createView(ident("ns", "custom"), e.whLoc+"/ns/somewhere", map[string]string{"write.metadata.path": custom})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(res.MetadataLocation, custom+"/00000-") || !fileExists(res.MetadataLocation) {
			t.Errorf("metadata location %s, want below %s", res.MetadataLocation, custom)
		}
		id := ident("ns", "custom")
		m := parseView(t, res.Metadata)
		res2, _ := e.mustReplaceView(t, id, assertUUID(m), replaceUpdates(otherSchemaJSON, "spark", "select 2"))
		if !strings.HasPrefix(res2.MetadataLocation, custom+"/00001-") {
			t.Errorf("replaced metadata location %s", res2.MetadataLocation)
		}
	})
}

// Every failing create must leave nothing behind: no view, no file.
func TestCreateViewErrors(t *testing.T) {
	t.Parallel()
	forEachViewBackend(t, func(t *testing.T, b string) {
		e := viewSetup(t, b, catalog.Options{}, nil)
		ctx := context.Background()
		e.mustCreateView(t, ident("ns", "v"), nil)
		e.mustCreate(t, ident("ns", "t"), nil)
		before := metadataFiles(t, e.dir)

		create := func(id store.Ident, schema, version string) error {
			// Decoded as the server does: a malformed part fails there.
			sc, err := catalog.ParseSchema(json.RawMessage(schema))
			if err != nil {
				return err
			}
			v, err := catalog.ParseViewVersion(json.RawMessage(version))
			if err != nil {
				return err
			}
			_, err = e.svc.CreateView(ctx, catalog.CreateViewInput{Ident: id, Schema: sc, ViewVersion: v})
			return err
		}
		good := viewVersion(1, 5, "spark", "select 1")
		cases := []struct {
			name    string
			id      store.Ident
			schema  string
			version string
			kind    errs.Kind
			prefix  string
		}{
			{"view exists", ident("ns", "v"), viewSchemaJSON, good, errs.AlreadyExists, "View already exists: ns.v"},
			{"table exists", ident("ns", "t"), viewSchemaJSON, good, errs.AlreadyExists, "Table with same name already exists: ns.t"},
			{"no namespace", ident("missing", "v"), viewSchemaJSON, good, errs.NoSuchNamespace, "Namespace does not exist: missing"},
			{"no schema", ident("ns", "x"), "", good, errs.BadRequest, "Create view request must have a schema"},
			{"bad schema", ident("ns", "x"), `{"type":"list"}`, good, errs.BadRequest, "Invalid schema"},
			{"no version", ident("ns", "x"), viewSchemaJSON, "null", errs.BadRequest, "Create view request must have a view-version"},
			{"no query", ident("ns", "x"), viewSchemaJSON, viewVersion(1, 5), errs.BadRequest, ""},
			{"same dialect twice", ident("ns", "x"), viewSchemaJSON, viewVersion(1, 5, "trino", "a", "Trino", "b"), errs.BadRequest, ""},
			{"no default namespace", ident("ns", "x"), viewSchemaJSON,
				`{"version-id":1,"schema-id":0,"timestamp-ms":1,"summary":{},"representations":[{"type":"sql","dialect":"a","sql":"b"}]}`,
				errs.BadRequest, "Invalid view version: default-namespace is required"},
			{"no summary", ident("ns", "x"), viewSchemaJSON,
				`{"version-id":1,"schema-id":0,"timestamp-ms":1,"default-namespace":[],"representations":[{"type":"sql","dialect":"a","sql":"b"}]}`,
				errs.BadRequest, "Invalid view version: summary is required"},
			{"empty name", ident("ns", ""), viewSchemaJSON, good, errs.BadRequest, "View name must not be empty"},
		}
		for _, tc := range cases {
			err := create(tc.id, tc.schema, tc.version)
			if err == nil {
				t.Fatalf("%s: created", tc.name)
			}
			if !errs.Is(err, tc.kind) {
				t.Fatalf("%s: %v (kind %d), want kind %d", tc.name, err, errs.KindOf(err), tc.kind)
			}
			if tc.prefix != "" {
				wantMessage(t, err, tc.kind, tc.prefix)
			}
		}
		if after := metadataFiles(t, e.dir); !slices.Equal(before, after) {
			t.Errorf("failed creates left files: %v", after)
		}
		ids, _, err := e.svc.ListViews(ctx, warehouse, []string{"ns"}, catalog.Page{})
		if err != nil || len(ids) != 1 || ids[0].Name != "v" {
			t.Errorf("views after failed creates: %v %v", ids, err)
		}
		// The reverse: a table onto a view.
		_, err = e.svc.CreateTable(ctx, catalog.CreateTableInput{Ident: ident("ns", "v"), Schema: schemaOf(t, schemaJSON)})
		wantMessage(t, err, errs.AlreadyExists, "View with same name already exists: ns.v")
		_, err = e.svc.LoadView(ctx, ident("ns", "t"))
		wantMessage(t, err, errs.NoSuchView, "View does not exist: ns.t")
		_, err = e.svc.LoadView(ctx, ident("non-existing", "view"))
		wantMessage(t, err, errs.NoSuchView, "View does not exist: non-existing.view")
	})
}

func TestReplaceView(t *testing.T) {
	t.Parallel()
	forEachViewBackend(t, func(t *testing.T, b string) {
		e := viewSetup(t, b, catalog.Options{}, nil)
		id := ident("ns", "v")
		created, m1 := e.mustCreateView(t, id, map[string]string{"prop1": "val1", "replace.drop-dialect.allowed": "true"},
			"trino", "select * from ns.tbl", "spark", "select * from ns.tbl")
		v1 := m1.CurrentVersion()

		// A new schema and version, made current with -1.
		res, m := e.mustReplaceView(t, id, assertUUID(m1), replaceUpdates(otherSchemaJSON, "trino", "select count(*) from ns.tbl"))
		if m.ViewUUID() != m1.ViewUUID() || m.CurrentVersionID() != 2 || len(m.Versions()) != 2 {
			t.Fatalf("after replace: uuid %s, current %d, %d versions", m.ViewUUID(), m.CurrentVersionID(), len(m.Versions()))
		}
		v2 := m.CurrentVersion()
		if v2.SchemaID != 1 || m.CurrentSchema().ID != 1 || len(m.Schemas()) != 2 || len(v2.Representations) != 1 {
			t.Errorf("version 2 = %+v, schemas %d", v2, len(m.Schemas()))
		}
		if !m.Versions()[0].Equals(v1) || m.Versions()[0].VersionID != 1 {
			t.Errorf("version 1 changed: %+v", m.Versions()[0])
		}
		log := m.VersionLog()
		if len(log) != 2 || log[0].VersionID != 1 || log[1].VersionID != 2 || log[1].TimestampMS != v2.TimestampMS {
			t.Errorf("version log = %+v", log)
		}
		if m.Properties()["prop1"] != "val1" {
			t.Errorf("properties lost: %v", m.Properties())
		}
		if !strings.HasPrefix(res.MetadataLocation, m.Location()+"/metadata/00001-") || !fileExists(res.MetadataLocation) || !fileExists(created.MetadataLocation) {
			t.Errorf("metadata files: %s (previous %s)", res.MetadataLocation, created.MetadataLocation)
		}
		if loaded, _ := e.loadView(t, id); loaded.MetadataLocation != res.MetadataLocation {
			t.Errorf("load after replace: %s", loaded.MetadataLocation)
		}

		// A schema the view already has is reused, and -1 in the version
		// then means that schema.
		_, m = e.mustReplaceView(t, id, "", replaceUpdates(viewSchemaJSON, "spark", "select 3"))
		if len(m.Schemas()) != 2 || m.CurrentVersionID() != 3 || m.CurrentSchemaID() != 0 {
			t.Errorf("schemas %d, current %d on schema %d", len(m.Schemas()), m.CurrentVersionID(), m.CurrentSchemaID())
		}

		// Back to version 1: no new version, one more log entry.
		_, m = e.mustReplaceView(t, id, assertUUID(m1), `[{"action":"set-current-view-version","view-version-id":1}]`)
		if m.CurrentVersionID() != 1 || len(m.Versions()) != 3 || len(m.VersionLog()) != 4 {
			t.Errorf("current %d, %d versions, log %+v", m.CurrentVersionID(), len(m.Versions()), m.VersionLog())
		}

		// Re-adding an existing version reuses it (iceberg-go alone would
		// fail on a duplicate version id) and -1 then means that version.
		_, m = e.mustReplaceView(t, id, "", fmt.Sprintf(`[{"action":"add-view-version","view-version":%s},
			{"action":"set-current-view-version","view-version-id":-1}]`, mustJSON(t, m.Versions()[1])))
		if m.CurrentVersionID() != 2 || len(m.Versions()) != 3 {
			t.Errorf("re-added version 2: current %d, %d versions", m.CurrentVersionID(), len(m.Versions()))
		}

		// Properties and location; versions and log stay as they are.
		newLoc := e.whLoc + "/ns/updated/v"
		res, m = e.mustReplaceView(t, id, assertUUID(m1), `[{"action":"set-properties","updates":{"key1":"val1","key2":"val2"}},
			{"action":"remove-properties","removals":["prop1","non-existing"]},
			{"action":"set-location","location":"`+newLoc+`"},
			{"action":"assign-uuid","uuid":"`+m1.ViewUUID().String()+`"},
			{"action":"upgrade-format-version","format-version":1}]`)
		p := m.Properties()
		if p["key1"] != "val1" || p["key2"] != "val2" || p["prop1"] != "" || m.Location() != newLoc {
			t.Errorf("properties %v, location %s", p, m.Location())
		}
		if len(m.Versions()) != 3 || len(m.VersionLog()) != 5 || m.CurrentVersionID() != 2 {
			t.Errorf("versions %d, log %d, current %d", len(m.Versions()), len(m.VersionLog()), m.CurrentVersionID())
		}
		if !strings.HasPrefix(res.MetadataLocation, newLoc+"/metadata/00005-") {
			t.Errorf("metadata after set-location: %s", res.MetadataLocation)
		}

		// A commit that changes nothing writes nothing.
		files := metadataFiles(t, e.dir)
		same, _ := e.mustReplaceView(t, id, assertUUID(m1), `[{"action":"set-current-view-version","view-version-id":2}]`)
		if same.MetadataLocation != res.MetadataLocation || len(metadataFiles(t, e.dir)) != len(files) {
			t.Errorf("no-op commit wrote %s", same.MetadataLocation)
		}
	})
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestReplaceViewHistory(t *testing.T) {
	t.Parallel()
	e := viewSetup(t, "sqlite", catalog.Options{}, nil)
	id := ident("ns", "v")
	_, m := e.mustCreateView(t, id, map[string]string{"version.history.num-entries": "2"}, "spark", "select 0")
	for i := 1; i <= 3; i++ {
		_, m = e.mustReplaceView(t, id, assertUUID(m), replaceUpdates(viewSchemaJSON, "spark", fmt.Sprintf("select %d", i)))
	}
	var ids []int64
	for _, v := range m.Versions() {
		ids = append(ids, v.VersionID)
	}
	slices.Sort(ids)
	if !slices.Equal(ids, []int64{3, 4}) || m.CurrentVersionID() != 4 {
		t.Errorf("kept versions %v, current %d", ids, m.CurrentVersionID())
	}
	for _, l := range m.VersionLog() {
		if l.VersionID < 3 {
			t.Errorf("log keeps expired version: %+v", m.VersionLog())
		}
	}
}

// Every failing replace leaves the view as it was and no file behind.
func TestReplaceViewErrors(t *testing.T) {
	t.Parallel()
	forEachViewBackend(t, func(t *testing.T, b string) {
		e := viewSetup(t, b, catalog.Options{MaxRetries: 3}, nil)
		ctx := context.Background()
		id := ident("ns", "v")
		created, m := e.mustCreateView(t, id, nil, "spark", "select 1")
		e.mustCreate(t, ident("ns", "t"), nil)
		good := replaceUpdates(otherSchemaJSON, "spark", "select 2")
		before := metadataFiles(t, e.dir)
		cases := []struct {
			name       string
			id         store.Ident
			reqs, upds string
			kind       errs.Kind
			prefix     string
		}{
			{"missing view", ident("ns", "nope"), "", good, errs.NoSuchView, "View does not exist: ns.nope"},
			{"missing namespace", ident("other", "v"), "", good, errs.NoSuchView, "View does not exist: other.v"},
			{"a table", ident("ns", "t"), "", good, errs.NoSuchView, "View does not exist: ns.t"},
			{"wrong uuid", id, `[{"type":"assert-view-uuid","uuid":"00000000-0000-0000-0000-000000000001"}]`, good, errs.CommitFailed, ""},
			{"table requirement", id, `[{"type":"assert-table-uuid","uuid":"` + m.ViewUUID().String() + `"}]`, good, errs.BadRequest, "Invalid requirements"},
			{"unknown action", id, "", `[{"action":"add-snapshot","snapshot":{}}]`, errs.BadRequest, "Invalid updates"},
			{"null update", id, "", `[null]`, errs.BadRequest, "Invalid updates"},
			{"updates not a list", id, "", `{"action":"set-properties"}`, errs.BadRequest, "Invalid updates"},
			{"add-schema without schema", id, "", `[{"action":"add-schema"}]`, errs.BadRequest, "Invalid updates: add-schema without schema"},
			{"add-view-version without version", id, "", `[{"action":"add-view-version"}]`, errs.BadRequest, "Invalid updates: add-view-version without view-version"},
			{"unknown current version", id, "", `[{"action":"set-current-view-version","view-version-id":42}]`, errs.BadRequest, ""},
			{"-1 without add", id, "", `[{"action":"set-current-view-version","view-version-id":-1}]`, errs.BadRequest, ""},
			{"version on unknown schema", id, "", `[{"action":"add-view-version","view-version":` + viewVersion(2, 9, "spark", "x") + `}]`, errs.BadRequest, ""},
			{"-1 schema without add-schema", id, "", `[{"action":"add-view-version","view-version":` + viewVersion(2, -1, "spark", "x") + `}]`, errs.BadRequest, ""},
			{"duplicate dialect", id, "", replaceUpdates(otherSchemaJSON, "spark", "a", "SPARK", "b"), errs.BadRequest, ""},
			{"dropping a dialect", id, "", replaceUpdates(otherSchemaJSON, "trino", "select 2"), errs.BadRequest, ""},
			{"reassign uuid", id, "", `[{"action":"assign-uuid","uuid":"00000000-0000-0000-0000-000000000001"}]`, errs.BadRequest, ""},
			{"format version 2", id, "", `[{"action":"upgrade-format-version","format-version":2}]`, errs.BadRequest, ""},
			{"empty location", id, "", `[{"action":"set-location","location":""}]`, errs.BadRequest, ""},
			{"history size 0", id, "", `[{"action":"set-properties","updates":{"version.history.num-entries":"0"}}]`, errs.BadRequest, ""},
		}
		for _, tc := range cases {
			_, err := e.replaceView(tc.id, tc.reqs, tc.upds)
			if err == nil {
				t.Fatalf("%s: committed", tc.name)
			}
			if !errs.Is(err, tc.kind) {
				t.Fatalf("%s: %v (kind %d), want kind %d", tc.name, err, errs.KindOf(err), tc.kind)
			}
			if tc.prefix != "" {
				wantMessage(t, err, tc.kind, tc.prefix)
			}
		}
		loaded, lm := e.loadView(t, id)
		if loaded.MetadataLocation != created.MetadataLocation || string(loaded.Metadata) != string(created.Metadata) || !lm.Equals(m) {
			t.Errorf("failed replaces changed the view: %s", loaded.MetadataLocation)
		}
		if after := metadataFiles(t, e.dir); !slices.Equal(before, after) {
			t.Errorf("failed replaces left files: %v", after)
		}
		if err := e.svc.TableExists(ctx, ident("ns", "t")); err != nil {
			t.Errorf("table after replace attempts: %v", err)
		}
	})
}

// raceStore runs hook (once) just before the next Commit, to let another
// commit win the race deterministically.
type raceStore struct {
	store.Store
	mu   sync.Mutex
	hook func()
}

func (r *raceStore) Commit(ctx context.Context, commits []store.Commit) error {
	r.mu.Lock()
	hook := r.hook
	r.hook = nil
	r.mu.Unlock()
	if hook != nil {
		hook()
	}
	return r.Store.Commit(ctx, commits)
}

func TestReplaceViewConcurrent(t *testing.T) {
	t.Parallel()
	forEachViewBackend(t, func(t *testing.T, b string) {
		for _, retries := range []int{0, 1} {
			t.Run(fmt.Sprintf("retries=%d", retries), func(t *testing.T) {
				var rs *raceStore
				e := viewSetup(t, b, catalog.Options{MaxRetries: retries}, func(st store.Store) store.Store {
					rs = &raceStore{Store: st}
					return rs
				})
				id := ident("ns", "v")
				_, base := e.mustCreateView(t, id, map[string]string{"replace.drop-dialect.allowed": "true"}, "trino", "select * from ns.tbl")

				// Both replaces are computed on version 1; the spark one
				// commits while the trino one is about to.
				// Another node wins: this node's commits of the view take
				// turns, so a second commit here would wait for this one.
				other := e.otherNode()
				rs.hook = func() {
					other.mustReplaceView(t, id, assertUUID(base), replaceUpdates(otherSchemaJSON, "spark", "select count(some_id) from ns.tbl"))
				}
				before := len(metadataFiles(t, e.dir))
				res, err := e.replaceView(id, assertUUID(base), `[{"action":"add-view-version","view-version":`+
					viewVersion(2, 0, "trino", "select count(id) from ns.tbl")+`},{"action":"set-current-view-version","view-version-id":-1}]`)
				_, m := e.loadView(t, id)
				if retries == 0 {
					wantKind(t, err, errs.CommitFailed)
					if m.CurrentVersionID() != 2 || len(m.Versions()) != 2 || m.CurrentVersion().Representations[0].Dialect != "spark" {
						t.Fatalf("winner not kept: current %d, %+v", m.CurrentVersionID(), m.CurrentVersion())
					}
					if n := len(metadataFiles(t, e.dir)); n != before+1 {
						t.Errorf("%d metadata files, want %d: the loser's file must be deleted", n, before+1)
					}
					return
				}
				// Retried on the winner's metadata: version 3 on schema 0.
				if err != nil {
					t.Fatalf("retried replace: %v", err)
				}
				if m.CurrentVersionID() != 3 || len(m.Versions()) != 3 || res.MetadataLocation == "" {
					t.Fatalf("current %d, %d versions", m.CurrentVersionID(), len(m.Versions()))
				}
				if v := m.CurrentVersion(); v.SchemaID != 0 || v.Representations[0].Sql != "select count(id) from ns.tbl" {
					t.Errorf("version 3 = %+v", v)
				}
				if !strings.Contains(res.MetadataLocation, "/00002-") {
					t.Errorf("metadata location %s", res.MetadataLocation)
				}
			})
		}
	})
}

// Real concurrency without retries: every replace either commits or fails
// with CommitFailed, and the committed ones are all in the history.
// (Replaces on one node take turns and group; on several nodes they race.)
func TestReplaceViewParallel(t *testing.T) {
	t.Parallel()
	forEachViewBackend(t, func(t *testing.T, b string) {
		e := viewSetup(t, b, catalog.Options{}, nil)
		id := ident("ns", "v")
		_, base := e.mustCreateView(t, id, nil, "spark", "select 0")
		const n = 6
		var wg sync.WaitGroup
		errCh := make(chan error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := e.replaceView(id, assertUUID(base), replaceUpdates(viewSchemaJSON, "spark", fmt.Sprintf("select %d", i+1)))
				errCh <- err
			}()
		}
		wg.Wait()
		close(errCh)
		won := 0
		for err := range errCh {
			switch {
			case err == nil:
				won++
			case !errs.Is(err, errs.CommitFailed):
				t.Errorf("concurrent replace: %v", err)
			}
		}
		_, m := e.loadView(t, id)
		if won == 0 || len(m.Versions()) != 1+won || len(m.VersionLog()) != 1+won {
			t.Errorf("%d replaces won, %d versions, log %d", won, len(m.Versions()), len(m.VersionLog()))
		}
		// Replaces that queue up on this node land together (group
		// commit): one file per group, at least one, at most one each.
		if got := len(metadataFiles(t, e.dir)); got < 2 || got > 1+won {
			t.Errorf("%d metadata files for %d replaces", got, won)
		}
	})
}

func TestRenameView(t *testing.T) {
	t.Parallel()
	forEachViewBackend(t, func(t *testing.T, b string) {
		e := viewSetup(t, b, catalog.Options{}, nil)
		ctx := context.Background()
		e.mustNamespace(t, "other_ns")
		from := ident("ns", "view")
		orig, _ := e.mustCreateView(t, from, nil)

		to := ident("ns", "renamedView")
		if err := e.svc.RenameView(ctx, from, to); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.ViewExists(ctx, from); !errs.Is(err, errs.NoSuchView) {
			t.Errorf("old name: %v", err)
		}
		if res, _ := e.loadView(t, to); res.MetadataLocation != orig.MetadataLocation || string(res.Metadata) != string(orig.Metadata) {
			t.Errorf("rename changed the metadata: %s", res.MetadataLocation)
		}
		across := ident("other_ns", "renamedView")
		if err := e.svc.RenameView(ctx, to, across); err != nil {
			t.Fatal(err)
		}
		if res, _ := e.loadView(t, across); res.MetadataLocation != orig.MetadataLocation {
			t.Errorf("rename across namespaces changed the metadata")
		}

		e.mustCreateView(t, ident("ns", "viewTwo"), nil)
		e.mustCreate(t, ident("ns", "table"), nil)
		err := e.svc.RenameView(ctx, across, ident("ns", "viewTwo"))
		wantMessage(t, err, errs.AlreadyExists, "Cannot rename other_ns.renamedView to ns.viewTwo. View already exists")
		err = e.svc.RenameView(ctx, across, ident("ns", "table"))
		wantMessage(t, err, errs.AlreadyExists, "Cannot rename other_ns.renamedView to ns.table. Table already exists")
		err = e.svc.RenameView(ctx, across, ident("non_existing", "renamedView"))
		wantMessage(t, err, errs.NoSuchNamespace, "Namespace does not exist: non_existing")
		err = e.svc.RenameView(ctx, ident("ns", "non_existing"), ident("ns", "x"))
		wantMessage(t, err, errs.NoSuchView, "View does not exist: ns.non_existing")
		// A table cannot be renamed as a view.
		err = e.svc.RenameView(ctx, ident("ns", "table"), ident("ns", "x"))
		wantKind(t, err, errs.NoSuchView)
		// Nothing moved.
		if _, err := e.svc.LoadView(ctx, across); err != nil {
			t.Errorf("view after failed renames: %v", err)
		}
		if err := e.svc.TableExists(ctx, ident("ns", "table")); err != nil {
			t.Errorf("table after failed renames: %v", err)
		}
		if err := e.svc.ViewExists(ctx, ident("ns", "x")); !errs.Is(err, errs.NoSuchView) {
			t.Errorf("x: %v", err)
		}
	})
}

func TestDropView(t *testing.T) {
	t.Parallel()
	forEachViewBackend(t, func(t *testing.T, b string) {
		e := viewSetup(t, b, catalog.Options{}, nil)
		ctx := context.Background()
		id := ident("ns", "v")
		_, m := e.mustCreateView(t, id, nil)
		e.mustCreate(t, ident("ns", "t"), nil)

		err := e.svc.DropNamespace(ctx, warehouse, []string{"ns"})
		wantKind(t, err, errs.NamespaceNotEmpty)
		if err := e.svc.DropView(ctx, ident("ns", "t")); !errs.Is(err, errs.NoSuchView) {
			t.Errorf("drop a table as a view: %v", err)
		}
		if err := e.svc.DropTable(ctx, ident("ns", "t"), false); err != nil {
			t.Fatal(err)
		}
		// Views alone keep the namespace from being dropped.
		wantKind(t, e.svc.DropNamespace(ctx, warehouse, []string{"ns"}), errs.NamespaceNotEmpty)

		if err := e.svc.DropView(ctx, id); err != nil {
			t.Fatal(err)
		}
		wantMessage(t, e.svc.DropView(ctx, id), errs.NoSuchView, "View does not exist: ns.v")
		wantMessage(t, e.svc.ViewExists(ctx, id), errs.NoSuchView, "View does not exist: ns.v")
		_, err = e.svc.LoadView(ctx, id)
		wantKind(t, err, errs.NoSuchView)
		_, err = e.replaceView(id, assertUUID(m), setProps("k", "v"))
		wantMessage(t, err, errs.NoSuchView, "View does not exist: ns.v")
		if err := e.svc.DropNamespace(ctx, warehouse, []string{"ns"}); err != nil {
			t.Errorf("drop the emptied namespace: %v", err)
		}
	})
}

func TestListViews(t *testing.T) {
	t.Parallel()
	forEachViewBackend(t, func(t *testing.T, b string) {
		e := viewSetup(t, b, catalog.Options{}, nil)
		ctx := context.Background()
		e.mustNamespace(t, "ns2")
		list := func(ns string, pg catalog.Page) ([]string, string) {
			t.Helper()
			ids, next, err := e.svc.ListViews(ctx, warehouse, strings.Split(ns, "."), pg)
			if err != nil {
				t.Fatalf("ListViews(%s): %v", ns, err)
			}
			var names []string
			for _, id := range ids {
				if id.NamespaceKey() != strings.Join(strings.Split(ns, "."), store.NamespaceSeparator) {
					t.Errorf("listed %s in %s", id, ns)
				}
				names = append(names, id.Name)
			}
			return names, next
		}
		if names, next := list("ns", catalog.Page{}); len(names) != 0 || next != "" {
			t.Fatalf("empty namespace: %v %q", names, next)
		}
		for _, n := range []string{"e", "c", "a", "d", "b"} {
			e.mustCreateView(t, ident("ns", n), nil)
		}
		e.mustCreateView(t, ident("ns2", "z"), nil)
		e.mustCreate(t, ident("ns", "table"), nil)
		if names, _ := list("ns", catalog.Page{}); !slices.Equal(names, []string{"a", "b", "c", "d", "e"}) {
			t.Errorf("all views: %v", names)
		}
		var all []string
		token := ""
		for pages := 0; ; pages++ {
			names, next := list("ns", catalog.Page{Token: token, Size: 2})
			all = append(all, names...)
			if next == "" {
				if pages != 2 {
					t.Errorf("%d pages, want 3", pages+1)
				}
				break
			}
			token = next
		}
		if !slices.Equal(all, []string{"a", "b", "c", "d", "e"}) {
			t.Errorf("paged views: %v", all)
		}
		if names, _ := list("ns2", catalog.Page{}); !slices.Equal(names, []string{"z"}) {
			t.Errorf("ns2: %v", names)
		}
		_, _, err := e.svc.ListViews(ctx, warehouse, []string{"missing"}, catalog.Page{})
		wantMessage(t, err, errs.NoSuchNamespace, "Namespace does not exist: missing")
		_, _, err = e.svc.ListViews(ctx, warehouse, []string{"ns"}, catalog.Page{Token: "!!"})
		wantKind(t, err, errs.BadRequest)
		tables, _, err := e.svc.ListTables(ctx, warehouse, []string{"ns"}, catalog.Page{})
		if err != nil || len(tables) != 1 || tables[0].Name != "table" {
			t.Errorf("tables: %v %v", tables, err)
		}
	})
}

func TestRegisterView(t *testing.T) {
	t.Parallel()
	forEachViewBackend(t, func(t *testing.T, b string) {
		e := viewSetup(t, b, catalog.Options{}, nil)
		ctx := context.Background()
		id := ident("ns", "v")
		_, m := e.mustCreateView(t, id, nil)
		res, _ := e.mustReplaceView(t, id, assertUUID(m), replaceUpdates(otherSchemaJSON, "spark", "select 2"))
		if err := e.svc.DropView(ctx, id); err != nil {
			t.Fatal(err)
		}
		tbl := e.mustCreate(t, ident("ns", "t"), nil)
		e.mustCreateView(t, ident("ns", "other"), nil)
		e.mustNamespace(t, "ns2")

		reg, err := e.svc.RegisterView(ctx, ident("ns", "registered"), res.MetadataLocation)
		if err != nil {
			t.Fatal(err)
		}
		loaded, lm := e.loadView(t, ident("ns", "registered"))
		if reg.MetadataLocation != res.MetadataLocation || loaded.MetadataLocation != res.MetadataLocation ||
			string(loaded.Metadata) != string(res.Metadata) || lm.CurrentVersionID() != 2 {
			t.Errorf("registered view = %s", loaded.MetadataLocation)
		}
		// A registered view can be replaced; the next file is version 2.
		res2, _ := e.mustReplaceView(t, ident("ns", "registered"), assertUUID(lm), setProps("k", "v"))
		if !strings.Contains(res2.MetadataLocation, "/00002-") {
			t.Errorf("after register: %s", res2.MetadataLocation)
		}

		cases := []struct {
			name   string
			id     store.Ident
			loc    string
			kind   errs.Kind
			prefix string
		}{
			{"onto a view", ident("ns", "other"), res.MetadataLocation, errs.AlreadyExists, "View already exists: ns.other"},
			{"onto a table", ident("ns", "t"), res.MetadataLocation, errs.AlreadyExists, "Table with same name already exists: ns.t"},
			{"missing namespace", ident("missing", "v"), res.MetadataLocation, errs.NoSuchNamespace, "Namespace does not exist: missing"},
			{"missing file", ident("ns", "x"), e.whLoc + "/ns/nope.metadata.json", errs.BadRequest, "Metadata file does not exist"},
			{"another namespace's file", ident("ns2", "x"), res.MetadataLocation, errs.BadRequest, "Cannot register"},
			{"a table's file", ident("ns", "x"), tbl.MetadataLocation, errs.BadRequest, "Not a valid Iceberg view metadata file"},
			{"no location", ident("ns", "x"), "", errs.BadRequest, "Metadata location must not be empty"},
		}
		for _, tc := range cases {
			_, err := e.svc.RegisterView(ctx, tc.id, tc.loc)
			if !errs.Is(err, tc.kind) {
				t.Fatalf("%s: %v, want kind %d", tc.name, err, tc.kind)
			}
			wantMessage(t, err, tc.kind, tc.prefix)
		}
		if err := e.svc.ViewExists(ctx, ident("ns", "x")); !errs.Is(err, errs.NoSuchView) {
			t.Errorf("failed register created a view: %v", err)
		}
		if err := e.svc.TableExists(ctx, ident("ns", "t")); err != nil {
			t.Errorf("table after register onto it: %v", err)
		}
	})
}

func TestLoadViewVerifiesMetadata(t *testing.T) {
	t.Parallel()
	e := viewSetup(t, "sqlite", catalog.Options{VerifyMetadataOnLoad: true}, nil)
	res, _ := e.mustCreateView(t, ident("ns", "v"), nil)
	e.loadView(t, ident("ns", "v"))
	if err := os.Remove(localPath(res.MetadataLocation)); err != nil {
		t.Fatal(err)
	}
	_, err := e.svc.LoadView(context.Background(), ident("ns", "v"))
	wantKind(t, err, errs.NotFound)
}

// TestTableOperationsOntoViewNames checks the table side of the shared name
// space with the wording Java clients check.
func TestTableOperationsOntoViewNames(t *testing.T) {
	t.Parallel()
	forEachViewBackend(t, func(t *testing.T, b string) {
		e := viewSetup(t, b, catalog.Options{}, nil)
		ctx := context.Background()
		e.mustCreateView(t, ident("ns", "v"), nil)
		e.mustCreate(t, ident("ns", "t"), nil)

		err := e.svc.RenameTable(ctx, ident("ns", "t"), ident("ns", "v"))
		wantMessage(t, err, errs.AlreadyExists, "Cannot rename ns.t to ns.v. View already exists")

		// The commit of a staged create onto a view's name.
		upds := `[{"action":"assign-uuid","uuid":"9c12d441-03fe-4693-9a96-a0705ddf69c1"},
			{"action":"upgrade-format-version","format-version":2},
			{"action":"add-schema","schema":{"type":"struct","schema-id":0,"fields":[{"id":1,"name":"x","type":"long","required":false}]}},
			{"action":"set-current-schema","schema-id":-1},
			{"action":"set-location","location":"file://` + e.dir + `/ns/staged"}]`
		_, err = e.commit(ident("ns", "v"), `[{"type":"assert-create"}]`, upds)
		wantMessage(t, err, errs.AlreadyExists, "View with same name already exists: ns.v")
		if err := e.svc.TableExists(ctx, ident("ns", "v")); !errs.Is(err, errs.NoSuchTable) {
			t.Fatalf("a table appeared under the view's name: %v", err)
		}
		if err := e.svc.TableExists(ctx, ident("ns", "t")); err != nil {
			t.Fatalf("the table moved: %v", err)
		}
	})
}
