// Command loadgen is Bingsan's load harness (`make bench`). It starts
// bin/bingsan on a fresh PostgreSQL database, seeds namespaces and tables,
// drives fixed workloads over HTTP keep-alive connections for a fixed time
// each, runs pgbench on the same PostgreSQL at the same concurrency as the
// reference, and prints one markdown table: req/s, p50/p99, Bingsan's CPU
// per request, and the ratios to PostgreSQL's own rate that the targets are
// stated in.
//
//	go run ./bench/loadgen -bin bin/bingsan [-duration 10s] [-conns 10] [-out bench/results.md]
//
// Timings depend on the machine and on whatever else runs on it; compare
// the ratios of one run, not absolute numbers across runs.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"
)

type options struct {
	bin      string
	pg       string // base URL of the PostgreSQL server, without a database
	duration time.Duration
	warmup   time.Duration
	conns    int
	only     string
	out      string
	keep     bool
	profile  string // directory for CPU profiles of the server per workload
	pgbench  string // the pgbench binary
	dataDir  string // parent of the server's data directory (its warehouse)
	planRuns int    // iterations of each scan planning measurement
	runs     int    // rounds of the workloads; the report shows medians
	// pgVersion is the PostgreSQL server's version, for the report.
	pgVersion string
}

func main() {
	if spec := os.Getenv(floorEnv); spec != "" {
		if err := runFloorServer(spec); err != nil {
			fmt.Fprintln(os.Stderr, "floor:", err)
			os.Exit(1)
		}
		return
	}
	var o options
	flag.StringVar(&o.bin, "bin", "bin/bingsan", "the bingsan binary to start")
	flag.StringVar(&o.pg, "pg", "postgres://postgres@127.0.0.1:5432", "PostgreSQL server (trust auth) for Bingsan and pgbench; a fresh database is created for each")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "how long each workload runs")
	flag.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured run before each workload")
	flag.IntVar(&o.conns, "conns", 10, "concurrent connections (Bingsan workloads and pgbench clients)")
	flag.StringVar(&o.only, "only", "", "comma-separated workload names to run (default: all)")
	flag.StringVar(&o.out, "out", "", "also write the markdown report to this file")
	flag.BoolVar(&o.keep, "keep", false, "keep the databases and the data directory")
	flag.StringVar(&o.pgbench, "pgbench", "pgbench", "the pgbench binary")
	flag.StringVar(&o.dataDir, "data-dir", "", "where to put the server's data directory, i.e. the local warehouse its metadata files go to (default: the temporary directory)")
	flag.IntVar(&o.planRuns, "plan-iterations", 20, "iterations of each scan planning measurement (the \"planning\" section; -only planning runs it alone)")
	flag.IntVar(&o.runs, "runs", 1, "rounds of every workload (each followed by its floor); the report shows the median of each figure and of each ratio")
	flag.StringVar(&o.profile, "profile", "", "write a CPU profile of the server per workload into this directory (the binary must be built with -tags pprof)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	report, err := run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
	fmt.Print(report)
	if o.out != "" {
		if err := os.WriteFile(o.out, []byte(report), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			os.Exit(1)
		}
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "loadgen: "+format+"\n", args...)
}

