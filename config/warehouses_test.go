package config

import (
	"strings"
	"testing"
	"time"
)

const warehousesYAML = `
warehouse:
  location: s3://bucket/main
  s3:
    endpoint: http://127.0.0.1:9000
    path-style: true
    access-key-id: AKID
    secret-access-key: main-secret
warehouses:
  - name: lake
    location: s3://other/lake
    credential-duration: 30m
    remote-signing: false
    s3: {region: eu-west-1, role-arn: "arn:aws:iam::1:role/r"}
  - name: local
    location: file:///tmp/local
    allow-external-locations: true
`

func TestWarehouses(t *testing.T) {
	t.Parallel()
	c, _, err := run(t, nil, nil, warehousesYAML)
	if err != nil {
		t.Fatal(err)
	}
	main := c.Warehouse
	if main.Name != "default" || main.Location != "s3://bucket/main" || !main.S3.PathStyle ||
		main.S3.Endpoint != "http://127.0.0.1:9000" || main.S3.SecretAccessKey != "main-secret" || !main.VendedCredentials {
		t.Errorf("default warehouse %+v", main)
	}
	if len(c.Warehouses) != 2 {
		t.Fatalf("warehouses %+v", c.Warehouses)
	}
	lake, local := c.Warehouses[0], c.Warehouses[1]
	// Entries start from the defaults, not from the default warehouse.
	if lake.Name != "lake" || lake.Location != "s3://other/lake" || lake.CredentialDuration != 30*time.Minute ||
		lake.RemoteSigning || !lake.VendedCredentials || lake.S3.Region != "eu-west-1" ||
		lake.S3.RoleARN != "arn:aws:iam::1:role/r" || lake.S3.Endpoint != "" || lake.S3.AccessKeyID != "" {
		t.Errorf("lake %+v", lake)
	}
	if local.Name != "local" || !local.AllowExternalLocations || local.CredentialDuration != time.Hour || local.S3.Region != "us-east-1" {
		t.Errorf("local %+v", local)
	}
	if all := c.AllWarehouses(); len(all) != 3 || all[0].Name != "default" || all[2].Name != "local" {
		t.Errorf("AllWarehouses %v", all)
	}

	// The same list from the environment or a flag, as YAML flow text.
	flow := `[{name: lake, location: "s3://other/lake", s3: {endpoint: "http://127.0.0.1:9000", path-style: true}}]`
	for _, src := range []struct {
		args []string
		env  map[string]string
	}{
		{env: map[string]string{"BINGSAN_WAREHOUSES": flow}},
		{args: []string{"--warehouses", flow}},
	} {
		c, _, err := run(t, src.args, src.env, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Warehouses) != 1 || c.Warehouses[0].Name != "lake" || !c.Warehouses[0].S3.PathStyle {
			t.Errorf("from %v %v: %+v", src.args, src.env, c.Warehouses)
		}
	}
}

func TestWarehouseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		env  map[string]string
		yml  string
		want []string
	}{
		{name: "unknown key in an entry", yml: "warehouses:\n  - name: a\n    location: s3://b/a\n    s3: {endpiont: x}\n",
			want: []string{`"warehouse.s3.endpiont"`, ":4:"}},
		{name: "entry without location", yml: "warehouses: [{name: a}]\n", want: []string{"needs location"}},
		{name: "entry without name", yml: "warehouses: [{location: s3://b/a}]\n", want: []string{"needs name"}},
		{name: "not a list", yml: "warehouses: {name: a}\n", want: []string{"want a list"}},
		{name: "duplicate names", yml: "warehouses: [{name: default, location: s3://b/a}]\n", want: []string{`"default" is used by another`}},
		{name: "bad flow text", env: map[string]string{"BINGSAN_WAREHOUSES": "[{name: a"}, want: []string{"BINGSAN_WAREHOUSES", "YAML"}},
		{name: "unsupported scheme", args: []string{"--warehouse.location=hdfs://nn/wh"}, want: []string{"hdfs", "not supported"}},
		{name: "bucketless s3", args: []string{"--warehouse.location=s3:///wh"}, want: []string{"names no bucket"}},
		{name: "short credential duration", args: []string{"--warehouse.credential-duration=5m"}, want: []string{"credential-duration", "15m"}},
		{name: "long credential duration", yml: "warehouses: [{name: a, location: s3://b/a, credential-duration: 24h}]\n", want: []string{"warehouses[0] (a)", "12h"}},
		{name: "key without secret", args: []string{"--warehouse.s3.access-key-id=AKID"}, want: []string{"set together"}},
		{name: "bad endpoint", args: []string{"--warehouse.s3.endpoint=127.0.0.1:9000"}, want: []string{"s3.endpoint", "http(s) URL"}},
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

// Secrets never appear in configuration errors.
func TestWarehouseSecretsNotEchoed(t *testing.T) {
	t.Parallel()
	for _, src := range []struct {
		args []string
		env  map[string]string
		yml  string
	}{
		{env: map[string]string{"BINGSAN_WAREHOUSES": "[{name: a, location: s3://b/a, s3: {secret-access-key: topsecret}, bogus: 1}"}},
		{args: []string{"--warehouses", "[{name: a, location: s3://b/a, s3: {secret-access-key: topsecret}, bogus: 1}]"}},
		{yml: "warehouses: [{name: a, location: s3://b/a, s3: {secret-access-key: topsecret, bogus: 1}}]\n"},
		{args: []string{"--warehouse.s3.secret-access-key=topsecret"}},
	} {
		_, _, err := run(t, src.args, src.env, src.yml)
		if err == nil {
			t.Fatalf("%v %v %q: expected an error", src.args, src.env, src.yml)
		}
		if strings.Contains(err.Error(), "topsecret") {
			t.Errorf("error shows the secret: %v", err)
		}
	}
}
