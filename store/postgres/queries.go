package postgres

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/bingsan/bingsan/gen/pgdb"
	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/store/driver"
)

// executor runs the sqlc queries of gen/pgdb on a pool or a transaction:
// parameters and rows become driver and store types here and nowhere else,
// and every error passes through interpret.
type executor struct {
	db pgdb.DBTX
	q  *pgdb.Queries
}

var _ driver.Executor = executor{}

func pgText(s string) pgtype.Text { return pgtype.Text{String: s, Valid: s != ""} }

// optTime is t as a nullable timestamp (zero: NULL).
func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func fromOptTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
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

func principalFromRow(r pgdb.Principal) store.AuthPrincipal {
	return store.AuthPrincipal{Name: r.Name, ClientID: r.ClientID.String, SecretHash: r.SecretHash, Disabled: r.Disabled, CreatedAt: r.CreatedAt}
}

func roleFromRow(r pgdb.Role) store.AuthRole {
	return store.AuthRole{Name: r.Name, Description: r.Description, CreatedAt: r.CreatedAt}
}

func grantFromRow(r pgdb.Grant) driver.GrantRow {
	return driver.GrantRow{ID: r.ID, Role: r.Role, SecurableType: r.SecurableType, Warehouse: r.Warehouse,
		Namespace: r.Namespace, Name: r.Name, Privilege: r.Privilege, CreatedAt: r.CreatedAt}
}

func apiKeyFromRow(r pgdb.ApiKey) store.APIKey {
	return store.APIKey{Prefix: r.Prefix, Hash: r.Hash, Principal: r.Principal, Name: r.Name,
		CreatedAt: r.CreatedAt, ExpiresAt: fromOptTime(r.ExpiresAt)}
}

func signingKeyFromRow(r pgdb.SigningKey) store.SigningKey {
	return store.SigningKey{KID: r.Kid, Algorithm: r.Algorithm, PrivateKey: r.PrivateKey, PublicKey: r.PublicKey,
		CreatedAt: r.CreatedAt, RetiredAt: fromOptTime(r.RetiredAt), ExpiresAt: fromOptTime(r.ExpiresAt)}
}

func (e executor) AuthVersion(ctx context.Context) (int64, error) {
	return n64(e.q.AuthVersion(ctx, e.db))
}

func (e executor) BumpAuthVersion(ctx context.Context) error {
	return interpret(e.q.BumpAuthVersion(ctx, e.db))
}

func (e executor) InsertPrincipal(ctx context.Context, p store.AuthPrincipal) error {
	return interpret(e.q.InsertPrincipal(ctx, e.db, pgdb.InsertPrincipalParams{
		Name: p.Name, ClientID: pgText(p.ClientID), SecretHash: p.SecretHash, Disabled: p.Disabled, CreatedAt: p.CreatedAt,
	}))
}

func (e executor) GetPrincipal(ctx context.Context, name string) (store.AuthPrincipal, error) {
	r, err := e.q.GetPrincipal(ctx, e.db, name)
	return one(r, err, principalFromRow)
}

func (e executor) GetPrincipalByClientID(ctx context.Context, clientID string) (store.AuthPrincipal, error) {
	r, err := e.q.GetPrincipalByClientID(ctx, e.db, pgText(clientID))
	return one(r, err, principalFromRow)
}

func (e executor) ListPrincipals(ctx context.Context) ([]store.AuthPrincipal, error) {
	rs, err := e.q.ListPrincipals(ctx, e.db)
	return rows(rs, err, principalFromRow)
}

func (e executor) ListPrincipalRoles(ctx context.Context) ([]driver.PrincipalRole, error) {
	rs, err := e.q.ListPrincipalRoles(ctx, e.db)
	return rows(rs, err, func(r pgdb.PrincipalRole) driver.PrincipalRole {
		return driver.PrincipalRole{Principal: r.Principal, Role: r.Role}
	})
}

