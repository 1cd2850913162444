package server_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/bingsan/bingsan/metrics"
	"github.com/bingsan/bingsan/server/servertest"
)

// scrape fetches /metrics and parses it as Prometheus text.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	status, hdr, body := call(t, "GET", url+"/metrics", "", nil)
	if status != 200 {
		t.Fatalf("GET /metrics: %d %s", status, body)
	}
	if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("Content-Type %q, want the text format", ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parsing /metrics: %v\n%s", err, body)
	}
	return fams
}

func labelsOf(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

// value is the counter, gauge or histogram count of the series of fam
// whose labels include want (nil when there is none).
func value(fams map[string]*dto.MetricFamily, fam string, want map[string]string) *float64 {
	f, ok := fams[fam]
	if !ok {
		return nil
	}
next:
	for _, m := range f.GetMetric() {
		got := labelsOf(m)
		for k, v := range want {
			if got[k] != v {
				continue next
			}
		}
		var v float64
		switch {
		case m.Counter != nil:
			v = m.GetCounter().GetValue()
		case m.Gauge != nil:
			v = m.GetGauge().GetValue()
		case m.Histogram != nil:
			v = float64(m.GetHistogram().GetSampleCount())
		case m.Untyped != nil:
			v = m.GetUntyped().GetValue()
		}
		return &v
	}
	return nil
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		m := metrics.New(metrics.Options{Version: "test"})
		srv := servertest.Start(t, b, servertest.Config{Metrics: m})
		json := "application/json"
		mustStatus := func(want int, method, path string, body string) {
			t.Helper()
			var data []byte
			if body != "" {
				data = []byte(body)
			}
			if status, _, out := call(t, method, srv.URL+path, json, data); status != want {
				t.Fatalf("%s %s: %d %s", method, path, status, out)
			}
		}
		mustStatus(200, "POST", "/v1/namespaces", `{"namespace":["secret_ns"]}`)
		mustStatus(200, "POST", "/v1/namespaces/secret_ns/tables",
			`{"name":"secret_table","schema":{"type":"struct","schema-id":0,"fields":[{"id":1,"name":"id","required":true,"type":"long"}]}}`)
		for range 3 {
			mustStatus(200, "GET", "/v1/namespaces/secret_ns/tables/secret_table", "")
		}
		mustStatus(200, "POST", "/v1/namespaces/secret_ns/tables/secret_table",
			`{"requirements":[],"updates":[{"action":"set-properties","updates":{"k":"v"}}]}`)
		// A stale requirement is a conflict the commit does not retry.
		mustStatus(409, "POST", "/v1/namespaces/secret_ns/tables/secret_table",
			`{"requirements":[{"type":"assert-ref-snapshot-id","ref":"main","snapshot-id":42}],"updates":[]}`)
		mustStatus(404, "GET", "/v1/namespaces/secret_ns/tables/missing", "")
		mustStatus(200, "GET", "/v1/default/namespaces", "")
		mustStatus(200, "GET", "/v1/namespaces", "")
		before := value(scrape(t, srv.URL), "bingsan_http_requests_total", map[string]string{"operation": "healthReady", "class": "2xx"})
		mustStatus(200, "GET", "/health/ready", "")

		fams := scrape(t, srv.URL)
		if after := value(fams, "bingsan_http_requests_total", map[string]string{"operation": "healthReady", "class": "2xx"}); before == nil || after == nil || *after != *before+1 {
			t.Errorf("readiness checks are not counted as healthReady: before %v, after %v", before, after)
		}
		for _, tc := range []struct {
			fam    string
			labels map[string]string
			want   float64
		}{
			{"bingsan_http_requests_total", map[string]string{"operation": "loadTable", "class": "2xx"}, 3},
			{"bingsan_http_requests_total", map[string]string{"operation": "loadTable", "class": "4xx"}, 1},
			{"bingsan_http_requests_total", map[string]string{"operation": "createTable", "class": "2xx"}, 1},
			{"bingsan_http_requests_total", map[string]string{"operation": "updateTable", "class": "2xx"}, 1},
			{"bingsan_http_requests_total", map[string]string{"operation": "updateTable", "class": "4xx"}, 1},
			// With and without the {prefix} segment: one operation.
			{"bingsan_http_requests_total", map[string]string{"operation": "listNamespaces", "class": "2xx"}, 2},
			{"bingsan_http_request_duration_seconds", map[string]string{"operation": "loadTable"}, 4},
			{"bingsan_http_requests_in_flight", nil, 0},
			{"bingsan_commit_attempts_total", nil, 2},
			{"bingsan_commit_retries_total", nil, 0},
			{"bingsan_metadata_write_duration_seconds", nil, 2}, // create and commit
			{"bingsan_commit_group_size", nil, 2},               // the two commits, one at a time
			{"bingsan_buffer_pool_gets_total", map[string]string{"pool": "response"}, 5},
			{"bingsan_build_info", map[string]string{"version": "test"}, 1},
		} {
			got := value(fams, tc.fam, tc.labels)
			if got == nil {
				t.Errorf("no series %s%v", tc.fam, tc.labels)
				continue
			}
			if *got != tc.want {
				t.Errorf("%s%v = %v, want %v", tc.fam, tc.labels, *got, tc.want)
			}
		}
		for _, fam := range []string{
			"bingsan_commit_conflicts_total", "bingsan_buffer_pool_misses_total", "bingsan_buffer_pool_discards_total",
			"bingsan_event_subscribers", "bingsan_event_lag_events", "bingsan_store_lock_waits_total",
			"bingsan_vend_credential_cache_total", "bingsan_event_subscribers_closed_total", "bingsan_purge_jobs_total", "go_goroutines", "go_memstats_heap_alloc_bytes", "go_build_info",
			"process_resident_memory_bytes",
		} {
			if _, ok := fams[fam]; !ok && !vecWithoutSeries(fam) {
				t.Errorf("no metric family %s", fam)
			}
		}
		if b == servertest.Postgres {
			for _, s := range []struct {
				fam    string
				labels map[string]string
			}{
				{"bingsan_db_pool_max_connections", nil},
				{"bingsan_db_pool_connections", map[string]string{"state": "idle"}},
				{"bingsan_db_pool_acquires_total", nil},
			} {
				if value(fams, s.fam, s.labels) == nil {
					t.Errorf("no series %s%v", s.fam, s.labels)
				}
			}
			if v := value(fams, "bingsan_db_pool_acquires_total", nil); v != nil && *v == 0 {
				t.Errorf("bingsan_db_pool_acquires_total is 0 after requests")
			}
		}

		// Cardinality stays bounded: no series names a namespace, a table
		// or a warehouse, and operations are the spec's ids.
		for name, f := range fams {
			for _, m := range f.GetMetric() {
				for k, v := range labelsOf(m) {
					if strings.Contains(v, "secret") || strings.Contains(v, "/") && k != "path" {
						t.Errorf("%s has label %s=%q", name, k, v)
					}
					switch k {
					case "namespace", "table", "warehouse", "view", "prefix":
						t.Errorf("%s has a %s label", name, k)
					}
				}
			}
		}
		if f := fams["bingsan_http_requests_total"]; f != nil {
			for _, m := range f.GetMetric() {
				op := labelsOf(m)["operation"]
				if op == "" || strings.ContainsAny(op, "/{} ") {
					t.Errorf("operation label %q is not an operationId", op)
				}
			}
		}
	})
}

// vecWithoutSeries names the labelled families that have no series until
// something happens (a miss or a discard of a pool): the text format leaves
// them out. Families with a fixed set of label values have every series
// from the start.
func vecWithoutSeries(fam string) bool {
	switch fam {
	case "bingsan_buffer_pool_misses_total", "bingsan_buffer_pool_discards_total":
		return true
	}
	return false
}

// Without Metrics there is no /metrics route.
func TestMetricsDisabled(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, servertest.SQLite, servertest.Config{})
	if status, _, body := call(t, "GET", srv.URL+"/metrics", "", nil); status != 404 {
		t.Fatalf("GET /metrics without metrics: %d %s", status, fmt.Sprint(string(body)))
	}
}
