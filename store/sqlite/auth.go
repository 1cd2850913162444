package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/bingsan/bingsan/gen/sqlitedb"
	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/store/internal/backend"
)

var _ store.AuthStore = (*Store)(nil)

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

func fromNullMicros(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMicros(v.Int64)
}

func isUnique(err error) bool { return errors.Is(interpret(err), backend.ErrUnique) }

func principalFromRow(r sqlitedb.Principal) store.AuthPrincipal {
	return store.AuthPrincipal{Name: r.Name, ClientID: r.ClientID.String, SecretHash: r.SecretHash, Disabled: r.Disabled, CreatedAt: fromMicros(r.CreatedAt)}
}

func roleFromRow(r sqlitedb.Role) store.AuthRole {
	return store.AuthRole{Name: r.Name, Description: r.Description, CreatedAt: fromMicros(r.CreatedAt)}
}

func grantFromRow(r sqlitedb.Grant) store.Grant {
	return store.Grant{ID: r.ID, Role: r.Role, On: backend.SecurableFromRow(r.SecurableType, r.Warehouse, r.Namespace, r.Name),
		Privilege: r.Privilege, CreatedAt: fromMicros(r.CreatedAt)}
}

func apiKeyFromRow(r sqlitedb.ApiKey) store.APIKey {
	return store.APIKey{Prefix: r.Prefix, Hash: r.Hash, Principal: r.Principal, Name: r.Name,
		CreatedAt: fromMicros(r.CreatedAt), ExpiresAt: fromNullMicros(r.ExpiresAt)}
}

func signingKeyFromRow(r sqlitedb.SigningKey) store.SigningKey {
	return store.SigningKey{KID: r.Kid, Algorithm: r.Algorithm, PrivateKey: r.PrivateKey, PublicKey: r.PublicKey,
		CreatedAt: fromMicros(r.CreatedAt), RetiredAt: fromNullMicros(r.RetiredAt), ExpiresAt: fromNullMicros(r.ExpiresAt)}
}

// writeAuth runs fn in a write transaction that also bumps the version.
// A foreign key that fails (a principal or role removed concurrently) is
// NotFound.
func (s *Store) writeAuth(ctx context.Context, fn func(tx *sql.Tx) error) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		return s.q.BumpAuthVersion(ctx, tx)
	})
	return backend.AuthForeignKey(err)
}

func (s *Store) AuthVersion(ctx context.Context) (int64, error) {
	v, err := s.q.AuthVersion(ctx, s.reader)
	return v, interpret(err)
}

func (s *Store) LoadAuthState(ctx context.Context) (store.AuthState, error) {
	tx, err := s.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return store.AuthState{}, interpret(err)
	}
	defer func() { _ = tx.Rollback() }()
	var st store.AuthState
	if st.Version, err = s.q.AuthVersion(ctx, tx); err != nil {
		return store.AuthState{}, interpret(err)
	}
	ps, err := s.q.ListPrincipals(ctx, tx)
	if err != nil {
		return store.AuthState{}, interpret(err)
	}
	pairs, err := s.q.ListPrincipalRoles(ctx, tx)
	if err != nil {
		return store.AuthState{}, interpret(err)
	}
	roles, err := s.q.ListRoles(ctx, tx)
	if err != nil {
		return store.AuthState{}, interpret(err)
	}
	grants, err := s.q.ListGrants(ctx, tx)
	if err != nil {
		return store.AuthState{}, interpret(err)
	}
	keys, err := s.q.ListAPIKeys(ctx, tx)
	if err != nil {
		return store.AuthState{}, interpret(err)
	}
	sks, err := s.q.ListSigningKeys(ctx, tx)
	if err != nil {
		return store.AuthState{}, interpret(err)
	}
	for _, p := range ps {
		st.Principals = append(st.Principals, principalFromRow(p))
	}
	rp := make([][2]string, len(pairs))
	for i, p := range pairs {
		rp[i] = [2]string{p.Principal, p.Role}
	}
	backend.AttachRoles(st.Principals, rp)
	for _, r := range roles {
		st.Roles = append(st.Roles, roleFromRow(r))
	}
	for _, g := range grants {
		st.Grants = append(st.Grants, grantFromRow(g))
	}
	for _, k := range keys {
		st.APIKeys = append(st.APIKeys, apiKeyFromRow(k))
	}
	for _, k := range sks {
		st.SigningKeys = append(st.SigningKeys, signingKeyFromRow(k))
	}
	return st, nil
}

