package conformance

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"
)

// Server-side scan planning (planTableScan, fetchPlanningResult,
// cancelPlanning, fetchScanTasks). A catalog that advertises none of the
// four is skipped; one that advertises some must advertise all (clients
// that find /plan expect the rest). Plans are checked against iceberg-go
// planning the same scan locally.

var planningEndpoints = []string{
	"POST /v1/{prefix}/namespaces/{namespace}/tables/{table}/plan",
	"GET /v1/{prefix}/namespaces/{namespace}/tables/{table}/plan/{plan-id}",
	"DELETE /v1/{prefix}/namespaces/{namespace}/tables/{table}/plan/{plan-id}",
	"POST /v1/{prefix}/namespaces/{namespace}/tables/{table}/tasks",
}

// requirePlanning skips the case unless the catalog plans scans.
func (c *C) requirePlanning() {
	c.Helper()
	for _, e := range planningEndpoints {
		if !slices.Contains(c.env.config.Endpoints, e) {
			c.Skip("the catalog does not advertise scan planning")
		}
	}
}

// plannedTable is a table with two appended Parquet files.
func (c *C) plannedTable() (*table.Table, []string) {
	c.Helper()
	cat := c.Catalog()
	ns := c.Namespace("plan")
	id := catalog.ToIdentifier(append(slices.Clone(ns), "t")...)
	tbl, err := cat.CreateTable(c.Ctx(), id, testSchema())
	if err != nil {
		c.Fatal(err)
	}
	if _, local := fileExists(tbl.Location()); !local {
		c.Skip("the table location is not on a local file system the suite can write")
	}
	for _, rows := range [][]row{{{1, "a"}, {2, "b"}}, {{3, "c"}}} {
		if tbl, err = appendRows(c, tbl, rows); err != nil {
			c.Fatal(err)
		}
	}
	return tbl, ns
}

// scanPlans plans and reads a scan of tbl in one mode: the files and the
// rows.
func scanPlans(c *C, tbl *table.Table, mode table.ScanPlanningMode, opts ...table.ScanOption) ([]string, []row) {
	c.Helper()
	scan := tbl.Scan(append(opts, table.WithScanPlanningMode(mode), table.WithSelectedFields("id", "data"))...)
	defer scan.Close()
	tasks, err := scan.PlanFiles(c.Ctx())
	if err != nil {
		c.Fatalf("%s planning: %v", mode, err)
	}
	var files []string
	for _, t := range tasks {
		files = append(files, fmt.Sprintf("%s [%d+%d]", t.File.FilePath(), t.Start, t.Length))
	}
	slices.Sort(files)
	return files, readRows(c, scan)
}

// planAnswer is a planning response body.
type planAnswer struct {
	Status        string            `json:"status"`
	PlanID        string            `json:"plan-id"`
	PlanTasks     []string          `json:"plan-tasks"`
	FileScanTasks []json.RawMessage `json:"file-scan-tasks"`
	Error         *ErrorModel       `json:"error"`
}

// planAll submits a plan over raw HTTP, polls it if submitted, and returns
// the data files of all its tasks (plan tasks fetched).
func (c *C) planAll(ns []string, tbl, body string) []string {
	c.Helper()
	r := c.Do("POST", c.path("namespaces", nsSeg(ns), "tables", tbl, "plan"), body)
	c.Expect(r, 200)
	var a planAnswer
	r.JSON(c, &a)
	deadline := time.Now().Add(2 * time.Minute)
	for a.Status == "submitted" {
		if a.PlanID == "" || len(a.FileScanTasks) > 0 {
			c.Fatalf("a submitted plan has a plan-id and no tasks: %s", r)
		}
		if time.Now().After(deadline) {
			c.Fatalf("plan %s still submitted after two minutes", a.PlanID)
		}
		time.Sleep(50 * time.Millisecond)
		id := a.PlanID
		r = c.Do("GET", c.path("namespaces", nsSeg(ns), "tables", tbl, "plan", id), "")
		c.Expect(r, 200)
		a = planAnswer{PlanID: id}
		r.JSON(c, &a)
	}
	if a.Status != "completed" {
		c.Fatalf("plan did not complete: %s", r)
	}
	files := dataFiles(c, a.FileScanTasks)
	for _, h := range a.PlanTasks {
		tr := c.Do("POST", c.path("namespaces", nsSeg(ns), "tables", tbl, "tasks"), mustJSON(map[string]string{"plan-task": h}))
		c.Expect(tr, 200)
		var more planAnswer
		tr.JSON(c, &more)
		if len(more.PlanTasks) > 0 {
			c.Fatalf("nested plan tasks are not followed by this case: %s", tr)
		}
		files = append(files, dataFiles(c, more.FileScanTasks)...)
	}
	slices.Sort(files)
	return files
}

