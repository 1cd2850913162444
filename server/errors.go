package server

import (
	"errors"
	"log/slog"

	"github.com/valyala/fasthttp"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/gen/iceberg"
)

// errorShape is the HTTP status and Iceberg error type of a domain error kind.
type errorShape struct {
	status int
	typ    string
}

// shapes is the one table from domain error kinds to Iceberg error responses.
// The type strings are the exception names Iceberg clients switch on.
var shapes = map[errs.Kind]errorShape{
	errs.Internal:             {fasthttp.StatusInternalServerError, "InternalServerError"},
	errs.BadRequest:           {fasthttp.StatusBadRequest, "BadRequestException"},
	errs.NotAuthorized:        {fasthttp.StatusUnauthorized, "NotAuthorizedException"},
	errs.Forbidden:            {fasthttp.StatusForbidden, "ForbiddenException"},
	errs.NotFound:             {fasthttp.StatusNotFound, "NotFoundException"},
	errs.NoSuchWarehouse:      {fasthttp.StatusNotFound, "NoSuchWarehouseException"},
	errs.NoSuchNamespace:      {fasthttp.StatusNotFound, "NoSuchNamespaceException"},
	errs.NoSuchTable:          {fasthttp.StatusNotFound, "NoSuchTableException"},
	errs.NoSuchView:           {fasthttp.StatusNotFound, "NoSuchViewException"},
	errs.NoSuchFunction:       {fasthttp.StatusNotFound, "NoSuchFunctionException"},
	errs.AlreadyExists:        {fasthttp.StatusConflict, "AlreadyExistsException"},
	errs.NamespaceNotEmpty:    {fasthttp.StatusConflict, "NamespaceNotEmptyException"},
	errs.CommitFailed:         {fasthttp.StatusConflict, "CommitFailedException"},
	errs.CommitStateUnknown:   {fasthttp.StatusInternalServerError, "CommitStateUnknownException"},
	errs.Unprocessable:        {fasthttp.StatusUnprocessableEntity, "UnprocessableEntityException"},
	errs.NotImplemented:       {fasthttp.StatusNotImplemented, "NotImplementedException"},
	errs.ServiceUnavailable:   {fasthttp.StatusServiceUnavailable, "ServiceUnavailableException"},
	errs.InsufficientStorage:  {fasthttp.StatusInsufficientStorage, "InsufficientStorageException"},
	errs.UnsupportedMediaType: {fasthttp.StatusUnsupportedMediaType, "UnsupportedMediaTypeException"},
	errs.PayloadTooLarge:      {fasthttp.StatusRequestEntityTooLarge, "PayloadTooLargeException"},
	errs.MethodNotAllowed:     {fasthttp.StatusMethodNotAllowed, "MethodNotAllowedException"},
	errs.NotAcceptable:        {fasthttp.StatusNotAcceptable, "NotAcceptableException"},
	errs.NoSuchPlanID:         {fasthttp.StatusNotFound, "NoSuchPlanIdException"},
	errs.NoSuchPlanTask:       {fasthttp.StatusNotFound, "NoSuchPlanTaskException"},
	errs.WarehouseNotEmpty:    {fasthttp.StatusConflict, "WarehouseNotEmptyException"},
}

// classify turns any error reaching the HTTP layer into a domain error:
// binding errors from generated code become BadRequest / UnsupportedMediaType.
func classify(err error) *errs.Error {
	var de *errs.Error
	if errors.As(err, &de) {
		return de
	}
	var pe *iceberg.ParamError
	if errors.As(err, &pe) {
		return &errs.Error{Kind: errs.BadRequest, Message: "Invalid value for parameter " + pe.Param + ": " + pe.Err.Error()}
	}
	var be *iceberg.BodyError
	if errors.As(err, &be) {
		return &errs.Error{Kind: errs.BadRequest, Message: "Malformed request body: " + be.Err.Error()}
	}
	var ce *iceberg.ContentTypeError
	if errors.As(err, &ce) {
		return &errs.Error{Kind: errs.UnsupportedMediaType, Message: ce.Error()}
	}
	return &errs.Error{Kind: errs.Internal, Message: "Internal server error", Err: err}
}

// writeError renders err as an Iceberg ErrorModel. Internal errors are logged
// with their cause; the client sees only a generic message.
func writeError(ctx *fasthttp.RequestCtx, log *slog.Logger, err error) {
	de := classify(err)
	shape, ok := shapes[de.Kind]
	if !ok {
		shape = shapes[errs.Internal]
	}
	switch {
	case shape.status == fasthttp.StatusInternalServerError:
		log.Error("request failed", "method", string(ctx.Method()), "path", string(ctx.Path()),
			"status", shape.status, "error", de.Error(), "request_id", requestID(ctx))
	case shape.status == fasthttp.StatusServiceUnavailable, shape.status == fasthttp.StatusInsufficientStorage:
		log.Warn("request failed", "method", string(ctx.Method()), "path", string(ctx.Path()),
			"status", shape.status, "error", de.Error(), "request_id", requestID(ctx))
	}
	ctx.Response.Reset()
	ctx.Response.Header.SetContentType("application/json")
	ctx.SetStatusCode(shape.status)
	body := iceberg.IcebergErrorResponse{Error: errorModel(de)}
	if err := encodeJSON(ctx, body); err != nil {
		log.Error("writing error response", "error", err)
	}
}

// errorModel is the Iceberg ErrorModel of a domain error (also the error of
// a failed scan plan).
func errorModel(err error) iceberg.ErrorModel {
	de := classify(err)
	shape, ok := shapes[de.Kind]
	if !ok {
		shape = shapes[errs.Internal]
	}
	return iceberg.ErrorModel{Code: shape.status, Type: shape.typ, Message: de.Message}
}
