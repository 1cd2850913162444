package server_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/rest"
	_ "github.com/apache/iceberg-go/io/gocloud/azure" // abfss:// for the client
	_ "github.com/apache/iceberg-go/io/gocloud/gcs"   // gs:// for the client
	"github.com/apache/iceberg-go/table"

	gen "github.com/bingsan/bingsan/gen/iceberg"
	"github.com/bingsan/bingsan/internal/azuretest"
	"github.com/bingsan/bingsan/internal/gcstest"
	"github.com/bingsan/bingsan/server/servertest"
	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/vend"
)

// cloudLake is a server with one object-store warehouse "lake" besides
// its local default warehouse.
type cloudLake struct {
	*servertest.Instance
	loc  string // the warehouse location
	base string // URL + /v1/lake
	log  *syncBuffer
}

func startCloudLake(t *testing.T, loc string, prof vend.Profile, cfg servertest.Config) *cloudLake {
	t.Helper()
	l := &cloudLake{loc: loc, log: &syncBuffer{}}
	cfg.Storage = append(cfg.Storage, vend.Warehouse{Name: "lake", Location: loc, Profile: prof})
	cfg.LogOutput = l.log
	l.Instance = servertest.Start(t, servertest.SQLite, cfg)
	l.base = l.URL + "/v1/lake"
	return l
}

func (l *cloudLake) must(t *testing.T, want int, method, path, body string, headers ...string) []byte {
	t.Helper()
	ct := ""
	if body != "" {
		ct = "application/json"
	}
	status, _, b := call(t, method, l.base+path, ct, []byte(body), headers...)
	if status != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, status, want, b)
	}
	return b
}

// credentialOf returns the config of a result's only storage credential,
// checking its prefix and that config carries the same values for keys.
func credentialOf(t *testing.T, r gen.LoadTableResult, prefix string, keys ...string) map[string]string {
	t.Helper()
	if r.StorageCredentials == nil || len(*r.StorageCredentials) != 1 {
		t.Fatalf("storage-credentials: %+v", r.StorageCredentials)
	}
	c := (*r.StorageCredentials)[0]
	if c.Prefix != prefix {
		t.Errorf("credential prefix %s, want the table location %s", c.Prefix, prefix)
	}
	if r.Config == nil {
		t.Fatal("no config")
	}
	for _, k := range keys {
		if c.Config[k] == "" || (*r.Config)[k] != c.Config[k] {
			t.Errorf("%s missing in storage-credentials or config", k)
		}
	}
	return c.Config
}

func loadCredentialsOf(t *testing.T, base, table string) gen.LoadCredentialsResponse {
	t.Helper()
	status, hdr, body := call(t, "GET", base+"/namespaces/ns/tables/"+table+"/credentials", "", nil)
	var lc gen.LoadCredentialsResponse
	if status != 200 || json.Unmarshal(body, &lc) != nil {
		t.Fatalf("loadCredentials: %d %s", status, body)
	}
	if hdr.Get("Cache-Control") != "no-cache" {
		t.Errorf("loadCredentials Cache-Control %q", hdr.Get("Cache-Control"))
	}
	return lc
}

