package vend

import (
	"context"
	"errors"
	"maps"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/vend/azure"
)

// Client configuration keys (Iceberg FileIO properties) for Azure. The SAS
// keys are suffixed with the storage account: iceberg-go and PyIceberg
// look them up by the location's host (account.dfs.core.windows.net),
// others by the account name, so both are given.
const (
	keyADLSSASPrefix       = "adls.sas-token."
	keyADLSSASExpiresAtPre = "adls.sas-token-expires-at-ms."
	keyADLSEndpoint        = "adls.endpoint"
	keyADLSProtocol        = "adls.protocol"
)

// SAS lifetimes: a start time in the past absorbs clock skew; user
// delegation keys live at most a week.
const (
	sasClockSkew    = 5 * time.Minute
	maxDelegKeyLife = 7 * 24 * time.Hour
)

// azureVendor vends SAS tokens for a table's paths: user-delegation SAS
// (signed with a key Azure issues to the catalog's Azure AD identity) when
// an Azure AD credential is configured, else service SAS signed with the
// account key. A SAS covers the table's directory (sr=d, ADLS Gen2) or,
// with sas-scope container, its whole container. Azure has no request
// signing for clients; remote-signing is not offered.
type azureVendor struct {
	b     *azureBackend
	prof  Profile
	now   func() time.Time
	cache *credCache

	deleg *azure.Client // user delegation keys; nil: service SAS
	keyMu sync.Mutex
	key   *azure.UserDelegationKey
	keyTo time.Time // the key's expiry
	keyFl singleflight.Group
}

func newAzureVendor(b *azureBackend, prof Profile, now func() time.Time) (*azureVendor, error) {
	v := &azureVendor{b: b, prof: prof, now: now, cache: newCredCache(now)}
	if b.token != nil {
		c, err := azure.NewClient(b.account.name, b.account.endpoint, b.http, "", b.token)
		if err != nil {
			return nil, errs.Wrap(errs.Internal, err, "azure: creating the user delegation client")
		}
		v.deleg = c
	}
	return v, nil
}

// userDelegation reports whether vended SAS are user-delegation SAS.
func (v *azureVendor) userDelegation() bool { return v.deleg != nil }

// clientConfig is what every client of the warehouse needs besides
// credentials: a non-default endpoint as iceberg-go reads it (adls.endpoint
// is the host after the account label, or host:port of a path-style
// emulator endpoint, and adls.protocol its scheme).
func (v *azureVendor) clientConfig() map[string]string {
	m := map[string]string{}
	if v.b.cfg.Endpoint == "" {
		return m
	}
	ep := v.b.account.endpoint
	if v.b.account.hostStyle {
		_, domain, _ := strings.Cut(ep.Host, ".")
		if domain != "blob.core.windows.net" {
			m[keyADLSEndpoint] = domain
		}
	} else {
		m[keyADLSEndpoint] = ep.Host
	}
	if ep.Scheme != "https" || m[keyADLSEndpoint] != "" {
		m[keyADLSProtocol] = ep.Scheme
	}
	return m
}

