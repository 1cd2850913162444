package conformance

import (
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/rest"
	"github.com/apache/iceberg-go/table"
)

// stageCreate sends a create with stage-create and returns the staged
// metadata; the table must not exist afterwards.
func (c *C) stageCreate(ns []string, name string, props map[string]string) tableResult {
	c.Helper()
	if props == nil {
		props = map[string]string{}
	}
	body := fmt.Sprintf(`{"name":%q,"schema":%s,"stage-create":true,"properties":%s}`, name, schemaJSON, mustJSON(props))
	r := c.Do("POST", c.path("namespaces", nsSeg(ns), "tables"), body)
	c.Expect(r, 200)
	var res tableResult
	r.JSON(c, &res)
	c.Expect(c.Do("HEAD", c.tablePath(ns, name), ""), 404)
	return res
}

// createUpdates are the updates of a create transaction, as Java's
// RESTSessionCatalog sends them: everything of the staged metadata.
func createUpdates(staged tableMetadata, formatVersion int, extraProps map[string]string) string {
	props := map[string]string{}
	for k, v := range staged.Properties {
		props[k] = v
	}
	for k, v := range extraProps {
		props[k] = v
	}
	return fmt.Sprintf(`[
		{"action":"assign-uuid","uuid":%q},
		{"action":"upgrade-format-version","format-version":%d},
		{"action":"add-schema","schema":%s,"last-column-id":2},
		{"action":"set-current-schema","schema-id":-1},
		{"action":"add-spec","spec":{"spec-id":0,"fields":[]}},
		{"action":"set-default-spec","spec-id":-1},
		{"action":"add-sort-order","sort-order":{"order-id":0,"fields":[]}},
		{"action":"set-default-sort-order","sort-order-id":-1},
		{"action":"set-location","location":%q},
		{"action":"set-properties","updates":%s}]`,
		staged.TableUUID, formatVersion, schemaJSON, staged.Location, mustJSON(props))
}

// replaceUpdates replace a table's schema (new field "replaced" with id
// lastColumnID+1), spec and order, keeping its history. Like Java's
// replace transaction it drops the main branch only when there is one.
func replaceUpdates(lastColumnID int, specField string, hasMain bool) string {
	removeMain := ""
	if hasMain {
		removeMain = `{"action":"remove-snapshot-ref","ref-name":"main"},`
	}
	spec := `{"spec-id":0,"fields":[]}`
	if specField != "" {
		spec = fmt.Sprintf(`{"spec-id":1,"fields":[{"source-id":1,"field-id":1000,"name":%q,"transform":"identity"}]}`, specField)
	}
	return fmt.Sprintf(`[
		{"action":"add-schema","schema":{"type":"struct","schema-id":1,"fields":[
			{"id":1,"name":"id","type":"long","required":true},
			{"id":%d,"name":"replaced","type":"string","required":false}]},"last-column-id":%d},
		{"action":"set-current-schema","schema-id":-1},
		{"action":"add-spec","spec":%s},
		{"action":"set-default-spec","spec-id":-1},
		{"action":"add-sort-order","sort-order":{"order-id":0,"fields":[]}},
		{"action":"set-default-sort-order","sort-order-id":-1},
		%s
		{"action":"set-properties","updates":{"replaced":"true"}}]`, lastColumnID+1, lastColumnID+1, spec, removeMain)
}

