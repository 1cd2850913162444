package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/bingsan/bingsan/config"
)

// healthTimeout bounds `bingsan health`, which container runtimes call
// every few seconds.
const healthTimeout = 3 * time.Second

// healthCmd asks the server this configuration describes whether it is
// ready (GET /health/ready) and fails unless it answers 200. It exists so
// that the container image, which has no shell and no curl, can declare a
// health check.
func healthCmd(ctx context.Context, cfg config.Config, stdout io.Writer) error {
	url := "http://" + dialAddr(cfg.Listen) + "/health/ready"
	ctx, cancel := context.WithTimeout(ctx, healthTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("health: %s answered %s: %s", url, resp.Status, body)
	}
	fmt.Fprintf(stdout, "%s: %s\n", url, resp.Status)
	return nil
}

// dialAddr turns a listen address into one to connect to: a wildcard or
// empty host is this machine's loopback.
func dialAddr(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}
