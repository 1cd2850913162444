package planning

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
	"github.com/google/uuid"
)

// The wire form of planned tasks: the spec's ScanTasks object (file scan
// tasks, and the delete files they reference by index), written the way
// Java's ContentFileParser writes content files and iceberg-go's REST client
// reads them. One envelope is one chunk of a plan's result; its
// delete-file-references index its own delete-files.

// envelope builds the JSON of one chunk of tasks.
type envelope struct {
	meta table.Metadata
	// stats are the field ids whose column statistics data files carry
	// (the request's stats-fields); nil: none.
	stats map[int]bool

	tasks, deletes bytes.Buffer
	n, nDeletes    int
	deleteIndex    map[string]int
}

func newEnvelope(meta table.Metadata, stats map[int]bool) *envelope {
	return &envelope{meta: meta, stats: stats, deleteIndex: map[string]int{}}
}

// len is the number of file scan tasks added.
func (e *envelope) len() int { return e.n }

// size is the bytes written so far.
func (e *envelope) size() int { return e.tasks.Len() + e.deletes.Len() }

// add appends one file scan task.
func (e *envelope) add(t table.FileScanTask) error {
	refs := []int{}
	for _, group := range [][]iceberg.DataFile{t.DeleteFiles, t.EqualityDeleteFiles, t.DeletionVectorFiles} {
		for _, df := range group {
			i, err := e.deleteRef(df)
			if err != nil {
				return err
			}
			refs = append(refs, i)
		}
	}
	df, err := e.contentFile(t.File, true)
	if err != nil {
		return err
	}
	df.FirstRowID = t.FirstRowID
	task := wireTask{DataFile: df}
	if len(refs) > 0 {
		task.DeleteFileReferences = refs
	}
	if t.Residual != nil {
		if task.ResidualFilter, err = encodeResidual(t.Residual); err != nil {
			return fmt.Errorf("encoding the residual filter of %s: %w", t.File.FilePath(), err)
		}
	}
	b, err := json.Marshal(task)
	if err != nil {
		return fmt.Errorf("encoding the scan task of %s: %w", t.File.FilePath(), err)
	}
	if e.n > 0 {
		e.tasks.WriteByte(',')
	}
	e.tasks.Write(b)
	e.n++
	return nil
}

// deleteRef returns the index of a delete file in this envelope, adding it
// on first use.
func (e *envelope) deleteRef(f iceberg.DataFile) (int, error) {
	key := fmt.Sprintf("%d\x00%s", f.ContentType(), f.FilePath())
	if i, ok := e.deleteIndex[key]; ok {
		return i, nil
	}
	w, err := e.contentFile(f, false)
	if err != nil {
		return 0, err
	}
	b, err := json.Marshal(w)
	if err != nil {
		return 0, fmt.Errorf("encoding delete file %s: %w", f.FilePath(), err)
	}
	if e.nDeletes > 0 {
		e.deletes.WriteByte(',')
	}
	e.deletes.Write(b)
	i := e.nDeletes
	e.deleteIndex[key] = i
	e.nDeletes++
	return i, nil
}

// bytes is the envelope's JSON: {"file-scan-tasks":[…],"delete-files":[…]}.
func (e *envelope) bytes() []byte {
	var out bytes.Buffer
	out.Grow(e.size() + 48)
	out.WriteString(`{"file-scan-tasks":[`)
	out.Write(e.tasks.Bytes())
	out.WriteByte(']')
	if e.nDeletes > 0 {
		out.WriteString(`,"delete-files":[`)
		out.Write(e.deletes.Bytes())
		out.WriteByte(']')
	}
	out.WriteByte('}')
	return out.Bytes()
}

type wireTask struct {
	DataFile             wireFile        `json:"data-file"`
	DeleteFileReferences []int           `json:"delete-file-references,omitempty"`
	ResidualFilter       json.RawMessage `json:"residual-filter,omitempty"`
}

