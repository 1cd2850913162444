// Package storetest is the one test suite every store.Store backend must
// pass. A backend's test calls Run with a constructor that returns a fresh,
// migrated store; everything the catalog relies on (error kinds, ordering,
// atomicity, concurrency) is checked here and nowhere else.
package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/store"
)

// Run runs the whole suite. newStore must return a new, empty, migrated
// store and arrange for it to be closed at the end of t.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("Namespaces", func(t *testing.T) { t.Parallel(); testNamespaces(t, newStore) })
	t.Run("Entities", func(t *testing.T) { t.Parallel(); testEntities(t, newStore) })
	t.Run("Commit", func(t *testing.T) { t.Parallel(); testCommit(t, newStore) })
	t.Run("Idempotency", func(t *testing.T) { t.Parallel(); testIdempotency(t, newStore) })
	t.Run("PurgeJobs", func(t *testing.T) { t.Parallel(); testPurgeJobs(t, newStore) })
	t.Run("Events", func(t *testing.T) { t.Parallel(); testEvents(t, newStore) })
	t.Run("Auth", func(t *testing.T) { t.Parallel(); testAuth(t, newStore) })
	t.Run("Plans", func(t *testing.T) { t.Parallel(); testPlans(t, newStore) })
	t.Run("Claims", func(t *testing.T) { t.Parallel(); testClaims(t, newStore) })
	t.Run("Functions", func(t *testing.T) { t.Parallel(); testFunctions(t, newStore) })
}

// bundle is what every test case starts from.
type bundle struct {
	ctx context.Context
	s   store.Store
	wh  string
}

func setup(t *testing.T, newStore func(t *testing.T) store.Store) *bundle {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return &bundle{ctx: ctx, s: newStore(t), wh: "wh"}
}

func (b *bundle) ident(name string, ns ...string) store.Ident {
	return store.Ident{Warehouse: b.wh, Namespace: ns, Name: name}
}

func (b *bundle) mkNamespace(t *testing.T, levels ...string) {
	t.Helper()
	if err := b.s.CreateNamespace(b.ctx, b.wh, store.Namespace{Levels: levels}); err != nil {
		t.Fatalf("CreateNamespace(%q): %v", levels, err)
	}
}

func (b *bundle) mkEntity(t *testing.T, kind store.Kind, id store.Ident) store.Entity {
	t.Helper()
	e := store.Entity{Ident: id, Kind: kind, MetadataLocation: "s3://bucket/" + id.Name + "/metadata/00000.json", Metadata: metadataFor(id, 0)}
	if err := b.s.CreateEntity(b.ctx, e); err != nil {
		t.Fatalf("CreateEntity(%s %s): %v", kind, id, err)
	}
	e.Version = 1
	return e
}

func (b *bundle) getEntity(t *testing.T, kind store.Kind, id store.Ident) store.Entity {
	t.Helper()
	e, err := b.s.GetEntity(b.ctx, kind, id)
	if err != nil {
		t.Fatalf("GetEntity(%s %s): %v", kind, id, err)
	}
	return e
}

// metadataFor is a metadata document with the details a store must not
// touch: a 63-bit id no float64 can hold, odd spacing, non-ASCII text.
func metadataFor(id store.Ident, n int) []byte {
	return fmt.Appendf(nil, `{"format-version":2,  "location":"s3://bucket/%s","current-snapshot-id":9007199254740993%d,"comment":"ünïcode %d"}`, id.Name, n, n)
}

var kindNames = map[errs.Kind]string{
	errs.Internal: "Internal", errs.BadRequest: "BadRequest", errs.NotFound: "NotFound",
	errs.NoSuchNamespace: "NoSuchNamespace", errs.NoSuchTable: "NoSuchTable", errs.NoSuchView: "NoSuchView", errs.NoSuchFunction: "NoSuchFunction",
	errs.AlreadyExists: "AlreadyExists", errs.NamespaceNotEmpty: "NamespaceNotEmpty",
	errs.CommitFailed: "CommitFailed", errs.CommitStateUnknown: "CommitStateUnknown",
	errs.Unprocessable: "Unprocessable", errs.ServiceUnavailable: "ServiceUnavailable",
}

func kindName(k errs.Kind) string {
	if n, ok := kindNames[k]; ok {
		return n
	}
	return k.String()
}

// wantErr checks err's kind and, when msg is not empty, that the client
// message contains msg.
func wantErr(t *testing.T, err error, kind errs.Kind, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s", kindName(kind))
	}
	if got := errs.KindOf(err); got != kind {
		t.Fatalf("got %s (%v), want %s", kindName(got), err, kindName(kind))
	}
	if msg != "" && !strings.Contains(err.Error(), msg) {
		t.Fatalf("error %q does not contain %q", err, msg)
	}
}

func noErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

func equalStrings(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%s: got %q, want %q", what, got, want)
	}
}
