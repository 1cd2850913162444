package sqlite_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/store/migrate"
	"github.com/bingsan/bingsan/store/sqlite"
	"github.com/bingsan/bingsan/store/storetest"
)

func open(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func newStore(t *testing.T) store.Store {
	s := open(t, filepath.Join(t.TempDir(), "catalog.db"))
	if err := s.Migrate(context.Background(), migrate.Up); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s
}

func TestStore(t *testing.T) {
	t.Parallel()
	storetest.Run(t, newStore)
}

func TestMigrateUpDownUp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "catalog.db"))
	ns := store.Namespace{Levels: []string{"db"}}

	applied := func(want bool) {
		t.Helper()
		st, err := s.MigrationStatus(ctx)
		if err != nil {
			t.Fatalf("MigrationStatus: %v", err)
		}
		if len(st) == 0 {
			t.Fatal("no migrations found")
		}
		for _, m := range st {
			if m.Applied != want {
				t.Fatalf("migration %d (%s): applied=%v, want %v", m.Version, m.Source, m.Applied, want)
			}
		}
	}

	applied(false)
	if err := s.Migrate(ctx, migrate.Up); err != nil {
		t.Fatalf("up: %v", err)
	}
	applied(true)
	if err := s.CreateNamespace(ctx, "wh", ns); err != nil {
		t.Fatalf("CreateNamespace after up: %v", err)
	}
	// Up again is a no-op.
	if err := s.Migrate(ctx, migrate.Up); err != nil {
		t.Fatalf("second up: %v", err)
	}
	// Down rolls back the latest migration only: the scan plans, which the
	// catalog does without. The next rolls back the auth tables. A third
	// one rolls back the event outbox; a mutation must then fail rather
	// than succeed without its event.
	plan := store.Plan{ID: "p", Table: store.Ident{Warehouse: "wh", Namespace: []string{"a"}, Name: "t"},
		Status: store.PlanSubmitted, Request: []byte(`{}`), CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}
	if err := s.CreatePlan(ctx, plan); err != nil {
		t.Fatalf("CreatePlan after up: %v", err)
	}
	if err := s.Migrate(ctx, migrate.Down); err != nil {
		t.Fatalf("down: %v", err)
	}
	st, err := s.MigrationStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range st {
		if want := i < len(st)-1; m.Applied != want {
			t.Fatalf("after one down: migration %d (%s): applied=%v, want %v", m.Version, m.Source, m.Applied, want)
		}
	}
	if err := s.CreatePlan(ctx, plan); err == nil {
		t.Fatal("CreatePlan succeeded with the scan plans rolled back")
	}
	if err := s.Migrate(ctx, migrate.Down); err != nil {
		t.Fatalf("down: %v", err)
	}
	if err := s.CreateNamespace(ctx, "wh", store.Namespace{Levels: []string{"other"}}); err != nil {
		t.Fatalf("CreateNamespace without the auth tables: %v", err)
	}
	if err := s.Migrate(ctx, migrate.Down); err != nil {
		t.Fatalf("second down: %v", err)
	}
	if err := s.CreateNamespace(ctx, "wh", store.Namespace{Levels: []string{"third"}}); err == nil {
		t.Fatal("CreateNamespace succeeded without the event outbox")
	}
	for range len(st) - 3 {
		if err := s.Migrate(ctx, migrate.Down); err != nil {
			t.Fatalf("down: %v", err)
		}
	}
	applied(false)
	if err := s.CreateNamespace(ctx, "wh", ns); err == nil {
		t.Fatal("CreateNamespace succeeded with the schema rolled back")
	}
	if err := s.Migrate(ctx, migrate.Up); err != nil {
		t.Fatalf("up after down: %v", err)
	}
	applied(true)
	if err := s.CreateNamespace(ctx, "wh", ns); err != nil {
		t.Fatalf("CreateNamespace after up/down/up: %v", err)
	}
}

// Two Store values on one file behave like two processes: the file lock,
// not the in-process writer, serializes them, and busy_timeout plus the
// retry make the loser wait instead of failing.
func TestTwoHandlesOneFile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "catalog.db")
	a, b := open(t, path), open(t, path)
	if err := a.Migrate(ctx, migrate.Up); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	if err := a.CreateNamespace(ctx, "wh", store.Namespace{Levels: []string{"db"}}); err != nil {
		t.Fatal(err)
	}
	id := store.Ident{Warehouse: "wh", Namespace: []string{"db"}, Name: "t"}
	if err := a.CreateEntity(ctx, store.Entity{Ident: id, Kind: store.KindTable, MetadataLocation: "m", Metadata: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	results := make([]error, 8)
	for i := range results {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Go(func() {
			results[i] = s.Commit(ctx, []store.Commit{{Ident: id, Kind: store.KindTable, BaseVersion: 1, MetadataLocation: "m2", Metadata: []byte("{}")}})
		})
	}
	wg.Wait()
	wins := 0
	for i, err := range results {
		switch {
		case err == nil:
			wins++
		case !errs.Is(err, errs.CommitFailed):
			t.Fatalf("commit %d: %v", i, err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d commits won on the same base version, want 1", wins)
	}
}

func TestUnopenable(t *testing.T) {
	t.Parallel()
	_, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "missing-dir", "catalog.db"), sqlite.Options{})
	if !errs.Is(err, errs.ServiceUnavailable) {
		t.Fatalf("got %v (kind %d), want ServiceUnavailable", err, errs.KindOf(err))
	}
}
