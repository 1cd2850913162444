package catalog

// Benchmarks of the commit path's CPU work, on tables of realistic shape:
//
//	go test ./catalog -run '^$' -bench . -benchmem
//
// An append commit (assert-ref-snapshot-id, add-snapshot, set-snapshot-ref)
// is parsed, checked and applied on a table's current metadata and the new
// metadata serialized; the store and the file write are left out, except
// in BenchmarkCommitTable, which runs whole commits on SQLite and a local
// warehouse.

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
	"github.com/google/uuid"

	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/store/migrate"
	"github.com/bingsan/bingsan/store/sqlite"
	"github.com/bingsan/bingsan/vend"
)

// benchSchema is a 24-column fact table.
func benchSchema() *iceberg.Schema {
	types := []iceberg.Type{iceberg.PrimitiveTypes.Int64, iceberg.PrimitiveTypes.String, iceberg.PrimitiveTypes.TimestampTz,
		iceberg.DecimalTypeOf(18, 2), iceberg.PrimitiveTypes.Int32, iceberg.PrimitiveTypes.Bool}
	fields := make([]iceberg.NestedField, 24)
	for i := range fields {
		fields[i] = iceberg.NestedField{ID: i + 1, Name: fmt.Sprintf("col_%02d", i), Type: types[i%len(types)], Required: i == 0}
	}
	return iceberg.NewSchema(0, fields...)
}

// appendUpdates is the body of an append commit adding snapshot id on top
// of parent (0: none).
func appendUpdates(loc string, id, parent, seq, ts int64) (reqs, upds json.RawMessage) {
	parentField, parentReq := "", "null"
	if parent != 0 {
		parentField, parentReq = fmt.Sprintf(`"parent-snapshot-id":%d,`, parent), fmt.Sprint(parent)
	}
	reqs = json.RawMessage(fmt.Sprintf(`[{"type":"assert-table-uuid","uuid":"%s"},{"type":"assert-ref-snapshot-id","ref":"main","snapshot-id":%s}]`,
		benchUUID, parentReq))
	upds = json.RawMessage(fmt.Sprintf(`[
		{"action":"add-snapshot","snapshot":{"snapshot-id":%d,%s"sequence-number":%d,"timestamp-ms":%d,
			"manifest-list":"%s/metadata/snap-%d-1-%s.avro","schema-id":0,
			"summary":{"operation":"append","added-data-files":"4","added-records":"125000","added-files-size":"52428800",
				"changed-partition-count":"1","total-records":"%d","total-files-size":"%d","total-data-files":"%d",
				"total-delete-files":"0","total-position-deletes":"0","total-equality-deletes":"0"}}},
		{"action":"set-snapshot-ref","ref-name":"main","type":"branch","snapshot-id":%d}]`,
		id, parentField, seq, ts, loc, id, benchUUID, seq*125000, seq*52428800, seq*4, id))
	return reqs, upds
}

var benchUUID = uuid.MustParse("6a1f3c2e-9d4b-4f7a-8c1e-2b3d4e5f6a7b")

// benchTable builds the metadata of a table with n snapshots (one append
// commit each, so the metadata log is full too) and returns it with its
// current location and the next snapshot's id.
func benchTable(tb testing.TB, n int) (doc []byte, loc string, next int64) {
	tb.Helper()
	spec := iceberg.NewPartitionSpecID(0, iceberg.PartitionField{SourceIDs: []int{3}, FieldID: 1000, Name: "col_02_day", Transform: iceberg.DayTransform{}})
	props := iceberg.Properties{"write.format.default": "parquet", "write.parquet.compression-codec": "zstd", "owner": "bench"}
	m, err := table.NewMetadataWithUUID(benchSchema(), &spec, table.UnsortedSortOrder, "file:///warehouse/db/events", props, benchUUID)
	if err != nil {
		tb.Fatal(err)
	}
	loc = "file:///warehouse/db/events/metadata/00000-" + uuid.NewString() + ".metadata.json"
	ts := time.Now().UnixMilli() - int64(n)
	var parent int64
	for i := range n {
		id := int64(1000 + i)
		_, upds := appendUpdates("file:///warehouse/db/events", id, parent, int64(i+1), ts+int64(i))
		c, err := ParseTableChange(store.Ident{}, nil, upds)
		if err != nil {
			tb.Fatal(err)
		}
		if m, _, err = applyUpdates(m, loc, c.Updates); err != nil {
			tb.Fatal(err)
		}
		loc = fmt.Sprintf("file:///warehouse/db/events/metadata/%05d-%s.metadata.json", i+1, uuid.NewString())
		parent = id
	}
	if doc, err = encodeMetadata(m); err != nil {
		tb.Fatal(err)
	}
	return doc, loc, parent
}

