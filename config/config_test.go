package config

import (
	"errors"
	"flag"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// run loads with env as the whole environment. A non-empty yml is written to
// a temporary file that is named by BINGSAN_CONFIG unless env already sets it.
func run(t *testing.T, args []string, env map[string]string, yml string) (Config, []string, error) {
	t.Helper()
	env = maps.Clone(env)
	if env == nil {
		env = map[string]string{}
	}
	if yml != "" {
		if _, ok := env[ConfigEnv]; !ok {
			env[ConfigEnv] = writeYAML(t, yml)
		}
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	return load(args, lookup, slices.Collect(maps.Keys(env)))
}

func writeYAML(t *testing.T, yml string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "bingsan.yaml")
	if err := os.WriteFile(p, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func fileURL(t *testing.T, dir string) string {
	t.Helper()
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	return "file://" + filepath.ToSlash(abs) + "/warehouse"
}

func TestDefault(t *testing.T) {
	t.Parallel()
	want := Config{
		Listen:  "127.0.0.1:8181",
		DataDir: "./bingsan-data",
		Log:     LogConfig{Level: "info", Format: "text", Access: true, AccessSample: 1},
		Store: StoreConfig{
			Driver:         "sqlite",
			SQLite:         SQLiteConfig{Path: filepath.Join("bingsan-data", "catalog.db")},
			Postgres:       PostgresConfig{DSN: "", MaxConns: 16, ConnectTimeout: 5 * time.Second},
			MigrateOnStart: true,
		},
		Warehouse: WarehouseConfig{Name: "default", Location: fileURL(t, "./bingsan-data"), TableLayout: "name-uuid",
			VendedCredentials: true, RemoteSigning: true, CredentialDuration: time.Hour, S3: S3Config{Region: "us-east-1"},
			Azure: AzureConfig{SASScope: "directory"}},
		Server: ServerConfig{
			MaxBodyBytes:    16 << 20,
			ReadTimeout:     30 * time.Second,
			WriteTimeout:    30 * time.Second,
			IdleTimeout:     120 * time.Second,
			ShutdownTimeout: 15 * time.Second,
			Metrics:         true,
			Console:         true,
		},
		Catalog: CatalogConfig{Defaults: map[string]string{}, Overrides: map[string]string{}, VerifyMetadataOnLoad: true, VerifiedFor: time.Second},
		Commit: CommitConfig{
			LockTimeout:    5 * time.Second,
			MaxRetries:     20,
			MaxGroupSize:   32,
			RetryBaseDelay: 10 * time.Millisecond,
			RetryMaxDelay:  time.Second,
			Timeout:        30 * time.Second,
		},
		Idempotency: IdempotencyConfig{Lifetime: 30 * time.Minute},
		Purge:       PurgeConfig{Interval: 10 * time.Second, MaxAttempts: 10, TemporaryFileAge: 15 * time.Minute, SweepInterval: time.Hour},
		Events:      EventsConfig{Buffer: 1024, Retention: 7 * 24 * time.Hour, PruneInterval: time.Minute},
		Auth:        AuthConfig{TokenTTL: time.Hour, SigningKeyRotation: 7 * 24 * time.Hour, AuditRetention: 90 * 24 * time.Hour},
		Planning: PlanningConfig{Enabled: true, Workers: 2, AsyncManifests: 128, SyncTimeout: 5 * time.Second, TasksPerResponse: 1000,
			WindowFiles: 10000, ManifestConcurrency: 4, PlanLifetime: time.Hour, Lease: 30 * time.Second, MaxAttempts: 3, PollInterval: time.Second},
	}
	got := Default()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Default() =\n%+v\nwant\n%+v", got, want)
	}
	if err := got.Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
	loaded, rest, err := run(t, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(loaded, want) || len(rest) != 0 {
		t.Fatalf("Load(nil) = %+v, %q; want defaults and no args", loaded, rest)
	}
}

func TestSources(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		yml   string
		check func(Config) bool
		rest  []string
	}{
		{name: "flag string", args: []string{"--listen", ":9000"},
			check: func(c Config) bool { return c.Listen == ":9000" }},
		{name: "flag single dash and =", args: []string{"-log.level=debug"},
			check: func(c Config) bool { return c.Log.Level == "debug" }},
		{name: "flag bool without value", args: []string{"--store.migrate-on-start=false", "--store.migrate-on-start"},
			check: func(c Config) bool { return c.Store.MigrateOnStart }},
		{name: "flag duration", args: []string{"--commit.timeout=1m30s"},
			check: func(c Config) bool { return c.Commit.Timeout == 90*time.Second }},
		{name: "flag size", args: []string{"--server.max-body-bytes=1KiB"},
			check: func(c Config) bool { return c.Server.MaxBodyBytes == 1024 }},
		{name: "flag last occurrence wins", args: []string{"--purge.max-attempts=2", "--purge.max-attempts=3"},
			check: func(c Config) bool { return c.Purge.MaxAttempts == 3 }},

		{name: "env string", env: map[string]string{"BINGSAN_LOG_FORMAT": "json"},
			check: func(c Config) bool { return c.Log.Format == "json" }},
		{name: "env dashes become underscores", env: map[string]string{"BINGSAN_STORE_POSTGRES_MAX_CONNS": "4"},
			check: func(c Config) bool { return c.Store.Postgres.MaxConns == 4 }},
		{name: "env bool", env: map[string]string{"BINGSAN_STORE_MIGRATE_ON_START": "false"},
			check: func(c Config) bool { return !c.Store.MigrateOnStart }},
		{name: "env size in bytes", env: map[string]string{"BINGSAN_SERVER_MAX_BODY_BYTES": "2048"},
			check: func(c Config) bool { return c.Server.MaxBodyBytes == 2048 }},
		{name: "env postgres", env: map[string]string{"BINGSAN_STORE_DRIVER": "postgres", "BINGSAN_STORE_POSTGRES_DSN": "postgres://u@h/db"},
			check: func(c Config) bool {
				return c.Store.Driver == "postgres" && c.Store.Postgres.DSN == "postgres://u@h/db"
			}},

		{name: "file nested keys", yml: "listen: ':7000'\nstore:\n  postgres:\n    max-conns: 8\n  migrate-on-start: false\ncommit:\n  retry-base-delay: 20ms\nserver:\n  max-body-bytes: 8MiB\n",
			check: func(c Config) bool {
				return c.Listen == ":7000" && c.Store.Postgres.MaxConns == 8 && !c.Store.MigrateOnStart &&
					c.Commit.RetryBaseDelay == 20*time.Millisecond && c.Server.MaxBodyBytes == 8<<20
			}},
		{name: "file size as integer", yml: "server: {max-body-bytes: 4096}\n",
			check: func(c Config) bool { return c.Server.MaxBodyBytes == 4096 }},
		{name: "file named by --config", args: []string{"--config", "PATH"}, yml: "warehouse: {name: lake}\n",
			check: func(c Config) bool { return c.Warehouse.Name == "lake" }},
		{name: "empty file", yml: "# nothing here\n",
			check: func(c Config) bool { return reflect.DeepEqual(c, Default()) }},

		{name: "positional args", args: []string{"--log.level", "warn", "up", "--listen=x"},
			check: func(c Config) bool { return c.Log.Level == "warn" && c.Listen == "127.0.0.1:8181" },
			rest:  []string{"up", "--listen=x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := slices.Clone(tt.args)
			env := tt.env
			if i := slices.Index(args, "PATH"); i >= 0 { // the file goes on the command line
				args[i] = writeYAML(t, tt.yml)
				env = map[string]string{ConfigEnv: "/does/not/exist.yaml"}
			}
			c, rest, err := run(t, args, env, tt.yml)
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			if !tt.check(c) {
				t.Fatalf("unexpected config: %+v", c)
			}
			if !slices.Equal(rest, tt.rest) {
				t.Fatalf("rest = %q", rest)
			}
		})
	}
}

func TestPrecedence(t *testing.T) {
	t.Parallel()
	const yml = "commit:\n  timeout: 3s\n"
	env := map[string]string{"BINGSAN_COMMIT_TIMEOUT": "2s"}
	flags := []string{"--commit.timeout=1s"}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		yml  string
		want time.Duration
	}{
		{"default", nil, nil, "", 30 * time.Second},
		{"file over default", nil, nil, yml, 3 * time.Second},
		{"env over file", nil, env, yml, 2 * time.Second},
		{"flag over env and file", flags, env, yml, time.Second},
		{"flag over file", flags, nil, yml, time.Second},
		{"flag over env", flags, env, "", time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, _, err := run(t, tt.args, tt.env, tt.yml)
			if err != nil {
				t.Fatal(err)
			}
			if c.Commit.Timeout != tt.want {
				t.Fatalf("commit.timeout = %v, want %v", c.Commit.Timeout, tt.want)
			}
		})
	}

	t.Run("--config over BINGSAN_CONFIG", func(t *testing.T) {
		t.Parallel()
		fromEnv := writeYAML(t, "warehouse: {name: from-env}\n")
		fromFlag := writeYAML(t, "warehouse: {name: from-flag}\n")
		c, _, err := run(t, []string{"--config=" + fromFlag}, map[string]string{ConfigEnv: fromEnv}, "")
		if err != nil {
			t.Fatal(err)
		}
		if c.Warehouse.Name != "from-flag" {
			t.Fatalf("warehouse.name = %q", c.Warehouse.Name)
		}
	})
}

