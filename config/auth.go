package config

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// AuthConfig configures authentication and authorization (auth.*).
type AuthConfig struct {
	Enabled               bool
	TokenTTL              time.Duration
	SigningKeyRotation    time.Duration
	BootstrapClientID     string
	BootstrapClientSecret string
	KeyEncryptionSecret   string
	MetricsProtected      bool
	AuditRetention        time.Duration
	OIDCIssuers           []OIDCIssuerConfig // auth.oidc.issuers
}

// OIDCIssuerConfig is one entry of auth.oidc.issuers.
type OIDCIssuerConfig struct {
	Issuer          string            `yaml:"issuer"`
	Audience        string            `yaml:"audience"`
	PrincipalClaim  string            `yaml:"principal-claim"`
	PrincipalPrefix string            `yaml:"principal-prefix"`
	RolesClaim      string            `yaml:"roles-claim"`
	RoleMappings    map[string]string `yaml:"role-mappings"`
	JWKSURL         string            `yaml:"jwks-url"`
	// ConsoleClientID, when set, offers sign-in with this issuer in the
	// web console: the authorization-code flow with PKCE, as this public
	// client (its redirect URI is <catalog>/ui/).
	ConsoleClientID string `yaml:"console-client-id"`
	// ConsoleScopes are the scopes the console asks for (default "openid").
	ConsoleScopes string `yaml:"console-scopes"`
}

const keyOIDCIssuers = "auth.oidc.issuers"

// parseIssuerList reads auth.oidc.issuers from a flag or environment
// variable: YAML (flow) text.
func parseIssuerList(s string) ([]OIDCIssuerConfig, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(s), &doc); err != nil {
		return nil, fmt.Errorf("want a YAML list of issuers: %v", err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, nil
	}
	root := doc.Content[0]
	return issuerList(keyOIDCIssuers, root, root.Kind == yaml.ScalarNode && root.Tag == "!!null")
}

// issuerList reads a sequence node of issuers; path names the source in
// messages. Unknown keys are errors, as everywhere in the file.
func issuerList(path string, n *yaml.Node, isNull bool) ([]OIDCIssuerConfig, error) {
	if isNull {
		return nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("config: %s:%d: %s: want a list of issuers", path, n.Line, keyOIDCIssuers)
	}
	var out []OIDCIssuerConfig
	var errs []error
	for _, item := range n.Content {
		if item.Kind == yaml.AliasNode {
			item = item.Alias
		}
		if item.Kind != yaml.MappingNode {
			errs = append(errs, fmt.Errorf("config: %s:%d: %s: each issuer is a mapping of keys", path, item.Line, keyOIDCIssuers))
			continue
		}
		var c OIDCIssuerConfig
		if err := item.Decode(&c); err != nil {
			errs = append(errs, fmt.Errorf("config: %s:%d: %s: %v", path, item.Line, keyOIDCIssuers, err))
			continue
		}
		known := map[string]bool{"issuer": true, "audience": true, "principal-claim": true, "principal-prefix": true,
			"roles-claim": true, "role-mappings": true, "jwks-url": true, "console-client-id": true, "console-scopes": true}
		for i := 0; i+1 < len(item.Content); i += 2 {
			if k := item.Content[i]; !known[k.Value] {
				errs = append(errs, fmt.Errorf("config: %s:%d: %s: unknown key %q (issuer, audience, principal-claim, principal-prefix, roles-claim, role-mappings, jwks-url, console-client-id, console-scopes)",
					path, k.Line, keyOIDCIssuers, k.Value))
			}
		}
		out = append(out, c)
	}
	return out, errors.Join(errs...)
}

// formatIssuerList names the issuers.
func formatIssuerList(is []OIDCIssuerConfig) string {
	names := make([]string, len(is))
	for i, c := range is {
		names[i] = c.Issuer
	}
	return strings.Join(names, ",")
}

// validateAuth checks what the key rules cannot.
func (c Config) validateAuth() []error {
	var errs []error
	a := c.Auth
	if (a.BootstrapClientID == "") != (a.BootstrapClientSecret == "") {
		errs = append(errs, errors.New("config: auth.bootstrap-client-id and auth.bootstrap-client-secret must be set together"))
	}
	seen := map[string]bool{}
	for i, iss := range a.OIDCIssuers {
		label := fmt.Sprintf("%s[%d]", keyOIDCIssuers, i)
		u, err := url.Parse(iss.Issuer)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs = append(errs, fmt.Errorf("config: %s: issuer %q must be an http(s) URL", label, iss.Issuer))
		}
		if seen[iss.Issuer] {
			errs = append(errs, fmt.Errorf("config: %s: issuer %q is listed twice", label, iss.Issuer))
		}
		seen[iss.Issuer] = true
		if iss.JWKSURL != "" {
			if u, err := url.Parse(iss.JWKSURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				errs = append(errs, fmt.Errorf("config: %s: jwks-url %q must be an http(s) URL", label, iss.JWKSURL))
			}
		}
	}
	return errs
}
