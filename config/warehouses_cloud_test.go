package config

import (
	"strings"
	"testing"
)

// GCS and Azure storage profiles, in the default warehouse and in the list.
func TestCloudWarehouses(t *testing.T) {
	t.Parallel()
	const yml = `
warehouse:
  location: gs://bucket/main
  gcs:
    endpoint: http://127.0.0.1:4443/storage/v1/
    credentials-file: /etc/bingsan/gcs.json
    sts-endpoint: http://127.0.0.1:9999/v1/token
warehouses:
  - name: adls
    location: abfss://lake@acct.dfs.core.windows.net/wh
    azure: {tenant-id: t, client-id: c, client-secret: cs}
  - name: blob
    location: wasbs://lake@acct.blob.core.windows.net/wh
    azure: {endpoint: "https://127.0.0.1:10000/acct", account-key: a2V5, sas-scope: container}
  - name: emu
    location: gs://b/wh
    gcs: {no-auth: true}
`
	c, _, err := run(t, nil, nil, yml)
	if err != nil {
		t.Fatal(err)
	}
	g := c.Warehouse.GCS
	if g.Endpoint != "http://127.0.0.1:4443/storage/v1/" || g.CredentialsFile != "/etc/bingsan/gcs.json" || g.STSEndpoint != "http://127.0.0.1:9999/v1/token" || g.NoAuth {
		t.Errorf("gcs %+v", g)
	}
	if len(c.Warehouses) != 3 {
		t.Fatalf("warehouses %+v", c.Warehouses)
	}
	adls, blob, emu := c.Warehouses[0].Azure, c.Warehouses[1].Azure, c.Warehouses[2].GCS
	if adls.TenantID != "t" || adls.ClientID != "c" || adls.ClientSecret != "cs" || adls.SASScope != "directory" || adls.AccountKey != "" {
		t.Errorf("adls %+v", adls)
	}
	if blob.Endpoint != "https://127.0.0.1:10000/acct" || blob.AccountKey != "a2V5" || blob.SASScope != "container" {
		t.Errorf("blob %+v", blob)
	}
	if !emu.NoAuth {
		t.Errorf("emu %+v", emu)
	}
	// Flags and environment variables reach the default warehouse's keys.
	c, _, err = run(t, []string{"--warehouse.location=abfss://c@acct.dfs.core.windows.net/wh", "--warehouse.azure.sas-scope=container"},
		map[string]string{"BINGSAN_WAREHOUSE_AZURE_ACCOUNT_KEY": "a2V5"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if c.Warehouse.Azure.SASScope != "container" || c.Warehouse.Azure.AccountKey != "a2V5" {
		t.Errorf("azure from flags and environment: %+v", c.Warehouse.Azure)
	}
}

func TestCloudWarehouseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"bucketless gs", []string{"--warehouse.location=gs:///wh"}, []string{"names no bucket"}},
		{"azure without container", []string{"--warehouse.location=abfss://acct.dfs.core.windows.net/wh"}, []string{"container", "account"}},
		{"bad gcs endpoint", []string{"--warehouse.gcs.endpoint=127.0.0.1:4443"}, []string{"gcs.endpoint", "http(s) URL"}},
		{"bad sts endpoint", []string{"--warehouse.gcs.sts-endpoint=sts"}, []string{"gcs.sts-endpoint", "http(s) URL"}},
		{"bad azure endpoint", []string{"--warehouse.azure.endpoint=ftp://x"}, []string{"azure.endpoint", "http(s) URL"}},
		{"file and json", []string{"--warehouse.gcs.credentials-file=/x", "--warehouse.gcs.credentials-json={}"}, []string{"exclude each other"}},
		{"no-auth with credentials", []string{"--warehouse.gcs.no-auth", "--warehouse.gcs.credentials-file=/x"}, []string{"no-auth excludes"}},
		{"half a service principal", []string{"--warehouse.azure.client-id=c", "--warehouse.azure.client-secret=hidden-secret"}, []string{"set together"}},
		{"unknown sas scope", []string{"--warehouse.azure.sas-scope=blob"}, []string{"sas-scope", "directory or container"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := run(t, tt.args, nil, "")
			if err == nil {
				t.Fatal("expected an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "hidden-secret") {
				t.Errorf("error shows a secret: %v", err)
			}
		})
	}
}
