// Package gcstest gives tests a bucket of their own on a GCS server
// (fake-gcs-server, which scripts/ensure-gcs.sh installs and starts on
// 127.0.0.1:4443), and a stand-in for Google's token exchange (STS) that
// checks downscoping requests.
//
// The server comes from BINGSAN_TEST_GCS_ENDPOINT (default
// http://127.0.0.1:4443). It accepts any token, so the tests check the
// catalog's downscoping at the token exchange, not at the server. When it
// cannot be reached, tests are skipped, unless CI is set or
// BINGSAN_TEST_REQUIRE_POSTGRES=1 (the same switch as internal/pgtest), in
// which case they fail: a CI run must never pass by skipping the object
// store.
package gcstest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/auth"
	"cloud.google.com/go/storage"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"

	"github.com/bingsan/bingsan/internal/pgtest"
	"github.com/bingsan/bingsan/vend"
)

// EnvEndpoint names the server's base URL (without /storage/v1).
const EnvEndpoint = "BINGSAN_TEST_GCS_ENDPOINT"

// DefaultEndpoint matches scripts/ensure-gcs.sh.
const DefaultEndpoint = "http://127.0.0.1:4443"

// RootToken is the catalog's own (fake) access token in tests: the token
// the STS stand-in expects as the subject of exchanges.
const RootToken = "bingsan-test-root-token-never-vended"

// Server is the GCS server tests use.
type Server struct {
	// URL is the server's base URL; Endpoint the JSON API base URL
	// (URL + /storage/v1/), as storage profiles and clients take it.
	URL      string
	Endpoint string
}

// Config returns the server from the environment.
func Config() Server {
	u := os.Getenv(EnvEndpoint)
	if u == "" {
		u = DefaultEndpoint
	}
	u = strings.TrimSuffix(u, "/")
	return Server{URL: u, Endpoint: u + "/storage/v1/"}
}

// RootCredentials are static credentials whose token is RootToken.
func RootCredentials() *auth.Credentials {
	return auth.NewCredentials(&auth.CredentialsOptions{
		TokenProvider: staticToken{},
	})
}

type staticToken struct{}

func (staticToken) Token(context.Context) (*auth.Token, error) {
	return &auth.Token{Value: RootToken, Type: "Bearer", Expiry: time.Now().Add(time.Hour)}, nil
}

// Profile is the server as a warehouse's GCS configuration, with the
// static root credentials and the token exchange at sts (empty: Google's).
func (s Server) Profile(sts string) vend.GCSConfig {
	return vend.GCSConfig{Endpoint: s.Endpoint, Credentials: RootCredentials(), STSEndpoint: sts}
}

