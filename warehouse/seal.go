package warehouse

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
)

// Stored secrets are a JSON document sealed with AES-256-GCM under a key
// derived from auth.key-encryption-secret (as the catalog's signing keys
// are, under another derivation label): "wse1" + nonce + sealed JSON. No
// additional data binds them to the warehouse's name: a rename moves them
// as they are, in the rename's one transaction.
var sealedPrefix = []byte("wse1")

// sealer seals and opens warehouse secrets; a nil aead refuses to seal.
type sealer struct{ aead cipher.AEAD }

func newSealer(secret string) (sealer, error) {
	if secret == "" {
		return sealer{}, nil
	}
	k := sha256.Sum256([]byte("bingsan warehouse secrets\x00" + secret))
	block, err := aes.NewCipher(k[:])
	if err != nil {
		return sealer{}, err
	}
	aead, err := cipher.NewGCM(block)
	return sealer{aead: aead}, err
}

// errNoKey: secrets cannot be stored without the key-encryption secret.
var errNoKey = errors.New("storing storage profile secrets needs auth.key-encryption-secret")

// seal returns nil for no secrets.
func (s sealer) seal(sec secrets) ([]byte, error) {
	if sec == (secrets{}) {
		return nil, nil
	}
	if s.aead == nil {
		return nil, errNoKey
	}
	plain, err := json.Marshal(sec)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	out := append(bytes.Clone(sealedPrefix), nonce...)
	return s.aead.Seal(out, nonce, plain, nil), nil
}

func (s sealer) open(stored []byte) (secrets, error) {
	var sec secrets
	if len(stored) == 0 {
		return sec, nil
	}
	if !bytes.HasPrefix(stored, sealedPrefix) {
		return sec, errors.New("unknown format of sealed secrets")
	}
	if s.aead == nil {
		return sec, errors.New("its secrets are sealed and auth.key-encryption-secret is not set")
	}
	rest := stored[len(sealedPrefix):]
	if len(rest) < s.aead.NonceSize() {
		return sec, errors.New("its sealed secrets are truncated")
	}
	plain, err := s.aead.Open(nil, rest[:s.aead.NonceSize()], rest[s.aead.NonceSize():], nil)
	if err != nil {
		return sec, errors.New("its secrets do not open with auth.key-encryption-secret")
	}
	err = json.Unmarshal(plain, &sec)
	return sec, err
}