func (e executor) RolesOfPrincipal(ctx context.Context, principal string) ([]string, error) {
	rs, err := e.q.RolesOfPrincipal(ctx, e.db, principal)
	return rs, interpret(err)
}

func (e executor) SetPrincipalDisabled(ctx context.Context, name string, disabled bool) (int64, error) {
	return n64(e.q.SetPrincipalDisabled(ctx, e.db, pgdb.SetPrincipalDisabledParams{Name: name, Disabled: disabled}))
}

func (e executor) SetPrincipalCredentials(ctx context.Context, name, clientID, secretHash string) (int64, error) {
	return n64(e.q.SetPrincipalCredentials(ctx, e.db, pgdb.SetPrincipalCredentialsParams{
		Name: name, ClientID: pgText(clientID), SecretHash: secretHash,
	}))
}

func (e executor) DeletePrincipal(ctx context.Context, name string) (int64, error) {
	return n64(e.q.DeletePrincipal(ctx, e.db, name))
}

func (e executor) InsertRole(ctx context.Context, r store.AuthRole) error {
	return interpret(e.q.InsertRole(ctx, e.db, pgdb.InsertRoleParams{Name: r.Name, Description: r.Description, CreatedAt: r.CreatedAt}))
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
	return interpret(e.q.AssignRole(ctx, e.db, pgdb.AssignRoleParams{Principal: principal, Role: role}))
}

func (e executor) UnassignRole(ctx context.Context, principal, role string) (int64, error) {
	return n64(e.q.UnassignRole(ctx, e.db, pgdb.UnassignRoleParams{Principal: principal, Role: role}))
}

func (e executor) InsertGrant(ctx context.Context, g driver.GrantRow) (driver.GrantRow, error) {
	r, err := e.q.InsertGrant(ctx, e.db, pgdb.InsertGrantParams{
		Role: g.Role, SecurableType: g.SecurableType, Warehouse: g.Warehouse, Namespace: g.Namespace, Name: g.Name,
		Privilege: g.Privilege, CreatedAt: g.CreatedAt,
	})
	return one(r, err, grantFromRow)
}

