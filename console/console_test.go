package console

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

func serve(t *testing.T, h *Handler, method, name string, headers ...string) *fasthttp.RequestCtx {
	t.Helper()
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod(method)
	ctx.Request.SetRequestURI(Prefix + "/" + name)
	for i := 0; i+1 < len(headers); i += 2 {
		ctx.Request.Header.Set(headers[i], headers[i+1])
	}
	h.ServeFile(&ctx, name)
	return &ctx
}

func TestServeFile(t *testing.T) {
	t.Parallel()
	h, err := New(Settings{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, method, path string
		status             int
		contentType, body  string
	}{
		{"index", "GET", "", 200, "text/html; charset=utf-8", "<title>Bingsan console</title>"},
		{"index by name", "GET", "index.html", 200, "text/html; charset=utf-8", "/ui/app.js"},
		{"script", "GET", "app.js", 200, "text/javascript; charset=utf-8", "bingsan.bearer."},
		{"style", "GET", "app.css", 200, "text/css; charset=utf-8", ".schema-tree"},
		{"deep link gets the app", "GET", "oidc/callback", 200, "text/html; charset=utf-8", "<title>Bingsan console</title>"},
		{"unknown file", "GET", "nope.js", 404, "text/plain; charset=utf-8", "not found"},
		{"traversal", "GET", "../console.go", 404, "text/plain; charset=utf-8", "not found"},
		{"head", "HEAD", "app.js", 200, "text/javascript; charset=utf-8", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := serve(t, h, tc.method, tc.path)
			if got := ctx.Response.StatusCode(); got != tc.status {
				t.Fatalf("status %d, want %d", got, tc.status)
			}
			if got := string(ctx.Response.Header.ContentType()); got != tc.contentType {
				t.Errorf("content type %q, want %q", got, tc.contentType)
			}
			body := string(ctx.Response.Body())
			if tc.body == "" && body != "" || !strings.Contains(body, tc.body) {
				t.Errorf("body %.80q, want it to hold %q", body, tc.body)
			}
			csp := string(ctx.Response.Header.Peek("Content-Security-Policy"))
			if !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
				t.Errorf("Content-Security-Policy %q", csp)
			}
			if string(ctx.Response.Header.Peek("Referrer-Policy")) != "no-referrer" {
				t.Error("no Referrer-Policy: an authorization code in the address could leak")
			}
		})
	}

	// Revalidation: the same ETag gets 304 without a body.
	etag := string(serve(t, h, "GET", "app.js").Response.Header.Peek(fasthttp.HeaderETag))
	if etag == "" {
		t.Fatal("no ETag")
	}
	ctx := serve(t, h, "GET", "app.js", fasthttp.HeaderIfNoneMatch, etag)
	if ctx.Response.StatusCode() != 304 || len(ctx.Response.Body()) != 0 {
		t.Fatalf("revalidation: %d with %d bytes", ctx.Response.StatusCode(), len(ctx.Response.Body()))
	}
	if ctx := serve(t, h, "GET", "app.js", fasthttp.HeaderIfNoneMatch, `"other"`); ctx.Response.StatusCode() != 200 {
		t.Fatalf("stale ETag: %d", ctx.Response.StatusCode())
	}
}

func TestSettings(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		in   Settings
		want string
	}{
		{"auth off", Settings{}, `{"auth":false,"oidc":[]}`},
		{"default scopes", Settings{Auth: true, OIDC: []OIDCProvider{{Issuer: "https://idp.example", ClientID: "console"}}},
			`{"auth":true,"oidc":[{"issuer":"https://idp.example","clientId":"console","scopes":"openid"}]}`},
		{"scopes kept", Settings{Auth: true, OIDC: []OIDCProvider{{Issuer: "https://idp.example", ClientID: "c", Scopes: "openid groups"}}},
			`{"auth":true,"oidc":[{"issuer":"https://idp.example","clientId":"c","scopes":"openid groups"}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := New(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			var ctx fasthttp.RequestCtx
			ctx.Request.Header.SetMethod("GET")
			h.ServeSettings(&ctx)
			if got := string(ctx.Response.Body()); got != tc.want {
				t.Fatalf("settings %s, want %s", got, tc.want)
			}
			if !json.Valid(ctx.Response.Body()) || string(ctx.Response.Header.Peek(fasthttp.HeaderCacheControl)) != "no-store" {
				t.Fatalf("headers %s", ctx.Response.Header.String())
			}
		})
	}
}
