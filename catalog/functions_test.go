package catalog_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/iceberg-go/udf"

	"github.com/bingsan/bingsan/catalog"
	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/store"
)

// Function definitions as requests carry them.
const (
	addOneInt   = `{"parameters":[{"name":"x","type":"int"}],"return-type":"int","function-type":"udf","version":{"representations":[{"type":"sql","dialect":"spark","sql":"x + 1"}],"deterministic":true}}`
	addOneFloat = `{"parameters":[{"name":"x","type":"float"}],"return-type":"float","function-type":"udf","specific-name":"add_one_float","version":{"representations":[{"type":"sql","dialect":"spark","sql":"x + 1.0"},{"type":"sql","dialect":"trino","sql":"x + 1.0"}]}}`
	versionTwo  = `{"representations":[{"type":"sql","dialect":"spark","sql":"x + 2"}],"on-null-input":"return-null"}`
)

func functionDefs(t *testing.T, defs ...string) []catalog.FunctionDefinition {
	t.Helper()
	raws := make([]json.RawMessage, len(defs))
	for i, d := range defs {
		raws[i] = json.RawMessage(d)
	}
	out, err := catalog.ParseFunctionDefinitions(raws)
	if err != nil {
		t.Fatalf("ParseFunctionDefinitions: %v", err)
	}
	return out
}

func (e *env) mustCreateFunction(t *testing.T, id store.Ident, defs ...string) (catalog.FunctionResult, udf.Metadata) {
	t.Helper()
	if len(defs) == 0 {
		defs = []string{addOneInt}
	}
	res, err := e.svc.CreateFunction(context.Background(), catalog.CreateFunctionInput{Ident: id, Definitions: functionDefs(t, defs...)})
	if err != nil {
		t.Fatalf("CreateFunction(%s): %v", id, err)
	}
	return res, parseFunction(t, res.Metadata)
}

func parseFunction(t *testing.T, doc []byte) udf.Metadata {
	t.Helper()
	m, err := udf.ParseMetadataBytes(doc)
	if err != nil {
		t.Fatalf("ParseMetadataBytes: %v\n%s", err, doc)
	}
	return m
}

func rawList(items ...string) []json.RawMessage {
	out := make([]json.RawMessage, len(items))
	for i, s := range items {
		out[i] = json.RawMessage(s)
	}
	return out
}

func (e *env) replaceFunction(id store.Ident, reqs, upds []string) (catalog.FunctionResult, error) {
	c, err := catalog.ParseFunctionChange(id, rawList(reqs...), rawList(upds...))
	if err != nil {
		return catalog.FunctionResult{}, err
	}
	return e.svc.CommitFunction(context.Background(), c)
}

func uuidReq(m udf.Metadata) string {
	return fmt.Sprintf(`{"type":"assert-function-uuid","uuid":%q}`, m.FunctionUUID())
}

