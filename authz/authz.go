// Package authz decides what a principal may do: roles hold grants of
// privileges on securables (the catalog, a warehouse, a namespace, a table,
// a view, a function), a grant on a namespace covers everything below it,
// and every operation of the APIs needs one privilege on one or more
// targets (the server's table of operations says which). It only decides; package auth
// keeps the state current and the server asks it once per operation.
package authz

import (
	"fmt"
	"slices"
	"strings"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/principal"
	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/vend"
)

// Privilege is what a grant allows.
type Privilege string

const (
	// Read: load and list, see events, get read-only storage credentials.
	Read Privilege = "read"
	// Write: commit to tables and views, update namespace properties, get
	// read-write storage credentials. Implies Read.
	Write Privilege = "write"
	// Create: create and register namespaces, tables and views below the
	// securable, and rename into it.
	Create Privilege = "create"
	// Drop: drop the securable or what is below it, and rename out of it.
	Drop Privilege = "drop"
	// ManageGrants: grant and revoke privileges on the securable and below
	// it.
	ManageGrants Privilege = "manage-grants"
	// Admin: everything, and managing principals, roles, API keys, signing
	// keys and the audit log when granted on the catalog.
	Admin Privilege = "admin"
)

// Privileges lists every privilege.
var Privileges = []Privilege{Read, Write, Create, Drop, ManageGrants, Admin}

// ParsePrivilege checks a privilege name.
func ParsePrivilege(s string) (Privilege, error) {
	p := Privilege(strings.TrimSpace(s))
	if !slices.Contains(Privileges, p) {
		return "", errs.New(errs.BadRequest, "Unknown privilege %q (one of read, write, create, drop, manage-grants, admin)", s)
	}
	return p, nil
}

// Implies reports whether holding p satisfies a need for want.
func (p Privilege) Implies(want Privilege) bool {
	return p == want || p == Admin || (p == Write && want == Read)
}

// Targets of operations.

// Catalog is the whole catalog.
func Catalog() store.Securable { return store.Securable{Type: store.SecurableCatalog} }

// Warehouse is one warehouse.
func Warehouse(name string) store.Securable {
	return store.Securable{Type: store.SecurableWarehouse, Warehouse: name}
}

// Namespace is a namespace; with no levels, the warehouse.
func Namespace(warehouse string, levels []string) store.Securable {
	if len(levels) == 0 {
		return Warehouse(warehouse)
	}
	return store.Securable{Type: store.SecurableNamespace, Warehouse: warehouse, Namespace: levels}
}

// Parent is what holds a namespace: its parent namespace, or the warehouse.
func Parent(warehouse string, levels []string) store.Securable {
	if len(levels) <= 1 {
		return Warehouse(warehouse)
	}
	return Namespace(warehouse, levels[:len(levels)-1])
}

// Table is a table.
func Table(id store.Ident) store.Securable {
	return store.Securable{Type: store.SecurableTable, Warehouse: id.Warehouse, Namespace: id.Namespace, Name: id.Name}
}

// View is a view.
func View(id store.Ident) store.Securable {
	return store.Securable{Type: store.SecurableView, Warehouse: id.Warehouse, Namespace: id.Namespace, Name: id.Name}
}

// Function is a function (an SQL UDF).
func Function(id store.Ident) store.Securable {
	return store.Securable{Type: store.SecurableFunction, Warehouse: id.Warehouse, Namespace: id.Namespace, Name: id.Name}
}

// Describe renders a securable for messages and the audit log, e.g.
// "table default.sales.orders" (levels joined with dots).
func Describe(s store.Securable) string {
	switch s.Type {
	case store.SecurableCatalog:
		return "catalog"
	case store.SecurableWarehouse:
		return "warehouse " + s.Warehouse
	case store.SecurableNamespace:
		return "namespace " + s.Warehouse + "." + strings.Join(s.Namespace, ".")
	}
	return fmt.Sprintf("%s %s.%s.%s", s.Type, s.Warehouse, strings.Join(s.Namespace, "."), s.Name)
}

// Covers reports whether a grant on g applies to target t: the catalog
// covers everything, a warehouse what is in it, a namespace itself and
// everything below it, a table or view only itself.
func Covers(g, t store.Securable) bool {
	switch g.Type {
	case store.SecurableCatalog:
		return true
	case store.SecurableWarehouse:
		return t.Type != store.SecurableCatalog && t.Warehouse == g.Warehouse
	case store.SecurableNamespace:
		if t.Type != store.SecurableNamespace && t.Type != store.SecurableTable && t.Type != store.SecurableView && t.Type != store.SecurableFunction {
			return false
		}
		return t.Warehouse == g.Warehouse && len(t.Namespace) >= len(g.Namespace) &&
			slices.Equal(t.Namespace[:len(g.Namespace)], g.Namespace)
	case store.SecurableTable, store.SecurableView, store.SecurableFunction:
		return t.Type == g.Type && t.Warehouse == g.Warehouse && t.Name == g.Name && slices.Equal(t.Namespace, g.Namespace)
	}
	return false
}