func transactionCases() []Case {
	var out []Case
	for _, v := range []int{1, 2, 3} {
		out = append(out, Case{fmt.Sprintf("create transaction, format v%d: stage-create then assert-create", v), func(c *C) {
			ns := c.Namespace("txn")
			staged := c.stageCreate(ns, "t", map[string]string{"format-version": fmt.Sprint(v)})
			r := c.commit(ns, "t", `[{"type":"assert-create"}]`, createUpdates(staged.Metadata, v, map[string]string{"prop1": "val1"}))
			c.Expect(r, 200)
			m := c.loadTable(ns, "t").Metadata
			if m.FormatVersion != v || m.TableUUID != staged.Metadata.TableUUID || m.Properties["prop1"] != "val1" || m.LastColumnID != 2 {
				c.Errorf("created: format %d uuid %s (staged %s) props %v last-column-id %d", m.FormatVersion, m.TableUUID, staged.Metadata.TableUUID, m.Properties, m.LastColumnID)
			}
			for k, val := range prefixed(c.env.config.Overrides, "table-override.") {
				if m.Properties[k] != val {
					c.Errorf("override %s=%q lost in the create transaction: %v", k, val, m.Properties)
				}
			}
		}})
	}
	return append(out, []Case{
		{"create transaction through iceberg-go (staged updates)", func(c *C) {
			ns := c.Namespace("txn")
			id := catalog.ToIdentifier(append(slices.Clone(ns), "t")...)
			tbl, err := c.Catalog().CreateTable(c.Ctx(), id, testSchema(),
				catalog.WithStagedUpdates(table.NewSetPropertiesUpdate(iceberg.Properties{"staged": "yes"})))
			if err != nil {
				c.Fatalf("staged create: %v", err)
			}
			if tbl.Properties()["staged"] != "yes" {
				c.Errorf("staged update lost: %v", tbl.Properties())
			}
			if m := c.loadTable(ns, "t").Metadata; m.Properties["staged"] != "yes" {
				c.Errorf("loaded: %v", m.Properties)
			}
		}},
		{"concurrent create transactions: one wins, the other is 409", func(c *C) {
			ns := c.Namespace("txn")
			s1 := c.stageCreate(ns, "t", nil)
			s2 := c.stageCreate(ns, "t", nil)
			c.Expect(c.commit(ns, "t", `[{"type":"assert-create"}]`, createUpdates(s1.Metadata, 2, nil)), 200)
			r := c.commit(ns, "t", `[{"type":"assert-create"}]`, createUpdates(s2.Metadata, 2, nil))
			c.ExpectError(r, 409, "CommitFailedException", "Requirement failed: table already exists")
			if m := c.loadTable(ns, "t").Metadata; m.TableUUID != s1.Metadata.TableUUID {
				c.Errorf("the losing create replaced the table")
			}
			// And a staged create onto an existing table fails at once.
			r = c.Do("POST", c.path("namespaces", nsSeg(ns), "tables"), `{"name":"t","schema":`+schemaJSON+`,"stage-create":true}`)
			c.ExpectErrorPrefix(r, 409, "AlreadyExistsException", "Table already exists: "+dotted(ns, "t"))
		}},
		{"concurrent create through iceberg-go", func(c *C) {
			ns := c.Namespace("txn")
			id := catalog.ToIdentifier(append(slices.Clone(ns), "t")...)
			const n = 4
			errs := make([]error, n)
			cats := make([]*rest.Catalog, n)
			for i := range n {
				cats[i] = c.Catalog()
			}
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[i] = cats[i].CreateTable(c.Ctx(), id, testSchema(),
						catalog.WithStagedUpdates(table.NewSetPropertiesUpdate(iceberg.Properties{"writer": fmt.Sprint(i)})))
				}()
			}
			wg.Wait()
			won := 0
			for i, err := range errs {
				switch {
				case err == nil:
					won++
				case errors.Is(err, table.ErrCommitFailed), errors.Is(err, catalog.ErrTableAlreadyExists):
				default:
					c.Errorf("writer %d: %v", i, err)
				}
			}
			if won != 1 {
				c.Errorf("%d concurrent creates succeeded, want exactly 1", won)
			}
		}},
		{"replace transaction keeps the history", func(c *C) {
			cat := c.Catalog()
			ns := c.Namespace("txn")
			id := catalog.ToIdentifier(append(slices.Clone(ns), "t")...)
			tbl, err := cat.CreateTable(c.Ctx(), id, testSchema())
			if err != nil {
				c.Fatal(err)
			}
			if _, local := fileExists(tbl.Location()); local {
				if _, err := appendRows(c, tbl, []row{{1, "a"}}); err != nil {
					c.Fatal(err)
				}
			}
			before := c.loadTable(ns, "t").Metadata
			reqs := fmt.Sprintf(`[{"type":"assert-table-uuid","uuid":%q},{"type":"assert-last-assigned-field-id","last-assigned-field-id":%d},{"type":"assert-current-schema-id","current-schema-id":%d}]`,
				before.TableUUID, before.LastColumnID, before.CurrentSchemaID)
			c.Expect(c.commit(ns, "t", reqs, replaceUpdates(before.LastColumnID, "", before.Refs["main"].ID != 0)), 200)
			after := c.loadTable(ns, "t").Metadata
			if after.TableUUID != before.TableUUID || !slices.Equal(after.fieldNames(), []string{"id", "replaced"}) {
				c.Errorf("replaced: uuid %s fields %v", after.TableUUID, after.fieldNames())
			}
			if len(after.Snapshots) != len(before.Snapshots) || len(after.SnapshotLog) < len(before.SnapshotLog) {
				c.Errorf("history lost: %d snapshots (had %d), snapshot-log %d (had %d)", len(after.Snapshots), len(before.Snapshots), len(after.SnapshotLog), len(before.SnapshotLog))
			}
			if after.CurrentSnapshotID != nil && *after.CurrentSnapshotID != -1 {
				c.Errorf("replaced table still has current snapshot %d", *after.CurrentSnapshotID)
			}
		}},
		{"create-or-replace: creates when missing, replaces when present", func(c *C) {
			ns := c.Namespace("txn")
			// Missing: a create transaction.
			staged := c.stageCreate(ns, "t", nil)
			c.Expect(c.commit(ns, "t", `[{"type":"assert-create"}]`, createUpdates(staged.Metadata, 2, nil)), 200)
			// Present: a replace on the loaded metadata.
			m := c.loadTable(ns, "t").Metadata
			reqs := fmt.Sprintf(`[{"type":"assert-table-uuid","uuid":%q}]`, m.TableUUID)
			c.Expect(c.commit(ns, "t", reqs, replaceUpdates(m.LastColumnID, "", false)), 200)
			if got := c.loadTable(ns, "t").Metadata.fieldNames(); !slices.Equal(got, []string{"id", "replaced"}) {
				c.Errorf("fields %v", got)
			}
		}},
		{"concurrent replace: schema conflict is 409", func(c *C) {
			ns := c.Namespace("txn")
			c.createTable(ns, "t")
			m := c.loadTable(ns, "t").Metadata
			reqs := fmt.Sprintf(`[{"type":"assert-table-uuid","uuid":%q},{"type":"assert-last-assigned-field-id","last-assigned-field-id":%d}]`, m.TableUUID, m.LastColumnID)
			c.Expect(c.commit(ns, "t", reqs, replaceUpdates(m.LastColumnID, "", false)), 200)
			r := c.commit(ns, "t", reqs, replaceUpdates(m.LastColumnID, "", false))
			c.ExpectError(r, 409, "CommitFailedException", "last assigned field id changed")
		}},
		{"concurrent replace: spec conflict is 409", func(c *C) {
			ns := c.Namespace("txn")
			c.createTable(ns, "t")
			m := c.loadTable(ns, "t").Metadata
			reqs := fmt.Sprintf(`[{"type":"assert-table-uuid","uuid":%q},{"type":"assert-last-assigned-partition-id","last-assigned-partition-id":%d}]`, m.TableUUID, m.LastPartitionID)
			c.Expect(c.commit(ns, "t", reqs, replaceUpdates(m.LastColumnID, "p1", false)), 200)
			m2 := c.loadTable(ns, "t").Metadata
			r := c.commit(ns, "t", reqs, replaceUpdates(m2.LastColumnID, "p2", false))
			c.ExpectError(r, 409, "CommitFailedException", "last assigned partition id changed")
		}},
		{"multi-table transaction is all or nothing", func(c *C) {
			ns := c.Namespace("txn")
			a := c.createTable(ns, "a")
			c.createTable(ns, "b")
			change := func(name, uuid, val string) string {
				return fmt.Sprintf(`{"identifier":{"namespace":%s,"name":%q},"requirements":[{"type":"assert-table-uuid","uuid":%q}],"updates":[{"action":"set-properties","updates":{"run":%q}}]}`,
					mustJSON(ns), name, uuid, val)
			}
			bad := `{"table-changes":[` + change("a", a.Metadata.TableUUID, "1") + "," + change("b", "00000000-0000-0000-0000-000000000001", "1") + `]}`
			c.ExpectError(c.Do("POST", c.path("transactions", "commit"), bad), 409, "CommitFailedException", "")
			if p := c.loadTable(ns, "a").Metadata.Properties["run"]; p != "" {
				c.Errorf("a failed transaction changed table a: run=%q", p)
			}
			// Through iceberg-go.
			cat := c.Catalog()
			ta, err := cat.LoadTable(c.Ctx(), catalog.ToIdentifier(append(slices.Clone(ns), "a")...))
			if err != nil {
				c.Fatal(err)
			}
			tb, err := cat.LoadTable(c.Ctx(), catalog.ToIdentifier(append(slices.Clone(ns), "b")...))
			if err != nil {
				c.Fatal(err)
			}
			mtx, err := catalog.NewMultiTableTransaction(cat)
			if err != nil {
				c.Fatal(err)
			}
			for _, t := range []*table.Table{ta, tb} {
				tx := t.NewTransaction()
				if err := tx.SetProperties(iceberg.Properties{"run": "2"}); err != nil {
					c.Fatal(err)
				}
				if err := mtx.AddTransaction(tx); err != nil {
					c.Fatal(err)
				}
			}
			if err := mtx.Commit(c.Ctx()); err != nil {
				c.Fatalf("multi-table commit: %v", err)
			}
			for _, n := range []string{"a", "b"} {
				if p := c.loadTable(ns, n).Metadata.Properties["run"]; p != "2" {
					c.Errorf("%s: run=%q after the transaction", n, p)
				}
			}
		}},
		{"create transaction onto a view's name is 409", func(c *C) {
			ns := c.Namespace("txn")
			c.createView(ns, "v")
			r := c.Do("POST", c.path("namespaces", nsSeg(ns), "tables"), `{"name":"v","schema":`+schemaJSON+`,"stage-create":true}`)
			c.ExpectError(r, 409, "AlreadyExistsException", "View with same name already exists")
			staged := c.stageCreate(ns, "t", nil)
			r = c.commit(ns, "v", `[{"type":"assert-create"}]`, createUpdates(staged.Metadata, 2, nil))
			c.ExpectError(r, 409, "AlreadyExistsException", "View with same name already exists")
		}},
	}...)
}
