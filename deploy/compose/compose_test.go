// Package compose_test checks the compose quick start: compose.yaml is
// loaded and validated by the compose-spec loader, and the same
// configuration is started here as processes (no container runtime): MinIO
// with the minio service's environment and secret, the bucket the minio-init
// service creates, and the bingsan binary with the bingsan service's
// environment and secret files. Only addresses are moved: service names
// become 127.0.0.1 and free ports, and PostgreSQL is the test server's, in
// a database of its own. Then a real client (iceberg-go) creates, appends
// to and reads a table through the catalog with vended credentials.
package compose_test

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/rest"
	_ "github.com/apache/iceberg-go/io/gocloud/s3" // s3:// for the client (the catalog no longer links it)
	"github.com/apache/iceberg-go/table"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/bingsan/bingsan/deploy/internal/testbin"
	"github.com/bingsan/bingsan/internal/pgtest"
	"github.com/bingsan/bingsan/internal/s3test"
)

func load(t *testing.T) *types.Project {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	p, err := loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  wd,
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(wd, "compose.yaml")}},
		Environment: types.Mapping{},
	}, func(o *loader.Options) { o.SetProjectName("bingsan", true) })
	if err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	return p
}

func service(t *testing.T, p *types.Project, name string) types.ServiceConfig {
	t.Helper()
	s, ok := p.Services[name]
	if !ok {
		t.Fatalf("compose.yaml has no service %q", name)
	}
	return s
}

func env(s types.ServiceConfig, key string) string {
	if v := s.Environment[key]; v != nil {
		return *v
	}
	return ""
}

// secretFiles maps each service's /run/secrets/<name> to the file compose
// would mount there.
func secretFiles(t *testing.T, p *types.Project, s types.ServiceConfig) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, ref := range s.Secrets {
		sec, ok := p.Secrets[ref.Source]
		if !ok || sec.File == "" {
			t.Fatalf("service %s: secret %s is not a file", s.Name, ref.Source)
		}
		target := ref.Target
		if target == "" {
			target = ref.Source
		}
		if !strings.HasPrefix(target, "/") {
			target = "/run/secrets/" + target
		}
		out[target] = sec.File
	}
	return out
}

