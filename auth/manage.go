package auth

import (
	"context"
	"time"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/store"
)

// The management operations: thin over the store, but they hash what must
// be hashed, generate what must be random, and make this node see the
// change at once. Authorization is the caller's (the server's) business.

// Credentials are a principal's client credentials, shown once.
type Credentials struct {
	ClientID     string
	ClientSecret string
}

// newCredentials generates client credentials and the secret's hash.
func newCredentials() (Credentials, string, error) {
	c := Credentials{ClientID: randomID(20), ClientSecret: randomToken(32)}
	hash, err := HashSecret(c.ClientSecret)
	return c, hash, err
}

// CreatePrincipal creates a principal, with client credentials when asked.
func (s *Service) CreatePrincipal(ctx context.Context, name string, withCredentials bool) (store.AuthPrincipal, *Credentials, error) {
	p := store.AuthPrincipal{Name: name}
	var creds *Credentials
	if withCredentials {
		c, hash, err := newCredentials()
		if err != nil {
			return store.AuthPrincipal{}, nil, err
		}
		p.ClientID, p.SecretHash, creds = c.ClientID, hash, &c
	}
	if err := s.st.CreatePrincipal(ctx, p); err != nil {
		return store.AuthPrincipal{}, nil, err
	}
	s.forceRefresh(ctx)
	out, err := s.st.GetPrincipal(ctx, name)
	return out, creds, err
}

// RotateCredentials gives a principal a new client secret (and keeps its
// client id, or makes one); the old secret stops working at once. Tokens
// already issued stay valid until they expire.
func (s *Service) RotateCredentials(ctx context.Context, name string) (Credentials, error) {
	p, err := s.st.GetPrincipal(ctx, name)
	if err != nil {
		return Credentials{}, err
	}
	c, hash, err := newCredentials()
	if err != nil {
		return Credentials{}, err
	}
	if p.ClientID != "" {
		c.ClientID = p.ClientID
	}
	if err := s.st.SetPrincipalCredentials(ctx, name, c.ClientID, hash); err != nil {
		return Credentials{}, err
	}
	s.forceRefresh(ctx)
	return c, nil
}

// mutate runs a store change and refreshes this node.
func (s *Service) mutate(ctx context.Context, err error) error {
	if err == nil {
		s.forceRefresh(ctx)
	}
	return err
}

func (s *Service) GetPrincipal(ctx context.Context, name string) (store.AuthPrincipal, error) {
	return s.st.GetPrincipal(ctx, name)
}

func (s *Service) ListPrincipals(ctx context.Context) ([]store.AuthPrincipal, error) {
	return s.st.ListPrincipals(ctx)
}

func (s *Service) SetPrincipalDisabled(ctx context.Context, name string, disabled bool) error {
	return s.mutate(ctx, s.st.SetPrincipalDisabled(ctx, name, disabled))
}

func (s *Service) DeletePrincipal(ctx context.Context, name string) error {
	return s.mutate(ctx, s.st.DeletePrincipal(ctx, name))
}

func (s *Service) CreateRole(ctx context.Context, r store.AuthRole) error {
	return s.mutate(ctx, s.st.CreateRole(ctx, r))
}

func (s *Service) ListRoles(ctx context.Context) ([]store.AuthRole, error) {
	return s.st.ListRoles(ctx)
}

func (s *Service) DeleteRole(ctx context.Context, name string) error {
	return s.mutate(ctx, s.st.DeleteRole(ctx, name))
}

func (s *Service) AssignRole(ctx context.Context, principal, role string) error {
	return s.mutate(ctx, s.st.AssignRole(ctx, principal, role))
}

func (s *Service) UnassignRole(ctx context.Context, principal, role string) error {
	return s.mutate(ctx, s.st.UnassignRole(ctx, principal, role))
}

func (s *Service) CreateGrant(ctx context.Context, g store.Grant) (store.Grant, error) {
	out, err := s.st.CreateGrant(ctx, g)
	return out, s.mutate(ctx, err)
}

// Grant returns the grant with id, NotFound when there is none.
func (s *Service) Grant(ctx context.Context, id int64) (store.Grant, error) {
	gs, err := s.st.ListGrants(ctx)
	if err != nil {
		return store.Grant{}, err
	}
	for _, g := range gs {
		if g.ID == id {
			return g, nil
		}
	}
	return store.Grant{}, errs.New(errs.NotFound, "Grant does not exist: %d", id)
}

func (s *Service) DeleteGrant(ctx context.Context, id int64) (store.Grant, error) {
	out, err := s.st.DeleteGrant(ctx, id)
	return out, s.mutate(ctx, err)
}

func (s *Service) ListGrants(ctx context.Context) ([]store.Grant, error) { return s.st.ListGrants(ctx) }

// CreateAPIKey makes an API key for principal; the key is returned once.
// A zero expiresAt never expires.
func (s *Service) CreateAPIKey(ctx context.Context, principal, name string, expiresAt time.Time) (string, store.APIKey, error) {
	key, prefix, hash := newAPIKey()
	k := store.APIKey{Prefix: prefix, Hash: hash, Principal: principal, Name: name, CreatedAt: s.now(), ExpiresAt: expiresAt}
	if err := s.mutate(ctx, s.st.CreateAPIKey(ctx, k)); err != nil {
		return "", store.APIKey{}, err
	}
	k.Hash = ""
	return key, k, nil
}

// RotateAPIKey replaces the key prefix with a new one of the same
// principal, name and lifetime; the old key keeps working for grace (0:
// stops at once).
func (s *Service) RotateAPIKey(ctx context.Context, prefix string, grace time.Duration) (string, store.APIKey, error) {
	old, err := s.st.GetAPIKey(ctx, prefix)
	if err != nil {
		return "", store.APIKey{}, err
	}
	now := s.now()
	key, newPrefix, hash := newAPIKey()
	k := store.APIKey{Prefix: newPrefix, Hash: hash, Principal: old.Principal, Name: old.Name, CreatedAt: now}
	if !old.ExpiresAt.IsZero() {
		k.ExpiresAt = now.Add(old.ExpiresAt.Sub(old.CreatedAt))
	}
	if err := s.mutate(ctx, s.st.RotateAPIKey(ctx, prefix, k, now.Add(grace))); err != nil {
		return "", store.APIKey{}, err
	}
	k.Hash = ""
	return key, k, nil
}

func (s *Service) GetAPIKey(ctx context.Context, prefix string) (store.APIKey, error) {
	k, err := s.st.GetAPIKey(ctx, prefix)
	k.Hash = ""
	return k, err
}

func (s *Service) ListAPIKeys(ctx context.Context, principal string) ([]store.APIKey, error) {
	ks, err := s.st.ListAPIKeys(ctx, principal)
	for i := range ks {
		ks[i].Hash = ""
	}
	return ks, err
}

func (s *Service) DeleteAPIKey(ctx context.Context, prefix string) error {
	return s.mutate(ctx, s.st.DeleteAPIKey(ctx, prefix))
}

func (s *Service) ListAudit(ctx context.Context, q store.AuditQuery) ([]store.AuditEntry, error) {
	return s.st.ListAudit(ctx, q)
}
