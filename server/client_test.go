package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/rest"
	"github.com/apache/iceberg-go/table"

	"github.com/bingsan/bingsan/server/servertest"
)

// e2eRow is one row of the (id long, name string) test tables.
type e2eRow struct {
	ID   int64
	Name string
}

func (r e2eRow) String() string { return fmt.Sprintf("%d:%s", r.ID, r.Name) }

// e2eSchema is the schema every client test table starts with.
func e2eSchema() *iceberg.Schema {
	return iceberg.NewSchema(0,
		iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64, Required: true},
		iceberg.NestedField{ID: 2, Name: "name", Type: iceberg.PrimitiveTypes.String},
	)
}

// e2eArrowTable builds an Arrow table of rows in the table's current schema
// (columns the rows do not set stay null).
func e2eArrowTable(t testing.TB, sc *iceberg.Schema, rows []e2eRow) arrow.Table {
	t.Helper()
	as, err := table.SchemaToArrowSchema(sc, nil, false, false)
	if err != nil {
		t.Fatalf("arrow schema: %v", err)
	}
	objs := make([]map[string]any, len(rows))
	for i, r := range rows {
		objs[i] = map[string]any{"id": r.ID, "name": r.Name}
	}
	doc, err := json.Marshal(objs)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := array.TableFromJSON(memory.DefaultAllocator, as, []string{string(doc)})
	if err != nil {
		t.Fatalf("arrow table: %v", err)
	}
	return tbl
}

// e2eAppend appends rows to tbl as a Parquet file through iceberg-go and
// returns the committed table.
func e2eAppend(ctx context.Context, t testing.TB, tbl *table.Table, rows []e2eRow) (*table.Table, error) {
	t.Helper()
	at := e2eArrowTable(t, tbl.Schema(), rows)
	defer at.Release()
	return tbl.AppendTable(ctx, at, int64(len(rows)), nil)
}

// e2eScan reads every row of tbl's current snapshot, sorted by id.
func e2eScan(ctx context.Context, t testing.TB, tbl *table.Table) []e2eRow {
	t.Helper()
	at, err := tbl.Scan(table.WithSelectedFields("id", "name")).ToArrowTable(ctx)
	if err != nil {
		t.Fatalf("scan %v: %v", tbl.Identifier(), err)
	}
	defer at.Release()
	var rows []e2eRow
	tr := array.NewTableReader(at, 1024)
	defer tr.Release()
	for tr.Next() {
		rec := tr.RecordBatch()
		ids := rec.Column(rec.Schema().FieldIndices("id")[0]).(*array.Int64)
		names := rec.Column(rec.Schema().FieldIndices("name")[0]).(*array.String)
		for i := 0; i < int(rec.NumRows()); i++ {
			rows = append(rows, e2eRow{ID: ids.Value(i), Name: names.Value(i)})
		}
	}
	if err := tr.Err(); err != nil {
		t.Fatalf("reading scan of %v: %v", tbl.Identifier(), err)
	}
	slices.SortFunc(rows, func(a, b e2eRow) int { return int(a.ID - b.ID) })
	return rows
}

// e2eDataFiles lists the data files of tbl's current snapshot.
func e2eDataFiles(ctx context.Context, t testing.TB, tbl *table.Table) []string {
	t.Helper()
	tasks, err := tbl.Scan().PlanFiles(ctx)
	if err != nil {
		t.Fatalf("plan files of %v: %v", tbl.Identifier(), err)
	}
	var out []string
	for _, task := range tasks {
		out = append(out, task.File.FilePath())
	}
	slices.Sort(out)
	return out
}

// localPath turns a file:// location into a local path.
func localPath(t testing.TB, loc string) string {
	t.Helper()
	u, err := url.Parse(loc)
	if err != nil || (u.Scheme != "file" && u.Scheme != "") {
		t.Fatalf("not a local location: %q", loc)
	}
	return u.Path
}

// filesUnder lists the regular files below dir (none when dir is missing).
func filesUnder(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if !d.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walking %s: %v", dir, err)
	}
	return out
}