// wireFile is a ContentFile: a DataFile, PositionDeleteFile or
// EqualityDeleteFile by its content.
type wireFile struct {
	Content         string  `json:"content"`
	FilePath        string  `json:"file-path"`
	FileFormat      string  `json:"file-format"`
	SpecID          int32   `json:"spec-id"`
	Partition       []any   `json:"partition"`
	FileSizeInBytes int64   `json:"file-size-in-bytes"`
	RecordCount     int64   `json:"record-count"`
	KeyMetadata     string  `json:"key-metadata,omitempty"`
	SplitOffsets    []int64 `json:"split-offsets,omitempty"`
	SortOrderID     *int    `json:"sort-order-id,omitempty"`

	// Data files.
	FirstRowID      *int64    `json:"first-row-id,omitempty"`
	ColumnSizes     *countMap `json:"column-sizes,omitempty"`
	ValueCounts     *countMap `json:"value-counts,omitempty"`
	NullValueCounts *countMap `json:"null-value-counts,omitempty"`
	NaNValueCounts  *countMap `json:"nan-value-counts,omitempty"`
	LowerBounds     *valueMap `json:"lower-bounds,omitempty"`
	UpperBounds     *valueMap `json:"upper-bounds,omitempty"`

	// Delete files. referenced-data-file is not in the spec's schema but
	// Java writes it and clients read it (deletion vectors, file-scoped
	// position deletes).
	EqualityIDs        []int   `json:"equality-ids,omitempty"`
	ReferencedDataFile *string `json:"referenced-data-file,omitempty"`
	ContentOffset      *int64  `json:"content-offset,omitempty"`
	ContentSizeInBytes *int64  `json:"content-size-in-bytes,omitempty"`
}

type countMap struct {
	Keys   []int   `json:"keys"`
	Values []int64 `json:"values"`
}

type valueMap struct {
	Keys   []int    `json:"keys"`
	Values []string `json:"values"`
}

var contentNames = map[iceberg.ManifestEntryContent]string{
	iceberg.EntryContentData:       "data",
	iceberg.EntryContentPosDeletes: "position-deletes",
	iceberg.EntryContentEqDeletes:  "equality-deletes",
}

func (e *envelope) contentFile(f iceberg.DataFile, data bool) (wireFile, error) {
	content, ok := contentNames[f.ContentType()]
	if !ok || (content == "data") != data {
		return wireFile{}, fmt.Errorf("file %s has unexpected content %s", f.FilePath(), f.ContentType())
	}
	part, err := e.partition(f)
	if err != nil {
		return wireFile{}, err
	}
	w := wireFile{
		Content:         content,
		FilePath:        f.FilePath(),
		FileFormat:      strings.ToLower(string(f.FileFormat())),
		SpecID:          f.SpecID(),
		Partition:       part,
		FileSizeInBytes: f.FileSizeBytes(),
		RecordCount:     f.Count(),
		SplitOffsets:    f.SplitOffsets(),
		SortOrderID:     f.SortOrderID(),
	}
	if k := f.KeyMetadata(); len(k) > 0 {
		w.KeyMetadata = strings.ToUpper(hex.EncodeToString(k))
	}
	if !data {
		w.EqualityIDs = f.EqualityFieldIDs()
		w.ReferencedDataFile = f.ReferencedDataFile()
		w.ContentOffset = f.ContentOffset()
		w.ContentSizeInBytes = f.ContentSizeInBytes()
		return w, nil
	}
	if len(e.stats) > 0 {
		w.ColumnSizes = e.counts(f.ColumnSizes())
		w.ValueCounts = e.counts(f.ValueCounts())
		w.NullValueCounts = e.counts(f.NullValueCounts())
		w.NaNValueCounts = e.counts(f.NaNValueCounts())
		w.LowerBounds = e.values(f.LowerBoundValues())
		w.UpperBounds = e.values(f.UpperBoundValues())
	}
	return w, nil
}

// counts keeps the statistics of the requested fields, by field id.
func (e *envelope) counts(m map[int]int64) *countMap {
	out := &countMap{Keys: []int{}, Values: []int64{}}
	for _, id := range e.statIDs(len(m), func(id int) bool { _, ok := m[id]; return ok }) {
		out.Keys = append(out.Keys, id)
		out.Values = append(out.Values, m[id])
	}
	if len(out.Keys) == 0 {
		return nil
	}
	return out
}

// values keeps the bounds of the requested fields, as hexadecimal of their
// single-value binary form.
func (e *envelope) values(m map[int][]byte) *valueMap {
	out := &valueMap{Keys: []int{}, Values: []string{}}
	for _, id := range e.statIDs(len(m), func(id int) bool { _, ok := m[id]; return ok }) {
		out.Keys = append(out.Keys, id)
		out.Values = append(out.Values, strings.ToUpper(hex.EncodeToString(m[id])))
	}
	if len(out.Keys) == 0 {
		return nil
	}
	return out
}

