package conformance

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/apache/iceberg-go/catalog"
)

func renameBody(fromNS []string, from string, toNS []string, to string) string {
	return fmt.Sprintf(`{"source":{"namespace":%s,"name":%q},"destination":{"namespace":%s,"name":%q}}`,
		mustJSON(fromNS), from, mustJSON(toNS), to)
}

func renameCases() []Case {
	return []Case{
		{"rename within and across namespaces", func(c *C) {
			cat := c.Catalog()
			ns := c.Namespace("ren")
			other := c.Namespace("ren_other")
			created := c.createTable(ns, "a")
			from := catalog.ToIdentifier(append(slices.Clone(ns), "a")...)
			mid := catalog.ToIdentifier(append(slices.Clone(ns), "b")...)
			to := catalog.ToIdentifier(append(slices.Clone(other), "c")...)
			if _, err := cat.RenameTable(c.Ctx(), from, mid); err != nil {
				c.Fatalf("rename: %v", err)
			}
			if _, err := cat.RenameTable(c.Ctx(), mid, to); err != nil {
				c.Fatalf("rename across namespaces: %v", err)
			}
			for _, gone := range [][]string{from, mid} {
				if ok, err := cat.CheckTableExists(c.Ctx(), gone); ok || err != nil {
					c.Errorf("%v still exists: %v %v", gone, ok, err)
				}
			}
			moved := c.loadTable(other, "c")
			if moved.Metadata.TableUUID != created.Metadata.TableUUID || moved.MetadataLocation != created.MetadataLocation {
				c.Errorf("rename changed the table: %s %s, was %s %s", moved.Metadata.TableUUID, moved.MetadataLocation,
					created.Metadata.TableUUID, created.MetadataLocation)
			}
		}},
		{"missing source is 404 NoSuchTable", func(c *C) {
			ns := c.Namespace("ren")
			r := c.Do("POST", c.path("tables", "rename"), renameBody(ns, "nope", ns, "b"))
			c.ExpectError(r, 404, "NoSuchTableException", "")
			_, err := c.Catalog().RenameTable(c.Ctx(), catalog.ToIdentifier(append(slices.Clone(ns), "nope")...), catalog.ToIdentifier(append(slices.Clone(ns), "b")...))
			if !errors.Is(err, catalog.ErrNoSuchTable) {
				c.Errorf("iceberg-go: %v, want ErrNoSuchTable", err)
			}
		}},
		{"missing target namespace is 404 NoSuchNamespace", func(c *C) {
			ns := c.Namespace("ren")
			c.createTable(ns, "a")
			r := c.Do("POST", c.path("tables", "rename"), renameBody(ns, "a", []string{c.Name("missing")}, "b"))
			c.ExpectError(r, 404, "NoSuchNamespaceException", "")
			c.loadTable(ns, "a")
		}},
		{"target exists is 409 AlreadyExists", func(c *C) {
			ns := c.Namespace("ren")
			a := c.createTable(ns, "a")
			c.createTable(ns, "b")
			r := c.Do("POST", c.path("tables", "rename"), renameBody(ns, "a", ns, "b"))
			c.ExpectError(r, 409, "AlreadyExistsException", "")
			if got := c.loadTable(ns, "a"); got.Metadata.TableUUID != a.Metadata.TableUUID {
				c.Errorf("source changed by a failed rename")
			}
		}},
		{"drop after rename leaves nothing behind", func(c *C) {
			ns := c.Namespace("ren")
			c.createTable(ns, "a")
			c.Expect(c.Do("POST", c.path("tables", "rename"), renameBody(ns, "a", ns, "b")), 204)
			c.Expect(c.Do("DELETE", c.tablePath(ns, "b"), ""), 204)
			c.Expect(c.Do("HEAD", c.tablePath(ns, "a"), ""), 404)
			c.Expect(c.Do("HEAD", c.tablePath(ns, "b"), ""), 404)
			r := c.Do("GET", c.path("namespaces", nsSeg(ns), "tables"), "")
			c.Expect(r, 200)
			var list struct {
				Identifiers []any `json:"identifiers"`
			}
			r.JSON(c, &list)
			if len(list.Identifiers) != 0 {
				c.Errorf("tables left: %s", r.Body)
			}
			c.Expect(c.Do("DELETE", c.path("namespaces", nsSeg(ns)), ""), 204)
		}},
	}
}

