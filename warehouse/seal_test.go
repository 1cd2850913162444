package warehouse

import (
	"bytes"
	"errors"
	"testing"
)

func TestSeal(t *testing.T) {
	sec := secrets{S3SecretAccessKey: "s3-secret", AzureAccountKey: "azure-key"}
	s, err := newSealer("kek")
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := s.seal(sec)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("s3-secret")) || bytes.Contains(sealed, []byte("azure-key")) {
		t.Fatalf("sealed value holds a secret in the clear: %q", sealed)
	}
	if got, err := s.open(sealed); err != nil || got != sec {
		t.Fatalf("open: %+v, %v", got, err)
	}
	other, _ := newSealer("another kek")
	if _, err := other.open(sealed); err == nil {
		t.Fatal("opened with another key")
	}
	none, _ := newSealer("")
	if _, err := none.open(sealed); err == nil {
		t.Fatal("opened without a key")
	}
	if _, err := none.seal(sec); !errors.Is(err, errNoKey) {
		t.Fatalf("sealing without a key: %v", err)
	}
	if b, err := none.seal(secrets{}); err != nil || b != nil {
		t.Fatalf("no secrets need no key: %q %v", b, err)
	}
	if _, err := s.open(append([]byte("wse1"), 1, 2)); err == nil {
		t.Fatal("opened a truncated value")
	}
}
