// Package s3test gives tests a bucket of their own on an S3 server with STS
// (MinIO, which scripts/ensure-minio.sh installs and starts on
// 127.0.0.1:9000).
//
// The server comes from BINGSAN_TEST_S3_ENDPOINT (default
// http://127.0.0.1:9000) with the root credentials BINGSAN_TEST_S3_ACCESS_KEY
// and BINGSAN_TEST_S3_SECRET_KEY (defaults: those of ensure-minio.sh). When it
// cannot be reached, tests are skipped, unless CI is set or
// BINGSAN_TEST_REQUIRE_POSTGRES=1 (the same switch as internal/pgtest), in
// which case they fail: a CI run must never pass by skipping the object
// store.
package s3test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/bingsan/bingsan/internal/pgtest"
	"github.com/bingsan/bingsan/vend"
)

// Environment variables naming the server and its root credentials.
const (
	EnvEndpoint  = "BINGSAN_TEST_S3_ENDPOINT"
	EnvAccessKey = "BINGSAN_TEST_S3_ACCESS_KEY"
	EnvSecretKey = "BINGSAN_TEST_S3_SECRET_KEY"
)

// Defaults, matching scripts/ensure-minio.sh.
const (
	DefaultEndpoint  = "http://127.0.0.1:9000"
	DefaultAccessKey = "bingsan-test"
	DefaultSecretKey = "bingsan-test-secret"
	Region           = "us-east-1"
)

// Server is the S3 server tests use.
type Server struct {
	Endpoint  string
	AccessKey string
	SecretKey string
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// Config returns the server from the environment.
func Config() Server {
	return Server{
		Endpoint:  env(EnvEndpoint, DefaultEndpoint),
		AccessKey: env(EnvAccessKey, DefaultAccessKey),
		SecretKey: env(EnvSecretKey, DefaultSecretKey),
	}
}

// Profile is the server as a warehouse's S3 configuration, with the root
// credentials.
func (s Server) Profile() vend.S3Config {
	return vend.S3Config{
		Endpoint: s.Endpoint, Region: Region, PathStyle: true,
		AccessKeyID: s.AccessKey, SecretAccessKey: vend.Secret(s.SecretKey),
	}
}

// Client is an S3 client with the given credentials (session token
// optional).
func (s Server) Client(accessKey, secretKey, sessionToken string) *s3.Client {
	return s3.New(s3.Options{
		Region:       Region,
		BaseEndpoint: aws.String(s.Endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(accessKey, secretKey, sessionToken),
		// Tests check refusals: no retries.
		RetryMaxAttempts: 1,
	})
}

// Root is an S3 client with the root credentials.
func (s Server) Root() *s3.Client { return s.Client(s.AccessKey, s.SecretKey, "") }

var (
	reachOnce sync.Once
	reachErr  error
)

// Require returns the server, or skips (fails in CI) when it does not
// answer with the configured credentials.
func Require(t testing.TB) Server {
	t.Helper()
	s := Config()
	reachOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, reachErr = s.Root().ListBuckets(ctx, &s3.ListBucketsInput{})
	})
	if reachErr != nil {
		msg := fmt.Sprintf("S3 server not usable at %s (%v); start it with scripts/ensure-minio.sh or point %s at one", s.Endpoint, reachErr, EnvEndpoint)
		if pgtest.Required() {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return s
}

// NewBucket creates a fresh bucket for t, emptied and removed when t ends.
func NewBucket(t testing.TB) (Server, string) {
	t.Helper()
	s := Require(t)
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	bucket := "bingsan-test-" + hex.EncodeToString(b)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := s.Root().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("s3test: create bucket %s: %v", bucket, err)
	}
	t.Cleanup(func() { removeBucket(t, s.Root(), bucket) })
	return s, bucket
}

func removeBucket(t testing.TB, c *s3.Client, bucket string) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Errorf("s3test: list %s: %v", bucket, err)
			return
		}
		if len(page.Contents) == 0 {
			continue
		}
		ids := make([]s3types.ObjectIdentifier, 0, len(page.Contents))
		for _, o := range page.Contents {
			ids = append(ids, s3types.ObjectIdentifier{Key: o.Key})
		}
		if _, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{
			Bucket: aws.String(bucket), Delete: &s3types.Delete{Objects: ids, Quiet: aws.Bool(true)},
		}); err != nil {
			t.Errorf("s3test: empty %s: %v", bucket, err)
			return
		}
	}
	if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Errorf("s3test: remove bucket %s: %v", bucket, err)
	}
}
