// Package azuretest gives tests a container of their own on Azurite (the
// Azure Blob Storage emulator, which scripts/ensure-azurite.sh installs and
// starts over https on 127.0.0.1:10000 with OAuth enabled), and an Azure AD
// credential Azurite accepts, for user-delegation SAS.
//
// The server comes from BINGSAN_TEST_AZURE_ENDPOINT (default
// https://127.0.0.1:10000/devstoreaccount1, path-style: the last path
// segment is the account) and its certificate from BINGSAN_TEST_AZURE_CA
// (default .cache/azurite/cert.pem in the repository). The account key is
// Azurite's well-known devstoreaccount1 key unless
// BINGSAN_TEST_AZURE_ACCOUNT_KEY is set. When the server cannot be
// reached, tests are skipped, unless CI is set or
// BINGSAN_TEST_REQUIRE_POSTGRES=1 (the same switch as internal/pgtest), in
// which case they fail.
package azuretest

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"

	"github.com/bingsan/bingsan/internal/pgtest"
	"github.com/bingsan/bingsan/vend"
)

// Environment variables naming the server.
const (
	EnvEndpoint   = "BINGSAN_TEST_AZURE_ENDPOINT"
	EnvCA         = "BINGSAN_TEST_AZURE_CA"
	EnvAccountKey = "BINGSAN_TEST_AZURE_ACCOUNT_KEY"
)

// Defaults, matching scripts/ensure-azurite.sh and Azurite.
const (
	DefaultEndpoint = "https://127.0.0.1:10000/devstoreaccount1"
	Account         = "devstoreaccount1"
	// AccountKey is Azurite's published development key.
	AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
	// Host is the account host tables' locations use; the endpoint, not
	// the host, says where requests go.
	Host = Account + ".dfs.core.windows.net"
)

// Server is the Azurite instance tests use.
type Server struct {
	Endpoint   string // path-style Blob service URL
	AccountKey string
	HTTP       *http.Client // trusts the server's certificate
}

// CAFile is the server certificate's file (BINGSAN_TEST_AZURE_CA or the
// one scripts/ensure-azurite.sh makes), "" when there is none.
func CAFile() string {
	ca := os.Getenv(EnvCA)
	if ca == "" {
		root, err := repoRoot()
		if err != nil {
			return ""
		}
		ca = filepath.Join(root, ".cache", "azurite", "cert.pem")
	}
	if _, err := os.Stat(ca); err != nil {
		return ""
	}
	return ca
}

// Config returns the server from the environment.
func Config() (Server, error) {
	s := Server{Endpoint: os.Getenv(EnvEndpoint), AccountKey: os.Getenv(EnvAccountKey)}
	if s.Endpoint == "" {
		s.Endpoint = DefaultEndpoint
	}
	if s.AccountKey == "" {
		s.AccountKey = AccountKey
	}
	ca := os.Getenv(EnvCA)
	if ca == "" {
		root, err := repoRoot()
		if err != nil {
			return s, err
		}
		ca = filepath.Join(root, ".cache", "azurite", "cert.pem")
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	if strings.HasPrefix(s.Endpoint, "https:") {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return s, fmt.Errorf("reading the server certificate: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return s, fmt.Errorf("no certificate in %s", ca)
		}
		t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	s.HTTP = &http.Client{Transport: t}
	return s, nil
}

// repoRoot is the directory of this module's go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.Contains(string(b), "module github.com/bingsan/bingsan\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod of github.com/bingsan/bingsan above the working directory")
		}
		dir = parent
	}
}

// Options are Azure SDK client options that reach the server without
// retries (tests check refusals).
func (s Server) Options() azcore.ClientOptions {
	return azcore.ClientOptions{Transport: s.HTTP, Retry: policy.RetryOptions{MaxRetries: -1}}
}

// Profile is the server as a warehouse's Azure configuration: with the
// account key and service SAS, or (userDelegation) with an Azure AD
// credential Azurite accepts and user-delegation SAS, the account key still
// serving the catalog's own reads and writes.
func (s Server) Profile(userDelegation bool, scope string) vend.AzureConfig {
	c := vend.AzureConfig{Endpoint: s.Endpoint, AccountKey: vend.Secret(s.AccountKey), HTTPClient: s.HTTP, SASScope: scope}
	if userDelegation {
		c.TokenCredential = FakeAD{}
	}
	return c
}

