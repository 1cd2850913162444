package planning

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/apache/iceberg-go"

	"github.com/bingsan/bingsan/errs"
)

// Filter expressions on the wire: this file is the one place that reads
// and writes them. Two forms are read, node by node, so a client of either
// spec sees the same answer:
//   - the REST spec 1.11 form (the Expression schema): predicates with a
//     "term" (a column name or a transform object) and "value"/"values";
//   - the form of upstream main after 1.11 (the Predicate schema):
//     operands are value expressions, "child" or "left"/"right", each a
//     Reference ({"type":"reference","name":…} or {…,"id":…}), an Apply
//     of a partition transform to a reference, or a Literal (bare, or
//     {"type":"literal","value":…,"data-type":…}); set values may be the
//     typed {"type":"literals","values":[…],"data-type":…}.
// newForm rewrites the second into the first; residuals are written in
// the 1.11 form, which the Predicate schema still accepts (its deprecated
// members), so both kinds of client read them.
//
// iceberg-go's ParseExpr reads what iceberg-go and Java 1.11 clients send
// (predicates, and/or/not, bare true/false, transform terms), typing each
// literal by its field. It lacks two things the spec allows, which
// specForm adds before handing the document over:
//   - the spec's own constants, {"type":"true"} and {"type":"false"}
//     (ParseExpr knows only bare booleans);
//   - case-insensitive field names (ParseExpr resolves names exactly): with
//     case-sensitive false, every term is renamed to its field's full name.

// decodeFilter reads a request's filter as an unbound expression over
// schema. A document that is not a valid expression over schema is a
// BadRequest naming it.
func decodeFilter(raw json.RawMessage, schema *iceberg.Schema, caseSensitive bool) (iceberg.BooleanExpression, error) {
	doc, err := specForm(raw, schema, caseSensitive)
	if err == nil {
		var expr iceberg.BooleanExpression
		if expr, err = iceberg.ParseExpr(doc, schema); err == nil {
			// Binding checks what parsing does not (e.g. a string literal
			// compared with a struct).
			if _, err = iceberg.BindExpr(schema, expr, true); err == nil {
				return expr, nil
			}
		}
	}
	return nil, errs.New(errs.BadRequest, "Invalid filter expression %s: %s", quoteDoc(raw), clip(err.Error()))
}

// specForm rewrites one expression node for ParseExpr (see above).
func specForm(raw json.RawMessage, schema *iceberg.Schema, caseSensitive bool) (json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return raw, nil // booleans; anything else ParseExpr refuses
	}
	var node map[string]json.RawMessage
	if err := json.Unmarshal(raw, &node); err != nil {
		return nil, err
	}
	var typ string
	if t, ok := node["type"]; ok {
		if err := json.Unmarshal(t, &typ); err != nil {
			return nil, fmt.Errorf("expression type must be a string: %s", t)
		}
	}
	switch typ {
	case "true", "false":
		if len(node) != 1 {
			return nil, fmt.Errorf("expression %q takes no other fields", typ)
		}
		return json.RawMessage(typ), nil
	case "and", "or", "not":
		for _, k := range []string{"left", "right", "child"} {
			if c, ok := node[k]; ok {
				sub, err := specForm(c, schema, caseSensitive)
				if err != nil {
					return nil, err
				}
				node[k] = sub
			}
		}
	default:
		if err := newForm(typ, node, schema); err != nil {
			return nil, err
		}
		if t, ok := node["term"]; ok && !caseSensitive {
			term, err := canonicalTerm(t, schema)
			if err != nil {
				return nil, err
			}
			node["term"] = term
		}
	}
	return json.Marshal(node)
}

// flipped is the comparison that means the same with its operands swapped
// (literal on the left, term on the right).
var flipped = map[string]string{"lt": "gt", "lt-eq": "gt-eq", "gt": "lt", "gt-eq": "lt-eq", "eq": "eq", "not-eq": "not-eq"}

