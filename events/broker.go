package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/bingsan/bingsan/metrics"
	"github.com/bingsan/bingsan/store"
)

// Options tune a Broker; zero values take the defaults.
type Options struct {
	// Buffer is how many events may wait for one subscriber; a subscriber
	// that falls further behind is closed with ErrSlow. Default 1024.
	Buffer int
	// PollInterval is how often the outbox is read without a wake-up, in
	// case one was lost. Default 1s.
	PollInterval time.Duration
	// BatchSize is how many events one read of the outbox fetches.
	// Default 500.
	BatchSize int
	// Logger receives read failures; nil: slog.Default().
	Logger *slog.Logger
	// Metrics counts subscribers and their lag; nil: none.
	Metrics *metrics.Events
}

func (o Options) withDefaults() Options {
	if o.Buffer <= 0 {
		o.Buffer = 1024
	}
	if o.PollInterval <= 0 {
		o.PollInterval = time.Second
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 500
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Why a subscription ended (Subscription.Err).
var (
	// ErrSlow: the subscriber's queue overflowed.
	ErrSlow = errors.New("subscriber too slow: its queue of events overflowed")
	// ErrShutdown: the broker stopped (the node is shutting down).
	ErrShutdown = errors.New("event broker stopped")
	// ErrClosed: the subscriber closed the subscription itself.
	ErrClosed = errors.New("subscription closed")
)

// Message is one event as sent to subscribers.
type Message struct {
	ID   int64
	JSON []byte // the CloudEvents envelope (Encode)
}

// Broker fans the events of the outbox out to this node's subscribers. One
// goroutine (Run) reads the outbox after the last id it has seen, whenever
// the store wakes it and every PollInterval, and offers every event to
// every live subscriber's queue without ever waiting for one.
type Broker struct {
	st    store.Store
	opts  Options
	log   *slog.Logger
	ready chan struct{} // closed once Run has read the head

	mu     sync.Mutex
	ctx    context.Context // Run's; catch-up reads run under it
	head   int64           // the last id offered to live subscribers
	live   int             // live subscribers in subs
	subs   map[*Subscription]struct{}
	closed bool
	failed bool // the last read of the outbox failed (log once)

	open sync.WaitGroup // subscriptions not yet Closed by their consumer
}

// NewBroker returns a broker over st; it serves subscriptions once Run runs.
func NewBroker(st store.Store, opts Options) *Broker {
	opts = opts.withDefaults()
	return &Broker{st: st, opts: opts, log: opts.Logger, ready: make(chan struct{}), subs: map[*Subscription]struct{}{}}
}

// Run delivers events until ctx ends, then closes every subscription with
// ErrShutdown.
func (b *Broker) Run(ctx context.Context) {
	defer b.shutdown()
	wake := b.st.EventWakeups(ctx)
	for {
		head, err := b.st.LastEventID(ctx)
		if err == nil {
			b.mu.Lock()
			b.ctx, b.head = ctx, head
			b.mu.Unlock()
			close(b.ready)
			break
		}
		b.log.Warn("events: reading the newest event id", "error", err)
		if !sleep(ctx, b.opts.PollInterval) {
			return
		}
	}
	t := time.NewTicker(b.opts.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-wake:
			if !ok {
				wake = nil
			}
		case <-t.C:
		}
		b.poll(ctx)
		b.reportLag()
	}
}

// reportLag tells the metrics how many events wait for the subscriber
// furthest behind.
func (b *Broker) reportLag() {
	if b.opts.Metrics == nil {
		return
	}
	b.mu.Lock()
	lag := 0
	for s := range b.subs {
		lag = max(lag, len(s.ch))
	}
	b.mu.Unlock()
	b.opts.Metrics.Lag(lag)
}

// Head is the id of the last event offered to subscribers.
func (b *Broker) Head() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.head
}

