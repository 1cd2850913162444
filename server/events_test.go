package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/google/uuid"

	"github.com/bingsan/bingsan/gen/bingsanapi"
	"github.com/bingsan/bingsan/internal/eventstest"
	"github.com/bingsan/bingsan/server"
	"github.com/bingsan/bingsan/server/servertest"
)

const evSchema = `{"type":"struct","schema-id":0,"fields":[{"id":1,"name":"x","type":"long","required":false}]}`

// evMust sends a JSON request that must answer want.
func evMust(t *testing.T, want int, method, url, body string) []byte {
	t.Helper()
	var b []byte
	if body != "" {
		b = []byte(body)
	}
	status, _, resp := call(t, method, url, "application/json", b)
	if status != want {
		t.Fatalf("%s %s: %d %s, want %d", method, url, status, resp, want)
	}
	return resp
}

func evMetadataLocation(t *testing.T, body []byte) string {
	t.Helper()
	var r struct {
		MetadataLocation string `json:"metadata-location"`
	}
	if err := json.Unmarshal(body, &r); err != nil || r.MetadataLocation == "" {
		t.Fatalf("no metadata-location in %s: %v", body, err)
	}
	return r.MetadataLocation
}

func evList(t *testing.T, base, query string) bingsanapi.EventPage {
	t.Helper()
	p, err := eventstest.List(context.Background(), http.DefaultClient, base, query)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func evTypes(evs []bingsanapi.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = strings.TrimPrefix(e.Type, "io.bingsan.") + " " + e.Subject
	}
	return out
}

