package events_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/bingsan/bingsan/events"
	"github.com/bingsan/bingsan/gen/bingsanapi"
	"github.com/bingsan/bingsan/metrics"
	"github.com/bingsan/bingsan/metrics/metricstest"
	"github.com/bingsan/bingsan/principal"
	"github.com/bingsan/bingsan/server/servertest"
	"github.com/bingsan/bingsan/store"
)

func str(s string) *string { return &s }

func TestEnvelope(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 4, 5, 6, 7, 8000, time.FixedZone("x", 3600))
	e := store.Event{ID: 42, Type: store.EventTableCommitted, Time: at, Warehouse: "wh 1", Namespace: []string{"a", "b.c"}, Name: "t",
		EventDetails: store.EventDetails{PreviousMetadataLocation: "s3://m/1.json", MetadataLocation: "s3://m/2.json",
			SnapshotsAdded: []int64{9007199254740993}, Principal: "alice"}}
	b, err := events.Encode(e)
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{
		"specversion": "1.0", "id": "42", "type": "io.bingsan.table.committed", "source": "/bingsan/wh%201",
		"subject": "a.b.c.t", "datacontenttype": "application/json", "time": "2026-03-04T04:06:07.000008Z",
	} {
		if raw[k] != want {
			t.Errorf("%s: got %v, want %v", k, raw[k], want)
		}
	}
	var env bingsanapi.Event
	if err := json.Unmarshal(b, &env); err != nil {
		t.Fatal(err)
	}
	d := env.Data
	if d.Warehouse != "wh 1" || !slices.Equal(d.Namespace, []string{"a", "b.c"}) || *d.Name != "t" || d.Kind != bingsanapi.EventDataKindTable ||
		*d.PreviousMetadataLocation != "s3://m/1.json" || *d.MetadataLocation != "s3://m/2.json" ||
		!slices.Equal(*d.SnapshotsAdded, []int64{9007199254740993}) || *d.Principal != "alice" {
		t.Fatalf("data: %s", b)
	}
	// Absent details are absent, not empty.
	b, _ = events.Encode(store.Event{ID: 1, Type: store.EventNamespaceCreated, Warehouse: "w", Namespace: []string{"n"}})
	var data map[string]any
	_ = json.Unmarshal(b, &raw)
	data = raw["data"].(map[string]any)
	if len(data) != 3 || data["kind"] != "namespace" || raw["subject"] != "n" {
		t.Fatalf("namespace event: %s", b)
	}
	b, _ = events.Encode(store.Event{ID: 2, Type: store.EventViewRenamed, Warehouse: "w", Namespace: []string{"n"}, Name: "v",
		EventDetails: store.EventDetails{RenamedTo: &store.RenamedTo{Namespace: []string{"m"}, Name: "w"}}})
	if err := json.Unmarshal(b, &env); err != nil || env.Data.RenamedTo == nil || env.Data.RenamedTo.Name != "w" || env.Data.Kind != bingsanapi.EventDataKindView {
		t.Fatalf("rename: %s %v", b, err)
	}
}

