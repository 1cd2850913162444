package vend

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/bingsan/bingsan/errs"
)

// Client configuration keys (Iceberg FileIO properties) for S3.
const (
	keyS3Endpoint       = "s3.endpoint"
	keyS3Region         = "s3.region"
	keyClientRegion     = "client.region"
	keyS3PathStyle      = "s3.path-style-access"        // Java, PyIceberg
	keyS3ForceVirtual   = "s3.force-virtual-addressing" // iceberg-go
	keyS3AccessKeyID    = "s3.access-key-id"
	keyS3SecretKey      = "s3.secret-access-key"
	keyS3SessionToken   = "s3.session-token"
	keyS3TokenExpiresAt = "s3.session-token-expires-at-ms"
	keyS3RemoteSigning  = "s3.remote-signing-enabled"
)

// Vended credentials are handed out from the cache while they have at
// least this share of their lifetime left, and never with less than
// minRemaining (clients refresh five minutes before expiry).
const (
	refreshShare = 4 // a quarter
	minRemaining = 6 * time.Minute
	maxCached    = 10000
	stsTimeout   = 30 * time.Second
)

// s3Vendor vends STS credentials limited by a session policy to a table's
// prefixes, and signs requests to a table's objects with the catalog's own
// credentials.
type s3Vendor struct {
	b    *s3Backend
	prof Profile
	sts  *sts.Client

	cache *credCache
}

func newS3Vendor(b *s3Backend, prof Profile, now func() time.Time) *s3Vendor {
	endpoint := b.cfg.STSEndpoint
	if endpoint == "" {
		endpoint = b.cfg.Endpoint
	}
	client := sts.NewFromConfig(b.aws, func(o *sts.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
	return &s3Vendor{b: b, prof: prof, sts: client, cache: newCredCache(now)}
}

// clientConfig is what every client of the warehouse needs besides
// credentials: region, endpoint and addressing style.
func (v *s3Vendor) clientConfig() map[string]string {
	c := v.b.cfg
	m := map[string]string{keyClientRegion: c.region(), keyS3Region: c.region()}
	if c.Endpoint != "" {
		m[keyS3Endpoint] = c.Endpoint
	}
	switch {
	case c.PathStyle:
		m[keyS3PathStyle] = "true"
		m[keyS3ForceVirtual] = "false"
	case c.Endpoint != "":
		// iceberg-go uses path style for custom endpoints unless told.
		m[keyS3ForceVirtual] = "true"
	}
	return m
}

// Grant implements Vendor.
func (v *s3Vendor) Grant(ctx context.Context, s Scope, d Delegation) (Grant, error) {
	g := Grant{Config: v.clientConfig()}
	switch {
	case d.VendedCredentials && v.prof.VendedCredentials:
		creds, err := v.Credentials(ctx, s)
		if err != nil {
			return Grant{}, err
		}
		g.Credentials = creds
		if len(creds) > 0 {
			// The same credentials cover every prefix; clients that
			// read only config find them there.
			maps.Copy(g.Config, creds[0].Config)
		}
	case d.RemoteSigning && v.prof.RemoteSigning:
		g.Config[keyS3RemoteSigning] = "true"
		g.RemoteSigning = true
	}
	return g, nil
}

// Credentials implements Vendor: one AssumeRole whose session policy allows
// exactly the scope's prefixes (reads only in ReadOnly mode), cached per
// scope until shortly before expiry.
func (v *s3Vendor) Credentials(ctx context.Context, s Scope) ([]Credential, error) {
	if !v.prof.VendedCredentials {
		return nil, nil
	}
	prefixes, err := bucketPrefixes(s.Locations, kindS3)
	if err != nil {
		return nil, err
	}
	key := cacheKey(s)
	cfg, err := v.cache.get(key, func(ctx context.Context) (map[string]string, time.Time, error) {
		return v.assumeRole(ctx, key, prefixes, s.Mode)
	})
	if err != nil {
		return nil, err
	}
	out := make([]Credential, 0, len(s.Locations))
	for _, loc := range s.Locations {
		out = append(out, Credential{Prefix: loc, Config: maps.Clone(cfg)})
	}
	return out, nil
}

func cacheKey(s Scope) string {
	locs := slices.Clone(s.Locations)
	slices.Sort(locs)
	return s.Mode.String() + "\x00" + strings.Join(locs, "\x00")
}

// assumeRole asks STS for credentials limited to prefixes.
func (v *s3Vendor) assumeRole(ctx context.Context, key string, prefixes []bucketPrefix, mode Mode) (map[string]string, time.Time, error) {
	policy, err := sessionPolicy(partition(v.b.cfg.region()), prefixes, mode)
	if err != nil {
		return nil, time.Time{}, err
	}
	sum := sha256.Sum256([]byte(key))
	out, err := v.sts.AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn:         aws.String(v.b.cfg.RoleARN),
		RoleSessionName: aws.String("bingsan-" + hex.EncodeToString(sum[:12])),
		DurationSeconds: aws.Int32(int32(v.prof.CredentialDuration / time.Second)),
		Policy:          aws.String(policy),
	})
	if err != nil {
		return nil, time.Time{}, v.stsError(err)
	}
	c := out.Credentials
	if c == nil || c.AccessKeyId == nil || c.SecretAccessKey == nil || c.SessionToken == nil || c.Expiration == nil {
		return nil, time.Time{}, errs.New(errs.ServiceUnavailable, "Cannot vend credentials: STS AssumeRole at %s returned no credentials", v.stsEndpoint())
	}
	cfg := map[string]string{
		keyS3AccessKeyID:    *c.AccessKeyId,
		keyS3SecretKey:      *c.SecretAccessKey,
		keyS3SessionToken:   *c.SessionToken,
		keyS3TokenExpiresAt: strconv.FormatInt(c.Expiration.UnixMilli(), 10),
	}
	return cfg, *c.Expiration, nil
}

