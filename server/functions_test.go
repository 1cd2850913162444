package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	icecatalog "github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/rest"
	"github.com/apache/iceberg-go/table"
	"github.com/apache/iceberg-go/udf"
	"github.com/google/uuid"

	"github.com/bingsan/bingsan/gen/bingsanapi"
	"github.com/bingsan/bingsan/gen/iceberg"
	"github.com/bingsan/bingsan/internal/failpoint"
	"github.com/bingsan/bingsan/internal/nodetest"
	"github.com/bingsan/bingsan/server/servertest"
)

// fnDefinition is a definition of a create request: one int parameter,
// returning int, with one SQL representation per dialect/sql pair.
func fnDefinition(param string, dialectSQL ...string) string {
	var reps []string
	for i := 0; i+1 < len(dialectSQL); i += 2 {
		reps = append(reps, fmt.Sprintf(`{"type":"sql","dialect":%q,"sql":%q}`, dialectSQL[i], dialectSQL[i+1]))
	}
	return fmt.Sprintf(`{"parameters":[{"name":"x","type":%q}],"return-type":%q,"function-type":"udf","version":{"representations":[%s],"deterministic":true}}`,
		param, param, strings.Join(reps, ","))
}

func createFunctionBody(name string, defs ...string) string {
	if len(defs) == 0 {
		defs = []string{fnDefinition("int", "spark", "x + 1")}
	}
	return fmt.Sprintf(`{"name":%q,"properties":{"owner":"etl"},"doc":"adds one","definitions":[%s]}`, name, strings.Join(defs, ","))
}

func loadFunctionOf(t *testing.T, body []byte) (iceberg.LoadFunctionResult, udf.Metadata) {
	t.Helper()
	var res iceberg.LoadFunctionResult
	if err := json.Unmarshal(body, &res); err != nil || res.MetadataLocation == nil {
		t.Fatalf("not a LoadFunctionResult: %v: %s", err, body)
	}
	m, err := udf.ParseMetadataBytes(res.Metadata)
	if err != nil {
		t.Fatalf("function metadata: %v: %s", err, res.Metadata)
	}
	return res, m
}

