package server

import (
	"github.com/bingsan/bingsan/catalog"
	"github.com/bingsan/bingsan/gen/iceberg"
	"github.com/bingsan/bingsan/planning"
)

// api implements the generated strict server interface; its methods live in
// one file per resource.
type api struct {
	srv *Server
	cat *catalog.Service
	// planner serves scan planning; nil: those operations answer 501.
	planner *planning.Service
}

var _ iceberg.StrictServerInterface = (*api)(nil)

// warehouse resolves the {prefix} path segment to a warehouse name; routes
// without a prefix use the default warehouse.
func (a *api) warehouse(prefix string) (string, error) {
	if prefix == "" {
		return a.srv.opts.DefaultWarehouse, nil
	}
	if err := a.srv.serving(prefix); err != nil {
		return "", err
	}
	return prefix, nil
}
