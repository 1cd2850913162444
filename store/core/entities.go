package core

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/store/driver"
)

func entityFromRow(r driver.EntityRow) store.Entity {
	return store.Entity{
		Ident:            store.Ident{Warehouse: r.Warehouse, Namespace: splitKey(r.Namespace), Name: r.Name},
		Kind:             store.Kind(r.Kind),
		MetadataLocation: r.MetadataLocation,
		Metadata:         r.Metadata,
		Version:          r.Version,
		UUID:             r.UUID,
	}
}

func entityKey(kind store.Kind, id store.Ident, ns string) driver.EntityKey {
	return driver.EntityKey{Warehouse: id.Warehouse, Namespace: ns, Name: id.Name, Kind: string(kind)}
}

func (s *Store) CreateEntity(ctx context.Context, e store.Entity) error {
	ns, err := checkIdent(e.Kind, e.Ident)
	if err != nil {
		return err
	}
	typ, err := entityEventType(e.Kind, e.EventType, "created")
	if err != nil {
		return err
	}
	err = s.writeEvents(ctx, func(tx driver.Tx) error {
		c := claimant{Warehouse: e.Ident.Warehouse, Namespace: e.Ident.Namespace, Register: e.Register, Within: e.NamespaceKey}
		insert := claimThenInsertEntity
		if e.Register {
			// A register points at files that may be a live entity's:
			// the row goes in first, so that a taken name or UUID is
			// what the client hears about rather than the overlap.
			insert = insertEntity
		}
		if err := insert(ctx, tx, e.Kind, e.Ident, ns, e.MetadataLocation, e.Metadata, e.UUID, e.Claims, c); err != nil {
			return err
		}
		if err := markIdempotent(ctx, tx, store.IdempotentOutcome{MetadataLocation: e.MetadataLocation}); err != nil {
			return err
		}
		return insertEvent(ctx, tx, typ, e.Ident.Warehouse, ns, e.Ident.Name, store.EventDetails{MetadataLocation: e.MetadataLocation})
	})
	switch {
	case errors.Is(err, driver.ErrForeignKey):
		return noSuchNamespace(e.Ident.Namespace)
	case errors.Is(err, driver.ErrUUIDTaken):
		// When the name is taken too, that is what the client hears about.
		if ok, _ := s.EntityExists(ctx, e.Kind, e.Ident); ok {
			return s.alreadyExists(ctx, e.Kind, e.Ident, ns)
		}
		for _, other := range store.Kinds {
			if ok, _ := s.EntityExists(ctx, other, e.Ident); ok && other != e.Kind {
				return s.alreadyExists(ctx, e.Kind, e.Ident, ns)
			}
		}
		return uuidTaken(e.Kind, e.UUID)
	case isUnique(err):
		return s.alreadyExists(ctx, e.Kind, e.Ident, ns)
	case errors.Is(err, store.ErrLocationOwned):
		// A create's claims are checked before its row goes in: when the
		// name is taken too, that is what the client hears about.
		if existing, kerr := s.read().EntityKind(ctx, entityKey(e.Kind, e.Ident, ns)); kerr == nil {
			return entityAlreadyExists(e.Kind, store.Kind(existing), e.Ident)
		}
	}
	return busyError(err)
}

func entityRow(kind store.Kind, id store.Ident, ns, metaLoc string, meta []byte, uuid string) driver.EntityRow {
	return driver.EntityRow{EntityKey: entityKey(kind, id, ns), MetadataLocation: metaLoc, Metadata: nonNil(meta), UUID: uuid}
}

// claimThenInsertEntity is insertEntity with the claims checked before the
// row goes in, so that the row and its claims are one statement, which
// may travel with the commit (driver.Deferrable): its errors surface when
// the transaction ends.
func claimThenInsertEntity(ctx context.Context, tx driver.Tx, kind store.Kind, id store.Ident, ns, metaLoc string, meta []byte, uuid string, claims []string, c claimant) error {
	c.Kind, c.Fresh = string(kind), true
	keys, err := checkClaim(ctx, tx, c, claims)
	if err != nil {
		return err
	}
	return tx.InsertClaimedEntity(ctx, entityRow(kind, id, ns, metaLoc, meta, uuid), time.Now(), keys)
}

