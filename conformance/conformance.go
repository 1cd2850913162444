// Package conformance is Bingsan's spec-conformance suite for Iceberg REST
// catalogs. It drives a catalog through iceberg-go's REST client wherever
// that client can express a case (Parquet appends included) and through
// raw HTTP otherwise, and checks the status codes, error types and messages
// that the Java and Go clients rely on. Every request and response passes
// through a Transport that validates it against the pinned upstream
// OpenAPI spec; a violation fails the case that made the request.
//
// The behaviour groups are listed in Groups. Run executes them against one
// catalog (any URL: it assumes nothing of Bingsan) and returns a Summary
// with the passed and failed cases of each group.
package conformance

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/iceberg-go/catalog/rest"
)

// Target is a catalog under test.
type Target struct {
	Name string
	// URL is the catalog's base URL (the part before /v1).
	URL string
	// Nodes, when several, are base URLs that serve the same catalog;
	// requests are spread over them round-robin.
	Nodes []string
	// Warehouse, when set, is passed as ?warehouse= to /v1/config.
	Warehouse string
	// Purge, when set, makes the catalog delete the files of purged tables
	// now (an in-process server's purger); otherwise the suite waits for
	// the catalog to do so on its own, when the files are local.
	Purge func(context.Context) error
}

// Case is one checked behaviour.
type Case struct {
	Name string
	Run  func(c *C)
}

// Group is a behaviour group of the summary table.
type Group struct {
	Name  string
	Cases []Case
}

// Groups is the whole suite, in the order of the summary table.
func Groups() []Group {
	return []Group{
		{"config", configCases()},
		{"namespaces", namespaceCases()},
		{"tables: create, load, list", tableCases()},
		{"tables: rename", renameCases()},
		{"tables: drop and purge", dropCases()},
		{"commits: schema, spec, sort order", evolutionCases()},
		{"appends (Parquet, concurrent)", appendCases()},
		{"table transactions", transactionCases()},
		{"register", registerCases()},
		{"views", viewCases()},
		{"functions", functionCases()},
		{"scan planning", planningCases()},
	}
}

// Counts is one group's line of the summary.
type Counts struct {
	Group                   string
	Passed, Failed, Skipped int
	FailedCases             []string
}

// Summary is the outcome of a run against one target.
type Summary struct {
	Target   string
	Groups   []*Counts
	Requests int64
	Elapsed  time.Duration
}

// Markdown renders the summary table.
func (s *Summary) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "| group | passed | failed |\n|---|---:|---:|\n")
	var p, f, sk int
	for _, g := range s.Groups {
		fmt.Fprintf(&b, "| %s | %d | %d |\n", g.Group, g.Passed, g.Failed)
		p, f, sk = p+g.Passed, f+g.Failed, sk+g.Skipped
	}
	fmt.Fprintf(&b, "| **total** | **%d** | **%d** |\n", p, f)
	if sk > 0 {
		fmt.Fprintf(&b, "\n%d cases skipped (the catalog lacks what they need).\n", sk)
	}
	for _, g := range s.Groups {
		for _, c := range g.FailedCases {
			fmt.Fprintf(&b, "\nfailed: %s / %s", g.Group, c)
		}
	}
	return b.String()
}

// Totals returns the passed and failed case counts.
func (s *Summary) Totals() (passed, failed int) {
	for _, g := range s.Groups {
		passed += g.Passed
		failed += g.Failed
	}
	return
}

// env is what the cases of one run share.
type env struct {
	target    *Target
	transport *Transport
	client    *http.Client
	prefix    string // "" or the prefix segment from /v1/config
	config    configResponse
	runID     string
	seq       atomic.Int64
}

type configResponse struct {
	Defaults  map[string]string `json:"defaults"`
	Overrides map[string]string `json:"overrides"`
	Endpoints []string          `json:"endpoints"`
}

