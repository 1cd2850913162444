package server_test

import (
	"context"
	"testing"

	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/catalogtest"
	"github.com/apache/iceberg-go/catalog/rest"

	"github.com/bingsan/bingsan/server/servertest"
)

// TestCatalogConformance runs iceberg-go's own catalog conformance suite
// through its REST client against a running server, on every store.
func TestCatalogConformance(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		srv := servertest.Start(t, b, servertest.Config{})
		catalogtest.RunCatalogTests(t, catalogtest.Config{
			NewCatalog: func(t *testing.T) catalog.Catalog {
				cat, err := rest.NewCatalog(context.Background(), "bingsan", srv.URL)
				if err != nil {
					t.Fatalf("rest client: %v", err)
				}
				return cat
			},
			SupportsNamespaceProperties: true,
		})
	})
}
