package vend_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/internal/azuretest"
	"github.com/bingsan/bingsan/vend"
)

// sasOf returns the SAS of a credential, checking the keys clients read:
// adls.sas-token.<host> and adls.sas-token.<account>, with their expiry.
func sasOf(t *testing.T, creds []vend.Credential) string {
	t.Helper()
	if len(creds) == 0 {
		t.Fatal("no credentials vended")
	}
	c := creds[0].Config
	tok := c["adls.sas-token."+azuretest.Host]
	if tok == "" || c["adls.sas-token."+azuretest.Account] != tok {
		t.Fatalf("SAS keys: %v", keysOf(c))
	}
	exp := c["adls.sas-token-expires-at-ms."+azuretest.Host]
	if exp == "" || c["adls.sas-token-expires-at-ms."+azuretest.Account] != exp {
		t.Fatalf("SAS expiry keys: %v", keysOf(c))
	}
	return tok
}

func sasParams(t *testing.T, tok string) url.Values {
	t.Helper()
	q, err := url.ParseQuery(tok)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// azStatus is the HTTP status of an Azure SDK error (0 for success).
func azStatus(err error) int {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	if err != nil {
		return -1
	}
	return 0
}

func azPut(ctx context.Context, c *container.Client, name string) error {
	_, err := c.NewBlockBlobClient(name).UploadBuffer(ctx, []byte("data"), nil)
	return err
}

func azGet(ctx context.Context, c *container.Client, name string) error {
	r, err := c.NewBlobClient(name).DownloadStream(ctx, nil)
	if err == nil {
		r.Body.Close()
	}
	return err
}

func azList(ctx context.Context, c *container.Client, prefix string) error {
	_, err := c.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Prefix: &prefix}).NextPage(ctx)
	return err
}

func azDelete(ctx context.Context, c *container.Client, name string) error {
	_, err := c.NewBlobClient(name).Delete(ctx, nil)
	return err
}

// Vended SAS on Azurite, user-delegation and service SAS alike: they read
// and write inside the table path, nothing in another container, read-only
// ones do not write, and a tampered one is refused. Azurite has no
// hierarchical namespace, so these warehouses use sas-scope container.
func TestAzureVendedSAS(t *testing.T) {
	t.Parallel()
	for _, ud := range []bool{true, false} {
		name := map[bool]string{true: "user-delegation", false: "service"}[ud]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := azureSetup(t, ud, nil)
			ctx := context.Background()
			root := e.srv.Root(t)
			_, other := azuretest.NewContainer(t)
			for _, k := range []string{"wh/ns/t/data/existing", "wh/ns/t2/data/existing"} {
				if err := azPut(ctx, root.NewContainerClient(e.cont), k); err != nil {
					t.Fatal(err)
				}
			}
			if err := azPut(ctx, root.NewContainerClient(other), "wh/ns/t/data/existing"); err != nil {
				t.Fatal(err)
			}

			v := e.st.Vendor("lake")
			creds, err := v.Credentials(ctx, vend.Scope{Locations: []string{e.wh + "/ns/t"}, Mode: vend.ReadWrite})
			if err != nil {
				t.Fatalf("Credentials: %v", err)
			}
			if len(creds) != 1 || creds[0].Prefix != e.wh+"/ns/t" {
				t.Fatalf("credentials %+v", creds)
			}
			tok := sasOf(t, creds)
			q := sasParams(t, tok)
			if (q.Get("skoid") != "") != ud || q.Get("sr") != "c" || q.Get("sp") != "racwdl" {
				t.Fatalf("SAS parameters %v", q)
			}
			if strings.Contains(tok, azuretest.AccountKey) {
				t.Fatal("the account key was vended")
			}
			ms, _ := strconv.ParseInt(creds[0].Config["adls.sas-token-expires-at-ms."+azuretest.Host], 10, 64)
			if until := time.Until(time.UnixMilli(ms)); until < 55*time.Minute || until > 61*time.Minute {
				t.Errorf("SAS expires in %s, want about an hour", until)
			}
			c := e.srv.WithSAS(t, e.cont, tok)
			tests := []struct {
				name   string
				op     func() error
				denied bool
			}{
				{"put inside", func() error { return azPut(ctx, c, "wh/ns/t/data/new.parquet") }, false},
				{"put deep inside", func() error { return azPut(ctx, c, "wh/ns/t/metadata/a/b/c.avro") }, false},
				{"get inside", func() error { return azGet(ctx, c, "wh/ns/t/data/existing") }, false},
				{"list inside", func() error { return azList(ctx, c, "wh/ns/t/") }, false},
				{"delete inside", func() error { return azDelete(ctx, c, "wh/ns/t/data/new.parquet") }, false},
				{"put in another container", func() error { return azPut(ctx, e.srv.WithSAS(t, other, tok), "wh/ns/t/data/x") }, true},
				{"get from another container", func() error { return azGet(ctx, e.srv.WithSAS(t, other, tok), "wh/ns/t/data/existing") }, true},
				{"list another container", func() error { return azList(ctx, e.srv.WithSAS(t, other, tok), "wh/") }, true},
			}
			for _, tt := range tests {
				err := tt.op()
				switch {
				case tt.denied && azStatus(err) != http.StatusForbidden:
					t.Errorf("%s: want 403, got %v", tt.name, err)
				case !tt.denied && err != nil:
					t.Errorf("%s: %v", tt.name, err)
				}
			}

			// Read-only SAS: reads and lists, never writes or deletes.
			ro, err := v.Credentials(ctx, vend.Scope{Locations: []string{e.wh + "/ns/t"}, Mode: vend.ReadOnly})
			if err != nil {
				t.Fatal(err)
			}
			rtok := sasOf(t, ro)
			if rtok == tok || sasParams(t, rtok).Get("sp") != "rl" {
				t.Fatalf("read-only SAS %v", sasParams(t, rtok))
			}
			rc := e.srv.WithSAS(t, e.cont, rtok)
			if err := azGet(ctx, rc, "wh/ns/t/data/existing"); err != nil {
				t.Errorf("read-only get inside: %v", err)
			}
			if err := azList(ctx, rc, "wh/ns/t/"); err != nil {
				t.Errorf("read-only list inside: %v", err)
			}
			if err := azPut(ctx, rc, "wh/ns/t/data/ro"); azStatus(err) != http.StatusForbidden {
				t.Errorf("read-only put inside: want 403, got %v", err)
			}
			if err := azDelete(ctx, rc, "wh/ns/t/data/existing"); azStatus(err) != http.StatusForbidden {
				t.Errorf("read-only delete inside: want 403, got %v", err)
			}
			// Widening the permissions of the read-only SAS breaks its
			// signature.
			tampered := strings.Replace(rtok, "sp=rl", "sp=racwdl", 1)
			if err := azPut(ctx, e.srv.WithSAS(t, e.cont, tampered), "wh/ns/t/data/tampered"); azStatus(err) != http.StatusForbidden {
				t.Errorf("tampered SAS: want 403, got %v", err)
			}
			if err := azGet(ctx, root.NewContainerClient(e.cont), "wh/ns/t/data/ro"); azStatus(err) != http.StatusNotFound {
				t.Errorf("a refused write left a blob: %v", err)
			}
		})
	}
}

