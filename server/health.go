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
