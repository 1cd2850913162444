// Package principal carries the authenticated caller of a request through
// its context, so that layers below the transport (the event outbox in the
// store) can record who made a change without every signature naming it.
//
// Authentication middleware sets it; until the catalog authenticates
// callers, no request has one and From returns "".
package principal

import "context"

// key is the context key; a struct type, so no other package can collide
// with it, and usable as a fasthttp user value key.
type key struct{}

// UserValueSetter is what *fasthttp.RequestCtx offers for request-scoped
// values: its Value method (the context.Context one) reads them back, so a
// principal set with Set is seen by From on the request's context.
type UserValueSetter interface {
	SetUserValue(key, value any)
}

// Set records name as the principal of the request behind ctx (a
// *fasthttp.RequestCtx in the server).
func Set(ctx UserValueSetter, name string) { ctx.SetUserValue(key{}, name) }

// With returns a context carrying name as the principal.
func With(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, key{}, name)
}

// From returns the principal recorded in ctx, "" when there is none.
func From(ctx context.Context) string {
	if ctx == nil {
		return ""
	}
	name, _ := ctx.Value(key{}).(string)
	return name
}
