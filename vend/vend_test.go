package vend_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/vend"
)

// locations returns the two spellings of a local location the catalog
// accepts: a file:// URI and a plain absolute path.
func locations(t *testing.T) map[string]func(p string) string {
	return map[string]func(p string) string{
		"uri":  func(p string) string { return "file://" + filepath.ToSlash(p) },
		"path": func(p string) string { return p },
	}
}

func TestWriteNewReadDelete(t *testing.T) {
	t.Parallel()
	for name, loc := range locations(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			dir := t.TempDir()
			fio := vend.NewLocal()
			file := filepath.Join(dir, "a", "b", "metadata", "00000-x.metadata.json")

			if err := fio.WriteNew(ctx, loc(file), []byte(`{"a":1}`)); err != nil {
				t.Fatalf("WriteNew: %v", err)
			}
			got, err := fio.Read(ctx, loc(file))
			if err != nil || string(got) != `{"a":1}` {
				t.Fatalf("Read = %q, %v", got, err)
			}
			if ok, err := fio.Exists(ctx, loc(file)); !ok || err != nil {
				t.Fatalf("Exists = %v, %v", ok, err)
			}

			// A second create of the same file fails and keeps the first content.
			err = fio.WriteNew(ctx, loc(file), []byte(`{"a":2}`))
			if !errs.Is(err, errs.AlreadyExists) {
				t.Fatalf("second WriteNew: want AlreadyExists, got %v", err)
			}
			got, _ = fio.Read(ctx, loc(file))
			if string(got) != `{"a":1}` {
				t.Fatalf("file replaced: %q", got)
			}
			// No temporary files are left behind.
			entries, _ := os.ReadDir(filepath.Dir(file))
			if len(entries) != 1 {
				t.Fatalf("want exactly the metadata file, got %v", entries)
			}

			if err := fio.Delete(ctx, loc(file)); err != nil {
				t.Fatalf("Delete: %v", err)
			}
			if err := fio.Delete(ctx, loc(file)); err != nil {
				t.Fatalf("Delete of a missing file: %v", err)
			}
			_, err = fio.Read(ctx, loc(file))
			if !errs.Is(err, errs.NotFound) {
				t.Fatalf("Read after delete: want NotFound, got %v", err)
			}
			if ok, err := fio.Exists(ctx, loc(file)); ok || err != nil {
				t.Fatalf("Exists after delete = %v, %v", ok, err)
			}
		})
	}
}

func TestWriteNewConcurrentOneWinner(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fio := vend.NewLocal()
	file := "file://" + filepath.Join(t.TempDir(), "m.json")
	const n = 16
	var wg sync.WaitGroup
	results := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = fio.WriteNew(ctx, file, []byte(strings.Repeat("x", 1000+i)))
		}()
	}
	wg.Wait()
	wins := 0
	for _, err := range results {
		switch {
		case err == nil:
			wins++
		case !errs.Is(err, errs.AlreadyExists):
			t.Fatalf("unexpected error %v", err)
		}
	}
	if wins != 1 {
		t.Fatalf("want one winner, got %d", wins)
	}
	b, err := fio.Read(ctx, file)
	if err != nil || len(b) < 1000 {
		t.Fatalf("Read = %d bytes, %v", len(b), err)
	}
}

func TestLocationErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fio := vend.NewLocal()
	tests := []struct {
		name string
		loc  string
		kind errs.Kind
	}{
		{name: "relative path", loc: "relative/x.json", kind: errs.BadRequest},
		{name: "unknown scheme", loc: "s3://bucket/x.json", kind: errs.BadRequest},
		{name: "remote file authority", loc: "file://otherhost/x.json", kind: errs.BadRequest},
		{name: "empty", loc: "", kind: errs.BadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if err := fio.WriteNew(ctx, tt.loc, []byte("x")); !errs.Is(err, tt.kind) {
				t.Errorf("WriteNew: want kind %v, got %v", tt.kind, err)
			}
			if _, err := fio.Read(ctx, tt.loc); !errs.Is(err, tt.kind) {
				t.Errorf("Read: want kind %v, got %v", tt.kind, err)
			}
		})
	}
}

func TestUnreachableStorage(t *testing.T) {
	t.Parallel()
	if os.Geteuid() == 0 {
		t.Skip("permissions do not apply to root")
	}
	ctx := context.Background()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
	// The catalog's own storage refusing it is for an operator to fix: not
	// a 503 that clients would retry forever.
	err := vend.NewLocal().WriteNew(ctx, filepath.Join(dir, "sub", "x.json"), []byte("x"))
	if !errs.Is(err, errs.Internal) || !strings.Contains(err.Error(), "permission denied") {
		t.Fatalf("want Internal naming the cause, got %v", err)
	}
}

func TestStorageErrorOnFileAsDirectory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	fio := vend.NewLocal()
	blocker := filepath.Join(dir, "blocker")
	if err := os.WriteFile(blocker, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A parent that is a regular file: the location cannot exist.
	err := fio.WriteNew(ctx, filepath.Join(blocker, "x.json"), []byte("x"))
	if !errs.Is(err, errs.BadRequest) {
		t.Fatalf("want BadRequest, got %v", err)
	}
	// A name longer than the file system takes is the request's fault.
	long := filepath.Join(dir, strings.Repeat("n", 300)+".metadata.json")
	if err := fio.WriteNew(ctx, long, []byte("x")); !errs.Is(err, errs.BadRequest) || !strings.Contains(err.Error(), "too long") {
		t.Fatalf("long name: want BadRequest, got %v", err)
	}
}

func TestSweepTemporaryAndEmptyDirectories(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	fio := vend.NewLocal()
	meta := filepath.Join(dir, "ns", "t", "metadata")
	if err := os.MkdirAll(meta, 0o755); err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(meta, "00001-a.metadata.json.tmp-0f8fad5b-d9cb-469f-a165-70867728950e")
	young := filepath.Join(meta, "00002-b.metadata.json.tmp-7c9e6679-7425-40de-944b-e07fc1f90ae7")
	lookalike := filepath.Join(meta, "notes.tmp-x")
	kept := filepath.Join(meta, "00000-c.metadata.json")
	for _, p := range []string{old, young, lookalike, kept} {
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	past := time.Now().Add(-time.Hour)
	if err := os.Chtimes(old, past, past); err != nil {
		t.Fatal(err)
	}
	n, err := fio.SweepTemporary(ctx, "file://"+dir, time.Now().Add(-time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("SweepTemporary = %d, %v; want 1", n, err)
	}
	for p, want := range map[string]bool{old: false, young: true, lookalike: true, kept: true} {
		if _, err := os.Stat(p); (err == nil) != want {
			t.Errorf("%s: exists %v, want %v", filepath.Base(p), err == nil, want)
		}
	}

	empty := filepath.Join(dir, "ns", "empty", "metadata")
	if err := os.MkdirAll(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := fio.RemoveEmptyDirectories(ctx, "file://"+filepath.Join(dir, "ns")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "ns", "empty")); !os.IsNotExist(err) {
		t.Errorf("empty directory kept: %v", err)
	}
	if _, err := os.Stat(kept); err != nil {
		t.Errorf("a file's directory was removed: %v", err)
	}
}
