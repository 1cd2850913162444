package catalog

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/apache/iceberg-go/table"
	"github.com/apache/iceberg-go/udf"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/metrics"
	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/vend"
)

const (
	purgeBatchSize          = 8
	purgeLease              = 15 * time.Minute
	purgeRetryBase          = 30 * time.Second
	purgeRetryMax           = time.Hour
	purgeDeleteParallelism  = 8
	defaultPurgeMaxAttempts = 10
)

// PurgerOptions configure RunPurger.
type PurgerOptions struct {
	// Interval is how often due purge jobs are looked for (0: 10s).
	Interval time.Duration
	// MaxAttempts bounds the attempts at one job (0: 10).
	MaxAttempts int
	// TemporaryFileAge is the age past which a temporary metadata file
	// left by a process killed mid-write is removed (0: never).
	TemporaryFileAge time.Duration
	// SweepInterval is how often warehouses are swept for them (0: 1h).
	SweepInterval time.Duration
}

// RunPurger deletes the files of tables dropped with purge until ctx ends:
// every interval it claims due purge jobs and works through them. A job
// that fails is retried with exponential backoff, and given up (and logged)
// after maxAttempts attempts. Drops only queue jobs, so they never wait for
// this loop. It also sweeps the warehouses for temporary files left by
// crashes, at start and every SweepInterval.
func (s *Service) RunPurger(ctx context.Context, o PurgerOptions) {
	if o.Interval <= 0 {
		o.Interval = 10 * time.Second
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = defaultPurgeMaxAttempts
	}
	if o.SweepInterval <= 0 {
		o.SweepInterval = time.Hour
	}
	t := time.NewTicker(o.Interval)
	defer t.Stop()
	var nextSweep time.Time
	for {
		if o.TemporaryFileAge > 0 && !s.opts.Now().Before(nextSweep) {
			s.SweepTemporaryFiles(ctx, o.TemporaryFileAge)
			nextSweep = s.opts.Now().Add(o.SweepInterval)
		}
		for ctx.Err() == nil {
			claimed, _, err := s.purge(ctx, o.MaxAttempts)
			if err != nil && claimed == 0 && ctx.Err() == nil {
				// Failed jobs were logged one by one; this is the claim.
				s.log.Error("purge: cannot claim jobs", "error", err)
			}
			if claimed < purgeBatchSize {
				break // drained; a full batch may mean more are due
			}
		}
		s.countPurgeQueue(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// countPurgeQueue publishes the queue's depth once per round, so that a
// scrape never waits on the database.
func (s *Service) countPurgeQueue(ctx context.Context) {
	n, err := s.st.CountPurgeJobs(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("purge: cannot count queued jobs", "error", err)
		}
		return
	}
	s.opts.Metrics.PurgeQueue(n)
}

// SweepTemporaryFiles removes, from every warehouse, the temporary
// metadata files older than age that a process killed mid-write left (only
// local warehouses have them), and logs what it did.
func (s *Service) SweepTemporaryFiles(ctx context.Context, age time.Duration) int {
	total := 0
	for name, loc := range s.directory().Locations() {
		n, err := s.io.SweepTemporary(ctx, loc, s.opts.Now().Add(-age))
		total += n
		if n > 0 {
			s.log.Info("removed temporary files left by interrupted writes", "warehouse", name, "files", n)
		}
		if err != nil && ctx.Err() == nil {
			s.log.Warn("sweeping temporary files", "warehouse", name, "error", err)
		}
	}
	return total
}

// PurgeOnce claims one batch of due purge jobs and works through it. It
// returns how many jobs completed and the failures of the others (which are
// scheduled again).
func (s *Service) PurgeOnce(ctx context.Context) (int, error) {
	_, done, err := s.purge(ctx, defaultPurgeMaxAttempts)
	return done, err
}

func (s *Service) purge(ctx context.Context, maxAttempts int) (claimed, done int, err error) {
	now := s.opts.Now()
	jobs, err := s.st.ClaimPurgeJobs(ctx, purgeBatchSize, now, now.Add(purgeLease))
	if err != nil {
		return 0, 0, err
	}
	var failures []error
	for _, job := range jobs {
		jobErr := s.purgeJob(ctx, job)
		if jobErr == nil {
			if err := s.st.CompletePurgeJob(ctx, job.ID); err != nil {
				failures = append(failures, err)
				continue
			}
			done++
			s.opts.Metrics.PurgeJob(metrics.PurgePurged)
			s.log.Info("purged dropped table", "job", job.ID, "location", job.Location)
			continue
		}
		if ctx.Err() != nil {
			// Shutting down: the lease runs out and another run takes over.
			return len(jobs), done, errors.Join(append(failures, ctx.Err())...)
		}
		failures = append(failures, fmt.Errorf("purge job %d (%s): %w", job.ID, job.Location, jobErr))
		attempts := job.Attempts + 1
		if attempts >= maxAttempts {
			s.opts.Metrics.PurgeJob(metrics.PurgeAbandoned)
			s.log.Error("giving up purging dropped table; its remaining files must be deleted by hand",
				"job", job.ID, "location", job.Location, "metadata", job.MetadataLocation,
				"attempts", attempts, "error", jobErr)
			if err := s.st.CompletePurgeJob(ctx, job.ID); err != nil {
				failures = append(failures, err)
			}
			continue
		}
		s.opts.Metrics.PurgeJob(metrics.PurgeRetried)
		retryAt := s.opts.Now().Add(purgeBackoff(attempts))
		s.log.Warn("purge failed; will retry", "job", job.ID, "location", job.Location,
			"attempts", attempts, "retry_at", retryAt, "error", jobErr)
		if err := s.st.RetryPurgeJob(ctx, job.ID, retryAt, jobErr.Error()); err != nil {
			failures = append(failures, err)
		}
	}
	return len(jobs), done, errors.Join(failures...)
}

// purgeBackoff is the wait before attempt n+1: exponential, with jitter
// between half and all of it.
func purgeBackoff(attempts int) time.Duration {
	d := purgeRetryBase << min(attempts-1, 20)
	if d <= 0 || d > purgeRetryMax {
		d = purgeRetryMax
	}
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// purgeJob deletes the files a dropped table owned: the data and delete
// files its manifests list, the manifests, the manifest lists, statistics
// files and every metadata file in its log, each only if it lies below one
// of the table's locations (the job's claims) and not below a location of
// a table that was live when this one was dropped (a twin sharing its
// files). Files its metadata names elsewhere (imported with add-files, or
// another table's) stay, and nothing is ever deleted by directory or
// prefix. Files already gone count as deleted, so a job can be run again
// after a partial failure. Directories left empty are removed where the
// storage has directories.
func (s *Service) purgeJob(ctx context.Context, job store.PurgeJob) error {
	meta, err := s.purgeMetadata(ctx, job)
	if err != nil {
		return err
	}
	owned := job.Claims
	if len(owned) == 0 {
		// A job queued before claims were recorded: the table's location.
		loc := job.Location
		if loc == "" && meta != nil {
			loc = meta.Location()
		}
		if key, err := vend.LocationKey(loc); err == nil {
			owned = []string{key}
		}
	}
	shared, err := s.st.SharedClaims(ctx, owned, job.CreatedAt)
	if err != nil {
		return err
	}
	skipped := 0
	mine := func(p string) bool {
		key, err := vend.LocationKey(p)
		if err != nil {
			return false
		}
		for _, k := range shared {
			if key == k || within(k, key) {
				return false
			}
		}
		for _, k := range owned {
			if within(k, key) {
				return true
			}
		}
		return false
	}

	var dataFiles, manifests, lists, others []string
	seen := map[string]bool{}
	add := func(dst *[]string, p string) {
		if p == "" || seen[p] {
			return
		}
		seen[p] = true
		if !mine(p) {
			skipped++
			return
		}
		*dst = append(*dst, p)
	}
	if meta != nil {
		for _, snap := range meta.Snapshots() {
			add(&lists, snap.ManifestList)
			for _, m := range snap.ManifestLocations {
				add(&manifests, m)
			}
			if err := s.collectManifests(ctx, snap, add, &dataFiles, &manifests); err != nil {
				return err
			}
		}
		for st := range meta.Statistics() {
			add(&others, st.StatisticsPath)
		}
		for st := range meta.PartitionStatistics() {
			add(&others, st.StatisticsPath)
		}
		for e := range meta.PreviousFiles() {
			add(&others, e.MetadataFile)
		}
	}
	add(&others, job.MetadataLocation)
	if skipped > 0 {
		s.log.Info("purge: keeping files the dropped table did not own", "job", job.ID, "files", skipped)
	}

	// Leaves first, so that a failure leaves the files still referenced
	// by what remains findable on the next attempt.
	for _, group := range [][]string{dataFiles, manifests, lists, others} {
		if err := s.deleteAll(ctx, group); err != nil {
			return err
		}
	}
	for _, k := range owned {
		if strings.HasPrefix(k, "file://") {
			if err := s.io.RemoveEmptyDirectories(ctx, k); err != nil {
				return err
			}
		}
	}
	return nil
}

// purgeMetadata returns the dropped table's last metadata: the copy in the
// job, or else the metadata file. Without either, only the metadata file
// itself can be deleted (nil metadata).
func (s *Service) purgeMetadata(ctx context.Context, job store.PurgeJob) (table.Metadata, error) {
	if m, err := table.ParseMetadataBytes(job.Metadata); err == nil {
		return m, nil
	}
	if _, err := udf.ParseMetadataBytes(job.Metadata); err == nil {
		// A dropped function's metadata names no other files (nor its
		// earlier metadata files): only the file itself goes. Reading it
		// again would only find it is no table's.
		return nil, nil
	}
	if job.MetadataLocation == "" {
		return nil, nil
	}
	raw, err := s.io.Read(ctx, job.MetadataLocation)
	if errs.Is(err, errs.NotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	doc, err := decodeMetadataFile(raw)
	if err != nil {
		s.log.Warn("purge: unreadable metadata file", "location", job.MetadataLocation, "error", err)
		return nil, nil
	}
	m, err := table.ParseMetadataBytes(doc)
	if err != nil {
		s.log.Warn("purge: invalid metadata file", "location", job.MetadataLocation, "error", err)
		return nil, nil
	}
	return m, nil
}

// collectManifests reads a snapshot's manifest list and manifests with
// iceberg-go and adds the files they name. Lists and manifests that are
// already gone (deleted by an earlier attempt) are skipped.
func (s *Service) collectManifests(ctx context.Context, snap table.Snapshot, add func(*[]string, string), dataFiles, manifests *[]string) error {
	src := snap.ManifestList
	if src == "" && len(snap.ManifestLocations) > 0 {
		src = snap.ManifestLocations[0]
	}
	if src == "" {
		return nil
	}
	fsys, err := s.io.FS(ctx, src)
	if err != nil {
		return err
	}
	mans, err := snap.Manifests(fsys)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("reading manifest list %s: %w", src, err)
	}
	for _, m := range mans {
		add(manifests, m.FilePath())
		for entry, err := range m.Entries(fsys, false) {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					break
				}
				return fmt.Errorf("reading manifest %s: %w", m.FilePath(), err)
			}
			add(dataFiles, entry.DataFile().FilePath())
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return nil
}

// deleteAll deletes paths with bounded parallelism.
func (s *Service) deleteAll(ctx context.Context, paths []string) error {
	if len(paths) == 0 {
		return nil
	}
	work := make(chan string)
	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
	)
	for range min(purgeDeleteParallelism, len(paths)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range work {
				if err := s.io.Delete(ctx, p); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for _, p := range paths {
		if ctx.Err() != nil {
			break
		}
		work <- p
	}
	close(work)
	wg.Wait()
	if first != nil {
		return first
	}
	return ctx.Err()
}
