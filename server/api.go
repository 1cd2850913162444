package server

import (
	"github.com/bingsan/bingsan/catalog"
	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/gen/iceberg"
)

// api implements the generated strict server interface; its methods live in
// one file per resource.
type api struct {
	srv *Server
	cat *catalog.Service
}

var _ iceberg.StrictServerInterface = (*api)(nil)

// warehouse resolves the {prefix} path segment to a warehouse name; routes
// without a prefix use the default warehouse.
func (a *api) warehouse(prefix string) (string, error) {
	if prefix == "" {
		return a.srv.opts.DefaultWarehouse, nil
	}
	if _, ok := a.srv.opts.Warehouses[prefix]; ok {
		return prefix, nil
	}
	return "", errs.New(errs.NoSuchWarehouse, "Warehouse does not exist: %s", prefix)
}
