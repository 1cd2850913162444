package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"

	"github.com/bingsan/bingsan/internal/nodetest"
	"github.com/bingsan/bingsan/internal/pgtest"
)

// ccDo sends one JSON request; it is safe to call from goroutines.
func ccDo(ctx context.Context, client *http.Client, method, url, body string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// ccMetadata is the part of table metadata the concurrency checks read.
type ccMetadata struct {
	TableUUID        string            `json:"table-uuid"`
	LastColumnID     int               `json:"last-column-id"`
	CurrentSchemaID  int               `json:"current-schema-id"`
	Properties       map[string]string `json:"properties"`
	Schemas          []json.RawMessage `json:"schemas"`
	MetadataLog      []json.RawMessage `json:"metadata-log"`
	CurrentSnapshot  *int64            `json:"current-snapshot-id"`
	SchemaFieldNames map[int][]string  `json:"-"`
	Snapshots        []struct {
		SnapshotID int64  `json:"snapshot-id"`
		ParentID   *int64 `json:"parent-snapshot-id"`
	} `json:"snapshots"`
	Refs map[string]struct {
		SnapshotID int64  `json:"snapshot-id"`
		Type       string `json:"type"`
	} `json:"refs"`
}

func ccLoad(ctx context.Context, t *testing.T, client *http.Client, url string) (ccMetadata, string, json.RawMessage) {
	t.Helper()
	status, body, err := ccDo(ctx, client, "GET", url, "")
	if err != nil || status != 200 {
		t.Fatalf("load %s: %d %v %s", url, status, err, body)
	}
	var resp struct {
		MetadataLocation string          `json:"metadata-location"`
		Metadata         json.RawMessage `json:"metadata"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatal(err)
	}
	var m ccMetadata
	if err := json.Unmarshal(resp.Metadata, &m); err != nil {
		t.Fatal(err)
	}
	m.SchemaFieldNames = map[int][]string{}
	for _, raw := range m.Schemas {
		var sc struct {
			ID     int `json:"schema-id"`
			Fields []struct {
				Name string `json:"name"`
			} `json:"fields"`
		}
		if err := json.Unmarshal(raw, &sc); err != nil {
			t.Fatal(err)
		}
		for _, f := range sc.Fields {
			m.SchemaFieldNames[sc.ID] = append(m.SchemaFieldNames[sc.ID], f.Name)
		}
	}
	return m, resp.MetadataLocation, resp.Metadata
}

// ccRace runs fn(0..n-1) in goroutines released together and waits for all.
func ccRace(n int, fn func(i int)) {
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	ready.Add(n)
	done.Add(n)
	for i := range n {
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			fn(i)
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
}

func TestConcurrentCommitsThreeNodes(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts three server processes")
	}
	dsn := pgtest.NewDatabase(t)
	bin := nodetest.BuildBinary(t)
	warehouse := filepath.Join(t.TempDir(), "warehouse")

	// All three start at once on the empty database: migrations on start
	// must serialize.
	const nodeCount = 3
	nodes := make([]*nodetest.Node, nodeCount)
	startErrs := make([]error, nodeCount)
	var wg sync.WaitGroup
	for i := range nodeCount {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("node%d", i+1)
			nodes[i], startErrs[i] = nodetest.Start(t, bin, name,
				"--data-dir", filepath.Join(t.TempDir(), name),
				"--warehouse.location", "file://"+warehouse,
				"--store.driver", "postgres",
				"--store.postgres.dsn", dsn,
				"--store.postgres.max-conns", "8",
				"--commit.max-retries", "50",
				"--commit.retry-base-delay", "5ms",
				"--commit.retry-max-delay", "250ms",
				"--commit.timeout", "60s",
			)
		}()
	}
	wg.Wait()
	if err := errors.Join(startErrs...); err != nil {
		t.Fatalf("starting nodes: %v", err)
	}
	client := &http.Client{Timeout: 60 * time.Second}
	t.Cleanup(client.CloseIdleConnections)
	for _, n := range nodes {
		nodetest.WaitReady(t, client, n)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	n1 := nodes[0].URL
	if status, body, err := ccDo(ctx, client, "POST", n1+"/v1/namespaces", `{"namespace":["cc"]}`); err != nil || status != 200 {
		t.Fatalf("create namespace: %d %v %s", status, err, body)
	}
	if status, body, err := ccDo(ctx, client, "POST", n1+"/v1/namespaces/cc/tables", epCreateTableBody("t")); err != nil || status != 200 {
		t.Fatalf("create table: %d %v %s", status, err, body)
	}
	tablePath := "/v1/namespaces/cc/tables/t"
	// Every node sees the table at once: they share the database.
	for _, n := range nodes {
		ccLoad(ctx, t, client, n.URL+tablePath)
	}

	t.Run("A: unconditional commits all land", func(t *testing.T) {
		const writers = 16
		before, _, _ := ccLoad(ctx, t, client, n1+tablePath)
		statuses := make([]int, writers)
		bodies := make([][]byte, writers)
		errs := make([]error, writers)
		began := time.Now()
		ccRace(writers, func(i int) {
			body := fmt.Sprintf(`{"requirements":[],"updates":[{"action":"set-properties","updates":{"writer-%02d":"value-%02d"}}]}`, i, i)
			statuses[i], bodies[i], errs[i] = ccDo(ctx, client, "POST", nodes[i%nodeCount].URL+tablePath, body)
		})
		t.Logf("%d concurrent set-properties commits over %d nodes took %s", writers, nodeCount, time.Since(began))
		for i := range writers {
			if errs[i] != nil || statuses[i] != 200 {
				t.Errorf("writer %d (%s): %d %v %s", i, nodes[i%nodeCount].Name, statuses[i], errs[i], bodies[i])
			}
		}
		for _, n := range nodes {
			after, _, _ := ccLoad(ctx, t, client, n.URL+tablePath)
			for i := range writers {
				key, want := fmt.Sprintf("writer-%02d", i), fmt.Sprintf("value-%02d", i)
				if after.Properties[key] != want && statuses[i] == 200 {
					t.Errorf("%s: property %s=%q after all commits, want %q: an acknowledged update was lost", n.Name, key, after.Properties[key], want)
				}
			}
			// Each commit made one new metadata version, or shared one with
			// the commits it queued up with on its node (group commit).
			if got := len(after.MetadataLog) - len(before.MetadataLog); got < nodeCount || got > writers {
				t.Errorf("%s: metadata log grew by %d entries, want %d to %d", n.Name, got, nodeCount, writers)
			}
		}
	})

	t.Run("B: conflicting schema changes, one wins", func(t *testing.T) {
		const writers = 16
		before, _, _ := ccLoad(ctx, t, client, n1+tablePath)
		last := before.LastColumnID
		statuses := make([]int, writers)
		bodies := make([][]byte, writers)
		errs := make([]error, writers)
		ccRace(writers, func(i int) {
			body := fmt.Sprintf(`{
				"requirements":[{"type":"assert-last-assigned-field-id","last-assigned-field-id":%d}],
				"updates":[
					{"action":"add-schema","last-column-id":%d,"schema":{"type":"struct","schema-id":%d,"fields":[
						{"id":1,"name":"id","type":"long","required":true},
						{"id":2,"name":"name","type":"string","required":false},
						{"id":%d,"name":"col_%02d","type":"string","required":false}]}},
					{"action":"set-current-schema","schema-id":-1}]}`,
				last, last+1, before.CurrentSchemaID+1, last+1, i)
			statuses[i], bodies[i], errs[i] = ccDo(ctx, client, "POST", nodes[i%nodeCount].URL+tablePath, body)
		})
		winner := -1
		for i := range writers {
			switch {
			case errs[i] != nil:
				t.Errorf("writer %d: %v", i, errs[i])
			case statuses[i] == 200:
				if winner >= 0 {
					t.Errorf("writers %d and %d both committed a schema change asserting last-assigned-field-id %d", winner, i, last)
				}
				winner = i
			case statuses[i] == 409:
				if e := ccErrorType(bodies[i]); e != "CommitFailedException" {
					t.Errorf("writer %d: 409 of type %q: %s", i, e, bodies[i])
				}
			default:
				t.Errorf("writer %d: status %d: %s", i, statuses[i], bodies[i])
			}
		}
		if winner < 0 {
			t.Fatalf("no writer committed")
		}
		for _, n := range nodes {
			after, _, _ := ccLoad(ctx, t, client, n.URL+tablePath)
			want := []string{"id", "name", fmt.Sprintf("col_%02d", winner)}
			if got := after.SchemaFieldNames[after.CurrentSchemaID]; !slices.Equal(got, want) {
				t.Errorf("%s: current schema %v, want %v", n.Name, got, want)
			}
			if after.LastColumnID != last+1 || len(after.Schemas) != len(before.Schemas)+1 {
				t.Errorf("%s: last-column-id %d (want %d), %d schemas (want %d)",
					n.Name, after.LastColumnID, last+1, len(after.Schemas), len(before.Schemas)+1)
			}
			if got := len(after.MetadataLog) - len(before.MetadataLog); got != 1 {
				t.Errorf("%s: metadata log grew by %d entries, want 1", n.Name, got)
			}
		}
	})

	t.Run("C: concurrent appends through iceberg-go", func(t *testing.T) {
		cases := []struct {
			name  string
			props iceberg.Properties
		}{
			{"client retry off", iceberg.Properties{table.CommitNumRetriesKey: "0"}},
			{"client retry on", iceberg.Properties{
				table.CommitNumRetriesKey:          "30",
				table.CommitMinRetryWaitMsKey:      "10",
				table.CommitMaxRetryWaitMsKey:      "300",
				table.CommitTotalRetryTimeoutMsKey: "90000",
			}},
		}
		for ci, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				ccAppendRace(ctx, t, nodes, client, fmt.Sprintf("appends_%d", ci), tc.props)
			})
		}
	})

	// Everything written went through the shared warehouse.
	if len(filesUnder(t, warehouse)) == 0 {
		t.Errorf("no files in the shared warehouse %s", warehouse)
	}
}

func ccErrorType(body []byte) string {
	var e struct {
		Error struct {
			Type string `json:"type"`
		} `json:"error"`
	}
	_ = json.Unmarshal(body, &e)
	return e.Error.Type
}

// ccAppendRace creates table cc.<name> with props, then appends from 8
// goroutines, each through its own iceberg-go client on a node of its own,
// all at once. Every acknowledged append must be in the final metadata, on
// one linear history that main points at the head of; failed appends must
// be clean conflicts that left nothing behind.
func ccAppendRace(ctx context.Context, t *testing.T, nodes []*nodetest.Node, client *http.Client, name string, props iceberg.Properties) {
	const writers = 8
	ident := catalog.ToIdentifier("cc", name)
	setup := newRESTClient(ctx, t, nodes[0].URL)
	if _, err := setup.CreateTable(ctx, ident, e2eSchema(), catalog.WithProperties(props)); err != nil {
		t.Fatalf("create %v: %v", ident, err)
	}
	tables := make([]*table.Table, writers)
	for i := range writers {
		cat := newRESTClient(ctx, t, nodes[i%len(nodes)].URL)
		tbl, err := cat.LoadTable(ctx, ident)
		if err != nil {
			t.Fatalf("writer %d: load: %v", i, err)
		}
		tables[i] = tbl
	}

	type outcome struct {
		snapshot int64
		rows     []e2eRow
		err      error
	}
	results := make([]outcome, writers)
	began := time.Now()
	ccRace(writers, func(i int) {
		rows := []e2eRow{{int64(100*i + 1), fmt.Sprintf("w%d-a", i)}, {int64(100*i + 2), fmt.Sprintf("w%d-b", i)}}
		results[i].rows = rows
		actx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		at := e2eArrowTable(t, tables[i].Schema(), rows)
		defer at.Release()
		tbl, err := tables[i].AppendTable(actx, at, int64(len(rows)), nil)
		if err != nil {
			results[i].err = err
			return
		}
		if snap := tbl.CurrentSnapshot(); snap != nil {
			results[i].snapshot = snap.SnapshotID
		} else {
			results[i].err = errors.New("acknowledged append returned a table without a current snapshot")
		}
	})
	t.Logf("%d concurrent appends took %s", writers, time.Since(began))

	acked := map[int64]int{} // snapshot id -> writer
	var wantRows []e2eRow
	for i, r := range results {
		switch {
		case r.err == nil:
			if prev, dup := acked[r.snapshot]; dup {
				t.Errorf("writers %d and %d were acknowledged with the same snapshot %d", prev, i, r.snapshot)
			}
			acked[r.snapshot] = i
			wantRows = append(wantRows, r.rows...)
		case errors.Is(r.err, table.ErrCommitFailed):
			// A clean conflict: nothing of it may be in the table.
		default:
			t.Errorf("writer %d: %v (want success or a clean commit conflict)", i, r.err)
		}
	}
	if len(acked) == 0 {
		t.Fatal("no append was acknowledged")
	}
	t.Logf("%d of %d appends acknowledged", len(acked), writers)

	meta, _, _ := ccLoad(ctx, t, client, nodes[len(nodes)-1].URL+"/v1/namespaces/cc/tables/"+name)
	parents := map[int64]*int64{}
	for _, s := range meta.Snapshots {
		parents[s.SnapshotID] = s.ParentID
	}
	for id, w := range acked {
		if _, ok := parents[id]; !ok {
			t.Errorf("acknowledged append of writer %d (snapshot %d) is not in the table's snapshots (lost commit)", w, id)
		}
	}
	if len(meta.Snapshots) != len(acked) {
		t.Errorf("table has %d snapshots, but %d appends were acknowledged", len(meta.Snapshots), len(acked))
	}
	main, ok := meta.Refs["main"]
	if !ok {
		t.Fatalf("no main branch: %+v", meta.Refs)
	}
	if _, ok := acked[main.SnapshotID]; !ok {
		t.Errorf("main points at %d, which no acknowledged append created", main.SnapshotID)
	}
	// Walking main's ancestry reaches every acknowledged snapshot: each
	// append built on the one before it, none was overwritten.
	seen := map[int64]bool{}
	for id := &main.SnapshotID; id != nil; id = parents[*id] {
		if seen[*id] || len(seen) > len(meta.Snapshots) {
			t.Fatalf("snapshot ancestry of main loops at %d", *id)
		}
		seen[*id] = true
	}
	for id, w := range acked {
		if !seen[id] {
			t.Errorf("acknowledged append of writer %d (snapshot %d) is not an ancestor of main", w, id)
		}
	}

	final, err := newRESTClient(ctx, t, nodes[1].URL).LoadTable(ctx, ident)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(wantRows, func(a, b e2eRow) int { return int(a.ID - b.ID) })
	if got := e2eScan(ctx, t, final); !slices.Equal(got, wantRows) {
		t.Errorf("scan: %v, want the rows of the acknowledged appends %v", got, wantRows)
	}
	for _, f := range e2eDataFiles(ctx, t, final) {
		if _, err := os.Stat(localPath(t, f)); err != nil {
			t.Errorf("data file of the final snapshot: %v", err)
		}
	}
}