func TestGCSWarehouseOverREST(t *testing.T) {
	t.Parallel()
	srv, bucket := gcstest.NewBucket(t)
	sts := gcstest.NewSTS(t)
	readOnly := func(_ context.Context, id store.Ident) vend.Mode {
		if id.Name == "ro" {
			return vend.ReadOnly
		}
		return vend.ReadWrite
	}
	l := startCloudLake(t, "gs://"+bucket+"/lake",
		vend.Profile{GCS: srv.Profile(sts.URL), VendedCredentials: true, RemoteSigning: true, CredentialDuration: time.Hour},
		servertest.Config{AccessMode: readOnly})
	gcs := srv.Client(t)
	keys := []string{"gcs.oauth2.token", "gcs.oauth2.token-expires-at"}
	l.must(t, 200, "POST", "/namespaces", `{"namespace":["ns"]}`)

	// createTable with vended-credentials: the metadata file is in the
	// bucket, the token is the exchange's, bounded to the table's prefix.
	r := loadResult(t, l.must(t, 200, "POST", "/namespaces/ns/tables", `{"name":"t","schema":`+s3SchemaJSON+`}`,
		"X-Iceberg-Access-Delegation", "vended-credentials"))
	loc := tableLocation(t, r)
	if !strings.HasPrefix(loc, l.loc+"/ns/t-") || !strings.HasPrefix(*r.MetadataLocation, loc+"/metadata/") {
		t.Fatalf("table location %s, metadata %s", loc, *r.MetadataLocation)
	}
	tableKey := strings.TrimPrefix(loc, "gs://"+bucket+"/")
	if objs := gcstest.Objects(t, gcs, bucket, tableKey+"/metadata/"); len(objs) != 1 {
		t.Fatalf("metadata objects %v", objs)
	}
	cfg := credentialOf(t, r, loc, keys...)
	ex := sts.Exchanges()
	if len(ex) != 1 || cfg["gcs.oauth2.token"] != ex[0].Token {
		t.Fatalf("token %q, exchanges %+v", cfg["gcs.oauth2.token"], ex)
	}
	rule := ex[0].Boundary.AccessBoundary.Rules[0]
	if rule.AvailableResource != "//storage.googleapis.com/projects/_/buckets/"+bucket || rule.AvailablePermissions[0] != "inRole:roles/storage.objectAdmin" ||
		rule.Condition == nil || !strings.Contains(rule.Condition.Expression, "startsWith('projects/_/buckets/"+bucket+"/objects/"+tableKey+"/')") {
		t.Errorf("access boundary %+v", rule)
	}
	if (*r.Config)["gcs.service.host"] != srv.Endpoint {
		t.Errorf("client config %v", *r.Config)
	}

	// loadTable and loadCredentials: the same (cached) token.
	lr := loadResult(t, l.must(t, 200, "GET", "/namespaces/ns/tables/t", "", "X-Iceberg-Access-Delegation", "vended-credentials"))
	if credentialOf(t, lr, loc, keys...)["gcs.oauth2.token"] != cfg["gcs.oauth2.token"] {
		t.Error("loadTable: token not from the cache")
	}
	lc := loadCredentialsOf(t, l.base, "t")
	if len(lc.StorageCredentials) != 1 || lc.StorageCredentials[0].Prefix != loc || lc.StorageCredentials[0].Config["gcs.oauth2.token"] != cfg["gcs.oauth2.token"] {
		t.Errorf("loadCredentials %+v", lc)
	}
	if len(sts.Exchanges()) != 1 {
		t.Errorf("%d exchanges for one table", len(sts.Exchanges()))
	}
	// Without the header: the endpoint, no token.
	lr = loadResult(t, l.must(t, 200, "GET", "/namespaces/ns/tables/t", ""))
	if lr.StorageCredentials != nil || (*lr.Config)["gcs.oauth2.token"] != "" || (*lr.Config)["gcs.service.host"] != srv.Endpoint {
		t.Errorf("without delegation: %+v", lr.Config)
	}

	// Staged create, register (of a dropped table's file) and a read-only
	// caller.
	sr := loadResult(t, l.must(t, 200, "POST", "/namespaces/ns/tables", `{"name":"staged","stage-create":true,"schema":`+s3SchemaJSON+`}`,
		"X-Iceberg-Access-Delegation", "vended-credentials"))
	credentialOf(t, sr, tableLocation(t, sr), keys...)
	r2 := loadResult(t, l.must(t, 200, "POST", "/namespaces/ns/tables", `{"name":"t2","schema":`+s3SchemaJSON+`}`))
	l.must(t, 204, "DELETE", "/namespaces/ns/tables/t2", "")
	rr := loadResult(t, l.must(t, 200, "POST", "/namespaces/ns/register", `{"name":"again","metadata-location":"`+*r2.MetadataLocation+`"}`,
		"X-Iceberg-Access-Delegation", "vended-credentials"))
	credentialOf(t, rr, tableLocation(t, r2), keys...)
	ro := loadResult(t, l.must(t, 200, "POST", "/namespaces/ns/tables", `{"name":"ro","schema":`+s3SchemaJSON+`}`,
		"X-Iceberg-Access-Delegation", "vended-credentials"))
	roTok := credentialOf(t, ro, tableLocation(t, ro), keys...)["gcs.oauth2.token"]
	ex = sts.Exchanges()
	last := ex[len(ex)-1]
	if last.Token != roTok || last.Boundary.AccessBoundary.Rules[0].AvailablePermissions[0] != "inRole:roles/storage.objectViewer" {
		t.Errorf("read-only exchange %+v", last.Boundary)
	}

	// Drop with purge: the purger deletes the table's objects.
	l.must(t, 204, "DELETE", "/namespaces/ns/tables/t?purgeRequested=true", "")
	if _, err := l.Catalog.PurgeOnce(context.Background()); err != nil {
		t.Fatalf("purge: %v", err)
	}
	if left := gcstest.Objects(t, gcs, bucket, tableKey+"/"); len(left) != 0 {
		t.Errorf("left after purge: %v", left)
	}
	if strings.Contains(l.log.String(), gcstest.RootToken) {
		t.Fatal("the catalog's token was logged")
	}
}

