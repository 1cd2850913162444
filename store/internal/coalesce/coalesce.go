// Package coalesce merges concurrent point reads into batched reads.
//
// A point read over a network database costs a round trip, and on a busy
// node most of that cost is the two socket system calls on each side, not
// the lookup. Reads that arrive while a batch is running wait for the next
// batch, which fetches all their keys in one query; identical keys are
// fetched once. Every read still observes the database as of a moment after
// it arrived, because a batch is only ever started after its reads were
// queued, so batching never serves a stale value.
package coalesce

import (
	"context"
	"sync"
	"time"
)

// Fetch reads keys in one round trip. Keys missing from the result do not
// exist; an error fails every read of the batch.
type Fetch[K comparable, V any] func(ctx context.Context, keys []K) (map[K]V, error)

// Reader runs Fetch for the reads queued since the last batch began. At
// most MaxInFlight batches run at once; a read never waits for a batch that
// began before it was queued.
type Reader[K comparable, V any] struct {
	fetch       Fetch[K, V]
	maxInFlight int
	maxBatch    int
	timeout     time.Duration
	observe     func(keys int)

	mu       sync.Mutex
	inFlight int
	queue    map[K][]chan<- result[V]
	order    []K
}

type result[V any] struct {
	v   V
	ok  bool
	err error
}

// Options tune a Reader; zero values take the defaults.
type Options struct {
	// MaxInFlight caps the batches running at once (default 1). A single
	// batch in flight makes batches largest; more trade batching for
	// parallelism in the database.
	MaxInFlight int
	// MaxBatch caps the distinct keys of one batch (default 64).
	MaxBatch int
	// Timeout bounds one batch (0: none). A batch runs on no reader's
	// context, and one stuck batch holds up every read behind it.
	Timeout time.Duration
	// Observe, when set, is told the number of distinct keys of each batch.
	Observe func(keys int)
}

// New returns a Reader over fetch.
func New[K comparable, V any](fetch Fetch[K, V], o Options) *Reader[K, V] {
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = 1
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 64
	}
	return &Reader[K, V]{fetch: fetch, maxInFlight: o.MaxInFlight, maxBatch: o.MaxBatch, timeout: o.Timeout, observe: o.Observe,
		queue: map[K][]chan<- result[V]{}}
}

// Get reads one key: its value and whether it exists. A read whose context
// ends stops waiting; the batch it joined still runs for the others.
func (r *Reader[K, V]) Get(ctx context.Context, k K) (V, bool, error) {
	done := make(chan result[V], 1)
	r.mu.Lock()
	if _, queued := r.queue[k]; !queued {
		r.order = append(r.order, k)
	}
	r.queue[k] = append(r.queue[k], done)
	var batch map[K][]chan<- result[V]
	var keys []K
	if r.inFlight < r.maxInFlight {
		r.inFlight++
		batch, keys = r.takeLocked()
	}
	r.mu.Unlock()
	if batch != nil {
		// The caller runs the batch it started itself, which saves a
		// goroutine hand-off on an idle node, where every batch is one read.
		r.run(context.WithoutCancel(ctx), batch, keys)
	}
	select {
	case res := <-done:
		return res.v, res.ok, res.err
	case <-ctx.Done():
		var zero V
		return zero, false, ctx.Err()
	}
}

// takeLocked removes up to maxBatch queued keys and their waiters.
func (r *Reader[K, V]) takeLocked() (map[K][]chan<- result[V], []K) {
	n := min(len(r.order), r.maxBatch)
	keys := make([]K, n)
	copy(keys, r.order)
	r.order = append(r.order[:0], r.order[n:]...)
	batch := make(map[K][]chan<- result[V], n)
	for _, k := range keys {
		batch[k] = r.queue[k]
		delete(r.queue, k)
	}
	return batch, keys
}

// run fetches one batch, answers its reads and then either hands the slot
// to the reads queued meanwhile, on a new goroutine so that this caller can
// return, or gives it back.
func (r *Reader[K, V]) run(ctx context.Context, batch map[K][]chan<- result[V], keys []K) {
	if r.observe != nil {
		r.observe(len(keys))
	}
	fetchCtx := ctx
	if r.timeout > 0 {
		var cancel context.CancelFunc
		fetchCtx, cancel = context.WithTimeout(ctx, r.timeout)
		defer cancel()
	}
	vals, err := r.fetch(fetchCtx, keys)
	for k, waiters := range batch {
		res := result[V]{err: err}
		if err == nil {
			res.v, res.ok = vals[k]
		}
		for _, w := range waiters {
			w <- res
		}
	}
	r.mu.Lock()
	if len(r.order) == 0 {
		r.inFlight--
		r.mu.Unlock()
		return
	}
	next, nextKeys := r.takeLocked()
	r.mu.Unlock()
	go r.run(ctx, next, nextKeys)
}
