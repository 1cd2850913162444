// Package console is Bingsan's web console: the browser application built
// from web/ (TypeScript, bundled by esbuild into dist/ with `make console`;
// dist/ is committed so that a Go build needs no npm) and the handler that serves it under
// /ui from the binary. The console only talks to the catalog's public
// APIs (Iceberg REST, events, management) with the signed-in caller's
// credentials, so it can show nothing the caller could not read with curl.
package console

import (
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/json"
	"io/fs"
	"mime"
	"path"
	"strings"

	"github.com/valyala/fasthttp"
)

//go:embed dist
var dist embed.FS

// Prefix is where the console is served.
const Prefix = "/ui"

// OIDCProvider is an external issuer the console offers to sign in with
// (authorization-code flow with PKCE, as a public client).
type OIDCProvider struct {
	Issuer   string `json:"issuer"`
	ClientID string `json:"clientId"`
	Scopes   string `json:"scopes"`
}

// Settings is what the browser learns before signing in: whether it must,
// and how it can. It holds nothing secret.
type Settings struct {
	Auth bool           `json:"auth"`
	OIDC []OIDCProvider `json:"oidc"`
}

// asset is one embedded file, ready to serve.
type asset struct {
	body        []byte
	contentType string
	etag        string
}

// Handler serves the console's files and its settings.
type Handler struct {
	assets   map[string]asset // by path below dist, e.g. "app.js"
	settings []byte
}

// New loads the embedded files.
func New(s Settings) (*Handler, error) {
	if s.OIDC == nil {
		s.OIDC = []OIDCProvider{}
	}
	for i := range s.OIDC {
		if s.OIDC[i].Scopes == "" {
			s.OIDC[i].Scopes = "openid"
		}
	}
	settings, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	h := &Handler{assets: map[string]asset{}, settings: settings}
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		return nil, err
	}
	err = fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(sub, p)
		if err != nil {
			return err
		}
		ct := mime.TypeByExtension(path.Ext(p))
		if ct == "" {
			ct = "application/octet-stream"
		}
		sum := sha256.Sum256(body)
		h.assets[p] = asset{body: body, contentType: ct, etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`}
		return nil
	})
	return h, err
}

// securityHeaders keep the console's pages from being framed or sniffed,
// and keep an authorization code in the address bar from leaking through
// the Referer header. Scripts and styles come only from the catalog;
// connections may also go to an OIDC issuer's token endpoint, whose origin
// is only known from its discovery document.
func securityHeaders(ctx *fasthttp.RequestCtx) {
	h := &ctx.Response.Header
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"connect-src 'self' ws: wss: http: https:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
}

// ServeSettings answers GET /ui/settings.json.
func (h *Handler) ServeSettings(ctx *fasthttp.RequestCtx) {
	securityHeaders(ctx)
	ctx.Response.Header.Set(fasthttp.HeaderCacheControl, "no-store")
	ctx.SetContentType("application/json")
	if !ctx.IsHead() {
		ctx.SetBody(h.settings)
	}
}

// ServeFile answers GET and HEAD of /ui/<name>. A name without an
// extension is a route of the application (deep links, the OIDC redirect)
// and gets index.html; an unknown file is 404. Every answer is revalidated
// (ETag) so a new binary's files are picked up at once.
func (h *Handler) ServeFile(ctx *fasthttp.RequestCtx, name string) {
	securityHeaders(ctx)
	name = strings.TrimPrefix(name, "/")
	a, ok := h.assets[name]
	if !ok && (name == "" || path.Ext(name) == "") {
		a, ok = h.assets["index.html"]
	}
	if !ok {
		ctx.SetStatusCode(fasthttp.StatusNotFound)
		ctx.SetContentType("text/plain; charset=utf-8")
		ctx.SetBodyString("not found\n")
		return
	}
	ctx.Response.Header.Set(fasthttp.HeaderCacheControl, "no-cache")
	ctx.Response.Header.Set(fasthttp.HeaderETag, a.etag)
	ctx.SetContentType(a.contentType)
	if string(ctx.Request.Header.Peek(fasthttp.HeaderIfNoneMatch)) == a.etag {
		ctx.SetStatusCode(fasthttp.StatusNotModified)
		return
	}
	if ctx.IsHead() {
		ctx.Response.Header.SetContentLength(len(a.body))
		ctx.Response.SkipBody = true
		return
	}
	ctx.SetBody(a.body)
}
