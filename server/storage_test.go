package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/rest"
	_ "github.com/apache/iceberg-go/io/gocloud/s3" // s3:// for the client
	"github.com/apache/iceberg-go/table"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	gen "github.com/bingsan/bingsan/gen/iceberg"
	"github.com/bingsan/bingsan/internal/s3test"
	"github.com/bingsan/bingsan/server/servertest"
	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/vend"
)

// s3Lake is a server with an S3 warehouse "lake" at s3://<bucket>/lake on
// the test MinIO, besides its local default warehouse.
type s3Lake struct {
	*servertest.Instance
	s3     s3test.Server
	bucket string
	loc    string // s3://bucket/lake
	base   string // URL + /v1/lake
	log    *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func startLake(t *testing.T, edit func(*vend.Profile), cfg servertest.Config) *s3Lake {
	t.Helper()
	srv, bucket := s3test.NewBucket(t)
	l := &s3Lake{s3: srv, bucket: bucket, loc: "s3://" + bucket + "/lake", log: &syncBuffer{}}
	prof := vend.Profile{S3: srv.Profile(), VendedCredentials: true, RemoteSigning: true, CredentialDuration: time.Hour}
	if edit != nil {
		edit(&prof)
	}
	cfg.Storage = append(cfg.Storage, vend.Warehouse{Name: "lake", Location: l.loc, Profile: prof})
	cfg.LogOutput = l.log
	l.Instance = servertest.Start(t, servertest.SQLite, cfg)
	l.base = l.URL + "/v1/lake"
	return l
}

const s3SchemaJSON = `{"type":"struct","schema-id":0,"fields":[
	{"id":1,"name":"id","type":"long","required":true},{"id":2,"name":"name","type":"string","required":false}]}`

// must sends a request and checks its status.
func (l *s3Lake) must(t *testing.T, want int, method, path, body string, headers ...string) []byte {
	t.Helper()
	ct := ""
	if body != "" {
		ct = "application/json"
	}
	status, _, b := call(t, method, l.base+path, ct, []byte(body), headers...)
	if status != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, status, want, b)
	}
	return b
}

func loadResult(t *testing.T, b []byte) gen.LoadTableResult {
	t.Helper()
	var r gen.LoadTableResult
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("LoadTableResult: %v: %s", err, b)
	}
	return r
}

func tableLocation(t *testing.T, r gen.LoadTableResult) string {
	t.Helper()
	var m struct {
		Location string `json:"location"`
	}
	if err := json.Unmarshal(r.Metadata, &m); err != nil || m.Location == "" {
		t.Fatalf("metadata without location: %s", r.Metadata)
	}
	return m.Location
}

// vended returns the credentials of a result, checking that they are in
// storage-credentials (prefixed by the table location) and in config.
func vended(t *testing.T, r gen.LoadTableResult, location string) (ak, sk, token string) {
	t.Helper()
	if r.StorageCredentials == nil || len(*r.StorageCredentials) != 1 {
		t.Fatalf("storage-credentials: %+v", r.StorageCredentials)
	}
	c := (*r.StorageCredentials)[0]
	if c.Prefix != location {
		t.Errorf("credential prefix %s, want the table location %s", c.Prefix, location)
	}
	if r.Config == nil {
		t.Fatal("no config")
	}
	cfg := *r.Config
	for _, k := range []string{"s3.access-key-id", "s3.secret-access-key", "s3.session-token", "s3.session-token-expires-at-ms"} {
		if c.Config[k] == "" || cfg[k] != c.Config[k] {
			t.Errorf("%s missing in storage-credentials or config", k)
		}
	}
	return c.Config["s3.access-key-id"], c.Config["s3.secret-access-key"], c.Config["s3.session-token"]
}

func s3Code(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	if err == nil {
		return ""
	}
	return err.Error()
}

func s3Put(ctx context.Context, c *s3.Client, bucket, key string) error {
	_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader("x")})
	return err
}

func s3Get(ctx context.Context, c *s3.Client, bucket, key string) error {
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err == nil {
		out.Body.Close()
	}
	return err
}

