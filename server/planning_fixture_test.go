package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
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

	"github.com/bingsan/bingsan/internal/s3test"
	"github.com/bingsan/bingsan/server/servertest"
	"github.com/bingsan/bingsan/vend"
)

// A table for planning tests, built through the catalog with iceberg-go:
// appends, a branch and a tag, merge-on-read deletes (position delete
// files), equality deletes, schema evolution (a renamed and an added
// column), partition evolution, an overwrite, and rows with nulls.

// planEnv is a server and an iceberg-go REST client of it, on one store
// and either the local default warehouse or an S3 one.
type planEnv struct {
	srv  *servertest.Instance
	cat  *rest.Catalog
	base string // URL + /v1 or /v1/lake
	s3   bool
}

func newPlanEnv(ctx context.Context, t *testing.T, b servertest.Backend, onS3 bool, cfg servertest.Config) *planEnv {
	t.Helper()
	e := &planEnv{s3: onS3}
	var opts []rest.Option
	if onS3 {
		srv, bucket := s3test.NewBucket(t)
		prof := vend.Profile{S3: srv.Profile(), VendedCredentials: true, CredentialDuration: time.Hour}
		cfg.Storage = append(cfg.Storage, vend.Warehouse{Name: "lake", Location: "s3://" + bucket + "/lake", Profile: prof})
		opts = append(opts, rest.WithWarehouseLocation("lake"))
	}
	e.srv = servertest.Start(t, b, cfg)
	e.base = e.srv.URL + "/v1"
	if onS3 {
		e.base += "/lake"
	}
	cat, err := rest.NewCatalog(ctx, "bingsan", e.srv.URL, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cat.Close() })
	e.cat = cat
	return e
}

// planRow is a row of the fixture table.
type planRow struct {
	ID       int64
	Name     *string // "name", renamed "label" later
	Category *string
	TS       string // timestamp without zone
	Amount   string // decimal(10,2)
	Tag      string // info.tag
	Score    float64
	Note     *string // added later
}

func ptr[T any](v T) *T { return &v }

func fixtureRow(id int64, category string) planRow {
	r := planRow{
		ID: id, Name: ptr(fmt.Sprintf("n%d", id)), TS: fmt.Sprintf("2024-01-%02dT%02d:30:00", 1+id%20, id%24),
		Amount: fmt.Sprintf("%d.%02d", id*3, id%100), Tag: fmt.Sprintf("t%d", id%5), Score: float64(id) / 4,
	}
	if category != "" {
		r.Category = ptr(category)
	}
	if id%7 == 0 {
		r.Name = nil
	}
	return r
}

func planFixtureSchema() *iceberg.Schema {
	return iceberg.NewSchema(0,
		iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64, Required: true},
		iceberg.NestedField{ID: 2, Name: "name", Type: iceberg.PrimitiveTypes.String},
		iceberg.NestedField{ID: 3, Name: "category", Type: iceberg.PrimitiveTypes.String},
		iceberg.NestedField{ID: 4, Name: "ts", Type: iceberg.PrimitiveTypes.Timestamp},
		iceberg.NestedField{ID: 5, Name: "amount", Type: iceberg.DecimalTypeOf(10, 2)},
		iceberg.NestedField{ID: 6, Name: "info", Type: &iceberg.StructType{FieldList: []iceberg.NestedField{
			{ID: 7, Name: "tag", Type: iceberg.PrimitiveTypes.String},
			{ID: 8, Name: "score", Type: iceberg.PrimitiveTypes.Float64},
		}}},
	)
}

// arrowRows builds an Arrow table of rows in tbl's current schema.
func arrowRows(t testing.TB, tbl *table.Table, rows []planRow) arrow.Table {
	t.Helper()
	sc := tbl.Schema()
	as, err := table.SchemaToArrowSchema(sc, nil, false, false)
	if err != nil {
		t.Fatal(err)
	}
	nameCol := "name"
	if _, ok := sc.FindFieldByName("label"); ok {
		nameCol = "label"
	}
	objs := make([]map[string]any, len(rows))
	for i, r := range rows {
		o := map[string]any{
			"id": r.ID, nameCol: r.Name, "category": r.Category, "ts": r.TS, "amount": r.Amount,
			"info": map[string]any{"tag": r.Tag, "score": r.Score},
		}
		if _, ok := sc.FindFieldByName("note"); ok {
			o["note"] = r.Note
		}
		objs[i] = o
	}
	doc, err := json.Marshal(objs)
	if err != nil {
		t.Fatal(err)
	}
	at, err := array.TableFromJSON(memory.DefaultAllocator, as, []string{string(doc)})
	if err != nil {
		t.Fatalf("arrow table: %v", err)
	}
	return at
}