// Every kind of mutation over REST shows up in GET /v1/events, with its
// details; failed requests leave nothing.
func TestEventsOverREST(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		srv := servertest.Start(t, b, servertest.Config{})
		u := srv.URL + "/v1"
		evMust(t, 200, "POST", u+"/namespaces", `{"namespace":["ns"]}`)
		evMust(t, 200, "POST", u+"/namespaces", `{"namespace":["ns","sub"]}`)
		evMust(t, 409, "POST", u+"/namespaces", `{"namespace":["ns"]}`)
		evMust(t, 200, "POST", u+"/namespaces/ns/properties", `{"removals":["nope"],"updates":{"owner":"me"}}`)
		created := evMetadataLocation(t, evMust(t, 200, "POST", u+"/namespaces/ns/tables", fmt.Sprintf(`{"name":"t","schema":%s}`, evSchema)))
		evMust(t, 409, "POST", u+"/namespaces/ns/tables", fmt.Sprintf(`{"name":"t","schema":%s}`, evSchema))
		const snap = int64(7340031337000000123)
		committed := evMetadataLocation(t, evMust(t, 200, "POST", u+"/namespaces/ns/tables/t", fmt.Sprintf(`{"requirements":[{"type":"assert-ref-snapshot-id","ref":"main","snapshot-id":null}],"updates":[
			{"action":"add-snapshot","snapshot":{"snapshot-id":%d,"sequence-number":1,"timestamp-ms":%d,"manifest-list":"file:///nowhere/snap.avro","summary":{"operation":"append"},"schema-id":0}},
			{"action":"set-snapshot-ref","ref-name":"main","type":"branch","snapshot-id":%d}]}`, snap, time.Now().UnixMilli(), snap)))
		// A commit whose requirement fails changes nothing and says nothing.
		evMust(t, 409, "POST", u+"/namespaces/ns/tables/t", `{"requirements":[{"type":"assert-ref-snapshot-id","ref":"main","snapshot-id":1}],"updates":[{"action":"set-properties","updates":{"a":"b"}}]}`)
		evMust(t, 200, "POST", u+"/namespaces/ns/tables", fmt.Sprintf(`{"name":"t2","schema":%s}`, evSchema))
		evMust(t, 204, "POST", u+"/transactions/commit", `{"table-changes":[
			{"identifier":{"namespace":["ns"],"name":"t2"},"requirements":[],"updates":[{"action":"set-properties","updates":{"k":"1"}}]},
			{"identifier":{"namespace":["ns"],"name":"t"},"requirements":[],"updates":[{"action":"set-properties","updates":{"k":"1"}}]}]}`)
		evMust(t, 200, "POST", u+"/namespaces/ns%1Fsub/views", fmt.Sprintf(`{"name":"v","schema":%s,"view-version":{"version-id":1,"schema-id":0,
			"timestamp-ms":%d,"summary":{},"default-namespace":["ns"],"representations":[{"type":"sql","dialect":"spark","sql":"select 1"}]}}`, evSchema, time.Now().UnixMilli()))
		evMust(t, 204, "POST", u+"/tables/rename", `{"source":{"namespace":["ns"],"name":"t"},"destination":{"namespace":["ns","sub"],"name":"moved"}}`)
		// A live table cannot be registered twice: register an imported
		// copy of it (its own UUID and directory in the namespace).
		evMust(t, 200, "POST", u+"/namespaces/ns/register", fmt.Sprintf(`{"name":"again","metadata-location":%q}`, importedCopy(t, committed)))
		evMust(t, 204, "DELETE", u+"/namespaces/ns%1Fsub/tables/moved?purgeRequested=true", "")
		evMust(t, 204, "DELETE", u+"/namespaces/ns%1Fsub/views/v", "")
		evMust(t, 404, "DELETE", u+"/namespaces/ns%1Fsub/views/v", "")
		evMust(t, 204, "DELETE", u+"/namespaces/ns%1Fsub", "")

		page := evList(t, srv.URL, "after=0&limit=1000")
		want := []string{
			"namespace.created ns", "namespace.created ns.sub", "namespace.updated ns",
			"table.created ns.t", "table.committed ns.t", "table.created ns.t2",
			"table.committed ns.t2", "table.committed ns.t", // the transaction, in request order
			"view.created ns.sub.v", "table.renamed ns.t", "table.registered ns.again",
			"table.dropped ns.sub.moved", "view.dropped ns.sub.v", "namespace.dropped ns.sub",
		}
		if got := evTypes(page.Events); !slices.Equal(got, want) {
			t.Fatalf("events:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		for i, e := range page.Events {
			if e.Id != strconv.Itoa(i+1) || e.Specversion != "1.0" || e.Source != "/bingsan/default" || e.Data.Warehouse != "default" ||
				time.Since(e.Time) > time.Minute || e.Data.Principal != nil {
				t.Fatalf("event %d: %+v", i+1, e)
			}
		}
		if page.NextAfter != 14 || page.More {
			t.Fatalf("next-after %d more %v", page.NextAfter, page.More)
		}
		commit := page.Events[4].Data
		if *commit.PreviousMetadataLocation != created || *commit.MetadataLocation != committed || !slices.Equal(*commit.SnapshotsAdded, []int64{snap}) {
			t.Fatalf("commit event data: %+v", commit)
		}
		if upd := page.Events[2].Data; !slices.Equal(*upd.PropertiesUpdated, []string{"owner"}) || upd.PropertiesRemoved != nil {
			t.Fatalf("namespace update: %+v", upd)
		}
		if rn := page.Events[9].Data; rn.RenamedTo == nil || !slices.Equal(rn.RenamedTo.Namespace, []string{"ns", "sub"}) || rn.RenamedTo.Name != "moved" {
			t.Fatalf("rename: %+v", rn)
		}
		if drop := page.Events[11].Data; drop.PurgeRequested == nil || !*drop.PurgeRequested || drop.PreviousMetadataLocation == nil {
			t.Fatalf("drop: %+v", drop)
		}

		// Filters select exactly.
		for _, tc := range []struct{ query, want string }{
			{"namespace=ns%1Fsub", "namespace.created ns.sub|view.created ns.sub.v|table.dropped ns.sub.moved|view.dropped ns.sub.v|namespace.dropped ns.sub|table.renamed ns.t"},
			{"namespace=ns&object=t", "table.created ns.t|table.committed ns.t|table.committed ns.t|table.renamed ns.t"},
			{"namespace=ns%1Fsub&object=moved", "table.renamed ns.t|table.dropped ns.sub.moved"},
			{"types=table.committed,io.bingsan.view.dropped", "table.committed ns.t|table.committed ns.t2|table.committed ns.t|view.dropped ns.sub.v"},
			{"warehouse=other", ""},
			{"types=namespace.created&namespace=ns%1Fsub", "namespace.created ns.sub"},
		} {
			got := evTypes(evList(t, srv.URL, tc.query+"&limit=1000").Events)
			want := strings.Split(tc.want, "|")
			if tc.want == "" {
				want = nil
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("%s: got %q, want %q", tc.query, got, want)
			}
		}

		// Paging: next-after covers events the filter skipped.
		p := evList(t, srv.URL, "after=0&limit=2&types=view.created")
		if len(p.Events) != 1 || p.NextAfter != 14 || p.More {
			t.Fatalf("filtered page: %+v", p)
		}
		p = evList(t, srv.URL, "after=3&limit=2")
		if evTypes(p.Events)[0] != "table.created ns.t" || p.NextAfter != 5 || !p.More {
			t.Fatalf("page after 3: %+v", p)
		}

		for _, q := range []string{"after=-1", "after=15", "limit=0", "limit=1001", "after=x", "types=table.exploded", "object=t", "namespace=%1F"} {
			status, _, body := call(t, "GET", srv.URL+"/v1/events?"+q, "", nil)
			if status != 400 {
				t.Errorf("GET /v1/events?%s: %d %s", q, status, body)
				continue
			}
			errorOf(t, status, body)
		}
		if _, resp, err := eventstest.Dial(context.Background(), srv.URL, "after=15"); err == nil || resp == nil || resp.StatusCode != 400 {
			t.Fatalf("stream after a future id: %v %v", resp, err)
		}
		// Without an upgrade the stream route explains itself.
		status, _, body := call(t, "GET", srv.URL+"/v1/events/stream", "", nil)
		if status != 400 || !strings.Contains(errorOf(t, status, body).Message, "WebSocket") {
			t.Fatalf("plain GET of the stream: %d %s", status, body)
		}

		// After pruning, resuming before the retained events is 410.
		if _, err := srv.Store.PruneEvents(context.Background(), time.Now().Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		status, _, body = call(t, "GET", srv.URL+"/v1/events?after=3", "", nil)
		if status != 410 || errorOf(t, status, body).Type != "GoneException" {
			t.Fatalf("after pruned events: %d %s", status, body)
		}
		if p := evList(t, srv.URL, "after=0"); len(p.Events) != 0 || p.NextAfter != 0 {
			t.Fatalf("after pruning everything: %+v", p)
		}
		if p := evList(t, srv.URL, "after=14"); len(p.Events) != 0 || p.NextAfter != 14 {
			t.Fatalf("at the head after pruning: %+v", p)
		}
		_, resp, err := eventstest.Dial(context.Background(), srv.URL, "after=3")
		if err == nil || resp == nil || resp.StatusCode != 410 {
			t.Fatalf("stream after pruned events: %v %v", resp, err)
		}
	})
}

