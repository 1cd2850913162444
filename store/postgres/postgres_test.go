package postgres_test

import (
	"context"
	"fmt"
	"maps"
	"path"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/internal/pgtest"
	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/store/driver"
	"github.com/bingsan/bingsan/store/drivertest"
	"github.com/bingsan/bingsan/store/migrate"
	"github.com/bingsan/bingsan/store/postgres"
	"github.com/bingsan/bingsan/store/storetest"
)

func open(t *testing.T, dsn string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), dsn, postgres.Options{MaxConns: 8})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func newStore(t *testing.T) store.Store {
	s := open(t, pgtest.NewDatabase(t))
	if err := s.Migrate(context.Background(), migrate.Up); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s
}

func TestStore(t *testing.T) {
	t.Parallel()
	storetest.Run(t, newStore)
}

func TestDriver(t *testing.T) {
	drivertest.Run(t, func(t *testing.T) driver.Driver { return newStore(t).(*postgres.Store).Driver() })
}

func TestMigrateUpDownUp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	s := open(t, dsn)
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
	if err := s.Migrate(ctx, migrate.Up); err != nil {
		t.Fatalf("second up: %v", err)
	}
	// Down rolls back one migration at a time, newest first; each undoes
	// its own objects (checked below for some). The current code needs the
	// whole schema, so it is only used again once everything is back up.
	if got := metadataCompression(t, dsn); got != "l" {
		t.Fatalf("entities.metadata compression %q after up, want lz4 (l)", got)
	}
	st, err := s.MigrationStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	gone := map[string]func() string{ // the migration's source, what it must have undone
		"00007_scan_plans.sql":      func() string { return missingTable(t, dsn, "scan_plans") },
		"00005_location_claims.sql": func() string { return missingTable(t, dsn, "location_claims") },
		"00004_metadata_lz4.sql": func() string {
			if got := metadataCompression(t, dsn); got != "" {
				return "entities.metadata compression " + got
			}
			return ""
		},
		"00003_auth.sql":   func() string { return missingTable(t, dsn, "principals") },
		"00002_events.sql": func() string { return missingTable(t, dsn, "events") },
	}
	for i := len(st) - 1; i >= 0; i-- {
		if err := s.Migrate(ctx, migrate.Down); err != nil {
			t.Fatalf("down %s: %v", st[i].Source, err)
		}
		if check, ok := gone[filepathBase(st[i].Source)]; ok {
			if left := check(); left != "" {
				t.Fatalf("after rolling back %s: %s is still there", st[i].Source, left)
			}
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

// missingTable returns "table <name>" if the table exists, "" otherwise.
func missingTable(t *testing.T, dsn, name string) string {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var found bool
	if err := conn.QueryRow(context.Background(), "SELECT to_regclass($1) IS NOT NULL", name).Scan(&found); err != nil {
		t.Fatal(err)
	}
	if found {
		return "table " + name
	}
	return ""
}

func filepathBase(p string) string { return path.Base(p) }

// metadataCompression is pg_attribute.attcompression of entities.metadata
// ("" for the server's default).
func metadataCompression(t *testing.T, dsn string) string {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var c string
	if err := conn.QueryRow(context.Background(),
		`SELECT attcompression::text FROM pg_attribute WHERE attrelid = 'entities'::regclass AND attname = 'metadata'`).Scan(&c); err != nil {
		t.Fatal(err)
	}
	return c
}

// Three nodes starting at once against an empty database: the advisory lock
// lets one migrate while the others wait and then find nothing to do.
func TestConcurrentMigrate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	nodes := []*postgres.Store{open(t, dsn), open(t, dsn), open(t, dsn)}
	var wg sync.WaitGroup
	results := make([]error, len(nodes))
	for i, s := range nodes {
		wg.Go(func() { results[i] = s.Migrate(ctx, migrate.Up) })
	}
	wg.Wait()
	for i, err := range results {
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
	}
	if err := nodes[0].CreateNamespace(ctx, "wh", store.Namespace{Levels: []string{"db"}}); err != nil {
		t.Fatalf("CreateNamespace after concurrent migrate: %v", err)
	}
}

// A commit that cannot get its row lock within lock_timeout is retried and,
// once the retries are spent, reported as CommitFailed.
func TestLockTimeoutExhausted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	s, err := postgres.Open(ctx, dsn, postgres.Options{LockTimeout: 50 * time.Millisecond, MaxRetries: 2, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond})
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

	// Another session holds the row lock, as a stuck commit would.
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
	release := func() { _ = tx.Rollback(ctx) }
	defer release()

	err = s.Commit(ctx, []store.Commit{{Ident: id, Kind: store.KindTable, BaseVersion: 1, MetadataLocation: "m2", Metadata: []byte("{}")}})
	if !errs.Is(err, errs.CommitFailed) {
		t.Fatalf("got %v, want CommitFailed", err)
	}
	release()
	if err := s.Commit(ctx, []store.Commit{{Ident: id, Kind: store.KindTable, BaseVersion: 1, MetadataLocation: "m2", Metadata: []byte("{}")}}); err != nil {
		t.Fatalf("commit after the lock was released: %v", err)
	}
}

