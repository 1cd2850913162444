package server

import (
	"context"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/bingsan/bingsan/errs"
)

// live answers while the process is serving; it checks nothing else so an
// orchestrator never restarts a node for a database outage.
func (s *Server) live(ctx *fasthttp.RequestCtx) {
	ctx.SetContentType("application/json")
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetBodyString(`{"status":"ok"}` + "\n")
}

// ready answers 200 only when the store answers, so load balancers stop
// sending traffic to a node that cannot reach its database.
func (s *Server) ready(ctx *fasthttp.RequestCtx) {
	c, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := s.opts.Store.Ping(c); err != nil {
		writeError(ctx, s.log, errs.Wrap(errs.ServiceUnavailable, err, "Store is not reachable"))
		return
	}
	ctx.SetContentType("application/json")
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetBodyString(`{"status":"ok"}` + "\n")
}

// instrument counts requests to a route outside the spec like an
// operation's, under the name id: failed readiness checks (the probes of
// Kubernetes or a container runtime) then show in
// bingsan_http_requests_total{operation="healthReady",class="5xx"}.
func (s *Server) instrument(id string, h fasthttp.RequestHandler) fasthttp.RequestHandler {
	op := s.opts.Metrics.Operation(id)
	if op == nil {
		return h
	}
	return func(ctx *fasthttp.RequestCtx) {
		start := op.Start()
		h(ctx)
		op.Done(start, ctx.Response.StatusCode())
	}
}
