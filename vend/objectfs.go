package vend

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"path"
	"time"

	icebergio "github.com/apache/iceberg-go/io"

	"github.com/bingsan/bingsan/errs"
)

// objectFS is iceberg-go's IO for the files of an object store, with the
// catalog's own access. The catalog reads manifest lists and manifests
// through it, whole: each Open is one GET.
type objectFS struct {
	ctx    context.Context
	store  objectIO
	kind   string
	bucket string // the one bucket (container) served; empty: any
}

var _ icebergio.ReadFileIO = (*objectFS)(nil)

func newObjectFS(ctx context.Context, store objectIO, kind, bucket string) *objectFS {
	return &objectFS{ctx: ctx, store: store, kind: kind, bucket: bucket}
}

// check refuses names of other stores, and outside the bucket when there
// is one, as iceberg-go's own blob IO does.
func (f *objectFS) check(op, name string) error {
	l, err := parseLocation(name)
	if err == nil && (l.kind != f.kind || (f.bucket != "" && l.bucket != f.bucket) || l.bucket == "" || l.key == "") {
		err = fmt.Errorf("%s is not a file of this %s storage", name, f.kind)
	}
	if err != nil {
		return &fs.PathError{Op: op, Path: name, Err: err}
	}
	return nil
}

// pathError is err as iceberg-go expects it: a missing file is
// fs.ErrNotExist.
func pathError(op, name string, err error) error {
	if errs.Is(err, errs.NotFound) {
		return &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
	}
	return &fs.PathError{Op: op, Path: name, Err: err}
}

// ReadFile implements icebergio.ReadFileIO.
func (f *objectFS) ReadFile(name string) ([]byte, error) {
	if err := f.check("read", name); err != nil {
		return nil, err
	}
	data, err := f.store.Read(f.ctx, name)
	if err != nil {
		return nil, pathError("read", name, err)
	}
	return data, nil
}

// Open implements icebergio.IO.
func (f *objectFS) Open(name string) (icebergio.File, error) {
	if err := f.check("open", name); err != nil {
		return nil, err
	}
	data, err := f.store.Read(f.ctx, name)
	if err != nil {
		return nil, pathError("open", name, err)
	}
	return &objectFile{Reader: bytes.NewReader(data), name: path.Base(name), size: int64(len(data))}, nil
}

// Remove implements icebergio.IO.
func (f *objectFS) Remove(name string) error {
	if err := f.check("remove", name); err != nil {
		return err
	}
	if err := f.store.Delete(f.ctx, name); err != nil {
		return pathError("remove", name, err)
	}
	return nil
}

// objectFile is an object read into memory.
type objectFile struct {
	*bytes.Reader
	name string
	size int64
}

func (o *objectFile) Stat() (fs.FileInfo, error) { return objectInfo{o.name, o.size}, nil }
func (o *objectFile) Close() error               { return nil }

type objectInfo struct {
	name string
	size int64
}

func (i objectInfo) Name() string       { return i.name }
func (i objectInfo) Size() int64        { return i.size }
func (i objectInfo) Mode() fs.FileMode  { return 0o444 }
func (i objectInfo) ModTime() time.Time { return time.Time{} }
func (i objectInfo) IsDir() bool        { return false }
func (i objectInfo) Sys() any           { return nil }
