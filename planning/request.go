package planning

import (
	"context"
	"encoding/json"
	"math"
	"slices"
	"strconv"

	"github.com/apache/iceberg-go"
	icebergio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"

	"github.com/bingsan/bingsan/errs"
)

// Request is a planTableScan request. It is stored with the plan (as JSON)
// so that any node can plan it, or plan it again.
type Request struct {
	SnapshotID *int64   `json:"snapshot-id,omitempty"`
	Select     []string `json:"select,omitempty"`
	// Filter is the expression document as the client sent it.
	Filter            json.RawMessage `json:"filter,omitempty"`
	CaseSensitive     bool            `json:"case-sensitive"`
	UseSnapshotSchema bool            `json:"use-snapshot-schema,omitempty"`
	StartSnapshotID   *int64          `json:"start-snapshot-id,omitempty"`
	EndSnapshotID     *int64          `json:"end-snapshot-id,omitempty"`
	StatsFields       []string        `json:"stats-fields,omitempty"`
	MinRowsRequested  *int64          `json:"min-rows-requested,omitempty"`
}

// scanSpec is a request checked against one version of the table, ready
// to plan with iceberg-go's scans.
type scanSpec struct {
	ident   table.Identifier
	metaLoc string
	// meta is the table metadata the scans run on (see scanMetadata).
	meta table.Metadata
	opts []table.ScanOption
	// snapshots are those whose manifest lists the plan reads: the scanned
	// snapshot, or the snapshots of an incremental range (none: an empty
	// table).
	snapshots []table.Snapshot
	// from and to are the range of an incremental scan (nil: a
	// point-in-time scan).
	from, to *int64
	filter   iceberg.BooleanExpression // nil: none
	stats    map[int]bool
	minRows  *int64
}

// wholeFiles is read.split.target-size for the scans the catalog runs: REST
// scan tasks are whole files (with their split offsets), which clients
// split themselves.
var wholeFiles = strconv.FormatInt(math.MaxInt64, 10)

