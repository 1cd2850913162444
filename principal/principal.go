// Package principal carries the authenticated caller of a request through
// its context, so that layers below the transport (the event outbox in the
// store, authorization, vending) can tell who made a change without every
// signature naming it.
//
// The authentication middleware (server, with auth.enabled) sets it; without
// authentication no request has one and From returns "".
package principal

import "context"

// key is the context key; a struct type, so no other package can collide
// with it, and usable as a fasthttp user value key.
type key struct{}

// Principal is an authenticated caller.
type Principal struct {
	// Name identifies the caller: a principal of the catalog, or the
	// mapped claim of an external (OIDC) token.
	Name string
	// Roles are the roles the credential itself carries (an OIDC token's
	// mapped role claim); the roles assigned in the catalog are looked up
	// by Name.
	Roles []string
	// Via says how the caller authenticated: "token" (a token of this
	// catalog), "api-key", or "oidc:<issuer>".
	Via string
}

// UserValueSetter is what *fasthttp.RequestCtx offers for request-scoped
// values: its Value method (the context.Context one) reads them back, so a
// principal set with Set is seen by From on the request's context.
type UserValueSetter interface {
	SetUserValue(key, value any)
}

// Set records name as the principal of the request behind ctx (a
// *fasthttp.RequestCtx in the server).
func Set(ctx UserValueSetter, name string) { SetPrincipal(ctx, &Principal{Name: name}) }

// SetPrincipal records p as the principal of the request behind ctx.
func SetPrincipal(ctx UserValueSetter, p *Principal) { ctx.SetUserValue(key{}, p) }

// With returns a context carrying name as the principal.
func With(ctx context.Context, name string) context.Context {
	return WithPrincipal(ctx, &Principal{Name: name})
}

// WithPrincipal returns a context carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, key{}, p)
}

// Get returns the principal recorded in ctx, nil when there is none.
func Get(ctx context.Context) *Principal {
	if ctx == nil {
		return nil
	}
	p, _ := ctx.Value(key{}).(*Principal)
	return p
}

// From returns the name of the principal recorded in ctx, "" when there is
// none.
func From(ctx context.Context) string {
	if p := Get(ctx); p != nil {
		return p.Name
	}
	return ""
}