func (s *Store) CreatePrincipal(ctx context.Context, p store.AuthPrincipal) error {
	if err := backend.CheckAuthName("Principal", p.Name); err != nil {
		return err
	}
	err := s.writeAuth(ctx, func(tx *sql.Tx) error {
		return s.q.InsertPrincipal(ctx, tx, sqlitedb.InsertPrincipalParams{
			Name: p.Name, ClientID: nullString(p.ClientID), SecretHash: p.SecretHash, Disabled: p.Disabled, CreatedAt: micros(time.Now()),
		})
	})
	if isUnique(err) {
		return backend.PrincipalExists(p.Name)
	}
	return backend.BusyError(err)
}

func (s *Store) principalWithRoles(ctx context.Context, r sqlitedb.Principal) (store.AuthPrincipal, error) {
	p := principalFromRow(r)
	roles, err := s.q.RolesOfPrincipal(ctx, s.reader, p.Name)
	if err != nil {
		return store.AuthPrincipal{}, interpret(err)
	}
	p.Roles = roles
	return p, nil
}

func (s *Store) GetPrincipal(ctx context.Context, name string) (store.AuthPrincipal, error) {
	r, err := s.q.GetPrincipal(ctx, s.reader, name)
	if isNoRows(err) {
		return store.AuthPrincipal{}, backend.PrincipalNotFound(name)
	}
	if err != nil {
		return store.AuthPrincipal{}, interpret(err)
	}
	return s.principalWithRoles(ctx, r)
}

func (s *Store) GetPrincipalByClientID(ctx context.Context, clientID string) (store.AuthPrincipal, error) {
	r, err := s.q.GetPrincipalByClientID(ctx, s.reader, nullString(clientID))
	if isNoRows(err) || clientID == "" {
		return store.AuthPrincipal{}, backend.PrincipalNotFound("client " + clientID)
	}
	if err != nil {
		return store.AuthPrincipal{}, interpret(err)
	}
	return s.principalWithRoles(ctx, r)
}

func (s *Store) ListPrincipals(ctx context.Context) ([]store.AuthPrincipal, error) {
	st, err := s.LoadAuthState(ctx)
	return st.Principals, err
}

func (s *Store) SetPrincipalDisabled(ctx context.Context, name string, disabled bool) error {
	return backend.BusyError(s.writeAuth(ctx, func(tx *sql.Tx) error {
		n, err := s.q.SetPrincipalDisabled(ctx, tx, sqlitedb.SetPrincipalDisabledParams{Name: name, Disabled: disabled})
		if err == nil && n == 0 {
			return backend.PrincipalNotFound(name)
		}
		return err
	}))
}

func (s *Store) SetPrincipalCredentials(ctx context.Context, name, clientID, secretHash string) error {
	err := s.writeAuth(ctx, func(tx *sql.Tx) error {
		n, err := s.q.SetPrincipalCredentials(ctx, tx, sqlitedb.SetPrincipalCredentialsParams{Name: name, ClientID: nullString(clientID), SecretHash: secretHash})
		if err == nil && n == 0 {
			return backend.PrincipalNotFound(name)
		}
		return err
	})
	if isUnique(err) {
		return backend.PrincipalExists(name)
	}
	return backend.BusyError(err)
}

