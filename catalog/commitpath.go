package catalog

import (
	"context"
	"sync"
	"time"

	"github.com/apache/iceberg-go/table"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/store"
)

// Two things make commits cheaper without changing what they do:
//
//   - metadataCache keeps parsed metadata by metadata location. A metadata
//     file never changes once written, so the parse of a location is valid
//     for good; the commit that wrote a file leaves its parsed metadata
//     here, and the next commit of the table on this node (or every loser of
//     a race re-reading the winner's state) skips parsing it again.
//   - metadataCache also keeps, for each entity this node committed last,
//     the row that commit left (its head): the entity's next commit here
//     starts from it instead of reading the row again. Another node may
//     have committed since; the store's compare-and-swap, which checks the
//     base's version and metadata location, then refuses the commit, and
//     the engine prepares it again on a fresh read (attemptGroup). That
//     costs a metadata file written for nothing, so an entity whose head
//     proved stale is read again before each commit until two reads in a
//     row find its head current: a load balancer spreading one writer's
//     commits over nodes costs one wasted file per entity and node, not
//     one per commit.
//   - tableLocks queues the commits of one table on this node, so that they
//     take turns instead of all preparing and writing on the same base and
//     all but one losing the compare-and-swap (wasted metadata files and
//     backoff sleeps). Commits from other nodes still race through the
//     store's compare-and-swap as before.

// defaultMetadataCacheBytes bounds the cache by the size of the cached
// documents' JSON.
const defaultMetadataCacheBytes = 16 << 20

type metadataCache struct {
	mu      sync.Mutex
	max     int
	size    int
	entries map[string]cachedMetadata
	heads   map[string]entityHead // by entity key (entityCommitKey)
}

// entityHead is the row this node's last commit of an entity left, and
// whether it can be trusted to be the entity's current row.
type entityHead struct {
	row store.Entity
	// doubted is set when a commit started from the head found it stale;
	// agreed counts the fresh reads since that found the head current.
	doubted bool
	agreed  int
}

const (
	// maxHeads bounds the heads kept: each is a few hundred bytes.
	maxHeads = 8192
	// trustAfter is the number of fresh reads in a row that must agree
	// with a doubted head before commits start from it again.
	trustAfter = 2
)

type cachedMetadata struct {
	meta any // table.Metadata or view.Metadata
	size int
}

func newMetadataCache(maxBytes int) *metadataCache {
	return &metadataCache{max: maxBytes, entries: map[string]cachedMetadata{}}
}

// get returns the parsed metadata of the file at loc, if cached.
func (c *metadataCache) get(loc string) (any, bool) {
	if c == nil || loc == "" {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[loc]
	return e.meta, ok
}

// put caches m as the parse of the file at loc, whose JSON is size bytes.
// Documents larger than a quarter of the cache are not kept.
func (c *metadataCache) put(loc string, m any, size int) {
	if c == nil || loc == "" || m == nil || size > c.max/4 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[loc]; ok {
		return
	}
	// Evict arbitrary entries (map order) until the new one fits: the
	// entries of busy tables come back with their next commit.
	for k, e := range c.entries {
		if c.size+size <= c.max {
			break
		}
		delete(c.entries, k)
		c.size -= e.size
	}
	c.entries[loc] = cachedMetadata{meta: m, size: size}
	c.size += size
}

// head returns the row this node's last commit of the entity left, if it
// is trusted and its metadata still cached. The row has no Metadata: a
// commit that starts from it and changes nothing is prepared again on a
// fresh read.
func (c *metadataCache) head(key string) (store.Entity, bool) {
	if c == nil {
		return store.Entity{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	h, ok := c.heads[key]
	if !ok || h.doubted {
		return store.Entity{}, false
	}
	if _, cached := c.entries[h.row.MetadataLocation]; !cached {
		delete(c.heads, key)
		return store.Entity{}, false
	}
	return h.row, true
}

// setHead records row as the entity's row after this node's commit.
func (c *metadataCache) setHead(key string, row store.Entity) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.heads == nil {
		c.heads = map[string]entityHead{}
	}
	h, ok := c.heads[key]
	if !ok && len(c.heads) >= maxHeads {
		for k := range c.heads { // an arbitrary one, as entries are evicted
			delete(c.heads, k)
			break
		}
	}
	row.Metadata = nil
	h.row = row
	c.heads[key] = h
}

// doubtHead records that a commit found the entity's head stale.
func (c *metadataCache) doubtHead(key string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if h, ok := c.heads[key]; ok {
		h.doubted, h.agreed = true, 0
		c.heads[key] = h
	}
}

// readRow compares a fresh read of the entity with its doubted head, and
// trusts the head again once trustAfter reads in a row agreed with it.
func (c *metadataCache) readRow(key string, row store.Entity) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	h, ok := c.heads[key]
	if !ok || !h.doubted {
		return
	}
	if h.row.MetadataLocation != row.MetadataLocation || h.row.Version != row.Version {
		h.agreed = 0
	} else if h.agreed++; h.agreed >= trustAfter {
		h.doubted = false
	}
	c.heads[key] = h
}

// parseCached is parseStored through the cache.
func (s *Service) parseCached(id store.Ident, loc string, doc []byte) (table.Metadata, error) {
	if m, ok := s.metaCache.get(loc); ok {
		if tm, ok := m.(table.Metadata); ok {
			return tm, nil
		}
	}
	m, err := parseStored(id, doc)
	if err != nil {
		return nil, err
	}
	s.metaCache.put(loc, m, len(doc))
	return m, nil
}

// tableLocks is a lock per table, held by one commit at a time.
type tableLocks struct {
	mu    sync.Mutex
	locks map[string]*tableLock
}

type tableLock struct {
	ch   chan struct{} // holds a value while locked
	refs int           // holders and waiters
}

func (l *tableLocks) ref(key string) *tableLock {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.locks == nil {
		l.locks = map[string]*tableLock{}
	}
	t := l.locks[key]
	if t == nil {
		t = &tableLock{ch: make(chan struct{}, 1)}
		l.locks[key] = t
	}
	t.refs++
	return t
}

func (l *tableLocks) unref(key string, t *tableLock) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t.refs--; t.refs == 0 {
		delete(l.locks, key)
	}
}

// lock waits for the lock of table id until ctx ends and returns its
// release.
func (l *tableLocks) lock(ctx context.Context, key string) (func(), error) {
	t := l.ref(key)
	select {
	case t.ch <- struct{}{}:
		return func() { <-t.ch; l.unref(key, t) }, nil
	case <-ctx.Done():
		l.unref(key, t)
		return nil, ctx.Err()
	}
}

// tableKey identifies a table in this node's maps; distinct identifiers
// never share a key, whatever bytes they hold.
func tableKey(id store.Ident) string { return store.IdentKey(id) }

// lockEntity takes this node's commit lock key of entity id, waiting at
// most until the commit's deadline (zero: none).
func (s *Service) lockEntity(ctx context.Context, key string, id store.Ident, deadline time.Time) (func(), error) {
	waitCtx := ctx
	if !deadline.IsZero() {
		var cancel context.CancelFunc
		waitCtx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	release, err := s.locks.lock(waitCtx, key)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, errs.New(errs.CommitFailed, "Commit failed: %s is locked by concurrent commits; gave up waiting", id)
	}
	return release, nil
}
