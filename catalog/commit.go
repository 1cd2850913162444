package catalog

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/apache/iceberg-go/table"
	"github.com/google/uuid"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/store"
)

// TableChange is one table's part of a multi-table transaction.
type TableChange struct {
	Ident        store.Ident
	Requirements json.RawMessage
	Updates      json.RawMessage
}

// plan is one table's prepared commit: the metadata to swap in, built on
// the metadata the table had when the attempt started.
type plan struct {
	id     store.Ident
	base   table.Metadata // nil for the commit of a staged create
	next   table.Metadata
	commit store.Commit
	// write is set when commit.MetadataLocation is a new file to write;
	// otherwise the commit keeps the current file and only checks that
	// the table did not move (the requirements held at commit time).
	write   bool
	written bool
}

// parsedChange is one commit's requirements and updates, decoded.
type parsedChange struct {
	reqs table.Requirements
	upds table.Updates
}

// prepare loads the table, checks the requirements against its current
// metadata and applies the updates. Requirements and updates are decoded
// again on every attempt (see parseChanges).
func (s *Service) prepare(ctx context.Context, ch TableChange) (*plan, error) {
	reqs, upds, err := parseChanges(ch.Requirements, ch.Updates)
	if err != nil {
		return nil, err
	}
	cur, err := s.st.GetEntity(ctx, store.KindTable, ch.Ident)
	if errs.Is(err, errs.NoSuchTable) && hasAssertCreate(reqs) {
		// A view holding the name is a conflict of names, not of commits;
		// clients expect it worded like a plain create's.
		if isView, verr := s.st.EntityExists(ctx, store.KindView, ch.Ident); verr != nil {
			return nil, verr
		} else if isView {
			return nil, errs.New(errs.AlreadyExists, "View with same name already exists: %s", ch.Ident)
		}
		return s.prepareCreate(ctx, ch, reqs, upds)
	}
	if err != nil {
		return nil, err
	}
	p, outcomes, err := s.prepareOn(ctx, ch.Ident, cur, []parsedChange{{reqs, upds}})
	if err != nil {
		return nil, err
	}
	if outcomes[0] != nil {
		return nil, outcomes[0]
	}
	return p, nil
}

// prepareOn applies changes in order on the table's current row cur: each
// change's requirements are checked against the metadata left by the
// changes before it, and a change that fails is left out (its error in
// outcomes) without affecting the others. The plan writes one metadata
// file holding all the changes that apply, or none if nothing changes.
func (s *Service) prepareOn(ctx context.Context, id store.Ident, cur store.Entity, changes []parsedChange) (*plan, []error, error) {
	base, err := s.parseCached(id, cur.MetadataLocation, cur.Metadata)
	if err != nil {
		return nil, nil, err
	}
	outcomes := make([]error, len(changes))
	meta, changed := base, false
	var claims []string // the keys of moved locations, if any change moved them
	for i, ch := range changes {
		if err := validateRequirements(ch.reqs, meta); err != nil {
			outcomes[i] = err
			continue
		}
		// The current file enters the metadata log once, with the first
		// change that changes anything; the metadata between two changes of
		// one plan is never written, so it has no file to log.
		logLoc := cur.MetadataLocation
		if changed {
			logLoc = ""
		}
		next, ok, err := applyUpdates(meta, logLoc, ch.upds)
		if err != nil {
			outcomes[i] = err
			continue
		}
		if !ok {
			continue
		}
		if locationsChanged(meta.Location(), next.Location(), meta.Properties(), next.Properties()) {
			if claims, err = s.placeEntity(ctx, id, next.Location(), next.Properties()); err != nil {
				outcomes[i] = err
				continue
			}
		}
		meta, changed = next, true
	}
	p := &plan{id: id, base: base, next: base, commit: store.Commit{
		Ident: id, Kind: store.KindTable, BaseVersion: cur.Version,
		MetadataLocation: cur.MetadataLocation, Metadata: cur.Metadata,
	}}
	if !changed {
		return p, outcomes, nil
	}
	doc, err := encodeMetadata(meta)
	if err != nil {
		return nil, nil, err
	}
	loc, err := newMetadataLocation(meta, metadataVersion(cur.MetadataLocation)+1)
	if err != nil {
		return nil, nil, err
	}
	p.next, p.write = meta, true
	p.commit.MetadataLocation, p.commit.Metadata = loc, doc
	if locationsChanged(base.Location(), meta.Location(), base.Properties(), meta.Properties()) {
		p.commit.Claims = claims
	}
	p.commit.SnapshotsAdded = snapshotsAdded(base, meta)
	return p, outcomes, nil
}