// Client is a storage client for the server, without credentials.
func (s Server) Client(t testing.TB) *storage.Client {
	t.Helper()
	c, err := storage.NewClient(context.Background(), option.WithEndpoint(s.Endpoint), option.WithoutAuthentication(),
		storage.WithJSONReads(), storage.WithDisabledClientMetrics())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

var (
	reachOnce sync.Once
	reachErr  error
)

// Require returns the server, or skips (fails in CI) when it does not
// answer.
func Require(t testing.TB) Server {
	t.Helper()
	s := Config()
	reachOnce.Do(func() {
		c := &http.Client{Timeout: 5 * time.Second}
		resp, err := c.Get(s.Endpoint + "b?project=test")
		if err != nil {
			reachErr = err
			return
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			reachErr = fmt.Errorf("GET %sb: %s", s.Endpoint, resp.Status)
		}
	})
	if reachErr != nil {
		msg := fmt.Sprintf("GCS server not usable at %s (%v); start it with scripts/ensure-gcs.sh or point %s at one", s.URL, reachErr, EnvEndpoint)
		if pgtest.Required() {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return s
}

// NewBucket creates a fresh bucket for t, emptied and removed when t ends.
func NewBucket(t testing.TB) (Server, string) {
	t.Helper()
	s := Require(t)
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	bucket := "bingsan-test-" + hex.EncodeToString(b)
	c := s.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Bucket(bucket).Create(ctx, "test", nil); err != nil {
		t.Fatalf("gcstest: create bucket %s: %v", bucket, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		it := c.Bucket(bucket).Objects(ctx, nil)
		for {
			o, err := it.Next()
			if errors.Is(err, iterator.Done) {
				break
			}
			if err != nil {
				t.Errorf("gcstest: list %s: %v", bucket, err)
				return
			}
			if err := c.Bucket(bucket).Object(o.Name).Delete(ctx); err != nil && !errors.Is(err, storage.ErrObjectNotExist) {
				t.Errorf("gcstest: empty %s: %v", bucket, err)
				return
			}
		}
		if err := c.Bucket(bucket).Delete(ctx); err != nil {
			t.Errorf("gcstest: remove bucket %s: %v", bucket, err)
		}
	})
	return s, bucket
}

// Objects lists the object names below prefix.
func Objects(t testing.TB, c *storage.Client, bucket, prefix string) []string {
	t.Helper()
	var out []string
	it := c.Bucket(bucket).Objects(context.Background(), &storage.Query{Prefix: prefix})
	for {
		o, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, o.Name)
	}
}

// Exchange is one token exchange the STS stand-in received.
type Exchange struct {
	Form     url.Values
	Boundary Boundary // the options' accessBoundary
	Token    string   // the token it issued ("" when it refused)
}

// Boundary is a Credential Access Boundary as sent to STS.
type Boundary struct {
	AccessBoundary struct {
		Rules []struct {
			AvailableResource    string   `json:"availableResource"`
			AvailablePermissions []string `json:"availablePermissions"`
			Condition            *struct {
				Expression string `json:"expression"`
				Title      string `json:"title"`
			} `json:"availabilityCondition"`
		} `json:"accessBoundaryRules"`
	} `json:"accessBoundary"`
}

// STS is a stand-in for https://sts.googleapis.com/v1/token on 127.0.0.1:
// it checks that a request is an OAuth 2.0 token exchange of RootToken
// with a Credential Access Boundary, records it and issues a fresh opaque
// token valid for Lifetime.
type STS struct {
	URL string // the token endpoint

	mu        sync.Mutex
	exchanges []Exchange
	refuse    string // when set: answer 400 invalid_grant with this description
	Lifetime  time.Duration
}

// NewSTS starts the stand-in for t.
func NewSTS(t testing.TB) *STS {
	t.Helper()
	s := &STS{Lifetime: time.Hour}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	s.URL = srv.URL + "/v1/token"
	return s
}

// Refuse makes the stand-in refuse every exchange with reason (empty:
// issue tokens again).
func (s *STS) Refuse(reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuse = reason
}

// Exchanges returns what the stand-in received so far.
func (s *STS) Exchanges() []Exchange {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Exchange(nil), s.exchanges...)
}

func (s *STS) serve(w http.ResponseWriter, r *http.Request) {
	fail := func(status int, code, desc string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
	}
	if r.Method != http.MethodPost || r.URL.Path != "/v1/token" {
		fail(http.StatusNotFound, "not_found", r.Method+" "+r.URL.Path)
		return
	}
	if err := r.ParseForm(); err != nil {
		fail(http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	f := r.PostForm
	want := map[string]string{
		"grant_type":           "urn:ietf:params:oauth:grant-type:token-exchange",
		"subject_token_type":   "urn:ietf:params:oauth:token-type:access_token",
		"requested_token_type": "urn:ietf:params:oauth:token-type:access_token",
		"subject_token":        RootToken,
	}
	for k, v := range want {
		if f.Get(k) != v {
			fail(http.StatusBadRequest, "invalid_request", fmt.Sprintf("%s is %q", k, f.Get(k)))
			return
		}
	}
	var b Boundary
	if err := json.Unmarshal([]byte(f.Get("options")), &b); err != nil || len(b.AccessBoundary.Rules) == 0 {
		fail(http.StatusBadRequest, "invalid_request", "options hold no access boundary")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ex := Exchange{Form: f, Boundary: b}
	if s.refuse != "" {
		s.exchanges = append(s.exchanges, ex)
		fail(http.StatusBadRequest, "invalid_grant", s.refuse)
		return
	}
	tb := make([]byte, 16)
	_, _ = rand.Read(tb)
	ex.Token = "downscoped-" + hex.EncodeToString(tb)
	s.exchanges = append(s.exchanges, ex)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"access_token":      ex.Token,
		"issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
		"token_type":        "Bearer",
		"expires_in":        int(s.Lifetime / time.Second),
	})
}