// Grant implements Vendor.
func (v *azureVendor) Grant(ctx context.Context, s Scope, d Delegation) (Grant, error) {
	g := Grant{Config: v.clientConfig()}
	if d.VendedCredentials && v.prof.VendedCredentials {
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

// Credentials implements Vendor: one SAS per location of the scope
// (read and list only in ReadOnly mode), cached per location and mode
// until shortly before expiry.
func (v *azureVendor) Credentials(ctx context.Context, s Scope) ([]Credential, error) {
	if !v.prof.VendedCredentials {
		return nil, nil
	}
	if len(s.Locations) == 0 {
		return nil, errs.New(errs.BadRequest, "No storage location to grant access to")
	}
	out := make([]Credential, 0, len(s.Locations))
	for _, loc := range s.Locations {
		l, err := parseLocation(loc)
		if err != nil {
			return nil, err
		}
		cont, key, err := v.b.containerKey(loc)
		if err != nil {
			return nil, errs.New(errs.BadRequest, "Cannot grant Azure access to %s: %s", loc, errMessage(err))
		}
		_, host, _ := azureContainerHost(l)
		cacheKey := s.Mode.String() + "\x00" + cont + "\x00" + key
		token, err := v.cache.get(cacheKey, func(ctx context.Context) (map[string]string, time.Time, error) {
			tok, exp, err := v.sign(ctx, cont, key, s.Mode)
			if err != nil {
				return nil, time.Time{}, err
			}
			return map[string]string{"sas": tok, "exp": strconv.FormatInt(exp.UnixMilli(), 10)}, exp, nil
		})
		if err != nil {
			return nil, err
		}
		cfg := map[string]string{}
		for _, name := range []string{host, v.b.account.name} {
			cfg[keyADLSSASPrefix+name] = token["sas"]
			cfg[keyADLSSASExpiresAtPre+name] = token["exp"]
		}
		out = append(out, Credential{Prefix: loc, Config: cfg})
	}
	return out, nil
}

// Sign implements Vendor: Azure clients do not use remote signing.
func (v *azureVendor) Sign(context.Context, Scope, SignRequest) (SignedRequest, error) {
	return SignedRequest{}, errs.New(errs.BadRequest, "Remote signing is not available for Azure storage; ask for vended-credentials")
}

// sign makes the SAS for the directory key of container cont (the
// container itself when key is empty or the scope is container).
func (v *azureVendor) sign(ctx context.Context, cont, key string, mode Mode) (string, time.Time, error) {
	now := v.now()
	exp := now.Add(v.prof.CredentialDuration)
	sas := azure.SAS{
		Protocol:    "https",
		Start:       now.Add(-sasClockSkew),
		Expiry:      exp,
		Container:   cont,
		Permissions: "rl",
	}
	if v.b.account.endpoint.Scheme == "http" {
		sas.Protocol = "https,http"
	}
	if mode == ReadWrite {
		sas.Permissions = "racwdl"
	}
	if v.b.cfg.sasScope() == SASScopeDirectory && key != "" {
		sas.Directory = key
	}
	var (
		tok string
		err error
	)
	if v.userDelegation() {
		udk, kerr := v.delegationKey(ctx, exp)
		if kerr != nil {
			return "", time.Time{}, kerr
		}
		tok, err = sas.SignWithUserDelegationKey(v.b.account.name, *udk)
	} else {
		tok, err = sas.SignWithAccountKey(v.b.account.name, v.b.cfg.AccountKey.Reveal())
	}
	if err != nil {
		return "", time.Time{}, errs.Wrap(errs.Internal, err, "Cannot vend credentials: signing the SAS")
	}
	return tok, exp, nil
}

// delegationKey returns a user delegation key valid at least until exp:
// the cached one, or a new one valid for twice the credential lifetime (at
// most a week).
func (v *azureVendor) delegationKey(ctx context.Context, exp time.Time) (*azure.UserDelegationKey, error) {
	v.keyMu.Lock()
	if v.key != nil && !v.keyTo.Before(exp) {
		k := v.key
		v.keyMu.Unlock()
		return k, nil
	}
	v.keyMu.Unlock()
	res, err, _ := v.keyFl.Do("key", func() (any, error) {
		now := v.now()
		life := min(2*v.prof.CredentialDuration, maxDelegKeyLife)
		if life < exp.Sub(now) {
			life = exp.Sub(now)
		}
		until := now.Add(life)
		k, err := v.deleg.GetUserDelegationKey(ctx, now.Add(-sasClockSkew), until)
		if err != nil {
			return nil, v.delegationError(err)
		}
		v.keyMu.Lock()
		v.key, v.keyTo = &k, until.Truncate(time.Second)
		v.keyMu.Unlock()
		return &k, nil
	})
	if err != nil {
		return nil, err
	}
	return res.(*azure.UserDelegationKey), nil
}

// delegationError names why Azure gave no user delegation key: its refusal
// (status and error code), the catalog's Azure AD credential, or the
// network.
func (v *azureVendor) delegationError(err error) error {
	ep := v.b.account.endpoint.String()
	var te *azureTokenError
	var re *azure.Error
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return errs.Wrap(errs.ServiceUnavailable, err, "Cannot vend credentials: Azure at %s did not answer in time for a user delegation key", ep)
	case errors.As(err, &te):
		return errs.Wrap(errs.ServiceUnavailable, err, "Cannot vend credentials: %s", te.Error())
	case errors.As(err, &re):
		return errs.Wrap(errs.ServiceUnavailable, err, "Cannot vend credentials: Azure at %s refused a user delegation key for account %s: %s",
			ep, v.b.account.name, azureErrorText(re))
	}
	return errs.Wrap(errs.ServiceUnavailable, err, "Cannot vend credentials: Azure at %s is unreachable: %s", ep, networkCause(err))
}

// errMessage is the client-facing message of an errs error.
func errMessage(err error) string {
	var e *errs.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return err.Error()
}