func readSecret(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// TestComposeFile: the services, their order and health checks, and
// secrets that agree with each other and never appear as plain settings.
func TestComposeFile(t *testing.T) {
	t.Parallel()
	p := load(t)
	pg, minio, initSvc, bingsan := service(t, p, "postgres"), service(t, p, "minio"), service(t, p, "minio-init"), service(t, p, "bingsan")

	if d, ok := bingsan.DependsOn["postgres"]; !ok || d.Condition != types.ServiceConditionHealthy {
		t.Errorf("bingsan does not wait for a healthy PostgreSQL: %+v", bingsan.DependsOn)
	}
	if d, ok := bingsan.DependsOn["minio-init"]; !ok || d.Condition != types.ServiceConditionCompletedSuccessfully {
		t.Errorf("bingsan does not wait for the bucket: %+v", bingsan.DependsOn)
	}
	if bingsan.HealthCheck == nil || !slices.Equal(bingsan.HealthCheck.Test, types.HealthCheckTest{"CMD", "/bingsan", "health"}) {
		t.Errorf("bingsan health check %+v", bingsan.HealthCheck)
	}
	if bingsan.Build == nil || !slices.ContainsFunc(bingsan.Ports, func(pc types.ServicePortConfig) bool { return pc.Target == 8181 && pc.Published == "8181" }) {
		t.Errorf("bingsan is not built from the Dockerfile or does not publish 8181: %+v %+v", bingsan.Build, bingsan.Ports)
	}
	for name, v := range bingsan.Environment {
		switch name {
		case "BINGSAN_STORE_POSTGRES_DSN", "BINGSAN_WAREHOUSE_S3_SECRET_ACCESS_KEY":
			t.Errorf("the secret %s is a plain setting (%v)", name, v)
		}
	}
	if env(bingsan, "BINGSAN_WAREHOUSE_VENDED_CREDENTIALS") != "true" {
		t.Error("credential vending is not on")
	}

	// The secrets agree: the DSN names the PostgreSQL service's user,
	// password and database; Bingsan's S3 key is MinIO's root password.
	pgFiles, bingsanFiles, minioFiles := secretFiles(t, p, pg), secretFiles(t, p, bingsan), secretFiles(t, p, minio)
	dsn, err := url.Parse(readSecret(t, bingsanFiles[env(bingsan, "BINGSAN_STORE_POSTGRES_DSN_FILE")]))
	if err != nil {
		t.Fatal(err)
	}
	pw, _ := dsn.User.Password()
	if dsn.Host != "postgres:5432" || dsn.User.Username() != env(pg, "POSTGRES_USER") || strings.TrimPrefix(dsn.Path, "/") != env(pg, "POSTGRES_DB") ||
		pw != readSecret(t, pgFiles[env(pg, "POSTGRES_PASSWORD_FILE")]) {
		t.Errorf("the DSN %s does not match the postgres service", dsn.Redacted())
	}
	if readSecret(t, bingsanFiles[env(bingsan, "BINGSAN_WAREHOUSE_S3_SECRET_ACCESS_KEY_FILE")]) != readSecret(t, minioFiles[env(minio, "MINIO_ROOT_PASSWORD_FILE")]) ||
		env(bingsan, "BINGSAN_WAREHOUSE_S3_ACCESS_KEY_ID") != env(minio, "MINIO_ROOT_USER") {
		t.Error("Bingsan's S3 credentials are not MinIO's")
	}
	bucket := bucketOf(t, env(bingsan, "BINGSAN_WAREHOUSE_LOCATION"))
	if cmd := strings.Join(initSvc.Command, " "); !strings.Contains(cmd, "mc mb --ignore-existing local/"+bucket) {
		t.Errorf("minio-init does not create the warehouse bucket %s: %s", bucket, cmd)
	}
}

func bucketOf(t *testing.T, location string) string {
	t.Helper()
	u, err := url.Parse(location)
	if err != nil || u.Scheme != "s3" {
		t.Fatalf("warehouse location %q is not s3://", location)
	}
	return u.Host
}

// TestComposeAsProcesses starts the compose configuration as processes and
// uses it with iceberg-go.
func TestComposeAsProcesses(t *testing.T) {
	t.Parallel()
	p := load(t)
	minioSvc, bingsanSvc := service(t, p, "minio"), service(t, p, "bingsan")

	// MinIO with the service's environment, its secret file at its host path.
	minioBin := os.Getenv("BINGSAN_TEST_MINIO_BINARY")
	if minioBin == "" {
		out, err := exec.Command(filepath.Join(testbin.RepoRoot(t), "scripts", "ensure-minio.sh"), "--binary").Output()
		if err != nil {
			t.Fatalf("scripts/ensure-minio.sh --binary: %v", err)
		}
		minioBin = strings.TrimSpace(string(out))
	}
	minioFiles := secretFiles(t, p, minioSvc)
	port, consolePort := testbin.FreePort(t), testbin.FreePort(t)
	if !slices.Equal(minioSvc.Command[:2], []string{"server", "/data"}) {
		t.Fatalf("minio command %v", minioSvc.Command)
	}
	mc := exec.Command(minioBin, "server", t.TempDir(), "--quiet", "--address", "127.0.0.1:"+strconv.Itoa(port), "--console-address", "127.0.0.1:"+strconv.Itoa(consolePort))
	mc.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "MINIO_BROWSER=off", "MINIO_UPDATE=off", "MINIO_CI_CD=1",
		"MINIO_ROOT_USER=" + env(minioSvc, "MINIO_ROOT_USER"),
		"MINIO_ROOT_PASSWORD_FILE=" + minioFiles[env(minioSvc, "MINIO_ROOT_PASSWORD_FILE")]}
	if err := mc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mc.Process.Kill(); _ = mc.Wait() })
	endpoint := "http://127.0.0.1:" + strconv.Itoa(port)

	// What minio-init does: the bucket.
	bucket := bucketOf(t, env(bingsanSvc, "BINGSAN_WAREHOUSE_LOCATION"))
	s3srv := s3test.Server{Endpoint: endpoint, AccessKey: env(minioSvc, "MINIO_ROOT_USER"), SecretKey: readSecret(t, minioFiles[env(minioSvc, "MINIO_ROOT_PASSWORD_FILE")])}
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := s3srv.Root().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("MinIO with the compose credentials: %v", err)
		}
		time.Sleep(250 * time.Millisecond)
	}

	// Bingsan with the service's environment; secrets at their host paths,
	// the DSN file's PostgreSQL replaced by the test's.
	bingsanFiles := secretFiles(t, p, bingsanSvc)
	dsnFile := filepath.Join(t.TempDir(), "postgres-dsn")
	if err := os.WriteFile(dsnFile, []byte(pgtest.NewDatabase(t)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bingsanFiles[env(bingsanSvc, "BINGSAN_STORE_POSTGRES_DSN_FILE")] = dsnFile
	data := t.TempDir()
	vars := []string{"BINGSAN_LISTEN=127.0.0.1:0", "BINGSAN_DATA_DIR=" + data}
	for name, v := range bingsanSvc.Environment {
		value := *v
		if f, ok := bingsanFiles[value]; ok {
			value = f
		}
		value = strings.ReplaceAll(value, "http://minio:9000", endpoint)
		vars = append(vars, name+"="+value)
	}
	slices.Sort(vars)
	srv := testbin.Start(t, testbin.Bingsan(t), data, vars, "serve")

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cat, err := rest.NewCatalog(ctx, "compose", srv.URL, rest.WithWarehouseLocation(env(bingsanSvc, "BINGSAN_WAREHOUSE_NAME")))
	if err != nil {
		t.Fatal(err)
	}
	if err := cat.CreateNamespace(ctx, catalog.ToIdentifier("demo"), nil); err != nil {
		t.Fatal(err)
	}
	id := catalog.ToIdentifier("demo", "answers")
	sc := iceberg.NewSchema(0, iceberg.NestedField{ID: 1, Name: "answer", Type: iceberg.PrimitiveTypes.Int64, Required: true})
	tbl, err := cat.CreateTable(ctx, id, sc)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	as, err := table.SchemaToArrowSchema(tbl.Schema(), nil, false, false)
	if err != nil {
		t.Fatal(err)
	}
	at, err := array.TableFromJSON(memory.DefaultAllocator, as, []string{`[{"answer":42}]`})
	if err != nil {
		t.Fatal(err)
	}
	_, err = tbl.AppendTable(ctx, at, 1, nil)
	at.Release()
	if err != nil {
		t.Fatalf("append with vended credentials: %v", err)
	}
	loaded, err := cat.LoadTable(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	out, err := loaded.Scan().ToArrowTable(ctx)
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	defer out.Release()
	if out.NumRows() != 1 {
		t.Fatalf("read %d rows, want 1", out.NumRows())
	}
	if !strings.HasPrefix(loaded.Location(), env(bingsanSvc, "BINGSAN_WAREHOUSE_LOCATION")+"/") {
		t.Errorf("table at %s, outside the warehouse", loaded.Location())
	}
}
