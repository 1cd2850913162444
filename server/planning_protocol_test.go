package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/iceberg-go/catalog"
	icebergio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/bingsan/bingsan/internal/s3test"
	"github.com/bingsan/bingsan/metrics"
	"github.com/bingsan/bingsan/planning"
	"github.com/bingsan/bingsan/server/servertest"
)

// The planning operations over raw HTTP: what the answers look like
// (completed inline, plan tasks, submitted and polled, cancelled, failed),
// and the spec's errors for bad requests, which change nothing.

// planTables is a server with tables for protocol tests: "big" has six data
// files in six manifests, "small" two, "empty" none.
type planTables struct {
	*planEnv
	big, small *table.Table
	bigSnaps   []int64
	url        func(table string) string // .../namespaces/proto/tables/<table>
}

func startPlanTables(ctx context.Context, t *testing.T, b servertest.Backend, cfg servertest.Config) *planTables {
	t.Helper()
	e := newPlanEnv(ctx, t, b, false, cfg)
	p := &planTables{planEnv: e}
	p.url = func(name string) string { return e.base + "/namespaces/proto/tables/" + name }
	if err := e.cat.CreateNamespace(ctx, catalog.ToIdentifier("proto"), nil); err != nil {
		t.Fatal(err)
	}
	mk := func(name string, files int) (*table.Table, []int64) {
		tbl, err := e.cat.CreateTable(ctx, catalog.ToIdentifier("proto", name), e2eSchema())
		if err != nil {
			t.Fatal(err)
		}
		var snaps []int64
		for i := range files {
			rows := []e2eRow{{int64(10*i + 1), fmt.Sprintf("r%d", i)}, {int64(10*i + 2), "x"}}
			if tbl, err = e2eAppend(ctx, t, tbl, rows); err != nil {
				t.Fatal(err)
			}
			snaps = append(snaps, tbl.CurrentSnapshot().SnapshotID)
		}
		return tbl, snaps
	}
	p.big, p.bigSnaps = mk("big", 6)
	p.small, _ = mk("small", 2)
	mk("empty", 0)
	return p
}