func (e *envelope) statIDs(n int, has func(int) bool) []int {
	if n == 0 {
		return nil
	}
	ids := make([]int, 0, len(e.stats))
	for id := range e.stats {
		if has(id) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// partition is a file's partition tuple in the order of its spec's fields,
// each value in the JSON form of its transform's result type.
func (e *envelope) partition(f iceberg.DataFile) ([]any, error) {
	spec := e.meta.PartitionSpecByID(int(f.SpecID()))
	if spec == nil {
		return nil, fmt.Errorf("file %s has unknown partition spec %d", f.FilePath(), f.SpecID())
	}
	values := f.Partition()
	out := make([]any, 0, spec.NumFields())
	for _, field := range spec.Fields() {
		v := values[field.FieldID]
		if v == nil {
			out = append(out, nil)
			continue
		}
		src, ok := e.sourceType(field.SourceID())
		if !ok {
			return nil, fmt.Errorf("partition field %s of spec %d has unknown source field %d", field.Name, spec.ID(), field.SourceID())
		}
		jv, err := partitionValue(v, field.Transform.ResultType(src))
		if err != nil {
			return nil, fmt.Errorf("partition field %s of %s: %w", field.Name, f.FilePath(), err)
		}
		out = append(out, jv)
	}
	return out, nil
}

// sourceType finds a field's type in the current schema or, for a field
// since dropped, in an older one.
func (e *envelope) sourceType(id int) (iceberg.Type, bool) {
	if t, ok := e.meta.CurrentSchema().FindTypeByID(id); ok {
		return t, true
	}
	for _, sc := range e.meta.Schemas() {
		if t, ok := sc.FindTypeByID(id); ok {
			return t, true
		}
	}
	return nil, false
}

// partitionValue is the JSON form of one partition value (the spec's
// PrimitiveTypeValue): numbers and booleans as such, dates, times and
// timestamps as ISO-8601 text (with +00:00 when zoned), decimals and UUIDs
// as text, binary and fixed as hexadecimal.
func partitionValue(v any, typ iceberg.Type) (any, error) {
	switch typ.(type) {
	case iceberg.BooleanType:
		if b, ok := v.(bool); ok {
			return b, nil
		}
	case iceberg.Int32Type, iceberg.Int64Type:
		if n, ok := integer(v); ok {
			return n, nil
		}
	case iceberg.Float32Type:
		if f, ok := v.(float32); ok {
			return finite(float64(f))
		}
	case iceberg.Float64Type:
		if f, ok := v.(float64); ok {
			return finite(f)
		}
	case iceberg.StringType:
		if s, ok := v.(string); ok {
			return s, nil
		}
	case iceberg.DateType:
		if n, ok := integer(v); ok {
			return iceberg.Date(n).ToTime().Format("2006-01-02"), nil
		}
		if t, ok := v.(time.Time); ok {
			return t.UTC().Format("2006-01-02"), nil
		}
	case iceberg.TimeType:
		if n, ok := integer(v); ok {
			return time.UnixMicro(n).UTC().Format("15:04:05.999999"), nil
		}
	case iceberg.TimestampType, iceberg.TimestampTzType:
		t, ok := v.(time.Time)
		if n, isInt := integer(v); isInt {
			t, ok = time.UnixMicro(n).UTC(), true
		}
		if ok {
			if _, zoned := typ.(iceberg.TimestampTzType); zoned {
				return t.UTC().Format("2006-01-02T15:04:05.999999-07:00"), nil
			}
			return t.UTC().Format("2006-01-02T15:04:05.999999"), nil
		}
	case iceberg.TimestampNsType, iceberg.TimestampTzNsType:
		t, ok := v.(time.Time)
		if n, isInt := integer(v); isInt {
			t, ok = time.Unix(0, n).UTC(), true
		}
		if ok {
			if _, zoned := typ.(iceberg.TimestampTzNsType); zoned {
				return t.UTC().Format("2006-01-02T15:04:05.999999999-07:00"), nil
			}
			return t.UTC().Format("2006-01-02T15:04:05.999999999"), nil
		}
	case iceberg.DecimalType:
		if d, ok := v.(iceberg.Decimal); ok {
			return d.String(), nil
		}
	case iceberg.UUIDType:
		switch u := v.(type) {
		case uuid.UUID:
			return u.String(), nil
		case [16]byte:
			return uuid.UUID(u).String(), nil
		case []byte:
			if id, err := uuid.FromBytes(u); err == nil {
				return id.String(), nil
			}
		case string:
			return u, nil
		}
	case iceberg.BinaryType, iceberg.FixedType:
		if b, ok := v.([]byte); ok {
			return strings.ToUpper(hex.EncodeToString(b)), nil
		}
	}
	return nil, fmt.Errorf("cannot encode partition value %v (%T) of type %s", v, v, typ)
}

func integer(v any) (int64, bool) {
	switch n := v.(type) {
	case int32:
		return int64(n), true
	case int64:
		return n, true
	case int:
		return int64(n), true
	case iceberg.Date:
		return int64(n), true
	case iceberg.Time:
		return int64(n), true
	case iceberg.Timestamp:
		return int64(n), true
	case iceberg.TimestampNano:
		return int64(n), true
	}
	return 0, false
}

func finite(f float64) (any, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, fmt.Errorf("partition value %v has no JSON form", f)
	}
	return f, nil
}