// prepareCreate builds the first metadata of a staged create.
func (s *Service) prepareCreate(ctx context.Context, ch TableChange, reqs table.Requirements, upds table.Updates) (*plan, error) {
	if err := validateRequirements(reqs, nil); err != nil {
		return nil, err
	}
	nsLoc, err := s.locationOfNamespace(ctx, ch.Ident.Warehouse, ch.Ident.Namespace)
	if err != nil {
		return nil, err
	}
	// The location a plain create would choose, for updates without
	// set-location. Its UUID is not the table's (that one may come from
	// assign-uuid), but it is unique all the same.
	next, err := buildFromEmpty(ch.Updates, upds, s.defaultEntityLocation(nsLoc, ch.Ident, uuid.New()))
	if err != nil {
		return nil, err
	}
	claims, err := s.entityPlacement(ch.Ident.Warehouse, nsLoc, next.Location(), next.Properties())
	if err != nil {
		return nil, err
	}
	doc, err := encodeMetadata(next)
	if err != nil {
		return nil, err
	}
	loc, err := newMetadataLocation(next, 0)
	if err != nil {
		return nil, err
	}
	return &plan{id: ch.Ident, next: next, write: true, commit: store.Commit{
		Ident: ch.Ident, Kind: store.KindTable, Create: true, MetadataLocation: loc, Metadata: doc,
		SnapshotsAdded: snapshotsAdded(nil, next), UUID: next.TableUUID().String(), Claims: claims,
	}}, nil
}

// CommitTable applies a commit-table request: requirements are checked
// against the current metadata and the updates applied to it in request
// order. When a concurrent commit wins the race, the commit is retried on
// the new metadata (requirements checked again) within Options' bounds.
// The commit of a staged create (assert-create on a missing table) creates
// the table and is not retried. Commits of one table that queue up on this
// node are committed together (see commitgroup.go).
func (s *Service) CommitTable(ctx context.Context, id store.Ident, requirements, updates json.RawMessage) (TableResult, error) {
	if err := s.checkEntityIdent(store.KindTable, id); err != nil {
		return TableResult{}, err
	}
	reqs, _, err := parseChanges(requirements, updates)
	if err != nil {
		return TableResult{}, err
	}
	c, err := s.commitQueued(ctx, &member{
		change:   TableChange{Ident: id, Requirements: requirements, Updates: updates},
		create:   hasAssertCreate(reqs),
		deadline: s.retryDeadline(),
		done:     make(chan memberResult, 1),
	})
	if err != nil {
		return TableResult{}, err
	}
	return TableResult{MetadataLocation: c.MetadataLocation, Metadata: c.Metadata, ETag: etag(c.MetadataLocation, SnapshotsAll)}, nil
}

// CommitTransaction applies several tables' changes atomically: every
// table's requirements must hold and every update apply, or nothing
// changes. Conflicts are retried for the whole set.
func (s *Service) CommitTransaction(ctx context.Context, changes []TableChange) error {
	if len(changes) == 0 {
		return errs.New(errs.BadRequest, "Transaction must change at least one table")
	}
	seen := map[string]bool{}
	for _, ch := range changes {
		if err := s.checkEntityIdent(store.KindTable, ch.Ident); err != nil {
			return err
		}
		key := tableKey(ch.Ident)
		if seen[key] {
			return errs.New(errs.BadRequest, "Transaction changes table %s more than once", ch.Ident)
		}
		seen[key] = true
		if _, _, err := parseChanges(ch.Requirements, ch.Updates); err != nil {
			return inTable(ch.Ident, err)
		}
	}
	_, err := s.commitWithRetries(ctx, changes, s.retryDeadline())
	return err
}

// inTable names the table in a transaction's error message.
func inTable(id store.Ident, err error) error {
	return errs.New(errs.KindOf(err), "%s: %s", id, clientMessage(err))
}

func clientMessage(err error) string {
	if e, ok := err.(*errs.Error); ok {
		return e.Message
	}
	return err.Error()
}