func TestFilter(t *testing.T) {
	t.Parallel()
	ev := func(typ store.EventType, wh string, ns []string, name string) store.Event {
		return store.Event{Type: typ, Warehouse: wh, Namespace: ns, Name: name}
	}
	nsA := ev(store.EventNamespaceCreated, "w", []string{"a"}, "")
	nsAB := ev(store.EventNamespaceCreated, "w", []string{"a", "b"}, "")
	nsAx := ev(store.EventNamespaceCreated, "w", []string{"ax"}, "")
	tblA := ev(store.EventTableCommitted, "w", []string{"a"}, "t")
	tblAB := ev(store.EventTableCommitted, "w", []string{"a", "b"}, "t")
	viewA := ev(store.EventViewReplaced, "w", []string{"a"}, "t2")
	other := ev(store.EventTableCommitted, "v", []string{"a"}, "t")
	renamed := ev(store.EventTableRenamed, "w", []string{"z"}, "old")
	renamed.RenamedTo = &store.RenamedTo{Namespace: []string{"a"}, Name: "t"}
	all := []store.Event{nsA, nsAB, nsAx, tblA, tblAB, viewA, other, renamed}
	for _, tc := range []struct {
		name           string
		wh, ns, object *string
		types          *[]string
		want           []int
	}{
		{"All", nil, nil, nil, nil, []int{0, 1, 2, 3, 4, 5, 6, 7}},
		{"Warehouse", str("v"), nil, nil, nil, []int{6}},
		{"NamespacePrefixIsByLevel", nil, str("a"), nil, nil, []int{0, 1, 3, 4, 5, 6, 7}},
		{"NestedNamespace", nil, str("a\x1fb"), nil, nil, []int{1, 4}},
		{"ObjectIsExact", str("w"), str("a"), str("t"), nil, []int{3, 7}},
		{"ObjectOldName", nil, str("z"), str("old"), nil, []int{7}},
		{"Types", nil, nil, nil, &[]string{"io.bingsan.namespace.created,view.replaced"}, []int{0, 1, 2, 5}},
		{"Combined", str("w"), str("a"), nil, &[]string{"table.committed"}, []int{3, 4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := events.ParseFilter(tc.wh, tc.ns, tc.object, tc.types)
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for i, e := range all {
				if f.Match(e) {
					got = append(got, i)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("matched %v, want %v", got, tc.want)
			}
		})
	}
	for name, args := range map[string][4]any{
		"UnknownType":     {nil, nil, nil, &[]string{"table.exploded"}},
		"ObjectWithoutNs": {nil, nil, str("t"), nil},
		"EmptyLevel":      {nil, str("a\x1f"), nil, nil},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := events.ParseFilter(ptrOrNil(args[0]), ptrOrNil(args[1]), ptrOrNil(args[2]), typesOrNil(args[3]))
			if err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func ptrOrNil(v any) *string {
	if v == nil {
		return nil
	}
	return v.(*string)
}

func typesOrNil(v any) *[]string {
	if v == nil {
		return nil
	}
	return v.(*[]string)
}

// mkNamespaces creates namespaces name0..name{n-1}; each writes one event.
func mkNamespaces(t testing.TB, st store.Store, name string, n int) {
	t.Helper()
	for i := range n {
		if err := st.CreateNamespace(context.Background(), "wh", store.Namespace{Levels: []string{fmt.Sprintf("%s%d", name, i)}}); err != nil {
			t.Fatal(err)
		}
	}
}

func forBackends(t *testing.T, fn func(t *testing.T, st store.Store)) {
	for _, b := range servertest.Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			fn(t, servertest.OpenStore(t, b))
		})
	}
}

