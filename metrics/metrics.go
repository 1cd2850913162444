// Package metrics owns Bingsan's Prometheus registry and every collector in
// it. One *Metrics is made at start-up and handed to the server, the
// catalog, the store, storage and the event broker through their Options;
// there are no package-level collectors. Every method is safe on a nil
// *Metrics and then does nothing, so components built without one (tests,
// embedding) need no special case.
//
// Labels stay bounded: operations are labelled by the spec's operationId
// and a status class, never by namespace, table or warehouse.
package metrics

import (
	"io"
	"runtime/debug"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/common/expfmt"
)

// Options configure New.
type Options struct {
	// Version is reported by bingsan_build_info.
	Version string
	// NoRuntime leaves out the Go runtime and process collectors (tests
	// that count series).
	NoRuntime bool
}

// Metrics holds the registry and Bingsan's collectors.
type Metrics struct {
	reg *prometheus.Registry

	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge

	commitAttempts  prometheus.Counter
	commitConflicts prometheus.Counter
	commitRetries   prometheus.Counter
	lockWaits       *prometheus.CounterVec
	metadataWrite   prometheus.Histogram
	readBatch       prometheus.Histogram
	commitGroup     prometheus.Histogram

	vendCache *prometheus.CounterVec

	eventSubscribers prometheus.Gauge
	eventLag         prometheus.Gauge
	eventClosed      *prometheus.CounterVec

	purgeJobs  *prometheus.CounterVec
	purgeQueue prometheus.Gauge

	bufGets, bufMisses, bufDiscards *prometheus.CounterVec

	plans         *prometheus.CounterVec
	plansAsync    prometheus.Counter
	plansResumed  prometheus.Counter
	plansRunning  prometheus.Gauge
	planDuration  prometheus.Histogram
	planTaskCount prometheus.Histogram

	dbMu   sync.Mutex
	dbPool func() DBPoolStats
}