// TestFunctionLifecycle: create, load, list, replace (new version, new
// overload, rollback, removal, properties), rename, drop and register, on
// both stores; every metadata document is udf-valid and is the file in the
// warehouse.
func TestFunctionLifecycle(t *testing.T) {
	t.Parallel()
	forEachViewBackend(t, func(t *testing.T, b string) {
		e := viewSetup(t, b, catalog.Options{Defaults: map[string]string{"function-default.owner": "etl"}}, nil)
		ctx := context.Background()
		id := ident("ns", "add_one")
		res, m := e.mustCreateFunction(t, id, addOneInt, addOneFloat)
		if len(m.Definitions()) != 2 || len(m.DefinitionLog()) != 1 || m.Properties()["owner"] != "etl" {
			t.Fatalf("created metadata: %s", res.Metadata)
		}
		def, ok := m.DefinitionByID("int")
		if !ok || def.CurrentVersionID != 1 || !def.CurrentVersion().Deterministic {
			t.Fatalf("definition int: %+v", def)
		}
		if !strings.HasPrefix(res.MetadataLocation, e.whLoc+"/ns/add_one-") || !strings.Contains(res.MetadataLocation, "/metadata/00000-") {
			t.Fatalf("metadata location %s", res.MetadataLocation)
		}
		onDisk, err := os.ReadFile(localPath(res.MetadataLocation))
		if err != nil || !bytes.Equal(onDisk, res.Metadata) {
			t.Fatalf("metadata file: %v", err)
		}
		loaded, err := e.svc.LoadFunction(ctx, id)
		if err != nil || loaded.MetadataLocation != res.MetadataLocation || !bytes.Equal(loaded.Metadata, res.Metadata) {
			t.Fatalf("LoadFunction: %+v, %v", loaded, err)
		}
		e.mustCreateFunction(t, ident("ns", "b_fn"))
		ids, next, err := e.svc.ListFunctions(ctx, warehouse, []string{"ns"}, catalog.Page{Size: 1})
		if err != nil || len(ids) != 1 || ids[0].Name != "add_one" || next == "" {
			t.Fatalf("ListFunctions page 1: %v %q %v", ids, next, err)
		}
		ids, next, err = e.svc.ListFunctions(ctx, warehouse, []string{"ns"}, catalog.Page{Size: 1, Token: next})
		if err != nil || len(ids) != 1 || ids[0].Name != "b_fn" || next != "" {
			t.Fatalf("ListFunctions page 2: %v %q %v", ids, next, err)
		}

		// A new version of one overload, with the requirements met.
		res, err = e.replaceFunction(id,
			[]string{uuidReq(m), `{"type":"assert-current-version","definition-id":"int","version-id":1}`},
			[]string{`{"action":"add-definition-version","definition-id":"int","version":` + versionTwo + `}`})
		if err != nil {
			t.Fatalf("add-definition-version: %v", err)
		}
		m2 := parseFunction(t, res.Metadata)
		def, _ = m2.DefinitionByID("int")
		if def.CurrentVersionID != 2 || len(def.Versions) != 2 || def.CurrentVersion().NullInputBehavior() != udf.OnNullInputReturnNull || len(m2.DefinitionLog()) != 2 {
			t.Fatalf("after add-definition-version: %s", res.Metadata)
		}
		if !strings.Contains(res.MetadataLocation, "/metadata/00001-") {
			t.Fatalf("second metadata file %s", res.MetadataLocation)
		}
		// A new overload, a rollback, a removal and properties in one replace.
		res, err = e.replaceFunction(id, []string{uuidReq(m)}, []string{
			`{"action":"add-definition","definition":{"parameters":[],"return-type":{"type":"struct","fields":[{"name":"a","type":"int"}]},"function-type":"udtf","version":{"representations":[{"type":"sql","dialect":"spark","sql":"select 1 as a"}]}}}`,
			`{"action":"set-current-version","definition-id":"int","version-id":1}`,
			`{"action":"remove-definition","definition-id":"float"}`,
			`{"action":"set-properties","updates":{"k":"v"}}`,
			`{"action":"remove-properties","removals":["owner"]}`,
			`{"action":"set-secure","secure":true}`,
			`{"action":"set-doc","doc":"adds one"}`,
		})
		if err != nil {
			t.Fatalf("replace: %v", err)
		}
		m3 := parseFunction(t, res.Metadata)
		def, _ = m3.DefinitionByID("int")
		if _, ok := m3.DefinitionByID(""); !ok || def.CurrentVersionID != 1 || len(m3.Definitions()) != 2 ||
			m3.Properties()["k"] != "v" || m3.Properties()["owner"] != "" || !m3.Secure() || m3.Doc() != "adds one" || m3.FunctionUUID() != m.FunctionUUID() {
			t.Fatalf("after replace: %s", res.Metadata)
		}
		// Updates that change nothing write nothing.
		same, err := e.replaceFunction(id, nil, []string{`{"action":"set-doc","doc":"adds one"}`})
		if err != nil || same.MetadataLocation != res.MetadataLocation {
			t.Fatalf("no-op replace: %+v, %v", same, err)
		}

		// Rename into another namespace, drop, and register the last file.
		e.mustNamespace(t, "other")
		moved := ident("other", "plus_one")
		if err := e.svc.RenameFunction(ctx, id, moved); err != nil {
			t.Fatal(err)
		}
		wantKind(t, e.svc.FunctionExists(ctx, id), errs.NoSuchFunction)
		if err := e.svc.FunctionExists(ctx, moved); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.DropFunction(ctx, moved, false); err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.LoadFunction(ctx, moved)
		wantMessage(t, err, errs.NoSuchFunction, "Function does not exist: other.plus_one")
		reg, err := e.svc.RegisterFunction(ctx, ident("ns", "again"), res.MetadataLocation)
		if err != nil || !bytes.Equal(reg.Metadata, res.Metadata) {
			t.Fatalf("RegisterFunction: %v", err)
		}
		// Its location is the registered one's now: a second register of
		// the same files is refused.
		_, err = e.svc.RegisterFunction(ctx, ident("ns", "twice"), res.MetadataLocation)
		wantKind(t, err, errs.AlreadyExists)
	})
}

