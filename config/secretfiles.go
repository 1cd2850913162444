package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Every secret string key has a companion "<key>-file" key naming a file
// that holds the value, so that secrets never need to appear on a command
// line (visible to every local user in the process list) or in the
// environment: Kubernetes and compose mount secrets as files. The companion
// is a key like any other (flag, environment variable, YAML, and inside
// `warehouses` entries), declared here from the keys table so that no
// secret can lack one. Setting a secret both ways, in whatever sources, is
// an error rather than a precedence puzzle.

// fileKeySuffix ends the name of a secret's file key.
const fileKeySuffix = "-file"

func init() {
	n := len(keys)
	for i := range n {
		k := &keys[i]
		if !k.secret {
			continue
		}
		if _, ok := k.field(&Config{}).(*string); !ok {
			continue // lists carry their secrets in their entries' keys
		}
		keys = append(keys, key{
			name: k.name + fileKeySuffix,
			desc: "File holding the value of `" + k.name + "` (one trailing newline is ignored); excludes `" + k.name + "`.",
			// The path is not kept: set reads the file into fileFor's field.
			field: func(*Config) any { return new(string) },
		})
	}
	// Appending may have moved the table: link the companions afterwards.
	for i := n; i < len(keys); i++ {
		keys[i].fileFor = lookupKey(strings.TrimSuffix(keys[i].name, fileKeySuffix))
	}
}

// maxSecretFileBytes bounds what a secret file may hold; more is a
// mistake (a wrong path), not a secret.
const maxSecretFileBytes = 1 << 20

// readSecretFile returns the content of the file at path without one
// trailing newline, which editors and `echo` add.
func readSecretFile(path string) (string, error) {
	if strings.TrimSpace(path) == "" {
		return "", errors.New("want the path of a file")
	}
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("cannot read the file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFileBytes+1))
	if err != nil {
		return "", fmt.Errorf("cannot read the file: %w", err)
	}
	if len(b) > maxSecretFileBytes {
		return "", fmt.Errorf("the file is larger than %d bytes", maxSecretFileBytes)
	}
	s := strings.TrimSuffix(string(b), "\n")
	return strings.TrimSuffix(s, "\r"), nil
}

// bothSecretSources reports the secrets that set names both directly and
// by file. In a `warehouses` entry (prefix set) the names lose their
// "warehouse." prefix in messages, as the entry's keys are written.
func bothSecretSources(set map[string]bool, prefix string) []error {
	var errs []error
	for i := range keys {
		k := &keys[i]
		if k.fileFor == nil || !set[k.name] || !set[k.fileFor.name] {
			continue
		}
		direct, file := k.fileFor.name, k.name
		if prefix != "" {
			direct, file = strings.TrimPrefix(direct, "warehouse."), strings.TrimPrefix(file, "warehouse.")
		}
		errs = append(errs, fmt.Errorf("config: %s%s and %s exclude each other: set one", prefix, direct, file))
	}
	return errs
}
