package catalog

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"strings"
	"sync"

	"github.com/apache/iceberg-go/table"
	"github.com/google/uuid"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/vend"
)

// Where namespaces, tables and views live. A storage location belongs to
// exactly one owner, so that nobody reaches another's files through the
// catalog (vended credentials, purge, metadata writes):
//
//   - Every namespace has a location: its `location` property, or its
//     parent's location (the warehouse's, at the top) and its name.
//   - A table or view lives strictly inside its namespace's location, and
//     so do the paths its properties place files at (write.data.path, ...),
//     unless its warehouse allows external locations.
//   - No location may equal, lie inside or contain another owner's, but
//     for the namespaces holding the owner. The store enforces this
//     atomically with the create, commit, register or move (store.Store);
//     this file decides what an owner's locations are and where they may be.

// storagePathKeys are the properties that place an entity's files outside
// its location; they belong to it like its location does.
var storagePathKeys = []string{
	table.WriteDataPathKey, table.WriteMetadataPathKey,
	"write.object-storage.path", "write.folder-storage.path",
}

// namespaceLocationProperty is the namespace property that chooses the
// namespace's location at creation.
const namespaceLocationProperty = "location"

// locationKey is vend.LocationKey with the location's role in messages.
func locationKey(what, loc string) (string, error) {
	if err := store.CheckLocation(what, loc); err != nil {
		return "", err
	}
	key, err := vend.LocationKey(loc)
	if err != nil {
		return "", errs.New(errs.BadRequest, "%s %s is not a valid storage location: %s", what, loc, clientMessage(err))
	}
	return key, nil
}

// within reports whether key lies strictly inside base.
func within(base, key string) bool {
	return len(key) > len(base) && strings.HasPrefix(key, base)
}

// namespaceLocation chooses the location of a new namespace: the location
// property when the client set one (inside the parent's location unless
// the warehouse allows external locations), else the parent's location and
// the level as a path segment.
func (s *Service) namespaceLocation(ctx context.Context, warehouse string, levels []string, props map[string]string) (loc, key string, err error) {
	parent, err := s.parentLocation(ctx, warehouse, levels)
	if err != nil {
		return "", "", err
	}
	parentKey, err := locationKey("Location", parent)
	if err != nil {
		return "", "", errs.Wrap(errs.Internal, err, "The location of the parent of namespace %s is invalid", strings.Join(levels, "."))
	}
	if custom, ok := props[namespaceLocationProperty]; ok {
		loc = strings.TrimRight(custom, "/")
		if key, err = locationKey("Namespace location", loc); err != nil {
			return "", "", err
		}
		if !s.directory().Placement(warehouse).ExternalLocations && !within(parentKey, key) {
			return "", "", errs.New(errs.BadRequest, "Namespace location %s must lie inside %s, the location of the namespace's parent", custom, parent)
		}
		return loc, key, nil
	}
	loc = parent + "/" + pathSegment(levels[len(levels)-1])
	key, err = locationKey("Namespace location", loc)
	return loc, key, err
}

// parentLocation is the location of the namespace holding levels: the
// warehouse's for a top-level namespace.
func (s *Service) parentLocation(ctx context.Context, warehouse string, levels []string) (string, error) {
	if len(levels) <= 1 {
		return s.warehouseLocation(warehouse)
	}
	return s.locationOfNamespace(ctx, warehouse, levels[:len(levels)-1])
}

// locationOfNamespace returns the recorded location of a namespace. A
// namespace without one (created before locations were recorded, which
// the start-up backfill could not place) gets the location it had then:
// the warehouse's and its levels as path segments.
func (s *Service) locationOfNamespace(ctx context.Context, warehouse string, levels []string) (string, error) {
	ns, err := s.st.GetNamespace(ctx, warehouse, levels)
	if err != nil {
		return "", err
	}
	return s.recordedLocation(warehouse, ns)
}

// recordedLocation is locationOfNamespace for the namespace ns, read.
func (s *Service) recordedLocation(warehouse string, ns store.Namespace) (string, error) {
	if ns.Location != "" {
		return ns.Location, nil
	}
	whLoc, err := s.warehouseLocation(warehouse)
	if err != nil {
		return "", err
	}
	for _, l := range ns.Levels {
		whLoc += "/" + legacyPathSegment(l)
	}
	return whLoc, nil
}

