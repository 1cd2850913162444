package server

import (
	"context"

	"github.com/bingsan/bingsan/catalog"
	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/gen/iceberg"
	"github.com/bingsan/bingsan/store"
)

func (a *api) ListTables(ctx context.Context, req iceberg.ListTablesRequestObject) (iceberg.ListTablesResponseObject, error) {
	ids, next, err := a.listEntities(ctx, req.Prefix, req.NamespaceParam, req.Params.PageTokenParam, req.Params.PageSize, a.cat.ListTables)
	if err != nil {
		return nil, err
	}
	out := toTableIdentifiers(ids)
	return iceberg.ListTables200JSONResponse{ListTablesResponseJSONResponse: iceberg.ListTablesResponseJSONResponse{
		Identifiers: &out, NextPageToken: next,
	}}, nil
}

func (a *api) CreateTable(ctx context.Context, req iceberg.CreateTableRequestObject) (iceberg.CreateTableResponseObject, error) {
	wh, err := a.warehouse(req.Prefix)
	if err != nil {
		return nil, err
	}
	id := pathIdent(wh, req.NamespaceParam, req.Body.Name)
	access := accessRequest(a, ctx, id, req.Params.XIcebergAccessDelegation)
	in := catalog.CreateTableInput{
		Ident:       id,
		Properties:  deref(req.Body.Properties),
		StageCreate: req.Body.StageCreate != nil && *req.Body.StageCreate,
		Access:      &access,
	}
	if req.Body.Location != nil {
		in.Location = *req.Body.Location
	}
	// The schema, spec and order arrive raw and are decoded once, with
	// iceberg-go, which keeps every field it knows.
	if in.Schema, err = catalog.ParseSchema(req.Body.Schema); err != nil {
		return nil, err
	}
	if req.Body.PartitionSpec != nil {
		if in.PartitionSpec, err = catalog.ParsePartitionSpec(*req.Body.PartitionSpec); err != nil {
			return nil, err
		}
	}
	if in.WriteOrder, err = catalog.ParseSortOrder(deref(req.Body.WriteOrder)); err != nil {
		return nil, err
	}
	res, err := a.cat.CreateTable(ctx, in)
	if err != nil {
		return nil, err
	}
	return a.loadTableResponse(loadTableResult(id, res), etag(res)), nil
}

func (a *api) RegisterTable(ctx context.Context, req iceberg.RegisterTableRequestObject) (iceberg.RegisterTableResponseObject, error) {
	wh, err := a.warehouse(req.Prefix)
	if err != nil {
		return nil, err
	}
	overwrite := req.Body.Overwrite != nil && *req.Body.Overwrite
	id := pathIdent(wh, req.NamespaceParam, req.Body.Name)
	res, err := a.cat.RegisterTable(ctx, id, req.Body.MetadataLocation, overwrite)
	if err != nil {
		return nil, err
	}
	if res.Access, err = a.cat.TableAccess(ctx, id, res.Metadata, accessRequest(a, ctx, id, req.Params.XIcebergAccessDelegation)); err != nil {
		return nil, err
	}
	return a.loadTableResponse(loadTableResult(id, res), etag(res)), nil
}

func (a *api) LoadTable(ctx context.Context, req iceberg.LoadTableRequestObject) (iceberg.LoadTableResponseObject, error) {
	wh, err := a.warehouse(req.Prefix)
	if err != nil {
		return nil, err
	}
	snapshots := ""
	if req.Params.Snapshots != nil {
		snapshots = string(*req.Params.Snapshots)
		if snapshots != "all" && snapshots != "refs" {
			return nil, errs.New(errs.BadRequest, "Invalid value for parameter snapshots: %q (expected all or refs)", snapshots)
		}
	}
	id := pathIdent(wh, req.NamespaceParam, req.Table)
	res, err := a.cat.LoadTable(ctx, id, snapshots)
	if err != nil {
		return nil, err
	}
	if req.Params.IfNoneMatch != nil && etagMatches(*req.Params.IfNoneMatch, res.ETag) {
		return iceberg.LoadTable304Response{}, nil
	}
	if res.Access, err = a.cat.TableAccess(ctx, id, res.Metadata, accessRequest(a, ctx, id, req.Params.XIcebergAccessDelegation)); err != nil {
		return nil, err
	}
	return a.loadTableResponse(loadTableResult(id, res), etag(res)), nil
}

