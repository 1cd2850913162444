package vend_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/internal/azuretest"
	"github.com/bingsan/bingsan/vend"
)

// azureEnv is a container on Azurite and a Storage with one Azure
// warehouse at abfss://<container>@devstoreaccount1.dfs.core.windows.net/wh.
type azureEnv struct {
	srv   azuretest.Server
	cont  string
	wh    string
	st    *vend.Storage
	clock *fakeClock
}

// azureSetup opens the warehouse: user-delegation SAS (an Azure AD
// credential) or service SAS (the account key only), scoped to the
// container (Azurite has no hierarchical namespace, so no directory SAS).
func azureSetup(t *testing.T, userDelegation bool, edit func(p *vend.Profile)) *azureEnv {
	t.Helper()
	srv, cont := azuretest.NewContainer(t)
	e := &azureEnv{srv: srv, cont: cont, wh: azuretest.Location(cont, "wh"), clock: &fakeClock{t: time.Now()}}
	prof := vend.Profile{Azure: srv.Profile(userDelegation, vend.SASScopeContainer), VendedCredentials: true, RemoteSigning: true, CredentialDuration: time.Hour}
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

func TestAzureFileIO(t *testing.T) {
	t.Parallel()
	e := azureSetup(t, false, nil)
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
	if err := e.st.WriteNew(ctx, file, []byte(`{"a":2}`)); !errs.Is(err, errs.AlreadyExists) {
		t.Fatalf("second WriteNew: want AlreadyExists, got %v", err)
	}
	if got, _ := e.st.Read(ctx, file); string(got) != `{"a":1}` {
		t.Fatalf("file replaced: %q", got)
	}
	// The same blob through the wasbs:// spelling of the account.
	if got, err := e.st.Read(ctx, "wasbs://"+e.cont+"@devstoreaccount1.blob.core.windows.net/wh/ns/t-1/metadata/00000-x.metadata.json"); err != nil || string(got) != `{"a":1}` {
		t.Fatalf("Read through wasbs:// = %q, %v", got, err)
	}
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
	if _, err := e.st.Read(ctx, azuretest.Location(e.cont+"-missing", "wh/x.json")); !errs.Is(err, errs.NotFound) {
		t.Fatalf("Read from a missing container: want NotFound, got %v", err)
	}
	// Another storage account is not this warehouse's.
	if _, err := e.st.Read(ctx, "abfss://"+e.cont+"@otheraccount.dfs.core.windows.net/wh/x.json"); !errs.Is(err, errs.BadRequest) {
		t.Fatalf("Read from another account: want BadRequest, got %v", err)
	}
	if _, err := e.st.Read(ctx, "abfss://devstoreaccount1.dfs.core.windows.net/wh/x.json"); !errs.Is(err, errs.BadRequest) {
		t.Fatalf("Read without a container: want BadRequest, got %v", err)
	}
}

func TestAzureWriteNewConcurrentOneWinner(t *testing.T) {
	t.Parallel()
	e := azureSetup(t, false, nil)
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

func TestAzureUnreachable(t *testing.T) {
	t.Parallel()
	const key = "bmV2ZXItc2hvd24tYWNjb3VudC1rZXk=" // base64, never shown
	for _, ud := range []bool{false, true} {
		prof := vend.Profile{VendedCredentials: true, CredentialDuration: time.Hour, Azure: vend.AzureConfig{
			Endpoint: strings.Replace(closedPort(t), "http:", "https:", 1) + "/devstoreaccount1", AccountKey: vend.Secret(key),
		}}
		if ud {
			prof.Azure.TokenCredential = azuretest.FakeAD{}
		}
		st, err := vend.Open(context.Background(), []vend.Warehouse{{Name: "x", Location: azuretest.Location("c", "wh"), Profile: prof}}, vend.Options{})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		start := time.Now()
		err = st.WriteNew(ctx, azuretest.Location("c", "wh/t/metadata/m.json"), []byte("x"))
		if !errs.Is(err, errs.ServiceUnavailable) || !strings.Contains(err.Error(), "unreachable") {
			t.Fatalf("WriteNew: want ServiceUnavailable (unreachable), got %v", err)
		}
		if err := st.Delete(ctx, azuretest.Location("c", "wh/t/metadata/m.json")); !errs.Is(err, errs.ServiceUnavailable) {
			t.Fatalf("Delete: want ServiceUnavailable, got %v", err)
		}
		if d := time.Since(start); d > 20*time.Second {
			t.Errorf("failing took %s", d)
		}
		_, err = st.Vendor("x").Credentials(ctx, vend.Scope{Locations: []string{azuretest.Location("c", "wh/t")}})
		if ud {
			// A user delegation key needs the service.
			if !errs.Is(err, errs.ServiceUnavailable) || !strings.Contains(err.Error(), "Cannot vend credentials") || !strings.Contains(err.Error(), "unreachable") {
				t.Fatalf("Credentials: want ServiceUnavailable (unreachable), got %v", err)
			}
		} else if err != nil {
			// A service SAS is signed locally.
			t.Fatalf("service SAS: %v", err)
		}
		if err != nil && strings.Contains(err.Error(), key) {
			t.Fatalf("error shows the account key: %v", err)
		}
	}
}
