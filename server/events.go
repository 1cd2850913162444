package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/fasthttp/router"
	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/events"
	"github.com/bingsan/bingsan/gen/bingsanapi"
	"github.com/bingsan/bingsan/gen/iceberg"
	"github.com/bingsan/bingsan/internal/reqctx"
)

// Close codes of event streams (4000-4999 is the range for applications).
const (
	// CloseSlowSubscriber: the subscriber's queue overflowed; the reason
	// ends with "resume after=<id>".
	CloseSlowSubscriber = 4000
	// CloseEventsPruned: events the subscriber still needed were pruned.
	CloseEventsPruned = 4001
)

// EventHeadHeader, on the 101 answer of a stream, is the id of the newest
// event when the subscription began.
const EventHeadHeader = "Bingsan-Event-Head"

const (
	// streamPingInterval is how often streams are pinged; a client that
	// answers neither pings nor anything else for two intervals is gone.
	streamPingInterval = 30 * time.Second
	// defaultStreamWriteTimeout bounds one write to a stream: a client
	// that takes longer to read one message is disconnected.
	defaultStreamWriteTimeout = 10 * time.Second
	// streamSendBuffer caps the kernel's send buffer of a stream (it
	// would otherwise grow to megabytes), so that what a slow subscriber
	// can fall behind stays bounded by events.buffer and this.
	streamSendBuffer = 256 << 10
)

// extensionAPI implements the Bingsan extension API (openapi/bingsan.yaml):
// events (here) and the function operations the Iceberg REST API lacks
// (functions.go).
type extensionAPI struct {
	srv *Server
	api *api
}

var _ bingsanapi.StrictServerInterface = (*extensionAPI)(nil)

// registerEvents adds the routes of the extension API to r. They go
// through the same authorization (from the operations table), idempotency
// and audit as the Iceberg API's.
func (s *Server) registerEvents(r *router.Router) {
	onError := func(ctx *fasthttp.RequestCtx, err error) { writeError(ctx, s.log, err) }
	var strict []bingsanapi.StrictMiddlewareFunc
	if s.opts.Auth != nil {
		strict = append(strict, func(f bingsanapi.StrictHandlerFunc, operation string) bingsanapi.StrictHandlerFunc {
			return bingsanapi.StrictHandlerFunc(s.authorizeOperation(iceberg.StrictHandlerFunc(f), operation))
		})
	}
	x := &extensionAPI{srv: s, api: &api{srv: s, cat: s.opts.Catalog}}
	routes := bingsanapi.Routes(bingsanapi.NewStrictHandler(x, strict), onError)
	bingsanapi.RegisterRoutes(r, routes, func(rt bingsanapi.Route) fasthttp.RequestHandler {
		h := rt.Handler
		if operations[rt.OperationID].idempotent {
			h = s.idempotent(rt.OperationID, h)
		}
		return routed(rt.Path, rt.OperationID, s.observe(rt.OperationID, s.authenticate(rt.OperationID, isMutation(rt.OperationID), h)))
	})
}

func goneResponse(err *events.GoneError) bingsanapi.ErrorResponse {
	var body bingsanapi.ErrorResponse
	body.Error.Code = fasthttp.StatusGone
	body.Error.Type = "GoneException"
	body.Error.Message = "Events after id " + strconv.FormatInt(err.After, 10) + " are no longer retained; start again from after=0 or without after"
	return body
}

