package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/principal"
)

// OIDCIssuer is an external identity provider whose tokens the catalog
// accepts as they are.
type OIDCIssuer struct {
	// Issuer is the iss claim, exactly; its discovery document is at
	// Issuer + "/.well-known/openid-configuration".
	Issuer string
	// Audience, when set, must be one of the token's aud values.
	Audience string
	// PrincipalClaim names the claim that becomes the principal's name
	// (default "sub"), prefixed with PrincipalPrefix.
	PrincipalClaim  string
	PrincipalPrefix string
	// RolesClaim names a claim (a list of strings, or one string of
	// space- or comma-separated values) whose values become roles;
	// "" for none. With RoleMappings set, only the mapped values count,
	// as the roles they map to.
	RolesClaim   string
	RoleMappings map[string]string
	// JWKSURL, when set, is used instead of the discovery document's
	// jwks_uri.
	JWKSURL string
}

// oidcAlgorithms are the signature algorithms accepted from issuers.
var oidcAlgorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// oidcVerifier checks the tokens of one issuer against its JWKS, which it
// caches: it is fetched on first use, again when a token names a key id
// the cache does not hold (the issuer rotated its keys), at most once per
// minRefresh, and when it is older than cacheTTL.
type oidcVerifier struct {
	cfg        OIDCIssuer
	client     *http.Client
	minRefresh time.Duration
	cacheTTL   time.Duration
	now        func() time.Time

	mu        sync.Mutex
	jwksURL   string
	keys      map[string]any // kid -> public key
	fetchedAt time.Time      // last successful fetch
	triedAt   time.Time      // last attempt
	fetches   int            // successful fetches (tests)
}

// key returns the public key kid names, fetching the JWKS when needed.
func (v *oidcVerifier) key(ctx context.Context, kid string) (any, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	now := v.now()
	k, known := v.keys[kid]
	stale := v.fetchedAt.IsZero() || now.Sub(v.fetchedAt) >= v.cacheTTL
	if known && !stale {
		return k, nil
	}
	if v.triedAt.IsZero() || now.Sub(v.triedAt) >= v.minRefresh {
		v.triedAt = now
		if err := v.fetch(ctx); err != nil {
			if !known {
				return nil, errs.Wrap(errs.NotAuthorized, err, "Cannot verify the token: the keys of issuer %s are not available", v.cfg.Issuer)
			}
			return k, nil // keep using a known key while the issuer is down
		}
		v.fetchedAt = v.now()
		k, known = v.keys[kid]
	}
	if !known {
		return nil, fmt.Errorf("issuer %s has no key %q", v.cfg.Issuer, kid)
	}
	return k, nil
}

// fetch reads the discovery document (once) and the JWKS.
func (v *oidcVerifier) fetch(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if v.jwksURL == "" {
		v.jwksURL = v.cfg.JWKSURL
	}
	if v.jwksURL == "" {
		var doc struct {
			Issuer  string `json:"issuer"`
			JWKSURI string `json:"jwks_uri"`
		}
		if err := v.getJSON(ctx, strings.TrimSuffix(v.cfg.Issuer, "/")+"/.well-known/openid-configuration", &doc); err != nil {
			return err
		}
		if doc.Issuer != v.cfg.Issuer {
			return fmt.Errorf("discovery document names issuer %q, want %q", doc.Issuer, v.cfg.Issuer)
		}
		if doc.JWKSURI == "" {
			return errors.New("discovery document has no jwks_uri")
		}
		v.jwksURL = doc.JWKSURI
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := v.getJSON(ctx, v.jwksURL, &set); err != nil {
		return err
	}
	keys := make(map[string]any, len(set.Keys))
	for _, raw := range set.Keys {
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(raw); err != nil || !k.IsPublic() || k.Use == "enc" {
			continue // keys of other kinds or uses are not for us
		}
		keys[k.KeyID] = k.Key
	}
	v.keys = keys
	v.fetches++
	return nil
}

func (v *oidcVerifier) getJSON(ctx context.Context, url string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := v.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(out)
}

// verify checks a token of this issuer and maps its claims to a principal.
func (v *oidcVerifier) verify(ctx context.Context, raw string) (*principal.Principal, error) {
	keyFunc := func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		return v.key(ctx, kid)
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(oidcAlgorithms), jwt.WithIssuer(v.cfg.Issuer), jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(v.now), jwt.WithLeeway(30 * time.Second),
	}
	if v.cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(v.cfg.Audience))
	}
	claims := jwt.MapClaims{}
	if _, err := jwt.ParseWithClaims(raw, claims, keyFunc, opts...); err != nil {
		var de *errs.Error
		if errors.As(err, &de) {
			return nil, de
		}
		return nil, tokenError(err)
	}
	claim := v.cfg.PrincipalClaim
	if claim == "" {
		claim = "sub"
	}
	name, _ := claims[claim].(string)
	if name == "" {
		return nil, errs.New(errs.NotAuthorized, "Invalid token: claim %s names no principal", claim)
	}
	return &principal.Principal{Name: v.cfg.PrincipalPrefix + name, Roles: v.roles(claims), Via: "oidc:" + v.cfg.Issuer}, nil
}

// roles maps the roles claim.
func (v *oidcVerifier) roles(claims jwt.MapClaims) []string {
	if v.cfg.RolesClaim == "" {
		return nil
	}
	var values []string
	switch c := claims[v.cfg.RolesClaim].(type) {
	case string:
		values = strings.FieldsFunc(c, func(r rune) bool { return r == ' ' || r == ',' })
	case []any:
		for _, x := range c {
			if s, ok := x.(string); ok {
				values = append(values, s)
			}
		}
	}
	var out []string
	for _, val := range values {
		role := val
		if len(v.cfg.RoleMappings) > 0 {
			var ok bool
			if role, ok = v.cfg.RoleMappings[val]; !ok {
				continue
			}
		}
		if role != "" && !slices.Contains(out, role) {
			out = append(out, role)
		}
	}
	slices.Sort(out)
	return out
}
