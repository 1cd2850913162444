package server

import (
	"context"
	"strings"

	"github.com/bingsan/bingsan/catalog"
	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/gen/iceberg"
	"github.com/bingsan/bingsan/store"
)

// entityLister is the catalog's listing of one kind of entity.
type entityLister func(ctx context.Context, warehouse string, namespace []string, pg catalog.Page) ([]store.Ident, string, error)

// listEntities answers a list of tables, views or functions: the page the
// request's parameters ask for, and the token of the next one.
func (a *api) listEntities(ctx context.Context, prefix iceberg.Prefix, namespace string, token *string, size *int, list entityLister) ([]store.Ident, *iceberg.PageToken, error) {
	wh, err := a.warehouse(prefix)
	if err != nil {
		return nil, nil, err
	}
	page, err := pageRequest(token, size)
	if err != nil {
		return nil, nil, err
	}
	ids, next, err := list(ctx, wh, namespaceLevels(namespace), page)
	if err != nil {
		return nil, nil, err
	}
	return ids, nextToken(next), nil
}

// pageRequest validates the paging parameters; the spec requires pageSize
// of at least 1 when it is given.
func pageRequest(token *string, size *int) (catalog.Page, error) {
	var p catalog.Page
	if token != nil {
		p.Token = *token
	}
	if size != nil {
		if *size < 1 {
			return p, errs.New(errs.BadRequest, "Invalid value for parameter pageSize: %d (must be at least 1)", *size)
		}
		p.Size = *size
	}
	return p, nil
}

// nextToken leaves next-page-token out of the response when the listing is
// complete; clients treat a missing token as the end.
func nextToken(next string) *iceberg.PageToken {
	if next == "" {
		return nil
	}
	return &next
}

func splitComma(s string) []string {
	parts := strings.Split(s, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}