func (v *s3Vendor) stsEndpoint() string {
	switch {
	case v.b.cfg.STSEndpoint != "":
		return v.b.cfg.STSEndpoint
	case v.b.cfg.Endpoint != "":
		return v.b.cfg.Endpoint
	}
	return "AWS STS (" + v.b.cfg.region() + ")"
}

// stsError names why STS did not vend: its refusal (code and message) or
// why it could not be reached.
func (v *s3Vendor) stsError(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	role := v.b.cfg.RoleARN
	if role == "" {
		role = "(none configured)"
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return errs.Wrap(errs.ServiceUnavailable, err, "Cannot vend credentials: STS at %s refused AssumeRole (role %s): %s",
			v.stsEndpoint(), role, apiErrorText(ae))
	}
	return errs.Wrap(errs.ServiceUnavailable, err, "Cannot vend credentials: STS at %s is unreachable: %s",
		v.stsEndpoint(), networkCause(err))
}

func (p bucketPrefix) contains(bucket, key string) bool {
	return p.bucket == bucket && keyWithin(p.key, key)
}

// partition is the ARN partition of region.
func partition(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	}
	return "aws"
}

// sessionPolicy is the inline session policy limiting assumed-role
// credentials to the prefixes: object reads (and in ReadWrite mode writes,
// deletes and multipart uploads) below each prefix, and listing of those
// prefixes only.
func sessionPolicy(part string, prefixes []bucketPrefix, mode Mode) (string, error) {
	type statement struct {
		Effect    string         `json:"Effect"`
		Action    []string       `json:"Action"`
		Resource  []string       `json:"Resource"`
		Condition map[string]any `json:"Condition,omitempty"`
	}
	actions := []string{"s3:GetObject", "s3:GetObjectVersion"}
	if mode == ReadWrite {
		actions = append(actions, "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts")
	}
	var objects []string
	lists := map[string][]string{}
	var buckets []string
	for _, p := range prefixes {
		arn := "arn:" + part + ":s3:::" + p.bucket
		if _, seen := lists[p.bucket]; !seen {
			buckets = append(buckets, p.bucket)
		}
		if p.key == "" {
			objects = append(objects, arn+"/*")
			lists[p.bucket] = append(lists[p.bucket], "*")
			continue
		}
		objects = append(objects, arn+"/"+p.key+"/*")
		lists[p.bucket] = append(lists[p.bucket], p.key, p.key+"/*")
	}
	stmts := []statement{{Effect: "Allow", Action: actions, Resource: objects}}
	for _, b := range buckets {
		arn := "arn:" + part + ":s3:::" + b
		stmts = append(stmts,
			statement{Effect: "Allow", Action: []string{"s3:ListBucket"}, Resource: []string{arn},
				Condition: map[string]any{"StringLike": map[string]any{"s3:prefix": lists[b]}}},
			statement{Effect: "Allow", Action: []string{"s3:GetBucketLocation"}, Resource: []string{arn}})
	}
	doc, err := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": stmts})
	if err != nil {
		return "", errs.Wrap(errs.Internal, err, "encoding session policy")
	}
	return string(doc), nil
}
