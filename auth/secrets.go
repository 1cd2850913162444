package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"
)

// Client secrets are hashed with argon2id (operators choose the bootstrap
// secret, which may be weak); API keys, always random, with SHA-256, which
// is as safe for them and cheap enough to check on every request.

// argon2id parameters: the minimum OWASP recommends (19 MiB, 2 passes).
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// HashSecret hashes a client secret into a PHC string
// ($argon2id$v=19$m=…,t=…,p=…$salt$hash).
func HashSecret(secret string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	sum := argon2.IDKey([]byte(secret), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(sum)), nil
}

// dummyHash is checked against when there is no principal, so that an
// unknown client id takes as long as a wrong secret.
var dummyHash = sync.OnceValue(func() string { h, _ := HashSecret("no such client"); return h })

// VerifySecret reports whether secret matches hash (a HashSecret string).
func VerifySecret(hash, secret string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false
	}
	var mem, iters uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &mem, &iters, &threads); err != nil || mem == 0 || iters == 0 || threads == 0 {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(secret), salt, iters, mem, threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// randomToken is n random bytes, base64url without padding.
func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

var lowerBase32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// randomID is a random identifier of lower-case letters and digits (5 bits
// per character).
func randomID(chars int) string {
	b := make([]byte, (chars*5+7)/8)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return lowerBase32.EncodeToString(b)[:chars]
}

// API keys look like bsk_<10 characters>_<43 characters>: the first part
// (with bsk_) is the public prefix that identifies the key, the rest is 32
// random bytes.
const (
	apiKeyScheme    = "bsk_"
	apiKeyPrefixLen = len(apiKeyScheme) + 10
)

// newAPIKey returns a fresh key, its prefix and its hash.
func newAPIKey() (key, prefix, hash string) {
	prefix = apiKeyScheme + randomID(apiKeyPrefixLen-len(apiKeyScheme))
	key = prefix + "_" + randomToken(32)
	return key, prefix, hashAPIKey(key)
}

// splitAPIKey returns the prefix of key, or an error when key does not
// have the shape of an API key.
func splitAPIKey(key string) (string, error) {
	if len(key) < apiKeyPrefixLen+2 || !strings.HasPrefix(key, apiKeyScheme) || key[apiKeyPrefixLen] != '_' {
		return "", errors.New("malformed API key")
	}
	return key[:apiKeyPrefixLen], nil
}

func hashAPIKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

func apiKeyMatches(hash, key string) bool {
	return subtle.ConstantTimeCompare([]byte(hash), []byte(hashAPIKey(key))) == 1
}