func run(ctx context.Context, o options) (string, error) {
	tmp, err := os.MkdirTemp("", "bingsan-bench-")
	if err != nil {
		return "", err
	}
	if !o.keep {
		defer os.RemoveAll(tmp)
	}
	if o.profile != "" {
		if err := os.MkdirAll(o.profile, 0o755); err != nil {
			return "", err
		}
	}
	suffix := fmt.Sprintf("%d_%d", os.Getpid(), time.Now().Unix())
	catalogDB, pgbenchDB, floorDB := "bingsan_bench_"+suffix, "bingsan_pgbench_"+suffix, "bingsan_floor_"+suffix
	for _, db := range []string{catalogDB, pgbenchDB, floorDB} {
		if err := createDatabase(ctx, o.pg, db); err != nil {
			return "", err
		}
		if !o.keep {
			defer func() {
				if err := dropDatabase(context.Background(), o.pg, db); err != nil {
					logf("dropping %s: %v", db, err)
				}
			}()
		}
	}

	dataParent := tmp
	if o.dataDir != "" {
		if dataParent, err = os.MkdirTemp(o.dataDir, "bingsan-bench-"); err != nil {
			return "", err
		}
		if !o.keep {
			defer os.RemoveAll(dataParent)
		}
	}
	srv, err := startServer(ctx, o.bin, dbURL(o.pg, catalogDB), tmp, dataParent, o.profile != "")
	if err != nil {
		return "", err
	}
	defer srv.stop()
	// Let start-up garbage settle before reading the idle footprint.
	time.Sleep(2 * time.Second)
	idleRSS := srv.rss()
	logf("server pid %d on %s, idle RSS %d kB", srv.cmd.Process.Pid, srv.base, idleRSS.total)

	c := newClient(srv.addr, o.conns)
	seed, err := seedCatalog(ctx, c)
	if err != nil {
		return "", fmt.Errorf("seeding: %w", err)
	}
	logf("seeded: %d namespaces, %d tables; big table metadata %d bytes", seed.namespaces, seed.tables, seed.bigSize)
	floor, err := startFloor(ctx, tmp, dbURL(o.pg, catalogDB), dbURL(o.pg, floorDB), dataParent)
	if err != nil {
		return "", err
	}
	defer floor.stop()
	fc := newClient(floor.addr, o.conns)

	if o.pgVersion, err = serverVersion(ctx, o.pg); err != nil {
		return "", err
	}
	pgb := &pgbench{bin: o.pgbench, base: o.pg, db: pgbenchDB, dir: tmp, conns: o.conns, duration: o.duration}
	steps := plan(seed)
	for _, step := range steps {
		if step.pgbench != nil && want(step.name, o.only) {
			if err := pgb.init(ctx); err != nil {
				return "", err
			}
			break
		}
	}

	runs := make([][]row, max(1, o.runs))
	for i := range runs {
		for _, step := range steps {
			if ctx.Err() != nil {
				return "", ctx.Err()
			}
			if !want(step.name, o.only) {
				continue
			}
			var r row
			switch {
			case step.pgbench != nil:
				logf("run %d, pgbench: %s", i+1, step.name)
				r, err = pgb.run(ctx, step.name, step.pgbench)
			case step.workload.floor:
				logf("run %d, %s", i+1, step.name)
				r, err = drive(ctx, fc, floor, step.name, step.workload, o)
			default:
				logf("run %d, workload: %s", i+1, step.name)
				r, err = drive(ctx, c, srv, step.name, step.workload, o)
			}
			if err != nil {
				return "", fmt.Errorf("%s: %w", step.name, err)
			}
			r.name, r.ref, r.alt, r.floor, r.target = step.name, step.ref, step.alt, step.floor, step.target
			if step.workload != nil && step.workload.commit {
				r.commitStats = scrapeCommitStats(c)
			}
			runs[i] = append(runs[i], r)
		}
	}
	rows := medians(runs)
	report := render(o, seed, idleRSS, srv.rss(), rows)
	if want("planning", o.only) {
		logf("planning")
		section, err := benchPlanning(ctx, srv, o.planRuns)
		if err != nil {
			return "", fmt.Errorf("planning: %w", err)
		}
		report += section
	}
	return report, nil
}

// want reports whether workload name was selected with -only.
func want(name, only string) bool {
	if only == "" {
		return true
	}
	for _, w := range strings.Split(only, ",") {
		if strings.TrimSpace(w) != "" && strings.Contains(name, strings.TrimSpace(w)) {
			return true
		}
	}
	return false
}

// render prints the report: one row per workload, ratios to the pgbench
// reference each one is measured against.
func render(o options, seed seeded, idleRSS, afterRSS rss, rows []row) string {
	var b strings.Builder
	host, _ := os.Hostname()
	fmt.Fprintf(&b, "Bingsan load harness, %s, %d connections, %s per workload (after %s warm-up), median of %d runs; warehouse on %s.\n\n",
		time.Now().UTC().Format("2006-01-02"), o.conns, o.duration, o.warmup, max(1, o.runs), fsOf(o.dataDir))
	fmt.Fprintln(&b, "| workload | req/s | p50 | p99 | errors | CPU/req: server | client | rest | vs floor | vs PostgreSQL | target |")
	fmt.Fprintln(&b, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
	byName := map[string]row{}
	for _, r := range rows {
		byName[r.name] = r
	}
	for _, r := range rows {
		rate := fmt.Sprintf("%.0f", r.rps)
		if r.bytes > 0 && r.mbps >= 1 {
			rate += fmt.Sprintf(" (%.0f MB/s)", r.mbps)
		}
		us := func(d time.Duration) string {
			if d <= 0 {
				return ""
			}
			return fmt.Sprintf("%.0f µs", d.Seconds()*1e6)
		}
		ratio, target, vsFloor := "", r.target, ""
		if r.vsRef > 0 {
			ratio = fmt.Sprintf("%.2f×", r.vsRef)
		}
		if r.vsAlt > 0 {
			ratio += fmt.Sprintf(" (%.2f× with counter)", r.vsAlt)
		}
		if r.vsFloor > 0 {
			vsFloor = fmt.Sprintf("%.2f×", r.vsFloor)
		}
		name := r.name
		if r.commitStats != "" {
			name += " (" + r.commitStats + ")"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %d | %s | %s | %s | %s | %s | %s |\n",
			name, rate, ms(r.p50), ms(r.p99), r.errors, us(r.cpuServer), us(r.cpuClient), us(r.cpuOther), vsFloor, ratio, target)
	}
	fmt.Fprintf(&b, "\nCPU/req is CPU time per request (pgbench: per transaction) of the server (Bingsan, or the floor's process), of the client "+
		"(the load generator or pgbench) and of everything else on the machine (PostgreSQL, and whatever else runs), from /proc. "+
		"A floor is the irreducible work of its workload without the catalog, served by a minimal fasthttp process (bench/loadgen/floor.go): "+
		"loads are one point select of the stored row, its bytes sent back; commits write a document of the size the catalog's row holds "+
		"as a new file through the catalog's own storage writer (same syncs) and run the store's one-statement compare-and-swap with its event; "+
		"creates write the file in a new directory and insert the row and its event. \"vs floor\" and \"vs PostgreSQL\" are medians of the ratios of each run.\n\n")
	fmt.Fprintf(&b, "Machine: %s; kernel %s; PostgreSQL %s.\n\n", machine(host), kernel(), o.pgVersion)
	fmt.Fprintf(&b, "Server RSS: %.1f MB idle after start-up (target ≤ 45 MB, ≤ 16 MB anonymous; %.1f MB anonymous, %.1f MB mapped from the binary), %.1f MB after the run. ",
		float64(idleRSS.total)/1024, float64(idleRSS.anon)/1024, float64(idleRSS.file)/1024, float64(afterRSS.total)/1024)
	fmt.Fprintf(&b, "Seed: %d namespaces, %d tables; the big table's metadata is %.2f MB.\n",
		seed.namespaces, seed.tables, float64(seed.bigSize)/1e6)
	return b.String()
}

func ms(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return fmt.Sprintf("%.2f ms", float64(d)/1e6)
}

// machine describes the CPU the numbers were taken on.
func machine(host string) string {
	model := "unknown CPU"
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		data, _ := io.ReadAll(f)
		f.Close()
		for _, line := range strings.Split(string(data), "\n") {
			if name, ok := strings.CutPrefix(line, "model name"); ok {
				model = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(name), ":"))
				break
			}
		}
	}
	_ = host
	return fmt.Sprintf("%d CPUs (%s), shared by the server, the load generator and PostgreSQL", runtime.NumCPU(), model)
}

