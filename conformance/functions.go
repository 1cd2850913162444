package conformance

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/rest"
	"github.com/apache/iceberg-go/udf"
)

// Functions (SQL UDFs). The Iceberg spec serves listFunctions and
// loadFunction, which are checked against it; functions are made, replaced,
// renamed and dropped through Bingsan's extension API (openapi/bingsan.yaml),
// which the spec does not describe (DoExtension). A catalog that does not
// advertise the two spec operations is skipped.

var functionEndpoints = []string{
	"GET /v1/{prefix}/namespaces/{namespace}/functions",
	"GET /v1/{prefix}/namespaces/{namespace}/functions/{function}",
}

// requireFunctions skips the case unless the catalog serves functions.
func (c *C) requireFunctions() {
	c.Helper()
	for _, e := range functionEndpoints {
		if !slices.Contains(c.env.config.Endpoints, e) {
			c.Skip("the catalog does not advertise the function endpoints")
		}
	}
}

func (c *C) functionPath(ns []string, name string) string {
	return c.path("namespaces", nsSeg(ns), "functions", name)
}

// functionDefinitionJSON is a definition of a create request with one
// parameter of type typ returning it.
func functionDefinitionJSON(typ, sql string) string {
	return fmt.Sprintf(`{"parameters":[{"name":"x","type":%q}],"return-type":%q,"function-type":"udf",
		"version":{"representations":[{"type":"sql","dialect":"spark","sql":%q}],"deterministic":true}}`, typ, typ, sql)
}

type functionResult struct {
	MetadataLocation string          `json:"metadata-location"`
	Metadata         json.RawMessage `json:"metadata"`
}

// parse checks the metadata document with iceberg-go's udf package.
func (r functionResult) parse(c *C) udf.Metadata {
	c.Helper()
	m, err := udf.ParseMetadataBytes(r.Metadata)
	if err != nil {
		c.Fatalf("function metadata: %v: %s", err, r.Metadata)
	}
	return m
}

// createFunction creates ns.name through the extension API.
func (c *C) createFunction(ns []string, name string, defs ...string) functionResult {
	c.Helper()
	if len(defs) == 0 {
		defs = []string{functionDefinitionJSON("int", "x + 1")}
	}
	r := c.DoExtension("POST", c.path("namespaces", nsSeg(ns), "functions"),
		fmt.Sprintf(`{"name":%q,"definitions":[%s]}`, name, strings.Join(defs, ",")))
	c.Expect(r, 200)
	var res functionResult
	r.JSON(c, &res)
	return res
}

func (c *C) loadFunction(ns []string, name string) functionResult {
	c.Helper()
	r := c.Do("GET", c.functionPath(ns, name), "")
	c.Expect(r, 200)
	var res functionResult
	r.JSON(c, &res)
	return res
}

