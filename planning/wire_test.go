package planning

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog/rest"
	"github.com/apache/iceberg-go/table"
	"github.com/google/uuid"
)

func TestPartitionValue(t *testing.T) {
	ts := time.Date(2024, 2, 29, 13, 14, 15, 123456000, time.UTC)
	dec := iceberg.Decimal{Scale: 2}
	lit, err := iceberg.StringLiteral("1234.50").To(iceberg.DecimalTypeOf(9, 2))
	if err != nil {
		t.Fatal(err)
	}
	dec = lit.Any().(iceberg.Decimal)
	u := uuid.MustParse("f79c3e09-677c-4bbd-a479-3f349cb785e7")
	cases := []struct {
		name string
		v    any
		typ  iceberg.Type
		want string
	}{
		{"bool", true, iceberg.PrimitiveTypes.Bool, `true`},
		{"int", int32(-7), iceberg.PrimitiveTypes.Int32, `-7`},
		{"long above 2^53", int64(9007199254740993), iceberg.PrimitiveTypes.Int64, `9007199254740993`},
		{"float", float32(1.5), iceberg.PrimitiveTypes.Float32, `1.5`},
		{"double", 0.1, iceberg.PrimitiveTypes.Float64, `0.1`},
		{"string", "héllo", iceberg.PrimitiveTypes.String, `"héllo"`},
		{"date", iceberg.Date(19782), iceberg.PrimitiveTypes.Date, `"2024-02-29"`},
		{"date as int", int32(-1), iceberg.PrimitiveTypes.Date, `"1969-12-31"`},
		{"time", iceberg.Time(47655123456), iceberg.PrimitiveTypes.Time, `"13:14:15.123456"`},
		{"timestamp", iceberg.Timestamp(ts.UnixMicro()), iceberg.PrimitiveTypes.Timestamp, `"2024-02-29T13:14:15.123456"`},
		{"timestamptz", iceberg.Timestamp(ts.UnixMicro()), iceberg.PrimitiveTypes.TimestampTz, `"2024-02-29T13:14:15.123456+00:00"`},
		{"timestamp whole second", iceberg.Timestamp(ts.Truncate(time.Second).UnixMicro()), iceberg.PrimitiveTypes.Timestamp, `"2024-02-29T13:14:15"`},
		{"timestamp_ns", iceberg.TimestampNano(ts.UnixNano() + 789), iceberg.PrimitiveTypes.TimestampNs, `"2024-02-29T13:14:15.123456789"`},
		{"decimal", dec, iceberg.DecimalTypeOf(9, 2), `"1234.50"`},
		{"uuid", u, iceberg.PrimitiveTypes.UUID, `"f79c3e09-677c-4bbd-a479-3f349cb785e7"`},
		{"uuid bytes", u[:], iceberg.PrimitiveTypes.UUID, `"f79c3e09-677c-4bbd-a479-3f349cb785e7"`},
		{"binary", []byte{0, 255, 16}, iceberg.PrimitiveTypes.Binary, `"00FF10"`},
		{"fixed", []byte{1, 2}, iceberg.FixedTypeOf(2), `"0102"`},
	}
	for _, c := range cases {
		got, err := partitionValue(c.v, c.typ)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		b, _ := json.Marshal(got)
		if string(b) != c.want {
			t.Errorf("%s: %s, want %s", c.name, b, c.want)
		}
	}
	for _, bad := range []struct {
		v   any
		typ iceberg.Type
	}{
		{"x", iceberg.PrimitiveTypes.Int32},
		{float32(0), iceberg.PrimitiveTypes.Float64},
		{float64(0), iceberg.PrimitiveTypes.Float64},
	} {
		if _, err := partitionValue(bad.v, bad.typ); bad.v != float64(0) && err == nil {
			t.Errorf("%v as %s: no error", bad.v, bad.typ)
		}
	}
}

