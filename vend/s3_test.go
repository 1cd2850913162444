package vend_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/internal/s3test"
	"github.com/bingsan/bingsan/vend"
)

// s3Env is a bucket on the test server and a Storage with one S3
// warehouse at s3://<bucket>/wh.
type s3Env struct {
	srv    s3test.Server
	bucket string
	wh     string // s3://bucket/wh
	st     *vend.Storage
	clock  *fakeClock
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func s3Setup(t *testing.T, edit func(p *vend.Profile)) *s3Env {
	t.Helper()
	srv, bucket := s3test.NewBucket(t)
	e := &s3Env{srv: srv, bucket: bucket, wh: "s3://" + bucket + "/wh", clock: &fakeClock{t: time.Now()}}
	prof := vend.Profile{S3: srv.Profile(), VendedCredentials: true, RemoteSigning: true, CredentialDuration: 15 * time.Minute}
	if edit != nil {
		edit(&prof)
	}
	st, err := vend.Open(context.Background(), []vend.Warehouse{{Name: "lake", Location: e.wh, Profile: prof}}, vend.Options{Now: e.clock.Now})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	e.st = st
	return e
}

func TestS3FileIO(t *testing.T) {
	t.Parallel()
	e := s3Setup(t, nil)
	ctx := context.Background()
	table := e.wh + "/ns/t-1"
	file := table + "/metadata/00000-x.metadata.json"

	if err := e.st.WriteNew(ctx, file, []byte(`{"a":1}`)); err != nil {
		t.Fatalf("WriteNew: %v", err)
	}
	got, err := e.st.Read(ctx, file)
	if err != nil || string(got) != `{"a":1}` {
		t.Fatalf("Read = %q, %v", got, err)
	}
	if ok, err := e.st.Exists(ctx, file); !ok || err != nil {
		t.Fatalf("Exists = %v, %v", ok, err)
	}
	// No overwrite: the second create fails and the first content stays.
	if err := e.st.WriteNew(ctx, file, []byte(`{"a":2}`)); !errs.Is(err, errs.AlreadyExists) {
		t.Fatalf("second WriteNew: want AlreadyExists, got %v", err)
	}
	if got, _ := e.st.Read(ctx, file); string(got) != `{"a":1}` {
		t.Fatalf("file replaced: %q", got)
	}
	// iceberg-go reads through FS with the catalog's credentials.
	fsys, err := e.st.FS(ctx, file)
	if err != nil {
		t.Fatalf("FS: %v", err)
	}
	f, err := fsys.Open(file)
	if err != nil {
		t.Fatalf("FS Open: %v", err)
	}
	b, _ := io.ReadAll(f)
	f.Close()
	if string(b) != `{"a":1}` {
		t.Fatalf("FS read %q", b)
	}

	if err := e.st.Delete(ctx, file); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if err := e.st.Delete(ctx, file); err != nil {
		t.Fatalf("Delete of a missing file: %v", err)
	}
	if _, err := e.st.Read(ctx, file); !errs.Is(err, errs.NotFound) {
		t.Fatalf("Read after delete: want NotFound, got %v", err)
	}
	if ok, err := e.st.Exists(ctx, file); ok || err != nil {
		t.Fatalf("Exists after delete = %v, %v", ok, err)
	}
}

func TestS3WriteNewConcurrentOneWinner(t *testing.T) {
	t.Parallel()
	e := s3Setup(t, nil)
	ctx := context.Background()
	file := e.wh + "/ns/t/metadata/m.json"
	const n = 8
	results := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { results[i] = e.st.WriteNew(ctx, file, []byte(strconv.Itoa(i))) })
	}
	wg.Wait()
	wins := 0
	for _, err := range results {
		switch {
		case err == nil:
			wins++
		case !errs.Is(err, errs.AlreadyExists):
			t.Fatalf("unexpected error %v", err)
		}
	}
	if wins != 1 {
		t.Fatalf("want one winner, got %d", wins)
	}
}

// closedPort is an address where nothing listens.
func closedPort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