func (s *Store) DeletePrincipal(ctx context.Context, name string) error {
	return backend.BusyError(s.writeAuth(ctx, func(tx *sql.Tx) error {
		n, err := s.q.DeletePrincipal(ctx, tx, name)
		if err == nil && n == 0 {
			return backend.PrincipalNotFound(name)
		}
		return err
	}))
}

func (s *Store) CreateRole(ctx context.Context, r store.AuthRole) error {
	if err := backend.CheckAuthName("Role", r.Name); err != nil {
		return err
	}
	err := s.writeAuth(ctx, func(tx *sql.Tx) error {
		return s.q.InsertRole(ctx, tx, sqlitedb.InsertRoleParams{Name: r.Name, Description: r.Description, CreatedAt: micros(time.Now())})
	})
	if isUnique(err) {
		return backend.RoleExists(r.Name)
	}
	return backend.BusyError(err)
}

func (s *Store) ListRoles(ctx context.Context) ([]store.AuthRole, error) {
	rows, err := s.q.ListRoles(ctx, s.reader)
	if err != nil {
		return nil, interpret(err)
	}
	out := make([]store.AuthRole, len(rows))
	for i, r := range rows {
		out[i] = roleFromRow(r)
	}
	return out, nil
}

func (s *Store) DeleteRole(ctx context.Context, name string) error {
	return backend.BusyError(s.writeAuth(ctx, func(tx *sql.Tx) error {
		n, err := s.q.DeleteRole(ctx, tx, name)
		if err == nil && n == 0 {
			return backend.RoleNotFound(name)
		}
		return err
	}))
}

