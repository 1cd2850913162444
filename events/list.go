package events

import (
	"context"
	"fmt"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/store"
)

// DefaultListLimit is the page size of List when none is asked for.
const DefaultListLimit = 100

// MaxListLimit is the largest page List returns.
const MaxListLimit = 1000

// scanBatch is how many events one store read fetches.
const scanBatch = 500

// GoneError reports that events after After were pruned before they could
// be read: a reader resuming there would silently miss them.
type GoneError struct {
	After int64
}

func (e *GoneError) Error() string {
	return fmt.Sprintf("events after id %d are no longer retained", e.After)
}

// Page is one answer of List.
type Page struct {
	Events []store.Event
	// NextAfter is the after of the next page: the last event examined,
	// matching or not.
	NextAfter int64
	// More is true when events after NextAfter existed when List began.
	More bool
}

// List returns up to limit events after after that f selects, oldest
// first. It examines at most ten pages' worth of events (at least 1,000),
// so a filter that selects little still answers quickly; NextAfter then
// tells where to go on. after = 0 starts at the oldest retained event; a
// later after whose successors were pruned is a *GoneError.
func List(ctx context.Context, st store.Store, after int64, limit int, f Filter) (Page, error) {
	if limit <= 0 {
		limit = DefaultListLimit
	}
	limit = min(limit, MaxListLimit)
	head, err := st.LastEventID(ctx)
	if err != nil {
		return Page{}, err
	}
	if err := checkAfter(after, head); err != nil {
		return Page{}, err
	}
	page := Page{Events: []store.Event{}, NextAfter: after}
	if after == head {
		return page, nil
	}
	budget := max(10*limit, 1000)
	for first := true; len(page.Events) < limit && budget > 0; first = false {
		n := min(scanBatch, budget)
		evs, err := st.ListEvents(ctx, page.NextAfter, n)
		if err != nil {
			return Page{}, err
		}
		if first {
			if err := checkRetained(after, evs); err != nil {
				return Page{}, err
			}
		}
		for _, e := range evs {
			page.NextAfter = e.ID
			budget--
			if f.Match(e) {
				page.Events = append(page.Events, e)
				if len(page.Events) == limit {
					break
				}
			}
		}
		if len(evs) < n {
			break
		}
	}
	page.More = page.NextAfter < head
	return page, nil
}

// checkAfter refuses a resume point beyond the newest event: it cannot come
// from this catalog, and following it would skip the events that take
// those ids later.
func checkAfter(after, head int64) error {
	if after > head {
		return errs.New(errs.BadRequest, "after=%d is beyond the newest event (%d)", after, head)
	}
	return nil
}

// checkRetained checks that evs, read after after while the newest event
// had a larger id, starts right after it. Ids have no gaps, so a missing
// successor was pruned. after = 0 asks for the oldest retained event,
// whatever its id.
func checkRetained(after int64, evs []store.Event) error {
	if after > 0 && (len(evs) == 0 || evs[0].ID != after+1) {
		return &GoneError{After: after}
	}
	return nil
}
