package server

import (
	"context"

	"github.com/bingsan/bingsan/gen/iceberg"
)

// The operations below are marked unimplemented in operations: the server
// answers them 501 before they get here (answerUnimplemented), and GET
// /v1/config does not advertise them.

func (a *api) PlanTableScan(context.Context, iceberg.PlanTableScanRequestObject) (iceberg.PlanTableScanResponseObject, error) {
	return nil, notImplementedError("planTableScan")
}

func (a *api) CancelPlanning(context.Context, iceberg.CancelPlanningRequestObject) (iceberg.CancelPlanningResponseObject, error) {
	return nil, notImplementedError("cancelPlanning")
}

func (a *api) FetchPlanningResult(context.Context, iceberg.FetchPlanningResultRequestObject) (iceberg.FetchPlanningResultResponseObject, error) {
	return nil, notImplementedError("fetchPlanningResult")
}

func (a *api) FetchScanTasks(context.Context, iceberg.FetchScanTasksRequestObject) (iceberg.FetchScanTasksResponseObject, error) {
	return nil, notImplementedError("fetchScanTasks")
}
