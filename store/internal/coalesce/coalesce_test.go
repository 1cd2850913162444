package coalesce_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bingsan/bingsan/store/internal/coalesce"
)

// fakeDB records each batch and can hold a batch until released.
type fakeDB struct {
	mu      sync.Mutex
	batches [][]string
	rows    map[string]int
	err     error
	started chan []string // each batch's keys, when the test wants to see them
	release chan struct{} // when set, every batch waits for a value
}

func (f *fakeDB) fetch(_ context.Context, keys []string) (map[string]int, error) {
	f.mu.Lock()
	f.batches = append(f.batches, slices.Clone(keys))
	started, release := f.started, f.release
	f.mu.Unlock()
	if started != nil {
		started <- slices.Clone(keys)
	}
	if release != nil {
		<-release
	}
	if f.err != nil {
		return nil, f.err
	}
	out := map[string]int{}
	for _, k := range keys {
		if v, ok := f.rows[k]; ok {
			out[k] = v
		}
	}
	return out, nil
}

func TestGet(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	tests := []struct {
		name    string
		key     string
		err     error
		wantV   int
		wantOK  bool
		wantErr error
	}{
		{name: "present", key: "a", wantV: 1, wantOK: true},
		{name: "absent", key: "zz"},
		{name: "fetch fails", key: "a", err: boom, wantErr: boom},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := &fakeDB{rows: map[string]int{"a": 1}, err: tc.err}
			r := coalesce.New(db.fetch, coalesce.Options{})
			v, ok, err := r.Get(context.Background(), tc.key)
			if v != tc.wantV || ok != tc.wantOK || !errors.Is(err, tc.wantErr) {
				t.Fatalf("Get(%q) = %d, %v, %v; want %d, %v, %v", tc.key, v, ok, err, tc.wantV, tc.wantOK, tc.wantErr)
			}
		})
	}
}

// Reads queued behind a running batch share the next one: distinct keys
// once each, at most MaxBatch per batch, and a key that the running batch
// already fetches is fetched again, since its reader arrived after that
// batch began.
func TestReadsQueuedBehindABatchShareTheNext(t *testing.T) {
	t.Parallel()
	var observed []int
	var obsMu sync.Mutex
	db := &fakeDB{
		rows:    map[string]int{"a": 1, "b": 2, "c": 3, "d": 4},
		started: make(chan []string, 16),
		release: make(chan struct{}),
	}
	r := coalesce.New(db.fetch, coalesce.Options{MaxBatch: 2, Observe: func(n int) {
		obsMu.Lock()
		observed = append(observed, n)
		obsMu.Unlock()
	}})
	ctx := context.Background()

	type got struct {
		key string
		v   int
		ok  bool
		err error
	}
	results := make(chan got, 16)
	get := func(k string) {
		v, ok, err := r.Get(ctx, k)
		results <- got{k, v, ok, err}
	}
	go get("a")
	if keys := <-db.started; !slices.Equal(keys, []string{"a"}) {
		t.Fatalf("first batch %v, want [a]", keys)
	}
	// While [a] runs: a again, b twice, c, and a missing key.
	queued := []string{"a", "b", "b", "c", "x"}
	for i, k := range queued {
		go get(k)
		waitQueued(t, r, i+1) // one at a time, so that the queue order is known
	}

	for range 3 { // [a], then [a b], [c x]
		db.release <- struct{}{}
	}
	want := map[string]int{"a": 1, "b": 2, "c": 3}
	for range len(queued) + 1 {
		g := <-results
		if g.err != nil || g.ok != (want[g.key] != 0) || g.v != want[g.key] {
			t.Errorf("Get(%q) = %d, %v, %v", g.key, g.v, g.ok, g.err)
		}
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	wantBatches := [][]string{{"a"}, {"a", "b"}, {"c", "x"}}
	if !slices.EqualFunc(db.batches, wantBatches, slices.Equal) {
		t.Fatalf("batches %v, want %v", db.batches, wantBatches)
	}
	obsMu.Lock()
	defer obsMu.Unlock()
	if !slices.Equal(observed, []int{1, 2, 2}) {
		t.Fatalf("observed batch sizes %v, want [1 2 2]", observed)
	}
}

// waitQueued waits until n reads are queued behind the running batch.
func waitQueued(t *testing.T, r *coalesce.Reader[string, int], n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if r.Queued() >= n {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("only %d of %d reads queued", r.Queued(), n)
}

// A reader whose context ends stops waiting; the batch still answers the
// others.
func TestCancelledReaderLeavesTheBatch(t *testing.T) {
	t.Parallel()
	db := &fakeDB{rows: map[string]int{"a": 1}, started: make(chan []string, 4), release: make(chan struct{})}
	r := coalesce.New(db.fetch, coalesce.Options{})
	first := make(chan error, 1)
	go func() { _, _, err := r.Get(context.Background(), "a"); first <- err }()
	<-db.started

	ctx, cancel := context.WithCancel(context.Background())
	cancelled := make(chan error, 1)
	go func() { _, _, err := r.Get(ctx, "a"); cancelled <- err }()
	other := make(chan int, 1)
	go func() { v, _, _ := r.Get(context.Background(), "a"); other <- v }()
	waitQueued(t, r, 2)
	cancel()
	if err := <-cancelled; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled reader: %v", err)
	}
	db.release <- struct{}{}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	<-db.started
	db.release <- struct{}{}
	if v := <-other; v != 1 {
		t.Fatalf("other reader got %d", v)
	}
}

// Many concurrent readers of the same few keys all get the right values
// (run with -race).
func TestConcurrentReaders(t *testing.T) {
	t.Parallel()
	rows := map[string]int{"a": 1, "b": 2, "c": 3}
	db := &fakeDB{rows: rows}
	r := coalesce.New(db.fetch, coalesce.Options{MaxInFlight: 2})
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Go(func() {
			k := []string{"a", "b", "c", "d"}[i%4]
			v, ok, err := r.Get(context.Background(), k)
			if err != nil || v != rows[k] || ok != (k != "d") {
				t.Errorf("Get(%q) = %d, %v, %v", k, v, ok, err)
			}
		})
	}
	wg.Wait()
}

// A batch that outlives Timeout fails its reads with the deadline, and the
// reads after it get a batch of their own.
func TestBatchTimeout(t *testing.T) {
	t.Parallel()
	stuck := true
	var mu sync.Mutex
	fetch := func(ctx context.Context, keys []string) (map[string]int, error) {
		mu.Lock()
		block := stuck
		stuck = false
		mu.Unlock()
		if block {
			<-ctx.Done()
			return nil, ctx.Err()
		}
		return map[string]int{"a": 1}, nil
	}
	r := coalesce.New(fetch, coalesce.Options{Timeout: 20 * time.Millisecond})
	if _, _, err := r.Get(context.Background(), "a"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("stuck batch: %v, want DeadlineExceeded", err)
	}
	if v, ok, err := r.Get(context.Background(), "a"); v != 1 || !ok || err != nil {
		t.Fatalf("next read: %d, %v, %v", v, ok, err)
	}
}
