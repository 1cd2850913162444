package auth

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/store"
)

// The catalog's own tokens are JWTs signed with Ed25519 (EdDSA). The keys
// live in the database, so any node verifies any node's tokens from its
// in-memory copy of the public keys, without a database lookup. A new key
// takes over signing every Options.SigningKeyRotation; the keys it replaces
// keep verifying until the tokens they signed have expired.

// Issuer is the iss (and aud) claim of the catalog's tokens.
const Issuer = "bingsan"

// algorithm is the JWS algorithm of the catalog's tokens.
const algorithm = "EdDSA"

// tokenLeeway absorbs clock differences between nodes.
const tokenLeeway = 5 * time.Second

// Stored private keys: the 32-byte seed, either as is ("raw1" + seed) or
// sealed with AES-256-GCM under a key derived from
// auth.key-encryption-secret ("enc1" + nonce + sealed seed).
var (
	rawPrefix = []byte("raw1")
	encPrefix = []byte("enc1")
)

// keyCipher derives the AEAD that seals private keys from secret; nil when
// secret is empty.
func keyCipher(secret string) (cipher.AEAD, error) {
	if secret == "" {
		return nil, nil
	}
	k := sha256.Sum256([]byte("bingsan signing keys\x00" + secret))
	block, err := aes.NewCipher(k[:])
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func sealKey(aead cipher.AEAD, kid string, seed []byte) ([]byte, error) {
	if aead == nil {
		return append(bytes.Clone(rawPrefix), seed...), nil
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	out := append(bytes.Clone(encPrefix), nonce...)
	return aead.Seal(out, nonce, seed, []byte(kid)), nil
}

func openKey(aead cipher.AEAD, kid string, stored []byte) (ed25519.PrivateKey, error) {
	var seed []byte
	switch {
	case bytes.HasPrefix(stored, rawPrefix):
		seed = stored[len(rawPrefix):]
	case bytes.HasPrefix(stored, encPrefix):
		if aead == nil {
			return nil, errors.New("the key is encrypted and auth.key-encryption-secret is not set")
		}
		rest := stored[len(encPrefix):]
		if len(rest) < aead.NonceSize() {
			return nil, errors.New("the encrypted key is truncated")
		}
		var err error
		if seed, err = aead.Open(nil, rest[:aead.NonceSize()], rest[aead.NonceSize():], []byte(kid)); err != nil {
			return nil, errors.New("the key does not decrypt with auth.key-encryption-secret")
		}
	default:
		return nil, errors.New("unknown key format")
	}
	if len(seed) != ed25519.SeedSize {
		return nil, errors.New("the key has the wrong size")
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// verifyKey is a public key and until when the tokens it signed are good.
type verifyKey struct {
	pub     ed25519.PublicKey
	expires time.Time // zero: no bound
}

// signer is the key tokens are signed with.
type signer struct {
	kid  string
	priv ed25519.PrivateKey
}

// tokenClaims are the claims of the catalog's tokens.
type tokenClaims struct {
	jwt.RegisteredClaims
	Scope string `json:"scope,omitempty"`
}

// IssuedToken is a token the catalog issued.
type IssuedToken struct {
	AccessToken string
	ExpiresIn   time.Duration
	Scope       string
}

// sign issues a token for principal name.
func (s *Service) sign(ctx context.Context, name, scope string) (IssuedToken, error) {
	sg, err := s.currentSigner(ctx)
	if err != nil {
		return IssuedToken{}, err
	}
	now := s.now()
	claims := tokenClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    Issuer,
			Subject:   name,
			Audience:  jwt.ClaimStrings{Issuer},
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now.Add(-tokenLeeway)),
			ExpiresAt: jwt.NewNumericDate(now.Add(s.opts.TokenTTL)),
			ID:        randomID(20),
		},
		Scope: scope,
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	tok.Header["kid"] = sg.kid
	signed, err := tok.SignedString(sg.priv)
	if err != nil {
		return IssuedToken{}, errs.Wrap(errs.Internal, err, "signing a token")
	}
	return IssuedToken{AccessToken: signed, ExpiresIn: s.opts.TokenTTL, Scope: scope}, nil
}

// currentSigner is the newest key that signs; when there is none (first
// start, or every key was retired) a new one is made.
func (s *Service) currentSigner(ctx context.Context) (*signer, error) {
	if sg := s.snapshot().signer; sg != nil {
		return sg, nil
	}
	if _, err := s.RotateSigningKey(ctx, false); err != nil {
		return nil, err
	}
	if sg := s.snapshot().signer; sg != nil {
		return sg, nil
	}
	return nil, errs.New(errs.ServiceUnavailable, "No signing key is available")
}

// verifyLocal checks a token of this catalog and returns its subject.
func (s *Service) verifyLocal(ctx context.Context, raw string) (string, error) {
	keyFunc := func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		k, ok := s.snapshot().verify[kid]
		if !ok {
			// A key made on another node a moment ago.
			s.refresh(ctx)
			if k, ok = s.snapshot().verify[kid]; !ok {
				return nil, fmt.Errorf("unknown signing key %q", kid)
			}
		}
		if !k.expires.IsZero() && !s.now().Before(k.expires) {
			return nil, fmt.Errorf("signing key %q has expired", kid)
		}
		return k.pub, nil
	}
	var claims tokenClaims
	_, err := jwt.ParseWithClaims(raw, &claims, keyFunc,
		jwt.WithValidMethods([]string{algorithm}), jwt.WithIssuer(Issuer), jwt.WithAudience(Issuer),
		jwt.WithExpirationRequired(), jwt.WithTimeFunc(s.now), jwt.WithLeeway(tokenLeeway))
	if err != nil {
		return "", tokenError(err)
	}
	if claims.Subject == "" {
		return "", errs.New(errs.NotAuthorized, "Invalid token: no subject")
	}
	return claims.Subject, nil
}

// tokenError is the 401 for a token that failed verification.
func tokenError(err error) error {
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return errs.New(errs.NotAuthorized, "Token expired")
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return errs.New(errs.NotAuthorized, "Invalid token: bad signature")
	}
	return errs.New(errs.NotAuthorized, "Invalid token: %v", err)
}

