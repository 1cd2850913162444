package catalog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/iceberg-go/table"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/store"
)

func TestMetadataCacheBounded(t *testing.T) {
	doc, _, _ := benchTable(t, 0)
	m, err := table.ParseMetadataBytes(doc)
	if err != nil {
		t.Fatal(err)
	}
	c := newMetadataCache(10 * len(doc))
	for i := range 100 {
		c.put(string(rune('a'+i%26))+string(rune('a'+i/26)), m, len(doc))
		if c.size > c.max || len(c.entries) > 10 {
			t.Fatalf("cache holds %d bytes in %d entries, bound %d", c.size, len(c.entries), c.max)
		}
	}
	if _, ok := c.get("zz"); ok {
		t.Fatal("hit for a location never cached")
	}
	c.put("big", m, c.max) // more than a quarter: not kept
	if _, ok := c.get("big"); ok {
		t.Fatal("an oversized document was cached")
	}
	var nilCache *metadataCache
	nilCache.put("x", m, 1)
	if _, ok := nilCache.get("x"); ok {
		t.Fatal("a nil cache hit")
	}
}

func TestTableLocks(t *testing.T) {
	var l tableLocks
	a := store.Ident{Warehouse: "wh", Namespace: []string{"ns"}, Name: "a"}
	b := store.Ident{Warehouse: "wh", Namespace: []string{"ns"}, Name: "b"}
	ctx := context.Background()

	// One holder per table at a time; other tables are not held up.
	var held, maxHeld atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			release, err := l.lock(ctx, tableKey(a))
			if err != nil {
				t.Error(err)
				return
			}
			n := held.Add(1)
			for {
				m := maxHeld.Load()
				if n <= m || maxHeld.CompareAndSwap(m, n) {
					break
				}
			}
			time.Sleep(time.Millisecond)
			held.Add(-1)
			release()
		}()
	}
	releaseB, err := l.lock(ctx, tableKey(b))
	if err != nil {
		t.Fatal(err)
	}
	releaseB()
	wg.Wait()
	if maxHeld.Load() != 1 {
		t.Fatalf("%d commits held the lock of one table at once", maxHeld.Load())
	}

	// A waiter gives up when its context ends, and leaves nothing behind.
	release, err := l.lock(ctx, tableKey(a))
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if _, err := l.lock(short, tableKey(a)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("waiting on a held lock: %v", err)
	}
	release()
	if len(l.locks) != 0 {
		t.Fatalf("%d locks left after every holder released", len(l.locks))
	}

	// Past the commit's deadline the wait is a CommitFailed.
	s := &Service{}
	release, err = s.lockEntity(ctx, tableKey(a), a, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if _, err := s.lockEntity(ctx, tableKey(a), a, time.Now().Add(10*time.Millisecond)); !errs.Is(err, errs.CommitFailed) {
		t.Fatalf("lock wait past the deadline: %v, want CommitFailed", err)
	}
}

// encodeMetadata's shortcut produces exactly what json.Marshal does.
func TestEncodeMetadataMatchesMarshal(t *testing.T) {
	for _, n := range []int{0, 3, 50} {
		doc, _, _ := benchTable(t, n)
		// Characters json.Marshal escapes for HTML, in a property.
		doc = bytes.Replace(doc, []byte(`"owner":"bench"`), []byte(`"owner":"<b>&amp;\u2028"`), 1)
		m, err := table.ParseMetadataBytes(doc)
		if err != nil {
			t.Fatal(err)
		}
		if m.Properties()["owner"] != "<b>&amp;\u2028" {
			t.Fatalf("owner = %q", m.Properties()["owner"])
		}
		got, err := encodeMetadata(m)
		if err != nil {
			t.Fatal(err)
		}
		want, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%d snapshots: encodeMetadata differs from json.Marshal:\n%s\n%s", n, got, want)
		}
	}
}