func (e executor) FindGrant(ctx context.Context, g driver.GrantRow) (driver.GrantRow, error) {
	r, err := e.q.FindGrant(ctx, e.db, pgdb.FindGrantParams{
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
	return interpret(e.q.InsertAPIKey(ctx, e.db, pgdb.InsertAPIKeyParams{
		Prefix: k.Prefix, Hash: k.Hash, Principal: k.Principal, Name: k.Name, CreatedAt: k.CreatedAt, ExpiresAt: optTime(k.ExpiresAt),
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
	return interpret(e.q.SetAPIKeyExpiry(ctx, e.db, pgdb.SetAPIKeyExpiryParams{Prefix: prefix, ExpiresAt: optTime(expiresAt)}))
}

func (e executor) DeleteAPIKey(ctx context.Context, prefix string) (int64, error) {
	return n64(e.q.DeleteAPIKey(ctx, e.db, prefix))
}

func (e executor) InsertSigningKey(ctx context.Context, k store.SigningKey) error {
	return interpret(e.q.InsertSigningKey(ctx, e.db, pgdb.InsertSigningKeyParams{
		Kid: k.KID, Algorithm: k.Algorithm, PrivateKey: k.PrivateKey, PublicKey: k.PublicKey,
		CreatedAt: k.CreatedAt, RetiredAt: optTime(k.RetiredAt), ExpiresAt: optTime(k.ExpiresAt),
	}))
}

func (e executor) ListSigningKeys(ctx context.Context) ([]store.SigningKey, error) {
	rs, err := e.q.ListSigningKeys(ctx, e.db)
	return rows(rs, err, signingKeyFromRow)
}

func (e executor) RetireSigningKeys(ctx context.Context, kid string, retiredAt, expiresAt time.Time) error {
	return interpret(e.q.RetireSigningKeys(ctx, e.db, pgdb.RetireSigningKeysParams{
		Kid: kid, RetiredAt: optTime(retiredAt), ExpiresAt: optTime(expiresAt),
	}))
}

func (e executor) ExpireOtherSigningKeys(ctx context.Context, kid string, at time.Time) error {
	return interpret(e.q.ExpireOtherSigningKeys(ctx, e.db, pgdb.ExpireOtherSigningKeysParams{Kid: kid, At: optTime(at)}))
}

func (e executor) DeleteExpiredSigningKeys(ctx context.Context, before time.Time) (int64, error) {
	return n64(e.q.DeleteExpiredSigningKeys(ctx, e.db, optTime(before)))
}

func (e executor) InsertAudit(ctx context.Context, a store.AuditEntry) (int64, error) {
	return n64(e.q.InsertAudit(ctx, e.db, pgdb.InsertAuditParams{
		CreatedAt: a.Time, Principal: a.Principal, Operation: a.Operation, Target: a.Target,
		Outcome: a.Outcome, Status: int32(a.Status), Detail: a.Detail,
	}))
}

func (e executor) ListAudit(ctx context.Context, q store.AuditQuery, limit int32) ([]store.AuditEntry, error) {
	rs, err := e.q.ListAudit(ctx, e.db, pgdb.ListAuditParams{
		After: q.After, Principal: q.Principal, Operation: q.Operation, Outcome: q.Outcome, Lim: limit,
	})
	return rows(rs, err, func(r pgdb.AuditLog) store.AuditEntry {
		return store.AuditEntry{ID: r.ID, Time: r.CreatedAt, Principal: r.Principal, Operation: r.Operation,
			Target: r.Target, Outcome: r.Outcome, Status: int(r.Status), Detail: r.Detail}
	})
}

func (e executor) PruneAudit(ctx context.Context, before time.Time) (int64, error) {
	return n64(e.q.PruneAudit(ctx, e.db, before))
}

// Idempotency.

func (e executor) BeginIdempotencyKey(ctx context.Context, rec store.IdempotencyRecord, now time.Time) error {
	_, err := e.q.BeginIdempotencyKey(ctx, e.db, pgdb.BeginIdempotencyKeyParams{
		Key: rec.Key, Operation: rec.Operation, RequestHash: rec.RequestHash, ExpiresAt: rec.ExpiresAt, Now: now,
	})
	return interpret(err)
}

func (e executor) GetIdempotencyKey(ctx context.Context, key string) (driver.IdempotencyRow, error) {
	r, err := e.q.GetIdempotencyKey(ctx, e.db, key)
	return one(r, err, func(r pgdb.IdempotencyKey) driver.IdempotencyRow {
		return driver.IdempotencyRow{IdempotencyRecord: store.IdempotencyRecord{
			Key: r.Key, Operation: r.Operation, RequestHash: r.RequestHash, Status: int(r.Status), Body: r.Body,
			Done: r.Done, ExpiresAt: r.ExpiresAt, Committed: r.Committed,
		}, Outcome: r.Outcome}
	})
}

func (e executor) FinishIdempotencyKey(ctx context.Context, key string, status int, body []byte, expiresAt time.Time) (int64, error) {
	return n64(e.q.FinishIdempotencyKey(ctx, e.db, pgdb.FinishIdempotencyKeyParams{
		Key: key, Status: int32(status), Body: body, ExpiresAt: optTime(expiresAt),
	}))
}

func (e executor) AbandonIdempotencyKey(ctx context.Context, key string) error {
	return interpret(e.q.AbandonIdempotencyKey(ctx, e.db, key))
}

func (e executor) PruneIdempotencyKeys(ctx context.Context, before time.Time) (int64, error) {
	return n64(e.q.PruneIdempotencyKeys(ctx, e.db, before))
}

func (e executor) MarkIdempotencyCommitted(ctx context.Context, keys []string, outcome []byte, expiresAt time.Time) error {
	return interpret(e.q.MarkIdempotencyCommitted(ctx, e.db, pgdb.MarkIdempotencyCommittedParams{
		Outcome: outcome, ExpiresAt: expiresAt, Keys: keys,
	}))
}

// Purge jobs.

func purgeJobFromRow(r pgdb.PurgeJob) store.PurgeJob {
	return store.PurgeJob{ID: r.ID, Location: r.Location, MetadataLocation: r.MetadataLocation, Metadata: r.Metadata,
		Attempts: int(r.Attempts), CreatedAt: r.CreatedAt}
}

func (e executor) InsertPurgeJob(ctx context.Context, j store.PurgeJob, now time.Time) (int64, error) {
	return n64(e.q.InsertPurgeJob(ctx, e.db, pgdb.InsertPurgeJobParams{
		Location: j.Location, MetadataLocation: j.MetadataLocation, Metadata: nonNil(j.Metadata), DueAt: now,
	}))
}

func (e executor) ClaimPurgeJobs(ctx context.Context, now, leaseUntil time.Time, limit int32) ([]store.PurgeJob, error) {
	rs, err := e.q.ClaimPurgeJobs(ctx, e.db, pgdb.ClaimPurgeJobsParams{Now: now, LeaseUntil: &leaseUntil, Lim: limit})
	return rows(rs, err, purgeJobFromRow)
}

func (e executor) CompletePurgeJob(ctx context.Context, id int64) (int64, error) {
	return n64(e.q.CompletePurgeJob(ctx, e.db, id))
}

func (e executor) CountPurgeJobs(ctx context.Context) (int64, error) {
	return n64(e.q.CountPurgeJobs(ctx, e.db))
}

func (e executor) RetryPurgeJob(ctx context.Context, id int64, retryAt time.Time, lastError string) (int64, error) {
	return n64(e.q.RetryPurgeJob(ctx, e.db, pgdb.RetryPurgeJobParams{ID: id, RetryAt: retryAt, LastError: lastError}))
}

// Scan plans.

func planFromRow(r pgdb.ScanPlan) store.Plan {
	return store.Plan{
		ID: r.ID, Table: store.Ident{Warehouse: r.Warehouse, Namespace: splitKey(r.Namespace), Name: r.TableName},
		Principal: r.Principal, Status: store.PlanStatus(r.Status), Request: r.Request, MetadataLocation: r.MetadataLocation,
		Owner: r.Owner, LeaseUntil: fromOptTime(r.LeaseUntil), Attempts: int(r.Attempts), Tasks: r.TaskCount,
		Chunks: int(r.ChunkCount), ErrorKind: r.ErrorKind, ErrorMessage: r.ErrorMessage, CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt,
	}
}

func (e executor) InsertScanPlan(ctx context.Context, p store.Plan) error {
	return interpret(e.q.InsertScanPlan(ctx, e.db, pgdb.InsertScanPlanParams{
		ID: p.ID, Warehouse: p.Table.Warehouse, Namespace: p.Table.NamespaceKey(),
		TableName: p.Table.Name, Principal: p.Principal, Status: string(p.Status), Request: p.Request,
		MetadataLocation: p.MetadataLocation, Owner: p.Owner, LeaseUntil: optTime(p.LeaseUntil),
		Attempts: int32(p.Attempts), CreatedAt: p.CreatedAt, ExpiresAt: p.ExpiresAt,
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
	return n64(e.q.InsertScanPlanChunk(ctx, e.db, pgdb.InsertScanPlanChunkParams{
		PlanID: planID, Owner: owner, Seq: int32(seq), TaskCount: int32(tasks), Payload: payload,
	}))
}

func (e executor) GetScanPlanChunk(ctx context.Context, planID string, seq int) ([]byte, error) {
	b, err := e.q.GetScanPlanChunk(ctx, e.db, pgdb.GetScanPlanChunkParams{PlanID: planID, Seq: int32(seq)})
	return b, interpret(err)
}

func (e executor) DeleteScanPlanChunks(ctx context.Context, planID string) error {
	return interpret(e.q.DeleteScanPlanChunks(ctx, e.db, planID))
}

func (e executor) RenewScanPlanLease(ctx context.Context, planID, owner string, until time.Time) (int64, error) {
	return n64(e.q.RenewScanPlanLease(ctx, e.db, pgdb.RenewScanPlanLeaseParams{ID: planID, Owner: owner, LeaseUntil: &until}))
}

func (e executor) FinishScanPlan(ctx context.Context, planID, owner string, out store.PlanOutcome) (int64, error) {
	return n64(e.q.FinishScanPlan(ctx, e.db, pgdb.FinishScanPlanParams{
		ID: planID, Owner: owner, Status: string(out.Status), TaskCount: out.Tasks, ChunkCount: int32(out.Chunks),
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
	rs, err := e.q.ClaimScanPlans(ctx, e.db, pgdb.ClaimScanPlansParams{Owner: owner, LeaseUntil: &leaseUntil, Now: now, Lim: limit})
	return rows(rs, err, planFromRow)
}

func (e executor) DeleteExpiredScanPlans(ctx context.Context, now time.Time) (int64, error) {
	return n64(e.q.DeleteExpiredScanPlans(ctx, e.db, now))
}

// Claims.

func (e executor) LockClaimKeys(ctx context.Context, hashes []int64, exclusive []bool) error {
	if len(hashes) == 0 {
		return nil
	}
	return interpret(e.q.LockClaimKeys(ctx, e.db, pgdb.LockClaimKeysParams{Hashes: hashes, Exclusive: exclusive}))
}

func (e executor) OverlappingClaims(ctx context.Context, key string, ancestors []string, keyEnd string) ([]driver.ClaimRow, error) {
	rs, err := e.q.OverlappingClaims(ctx, e.db, pgdb.OverlappingClaimsParams{Ancestors: nonNilStrings(ancestors), Key: key, KeyEnd: keyEnd})
	return rows(rs, err, func(r pgdb.OverlappingClaimsRow) driver.ClaimRow {
		return driver.ClaimRow{Key: r.Key, OwnerKind: r.OwnerKind, OwnerID: r.OwnerID, NsWarehouse: r.NsWarehouse, NsName: r.NsName}
	})
}

func (e executor) InsertClaims(ctx context.Context, ownerKind string, ownerID int64, keys []string) error {
	return interpret(e.q.InsertClaims(ctx, e.db, pgdb.InsertClaimsParams{Keys: keys, OwnerKind: ownerKind, OwnerID: ownerID}))
}

func (e executor) DeleteClaims(ctx context.Context, ownerKind string, ownerID int64) error {
	return interpret(e.q.DeleteClaims(ctx, e.db, pgdb.DeleteClaimsParams{OwnerKind: ownerKind, OwnerID: ownerID}))
}

func (e executor) MoveClaims(ctx context.Context, ownerKind string, ownerID int64, toKind string, toID int64) error {
	return interpret(e.q.MoveClaims(ctx, e.db, pgdb.MoveClaimsParams{OwnerKind: ownerKind, OwnerID: ownerID, ToKind: toKind, ToID: toID}))
}

func (e executor) OwnedClaims(ctx context.Context, ownerKind string, ownerID int64) ([]string, error) {
	ks, err := e.q.OwnedClaims(ctx, e.db, pgdb.OwnedClaimsParams{OwnerKind: ownerKind, OwnerID: ownerID})
	return ks, interpret(err)
}

func (e executor) SharedClaims(ctx context.Context, key string, ancestors []string, keyEnd string, before time.Time) ([]string, error) {
	ks, err := e.q.SharedClaims(ctx, e.db, pgdb.SharedClaimsParams{Before: before, Ancestors: nonNilStrings(ancestors), Key: key, KeyEnd: keyEnd})
	return ks, interpret(err)
}
