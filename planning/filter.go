package planning

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/apache/iceberg-go"

	"github.com/bingsan/bingsan/errs"
)

// Filter expressions on the wire, in the REST spec 1.11 form (the
// Expression schema): this file is the one place that reads and writes
// them, so that another form (upstream main reworks the schemas) can be
// added beside it.
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