// planned collects every file path of a plan answer, fetching its plan
// tasks.
func (p *planTables) planned(t *testing.T, tableName string, answer map[string]json.RawMessage, headers ...string) []string {
	t.Helper()
	var paths []string
	collect := func(m map[string]json.RawMessage) []string {
		var tasks []struct {
			DataFile struct {
				FilePath string `json:"file-path"`
			} `json:"data-file"`
		}
		if raw, ok := m["file-scan-tasks"]; ok {
			if err := json.Unmarshal(raw, &tasks); err != nil {
				t.Fatalf("file-scan-tasks: %v: %s", err, raw)
			}
		}
		for _, task := range tasks {
			paths = append(paths, task.DataFile.FilePath)
		}
		var handles []string
		if raw, ok := m["plan-tasks"]; ok {
			if err := json.Unmarshal(raw, &handles); err != nil {
				t.Fatal(err)
			}
		}
		return handles
	}
	handles := collect(answer)
	for _, h := range handles {
		body, _ := json.Marshal(map[string]string{"plan-task": h})
		status, resp := callT(t, "POST", p.url(tableName)+"/tasks", string(body), headers...)
		if status != 200 {
			t.Fatalf("fetchScanTasks %s: %d %s", h, status, resp)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(resp, &m); err != nil {
			t.Fatal(err)
		}
		if more := collect(m); len(more) > 0 {
			t.Fatalf("plan task %s returned more plan tasks: %v", h, more)
		}
	}
	slices.Sort(paths)
	return paths
}

// poll fetches a plan's result until it is no longer submitted.
func (p *planTables) poll(t *testing.T, tableName, planID string) map[string]json.RawMessage {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		status, resp := callT(t, "GET", p.url(tableName)+"/plan/"+url.PathEscape(planID), "")
		if status != 200 {
			t.Fatalf("fetchPlanningResult: %d %s", status, resp)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(resp, &m); err != nil {
			t.Fatal(err)
		}
		if s := jsonString(t, m["status"]); s != "submitted" {
			if _, ok := m["plan-id"]; ok {
				t.Errorf("fetchPlanningResult answer has a plan-id: %s", resp)
			}
			return m
		}
		if _, ok := m["file-scan-tasks"]; ok {
			t.Fatalf("submitted answer with tasks: %s", resp)
		}
		if time.Now().After(deadline) {
			t.Fatalf("plan %s still submitted after a minute", planID)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func localPaths(ctx context.Context, t *testing.T, scan *table.Scan) []string {
	t.Helper()
	defer scan.Close()
	tasks, err := scan.PlanFiles(ctx)
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

func TestPlanningProtocol(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		m := metrics.New(metrics.Options{NoRuntime: true})
		p := startPlanTables(ctx, t, b, servertest.Config{Metrics: m,
			Planning: &planning.Options{TasksPerChunk: 2, AsyncManifests: 3}})
		eventsBefore := lastEvent(t, p.srv)
		wantBig := localPaths(ctx, t, p.big.Scan())

		t.Run("sync, inline", func(t *testing.T) {
			status, m, resp := planBody(t, p.url("small")+"/plan", `{}`)
			if status != 200 || jsonString(t, m["status"]) != "completed" || m["plan-id"] == nil || m["plan-tasks"] != nil {
				t.Fatalf("%d %s", status, resp)
			}
			if got, want := p.planned(t, "small", m), localPaths(ctx, t, p.small.Scan()); !slices.Equal(got, want) || len(got) != 2 {
				t.Fatalf("planned %v, want %v", got, want)
			}
		})

		t.Run("sync, plan tasks", func(t *testing.T) {
			// Three manifests: still answered at once, in two chunks.
			body := fmt.Sprintf(`{"snapshot-id":%d,"use-snapshot-schema":true}`, p.bigSnaps[2])
			status, m, resp := planBody(t, p.url("big")+"/plan", body)
			if status != 200 || jsonString(t, m["status"]) != "completed" || m["plan-tasks"] == nil {
				t.Fatalf("%d %s", status, resp)
			}
			want := localPaths(ctx, t, p.big.Scan(table.WithSnapshotID(p.bigSnaps[2])))
			if got := p.planned(t, "big", m); !slices.Equal(got, want) || len(got) != 3 {
				t.Fatalf("planned %v, want %v", got, want)
			}
		})

		t.Run("async, polled", func(t *testing.T) {
			status, m, resp := planBody(t, p.url("big")+"/plan", `{}`)
			if status != 200 || jsonString(t, m["status"]) != "submitted" || m["file-scan-tasks"] != nil {
				t.Fatalf("%d %s", status, resp)
			}
			done := p.poll(t, "big", jsonString(t, m["plan-id"]))
			if s := jsonString(t, done["status"]); s != "completed" {
				t.Fatalf("status %s", s)
			}
			if got := p.planned(t, "big", done); !slices.Equal(got, wantBig) {
				t.Fatalf("planned %v, want %v", got, wantBig)
			}
		})

		t.Run("cancel", func(t *testing.T) {
			_, m, _ := planBody(t, p.url("big")+"/plan", `{}`)
			id := jsonString(t, m["plan-id"])
			if status, resp := callT(t, "DELETE", p.url("big")+"/plan/"+id, ""); status != 204 {
				t.Fatalf("cancel: %d %s", status, resp)
			}
			status, resp := callT(t, "GET", p.url("big")+"/plan/"+id, "")
			if status != 200 || !strings.Contains(string(resp), `"status":"cancelled"`) || strings.Contains(string(resp), "tasks") {
				t.Fatalf("after cancel: %d %s", status, resp)
			}
			// Its tasks are gone; cancelling again changes nothing.
			status, resp = callT(t, "POST", p.url("big")+"/tasks", fmt.Sprintf(`{"plan-task":%q}`, id+".1"))
			if status != 404 || errorOf(t, status, resp).Type != "NoSuchPlanTaskException" {
				t.Fatalf("tasks of a cancelled plan: %d %s", status, resp)
			}
			if status, resp := callT(t, "DELETE", p.url("big")+"/plan/"+id, ""); status != 204 {
				t.Fatalf("second cancel: %d %s", status, resp)
			}
		})

		t.Run("idempotency key", func(t *testing.T) {
			// A retried submission (same key, same request) is the same plan;
			// a fetch of tasks is answered again, not replayed.
			const key = "01890a5d-ac96-774b-bcce-b302099a8057"
			_, first, _ := planBody(t, p.url("small")+"/plan", `{}`, "Idempotency-Key", key)
			_, again, _ := planBody(t, p.url("small")+"/plan", `{}`, "Idempotency-Key", key)
			if jsonString(t, first["plan-id"]) != jsonString(t, again["plan-id"]) {
				t.Fatalf("replayed submission has another plan: %s / %s", first["plan-id"], again["plan-id"])
			}
			status, resp := callT(t, "POST", p.url("small")+"/plan", `{"select":["id"]}`, "Idempotency-Key", key)
			if status != 422 {
				t.Fatalf("same key, other request: %d %s", status, resp)
			}
		})

		t.Run("empty table, and a filter that prunes everything", func(t *testing.T) {
			for _, c := range []struct{ table, body string }{
				{"empty", `{}`},
				{"small", `{"filter":{"type":"eq","term":"id","value":999}}`},
				{"small", `{"filter":false}`},
				{"small", `{"filter":{"type":"false"}}`},
			} {
				status, m, resp := planBody(t, p.url(c.table)+"/plan", c.body)
				if status != 200 || jsonString(t, m["status"]) != "completed" || string(m["file-scan-tasks"]) != "[]" || m["plan-tasks"] != nil {
					t.Errorf("%s %s: %d %s", c.table, c.body, status, resp)
				}
			}
		})

		t.Run("spec form of constants", func(t *testing.T) {
			status, m, resp := planBody(t, p.url("small")+"/plan", `{"filter":{"type":"not","child":{"type":"false"}}}`)
			if status != 200 || jsonString(t, m["status"]) != "completed" || len(p.planned(t, "small", m)) != 2 {
				t.Fatalf("%d %s", status, resp)
			}
		})

		t.Run("incremental", func(t *testing.T) {
			body := fmt.Sprintf(`{"start-snapshot-id":%d,"end-snapshot-id":%d}`, p.bigSnaps[1], p.bigSnaps[4])
			status, m, resp := planBody(t, p.url("big")+"/plan", body)
			if status != 200 {
				t.Fatalf("%d %s", status, resp)
			}
			if jsonString(t, m["status"]) == "submitted" {
				m = p.poll(t, "big", jsonString(t, m["plan-id"]))
			}
			local, err := p.big.NewIncrementalAppendScan().FromSnapshotExclusive(p.bigSnaps[1]).ToSnapshot(p.bigSnaps[4]).PlanFiles(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, task := range local {
				want = append(want, task.File.FilePath())
			}
			slices.Sort(want)
			if got := p.planned(t, "big", m); !slices.Equal(got, want) || len(got) != 3 {
				t.Fatalf("planned %v, want %v", got, want)
			}
		})

		t.Run("stats-fields", func(t *testing.T) {
			for _, c := range []struct {
				body string
				keys string
			}{
				{`{}`, ""},
				{`{"stats-fields":["id"]}`, `"lower-bounds":{"keys":[1]`},
				{`{"stats-fields":["NAME"],"case-sensitive":false}`, `"lower-bounds":{"keys":[2]`},
			} {
				status, _, resp := planBody(t, p.url("small")+"/plan", c.body)
				if status != 200 {
					t.Fatalf("%s: %d %s", c.body, status, resp)
				}
				if has := strings.Contains(string(resp), "bounds"); has != (c.keys != "") || (c.keys != "" && !strings.Contains(string(resp), c.keys)) {
					t.Errorf("%s: %s", c.body, resp)
				}
			}
		})

		t.Run("min-rows-requested", func(t *testing.T) {
			// Without a filter or deletes, as few files as give that many
			// rows, as iceberg-go plans with a limit.
			_, m, _ := planBody(t, p.url("big")+"/plan", `{"min-rows-requested":3}`)
			if jsonString(t, m["status"]) == "submitted" {
				m = p.poll(t, "big", jsonString(t, m["plan-id"]))
			}
			got := p.planned(t, "big", m)
			if want := localPaths(ctx, t, p.big.Scan(table.WithLimit(3))); !slices.Equal(got, want) || len(got) >= len(wantBig) {
				t.Fatalf("planned %v, want %v", got, want)
			}
		})

		t.Run("bad requests", func(t *testing.T) {
			cases := []struct {
				name, table, body string
				status            int
				typ, message      string
			}{
				{"unknown snapshot", "small", `{"snapshot-id":12345}`, 400, "BadRequestException", "12345"},
				{"unknown column", "small", `{"filter":{"type":"eq","term":"nope","value":1}}`, 400, "BadRequestException", "nope"},
				{"unknown expression", "small", `{"filter":{"type":"bogus","term":"id"}}`, 400, "BadRequestException", "bogus"},
				{"missing value", "small", `{"filter":{"type":"lt","term":"id"}}`, 400, "BadRequestException", "Invalid filter expression"},
				{"not an expression", "small", `{"filter":42}`, 400, "BadRequestException", "42"},
				{"wrong literal", "small", `{"filter":{"type":"eq","term":"id","value":"abc"}}`, 400, "BadRequestException", "abc"},
				{"case matters", "small", `{"filter":{"type":"is-null","term":"ID"}}`, 400, "BadRequestException", "ID"},
				{"true with fields", "small", `{"filter":{"type":"true","term":"id"}}`, 400, "BadRequestException", "Invalid filter"},
				{"select unknown", "small", `{"select":["id","nope"]}`, 400, "BadRequestException", "nope"},
				{"stats unknown", "small", `{"stats-fields":["nope"]}`, 400, "BadRequestException", "nope"},
				{"snapshot and range", "big", fmt.Sprintf(`{"snapshot-id":%d,"start-snapshot-id":%d,"end-snapshot-id":%d}`, p.bigSnaps[1], p.bigSnaps[0], p.bigSnaps[1]), 400, "BadRequestException", "snapshot-id"},
				{"start without end", "big", fmt.Sprintf(`{"start-snapshot-id":%d}`, p.bigSnaps[0]), 400, "BadRequestException", "end-snapshot-id"},
				{"end without start", "big", fmt.Sprintf(`{"end-snapshot-id":%d}`, p.bigSnaps[0]), 400, "BadRequestException", "start-snapshot-id"},
				{"range backwards", "big", fmt.Sprintf(`{"start-snapshot-id":%d,"end-snapshot-id":%d}`, p.bigSnaps[3], p.bigSnaps[1]), 400, "BadRequestException", "ancestor"},
				{"negative min rows", "small", `{"min-rows-requested":-1}`, 400, "BadRequestException", "min-rows-requested"},
				{"not JSON", "small", `{"filter":`, 400, "BadRequestException", ""},
				{"missing table", "nope", `{}`, 404, "NoSuchTableException", "nope"},
			}
			for _, c := range cases {
				status, resp := callT(t, "POST", p.url(c.table)+"/plan", c.body)
				if status != c.status {
					t.Errorf("%s: %d %s", c.name, status, resp)
					continue
				}
				if e := errorOf(t, status, resp); e.Type != c.typ || !strings.Contains(e.Message, c.message) {
					t.Errorf("%s: %s %q", c.name, e.Type, e.Message)
				}
			}
			status, resp := callT(t, "POST", p.srv.URL+"/v1/namespaces/nope/tables/t/plan", `{}`)
			if status != 404 {
				t.Errorf("missing namespace: %d %s", status, resp)
			}
		})

		t.Run("unknown and foreign plans", func(t *testing.T) {
			_, m, _ := planBody(t, p.url("small")+"/plan", `{}`)
			id := jsonString(t, m["plan-id"])
			for _, c := range []struct {
				name, method, url, body string
				typ                     string
			}{
				{"unknown id", "GET", p.url("small") + "/plan/AAAAAAAAAAAAAAAAAAAAAA", "", "NoSuchPlanIdException"},
				{"garbage id", "GET", p.url("small") + "/plan/" + url.PathEscape("x\x00\xff"+strings.Repeat("y", 1000)), "", "NoSuchPlanIdException"},
				{"another table's plan", "GET", p.url("big") + "/plan/" + id, "", "NoSuchPlanIdException"},
				{"cancel another table's plan", "DELETE", p.url("big") + "/plan/" + id, "", "NoSuchPlanIdException"},
				{"cancel unknown", "DELETE", p.url("small") + "/plan/AAAAAAAAAAAAAAAAAAAAAA", "", "NoSuchPlanIdException"},
				{"another table's task", "POST", p.url("big") + "/tasks", fmt.Sprintf(`{"plan-task":%q}`, id+".0"), "NoSuchPlanTaskException"},
				{"task past the end", "POST", p.url("small") + "/tasks", fmt.Sprintf(`{"plan-task":%q}`, id+".7"), "NoSuchPlanTaskException"},
				{"malformed task", "POST", p.url("small") + "/tasks", `{"plan-task":"x.-1"}`, "NoSuchPlanTaskException"},
				{"task of a missing table", "POST", p.url("gone") + "/tasks", fmt.Sprintf(`{"plan-task":%q}`, id+".0"), "NoSuchTableException"},
				{"plan of a missing table", "GET", p.url("gone") + "/plan/" + id, "", "NoSuchTableException"},
			} {
				status, resp := callT(t, c.method, c.url, c.body)
				if status != 404 || errorOf(t, status, resp).Type != c.typ {
					t.Errorf("%s: %d %s", c.name, status, resp)
				}
			}
			if status, resp := callT(t, "POST", p.url("small")+"/tasks", `{}`); status != 400 {
				t.Errorf("tasks without plan-task: %d %s", status, resp)
			}
			// The plan is still there for its own table.
			if status, resp := callT(t, "GET", p.url("small")+"/plan/"+id, ""); status != 200 {
				t.Fatalf("own plan: %d %s", status, resp)
			}
		})

		t.Run("no events, metrics", func(t *testing.T) {
			if after := lastEvent(t, p.srv); after != eventsBefore {
				t.Errorf("planning wrote events: last id %d, was %d", after, eventsBefore)
			}
			var out strings.Builder
			if err := m.Write(&out); err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{`bingsan_scan_plans_total{outcome="completed"}`, `bingsan_scan_plans_total{outcome="cancelled"}`,
				"bingsan_scan_plan_duration_seconds_count", "bingsan_scan_plan_tasks_bucket", "bingsan_scan_plans_submitted_total"} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("metrics lack %s", want)
				}
			}
		})
	})
}

func lastEvent(t *testing.T, srv *servertest.Instance) int64 {
	t.Helper()
	id, err := srv.Store.LastEventID(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// Plans expire: afterwards their ids and tasks are unknown.
func TestPlanningExpiry(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p := startPlanTables(ctx, t, servertest.SQLite, servertest.Config{Planning: &planning.Options{Lifetime: time.Second, TasksPerChunk: 1}})
	_, m, resp := planBody(t, p.url("small")+"/plan", `{}`)
	id := jsonString(t, m["plan-id"])
	if m["plan-tasks"] == nil {
		t.Fatalf("no plan tasks: %s", resp)
	}
	time.Sleep(1100 * time.Millisecond)
	status, resp := callT(t, "GET", p.url("small")+"/plan/"+id, "")
	if status != 404 || errorOf(t, status, resp).Type != "NoSuchPlanIdException" {
		t.Fatalf("expired plan: %d %s", status, resp)
	}
	status, resp = callT(t, "POST", p.url("small")+"/tasks", fmt.Sprintf(`{"plan-task":%q}`, id+".1"))
	if status != 404 || errorOf(t, status, resp).Type != "NoSuchPlanTaskException" {
		t.Fatalf("task of an expired plan: %d %s", status, resp)
	}
}

// A plan is the caller's: another principal, even one that may read the
// table, gets 404; a principal that may not read the table gets 403.
func TestPlanningPrincipals(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		e := startAuth(t, b, servertest.Config{})
		e.must(200, "POST", "/v1/namespaces", e.admin, `{"namespace":["sales"]}`, nil)
		e.must(200, "POST", "/v1/namespaces/sales/tables", e.admin, epCreateTableBody("orders"), nil)
		alice, _ := e.principal("alice", "readers")
		e.grant("readers", "read", "namespace", "default", []string{"sales"}, "")
		bob, _ := e.principal("bob", "readers")
		nobody, _ := e.principal("nobody")
		var plan struct {
			Status string `json:"status"`
			PlanID string `json:"plan-id"`
		}
		e.must(200, "POST", "/v1/namespaces/sales/tables/orders/plan", alice, `{}`, &plan)
		if plan.Status != "completed" || plan.PlanID == "" {
			t.Fatalf("alice's plan: %+v", plan)
		}
		e.must(200, "GET", "/v1/namespaces/sales/tables/orders/plan/"+plan.PlanID, alice, nil, nil)
		for _, c := range []struct{ method, path, body string }{
			{"GET", "/v1/namespaces/sales/tables/orders/plan/" + plan.PlanID, ""},
			{"DELETE", "/v1/namespaces/sales/tables/orders/plan/" + plan.PlanID, ""},
			{"POST", "/v1/namespaces/sales/tables/orders/tasks", fmt.Sprintf(`{"plan-task":%q}`, plan.PlanID+".0")},
		} {
			var body any
			if c.body != "" {
				body = c.body
			}
			status, resp := e.do(c.method, c.path, bob, body)
			if status != 404 || !strings.HasPrefix(errorOf(t, status, resp).Type, "NoSuchPlan") {
				t.Errorf("bob %s %s: %d %s", c.method, c.path, status, resp)
			}
			if status, resp := e.do(c.method, c.path, nobody, body); status != 403 {
				t.Errorf("nobody %s %s: %d %s", c.method, c.path, status, resp)
			}
		}
		if status, resp := e.do("POST", "/v1/namespaces/sales/tables/orders/plan", nobody, `{}`); status != 403 {
			t.Errorf("nobody plans: %d %s", status, resp)
		}
		// Bob's cancel did nothing.
		e.must(200, "GET", "/v1/namespaces/sales/tables/orders/plan/"+plan.PlanID, alice, nil, &plan)
		if plan.Status != "completed" {
			t.Fatalf("alice's plan after bob's cancel: %+v", plan)
		}
	})
}

// Without a planner, none of the four operations is advertised, and all
// answer 501: a client that finds one expects the others to work.
func TestPlanningDisabled(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, servertest.SQLite, servertest.Config{NoPlanning: true})
	status, body := callT(t, "GET", srv.URL+"/v1/config", "")
	if status != 200 || strings.Contains(string(body), "/plan") || strings.Contains(string(body), "/tasks") {
		t.Fatalf("config: %d %s", status, body)
	}
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/v1/namespaces/ns/tables/t/plan", `{}`},
		{"GET", "/v1/namespaces/ns/tables/t/plan/p", ""},
		{"DELETE", "/v1/namespaces/ns/tables/t/plan/p", ""},
		{"POST", "/v1/namespaces/ns/tables/t/tasks", `{"plan-task":"p.0"}`},
	} {
		status, resp := callT(t, c.method, srv.URL+c.path, c.body)
		if status != 501 || errorOf(t, status, resp).Type != "NotImplementedException" {
			t.Errorf("%s %s: %d %s", c.method, c.path, status, resp)
		}
	}
}

