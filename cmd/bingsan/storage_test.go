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

	"github.com/bingsan/bingsan/internal/s3test"
)

// serve with an S3 warehouse from a YAML file: the table lands in the
// bucket, the client gets scoped credentials, and the configured secret is
// never logged.
func TestServeS3Warehouse(t *testing.T) {
	t.Parallel()
	srv, bucket := s3test.NewBucket(t)
	dir := t.TempDir()
	addr := freeAddr(t)
	cfg := filepath.Join(dir, "bingsan.yaml")
	yml := "warehouses:\n  - name: lake\n    location: s3://" + bucket + "/lake\n    s3:\n" +
		"      endpoint: " + srv.Endpoint + "\n      path-style: true\n" +
		"      access-key-id: " + srv.AccessKey + "\n      secret-access-key: " + srv.SecretKey + "\n"
	if err := os.WriteFile(cfg, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	var logs bytes.Buffer
	go func() {
		done <- run(ctx, []string{"serve", "--config", cfg, "--listen", addr, "--data-dir", dir, "--log.level", "debug"}, &bytes.Buffer{}, &logs)
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
		MetadataLocation   string `json:"metadata-location"`
		StorageCredentials []struct {
			Prefix string            `json:"prefix"`
			Config map[string]string `json:"config"`
		} `json:"storage-credentials"`
	}
	if status != 200 || json.Unmarshal(body, &res) != nil || len(res.StorageCredentials) != 1 ||
		!strings.HasPrefix(res.MetadataLocation, "s3://"+bucket+"/lake/ns/t-") ||
		res.StorageCredentials[0].Config["s3.session-token"] == "" {
		t.Fatalf("create: %d %s", status, body)
	}
	if strings.Contains(string(body), srv.SecretKey) {
		t.Fatal("the catalog's secret in a response")
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve exited %d", code)
	}
	if strings.Contains(logs.String(), srv.SecretKey) {
		t.Fatalf("the catalog's secret in the log:\n%s", logs.String())
	}
}
