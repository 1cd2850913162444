// Package server is Bingsan's HTTP transport: the fasthttp server, the
// generated Iceberg REST binding, middleware, and one handler file per
// resource. Handlers decode (generated), call one catalog operation and map
// its result; errors become Iceberg error responses in errors.go only.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"

	"github.com/bingsan/bingsan/auth"
	"github.com/bingsan/bingsan/catalog"
	"github.com/bingsan/bingsan/console"
	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/events"
	"github.com/bingsan/bingsan/gen/iceberg"
	"github.com/bingsan/bingsan/internal/bufpool"
	"github.com/bingsan/bingsan/metrics"
	"github.com/bingsan/bingsan/planning"
	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/vend"
	"github.com/bingsan/bingsan/warehouse"
)

// Options configures a Server.
type Options struct {
	Store   store.Store
	Catalog *catalog.Service
	Logger  *slog.Logger

	// DefaultWarehouse serves routes without a {prefix}; Warehouses maps
	// every warehouse name to its base location.
	DefaultWarehouse string
	Warehouses       map[string]string
	// Registry, when set, serves the warehouses instead of Warehouses:
	// they change at runtime (the management API's warehouse operations
	// need it).
	Registry *warehouse.Registry

	// Defaults and Overrides are returned by GET /v1/config.
	Defaults  map[string]string
	Overrides map[string]string

	// AccessMode decides the delegated access (vended credentials, remote
	// signing) a request gets to a table's files; nil: read-write for
	// every caller.
	AccessMode func(ctx context.Context, id store.Ident) vend.Mode

	// Events streams the event outbox (GET /v1/events/stream); nil: streams
	// answer 503. Listing (GET /v1/events) needs only the store.
	Events *events.Broker
	// EventWriteTimeout bounds one write to an event stream: a client that
	// reads nothing for that long is disconnected without a close frame
	// (0: 10s).
	EventWriteTimeout time.Duration

	// Planner plans scans (planTableScan and the operations that follow
	// it); nil: they answer 501 and are not advertised.
	Planner *planning.Service

	// Metrics receives the request metrics and is served on GET /metrics;
	// nil: no metrics, and /metrics is 404.
	Metrics *metrics.Metrics

	// Auth authenticates callers and authorizes their requests (see
	// auth.go); nil: authentication is off and every caller may do
	// everything. With it, AccessMode follows the grants (and a set
	// AccessMode can only narrow that), and ProtectMetrics makes /metrics
	// need a principal too.
	Auth           *auth.Service
	ProtectMetrics bool

	// Console, when set, serves the web console under /ui (server.console)
	// with these sign-in settings; nil: /ui is 404.
	Console *console.Settings

	// AccessLog logs one line per request at info (see accesslog.go);
	// AccessLogSample logs only one in that many answers below 400 (0 or
	// 1: every one).
	AccessLog       bool
	AccessLogSample int

	MaxBodyBytes        int
	ReadTimeout         time.Duration
	WriteTimeout        time.Duration
	IdleTimeout         time.Duration
	IdempotencyLifetime time.Duration
}

// Server serves the Iceberg REST API and the health endpoints.
type Server struct {
	opts    Options
	log     *slog.Logger
	handler fasthttp.RequestHandler
	http    *fasthttp.Server
	// endpoints is what GET /v1/config advertises: every implemented
	// operation (endpointsFor narrows it to one warehouse).
	endpoints []advertised
	// bufs holds the buffers responses are encoded in.
	bufs *bufpool.Pool
	// accessCount counts the requests the access log may skip.
	accessCount atomic.Uint64
}

// maxPooledBuffer is the largest response buffer kept for reuse.
const maxPooledBuffer = 64 << 10

