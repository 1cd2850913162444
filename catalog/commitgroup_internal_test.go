package catalog

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/iceberg-go/table"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/store/migrate"
	"github.com/bingsan/bingsan/store/sqlite"
	"github.com/bingsan/bingsan/vend"
)

// groupEnv is a service on SQLite and a local warehouse with one table.
func groupEnv(t *testing.T) (*Service, store.Ident, table.Metadata, string) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "catalog.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if err := st.Migrate(ctx, migrate.Up); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	svc := New(st, vend.NewLocal(), Options{Warehouses: map[string]string{"wh": "file://" + filepath.ToSlash(dir)}, MaxRetries: 3})
	if _, err := svc.CreateNamespace(ctx, "wh", store.Namespace{Levels: []string{"db"}}); err != nil {
		t.Fatal(err)
	}
	id := store.Ident{Warehouse: "wh", Namespace: []string{"db"}, Name: "t"}
	res, err := svc.CreateTable(ctx, CreateTableInput{Ident: id, Schema: benchSchema()})
	if err != nil {
		t.Fatal(err)
	}
	m, err := table.ParseMetadataBytes(res.Metadata)
	if err != nil {
		t.Fatal(err)
	}
	return svc, id, m, dir
}

func newMember(id store.Ident, reqs, upds string) *member[TableChange] {
	c, err := ParseTableChange(id, json.RawMessage(reqs), json.RawMessage(upds))
	if err != nil {
		panic(err)
	}
	return &member[TableChange]{ctx: context.Background(), change: &c, done: make(chan memberResult, 1)}
}

// A group applies its commits in order, each on what the ones before it
// left: a failing requirement or an invalid update fails that commit
// alone, and the rest land together as one new metadata version.
func TestCommitGroupAppliesInOrder(t *testing.T) {
	svc, id, created, dir := groupEnv(t)
	loc := created.Location()
	_, addS1 := appendUpdates(loc, 2001, 0, 1, time.Now().UnixMilli())
	_, addS2 := appendUpdates(loc, 2002, 0, 1, time.Now().UnixMilli())
	mainIsNull := `[{"type":"assert-ref-snapshot-id","ref":"main","snapshot-id":null}]`
	tests := []struct {
		name       string
		reqs, upds string
		want       errs.Kind // 0: lands
	}{
		{"set a property", `[]`, `[{"action":"set-properties","updates":{"a":"1"}}]`, 0},
		{"first append on an empty main", mainIsNull, string(addS1), 0},
		{"second append on an empty main", mainIsNull, string(addS2), errs.CommitFailed},
		{"unknown current schema", `[]`, `[{"action":"set-current-schema","schema-id":99}]`, errs.BadRequest},
		{"another property, on the right uuid", `[{"type":"assert-table-uuid","uuid":"` + created.TableUUID().String() + `"}]`,
			`[{"action":"set-properties","updates":{"b":"2"}}]`, 0},
		{"nothing to change", `[]`, `[]`, 0},
	}
	group := make([]*member[TableChange], len(tests))
	for i, tc := range tests {
		group[i] = newMember(id, tc.reqs, tc.upds)
	}
	commitGroup(svc, tableOps{}, group)

	var landed string
	for i, tc := range tests {
		r := <-group[i].done
		switch {
		case tc.want != 0 && !errs.Is(r.err, tc.want):
			t.Errorf("%s: %v, want %v", tc.name, r.err, tc.want)
		case tc.want == 0 && r.err != nil:
			t.Errorf("%s: %v", tc.name, r.err)
		case tc.want == 0 && landed == "":
			landed = r.commit.MetadataLocation
		case tc.want == 0 && r.commit.MetadataLocation != landed:
			t.Errorf("%s: landed at %s, the group at %s", tc.name, r.commit.MetadataLocation, landed)
		}
	}
	if !strings.Contains(landed, "/metadata/00001-") {
		t.Fatalf("group landed at %s, want version 1", landed)
	}
	res, err := svc.LoadTable(context.Background(), id, "")
	if err != nil {
		t.Fatal(err)
	}
	m, err := table.ParseMetadataBytes(res.Metadata)
	if err != nil {
		t.Fatal(err)
	}
	if res.MetadataLocation != landed || m.Properties()["a"] != "1" || m.Properties()["b"] != "2" {
		t.Fatalf("table at %s with properties %v", res.MetadataLocation, m.Properties())
	}
	if s := m.CurrentSnapshot(); s == nil || s.SnapshotID != 2001 || len(m.Snapshots()) != 1 {
		t.Fatalf("current snapshot %v of %d", s, len(m.Snapshots()))
	}
	var log []string
	for e := range m.PreviousFiles() {
		log = append(log, e.MetadataFile)
	}
	if len(log) != 1 || !strings.Contains(log[0], "/metadata/00000-") {
		t.Fatalf("metadata log %v, want the created file alone", log)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "db", "t-*", "metadata", "*.metadata.json"))
	if len(files) != 2 {
		t.Fatalf("%d metadata files, want 2: %v", len(files), files)
	}
}

// A group whose every commit fails writes nothing.
func TestCommitGroupAllFail(t *testing.T) {
	svc, id, _, dir := groupEnv(t)
	group := []*member[TableChange]{
		newMember(id, `[{"type":"assert-current-schema-id","current-schema-id":5}]`, `[{"action":"set-properties","updates":{"a":"1"}}]`),
		newMember(id, `[]`, `[{"action":"set-current-schema","schema-id":99}]`),
	}
	commitGroup(svc, tableOps{}, group)
	for i, want := range []errs.Kind{errs.CommitFailed, errs.BadRequest} {
		if r := <-group[i].done; !errs.Is(r.err, want) {
			t.Errorf("commit %d: %v, want %v", i, r.err, want)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "db", "t-*", "metadata", "*.metadata.json"))
	if len(files) != 1 {
		t.Fatalf("%d metadata files, want the created one", len(files))
	}
}

