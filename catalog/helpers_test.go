package catalog_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/bingsan/bingsan/catalog"
	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/store/migrate"
	"github.com/bingsan/bingsan/store/sqlite"
	"github.com/bingsan/bingsan/vend"
)

const warehouse = "wh"

// env is what a test works with: a Service on a fresh SQLite store and a
// warehouse in a temporary directory.
type env struct {
	svc   *catalog.Service
	st    store.Store
	dir   string // the warehouse directory
	whLoc string // its file:// URI
	opts  catalog.Options
}

// otherNode is another node of the catalog: a service of its own (its own
// commit locks and queues) on the same store and storage.
func (e *env) otherNode() *env {
	other := *e
	other.svc = catalog.New(e.st, vend.NewLocal(), e.opts)
	return &other
}

// setup returns an env; opts' Warehouses is filled in, and zero retry
// settings get values suited to tests.
func setup(t *testing.T, opts catalog.Options) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "catalog.db"), sqlite.Options{})
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
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
	e := &env{svc: catalog.New(st, vend.NewLocal(), opts), st: st, dir: dir, whLoc: whLoc, opts: opts}
	e.mustNamespace(t, "ns")
	return e
}

func ident(ns, name string) store.Ident {
	return store.Ident{Warehouse: warehouse, Namespace: strings.Split(ns, "."), Name: name}
}

func (e *env) mustNamespace(t *testing.T, levels ...string) {
	t.Helper()
	if _, err := e.svc.CreateNamespace(context.Background(), warehouse, store.Namespace{Levels: levels}); err != nil {
		t.Fatalf("CreateNamespace(%v): %v", levels, err)
	}
}

// Request schema with placeholder ids (10, 20): the catalog must assign 1, 2.
const schemaJSON = `{"type":"struct","schema-id":7,"fields":[
	{"id":10,"name":"id","type":"long","required":true},
	{"id":20,"name":"data","type":"string","required":false}]}`

const specJSON = `{"spec-id":3,"fields":[{"source-id":10,"field-id":1234,"name":"id_bucket","transform":"bucket[16]"}]}`

const orderJSON = `{"order-id":5,"fields":[{"source-id":20,"transform":"identity","direction":"asc","null-order":"nulls-first"}]}`

// schemaOf, specOf, orderOf and viewVersionOf decode a create request's
// parts as the server does.
func schemaOf(t testing.TB, s string) *iceberg.Schema {
	t.Helper()
	sc, err := catalog.ParseSchema(json.RawMessage(s))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func specOf(t testing.TB, s string) *iceberg.PartitionSpec {
	t.Helper()
	sp, err := catalog.ParsePartitionSpec(json.RawMessage(s))
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

func orderOf(t testing.TB, s string) table.SortOrder {
	t.Helper()
	o, err := catalog.ParseSortOrder(json.RawMessage(s))
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func (e *env) mustCreate(t *testing.T, id store.Ident, props map[string]string) catalog.TableResult {
	t.Helper()
	res, err := e.svc.CreateTable(context.Background(), catalog.CreateTableInput{
		Ident: id, Schema: schemaOf(t, schemaJSON), Properties: props,
	})
	if err != nil {
		t.Fatalf("CreateTable(%s): %v", id, err)
	}
	return res
}

// commit decodes a commit as the server does and commits it.
func (e *env) commit(id store.Ident, reqs, upds string) (catalog.TableResult, error) {
	c, err := catalog.ParseTableChange(id, json.RawMessage(reqs), json.RawMessage(upds))
	if err != nil {
		return catalog.TableResult{}, err
	}
	return e.svc.CommitTable(context.Background(), c)
}

func (e *env) mustCommit(t *testing.T, id store.Ident, reqs, upds string) catalog.TableResult {
	t.Helper()
	res, err := e.commit(id, reqs, upds)
	if err != nil {
		t.Fatalf("CommitTable(%s): %v", id, err)
	}
	return res
}

func (e *env) load(t *testing.T, id store.Ident) (catalog.TableResult, table.Metadata) {
	t.Helper()
	res, err := e.svc.LoadTable(context.Background(), id, "")
	if err != nil {
		t.Fatalf("LoadTable(%s): %v", id, err)
	}
	return res, parse(t, res.Metadata)
}

func parse(t *testing.T, doc []byte) table.Metadata {
	t.Helper()
	m, err := table.ParseMetadataBytes(doc)
	if err != nil {
		t.Fatalf("ParseMetadataBytes: %v\n%s", err, doc)
	}
	return m
}

// metadataFiles lists the *.metadata.json files below dir.
func metadataFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".metadata.json") {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walking %s: %v", dir, err)
	}
	return out
}

// localPath turns a file:// location into a path.
func localPath(loc string) string { return strings.TrimPrefix(loc, "file://") }

func fileExists(p string) bool {
	_, err := os.Stat(localPath(p))
	return err == nil
}

func wantKind(t *testing.T, err error, kind errs.Kind) {
	t.Helper()
	if !errs.Is(err, kind) {
		t.Fatalf("want error kind %d, got %v (kind %d)", kind, err, errs.KindOf(err))
	}
}

func setProps(kv ...string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	b, _ := json.Marshal(m)
	return fmt.Sprintf(`[{"action":"set-properties","updates":%s}]`, b)
}

// snapshotUpdates adds snapshot id (child of parent, 0: none) with sequence
// number seq and points ref at it.
func snapshotUpdates(loc string, id, parent, seq int64, ref string) string {
	parentField := ""
	if parent != 0 {
		parentField = fmt.Sprintf(`"parent-snapshot-id":%d,`, parent)
	}
	return fmt.Sprintf(`[
		{"action":"add-snapshot","snapshot":{"snapshot-id":%d,%s"sequence-number":%d,"timestamp-ms":%d,
			"manifest-list":"%s/metadata/snap-%d.avro","summary":{"operation":"append"},"schema-id":0}},
		{"action":"set-snapshot-ref","ref-name":%q,"type":"branch","snapshot-id":%d}]`,
		id, parentField, seq, time.Now().UnixMilli(), loc, id, ref, id)
}
