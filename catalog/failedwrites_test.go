package catalog_test

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"testing"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/bingsan/bingsan/catalog"
	"github.com/bingsan/bingsan/errs"
)

// A create, register, rename or staged create that fails leaves the
// warehouse as it found it: no metadata file and no directory, whether it
// failed before storage was touched (the namespace or the name) or after
// (the insert lost).
func TestFailedWritesLeaveNoFiles(t *testing.T) {
	ctx := context.Background()
	e := setup(t, catalog.Options{})
	existing := e.mustCreate(t, ident("ns", "taken"), nil)
	e.mustCreateView(t, ident("ns", "a_view"), nil)
	staged, err := e.svc.CreateTable(ctx, catalog.CreateTableInput{
		Ident: ident("ns", "staged"), Schema: schemaOf(t, schemaJSON), StageCreate: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	stagedMeta := parse(t, staged.Metadata)

	cases := []struct {
		name string
		do   func() error
		want errs.Kind
	}{
		{"create in a missing namespace", func() error {
			_, err := e.svc.CreateTable(ctx, catalog.CreateTableInput{Ident: ident("missing", "t"), Schema: schemaOf(t, schemaJSON)})
			return err
		}, errs.NoSuchNamespace},
		{"create over a table", func() error {
			_, err := e.svc.CreateTable(ctx, catalog.CreateTableInput{Ident: ident("ns", "taken"), Schema: schemaOf(t, schemaJSON)})
			return err
		}, errs.AlreadyExists},
		{"create over a view", func() error {
			_, err := e.svc.CreateTable(ctx, catalog.CreateTableInput{Ident: ident("ns", "a_view"), Schema: schemaOf(t, schemaJSON)})
			return err
		}, errs.AlreadyExists},
		{"create in another table's location", func() error {
			_, err := e.svc.CreateTable(ctx, catalog.CreateTableInput{
				Ident: ident("ns", "squatter"), Schema: schemaOf(t, schemaJSON), Location: parse(t, existing.Metadata).Location(),
			})
			return err
		}, errs.AlreadyExists},
		{"create with a partition field on a missing column", func() error {
			_, err := e.svc.CreateTable(ctx, catalog.CreateTableInput{
				Ident: ident("ns", "bad_spec"), Schema: schemaOf(t, schemaJSON),
				PartitionSpec: specOf(t, `{"fields":[{"source-id":99,"field-id":1000,"name":"p","transform":"identity"}]}`),
			})
			return err
		}, errs.BadRequest},
		{"staged create committed into a missing namespace", func() error {
			_, err := e.commit(ident("missing", "t"), `[{"type":"assert-create"}]`, stagedCreateUpdates(t, stagedMeta))
			return err
		}, errs.NoSuchNamespace},
		{"staged create committed over a table", func() error {
			// The staged metadata's own location is free (a fresh UUID);
			// the name is not, which only the insert finds out.
			fresh := stagedCreateUpdates(t, stagedMeta, table.NewSetPropertiesUpdate(iceberg.Properties{"x": "1"}))
			_, err := e.commit(ident("ns", "taken"), `[{"type":"assert-create"}]`, fresh)
			return err
		}, errs.CommitFailed},
		{"register in a missing namespace", func() error {
			_, err := e.svc.RegisterTable(ctx, ident("missing", "t"), existing.MetadataLocation, false)
			return err
		}, errs.NoSuchNamespace},
		{"view in a missing namespace", func() error {
			_, err := e.createView(ident("missing", "v"), "", nil)
			return err
		}, errs.NoSuchNamespace},
		{"rename into a missing namespace", func() error {
			return e.svc.RenameTable(ctx, ident("ns", "taken"), ident("missing", "t"))
		}, errs.NoSuchNamespace},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := warehouseTree(t, e.dir)
			err := c.do()
			wantKind(t, err, c.want)
			if after := warehouseTree(t, e.dir); !slices.Equal(before, after) {
				t.Errorf("the warehouse changed:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
}

// warehouseTree lists every file and directory below dir, sorted.
func warehouseTree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		out = append(out, p)
		return nil
	})
	if err != nil {
		t.Fatalf("walking %s: %v", dir, err)
	}
	return out
}

// Staged creates of one name committed at once: the ones that lose the
// insert after writing their first file leave neither the file nor its
// directories, and exactly one table exists, in the winner's directory.
func TestRacingStagedCreatesLeaveOneTable(t *testing.T) {
	ctx := context.Background()
	e := setup(t, catalog.Options{})
	// The namespace's directory comes with its first table and belongs to
	// the namespace (its drop removes it), not to the creates.
	e.mustCreate(t, ident("ns", "first"), nil)
	const racers = 4
	for round := range 5 {
		name := fmt.Sprintf("raced_%d", round)
		before := warehouseTree(t, e.dir)
		upds := make([]string, racers)
		for i := range upds {
			staged, err := e.svc.CreateTable(ctx, catalog.CreateTableInput{
				Ident: ident("ns", name), Schema: schemaOf(t, schemaJSON), StageCreate: true,
			})
			if err != nil {
				t.Fatal(err)
			}
			upds[i] = stagedCreateUpdates(t, parse(t, staged.Metadata))
		}
		errc := make(chan error, racers)
		for _, u := range upds {
			go func() {
				_, err := e.commit(ident("ns", name), `[{"type":"assert-create"}]`, u)
				errc <- err
			}()
		}
		won := 0
		for range racers {
			if err := <-errc; err == nil {
				won++
			} else if !errs.Is(err, errs.CommitFailed) && !errs.Is(err, errs.AlreadyExists) {
				t.Fatalf("round %d: a losing create: %v", round, err)
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d creates won", round, won)
		}
		res, m := e.load(t, ident("ns", name))
		var added []string
		for _, p := range warehouseTree(t, e.dir) {
			if !slices.Contains(before, p) {
				added = append(added, p)
			}
		}
		tableDir := localPath(m.Location())
		want := []string{tableDir, filepath.Join(tableDir, "metadata"), localPath(res.MetadataLocation)}
		if !slices.Equal(added, want) {
			t.Errorf("round %d: the races added %v, want only the winner's %v", round, added, want)
		}
	}
}
