package catalog_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/bingsan/bingsan/catalog"
	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/store"
)

func TestCommitRequirements(t *testing.T) {
	t.Parallel()
	e := setup(t, catalog.Options{})
	ctx := context.Background()
	id := ident("ns", "t")
	res, err := e.svc.CreateTable(ctx, catalog.CreateTableInput{
		Ident: id, Schema: schemaOf(t, schemaJSON),
		PartitionSpec: specOf(t, specJSON), WriteOrder: orderOf(t, orderJSON),
	})
	if err != nil {
		t.Fatal(err)
	}
	m := parse(t, res.Metadata)
	uuid := m.TableUUID().String()

	tests := []struct {
		name string
		req  string
		fail bool
	}{
		{name: "table uuid", req: fmt.Sprintf(`{"type":"assert-table-uuid","uuid":%q}`, uuid)},
		{name: "table uuid mismatch", req: `{"type":"assert-table-uuid","uuid":"00000000-0000-0000-0000-000000000001"}`, fail: true},
		{name: "ref absent", req: `{"type":"assert-ref-snapshot-id","ref":"main","snapshot-id":null}`},
		{name: "ref snapshot mismatch", req: `{"type":"assert-ref-snapshot-id","ref":"main","snapshot-id":9007199254740993}`, fail: true},
		{name: "current schema", req: `{"type":"assert-current-schema-id","current-schema-id":0}`},
		{name: "current schema mismatch", req: `{"type":"assert-current-schema-id","current-schema-id":4}`, fail: true},
		{name: "last assigned field", req: `{"type":"assert-last-assigned-field-id","last-assigned-field-id":2}`},
		{name: "last assigned field mismatch", req: `{"type":"assert-last-assigned-field-id","last-assigned-field-id":3}`, fail: true},
		{name: "last assigned partition", req: `{"type":"assert-last-assigned-partition-id","last-assigned-partition-id":1000}`},
		{name: "last assigned partition mismatch", req: `{"type":"assert-last-assigned-partition-id","last-assigned-partition-id":999}`, fail: true},
		{name: "default spec", req: `{"type":"assert-default-spec-id","default-spec-id":0}`},
		{name: "default spec mismatch", req: `{"type":"assert-default-spec-id","default-spec-id":1}`, fail: true},
		{name: "default sort order", req: `{"type":"assert-default-sort-order-id","default-sort-order-id":1}`},
		{name: "default sort order mismatch", req: `{"type":"assert-default-sort-order-id","default-sort-order-id":0}`, fail: true},
		{name: "create on existing table", req: `{"type":"assert-create"}`, fail: true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := e.load(t, id)
			filesBefore := len(metadataFiles(t, e.dir))
			key := fmt.Sprintf("k%d", i)
			res, err := e.commit(id, "["+tt.req+"]", setProps(key, "v"))
			after, am := e.load(t, id)
			if tt.fail {
				wantKind(t, err, errs.CommitFailed)
				if !strings.Contains(strings.ToLower(err.Error()), "requirement failed") {
					t.Errorf("message = %q", err.Error())
				}
				if after.MetadataLocation != before.MetadataLocation {
					t.Errorf("failed commit moved the table")
				}
				if n := len(metadataFiles(t, e.dir)); n != filesBefore {
					t.Errorf("failed commit left files: %d -> %d", filesBefore, n)
				}
				return
			}
			if err != nil {
				t.Fatalf("commit: %v", err)
			}
			if am.Properties()[key] != "v" || res.MetadataLocation != after.MetadataLocation || res.ETag != after.ETag {
				t.Errorf("commit not applied: %v", am.Properties())
			}
		})
	}
}