func (a *extensionAPI) ListEvents(ctx context.Context, req bingsanapi.ListEventsRequestObject) (bingsanapi.ListEventsResponseObject, error) {
	p := req.Params
	f, err := events.ParseFilter(p.Warehouse, p.Namespace, p.Object, p.Types)
	if err != nil {
		return nil, err
	}
	f.Visible = a.srv.eventVisibility(ctx)
	var after int64
	if p.After != nil {
		after = *p.After
	}
	if after < 0 {
		return nil, errs.New(errs.BadRequest, "Invalid value for parameter after: must not be negative")
	}
	limit := events.DefaultListLimit
	if p.Limit != nil {
		if *p.Limit < 1 || *p.Limit > events.MaxListLimit {
			return nil, errs.New(errs.BadRequest, "Invalid value for parameter limit: must be between 1 and %d", events.MaxListLimit)
		}
		limit = *p.Limit
	}
	page, err := events.List(ctx, a.srv.opts.Store, after, limit, f)
	var gone *events.GoneError
	if errors.As(err, &gone) {
		return bingsanapi.ListEvents410JSONResponse(goneResponse(gone)), nil
	}
	if err != nil {
		return nil, err
	}
	out := bingsanapi.EventPage{Events: make([]bingsanapi.Event, len(page.Events)), NextAfter: page.NextAfter, More: page.More}
	for i, e := range page.Events {
		out.Events[i] = events.Envelope(e)
	}
	return bingsanapi.ListEvents200JSONResponse(out), nil
}

// StreamEvents subscribes and upgrades the connection; the stream itself
// runs in the upgrade callback, which gets the connection and never the
// request context (fasthttp reuses it once the handler returns).
func (a *extensionAPI) StreamEvents(ctx context.Context, req bingsanapi.StreamEventsRequestObject) (bingsanapi.StreamEventsResponseObject, error) {
	rc, ok := reqctx.Request(ctx)
	if !ok {
		return nil, errs.New(errs.Internal, "event streams need the fasthttp request")
	}
	broker := a.srv.opts.Events
	if broker == nil {
		return nil, errs.New(errs.ServiceUnavailable, "Event streams are not enabled on this server")
	}
	p := req.Params
	f, err := events.ParseFilter(p.Warehouse, p.Namespace, p.Object, p.Types)
	if err != nil {
		return nil, err
	}
	f.Visible = a.srv.eventVisibility(ctx)
	if p.After != nil && *p.After < 0 {
		return nil, errs.New(errs.BadRequest, "Invalid value for parameter after: must not be negative")
	}
	if !websocket.FastHTTPIsWebSocketUpgrade(rc) {
		return nil, errs.New(errs.BadRequest, "GET /v1/events/stream upgrades to a WebSocket; use GET /v1/events to poll")
	}
	subCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	sub, err := broker.Subscribe(subCtx, f, p.After)
	var gone *events.GoneError
	switch {
	case errors.As(err, &gone):
		return bingsanapi.StreamEvents410JSONResponse(goneResponse(gone)), nil
	case errors.Is(err, events.ErrShutdown), errors.Is(err, context.DeadlineExceeded):
		return nil, errs.Wrap(errs.ServiceUnavailable, err, "Event streams are not available right now")
	case err != nil:
		return nil, err
	}
	last := sub.Head
	if p.After != nil {
		last = *p.After
	}
	var refused int
	up := websocket.FastHTTPUpgrader{
		Error: func(_ *fasthttp.RequestCtx, status int, _ error) { refused = status },
		// Selected when offered (browsers send their credentials as a
		// second subprotocol; see streamCredentials) and never echoing the
		// credential back.
		Subprotocols: []string{EventsSubprotocol},
	}
	rc.Response.Header.Set(EventHeadHeader, strconv.FormatInt(sub.Head, 10))
	if err := up.Upgrade(rc, func(conn *websocket.Conn) { a.srv.stream(conn, sub, last) }); err != nil {
		sub.Close()
		rc.Response.Header.Del(EventHeadHeader)
		kind := errs.BadRequest
		switch refused {
		case fasthttp.StatusForbidden:
			kind = errs.Forbidden
		case fasthttp.StatusMethodNotAllowed:
			kind = errs.MethodNotAllowed
		}
		return nil, errs.New(kind, "WebSocket handshake refused: %s", err.Error())
	}
	return bingsanapi.StreamEvents101Response{}, nil
}

