package conformance

import (
	"errors"
	"fmt"
	"slices"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"
)

// noClientRetry makes iceberg-go surface the first 409 instead of retrying
// on refreshed metadata, so only the server's own retry is exercised.
var noClientRetry = iceberg.Properties{table.CommitNumRetriesKey: "0"}

const addColumnUpdates = `[{"action":"add-schema","schema":{"type":"struct","schema-id":1,"fields":[
	{"id":1,"name":"id","type":"long","required":true},
	{"id":2,"name":"data","type":"string","required":false},
	{"id":3,"name":%q,"type":"string","required":false}]},"last-column-id":3},
	{"action":"set-current-schema","schema-id":-1}]`

const addSpecUpdates = `[{"action":"add-spec","spec":{"spec-id":1,"fields":[
	{"source-id":1,"field-id":1000,"name":%q,"transform":"bucket[8]"}]}},
	{"action":"set-default-spec","spec-id":-1}]`

const addOrderUpdates = `[{"action":"add-sort-order","sort-order":{"order-id":1,"fields":[
	{"source-id":%d,"transform":"identity","direction":"asc","null-order":"nulls-first"}]}},
	{"action":"set-default-sort-order","sort-order-id":-1}]`

func evolutionCases() []Case {
	return []Case{
		{"schema evolution through iceberg-go", func(c *C) {
			cat := c.Catalog()
			ns := c.Namespace("evo")
			id := catalog.ToIdentifier(append(slices.Clone(ns), "t")...)
			tbl, err := cat.CreateTable(c.Ctx(), id, testSchema())
			if err != nil {
				c.Fatal(err)
			}
			tx := tbl.NewTransaction()
			if err := tx.UpdateSchema(true, false).AddColumn([]string{"score"}, iceberg.PrimitiveTypes.Float64, "", false, nil).Commit(); err != nil {
				c.Fatal(err)
			}
			if _, err := tx.Commit(c.Ctx()); err != nil {
				c.Fatalf("commit: %v", err)
			}
			m := c.loadTable(ns, "t").Metadata
			if m.CurrentSchemaID != 1 || m.LastColumnID != 3 || !slices.Equal(m.fieldNames(), []string{"id", "data", "score"}) {
				c.Errorf("schema %d last-column-id %d fields %v", m.CurrentSchemaID, m.LastColumnID, m.fieldNames())
			}
		}},
		{"schema change: server-side retry after a concurrent append", func(c *C) {
			cat := c.Catalog()
			ns := c.Namespace("evo")
			id := catalog.ToIdentifier(append(slices.Clone(ns), "t")...)
			tbl, err := cat.CreateTable(c.Ctx(), id, testSchema())
			if err != nil {
				c.Fatal(err)
			}
			if _, local := fileExists(tbl.Location()); !local {
				c.Skip("the table location is not on a local file system the suite can write")
			}
			// The schema change is prepared on the table as created (Java's
			// UpdateSchema asserts only the schema and field ids), then
			// another writer appends...
			appended, err := appendRows(c, tbl, []row{{1, "a"}})
			if err != nil {
				c.Fatalf("append: %v", err)
			}
			// ...and the schema change, whose requirements still hold, lands
			// on the latest metadata instead of failing.
			r := c.commit(ns, "t", `[{"type":"assert-current-schema-id","current-schema-id":0},{"type":"assert-last-assigned-field-id","last-assigned-field-id":2}]`,
				fmt.Sprintf(addColumnUpdates, "new_col"))
			c.Expect(r, 200)
			m := c.loadTable(ns, "t").Metadata
			if !slices.Contains(m.fieldNames(), "new_col") {
				c.Errorf("schema change lost: %v", m.fieldNames())
			}
			if m.CurrentSnapshotID == nil || *m.CurrentSnapshotID != appended.CurrentSnapshot().SnapshotID {
				c.Errorf("the concurrent append was lost: current snapshot %v", m.CurrentSnapshotID)
			}
		}},
		{"schema conflict is 409 CommitFailed", func(c *C) {
			ns := c.Namespace("evo")
			c.createTable(ns, "t")
			c.Expect(c.commit(ns, "t", `[{"type":"assert-current-schema-id","current-schema-id":0}]`, fmt.Sprintf(addColumnUpdates, "first")), 200)
			r := c.commit(ns, "t", `[{"type":"assert-current-schema-id","current-schema-id":0}]`, fmt.Sprintf(addColumnUpdates, "second"))
			c.ExpectError(r, 409, "CommitFailedException", "Requirement failed: current schema changed: expected id 0 != 1")
			r = c.commit(ns, "t", `[{"type":"assert-last-assigned-field-id","last-assigned-field-id":2}]`, fmt.Sprintf(addColumnUpdates, "third"))
			c.ExpectError(r, 409, "CommitFailedException", "Requirement failed: last assigned field id changed: expected id 2 != 3")
			if got := c.loadTable(ns, "t").Metadata.fieldNames(); !slices.Equal(got, []string{"id", "data", "first"}) {
				c.Errorf("fields %v after the conflicts", got)
			}
		}},
		{"schema conflict through iceberg-go", func(c *C) {
			ns := c.Namespace("evo")
			id := catalog.ToIdentifier(append(slices.Clone(ns), "t")...)
			tbl, err := c.Catalog().CreateTable(c.Ctx(), id, testSchema(), catalog.WithProperties(noClientRetry))
			if err != nil {
				c.Fatal(err)
			}
			tx1, tx2 := tbl.NewTransaction(), tbl.NewTransaction()
			for i, tx := range []*table.Transaction{tx1, tx2} {
				if err := tx.UpdateSchema(true, false).AddColumn([]string{fmt.Sprintf("col%d", i)}, iceberg.PrimitiveTypes.Int32, "", false, nil).Commit(); err != nil {
					c.Fatal(err)
				}
			}
			if _, err := tx1.Commit(c.Ctx()); err != nil {
				c.Fatalf("first: %v", err)
			}
			if _, err := tx2.Commit(c.Ctx()); !errors.Is(err, table.ErrCommitFailed) {
				c.Errorf("second schema change on the same base: %v, want ErrCommitFailed", err)
			}
		}},
		{"partition spec evolution with server-side retry", func(c *C) {
			ns := c.Namespace("evo")
			c.createTable(ns, "t")
			// A concurrent change the requirements do not cover.
			c.Expect(c.commit(ns, "t", `[]`, `[{"action":"set-properties","updates":{"other":"writer"}}]`), 200)
			r := c.commit(ns, "t", `[{"type":"assert-default-spec-id","default-spec-id":0},{"type":"assert-last-assigned-partition-id","last-assigned-partition-id":999}]`,
				fmt.Sprintf(addSpecUpdates, "id_bucket"))
			c.Expect(r, 200)
			m := c.loadTable(ns, "t").Metadata
			if m.DefaultSpecID != 1 || m.LastPartitionID != 1000 || m.Properties["other"] != "writer" {
				c.Errorf("default-spec-id %d last-partition-id %d properties %v", m.DefaultSpecID, m.LastPartitionID, m.Properties)
			}
		}},
		{"partition spec conflict is 409 CommitFailed", func(c *C) {
			ns := c.Namespace("evo")
			c.createTable(ns, "t")
			c.Expect(c.commit(ns, "t", `[{"type":"assert-default-spec-id","default-spec-id":0}]`, fmt.Sprintf(addSpecUpdates, "b1")), 200)
			r := c.commit(ns, "t", `[{"type":"assert-default-spec-id","default-spec-id":0}]`, fmt.Sprintf(addSpecUpdates, "b2"))
			c.ExpectError(r, 409, "CommitFailedException", "Requirement failed: default partition spec changed: expected id 0 != 1")
			r = c.commit(ns, "t", `[{"type":"assert-last-assigned-partition-id","last-assigned-partition-id":999}]`, fmt.Sprintf(addSpecUpdates, "b3"))
			c.ExpectError(r, 409, "CommitFailedException", "Requirement failed: last assigned partition id changed: expected id 999 != 1000")
		}},
		{"sort order evolution with server-side retry", func(c *C) {
			ns := c.Namespace("evo")
			c.createTable(ns, "t")
			c.Expect(c.commit(ns, "t", `[]`, `[{"action":"set-properties","updates":{"other":"writer"}}]`), 200)
			r := c.commit(ns, "t", `[{"type":"assert-default-sort-order-id","default-sort-order-id":0}]`, fmt.Sprintf(addOrderUpdates, 1))
			c.Expect(r, 200)
			m := c.loadTable(ns, "t").Metadata
			if m.DefaultSortOrder != 1 || m.Properties["other"] != "writer" {
				c.Errorf("default-sort-order-id %d properties %v", m.DefaultSortOrder, m.Properties)
			}
		}},
		{"sort order conflict is 409 CommitFailed", func(c *C) {
			ns := c.Namespace("evo")
			c.createTable(ns, "t")
			c.Expect(c.commit(ns, "t", `[{"type":"assert-default-sort-order-id","default-sort-order-id":0}]`, fmt.Sprintf(addOrderUpdates, 1)), 200)
			r := c.commit(ns, "t", `[{"type":"assert-default-sort-order-id","default-sort-order-id":0}]`, fmt.Sprintf(addOrderUpdates, 2))
			c.ExpectError(r, 409, "CommitFailedException", "Requirement failed: default sort order changed: expected id 0 != 1")
		}},
		{"table UUID mismatch is 409 CommitFailed", func(c *C) {
			ns := c.Namespace("evo")
			res := c.createTable(ns, "t")
			r := c.commit(ns, "t", `[{"type":"assert-table-uuid","uuid":"00000000-0000-0000-0000-000000000001"}]`, `[{"action":"set-properties","updates":{"k":"v"}}]`)
			c.ExpectError(r, 409, "CommitFailedException", "Requirement failed: UUID does not match")
			c.Expect(c.commit(ns, "t", fmt.Sprintf(`[{"type":"assert-table-uuid","uuid":%q}]`, res.Metadata.TableUUID), `[{"action":"set-properties","updates":{"k":"v"}}]`), 200)
		}},
		{"remove unused schemas and specs", func(c *C) {
			ns := c.Namespace("evo")
			c.createTable(ns, "t")
			c.Expect(c.commit(ns, "t", `[]`, fmt.Sprintf(addColumnUpdates, "x")), 200)
			c.Expect(c.commit(ns, "t", `[]`, fmt.Sprintf(addSpecUpdates, "b")), 200)
			r := c.commit(ns, "t", `[]`, `[{"action":"remove-schemas","schema-ids":[0]},{"action":"remove-partition-specs","spec-ids":[0]}]`)
			c.Expect(r, 200)
			m := c.loadTable(ns, "t").Metadata
			if len(m.Schemas) != 1 || m.Schemas[0].ID != 1 || len(m.PartitionSpecs) != 1 || m.PartitionSpecs[0].ID != 1 {
				c.Errorf("after removal: %d schemas, %d specs", len(m.Schemas), len(m.PartitionSpecs))
			}
			// The current schema and the default spec cannot go.
			c.ExpectError(c.commit(ns, "t", `[]`, `[{"action":"remove-schemas","schema-ids":[1]}]`), 400, "BadRequestException", "")
		}},
		{"metadata files are trimmed and deleted after commit", func(c *C) {
			ns := c.Namespace("evo")
			res := c.createTable(ns, "t", `"properties":{"write.metadata.delete-after-commit.enabled":"true","write.metadata.previous-versions-max":"1"}`)
			files := []string{res.MetadataLocation}
			for i := range 3 {
				r := c.commit(ns, "t", `[]`, fmt.Sprintf(`[{"action":"set-properties","updates":{"n":"%d"}}]`, i))
				c.Expect(r, 200)
				var out tableResult
				r.JSON(c, &out)
				files = append(files, out.MetadataLocation)
			}
			m := c.loadTable(ns, "t").Metadata
			if len(m.MetadataLog) != 1 || m.MetadataLog[0].File != files[2] {
				c.Errorf("metadata-log %v, want only %s", m.MetadataLog, files[2])
			}
			for i, f := range files {
				ex, local := fileExists(f)
				if !local {
					break
				}
				if want := i >= 2; ex != want {
					c.Errorf("metadata file %d (%s) exists=%v, want %v", i, f, ex, want)
				}
			}
		}},
		{"commit to a missing table is 404 NoSuchTable", func(c *C) {
			ns := c.Namespace("evo")
			r := c.commit(ns, "nope", `[]`, `[{"action":"set-properties","updates":{"k":"v"}}]`)
			c.ExpectError(r, 404, "NoSuchTableException", "")
		}},
		{"invalid updates are 400 BadRequest", func(c *C) {
			ns := c.Namespace("evo")
			c.createTable(ns, "t")
			c.ExpectError(c.commit(ns, "t", `[]`, `[{"action":"set-current-schema","schema-id":7}]`), 400, "BadRequestException", "")
			c.ExpectError(c.commit(ns, "t", `[]`, `[{"action":"set-default-spec","spec-id":7}]`), 400, "BadRequestException", "")
			r := c.DoInvalid("POST", c.tablePath(ns, "t"), `{"requirements":[],"updates":[{"action":"no-such-action"}]}`)
			c.ExpectError(r, 400, "BadRequestException", "")
		}},
	}
}
