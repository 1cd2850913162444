package vend_test

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/internal/gcstest"
	"github.com/bingsan/bingsan/vend"
)

// gcsEnv is a bucket on the test server, the STS stand-in and a Storage
// with one GCS warehouse at gs://<bucket>/wh.
type gcsEnv struct {
	srv    gcstest.Server
	sts    *gcstest.STS
	bucket string
	wh     string
	st     *vend.Storage
	clock  *fakeClock
}

func gcsSetup(t *testing.T, edit func(p *vend.Profile)) *gcsEnv {
	t.Helper()
	srv, bucket := gcstest.NewBucket(t)
	e := &gcsEnv{srv: srv, sts: gcstest.NewSTS(t), bucket: bucket, wh: "gs://" + bucket + "/wh", clock: &fakeClock{t: time.Now()}}
	prof := vend.Profile{GCS: srv.Profile(e.sts.URL), VendedCredentials: true, RemoteSigning: true, CredentialDuration: time.Hour}
	if edit != nil {
		edit(&prof)
	}
	st, err := vend.Open(context.Background(), []vend.Warehouse{{Name: "lake", Location: e.wh, Profile: prof}}, vend.Options{Now: e.clock.Now})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	e.st = st
	return e
}

func TestGCSFileIO(t *testing.T) {
	t.Parallel()
	e := gcsSetup(t, nil)
	ctx := context.Background()
	file := e.wh + "/ns/t-1/metadata/00000-x.metadata.json"

	if err := e.st.WriteNew(ctx, file, []byte(`{"a":1}`)); err != nil {
		t.Fatalf("WriteNew: %v", err)
	}
	got, err := e.st.Read(ctx, file)
	if err != nil || string(got) != `{"a":1}` {
		t.Fatalf("Read = %q, %v", got, err)
	}
	if ok, err := e.st.Exists(ctx, file); !ok || err != nil {
		t.Fatalf("Exists = %v, %v", ok, err)
	}
	// No overwrite: the second create fails and the first content stays.
	if err := e.st.WriteNew(ctx, file, []byte(`{"a":2}`)); !errs.Is(err, errs.AlreadyExists) {
		t.Fatalf("second WriteNew: want AlreadyExists, got %v", err)
	}
	if got, _ := e.st.Read(ctx, file); string(got) != `{"a":1}` {
		t.Fatalf("file replaced: %q", got)
	}
	// iceberg-go reads through FS with the catalog's credentials.
	fsys, err := e.st.FS(ctx, file)
	if err != nil {
		t.Fatalf("FS: %v", err)
	}
	f, err := fsys.Open(file)
	if err != nil {
		t.Fatalf("FS Open: %v", err)
	}
	b, _ := io.ReadAll(f)
	f.Close()
	if string(b) != `{"a":1}` {
		t.Fatalf("FS read %q", b)
	}

	if err := e.st.Delete(ctx, file); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if err := e.st.Delete(ctx, file); err != nil {
		t.Fatalf("Delete of a missing file: %v", err)
	}
	if _, err := e.st.Read(ctx, file); !errs.Is(err, errs.NotFound) {
		t.Fatalf("Read after delete: want NotFound, got %v", err)
	}
	if ok, err := e.st.Exists(ctx, file); ok || err != nil {
		t.Fatalf("Exists after delete = %v, %v", ok, err)
	}
	if _, err := e.st.Read(ctx, "gs://"+e.bucket+"-missing/wh/x.json"); !errs.Is(err, errs.NotFound) {
		t.Fatalf("Read from a missing bucket: want NotFound, got %v", err)
	}
}

func TestGCSWriteNewConcurrentOneWinner(t *testing.T) {
	t.Parallel()
	e := gcsSetup(t, nil)
	ctx := context.Background()
	file := e.wh + "/ns/t/metadata/m.json"
	const n = 8
	results := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { results[i] = e.st.WriteNew(ctx, file, []byte(fmt.Sprint(i))) })
	}
	wg.Wait()
	wins := 0
	for _, err := range results {
		switch {
		case err == nil:
			wins++
		case !errs.Is(err, errs.AlreadyExists):
			t.Fatalf("unexpected error %v", err)
		}
	}
	if wins != 1 {
		t.Fatalf("want one winner, got %d", wins)
	}
}

