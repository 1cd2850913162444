package conformance

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/bingsan/bingsan/internal/pgtest"
	"github.com/bingsan/bingsan/server/servertest"
)

var (
	urlFlag       = flag.String("url", "", "catalog to check (base URL before /v1); default: start Bingsan on SQLite, PostgreSQL and as three processes ($"+EnvURL+")")
	warehouseFlag = flag.String("warehouse", "", "warehouse to pass as ?warehouse= to /v1/config ($"+EnvWarehouse+")")
	summaryFlag   = flag.String("summary", "", "also write the summary tables to this file")
)

// Environment variables that point the suite at another catalog. They are
// BINGSAN_TEST_* so that Bingsan's own configuration loader ignores them.
const (
	EnvURL       = "BINGSAN_TEST_CONFORMANCE_URL"
	EnvWarehouse = "BINGSAN_TEST_CONFORMANCE_WAREHOUSE"
)

// Catalog configuration of the Bingsan instances the suite starts: the
// table-default / table-override keys of Java's catalog tests.
var (
	bingsanDefaults = map[string]string{
		"table-default.default-key1": "catalog-default-key1",
		"table-default.default-key2": "catalog-default-key2",
		"view-default.key1":          "catalog-default-key1",
	}
	bingsanOverrides = map[string]string{
		"table-override.override-key3": "catalog-override-key3",
		"table-override.override-key4": "catalog-override-key4",
		"view-override.key3":           "catalog-override-key3",
	}
)

var (
	summariesMu sync.Mutex
	summaries   []*Summary
	jsSummary   string
)

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	summariesMu.Lock()
	var out strings.Builder
	for _, s := range summaries {
		fmt.Fprintf(&out, "\n### Conformance: %s (%d requests, %s)\n\n%s\n", s.Target, s.Requests, s.Elapsed.Round(1e8), s.Markdown())
	}
	if jsSummary != "" {
		fmt.Fprintf(&out, "\n%s\n", jsSummary)
	}
	summariesMu.Unlock()
	if out.Len() > 0 {
		fmt.Print(out.String())
		if *summaryFlag != "" {
			if err := os.WriteFile(*summaryFlag, []byte(out.String()), 0o644); err != nil {
				fmt.Fprintln(os.Stderr, err)
				code = 1
			}
		}
	}
	os.Exit(code)
}

func record(t *testing.T, s *Summary) {
	summariesMu.Lock()
	summaries = append(summaries, s)
	summariesMu.Unlock()
	p, f := s.Totals()
	t.Logf("%s: %d passed, %d failed in %s\n%s", s.Target, p, f, s.Elapsed, s.Markdown())
}

func targetURL() (string, string) {
	u, w := *urlFlag, *warehouseFlag
	if u == "" {
		u = os.Getenv(EnvURL)
	}
	if w == "" {
		w = os.Getenv(EnvWarehouse)
	}
	return u, w
}

// TestConformance runs the suite against the catalog named by -url, or
// else against Bingsan on each store and as three processes.
func TestConformance(t *testing.T) {
	if u, w := targetURL(); u != "" {
		record(t, Run(t, &Target{Name: u, URL: u, Warehouse: w}))
		return
	}
	if testing.Short() {
		t.Skip("starts several servers")
	}
	for _, b := range servertest.Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			srv := servertest.Start(t, b, servertest.Config{Defaults: bingsanDefaults, Overrides: bingsanOverrides})
			record(t, Run(t, &Target{
				Name: "Bingsan on " + string(b), URL: srv.URL,
				Purge: func(ctx context.Context) error {
					_, err := srv.Catalog.PurgeOnce(ctx)
					return err
				},
			}))
		})
	}
	t.Run("postgres-3-nodes", func(t *testing.T) {
		t.Parallel()
		dsn := pgtest.NewDatabase(t)
		warehouse := "file://" + filepath.Join(t.TempDir(), "warehouse")
		nodes := startNodes(t, 3,
			"--store.driver", "postgres",
			"--store.postgres.dsn", dsn,
			"--store.postgres.max-conns", "8",
			"--warehouse.location", warehouse,
			"--catalog.defaults", mapFlag(bingsanDefaults),
			"--catalog.overrides", mapFlag(bingsanOverrides),
			"--purge.interval", "200ms",
			"--commit.max-retries", "20",
			"--commit.retry-base-delay", "5ms",
			"--commit.retry-max-delay", "200ms",
		)
		record(t, Run(t, &Target{Name: "Bingsan, 3 processes on one PostgreSQL", URL: nodes[0], Nodes: nodes}))
	})
}

func mapFlag(m map[string]string) string {
	var parts []string
	for k, v := range m {
		parts = append(parts, k+"="+v)
	}
	return strings.Join(parts, ",")
}