// s3Keys lists the keys below prefix.
func s3Keys(ctx context.Context, t *testing.T, c *s3.Client, bucket, prefix string) []string {
	t.Helper()
	var keys []string
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	return keys
}

// keyOf is the object key of an s3:// location in bucket.
func keyOf(t *testing.T, bucket, loc string) string {
	t.Helper()
	k, ok := strings.CutPrefix(loc, "s3://"+bucket+"/")
	if !ok {
		t.Fatalf("%s is not in bucket %s", loc, bucket)
	}
	return k
}

func TestVendedCredentialsOverREST(t *testing.T) {
	t.Parallel()
	l := startLake(t, nil, servertest.Config{})
	ctx := context.Background()
	l.must(t, 200, "POST", "/namespaces", `{"namespace":["ns"]}`)

	// Create with vended-credentials: credentials scoped to the new table.
	r := loadResult(t, l.must(t, 200, "POST", "/namespaces/ns/tables", `{"name":"t","schema":`+s3SchemaJSON+`}`,
		"X-Iceberg-Access-Delegation", "vended-credentials"))
	loc := tableLocation(t, r)
	if !strings.HasPrefix(loc, l.loc+"/ns/t-") {
		t.Fatalf("table location %s", loc)
	}
	ak, sk, tok := vended(t, r, loc)
	cfg := *r.Config
	if cfg["s3.endpoint"] != l.s3.Endpoint || cfg["client.region"] != s3test.Region || cfg["s3.path-style-access"] != "true" {
		t.Errorf("client config %v", cfg)
	}
	if ak == l.s3.AccessKey || sk == l.s3.SecretKey || strings.Contains(l.log.String(), l.s3.SecretKey) {
		t.Fatal("the catalog's own credentials were handed out or logged")
	}
	c := l.s3.Client(ak, sk, tok)
	tableKey := keyOf(t, l.bucket, loc)
	if err := s3Put(ctx, c, l.bucket, tableKey+"/data/file.parquet"); err != nil {
		t.Errorf("put inside the table: %v", err)
	}
	if err := s3Get(ctx, c, l.bucket, keyOf(t, l.bucket, *r.MetadataLocation)); err != nil {
		t.Errorf("get the metadata file: %v", err)
	}

	// Another table's prefix and the warehouse root are out of reach.
	r2 := loadResult(t, l.must(t, 200, "POST", "/namespaces/ns/tables", `{"name":"t2","schema":`+s3SchemaJSON+`}`))
	if r2.StorageCredentials != nil || (*r2.Config)["s3.access-key-id"] != "" {
		t.Errorf("credentials without being asked: %+v", r2)
	}
	loc2 := tableLocation(t, r2)
	for _, key := range []string{keyOf(t, l.bucket, loc2) + "/data/x.parquet", "lake/x", "other/x"} {
		if err := s3Put(ctx, c, l.bucket, key); s3Code(err) != "AccessDenied" {
			t.Errorf("put %s: want AccessDenied, got %v", key, err)
		}
	}
	if err := s3Get(ctx, c, l.bucket, keyOf(t, l.bucket, *r2.MetadataLocation)); s3Code(err) != "AccessDenied" {
		t.Errorf("get another table's metadata: want AccessDenied, got %v", err)
	}

	// Load: the same (cached) credentials; the header's other spellings.
	for _, h := range []string{"vended-credentials", "remote-signing,vended-credentials", "true"} {
		lr := loadResult(t, l.must(t, 200, "GET", "/namespaces/ns/tables/t", "", "X-Iceberg-Access-Delegation", h))
		if a, _, _ := vended(t, lr, loc); a != ak {
			t.Errorf("%s: credentials not from the cache", h)
		}
	}
	for _, h := range []string{"", "something-else"} {
		var hs []string
		if h != "" {
			hs = []string{"X-Iceberg-Access-Delegation", h}
		}
		lr := loadResult(t, l.must(t, 200, "GET", "/namespaces/ns/tables/t", "", hs...))
		if lr.StorageCredentials != nil || (*lr.Config)["s3.secret-access-key"] != "" || (*lr.Config)["s3.endpoint"] == "" {
			t.Errorf("header %q: %+v", h, lr.Config)
		}
	}

	// loadCredentials: the same credentials, never cached by clients.
	status, hdr, body := call(t, "GET", l.base+"/namespaces/ns/tables/t/credentials", "", nil)
	var lc gen.LoadCredentialsResponse
	if status != 200 || json.Unmarshal(body, &lc) != nil || len(lc.StorageCredentials) != 1 ||
		lc.StorageCredentials[0].Prefix != loc || lc.StorageCredentials[0].Config["s3.access-key-id"] != ak {
		t.Fatalf("loadCredentials: %d %s", status, body)
	}
	if hdr.Get("Cache-Control") != "no-cache" {
		t.Errorf("loadCredentials Cache-Control %q", hdr.Get("Cache-Control"))
	}
	l.must(t, 404, "GET", "/namespaces/ns/tables/missing/credentials", "")

	// Staged create: credentials for writing before the commit.
	sr := loadResult(t, l.must(t, 200, "POST", "/namespaces/ns/tables", `{"name":"staged","stage-create":true,"schema":`+s3SchemaJSON+`}`,
		"X-Iceberg-Access-Delegation", "vended-credentials"))
	vended(t, sr, tableLocation(t, sr))

	// Register (the dropped t2's file) with vended-credentials.
	l.must(t, 204, "DELETE", "/namespaces/ns/tables/t2", "")
	rr := loadResult(t, l.must(t, 200, "POST", "/namespaces/ns/register", `{"name":"again","metadata-location":"`+*r2.MetadataLocation+`"}`,
		"X-Iceberg-Access-Delegation", "vended-credentials"))
	vended(t, rr, loc2)

	// Local warehouses vend nothing and never fail for it.
	status, _, body = call(t, "POST", l.URL+"/v1/namespaces", "application/json", []byte(`{"namespace":["ns"]}`))
	if status != 200 {
		t.Fatal(status, string(body))
	}
	status, _, body = call(t, "POST", l.URL+"/v1/namespaces/ns/tables", "application/json",
		[]byte(`{"name":"t","schema":`+s3SchemaJSON+`}`), "X-Iceberg-Access-Delegation", "vended-credentials,remote-signing")
	if lr := loadResult(t, body); status != 200 || lr.StorageCredentials != nil || lr.Config != nil {
		t.Errorf("local create: %d %s", status, body)
	}
	status, _, body = call(t, "GET", l.URL+"/v1/namespaces/ns/tables/t/credentials", "", nil)
	if status != 200 || !strings.Contains(string(body), `"storage-credentials":[]`) {
		t.Errorf("local loadCredentials: %d %s", status, body)
	}
}

