package vend

import (
	"context"
	"errors"
	"maps"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/vend/gcs"
)

// Client configuration keys (Iceberg FileIO properties) for GCS.
const (
	keyGCSServiceHost    = "gcs.service.host"
	keyGCSNoAuth         = "gcs.no-auth"
	keyGCSToken          = "gcs.oauth2.token"
	keyGCSTokenExpiresAt = "gcs.oauth2.token-expires-at" // epoch milliseconds
)

// IAM roles bounding downscoped tokens.
const (
	gcsRoleRead  = "inRole:roles/storage.objectViewer"
	gcsRoleWrite = "inRole:roles/storage.objectAdmin"
)

// gcsVendor vends OAuth2 access tokens downscoped with a Credential Access
// Boundary to a table's prefixes: Google's token exchange (STS) turns the
// catalog's token into one that can do no more than the boundary allows.
// GCS has no request signing for clients; remote-signing is not offered.
type gcsVendor struct {
	b     *gcsBackend
	prof  Profile
	sts   *http.Client
	cache *credCache
}

func newGCSVendor(b *gcsBackend, prof Profile, now func() time.Time) *gcsVendor {
	sts := &http.Client{Transport: b.base, Timeout: stsTimeout}
	return &gcsVendor{b: b, prof: prof, sts: sts, cache: newCredCache(now)}
}

// clientConfig is what every client of the warehouse needs besides
// credentials.
func (v *gcsVendor) clientConfig() map[string]string {
	m := map[string]string{}
	if v.b.cfg.Endpoint != "" {
		m[keyGCSServiceHost] = v.b.cfg.Endpoint
	}
	if v.b.cfg.NoAuth {
		m[keyGCSNoAuth] = "true"
	}
	return m
}

// Grant implements Vendor.
func (v *gcsVendor) Grant(ctx context.Context, s Scope, d Delegation) (Grant, error) {
	g := Grant{Config: v.clientConfig()}
	if d.VendedCredentials && v.prof.VendedCredentials && !v.b.cfg.NoAuth {
		creds, err := v.Credentials(ctx, s)
		if err != nil {
			return Grant{}, err
		}
		g.Credentials = creds
		if len(creds) > 0 {
			maps.Copy(g.Config, creds[0].Config)
		}
	}
	return g, nil
}

