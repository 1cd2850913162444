package core

import (
	"cmp"
	"context"
	"hash/fnv"
	"slices"
	"strings"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/store/driver"
)

// Location claims: every namespace, table and view owns the canonical keys
// of its storage locations (vend.LocationKey: "s3://bucket/a/b/", one
// trailing slash), and no two owners may own overlapping keys, except that
// a namespace's key contains the keys of what it holds. Claim is the one
// place that enforces it, inside the transaction that creates or moves the
// owner, so two concurrent claims can never both win.

// Owner kinds of claims besides the entity kinds (store.Kind).
const (
	claimNamespace = "namespace"
	// claimPurge holds the keys of an entity dropped with purge until its
	// purge job ends, so that nobody registers the files being deleted.
	claimPurge = "purge"
)

// claimant is who claims: a namespace (Namespace its own levels) or a table
// or view (Namespace the levels of the namespace holding it).
type claimant struct {
	Kind      string // claimNamespace, or a store.Kind
	ID        int64  // the owner's row id
	Warehouse string
	Namespace []string
	// Register refuses keys overlapping files being purged too: a
	// register would point a new table at files about to disappear.
	Register bool
	// Fresh: the owner's row was inserted in this transaction, so it has
	// no claims to replace (drops delete or move an owner's claims with
	// its row, so not even a reused id has any).
	Fresh bool
	// Within, when set, is the location key the catalog found its
	// namespace at: every key must lie inside that key, claimed by that
	// namespace still, or the claim fails with store.ErrNamespaceMoved.
	Within string
}

// claim replaces the claims of c (if any) with keys, or fails with
// AlreadyExists when a key overlaps another owner's: a key equal to another,
// inside another (unless that one is a namespace holding c), or containing
// another.
func claim(ctx context.Context, q driver.ClaimExecutor, c claimant, keys []string) error {
	keys, err := checkClaim(ctx, q, c, keys)
	if err != nil || len(keys) == 0 {
		return err
	}
	return q.InsertClaims(ctx, c.Kind, c.ID, keys)
}

// checkClaim is claim without the insert of the claims, which the caller
// makes (keys comes back sorted and without duplicates): it locks keys,
// drops c's old claims and fails as claim does. An owner whose row is not
// inserted yet is Fresh, with ID 0.
func checkClaim(ctx context.Context, q driver.ClaimExecutor, c claimant, keys []string) ([]string, error) {
	keys = slices.Compact(slices.Sorted(slices.Values(keys)))
	hashes, exclusive := claimLocks(keys)
	if err := q.LockClaimKeys(ctx, hashes, exclusive); err != nil {
		return nil, err
	}
	if !c.Fresh {
		if err := q.DeleteClaims(ctx, c.Kind, c.ID); err != nil {
			return nil, err
		}
	}
	holders := holdingNamespaces(c)
	own := strings.Join(c.Namespace, store.NamespaceSeparator)
	for _, key := range keys {
		if !validKey(key) {
			return nil, errs.New(errs.Internal, "invalid location key %q", key)
		}
		rows, err := q.OverlappingClaims(ctx, key, ancestorKeys(key), keyEnd(key))
		if err != nil {
			return nil, err
		}
		// The ancestors of key include the namespace's key, when it is
		// one: no query more to check that the namespace is still where
		// the catalog placed the entity.
		inside := c.Within == ""
		for _, r := range rows {
			if r.OwnerKind == claimNamespace && r.Key == c.Within && r.NsWarehouse == c.Warehouse && r.NsName == own && r.Key != key && strings.HasPrefix(key, r.Key) {
				inside = true
			}
			if r.OwnerKind == c.Kind && r.OwnerID == c.ID {
				continue // two keys of one owner (a location and a path inside it)
			}
			if r.OwnerKind == claimPurge && !c.Register {
				// A new table may be created where a purged one was: it
				// writes new files, and the purge deletes only old ones.
				continue
			}
			if r.OwnerKind == claimNamespace && r.Key != key && strings.HasPrefix(key, r.Key) &&
				r.NsWarehouse == c.Warehouse && holders[r.NsName] {
				continue // a namespace holding the claimant
			}
			return nil, overlapError(key, r)
		}
		if !inside {
			return nil, errs.Wrap(errs.CommitFailed, store.ErrNamespaceMoved,
				"Namespace %s was replaced or moved meanwhile; try again", strings.Join(c.Namespace, "."))
		}
	}
	return keys, nil
}

func overlapError(key string, r driver.ClaimRow) error {
	loc := strings.TrimSuffix(key, "/")
	if r.OwnerKind == claimPurge {
		return errs.Wrap(errs.AlreadyExists, store.ErrLocationOwned, "Location %s holds files of a table dropped with purge that are being deleted", loc)
	}
	// The other owner is not named: it may be in a namespace the caller
	// cannot see.
	return errs.Wrap(errs.AlreadyExists, store.ErrLocationOwned, "Location %s overlaps the storage location of another namespace, table, view or function", loc)
}

// holdingNamespaces are the joined names of the namespaces whose claims may
// contain c's keys: for a table or view its namespace and that namespace's
// ancestors; for a namespace its ancestors.
func holdingNamespaces(c claimant) map[string]bool {
	n := len(c.Namespace)
	if c.Kind == claimNamespace {
		n--
	}
	out := make(map[string]bool, max(n, 0))
	for i := 1; i <= n; i++ {
		out[strings.Join(c.Namespace[:i], store.NamespaceSeparator)] = true
	}
	return out
}