func TestCommitSchemaEvolution(t *testing.T) {
	t.Parallel()
	e := setup(t, catalog.Options{})
	id := ident("ns", "t")
	e.mustCreate(t, id, nil)
	res := e.mustCommit(t, id,
		`[{"type":"assert-current-schema-id","current-schema-id":0},{"type":"assert-last-assigned-field-id","last-assigned-field-id":2}]`,
		`[{"action":"add-schema","schema":{"type":"struct","schema-id":1,"fields":[
			{"id":1,"name":"id","type":"long","required":true},
			{"id":2,"name":"data","type":"string","required":false},
			{"id":3,"name":"ts","type":"timestamptz","required":false}]},"last-column-id":3},
		  {"action":"set-current-schema","schema-id":-1}]`)
	m := parse(t, res.Metadata)
	if m.CurrentSchema().ID != 1 || m.LastColumnID() != 3 || len(m.Schemas()) != 2 {
		t.Errorf("schema %d, last column %d, %d schemas", m.CurrentSchema().ID, m.LastColumnID(), len(m.Schemas()))
	}
	if !strings.Contains(res.MetadataLocation, "/metadata/00001-") {
		t.Errorf("metadata location = %s", res.MetadataLocation)
	}
	var log []table.MetadataLogEntry
	for l := range m.PreviousFiles() {
		log = append(log, l)
	}
	if len(log) != 1 || !strings.Contains(log[0].MetadataFile, "/metadata/00000-") {
		t.Errorf("metadata log = %v", log)
	}
	// Back to schema 0, then an unknown schema.
	res = e.mustCommit(t, id, `[]`, `[{"action":"set-current-schema","schema-id":0}]`)
	if parse(t, res.Metadata).CurrentSchema().ID != 0 {
		t.Error("set-current-schema 0 not applied")
	}
	_, err := e.commit(id, `[]`, `[{"action":"set-current-schema","schema-id":7}]`)
	wantKind(t, err, errs.BadRequest)
}

func TestCommitSnapshots(t *testing.T) {
	t.Parallel()
	e := setup(t, catalog.Options{})
	id := ident("ns", "t")
	loc := parse(t, e.mustCreate(t, id, nil).Metadata).Location()
	const big = int64(9007199254740993)
	res := e.mustCommit(t, id, `[{"type":"assert-ref-snapshot-id","ref":"main","snapshot-id":null}]`, snapshotUpdates(loc, big, 0, 1, "main"))
	if !strings.Contains(string(res.Metadata), `"snapshot-id":9007199254740993`) {
		t.Errorf("stored metadata lost the exact snapshot id:\n%s", res.Metadata)
	}
	m := parse(t, res.Metadata)
	if cur := m.CurrentSnapshot(); cur == nil || cur.SnapshotID != big {
		t.Fatalf("current snapshot = %v", cur)
	}
	if ref := m.Ref(); ref.SnapshotID != big {
		t.Errorf("main = %d", ref.SnapshotID)
	}
	// The next commit asserts the exact id.
	e.mustCommit(t, id, `[{"type":"assert-ref-snapshot-id","ref":"main","snapshot-id":9007199254740993}]`,
		snapshotUpdates(loc, big+1, big, 2, "main"))
	_, err := e.commit(id, `[{"type":"assert-ref-snapshot-id","ref":"main","snapshot-id":9007199254740992}]`, setProps("x", "y"))
	wantKind(t, err, errs.CommitFailed)

	// A ref to a snapshot that does not exist is the client's error.
	_, err = e.commit(id, `[]`, `[{"action":"set-snapshot-ref","ref-name":"b","type":"branch","snapshot-id":42}]`)
	wantKind(t, err, errs.BadRequest)
}

func TestCommitBadRequests(t *testing.T) {
	t.Parallel()
	e := setup(t, catalog.Options{})
	id := ident("ns", "t")
	created := e.mustCreate(t, id, nil)
	tests := []struct {
		name       string
		reqs, upds string
		kind       errs.Kind
	}{
		{name: "unknown action", reqs: `[]`, upds: `[{"action":"set-properties","updates":{"a":"b"}},{"action":"frobnicate"}]`, kind: errs.BadRequest},
		{name: "unknown requirement", reqs: `[{"type":"assert-nothing"}]`, upds: setProps("a", "b"), kind: errs.BadRequest},
		{name: "updates not a list", reqs: `[]`, upds: `{"action":"set-properties"}`, kind: errs.BadRequest},
		{name: "wrong field type", reqs: `[]`, upds: `[{"action":"set-current-schema","schema-id":"zero"}]`, kind: errs.BadRequest},
		{name: "missing field", reqs: `[]`, upds: `[{"action":"set-snapshot-ref","ref-name":"main"}]`, kind: errs.BadRequest},
		{name: "requirement missing field", reqs: `[{"type":"assert-ref-snapshot-id","ref":"main"}]`, upds: `[]`, kind: errs.BadRequest},
		{name: "reserved property", reqs: `[]`, upds: `[{"action":"set-properties","updates":{"format-version":"3"}}]`, kind: errs.BadRequest},
		{name: "missing table", reqs: `[]`, upds: setProps("a", "b"), kind: errs.NoSuchTable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := id
			if tt.kind == errs.NoSuchTable {
				target = ident("ns", "missing")
			}
			_, err := e.commit(target, tt.reqs, tt.upds)
			wantKind(t, err, tt.kind)
			res, m := e.load(t, id)
			if res.MetadataLocation != created.MetadataLocation || len(m.Properties()) != 0 {
				t.Errorf("table changed: %s %v", res.MetadataLocation, m.Properties())
			}
			if n := len(metadataFiles(t, e.dir)); n != 1 {
				t.Errorf("%d metadata files", n)
			}
		})
	}
	// No updates: nothing is written, the table stays as it is.
	res := e.mustCommit(t, id, `[]`, `[]`)
	if res.MetadataLocation != created.MetadataLocation || string(res.Metadata) != string(created.Metadata) {
		t.Error("empty commit changed the table")
	}
}

