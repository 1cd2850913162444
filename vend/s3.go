package vend

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	icebergio "github.com/apache/iceberg-go/io"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/bingsan/bingsan/errs"
)

// S3Config is the S3 section of a storage profile.
type S3Config struct {
	// Endpoint is the S3 endpoint URL for S3-compatible stores (MinIO and
	// others); empty: AWS.
	Endpoint string
	// Region is the signing region (empty: us-east-1).
	Region string
	// PathStyle addresses buckets as endpoint/bucket instead of
	// bucket.endpoint.
	PathStyle bool
	// AccessKeyID and SecretAccessKey are static credentials of the
	// catalog; when empty the default AWS chain (environment, shared
	// files, instance or task role) is used.
	AccessKeyID     string
	SecretAccessKey Secret
	// RoleARN is the role vended credentials assume (STS AssumeRole with
	// a session policy limited to the table). AWS requires it;
	// S3-compatible stores such as MinIO ignore it.
	RoleARN string
	// STSEndpoint is the STS endpoint URL (empty: Endpoint when set, else
	// AWS STS of Region).
	STSEndpoint string
}

// defaultRegion is the signing region when none is configured.
const defaultRegion = "us-east-1"

func (c S3Config) region() string {
	if c.Region == "" {
		return defaultRegion
	}
	return c.Region
}

// s3Backend is the FileIO of one S3 profile, over the AWS SDK: exclusive
// creates need a conditional PutObject (If-None-Match: *), which iceberg-go's
// gocloud-based IO cannot send.
type s3Backend struct {
	cfg    S3Config
	aws    aws.Config
	client *s3.Client
}

var _ objectIO = (*s3Backend)(nil)

// newS3Backend builds the clients; it contacts no server.
func newS3Backend(ctx context.Context, cfg S3Config) (*s3Backend, error) {
	if (cfg.AccessKeyID == "") != (cfg.SecretAccessKey == "") {
		return nil, errors.New("s3: access key id and secret access key must be set together")
	}
	for _, ep := range []string{cfg.Endpoint, cfg.STSEndpoint} {
		if ep == "" {
			continue
		}
		if u, err := url.Parse(ep); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("s3: endpoint %q is not an http(s) URL", ep)
		}
	}
	opts := []func(*awsconfig.LoadOptions) error{
		awsconfig.WithRegion(cfg.region()),
		// Bounded: a store that is down answers 503 in seconds.
		awsconfig.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 3
				o.MaxBackoff = time.Second
			})
		}),
		awsconfig.WithHTTPClient(awshttp.NewBuildableClient().
			WithDialerOptions(func(d *net.Dialer) { d.Timeout = 5 * time.Second }).
			WithTransportOptions(func(t *http.Transport) { t.ResponseHeaderTimeout = 30 * time.Second })),
	}
	if cfg.AccessKeyID != "" {
		opts = append(opts, awsconfig.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey.Reveal(), "")))
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("s3: loading AWS configuration: %w", err)
	}
	client := s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
		o.UsePathStyle = cfg.PathStyle
	})
	return &s3Backend{cfg: cfg, aws: awsCfg, client: client}, nil
}

// object splits an s3:// location into bucket and key.
func (b *s3Backend) object(loc string) (string, string, error) {
	l, err := parseLocation(loc)
	if err != nil {
		return "", "", err
	}
	if l.kind != kindS3 || l.bucket == "" || l.key == "" {
		return "", "", errs.New(errs.BadRequest, "Not an S3 object location: %s", loc)
	}
	return l.bucket, l.key, nil
}

// WriteNew implements FileIO with a conditional put: S3 refuses it with
// 412 when the key exists, and a put is atomic, so no partial file is ever
// visible.
func (b *s3Backend) WriteNew(ctx context.Context, loc string, data []byte) error {
	ctx, cancel := detach(ctx)
	defer cancel()
	bucket, key, err := b.object(loc)
	if err != nil {
		return err
	}
	_, err = b.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(bucket),
		Key:           aws.String(key),
		Body:          bytes.NewReader(data),
		ContentLength: aws.Int64(int64(len(data))),
		IfNoneMatch:   aws.String("*"),
	})
	if err != nil {
		return s3Error(err, "write", loc)
	}
	return nil
}

