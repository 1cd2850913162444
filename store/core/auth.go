package core

import (
	"context"
	"errors"
	"time"

	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/store/driver"
)

// writeAuth runs fn in a write transaction that also bumps the version.
// A foreign key that fails (a principal or role removed concurrently) is
// NotFound.
func (s *Store) writeAuth(ctx context.Context, fn func(tx driver.Tx) error) error {
	err := s.write(ctx, func(tx driver.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		return tx.BumpAuthVersion(ctx)
	})
	return authForeignKey(err)
}

func isNoRows(err error) bool { return errors.Is(err, driver.ErrNoRows) }
func isUnique(err error) bool { return errors.Is(err, driver.ErrUnique) }

func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}

func grantFromRow(r driver.GrantRow) store.Grant {
	return store.Grant{ID: r.ID, Role: r.Role, Privilege: r.Privilege, CreatedAt: r.CreatedAt,
		On: securableFromRow(r.SecurableType, r.Warehouse, r.Namespace, r.Name)}
}

func (s *Store) AuthVersion(ctx context.Context) (int64, error) { return s.read().AuthVersion(ctx) }

func (s *Store) LoadAuthState(ctx context.Context) (store.AuthState, error) {
	tx, err := s.d.BeginRead(ctx)
	if err != nil {
		return store.AuthState{}, err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	var st store.AuthState
	if st.Version, err = tx.AuthVersion(ctx); err != nil {
		return store.AuthState{}, err
	}
	if st.Principals, err = tx.ListPrincipals(ctx); err != nil {
		return store.AuthState{}, err
	}
	pairs, err := tx.ListPrincipalRoles(ctx)
	if err != nil {
		return store.AuthState{}, err
	}
	if st.Roles, err = tx.ListRoles(ctx); err != nil {
		return store.AuthState{}, err
	}
	grants, err := tx.ListGrants(ctx)
	if err != nil {
		return store.AuthState{}, err
	}
	if st.APIKeys, err = tx.ListAPIKeys(ctx); err != nil {
		return store.AuthState{}, err
	}
	if st.SigningKeys, err = tx.ListSigningKeys(ctx); err != nil {
		return store.AuthState{}, err
	}
	rp := make([][2]string, len(pairs))
	for i, p := range pairs {
		rp[i] = [2]string{p.Principal, p.Role}
	}
	attachRoles(st.Principals, rp)
	for _, g := range grants {
		st.Grants = append(st.Grants, grantFromRow(g))
	}
	// Empty lists are nil, as they always were.
	st.Principals, st.Roles = nilIfEmpty(st.Principals), nilIfEmpty(st.Roles)
	st.APIKeys, st.SigningKeys = nilIfEmpty(st.APIKeys), nilIfEmpty(st.SigningKeys)
	return st, nil
}

func (s *Store) CreatePrincipal(ctx context.Context, p store.AuthPrincipal) error {
	if err := checkAuthName("Principal", p.Name); err != nil {
		return err
	}
	p.CreatedAt = time.Now()
	err := s.writeAuth(ctx, func(tx driver.Tx) error { return tx.InsertPrincipal(ctx, p) })
	if isUnique(err) {
		return principalExists(p.Name)
	}
	return busyError(err)
}

func (s *Store) withRoles(ctx context.Context, p store.AuthPrincipal, err error, missing string) (store.AuthPrincipal, error) {
	if isNoRows(err) {
		return store.AuthPrincipal{}, principalNotFound(missing)
	}
	if err != nil {
		return store.AuthPrincipal{}, err
	}
	if p.Roles, err = s.read().RolesOfPrincipal(ctx, p.Name); err != nil {
		return store.AuthPrincipal{}, err
	}
	return p, nil
}

func (s *Store) GetPrincipal(ctx context.Context, name string) (store.AuthPrincipal, error) {
	p, err := s.read().GetPrincipal(ctx, name)
	return s.withRoles(ctx, p, err, name)
}

func (s *Store) GetPrincipalByClientID(ctx context.Context, clientID string) (store.AuthPrincipal, error) {
	if clientID == "" {
		return store.AuthPrincipal{}, principalNotFound("client ")
	}
	p, err := s.read().GetPrincipalByClientID(ctx, clientID)
	return s.withRoles(ctx, p, err, "client "+clientID)
}

func (s *Store) ListPrincipals(ctx context.Context) ([]store.AuthPrincipal, error) {
	st, err := s.LoadAuthState(ctx)
	return st.Principals, err
}

// affected turns "no row changed" into missing.
func affected(n int64, err error, missing error) error {
	if err == nil && n == 0 {
		return missing
	}
	return err
}

func (s *Store) SetPrincipalDisabled(ctx context.Context, name string, disabled bool) error {
	return busyError(s.writeAuth(ctx, func(tx driver.Tx) error {
		n, err := tx.SetPrincipalDisabled(ctx, name, disabled)
		return affected(n, err, principalNotFound(name))
	}))
}

func (s *Store) SetPrincipalCredentials(ctx context.Context, name, clientID, secretHash string) error {
	err := s.writeAuth(ctx, func(tx driver.Tx) error {
		n, err := tx.SetPrincipalCredentials(ctx, name, clientID, secretHash)
		return affected(n, err, principalNotFound(name))
	})
	if isUnique(err) {
		return principalExists(name)
	}
	return busyError(err)
}

func (s *Store) DeletePrincipal(ctx context.Context, name string) error {
	return busyError(s.writeAuth(ctx, func(tx driver.Tx) error {
		n, err := tx.DeletePrincipal(ctx, name)
		return affected(n, err, principalNotFound(name))
	}))
}

func (s *Store) CreateRole(ctx context.Context, r store.AuthRole) error {
	if err := checkAuthName("Role", r.Name); err != nil {
		return err
	}
	r.CreatedAt = time.Now()
	err := s.writeAuth(ctx, func(tx driver.Tx) error { return tx.InsertRole(ctx, r) })
	if isUnique(err) {
		return roleExists(r.Name)
	}
	return busyError(err)
}

func (s *Store) ListRoles(ctx context.Context) ([]store.AuthRole, error) {
	return s.read().ListRoles(ctx)
}

func (s *Store) DeleteRole(ctx context.Context, name string) error {
	return busyError(s.writeAuth(ctx, func(tx driver.Tx) error {
		n, err := tx.DeleteRole(ctx, name)
		return affected(n, err, roleNotFound(name))
	}))
}

// checkPrincipalAndRole names the missing one, so that the foreign keys
// never have to.
func checkPrincipalAndRole(ctx context.Context, tx driver.Tx, principal, role string) error {
	if principal != "" {
		if _, err := tx.GetPrincipal(ctx, principal); isNoRows(err) {
			return principalNotFound(principal)
		} else if err != nil {
			return err
		}
	}
	if role != "" {
		if _, err := tx.GetRole(ctx, role); isNoRows(err) {
			return roleNotFound(role)
		} else if err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) AssignRole(ctx context.Context, principal, role string) error {
	return busyError(s.writeAuth(ctx, func(tx driver.Tx) error {
		if err := checkPrincipalAndRole(ctx, tx, principal, role); err != nil {
			return err
		}
		return tx.AssignRole(ctx, principal, role)
	}))
}

func (s *Store) UnassignRole(ctx context.Context, principal, role string) error {
	return busyError(s.writeAuth(ctx, func(tx driver.Tx) error {
		n, err := tx.UnassignRole(ctx, principal, role)
		if err == nil && n == 0 {
			if err := checkPrincipalAndRole(ctx, tx, principal, role); err != nil {
				return err
			}
			return roleNotAssigned(principal, role)
		}
		return err
	}))
}

func (s *Store) CreateGrant(ctx context.Context, g store.Grant) (store.Grant, error) {
	key, err := securableKey(g.On)
	if err != nil {
		return store.Grant{}, err
	}
	row := driver.GrantRow{Role: g.Role, SecurableType: key.Type, Warehouse: key.Warehouse, Namespace: key.Namespace,
		Name: key.Name, Privilege: g.Privilege, CreatedAt: time.Now()}
	var out store.Grant
	err = s.writeAuth(ctx, func(tx driver.Tx) error {
		if err := checkPrincipalAndRole(ctx, tx, "", g.Role); err != nil {
			return err
		}
		r, err := tx.InsertGrant(ctx, row)
		if isNoRows(err) {
			r, err = tx.FindGrant(ctx, row)
		}
		if err != nil {
			return err
		}
		out = grantFromRow(r)
		return nil
	})
	return out, busyError(err)
}

func (s *Store) DeleteGrant(ctx context.Context, id int64) (store.Grant, error) {
	var out store.Grant
	err := s.writeAuth(ctx, func(tx driver.Tx) error {
		r, err := tx.DeleteGrant(ctx, id)
		if isNoRows(err) {
			return grantNotFound(id)
		}
		if err != nil {
			return err
		}
		out = grantFromRow(r)
		return nil
	})
	return out, busyError(err)
}

func (s *Store) ListGrants(ctx context.Context) ([]store.Grant, error) {
	rows, err := s.read().ListGrants(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]store.Grant, len(rows))
	for i, r := range rows {
		out[i] = grantFromRow(r)
	}
	return out, nil
}

func insertAPIKey(ctx context.Context, tx driver.Tx, k store.APIKey) error {
	if err := checkPrincipalAndRole(ctx, tx, k.Principal, ""); err != nil {
		return err
	}
	if k.CreatedAt.IsZero() {
		k.CreatedAt = time.Now()
	}
	err := tx.InsertAPIKey(ctx, k)
	if isUnique(err) {
		return apiKeyExists(k.Prefix)
	}
	return err
}

func (s *Store) CreateAPIKey(ctx context.Context, k store.APIKey) error {
	return busyError(s.writeAuth(ctx, func(tx driver.Tx) error { return insertAPIKey(ctx, tx, k) }))
}

func (s *Store) GetAPIKey(ctx context.Context, prefix string) (store.APIKey, error) {
	k, err := s.read().GetAPIKey(ctx, prefix)
	if isNoRows(err) {
		return store.APIKey{}, apiKeyNotFound(prefix)
	}
	return k, err
}

func (s *Store) ListAPIKeys(ctx context.Context, principal string) ([]store.APIKey, error) {
	if principal == "" {
		return s.read().ListAPIKeys(ctx)
	}
	return s.read().ListAPIKeysOfPrincipal(ctx, principal)
}

func (s *Store) DeleteAPIKey(ctx context.Context, prefix string) error {
	return busyError(s.writeAuth(ctx, func(tx driver.Tx) error {
		n, err := tx.DeleteAPIKey(ctx, prefix)
		return affected(n, err, apiKeyNotFound(prefix))
	}))
}

func (s *Store) RotateAPIKey(ctx context.Context, prefix string, next store.APIKey, oldExpiresAt time.Time) error {
	return busyError(s.writeAuth(ctx, func(tx driver.Tx) error {
		old, err := tx.GetAPIKey(ctx, prefix)
		if isNoRows(err) {
			return apiKeyNotFound(prefix)
		}
		if err != nil {
			return err
		}
		if next.Principal != old.Principal {
			return rotatedKeyPrincipal(prefix)
		}
		if old.ExpiresAt.IsZero() || oldExpiresAt.Before(old.ExpiresAt) {
			if err := tx.SetAPIKeyExpiry(ctx, prefix, oldExpiresAt); err != nil {
				return err
			}
		}
		return insertAPIKey(ctx, tx, next)
	}))
}

func (s *Store) AddSigningKey(ctx context.Context, k store.SigningKey, retiredExpiresAt time.Time) error {
	return busyError(s.writeAuth(ctx, func(tx driver.Tx) error {
		if err := tx.InsertSigningKey(ctx, k); err != nil {
			return err
		}
		return tx.RetireSigningKeys(ctx, k.KID, k.CreatedAt, retiredExpiresAt)
	}))
}

func (s *Store) ExpireSigningKeys(ctx context.Context, kid string, at time.Time) error {
	return busyError(s.writeAuth(ctx, func(tx driver.Tx) error {
		return tx.ExpireOtherSigningKeys(ctx, kid, at)
	}))
}

func (s *Store) DeleteExpiredSigningKeys(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.write(ctx, func(tx driver.Tx) error {
		var err error
		if n, err = tx.DeleteExpiredSigningKeys(ctx, before); err != nil || n == 0 {
			return err
		}
		return tx.BumpAuthVersion(ctx)
	})
	return n, busyError(err)
}

func (s *Store) AppendAudit(ctx context.Context, e store.AuditEntry) (int64, error) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	var id int64
	err := s.writeOne(ctx, func(w driver.Executor) (err error) {
		id, err = w.InsertAudit(ctx, e)
		return err
	})
	return id, err
}

func (s *Store) ListAudit(ctx context.Context, q store.AuditQuery) ([]store.AuditEntry, error) {
	return s.read().ListAudit(ctx, q, sqlLimit(store.Page{Limit: q.Limit}))
}

func (s *Store) PruneAudit(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.writeOne(ctx, func(w driver.Executor) (err error) {
		n, err = w.PruneAudit(ctx, before)
		return err
	})
	return n, err
}
