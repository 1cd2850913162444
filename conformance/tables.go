package conformance

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"
)

// schemaJSON is the schema of the raw-HTTP test tables: id long required,
// data string.
const schemaJSON = `{"type":"struct","schema-id":0,"fields":[
	{"id":1,"name":"id","type":"long","required":true},
	{"id":2,"name":"data","type":"string","required":false}]}`

// testSchema is schemaJSON for iceberg-go.
func testSchema() *iceberg.Schema {
	return iceberg.NewSchema(0,
		iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64, Required: true},
		iceberg.NestedField{ID: 2, Name: "data", Type: iceberg.PrimitiveTypes.String},
	)
}

// tableResult is the part of LoadTableResult the cases read.
type tableResult struct {
	MetadataLocation string        `json:"metadata-location"`
	Metadata         tableMetadata `json:"metadata"`
	Config           map[string]string
}

type tableMetadata struct {
	FormatVersion     int               `json:"format-version"`
	TableUUID         string            `json:"table-uuid"`
	Location          string            `json:"location"`
	LastColumnID      int               `json:"last-column-id"`
	CurrentSchemaID   int               `json:"current-schema-id"`
	DefaultSpecID     int               `json:"default-spec-id"`
	LastPartitionID   int               `json:"last-partition-id"`
	DefaultSortOrder  int               `json:"default-sort-order-id"`
	Properties        map[string]string `json:"properties"`
	CurrentSnapshotID *int64            `json:"current-snapshot-id"`
	Schemas           []struct {
		ID     int `json:"schema-id"`
		Fields []struct {
			ID   int    `json:"id"`
			Name string `json:"name"`
		} `json:"fields"`
	} `json:"schemas"`
	PartitionSpecs []struct {
		ID     int `json:"spec-id"`
		Fields []struct {
			FieldID   int    `json:"field-id"`
			SourceID  int    `json:"source-id"`
			Name      string `json:"name"`
			Transform string `json:"transform"`
		} `json:"fields"`
	} `json:"partition-specs"`
	SortOrders []struct {
		ID     int `json:"order-id"`
		Fields []struct {
			SourceID  int    `json:"source-id"`
			Transform string `json:"transform"`
			Direction string `json:"direction"`
		} `json:"fields"`
	} `json:"sort-orders"`
	Snapshots []struct {
		ID     int64  `json:"snapshot-id"`
		Parent *int64 `json:"parent-snapshot-id"`
	} `json:"snapshots"`
	SnapshotLog []struct {
		ID int64 `json:"snapshot-id"`
	} `json:"snapshot-log"`
	MetadataLog []struct {
		File string `json:"metadata-file"`
	} `json:"metadata-log"`
	Refs map[string]struct {
		ID   int64  `json:"snapshot-id"`
		Type string `json:"type"`
	} `json:"refs"`
}

func (m tableMetadata) fieldNames() []string {
	for _, s := range m.Schemas {
		if s.ID == m.CurrentSchemaID {
			var out []string
			for _, f := range s.Fields {
				out = append(out, f.Name)
			}
			return out
		}
	}
	return nil
}

func (c *C) tablePath(ns []string, name string) string {
	return c.path("namespaces", nsSeg(ns), "tables", name)
}

// createTable creates ns.name with schemaJSON over raw HTTP.
func (c *C) createTable(ns []string, name string, extra ...string) tableResult {
	c.Helper()
	body := `{"name":` + mustJSON(name) + `,"schema":` + schemaJSON
	for _, e := range extra {
		body += "," + e
	}
	body += "}"
	r := c.Do("POST", c.path("namespaces", nsSeg(ns), "tables"), body)
	c.Expect(r, 200)
	var res tableResult
	r.JSON(c, &res)
	return res
}

// loadTable loads ns.name over raw HTTP; it must exist.
func (c *C) loadTable(ns []string, name string) tableResult {
	c.Helper()
	r := c.Do("GET", c.tablePath(ns, name), "")
	c.Expect(r, 200)
	var res tableResult
	r.JSON(c, &res)
	return res
}

// commit posts a commit-table request and returns the response.
func (c *C) commit(ns []string, name, requirements, updates string) *Response {
	c.Helper()
	body := fmt.Sprintf(`{"identifier":{"namespace":%s,"name":%s},"requirements":%s,"updates":%s}`,
		mustJSON(ns), mustJSON(name), requirements, updates)
	return c.Do("POST", c.tablePath(ns, name), body)
}

