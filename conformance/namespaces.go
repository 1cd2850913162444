package conformance

import (
	"errors"
	"net/url"
	"slices"
	"strings"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
)

func configCases() []Case {
	return []Case{
		{"defaults, overrides and endpoints", func(c *C) {
			r := c.Do("GET", "/v1/config", "")
			c.Expect(r, 200)
			var raw map[string]any
			r.JSON(c, &raw)
			for _, k := range []string{"defaults", "overrides"} {
				if _, ok := raw[k].(map[string]any); !ok {
					c.Errorf("%s must be an object (DuckDB fails without it): %s", k, r.Body)
				}
			}
			eps, ok := raw["endpoints"].([]any)
			if !ok {
				c.Fatalf("endpoints missing: without it Iceberg 1.7+ clients assume no view endpoints: %s", r.Body)
			}
			have := map[string]bool{}
			for _, e := range eps {
				s, _ := e.(string)
				have[s] = true
			}
			for _, want := range []string{
				"POST /v1/{prefix}/namespaces/{namespace}/tables",
				"GET /v1/{prefix}/namespaces/{namespace}/tables/{table}",
				"POST /v1/{prefix}/namespaces/{namespace}/tables/{table}",
				"POST /v1/{prefix}/transactions/commit",
				"POST /v1/{prefix}/namespaces/{namespace}/views",
				"GET /v1/{prefix}/namespaces/{namespace}/views/{view}",
			} {
				if !have[want] {
					c.Errorf("endpoints lack %q", want)
				}
			}
		}},
		{"iceberg-go client initialises", func(c *C) {
			cat := c.Catalog()
			if _, err := cat.ListNamespaces(c.Ctx(), nil); err != nil {
				c.Fatalf("list namespaces through iceberg-go: %v", err)
			}
		}},
	}
}