func dataFiles(c *C, tasks []json.RawMessage) []string {
	c.Helper()
	var out []string
	for _, raw := range tasks {
		var t struct {
			DataFile struct {
				FilePath string `json:"file-path"`
			} `json:"data-file"`
		}
		if err := json.Unmarshal(raw, &t); err != nil || t.DataFile.FilePath == "" {
			c.Fatalf("file scan task without a data file: %s", raw)
		}
		out = append(out, t.DataFile.FilePath)
	}
	return out
}

func localFiles(c *C, tbl *table.Table, opts ...table.ScanOption) []string {
	c.Helper()
	tasks, err := tbl.Scan(opts...).PlanFiles(c.Ctx())
	if err != nil {
		c.Fatal(err)
	}
	var out []string
	for _, t := range tasks {
		out = append(out, t.File.FilePath())
	}
	slices.Sort(out)
	return out
}

func planningCases() []Case {
	return []Case{
		{"all four operations advertised together", func(c *C) {
			n := 0
			for _, e := range planningEndpoints {
				if slices.Contains(c.env.config.Endpoints, e) {
					n++
				}
			}
			if n == 0 {
				c.Skip("the catalog does not advertise scan planning")
			}
			if n != len(planningEndpoints) {
				c.Fatalf("%d of the %d planning endpoints advertised: %v", n, len(planningEndpoints), c.env.config.Endpoints)
			}
		}},
		{"iceberg-go remote planning equals local planning", func(c *C) {
			c.requirePlanning()
			tbl, _ := c.plannedTable()
			for _, opts := range [][]table.ScanOption{
				nil,
				{table.WithRowFilter(iceberg.GreaterThan(iceberg.Reference("id"), int64(2)))},
				{table.WithRowFilter(iceberg.IsIn(iceberg.Reference("DATA"), "a", "c")), table.WithCaseSensitive(false)},
				{table.WithRowFilter(iceberg.AlwaysFalse{})},
			} {
				lf, lr := scanPlans(c, tbl, table.ScanPlanningLocal, opts...)
				rf, rr := scanPlans(c, tbl, table.ScanPlanningRemote, opts...)
				if !slices.Equal(lf, rf) || !slices.Equal(lr, rr) {
					c.Errorf("local %v %v, remote %v %v", lf, lr, rf, rr)
				}
			}
		}},
		{"time travel plans the snapshot", func(c *C) {
			c.requirePlanning()
			tbl, _ := c.plannedTable()
			first := tbl.Metadata().Snapshots()[0].SnapshotID
			lf, lr := scanPlans(c, tbl, table.ScanPlanningLocal, table.WithSnapshotID(first))
			rf, rr := scanPlans(c, tbl, table.ScanPlanningRemote, table.WithSnapshotID(first))
			if len(lf) != 1 || !slices.Equal(lf, rf) || !slices.Equal(lr, rr) {
				c.Errorf("local %v %v, remote %v %v", lf, lr, rf, rr)
			}
		}},
		{"raw plan: completed or polled, with plan tasks", func(c *C) {
			c.requirePlanning()
			tbl, ns := c.plannedTable()
			if got, want := c.planAll(ns, "t", `{}`), localFiles(c, tbl); !slices.Equal(got, want) {
				c.Errorf("planned %v, want %v", got, want)
			}
			filter := `{"filter":{"type":"lt","term":"id","value":3},"select":["id"],"case-sensitive":true}`
			lt3 := localFiles(c, tbl, table.WithRowFilter(iceberg.LessThan(iceberg.Reference("id"), int64(3))))
			if got := c.planAll(ns, "t", filter); !slices.Equal(got, lt3) {
				c.Errorf("filtered plan %v, want %v", got, lt3)
			}
		}},
		{"an empty table plans to no tasks", func(c *C) {
			c.requirePlanning()
			ns := c.Namespace("plan")
			c.Expect(c.Do("POST", c.path("namespaces", nsSeg(ns), "tables"), mustJSON(map[string]any{"name": "t", "schema": testSchema()})), 200)
			if got := c.planAll(ns, "t", `{}`); len(got) != 0 {
				c.Errorf("planned %v", got)
			}
		}},
		{"cancel", func(c *C) {
			c.requirePlanning()
			_, ns := c.plannedTable()
			r := c.Do("POST", c.path("namespaces", nsSeg(ns), "tables", "t", "plan"), `{}`)
			c.Expect(r, 200)
			var a planAnswer
			r.JSON(c, &a)
			if a.PlanID == "" {
				c.Skip("the plan completed without a plan-id to cancel")
			}
			c.Expect(c.Do("DELETE", c.path("namespaces", nsSeg(ns), "tables", "t", "plan", a.PlanID), ""), 204)
			// A cancelled plan-id is invalid: "cancelled", or no longer known.
			g := c.Do("GET", c.path("namespaces", nsSeg(ns), "tables", "t", "plan", a.PlanID), "")
			switch g.Status {
			case 200:
				var after planAnswer
				g.JSON(c, &after)
				if after.Status != "cancelled" || len(after.FileScanTasks) > 0 {
					c.Errorf("after cancel: %s", g)
				}
			case 404:
				c.ExpectError(g, 404, "NoSuchPlanIdException", "")
			default:
				c.Errorf("after cancel: %s", g)
			}
		}},
		{"unknown plan id is 404 NoSuchPlanIdException", func(c *C) {
			c.requirePlanning()
			_, ns := c.plannedTable()
			r := c.Do("GET", c.path("namespaces", nsSeg(ns), "tables", "t", "plan", "no-such-plan-"+c.env.runID), "")
			c.ExpectError(r, 404, "NoSuchPlanIdException", "")
		}},
		{"unknown plan task is 404 NoSuchPlanTaskException", func(c *C) {
			c.requirePlanning()
			_, ns := c.plannedTable()
			r := c.Do("POST", c.path("namespaces", nsSeg(ns), "tables", "t", "tasks"), `{"plan-task":"no-such-task"}`)
			c.ExpectError(r, 404, "NoSuchPlanTaskException", "")
		}},
		{"plan of a missing table is 404 NoSuchTableException", func(c *C) {
			c.requirePlanning()
			ns := c.Namespace("plan")
			r := c.Do("POST", c.path("namespaces", nsSeg(ns), "tables", "missing", "plan"), `{}`)
			c.ExpectError(r, 404, "NoSuchTableException", "")
		}},
		{"malformed filter is 400", func(c *C) {
			c.requirePlanning()
			_, ns := c.plannedTable()
			r := c.DoInvalid("POST", c.path("namespaces", nsSeg(ns), "tables", "t", "plan"), `{"filter":{"type":"no-such-operation","term":"id"}}`)
			c.ExpectError(r, 400, "BadRequestException", "")
			r = c.Do("POST", c.path("namespaces", nsSeg(ns), "tables", "t", "plan"), `{"filter":{"type":"eq","term":"no_such_column","value":1}}`)
			c.ExpectError(r, 400, "BadRequestException", "")
		}},
		{"unknown snapshot is 400", func(c *C) {
			c.requirePlanning()
			_, ns := c.plannedTable()
			r := c.Do("POST", c.path("namespaces", nsSeg(ns), "tables", "t", "plan"), `{"snapshot-id":1234567}`)
			c.ExpectError(r, 400, "BadRequestException", "")
			if strings.Contains(string(r.Body), "plan-id") {
				c.Errorf("a refused plan has a plan-id: %s", r)
			}
		}},
	}
}