// Root is a service client with the account key.
func (s Server) Root(t testing.TB) *service.Client {
	t.Helper()
	cred, err := azblob.NewSharedKeyCredential(Account, s.AccountKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := service.NewClientWithSharedKeyCredential(s.Endpoint+"/", cred, &service.ClientOptions{ClientOptions: s.Options()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// WithSAS is a client of container cont that authenticates with only the
// SAS token (a query string).
func (s Server) WithSAS(t testing.TB, cont, token string) *container.Client {
	t.Helper()
	c, err := container.NewClientWithNoCredential(strings.TrimSuffix(s.Endpoint, "/")+"/"+cont+"?"+token,
		&container.ClientOptions{ClientOptions: s.Options()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Location is the abfss:// location of path in container cont.
func Location(cont, path string) string {
	return "abfss://" + cont + "@" + Host + "/" + strings.TrimPrefix(path, "/")
}

var (
	reachOnce sync.Once
	reachSrv  Server
	reachErr  error
)

// Require returns the server, or skips (fails in CI) when it does not
// answer with the account key.
func Require(t testing.TB) Server {
	t.Helper()
	reachOnce.Do(func() {
		reachSrv, reachErr = Config()
		if reachErr != nil {
			return
		}
		cred, err := azblob.NewSharedKeyCredential(Account, reachSrv.AccountKey)
		if err != nil {
			reachErr = err
			return
		}
		c, err := service.NewClientWithSharedKeyCredential(reachSrv.Endpoint+"/", cred, &service.ClientOptions{ClientOptions: reachSrv.Options()})
		if err != nil {
			reachErr = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, reachErr = c.GetProperties(ctx, nil)
	})
	if reachErr != nil {
		msg := fmt.Sprintf("Azurite not usable at %s (%v); start it with scripts/ensure-azurite.sh or point %s and %s at one",
			reachSrv.Endpoint, firstLine(reachErr), EnvEndpoint, EnvCA)
		if pgtest.Required() {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return reachSrv
}

func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

// NewContainer creates a fresh container for t, removed (with its blobs)
// when t ends.
func NewContainer(t testing.TB) (Server, string) {
	t.Helper()
	s := Require(t)
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	name := "bingsan-test-" + hex.EncodeToString(b)
	root := s.Root(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := root.CreateContainer(ctx, name, nil); err != nil {
		t.Fatalf("azuretest: create container %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := root.DeleteContainer(ctx, name, nil); err != nil {
			t.Errorf("azuretest: remove container %s: %v", name, err)
		}
	})
	return s, name
}

// Blobs lists the blob names below prefix in container cont.
func (s Server) Blobs(t testing.TB, cont, prefix string) []string {
	t.Helper()
	var out []string
	p := s.Root(t).NewContainerClient(cont).NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Prefix: &prefix})
	for p.More() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range page.Segment.BlobItems {
			out = append(out, *b.Name)
		}
	}
	return out
}

// FakeAD is an Azure AD credential whose tokens Azurite (--oauth basic)
// accepts: unsigned JWTs with a storage audience and an Azure AD issuer.
// Azurite checks their shape and lifetime, not their signature.
type FakeAD struct{}

// GetToken implements azcore.TokenCredential.
func (FakeAD) GetToken(_ context.Context, _ policy.TokenRequestOptions) (azcore.AccessToken, error) {
	now := time.Now()
	enc := base64.RawURLEncoding
	claims, _ := json.Marshal(map[string]any{
		"aud": "https://storage.azure.com",
		"iss": "https://sts.windows.net/ab1f708d-50f6-404c-a006-d71b2ac7a606/",
		"iat": now.Unix(), "nbf": now.Add(-time.Minute).Unix(), "exp": now.Add(time.Hour).Unix(),
		"oid": "23657296-5cd5-45b0-a809-d972a7f4dfe1",
		"tid": "dd0d0d4e-2d5b-4a3c-9c7b-6e2f4d6a6b1f",
	})
	tok := enc.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc.EncodeToString(claims) + ".x"
	return azcore.AccessToken{Token: tok, ExpiresOn: now.Add(time.Hour)}, nil
}
