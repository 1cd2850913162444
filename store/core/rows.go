package core

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/store"
)

// sortCommits validates commits and returns them ordered by (warehouse,
// namespace, name): the order in which every driver locks rows, so two
// multi-entity commits can never wait on each other in a cycle.
func sortCommits(commits []store.Commit) ([]store.Commit, error) {
	if len(commits) == 0 {
		return nil, errs.New(errs.BadRequest, "Commit must change at least one table or view")
	}
	type keyed struct {
		ns string
		c  store.Commit
	}
	ks := make([]keyed, len(commits))
	for i, c := range commits {
		ns, err := checkIdent(c.Kind, c.Ident)
		if err != nil {
			return nil, err
		}
		ks[i] = keyed{ns, c}
	}
	slices.SortFunc(ks, func(a, b keyed) int {
		return cmp.Or(
			strings.Compare(a.c.Ident.Warehouse, b.c.Ident.Warehouse),
			strings.Compare(a.ns, b.ns),
			strings.Compare(a.c.Ident.Name, b.c.Ident.Name))
	})
	out := make([]store.Commit, len(ks))
	for i, k := range ks {
		if i > 0 && k.c.Ident.Warehouse == ks[i-1].c.Ident.Warehouse && k.ns == ks[i-1].ns && k.c.Ident.Name == ks[i-1].c.Ident.Name {
			return nil, errs.New(errs.BadRequest, "Commit changes %s more than once", k.c.Ident)
		}
		out[i] = k.c
	}
	return out, nil
}

// applyProperties computes the properties after removals and updates and
// reports what changed, with each list sorted.
func applyProperties(current map[string]string, removals []string, updates map[string]string) (map[string]string, store.PropertyChange, error) {
	for _, k := range removals {
		if _, ok := updates[k]; ok {
			return nil, store.PropertyChange{}, errs.New(errs.Unprocessable, "Property %q cannot be both updated and removed", k)
		}
	}
	next := make(map[string]string, len(current)+len(updates))
	for k, v := range current {
		next[k] = v
	}
	var ch store.PropertyChange
	for _, k := range removals {
		if _, ok := next[k]; ok {
			delete(next, k)
			ch.Removed = append(ch.Removed, k)
		} else {
			ch.Missing = append(ch.Missing, k)
		}
	}
	for k, v := range updates {
		next[k] = v
		ch.Updated = append(ch.Updated, k)
	}
	slices.Sort(ch.Updated)
	ch.Removed = slices.Compact(slices.Sorted(slices.Values(ch.Removed)))
	ch.Missing = slices.Compact(slices.Sorted(slices.Values(ch.Missing)))
	return next, ch, nil
}

// encodeProperties is the stored JSON form of properties (keys sorted by
// encoding/json, so equal maps store equal bytes).
func encodeProperties(p map[string]string) ([]byte, error) {
	if p == nil {
		p = map[string]string{}
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "encoding namespace properties")
	}
	return b, nil
}

// decodeProperties reads the stored JSON form; the result is never nil.
func decodeProperties(b []byte) (map[string]string, error) {
	p := map[string]string{}
	if len(b) == 0 {
		return p, nil
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, errs.Wrap(errs.Internal, err, "decoding stored namespace properties")
	}
	return p, nil
}

// nonNil keeps an empty metadata document from being sent as NULL, which
// the NOT NULL columns would reject.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// purgeJobFor builds the purge job of a dropped entity. The base location is
// read from the metadata's "location" field, the one field every table and
// view metadata version has; an unreadable document still gets a job, which
// can then work from the metadata location alone.
func purgeJobFor(e store.Entity) store.PurgeJob {
	var doc struct {
		Location string `json:"location"`
	}
	_ = json.Unmarshal(e.Metadata, &doc)
	return store.PurgeJob{Location: doc.Location, MetadataLocation: e.MetadataLocation, Metadata: e.Metadata}
}

// sortPlans orders claimed plans oldest first.
func sortPlans(plans []store.Plan) {
	slices.SortFunc(plans, func(a, b store.Plan) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
}

// idempotencyMarks returns the Idempotency-Keys a mutation marks committed
// in its transaction (the one its context carries and those of its
// commits) and until when they are kept.
func idempotencyMarks(ctx context.Context, commits ...store.Commit) ([]string, time.Time) {
	var (
		keys    []string
		expires time.Time
	)
	add := func(m store.IdempotencyMark) {
		if m.Key == "" {
			return
		}
		keys = append(keys, m.Key)
		if m.ExpiresAt.After(expires) {
			expires = m.ExpiresAt
		}
	}
	if m, ok := store.IdempotencyFrom(ctx); ok {
		add(m)
	}
	for _, c := range commits {
		for _, m := range c.Idempotency {
			add(m)
		}
	}
	return keys, expires
}

// encodeOutcome is the stored form of an idempotent outcome.
func encodeOutcome(o store.IdempotentOutcome) []byte {
	b, _ := json.Marshal(o) // strings and a struct of string slices: cannot fail
	return b
}

// decodeOutcome reads EncodeOutcome's form; an empty one is the zero
// outcome.
func decodeOutcome(b []byte) store.IdempotentOutcome {
	var o store.IdempotentOutcome
	_ = json.Unmarshal(b, &o)
	return o
}
