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
	public := authz.Operations[operation].Public
	return func(ctx *fasthttp.RequestCtx) {
		ctx.SetUserValue(operationKey{}, operation)
		if !public {
			header := string(ctx.Request.Header.Peek(fasthttp.HeaderAuthorization))
			if header == "" && operation == "streamEvents" {
				header = streamCredentials(ctx)
			}
			p, err := a.Authenticate(ctx, header)
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

// isMutation says whether an Iceberg or extension operation changes the
// catalog.
func isMutation(operation string) func(*fasthttp.RequestCtx) bool {
	m := authz.Operations[operation].Mutation() || operation == "getToken"
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
		req, ok := authz.Operations[operation]
		if !ok {
			return nil, errs.New(errs.Internal, "operation %s has no authorization requirement", operation)
		}
		if req.Public {
			return f(ctx, request)
		}
		needs, err := s.needs(operation, request)
		if err != nil {
			return nil, err
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

// needs maps an operation's decoded request to what it needs.
func (s *Server) needs(operation string, request any) ([]need, error) {
	priv := authz.Operations[operation].Privilege
	wh := func(prefix string) string {
		if prefix == "" {
			return s.opts.DefaultWarehouse
		}
		return prefix
	}
	ns := func(prefix, namespace string) []need {
		return []need{{priv, authz.Namespace(wh(prefix), namespaceLevels(namespace))}}
	}
	table := func(prefix, namespace, name string) []need {
		return []need{{priv, authz.Table(pathIdent(wh(prefix), namespace, name))}}
	}
	view := func(prefix, namespace, name string) []need {
		return []need{{priv, authz.View(pathIdent(wh(prefix), namespace, name))}}
	}
	switch r := request.(type) {
	case iceberg.GetConfigRequestObject:
		return nil, nil
	case iceberg.ListNamespacesRequestObject:
		var parent []string
		if r.Params.Parent != nil {
			parent = namespaceLevels(*r.Params.Parent)
		}
		return []need{{priv, authz.Namespace(wh(r.Prefix), parent)}}, nil
	case iceberg.CreateNamespaceRequestObject:
		var levels []string
		if r.Body != nil {
			levels = r.Body.Namespace
		}
		return []need{{priv, authz.Parent(wh(r.Prefix), levels)}}, nil
	case iceberg.LoadNamespaceMetadataRequestObject:
		return ns(r.Prefix, r.NamespaceParam), nil
	case iceberg.NamespaceExistsRequestObject:
		return ns(r.Prefix, r.NamespaceParam), nil
	case iceberg.UpdatePropertiesRequestObject:
		return ns(r.Prefix, r.NamespaceParam), nil
	case iceberg.DropNamespaceRequestObject:
		return ns(r.Prefix, r.NamespaceParam), nil
	case iceberg.ListTablesRequestObject:
		return ns(r.Prefix, r.NamespaceParam), nil
	case iceberg.CreateTableRequestObject:
		return ns(r.Prefix, r.NamespaceParam), nil
	case iceberg.RegisterTableRequestObject:
		return ns(r.Prefix, r.NamespaceParam), nil
	case iceberg.ListViewsRequestObject:
		return ns(r.Prefix, r.NamespaceParam), nil
	case iceberg.CreateViewRequestObject:
		return ns(r.Prefix, r.NamespaceParam), nil
	case iceberg.RegisterViewRequestObject:
		return ns(r.Prefix, r.NamespaceParam), nil
	case iceberg.LoadTableRequestObject:
		return table(r.Prefix, r.NamespaceParam, r.Table), nil
	case iceberg.TableExistsRequestObject:
		return table(r.Prefix, r.NamespaceParam, r.Table), nil
	case iceberg.DropTableRequestObject:
		return table(r.Prefix, r.NamespaceParam, r.Table), nil
	case iceberg.LoadCredentialsRequestObject:
		return table(r.Prefix, r.NamespaceParam, r.Table), nil
	case iceberg.SignRequestRequestObject:
		return table(r.Prefix, r.NamespaceParam, r.Table), nil
	case iceberg.ReportMetricsRequestObject:
		return table(r.Prefix, r.NamespaceParam, r.Table), nil
	case iceberg.PlanTableScanRequestObject:
		return table(r.Prefix, r.NamespaceParam, r.Table), nil
	case iceberg.FetchPlanningResultRequestObject:
		return table(r.Prefix, r.NamespaceParam, r.Table), nil
	case iceberg.CancelPlanningRequestObject:
		return table(r.Prefix, r.NamespaceParam, r.Table), nil
	case iceberg.FetchScanTasksRequestObject:
		return table(r.Prefix, r.NamespaceParam, r.Table), nil
	case iceberg.UpdateTableRequestObject:
		id := pathIdent(wh(r.Prefix), r.NamespaceParam, r.Table)
		if r.Body == nil {
			return []need{{priv, authz.Table(id)}}, nil
		}
		return []need{commitNeed(id, *r.Body)}, nil
	case iceberg.CommitTransactionRequestObject:
		if r.Body == nil || len(r.Body.TableChanges) == 0 {
			return []need{{priv, authz.Warehouse(wh(r.Prefix))}}, nil
		}
		out := make([]need, 0, len(r.Body.TableChanges))
		for _, c := range r.Body.TableChanges {
			if c.Identifier == nil {
				return []need{{priv, authz.Warehouse(wh(r.Prefix))}}, nil
			}
			out = append(out, commitNeed(bodyIdent(wh(r.Prefix), *c.Identifier), c))
		}
		return out, nil
	case iceberg.RenameTableRequestObject:
		if r.Body == nil {
			return []need{{priv, authz.Warehouse(wh(r.Prefix))}}, nil
		}
		return []need{
			{authz.Drop, authz.Table(bodyIdent(wh(r.Prefix), r.Body.Source))},
			{authz.Create, authz.Namespace(wh(r.Prefix), r.Body.Destination.Namespace)},
		}, nil
	case iceberg.LoadViewRequestObject:
		return view(r.Prefix, r.NamespaceParam, r.View), nil
	case iceberg.ViewExistsRequestObject:
		return view(r.Prefix, r.NamespaceParam, r.View), nil
	case iceberg.ReplaceViewRequestObject:
		return view(r.Prefix, r.NamespaceParam, r.View), nil
	case iceberg.DropViewRequestObject:
		return view(r.Prefix, r.NamespaceParam, r.View), nil
	case iceberg.RenameViewRequestObject:
		if r.Body == nil {
			return []need{{priv, authz.Warehouse(wh(r.Prefix))}}, nil
		}
		return []need{
			{authz.Drop, authz.View(bodyIdent(wh(r.Prefix), r.Body.Source))},
			{authz.Create, authz.Namespace(wh(r.Prefix), r.Body.Destination.Namespace)},
		}, nil
	}
	return nil, errs.New(errs.Internal, "operation %s (%T) has no authorization mapping", operation, request)
}

// commitNeed is what a table commit needs: write on the table, or create
// on its namespace when it creates the table (a staged create's commit,
// with assert-create).
func commitNeed(id store.Ident, c iceberg.CommitTableRequest) need {
	for _, r := range c.Requirements {
		b, err := json.Marshal(r)
		if err != nil {
			continue
		}
		var t struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(b, &t) == nil && t.Type == "assert-create" {
			return need{authz.Create, authz.Namespace(id.Warehouse, id.Namespace)}
		}
	}
	return need{authz.Write, authz.Table(id)}
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
