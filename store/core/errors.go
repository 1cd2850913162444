package core

import (
	"strings"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/store"
)

func kindTitle(k store.Kind) string { return k.Title() }

// noSuchNamespace is the error for a missing namespace.
func noSuchNamespace(levels []string) error {
	return errs.New(errs.NoSuchNamespace, "Namespace does not exist: %s", dotted(levels))
}

// namespaceAlreadyExists is the error for creating a namespace twice.
func namespaceAlreadyExists(levels []string) error {
	return errs.New(errs.AlreadyExists, "Namespace already exists: %s", dotted(levels))
}

// namespaceNotEmpty names what keeps a namespace from being dropped.
func namespaceNotEmpty(levels []string, children, tables, views, functions bool) error {
	var what []string
	if tables {
		what = append(what, "tables")
	}
	if views {
		what = append(what, "views")
	}
	if functions {
		what = append(what, "functions")
	}
	if children {
		what = append(what, "namespaces")
	}
	if len(what) == 0 {
		return errs.New(errs.NamespaceNotEmpty, "Namespace %s is not empty", dotted(levels))
	}
	return errs.New(errs.NamespaceNotEmpty, "Namespace %s is not empty: it contains %s", dotted(levels), strings.Join(what, ", "))
}

// noSuchEntity is NoSuchTable, NoSuchView or NoSuchFunction, by kind.
func noSuchEntity(kind store.Kind, id store.Ident) error {
	switch kind {
	case store.KindView:
		return errs.New(errs.NoSuchView, "View does not exist: %s", id)
	case store.KindFunction:
		return errs.New(errs.NoSuchFunction, "Function does not exist: %s", id)
	}
	return errs.New(errs.NoSuchTable, "Table does not exist: %s", id)
}

// entityAlreadyExists words the conflict from the point of view of what was
// asked for: a view created where a table exists reads "Table with same name
// already exists".
func entityAlreadyExists(requested, existing store.Kind, id store.Ident) error {
	if existing == "" || existing == requested {
		return errs.New(errs.AlreadyExists, "%s already exists: %s", kindTitle(requested), id)
	}
	return errs.New(errs.AlreadyExists, "%s with same name already exists: %s", kindTitle(existing), id)
}

// crossWarehouseRename rejects moving an entity between warehouses.
func crossWarehouseRename(from, to store.Ident) error {
	if from.Warehouse != to.Warehouse {
		return errs.New(errs.BadRequest, "Cannot rename %s to another warehouse", from)
	}
	return nil
}

// staleVersion is the CommitFailed error of a lost compare-and-swap.
func staleVersion(kind store.Kind, id store.Ident, base, current int64) error {
	return errs.New(errs.CommitFailed, "Commit failed: %s %s was updated concurrently (base version %d, current version %d)",
		strings.ToLower(kindTitle(kind)), id, base, current)
}

// replacedConcurrently is the CommitFailed error of a compare-and-swap
// whose base has the entity's version but not its metadata location: the
// entity was dropped and created again (see store.Commit.BaseLocation).
func replacedConcurrently(kind store.Kind, id store.Ident) error {
	return errs.New(errs.CommitFailed, "Commit failed: %s %s was replaced concurrently (its metadata location is not the base's)",
		strings.ToLower(kindTitle(kind)), id)
}

// createdConcurrently is the CommitFailed error of a create commit whose
// entity appeared in the meantime.
func createdConcurrently(kind store.Kind, id store.Ident) error {
	return errs.New(errs.CommitFailed, "Commit failed: %s %s was created concurrently", strings.ToLower(kindTitle(kind)), id)
}

// noSuchPlan is the error for a scan plan that is not stored.
func noSuchPlan(id string) error {
	return errs.New(errs.NoSuchPlanID, "Scan plan does not exist: %s", id)
}

// noSuchPlanChunk is the error for a missing chunk of a plan's result.
func noSuchPlanChunk(planID string, seq int) error {
	return errs.New(errs.NoSuchPlanTask, "Plan task does not exist: %d of plan %s", seq, planID)
}