func TestS3Unreachable(t *testing.T) {
	t.Parallel()
	prof := vend.Profile{VendedCredentials: true, S3: vend.S3Config{
		Endpoint: closedPort(t), PathStyle: true, AccessKeyID: "k", SecretAccessKey: "never-shown-secret",
	}}
	st, err := vend.Open(context.Background(), []vend.Warehouse{{Name: "x", Location: "s3://b/wh", Profile: prof}}, vend.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	start := time.Now()
	err = st.WriteNew(ctx, "s3://b/wh/t/metadata/m.json", []byte("x"))
	if !errs.Is(err, errs.ServiceUnavailable) || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("WriteNew: want ServiceUnavailable (unreachable), got %v", err)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("failing took %s", d)
	}
	_, err = st.Vendor("x").Credentials(ctx, vend.Scope{Locations: []string{"s3://b/wh/t"}})
	if !errs.Is(err, errs.ServiceUnavailable) || !strings.Contains(err.Error(), "STS") || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("Credentials: want ServiceUnavailable naming STS, got %v", err)
	}
	if strings.Contains(err.Error(), "never-shown-secret") {
		t.Fatalf("error shows the secret: %v", err)
	}
}

// credsOf returns the vended key, secret and token.
func credsOf(t *testing.T, creds []vend.Credential) (string, string, string) {
	t.Helper()
	if len(creds) == 0 {
		t.Fatal("no credentials vended")
	}
	c := creds[0].Config
	if c["s3.access-key-id"] == "" || c["s3.secret-access-key"] == "" || c["s3.session-token"] == "" || c["s3.session-token-expires-at-ms"] == "" {
		t.Fatalf("incomplete credentials: keys %v", keysOf(c))
	}
	return c["s3.access-key-id"], c["s3.secret-access-key"], c["s3.session-token"]
}

func keysOf(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// s3Code is the S3 error code of err ("" for success).
func s3Code(err error) string {
	if err == nil {
		return ""
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return err.Error()
}

func put(ctx context.Context, c *s3.Client, bucket, key string) error {
	_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader("data")})
	return err
}

func get(ctx context.Context, c *s3.Client, bucket, key string) error {
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err == nil {
		out.Body.Close()
	}
	return err
}

func list(ctx context.Context, c *s3.Client, bucket, prefix string) error {
	_, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	return err
}

