package vend

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	icebergio "github.com/apache/iceberg-go/io"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/metrics"
)

// Warehouse is one warehouse's storage: its base location and the storage
// profile that serves it. The location's scheme picks the profile: file://
// (or an absolute path) is the local filesystem, s3:// (s3a://, s3n://) is
// S3 as S3 configures it, gs:// is GCS as GCS configures it, and
// abfs[s]:// and wasb[s]:// (<container>@<account>.<host>) are Azure
// Blob Storage / ADLS Gen2 as Azure configures it.
type Warehouse struct {
	Name     string
	Location string
	Profile  Profile
}

// Profile is how the catalog reaches a warehouse's storage and what access
// it delegates to clients. Only the section matching the location's scheme
// is used.
type Profile struct {
	S3    S3Config
	GCS   GCSConfig
	Azure AzureConfig

	// VendedCredentials lets clients that ask for vended-credentials
	// receive credentials scoped to one table.
	VendedCredentials bool
	// RemoteSigning lets clients that ask for remote-signing have their
	// requests signed by the catalog, for one table's objects only.
	RemoteSigning bool
	// CredentialDuration is the lifetime of vended credentials (0: one
	// hour).
	CredentialDuration time.Duration
}

// DefaultCredentialDuration is the lifetime of vended credentials when a
// profile does not set one.
const DefaultCredentialDuration = time.Hour

// Options configures Open.
type Options struct {
	// Now is the clock that credential caching compares expiry times
	// against (tests); nil: time.Now.
	Now func() time.Time
	// Metrics counts hits and misses of the vended-credentials cache;
	// nil: none.
	Metrics *metrics.Metrics
}

// Storage is the storage of every warehouse: a FileIO that routes each
// location to the backend serving it, and each warehouse's Vendor.
type Storage struct {
	local      *Local
	warehouses []*warehouseStorage // configuration order
	byName     map[string]*warehouseStorage
}

type warehouseStorage struct {
	wh     Warehouse
	base   location
	io     objectIO
	vendor Vendor // nil: the storage needs no delegated access (local)
}

var _ FileIO = (*Storage)(nil)

// Open builds the storage of whs. It checks the configuration and creates
// the clients but contacts no server, so a store that is down does not
// stop the catalog from starting (its requests answer 503 instead).
func Open(ctx context.Context, whs []Warehouse, opts Options) (*Storage, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Storage{local: NewLocal(), byName: map[string]*warehouseStorage{}}
	for _, wh := range whs {
		if wh.Name == "" {
			return nil, fmt.Errorf("storage: a warehouse has no name")
		}
		if _, dup := s.byName[wh.Name]; dup {
			return nil, fmt.Errorf("storage: warehouse %q is configured twice", wh.Name)
		}
		base, err := parseLocation(wh.Location)
		if err != nil {
			return nil, fmt.Errorf("storage: warehouse %q: %w", wh.Name, err)
		}
		if wh.Profile.CredentialDuration == 0 {
			wh.Profile.CredentialDuration = DefaultCredentialDuration
		}
		ws := &warehouseStorage{wh: wh, base: base}
		switch base.kind {
		case kindFile:
			ws.io = s.local
		case kindS3:
			if base.bucket == "" {
				return nil, fmt.Errorf("storage: warehouse %q: location %s names no bucket", wh.Name, wh.Location)
			}
			b, err := newS3Backend(ctx, wh.Profile.S3)
			if err != nil {
				return nil, fmt.Errorf("storage: warehouse %q: %w", wh.Name, err)
			}
			v := newS3Vendor(b, wh.Profile, opts.Now)
			v.cache.metrics = opts.Metrics
			ws.io, ws.vendor = b, v
		case kindGCS:
			if base.bucket == "" {
				return nil, fmt.Errorf("storage: warehouse %q: location %s names no bucket", wh.Name, wh.Location)
			}
			b, err := newGCSBackend(ctx, wh.Profile.GCS)
			if err != nil {
				return nil, fmt.Errorf("storage: warehouse %q: %w", wh.Name, err)
			}
			v := newGCSVendor(b, wh.Profile, opts.Now)
			v.cache.metrics = opts.Metrics
			ws.io, ws.vendor = b, v
		case kindAzure:
			b, err := newAzureBackend(base, wh.Profile.Azure)
			if err != nil {
				return nil, fmt.Errorf("storage: warehouse %q: %w", wh.Name, err)
			}
			v, err := newAzureVendor(b, wh.Profile, opts.Now)
			if err != nil {
				return nil, fmt.Errorf("storage: warehouse %q: %w", wh.Name, err)
			}
			v.cache.metrics = opts.Metrics
			ws.io, ws.vendor = b, v
		default:
			return nil, fmt.Errorf("storage: warehouse %q: %s storage is not supported (location %s)", wh.Name, base.scheme, wh.Location)
		}
		s.warehouses = append(s.warehouses, ws)
		s.byName[wh.Name] = ws
	}
	return s, nil
}

