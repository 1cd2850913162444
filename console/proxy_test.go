package console_test

import (
	"bufio"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
)

// proxy forwards TCP connections from the browser to the server, and can
// drop every connection and refuse new ones (setDown), which the browser
// sees as a lost network. It records the first request line of each
// connection.
type proxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	down  bool
	conns map[net.Conn]bool
	lines []string
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); p.forward(c) }()
		}
	}()
	t.Cleanup(func() { ln.Close(); p.setDown(true); wg.Wait() })
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.down {
		return false
	}
	p.conns[c] = true
	return true
}

func (p *proxy) forward(client net.Conn) {
	defer client.Close()
	if !p.track(client) {
		return
	}
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer server.Close()
	if !p.track(server) {
		return
	}
	r := bufio.NewReader(client)
	line, err := r.ReadString('\n')
	if err != nil {
		return
	}
	p.mu.Lock()
	p.lines = append(p.lines, strings.TrimSpace(line))
	p.mu.Unlock()
	if _, err := io.WriteString(server, line); err != nil {
		return
	}
	done := make(chan struct{})
	go func() { _, _ = io.Copy(client, server); client.Close(); close(done) }()
	_, _ = io.Copy(server, r)
	server.Close()
	<-done
}

// setDown drops every open connection and refuses new ones (true), or
// accepts again (false).
func (p *proxy) setDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	if down {
		for c := range p.conns {
			c.Close()
		}
		p.conns = map[net.Conn]bool{}
	}
}

func (p *proxy) requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.lines...)
}

// sawStreamWith reports whether an event stream was requested with s in
// its query.
func (p *proxy) sawStreamWith(s string) bool {
	for _, l := range p.requests() {
		if strings.Contains(l, "/v1/events/stream?") && strings.Contains(l, s) {
			return true
		}
	}
	return false
}