// insertEntity inserts an entity's row and claims its locations as c
// (whose kind and id it sets), each step's errors known when it returns.
func insertEntity(ctx context.Context, tx driver.Tx, kind store.Kind, id store.Ident, ns, metaLoc string, meta []byte, uuid string, claims []string, c claimant) error {
	rowID, err := tx.InsertEntity(ctx, entityRow(kind, id, ns, metaLoc, meta, uuid), time.Now())
	if err != nil {
		return err
	}
	c.Kind, c.ID, c.Fresh = string(kind), rowID, true
	return claim(ctx, tx, c, claims)
}

// alreadyExists words a unique violation on (warehouse, namespace, name)
// after the failed transaction, naming the kind that holds the name.
func (s *Store) alreadyExists(ctx context.Context, requested store.Kind, id store.Ident, ns string) error {
	existing, err := s.read().EntityKind(ctx, entityKey(requested, id, ns))
	if err != nil {
		existing = "" // dropped meanwhile, or unreachable: the generic wording is still true
	}
	return entityAlreadyExists(requested, store.Kind(existing), id)
}

func (s *Store) GetEntity(ctx context.Context, kind store.Kind, id store.Ident) (store.Entity, error) {
	ns, err := checkIdent(kind, id)
	if err != nil {
		return store.Entity{}, err
	}
	k := entityKey(kind, id, ns)
	if s.entities != nil {
		row, ok, err := s.entities.Get(ctx, k)
		if err != nil {
			return store.Entity{}, err
		}
		if !ok {
			return store.Entity{}, noSuchEntity(kind, id)
		}
		return entityFromRow(row), nil
	}
	row, err := s.read().GetEntity(ctx, k)
	if isNoRows(err) {
		return store.Entity{}, noSuchEntity(kind, id)
	}
	if err != nil {
		return store.Entity{}, err
	}
	return entityFromRow(row), nil
}

// fetchEntities reads the rows of keys in one query, for s.entities.
func (s *Store) fetchEntities(ctx context.Context, keys []driver.EntityKey) (map[driver.EntityKey]driver.EntityRow, error) {
	if len(keys) == 1 {
		// One key, the common case on an idle node: the point query, whose
		// plan is simpler than the batch's.
		row, err := s.read().GetEntity(ctx, keys[0])
		if isNoRows(err) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return map[driver.EntityKey]driver.EntityRow{keys[0]: row}, nil
	}
	rows, err := s.batcher.GetEntities(ctx, keys)
	if err != nil {
		return nil, err
	}
	out := make(map[driver.EntityKey]driver.EntityRow, len(rows))
	for _, r := range rows {
		out[r.EntityKey] = r
	}
	return out, nil
}

func (s *Store) EntityExists(ctx context.Context, kind store.Kind, id store.Ident) (bool, error) {
	ns, err := checkIdent(kind, id)
	if err != nil {
		return false, err
	}
	return s.read().EntityExists(ctx, entityKey(kind, id, ns))
}

func (s *Store) ListEntities(ctx context.Context, kind store.Kind, warehouse string, namespace []string, page store.Page) ([]store.Ident, error) {
	if err := checkKind(kind); err != nil {
		return nil, err
	}
	ns, err := namespaceKey(namespace)
	if err != nil {
		return nil, err
	}
	names, err := s.read().ListEntities(ctx, warehouse, ns, string(kind), page.After, sqlLimit(page))
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		if ok, err := s.NamespaceExists(ctx, warehouse, namespace); err != nil {
			return nil, err
		} else if !ok {
			return nil, noSuchNamespace(namespace)
		}
	}
	out := make([]store.Ident, len(names))
	for i, n := range names {
		out[i] = store.Ident{Warehouse: warehouse, Namespace: slices.Clone(namespace), Name: n}
	}
	return out, nil
}

