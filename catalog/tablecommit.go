package catalog

import (
	"context"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
	"github.com/google/uuid"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/store"
)

// tableOps is the commit engine's table part.
type tableOps struct{}

func (tableOps) kind() store.Kind                 { return store.KindTable }
func (tableOps) ident(c *TableChange) store.Ident { return c.Ident }

func (tableOps) parse(s *Service, cur store.Entity) (table.Metadata, error) {
	return s.parseCached(cur.Ident, cur.MetadataLocation, cur.Metadata)
}

func (tableOps) apply(m table.Metadata, logLoc string, c *TableChange) (table.Metadata, bool, error) {
	if err := validateRequirements(c.Requirements, m); err != nil {
		return nil, false, err
	}
	upds, err := c.updates()
	if err != nil {
		return nil, false, err
	}
	return applyUpdates(m, logLoc, upds)
}

func (tableOps) placement(m table.Metadata) (string, iceberg.Properties) {
	return m.Location(), m.Properties()
}

func (tableOps) file(m table.Metadata, version int) ([]byte, string, []byte, error) {
	doc, err := encodeMetadata(m)
	if err != nil {
		return nil, "", nil, err
	}
	loc, err := newMetadataLocation(m, version)
	if err != nil {
		return nil, "", nil, err
	}
	data, err := metadataFileBytes(doc, m.Properties())
	if err != nil {
		return nil, "", nil, err
	}
	return doc, loc, data, nil
}

func (tableOps) snapshotsAdded(base, next table.Metadata) []int64 { return snapshotsAdded(base, next) }
func (tableOps) removedFiles(base, next table.Metadata) []string {
	return removedMetadataFiles(base, next)
}

// CommitTable applies a commit-table request: requirements are checked
// against the current metadata and the updates applied to it in request
// order. When a concurrent commit wins the race, the commit is retried on
// the new metadata (requirements checked again) within Options' bounds.
// Commits of one table that queue up on this node are committed together
// (see commitengine.go). The commit of a staged create (assert-create on a
// missing table) creates the table, and is not retried.
func (s *Service) CommitTable(ctx context.Context, c TableChange) (TableResult, error) {
	if err := s.checkEntityIdent(store.KindTable, c.Ident); err != nil {
		return TableResult{}, err
	}
	var commit store.Commit
	var err error
	if c.Create {
		var plans []*plan[table.Metadata]
		plans, err = s.commitTables(ctx, []TableChange{c})
		if err == nil {
			commit = plans[0].commit
		}
	} else {
		commit, err = commitQueued(ctx, s, tableOps{}, &s.tableQueues, &c)
	}
	if err != nil {
		return TableResult{}, err
	}
	return TableResult{MetadataLocation: commit.MetadataLocation, Metadata: commit.Metadata, ETag: etag(commit.MetadataLocation, SnapshotsAll)}, nil
}

// CommitTransaction applies several tables' changes atomically: every
// table's requirements must hold and every update apply, or nothing
// changes. Conflicts are retried for the whole set.
func (s *Service) CommitTransaction(ctx context.Context, changes []TableChange) error {
	if len(changes) == 0 {
		return errs.New(errs.BadRequest, "Transaction must change at least one table")
	}
	seen := map[string]bool{}
	for _, c := range changes {
		if err := s.checkEntityIdent(store.KindTable, c.Ident); err != nil {
			return err
		}
		key := tableKey(c.Ident)
		if seen[key] {
			return errs.New(errs.BadRequest, "Transaction changes table %s more than once", c.Ident)
		}
		seen[key] = true
	}
	_, err := s.commitTables(ctx, changes)
	return err
}

