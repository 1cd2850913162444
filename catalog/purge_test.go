package catalog_test

import (
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/bingsan/bingsan/catalog"
	"github.com/bingsan/bingsan/metrics"
	"github.com/bingsan/bingsan/metrics/metricstest"
	"github.com/bingsan/bingsan/store"
)

// writeSnapshot writes, with iceberg-go, a manifest list and a manifest
// for snapshot snapID listing dataFiles (which are created too), and commits
// the snapshot. It returns the manifest list and manifest locations.
func writeSnapshot(t *testing.T, e *env, id store.Ident, snapID int64, dataFiles []string) (string, string) {
	t.Helper()
	_, m := e.load(t, id)
	loc := m.Location()
	spec := m.PartitionSpec()
	var entries []iceberg.ManifestEntry
	for _, p := range dataFiles {
		mustWrite(t, p, []byte("PAR1"))
		df, err := iceberg.NewDataFileBuilder(spec, iceberg.EntryContentData, p, iceberg.ParquetFile, nil, nil, nil, 1, 4)
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, iceberg.NewManifestEntry(iceberg.EntryStatusADDED, &snapID, nil, nil, df.Build()))
	}
	manifestPath := loc + "/metadata/manifest-1.avro"
	f := mustCreateFile(t, manifestPath)
	mf, err := iceberg.WriteManifest(manifestPath, f, 2, spec, m.CurrentSchema(), snapID, entries)
	if err != nil {
		t.Fatalf("WriteManifest: %v", err)
	}
	_ = f.Close()
	listPath := loc + "/metadata/snap-1.avro"
	f = mustCreateFile(t, listPath)
	seq := int64(1)
	if err := iceberg.WriteManifestList(2, f, snapID, nil, &seq, 0, []iceberg.ManifestFile{mf}); err != nil {
		t.Fatalf("WriteManifestList: %v", err)
	}
	_ = f.Close()
	snap := table.Snapshot{SnapshotID: snapID, SequenceNumber: 1, TimestampMs: m.LastUpdatedMillis() + 1,
		ManifestList: listPath, Summary: &table.Summary{Operation: table.OpAppend}}
	upds, err := json.Marshal([]table.Update{
		table.NewAddSnapshotUpdate(&snap),
		table.NewSetSnapshotRefUpdate("main", snapID, table.BranchRef, 0, 0, 0),
	})
	if err != nil {
		t.Fatal(err)
	}
	e.mustCommit(t, id, `[]`, string(upds))
	return listPath, manifestPath
}