func (s *Store) RenameEntity(ctx context.Context, kind store.Kind, from, to store.Ident) error {
	fromNs, err := checkIdent(kind, from)
	if err != nil {
		return err
	}
	toNs, err := checkIdent(kind, to)
	if err != nil {
		return err
	}
	if err := crossWarehouseRename(from, to); err != nil {
		return err
	}
	err = s.writeEvents(ctx, func(tx driver.Tx) error {
		loc, err := tx.RenameEntity(ctx, entityKey(kind, from, fromNs), toNs, to.Name, time.Now())
		if isNoRows(err) {
			return noSuchEntity(kind, from)
		}
		if err != nil {
			return err
		}
		if err := markIdempotent(ctx, tx, store.IdempotentOutcome{}); err != nil {
			return err
		}
		return insertEvent(ctx, tx, store.EventType(string(kind)+".renamed"), from.Warehouse, fromNs, from.Name, store.EventDetails{
			MetadataLocation: loc,
			RenamedTo:        &store.RenamedTo{Namespace: slices.Clone(to.Namespace), Name: to.Name},
		})
	})
	switch {
	case errors.Is(err, driver.ErrForeignKey):
		return noSuchNamespace(to.Namespace)
	case isUnique(err):
		return s.alreadyExists(ctx, kind, to, toNs)
	}
	return busyError(err)
}

func (s *Store) DropEntity(ctx context.Context, kind store.Kind, id store.Ident, purge bool) (store.Entity, error) {
	return s.dropEntity(ctx, kind, id, purge, "dropped")
}

// UnregisterEntity is a drop without purge, recorded as
// "<kind>.unregistered".
func (s *Store) UnregisterEntity(ctx context.Context, kind store.Kind, id store.Ident) (store.Entity, error) {
	return s.dropEntity(ctx, kind, id, false, "unregistered")
}

// dropEntity removes the entity; what names the event ("dropped", or
// "unregistered", whose answer carries the metadata location).
func (s *Store) dropEntity(ctx context.Context, kind store.Kind, id store.Ident, purge bool, what string) (store.Entity, error) {
	ns, err := checkIdent(kind, id)
	if err != nil {
		return store.Entity{}, err
	}
	var dropped store.Entity
	err = s.writeEvents(ctx, func(tx driver.Tx) error {
		row, err := tx.DeleteEntity(ctx, entityKey(kind, id, ns))
		if isNoRows(err) {
			return noSuchEntity(kind, id)
		}
		if err != nil {
			return err
		}
		dropped = entityFromRow(row)
		if !purge {
			if err := tx.DeleteClaims(ctx, row.Kind, row.ID); err != nil {
				return err
			}
		} else {
			jobID, err := tx.InsertPurgeJob(ctx, purgeJobFor(dropped), time.Now())
			if err != nil {
				return err
			}
			// The job holds the files' locations until it ends.
			if err := tx.MoveClaims(ctx, row.Kind, row.ID, claimPurge, jobID); err != nil {
				return err
			}
		}
		var outcome store.IdempotentOutcome
		if what == "unregistered" {
			outcome.MetadataLocation = dropped.MetadataLocation
		}
		if err := markIdempotent(ctx, tx, outcome); err != nil {
			return err
		}
		return insertEvent(ctx, tx, store.EventType(string(kind)+"."+what), id.Warehouse, ns, id.Name, store.EventDetails{
			PreviousMetadataLocation: dropped.MetadataLocation, PurgeRequested: purge,
		})
	})
	if err != nil {
		return store.Entity{}, busyError(err)
	}
	return dropped, nil
}

func (s *Store) Commit(ctx context.Context, commits []store.Commit) error {
	sorted, err := sortCommits(commits)
	if err != nil {
		return err
	}
	if s.committer != nil && len(sorted) == 1 && !sorted[0].Create && sorted[0].Claims == nil {
		return commitError(sorted, s.retry.Do(ctx, func() error { return s.commitSingle(ctx, sorted[0]) }))
	}
	err = s.writeEvents(ctx, func(tx driver.Tx) error {
		previous := make(map[string]string, len(sorted))
		for _, c := range sorted {
			prev, err := commitOne(ctx, tx, c)
			if err != nil {
				return err
			}
			previous[commitKey(c.Ident)] = prev
		}
		rows, err := commitEventRows(ctx, commits, previous)
		if err != nil {
			return err
		}
		var outcome store.IdempotentOutcome
		if len(sorted) == 1 {
			outcome.MetadataLocation = sorted[0].MetadataLocation
		}
		if err := markIdempotent(ctx, tx, outcome, sorted...); err != nil {
			return err
		}
		return tx.InsertEvents(ctx, rows, time.Now())
	})
	return commitError(sorted, err)
}

