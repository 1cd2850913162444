package catalog

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/bingsan/bingsan/errs"
)

// checkSchemaJSON checks the shape of a schema as a client wrote it, for
// two things iceberg-go refuses without saying well why: a field of a type
// it does not know (its error names neither the field nor the type), and
// fields without `required` (its error does not name the field). It runs
// only once iceberg-go has refused a schema, so that a valid schema is
// decoded once; what names the schema in messages.
func checkSchemaJSON(what string, raw json.RawMessage) error {
	var s struct {
		Fields []json.RawMessage `json:"fields"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil // not an object: iceberg-go's error says so
	}
	return checkFields(what, "", s.Fields)
}

func checkFields(what, parent string, fields []json.RawMessage) error {
	for _, raw := range fields {
		var f struct {
			Name     *string         `json:"name"`
			Required json.RawMessage `json:"required"`
			Type     json.RawMessage `json:"type"`
		}
		if json.Unmarshal(raw, &f) != nil || f.Name == nil {
			continue // iceberg-go's error is as good as any here
		}
		path := *f.Name
		if parent != "" {
			path = parent + "." + path
		}
		if !present(f.Required) {
			return errs.New(errs.BadRequest, "Invalid %s: field %q has no \"required\" (true or false), which the REST spec requires", what, path)
		}
		if err := checkType(what, path, f.Type); err != nil {
			return err
		}
	}
	return nil
}

func checkType(what, path string, raw json.RawMessage) error {
	if !present(raw) {
		return errs.New(errs.BadRequest, "Invalid %s: field %q has no type", what, path)
	}
	var name string
	if json.Unmarshal(raw, &name) == nil {
		if knownPrimitive(name) {
			return nil
		}
		msg := fmt.Sprintf("Invalid %s: field %q has unknown type %q", what, path, name)
		if hint, ok := typeHints[strings.ToLower(name)]; ok {
			msg += fmt.Sprintf(" (Iceberg calls it %q)", hint)
		}
		return errs.New(errs.BadRequest, "%s", msg)
	}
	var nested struct {
		Type            string            `json:"type"`
		Fields          []json.RawMessage `json:"fields"`
		Element         json.RawMessage   `json:"element"`
		ElementRequired json.RawMessage   `json:"element-required"`
		Key             json.RawMessage   `json:"key"`
		Value           json.RawMessage   `json:"value"`
		ValueRequired   json.RawMessage   `json:"value-required"`
	}
	if err := json.Unmarshal(raw, &nested); err != nil {
		return errs.New(errs.BadRequest, "Invalid %s: field %q has a type that is neither a name nor an object", what, path)
	}
	switch nested.Type {
	case "struct":
		return checkFields(what, path, nested.Fields)
	case "list":
		if !present(nested.ElementRequired) {
			return errs.New(errs.BadRequest, "Invalid %s: list %q has no \"element-required\", which the REST spec requires", what, path)
		}
		return checkType(what, path+".element", nested.Element)
	case "map":
		if !present(nested.ValueRequired) {
			return errs.New(errs.BadRequest, "Invalid %s: map %q has no \"value-required\", which the REST spec requires", what, path)
		}
		if err := checkType(what, path+".key", nested.Key); err != nil {
			return err
		}
		return checkType(what, path+".value", nested.Value)
	}
	return errs.New(errs.BadRequest, "Invalid %s: field %q has unknown type %q (struct, list, map or a primitive type)", what, path, nested.Type)
}

// knownPrimitive reports whether name is a primitive type of the Iceberg
// spec (format versions 1 to 3).
func knownPrimitive(name string) bool {
	switch name {
	case "boolean", "int", "long", "float", "double", "date", "time", "timestamp", "timestamptz",
		"timestamp_ns", "timestamptz_ns", "string", "uuid", "binary", "variant", "unknown":
		return true
	}
	return parameterizedType.MatchString(name) || geospatialType.MatchString(name)
}

var (
	parameterizedType = regexp.MustCompile(`^(decimal\(\s*\d+\s*,\s*\d+\s*\)|fixed\[\s*\d+\s*\])$`)
	// Geospatial type names are read in any case, as Java reads them.
	geospatialType = regexp.MustCompile(`(?i)^(geometry|geography)\s*(\(.*\))?$`)
)

// typeHints are names other systems use for Iceberg's types.
var typeHints = map[string]string{
	"int8": "int", "int16": "int", "int32": "int", "integer": "int", "smallint": "int", "tinyint": "int",
	"int64": "long", "bigint": "long",
	"float32": "float", "real": "float", "float64": "double",
	"bool": "boolean", "text": "string", "varchar": "string", "char": "string",
	"bytes": "binary", "varbinary": "binary", "blob": "binary",
	"datetime": "timestamp", "timestamp_tz": "timestamptz", "decimal": "decimal(P,S)", "numeric": "decimal(P,S)",
	"fixed": "fixed[L]", "json": "string or variant",
}