// planFixture is the built table and the snapshots named along the way.
type planFixture struct {
	ident table.Identifier
	snaps map[string]int64
}

func buildPlanFixture(ctx context.Context, t *testing.T, e *planEnv, ns string) *planFixture {
	t.Helper()
	cat := e.cat
	if err := cat.CreateNamespace(ctx, catalog.ToIdentifier(ns), nil); err != nil {
		t.Fatal(err)
	}
	f := &planFixture{ident: catalog.ToIdentifier(ns, "events"), snaps: map[string]int64{}}
	spec := iceberg.NewPartitionSpec(iceberg.PartitionField{SourceIDs: []int{3}, FieldID: 1000, Name: "category", Transform: iceberg.IdentityTransform{}})
	tbl, err := cat.CreateTable(ctx, f.ident, planFixtureSchema(), catalog.WithPartitionSpec(&spec),
		catalog.WithProperties(iceberg.Properties{"format-version": "2", table.WriteDeleteModeKey: table.WriteModeMergeOnRead}))
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	appendRows := func(name string, rows []planRow) {
		t.Helper()
		at := arrowRows(t, tbl, rows)
		defer at.Release()
		if tbl, err = tbl.AppendTable(ctx, at, int64(len(rows)), nil); err != nil {
			t.Fatalf("append %s: %v", name, err)
		}
		f.snaps[name] = tbl.CurrentSnapshot().SnapshotID
	}
	commit := func(what string, fn func(tx *table.Transaction) error) {
		t.Helper()
		tx := tbl.NewTransaction()
		if err := fn(tx); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if tbl, err = tx.Commit(ctx); err != nil {
			t.Fatalf("commit %s: %v", what, err)
		}
	}
	var rows []planRow
	for id := int64(1); id <= 12; id++ {
		rows = append(rows, fixtureRow(id, []string{"a", "b"}[id%2]))
	}
	appendRows("first", rows[:6])
	appendRows("second", rows[6:])
	rows = nil
	for id := int64(13); id <= 24; id++ {
		rows = append(rows, fixtureRow(id, []string{"b", "c"}[id%2]))
	}
	appendRows("third", rows)

	// A branch and a tag at "third", through the REST API.
	setRefs := fmt.Sprintf(`{"requirements":[],"updates":[
		{"action":"set-snapshot-ref","ref-name":"audit","type":"branch","snapshot-id":%d},
		{"action":"set-snapshot-ref","ref-name":"v3","type":"tag","snapshot-id":%d}]}`, f.snaps["third"], f.snaps["third"])
	if status, body := callT(t, "POST", e.base+"/namespaces/"+ns+"/tables/events", setRefs); status != 200 {
		t.Fatalf("set refs: %d %s", status, body)
	}
	if err := tbl.Refresh(ctx); err != nil {
		t.Fatal(err)
	}

	// Merge-on-read deletes: position delete files.
	commit("delete", func(tx *table.Transaction) error {
		return tx.Delete(ctx, iceberg.IsIn(iceberg.Reference("id"), int64(3), int64(16), int64(17)), nil)
	})
	f.snaps["deleted"] = tbl.CurrentSnapshot().SnapshotID
	// Equality deletes on id.
	commit("equality delete", func(tx *table.Transaction) error {
		// On a partitioned table the partition source is part of the key.
		return tx.CommitEqualityDeletes(ctx, []int{1, 3}, keyRecords(t, tbl, fixtureRow(5, "b"), fixtureRow(20, "b")), nil)
	})
	f.snaps["eq-deleted"] = tbl.CurrentSnapshot().SnapshotID

	// Schema evolution: name becomes label, a note column appears.
	commit("schema", func(tx *table.Transaction) error {
		return tx.UpdateSchema(true, false).RenameColumn([]string{"name"}, "label").
			AddColumn([]string{"note"}, iceberg.PrimitiveTypes.String, "", false, nil).Commit()
	})
	// Partition evolution: days of ts join the category.
	commit("spec", func(tx *table.Transaction) error {
		return tx.UpdateSpec(true).AddField("ts", iceberg.DayTransform{}, "ts_day").Commit()
	})
	rows = nil
	for id := int64(25); id <= 36; id++ {
		r := fixtureRow(id, []string{"c", "d"}[id%2])
		if id%3 == 0 {
			r.Note = ptr(fmt.Sprintf("note %d", id))
		}
		rows = append(rows, r)
	}
	appendRows("evolved", rows)

	// Overwrite category a with new rows.
	over := []planRow{fixtureRow(40, "a"), fixtureRow(41, "a")}
	commit("overwrite", func(tx *table.Transaction) error {
		at := arrowRows(t, tbl, over)
		defer at.Release()
		return tx.OverwriteTable(ctx, at, int64(len(over)), nil, table.WithOverwriteFilter(iceberg.EqualTo(iceberg.Reference("category"), "a")))
	})
	f.snaps["overwritten"] = tbl.CurrentSnapshot().SnapshotID

	// Rows without a category (a null partition) and without a label.
	appendRows("nulls", []planRow{fixtureRow(50, ""), fixtureRow(56, ""), fixtureRow(57, "d")})
	return f
}

