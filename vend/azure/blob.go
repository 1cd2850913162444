// Package azure is a small client of the Azure Blob Storage REST API
// (https://learn.microsoft.com/rest/api/storageservices/blob-service-rest-api),
// of its shared access signatures and of Azure AD (Microsoft Entra ID)
// token endpoints: what the catalog needs to keep table metadata in a
// container and to hand clients SAS tokens, over net/http alone.
package azure

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bingsan/bingsan/vend/httpretry"
)

// APIVersion is the REST API version the client speaks (x-ms-version).
const APIVersion = "2021-08-06"

// StorageScope is the Azure AD scope of tokens for Azure Storage.
const StorageScope = "https://storage.azure.com/.default"

// Client calls the Blob service of one storage account, authenticating
// with the account's shared key or with Azure AD tokens. Every operation it
// offers is idempotent (reads, deletes, conditional creates, delegation
// keys), so it retries failures that may be transient a bounded number of
// times: a store that is down answers within seconds.
type Client struct {
	account  string
	endpoint *url.URL // Blob service URL, path ending in "/"
	http     *http.Client
	key      []byte      // shared key; nil: tokens
	tokens   TokenSource // nil: shared key
}

// NewClient returns a client of account at endpoint (the Blob service
// URL; path-style for emulators: https://127.0.0.1:10000/account/) that
// signs requests with accountKey (base64, as Azure shows it) when given,
// else authenticates with tokens.
func NewClient(account string, endpoint *url.URL, hc *http.Client, accountKey string, tokens TokenSource) (*Client, error) {
	c := &Client{account: account, endpoint: endpoint, http: hc, tokens: tokens}
	if c.http == nil {
		c.http = http.DefaultClient
	}
	if accountKey != "" {
		k, err := base64.StdEncoding.DecodeString(accountKey)
		if err != nil {
			return nil, errors.New("azure: the account key is not base64")
		}
		c.key = k
	} else if tokens == nil {
		return nil, errors.New("azure: no account key and no Azure AD credential")
	}
	return c, nil
}

// Error is a refusal of the Blob service: its status and error code
// ("BlobNotFound", "BlobAlreadyExists", "AuthenticationFailed").
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string {
	s := "azure: " + strconv.Itoa(e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Message != "" {
		s += ": " + firstLine(e.Message)
	}
	return s
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(s) // and a CR of a CRLF
}

// TokenError is a failure to obtain the token a request needs.
type TokenError struct{ Err error }

func (e *TokenError) Error() string { return e.Err.Error() }
func (e *TokenError) Unwrap() error { return e.Err }

// blobURL is the URL of container/name; the name's slashes stay.
func (c *Client) blobURL(container, name string) string {
	segs := strings.Split(name, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	u := *c.endpoint
	u.Path = c.endpoint.Path + container + "/" + strings.Join(segs, "/")
	u.RawPath = c.endpoint.EscapedPath() + url.PathEscape(container) + "/" + strings.Join(segs, "/")
	return u.String()
}

// Create stores data as the block blob container/name in one Put Blob,
// only if no blob has that name (If-None-Match: *): otherwise the service
// answers 409 BlobAlreadyExists (or 412 ConditionNotMet). A Put Blob is
// atomic.
func (c *Client) Create(ctx context.Context, container, name string, data []byte) error {
	resp, err := c.do(ctx, func() (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, c.blobURL(container, name), bytes.NewReader(data))
		if err == nil {
			req.Header.Set("x-ms-blob-type", "BlockBlob")
			req.Header.Set("Content-Type", "application/octet-stream")
			req.Header.Set("If-None-Match", "*")
		}
		return req, err
	})
	if err != nil {
		return err
	}
	return drain(resp)
}

// Get returns the content of container/name.
func (c *Client) Get(ctx context.Context, container, name string) ([]byte, error) {
	resp, err := c.do(ctx, func() (*http.Request, error) {
		return http.NewRequestWithContext(ctx, http.MethodGet, c.blobURL(container, name), nil)
	})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

// Exists reads the properties of container/name; a missing blob is a 404
// *Error.
func (c *Client) Exists(ctx context.Context, container, name string) error {
	resp, err := c.do(ctx, func() (*http.Request, error) {
		return http.NewRequestWithContext(ctx, http.MethodHead, c.blobURL(container, name), nil)
	})
	if err != nil {
		return err
	}
	return drain(resp)
}

// Delete removes container/name (with its snapshots); a missing blob is a
// 404 *Error.
func (c *Client) Delete(ctx context.Context, container, name string) error {
	resp, err := c.do(ctx, func() (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodDelete, c.blobURL(container, name), nil)
		if err == nil {
			req.Header.Set("x-ms-delete-snapshots", "include")
		}
		return req, err
	})
	if err != nil {
		return err
	}
	return drain(resp)
}

// UserDelegationKey is a key Azure issues to an Azure AD identity for
// signing user-delegation SAS.
type UserDelegationKey struct {
	ObjectID string `xml:"SignedOid"`
	TenantID string `xml:"SignedTid"`
	Start    string `xml:"SignedStart"`
	Expiry   string `xml:"SignedExpiry"`
	Service  string `xml:"SignedService"`
	Version  string `xml:"SignedVersion"`
	Value    string `xml:"Value"` // base64
}

// GetUserDelegationKey asks for a key valid from start to expiry; the
// client must authenticate with Azure AD tokens.
func (c *Client) GetUserDelegationKey(ctx context.Context, start, expiry time.Time) (UserDelegationKey, error) {
	body := `<?xml version="1.0" encoding="utf-8"?><KeyInfo><Start>` + start.UTC().Format(TimeFormat) +
		`</Start><Expiry>` + expiry.UTC().Format(TimeFormat) + `</Expiry></KeyInfo>`
	u := c.endpoint.String() + "?restype=service&comp=userdelegationkey"
	resp, err := c.do(ctx, func() (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(body))
		if err == nil {
			req.Header.Set("Content-Type", "application/xml")
		}
		return req, err
	})
	if err != nil {
		return UserDelegationKey{}, err
	}
	defer resp.Body.Close()
	var k UserDelegationKey
	if err := xml.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&k); err != nil {
		return UserDelegationKey{}, fmt.Errorf("azure: user delegation key: %w", err)
	}
	if k.Value == "" || k.ObjectID == "" {
		return UserDelegationKey{}, errors.New("azure: the user delegation key answer holds no key")
	}
	return k, nil
}

