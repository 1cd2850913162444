//go:build pprof

package main

// Built with -tags pprof (make bench PROFILE=dir does), the binary serves
// net/http/pprof on BINGSAN_TEST_PPROF_ADDR (loopback only), so the load harness
// can take CPU profiles of the server under each workload. Release builds
// do not contain it.

import (
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
)

func init() {
	addr := os.Getenv("BINGSAN_TEST_PPROF_ADDR")
	if addr == "" {
		return
	}
	if host, _, err := net.SplitHostPort(addr); err != nil || !net.ParseIP(host).IsLoopback() {
		panic("BINGSAN_TEST_PPROF_ADDR must be a loopback host:port")
	}
	go func() { _ = http.ListenAndServe(addr, nil) }()
}
