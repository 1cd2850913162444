package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// server is the bingsan process under test.
type server struct {
	cmd  *exec.Cmd
	addr string // 127.0.0.1:port
	base string // http://addr
	log  string
	done chan error
	// pprof is the address of the server's net/http/pprof ("" without).
	pprof string
}

// startServer starts bin serve on a free loopback port against dsn, with
// its log in dir and its data directory (local warehouse) under
// dataParent, and waits until it is ready.
func startServer(ctx context.Context, bin, dsn, dir, dataParent string, profile bool) (*server, error) {
	bin, err := filepath.Abs(bin)
	if err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	pprofAddr := ""
	var env []string
	if profile {
		if pprofAddr, err = freeAddr(); err != nil {
			return nil, err
		}
		env = []string{"BINGSAN_TEST_PPROF_ADDR=" + pprofAddr}
	}
	args := []string{"serve",
		"--listen=" + addr,
		"--data-dir=" + filepath.Join(dataParent, "data"),
		"--store.driver=postgres",
		"--store.postgres.dsn=" + dsn,
		"--log.level=warn",
	}
	return startProcess(ctx, bin, args, env, addr, filepath.Join(dir, "bingsan.log"), pprofAddr)
}

// freeAddr picks a free loopback port.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// startProcess starts bin with args and extra environment, serving HTTP on
// addr, its output in logPath, and waits until /health/ready answers.
func startProcess(ctx context.Context, bin string, args, env []string, addr, logPath, pprofAddr string) (*server, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, err
	}
	s := &server{cmd: cmd, addr: addr, base: "http://" + addr, log: logPath, done: make(chan error, 1), pprof: pprofAddr}
	go func() { s.done <- cmd.Wait(); logFile.Close() }()

	deadline := time.Now().Add(60 * time.Second)
	for {
		status, _, err := fasthttp.GetTimeout(nil, s.base+"/health/ready", time.Second)
		if err == nil && status == 200 {
			return s, nil
		}
		select {
		case err := <-s.done:
			s.done <- err
			out, _ := os.ReadFile(logPath)
			return nil, fmt.Errorf("%s exited during start-up (%v):\n%s", filepath.Base(bin), err, out)
		case <-ctx.Done():
			s.stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("%s did not become ready within 60s", filepath.Base(bin))
		}
	}
}

// stop ends the server (SIGTERM, then SIGKILL) and waits for it.
func (s *server) stop() {
	if s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		s.done <- err
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// rss is the resident set size of a process in kB: in all, anonymous
// memory, and pages mapped from files (the binary).
type rss struct{ total, anon, file int64 }

func (s *server) rss() rss {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return rss{}
	}
	defer f.Close()
	var r rss
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch name {
		case "VmRSS":
			r.total = n
		case "RssAnon":
			r.anon = n
		case "RssFile":
			r.file = n
		}
	}
	return r
}

// cpuTime is the user plus system CPU time the server has used.
func (s *server) cpuTime() time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// The command name may contain spaces; fields start after ')'.
	i := strings.LastIndexByte(string(data), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	const ticks = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticks
}

// cpuProfile fetches a CPU profile of the next d of the server into path.
func (s *server) cpuProfile(d time.Duration, path string) error {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", s.pprof, max(1, int(d/time.Second))))
	if err := fasthttp.DoTimeout(req, resp, d+30*time.Second); err != nil {
		return err
	}
	if resp.StatusCode() != 200 {
		return fmt.Errorf("pprof: status %d: %s", resp.StatusCode(), resp.Body())
	}
	return os.WriteFile(path, resp.Body(), 0o644)
}

// machineCPU is the CPU time all processes have used (every CPU, from
// /proc/stat): user, nice, system, irq, softirq and steal.
func machineCPU() time.Duration {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0
	}
	var ticks int64
	for _, i := range []int{1, 2, 3, 6, 7, 8} {
		v, _ := strconv.ParseInt(f[i], 10, 64)
		ticks += v
	}
	const hz = 100 // USER_HZ
	return time.Duration(ticks) * time.Second / hz
}

// selfCPU is the CPU time this process (the load generator) has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
