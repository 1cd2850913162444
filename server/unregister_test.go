package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/apache/iceberg-go/catalog"
	"github.com/google/uuid"

	"github.com/bingsan/bingsan/server/servertest"
	"github.com/bingsan/bingsan/store"
)

// unregisterAnswer is the body of a 200 unregisterTable.
type unregisterAnswer struct {
	MetadataLocation string `json:"metadata-location"`
	Metadata         struct {
		CurrentSnapshotID *int64            `json:"current-snapshot-id"`
		Properties        map[string]string `json:"properties"`
	} `json:"metadata"`
}

// unregisterTable leaves the table's files alone, answers its last
// metadata, frees its name and location (it registers again elsewhere and
// iceberg-go reads its rows back), replays under its Idempotency-Key and
// is recorded as an event.
func TestUnregisterTable(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		// External locations: the table registers again in another
		// namespace, whose directory does not hold its files.
		srv := servertest.Start(t, b, servertest.Config{ExternalLocations: map[string]bool{"default": true}})
		cat := newRESTClient(ctx, t, srv.URL)
		for _, ns := range []string{"live", "archive"} {
			if err := cat.CreateNamespace(ctx, catalog.ToIdentifier(ns), nil); err != nil {
				t.Fatal(err)
			}
		}
		// Outside every namespace's directory: files inside the directory
		// of "live" could not belong to a table of "archive" (a location
		// belongs to one owner and the namespaces holding it).
		ident := catalog.ToIdentifier("live", "events")
		tbl, err := cat.CreateTable(ctx, ident, e2eSchema(), catalog.WithLocation(srv.Warehouse+"/external/events"))
		if err != nil {
			t.Fatal(err)
		}
		rows := []e2eRow{{1, "alpha"}, {2, "beta"}, {3, "gamma"}}
		if tbl, err = e2eAppend(ctx, t, tbl, rows); err != nil {
			t.Fatal(err)
		}
		tableDir := localPath(t, tbl.Location())
		filesBefore := filesUnder(t, tableDir)

		url := srv.URL + "/v1/namespaces/live/tables/events/unregister"
		key := uuid.NewString()
		status, _, body := call(t, "POST", url, "application/json", nil, "Idempotency-Key", key)
		if status != 200 {
			t.Fatalf("unregister: %d %s", status, body)
		}
		var ans unregisterAnswer
		if err := json.Unmarshal(body, &ans); err != nil {
			t.Fatal(err)
		}
		if ans.MetadataLocation != tbl.MetadataLocation() || ans.Metadata.CurrentSnapshotID == nil ||
			*ans.Metadata.CurrentSnapshotID != tbl.CurrentSnapshot().SnapshotID {
			t.Fatalf("answer %s, want metadata %s at snapshot %d", body, tbl.MetadataLocation(), tbl.CurrentSnapshot().SnapshotID)
		}

		// The same key replays the answer; another request finds nothing.
		status2, _, body2 := call(t, "POST", url, "application/json", nil, "Idempotency-Key", key)
		if status2 != 200 || !bytes.Equal(body2, body) {
			t.Fatalf("replay: %d %s, want the first answer", status2, body2)
		}
		status, _, body = call(t, "POST", url, "application/json", nil)
		if status != 404 || errorOf(t, status, body).Type != "NoSuchTableException" {
			t.Fatalf("second unregister: %d %s", status, body)
		}
		if _, err := cat.LoadTable(ctx, ident); !errors.Is(err, catalog.ErrNoSuchTable) {
			t.Fatalf("load after unregister: %v", err)
		}
		for id, err := range cat.ListTables(ctx, catalog.ToIdentifier("live")) {
			t.Fatalf("listed after unregister: %v %v", id, err)
		}
		if got := filesUnder(t, tableDir); !slices.Equal(got, filesBefore) {
			t.Fatalf("files changed by unregister:\nbefore %v\nafter  %v", filesBefore, got)
		}
		events, err := srv.Store.ListEvents(ctx, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range events {
			if e.Type == store.EventTableUnregistered {
				n++
				if e.Name != "events" || e.PreviousMetadataLocation != tbl.MetadataLocation() {
					t.Errorf("event %+v", e)
				}
			}
		}
		if n != 1 {
			t.Fatalf("%d table.unregistered events, want 1", n)
		}

		// Registered again, in another namespace: the same table and rows.
		moved := catalog.ToIdentifier("archive", "events_2026")
		back, err := cat.RegisterTable(ctx, moved, ans.MetadataLocation)
		if err != nil {
			t.Fatalf("register the unregistered table: %v", err)
		}
		if back.Metadata().TableUUID() != tbl.Metadata().TableUUID() {
			t.Fatal("registered another table")
		}
		if got := e2eScan(ctx, t, back); !slices.Equal(got, rows) {
			t.Fatalf("rows after register: %v, want %v", got, rows)
		}
		// Its locations are claimed again: a third name may not share them.
		if _, err := cat.RegisterTable(ctx, catalog.ToIdentifier("live", "twin"), ans.MetadataLocation); !errors.Is(err, catalog.ErrTableAlreadyExists) {
			t.Fatalf("register of claimed files: %v, want AlreadyExists", err)
		}
		// The old name is free.
		if _, err := cat.CreateTable(ctx, ident, e2eSchema()); err != nil {
			t.Fatalf("create under the freed name: %v", err)
		}
	})
}

