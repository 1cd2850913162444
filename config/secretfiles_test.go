package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSecretFileKeys(t *testing.T) {
	t.Parallel()
	// Every secret string key has a file companion.
	for i := range keys {
		k := &keys[i]
		if k.fileFor != nil || !k.secret {
			continue
		}
		if _, ok := k.field(&Config{}).(*string); !ok {
			continue
		}
		if f := lookupKey(k.name + "-file"); f == nil || f.fileFor != k {
			t.Errorf("%s has no -file key", k.name)
		}
	}

	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	secret := write("secret", "s3cr3t-value\n")
	dsn := write("dsn", "postgres://u:p@127.0.0.1:5432/db\r\n")
	key := write("key", "k3y")

	cases := []struct {
		name  string
		args  []string
		env   map[string]string
		yml   string
		check func(Config) string
		err   string
	}{
		{name: "flag", args: []string{"--auth.bootstrap-client-id=admin", "--auth.bootstrap-client-secret-file=" + secret},
			check: func(c Config) string { return c.Auth.BootstrapClientSecret }},
		{name: "environment", args: []string{"--store.driver=postgres"}, env: map[string]string{"BINGSAN_STORE_POSTGRES_DSN_FILE": dsn},
			check: func(c Config) string { return c.Store.Postgres.DSN }},
		{name: "yaml", yml: "warehouse:\n  s3:\n    access-key-id: a\n    secret-access-key-file: " + key + "\n",
			check: func(c Config) string { return c.Warehouse.S3.SecretAccessKey }},
		{name: "warehouses entry", yml: "warehouses:\n- name: b\n  location: s3://bucket/b\n  s3: {access-key-id: a, secret-access-key-file: " + key + "}\n",
			check: func(c Config) string { return c.Warehouses[0].S3.SecretAccessKey }},
		{name: "missing file", args: []string{"--auth.key-encryption-secret-file=" + filepath.Join(dir, "nope")},
			err: "auth.key-encryption-secret-file"},
		{name: "both forms", args: []string{"--auth.key-encryption-secret=x", "--auth.key-encryption-secret-file=" + key},
			err: "auth.key-encryption-secret and auth.key-encryption-secret-file exclude each other"},
		{name: "both forms in an entry", yml: "warehouses:\n- name: b\n  location: s3://bucket/b\n  s3: {access-key-id: a, secret-access-key: x, secret-access-key-file: " + key + "}\n",
			err: "s3.secret-access-key and s3.secret-access-key-file exclude each other"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			if tc.yml != "" {
				args = append(args, "--config="+write(strings.ReplaceAll(tc.name, " ", "-")+".yaml", tc.yml))
			}
			var names []string
			for k := range tc.env {
				names = append(names, k)
			}
			c, _, err := load(args, func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }, names)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.err)
				}
				if strings.Contains(err.Error(), "k3y") {
					t.Fatalf("error shows the secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := tc.check(c); got != map[string]string{"flag": "s3cr3t-value", "environment": "postgres://u:p@127.0.0.1:5432/db"}[tc.name] && got != "k3y" {
				t.Fatalf("value = %q", got)
			}
		})
	}
}
