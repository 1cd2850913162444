package server

import (
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/url"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/bingsan/bingsan/auth"
	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/gen/iceberg"
	"github.com/bingsan/bingsan/internal/reqctx"
)

// The OAuth2 token endpoint (getToken, POST /v1/oauth/tokens, a form body):
// the client credentials grant (client_id and client_secret in the form or
// as HTTP Basic credentials) issues a token of the catalog; the token
// exchange grant issues a fresh one for a valid token of the catalog
// (clients refresh that way). Errors are OAuth errors, as the spec says.

// tokenPath is the route of getToken.
const tokenPath = "/v1/oauth/tokens"

const accessTokenType = "urn:ietf:params:oauth:token-type:access_token"

func oauthError(status int, code iceberg.OAuthErrorError, desc string) iceberg.GetTokenResponseObject {
	body := iceberg.OAuthError{Error: code, ErrorDescription: &desc}
	if status == fasthttp.StatusUnauthorized {
		return iceberg.GetToken401JSONResponse(body)
	}
	return iceberg.GetToken400JSONResponse{OAuthErrorResponseJSONResponse: iceberg.OAuthErrorResponseJSONResponse(body)}
}

func (a *api) GetToken(ctx context.Context, req iceberg.GetTokenRequestObject) (iceberg.GetTokenResponseObject, error) {
	svc := a.srv.opts.Auth
	if svc == nil {
		// Without authentication there is nothing to log in to; the
		// operation is not advertised.
		return nil, notImplementedError("getToken")
	}
	form := req.Form
	clientID, secret := form.Get("client_id"), form.Get("client_secret")
	if rc, ok := reqctx.Request(ctx); ok {
		if id, sec, ok := basicAuth(string(rc.Request.Header.Peek(fasthttp.HeaderAuthorization))); ok {
			clientID, secret = id, sec
		}
	}
	setAuditPrincipal(ctx, clientID)
	scope := form.Get("scope")
	var (
		tok  auth.IssuedToken
		name string
		err  error
	)
	switch form.Get("grant_type") {
	case string(iceberg.ClientCredentials):
		if clientID == "" || secret == "" {
			return oauthError(fasthttp.StatusBadRequest, iceberg.InvalidRequest, "client_id and client_secret are required"), nil
		}
		tok, name, err = svc.IssueToken(ctx, clientID, secret, scope)
	case string(iceberg.UrnIetfParamsOauthGrantTypeTokenExchange):
		subject := form.Get("subject_token")
		if subject == "" {
			return oauthError(fasthttp.StatusBadRequest, iceberg.InvalidRequest, "subject_token is required"), nil
		}
		tok, name, err = svc.ExchangeToken(ctx, subject, scope)
	case "":
		return oauthError(fasthttp.StatusBadRequest, iceberg.InvalidRequest, "grant_type is required"), nil
	default:
		return oauthError(fasthttp.StatusBadRequest, iceberg.UnsupportedGrantType,
			"Supported grant types: client_credentials, urn:ietf:params:oauth:grant-type:token-exchange"), nil
	}
	if name != "" {
		setAuditPrincipal(ctx, name)
	}
	switch {
	case errors.Is(err, auth.ErrInvalidClient):
		return oauthError(fasthttp.StatusUnauthorized, iceberg.InvalidClient, "Invalid client credentials"), nil
	case errors.Is(err, auth.ErrInvalidGrant):
		return oauthError(fasthttp.StatusBadRequest, iceberg.InvalidGrant, "The subject token is not a valid token of this catalog"), nil
	case err != nil:
		return nil, err
	}
	noStore(ctx)
	expires := int(tok.ExpiresIn.Seconds())
	issued := iceberg.TokenType(accessTokenType)
	out := iceberg.OAuthTokenResponse{AccessToken: tok.AccessToken, TokenType: iceberg.Bearer, ExpiresIn: &expires, IssuedTokenType: &issued}
	if scope != "" {
		out.Scope = &scope
	}
	return iceberg.GetToken200JSONResponse{OAuthTokenResponseJSONResponse: iceberg.OAuthTokenResponseJSONResponse(out)}, nil
}

func setAuditPrincipal(ctx context.Context, name string) {
	if rc, ok := reqctx.Request(ctx); ok {
		rc.SetUserValue(auditPrincipalKey{}, name)
	}
}

// basicAuth reads HTTP Basic credentials (client_secret_basic: both parts
// form-encoded).
func basicAuth(header string) (string, string, bool) {
	scheme, cred, _ := strings.Cut(header, " ")
	if !strings.EqualFold(scheme, "Basic") {
		return "", "", false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
	if err != nil {
		return "", "", false
	}
	id, secret, ok := strings.Cut(string(raw), ":")
	if !ok {
		return "", "", false
	}
	if d, err := url.QueryUnescape(id); err == nil {
		id = d
	}
	if d, err := url.QueryUnescape(secret); err == nil {
		secret = d
	}
	return id, secret, true
}

// writeOAuthError answers the token endpoint's binding errors (wrong
// content type, malformed form) and failures as OAuth errors.
func writeOAuthError(ctx *fasthttp.RequestCtx, log *slog.Logger, err error) {
	de := classify(err)
	status, code := fasthttp.StatusBadRequest, iceberg.InvalidRequest
	switch de.Kind {
	case errs.BadRequest, errs.UnsupportedMediaType:
	case errs.ServiceUnavailable:
		status, code = fasthttp.StatusServiceUnavailable, "temporarily_unavailable"
	default:
		status, code = fasthttp.StatusInternalServerError, "server_error"
		log.Error("request failed", "method", string(ctx.Method()), "path", string(ctx.Path()), "status", status, "error", de.Error())
	}
	msg := de.Message
	if status == fasthttp.StatusInternalServerError {
		msg = "Internal server error"
	}
	ctx.Response.Reset()
	ctx.Response.Header.SetContentType("application/json")
	ctx.SetStatusCode(status)
	if err := encodeJSON(ctx, iceberg.OAuthError{Error: code, ErrorDescription: &msg}); err != nil {
		log.Error("writing error response", "error", err)
	}
}