// Concurrent commits of one table all land, whether each writes its own
// metadata version (MaxCommitGroup 1) or commits that queued up are
// grouped into one version: every update is kept, the metadata log has one
// entry per version and the files of lost attempts are deleted.
func TestConcurrentCommitsAllLand(t *testing.T) {
	t.Parallel()
	for _, group := range []int{1, 0} {
		t.Run(fmt.Sprintf("MaxCommitGroup=%d", group), func(t *testing.T) {
			t.Parallel()
			e := setup(t, catalog.Options{MaxRetries: 100, MaxCommitGroup: group})
			id := ident("ns", "t")
			e.mustCreate(t, id, nil)
			const n = 16
			var wg sync.WaitGroup
			errsCh := make(chan error, n)
			for i := range n {
				wg.Go(func() {
					_, err := e.commit(id, `[]`, setProps(fmt.Sprintf("k%02d", i), fmt.Sprint(i)))
					errsCh <- err
				})
			}
			wg.Wait()
			close(errsCh)
			for err := range errsCh {
				if err != nil {
					t.Errorf("commit: %v", err)
				}
			}
			res, m := e.load(t, id)
			for i := range n {
				if got := m.Properties()[fmt.Sprintf("k%02d", i)]; got != fmt.Sprint(i) {
					t.Errorf("property k%02d = %q: lost update", i, got)
				}
			}
			logLen := 0
			for range m.PreviousFiles() {
				logLen++
			}
			if !strings.Contains(res.MetadataLocation, fmt.Sprintf("/metadata/%05d-", logLen)) {
				t.Errorf("metadata location = %s, want version %d (the log's length)", res.MetadataLocation, logLen)
			}
			if group == 1 && logLen != n {
				t.Errorf("metadata log has %d entries, want %d", logLen, n)
			}
			if logLen < 1 || logLen > n {
				t.Errorf("metadata log has %d entries, want 1 to %d", logLen, n)
			}
			// Files of lost attempts were deleted: one file per version.
			if files := metadataFiles(t, e.dir); len(files) != logLen+1 {
				t.Errorf("%d metadata files, want %d", len(files), logLen+1)
			}
		})
	}
}

func TestConcurrentCommitsOneWins(t *testing.T) {
	t.Parallel()
	e := setup(t, catalog.Options{MaxRetries: 100})
	id := ident("ns", "t")
	loc := parse(t, e.mustCreate(t, id, nil).Metadata).Location()
	const n = 16
	var wg sync.WaitGroup
	results := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, results[i] = e.commit(id, `[{"type":"assert-ref-snapshot-id","ref":"main","snapshot-id":null}]`,
				snapshotUpdates(loc, int64(100+i), 0, 1, "main"))
		}()
	}
	wg.Wait()
	wins := 0
	for _, err := range results {
		switch {
		case err == nil:
			wins++
		case !errs.Is(err, errs.CommitFailed):
			t.Errorf("unexpected error: %v", err)
		}
	}
	if wins != 1 {
		t.Errorf("%d commits won, want 1", wins)
	}
	_, m := e.load(t, id)
	if len(m.Snapshots()) != 1 {
		t.Errorf("%d snapshots, want 1", len(m.Snapshots()))
	}
	if files := metadataFiles(t, e.dir); len(files) != 2 {
		t.Errorf("%d metadata files, want 2", len(files))
	}
}

