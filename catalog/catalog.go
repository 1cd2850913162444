// Package catalog holds the domain operations of the Iceberg REST catalog:
// one method per request, returning errs kinds. It decides Iceberg semantics
// (with iceberg-go: metadata building, requirements, updates) and leaves rows
// to store.Store and files to vend.FileIO.
package catalog

import (
	"context"
	"encoding/base64"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/metrics"
	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/vend"
)

// Options configures a Service.
type Options struct {
	// Warehouses maps a warehouse name to its base location, e.g.
	// "file:///data/warehouse". Default table locations are built below it
	// and purges never delete a prefix outside of it.
	Warehouses map[string]string
	// ExternalLocations names the warehouses whose tables and views may
	// live outside the warehouse location; elsewhere such locations are
	// refused (BadRequest).
	ExternalLocations map[string]bool
	// NameOnlyLocations names the warehouses whose tables and views get
	// "<namespace location>/<name>" as their default location, the layout
	// of the Java catalogs that some client test suites assume; elsewhere
	// it is "<namespace location>/<name>-<uuid>", a directory of their own
	// even when a name is used again.
	NameOnlyLocations map[string]bool
	// Directory, when set, replaces Warehouses, ExternalLocations and
	// NameOnlyLocations: the warehouses change at runtime (the warehouse
	// registry), and a deactivated one answers Forbidden.
	Directory Directory
	// Vendors gives each warehouse's delegated access to storage (vended
	// credentials, remote signing); *vend.Storage is one. nil, or a nil
	// Vendor for a warehouse: clients get no delegated access.
	Vendors interface {
		Vendor(warehouse string) vend.Vendor
	}

	// CommitTimeout bounds one commit, server-side retries included (0: no
	// bound). It is checked before each new attempt, never in the middle
	// of one, so that a timeout cannot leave a commit's outcome unknown.
	CommitTimeout time.Duration
	// MaxCommitGroup bounds how many queued commits of one table are
	// committed together, as one new metadata file (see commitgroup.go);
	// 0: 32, 1: every commit alone.
	MaxCommitGroup int
	// MaxRetries is how often a commit that lost a race with a concurrent
	// commit is retried on the latest metadata (0: never).
	MaxRetries int
	// Retries wait a random time up to min(RetryMaxDelay,
	// RetryBaseDelay*2^attempt) ("full jitter").
	RetryBaseDelay, RetryMaxDelay time.Duration

	// Defaults and Overrides are the catalog configuration's defaults and
	// overrides; their table-default.X and table-override.X keys set table
	// property X on create (defaults below the request's properties,
	// overrides above them).
	Defaults, Overrides map[string]string

	// VerifyMetadataOnLoad makes LoadTable check that the current metadata
	// file still exists (one stat per load) and answer NotFound otherwise,
	// as Java catalogs do. Off, loads are served from the database alone.
	VerifyMetadataOnLoad bool
	// VerifiedFor is how long this node trusts a successful check of one
	// metadata file before checking it again (0: check on every load).
	// Metadata files are immutable, so the check only guards against files
	// deleted behind the catalog's back; on object stores it is a HEAD
	// request, far dearer than the load it guards.
	VerifiedFor time.Duration

	// Now is the clock for scheduling purge work (tests); nil: time.Now.
	Now func() time.Time
	// Logger receives the purger's reports and failed best-effort
	// cleanups; nil: slog.Default().
	Logger *slog.Logger
	// Metrics counts commit attempts, conflicts and retries and times
	// metadata file writes; nil: none.
	Metrics *metrics.Metrics
	// MetadataCacheBytes bounds the cache of parsed table metadata by
	// metadata file (see commitpath.go), counted in JSON bytes; 0: 16 MiB,
	// negative: no cache.
	MetadataCacheBytes int
}

