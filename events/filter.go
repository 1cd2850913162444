package events

import (
	"slices"
	"strings"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/store"
)

// Filter selects events. The zero Filter selects every event.
type Filter struct {
	// Warehouse, when set, keeps the events of that warehouse.
	Warehouse string
	// Namespace, when set, keeps the events in that namespace or below it;
	// with Object, exactly in that namespace.
	Namespace []string
	// Object, when set, keeps the events about the table or view of that
	// name in Namespace (a rename under its old or its new name).
	Object string
	// Types, when set, keeps the events of these types.
	Types map[store.EventType]bool
	// Visible, when set, keeps only the events it accepts: the caller's
	// authorization (the events about what it may read). It runs with the
	// broker's lock held, so it must be quick and must not block.
	Visible func(store.Event) bool
}

// ParseFilter builds a filter from the query parameters of the events
// endpoints: namespace levels separated by 0x1F (%1F in a URL), types with
// or without the io.bingsan. prefix. Unknown types are a BadRequest, so that
// a misspelt type does not silently select nothing.
func ParseFilter(warehouse, namespace, object *string, types *[]string) (Filter, error) {
	var f Filter
	if warehouse != nil {
		f.Warehouse = *warehouse
	}
	if namespace != nil && *namespace != "" {
		f.Namespace = strings.Split(*namespace, store.NamespaceSeparator)
		if slices.Contains(f.Namespace, "") {
			return Filter{}, errs.New(errs.BadRequest, "Invalid namespace filter %q: empty level", *namespace)
		}
	}
	if object != nil && *object != "" {
		if len(f.Namespace) == 0 {
			return Filter{}, errs.New(errs.BadRequest, "The object filter needs the namespace filter")
		}
		f.Object = *object
	}
	if types != nil {
		for _, raw := range *types {
			for t := range strings.SplitSeq(raw, ",") {
				t = strings.TrimSpace(t)
				if t == "" {
					continue
				}
				typ := store.EventType(strings.TrimPrefix(t, TypePrefix))
				if !slices.Contains(store.EventTypes, typ) {
					return Filter{}, errs.New(errs.BadRequest, "Unknown event type %q", t)
				}
				if f.Types == nil {
					f.Types = map[store.EventType]bool{}
				}
				f.Types[typ] = true
			}
		}
	}
	return f, nil
}

// Match reports whether f selects e.
func (f Filter) Match(e store.Event) bool {
	if f.Warehouse != "" && e.Warehouse != f.Warehouse {
		return false
	}
	if f.Types != nil && !f.Types[e.Type] {
		return false
	}
	if f.Visible != nil && !f.Visible(e) {
		return false
	}
	if len(f.Namespace) == 0 {
		return true
	}
	if f.matchIdent(e.Namespace, e.Name) {
		return true
	}
	return e.RenamedTo != nil && f.matchIdent(e.RenamedTo.Namespace, e.RenamedTo.Name)
}

func (f Filter) matchIdent(namespace []string, name string) bool {
	if f.Object != "" {
		return name == f.Object && slices.Equal(namespace, f.Namespace)
	}
	return len(namespace) >= len(f.Namespace) && slices.Equal(namespace[:len(f.Namespace)], f.Namespace)
}
