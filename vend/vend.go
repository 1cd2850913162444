// Package vend is the catalog's access to table storage: it writes, reads and
// deletes the files the catalog itself manages (table metadata files) and
// deletes the files of purged tables. Object stores and credential vending
// for clients will live here too; for now only the local filesystem
// (file:// URIs and absolute paths) is served.
//
// Storage is reached through iceberg-go's io package (io.LoadFS picks the
// implementation by scheme), so manifests and data files are read by the
// same code the Iceberg Go client uses. What this package adds on top is the
// exclusive create that metadata files need, and errs kinds for failures.
package vend

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"net/url"
	"path/filepath"
	"strings"
	"syscall"

	icebergio "github.com/apache/iceberg-go/io"
	"github.com/google/uuid"

	"github.com/bingsan/bingsan/errs"
)

// FileIO is what the catalog needs from storage. Locations are URIs
// (file:///data/wh/t/metadata/00000-….metadata.json) or absolute paths.
//
// Errors are errs kinds: NotFound for a missing file, AlreadyExists when
// WriteNew finds the file present, BadRequest for a location this FileIO
// cannot serve (unknown scheme, relative path), ServiceUnavailable when the
// storage cannot be reached or refuses the operation.
type FileIO interface {
	// WriteNew creates location with data; it fails with AlreadyExists
	// instead of replacing a file that exists, and never leaves a partly
	// written file at location.
	WriteNew(ctx context.Context, location string, data []byte) error
	// Read returns the whole file.
	Read(ctx context.Context, location string) ([]byte, error)
	// Exists reports whether location names an existing file.
	Exists(ctx context.Context, location string) (bool, error)
	// Delete removes one file; a missing file is not an error.
	Delete(ctx context.Context, location string) error
	// DeletePrefix removes everything under prefix, which names a
	// directory (a trailing slash is optional); a missing prefix is not an
	// error.
	DeletePrefix(ctx context.Context, prefix string) error
	// FS is iceberg-go's IO for location, to read manifest lists and
	// manifests with iceberg-go.
	FS(ctx context.Context, location string) (icebergio.IO, error)
}

// Storage implements FileIO over iceberg-go's io.LoadFS.
type Storage struct {
	props map[string]string
}

var _ FileIO = (*Storage)(nil)

// New returns a Storage; props are passed to iceberg-go's io.LoadFS (the
// s3.*, gcs.*, adls.* keys of iceberg-go's io package).
func New(props map[string]string) *Storage {
	p := make(map[string]string, len(props))
	for k, v := range props {
		p[k] = v
	}
	return &Storage{props: p}
}

// NewLocal returns a Storage for the local filesystem only.
func NewLocal() *Storage { return New(nil) }

// fsFor returns the iceberg-go IO serving location, after checking that the
// location is one this package knows how to serve.
func (s *Storage) fsFor(ctx context.Context, location string) (icebergio.IO, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if location == "" {
		return nil, errs.New(errs.BadRequest, "Storage location must not be empty")
	}
	u, err := url.Parse(location)
	if err != nil {
		return nil, errs.Wrap(errs.BadRequest, err, "Invalid storage location: %s", location)
	}
	switch strings.ToLower(u.Scheme) {
	case "":
		// A plain path: iceberg-go's LocalFS would resolve a relative path
		// against the server's working directory; never do that.
		if !filepath.IsAbs(location) {
			return nil, errs.New(errs.BadRequest, "Storage location must be an absolute path or a URI: %s", location)
		}
	case "file":
		if u.Host != "" && !strings.EqualFold(u.Host, "localhost") {
			return nil, errs.New(errs.BadRequest, "Unsupported file URI authority %q in %s", u.Host, location)
		}
		if u.Path == "" || !strings.HasPrefix(u.Path, "/") {
			return nil, errs.New(errs.BadRequest, "File URI must have an absolute path: %s", location)
		}
	default:
		// Object stores come with credential vending; until then only
		// local storage is served, whatever iceberg-go has registered.
		return nil, errs.New(errs.BadRequest, "Unsupported storage scheme %q in %s", u.Scheme, location)
	}
	fsys, err := icebergio.LoadFS(ctx, s.props, location)
	if err != nil {
		if errors.Is(err, icebergio.ErrIOSchemeNotFound) {
			return nil, errs.Wrap(errs.BadRequest, err, "Unsupported storage scheme %q in %s", u.Scheme, location)
		}
		return nil, errs.Wrap(errs.ServiceUnavailable, err, "Storage for %s is unavailable", location)
	}
	return fsys, nil
}

