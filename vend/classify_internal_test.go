package vend

import (
	"errors"
	"io/fs"
	"net/http"
	"strings"
	"syscall"
	"testing"

	"github.com/bingsan/bingsan/errs"
)

func TestStorageErrorClasses(t *testing.T) {
	t.Parallel()
	pathErr := func(no syscall.Errno) error { return &fs.PathError{Op: "open", Path: "/wh/t/x", Err: no} }
	cases := []struct {
		name string
		err  error
		want errs.Kind
		text string // the message must carry the cause
	}{
		{"missing", pathErr(syscall.ENOENT), errs.NotFound, "does not exist"},
		{"exists", pathErr(syscall.EEXIST), errs.AlreadyExists, "already exists"},
		{"name too long", pathErr(syscall.ENAMETOOLONG), errs.BadRequest, "too long"},
		{"parent is a file", pathErr(syscall.ENOTDIR), errs.BadRequest, "not a directory"},
		{"invalid", pathErr(syscall.EINVAL), errs.BadRequest, "not a valid path"},
		{"disk full", pathErr(syscall.ENOSPC), errs.InsufficientStorage, "no space left on device"},
		{"quota", pathErr(syscall.EDQUOT), errs.InsufficientStorage, "quota"},
		{"permission", pathErr(syscall.EACCES), errs.Internal, "permission denied"},
		{"read-only", pathErr(syscall.EROFS), errs.Internal, "read-only"},
		{"I/O error", pathErr(syscall.EIO), errs.Internal, "input/output error"},
	}
	for _, tc := range cases {
		got := storageError(tc.err, "write", "file:///wh/t/x")
		if !errs.Is(got, tc.want) || !containsFold(got.Error(), tc.text) {
			t.Errorf("%s: got %v, want kind %v mentioning %q", tc.name, got, tc.want, tc.text)
		}
	}

	objects := []struct {
		name   string
		status int
		code   string
		want   errs.Kind
	}{
		{"S3 slow down", 503, "SlowDown", errs.ServiceUnavailable},
		{"GCS rate limit", 429, "rateLimitExceeded", errs.ServiceUnavailable},
		{"Azure busy", 503, "ServerBusy", errs.ServiceUnavailable},
		{"server error", 500, "InternalError", errs.ServiceUnavailable},
		{"MinIO full", 507, "XMinioStorageFull", errs.InsufficientStorage},
		{"GCS quota", 403, "quotaExceeded", errs.InsufficientStorage},
		{"S3 key too long", 400, "KeyTooLongError", errs.BadRequest},
		{"Azure bad name", 400, "InvalidResourceName", errs.BadRequest},
		{"access denied", 403, "AccessDenied", errs.Internal},
		{"unknown", 400, "Mystery", errs.Internal},
	}
	for _, tc := range objects {
		got := refusal(errors.New("x"), tc.status, tc.code, http.StatusText(tc.status)+" "+tc.code, "write", "s3://b/t/x")
		if !errs.Is(got, tc.want) || !containsFold(got.Error(), tc.code) {
			t.Errorf("%s: got %v, want kind %v naming %s", tc.name, got, tc.want, tc.code)
		}
	}
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}
