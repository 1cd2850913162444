package server

import (
	"context"

	"github.com/bingsan/bingsan/gen/iceberg"
)

// The function operations are not served yet (marked unimplemented in the
// operations table: 501 before these run, and not advertised).

func (a *api) ListFunctions(context.Context, iceberg.ListFunctionsRequestObject) (iceberg.ListFunctionsResponseObject, error) {
	return nil, notImplementedError("listFunctions")
}

func (a *api) LoadFunction(context.Context, iceberg.LoadFunctionRequestObject) (iceberg.LoadFunctionResponseObject, error) {
	return nil, notImplementedError("loadFunction")
}