func TestDerivedPaths(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := []struct {
		name            string
		args            []string
		env             map[string]string
		yml             string
		wantDB, wantLoc string
	}{
		{name: "follow data-dir flag", args: []string{"--data-dir", dir},
			wantDB: filepath.Join(dir, "catalog.db"), wantLoc: "file://" + filepath.ToSlash(dir) + "/warehouse"},
		{name: "follow relative data-dir from file", yml: "data-dir: rel/data\n",
			wantDB: filepath.Join("rel", "data", "catalog.db"), wantLoc: fileURL(t, "rel/data")},
		{name: "explicit values kept", args: []string{"--data-dir", dir}, env: map[string]string{
			"BINGSAN_STORE_SQLITE_PATH": "/srv/cat.db", "BINGSAN_WAREHOUSE_LOCATION": "s3://bucket/wh"},
			wantDB: "/srv/cat.db", wantLoc: "s3://bucket/wh"},
		{name: "explicit value in file, data-dir by flag", args: []string{"--data-dir", dir}, yml: "store: {sqlite: {path: /x.db}}\n",
			wantDB: "/x.db", wantLoc: "file://" + filepath.ToSlash(dir) + "/warehouse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, _, err := run(t, tt.args, tt.env, tt.yml)
			if err != nil {
				t.Fatal(err)
			}
			if c.Store.SQLite.Path != tt.wantDB || c.Warehouse.Location != tt.wantLoc {
				t.Fatalf("got %q, %q; want %q, %q", c.Store.SQLite.Path, c.Warehouse.Location, tt.wantDB, tt.wantLoc)
			}
		})
	}
}