// poll reads everything after head and fans it out. With no live
// subscriber it reads nothing: nobody is waiting, and reading would cost a
// numbering transaction (PostgreSQL) and an outbox query after every
// write. A subscriber going live moves a stale head forward (liveFrom).
func (b *Broker) poll(ctx context.Context) {
	for {
		b.mu.Lock()
		idle := b.live == 0
		b.mu.Unlock()
		if idle {
			return
		}
		evs, err := b.st.ListEvents(ctx, b.head, b.opts.BatchSize)
		if err != nil {
			if ctx.Err() == nil && !b.failed {
				b.log.Warn("events: reading the outbox", "error", err)
			}
			b.failed = true
			return
		}
		if b.failed {
			b.log.Info("events: reading the outbox again")
			b.failed = false
		}
		if len(evs) == 0 {
			return
		}
		msgs := make([]Message, len(evs))
		for i, e := range evs {
			data, err := Encode(e)
			if err != nil {
				b.log.Error("events: encoding", "id", e.ID, "error", err)
				return
			}
			msgs[i] = Message{ID: e.ID, JSON: data}
		}
		b.mu.Lock()
		if evs[0].ID != b.head+1 {
			// Pruned before this node read them: its live subscribers
			// missed them, and are told so rather than left unaware.
			b.log.Warn("events: events were pruned before this node read them", "after", b.head, "next", evs[0].ID)
			for s := range b.subs {
				if s.live {
					b.failLocked(s, &GoneError{After: s.last})
				}
			}
		}
		for s := range b.subs {
			if s.live {
				b.offerLocked(s, evs, msgs)
			}
		}
		b.head = evs[len(evs)-1].ID
		b.mu.Unlock()
		if len(evs) < b.opts.BatchSize {
			return
		}
	}
}

// offerLocked queues the events s has not seen and selects; a full queue
// ends s.
func (b *Broker) offerLocked(s *Subscription, evs []store.Event, msgs []Message) {
	for i, e := range evs {
		if e.ID <= s.last {
			continue
		}
		s.last = e.ID
		if !s.filter.Match(e) {
			continue
		}
		select {
		case s.ch <- msgs[i]:
		default:
			b.failLocked(s, ErrSlow)
			return
		}
	}
}

func (b *Broker) shutdown() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	for s := range b.subs {
		b.failLocked(s, ErrShutdown)
	}
}

// Subscription is one subscriber's view of the events: Messages in id
// order until Done, then Err says why it ended.
type Subscription struct {
	b      *Broker
	filter Filter
	ch     chan Message
	done   chan struct{}
	err    error // set before done is closed
	closed sync.Once

	// Head is the id of the newest event when the subscription began;
	// without an after, the subscriber receives the events after it.
	Head int64

	// Guarded by b.mu once live; before that only the catch-up
	// goroutine touches them.
	last int64 // the last id examined for this subscriber
	live bool
}