// Vendor returns the Vendor of the named warehouse, nil when the warehouse
// is unknown or its storage needs no delegated access (local).
func (s *Storage) Vendor(warehouse string) Vendor {
	if ws, ok := s.byName[warehouse]; ok && ws.vendor != nil {
		return ws.vendor
	}
	return nil
}

// backend picks the FileIO serving location: local paths go to the local
// filesystem; an object store location goes to the warehouse it lies in
// (the deepest, when warehouses nest), else to the first warehouse on the
// same bucket, else to the first warehouse of the same kind of storage
// (tables a warehouse allows outside its location, register sources).
func (s *Storage) backend(loc string) (objectIO, error) {
	l, err := parseLocation(loc)
	if err != nil {
		return nil, err
	}
	if l.kind == kindFile {
		return s.local, nil
	}
	var inside, sameBucket, sameKind *warehouseStorage
	for _, ws := range s.warehouses {
		if ws.base.kind != l.kind {
			continue
		}
		if ws.base.contains(l) && (inside == nil || len(ws.base.key) > len(inside.base.key)) {
			inside = ws
		}
		if sameBucket == nil && ws.base.bucket == l.bucket {
			sameBucket = ws
		}
		if sameKind == nil {
			sameKind = ws
		}
	}
	for _, ws := range []*warehouseStorage{inside, sameBucket, sameKind} {
		if ws != nil {
			return ws.io, nil
		}
	}
	return nil, errs.New(errs.BadRequest, "No warehouse is configured for %s storage: %s", l.scheme, loc)
}

// WriteNew implements FileIO.
func (s *Storage) WriteNew(ctx context.Context, location string, data []byte) error {
	b, err := s.backend(location)
	if err != nil {
		return err
	}
	return b.WriteNew(ctx, location, data)
}

// Read implements FileIO.
func (s *Storage) Read(ctx context.Context, location string) ([]byte, error) {
	b, err := s.backend(location)
	if err != nil {
		return nil, err
	}
	return b.Read(ctx, location)
}

// Exists implements FileIO.
func (s *Storage) Exists(ctx context.Context, location string) (bool, error) {
	b, err := s.backend(location)
	if err != nil {
		return false, err
	}
	return b.Exists(ctx, location)
}

// Delete implements FileIO.
func (s *Storage) Delete(ctx context.Context, location string) error {
	b, err := s.backend(location)
	if err != nil {
		return err
	}
	return b.Delete(ctx, location)
}

// SweepTemporary implements FileIO.
func (s *Storage) SweepTemporary(ctx context.Context, location string, before time.Time) (int, error) {
	if l, err := parseLocation(location); err != nil || l.kind != kindFile {
		return 0, err
	}
	return s.local.SweepTemporary(ctx, location, before)
}

// RemoveEmptyDirectories implements FileIO.
func (s *Storage) RemoveEmptyDirectories(ctx context.Context, location string) error {
	if l, err := parseLocation(location); err != nil || l.kind != kindFile {
		return err
	}
	return s.local.RemoveEmptyDirectories(ctx, location)
}

// FS implements FileIO.
func (s *Storage) FS(ctx context.Context, location string) (icebergio.IO, error) {
	b, err := s.backend(location)
	if err != nil {
		return nil, err
	}
	return b.FS(ctx, location)
}

// Kinds of storage, by location scheme.
const (
	kindFile  = "file"
	kindS3    = "s3"
	kindGCS   = "gcs"
	kindAzure = "azure"
)

// bucketPrefix is a bucket and a key prefix (no slashes around it; empty:
// the whole bucket), the unit S3 policies and GCS access boundaries grant.
type bucketPrefix struct{ bucket, key string }

// bucketPrefixes parses a scope's locations on a store of kind, dropping
// those inside another.
func bucketPrefixes(locs []string, kind string) ([]bucketPrefix, error) {
	if len(locs) == 0 {
		return nil, errs.New(errs.BadRequest, "No storage location to grant access to")
	}
	var out []bucketPrefix
	for _, loc := range locs {
		l, err := parseLocation(loc)
		if err != nil {
			return nil, err
		}
		if l.kind != kind || l.bucket == "" {
			return nil, errs.New(errs.BadRequest, "Cannot grant %s access to %s", strings.ToUpper(kind), loc)
		}
		out = append(out, bucketPrefix{bucket: l.bucket, key: l.key})
	}
	var kept []bucketPrefix
	for i, p := range out {
		covered := false
		for j, q := range out {
			if i != j && p.bucket == q.bucket && keyWithin(q.key, p.key) && (p.key != q.key || j < i) {
				covered = true
				break
			}
		}
		if !covered {
			kept = append(kept, p)
		}
	}
	return kept, nil
}