// TestFunctionsHTTP: every function endpoint and its error paths, on both
// stores.
func TestFunctionsHTTP(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		srv := servertest.Start(t, b, servertest.Config{})
		base := srv.URL + "/v1"
		fns := base + "/namespaces/ns/functions"
		viewReq(t, "POST", base+"/namespaces", `{"namespace":["ns"]}`, 200)
		viewReq(t, "POST", base+"/namespaces", `{"namespace":["other"]}`, 200)

		created, m := loadFunctionOf(t, viewReq(t, "POST", fns, createFunctionBody("add_one",
			fnDefinition("int", "spark", "x + 1", "trino", "x + 1"), fnDefinition("long", "spark", "x + 1")), 200))
		if len(m.Definitions()) != 2 || m.Properties()["owner"] != "etl" || m.Doc() != "adds one" {
			t.Fatalf("created: %s", created.Metadata)
		}
		loaded, _ := loadFunctionOf(t, viewReq(t, "GET", fns+"/add_one", "", 200))
		if *loaded.MetadataLocation != *created.MetadataLocation || string(loaded.Metadata) != string(created.Metadata) {
			t.Fatalf("load: %s", loaded.Metadata)
		}
		viewReq(t, "HEAD", fns+"/add_one", "", 204)
		viewReq(t, "POST", fns, createFunctionBody("b_fn"), 200)
		viewReq(t, "POST", base+"/namespaces/ns/tables", epCreateTableBody("t"), 200)
		viewReq(t, "POST", base+"/namespaces/ns/views", createViewBody("v", "spark", "select 1"), 200)

		// Listing is paginated like tables and answers
		// CatalogObjectIdentifiers; tables and views are not functions.
		var page iceberg.ListFunctionsResponse
		if err := json.Unmarshal(viewReq(t, "GET", fns+"?pageSize=1", "", 200), &page); err != nil {
			t.Fatal(err)
		}
		if page.Identifiers == nil || len(*page.Identifiers) != 1 || !slices.Equal((*page.Identifiers)[0], []string{"ns", "add_one"}) || page.NextPageToken == nil {
			t.Fatalf("first page: %+v", page)
		}
		token := *page.NextPageToken
		page = iceberg.ListFunctionsResponse{}
		if err := json.Unmarshal(viewReq(t, "GET", fns+"?pageSize=1&pageToken="+token, "", 200), &page); err != nil {
			t.Fatal(err)
		}
		if len(*page.Identifiers) != 1 || !slices.Equal((*page.Identifiers)[0], []string{"ns", "b_fn"}) || page.NextPageToken != nil {
			t.Fatalf("second page: %+v", page)
		}

		// Replace: a new version of one overload under a uuid requirement.
		uuidReq := fmt.Sprintf(`{"type":"assert-function-uuid","uuid":%q}`, m.FunctionUUID())
		replaced, m2 := loadFunctionOf(t, viewReq(t, "POST", fns+"/add_one", fmt.Sprintf(`{"requirements":[%s],"updates":[
			{"action":"add-definition-version","definition-id":"int","version":{"representations":[{"type":"sql","dialect":"spark","sql":"x + 2"}]}}]}`, uuidReq), 200))
		if def, _ := m2.DefinitionByID("int"); def.CurrentVersionID != 2 || *replaced.MetadataLocation == *created.MetadataLocation {
			t.Fatalf("replaced: %s", replaced.Metadata)
		}

		errCases := []struct {
			name, method, url, body string
			status                  int
			typ, prefix             string
		}{
			{"NameOfTable", "POST", fns, createFunctionBody("t"), 409, "AlreadyExistsException", "Table with same name already exists: ns.t"},
			{"NameOfView", "POST", fns, createFunctionBody("v"), 409, "AlreadyExistsException", "View with same name already exists: ns.v"},
			{"NameTaken", "POST", fns, createFunctionBody("add_one"), 409, "AlreadyExistsException", "Function already exists: ns.add_one"},
			{"TableNamedLikeFunction", "POST", base + "/namespaces/ns/tables", epCreateTableBody("add_one"), 409, "AlreadyExistsException", "Function with same name already exists"},
			{"ViewNamedLikeFunction", "POST", base + "/namespaces/ns/views", createViewBody("add_one", "spark", "select 1"), 409, "AlreadyExistsException", "Function with same name already exists"},
			{"BadReturnType", "POST", fns, `{"name":"f","definitions":[{"parameters":[],"return-type":"integer","function-type":"udf","version":{"representations":[{"type":"sql","dialect":"spark","sql":"1"}]}}]}`,
				400, "BadRequestException", "Invalid function definitions[0].return-type:"},
			{"BadParameterType", "POST", fns, createFunctionBody("f", fnDefinition("int", "spark", "1"), `{"parameters":[{"name":"x","type":{"type":"map","key":"int"}}],"return-type":"int","function-type":"udf","version":{"representations":[{"type":"sql","dialect":"spark","sql":"1"}]}}`),
				400, "BadRequestException", "Invalid function definitions[1].parameters[0].type: map type requires key and value types"},
			{"UDTFWithoutStruct", "POST", fns, `{"name":"f","definitions":[{"parameters":[],"return-type":"int","function-type":"udtf","version":{"representations":[{"type":"sql","dialect":"spark","sql":"1"}]}}]}`,
				400, "BadRequestException", "Invalid function definitions[0]: definition \"\" is a udtf but its return-type is not a struct"},
			{"NoDialect", "POST", fns, `{"name":"f","definitions":[{"parameters":[],"return-type":"int","function-type":"udf","version":{"representations":[{"type":"sql","sql":"1"}]}}]}`,
				400, "BadRequestException", "Invalid function definitions[0].version.representations[0].dialect: required"},
			{"NoDefinitions", "POST", fns, `{"name":"f","definitions":[]}`, 400, "BadRequestException", "Invalid function: definitions must hold"},
			{"MalformedBody", "POST", fns, `{"name":`, 400, "BadRequestException", "Malformed request body"},
			{"DefinitionsNotAList", "POST", fns, `{"name":"f","definitions":{}}`, 400, "BadRequestException", "Malformed request body"},
			{"NulInName", "POST", fns, strings.Replace(createFunctionBody("aXb"), "aXb", `a\u0000b`, 1), 400, "BadRequestException", "Function name"},
			{"HugeName", "POST", fns, createFunctionBody(strings.Repeat("f", 5000)), 400, "BadRequestException", "Function name is 5000 bytes long"},
			{"ForeignLocation", "POST", fns, `{"name":"f","location":"s3://someone-else/f","definitions":[` + fnDefinition("int", "spark", "1") + `]}`, 400, "BadRequestException", ""},
			{"CreateInMissingNamespace", "POST", base + "/namespaces/nope/functions", createFunctionBody("f"), 404, "NoSuchNamespaceException", "Namespace does not exist: nope"},
			{"ListMissingNamespace", "GET", base + "/namespaces/nope/functions", "", 404, "NoSuchNamespaceException", "Namespace does not exist: nope"},
			{"LoadMissing", "GET", fns + "/nope", "", 404, "NoSuchFunctionException", "Function does not exist: ns.nope"},
			{"LoadTableAsFunction", "GET", fns + "/t", "", 404, "NoSuchFunctionException", "Function does not exist: ns.t"},
			{"LoadInMissingNamespace", "GET", base + "/namespaces/nope/functions/f", "", 404, "NoSuchNamespaceException", "Namespace does not exist: nope"},
			{"ExistsMissing", "HEAD", fns + "/nope", "", 404, "", ""},
			{"BadPageToken", "GET", fns + "?pageToken=%%%", "", 400, "BadRequestException", ""},
			{"UUIDRequirementFailed", "POST", fns + "/add_one", `{"requirements":[{"type":"assert-function-uuid","uuid":"00000000-0000-0000-0000-000000000001"}],"updates":[{"action":"set-doc","doc":"x"}]}`,
				409, "CommitFailedException", "Requirement failed: function UUID does not match"},
			{"VersionRequirementFailed", "POST", fns + "/add_one", `{"requirements":[{"type":"assert-current-version","definition-id":"int","version-id":1}],"updates":[{"action":"set-doc","doc":"x"}]}`,
				409, "CommitFailedException", "Requirement failed: current version of definition \"int\" changed: expected 1 != 2"},
			{"UnknownAction", "POST", fns + "/add_one", `{"updates":[{"action":"set-sql"}]}`, 400, "BadRequestException", "Invalid function updates[0].action: unknown action \"set-sql\""},
			{"UnknownVersion", "POST", fns + "/add_one", `{"updates":[{"action":"set-current-version","definition-id":"int","version-id":9}]}`, 400, "BadRequestException", "Invalid function updates[0] (set-current-version)"},
			{"ReplaceMissing", "POST", fns + "/nope", `{"updates":[{"action":"set-doc","doc":"x"}]}`, 404, "NoSuchFunctionException", "Function does not exist: ns.nope"},
			{"DropMissing", "DELETE", fns + "/nope", "", 404, "NoSuchFunctionException", "Function does not exist: ns.nope"},
			{"DropTableAsFunction", "DELETE", fns + "/t", "", 404, "NoSuchFunctionException", ""},
			{"BadPurgeFlag", "DELETE", fns + "/add_one?purgeRequested=maybe", "", 400, "BadRequestException", "Invalid value for parameter purgeRequested"},
			{"RenameMissing", "POST", base + "/functions/rename", `{"source":{"namespace":["ns"],"name":"nope"},"destination":{"namespace":["ns"],"name":"x"}}`, 404, "NoSuchFunctionException", ""},
			{"RenameOntoTable", "POST", base + "/functions/rename", `{"source":{"namespace":["ns"],"name":"b_fn"},"destination":{"namespace":["ns"],"name":"t"}}`, 409, "AlreadyExistsException", "Cannot rename ns.b_fn to ns.t. Table already exists"},
			{"RenameIntoMissingNamespace", "POST", base + "/functions/rename", `{"source":{"namespace":["ns"],"name":"b_fn"},"destination":{"namespace":["nope"],"name":"x"}}`, 404, "NoSuchNamespaceException", ""},
			{"RegisterNoFile", "POST", base + "/namespaces/ns/register-function", `{"name":"r","metadata-location":"` + strings.TrimSuffix(*created.MetadataLocation, ".metadata.json") + `-gone.metadata.json"}`, 400, "BadRequestException", "Metadata file does not exist"},
			{"RegisterTakenFiles", "POST", base + "/namespaces/ns/register-function", `{"name":"r","metadata-location":"` + *created.MetadataLocation + `"}`, 409, "AlreadyExistsException", ""},
			{"UnknownWarehouse", "GET", srv.URL + "/v1/nope/namespaces/ns/functions", "", 404, "NoSuchWarehouseException", ""},
		}
		for _, tc := range errCases {
			t.Run(tc.name, func(t *testing.T) {
				viewErr(t, tc.method, tc.url, tc.body, tc.status, tc.typ, tc.prefix)
			})
		}
		// Nothing the refused requests asked for happened.
		if _, m := loadFunctionOf(t, viewReq(t, "GET", fns+"/add_one", "", 200)); m.Doc() != "adds one" {
			t.Fatalf("a refused replace changed the function: %s", m.Doc())
		}
		viewErr(t, "GET", fns+"/f", "", 404, "NoSuchFunctionException", "")

		// A replace with an Idempotency-Key lands once.
		key := "5f0b8e52-1b62-4c59-9d41-0d6a0e1f3a11"
		body := `{"updates":[{"action":"add-definition-version","definition-id":"long","version":{"representations":[{"type":"sql","dialect":"spark","sql":"x + 3"}]}}]}`
		var answers []string
		for range 2 {
			status, _, resp := call(t, "POST", fns+"/add_one", "application/json", []byte(body), "Idempotency-Key", key)
			if status != 200 {
				t.Fatalf("idempotent replace: %d %s", status, resp)
			}
			answers = append(answers, string(resp))
		}
		// The same key with another request is 422; a body that is not
		// JSON is 415. Neither changes anything.
		status, _, resp := call(t, "POST", fns+"/add_one", "application/json", []byte(`{"updates":[]}`), "Idempotency-Key", key)
		if e := errorOf(t, status, resp); status != 422 || e.Type != "UnprocessableEntityException" {
			t.Fatalf("key reused for another request: %d %s", status, resp)
		}
		status, _, resp = call(t, "POST", fns, "text/plain", []byte(createFunctionBody("plain")))
		if e := errorOf(t, status, resp); status != 415 || e.Type != "UnsupportedMediaTypeException" {
			t.Fatalf("create as text/plain: %d %s", status, resp)
		}
		_, m3 := loadFunctionOf(t, viewReq(t, "GET", fns+"/add_one", "", 200))
		if def, _ := m3.DefinitionByID("long"); len(def.Versions) != 2 || answers[0] != answers[1] {
			t.Fatalf("replayed replace: %d versions", len(def.Versions))
		}

		// Rename, drop, register the dropped function's last file.
		viewReq(t, "POST", base+"/functions/rename", `{"source":{"namespace":["ns"],"name":"add_one"},"destination":{"namespace":["other"],"name":"plus_one"}}`, 204)
		viewErr(t, "GET", fns+"/add_one", "", 404, "NoSuchFunctionException", "")
		last, _ := loadFunctionOf(t, viewReq(t, "GET", base+"/namespaces/other/functions/plus_one", "", 200))
		viewReq(t, "DELETE", base+"/namespaces/other/functions/plus_one", "", 204)
		viewErr(t, "DELETE", base+"/namespaces/other/functions/plus_one", "", 404, "NoSuchFunctionException", "")
		reg, _ := loadFunctionOf(t, viewReq(t, "POST", base+"/namespaces/ns/register-function",
			fmt.Sprintf(`{"name":"again","metadata-location":%q}`, *last.MetadataLocation), 200))
		if string(reg.Metadata) != string(last.Metadata) {
			t.Fatalf("registered: %s", reg.Metadata)
		}
		// A table's metadata file is no function's.
		var tbl struct {
			MetadataLocation string `json:"metadata-location"`
		}
		if err := json.Unmarshal(viewReq(t, "GET", base+"/namespaces/ns/tables/t", "", 200), &tbl); err != nil {
			t.Fatal(err)
		}
		viewErr(t, "POST", base+"/namespaces/ns/register-function", fmt.Sprintf(`{"name":"x","metadata-location":%q}`, tbl.MetadataLocation),
			400, "BadRequestException", "Not a valid Iceberg function metadata file")
		// A namespace holding a function is not empty.
		viewReq(t, "POST", base+"/namespaces", `{"namespace":["lonely"]}`, 200)
		viewReq(t, "POST", base+"/namespaces/lonely/functions", createFunctionBody("f"), 200)
		viewErr(t, "DELETE", base+"/namespaces/lonely", "", 409, "NamespaceNotEmptyException", "Namespace lonely is not empty: it contains functions")
		viewReq(t, "DELETE", base+"/namespaces/lonely/functions/f?purgeRequested=true", "", 204)
		viewReq(t, "DELETE", base+"/namespaces/lonely", "", 204)

		// Every change is an event.
		var events bingsanapi.EventPage
		if err := json.Unmarshal(viewReq(t, "GET", base+"/events?after=0&limit=1000&types=function.created,function.replaced,function.renamed,function.dropped,function.registered", "", 200), &events); err != nil {
			t.Fatal(err)
		}
		var types []string
		for _, e := range events.Events {
			types = append(types, strings.TrimPrefix(e.Type, "io.bingsan.function."))
			if e.Data.Kind != bingsanapi.EventDataKind("function") {
				t.Fatalf("event kind %s", e.Data.Kind)
			}
		}
		want := []string{"created", "created", "replaced", "replaced", "renamed", "dropped", "registered", "created", "dropped"}
		if !slices.Equal(types, want) {
			t.Fatalf("function events %v, want %v", types, want)
		}
	})
}

