package planning

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/apache/iceberg-go"
	icebergio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"
)

// Bounded memory for large tables. iceberg-go's scans (table.Scan and
// IncrementalAppendScan) do all of planning — manifest-list pruning by
// partition summaries, partition and metrics evaluation of every entry,
// delete-file matching, residuals — but return every task of the scan at
// once, and the evaluators and delete indexes that do the work are not
// exported. So the catalog runs one scan per window of a few data
// manifests: windowIO is the FileIO of those scans, and serves each manifest
// list restricted to the window's data manifests (delete manifests are always
// all there, so deletes still match across windows). The union of the
// windows' tasks is the scan's; only one window's tasks are held at a time.
// This is the one place that works around iceberg-go's planning API; once
// iceberg-go streams tasks, it goes away.

// manifestList is one snapshot's manifest list, read once per plan.
type manifestList struct {
	snap      table.Snapshot
	version   int
	raw       []byte // the file as read
	manifests []iceberg.ManifestFile
	data      int // data manifests in it
}

// readManifestList reads snapshot snap's manifest list through fio.
func readManifestList(fio icebergio.IO, snap table.Snapshot, version int) (*manifestList, error) {
	f, err := fio.Open(snap.ManifestList)
	if err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(f)
	f.Close()
	if err != nil {
		return nil, err
	}
	ms, err := iceberg.ReadManifestList(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	l := &manifestList{snap: snap, version: version, raw: raw, manifests: ms}
	for _, m := range ms {
		if m.ManifestContent() != iceberg.ManifestContentDeletes {
			l.data++
		}
	}
	return l, nil
}

// windowIO is a read-only FileIO over base for the scans of one plan.
type windowIO struct {
	base  icebergio.IO
	lists map[string]*manifestList // by manifest list location

	mu      sync.Mutex
	window  map[string]bool     // data manifests visible now
	encoded map[string][]byte   // manifest lists restricted to window
	cached  map[string][]byte   // delete manifests read so far
	isDel   map[string]bool     // delete manifest locations
	room    int                 // bytes of delete manifests still cacheable
	files   *icebergio.MemFS    // hands out the cached bytes as files
	noCache map[string]struct{} // delete manifests too large to keep
}

// maxCachedDeletes bounds the delete manifests one plan keeps in memory
// (every window reads them all again).
const maxCachedDeletes = 32 << 20

func newWindowIO(base icebergio.IO, lists []*manifestList) *windowIO {
	w := &windowIO{
		base: base, lists: map[string]*manifestList{}, isDel: map[string]bool{},
		cached: map[string][]byte{}, room: maxCachedDeletes, files: icebergio.NewMemFS(), noCache: map[string]struct{}{},
	}
	for _, l := range lists {
		w.lists[l.snap.ManifestList] = l
		for _, m := range l.manifests {
			if m.ManifestContent() == iceberg.ManifestContentDeletes {
				w.isDel[m.FilePath()] = true
			}
		}
	}
	return w
}

// setWindow makes only the data manifests in window visible.
func (w *windowIO) setWindow(window []iceberg.ManifestFile) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.window = make(map[string]bool, len(window))
	for _, m := range window {
		w.window[m.FilePath()] = true
	}
	w.encoded = map[string][]byte{}
}

func (w *windowIO) Open(name string) (icebergio.File, error) {
	if l, ok := w.lists[name]; ok {
		b, err := w.list(name, l)
		if err != nil {
			return nil, err
		}
		return memFile(name, b)
	}
	if w.isDel[name] {
		return w.deleteManifest(name)
	}
	return w.base.Open(name)
}

func (w *windowIO) Remove(string) error {
	return errors.New("planning reads table files only")
}

// list encodes manifest list l with the window's data manifests only.
func (w *windowIO) list(name string, l *manifestList) ([]byte, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if b, ok := w.encoded[name]; ok {
		return b, nil
	}
	keep := make([]iceberg.ManifestFile, 0, len(w.window))
	for _, m := range l.manifests {
		if m.ManifestContent() == iceberg.ManifestContentDeletes || w.window[m.FilePath()] {
			keep = append(keep, m)
		}
	}
	if len(keep) == len(l.manifests) {
		return l.raw, nil // the window is the whole list
	}
	var firstRowID int64
	if l.snap.FirstRowID != nil {
		firstRowID = *l.snap.FirstRowID
	}
	seq := l.snap.SequenceNumber
	var buf bytes.Buffer
	if err := iceberg.WriteManifestList(l.version, &buf, l.snap.SnapshotID, l.snap.ParentSnapshotID, &seq, firstRowID, keep); err != nil {
		return nil, fmt.Errorf("restricting manifest list %s: %w", name, err)
	}
	w.encoded[name] = buf.Bytes()
	return buf.Bytes(), nil
}

// deleteManifest serves a delete manifest, from memory after the first
// read while the cache has room.
func (w *windowIO) deleteManifest(name string) (icebergio.File, error) {
	w.mu.Lock()
	_, cached := w.cached[name]
	_, tooLarge := w.noCache[name]
	w.mu.Unlock()
	if cached {
		return w.files.Open(name)
	}
	if tooLarge {
		return w.base.Open(name)
	}
	f, err := w.base.Open(name)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(f)
	f.Close()
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	if len(b) <= w.room {
		w.room -= len(b)
		w.cached[name] = nil
		_ = w.files.WriteFile(name, b)
	} else {
		w.noCache[name] = struct{}{}
	}
	w.mu.Unlock()
	return memFile(name, b)
}

// memFile is an in-memory file with b's content.
func memFile(name string, b []byte) (icebergio.File, error) {
	m := icebergio.NewMemFS()
	if err := m.WriteFile(name, b); err != nil {
		return nil, err
	}
	return m.Open(name)
}
