// Package config builds Bingsan's configuration for `bingsan serve` and
// `bingsan migrate`.
//
// Every setting has one dotted key name, used in all sources:
//
//	YAML file   store: {postgres: {max-conns: 32}}
//	flag        --store.postgres.max-conns=32
//	environment BINGSAN_STORE_POSTGRES_MAX_CONNS=32
//
// Sources are applied in order defaults < YAML file < environment < flags, so
// a flag beats an environment variable, which beats the file. The file is
// optional; its path comes from --config or BINGSAN_CONFIG.
//
// Each key is declared once, in the keys table below; flags, environment
// variables, YAML decoding, validation and the documentation are all driven
// from that table.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the complete configuration. Byte sizes are int64 byte counts;
// maps are never nil in a Config returned by Default or Load.
type Config struct {
	Listen      string
	DataDir     string
	Log         LogConfig
	Store       StoreConfig
	Warehouse   WarehouseConfig
	Warehouses  []WarehouseConfig // further warehouses, served by name
	Server      ServerConfig
	Catalog     CatalogConfig
	Commit      CommitConfig
	Idempotency IdempotencyConfig
	Purge       PurgeConfig
	Events      EventsConfig
	Auth        AuthConfig
	Planning    PlanningConfig
}

// LogConfig configures logging.
type LogConfig struct {
	Level        string // debug, info, warn or error
	Format       string // text or json
	Access       bool   // one line per request
	AccessSample int    // log one in N answers below 400
}

// StoreConfig selects and configures the catalog metadata store.
type StoreConfig struct {
	Driver         string // sqlite or postgres
	SQLite         SQLiteConfig
	Postgres       PostgresConfig
	MigrateOnStart bool
}

// SQLiteConfig configures the sqlite driver.
type SQLiteConfig struct {
	Path string
}

// PostgresConfig configures the postgres driver.
type PostgresConfig struct {
	DSN            string
	MaxConns       int
	ConnectTimeout time.Duration
}

// WarehouseConfig describes a warehouse served by the catalog and its
// storage profile (the section matching the location's scheme applies).
type WarehouseConfig struct {
	Name                   string
	Location               string
	AllowExternalLocations bool
	TableLayout            string // name-uuid or name
	VendedCredentials      bool
	RemoteSigning          bool
	CredentialDuration     time.Duration
	S3                     S3Config
	GCS                    GCSConfig
	Azure                  AzureConfig
}

// S3Config is the storage profile of a warehouse on S3 or an S3-compatible
// store.
type S3Config struct {
	Endpoint        string
	Region          string
	PathStyle       bool
	AccessKeyID     string
	SecretAccessKey string
	RoleARN         string
	STSEndpoint     string
}

// GCSConfig is the storage profile of a warehouse on Google Cloud Storage.
type GCSConfig struct {
	Endpoint        string
	CredentialsFile string
	CredentialsJSON string
	NoAuth          bool
	STSEndpoint     string
}

// AzureConfig is the storage profile of a warehouse on Azure Blob Storage
// or ADLS Gen2.
type AzureConfig struct {
	Endpoint     string
	AccountKey   string
	TenantID     string
	ClientID     string
	ClientSecret string
	SASScope     string
}

// ServerConfig configures the HTTP server.
type ServerConfig struct {
	MaxBodyBytes    int64
	ReadTimeout     time.Duration
	WriteTimeout    time.Duration
	IdleTimeout     time.Duration
	ShutdownTimeout time.Duration
	Metrics         bool
	Console         bool
}

// CatalogConfig holds the properties returned by GET /v1/config.
type CatalogConfig struct {
	Defaults             map[string]string
	Overrides            map[string]string
	VerifyMetadataOnLoad bool
	VerifiedFor          time.Duration
}

// CommitConfig bounds table commits.
type CommitConfig struct {
	LockTimeout    time.Duration
	MaxRetries     int
	MaxGroupSize   int
	RetryBaseDelay time.Duration
	RetryMaxDelay  time.Duration
	Timeout        time.Duration // total bound for one commit, retries included
}

// IdempotencyConfig configures idempotency-key handling.
type IdempotencyConfig struct {
	Lifetime time.Duration
}

// PurgeConfig configures the background purge of dropped tables' files.
type PurgeConfig struct {
	Interval         time.Duration
	MaxAttempts      int
	TemporaryFileAge time.Duration // 0: no sweep
	SweepInterval    time.Duration
}

// EventsConfig configures the event outbox and its streams.
type EventsConfig struct {
	Buffer        int
	Retention     time.Duration // 0: keep events forever
	PruneInterval time.Duration
}

// PlanningConfig configures server-side scan planning.
type PlanningConfig struct {
	Enabled             bool
	Workers             int
	AsyncManifests      int
	SyncTimeout         time.Duration
	TasksPerResponse    int
	WindowFiles         int
	ManifestConcurrency int
	PlanLifetime        time.Duration
	Lease               time.Duration
	MaxAttempts         int
	PollInterval        time.Duration
}

// KeyInfo describes one configuration key.
type KeyInfo struct {
	Name        string   // dotted key, e.g. "store.driver"; the flag is "--" + Name
	Env         string   // environment variable, e.g. "BINGSAN_STORE_DRIVER"
	Type        string   // string, bool, int, duration, size or map
	Default     string   // default rendered in the syntax flags and env accept
	Description string   // one sentence or two, markdown allowed
	Values      []string // allowed values, for enumerated strings
}

// EnvPrefix starts every environment variable read by Load.
const EnvPrefix = "BINGSAN_"

// TestEnvPrefix marks variables for test harnesses; configuration ignores them.
const TestEnvPrefix = "BINGSAN_TEST_"

// ConfigEnv names the YAML file when --config is not given.
const ConfigEnv = EnvPrefix + "CONFIG"

const (
	defaultDataDir     = "./bingsan-data"
	derivedSQLitePath  = "<data-dir>/catalog.db"
	derivedWarehouse   = "file://<absolute data-dir>/warehouse"
	keySQLitePath      = "store.sqlite.path"
	keyWarehouseLoc    = "warehouse.location"
	keyWarehouses      = "warehouses"
	sqliteFileName     = "catalog.db"
	warehouseDirectory = "warehouse"
)