// sasContainer is a client of container cont with a SAS from config.
func sasContainer(t *testing.T, srv azuretest.Server, cont string, cfg map[string]string) *container.Client {
	t.Helper()
	tok := cfg["adls.sas-token."+azuretest.Host]
	if tok == "" || cfg["adls.sas-token."+azuretest.Account] != tok {
		t.Fatalf("SAS keys in %v", cfg)
	}
	return srv.WithSAS(t, cont, tok)
}

func azureStatus(err error) int {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	if err != nil {
		return -1
	}
	return 0
}

func TestAzureWarehouseOverREST(t *testing.T) {
	t.Parallel()
	srv, cont := azuretest.NewContainer(t)
	_, other := azuretest.NewContainer(t)
	readOnly := func(_ context.Context, id store.Ident) vend.Mode {
		if id.Name == "ro" {
			return vend.ReadOnly
		}
		return vend.ReadWrite
	}
	// User-delegation SAS; Azurite has no hierarchical namespace, so they
	// cover the container.
	l := startCloudLake(t, azuretest.Location(cont, "lake"),
		vend.Profile{Azure: srv.Profile(true, vend.SASScopeContainer), VendedCredentials: true, CredentialDuration: time.Hour},
		servertest.Config{AccessMode: readOnly})
	ctx := context.Background()
	host := azuretest.Host
	keys := []string{"adls.sas-token." + host, "adls.sas-token-expires-at-ms." + host, "adls.sas-token." + azuretest.Account, "adls.sas-token-expires-at-ms." + azuretest.Account}
	l.must(t, 200, "POST", "/namespaces", `{"namespace":["ns"]}`)

	r := loadResult(t, l.must(t, 200, "POST", "/namespaces/ns/tables", `{"name":"t","schema":`+s3SchemaJSON+`}`,
		"X-Iceberg-Access-Delegation", "vended-credentials"))
	loc := tableLocation(t, r)
	if !strings.HasPrefix(loc, l.loc+"/ns/t-") {
		t.Fatalf("table location %s", loc)
	}
	tablePath := strings.TrimPrefix(loc, azuretest.Location(cont, ""))
	if blobs := srv.Blobs(t, cont, tablePath+"/metadata/"); len(blobs) != 1 {
		t.Fatalf("metadata blobs %v", blobs)
	}
	cfg := credentialOf(t, r, loc, keys...)
	if (*r.Config)["adls.endpoint"] != "127.0.0.1:10000" || (*r.Config)["adls.protocol"] != "https" {
		t.Errorf("client config %v", *r.Config)
	}
	if !strings.Contains(cfg["adls.sas-token."+host], "skoid=") {
		t.Errorf("not a user-delegation SAS: %s", cfg["adls.sas-token."+host])
	}
	c := sasContainer(t, srv, cont, cfg)
	if _, err := c.NewBlockBlobClient(tablePath+"/data/f.parquet").UploadBuffer(ctx, []byte("x"), nil); err != nil {
		t.Errorf("write inside the table with the vended SAS: %v", err)
	}
	if rd, err := c.NewBlobClient(strings.TrimPrefix(*r.MetadataLocation, azuretest.Location(cont, ""))).DownloadStream(ctx, nil); err != nil {
		t.Errorf("read the metadata file with the vended SAS: %v", err)
	} else {
		rd.Body.Close()
	}
	if _, err := sasContainer(t, srv, other, cfg).NewBlockBlobClient(tablePath+"/data/f.parquet").UploadBuffer(ctx, []byte("x"), nil); azureStatus(err) != http.StatusForbidden {
		t.Errorf("write in another container: want 403, got %v", err)
	}

	// loadTable and loadCredentials: the same (cached) SAS.
	lr := loadResult(t, l.must(t, 200, "GET", "/namespaces/ns/tables/t", "", "X-Iceberg-Access-Delegation", "vended-credentials"))
	if credentialOf(t, lr, loc, keys...)["adls.sas-token."+host] != cfg["adls.sas-token."+host] {
		t.Error("loadTable: SAS not from the cache")
	}
	lc := loadCredentialsOf(t, l.base, "t")
	if len(lc.StorageCredentials) != 1 || lc.StorageCredentials[0].Prefix != loc || lc.StorageCredentials[0].Config["adls.sas-token."+host] != cfg["adls.sas-token."+host] {
		t.Errorf("loadCredentials %+v", lc)
	}
	lr = loadResult(t, l.must(t, 200, "GET", "/namespaces/ns/tables/t", ""))
	if lr.StorageCredentials != nil || (*lr.Config)["adls.sas-token."+host] != "" {
		t.Errorf("without delegation: %+v", lr.Config)
	}

	// Register (of a dropped table's file) and a read-only caller.
	r2 := loadResult(t, l.must(t, 200, "POST", "/namespaces/ns/tables", `{"name":"t2","schema":`+s3SchemaJSON+`}`))
	l.must(t, 204, "DELETE", "/namespaces/ns/tables/t2", "")
	rr := loadResult(t, l.must(t, 200, "POST", "/namespaces/ns/register", `{"name":"again","metadata-location":"`+*r2.MetadataLocation+`"}`,
		"X-Iceberg-Access-Delegation", "vended-credentials"))
	credentialOf(t, rr, tableLocation(t, r2), keys...)
	ro := loadResult(t, l.must(t, 200, "POST", "/namespaces/ns/tables", `{"name":"ro","schema":`+s3SchemaJSON+`}`,
		"X-Iceberg-Access-Delegation", "vended-credentials"))
	roLoc := tableLocation(t, ro)
	rc := sasContainer(t, srv, cont, credentialOf(t, ro, roLoc, keys...))
	roPath := strings.TrimPrefix(roLoc, azuretest.Location(cont, ""))
	if _, err := rc.NewBlockBlobClient(roPath+"/data/x.parquet").UploadBuffer(ctx, []byte("x"), nil); azureStatus(err) != http.StatusForbidden {
		t.Errorf("read-only SAS write: want 403, got %v", err)
	}

	// Drop with purge.
	l.must(t, 204, "DELETE", "/namespaces/ns/tables/t?purgeRequested=true", "")
	if _, err := l.Catalog.PurgeOnce(ctx); err != nil {
		t.Fatalf("purge: %v", err)
	}
	// What the metadata reaches is gone; a blob it never mentioned is not
	// known to be the table's and stays.
	if left := srv.Blobs(t, cont, tablePath+"/"); len(left) != 1 || !strings.HasSuffix(left[0], "/data/f.parquet") {
		t.Errorf("left after purge: %v", left)
	}
	if strings.Contains(l.log.String(), srv.AccountKey) {
		t.Fatal("the account key was logged")
	}
}