// commitWithRetries runs attempts of the commit of changes until one
// succeeds, fails for a reason other than a lost race, or the retry bounds
// are reached. It takes no lock: transactions of several tables race
// through the store's compare-and-swap, and CommitTable holds this node's
// lock of its table around it.
func (s *Service) commitWithRetries(ctx context.Context, changes []TableChange, deadline time.Time) ([]*plan, error) {
	multi := len(changes) > 1
	for attempt := 0; ; attempt++ {
		s.opts.Metrics.CommitAttempt()
		plans, err := s.attempt(ctx, changes, multi)
		if err == nil {
			return plans, nil
		}
		creates := false
		for _, p := range plans {
			creates = creates || p.commit.Create
		}
		// A create cannot be helped by retrying: the table exists now.
		lostRace := errs.Is(err, errs.CommitFailed) && plans != nil
		if !s.retryAfter(ctx, attempt, lostRace, !creates || multi, deadline) {
			return nil, err
		}
		s.opts.Metrics.CommitRetry()
	}
}

// retryAfter decides whether a commit attempt that failed is tried again:
// only after a lost race, within MaxRetries, and after a backoff that ends
// before deadline (zero: none). It counts the lost race; retryable false
// ends the commit without waiting.
func (s *Service) retryAfter(ctx context.Context, attempt int, lostRace, retryable bool, deadline time.Time) bool {
	if lostRace {
		s.opts.Metrics.CommitConflict()
	}
	return lostRace && retryable && attempt < s.opts.MaxRetries && s.backoff(ctx, attempt, deadline)
}

// attempt prepares every change on the current metadata, writes the new
// metadata files and swaps all pointers in one store commit. It returns the
// plans along with a store.Commit error (so the caller can tell a lost race
// from a failure before the commit, which returns nil plans).
func (s *Service) attempt(ctx context.Context, changes []TableChange, multi bool) ([]*plan, error) {
	plans := make([]*plan, 0, len(changes))
	for _, ch := range changes {
		p, err := s.prepare(ctx, ch)
		if err != nil {
			if multi {
				err = inTable(ch.Ident, err)
			}
			return nil, err
		}
		plans = append(plans, p)
	}
	if !multi && !plans[0].write {
		// Nothing to change: the current metadata satisfied the
		// requirements when it was read, and stays what it is.
		return plans, nil
	}
	if err := s.land(ctx, plans); err != nil {
		return plans, err
	}
	return plans, nil
}

// land writes the plans' new metadata files, swaps every pointer in one
// store commit and caches what it wrote. A store.Commit error is returned
// as is, so that the caller can tell a lost race; files written for a
// commit that failed are deleted.
func (s *Service) land(ctx context.Context, plans []*plan) error {
	cleanup := func(cause error) {
		for _, p := range plans {
			if p.written {
				s.discardFile(ctx, p.commit.MetadataLocation, cause)
				p.written = false
			}
		}
	}
	commits := make([]store.Commit, 0, len(plans))
	for _, p := range plans {
		if p.write {
			if err := s.writeMetadataFile(ctx, p.commit.MetadataLocation, p.commit.Metadata, p.next.Properties()); err != nil {
				cleanup(nil) // nothing was committed
				return err
			}
			p.written = true
		}
		commits = append(commits, p.commit)
	}
	if err := s.st.Commit(ctx, commits); err != nil {
		cleanup(err)
		for _, p := range plans {
			if p.commit.Create {
				return err // a create's conflict stays a 409, as a plain create's
			}
		}
		return movedOntoOwned(err)
	}
	for _, p := range plans {
		if p.write {
			s.metaCache.put(p.commit.MetadataLocation, p.next, len(p.commit.Metadata))
		}
		s.deleteRemovedMetadata(ctx, p)
	}
	return nil
}

// deleteRemovedMetadata deletes, best effort, the metadata files that a
// commit dropped from the metadata log when the table asks for it.
func (s *Service) deleteRemovedMetadata(ctx context.Context, p *plan) {
	if !p.write {
		return
	}
	for _, loc := range removedMetadataFiles(p.base, p.next) {
		if err := s.io.Delete(context.WithoutCancel(ctx), loc); err != nil {
			s.log.Warn("could not delete old metadata file", "table", p.id.String(), "location", loc, "error", err)
		}
	}
}

// movedOntoOwned words a commit that failed because it moved a table's or
// view's files onto a location another one owns: the commit's own fault
// (400), not a conflict to retry.
func movedOntoOwned(err error) error {
	if errors.Is(err, store.ErrLocationOwned) {
		return errs.Wrap(errs.BadRequest, err, "%s", clientMessage(err))
	}
	return err
}