func TestList(t *testing.T) {
	t.Parallel()
	forBackends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		mkNamespaces(t, st, "a", 3)
		mkNamespaces(t, st, "b", 3)
		mkNamespaces(t, st, "a", 0)
		f, _ := events.ParseFilter(nil, str("b1"), nil, nil)
		p, err := events.List(ctx, st, 0, 10, f)
		if err != nil || len(p.Events) != 1 || p.Events[0].ID != 5 || p.NextAfter != 6 || p.More {
			t.Fatalf("filtered: %+v %v", p, err)
		}
		p, err = events.List(ctx, st, 2, 2, events.Filter{})
		if err != nil || len(p.Events) != 2 || p.Events[0].ID != 3 || p.NextAfter != 4 || !p.More {
			t.Fatalf("page: %+v %v", p, err)
		}
		p, err = events.List(ctx, st, 6, 2, events.Filter{})
		if err != nil || len(p.Events) != 0 || p.NextAfter != 6 || p.More {
			t.Fatalf("at the end: %+v %v", p, err)
		}
		// After pruning, a resume point whose successors are gone is
		// refused; 0 starts at the oldest retained event.
		time.Sleep(10 * time.Millisecond)
		cut := time.Now()
		time.Sleep(10 * time.Millisecond)
		mkNamespaces(t, st, "c", 1)
		if _, err := st.PruneEvents(ctx, cut); err != nil {
			t.Fatal(err)
		}
		var gone *events.GoneError
		if _, err := events.List(ctx, st, 3, 2, events.Filter{}); !errors.As(err, &gone) || gone.After != 3 {
			t.Fatalf("after pruned events: %v", err)
		}
		if p, err := events.List(ctx, st, 0, 5, events.Filter{}); err != nil || len(p.Events) != 1 || p.Events[0].ID != 7 {
			t.Fatalf("from the oldest retained: %+v %v", p, err)
		}
		if p, err := events.List(ctx, st, 6, 5, events.Filter{}); err != nil || len(p.Events) != 1 {
			t.Fatalf("right before the oldest retained: %+v %v", p, err)
		}
	})
}

// startBroker runs a broker over st until the test ends.
func startBroker(t *testing.T, st store.Store, opts events.Options) *events.Broker {
	t.Helper()
	if opts.PollInterval == 0 {
		opts.PollInterval = 50 * time.Millisecond
	}
	b := events.NewBroker(st, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); b.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return b
}

// receive reads n messages from sub, failing after timeout.
func receive(t *testing.T, sub *events.Subscription, n int, timeout time.Duration) []int64 {
	t.Helper()
	var ids []int64
	deadline := time.After(timeout)
	for len(ids) < n {
		select {
		case m := <-sub.Messages():
			var env bingsanapi.Event
			if err := json.Unmarshal(m.JSON, &env); err != nil || env.Id != strconv.FormatInt(m.ID, 10) {
				t.Fatalf("message %d: %s %v", m.ID, m.JSON, err)
			}
			ids = append(ids, m.ID)
		case <-sub.Done():
			t.Fatalf("subscription ended after %d of %d: %v", len(ids), n, sub.Err())
		case <-deadline:
			t.Fatalf("received %d of %d events within %v: %v", len(ids), n, timeout, ids)
		}
	}
	return ids
}

