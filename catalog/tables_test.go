package catalog_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bingsan/bingsan/catalog"
	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/store"
)

func TestCreateTable(t *testing.T) {
	t.Parallel()
	e := setup(t, catalog.Options{})
	ctx := context.Background()
	id := ident("ns", "t")
	res, err := e.svc.CreateTable(ctx, catalog.CreateTableInput{
		Ident: id, Schema: schemaOf(t, schemaJSON),
		PartitionSpec: specOf(t, specJSON), WriteOrder: orderOf(t, orderJSON),
	})
	if err != nil {
		t.Fatalf("CreateTable: %v", err)
	}
	m := parse(t, res.Metadata)

	// Fresh ids as the spec assigns them: columns from 1, partition fields
	// from 1000, schema 0, spec 0, sort order 1.
	sc := m.CurrentSchema()
	if sc.ID != 0 || m.LastColumnID() != 2 {
		t.Errorf("schema id %d, last column id %d; want 0, 2", sc.ID, m.LastColumnID())
	}
	if f, ok := sc.FindFieldByName("id"); !ok || f.ID != 1 {
		t.Errorf("field id = %+v, want id 1", f)
	}
	if f, ok := sc.FindFieldByName("data"); !ok || f.ID != 2 {
		t.Errorf("field data = %+v, want id 2", f)
	}
	spec := m.PartitionSpec()
	if spec.ID() != 0 || spec.NumFields() != 1 || spec.Field(0).FieldID != 1000 || spec.Field(0).SourceID() != 1 {
		t.Errorf("spec = %v, want spec 0 with field 1000 on source 1", spec)
	}
	if p := m.LastPartitionSpecID(); p == nil || *p != 1000 {
		t.Errorf("last partition id = %v, want 1000", p)
	}
	order := m.SortOrder()
	if order.OrderID() != 1 || order.Len() != 1 || order.Field(0).SourceID() != 2 {
		t.Errorf("sort order = %v, want order 1 on source 2", order)
	}

	// Default location: inside the warehouse, namespace then name, unique
	// per table.
	if !regexp.MustCompile(`^` + regexp.QuoteMeta(e.whLoc) + `/ns/t-[0-9a-f]{32}$`).MatchString(m.Location()) {
		t.Errorf("location = %s", m.Location())
	}
	if !strings.HasPrefix(res.MetadataLocation, m.Location()+"/metadata/00000-") || !strings.HasSuffix(res.MetadataLocation, ".metadata.json") {
		t.Errorf("metadata location = %s", res.MetadataLocation)
	}
	onDisk, err := os.ReadFile(localPath(res.MetadataLocation))
	if err != nil || string(onDisk) != string(res.Metadata) {
		t.Errorf("metadata file = %q, %v", onDisk, err)
	}
	if res.ETag == "" || !strings.HasPrefix(res.ETag, `"`) {
		t.Errorf("etag = %q", res.ETag)
	}
	loaded, _ := e.load(t, id)
	if loaded.MetadataLocation != res.MetadataLocation || loaded.ETag != res.ETag {
		t.Errorf("load = %s %s, want %s %s", loaded.MetadataLocation, loaded.ETag, res.MetadataLocation, res.ETag)
	}
}

func TestCreateTableProperties(t *testing.T) {
	t.Parallel()
	e := setup(t, catalog.Options{
		Defaults: map[string]string{
			"table-default.a": "default", "table-default.b": "default", "table-default.d": "default",
			"clients-only": "x",
		},
		Overrides: map[string]string{"table-override.b": "override", "table-override.c": "override", "other": "y"},
	})
	res := e.mustCreate(t, ident("ns", "t"), map[string]string{"a": "request", "b": "request", "format-version": "1"})
	m := parse(t, res.Metadata)
	want := map[string]string{"a": "request", "b": "override", "c": "override", "d": "default"}
	for k, v := range want {
		if got := m.Properties()[k]; got != v {
			t.Errorf("property %s = %q, want %q", k, got, v)
		}
	}
	for _, k := range []string{"clients-only", "other", "table-default.a", "table-override.b"} {
		if _, ok := m.Properties()[k]; ok {
			t.Errorf("property %s should not be set", k)
		}
	}
	if m.Version() != 1 {
		t.Errorf("format version = %d, want 1", m.Version())
	}
}