// newForm rewrites a predicate node written in the post-1.11 form (child,
// left/right, typed literals) into the 1.11 form in place; a 1.11 node is
// left as it is. A node mixing both forms is refused.
func newForm(typ string, node map[string]json.RawMessage, schema *iceberg.Schema) error {
	_, hasTerm := node["term"]
	if child, ok := node["child"]; ok {
		if hasTerm {
			return fmt.Errorf("predicate %q has both child and term", typ)
		}
		term, err := operandTerm(child, schema)
		if err != nil {
			return err
		}
		delete(node, "child")
		node["term"] = term
	}
	left, hasLeft := node["left"]
	right, hasRight := node["right"]
	if hasLeft || hasRight {
		if hasTerm || !hasLeft || !hasRight {
			return fmt.Errorf("predicate %q needs both left and right, and no term", typ)
		}
		if _, has := node["value"]; has {
			return fmt.Errorf("predicate %q has both right and value", typ)
		}
		term, value := left, right
		if !isOperandTerm(left) {
			if !isOperandTerm(right) {
				return fmt.Errorf("predicate %q compares no column", typ)
			}
			flip, ok := flipped[typ]
			if !ok {
				return fmt.Errorf("predicate %q needs the column on the left", typ)
			}
			term, value = right, left
			t, _ := json.Marshal(flip)
			node["type"] = t
		}
		t, err := operandTerm(term, schema)
		if err != nil {
			return err
		}
		delete(node, "left")
		delete(node, "right")
		node["term"], node["value"] = t, value
	}
	if v, ok := node["value"]; ok {
		lit, err := literalValue(v)
		if err != nil {
			return err
		}
		node["value"] = lit
	}
	if vs, ok := node["values"]; ok {
		values, err := literalValues(vs)
		if err != nil {
			return err
		}
		node["values"] = values
	}
	return nil
}

// isOperandTerm: the value expression names a column (a reference, or a
// transform applied to one) rather than being a literal.
func isOperandTerm(raw json.RawMessage) bool {
	var obj struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(raw, &obj) != nil {
		return false
	}
	return obj.Type == "reference" || obj.Type == "apply"
}

// operandTerm turns a value expression naming a column into a 1.11 term:
// a column name, or a transform object.
func operandTerm(raw json.RawMessage, schema *iceberg.Schema) (json.RawMessage, error) {
	var node struct {
		Type      string            `json:"type"`
		Function  json.RawMessage   `json:"function"`
		Arguments []json.RawMessage `json:"arguments"`
	}
	if err := json.Unmarshal(raw, &node); err != nil {
		return nil, fmt.Errorf("operand %s is not a reference or a transform", clip(string(raw)))
	}
	switch node.Type {
	case "reference":
		name, err := referenceName(raw, schema)
		if err != nil {
			return nil, err
		}
		return json.Marshal(name)
	case "apply":
		var fn string
		if err := json.Unmarshal(node.Function, &fn); err != nil {
			return nil, fmt.Errorf("function %s is not a partition transform", clip(string(node.Function)))
		}
		var ref string
		width := ""
		for _, a := range node.Arguments {
			if isOperandTerm(a) {
				if ref != "" {
					return nil, fmt.Errorf("transform %q takes one column", fn)
				}
				name, err := referenceName(a, schema)
				if err != nil {
					return nil, err
				}
				ref = name
				continue
			}
			lit, err := literalValue(a)
			if err != nil {
				return nil, err
			}
			var n int64
			if width != "" || json.Unmarshal(lit, &n) != nil || n <= 0 {
				return nil, fmt.Errorf("transform %q takes one positive integer width", fn)
			}
			width = fmt.Sprintf("[%d]", n)
		}
		if ref == "" {
			return nil, fmt.Errorf("transform %q names no column", fn)
		}
		return json.Marshal(map[string]string{"type": "transform", "transform": fn + width, "term": ref})
	default:
		return nil, fmt.Errorf("operand %s is not a reference or a transform", clip(string(raw)))
	}
}

// referenceName is the column name a Reference denotes: by name, or by
// field id (its full name in schema).
func referenceName(raw json.RawMessage, schema *iceberg.Schema) (string, error) {
	var ref struct {
		Type string  `json:"type"`
		Name *string `json:"name"`
		ID   *int    `json:"id"`
		Term *string `json:"term"`
	}
	if err := json.Unmarshal(raw, &ref); err != nil || ref.Type != "reference" {
		return "", fmt.Errorf("%s is not a column reference", clip(string(raw)))
	}
	switch {
	case ref.Name != nil && ref.ID == nil && ref.Term == nil:
		return *ref.Name, nil
	case ref.ID != nil && ref.Name == nil && ref.Term == nil:
		name, ok := schema.FindColumnName(*ref.ID)
		if !ok {
			return "", fmt.Errorf("cannot find field id %d in the table schema", *ref.ID)
		}
		return name, nil
	case ref.Term != nil && ref.Name == nil && ref.ID == nil: // iceberg-go's own form
		return *ref.Term, nil
	}
	return "", fmt.Errorf("reference %s needs exactly one of name and id", clip(string(raw)))
}