// rule is a constraint Validate checks for a single key.
type rule int

const (
	anyValue    rule = iota
	nonEmpty         // strings
	hostPort         // strings: host:port
	positive         // ints, durations, sizes: > 0
	nonNegative      // ints, durations, sizes: >= 0
)

// key declares one configuration key. field returns a pointer into a Config:
// *string, *bool, *int, *time.Duration, *int64 (a byte size) or
// *map[string]string; the pointer type decides how values are parsed.
type key struct {
	name    string
	desc    string
	def     any // default value, of the field's type; nil for derived keys
	derived string
	values  []string
	rule    rule
	secret  bool // never echo the value (in errors)
	field   func(*Config) any
	// fileFor, on a "<name>-file" key, is the secret key whose value the
	// named file holds (see secretfiles.go).
	fileFor *key
}

var keys = []key{
	{name: "listen", def: "127.0.0.1:8181", rule: hostPort,
		desc:  "TCP address (`host:port`) the HTTP server listens on.",
		field: func(c *Config) any { return &c.Listen }},
	{name: "data-dir", def: defaultDataDir, rule: nonEmpty,
		desc:  "Directory for local state. `store.sqlite.path` and `warehouse.location` default to locations under it.",
		field: func(c *Config) any { return &c.DataDir }},

	{name: "log.level", def: "info", values: []string{"debug", "info", "warn", "error"},
		desc:  "Minimum level of log records written.",
		field: func(c *Config) any { return &c.Log.Level }},
	{name: "log.access", def: true,
		desc:  "Log one line per request at `info`: method, route template, operation, status, duration, bytes, principal, request id (the client's `X-Request-ID` or a generated one, echoed in the answer) and remote address; never bodies, tokens or query strings.",
		field: func(c *Config) any { return &c.Log.Access }},
	{name: "log.access-sample", def: 1, rule: positive,
		desc:  "Log only one in this many requests answered below 400, for very high request rates; errors are always logged.",
		field: func(c *Config) any { return &c.Log.AccessSample }},
	{name: "log.format", def: "text", values: []string{"text", "json"},
		desc:  "Log output format.",
		field: func(c *Config) any { return &c.Log.Format }},

	{name: "store.driver", def: "sqlite", values: []string{"sqlite", "postgres"},
		desc:  "Database that holds the catalog.",
		field: func(c *Config) any { return &c.Store.Driver }},
	{name: keySQLitePath, derived: derivedSQLitePath,
		desc:  "SQLite database file, used when `store.driver` is `sqlite`.",
		field: func(c *Config) any { return &c.Store.SQLite.Path }},
	{name: "store.postgres.dsn", def: "", secret: true,
		desc:  "PostgreSQL connection string (e.g. `postgres://user:pass@host:5432/bingsan`); required when `store.driver` is `postgres`.",
		field: func(c *Config) any { return &c.Store.Postgres.DSN }},
	{name: "store.postgres.max-conns", def: 16, rule: positive,
		desc:  "Maximum number of open PostgreSQL connections.",
		field: func(c *Config) any { return &c.Store.Postgres.MaxConns }},
	{name: "store.postgres.connect-timeout", def: 5 * time.Second, rule: positive,
		desc:  "Bound on opening one connection to PostgreSQL (TCP, TLS and the start-up exchange), at start-up, in readiness checks and for every connection the pool opens: a database that accepts connections but never answers fails `serve` within it, naming the server. A `connect_timeout` in the DSN takes precedence.",
		field: func(c *Config) any { return &c.Store.Postgres.ConnectTimeout }},
	{name: "store.migrate-on-start", def: true,
		desc:  "Apply pending schema migrations when `bingsan serve` starts.",
		field: func(c *Config) any { return &c.Store.MigrateOnStart }},

	{name: "warehouse.name", def: "default", rule: nonEmpty,
		desc:  "Name of the warehouse this catalog serves.",
		field: func(c *Config) any { return &c.Warehouse.Name }},
	{name: keyWarehouseLoc, derived: derivedWarehouse, rule: nonEmpty,
		desc:  "Base location (URI) under which new namespaces and tables are placed: `file://…` (local filesystem), `s3://bucket/path` (S3 and S3-compatible stores, see `warehouse.s3.*`), `gs://bucket/path` (Google Cloud Storage, see `warehouse.gcs.*`) or `abfss://container@account.dfs.core.windows.net/path` (also `abfs`, `wasb`, `wasbs`: Azure Blob Storage and ADLS Gen2, see `warehouse.azure.*`).",
		field: func(c *Config) any { return &c.Warehouse.Location }},
	{name: "warehouse.allow-external-locations", def: false,
		desc:  "Allow table and view locations (and `write.data.path`, `write.metadata.path`) outside their namespace's location, and namespace locations outside their parent's; otherwise they are rejected with 400. Locations never overlap another namespace's, table's or view's either way.",
		field: func(c *Config) any { return &c.Warehouse.AllowExternalLocations }},
	{name: "warehouse.table-layout", def: "name-uuid", values: []string{"name-uuid", "name"},
		desc:  "Default location of a new table or view: `<namespace location>/<name>-<uuid>` (a directory of its own even when a name is used again), or `<namespace location>/<name>`, the layout of the Java catalogs that some client test suites assume.",
		field: func(c *Config) any { return &c.Warehouse.TableLayout }},
	{name: "warehouse.vended-credentials", def: true,
		desc:  "Give clients that send `X-Iceberg-Access-Delegation: vended-credentials` credentials limited to one table's location (S3: STS AssumeRole with a session policy; GCS: a token downscoped with a Credential Access Boundary; Azure: a SAS).",
		field: func(c *Config) any { return &c.Warehouse.VendedCredentials }},
	{name: "warehouse.remote-signing", def: true,
		desc:  "Sign requests of clients that send `X-Iceberg-Access-Delegation: remote-signing`, for objects under the table's location only (S3; GCS and Azure clients use vended credentials).",
		field: func(c *Config) any { return &c.Warehouse.RemoteSigning }},
	{name: "warehouse.credential-duration", def: time.Hour, rule: positive,
		desc:  "Lifetime of vended credentials (15m to 12h; GCS tokens live as long as Google issues them, at most 1h). They are cached per table and access mode and renewed shortly before expiry.",
		field: func(c *Config) any { return &c.Warehouse.CredentialDuration }},
	{name: "warehouse.s3.endpoint", def: "",
		desc:  "S3 endpoint URL for S3-compatible stores (e.g. `http://127.0.0.1:9000` for MinIO); empty: AWS. Also given to clients as `s3.endpoint`.",
		field: func(c *Config) any { return &c.Warehouse.S3.Endpoint }},
	{name: "warehouse.s3.region", def: "us-east-1", rule: nonEmpty,
		desc:  "S3 region (signing region; `client.region` for clients).",
		field: func(c *Config) any { return &c.Warehouse.S3.Region }},
	{name: "warehouse.s3.path-style", def: false,
		desc:  "Address buckets path-style (`endpoint/bucket/key`), as most S3-compatible stores need.",
		field: func(c *Config) any { return &c.Warehouse.S3.PathStyle }},
	{name: "warehouse.s3.access-key-id", def: "",
		desc:  "Static access key of the catalog; empty: the default AWS credential chain (environment, shared files, instance or task role).",
		field: func(c *Config) any { return &c.Warehouse.S3.AccessKeyID }},
	{name: "warehouse.s3.secret-access-key", def: "", secret: true,
		desc:  "Secret key belonging to `warehouse.s3.access-key-id`. Never logged, never sent to clients.",
		field: func(c *Config) any { return &c.Warehouse.S3.SecretAccessKey }},
	{name: "warehouse.s3.role-arn", def: "",
		desc:  "Role that vended credentials assume (required on AWS; MinIO ignores it).",
		field: func(c *Config) any { return &c.Warehouse.S3.RoleARN }},
	{name: "warehouse.s3.sts-endpoint", def: "",
		desc:  "STS endpoint URL; empty: `warehouse.s3.endpoint` when set, else AWS STS.",
		field: func(c *Config) any { return &c.Warehouse.S3.STSEndpoint }},
	{name: "warehouse.gcs.endpoint", def: "",
		desc:  "GCS JSON API base URL for emulators and private endpoints (e.g. `http://127.0.0.1:4443/storage/v1/` for fake-gcs-server); empty: Google Cloud Storage. Also given to clients as `gcs.service.host`.",
		field: func(c *Config) any { return &c.Warehouse.GCS.Endpoint }},
	{name: "warehouse.gcs.credentials-file", def: "",
		desc:  "Google credentials file of the catalog (a service account key or an authorized-user file); empty: Application Default Credentials (the same two file kinds, or the metadata server).",
		field: func(c *Config) any { return &c.Warehouse.GCS.CredentialsFile }},
	{name: "warehouse.gcs.credentials-json", def: "", secret: true,
		desc:  "The same credentials as JSON text, instead of a file. Never logged, never sent to clients.",
		field: func(c *Config) any { return &c.Warehouse.GCS.CredentialsJSON }},
	{name: "warehouse.gcs.no-auth", def: false,
		desc:  "Send requests without credentials (emulators, public buckets); such a warehouse vends nothing and tells clients `gcs.no-auth`.",
		field: func(c *Config) any { return &c.Warehouse.GCS.NoAuth }},
	{name: "warehouse.gcs.sts-endpoint", def: "",
		desc:  "Token exchange endpoint that downscopes vended tokens; empty: `https://sts.googleapis.com/v1/token`.",
		field: func(c *Config) any { return &c.Warehouse.GCS.STSEndpoint }},
	{name: "warehouse.azure.endpoint", def: "",
		desc:  "Blob service URL of the storage account; empty: `https://<account>.blob.<domain of the location's host>` (`abfs[s]://` locations are served through the Blob endpoint). Emulators take a path-style URL, e.g. `https://127.0.0.1:10000/devstoreaccount1` for Azurite.",
		field: func(c *Config) any { return &c.Warehouse.Azure.Endpoint }},
	{name: "warehouse.azure.account-key", def: "", secret: true,
		desc:  "Shared key of the storage account; the catalog then reads and writes with it, and vends service SAS signed with it unless an Azure AD credential is configured. Never logged, never sent to clients.",
		field: func(c *Config) any { return &c.Warehouse.Azure.AccountKey }},
	{name: "warehouse.azure.tenant-id", def: "",
		desc:  "Azure AD tenant of the catalog's service principal (with `client-id` and `client-secret`). Without a service principal and without an account key, the default Azure credential chain (environment, workload identity, managed identity, Azure CLI) is used. An Azure AD credential makes vended SAS user-delegation SAS.",
		field: func(c *Config) any { return &c.Warehouse.Azure.TenantID }},
	{name: "warehouse.azure.client-id", def: "",
		desc:  "Application (client) id of the catalog's service principal.",
		field: func(c *Config) any { return &c.Warehouse.Azure.ClientID }},
	{name: "warehouse.azure.client-secret", def: "", secret: true,
		desc:  "Client secret of the catalog's service principal. Never logged, never sent to clients.",
		field: func(c *Config) any { return &c.Warehouse.Azure.ClientSecret }},
	{name: "warehouse.azure.sas-scope", def: "directory",
		desc:  "What a vended SAS covers: `directory` (the table's directory, `sr=d`; needs an account with hierarchical namespace, i.e. ADLS Gen2) or `container` (the whole container: the narrowest SAS Azure offers on flat-namespace accounts and emulators, so every table of the container is reachable with it).",
		field: func(c *Config) any { return &c.Warehouse.Azure.SASScope }},
	{name: keyWarehouses, def: []WarehouseConfig(nil), secret: true,
		desc:  "Further warehouses, served by name (`/v1/<name>/…`): a list whose entries take the `warehouse.*` keys without the `warehouse.` prefix (`name` and `location` required). In a flag or environment variable, the list as YAML flow text, e.g. `[{name: lake, location: s3://bucket/lake, s3: {endpoint: http://127.0.0.1:9000, path-style: true}}]`.",
		field: func(c *Config) any { return &c.Warehouses }},

	{name: "server.max-body-bytes", def: int64(16 << 20), rule: positive,
		desc:  "Largest request body accepted; larger requests are rejected.",
		field: func(c *Config) any { return &c.Server.MaxBodyBytes }},
	{name: "server.read-timeout", def: 30 * time.Second, rule: nonNegative,
		desc:  "Maximum time to read a whole request, body included (`0` = no limit).",
		field: func(c *Config) any { return &c.Server.ReadTimeout }},
	{name: "server.write-timeout", def: 30 * time.Second, rule: nonNegative,
		desc:  "Maximum time to write a response (`0` = no limit).",
		field: func(c *Config) any { return &c.Server.WriteTimeout }},
	{name: "server.idle-timeout", def: 120 * time.Second, rule: nonNegative,
		desc:  "How long an idle keep-alive connection stays open (`0` = use `server.read-timeout`).",
		field: func(c *Config) any { return &c.Server.IdleTimeout }},
	{name: "server.shutdown-timeout", def: 15 * time.Second, rule: positive,
		desc:  "How long a graceful shutdown waits for in-flight requests.",
		field: func(c *Config) any { return &c.Server.ShutdownTimeout }},
	{name: "server.metrics", def: true,
		desc:  "Serve Prometheus metrics on `GET /metrics` (request counts and latencies by operation, commits, database pool, Go runtime).",
		field: func(c *Config) any { return &c.Server.Metrics }},
	{name: "server.console", def: true,
		desc:  "Serve the web console on `/ui` (browse warehouses, namespaces, tables and views, watch events live; with `auth.enabled`, sign in first). Its files are embedded in the binary.",
		field: func(c *Config) any { return &c.Server.Console }},

	{name: "catalog.defaults", def: map[string]string{},
		desc:  "Properties returned as `defaults` by `GET /v1/config`; clients apply them unless they set their own.",
		field: func(c *Config) any { return &c.Catalog.Defaults }},
	{name: "catalog.overrides", def: map[string]string{},
		desc:  "Properties returned as `overrides` by `GET /v1/config`; they take precedence over client settings.",
		field: func(c *Config) any { return &c.Catalog.Overrides }},
	{name: "catalog.verify-metadata-on-load", def: true,
		desc:  "Check on every table and view load that the current metadata file still exists, and answer 404 when it is gone, as Java catalogs do. Costs one existence check per load (a HEAD request on object stores).",
		field: func(c *Config) any { return &c.Catalog.VerifyMetadataOnLoad }},
	{name: "catalog.verify-metadata-interval", def: time.Second, rule: nonNegative,
		desc:  "How long a node trusts a successful check of one metadata file before checking it again on a later load (0: check on every load). Metadata files never change, so this only delays noticing a file deleted behind the catalog's back.",
		field: func(c *Config) any { return &c.Catalog.VerifiedFor }},

	{name: "commit.lock-timeout", def: 5 * time.Second, rule: positive,
		desc:  "How long one commit attempt waits for the table's lock.",
		field: func(c *Config) any { return &c.Commit.LockTimeout }},
	{name: "commit.max-retries", def: 20, rule: nonNegative,
		desc:  "Retries of a commit that lost a race with a concurrent commit (`0` = no retries).",
		field: func(c *Config) any { return &c.Commit.MaxRetries }},
	{name: "commit.max-group-size", def: 32, rule: positive,
		desc:  "Most commits of one table, queued up on one node, that are committed together as one new metadata file (group commit; `1` = every commit writes its own file).",
		field: func(c *Config) any { return &c.Commit.MaxGroupSize }},
	{name: "commit.retry-base-delay", def: 10 * time.Millisecond, rule: positive,
		desc:  "Backoff before the first commit retry; it grows exponentially up to `commit.retry-max-delay`.",
		field: func(c *Config) any { return &c.Commit.RetryBaseDelay }},
	{name: "commit.retry-max-delay", def: time.Second, rule: positive,
		desc:  "Largest backoff between commit retries; must be at least `commit.retry-base-delay`.",
		field: func(c *Config) any { return &c.Commit.RetryMaxDelay }},
	{name: "commit.timeout", def: 30 * time.Second, rule: positive,
		desc:  "Total time bound for one commit, retries included.",
		field: func(c *Config) any { return &c.Commit.Timeout }},

	{name: "idempotency.lifetime", def: 30 * time.Minute, rule: positive,
		desc:  "How long idempotency keys are remembered; advertised to clients by `GET /v1/config`.",
		field: func(c *Config) any { return &c.Idempotency.Lifetime }},
	{name: "purge.interval", def: 10 * time.Second, rule: positive,
		desc:  "How often the background worker looks for purge work (files of tables dropped with `purgeRequested`).",
		field: func(c *Config) any { return &c.Purge.Interval }},
	{name: "purge.max-attempts", def: 10, rule: positive,
		desc:  "Attempts at purging one table's files before the job is abandoned.",
		field: func(c *Config) any { return &c.Purge.MaxAttempts }},
	{name: "purge.temporary-file-age", def: 15 * time.Minute, rule: nonNegative,
		desc:  "Temporary metadata files (`*.metadata.json.tmp-<uuid>`) that a node killed mid-write left in a local (`file://`) warehouse are removed at start-up and every `purge.sweep-interval` once older than this; younger ones may be writes in progress. `0` disables the sweep.",
		field: func(c *Config) any { return &c.Purge.TemporaryFileAge }},
	{name: "purge.sweep-interval", def: time.Hour, rule: positive,
		desc:  "How often local warehouses are swept for temporary files left by a crash (see `purge.temporary-file-age`).",
		field: func(c *Config) any { return &c.Purge.SweepInterval }},

	{name: "events.buffer", def: 1024, rule: positive,
		desc:  "Events queued for one event-stream subscriber; a subscriber that falls further behind is closed (code 4000) with the id to resume after.",
		field: func(c *Config) any { return &c.Events.Buffer }},
	{name: "events.retention", def: 7 * 24 * time.Hour, rule: nonNegative,
		desc:  "How long events are kept for `GET /v1/events` and resuming streams (`0` = forever).",
		field: func(c *Config) any { return &c.Events.Retention }},
	{name: "events.prune-interval", def: time.Minute, rule: positive,
		desc:  "How often events older than `events.retention` are deleted (by one node at a time).",
		field: func(c *Config) any { return &c.Events.PruneInterval }},

	{name: "planning.enabled", def: true,
		desc:  "Plan scans for clients (`planTableScan`, `fetchPlanningResult`, `cancelPlanning`, `fetchScanTasks`, advertised in `GET /v1/config`). Off, the four operations answer 501 and are not advertised.",
		field: func(c *Config) any { return &c.Planning.Enabled }},
	{name: "planning.workers", def: 2, rule: nonNegative,
		desc:  "Scan plans this node plans at once; more wait in the queue, which every node works through. `0`: this node accepts plans but leaves the planning to other nodes.",
		field: func(c *Config) any { return &c.Planning.Workers }},
	{name: "planning.async-manifests", def: 128, rule: nonNegative,
		desc:  "A scan that reads more data manifests than this is answered `submitted` at once and planned in the background (clients poll `fetchPlanningResult`).",
		field: func(c *Config) any { return &c.Planning.AsyncManifests }},
	{name: "planning.sync-timeout", def: 5 * time.Second, rule: positive,
		desc:  "How long `planTableScan` waits for a smaller plan to complete before answering `submitted`; planning goes on in the background.",
		field: func(c *Config) any { return &c.Planning.SyncTimeout }},
	{name: "planning.tasks-per-response", def: 1000, rule: positive,
		desc:  "Most file scan tasks in one response: a larger result is split into plan tasks that clients fetch with `fetchScanTasks` (also bounded to 8 MiB of JSON each).",
		field: func(c *Config) any { return &c.Planning.TasksPerResponse }},
	{name: "planning.window-files", def: 10000, rule: positive,
		desc:  "Data files (by the manifest list's counts) one planning step reads; a step's tasks are all a plan holds in memory, so this bounds a plan's memory whatever the table's size. A manifest is never split: one larger than this is a step of its own.",
		field: func(c *Config) any { return &c.Planning.WindowFiles }},
	{name: "planning.manifest-concurrency", def: 4, rule: positive,
		desc:  "Manifests one plan reads at once.",
		field: func(c *Config) any { return &c.Planning.ManifestConcurrency }},
	{name: "planning.plan-lifetime", def: time.Hour, rule: positive,
		desc:  "How long a plan and its tasks are kept; afterwards its id and plan tasks are unknown (404).",
		field: func(c *Config) any { return &c.Planning.PlanLifetime }},
	{name: "planning.lease", def: 30 * time.Second, rule: positive,
		desc:  "How long a node's claim on a plan it plans lasts without renewal (renewed every third of it). A plan whose node stopped is resumed by another node after this.",
		field: func(c *Config) any { return &c.Planning.Lease }},
	{name: "planning.max-attempts", def: 3, rule: positive,
		desc:  "Times a plan is started (first run and resumptions after its node stopped) before it is failed.",
		field: func(c *Config) any { return &c.Planning.MaxAttempts }},
	{name: "planning.poll-interval", def: time.Second, rule: positive,
		desc:  "How often a node looks for queued plans and plans left by stopped nodes.",
		field: func(c *Config) any { return &c.Planning.PollInterval }},

	{name: "auth.enabled", def: false,
		desc:  "Authenticate callers and authorize their requests: every route but `/health/*` and `/v1/oauth/tokens` then needs `Authorization: Bearer <token or API key>`, and the management API (`/management/v1`) is served. Off, every caller may do everything.",
		field: func(c *Config) any { return &c.Auth.Enabled }},
	{name: "auth.token-ttl", def: time.Hour, rule: positive,
		desc:  "Lifetime of the tokens the catalog issues at `/v1/oauth/tokens`.",
		field: func(c *Config) any { return &c.Auth.TokenTTL }},
	{name: "auth.signing-key-rotation", def: 7 * 24 * time.Hour, rule: positive,
		desc:  "How long one key signs the catalog's tokens before a new one takes over; replaced keys keep verifying the tokens they signed until those expire.",
		field: func(c *Config) any { return &c.Auth.SigningKeyRotation }},
	{name: "auth.bootstrap-client-id", def: "",
		desc:  "Client id of an initial admin principal (of that name, with the role `admin`), created at start-up when no principal has this client id yet.",
		field: func(c *Config) any { return &c.Auth.BootstrapClientID }},
	{name: "auth.bootstrap-client-secret", def: "", secret: true,
		desc:  "Client secret of the initial admin principal; only its hash (argon2id) is stored, on first start. Never logged.",
		field: func(c *Config) any { return &c.Auth.BootstrapClientSecret }},
	{name: "auth.key-encryption-secret", def: "", secret: true,
		desc:  "Secret that seals the private keys signing the catalog's tokens in the database (AES-256-GCM); every node needs the same. Empty: the keys are stored unsealed. Neither it nor the keys are ever logged.",
		field: func(c *Config) any { return &c.Auth.KeyEncryptionSecret }},
	{name: "auth.metrics-protected", def: false,
		desc:  "With `auth.enabled`, `GET /metrics` needs a principal too.",
		field: func(c *Config) any { return &c.Auth.MetricsProtected }},
	{name: "auth.audit-retention", def: 90 * 24 * time.Hour, rule: nonNegative,
		desc:  "How long audit log entries are kept (`0` = forever).",
		field: func(c *Config) any { return &c.Auth.AuditRetention }},
	{name: keyOIDCIssuers, def: []OIDCIssuerConfig(nil),
		desc:  "External OIDC issuers whose bearer JWTs are accepted (verified with the issuer's JWKS, from its discovery document): a list of `issuer` (the `iss` claim; required), `audience` (required in `aud` when set), `principal-claim` (default `sub`), `principal-prefix`, `roles-claim` (a claim whose values are role names), `role-mappings` (claim value to role; then only mapped values count), `jwks-url` (instead of discovery), `console-client-id` (a public client of the issuer that the web console signs in as, with the authorization-code flow and PKCE; redirect URI `<catalog URL>/ui/`) and `console-scopes` (default `openid`). In a flag or environment variable, YAML flow text, e.g. `[{issuer: https://idp.example.com, audience: bingsan, roles-claim: groups}]`.",
		field: func(c *Config) any { return &c.Auth.OIDCIssuers }},
}