func newRESTClient(ctx context.Context, t testing.TB, uri string) *rest.Catalog {
	t.Helper()
	cat, err := rest.NewCatalog(ctx, "bingsan", uri)
	if err != nil {
		t.Fatalf("rest client for %s: %v", uri, err)
	}
	t.Cleanup(func() { _ = cat.Close() })
	return cat
}

func TestIcebergGoClientEndToEnd(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		srv := servertest.Start(t, b, servertest.Config{})
		cat := newRESTClient(ctx, t, srv.URL)
		warehouseDir := localPath(t, srv.Warehouse)

		ns := catalog.ToIdentifier("e2e")
		if err := cat.CreateNamespace(ctx, ns, iceberg.Properties{"owner": "client-test"}); err != nil {
			t.Fatalf("create namespace: %v", err)
		}
		if props, err := cat.LoadNamespaceProperties(ctx, ns); err != nil || props["owner"] != "client-test" {
			t.Fatalf("namespace properties: %v %v", props, err)
		}

		// Create.
		ident := catalog.ToIdentifier("e2e", "events")
		tbl, err := cat.CreateTable(ctx, ident, e2eSchema())
		if err != nil {
			t.Fatalf("create table: %v", err)
		}
		tableDir := localPath(t, tbl.Location())
		if !strings.HasPrefix(tableDir, warehouseDir+"/") {
			t.Fatalf("table location %s is not under the warehouse %s", tbl.Location(), srv.Warehouse)
		}
		if _, err := os.Stat(localPath(t, tbl.MetadataLocation())); err != nil {
			t.Fatalf("first metadata file: %v", err)
		}
		tableUUID := tbl.Metadata().TableUUID()

		// Two appends, each a Parquet file in the warehouse.
		first := []e2eRow{{1, "alpha"}, {2, "beta"}, {3, "gamma"}}
		second := []e2eRow{{4, "delta"}, {5, "epsilon"}}
		if tbl, err = e2eAppend(ctx, t, tbl, first); err != nil {
			t.Fatalf("first append: %v", err)
		}
		firstSnap := tbl.CurrentSnapshot()
		if tbl, err = e2eAppend(ctx, t, tbl, second); err != nil {
			t.Fatalf("second append: %v", err)
		}
		secondSnap := tbl.CurrentSnapshot()
		if firstSnap == nil || secondSnap == nil || secondSnap.ParentSnapshotID == nil || *secondSnap.ParentSnapshotID != firstSnap.SnapshotID {
			t.Fatalf("snapshots do not chain: first %+v second %+v", firstSnap, secondSnap)
		}

		// The server's view of the table matches what the client committed.
		loaded, err := cat.LoadTable(ctx, ident)
		if err != nil {
			t.Fatalf("load: %v", err)
		}
		if loaded.MetadataLocation() != tbl.MetadataLocation() || loaded.CurrentSnapshot() == nil ||
			loaded.CurrentSnapshot().SnapshotID != secondSnap.SnapshotID || len(loaded.Metadata().Snapshots()) != 2 {
			t.Fatalf("reload after appends: location %s (want %s), snapshots %d",
				loaded.MetadataLocation(), tbl.MetadataLocation(), len(loaded.Metadata().Snapshots()))
		}
		dataFiles := e2eDataFiles(ctx, t, loaded)
		if len(dataFiles) != 2 {
			t.Fatalf("data files %v, want 2", dataFiles)
		}
		for _, f := range dataFiles {
			p := localPath(t, f)
			if !strings.HasPrefix(p, tableDir+"/") || !strings.HasSuffix(p, ".parquet") {
				t.Errorf("data file %s is not a Parquet file under the table location %s", f, tableDir)
			}
			if fi, err := os.Stat(p); err != nil || fi.Size() == 0 {
				t.Errorf("data file %s: %v", f, err)
			}
		}
		want := append(append([]e2eRow{}, first...), second...)
		if got := e2eScan(ctx, t, loaded); !slices.Equal(got, want) {
			t.Fatalf("scan: %v, want %v", got, want)
		}

		// Schema evolution: add a column, then reload.
		tx := loaded.NewTransaction()
		if err := tx.UpdateSchema(true, false).
			AddColumn([]string{"score"}, iceberg.PrimitiveTypes.Float64, "added later", false, nil).Commit(); err != nil {
			t.Fatalf("update schema: %v", err)
		}
		if _, err := tx.Commit(ctx); err != nil {
			t.Fatalf("commit schema change: %v", err)
		}
		evolved, err := cat.LoadTable(ctx, ident)
		if err != nil {
			t.Fatalf("reload after schema change: %v", err)
		}
		sc := evolved.Schema()
		score, ok := sc.FindFieldByName("score")
		if !ok || score.ID != 3 || score.Required || !score.Type.Equals(iceberg.PrimitiveTypes.Float64) || sc.ID != 1 {
			t.Fatalf("evolved schema: %s", sc)
		}
		if len(evolved.Schemas()) != 2 || evolved.Metadata().LastColumnID() != 3 {
			t.Fatalf("schemas %d, last-column-id %d", len(evolved.Schemas()), evolved.Metadata().LastColumnID())
		}
		if got := e2eScan(ctx, t, evolved); !slices.Equal(got, want) {
			t.Fatalf("scan after schema change: %v, want %v", got, want)
		}

		// Rename within the namespace, then into another one.
		renamed := catalog.ToIdentifier("e2e", "events_v2")
		if _, err := cat.RenameTable(ctx, ident, renamed); err != nil {
			t.Fatalf("rename: %v", err)
		}
		if ok, err := cat.CheckTableExists(ctx, ident); err != nil || ok {
			t.Fatalf("old name still exists after rename: %v %v", ok, err)
		}
		otherNS := catalog.ToIdentifier("e2e_archive")
		if err := cat.CreateNamespace(ctx, otherNS, nil); err != nil {
			t.Fatalf("create second namespace: %v", err)
		}
		moved := catalog.ToIdentifier("e2e_archive", "events_2024")
		if _, err := cat.RenameTable(ctx, renamed, moved); err != nil {
			t.Fatalf("rename across namespaces: %v", err)
		}
		for _, gone := range []table.Identifier{ident, renamed} {
			if _, err := cat.LoadTable(ctx, gone); !errors.Is(err, catalog.ErrNoSuchTable) {
				t.Fatalf("load %v after rename: %v, want ErrNoSuchTable", gone, err)
			}
		}
		movedTbl, err := cat.LoadTable(ctx, moved)
		if err != nil {
			t.Fatalf("load renamed table: %v", err)
		}
		if movedTbl.Metadata().TableUUID() != tableUUID || movedTbl.MetadataLocation() != evolved.MetadataLocation() {
			t.Fatalf("rename changed the table: uuid %s (want %s), metadata %s (want %s)",
				movedTbl.Metadata().TableUUID(), tableUUID, movedTbl.MetadataLocation(), evolved.MetadataLocation())
		}
		if got := e2eScan(ctx, t, movedTbl); !slices.Equal(got, want) {
			t.Fatalf("scan after rename: %v, want %v", got, want)
		}
		var listed []table.Identifier
		for id, err := range cat.ListTables(ctx, otherNS) {
			if err != nil {
				t.Fatalf("list tables: %v", err)
			}
			listed = append(listed, id)
		}
		if len(listed) != 1 || !slices.Equal(listed[0], moved) {
			t.Fatalf("tables of %v: %v", otherNS, listed)
		}

		// Drop with purge; the purger deletes every file of the table.
		if len(filesUnder(t, tableDir)) == 0 {
			t.Fatal("no files under the table location before the purge")
		}
		if err := cat.PurgeTable(ctx, moved); err != nil {
			t.Fatalf("purge table: %v", err)
		}
		if ok, err := cat.CheckTableExists(ctx, moved); err != nil || ok {
			t.Fatalf("table exists after drop: %v %v", ok, err)
		}
		if err := cat.PurgeTable(ctx, moved); !errors.Is(err, catalog.ErrNoSuchTable) {
			t.Fatalf("second purge: %v, want ErrNoSuchTable", err)
		}
		done, err := srv.Catalog.PurgeOnce(ctx)
		if err != nil || done != 1 {
			t.Fatalf("PurgeOnce: done %d, err %v; want 1 job done", done, err)
		}
		if left := filesUnder(t, tableDir); len(left) != 0 {
			t.Fatalf("files left under %s after the purge: %v", tableDir, left)
		}
		if err := cat.DropNamespace(ctx, otherNS); err != nil {
			t.Fatalf("drop emptied namespace: %v", err)
		}

		t.Run("multi-table transaction", func(t *testing.T) {
			e2eMultiTable(ctx, t, srv, cat)
		})
	})
}