func TestCreateTableExplicitLocation(t *testing.T) {
	t.Parallel()
	e := setup(t, catalog.Options{ExternalLocations: map[string]bool{warehouse: true}})
	loc := "file://" + filepath.ToSlash(filepath.Join(t.TempDir(), "custom"))
	res, err := e.svc.CreateTable(context.Background(), catalog.CreateTableInput{
		Ident: ident("ns", "t"), Location: loc + "/", Schema: schemaOf(t, schemaJSON),
	})
	if err != nil {
		t.Fatal(err)
	}
	if m := parse(t, res.Metadata); m.Location() != loc {
		t.Errorf("location = %s, want %s", m.Location(), loc)
	}
	if !strings.HasPrefix(res.MetadataLocation, loc+"/metadata/00000-") || !fileExists(res.MetadataLocation) {
		t.Errorf("metadata location = %s", res.MetadataLocation)
	}
}

func TestStageCreateWritesNothing(t *testing.T) {
	t.Parallel()
	e := setup(t, catalog.Options{})
	ctx := context.Background()
	id := ident("ns", "t")
	res, err := e.svc.CreateTable(ctx, catalog.CreateTableInput{Ident: id, Schema: schemaOf(t, schemaJSON), StageCreate: true})
	if err != nil {
		t.Fatalf("stage create: %v", err)
	}
	if res.MetadataLocation != "" || res.ETag != "" {
		t.Errorf("staged result has location %q etag %q", res.MetadataLocation, res.ETag)
	}
	if m := parse(t, res.Metadata); m.CurrentSchema().NumFields() != 2 {
		t.Errorf("staged metadata schema = %v", m.CurrentSchema())
	}
	if files := metadataFiles(t, e.dir); len(files) != 0 {
		t.Errorf("stage create wrote %v", files)
	}
	wantKind(t, e.svc.TableExists(ctx, id), errs.NoSuchTable)
	// Staging a name that is taken fails up front.
	e.mustCreate(t, id, nil)
	_, err = e.svc.CreateTable(ctx, catalog.CreateTableInput{Ident: id, Schema: schemaOf(t, schemaJSON), StageCreate: true})
	wantKind(t, err, errs.AlreadyExists)
	_, err = e.svc.CreateTable(ctx, catalog.CreateTableInput{Ident: ident("nope", "t"), Schema: schemaOf(t, schemaJSON), StageCreate: true})
	wantKind(t, err, errs.NoSuchNamespace)
}

