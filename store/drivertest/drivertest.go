// Package drivertest is the suite every store driver (store/driver) must
// pass: what the core relies on from a database, stated once and run
// against PostgreSQL and SQLite alike. It sits under the operation suite
// (store/storetest), which checks the store built over a driver.
package drivertest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/store/driver"
)

// Run runs the suite. newDriver must return a driver over a new, empty,
// migrated database and arrange for it to be closed at the end of t.
func Run(t *testing.T, newDriver func(t *testing.T) driver.Driver) {
	t.Run("ErrorClasses", func(t *testing.T) { t.Parallel(); testErrorClasses(t, newDriver(t)) })
	t.Run("HostileText", func(t *testing.T) { t.Parallel(); testHostileText(t, newDriver(t)) })
	t.Run("TimeRoundTrip", func(t *testing.T) { t.Parallel(); testTimeRoundTrip(t, newDriver(t)) })
	t.Run("RowLock", func(t *testing.T) { t.Parallel(); testRowLock(t, newDriver(t)) })
	t.Run("CompareAndSwap", func(t *testing.T) { t.Parallel(); testCompareAndSwap(t, newDriver(t)) })
	t.Run("Rollback", func(t *testing.T) { t.Parallel(); testRollback(t, newDriver(t)) })
	t.Run("Events", func(t *testing.T) { t.Parallel(); testEvents(t, newDriver(t)) })
	t.Run("DeferredFailure", func(t *testing.T) { t.Parallel(); testDeferredFailure(t, newDriver(t)) })
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// inTx runs fn in a write transaction and commits it.
func inTx(t *testing.T, ctx context.Context, d driver.Driver, fn func(tx driver.Tx) error) error {
	t.Helper()
	tx, err := d.Begin(ctx)
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

func mkNamespace(t *testing.T, ctx context.Context, d driver.Driver, name string) int64 {
	t.Helper()
	var id int64
	if err := inTx(t, ctx, d, func(tx driver.Tx) (err error) {
		id, err = tx.InsertNamespace(ctx, driver.NamespaceRow{Warehouse: "wh", Name: name, Properties: []byte("{}")}, time.Now())
		return err
	}); err != nil {
		t.Fatalf("InsertNamespace(%s): %v", name, err)
	}
	return id
}

func entity(ns, name, uuid string) driver.EntityRow {
	return driver.EntityRow{EntityKey: driver.EntityKey{Warehouse: "wh", Namespace: ns, Name: name, Kind: string(store.KindTable)},
		MetadataLocation: "s3://b/" + name + "/m0.json", Metadata: []byte(`{"format-version":2}`), UUID: uuid}
}

func mkEntity(t *testing.T, ctx context.Context, d driver.Driver, e driver.EntityRow) int64 {
	t.Helper()
	var id int64
	if err := inTx(t, ctx, d, func(tx driver.Tx) (err error) {
		id, err = tx.InsertEntity(ctx, e, time.Now())
		return err
	}); err != nil {
		t.Fatalf("InsertEntity(%s): %v", e.Name, err)
	}
	return id
}

// Constraint violations and missing rows come back as the driver-neutral
// classes, whatever the database said.
func testErrorClasses(t *testing.T, d driver.Driver) {
	ctx := ctxFor(t)
	mkNamespace(t, ctx, d, "ns")
	mkEntity(t, ctx, d, entity("ns", "t", "uuid-1"))
	for _, tc := range []struct {
		name string
		fn   func(tx driver.Tx) error
		want error
	}{
		{"UniqueName", func(tx driver.Tx) error {
			_, err := tx.InsertNamespace(ctx, driver.NamespaceRow{Warehouse: "wh", Name: "ns", Properties: []byte("{}")}, time.Now())
			return err
		}, driver.ErrUnique},
		{"UniqueEntity", func(tx driver.Tx) error {
			_, err := tx.InsertEntity(ctx, entity("ns", "t", ""), time.Now())
			return err
		}, driver.ErrUnique},
		{"UUIDTaken", func(tx driver.Tx) error {
			_, err := tx.InsertEntity(ctx, entity("ns", "other", "uuid-1"), time.Now())
			return err
		}, driver.ErrUUIDTaken},
		{"ForeignKey", func(tx driver.Tx) error {
			_, err := tx.InsertEntity(ctx, entity("missing", "t", ""), time.Now())
			return err
		}, driver.ErrForeignKey},
		// The same through the insert that claims (errors surfacing at
		// the commit, where a driver defers it).
		{"UniqueClaimedEntity", func(tx driver.Tx) error {
			return tx.InsertClaimedEntity(ctx, entity("ns", "t", ""), time.Now(), []string{"s3://b/t2/"})
		}, driver.ErrUnique},
		{"UUIDTakenClaimedEntity", func(tx driver.Tx) error {
			return tx.InsertClaimedEntity(ctx, entity("ns", "other", "uuid-1"), time.Now(), []string{"s3://b/other/"})
		}, driver.ErrUUIDTaken},
		{"ForeignKeyClaimedEntity", func(tx driver.Tx) error {
			return tx.InsertClaimedEntity(ctx, entity("missing", "t", ""), time.Now(), []string{"s3://b/missing/"})
		}, driver.ErrForeignKey},
		{"NoRows", func(tx driver.Tx) error {
			_, err := tx.GetNamespace(ctx, "wh", "missing")
			return err
		}, driver.ErrNoRows},
		{"NoRowsLock", func(tx driver.Tx) error {
			_, err := tx.LockEntity(ctx, driver.EntityKey{Warehouse: "wh", Namespace: "ns", Name: "missing"})
			return err
		}, driver.ErrNoRows},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := inTx(t, ctx, d, tc.fn)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if errors.Is(tc.want, driver.ErrUnique) && errors.Is(err, driver.ErrUUIDTaken) {
				t.Fatalf("a name conflict classified as a UUID conflict: %v", err)
			}
		})
	}
	// None of the failed claimed inserts left a claim behind, and one that
	// succeeds claims its keys for the row it inserted.
	if rows, err := d.Reader().OverlappingClaims(ctx, "s3://b/", nil, "s3://b0"); err != nil || len(rows) != 0 {
		t.Fatalf("claims after failed inserts: %v %v", rows, err)
	}
	if err := inTx(t, ctx, d, func(tx driver.Tx) error {
		return tx.InsertClaimedEntity(ctx, entity("ns", "claimed", ""), time.Now(), []string{"s3://b/claimed/", "s3://b/claimed/data/"})
	}); err != nil {
		t.Fatalf("InsertClaimedEntity: %v", err)
	}
	row, err := d.Reader().GetEntity(ctx, driver.EntityKey{Warehouse: "wh", Namespace: "ns", Name: "claimed", Kind: "table"})
	if err != nil {
		t.Fatal(err)
	}
	if keys, err := d.Reader().OwnedClaims(ctx, "table", row.ID); err != nil || !slices.Equal(keys, []string{"s3://b/claimed/", "s3://b/claimed/data/"}) {
		t.Fatalf("claims of the claimed insert: %v %v", keys, err)
	}
	// A class is reported by the driver, so the read outside a transaction
	// says the same.
	if _, err := d.Reader().GetEntity(ctx, driver.EntityKey{Warehouse: "wh", Namespace: "ns", Name: "nope", Kind: "table"}); !errors.Is(err, driver.ErrNoRows) {
		t.Fatalf("Reader().GetEntity(missing): %v, want ErrNoRows", err)
	}
}

