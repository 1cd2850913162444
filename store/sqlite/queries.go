package sqlite

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/bingsan/bingsan/gen/sqlitedb"
	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/store/driver"
)

// executor runs the sqlc queries of gen/sqlitedb on a connection pool or a
// transaction: parameters and rows become driver and store types here and
// nowhere else (times are INTEGER microseconds since the epoch, see the
// migration), and every error passes through interpret.
type executor struct {
	db sqlitedb.DBTX
	q  *sqlitedb.Queries
}

var _ driver.Executor = executor{}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

func micros(t time.Time) int64 { return t.UnixMicro() }

func nullMicros(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMicro(), Valid: true}
}

func fromMicros(v int64) time.Time { return time.UnixMicro(v) }

func fromNullMicros(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMicros(v.Int64)
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// rows converts the rows of a query, or interprets its error.
func rows[T, U any](in []T, err error, conv func(T) U) ([]U, error) {
	if err != nil {
		return nil, interpret(err)
	}
	out := make([]U, len(in))
	for i, r := range in {
		out[i] = conv(r)
	}
	return out, nil
}

// one converts the row of a query, or interprets its error.
func one[T, U any](in T, err error, conv func(T) U) (U, error) {
	if err != nil {
		var zero U
		return zero, interpret(err)
	}
	return conv(in), nil
}

func n64(n int64, err error) (int64, error) { return n, interpret(err) }

func splitKey(key string) []string {
	if key == "" {
		return nil
	}
	return strings.Split(key, store.NamespaceSeparator)
}

// Auth.

func principalFromRow(r sqlitedb.Principal) store.AuthPrincipal {
	return store.AuthPrincipal{Name: r.Name, ClientID: r.ClientID.String, SecretHash: r.SecretHash, Disabled: r.Disabled, CreatedAt: fromMicros(r.CreatedAt)}
}

func roleFromRow(r sqlitedb.Role) store.AuthRole {
	return store.AuthRole{Name: r.Name, Description: r.Description, CreatedAt: fromMicros(r.CreatedAt)}
}

func grantFromRow(r sqlitedb.Grant) driver.GrantRow {
	return driver.GrantRow{ID: r.ID, Role: r.Role, SecurableType: r.SecurableType, Warehouse: r.Warehouse,
		Namespace: r.Namespace, Name: r.Name, Privilege: r.Privilege, CreatedAt: fromMicros(r.CreatedAt)}
}

func apiKeyFromRow(r sqlitedb.ApiKey) store.APIKey {
	return store.APIKey{Prefix: r.Prefix, Hash: r.Hash, Principal: r.Principal, Name: r.Name,
		CreatedAt: fromMicros(r.CreatedAt), ExpiresAt: fromNullMicros(r.ExpiresAt)}
}

func signingKeyFromRow(r sqlitedb.SigningKey) store.SigningKey {
	return store.SigningKey{KID: r.Kid, Algorithm: r.Algorithm, PrivateKey: r.PrivateKey, PublicKey: r.PublicKey,
		CreatedAt: fromMicros(r.CreatedAt), RetiredAt: fromNullMicros(r.RetiredAt), ExpiresAt: fromNullMicros(r.ExpiresAt)}
}

func (e executor) AuthVersion(ctx context.Context) (int64, error) {
	return n64(e.q.AuthVersion(ctx, e.db))
}

func (e executor) BumpAuthVersion(ctx context.Context) error {
	return interpret(e.q.BumpAuthVersion(ctx, e.db))
}

func (e executor) InsertPrincipal(ctx context.Context, p store.AuthPrincipal) error {
	return interpret(e.q.InsertPrincipal(ctx, e.db, sqlitedb.InsertPrincipalParams{
		Name: p.Name, ClientID: nullString(p.ClientID), SecretHash: p.SecretHash, Disabled: p.Disabled, CreatedAt: micros(p.CreatedAt),
	}))
}

func (e executor) GetPrincipal(ctx context.Context, name string) (store.AuthPrincipal, error) {
	r, err := e.q.GetPrincipal(ctx, e.db, name)
	return one(r, err, principalFromRow)
}

func (e executor) GetPrincipalByClientID(ctx context.Context, clientID string) (store.AuthPrincipal, error) {
	r, err := e.q.GetPrincipalByClientID(ctx, e.db, nullString(clientID))
	return one(r, err, principalFromRow)
}

func (e executor) ListPrincipals(ctx context.Context) ([]store.AuthPrincipal, error) {
	rs, err := e.q.ListPrincipals(ctx, e.db)
	return rows(rs, err, principalFromRow)
}

func (e executor) ListPrincipalRoles(ctx context.Context) ([]driver.PrincipalRole, error) {
	rs, err := e.q.ListPrincipalRoles(ctx, e.db)
	return rows(rs, err, func(r sqlitedb.PrincipalRole) driver.PrincipalRole {
		return driver.PrincipalRole{Principal: r.Principal, Role: r.Role}
	})
}

func (e executor) RolesOfPrincipal(ctx context.Context, principal string) ([]string, error) {
	rs, err := e.q.RolesOfPrincipal(ctx, e.db, principal)
	return rs, interpret(err)
}

func (e executor) SetPrincipalDisabled(ctx context.Context, name string, disabled bool) (int64, error) {
	return n64(e.q.SetPrincipalDisabled(ctx, e.db, sqlitedb.SetPrincipalDisabledParams{Name: name, Disabled: disabled}))
}

func (e executor) SetPrincipalCredentials(ctx context.Context, name, clientID, secretHash string) (int64, error) {
	return n64(e.q.SetPrincipalCredentials(ctx, e.db, sqlitedb.SetPrincipalCredentialsParams{
		Name: name, ClientID: nullString(clientID), SecretHash: secretHash,
	}))
}

func (e executor) DeletePrincipal(ctx context.Context, name string) (int64, error) {
	return n64(e.q.DeletePrincipal(ctx, e.db, name))
}

func (e executor) InsertRole(ctx context.Context, r store.AuthRole) error {
	return interpret(e.q.InsertRole(ctx, e.db, sqlitedb.InsertRoleParams{Name: r.Name, Description: r.Description, CreatedAt: micros(r.CreatedAt)}))
}

func (e executor) GetRole(ctx context.Context, name string) (store.AuthRole, error) {
	r, err := e.q.GetRole(ctx, e.db, name)
	return one(r, err, roleFromRow)
}

func (e executor) ListRoles(ctx context.Context) ([]store.AuthRole, error) {
	rs, err := e.q.ListRoles(ctx, e.db)
	return rows(rs, err, roleFromRow)
}

func (e executor) DeleteRole(ctx context.Context, name string) (int64, error) {
	return n64(e.q.DeleteRole(ctx, e.db, name))
}

func (e executor) AssignRole(ctx context.Context, principal, role string) error {
	return interpret(e.q.AssignRole(ctx, e.db, sqlitedb.AssignRoleParams{Principal: principal, Role: role}))
}

func (e executor) UnassignRole(ctx context.Context, principal, role string) (int64, error) {
	return n64(e.q.UnassignRole(ctx, e.db, sqlitedb.UnassignRoleParams{Principal: principal, Role: role}))
}

func (e executor) InsertGrant(ctx context.Context, g driver.GrantRow) (driver.GrantRow, error) {
	r, err := e.q.InsertGrant(ctx, e.db, sqlitedb.InsertGrantParams{
		Role: g.Role, SecurableType: g.SecurableType, Warehouse: g.Warehouse, Namespace: g.Namespace, Name: g.Name,
		Privilege: g.Privilege, CreatedAt: micros(g.CreatedAt),
	})
	return one(r, err, grantFromRow)
}

func (e executor) FindGrant(ctx context.Context, g driver.GrantRow) (driver.GrantRow, error) {
	r, err := e.q.FindGrant(ctx, e.db, sqlitedb.FindGrantParams{
		Role: g.Role, SecurableType: g.SecurableType, Warehouse: g.Warehouse, Namespace: g.Namespace, Name: g.Name, Privilege: g.Privilege,
	})
	return one(r, err, grantFromRow)
}

func (e executor) DeleteGrant(ctx context.Context, id int64) (driver.GrantRow, error) {
	r, err := e.q.DeleteGrant(ctx, e.db, id)
	return one(r, err, grantFromRow)
}

func (e executor) ListGrants(ctx context.Context) ([]driver.GrantRow, error) {
	rs, err := e.q.ListGrants(ctx, e.db)
	return rows(rs, err, grantFromRow)
}

func (e executor) InsertAPIKey(ctx context.Context, k store.APIKey) error {
	return interpret(e.q.InsertAPIKey(ctx, e.db, sqlitedb.InsertAPIKeyParams{
		Prefix: k.Prefix, Hash: k.Hash, Principal: k.Principal, Name: k.Name, CreatedAt: micros(k.CreatedAt), ExpiresAt: nullMicros(k.ExpiresAt),
	}))
}

func (e executor) GetAPIKey(ctx context.Context, prefix string) (store.APIKey, error) {
	r, err := e.q.GetAPIKey(ctx, e.db, prefix)
	return one(r, err, apiKeyFromRow)
}

func (e executor) ListAPIKeys(ctx context.Context) ([]store.APIKey, error) {
	rs, err := e.q.ListAPIKeys(ctx, e.db)
	return rows(rs, err, apiKeyFromRow)
}

func (e executor) ListAPIKeysOfPrincipal(ctx context.Context, principal string) ([]store.APIKey, error) {
	rs, err := e.q.ListAPIKeysOfPrincipal(ctx, e.db, principal)
	return rows(rs, err, apiKeyFromRow)
}

func (e executor) SetAPIKeyExpiry(ctx context.Context, prefix string, expiresAt time.Time) error {
	return interpret(e.q.SetAPIKeyExpiry(ctx, e.db, sqlitedb.SetAPIKeyExpiryParams{Prefix: prefix, ExpiresAt: nullMicros(expiresAt)}))
}

func (e executor) DeleteAPIKey(ctx context.Context, prefix string) (int64, error) {
	return n64(e.q.DeleteAPIKey(ctx, e.db, prefix))
}

func (e executor) InsertSigningKey(ctx context.Context, k store.SigningKey) error {
	return interpret(e.q.InsertSigningKey(ctx, e.db, sqlitedb.InsertSigningKeyParams{
		Kid: k.KID, Algorithm: k.Algorithm, PrivateKey: k.PrivateKey, PublicKey: k.PublicKey,
		CreatedAt: micros(k.CreatedAt), RetiredAt: nullMicros(k.RetiredAt), ExpiresAt: nullMicros(k.ExpiresAt),
	}))
}

func (e executor) ListSigningKeys(ctx context.Context) ([]store.SigningKey, error) {
	rs, err := e.q.ListSigningKeys(ctx, e.db)
	return rows(rs, err, signingKeyFromRow)
}

func (e executor) RetireSigningKeys(ctx context.Context, kid string, retiredAt, expiresAt time.Time) error {
	return interpret(e.q.RetireSigningKeys(ctx, e.db, sqlitedb.RetireSigningKeysParams{
		Kid: kid, RetiredAt: nullMicros(retiredAt), ExpiresAt: nullMicros(expiresAt),
	}))
}

func (e executor) ExpireOtherSigningKeys(ctx context.Context, kid string, at time.Time) error {
	return interpret(e.q.ExpireOtherSigningKeys(ctx, e.db, sqlitedb.ExpireOtherSigningKeysParams{Kid: kid, At: nullMicros(at)}))
}

func (e executor) DeleteExpiredSigningKeys(ctx context.Context, before time.Time) (int64, error) {
	return n64(e.q.DeleteExpiredSigningKeys(ctx, e.db, nullMicros(before)))
}

func (e executor) InsertAudit(ctx context.Context, a store.AuditEntry) (int64, error) {
	return n64(e.q.InsertAudit(ctx, e.db, sqlitedb.InsertAuditParams{
		CreatedAt: micros(a.Time), Principal: a.Principal, Operation: a.Operation, Target: a.Target,
		Outcome: a.Outcome, Status: int64(a.Status), Detail: a.Detail,
	}))
}

func (e executor) ListAudit(ctx context.Context, q store.AuditQuery, limit int32) ([]store.AuditEntry, error) {
	rs, err := e.q.ListAudit(ctx, e.db, sqlitedb.ListAuditParams{
		After: q.After, Principal: q.Principal, Operation: q.Operation, Outcome: q.Outcome, Lim: int64(limit),
	})
	return rows(rs, err, func(r sqlitedb.AuditLog) store.AuditEntry {
		return store.AuditEntry{ID: r.ID, Time: fromMicros(r.CreatedAt), Principal: r.Principal, Operation: r.Operation,
			Target: r.Target, Outcome: r.Outcome, Status: int(r.Status), Detail: r.Detail}
	})
}

func (e executor) PruneAudit(ctx context.Context, before time.Time) (int64, error) {
	return n64(e.q.PruneAudit(ctx, e.db, micros(before)))
}

// Idempotency.

func (e executor) BeginIdempotencyKey(ctx context.Context, rec store.IdempotencyRecord, now time.Time) error {
	_, err := e.q.BeginIdempotencyKey(ctx, e.db, sqlitedb.BeginIdempotencyKeyParams{
		Key: rec.Key, Operation: rec.Operation, RequestHash: rec.RequestHash, ExpiresAt: micros(rec.ExpiresAt), Now: micros(now),
	})
	return interpret(err)
}

func (e executor) GetIdempotencyKey(ctx context.Context, key string) (driver.IdempotencyRow, error) {
	r, err := e.q.GetIdempotencyKey(ctx, e.db, key)
	return one(r, err, func(r sqlitedb.IdempotencyKey) driver.IdempotencyRow {
		return driver.IdempotencyRow{IdempotencyRecord: store.IdempotencyRecord{
			Key: r.Key, Operation: r.Operation, RequestHash: r.RequestHash, Status: int(r.Status), Body: r.Body,
			Done: r.Done, ExpiresAt: fromMicros(r.ExpiresAt), Committed: r.Committed,
		}, Outcome: r.Outcome}
	})
}

func (e executor) FinishIdempotencyKey(ctx context.Context, key string, status int, body []byte, expiresAt time.Time) (int64, error) {
	return n64(e.q.FinishIdempotencyKey(ctx, e.db, sqlitedb.FinishIdempotencyKeyParams{
		Key: key, Status: int64(status), Body: body, ExpiresAt: nullMicros(expiresAt),
	}))
}

func (e executor) AbandonIdempotencyKey(ctx context.Context, key string) error {
	return interpret(e.q.AbandonIdempotencyKey(ctx, e.db, key))
}

func (e executor) PruneIdempotencyKeys(ctx context.Context, before time.Time) (int64, error) {
	return n64(e.q.PruneIdempotencyKeys(ctx, e.db, micros(before)))
}

func (e executor) MarkIdempotencyCommitted(ctx context.Context, keys []string, outcome []byte, expiresAt time.Time) error {
	return interpret(e.q.MarkIdempotencyCommitted(ctx, e.db, sqlitedb.MarkIdempotencyCommittedParams{
		Outcome: outcome, ExpiresAt: micros(expiresAt), Keys: keys,
	}))
}

// Purge jobs.

func purgeJobFromRow(r sqlitedb.PurgeJob) store.PurgeJob {
	return store.PurgeJob{ID: r.ID, Location: r.Location, MetadataLocation: r.MetadataLocation, Metadata: r.Metadata,
		Attempts: int(r.Attempts), CreatedAt: fromMicros(r.CreatedAt)}
}

func (e executor) InsertPurgeJob(ctx context.Context, j store.PurgeJob, now time.Time) (int64, error) {
	return n64(e.q.InsertPurgeJob(ctx, e.db, sqlitedb.InsertPurgeJobParams{
		Location: j.Location, MetadataLocation: j.MetadataLocation, Metadata: nonNil(j.Metadata), DueAt: micros(now), Now: micros(now),
	}))
}

func (e executor) ClaimPurgeJobs(ctx context.Context, now, leaseUntil time.Time, limit int32) ([]store.PurgeJob, error) {
	rs, err := e.q.ClaimPurgeJobs(ctx, e.db, sqlitedb.ClaimPurgeJobsParams{Now: micros(now), LeaseUntil: nullMicros(leaseUntil), Lim: int64(limit)})
	return rows(rs, err, purgeJobFromRow)
}

func (e executor) CompletePurgeJob(ctx context.Context, id int64) (int64, error) {
	return n64(e.q.CompletePurgeJob(ctx, e.db, id))
}

func (e executor) CountPurgeJobs(ctx context.Context) (int64, error) {
	return n64(e.q.CountPurgeJobs(ctx, e.db))
}

func (e executor) RetryPurgeJob(ctx context.Context, id int64, retryAt time.Time, lastError string) (int64, error) {
	return n64(e.q.RetryPurgeJob(ctx, e.db, sqlitedb.RetryPurgeJobParams{ID: id, RetryAt: micros(retryAt), LastError: lastError}))
}

// Scan plans.

func planFromRow(r sqlitedb.ScanPlan) store.Plan {
	return store.Plan{
		ID: r.ID, Table: store.Ident{Warehouse: r.Warehouse, Namespace: splitKey(r.Namespace), Name: r.TableName},
		Principal: r.Principal, Status: store.PlanStatus(r.Status), Request: r.Request, MetadataLocation: r.MetadataLocation,
		Owner: r.Owner, LeaseUntil: fromNullMicros(r.LeaseUntil), Attempts: int(r.Attempts), Tasks: r.TaskCount,
		Chunks: int(r.ChunkCount), ErrorKind: r.ErrorKind, ErrorMessage: r.ErrorMessage,
		CreatedAt: fromMicros(r.CreatedAt), ExpiresAt: fromMicros(r.ExpiresAt),
	}
}

func (e executor) InsertScanPlan(ctx context.Context, p store.Plan) error {
	return interpret(e.q.InsertScanPlan(ctx, e.db, sqlitedb.InsertScanPlanParams{
		ID: p.ID, Warehouse: p.Table.Warehouse, Namespace: p.Table.NamespaceKey(),
		TableName: p.Table.Name, Principal: p.Principal, Status: string(p.Status), Request: p.Request,
		MetadataLocation: p.MetadataLocation, Owner: p.Owner, LeaseUntil: nullMicros(p.LeaseUntil),
		Attempts: int64(p.Attempts), CreatedAt: micros(p.CreatedAt), ExpiresAt: micros(p.ExpiresAt),
	}))
}

func (e executor) GetScanPlan(ctx context.Context, id string) (store.Plan, error) {
	r, err := e.q.GetScanPlan(ctx, e.db, id)
	return one(r, err, planFromRow)
}

func (e executor) DeleteScanPlan(ctx context.Context, id string) error {
	return interpret(e.q.DeleteScanPlan(ctx, e.db, id))
}

func (e executor) InsertScanPlanChunk(ctx context.Context, planID, owner string, seq, tasks int, payload []byte) (int64, error) {
	return n64(e.q.InsertScanPlanChunk(ctx, e.db, sqlitedb.InsertScanPlanChunkParams{
		PlanID: planID, Owner: owner, Seq: int64(seq), TaskCount: int64(tasks), Payload: payload,
	}))
}

func (e executor) GetScanPlanChunk(ctx context.Context, planID string, seq int) ([]byte, error) {
	b, err := e.q.GetScanPlanChunk(ctx, e.db, sqlitedb.GetScanPlanChunkParams{PlanID: planID, Seq: int64(seq)})
	return b, interpret(err)
}

func (e executor) DeleteScanPlanChunks(ctx context.Context, planID string) error {
	return interpret(e.q.DeleteScanPlanChunks(ctx, e.db, planID))
}

func (e executor) RenewScanPlanLease(ctx context.Context, planID, owner string, until time.Time) (int64, error) {
	return n64(e.q.RenewScanPlanLease(ctx, e.db, sqlitedb.RenewScanPlanLeaseParams{ID: planID, Owner: owner, LeaseUntil: nullMicros(until)}))
}

func (e executor) FinishScanPlan(ctx context.Context, planID, owner string, out store.PlanOutcome) (int64, error) {
	return n64(e.q.FinishScanPlan(ctx, e.db, sqlitedb.FinishScanPlanParams{
		ID: planID, Owner: owner, Status: string(out.Status), TaskCount: out.Tasks, ChunkCount: int64(out.Chunks),
		ErrorKind: out.ErrorKind, ErrorMessage: out.ErrorMessage,
	}))
}

func (e executor) CancelScanPlan(ctx context.Context, planID string) (int64, error) {
	return n64(e.q.CancelScanPlan(ctx, e.db, planID))
}

func (e executor) ReleaseScanPlans(ctx context.Context, owner string) (int64, error) {
	return n64(e.q.ReleaseScanPlans(ctx, e.db, owner))
}

func (e executor) ClaimScanPlans(ctx context.Context, owner string, now, leaseUntil time.Time, limit int32) ([]store.Plan, error) {
	rs, err := e.q.ClaimScanPlans(ctx, e.db, sqlitedb.ClaimScanPlansParams{Owner: owner, LeaseUntil: nullMicros(leaseUntil), Now: micros(now), Lim: int64(limit)})
	return rows(rs, err, planFromRow)
}

func (e executor) DeleteExpiredScanPlans(ctx context.Context, now time.Time) (int64, error) {
	return n64(e.q.DeleteExpiredScanPlans(ctx, e.db, micros(now)))
}

// Claims.

// LockClaimKeys does nothing: write transactions exclude each other.
func (e executor) LockClaimKeys(context.Context, []int64, []bool) error { return nil }

func (e executor) OverlappingClaims(ctx context.Context, key string, ancestors []string, keyEnd string) ([]driver.ClaimRow, error) {
	rs, err := e.q.OverlappingClaims(ctx, e.db, sqlitedb.OverlappingClaimsParams{Ancestors: ancestors, Key: key, KeyEnd: keyEnd})
	return rows(rs, err, func(r sqlitedb.OverlappingClaimsRow) driver.ClaimRow {
		return driver.ClaimRow{Key: r.Key, OwnerKind: r.OwnerKind, OwnerID: r.OwnerID, NsWarehouse: r.NsWarehouse, NsName: r.NsName}
	})
}

func (e executor) InsertClaims(ctx context.Context, ownerKind string, ownerID int64, keys []string) error {
	for _, k := range keys {
		if err := e.q.InsertClaim(ctx, e.db, sqlitedb.InsertClaimParams{Key: k, OwnerKind: ownerKind, OwnerID: ownerID}); err != nil {
			return interpret(err)
		}
	}
	return nil
}

func (e executor) DeleteClaims(ctx context.Context, ownerKind string, ownerID int64) error {
	return interpret(e.q.DeleteClaims(ctx, e.db, sqlitedb.DeleteClaimsParams{OwnerKind: ownerKind, OwnerID: ownerID}))
}

func (e executor) MoveClaims(ctx context.Context, ownerKind string, ownerID int64, toKind string, toID int64) error {
	return interpret(e.q.MoveClaims(ctx, e.db, sqlitedb.MoveClaimsParams{OwnerKind: ownerKind, OwnerID: ownerID, ToKind: toKind, ToID: toID}))
}

func (e executor) OwnedClaims(ctx context.Context, ownerKind string, ownerID int64) ([]string, error) {
	ks, err := e.q.OwnedClaims(ctx, e.db, sqlitedb.OwnedClaimsParams{OwnerKind: ownerKind, OwnerID: ownerID})
	return ks, interpret(err)
}

func (e executor) SharedClaims(ctx context.Context, key string, ancestors []string, keyEnd string, before time.Time) ([]string, error) {
	ks, err := e.q.SharedClaims(ctx, e.db, sqlitedb.SharedClaimsParams{Before: micros(before), Ancestors: ancestors, Key: key, KeyEnd: keyEnd})
	return ks, interpret(err)
}
