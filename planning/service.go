// Package planning is Bingsan's server-side scan planner: the domain of the
// planTableScan, fetchPlanningResult, cancelPlanning and fetchScanTasks
// operations.
//
// Planning itself is iceberg-go's (table.Scan and IncrementalAppendScan:
// manifest pruning, partition and metrics evaluation, residuals, delete-file
// matching), run one window of data manifests at a time so that a large
// table is never held in memory at once (manifests.go). The result is
// stored in the database in chunks of file scan tasks, each chunk a plan
// task a client fetches; plans are rows of store.PlanStore, so any node
// answers for any plan. A node plans what it is asked to when it has room,
// and otherwise leaves the plan queued; every node claims queued plans, and
// plans whose planner stopped renewing its lease (a node that died), so no
// plan stays submitted forever. Plans expire after Options.Lifetime.
package planning

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	icebergio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/metrics"
	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/vend"
)

// Tables is what the planner reads of tables (catalog.Service is one).
type Tables interface {
	// CurrentTable returns a table's current metadata and its location.
	CurrentTable(ctx context.Context, id store.Ident) (string, table.Metadata, error)
	// TableAt returns the table metadata in the metadata file at location.
	TableAt(ctx context.Context, id store.Ident, location string) (table.Metadata, error)
	// ReaderCredentials returns read-only credentials for the table's
	// files, for a client that accepts d.
	ReaderCredentials(ctx context.Context, id store.Ident, d vend.Delegation) ([]vend.Credential, error)
	// TableFS is the FileIO for manifest lists and manifests at location.
	TableFS(ctx context.Context, location string) (icebergio.IO, error)
}

// Options configure a Service; zero values take the defaults.
type Options struct {
	Store  store.PlanStore
	Tables Tables
	// Node names this process in leases; it must differ between nodes.
	Node string
	// Workers is how many plans this node runs at once (default 2).
	// Negative: none; the node stores plans for the others to run.
	Workers int
	// AsyncManifests: a plan that reads more data manifests is answered
	// "submitted" at once and planned in the background (default 128;
	// negative: every plan).
	AsyncManifests int
	// SyncTimeout is how long planTableScan waits for a smaller plan before
	// answering "submitted" (default 5s).
	SyncTimeout time.Duration
	// TasksPerChunk is the most file scan tasks in one response (the
	// inline part of a completed plan, or one plan task) (default 1000).
	TasksPerChunk int
	// WindowFiles bounds the data files one scan window reads (by the
	// counts in the manifest list; a manifest is never split), which bounds
	// the tasks a plan holds in memory (default 10000).
	WindowFiles int
	// ManifestConcurrency is how many manifests one plan reads at once
	// (default 4).
	ManifestConcurrency int
	// Lifetime is how long a plan and its result are kept (default 1h).
	Lifetime time.Duration
	// Lease is how long a planner's claim on a plan lasts without renewal
	// (it renews every third of it); a plan whose planner died is taken
	// over after it (default 30s).
	Lease time.Duration
	// MaxAttempts is how often a plan is started before it is failed
	// (default 3).
	MaxAttempts int
	// PollInterval is how often a node looks for queued or abandoned plans
	// (default 1s).
	PollInterval time.Duration

	Metrics *metrics.Planning
	Logger  *slog.Logger
	Now     func() time.Time
}

func (o Options) withDefaults() Options {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.Workers, 2)
	def(&o.AsyncManifests, 128)
	def(&o.TasksPerChunk, 1000)
	def(&o.WindowFiles, 10000)
	def(&o.ManifestConcurrency, 4)
	def(&o.MaxAttempts, 3)
	defDur(&o.SyncTimeout, 5*time.Second)
	defDur(&o.Lifetime, time.Hour)
	defDur(&o.Lease, 30*time.Second)
	defDur(&o.PollInterval, time.Second)
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// maxChunkBytes bounds one chunk's JSON, whatever TasksPerChunk says (data
// files with many columns' statistics are large).
const maxChunkBytes = 8 << 20

// Service runs scan plans. Its methods serve the four operations; Run does
// the background work.
type Service struct {
	opts  Options
	slots chan struct{} // a value per plan running here
	wake  chan struct{}

	// base is the context of every planning run; cancelled when Run ends.
	base context.Context
	stop context.CancelFunc
	runs sync.WaitGroup

	mu      sync.Mutex
	running map[string]context.CancelCauseFunc
}

