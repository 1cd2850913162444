package vend

import (
	"context"
	"encoding/xml"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/bingsan/bingsan/errs"
)

// unsignedPayload is the payload hash of requests whose body is not signed.
const unsignedPayload = "UNSIGNED-PAYLOAD"

// Query parameters a signed request may carry: those of object reads,
// writes, deletes, multipart uploads and listings. Any other sub-resource
// (?acl, ?policy, ?tagging, ...) is refused.
var signableQuery = map[string]bool{
	"x-id": true, "versionId": true, "partNumber": true, "uploadId": true, "uploads": true,
	"list-type": true, "prefix": true, "delimiter": true, "continuation-token": true,
	"start-after": true, "max-keys": true, "encoding-type": true, "fetch-owner": true,
	"marker": true, "delete": true, "location": true, "max-parts": true, "part-number-marker": true,
}

// Sign implements Vendor: the request is signed with the catalog's own
// credentials (Signature V4) after checking that it addresses only objects
// below the scope's prefixes, and only reads in ReadOnly mode.
func (v *s3Vendor) Sign(ctx context.Context, s Scope, r SignRequest) (SignedRequest, error) {
	if !v.prof.RemoteSigning {
		return SignedRequest{}, errs.New(errs.Forbidden, "Remote signing is not enabled for this warehouse")
	}
	if p := strings.ToLower(r.Provider); p != "" && p != "s3" {
		return SignedRequest{}, errs.New(errs.BadRequest, "Cannot sign requests for storage provider %q", r.Provider)
	}
	prefixes, err := bucketPrefixes(s.Locations, kindS3)
	if err != nil {
		return SignedRequest{}, err
	}
	u, err := url.Parse(r.URI)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return SignedRequest{}, errs.New(errs.BadRequest, "Invalid request URI to sign: %q", r.URI)
	}
	method := strings.ToUpper(r.Method)
	if err := v.authorize(method, u, r.Body, prefixes, s.Mode); err != nil {
		return SignedRequest{}, err
	}

	req, err := http.NewRequestWithContext(ctx, method, r.URI, nil)
	if err != nil {
		return SignedRequest{}, errs.New(errs.BadRequest, "Invalid request to sign: %s", err.Error())
	}
	payload := unsignedPayload
	for k, vs := range r.Headers {
		switch strings.ToLower(k) {
		case "authorization", "x-amz-date", "x-amz-security-token", "host":
			continue // ours replace them
		case "x-amz-content-sha256":
			if len(vs) > 0 && vs[0] != "" {
				payload = vs[0]
			}
			continue
		case "content-length":
			if len(vs) > 0 {
				if n, err := strconv.ParseInt(vs[0], 10, 64); err == nil {
					req.ContentLength = n
				}
			}
		}
		req.Header[http.CanonicalHeaderKey(k)] = vs
	}
	req.Header.Set("X-Amz-Content-Sha256", payload)
	credCtx, cancel := detach(ctx)
	defer cancel()
	creds, err := v.b.aws.Credentials.Retrieve(credCtx)
	if err != nil {
		return SignedRequest{}, errs.Wrap(errs.ServiceUnavailable, err, "Cannot sign: the catalog has no S3 credentials: %s", networkCause(err))
	}
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	if err := signer.SignHTTP(ctx, creds, req, payload, "s3", v.b.cfg.region(), v.cache.now().UTC()); err != nil {
		return SignedRequest{}, errs.Wrap(errs.Internal, err, "Signing failed")
	}
	out := make(map[string][]string, len(req.Header))
	for k, vs := range req.Header {
		out[k] = vs
	}
	return SignedRequest{URI: r.URI, Headers: out}, nil
}