// TestFunctionsWithIcebergGoClient: iceberg-go v0.7.0's REST client finds
// the function endpoints in /v1/config and lists and loads functions
// created through Bingsan's API.
func TestFunctionsWithIcebergGoClient(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		srv := servertest.Start(t, b, servertest.Config{})
		ctx := context.Background()
		cat, err := rest.NewCatalog(ctx, "x", srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		for _, ns := range []table.Identifier{{"db"}, {"db", "udfs"}} {
			if err := cat.CreateNamespace(ctx, ns, nil); err != nil {
				t.Fatal(err)
			}
		}
		fns := srv.URL + "/v1/namespaces/db%1Fudfs/functions"
		names := []string{"a_fn", "b_fn", "c_fn"}
		for _, n := range names {
			viewReq(t, "POST", fns, createFunctionBody(n, fnDefinition("int", "spark", "x + 1"), fnDefinition("double", "spark", "x + 1.0", "trino", "x + 1e0")), 200)
		}
		var got []string
		for id, err := range cat.ListFunctions(cat.SetPageSize(ctx, 2), table.Identifier{"db", "udfs"}) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, strings.Join(id, "."))
		}
		if !slices.Equal(got, []string{"db.udfs.a_fn", "db.udfs.b_fn", "db.udfs.c_fn"}) {
			t.Fatalf("ListFunctions: %v", got)
		}
		fn, err := cat.LoadFunction(ctx, table.Identifier{"db", "udfs", "b_fn"})
		if err != nil {
			t.Fatal(err)
		}
		def, ok := fn.Metadata().DefinitionByID("double")
		if !ok || len(fn.Definitions()) != 2 || len(def.CurrentVersion().Representations) != 2 || !strings.HasPrefix(fn.MetadataLocation(), "file://") {
			t.Fatalf("LoadFunction: %+v", fn.Metadata())
		}
		if ok, err := cat.CheckFunctionExists(ctx, table.Identifier{"db", "udfs", "a_fn"}); err != nil || !ok {
			t.Fatalf("CheckFunctionExists: %v %v", ok, err)
		}
		if ok, err := cat.CheckFunctionExists(ctx, table.Identifier{"db", "udfs", "nope"}); err != nil || ok {
			t.Fatalf("CheckFunctionExists of a missing function: %v %v", ok, err)
		}
		if _, err := cat.LoadFunction(ctx, table.Identifier{"db", "udfs", "nope"}); !errors.Is(err, icecatalog.ErrNoSuchFunction) {
			t.Fatalf("LoadFunction of a missing function: %v", err)
		}
		if _, err := cat.LoadFunction(ctx, table.Identifier{"nope", "f"}); !errors.Is(err, icecatalog.ErrNoSuchNamespace) {
			t.Fatalf("LoadFunction in a missing namespace: %v", err)
		}
		for _, err := range cat.ListFunctions(ctx, table.Identifier{"nope"}) {
			if !errors.Is(err, icecatalog.ErrNoSuchNamespace) {
				t.Fatalf("ListFunctions of a missing namespace: %v", err)
			}
		}
	})
}