func dropCases() []Case {
	return []Case{
		{"drop", func(c *C) {
			cat := c.Catalog()
			ns := c.Namespace("drop")
			res := c.createTable(ns, "t")
			id := catalog.ToIdentifier(append(slices.Clone(ns), "t")...)
			if err := cat.DropTable(c.Ctx(), id); err != nil {
				c.Fatalf("drop: %v", err)
			}
			c.ExpectError(c.Do("GET", c.tablePath(ns, "t"), ""), 404, "NoSuchTableException", "")
			if ok, err := cat.CheckTableExists(c.Ctx(), id); ok || err != nil {
				c.Errorf("exists after drop: %v %v", ok, err)
			}
			// Without purge the files stay: the metadata can be registered again.
			if ex, local := fileExists(res.MetadataLocation); local && !ex {
				c.Errorf("drop without purge deleted %s", res.MetadataLocation)
			}
		}},
		{"drop with purge", func(c *C) {
			ns := c.Namespace("drop")
			res := c.createTable(ns, "t")
			c.Expect(c.commit(ns, "t", `[]`, `[{"action":"set-properties","updates":{"k":"v"}}]`), 200)
			c.Expect(c.Do("DELETE", c.tablePath(ns, "t")+"?purgeRequested=true", ""), 204)
			c.ExpectError(c.Do("GET", c.tablePath(ns, "t"), ""), 404, "NoSuchTableException", "")
			dir := localFile(res.Metadata.Location)
			if dir == "" {
				return // files elsewhere: the suite cannot watch them go
			}
			if p := c.env.target.Purge; p != nil {
				if err := p(c.Ctx()); err != nil {
					c.Fatalf("running the purger: %v", err)
				}
			}
			if !eventually(60*time.Second, func() bool { return len(filesBelow(dir)) == 0 }) {
				c.Errorf("files of the purged table remain: %v", filesBelow(dir))
			}
		}},
		{"drop missing is 404 NoSuchTable", func(c *C) {
			ns := c.Namespace("drop")
			c.ExpectError(c.Do("DELETE", c.tablePath(ns, "nope"), ""), 404, "NoSuchTableException", "")
			err := c.Catalog().DropTable(c.Ctx(), catalog.ToIdentifier(append(slices.Clone(ns), "nope")...))
			if !errors.Is(err, catalog.ErrNoSuchTable) {
				c.Errorf("iceberg-go: %v, want ErrNoSuchTable", err)
			}
			c.createTable(ns, "t")
			c.Expect(c.Do("DELETE", c.tablePath(ns, "t"), ""), 204)
			c.ExpectError(c.Do("DELETE", c.tablePath(ns, "t"), ""), 404, "NoSuchTableException", "")
		}},
	}
}

func filesBelow(dir string) []string {
	var out []string
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	return out
}

func registerCases() []Case {
	return []Case{
		{"register a dropped table's metadata file", func(c *C) {
			ns := c.Namespace("reg")
			res := c.createTable(ns, "t")
			c.Expect(c.commit(ns, "t", `[]`, `[{"action":"set-properties","updates":{"k":"v"}}]`), 200)
			res = c.loadTable(ns, "t")
			c.Expect(c.Do("DELETE", c.tablePath(ns, "t"), ""), 204)
			tbl, err := c.Catalog().RegisterTable(c.Ctx(), catalog.ToIdentifier(append(slices.Clone(ns), "again")...), res.MetadataLocation)
			if err != nil {
				c.Fatalf("register: %v", err)
			}
			if tbl.MetadataLocation() != res.MetadataLocation || tbl.Metadata().TableUUID().String() != res.Metadata.TableUUID || tbl.Properties()["k"] != "v" {
				c.Errorf("registered %s %s, dropped %s %s", tbl.MetadataLocation(), tbl.Metadata().TableUUID(), res.MetadataLocation, res.Metadata.TableUUID)
			}
			// It is a table like any other: commits work.
			c.Expect(c.commit(ns, "again", `[]`, `[{"action":"set-properties","updates":{"k":"w"}}]`), 200)
		}},
		{"register onto an existing name is 409 AlreadyExists", func(c *C) {
			ns := c.Namespace("reg")
			a := c.createTable(ns, "a")
			c.createTable(ns, "b")
			r := c.Do("POST", c.path("namespaces", nsSeg(ns), "register"),
				fmt.Sprintf(`{"name":"b","metadata-location":%q}`, a.MetadataLocation))
			c.ExpectError(r, 409, "AlreadyExistsException", "")
			c.createView(ns, "v")
			r = c.Do("POST", c.path("namespaces", nsSeg(ns), "register"),
				fmt.Sprintf(`{"name":"v","metadata-location":%q}`, a.MetadataLocation))
			c.ExpectError(r, 409, "AlreadyExistsException", "")
		}},
		{"register into a missing namespace is 404 NoSuchNamespace", func(c *C) {
			ns := c.Namespace("reg")
			a := c.createTable(ns, "a")
			r := c.Do("POST", c.path("namespaces", c.Name("missing"), "register"),
				fmt.Sprintf(`{"name":"b","metadata-location":%q}`, a.MetadataLocation))
			c.ExpectError(r, 404, "NoSuchNamespaceException", "")
		}},
	}
}