// An object store or credential service that cannot be reached, or that
// refuses: 503 with the cause, no table, nothing written, no secret shown.
func TestCloudStoreFailures(t *testing.T) {
	t.Parallel()
	azsrv, cont := azuretest.NewContainer(t)
	// Azurite refuses user delegation keys to tokens not meant for storage.
	azRefused := azsrv.Profile(true, vend.SASScopeContainer)
	azRefused.TokenCredential = notForStorage{}
	gsrv, bucket := gcstest.NewBucket(t)
	refusing := gcstest.NewSTS(t)
	refusing.Refuse("The access boundary is invalid")
	const secret = "bmV2ZXItc2hvd24=" // an account key, never shown
	down := strings.Replace(closedEndpoint(t), "http:", "https:", 1)
	whs := []vend.Warehouse{
		{Name: "gcsdown", Location: "gs://b/wh", Profile: vend.Profile{VendedCredentials: true, CredentialDuration: time.Hour,
			GCS: vend.GCSConfig{Endpoint: closedEndpoint(t) + "/storage/v1/", Credentials: gcstest.RootCredentials(), STSEndpoint: closedEndpoint(t) + "/v1/token"}}},
		{Name: "azdown", Location: azuretest.Location("c", "wh"), Profile: vend.Profile{VendedCredentials: true, CredentialDuration: time.Hour,
			Azure: vend.AzureConfig{Endpoint: down + "/devstoreaccount1", AccountKey: secret, TokenCredential: azuretest.FakeAD{}, HTTPClient: azsrv.HTTP}}},
		{Name: "gcsrefuses", Location: "gs://" + bucket + "/wh", Profile: vend.Profile{VendedCredentials: true, CredentialDuration: time.Hour,
			GCS: gsrv.Profile(refusing.URL)}},
		{Name: "azrefuses", Location: azuretest.Location(cont, "wh"), Profile: vend.Profile{VendedCredentials: true, CredentialDuration: time.Hour,
			Azure: azRefused}},
	}
	log := &syncBuffer{}
	srv := servertest.Start(t, servertest.SQLite, servertest.Config{LogOutput: log, Storage: whs})
	for _, wh := range []string{"gcsdown", "azdown", "gcsrefuses", "azrefuses"} {
		base := srv.URL + "/v1/" + wh
		if status, _, body := call(t, "POST", base+"/namespaces", "application/json", []byte(`{"namespace":["ns"]}`)); status != 200 {
			t.Fatal(string(body))
		}
		for _, h := range []string{"", "vended-credentials"} {
			if (wh == "gcsrefuses" || wh == "azrefuses") && h == "" {
				continue // the store itself is up
			}
			var hs []string
			if h != "" {
				hs = []string{"X-Iceberg-Access-Delegation", h}
			}
			status, _, body := call(t, "POST", base+"/namespaces/ns/tables", "application/json", []byte(`{"name":"t","schema":`+s3SchemaJSON+`}`), hs...)
			msg := ""
			if status == 503 {
				e := errorOf(t, status, body)
				msg = e.Message
				if e.Type != "ServiceUnavailableException" {
					t.Errorf("%s: type %s", wh, e.Type)
				}
			}
			want := map[string][]string{
				"gcsdown":    {"unreachable"},
				"azdown":     {"unreachable"},
				"gcsrefuses": {"Cannot vend credentials", "token exchange", "refused", "invalid_grant", "access boundary is invalid"},
				"azrefuses":  {"Cannot vend credentials", "refused a user delegation key", "devstoreaccount1", "403 AuthenticationFailed"},
			}[wh]
			if h != "" && wh == "gcsdown" {
				want = []string{"Cannot vend credentials", "token exchange", "unreachable"}
			}
			for _, w := range want {
				if !strings.Contains(msg, w) {
					t.Errorf("%s (delegation %q): status %d, message %q does not name the cause (%q)", wh, h, status, msg, w)
				}
			}
			if strings.Contains(string(body), secret) || strings.Contains(string(body), gcstest.RootToken) {
				t.Fatal("a secret in a response")
			}
		}
		if status, _, body := call(t, "GET", base+"/namespaces/ns/tables/t", "", nil); status != 404 {
			t.Errorf("%s: table exists after failed creates: %d %s", wh, status, body)
		}
	}
	if objs := gcstest.Objects(t, gsrv.Client(t), bucket, ""); len(objs) != 0 {
		t.Errorf("objects written by a refused create: %v", objs)
	}
	if blobs := azsrv.Blobs(t, cont, ""); len(blobs) != 0 {
		t.Errorf("blobs written by a refused create: %v", blobs)
	}
	if l := log.String(); strings.Contains(l, secret) || strings.Contains(l, azsrv.AccountKey) || strings.Contains(l, gcstest.RootToken) || !strings.Contains(l, "status=503") {
		t.Errorf("log: %s", l)
	}
}