// An expired SAS is refused.
func TestAzureVendedSASExpires(t *testing.T) {
	t.Parallel()
	for _, ud := range []bool{true, false} {
		e := azureSetup(t, ud, func(p *vend.Profile) { p.CredentialDuration = 2 * time.Second })
		ctx := context.Background()
		if err := azPut(ctx, e.srv.Root(t).NewContainerClient(e.cont), "wh/ns/t/data/existing"); err != nil {
			t.Fatal(err)
		}
		creds, err := e.st.Vendor("lake").Credentials(ctx, vend.Scope{Locations: []string{e.wh + "/ns/t"}})
		if err != nil {
			t.Fatal(err)
		}
		c := e.srv.WithSAS(t, e.cont, sasOf(t, creds))
		if err := azGet(ctx, c, "wh/ns/t/data/existing"); err != nil {
			t.Fatalf("before expiry (user delegation %v): %v", ud, err)
		}
		time.Sleep(3500 * time.Millisecond)
		if err := azGet(ctx, c, "wh/ns/t/data/existing"); azStatus(err) != http.StatusForbidden {
			t.Errorf("after expiry (user delegation %v): want 403, got %v", ud, err)
		}
	}
}

// With sas-scope directory (the default, for ADLS Gen2 accounts) the SAS
// is a directory SAS of the table path: sr=d with its depth, signed over
// the table's directory. Azurite has no hierarchical namespace and refuses
// directory SAS, so the signature is checked by signing the same values
// with the account key.
func TestAzureDirectorySAS(t *testing.T) {
	t.Parallel()
	for _, ud := range []bool{true, false} {
		e := azureSetup(t, ud, func(p *vend.Profile) { p.Azure.SASScope = "" })
		ctx := context.Background()
		v := e.st.Vendor("lake")
		for _, mode := range []vend.Mode{vend.ReadWrite, vend.ReadOnly} {
			creds, err := v.Credentials(ctx, vend.Scope{Locations: []string{e.wh + "/ns/t"}, Mode: mode})
			if err != nil {
				t.Fatal(err)
			}
			q := sasParams(t, sasOf(t, creds))
			wantPerm := map[vend.Mode]string{vend.ReadWrite: "racwdl", vend.ReadOnly: "rl"}[mode]
			if q.Get("sr") != "d" || q.Get("sdd") != "3" || q.Get("sp") != wantPerm || (q.Get("skoid") != "") != ud {
				t.Fatalf("directory SAS (user delegation %v, %s): %v", ud, mode, q)
			}
			if ud {
				if q.Get("sks") != "b" || q.Get("sktid") == "" || q.Get("skt") == "" || q.Get("ske") == "" {
					t.Errorf("user delegation fields: %v", q)
				}
				continue
			}
			st, _ := time.Parse(sas.TimeFormat, q.Get("st"))
			se, _ := time.Parse(sas.TimeFormat, q.Get("se"))
			cred, _ := azblob.NewSharedKeyCredential(azuretest.Account, azuretest.AccountKey)
			for _, dir := range []string{"wh/ns/t", "wh/ns", "wh/ns/t2"} {
				want, err := sas.BlobSignatureValues{
					Version: q.Get("sv"), Protocol: sas.Protocol(q.Get("spr")), StartTime: st, ExpiryTime: se,
					Permissions: q.Get("sp"), ContainerName: e.cont, Directory: dir,
				}.SignWithSharedKey(cred)
				if err != nil {
					t.Fatal(err)
				}
				if same := want.Signature() == q.Get("sig"); same != (dir == "wh/ns/t") {
					t.Errorf("signature over %s matches: %v", dir, same)
				}
			}
		}
	}
}