// location is a parsed storage location: for object stores the bucket (or
// container) and the key without a leading slash; for files the path.
type location struct {
	raw    string
	scheme string // as written, lower-cased
	kind   string
	bucket string
	key    string
}

func parseLocation(s string) (location, error) {
	if s == "" {
		return location{}, errs.New(errs.BadRequest, "Storage location must not be empty")
	}
	u, err := url.Parse(s)
	if err != nil {
		return location{}, errs.Wrap(errs.BadRequest, err, "Invalid storage location: %s", s)
	}
	l := location{raw: s, scheme: strings.ToLower(u.Scheme)}
	switch l.scheme {
	case "", "file":
		l.kind, l.key = kindFile, u.Path
		return l, nil
	case "s3", "s3a", "s3n":
		l.kind = kindS3
	case "gs":
		l.kind = kindGCS
	case "abfs", "abfss", "wasb", "wasbs":
		l.kind = kindAzure
	default:
		return location{}, errs.New(errs.BadRequest, "Unsupported storage scheme %q in %s", u.Scheme, s)
	}
	l.bucket = u.Host
	if l.kind == kindAzure {
		// The container is part of the authority: container@account-host.
		if u.User == nil || u.User.Username() == "" || u.Host == "" {
			return location{}, errs.New(errs.BadRequest, "Azure location %s must name a container and an account: %s://<container>@<account>.<host>/<path>", s, l.scheme)
		}
		l.bucket = u.User.Username() + "@" + strings.ToLower(u.Host)
	}
	l.key = strings.Trim(u.Path, "/")
	return l, nil
}

// contains reports whether o lies at or below l (same kind of storage,
// same bucket, key below l's key).
func (l location) contains(o location) bool {
	if l.kind != o.kind || l.bucket != o.bucket {
		return false
	}
	return keyWithin(l.key, o.key)
}

// keyWithin reports whether key is prefix itself or lies below it, as
// object keys: "a/b" is within "a", "ab" is not.
func keyWithin(prefix, key string) bool {
	return prefix == "" || key == prefix || strings.HasPrefix(key, prefix+"/")
}

// LocationKey returns the canonical form of a storage location, for
// comparing who owns what: "<kind>://<bucket>/<key>/" with the scheme's
// aliases folded (s3a, s3n: s3; abfs, abfss, wasb, wasbs: azure, whose
// bucket is container@account, whichever endpoint names the account), and
// always one trailing slash, so that one location lies inside another
// exactly when the other's key is a prefix of its key. Locations that the
// stores would take differently from how they read are refused: empty,
// "." and ".." segments (object stores keep them literally), and '%', '?',
// '#' and '\', which URI parsing would decode or cut.
func LocationKey(loc string) (string, error) {
	if strings.ContainsAny(loc, "%?#\\") {
		return "", errs.New(errs.BadRequest, "Location %s must not contain '%%', '?', '#' or '\\'", loc)
	}
	l, err := parseLocation(loc)
	if err != nil {
		return "", err
	}
	p := l.key
	if l.kind == kindFile {
		if !strings.HasPrefix(p, "/") {
			return "", errs.New(errs.BadRequest, "Location %s must be an absolute path or a URI", loc)
		}
		p = strings.TrimPrefix(p, "/")
	} else if l.bucket == "" {
		return "", errs.New(errs.BadRequest, "Location %s names no bucket", loc)
	}
	p = strings.TrimSuffix(p, "/")
	if p != "" {
		for seg := range strings.SplitSeq(p, "/") {
			if seg == "" || seg == "." || seg == ".." {
				return "", errs.New(errs.BadRequest, "Location %s must not contain empty, '.' or '..' segments", loc)
			}
		}
		p += "/"
	}
	bucket := l.bucket
	if l.kind == kindAzure {
		// container@account.blob.core.windows.net and
		// container@account.dfs.core.windows.net are the same storage.
		container, host, _ := strings.Cut(bucket, "@")
		account, _, _ := strings.Cut(host, ".")
		bucket = container + "@" + account
	}
	if l.kind == kindFile {
		bucket = ""
	}
	return l.kind + "://" + bucket + "/" + p, nil
}
