package events_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/bingsan/bingsan/gen/bingsanapi"
	"github.com/bingsan/bingsan/internal/eventstest"
	"github.com/bingsan/bingsan/internal/nodetest"
	"github.com/bingsan/bingsan/internal/pgtest"
	"github.com/bingsan/bingsan/server"
)

// cluster is three `bingsan serve` processes on one PostgreSQL database.
type cluster struct {
	nodes  []*nodetest.Node
	client *http.Client
}

func startCluster(t *testing.T, extra ...string) *cluster {
	t.Helper()
	dsn := pgtest.NewDatabase(t)
	bin := nodetest.BuildBinary(t)
	warehouse := filepath.Join(t.TempDir(), "warehouse")
	c := &cluster{client: &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	t.Cleanup(c.client.CloseIdleConnections)
	for i := range 3 {
		name := fmt.Sprintf("node%c", 'A'+i)
		n, err := nodetest.Start(t, bin, name, append([]string{
			"--data-dir", filepath.Join(t.TempDir(), name),
			"--warehouse.location", "file://" + warehouse,
			"--store.driver", "postgres",
			"--store.postgres.dsn", dsn,
			"--store.postgres.max-conns", "8",
		}, extra...)...)
		if err != nil {
			t.Fatal(err)
		}
		nodetest.WaitReady(t, c.client, n)
		c.nodes = append(c.nodes, n)
	}
	return c
}

// do sends one request and fails the test unless it answers want. On any
// goroutine: a failure ends the calling goroutine (runtime.Goexit, as
// t.FailNow does).
func (c *cluster) do(t testing.TB, want int, method, url, body string) []byte {
	t.Helper()
	status, b, err := c.try(method, url, body)
	if err != nil || status != want {
		t.Errorf("%s %s: %d %v %s, want %d", method, url, status, err, b, want)
		runtime.Goexit()
	}
	return b
}

func (c *cluster) try(method, url, body string) (int, []byte, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func (c *cluster) head(t testing.TB) int64 {
	t.Helper()
	var last int64
	for after := int64(0); ; {
		p, err := eventstest.List(context.Background(), c.client, c.nodes[0].URL, fmt.Sprintf("after=%d&limit=1000", after))
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Events) > 0 {
			last, _ = strconv.ParseInt(p.Events[len(p.Events)-1].Id, 10, 64)
		}
		if !p.More {
			return max(last, p.NextAfter)
		}
		after = p.NextAfter
	}
}

const clusterSchema = `{"type":"struct","schema-id":0,"fields":[{"id":1,"name":"x","type":"long","required":false}]}`

func metadataLocation(t testing.TB, body []byte) string {
	t.Helper()
	var r struct {
		MetadataLocation string `json:"metadata-location"`
	}
	if err := json.Unmarshal(body, &r); err != nil || r.MetadataLocation == "" {
		t.Fatalf("no metadata-location in %s: %v", body, err)
	}
	return r.MetadataLocation
}

// follower reads a stream until the test says stop, reconnecting with the
// close reason's resume id when the server closes it: the protocol a real
// subscriber follows. Every event it hands on arrived once, in order.
type follower struct {
	base       string
	query      url.Values
	conn       *websocket.Conn
	reconnects atomic.Int32
}

// follow subscribes (the subscription exists when it returns); run reads.
func follow(ctx context.Context, base string, query url.Values) (*follower, error) {
	conn, _, err := eventstest.Dial(ctx, base, query.Encode())
	if err != nil {
		return nil, err
	}
	return &follower{base: base, query: query, conn: conn}, nil
}

// run reads until onEvent says stop or ctx ends. onEvent gets every event.
func (f *follower) run(ctx context.Context, onEvent func(e bingsanapi.Event, id int64, at time.Time) (stop bool)) error {
	conn := f.conn
	defer func() { conn.Close() }()
	// Closing the connection when ctx ends interrupts a blocked read.
	closeOnDone := func(c *websocket.Conn) func() bool { return context.AfterFunc(ctx, func() { c.Close() }) }
	stop := closeOnDone(conn)
	defer func() { stop() }()
	var last int64 = -1
	for {
		e, id, err := eventstest.Read(conn, 60*time.Second)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			code, reason, ok := eventstest.CloseOf(err)
			resume, hasResume := eventstest.ResumeAfter(reason)
			if !ok || !hasResume || (code != server.CloseSlowSubscriber && code != 1001) {
				return fmt.Errorf("stream %s?%s after %d: %v", f.base, f.query.Encode(), last, err)
			}
			q := cloneValues(f.query)
			q.Set("after", strconv.FormatInt(resume, 10))
			f.reconnects.Add(1)
			conn.Close()
			stop()
			if conn, _, err = eventstest.Dial(ctx, f.base, q.Encode()); err != nil {
				return err
			}
			stop = closeOnDone(conn)
			continue
		}
		if last >= 0 && id <= last {
			return fmt.Errorf("event %d after %d", id, last)
		}
		last = id
		if onEvent(e, id, time.Now()) {
			return nil
		}
	}
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

func percentile(d []time.Duration, p float64) time.Duration {
	s := slices.Clone(d)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

// Three nodes on one PostgreSQL: what is committed on one node reaches
// subscribers on the others in order and complete, across disconnects, at
// volume, through exact filters, and nothing is sent for what rolled back.
func TestCluster(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts three server processes")
	}
	c := startCluster(t)
	a, b, cNode := c.nodes[0], c.nodes[1], c.nodes[2]
	c.do(t, 200, "POST", a.URL+"/v1/namespaces", `{"namespace":["ev"]}`)
	c.do(t, 200, "POST", a.URL+"/v1/namespaces/ev/tables", `{"name":"t","schema":`+clusterSchema+`}`)

	// Commits acknowledged by node A arrive at a subscriber on node B in
	// commit order, each once; the time from A's acknowledgement to B's
	// receipt is the delivery latency reported in the README.
	commits := 300
	if v, err := strconv.Atoi(os.Getenv("BINGSAN_TEST_EVENT_LATENCY_COMMITS")); err == nil && v > 0 {
		commits = v
	}
	t.Run("CommitsOnAReachB", func(t *testing.T) {
		measureLatency(t, c, "t", commits, 0)
	})
	// The same while 6 writers on nodes A and C create namespaces as fast
	// as they can: every event writer waits for the event counter.
	t.Run("CommitsOnAReachBUnderLoad", func(t *testing.T) {
		c.do(t, 200, "POST", a.URL+"/v1/namespaces/ev/tables", `{"name":"loaded","schema":`+clusterSchema+`}`)
		measureLatency(t, c, "loaded", commits, 6)
	})

	// A subscriber disconnects mid-stream and resumes with after, on
	// another node, while writers on all nodes keep committing: the ids it
	// receives are exactly 1..head.
	t.Run("ResumeAfterDisconnect", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		var writers sync.WaitGroup
		for w := range 3 {
			writers.Go(func() {
				n := c.nodes[w]
				for i := range 40 {
					c.do(t, 200, "POST", n.URL+"/v1/namespaces", fmt.Sprintf(`{"namespace":["resume-%d-%d"]}`, w, i))
				}
			})
		}
		var ids []int64
		conn, _, err := eventstest.Dial(ctx, cNode.URL, "after=0")
		if err != nil {
			t.Fatal(err)
		}
		for len(ids) < 60 {
			_, id, err := eventstest.Read(conn, 30*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		conn.Close() // mid-stream, writers still writing
		time.Sleep(50 * time.Millisecond)
		writers.Wait()
		head := c.head(t)
		conn, _, err = eventstest.Dial(ctx, b.URL, "after="+strconv.FormatInt(ids[len(ids)-1], 10))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		for ids[len(ids)-1] < head {
			_, id, err := eventstest.Read(conn, 30*time.Second)
			if err != nil {
				t.Fatalf("after %d of %d: %v", len(ids), head, err)
			}
			ids = append(ids, id)
		}
		for i, id := range ids {
			if id != int64(i+1) {
				t.Fatalf("event %d at position %d: lost or repeated events around it", id, i)
			}
		}
	})

	// Concurrent creates of the same names on all nodes: the losers'
	// transactions roll back on a unique violation, and only the winner's
	// event exists.
	t.Run("RolledBackCreatesHaveNoEvent", func(t *testing.T) {
		before := c.head(t)
		var wins atomic.Int32
		var wg sync.WaitGroup
		for i := range 9 {
			wg.Go(func() {
				n := c.nodes[i%3]
				status, body, err := c.try("POST", n.URL+"/v1/namespaces", `{"namespace":["contested"]}`)
				switch {
				case err != nil:
					t.Error(err)
				case status == 200:
					wins.Add(1)
				case status != 409:
					t.Errorf("%s: %d %s", n.Name, status, body)
				}
				status, body, err = c.try("POST", n.URL+"/v1/namespaces/ev/tables", `{"name":"contested","schema":`+clusterSchema+`}`)
				switch {
				case err != nil:
					t.Error(err)
				case status == 200:
					wins.Add(1)
				case status != 409:
					t.Errorf("%s: %d %s", n.Name, status, body)
				}
			})
		}
		wg.Wait()
		if wins.Load() != 2 {
			t.Fatalf("%d creates won, want 2", wins.Load())
		}
		p, err := eventstest.List(context.Background(), c.client, cNode.URL, fmt.Sprintf("after=%d&limit=1000", before))
		if err != nil {
			t.Fatal(err)
		}
		if got := evTypesOf(p.Events); !slices.Equal(slices.Sorted(slices.Values(got)), []string{"namespace.created contested", "table.created ev.contested"}) {
			t.Fatalf("events of contested creates: %v", got)
		}
	})

	// Filters select exactly: each filtered stream receives precisely the
	// events its filter describes, wherever they were committed.
	t.Run("FiltersExact", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		type sub struct {
			query url.Values
			want  []string
		}
		subs := []sub{
			{url.Values{"namespace": {"f1"}}, []string{
				"namespace.created f1", "namespace.created f1.deep", "table.created f1.deep.t", "table.committed f1.deep.t",
				"view.created f1.v", "table.renamed f1.deep.t", "view.dropped f1.v"}},
			{url.Values{"namespace": {"f1\x1fdeep"}, "object": {"t"}}, []string{
				"table.created f1.deep.t", "table.committed f1.deep.t", "table.renamed f1.deep.t"}},
			{url.Values{"namespace": {"f2"}, "object": {"moved"}}, []string{"table.renamed f1.deep.t", "table.dropped f2.moved"}},
			{url.Values{"types": {"namespace.updated,io.bingsan.view.created"}}, []string{"namespace.updated f2", "view.created f1.v"}},
			{url.Values{"namespace": {"f2"}, "types": {"table.dropped"}}, []string{"table.dropped f2.moved"}},
		}
		var mu sync.Mutex
		results := make([][]string, len(subs))
		errs := make([]error, len(subs))
		var readers sync.WaitGroup
		for i, s := range subs {
			f, err := follow(ctx, c.nodes[i%3].URL, s.query)
			if err != nil {
				t.Fatal(err)
			}
			readers.Go(func() {
				errs[i] = f.run(ctx, func(e bingsanapi.Event, _ int64, _ time.Time) bool {
					mu.Lock()
					defer mu.Unlock()
					results[i] = append(results[i], strings.TrimPrefix(e.Type, "io.bingsan.")+" "+e.Subject)
					return false
				})
			})
		}
		m := func(n *nodetest.Node, want int, method, path, body string) {
			c.do(t, want, method, n.URL+"/v1"+path, body)
		}
		m(a, 200, "POST", "/namespaces", `{"namespace":["f1"]}`)
		m(b, 200, "POST", "/namespaces", `{"namespace":["f1","deep"]}`)
		m(cNode, 200, "POST", "/namespaces", `{"namespace":["f2"]}`)
		m(cNode, 200, "POST", "/namespaces", `{"namespace":["f10"]}`) // a prefix of f1 only as a string
		m(a, 200, "POST", "/namespaces/f1%1Fdeep/tables", `{"name":"t","schema":`+clusterSchema+`}`)
		m(a, 200, "POST", "/namespaces/f10/tables", `{"name":"t","schema":`+clusterSchema+`}`)
		m(b, 200, "POST", "/namespaces/f1%1Fdeep/tables/t", `{"requirements":[],"updates":[{"action":"set-properties","updates":{"a":"1"}}]}`)
		m(cNode, 200, "POST", "/namespaces/f2/properties", `{"updates":{"x":"y"}}`)
		m(a, 200, "POST", "/namespaces/f1/views", fmt.Sprintf(`{"name":"v","schema":%s,"view-version":{"version-id":1,"schema-id":0,
			"timestamp-ms":%d,"summary":{},"default-namespace":["f1"],"representations":[{"type":"sql","dialect":"spark","sql":"select 1"}]}}`, clusterSchema, time.Now().UnixMilli()))
		m(b, 409, "POST", "/namespaces/f1%1Fdeep/tables/t", `{"requirements":[{"type":"assert-ref-snapshot-id","ref":"main","snapshot-id":1}],"updates":[{"action":"set-properties","updates":{"b":"2"}}]}`)
		m(b, 204, "POST", "/tables/rename", `{"source":{"namespace":["f1","deep"],"name":"t"},"destination":{"namespace":["f2"],"name":"moved"}}`)
		m(cNode, 204, "DELETE", "/namespaces/f2/tables/moved", "")
		m(a, 204, "DELETE", "/namespaces/f1/views/v", "")
		// Wait for what each stream expects, then a while longer (more
		// than the brokers' poll interval) for anything it should not get.
		deadline := time.Now().Add(time.Minute)
		for {
			mu.Lock()
			ready := true
			for i, s := range subs {
				ready = ready && len(results[i]) >= len(s.want)
			}
			mu.Unlock()
			if ready || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(1500 * time.Millisecond)
		cancel()
		readers.Wait()
		mu.Lock()
		defer mu.Unlock()
		for i, s := range subs {
			if errs[i] != nil && errs[i] != context.Canceled {
				t.Fatalf("stream %v: %v", s.query, errs[i])
			}
			if !slices.Equal(results[i], s.want) {
				t.Errorf("stream %v:\n got %q\nwant %q", s.query, results[i], s.want)
			}
		}
	})

	// 10,000 events, 50 subscribers spread over the nodes: every
	// subscriber receives every event, in order.
	t.Run("TenThousandEventsFiftySubscribers", func(t *testing.T) {
		const total, subscribers = 10000, 50
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
		defer cancel()
		start := c.head(t)
		counts := make([]int, subscribers)
		errs := make([]error, subscribers)
		followers := make([]*follower, subscribers)
		var readers sync.WaitGroup
		for i := range subscribers {
			f, err := follow(ctx, c.nodes[i%3].URL, url.Values{"after": {strconv.FormatInt(start, 10)}})
			if err != nil {
				t.Fatal(err)
			}
			followers[i] = f
			readers.Go(func() {
				next := start + 1
				var order error
				errs[i] = f.run(ctx, func(_ bingsanapi.Event, id int64, _ time.Time) bool {
					if id != next {
						order = fmt.Errorf("subscriber %d: event %d, want %d", i, id, next)
						return true
					}
					next++
					counts[i]++
					return counts[i] == total
				})
				if order != nil {
					errs[i] = order
				}
			})
		}
		began := time.Now()
		var writers sync.WaitGroup
		const workers = 12
		for w := range workers {
			writers.Go(func() {
				n := c.nodes[w%3]
				for i := w; i < total; i += workers {
					if status, body, err := c.try("POST", n.URL+"/v1/namespaces", fmt.Sprintf(`{"namespace":["bulk%05d"]}`, i)); err != nil || status != 200 {
						t.Errorf("create %d on %s: %d %v %s", i, n.Name, status, err, body)
						return
					}
				}
			})
		}
		writers.Wait()
		written := time.Since(began)
		readers.Wait()
		delivered := time.Since(began)
		reconnects := 0
		for i := range subscribers {
			if errs[i] != nil {
				t.Fatalf("subscriber %d (%s): %v", i, followers[i].base, errs[i])
			}
			if counts[i] != total {
				t.Fatalf("subscriber %d received %d of %d", i, counts[i], total)
			}
			reconnects += int(followers[i].reconnects.Load())
		}
		t.Logf("%d events written in %v (%.0f/s) from 3 nodes; all delivered to %d subscribers in %v (%d resumes after a close)",
			total, written.Round(time.Millisecond), float64(total)/written.Seconds(), subscribers, delivered.Round(time.Millisecond), reconnects)
	})

	// A node going away closes its streams with 1001 and the id to resume
	// after; another node picks up from there.
	t.Run("ShutdownNamesResumePoint", func(t *testing.T) {
		before := c.head(t)
		conn, _, err := eventstest.Dial(context.Background(), cNode.URL, "after="+strconv.FormatInt(before-3, 10))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		var last int64
		for range 3 {
			if _, last, err = eventstest.Read(conn, 30*time.Second); err != nil {
				t.Fatal(err)
			}
		}
		cNode.Stop(t)
		_, _, err = eventstest.Read(conn, 30*time.Second)
		code, reason, ok := eventstest.CloseOf(err)
		resume, hasResume := eventstest.ResumeAfter(reason)
		if !ok || code != 1001 || !hasResume || resume != last {
			t.Fatalf("close on shutdown: %v (code %d, reason %q), want 1001 resuming after %d", err, code, reason, last)
		}
		c.do(t, 200, "POST", a.URL+"/v1/namespaces", `{"namespace":["after-shutdown"]}`)
		conn2, _, err := eventstest.Dial(context.Background(), b.URL, "after="+strconv.FormatInt(resume, 10))
		if err != nil {
			t.Fatal(err)
		}
		defer conn2.Close()
		e, id, err := eventstest.Read(conn2, 30*time.Second)
		if err != nil || id != resume+1 || e.Subject != "after-shutdown" {
			t.Fatalf("resumed on node B: %d %+v %v", id, e, err)
		}
	})
}

// measureLatency commits to table ev.<table> on node A one commit at a
// time, with load writers creating namespaces on nodes A and C meanwhile,
// and checks that a subscriber on node B receives every commit in order. It
// logs the latency from A's acknowledgement to B's receipt.
func measureLatency(t *testing.T, c *cluster, table string, commits, load int) {
	a, b := c.nodes[0], c.nodes[1]
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	f, err := follow(ctx, b.URL, url.Values{"namespace": {"ev"}, "object": {table}, "types": {"table.committed"}})
	if err != nil {
		t.Fatal(err)
	}
	type receipt struct {
		loc string
		at  time.Time
	}
	var got []receipt
	done := make(chan error, 1)
	go func() {
		done <- f.run(ctx, func(e bingsanapi.Event, _ int64, at time.Time) bool {
			got = append(got, receipt{*e.Data.MetadataLocation, at})
			return len(got) == commits
		})
	}()
	stopLoad := make(chan struct{})
	var loaders sync.WaitGroup
	var loaded atomic.Int64
	for w := range load {
		loaders.Go(func() {
			n := c.nodes[(w%2)*2] // A and C
			for i := 0; ; i++ {
				select {
				case <-stopLoad:
					return
				default:
				}
				c.do(t, 200, "POST", n.URL+"/v1/namespaces", fmt.Sprintf(`{"namespace":["load-%s-%d-%d"]}`, table, w, i))
				loaded.Add(1)
			}
		})
	}
	began := time.Now()
	acked := make([]string, commits)
	ackAt := make([]time.Time, commits)
	for i := range commits {
		body := c.do(t, 200, "POST", a.URL+"/v1/namespaces/ev/tables/"+table,
			fmt.Sprintf(`{"requirements":[],"updates":[{"action":"set-properties","updates":{"i":"%d"}}]}`, i))
		ackAt[i] = time.Now()
		acked[i] = metadataLocation(t, body)
		time.Sleep(2 * time.Millisecond) // one commit at a time, as a client would
	}
	err = <-done
	close(stopLoad)
	loaders.Wait()
	elapsed := time.Since(began)
	if err != nil {
		t.Fatal(err)
	}
	var lat []time.Duration
	early := 0
	for i, r := range got {
		if r.loc != acked[i] {
			t.Fatalf("commit %d: received %s, acknowledged %s", i, r.loc, acked[i])
		}
		d := r.at.Sub(ackAt[i])
		if d < 0 {
			early++ // the event beat the HTTP response to the client
			d = 0
		}
		lat = append(lat, d)
	}
	t.Logf("commit ack on node A -> receipt on node B, %d sequential commits, %d load writers (%.0f other events/s): p50 %v, p99 %v, max %v (%d received before the ack)",
		commits, load, float64(loaded.Load())/elapsed.Seconds(), percentile(lat, 0.50).Round(time.Microsecond),
		percentile(lat, 0.99).Round(time.Microsecond), percentile(lat, 1).Round(time.Microsecond), early)
}

func evTypesOf(evs []bingsanapi.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = strings.TrimPrefix(e.Type, "io.bingsan.") + " " + e.Subject
	}
	return out
}
