package planning_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/rest"
	icebergio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/planning"
	"github.com/bingsan/bingsan/server/servertest"
	"github.com/bingsan/bingsan/store"
)

// A catalog with a table of files data files, and the plan store.
type fixture struct {
	srv   *servertest.Instance
	plans store.PlanStore
	id    store.Ident
	files []string
}

func newFixture(ctx context.Context, t *testing.T, b servertest.Backend, files int) *fixture {
	t.Helper()
	srv := servertest.Start(t, b, servertest.Config{NoPlanning: true})
	cat, err := rest.NewCatalog(ctx, "bingsan", srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	if err := cat.CreateNamespace(ctx, catalog.ToIdentifier("ns"), nil); err != nil {
		t.Fatal(err)
	}
	f := &fixture{srv: srv, plans: srv.Store, id: store.Ident{Warehouse: "default", Namespace: []string{"ns"}, Name: "t"}}
	f.files = seedTable(ctx, t, cat, files)
	return f
}

// seedTable creates table ns.t with files one-row data files, one append
// each, and returns their paths as iceberg-go plans them, sorted.
func seedTable(ctx context.Context, t *testing.T, cat *rest.Catalog, files int) []string {
	t.Helper()
	sc := iceberg.NewSchema(0, iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64, Required: true})
	tbl, err := cat.CreateTable(ctx, catalog.ToIdentifier("ns", "t"), sc)
	if err != nil {
		t.Fatal(err)
	}
	as, err := table.SchemaToArrowSchema(tbl.Schema(), nil, false, false)
	if err != nil {
		t.Fatal(err)
	}
	for i := range files {
		at, err := array.TableFromJSON(memory.DefaultAllocator, as, []string{fmt.Sprintf(`[{"id":%d}]`, i)})
		if err != nil {
			t.Fatal(err)
		}
		tbl, err = tbl.AppendTable(ctx, at, 1, nil)
		at.Release()
		if err != nil {
			t.Fatal(err)
		}
	}
	tasks, err := tbl.Scan().PlanFiles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, task := range tasks {
		out = append(out, task.File.FilePath())
	}
	slices.Sort(out)
	return out
}

func (f *fixture) service(node string, workers int, tables planning.Tables) *planning.Service {
	if tables == nil {
		tables = f.srv.Catalog
	}
	return planning.New(planning.Options{Store: f.plans, Tables: tables, Node: node, Workers: workers,
		TasksPerChunk: 2, WindowFiles: 1, PollInterval: 20 * time.Millisecond, Lease: time.Second})
}

// run runs s's background work until the test ends (or stop is called).
func run(t *testing.T, s *planning.Service) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Run(ctx) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

// wait polls a plan until it leaves submitted.
func wait(ctx context.Context, t *testing.T, s *planning.Service, id store.Ident, planID string) planning.Result {
	t.Helper()
	for {
		res, err := s.Result(ctx, id, planID, planning.Caller{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != planning.Submitted {
			return res
		}
		select {
		case <-ctx.Done():
			t.Fatalf("plan %s still submitted", planID)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// paths reads every file path of a completed plan, plan tasks included.
func paths(ctx context.Context, t *testing.T, s *planning.Service, id store.Ident, res planning.Result) []string {
	t.Helper()
	var out []string
	read := func(raw json.RawMessage) {
		var chunk struct {
			Tasks []struct {
				File struct {
					Path string `json:"file-path"`
				} `json:"data-file"`
			} `json:"file-scan-tasks"`
		}
		if err := json.Unmarshal(raw, &chunk); err != nil {
			t.Fatal(err)
		}
		for _, task := range chunk.Tasks {
			out = append(out, task.File.Path)
		}
	}
	read(res.Tasks)
	for _, h := range res.PlanTasks {
		raw, err := s.Tasks(ctx, id, h, planning.Caller{})
		if err != nil {
			t.Fatal(err)
		}
		read(raw)
	}
	slices.Sort(out)
	return out
}

// A node without planners stores plans; another node plans them, and
// either answers for them.
func TestQueuedPlanIsPlannedElsewhere(t *testing.T) {
	t.Parallel()
	for _, b := range servertest.Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			f := newFixture(ctx, t, b, 5)
			api := f.service("api", -1, nil)
			run(t, api)
			res, err := api.Plan(ctx, f.id, planning.Request{CaseSensitive: true}, planning.Caller{})
			if err != nil || res.Status != planning.Submitted {
				t.Fatalf("Plan on a node without planners: %+v %v", res, err)
			}
			worker := f.service("worker", 1, nil)
			run(t, worker)
			done := wait(ctx, t, api, f.id, res.PlanID)
			if done.Status != planning.Completed || len(done.PlanTasks) != 2 {
				t.Fatalf("result: %+v", done)
			}
			if got := paths(ctx, t, api, f.id, done); !slices.Equal(got, f.files) {
				t.Fatalf("planned %v, want %v", got, f.files)
			}
			if got := paths(ctx, t, worker, f.id, done); !slices.Equal(got, f.files) {
				t.Fatalf("planned (read on the worker) %v, want %v", got, f.files)
			}
		})
	}
}

// A plan whose planner died (its lease lapsed) is resumed elsewhere, from
// the start; one that was started too often fails instead of staying
// submitted.
func TestAbandonedPlansAreResumedOrFailed(t *testing.T) {
	t.Parallel()
	for _, b := range servertest.Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			f := newFixture(ctx, t, b, 3)
			loc, _, err := f.srv.Catalog.CurrentTable(ctx, f.id)
			if err != nil {
				t.Fatal(err)
			}
			now := time.Now()
			abandoned := func(id string, attempts int) store.Plan {
				return store.Plan{ID: id, Table: f.id, Status: store.PlanSubmitted, Request: []byte(`{"case-sensitive":true}`),
					MetadataLocation: loc, Owner: "dead", LeaseUntil: now.Add(-time.Second), Attempts: attempts,
					CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
			}
			const resumedID, exhaustedID = "AAAAAAAAAAAAAAAAAAAAAA", "BBBBBBBBBBBBBBBBBBBBBA"
			for _, p := range []store.Plan{abandoned(resumedID, 1), abandoned(exhaustedID, 3)} {
				if err := f.plans.CreatePlan(ctx, p); err != nil {
					t.Fatal(err)
				}
			}
			// What the dead planner wrote before it died is not kept.
			if ok, err := f.plans.AddPlanChunk(ctx, resumedID, "dead", 0, 1, []byte(`{"file-scan-tasks":[{"bogus":true}]}`)); err != nil || !ok {
				t.Fatal(ok, err)
			}
			s := f.service("rescuer", 2, nil)
			run(t, s)
			res := wait(ctx, t, s, f.id, resumedID)
			if res.Status != planning.Completed {
				t.Fatalf("resumed plan: %+v", res)
			}
			if got := paths(ctx, t, s, f.id, res); !slices.Equal(got, f.files) {
				t.Fatalf("resumed plan planned %v, want %v", got, f.files)
			}
			if p, err := f.plans.GetPlan(ctx, resumedID); err != nil || p.Attempts != 2 {
				t.Fatalf("resumed plan row: %+v %v", p, err)
			}
			res = wait(ctx, t, s, f.id, exhaustedID)
			if res.Status != planning.Failed || !strings.Contains(res.Err.Error(), "interrupted 3 times") {
				t.Fatalf("exhausted plan: %+v", res)
			}
		})
	}
}

