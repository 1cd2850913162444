package gcs

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Token is an OAuth 2.0 access token.
type Token struct {
	Value  string
	Type   string // empty: Bearer
	Expiry time.Time
}

func (t Token) header() string {
	typ := t.Type
	if typ == "" {
		typ = "Bearer"
	}
	return typ + " " + t.Value
}

// TokenSource gives access tokens.
type TokenSource interface {
	Token(ctx context.Context) (Token, error)
}

// TokenFunc is a TokenSource.
type TokenFunc func(ctx context.Context) (Token, error)

// Token implements TokenSource.
func (f TokenFunc) Token(ctx context.Context) (Token, error) { return f(ctx) }

// Google's endpoints and the scope of the catalog's own tokens.
const (
	DefaultTokenURL = "https://oauth2.googleapis.com/token"
	Scope           = "https://www.googleapis.com/auth/cloud-platform"
	metadataHost    = "metadata.google.internal"
)

// Cached keeps the token of src until early before it expires, fetching a
// new one (once, for concurrent callers) when it is due. Failures are not
// kept: the next call tries again.
func Cached(src TokenSource, early time.Duration) TokenSource {
	return &cached{src: src, early: early}
}

type cached struct {
	src   TokenSource
	early time.Duration
	mu    sync.Mutex
	tok   Token
}

func (c *cached) Token(ctx context.Context) (Token, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tok.Value != "" && (c.tok.Expiry.IsZero() || time.Now().Add(c.early).Before(c.tok.Expiry)) {
		return c.tok, nil
	}
	tok, err := c.src.Token(ctx)
	if err != nil {
		return Token{}, err
	}
	c.tok = tok
	return tok, nil
}

// FindCredentials returns the token source of a credentials file (path)
// or its content (json), or, when both are empty, of Application Default
// Credentials: the file GOOGLE_APPLICATION_CREDENTIALS names, else
// gcloud's application_default_credentials.json, else the metadata server
// of the machine (Compute Engine, GKE, Cloud Run). Supported files are
// service account keys and authorized users (gcloud auth
// application-default login). Nothing is contacted until the first token.
func FindCredentials(path string, data []byte, hc *http.Client) (TokenSource, error) {
	if hc == nil {
		hc = http.DefaultClient
	}
	if len(data) > 0 {
		return parseCredentials(data, hc)
	}
	if path == "" {
		path = os.Getenv("GOOGLE_APPLICATION_CREDENTIALS")
	}
	if path == "" {
		if p := wellKnownFile(); p != "" {
			if _, err := os.Stat(p); err == nil {
				path = p
			}
		}
	}
	if path == "" {
		return metadataSource{hc: hc}, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading credentials: %w", err)
	}
	src, err := parseCredentials(b, hc)
	if err != nil {
		return nil, fmt.Errorf("credentials file %s: %w", path, err)
	}
	return src, nil
}

// wellKnownFile is where gcloud keeps application default credentials.
func wellKnownFile() string {
	if dir := os.Getenv("CLOUDSDK_CONFIG"); dir != "" {
		return filepath.Join(dir, "application_default_credentials.json")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".config", "gcloud", "application_default_credentials.json")
}

func parseCredentials(data []byte, hc *http.Client) (TokenSource, error) {
	var f struct {
		Type         string `json:"type"`
		ClientEmail  string `json:"client_email"`
		PrivateKeyID string `json:"private_key_id"`
		PrivateKey   string `json:"private_key"`
		TokenURI     string `json:"token_uri"`
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("credentials are not JSON: %w", err)
	}
	tokenURL := f.TokenURI
	if tokenURL == "" {
		tokenURL = DefaultTokenURL
	}
	switch f.Type {
	case "service_account":
		key, err := parsePrivateKey(f.PrivateKey)
		if err != nil {
			return nil, err
		}
		if f.ClientEmail == "" {
			return nil, errors.New("service account key without client_email")
		}
		return serviceAccount{email: f.ClientEmail, keyID: f.PrivateKeyID, key: key, tokenURL: tokenURL, hc: hc}, nil
	case "authorized_user":
		if f.RefreshToken == "" || f.ClientID == "" {
			return nil, errors.New("authorized user credentials without refresh_token or client_id")
		}
		form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {f.RefreshToken}, "client_id": {f.ClientID}, "client_secret": {f.ClientSecret}}
		return TokenFunc(func(ctx context.Context) (Token, error) { return postToken(ctx, hc, tokenURL, form) }), nil
	case "":
		return nil, errors.New("credentials have no type")
	}
	return nil, fmt.Errorf("credentials of type %q are not supported (service_account and authorized_user are)", f.Type)
}

