package vend

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	icebergio "github.com/apache/iceberg-go/io"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/vend/gcs"
)

// GCSConfig is the Google Cloud Storage section of a storage profile.
type GCSConfig struct {
	// Endpoint is the JSON API base URL for emulators and private
	// endpoints (fake-gcs-server: http://127.0.0.1:4443/storage/v1/);
	// empty: Google Cloud Storage.
	Endpoint string
	// CredentialsFile and CredentialsJSON are the catalog's Google
	// credentials (a service account key or an authorized-user file);
	// when both are empty they are found as Application Default
	// Credentials find them (those file kinds, or the metadata server).
	CredentialsFile string
	CredentialsJSON Secret
	// NoAuth sends requests without credentials (emulators, public
	// buckets). Such a warehouse vends nothing: its storage needs no
	// credentials.
	NoAuth bool
	// STSEndpoint is the token exchange endpoint that downscopes tokens
	// (empty: https://sts.googleapis.com/v1/token).
	STSEndpoint string

	// Credentials, when set, are used instead of CredentialsFile,
	// CredentialsJSON and Application Default Credentials (programmatic
	// use and tests; no configuration key): a gcs.TokenSource, or
	// credentials of Google's Go auth library (*auth.Credentials of
	// cloud.google.com/go/auth, or anything with its method
	// Token(context.Context) (*auth.Token, error)).
	Credentials any
	// HTTPClient, when set, carries every request (storage and token
	// exchange) instead of a default client (tests; no configuration key).
	HTTPClient *http.Client
}

// Google's token exchange endpoint and the scope of the catalog's token.
const (
	defaultGoogleSTS = "https://sts.googleapis.com/v1/token"
	gcsRootScope     = "https://www.googleapis.com/auth/cloud-platform"
	// Root tokens are refreshed this long before they expire, so a token
	// downscoped from one always has at least this much life.
	gcsRootEarlyRefresh = 15 * time.Minute
)

func (c GCSConfig) stsEndpoint() string {
	if c.STSEndpoint != "" {
		return c.STSEndpoint
	}
	return defaultGoogleSTS
}

func (c GCSConfig) check() error {
	for _, ep := range []string{c.Endpoint, c.STSEndpoint} {
		if ep == "" {
			continue
		}
		if u, err := url.Parse(ep); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("gcs: endpoint %q is not an http(s) URL", ep)
		}
	}
	if c.CredentialsFile != "" && c.CredentialsJSON != "" {
		return errors.New("gcs: set either a credentials file or credentials JSON, not both")
	}
	if c.NoAuth && (c.CredentialsFile != "" || c.CredentialsJSON != "" || c.Credentials != nil) {
		return errors.New("gcs: no-auth excludes credentials")
	}
	return nil
}

// gcsBackend is the FileIO of one GCS profile, over the JSON API:
// exclusive creates are uploads with the precondition ifGenerationMatch=0.
type gcsBackend struct {
	cfg    GCSConfig
	base   http.RoundTripper // without credentials
	client *gcs.Client

	mu    sync.Mutex
	creds gcs.TokenSource // resolved on first use
}

var _ objectIO = (*gcsBackend)(nil)

// newGCSBackend builds the client; it contacts no server and looks for
// credentials only when they are first needed.
func newGCSBackend(_ context.Context, cfg GCSConfig) (*gcsBackend, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	b := &gcsBackend{cfg: cfg, base: baseTransport(cfg.HTTPClient)}
	var tokens gcs.TokenSource
	if !cfg.NoAuth {
		tokens = gcs.TokenFunc(b.token)
	}
	client, err := gcs.New(cfg.Endpoint, &http.Client{Transport: b.base}, tokens)
	if err != nil {
		return nil, err
	}
	b.client = client
	return b, nil
}