// kernel is the running kernel's release.
func kernel() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}

// medians folds the rounds of each step into one row: the median of each
// figure, and the median of the ratios each round's figures give (a
// workload and its floor or reference are compared within a round).
func medians(runs [][]row) []row {
	for _, rs := range runs {
		byName := map[string]row{}
		for _, r := range rs {
			byName[r.name] = r
		}
		for i, r := range rs {
			ratio := func(other string) float64 {
				if o, ok := byName[other]; ok && o.rps > 0 {
					return r.rps / o.rps
				}
				return 0
			}
			rs[i].vsRef, rs[i].vsAlt, rs[i].vsFloor = ratio(r.ref), ratio(r.alt), ratio(r.floor)
		}
	}
	out := make([]row, len(runs[0]))
	for i := range out {
		var all []row
		for _, rs := range runs {
			if i < len(rs) {
				all = append(all, rs[i])
			}
		}
		out[i] = all[len(all)/2]
		med := func(f func(r row) float64) float64 {
			v := make([]float64, len(all))
			for j, r := range all {
				v[j] = f(r)
			}
			slices.Sort(v)
			return v[len(v)/2]
		}
		d := func(f func(r row) time.Duration) time.Duration {
			return time.Duration(med(func(r row) float64 { return float64(f(r)) }))
		}
		out[i].rps = med(func(r row) float64 { return r.rps })
		out[i].mbps = med(func(r row) float64 { return r.mbps })
		out[i].vsRef = med(func(r row) float64 { return r.vsRef })
		out[i].vsAlt = med(func(r row) float64 { return r.vsAlt })
		out[i].vsFloor = med(func(r row) float64 { return r.vsFloor })
		out[i].p50 = d(func(r row) time.Duration { return r.p50 })
		out[i].p99 = d(func(r row) time.Duration { return r.p99 })
		out[i].cpuServer = d(func(r row) time.Duration { return r.cpuServer })
		out[i].cpuClient = d(func(r row) time.Duration { return r.cpuClient })
		out[i].cpuOther = d(func(r row) time.Duration { return r.cpuOther })
		out[i].errors = 0
		for _, r := range all {
			out[i].errors += r.errors
		}
	}
	return out
}

// fsOf names the file system type of dir ("" : the temporary directory).
func fsOf(dir string) string {
	if dir == "" {
		dir = os.TempDir()
	}
	data, err := os.ReadFile("/proc/mounts")
	if err != nil {
		return dir
	}
	abs, _ := filepath.Abs(dir)
	best, typ := "", "?"
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && (abs == f[1] || strings.HasPrefix(abs, strings.TrimSuffix(f[1], "/")+"/")) && len(f[1]) > len(best) {
			best, typ = f[1], f[2]
		}
	}
	return fmt.Sprintf("%s (%s)", dir, typ)
}
