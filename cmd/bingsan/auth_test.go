package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestServeWithAuth runs `bingsan serve` with authentication on and the
// bootstrap admin from the environment: requests need a token, the admin
// gets one, and its secret is never logged.
func TestServeWithAuth(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	var logs bytes.Buffer
	const secret = "bootstrap-secret-8d1f"
	go func() {
		done <- run(ctx, []string{"serve", "--listen", addr, "--data-dir", dir, "--auth.enabled",
			"--auth.bootstrap-client-id=ops", "--auth.bootstrap-client-secret=" + secret, "--log.level=debug"}, &bytes.Buffer{}, &logs)
	}()
	base := "http://" + addr
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(base + "/health/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not ready: %v\n%s", err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	resp, err := http.Get(base + "/v1/config")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("config without a token: %d", resp.StatusCode)
	}
	resp, err = http.PostForm(base+"/v1/oauth/tokens", url.Values{"grant_type": {"client_credentials"}, "client_id": {"ops"}, "client_secret": {secret}})
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	err = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || tok.AccessToken == "" {
		t.Fatalf("token: %d %v", resp.StatusCode, err)
	}
	req, _ := http.NewRequest("POST", base+"/v1/namespaces", strings.NewReader(`{"namespace":["cli"]}`))
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("create namespace as the admin: %d", resp.StatusCode)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("serve exited %d\n%s", code, logs.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop")
	}
	if strings.Contains(logs.String(), secret) {
		t.Fatalf("the bootstrap secret was logged:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "bootstrap principal") {
		t.Fatalf("no log line about the bootstrap principal:\n%s", logs.String())
	}
}