func namespaceCases() []Case {
	return []Case{
		{"create, load, exists", func(c *C) {
			cat := c.Catalog()
			ns := catalog.ToIdentifier(c.Name("ns"))
			if err := cat.CreateNamespace(c.Ctx(), ns, iceberg.Properties{"owner": "conformance", "k": "v"}); err != nil {
				c.Fatalf("create: %v", err)
			}
			c.onCleanup(func() { c.dropNamespaceDeep(ns) })
			props, err := cat.LoadNamespaceProperties(c.Ctx(), ns)
			if err != nil || props["owner"] != "conformance" || props["k"] != "v" {
				c.Fatalf("load properties: %v %v", props, err)
			}
			if ok, err := cat.CheckNamespaceExists(c.Ctx(), ns); !ok || err != nil {
				c.Fatalf("exists: %v %v", ok, err)
			}
			r := c.Do("GET", c.path("namespaces", nsSeg(ns)), "")
			c.Expect(r, 200)
			var got struct {
				Namespace []string `json:"namespace"`
			}
			r.JSON(c, &got)
			if !slices.Equal(got.Namespace, ns) {
				c.Errorf("namespace %v, want %v", got.Namespace, ns)
			}
			c.Expect(c.Do("HEAD", c.path("namespaces", nsSeg(ns)), ""), 204)
		}},
		{"create existing is 409 AlreadyExists", func(c *C) {
			ns := c.Namespace("ns")
			r := c.Do("POST", c.path("namespaces"), mustJSON(map[string]any{"namespace": ns}))
			c.ExpectErrorPrefix(r, 409, "AlreadyExistsException", "Namespace already exists: "+strings.Join(ns, "."))
			if err := c.Catalog().CreateNamespace(c.Ctx(), ns, nil); !errors.Is(err, catalog.ErrNamespaceAlreadyExists) {
				c.Errorf("iceberg-go: %v, want ErrNamespaceAlreadyExists", err)
			}
		}},
		{"list top level and by parent", func(c *C) {
			cat := c.Catalog()
			parent := c.Namespace("parent")
			p := catalog.ToIdentifier(parent...)
			kids, err := cat.ListNamespaces(c.Ctx(), p)
			if err != nil || len(kids) != 0 {
				c.Fatalf("children of a new namespace: %v %v", kids, err)
			}
			c1 := append(slices.Clone(parent), "child1")
			c2 := append(slices.Clone(parent), "child.2")
			for _, ch := range [][]string{c1, c2} {
				if err := cat.CreateNamespace(c.Ctx(), ch, nil); err != nil {
					c.Fatalf("create %v: %v", ch, err)
				}
			}
			kids, err = cat.ListNamespaces(c.Ctx(), p)
			if err != nil {
				c.Fatal(err)
			}
			got := []string{}
			for _, k := range kids {
				got = append(got, strings.Join(k, "\x1f"))
			}
			slices.Sort(got)
			want := []string{nsSeg(c1), nsSeg(c2)}
			slices.Sort(want)
			if !slices.Equal(got, want) {
				c.Errorf("children %q, want %q", got, want)
			}
			top, err := cat.ListNamespaces(c.Ctx(), nil)
			if err != nil {
				c.Fatal(err)
			}
			foundParent := false
			for _, n := range top {
				foundParent = foundParent || slices.Equal(n, parent)
				if len(n) > 1 && n[0] == parent[0] {
					c.Errorf("top-level listing holds the child %v", n)
				}
			}
			if !foundParent {
				c.Errorf("top-level listing lacks %v", parent)
			}
			// Raw: parent encoded with %1F, as Java clients send it.
			r := c.Do("GET", c.path("namespaces")+"?parent="+url.QueryEscape(nsSeg(parent)), "")
			c.Expect(r, 200)
			if ok, err := cat.CheckNamespaceExists(c.Ctx(), c2); !ok || err != nil {
				c.Errorf("nested namespace with a dot: exists %v %v", ok, err)
			}
		}},
		{"list pagination", func(c *C) {
			parent := c.Namespace("pages")
			for _, k := range []string{"a", "b", "c"} {
				c.Expect(c.Do("POST", c.path("namespaces"), mustJSON(map[string]any{"namespace": append(slices.Clone(parent), k)})), 200)
			}
			var seen []string
			token := ""
			for range 5 {
				q := "?parent=" + url.QueryEscape(nsSeg(parent)) + "&pageSize=2"
				if token != "" {
					q += "&pageToken=" + url.QueryEscape(token)
				}
				r := c.Do("GET", c.path("namespaces")+q, "")
				c.Expect(r, 200)
				var page struct {
					Namespaces [][]string `json:"namespaces"`
					Next       *string    `json:"next-page-token"`
				}
				r.JSON(c, &page)
				if len(page.Namespaces) > 2 && page.Next != nil {
					c.Errorf("page of %d with pageSize=2 and a next token", len(page.Namespaces))
				}
				for _, n := range page.Namespaces {
					seen = append(seen, n[len(n)-1])
				}
				if page.Next == nil || *page.Next == "" {
					break
				}
				token = *page.Next
			}
			slices.Sort(seen)
			if !slices.Equal(seen, []string{"a", "b", "c"}) {
				c.Errorf("pages held %v, want a b c once each", seen)
			}
		}},
		{"update and remove properties", func(c *C) {
			ns := c.Namespace("props")
			r := c.Do("POST", c.path("namespaces", nsSeg(ns), "properties"),
				`{"updates":{"a":"1","b":"2"},"removals":[]}`)
			c.Expect(r, 200)
			r = c.Do("POST", c.path("namespaces", nsSeg(ns), "properties"),
				`{"updates":{"b":"3"},"removals":["a","missing"]}`)
			c.Expect(r, 200)
			var resp struct {
				Updated []string `json:"updated"`
				Removed []string `json:"removed"`
				Missing []string `json:"missing"`
			}
			r.JSON(c, &resp)
			if !slices.Equal(resp.Updated, []string{"b"}) || !slices.Equal(resp.Removed, []string{"a"}) || !slices.Equal(resp.Missing, []string{"missing"}) {
				c.Errorf("updated %v removed %v missing %v; want [b] [a] [missing]", resp.Updated, resp.Removed, resp.Missing)
			}
			props, err := c.Catalog().LoadNamespaceProperties(c.Ctx(), ns)
			if err != nil || props["b"] != "3" || props["a"] != "" {
				c.Errorf("properties after update: %v %v", props, err)
			}
			r = c.DoInvalid("POST", c.path("namespaces", nsSeg(ns), "properties"), `{"updates":{"x":"1"},"removals":["x"]}`)
			c.ExpectError(r, 422, "UnprocessableEntityException", "")
		}},
		{"missing namespace: load, exists, properties, drop are 404", func(c *C) {
			ns := nsSeg([]string{c.Name("missing")})
			c.ExpectError(c.Do("GET", c.path("namespaces", ns), ""), 404, "NoSuchNamespaceException", "Namespace does not exist")
			c.Expect(c.Do("HEAD", c.path("namespaces", ns), ""), 404)
			c.ExpectError(c.Do("POST", c.path("namespaces", ns, "properties"), `{"updates":{"a":"b"}}`), 404, "NoSuchNamespaceException", "")
			c.ExpectError(c.Do("DELETE", c.path("namespaces", ns), ""), 404, "NoSuchNamespaceException", "")
			err := c.Catalog().DropNamespace(c.Ctx(), catalog.ToIdentifier(ns))
			if !errors.Is(err, catalog.ErrNoSuchNamespace) {
				c.Errorf("iceberg-go drop: %v, want ErrNoSuchNamespace", err)
			}
		}},
		{"list tables and views of a missing namespace is 404", func(c *C) {
			ns := nsSeg([]string{c.Name("missing")})
			c.ExpectError(c.Do("GET", c.path("namespaces", ns, "tables"), ""), 404, "NoSuchNamespaceException", "")
			c.ExpectError(c.Do("GET", c.path("namespaces", ns, "views"), ""), 404, "NoSuchNamespaceException", "")
		}},
		{"drop non-empty is 409 NamespaceNotEmpty", func(c *C) {
			ns := c.Namespace("full")
			c.createTable(ns, "t")
			r := c.Do("DELETE", c.path("namespaces", nsSeg(ns)), "")
			c.ExpectError(r, 409, "NamespaceNotEmptyException", "is not empty")
			err := c.Catalog().DropNamespace(c.Ctx(), ns)
			if !errors.Is(err, catalog.ErrNamespaceNotEmpty) {
				c.Errorf("iceberg-go: %v, want ErrNamespaceNotEmpty", err)
			}
			withChild := c.Namespace("parent")
			c.Expect(c.Do("POST", c.path("namespaces"), mustJSON(map[string]any{"namespace": append(slices.Clone(withChild), "child")})), 200)
			c.ExpectError(c.Do("DELETE", c.path("namespaces", nsSeg(withChild)), ""), 409, "NamespaceNotEmptyException", "")
		}},
		{"drop empty", func(c *C) {
			cat := c.Catalog()
			ns := catalog.ToIdentifier(c.Name("gone"))
			if err := cat.CreateNamespace(c.Ctx(), ns, nil); err != nil {
				c.Fatal(err)
			}
			if err := cat.DropNamespace(c.Ctx(), ns); err != nil {
				c.Fatalf("drop: %v", err)
			}
			if ok, err := cat.CheckNamespaceExists(c.Ctx(), ns); ok || err != nil {
				c.Errorf("exists after drop: %v %v", ok, err)
			}
		}},
		{"invalid namespace is 400", func(c *C) {
			c.ExpectError(c.DoInvalid("POST", c.path("namespaces"), `{"namespace":[]}`), 400, "BadRequestException", "")
			c.ExpectError(c.DoInvalid("POST", c.path("namespaces"), `{"namespace":"flat"}`), 400, "BadRequestException", "")
		}},
	}
}
