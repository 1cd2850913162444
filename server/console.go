package server

import (
	"encoding/json"
	"slices"

	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"

	"github.com/bingsan/bingsan/authz"
	"github.com/bingsan/bingsan/console"
	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/principal"
	"github.com/bingsan/bingsan/store"
)

// The web console (package console) is mounted under /ui. Besides its
// files it needs two answers the public APIs do not give: how to sign in
// (settings.json, public) and which warehouses the caller can browse
// (warehouses.json, authenticated like any API call).

// consoleWarehouse is one entry of /ui/warehouses.json.
type consoleWarehouse struct {
	Name    string `json:"name"`
	Default bool   `json:"default"`
	// Listable: the caller may list the warehouse's top-level namespaces.
	Listable bool `json:"listable"`
	// Entries are where a caller that may not list the warehouse can
	// start: the namespaces, tables and views it holds read grants on.
	Entries []consoleEntry `json:"entries"`
}

type consoleEntry struct {
	Type      string   `json:"type"` // namespace, table or view
	Namespace []string `json:"namespace"`
	Name      string   `json:"name,omitempty"`
}

func (s *Server) registerConsole(r *router.Router) error {
	if s.opts.Console == nil {
		return nil
	}
	h, err := console.New(*s.opts.Console)
	if err != nil {
		return err
	}
	warehouses := s.protect("consoleWarehouses", s.consoleWarehouses)
	serve := func(ctx *fasthttp.RequestCtx) {
		name, _ := ctx.UserValue("path").(string)
		switch name {
		case "settings.json":
			h.ServeSettings(ctx)
		case "warehouses.json":
			warehouses(ctx)
		default:
			h.ServeFile(ctx, name)
		}
	}
	redirect := func(ctx *fasthttp.RequestCtx) {
		ctx.Redirect(console.Prefix+"/", fasthttp.StatusFound)
	}
	r.GET(console.Prefix, redirect)
	r.HEAD(console.Prefix, redirect)
	r.GET(console.Prefix+"/{path:*}", serve)
	r.HEAD(console.Prefix+"/{path:*}", serve)
	return nil
}

// consoleWarehouses lists the warehouses the caller can browse, by name.
func (s *Server) consoleWarehouses(ctx *fasthttp.RequestCtx) {
	names := make([]string, 0, len(s.opts.Warehouses))
	for name := range s.opts.Warehouses {
		names = append(names, name)
	}
	slices.Sort(names)
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
			case store.SecurableNamespace, store.SecurableTable, store.SecurableView:
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
	body, err := json.Marshal(out)
	if err != nil {
		writeError(ctx, s.log, errs.Wrap(errs.Internal, err, "encoding the warehouse list"))
		return
	}
	ctx.Response.Header.Set(fasthttp.HeaderCacheControl, "no-store")
	ctx.SetContentType("application/json")
	ctx.SetBody(body)
}
