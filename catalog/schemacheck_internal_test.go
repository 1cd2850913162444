package catalog

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/store"
)

func TestSchemaMessagesNameFieldAndType(t *testing.T) {
	t.Parallel()
	id := 100
	field := func(name, typ, extra string) string {
		id++
		return `{"id":` + strconv.Itoa(id) + `,"name":"` + name + `","type":` + typ + extra + `}`
	}
	schema := func(fields ...string) json.RawMessage {
		return json.RawMessage(`{"type":"struct","schema-id":0,"fields":[` + strings.Join(fields, ",") + `]}`)
	}
	cases := []struct {
		name   string
		schema json.RawMessage
		says   string // "" for a valid schema
	}{
		{"valid, every kind", schema(
			field("a", `"long"`, `,"required":true`), field("b", `"decimal(10, 2)"`, `,"required":false`),
			field("c", `"fixed[16]"`, `,"required":false`), field("d", `"timestamptz_ns"`, `,"required":false`),
			field("e", `{"type":"list","element-id":5,"element":"string","element-required":false}`, `,"required":false`),
			field("f", `{"type":"map","key-id":6,"key":"string","value-id":7,"value":{"type":"struct","fields":[{"id":8,"name":"g","type":"int","required":true}]},"value-required":true}`, `,"required":false`),
		), ""},
		// Java reads geospatial type names in any case; so does iceberg-go.
		{"geometry in capitals", schema(field("shape", `"GEOMETRY"`, `,"required":false`)), ""},
		{"int64", schema(field("count", `"int64"`, `,"required":true`)), `field "count" has unknown type "int64" (Iceberg calls it "long")`},
		{"nested", schema(field("addr", `{"type":"struct","fields":[{"id":2,"name":"zip","type":"varchar","required":false}]}`, `,"required":false`)),
			`field "addr.zip" has unknown type "varchar" (Iceberg calls it "string")`},
		{"list element", schema(field("tags", `{"type":"list","element-id":2,"element":"text","element-required":true}`, `,"required":false`)),
			`field "tags.element" has unknown type "text"`},
		{"no required", schema(field("id", `"long"`, ``)), `field "id" has no "required"`},
		{"no required after a geometry", schema(field("shape", `"Geometry"`, `,"required":false`), field("id", `"long"`, ``)), `field "id" has no "required"`},
		{"no element-required", schema(field("tags", `{"type":"list","element-id":2,"element":"string"}`, `,"required":false`)), `list "tags" has no "element-required"`},
		{"unknown nested kind", schema(field("x", `{"type":"tuple"}`, `,"required":false`)), `field "x" has unknown type "tuple"`},
	}
	for _, tc := range cases {
		_, err := ParseSchema(tc.schema)
		if tc.says == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		if !errs.Is(err, errs.BadRequest) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s: %v, want BadRequest saying %s", tc.name, err, tc.says)
		}
	}
	// The same for a commit's add-schema.
	upd := `[{"action":"add-schema","schema":` + string(schema(field("n", `"int64"`, `,"required":true`))) + `}]`
	if _, err := ParseTableChange(store.Ident{}, nil, json.RawMessage(upd)); err == nil || !strings.Contains(err.Error(), `"int64"`) {
		t.Errorf("add-schema: %v", err)
	}
}