// FS implements FileIO.
func (s *Storage) FS(ctx context.Context, location string) (icebergio.IO, error) {
	return s.fsFor(ctx, location)
}

// WriteNew implements FileIO. It writes a temporary sibling, flushes it and
// publishes it with iceberg-go's RenameNoReplace (a hard link on the local
// filesystem), so readers never see a partial file and an existing file is
// never replaced.
func (s *Storage) WriteNew(ctx context.Context, location string, data []byte) (err error) {
	fsys, err := s.fsFor(ctx, location)
	if err != nil {
		return err
	}
	wfs, okW := fsys.(icebergio.WriteFileIO)
	rfs, okR := fsys.(icebergio.RenameNoReplaceIO)
	if !okW || !okR {
		return errs.New(errs.NotImplemented, "Exclusive create is not supported for %s", location)
	}
	tmp := location + ".tmp-" + uuid.NewString()
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
	if err = rfs.RenameNoReplace(tmp, location); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return errs.Wrap(errs.AlreadyExists, err, "File already exists: %s", location)
		}
		return storageError(err, "write", location)
	}
	return nil
}

// Read implements FileIO.
func (s *Storage) Read(ctx context.Context, location string) ([]byte, error) {
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
func (s *Storage) Exists(ctx context.Context, location string) (bool, error) {
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
func (s *Storage) Delete(ctx context.Context, location string) error {
	fsys, err := s.fsFor(ctx, location)
	if err != nil {
		return err
	}
	if err := fsys.Remove(location); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return storageError(err, "delete", location)
	}
	return nil
}

// DeletePrefix implements FileIO.
func (s *Storage) DeletePrefix(ctx context.Context, prefix string) error {
	dir := strings.TrimRight(prefix, "/")
	fsys, err := s.fsFor(ctx, dir)
	if err != nil {
		return err
	}
	// Refuse to wipe a filesystem root however the prefix was spelled.
	if u, _ := url.Parse(dir); u == nil || strings.Trim(u.Path, "/") == "" {
		return errs.New(errs.BadRequest, "Refusing to delete everything under %q", prefix)
	}
	ra, ok := fsys.(icebergio.RemoveAllIO)
	if !ok {
		return errs.New(errs.NotImplemented, "Deleting a prefix is not supported for %s", prefix)
	}
	if err := ra.RemoveAll(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return storageError(err, "delete", prefix)
	}
	return nil
}

// storageError turns a storage failure into an errs kind.
func storageError(err error, op, location string) error {
	var e *errs.Error
	switch {
	case errors.As(err, &e):
		return err
	case errors.Is(err, fs.ErrNotExist):
		return errs.Wrap(errs.NotFound, err, "File does not exist: %s", location)
	case errors.Is(err, fs.ErrExist):
		return errs.Wrap(errs.AlreadyExists, err, "File already exists: %s", location)
	case errors.Is(err, syscall.EISDIR):
		return errs.Wrap(errs.BadRequest, err, "Location is a directory, not a file: %s", location)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	}
	return errs.Wrap(errs.ServiceUnavailable, err, "Storage failed to %s %s", op, location)
}

func readAll(f icebergio.File) ([]byte, error) {
	defer f.Close()
	return io.ReadAll(f)
}
