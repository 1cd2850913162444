// Package reqctx makes the context that generated strict handlers pass to
// the catalog for one fasthttp request.
//
// *fasthttp.RequestCtx is itself a context.Context, but it is recycled as
// soon as the request is answered, and its Done channel closes at server
// shutdown. Anything that calls context.WithCancel on it (database drivers,
// SDK clients) starts a goroutine that, at shutdown, reads the request's
// values while fasthttp resets it for the next request: a data race. The
// context made here keeps the request's values but not its cancellation;
// graceful shutdown waits for in-flight requests instead.
package reqctx

import (
	"context"

	"github.com/valyala/fasthttp"
)

type key struct{}

// New returns the handler context of rc.
func New(rc *fasthttp.RequestCtx) context.Context {
	return context.WithValue(context.WithoutCancel(rc), key{}, rc)
}

// Request returns the fasthttp request behind a handler context, for the
// few handlers that set headers or upgrade the connection themselves.
func Request(ctx context.Context) (*fasthttp.RequestCtx, bool) {
	rc, ok := ctx.Value(key{}).(*fasthttp.RequestCtx)
	return rc, ok
}
