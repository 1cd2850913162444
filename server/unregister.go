package server

import (
	"context"

	"github.com/bingsan/bingsan/gen/iceberg"
)

// UnregisterTable removes a table from the catalog, keeping its files, and
// answers the metadata it had when it left.
func (a *api) UnregisterTable(ctx context.Context, req iceberg.UnregisterTableRequestObject) (iceberg.UnregisterTableResponseObject, error) {
	wh, err := a.warehouse(req.Prefix)
	if err != nil {
		return nil, err
	}
	res, err := a.cat.UnregisterTable(ctx, pathIdent(wh, req.NamespaceParam, req.Table))
	if err != nil {
		return nil, err
	}
	return iceberg.UnregisterTable200JSONResponse{UnregisterTableResponseJSONResponse: iceberg.UnregisterTableResponseJSONResponse{
		MetadataLocation: res.MetadataLocation, Metadata: res.Metadata,
	}}, nil
}