// namespaceForCreate returns the location of the namespace a table is
// created in and, unless the warehouse allows external locations, its
// claim key for store.Entity.NamespaceKey. Locations are remembered: a
// namespace's location is fixed when it is created, so an entry goes stale
// only when the namespace is dropped and created again elsewhere, which
// the store then refuses (store.ErrNamespaceMoved) and the create retries
// with fresh set. That saves creates a database read each.
func (s *Service) namespaceForCreate(ctx context.Context, warehouse string, levels []string, fresh bool) (loc, key string, cached bool, err error) {
	external := s.directory().Placement(warehouse).ExternalLocations
	cacheKey := namespaceCacheKey(warehouse, levels)
	if !external && !fresh {
		if loc, key, ok := s.nsLocations.get(cacheKey); ok {
			return loc, key, true, nil
		}
	}
	ns, err := s.st.GetNamespace(ctx, warehouse, levels)
	if err != nil {
		return "", "", false, err
	}
	if ns.Location == "" || external {
		// Not recorded (the backfill could not place it) or not binding.
		loc, err := s.recordedLocation(warehouse, ns)
		return loc, "", false, err
	}
	if key, err = locationKey("Location", ns.Location); err != nil {
		return "", "", false, errs.Wrap(errs.Internal, err, "The location of a namespace is invalid")
	}
	s.nsLocations.put(cacheKey, ns.Location, key)
	return ns.Location, key, false, nil
}

// namespaceLocations remembers the locations of namespaces tables were
// created in (see namespaceForCreate).
type namespaceLocations struct {
	mu sync.Mutex
	m  map[string][2]string // location and key
}

// maxNamespaceLocations bounds the memory; a full map starts over.
const maxNamespaceLocations = 10000

func namespaceCacheKey(warehouse string, levels []string) string {
	return warehouse + store.NamespaceSeparator + strings.Join(levels, store.NamespaceSeparator)
}

// forget drops what is remembered of a namespace this node dropped, so
// that creates in it fail before writing anything.
func (c *namespaceLocations) forget(warehouse string, levels []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, namespaceCacheKey(warehouse, levels))
}

func (c *namespaceLocations) get(k string) (string, string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[k]
	return v[0], v[1], ok
}

func (c *namespaceLocations) put(k, loc, key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxNamespaceLocations {
		c.m = map[string][2]string{}
	}
	c.m[k] = [2]string{loc, key}
}

// defaultEntityLocation is where a table or view goes when the request
// names no location: below its namespace's location, in a directory of its
// own ("<name>-<uuid>"), or, where the warehouse chose the layout of the
// Java catalogs, "<name>".
func (s *Service) defaultEntityLocation(nsLoc string, id store.Ident, u uuid.UUID) string {
	dir := pathSegment(id.Name)
	if !s.directory().Placement(id.Warehouse).NameOnly {
		dir += "-" + hex.EncodeToString(u[:])
	}
	return nsLoc + "/" + dir
}

// entityPlacement checks where a table or view whose namespace lives at
// nsLoc may keep its files (location and path properties) and returns the
// claim keys of those locations.
func (s *Service) entityPlacement(warehouse, nsLoc, location string, props map[string]string) ([]string, error) {
	nsKey, err := locationKey("Location", nsLoc)
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "The location of a namespace is invalid")
	}
	external := s.directory().Placement(warehouse).ExternalLocations
	check := func(what, loc string) (string, error) {
		key, err := locationKey(what, loc)
		if err != nil {
			return "", err
		}
		if !external && !within(nsKey, key) {
			return "", errs.New(errs.BadRequest, "%s %s must lie inside %s, the location of its namespace (the warehouse does not allow external locations)", what, loc, nsLoc)
		}
		return key, nil
	}
	if _, err := check("Location", location); err != nil {
		return nil, err
	}
	for _, k := range storagePathKeys {
		if v := props[k]; v != "" {
			if _, err := check("Property "+k, v); err != nil {
				return nil, err
			}
		}
	}
	return ownKeys(location, props)
}

// placeEntity is entityPlacement for the entity id, reading the location of
// its namespace.
func (s *Service) placeEntity(ctx context.Context, id store.Ident, location string, props map[string]string) ([]string, error) {
	nsLoc, err := s.locationOfNamespace(ctx, id.Warehouse, id.Namespace)
	if err != nil {
		return nil, err
	}
	return s.entityPlacement(id.Warehouse, nsLoc, location, props)
}

// locationsChanged reports whether a commit moves an entity's files: a new
// location or a changed path property. Only then are its locations checked
// and claimed again, so tables placed before the rules keep taking commits.
func locationsChanged(baseLoc, nextLoc string, baseProps, nextProps map[string]string) bool {
	if baseLoc != nextLoc {
		return true
	}
	for _, k := range storagePathKeys {
		if baseProps[k] != nextProps[k] {
			return true
		}
	}
	return false
}

// inOwnLocation checks that a registered metadata file lies in the table's
// or view's location, or below its write.metadata.path: a metadata file
// elsewhere is not that table's to register.
func inOwnLocation(metadataLocation, location string, props map[string]string) error {
	fileKey, err := locationKey("Metadata location", metadataLocation)
	if err != nil {
		return err
	}
	for _, base := range []string{location, props[table.WriteMetadataPathKey]} {
		if base == "" {
			continue
		}
		if key, err := vend.LocationKey(base); err == nil && within(key, fileKey) {
			return nil
		}
	}
	return errs.New(errs.BadRequest, "Metadata file %s does not lie inside %s, the location its metadata names", metadataLocation, location)
}

