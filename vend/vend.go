// Package vend is the catalog's access to table storage, and the access it
// hands to clients.
//
// Storage: one FileIO serves every warehouse. It writes, reads and deletes
// the files the catalog itself manages (table and view metadata files, the
// metadata files read by register) and deletes the files of purged tables.
// Open builds it from the configured warehouses; each location is routed to
// the backend of the warehouse (storage profile) it lies in: the local
// filesystem (file:// URIs and absolute paths), S3, GCS or Azure Blob
// Storage / ADLS Gen2.
//
// Delegated access: each warehouse's Vendor hands clients access to one
// table's files, as scoped credentials (vended-credentials) or by signing
// their requests (remote-signing); see Vendor.
//
// Manifests and data files are read by iceberg-go's io package (FileIO.FS),
// the same code the Iceberg Go client uses.
package vend

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"syscall"

	icebergio "github.com/apache/iceberg-go/io"

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