// TestFunctionsAuth: function operations need read, create, write or drop
// as view operations do, granted on the namespace (or above); a denied
// request changes nothing and is audited, mutations are audited.
func TestFunctionsAuth(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		e := startAuth(t, b, servertest.Config{})
		e.must(200, "POST", "/v1/namespaces", e.admin, `{"namespace":["sales"]}`, nil)
		e.must(200, "POST", "/v1/namespaces", e.admin, `{"namespace":["hr"]}`, nil)
		var created struct {
			MetadataLocation string `json:"metadata-location"`
		}
		e.must(200, "POST", "/v1/namespaces/sales/functions", e.admin, createFunctionBody("f"), &created)

		nobody, _ := e.principal("nobody")
		reader, _ := e.principal("reader", "readers")
		e.grant("readers", "read", "namespace", "default", []string{"sales"}, "")
		writer, _ := e.principal("writer", "writers")
		e.grant("writers", "write", "namespace", "default", []string{"sales"}, "")
		e.grant("writers", "create", "namespace", "default", []string{"sales"}, "")

		reqs := []struct {
			op, method, path, body string
		}{
			{"listFunctions", "GET", "/v1/namespaces/sales/functions", ""},
			{"loadFunction", "GET", "/v1/namespaces/sales/functions/f", ""},
			{"functionExists", "HEAD", "/v1/namespaces/sales/functions/f", ""},
			{"createFunction", "POST", "/v1/namespaces/sales/functions", createFunctionBody("g")},
			{"registerFunction", "POST", "/v1/namespaces/sales/register-function", fmt.Sprintf(`{"name":"r","metadata-location":%q}`, created.MetadataLocation)},
			{"commitFunction", "POST", "/v1/namespaces/sales/functions/f", `{"updates":[{"action":"set-doc","doc":"evil"}]}`},
			{"renameFunction", "POST", "/v1/functions/rename", `{"source":{"namespace":["sales"],"name":"f"},"destination":{"namespace":["hr"],"name":"f"}}`},
			{"dropFunction", "DELETE", "/v1/namespaces/sales/functions/f", ""},
		}
		// status by caller: nobody is refused everything; the reader may
		// only read; the writer may replace and create but not drop, nor
		// rename (drop on the function, create on hr).
		want := map[string][3]int{
			"listFunctions":    {403, 200, 200},
			"loadFunction":     {403, 200, 200},
			"functionExists":   {403, 204, 204},
			"createFunction":   {403, 403, 200},
			"registerFunction": {403, 403, 409}, // allowed, then refused: the files are f's
			"commitFunction":   {403, 403, 200},
			"renameFunction":   {403, 403, 403},
			"dropFunction":     {403, 403, 403},
		}
		for i, who := range []string{nobody, reader, writer} {
			for _, r := range reqs {
				var body any
				if r.body != "" {
					body = r.body
				}
				status, resp := e.do(r.method, r.path, who, body)
				if status != want[r.op][i] {
					t.Errorf("%s by caller %d: %d, want %d: %s", r.op, i, status, want[r.op][i], resp)
				}
				if status == 403 && r.method != "HEAD" {
					if m := errorOf(t, status, resp); m.Type != "ForbiddenException" || !strings.Contains(m.Message, "function default.sales.f") && !strings.Contains(m.Message, "namespace default.sales") {
						t.Errorf("%s: %s %q", r.op, m.Type, m.Message)
					}
				}
			}
		}
		// A grant on one function covers that function only.
		fnReader, _ := e.principal("fnreader", "fnreaders")
		e.grant("fnreaders", "read", "function", "default", []string{"sales"}, "f")
		e.must(200, "GET", "/v1/namespaces/sales/functions/f", fnReader, nil, nil)
		for _, path := range []string{"/v1/namespaces/sales/functions/g", "/v1/namespaces/sales/functions"} {
			if status, resp := e.do("GET", path, fnReader, nil); status != 403 {
				t.Errorf("GET %s with a grant on f only: %d %s", path, status, resp)
			}
		}
		if status, resp := e.do("POST", "/v1/namespaces/sales/functions/f", fnReader, `{"updates":[{"action":"set-doc","doc":"x"}]}`); status != 403 {
			t.Errorf("replace with read on f: %d %s", status, resp)
		}

		// The admin may do everything; the function is still there.
		e.must(204, "POST", "/v1/functions/rename", e.admin, `{"source":{"namespace":["sales"],"name":"f"},"destination":{"namespace":["hr"],"name":"f"}}`, nil)
		e.must(204, "DELETE", "/v1/namespaces/hr/functions/f", e.admin, nil, nil)

		if denied := e.audit("outcome=denied&principal=nobody"); len(denied) != len(reqs) {
			t.Errorf("%d denials of nobody audited, want %d", len(denied), len(reqs))
		}
		for _, op := range []string{"createFunction", "commitFunction", "renameFunction", "dropFunction"} {
			if got := e.audit("operation=" + op + "&outcome=success"); len(got) == 0 {
				t.Errorf("no successful %s audited", op)
			}
		}
	})
}

