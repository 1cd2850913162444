package auth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"

	"github.com/bingsan/bingsan/auth"
	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/store/migrate"
	"github.com/bingsan/bingsan/store/sqlite"
)

// clock is a settable clock for token lifetimes.
type clock struct{ offset atomic.Int64 }

func (c *clock) now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) advance(d time.Duration) { c.offset.Add(int64(d)) }

func openStore(t *testing.T) store.AuthStore {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "catalog.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx, migrate.Up); err != nil {
		t.Fatal(err)
	}
	return st
}

func newService(t *testing.T, st store.AuthStore, c *clock, opts auth.Options) *auth.Service {
	t.Helper()
	if opts.BootstrapClientID == "" {
		opts.BootstrapClientID, opts.BootstrapClientSecret = "root", "root-secret"
	}
	if c != nil {
		opts.Now = c.now
	}
	s, err := auth.New(context.Background(), st, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func wantKind(t *testing.T, err error, kind errs.Kind, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want kind %d (%s)", kind, msg)
	}
	if errs.KindOf(err) != kind {
		t.Fatalf("error %v: kind %d, want %d", err, errs.KindOf(err), kind)
	}
	if msg != "" && !strings.Contains(err.Error(), msg) {
		t.Fatalf("error %q does not mention %q", err, msg)
	}
}

func bearer(tok string) string { return "Bearer " + tok }

func TestSecretHashing(t *testing.T) {
	t.Parallel()
	h, err := auth.HashSecret("s3cret")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$") || strings.Contains(h, "s3cret") {
		t.Fatalf("hash %q", h)
	}
	h2, _ := auth.HashSecret("s3cret")
	if h == h2 {
		t.Fatal("two hashes of one secret are equal (no salt)")
	}
	if !auth.VerifySecret(h, "s3cret") || auth.VerifySecret(h, "s3cret!") || auth.VerifySecret("garbage", "s3cret") ||
		auth.VerifySecret(strings.Replace(h, "argon2id", "argon2i", 1), "s3cret") {
		t.Fatal("VerifySecret is wrong")
	}
}

func TestClientCredentialsTokens(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := &clock{}
	s := newService(t, openStore(t), c, auth.Options{TokenTTL: time.Hour})

	if _, _, err := s.IssueToken(ctx, "root", "wrong", ""); err != auth.ErrInvalidClient {
		t.Fatalf("wrong secret: %v", err)
	}
	if _, _, err := s.IssueToken(ctx, "nobody", "root-secret", ""); err != auth.ErrInvalidClient {
		t.Fatalf("unknown client: %v", err)
	}
	tok, name, err := s.IssueToken(ctx, "root", "root-secret", "catalog")
	if err != nil || name != "root" || tok.ExpiresIn != time.Hour {
		t.Fatalf("IssueToken: %+v %q %v", tok, name, err)
	}
	p, err := s.Authenticate(ctx, bearer(tok.AccessToken))
	if err != nil || p.Name != "root" || p.Via != "token" {
		t.Fatalf("Authenticate: %+v %v", p, err)
	}
	if roles := s.Roles(p); len(roles) != 1 || roles[0] != auth.AdminRole {
		t.Fatalf("bootstrap roles: %v", roles)
	}

	// Tampered: a changed claim, a changed signature, another alg.
	parts := strings.Split(tok.AccessToken, ".")
	claims, _ := base64.RawURLEncoding.DecodeString(parts[1])
	forged := strings.Replace(string(claims), `"sub":"root"`, `"sub":"rooo"`, 1)
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(forged)) + "." + parts[2]
	_, err = s.Authenticate(ctx, bearer(tampered))
	wantKind(t, err, errs.NotAuthorized, "signature")
	sig := []byte(parts[2])
	sig[3] ^= 1
	_, err = s.Authenticate(ctx, bearer(parts[0]+"."+parts[1]+"."+string(sig)))
	wantKind(t, err, errs.NotAuthorized, "")
	none := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"iss": auth.Issuer, "sub": "root", "aud": auth.Issuer, "exp": c.now().Add(time.Hour).Unix()})
	unsigned, _ := none.SignedString(jwt.UnsafeAllowNoneSignatureType)
	_, err = s.Authenticate(ctx, bearer(unsigned))
	wantKind(t, err, errs.NotAuthorized, "")
	for _, h := range []string{"", "Basic cm9vdDpyb290", "Bearer", "Bearer not-a-jwt", "Bearer a.b.c"} {
		_, err = s.Authenticate(ctx, h)
		wantKind(t, err, errs.NotAuthorized, "")
	}

	// A token of another catalog (another key) is refused.
	other := newService(t, openStore(t), c, auth.Options{})
	foreign, _, err := other.IssueToken(ctx, "root", "root-secret", "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Authenticate(ctx, bearer(foreign.AccessToken))
	wantKind(t, err, errs.NotAuthorized, "unknown signing key")

	// Expired.
	c.advance(time.Hour + 10*time.Second)
	_, err = s.Authenticate(ctx, bearer(tok.AccessToken))
	wantKind(t, err, errs.NotAuthorized, "expired")

	// Exchange refreshes a valid token; an expired one is refused.
	if _, _, err := s.ExchangeToken(ctx, tok.AccessToken, ""); err != auth.ErrInvalidGrant {
		t.Fatalf("exchange of an expired token: %v", err)
	}
	fresh, _, err := s.IssueToken(ctx, "root", "root-secret", "")
	if err != nil {
		t.Fatal(err)
	}
	ex, name, err := s.ExchangeToken(ctx, fresh.AccessToken, "")
	if err != nil || name != "root" {
		t.Fatalf("exchange: %v", err)
	}
	if _, err := s.Authenticate(ctx, bearer(ex.AccessToken)); err != nil {
		t.Fatal(err)
	}
}

