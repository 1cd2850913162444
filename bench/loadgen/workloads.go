package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// request is one request of a workload; body nil for GETs.
type request struct {
	method, path string
	body         []byte
}

// workload builds the next request of worker w (its own rng and counter).
type workload struct {
	next   func(w *worker) request
	commit bool // report commit attempts/conflicts/retries from /metrics
	// floor sends the requests to the floor server instead of Bingsan;
	// refresh has it copy the catalog's current document sizes first.
	floor, refresh bool
}

type worker struct {
	id  int
	n   int
	rng *rand.Rand
}

// step is one line of the report: a Bingsan workload or a pgbench run.
type step struct {
	name     string
	workload *workload
	pgbench  []string // pgbench arguments besides connection and timing
	ref      string   // the step this one is compared with
	alt      string   // a second step it is compared with
	floor    string   // the floor step of this workload
	target   string
}

// Names of the pgbench reference runs.
const (
	pgSelect = "pgbench -S (select by primary key)"
	pgHot    = "pgbench: UPDATE one hot row"
	pgSpread = "pgbench: UPDATE one of 100 rows"
	pgCount  = "pgbench: UPDATE one of 100 rows, then one counter row"
)

func plan(s seeded) []step {
	get := func(path string) request { return request{method: "GET", path: path} }
	commitBody := func(w *worker) []byte {
		w.n++
		return []byte(`{"requirements":[],"updates":[{"action":"set-properties","updates":{"bench.writer-` +
			strconv.Itoa(w.id) + `":"` + strconv.Itoa(w.n) + `"}}]}`)
	}
	var created atomic.Int64 // names stay unique across warm-ups and rounds
	newName := func(w *worker) string {
		return fmt.Sprintf("c%s_%d", s.runID, created.Add(1))
	}
	spread := func(w *worker) string { return tableName(w.rng.IntN(numTables)) }
	// Every pgbench reference runs right before the workloads measured
	// against it, and every floor right after its workload, so that they
	// see the same machine.
	return []step{
		{name: "getNamespace", workload: &workload{next: func(w *worker) request {
			return get("/v1/namespaces/" + nsName(w.rng.IntN(numNS)))
		}}},
		{name: "listNamespaces (101, one page)", workload: &workload{next: func(w *worker) request {
			return get("/v1/namespaces")
		}}},
		{name: pgSelect, pgbench: []string{"-S"}},
		{name: "loadTable (small)", workload: &workload{next: func(w *worker) request {
			return get(tablePath("small"))
		}}, ref: pgSelect, floor: floorLoad, target: "≥ 0.9× floor"},
		{name: floorLoad, workload: &workload{floor: true, next: func(w *worker) request {
			return get("/load/small")
		}}, ref: pgSelect},
		{name: fmt.Sprintf("loadTable (%.1f MB metadata)", float64(s.bigSize)/1e6), workload: &workload{next: func(w *worker) request {
			return get(tablePath("big"))
		}}, target: "served without decoding (MB/s)"},
		{name: pgHot, pgbench: []string{"-n", "-f", "@hot"}},
		{name: "updateTable: one table", workload: &workload{commit: true, next: func(w *worker) request {
			return request{method: "POST", path: tablePath("hot"), body: commitBody(w)}
		}}, ref: pgHot, floor: floorHot, target: "no worse than before"},
		{name: floorHot, workload: &workload{floor: true, refresh: true, next: func(w *worker) request {
			return request{method: "POST", path: "/commit/hot", body: []byte{}}
		}}, ref: pgHot},
		{name: pgSpread, pgbench: []string{"-n", "-f", "@spread"}},
		{name: pgCount, pgbench: []string{"-n", "-f", "@spread-counter"}, ref: pgSpread},
		{name: "updateTable: spread over 100 tables", workload: &workload{commit: true, next: func(w *worker) request {
			return request{method: "POST", path: tablePath(spread(w)), body: commitBody(w)}
		}}, ref: pgSpread, alt: pgCount, floor: floorSpread, target: "≥ 0.7× floor, ≤ 1.0 ms CPU"},
		{name: floorSpread, workload: &workload{floor: true, refresh: true, next: func(w *worker) request {
			return request{method: "POST", path: "/commit/" + spread(w), body: []byte{}}
		}}, ref: pgSpread},
		{name: "createTable", workload: &workload{next: func(w *worker) request {
			return request{method: "POST", path: "/v1/namespaces/" + createNS + "/tables", body: createBody(newName(w))}
		}}, ref: pgSpread, floor: floorCreate, target: "≥ 0.7× floor, ≤ 0.6 ms CPU"},
		{name: floorCreate, workload: &workload{floor: true, next: func(w *worker) request {
			return request{method: "POST", path: "/create/" + newName(w), body: []byte{}}
		}}, ref: pgSpread},
		{name: "90% loadTable / 10% updateTable over 100 tables", workload: &workload{commit: true, next: func(w *worker) request {
			t := tablePath(spread(w))
			if w.rng.IntN(10) == 0 {
				return request{method: "POST", path: t, body: commitBody(w)}
			}
			return get(t)
		}}},
	}
}

// Names of the floor steps.
const (
	floorLoad   = "floor: point select, stored bytes sent"
	floorHot    = "floor: write file + compare-and-swap, one row"
	floorSpread = "floor: write file + compare-and-swap, one of 100 rows"
	floorCreate = "floor: write file in a new directory + insert"
)