// New returns a Service; call Run to work on queued plans.
func New(opts Options) *Service {
	opts = opts.withDefaults()
	s := &Service{opts: opts, wake: make(chan struct{}, 1), running: map[string]context.CancelCauseFunc{}}
	if opts.Workers > 0 {
		s.slots = make(chan struct{}, opts.Workers)
	}
	s.base, s.stop = context.WithCancel(context.Background())
	return s
}

// Status is a plan's status as the spec names it.
type Status = store.PlanStatus

// Result is the answer about a plan: its status and, when completed, the
// first chunk of its result inline and the others as plan-task handles.
type Result struct {
	PlanID string
	Status Status
	// Err is a failed plan's error.
	Err error
	// Tasks is the inline chunk ({"file-scan-tasks":…,"delete-files":…});
	// nil when the plan has no tasks.
	Tasks json.RawMessage
	// PlanTasks are handles for fetchScanTasks.
	PlanTasks []string
	// Credentials are read-only credentials for the files, when the client
	// asked for vended credentials.
	Credentials []vend.Credential
}

// Caller is who asks, and what access to the files they accept.
type Caller struct {
	Principal  string // "" without authentication
	Delegation vend.Delegation
}

// Plan submits a scan of table id. A small plan is answered completed; a
// large or slow one submitted, to be fetched with Result.
func (s *Service) Plan(ctx context.Context, id store.Ident, req Request, c Caller) (Result, error) {
	metaLoc, meta, err := s.opts.Tables.CurrentTable(ctx, id)
	if err != nil {
		return Result{}, err
	}
	spec, err := prepare(tableIdent(id), meta, metaLoc, req)
	if err != nil {
		return Result{}, err
	}
	fio, err := s.opts.Tables.TableFS(ctx, meta.Location())
	if err != nil {
		return Result{}, err
	}
	ms, err := readManifests(spec, fio)
	if err != nil {
		return Result{}, err
	}
	doc, err := json.Marshal(req)
	if err != nil {
		return Result{}, errs.Wrap(errs.Internal, err, "Cannot encode the planning request")
	}
	// A plan the client waits for waits for a planner here too, within the
	// same time; a large one goes to the queue unless a planner is free.
	async := len(ms.data) > s.opts.AsyncManifests
	deadline := time.Now().Add(s.opts.SyncTimeout)
	slot := s.tryAcquire()
	if !slot && !async {
		slot = s.acquire(ctx, deadline)
	}
	now := s.opts.Now()
	p := store.Plan{
		ID: newPlanID(), Table: id, Principal: c.Principal, Status: store.PlanSubmitted, Request: doc,
		MetadataLocation: metaLoc, CreatedAt: now, ExpiresAt: now.Add(s.opts.Lifetime),
	}
	if slot {
		p.Owner, p.LeaseUntil, p.Attempts = s.opts.Node, now.Add(s.opts.Lease), 1
	}
	if err := s.opts.Store.CreatePlan(ctx, p); err != nil {
		if slot {
			s.release()
		}
		return Result{}, err
	}
	if !slot {
		s.opts.Metrics.Submitted()
		s.wakeUp()
		return Result{PlanID: p.ID, Status: store.PlanSubmitted}, nil
	}
	done := make(chan error, 1)
	s.start(p, spec, fio, ms, false, done)
	if async {
		s.opts.Metrics.Submitted()
		return Result{PlanID: p.ID, Status: store.PlanSubmitted}, nil
	}
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case err := <-done:
		switch {
		case err == nil:
			return s.Result(ctx, id, p.ID, c)
		case errors.Is(err, errLost):
			// This node stops (the plan goes back to the queue): the
			// client polls, and another node finishes it.
		default:
			// A plan that fails while the client waits is answered with
			// the error itself (retryable ones are 5xx), and not kept.
			_ = s.opts.Store.DeletePlan(context.WithoutCancel(ctx), p.ID)
			return Result{}, err
		}
	case <-timer.C:
	case <-ctx.Done():
	}
	s.opts.Metrics.Submitted()
	return Result{PlanID: p.ID, Status: store.PlanSubmitted}, nil
}

