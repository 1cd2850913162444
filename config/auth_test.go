package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestAuthKeys(t *testing.T) {
	t.Parallel()
	yml := `
auth:
  enabled: true
  token-ttl: 15m
  bootstrap-client-id: ops
  bootstrap-client-secret: hunter2
  metrics-protected: true
  oidc:
    issuers:
      - issuer: https://idp.example.com/realms/data
        audience: bingsan
        roles-claim: groups
        role-mappings: {data-eng: writers}
        console-client-id: bingsan-console
        console-scopes: openid groups
      - issuer: http://127.0.0.1:5556
        principal-claim: email
        principal-prefix: "dex:"
        jwks-url: http://127.0.0.1:5556/keys
`
	c, _, err := run(t, nil, nil, yml)
	if err != nil {
		t.Fatal(err)
	}
	want := AuthConfig{
		Enabled: true, TokenTTL: 15 * time.Minute, SigningKeyRotation: 7 * 24 * time.Hour, AuditRetention: 90 * 24 * time.Hour,
		BootstrapClientID: "ops", BootstrapClientSecret: "hunter2", MetricsProtected: true,
		OIDCIssuers: []OIDCIssuerConfig{
			{Issuer: "https://idp.example.com/realms/data", Audience: "bingsan", RolesClaim: "groups", RoleMappings: map[string]string{"data-eng": "writers"},
				ConsoleClientID: "bingsan-console", ConsoleScopes: "openid groups"},
			{Issuer: "http://127.0.0.1:5556", PrincipalClaim: "email", PrincipalPrefix: "dex:", JWKSURL: "http://127.0.0.1:5556/keys"},
		},
	}
	if !reflect.DeepEqual(c.Auth, want) {
		t.Fatalf("auth from YAML:\n%+v\nwant\n%+v", c.Auth, want)
	}

	// The same list from the environment, as YAML flow text.
	c, _, err = run(t, nil, map[string]string{"BINGSAN_AUTH_OIDC_ISSUERS": `[{issuer: "https://idp.example.com", audience: x}]`}, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Auth.OIDCIssuers) != 1 || c.Auth.OIDCIssuers[0].Audience != "x" || c.Auth.Enabled {
		t.Fatalf("auth from the environment: %+v", c.Auth)
	}

	for name, tc := range map[string]struct {
		args []string
		yml  string
		msg  string
	}{
		"secret without id":  {args: []string{"--auth.bootstrap-client-secret=s3cr3t"}, msg: "must be set together"},
		"unknown issuer key": {yml: "auth: {oidc: {issuers: [{issuer: 'https://a.example', audiance: x}]}}", msg: `unknown key "audiance"`},
		"issuer not a URL":   {yml: "auth: {oidc: {issuers: [{issuer: 'idp'}]}}", msg: "must be an http(s) URL"},
		"issuer twice":       {yml: "auth: {oidc: {issuers: [{issuer: 'https://a.example'}, {issuer: 'https://a.example'}]}}", msg: "listed twice"},
		"zero ttl":           {args: []string{"--auth.token-ttl=0s"}, msg: "auth.token-ttl"},
	} {
		_, _, err := run(t, tc.args, nil, tc.yml)
		if err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: %v, want %q", name, err, tc.msg)
		}
		if err != nil && strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("%s: the error shows a secret: %v", name, err)
		}
	}
}