// New builds the server and its route table.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Auth != nil {
		opts.AccessMode = grantAccessMode(opts.Auth, opts.AccessMode)
	}
	s := &Server{opts: opts, log: opts.Logger, bufs: bufpool.New(maxPooledBuffer, opts.Metrics.BufferPool("response"))}

	r := router.New()
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	r.HandleMethodNotAllowed = true
	r.NotFound = func(ctx *fasthttp.RequestCtx) {
		writeError(ctx, s.log, errs.New(errs.NotFound, "No route for %s %s", ctx.Method(), ctx.Path()))
	}
	r.MethodNotAllowed = func(ctx *fasthttp.RequestCtx) {
		writeError(ctx, s.log, errs.New(errs.MethodNotAllowed, "Method %s is not allowed for %s", ctx.Method(), ctx.Path()))
	}

	a := &api{srv: s, cat: opts.Catalog, planner: opts.Planner}
	onError := func(ctx *fasthttp.RequestCtx, err error) {
		if opts.Auth != nil && string(ctx.Path()) == tokenPath {
			writeOAuthError(ctx, s.log, err)
			return
		}
		writeError(ctx, s.log, err)
	}
	// The last middleware runs first: authorization, then the 501 of
	// operations not built yet (so a caller without rights hears 403).
	strict := []iceberg.StrictMiddlewareFunc{s.answerUnimplemented}
	if opts.Auth != nil {
		strict = append(strict, s.authorizeOperation)
	}
	routes := iceberg.Routes(iceberg.NewStrictHandler(a, strict), onError)
	for _, rt := range routes {
		if s.implemented(rt.OperationID) && (opts.Auth != nil || rt.OperationID != "getToken") {
			s.endpoints = append(s.endpoints, advertised{rt.Method + " " + rt.Path, rt.OperationID})
		}
	}
	iceberg.RegisterRoutes(r, routes, s.wrapOperation)
	s.registerEvents(r)
	s.registerManagement(r)

	live, ready := s.instrument("healthLive", s.live), s.instrument("healthReady", s.ready)
	r.GET("/health/live", live)
	r.HEAD("/health/live", live)
	r.GET("/health/ready", ready)
	r.HEAD("/health/ready", ready)
	if opts.Metrics != nil {
		if opts.ProtectMetrics {
			r.GET("/metrics", s.protect("metrics", s.serveMetrics))
		} else {
			r.GET("/metrics", s.serveMetrics)
		}
	}

	handler, err := s.mountConsole(r.Handler)
	if err != nil {
		// The console's files are embedded at build time: this is a broken build.
		panic("console: " + err.Error())
	}
	s.handler = s.accessLog(s.recoverPanics(handler))
	s.http = &fasthttp.Server{
		Handler:                      s.handler,
		Name:                         "bingsan",
		MaxRequestBodySize:           opts.MaxBodyBytes,
		ReadTimeout:                  opts.ReadTimeout,
		WriteTimeout:                 opts.WriteTimeout,
		IdleTimeout:                  opts.IdleTimeout,
		NoDefaultContentType:         true,
		CloseOnShutdown:              true,
		ErrorHandler:                 s.requestError,
		Logger:                       slogPrinter{s.log},
		DisablePreParseMultipartForm: true,
	}
	return s
}

// Handler is the full request handler, for in-process tests and embedding.
func (s *Server) Handler() fasthttp.RequestHandler { return s.handler }

// Serve accepts connections on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error { return s.http.Serve(ln) }

// Shutdown stops accepting connections and waits for in-flight requests until
// ctx is done.
func (s *Server) Shutdown(ctx context.Context) error { return s.http.ShutdownWithContext(ctx) }

// wrapOperation decorates an operation's handler with the cross-cutting
// behaviour that depends on which operation it is.
func (s *Server) wrapOperation(rt iceberg.Route) fasthttp.RequestHandler {
	h := rt.Handler
	if operations[rt.OperationID].idempotent {
		h = s.idempotent(rt.OperationID, h)
	}
	h = s.authenticate(rt.OperationID, isMutation(rt.OperationID), h)
	return routed(rt.Path, rt.OperationID, s.observe(rt.OperationID, h))
}

// recoverPanics turns a panic in any handler into a 500 and a log line, so
// one bad request never takes the node down.
func (s *Server) recoverPanics(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		defer func() {
			if p := recover(); p != nil {
				s.log.Error("panic serving request", "method", string(ctx.Method()), "path", string(ctx.Path()),
					"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				writeError(ctx, s.log, &errs.Error{Kind: errs.Internal, Message: "Internal server error"})
			}
		}()
		next(ctx)
	}
}

// requestError answers requests fasthttp could not read: an oversize body, a
// malformed request line or headers, a read timeout.
func (s *Server) requestError(ctx *fasthttp.RequestCtx, err error) {
	if errors.Is(err, fasthttp.ErrBodyTooLarge) {
		writeError(ctx, s.log, errs.New(errs.PayloadTooLarge, "Request body exceeds %d bytes", s.opts.MaxBodyBytes))
		return
	}
	writeError(ctx, s.log, errs.New(errs.BadRequest, "Malformed request: %v", err))
}

func encodeJSON(ctx *fasthttp.RequestCtx, v any) error {
	return json.NewEncoder(ctx).Encode(v)
}

// slogPrinter routes fasthttp's own log lines into slog.
type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Printf(format string, args ...any) { p.log.Warn(fmt.Sprintf(format, args...)) }