// Result returns the state of plan planID of table id.
func (s *Service) Result(ctx context.Context, id store.Ident, planID string, c Caller) (Result, error) {
	p, err := s.lookup(ctx, id, planID, c.Principal, noSuchPlan)
	if err != nil {
		return Result{}, err
	}
	out := Result{PlanID: p.ID, Status: p.Status}
	switch p.Status {
	case store.PlanFailed:
		out.Err = errs.New(errs.ParseKind(p.ErrorKind), "%s", p.ErrorMessage)
	case store.PlanCompleted:
		if p.Chunks > 0 {
			if out.Tasks, err = s.opts.Store.GetPlanChunk(ctx, p.ID, 0); err != nil {
				return Result{}, err
			}
		}
		for seq := 1; seq < p.Chunks; seq++ {
			out.PlanTasks = append(out.PlanTasks, planTask(p.ID, seq))
		}
		if c.Delegation.VendedCredentials && p.Tasks > 0 {
			if out.Credentials, err = s.opts.Tables.ReaderCredentials(ctx, id, c.Delegation); err != nil {
				return Result{}, err
			}
		}
	}
	return out, nil
}

// Tasks returns the chunk of file scan tasks a plan-task handle names.
func (s *Service) Tasks(ctx context.Context, id store.Ident, handle string, c Caller) (json.RawMessage, error) {
	planID, seq, ok := parsePlanTask(handle)
	if !ok {
		return nil, noSuchPlanTask(handle)
	}
	p, err := s.lookup(ctx, id, planID, c.Principal, func(string) error { return noSuchPlanTask(handle) })
	if err != nil {
		return nil, err
	}
	if p.Status != store.PlanCompleted || seq >= p.Chunks {
		return nil, noSuchPlanTask(handle)
	}
	b, err := s.opts.Store.GetPlanChunk(ctx, p.ID, seq)
	if errs.Is(err, errs.NoSuchPlanTask) {
		return nil, noSuchPlanTask(handle) // cancelled meanwhile
	}
	return b, err
}

// Cancel stops a plan and frees its result; the plan then reads
// "cancelled" until it expires. Cancelling a plan that already failed or
// was cancelled does nothing.
func (s *Service) Cancel(ctx context.Context, id store.Ident, planID string, c Caller) error {
	p, err := s.lookup(ctx, id, planID, c.Principal, noSuchPlan)
	if err != nil {
		return err
	}
	cancelled, err := s.opts.Store.CancelPlan(ctx, p.ID)
	if err != nil {
		return err
	}
	s.mu.Lock()
	if stop, ok := s.running[p.ID]; ok {
		stop(errLost)
	}
	s.mu.Unlock()
	if cancelled {
		s.opts.Metrics.Cancelled()
	}
	return nil
}

// lookup finds plan planID of table id for principal. A plan that does not
// exist, has expired, or belongs to another table or principal is
// missing(planID) — or NoSuchTable when the table does not exist.
func (s *Service) lookup(ctx context.Context, id store.Ident, planID, principal string, missing func(string) error) (store.Plan, error) {
	var p store.Plan
	err := missing(planID)
	if validPlanID(planID) {
		found, gerr := s.opts.Store.GetPlan(ctx, planID)
		switch {
		case gerr == nil && sameTable(found.Table, id) && found.Principal == principal && s.opts.Now().Before(found.ExpiresAt):
			return found, nil
		case gerr != nil && !errs.Is(gerr, errs.NoSuchPlanID):
			return p, gerr
		}
	}
	// The spec tells a missing table from a missing plan.
	if _, _, terr := s.opts.Tables.CurrentTable(ctx, id); terr != nil && errs.KindOf(terr) != errs.NotFound {
		return p, terr
	}
	return p, err
}

func sameTable(a, b store.Ident) bool {
	return a.Warehouse == b.Warehouse && a.Name == b.Name && slices.Equal(a.Namespace, b.Namespace)
}

// Run claims queued and abandoned plans and prunes expired ones until ctx
// ends; then it stops the plans running here and gives up their leases, so
// that other nodes resume them at once.
func (s *Service) Run(ctx context.Context) {
	poll := time.NewTicker(s.opts.PollInterval)
	defer poll.Stop()
	lastPrune := time.Time{}
	for {
		if now := s.opts.Now(); now.Sub(lastPrune) >= min(time.Minute, s.opts.Lifetime) {
			if _, err := s.opts.Store.DeleteExpiredPlans(ctx, now); err != nil && ctx.Err() == nil {
				s.opts.Logger.Warn("planning: pruning expired plans", "error", err)
			}
			lastPrune = now
		}
		s.claim(ctx)
		select {
		case <-ctx.Done():
			s.shutdown()
			return
		case <-poll.C:
		case <-s.wake:
		}
	}
}

