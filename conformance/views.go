package conformance

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/view"
)

const viewSchemaJSON = `{"type":"struct","schema-id":0,"fields":[{"id":1,"name":"id","type":"long","required":false}]}`

func viewVersionJSON(id int, sql string, ns []string, dialects ...string) string {
	if len(dialects) == 0 {
		dialects = []string{"spark"}
	}
	var reps []string
	for _, d := range dialects {
		reps = append(reps, fmt.Sprintf(`{"type":"sql","sql":%q,"dialect":%q}`, sql, d))
	}
	return fmt.Sprintf(`{"version-id":%d,"schema-id":0,"timestamp-ms":1700000000000,"summary":{"engine-name":"conformance"},
		"representations":[%s],"default-namespace":%s}`, id, strings.Join(reps, ","), mustJSON(ns))
}

type viewResult struct {
	MetadataLocation string `json:"metadata-location"`
	Metadata         struct {
		ViewUUID         string            `json:"view-uuid"`
		Location         string            `json:"location"`
		CurrentVersionID int               `json:"current-version-id"`
		Properties       map[string]string `json:"properties"`
		Versions         []struct {
			ID              int `json:"version-id"`
			Representations []struct {
				SQL     string `json:"sql"`
				Dialect string `json:"dialect"`
			} `json:"representations"`
		} `json:"versions"`
		VersionLog []struct {
			ID int `json:"version-id"`
		} `json:"version-log"`
	} `json:"metadata"`
}

func (c *C) viewPath(ns []string, name string) string {
	return c.path("namespaces", nsSeg(ns), "views", name)
}

// createView creates ns.name over raw HTTP.
func (c *C) createView(ns []string, name string, extra ...string) viewResult {
	c.Helper()
	body := fmt.Sprintf(`{"name":%q,"schema":%s,"view-version":%s,"properties":{}`, name, viewSchemaJSON, viewVersionJSON(1, "select 1 as id", ns))
	for _, e := range extra {
		body += "," + e
	}
	body += "}"
	r := c.Do("POST", c.path("namespaces", nsSeg(ns), "views"), body)
	c.Expect(r, 200)
	var res viewResult
	r.JSON(c, &res)
	return res
}

func (c *C) loadView(ns []string, name string) viewResult {
	c.Helper()
	r := c.Do("GET", c.viewPath(ns, name), "")
	c.Expect(r, 200)
	var res viewResult
	r.JSON(c, &res)
	return res
}

func (c *C) replaceView(ns []string, name, requirements, updates string) *Response {
	c.Helper()
	return c.Do("POST", c.viewPath(ns, name), fmt.Sprintf(`{"requirements":%s,"updates":%s}`, requirements, updates))
}

