package server

import (
	"context"

	"github.com/valyala/fasthttp"

	"github.com/bingsan/bingsan/authz"
	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/gen/bingsanapi"
	"github.com/bingsan/bingsan/gen/iceberg"
)

// operation is everything the server knows about one operation of the
// APIs it serves (the Iceberg REST API, Bingsan's extension API and its
// management API), by operationId, in one place: what a caller needs to
// run it, whether it changes the catalog, whether it takes an
// Idempotency-Key, and whether it is built. Authorization, the audit log,
// idempotency, the endpoints GET /v1/config advertises and 501 answers all
// read this table; a test fails when a generated operation is missing.
type operation struct {
	// privilege is what the caller needs on the targets; "" means any
	// authenticated caller (and public, none at all).
	privilege authz.Privilege
	// on says what the targets are, for the documentation.
	on     string
	public bool // no credentials needed (the token endpoint)
	// withoutAuth management operations are served with authentication
	// off too (to every caller, as the Iceberg API then is); the rest of
	// the management API needs auth.enabled.
	withoutAuth bool
	// mutation marks operations that change the catalog: audited, and
	// recorded as events.
	mutation bool
	// idempotent operations take an Idempotency-Key header (spec 1.11.0).
	idempotent bool
	// unimplemented operations answer 501 and are not advertised.
	unimplemented bool
	// planner operations are served by the scan planner (Options.Planner):
	// without one they answer 501 and are not advertised, all four
	// together, since a client that finds /plan expects the others.
	planner bool
	// servedIn, when set, says whether the operation can succeed in a
	// warehouse (signRequest: only where the storage signs); GET
	// /v1/config advertises it for the warehouses where it can.
	servedIn func(s *Server, warehouse string) bool
	// targets returns what the decoded request needs, for the Iceberg
	// API's operations (the others authorize in their handlers). nil:
	// nothing beyond being authenticated.
	targets func(s *Server, ctx context.Context, priv authz.Privilege, request any) ([]need, error)
}