// Every commit racing with an unregister either lands before it, and is
// in the metadata the unregister answers, or fails.
func TestUnregisterRacingCommits(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		srv := servertest.Start(t, b, servertest.Config{})
		status, _, body := call(t, "POST", srv.URL+"/v1/namespaces", "application/json", []byte(`{"namespace":["race"]}`))
		if status != 200 {
			t.Fatalf("%d %s", status, body)
		}
		status, _, body = call(t, "POST", srv.URL+"/v1/namespaces/race/tables", "application/json",
			[]byte(`{"name":"t","schema":{"type":"struct","fields":[{"id":1,"name":"id","type":"long","required":true}]}}`))
		if status != 200 {
			t.Fatalf("%d %s", status, body)
		}
		const writers = 12
		type outcome struct {
			status int
			body   string
		}
		results := make([]outcome, writers)
		var unregistered outcome
		var wg sync.WaitGroup
		start := make(chan struct{})
		post := func(url, body string) outcome {
			resp, err := http.Post(url, "application/json", bytes.NewReader([]byte(body)))
			if err != nil {
				return outcome{0, err.Error()}
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return outcome{resp.StatusCode, string(b)}
		}
		for i := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				results[i] = post(srv.URL+"/v1/namespaces/race/tables/t",
					fmt.Sprintf(`{"requirements":[],"updates":[{"action":"set-properties","updates":{"w%d":"x"}}]}`, i))
			}()
			if i == writers/2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					unregistered = post(srv.URL+"/v1/namespaces/race/tables/t/unregister", "")
				}()
			}
		}
		close(start)
		wg.Wait()
		if unregistered.status != 200 {
			t.Fatalf("unregister: %d %s", unregistered.status, unregistered.body)
		}
		var ans unregisterAnswer
		if err := json.Unmarshal([]byte(unregistered.body), &ans); err != nil {
			t.Fatal(err)
		}
		landed := 0
		for i, r := range results {
			_, in := ans.Metadata.Properties[fmt.Sprintf("w%d", i)]
			switch r.status {
			case 200:
				landed++
				if !in {
					t.Errorf("commit %d was acknowledged but is not in the unregistered metadata", i)
				}
			case 404, 409:
				if in {
					t.Errorf("commit %d failed (%d) but is in the unregistered metadata", i, r.status)
				}
			default:
				t.Errorf("commit %d: %d %s", i, r.status, r.body)
			}
		}
		t.Logf("%d of %d racing commits landed before the unregister", landed, writers)
		status, _, body = call(t, "GET", srv.URL+"/v1/namespaces/race/tables/t", "", nil)
		if status != 404 {
			t.Fatalf("load after the race: %d %s", status, body)
		}
	})
}