func TestUnreachable(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Port 1 on loopback: nothing listens there.
	_, err := postgres.Open(ctx, "postgres://postgres@127.0.0.1:1/postgres?sslmode=disable&connect_timeout=2", postgres.Options{})
	if !errs.Is(err, errs.ServiceUnavailable) {
		t.Fatalf("got %v (kind %d), want ServiceUnavailable", err, errs.KindOf(err))
	}
}

// Pruning runs on one node at a time: while another session holds the
// pruning lock, PruneEvents deletes nothing and returns at once.
func TestPruneEventsOneNodeAtATime(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	s := open(t, dsn)
	if err := s.Migrate(ctx, migrate.Up); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateNamespace(ctx, "wh", store.Namespace{Levels: []string{"db"}}); err != nil {
		t.Fatal(err)
	}
	other, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(ctx)
	if _, err := other.Exec(ctx, "SELECT pg_advisory_lock($1)", postgres.PruneLockKey); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	n, err := s.PruneEvents(ctx, time.Now().Add(time.Hour))
	if err != nil || n != 0 {
		t.Fatalf("PruneEvents while another node prunes: %d, %v", n, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("PruneEvents waited %v for the other node", d)
	}
	if evs, _ := s.ListEvents(ctx, 0, 0); len(evs) != 1 {
		t.Fatalf("events after a skipped prune: %d", len(evs))
	}
	if _, err := other.Exec(ctx, "SELECT pg_advisory_unlock($1)", postgres.PruneLockKey); err != nil {
		t.Fatal(err)
	}
	if n, err := s.PruneEvents(ctx, time.Now().Add(time.Hour)); err != nil || n != 1 {
		t.Fatalf("PruneEvents with the lock free: %d, %v", n, err)
	}
	// The lock went back with the connection: another session gets it.
	var got bool
	if err := other.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", postgres.PruneLockKey).Scan(&got); err != nil || !got {
		t.Fatalf("pruning lock still held after PruneEvents: %v %v", got, err)
	}
}

