package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/bingsan/bingsan/principal"
)

// The access log: one structured line per request, at info, with what an
// operator needs to see who called what and how it went: never a body, a
// token, a query string (it may carry a credential) or a header value
// other than the request id. Every request has an id, taken from the
// client's X-Request-ID (when it is a sane one) or made up, echoed in the
// answer and in every log line about the request.

const requestIDHeader = "X-Request-ID"

type (
	requestIDKey struct{}
	// routeKey holds the route template ("/v1/{prefix}/namespaces") and
	// operationIDKey the operationId of the request's operation.
	routeKey       struct{}
	operationIDKey struct{}
)

// requestID returns the id of the request: the client's X-Request-ID if it
// is 1 to 128 printable ASCII characters, otherwise 16 random bytes in hex.
func requestID(ctx *fasthttp.RequestCtx) string {
	if id, ok := ctx.UserValue(requestIDKey{}).(string); ok {
		return id
	}
	id := string(ctx.Request.Header.Peek(requestIDHeader))
	if !saneRequestID(id) {
		var b [16]byte
		_, _ = rand.Read(b[:])
		id = hex.EncodeToString(b[:])
	}
	ctx.SetUserValue(requestIDKey{}, id)
	return id
}

func saneRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return false
		}
	}
	return true
}

// accessLog wraps the whole handler: it gives the request its id, echoes
// it, and logs the request when it is answered. Errors (4xx and 5xx) are
// always logged; other answers one in AccessLogSample.
func (s *Server) accessLog(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		start := time.Now()
		id := requestID(ctx)
		ctx.Response.Header.Set(requestIDHeader, id)
		next(ctx)
		if len(ctx.Response.Header.Peek(requestIDHeader)) == 0 { // an error answer reset the headers
			ctx.Response.Header.Set(requestIDHeader, id)
		}
		if !s.opts.AccessLog {
			return
		}
		status := ctx.Response.StatusCode()
		if n := s.opts.AccessLogSample; status < 400 && n > 1 && s.accessCount.Add(1)%uint64(n) != 0 {
			return
		}
		route, _ := ctx.UserValue(routeKey{}).(string)
		if route == "" {
			route = string(ctx.Path()) // health, metrics, unknown routes
		}
		op, _ := ctx.UserValue(operationIDKey{}).(string)
		s.log.LogAttrs(context.Background(), slog.LevelInfo, "request",
			slog.String("method", string(ctx.Method())),
			slog.String("route", route),
			slog.String("operation", op),
			slog.Int("status", status),
			slog.Duration("duration", time.Since(start)),
			slog.Int("bytes", len(ctx.Response.Body())),
			slog.String("principal", principal.From(ctx)),
			slog.String("request_id", id),
			slog.String("remote", ctx.RemoteIP().String()),
		)
	}
}

// routed records the route template and operation of a request, for the
// access log; the generated routes' wrappers call it.
func routed(route, operation string, next fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		ctx.SetUserValue(routeKey{}, route)
		ctx.SetUserValue(operationIDKey{}, operation)
		next(ctx)
	}
}
