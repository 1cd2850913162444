package server

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/fasthttp/router"
	"github.com/valyala/fasthttp"

	"github.com/bingsan/bingsan/auth"
	"github.com/bingsan/bingsan/authz"
	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/gen/managementapi"
	"github.com/bingsan/bingsan/internal/reqctx"
	"github.com/bingsan/bingsan/principal"
	"github.com/bingsan/bingsan/store"
)

// managementAPI implements the management API (openapi/management.yaml):
// principals, roles, grants, API keys, signing keys and the audit log. Its
// routes exist only with authentication enabled (404 otherwise); each
// handler authorizes its own request (the privileges are listed in
// operations).
type managementAPI struct {
	srv  *Server
	auth *auth.Service
}

var _ managementapi.StrictServerInterface = (*managementAPI)(nil)

// defaultGracePeriod is how long a rotated API key keeps working unless the
// rotation says otherwise.
const defaultGracePeriod = 24 * time.Hour

// registerManagement adds the management API's routes to r.
func (s *Server) registerManagement(r *router.Router) {
	onError := func(ctx *fasthttp.RequestCtx, err error) {
		var pe *managementapi.ParamError
		var be *managementapi.BodyError
		var ce *managementapi.ContentTypeError
		switch {
		case errors.As(err, &pe):
			err = errs.New(errs.BadRequest, "Invalid value for parameter %s: %s", pe.Param, pe.Err.Error())
		case errors.As(err, &be):
			err = errs.New(errs.BadRequest, "Malformed request body: %s", be.Err.Error())
		case errors.As(err, &ce):
			err = errs.New(errs.UnsupportedMediaType, "%s", ce.Error())
		}
		writeError(ctx, s.log, err)
	}
	routes := managementapi.Routes(managementapi.NewStrictHandler(&managementAPI{srv: s, auth: s.opts.Auth}, nil), onError)
	managementapi.RegisterRoutes(r, routes, func(rt managementapi.Route) fasthttp.RequestHandler {
		if s.opts.Auth == nil && operations[rt.OperationID].withoutAuth {
			return routed(rt.Path, rt.OperationID, s.observe(rt.OperationID, rt.Handler))
		}
		if s.opts.Auth == nil {
			return func(ctx *fasthttp.RequestCtx) {
				writeError(ctx, s.log, errs.New(errs.NotFound, "The management API needs authentication: set auth.enabled"))
			}
		}
		mutation := operations[rt.OperationID].mutation
		h := s.authenticate(rt.OperationID, func(*fasthttp.RequestCtx) bool { return mutation }, rt.Handler)
		return routed(rt.Path, rt.OperationID, s.observe(rt.OperationID, h))
	})
}

// target records what the audit entry of the request names.
func target(ctx context.Context, format string, args ...any) {
	if rc, ok := reqctx.Request(ctx); ok {
		rc.SetUserValue(auditTargetKey{}, fmt.Sprintf(format, args...))
	}
}

func (m *managementAPI) admin(ctx context.Context) error {
	return m.auth.Check(ctx, authz.Admin, authz.Catalog())
}