// literalValue unwraps a Literal object ({"type":"literal","value":…}) to
// its value; a bare value is its own. The value is typed by the column it
// is compared with, as in the 1.11 form.
func literalValue(raw json.RawMessage) (json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return raw, nil
	}
	var lit struct {
		Type     string          `json:"type"`
		Value    json.RawMessage `json:"value"`
		DataType json.RawMessage `json:"data-type"`
	}
	if err := json.Unmarshal(raw, &lit); err != nil || lit.Type != "literal" || len(lit.Value) == 0 {
		return nil, fmt.Errorf("literal %s is not a value or {\"type\":\"literal\",\"value\":…}", clip(string(raw)))
	}
	return lit.Value, nil
}

// literalValues reads a set predicate's values: an array of literals, or
// the typed {"type":"literals","values":[…],"data-type":…}.
func literalValues(raw json.RawMessage) (json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	var items []json.RawMessage
	if len(raw) > 0 && raw[0] == '{' {
		var lits struct {
			Type   string            `json:"type"`
			Values []json.RawMessage `json:"values"`
		}
		if err := json.Unmarshal(raw, &lits); err != nil || lits.Type != "literals" || lits.Values == nil {
			return nil, fmt.Errorf("values %s are not a list of literals", clip(string(raw)))
		}
		items = lits.Values
	} else if err := json.Unmarshal(raw, &items); err != nil {
		return nil, fmt.Errorf("values %s are not a list of literals", clip(string(raw)))
	}
	for i, it := range items {
		v, err := literalValue(it)
		if err != nil {
			return nil, err
		}
		items[i] = v
	}
	return json.Marshal(items)
}

// canonicalTerm renames a term (a reference, or a transform of one) to the
// full name of the field it names regardless of case.
func canonicalTerm(raw json.RawMessage, schema *iceberg.Schema) (json.RawMessage, error) {
	var name string
	if err := json.Unmarshal(raw, &name); err == nil {
		full, err := fullName(schema, name)
		if err != nil {
			return nil, err
		}
		return json.Marshal(full)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, fmt.Errorf("cannot parse term %s", raw)
	}
	inner, ok := obj["term"]
	if !ok {
		return raw, nil
	}
	sub, err := canonicalTerm(inner, schema)
	if err != nil {
		return nil, err
	}
	obj["term"] = sub
	return json.Marshal(obj)
}

// fullName is the full (dotted) name of the field name denotes, ignoring
// case.
func fullName(schema *iceberg.Schema, name string) (string, error) {
	f, ok := schema.FindFieldByNameCaseInsensitive(name)
	if !ok {
		return "", fmt.Errorf("cannot find field %q in the table schema", name)
	}
	full, ok := schema.FindColumnName(f.ID)
	if !ok {
		return "", fmt.Errorf("cannot find field %q in the table schema", name)
	}
	return full, nil
}

// encodeResidual writes a task's residual filter in the spec's form:
// iceberg-go's encoding, with constants as the spec's objects rather than
// bare booleans.
func encodeResidual(expr iceberg.BooleanExpression) (json.RawMessage, error) {
	doc, err := json.Marshal(expr)
	if err != nil {
		return nil, err
	}
	return constantObjects(doc)
}

func constantObjects(raw json.RawMessage) (json.RawMessage, error) {
	switch string(bytes.TrimSpace(raw)) {
	case "true":
		return json.RawMessage(`{"type":"true"}`), nil
	case "false":
		return json.RawMessage(`{"type":"false"}`), nil
	}
	var node map[string]json.RawMessage
	if err := json.Unmarshal(raw, &node); err != nil {
		return nil, err
	}
	changed := false
	for _, k := range []string{"left", "right", "child"} {
		if c, ok := node[k]; ok {
			sub, err := constantObjects(c)
			if err != nil {
				return nil, err
			}
			node[k], changed = sub, true
		}
	}
	if !changed {
		return raw, nil
	}
	return json.Marshal(node)
}

// quoteDoc renders a client's document for an error message, cut short.
func quoteDoc(raw json.RawMessage) string { return clip(string(bytes.TrimSpace(raw))) }

// clip cuts text that a client controls to a length fit for a message.
func clip(s string) string {
	const max = 200
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}