func parsePrivateKey(s string) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil, errors.New("service account key: private_key is not PEM")
	}
	if k, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		if rk, ok := k.(*rsa.PrivateKey); ok {
			return rk, nil
		}
		return nil, errors.New("service account key: private_key is not an RSA key")
	}
	k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("service account key: private_key: %w", err)
	}
	return k, nil
}

// serviceAccount gets tokens with the JWT bearer grant (RFC 7523): an
// assertion signed with the key, exchanged at the token endpoint.
type serviceAccount struct {
	email, keyID string
	key          *rsa.PrivateKey
	tokenURL     string
	hc           *http.Client
}

func (s serviceAccount) Token(ctx context.Context) (Token, error) {
	now := time.Now()
	enc := base64.RawURLEncoding
	header, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": s.keyID})
	claims, _ := json.Marshal(map[string]any{
		"iss": s.email, "scope": Scope, "aud": s.tokenURL,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	})
	signed := enc.EncodeToString(header) + "." + enc.EncodeToString(claims)
	sum := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.key, crypto.SHA256, sum[:])
	if err != nil {
		return Token{}, fmt.Errorf("signing the token request: %w", err)
	}
	form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {signed + "." + enc.EncodeToString(sig)}}
	return postToken(ctx, s.hc, s.tokenURL, form)
}

// metadataSource gets the tokens of the machine's service account from
// the metadata server.
type metadataSource struct{ hc *http.Client }

func (m metadataSource) Token(ctx context.Context) (Token, error) {
	host := os.Getenv("GCE_METADATA_HOST")
	if host == "" {
		host = metadataHost
	}
	u := "http://" + host + "/computeMetadata/v1/instance/service-accounts/default/token?scopes=" + url.QueryEscape(Scope)
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return Token{}, err
	}
	req.Header.Set("Metadata-Flavor", "Google")
	resp, err := m.hc.Do(req)
	if err != nil {
		return Token{}, fmt.Errorf("no credentials configured, none in GOOGLE_APPLICATION_CREDENTIALS or gcloud's configuration, and the metadata server is unreachable: %w", err)
	}
	return readToken(resp)
}

// postToken posts an OAuth 2.0 token request.
func postToken(ctx context.Context, hc *http.Client, tokenURL string, form url.Values) (Token, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return Token{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := hc.Do(req)
	if err != nil {
		return Token{}, err
	}
	return readToken(resp)
}

// OAuthError is a refusal of a token endpoint (RFC 6749 section 5.2).
type OAuthError struct {
	Status      int
	Code        string // "invalid_grant"
	Description string
}

func (e *OAuthError) Error() string {
	s := fmt.Sprint(e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Description != "" {
		s += ": " + e.Description
	}
	return s
}

// readToken reads a token endpoint's answer and closes it.
func readToken(resp *http.Response) (Token, error) {
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return Token{}, err
	}
	var m struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int64  `json:"expires_in"`
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	jerr := json.Unmarshal(body, &m)
	if resp.StatusCode != http.StatusOK {
		e := &OAuthError{Status: resp.StatusCode, Code: m.Error, Description: m.Description}
		if jerr != nil || (m.Error == "" && m.Description == "") {
			e.Description = strings.TrimSpace(string(body))
		}
		return Token{}, e
	}
	if jerr != nil {
		return Token{}, fmt.Errorf("token answer is not JSON: %w", jerr)
	}
	if m.AccessToken == "" {
		return Token{}, errors.New("token answer holds no access_token")
	}
	t := Token{Value: m.AccessToken, Type: m.TokenType}
	if m.ExpiresIn > 0 {
		t.Expiry = time.Now().Add(time.Duration(m.ExpiresIn) * time.Second)
	}
	return t, nil
}
