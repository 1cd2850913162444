package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/rest"
	"github.com/apache/iceberg-go/table"
)

// Scan planning: the same scans planned by iceberg-go's REST client through
// the catalog (remote mode: planTableScan and fetchScanTasks) and by
// iceberg-go itself reading the manifests (local mode), in the same run, on
// tables seeded through the catalog. Data files are added by reference
// (never written): planning reads manifests only.

const planNS = "planbench"

// planTable is a seeded table: manifests × filesPer data files, manifest i
// holding partition part=i.
type planTable struct {
	name              string
	manifests, filesP int
}

var planTables = []planTable{
	{"p10k", 100, 100},   // the table: 10,000 files in 100 manifests
	{"p100k", 100, 1000}, // 100,000 files, for the server's memory bound
}

type planScan struct {
	table, what string
	filter      iceberg.BooleanExpression
	iterations  int
}

func planScans(iterations int) []planScan {
	return []planScan{
		{"p10k", "part = 42 (selective partition filter, 1% of files)", iceberg.EqualTo(iceberg.Reference("part"), int32(42)), iterations},
		{"p10k", "id < 5000 (metrics pruning, no partition filter)", iceberg.LessThan(iceberg.Reference("id"), int64(5000)), iterations},
		{"p10k", "no filter (all 10,000 files)", nil, max(3, iterations/4)},
		{"p100k", "no filter (all 100,000 files)", nil, 3},
	}
}

// benchPlanning seeds the tables and runs planScans; it returns a markdown
// section for the report.
func benchPlanning(ctx context.Context, srv *server, iterations int) (string, error) {
	cat, err := rest.NewCatalog(ctx, "bench", srv.base)
	if err != nil {
		return "", err
	}
	defer cat.Close()
	if err := cat.CreateNamespace(ctx, catalog.ToIdentifier(planNS), nil); err != nil {
		return "", err
	}
	tables := map[string]*table.Table{}
	for _, pt := range planTables {
		began := time.Now()
		tbl, err := seedPlanTable(ctx, cat, pt)
		if err != nil {
			return "", fmt.Errorf("seeding %s: %w", pt.name, err)
		}
		tables[pt.name] = tbl
		logf("planning: seeded %s (%d files in %d manifests) in %s", pt.name, pt.manifests*pt.filesP, pt.manifests, time.Since(began).Round(time.Millisecond))
	}

	var b strings.Builder
	fmt.Fprintf(&b, "\n### Scan planning\n\n")
	fmt.Fprintf(&b, "iceberg-go v0.7.0's REST client planning through the catalog (`%s`: planTableScan, then fetchScanTasks for the plan tasks) "+
		"against the same client planning locally (`%s`: reading the manifest list and manifests from the warehouse itself), "+
		"alternating, in one run; p50 of the iterations. Tables seeded through the catalog, each manifest one partition value.\n\n",
		table.ScanPlanningRemote, table.ScanPlanningLocal)
	fmt.Fprintln(&b, "| table | scan | files planned | through the catalog | local | iterations | server peak RSS |")
	fmt.Fprintln(&b, "|---|---|---:|---:|---:|---:|---:|")
	before := srv.rss().total
	for _, sc := range planScans(iterations) {
		runtime.GC()
		resetPeakRSS(srv)
		tbl := tables[sc.table]
		var remote, local []time.Duration
		var files int
		for i := range sc.iterations + 1 {
			for _, mode := range []table.ScanPlanningMode{table.ScanPlanningRemote, table.ScanPlanningLocal} {
				d, n, err := planOnce(ctx, tbl, sc.filter, mode)
				if err != nil {
					return "", fmt.Errorf("%s %s %s: %w", sc.table, sc.what, mode, err)
				}
				if i == 0 {
					files = n // the first round warms up both
					continue
				}
				if n != files {
					return "", fmt.Errorf("%s %s: %s planned %d files, the other mode %d", sc.table, sc.what, mode, n, files)
				}
				if mode == table.ScanPlanningRemote {
					remote = append(remote, d)
				} else {
					local = append(local, d)
				}
			}
		}
		logf("planning: %s %s: %d files, remote p50 %s, local p50 %s", sc.table, sc.what, files, p50(remote), p50(local))
		fmt.Fprintf(&b, "| %s | %s | %d | %s | %s | %d | %.1f MB |\n", sc.table, sc.what, files, ms(p50(remote)), ms(p50(local)), sc.iterations, float64(srv.peakRSS())/1024)
	}
	fmt.Fprintf(&b, "\nServer peak RSS is VmHWM, reset before each row (%.1f MB resident at the start of the section); "+
		"planning settings at their defaults: `planning.window-files` 10000, `planning.tasks-per-response` 1000, `planning.async-manifests` 128.\n", float64(before)/1024)
	return b.String(), nil
}

