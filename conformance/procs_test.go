package conformance

import (
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/bingsan/bingsan/internal/nodetest"
)

// startNodes starts count `bingsan serve` processes at once (each with its
// own data directory and a free loopback port) through the shared
// internal/nodetest helper, waits until all are ready and returns their
// base URLs. nodetest stops them with SIGTERM when the test ends and fails
// the test if one exits uncleanly or logged an error.
func startNodes(t *testing.T, count int, args ...string) []string {
	t.Helper()
	bin := nodetest.BuildBinary(t)
	nodes := make([]*nodetest.Node, count)
	errs := make([]error, count)
	var wg sync.WaitGroup
	for i := range count {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("node%d", i+1)
			nodes[i], errs[i] = nodetest.Start(t, bin, name, append([]string{"--data-dir", filepath.Join(t.TempDir(), name)}, args...)...)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("starting nodes: %v", err)
	}
	client := &http.Client{Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	urls := make([]string, count)
	for i, n := range nodes {
		nodetest.WaitReady(t, client, n)
		urls[i] = n.URL
	}
	return urls
}