func TestVendedCredentialsAreScoped(t *testing.T) {
	t.Parallel()
	e := s3Setup(t, nil)
	ctx := context.Background()
	root := e.srv.Root()
	_, other := s3test.NewBucket(t)
	for _, k := range []string{"wh/ns/t/data/existing", "wh/ns/t2/data/existing", "wh/elsewhere"} {
		if err := put(ctx, root, e.bucket, k); err != nil {
			t.Fatal(err)
		}
	}
	if err := put(ctx, root, other, "wh/ns/t/data/existing"); err != nil {
		t.Fatal(err)
	}

	creds, err := e.st.Vendor("lake").Credentials(ctx, vend.Scope{Locations: []string{e.wh + "/ns/t"}, Mode: vend.ReadWrite})
	if err != nil {
		t.Fatalf("Credentials: %v", err)
	}
	if len(creds) != 1 || creds[0].Prefix != e.wh+"/ns/t" {
		t.Fatalf("credentials %+v", creds)
	}
	exp, _ := strconv.ParseInt(creds[0].Config["s3.session-token-expires-at-ms"], 10, 64)
	if until := time.Until(time.UnixMilli(exp)); until < 10*time.Minute || until > 16*time.Minute {
		t.Errorf("expiry in %s, want about 15m", until)
	}
	ak, sk, tok := credsOf(t, creds)
	if ak == e.srv.AccessKey || sk == e.srv.SecretKey {
		t.Fatal("vended the root credentials")
	}
	c := e.srv.Client(ak, sk, tok)

	tests := []struct {
		name   string
		op     func() error
		denied bool
	}{
		{"put inside", func() error { return put(ctx, c, e.bucket, "wh/ns/t/data/new.parquet") }, false},
		{"put deep inside", func() error { return put(ctx, c, e.bucket, "wh/ns/t/metadata/a/b/c.avro") }, false},
		{"get inside", func() error { return get(ctx, c, e.bucket, "wh/ns/t/data/existing") }, false},
		{"list inside", func() error { return list(ctx, c, e.bucket, "wh/ns/t/") }, false},
		{"put in another table", func() error { return put(ctx, c, e.bucket, "wh/ns/t2/data/x") }, true},
		{"get from another table", func() error { return get(ctx, c, e.bucket, "wh/ns/t2/data/existing") }, true},
		{"put in a sibling prefix", func() error { return put(ctx, c, e.bucket, "wh/ns/tx/data/x") }, true},
		{"put at the warehouse root", func() error { return put(ctx, c, e.bucket, "wh/x") }, true},
		{"get outside the warehouse", func() error { return get(ctx, c, e.bucket, "wh/elsewhere") }, true},
		{"list the warehouse", func() error { return list(ctx, c, e.bucket, "wh/") }, true},
		{"put in another bucket", func() error { return put(ctx, c, other, "wh/ns/t/data/x") }, true},
		{"get from another bucket", func() error { return get(ctx, c, other, "wh/ns/t/data/existing") }, true},
	}
	for _, tt := range tests {
		err := tt.op()
		switch {
		case tt.denied && s3Code(err) != "AccessDenied":
			t.Errorf("%s: want AccessDenied, got %v", tt.name, err)
		case !tt.denied && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		}
	}

	// Read-only credentials read inside and write nowhere.
	ro, err := e.st.Vendor("lake").Credentials(ctx, vend.Scope{Locations: []string{e.wh + "/ns/t"}, Mode: vend.ReadOnly})
	if err != nil {
		t.Fatal(err)
	}
	rak, rsk, rtok := credsOf(t, ro)
	if rak == ak {
		t.Fatal("read-only and read-write share credentials")
	}
	rc := e.srv.Client(rak, rsk, rtok)
	if err := get(ctx, rc, e.bucket, "wh/ns/t/data/existing"); err != nil {
		t.Errorf("read-only get inside: %v", err)
	}
	if err := put(ctx, rc, e.bucket, "wh/ns/t/data/ro"); s3Code(err) != "AccessDenied" {
		t.Errorf("read-only put inside: want AccessDenied, got %v", err)
	}
	if _, err := rc.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(e.bucket), Key: aws.String("wh/ns/t/data/existing")}); s3Code(err) != "AccessDenied" {
		t.Errorf("read-only delete inside: want AccessDenied, got %v", err)
	}

	// A tampered session token is refused.
	bad := e.srv.Client(ak, sk, tok[:len(tok)-4]+"AAAA")
	if err := get(ctx, bad, e.bucket, "wh/ns/t/data/existing"); err == nil {
		t.Error("tampered session token accepted")
	}
}

func TestVendedCredentialsCache(t *testing.T) {
	t.Parallel()
	e := s3Setup(t, nil)
	ctx := context.Background()
	v := e.st.Vendor("lake")
	scope := vend.Scope{Locations: []string{e.wh + "/ns/t"}, Mode: vend.ReadWrite}
	first, err := v.Credentials(ctx, scope)
	if err != nil {
		t.Fatal(err)
	}
	ak1, _, _ := credsOf(t, first)

	// The same table and mode: the cached credentials, also when many ask
	// at once.
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			again, err := v.Credentials(ctx, scope)
			if err != nil {
				t.Error(err)
				return
			}
			if ak, _, _ := credsOf(t, again); ak != ak1 {
				t.Errorf("cache miss: %s != %s", ak, ak1)
			}
		})
	}
	wg.Wait()
	// Another table or mode: other credentials.
	other, _ := v.Credentials(ctx, vend.Scope{Locations: []string{e.wh + "/ns/t2"}, Mode: vend.ReadWrite})
	ro, _ := v.Credentials(ctx, vend.Scope{Locations: []string{e.wh + "/ns/t"}, Mode: vend.ReadOnly})
	if ak, _, _ := credsOf(t, other); ak == ak1 {
		t.Error("another table got the same credentials")
	}
	if ak, _, _ := credsOf(t, ro); ak == ak1 {
		t.Error("read-only got the read-write credentials")
	}

	// Still fresh after a few minutes; renewed shortly before expiry
	// (15m lifetime: handed out while more than 6m remain).
	e.clock.Add(8 * time.Minute)
	if again, _ := v.Credentials(ctx, scope); func() string { ak, _, _ := credsOf(t, again); return ak }() != ak1 {
		t.Error("renewed too early")
	}
	e.clock.Add(2 * time.Minute)
	renewed, err := v.Credentials(ctx, scope)
	if err != nil {
		t.Fatal(err)
	}
	if ak, _, _ := credsOf(t, renewed); ak == ak1 {
		t.Error("not renewed shortly before expiry")
	}
}