// operations is the table. Privileges inherit down the namespace tree
// (authz.Covers).
var operations = map[string]operation{
	"getToken":  {public: true, mutation: true, on: "nothing: the client authenticates with its credentials"},
	"getConfig": {on: "nothing (any authenticated caller)"},

	"listNamespaces": {privilege: authz.Read, on: "the parent namespace (or the warehouse)",
		targets: requestTargets(func(s *Server, r iceberg.ListNamespacesRequestObject) []need {
			var parent []string
			if r.Params.Parent != nil {
				parent = namespaceLevels(*r.Params.Parent)
			}
			return []need{{authz.Read, authz.Namespace(s.warehouseOf(r.Prefix), parent)}}
		})},
	"createNamespace": {privilege: authz.Create, on: "the parent namespace (or the warehouse)", mutation: true, idempotent: true,
		targets: requestTargets(func(s *Server, r iceberg.CreateNamespaceRequestObject) []need {
			var levels []string
			if r.Body != nil {
				levels = r.Body.Namespace
			}
			return []need{{authz.Create, authz.Parent(s.warehouseOf(r.Prefix), levels)}}
		})},
	"loadNamespaceMetadata": {privilege: authz.Read, on: "the namespace",
		targets: onNamespace(func(r iceberg.LoadNamespaceMetadataRequestObject) (string, string) { return r.Prefix, r.NamespaceParam })},
	"namespaceExists": {privilege: authz.Read, on: "the namespace",
		targets: onNamespace(func(r iceberg.NamespaceExistsRequestObject) (string, string) { return r.Prefix, r.NamespaceParam })},
	"updateProperties": {privilege: authz.Write, on: "the namespace", mutation: true, idempotent: true,
		targets: onNamespace(func(r iceberg.UpdatePropertiesRequestObject) (string, string) { return r.Prefix, r.NamespaceParam })},
	"dropNamespace": {privilege: authz.Drop, on: "the namespace", mutation: true, idempotent: true,
		targets: onNamespace(func(r iceberg.DropNamespaceRequestObject) (string, string) { return r.Prefix, r.NamespaceParam })},

	"listTables": {privilege: authz.Read, on: "the namespace",
		targets: onNamespace(func(r iceberg.ListTablesRequestObject) (string, string) { return r.Prefix, r.NamespaceParam })},
	"createTable": {privilege: authz.Create, on: "the namespace", mutation: true, idempotent: true,
		targets: onNamespace(func(r iceberg.CreateTableRequestObject) (string, string) { return r.Prefix, r.NamespaceParam })},
	"registerTable": {privilege: authz.Create, on: "the namespace", mutation: true, idempotent: true,
		targets: onNamespace(func(r iceberg.RegisterTableRequestObject) (string, string) { return r.Prefix, r.NamespaceParam })},
	"loadTable": {privilege: authz.Read, on: "the table",
		targets: onTable(func(r iceberg.LoadTableRequestObject) (string, string, string) {
			return r.Prefix, r.NamespaceParam, r.Table
		})},
	"tableExists": {privilege: authz.Read, on: "the table",
		targets: onTable(func(r iceberg.TableExistsRequestObject) (string, string, string) {
			return r.Prefix, r.NamespaceParam, r.Table
		})},
	"updateTable": {privilege: authz.Write, on: "the table (create on the namespace for a staged create)", mutation: true, idempotent: true,
		targets: commitTargets},
	"dropTable": {privilege: authz.Drop, on: "the table", mutation: true, idempotent: true,
		targets: onTable(func(r iceberg.DropTableRequestObject) (string, string, string) {
			return r.Prefix, r.NamespaceParam, r.Table
		})},
	"unregisterTable": {privilege: authz.Drop, on: "the table", mutation: true, idempotent: true,
		targets: onTable(func(r iceberg.UnregisterTableRequestObject) (string, string, string) {
			return r.Prefix, r.NamespaceParam, r.Table
		})},
	"renameTable": {privilege: authz.Drop, on: "the source table, and create on the destination namespace", mutation: true, idempotent: true,
		targets: requestTargets(func(s *Server, r iceberg.RenameTableRequestObject) []need {
			wh := s.warehouseOf(r.Prefix)
			if r.Body == nil {
				return []need{{authz.Drop, authz.Warehouse(wh)}}
			}
			return []need{
				{authz.Drop, authz.Table(bodyIdent(wh, r.Body.Source))},
				{authz.Create, authz.Namespace(wh, r.Body.Destination.Namespace)},
			}
		})},
	"commitTransaction": {privilege: authz.Write, on: "every table (create on the namespace for staged creates)", mutation: true, idempotent: true,
		targets: commitTargets},
	"loadCredentials": {privilege: authz.Read, on: "the table (write for read-write credentials)",
		targets: onTable(func(r iceberg.LoadCredentialsRequestObject) (string, string, string) {
			return r.Prefix, r.NamespaceParam, r.Table
		})},
	"signRequest": {privilege: authz.Read, on: "the table (write to sign writes)",
		servedIn: func(s *Server, warehouse string) bool { return s.opts.Catalog.SignsRequests(warehouse) },
		targets: onTable(func(r iceberg.SignRequestRequestObject) (string, string, string) {
			return r.Prefix, r.NamespaceParam, r.Table
		})},
	"reportMetrics": {privilege: authz.Read, on: "the table",
		targets: onTable(func(r iceberg.ReportMetricsRequestObject) (string, string, string) {
			return r.Prefix, r.NamespaceParam, r.Table
		})},
	"planTableScan": {privilege: authz.Read, on: "the table", idempotent: true, planner: true,
		targets: onTable(func(r iceberg.PlanTableScanRequestObject) (string, string, string) {
			return r.Prefix, r.NamespaceParam, r.Table
		})},
	"fetchPlanningResult": {privilege: authz.Read, on: "the table", planner: true,
		targets: onTable(func(r iceberg.FetchPlanningResultRequestObject) (string, string, string) {
			return r.Prefix, r.NamespaceParam, r.Table
		})},
	"cancelPlanning": {privilege: authz.Read, on: "the table", idempotent: true, planner: true,
		targets: onTable(func(r iceberg.CancelPlanningRequestObject) (string, string, string) {
			return r.Prefix, r.NamespaceParam, r.Table
		})},
	// fetchScanTasks takes an Idempotency-Key too, but only reads: asked
	// again, it answers the same, so its (large) answers are not stored
	// for replay.
	"fetchScanTasks": {privilege: authz.Read, on: "the table", planner: true,
		targets: onTable(func(r iceberg.FetchScanTasksRequestObject) (string, string, string) {
			return r.Prefix, r.NamespaceParam, r.Table
		})},

	"listViews": {privilege: authz.Read, on: "the namespace",
		targets: onNamespace(func(r iceberg.ListViewsRequestObject) (string, string) { return r.Prefix, r.NamespaceParam })},
	"createView": {privilege: authz.Create, on: "the namespace", mutation: true,
		targets: onNamespace(func(r iceberg.CreateViewRequestObject) (string, string) { return r.Prefix, r.NamespaceParam })},
	"registerView": {privilege: authz.Create, on: "the namespace", mutation: true, idempotent: true,
		targets: onNamespace(func(r iceberg.RegisterViewRequestObject) (string, string) { return r.Prefix, r.NamespaceParam })},
	"loadView": {privilege: authz.Read, on: "the view",
		targets: onView(func(r iceberg.LoadViewRequestObject) (string, string, string) {
			return r.Prefix, r.NamespaceParam, r.View
		})},
	"viewExists": {privilege: authz.Read, on: "the view",
		targets: onView(func(r iceberg.ViewExistsRequestObject) (string, string, string) {
			return r.Prefix, r.NamespaceParam, r.View
		})},
	"replaceView": {privilege: authz.Write, on: "the view", mutation: true, idempotent: true,
		targets: onView(func(r iceberg.ReplaceViewRequestObject) (string, string, string) {
			return r.Prefix, r.NamespaceParam, r.View
		})},
	"dropView": {privilege: authz.Drop, on: "the view", mutation: true, idempotent: true,
		targets: onView(func(r iceberg.DropViewRequestObject) (string, string, string) {
			return r.Prefix, r.NamespaceParam, r.View
		})},
	"renameView": {privilege: authz.Drop, on: "the source view, and create on the destination namespace", mutation: true, idempotent: true,
		targets: requestTargets(func(s *Server, r iceberg.RenameViewRequestObject) []need {
			wh := s.warehouseOf(r.Prefix)
			if r.Body == nil {
				return []need{{authz.Drop, authz.Warehouse(wh)}}
			}
			return []need{
				{authz.Drop, authz.View(bodyIdent(wh, r.Body.Source))},
				{authz.Create, authz.Namespace(wh, r.Body.Destination.Namespace)},
			}
		})},

	"listFunctions": {privilege: authz.Read, on: "the namespace",
		targets: onNamespace(func(r iceberg.ListFunctionsRequestObject) (string, string) { return r.Prefix, r.NamespaceParam })},
	"loadFunction": {privilege: authz.Read, on: "the function",
		targets: onFunction(func(r iceberg.LoadFunctionRequestObject) (string, string, string) {
			return r.Prefix, r.NamespaceParam, r.Function
		})},

	// Bingsan's extension API: the function operations the Iceberg REST
	// API lacks, authorized as the view ones are.
	"createFunction": {privilege: authz.Create, on: "the namespace", mutation: true, idempotent: true,
		targets: onNamespace(func(r bingsanapi.CreateFunctionRequestObject) (string, string) { return r.Prefix, r.Namespace })},
	"registerFunction": {privilege: authz.Create, on: "the namespace", mutation: true, idempotent: true,
		targets: onNamespace(func(r bingsanapi.RegisterFunctionRequestObject) (string, string) { return r.Prefix, r.Namespace })},
	"functionExists": {privilege: authz.Read, on: "the function",
		targets: onFunction(func(r bingsanapi.FunctionExistsRequestObject) (string, string, string) {
			return r.Prefix, r.Namespace, r.Function
		})},
	"commitFunction": {privilege: authz.Write, on: "the function", mutation: true, idempotent: true,
		targets: onFunction(func(r bingsanapi.CommitFunctionRequestObject) (string, string, string) {
			return r.Prefix, r.Namespace, r.Function
		})},
	"dropFunction": {privilege: authz.Drop, on: "the function", mutation: true, idempotent: true,
		targets: onFunction(func(r bingsanapi.DropFunctionRequestObject) (string, string, string) {
			return r.Prefix, r.Namespace, r.Function
		})},
	"renameFunction": {privilege: authz.Drop, on: "the source function, and create on the destination namespace", mutation: true, idempotent: true,
		targets: requestTargets(func(s *Server, r bingsanapi.RenameFunctionRequestObject) []need {
			wh := s.warehouseOf(r.Prefix)
			if r.Body == nil {
				return []need{{authz.Drop, authz.Warehouse(wh)}}
			}
			return []need{
				{authz.Drop, authz.Function(ident(wh, r.Body.Source.Namespace, r.Body.Source.Name))},
				{authz.Create, authz.Namespace(wh, r.Body.Destination.Namespace)},
			}
		})},

	// Bingsan's extension API: events filtered to what the caller may read.
	"listEvents":   {on: "nothing; only events about what the caller may read are returned"},
	"streamEvents": {on: "nothing; only events about what the caller may read are sent"},

	// The management API authorizes in its handlers: grants need
	// manage-grants on their securable, a principal may manage its own
	// API keys, everything else needs admin on the catalog.
	"whoAmI":                     {on: "nothing (any authenticated caller)"},
	"listPrincipals":             {privilege: authz.Admin, on: "the catalog"},
	"listWarehouses":             {privilege: authz.Admin, on: "the catalog", withoutAuth: true},
	"createWarehouse":            {privilege: authz.Admin, on: "the catalog", withoutAuth: true, mutation: true},
	"getWarehouse":               {privilege: authz.Admin, on: "the catalog", withoutAuth: true},
	"updateWarehouse":            {privilege: authz.Admin, on: "the catalog", withoutAuth: true, mutation: true},
	"renameWarehouse":            {privilege: authz.Admin, on: "the catalog", withoutAuth: true, mutation: true},
	"deactivateWarehouse":        {privilege: authz.Admin, on: "the catalog", withoutAuth: true, mutation: true},
	"reactivateWarehouse":        {privilege: authz.Admin, on: "the catalog", withoutAuth: true, mutation: true},
	"deleteWarehouse":            {privilege: authz.Admin, on: "the catalog", withoutAuth: true, mutation: true},
	"createPrincipal":            {privilege: authz.Admin, on: "the catalog", mutation: true},
	"getPrincipal":               {privilege: authz.Admin, on: "the catalog (or the principal itself)"},
	"updatePrincipal":            {privilege: authz.Admin, on: "the catalog", mutation: true},
	"deletePrincipal":            {privilege: authz.Admin, on: "the catalog", mutation: true},
	"rotatePrincipalCredentials": {privilege: authz.Admin, on: "the catalog", mutation: true},
	"assignRole":                 {privilege: authz.Admin, on: "the catalog", mutation: true},
	"unassignRole":               {privilege: authz.Admin, on: "the catalog", mutation: true},
	"listRoles":                  {privilege: authz.Admin, on: "the catalog"},
	"createRole":                 {privilege: authz.Admin, on: "the catalog", mutation: true},
	"deleteRole":                 {privilege: authz.Admin, on: "the catalog", mutation: true},
	"listGrants":                 {privilege: authz.ManageGrants, on: "each grant's securable (others are left out)"},
	"createGrant":                {privilege: authz.ManageGrants, on: "the grant's securable", mutation: true},
	"deleteGrant":                {privilege: authz.ManageGrants, on: "the grant's securable", mutation: true},
	"listApiKeys":                {privilege: authz.Admin, on: "the catalog (or the keys' own principal)"},
	"createApiKey":               {privilege: authz.Admin, on: "the catalog (or the key's own principal)", mutation: true},
	"deleteApiKey":               {privilege: authz.Admin, on: "the catalog (or the key's own principal)", mutation: true},
	"rotateApiKey":               {privilege: authz.Admin, on: "the catalog (or the key's own principal)", mutation: true},
	"listSigningKeys":            {privilege: authz.Admin, on: "the catalog"},
	"rotateSigningKey":           {privilege: authz.Admin, on: "the catalog", mutation: true},
	"listAuditLog":               {privilege: authz.Admin, on: "the catalog"},
}

