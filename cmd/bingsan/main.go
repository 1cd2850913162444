// Command bingsan is the Bingsan Iceberg REST catalog server.
//
//	bingsan serve              run the catalog (embedded SQLite by default)
//	bingsan migrate up|down|status
//	bingsan health             exit 0 when the configured server is ready
//	bingsan version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/bingsan/bingsan/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	cmd, rest := args[0], args[1:]
	var err error
	switch cmd {
	case "serve":
		err = withConfig(rest, stdout, func(cfg config.Config, _ []string) error { return serve(ctx, cfg, stderr) })
	case "migrate":
		// The direction may come before or after the flags.
		var direction []string
		if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
			direction, rest = rest[:1], rest[1:]
		}
		err = withConfig(rest, stdout, func(cfg config.Config, pos []string) error {
			return migrateCmd(ctx, cfg, append(direction, pos...), stdout)
		})
	case "health":
		err = withConfig(rest, stdout, func(cfg config.Config, _ []string) error { return healthCmd(ctx, cfg, stdout) })
	case "version", "--version", "-v":
		printVersion(stdout)
	case "help", "-h", "--help":
		usage(stdout)
	default:
		fmt.Fprintf(stderr, "bingsan: unknown command %q\n\n", cmd)
		usage(stderr)
		return 2
	}
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "bingsan:", err)
		return 1
	}
	return 0
}

// withConfig loads the configuration from flags, BINGSAN_* and the optional
// file, printing every key on --help.
func withConfig(args []string, stdout io.Writer, fn func(config.Config, []string) error) error {
	cfg, pos, err := config.Load(args, os.LookupEnv)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(stdout, "Flags (each also BINGSAN_<KEY> and a key in the --config YAML file):")
		fmt.Fprintln(stdout, "  --config PATH  YAML configuration file (env BINGSAN_CONFIG)")
		for _, k := range config.Keys() {
			typ := k.Type
			if len(k.Values) > 0 {
				typ = strings.Join(k.Values, "|")
			}
			fmt.Fprintf(stdout, "  --%s (%s, default %q)\n      %s\n", k.Name, typ, k.Default, k.Description)
		}
		return err
	}
	if err != nil {
		return err
	}
	return fn(cfg, pos)
}

func usage(w io.Writer) {
	fmt.Fprint(w, strings.TrimLeft(`
usage: bingsan <command> [flags]

commands:
  serve                    run the catalog server
  migrate up|down|status   apply, roll back one, or list database migrations
  health                   check that the server at the configured listen address is ready
  version                  print the version, commit and build date
Run "bingsan serve --help" for the configuration flags.
`, "\n"))
}

func newLogger(cfg config.LogConfig, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Level)) // validated by config
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Format == "json" {
		// Durations as "1.234ms", not integer nanoseconds.
		opts.ReplaceAttr = func(_ []string, a slog.Attr) slog.Attr {
			if a.Value.Kind() == slog.KindDuration {
				a.Value = slog.StringValue(a.Value.Duration().String())
			}
			return a
		}
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
