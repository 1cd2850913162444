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
	"net/http"
	"syscall"
	"time"

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
	// Delete removes one file; a missing file is not an error. There is
	// deliberately no way to delete a directory or a prefix: the catalog
	// deletes the files it knows a table owns, one by one.
	Delete(ctx context.Context, location string) error
	// FS is iceberg-go's IO for location, to read manifest lists and
	// manifests with iceberg-go.
	FS(ctx context.Context, location string) (icebergio.IO, error)

	// SweepTemporary removes the temporary files that WriteNew left below
	// location when its process died mid-write, if last modified before
	// before (younger ones may be writes in progress on another node). It
	// returns how many it removed. Object stores write whole objects and
	// leave none.
	SweepTemporary(ctx context.Context, location string, before time.Time) (int, error)
	// RemoveEmptyDirectories removes the directory at location and the
	// directories below it if they hold no files; a directory holding one
	// stays, as do its parents. Object stores have no directories.
	RemoveEmptyDirectories(ctx context.Context, location string) error
}

// objectIO is what each storage backend implements; Storage adds what
// only the local file system needs.
type objectIO interface {
	WriteNew(ctx context.Context, location string, data []byte) error
	Read(ctx context.Context, location string) ([]byte, error)
	Exists(ctx context.Context, location string) (bool, error)
	Delete(ctx context.Context, location string) error
	FS(ctx context.Context, location string) (icebergio.IO, error)
}

// Storage failures are classified by who can fix them, so that clients are
// told the truth: a location the storage cannot hold (a name too long, an
// invalid path) is the request's fault (400); a missing object is 404 where
// the operation reads it; a full disk or an exhausted quota is 507, with the
// cause in the message; only storage that cannot be reached, or that asks
// to slow down, is 503 (which clients retry). Refusals of the catalog's own
// credentials, and anything unrecognised, are 500: an operator must look.

// storageError turns a local file system failure into an errs kind.
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
	case errors.Is(err, syscall.ENOTDIR):
		return errs.Wrap(errs.BadRequest, err, "A parent of location %s is a file, not a directory", location)
	case errors.Is(err, syscall.ENAMETOOLONG):
		return errs.Wrap(errs.BadRequest, err, "Location %s has a name too long for the file system", location)
	case errors.Is(err, syscall.EINVAL), errors.Is(err, syscall.EILSEQ):
		return errs.Wrap(errs.BadRequest, err, "Location %s is not a valid path for the file system", location)
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return errs.Wrap(errs.InsufficientStorage, err, "Storage is full: cannot %s %s: %s", op, location, errnoText(err))
	case errors.Is(err, fs.ErrPermission), errors.Is(err, syscall.EROFS):
		return errs.Wrap(errs.Internal, err, "Storage refused the catalog access: cannot %s %s: %s", op, location, errnoText(err))
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	}
	return errs.Wrap(errs.Internal, err, "Storage failed to %s %s: %s", op, location, errnoText(err))
}

// errnoText is the system's wording of err's errno ("no space left on
// device"), without the paths that the rest of the error repeats.
func errnoText(err error) string {
	var no syscall.Errno
	if errors.As(err, &no) {
		return no.Error()
	}
	return err.Error()
}

// refusal classifies an object store's answer to op on location: its HTTP
// status, its error code, and text naming both for the message. Codes are
// those of S3, GCS and Azure Blob Storage; what is specific to each store
// (not found, already exists) is decided by the caller first.
func refusal(err error, status int, code, text, op, location string) error {
	switch {
	case slowDownCodes[code] || status == http.StatusTooManyRequests || (status >= 500 && status != http.StatusInsufficientStorage):
		return errs.Wrap(errs.ServiceUnavailable, err, "Storage is busy or failing: cannot %s %s: %s", op, location, text)
	case fullCodes[code] || status == http.StatusInsufficientStorage:
		return errs.Wrap(errs.InsufficientStorage, err, "Storage is full or over quota: cannot %s %s: %s", op, location, text)
	case badLocationCodes[code]:
		return errs.Wrap(errs.BadRequest, err, "Storage refused the location %s: %s", location, text)
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return errs.Wrap(errs.Internal, err, "Storage refused the catalog access: cannot %s %s: %s", op, location, text)
	}
	return errs.Wrap(errs.Internal, err, "Storage refused to %s %s: %s", op, location, text)
}

var (
	slowDownCodes = map[string]bool{
		"SlowDown": true, "Throttling": true, "ThrottlingException": true, "RequestLimitExceeded": true,
		"ServiceUnavailable": true, "InternalError": true, "RequestTimeout": true, "XMinioServerNotInitialized": true,
		"rateLimitExceeded": true, "userRateLimitExceeded": true, "backendError": true,
		"ServerBusy": true, "OperationTimedOut": true,
	}
	fullCodes = map[string]bool{
		"XMinioStorageFull": true, "QuotaExceeded": true, "XMinioAdminBucketQuotaExceeded": true,
		"quotaExceeded": true, "storageQuotaExceeded": true,
		"AccountLimitExceeded": true, "ContainerQuotaExceeded": true,
	}
	badLocationCodes = map[string]bool{
		"KeyTooLongError": true, "InvalidObjectName": true, "XMinioInvalidObjectName": true, "InvalidURI": true,
		"EntityTooLarge": true, "invalid": true, "invalidParameter": true,
		"InvalidResourceName": true, "InvalidUri": true, "OutOfRangeInput": true, "RequestBodyTooLarge": true,
	}
)

func readAll(f icebergio.File) ([]byte, error) {
	defer f.Close()
	return io.ReadAll(f)
}
