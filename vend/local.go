package vend

import (
	"context"
	"errors"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	icebergio "github.com/apache/iceberg-go/io"
	"github.com/google/uuid"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/internal/failpoint"
)

// Local is the FileIO of the local filesystem (file:// URIs and absolute
// paths), over iceberg-go's LocalFS.
type Local struct{}

var _ FileIO = (*Local)(nil)

// NewLocal returns the FileIO of the local filesystem.
func NewLocal() *Local { return &Local{} }

// fsFor returns the iceberg-go IO serving location, after checking that the
// location is one this package knows how to serve.
func (s *Local) fsFor(ctx context.Context, location string) (icebergio.IO, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if _, err := localPath(location); err != nil {
		return nil, err
	}
	fsys, err := icebergio.LoadFS(ctx, nil, location)
	if err != nil {
		u, _ := url.Parse(location)
		if errors.Is(err, icebergio.ErrIOSchemeNotFound) {
			return nil, errs.Wrap(errs.BadRequest, err, "Unsupported storage scheme %q in %s", u.Scheme, location)
		}
		return nil, errs.Wrap(errs.ServiceUnavailable, err, "Storage for %s is unavailable", location)
	}
	return fsys, nil
}

// localPath returns the file system path of location, a file:// URI or an
// absolute path, refusing what this package does not serve.
func localPath(location string) (string, error) {
	if location == "" {
		return "", errs.New(errs.BadRequest, "Storage location must not be empty")
	}
	u, err := url.Parse(location)
	if err != nil {
		return "", errs.Wrap(errs.BadRequest, err, "Invalid storage location: %s", location)
	}
	switch strings.ToLower(u.Scheme) {
	case "":
		// A plain path: iceberg-go's LocalFS would resolve a relative path
		// against the server's working directory; never do that.
		if !filepath.IsAbs(location) {
			return "", errs.New(errs.BadRequest, "Storage location must be an absolute path or a URI: %s", location)
		}
		return location, nil
	case "file":
		if u.Host != "" && !strings.EqualFold(u.Host, "localhost") {
			return "", errs.New(errs.BadRequest, "Unsupported file URI authority %q in %s", u.Host, location)
		}
		if u.Path == "" || !strings.HasPrefix(u.Path, "/") {
			return "", errs.New(errs.BadRequest, "File URI must have an absolute path: %s", location)
		}
		return filepath.FromSlash(u.Path), nil
	}
	// Object stores are served by their own backends (see Open).
	return "", errs.New(errs.BadRequest, "Unsupported storage scheme %q in %s", u.Scheme, location)
}

// FS implements FileIO.
func (s *Local) FS(ctx context.Context, location string) (icebergio.IO, error) {
	return s.fsFor(ctx, location)
}

// WriteNew implements FileIO. It writes a temporary sibling, syncs it and
// publishes it with a hard link (never replacing an existing file), so
// that readers never see a partial file. Then it syncs the directory that
// got the new name, and the parent of every directory it made, so that the
// file is reachable after a crash: when WriteNew returns, the file is
// durable. That is one fsync for the file and one for its directory, plus
// one per directory it created.
func (s *Local) WriteNew(ctx context.Context, location string, data []byte) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	path, err := localPath(location)
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	tmp := path + temporarySuffix + uuid.NewString()
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	var made []string
	if errors.Is(err, fs.ErrNotExist) {
		if made, err = makeDirs(dir); err != nil {
			return storageError(err, "write", tmp)
		}
		f, err = os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	}
	if err != nil {
		return storageError(err, "write", tmp)
	}
	defer func() {
		if err != nil {
			_ = os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return storageError(err, "write", tmp)
	}
	failpoint.Kill(failpoint.MetadataWritten)
	if err = os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return errs.Wrap(errs.AlreadyExists, err, "File already exists: %s", location)
		}
		return storageError(err, "write", location)
	}
	// The link is what the catalog will point at; the temporary name only
	// has to go, durably or not (a leftover is swept).
	_ = os.Remove(tmp)
	if err = syncDirs(dir, made); err != nil {
		// The file is there but may not survive a crash: the write failed.
		_ = os.Remove(path)
		return storageError(err, "write", location)
	}
	return nil
}

// unsyncedDirs are directories this process created whose entry in their
// parent is not yet synced: a writer finding one of them existing syncs
// its parent too, so that it never relies on another writer's sync still
// to come.
var unsyncedDirs = struct {
	sync.Mutex
	m map[string]int
}{m: map[string]int{}}

// makeDirs creates dir and its missing ancestors. It returns the
// directories whose entries in their parents must be synced for dir to
// survive a crash: those it made and those another writer of this process
// made and has not synced yet, deepest first.
func makeDirs(dir string) ([]string, error) {
	var missing []string
	for d := dir; ; d = filepath.Dir(d) {
		unsyncedDirs.Lock()
		pending := unsyncedDirs.m[d] > 0
		unsyncedDirs.Unlock()
		if _, err := os.Stat(d); err == nil && !pending {
			break
		}
		missing = append(missing, d)
		if parent := filepath.Dir(d); parent == d {
			break
		}
	}
	unsyncedDirs.Lock()
	for _, d := range missing {
		unsyncedDirs.m[d]++
	}
	unsyncedDirs.Unlock()
	for i := len(missing) - 1; i >= 0; i-- {
		if err := os.Mkdir(missing[i], 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			releaseDirs(missing)
			return nil, err
		}
	}
	return missing, nil
}

func releaseDirs(dirs []string) {
	unsyncedDirs.Lock()
	defer unsyncedDirs.Unlock()
	for _, d := range dirs {
		if unsyncedDirs.m[d]--; unsyncedDirs.m[d] <= 0 {
			delete(unsyncedDirs.m, d)
		}
	}
}