func TestEventStream(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		srv := servertest.Start(t, b, servertest.Config{})
		ctx := context.Background()
		mk := func(name string) {
			evMust(t, 200, "POST", srv.URL+"/v1/namespaces", fmt.Sprintf(`{"namespace":[%q]}`, name))
		}
		mk("early")

		live, resp, err := eventstest.Dial(ctx, srv.URL, "")
		if err != nil {
			t.Fatal(err)
		}
		defer live.Close()
		if got := resp.Header.Get(server.EventHeadHeader); got != "1" {
			t.Fatalf("%s: %q, want 1", server.EventHeadHeader, got)
		}
		onlyDrops, _, err := eventstest.Dial(ctx, srv.URL, "types=namespace.dropped")
		if err != nil {
			t.Fatal(err)
		}
		defer onlyDrops.Close()

		// A failed request in between writes nothing.
		evMust(t, 409, "POST", srv.URL+"/v1/namespaces", `{"namespace":["early"]}`)
		for i := range 5 {
			mk(fmt.Sprintf("n%d", i))
		}
		evMust(t, 204, "DELETE", srv.URL+"/v1/namespaces/n2", "")
		var got []int64
		for range 6 {
			e, id, err := eventstest.Read(live, 10*time.Second)
			if err != nil {
				t.Fatalf("live stream after %v: %v", got, err)
			}
			if id == 2 && e.Subject != "n0" {
				t.Fatalf("event 2 is %s %s", e.Type, e.Subject)
			}
			got = append(got, id)
		}
		if !slices.Equal(got, []int64{2, 3, 4, 5, 6, 7}) {
			t.Fatalf("live: %v", got)
		}
		if e, id, err := eventstest.Read(onlyDrops, 10*time.Second); err != nil || id != 7 || e.Type != "io.bingsan.namespace.dropped" {
			t.Fatalf("filtered stream: %d %+v %v", id, e, err)
		}

		// From the beginning, then disconnect mid-stream and resume
		// with after: nothing is lost, nothing repeated.
		first, _, err := eventstest.Dial(ctx, srv.URL, "after=0")
		if err != nil {
			t.Fatal(err)
		}
		got = nil
		for range 3 {
			_, id, err := eventstest.Read(first, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, id)
		}
		first.Close()
		mk("while-away")
		again, _, err := eventstest.Dial(ctx, srv.URL, "after="+strconv.FormatInt(got[len(got)-1], 10))
		if err != nil {
			t.Fatal(err)
		}
		defer again.Close()
		for range 5 {
			_, id, err := eventstest.Read(again, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, id)
		}
		if !slices.Equal(got, []int64{1, 2, 3, 4, 5, 6, 7, 8}) {
			t.Fatalf("resumed: %v", got)
		}

		// The client closing is a normal end for the server.
		if err := again.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := eventstest.Read(again, 10*time.Second); err == nil {
			t.Fatal("read after close succeeded")
		}
	})
}