func mustCreateFile(t *testing.T, loc string) *os.File {
	t.Helper()
	p := localPath(loc)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func mustWrite(t *testing.T, loc string, data []byte) {
	t.Helper()
	f := mustCreateFile(t, loc)
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	_ = f.Close()
}

func TestDropWithPurgeDeletesFiles(t *testing.T) {
	t.Parallel()
	e := setup(t, catalog.Options{ExternalLocations: map[string]bool{warehouse: true}})
	ctx := context.Background()

	// A table in its catalog-assigned directory: the files its metadata
	// reaches go; a file no metadata mentions is not known to be the
	// table's (it stays, and so does its directory).
	owned := ident("ns", "owned")
	res := e.mustCreate(t, owned, nil)
	ownedLoc := parse(t, res.Metadata).Location()
	list, manifest := writeSnapshot(t, e, owned, 9007199254740993, []string{ownedLoc + "/data/a.parquet", ownedLoc + "/data/b.parquet"})
	orphan := ownedLoc + "/data/orphan.parquet"
	mustWrite(t, orphan, []byte("x"))

	// A table at a location of the user's choosing outside the warehouse:
	// the files its metadata references below its location go; a
	// neighbour, and a referenced file outside its location, stay.
	outside := "file://" + filepath.ToSlash(t.TempDir())
	chosen := ident("ns", "chosen")
	if _, err := e.svc.CreateTable(ctx, catalog.CreateTableInput{
		Ident: chosen, Location: outside + "/tbl", Schema: schemaOf(t, schemaJSON),
	}); err != nil {
		t.Fatal(err)
	}
	e.mustCommit(t, chosen, `[]`, setProps("k", "v"))
	sharedData := outside + "/elsewhere/c.parquet"
	chosenList, chosenManifest := writeSnapshot(t, e, chosen, 7, []string{outside + "/tbl/data/c.parquet", sharedData})
	neighbour := outside + "/tbl/data/not-mine.parquet"
	mustWrite(t, neighbour, []byte("x"))
	chosenRes, chosenMeta := e.load(t, chosen)

	// A table dropped without purge keeps its files.
	kept := ident("ns", "kept")
	keptRes := e.mustCreate(t, kept, nil)

	for _, id := range []store.Ident{owned, chosen} {
		if err := e.svc.DropTable(ctx, id, true); err != nil {
			t.Fatalf("DropTable(%s): %v", id, err)
		}
	}
	if err := e.svc.DropTable(ctx, kept, false); err != nil {
		t.Fatal(err)
	}
	// Dropping queued work but deleted nothing yet.
	if !fileExists(list) || !fileExists(chosenList) {
		t.Fatal("drop deleted files synchronously")
	}

	n, err := e.svc.PurgeOnce(ctx)
	if err != nil || n != 2 {
		t.Fatalf("PurgeOnce = %d, %v; want 2 jobs", n, err)
	}
	if _, err := os.Stat(localPath(ownedLoc + "/metadata")); !os.IsNotExist(err) {
		t.Errorf("emptied metadata directory still there: %v", err)
	}
	for _, f := range []string{list, manifest, ownedLoc + "/data/a.parquet", ownedLoc + "/data/b.parquet"} {
		if fileExists(f) {
			t.Errorf("%s not deleted", f)
		}
	}
	if !fileExists(orphan) {
		t.Error("a file no metadata mentions was deleted")
	}
	if !fileExists(sharedData) {
		t.Error("a referenced file outside the table's location was deleted")
	}
	gone := []string{chosenList, chosenManifest, outside + "/tbl/data/c.parquet", chosenRes.MetadataLocation}
	for l := range chosenMeta.PreviousFiles() {
		gone = append(gone, l.MetadataFile)
	}
	for _, f := range gone {
		if fileExists(f) {
			t.Errorf("%s not deleted", f)
		}
	}
	if !fileExists(neighbour) {
		t.Error("unreferenced file outside the warehouse was deleted")
	}
	if !fileExists(keptRes.MetadataLocation) {
		t.Error("table dropped without purge lost its files")
	}

	if n, err := e.svc.PurgeOnce(ctx); n != 0 || err != nil {
		t.Errorf("second PurgeOnce = %d, %v", n, err)
	}
}

func TestPurgeToleratesMissingFiles(t *testing.T) {
	t.Parallel()
	e := setup(t, catalog.Options{})
	ctx := context.Background()
	id := ident("ns", "t")
	res := e.mustCreate(t, id, nil)
	loc := parse(t, res.Metadata).Location()
	list, manifest := writeSnapshot(t, e, id, 5, []string{loc + "/data/a.parquet"})
	// Pretend an earlier attempt got halfway (leaves go first).
	for _, f := range []string{loc + "/data/a.parquet", list, manifest} {
		if err := os.Remove(localPath(f)); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.svc.DropTable(ctx, id, true); err != nil {
		t.Fatal(err)
	}
	n, err := e.svc.PurgeOnce(ctx)
	if err != nil || n != 1 {
		t.Fatalf("PurgeOnce = %d, %v", n, err)
	}
	if _, err := os.Stat(localPath(loc)); !os.IsNotExist(err) {
		t.Errorf("table directory still there: %v", err)
	}
}

func TestRunPurgerStops(t *testing.T) {
	t.Parallel()
	e := setup(t, catalog.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	id := ident("ns", "t")
	res := e.mustCreate(t, id, nil)
	if err := e.svc.DropTable(ctx, id, true); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		e.svc.RunPurger(ctx, catalog.PurgerOptions{Interval: 10 * time.Millisecond, MaxAttempts: 3})
		close(done)
	}()
	// The first round runs at once.
	for i := 0; fileExists(res.MetadataLocation); i++ {
		if i > 500 {
			t.Fatal("purger did not run")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
}

func TestPurgeRetriesFailedJobs(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	offset := time.Duration(0)
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return time.Now().Add(offset)
	}
	m := metrics.New(metrics.Options{NoRuntime: true})
	e := setup(t, catalog.Options{Now: clock, Metrics: m})
	ctx := context.Background()
	id := ident("ns", "t")
	res := e.mustCreate(t, id, nil)
	list, _ := writeSnapshot(t, e, id, 5, []string{parse(t, res.Metadata).Location() + "/data/a.parquet"})
	// A manifest list that cannot be read fails the job.
	if err := os.WriteFile(localPath(list), []byte("not avro"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.DropTable(ctx, id, true); err != nil {
		t.Fatal(err)
	}
	if n, err := e.svc.PurgeOnce(ctx); n != 0 || err == nil {
		t.Fatalf("PurgeOnce = %d, %v; want a failure", n, err)
	}
	if !fileExists(res.MetadataLocation) {
		t.Fatal("a failed job deleted the metadata")
	}
	wantPurgeJobs(t, m, map[string]float64{metrics.PurgeRetried: 1, metrics.PurgePurged: 0, metrics.PurgeAbandoned: 0})
	// Not due again yet.
	if n, err := e.svc.PurgeOnce(ctx); n != 0 || err != nil {
		t.Fatalf("PurgeOnce before retry = %d, %v", n, err)
	}
	// Once the backoff has passed and the file is readable again, it completes.
	if err := os.Remove(localPath(list)); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	offset = 2 * time.Hour
	mu.Unlock()
	if n, err := e.svc.PurgeOnce(ctx); n != 1 || err != nil {
		t.Fatalf("PurgeOnce after backoff = %d, %v", n, err)
	}
	if fileExists(res.MetadataLocation) {
		t.Error("metadata file survived the purge")
	}
	wantPurgeJobs(t, m, map[string]float64{metrics.PurgeRetried: 1, metrics.PurgePurged: 1, metrics.PurgeAbandoned: 0})
}

// A job that fails its last attempt is abandoned, and counted as such.
func TestPurgeAbandonsAfterMaxAttempts(t *testing.T) {
	t.Parallel()
	m := metrics.New(metrics.Options{NoRuntime: true})
	e := setup(t, catalog.Options{Metrics: m})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	id := ident("ns", "t")
	mustCreateUnpurgeable(t, e, id)
	if err := e.svc.DropTable(ctx, id, true); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.svc.RunPurger(ctx, catalog.PurgerOptions{Interval: 10 * time.Millisecond, MaxAttempts: 1})
	}()
	deadline := time.Now().Add(20 * time.Second)
	for purgeJobs(t, m)[metrics.PurgeAbandoned] != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("job not abandoned after one failed attempt: %v", purgeJobs(t, m))
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	wantPurgeJobs(t, m, map[string]float64{metrics.PurgeRetried: 0, metrics.PurgePurged: 0, metrics.PurgeAbandoned: 1})
	if n, err := e.svc.PurgeOnce(context.Background()); n != 0 || err != nil {
		t.Fatalf("an abandoned job ran again: %d, %v", n, err)
	}
}

// The purger publishes the queue's depth: a job waiting for its retry is
// queued; an abandoned one is not.
func TestPurgeQueueDepth(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		maxAttempts int
		result      string
		queued      float64
	}{
		{"retried job stays queued", 10, metrics.PurgeRetried, 1},
		{"abandoned job leaves the queue", 1, metrics.PurgeAbandoned, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := metrics.New(metrics.Options{NoRuntime: true})
			e := setup(t, catalog.Options{Metrics: m})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			// Two tables whose purge fails and a third's that works, so
			// the count is of the queue and not of one job.
			id, other := ident("ns", "t"), ident("ns", "u")
			mustCreateUnpurgeable(t, e, id)
			mustCreateUnpurgeable(t, e, other)
			fine := ident("ns", "v")
			e.mustCreate(t, fine, nil)
			for _, d := range []store.Ident{id, other, fine} {
				if err := e.svc.DropTable(ctx, d, true); err != nil {
					t.Fatal(err)
				}
			}
			done := make(chan struct{})
			go func() {
				defer close(done)
				e.svc.RunPurger(ctx, catalog.PurgerOptions{Interval: 10 * time.Millisecond, MaxAttempts: tc.maxAttempts})
			}()
			want := 2 * tc.queued
			deadline := time.Now().Add(20 * time.Second)
			for purgeJobs(t, m)[tc.result] != 2 || purgeJobs(t, m)[metrics.PurgePurged] != 1 ||
				metricstest.Value(t, m, "bingsan_purge_queue_jobs") != want {
				if time.Now().After(deadline) {
					t.Fatalf("jobs %v, queue %v; want 2 %s, 1 purged, queue %v", purgeJobs(t, m),
						metricstest.Value(t, m, "bingsan_purge_queue_jobs"), tc.result, want)
				}
				time.Sleep(10 * time.Millisecond)
			}
			cancel()
			<-done
		})
	}
}

// mustCreateUnpurgeable creates a table whose snapshot's manifest list is
// not Avro, so that every attempt at purging it fails.
func mustCreateUnpurgeable(t *testing.T, e *env, id store.Ident) {
	t.Helper()
	res := e.mustCreate(t, id, nil)
	list, _ := writeSnapshot(t, e, id, 5, []string{parse(t, res.Metadata).Location() + "/data/a.parquet"})
	if err := os.WriteFile(localPath(list), []byte("not avro"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// purgeJobs reads bingsan_purge_jobs_total by result.
func purgeJobs(t *testing.T, m *metrics.Metrics) map[string]float64 {
	return metricstest.ByLabel(t, m, "bingsan_purge_jobs_total", "result")
}

func wantPurgeJobs(t *testing.T, m *metrics.Metrics, want map[string]float64) {
	t.Helper()
	if got := purgeJobs(t, m); !maps.Equal(got, want) {
		t.Fatalf("bingsan_purge_jobs_total = %v, want %v", got, want)
	}
}

// A table and a twin pointing at the same files (registered before
// locations were owned, and found by the start-up backfill): purging one
// leaves the other whole.
func TestPurgeSparesATwin(t *testing.T) {
	t.Parallel()
	e := setup(t, catalog.Options{})
	ctx := context.Background()
	id := ident("ns", "t")
	e.mustCreate(t, id, nil)
	e.mustCommit(t, id, `[]`, setProps("k", "v"))
	res, m := e.load(t, id)
	list, manifest := writeSnapshot(t, e, id, 11, []string{m.Location() + "/data/shared.parquet"})
	res, _ = e.load(t, id)

	// The twin, as an old catalog made it: same files, no claims, no UUID.
	twin := ident("ns", "twin")
	if err := e.st.CreateEntity(ctx, store.Entity{Ident: twin, Kind: store.KindTable, MetadataLocation: res.MetadataLocation, Metadata: res.Metadata}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.BackfillLocations(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.DropTable(ctx, id, true); err != nil {
		t.Fatal(err)
	}
	if n, err := e.svc.PurgeOnce(ctx); err != nil || n != 1 {
		t.Fatalf("PurgeOnce = %d, %v", n, err)
	}
	for _, f := range []string{res.MetadataLocation, list, manifest, m.Location() + "/data/shared.parquet"} {
		if !fileExists(f) {
			t.Errorf("the twin lost %s", f)
		}
	}
	if _, err := e.svc.LoadTable(ctx, twin, ""); err != nil {
		t.Fatalf("load the twin: %v", err)
	}
}