func TestMaps(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		args          []string
		env           map[string]string
		yml           string
		wantDefaults  map[string]string
		wantOverrides map[string]string
	}{
		{name: "yaml mappings",
			yml:           "catalog:\n  defaults:\n    write.format.default: parquet\n    commit.retry.num-retries: 4\n  overrides:\n    clients: \"1\"\n",
			wantDefaults:  map[string]string{"write.format.default": "parquet", "commit.retry.num-retries": "4"},
			wantOverrides: map[string]string{"clients": "1"}},
		{name: "yaml empty and null", yml: "catalog:\n  defaults: {}\n  overrides:\n",
			wantDefaults: map[string]string{}, wantOverrides: map[string]string{}},
		{name: "env k=v list", env: map[string]string{"BINGSAN_CATALOG_DEFAULTS": "a=1, b = x=y ,", "BINGSAN_CATALOG_OVERRIDES": ""},
			wantDefaults: map[string]string{"a": "1", "b": "x=y"}, wantOverrides: map[string]string{}},
		{name: "flag replaces env and file", args: []string{"--catalog.overrides=k=flag"},
			env: map[string]string{"BINGSAN_CATALOG_OVERRIDES": "k=env,e=1"}, yml: "catalog: {overrides: {k: file, f: 1}, defaults: {d: file}}\n",
			wantDefaults: map[string]string{"d": "file"}, wantOverrides: map[string]string{"k": "flag"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, _, err := run(t, tt.args, tt.env, tt.yml)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c.Catalog.Defaults, tt.wantDefaults) || !reflect.DeepEqual(c.Catalog.Overrides, tt.wantOverrides) {
				t.Fatalf("defaults %v overrides %v; want %v, %v", c.Catalog.Defaults, c.Catalog.Overrides, tt.wantDefaults, tt.wantOverrides)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		env  map[string]string
		yml  string
		want []string // substrings of the error
	}{
		{name: "unknown yaml key", yml: "store:\n  drvier: sqlite\n", want: []string{`"store.drvier"`, ":2:"}},
		{name: "unknown yaml section", yml: "metrics: {port: 1}\n", want: []string{`"metrics"`}},
		{name: "yaml scalar for section", yml: "store: sqlite\n", want: []string{`"store"`}},
		{name: "yaml list for scalar", yml: "listen: [a, b]\n", want: []string{"listen"}},
		{name: "yaml scalar for map", yml: "catalog: {defaults: a=1}\n", want: []string{"catalog.defaults", "mapping"}},
		{name: "yaml key twice", yml: "store: {driver: sqlite}\nstore: {driver: postgres}\n", want: []string{`"store.driver"`, "twice"}},
		{name: "bad yaml syntax", yml: "listen: [\n", want: []string{"bingsan.yaml"}},
		{name: "missing config file", env: map[string]string{ConfigEnv: "/does/not/exist.yaml"}, want: []string{"/does/not/exist.yaml"}},
		{name: "unknown env var", env: map[string]string{"BINGSAN_STORE_DRIVR": "x"}, want: []string{"BINGSAN_STORE_DRIVR"}},
		{name: "unknown flag", args: []string{"--store.drvier=x"}, want: []string{"store.drvier"}},
		{name: "help", args: []string{"-h"}, want: []string{"help requested"}},

		{name: "bad duration from flag", args: []string{"--commit.timeout=5 seconds"}, want: []string{"commit.timeout", `"5 seconds"`}},
		{name: "bad duration from env", env: map[string]string{"BINGSAN_PURGE_INTERVAL": "10"}, want: []string{"purge.interval", "BINGSAN_PURGE_INTERVAL", `"10"`}},
		{name: "bad duration from file", yml: "idempotency: {lifetime: soon}\n", want: []string{"idempotency.lifetime", `"soon"`}},
		{name: "negative duration", args: []string{"--commit.lock-timeout=-1s"}, want: []string{"commit.lock-timeout", `"-1s"`}},
		{name: "bad size from flag", args: []string{"--server.max-body-bytes=16MB/s"}, want: []string{"server.max-body-bytes", `"16MB/s"`}},
		{name: "bad size unit from file", yml: "server: {max-body-bytes: 16Mi}\n", want: []string{"server.max-body-bytes", `"16Mi"`}},
		{name: "negative size from env", env: map[string]string{"BINGSAN_SERVER_MAX_BODY_BYTES": "-1"}, want: []string{"server.max-body-bytes", `"-1"`}},
		{name: "size overflow", args: []string{"--server.max-body-bytes=9000000TiB"}, want: []string{"server.max-body-bytes", "too large"}},
		{name: "zero size", args: []string{"--server.max-body-bytes=0"}, want: []string{"server.max-body-bytes", `"0"`}},
		{name: "bad int", env: map[string]string{"BINGSAN_COMMIT_MAX_RETRIES": "many"}, want: []string{"commit.max-retries", `"many"`}},
		{name: "bad bool", yml: "store: {migrate-on-start: maybe}\n", want: []string{"store.migrate-on-start", `"maybe"`}},
		{name: "bad map entry", env: map[string]string{"BINGSAN_CATALOG_DEFAULTS": "a=1,b"}, want: []string{"catalog.defaults", `"b"`}},

		{name: "bad log.level", args: []string{"--log.level=loud"}, want: []string{"log.level", `"loud"`, "debug, info, warn, error"}},
		{name: "bad log.format", env: map[string]string{"BINGSAN_LOG_FORMAT": "xml"}, want: []string{"log.format", `"xml"`}},
		{name: "bad store.driver", yml: "store: {driver: mysql}\n", want: []string{"store.driver", `"mysql"`}},
		{name: "bad listen", args: []string{"--listen=8181"}, want: []string{"listen", `"8181"`}},
		{name: "empty warehouse.name", args: []string{"--warehouse.name="}, want: []string{"warehouse.name", `""`}},
		{name: "empty sqlite path", args: []string{"--store.sqlite.path="}, want: []string{"store.sqlite.path"}},
		{name: "postgres without dsn", args: []string{"--store.driver=postgres"}, want: []string{"store.postgres.dsn", "required"}},
		{name: "retry max below base", args: []string{"--commit.retry-max-delay=5ms"}, want: []string{"commit.retry-max-delay", `"5ms"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := run(t, tt.args, tt.env, tt.yml)
			if err == nil {
				t.Fatal("expected an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestHelpIsErrHelp(t *testing.T) {
	t.Parallel()
	if _, _, err := run(t, []string{"--help"}, nil, ""); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("err = %v, want flag.ErrHelp", err)
	}
}

// TestLoadScansEnviron checks the wiring of the exported Load to os.Environ.
// It uses t.Setenv and so cannot run in parallel.
func TestLoadScansEnviron(t *testing.T) {
	t.Setenv("BINGSAN_NO_SUCH_KEY", "1")
	t.Setenv("BINGSAN_LISTEN", ":9999")
	_, _, err := Load(nil, os.LookupEnv)
	if err == nil || !strings.Contains(err.Error(), "BINGSAN_NO_SUCH_KEY") {
		t.Fatalf("Load(os.LookupEnv) = %v, want an error naming BINGSAN_NO_SUCH_KEY", err)
	}
	// A lookup that does not contain the stray variable ignores it.
	c, _, err := Load(nil, func(k string) (string, bool) {
		if k == "BINGSAN_LISTEN" {
			return os.LookupEnv(k)
		}
		return "", false
	})
	if err != nil || c.Listen != ":9999" {
		t.Fatalf("Load(filtered) = %q, %v", c.Listen, err)
	}
}

func TestKeys(t *testing.T) {
	t.Parallel()
	infos := Keys()
	names, envs := map[string]bool{}, map[string]bool{ConfigEnv: true}
	for _, k := range infos {
		if names[k.Name] || envs[k.Env] {
			t.Errorf("duplicate key or env var: %s %s", k.Name, k.Env)
		}
		names[k.Name], envs[k.Env] = true, true
		if k.Description == "" || k.Type == "" {
			t.Errorf("%s: missing type or description", k.Name)
		}
	}

	// Every leaf field of Config belongs to exactly one key.
	var c Config
	owned := map[uintptr]string{}
	for i := range keys {
		if keys[i].fileFor != nil {
			continue // fills its secret's field
		}
		p := reflect.ValueOf(keys[i].field(&c)).Pointer()
		if prev, ok := owned[p]; ok {
			t.Errorf("%s and %s share a field", prev, keys[i].name)
		}
		owned[p] = keys[i].name
	}
	var walk func(v reflect.Value, path string)
	walk = func(v reflect.Value, path string) {
		if v.Kind() == reflect.Struct && v.Type() != reflect.TypeFor[time.Duration]() {
			for i := 0; i < v.NumField(); i++ {
				walk(v.Field(i), path+"."+v.Type().Field(i).Name)
			}
			return
		}
		if _, ok := owned[v.Addr().Pointer()]; !ok {
			t.Errorf("field Config%s has no key", path)
		}
	}
	walk(reflect.ValueOf(&c).Elem(), "")

	// Every rendered default (other than derived ones) parses back to the default.
	def := base()
	for i := range keys {
		k := &keys[i]
		if k.derived != "" || k.fileFor != nil {
			continue
		}
		var got Config
		if err := k.set(&got, k.format(&def)); err != nil {
			t.Errorf("%s: default %q does not parse: %v", k.name, k.format(&def), err)
			continue
		}
		if !reflect.DeepEqual(reflect.ValueOf(k.field(&got)).Elem().Interface(), reflect.ValueOf(k.field(&def)).Elem().Interface()) {
			t.Errorf("%s: default %q does not round-trip", k.name, k.format(&def))
		}
	}
}

func TestSizeAndDurationFormat(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int64{"0": 0, "1": 1, "10B": 10, "1kb": 1000, "1KiB": 1024, "16MiB": 16 << 20, "16 MiB": 16 << 20, "2GB": 2e9, "1TiB": 1 << 40} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for n, want := range map[int64]string{0: "0", 1000: "1000", 1024: "1KiB", 16 << 20: "16MiB", 3 << 30: "3GiB", 1<<20 + 1: "1048577"} {
		if got := formatSize(n); got != want {
			t.Errorf("formatSize(%d) = %q, want %q", n, got, want)
		}
	}
	for d, want := range map[time.Duration]string{120 * time.Second: "2m", 30 * time.Minute: "30m", 2 * time.Hour: "2h", 90 * time.Second: "1m30s", 10 * time.Millisecond: "10ms", 0: "0s"} {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

// TestDocs checks the generated key table in docs/configuration.md.
// BINGSAN_TEST_UPDATE_DOCS=1 rewrites it instead.
func TestDocs(t *testing.T) {
	t.Parallel()
	const start, end = "<!-- keys:start -->", "<!-- keys:end -->"
	path := filepath.Join("..", "docs", "configuration.md")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	i, j := strings.Index(doc, start), strings.Index(doc, end)
	if i < 0 || j < i {
		t.Fatalf("%s: missing %s ... %s markers", path, start, end)
	}
	got := doc[i+len(start) : j]
	want := "\n" + MarkdownTable()
	if got == want {
		return
	}
	if os.Getenv("BINGSAN_TEST_UPDATE_DOCS") == "1" {
		doc = doc[:i+len(start)] + want + doc[j:]
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("rewrote the key table in %s", path)
		return
	}
	t.Fatalf("%s is out of date with config.Keys(); run BINGSAN_TEST_UPDATE_DOCS=1 go test ./config/ -run TestDocs", path)
}