// The iceberg-go client creates, appends to and reads a GCS table with only
// what the catalog gives it: the endpoint and the downscoped token (without
// a token it would look for Application Default Credentials and fail).
func TestIcebergGoClientOnGCS(t *testing.T) {
	t.Parallel()
	for _, k := range []string{"GOOGLE_APPLICATION_CREDENTIALS", "STORAGE_EMULATOR_HOST"} {
		if os.Getenv(k) != "" {
			t.Skipf("%s is set: this test proves the client needs no credentials of its own", k)
		}
	}
	srv, bucket := gcstest.NewBucket(t)
	sts := gcstest.NewSTS(t)
	l := startCloudLake(t, "gs://"+bucket+"/lake",
		vend.Profile{GCS: srv.Profile(sts.URL), VendedCredentials: true, CredentialDuration: time.Hour}, servertest.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cat, err := rest.NewCatalog(ctx, "bingsan", l.URL, rest.WithWarehouseLocation("lake"))
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	if err := cat.CreateNamespace(ctx, catalog.ToIdentifier("db"), nil); err != nil {
		t.Fatal(err)
	}
	id := catalog.ToIdentifier("db", "events")
	sc := iceberg.NewSchema(0,
		iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64, Required: true},
		iceberg.NestedField{ID: 2, Name: "name", Type: iceberg.PrimitiveTypes.String})
	tbl, err := cat.CreateTable(ctx, id, sc)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	as, err := table.SchemaToArrowSchema(tbl.Schema(), nil, false, false)
	if err != nil {
		t.Fatal(err)
	}
	at, err := array.TableFromJSON(memory.DefaultAllocator, as, []string{`[{"id":1,"name":"a"},{"id":2,"name":"b"}]`})
	if err != nil {
		t.Fatal(err)
	}
	_, err = tbl.AppendTable(ctx, at, 2, nil)
	at.Release()
	if err != nil {
		t.Fatalf("append: %v", err)
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
	if out.NumRows() != 2 {
		t.Fatalf("rows %d", out.NumRows())
	}
	tableKey := strings.TrimPrefix(loaded.Location(), "gs://"+bucket+"/")
	var data int
	for _, o := range gcstest.Objects(t, srv.Client(t), bucket, "") {
		if !strings.HasPrefix(o, tableKey+"/") {
			t.Errorf("object outside the table: %s", o)
		}
		if strings.HasSuffix(o, ".parquet") {
			data++
		}
	}
	if data != 1 {
		t.Errorf("%d data files", data)
	}
	if len(sts.Exchanges()) == 0 {
		t.Error("no token was exchanged")
	}
}

// envAzureClient tells the child process of TestIcebergGoClientOnAzure the
// catalog URL to use.
const envAzureClient = "BINGSAN_TEST_AZURE_CLIENT_CATALOG"

// The iceberg-go client creates, appends to and reads an Azure table with
// only what the catalog gives it: the endpoint (adls.endpoint,
// adls.protocol) and the SAS under adls.sas-token.<host> (without one it
// would look for Azure AD credentials and fail). The client's Azure IO
// trusts only the system's certificates and Azurite's is self-signed, so
// the client runs in a child process whose SSL_CERT_FILE adds it (the
// system certificate directories stay trusted).
func TestIcebergGoClientOnAzure(t *testing.T) {
	t.Parallel()
	srv, cont := azuretest.NewContainer(t)
	ca := azuretest.CAFile()
	if ca == "" {
		t.Skip("no Azurite certificate file")
	}
	l := startCloudLake(t, azuretest.Location(cont, "lake"),
		vend.Profile{Azure: srv.Profile(true, vend.SASScopeContainer), VendedCredentials: true, CredentialDuration: time.Hour},
		servertest.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestIcebergGoClientOnAzureChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), envAzureClient+"="+l.URL, "SSL_CERT_FILE="+ca)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "PASS") {
		t.Fatalf("client: %v\n%s", err, out)
	}
	var data int
	for _, b := range srv.Blobs(t, cont, "") {
		if !strings.HasPrefix(b, "lake/db/events-") {
			t.Errorf("blob outside the table: %s", b)
		}
		if strings.HasSuffix(b, ".parquet") {
			data++
		}
	}
	if data != 1 {
		t.Errorf("%d data files", data)
	}
}

