package console_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"

	"github.com/bingsan/bingsan/auth"
	"github.com/bingsan/bingsan/console"
	"github.com/bingsan/bingsan/server/servertest"
)

// oidcIssuer is an OpenID provider on 127.0.0.1 with the authorization-code
// flow for public clients: /authorize approves at once and redirects back
// with a code; /token hands out a JWT only for the matching PKCE verifier.
type oidcIssuer struct {
	t        *testing.T
	srv      *httptest.Server
	key      *ecdsa.PrivateKey
	clientID string
	subject  string
	groups   []string

	mu        sync.Mutex
	codes     map[string]pendingCode
	exchanged int
	refused   []string
}

type pendingCode struct{ challenge, redirect string }

func newOIDCIssuer(t *testing.T, clientID, subject string, groups ...string) *oidcIssuer {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	is := &oidcIssuer{t: t, key: k, clientID: clientID, subject: subject, groups: groups, codes: map[string]pendingCode{}}
	mux := http.NewServeMux()
	cors := func(w http.ResponseWriter) { w.Header().Set("Access-Control-Allow-Origin", "*") }
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		cors(w)
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer": is.srv.URL, "authorization_endpoint": is.srv.URL + "/authorize", "token_endpoint": is.srv.URL + "/token",
			"jwks_uri": is.srv.URL + "/jwks", "code_challenge_methods_supported": []string{"S256"},
		})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &is.key.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"}}})
	})
	mux.HandleFunc("GET /authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("response_type") != "code" || q.Get("client_id") != is.clientID || q.Get("code_challenge_method") != "S256" ||
			q.Get("code_challenge") == "" || q.Get("state") == "" || q.Get("scope") == "" {
			is.refuse("authorize: " + r.URL.RawQuery)
			http.Error(w, "bad authorization request", 400)
			return
		}
		code := rand.Text()
		is.mu.Lock()
		is.codes[code] = pendingCode{challenge: q.Get("code_challenge"), redirect: q.Get("redirect_uri")}
		is.mu.Unlock()
		back, err := url.Parse(q.Get("redirect_uri"))
		if err != nil {
			http.Error(w, "bad redirect_uri", 400)
			return
		}
		back.RawQuery = url.Values{"code": {code}, "state": {q.Get("state")}}.Encode()
		http.Redirect(w, r, back.String(), http.StatusFound)
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		cors(w)
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		is.mu.Lock()
		p, ok := is.codes[r.PostForm.Get("code")]
		delete(is.codes, r.PostForm.Get("code")) // single use
		is.mu.Unlock()
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		if !ok || r.PostForm.Get("grant_type") != "authorization_code" || r.PostForm.Get("client_id") != is.clientID ||
			r.PostForm.Get("redirect_uri") != p.redirect || base64.RawURLEncoding.EncodeToString(sum[:]) != p.challenge {
			is.refuse("token: " + r.PostForm.Encode())
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(400)
			_, _ = w.Write([]byte(`{"error":"invalid_grant"}`))
			return
		}
		tok := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{
			"iss": is.srv.URL, "sub": is.subject, "aud": "bingsan", "groups": is.groups,
			"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(),
		})
		tok.Header["kid"] = "k1"
		s, err := tok.SignedString(is.key)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		is.mu.Lock()
		is.exchanged++
		is.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": s, "token_type": "Bearer", "expires_in": 3600})
	})
	is.srv = httptest.NewServer(mux)
	t.Cleanup(is.srv.Close)
	return is
}

func (is *oidcIssuer) refuse(what string) {
	is.mu.Lock()
	defer is.mu.Unlock()
	is.refused = append(is.refused, what)
}

// TestBrowserOIDC signs in through an external issuer with the
// authorization-code flow and PKCE, and comes back to the page it started
// from.
func TestBrowserOIDC(t *testing.T) {
	is := newOIDCIssuer(t, "bingsan-console", "alice", "analysts")
	srv := servertest.Start(t, servertest.SQLite, servertest.Config{
		Auth: &auth.Options{
			BootstrapClientID: adminID, BootstrapClientSecret: adminSecret,
			OIDC: []auth.OIDCIssuer{{Issuer: is.srv.URL, Audience: "bingsan", RolesClaim: "groups"}},
		},
		Console: &console.Settings{OIDC: []console.OIDCProvider{{Issuer: is.srv.URL, ClientID: "bingsan-console", Scopes: "openid profile"}}},
	})
	admin := catalogAPI{t: t, base: srv.URL, token: clientToken(t, srv.URL, adminID, adminSecret)}
	admin.call("POST", "/v1/namespaces", `{"namespace":["sales"]}`)
	admin.call("POST", "/management/v1/roles", `{"name":"analysts"}`)
	admin.call("POST", "/management/v1/grants", `{"role":"analysts","privilege":"read","securable":{"type":"warehouse","warehouse":"default"}}`)

	b := newBrowser(t, 1024, 768)
	b.run("sign in with the issuer",
		chromedp.Navigate(srv.URL+"/ui/#/w/default"),
		chromedp.WaitVisible("button.oidc", chromedp.ByQuery),
		click("button.oidc"),
		// Back from the issuer, on the page the sign-in started from.
		waitJS(`document.querySelector("#who")?.innerText.includes("alice")`),
		waitJS(`document.querySelector("#namespaces-list a")?.textContent === "sales"`),
		jsTrue(`location.hash === "#/w/default" && location.search === ""`),
		// The PKCE verifier is gone, nothing is in localStorage.
		jsTrue(`localStorage.length === 0 && sessionStorage.length === 0`),
	)
	b.shot("01-signed-in")
	is.mu.Lock()
	exchanged, refused := is.exchanged, is.refused
	is.mu.Unlock()
	if exchanged != 1 || len(refused) != 0 {
		t.Fatalf("the issuer exchanged %d codes and refused %q", exchanged, refused)
	}

	// Coming back with a state this tab did not send is refused.
	b.run("a forged redirect is refused",
		chromedp.Navigate(srv.URL+"/ui/?code=stolen&state=forged"),
		waitJS(`document.querySelector(".signin .error")?.textContent.includes("not started from this tab")`),
		jsTrue(`location.search === ""`),
	)
	b.shot("02-forged")
}