func TestSTSRefused(t *testing.T) {
	t.Parallel()
	e := s3Setup(t, func(p *vend.Profile) { p.S3.SecretAccessKey = "wrong-secret-never-shown" })
	_, err := e.st.Vendor("lake").Credentials(context.Background(), vend.Scope{Locations: []string{e.wh + "/ns/t"}})
	if !errs.Is(err, errs.ServiceUnavailable) {
		t.Fatalf("want ServiceUnavailable, got %v", err)
	}
	var de *errs.Error
	errors.As(err, &de)
	// The client-facing message names STS, the refusal and the store's reason.
	for _, want := range []string{"STS", e.srv.Endpoint, "refused", "AccessDenied", "signature"} {
		if !strings.Contains(de.Message, want) {
			t.Errorf("message %q does not mention %q", de.Message, want)
		}
	}
	if strings.Contains(err.Error(), "wrong-secret-never-shown") {
		t.Fatalf("error shows the secret: %v", err)
	}
}

func TestGrant(t *testing.T) {
	t.Parallel()
	e := s3Setup(t, nil)
	ctx := context.Background()
	v := e.st.Vendor("lake")
	scope := vend.Scope{Locations: []string{e.wh + "/ns/t"}}

	g, err := v.Grant(ctx, scope, vend.Delegation{})
	if err != nil || len(g.Credentials) != 0 || g.RemoteSigning || g.Config["s3.access-key-id"] != "" {
		t.Fatalf("no delegation: %+v, %v", g, err)
	}
	if g.Config["s3.endpoint"] != e.srv.Endpoint || g.Config["client.region"] != s3test.Region || g.Config["s3.path-style-access"] != "true" {
		t.Errorf("client config %v", g.Config)
	}

	g, err = v.Grant(ctx, scope, vend.ParseDelegation("vended-credentials,remote-signing"))
	if err != nil || len(g.Credentials) != 1 || g.RemoteSigning {
		t.Fatalf("vended: %+v, %v", g, err)
	}
	// The credentials are in config too (clients that read only config).
	for _, k := range []string{"s3.access-key-id", "s3.secret-access-key", "s3.session-token", "s3.session-token-expires-at-ms"} {
		if g.Config[k] == "" || g.Config[k] != g.Credentials[0].Config[k] {
			t.Errorf("config %s missing or different", k)
		}
	}
	if g.Config["s3.secret-access-key"] == e.srv.SecretKey {
		t.Fatal("granted the root secret")
	}

	g, err = v.Grant(ctx, scope, vend.ParseDelegation("remote-signing"))
	if err != nil || len(g.Credentials) != 0 || !g.RemoteSigning || g.Config["s3.remote-signing-enabled"] != "true" || g.Config["s3.access-key-id"] != "" {
		t.Fatalf("remote signing: %+v, %v", g, err)
	}

	// A profile that vends nothing grants only its client config.
	off := s3Setup(t, func(p *vend.Profile) { p.VendedCredentials, p.RemoteSigning = false, false })
	g, err = off.st.Vendor("lake").Grant(ctx, vend.Scope{Locations: []string{off.wh + "/ns/t"}}, vend.ParseDelegation("vended-credentials,remote-signing"))
	if err != nil || len(g.Credentials) != 0 || g.RemoteSigning || g.Config["s3.endpoint"] == "" {
		t.Fatalf("disabled profile: %+v, %v", g, err)
	}
	if creds, err := off.st.Vendor("lake").Credentials(ctx, vend.Scope{Locations: []string{off.wh + "/ns/t"}}); err != nil || len(creds) != 0 {
		t.Fatalf("disabled profile credentials: %v, %v", creds, err)
	}
}