// commitOne locks c's row (rows are visited in sortCommits order) and
// applies c if its expectation still holds. It returns the metadata
// location c replaced ("" for a create).
func commitOne(ctx context.Context, tx driver.Tx, c store.Commit) (string, error) {
	ns, _ := namespaceKey(c.Ident.Namespace) // validated by sortCommits
	now := time.Now()
	cur, err := tx.LockEntity(ctx, entityKey(c.Kind, c.Ident, ns))
	missing := isNoRows(err)
	if err != nil && !missing {
		return "", err
	}
	if c.Create {
		if !missing {
			return "", createdConcurrently(c.Kind, c.Ident)
		}
		err := insertEntity(ctx, tx, c.Kind, c.Ident, ns, c.MetadataLocation, c.Metadata, c.UUID, c.Claims,
			claimant{Warehouse: c.Ident.Warehouse, Namespace: c.Ident.Namespace, Register: c.Register})
		switch {
		case errors.Is(err, driver.ErrUUIDTaken):
			return "", uuidTaken(c.Kind, c.UUID)
		case isUnique(err):
			return "", createdConcurrently(c.Kind, c.Ident)
		case errors.Is(err, driver.ErrForeignKey):
			return "", noSuchNamespace(c.Ident.Namespace)
		default:
			return "", err
		}
	}
	if missing || cur.Kind != string(c.Kind) {
		return "", noSuchEntity(c.Kind, c.Ident)
	}
	if cur.Version != c.BaseVersion {
		return "", staleVersion(c.Kind, c.Ident, c.BaseVersion, cur.Version)
	}
	if c.BaseLocation != "" && cur.MetadataLocation != c.BaseLocation {
		return "", replacedConcurrently(c.Kind, c.Ident)
	}
	n, err := tx.UpdateEntityMetadata(ctx, cur.ID, c.BaseVersion, c.MetadataLocation, nonNil(c.Metadata), now)
	if err != nil {
		return "", err
	}
	if n == 0 {
		return "", staleVersion(c.Kind, c.Ident, c.BaseVersion, cur.Version)
	}
	if c.UUID != "" {
		// A register onto an existing entry: the entry is another table's now.
		if err := tx.SetEntityUUID(ctx, cur.ID, c.UUID); err != nil {
			if errors.Is(err, driver.ErrUUIDTaken) {
				return "", uuidTaken(c.Kind, c.UUID)
			}
			return "", err
		}
	}
	if c.Claims != nil {
		cl := claimant{Kind: cur.Kind, ID: cur.ID, Warehouse: c.Ident.Warehouse, Namespace: c.Ident.Namespace, Register: c.Register}
		if err := claim(ctx, tx, cl, c.Claims); err != nil {
			return "", err
		}
	}
	return cur.MetadataLocation, nil
}

// commitSingle applies the commit of one existing entity with the
// driver's one-statement compare-and-swap (EntityCommitter): the same
// lock, compare, swap and event as commitOne in a transaction, in one
// round trip instead of six.
func (s *Store) commitSingle(ctx context.Context, c store.Commit) error {
	ns, _ := namespaceKey(c.Ident.Namespace) // validated by sortCommits
	rows, err := commitEventRows(ctx, []store.Commit{c}, nil)
	if err != nil {
		return err
	}
	keys, expires := idempotencyMarks(ctx, c)
	res, err := s.committer.CommitEntity(ctx, driver.EntityCommit{
		Key: entityKey(c.Kind, c.Ident, ns), BaseVersion: c.BaseVersion, BaseLocation: c.BaseLocation,
		MetadataLocation: c.MetadataLocation, Metadata: nonNil(c.Metadata), Event: rows[0],
		IdempotencyKeys:      keys,
		IdempotencyOutcome:   encodeOutcome(store.IdempotentOutcome{MetadataLocation: c.MetadataLocation}),
		IdempotencyExpiresAt: expires,
	})
	if err != nil || res.Committed {
		s.eventsWritten(err)
	}
	if err != nil {
		return err
	}
	switch {
	case res.Committed:
		return nil
	case res.CurrentKind != string(c.Kind):
		return noSuchEntity(c.Kind, c.Ident)
	case res.CurrentVersion == c.BaseVersion:
		// The version matched, so the metadata location did not.
		return replacedConcurrently(c.Kind, c.Ident)
	default:
		return staleVersion(c.Kind, c.Ident, c.BaseVersion, res.CurrentVersion)
	}
}