// Policy is the authorization state at one moment: who has which roles and
// which grants they carry. It is immutable; package auth replaces it when
// the state changes.
type Policy struct {
	principals map[string]store.AuthPrincipal
	grants     map[string][]store.Grant // by role
}

// NewPolicy builds the policy of st.
func NewPolicy(st store.AuthState) *Policy {
	p := &Policy{principals: make(map[string]store.AuthPrincipal, len(st.Principals)), grants: map[string][]store.Grant{}}
	for _, pr := range st.Principals {
		p.principals[pr.Name] = pr
	}
	for _, g := range st.Grants {
		p.grants[g.Role] = append(p.grants[g.Role], g)
	}
	return p
}

// Roles are the roles pr acts with: those assigned to its name here and
// those its credential carries (an OIDC token's role claim).
func (p *Policy) Roles(pr *principal.Principal) []string {
	if pr == nil {
		return nil
	}
	roles := slices.Clone(p.principals[pr.Name].Roles)
	for _, r := range pr.Roles {
		if !slices.Contains(roles, r) {
			roles = append(roles, r)
		}
	}
	slices.Sort(roles)
	return roles
}

// Disabled reports whether the catalog knows pr's name as a disabled
// principal.
func (p *Policy) Disabled(pr *principal.Principal) bool {
	return pr != nil && p.principals[pr.Name].Disabled
}

// Allowed reports whether pr holds want on target, through any grant of
// any of its roles on the target or a securable above it.
func (p *Policy) Allowed(pr *principal.Principal, want Privilege, target store.Securable) bool {
	if pr == nil || p.Disabled(pr) {
		return false
	}
	for _, role := range p.Roles(pr) {
		for _, g := range p.grants[role] {
			if Privilege(g.Privilege).Implies(want) && Covers(g.On, target) {
				return true
			}
		}
	}
	return false
}

// Grants are the grants pr holds through its roles; none for a disabled
// principal.
func (p *Policy) Grants(pr *principal.Principal) []store.Grant {
	if pr == nil || p.Disabled(pr) {
		return nil
	}
	var out []store.Grant
	for _, role := range p.Roles(pr) {
		out = append(out, p.grants[role]...)
	}
	return out
}

// Check is Allowed as an error: nil, or Forbidden naming what is missing.
func (p *Policy) Check(pr *principal.Principal, want Privilege, targets ...store.Securable) error {
	for _, t := range targets {
		if !p.Allowed(pr, want, t) {
			name := ""
			if pr != nil {
				name = pr.Name
			}
			return errs.New(errs.Forbidden, "Principal %s lacks the %s privilege on %s", name, want, Describe(t))
		}
	}
	return nil
}

// CanSeeEvent reports whether pr may read what event e is about: the
// namespace, or the table, view or function (under its old or its new
// name).
func (p *Policy) CanSeeEvent(pr *principal.Principal, e store.Event) bool {
	var kind store.SecurableType
	switch e.Type.Object() {
	case "namespace":
		return p.Allowed(pr, Read, Namespace(e.Warehouse, e.Namespace))
	case "warehouse":
		return p.Allowed(pr, Read, Warehouse(e.Warehouse))
	case "view":
		kind = store.SecurableView
	case "function":
		kind = store.SecurableFunction
	default:
		kind = store.SecurableTable
	}
	on := store.Securable{Type: kind, Warehouse: e.Warehouse, Namespace: e.Namespace, Name: e.Name}
	if p.Allowed(pr, Read, on) {
		return true
	}
	if e.RenamedTo != nil {
		on.Namespace, on.Name = e.RenamedTo.Namespace, e.RenamedTo.Name
		return p.Allowed(pr, Read, on)
	}
	return false
}

// AccessMode is the delegated storage access of pr to table id during
// operation: read-write for the creator of a table (it writes the first
// files) and for holders of Write on it, read-only for everybody else.
func (p *Policy) AccessMode(pr *principal.Principal, operation string, id store.Ident) vend.Mode {
	if operation == "createTable" || p.Allowed(pr, Write, Table(id)) {
		return vend.ReadWrite
	}
	return vend.ReadOnly
}