// Service implements the catalog operations.
type Service struct {
	st   store.Store
	io   vend.FileIO
	opts Options
	log  *slog.Logger

	metaCache      *metadataCache // nil: disabled
	locks          tableLocks
	tableQueues    commitQueues[TableChange]
	viewQueues     commitQueues[ViewChange]
	functionQueues commitQueues[FunctionChange]
	verified       verifiedFiles
	nsLocations    namespaceLocations
}

// New returns a Service over st and io.
func New(st store.Store, io vend.FileIO, opts Options) *Service {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	if opts.Directory == nil { // once, not per request (see directory)
		opts.Directory = staticDirectory{opts.Warehouses, opts.ExternalLocations, opts.NameOnlyLocations}
	}
	s := &Service{st: st, io: io, opts: opts, log: log}
	switch {
	case opts.MetadataCacheBytes == 0:
		s.metaCache = newMetadataCache(defaultMetadataCacheBytes)
	case opts.MetadataCacheBytes > 0:
		s.metaCache = newMetadataCache(opts.MetadataCacheBytes)
	}
	return s
}

// warehouseLocation returns the base location of warehouse, without a
// trailing slash.
func (s *Service) warehouseLocation(warehouse string) (string, error) {
	w, err := s.directory().Serving(warehouse)
	if err != nil {
		return "", err
	}
	return strings.TrimRight(w.Location, "/"), nil
}

func (s *Service) checkWarehouse(warehouse string) error {
	_, err := s.warehouseLocation(warehouse)
	return err
}

// checkLevels validates namespace levels (store.CheckNamespace: the one
// set of identifier rules, which the stores apply too).
func checkLevels(levels []string) error {
	return store.CheckNamespace(levels)
}

// encodePageToken and decodePageToken make the opaque page-token of list
// responses: the base64 of the last name returned.
func encodePageToken(last string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(last))
}

func decodePageToken(token string) (string, error) {
	if token == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	// A token holds a name the catalog returned, so one that could not be
	// a name was not made here.
	if err != nil || len(b) == 0 || store.CheckName("Page token", string(b)) != nil {
		return "", errs.New(errs.BadRequest, "Invalid page token: %.64q", token)
	}
	return string(b), nil
}

// Page is a list request's paging: the page-token of the previous response
// ("" for the first page) and the page size (0: everything).
type Page struct {
	Token string
	Size  int
}

// storePage turns p into a store.Page that asks for one row more than
// wanted, so a full page can tell whether another one follows.
func storePage(p Page) (store.Page, error) {
	if p.Size < 0 {
		return store.Page{}, errs.New(errs.BadRequest, "Invalid page size: %d", p.Size)
	}
	after, err := decodePageToken(p.Token)
	if err != nil {
		return store.Page{}, err
	}
	sp := store.Page{After: after}
	if p.Size > 0 {
		sp.Limit = p.Size + 1
	}
	return sp, nil
}

// page is storePage for callers holding token and size separately.
func page(token string, size int) (store.Page, error) {
	return storePage(Page{Token: token, Size: size})
}

// backoff waits before retry attempt (0-based) with full jitter. It reports
// false when the wait would end after deadline (zero: none) or ctx ends.
func (s *Service) backoff(ctx context.Context, attempt int, deadline time.Time) bool {
	ceiling := s.opts.RetryMaxDelay
	if d := s.opts.RetryBaseDelay << min(attempt, 30); d > 0 && (ceiling <= 0 || d < ceiling) {
		ceiling = d
	}
	var wait time.Duration
	if ceiling > 0 {
		wait = time.Duration(rand.Int64N(int64(ceiling) + 1))
	}
	if !deadline.IsZero() && time.Now().Add(wait).After(deadline) {
		return false
	}
	if wait == 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// retryBudget returns the deadline of a commit started now (zero: none).
func (s *Service) retryDeadline() time.Time {
	if s.opts.CommitTimeout <= 0 {
		return time.Time{}
	}
	return time.Now().Add(s.opts.CommitTimeout)
}
