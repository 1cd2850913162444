package core

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"time"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/principal"
	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/store/driver"
)

// pruneBatch bounds the events one pruning statement deletes, so that a
// large backlog is pruned in short transactions.
const pruneBatch = 5000

// NewEventRow builds the row of an event about namespace (joined key) or
// the entity name in it. The principal comes from ctx.
func newEventRow(ctx context.Context, typ store.EventType, warehouse, namespace, name string, d store.EventDetails) (driver.EventRow, error) {
	d.Principal = principal.From(ctx)
	b, err := json.Marshal(d)
	if err != nil {
		return driver.EventRow{}, errs.Wrap(errs.Internal, err, "encoding event details")
	}
	return driver.EventRow{Type: string(typ), Warehouse: warehouse, Namespace: namespace, Name: name, Details: b}, nil
}

// entityEventType is typ when set, else kind's fallback type (e.g.
// "table." + what). A type naming another kind of object is refused: it
// would file the event under the wrong object.
func entityEventType(kind store.Kind, typ store.EventType, what string) (store.EventType, error) {
	if typ == "" {
		return store.EventType(string(kind) + "." + what), nil
	}
	if typ.Object() != string(kind) || !slices.Contains(store.EventTypes, typ) {
		return "", errs.New(errs.Internal, "event type %q does not fit a %s", typ, kind)
	}
	return typ, nil
}

// CommitEventRows builds the events of a Commit, in the order the commits
// were given (not the locking order). previous maps CommitKey of each
// non-create commit to the metadata location it replaced.
func commitEventRows(ctx context.Context, commits []store.Commit, previous map[string]string) ([]driver.EventRow, error) {
	rows := make([]driver.EventRow, 0, len(commits))
	for _, c := range commits {
		what := "committed"
		if c.Create {
			what = "created"
		} else if c.Kind != store.KindTable {
			// Views and functions are replaced; only tables have commits.
			what = "replaced"
		}
		typ, err := entityEventType(c.Kind, c.EventType, what)
		if err != nil {
			return nil, err
		}
		row, err := newEventRow(ctx, typ, c.Ident.Warehouse, c.Ident.NamespaceKey(), c.Ident.Name, store.EventDetails{
			PreviousMetadataLocation: previous[commitKey(c.Ident)],
			MetadataLocation:         c.MetadataLocation,
			SnapshotsAdded:           slices.Clone(c.SnapshotsAdded),
		})
		if err != nil {
			return nil, err
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// commitKey identifies an entity among the commits of one Commit.
func commitKey(id store.Ident) string {
	return id.Warehouse + "\x00" + id.NamespaceKey() + "\x00" + id.Name
}

// decodeEvent turns a stored row into a store.Event.
func decodeEvent(id int64, typ string, at time.Time, warehouse, namespace, name string, details []byte) (store.Event, error) {
	e := store.Event{ID: id, Type: store.EventType(typ), Time: at, Warehouse: warehouse, Namespace: splitKey(namespace), Name: name}
	if len(details) > 0 {
		if err := json.Unmarshal(details, &e.EventDetails); err != nil {
			return store.Event{}, errs.Wrap(errs.Internal, err, "decoding stored event %d", id)
		}
	}
	return e, nil
}

// fanout fans one process's "events were written" signal out to the
// channels handed out by EventWakeups: each gets a coalesced value, and no
// writer ever blocks on a reader.
type fanout struct {
	mu  sync.Mutex
	chs map[chan struct{}]struct{}
}

// newWakeups returns an empty fan-out.
func newWakeups() *fanout {
	return &fanout{chs: map[chan struct{}]struct{}{}}
}

// Subscribe returns a channel that Wake signals until ctx ends; then it is
// closed.
func (w *fanout) Subscribe(ctx context.Context) <-chan struct{} {
	ch := make(chan struct{}, 1)
	w.mu.Lock()
	w.chs[ch] = struct{}{}
	w.mu.Unlock()
	go func() {
		<-ctx.Done()
		w.mu.Lock()
		delete(w.chs, ch)
		close(ch)
		w.mu.Unlock()
	}()
	return ch
}

// Wake signals every subscribed channel.
func (w *fanout) Wake() {
	w.mu.Lock()
	for ch := range w.chs {
		signal(ch)
	}
	w.mu.Unlock()
}

// signal puts a value in ch unless one is already waiting there.
func signal(ch chan<- struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
