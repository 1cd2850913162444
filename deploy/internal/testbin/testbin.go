// Package testbin runs the real bingsan binary for the deploy tests, the
// way a container runtime does: configured only by its environment.
package testbin

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// EnvBinary names a prebuilt binary (make test: the one in the image).
const EnvBinary = "BINGSAN_TEST_BINARY"

// RepoRoot is the root of the bingsan repository (the parent of deploy/).
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.HasPrefix(string(b), "module github.com/bingsan/bingsan\n") {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no bingsan repository above the working directory")
		}
		dir = parent
	}
}

// Bingsan returns $BINGSAN_TEST_BINARY, or a static build of cmd/bingsan
// made for t.
func Bingsan(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(EnvBinary); p != "" {
		return p
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	bin := filepath.Join(t.TempDir(), "bingsan")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", bin, "./cmd/bingsan")
	cmd.Dir = RepoRoot(t)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/bingsan: %v\n%s", err, out)
	}
	return bin
}

// FreePort is a TCP port nothing listens on now.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Proc is one bingsan process.
type Proc struct {
	URL  string // http://127.0.0.1:<port>
	Addr string // the address it logged
	cmd  *exec.Cmd

	mu   sync.Mutex
	logs strings.Builder
	done chan struct{}
	err  error
	once sync.Once
}

// Logs is what the process wrote so far.
func (p *Proc) Logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.String()
}

var listenAddr = regexp.MustCompile(`"msg":"bingsan listening".*?"addr":"([^"]+)"|msg="bingsan listening" addr=(\S+)`)

// Start runs `bin args…` in dir with exactly env (plus PATH and HOME), and
// returns once it logged the address it listens on; the server is reached
// on 127.0.0.1 at that port. It is stopped with SIGTERM at the end of the
// test and must exit 0 then.
func Start(t testing.TB, bin, dir string, env []string, args ...string) *Proc {
	t.Helper()
	p := &Proc{done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Dir = dir
	p.cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}, env...)
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stdout = p.cmd.Stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.logs.WriteString(line + "\n")
			p.mu.Unlock()
			if m := listenAddr.FindStringSubmatch(line); m != nil {
				select {
				case addr <- m[1] + m[2]:
				default:
				}
			}
		}
	}()
	go func() {
		<-scanned
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() { p.Stop(t) })
	select {
	case a := <-addr:
		_, port, err := net.SplitHostPort(a)
		if err != nil {
			t.Fatalf("logged address %q: %v", a, err)
		}
		p.Addr, p.URL = a, "http://127.0.0.1:"+port
	case <-p.done:
		t.Fatalf("%s exited before listening: %v\n%s", bin, p.err, p.Logs())
	case <-time.After(90 * time.Second):
		t.Fatalf("%s did not listen within 90s:\n%s", bin, p.Logs())
	}
	WaitReady(t, p.URL)
	return p
}

// WaitReady polls url's /health/ready until it answers 200.
func WaitReady(t testing.TB, url string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(url + "/health/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready within 60s: %v", url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop sends SIGTERM and checks that the process exits 0 within 30s.
// Later calls do nothing.
func (p *Proc) Stop(t testing.TB) {
	p.once.Do(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
			if p.err != nil {
				t.Errorf("bingsan exited with %v after SIGTERM\n%s", p.err, p.Logs())
			}
		case <-time.After(30 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
			t.Errorf("bingsan did not stop within 30s of SIGTERM\n%s", p.Logs())
		}
	})
}