// requestTargets adapts a function of one generated request type.
func requestTargets[R any](f func(*Server, R) []need) func(*Server, context.Context, authz.Privilege, any) ([]need, error) {
	return func(s *Server, _ context.Context, _ authz.Privilege, request any) ([]need, error) {
		r, ok := request.(R)
		if !ok {
			return nil, errs.New(errs.Internal, "authorization of %T: unexpected request", request)
		}
		return f(s, r), nil
	}
}

// onNamespace, onTable, onView and onFunction need the operation's
// privilege on the namespace, table, view or function the path names.
func onNamespace[R any](path func(R) (prefix, namespace string)) func(*Server, context.Context, authz.Privilege, any) ([]need, error) {
	return func(s *Server, ctx context.Context, priv authz.Privilege, request any) ([]need, error) {
		return requestTargets(func(s *Server, r R) []need {
			prefix, ns := path(r)
			return []need{{priv, authz.Namespace(s.warehouseOf(prefix), namespaceLevels(ns))}}
		})(s, ctx, priv, request)
	}
}

func onTable[R any](path func(R) (prefix, namespace, name string)) func(*Server, context.Context, authz.Privilege, any) ([]need, error) {
	return func(s *Server, ctx context.Context, priv authz.Privilege, request any) ([]need, error) {
		return requestTargets(func(s *Server, r R) []need {
			prefix, ns, name := path(r)
			return []need{{priv, authz.Table(pathIdent(s.warehouseOf(prefix), ns, name))}}
		})(s, ctx, priv, request)
	}
}

