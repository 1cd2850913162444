package server

import (
	"context"

	"github.com/valyala/fasthttp"

	"github.com/bingsan/bingsan/catalog"
	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/gen/iceberg"
	"github.com/bingsan/bingsan/internal/reqctx"
)

// The table changes of a commit request are decoded once per request:
// authorization reads them first (a change that asserts create needs
// create on the namespace, not write on the table), the handler then
// commits them. The decoded changes are kept on the request.

type tableChangesKey struct{}

type decodedChanges struct {
	changes []catalog.TableChange
	err     error
}

// tableChanges returns the decoded table changes of an updateTable or
// commitTransaction request; ctx is the handler's context or the request
// itself.
func (s *Server) tableChanges(ctx context.Context, request any) ([]catalog.TableChange, error) {
	rc, _ := ctx.(*fasthttp.RequestCtx)
	if rc == nil {
		rc, _ = reqctx.Request(ctx)
	}
	if rc != nil {
		if d, ok := rc.UserValue(tableChangesKey{}).(decodedChanges); ok {
			return d.changes, d.err
		}
	}
	changes, err := s.decodeTableChanges(request)
	if rc != nil {
		rc.SetUserValue(tableChangesKey{}, decodedChanges{changes, err})
	}
	return changes, err
}

func (s *Server) decodeTableChanges(request any) ([]catalog.TableChange, error) {
	wh := func(prefix string) string {
		if prefix == "" {
			return s.opts.DefaultWarehouse
		}
		return prefix
	}
	switch r := request.(type) {
	case iceberg.UpdateTableRequestObject:
		if r.Body == nil {
			return nil, errs.New(errs.BadRequest, "Malformed request body: missing")
		}
		c, err := catalog.ParseTableChange(pathIdent(wh(r.Prefix), r.NamespaceParam, r.Table), r.Body.Requirements, r.Body.Updates)
		if err != nil {
			return nil, err
		}
		return []catalog.TableChange{c}, nil
	case iceberg.CommitTransactionRequestObject:
		if r.Body == nil || len(r.Body.TableChanges) == 0 {
			return nil, errs.New(errs.BadRequest, "Invalid transaction: table-changes is empty")
		}
		changes := make([]catalog.TableChange, len(r.Body.TableChanges))
		for i, c := range r.Body.TableChanges {
			if c.Identifier == nil {
				return nil, errs.New(errs.BadRequest, "Invalid transaction: table change %d has no identifier", i)
			}
			var err error
			if changes[i], err = catalog.ParseTableChange(bodyIdent(wh(r.Prefix), *c.Identifier), c.Requirements, c.Updates); err != nil {
				return nil, err
			}
		}
		return changes, nil
	}
	return nil, errs.New(errs.Internal, "%T carries no table changes", request)
}