// do sends the request newReq builds, authenticated, retrying network
// failures, 408, 429 and 5xx. A 2xx response is returned open; any other
// status is an *Error.
func (c *Client) do(ctx context.Context, newReq func() (*http.Request, error)) (*http.Response, error) {
	return httpretry.Do(ctx, c.http, func() (*http.Request, error) {
		req, err := newReq()
		if err != nil {
			return nil, err
		}
		req.Header.Set("x-ms-version", APIVersion)
		req.Header.Set("x-ms-date", time.Now().UTC().Format(http.TimeFormat))
		if c.key != nil {
			c.signSharedKey(req)
		} else {
			tok, err := c.tokens.Token(ctx, StorageScope)
			if err != nil {
				return nil, &TokenError{Err: err}
			}
			req.Header.Set("Authorization", "Bearer "+tok.Value)
		}
		return req, nil
	}, func(status int) bool {
		return status == http.StatusRequestTimeout || status == http.StatusTooManyRequests ||
			(status >= 500 && status != http.StatusNotImplemented && status != http.StatusHTTPVersionNotSupported)
	}, readError)
}

// signSharedKey adds the Shared Key authorization of req
// (https://learn.microsoft.com/rest/api/storageservices/authorize-with-shared-key).
func (c *Client) signSharedKey(req *http.Request) {
	h := req.Header
	length := ""
	if req.ContentLength > 0 {
		length = strconv.FormatInt(req.ContentLength, 10)
	}
	var sb strings.Builder
	for _, v := range []string{req.Method, h.Get("Content-Encoding"), h.Get("Content-Language"), length, h.Get("Content-MD5"),
		h.Get("Content-Type"), "" /* Date: x-ms-date is set */, h.Get("If-Modified-Since"), h.Get("If-Match"),
		h.Get("If-None-Match"), h.Get("If-Unmodified-Since"), h.Get("Range")} {
		sb.WriteString(v)
		sb.WriteByte('\n')
	}
	var names []string
	for name := range h {
		if lower := strings.ToLower(name); strings.HasPrefix(lower, "x-ms-") {
			names = append(names, lower)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		sb.WriteString(name + ":" + strings.TrimSpace(h.Get(name)) + "\n")
	}
	sb.WriteString("/" + c.account + req.URL.EscapedPath())
	q := req.URL.Query()
	params := make([]string, 0, len(q))
	for name := range q {
		params = append(params, name)
	}
	slices.Sort(params)
	for _, name := range params {
		vals := slices.Clone(q[name])
		slices.Sort(vals)
		sb.WriteString("\n" + strings.ToLower(name) + ":" + strings.Join(vals, ","))
	}
	h.Set("Authorization", "SharedKey "+c.account+":"+hmacBase64(c.key, sb.String()))
}

func hmacBase64(key []byte, s string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(s))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func drain(resp *http.Response) error {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	return resp.Body.Close()
}

// readError reads a Blob service error answer and closes its body.
func readError(resp *http.Response) error {
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	e := &Error{Status: resp.StatusCode, Code: resp.Header.Get("x-ms-error-code")}
	var x struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	if xml.Unmarshal(body, &x) == nil {
		if e.Code == "" {
			e.Code = x.Code
		}
		e.Message = x.Message
	}
	return e
}