// envName maps a dotted key to its environment variable.
func envName(name string) string {
	return EnvPrefix + strings.NewReplacer(".", "_", "-", "_").Replace(strings.ToUpper(name))
}

func lookupKey(name string) *key {
	for i := range keys {
		if keys[i].name == name {
			return &keys[i]
		}
	}
	return nil
}

// typeName names the value syntax a key accepts.
func (k *key) typeName() string {
	if k.fileFor != nil {
		return "path"
	}
	switch k.field(&Config{}).(type) {
	case *string:
		return "string"
	case *bool:
		return "bool"
	case *int:
		return "int"
	case *time.Duration:
		return "duration"
	case *int64:
		return "size"
	case *map[string]string:
		return "map"
	case *[]WarehouseConfig, *[]OIDCIssuerConfig:
		return "list"
	}
	panic("config: unsupported field type for " + k.name)
}

// set parses s and stores it in k's field of c. The error describes the
// problem with s but names neither key nor value; callers add both.
func (k *key) set(c *Config, s string) error {
	if k.fileFor != nil {
		v, err := readSecretFile(s)
		if err != nil {
			return err
		}
		return k.fileFor.set(c, v)
	}
	switch p := k.field(c).(type) {
	case *string:
		*p = s
	case *bool:
		v, err := strconv.ParseBool(strings.TrimSpace(s))
		if err != nil {
			return errors.New("want true or false")
		}
		*p = v
	case *int:
		v, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return errors.New("want an integer")
		}
		*p = v
	case *time.Duration:
		v, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil {
			return errors.New("want a duration such as 5s, 250ms or 1m30s")
		}
		*p = v
	case *int64:
		v, err := parseSize(s)
		if err != nil {
			return err
		}
		*p = v
	case *map[string]string:
		v, err := parseMap(s)
		if err != nil {
			return err
		}
		*p = v
	case *[]WarehouseConfig:
		v, err := parseWarehouseList(s)
		if err != nil {
			return err
		}
		*p = v
	case *[]OIDCIssuerConfig:
		v, err := parseIssuerList(s)
		if err != nil {
			return err
		}
		*p = v
	default:
		panic("config: unsupported field type for " + k.name)
	}
	return nil
}