// pathSegment makes a namespace level or an entity name a path segment
// that means the same to every storage and never collides with another
// name's: letters, digits, '.', '-' and '_' stay, every other byte becomes
// "~" and two hex digits, and a name of dots alone is escaped whole (no
// "." or ".." segments).
func pathSegment(name string) string {
	allDots := strings.Trim(name, ".") == ""
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		safe := c == '-' || c == '_' || (c == '.' && !allDots) ||
			('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')
		if safe {
			b.WriteByte(c)
			continue
		}
		const hexDigits = "0123456789abcdef"
		b.WriteByte('~')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&0xf])
	}
	return b.String()
}

// legacyPathSegment is how levels became path segments before pathSegment:
// other characters were replaced by '_', so two names could share a
// directory. Only namespaces created then are still placed with it.
func legacyPathSegment(s string) string {
	seg := strings.Map(func(r rune) rune {
		if r == '.' || r == '-' || r == '_' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9') {
			return r
		}
		return '_'
	}, s)
	if strings.Trim(seg, ".") == "" {
		seg = strings.Repeat("_", len(seg))
	}
	return seg
}

// BackfillLocations gives the namespaces, tables and views created before
// locations were recorded their locations, UUIDs and claims, so that the
// ownership rules cover them too; it runs at start-up and is a no-op once
// everything is placed. Old entries are placed where they are (their
// locations were chosen under the old rules): owners found overlapping are
// claimed all the same and logged, for an operator to look at.
func (s *Service) BackfillLocations(ctx context.Context) error {
	n := 0
	place := func(o store.LocationOwner) (store.Placement, error) {
		n++
		if o.Name == "" {
			return s.backfilledNamespace(o)
		}
		var doc struct {
			Location   string            `json:"location"`
			Properties map[string]string `json:"properties"`
			TableUUID  string            `json:"table-uuid"`
			ViewUUID   string            `json:"view-uuid"`
			FuncUUID   string            `json:"function-uuid"`
		}
		if err := json.Unmarshal(o.Metadata, &doc); err != nil || doc.Location == "" {
			return store.Placement{}, errs.New(errs.Internal, "its stored metadata names no location")
		}
		keys, err := ownKeys(doc.Location, doc.Properties)
		if err != nil {
			return store.Placement{}, err
		}
		return store.Placement{UUID: doc.TableUUID + doc.ViewUUID + doc.FuncUUID, Keys: keys}, nil
	}
	conflict := func(o store.LocationOwner, err error) {
		what := "namespace " + strings.Join(o.Namespace, ".")
		if o.Name != "" {
			what = string(o.Kind) + " " + store.Ident{Namespace: o.Namespace, Name: o.Name}.String()
		}
		s.log.Warn("placing an existing "+what+": its storage location overlaps another's, or cannot be placed; it keeps working, but check it",
			"warehouse", o.Warehouse, "error", clientMessage(err))
	}
	if err := s.st.BackfillLocations(ctx, place, conflict); err != nil {
		return err
	}
	if n > 0 {
		s.log.Info("recorded the storage locations of existing namespaces, tables and views", "owners", n)
	}
	return nil
}

// backfilledNamespace places a namespace created before locations were
// recorded where its tables went then: its location property, or its
// parent's location and its level as a legacy path segment.
func (s *Service) backfilledNamespace(o store.LocationOwner) (store.Placement, error) {
	loc := strings.TrimRight(o.Properties[namespaceLocationProperty], "/")
	if loc == "" {
		parent := o.ParentLocation
		if len(o.Namespace) == 1 {
			var err error
			if parent, err = s.warehouseLocation(o.Warehouse); err != nil {
				return store.Placement{}, err
			}
		}
		loc = parent + "/" + legacyPathSegment(o.Namespace[len(o.Namespace)-1])
	}
	key, err := locationKey("Namespace location", loc)
	if err != nil {
		return store.Placement{}, err
	}
	return store.Placement{Location: loc, Keys: []string{key}}, nil
}

// ownKeys are the claim keys of an entity at location with properties
// props, without the rules on where it may be (for entities placed before).
func ownKeys(location string, props map[string]string) ([]string, error) {
	locKey, err := locationKey("Location", location)
	if err != nil {
		return nil, err
	}
	keys := []string{locKey}
	for _, k := range storagePathKeys {
		if v := props[k]; v != "" {
			key, err := locationKey("Property "+k, v)
			if err != nil {
				return nil, err
			}
			if key != locKey && !within(locKey, key) {
				keys = append(keys, key)
			}
		}
	}
	return keys, nil
}
