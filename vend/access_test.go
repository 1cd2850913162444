package vend_test

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/bingsan/bingsan/vend"
)

func md5Base64(s string) string {
	sum := md5.Sum([]byte(s))
	return base64.StdEncoding.EncodeToString(sum[:])
}

func TestParseDelegation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		header         string
		vended, remote bool
	}{
		{"", false, false},
		{"vended-credentials", true, false},
		{"remote-signing", false, true},
		{"vended-credentials,remote-signing", true, true},
		{" remote-signing , vended-credentials ", true, true},
		{"true", true, false}, // legacy
		{"Vended-Credentials", true, false},
		{"something-new", false, false}, // ignored, never an error
		{"something-new,remote-signing", false, true},
	}
	for _, tt := range tests {
		d := vend.ParseDelegation(tt.header)
		if d.VendedCredentials != tt.vended || d.RemoteSigning != tt.remote {
			t.Errorf("ParseDelegation(%q) = %+v", tt.header, d)
		}
	}
}

func TestSecretNeverShows(t *testing.T) {
	t.Parallel()
	cfg := vend.S3Config{AccessKeyID: "AKID", SecretAccessKey: "s3cr3t-value"}
	var b strings.Builder
	log := slog.New(slog.NewTextHandler(&b, nil))
	log.Info("cfg", "cfg", cfg, "secret", cfg.SecretAccessKey)
	slog.New(slog.NewJSONHandler(&b, nil)).Info("cfg", "cfg", cfg)
	j, _ := json.Marshal(cfg)
	b.Write(j)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		fmt.Fprintf(&b, verb+"\n", cfg)
		fmt.Fprintf(&b, verb+"\n", cfg.SecretAccessKey)
	}
	if strings.Contains(b.String(), "s3cr3t") || strings.Contains(b.String(), "73336372") {
		t.Fatalf("secret shown:\n%s", b.String())
	}
	if cfg.SecretAccessKey.Reveal() != "s3cr3t-value" {
		t.Fatal("Reveal")
	}
}