// localFile returns the local path of a file:// (or plain path) location,
// or "" when the location is not on this machine.
func localFile(loc string) string {
	u, err := url.Parse(loc)
	if err != nil {
		return ""
	}
	switch {
	case u.Scheme == "file" && (u.Host == "" || u.Host == "localhost"):
		return u.Path
	case u.Scheme == "" && strings.HasPrefix(loc, "/"):
		return loc
	}
	return ""
}

// fileExists reports whether a local location exists; ok is false when the
// location is not local.
func fileExists(loc string) (exists, ok bool) {
	p := localFile(loc)
	if p == "" {
		return false, false
	}
	_, err := os.Stat(p)
	return err == nil, true
}

func tableCases() []Case {
	return []Case{
		{"create and load through iceberg-go", func(c *C) {
			cat := c.Catalog()
			ns := c.Namespace("tbl")
			id := catalog.ToIdentifier(append(slices.Clone(ns), "basic")...)
			if ok, err := cat.CheckTableExists(c.Ctx(), id); ok || err != nil {
				c.Fatalf("exists before create: %v %v", ok, err)
			}
			tbl, err := cat.CreateTable(c.Ctx(), id, testSchema())
			if err != nil {
				c.Fatalf("create: %v", err)
			}
			if !tbl.Schema().Equals(testSchema()) || !tbl.Spec().IsUnpartitioned() || !tbl.SortOrder().IsUnsorted() || tbl.Location() == "" {
				c.Errorf("created table: schema %s spec %s order %s location %q", tbl.Schema(), tbl.Spec(), tbl.SortOrder(), tbl.Location())
			}
			if ex, local := fileExists(tbl.MetadataLocation()); local && !ex {
				c.Errorf("metadata file %s does not exist", tbl.MetadataLocation())
			}
			loaded, err := cat.LoadTable(c.Ctx(), id)
			if err != nil {
				c.Fatalf("load: %v", err)
			}
			if loaded.MetadataLocation() != tbl.MetadataLocation() || loaded.Metadata().TableUUID() != tbl.Metadata().TableUUID() {
				c.Errorf("load: %s %s, created %s %s", loaded.MetadataLocation(), loaded.Metadata().TableUUID(), tbl.MetadataLocation(), tbl.Metadata().TableUUID())
			}
			if ok, err := cat.CheckTableExists(c.Ctx(), id); !ok || err != nil {
				c.Errorf("exists after create: %v %v", ok, err)
			}
			c.Expect(c.Do("HEAD", c.tablePath(ns, "basic"), ""), 204)
		}},
		{"complete create: location, spec, sort order, properties", func(c *C) {
			cat := c.Catalog()
			ns := c.Namespace("tbl")
			base, err := cat.CreateTable(c.Ctx(), catalog.ToIdentifier(append(slices.Clone(ns), "probe")...), testSchema())
			if err != nil {
				c.Fatal(err)
			}
			loc := strings.TrimSuffix(base.Location(), "/") + "_custom"
			spec := iceberg.NewPartitionSpec(iceberg.PartitionField{SourceIDs: []int{1}, FieldID: 1000, Name: "id_bucket", Transform: iceberg.BucketTransform{NumBuckets: 16}})
			order, err := table.NewSortOrder(1, []table.SortField{{SourceIDs: []int{2}, Transform: iceberg.IdentityTransform{}, Direction: table.SortASC, NullOrder: table.NullsFirst}})
			if err != nil {
				c.Fatal(err)
			}
			props := iceberg.Properties{"user": "someone", "created-at": "2022-02-25T00:38:19"}
			id := catalog.ToIdentifier(append(slices.Clone(ns), "complete")...)
			tbl, err := cat.CreateTable(c.Ctx(), id, testSchema(), catalog.WithLocation(loc),
				catalog.WithPartitionSpec(&spec), catalog.WithSortOrder(order), catalog.WithProperties(props))
			if err != nil {
				c.Fatalf("create: %v", err)
			}
			tbl, err = cat.LoadTable(c.Ctx(), id)
			if err != nil {
				c.Fatal(err)
			}
			if strings.TrimSuffix(tbl.Location(), "/") != loc {
				c.Errorf("location %s, want %s", tbl.Location(), loc)
			}
			gotSpec := tbl.Spec()
			if gotSpec.NumFields() != 1 || gotSpec.Field(0).Name != "id_bucket" || !slices.Equal(gotSpec.Field(0).SourceIDs, []int{1}) ||
				!gotSpec.Field(0).Transform.Equals(iceberg.BucketTransform{NumBuckets: 16}) {
				c.Errorf("spec %s", gotSpec)
			}
			gotOrder := tbl.SortOrder()
			if gotOrder.Len() != 1 || gotOrder.OrderID() < 1 {
				c.Errorf("sort order %s", gotOrder)
			}
			for k, v := range props {
				if tbl.Properties()[k] != v {
					c.Errorf("property %s=%q, want %q", k, tbl.Properties()[k], v)
				}
			}
		}},
		{"create existing is 409 AlreadyExists", func(c *C) {
			ns := c.Namespace("tbl")
			c.createTable(ns, "dup")
			r := c.Do("POST", c.path("namespaces", nsSeg(ns), "tables"), `{"name":"dup","schema":`+schemaJSON+`}`)
			c.ExpectErrorPrefix(r, 409, "AlreadyExistsException", "Table already exists: "+dotted(ns, "dup"))
			_, err := c.Catalog().CreateTable(c.Ctx(), catalog.ToIdentifier(append(slices.Clone(ns), "dup")...), testSchema())
			if !errors.Is(err, catalog.ErrTableAlreadyExists) {
				c.Errorf("iceberg-go: %v, want ErrTableAlreadyExists", err)
			}
		}},
		{"create in a missing namespace is 404 NoSuchNamespace", func(c *C) {
			ns := []string{c.Name("missing")}
			r := c.Do("POST", c.path("namespaces", nsSeg(ns), "tables"), `{"name":"t","schema":`+schemaJSON+`}`)
			c.ExpectError(r, 404, "NoSuchNamespaceException", "")
			_, err := c.Catalog().CreateTable(c.Ctx(), catalog.ToIdentifier(ns[0], "t"), testSchema())
			if !errors.Is(err, catalog.ErrNoSuchNamespace) {
				c.Errorf("iceberg-go: %v, want ErrNoSuchNamespace", err)
			}
		}},
		{"default table properties from the catalog config", func(c *C) {
			defaults := prefixed(c.env.config.Defaults, "table-default.")
			if len(defaults) == 0 {
				c.Skip("the catalog's /v1/config has no table-default.* keys")
			}
			ns := c.Namespace("tbl")
			var key string
			for k := range defaults {
				key = k
				break
			}
			res := c.createTable(ns, "defaults", `"properties":{`+mustJSON(key)+`:"from-request","prop1":"val1"}`)
			for k, v := range defaults {
				want := v
				if k == key {
					want = "from-request"
				}
				if ov, ok := prefixed(c.env.config.Overrides, "table-override.")[k]; ok {
					want = ov
				}
				if got := res.Metadata.Properties[k]; got != want {
					c.Errorf("property %s=%q, want %q", k, got, want)
				}
			}
			if res.Metadata.Properties["prop1"] != "val1" {
				c.Errorf("request property lost: %v", res.Metadata.Properties)
			}
		}},
		{"override table properties from the catalog config", func(c *C) {
			overrides := prefixed(c.env.config.Overrides, "table-override.")
			if len(overrides) == 0 {
				c.Skip("the catalog's /v1/config has no table-override.* keys")
			}
			ns := c.Namespace("tbl")
			props := map[string]string{"prop1": "val1"}
			for k := range overrides {
				props[k] = "from-request"
			}
			res := c.createTable(ns, "overrides", `"properties":`+mustJSON(props))
			for k, v := range overrides {
				if got := res.Metadata.Properties[k]; got != v {
					c.Errorf("property %s=%q, want the override %q", k, got, v)
				}
			}
			if loaded := c.loadTable(ns, "overrides"); loaded.Metadata.Properties["prop1"] != "val1" {
				c.Errorf("request property lost: %v", loaded.Metadata.Properties)
			}
		}},
		{"load missing is 404 NoSuchTable, also in a missing namespace", func(c *C) {
			ns := c.Namespace("tbl")
			c.ExpectError(c.Do("GET", c.tablePath(ns, "nope"), ""), 404, "NoSuchTableException", "")
			c.Expect(c.Do("HEAD", c.tablePath(ns, "nope"), ""), 404)
			missing := []string{c.Name("missing")}
			c.ExpectError(c.Do("GET", c.tablePath(missing, "nope"), ""), 404, "NoSuchTableException", "")
			_, err := c.Catalog().LoadTable(c.Ctx(), catalog.ToIdentifier(missing[0], "nope"))
			if !errors.Is(err, catalog.ErrNoSuchTable) {
				c.Errorf("iceberg-go: %v, want ErrNoSuchTable", err)
			}
		}},
		{"load a table whose metadata file is missing is 404 NotFound", func(c *C) {
			ns := c.Namespace("tbl")
			res := c.createTable(ns, "lost")
			p := localFile(res.MetadataLocation)
			if p == "" {
				c.Skip("metadata is not on a local file system")
			}
			if err := os.Remove(p); err != nil {
				c.Skipf("cannot delete the metadata file: %v", err)
			}
			r := c.Do("GET", c.tablePath(ns, "lost"), "")
			c.ExpectError(r, 404, "NotFoundException", "Failed to open input stream for file: "+res.MetadataLocation)
		}},
		{"list tables, not views", func(c *C) {
			ns := c.Namespace("tbl")
			c.createTable(ns, "t1")
			c.createTable(ns, "t2")
			c.createView(ns, "v1")
			var got []string
			for id, err := range c.Catalog().ListTables(c.Ctx(), ns) {
				if err != nil {
					c.Fatal(err)
				}
				got = append(got, id[len(id)-1])
			}
			slices.Sort(got)
			if !slices.Equal(got, []string{"t1", "t2"}) {
				c.Errorf("tables %v, want [t1 t2]", got)
			}
		}},
		{"ETag and If-None-Match", func(c *C) {
			ns := c.Namespace("tbl")
			c.createTable(ns, "t")
			r := c.Do("GET", c.tablePath(ns, "t"), "")
			c.Expect(r, 200)
			tag := r.Header.Get("ETag")
			if tag == "" {
				c.Skip("the catalog sends no ETag")
			}
			r = c.do(c.ctx, "GET", c.tablePath(ns, "t"), "", map[string][]string{"If-None-Match": {tag}})
			c.Expect(r, 304)
			c.Expect(c.commit(ns, "t", `[]`, `[{"action":"set-properties","updates":{"k":"v"}}]`), 200)
			r = c.do(c.ctx, "GET", c.tablePath(ns, "t"), "", map[string][]string{"If-None-Match": {tag}})
			c.Expect(r, 200)
		}},
		{"snapshots=refs", func(c *C) {
			ns := c.Namespace("tbl")
			c.createTable(ns, "t")
			c.Expect(c.Do("GET", c.tablePath(ns, "t")+"?snapshots=refs", ""), 200)
			c.Expect(c.Do("GET", c.tablePath(ns, "t")+"?snapshots=all", ""), 200)
		}},
		{"invalid schemas are 400 BadRequest", func(c *C) {
			ns := c.Namespace("tbl")
			for i, sc := range []string{
				`{"type":"struct","fields":[{"id":1,"name":"a","type":"varchar(3)","required":true}]}`,
				`{"type":"struct","fields":[{"id":1,"name":"a","type":"long","required":true},{"id":1,"name":"b","type":"long","required":true}]}`,
				`{"type":"struct","fields":[{"id":1,"name":"a","type":"long","required":true},{"id":2,"name":"a","type":"long","required":true}]}`,
				`{"type":"struct","fields":[{"id":1,"name":"a","type":{"type":"list","element-id":1,"element":"int","element-required":true},"required":true}]}`,
				`{"type":"struct","fields":[{"id":1,"name":"a","type":"long","required":true}],"identifier-field-ids":[7]}`,
				`{"type":"struct"}`,
			} {
				r := c.DoInvalid("POST", c.path("namespaces", nsSeg(ns), "tables"), fmt.Sprintf(`{"name":"bad%d","schema":%s}`, i, sc))
				c.ExpectError(r, 400, "BadRequestException", "")
				c.Expect(c.Do("HEAD", c.tablePath(ns, fmt.Sprintf("bad%d", i)), ""), 404)
			}
		}},
		{"report metrics is 204", func(c *C) {
			ns := c.Namespace("tbl")
			c.createTable(ns, "t")
			body := fmt.Sprintf(`{"report-type":"commit-report","table-name":%q,"snapshot-id":1,"sequence-number":1,"operation":"append",
				"metrics":{"total-duration":{"count":1,"time-unit":"nanoseconds","total-duration":5}}}`, dotted(ns, "t"))
			c.Expect(c.Do("POST", c.tablePath(ns, "t")+"/metrics", body), 204)
		}},
	}
}

// prefixed returns the keys of m that start with prefix, without it.
func prefixed(m map[string]string, prefix string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		if name, ok := strings.CutPrefix(k, prefix); ok && name != "" {
			out[name] = v
		}
	}
	return out
}

// eventually polls cond until it holds or the timeout passes.
func eventually(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}