func onView[R any](path func(R) (prefix, namespace, name string)) func(*Server, context.Context, authz.Privilege, any) ([]need, error) {
	return func(s *Server, ctx context.Context, priv authz.Privilege, request any) ([]need, error) {
		return requestTargets(func(s *Server, r R) []need {
			prefix, ns, name := path(r)
			return []need{{priv, authz.View(pathIdent(s.warehouseOf(prefix), ns, name))}}
		})(s, ctx, priv, request)
	}
}

func onFunction[R any](path func(R) (prefix, namespace, name string)) func(*Server, context.Context, authz.Privilege, any) ([]need, error) {
	return func(s *Server, ctx context.Context, priv authz.Privilege, request any) ([]need, error) {
		return requestTargets(func(s *Server, r R) []need {
			prefix, ns, name := path(r)
			return []need{{priv, authz.Function(pathIdent(s.warehouseOf(prefix), ns, name))}}
		})(s, ctx, priv, request)
	}
}

// commitTargets: write on each table a commit changes, or create on its
// namespace where the change creates the table (a staged create's commit,
// with assert-create). The changes are decoded once for the request (see
// tableChanges).
func commitTargets(s *Server, ctx context.Context, _ authz.Privilege, request any) ([]need, error) {
	changes, err := s.tableChanges(ctx, request)
	if err != nil {
		return nil, err
	}
	out := make([]need, len(changes))
	for i, c := range changes {
		if c.Create {
			out[i] = need{authz.Create, authz.Namespace(c.Ident.Warehouse, c.Ident.Namespace)}
		} else {
			out[i] = need{authz.Write, authz.Table(c.Ident)}
		}
	}
	return out, nil
}

// warehouseOf is the warehouse a {prefix} names (routes without one: the
// default warehouse), for authorization: an unknown one is refused by the
// handler afterwards.
func (s *Server) warehouseOf(prefix string) string {
	if prefix == "" {
		return s.opts.DefaultWarehouse
	}
	return prefix
}

// notImplementedError is the answer of an operation not built yet.
func notImplementedError(operation string) error {
	return errs.New(errs.NotImplemented, "Operation %s is not implemented by this server", operation)
}

// implemented reports whether this server serves operation: it is built,
// and what it needs is configured.
func (s *Server) implemented(operation string) bool {
	op := operations[operation]
	return !op.unimplemented && (!op.planner || s.opts.Planner != nil)
}

// answerUnimplemented is the strict middleware that answers 501 for the
// operations this server does not serve, before their handlers run.
func (s *Server) answerUnimplemented(f iceberg.StrictHandlerFunc, operation string) iceberg.StrictHandlerFunc {
	if s.implemented(operation) {
		return f
	}
	return func(*fasthttp.RequestCtx, any) (any, error) { return nil, notImplementedError(operation) }
}