func (a *api) TableExists(ctx context.Context, req iceberg.TableExistsRequestObject) (iceberg.TableExistsResponseObject, error) {
	wh, err := a.warehouse(req.Prefix)
	if err != nil {
		return nil, err
	}
	if err := a.cat.TableExists(ctx, pathIdent(wh, req.NamespaceParam, req.Table)); err != nil {
		return nil, err
	}
	return iceberg.TableExists204Response{}, nil
}

func (a *api) UpdateTable(ctx context.Context, req iceberg.UpdateTableRequestObject) (iceberg.UpdateTableResponseObject, error) {
	wh, err := a.warehouse(req.Prefix)
	if err != nil {
		return nil, err
	}
	_ = wh // checked: the warehouse exists
	changes, err := a.srv.tableChanges(ctx, req)
	if err != nil {
		return nil, err
	}
	res, err := a.cat.CommitTable(ctx, changes[0])
	if err != nil {
		return nil, err
	}
	return a.commitTableResponse(iceberg.CommitTableResponse{MetadataLocation: res.MetadataLocation, Metadata: res.Metadata}, etag(res)), nil
}

func (a *api) DropTable(ctx context.Context, req iceberg.DropTableRequestObject) (iceberg.DropTableResponseObject, error) {
	wh, err := a.warehouse(req.Prefix)
	if err != nil {
		return nil, err
	}
	purge := req.Params.PurgeRequested != nil && *req.Params.PurgeRequested
	if err := a.cat.DropTable(ctx, pathIdent(wh, req.NamespaceParam, req.Table), purge); err != nil {
		return nil, err
	}
	return iceberg.DropTable204Response{}, nil
}

func (a *api) RenameTable(ctx context.Context, req iceberg.RenameTableRequestObject) (iceberg.RenameTableResponseObject, error) {
	wh, err := a.warehouse(req.Prefix)
	if err != nil {
		return nil, err
	}
	if err := a.cat.RenameTable(ctx, bodyIdent(wh, req.Body.Source), bodyIdent(wh, req.Body.Destination)); err != nil {
		return nil, err
	}
	return iceberg.RenameTable204Response{}, nil
}

// ReportMetrics accepts scan and commit reports. The table must exist; the
// report itself is not kept.
func (a *api) ReportMetrics(ctx context.Context, req iceberg.ReportMetricsRequestObject) (iceberg.ReportMetricsResponseObject, error) {
	wh, err := a.warehouse(req.Prefix)
	if err != nil {
		return nil, err
	}
	if req.Body.ReportType == "" {
		return nil, errs.New(errs.BadRequest, "Invalid metrics report: missing report-type")
	}
	if err := a.cat.TableExists(ctx, pathIdent(wh, req.NamespaceParam, req.Table)); err != nil {
		return nil, err
	}
	return iceberg.ReportMetrics204Response{}, nil
}

func (a *api) CommitTransaction(ctx context.Context, req iceberg.CommitTransactionRequestObject) (iceberg.CommitTransactionResponseObject, error) {
	if _, err := a.warehouse(req.Prefix); err != nil {
		return nil, err
	}
	changes, err := a.srv.tableChanges(ctx, req)
	if err != nil {
		return nil, err
	}
	if err := a.cat.CommitTransaction(ctx, changes); err != nil {
		return nil, err
	}
	return iceberg.CommitTransaction204Response{}, nil
}

// loadTableResult is the LoadTableResult of table id: its metadata and
// the delegated access granted with it (see withAccess).
func loadTableResult(id store.Ident, res catalog.TableResult) iceberg.LoadTableResult {
	out := iceberg.LoadTableResult{Metadata: res.Metadata}
	if res.MetadataLocation != "" {
		out.MetadataLocation = &res.MetadataLocation
	}
	return withAccess(out, id, res.Access)
}

func etag(res catalog.TableResult) *string {
	if res.ETag == "" {
		return nil
	}
	return &res.ETag
}

// etagMatches implements If-None-Match: a list of tags or "*".
func etagMatches(header, tag string) bool {
	if tag == "" {
		return false
	}
	for _, part := range splitComma(header) {
		if part == "*" || part == tag || "W/"+tag == part {
			return true
		}
	}
	return false
}