// shutdown stops local runs and releases their leases.
func (s *Service) shutdown() {
	s.stop()
	s.runs.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := s.opts.Store.ReleasePlans(ctx, s.opts.Node); err != nil {
		s.opts.Logger.Warn("planning: releasing plans at shutdown", "error", err)
	}
}

// claim takes as many queued or abandoned plans as this node has room for.
func (s *Service) claim(ctx context.Context) {
	free := 0
	for s.tryAcquire() {
		free++
	}
	if free == 0 {
		return
	}
	now := s.opts.Now()
	plans, err := s.opts.Store.ClaimPlans(ctx, s.opts.Node, free, now, now.Add(s.opts.Lease))
	if err != nil && ctx.Err() == nil {
		s.opts.Logger.Warn("planning: claiming plans", "error", err)
	}
	for range free - len(plans) {
		<-s.slots // unused: no need to wake anyone
	}
	for _, p := range plans {
		s.resume(ctx, p)
	}
}

// resume starts a claimed plan from the beginning, on the table version it
// was submitted for.
func (s *Service) resume(ctx context.Context, p store.Plan) {
	fail := func(err error) {
		s.opts.Metrics.Started(true)
		s.finish(p, store.PlanOutcome{Status: store.PlanFailed, ErrorKind: errs.KindOf(err).String(), ErrorMessage: clientMessage(err)})
		s.opts.Metrics.Failed()
		s.release()
	}
	if p.Attempts > s.opts.MaxAttempts {
		fail(errs.New(errs.Internal, "Scan planning was interrupted %d times; giving up", p.Attempts-1))
		return
	}
	var req Request
	if err := json.Unmarshal(p.Request, &req); err != nil {
		fail(errs.Wrap(errs.Internal, err, "Stored planning request is invalid"))
		return
	}
	meta, err := s.opts.Tables.TableAt(ctx, p.Table, p.MetadataLocation)
	if err != nil {
		fail(err)
		return
	}
	spec, err := prepare(tableIdent(p.Table), meta, p.MetadataLocation, req)
	if err != nil {
		fail(err)
		return
	}
	fio, err := s.opts.Tables.TableFS(ctx, meta.Location())
	if err != nil {
		fail(err)
		return
	}
	s.start(p, spec, fio, nil, true, nil)
}

// start runs plan p in the background; it holds a slot, which it releases
// when done. done, when not nil, receives the outcome (nil: completed).
func (s *Service) start(p store.Plan, spec *scanSpec, fio icebergio.IO, ms *manifests, claimed bool, done chan<- error) {
	ctx, cancel := context.WithCancelCause(s.base)
	s.mu.Lock()
	s.running[p.ID] = cancel
	s.mu.Unlock()
	s.runs.Add(1)
	s.opts.Metrics.Started(claimed)
	go func() {
		defer s.runs.Done()
		defer s.release()
		defer func() {
			s.mu.Lock()
			delete(s.running, p.ID)
			s.mu.Unlock()
			cancel(nil)
		}()
		err := s.run(ctx, p, spec, fio, ms, cancel)
		if done != nil {
			done <- err
		}
	}()
}

// errLost means the plan stopped being this node's: it was cancelled, or
// taken over after a lapsed lease.
var errLost = errors.New("plan no longer owned by this node")

// run plans p and stores its result, renewing the lease as it goes.
func (s *Service) run(ctx context.Context, p store.Plan, spec *scanSpec, fio icebergio.IO, ms *manifests, cancel context.CancelCauseFunc) error {
	go s.renew(ctx, p.ID, cancel)

	err := s.plan(ctx, p, spec, fio, ms)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errLost), errors.Is(context.Cause(ctx), errLost), s.base.Err() != nil:
		// Cancelled by a client, taken over, or the node stops: the outcome
		// is not this run's to record.
		s.opts.Metrics.Stopped()
		return errLost
	}
	s.finish(p, store.PlanOutcome{Status: store.PlanFailed, ErrorKind: errs.KindOf(err).String(), ErrorMessage: clientMessage(err)})
	s.opts.Metrics.Failed()
	if errs.KindOf(err) == errs.Internal {
		s.opts.Logger.Error("planning failed", "plan", p.ID, "table", p.Table.String(), "error", err)
	}
	return err
}

