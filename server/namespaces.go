package server

import (
	"context"

	"github.com/bingsan/bingsan/gen/iceberg"
	"github.com/bingsan/bingsan/store"
)

func (a *api) ListNamespaces(ctx context.Context, req iceberg.ListNamespacesRequestObject) (iceberg.ListNamespacesResponseObject, error) {
	wh, err := a.warehouse(req.Prefix)
	if err != nil {
		return nil, err
	}
	var parent []string
	if req.Params.Parent != nil {
		parent = namespaceLevels(*req.Params.Parent)
	}
	page, err := pageRequest(req.Params.PageTokenParam, req.Params.PageSize)
	if err != nil {
		return nil, err
	}
	items, next, err := a.cat.ListNamespaces(ctx, wh, parent, page)
	if err != nil {
		return nil, err
	}
	names := make([]iceberg.Namespace, len(items))
	for i, ns := range items {
		names[i] = ns.Levels
	}
	return iceberg.ListNamespaces200JSONResponse{ListNamespacesResponseJSONResponse: iceberg.ListNamespacesResponseJSONResponse{
		Namespaces: &names, NextPageToken: nextToken(next),
	}}, nil
}

func (a *api) CreateNamespace(ctx context.Context, req iceberg.CreateNamespaceRequestObject) (iceberg.CreateNamespaceResponseObject, error) {
	wh, err := a.warehouse(req.Prefix)
	if err != nil {
		return nil, err
	}
	ns, err := a.cat.CreateNamespace(ctx, wh, store.Namespace{Levels: req.Body.Namespace, Properties: deref(req.Body.Properties)})
	if err != nil {
		return nil, err
	}
	props := nonNilProps(ns.Properties)
	return iceberg.CreateNamespace200JSONResponse{CreateNamespaceResponseJSONResponse: iceberg.CreateNamespaceResponseJSONResponse{
		Namespace: ns.Levels, Properties: &props,
	}}, nil
}

func (a *api) LoadNamespaceMetadata(ctx context.Context, req iceberg.LoadNamespaceMetadataRequestObject) (iceberg.LoadNamespaceMetadataResponseObject, error) {
	wh, err := a.warehouse(req.Prefix)
	if err != nil {
		return nil, err
	}
	ns, err := a.cat.GetNamespace(ctx, wh, namespaceLevels(req.NamespaceParam))
	if err != nil {
		return nil, err
	}
	props := nonNilProps(ns.Properties)
	return iceberg.LoadNamespaceMetadata200JSONResponse{GetNamespaceResponseJSONResponse: iceberg.GetNamespaceResponseJSONResponse{
		Namespace: ns.Levels, Properties: &props,
	}}, nil
}

func (a *api) NamespaceExists(ctx context.Context, req iceberg.NamespaceExistsRequestObject) (iceberg.NamespaceExistsResponseObject, error) {
	wh, err := a.warehouse(req.Prefix)
	if err != nil {
		return nil, err
	}
	if err := a.cat.NamespaceExists(ctx, wh, namespaceLevels(req.NamespaceParam)); err != nil {
		return nil, err
	}
	return iceberg.NamespaceExists204Response{}, nil
}

func (a *api) DropNamespace(ctx context.Context, req iceberg.DropNamespaceRequestObject) (iceberg.DropNamespaceResponseObject, error) {
	wh, err := a.warehouse(req.Prefix)
	if err != nil {
		return nil, err
	}
	if err := a.cat.DropNamespace(ctx, wh, namespaceLevels(req.NamespaceParam)); err != nil {
		return nil, err
	}
	return iceberg.DropNamespace204Response{}, nil
}

func (a *api) UpdateProperties(ctx context.Context, req iceberg.UpdatePropertiesRequestObject) (iceberg.UpdatePropertiesResponseObject, error) {
	wh, err := a.warehouse(req.Prefix)
	if err != nil {
		return nil, err
	}
	change, err := a.cat.UpdateNamespaceProperties(ctx, wh, namespaceLevels(req.NamespaceParam),
		deref(req.Body.Removals), deref(req.Body.Updates))
	if err != nil {
		return nil, err
	}
	resp := iceberg.UpdateNamespacePropertiesResponse{Updated: nonNil(change.Updated), Removed: nonNil(change.Removed)}
	if len(change.Missing) > 0 {
		resp.Missing = &change.Missing
	}
	return iceberg.UpdateProperties200JSONResponse{UpdateNamespacePropertiesResponseJSONResponse: iceberg.UpdateNamespacePropertiesResponseJSONResponse(resp)}, nil
}

func nonNilProps(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