func TestDisabledAndDeletedPrincipals(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newService(t, openStore(t), nil, auth.Options{})
	p, creds, err := s.CreatePrincipal(ctx, "svc", true)
	if err != nil || creds == nil || p.ClientID != creds.ClientID {
		t.Fatalf("CreatePrincipal: %+v %+v %v", p, creds, err)
	}
	tok, _, err := s.IssueToken(ctx, creds.ClientID, creds.ClientSecret, "")
	if err != nil {
		t.Fatal(err)
	}
	noErr := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	noErr(s.SetPrincipalDisabled(ctx, "svc", true))
	_, err = s.Authenticate(ctx, bearer(tok.AccessToken))
	wantKind(t, err, errs.NotAuthorized, "disabled")
	if _, _, err := s.IssueToken(ctx, creds.ClientID, creds.ClientSecret, ""); err != auth.ErrInvalidClient {
		t.Fatalf("disabled principal got a token: %v", err)
	}
	noErr(s.SetPrincipalDisabled(ctx, "svc", false))
	if _, err := s.Authenticate(ctx, bearer(tok.AccessToken)); err != nil {
		t.Fatal(err)
	}

	// New credentials: the old secret stops working, tokens do not.
	next, err := s.RotateCredentials(ctx, "svc")
	if err != nil || next.ClientID != creds.ClientID || next.ClientSecret == creds.ClientSecret {
		t.Fatalf("RotateCredentials: %+v %v", next, err)
	}
	if _, _, err := s.IssueToken(ctx, creds.ClientID, creds.ClientSecret, ""); err != auth.ErrInvalidClient {
		t.Fatalf("old secret: %v", err)
	}
	if _, _, err := s.IssueToken(ctx, next.ClientID, next.ClientSecret, ""); err != nil {
		t.Fatalf("new secret: %v", err)
	}

	noErr(s.DeletePrincipal(ctx, "svc"))
	_, err = s.Authenticate(ctx, bearer(tok.AccessToken))
	wantKind(t, err, errs.NotAuthorized, "does not exist")
}