// Read implements FileIO.
func (b *s3Backend) Read(ctx context.Context, loc string) ([]byte, error) {
	ctx, cancel := detach(ctx)
	defer cancel()
	bucket, key, err := b.object(loc)
	if err != nil {
		return nil, err
	}
	out, err := b.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil, s3Error(err, "read", loc)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, s3Error(err, "read", loc)
	}
	return data, nil
}

// Exists implements FileIO.
func (b *s3Backend) Exists(ctx context.Context, loc string) (bool, error) {
	ctx, cancel := detach(ctx)
	defer cancel()
	bucket, key, err := b.object(loc)
	if err != nil {
		return false, err
	}
	_, err = b.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		err = s3Error(err, "stat", loc)
		if errs.Is(err, errs.NotFound) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// Delete implements FileIO; S3 deletes of missing keys succeed.
func (b *s3Backend) Delete(ctx context.Context, loc string) error {
	ctx, cancel := detach(ctx)
	defer cancel()
	bucket, key, err := b.object(loc)
	if err != nil {
		return err
	}
	if _, err := b.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}); err != nil {
		err = s3Error(err, "delete", loc)
		if !errs.Is(err, errs.NotFound) {
			return err
		}
	}
	return nil
}

// FS implements FileIO: iceberg-go reads the files with the catalog's own
// S3 client. (iceberg-go's own S3 IO would link gocloud.dev and its
// OpenTelemetry SDK into the binary for reads this client already does.)
func (b *s3Backend) FS(ctx context.Context, loc string) (icebergio.IO, error) {
	if _, err := parseLocation(loc); err != nil {
		return nil, err
	}
	return newObjectFS(ctx, b, kindS3, ""), nil
}

// detach returns a context for calls into the AWS SDK: it has ctx's
// deadline and is canceled with it, but does not chain to it. ctx may be a
// *fasthttp.RequestCtx, which is recycled once its request is answered,
// while net/http's transport goroutines may still walk a request context's
// parents after a call returns. The returned cancel must be called before
// the request ends.
func detach(ctx context.Context) (context.Context, context.CancelFunc) {
	var (
		d      context.Context
		cancel context.CancelFunc
	)
	if dl, ok := ctx.Deadline(); ok {
		d, cancel = context.WithDeadline(context.Background(), dl)
	} else {
		d, cancel = context.WithCancel(context.Background())
	}
	stop := context.AfterFunc(ctx, cancel)
	return d, func() { stop(); cancel() }
}

// s3Error turns an S3 failure into an errs kind. The message names the
// cause as the store reported it (error code and message) or the network
// error; neither contains credentials.
func s3Error(err error, op, loc string) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch code := ae.ErrorCode(); {
		case code == "NoSuchKey" || code == "NotFound" || (code == "NoSuchBucket" && op != "write"):
			return errs.Wrap(errs.NotFound, err, "File does not exist: %s", loc)
		case code == "PreconditionFailed" || code == "ConditionalRequestConflict":
			return errs.Wrap(errs.AlreadyExists, err, "File already exists: %s", loc)
		}
		status := 0
		var re *smithyhttp.ResponseError
		if errors.As(err, &re) {
			status = re.HTTPStatusCode()
		}
		return refusal(err, status, ae.ErrorCode(), apiErrorText(ae), op, loc)
	}
	return errs.Wrap(errs.ServiceUnavailable, err, "Storage is unreachable: cannot %s %s: %s", op, loc, networkCause(err))
}

// apiErrorText is "Code: message" of a service error.
func apiErrorText(ae smithy.APIError) string {
	if msg := ae.ErrorMessage(); msg != "" {
		return ae.ErrorCode() + ": " + msg
	}
	return ae.ErrorCode()
}

// networkCause is the innermost network error of err (e.g. "dial tcp
// 127.0.0.1:9000: connect: connection refused"), or err itself.
func networkCause(err error) string {
	var op *net.OpError
	if errors.As(err, &op) {
		return op.Error()
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return dns.Error()
	}
	return err.Error()
}
