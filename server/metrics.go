package server

import (
	"github.com/valyala/fasthttp"

	"github.com/bingsan/bingsan/metrics"
)

// observe records the request metrics of operation (the spec's
// operationId) around next: count by status class, latency, in flight.
// Without Options.Metrics it is next itself.
func (s *Server) observe(operation string, next fasthttp.RequestHandler) fasthttp.RequestHandler {
	op := s.opts.Metrics.Operation(operation)
	if op == nil {
		return next
	}
	return func(ctx *fasthttp.RequestCtx) {
		start := op.Start()
		status := fasthttp.StatusInternalServerError // a panic unwinding through here
		defer func() { op.Done(start, status) }()
		next(ctx)
		status = ctx.Response.StatusCode()
	}
}

// serveMetrics answers GET /metrics in the Prometheus text format.
func (s *Server) serveMetrics(ctx *fasthttp.RequestCtx) {
	ctx.SetContentType(metrics.ContentType)
	if err := s.opts.Metrics.Write(ctx); err != nil {
		s.log.Warn("gathering metrics", "error", err)
	}
}