func TestReadOnlyVending(t *testing.T) {
	t.Parallel()
	readOnly := func(_ context.Context, id store.Ident) vend.Mode {
		if id.Name == "ro" {
			return vend.ReadOnly
		}
		return vend.ReadWrite
	}
	l := startLake(t, nil, servertest.Config{AccessMode: readOnly})
	ctx := context.Background()
	l.must(t, 200, "POST", "/namespaces", `{"namespace":["ns"]}`)
	r := loadResult(t, l.must(t, 200, "POST", "/namespaces/ns/tables", `{"name":"ro","schema":`+s3SchemaJSON+`}`,
		"X-Iceberg-Access-Delegation", "vended-credentials"))
	loc := tableLocation(t, r)
	c := l.s3.Client(vended(t, r, loc))
	if err := s3Get(ctx, c, l.bucket, keyOf(t, l.bucket, *r.MetadataLocation)); err != nil {
		t.Errorf("read-only get: %v", err)
	}
	if err := s3Put(ctx, c, l.bucket, keyOf(t, l.bucket, loc)+"/data/x.parquet"); s3Code(err) != "AccessDenied" {
		t.Errorf("read-only put: want AccessDenied, got %v", err)
	}
	// Remote signing refuses writes too.
	status, _, body := call(t, "POST", l.base+"/namespaces/ns/tables/ro/sign", "application/json",
		signBody(t, "PUT", l.s3.Endpoint+"/"+l.bucket+"/"+keyOf(t, l.bucket, loc)+"/data/x.parquet", ""))
	if status != 403 || errorOf(t, status, body).Type != "ForbiddenException" {
		t.Errorf("read-only sign PUT: %d %s", status, body)
	}
}

