package core

import (
	"errors"
	"slices"
	"strings"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/store/driver"
)

// securableRow is a store.Securable as the grants table keeps it.
type securableRow struct {
	Type, Warehouse, Namespace, Name string
}

// securableKey validates s and returns its row form: the fields a type does
// not use must be empty, the ones it uses set.
func securableKey(s store.Securable) (securableRow, error) {
	bad := func(format string, args ...any) (securableRow, error) {
		return securableRow{}, errs.New(errs.BadRequest, "Invalid securable: "+format, args...)
	}
	r := securableRow{Type: string(s.Type), Warehouse: s.Warehouse, Name: s.Name}
	switch s.Type {
	case store.SecurableCatalog:
		if s.Warehouse != "" || len(s.Namespace) > 0 || s.Name != "" {
			return bad("a catalog grant names no warehouse, namespace or object")
		}
		return r, nil
	case store.SecurableWarehouse:
		if s.Warehouse == "" {
			return bad("a warehouse grant needs the warehouse")
		}
		if len(s.Namespace) > 0 || s.Name != "" {
			return bad("a warehouse grant names no namespace or object")
		}
		return r, nil
	case store.SecurableNamespace, store.SecurableTable, store.SecurableView, store.SecurableFunction:
		if s.Warehouse == "" {
			return bad("a %s grant needs the warehouse", s.Type)
		}
		key, err := namespaceKey(s.Namespace)
		if err != nil {
			return securableRow{}, err
		}
		r.Namespace = key
		if s.Type == store.SecurableNamespace && s.Name != "" {
			return bad("a namespace grant names no object")
		}
		if s.Type != store.SecurableNamespace && s.Name == "" {
			return bad("a %s grant needs the %s's name", s.Type, s.Type)
		}
		return r, nil
	}
	return bad("unknown type %q (catalog, warehouse, namespace, table, view or function)", s.Type)
}

// securableFromRow is the inverse of SecurableKey.
func securableFromRow(typ, warehouse, namespace, name string) store.Securable {
	return store.Securable{Type: store.SecurableType(typ), Warehouse: warehouse, Namespace: splitKey(namespace), Name: name}
}

// checkAuthName refuses an empty principal or role name, or one with
// control characters.
func checkAuthName(what, name string) error {
	if strings.TrimSpace(name) == "" {
		return errs.New(errs.BadRequest, "%s name must not be empty", what)
	}
	if strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return errs.New(errs.BadRequest, "%s name must not contain control characters: %q", what, name)
	}
	return nil
}

// principalNotFound, RoleNotFound, GrantNotFound and APIKeyNotFound are the
// errors for missing rows; the Exists variants for duplicates.
func principalNotFound(name string) error {
	return errs.New(errs.NotFound, "Principal does not exist: %s", name)
}

func roleNotFound(name string) error { return errs.New(errs.NotFound, "Role does not exist: %s", name) }

func grantNotFound(id int64) error { return errs.New(errs.NotFound, "Grant does not exist: %d", id) }

func apiKeyNotFound(prefix string) error {
	return errs.New(errs.NotFound, "API key does not exist: %s", prefix)
}

func principalExists(name string) error {
	return errs.New(errs.AlreadyExists, "Principal already exists (or its client id is taken): %s", name)
}

func roleExists(name string) error {
	return errs.New(errs.AlreadyExists, "Role already exists: %s", name)
}

// attachRoles fills each principal's Roles from (principal, role) pairs.
func attachRoles(ps []store.AuthPrincipal, pairs [][2]string) {
	idx := make(map[string]int, len(ps))
	for i := range ps {
		idx[ps[i].Name] = i
	}
	for _, pr := range pairs {
		if i, ok := idx[pr[0]]; ok {
			ps[i].Roles = append(ps[i].Roles, pr[1])
		}
	}
	for i := range ps {
		slices.Sort(ps[i].Roles)
	}
}

func apiKeyExists(prefix string) error {
	return errs.New(errs.AlreadyExists, "API key prefix is taken: %s", prefix)
}

// roleNotAssigned is the error for unassigning a role the principal does
// not have.
func roleNotAssigned(principal, role string) error {
	return errs.New(errs.NotFound, "Principal %s does not have role %s", principal, role)
}

// rotatedKeyPrincipal refuses a rotation whose new key belongs to someone
// else.
func rotatedKeyPrincipal(prefix string) error {
	return errs.New(errs.BadRequest, "A rotated API key keeps its principal: %s", prefix)
}

// authForeignKey turns a failed foreign key of the auth tables (a principal
// or role removed while a grant, assignment or key naming it was written)
// into NotFound.
func authForeignKey(err error) error {
	if err != nil && errors.Is(err, driver.ErrForeignKey) {
		return errs.Wrap(errs.NotFound, err, "The principal or role does not exist (any more)")
	}
	return err
}