var benchSizes = []struct {
	name      string
	snapshots int
}{{"new", 0}, {"100snapshots", 100}, {"2000snapshots", 2000}}

// BenchmarkCommitPath is prepare's CPU work for one append: decode the
// request, parse the stored metadata (or take it from the cache), check the
// requirements, apply the updates, serialize the result.
func BenchmarkCommitPath(b *testing.B) {
	for _, size := range benchSizes {
		doc, loc, parent := benchTable(b, size.snapshots)
		reqs, upds := appendUpdates("file:///warehouse/db/events", parent+1, parent, int64(size.snapshots+1), time.Now().UnixMilli())
		id := store.Ident{Warehouse: "wh", Namespace: []string{"db"}, Name: "events"}
		for _, cached := range []bool{false, true} {
			name := size.name + "/parse"
			if cached {
				name = size.name + "/cached"
			}
			b.Run(name, func(b *testing.B) {
				s := &Service{metaCache: newMetadataCache(1 << 30)}
				if !cached {
					s.metaCache = nil
				}
				b.SetBytes(int64(len(doc)))
				b.ReportAllocs()
				for b.Loop() {
					c, err := ParseTableChange(id, reqs, upds)
					if err != nil {
						b.Fatal(err)
					}
					r, u := c.Requirements, c.Updates
					base, err := s.parseCached(id, loc, doc)
					if err != nil {
						b.Fatal(err)
					}
					if err := validateRequirements(r, base); err != nil {
						b.Fatal(err)
					}
					next, changed, err := applyUpdates(base, loc, u)
					if err != nil || !changed {
						b.Fatal(err, changed)
					}
					if _, err := encodeMetadata(next); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// The steps of BenchmarkCommitPath on their own.
func BenchmarkCommitSteps(b *testing.B) {
	for _, size := range benchSizes {
		doc, loc, parent := benchTable(b, size.snapshots)
		reqs, upds := appendUpdates("file:///warehouse/db/events", parent+1, parent, int64(size.snapshots+1), time.Now().UnixMilli())
		base, err := table.ParseMetadataBytes(doc)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(size.name+"/parse-request", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ParseTableChange(store.Ident{}, reqs, upds); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(size.name+"/parse-metadata", func(b *testing.B) {
			b.SetBytes(int64(len(doc)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := table.ParseMetadataBytes(doc); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(size.name+"/apply", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				c, _ := ParseTableChange(store.Ident{}, nil, upds) // applying mutates the updates
				b.StartTimer()
				if _, _, err := applyUpdates(base, loc, c.Updates); err != nil {
					b.Fatal(err)
				}
			}
		})
		c, _ := ParseTableChange(store.Ident{}, nil, upds)
		next, _, err := applyUpdates(base, loc, c.Updates)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(size.name+"/serialize", func(b *testing.B) {
			b.SetBytes(int64(len(doc)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := encodeMetadata(next); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCommitTable runs whole commits (store, metadata file) on SQLite
// and a local warehouse, on a table with 100 snapshots whose metadata log
// is full, so every commit has the same size: what BenchmarkCommitPath
// leaves out is the store round trips and writing (and syncing) the
// metadata file.
func BenchmarkCommitTable(b *testing.B) {
	svc, id, uuidReq := benchCommitTable(b, 0)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		upds := json.RawMessage(fmt.Sprintf(`[{"action":"set-properties","updates":{"bench.counter":"%d"}}]`, i))
		if _, err := svc.CommitTable(context.Background(), mustChange(b, id, uuidReq, upds)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCommitTableConcurrent is BenchmarkCommitTable from 10 goroutines
// at once, with group commit (grouped) and without it (one-by-one).
func BenchmarkCommitTableConcurrent(b *testing.B) {
	for _, bc := range []struct {
		name  string
		group int
	}{{"grouped", 0}, {"one-by-one", 1}} {
		b.Run(bc.name, func(b *testing.B) {
			svc, id, uuidReq := benchCommitTable(b, bc.group)
			b.ReportAllocs()
			b.SetParallelism(max(1, 10/runtime.GOMAXPROCS(0)))
			var n atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					upds := json.RawMessage(fmt.Sprintf(`[{"action":"set-properties","updates":{"bench.counter-%d":"x"}}]`, n.Add(1)%10))
					if _, err := svc.CommitTable(context.Background(), mustChange(b, id, uuidReq, upds)); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// benchCommitTable is a service on SQLite and a local warehouse with a table
// of 100 snapshots, and the requirement its commits send.
func benchCommitTable(b *testing.B, group int) (*Service, store.Ident, json.RawMessage) {
	b.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "catalog.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	if err := st.Migrate(ctx, migrate.Up); err != nil {
		b.Fatal(err)
	}
	whLoc := "file://" + filepath.ToSlash(b.TempDir())
	svc := New(st, vend.NewLocal(), Options{Warehouses: map[string]string{"wh": whLoc}, MaxRetries: 10, MaxCommitGroup: group})
	if _, err := svc.CreateNamespace(ctx, "wh", store.Namespace{Levels: []string{"db"}}); err != nil {
		b.Fatal(err)
	}
	id := store.Ident{Warehouse: "wh", Namespace: []string{"db"}, Name: "events"}
	res, err := svc.CreateTable(ctx, CreateTableInput{Ident: id, Schema: benchSchema()})
	if err != nil {
		b.Fatal(err)
	}
	m, err := table.ParseMetadataBytes(res.Metadata)
	if err != nil {
		b.Fatal(err)
	}
	uuidReq := json.RawMessage(`[{"type":"assert-table-uuid","uuid":"` + m.TableUUID().String() + `"}]`)
	var parent int64
	for seq := int64(1); seq <= 100; seq++ {
		_, upds := appendUpdates(m.Location(), 1000+seq, parent, seq, time.Now().UnixMilli())
		if _, err := svc.CommitTable(ctx, mustChange(b, id, uuidReq, upds)); err != nil {
			b.Fatal(err)
		}
		parent = 1000 + seq
	}
	return svc, id, uuidReq
}

func mustJSON(tb testing.TB, v any) json.RawMessage {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func mustChange(tb testing.TB, id store.Ident, reqs, upds json.RawMessage) TableChange {
	tb.Helper()
	c, err := ParseTableChange(id, reqs, upds)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// BenchmarkCreateSteps is the CPU work of a create before the store and
// the file write, on the load harness's request: decode the schema and
// partition spec, build the first metadata, serialize it.
func BenchmarkCreateSteps(b *testing.B) {
	schema := benchSchemaJSON()
	spec := json.RawMessage(`{"spec-id":0,"fields":[{"source-id":3,"field-id":1000,"name":"col_02_day","transform":"day"}]}`)
	b.Run("parse-request", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ParseSchema(schema); err != nil {
				b.Fatal(err)
			}
			if _, err := ParsePartitionSpec(spec); err != nil {
				b.Fatal(err)
			}
		}
	})
	sc, _ := ParseSchema(schema)
	ps, _ := ParsePartitionSpec(spec)
	props := iceberg.Properties{"write.format.default": "parquet"}
	b.Run("build", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := table.NewMetadataWithUUID(sc, ps, table.UnsortedSortOrder, "file:///warehouse/db/t", props, benchUUID); err != nil {
				b.Fatal(err)
			}
		}
	})
	m, err := table.NewMetadataWithUUID(sc, ps, table.UnsortedSortOrder, "file:///warehouse/db/t", props, benchUUID)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("serialize", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := encodeMetadata(m); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// benchSchemaJSON is benchSchema as a client sends it.
func benchSchemaJSON() json.RawMessage {
	raw, err := json.Marshal(benchSchema())
	if err != nil {
		panic(err)
	}
	return raw
}
