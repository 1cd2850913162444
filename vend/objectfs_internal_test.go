package vend

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"testing"
	"time"

	icebergio "github.com/apache/iceberg-go/io"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/vend/azure"
	"github.com/bingsan/bingsan/vend/gcs"
)

// memStore is an objectIO over a map, for objectFS.
type memStore map[string][]byte

func (m memStore) WriteNew(_ context.Context, loc string, data []byte) error {
	m[loc] = data
	return nil
}

func (m memStore) Read(_ context.Context, loc string) ([]byte, error) {
	if b, ok := m[loc]; ok {
		return b, nil
	}
	return nil, errs.New(errs.NotFound, "File does not exist: %s", loc)
}

func (m memStore) Exists(_ context.Context, loc string) (bool, error) {
	_, ok := m[loc]
	return ok, nil
}
func (m memStore) Delete(_ context.Context, loc string) error       { delete(m, loc); return nil }
func (m memStore) FS(context.Context, string) (icebergio.IO, error) { return nil, nil }

func TestObjectFS(t *testing.T) {
	t.Parallel()
	store := memStore{"gs://b/t/m.avro": []byte("manifest")}
	fsys := newObjectFS(context.Background(), store, kindGCS, "b")
	f, err := fsys.Open("gs://b/t/m.avro")
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 3)
	if _, err := f.ReadAt(buf, 2); err != nil || string(buf) != "nif" {
		t.Errorf("ReadAt = %q, %v", buf, err)
	}
	if st, err := f.Stat(); err != nil || st.Size() != 8 || st.Name() != "m.avro" {
		t.Errorf("Stat = %v, %v", st, err)
	}
	if b, _ := io.ReadAll(f); string(b) != "manifest" {
		t.Errorf("Read = %q", b)
	}
	if _, err := fsys.Open("gs://b/t/missing.avro"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	for _, other := range []string{"gs://other/t/m.avro", "s3://b/t/m.avro", "gs://b", "relative/path"} {
		var pe *fs.PathError
		if _, err := fsys.Open(other); !errors.As(err, &pe) || errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Open(%s): %v", other, err)
		}
	}
	if err := fsys.Remove("gs://b/t/m.avro"); err != nil || len(store) != 0 {
		t.Errorf("Remove: %v, left %v", err, store)
	}
	// Without a bucket (S3), any bucket of the store.
	store["s3://x/m.avro"] = []byte("m")
	if b, err := newObjectFS(context.Background(), store, kindS3, "").ReadFile("s3://x/m.avro"); err != nil || string(b) != "m" {
		t.Errorf("any bucket: %q, %v", b, err)
	}
}

// SDK-shaped credentials are adapted by their methods' shapes; anything
// else is refused with what is expected.
type sdkGoogleToken struct {
	Value, Type string
	Expiry      time.Time
}
type sdkGoogleCreds struct{}

func (sdkGoogleCreds) Token(context.Context) (*sdkGoogleToken, error) {
	return &sdkGoogleToken{Value: "v", Type: "Bearer", Expiry: time.Unix(1e9, 0)}, nil
}

type sdkAzureOptions struct{ Scopes []string }
type sdkAzureToken struct {
	Token     string
	ExpiresOn time.Time
}
type sdkAzureCred struct{}

func (sdkAzureCred) GetToken(_ context.Context, o sdkAzureOptions) (sdkAzureToken, error) {
	if len(o.Scopes) != 1 || o.Scopes[0] != azure.StorageScope {
		return sdkAzureToken{}, errors.New("wrong scopes")
	}
	return sdkAzureToken{Token: "a", ExpiresOn: time.Unix(1e9, 0)}, nil
}

type wrongShape struct{}

func (wrongShape) Token() string                  { return "" }
func (wrongShape) GetToken(context.Context) error { return nil }

func TestSDKTokenSources(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	g, err := googleTokenSource(sdkGoogleCreds{})
	if err != nil {
		t.Fatal(err)
	}
	if tok, err := g.Token(ctx); err != nil || tok != (gcs.Token{Value: "v", Type: "Bearer", Expiry: time.Unix(1e9, 0)}) {
		t.Errorf("google token %+v, %v", tok, err)
	}
	a, err := azureSDKTokenSource(sdkAzureCred{})
	if err != nil {
		t.Fatal(err)
	}
	if tok, err := a.Token(ctx, azure.StorageScope); err != nil || tok.Value != "a" || !tok.Expiry.Equal(time.Unix(1e9, 0)) {
		t.Errorf("azure token %+v, %v", tok, err)
	}
	for _, v := range []any{wrongShape{}, 42, "x"} {
		if _, err := googleTokenSource(v); err == nil {
			t.Errorf("googleTokenSource(%T): no error", v)
		}
		if _, err := azureSDKTokenSource(v); err == nil {
			t.Errorf("azureSDKTokenSource(%T): no error", v)
		}
	}
	// Open refuses such credentials at start-up, naming what it wants.
	_, err = Open(ctx, []Warehouse{{Name: "a", Location: "abfss://c@acct.dfs.core.windows.net/wh", Profile: Profile{Azure: AzureConfig{TokenCredential: wrongShape{}}}}}, Options{})
	if err == nil {
		t.Error("Open with an unusable Azure credential: no error")
	}
}