// Latency buckets in seconds, from a cached load (~100µs) to a commit that
// waited for retries (seconds).
var latencyBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// New builds the registry with every collector registered.
func New(opts Options) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	f := func(c prometheus.Collector) { m.reg.MustRegister(c) }

	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bingsan_http_requests_total",
		Help: "HTTP requests served, by operation (the REST spec's operationId) and status class (2xx, 4xx, ...).",
	}, []string{"operation", "class"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "bingsan_http_request_duration_seconds",
		Help:    "Time from routing a request to the end of its handler, by operation.",
		Buckets: latencyBuckets,
	}, []string{"operation"})
	m.inFlight = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "bingsan_http_requests_in_flight",
		Help: "Requests being handled now.",
	})
	f(m.requests)
	f(m.duration)
	f(m.inFlight)

	m.commitAttempts = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "bingsan_commit_attempts_total",
		Help: "Attempts at table commits and transactions (the first try and every retry).",
	})
	m.commitConflicts = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "bingsan_commit_conflicts_total",
		Help: "Commit attempts that lost the compare-and-swap to a concurrent commit (or found a requirement no longer holding).",
	})
	m.commitRetries = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "bingsan_commit_retries_total",
		Help: "Commits retried on fresh metadata after a conflict.",
	})
	m.lockWaits = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bingsan_store_lock_waits_total",
		Help: "Database writes that waited for a lock beyond the lock timeout, or hit a serialization failure or deadlock, and were retried, by reason.",
	}, []string{"reason"})
	m.metadataWrite = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "bingsan_metadata_write_duration_seconds",
		Help:    "Time to write (and make durable) one new metadata file.",
		Buckets: latencyBuckets,
	})
	f(m.commitAttempts)
	f(m.commitConflicts)
	f(m.commitRetries)
	f(m.lockWaits)
	f(m.metadataWrite)
	m.readBatch = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "bingsan_store_read_batch_keys",
		Help:    "Distinct keys fetched by one coalesced database read (concurrent loads of tables and views share one query).",
		Buckets: []float64{1, 2, 4, 8, 16, 32, 64},
	})
	f(m.readBatch)
	m.commitGroup = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "bingsan_commit_group_size",
		Help:    "Table commits committed together as one new metadata file (commits of one table that queued up on this node).",
		Buckets: []float64{1, 2, 4, 8, 16, 32},
	})
	f(m.commitGroup)

	m.vendCache = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bingsan_vend_credential_cache_total",
		Help: "Lookups of vended credentials in the per-table cache, by result (hit, miss).",
	}, []string{"result"})
	f(m.vendCache)

	m.eventSubscribers = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "bingsan_event_subscribers",
		Help: "Event stream subscriptions open on this node.",
	})
	m.eventLag = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "bingsan_event_lag_events",
		Help: "Events queued for the subscriber furthest behind on this node.",
	})
	m.eventClosed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bingsan_event_subscribers_closed_total",
		Help: "Event stream subscriptions that ended, by reason (slow: fell more than events.buffer behind; pruned: needed events were pruned; shutdown; client: the client went away; error: the event store failed).",
	}, []string{"reason"})
	f(m.eventSubscribers)
	f(m.eventLag)
	f(m.eventClosed)

	m.purgeJobs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bingsan_purge_jobs_total",
		Help: "Attempts at purging the files of a table dropped with purgeRequested, by result (purged; retried: failed, will run again; abandoned: failed for the last time, files left behind).",
	}, []string{"result"})
	f(m.purgeJobs)
	m.purgeQueue = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "bingsan_purge_queue_jobs",
		Help: "Purge jobs in the catalog's queue (due or waiting for a retry), as this node's purger last counted them; every node reports the same queue.",
	})
	f(m.purgeQueue)

	// Every label value of a bounded set exists from the start, at 0, so
	// that rate() and alerts see a series before the first event.
	for _, r := range []string{LockTimeout, SerializationFailure, Deadlock, Busy} {
		m.lockWaits.WithLabelValues(r)
	}
	for _, r := range []string{"hit", "miss"} {
		m.vendCache.WithLabelValues(r)
	}
	for _, r := range []string{EventClosedSlow, EventClosedPruned, EventClosedShutdown, EventClosedClient, EventClosedError} {
		m.eventClosed.WithLabelValues(r)
	}
	for _, r := range []string{PurgePurged, PurgeRetried, PurgeAbandoned} {
		m.purgeJobs.WithLabelValues(r)
	}

	m.bufGets = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bingsan_buffer_pool_gets_total",
		Help: "Buffers taken from a pool, by pool.",
	}, []string{"pool"})
	m.bufMisses = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bingsan_buffer_pool_misses_total",
		Help: "Buffers a pool had to allocate because it was empty, by pool.",
	}, []string{"pool"})
	m.bufDiscards = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bingsan_buffer_pool_discards_total",
		Help: "Buffers not returned to a pool because they had grown too large, by pool.",
	}, []string{"pool"})
	f(m.bufGets)
	f(m.bufMisses)
	f(m.bufDiscards)

	m.plans = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bingsan_scan_plans_total",
		Help: "Scan plans that ended on this node, by outcome (completed, failed, cancelled).",
	}, []string{"outcome"})
	m.plansAsync = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "bingsan_scan_plans_submitted_total",
		Help: "planTableScan requests answered \"submitted\" (planned in the background) rather than with the result.",
	})
	m.plansResumed = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "bingsan_scan_plans_claimed_total",
		Help: "Scan plans this node took over from the queue: submitted while no planner had room, or left by a planner that stopped.",
	})
	m.plansRunning = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "bingsan_scan_plans_running",
		Help: "Scan plans being planned on this node now.",
	})
	m.planDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "bingsan_scan_plan_duration_seconds",
		Help:    "Time to plan one scan (reading manifests and storing the result), for plans that completed.",
		Buckets: latencyBuckets,
	})
	m.planTaskCount = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "bingsan_scan_plan_tasks",
		Help:    "File scan tasks in the result of one completed scan plan.",
		Buckets: []float64{0, 1, 10, 100, 1000, 10000, 100000, 1000000},
	})
	f(m.plans)
	f(m.plansAsync)
	f(m.plansResumed)
	f(m.plansRunning)
	f(m.planDuration)
	f(m.planTaskCount)

	f(&dbPoolCollector{m: m})

	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "bingsan_build_info",
		Help:        "Always 1; the labels say which build is running.",
		ConstLabels: prometheus.Labels{"version": opts.Version, "goversion": goVersion()},
	})
	build.Set(1)
	f(build)
	if !opts.NoRuntime {
		f(collectors.NewGoCollector())
		f(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		f(collectors.NewBuildInfoCollector())
	}
	return m
}

func goVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		return bi.GoVersion
	}
	return ""
}

// Registry is the registry, for collectors registered elsewhere and for
// tests.
func (m *Metrics) Registry() *prometheus.Registry {
	if m == nil {
		return nil
	}
	return m.reg
}

// ContentType is what Write produces: the Prometheus text format, which
// every Prometheus version and compatible scraper reads.
var ContentType = string(expfmt.NewFormat(expfmt.TypeTextPlain))

// Write gathers every collector and writes the text exposition format.
func (m *Metrics) Write(w io.Writer) error {
	if m == nil {
		return nil
	}
	families, err := m.reg.Gather()
	enc := expfmt.NewEncoder(w, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range families {
		if eerr := enc.Encode(mf); eerr != nil {
			return eerr
		}
	}
	return err
}

// Operation is the request metrics of one operation, resolved once when
// the route is built so that observing a request takes no label lookups.
type Operation struct {
	m        *Metrics
	duration prometheus.Observer
	classes  [6]prometheus.Counter // 0: other, 1: 1xx ... 5: 5xx
}

// Operation returns the metrics of the operation with the spec's
// operationId id (nil on a nil *Metrics).
func (m *Metrics) Operation(id string) *Operation {
	if m == nil {
		return nil
	}
	op := &Operation{m: m, duration: m.duration.WithLabelValues(id)}
	for i, class := range []string{"other", "1xx", "2xx", "3xx", "4xx", "5xx"} {
		op.classes[i] = m.requests.WithLabelValues(id, class)
	}
	return op
}

// Start counts a request in flight; call Done with its status when it ends.
func (op *Operation) Start() time.Time {
	if op == nil {
		return time.Time{}
	}
	op.m.inFlight.Inc()
	return time.Now()
}

// Done records a request that Start began.
func (op *Operation) Done(start time.Time, status int) {
	if op == nil {
		return
	}
	op.m.inFlight.Dec()
	op.duration.Observe(time.Since(start).Seconds())
	class := status / 100
	if class < 1 || class > 5 {
		class = 0
	}
	op.classes[class].Inc()
}

// CommitAttempt counts one attempt at a commit (first tries and retries).
func (m *Metrics) CommitAttempt() {
	if m != nil {
		m.commitAttempts.Inc()
	}
}

// CommitConflict counts an attempt that lost to a concurrent commit.
func (m *Metrics) CommitConflict() {
	if m != nil {
		m.commitConflicts.Inc()
	}
}

// CommitRetry counts a commit retried after a conflict.
func (m *Metrics) CommitRetry() {
	if m != nil {
		m.commitRetries.Inc()
	}
}

// Lock wait reasons (LockWait).
const (
	LockTimeout          = "lock_timeout"
	SerializationFailure = "serialization_failure"
	Deadlock             = "deadlock"
	Busy                 = "busy" // SQLite: the database file was locked
)

// LockWait counts a database write retried because it could not get its
// locks in time; reason is one of the constants above.
func (m *Metrics) LockWait(reason string) {
	if m != nil {
		m.lockWaits.WithLabelValues(reason).Inc()
	}
}

// CommitGroup records the size of one group of table commits.
func (m *Metrics) CommitGroup(n int) {
	if m != nil {
		m.commitGroup.Observe(float64(n))
	}
}

// ReadBatch records the distinct keys of one coalesced database read.
func (m *Metrics) ReadBatch(keys int) {
	if m != nil {
		m.readBatch.Observe(float64(keys))
	}
}

// MetadataWritten records how long writing one metadata file took.
func (m *Metrics) MetadataWritten(d time.Duration) {
	if m != nil {
		m.metadataWrite.Observe(d.Seconds())
	}
}

// Results of one purge job attempt (PurgeJob).
const (
	PurgePurged    = "purged"
	PurgeRetried   = "retried"
	PurgeAbandoned = "abandoned"
)

// PurgeJob counts one attempt at a purge job by its result, one of the
// Purge* constants.
func (m *Metrics) PurgeJob(result string) {
	if m != nil {
		m.purgeJobs.WithLabelValues(result).Inc()
	}
}

// PurgeQueue records the depth of the purge queue.
func (m *Metrics) PurgeQueue(jobs int64) {
	if m != nil {
		m.purgeQueue.Set(float64(jobs))
	}
}

// VendCache counts a lookup in the vended-credentials cache.
func (m *Metrics) VendCache(hit bool) {
	if m == nil {
		return
	}
	if hit {
		m.vendCache.WithLabelValues("hit").Inc()
	} else {
		m.vendCache.WithLabelValues("miss").Inc()
	}
}

// Events is the hook of the event broker (events.Options.Metrics).
type Events struct{ m *Metrics }

// Events returns the event broker's hook (nil-safe).
func (m *Metrics) Events() *Events {
	if m == nil {
		return nil
	}
	return &Events{m: m}
}

// SubscriberAdded counts a subscription that began.
func (e *Events) SubscriberAdded() {
	if e != nil {
		e.m.eventSubscribers.Inc()
	}
}

// Why an event subscription ended (SubscriberRemoved).
const (
	EventClosedSlow     = "slow"
	EventClosedPruned   = "pruned"
	EventClosedShutdown = "shutdown"
	EventClosedClient   = "client"
	EventClosedError    = "error"
)

// SubscriberRemoved counts a subscription that ended, and why: one of the
// EventClosed* constants.
func (e *Events) SubscriberRemoved(reason string) {
	if e != nil {
		e.m.eventSubscribers.Dec()
		e.m.eventClosed.WithLabelValues(reason).Inc()
	}
}

// Lag sets how many events are queued for the subscriber furthest behind.
func (e *Events) Lag(n int) {
	if e != nil {
		e.m.eventLag.Set(float64(n))
	}
}

// Planning is the hook of server-side scan planning (planning.Options.Metrics).
type Planning struct{ m *Metrics }

// Planning returns the planner's hook (nil-safe).
func (m *Metrics) Planning() *Planning {
	if m == nil {
		return nil
	}
	return &Planning{m: m}
}

// Started counts a plan that began running on this node; claimed when it
// was taken from the queue rather than from the request that submitted it.
func (p *Planning) Started(claimed bool) {
	if p == nil {
		return
	}
	p.m.plansRunning.Inc()
	if claimed {
		p.m.plansResumed.Inc()
	}
}

// Stopped counts a plan that stopped running on this node without an
// outcome of its own making (the node shut down, or another node took it
// over).
func (p *Planning) Stopped() {
	if p != nil {
		p.m.plansRunning.Dec()
	}
}

// Completed records a plan that completed in d with tasks file scan tasks.
func (p *Planning) Completed(d time.Duration, tasks int64) {
	if p == nil {
		return
	}
	p.m.plansRunning.Dec()
	p.m.plans.WithLabelValues("completed").Inc()
	p.m.planDuration.Observe(d.Seconds())
	p.m.planTaskCount.Observe(float64(tasks))
}

// Failed records a plan that failed.
func (p *Planning) Failed() {
	if p == nil {
		return
	}
	p.m.plansRunning.Dec()
	p.m.plans.WithLabelValues("failed").Inc()
}

// Cancelled counts a plan cancelled by a client.
func (p *Planning) Cancelled() {
	if p != nil {
		p.m.plans.WithLabelValues("cancelled").Inc()
	}
}

// Submitted counts a planTableScan answered "submitted".
func (p *Planning) Submitted() {
	if p != nil {
		p.m.plansAsync.Inc()
	}
}

// BufferPool is the hook of one buffer pool (see package bufpool).
type BufferPool struct {
	gets, misses, discards prometheus.Counter
}

// BufferPool returns the counters of the pool called name (nil-safe).
func (m *Metrics) BufferPool(name string) *BufferPool {
	if m == nil {
		return nil
	}
	return &BufferPool{
		gets:     m.bufGets.WithLabelValues(name),
		misses:   m.bufMisses.WithLabelValues(name),
		discards: m.bufDiscards.WithLabelValues(name),
	}
}

// Get counts a buffer taken from the pool.
func (b *BufferPool) Get() {
	if b != nil {
		b.gets.Inc()
	}
}

// Miss counts a buffer the pool had to allocate.
func (b *BufferPool) Miss() {
	if b != nil {
		b.misses.Inc()
	}
}

// Discard counts a buffer dropped instead of returned.
func (b *BufferPool) Discard() {
	if b != nil {
		b.discards.Inc()
	}
}

// DBPoolStats is a snapshot of a database connection pool.
type DBPoolStats struct {
	Max, Idle, Acquired, Constructing int32
	// Counters since the pool was opened.
	Acquires, EmptyAcquires, CanceledAcquires int64
	AcquireWait                               time.Duration
	NewConns                                  int64
}

// DBPool makes stats the source of the bingsan_db_pool_* series (the last
// call wins; one store per process).
func (m *Metrics) DBPool(stats func() DBPoolStats) {
	if m == nil {
		return
	}
	m.dbMu.Lock()
	m.dbPool = stats
	m.dbMu.Unlock()
}

var (
	dbMaxDesc      = prometheus.NewDesc("bingsan_db_pool_max_connections", "Most connections the pool opens.", nil, nil)
	dbConnsDesc    = prometheus.NewDesc("bingsan_db_pool_connections", "Connections by state (idle, acquired, constructing).", []string{"state"}, nil)
	dbAcquireDesc  = prometheus.NewDesc("bingsan_db_pool_acquires_total", "Connections acquired from the pool.", nil, nil)
	dbEmptyDesc    = prometheus.NewDesc("bingsan_db_pool_empty_acquires_total", "Acquires that had to wait for a connection (none idle).", nil, nil)
	dbCanceledDesc = prometheus.NewDesc("bingsan_db_pool_canceled_acquires_total", "Acquires abandoned because the request ended first.", nil, nil)
	dbWaitDesc     = prometheus.NewDesc("bingsan_db_pool_acquire_wait_seconds_total", "Time spent acquiring connections.", nil, nil)
	dbNewDesc      = prometheus.NewDesc("bingsan_db_pool_new_connections_total", "Connections opened.", nil, nil)
)

// dbPoolCollector reads the pool's statistics at scrape time.
type dbPoolCollector struct{ m *Metrics }

func (c *dbPoolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{dbMaxDesc, dbConnsDesc, dbAcquireDesc, dbEmptyDesc, dbCanceledDesc, dbWaitDesc, dbNewDesc} {
		ch <- d
	}
}

func (c *dbPoolCollector) Collect(ch chan<- prometheus.Metric) {
	c.m.dbMu.Lock()
	stats := c.m.dbPool
	c.m.dbMu.Unlock()
	if stats == nil {
		return
	}
	s := stats()
	ch <- prometheus.MustNewConstMetric(dbMaxDesc, prometheus.GaugeValue, float64(s.Max))
	ch <- prometheus.MustNewConstMetric(dbConnsDesc, prometheus.GaugeValue, float64(s.Idle), "idle")
	ch <- prometheus.MustNewConstMetric(dbConnsDesc, prometheus.GaugeValue, float64(s.Acquired), "acquired")
	ch <- prometheus.MustNewConstMetric(dbConnsDesc, prometheus.GaugeValue, float64(s.Constructing), "constructing")
	ch <- prometheus.MustNewConstMetric(dbAcquireDesc, prometheus.CounterValue, float64(s.Acquires))
	ch <- prometheus.MustNewConstMetric(dbEmptyDesc, prometheus.CounterValue, float64(s.EmptyAcquires))
	ch <- prometheus.MustNewConstMetric(dbCanceledDesc, prometheus.CounterValue, float64(s.CanceledAcquires))
	ch <- prometheus.MustNewConstMetric(dbWaitDesc, prometheus.CounterValue, s.AcquireWait.Seconds())
	ch <- prometheus.MustNewConstMetric(dbNewDesc, prometheus.CounterValue, float64(s.NewConns))
}
