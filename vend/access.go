package vend

import (
	"context"
	"strings"
)

// Mode is the access a client is given to a table's files.
type Mode int

const (
	// ReadWrite lets the client read, write and delete the table's files.
	ReadWrite Mode = iota
	// ReadOnly lets the client only read them.
	ReadOnly
)

func (m Mode) String() string {
	if m == ReadOnly {
		return "read-only"
	}
	return "read-write"
}

// Delegation is what a client accepts as access to storage, from the
// X-Iceberg-Access-Delegation header.
type Delegation struct {
	VendedCredentials bool
	RemoteSigning     bool
}

// ParseDelegation reads an X-Iceberg-Access-Delegation header: a
// comma-separated list of vended-credentials and remote-signing; the legacy
// value true means vended-credentials. Unknown mechanisms are ignored (a
// client must never be refused for offering one the server does not know).
func ParseDelegation(header string) Delegation {
	var d Delegation
	for part := range strings.SplitSeq(header, ",") {
		switch strings.ToLower(strings.TrimSpace(part)) {
		case "vended-credentials", "true":
			d.VendedCredentials = true
		case "remote-signing":
			d.RemoteSigning = true
		}
	}
	return d
}

// Any reports whether the client accepts some mechanism.
func (d Delegation) Any() bool { return d.VendedCredentials || d.RemoteSigning }

// Scope is what delegated access covers: the locations below which a
// table's files live (its location, and write.data.path or
// write.metadata.path when those lie elsewhere), and the mode.
type Scope struct {
	Locations []string
	Mode      Mode
}

// Credential is one storage credential for clients: its config (the FileIO
// properties that carry it, e.g. s3.access-key-id, s3.session-token,
// s3.session-token-expires-at-ms) applies to locations starting with
// Prefix. It is the REST spec's StorageCredential.
type Credential struct {
	Prefix string
	Config map[string]string
}

// Grant is what a client gets to reach a table's files: Config goes into
// the LoadTableResult's config (endpoint, region, and the credentials
// again, for clients that read only config), Credentials into its
// storage-credentials. RemoteSigning is set when the client is to have its
// requests signed by the catalog; the transport then adds the signer
// endpoint to Config.
type Grant struct {
	Config        map[string]string
	Credentials   []Credential
	RemoteSigning bool
}

// SignRequest is a client's request to object storage that it asks the
// catalog to sign (the REST spec's RemoteSignRequest).
type SignRequest struct {
	Method  string
	URI     string
	Headers map[string][]string
	Region  string
	// Body is the request body, sent only for requests whose body decides
	// what they touch (S3 DeleteObjects).
	Body string
	// Provider is the storage (s3 when empty).
	Provider string
}

// SignedRequest is the signed request: the URI to send it to and all its
// headers, signature included.
type SignedRequest struct {
	URI     string
	Headers map[string][]string
}

// Vendor hands clients access to one warehouse's storage. Every method is
// limited to the locations of a Scope: credentials are scoped to them by
// the storage itself (an S3 session policy, say), and requests are signed
// only when they address an object inside them.
//
// Errors are errs kinds: BadRequest for a location or request this vendor
// cannot serve, Forbidden for a request outside the scope (or a write in
// ReadOnly mode), ServiceUnavailable when the credential service cannot be
// reached or refuses (the message names the cause).
type Vendor interface {
	// Grant returns the access for a client that accepts d: scoped
	// credentials if it accepts vended-credentials and the profile vends
	// them, else remote signing if it accepts that and the profile
	// signs, else only the profile's client configuration (endpoint,
	// region) without secrets.
	Grant(ctx context.Context, s Scope, d Delegation) (Grant, error)
	// Credentials returns scoped credentials (loadCredentials); none when
	// the profile does not vend them.
	Credentials(ctx context.Context, s Scope) ([]Credential, error)
	// Sign signs r if it addresses objects inside s in a way s.Mode
	// allows, and fails with Forbidden otherwise.
	Sign(ctx context.Context, s Scope, r SignRequest) (SignedRequest, error)
}
