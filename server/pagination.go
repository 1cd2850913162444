package server

import (
	"strings"

	"github.com/bingsan/bingsan/catalog"
	"github.com/bingsan/bingsan/gen/iceberg"
)

func pageRequest(token *string, size *int) catalog.Page {
	var p catalog.Page
	if token != nil {
		p.Token = *token
	}
	if size != nil {
		p.Size = *size
	}
	return p
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
