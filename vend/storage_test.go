package vend_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/internal/s3test"
	"github.com/bingsan/bingsan/vend"
)

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s3 := vend.Profile{S3: vend.S3Config{Endpoint: "http://127.0.0.1:1"}}
	tests := []struct {
		name string
		whs  []vend.Warehouse
		want string
	}{
		{"no name", []vend.Warehouse{{Location: "file:///tmp/x"}}, "no name"},
		{"duplicate", []vend.Warehouse{{Name: "a", Location: "file:///a"}, {Name: "a", Location: "file:///b"}}, "twice"},
		{"no bucket", []vend.Warehouse{{Name: "a", Location: "s3:///wh", Profile: s3}}, "no bucket"},
		{"gcs no bucket", []vend.Warehouse{{Name: "a", Location: "gs:///wh"}}, "no bucket"},
		{"azure no container", []vend.Warehouse{{Name: "a", Location: "abfss://acct.dfs.core.windows.net/wh"}}, "container"},
		{"azure unknown endpoint", []vend.Warehouse{{Name: "a", Location: "abfss://c@acct.example.com/wh"}}, "set the endpoint"},
		{"unknown scheme", []vend.Warehouse{{Name: "a", Location: "hdfs://nn/wh"}}, "Unsupported storage scheme"},
		{"half static keys", []vend.Warehouse{{Name: "a", Location: "s3://b/wh", Profile: vend.Profile{S3: vend.S3Config{AccessKeyID: "k"}}}}, "together"},
		{"bad endpoint", []vend.Warehouse{{Name: "a", Location: "s3://b/wh", Profile: vend.Profile{S3: vend.S3Config{Endpoint: "127.0.0.1:9000"}}}}, "http(s) URL"},
	}
	for _, tt := range tests {
		_, err := vend.Open(ctx, tt.whs, vend.Options{})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.want)
		}
	}
}