func TestCommitRetriesBounded(t *testing.T) {
	t.Parallel()
	e := setup(t, catalog.Options{MaxRetries: 0})
	id := ident("ns", "t")
	e.mustCreate(t, id, nil)
	// Without retries, concurrent writers may lose; every failure is a
	// CommitFailed and the table ends up consistent.
	var wg sync.WaitGroup
	results := make([]error, 8)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, results[i] = e.commit(id, `[]`, setProps(fmt.Sprintf("k%d", i), "v"))
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range results {
		if err == nil {
			ok++
		} else if !errs.Is(err, errs.CommitFailed) {
			t.Errorf("unexpected error %v", err)
		}
	}
	_, m := e.load(t, id)
	if len(m.Properties()) != ok {
		t.Errorf("%d properties, %d successful commits", len(m.Properties()), ok)
	}
}

func TestMetadataLogTrim(t *testing.T) {
	t.Parallel()
	e := setup(t, catalog.Options{})
	tests := []struct {
		name      string
		deleteOld bool
		wantFiles int
	}{
		{name: "keep files", deleteOld: false, wantFiles: 7},
		{name: "delete after commit", deleteOld: true, wantFiles: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := ident("ns", strings.ReplaceAll(tt.name, " ", "_"))
			res := e.mustCreate(t, id, map[string]string{
				"write.metadata.previous-versions-max":       "3",
				"write.metadata.delete-after-commit.enabled": fmt.Sprint(tt.deleteOld),
			})
			first := res.MetadataLocation
			for i := range 6 {
				res = e.mustCommit(t, id, `[]`, setProps("i", fmt.Sprint(i)))
			}
			m := parse(t, res.Metadata)
			var log []string
			for l := range m.PreviousFiles() {
				log = append(log, l.MetadataFile)
			}
			if len(log) != 3 {
				t.Fatalf("metadata log = %v, want 3 entries", log)
			}
			for j, l := range log {
				if !strings.Contains(l, fmt.Sprintf("/metadata/%05d-", 3+j)) {
					t.Errorf("log[%d] = %s", j, l)
				}
			}
			dir := filepath.Dir(localPath(first))
			if files := metadataFiles(t, dir); len(files) != tt.wantFiles {
				t.Errorf("%d files in %s, want %d", len(files), dir, tt.wantFiles)
			}
			for _, l := range log {
				if !fileExists(l) {
					t.Errorf("logged file %s was deleted", l)
				}
			}
			if fileExists(first) == tt.deleteOld {
				t.Errorf("first file exists = %v", fileExists(first))
			}
		})
	}
}

