package server_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bingsan/bingsan/internal/nodetest"
)

// Commits spread over many tables, the server killed with SIGKILL in the
// middle of them: every commit it acknowledged is in the database (its
// metadata location the table's current one or one of its ancestors) and
// its metadata file exists and parses.
func TestAcknowledgedCommitsSurviveKill9(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts server processes")
	}
	bin := nodetest.BuildBinary(t)
	store := crashStore(t, "postgres")
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	t.Cleanup(client.CloseIdleConnections)

	doomed, err := nodetest.Start(t, bin, "doomed", store...)
	if err != nil {
		t.Fatal(err)
	}
	nodetest.WaitReady(t, client, doomed)
	if status, b, err := send(client, "POST", doomed.URL+"/v1/namespaces", `{"namespace":["ns"]}`); err != nil || status != 200 {
		t.Fatalf("create namespace: %d %v %s", status, err, b)
	}
	const tables, writers = 30, 8
	name := func(i int) string { return fmt.Sprintf("t%02d", i) }
	for i := range tables {
		if status, b, err := send(client, "POST", doomed.URL+"/v1/namespaces/ns/tables", epCreateTableBody(name(i))); err != nil || status != 200 {
			t.Fatalf("create %s: %d %v %s", name(i), status, err, b)
		}
	}

	var (
		mu    sync.Mutex
		acked = map[string][]string{} // table: acknowledged metadata locations
		n     int
		wg    sync.WaitGroup
	)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 15))
			for i := 0; ; i++ {
				tbl := name(rng.IntN(tables))
				body := fmt.Sprintf(`{"requirements":[],"updates":[{"action":"set-properties","updates":{"w%d":"%d"}}]}`, w, i)
				status, b, err := send(client, "POST", doomed.URL+"/v1/namespaces/ns/tables/"+tbl, body)
				if err != nil {
					return // the node is gone
				}
				if status != 200 {
					continue // not acknowledged: no promise to check
				}
				var resp struct {
					Location string `json:"metadata-location"`
				}
				if err := json.Unmarshal(b, &resp); err != nil || resp.Location == "" {
					t.Errorf("commit answer without a metadata location: %v %s", err, b)
					return
				}
				mu.Lock()
				acked[tbl] = append(acked[tbl], resp.Location)
				n++
				mu.Unlock()
			}
		}()
	}
	// Kill the node once commits are flowing, in the middle of them.
	deadline := time.Now().Add(60 * time.Second)
	for {
		mu.Lock()
		done := n >= 200
		mu.Unlock()
		if done || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	doomed.Kill(t)
	wg.Wait()
	if n < 200 {
		t.Fatalf("only %d commits acknowledged before the kill", n)
	}

	next, err := nodetest.Start(t, bin, "next", store...)
	if err != nil {
		t.Fatal(err)
	}
	nodetest.WaitReady(t, client, next)
	for tbl, locs := range acked {
		status, b, err := send(client, "GET", next.URL+"/v1/namespaces/ns/tables/"+tbl, "")
		if err != nil || status != 200 {
			t.Fatalf("load %s: %d %v %s", tbl, status, err, b)
		}
		var load struct {
			Location string `json:"metadata-location"`
			Metadata struct {
				Log []struct {
					File string `json:"metadata-file"`
				} `json:"metadata-log"`
			} `json:"metadata"`
		}
		if err := json.Unmarshal(b, &load); err != nil {
			t.Fatal(err)
		}
		known := map[string]bool{load.Location: true}
		for _, e := range load.Metadata.Log {
			known[e.File] = true
		}
		for _, loc := range locs {
			if !known[loc] {
				t.Errorf("%s: acknowledged commit %s is neither the current metadata (%s) nor in its log", tbl, loc, load.Location)
			}
			data, err := os.ReadFile(strings.TrimPrefix(loc, "file://"))
			if err != nil {
				t.Errorf("%s: file of acknowledged commit: %v", tbl, err)
				continue
			}
			var doc map[string]any
			if err := json.Unmarshal(data, &doc); err != nil || doc["table-uuid"] == nil {
				t.Errorf("%s: file of acknowledged commit %s does not parse as metadata: %v", tbl, loc, err)
			}
		}
	}
	t.Logf("%d commits acknowledged over %d tables before the kill; all found after the restart", n, len(acked))
}