func viewCases() []Case {
	return []Case{
		{"create and load through iceberg-go", func(c *C) {
			cat := c.Catalog()
			ns := c.Namespace("view")
			id := catalog.ToIdentifier(append(slices.Clone(ns), "v")...)
			version, err := view.NewVersionFromSQL(1, 0, "select id from t", catalog.ToIdentifier(ns...))
			if err != nil {
				c.Fatal(err)
			}
			if _, err := cat.CreateView(c.Ctx(), id, version, testSchema()); err != nil {
				c.Fatalf("create view: %v", err)
			}
			v, err := cat.LoadView(c.Ctx(), id)
			if err != nil {
				c.Fatalf("load view: %v", err)
			}
			cur := v.CurrentVersion()
			if cur == nil || cur.VersionID != 1 || len(cur.Representations) != 1 || cur.Representations[0].Sql != "select id from t" {
				c.Errorf("current version %+v", cur)
			}
			if ok, err := cat.CheckViewExists(c.Ctx(), id); !ok || err != nil {
				c.Errorf("view exists: %v %v", ok, err)
			}
			c.Expect(c.Do("HEAD", c.viewPath(ns, "v"), ""), 204)
		}},
		{"default and override properties from the catalog config", func(c *C) {
			defaults := prefixed(c.env.config.Defaults, "view-default.")
			overrides := prefixed(c.env.config.Overrides, "view-override.")
			if len(defaults)+len(overrides) == 0 {
				c.Skip("the catalog's /v1/config has no view-default.* or view-override.* keys")
			}
			ns := c.Namespace("view")
			req := map[string]string{"prop1": "val1"}
			for k := range overrides {
				req[k] = "from-request"
			}
			body := fmt.Sprintf(`{"name":"v","schema":%s,"view-version":%s,"properties":%s}`, viewSchemaJSON, viewVersionJSON(1, "select 1", ns), mustJSON(req))
			c.Expect(c.Do("POST", c.path("namespaces", nsSeg(ns), "views"), body), 200)
			props := c.loadView(ns, "v").Metadata.Properties
			for k, v := range defaults {
				if _, over := overrides[k]; !over && props[k] != v {
					c.Errorf("default %s=%q missing: %v", k, v, props)
				}
			}
			for k, v := range overrides {
				if props[k] != v {
					c.Errorf("override %s=%q not applied: %v", k, v, props)
				}
			}
			if props["prop1"] != "val1" {
				c.Errorf("request property lost: %v", props)
			}
		}},
		{"custom location and metadata location", func(c *C) {
			ns := c.Namespace("view")
			base := c.createView(ns, "probe")
			loc := strings.TrimSuffix(base.Metadata.Location, "/") + "_custom"
			// Next to the view's location, not inside another view's.
			metaLoc := loc + "_w_metadata"
			res := c.createView(ns, "v", fmt.Sprintf(`"location":%q`, loc))
			_ = res
			r := c.Do("POST", c.path("namespaces", nsSeg(ns), "views"), fmt.Sprintf(`{"name":"w","schema":%s,"view-version":%s,"location":%q,"properties":{"write.metadata.path":%q}}`,
				viewSchemaJSON, viewVersionJSON(1, "select 1", ns), loc+"_w", metaLoc))
			c.Expect(r, 200)
			var w viewResult
			r.JSON(c, &w)
			if strings.TrimSuffix(c.loadView(ns, "v").Metadata.Location, "/") != loc {
				c.Errorf("location %s, want %s", c.loadView(ns, "v").Metadata.Location, loc)
			}
			if !strings.HasPrefix(w.MetadataLocation, metaLoc+"/") {
				c.Errorf("metadata location %s is not under write.metadata.path %s", w.MetadataLocation, metaLoc)
			}
		}},
		{"several dialects", func(c *C) {
			ns := c.Namespace("view")
			body := fmt.Sprintf(`{"name":"v","schema":%s,"view-version":%s,"properties":{}}`, viewSchemaJSON, viewVersionJSON(1, "select 1 as id", ns, "spark", "trino"))
			c.Expect(c.Do("POST", c.path("namespaces", nsSeg(ns), "views"), body), 200)
			m := c.loadView(ns, "v").Metadata
			var dialects []string
			for _, v := range m.Versions {
				for _, r := range v.Representations {
					dialects = append(dialects, r.Dialect)
				}
			}
			slices.Sort(dialects)
			if !slices.Equal(dialects, []string{"spark", "trino"}) {
				c.Errorf("dialects %v", dialects)
			}
		}},
		{"a view is not a table and a table is not a view", func(c *C) {
			ns := c.Namespace("view")
			c.createView(ns, "v")
			c.createTable(ns, "t")
			c.ExpectError(c.Do("GET", c.tablePath(ns, "v"), ""), 404, "NoSuchTableException", "")
			c.ExpectError(c.Do("GET", c.viewPath(ns, "t"), ""), 404, "NoSuchViewException", "")
			c.Expect(c.Do("HEAD", c.tablePath(ns, "v"), ""), 404)
			c.Expect(c.Do("HEAD", c.viewPath(ns, "t"), ""), 404)
			if _, err := c.Catalog().LoadView(c.Ctx(), catalog.ToIdentifier(append(slices.Clone(ns), "t")...)); !errors.Is(err, catalog.ErrNoSuchView) {
				c.Errorf("iceberg-go load view of a table: %v, want ErrNoSuchView", err)
			}
		}},
		{"names shared with tables are 409", func(c *C) {
			ns := c.Namespace("view")
			c.createView(ns, "v")
			c.createTable(ns, "t")
			r := c.Do("POST", c.path("namespaces", nsSeg(ns), "views"), fmt.Sprintf(`{"name":"t","schema":%s,"view-version":%s,"properties":{}}`, viewSchemaJSON, viewVersionJSON(1, "select 1", ns)))
			c.ExpectError(r, 409, "AlreadyExistsException", "Table with same name already exists")
			r = c.Do("POST", c.path("namespaces", nsSeg(ns), "tables"), `{"name":"v","schema":`+schemaJSON+`}`)
			c.ExpectError(r, 409, "AlreadyExistsException", "View with same name already exists")
			r = c.Do("POST", c.path("namespaces", nsSeg(ns), "views"), fmt.Sprintf(`{"name":"v","schema":%s,"view-version":%s,"properties":{}}`, viewSchemaJSON, viewVersionJSON(1, "select 1", ns)))
			c.ExpectError(r, 409, "AlreadyExistsException", "View already exists")
		}},
		{"register view", func(c *C) {
			ns := c.Namespace("view")
			v := c.createView(ns, "v")
			c.Expect(c.Do("DELETE", c.viewPath(ns, "v"), ""), 204)
			reg := func(name string) *Response {
				return c.Do("POST", c.path("namespaces", nsSeg(ns), "register-view"), fmt.Sprintf(`{"name":%q,"metadata-location":%q}`, name, v.MetadataLocation))
			}
			c.Expect(reg("again"), 200)
			if got := c.loadView(ns, "again"); got.Metadata.ViewUUID != v.Metadata.ViewUUID {
				c.Errorf("registered view uuid %s, want %s", got.Metadata.ViewUUID, v.Metadata.ViewUUID)
			}
			c.ExpectError(reg("again"), 409, "AlreadyExistsException", "")
			c.createTable(ns, "t")
			c.ExpectError(reg("t"), 409, "AlreadyExistsException", "")
		}},
		{"rename across namespaces", func(c *C) {
			cat := c.Catalog()
			ns := c.Namespace("view")
			other := c.Namespace("view_other")
			v := c.createView(ns, "v")
			if _, err := cat.RenameView(c.Ctx(), catalog.ToIdentifier(append(slices.Clone(ns), "v")...), catalog.ToIdentifier(append(slices.Clone(other), "w")...)); err != nil {
				c.Fatalf("rename: %v", err)
			}
			c.ExpectError(c.Do("GET", c.viewPath(ns, "v"), ""), 404, "NoSuchViewException", "")
			if got := c.loadView(other, "w"); got.Metadata.ViewUUID != v.Metadata.ViewUUID {
				c.Errorf("renamed view is another view")
			}
		}},
		{"rename errors: missing source or namespace 404, taken name 409", func(c *C) {
			ns := c.Namespace("view")
			c.createView(ns, "v")
			c.createView(ns, "v2")
			c.createTable(ns, "t")
			rename := func(toNS []string, from, to string) *Response {
				return c.Do("POST", c.path("views", "rename"), renameBody(ns, from, toNS, to))
			}
			c.ExpectError(rename(ns, "nope", "x"), 404, "NoSuchViewException", "")
			c.ExpectError(rename([]string{c.Name("missing")}, "v", "x"), 404, "NoSuchNamespaceException", "")
			c.ExpectError(rename(ns, "v", "t"), 409, "AlreadyExistsException", fmt.Sprintf("Cannot rename %s to %s. Table already exists", dotted(ns, "v"), dotted(ns, "t")))
			c.ExpectError(rename(ns, "v", "v2"), 409, "AlreadyExistsException", fmt.Sprintf("Cannot rename %s to %s. View already exists", dotted(ns, "v"), dotted(ns, "v2")))
			r := c.Do("POST", c.path("tables", "rename"), renameBody(ns, "t", ns, "v"))
			c.ExpectError(r, 409, "AlreadyExistsException", fmt.Sprintf("Cannot rename %s to %s. View already exists", dotted(ns, "t"), dotted(ns, "v")))
		}},
		{"list views, not tables", func(c *C) {
			ns := c.Namespace("view")
			c.createView(ns, "v1")
			c.createView(ns, "v2")
			c.createTable(ns, "t")
			var got []string
			for id, err := range c.Catalog().ListViews(c.Ctx(), ns) {
				if err != nil {
					c.Fatal(err)
				}
				got = append(got, id[len(id)-1])
			}
			slices.Sort(got)
			if !slices.Equal(got, []string{"v1", "v2"}) {
				c.Errorf("views %v", got)
			}
		}},
		{"replace keeps the version history", func(c *C) {
			ns := c.Namespace("view")
			v := c.createView(ns, "v")
			upd := fmt.Sprintf(`[{"action":"add-view-version","view-version":%s},{"action":"set-current-view-version","view-version-id":-1}]`,
				viewVersionJSON(2, "select 2 as id", ns))
			c.Expect(c.replaceView(ns, "v", fmt.Sprintf(`[{"type":"assert-view-uuid","uuid":%q}]`, v.Metadata.ViewUUID), upd), 200)
			m := c.loadView(ns, "v").Metadata
			if m.CurrentVersionID != 2 || len(m.Versions) != 2 || len(m.VersionLog) != 2 {
				c.Errorf("current %d, %d versions, %d log entries", m.CurrentVersionID, len(m.Versions), len(m.VersionLog))
			}
		}},
		{"properties and location", func(c *C) {
			ns := c.Namespace("view")
			v := c.createView(ns, "v", `"location":"`+strings.TrimSuffix(c.createView(ns, "probe").Metadata.Location, "/")+`_v"`)
			newLoc := strings.TrimSuffix(v.Metadata.Location, "/") + "_moved"
			c.Expect(c.replaceView(ns, "v", `[]`, `[{"action":"set-properties","updates":{"a":"1","b":"2"}}]`), 200)
			c.Expect(c.replaceView(ns, "v", `[]`, fmt.Sprintf(`[{"action":"remove-properties","removals":["a"]},{"action":"set-location","location":%q}]`, newLoc)), 200)
			m := c.loadView(ns, "v").Metadata
			if m.Properties["a"] != "" || m.Properties["b"] != "2" || strings.TrimSuffix(m.Location, "/") != newLoc {
				c.Errorf("properties %v location %s", m.Properties, m.Location)
			}
		}},
		{"concurrent replace: conflicts are 409 CommitFailed", func(c *C) {
			ns := c.Namespace("view")
			v := c.createView(ns, "v")
			const n = 4
			res := make([]*Response, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					upd := fmt.Sprintf(`[{"action":"add-view-version","view-version":%s},{"action":"set-current-view-version","view-version-id":-1}]`,
						viewVersionJSON(2+i, fmt.Sprintf("select %d as id", 100+i), ns))
					res[i] = c.do(c.ctx, "POST", c.viewPath(ns, "v"), fmt.Sprintf(`{"requirements":[{"type":"assert-view-uuid","uuid":%q}],"updates":%s}`, v.Metadata.ViewUUID, upd), nil)
				}()
			}
			wg.Wait()
			ok := 0
			for _, r := range res {
				switch r.Status {
				case 200:
					ok++
				case 409:
					c.ExpectError(r, 409, "CommitFailedException", "")
				default:
					c.Errorf("concurrent replace: %s", r)
				}
			}
			if m := c.loadView(ns, "v").Metadata; ok == 0 || len(m.Versions) != 1+ok {
				c.Errorf("%d replaces succeeded, the view has %d versions", ok, len(m.Versions))
			}
			r := c.replaceView(ns, "v", `[{"type":"assert-view-uuid","uuid":"00000000-0000-0000-0000-000000000001"}]`, `[{"action":"set-properties","updates":{"k":"v"}}]`)
			c.ExpectError(r, 409, "CommitFailedException", "")
		}},
		{"operations on a dropped view are 404", func(c *C) {
			cat := c.Catalog()
			ns := c.Namespace("view")
			c.createView(ns, "v")
			id := catalog.ToIdentifier(append(slices.Clone(ns), "v")...)
			if err := cat.DropView(c.Ctx(), id); err != nil {
				c.Fatalf("drop: %v", err)
			}
			c.ExpectError(c.Do("GET", c.viewPath(ns, "v"), ""), 404, "NoSuchViewException", "")
			c.ExpectError(c.replaceView(ns, "v", `[]`, `[{"action":"set-properties","updates":{"k":"v"}}]`), 404, "NoSuchViewException", "")
			c.ExpectError(c.Do("DELETE", c.viewPath(ns, "v"), ""), 404, "NoSuchViewException", "")
			c.ExpectError(c.Do("POST", c.path("views", "rename"), renameBody(ns, "v", ns, "w")), 404, "NoSuchViewException", "")
			if err := cat.DropView(c.Ctx(), id); !errors.Is(err, catalog.ErrNoSuchView) {
				c.Errorf("iceberg-go second drop: %v, want ErrNoSuchView", err)
			}
		}},
		{"drop a namespace holding views is 409", func(c *C) {
			ns := c.Namespace("view")
			c.createView(ns, "v")
			c.ExpectError(c.Do("DELETE", c.path("namespaces", nsSeg(ns)), ""), 409, "NamespaceNotEmptyException", "")
		}},
	}
}
