package server

import (
	"context"
	"maps"

	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/gen/iceberg"
)

// GetConfig returns the configured defaults and overrides. With ?warehouse=
// (a warehouse name or its location) the override "prefix" points the client
// at that warehouse's routes.
func (a *api) GetConfig(_ context.Context, req iceberg.GetConfigRequestObject) (iceberg.GetConfigResponseObject, error) {
	o := a.srv.opts
	overrides := maps.Clone(o.Overrides)
	if overrides == nil {
		overrides = map[string]string{}
	}
	warehouse := o.DefaultWarehouse
	if req.Params.Warehouse != nil && *req.Params.Warehouse != "" {
		name, ok := a.srv.findWarehouse(*req.Params.Warehouse)
		if !ok {
			return nil, errs.New(errs.NoSuchWarehouse, "Warehouse does not exist: %s", *req.Params.Warehouse)
		}
		if err := a.srv.serving(name); err != nil {
			return nil, err
		}
		overrides["prefix"] = name
		warehouse = name
	}
	defaults := maps.Clone(o.Defaults)
	if defaults == nil {
		defaults = map[string]string{}
	}
	endpoints := a.srv.endpointsFor(warehouse)
	lifetime, err := openapi_types.FromTimeDuration(o.IdempotencyLifetime)
	if err != nil {
		return nil, err
	}
	return iceberg.GetConfig200JSONResponse{
		Defaults:               defaults,
		Overrides:              overrides,
		Endpoints:              &endpoints,
		IdempotencyKeyLifetime: &lifetime,
	}, nil
}

func warehouseByNameOrLocation(warehouses map[string]string, v string) (string, bool) {
	if _, ok := warehouses[v]; ok {
		return v, true
	}
	for name, loc := range warehouses {
		if loc == v || loc+"/" == v {
			return name, true
		}
	}
	return "", false
}

// advertised is one endpoint of GET /v1/config and its operation.
type advertised struct {
	endpoint, operation string
}

// endpointsFor lists the implemented operations that can succeed in
// warehouse (see operation.servedIn).
func (s *Server) endpointsFor(warehouse string) []string {
	out := make([]string, 0, len(s.endpoints))
	for _, e := range s.endpoints {
		if served := operations[e.operation].servedIn; served != nil && !served(s, warehouse) {
			continue
		}
		out = append(out, e.endpoint)
	}
	return out
}
