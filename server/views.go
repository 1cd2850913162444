package server

import (
	"context"

	"github.com/bingsan/bingsan/catalog"
	"github.com/bingsan/bingsan/gen/iceberg"
)

func (a *api) ListViews(ctx context.Context, req iceberg.ListViewsRequestObject) (iceberg.ListViewsResponseObject, error) {
	ids, next, err := a.listEntities(ctx, req.Prefix, req.NamespaceParam, req.Params.PageTokenParam, req.Params.PageSize, a.cat.ListViews)
	if err != nil {
		return nil, err
	}
	out := toTableIdentifiers(ids)
	return iceberg.ListViews200JSONResponse{ListTablesResponseJSONResponse: iceberg.ListTablesResponseJSONResponse{
		Identifiers: &out, NextPageToken: next,
	}}, nil
}

func (a *api) CreateView(ctx context.Context, req iceberg.CreateViewRequestObject) (iceberg.CreateViewResponseObject, error) {
	wh, err := a.warehouse(req.Prefix)
	if err != nil {
		return nil, err
	}
	in := catalog.CreateViewInput{
		Ident:      pathIdent(wh, req.NamespaceParam, req.Body.Name),
		Properties: req.Body.Properties,
	}
	if req.Body.Location != nil {
		in.Location = *req.Body.Location
	}
	if in.Schema, err = catalog.ParseSchema(req.Body.Schema); err != nil {
		return nil, err
	}
	if in.ViewVersion, err = catalog.ParseViewVersion(req.Body.ViewVersion); err != nil {
		return nil, err
	}
	res, err := a.cat.CreateView(ctx, in)
	if err != nil {
		return nil, err
	}
	return iceberg.CreateView200JSONResponse{LoadViewResponseJSONResponse: loadViewResult(res)}, nil
}

func (a *api) RegisterView(ctx context.Context, req iceberg.RegisterViewRequestObject) (iceberg.RegisterViewResponseObject, error) {
	wh, err := a.warehouse(req.Prefix)
	if err != nil {
		return nil, err
	}
	res, err := a.cat.RegisterView(ctx, pathIdent(wh, req.NamespaceParam, req.Body.Name), req.Body.MetadataLocation)
	if err != nil {
		return nil, err
	}
	return iceberg.RegisterView200JSONResponse{LoadViewResponseJSONResponse: loadViewResult(res)}, nil
}

// LoadView ignores referenced-by: access to a view does not depend on the
// views that reference it here.
func (a *api) LoadView(ctx context.Context, req iceberg.LoadViewRequestObject) (iceberg.LoadViewResponseObject, error) {
	wh, err := a.warehouse(req.Prefix)
	if err != nil {
		return nil, err
	}
	res, err := a.cat.LoadView(ctx, pathIdent(wh, req.NamespaceParam, req.View))
	if err != nil {
		return nil, err
	}
	return iceberg.LoadView200JSONResponse{LoadViewResponseJSONResponse: loadViewResult(res)}, nil
}

func (a *api) ViewExists(ctx context.Context, req iceberg.ViewExistsRequestObject) (iceberg.ViewExistsResponseObject, error) {
	wh, err := a.warehouse(req.Prefix)
	if err != nil {
		return nil, err
	}
	if err := a.cat.ViewExists(ctx, pathIdent(wh, req.NamespaceParam, req.View)); err != nil {
		return nil, err
	}
	return iceberg.ViewExists204Response{}, nil
}

// ReplaceView commits a view's requirements and updates. The body's
// identifier, if any, is not consulted: the path names the view.
func (a *api) ReplaceView(ctx context.Context, req iceberg.ReplaceViewRequestObject) (iceberg.ReplaceViewResponseObject, error) {
	wh, err := a.warehouse(req.Prefix)
	if err != nil {
		return nil, err
	}
	change, err := catalog.ParseViewChange(pathIdent(wh, req.NamespaceParam, req.View), deref(req.Body.Requirements), req.Body.Updates)
	if err != nil {
		return nil, err
	}
	res, err := a.cat.CommitView(ctx, change)
	if err != nil {
		return nil, err
	}
	return iceberg.ReplaceView200JSONResponse{LoadViewResponseJSONResponse: loadViewResult(res)}, nil
}

func (a *api) DropView(ctx context.Context, req iceberg.DropViewRequestObject) (iceberg.DropViewResponseObject, error) {
	wh, err := a.warehouse(req.Prefix)
	if err != nil {
		return nil, err
	}
	if err := a.cat.DropView(ctx, pathIdent(wh, req.NamespaceParam, req.View)); err != nil {
		return nil, err
	}
	return iceberg.DropView204Response{}, nil
}

func (a *api) RenameView(ctx context.Context, req iceberg.RenameViewRequestObject) (iceberg.RenameViewResponseObject, error) {
	wh, err := a.warehouse(req.Prefix)
	if err != nil {
		return nil, err
	}
	if err := a.cat.RenameView(ctx, bodyIdent(wh, req.Body.Source), bodyIdent(wh, req.Body.Destination)); err != nil {
		return nil, err
	}
	return iceberg.RenameView204Response{}, nil
}

func loadViewResult(res catalog.ViewResult) iceberg.LoadViewResponseJSONResponse {
	return iceberg.LoadViewResponseJSONResponse{MetadataLocation: res.MetadataLocation, Metadata: res.Metadata}
}