// stream sends sub's events on conn, one text message each, until the
// subscription or the connection ends. last is the id to resume after if
// nothing is sent.
func (s *Server) stream(conn *websocket.Conn, sub *events.Subscription, last int64) {
	defer conn.Close()
	defer sub.Close()

	nc := conn.NetConn()
	if u, ok := nc.(interface{ UnsafeConn() net.Conn }); ok { // fasthttp's hijacked conn
		nc = u.UnsafeConn()
	}
	if tc, ok := nc.(interface{ SetWriteBuffer(int) error }); ok {
		_ = tc.SetWriteBuffer(streamSendBuffer)
	}

	// Clients send nothing but control frames; reading is what processes
	// them (pongs, the client's close) and notices a dead peer. The reader
	// must be gone before stream returns: fasthttp then recycles the
	// connection's buffers.
	conn.SetReadLimit(4096)
	var deadlineMu sync.Mutex
	stopping := false
	alive := func() error {
		deadlineMu.Lock()
		defer deadlineMu.Unlock()
		if stopping {
			return nil
		}
		return conn.SetReadDeadline(time.Now().Add(2*streamPingInterval + s.streamWriteTimeout()))
	}
	_ = alive()
	conn.SetPongHandler(func(string) error { return alive() })
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		for {
			if _, _, err := conn.NextReader(); err != nil {
				return
			}
			_ = alive()
		}
	}()
	defer func() {
		deadlineMu.Lock()
		stopping = true
		_ = conn.SetReadDeadline(time.Now())
		deadlineMu.Unlock()
		<-readDone
	}()

	ping := time.NewTicker(streamPingInterval)
	defer ping.Stop()
	for {
		// An ended subscription is closed before anything else is sent:
		// a slow subscriber gets its close reason without waiting for the
		// queue to drain.
		select {
		case <-sub.Done():
			s.closeStream(conn, sub.Err(), last, readDone)
			return
		default:
		}
		select {
		case m := <-sub.Messages():
			_ = conn.SetWriteDeadline(time.Now().Add(s.streamWriteTimeout()))
			if err := conn.WriteMessage(websocket.TextMessage, m.JSON); err != nil {
				return
			}
			last = m.ID
		case <-sub.Done():
			s.closeStream(conn, sub.Err(), last, readDone)
			return
		case <-ping.C:
			if err := conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(s.streamWriteTimeout())); err != nil {
				return
			}
		case <-readDone:
			return
		}
	}
}

func (s *Server) streamWriteTimeout() time.Duration {
	if s.opts.EventWriteTimeout > 0 {
		return s.opts.EventWriteTimeout
	}
	return defaultStreamWriteTimeout
}

// closeStream sends the close frame that says why the stream ends and
// where to resume, then waits briefly for the client's answer.
func (s *Server) closeStream(conn *websocket.Conn, cause error, last int64, readDone <-chan struct{}) {
	code, reason := CloseCode(cause, last)
	if code == websocket.CloseInternalServerErr {
		s.log.Warn("event stream failed", "error", cause)
	}
	_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(s.streamWriteTimeout()))
	select {
	case <-readDone:
	case <-time.After(2 * time.Second):
	}
}

// CloseCode is the close code and reason of a stream whose subscription
// ended with cause after sending the event last.
func CloseCode(cause error, last int64) (int, string) {
	resume := fmt.Sprintf("; resume after=%d", last)
	var gone *events.GoneError
	switch {
	case errors.Is(cause, events.ErrSlow):
		return CloseSlowSubscriber, "subscriber too slow" + resume
	case errors.As(cause, &gone):
		return CloseEventsPruned, fmt.Sprintf("events after %d were pruned", gone.After)
	case errors.Is(cause, events.ErrShutdown), errors.Is(cause, events.ErrClosed):
		return websocket.CloseGoingAway, "server shutting down" + resume
	default:
		return websocket.CloseInternalServerErr, "event store unavailable" + resume
	}
}