// checkPrincipalAndRole names the missing one, so that the foreign keys
// never have to.
func (s *Store) checkPrincipalAndRole(ctx context.Context, tx *sql.Tx, principal, role string) error {
	if principal != "" {
		if _, err := s.q.GetPrincipal(ctx, tx, principal); isNoRows(err) {
			return backend.PrincipalNotFound(principal)
		} else if err != nil {
			return err
		}
	}
	if role != "" {
		if _, err := s.q.GetRole(ctx, tx, role); isNoRows(err) {
			return backend.RoleNotFound(role)
		} else if err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) AssignRole(ctx context.Context, principal, role string) error {
	return backend.BusyError(s.writeAuth(ctx, func(tx *sql.Tx) error {
		if err := s.checkPrincipalAndRole(ctx, tx, principal, role); err != nil {
			return err
		}
		return s.q.AssignRole(ctx, tx, sqlitedb.AssignRoleParams{Principal: principal, Role: role})
	}))
}

func (s *Store) UnassignRole(ctx context.Context, principal, role string) error {
	return backend.BusyError(s.writeAuth(ctx, func(tx *sql.Tx) error {
		n, err := s.q.UnassignRole(ctx, tx, sqlitedb.UnassignRoleParams{Principal: principal, Role: role})
		if err == nil && n == 0 {
			if err := s.checkPrincipalAndRole(ctx, tx, principal, role); err != nil {
				return err
			}
			return backend.RoleNotAssigned(principal, role)
		}
		return err
	}))
}

func (s *Store) CreateGrant(ctx context.Context, g store.Grant) (store.Grant, error) {
	key, err := backend.SecurableKey(g.On)
	if err != nil {
		return store.Grant{}, err
	}
	var out store.Grant
	err = s.writeAuth(ctx, func(tx *sql.Tx) error {
		if err := s.checkPrincipalAndRole(ctx, tx, "", g.Role); err != nil {
			return err
		}
		row, err := s.q.InsertGrant(ctx, tx, sqlitedb.InsertGrantParams{
			Role: g.Role, SecurableType: key.Type, Warehouse: key.Warehouse, Namespace: key.Namespace, Name: key.Name,
			Privilege: g.Privilege, CreatedAt: micros(time.Now()),
		})
		if isNoRows(err) {
			row, err = s.q.FindGrant(ctx, tx, sqlitedb.FindGrantParams{
				Role: g.Role, SecurableType: key.Type, Warehouse: key.Warehouse, Namespace: key.Namespace, Name: key.Name, Privilege: g.Privilege,
			})
		}
		if err != nil {
			return err
		}
		out = grantFromRow(row)
		return nil
	})
	return out, backend.BusyError(err)
}

func (s *Store) DeleteGrant(ctx context.Context, id int64) (store.Grant, error) {
	var out store.Grant
	err := s.writeAuth(ctx, func(tx *sql.Tx) error {
		row, err := s.q.DeleteGrant(ctx, tx, id)
		if isNoRows(err) {
			return backend.GrantNotFound(id)
		}
		if err != nil {
			return err
		}
		out = grantFromRow(row)
		return nil
	})
	return out, backend.BusyError(err)
}

func (s *Store) ListGrants(ctx context.Context) ([]store.Grant, error) {
	rows, err := s.q.ListGrants(ctx, s.reader)
	if err != nil {
		return nil, interpret(err)
	}
	out := make([]store.Grant, len(rows))
	for i, r := range rows {
		out[i] = grantFromRow(r)
	}
	return out, nil
}

func (s *Store) insertAPIKey(ctx context.Context, tx *sql.Tx, k store.APIKey) error {
	if err := s.checkPrincipalAndRole(ctx, tx, k.Principal, ""); err != nil {
		return err
	}
	created := k.CreatedAt
	if created.IsZero() {
		created = time.Now()
	}
	err := s.q.InsertAPIKey(ctx, tx, sqlitedb.InsertAPIKeyParams{
		Prefix: k.Prefix, Hash: k.Hash, Principal: k.Principal, Name: k.Name, CreatedAt: micros(created), ExpiresAt: nullMicros(k.ExpiresAt),
	})
	if isUnique(err) {
		return backend.APIKeyExists(k.Prefix)
	}
	return err
}

func (s *Store) CreateAPIKey(ctx context.Context, k store.APIKey) error {
	return backend.BusyError(s.writeAuth(ctx, func(tx *sql.Tx) error { return s.insertAPIKey(ctx, tx, k) }))
}

func (s *Store) GetAPIKey(ctx context.Context, prefix string) (store.APIKey, error) {
	r, err := s.q.GetAPIKey(ctx, s.reader, prefix)
	if isNoRows(err) {
		return store.APIKey{}, backend.APIKeyNotFound(prefix)
	}
	if err != nil {
		return store.APIKey{}, interpret(err)
	}
	return apiKeyFromRow(r), nil
}

func (s *Store) ListAPIKeys(ctx context.Context, principal string) ([]store.APIKey, error) {
	var (
		rows []sqlitedb.ApiKey
		err  error
	)
	if principal == "" {
		rows, err = s.q.ListAPIKeys(ctx, s.reader)
	} else {
		rows, err = s.q.ListAPIKeysOfPrincipal(ctx, s.reader, principal)
	}
	if err != nil {
		return nil, interpret(err)
	}
	out := make([]store.APIKey, len(rows))
	for i, r := range rows {
		out[i] = apiKeyFromRow(r)
	}
	return out, nil
}

func (s *Store) DeleteAPIKey(ctx context.Context, prefix string) error {
	return backend.BusyError(s.writeAuth(ctx, func(tx *sql.Tx) error {
		n, err := s.q.DeleteAPIKey(ctx, tx, prefix)
		if err == nil && n == 0 {
			return backend.APIKeyNotFound(prefix)
		}
		return err
	}))
}

func (s *Store) RotateAPIKey(ctx context.Context, prefix string, next store.APIKey, oldExpiresAt time.Time) error {
	return backend.BusyError(s.writeAuth(ctx, func(tx *sql.Tx) error {
		old, err := s.q.GetAPIKey(ctx, tx, prefix)
		if isNoRows(err) {
			return backend.APIKeyNotFound(prefix)
		}
		if err != nil {
			return err
		}
		if next.Principal != old.Principal {
			return backend.RotatedKeyPrincipal(prefix)
		}
		if !old.ExpiresAt.Valid || micros(oldExpiresAt) < old.ExpiresAt.Int64 {
			if err := s.q.SetAPIKeyExpiry(ctx, tx, sqlitedb.SetAPIKeyExpiryParams{Prefix: prefix, ExpiresAt: nullMicros(oldExpiresAt)}); err != nil {
				return err
			}
		}
		return s.insertAPIKey(ctx, tx, next)
	}))
}

func (s *Store) AddSigningKey(ctx context.Context, k store.SigningKey, retiredExpiresAt time.Time) error {
	return backend.BusyError(s.writeAuth(ctx, func(tx *sql.Tx) error {
		if err := s.q.InsertSigningKey(ctx, tx, sqlitedb.InsertSigningKeyParams{
			Kid: k.KID, Algorithm: k.Algorithm, PrivateKey: k.PrivateKey, PublicKey: k.PublicKey,
			CreatedAt: micros(k.CreatedAt), RetiredAt: nullMicros(k.RetiredAt), ExpiresAt: nullMicros(k.ExpiresAt),
		}); err != nil {
			return err
		}
		return s.q.RetireSigningKeys(ctx, tx, sqlitedb.RetireSigningKeysParams{
			Kid: k.KID, RetiredAt: nullMicros(k.CreatedAt), ExpiresAt: nullMicros(retiredExpiresAt),
		})
	}))
}

func (s *Store) ExpireSigningKeys(ctx context.Context, kid string, at time.Time) error {
	return backend.BusyError(s.writeAuth(ctx, func(tx *sql.Tx) error {
		return s.q.ExpireOtherSigningKeys(ctx, tx, sqlitedb.ExpireOtherSigningKeysParams{Kid: kid, At: nullMicros(at)})
	}))
}

func (s *Store) DeleteExpiredSigningKeys(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		if n, err = s.q.DeleteExpiredSigningKeys(ctx, tx, nullMicros(before)); err != nil || n == 0 {
			return err
		}
		return s.q.BumpAuthVersion(ctx, tx)
	})
	return n, backend.BusyError(err)
}