// e2eMultiTable commits to two tables at once through iceberg-go's
// MultiTableTransaction, then checks that a transaction in which one table's
// requirement fails changes neither table.
func e2eMultiTable(ctx context.Context, t *testing.T, srv *servertest.Instance, cat *rest.Catalog) {
	ns := catalog.ToIdentifier("e2e_txn")
	if err := cat.CreateNamespace(ctx, ns, nil); err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	ordersID := catalog.ToIdentifier("e2e_txn", "orders")
	stockID := catalog.ToIdentifier("e2e_txn", "stock")
	orders, err := cat.CreateTable(ctx, ordersID, e2eSchema())
	if err != nil {
		t.Fatal(err)
	}
	stock, err := cat.CreateTable(ctx, stockID, e2eSchema())
	if err != nil {
		t.Fatal(err)
	}

	mtx, err := catalog.NewMultiTableTransaction(cat)
	if err != nil {
		t.Fatalf("NewMultiTableTransaction: %v", err)
	}
	tx1 := orders.NewTransaction()
	at := e2eArrowTable(t, orders.Schema(), []e2eRow{{10, "order-10"}, {11, "order-11"}})
	defer at.Release()
	if err := tx1.AppendTable(ctx, at, 2, nil); err != nil {
		t.Fatalf("stage append: %v", err)
	}
	if err := tx1.SetProperties(iceberg.Properties{"pipeline": "run-1"}); err != nil {
		t.Fatal(err)
	}
	tx2 := stock.NewTransaction()
	if err := tx2.SetProperties(iceberg.Properties{"pipeline": "run-1"}); err != nil {
		t.Fatal(err)
	}
	if err := mtx.AddTransaction(tx1); err != nil {
		t.Fatal(err)
	}
	if err := mtx.AddTransaction(tx2); err != nil {
		t.Fatal(err)
	}
	reloaded, err := mtx.CommitAndReload(ctx)
	if err != nil {
		t.Fatalf("multi-table commit: %v", err)
	}
	if len(reloaded) != 2 {
		t.Fatalf("reloaded %d tables", len(reloaded))
	}
	orders, stock = reloaded[0], reloaded[1]
	if orders.Properties()["pipeline"] != "run-1" || stock.Properties()["pipeline"] != "run-1" {
		t.Fatalf("properties not committed: %v / %v", orders.Properties(), stock.Properties())
	}
	if got := e2eScan(ctx, t, orders); !slices.Equal(got, []e2eRow{{10, "order-10"}, {11, "order-11"}}) {
		t.Fatalf("orders after transaction: %v", got)
	}
	if stock.CurrentSnapshot() != nil {
		t.Fatalf("stock gained a snapshot")
	}

	// A stale transaction on orders (built on the metadata before the
	// commit above) fails its assert-ref-snapshot-id; the change to stock
	// in the same transaction must not be applied either.
	staleBase, err := cat.LoadTable(ctx, ordersID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e2eAppend(ctx, t, staleBase, []e2eRow{{12, "order-12"}}); err != nil {
		t.Fatalf("advancing orders: %v", err)
	}
	ordersNow, err := cat.LoadTable(ctx, ordersID)
	if err != nil {
		t.Fatal(err)
	}
	stockNow, err := cat.LoadTable(ctx, stockID)
	if err != nil {
		t.Fatal(err)
	}
	mtx2, err := catalog.NewMultiTableTransaction(cat)
	if err != nil {
		t.Fatal(err)
	}
	staleTx := staleBase.NewTransaction()
	at2 := e2eArrowTable(t, staleBase.Schema(), []e2eRow{{99, "lost"}})
	defer at2.Release()
	if err := staleTx.AppendTable(ctx, at2, 1, nil); err != nil {
		t.Fatal(err)
	}
	stockTx := stockNow.NewTransaction()
	if err := stockTx.SetProperties(iceberg.Properties{"pipeline": "run-2"}); err != nil {
		t.Fatal(err)
	}
	if err := mtx2.AddTransaction(stockTx); err != nil {
		t.Fatal(err)
	}
	if err := mtx2.AddTransaction(staleTx); err != nil {
		t.Fatal(err)
	}
	if err := mtx2.Commit(ctx); !errors.Is(err, table.ErrCommitFailed) {
		t.Fatalf("stale multi-table commit: %v, want ErrCommitFailed", err)
	}
	e2eUnchanged(ctx, t, cat, ordersNow, stockNow)

	// The same over raw HTTP: the first change is valid, the second
	// asserts a wrong table UUID.
	body := fmt.Sprintf(`{"table-changes":[
		{"identifier":{"namespace":["e2e_txn"],"name":"stock"},"requirements":[{"type":"assert-table-uuid","uuid":%q}],
		 "updates":[{"action":"set-properties","updates":{"pipeline":"run-3"}}]},
		{"identifier":{"namespace":["e2e_txn"],"name":"orders"},"requirements":[{"type":"assert-table-uuid","uuid":"00000000-0000-0000-0000-000000000001"}],
		 "updates":[{"action":"set-properties","updates":{"pipeline":"run-3"}}]}]}`, stockNow.Metadata().TableUUID())
	status, _, resp := call(t, "POST", srv.URL+"/v1/transactions/commit", "application/json", []byte(body))
	if status != 409 {
		t.Fatalf("transaction with a failing requirement: %d %s", status, resp)
	}
	if e := errorOf(t, status, resp); e.Type != "CommitFailedException" {
		t.Fatalf("error type %s: %s", e.Type, resp)
	}
	e2eUnchanged(ctx, t, cat, ordersNow, stockNow)

	// And a valid raw transaction does change both.
	body = strings.ReplaceAll(body, "00000000-0000-0000-0000-000000000001", ordersNow.Metadata().TableUUID().String())
	if status, _, resp := call(t, "POST", srv.URL+"/v1/transactions/commit", "application/json", []byte(body)); status != 204 {
		t.Fatalf("valid raw transaction: %d %s", status, resp)
	}
	for _, id := range []table.Identifier{ordersID, stockID} {
		tbl, err := cat.LoadTable(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if tbl.Properties()["pipeline"] != "run-3" {
			t.Fatalf("%v: pipeline=%q after a valid transaction", id, tbl.Properties()["pipeline"])
		}
	}
}

// e2eUnchanged checks that the tables still have the metadata they had.
func e2eUnchanged(ctx context.Context, t *testing.T, cat *rest.Catalog, before ...*table.Table) {
	t.Helper()
	for _, b := range before {
		now, err := cat.LoadTable(ctx, b.Identifier())
		if err != nil {
			t.Fatal(err)
		}
		if now.MetadataLocation() != b.MetadataLocation() || !now.Metadata().Equals(b.Metadata()) {
			t.Fatalf("%v changed by a failed transaction: %s -> %s (pipeline %q)", b.Identifier(),
				b.MetadataLocation(), now.MetadataLocation(), now.Properties()["pipeline"])
		}
	}
}