// TestFunctionRequestErrors: a malformed request is 400 naming the field,
// and creates nothing.
func TestFunctionRequestErrors(t *testing.T) {
	t.Parallel()
	ver := `"version":{"representations":[{"type":"sql","dialect":"spark","sql":"1"}]}`
	cases := []struct {
		name, def, field string
	}{
		{"NotAnObject", `[1]`, "definitions[0]: must be a JSON object"},
		{"NoParameters", `{"return-type":"int","function-type":"udf",` + ver + `}`, "definitions[0].parameters: required"},
		{"ParametersNotAList", `{"parameters":{},"return-type":"int","function-type":"udf",` + ver + `}`, "definitions[0].parameters: must be a list"},
		{"ParameterWithoutName", `{"parameters":[{"type":"int"}],"return-type":"int","function-type":"udf",` + ver + `}`, "definitions[0].parameters[0].name: required"},
		{"ParameterWithoutType", `{"parameters":[{"name":"x"}],"return-type":"int","function-type":"udf",` + ver + `}`, "definitions[0].parameters[0].type: required"},
		{"BadParameterType", `{"parameters":[{"name":"x","type":"integer"}],"return-type":"int","function-type":"udf",` + ver + `}`, "definitions[0].parameters[0].type:"},
		{"BadNestedType", `{"parameters":[{"name":"x","type":{"type":"list"}}],"return-type":"int","function-type":"udf",` + ver + `}`, "definitions[0].parameters[0].type: list type requires an element type"},
		{"DuplicateParameter", `{"parameters":[{"name":"x","type":"int"},{"name":"x","type":"long"}],"return-type":"int","function-type":"udf",` + ver + `}`, "definitions[0]: definition \"int,long\" has duplicate parameter name"},
		{"NoReturnType", `{"parameters":[],"function-type":"udf",` + ver + `}`, "definitions[0].return-type: required"},
		{"BadReturnType", `{"parameters":[],"return-type":"decimal(9, 2)","function-type":"udf",` + ver + `}`, "definitions[0].return-type: type string"},
		{"BadFunctionType", `{"parameters":[],"return-type":"int","function-type":"udaf",` + ver + `}`, "definitions[0].function-type: \"udaf\" must be"},
		{"UDTFNotStruct", `{"parameters":[],"return-type":"int","function-type":"udtf",` + ver + `}`, "definitions[0]: definition \"\" is a udtf but its return-type is not a struct"},
		{"NoVersion", `{"parameters":[],"return-type":"int","function-type":"udf"}`, "definitions[0].version: required"},
		{"NoRepresentations", `{"parameters":[],"return-type":"int","function-type":"udf","version":{"representations":[]}}`, "definitions[0].version.representations: must hold"},
		{"NotSQL", `{"parameters":[],"return-type":"int","function-type":"udf","version":{"representations":[{"type":"python","code":"1"}]}}`, "definitions[0].version.representations[0].type: \"python\""},
		{"NoDialect", `{"parameters":[],"return-type":"int","function-type":"udf","version":{"representations":[{"type":"sql","sql":"1"}]}}`, "definitions[0].version.representations[0].dialect: required"},
		{"NoSQL", `{"parameters":[],"return-type":"int","function-type":"udf","version":{"representations":[{"type":"sql","dialect":"spark"}]}}`, "definitions[0].version.representations[0].sql: required"},
		{"DuplicateDialect", `{"parameters":[],"return-type":"int","function-type":"udf","version":{"representations":[{"type":"sql","dialect":"spark","sql":"1"},{"type":"sql","dialect":"Spark","sql":"2"}]}}`, "definitions[0].version.representations[1].dialect:"},
		{"BadOnNullInput", `{"parameters":[],"return-type":"int","function-type":"udf","version":{"representations":[{"type":"sql","dialect":"spark","sql":"1"}],"on-null-input":"skip"}}`, "definitions[0].version.on-null-input:"},
		{"WrongFieldType", `{"parameters":[],"return-type":"int","function-type":"udf","return-nullable":"yes",` + ver + `}`, "definitions[0]: return-nullable must be a boolean"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := catalog.ParseFunctionDefinitions(rawList(tc.def))
			wantMessage(t, err, errs.BadRequest, "Invalid function "+tc.field)
		})
	}

	e := setup(t, catalog.Options{})
	ctx := context.Background()
	in := catalog.CreateFunctionInput{Ident: ident("ns", "f"), Definitions: functionDefs(t, addOneInt, addOneInt)}
	_, err := e.svc.CreateFunction(ctx, in)
	wantMessage(t, err, errs.BadRequest, "Invalid function definitions[1]: a definition for signature \"int\" already exists")
	_, err = e.svc.CreateFunction(ctx, catalog.CreateFunctionInput{Ident: ident("ns", "f")})
	wantKind(t, err, errs.BadRequest)
	_, err = e.svc.CreateFunction(ctx, catalog.CreateFunctionInput{Ident: ident("ns", "f"), Definitions: functionDefs(t, addOneInt), Properties: map[string]string{"": "x"}})
	wantKind(t, err, errs.BadRequest)
	_, err = e.svc.CreateFunction(ctx, catalog.CreateFunctionInput{Ident: ident("ns", "f\x00"), Definitions: functionDefs(t, addOneInt)})
	wantKind(t, err, errs.BadRequest)
	_, err = e.svc.CreateFunction(ctx, catalog.CreateFunctionInput{Ident: ident("ns", "f"), Definitions: functionDefs(t, addOneInt), Location: "file:///elsewhere/f"})
	wantKind(t, err, errs.BadRequest)
	_, err = e.svc.CreateFunction(ctx, catalog.CreateFunctionInput{Ident: ident("nope", "f"), Definitions: functionDefs(t, addOneInt)})
	wantKind(t, err, errs.NoSuchNamespace)
	if ids, _, _ := e.svc.ListFunctions(ctx, warehouse, []string{"ns"}, catalog.Page{}); len(ids) != 0 {
		t.Fatalf("refused creates left %v", ids)
	}
	if files := metadataFiles(t, e.dir); len(files) != 0 {
		t.Fatalf("refused creates left files %v", files)
	}

	updates := []struct{ name, upd, field string }{
		{"UnknownAction", `{"action":"set-sql"}`, "updates[0].action: unknown action \"set-sql\""},
		{"NoDefinitionID", `{"action":"remove-definition"}`, "updates[0].definition-id: required"},
		{"NoVersion", `{"action":"add-definition-version","definition-id":"int"}`, "updates[0].version: required"},
		{"BadVersion", `{"action":"add-definition-version","definition-id":"int","version":{"representations":[{"type":"sql","sql":"1"}]}}`, "updates[0].version.representations[0].dialect: required"},
		{"NoVersionID", `{"action":"set-current-version","definition-id":"int"}`, "updates[0].version-id: required"},
		{"NoDefinition", `{"action":"add-definition"}`, "updates[0].definition: required"},
		{"BadDefinition", `{"action":"add-definition","definition":{"parameters":[]}}`, "updates[0].definition.return-type: required"},
		{"NoLocation", `{"action":"set-location"}`, "updates[0].location: required"},
		{"NoSecure", `{"action":"set-secure"}`, "updates[0].secure: required"},
		{"NoDoc", `{"action":"set-doc"}`, "updates[0].doc: required"},
		{"BadProperty", `{"action":"set-properties","updates":{"":"x"}}`, "updates[0].updates:"},
	}
	for _, tc := range updates {
		t.Run("Update"+tc.name, func(t *testing.T) {
			_, err := catalog.ParseFunctionChange(ident("ns", "f"), nil, rawList(tc.upd))
			wantMessage(t, err, errs.BadRequest, "Invalid function "+tc.field)
		})
	}
	_, err = catalog.ParseFunctionChange(ident("ns", "f"), rawList(`{"type":"assert-ref-snapshot-id"}`), nil)
	wantMessage(t, err, errs.BadRequest, "Invalid function requirements[0].type: unknown requirement")
	_, err = catalog.ParseFunctionChange(ident("ns", "f"), rawList(`{"type":"assert-function-uuid"}`), nil)
	wantMessage(t, err, errs.BadRequest, "Invalid function requirements[0].uuid: required")
}

