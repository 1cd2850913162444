// Package eventstest is a small client of Bingsan's event endpoints for
// tests: WebSocket streams (GET /v1/events/stream) and polling
// (GET /v1/events).
package eventstest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/bingsan/bingsan/gen/bingsanapi"
)

// Dial opens a stream on the server at base (http://host:port) with the
// raw query string query (e.g. "after=0&types=table.committed").
func Dial(ctx context.Context, base, query string) (*websocket.Conn, *http.Response, error) {
	return DialReceiveBuffer(ctx, base, query, 0)
}

// DialReceiveBuffer is Dial with the socket's receive buffer fixed to
// rcvbuf bytes (0: the system's), so that a client that does not read
// makes the server's writes block soon.
func DialReceiveBuffer(ctx context.Context, base, query string, rcvbuf int) (*websocket.Conn, *http.Response, error) {
	url := "ws" + strings.TrimPrefix(base, "http") + "/v1/events/stream"
	if query != "" {
		url += "?" + query
	}
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	if rcvbuf > 0 {
		nd := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
			var serr error
			if err := c.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvbuf)
			}); err != nil {
				return err
			}
			return serr
		}}
		d.NetDialContext = nd.DialContext
	}
	return d.DialContext(ctx, url, nil)
}

// Read reads the next event, waiting at most timeout.
func Read(conn *websocket.Conn, timeout time.Duration) (bingsanapi.Event, int64, error) {
	_ = conn.SetReadDeadline(time.Now().Add(timeout))
	typ, b, err := conn.ReadMessage()
	if err != nil {
		return bingsanapi.Event{}, 0, err
	}
	if typ != websocket.TextMessage {
		return bingsanapi.Event{}, 0, fmt.Errorf("message of type %d, want text", typ)
	}
	var e bingsanapi.Event
	if err := json.Unmarshal(b, &e); err != nil {
		return bingsanapi.Event{}, 0, fmt.Errorf("decoding %s: %w", b, err)
	}
	id, err := strconv.ParseInt(e.Id, 10, 64)
	if err != nil {
		return bingsanapi.Event{}, 0, fmt.Errorf("event id %q: %w", e.Id, err)
	}
	return e, id, nil
}

// CloseOf returns the code and reason of the close frame a read failed on.
func CloseOf(err error) (code int, reason string, ok bool) {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		return ce.Code, ce.Text, true
	}
	return 0, "", false
}

var resumeRE = regexp.MustCompile(`resume after=(\d+)$`)

// ResumeAfter is the id named by a close reason's "resume after=<id>".
func ResumeAfter(reason string) (int64, bool) {
	m := resumeRE.FindStringSubmatch(reason)
	if m == nil {
		return 0, false
	}
	id, err := strconv.ParseInt(m[1], 10, 64)
	return id, err == nil
}

// List calls GET /v1/events with the raw query string query.
func List(ctx context.Context, client *http.Client, base, query string) (bingsanapi.EventPage, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/v1/events?"+query, nil)
	if err != nil {
		return bingsanapi.EventPage{}, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return bingsanapi.EventPage{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return bingsanapi.EventPage{}, err
	}
	if resp.StatusCode != 200 {
		return bingsanapi.EventPage{}, fmt.Errorf("GET /v1/events?%s: %d %s", query, resp.StatusCode, b)
	}
	var p bingsanapi.EventPage
	if err := json.Unmarshal(b, &p); err != nil {
		return bingsanapi.EventPage{}, fmt.Errorf("decoding %s: %w", b, err)
	}
	return p, nil
}