// Subscribe starts a subscription to the events f selects. With after nil
// it receives the events written from now on; otherwise first the retained
// events after *after (0: the oldest retained), read from the store at the
// subscriber's pace, then live ones. When events after *after were already
// pruned it fails with a *GoneError. It waits for Run to start, or ctx.
func (b *Broker) Subscribe(ctx context.Context, f Filter, after *int64) (*Subscription, error) {
	select {
	case <-b.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	s := &Subscription{b: b, filter: f, ch: make(chan Message, b.opts.Buffer), done: make(chan struct{})}
	// The newest event now, which this node may not have read yet.
	head, err := b.st.LastEventID(ctx)
	if err != nil {
		return nil, err
	}
	if after != nil && *after > 0 {
		if err := checkAfter(*after, head); err != nil {
			return nil, err
		}
		// Refuse a resume point that is gone now, before the caller
		// commits to a stream (a 410 instead of an immediate close).
		if *after < head {
			evs, err := b.st.ListEvents(ctx, *after, 1)
			if err != nil {
				return nil, err
			}
			if err := checkRetained(*after, evs); err != nil {
				return nil, err
			}
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, ErrShutdown
	}
	s.Head = max(head, b.head)
	b.subs[s] = struct{}{}
	b.opts.Metrics.SubscriberAdded()
	b.open.Add(1)
	if after == nil {
		// Live from the newest event on: the broker skips what it
		// reads up to Head.
		s.last = s.Head
		b.liveFromLocked(s)
		return s, nil
	}
	s.last = max(*after, 0)
	go s.catchUp(b.ctx)
	return s, nil
}

// Messages delivers the subscription's events in id order.
func (s *Subscription) Messages() <-chan Message { return s.ch }

// Done is closed when the subscription has ended; Err then says why.
// Messages already queued may still be read.
func (s *Subscription) Done() <-chan struct{} { return s.done }

// Err is why the subscription ended: ErrSlow, ErrShutdown, ErrClosed, a
// *GoneError or a store error; nil while it runs.
func (s *Subscription) Err() error {
	select {
	case <-s.done:
		return s.err
	default:
		return nil
	}
}

// Close ends the subscription; its consumer calls it once done with it
// (see Drain).
func (s *Subscription) Close() {
	s.b.mu.Lock()
	s.b.failLocked(s, ErrClosed)
	s.b.mu.Unlock()
	s.closed.Do(s.b.open.Done)
}

// Drain waits until every subscription has been Closed by its consumer, or
// ctx ends: after Run has returned, that is how a node gives its streams
// the time to tell their clients it is going away.
func (b *Broker) Drain(ctx context.Context) error {
	done := make(chan struct{})
	go func() { b.open.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// failLocked ends s with err (the first reason sticks).
func (b *Broker) failLocked(s *Subscription, err error) {
	if _, ok := b.subs[s]; !ok {
		return
	}
	delete(b.subs, s)
	if s.live {
		b.live--
	}
	b.opts.Metrics.SubscriberRemoved(closeReason(err))
	s.err = err
	close(s.done)
}

// liveFromLocked makes s live: from now on the broker offers it what it
// reads. While no subscriber was live the broker read nothing, so its head
// may be behind s's position; it moves there, since nobody else needs
// what lies between.
func (b *Broker) liveFromLocked(s *Subscription) {
	if b.live == 0 {
		b.head = max(b.head, s.last)
	}
	s.live = true
	b.live++
}

// closeReason is the metrics label of why a subscription ended.
func closeReason(err error) string {
	var gone *GoneError
	switch {
	case errors.Is(err, ErrSlow):
		return metrics.EventClosedSlow
	case errors.As(err, &gone):
		return metrics.EventClosedPruned
	case errors.Is(err, ErrShutdown):
		return metrics.EventClosedShutdown
	case errors.Is(err, ErrClosed):
		return metrics.EventClosedClient
	default:
		return metrics.EventClosedError
	}
}

func (s *Subscription) fail(err error) {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	s.b.failLocked(s, err)
}

// catchUp reads the events after s.last from the store and queues them,
// waiting for the subscriber as needed, until it has reached what the
// broker offers live; then the broker takes over.
func (s *Subscription) catchUp(ctx context.Context) {
	b := s.b
	for {
		// Read the counter first: the events up to it were committed
		// before the read of the outbox, so missing ones were pruned.
		newest, err := b.st.LastEventID(ctx)
		if err != nil {
			s.fail(catchUpError(ctx, err))
			return
		}
		b.mu.Lock()
		if _, ok := b.subs[s]; !ok {
			b.mu.Unlock()
			return
		}
		// Live once caught up with the broker; an idle broker (no live
		// subscriber) has read nothing lately, so then caught up with
		// the outbox: the broker would offer the backlog all at once.
		if s.last >= b.head && (b.live > 0 || s.last >= newest) {
			b.liveFromLocked(s)
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()

		evs, err := b.st.ListEvents(ctx, s.last, b.opts.BatchSize)
		if err != nil {
			s.fail(catchUpError(ctx, err))
			return
		}
		if s.last > 0 || len(evs) > 0 {
			if err := checkRetained(s.last, evs); err != nil {
				s.fail(err)
				return
			}
		} else {
			// From the oldest retained event, and none is: everything
			// up to newest is gone already.
			s.last = newest
		}
		for _, e := range evs {
			s.last = e.ID
			if !s.filter.Match(e) {
				continue
			}
			data, err := Encode(e)
			if err != nil {
				s.fail(err)
				return
			}
			select {
			case s.ch <- Message{ID: e.ID, JSON: data}:
			case <-s.done:
				return
			case <-ctx.Done():
				s.fail(ErrShutdown)
				return
			}
		}
	}
}

func catchUpError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ErrShutdown
	}
	return fmt.Errorf("reading events: %w", err)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
