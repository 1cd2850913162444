package planning_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/rest"

	"github.com/bingsan/bingsan/internal/nodetest"
	"github.com/bingsan/bingsan/internal/pgtest"
)

// Three `bingsan serve` processes on one PostgreSQL: a plan submitted on
// one node is planned by another and fetched through a third, and is still
// there after the first node restarts.
func TestPlanningAcrossNodes(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	dsn := pgtest.NewDatabase(t)
	bin := nodetest.BuildBinary(t)
	warehouse := t.TempDir()
	client := &http.Client{Timeout: 30 * time.Second}
	start := func(name string, extra ...string) *nodetest.Node {
		t.Helper()
		n, err := nodetest.Start(t, bin, name, append([]string{
			"--data-dir", filepath.Join(t.TempDir(), name),
			"--warehouse.location", "file://" + warehouse,
			"--store.driver", "postgres",
			"--store.postgres.dsn", dsn,
			"--store.postgres.max-conns", "8",
			"--planning.poll-interval", "100ms",
			"--planning.tasks-per-response", "2",
		}, extra...)...)
		if err != nil {
			t.Fatal(err)
		}
		nodetest.WaitReady(t, client, n)
		return n
	}
	// a only takes plans (no planners, every plan in the background).
	aArgs := []string{"--planning.workers", "0", "--planning.async-manifests", "0"}
	a := start("a", aArgs...)
	b := start("b")
	c := start("c")

	cat, err := rest.NewCatalog(ctx, "bingsan", b.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	if err := cat.CreateNamespace(ctx, catalog.ToIdentifier("ns"), nil); err != nil {
		t.Fatal(err)
	}
	want := seedTable(ctx, t, cat, 5)

	do := func(n *nodetest.Node, method, path, body string) (int, map[string]json.RawMessage) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, method, n.URL+"/v1/namespaces/ns/tables/t"+path, bytes.NewReader([]byte(body)))
		if err != nil {
			t.Fatal(err)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var m map[string]json.RawMessage
		if resp.StatusCode == 200 {
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatalf("%s %s on %s: %v: %s", method, path, n.Name, err, raw)
			}
		} else if resp.StatusCode != 204 {
			t.Fatalf("%s %s on %s: %d %s", method, path, n.Name, resp.StatusCode, raw)
		}
		return resp.StatusCode, m
	}
	str := func(raw json.RawMessage) string {
		var s string
		_ = json.Unmarshal(raw, &s)
		return s
	}
	// paths reads a completed answer, fetching its plan tasks from n.
	paths := func(n *nodetest.Node, m map[string]json.RawMessage) []string {
		t.Helper()
		var out []string
		read := func(m map[string]json.RawMessage) {
			var ts []struct {
				File struct {
					Path string `json:"file-path"`
				} `json:"data-file"`
			}
			_ = json.Unmarshal(m["file-scan-tasks"], &ts)
			for _, task := range ts {
				out = append(out, task.File.Path)
			}
		}
		read(m)
		var handles []string
		_ = json.Unmarshal(m["plan-tasks"], &handles)
		for _, h := range handles {
			_, tm := do(n, "POST", "/tasks", fmt.Sprintf(`{"plan-task":%q}`, h))
			read(tm)
		}
		slices.Sort(out)
		return out
	}
	poll := func(n *nodetest.Node, planID string) map[string]json.RawMessage {
		t.Helper()
		for {
			_, m := do(n, "GET", "/plan/"+planID, "")
			if str(m["status"]) != "submitted" {
				return m
			}
			if ctx.Err() != nil {
				t.Fatalf("plan %s still submitted", planID)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	_, submitted := do(a, "POST", "/plan", `{}`)
	planID := str(submitted["plan-id"])
	if str(submitted["status"]) != "submitted" || planID == "" {
		t.Fatalf("plan on a: %v", submitted)
	}
	done := poll(c, planID)
	if str(done["status"]) != "completed" {
		t.Fatalf("plan read on c: %v", done)
	}
	if got := paths(b, done); !slices.Equal(got, want) {
		t.Fatalf("planned %v, want %v", got, want)
	}

	// a restarts; the plan is still there, through it and the others.
	a.Stop(t)
	a = start("a2", aArgs...)
	again := poll(a, planID)
	if got := paths(a, again); str(again["status"]) != "completed" || !slices.Equal(got, want) {
		t.Fatalf("after a restarted: %v %v", again, got)
	}

	// A plan submitted on the restarted node, cancelled through another.
	_, second := do(a, "POST", "/plan", `{"filter":{"type":"lt","term":"id","value":2}}`)
	id2 := str(second["plan-id"])
	if status, _ := do(b, "DELETE", "/plan/"+id2, ""); status != 204 {
		t.Fatalf("cancel on b: %d", status)
	}
	if _, m := do(c, "GET", "/plan/"+id2, ""); str(m["status"]) != "cancelled" {
		t.Fatalf("cancelled plan read on c: %v", m)
	}
}
