package vend

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/bingsan/bingsan/errs"
)

// WriteNew makes the directories it needs and reports them for syncing,
// deepest first, including one another writer made and has not synced.
func TestMakeDirsReportsNewAndUnsyncedDirectories(t *testing.T) {
	root := t.TempDir()
	deep := filepath.Join(root, "a", "b", "c")
	made, err := makeDirs(deep)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{deep, filepath.Join(root, "a", "b"), filepath.Join(root, "a")}
	if !slices.Equal(made, want) {
		t.Fatalf("made %v, want %v", made, want)
	}
	// Until syncDirs has run, a second writer into the same tree must sync
	// the parents too rather than trust the first writer's sync to come.
	again, err := makeDirs(filepath.Join(deep, "d"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(again, append([]string{filepath.Join(deep, "d")}, want...)) {
		t.Fatalf("second writer made %v", again)
	}
	if err := syncDirs(deep, made); err != nil {
		t.Fatal(err)
	}
	if err := syncDirs(filepath.Join(deep, "d"), again); err != nil {
		t.Fatal(err)
	}
	// Once synced, existing directories need nothing.
	if made, err := makeDirs(deep); err != nil || len(made) != 0 {
		t.Fatalf("existing synced directory: made %v, %v", made, err)
	}
	if len(unsyncedDirs.m) != 0 {
		t.Fatalf("unsynced directories left: %v", unsyncedDirs.m)
	}
}

func TestLocalWriteNewPublishesOnceAndLeavesNoTemporary(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "t", "metadata")
	loc := "file://" + filepath.Join(dir, "00000-x.metadata.json")
	l := NewLocal()
	if err := l.WriteNew(ctx, loc, []byte(`{"a":1}`)); err != nil {
		t.Fatal(err)
	}
	if err := l.WriteNew(ctx, loc, []byte(`{"a":2}`)); !errs.Is(err, errs.AlreadyExists) {
		t.Fatalf("second write: want AlreadyExists, got %v", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Fatalf("directory holds %v", entries)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, entries[0].Name())); string(b) != `{"a":1}` {
		t.Fatalf("file holds %s", b)
	}
}

// Concurrent writers into one directory share its syncs, and every one of
// them returns only after a sync that started after its call.
func TestSyncDirSharedByConcurrentWriters(t *testing.T) {
	dir := t.TempDir()
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := syncDir(dir); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if len(dirSyncs.m) != 0 {
		t.Fatalf("sync state left behind: %v", dirSyncs.m)
	}
	if err := syncDir(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("syncing a missing directory succeeded")
	}
}
