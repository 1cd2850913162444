package postgres_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/bingsan/bingsan/internal/pgtest"
	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/store/migrate"
	"github.com/bingsan/bingsan/store/postgres"
)

// The PostgreSQL fast paths: point loads (coalesced under concurrency),
// the one-statement commit of one table, and a create with its location
// claim and event (a pipelined transaction).
func BenchmarkStore(b *testing.B) {
	ctx := context.Background()
	s, err := postgres.Open(ctx, pgtest.NewDatabase(b), postgres.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	if err := s.Migrate(ctx, migrate.Up); err != nil {
		b.Fatal(err)
	}
	if err := s.CreateNamespace(ctx, "wh", store.Namespace{Levels: []string{"ns"}}); err != nil {
		b.Fatal(err)
	}
	ids := make([]store.Ident, 16)
	for i := range ids {
		ids[i] = store.Ident{Warehouse: "wh", Namespace: []string{"ns"}, Name: fmt.Sprintf("t%d", i)}
		if err := s.CreateEntity(ctx, store.Entity{Ident: ids[i], Kind: store.KindTable, MetadataLocation: "m0",
			Metadata: []byte(`{"format-version":2,"location":"s3://b/t"}`)}); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("GetEntityParallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, err := s.GetEntity(ctx, store.KindTable, ids[i%len(ids)]); err != nil {
					b.Error(err)
					return
				}
				i++
			}
		})
	})
	b.Run("CommitOne", func(b *testing.B) {
		e, err := s.GetEntity(ctx, store.KindTable, ids[0])
		if err != nil {
			b.Fatal(err)
		}
		v := e.Version
		for i := 0; i < b.N; i++ {
			if err := s.Commit(ctx, []store.Commit{{Ident: ids[0], Kind: store.KindTable, BaseVersion: v,
				MetadataLocation: fmt.Sprintf("m%d", i+1), Metadata: e.Metadata}}); err != nil {
				b.Fatal(err)
			}
			v++
		}
	})
	created := 0
	b.Run("CreateEntity", func(b *testing.B) {
		for range b.N {
			created++
			i := created
			id := store.Ident{Warehouse: "wh", Namespace: []string{"ns"}, Name: fmt.Sprintf("c%d", i)}
			if err := s.CreateEntity(ctx, store.Entity{Ident: id, Kind: store.KindTable, MetadataLocation: "m0",
				Metadata: []byte(`{"format-version":2}`), Claims: []string{fmt.Sprintf("s3://b/ns/c%d/", i)}}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
