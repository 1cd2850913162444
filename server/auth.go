package server

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/bingsan/bingsan/auth"
	"github.com/bingsan/bingsan/authz"
	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/gen/iceberg"
	"github.com/bingsan/bingsan/internal/reqctx"
	"github.com/bingsan/bingsan/principal"
	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/vend"
)

// Authentication, authorization and the audit log, with Options.Auth set
// (auth.enabled). Every route but the health endpoints and the token
// endpoint goes through authenticate, which sets the request's principal
// (package principal) or answers 401, and writes the audit entry of every
// mutation and every denial. The Iceberg operations are then authorized
// once each, in authorizeOperation, from their operationId and the
// identifiers in the decoded request, before the handler runs: a denied
// request changes nothing. The management API checks in its handlers.

// Request user values of the auth middleware.
type (
	// operationKey holds the operationId, for AccessMode.
	operationKey struct{}
	// auditTargetKey holds what the audit entry names as the target.
	auditTargetKey struct{}
	// auditPrincipalKey names the caller of an unauthenticated request
	// (the token endpoint's client).
	auditPrincipalKey struct{}
)

// authenticate requires a principal for operation (unless it is public)
// and audits the request. Without Options.Auth it is next itself.
func (s *Server) authenticate(operation string, mutation func(*fasthttp.RequestCtx) bool, next fasthttp.RequestHandler) fasthttp.RequestHandler {
	a := s.opts.Auth
	if a == nil {
		return next
	}
	public := operations[operation].public
	return func(ctx *fasthttp.RequestCtx) {
		ctx.SetUserValue(operationKey{}, operation)
		if !public {
			header := string(ctx.Request.Header.Peek(fasthttp.HeaderAuthorization))
			if header == "" && operation == "streamEvents" {
				header = streamCredentials(ctx)
			}
			p, err := a.Authenticate(reqctx.New(ctx), header)
			if err != nil {
				writeError(ctx, s.log, err)
				if ctx.Response.StatusCode() == fasthttp.StatusUnauthorized {
					ctx.Response.Header.Set(fasthttp.HeaderWWWAuthenticate, `Bearer realm="bingsan"`)
				}
				s.audit(ctx, a, operation, true)
				return
			}
			principal.SetPrincipal(ctx, p)
		}
		next(ctx)
		s.audit(ctx, a, operation, mutation(ctx))
	}
}

// Browsers cannot set headers on a WebSocket, only offer subprotocols: an
// event stream may carry its credentials as the subprotocol
// StreamBearerPrefix + base64url(token or API key), offered beside
// EventsSubprotocol, which the server then selects. The credential is as
// exposed as in an Authorization header (same request, same TLS), and no
// server state (tickets) is needed, so any node of a cluster accepts it.
const (
	EventsSubprotocol  = "bingsan.events"
	StreamBearerPrefix = "bingsan.bearer."
)

// streamCredentials is the Authorization header an event stream's
// subprotocols carry, or "" (then authentication answers 401 as without a
// header). A credential that is not base64url is passed on as given, so
// that it is refused as an invalid token.
func streamCredentials(ctx *fasthttp.RequestCtx) string {
	for _, v := range ctx.Request.Header.PeekAll(fasthttp.HeaderSecWebSocketProtocol) {
		for _, p := range strings.Split(string(v), ",") {
			enc, ok := strings.CutPrefix(strings.TrimSpace(p), StreamBearerPrefix)
			if !ok {
				continue
			}
			if tok, err := base64.RawURLEncoding.DecodeString(enc); err == nil {
				return "Bearer " + string(tok)
			}
			return "Bearer " + enc
		}
	}
	return ""
}