func TestSigningKeyRotation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := openStore(t)
	c := &clock{}
	// Two nodes on one database; the second seals nothing it did not make.
	a := newService(t, st, c, auth.Options{KeyEncryptionSecret: "k3y"})
	b := newService(t, st, c, auth.Options{KeyEncryptionSecret: "k3y"})

	state, err := st.LoadAuthState(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(state.SigningKeys) != 1 {
		t.Fatalf("%d signing keys after two starts, want 1", len(state.SigningKeys))
	}
	if !strings.HasPrefix(string(state.SigningKeys[0].PrivateKey), "enc1") {
		t.Fatal("the private key is stored unsealed")
	}

	old, _, err := a.IssueToken(ctx, "root", "root-secret", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Authenticate(ctx, bearer(old.AccessToken)); err != nil {
		t.Fatalf("node b refuses node a's token: %v", err)
	}

	// Rotate on a: b learns the new key when it first sees it.
	k, err := a.RotateSigningKey(ctx, false)
	if err != nil || k.KID == "" || k.PrivateKey != nil {
		t.Fatalf("rotate: %+v %v", k, err)
	}
	tok, _, err := a.IssueToken(ctx, "root", "root-secret", "")
	if err != nil {
		t.Fatal(err)
	}
	if kid := kidOf(t, tok.AccessToken); kid != k.KID {
		t.Fatalf("signed with %s, want the new key %s", kid, k.KID)
	}
	for _, s := range []*auth.Service{a, b} {
		for _, tk := range []string{old.AccessToken, tok.AccessToken} {
			if _, err := s.Authenticate(ctx, bearer(tk)); err != nil {
				t.Fatalf("after rotation: %v", err)
			}
		}
	}
	keys, err := a.SigningKeys(ctx)
	if err != nil || len(keys) != 2 || keys[0].RetiredAt.IsZero() || keys[0].ExpiresAt.IsZero() || !keys[1].RetiredAt.IsZero() {
		t.Fatalf("keys after rotation: %+v %v", keys, err)
	}

	// The retired key verifies only until its tokens have expired.
	c.advance(time.Hour + 10*time.Second)
	late, _, err := a.IssueToken(ctx, "root", "root-secret", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Authenticate(ctx, bearer(late.AccessToken)); err != nil {
		t.Fatal(err)
	}

	// Revoking the previous keys refuses every earlier token at once on
	// the node that did it (the others within their refresh interval).
	if _, err := b.RotateSigningKey(ctx, true); err != nil {
		t.Fatal(err)
	}
	_, err = b.Authenticate(ctx, bearer(late.AccessToken))
	wantKind(t, err, errs.NotAuthorized, "expired")
	newest, _, err := b.IssueToken(ctx, "root", "root-secret", "")
	if err != nil {
		t.Fatal(err)
	}
	// Node a learns the new key (an unknown kid reloads), and with it the
	// revocation.
	if _, err := a.Authenticate(ctx, bearer(newest.AccessToken)); err != nil {
		t.Fatal(err)
	}
	_, err = a.Authenticate(ctx, bearer(late.AccessToken))
	wantKind(t, err, errs.NotAuthorized, "expired")

	// A node with another encryption secret cannot sign with the sealed
	// key, so it makes its own; everybody still verifies everything.
	d := newService(t, st, c, auth.Options{KeyEncryptionSecret: "other"})
	dt, _, err := d.IssueToken(ctx, "root", "root-secret", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(ctx, bearer(dt.AccessToken)); err != nil {
		t.Fatal(err)
	}
}

func kidOf(t *testing.T, tok string) string {
	t.Helper()
	p, _, err := jwt.NewParser().ParseUnverified(tok, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	kid, _ := p.Header["kid"].(string)
	return kid
}

func TestAPIKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := openStore(t)
	c := &clock{}
	s := newService(t, st, c, auth.Options{})
	other := newService(t, st, c, auth.Options{RefreshInterval: time.Hour}) // a node that has not polled

	key, k, err := s.CreateAPIKey(ctx, "root", "ci", c.now().Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(key, k.Prefix+"_") || !strings.HasPrefix(k.Prefix, "bsk_") || len(k.Prefix) != 14 || k.Hash != "" {
		t.Fatalf("key %q, record %+v", key, k)
	}
	stored, err := st.GetAPIKey(ctx, k.Prefix)
	if err != nil || stored.Hash == "" || strings.Contains(stored.Hash, key[15:]) {
		t.Fatalf("stored key: %+v %v", stored, err)
	}
	for _, node := range []*auth.Service{s, other} {
		p, err := node.Authenticate(ctx, bearer(key))
		if err != nil || p.Name != "root" || p.Via != "api-key" {
			t.Fatalf("Authenticate: %+v %v", p, err)
		}
	}
	// The right prefix with the wrong rest, an unknown prefix, a mangled key.
	for _, bad := range []string{k.Prefix + "_" + strings.Repeat("A", 43), "bsk_aaaaaaaaaa_" + strings.Repeat("A", 43), "bsk_short", k.Prefix + "x" + key[15:]} {
		_, err := s.Authenticate(ctx, bearer(bad))
		wantKind(t, err, errs.NotAuthorized, "")
	}

	// Rotation with a grace period: both work until it ends.
	next, nk, err := s.RotateAPIKey(ctx, k.Prefix, 10*time.Minute)
	if err != nil || nk.Prefix == k.Prefix || nk.Principal != "root" || nk.Name != "ci" {
		t.Fatalf("rotate: %+v %v", nk, err)
	}
	if life := nk.ExpiresAt.Sub(nk.CreatedAt); life < 2*time.Hour-time.Second || life > 2*time.Hour {
		t.Fatalf("the rotated key lives %v, want the old key's 2h", nk.ExpiresAt.Sub(nk.CreatedAt))
	}
	for _, kk := range []string{key, next} {
		if _, err := s.Authenticate(ctx, bearer(kk)); err != nil {
			t.Fatalf("within the grace period: %v", err)
		}
	}
	c.advance(11 * time.Minute)
	_, err = s.Authenticate(ctx, bearer(key))
	wantKind(t, err, errs.NotAuthorized, "expired")
	if _, err := s.Authenticate(ctx, bearer(next)); err != nil {
		t.Fatalf("the new key after the grace period: %v", err)
	}

	// Expiry of the new key itself.
	c.advance(2 * time.Hour)
	_, err = s.Authenticate(ctx, bearer(next))
	wantKind(t, err, errs.NotAuthorized, "expired")

	// Revocation.
	forever, fk, err := s.CreateAPIKey(ctx, "root", "", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, bearer(forever)); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteAPIKey(ctx, fk.Prefix); err != nil {
		t.Fatal(err)
	}
	_, err = s.Authenticate(ctx, bearer(forever))
	wantKind(t, err, errs.NotAuthorized, "")
	if _, _, err := s.CreateAPIKey(ctx, "nobody", "", time.Time{}); !errs.Is(err, errs.NotFound) {
		t.Fatalf("key of a missing principal: %v", err)
	}
}

// issuer is an OIDC provider on 127.0.0.1: a discovery document and a JWKS
// holding the current keys, which it can rotate.
type issuer struct {
	srv *httptest.Server

	mu   sync.Mutex
	keys map[string]*ecdsa.PrivateKey
	cur  string
	jwks atomic.Int64 // JWKS requests served
}

func newIssuer(t *testing.T) *issuer {
	t.Helper()
	is := &issuer{keys: map[string]*ecdsa.PrivateKey{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": is.srv.URL, "jwks_uri": is.srv.URL + "/jwks"})
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, r *http.Request) {
		is.jwks.Add(1)
		is.mu.Lock()
		defer is.mu.Unlock()
		set := jose.JSONWebKeySet{}
		for kid, k := range is.keys {
			set.Keys = append(set.Keys, jose.JSONWebKey{Key: &k.PublicKey, KeyID: kid, Algorithm: "ES256", Use: "sig"})
		}
		_ = json.NewEncoder(w).Encode(set)
	})
	is.srv = httptest.NewServer(mux) // listens on 127.0.0.1
	t.Cleanup(is.srv.Close)
	is.rotate(t, true)
	return is
}

// rotate adds a new current key; with drop the others are removed.
func (is *issuer) rotate(t *testing.T, drop bool) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	is.mu.Lock()
	defer is.mu.Unlock()
	if drop {
		is.keys = map[string]*ecdsa.PrivateKey{}
	}
	is.cur = "k" + base64.RawURLEncoding.EncodeToString([]byte{byte(len(is.keys)), byte(time.Now().UnixNano())})
	is.keys[is.cur] = k
	return is.cur
}

func (is *issuer) token(t *testing.T, claims jwt.MapClaims) string {
	t.Helper()
	is.mu.Lock()
	kid, key := is.cur, is.keys[is.cur]
	is.mu.Unlock()
	base := jwt.MapClaims{"iss": is.srv.URL, "sub": "alice", "aud": "bingsan", "exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix()}
	for k, v := range claims {
		if v == nil {
			delete(base, k)
		} else {
			base[k] = v
		}
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, base)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestOIDC(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	is := newIssuer(t)
	c := &clock{}
	s := newService(t, openStore(t), c, auth.Options{
		OIDC: []auth.OIDCIssuer{{
			Issuer: is.srv.URL, Audience: "bingsan", PrincipalPrefix: "oidc:", RolesClaim: "groups",
			RoleMappings: map[string]string{"data-eng": "writers", "bi": "analysts"},
		}},
		JWKSMinRefresh: 10 * time.Second,
	})

	p, err := s.Authenticate(ctx, bearer(is.token(t, jwt.MapClaims{"groups": []string{"bi", "unmapped", "data-eng"}})))
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "oidc:alice" || p.Via != "oidc:"+is.srv.URL || strings.Join(p.Roles, ",") != "analysts,writers" {
		t.Fatalf("principal %+v", p)
	}
	if n := is.jwks.Load(); n != 1 {
		t.Fatalf("%d JWKS fetches, want 1", n)
	}
	// Cached: no further fetch.
	if _, err := s.Authenticate(ctx, bearer(is.token(t, nil))); err != nil {
		t.Fatal(err)
	}
	if n := is.jwks.Load(); n != 1 {
		t.Fatalf("%d JWKS fetches for a known key, want 1", n)
	}

	// The issuer rotates: a token with the new, unknown kid makes the
	// verifier fetch the JWKS again (once the minimum interval is over).
	c.advance(11 * time.Second)
	is.rotate(t, true)
	if _, err := s.Authenticate(ctx, bearer(is.token(t, nil))); err != nil {
		t.Fatalf("token with the rotated key: %v", err)
	}
	if n := is.jwks.Load(); n != 2 {
		t.Fatalf("%d JWKS fetches after rotation, want 2", n)
	}
	// Within the minimum interval an unknown kid does not fetch again.
	is.rotate(t, true)
	_, err = s.Authenticate(ctx, bearer(is.token(t, nil)))
	wantKind(t, err, errs.NotAuthorized, "")
	if n := is.jwks.Load(); n != 2 {
		t.Fatalf("%d JWKS fetches, want 2 (rate limited)", n)
	}
	c.advance(11 * time.Second)
	if _, err := s.Authenticate(ctx, bearer(is.token(t, nil))); err != nil {
		t.Fatalf("after the interval: %v", err)
	}

	// Refused: wrong audience, expired, another issuer, a tampered token,
	// no subject.
	for name, tok := range map[string]string{
		"audience": is.token(t, jwt.MapClaims{"aud": "someone-else"}),
		"expired":  is.token(t, jwt.MapClaims{"exp": time.Now().Add(-time.Hour).Unix()}),
		"issuer":   is.token(t, jwt.MapClaims{"iss": "https://evil.example.com"}),
		"no sub":   is.token(t, jwt.MapClaims{"sub": nil}),
		"tampered": func() string {
			tk := is.token(t, nil)
			parts := strings.Split(tk, ".")
			claims, _ := base64.RawURLEncoding.DecodeString(parts[1])
			parts[1] = base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(claims), "alice", "admin", 1)))
			return strings.Join(parts, ".")
		}(),
	} {
		if _, err := s.Authenticate(ctx, bearer(tok)); !errs.Is(err, errs.NotAuthorized) {
			t.Errorf("%s: %v, want NotAuthorized", name, err)
		}
	}

	// A known principal of that name that is disabled is refused.
	if _, _, err := s.CreatePrincipal(ctx, "oidc:alice", false); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPrincipalDisabled(ctx, "oidc:alice", true); err != nil {
		t.Fatal(err)
	}
	_, err = s.Authenticate(ctx, bearer(is.token(t, nil)))
	wantKind(t, err, errs.NotAuthorized, "disabled")
}