// stagedCreateUpdates are the updates iceberg-go's REST client sends to
// complete a staged create (mirroring Java's createChanges).
func stagedCreateUpdates(t *testing.T, staged table.Metadata, extra ...table.Update) string {
	t.Helper()
	spec := staged.PartitionSpec()
	order := staged.SortOrder()
	upds := []table.Update{
		table.NewAssignUUIDUpdate(staged.TableUUID()),
		table.NewUpgradeFormatVersionUpdate(staged.Version()),
		table.NewAddSchemaUpdate(staged.CurrentSchema()),
		table.NewSetCurrentSchemaUpdate(-1),
		table.NewAddPartitionSpecUpdate(&spec, true),
		table.NewSetDefaultSpecUpdate(-1),
		table.NewAddSortOrderUpdate(&order),
		table.NewSetDefaultSortOrderUpdate(-1),
		table.NewSetLocationUpdate(staged.Location()),
	}
	if len(staged.Properties()) > 0 {
		upds = append(upds, table.NewSetPropertiesUpdate(staged.Properties()))
	}
	upds = append(upds, extra...)
	b, err := json.Marshal(upds)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestStagedCreateCommit(t *testing.T) {
	t.Parallel()
	e := setup(t, catalog.Options{})
	ctx := context.Background()
	for _, version := range []string{"1", "2", "3"} {
		t.Run("v"+version, func(t *testing.T) {
			id := ident("ns", "staged_v"+version)
			staged, err := e.svc.CreateTable(ctx, catalog.CreateTableInput{
				Ident: id, Schema: schemaOf(t, schemaJSON), PartitionSpec: specOf(t, specJSON),
				WriteOrder: orderOf(t, orderJSON), Properties: map[string]string{"format-version": version, "p": "q"},
				StageCreate: true,
			})
			if err != nil {
				t.Fatal(err)
			}
			sm := parse(t, staged.Metadata)
			upds := stagedCreateUpdates(t, sm, table.NewSetPropertiesUpdate(iceberg.Properties{"extra": "1"}))
			res, err := e.commit(id, `[{"type":"assert-create"}]`, upds)
			if err != nil {
				t.Fatalf("commit: %v", err)
			}
			m := parse(t, res.Metadata)
			if fmt.Sprint(m.Version()) != version || m.TableUUID() != sm.TableUUID() || m.Location() != sm.Location() {
				t.Errorf("created v%d %s %s; staged v%d %s %s", m.Version(), m.TableUUID(), m.Location(), sm.Version(), sm.TableUUID(), sm.Location())
			}
			if len(m.Schemas()) != 1 || m.CurrentSchema().NumFields() != 2 || len(m.PartitionSpecs()) != 1 || m.SortOrder().Len() != 1 {
				t.Errorf("created metadata differs from staged: %s", res.Metadata)
			}
			if m.Properties()["p"] != "q" || m.Properties()["extra"] != "1" {
				t.Errorf("properties = %v", m.Properties())
			}
			if !strings.Contains(res.MetadataLocation, "/metadata/00000-") || !fileExists(res.MetadataLocation) {
				t.Errorf("metadata location = %s", res.MetadataLocation)
			}
			loaded, _ := e.load(t, id)
			if loaded.MetadataLocation != res.MetadataLocation {
				t.Errorf("loaded %s", loaded.MetadataLocation)
			}
			// Committing the create again conflicts.
			_, err = e.commit(id, `[{"type":"assert-create"}]`, upds)
			wantKind(t, err, errs.CommitFailed)
		})
	}
	// Without assert-create a missing table stays missing.
	_, err := e.commit(ident("ns", "never"), `[]`, setProps("a", "b"))
	wantKind(t, err, errs.NoSuchTable)
}

func TestCommitTransaction(t *testing.T) {
	t.Parallel()
	e := setup(t, catalog.Options{MaxRetries: 5})
	ctx := context.Background()
	a, b := ident("ns", "a"), ident("ns", "b")
	resA := e.mustCreate(t, a, nil)
	resB := e.mustCreate(t, b, nil)
	change := func(id store.Ident, reqs, upds string) catalog.TableChange {
		c, err := catalog.ParseTableChange(id, json.RawMessage(reqs), json.RawMessage(upds))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	// A change that does not decode never reaches the transaction.
	_, err := catalog.ParseTableChange(b, json.RawMessage(`[]`), json.RawMessage(`[{"action":"nope"}]`))
	wantKind(t, err, errs.BadRequest)
	files := len(metadataFiles(t, e.dir))

	tests := []struct {
		name    string
		changes []catalog.TableChange
		kind    errs.Kind
	}{
		{name: "second fails requirement", changes: []catalog.TableChange{
			change(a, `[]`, setProps("x", "1")),
			change(b, `[{"type":"assert-current-schema-id","current-schema-id":9}]`, setProps("x", "1")),
		}, kind: errs.CommitFailed},
		{name: "second has a bad update", changes: []catalog.TableChange{
			change(a, `[]`, setProps("x", "1")),
			change(b, `[]`, `[{"action":"set-current-schema","schema-id":9}]`),
		}, kind: errs.BadRequest},
		{name: "second is missing", changes: []catalog.TableChange{
			change(a, `[]`, setProps("x", "1")),
			change(ident("ns", "missing"), `[]`, setProps("x", "1")),
		}, kind: errs.NoSuchTable},
		{name: "duplicate table", changes: []catalog.TableChange{
			change(a, `[]`, setProps("x", "1")),
			change(a, `[]`, setProps("y", "1")),
		}, kind: errs.BadRequest},
		{name: "empty", kind: errs.BadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := e.svc.CommitTransaction(ctx, tt.changes)
			wantKind(t, err, tt.kind)
			if ra, _ := e.load(t, a); ra.MetadataLocation != resA.MetadataLocation {
				t.Error("table a changed")
			}
			if rb, _ := e.load(t, b); rb.MetadataLocation != resB.MetadataLocation {
				t.Error("table b changed")
			}
			if n := len(metadataFiles(t, e.dir)); n != files {
				t.Errorf("metadata files %d -> %d", files, n)
			}
		})
	}

	// All apply together, including a staged create and a table that is
	// only asserted.
	c := ident("ns", "c")
	var staged catalog.TableResult
	staged, err = e.svc.CreateTable(ctx, catalog.CreateTableInput{Ident: c, Schema: schemaOf(t, schemaJSON), StageCreate: true})
	if err != nil {
		t.Fatal(err)
	}
	err = e.svc.CommitTransaction(ctx, []catalog.TableChange{
		change(a, `[{"type":"assert-current-schema-id","current-schema-id":0}]`, setProps("x", "1")),
		change(b, `[]`, setProps("y", "2")),
		change(c, `[{"type":"assert-create"}]`, stagedCreateUpdates(t, parse(t, staged.Metadata))),
	})
	if err != nil {
		t.Fatalf("transaction: %v", err)
	}
	if _, m := e.load(t, a); m.Properties()["x"] != "1" {
		t.Error("a not updated")
	}
	if _, m := e.load(t, b); m.Properties()["y"] != "2" {
		t.Error("b not updated")
	}
	e.load(t, c)
}

func TestConcurrentTransactions(t *testing.T) {
	t.Parallel()
	e := setup(t, catalog.Options{MaxRetries: 100})
	ctx := context.Background()
	a, b := ident("ns", "a"), ident("ns", "b")
	e.mustCreate(t, a, nil)
	e.mustCreate(t, b, nil)
	const n = 8
	var wg sync.WaitGroup
	results := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k := fmt.Sprintf("k%d", i)
			ca, _ := catalog.ParseTableChange(a, json.RawMessage(`[]`), json.RawMessage(setProps(k, "v")))
			cb, _ := catalog.ParseTableChange(b, json.RawMessage(`[]`), json.RawMessage(setProps(k, "v")))
			results[i] = e.svc.CommitTransaction(ctx, []catalog.TableChange{ca, cb})
		}()
	}
	wg.Wait()
	for _, err := range results {
		if err != nil {
			t.Errorf("transaction: %v", err)
		}
	}
	for _, id := range []store.Ident{a, b} {
		if _, m := e.load(t, id); len(m.Properties()) != n {
			t.Errorf("%s has %d properties, want %d", id, len(m.Properties()), n)
		}
	}
}

