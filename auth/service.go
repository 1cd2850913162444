// Package auth authenticates the callers of the catalog and keeps the
// authorization state current.
//
// Three kinds of credentials are accepted as `Authorization: Bearer …`:
// tokens the catalog issues itself (OAuth2 client credentials at
// /v1/oauth/tokens: JWTs signed with a key from the database, verified by
// any node from memory), tokens of configured OIDC issuers (verified with
// their JWKS), and API keys (bsk_…, found by their prefix, checked against
// a hash). Every node holds the whole state (principals, roles, grants, API
// keys, public signing keys) in memory and reloads it when its version in
// the database moves, which every change makes it do; a node notices
// another node's change within Options.RefreshInterval, its own at once.
package auth

import (
	"context"
	"crypto/cipher"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/bingsan/bingsan/authz"
	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/principal"
	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/vend"
)

// Options configure a Service; zero values take the defaults.
type Options struct {
	// TokenTTL is the lifetime of the catalog's tokens. Default 1h.
	TokenTTL time.Duration
	// SigningKeyRotation is how long one key signs before a new one takes
	// over. Default 7 days.
	SigningKeyRotation time.Duration
	// BootstrapClientID and BootstrapClientSecret create, when no
	// principal has that client id yet, an admin principal of that name
	// (role "admin" with admin on the catalog). The secret is hashed;
	// changing it later has no effect.
	BootstrapClientID     string
	BootstrapClientSecret string
	// KeyEncryptionSecret, when set, seals the private signing keys in the
	// database (AES-256-GCM); every node needs the same.
	KeyEncryptionSecret string
	// OIDC lists the external issuers whose tokens are accepted.
	OIDC []OIDCIssuer
	// AuditRetention is how long audit entries are kept; 0: forever.
	AuditRetention time.Duration

	// RefreshInterval is how often the state's version is polled.
	// Default 1s.
	RefreshInterval time.Duration
	// JWKSMinRefresh is the least time between two fetches of an issuer's
	// keys (an unknown key id triggers one). Default 10s.
	JWKSMinRefresh time.Duration
	// JWKSCacheTTL is how long fetched keys are used without fetching
	// again. Default 1h.
	JWKSCacheTTL time.Duration
	// HTTPClient fetches discovery documents and JWKS; nil: a client with
	// a 10s timeout.
	HTTPClient *http.Client
	// Logger receives start-up and background messages; nil: discard.
	Logger *slog.Logger
	// Now is the clock (tests); nil: time.Now.
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.TokenTTL <= 0 {
		o.TokenTTL = time.Hour
	}
	if o.SigningKeyRotation <= 0 {
		o.SigningKeyRotation = 7 * 24 * time.Hour
	}
	if o.RefreshInterval <= 0 {
		o.RefreshInterval = time.Second
	}
	if o.JWKSMinRefresh < 0 {
		o.JWKSMinRefresh = 0
	} else if o.JWKSMinRefresh == 0 {
		o.JWKSMinRefresh = 10 * time.Second
	}
	if o.JWKSCacheTTL <= 0 {
		o.JWKSCacheTTL = time.Hour
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// AdminRole is the role the bootstrap principal gets.
const AdminRole = "admin"

// Service authenticates callers, issues tokens and answers authorization
// questions from the current state.
type Service struct {
	st   store.AuthStore
	opts Options
	log  *slog.Logger
	now  func() time.Time
	aead cipher.AEAD
	oidc map[string]*oidcVerifier // by issuer

	snap      atomic.Pointer[snapshot]
	refreshMu sync.Mutex
}

// snapshot is the state one moment, indexed for requests.
type snapshot struct {
	version       int64
	policy        *authz.Policy
	principals    map[string]store.AuthPrincipal
	apiKeys       map[string]store.APIKey
	verify        map[string]verifyKey
	signer        *signer
	signerCreated time.Time
}

// New loads the state, creates the bootstrap principal and a signing key
// when needed, and returns the service. Call Run to keep it current.
func New(ctx context.Context, st store.AuthStore, opts Options) (*Service, error) {
	opts = opts.withDefaults()
	s := &Service{st: st, opts: opts, log: opts.Logger, now: opts.Now, oidc: map[string]*oidcVerifier{}}
	var err error
	if s.aead, err = keyCipher(opts.KeyEncryptionSecret); err != nil {
		return nil, err
	}
	for _, iss := range opts.OIDC {
		if iss.Issuer == "" || iss.Issuer == Issuer {
			return nil, errs.New(errs.BadRequest, "OIDC issuer %q is not allowed", iss.Issuer)
		}
		s.oidc[iss.Issuer] = &oidcVerifier{cfg: iss, client: opts.HTTPClient, minRefresh: opts.JWKSMinRefresh, cacheTTL: opts.JWKSCacheTTL, now: opts.Now}
	}
	if err := s.load(ctx); err != nil {
		return nil, err
	}
	if err := s.bootstrap(ctx); err != nil {
		return nil, err
	}
	if s.snapshot().signer == nil {
		if _, err := s.RotateSigningKey(ctx, false); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Run keeps the state current, rotates signing keys and prunes the audit
// log until ctx ends.
func (s *Service) Run(ctx context.Context) {
	poll := time.NewTicker(s.opts.RefreshInterval)
	defer poll.Stop()
	chores := time.NewTicker(time.Minute)
	defer chores.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-poll.C:
			s.refresh(ctx)
		case <-chores.C:
			s.rotateIfDue(ctx)
			if s.opts.AuditRetention > 0 {
				if _, err := s.st.PruneAudit(ctx, s.now().Add(-s.opts.AuditRetention)); err != nil && ctx.Err() == nil {
					s.log.Warn("auth: pruning the audit log", "error", err)
				}
			}
		}
	}
}

func (s *Service) snapshot() *snapshot { return s.snap.Load() }

// refresh reloads the state when its version moved.
func (s *Service) refresh(ctx context.Context) {
	s.refreshMu.Lock()
	defer s.refreshMu.Unlock()
	v, err := s.st.AuthVersion(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("auth: polling the state version", "error", err)
		}
		return
	}
	if cur := s.snapshot(); cur != nil && cur.version == v {
		return
	}
	if err := s.loadLocked(ctx); err != nil && ctx.Err() == nil {
		s.log.Warn("auth: reloading the state", "error", err)
	}
}

// forceRefresh reloads after a change this node made, so that its next
// request sees it.
func (s *Service) forceRefresh(ctx context.Context) {
	s.refreshMu.Lock()
	defer s.refreshMu.Unlock()
	if err := s.loadLocked(context.WithoutCancel(ctx)); err != nil {
		s.log.Warn("auth: reloading the state", "error", err)
	}
}

func (s *Service) load(ctx context.Context) error {
	s.refreshMu.Lock()
	defer s.refreshMu.Unlock()
	return s.loadLocked(ctx)
}

func (s *Service) loadLocked(ctx context.Context) error {
	st, err := s.st.LoadAuthState(ctx)
	if err != nil {
		return err
	}
	snap := &snapshot{
		version:    st.Version,
		policy:     authz.NewPolicy(st),
		principals: make(map[string]store.AuthPrincipal, len(st.Principals)),
		apiKeys:    make(map[string]store.APIKey, len(st.APIKeys)),
		verify:     make(map[string]verifyKey, len(st.SigningKeys)),
	}
	for _, p := range st.Principals {
		snap.principals[p.Name] = p
	}
	for _, k := range st.APIKeys {
		snap.apiKeys[k.Prefix] = k
	}
	for _, k := range st.SigningKeys { // oldest first
		if k.Algorithm != algorithm || len(k.PublicKey) != 32 {
			continue
		}
		snap.verify[k.KID] = verifyKey{pub: k.PublicKey, expires: k.ExpiresAt}
		if !k.RetiredAt.IsZero() {
			continue
		}
		priv, err := openKey(s.aead, k.KID, k.PrivateKey)
		if err != nil {
			s.log.Warn("auth: a signing key cannot be used to sign", "kid", k.KID, "error", err.Error())
			continue
		}
		snap.signer, snap.signerCreated = &signer{kid: k.KID, priv: priv}, k.CreatedAt
	}
	s.snap.Store(snap)
	return nil
}

// bootstrap creates the configured admin principal on first start.
func (s *Service) bootstrap(ctx context.Context) error {
	id, secret := s.opts.BootstrapClientID, s.opts.BootstrapClientSecret
	if id == "" {
		if len(s.snapshot().principals) == 0 && len(s.oidc) == 0 {
			s.log.Warn("auth: no principal exists and no bootstrap client is configured: nobody can log in (set auth.bootstrap-client-id and auth.bootstrap-client-secret)")
		}
		return nil
	}
	if _, err := s.st.GetPrincipalByClientID(ctx, id); err == nil {
		return nil
	} else if !errs.Is(err, errs.NotFound) {
		return err
	}
	hash, err := HashSecret(secret)
	if err != nil {
		return err
	}
	if err := s.st.CreatePrincipal(ctx, store.AuthPrincipal{Name: id, ClientID: id, SecretHash: hash}); err != nil && !errs.Is(err, errs.AlreadyExists) {
		return err
	}
	if err := s.st.CreateRole(ctx, store.AuthRole{Name: AdminRole, Description: "Everything, everywhere"}); err != nil && !errs.Is(err, errs.AlreadyExists) {
		return err
	}
	if _, err := s.st.CreateGrant(ctx, store.Grant{Role: AdminRole, On: authz.Catalog(), Privilege: string(authz.Admin)}); err != nil {
		return err
	}
	if err := s.st.AssignRole(ctx, id, AdminRole); err != nil {
		return err
	}
	s.log.Info("auth: created the bootstrap principal", "principal", id, "role", AdminRole)
	return s.load(ctx)
}

// Authenticate turns the Authorization header of a request into its
// principal. An absent or malformed header, and any credential that does
// not verify, is NotAuthorized.
func (s *Service) Authenticate(ctx context.Context, header string) (*principal.Principal, error) {
	scheme, cred, _ := strings.Cut(strings.TrimSpace(header), " ")
	cred = strings.TrimSpace(cred)
	if header == "" {
		return nil, errs.New(errs.NotAuthorized, "Authentication required: send Authorization: Bearer <token>")
	}
	if !strings.EqualFold(scheme, "Bearer") || cred == "" {
		return nil, errs.New(errs.NotAuthorized, "Unsupported authorization scheme: send Authorization: Bearer <token>")
	}
	if strings.HasPrefix(cred, apiKeyScheme) {
		return s.authenticateAPIKey(ctx, cred)
	}
	var claims jwt.RegisteredClaims
	if _, _, err := jwt.NewParser().ParseUnverified(cred, &claims); err != nil {
		return nil, errs.New(errs.NotAuthorized, "Invalid token: not a JWT or API key")
	}
	if claims.Issuer == Issuer {
		name, err := s.verifyLocal(ctx, cred)
		if err != nil {
			return nil, err
		}
		p := &principal.Principal{Name: name, Via: "token"}
		return p, s.checkPrincipal(ctx, p, true)
	}
	v, ok := s.oidc[claims.Issuer]
	if !ok {
		return nil, errs.New(errs.NotAuthorized, "Invalid token: issuer %q is not trusted", claims.Issuer)
	}
	p, err := v.verify(ctx, cred)
	if err != nil {
		return nil, err
	}
	return p, s.checkPrincipal(ctx, p, false)
}

// checkPrincipal refuses a disabled principal, and (must) one the catalog
// does not know: deleting a principal revokes its tokens.
func (s *Service) checkPrincipal(ctx context.Context, p *principal.Principal, must bool) error {
	rec, ok := s.snapshot().principals[p.Name]
	if !ok && must {
		s.refresh(ctx)
		rec, ok = s.snapshot().principals[p.Name]
	}
	switch {
	case !ok && must:
		return errs.New(errs.NotAuthorized, "Principal %s does not exist", p.Name)
	case ok && rec.Disabled:
		return errs.New(errs.NotAuthorized, "Principal %s is disabled", p.Name)
	}
	return nil
}

func (s *Service) authenticateAPIKey(ctx context.Context, key string) (*principal.Principal, error) {
	prefix, err := splitAPIKey(key)
	if err != nil {
		return nil, errs.New(errs.NotAuthorized, "Invalid API key")
	}
	k, ok := s.snapshot().apiKeys[prefix]
	if !ok {
		// Made a moment ago, possibly on another node.
		if k, err = s.st.GetAPIKey(ctx, prefix); err != nil {
			if errs.Is(err, errs.NotFound) {
				return nil, errs.New(errs.NotAuthorized, "Invalid API key")
			}
			return nil, err
		}
	}
	if !apiKeyMatches(k.Hash, key) {
		return nil, errs.New(errs.NotAuthorized, "Invalid API key")
	}
	if !k.ExpiresAt.IsZero() && !s.now().Before(k.ExpiresAt) {
		return nil, errs.New(errs.NotAuthorized, "API key %s expired", prefix)
	}
	p := &principal.Principal{Name: k.Principal, Via: "api-key"}
	return p, s.checkPrincipal(ctx, p, true)
}

// IssueToken checks client credentials and issues a token. A wrong client
// id or secret, or a disabled principal, is ErrInvalidClient.
func (s *Service) IssueToken(ctx context.Context, clientID, secret, scope string) (IssuedToken, string, error) {
	p, err := s.st.GetPrincipalByClientID(ctx, clientID)
	if err != nil {
		if !errs.Is(err, errs.NotFound) {
			return IssuedToken{}, "", err
		}
		VerifySecret(dummyHash(), secret)
		return IssuedToken{}, "", ErrInvalidClient
	}
	if p.SecretHash == "" || !VerifySecret(p.SecretHash, secret) || p.Disabled {
		return IssuedToken{}, p.Name, ErrInvalidClient
	}
	tok, err := s.sign(ctx, p.Name, scope)
	return tok, p.Name, err
}

// ExchangeToken issues a fresh token for the principal of a valid token of
// this catalog (the token exchange grant, which clients use to refresh).
func (s *Service) ExchangeToken(ctx context.Context, subjectToken, scope string) (IssuedToken, string, error) {
	name, err := s.verifyLocal(ctx, subjectToken)
	if err != nil {
		return IssuedToken{}, "", ErrInvalidGrant
	}
	if err := s.checkPrincipal(ctx, &principal.Principal{Name: name}, true); err != nil {
		return IssuedToken{}, name, ErrInvalidGrant
	}
	tok, err := s.sign(ctx, name, scope)
	return tok, name, err
}

// Errors of the token endpoint.
var (
	ErrInvalidClient = errors.New("invalid client credentials")
	ErrInvalidGrant  = errors.New("invalid grant")
)

// Authorization, from the current state.

// Policy is the current authorization policy.
func (s *Service) Policy() *authz.Policy { return s.snapshot().policy }

// Check answers whether the principal of ctx holds want on every target:
// nil, NotAuthorized without a principal, Forbidden otherwise.
func (s *Service) Check(ctx context.Context, want authz.Privilege, targets ...store.Securable) error {
	p := principal.Get(ctx)
	if p == nil {
		return errs.New(errs.NotAuthorized, "Authentication required")
	}
	return s.Policy().Check(p, want, targets...)
}

// Allowed is Check as a bool, for a given principal.
func (s *Service) Allowed(p *principal.Principal, want authz.Privilege, target store.Securable) bool {
	return s.Policy().Allowed(p, want, target)
}

// EventVisibility returns the predicate that keeps the events p may read,
// evaluated against the state current when each event is offered.
func (s *Service) EventVisibility(p *principal.Principal) func(store.Event) bool {
	return func(e store.Event) bool { return s.Policy().CanSeeEvent(p, e) }
}

// AccessMode is the storage access the principal of ctx gets to table id
// during operation.
func (s *Service) AccessMode(ctx context.Context, operation string, id store.Ident) vend.Mode {
	return s.Policy().AccessMode(principal.Get(ctx), operation, id)
}

// Roles are the roles p acts with.
func (s *Service) Roles(p *principal.Principal) []string { return s.Policy().Roles(p) }

// Audit appends an entry to the audit log.
func (s *Service) Audit(ctx context.Context, e store.AuditEntry) error {
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	_, err := s.st.AppendAudit(ctx, e)
	return err
}
