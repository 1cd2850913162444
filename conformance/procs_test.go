package conformance

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// moduleRoot is the directory of go.mod.
func moduleRoot(t testing.TB) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	gomod := strings.TrimSpace(string(out))
	if err != nil || gomod == "" || gomod == os.DevNull {
		t.Fatalf("go env GOMOD: %q %v", out, err)
	}
	return filepath.Dir(gomod)
}

// buildBingsan builds cmd/bingsan into the test's temporary directory.
func buildBingsan(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bin := filepath.Join(t.TempDir(), "bingsan")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/bingsan")
	build.Dir = moduleRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/bingsan: %v\n%s", err, out)
	}
	return bin
}

// node is one `bingsan serve` process.
type node struct {
	name string
	cmd  *exec.Cmd
	url  string
	done chan struct{}
	err  error

	mu  sync.Mutex
	log bytes.Buffer
}

func (n *node) logs() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.log.String()
}

// startNodes starts count `bingsan serve` processes with args (each with
// its own data directory and a free loopback port), waits until all are
// ready and returns their base URLs. They are stopped with SIGTERM when the
// test ends; errors they log fail the test.
func startNodes(t *testing.T, bin string, count int, args ...string) []string {
	t.Helper()
	nodes := make([]*node, count)
	errs := make([]error, count)
	var wg sync.WaitGroup
	for i := range count {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("node%d", i+1)
			nodes[i], errs[i] = startNode(t, bin, name, append([]string{"--data-dir", filepath.Join(t.TempDir(), name)}, args...)...)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	client := &http.Client{Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	urls := make([]string, count)
	for i, n := range nodes {
		waitReady(t, client, n)
		urls[i] = n.url
	}
	return urls
}

func startNode(t *testing.T, bin, name string, args ...string) (*node, error) {
	n := &node{name: name, done: make(chan struct{})}
	n.cmd = exec.Command(bin, append([]string{"serve", "--config=", "--listen", "127.0.0.1:0", "--log.format", "json"}, args...)...)
	// Only the flags configure the node: BINGSAN_* settings of the
	// environment (but the reserved BINGSAN_TEST_*) are left out.
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "BINGSAN_") && !strings.HasPrefix(kv, "BINGSAN_TEST_") {
			continue
		}
		n.cmd.Env = append(n.cmd.Env, kv)
	}
	n.cmd.Stdout = io.Discard
	stderr, err := n.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := n.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	addr := make(chan string, 1)
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			n.mu.Lock()
			n.log.WriteString(line + "\n")
			n.mu.Unlock()
			var rec struct {
				Msg  string `json:"msg"`
				Addr string `json:"addr"`
			}
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "bingsan listening" && rec.Addr != "" {
				select {
				case addr <- rec.Addr:
				default:
				}
			}
		}
	}()
	go func() {
		<-scanned
		n.err = n.cmd.Wait()
		close(n.done)
	}()
	t.Cleanup(func() { stopNode(t, n) })
	select {
	case a := <-addr:
		n.url = "http://" + a
		return n, nil
	case <-n.done:
		return nil, fmt.Errorf("%s exited before listening: %v\n%s", name, n.err, n.logs())
	case <-time.After(60 * time.Second):
		return nil, fmt.Errorf("%s did not listen within 60s:\n%s", name, n.logs())
	}
}

func waitReady(t *testing.T, client *http.Client, n *node) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := client.Get(n.url + "/health/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready within 60s (%v):\n%s", n.name, err, n.logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stopNode sends SIGTERM (only to the process this test started) and
// checks that the node exits cleanly without having logged errors.
func stopNode(t *testing.T, n *node) {
	select {
	case <-n.done:
		t.Errorf("%s exited on its own: %v\n%s", n.name, n.err, n.logs())
		return
	default:
	}
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.done:
	case <-time.After(30 * time.Second):
		_ = n.cmd.Process.Kill()
		<-n.done
		t.Errorf("%s did not stop within 30s of SIGTERM", n.name)
	}
	if n.err != nil {
		t.Errorf("%s exited with %v:\n%s", n.name, n.err, n.logs())
	}
	for _, line := range strings.Split(n.logs(), "\n") {
		if strings.Contains(line, `"level":"ERROR"`) {
			t.Errorf("%s logged an error: %s", n.name, line)
		}
	}
}
