package conformance

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
)

type ctxKey int

const (
	sinkKey ctxKey = iota
	invalidRequestKey
	suiteRequestKey
	extensionRequestKey
)

// Sink receives the violations of the exchanges made with its context.
type Sink interface {
	AddViolation(Violation)
}

// WithSink attributes the exchanges made with ctx to s.
func WithSink(ctx context.Context, s Sink) context.Context {
	return context.WithValue(ctx, sinkKey, s)
}

// InvalidRequest marks requests made with ctx as deliberately invalid: only
// their responses are checked against the spec.
func InvalidRequest(ctx context.Context) context.Context {
	return context.WithValue(ctx, invalidRequestKey, true)
}

// SuiteRequest marks requests that the suite builds itself: their request
// side is checked against the spec too (a violation there is a bug of the
// suite). Requests of real clients (iceberg-go, iceberg-js) are the
// clients' business: only the catalog's responses to them are judged.
func SuiteRequest(ctx context.Context) context.Context {
	return context.WithValue(ctx, suiteRequestKey, true)
}

// ExtensionRequest marks requests to Bingsan's own extension API
// (openapi/bingsan.yaml, e.g. creating a function): the Iceberg spec does
// not describe them, so neither side is checked against it.
func ExtensionRequest(ctx context.Context) context.Context {
	return context.WithValue(ctx, extensionRequestKey, true)
}

// Transport is an http.RoundTripper that validates every request and
// response it carries against the spec and reports violations to the Sink
// in the request's context (or to Fallback when there is none). With
// several Nodes, requests are spread over them round-robin.
type Transport struct {
	Base      http.RoundTripper
	Validator *Validator
	Fallback  Sink
	// Nodes, when set, are the base URLs (scheme://host:port) requests are
	// sent to in turn, whatever host they name.
	Nodes []*url.URL

	next     atomic.Uint64
	Requests atomic.Int64
}

func (t *Transport) base() http.RoundTripper {
	if t.Base != nil {
		return t.Base
	}
	return http.DefaultTransport
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		reqBody = b
	}
	out := req.Clone(req.Context())
	out.Body = io.NopCloser(bytes.NewReader(reqBody))
	out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(reqBody)), nil }
	if len(t.Nodes) > 0 {
		n := t.Nodes[int(t.next.Add(1)-1)%len(t.Nodes)]
		u := *out.URL
		u.Scheme, u.Host = n.Scheme, n.Host
		out.URL, out.Host = &u, n.Host
	}
	t.Requests.Add(1)
	resp, err := t.base().RoundTrip(out)
	if err != nil {
		return nil, err
	}
	respBody, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(respBody))
	if t.Validator != nil && req.Context().Value(extensionRequestKey) == nil {
		checkReq := req.Context().Value(suiteRequestKey) != nil && req.Context().Value(invalidRequestKey) == nil
		if vs := t.Validator.Check(out, reqBody, resp, respBody, checkReq); len(vs) > 0 {
			sink, _ := req.Context().Value(sinkKey).(Sink)
			if sink == nil {
				sink = t.Fallback
			}
			for _, v := range vs {
				if sink != nil {
					sink.AddViolation(v)
				}
			}
		}
	}
	return resp, nil
}

// violationLog is a Sink that keeps what it receives.
type violationLog struct {
	mu sync.Mutex
	vs []Violation
}

func (l *violationLog) AddViolation(v Violation) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.vs = append(l.vs, v)
}

func (l *violationLog) take() []Violation {
	l.mu.Lock()
	defer l.mu.Unlock()
	vs := l.vs
	l.vs = nil
	return vs
}