// The wire form of an envelope: a data file with statistics, position and
// equality deletes and a deletion vector shared by index, a residual. The
// golden file is what Java's ContentFileParser writes and iceberg-go's
// REST client reads (BINGSAN_TEST_UPDATE_GOLDEN=1 rewrites it).
func TestEnvelopeGolden(t *testing.T) {
	sc := iceberg.NewSchema(0,
		iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64, Required: true},
		iceberg.NestedField{ID: 2, Name: "ts", Type: iceberg.PrimitiveTypes.TimestampTz},
		iceberg.NestedField{ID: 3, Name: "region", Type: iceberg.PrimitiveTypes.String},
	)
	spec := iceberg.NewPartitionSpecID(0,
		iceberg.PartitionField{SourceIDs: []int{2}, FieldID: 1000, Name: "ts_day", Transform: iceberg.DayTransform{}},
		iceberg.PartitionField{SourceIDs: []int{3}, FieldID: 1001, Name: "region", Transform: iceberg.IdentityTransform{}},
		iceberg.PartitionField{SourceIDs: []int{1}, FieldID: 1002, Name: "id_bucket", Transform: iceberg.BucketTransform{NumBuckets: 8}},
	)
	meta, err := table.NewMetadata(sc, &spec, table.UnsortedSortOrder, "s3://b/t", iceberg.Properties{"format-version": "3"})
	if err != nil {
		t.Fatal(err)
	}
	part := map[int]any{1000: iceberg.Date(19782), 1001: nil, 1002: int32(5)}
	file := func(content iceberg.ManifestEntryContent, path string, format iceberg.FileFormat) *iceberg.DataFileBuilder {
		b, err := iceberg.NewDataFileBuilder(*meta.PartitionSpecByID(0), content, path, format, part, nil, nil, 10, 1000)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	lo, _ := iceberg.Int64Literal(1).MarshalBinary()
	hi, _ := iceberg.Int64Literal(9007199254740993).MarshalBinary()
	data := file(iceberg.EntryContentData, "s3://b/t/data/a.parquet", iceberg.ParquetFile).
		SplitOffsets([]int64{4, 500}).SortOrderID(0).KeyMetadata([]byte{0xca, 0xfe}).
		ColumnSizes(map[int]int64{1: 80, 3: 40}).ValueCounts(map[int]int64{1: 10, 3: 10}).
		NullValueCounts(map[int]int64{1: 0, 3: 2}).LowerBoundValues(map[int][]byte{1: lo}).UpperBoundValues(map[int][]byte{1: hi}).Build()
	other := file(iceberg.EntryContentData, "s3://b/t/data/b.parquet", iceberg.ParquetFile).Build()
	pos := file(iceberg.EntryContentPosDeletes, "s3://b/t/data/pos.parquet", iceberg.ParquetFile).Build()
	eq := file(iceberg.EntryContentEqDeletes, "s3://b/t/data/eq.parquet", iceberg.ParquetFile).EqualityFieldIDs([]int{1}).Build()
	dv := file(iceberg.EntryContentPosDeletes, "s3://b/t/data/dv.puffin", iceberg.PuffinFile).
		ReferencedDataFile("s3://b/t/data/b.parquet").ContentOffset(4).ContentSizeInBytes(40).Build()
	first := int64(100)
	residual, err := iceberg.BindExpr(sc, iceberg.GreaterThan(iceberg.Reference("id"), int64(5)), true)
	if err != nil {
		t.Fatal(err)
	}

	env := newEnvelope(meta, map[int]bool{1: true})
	for _, task := range []table.FileScanTask{
		{File: data, DeleteFiles: []iceberg.DataFile{pos}, EqualityDeleteFiles: []iceberg.DataFile{eq}, Residual: residual, FirstRowID: &first},
		{File: other, EqualityDeleteFiles: []iceberg.DataFile{eq}, DeletionVectorFiles: []iceberg.DataFile{dv}, Residual: iceberg.AlwaysTrue{}},
	} {
		if err := env.add(task); err != nil {
			t.Fatal(err)
		}
	}
	var got bytes.Buffer
	if err := json.Indent(&got, env.bytes(), "", "  "); err != nil {
		t.Fatalf("envelope is not JSON: %v\n%s", err, env.bytes())
	}
	got.WriteByte('\n')
	path := filepath.Join("testdata", "envelope.golden.json")
	if os.Getenv("BINGSAN_TEST_UPDATE_GOLDEN") == "1" {
		if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("envelope differs from %s:\n%s", path, got.Bytes())
	}

	// iceberg-go's REST client reads it back as the same tasks.
	var wire rest.ScanTasks
	if err := json.Unmarshal(env.bytes(), &wire); err != nil {
		t.Fatal(err)
	}
	tasks, err := rest.DecodeScanTasks(wire, meta, sc, nil)
	if err != nil {
		t.Fatalf("iceberg-go cannot read the envelope: %v", err)
	}
	if len(tasks) != 2 || tasks[0].File.FilePath() != data.FilePath() || len(tasks[0].DeleteFiles) != 1 ||
		len(tasks[0].EqualityDeleteFiles) != 1 || *tasks[0].FirstRowID != 100 || !tasks[0].Residual.Equals(iceberg.GreaterThan(iceberg.Reference("id"), int64(5))) ||
		len(tasks[1].DeletionVectorFiles) != 1 || *tasks[1].DeletionVectorFiles[0].ContentOffset() != 4 ||
		!tasks[1].Residual.Equals(iceberg.AlwaysTrue{}) {
		t.Fatalf("decoded tasks: %+v", tasks)
	}
	if p := tasks[0].File.Partition(); p[1000] != iceberg.Date(19782) || p[1001] != nil || p[1002] != int32(5) {
		t.Fatalf("decoded partition: %v", p)
	}
	if lb := tasks[0].File.LowerBoundValues(); !bytes.Equal(lb[1], lo) {
		t.Fatalf("decoded bounds: %v", lb)
	}
}
