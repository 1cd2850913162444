package server

import (
	"strings"

	"github.com/bingsan/bingsan/catalog"
	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/gen/iceberg"
)

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
