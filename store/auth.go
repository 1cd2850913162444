package store

import (
	"context"
	"time"
)

// The rows behind authentication and authorization (package auth, package
// authz): principals, roles, grants, API keys, the keys that sign the
// catalog's tokens, and the audit log. Both backends implement AuthStore.

// AuthPrincipal is a principal of the catalog. One with a ClientID logs in
// with the client credentials grant; one without is a name that external
// (OIDC) tokens map to, so that roles can be assigned to it.
type AuthPrincipal struct {
	Name       string
	ClientID   string // "" for none
	SecretHash string // the client secret's hash (auth.HashSecret); "" for none
	Disabled   bool
	CreatedAt  time.Time
	// Roles are the roles assigned to the principal, sorted (reads only).
	Roles []string
}

// AuthRole is a named set of grants.
type AuthRole struct {
	Name        string
	Description string
	CreatedAt   time.Time
}

// SecurableType names the kind of object a grant is on.
type SecurableType string

const (
	SecurableCatalog   SecurableType = "catalog"
	SecurableWarehouse SecurableType = "warehouse"
	SecurableNamespace SecurableType = "namespace"
	SecurableTable     SecurableType = "table"
	SecurableView      SecurableType = "view"
	SecurableFunction  SecurableType = "function"
)

// Securable is what a grant is on: the whole catalog, a warehouse, a
// namespace (and so everything below it), or one table, view or function.
type Securable struct {
	Type      SecurableType
	Warehouse string   // all but catalog
	Namespace []string // namespace, table, view
	Name      string   // table, view
}

// Grant gives a role a privilege on a securable.
type Grant struct {
	ID        int64
	Role      string
	On        Securable
	Privilege string
	CreatedAt time.Time
}

// APIKey is a long-lived credential of a principal. The key itself is
// never stored: Prefix (public, unique) finds the row, Hash checks the rest.
type APIKey struct {
	Prefix    string
	Hash      string
	Principal string
	Name      string
	CreatedAt time.Time
	ExpiresAt time.Time // zero: never
}

// SigningKey is a key the catalog signs its tokens with. PrivateKey is as
// package auth stores it (possibly encrypted); it is never logged.
type SigningKey struct {
	KID        string
	Algorithm  string
	PrivateKey []byte
	PublicKey  []byte
	CreatedAt  time.Time
	// RetiredAt is when a newer key took over signing (zero: signs);
	// tokens it signed are accepted until ExpiresAt (zero: no bound).
	RetiredAt time.Time
	ExpiresAt time.Time
}

// AuthState is everything authentication and authorization decide on, read
// in one transaction. Version grows with every change to it.
type AuthState struct {
	Version     int64
	Principals  []AuthPrincipal // with Roles
	Roles       []AuthRole
	Grants      []Grant
	APIKeys     []APIKey
	SigningKeys []SigningKey
}

// AuditEntry is one row of the audit log.
type AuditEntry struct {
	ID        int64
	Time      time.Time
	Principal string // "" when the caller was not authenticated
	Operation string // the operationId
	Target    string // what it addressed, e.g. "table default.sales.orders"
	Outcome   string // "success", "denied" or "failed"
	Status    int    // the HTTP status of the answer
	Detail    string // the error message of a denial or failure
}

// AuditQuery selects audit entries: ids above After, at most Limit, the
// other fields when set.
type AuditQuery struct {
	After     int64
	Limit     int
	Principal string
	Operation string
	Outcome   string
}

// AuthStore holds the rows of authentication and authorization. Every
// change to principals, roles, grants, API keys or signing keys increases
// the version (AuthVersion) in its own transaction, so that nodes notice
// it. Errors are errs kinds: NotFound for a missing principal, role, grant
// or API key (also when a grant, assignment or key names one);
// AlreadyExists for a duplicate name, client id or key prefix; BadRequest
// for a malformed securable.
type AuthStore interface {
	// AuthVersion is the version of the state, cheap to poll.
	AuthVersion(ctx context.Context) (int64, error)
	// LoadAuthState reads the whole state consistently.
	LoadAuthState(ctx context.Context) (AuthState, error)

	CreatePrincipal(ctx context.Context, p AuthPrincipal) error
	GetPrincipal(ctx context.Context, name string) (AuthPrincipal, error)
	// GetPrincipalByClientID finds the principal logging in as clientID.
	GetPrincipalByClientID(ctx context.Context, clientID string) (AuthPrincipal, error)
	ListPrincipals(ctx context.Context) ([]AuthPrincipal, error)
	SetPrincipalDisabled(ctx context.Context, name string, disabled bool) error
	SetPrincipalCredentials(ctx context.Context, name, clientID, secretHash string) error
	// DeletePrincipal removes the principal, its role assignments and its
	// API keys.
	DeletePrincipal(ctx context.Context, name string) error

	CreateRole(ctx context.Context, r AuthRole) error
	ListRoles(ctx context.Context) ([]AuthRole, error)
	// DeleteRole removes the role, its grants and its assignments.
	DeleteRole(ctx context.Context, name string) error
	// AssignRole is idempotent; UnassignRole of a missing assignment is
	// NotFound.
	AssignRole(ctx context.Context, principal, role string) error
	UnassignRole(ctx context.Context, principal, role string) error

	// CreateGrant returns the grant with its id; a grant that exists
	// already is returned as it is.
	CreateGrant(ctx context.Context, g Grant) (Grant, error)
	DeleteGrant(ctx context.Context, id int64) (Grant, error)
	ListGrants(ctx context.Context) ([]Grant, error)

	CreateAPIKey(ctx context.Context, k APIKey) error
	GetAPIKey(ctx context.Context, prefix string) (APIKey, error)
	// ListAPIKeys lists the keys of principal ("": of everybody).
	ListAPIKeys(ctx context.Context, principal string) ([]APIKey, error)
	DeleteAPIKey(ctx context.Context, prefix string) error
	// RotateAPIKey creates next and makes the key prefix expire at
	// oldExpiresAt (if that is earlier than its own expiry), atomically.
	RotateAPIKey(ctx context.Context, prefix string, next APIKey, oldExpiresAt time.Time) error

	// AddSigningKey stores k and retires the keys that still sign and
	// were created no later than k: they stop signing at k.CreatedAt and
	// are accepted until retiredExpiresAt. Two nodes rotating at once thus
	// leave the newer key signing.
	AddSigningKey(ctx context.Context, k SigningKey, retiredExpiresAt time.Time) error
	// ExpireSigningKeys retires every key but kid and makes it expire at
	// at, when that is earlier (revoking the tokens it signed).
	ExpireSigningKeys(ctx context.Context, kid string, at time.Time) error
	// DeleteExpiredSigningKeys deletes the keys that expired before before.
	DeleteExpiredSigningKeys(ctx context.Context, before time.Time) (int64, error)

	AppendAudit(ctx context.Context, e AuditEntry) (int64, error)
	// ListAudit returns matching entries oldest first.
	ListAudit(ctx context.Context, q AuditQuery) ([]AuditEntry, error)
	PruneAudit(ctx context.Context, before time.Time) (int64, error)
}