// format renders the value of k's field in c in the syntax set accepts.
func (k *key) format(c *Config) string {
	if k.fileFor != nil {
		return "" // the file was read into fileFor's field
	}
	switch p := k.field(c).(type) {
	case *string:
		return *p
	case *bool:
		return strconv.FormatBool(*p)
	case *int:
		return strconv.Itoa(*p)
	case *time.Duration:
		return formatDuration(*p)
	case *int64:
		return formatSize(*p)
	case *map[string]string:
		return formatMap(*p)
	case *[]WarehouseConfig:
		return formatWarehouseList(*p)
	case *[]OIDCIssuerConfig:
		return formatIssuerList(*p)
	}
	panic("config: unsupported field type for " + k.name)
}

var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10},
	{"TB", 1e12}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1},
}

// parseSize accepts a byte count, optionally followed by a unit: B, KB, MB,
// GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024); units are
// case-insensitive.
func parseSize(s string) (int64, error) {
	bad := errors.New("want a byte count such as 1048576 or 16MiB (units B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)")
	s = strings.TrimSpace(s)
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, bad
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil {
		return 0, bad
	}
	unit := strings.TrimSpace(s[i:])
	mult := int64(1)
	if unit != "" {
		found := false
		for _, u := range sizeUnits {
			if strings.EqualFold(unit, u.suffix) {
				mult, found = u.mult, true
				break
			}
		}
		if !found {
			return 0, bad
		}
	}
	if n > math.MaxInt64/mult {
		return 0, errors.New("size is too large")
	}
	return n * mult, nil
}