// RotateSigningKey makes a new key the one that signs. The keys it retires
// keep verifying the tokens they signed until those expire, or, with
// revokePrevious, not at all any more (every token signed before is
// refused).
func (s *Service) RotateSigningKey(ctx context.Context, revokePrevious bool) (store.SigningKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return store.SigningKey{}, errs.Wrap(errs.Internal, err, "generating a signing key")
	}
	kid := randomID(16)
	sealed, err := sealKey(s.aead, kid, priv.Seed())
	if err != nil {
		return store.SigningKey{}, errs.Wrap(errs.Internal, err, "sealing a signing key")
	}
	now := s.now()
	k := store.SigningKey{KID: kid, Algorithm: algorithm, PrivateKey: sealed, PublicKey: pub, CreatedAt: now}
	if err := s.st.AddSigningKey(ctx, k, now.Add(s.opts.TokenTTL+tokenLeeway)); err != nil {
		return store.SigningKey{}, err
	}
	if revokePrevious {
		if err := s.st.ExpireSigningKeys(ctx, kid, now); err != nil {
			return store.SigningKey{}, err
		}
	}
	s.log.Info("auth: new signing key", "kid", kid, "previous-revoked", revokePrevious)
	s.forceRefresh(ctx)
	k.PrivateKey = nil
	return k, nil
}

// SigningKeys lists the signing keys without their private parts.
func (s *Service) SigningKeys(ctx context.Context) ([]store.SigningKey, error) {
	st, err := s.st.LoadAuthState(ctx)
	if err != nil {
		return nil, err
	}
	out := st.SigningKeys
	for i := range out {
		out[i].PrivateKey = nil
	}
	return out, nil
}

// rotateIfDue makes a new signing key when the newest one is older than
// the rotation period, and forgets expired ones.
func (s *Service) rotateIfDue(ctx context.Context) {
	snap := s.snapshot()
	if snap.signer == nil || s.now().Sub(snap.signerCreated) >= s.opts.SigningKeyRotation {
		if _, err := s.RotateSigningKey(ctx, false); err != nil && ctx.Err() == nil {
			s.log.Warn("auth: rotating the signing key", "error", err)
		}
	}
	if _, err := s.st.DeleteExpiredSigningKeys(ctx, s.now().Add(-time.Minute)); err != nil && ctx.Err() == nil {
		s.log.Warn("auth: deleting expired signing keys", "error", err)
	}
}
