package gcs

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
)

// DefaultSTSURL is Google's token exchange endpoint.
const DefaultSTSURL = "https://sts.googleapis.com/v1/token"

// AccessBoundaryRule is one rule of a Credential Access Boundary
// (https://cloud.google.com/iam/docs/downscoping-short-lived-credentials).
type AccessBoundaryRule struct {
	AvailableResource    string                 `json:"availableResource"`
	AvailablePermissions []string               `json:"availablePermissions"`
	Condition            *AvailabilityCondition `json:"availabilityCondition,omitempty"`
}

// AvailabilityCondition is a CEL expression limiting a rule.
type AvailabilityCondition struct {
	Expression string `json:"expression"`
	Title      string `json:"title,omitempty"`
}

// Downscope exchanges subject (the catalog's token) at the token exchange
// endpoint stsURL for a token that can do no more than rules allow
// (RFC 8693 token exchange with the boundary as options). When the answer
// gives no lifetime, the token lives as long as subject. A refusal is an
// *OAuthError.
func Downscope(ctx context.Context, hc *http.Client, stsURL string, subject Token, rules []AccessBoundaryRule) (Token, error) {
	var boundary struct {
		AccessBoundary struct {
			Rules []AccessBoundaryRule `json:"accessBoundaryRules"`
		} `json:"accessBoundary"`
	}
	boundary.AccessBoundary.Rules = rules
	opts, err := json.Marshal(boundary)
	if err != nil {
		return Token{}, err
	}
	form := url.Values{
		"grant_type":           {"urn:ietf:params:oauth:grant-type:token-exchange"},
		"subject_token_type":   {"urn:ietf:params:oauth:token-type:access_token"},
		"requested_token_type": {"urn:ietf:params:oauth:token-type:access_token"},
		"subject_token":        {subject.Value},
		"options":              {string(opts)},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, stsURL, strings.NewReader(form.Encode()))
	if err != nil {
		return Token{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := hc.Do(req)
	if err != nil {
		return Token{}, err
	}
	tok, err := readToken(resp)
	if err != nil {
		return Token{}, err
	}
	if tok.Expiry.IsZero() {
		tok.Expiry = subject.Expiry
	}
	return tok, nil
}