// A client that asks for vended credentials gets, with a completed plan,
// read-only credentials for the table's files; one that does not, none.
func TestPlanningVendedCredentials(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e := newPlanEnv(ctx, t, servertest.SQLite, true, servertest.Config{})
	if err := e.cat.CreateNamespace(ctx, catalog.ToIdentifier("db"), nil); err != nil {
		t.Fatal(err)
	}
	tbl, err := e.cat.CreateTable(ctx, catalog.ToIdentifier("db", "t"), e2eSchema())
	if err != nil {
		t.Fatal(err)
	}
	if tbl, err = e2eAppend(ctx, t, tbl, []e2eRow{{1, "a"}}); err != nil {
		t.Fatal(err)
	}
	planURL := e.base + "/namespaces/db/tables/t/plan"
	status, m, resp := planBody(t, planURL, `{}`, "X-Iceberg-Access-Delegation", "vended-credentials")
	if status != 200 || jsonString(t, m["status"]) != "completed" {
		t.Fatalf("%d %s", status, resp)
	}
	var creds []struct {
		Prefix string            `json:"prefix"`
		Config map[string]string `json:"config"`
	}
	if err := json.Unmarshal(m["storage-credentials"], &creds); err != nil || len(creds) != 1 {
		t.Fatalf("storage-credentials: %v %s", err, resp)
	}
	c := creds[0]
	if c.Prefix != tbl.Location() || c.Config["s3.access-key-id"] == "" || c.Config["s3.session-token"] == "" {
		t.Fatalf("credential: %+v", c)
	}
	// Read-only: reading a data file works, writing next to it does not.
	s3srv := s3test.Config()
	client := s3srv.Client(c.Config["s3.access-key-id"], c.Config["s3.secret-access-key"], c.Config["s3.session-token"])
	u, err := url.Parse(tbl.Location())
	if err != nil {
		t.Fatal(err)
	}
	key := strings.TrimPrefix(u.Path, "/") + "/data/planted.parquet"
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: &u.Host, Key: &key, Body: strings.NewReader("x")}); err == nil {
		t.Fatal("planning credentials can write")
	}
	files := e2eDataFiles(ctx, t, tbl)
	fu, _ := url.Parse(files[0])
	fkey := strings.TrimPrefix(fu.Path, "/")
	if _, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: &fu.Host, Key: &fkey}); err != nil {
		t.Fatalf("planning credentials cannot read a data file: %v", err)
	}
	_, m, resp = planBody(t, planURL, `{}`)
	if _, ok := m["storage-credentials"]; ok {
		t.Fatalf("credentials without asking: %s", resp)
	}
}