// syncDirs syncs dir (it holds a new name) and the parent of every
// directory in made (each is a new name in its parent).
// The syncs are independent and run at once: a journaling file system
// commits them together instead of one after the other.
func syncDirs(dir string, made []string) error {
	defer releaseDirs(made)
	if len(made) == 0 {
		return syncDir(dir)
	}
	errc := make(chan error, len(made))
	for _, d := range made {
		go func() { errc <- syncDir(filepath.Dir(d)) }()
	}
	err := syncDir(dir)
	for range made {
		if e := <-errc; err == nil {
			err = e
		}
	}
	return err
}

// syncDir makes the entries of dir durable. Concurrent writers into one
// directory (creates in one namespace) share its syncs: a writer waits
// for a sync that started after its change, running one itself when none
// is under way, so N writers cost about two syncs instead of N.
func syncDir(dir string) error {
	dirSyncs.Lock()
	st := dirSyncs.m[dir]
	if st == nil {
		st = &dirSync{}
		st.cond.L = &dirSyncs.Mutex
		dirSyncs.m[dir] = st
	}
	st.refs++
	defer func() {
		if st.refs--; st.refs == 0 {
			delete(dirSyncs.m, dir)
		}
		dirSyncs.Unlock()
	}()
	// The next sync to start is the first one that covers this writer's
	// change; syncs of one directory run one at a time, in order.
	need := st.started + 1
	for st.completed < need {
		if st.running {
			st.cond.Wait()
			continue
		}
		st.started++
		gen := st.started
		st.running = true
		dirSyncs.Unlock()
		err := fsyncDir(dir)
		dirSyncs.Lock()
		st.running = false
		st.completed = gen
		if err != nil {
			st.err, st.errGen = err, gen
		}
		st.cond.Broadcast()
	}
	if st.errGen >= need {
		return st.err
	}
	return nil
}

// dirSyncs are the directories being synced, under one lock (held only
// between syncs, never during one).
var dirSyncs = struct {
	sync.Mutex
	m map[string]*dirSync
}{m: map[string]*dirSync{}}

type dirSync struct {
	cond               sync.Cond
	refs               int    // writers waiting on or running a sync
	started, completed uint64 // generations of syncs
	running            bool
	err                error
	errGen             uint64 // the last sync that failed
}

func fsyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// Read implements FileIO.
func (s *Local) Read(ctx context.Context, location string) ([]byte, error) {
	fsys, err := s.fsFor(ctx, location)
	if err != nil {
		return nil, err
	}
	var b []byte
	if rf, ok := fsys.(icebergio.ReadFileIO); ok {
		b, err = rf.ReadFile(location)
	} else {
		var f icebergio.File
		f, err = fsys.Open(location)
		if err == nil {
			b, err = readAll(f)
		}
	}
	if err != nil {
		return nil, storageError(err, "read", location)
	}
	return b, nil
}

// Exists implements FileIO.
func (s *Local) Exists(ctx context.Context, location string) (bool, error) {
	fsys, err := s.fsFor(ctx, location)
	if err != nil {
		return false, err
	}
	if st, ok := fsys.(icebergio.StatIO); ok {
		info, err := st.Stat(location)
		if err == nil {
			return !info.IsDir(), nil
		}
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return false, storageError(err, "stat", location)
	}
	f, err := fsys.Open(location)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return false, storageError(err, "stat", location)
	}
	_ = f.Close()
	return true, nil
}

// Delete implements FileIO.
func (s *Local) Delete(ctx context.Context, location string) error {
	fsys, err := s.fsFor(ctx, location)
	if err != nil {
		return err
	}
	if err := fsys.Remove(location); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return storageError(err, "delete", location)
	}
	return nil
}

// temporarySuffix marks the temporary sibling WriteNew writes first. A
// process killed before publishing it leaves it behind; SweepTemporary
// removes such leftovers.
const temporarySuffix = ".tmp-"

// isTemporary reports whether name is a temporary sibling: its name ends
// with temporarySuffix and a UUID.
func isTemporary(name string) bool {
	i := strings.LastIndex(name, temporarySuffix)
	if i < 0 {
		return false
	}
	_, err := uuid.Parse(name[i+len(temporarySuffix):])
	return err == nil && len(name)-i-len(temporarySuffix) == 36
}

// SweepTemporary implements FileIO: it walks the directory tree at
// location and removes the temporary files last modified before before.
func (s *Local) SweepTemporary(ctx context.Context, location string, before time.Time) (int, error) {
	root, err := localPath(location)
	if err != nil {
		return 0, err
	}
	removed := 0
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed meanwhile (a purge)
			}
			return err
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		if d.IsDir() || !isTemporary(d.Name()) {
			return nil
		}
		info, err := d.Info()
		if err != nil || !info.ModTime().Before(before) {
			return nil // gone, or young enough to be a write in progress
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		removed++
		return nil
	})
	if err != nil && !errors.Is(err, context.Canceled) {
		return removed, storageError(err, "sweep", location)
	}
	return removed, err
}

// RemoveEmptyDirectories implements FileIO: directories are removed
// deepest first, and only when empty, so a file anywhere keeps its
// directory and every parent up to location.
func (s *Local) RemoveEmptyDirectories(ctx context.Context, location string) error {
	root, err := localPath(location)
	if err != nil {
		return err
	}
	var dirs []string
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() {
			dirs = append(dirs, p)
		}
		return ctx.Err()
	})
	if err != nil {
		return storageError(err, "tidy", location)
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		// Remove refuses a directory that is not empty: exactly the rule.
		if err := os.Remove(dirs[i]); err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTEMPTY) && !errors.Is(err, syscall.EEXIST) {
			return storageError(err, "tidy", location)
		}
	}
	return nil
}
