package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/internal/pgtest"
	"github.com/bingsan/bingsan/metrics"
	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/store/migrate"
	"github.com/bingsan/bingsan/store/postgres"
)

// gathered is the value of the series of family name with label
// reason=reason ("" for none), or -1.
func gathered(t *testing.T, m *metrics.Metrics, name, reason string) float64 {
	t.Helper()
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, s := range f.GetMetric() {
			got := ""
			for _, l := range s.GetLabel() {
				if l.GetName() == "reason" {
					got = l.GetValue()
				}
			}
			if got != reason {
				continue
			}
			if s.Counter != nil {
				return s.GetCounter().GetValue()
			}
			if s.Histogram != nil {
				return s.GetHistogram().GetSampleSum()
			}
			return s.GetGauge().GetValue()
		}
	}
	return -1
}

// Commits that wait out the lock timeout are counted as lock waits, and
// the pool reports its state.
func TestMetrics(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	m := metrics.New(metrics.Options{NoRuntime: true})
	s, err := postgres.Open(ctx, dsn, postgres.Options{LockTimeout: 50 * time.Millisecond, MaxRetries: 2,
		BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, MaxConns: 4, Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx, migrate.Up); err != nil {
		t.Fatal(err)
	}
	id := store.Ident{Warehouse: "wh", Namespace: []string{"db"}, Name: "t"}
	if err := s.CreateNamespace(ctx, "wh", store.Namespace{Levels: []string{"db"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateEntity(ctx, store.Entity{Ident: id, Kind: store.KindTable, MetadataLocation: "m", Metadata: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	if got := gathered(t, m, "bingsan_db_pool_max_connections", ""); got != 4 {
		t.Errorf("bingsan_db_pool_max_connections = %v, want 4", got)
	}
	if got := gathered(t, m, "bingsan_db_pool_acquires_total", ""); got <= 0 {
		t.Errorf("bingsan_db_pool_acquires_total = %v after writes", got)
	}

	if _, err := s.GetEntity(ctx, store.KindTable, id); err != nil {
		t.Fatal(err)
	}
	if got := gathered(t, m, "bingsan_store_read_batch_keys", ""); got != 1 {
		t.Errorf("bingsan_store_read_batch_keys sums %v keys after one read, want 1", got)
	}

	holder, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close(ctx)
	tx, err := holder.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "SELECT 1 FROM entities WHERE name = 't' FOR UPDATE"); err != nil {
		t.Fatal(err)
	}
	err = s.Commit(ctx, []store.Commit{{Ident: id, Kind: store.KindTable, BaseVersion: 1, MetadataLocation: "m2", Metadata: []byte("{}")}})
	_ = tx.Rollback(ctx)
	if !errs.Is(err, errs.CommitFailed) {
		t.Fatalf("commit against a held lock: %v, want CommitFailed", err)
	}
	// The first try and both retries waited for the lock.
	if got := gathered(t, m, "bingsan_store_lock_waits_total", metrics.LockTimeout); got != 3 {
		t.Errorf("lock waits = %v, want 3", got)
	}
}
