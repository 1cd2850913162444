package planning

import (
	"context"
	"errors"
	"io/fs"
	"net"

	"github.com/apache/iceberg-go"
	icebergio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"

	"github.com/bingsan/bingsan/errs"
)

// manifests is what a plan reads: the manifest lists of its snapshots and
// the data manifests to scan, in manifest list order.
type manifests struct {
	lists []*manifestList
	data  []iceberg.ManifestFile
	// deletes tells whether any delete manifest is in play.
	deletes bool
	// embedded is set when a snapshot lists its manifests in the metadata
	// (format v1 without a manifest list): such a scan runs in one window.
	embedded bool
}

// readManifests reads the manifest lists of spec's snapshots through fio.
func readManifests(spec *scanSpec, fio icebergio.IO) (*manifests, error) {
	out := &manifests{}
	inRange := map[int64]bool{}
	for _, s := range spec.snapshots {
		inRange[s.SnapshotID] = true
	}
	seen := map[string]bool{}
	for _, s := range spec.snapshots {
		if s.ManifestList == "" {
			out.embedded = true
			continue
		}
		l, err := readManifestList(fio, s, spec.meta.Version())
		if err != nil {
			return nil, readError(err, "manifest list "+s.ManifestList)
		}
		out.lists = append(out.lists, l)
		for _, m := range l.manifests {
			if m.ManifestContent() == iceberg.ManifestContentDeletes {
				out.deletes = true
				continue
			}
			// An incremental scan reads only manifests its range added.
			if seen[m.FilePath()] || (spec.from != nil && !inRange[m.SnapshotID()]) {
				continue
			}
			seen[m.FilePath()] = true
			out.data = append(out.data, m)
		}
	}
	return out, nil
}

// planTasks plans spec with iceberg-go's scans, one window of data
// manifests at a time (see windowIO), and hands every file scan task to
// emit as it comes. A window holds manifests of at most windowFiles live
// data files in all (one manifest, whatever its size, at least).
func planTasks(ctx context.Context, spec *scanSpec, fio icebergio.IO, ms *manifests, windowFiles, concurrency int, emit func(table.FileScanTask) error) error {
	if len(spec.snapshots) == 0 {
		return nil // an empty table
	}
	wio := newWindowIO(fio, ms.lists)
	scanIO := icebergio.IO(wio)
	var windows [][]iceberg.ManifestFile
	switch {
	case ms.embedded:
		scanIO, windows = fio, append(windows, nil)
	case len(ms.data) == 0:
		return nil
	default:
		windows = splitWindows(ms.data, windowFiles)
	}
	fsF := func(context.Context) (icebergio.IO, error) { return scanIO, nil }

	// min-rows-requested is a hint. iceberg-go uses it (as a scan limit) only
	// when every row of the planned files is a result row: no filter, no
	// deletes. The windows then stop as soon as they have that many rows,
	// as one scan over every manifest would.
	remaining := int64(-1)
	if spec.minRows != nil && spec.filter == nil && !ms.deletes {
		remaining = *spec.minRows
	}
	for _, w := range windows {
		if remaining == 0 {
			break
		}
		wio.setWindow(w)
		opts := append(spec.opts[:len(spec.opts):len(spec.opts)], table.WithMaxConcurrency(concurrency))
		if remaining > 0 {
			opts = append(opts, table.WithLimit(remaining))
		}
		tbl := table.New(spec.ident, spec.meta, spec.metaLoc, fsF, nil)
		var (
			tasks []table.FileScanTask
			err   error
		)
		if spec.from != nil {
			tasks, err = tbl.NewIncrementalAppendScan(opts...).FromSnapshotExclusive(*spec.from).ToSnapshot(*spec.to).PlanFiles(ctx)
		} else {
			scan := tbl.Scan(opts...)
			tasks, err = scan.PlanFiles(ctx)
			_ = scan.Close()
		}
		if err != nil {
			return planError(err)
		}
		for i, t := range tasks {
			if err := emit(t); err != nil {
				return err
			}
			tasks[i] = table.FileScanTask{} // let the emitted ones go
			if remaining > 0 {
				remaining = max(0, remaining-t.File.Count())
			}
		}
	}
	return nil
}

// splitWindows cuts manifests, in order, into windows of at most
// windowFiles live data files by their manifest-list counts. A manifest
// whose counts are unknown (format v1 may leave them out) fills a window.
func splitWindows(ms []iceberg.ManifestFile, windowFiles int) [][]iceberg.ManifestFile {
	var (
		out   [][]iceberg.ManifestFile
		start int
		files int64
	)
	for i, m := range ms {
		n := int64(windowFiles)
		if added, existing := m.AddedDataFiles(), m.ExistingDataFiles(); added >= 0 && existing >= 0 {
			n = int64(added) + int64(existing)
		}
		if i > start && files+n > int64(windowFiles) {
			out = append(out, ms[start:i])
			start, files = i, 0
		}
		files += n
	}
	return append(out, ms[start:])
}

// planError classifies a failure of iceberg-go's planning.
func planError(err error) error {
	var de *errs.Error
	switch {
	case errors.As(err, &de), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.Is(err, iceberg.ErrInvalidArgument), errors.Is(err, table.ErrInvalidOperation):
		return errs.Wrap(errs.BadRequest, err, "Cannot plan the scan: %v", err)
	}
	return readError(err, "the table's manifests")
}

// readError is the error for a failure reading what.
func readError(err error, what string) error {
	var de *errs.Error
	switch {
	case errors.As(err, &de), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.Is(err, fs.ErrNotExist):
		return errs.Wrap(errs.Internal, err, "Cannot plan the scan: a file of the table is missing (%v)", err)
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return errs.Wrap(errs.ServiceUnavailable, err, "Cannot plan the scan: storage did not answer reading %s: %v", what, err)
	}
	return errs.Wrap(errs.Internal, err, "Cannot plan the scan: reading %s failed: %v", what, err)
}
