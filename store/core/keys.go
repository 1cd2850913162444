package core

import (
	"slices"
	"strings"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/store"
)

// namespaceKey validates levels and joins them into the stored key.
func namespaceKey(levels []string) (string, error) {
	if err := store.CheckNamespace(levels); err != nil {
		return "", err
	}
	return strings.Join(levels, store.NamespaceSeparator), nil
}

// parentKey is the stored key of the parent of levels, "" for a top-level namespace.
func parentKey(levels []string) string {
	if len(levels) <= 1 {
		return ""
	}
	return strings.Join(levels[:len(levels)-1], store.NamespaceSeparator)
}

// childKey is the key of the child named level below parent (a key).
func childKey(parent, level string) string {
	if parent == "" {
		return level
	}
	return parent + store.NamespaceSeparator + level
}

// splitKey turns a stored namespace key back into levels.
func splitKey(key string) []string {
	if key == "" {
		return nil
	}
	return strings.Split(key, store.NamespaceSeparator)
}

// listAfter is the key that keyset listing of namespaces below parentKey
// compares against: Page.After names a child level, and since every child key
// starts with the same prefix, comparing whole keys orders by that level.
func listAfter(parentKey, after string) string {
	if after == "" {
		return ""
	}
	return childKey(parentKey, after)
}

// checkIdent validates an entity identifier and returns its namespace key.
func checkIdent(kind store.Kind, id store.Ident) (string, error) {
	if err := checkKind(kind); err != nil {
		return "", err
	}
	if err := store.CheckIdent(kind, id); err != nil {
		return "", err
	}
	return strings.Join(id.Namespace, store.NamespaceSeparator), nil
}

// checkKind rejects anything but a table, a view or a function.
func checkKind(kind store.Kind) error {
	if !slices.Contains(store.Kinds, kind) {
		return errs.New(errs.Internal, "unknown entity kind %q", kind)
	}
	return nil
}

// sqlLimit turns Page.Limit into a SQL LIMIT; no limit is the largest int32,
// the widest type both generated query packages accept.
func sqlLimit(p store.Page) int32 {
	if p.Limit <= 0 || p.Limit > 1<<31-1 {
		return 1<<31 - 1
	}
	return int32(p.Limit)
}

// dotted renders namespace levels the way Iceberg clients print them.
func dotted(levels []string) string { return strings.Join(levels, ".") }