// prepare checks req against the table metadata meta (at metaLoc) and turns
// it into a scanSpec. Every error is a BadRequest naming what is wrong.
func prepare(ident table.Identifier, meta table.Metadata, metaLoc string, req Request) (*scanSpec, error) {
	incremental := req.StartSnapshotID != nil || req.EndSnapshotID != nil
	switch {
	case incremental && req.SnapshotID != nil:
		return nil, errs.New(errs.BadRequest, "Invalid scan: cannot combine snapshot-id with start-snapshot-id or end-snapshot-id")
	case req.StartSnapshotID != nil && req.EndSnapshotID == nil:
		return nil, errs.New(errs.BadRequest, "Invalid incremental scan: end-snapshot-id is required with start-snapshot-id")
	case req.EndSnapshotID != nil && req.StartSnapshotID == nil:
		return nil, errs.New(errs.BadRequest, "Invalid incremental scan: start-snapshot-id is required with end-snapshot-id")
	case req.MinRowsRequested != nil && *req.MinRowsRequested < 0:
		return nil, errs.New(errs.BadRequest, "Invalid min-rows-requested: %d", *req.MinRowsRequested)
	}
	spec := &scanSpec{ident: ident, metaLoc: metaLoc, minRows: req.MinRowsRequested}
	props := iceberg.Properties{table.ReadSplitTargetSizeKey: wholeFiles}
	var branchAt *int64

	switch {
	case incremental:
		from, to := *req.StartSnapshotID, *req.EndSnapshotID
		if meta.SnapshotByID(to) == nil {
			return nil, errs.New(errs.BadRequest, "Cannot find snapshot with ID %d (end-snapshot-id)", to)
		}
		between, found := table.AncestorsBetween(to, from, meta.SnapshotByID)
		if !found || from == to {
			return nil, errs.New(errs.BadRequest, "Invalid incremental scan: start-snapshot-id %d is not an ancestor of end-snapshot-id %d", from, to)
		}
		spec.from, spec.to, spec.snapshots = &from, &to, between
		// The scan of the range uses the schema of its end, as a time
		// travel to it does.
		spec.opts = append(spec.opts, table.WithSnapshotID(to))
	case req.SnapshotID != nil:
		snap := meta.SnapshotByID(*req.SnapshotID)
		if snap == nil {
			return nil, errs.New(errs.BadRequest, "Cannot find snapshot with ID %d", *req.SnapshotID)
		}
		spec.snapshots = []table.Snapshot{*snap}
		if req.UseSnapshotSchema {
			spec.opts = append(spec.opts, table.WithSnapshotID(snap.SnapshotID))
		} else {
			// A branch: its snapshot with the table's schema, which is what
			// iceberg-go plans for the main branch. The scans see a copy of
			// the metadata whose main branch is at the snapshot.
			branchAt = &snap.SnapshotID
		}
	default:
		if snap := meta.CurrentSnapshot(); snap != nil {
			spec.snapshots = []table.Snapshot{*snap}
			if req.UseSnapshotSchema {
				spec.opts = append(spec.opts, table.WithSnapshotID(snap.SnapshotID))
			}
		}
	}
	var err error
	if spec.meta, err = scanMetadata(meta, metaLoc, props, branchAt); err != nil {
		return nil, errs.Wrap(errs.Internal, err, "Cannot prepare the metadata of %s for planning", ident)
	}

	// The schema the scan binds names in: iceberg-go's choice (the
	// snapshot's or the table's), read back from a scan that selects every
	// column.
	probe := table.New(ident, spec.meta, metaLoc, noIO, nil).Scan(spec.opts...)
	schema, err := probe.Projection()
	_ = probe.Close()
	if err != nil {
		return nil, errs.New(errs.BadRequest, "Invalid scan: %v", err)
	}

	spec.opts = append(spec.opts, table.WithCaseSensitive(req.CaseSensitive))
	if len(req.Select) > 0 {
		if slices.Contains(req.Select, "") {
			return nil, errs.New(errs.BadRequest, "Invalid select: empty field name")
		}
		if _, err := schema.Select(req.CaseSensitive, req.Select...); err != nil {
			return nil, errs.New(errs.BadRequest, "Invalid select: %v", err)
		}
		spec.opts = append(spec.opts, table.WithSelectedFields(req.Select...))
	}
	if len(req.Filter) > 0 && string(req.Filter) != "null" {
		if spec.filter, err = decodeFilter(req.Filter, schema, req.CaseSensitive); err != nil {
			return nil, err
		}
		spec.opts = append(spec.opts, table.WithRowFilter(spec.filter))
	}
	if req.StatsFields != nil {
		spec.stats = map[int]bool{}
		for _, name := range req.StatsFields {
			f, ok := schema.FindFieldByName(name)
			if !req.CaseSensitive {
				f, ok = schema.FindFieldByNameCaseInsensitive(name)
			}
			if !ok {
				return nil, errs.New(errs.BadRequest, "Invalid stats-fields: cannot find field %q", name)
			}
			addFieldIDs(spec.stats, f)
		}
	}
	return spec, nil
}

// addFieldIDs adds a field's id and those of every field nested in it.
func addFieldIDs(ids map[int]bool, f iceberg.NestedField) {
	ids[f.ID] = true
	if nested, ok := f.Type.(iceberg.NestedType); ok {
		for _, c := range nested.Fields() {
			addFieldIDs(ids, c)
		}
	}
}

// scanMetadata is meta as the catalog's scans see it: with props set, and
// with the main branch at branchAt when not nil. Nothing is written.
func scanMetadata(meta table.Metadata, metaLoc string, props iceberg.Properties, branchAt *int64) (table.Metadata, error) {
	b, err := table.MetadataBuilderFromBase(meta, metaLoc)
	if err != nil {
		return nil, err
	}
	if err := b.SetProperties(props); err != nil {
		return nil, err
	}
	if branchAt != nil {
		if err := b.SetSnapshotRef(table.MainBranch, *branchAt, table.BranchRef); err != nil {
			return nil, err
		}
	}
	return b.Build()
}

// noIO is the FileIO of scans that must not read anything.
func noIO(context.Context) (icebergio.IO, error) {
	return nil, errs.New(errs.Internal, "planning: unexpected file access")
}
