package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/bingsan/bingsan/config"
	"github.com/bingsan/bingsan/store/migrate"
)

func migrateCmd(ctx context.Context, cfg config.Config, args []string, out io.Writer) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: bingsan migrate up|down|status [flags]")
	}
	st, err := openStore(ctx, cfg, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	switch args[0] {
	case "up":
		return migrateAndReport(ctx, st, migrate.Up, out)
	case "down":
		return migrateAndReport(ctx, st, migrate.Down, out)
	case "status":
		list, err := st.MigrationStatus(ctx)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "VERSION\tSTATE\tAPPLIED AT\tSOURCE")
		for _, m := range list {
			state, at := "pending", ""
			if m.Applied {
				state, at = "applied", m.AppliedAt.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(w, "%05d\t%s\t%s\t%s\n", m.Version, state, at, m.Source)
		}
		return w.Flush()
	default:
		return fmt.Errorf("unknown migrate direction %q: want up, down or status", args[0])
	}
}

// migrateAndReport moves the schema and says which migrations it applied
// or rolled back (or that there was nothing to do).
func migrateAndReport(ctx context.Context, st migratableStore, dir migrate.Direction, out io.Writer) error {
	before, err := st.MigrationStatus(ctx)
	if err != nil {
		return err
	}
	if err := st.Migrate(ctx, dir); err != nil {
		return err
	}
	after, err := st.MigrationStatus(ctx)
	if err != nil {
		return err
	}
	was := map[int64]bool{}
	for _, m := range before {
		was[m.Version] = m.Applied
	}
	changed := 0
	for _, m := range after {
		if m.Applied == was[m.Version] {
			continue
		}
		changed++
		verb := "applied"
		if !m.Applied {
			verb = "rolled back"
		}
		fmt.Fprintf(out, "%s %05d %s\n", verb, m.Version, m.Source)
	}
	if changed == 0 {
		fmt.Fprintln(out, "nothing to do: the schema is up to date")
	}
	return nil
}
