package server

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/bingsan/bingsan/authz"
	"github.com/bingsan/bingsan/console"
	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/principal"
	"github.com/bingsan/bingsan/store"
)

// The web console (package console) is mounted under /ui. Besides its
// files it needs answers the public APIs do not give: how to sign in
// (settings.json, public), who the caller is and whether it is an admin
// (session.json: finding out by calling an admin operation would write a
// denial to the audit log at every sign-in of everybody else), and which
// warehouses it can browse (warehouses.json). Both of the latter are
// authenticated like any API call.

// consoleSession is /ui/session.json.
type consoleSession struct {
	Name  string   `json:"name"`
	Via   string   `json:"via"`
	Roles []string `json:"roles"`
	// Admin: the caller holds admin on the catalog, so the audit log and
	// the management API's listings are open to it.
	Admin bool `json:"admin"`
}

// consoleWarehouse is one entry of /ui/warehouses.json.
type consoleWarehouse struct {
	Name    string `json:"name"`
	Default bool   `json:"default"`
	// Listable: the caller may list the warehouse's top-level namespaces.
	Listable bool `json:"listable"`
	// Entries are where a caller that may not list the warehouse can
	// start: the namespaces, tables, views and functions it holds read
	// grants on.
	Entries []consoleEntry `json:"entries"`
}

type consoleEntry struct {
	Type      string   `json:"type"` // namespace, table, view or function
	Namespace []string `json:"namespace"`
	Name      string   `json:"name,omitempty"`
}

// mountConsole serves /ui and everything below it ahead of the router
// (whose catch-all routes cannot also take "/ui/" itself) and passes every
// other request to next. Without Options.Console it is next.
func (s *Server) mountConsole(next fasthttp.RequestHandler) (fasthttp.RequestHandler, error) {
	if s.opts.Console == nil {
		return next, nil
	}
	h, err := console.New(*s.opts.Console)
	if err != nil {
		return nil, err
	}
	warehouses := s.protect("consoleWarehouses", s.consoleWarehouses)
	session := s.protect("consoleSession", s.consoleSession)
	return func(ctx *fasthttp.RequestCtx) {
		path := string(ctx.Path())
		name, below := strings.CutPrefix(path, console.Prefix+"/")
		if !below && path != console.Prefix {
			next(ctx)
			return
		}
		if !ctx.IsGet() && !ctx.IsHead() {
			writeError(ctx, s.log, errs.New(errs.MethodNotAllowed, "Method %s is not allowed for %s", ctx.Method(), path))
			return
		}
		switch {
		case !below:
			ctx.Redirect(console.Prefix+"/", fasthttp.StatusFound)
		case name == "settings.json":
			h.ServeSettings(ctx)
		case name == "warehouses.json":
			warehouses(ctx)
		case name == "session.json":
			session(ctx)
		default:
			h.ServeFile(ctx, name)
		}
	}, nil
}

// consoleWarehouses lists the warehouses the caller can browse, by name.
func (s *Server) consoleWarehouses(ctx *fasthttp.RequestCtx) {
	names := s.warehouseNames()
	out := make([]consoleWarehouse, 0, len(names))
	var policy *authz.Policy
	var caller *principal.Principal
	if s.opts.Auth != nil {
		policy, caller = s.opts.Auth.Policy(), principal.Get(ctx)
	}
	for _, name := range names {
		w := consoleWarehouse{Name: name, Default: name == s.opts.DefaultWarehouse, Entries: []consoleEntry{}}
		if policy == nil || policy.Allowed(caller, authz.Read, authz.Warehouse(name)) {
			w.Listable = true
			out = append(out, w)
			continue
		}
		for _, g := range policy.Grants(caller) {
			if g.On.Warehouse != name || !authz.Privilege(g.Privilege).Implies(authz.Read) {
				continue
			}
			switch g.On.Type {
			case store.SecurableNamespace, store.SecurableTable, store.SecurableView, store.SecurableFunction:
				e := consoleEntry{Type: string(g.On.Type), Namespace: g.On.Namespace, Name: g.On.Name}
				if !slices.ContainsFunc(w.Entries, func(x consoleEntry) bool {
					return x.Type == e.Type && x.Name == e.Name && slices.Equal(x.Namespace, e.Namespace)
				}) {
					w.Entries = append(w.Entries, e)
				}
			}
		}
		if len(w.Entries) > 0 {
			out = append(out, w)
		}
	}
	s.consoleJSON(ctx, out)
}

// consoleSession answers who the caller is (empty without authentication).
func (s *Server) consoleSession(ctx *fasthttp.RequestCtx) {
	out := consoleSession{Roles: []string{}}
	if a := s.opts.Auth; a != nil {
		if p := principal.Get(ctx); p != nil {
			out.Name, out.Via = p.Name, p.Via
			if roles := a.Roles(p); roles != nil {
				out.Roles = roles
			}
			out.Admin = a.Allowed(p, authz.Admin, authz.Catalog())
		}
	}
	s.consoleJSON(ctx, out)
}

func (s *Server) consoleJSON(ctx *fasthttp.RequestCtx, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		writeError(ctx, s.log, errs.Wrap(errs.Internal, err, "encoding a console answer"))
		return
	}
	ctx.Response.Header.Set(fasthttp.HeaderCacheControl, "no-store")
	ctx.SetContentType("application/json")
	ctx.SetBody(body)
}