func TestCreateTableErrors(t *testing.T) {
	t.Parallel()
	e := setup(t, catalog.Options{})
	ctx := context.Background()
	e.mustCreate(t, ident("ns", "exists"), nil)
	tests := []struct {
		name         string
		in           catalog.CreateTableInput
		schema, spec string // JSON, decoded as the server does
		kind         errs.Kind
		msg          string
	}{
		{name: "exists", in: catalog.CreateTableInput{Ident: ident("ns", "exists")}, kind: errs.AlreadyExists, msg: "Table already exists: ns.exists"},
		{name: "no namespace", in: catalog.CreateTableInput{Ident: ident("missing", "t")}, kind: errs.NoSuchNamespace, msg: "Namespace does not exist: missing"},
		{name: "empty level", in: catalog.CreateTableInput{Ident: store.Ident{Warehouse: warehouse, Namespace: []string{"ns", ""}, Name: "t"}}, kind: errs.BadRequest},
		{name: "unit separator", in: catalog.CreateTableInput{Ident: store.Ident{Warehouse: warehouse, Namespace: []string{"a\x1fb"}, Name: "t"}}, kind: errs.BadRequest},
		{name: "no namespace levels", in: catalog.CreateTableInput{Ident: store.Ident{Warehouse: warehouse, Name: "t"}}, kind: errs.BadRequest},
		{name: "empty name", in: catalog.CreateTableInput{Ident: ident("ns", "")}, kind: errs.BadRequest},
		{name: "unknown warehouse", in: catalog.CreateTableInput{Ident: store.Ident{Warehouse: "nope", Namespace: []string{"ns"}, Name: "t"}}, kind: errs.NoSuchWarehouse},
		{name: "bad schema", in: catalog.CreateTableInput{Ident: ident("ns", "t")}, schema: `{"type":"struct","fields":[{"id":1,"name":"x","type":"nope"}]}`, kind: errs.BadRequest},
		{name: "no schema", in: catalog.CreateTableInput{Ident: ident("ns", "t")}, schema: `null`, kind: errs.BadRequest},
		{name: "bad spec", in: catalog.CreateTableInput{Ident: ident("ns", "t")}, spec: `{"fields":[{"source-id":99,"name":"x","transform":"identity"}]}`, kind: errs.BadRequest},
		{name: "reserved property", in: catalog.CreateTableInput{Ident: ident("ns", "t"), Properties: map[string]string{"current-snapshot-id": "1"}}, kind: errs.BadRequest},
		{name: "relative location", in: catalog.CreateTableInput{Ident: ident("ns", "t"), Location: "rel/dir"}, kind: errs.BadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			schema := tt.schema
			if schema == "" {
				schema = schemaJSON
			}
			// Decoded as the server does: a malformed part fails there.
			var err error
			if in.Schema, err = catalog.ParseSchema(json.RawMessage(schema)); err == nil && tt.spec != "" {
				in.PartitionSpec, err = catalog.ParsePartitionSpec(json.RawMessage(tt.spec))
			}
			if err == nil {
				_, err = e.svc.CreateTable(ctx, in)
			}
			wantKind(t, err, tt.kind)
			if tt.msg != "" && err.Error() != tt.msg {
				t.Errorf("message = %q, want %q", err.Error(), tt.msg)
			}
		})
	}
	// Only the existing table's file is left: failed creates removed theirs.
	if files := metadataFiles(t, e.dir); len(files) != 1 {
		t.Errorf("metadata files = %v, want one", files)
	}
}

func TestLoadTableSnapshotsModes(t *testing.T) {
	t.Parallel()
	e := setup(t, catalog.Options{})
	id := ident("ns", "t")
	loc := parse(t, e.mustCreate(t, id, nil).Metadata).Location()
	const big = int64(9007199254740993) // 2^53+1: not representable as float64
	e.mustCommit(t, id, `[]`, snapshotUpdates(loc, big, 0, 1, "main"))
	e.mustCommit(t, id, `[]`, snapshotUpdates(loc, 2, big, 2, "main"))
	e.mustCommit(t, id, `[]`, snapshotUpdates(loc, 3, 2, 3, "main"))
	e.mustCommit(t, id, `[]`, `[{"action":"set-snapshot-ref","ref-name":"tag1","type":"tag","snapshot-id":9007199254740993}]`)

	ctx := context.Background()
	all, err := e.svc.LoadTable(ctx, id, "all")
	if err != nil {
		t.Fatal(err)
	}
	def, err := e.svc.LoadTable(ctx, id, "")
	if err != nil {
		t.Fatal(err)
	}
	refs, err := e.svc.LoadTable(ctx, id, "refs")
	if err != nil {
		t.Fatal(err)
	}
	if string(all.Metadata) != string(def.Metadata) || all.ETag != def.ETag {
		t.Errorf("all and default differ")
	}
	if refs.ETag == all.ETag || refs.MetadataLocation != all.MetadataLocation {
		t.Errorf("refs etag %s, all etag %s", refs.ETag, all.ETag)
	}
	snapIDs := func(doc []byte) []int64 {
		var ids []int64
		for _, s := range parse(t, doc).Snapshots() {
			ids = append(ids, s.SnapshotID)
		}
		return ids
	}
	if got := snapIDs(all.Metadata); len(got) != 3 {
		t.Errorf("all snapshots = %v", got)
	}
	got := snapIDs(refs.Metadata)
	if len(got) != 2 || got[0] != big || got[1] != 3 {
		t.Errorf("refs snapshots = %v, want [%d 3]", got, big)
	}
	if !strings.Contains(string(refs.Metadata), "9007199254740993") {
		t.Errorf("refs metadata lost the exact snapshot id")
	}
	m := parse(t, refs.Metadata)
	if len(m.Schemas()) == 0 || m.CurrentSnapshot().SnapshotID != 3 {
		t.Errorf("refs metadata current snapshot = %v", m.CurrentSnapshot())
	}
	if _, err := e.svc.LoadTable(ctx, id, "bogus"); !errs.Is(err, errs.BadRequest) {
		t.Errorf("bogus mode: %v", err)
	}
	if _, err := e.svc.LoadTable(ctx, ident("ns", "missing"), ""); !errs.Is(err, errs.NoSuchTable) || err.Error() != "Table does not exist: ns.missing" {
		t.Errorf("missing table: %v", err)
	}
	if _, err := e.svc.LoadTable(ctx, ident("nons", "missing"), ""); !errs.Is(err, errs.NoSuchTable) {
		t.Errorf("missing namespace: want NoSuchTable, got %v", err)
	}
}

