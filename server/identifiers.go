package server

import (
	"net/url"
	"strings"

	"github.com/bingsan/bingsan/gen/iceberg"
	"github.com/bingsan/bingsan/store"
)

// namespaceLevels splits a namespace path or query value on the unit
// separator. Binding has already percent-decoded it once; a value that still
// holds "%1F" was encoded twice by the client (some Iceberg releases do so
// for `parent`), so it is decoded again.
func namespaceLevels(v string) []string {
	if v == "" {
		return nil
	}
	if strings.Contains(v, "%1F") || strings.Contains(v, "%1f") {
		if d, err := url.PathUnescape(v); err == nil {
			v = d
		}
	}
	return strings.Split(v, store.NamespaceSeparator)
}

func ident(warehouse string, namespace []string, name string) store.Ident {
	return store.Ident{Warehouse: warehouse, Namespace: namespace, Name: name}
}

func pathIdent(warehouse, namespace, name string) store.Ident {
	return ident(warehouse, namespaceLevels(namespace), name)
}

func bodyIdent(warehouse string, id iceberg.TableIdentifier) store.Ident {
	return ident(warehouse, id.Namespace, id.Name)
}

func toTableIdentifiers(ids []store.Ident) []iceberg.TableIdentifier {
	out := make([]iceberg.TableIdentifier, len(ids))
	for i, id := range ids {
		out[i] = iceberg.TableIdentifier{Namespace: id.Namespace, Name: id.Name}
	}
	return out
}

// deref is *p, or the zero value without p (an optional field of a
// request).
func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