// Text a client can send that a database may refuse (NUL, invalid UTF-8)
// is either stored as sent or refused as the client's fault, never an
// internal error.
func testHostileText(t *testing.T, d driver.Driver) {
	ctx := ctxFor(t)
	for _, name := range []string{"nul\x00name", "bad\xff\xfeutf8", "ünïcödé"} {
		err := inTx(t, ctx, d, func(tx driver.Tx) error {
			return tx.InsertPrincipal(ctx, store.AuthPrincipal{Name: name, CreatedAt: time.Now()})
		})
		if err != nil {
			if k := errs.KindOf(err); k != errs.BadRequest {
				t.Errorf("InsertPrincipal(%q): kind %v (%v), want BadRequest or success", name, k, err)
			}
			continue
		}
		p, err := d.Reader().GetPrincipal(ctx, name)
		if err != nil || p.Name != name {
			t.Errorf("GetPrincipal(%q) = %q, %v; want it as stored", name, p.Name, err)
		}
	}
}

// Times come back as the same instant, to the microsecond, and zero times
// of nullable columns come back zero.
func testTimeRoundTrip(t *testing.T, d driver.Driver) {
	ctx := ctxFor(t)
	created := time.Date(2026, 3, 4, 5, 6, 7, 891234000, time.FixedZone("x", 3600))
	expires := created.Add(36 * time.Hour)
	for _, k := range []store.APIKey{
		{Prefix: "p1", Hash: "h", Principal: "alice", Name: "with expiry", CreatedAt: created, ExpiresAt: expires},
		{Prefix: "p2", Hash: "h", Principal: "alice", Name: "without", CreatedAt: created},
	} {
		if err := inTx(t, ctx, d, func(tx driver.Tx) error {
			if k.Prefix == "p1" {
				if err := tx.InsertPrincipal(ctx, store.AuthPrincipal{Name: "alice", CreatedAt: created}); err != nil {
					return err
				}
			}
			return tx.InsertAPIKey(ctx, k)
		}); err != nil {
			t.Fatalf("InsertAPIKey(%s): %v", k.Prefix, err)
		}
		got, err := d.Reader().GetAPIKey(ctx, k.Prefix)
		if err != nil {
			t.Fatal(err)
		}
		if !got.CreatedAt.Equal(k.CreatedAt) || !got.ExpiresAt.Equal(k.ExpiresAt) || got.ExpiresAt.IsZero() != k.ExpiresAt.IsZero() {
			t.Errorf("%s: got created %v expires %v, want %v and %v", k.Prefix, got.CreatedAt, got.ExpiresAt, k.CreatedAt, k.ExpiresAt)
		}
	}
}

