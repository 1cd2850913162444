package store

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/bingsan/bingsan/errs"
)

// Identifier rules. Every identifier a client sends (namespace levels,
// table and view names, namespace property keys and values) is checked here
// before any storage or database work, by the catalog and again by the
// stores, so that both stores answer hostile input the same way (400) and no
// database or file system sees bytes it would refuse with a 5xx.
//
// The limits follow from where identifiers end up: a level or a name is a
// directory name in default locations (at most 255 bytes on common file
// systems, and a table's directory is "<name>-<uuid>", 37 bytes more), and
// the joined namespace and the name are one PostgreSQL index key (at most
// about 2,700 bytes).
const (
	// MaxNameBytes bounds a namespace level and a table or view name.
	MaxNameBytes = 200
	// MaxLevels bounds the depth of a namespace.
	MaxLevels = 16
	// MaxNamespaceBytes bounds the levels of a namespace joined by 0x1F.
	MaxNamespaceBytes = 1024
	// MaxPropertyKeyBytes bounds a namespace property key.
	MaxPropertyKeyBytes = 1024
	// MaxLocationBytes bounds a storage location (a table's, a view's, a
	// namespace's, or a path property's).
	MaxLocationBytes = 2000
)

// CheckNamespace validates namespace levels: at least one, at most
// MaxLevels, each a non-empty valid UTF-8 string of at most MaxNameBytes
// without control characters (which include the 0x1F that joins levels).
func CheckNamespace(levels []string) error {
	if len(levels) == 0 {
		return errs.New(errs.BadRequest, "Namespace must have at least one level")
	}
	if len(levels) > MaxLevels {
		return errs.New(errs.BadRequest, "Namespace has %d levels: at most %d are allowed", len(levels), MaxLevels)
	}
	total := len(levels) - 1
	for i, l := range levels {
		if l == "" {
			return errs.New(errs.BadRequest, "Namespace level %d is empty: %s", i+1, quoteLevels(levels))
		}
		if err := checkText(fmt.Sprintf("Namespace level %d", i+1), l, MaxNameBytes, true); err != nil {
			return err
		}
		total += len(l)
	}
	if total > MaxNamespaceBytes {
		return errs.New(errs.BadRequest, "Namespace is %d bytes long: at most %d are allowed", total, MaxNamespaceBytes)
	}
	return nil
}

// CheckName validates a table or view name (what names the kind in
// messages: "Table", "View").
func CheckName(what, name string) error {
	if name == "" {
		return errs.New(errs.BadRequest, "%s name must not be empty", what)
	}
	return checkText(what+" name", name, MaxNameBytes, true)
}

// Title is the kind as Iceberg messages name it ("Table", "View",
// "Function").
func (k Kind) Title() string {
	switch k {
	case KindView:
		return "View"
	case KindFunction:
		return "Function"
	}
	return "Table"
}

// CheckIdent validates an entity identifier's namespace and name.
func CheckIdent(kind Kind, id Ident) error {
	if err := CheckNamespace(id.Namespace); err != nil {
		return err
	}
	return CheckName(kind.Title(), id.Name)
}

// CheckProperties validates namespace property keys (as names are) and
// values (valid UTF-8 without NUL; other control characters, such as line
// breaks in a comment, are fine).
func CheckProperties(props map[string]string) error {
	for k, v := range props {
		if err := CheckPropertyKey(k); err != nil {
			return err
		}
		if err := checkText(fmt.Sprintf("Value of property %s", quote(k)), v, 0, false); err != nil {
			return err
		}
	}
	return nil
}

// CheckPropertyKey validates one property key.
func CheckPropertyKey(k string) error {
	if k == "" {
		return errs.New(errs.BadRequest, "Property keys must not be empty")
	}
	return checkText("Property key", k, MaxPropertyKeyBytes, true)
}

// CheckLocation validates a storage location's bytes (what names it in
// messages); where it points is the catalog's concern.
func CheckLocation(what, loc string) error {
	return checkText(what, loc, MaxLocationBytes, true)
}

// checkText refuses invalid UTF-8, NUL, any control character when
// noControls is set, and more than maxBytes bytes (0: no bound).
func checkText(what, s string, maxBytes int, noControls bool) error {
	if maxBytes > 0 && len(s) > maxBytes {
		return errs.New(errs.BadRequest, "%s is %d bytes long: at most %d are allowed", what, len(s), maxBytes)
	}
	if !utf8.ValidString(s) {
		return errs.New(errs.BadRequest, "%s %s is not valid UTF-8", what, quote(s))
	}
	for _, r := range s {
		if r == 0 || (noControls && unicode.IsControl(r)) {
			return errs.New(errs.BadRequest, "%s %s must not contain control characters (%U)", what, quote(s), r)
		}
	}
	return nil
}

// quote renders s for a message: escaped, and shortened when long, so a
// hostile value can neither break the message nor make it huge.
func quote(s string) string {
	const max = 64
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return fmt.Sprintf("%q…", s[:cut])
	}
	return fmt.Sprintf("%q", s)
}

func quoteLevels(levels []string) string {
	q := make([]string, len(levels))
	for i, l := range levels {
		q[i] = quote(l)
	}
	return strings.Join(q, ".")
}

// IdentKey is an injective encoding of an identifier for in-memory maps
// (this node's commit locks and queues, duplicate detection): each part is
// length-prefixed, so no choice of bytes in the parts can make two distinct
// identifiers share a key.
func IdentKey(id Ident) string {
	var b strings.Builder
	part := func(s string) {
		fmt.Fprintf(&b, "%d:", len(s))
		b.WriteString(s)
	}
	part(id.Warehouse)
	fmt.Fprintf(&b, "%d;", len(id.Namespace))
	for _, l := range id.Namespace {
		part(l)
	}
	part(id.Name)
	return b.String()
}