func functionCases() []Case {
	return []Case{
		{"create, then load over the spec and through iceberg-go", func(c *C) {
			c.requireFunctions()
			ns := c.Namespace("fn")
			created := c.createFunction(ns, "add_one", functionDefinitionJSON("int", "x + 1"), functionDefinitionJSON("double", "x + 1.0"))
			m := created.parse(c)
			loaded := c.loadFunction(ns, "add_one")
			if loaded.MetadataLocation != created.MetadataLocation || !loaded.parse(c).Equals(m) {
				c.Errorf("loaded %s, created %s", loaded.MetadataLocation, created.MetadataLocation)
			}
			var fc rest.FunctionCatalog = c.Catalog()
			fn, err := fc.LoadFunction(c.Ctx(), catalog.ToIdentifier(append(slices.Clone(ns), "add_one")...))
			if err != nil {
				c.Fatalf("iceberg-go load function: %v", err)
			}
			if _, ok := fn.Metadata().DefinitionByID("double"); !ok || len(fn.Definitions()) != 2 {
				c.Errorf("iceberg-go definitions: %d", len(fn.Definitions()))
			}
		}},
		{"list functions, paginated, not tables or views", func(c *C) {
			c.requireFunctions()
			ns := c.Namespace("fn")
			for _, n := range []string{"f1", "f2", "f3"} {
				c.createFunction(ns, n)
			}
			c.createTable(ns, "t")
			c.createView(ns, "v")
			var got [][]string
			token := ""
			for range 4 {
				q := "?pageSize=2"
				if token != "" {
					q += "&pageToken=" + token
				}
				r := c.Do("GET", c.path("namespaces", nsSeg(ns), "functions")+q, "")
				c.Expect(r, 200)
				var page struct {
					Identifiers   [][]string `json:"identifiers"`
					NextPageToken *string    `json:"next-page-token"`
				}
				r.JSON(c, &page)
				got = append(got, page.Identifiers...)
				if page.NextPageToken == nil || *page.NextPageToken == "" {
					break
				}
				token = *page.NextPageToken
			}
			var want [][]string
			for _, n := range []string{"f1", "f2", "f3"} {
				want = append(want, append(slices.Clone(ns), n))
			}
			if !slices.EqualFunc(got, want, slices.Equal[[]string]) {
				c.Errorf("listed %v, want %v", got, want)
			}
			missing := []string{c.Name("missing")}
			c.ExpectError(c.Do("GET", c.path("namespaces", nsSeg(missing), "functions"), ""), 404, "NoSuchNamespaceException", "")
			c.ExpectError(c.Do("GET", c.functionPath(missing, "f1"), ""), 404, "NoSuchNamespaceException", "")
			c.ExpectError(c.Do("GET", c.functionPath(ns, "nope"), ""), 404, "NoSuchFunctionException", "")
		}},
		{"replace: a new version under the uuid requirement, a stale uuid is 409", func(c *C) {
			c.requireFunctions()
			ns := c.Namespace("fn")
			m := c.createFunction(ns, "f").parse(c)
			body := fmt.Sprintf(`{"requirements":[{"type":"assert-function-uuid","uuid":%q}],"updates":[
				{"action":"add-definition-version","definition-id":"int","version":{"representations":[{"type":"sql","dialect":"spark","sql":"x + 2"}]}}]}`, m.FunctionUUID())
			r := c.DoExtension("POST", c.functionPath(ns, "f"), body)
			c.Expect(r, 200)
			var res functionResult
			r.JSON(c, &res)
			def, _ := res.parse(c).DefinitionByID("int")
			if def == nil || def.CurrentVersionID != 2 {
				c.Errorf("after replace: %s", res.Metadata)
			}
			if got := c.loadFunction(ns, "f"); got.MetadataLocation != res.MetadataLocation {
				c.Errorf("load after replace: %s, want %s", got.MetadataLocation, res.MetadataLocation)
			}
			stale := `{"requirements":[{"type":"assert-function-uuid","uuid":"00000000-0000-0000-0000-000000000001"}],"updates":[{"action":"set-doc","doc":"x"}]}`
			c.ExpectError(c.DoExtension("POST", c.functionPath(ns, "f"), stale), 409, "CommitFailedException", "")
			if got := c.loadFunction(ns, "f"); got.MetadataLocation != res.MetadataLocation {
				c.Errorf("a failed replace moved the function")
			}
		}},
		{"names shared with tables and views are 409", func(c *C) {
			c.requireFunctions()
			ns := c.Namespace("fn")
			c.createTable(ns, "t")
			c.createView(ns, "v")
			c.createFunction(ns, "f")
			for _, name := range []string{"t", "v", "f"} {
				r := c.DoExtension("POST", c.path("namespaces", nsSeg(ns), "functions"), fmt.Sprintf(`{"name":%q,"definitions":[%s]}`, name, functionDefinitionJSON("int", "1")))
				c.ExpectError(r, 409, "AlreadyExistsException", "")
			}
			c.ExpectError(c.Do("POST", c.path("namespaces", nsSeg(ns), "tables"), `{"name":"f","schema":`+schemaJSON+`}`), 409, "AlreadyExistsException", "")
			c.ExpectError(c.Do("GET", c.functionPath(ns, "t"), ""), 404, "NoSuchFunctionException", "")
		}},
		{"malformed definitions are 400 naming the field", func(c *C) {
			c.requireFunctions()
			ns := c.Namespace("fn")
			r := c.DoExtension("POST", c.path("namespaces", nsSeg(ns), "functions"),
				`{"name":"f","definitions":[{"parameters":[{"name":"x","type":"integer"}],"return-type":"int","function-type":"udf","version":{"representations":[{"type":"sql","dialect":"spark","sql":"1"}]}}]}`)
			c.ExpectError(r, 400, "BadRequestException", "definitions[0].parameters[0].type")
			c.ExpectError(c.Do("GET", c.functionPath(ns, "f"), ""), 404, "NoSuchFunctionException", "")
		}},
		{"rename across namespaces and drop", func(c *C) {
			c.requireFunctions()
			ns := c.Namespace("fn")
			other := c.Namespace("fn_other")
			created := c.createFunction(ns, "f")
			c.Expect(c.DoExtension("POST", c.path("functions", "rename"), renameBody(ns, "f", other, "g")), 204)
			c.ExpectError(c.Do("GET", c.functionPath(ns, "f"), ""), 404, "NoSuchFunctionException", "")
			if got := c.loadFunction(other, "g"); got.MetadataLocation != created.MetadataLocation {
				c.Errorf("renamed function is another function")
			}
			c.ExpectError(c.DoExtension("POST", c.path("functions", "rename"), renameBody(ns, "nope", other, "x")), 404, "NoSuchFunctionException", "")
			c.Expect(c.DoExtension("DELETE", c.functionPath(other, "g"), ""), 204)
			c.ExpectError(c.Do("GET", c.functionPath(other, "g"), ""), 404, "NoSuchFunctionException", "")
			c.ExpectError(c.DoExtension("DELETE", c.functionPath(other, "g"), ""), 404, "NoSuchFunctionException", "")
			if _, err := c.Catalog().LoadFunction(c.Ctx(), catalog.ToIdentifier(append(slices.Clone(other), "g")...)); !errors.Is(err, catalog.ErrNoSuchFunction) {
				c.Errorf("iceberg-go load of a dropped function: %v, want ErrNoSuchFunction", err)
			}
		}},
	}
}