// A commit that gives up waiting for its turn leaves the queue and is never
// committed by a later turn.
func TestCommitQueuedGivesUpWaiting(t *testing.T) {
	svc, id, _, _ := groupEnv(t)
	ctx := context.Background()
	key := "table/" + tableKey(id)
	release, err := svc.locks.lock(ctx, key) // another commit's turn
	if err != nil {
		t.Fatal(err)
	}
	c := newMember(id, `[]`, `[{"action":"set-properties","updates":{"late":"1"}}]`).change
	svc.opts.CommitTimeout = 20 * time.Millisecond
	if _, err := commitQueued(ctx, svc, tableOps{}, &svc.tableQueues, c); !errs.Is(err, errs.CommitFailed) {
		t.Fatalf("commit past its deadline: %v, want CommitFailed", err)
	}
	if q := svc.tableQueues.take(key, 10); len(q) != 0 {
		t.Fatalf("%d commits still queued", len(q))
	}
	release()
	res, err := svc.LoadTable(ctx, id, "")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(res.Metadata), `"late"`) || !strings.Contains(res.MetadataLocation, "/metadata/00000-") {
		t.Fatalf("the abandoned commit landed: %s", res.MetadataLocation)
	}
}

// A group is a run of the queue's head: commits of one principal, at most
// limit. (Staged creates are not queued: they land alone, without a lock.)
func TestCommitQueuesTake(t *testing.T) {
	mk := func(name, who string) *member[TableChange] {
		return &member[TableChange]{principal: who, change: &TableChange{Ident: store.Ident{Name: name}}}
	}
	tests := []struct {
		name  string
		queue []*member[TableChange]
		limit int
		want  [][]string
	}{
		{"one principal", []*member[TableChange]{mk("a", "p"), mk("b", "p"), mk("c", "p")}, 10, [][]string{{"a", "b", "c"}}},
		{"limit", []*member[TableChange]{mk("a", ""), mk("b", ""), mk("c", "")}, 2, [][]string{{"a", "b"}, {"c"}}},
		{"principals take turns", []*member[TableChange]{mk("a", "p"), mk("b", "p"), mk("c", "q"), mk("d", "p")}, 10,
			[][]string{{"a", "b"}, {"c"}, {"d"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var q commitQueues[TableChange]
			for _, m := range tc.queue {
				q.push("k", m)
			}
			var got [][]string
			for g := q.take("k", tc.limit); len(g) > 0; g = q.take("k", tc.limit) {
				var names []string
				for _, m := range g {
					names = append(names, m.change.Ident.Name)
				}
				got = append(got, names)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("groups %v, want %v", got, tc.want)
			}
			if len(q.queues) != 0 {
				t.Fatalf("queue map keeps %d keys", len(q.queues))
			}
		})
	}
}

// A group lands under the Idempotency-Keys of the members whose changes
// applied, each marked in the group's own transaction; a member whose
// requirement failed is not marked, whichever member's context the group
// runs on.
func TestCommitGroupMarksMembersKeys(t *testing.T) {
	svc, id, _, _ := groupEnv(t)
	ctx := context.Background()
	keys := []string{"00000000-0000-0000-0000-000000000001", "00000000-0000-0000-0000-000000000002", "00000000-0000-0000-0000-000000000003"}
	for _, k := range keys {
		if _, began, err := svc.st.BeginIdempotent(ctx, store.IdempotencyRecord{Key: k, Operation: "updateTable", RequestHash: "h", ExpiresAt: time.Now().Add(time.Minute)}); err != nil || !began {
			t.Fatal(began, err)
		}
	}
	// The failing member comes first: the group runs on its context.
	fail := newMember(id, `[{"type":"assert-ref-snapshot-id","ref":"main","snapshot-id":1}]`, `[{"action":"set-properties","updates":{"x":"1"}}]`)
	ok1 := newMember(id, `[]`, `[{"action":"set-properties","updates":{"a":"1"}}]`)
	ok2 := newMember(id, `[]`, `[{"action":"set-properties","updates":{"b":"1"}}]`)
	group := []*member[TableChange]{fail, ok1, ok2}
	for i, m := range group {
		m.idem = store.IdempotencyMark{Key: keys[i], ExpiresAt: time.Now().Add(time.Hour)}
		m.ctx = store.WithIdempotency(ctx, m.idem)
	}
	commitGroup(svc, tableOps{}, group)
	if r := <-fail.done; !errs.Is(r.err, errs.CommitFailed) {
		t.Fatalf("failing member: %v", r.err)
	}
	var landed string
	for _, m := range group[1:] {
		r := <-m.done
		if r.err != nil {
			t.Fatal(r.err)
		}
		landed = r.commit.MetadataLocation
	}
	for i, want := range []bool{false, true, true} {
		rec, _, err := svc.st.BeginIdempotent(ctx, store.IdempotencyRecord{Key: keys[i], Operation: "updateTable", RequestHash: "h"})
		if err != nil {
			t.Fatal(err)
		}
		if rec.Committed != want || (want && rec.Outcome.MetadataLocation != landed) {
			t.Errorf("member %d: committed %v (%+v), want %v", i, rec.Committed, rec.Outcome, want)
		}
	}
}
