// Package gcs is a small client of the Google Cloud Storage JSON API
// (https://cloud.google.com/storage/docs/json_api) and of Google's OAuth 2.0
// token endpoints: what the catalog needs to keep table metadata in a
// bucket and to hand clients downscoped tokens, over net/http alone.
package gcs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/bingsan/bingsan/vend/httpretry"
)

// DefaultEndpoint is the JSON API of Google Cloud Storage.
const DefaultEndpoint = "https://storage.googleapis.com/storage/v1/"

// Client calls the JSON API of one endpoint. Every operation it offers is
// idempotent (reads, deletes, conditional creates), so it retries failures
// that may be transient a bounded number of times: a store that is down
// answers within seconds.
type Client struct {
	endpoint string // JSON API base, ending in "/"
	upload   string // media upload base, ending in "/"
	http     *http.Client
	tokens   TokenSource // nil: requests carry no credentials
}

// New returns a client of endpoint (empty: DefaultEndpoint) that
// authenticates with tokens (nil: not at all).
func New(endpoint string, hc *http.Client, tokens TokenSource) (*Client, error) {
	if endpoint == "" {
		endpoint = DefaultEndpoint
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("gcs: endpoint %q is not an http(s) URL", endpoint)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	// Uploads go to /upload/storage/v1/ of the same host: the JSON API
	// serves media uploads under that prefix.
	up := *u
	if base, ok := strings.CutSuffix(u.Path, "storage/v1/"); ok {
		up.Path = base + "upload/storage/v1/"
	} else {
		up.Path = "/upload/storage/v1/"
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{endpoint: u.String(), upload: up.String(), http: hc, tokens: tokens}, nil
}

// Error is a refusal of the JSON API: its status, the reason of its first
// error ("notFound", "conditionNotMet", "rateLimitExceeded") and its
// message.
type Error struct {
	Status  int
	Reason  string
	Message string
}

func (e *Error) Error() string {
	s := "gcs: " + strconv.Itoa(e.Status)
	if e.Reason != "" {
		s += " " + e.Reason
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// IsNotFound reports whether err is a 404 of the store.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}

// IsPreconditionFailed reports whether err is a 412 of the store (a
// conditional create found the object).
func IsPreconditionFailed(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusPreconditionFailed
}

// TokenError is a failure to obtain the token a request needs.
type TokenError struct{ Err error }

func (e *TokenError) Error() string { return e.Err.Error() }
func (e *TokenError) Unwrap() error { return e.Err }

// objectURL is the metadata URL of bucket/name; names are one path
// segment, slashes included.
func (c *Client) objectURL(bucket, name string) string {
	return c.endpoint + "b/" + url.PathEscape(bucket) + "/o/" + url.PathEscape(name)
}

// Create uploads data as bucket/name in one request, only if no live
// object has that name (ifGenerationMatch=0): otherwise the store answers
// 412 (IsPreconditionFailed). An object is visible only once complete.
func (c *Client) Create(ctx context.Context, bucket, name string, data []byte) error {
	u := c.upload + "b/" + url.PathEscape(bucket) + "/o?uploadType=media&ifGenerationMatch=0&name=" + url.QueryEscape(name)
	resp, err := c.do(ctx, func() (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(data))
		if err == nil {
			req.Header.Set("Content-Type", "application/octet-stream")
		}
		return req, err
	})
	if err != nil {
		return err
	}
	return drain(resp)
}

// Get returns the content of bucket/name.
func (c *Client) Get(ctx context.Context, bucket, name string) ([]byte, error) {
	resp, err := c.get(ctx, c.objectURL(bucket, name)+"?alt=media")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

// Attrs are what the catalog reads of an object's metadata.
type Attrs struct {
	Size    int64
	Updated time.Time
}

// Stat returns the metadata of bucket/name.
func (c *Client) Stat(ctx context.Context, bucket, name string) (Attrs, error) {
	resp, err := c.get(ctx, c.objectURL(bucket, name)+"?fields=size,updated")
	if err != nil {
		return Attrs{}, err
	}
	defer resp.Body.Close()
	var m struct {
		Size    string    `json:"size"` // int64 as a JSON string
		Updated time.Time `json:"updated"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		return Attrs{}, fmt.Errorf("gcs: object metadata: %w", err)
	}
	size, _ := strconv.ParseInt(m.Size, 10, 64)
	return Attrs{Size: size, Updated: m.Updated}, nil
}

// Delete removes bucket/name; a missing object is a 404 (IsNotFound).
func (c *Client) Delete(ctx context.Context, bucket, name string) error {
	resp, err := c.do(ctx, func() (*http.Request, error) {
		return http.NewRequestWithContext(ctx, http.MethodDelete, c.objectURL(bucket, name), nil)
	})
	if err != nil {
		return err
	}
	return drain(resp)
}

func (c *Client) get(ctx context.Context, u string) (*http.Response, error) {
	return c.do(ctx, func() (*http.Request, error) {
		return http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	})
}

// attempts is how many times a request is sent at most.
const attempts = httpretry.Attempts

// do sends the request newReq builds, with credentials, retrying network
// failures, 408, 429 and 5xx. A 2xx response is returned open; any other
// status is an *Error.
func (c *Client) do(ctx context.Context, newReq func() (*http.Request, error)) (*http.Response, error) {
	return httpretry.Do(ctx, c.http, func() (*http.Request, error) {
		req, err := newReq()
		if err != nil {
			return nil, err
		}
		if c.tokens != nil {
			tok, err := c.tokens.Token(ctx)
			if err != nil {
				return nil, &TokenError{Err: err}
			}
			req.Header.Set("Authorization", tok.header())
		}
		return req, nil
	}, func(status int) bool {
		return status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500
	}, readError)
}

func drain(resp *http.Response) error {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	return resp.Body.Close()
}

// readError reads a JSON API error answer and closes its body.
func readError(resp *http.Response) error {
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	e := &Error{Status: resp.StatusCode}
	var m struct {
		Error struct {
			Message string `json:"message"`
			Errors  []struct {
				Reason string `json:"reason"`
			} `json:"errors"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &m) == nil && (m.Error.Message != "" || len(m.Error.Errors) > 0) {
		e.Message = m.Error.Message
		if len(m.Error.Errors) > 0 {
			e.Reason = m.Error.Errors[0].Reason
		}
		return e
	}
	e.Message = strings.TrimSpace(string(body))
	if e.Message == "" {
		e.Message = http.StatusText(resp.StatusCode)
	}
	return e
}