// TestReplaceFunctionErrors: requirements that fail are 409 and updates the
// builder refuses are 400 naming the update; neither changes anything.
func TestReplaceFunctionErrors(t *testing.T) {
	t.Parallel()
	forEachViewBackend(t, func(t *testing.T, b string) {
		e := viewSetup(t, b, catalog.Options{}, nil)
		ctx := context.Background()
		id := ident("ns", "f")
		res, m := e.mustCreateFunction(t, id)
		cases := []struct {
			name       string
			reqs, upds []string
			kind       errs.Kind
			msg        string
		}{
			{"WrongUUID", []string{`{"type":"assert-function-uuid","uuid":"00000000-0000-0000-0000-000000000001"}`}, []string{`{"action":"set-doc","doc":"x"}`},
				errs.CommitFailed, "Requirement failed: function UUID does not match"},
			{"WrongCurrentVersion", []string{uuidReq(m), `{"type":"assert-current-version","definition-id":"int","version-id":7}`}, []string{`{"action":"set-doc","doc":"x"}`},
				errs.CommitFailed, "Requirement failed: current version of definition \"int\" changed: expected 7 != 1"},
			{"MissingDefinitionRequirement", []string{`{"type":"assert-current-version","definition-id":"long","version-id":1}`}, nil,
				errs.CommitFailed, "Requirement failed: definition \"long\" does not exist"},
			{"UnknownDefinition", nil, []string{`{"action":"add-definition-version","definition-id":"long","version":` + versionTwo + `}`},
				errs.BadRequest, "Invalid function updates[0] (add-definition-version): no definition with definition-id \"long\""},
			{"UnknownVersion", nil, []string{`{"action":"set-doc","doc":"x"}`, `{"action":"set-current-version","definition-id":"int","version-id":9}`},
				errs.BadRequest, "Invalid function updates[1] (set-current-version): definition \"int\" has no version-id 9"},
			{"RemoveLastDefinition", nil, []string{`{"action":"remove-definition","definition-id":"int"}`},
				errs.BadRequest, "Invalid function updates: at least one definition is required"},
			{"DuplicateOverload", nil, []string{`{"action":"add-definition","definition":` + addOneInt + `}`},
				errs.BadRequest, "Invalid function updates[0] (add-definition): a definition for signature \"int\" already exists"},
			{"LocationOutsideNamespace", nil, []string{`{"action":"set-location","location":"file:///elsewhere/f"}`},
				errs.BadRequest, "Location file:///elsewhere/f must lie inside"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				_, err := e.replaceFunction(id, tc.reqs, tc.upds)
				wantMessage(t, err, tc.kind, tc.msg)
			})
		}
		if got, _ := e.svc.LoadFunction(ctx, id); got.MetadataLocation != res.MetadataLocation {
			t.Fatalf("a refused replace moved the function to %s", got.MetadataLocation)
		}
		_, err := e.replaceFunction(ident("ns", "nope"), nil, []string{`{"action":"set-doc","doc":"x"}`})
		wantMessage(t, err, errs.NoSuchFunction, "Function does not exist: ns.nope")
		_, err = e.svc.LoadFunction(ctx, ident("nope", "f"))
		wantMessage(t, err, errs.NoSuchNamespace, "Namespace does not exist: nope")
		_, _, err = e.svc.ListFunctions(ctx, warehouse, []string{"nope"}, catalog.Page{})
		wantKind(t, err, errs.NoSuchNamespace)
		wantKind(t, e.svc.DropFunction(ctx, ident("ns", "nope"), false), errs.NoSuchFunction)
	})
}