// A plan that cannot be made (here: a manifest of the table is gone) is
// answered with the error while the client waits, and reads "failed", with
// the error, when it was planned in the background. Neither is retried.
func TestPlanningFailures(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, c := range []struct {
		name  string
		async int
	}{{"sync", 0}, {"async", -1}} {
		t.Run(c.name, func(t *testing.T) {
			p := startPlanTables(ctx, t, servertest.SQLite, servertest.Config{Planning: &planning.Options{AsyncManifests: c.async}})
			snap := p.small.CurrentSnapshot()
			manifests, err := snap.Manifests(mustFS(ctx, t, p.small))
			if err != nil || len(manifests) == 0 {
				t.Fatal(manifests, err)
			}
			if err := os.Remove(localPath(t, manifests[0].FilePath())); err != nil {
				t.Fatal(err)
			}
			status, m, resp := planBody(t, p.url("small")+"/plan", `{}`)
			if c.async == 0 {
				if status != 500 || !strings.Contains(errorOf(t, status, resp).Message, "missing") {
					t.Fatalf("sync plan over a missing manifest: %d %s", status, resp)
				}
				return
			}
			if status != 200 || jsonString(t, m["status"]) != "submitted" {
				t.Fatalf("%d %s", status, resp)
			}
			done := p.poll(t, "small", jsonString(t, m["plan-id"]))
			var e struct {
				Code    int    `json:"code"`
				Type    string `json:"type"`
				Message string `json:"message"`
			}
			if err := json.Unmarshal(done["error"], &e); err != nil || jsonString(t, done["status"]) != "failed" ||
				e.Code != 500 || e.Type != "InternalServerError" || !strings.Contains(e.Message, "missing") || done["file-scan-tasks"] != nil {
				t.Fatalf("failed plan: %v %s", err, done["error"])
			}
		})
	}
}

func mustFS(ctx context.Context, t *testing.T, tbl *table.Table) icebergio.IO {
	t.Helper()
	fs, err := tbl.FS(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return fs
}