func TestLoadTableVerifiesMetadataFile(t *testing.T) {
	t.Parallel()
	e := setup(t, catalog.Options{VerifyMetadataOnLoad: true})
	id := ident("ns", "t")
	res := e.mustCreate(t, id, nil)
	e.load(t, id)
	if err := os.Remove(localPath(res.MetadataLocation)); err != nil {
		t.Fatal(err)
	}
	_, err := e.svc.LoadTable(context.Background(), id, "")
	wantKind(t, err, errs.NotFound)
}

// A successful check is trusted for VerifiedFor, on the options' clock;
// after that a deleted file is noticed again.
func TestLoadTableTrustsACheckForVerifiedFor(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	e := setup(t, catalog.Options{VerifyMetadataOnLoad: true, VerifiedFor: time.Second, Now: clock})
	id := ident("ns", "t")
	res := e.mustCreate(t, id, nil)
	e.load(t, id) // checks the file and trusts it until now+1s
	if err := os.Remove(localPath(res.MetadataLocation)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.LoadTable(context.Background(), id, ""); err != nil {
		t.Fatalf("load within the interval: %v", err)
	}
	mu.Lock()
	now = now.Add(time.Second)
	mu.Unlock()
	_, err := e.svc.LoadTable(context.Background(), id, "")
	wantKind(t, err, errs.NotFound)
}

func TestRegisterTable(t *testing.T) {
	t.Parallel()
	e := setup(t, catalog.Options{})
	ctx := context.Background()
	src := ident("ns", "src")
	created := e.mustCreate(t, src, nil)
	e.mustCommit(t, src, `[]`, setProps("k", "v"))
	srcRes, srcMeta := e.load(t, src)
	if err := e.svc.DropTable(ctx, src, false); err != nil {
		t.Fatal(err)
	}
	notIceberg := filepath.Join(t.TempDir(), "x.metadata.json")
	if err := os.WriteFile(notIceberg, []byte(`{"hello":"world"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	e.mustCreate(t, ident("ns", "taken"), nil)
	notIcebergInNs := strings.Replace(srcRes.MetadataLocation, ".metadata.json", ".other.json", 1)
	if err := os.WriteFile(localPath(notIcebergInNs), []byte(`{"hello":"world"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	spare := func(name string) string { // the last file of a dropped table
		res := e.mustCreate(t, ident("ns", name), nil)
		if err := e.svc.DropTable(ctx, ident("ns", name), false); err != nil {
			t.Fatal(err)
		}
		return res.MetadataLocation
	}

	tests := []struct {
		name      string
		id        store.Ident
		loc       string
		overwrite bool
		kind      errs.Kind // 0: success
	}{
		{name: "good file", id: ident("ns", "registered"), loc: srcRes.MetadataLocation},
		// The table is live (as ns.registered): a second entry for it, even
		// of an older version, would share its files.
		{name: "older file of a live table", id: ident("ns", "older"), loc: created.MetadataLocation, kind: errs.AlreadyExists},
		{name: "not iceberg", id: ident("ns", "bad"), loc: notIcebergInNs, kind: errs.BadRequest},
		{name: "file of another namespace", id: ident("ns", "bad"), loc: notIceberg, kind: errs.BadRequest},
		{name: "missing file", id: ident("ns", "bad"), loc: srcRes.MetadataLocation + ".nope", kind: errs.BadRequest},
		{name: "existing name", id: ident("ns", "taken"), loc: srcRes.MetadataLocation, kind: errs.AlreadyExists},
		{name: "missing namespace", id: ident("nons", "t"), loc: srcRes.MetadataLocation, kind: errs.NoSuchNamespace},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := e.svc.RegisterTable(ctx, tt.id, tt.loc, tt.overwrite)
			if tt.kind != 0 {
				wantKind(t, err, tt.kind)
				return
			}
			if err != nil {
				t.Fatalf("RegisterTable: %v", err)
			}
			loaded, m := e.load(t, tt.id)
			if loaded.MetadataLocation != tt.loc || res.MetadataLocation != tt.loc {
				t.Errorf("metadata location = %s, want %s", loaded.MetadataLocation, tt.loc)
			}
			if m.TableUUID() != srcMeta.TableUUID() && tt.loc == srcRes.MetadataLocation {
				t.Errorf("uuid = %s, want %s", m.TableUUID(), srcMeta.TableUUID())
			}
		})
	}

	// A registered table takes commits; the version continues from the file name.
	next := e.mustCommit(t, ident("ns", "registered"), `[]`, setProps("k2", "v2"))
	if !strings.Contains(next.MetadataLocation, "/metadata/00002-") {
		t.Errorf("next metadata location = %s", next.MetadataLocation)
	}

	// Overwrite points an existing table at another file.
	other := spare("spare")
	res, err := e.svc.RegisterTable(ctx, ident("ns", "taken"), other, true)
	if err != nil {
		t.Fatalf("overwrite: %v", err)
	}
	if loaded, _ := e.load(t, ident("ns", "taken")); loaded.MetadataLocation != other || res.ETag != loaded.ETag {
		t.Errorf("after overwrite: %s", loaded.MetadataLocation)
	}
	if _, err := e.svc.RegisterTable(ctx, ident("ns", "fresh"), spare("spare2"), true); err != nil {
		t.Errorf("overwrite of a missing table: %v", err)
	}
	// Not onto a live table's files, overwrite or not.
	_, err = e.svc.RegisterTable(ctx, ident("ns", "fresh"), srcRes.MetadataLocation, true)
	wantKind(t, err, errs.AlreadyExists)
}

func TestRenameTable(t *testing.T) {
	t.Parallel()
	e := setup(t, catalog.Options{})
	ctx := context.Background()
	e.mustNamespace(t, "other")
	e.mustCreate(t, ident("ns", "a"), nil)
	e.mustCreate(t, ident("ns", "b"), nil)
	tests := []struct {
		name     string
		from, to store.Ident
		kind     errs.Kind
	}{
		{name: "missing source", from: ident("ns", "nope"), to: ident("ns", "x"), kind: errs.NoSuchTable},
		{name: "missing target namespace", from: ident("ns", "a"), to: ident("nons", "x"), kind: errs.NoSuchNamespace},
		{name: "target exists", from: ident("ns", "a"), to: ident("ns", "b"), kind: errs.AlreadyExists},
		{name: "across namespaces", from: ident("ns", "a"), to: ident("other", "c")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := e.svc.RenameTable(ctx, tt.from, tt.to)
			if tt.kind != 0 {
				wantKind(t, err, tt.kind)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			wantKind(t, e.svc.TableExists(ctx, tt.from), errs.NoSuchTable)
			e.load(t, tt.to)
			e.mustCommit(t, tt.to, `[]`, setProps("after", "rename"))
		})
	}
	if err := e.svc.DropTable(ctx, ident("other", "c"), false); err != nil {
		t.Fatal(err)
	}
	wantKind(t, e.svc.TableExists(ctx, ident("other", "c")), errs.NoSuchTable)
	wantKind(t, e.svc.DropTable(ctx, ident("other", "c"), false), errs.NoSuchTable)
}

func TestListTables(t *testing.T) {
	t.Parallel()
	e := setup(t, catalog.Options{})
	ctx := context.Background()
	for _, n := range []string{"e", "a", "d", "b", "c"} {
		e.mustCreate(t, ident("ns", n), nil)
	}
	var got []string
	token := ""
	pages := 0
	for {
		ids, next, err := e.svc.ListTables(ctx, warehouse, []string{"ns"}, catalog.Page{Token: token, Size: 2})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, id := range ids {
			got = append(got, id.Name)
		}
		if next == "" {
			break
		}
		token = next
	}
	if strings.Join(got, ",") != "a,b,c,d,e" || pages != 3 {
		t.Errorf("got %v in %d pages", got, pages)
	}
	all, next, err := e.svc.ListTables(ctx, warehouse, []string{"ns"}, catalog.Page{})
	if err != nil || len(all) != 5 || next != "" {
		t.Errorf("unpaged = %v %q %v", all, next, err)
	}
	_, _, err = e.svc.ListTables(ctx, warehouse, []string{"nope"}, catalog.Page{})
	wantKind(t, err, errs.NoSuchNamespace)
	_, _, err = e.svc.ListTables(ctx, warehouse, []string{"ns"}, catalog.Page{Token: "!!not base64"})
	wantKind(t, err, errs.BadRequest)
}

func TestCompressedMetadataFiles(t *testing.T) {
	t.Parallel()
	e := setup(t, catalog.Options{})
	ctx := context.Background()
	id := ident("ns", "gz")
	res := e.mustCreate(t, id, map[string]string{"write.metadata.compression-codec": "gzip"})
	if !strings.HasSuffix(res.MetadataLocation, ".gz.metadata.json") {
		t.Errorf("metadata location = %s", res.MetadataLocation)
	}
	raw, err := os.ReadFile(localPath(res.MetadataLocation))
	if err != nil || len(raw) < 2 || raw[0] != 0x1f || raw[1] != 0x8b {
		t.Fatalf("file is not gzip: %v", err)
	}
	next := e.mustCommit(t, id, `[]`, setProps("a", "b"))
	if !strings.Contains(next.MetadataLocation, "/metadata/00001-") || !strings.HasSuffix(next.MetadataLocation, ".gz.metadata.json") {
		t.Errorf("next metadata location = %s", next.MetadataLocation)
	}
	// The database serves plain JSON; registering reads the gzip file.
	if err := e.svc.DropTable(ctx, id, false); err != nil {
		t.Fatal(err)
	}
	reg, err := e.svc.RegisterTable(ctx, ident("ns", "copy"), next.MetadataLocation, false)
	if err != nil {
		t.Fatalf("RegisterTable: %v", err)
	}
	if m := parse(t, reg.Metadata); m.Properties()["a"] != "b" {
		t.Errorf("registered properties = %v", m.Properties())
	}
}

// A node remembers where namespaces are for its creates; when another node
// dropped the namespace and created it again elsewhere, a create lands in
// the new location (not the remembered one) and leaves no file in the old,
// with an explicit location inside the new one too.
func TestCreateTableAfterNamespaceMovedOnAnotherNode(t *testing.T) {
	t.Parallel()
	e := setup(t, catalog.Options{})
	ctx := context.Background()
	other := e.otherNode()
	e.mustCreate(t, ident("ns", "first"), nil) // remembers ns's location
	if err := other.svc.DropTable(ctx, ident("ns", "first"), false); err != nil {
		t.Fatal(err)
	}
	if err := other.svc.DropNamespace(ctx, warehouse, []string{"ns"}); err != nil {
		t.Fatal(err)
	}
	moved := e.whLoc + "/moved-ns"
	if _, err := other.svc.CreateNamespace(ctx, warehouse, store.Namespace{Levels: []string{"ns"},
		Properties: map[string]string{"location": moved}}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, location string }{{"t", ""}, {"explicit", moved + "/explicit"}} {
		res, err := e.svc.CreateTable(ctx, catalog.CreateTableInput{Ident: ident("ns", tc.name), Location: tc.location, Schema: schemaOf(t, schemaJSON)})
		if err != nil {
			t.Fatalf("create %s after the move: %v", tc.name, err)
		}
		if !strings.HasPrefix(res.MetadataLocation, moved+"/") {
			t.Fatalf("%s placed at %s, outside the namespace's new location %s", tc.name, res.MetadataLocation, moved)
		}
	}
	// The dropped table's files stay (no purge); nothing else is there.
	entries, err := os.ReadDir(filepath.Join(e.dir, "ns"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range entries {
		if !strings.HasPrefix(d.Name(), "first") {
			t.Errorf("a create left %s in the namespace's old location", d.Name())
		}
	}
}
