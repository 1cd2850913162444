package store

import (
	"context"
	"time"
)

// The rows behind server-side scan planning (package planning): one row per
// plan, and the plan's result split into chunks of file scan tasks (the
// plan tasks clients fetch one by one). Both backends implement PlanStore.

// PlanStatus is where a scan plan is.
type PlanStatus string

const (
	PlanSubmitted PlanStatus = "submitted"
	PlanCompleted PlanStatus = "completed"
	PlanFailed    PlanStatus = "failed"
	PlanCancelled PlanStatus = "cancelled"
)

// Plan is a scan plan. While it is submitted, the node named Owner plans it
// until LeaseUntil (and renews the lease as it goes); a submitted plan with
// no owner, or whose lease ran out, is claimed by any node with room.
type Plan struct {
	ID string
	// Table is the table the plan is bound to; it is only ever read
	// through it.
	Table Ident
	// Principal is the caller that submitted it ("" without
	// authentication); only that caller may read or cancel it.
	Principal string
	Status    PlanStatus
	// Request is the planning request as package planning encodes it,
	// opaque to the store.
	Request []byte
	// MetadataLocation is the table metadata the plan reads: a resumed plan
	// plans the same table version.
	MetadataLocation string
	Owner            string
	LeaseUntil       time.Time // zero: none
	// Attempts counts the times planning started (claims and resumptions).
	Attempts int
	// Tasks and Chunks describe a completed plan's result: file scan tasks
	// in all, and the chunks (0..Chunks-1) they are stored in.
	Tasks  int64
	Chunks int
	// ErrorKind (an errs.Kind name) and ErrorMessage describe a failed plan.
	ErrorKind    string
	ErrorMessage string
	CreatedAt    time.Time
	ExpiresAt    time.Time
}

// PlanOutcome is how a plan ended: Status completed (with Tasks and Chunks)
// or failed (with the error).
type PlanOutcome struct {
	Status       PlanStatus
	Tasks        int64
	Chunks       int
	ErrorKind    string
	ErrorMessage string
}

// PlanStore holds scan plans. Errors are errs kinds: NoSuchPlanID for a plan
// that is not stored, NoSuchPlanTask for a missing chunk, ServiceUnavailable
// and Internal as for Store. Methods taking an owner change the plan only
// while it is submitted and owned by that node, and report false otherwise
// (the plan was cancelled, or another node took it over).
type PlanStore interface {
	// CreatePlan stores a new plan (ID must be new).
	CreatePlan(ctx context.Context, p Plan) error
	// GetPlan returns a plan, whatever its status or expiry.
	GetPlan(ctx context.Context, id string) (Plan, error)
	// DeletePlan removes a plan and its chunks; a missing plan is not an
	// error.
	DeletePlan(ctx context.Context, id string) error
	// AddPlanChunk stores chunk seq of a plan's result.
	AddPlanChunk(ctx context.Context, planID, owner string, seq int, tasks int, payload []byte) (bool, error)
	// GetPlanChunk returns chunk seq of a plan's result.
	GetPlanChunk(ctx context.Context, planID string, seq int) ([]byte, error)
	// RenewPlanLease extends the owner's lease.
	RenewPlanLease(ctx context.Context, planID, owner string, until time.Time) (bool, error)
	// FinishPlan records the outcome and ends the lease.
	FinishPlan(ctx context.Context, planID, owner string, out PlanOutcome) (bool, error)
	// CancelPlan marks a submitted or completed plan cancelled and deletes
	// its chunks; it reports false when the plan had already failed or been
	// cancelled.
	CancelPlan(ctx context.Context, planID string) (bool, error)
	// ReleasePlans gives up the leases owner holds, so that other nodes
	// resume those plans at once (a node shutting down).
	ReleasePlans(ctx context.Context, owner string) (int64, error)
	// ClaimPlans leases up to n submitted, unexpired plans that have no
	// owner or whose lease ran out before now, to owner until leaseUntil,
	// counts an attempt for each and deletes the chunks an earlier attempt
	// left. Oldest plans first.
	ClaimPlans(ctx context.Context, owner string, n int, now, leaseUntil time.Time) ([]Plan, error)
	// DeleteExpiredPlans removes the plans that expired before now.
	DeleteExpiredPlans(ctx context.Context, now time.Time) (int64, error)
}
