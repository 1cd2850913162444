package server

import (
	"bytes"
	"context"
	"encoding/json"

	"github.com/valyala/fasthttp"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/gen/iceberg"
	"github.com/bingsan/bingsan/planning"
	"github.com/bingsan/bingsan/principal"
)

// Server-side scan planning: planTableScan, fetchPlanningResult,
// cancelPlanning and fetchScanTasks (package planning does the work). A
// server without a planner answers them 501 before they get here
// (answerUnimplemented).

func (a *api) PlanTableScan(ctx context.Context, req iceberg.PlanTableScanRequestObject) (iceberg.PlanTableScanResponseObject, error) {
	wh, err := a.warehouse(req.Prefix)
	if err != nil {
		return nil, err
	}
	if req.Body == nil {
		return nil, errs.New(errs.BadRequest, "Malformed request body: a plan request is required")
	}
	b := req.Body
	r := planning.Request{
		SnapshotID: b.SnapshotId, StartSnapshotID: b.StartSnapshotId, EndSnapshotID: b.EndSnapshotId,
		MinRowsRequested: b.MinRowsRequested, CaseSensitive: b.CaseSensitive == nil || *b.CaseSensitive,
		UseSnapshotSchema: b.UseSnapshotSchema != nil && *b.UseSnapshotSchema,
	}
	if b.Select != nil {
		r.Select = *b.Select
	}
	if b.StatsFields != nil {
		r.StatsFields = *b.StatsFields
	}
	if b.Filter != nil {
		if r.Filter, err = b.Filter.MarshalJSON(); err != nil {
			return nil, errs.Wrap(errs.BadRequest, err, "Malformed request body: invalid filter")
		}
	}
	id := pathIdent(wh, req.NamespaceParam, req.Table)
	res, err := a.planner.Plan(ctx, id, r, planCaller(ctx, req.Params.XIcebergAccessDelegation))
	if err != nil {
		return nil, err
	}
	if len(res.Credentials) > 0 {
		noStore(ctx)
	}
	return planJSON(planResultJSON(res, true)), nil
}

func (a *api) FetchPlanningResult(ctx context.Context, req iceberg.FetchPlanningResultRequestObject) (iceberg.FetchPlanningResultResponseObject, error) {
	wh, err := a.warehouse(req.Prefix)
	if err != nil {
		return nil, err
	}
	res, err := a.planner.Result(ctx, pathIdent(wh, req.NamespaceParam, req.Table), req.PlanId, planCaller(ctx, req.Params.XIcebergAccessDelegation))
	if err != nil {
		return nil, err
	}
	if len(res.Credentials) > 0 {
		noStore(ctx)
	}
	return planJSON(planResultJSON(res, false)), nil
}

func (a *api) CancelPlanning(ctx context.Context, req iceberg.CancelPlanningRequestObject) (iceberg.CancelPlanningResponseObject, error) {
	wh, err := a.warehouse(req.Prefix)
	if err != nil {
		return nil, err
	}
	if err := a.planner.Cancel(ctx, pathIdent(wh, req.NamespaceParam, req.Table), req.PlanId, planCaller(ctx, nil)); err != nil {
		return nil, err
	}
	return iceberg.CancelPlanning204Response{}, nil
}

func (a *api) FetchScanTasks(ctx context.Context, req iceberg.FetchScanTasksRequestObject) (iceberg.FetchScanTasksResponseObject, error) {
	wh, err := a.warehouse(req.Prefix)
	if err != nil {
		return nil, err
	}
	if req.Body == nil || req.Body.PlanTask == "" {
		return nil, errs.New(errs.BadRequest, "Malformed request body: plan-task is required")
	}
	tasks, err := a.planner.Tasks(ctx, pathIdent(wh, req.NamespaceParam, req.Table), req.Body.PlanTask, planCaller(ctx, nil))
	if err != nil {
		return nil, err
	}
	return planJSON(tasks), nil
}

func planCaller(ctx context.Context, header *iceberg.DataAccess) planning.Caller {
	return planning.Caller{Principal: principal.From(ctx), Delegation: delegation(header)}
}

// planResultJSON renders a planning result as the spec's
// CompletedPlanningWithIDResult (withID) or CompletedPlanningResult,
// AsyncPlanningResult, FailedPlanningResult or EmptyPlanningResult. The
// tasks, stored as JSON, are spliced in as they are.
func planResultJSON(res planning.Result, withID bool) []byte {
	var b bytes.Buffer
	b.WriteString(`{"status":`)
	writeJSONValue(&b, res.Status)
	if res.PlanID != "" && (res.Status == planning.Submitted || (withID && res.Status == planning.Completed)) {
		b.WriteString(`,"plan-id":`)
		writeJSONValue(&b, res.PlanID)
	}
	switch res.Status {
	case planning.Failed:
		b.WriteString(`,"error":`)
		writeJSONValue(&b, errorModel(res.Err))
	case planning.Completed:
		if inner := bytes.TrimSpace(res.Tasks); len(inner) > 2 {
			// {"file-scan-tasks":[…],…} without its braces.
			b.WriteByte(',')
			b.Write(inner[1 : len(inner)-1])
		} else {
			b.WriteString(`,"file-scan-tasks":[]`)
		}
		if len(res.PlanTasks) > 0 {
			b.WriteString(`,"plan-tasks":`)
			writeJSONValue(&b, res.PlanTasks)
		}
		if len(res.Credentials) > 0 {
			b.WriteString(`,"storage-credentials":`)
			writeJSONValue(&b, storageCredentials(res.Credentials))
		}
	}
	b.WriteByte('}')
	return b.Bytes()
}

func writeJSONValue(b *bytes.Buffer, v any) {
	// Every value here (strings, string slices, ErrorModel, credentials)
	// encodes.
	enc, _ := json.Marshal(v)
	b.Write(enc)
}

// planJSON is a 200 response whose JSON body is already encoded. It answers
// all three planning operations that return a body.
type planJSON []byte

func (p planJSON) write(ctx *fasthttp.RequestCtx) error {
	ctx.Response.Header.SetContentType("application/json")
	ctx.SetStatusCode(fasthttp.StatusOK)
	_, err := ctx.Write(p)
	return err
}

func (p planJSON) VisitPlanTableScanResponse(ctx *fasthttp.RequestCtx) error { return p.write(ctx) }
func (p planJSON) VisitFetchPlanningResultResponse(ctx *fasthttp.RequestCtx) error {
	return p.write(ctx)
}
func (p planJSON) VisitFetchScanTasksResponse(ctx *fasthttp.RequestCtx) error { return p.write(ctx) }
