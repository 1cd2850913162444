package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/bingsan/bingsan/internal/failpoint"
	"github.com/bingsan/bingsan/internal/nodetest"
	"github.com/bingsan/bingsan/internal/pgtest"
)

// crashStore is the store flags of a node whose state outlives it: a
// SQLite file in a directory of the test, or a PostgreSQL database.
func crashStore(t *testing.T, backend string) []string {
	t.Helper()
	dir := t.TempDir()
	args := []string{"--data-dir", dir, "--warehouse.location", "file://" + filepath.Join(dir, "warehouse")}
	if backend == "postgres" {
		args = append(args, "--store.driver", "postgres", "--store.postgres.dsn", pgtest.NewDatabase(t))
	}
	return args
}

// send is one HTTP request to a node that may die answering it: a
// transport error is returned, not fatal.
func send(client *http.Client, method, url, body string, headers ...string) (int, []byte, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// A node killed after a mutation committed but before it answered: the
// client's retry with the same Idempotency-Key, on a new node, gets the
// answer of the mutation that landed, which lands only once.
func TestIdempotentReplayAfterCrash(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts server processes")
	}
	bin := nodetest.BuildBinary(t)
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			store := crashStore(t, backend)
			client := &http.Client{Timeout: 60 * time.Second}
			t.Cleanup(client.CloseIdleConnections)

			doomed, err := nodetest.StartWithFailpoints(t, bin, "doomed", []string{failpoint.MutationCommitted}, store...)
			if err != nil {
				t.Fatal(err)
			}
			nodetest.WaitReady(t, client, doomed)
			// Without a key, nothing stops at the failpoint.
			must := func(n *nodetest.Node, want int, method, path, body string, headers ...string) []byte {
				t.Helper()
				status, b, err := send(client, method, n.URL+"/v1"+path, body, headers...)
				if err != nil || status != want {
					t.Fatalf("%s %s: %d %v %s", method, path, status, err, b)
				}
				return b
			}
			must(doomed, 200, "POST", "/namespaces", `{"namespace":["ns"]}`)
			must(doomed, 200, "POST", "/namespaces/ns/tables", epCreateTableBody("t"))

			key := uuid.NewString()
			commit := `{"requirements":[],"updates":[{"action":"set-properties","updates":{"k":"v"}}]}`
			if status, b, err := send(client, "POST", doomed.URL+"/v1/namespaces/ns/tables/t", commit, "Idempotency-Key", key); err == nil {
				t.Fatalf("the node answered %d %s; it should have died", status, b)
			}
			doomed.Killed(t)

			next, err := nodetest.Start(t, bin, "next", store...)
			if err != nil {
				t.Fatal(err)
			}
			nodetest.WaitReady(t, client, next)
			// The retry, spelling the key in capitals: the same key.
			replayed := must(next, 200, "POST", "/namespaces/ns/tables/t", commit, "Idempotency-Key", strings.ToUpper(key))
			var got epTable
			if err := json.Unmarshal(replayed, &got); err != nil {
				t.Fatal(err)
			}
			now := epLoad(t, next.URL, []string{"ns"}, "t")
			if got.MetadataLocation != now.MetadataLocation || !bytes.Equal(compactJSON(t, got.Metadata), compactJSON(t, now.Metadata)) {
				t.Fatalf("replay answered %s, the table is at %s", got.MetadataLocation, now.MetadataLocation)
			}
			var meta struct {
				Properties  map[string]string `json:"properties"`
				MetadataLog []json.RawMessage `json:"metadata-log"`
			}
			if err := json.Unmarshal(now.Metadata, &meta); err != nil {
				t.Fatal(err)
			}
			if meta.Properties["k"] != "v" || len(meta.MetadataLog) != 1 {
				t.Fatalf("the commit landed %d times: %+v", len(meta.MetadataLog), meta)
			}
			// Asked again, the recorded answer is the same.
			if again := must(next, 200, "POST", "/namespaces/ns/tables/t", commit, "Idempotency-Key", key); !bytes.Equal(again, replayed) {
				t.Fatalf("second replay differs:\n%s\n%s", again, replayed)
			}
		})
	}
}

func compactJSON(t *testing.T, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// A node killed in the middle of writing a metadata file leaves its
// temporary copy behind; the next start removes it.
func TestTemporaryMetadataFileSweptAfterCrash(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts server processes")
	}
	bin := nodetest.BuildBinary(t)
	store := crashStore(t, "sqlite")
	warehouse := strings.TrimPrefix(store[3], "file://")
	client := &http.Client{Timeout: 60 * time.Second}
	t.Cleanup(client.CloseIdleConnections)

	doomed, err := nodetest.StartWithFailpoints(t, bin, "doomed", []string{failpoint.MetadataWritten}, store...)
	if err != nil {
		t.Fatal(err)
	}
	nodetest.WaitReady(t, client, doomed)
	if status, b, err := send(client, "POST", doomed.URL+"/v1/namespaces", `{"namespace":["ns"]}`); err != nil || status != 200 {
		t.Fatalf("create namespace: %d %v %s", status, err, b)
	}
	if status, b, err := send(client, "POST", doomed.URL+"/v1/namespaces/ns/tables", epCreateTableBody("t")); err == nil {
		t.Fatalf("the node answered %d %s; it should have died", status, b)
	}
	doomed.Killed(t)
	temporary := func() []string {
		var found []string
		_ = filepath.WalkDir(warehouse, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.Contains(d.Name(), ".metadata.json.tmp-") {
				found = append(found, p)
			}
			return nil
		})
		return found
	}
	if left := temporary(); len(left) != 1 {
		t.Fatalf("temporary files after the kill: %v", left)
	}

	next, err := nodetest.Start(t, bin, "next", append(store, "--purge.temporary-file-age", "1ms")...)
	if err != nil {
		t.Fatal(err)
	}
	nodetest.WaitReady(t, client, next)
	deadline := time.Now().Add(30 * time.Second)
	for len(temporary()) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("temporary file still there 30 s after the restart: %v\n%s", temporary(), next.Logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The interrupted create never happened; the name is free.
	if status, b, err := send(client, "POST", next.URL+"/v1/namespaces/ns/tables", epCreateTableBody("t")); err != nil || status != 200 {
		t.Fatalf("create after the restart: %d %v %s", status, err, b)
	}
}
