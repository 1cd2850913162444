package gcs

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func TestNewEndpoints(t *testing.T) {
	t.Parallel()
	cases := []struct{ endpoint, json, upload string }{
		{"", "https://storage.googleapis.com/storage/v1/", "https://storage.googleapis.com/upload/storage/v1/"},
		{"http://127.0.0.1:4443/storage/v1/", "http://127.0.0.1:4443/storage/v1/", "http://127.0.0.1:4443/upload/storage/v1/"},
		{"http://127.0.0.1:4443/storage/v1", "http://127.0.0.1:4443/storage/v1/", "http://127.0.0.1:4443/upload/storage/v1/"},
		{"https://private.example/gcs/", "https://private.example/gcs/", "https://private.example/upload/storage/v1/"},
	}
	for _, tc := range cases {
		c, err := New(tc.endpoint, nil, nil)
		if err != nil || c.endpoint != tc.json || c.upload != tc.upload {
			t.Errorf("New(%q) = %q, %q, %v; want %q, %q", tc.endpoint, c.endpoint, c.upload, err, tc.json, tc.upload)
		}
	}
	for _, bad := range []string{"ftp://x/", "127.0.0.1:4443", "http://"} {
		if _, err := New(bad, nil, nil); err == nil {
			t.Errorf("New(%q): no error", bad)
		}
	}
}

// Object names are one path segment; a refusal is an *Error with the
// JSON API's reason, or the body when it is not JSON; retries stop at
// attempts; a token failure is a *TokenError and sends nothing.
func TestRequestsAndErrors(t *testing.T) {
	t.Parallel()
	var calls int
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		paths = append(paths, r.URL.EscapedPath()+"?"+r.URL.RawQuery)
		switch {
		case strings.Contains(r.URL.Path, "/o/missing"):
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error":{"code":404,"message":"No such object","errors":[{"reason":"notFound"}]}}`))
		case strings.Contains(r.URL.Path, "/o/busy"):
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("try later"))
		case r.URL.Query().Get("name") == "taken":
			w.WriteHeader(http.StatusPreconditionFailed)
			_, _ = w.Write([]byte(`{"error":{"code":412,"message":"At least one of the pre-conditions you specified did not hold.","errors":[{"reason":"conditionNotMet"}]}}`))
		default:
			_, _ = w.Write([]byte("data"))
		}
	}))
	defer srv.Close()
	c, err := New(srv.URL+"/storage/v1/", srv.Client(), TokenFunc(func(context.Context) (Token, error) { return Token{Value: "t"}, nil }))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if b, err := c.Get(ctx, "b", "a/b c.json"); err != nil || string(b) != "data" {
		t.Fatalf("Get = %q, %v", b, err)
	}
	if want := "/storage/v1/b/b/o/a%2Fb%20c.json?alt=media"; paths[0] != want {
		t.Errorf("path %s, want %s", paths[0], want)
	}
	_, err = c.Get(ctx, "b", "missing")
	var e *Error
	if !IsNotFound(err) || !errors.As(err, &e) || e.Reason != "notFound" || e.Message != "No such object" {
		t.Errorf("missing: %v", err)
	}
	if err := c.Create(ctx, "b", "taken", []byte("x")); !IsPreconditionFailed(err) {
		t.Errorf("Create of a taken name: %v", err)
	}
	if u, _ := url.Parse(paths[len(paths)-1]); !strings.HasPrefix(u.Path, "/upload/storage/v1/b/b/o") || u.Query().Get("ifGenerationMatch") != "0" || u.Query().Get("uploadType") != "media" {
		t.Errorf("upload request %s", paths[len(paths)-1])
	}
	calls = 0
	err = c.Delete(ctx, "b", "busy")
	if !errors.As(err, &e) || e.Status != http.StatusServiceUnavailable || e.Message != "try later" || calls != attempts {
		t.Errorf("busy: %v after %d calls", err, calls)
	}
	calls = 0
	failing, _ := New(srv.URL+"/storage/v1/", srv.Client(), TokenFunc(func(context.Context) (Token, error) { return Token{}, errors.New("no key") }))
	var te *TokenError
	if _, err := failing.Get(ctx, "b", "x"); !errors.As(err, &te) || calls != 0 {
		t.Errorf("token failure: %v after %d calls", err, calls)
	}
}

func TestParseCredentialsRefusals(t *testing.T) {
	t.Parallel()
	cases := []struct{ json, want string }{
		{`not json`, "not JSON"},
		{`{}`, "no type"},
		{`{"type":"external_account"}`, `"external_account" are not supported`},
		{`{"type":"service_account","client_email":"a@b","private_key":"nope"}`, "not PEM"},
		{`{"type":"authorized_user","client_id":"c"}`, "without refresh_token"},
	}
	for _, tc := range cases {
		if _, err := FindCredentials("", []byte(tc.json), nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.json, err, tc.want)
		}
	}
	if _, err := FindCredentials("/nonexistent/creds.json", nil, nil); err == nil || !strings.Contains(err.Error(), "creds.json") {
		t.Errorf("missing file: %v", err)
	}
}

// An authorized user's refresh token is exchanged at the file's token_uri;
// a refusal names the OAuth error.
func TestAuthorizedUser(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		if r.PostForm.Get("grant_type") != "refresh_token" || r.PostForm.Get("refresh_token") != "rt" {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":"invalid_grant","error_description":"Bad Request"}`))
			return
		}
		_, _ = w.Write([]byte(`{"access_token":"at","token_type":"Bearer","expires_in":3599}`))
	}))
	defer srv.Close()
	src, err := FindCredentials("", []byte(`{"type":"authorized_user","client_id":"c","client_secret":"s","refresh_token":"rt","token_uri":"`+srv.URL+`"}`), srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	tok, err := src.Token(context.Background())
	if err != nil || tok.Value != "at" || tok.Expiry.IsZero() {
		t.Fatalf("Token = %+v, %v", tok, err)
	}
	bad, _ := FindCredentials("", []byte(`{"type":"authorized_user","client_id":"c","refresh_token":"other","token_uri":"`+srv.URL+`"}`), srv.Client())
	var oe *OAuthError
	if _, err := bad.Token(context.Background()); !errors.As(err, &oe) || oe.Code != "invalid_grant" {
		t.Fatalf("refused: %v", err)
	}
}