// Run executes every group against target as subtests of t and returns the
// summary. Violations of the spec fail the case whose request caused them.
func Run(t *testing.T, target *Target) *Summary {
	t.Helper()
	began := time.Now()
	v, err := LoadSpec()
	if err != nil {
		t.Fatalf("loading the spec: %v", err)
	}
	e := &env{target: target, runID: randomID()}
	unattributed := &violationLog{}
	e.transport = &Transport{Validator: v, Fallback: unattributed, Base: &http.Transport{
		MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second,
	}}
	nodes := target.Nodes
	if len(nodes) == 0 {
		nodes = []string{target.URL}
	}
	for _, n := range nodes {
		u, err := url.Parse(n)
		if err != nil {
			t.Fatalf("node URL %q: %v", n, err)
		}
		e.transport.Nodes = append(e.transport.Nodes, u)
	}
	e.client = &http.Client{Transport: e.transport, Timeout: 2 * time.Minute}
	defer e.client.CloseIdleConnections()

	// The configuration decides the path prefix for everything else.
	cfgURL := strings.TrimRight(target.URL, "/") + "/v1/config"
	if target.Warehouse != "" {
		cfgURL += "?warehouse=" + url.QueryEscape(target.Warehouse)
	}
	resp, err := e.client.Get(cfgURL)
	if err != nil {
		t.Fatalf("GET %s: %v", cfgURL, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || json.Unmarshal(body, &e.config) != nil {
		t.Fatalf("GET %s: %d %s", cfgURL, resp.StatusCode, body)
	}
	e.prefix = e.config.Overrides["prefix"]
	if e.prefix == "" {
		e.prefix = e.config.Defaults["prefix"]
	}

	sum := &Summary{Target: target.Name}
	for _, g := range Groups() {
		counts := &Counts{Group: g.Name}
		sum.Groups = append(sum.Groups, counts)
		t.Run(g.Name, func(t *testing.T) {
			for _, cs := range g.Cases {
				// t.Run reports true for skipped cases too; tell them apart.
				var skipped bool
				ok := t.Run(cs.Name, func(t *testing.T) {
					defer func() { skipped = t.Skipped() }()
					e.runCase(t, cs)
				})
				switch {
				case !ok:
					counts.Failed++
					counts.FailedCases = append(counts.FailedCases, cs.Name)
				case skipped:
					counts.Skipped++
				default:
					counts.Passed++
				}
			}
		})
	}
	for _, v := range unattributed.take() {
		t.Errorf("%s", v)
	}
	sum.Requests = e.transport.Requests.Load()
	sum.Elapsed = time.Since(began)
	return sum
}

func (e *env) runCase(t *testing.T, cs Case) {
	c := &C{T: t, env: e, log: &violationLog{}}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	c.ctx = WithSink(ctx, c.log)
	defer func() {
		for _, v := range c.log.take() {
			t.Errorf("%s", v)
		}
	}()
	defer c.cleanup()
	cs.Run(c)
}

func randomID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// C is the handle of one running case.
type C struct {
	*testing.T
	env      *env
	ctx      context.Context
	log      *violationLog
	mu       sync.Mutex
	cleanups []func()
}

// Ctx is the context to make requests with: it attributes them to the case.
func (c *C) Ctx() context.Context { return c.ctx }

// Name returns a name no other case of any run uses.
func (c *C) Name(base string) string {
	return fmt.Sprintf("%s_%s_%d", base, c.env.runID, c.env.seq.Add(1))
}

// defer registers fn to run at the end of the case, last first.
func (c *C) onCleanup(fn func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cleanups = append(c.cleanups, fn)
}

func (c *C) cleanup() {
	c.mu.Lock()
	fns := c.cleanups
	c.cleanups = nil
	c.mu.Unlock()
	for i := len(fns) - 1; i >= 0; i-- {
		fns[i]()
	}
}

// Catalog returns an iceberg-go REST client of the catalog whose requests
// go through the validating transport.
func (c *C) Catalog() *rest.Catalog {
	c.Helper()
	opts := []rest.Option{rest.WithCustomTransport(c.env.transport)}
	if c.env.target.Warehouse != "" {
		opts = append(opts, rest.WithWarehouseLocation(c.env.target.Warehouse))
	}
	cat, err := rest.NewCatalog(c.ctx, "conformance", c.env.target.URL, opts...)
	if err != nil {
		c.Fatalf("iceberg-go REST client: %v", err)
	}
	return cat
}

// Response is a raw HTTP answer.
type Response struct {
	Method, Path string
	Status       int
	Header       http.Header
	Body         []byte
}

// ErrorModel is the error of an Iceberg error response.
type ErrorModel struct {
	Message string `json:"message"`
	Type    string `json:"type"`
	Code    int    `json:"code"`
}

// Error decodes the body as an Iceberg error response.
func (r *Response) Error() ErrorModel {
	var e struct {
		Error ErrorModel `json:"error"`
	}
	_ = json.Unmarshal(r.Body, &e)
	return e.Error
}

// JSON decodes the body into v.
func (r *Response) JSON(c *C, v any) {
	c.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		c.Fatalf("%s %s: decoding %d response: %v\n%s", r.Method, r.Path, r.Status, err, r.Body)
	}
}

func (r *Response) String() string {
	return fmt.Sprintf("%s %s -> %d %s", r.Method, r.Path, r.Status, bytes.TrimSpace(r.Body))
}

// path builds a catalog route under /v1/{prefix}/ from segments, each
// path-escaped.
func (c *C) path(segs ...string) string {
	p := "/v1"
	if c.env.prefix != "" {
		p += "/" + url.PathEscape(c.env.prefix)
	}
	for _, s := range segs {
		p += "/" + url.PathEscape(s)
	}
	return p
}

// nsPath is the path segment of a namespace (levels joined by 0x1F).
func nsSeg(levels []string) string { return strings.Join(levels, "\x1f") }

// Do sends a raw request; path is absolute (see path), body is JSON text
// or "". The request is checked against the spec like every other.
func (c *C) Do(method, path, body string) *Response {
	c.Helper()
	return c.do(c.ctx, method, path, body, nil)
}

// DoExtension sends a request to Bingsan's extension API, which the
// Iceberg spec does not describe: nothing of it is validated.
func (c *C) DoExtension(method, path, body string) *Response {
	c.Helper()
	return c.do(ExtensionRequest(c.ctx), method, path, body, nil)
}

// DoInvalid sends a request that is meant to break the spec: only the
// response is validated.
func (c *C) DoInvalid(method, path, body string) *Response {
	c.Helper()
	return c.do(InvalidRequest(c.ctx), method, path, body, nil)
}

func (c *C) do(ctx context.Context, method, path, body string, header http.Header) *Response {
	c.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(SuiteRequest(ctx), method, strings.TrimRight(c.env.target.URL, "/")+path, rd)
	if err != nil {
		c.Fatalf("%s %s: %v", method, path, err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.env.client.Do(req)
	if err != nil {
		c.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.Fatalf("%s %s: reading response: %v", method, path, err)
	}
	return &Response{Method: method, Path: path, Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// Expect fails the case unless r has the status.
func (c *C) Expect(r *Response, status int) {
	c.Helper()
	if r.Status != status {
		c.Fatalf("want %d: %s", status, r)
	}
}

// ExpectError fails the case unless r is an Iceberg error response with
// the status and type and, when message is not "", a message containing it.
func (c *C) ExpectError(r *Response, status int, typ, message string) {
	c.Helper()
	e := r.Error()
	switch {
	case r.Status != status:
		c.Fatalf("want %d %s: %s", status, typ, r)
	case e.Type != typ:
		c.Fatalf("want error.type %s: %s", typ, r)
	case e.Code != status:
		c.Fatalf("error.code %d differs from the status: %s", e.Code, r)
	case message != "" && !strings.Contains(e.Message, message):
		c.Fatalf("want a message containing %q: %s", message, r)
	}
}

// ExpectErrorPrefix is ExpectError for a message that must start with prefix.
func (c *C) ExpectErrorPrefix(r *Response, status int, typ, prefix string) {
	c.Helper()
	c.ExpectError(r, status, typ, "")
	if m := r.Error().Message; !strings.HasPrefix(m, prefix) {
		c.Fatalf("want a message starting with %q, got %q", prefix, m)
	}
}

// Namespace creates a fresh namespace named after base (one level, or
// below parent) and drops it, with whatever the case left in it, at the end.
func (c *C) Namespace(base string, parent ...string) []string {
	c.Helper()
	levels := append(slices.Clone(parent), c.Name(base))
	r := c.Do("POST", c.path("namespaces"), mustJSON(map[string]any{"namespace": levels}))
	c.Expect(r, 200)
	c.onCleanup(func() { c.dropNamespaceDeep(levels) })
	return levels
}

// dropNamespaceDeep drops what a case left: functions, views, tables,
// child namespaces, then the namespace. Failures are not the case's concern.
func (c *C) dropNamespaceDeep(levels []string) {
	ctx := c.ctx
	if ctx.Err() != nil {
		return
	}
	ns := nsSeg(levels)
	var children struct {
		Namespaces [][]string `json:"namespaces"`
	}
	if r := c.do(ctx, "GET", c.path("namespaces")+"?parent="+url.QueryEscape(ns), "", nil); r.Status == 200 {
		_ = json.Unmarshal(r.Body, &children)
		for _, ch := range children.Namespaces {
			if len(ch) > len(levels) {
				c.dropNamespaceDeep(ch)
			}
		}
	}
	var functions struct {
		Identifiers [][]string `json:"identifiers"`
	}
	if r := c.do(ctx, "GET", c.path("namespaces", ns, "functions"), "", nil); r.Status == 200 {
		_ = json.Unmarshal(r.Body, &functions)
		for _, id := range functions.Identifiers {
			if len(id) > 0 {
				c.do(ExtensionRequest(ctx), "DELETE", c.path("namespaces", ns, "functions", id[len(id)-1]), "", nil)
			}
		}
	}
	for _, kind := range []string{"views", "tables"} {
		var list struct {
			Identifiers []struct {
				Name string `json:"name"`
			} `json:"identifiers"`
		}
		if r := c.do(ctx, "GET", c.path("namespaces", ns, kind), "", nil); r.Status == 200 {
			_ = json.Unmarshal(r.Body, &list)
			for _, id := range list.Identifiers {
				c.do(ctx, "DELETE", c.path("namespaces", ns, kind, id.Name), "", nil)
			}
		}
	}
	c.do(ctx, "DELETE", c.path("namespaces", ns), "", nil)
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// dotted is how Java names an identifier in messages: levels and name
// joined by dots.
func dotted(levels []string, name string) string {
	return strings.Join(append(slices.Clone(levels), name), ".")
}
