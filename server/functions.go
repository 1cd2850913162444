package server

import (
	"context"
	"slices"

	"github.com/bingsan/bingsan/catalog"
	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/gen/bingsanapi"
	"github.com/bingsan/bingsan/gen/iceberg"
	"github.com/bingsan/bingsan/store"
)

// Functions (SQL UDFs): the Iceberg REST API's listFunctions and
// loadFunction, and the extension API's create, replace, drop, exists,
// rename and register (openapi/bingsan.yaml).

func (a *api) ListFunctions(ctx context.Context, req iceberg.ListFunctionsRequestObject) (iceberg.ListFunctionsResponseObject, error) {
	ids, next, err := a.listEntities(ctx, req.Prefix, req.NamespaceParam, req.Params.PageTokenParam, req.Params.PageSize, a.cat.ListFunctions)
	if err != nil {
		return nil, err
	}
	out := toObjectIdentifiers(ids)
	return iceberg.ListFunctions200JSONResponse{ListFunctionsResponseJSONResponse: iceberg.ListFunctionsResponseJSONResponse{
		Identifiers: &out, NextPageToken: next,
	}}, nil
}

func (a *api) LoadFunction(ctx context.Context, req iceberg.LoadFunctionRequestObject) (iceberg.LoadFunctionResponseObject, error) {
	wh, err := a.warehouse(req.Prefix)
	if err != nil {
		return nil, err
	}
	res, err := a.cat.LoadFunction(ctx, pathIdent(wh, req.NamespaceParam, req.Function))
	if err != nil {
		return nil, err
	}
	return iceberg.LoadFunction200JSONResponse{LoadFunctionResponseJSONResponse: iceberg.LoadFunctionResponseJSONResponse{
		MetadataLocation: &res.MetadataLocation, Metadata: res.Metadata,
	}}, nil
}

// toObjectIdentifiers renders identifiers as the spec's
// CatalogObjectIdentifier: the namespace levels, then the name.
func toObjectIdentifiers(ids []store.Ident) []iceberg.CatalogObjectIdentifier {
	out := make([]iceberg.CatalogObjectIdentifier, len(ids))
	for i, id := range ids {
		out[i] = append(slices.Clone(id.Namespace), id.Name)
	}
	return out
}

func (x *extensionAPI) CreateFunction(ctx context.Context, req bingsanapi.CreateFunctionRequestObject) (bingsanapi.CreateFunctionResponseObject, error) {
	wh, err := x.api.warehouse(req.Prefix)
	if err != nil {
		return nil, err
	}
	if req.Body == nil {
		return nil, errs.New(errs.BadRequest, "Create function request must have a body")
	}
	defs, err := catalog.ParseFunctionDefinitions(req.Body.Definitions)
	if err != nil {
		return nil, err
	}
	in := catalog.CreateFunctionInput{
		Ident:       pathIdent(wh, req.Namespace, req.Body.Name),
		Location:    deref(req.Body.Location),
		Properties:  deref(req.Body.Properties),
		Secure:      deref(req.Body.Secure),
		Doc:         deref(req.Body.Doc),
		Definitions: defs,
	}
	res, err := x.api.cat.CreateFunction(ctx, in)
	if err != nil {
		return nil, err
	}
	return bingsanapi.CreateFunction200JSONResponse{LoadFunctionJSONResponse: loadFunctionResult(res)}, nil
}

func (x *extensionAPI) CommitFunction(ctx context.Context, req bingsanapi.CommitFunctionRequestObject) (bingsanapi.CommitFunctionResponseObject, error) {
	wh, err := x.api.warehouse(req.Prefix)
	if err != nil {
		return nil, err
	}
	if req.Body == nil {
		return nil, errs.New(errs.BadRequest, "Commit function request must have a body")
	}
	change, err := catalog.ParseFunctionChange(pathIdent(wh, req.Namespace, req.Function), deref(req.Body.Requirements), req.Body.Updates)
	if err != nil {
		return nil, err
	}
	res, err := x.api.cat.CommitFunction(ctx, change)
	if err != nil {
		return nil, err
	}
	return bingsanapi.CommitFunction200JSONResponse{LoadFunctionJSONResponse: loadFunctionResult(res)}, nil
}

func (x *extensionAPI) DropFunction(ctx context.Context, req bingsanapi.DropFunctionRequestObject) (bingsanapi.DropFunctionResponseObject, error) {
	wh, err := x.api.warehouse(req.Prefix)
	if err != nil {
		return nil, err
	}
	if err := x.api.cat.DropFunction(ctx, pathIdent(wh, req.Namespace, req.Function), deref(req.Params.PurgeRequested)); err != nil {
		return nil, err
	}
	return bingsanapi.DropFunction204Response{}, nil
}

func (x *extensionAPI) FunctionExists(ctx context.Context, req bingsanapi.FunctionExistsRequestObject) (bingsanapi.FunctionExistsResponseObject, error) {
	wh, err := x.api.warehouse(req.Prefix)
	if err != nil {
		return nil, err
	}
	if err := x.api.cat.FunctionExists(ctx, pathIdent(wh, req.Namespace, req.Function)); err != nil {
		return nil, err
	}
	return bingsanapi.FunctionExists204Response{}, nil
}

func (x *extensionAPI) RenameFunction(ctx context.Context, req bingsanapi.RenameFunctionRequestObject) (bingsanapi.RenameFunctionResponseObject, error) {
	wh, err := x.api.warehouse(req.Prefix)
	if err != nil {
		return nil, err
	}
	if req.Body == nil {
		return nil, errs.New(errs.BadRequest, "Rename function request must have a body")
	}
	from := ident(wh, req.Body.Source.Namespace, req.Body.Source.Name)
	to := ident(wh, req.Body.Destination.Namespace, req.Body.Destination.Name)
	if err := x.api.cat.RenameFunction(ctx, from, to); err != nil {
		return nil, err
	}
	return bingsanapi.RenameFunction204Response{}, nil
}

func (x *extensionAPI) RegisterFunction(ctx context.Context, req bingsanapi.RegisterFunctionRequestObject) (bingsanapi.RegisterFunctionResponseObject, error) {
	wh, err := x.api.warehouse(req.Prefix)
	if err != nil {
		return nil, err
	}
	if req.Body == nil {
		return nil, errs.New(errs.BadRequest, "Register function request must have a body")
	}
	res, err := x.api.cat.RegisterFunction(ctx, pathIdent(wh, req.Namespace, req.Body.Name), req.Body.MetadataLocation)
	if err != nil {
		return nil, err
	}
	return bingsanapi.RegisterFunction200JSONResponse{LoadFunctionJSONResponse: loadFunctionResult(res)}, nil
}

func loadFunctionResult(res catalog.FunctionResult) bingsanapi.LoadFunctionJSONResponse {
	return bingsanapi.LoadFunctionJSONResponse{MetadataLocation: res.MetadataLocation, Metadata: res.Metadata}
}
