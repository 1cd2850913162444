// Package monitoring_test checks the Grafana dashboard and the Prometheus
// alerting rules against the metrics a real bingsan process on PostgreSQL
// exports, and those metrics against Prometheus' naming conventions.
package monitoring_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/bingsan/bingsan/deploy/internal/testbin"
	"github.com/bingsan/bingsan/internal/pgtest"
)

// fromPrometheus are series Prometheus makes itself, not the server.
var fromPrometheus = []string{"up"}

// exported runs bingsan on PostgreSQL, makes requests that touch many
// operations (two tables, a miss, unknown routes), and returns the scraped
// families.
func exported(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	data := t.TempDir()
	srv := testbin.Start(t, testbin.Bingsan(t), data, []string{
		"BINGSAN_LISTEN=127.0.0.1:0", "BINGSAN_DATA_DIR=" + data, "BINGSAN_LOG_FORMAT=json",
		"BINGSAN_STORE_DRIVER=postgres", "BINGSAN_STORE_POSTGRES_DSN=" + pgtest.NewDatabase(t),
	}, "serve")
	do := func(method, path, body string) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	do("POST", "/v1/namespaces", `{"namespace":["ns_marker"]}`)
	for _, tbl := range []string{"table_marker_a", "table_marker_b"} {
		do("POST", "/v1/namespaces/ns_marker/tables", `{"name":"`+tbl+`","schema":{"type":"struct","schema-id":0,"fields":[{"id":1,"name":"id","required":true,"type":"long"}]}}`)
		do("GET", "/v1/namespaces/ns_marker/tables/"+tbl, "")
		do("POST", "/v1/namespaces/ns_marker/tables/"+tbl, `{"requirements":[],"updates":[{"action":"set-properties","updates":{"k":"v"}}]}`)
	}
	do("GET", "/v1/namespaces/ns_marker/tables/missing_marker", "")
	do("GET", "/path_marker/x/y", "")
	do("DELETE", "/v1/config", "")
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("/metrics: %v", err)
	}
	return fams
}

// seriesNames are the names a query can select: histograms and summaries
// add their _bucket, _sum and _count series.
func seriesNames(fams map[string]*dto.MetricFamily) map[string]bool {
	names := map[string]bool{}
	for name, f := range fams {
		names[name] = true
		switch f.GetType() {
		case dto.MetricType_HISTOGRAM:
			names[name+"_bucket"], names[name+"_sum"], names[name+"_count"] = true, true, true
		case dto.MetricType_SUMMARY:
			names[name+"_sum"], names[name+"_count"] = true, true
		}
	}
	for _, n := range fromPrometheus {
		names[n] = true
	}
	return names
}

// metricsIn parses a PromQL expression and returns the metric names it
// selects; Grafana's variables are replaced by values first.
func metricsIn(t *testing.T, expr string) []string {
	t.Helper()
	expr = strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "${__rate_interval}", "5m").Replace(expr)
	e, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		t.Errorf("query %q does not parse: %v", expr, err)
		return nil
	}
	var names []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			names = append(names, vs.Name)
		}
		return nil
	})
	return names
}