// keyRecords are equality-delete records deleting rows by (id, category).
func keyRecords(t *testing.T, tbl *table.Table, rows ...planRow) iter.Seq2[arrow.RecordBatch, error] {
	t.Helper()
	sc, err := tbl.Schema().Select(true, "id", "category")
	if err != nil {
		t.Fatal(err)
	}
	as, err := table.SchemaToArrowSchema(sc, nil, true, false)
	if err != nil {
		t.Fatal(err)
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, as)
	defer b.Release()
	for _, r := range rows {
		b.Field(0).(*array.Int64Builder).Append(r.ID)
		b.Field(1).(*array.StringBuilder).Append(*r.Category)
	}
	rec := b.NewRecordBatch()
	return func(yield func(arrow.RecordBatch, error) bool) {
		defer rec.Release()
		yield(rec, nil)
	}
}

// callT is call with a JSON body given as text.
func callT(t *testing.T, method, url, body string, headers ...string) (int, []byte) {
	t.Helper()
	var b []byte
	if body != "" {
		b = []byte(body)
	}
	status, _, resp := call(t, method, url, "application/json", b, headers...)
	return status, resp
}

// scanResult is what a scan plans and reads, in a form to compare.
type scanResult struct {
	files []string // one line per task: path, byte range, deletes
	rows  []string // one line per row
}

func describeTasks(tasks []table.FileScanTask) []string {
	out := make([]string, 0, len(tasks))
	names := func(fs []iceberg.DataFile) string {
		var ps []string
		for _, f := range fs {
			ps = append(ps, f.FilePath())
		}
		slices.Sort(ps)
		return strings.Join(ps, ",")
	}
	for _, t := range tasks {
		out = append(out, fmt.Sprintf("%s [%d+%d] pos=%s eq=%s dv=%s", t.File.FilePath(), t.Start, t.Length,
			names(t.DeleteFiles), names(t.EqualityDeleteFiles), names(t.DeletionVectorFiles)))
	}
	slices.Sort(out)
	return out
}

func arrowLines(t *testing.T, at arrow.Table) []string {
	t.Helper()
	var out []string
	tr := array.NewTableReader(at, 1024)
	defer tr.Release()
	for tr.Next() {
		rec := tr.RecordBatch()
		for i := range int(rec.NumRows()) {
			var cols []string
			for c := range int(rec.NumCols()) {
				cols = append(cols, rec.Schema().Field(c).Name+"="+rec.Column(c).ValueStr(i))
			}
			out = append(out, strings.Join(cols, " "))
		}
	}
	if err := tr.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}