// TestIcebergGoClientOnAzureChild is the client of
// TestIcebergGoClientOnAzure.
func TestIcebergGoClientOnAzureChild(t *testing.T) {
	uri := os.Getenv(envAzureClient)
	if uri == "" {
		t.Skip("run by TestIcebergGoClientOnAzure")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cat, err := rest.NewCatalog(ctx, "bingsan", uri, rest.WithWarehouseLocation("lake"))
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	if err := cat.CreateNamespace(ctx, catalog.ToIdentifier("db"), nil); err != nil {
		t.Fatal(err)
	}
	id := catalog.ToIdentifier("db", "events")
	sc := iceberg.NewSchema(0,
		iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64, Required: true},
		iceberg.NestedField{ID: 2, Name: "name", Type: iceberg.PrimitiveTypes.String})
	tbl, err := cat.CreateTable(ctx, id, sc)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	as, err := table.SchemaToArrowSchema(tbl.Schema(), nil, false, false)
	if err != nil {
		t.Fatal(err)
	}
	at, err := array.TableFromJSON(memory.DefaultAllocator, as, []string{`[{"id":1,"name":"a"},{"id":2,"name":"b"}]`})
	if err != nil {
		t.Fatal(err)
	}
	_, err = tbl.AppendTable(ctx, at, 2, nil)
	at.Release()
	if err != nil {
		t.Fatalf("append: %v", err)
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
	if out.NumRows() != 2 {
		t.Fatalf("rows %d", out.NumRows())
	}
	if !strings.HasPrefix(loaded.Location(), "abfss://") || !strings.Contains(loaded.Location(), "/lake/db/events-") {
		t.Errorf("location %s", loaded.Location())
	}
}

// notForStorage is an Azure AD credential whose tokens are not for storage.
type notForStorage struct{}

func (notForStorage) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	enc := base64.RawURLEncoding
	tok := enc.EncodeToString([]byte(`{"alg":"none"}`)) + "." + enc.EncodeToString([]byte(`{"aud":"https://management.azure.com"}`)) + ".x"
	return azcore.AccessToken{Token: tok, ExpiresOn: time.Now().Add(time.Hour)}, nil
}