func (s *Store) AppendAudit(ctx context.Context, e store.AuditEntry) (int64, error) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	id, err := s.q.InsertAudit(ctx, s.writer, sqlitedb.InsertAuditParams{
		CreatedAt: micros(e.Time), Principal: e.Principal, Operation: e.Operation, Target: e.Target,
		Outcome: e.Outcome, Status: int64(e.Status), Detail: e.Detail,
	})
	return id, backend.BusyError(interpret(err))
}

func (s *Store) ListAudit(ctx context.Context, q store.AuditQuery) ([]store.AuditEntry, error) {
	rows, err := s.q.ListAudit(ctx, s.reader, sqlitedb.ListAuditParams{
		After: q.After, Principal: q.Principal, Operation: q.Operation, Outcome: q.Outcome,
		Lim: int64(backend.Limit(store.Page{Limit: q.Limit})),
	})
	if err != nil {
		return nil, interpret(err)
	}
	out := make([]store.AuditEntry, len(rows))
	for i, r := range rows {
		out[i] = store.AuditEntry{ID: r.ID, Time: fromMicros(r.CreatedAt), Principal: r.Principal, Operation: r.Operation,
			Target: r.Target, Outcome: r.Outcome, Status: int(r.Status), Detail: r.Detail}
	}
	return out, nil
}

func (s *Store) PruneAudit(ctx context.Context, before time.Time) (int64, error) {
	n, err := s.q.PruneAudit(ctx, s.writer, micros(before))
	return n, backend.BusyError(interpret(err))
}
