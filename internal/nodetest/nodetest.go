// Package nodetest runs real `bingsan serve` processes for multi-node
// tests: it builds the binary once per test, starts nodes on free loopback
// ports with JSON logs, and stops them with SIGTERM at the end, checking
// that they shut down cleanly and logged no error.
package nodetest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
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

	"github.com/bingsan/bingsan/internal/failpoint"
)

// Node is one `bingsan serve` process.
type Node struct {
	Name string
	URL  string // http://127.0.0.1:port
	Cmd  *exec.Cmd

	done chan struct{} // closed when the process has exited
	err  error         // Wait's result, valid after done

	mu      sync.Mutex
	log     bytes.Buffer
	stopped bool
}

// Logs returns everything the node logged so far.
func (n *Node) Logs() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.log.String()
}

// BuildBinary builds cmd/bingsan once for the test and returns its path.
func BuildBinary(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	gomod, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(gomod)) == "" || strings.TrimSpace(string(gomod)) == os.DevNull {
		t.Fatalf("go env GOMOD: %q %v", gomod, err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	bin := filepath.Join(t.TempDir(), "bingsan")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/bingsan")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/bingsan: %v\n%s", err, out)
	}
	return bin
}

// Env is the test's environment without BINGSAN_* settings (other than
// the reserved BINGSAN_TEST_*), so that only the flags configure the nodes.
func Env() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "BINGSAN_") && !strings.HasPrefix(kv, "BINGSAN_TEST_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// Start starts `bingsan serve` on a free loopback port and returns once it
// logged its address. Unless stopped before, the node is stopped with
// SIGTERM when the test ends, and must exit cleanly then. It may run on any
// goroutine.
func Start(t *testing.T, bin, name string, args ...string) (*Node, error) {
	return StartWithFailpoints(t, bin, name, nil, args...)
}

// StartWithFailpoints is Start with the failpoints named armed
// (internal/failpoint): the node kills itself with SIGKILL when it reaches
// one. Wait for that with Killed.
func StartWithFailpoints(t *testing.T, bin, name string, failpoints []string, args ...string) (*Node, error) {
	n := &Node{Name: name, done: make(chan struct{})}
	n.Cmd = exec.Command(bin, append([]string{"serve", "--config=", "--listen", "127.0.0.1:0", "--log.format", "json", "--log.level", "info"}, args...)...)
	n.Cmd.Env = Env()
	if len(failpoints) > 0 {
		n.Cmd.Env = append(n.Cmd.Env, failpoint.EnvVar+"="+strings.Join(failpoints, ","))
	}
	n.Cmd.Stdout = io.Discard
	stderr, err := n.Cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := n.Cmd.Start(); err != nil {
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
		<-scanned // Wait closes the pipe; read everything first
		n.err = n.Cmd.Wait()
		close(n.done)
	}()
	t.Cleanup(func() { n.Stop(t) })

	select {
	case a := <-addr:
		n.URL = "http://" + a
		return n, nil
	case <-n.done:
		return nil, fmt.Errorf("%s exited before listening: %v\n%s", name, n.err, n.Logs())
	case <-time.After(60 * time.Second):
		return nil, fmt.Errorf("%s did not start listening within 60s:\n%s", name, n.Logs())
	}
}

// Stop sends SIGTERM to the node's process and checks that it shuts down
// cleanly (exit status 0, "stopped" logged, no error logged) within 30
// seconds. Later calls do nothing.
func (n *Node) Stop(t *testing.T) {
	n.mu.Lock()
	stopped := n.stopped
	n.stopped = true
	n.mu.Unlock()
	if stopped {
		return
	}
	select {
	case <-n.done:
		t.Errorf("%s exited on its own: %v\n%s", n.Name, n.err, n.Logs())
		return
	default:
	}
	if err := n.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Errorf("SIGTERM %s (pid %d): %v", n.Name, n.Cmd.Process.Pid, err)
	}
	select {
	case <-n.done:
	case <-time.After(30 * time.Second):
		_ = n.Cmd.Process.Kill()
		<-n.done
		t.Errorf("%s (pid %d) did not exit within 30s of SIGTERM:\n%s", n.Name, n.Cmd.Process.Pid, n.Logs())
		return
	}
	if n.err != nil {
		t.Errorf("%s exited with %v after SIGTERM:\n%s", n.Name, n.err, n.Logs())
	} else if !strings.Contains(n.Logs(), `"msg":"stopped"`) {
		t.Errorf("%s exited without logging a clean stop:\n%s", n.Name, n.Logs())
	}
	// Errors logged by a node are failures of the test, whatever the
	// requests saw.
	for _, line := range strings.Split(n.Logs(), "\n") {
		if strings.Contains(line, `"level":"ERROR"`) {
			t.Errorf("%s logged an error: %s", n.Name, line)
		}
	}
}

// Killed waits until the node's process ended by SIGKILL (a failpoint, or
// a test's kill -9) and marks the node stopped.
func (n *Node) Killed(t *testing.T) {
	t.Helper()
	select {
	case <-n.done:
	case <-time.After(60 * time.Second):
		t.Fatalf("%s (pid %d) still runs:\n%s", n.Name, n.Cmd.Process.Pid, n.Logs())
	}
	n.mu.Lock()
	n.stopped = true
	n.mu.Unlock()
	var exit *exec.ExitError
	if !errors.As(n.err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("%s ended with %v, not SIGKILL:\n%s", n.Name, n.err, n.Logs())
	}
}

// Kill sends SIGKILL to the node's process (kill -9) and waits for it.
func (n *Node) Kill(t *testing.T) {
	t.Helper()
	if err := n.Cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 %s (pid %d): %v", n.Name, n.Cmd.Process.Pid, err)
	}
	n.Killed(t)
}

// WaitReady polls /health/ready until it answers 200.
func WaitReady(t *testing.T, client *http.Client, n *Node) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := client.Get(n.URL + "/health/ready")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready within 60s (last: %v):\n%s", n.Name, err, n.Logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
