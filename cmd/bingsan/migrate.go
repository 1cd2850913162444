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
		return st.Migrate(ctx, migrate.Up)
	case "down":
		return st.Migrate(ctx, migrate.Down)
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
