package azure

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Token is an Azure AD access token.
type Token struct {
	Value  string
	Expiry time.Time
}

// TokenSource gives Azure AD access tokens for a scope.
type TokenSource interface {
	Token(ctx context.Context, scope string) (Token, error)
}

// TokenFunc is a TokenSource.
type TokenFunc func(ctx context.Context, scope string) (Token, error)

// Token implements TokenSource.
func (f TokenFunc) Token(ctx context.Context, scope string) (Token, error) { return f(ctx, scope) }

// Cached keeps the tokens of src per scope until early before they expire.
// Failures are not kept: the next call tries again.
func Cached(src TokenSource, early time.Duration) TokenSource {
	return &cached{src: src, early: early, toks: map[string]Token{}}
}

type cached struct {
	src   TokenSource
	early time.Duration
	mu    sync.Mutex
	toks  map[string]Token
}

func (c *cached) Token(ctx context.Context, scope string) (Token, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.toks[scope]; ok && time.Now().Add(c.early).Before(t.Expiry) {
		return t, nil
	}
	t, err := c.src.Token(ctx, scope)
	if err != nil {
		return Token{}, err
	}
	c.toks[scope] = t
	return t, nil
}

// authorityHost is Azure AD's login endpoint (AZURE_AUTHORITY_HOST for
// sovereign clouds).
func authorityHost() string {
	if h := os.Getenv("AZURE_AUTHORITY_HOST"); h != "" {
		return strings.TrimSuffix(h, "/") + "/"
	}
	return "https://login.microsoftonline.com/"
}

// ClientSecret gets tokens of a service principal with its secret (OAuth
// 2.0 client credentials grant).
func ClientSecret(tenant, clientID, secret string, hc *http.Client) TokenSource {
	return TokenFunc(func(ctx context.Context, scope string) (Token, error) {
		return clientCredentials(ctx, hc, tenant, url.Values{"client_id": {clientID}, "client_secret": {secret}, "scope": {scope}})
	})
}

// WorkloadIdentity gets tokens of an application with the federated token
// that Kubernetes (AKS workload identity) writes to file.
func WorkloadIdentity(tenant, clientID, file string, hc *http.Client) TokenSource {
	return TokenFunc(func(ctx context.Context, scope string) (Token, error) {
		assertion, err := os.ReadFile(file)
		if err != nil {
			return Token{}, fmt.Errorf("WorkloadIdentityCredential: %w", err)
		}
		return clientCredentials(ctx, hc, tenant, url.Values{
			"client_id": {clientID}, "scope": {scope},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
			"client_assertion":      {strings.TrimSpace(string(assertion))},
		})
	})
}