func TestGCSUnreachable(t *testing.T) {
	t.Parallel()
	prof := vend.Profile{VendedCredentials: true, GCS: vend.GCSConfig{
		Endpoint: closedPort(t) + "/storage/v1/", Credentials: gcstest.RootCredentials(), STSEndpoint: closedPort(t) + "/v1/token",
	}}
	st, err := vend.Open(context.Background(), []vend.Warehouse{{Name: "x", Location: "gs://b/wh", Profile: prof}}, vend.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	start := time.Now()
	err = st.WriteNew(ctx, "gs://b/wh/t/metadata/m.json", []byte("x"))
	if !errs.Is(err, errs.ServiceUnavailable) || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("WriteNew: want ServiceUnavailable (unreachable), got %v", err)
	}
	if _, err := st.Read(ctx, "gs://b/wh/t/metadata/m.json"); !errs.Is(err, errs.ServiceUnavailable) {
		t.Fatalf("Read: want ServiceUnavailable, got %v", err)
	}
	if err := st.Delete(ctx, "gs://b/wh/t/metadata/m.json"); !errs.Is(err, errs.ServiceUnavailable) {
		t.Fatalf("Delete: want ServiceUnavailable, got %v", err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("failing took %s", d)
	}
	_, err = st.Vendor("x").Credentials(ctx, vend.Scope{Locations: []string{"gs://b/wh/t"}})
	if !errs.Is(err, errs.ServiceUnavailable) || !strings.Contains(err.Error(), "token exchange") || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("Credentials: want ServiceUnavailable naming the token exchange, got %v", err)
	}
	if strings.Contains(err.Error(), gcstest.RootToken) {
		t.Fatalf("error shows the catalog's token: %v", err)
	}
}

// Credentials that cannot be loaded fail the first operation that needs
// them, not start-up, and say why.
func TestGCSCredentialsUnavailable(t *testing.T) {
	t.Parallel()
	srv := gcstest.Require(t)
	missing := filepath.Join(t.TempDir(), "missing.json")
	prof := vend.Profile{VendedCredentials: true, GCS: vend.GCSConfig{Endpoint: srv.Endpoint, CredentialsFile: missing}}
	st, err := vend.Open(context.Background(), []vend.Warehouse{{Name: "x", Location: "gs://b/wh", Profile: prof}}, vend.Options{})
	if err != nil {
		t.Fatalf("Open must not look for credentials: %v", err)
	}
	ctx := context.Background()
	err = st.WriteNew(ctx, "gs://b/wh/t/m.json", []byte("x"))
	if !errs.Is(err, errs.ServiceUnavailable) || !strings.Contains(err.Error(), "Google credentials") || !strings.Contains(err.Error(), "missing.json") {
		t.Fatalf("WriteNew: want ServiceUnavailable naming the credentials, got %v", err)
	}
	_, err = st.Vendor("x").Credentials(ctx, vend.Scope{Locations: []string{"gs://b/wh/t"}})
	if !errs.Is(err, errs.ServiceUnavailable) || !strings.Contains(err.Error(), "Cannot vend credentials") || !strings.Contains(err.Error(), "Google credentials") {
		t.Fatalf("Credentials: got %v", err)
	}
}

// A warehouse without credentials (emulators, public buckets) serves files
// and vends nothing.
func TestGCSNoAuth(t *testing.T) {
	t.Parallel()
	srv, bucket := gcstest.NewBucket(t)
	prof := vend.Profile{VendedCredentials: true, GCS: vend.GCSConfig{Endpoint: srv.Endpoint, NoAuth: true}}
	st, err := vend.Open(context.Background(), []vend.Warehouse{{Name: "x", Location: "gs://" + bucket + "/wh", Profile: prof}}, vend.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := st.WriteNew(ctx, "gs://"+bucket+"/wh/t/m.json", []byte("x")); err != nil {
		t.Fatal(err)
	}
	g, err := st.Vendor("x").Grant(ctx, vend.Scope{Locations: []string{"gs://" + bucket + "/wh/t"}}, vend.Delegation{VendedCredentials: true})
	if err != nil || len(g.Credentials) != 0 || g.Config["gcs.no-auth"] != "true" || g.Config["gcs.service.host"] != srv.Endpoint {
		t.Fatalf("Grant: %+v, %v", g, err)
	}
}