// selfOrAdmin allows the principal named itself, and admins.
func (m *managementAPI) selfOrAdmin(ctx context.Context, name string) error {
	if p := principal.Get(ctx); p != nil && p.Name == name {
		return nil
	}
	return m.admin(ctx)
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func principalOut(p store.AuthPrincipal) managementapi.Principal {
	out := managementapi.Principal{Name: p.Name, Roles: nonNil(p.Roles), Disabled: p.Disabled, CreatedAt: p.CreatedAt.UTC()}
	if p.ClientID != "" {
		out.ClientId = &p.ClientID
	}
	return out
}

func roleOut(r store.AuthRole) managementapi.Role {
	out := managementapi.Role{Name: r.Name, CreatedAt: optTime(r.CreatedAt.UTC())}
	if r.Description != "" {
		out.Description = &r.Description
	}
	return out
}

func securableOut(s store.Securable) managementapi.Securable {
	out := managementapi.Securable{Type: managementapi.SecurableType(s.Type)}
	if s.Warehouse != "" {
		out.Warehouse = &s.Warehouse
	}
	if len(s.Namespace) > 0 {
		ns := s.Namespace
		out.Namespace = &ns
	}
	if s.Name != "" {
		out.Name = &s.Name
	}
	return out
}

func securableIn(s managementapi.Securable) store.Securable {
	out := store.Securable{Type: store.SecurableType(s.Type)}
	if s.Warehouse != nil {
		out.Warehouse = *s.Warehouse
	}
	if s.Namespace != nil {
		out.Namespace = *s.Namespace
	}
	if s.Name != nil {
		out.Name = *s.Name
	}
	return out
}

func grantOut(g store.Grant) managementapi.Grant {
	return managementapi.Grant{Id: g.ID, Role: g.Role, Securable: securableOut(g.On),
		Privilege: managementapi.Privilege(g.Privilege), CreatedAt: g.CreatedAt.UTC()}
}

func apiKeyOut(k store.APIKey) managementapi.ApiKey {
	out := managementapi.ApiKey{Prefix: k.Prefix, Principal: k.Principal, Name: k.Name, CreatedAt: k.CreatedAt.UTC()}
	if !k.ExpiresAt.IsZero() {
		t := k.ExpiresAt.UTC()
		out.ExpiresAt = &t
	}
	return out
}

func signingKeyOut(k store.SigningKey) managementapi.SigningKey {
	out := managementapi.SigningKey{Kid: k.KID, Algorithm: k.Algorithm, CreatedAt: k.CreatedAt.UTC()}
	if !k.RetiredAt.IsZero() {
		t := k.RetiredAt.UTC()
		out.RetiredAt = &t
	}
	if !k.ExpiresAt.IsZero() {
		t := k.ExpiresAt.UTC()
		out.ExpiresAt = &t
	}
	return out
}

func parseDuration(what, v string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil || d < 0 {
		return 0, errs.New(errs.BadRequest, "Invalid %s %q: want a duration such as 720h or 30m", what, v)
	}
	return d, nil
}

func (m *managementAPI) WhoAmI(ctx context.Context, _ managementapi.WhoAmIRequestObject) (managementapi.WhoAmIResponseObject, error) {
	p := principal.Get(ctx)
	if p == nil {
		return nil, errs.New(errs.NotAuthorized, "Authentication required")
	}
	return managementapi.WhoAmI200JSONResponse{Name: p.Name, Roles: nonNil(m.auth.Roles(p)), Via: p.Via}, nil
}

func (m *managementAPI) ListPrincipals(ctx context.Context, _ managementapi.ListPrincipalsRequestObject) (managementapi.ListPrincipalsResponseObject, error) {
	if err := m.admin(ctx); err != nil {
		return nil, err
	}
	ps, err := m.auth.ListPrincipals(ctx)
	if err != nil {
		return nil, err
	}
	out := managementapi.PrincipalList{Principals: make([]managementapi.Principal, len(ps))}
	for i, p := range ps {
		out.Principals[i] = principalOut(p)
	}
	return managementapi.ListPrincipals200JSONResponse(out), nil
}

func (m *managementAPI) CreatePrincipal(ctx context.Context, req managementapi.CreatePrincipalRequestObject) (managementapi.CreatePrincipalResponseObject, error) {
	target(ctx, "principal %s", req.Body.Name)
	if err := m.admin(ctx); err != nil {
		return nil, err
	}
	withCreds := req.Body.Credentials == nil || *req.Body.Credentials
	p, creds, err := m.auth.CreatePrincipal(ctx, req.Body.Name, withCreds)
	if err != nil {
		return nil, err
	}
	if req.Body.Roles != nil {
		for _, r := range *req.Body.Roles {
			if err := m.auth.AssignRole(ctx, p.Name, r); err != nil {
				return nil, err
			}
		}
		if p, err = m.auth.GetPrincipal(ctx, p.Name); err != nil {
			return nil, err
		}
	}
	out := managementapi.PrincipalWithCredentials{Principal: principalOut(p)}
	if creds != nil {
		out.Credentials = &managementapi.ClientCredentials{ClientId: creds.ClientID, ClientSecret: creds.ClientSecret}
	}
	noStore(ctx)
	return managementapi.CreatePrincipal201JSONResponse(out), nil
}

func (m *managementAPI) GetPrincipal(ctx context.Context, req managementapi.GetPrincipalRequestObject) (managementapi.GetPrincipalResponseObject, error) {
	if err := m.selfOrAdmin(ctx, req.Principal); err != nil {
		return nil, err
	}
	p, err := m.auth.GetPrincipal(ctx, req.Principal)
	if err != nil {
		return nil, err
	}
	return managementapi.GetPrincipal200JSONResponse(principalOut(p)), nil
}

func (m *managementAPI) UpdatePrincipal(ctx context.Context, req managementapi.UpdatePrincipalRequestObject) (managementapi.UpdatePrincipalResponseObject, error) {
	target(ctx, "principal %s", req.Principal)
	if err := m.admin(ctx); err != nil {
		return nil, err
	}
	if req.Body.Disabled != nil {
		if err := m.auth.SetPrincipalDisabled(ctx, req.Principal, *req.Body.Disabled); err != nil {
			return nil, err
		}
	}
	p, err := m.auth.GetPrincipal(ctx, req.Principal)
	if err != nil {
		return nil, err
	}
	return managementapi.UpdatePrincipal200JSONResponse(principalOut(p)), nil
}

func (m *managementAPI) DeletePrincipal(ctx context.Context, req managementapi.DeletePrincipalRequestObject) (managementapi.DeletePrincipalResponseObject, error) {
	target(ctx, "principal %s", req.Principal)
	if err := m.admin(ctx); err != nil {
		return nil, err
	}
	if err := m.auth.DeletePrincipal(ctx, req.Principal); err != nil {
		return nil, err
	}
	return managementapi.DeletePrincipal204Response{}, nil
}

func (m *managementAPI) RotatePrincipalCredentials(ctx context.Context, req managementapi.RotatePrincipalCredentialsRequestObject) (managementapi.RotatePrincipalCredentialsResponseObject, error) {
	target(ctx, "principal %s", req.Principal)
	if err := m.admin(ctx); err != nil {
		return nil, err
	}
	c, err := m.auth.RotateCredentials(ctx, req.Principal)
	if err != nil {
		return nil, err
	}
	noStore(ctx)
	return managementapi.RotatePrincipalCredentials200JSONResponse{ClientId: c.ClientID, ClientSecret: c.ClientSecret}, nil
}

func (m *managementAPI) AssignRole(ctx context.Context, req managementapi.AssignRoleRequestObject) (managementapi.AssignRoleResponseObject, error) {
	target(ctx, "principal %s role %s", req.Principal, req.Role)
	if err := m.admin(ctx); err != nil {
		return nil, err
	}
	if err := m.auth.AssignRole(ctx, req.Principal, req.Role); err != nil {
		return nil, err
	}
	return managementapi.AssignRole204Response{}, nil
}

func (m *managementAPI) UnassignRole(ctx context.Context, req managementapi.UnassignRoleRequestObject) (managementapi.UnassignRoleResponseObject, error) {
	target(ctx, "principal %s role %s", req.Principal, req.Role)
	if err := m.admin(ctx); err != nil {
		return nil, err
	}
	if err := m.auth.UnassignRole(ctx, req.Principal, req.Role); err != nil {
		return nil, err
	}
	return managementapi.UnassignRole204Response{}, nil
}

func (m *managementAPI) ListRoles(ctx context.Context, _ managementapi.ListRolesRequestObject) (managementapi.ListRolesResponseObject, error) {
	if err := m.admin(ctx); err != nil {
		return nil, err
	}
	rs, err := m.auth.ListRoles(ctx)
	if err != nil {
		return nil, err
	}
	out := managementapi.RoleList{Roles: make([]managementapi.Role, len(rs))}
	for i, r := range rs {
		out.Roles[i] = roleOut(r)
	}
	return managementapi.ListRoles200JSONResponse(out), nil
}

func (m *managementAPI) CreateRole(ctx context.Context, req managementapi.CreateRoleRequestObject) (managementapi.CreateRoleResponseObject, error) {
	target(ctx, "role %s", req.Body.Name)
	if err := m.admin(ctx); err != nil {
		return nil, err
	}
	r := store.AuthRole{Name: req.Body.Name}
	if req.Body.Description != nil {
		r.Description = *req.Body.Description
	}
	if err := m.auth.CreateRole(ctx, r); err != nil {
		return nil, err
	}
	rs, err := m.auth.ListRoles(ctx)
	if err != nil {
		return nil, err
	}
	for _, x := range rs {
		if x.Name == r.Name {
			r = x
		}
	}
	return managementapi.CreateRole201JSONResponse(roleOut(r)), nil
}

func (m *managementAPI) DeleteRole(ctx context.Context, req managementapi.DeleteRoleRequestObject) (managementapi.DeleteRoleResponseObject, error) {
	target(ctx, "role %s", req.Role)
	if err := m.admin(ctx); err != nil {
		return nil, err
	}
	if err := m.auth.DeleteRole(ctx, req.Role); err != nil {
		return nil, err
	}
	return managementapi.DeleteRole204Response{}, nil
}

func (m *managementAPI) ListGrants(ctx context.Context, req managementapi.ListGrantsRequestObject) (managementapi.ListGrantsResponseObject, error) {
	p := principal.Get(ctx)
	gs, err := m.auth.ListGrants(ctx)
	if err != nil {
		return nil, err
	}
	out := managementapi.GrantList{Grants: []managementapi.Grant{}}
	for _, g := range gs {
		if req.Params.Role != nil && g.Role != *req.Params.Role {
			continue
		}
		if m.auth.Allowed(p, authz.ManageGrants, g.On) {
			out.Grants = append(out.Grants, grantOut(g))
		}
	}
	return managementapi.ListGrants200JSONResponse(out), nil
}

func (m *managementAPI) CreateGrant(ctx context.Context, req managementapi.CreateGrantRequestObject) (managementapi.CreateGrantResponseObject, error) {
	b := req.Body
	on := securableIn(b.Securable)
	target(ctx, "grant %s on %s to role %s", b.Privilege, authz.Describe(on), b.Role)
	priv, err := authz.ParsePrivilege(string(b.Privilege))
	if err != nil {
		return nil, err
	}
	if err := m.auth.Check(ctx, authz.ManageGrants, on); err != nil {
		return nil, err
	}
	g, err := m.auth.CreateGrant(ctx, store.Grant{Role: b.Role, On: on, Privilege: string(priv)})
	if err != nil {
		return nil, err
	}
	return managementapi.CreateGrant201JSONResponse(grantOut(g)), nil
}

func (m *managementAPI) DeleteGrant(ctx context.Context, req managementapi.DeleteGrantRequestObject) (managementapi.DeleteGrantResponseObject, error) {
	target(ctx, "grant %d", req.GrantId)
	g, err := m.auth.Grant(ctx, req.GrantId)
	if errs.Is(err, errs.NotFound) {
		// Only those who could manage any grant learn that it is gone.
		if err := m.admin(ctx); err != nil {
			return nil, err
		}
	}
	if err != nil {
		return nil, err
	}
	target(ctx, "grant %d (%s on %s to role %s)", g.ID, g.Privilege, authz.Describe(g.On), g.Role)
	if err := m.auth.Check(ctx, authz.ManageGrants, g.On); err != nil {
		return nil, err
	}
	if _, err := m.auth.DeleteGrant(ctx, req.GrantId); err != nil {
		return nil, err
	}
	return managementapi.DeleteGrant204Response{}, nil
}

func (m *managementAPI) ListApiKeys(ctx context.Context, req managementapi.ListApiKeysRequestObject) (managementapi.ListApiKeysResponseObject, error) {
	p := principal.Get(ctx)
	owner := ""
	if req.Params.Principal != nil {
		owner = *req.Params.Principal
	}
	if m.admin(ctx) != nil {
		// Others see their own keys only.
		if owner != "" && (p == nil || owner != p.Name) {
			return nil, m.admin(ctx)
		}
		if p != nil {
			owner = p.Name
		}
	}
	ks, err := m.auth.ListAPIKeys(ctx, owner)
	if err != nil {
		return nil, err
	}
	out := managementapi.ApiKeyList{ApiKeys: make([]managementapi.ApiKey, len(ks))}
	for i, k := range ks {
		out.ApiKeys[i] = apiKeyOut(k)
	}
	return managementapi.ListApiKeys200JSONResponse(out), nil
}

func (m *managementAPI) CreateApiKey(ctx context.Context, req managementapi.CreateApiKeyRequestObject) (managementapi.CreateApiKeyResponseObject, error) {
	owner := principal.From(ctx)
	if req.Body.Principal != nil && *req.Body.Principal != "" {
		owner = *req.Body.Principal
	}
	target(ctx, "api key of principal %s", owner)
	if err := m.selfOrAdmin(ctx, owner); err != nil {
		return nil, err
	}
	var name string
	if req.Body.Name != nil {
		name = *req.Body.Name
	}
	var expires time.Time
	if req.Body.ExpiresIn != nil && *req.Body.ExpiresIn != "" {
		d, err := parseDuration("expires-in", *req.Body.ExpiresIn)
		if err != nil {
			return nil, err
		}
		if d == 0 {
			return nil, errs.New(errs.BadRequest, "Invalid expires-in %q: must be positive", *req.Body.ExpiresIn)
		}
		expires = time.Now().Add(d)
	}
	key, k, err := m.auth.CreateAPIKey(ctx, owner, name, expires)
	if err != nil {
		return nil, err
	}
	target(ctx, "api key %s of principal %s", k.Prefix, owner)
	noStore(ctx)
	return managementapi.CreateApiKey201JSONResponse{ApiKey: apiKeyOut(k), Key: key}, nil
}

// ownKey checks that the caller may manage the key prefix: its own, or any
// as an admin. A missing key is NotFound only for admins.
func (m *managementAPI) ownKey(ctx context.Context, prefix string) error {
	target(ctx, "api key %s", prefix)
	k, err := m.auth.GetAPIKey(ctx, prefix)
	if errs.Is(err, errs.NotFound) {
		if err := m.admin(ctx); err != nil {
			return err
		}
	}
	if err != nil {
		return err
	}
	target(ctx, "api key %s of principal %s", prefix, k.Principal)
	return m.selfOrAdmin(ctx, k.Principal)
}

func (m *managementAPI) DeleteApiKey(ctx context.Context, req managementapi.DeleteApiKeyRequestObject) (managementapi.DeleteApiKeyResponseObject, error) {
	if err := m.ownKey(ctx, req.Prefix); err != nil {
		return nil, err
	}
	if err := m.auth.DeleteAPIKey(ctx, req.Prefix); err != nil {
		return nil, err
	}
	return managementapi.DeleteApiKey204Response{}, nil
}

func (m *managementAPI) RotateApiKey(ctx context.Context, req managementapi.RotateApiKeyRequestObject) (managementapi.RotateApiKeyResponseObject, error) {
	if err := m.ownKey(ctx, req.Prefix); err != nil {
		return nil, err
	}
	grace := defaultGracePeriod
	if req.Body != nil && req.Body.GracePeriod != nil {
		d, err := parseDuration("grace-period", *req.Body.GracePeriod)
		if err != nil {
			return nil, err
		}
		grace = d
	}
	key, k, err := m.auth.RotateAPIKey(ctx, req.Prefix, grace)
	if err != nil {
		return nil, err
	}
	noStore(ctx)
	return managementapi.RotateApiKey201JSONResponse{ApiKey: apiKeyOut(k), Key: key}, nil
}

func (m *managementAPI) ListSigningKeys(ctx context.Context, _ managementapi.ListSigningKeysRequestObject) (managementapi.ListSigningKeysResponseObject, error) {
	if err := m.admin(ctx); err != nil {
		return nil, err
	}
	ks, err := m.auth.SigningKeys(ctx)
	if err != nil {
		return nil, err
	}
	out := managementapi.SigningKeyList{SigningKeys: make([]managementapi.SigningKey, len(ks))}
	for i, k := range ks {
		out.SigningKeys[i] = signingKeyOut(k)
	}
	return managementapi.ListSigningKeys200JSONResponse(out), nil
}

func (m *managementAPI) RotateSigningKey(ctx context.Context, req managementapi.RotateSigningKeyRequestObject) (managementapi.RotateSigningKeyResponseObject, error) {
	target(ctx, "signing keys")
	if err := m.admin(ctx); err != nil {
		return nil, err
	}
	revoke := req.Body != nil && req.Body.RevokePrevious != nil && *req.Body.RevokePrevious
	k, err := m.auth.RotateSigningKey(ctx, revoke)
	if err != nil {
		return nil, err
	}
	return managementapi.RotateSigningKey200JSONResponse(signingKeyOut(k)), nil
}

// maxAuditPage is the largest page of the audit log.
const maxAuditPage = 1000

func (m *managementAPI) ListAuditLog(ctx context.Context, req managementapi.ListAuditLogRequestObject) (managementapi.ListAuditLogResponseObject, error) {
	if err := m.admin(ctx); err != nil {
		return nil, err
	}
	p := req.Params
	q := store.AuditQuery{Limit: 100}
	if p.After != nil {
		if *p.After < 0 {
			return nil, errs.New(errs.BadRequest, "Invalid value for parameter after: must not be negative")
		}
		q.After = *p.After
	}
	if p.Limit != nil {
		if *p.Limit < 1 || *p.Limit > maxAuditPage {
			return nil, errs.New(errs.BadRequest, "Invalid value for parameter limit: must be between 1 and %d", maxAuditPage)
		}
		q.Limit = *p.Limit
	}
	if p.Principal != nil {
		q.Principal = *p.Principal
	}
	if p.Operation != nil {
		q.Operation = *p.Operation
	}
	if p.Outcome != nil {
		if !p.Outcome.Valid() {
			return nil, errs.New(errs.BadRequest, "Invalid value for parameter outcome: %q (success, denied or failed)", *p.Outcome)
		}
		q.Outcome = string(*p.Outcome)
	}
	want := q.Limit
	q.Limit++ // one more tells whether there are more
	es, err := m.auth.ListAudit(ctx, q)
	if err != nil {
		return nil, err
	}
	out := managementapi.AuditPage{Entries: []managementapi.AuditEntry{}, NextAfter: q.After}
	if len(es) > want {
		es, out.More = es[:want], true
	}
	for _, e := range es {
		entry := managementapi.AuditEntry{Id: e.ID, Time: e.Time.UTC(), Principal: e.Principal, Operation: e.Operation,
			Target: e.Target, Outcome: managementapi.AuditEntryOutcome(e.Outcome), Status: e.Status}
		if e.Detail != "" {
			entry.Detail = &e.Detail
		}
		out.Entries = append(out.Entries, entry)
		out.NextAfter = e.ID
	}
	return managementapi.ListAuditLog200JSONResponse(out), nil
}