func formatSize(n int64) string {
	for _, u := range sizeUnits[:4] {
		if n != 0 && n%u.mult == 0 {
			return strconv.FormatInt(n/u.mult, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}

// formatDuration is time.Duration.String without zero tails: "2m", not "2m0s".
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// parseMap parses "k=v,k2=v2". Blanks around keys and values and empty
// entries are ignored; a value may contain "=" but not ",".
func parseMap(s string) (map[string]string, error) {
	m := map[string]string{}
	for entry := range strings.SplitSeq(s, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		k, v, ok := strings.Cut(entry, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("entry %q is not key=value (want k=v,k2=v2)", entry)
		}
		m[k] = strings.TrimSpace(v)
	}
	return m, nil
}

func formatMap(m map[string]string) string {
	var b strings.Builder
	for i, k := range slices.Sorted(maps.Keys(m)) {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k + "=" + m[k])
	}
	return b.String()
}

// base returns the defaults with derived keys left empty.
func base() Config {
	var c Config
	for i := range keys {
		k := &keys[i]
		if k.derived != "" || k.fileFor != nil {
			continue
		}
		def := k.def
		if m, ok := def.(map[string]string); ok {
			def = maps.Clone(m) // each Config owns its maps
		}
		// Panics at the first use if def's type does not match the field's.
		reflect.ValueOf(k.field(&c)).Elem().Set(reflect.ValueOf(def))
	}
	return c
}

// derive fills the keys derived from data-dir that no source set.
func derive(c *Config, set map[string]bool) {
	if !set[keySQLitePath] {
		c.Store.SQLite.Path = filepath.Join(c.DataDir, sqliteFileName)
	}
	if !set[keyWarehouseLoc] {
		dir, err := filepath.Abs(c.DataDir)
		if err != nil {
			dir = filepath.Clean(c.DataDir)
		}
		dir = filepath.ToSlash(dir)
		if !strings.HasPrefix(dir, "/") {
			dir = "/" + dir // Windows: file:///C:/...
		}
		c.Warehouse.Location = "file://" + strings.TrimSuffix(dir, "/") + "/" + warehouseDirectory
	}
}

// Default returns the default configuration, with the derived paths resolved
// against the default data directory (and the working directory).
func Default() Config {
	c := base()
	derive(&c, nil)
	return c
}

// Keys lists every key with its type, default and description, in
// declaration order.
func Keys() []KeyInfo {
	def := base()
	out := make([]KeyInfo, 0, len(keys))
	for i := range keys {
		k := &keys[i]
		d := k.derived
		if d == "" {
			d = k.format(&def)
		}
		out = append(out, KeyInfo{
			Name:        k.name,
			Env:         envName(k.name),
			Type:        k.typeName(),
			Default:     d,
			Description: k.desc,
			Values:      slices.Clone(k.values),
		})
	}
	return out
}

// Validate checks every key's constraints and returns all violations joined;
// each names the key and the offending value.
func (c Config) Validate() error {
	var errs []error
	bad := func(k *key, why string) {
		errs = append(errs, fmt.Errorf("config: %s: invalid value %q: %s", k.name, k.shown(k.format(&c)), why))
	}
	for i := range keys {
		k := &keys[i]
		if k.fileFor != nil {
			continue
		}
		if len(k.values) > 0 && !slices.Contains(k.values, k.format(&c)) {
			bad(k, "must be one of "+strings.Join(k.values, ", "))
			continue
		}
		var n int64
		switch p := k.field(&c).(type) {
		case *int:
			n = int64(*p)
		case *time.Duration:
			n = int64(*p)
		case *int64:
			n = *p
		}
		switch k.rule {
		case nonEmpty:
			if strings.TrimSpace(k.format(&c)) == "" {
				bad(k, "must not be empty")
			}
		case hostPort:
			if _, _, err := net.SplitHostPort(k.format(&c)); err != nil {
				bad(k, "want host:port, e.g. 127.0.0.1:8181 or :8181")
			}
		case positive:
			if n <= 0 {
				bad(k, "must be greater than zero")
			}
		case nonNegative:
			if n < 0 {
				bad(k, "must not be negative")
			}
		}
	}
	switch c.Store.Driver {
	case "sqlite":
		if strings.TrimSpace(c.Store.SQLite.Path) == "" {
			bad(lookupKey(keySQLitePath), "must not be empty when store.driver is sqlite")
		}
	case "postgres":
		if strings.TrimSpace(c.Store.Postgres.DSN) == "" {
			bad(lookupKey("store.postgres.dsn"), "required when store.driver is postgres")
		}
	}
	if c.Commit.RetryMaxDelay < c.Commit.RetryBaseDelay {
		bad(lookupKey("commit.retry-max-delay"), "must be at least commit.retry-base-delay ("+formatDuration(c.Commit.RetryBaseDelay)+")")
	}
	errs = append(errs, c.validateWarehouses()...)
	errs = append(errs, c.validateAuth()...)
	return errors.Join(errs...)
}

// flagValue records a key's flag occurrences; they are applied after the
// file and the environment, so that flags win.
type flagValue struct {
	k   *key
	got *[]flagSetting
}

type flagSetting struct {
	k   *key
	raw string
}

func (f *flagValue) String() string {
	if f == nil || f.k == nil {
		return ""
	}
	def := base()
	return f.k.format(&def)
}

func (f *flagValue) Set(s string) error {
	var scratch Config
	// The flag package would echo a secret's value: those are checked
	// when applied instead.
	if err := f.k.set(&scratch, s); err != nil && !f.k.secret {
		return err
	}
	*f.got = append(*f.got, flagSetting{f.k, s})
	return nil
}

func (f *flagValue) IsBoolFlag() bool {
	if f == nil || f.k == nil {
		return false
	}
	_, ok := f.k.field(&Config{}).(*bool)
	return ok
}

// Load builds the configuration for a command from its arguments (those
// after the subcommand name) and an environment lookup (os.LookupEnv in
// production). It returns the positional arguments left after the flags.
//
// Unknown flags, unknown keys in the YAML file and BINGSAN_* environment
// variables that match no key are errors naming the key. To find unknown
// variables Load scans the names in os.Environ() and reports those that
// lookupEnv also reports as set, so a lookup over a fixed map only ever
// sees its own variables. A nil lookupEnv means an empty environment.
//
// -h and --help return an error wrapping flag.ErrHelp; print help from Keys.
func Load(args []string, lookupEnv func(string) (string, bool)) (Config, []string, error) {
	names := make([]string, 0, 16)
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, EnvPrefix) {
			names = append(names, name)
		}
	}
	return load(args, lookupEnv, names)
}