// row is a measured step.
type row struct {
	name, ref, alt, floor, target string
	// Ratios of rps to the ref, alt and floor steps' (medians over runs).
	vsRef, vsAlt, vsFloor float64
	rps                   float64
	p50, p99              time.Duration
	errors                int
	bytes                 int64
	mbps                  float64
	commitStats           string
	// CPU time per request (or pgbench transaction): the Bingsan server,
	// the client (load generator or pgbench) and everything else on the
	// machine, which is PostgreSQL plus whatever else runs.
	cpuServer, cpuClient, cpuOther time.Duration
}

// cpuSplit fills r's CPU columns from the deltas of a run of n requests.
func (r *row) cpuSplit(n int64, machine, server, client time.Duration) {
	if n <= 0 {
		return
	}
	other := machine - server - client
	r.cpuServer = server / time.Duration(n)
	r.cpuClient = client / time.Duration(n)
	r.cpuOther = max(0, other) / time.Duration(n)
}

// profileName turns a workload name into a file name.
func profileName(name string) string {
	return strings.Trim(strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, name), "_")
}

// drive runs wl from o.conns workers for o.duration after an unmeasured
// warm-up.
func drive(ctx context.Context, c *client, srv *server, name string, wl *workload, o options) (row, error) {
	if wl.refresh {
		if _, err := c.mustDo(200, "POST", "/refresh", nil); err != nil {
			return row{}, err
		}
	}
	if o.warmup > 0 {
		if _, err := runWorkers(ctx, c, wl, o.conns, o.warmup); err != nil {
			return row{}, err
		}
	}
	profiled := make(chan error, 1)
	if o.profile != "" && srv.pprof != "" && !wl.floor {
		path := filepath.Join(o.profile, profileName(name)+".pprof")
		go func() { profiled <- srv.cpuProfile(o.duration-time.Second, path) }()
	} else {
		profiled <- nil
	}
	cpu0, self0, machine0 := srv.cpuTime(), selfCPU(), machineCPU()
	res, err := runWorkers(ctx, c, wl, o.conns, o.duration)
	if err != nil {
		return row{}, err
	}
	if err := <-profiled; err != nil {
		logf("  profile: %v", err)
	}
	cpu, self, machine := srv.cpuTime()-cpu0, selfCPU()-self0, machineCPU()-machine0
	r := row{
		rps:    float64(res.h.n) / res.elapsed.Seconds(),
		p50:    res.h.quantile(0.50),
		p99:    res.h.quantile(0.99),
		errors: res.errors,
		bytes:  res.bytes,
		mbps:   float64(res.bytes) / 1e6 / res.elapsed.Seconds(),
	}
	r.cpuSplit(int64(res.h.n), machine, cpu, self)
	if res.errors > 0 {
		logf("  %d errors, e.g. %s", res.errors, res.sample)
	}
	logf("  %.0f req/s, p50 %s, p99 %s", r.rps, ms(r.p50), ms(r.p99))
	return r, nil
}

type result struct {
	h       hist
	errors  int
	sample  string
	bytes   int64
	elapsed time.Duration
}

func runWorkers(ctx context.Context, c *client, wl *workload, n int, d time.Duration) (*result, error) {
	var (
		mu    sync.Mutex
		total = &result{}
		wg    sync.WaitGroup
		fatal error
	)
	start := time.Now()
	end := start.Add(d)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &worker{id: i, rng: rand.New(rand.NewPCG(uint64(i), uint64(start.UnixNano())))}
			local := &result{}
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			for ctx.Err() == nil {
				r := wl.next(w)
				req.Reset()
				req.Header.SetMethod(r.method)
				req.SetRequestURI("http://" + c.hc.Addr + r.path)
				if r.body != nil {
					req.Header.SetContentType("application/json")
					req.SetBody(r.body)
				}
				t0 := time.Now()
				if t0.After(end) {
					break
				}
				err := c.hc.Do(req, resp)
				lat := time.Since(t0)
				if err != nil {
					mu.Lock()
					fatal = err
					mu.Unlock()
					return
				}
				local.h.record(lat)
				local.bytes += int64(len(resp.Body()))
				if sc := resp.StatusCode(); sc >= 300 {
					local.errors++
					if local.sample == "" {
						local.sample = fmt.Sprintf("%d %s", sc, bytes.TrimSpace(resp.Body()))
					}
				}
			}
			mu.Lock()
			total.h.merge(&local.h)
			total.errors += local.errors
			total.bytes += local.bytes
			if total.sample == "" {
				total.sample = local.sample
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	total.elapsed = time.Since(start)
	if fatal != nil {
		return nil, fatal
	}
	return total, ctx.Err()
}

// commitCounters are the /metrics series the commit rows report, as
// totals since start-up.
var commitCounters = []string{"bingsan_commit_attempts_total", "bingsan_commit_conflicts_total", "bingsan_commit_retries_total"}

var lastCommit = map[string]float64{}

// scrapeCommitStats summarizes what the commits since the last scrape
// cost: attempts, conflicts and retries per successful commit.
func scrapeCommitStats(c *client) string {
	status, body, err := c.do("GET", "/metrics", nil)
	if err != nil || status != 200 {
		return ""
	}
	now := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		for _, name := range commitCounters {
			if rest, ok := strings.CutPrefix(line, name); ok && (rest[0] == ' ' || rest[0] == '{') {
				f := strings.Fields(rest[strings.LastIndexByte(rest, '}')+1:])
				if len(f) > 0 {
					v, _ := strconv.ParseFloat(f[0], 64)
					now[name] += v
				}
			}
		}
	}
	if len(now) == 0 {
		return ""
	}
	d := func(name string) float64 { return now[name] - lastCommit[name] }
	out := fmt.Sprintf("%.0f attempts, %.0f conflicts, %.0f retries", d(commitCounters[0]), d(commitCounters[1]), d(commitCounters[2]))
	lastCommit = now
	return out
}