// TestFunctionNameSpace: a function cannot take the name of a table or
// view, nor they its name; renames onto taken names name the holder.
func TestFunctionNameSpace(t *testing.T) {
	t.Parallel()
	forEachViewBackend(t, func(t *testing.T, b string) {
		e := viewSetup(t, b, catalog.Options{}, nil)
		ctx := context.Background()
		e.mustCreate(t, ident("ns", "t"), nil)
		e.mustCreateView(t, ident("ns", "v"), nil)
		e.mustCreateFunction(t, ident("ns", "f"))
		for _, name := range []string{"t", "v", "f"} {
			_, err := e.svc.CreateFunction(ctx, catalog.CreateFunctionInput{Ident: ident("ns", name), Definitions: functionDefs(t, addOneInt)})
			wantKind(t, err, errs.AlreadyExists)
		}
		_, err := e.createView(ident("ns", "f"), "", nil)
		wantMessage(t, err, errs.AlreadyExists, "Function with same name already exists: ns.f")
		err = e.svc.RenameFunction(ctx, ident("ns", "f"), ident("ns", "t"))
		wantMessage(t, err, errs.AlreadyExists, "Cannot rename ns.f to ns.t. Table already exists")
		err = e.svc.RenameView(ctx, ident("ns", "v"), ident("ns", "f"))
		wantMessage(t, err, errs.AlreadyExists, "Cannot rename ns.v to ns.f. Function already exists")
		_, err = e.svc.LoadFunction(ctx, ident("ns", "t"))
		wantKind(t, err, errs.NoSuchFunction)
		if files := metadataFiles(t, e.dir); len(files) != 3 {
			t.Fatalf("refused creates left files: %v", files)
		}
		// Nor directories: the namespace holds the three objects' alone.
		if dirs, err := os.ReadDir(filepath.Join(e.dir, "ns")); err != nil || len(dirs) != 3 {
			t.Fatalf("directories of ns after refused creates: %v, %v", dirs, err)
		}
	})
}