// plan runs the scans and stores the chunks, then the outcome.
func (s *Service) plan(ctx context.Context, p store.Plan, spec *scanSpec, fio icebergio.IO, ms *manifests) error {
	began := s.opts.Now()
	var err error
	if ms == nil {
		if ms, err = readManifests(spec, fio); err != nil {
			return err
		}
	}
	var (
		env   = newEnvelope(spec.meta, spec.stats)
		seq   int
		total int64
	)
	flush := func() error {
		if env.len() == 0 {
			return nil
		}
		ok, err := s.opts.Store.AddPlanChunk(ctx, p.ID, s.opts.Node, seq, env.len(), env.bytes())
		if err != nil {
			return err
		}
		if !ok {
			return errLost
		}
		seq++
		env = newEnvelope(spec.meta, spec.stats)
		return nil
	}
	err = planTasks(ctx, spec, fio, ms, s.opts.WindowFiles, s.opts.ManifestConcurrency, func(t table.FileScanTask) error {
		if err := env.add(t); err != nil {
			return errs.Wrap(errs.Internal, err, "Cannot encode a scan task")
		}
		total++
		if env.len() >= s.opts.TasksPerChunk || env.size() >= maxChunkBytes {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return err
	}
	ok, err := s.opts.Store.FinishPlan(ctx, p.ID, s.opts.Node, store.PlanOutcome{Status: store.PlanCompleted, Tasks: total, Chunks: seq})
	if err != nil {
		return err
	}
	if !ok {
		return errLost
	}
	s.opts.Metrics.Completed(s.opts.Now().Sub(began), total)
	return nil
}

// renew extends the lease on plan id until ctx ends, and ends ctx (cause
// errLost) when the plan is no longer this node's.
func (s *Service) renew(ctx context.Context, id string, cancel context.CancelCauseFunc) {
	t := time.NewTicker(s.opts.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		ok, err := s.opts.Store.RenewPlanLease(ctx, id, s.opts.Node, s.opts.Now().Add(s.opts.Lease))
		switch {
		case err != nil:
			if ctx.Err() == nil {
				s.opts.Logger.Warn("planning: renewing a lease", "plan", id, "error", err)
			}
		case !ok:
			cancel(errLost)
			return
		}
	}
}

// finish records an outcome, whatever the run's context.
func (s *Service) finish(p store.Plan, out store.PlanOutcome) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.opts.Store.FinishPlan(ctx, p.ID, s.opts.Node, out); err != nil {
		s.opts.Logger.Warn("planning: recording a failed plan", "plan", p.ID, "error", err)
	}
}

func (s *Service) tryAcquire() bool {
	select {
	case s.slots <- struct{}{}:
		return true
	default:
		return false
	}
}

// acquire waits for a slot until deadline.
func (s *Service) acquire(ctx context.Context, deadline time.Time) bool {
	if s.slots == nil {
		return false
	}
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case s.slots <- struct{}{}:
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	return false
}

func (s *Service) release() {
	<-s.slots
	s.wakeUp()
}

func (s *Service) wakeUp() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// clientMessage is the message of err meant for the client.
func clientMessage(err error) string {
	var de *errs.Error
	if errors.As(err, &de) {
		return de.Message
	}
	return err.Error()
}

func tableIdent(id store.Ident) table.Identifier {
	return append(slices.Clone(id.Namespace), id.Name)
}

// Plan ids are 128 random bits, base64url: unguessable, and only ever
// honoured for the table and principal they were issued to. A plan task
// handle is its plan's id and the chunk number.
const planIDLen = 22

func newPlanID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func validPlanID(id string) bool {
	if len(id) != planIDLen {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(id)
	return err == nil
}

func planTask(planID string, seq int) string { return planID + "." + strconv.Itoa(seq) }

func parsePlanTask(h string) (string, int, bool) {
	id, n, ok := strings.Cut(h, ".")
	if !ok || !validPlanID(id) {
		return "", 0, false
	}
	seq, err := strconv.Atoi(n)
	if err != nil || seq < 0 || strconv.Itoa(seq) != n {
		return "", 0, false
	}
	return id, seq, true
}

func noSuchPlan(id string) error {
	return errs.New(errs.NoSuchPlanID, "Scan plan does not exist: %s", quoteDoc(json.RawMessage(id)))
}

func noSuchPlanTask(h string) error {
	return errs.New(errs.NoSuchPlanTask, "Plan task does not exist: %s", quoteDoc(json.RawMessage(h)))
}

// The plan statuses, as the spec names them.
const (
	Submitted = store.PlanSubmitted
	Completed = store.PlanCompleted
	Failed    = store.PlanFailed
	Cancelled = store.PlanCancelled
)