// authorize decides whether a request may be signed for the prefixes.
func (v *s3Vendor) authorize(method string, u *url.URL, body string, prefixes []bucketPrefix, mode Mode) error {
	read := method == http.MethodGet || method == http.MethodHead
	if !read && mode == ReadOnly {
		return errs.New(errs.Forbidden, "Read-only access: cannot sign a %s request", method)
	}
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodPost, http.MethodDelete:
	default:
		return errs.New(errs.Forbidden, "Cannot sign a %s request", method)
	}
	q := u.Query()
	for name := range q {
		if !signableQuery[name] && !strings.HasPrefix(name, "response-") {
			return errs.New(errs.Forbidden, "Cannot sign a request for the S3 sub-resource %q", name)
		}
	}
	bucket, key, err := v.address(u)
	if err != nil {
		return err
	}
	inside := func(k string) bool {
		for _, p := range prefixes {
			if p.contains(bucket, k) {
				return true
			}
		}
		return false
	}
	if key != "" {
		if q.Has("delete") || q.Has("location") || q.Has("list-type") {
			return errs.New(errs.Forbidden, "Cannot sign this request for an object")
		}
		if !inside(key) {
			return errs.New(errs.Forbidden, "Cannot sign a request for s3://%s/%s: outside the table's location", bucket, key)
		}
		return nil
	}
	// Requests on the bucket itself: listing inside a prefix, the bucket's
	// region, and DeleteObjects of keys inside.
	switch {
	case method == http.MethodGet && q.Has("location") && len(q) == 1:
		for _, p := range prefixes {
			if p.bucket == bucket {
				return nil
			}
		}
	case method == http.MethodGet && !q.Has("delete") && !q.Has("location"):
		listed := q.Get("prefix")
		for _, p := range prefixes {
			if p.bucket == bucket && (p.key == "" || strings.HasPrefix(listed, p.key+"/")) {
				return nil
			}
		}
		return errs.New(errs.Forbidden, "Cannot sign a listing of s3://%s/%s: outside the table's location", bucket, listed)
	case method == http.MethodPost && q.Has("delete"):
		var doc struct {
			Objects []struct {
				Key string `xml:"Key"`
			} `xml:"Object"`
		}
		if err := xml.Unmarshal([]byte(body), &doc); err != nil || len(doc.Objects) == 0 {
			return errs.New(errs.Forbidden, "Cannot sign a DeleteObjects request without the keys in its body")
		}
		for _, o := range doc.Objects {
			if !validKey(o.Key) || !inside(o.Key) {
				return errs.New(errs.Forbidden, "Cannot sign a delete of s3://%s/%s: outside the table's location", bucket, o.Key)
			}
		}
		return nil
	}
	return errs.New(errs.Forbidden, "Cannot sign a %s request for bucket %s", method, bucket)
}

// address finds bucket and key of a request URI, path-style
// (endpoint/bucket/key) or virtual-hosted (bucket.endpoint/key), for the
// configured endpoint or, without one, for AWS.
func (v *s3Vendor) address(u *url.URL) (bucket, key string, err error) {
	host := strings.ToLower(u.Host)
	path := strings.TrimPrefix(u.Path, "/")
	pathStyle, virtualBucket := false, ""
	if v.b.cfg.Endpoint != "" {
		ep, _ := url.Parse(v.b.cfg.Endpoint)
		epHost := strings.ToLower(ep.Host)
		switch {
		case host == epHost:
			pathStyle = true
		case strings.HasSuffix(host, "."+epHost):
			virtualBucket = strings.TrimSuffix(host, "."+epHost)
		default:
			return "", "", errs.New(errs.Forbidden, "Cannot sign a request to %s: not the warehouse's S3 endpoint", u.Host)
		}
	} else {
		h := strings.Split(host, ":")[0]
		if !strings.HasSuffix(h, ".amazonaws.com") && !strings.HasSuffix(h, ".amazonaws.com.cn") {
			return "", "", errs.New(errs.Forbidden, "Cannot sign a request to %s: not an S3 endpoint", u.Host)
		}
		// The last ".s3." or ".s3-" ends the bucket (bucket names may
		// hold dots).
		switch i := max(strings.LastIndex(h, ".s3."), strings.LastIndex(h, ".s3-")); {
		case i > 0:
			virtualBucket = h[:i]
		case strings.HasPrefix(h, "s3.") || strings.HasPrefix(h, "s3-"):
			pathStyle = true
		default:
			return "", "", errs.New(errs.Forbidden, "Cannot sign a request to %s: not an S3 endpoint", u.Host)
		}
	}
	if pathStyle {
		bucket, key, _ = strings.Cut(path, "/")
	} else {
		bucket, key = virtualBucket, path
	}
	if bucket == "" {
		return "", "", errs.New(errs.Forbidden, "Cannot sign a request that names no bucket")
	}
	if key != "" && !validKey(key) {
		return "", "", errs.New(errs.Forbidden, "Cannot sign a request for key %q", key)
	}
	return bucket, key, nil
}

// validKey refuses keys with empty, "." or ".." segments, which some
// S3-compatible stores normalise into other keys.
func validKey(key string) bool {
	for seg := range strings.SplitSeq(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
	}
	return true
}