// TestReplaceFunctionConcurrent: replaces racing on two nodes all land
// through the commit engine's retries, none lost.
func TestReplaceFunctionConcurrent(t *testing.T) {
	t.Parallel()
	forEachViewBackend(t, func(t *testing.T, b string) {
		e := viewSetup(t, b, catalog.Options{MaxRetries: 50}, nil)
		id := ident("ns", "f")
		e.mustCreateFunction(t, id)
		nodes := []*env{e, e.otherNode()}
		const n = 8
		var wg sync.WaitGroup
		errc := make(chan error, n)
		for i := range n {
			wg.Go(func() {
				_, err := nodes[i%2].replaceFunction(id, nil, []string{
					fmt.Sprintf(`{"action":"set-properties","updates":{"k%d":"v"}}`, i),
					`{"action":"add-definition-version","definition-id":"int","version":` + versionTwo + `}`,
				})
				errc <- err
			})
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			if err != nil {
				t.Fatal(err)
			}
		}
		res, err := e.svc.LoadFunction(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		m := parseFunction(t, res.Metadata)
		def, _ := m.DefinitionByID("int")
		if len(def.Versions) != n+1 || len(m.Properties()) != n {
			t.Fatalf("after %d replaces: %d versions, properties %v", n, len(def.Versions), m.Properties())
		}
	})
}

// TestDropFunctionPurge: a function dropped with purge loses its current
// metadata file to the purger and its location is free again; dropped
// without, its files stay.
func TestDropFunctionPurge(t *testing.T) {
	t.Parallel()
	e := setup(t, catalog.Options{})
	ctx := context.Background()
	kept, _ := e.mustCreateFunction(t, ident("ns", "kept"))
	purged, m := e.mustCreateFunction(t, ident("ns", "purged"))
	if err := e.svc.DropFunction(ctx, ident("ns", "kept"), false); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.DropFunction(ctx, ident("ns", "purged"), true); err != nil {
		t.Fatal(err)
	}
	if n, err := e.svc.PurgeOnce(ctx); err != nil || n != 1 {
		t.Fatalf("PurgeOnce: %d, %v", n, err)
	}
	if fileExists(localPath(purged.MetadataLocation)) || !fileExists(localPath(kept.MetadataLocation)) {
		t.Fatalf("after the purge: purged file exists %v, kept file exists %v",
			fileExists(localPath(purged.MetadataLocation)), fileExists(localPath(kept.MetadataLocation)))
	}
	// The location is free: a function may be created there.
	_, err := e.svc.CreateFunction(ctx, catalog.CreateFunctionInput{Ident: ident("ns", "again"), Location: m.Location(), Definitions: functionDefs(t, addOneInt)})
	if err != nil {
		t.Fatalf("create at the purged function's location: %v", err)
	}
}

// TestFunctionMetadataGolden: the JSON shape of a created and then replaced
// function's metadata (the FunctionMetadata schema of the spec), with the
// server's clock for every timestamp. The function-uuid and the warehouse
// directory are the only parts replaced before comparing.
func TestFunctionMetadataGolden(t *testing.T) {
	t.Parallel()
	clock := time.UnixMilli(1700000000000).UTC()
	e := setup(t, catalog.Options{Now: func() time.Time { return clock }})
	ctx := context.Background()
	id := ident("ns", "shapes")
	res, err := e.svc.CreateFunction(ctx, catalog.CreateFunctionInput{
		Ident: id, Properties: map[string]string{"owner": "etl"}, Doc: "shapes of types", Secure: true,
		Definitions: functionDefs(t,
			`{"parameters":[{"name":"xs","type":{"type":"list","element":"int"},"doc":"numbers"},{"name":"m","type":{"type":"map","key":"string","value":"decimal(9,2)"}}],
			  "return-type":"long","return-nullable":false,"function-type":"udf","specific-name":"total","doc":"sums",
			  "version":{"representations":[{"type":"sql","dialect":"spark","sql":"aggregate(xs, 0L, (a, x) -> a + x)"}],"deterministic":true,"on-null-input":"return-null"}}`,
			`{"parameters":[],"return-type":{"type":"struct","fields":[{"name":"id","type":"int"},{"name":"tags","type":{"type":"list","element":"string"}}]},
			  "function-type":"udtf","version":{"representations":[{"type":"sql","dialect":"trino","sql":"SELECT 1 AS id, ARRAY['a'] AS tags"}]}}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	m := parseFunction(t, res.Metadata)
	clock = clock.Add(time.Minute)
	res, err = e.replaceFunction(id, []string{uuidReq(m)}, []string{
		`{"action":"add-definition-version","definition-id":"list<int>,map<string,decimal(9,2)>","version":{"representations":[{"type":"sql","dialect":"spark","sql":"0L"}]}}`,
		`{"action":"set-current-version","definition-id":"list<int>,map<string,decimal(9,2)>","version-id":1}`,
	})
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if err := json.Indent(&got, res.Metadata, "", "  "); err != nil {
		t.Fatal(err)
	}
	got.WriteByte('\n')
	normal := strings.NewReplacer(m.FunctionUUID().String(), "<function-uuid>", m.Location(), "<location>").Replace(got.String())
	path := filepath.Join("testdata", "function.golden.json")
	if os.Getenv("BINGSAN_TEST_UPDATE_GOLDEN") == "1" {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(normal), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if normal != string(want) {
		t.Fatalf("function metadata differs from %s:\n%s", path, normal)
	}
}