func TestDashboardAndAlertsUseExportedMetrics(t *testing.T) {
	t.Parallel()
	have := seriesNames(exported(t))
	used := map[string][]string{} // metric -> where

	// Alerts: loaded as Prometheus loads a rules file.
	b, err := os.ReadFile(filepath.Join("prometheus", "alerts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	groups, errs := rulefmt.Parse(b, false, model.UTF8Validation, parser.NewParser(parser.Options{}), slog.New(slog.DiscardHandler))
	if len(errs) > 0 {
		t.Fatalf("alerts.yaml: %v", errs)
	}
	alerts := 0
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			alerts++
			if r.Alert == "" || r.Annotations["summary"] == "" || r.Labels["severity"] == "" {
				t.Errorf("rule %q lacks a name, a summary or a severity", r.Alert)
			}
			for _, m := range metricsIn(t, r.Expr) {
				used[m] = append(used[m], "alert "+r.Alert)
			}
		}
	}
	if alerts < 8 {
		t.Errorf("only %d alerts", alerts)
	}

	// The dashboard: every target and variable query.
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Type    string `json:"type"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Name       string `json:"name"`
				Definition string `json:"definition"`
			} `json:"list"`
		} `json:"templating"`
	}
	b, err = os.ReadFile(filepath.Join("grafana", "bingsan.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("bingsan.json: %v", err)
	}
	targets := 0
	for _, p := range dash.Panels {
		if p.Type != "row" && len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			targets++
			for _, m := range metricsIn(t, tg.Expr) {
				used[m] = append(used[m], "panel "+p.Title)
			}
		}
	}
	labelValues := regexp.MustCompile(`^label_values\((.+), *\w+\)$`)
	for _, v := range dash.Templating.List {
		if m := labelValues.FindStringSubmatch(v.Definition); m != nil {
			for _, name := range metricsIn(t, m[1]) {
				used[name] = append(used[name], "variable "+v.Name)
			}
		}
	}
	if targets < 20 {
		t.Errorf("only %d dashboard queries", targets)
	}

	for m, where := range used {
		if !have[m] {
			t.Errorf("%s is not exported by the server (used by %s)", m, strings.Join(slices.Compact(where), ", "))
		}
	}
	// Everything the issue asks to watch is on the dashboard.
	for _, m := range []string{"bingsan_http_requests_total", "bingsan_http_request_duration_seconds_bucket", "bingsan_commit_attempts_total",
		"bingsan_commit_conflicts_total", "bingsan_commit_retries_total", "bingsan_commit_group_size_bucket", "bingsan_db_pool_connections",
		"bingsan_event_subscribers", "bingsan_event_lag_events", "bingsan_event_subscribers_closed_total", "bingsan_purge_jobs_total"} {
		if !slices.ContainsFunc(used[m], func(w string) bool { return strings.HasPrefix(w, "panel ") }) {
			t.Errorf("no dashboard panel shows %s", m)
		}
	}
}

// unitWords mark a quantity that must be in base units with the unit at
// the end of the name.
var (
	timeWords    = regexp.MustCompile(`(duration|latency|elapsed|_time(_|$)|_wait(_|$)|_age(_|$))`)
	badUnits     = regexp.MustCompile(`_(ms|milliseconds|microseconds|us|ns|nanoseconds|minutes|hours|kb|mb|gb|kilobytes|megabytes|percent)(_|$)`)
	validName    = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)
	forbiddenLbl = []string{"namespace", "table", "view", "warehouse", "prefix", "path", "url", "uri", "location", "principal", "name", "id", "user"}
)

func TestMetricNamingConventions(t *testing.T) {
	t.Parallel()
	fams := exported(t)
	ours := 0
	for name, f := range fams {
		if !strings.HasPrefix(name, "bingsan_") {
			continue
		}
		ours++
		if !validName.MatchString(name) {
			t.Errorf("%s is not snake_case", name)
		}
		if f.GetHelp() == "" {
			t.Errorf("%s has no help text", name)
		}
		isCounter := f.GetType() == dto.MetricType_COUNTER
		if isCounter != strings.HasSuffix(name, "_total") {
			t.Errorf("%s: counters, and only counters, end in _total (type %s)", name, f.GetType())
		}
		base := strings.TrimSuffix(name, "_total")
		if badUnits.MatchString(base) {
			t.Errorf("%s uses a unit other than seconds or bytes", name)
		}
		if timeWords.MatchString(base) && !strings.HasSuffix(base, "_seconds") {
			t.Errorf("%s measures time but does not end in _seconds", name)
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if slices.Contains(forbiddenLbl, l.GetName()) {
					t.Errorf("%s has the unbounded label %s", name, l.GetName())
				}
				if strings.Contains(l.GetValue(), "marker") || strings.Contains(l.GetValue(), "/") {
					t.Errorf("%s{%s=%q} carries a request's name or path", name, l.GetName(), l.GetValue())
				}
			}
		}
	}
	if ours < 20 {
		t.Errorf("only %d bingsan_ families", ours)
	}
}