func signBody(t *testing.T, method, uri, body string) []byte {
	t.Helper()
	req := map[string]any{
		"method": method, "uri": uri, "region": s3test.Region,
		"headers": map[string][]string{"X-Amz-Content-Sha256": {"UNSIGNED-PAYLOAD"}, "Content-Length": {"5"}},
	}
	if body != "" {
		req["body"] = body
	}
	b, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRemoteSigningOverREST(t *testing.T) {
	t.Parallel()
	l := startLake(t, nil, servertest.Config{})
	l.must(t, 200, "POST", "/namespaces", `{"namespace":["ns"]}`)
	l.must(t, 200, "POST", "/namespaces", `{"namespace":["ns","inner"]}`)
	r := loadResult(t, l.must(t, 200, "POST", "/namespaces/ns%1Finner/tables", `{"name":"t","schema":`+s3SchemaJSON+`}`,
		"X-Iceberg-Access-Delegation", "remote-signing"))
	cfg := *r.Config
	if r.StorageCredentials != nil || cfg["s3.access-key-id"] != "" || cfg["s3.remote-signing-enabled"] != "true" {
		t.Fatalf("remote signing config %v", cfg)
	}
	endpoint := cfg["s3.signer.endpoint"]
	if endpoint != "v1/lake/namespaces/ns%1Finner/tables/t/sign" || cfg["signer.endpoint"] != endpoint {
		t.Fatalf("signer endpoint %q", endpoint)
	}
	loc := tableLocation(t, r)
	inside := l.s3.Endpoint + "/" + l.bucket + "/" + keyOf(t, l.bucket, loc) + "/data/signed.parquet"

	// The client signs at the advertised endpoint, then sends the request.
	status, hdr, body := call(t, "POST", l.URL+"/"+endpoint, "application/json", signBody(t, "PUT", inside, ""))
	if status != 200 {
		t.Fatalf("sign: %d %s", status, body)
	}
	if hdr.Get("Cache-Control") != "no-cache" {
		t.Errorf("sign Cache-Control %q", hdr.Get("Cache-Control"))
	}
	var signed gen.RemoteSignResult
	if err := json.Unmarshal(body, &signed); err != nil || signed.Uri != inside || len(signed.Headers["Authorization"]) != 1 {
		t.Fatalf("signed: %s", body)
	}
	req, _ := http.NewRequest("PUT", signed.Uri, strings.NewReader("hello"))
	for k, vs := range signed.Headers {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("signed PUT: %d %s", resp.StatusCode, b)
	}
	if err := s3Get(context.Background(), l.s3.Root(), l.bucket, keyOf(t, l.bucket, loc)+"/data/signed.parquet"); err != nil {
		t.Fatalf("signed object: %v", err)
	}

	// Outside the table: 403, whatever the spelling.
	for _, uri := range []string{
		l.s3.Endpoint + "/" + l.bucket + "/lake/other/x.parquet",
		l.s3.Endpoint + "/" + l.bucket + "/" + keyOf(t, l.bucket, loc) + "x/data/x.parquet",
		l.s3.Endpoint + "/other-bucket/" + keyOf(t, l.bucket, loc) + "/data/x.parquet",
		l.s3.Endpoint + "/" + l.bucket + "/" + keyOf(t, l.bucket, loc) + "/../other/x",
	} {
		status, _, body := call(t, "POST", l.URL+"/"+endpoint, "application/json", signBody(t, "GET", uri, ""))
		if status != 403 || errorOf(t, status, body).Type != "ForbiddenException" {
			t.Errorf("sign %s: %d %s", uri, status, body)
		}
	}
	status, _, body = call(t, "POST", l.base+"/namespaces/ns%1Finner/tables/missing/sign", "application/json", signBody(t, "GET", inside, ""))
	if status != 404 {
		t.Errorf("sign for a missing table: %d %s", status, body)
	}
}

// Tables and views stay inside their namespace's location (and so inside
// the warehouse) unless the warehouse allows external locations.
func TestTableLocationsStayInNamespace(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, servertest.SQLite, servertest.Config{ExtraWarehouses: []string{"open"},
		ExternalLocations: map[string]bool{"open": true}})
	dir := t.TempDir()
	outside := "file://" + dir + "/elsewhere"
	for _, wh := range []string{"default", "open"} {
		status, _, body := call(t, "POST", srv.URL+"/v1/"+wh+"/namespaces", "application/json", []byte(`{"namespace":["ns"]}`))
		if status != 200 {
			t.Fatal(string(body))
		}
	}
	create := func(wh, name, extra string) (int, []byte) {
		status, _, body := call(t, "POST", srv.URL+"/v1/"+wh+"/namespaces/ns/tables", "application/json",
			[]byte(`{"name":"`+name+`","schema":`+s3SchemaJSON+extra+`}`))
		return status, body
	}
	const why = "must lie inside"
	cases := []struct{ name, extra, why string }{
		{"outside", `,"location":"` + outside + `/t"`, why},
		{"the warehouse itself", `,"location":"` + srv.Warehouse + `"`, why},
		{"the namespace itself", `,"location":"` + srv.Warehouse + `/ns"`, why},
		{"another namespace's directory", `,"location":"` + srv.Warehouse + `/other/t"`, why},
		{"escaping with dots", `,"location":"` + srv.Warehouse + `/ns/../x"`, "segments"},
		{"dots inside", `,"location":"` + srv.Warehouse + `/ns/a/./t"`, "segments"},
		{"other scheme", `,"location":"s3://bucket/x"`, why},
		{"data path outside", `,"properties":{"write.data.path":"` + outside + `/data"}`, why},
		{"metadata path outside", `,"properties":{"write.metadata.path":"` + outside + `/meta"}`, why},
		{"staged outside", `,"stage-create":true,"location":"` + outside + `/t"`, why},
	}
	for _, tc := range cases {
		status, body := create("default", "x", tc.extra)
		if status != 400 || !strings.Contains(errorOf(t, status, body).Message, tc.why) {
			t.Errorf("%s: %d %s", tc.name, status, body)
		}
	}
	if status, body := create("default", "inside", `,"location":"`+srv.Warehouse+`/ns/custom/t"`); status != 200 {
		t.Errorf("inside: %d %s", status, body)
	}
	// The explicit opt-in allows them.
	if status, body := create("open", "x", `,"location":"file://`+t.TempDir()+`/t"`); status != 200 {
		t.Errorf("opt-in: %d %s", status, body)
	}

	// Commits cannot move a table out; views follow the same rule.
	status, _, body := call(t, "POST", srv.URL+"/v1/namespaces/ns/tables/inside", "application/json",
		[]byte(`{"requirements":[],"updates":[{"action":"set-location","location":"`+outside+`/moved"}]}`))
	if status != 400 {
		t.Errorf("set-location outside: %d %s", status, body)
	}
	status, _, body = call(t, "POST", srv.URL+"/v1/namespaces/ns/tables/inside", "application/json",
		[]byte(`{"requirements":[],"updates":[{"action":"set-properties","updates":{"write.data.path":"`+outside+`"}}]}`))
	if status != 400 {
		t.Errorf("write.data.path outside: %d %s", status, body)
	}
	status, _, body = call(t, "POST", srv.URL+"/v1/namespaces/ns/tables", "application/json", []byte(`{"name":"st","stage-create":true,"schema":`+s3SchemaJSON+`}`))
	if status != 200 {
		t.Fatal(string(body))
	}
	status, _, body = call(t, "POST", srv.URL+"/v1/namespaces/ns/views", "application/json", []byte(`{"name":"v","location":"`+outside+`/v","schema":`+s3SchemaJSON+`,
		"view-version":{"version-id":1,"timestamp-ms":1,"schema-id":0,"summary":{},"default-namespace":["ns"],
		"representations":[{"type":"sql","sql":"select 1","dialect":"spark"}]}}`))
	if status != 400 {
		t.Errorf("view outside: %d %s", status, body)
	}
	// Register does not even read a file outside the warehouse.
	opened := loadResult(t, func() []byte {
		_, _, b := call(t, "GET", srv.URL+"/v1/open/namespaces/ns/tables/x", "", nil)
		return b
	}())
	status, _, body = call(t, "POST", srv.URL+"/v1/namespaces/ns/register", "application/json",
		[]byte(`{"name":"reg","metadata-location":"`+*opened.MetadataLocation+`"}`))
	if status != 400 || !strings.Contains(errorOf(t, status, body).Message, why) {
		t.Errorf("register outside: %d %s", status, body)
	}
	status, _, body = call(t, "POST", srv.URL+"/v1/namespaces/ns/register", "application/json",
		[]byte(`{"name":"reg","metadata-location":"file:///etc/passwd"}`))
	if status != 400 || !strings.Contains(errorOf(t, status, body).Message, why) {
		t.Errorf("register of an arbitrary file: %d %s", status, body)
	}
	// Nothing was created by the refused requests.
	_, _, body = call(t, "GET", srv.URL+"/v1/namespaces/ns/tables", "", nil)
	var list gen.ListTablesResponse
	if err := json.Unmarshal(body, &list); err != nil || list.Identifiers == nil || len(*list.Identifiers) != 1 {
		t.Errorf("tables after refusals: %s", body)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("files written outside: %v", entries)
	}
}

