package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDiff(t *testing.T) {
	t.Parallel()
	const oldSpec = `
paths:
  /v1/things:
    get:
      operationId: listThings
      parameters: [{name: pageSize, in: query, schema: {type: integer}}]
      responses: {"200": {content: {application/json: {schema: {$ref: '#/components/schemas/Things'}}}}}
  /v1/gone:
    delete: {operationId: dropAll, responses: {"204": {description: x}}}
components:
  schemas:
    Things: {type: object, properties: {items: {type: array, items: {type: string}}, next: {type: string}}}
    Old: {type: string}
`
	const newSpec = `
paths:
  /v1/things:
    get:
      operationId: listThings
      parameters: [{name: pageSize, in: query, required: true, schema: {type: integer}}, {name: filter, in: query, schema: {type: string}}]
      responses: {"200": {content: {application/json: {schema: {$ref: '#/components/schemas/Things'}}}}}
  /v1/things/{id}:
    get: {operationId: loadThing, responses: {"200": {description: x}}}
components:
  schemas:
    Things: {type: object, required: [items], properties: {items: {type: array, items: {$ref: '#/components/schemas/Thing'}}, total: {type: integer}}}
    Thing: {type: object, properties: {id: {type: string}}}
`
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	o, err := load(write("old.yaml", oldSpec))
	if err != nil {
		t.Fatal(err)
	}
	n, err := load(write("new.yaml", newSpec))
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	writeDiff(&out, "old", "new", o, n)
	for _, want := range []string{
		"- added `loadThing`: GET /v1/things/{id}",
		"- removed `dropAll`: DELETE /v1/gone",
		"changed parameter `query pageSize`: integer -> integer required",
		"added parameter `query filter`: string",
		"- added `Thing`: id string",
		"- removed `Old`",
		"changed field `items`: array of string -> array of Thing required",
		"added field `total`: integer",
		"removed field `next` (was string)",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("diff lacks %q:\n%s", want, out.String())
		}
	}
}