// audit records the request when it is a mutation or was denied.
func (s *Server) audit(ctx *fasthttp.RequestCtx, a *auth.Service, operation string, mutation bool) {
	status := ctx.Response.StatusCode()
	outcome := "success"
	switch {
	case status == fasthttp.StatusUnauthorized || status == fasthttp.StatusForbidden:
		outcome = "denied"
	case status >= 400:
		outcome = "failed"
	}
	if !mutation && outcome != "denied" {
		return
	}
	e := store.AuditEntry{Principal: principal.From(ctx), Operation: operation, Outcome: outcome, Status: status}
	if e.Principal == "" {
		e.Principal, _ = ctx.UserValue(auditPrincipalKey{}).(string)
	}
	e.Target, _ = ctx.UserValue(auditTargetKey{}).(string)
	if e.Target == "" {
		e.Target = string(ctx.Method()) + " " + string(ctx.Path())
	}
	if status >= 400 {
		e.Detail = errorMessage(ctx.Response.Body())
	}
	c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.Audit(c, e); err != nil {
		s.log.Error("writing the audit log", "operation", operation, "principal", e.Principal, "error", err)
	}
}

// errorMessage is the message of an Iceberg or OAuth error body.
func errorMessage(body []byte) string {
	var v struct {
		Error json.RawMessage `json:"error"`
		Desc  string          `json:"error_description"`
	}
	if json.Unmarshal(body, &v) != nil {
		return ""
	}
	var model struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(v.Error, &model) == nil && model.Message != "" {
		return model.Message
	}
	var code string
	if json.Unmarshal(v.Error, &code) == nil {
		return strings.TrimSpace(code + ": " + v.Desc)
	}
	return ""
}

// isMutation says whether an operation changes the catalog (operations).
func isMutation(operation string) func(*fasthttp.RequestCtx) bool {
	m := operations[operation].mutation
	return func(*fasthttp.RequestCtx) bool { return m }
}

// need is one privilege an operation needs on one target.
type need struct {
	priv authz.Privilege
	on   store.Securable
}

// authorizeOperation is the strict middleware that authorizes every
// Iceberg operation before it runs.
func (s *Server) authorizeOperation(f iceberg.StrictHandlerFunc, operation string) iceberg.StrictHandlerFunc {
	a := s.opts.Auth
	return func(ctx *fasthttp.RequestCtx, request any) (any, error) {
		op, ok := operations[operation]
		if !ok {
			return nil, errs.New(errs.Internal, "operation %s has no descriptor", operation)
		}
		if op.public {
			return f(ctx, request)
		}
		var needs []need
		if op.targets != nil {
			var err error
			if needs, err = op.targets(s, ctx, op.privilege, request); err != nil {
				return nil, err
			}
		}
		if len(needs) > 0 {
			ctx.SetUserValue(auditTargetKey{}, authz.Describe(needs[0].on))
		}
		for _, n := range needs {
			if err := a.Check(ctx, n.priv, n.on); err != nil {
				return nil, err
			}
		}
		return f(ctx, request)
	}
}

// grantAccessMode makes the delegated storage access follow the grants:
// read-only unless the principal may write the table (or creates it). base
// (the configured AccessMode, if any) can only narrow it.
func grantAccessMode(a *auth.Service, base func(context.Context, store.Ident) vend.Mode) func(context.Context, store.Ident) vend.Mode {
	return func(ctx context.Context, id store.Ident) vend.Mode {
		op, _ := ctx.Value(operationKey{}).(string)
		m := a.AccessMode(ctx, op, id)
		if base != nil && base(ctx, id) == vend.ReadOnly {
			m = vend.ReadOnly
		}
		return m
	}
}

// protect requires a principal (any) for a plain route such as /metrics.
func (s *Server) protect(route string, next fasthttp.RequestHandler) fasthttp.RequestHandler {
	return s.authenticate(route, func(*fasthttp.RequestCtx) bool { return false }, next)
}

// eventVisibility is the events filter's predicate for the caller of ctx:
// only events about what it may read. Without authentication, nil.
func (s *Server) eventVisibility(ctx context.Context) func(store.Event) bool {
	if s.opts.Auth == nil {
		return nil
	}
	p := principal.Get(ctx)
	if p == nil {
		return func(store.Event) bool { return false }
	}
	return s.opts.Auth.EventVisibility(p)
}