// baseTransport is the transport below credentials: hc's when given, else
// one with bounded connection and response-header waits.
func baseTransport(hc *http.Client) http.RoundTripper {
	if hc != nil {
		if hc.Transport != nil {
			return hc.Transport
		}
		return http.DefaultTransport
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.ResponseHeaderTimeout = 30 * time.Second
	return t
}

// credentials returns the catalog's Google credentials, finding them on
// first use (a failure is retried on the next call).
func (b *gcsBackend) credentials() (gcs.TokenSource, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.creds != nil {
		return b.creds, nil
	}
	var (
		src gcs.TokenSource
		err error
	)
	if b.cfg.Credentials != nil {
		src, err = googleTokenSource(b.cfg.Credentials)
	} else {
		src, err = gcs.FindCredentials(b.cfg.CredentialsFile, []byte(b.cfg.CredentialsJSON.Reveal()), &http.Client{Transport: b.base})
	}
	if err != nil {
		return nil, &gcsCredentialsError{err: err}
	}
	b.creds = gcs.Cached(src, gcsRootEarlyRefresh)
	return b.creds, nil
}

// token is an access token of the catalog's credentials.
func (b *gcsBackend) token(ctx context.Context) (gcs.Token, error) {
	creds, err := b.credentials()
	if err != nil {
		return gcs.Token{}, err
	}
	tok, err := creds.Token(ctx)
	if err != nil {
		return gcs.Token{}, &gcsCredentialsError{err: err}
	}
	return tok, nil
}

// gcsCredentialsError is a failure to obtain the catalog's own token.
type gcsCredentialsError struct{ err error }

func (e *gcsCredentialsError) Error() string {
	return "the catalog's Google credentials gave no token: " + e.err.Error()
}

func (e *gcsCredentialsError) Unwrap() error { return e.err }

// object splits a gs:// location into bucket and key.
func (b *gcsBackend) object(loc string) (string, string, error) {
	l, err := parseLocation(loc)
	if err != nil {
		return "", "", err
	}
	if l.kind != kindGCS || l.bucket == "" || l.key == "" {
		return "", "", errs.New(errs.BadRequest, "Not a GCS object location: %s", loc)
	}
	return l.bucket, l.key, nil
}

// WriteNew implements FileIO: a single-request upload with the
// precondition that no live object has the name; GCS refuses it with 412
// otherwise, and an object is only visible once complete.
func (b *gcsBackend) WriteNew(ctx context.Context, loc string, data []byte) error {
	ctx, cancel := detach(ctx)
	defer cancel()
	bucket, key, err := b.object(loc)
	if err != nil {
		return err
	}
	if err := b.client.Create(ctx, bucket, key, data); err != nil {
		return gcsError(err, "write", loc)
	}
	return nil
}

// Read implements FileIO.
func (b *gcsBackend) Read(ctx context.Context, loc string) ([]byte, error) {
	ctx, cancel := detach(ctx)
	defer cancel()
	bucket, key, err := b.object(loc)
	if err != nil {
		return nil, err
	}
	data, err := b.client.Get(ctx, bucket, key)
	if err != nil {
		return nil, gcsError(err, "read", loc)
	}
	return data, nil
}

// Exists implements FileIO.
func (b *gcsBackend) Exists(ctx context.Context, loc string) (bool, error) {
	ctx, cancel := detach(ctx)
	defer cancel()
	bucket, key, err := b.object(loc)
	if err != nil {
		return false, err
	}
	if _, err := b.client.Stat(ctx, bucket, key); err != nil {
		err = gcsError(err, "stat", loc)
		if errs.Is(err, errs.NotFound) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// Delete implements FileIO; a missing object is not an error.
func (b *gcsBackend) Delete(ctx context.Context, loc string) error {
	ctx, cancel := detach(ctx)
	defer cancel()
	bucket, key, err := b.object(loc)
	if err != nil {
		return err
	}
	if err := b.client.Delete(ctx, bucket, key); err != nil {
		if err = gcsError(err, "delete", loc); !errs.Is(err, errs.NotFound) {
			return err
		}
	}
	return nil
}

// FS implements FileIO: iceberg-go reads the bucket's files with the
// catalog's credentials.
func (b *gcsBackend) FS(ctx context.Context, loc string) (icebergio.IO, error) {
	l, err := parseLocation(loc)
	if err != nil {
		return nil, err
	}
	if l.kind != kindGCS || l.bucket == "" {
		return nil, errs.New(errs.BadRequest, "Not a GCS location: %s", loc)
	}
	return newObjectFS(ctx, b, kindGCS, l.bucket), nil
}

// gcsError turns a GCS failure into an errs kind. The message names the
// cause as the store reported it (status and reason) or the network
// error; neither contains credentials.
func gcsError(err error, op, loc string) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var ce *gcsCredentialsError
	if errors.As(err, &ce) {
		return errs.Wrap(errs.ServiceUnavailable, err, "Storage credentials are unavailable: cannot %s %s: %s", op, loc, ce.Error())
	}
	var ge *gcs.Error
	if errors.As(err, &ge) {
		switch {
		case ge.Status == http.StatusPreconditionFailed && op == "write":
			return errs.Wrap(errs.AlreadyExists, err, "File already exists: %s", loc)
		case ge.Status == http.StatusNotFound && op != "write":
			return errs.Wrap(errs.NotFound, err, "File does not exist: %s", loc)
		}
		return refusal(err, ge.Status, ge.Reason, googleErrorText(ge), op, loc)
	}
	return errs.Wrap(errs.ServiceUnavailable, err, "Storage is unreachable: cannot %s %s: %s", op, loc, networkCause(err))
}

// googleErrorText is "status reason: message" of a JSON API error.
func googleErrorText(ge *gcs.Error) string {
	s := fmt.Sprint(ge.Status)
	if ge.Reason != "" {
		s += " " + ge.Reason
	}
	if ge.Message != "" {
		s += ": " + ge.Message
	}
	return s
}