// commitTables lands changes of several tables (or the one commit of a
// staged create) as one store commit, retrying lost races on the new
// metadata. It takes no node lock: such commits race through the store's
// compare-and-swap.
func (s *Service) commitTables(ctx context.Context, changes []TableChange) ([]*plan[table.Metadata], error) {
	multi := len(changes) > 1
	deadline := s.retryDeadline()
	for attempt := 0; ; attempt++ {
		s.opts.Metrics.CommitAttempt()
		plans, err := s.attemptTables(ctx, changes, multi)
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

// attemptTables prepares every change on its table's current metadata,
// writes the new metadata files and swaps all pointers in one store
// commit. It returns the plans along with a store.Commit error (so the
// caller can tell a lost race from a failure before the commit, which
// returns nil plans).
func (s *Service) attemptTables(ctx context.Context, changes []TableChange, multi bool) ([]*plan[table.Metadata], error) {
	plans := make([]*plan[table.Metadata], 0, len(changes))
	for i := range changes {
		p, err := s.prepareTable(ctx, &changes[i])
		if err != nil {
			if multi {
				err = inTable(changes[i].Ident, err)
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
	if err := land(ctx, s, tableOps{}, plans); err != nil {
		return plans, err
	}
	return plans, nil
}

// prepareTable prepares one table's change on its current metadata, or
// the commit of a staged create when the table does not exist and the
// change asserts that.
func (s *Service) prepareTable(ctx context.Context, c *TableChange) (*plan[table.Metadata], error) {
	cur, err := s.st.GetEntity(ctx, store.KindTable, c.Ident)
	if errs.Is(err, errs.NoSuchTable) && c.Create {
		// A view holding the name is a conflict of names, not of commits;
		// clients expect it worded like a plain create's.
		if isView, verr := s.st.EntityExists(ctx, store.KindView, c.Ident); verr != nil {
			return nil, verr
		} else if isView {
			return nil, errs.New(errs.AlreadyExists, "View with same name already exists: %s", c.Ident)
		}
		return s.prepareCreate(ctx, c)
	}
	if err != nil {
		return nil, err
	}
	p, outcomes, err := prepareOn(ctx, s, tableOps{}, c.Ident, cur, []*TableChange{c})
	if err != nil {
		return nil, err
	}
	if outcomes[0] != nil {
		return nil, outcomes[0]
	}
	return p, nil
}

// prepareCreate builds the first metadata of a staged create.
func (s *Service) prepareCreate(ctx context.Context, c *TableChange) (*plan[table.Metadata], error) {
	if err := validateRequirements(c.Requirements, nil); err != nil {
		return nil, err
	}
	nsLoc, err := s.locationOfNamespace(ctx, c.Ident.Warehouse, c.Ident.Namespace)
	if err != nil {
		return nil, err
	}
	upds, err := c.updates()
	if err != nil {
		return nil, err
	}
	// The location a plain create would choose, for updates without
	// set-location. Its UUID is not the table's (that one may come from
	// assign-uuid), but it is unique all the same.
	next, err := buildFromEmpty(*c, upds, s.defaultEntityLocation(nsLoc, c.Ident, uuid.New()))
	if err != nil {
		return nil, err
	}
	claims, err := s.entityPlacement(c.Ident.Warehouse, nsLoc, next.Location(), next.Properties())
	if err != nil {
		return nil, err
	}
	doc, loc, data, err := tableOps{}.file(next, 0)
	if err != nil {
		return nil, err
	}
	return &plan[table.Metadata]{id: c.Ident, next: next, write: true, data: data, commit: store.Commit{
		Ident: c.Ident, Kind: store.KindTable, Create: true, MetadataLocation: loc, Metadata: doc,
		SnapshotsAdded: snapshotsAdded(nil, next), UUID: next.TableUUID().String(), Claims: claims,
	}}, nil
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

// writeFile writes a new metadata file, timing it for the metrics.
func (s *Service) writeFile(ctx context.Context, loc string, data []byte) error {
	start := time.Now()
	err := s.io.WriteNew(ctx, loc, data)
	s.opts.Metrics.MetadataWritten(time.Since(start))
	return err
}