// closedEndpoint is an http URL where nothing listens.
func closedEndpoint(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

func TestObjectStoreUnreachable(t *testing.T) {
	t.Parallel()
	s3srv := s3test.Config()
	prof := vend.Profile{S3: s3srv.Profile(), VendedCredentials: true, CredentialDuration: time.Hour}
	prof.S3.Endpoint = closedEndpoint(t)
	log := &syncBuffer{}
	srv := servertest.Start(t, servertest.SQLite, servertest.Config{LogOutput: log,
		Storage: []vend.Warehouse{{Name: "down", Location: "s3://bucket/down", Profile: prof}}})
	base := srv.URL + "/v1/down"
	if status, _, body := call(t, "POST", base+"/namespaces", "application/json", []byte(`{"namespace":["ns"]}`)); status != 200 {
		t.Fatal(string(body))
	}
	for _, h := range []string{"", "vended-credentials"} {
		var hs []string
		if h != "" {
			hs = []string{"X-Iceberg-Access-Delegation", h}
		}
		status, _, body := call(t, "POST", base+"/namespaces/ns/tables", "application/json", []byte(`{"name":"t","schema":`+s3SchemaJSON+`}`), hs...)
		if status != 503 || errorOf(t, status, body).Type != "ServiceUnavailableException" || !strings.Contains(string(body), "unreachable") {
			t.Errorf("create (delegation %q) with the store down: %d %s", h, status, body)
		}
		if h != "" && !strings.Contains(string(body), "STS") {
			t.Errorf("vending failure does not name STS: %s", body)
		}
		if strings.Contains(string(body), s3srv.SecretKey) {
			t.Fatal("secret in a response")
		}
	}
	if status, _, body := call(t, "GET", base+"/namespaces/ns/tables/t", "", nil); status != 404 {
		t.Errorf("table exists after failed creates: %d %s", status, body)
	}
	if strings.Contains(log.String(), s3srv.SecretKey) || !strings.Contains(log.String(), "status=503") {
		t.Errorf("log: %s", log.String())
	}
}

func TestSTSRefusalNamesCause(t *testing.T) {
	t.Parallel()
	const wrong = "not-the-secret-key-42"
	l := startLake(t, func(p *vend.Profile) { p.S3.SecretAccessKey = wrong }, servertest.Config{})
	l.must(t, 200, "POST", "/namespaces", `{"namespace":["ns"]}`)
	status, _, body := call(t, "POST", l.base+"/namespaces/ns/tables", "application/json", []byte(`{"name":"t","schema":`+s3SchemaJSON+`}`),
		"X-Iceberg-Access-Delegation", "vended-credentials")
	msg := ""
	if status == 503 {
		msg = errorOf(t, status, body).Message
	}
	for _, want := range []string{"Cannot vend credentials", "STS", "refused", "AccessDenied", "signature"} {
		if !strings.Contains(msg, want) {
			t.Errorf("status %d, message %q does not name the cause (%q)", status, msg, want)
		}
	}
	if strings.Contains(string(body), wrong) || strings.Contains(l.log.String(), wrong) {
		t.Fatal("the configured secret appears in a response or the log")
	}
	l.must(t, 404, "GET", "/namespaces/ns/tables/t", "")
	if keys := s3Keys(context.Background(), t, l.s3.Root(), l.bucket, ""); len(keys) != 0 {
		t.Errorf("objects written by a refused create: %v", keys)
	}
}

// The iceberg-go client creates, appends to and reads an S3 table with only
// the credentials the catalog vends; then a purge removes its files.
func TestIcebergGoClientVendedCredentials(t *testing.T) {
	t.Parallel()
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_S3_ENDPOINT"} {
		if os.Getenv(k) != "" {
			t.Skipf("%s is set: this test proves the client needs no credentials of its own", k)
		}
	}
	l := startLake(t, nil, servertest.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// No keys, no endpoint: everything comes from the catalog.
	cat, err := rest.NewCatalog(ctx, "bingsan", l.URL, rest.WithWarehouseLocation("lake"))
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	if err := cat.CreateNamespace(ctx, catalog.ToIdentifier("db"), nil); err != nil {
		t.Fatal(err)
	}
	id := catalog.ToIdentifier("db", "events")
	sc := iceberg.NewSchema(0,
		iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64, Required: true},
		iceberg.NestedField{ID: 2, Name: "name", Type: iceberg.PrimitiveTypes.String})
	tbl, err := cat.CreateTable(ctx, id, sc)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if !strings.HasPrefix(tbl.Location(), l.loc+"/db/events-") {
		t.Fatalf("location %s", tbl.Location())
	}
	for _, batch := range [][]string{{`{"id":1,"name":"a"}`, `{"id":2,"name":"b"}`}, {`{"id":3,"name":"c"}`}} {
		as, err := table.SchemaToArrowSchema(tbl.Schema(), nil, false, false)
		if err != nil {
			t.Fatal(err)
		}
		at, err := array.TableFromJSON(memory.DefaultAllocator, as, []string{"[" + strings.Join(batch, ",") + "]"})
		if err != nil {
			t.Fatal(err)
		}
		tbl, err = tbl.AppendTable(ctx, at, int64(len(batch)), nil)
		at.Release()
		if err != nil {
			t.Fatalf("append: %v", err)
		}
	}

	loaded, err := cat.LoadTable(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(loaded.Metadata().Snapshots()) != 2 {
		t.Fatalf("snapshots %d", len(loaded.Metadata().Snapshots()))
	}
	at, err := loaded.Scan().ToArrowTable(ctx)
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	var got []string
	tr := array.NewTableReader(at, 100)
	for tr.Next() {
		rec := tr.RecordBatch()
		ids := rec.Column(0).(*array.Int64)
		names := rec.Column(1).(*array.String)
		for i := range int(rec.NumRows()) {
			got = append(got, names.Value(i)+string(rune('0'+ids.Value(i))))
		}
	}
	tr.Release()
	at.Release()
	slices.Sort(got)
	if !slices.Equal(got, []string{"a1", "b2", "c3"}) {
		t.Fatalf("rows %v", got)
	}

	// Every file the client wrote is below the table location.
	root := l.s3.Root()
	tableKey := keyOf(t, l.bucket, loaded.Location())
	all := s3Keys(ctx, t, root, l.bucket, "")
	var data int
	for _, k := range all {
		if !strings.HasPrefix(k, tableKey+"/") {
			t.Errorf("object outside the table: %s", k)
		}
		if strings.HasPrefix(k, tableKey+"/data/") && strings.HasSuffix(k, ".parquet") {
			data++
		}
	}
	if data != 2 {
		t.Errorf("data files: %v", all)
	}

	// Drop with purge: the purger deletes the table's objects through the
	// same FileIO.
	if err := cat.PurgeTable(ctx, id); err != nil {
		t.Fatalf("purge: %v", err)
	}
	if _, err := l.Catalog.PurgeOnce(ctx); err != nil {
		t.Fatalf("purge job: %v", err)
	}
	if left := s3Keys(ctx, t, root, l.bucket, tableKey+"/"); len(left) != 0 {
		t.Errorf("left after purge: %v", left)
	}
}