// A row returned by LockEntity stays as it is until the transaction ends:
// a second writer that locks it sees the first one's committed change.
func testRowLock(t *testing.T, d driver.Driver) {
	ctx := ctxFor(t)
	mkNamespace(t, ctx, d, "ns")
	id := mkEntity(t, ctx, d, entity("ns", "t", ""))
	key := driver.EntityKey{Warehouse: "wh", Namespace: "ns", Name: "t", Kind: "table"}

	first, err := d.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = first.Rollback(context.WithoutCancel(ctx)) }()
	if row, err := first.LockEntity(ctx, key); err != nil || row.Version != 1 || row.ID != id {
		t.Fatalf("LockEntity = %+v, %v", row, err)
	}
	seen := make(chan int64, 1)
	go func() {
		var v int64 = -1
		defer func() { seen <- v }()
		_ = inTx(t, ctx, d, func(tx driver.Tx) error {
			row, err := tx.LockEntity(ctx, key)
			if err != nil {
				return err
			}
			v = row.Version
			return nil
		})
	}()
	select {
	case v := <-seen:
		t.Fatalf("a second writer locked the row while the first held it (version %d)", v)
	case <-time.After(100 * time.Millisecond): // it is waiting, as it must
	}
	if n, err := first.UpdateEntityMetadata(ctx, id, 1, "s3://b/t/m1.json", []byte(`{}`), time.Now()); err != nil || n != 1 {
		t.Fatalf("UpdateEntityMetadata = %d, %v", n, err)
	}
	if err := first.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if v := <-seen; v != 2 {
		t.Fatalf("the second writer saw version %d, want 2 (the first writer's commit)", v)
	}
}

// UpdateEntityMetadata swaps only from the base version; with an
// EntityCommitter, CommitEntity does the same in one statement and reports
// what it found.
func testCompareAndSwap(t *testing.T, d driver.Driver) {
	ctx := ctxFor(t)
	mkNamespace(t, ctx, d, "ns")
	id := mkEntity(t, ctx, d, entity("ns", "t", ""))
	for _, tc := range []struct {
		base int64
		want int64
	}{{1, 1}, {1, 0}, {2, 1}} {
		var n int64
		if err := inTx(t, ctx, d, func(tx driver.Tx) (err error) {
			n, err = tx.UpdateEntityMetadata(ctx, id, tc.base, "s3://b/t/m.json", []byte(`{}`), time.Now())
			return err
		}); err != nil || n != tc.want {
			t.Fatalf("UpdateEntityMetadata(base %d) = %d, %v; want %d", tc.base, n, err, tc.want)
		}
	}
	c, ok := d.(driver.EntityCommitter)
	if !ok {
		return
	}
	key := driver.EntityKey{Warehouse: "wh", Namespace: "ns", Name: "t", Kind: "table"}
	commit := func(base int64, kind string) driver.CommitResult {
		k := key
		k.Kind = kind
		res, err := c.CommitEntity(ctx, driver.EntityCommit{Key: k, BaseVersion: base, MetadataLocation: "s3://b/t/m9.json",
			Metadata: []byte(`{}`), Event: driver.EventRow{Type: "table.committed", Warehouse: "wh", Namespace: "ns", Name: "t", Details: []byte(`{}`)},
			IdempotencyOutcome: []byte(`{}`), IdempotencyExpiresAt: time.Now()})
		if err != nil {
			t.Fatalf("CommitEntity: %v", err)
		}
		return res
	}
	if res := commit(1, "table"); res.Committed || res.CurrentVersion != 3 || res.CurrentKind != "table" {
		t.Fatalf("stale CommitEntity = %+v", res)
	}
	if res := commit(3, "view"); res.Committed {
		t.Fatalf("CommitEntity of the wrong kind committed: %+v", res)
	}
	if res := commit(3, "table"); !res.Committed {
		t.Fatalf("CommitEntity = %+v, want committed", res)
	}
	if row, err := d.Reader().GetEntity(ctx, key); err != nil || row.Version != 4 || row.MetadataLocation != "s3://b/t/m9.json" {
		t.Fatalf("after CommitEntity: %+v, %v", row, err)
	}
}