// planOnce plans one scan and reports its time and file count.
func planOnce(ctx context.Context, tbl *table.Table, filter iceberg.BooleanExpression, mode table.ScanPlanningMode) (time.Duration, int, error) {
	opts := []table.ScanOption{table.WithScanPlanningMode(mode)}
	if filter != nil {
		opts = append(opts, table.WithRowFilter(filter))
	}
	scan := tbl.Scan(opts...)
	defer scan.Close()
	began := time.Now()
	tasks, err := scan.PlanFiles(ctx)
	d := time.Since(began)
	n := len(tasks)
	runtime.GC() // the next measurement starts clean
	return d, n, err
}

func p50(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// seedPlanTable creates a table partitioned by part and adds its data files
// one manifest (one commit) at a time.
func seedPlanTable(ctx context.Context, cat *rest.Catalog, pt planTable) (*table.Table, error) {
	sc := iceberg.NewSchema(0,
		iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64, Required: true},
		iceberg.NestedField{ID: 2, Name: "part", Type: iceberg.PrimitiveTypes.Int32, Required: true},
		iceberg.NestedField{ID: 3, Name: "payload", Type: iceberg.PrimitiveTypes.String},
	)
	spec := iceberg.NewPartitionSpec(iceberg.PartitionField{SourceIDs: []int{2}, FieldID: 1000, Name: "part", Transform: iceberg.IdentityTransform{}})
	tbl, err := cat.CreateTable(ctx, catalog.ToIdentifier(planNS, pt.name), sc, catalog.WithPartitionSpec(&spec),
		catalog.WithProperties(iceberg.Properties{"format-version": "2"}))
	if err != nil {
		return nil, err
	}
	bound := func(v int64) []byte {
		b, _ := iceberg.Int64Literal(v).MarshalBinary()
		return b
	}
	for m := range pt.manifests {
		files := make([]iceberg.DataFile, 0, pt.filesP)
		for f := range pt.filesP {
			first := int64((m*pt.filesP + f) * 100)
			b, err := iceberg.NewDataFileBuilder(*tbl.Metadata().PartitionSpecByID(0), iceberg.EntryContentData,
				fmt.Sprintf("%s/data/part=%d/%05d.parquet", tbl.Location(), m, f), iceberg.ParquetFile,
				map[int]any{1000: int32(m)}, nil, nil, 100, 64<<10)
			if err != nil {
				return nil, err
			}
			b.ValueCounts(map[int]int64{1: 100, 2: 100, 3: 100}).NullValueCounts(map[int]int64{1: 0, 2: 0, 3: 0}).
				LowerBoundValues(map[int][]byte{1: bound(first)}).UpperBoundValues(map[int][]byte{1: bound(first + 99)})
			files = append(files, b.Build())
		}
		tx := tbl.NewTransaction()
		if err := tx.AddDataFiles(ctx, files, nil, table.WithoutDuplicateCheck()); err != nil {
			return nil, err
		}
		if tbl, err = tx.Commit(ctx); err != nil {
			return nil, err
		}
	}
	return tbl, nil
}

// peakRSS is the server's peak resident set size (VmHWM) in kB.
func (s *server) peakRSS() int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var n int64
			fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(v), " kB"), &n)
			return n
		}
	}
	return 0
}

// resetPeakRSS starts the peak over from the current RSS (clear_refs 5).
func resetPeakRSS(s *server) {
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", s.cmd.Process.Pid), []byte("5"), 0); err != nil {
		logf("planning: cannot reset the server's peak RSS (%v); the peak covers the whole run", err)
	}
}