func seq(from, to int64) []int64 {
	var out []int64
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

func TestBrokerLive(t *testing.T) {
	t.Parallel()
	forBackends(t, func(t *testing.T, st store.Store) {
		mkNamespaces(t, st, "before", 3)
		b := startBroker(t, st, events.Options{})
		ctx := context.Background()
		sub, err := b.Subscribe(ctx, events.Filter{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Close()
		if sub.Head != 3 {
			t.Fatalf("head %d, want 3", sub.Head)
		}
		f, _ := events.ParseFilter(nil, str("live1"), nil, nil)
		filtered, err := b.Subscribe(ctx, f, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer filtered.Close()
		pctx := principal.With(ctx, "bob")
		for i := range 5 {
			if err := st.CreateNamespace(pctx, "wh", store.Namespace{Levels: []string{fmt.Sprintf("live%d", i)}}); err != nil {
				t.Fatal(err)
			}
		}
		if got := receive(t, sub, 5, 10*time.Second); !slices.Equal(got, seq(4, 8)) {
			t.Fatalf("live: %v", got)
		}
		if got := receive(t, filtered, 1, 10*time.Second); !slices.Equal(got, []int64{5}) {
			t.Fatalf("filtered: %v", got)
		}
		select {
		case m := <-filtered.Messages():
			t.Fatalf("filter let %d through", m.ID)
		case <-time.After(200 * time.Millisecond):
		}
	})
}

// countingStore counts reads of the outbox.
type countingStore struct {
	store.Store
	mu    sync.Mutex
	lists int
}

func (c *countingStore) ListEvents(ctx context.Context, after int64, limit int) ([]store.Event, error) {
	c.mu.Lock()
	c.lists++
	c.mu.Unlock()
	return c.Store.ListEvents(ctx, after, limit)
}

func (c *countingStore) listed() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lists
}

// With nobody subscribed the broker reads nothing, however much is
// written; subscribers arriving afterwards, live or from the past, get
// exactly what they asked for, even when the events written meanwhile
// were pruned.
func TestBrokerIdle(t *testing.T) {
	t.Parallel()
	forBackends(t, func(t *testing.T, st store.Store) {
		cs := &countingStore{Store: st}
		b := startBroker(t, cs, events.Options{PollInterval: 10 * time.Millisecond, Buffer: 8})
		mkNamespaces(t, st, "early", 5)
		time.Sleep(20 * time.Millisecond)
		cut := time.Now()
		time.Sleep(20 * time.Millisecond)
		mkNamespaces(t, st, "idle", 15)
		if _, err := st.PruneEvents(context.Background(), cut); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
		if n := cs.listed(); n != 0 {
			t.Fatalf("the broker read the outbox %d times with no subscriber", n)
		}
		live, err := b.Subscribe(context.Background(), events.Filter{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer live.Close()
		after := int64(10)
		past, err := b.Subscribe(context.Background(), events.Filter{}, &after)
		if err != nil {
			t.Fatal(err)
		}
		defer past.Close()
		mkNamespaces(t, st, "late", 3)
		if got := receive(t, live, 3, 10*time.Second); !slices.Equal(got, seq(21, 23)) {
			t.Fatalf("live after an idle broker: %v", got)
		}
		if got := receive(t, past, 13, 10*time.Second); !slices.Equal(got, seq(11, 23)) {
			t.Fatalf("from event 10 after an idle broker: %v", got)
		}
		live.Close()
		past.Close()
		time.Sleep(50 * time.Millisecond) // a poll under way when they closed may still read
		n := cs.listed()
		mkNamespaces(t, st, "again", 3)
		time.Sleep(100 * time.Millisecond)
		if m := cs.listed(); m != n {
			t.Fatalf("the broker read the outbox %d times after its subscribers left", m-n)
		}
		// A subscriber resuming far behind an idle broker catches up at
		// its own pace: the broker, whose head is stale, never offers it
		// the backlog at once (which its queue of 8 could not hold).
		mkNamespaces(t, st, "backlog", 40)
		after = 23
		resumed, err := b.Subscribe(context.Background(), events.Filter{}, &after)
		if err != nil {
			t.Fatal(err)
		}
		defer resumed.Close()
		if got := receive(t, resumed, 43, 10*time.Second); !slices.Equal(got, seq(24, 66)) {
			t.Fatalf("resumed behind an idle broker: %v", got)
		}
	})
}

// A subscriber that starts in the past reads the backlog from the store and
// then switches to live delivery while writers keep writing: every event
// arrives exactly once, in order.
func TestBrokerCatchUpWhileWriting(t *testing.T) {
	t.Parallel()
	forBackends(t, func(t *testing.T, st store.Store) {
		mkNamespaces(t, st, "old", 150)
		b := startBroker(t, st, events.Options{BatchSize: 16, Buffer: 4096})
		var wg sync.WaitGroup
		wg.Go(func() { mkNamespaces(t, st, "new", 150) })
		var subs []*events.Subscription
		for _, after := range []int64{0, 1, 77, 149} {
			sub, err := b.Subscribe(context.Background(), events.Filter{}, &after)
			if err != nil {
				t.Fatal(err)
			}
			defer sub.Close()
			subs = append(subs, sub)
			time.Sleep(5 * time.Millisecond)
		}
		wg.Wait()
		for i, after := range []int64{0, 1, 77, 149} {
			if got := receive(t, subs[i], int(300-after), 30*time.Second); !slices.Equal(got, seq(after+1, 300)) {
				t.Fatalf("after %d: got %d events, not 1..300 in order: %v", after, len(got), got)
			}
		}
	})
}

func TestBrokerSlowSubscriber(t *testing.T) {
	t.Parallel()
	forBackends(t, func(t *testing.T, st store.Store) {
		m := metrics.New(metrics.Options{NoRuntime: true})
		b := startBroker(t, st, events.Options{Buffer: 4, Metrics: m.Events()})
		sub, err := b.Subscribe(context.Background(), events.Filter{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Close()
		mkNamespaces(t, st, "n", 10)
		select {
		case <-sub.Done():
		case <-time.After(10 * time.Second):
			t.Fatal("a subscriber that never reads was not closed")
		}
		if !errors.Is(sub.Err(), events.ErrSlow) {
			t.Fatalf("err %v, want ErrSlow", sub.Err())
		}
		// Counted once, as slow, though its consumer closes it too.
		sub.Close()
		if got := closedSubscribers(t, m); got[metrics.EventClosedSlow] != 1 || got[metrics.EventClosedClient] != 0 {
			t.Fatalf("bingsan_event_subscribers_closed_total = %v, want slow 1, client 0", got)
		}
		// What was queued is still there, in order, and nothing after it.
		var got []int64
		for len(sub.Messages()) > 0 {
			got = append(got, (<-sub.Messages()).ID)
		}
		if !slices.Equal(got, seq(1, 4)) {
			t.Fatalf("queued: %v", got)
		}
		// Others are not held up by it.
		other, err := b.Subscribe(context.Background(), events.Filter{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		mkNamespaces(t, st, "m", 2)
		receive(t, other, 2, 10*time.Second)
	})
}

func TestBrokerGoneAndShutdown(t *testing.T) {
	t.Parallel()
	st := servertest.OpenStore(t, servertest.SQLite)
	mkNamespaces(t, st, "n", 3)
	time.Sleep(5 * time.Millisecond)
	if _, err := st.PruneEvents(context.Background(), time.Now()); err != nil {
		t.Fatal(err)
	}
	b := events.NewBroker(st, events.Options{PollInterval: 20 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); b.Run(ctx) }()
	var gone *events.GoneError
	one := int64(1)
	if _, err := b.Subscribe(context.Background(), events.Filter{}, &one); !errors.As(err, &gone) || gone.After != 1 {
		t.Fatalf("subscribe after pruned events: %v", err)
	}
	// From the oldest retained, when none is: live from the head.
	zero := int64(0)
	sub, err := b.Subscribe(context.Background(), events.Filter{}, &zero)
	if err != nil {
		t.Fatal(err)
	}
	mkNamespaces(t, st, "m", 1)
	if got := receive(t, sub, 1, 10*time.Second); got[0] != 4 {
		t.Fatalf("got %v", got)
	}
	cancel()
	<-done
	select {
	case <-sub.Done():
	default:
		t.Fatal("subscription still open after the broker stopped")
	}
	if !errors.Is(sub.Err(), events.ErrShutdown) {
		t.Fatalf("err %v", sub.Err())
	}
	drained := make(chan error, 1)
	go func() { drained <- b.Drain(context.Background()) }()
	select {
	case <-drained:
		t.Fatal("Drain returned before the subscription was closed")
	case <-time.After(50 * time.Millisecond):
	}
	sub.Close()
	if err := <-drained; err != nil {
		t.Fatal(err)
	}
	if _, err := b.Subscribe(context.Background(), events.Filter{}, nil); !errors.Is(err, events.ErrShutdown) {
		t.Fatalf("subscribe after shutdown: %v", err)
	}
}

// closedSubscribers reads bingsan_event_subscribers_closed_total by reason.
func closedSubscribers(t *testing.T, m *metrics.Metrics) map[string]float64 {
	return metricstest.ByLabel(t, m, "bingsan_event_subscribers_closed_total", "reason")
}