// A commit on one node wakes the event readers of another (the writer's
// announcement after its commit, heard by LISTEN), whichever way it
// committed: a transaction, or the one-statement compare-and-swap; a write
// that did not commit wakes nobody.
func TestEventWakeupsAcrossNodes(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dsn := pgtest.NewDatabase(t)
	a, b := open(t, dsn), open(t, dsn)
	if err := a.Migrate(ctx, migrate.Up); err != nil {
		t.Fatal(err)
	}
	wake := b.EventWakeups(ctx)
	select { // the signal that follows LISTEN
	case <-wake:
	case <-time.After(10 * time.Second):
		t.Fatal("no wake-up after listening")
	}
	id := store.Ident{Warehouse: "wh", Namespace: []string{"db"}, Name: "t"}
	commit := func(base int64) error {
		return a.Commit(ctx, []store.Commit{{Ident: id, Kind: store.KindTable, BaseVersion: base, MetadataLocation: fmt.Sprintf("m%d", base+1), Metadata: []byte("{}")}})
	}
	for _, step := range []struct {
		name  string
		write func() error
		wakes bool
	}{
		{"create namespace", func() error { return a.CreateNamespace(ctx, "wh", store.Namespace{Levels: []string{"db"}}) }, true},
		{"create namespace again", func() error { return a.CreateNamespace(ctx, "wh", store.Namespace{Levels: []string{"db"}}) }, false},
		{"create table", func() error {
			return a.CreateEntity(ctx, store.Entity{Ident: id, Kind: store.KindTable, MetadataLocation: "m1", Metadata: []byte("{}")})
		}, true},
		{"commit", func() error { return commit(1) }, true},
		{"stale commit", func() error { return commit(1) }, false},
	} {
		err := step.write()
		if (err == nil) != step.wakes {
			t.Fatalf("%s: %v", step.name, err)
		}
		if step.wakes {
			select {
			case <-wake:
			case <-time.After(5 * time.Second):
				t.Fatalf("%s on node a did not wake node b", step.name)
			}
			continue
		}
		select {
		case <-wake:
			t.Fatalf("%s, which failed, woke node b", step.name)
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// The batch query finds exactly the keys that exist with the asked kind.
func TestFetchEntitiesBatch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newStore(t).(*postgres.Store)
	for _, ns := range [][]string{{"a"}, {"a", "b"}} {
		if err := s.CreateNamespace(ctx, "wh", store.Namespace{Levels: ns}); err != nil {
			t.Fatal(err)
		}
	}
	id := func(name string, ns ...string) store.Ident {
		return store.Ident{Warehouse: "wh", Namespace: ns, Name: name}
	}
	for _, e := range []store.Entity{
		{Ident: id("t1", "a"), Kind: store.KindTable, MetadataLocation: "m1"},
		{Ident: id("t2", "a", "b"), Kind: store.KindTable, MetadataLocation: "m2"},
		{Ident: id("v1", "a"), Kind: store.KindView, MetadataLocation: "mv"},
	} {
		if err := s.CreateEntity(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	got, err := postgres.FetchEntities(ctx, s, store.KindTable, []store.Ident{
		id("t1", "a"), id("t2", "a", "b"), id("v1", "a"), id("t1", "a", "b"), id("t2", "a"), id("nope", "a"),
		{Warehouse: "other", Namespace: []string{"a"}, Name: "t1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"a.t1": "m1", "a.b.t2": "m2"}
	if !maps.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// Creates find overlapping claims through location_claims' indexes even
// when the claim queries were first planned while the table was nearly
// empty (a new catalog): the plans cached then must not read the whole
// table on every create once it has grown.
func TestClaimQueriesUseIndexes(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dsn := pgtest.NewDatabase(t)
	createTables := func(from, to int) {
		// One connection: its cached plans are the ones being tested.
		s, err := postgres.Open(ctx, dsn, postgres.Options{MaxConns: 1})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close() // the backend exits, which flushes its statistics
		for i := from; i < to; i++ {
			id := store.Ident{Warehouse: "wh", Namespace: []string{"db"}, Name: fmt.Sprintf("t%d", i)}
			if err := s.CreateEntity(ctx, store.Entity{Ident: id, Kind: store.KindTable, MetadataLocation: fmt.Sprintf("s3://b/db/t%d/metadata/1.json", i),
				Metadata: []byte("{}"), Claims: []string{fmt.Sprintf("s3://b/db/t%d/", i)}, NamespaceKey: "s3://b/db/"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	s, err := postgres.Open(ctx, dsn, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctx, migrate.Up); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateNamespace(ctx, "wh", store.Namespace{Levels: []string{"db"}, Location: "s3://b/db", Key: "s3://b/db/"}); err != nil {
		t.Fatal(err)
	}
	// Claims of other owners, as a catalog in use holds: enough for a
	// whole-table scan to be the plan the planner likes best.
	_ = s.Close()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "INSERT INTO location_claims (key, owner_kind, owner_id) SELECT 's3://b/other/t' || g || '/', 'table', 1000000 + g FROM generate_series(1, 200) g; ANALYZE location_claims"); err != nil {
		t.Fatal(err)
	}
	_ = conn.Close(ctx)
	// seqScans counts the sequential scans of location_claims by the
	// sessions that have ended: a backend flushes its statistics before
	// it leaves pg_stat_activity.
	seqScans := func() int64 {
		t.Helper()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		for {
			var others int
			if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()").Scan(&others); err != nil {
				t.Fatal(err)
			}
			if others == 0 {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		var n int64
		if err := conn.QueryRow(ctx, "SELECT seq_scan FROM pg_stat_user_tables WHERE relname = 'location_claims'").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	createTables(0, 10) // more than the 5 executions after which a generic plan may be cached
	before := seqScans()
	createTables(10, 30)
	if after := seqScans(); after != before {
		t.Fatalf("creates scanned location_claims sequentially %d times", after-before)
	}
}
