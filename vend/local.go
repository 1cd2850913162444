package vend

import (
	"context"
	"errors"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
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

// WriteNew implements FileIO. It writes a temporary sibling, flushes it and
// publishes it with iceberg-go's RenameNoReplace (a hard link on the local
// filesystem), so readers never see a partial file and an existing file is
// never replaced.
func (s *Local) WriteNew(ctx context.Context, location string, data []byte) (err error) {
	fsys, err := s.fsFor(ctx, location)
	if err != nil {
		return err
	}
	wfs, okW := fsys.(icebergio.WriteFileIO)
	rfs, okR := fsys.(icebergio.RenameNoReplaceIO)
	if !okW || !okR {
		return errs.New(errs.NotImplemented, "Exclusive create is not supported for %s", location)
	}
	tmp := location + temporarySuffix + uuid.NewString()
	w, err := wfs.Create(tmp)
	if err != nil {
		return storageError(err, "write", tmp)
	}
	defer func() {
		if err != nil {
			_ = fsys.Remove(tmp)
		}
	}()
	if _, err = w.Write(data); err != nil {
		_ = w.Close()
		return storageError(err, "write", tmp)
	}
	// iceberg-go's LocalFS hands out *os.File without syncing it; a
	// metadata file must be durable before the catalog points at it.
	if f, ok := w.(interface{ Sync() error }); ok {
		if err = f.Sync(); err != nil {
			_ = w.Close()
			return storageError(err, "write", tmp)
		}
	}
	if err = w.Close(); err != nil {
		return storageError(err, "write", tmp)
	}
	failpoint.Kill(failpoint.MetadataWritten)
	if err = rfs.RenameNoReplace(tmp, location); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return errs.Wrap(errs.AlreadyExists, err, "File already exists: %s", location)
		}
		return storageError(err, "write", location)
	}
	return nil
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
