package conformance

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"
)

type row struct {
	ID   int64
	Data string
}

// appendRows writes rows as a Parquet file through iceberg-go and commits
// the append.
func appendRows(c *C, tbl *table.Table, rows []row) (*table.Table, error) {
	c.Helper()
	as, err := table.SchemaToArrowSchema(tbl.Schema(), nil, false, false)
	if err != nil {
		c.Fatalf("arrow schema: %v", err)
	}
	objs := make([]map[string]any, len(rows))
	for i, r := range rows {
		objs[i] = map[string]any{"id": r.ID, "data": r.Data}
	}
	doc, _ := json.Marshal(objs)
	at, err := array.TableFromJSON(memory.DefaultAllocator, as, []string{string(doc)})
	if err != nil {
		c.Fatalf("arrow table: %v", err)
	}
	defer at.Release()
	return tbl.AppendTable(c.Ctx(), at, int64(len(rows)), nil)
}

// scanRows reads the current snapshot of tbl, sorted by id.
func scanRows(c *C, tbl *table.Table) []row {
	c.Helper()
	return readRows(c, tbl.Scan(table.WithSelectedFields("id", "data")))
}

// readRows reads what scan selects (id and data), sorted by id.
func readRows(c *C, scan *table.Scan) []row {
	c.Helper()
	at, err := scan.ToArrowTable(c.Ctx())
	if err != nil {
		c.Fatalf("scan: %v", err)
	}
	defer at.Release()
	var out []row
	tr := array.NewTableReader(at, 1024)
	defer tr.Release()
	for tr.Next() {
		rec := tr.RecordBatch()
		ids := rec.Column(rec.Schema().FieldIndices("id")[0]).(*array.Int64)
		data := rec.Column(rec.Schema().FieldIndices("data")[0]).(*array.String)
		for i := range int(rec.NumRows()) {
			out = append(out, row{ids.Value(i), data.Value(i)})
		}
	}
	slices.SortFunc(out, func(a, b row) int { return int(a.ID - b.ID) })
	return out
}

func appendCases() []Case {
	return []Case{
		{"append Parquet and read it back", func(c *C) {
			cat := c.Catalog()
			ns := c.Namespace("app")
			id := catalog.ToIdentifier(append(slices.Clone(ns), "t")...)
			tbl, err := cat.CreateTable(c.Ctx(), id, testSchema())
			if err != nil {
				c.Fatal(err)
			}
			if _, local := fileExists(tbl.Location()); !local {
				c.Skip("the table location is not on a local file system the suite can write")
			}
			first, second := []row{{1, "a"}, {2, "b"}}, []row{{3, "c"}}
			if tbl, err = appendRows(c, tbl, first); err != nil {
				c.Fatalf("first append: %v", err)
			}
			s1 := tbl.CurrentSnapshot()
			if tbl, err = appendRows(c, tbl, second); err != nil {
				c.Fatalf("second append: %v", err)
			}
			s2 := tbl.CurrentSnapshot()
			if s1 == nil || s2 == nil || s2.ParentSnapshotID == nil || *s2.ParentSnapshotID != s1.SnapshotID {
				c.Fatalf("snapshots do not chain: %v %v", s1, s2)
			}
			loaded, err := cat.LoadTable(c.Ctx(), id)
			if err != nil {
				c.Fatal(err)
			}
			if got := scanRows(c, loaded); !slices.Equal(got, append(first, second...)) {
				c.Errorf("scan %v", got)
			}
			m := c.loadTable(ns, "t").Metadata
			if len(m.Snapshots) != 2 || len(m.SnapshotLog) != 2 || m.Refs["main"].ID != s2.SnapshotID {
				c.Errorf("snapshots %d, snapshot-log %d, main %v", len(m.Snapshots), len(m.SnapshotLog), m.Refs["main"])
			}
		}},
		{"stale append is 409 CommitFailed", func(c *C) {
			cat := c.Catalog()
			ns := c.Namespace("app")
			id := catalog.ToIdentifier(append(slices.Clone(ns), "t")...)
			tbl, err := cat.CreateTable(c.Ctx(), id, testSchema(), catalog.WithProperties(noClientRetry))
			if err != nil {
				c.Fatal(err)
			}
			if _, local := fileExists(tbl.Location()); !local {
				c.Skip("the table location is not on a local file system the suite can write")
			}
			if _, err := appendRows(c, tbl, []row{{1, "a"}}); err != nil {
				c.Fatal(err)
			}
			// tbl still has no snapshot: its append asserts that main does
			// not exist.
			if _, err := appendRows(c, tbl, []row{{2, "b"}}); !errors.Is(err, table.ErrCommitFailed) {
				c.Errorf("append on stale metadata: %v, want ErrCommitFailed", err)
			}
		}},
		{"concurrent appends on an empty table", func(c *C) { concurrentAppends(c, false) }},
		{"concurrent appends on a non-empty table", func(c *C) { concurrentAppends(c, true) }},
	}
}

// concurrentAppends appends from four writers at once, each through its
// own client with iceberg-go's retries on: every append must land, each on
// the one before.
func concurrentAppends(c *C, nonEmpty bool) {
	const writers = 4
	cat := c.Catalog()
	ns := c.Namespace("app")
	id := catalog.ToIdentifier(append(slices.Clone(ns), "t")...)
	tbl, err := cat.CreateTable(c.Ctx(), id, testSchema(), catalog.WithProperties(iceberg.Properties{
		table.CommitNumRetriesKey: "20", table.CommitMinRetryWaitMsKey: "10",
		table.CommitMaxRetryWaitMsKey: "200", table.CommitTotalRetryTimeoutMsKey: "60000",
	}))
	if err != nil {
		c.Fatal(err)
	}
	if _, local := fileExists(tbl.Location()); !local {
		c.Skip("the table location is not on a local file system the suite can write")
	}
	var want []row
	if nonEmpty {
		want = []row{{0, "seed"}}
		if _, err := appendRows(c, tbl, want); err != nil {
			c.Fatal(err)
		}
	}
	tables := make([]*table.Table, writers)
	for i := range writers {
		if tables[i], err = c.Catalog().LoadTable(c.Ctx(), id); err != nil {
			c.Fatal(err)
		}
	}
	errs := make([]error, writers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range writers {
		rows := []row{{int64(10*i + 1), fmt.Sprintf("w%d", i)}}
		want = append(want, rows...)
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, errs[i] = appendRows(c, tables[i], rows)
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			c.Errorf("writer %d: %v", i, err)
		}
	}
	final, err := cat.LoadTable(c.Ctx(), id)
	if err != nil {
		c.Fatal(err)
	}
	slices.SortFunc(want, func(a, b row) int { return int(a.ID - b.ID) })
	if got := scanRows(c, final); !slices.Equal(got, want) {
		c.Errorf("rows %v, want %v", got, want)
	}
	m := c.loadTable(ns, "t").Metadata
	if n := len(m.Snapshots); n != len(want) {
		c.Errorf("%d snapshots for %d appends", n, len(want))
	}
}