// load is Load with the environment's variable names given explicitly.
func load(args []string, lookupEnv func(string) (string, bool), envNames []string) (Config, []string, error) {
	if lookupEnv == nil {
		lookupEnv = func(string) (string, bool) { return "", false }
	}

	fs := flag.NewFlagSet("bingsan", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	var fromFlags []flagSetting
	for i := range keys {
		fs.Var(&flagValue{k: &keys[i], got: &fromFlags}, keys[i].name, keys[i].desc)
	}
	configPath := fs.String("config", "", "YAML configuration file (env "+ConfigEnv+")")
	if err := fs.Parse(args); err != nil {
		return Config{}, nil, fmt.Errorf("config: %w", err)
	}

	c := base()
	set := map[string]bool{}

	path, ok := *configPath, false
	fs.Visit(func(f *flag.Flag) { ok = ok || f.Name == "config" })
	if !ok {
		path, _ = lookupEnv(ConfigEnv)
	}
	if path != "" {
		if err := loadFile(&c, path, set); err != nil {
			return Config{}, nil, err
		}
	}

	var errs []error
	for _, name := range slices.Compact(slices.Sorted(slices.Values(envNames))) {
		// BINGSAN_TEST_* is reserved for test harnesses, which share the
		// environment with servers they start.
		if !strings.HasPrefix(name, EnvPrefix) || name == ConfigEnv || strings.HasPrefix(name, TestEnvPrefix) {
			continue
		}
		if _, present := lookupEnv(name); !present || keyForEnv(name) != nil {
			continue
		}
		errs = append(errs, fmt.Errorf("config: environment variable %s matches no configuration key", name))
	}
	for i := range keys {
		k := &keys[i]
		env := envName(k.name)
		v, present := lookupEnv(env)
		if !present {
			continue
		}
		if err := k.set(&c, v); err != nil {
			errs = append(errs, fmt.Errorf("config: %s (from %s): invalid value %q: %w", k.name, env, k.shown(v), err))
			continue
		}
		set[k.name] = true
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, nil, err
	}

	for _, f := range fromFlags {
		if err := f.k.set(&c, f.raw); err != nil { // already checked by flagValue.Set
			return Config{}, nil, fmt.Errorf("config: %s (from --%s): invalid value %q: %w", f.k.name, f.k.name, f.k.shown(f.raw), err)
		}
		set[f.k.name] = true
	}

	if err := errors.Join(bothSecretSources(set, "")...); err != nil {
		return Config{}, nil, err
	}
	derive(&c, set)
	if err := c.Validate(); err != nil {
		return Config{}, nil, err
	}
	return c, fs.Args(), nil
}

func keyForEnv(name string) *key {
	for i := range keys {
		if envName(keys[i].name) == name {
			return &keys[i]
		}
	}
	return nil
}

// loadFile applies the YAML file at path to c and marks the keys it sets.
func loadFile(c *Config, path string, set map[string]bool) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config: reading config file: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("config: %s: %w", path, err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 { // empty file
		return nil
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return nil
	}
	if root.Kind != yaml.MappingNode {
		return fmt.Errorf("config: %s:%d: top level must be a mapping of keys", path, root.Line)
	}
	var errs []error
	walkYAML(c, path, "", root, set, &errs)
	return errors.Join(errs...)
}

// walkYAML applies the mapping node m, whose keys are below prefix.
func walkYAML(c *Config, path, prefix string, m *yaml.Node, set map[string]bool, errs *[]error) {
	fail := func(n *yaml.Node, format string, args ...any) {
		*errs = append(*errs, fmt.Errorf("config: %s:%d: "+format, append([]any{path, n.Line}, args...)...))
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		kn, vn := m.Content[i], m.Content[i+1]
		name := kn.Value
		if prefix != "" {
			name = prefix + "." + kn.Value
		}
		if vn.Kind == yaml.AliasNode {
			vn = vn.Alias
		}
		k := lookupKey(name)
		if k == nil {
			if vn.Kind == yaml.MappingNode && isSection(name) {
				walkYAML(c, path, name, vn, set, errs)
			} else {
				fail(kn, "unknown key %q", name)
			}
			continue
		}
		if set[name] {
			fail(kn, "key %q is set twice", name)
			continue
		}
		isNull := vn.Kind == yaml.ScalarNode && vn.Tag == "!!null"
		if p, isList := k.field(c).(*[]WarehouseConfig); isList {
			v, err := warehouseList(path, vn, isNull)
			if err != nil {
				*errs = append(*errs, err)
				continue
			}
			*p = v
		} else if p, isList := k.field(c).(*[]OIDCIssuerConfig); isList {
			v, err := issuerList(path, vn, isNull)
			if err != nil {
				*errs = append(*errs, err)
				continue
			}
			*p = v
		} else if p, isMap := k.field(c).(*map[string]string); isMap {
			if err := yamlMap(p, vn, isNull); err != nil {
				fail(vn, "%s: %v", name, err)
				continue
			}
		} else {
			if vn.Kind != yaml.ScalarNode || isNull {
				fail(vn, "%s: want a single %s value", name, k.typeName())
				continue
			}
			if err := k.set(c, vn.Value); err != nil {
				fail(vn, "%s: invalid value %q: %v", name, k.shown(vn.Value), err)
				continue
			}
		}
		set[name] = true
	}
}

func yamlMap(p *map[string]string, n *yaml.Node, isNull bool) error {
	m := map[string]string{}
	if !isNull {
		if n.Kind != yaml.MappingNode {
			return errors.New("want a mapping of property names to values")
		}
		for j := 0; j+1 < len(n.Content); j += 2 {
			pk, pv := n.Content[j], n.Content[j+1]
			if pv.Kind == yaml.AliasNode {
				pv = pv.Alias
			}
			if pk.Kind != yaml.ScalarNode || pv.Kind != yaml.ScalarNode {
				return fmt.Errorf("property %q: want a scalar value", pk.Value)
			}
			m[pk.Value] = pv.Value
		}
	}
	*p = m
	return nil
}

// isSection reports whether name is a proper prefix of some key.
func isSection(name string) bool {
	for i := range keys {
		if strings.HasPrefix(keys[i].name, name+".") {
			return true
		}
	}
	return false
}

// MarkdownTable renders Keys as the markdown table in docs/configuration.md.
func MarkdownTable() string {
	cell := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	var b strings.Builder
	b.WriteString("| Key (flag `--key`) | Environment variable | Type | Default | Description |\n")
	b.WriteString("|---|---|---|---|---|\n")
	for _, k := range Keys() {
		def := "`" + k.Default + "`"
		switch {
		case (k.Type == "map" || k.Type == "list") && k.Default == "":
			def = "(empty)"
		case k.Default == "":
			def = "`\"\"`"
		}
		desc := k.Description
		if len(k.Values) > 0 {
			desc += " One of `" + strings.Join(k.Values, "`, `") + "`."
		}
		fmt.Fprintf(&b, "| `%s` | `%s` | %s | %s | %s |\n", k.Name, k.Env, k.Type, cell(def), cell(desc))
	}
	return b.String()
}
