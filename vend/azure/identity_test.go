package azure

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// A service principal's secret is exchanged at the authority's tenant
// token endpoint; a refusal keeps Azure AD's error code and the first line
// of its description.
func TestClientSecret(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		f := r.PostForm
		if r.URL.Path != "/tenant/oauth2/v2.0/token" || f.Get("grant_type") != "client_credentials" || f.Get("scope") != StorageScope {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if f.Get("client_secret") != "s" {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.\r\nTrace ID: x"}`))
			return
		}
		_, _ = w.Write([]byte(`{"token_type":"Bearer","expires_in":3599,"access_token":"tok"}`))
	}))
	defer srv.Close()
	t.Setenv("AZURE_AUTHORITY_HOST", srv.URL)
	tok, err := ClientSecret("tenant", "client", "s", srv.Client()).Token(context.Background(), StorageScope)
	if err != nil || tok.Value != "tok" || time.Until(tok.Expiry) < 59*time.Minute {
		t.Fatalf("Token = %+v, %v", tok, err)
	}
	_, err = ClientSecret("tenant", "client", "wrong", srv.Client()).Token(context.Background(), StorageScope)
	var oe *OAuthError
	if !errors.As(err, &oe) || oe.Code != "invalid_client" || err.Error() != "401 invalid_client: AADSTS7000215: Invalid client secret provided." {
		t.Fatalf("refusal: %v", err)
	}
}

// The default chain keeps the first credential that gives a token and
// names every failure when none does.
func TestChain(t *testing.T) {
	t.Parallel()
	fail := func(msg string) TokenSource {
		return TokenFunc(func(context.Context, string) (Token, error) { return Token{}, errors.New(msg) })
	}
	calls := 0
	ok := TokenFunc(func(context.Context, string) (Token, error) { calls++; return Token{Value: "t"}, nil })
	c := &chainSource{chain: []TokenSource{fail("first"), ok}}
	for range 2 {
		if tok, err := c.Token(context.Background(), StorageScope); err != nil || tok.Value != "t" {
			t.Fatalf("Token = %+v, %v", tok, err)
		}
	}
	if c.found == nil || calls != 2 {
		t.Errorf("found %v after %d calls", c.found, calls)
	}
	none := &chainSource{chain: []TokenSource{fail("one\nmore"), fail("two")}}
	if _, err := none.Token(context.Background(), StorageScope); err == nil || !strings.Contains(err.Error(), "one; two") {
		t.Errorf("no credential: %v", err)
	}
}

func TestJSONInt(t *testing.T) {
	t.Parallel()
	for raw, want := range map[string]int64{`3599`: 3599, `"1700000000"`: 1700000000, ``: 0, `null`: 0, `"x"`: 0} {
		if got := jsonInt([]byte(raw)); got != want {
			t.Errorf("jsonInt(%s) = %d, want %d", raw, got, want)
		}
	}
}