// signAndSend has the vendor sign a request and sends it to the store.
func signAndSend(t *testing.T, v vend.Vendor, scope vend.Scope, method, uri string, body []byte, extra map[string][]string) (int, error) {
	t.Helper()
	headers := map[string][]string{"Content-Length": {strconv.Itoa(len(body))}, "X-Amz-Content-Sha256": {"UNSIGNED-PAYLOAD"}}
	for k, vs := range extra {
		headers[k] = vs
	}
	signed, err := v.Sign(context.Background(), scope, vend.SignRequest{Method: method, URI: uri, Headers: headers, Region: s3test.Region, Body: string(body)})
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequest(method, signed.URI, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range signed.Headers {
		req.Header[k] = vs
	}
	req.ContentLength = int64(len(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		t.Logf("%s %s: %d %s", method, uri, resp.StatusCode, b)
	}
	return resp.StatusCode, nil
}

func TestRemoteSigning(t *testing.T) {
	t.Parallel()
	e := s3Setup(t, nil)
	ctx := context.Background()
	if err := put(ctx, e.srv.Root(), e.bucket, "wh/ns/t2/data/x"); err != nil {
		t.Fatal(err)
	}
	v := e.st.Vendor("lake")
	rw := vend.Scope{Locations: []string{e.wh + "/ns/t"}, Mode: vend.ReadWrite}
	ro := vend.Scope{Locations: []string{e.wh + "/ns/t"}, Mode: vend.ReadOnly}
	base := e.srv.Endpoint + "/" + e.bucket + "/"

	ok := []struct {
		name   string
		scope  vend.Scope
		method string
		uri    string
		body   string
	}{
		{"put inside", rw, "PUT", base + "wh/ns/t/data/a%20b.parquet", "hello"},
		{"get inside", rw, "GET", base + "wh/ns/t/data/a%20b.parquet?x-id=GetObject", ""},
		{"head inside", ro, "HEAD", base + "wh/ns/t/data/a%20b.parquet", ""},
		{"read-only get inside", ro, "GET", base + "wh/ns/t/data/a%20b.parquet", ""},
		{"list inside", ro, "GET", base + "?list-type=2&prefix=wh%2Fns%2Ft%2Fdata%2F", ""},
		{"delete objects inside", rw, "POST", base + "?delete",
			`<Delete><Object><Key>wh/ns/t/data/a b.parquet</Key></Object><Quiet>true</Quiet></Delete>`},
	}
	for _, tt := range ok {
		var extra map[string][]string
		if tt.method == "POST" {
			extra = map[string][]string{"Content-Md5": {md5Base64(tt.body)}, "Content-Type": {"application/xml"}}
		}
		status, err := signAndSend(t, v, tt.scope, tt.method, tt.uri, []byte(tt.body), extra)
		if err != nil || status >= 300 {
			t.Errorf("%s: status %d, %v", tt.name, status, err)
		}
	}

	refused := []struct {
		name   string
		scope  vend.Scope
		method string
		uri    string
		body   string
	}{
		{"put in another table", rw, "PUT", base + "wh/ns/t2/data/x", "x"},
		{"get from another table", rw, "GET", base + "wh/ns/t2/data/x", ""},
		{"sibling prefix", rw, "GET", base + "wh/ns/t2", ""},
		{"dot segments", rw, "GET", base + "wh/ns/t/../t2/data/x", ""},
		{"another bucket", rw, "GET", e.srv.Endpoint + "/other-bucket/wh/ns/t/data/x", ""},
		{"another host", rw, "GET", "http://example.com/" + e.bucket + "/wh/ns/t/data/x", ""},
		{"read-only put", ro, "PUT", base + "wh/ns/t/data/x", "x"},
		{"read-only delete", ro, "DELETE", base + "wh/ns/t/data/x", ""},
		{"list the warehouse", rw, "GET", base + "?list-type=2&prefix=wh%2F", ""},
		{"list the bucket", rw, "GET", base, ""},
		{"object acl", rw, "PUT", base + "wh/ns/t/data/x?acl", ""},
		{"bucket policy", rw, "GET", base + "?policy", ""},
		{"delete objects outside", rw, "POST", base + "?delete",
			`<Delete><Object><Key>wh/ns/t/data/y</Key></Object><Object><Key>wh/ns/t2/data/x</Key></Object></Delete>`},
		{"delete objects without body", rw, "POST", base + "?delete", ""},
	}
	for _, tt := range refused {
		_, err := signAndSend(t, v, tt.scope, tt.method, tt.uri, []byte(tt.body), nil)
		if !errs.Is(err, errs.Forbidden) {
			t.Errorf("%s: want Forbidden, got %v", tt.name, err)
		}
	}
	if err := get(ctx, e.srv.Root(), e.bucket, "wh/ns/t2/data/x"); err != nil {
		t.Errorf("another table's file: %v", err)
	}
}