// Credentials implements Vendor: one token exchange whose access boundary
// allows exactly the scope's prefixes (reads only in ReadOnly mode),
// cached per scope until shortly before expiry. A warehouse without
// credentials (no-auth) vends none.
func (v *gcsVendor) Credentials(ctx context.Context, s Scope) ([]Credential, error) {
	if !v.prof.VendedCredentials || v.b.cfg.NoAuth {
		return nil, nil
	}
	prefixes, err := bucketPrefixes(s.Locations, kindGCS)
	if err != nil {
		return nil, err
	}
	rules, err := accessBoundary(prefixes, s.Mode)
	if err != nil {
		return nil, err
	}
	cfg, err := v.cache.get(cacheKey(s), func(ctx context.Context) (map[string]string, time.Time, error) {
		return v.downscope(ctx, rules)
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

// Sign implements Vendor: GCS clients do not use remote signing.
func (v *gcsVendor) Sign(context.Context, Scope, SignRequest) (SignedRequest, error) {
	return SignedRequest{}, errs.New(errs.BadRequest, "Remote signing is not available for GCS storage; ask for vended-credentials")
}

// downscope exchanges the catalog's token for one bounded by rules.
func (v *gcsVendor) downscope(ctx context.Context, rules []gcs.AccessBoundaryRule) (map[string]string, time.Time, error) {
	root, err := v.b.token(ctx)
	if err != nil {
		return nil, time.Time{}, v.exchangeError(err)
	}
	tok, err := gcs.Downscope(ctx, v.sts, v.b.cfg.stsEndpoint(), root, rules)
	if err != nil {
		return nil, time.Time{}, v.exchangeError(err)
	}
	if tok.Value == "" || tok.Expiry.IsZero() {
		return nil, time.Time{}, errs.New(errs.ServiceUnavailable, "Cannot vend credentials: the token exchange at %s returned no token or no expiry", v.b.cfg.stsEndpoint())
	}
	return map[string]string{
		keyGCSToken:          tok.Value,
		keyGCSTokenExpiresAt: strconv.FormatInt(tok.Expiry.UnixMilli(), 10),
	}, tok.Expiry, nil
}

// exchangeError names why no downscoped token was issued: the catalog's own
// credentials failed, the exchange endpoint could not be reached, or it
// refused (with its answer, which never holds the catalog's token).
func (v *gcsVendor) exchangeError(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return errs.Wrap(errs.ServiceUnavailable, err, "Cannot vend credentials: the token exchange at %s timed out", v.b.cfg.stsEndpoint())
	}
	var ce *gcsCredentialsError
	if errors.As(err, &ce) {
		return errs.Wrap(errs.ServiceUnavailable, err, "Cannot vend credentials: %s", ce.Error())
	}
	if isNetworkError(err) {
		return errs.Wrap(errs.ServiceUnavailable, err, "Cannot vend credentials: the token exchange at %s is unreachable: %s", v.b.cfg.stsEndpoint(), networkCause(err))
	}
	return errs.Wrap(errs.ServiceUnavailable, err, "Cannot vend credentials: the token exchange at %s refused to downscope the token: %s", v.b.cfg.stsEndpoint(), err.Error())
}

// isNetworkError reports whether err is a failure to reach a server.
func isNetworkError(err error) bool {
	var op *net.OpError
	var dns *net.DNSError
	return errors.As(err, &op) || errors.As(err, &dns)
}

// maxBoundaryRules is the most rules a Credential Access Boundary takes.
const maxBoundaryRules = 10

// accessBoundary is the Credential Access Boundary for prefixes: one rule
// per bucket, whose role bounds the permissions (objectViewer to read,
// objectAdmin to read, write and delete) and whose availability condition
// limits them to objects below the prefixes (resource.name startsWith
// projects/_/buckets/<bucket>/objects/<prefix>/) and to listings of those
// prefixes (the objectListPrefix attribute).
func accessBoundary(prefixes []bucketPrefix, mode Mode) ([]gcs.AccessBoundaryRule, error) {
	role := gcsRoleWrite
	if mode == ReadOnly {
		role = gcsRoleRead
	}
	var buckets []string
	byBucket := map[string][]string{}
	whole := map[string]bool{}
	for _, p := range prefixes {
		if _, seen := byBucket[p.bucket]; !seen && !whole[p.bucket] {
			buckets = append(buckets, p.bucket)
		}
		if p.key == "" {
			whole[p.bucket] = true
		}
		byBucket[p.bucket] = append(byBucket[p.bucket], p.key)
	}
	if len(buckets) > maxBoundaryRules {
		return nil, errs.New(errs.BadRequest, "Cannot vend credentials for files in %d buckets (at most %d)", len(buckets), maxBoundaryRules)
	}
	rules := make([]gcs.AccessBoundaryRule, 0, len(buckets))
	for _, bucket := range buckets {
		rule := gcs.AccessBoundaryRule{
			AvailableResource:    "//storage.googleapis.com/projects/_/buckets/" + bucket,
			AvailablePermissions: []string{role},
		}
		if !whole[bucket] {
			var terms []string
			for _, key := range byBucket[bucket] {
				terms = append(terms,
					"resource.name.startsWith("+celString("projects/_/buckets/"+bucket+"/objects/"+key+"/")+")",
					"api.getAttribute('storage.googleapis.com/objectListPrefix', '').startsWith("+celString(key+"/")+")")
			}
			rule.Condition = &gcs.AvailabilityCondition{
				Title:      "table prefixes",
				Expression: strings.Join(terms, " || "),
			}
		}
		rules = append(rules, rule)
	}
	return rules, nil
}

// celString quotes s as a CEL string literal.
func celString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`, "\r", `\r`)
	return "'" + r.Replace(s) + "'"
}
