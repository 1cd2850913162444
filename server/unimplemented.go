package server

import (
	"context"

	"github.com/bingsan/bingsan/gen/iceberg"
)

// The operations below answer 501 until they are built; each is listed in
// notImplemented so GET /v1/config does not advertise it.

func (a *api) GetToken(context.Context, iceberg.GetTokenRequestObject) (iceberg.GetTokenResponseObject, error) {
	return nil, notImplementedError("getToken")
}

func (a *api) RegisterView(context.Context, iceberg.RegisterViewRequestObject) (iceberg.RegisterViewResponseObject, error) {
	return nil, notImplementedError("registerView")
}

func (a *api) LoadCredentials(context.Context, iceberg.LoadCredentialsRequestObject) (iceberg.LoadCredentialsResponseObject, error) {
	return nil, notImplementedError("loadCredentials")
}

func (a *api) PlanTableScan(context.Context, iceberg.PlanTableScanRequestObject) (iceberg.PlanTableScanResponseObject, error) {
	return nil, notImplementedError("planTableScan")
}

func (a *api) CancelPlanning(context.Context, iceberg.CancelPlanningRequestObject) (iceberg.CancelPlanningResponseObject, error) {
	return nil, notImplementedError("cancelPlanning")
}

func (a *api) FetchPlanningResult(context.Context, iceberg.FetchPlanningResultRequestObject) (iceberg.FetchPlanningResultResponseObject, error) {
	return nil, notImplementedError("fetchPlanningResult")
}

func (a *api) SignRequest(context.Context, iceberg.SignRequestRequestObject) (iceberg.SignRequestResponseObject, error) {
	return nil, notImplementedError("signRequest")
}

func (a *api) FetchScanTasks(context.Context, iceberg.FetchScanTasksRequestObject) (iceberg.FetchScanTasksResponseObject, error) {
	return nil, notImplementedError("fetchScanTasks")
}

func (a *api) ListViews(context.Context, iceberg.ListViewsRequestObject) (iceberg.ListViewsResponseObject, error) {
	return nil, notImplementedError("listViews")
}

func (a *api) CreateView(context.Context, iceberg.CreateViewRequestObject) (iceberg.CreateViewResponseObject, error) {
	return nil, notImplementedError("createView")
}

func (a *api) DropView(context.Context, iceberg.DropViewRequestObject) (iceberg.DropViewResponseObject, error) {
	return nil, notImplementedError("dropView")
}

func (a *api) LoadView(context.Context, iceberg.LoadViewRequestObject) (iceberg.LoadViewResponseObject, error) {
	return nil, notImplementedError("loadView")
}

func (a *api) ViewExists(context.Context, iceberg.ViewExistsRequestObject) (iceberg.ViewExistsResponseObject, error) {
	return nil, notImplementedError("viewExists")
}

func (a *api) ReplaceView(context.Context, iceberg.ReplaceViewRequestObject) (iceberg.ReplaceViewResponseObject, error) {
	return nil, notImplementedError("replaceView")
}

func (a *api) RenameView(context.Context, iceberg.RenameViewRequestObject) (iceberg.RenameViewResponseObject, error) {
	return nil, notImplementedError("renameView")
}
