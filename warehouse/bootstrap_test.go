package warehouse_test

import (
	"context"
	"sync"
	"testing"

	"github.com/bingsan/bingsan/config"
	"github.com/bingsan/bingsan/internal/pgtest"
	"github.com/bingsan/bingsan/store/migrate"
	"github.com/bingsan/bingsan/store/postgres"
	"github.com/bingsan/bingsan/warehouse"
)

// Nodes started together bootstrap the same configuration file into one
// database: every one of them starts, and the file's warehouse is stored
// once.
func TestBootstrapConcurrentNodes(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.NewDatabase(t)
	files := []config.WarehouseConfig{
		{Name: "default", Location: "file://" + t.TempDir(), TableLayout: "name-uuid"},
		{Name: "second", Location: "file://" + t.TempDir(), TableLayout: "name-uuid"},
	}
	const nodes = 6
	regs := make([]*warehouse.Registry, nodes)
	for i := range regs {
		st, err := postgres.Open(ctx, dsn, postgres.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		if i == 0 {
			if err := st.Migrate(ctx, migrate.Up); err != nil {
				t.Fatal(err)
			}
		}
		if regs[i], err = warehouse.New(st, warehouse.Options{Config: files}); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errc := make(chan error, nodes)
	for _, r := range regs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errc <- r.Bootstrap(ctx)
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Errorf("bootstrap: %v", err)
		}
	}
}