// A node killed after a function mutation committed but before it
// answered: the retry with the same Idempotency-Key, on a new node, gets
// the answer rebuilt from what landed (createFunction and commitFunction
// answer the metadata, renameFunction 204), and nothing lands twice.
func TestFunctionReplayAfterCrash(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts server processes")
	}
	bin := nodetest.BuildBinary(t)
	store := crashStore(t, "sqlite")
	client := &http.Client{Timeout: 60 * time.Second}
	t.Cleanup(client.CloseIdleConnections)
	steps := []struct {
		name, method, path, body string
		status                   int
	}{
		{"create", "POST", "/namespaces/ns/functions", createFunctionBody("f"), 200},
		{"replace", "POST", "/namespaces/ns/functions/f", `{"updates":[{"action":"add-definition-version","definition-id":"int","version":{"representations":[{"type":"sql","dialect":"spark","sql":"x + 2"}]}}]}`, 200},
		{"rename", "POST", "/functions/rename", `{"source":{"namespace":["ns"],"name":"f"},"destination":{"namespace":["ns"],"name":"g"}}`, 204},
	}
	for i, st := range steps {
		doomed, err := nodetest.StartWithFailpoints(t, bin, fmt.Sprintf("doomed-%d", i), []string{failpoint.MutationCommitted}, store...)
		if err != nil {
			t.Fatal(err)
		}
		nodetest.WaitReady(t, client, doomed)
		if i == 0 {
			if status, b, err := send(client, "POST", doomed.URL+"/v1/namespaces", `{"namespace":["ns"]}`); err != nil || status != 200 {
				t.Fatalf("create namespace: %d %v %s", status, err, b)
			}
		}
		key := uuid.NewString()
		if status, b, err := send(client, st.method, doomed.URL+"/v1"+st.path, st.body, "Idempotency-Key", key); err == nil {
			t.Fatalf("%s: the node answered %d %s; it should have died", st.name, status, b)
		}
		doomed.Killed(t)

		next, err := nodetest.Start(t, bin, fmt.Sprintf("next-%d", i), store...)
		if err != nil {
			t.Fatal(err)
		}
		nodetest.WaitReady(t, client, next)
		status, replayed, err := send(client, st.method, next.URL+"/v1"+st.path, st.body, "Idempotency-Key", key)
		if err != nil || status != st.status {
			t.Fatalf("%s replayed: %d %v %s", st.name, status, err, replayed)
		}
		name := "f"
		if st.name == "rename" {
			name = "g"
		}
		_, now, err := send(client, "GET", next.URL+"/v1/namespaces/ns/functions/"+name, "")
		if err != nil {
			t.Fatal(err)
		}
		cur, m := loadFunctionOf(t, now)
		if st.status == 200 {
			got, _ := loadFunctionOf(t, replayed)
			if *got.MetadataLocation != *cur.MetadataLocation {
				t.Fatalf("%s replay answered %s, the function is at %s", st.name, *got.MetadataLocation, *cur.MetadataLocation)
			}
		}
		if def, _ := m.DefinitionByID("int"); st.name != "create" && len(def.Versions) != 2 {
			t.Fatalf("after %s: %d versions of int", st.name, len(def.Versions))
		}
		next.Stop(t)
	}
}