func clientCredentials(ctx context.Context, hc *http.Client, tenant string, form url.Values) (Token, error) {
	form.Set("grant_type", "client_credentials")
	u := authorityHost() + url.PathEscape(tenant) + "/oauth2/v2.0/token"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
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

// ManagedIdentity gets tokens of the machine's managed identity (user
// assigned when clientID is set): from App Service's identity endpoint
// when IDENTITY_ENDPOINT and IDENTITY_HEADER are set, else from the
// instance metadata service of virtual machines and AKS nodes.
func ManagedIdentity(clientID string, hc *http.Client) TokenSource {
	return TokenFunc(func(ctx context.Context, scope string) (Token, error) {
		q := url.Values{"resource": {strings.TrimSuffix(scope, "/.default")}}
		if clientID != "" {
			q.Set("client_id", clientID)
		}
		var req *http.Request
		var err error
		if ep, secret := os.Getenv("IDENTITY_ENDPOINT"), os.Getenv("IDENTITY_HEADER"); ep != "" && secret != "" {
			q.Set("api-version", "2019-08-01")
			req, err = http.NewRequestWithContext(ctx, http.MethodGet, ep+"?"+q.Encode(), nil)
			if err == nil {
				req.Header.Set("X-IDENTITY-HEADER", secret)
			}
		} else {
			// Off Azure nothing answers; a short wait keeps the chain quick.
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			q.Set("api-version", "2018-02-01")
			req, err = http.NewRequestWithContext(ctx, http.MethodGet, "http://169.254.169.254/metadata/identity/oauth2/token?"+q.Encode(), nil)
			if err == nil {
				req.Header.Set("Metadata", "true")
			}
		}
		if err != nil {
			return Token{}, err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return Token{}, fmt.Errorf("ManagedIdentityCredential: no managed identity endpoint answered: %w", err)
		}
		return readToken(resp)
	})
}

// AzureCLI gets tokens of the user logged in with the Azure CLI (az login).
func AzureCLI() TokenSource {
	return TokenFunc(func(ctx context.Context, scope string) (Token, error) {
		ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		var out, stderr bytes.Buffer
		cmd := exec.CommandContext(ctx, "az", "account", "get-access-token", "--output", "json", "--resource", strings.TrimSuffix(scope, "/.default"))
		cmd.Stdout, cmd.Stderr = &out, &stderr
		if err := cmd.Run(); err != nil {
			return Token{}, fmt.Errorf("AzureCLICredential: %v: %s", err, firstLine(stderr.String()))
		}
		var m struct {
			AccessToken string `json:"accessToken"`
			ExpiresOn   int64  `json:"expires_on"`
		}
		if err := json.Unmarshal(out.Bytes(), &m); err != nil || m.AccessToken == "" {
			return Token{}, errors.New("AzureCLICredential: az gave no token")
		}
		t := Token{Value: m.AccessToken, Expiry: time.Unix(m.ExpiresOn, 0)}
		if m.ExpiresOn == 0 {
			// Older versions give only a local time; assume the usual hour.
			t.Expiry = time.Now().Add(time.Hour)
		}
		return t, nil
	})
}

// Default is the chain of credentials a deployment usually has, tried in
// order until one gives a token, which is then kept: a service principal
// from AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET; workload
// identity (AZURE_FEDERATED_TOKEN_FILE); a managed identity; the Azure CLI.
func Default(hc *http.Client) TokenSource {
	tenant, client := os.Getenv("AZURE_TENANT_ID"), os.Getenv("AZURE_CLIENT_ID")
	var chain []TokenSource
	if secret := os.Getenv("AZURE_CLIENT_SECRET"); tenant != "" && client != "" && secret != "" {
		chain = append(chain, ClientSecret(tenant, client, secret, hc))
	}
	if file := os.Getenv("AZURE_FEDERATED_TOKEN_FILE"); tenant != "" && client != "" && file != "" {
		chain = append(chain, WorkloadIdentity(tenant, client, file, hc))
	}
	chain = append(chain, ManagedIdentity(client, hc), AzureCLI())
	return &chainSource{chain: chain}
}

type chainSource struct {
	chain []TokenSource
	mu    sync.Mutex
	found TokenSource
}

func (c *chainSource) Token(ctx context.Context, scope string) (Token, error) {
	c.mu.Lock()
	found := c.found
	c.mu.Unlock()
	if found != nil {
		return found.Token(ctx, scope)
	}
	var failures []string
	for _, src := range c.chain {
		t, err := src.Token(ctx, scope)
		if err == nil {
			c.mu.Lock()
			c.found = src
			c.mu.Unlock()
			return t, nil
		}
		failures = append(failures, firstLine(err.Error()))
	}
	return Token{}, errors.New("DefaultAzureCredential: no credential gave a token: " + strings.Join(failures, "; "))
}

// OAuthError is a refusal of a token endpoint.
type OAuthError struct {
	Status      int
	Code        string
	Description string
}

func (e *OAuthError) Error() string {
	s := strconv.Itoa(e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Description != "" {
		s += ": " + firstLine(e.Description)
	}
	return s
}

// readToken reads a token endpoint's answer and closes it. Azure AD gives
// expires_in (seconds, a number); managed identity endpoints give
// expires_on (epoch seconds, as a string or a number).
func readToken(resp *http.Response) (Token, error) {
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return Token{}, err
	}
	var m struct {
		AccessToken string          `json:"access_token"`
		ExpiresIn   json.RawMessage `json:"expires_in"`
		ExpiresOn   json.RawMessage `json:"expires_on"`
		Error       string          `json:"error"`
		Description string          `json:"error_description"`
	}
	jerr := json.Unmarshal(body, &m)
	if resp.StatusCode != http.StatusOK {
		e := &OAuthError{Status: resp.StatusCode, Code: m.Error, Description: m.Description}
		if jerr != nil || (m.Error == "" && m.Description == "") {
			e.Description = strings.TrimSpace(string(body))
		}
		return Token{}, e
	}
	if jerr != nil || m.AccessToken == "" {
		return Token{}, errors.New("the token answer holds no access_token")
	}
	t := Token{Value: m.AccessToken}
	if on := jsonInt(m.ExpiresOn); on > 0 {
		t.Expiry = time.Unix(on, 0)
	} else if in := jsonInt(m.ExpiresIn); in > 0 {
		t.Expiry = time.Now().Add(time.Duration(in) * time.Second)
	} else {
		t.Expiry = time.Now().Add(time.Hour)
	}
	return t, nil
}

// jsonInt reads a number written as a JSON number or string.
func jsonInt(raw json.RawMessage) int64 {
	s := strings.Trim(string(raw), `"`)
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}