func TestAzureGrant(t *testing.T) {
	t.Parallel()
	e := azureSetup(t, true, nil)
	ctx := context.Background()
	v := e.st.Vendor("lake")
	scope := vend.Scope{Locations: []string{e.wh + "/ns/t"}}
	g, err := v.Grant(ctx, scope, vend.Delegation{RemoteSigning: true})
	if err != nil || len(g.Credentials) != 0 || g.RemoteSigning {
		t.Fatalf("no vending: %+v, %v", g, err)
	}
	// The path-style emulator endpoint as iceberg-go reads it.
	if g.Config["adls.endpoint"] != "127.0.0.1:10000" || g.Config["adls.protocol"] != "https" || len(g.Config) != 2 {
		t.Errorf("client config %v", g.Config)
	}
	if _, err := v.Sign(ctx, scope, vend.SignRequest{Method: "GET", URI: e.srv.Endpoint}); !errs.Is(err, errs.BadRequest) {
		t.Errorf("Sign: want BadRequest, got %v", err)
	}
	g, err = v.Grant(ctx, scope, vend.ParseDelegation("true"))
	if err != nil || len(g.Credentials) != 1 {
		t.Fatalf("vended: %+v, %v", g, err)
	}
	tok := sasOf(t, g.Credentials)
	if g.Config["adls.sas-token."+azuretest.Host] != tok || g.Config["adls.sas-token."+azuretest.Account] != tok {
		t.Errorf("SAS not in config: %v", keysOf(g.Config))
	}
	// Cached: the same SAS again, another for another table.
	again, _ := v.Credentials(ctx, scope)
	if sasOf(t, again) != tok {
		t.Error("SAS not cached")
	}
	t2, _ := v.Credentials(ctx, vend.Scope{Locations: []string{e.wh + "/ns/t2"}})
	if sasOf(t, t2) == "" {
		t.Error("no SAS for another table")
	}
	// A location of another account is refused.
	if _, err := v.Credentials(ctx, vend.Scope{Locations: []string{"abfss://" + e.cont + "@other.dfs.core.windows.net/wh/t"}}); !errs.Is(err, errs.BadRequest) {
		t.Errorf("another account: want BadRequest, got %v", err)
	}
}

// failingAD is an Azure AD credential that gets no token.
type failingAD struct{}

func (failingAD) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{}, errors.New("ClientSecretCredential: AADSTS7000215: Invalid client secret provided")
}

// wrongAudienceAD gets tokens Azurite refuses: their only claim is an
// audience that is not storage.
type wrongAudienceAD struct{}

func (wrongAudienceAD) GetToken(ctx context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	t, err := azuretest.FakeAD{}.GetToken(ctx, o)
	parts := strings.Split(t.Token, ".")
	t.Token = parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"aud":"https://management.azure.com"}`)) + "." + parts[2]
	return t, err
}

func TestAzureDelegationRefused(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		cred azcore.TokenCredential
		want []string
	}{
		{"no token", failingAD{}, []string{"Cannot vend credentials", "Azure AD issued no token", "AADSTS7000215"}},
		{"token refused", wrongAudienceAD{}, []string{"Cannot vend credentials", "refused a user delegation key", "devstoreaccount1", "403 AuthenticationFailed"}},
	}
	for _, tc := range cases {
		e := azureSetup(t, true, func(p *vend.Profile) { p.Azure.TokenCredential = tc.cred })
		_, err := e.st.Vendor("lake").Credentials(context.Background(), vend.Scope{Locations: []string{e.wh + "/ns/t"}})
		if !errs.Is(err, errs.ServiceUnavailable) {
			t.Fatalf("%s: want ServiceUnavailable, got %v", tc.name, err)
		}
		var de *errs.Error
		errors.As(err, &de)
		for _, w := range tc.want {
			if !strings.Contains(de.Message, w) {
				t.Errorf("%s: message %q does not mention %q", tc.name, de.Message, w)
			}
		}
		if strings.Contains(err.Error(), azuretest.AccountKey) {
			t.Fatalf("error shows the account key: %v", err)
		}
		// The catalog's own access (the account key) is unaffected.
		if err := e.st.WriteNew(context.Background(), e.wh+"/ns/t/m.json", bytes.Repeat([]byte("x"), 3)); err != nil {
			t.Errorf("%s: WriteNew: %v", tc.name, err)
		}
	}
}