// Locations are routed to the warehouse they lie in; local paths are
// always served; object store locations without a profile are refused.
func TestStorageRouting(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	srv, bucket := s3test.NewBucket(t)
	prof := vend.Profile{S3: srv.Profile()}
	down := vend.Profile{S3: vend.S3Config{Endpoint: "http://127.0.0.1:1", PathStyle: true}}
	st, err := vend.Open(ctx, []vend.Warehouse{
		{Name: "local", Location: "file://" + dir},
		{Name: "lake", Location: "s3://" + bucket + "/lake", Profile: prof},
		// Another profile for another bucket, whose endpoint is down.
		{Name: "down", Location: "s3://elsewhere/wh", Profile: down},
	}, vend.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Vendor("local") != nil || st.Vendor("lake") == nil || st.Vendor("missing") != nil {
		t.Fatal("Vendor: local storage needs none, S3 has one")
	}
	// Local files, inside the warehouse or not.
	for _, p := range []string{filepath.Join(dir, "a.json"), "file://" + filepath.Join(t.TempDir(), "b.json")} {
		if err := st.WriteNew(ctx, p, []byte("x")); err != nil {
			t.Errorf("WriteNew(%s): %v", p, err)
		}
	}
	// Inside the lake, and in its bucket outside the warehouse (an
	// allowed external location): the lake's profile.
	for _, p := range []string{"s3://" + bucket + "/lake/t/m.json", "s3a://" + bucket + "/other/m.json"} {
		if err := st.WriteNew(ctx, p, []byte("x")); err != nil {
			t.Errorf("WriteNew(%s): %v", p, err)
		}
	}
	// The other bucket goes to its own (unreachable) profile.
	if err := st.WriteNew(ctx, "s3://elsewhere/wh/t/m.json", []byte("x")); !errs.Is(err, errs.ServiceUnavailable) {
		t.Errorf("other profile: want ServiceUnavailable, got %v", err)
	}
	if _, err := st.Read(ctx, "gs://bucket/x.json"); !errs.Is(err, errs.BadRequest) {
		t.Errorf("gs:// without a profile: want BadRequest, got %v", err)
	}
	noS3, err := vend.Open(ctx, []vend.Warehouse{{Name: "local", Location: "file://" + dir}}, vend.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := noS3.Read(ctx, "s3://"+bucket+"/lake/t/m.json"); !errs.Is(err, errs.BadRequest) {
		t.Errorf("s3:// without a profile: want BadRequest, got %v", err)
	}
}

// Signing for AWS (no endpoint configured): virtual-hosted and path-style
// addresses of the table's bucket are signed, others refused. No request is
// sent.
func TestSignAWSAddressing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := vend.Open(ctx, []vend.Warehouse{{Name: "aws", Location: "s3://my.bucket/wh", Profile: vend.Profile{
		RemoteSigning: true, S3: vend.S3Config{Region: "eu-west-1", AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret"},
	}}}, vend.Options{})
	if err != nil {
		t.Fatal(err)
	}
	scope := vend.Scope{Locations: []string{"s3://my.bucket/wh/ns/t"}}
	for _, uri := range []string{
		"https://my.bucket.s3.eu-west-1.amazonaws.com/wh/ns/t/data/x.parquet",
		"https://my.bucket.s3.amazonaws.com/wh/ns/t/data/x.parquet",
		"https://s3.eu-west-1.amazonaws.com/my.bucket/wh/ns/t/data/x.parquet",
	} {
		signed, err := st.Vendor("aws").Sign(ctx, scope, vend.SignRequest{Method: "GET", URI: uri})
		if err != nil {
			t.Errorf("%s: %v", uri, err)
			continue
		}
		auth := strings.Join(signed.Headers["Authorization"], "")
		if !strings.Contains(auth, "AKIDEXAMPLE/") || !strings.Contains(auth, "/eu-west-1/s3/aws4_request") || strings.Contains(auth, "secret") {
			t.Errorf("%s: Authorization %q", uri, auth)
		}
	}
	for _, uri := range []string{
		"https://other.s3.eu-west-1.amazonaws.com/wh/ns/t/data/x.parquet",
		"https://s3.eu-west-1.amazonaws.com/other/wh/ns/t/data/x.parquet",
		"https://my.bucket.example.com/wh/ns/t/data/x.parquet",
		"https://my.bucket.s3.eu-west-1.amazonaws.com/wh/ns/t2/x.parquet",
		"ftp://my.bucket.s3.amazonaws.com/wh/ns/t/x",
	} {
		if _, err := st.Vendor("aws").Sign(ctx, scope, vend.SignRequest{Method: "GET", URI: uri}); !errs.Is(err, errs.Forbidden) && !errs.Is(err, errs.BadRequest) {
			t.Errorf("%s: want a refusal, got %v", uri, err)
		}
	}
}

func TestLocationKey(t *testing.T) {
	t.Parallel()
	ok := map[string]string{
		"s3://b/wh/ns/t":                         "s3://b/wh/ns/t/",
		"s3a://b/wh/ns/t/":                       "s3://b/wh/ns/t/",
		"s3://b":                                 "s3://b/",
		"gs://b/x":                               "gcs://b/x/",
		"file:///data/wh":                        "file:///data/wh/",
		"/data/wh/":                              "file:///data/wh/",
		"abfss://c@acct.dfs.core.windows.net/wh": "azure://c@acct/wh/",
		"wasbs://c@acct.blob.core.windows.net/wh/t":           "azure://c@acct/wh/t/",
		"abfss://c@devstoreaccount1.blob.localhost:10000/p/q": "azure://c@devstoreaccount1/p/q/",
	}
	for in, want := range ok {
		got, err := vend.LocationKey(in)
		if err != nil || got != want {
			t.Errorf("LocationKey(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "s3://b/a/../b", "s3://b/a//b", "s3://b/./a", "s3://b/a%2Fb", "s3://b/a?x", "s3://b/a#x", `s3://b/a\b`, "relative/path", "s3:///nobucket", "ftp://h/x"} {
		if _, err := vend.LocationKey(bad); !errs.Is(err, errs.BadRequest) {
			t.Errorf("LocationKey(%q): want BadRequest, got %v", bad, err)
		}
	}
}