// A rolled-back transaction leaves nothing behind, and Rollback after
// Commit is harmless.
func testRollback(t *testing.T, d driver.Driver) {
	ctx := ctxFor(t)
	tx, err := d.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.InsertNamespace(ctx, driver.NamespaceRow{Warehouse: "wh", Name: "gone", Properties: []byte("{}")}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, err := d.Reader().NamespaceExists(ctx, "wh", "gone"); err != nil || ok {
		t.Fatalf("NamespaceExists after rollback = %v, %v", ok, err)
	}
	mkNamespace(t, ctx, d, "kept")
	tx, err = d.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatalf("Rollback after Commit: %v", err)
	}
}

// Events committed together get consecutive ids in the order given, and
// are listed (after SequenceEvents, for a driver that numbers after
// commit) with the time they were written.
func testEvents(t *testing.T, d driver.Driver) {
	ctx := ctxFor(t)
	before := time.Now().Add(-time.Minute)
	evs := []driver.EventRow{
		{Type: "namespace.created", Warehouse: "wh", Namespace: "a", Details: []byte(`{}`)},
		{Type: "namespace.created", Warehouse: "wh", Namespace: "b", Details: []byte(`{"principal":"x"}`)},
	}
	for range 2 {
		if err := inTx(t, ctx, d, func(tx driver.Tx) error { return tx.InsertEvents(ctx, evs, time.Now()) }); err != nil {
			t.Fatalf("InsertEvents: %v", err)
		}
	}
	if s, ok := d.(driver.EventSequencer); ok {
		if err := s.SequenceEvents(ctx); err != nil {
			t.Fatal(err)
		}
	}
	got, err := d.Reader().ListEvents(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Fatalf("ListEvents: %d events, want 4", len(got))
	}
	for i, e := range got {
		if i > 0 && e.ID != got[i-1].ID+1 {
			t.Errorf("ids %d, %d not consecutive", got[i-1].ID, e.ID)
		}
		if e.Namespace != evs[i%2].Namespace || string(e.Details) != string(evs[i%2].Details) && i%2 == 0 {
			t.Errorf("event %d = %+v, want %+v", i, e, evs[i%2])
		}
		if e.Time.Before(before) || e.Time.After(time.Now().Add(time.Minute)) {
			t.Errorf("event %d time %v, want about now", i, e.Time)
		}
	}
	if last, err := d.Reader().LastEventID(ctx); err != nil || last != got[3].ID {
		t.Fatalf("LastEventID = %d, %v; want %d", last, err, got[3].ID)
	}
}

// A statement a driver may defer (driver.Deferrable) that fails makes the
// transaction fail definitely, wherever its error surfaces: never
// ErrOutcomeUnknown, nothing of the transaction stays, and the driver
// serves the next transaction. A rolled back transaction's held-back
// statements never run.
func testDeferredFailure(t *testing.T, d driver.Driver) {
	ctx := ctxFor(t)
	if !driver.Deferrable["InsertClaims"] {
		t.Fatal("the test needs InsertClaims to be deferrable")
	}
	for range 3 { // on a pooled connection, again and again
		err := inTx(t, ctx, d, func(tx driver.Tx) error {
			if _, err := tx.InsertNamespace(ctx, driver.NamespaceRow{Warehouse: "wh", Name: "doomed", Properties: []byte("{}")}, time.Now()); err != nil {
				return err
			}
			// The owner kind violates a CHECK constraint on every database.
			return tx.InsertClaims(ctx, "no such kind", 1, []string{"s3://b/doomed/"})
		})
		if err == nil || errors.Is(err, driver.ErrOutcomeUnknown) {
			t.Fatalf("failing deferred statement: commit error %v, want a definite failure", err)
		}
		if ok, err := d.Reader().NamespaceExists(ctx, "wh", "doomed"); err != nil || ok {
			t.Fatalf("NamespaceExists after the failed commit = %v, %v", ok, err)
		}
	}
	tx, err := d.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.InsertNamespace(ctx, driver.NamespaceRow{Warehouse: "wh", Name: "rolled", Properties: []byte("{}")}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := tx.InsertClaims(ctx, "namespace", 1, []string{"s3://b/rolled/"}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if keys, err := d.Reader().OwnedClaims(ctx, "namespace", 1); err != nil || len(keys) != 0 {
		t.Fatalf("claims of a rolled back transaction: %v, %v", keys, err)
	}
	mkNamespace(t, ctx, d, "after")
}