// A subscriber that does not keep up is closed with code 4000 and a reason
// that names the last event it was sent; resuming from there loses nothing.
func TestEventStreamSlowSubscriber(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		// The subscriber reads nothing until every event exists, which on a
		// loaded machine takes longer than the default write timeout; past
		// it the server would drop the connection without a close frame.
		srv := servertest.Start(t, b, servertest.Config{EventBuffer: 16, EventWriteTimeout: 3 * time.Minute})
		ctx := context.Background()
		// Long property keys make big events (an update names its keys):
		// one update of each namespace, so that no row grows.
		const total = 1200
		for i := range total {
			if status, _, b := call(t, "POST", srv.URL+"/v1/namespaces", "application/json", fmt.Appendf(nil, `{"namespace":["n%04d"]}`, i)); status != 200 {
				t.Fatalf("create: %d %s", status, b)
			}
		}
		// A small receive buffer: the server's writes block soon.
		slow, resp, err := eventstest.DialReceiveBuffer(ctx, srv.URL, "", 4096)
		if err != nil {
			t.Fatal(err)
		}
		defer slow.Close()
		head, _ := strconv.ParseInt(resp.Header.Get(server.EventHeadHeader), 10, 64)

		long := strings.Repeat("x", 1000)
		generated := make(chan struct{})
		go func() {
			defer close(generated)
			var wg sync.WaitGroup
			for w := range 4 {
				wg.Go(func() {
					for i := w; i < total; i += 4 {
						body := fmt.Sprintf(`{"updates":{"%s":"v"}}`, long)
						if status, _, b := call(t, "POST", fmt.Sprintf("%s/v1/namespaces/n%04d/properties", srv.URL, i), "application/json", []byte(body)); status != 200 {
							t.Errorf("update %d: %d %s", i, status, b)
							return
						}
					}
				})
			}
			wg.Wait()
		}()
		// Not reading until every event exists: far more than the
		// subscriber's buffer and the socket buffers hold, so the close
		// cannot depend on how fast this machine creates namespaces.
		select {
		case <-generated:
		case <-time.After(2 * time.Minute):
			t.Fatal("updating the properties took over 2 minutes")
		}

		last := head
		var code int
		var reason string
		for {
			_, id, err := eventstest.Read(slow, 20*time.Second)
			if err != nil {
				var ok bool
				if code, reason, ok = eventstest.CloseOf(err); !ok {
					t.Fatalf("after event %d: %v", last, err)
				}
				break
			}
			if id != last+1 {
				t.Fatalf("event %d after %d", id, last)
			}
			last = id
		}
		if code != server.CloseSlowSubscriber {
			t.Fatalf("close code %d (%q), want %d", code, reason, server.CloseSlowSubscriber)
		}
		resume, ok := eventstest.ResumeAfter(reason)
		if !ok || resume != last {
			t.Fatalf("close reason %q; the last event received was %d", reason, last)
		}
		if last >= head+total {
			t.Fatalf("all %d events arrived before the close", total)
		}
		<-generated
		again, _, err := eventstest.Dial(ctx, srv.URL, "after="+strconv.FormatInt(resume, 10))
		if err != nil {
			t.Fatal(err)
		}
		defer again.Close()
		for last < head+total {
			_, id, err := eventstest.Read(again, 20*time.Second)
			if err != nil || id != last+1 {
				t.Fatalf("resumed stream after %d: %d %v", last, id, err)
			}
			last = id
		}
	})
}

// importedCopy writes a copy of the local metadata file at loc as another
// table's: a new UUID, and a location next to the original's.
func importedCopy(t *testing.T, loc string) string {
	t.Helper()
	raw, err := os.ReadFile(strings.TrimPrefix(loc, "file://"))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	doc["table-uuid"] = uuid.NewString()
	doc["location"] = doc["location"].(string) + "-imported"
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	copied := doc["location"].(string) + "/metadata/00001-" + uuid.NewString() + ".metadata.json"
	path := strings.TrimPrefix(copied, "file://")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return copied
}
