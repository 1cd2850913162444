package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bingsan/bingsan/internal/gcstest"
)

// serve with a GCS warehouse from a YAML file (no-auth, as emulators and
// public buckets are): the table lands in the bucket and clients are told
// the endpoint and that no credentials are needed.
func TestServeGCSWarehouse(t *testing.T) {
	t.Parallel()
	srv, bucket := gcstest.NewBucket(t)
	dir := t.TempDir()
	addr := freeAddr(t)
	cfg := filepath.Join(dir, "bingsan.yaml")
	yml := "warehouses:\n  - name: lake\n    location: gs://" + bucket + "/lake\n    gcs:\n" +
		"      endpoint: " + srv.Endpoint + "\n      no-auth: true\n"
	if err := os.WriteFile(cfg, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	var logs bytes.Buffer
	go func() {
		done <- run(ctx, []string{"serve", "--config", cfg, "--listen", addr, "--data-dir", dir}, &bytes.Buffer{}, &logs)
	}()
	base := "http://" + addr
	for deadline := time.Now().Add(20 * time.Second); ; {
		resp, err := http.Get(base + "/health/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not ready: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	post := func(path, body string, headers ...string) (int, []byte) {
		req, _ := http.NewRequest("POST", base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		return resp.StatusCode, b.Bytes()
	}
	if status, body := post("/v1/lake/namespaces", `{"namespace":["ns"]}`); status != 200 {
		t.Fatalf("namespace: %d %s", status, body)
	}
	status, body := post("/v1/lake/namespaces/ns/tables",
		`{"name":"t","schema":{"type":"struct","fields":[{"id":1,"name":"id","type":"long","required":true}]}}`,
		"X-Iceberg-Access-Delegation", "vended-credentials")
	var res struct {
		MetadataLocation   string            `json:"metadata-location"`
		Config             map[string]string `json:"config"`
		StorageCredentials []any             `json:"storage-credentials"`
	}
	if status != 200 || json.Unmarshal(body, &res) != nil || !strings.HasPrefix(res.MetadataLocation, "gs://"+bucket+"/lake/ns/t-") ||
		res.Config["gcs.service.host"] != srv.Endpoint || res.Config["gcs.no-auth"] != "true" || len(res.StorageCredentials) != 0 {
		t.Fatalf("create: %d %s", status, body)
	}
	key := strings.TrimPrefix(res.MetadataLocation, "gs://"+bucket+"/")
	if objs := gcstest.Objects(t, srv.Client(t), bucket, key); len(objs) != 1 {
		t.Fatalf("metadata file not in the bucket: %v", objs)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve exited %d:\n%s", code, logs.String())
	}
}