// validKey checks the shape vend.LocationKey produces: "<kind>://<bucket>/"
// followed by segments, each ending in a slash.
func validKey(key string) bool {
	i := strings.Index(key, "://")
	return i > 0 && strings.HasSuffix(key, "/") && strings.Contains(key[i+3:], "/")
}

// ancestorKeys are the keys strictly containing key: every prefix of it
// that ends with a slash, from the bucket root down.
func ancestorKeys(key string) []string {
	root := strings.Index(key, "://") + 3
	root += strings.Index(key[root:], "/") + 1
	var out []string
	for i := root; i < len(key); i++ {
		if key[i-1] == '/' {
			out = append(out, key[:i])
		}
	}
	return out
}

// keyEnd is the smallest string above every key that starts with key:
// key's trailing slash raised to the next byte ('0'), since keys are
// compared bytewise.
func keyEnd(key string) string {
	return key[:len(key)-1] + "0"
}

// claimLocks are the locks of a claim of keys, sorted by hash: exclusive on
// each key, shared on each of its ancestors. Two claims that overlap lock
// one key in conflicting modes (equal keys: both exclusive; nested keys:
// the inner one's shared lock on the outer key against the outer one's
// exclusive lock), so they serialize, and the later one sees the earlier.
func claimLocks(keys []string) ([]int64, []bool) {
	modes := map[int64]bool{}
	for _, k := range keys {
		modes[lockHash(k)] = true
		for _, a := range ancestorKeys(k) {
			if h := lockHash(a); !modes[h] {
				modes[h] = false // shared, unless a key of the claim is this one
			}
		}
	}
	hashes := make([]int64, 0, len(modes))
	for h := range modes {
		hashes = append(hashes, h)
	}
	slices.SortFunc(hashes, cmp.Compare)
	exclusive := make([]bool, len(hashes))
	for i, h := range hashes {
		exclusive[i] = modes[h]
	}
	return hashes, exclusive
}

func lockHash(key string) int64 {
	h := fnv.New64a()
	h.Write([]byte("bingsan.location:"))
	h.Write([]byte(key))
	return int64(h.Sum64())
}

// UUIDTaken words driver.ErrUUIDTaken for the client.
func uuidTaken(kind store.Kind, uuid string) error {
	return errs.New(errs.AlreadyExists, "A %s with UUID %s is already in the catalog", strings.ToLower(kindTitle(kind)), uuid)
}

func (s *Store) BackfillLocations(ctx context.Context, place func(store.LocationOwner) (store.Placement, error), conflict func(store.LocationOwner, error)) error {
	const batch = 500
	for {
		rows, err := s.read().NamespacesWithoutLocation(ctx, batch)
		if err != nil {
			return err
		}
		progress := false
		for _, r := range rows {
			props, err := decodeProperties(r.Properties)
			if err != nil {
				return err
			}
			levels := splitKey(r.Name)
			owner := store.LocationOwner{Warehouse: r.Warehouse, Namespace: levels, Properties: props, ParentLocation: r.ParentLocation}
			if len(levels) > 1 && r.ParentLocation == "" {
				continue // its parent comes first, in a later batch
			}
			p, err := place(owner)
			if err != nil {
				conflict(owner, err)
				continue
			}
			c := claimant{Kind: claimNamespace, ID: r.ID, Warehouse: r.Warehouse, Namespace: levels}
			if err := s.backfillOne(ctx, c, p, func(tx driver.Tx) error {
				return tx.SetNamespaceLocation(ctx, r.ID, p.Location)
			}, func(err error) { conflict(owner, err) }); err != nil {
				return err
			}
			progress = true
		}
		if len(rows) < batch || !progress {
			break
		}
	}
	var after int64
	for {
		rows, err := s.read().EntitiesWithoutClaims(ctx, after, batch)
		if err != nil {
			return err
		}
		for _, r := range rows {
			after = r.ID
			owner := store.LocationOwner{Warehouse: r.Warehouse, Namespace: splitKey(r.Namespace), Name: r.Name, Kind: store.Kind(r.Kind), Metadata: r.Metadata}
			p, err := place(owner)
			if err != nil {
				conflict(owner, err)
				continue
			}
			c := claimant{Kind: r.Kind, ID: r.ID, Warehouse: r.Warehouse, Namespace: owner.Namespace}
			if err := s.backfillOne(ctx, c, p, func(tx driver.Tx) error {
				if p.UUID == "" {
					return nil
				}
				return tx.SetEntityUUID(ctx, r.ID, p.UUID)
			}, func(err error) { conflict(owner, err) }); err != nil {
				return err
			}
		}
		if len(rows) < batch {
			return nil
		}
	}
}

// backfillOne records an owner's placement (set) and claims. An owner
// whose claims or UUID collide with another's is reported and claimed all
// the same, without the UUID: it exists already, and an owner without
// claims would be backfilled again on every start.
func (s *Store) backfillOne(ctx context.Context, c claimant, p store.Placement, set func(driver.Tx) error, conflict func(error)) error {
	err := s.write(ctx, func(tx driver.Tx) error {
		if err := set(tx); err != nil {
			return err
		}
		return claim(ctx, tx, c, p.Keys)
	})
	if err == nil {
		return nil
	}
	conflict(err)
	return busyError(s.write(ctx, func(tx driver.Tx) error {
		if c.Kind == claimNamespace {
			if err := set(tx); err != nil {
				return err
			}
		}
		return tx.InsertClaims(ctx, c.Kind, c.ID, p.Keys)
	}))
}