func TestCommitAssignUUID(t *testing.T) {
	t.Parallel()
	e := setup(t, catalog.Options{})
	id := ident("ns", "t")
	m := parse(t, e.mustCreate(t, id, nil).Metadata)
	// Re-assigning the same UUID is harmless; another one is refused.
	e.mustCommit(t, id, `[]`, fmt.Sprintf(`[{"action":"assign-uuid","uuid":%q}]`, m.TableUUID()))
	_, err := e.commit(id, `[]`, `[{"action":"assign-uuid","uuid":"00000000-0000-0000-0000-0000000000aa"}]`)
	wantKind(t, err, errs.BadRequest)
	if _, after := e.load(t, id); after.TableUUID() != m.TableUUID() {
		t.Errorf("uuid changed to %s", after.TableUUID())
	}

	// A staged create's commit without assign-uuid still gets a UUID.
	c := ident("ns", "c")
	res, err := e.commit(c, `[{"type":"assert-create"}]`, `[
		{"action":"add-schema","schema":`+schemaJSON+`},
		{"action":"set-current-schema","schema-id":-1},
		{"action":"add-spec","spec":{"fields":[]}},
		{"action":"set-default-spec","spec-id":-1},
		{"action":"add-sort-order","sort-order":{"order-id":0,"fields":[]}},
		{"action":"set-default-sort-order","sort-order-id":-1}]`)
	if err != nil {
		t.Fatalf("create without uuid and location: %v", err)
	}
	cm := parse(t, res.Metadata)
	if cm.TableUUID().String() == "00000000-0000-0000-0000-000000000000" {
		t.Error("created table has no uuid")
	}
	if !strings.HasPrefix(cm.Location(), e.whLoc+"/ns/c-") {
		t.Errorf("default location = %s", cm.Location())
	}
}