// A node that stops hands its running plans back at once (no waiting for
// the lease), and another node finishes them.
func TestStoppingNodeHandsPlansOver(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	f := newFixture(ctx, t, servertest.Postgres, 4)
	stuck := &stuckTables{Tables: f.srv.Catalog, opened: make(chan struct{}), release: make(chan struct{})}
	a := f.service("a", 1, stuck)
	stopA := run(t, a)
	queue := f.service("api", -1, nil)
	res, err := queue.Plan(ctx, f.id, planning.Request{CaseSensitive: true}, planning.Caller{})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-stuck.opened: // a is planning it, and stuck reading a manifest
	case <-ctx.Done():
		t.Fatal("node a never started the plan")
	}
	stopped := make(chan struct{})
	go func() { defer close(stopped); stopA() }()
	time.Sleep(50 * time.Millisecond)
	close(stuck.release) // the read fails; a is stopping, so the plan goes back
	<-stopped
	p, err := f.plans.GetPlan(ctx, res.PlanID)
	if err != nil || p.Status != store.PlanSubmitted || p.Owner != "" {
		t.Fatalf("after a stopped: %+v %v", p, err)
	}
	b := f.service("b", 1, nil)
	run(t, b)
	done := wait(ctx, t, b, f.id, res.PlanID)
	if got := paths(ctx, t, b, f.id, done); done.Status != planning.Completed || !slices.Equal(got, f.files) {
		t.Fatalf("finished on b: %+v %v", done, got)
	}
}

// stuckTables hands out a FileIO whose first manifest read blocks until
// release is closed, and then fails.
type stuckTables struct {
	planning.Tables
	once            sync.Once
	opened, release chan struct{}
}

func (s *stuckTables) TableFS(ctx context.Context, loc string) (icebergio.IO, error) {
	fio, err := s.Tables.TableFS(ctx, loc)
	return &stuckIO{IO: fio, s: s}, err
}

type stuckIO struct {
	icebergio.IO
	s *stuckTables
}

func (f *stuckIO) Open(name string) (icebergio.File, error) {
	if strings.HasSuffix(name, ".avro") && !strings.Contains(name, "snap-") {
		first := false
		f.s.once.Do(func() { first = true; close(f.s.opened) })
		if first {
			<-f.s.release
			return nil, errors.New("storage went away")
		}
	}
	return f.IO.Open(name)
}

// Cancelling a plan that is still being planned stops it, and frees what
// it stored.
func TestCancelStopsPlanning(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	f := newFixture(ctx, t, servertest.SQLite, 3)
	stuck := &stuckTables{Tables: f.srv.Catalog, opened: make(chan struct{}), release: make(chan struct{})}
	s := f.service("a", 1, stuck)
	run(t, s)
	queue := f.service("api", -1, nil)
	res, err := queue.Plan(ctx, f.id, planning.Request{CaseSensitive: true}, planning.Caller{})
	if err != nil {
		t.Fatal(err)
	}
	<-stuck.opened
	if err := queue.Cancel(ctx, f.id, res.PlanID, planning.Caller{}); err != nil {
		t.Fatal(err)
	}
	close(stuck.release)
	got, err := s.Result(ctx, f.id, res.PlanID, planning.Caller{})
	if err != nil || got.Status != planning.Cancelled {
		t.Fatalf("cancelled plan: %+v %v", got, err)
	}
	// The planner noticed: it neither completes nor fails the plan.
	time.Sleep(200 * time.Millisecond)
	if p, err := f.plans.GetPlan(ctx, res.PlanID); err != nil || p.Status != store.PlanCancelled {
		t.Fatalf("plan row: %+v %v", p, err)
	}
	if _, err := s.Tasks(ctx, f.id, res.PlanID+".0", planning.Caller{}); !errs.Is(err, errs.NoSuchPlanTask) {
		t.Fatalf("tasks of a cancelled plan: %v", err)
	}
}
