// Package errs defines the catalog's domain errors. Every layer returns these;
// the HTTP layer maps each Kind to an Iceberg error response in one place
// (server/errors.go), so no caller ever inspects message text.
package errs

import (
	"errors"
	"fmt"
)

// Kind classifies a domain error. Each kind corresponds to exactly one
// Iceberg error type and HTTP status.
type Kind int

const (
	// Internal is a failure the client cannot fix; it maps to 500.
	Internal Kind = iota
	BadRequest
	NotAuthorized
	Forbidden
	NotFound // a resource other than namespace/table/view (metadata file, plan)
	NoSuchWarehouse
	NoSuchNamespace
	NoSuchTable
	NoSuchView
	AlreadyExists
	NamespaceNotEmpty
	CommitFailed
	CommitStateUnknown
	Unprocessable // well-formed request that cannot be applied (422)
	NotImplemented
	ServiceUnavailable
	// InsufficientStorage: the storage is full or over quota (507); unlike
	// ServiceUnavailable it does not invite an immediate retry.
	InsufficientStorage
	UnsupportedMediaType
	PayloadTooLarge
	MethodNotAllowed
	NotAcceptable
	NoSuchPlanID   // a scan plan id that does not exist (or belongs to another table or caller)
	NoSuchPlanTask // a plan-task handle that does not exist
	// WarehouseNotEmpty: a warehouse holding namespaces cannot be deleted
	// without cascade (409).
	WarehouseNotEmpty
	// NoSuchFunction: a function (SQL UDF) that does not exist (404).
	NoSuchFunction
)

// kindNames are stable names of the kinds, for errors that are stored and
// reported later (failed scan plans). Never reuse a name for another kind.
var kindNames = map[Kind]string{
	Internal: "internal", BadRequest: "bad-request", NotAuthorized: "not-authorized", Forbidden: "forbidden",
	NotFound: "not-found", NoSuchWarehouse: "no-such-warehouse", NoSuchNamespace: "no-such-namespace",
	NoSuchTable: "no-such-table", NoSuchView: "no-such-view", AlreadyExists: "already-exists",
	NamespaceNotEmpty: "namespace-not-empty", CommitFailed: "commit-failed", CommitStateUnknown: "commit-state-unknown",
	Unprocessable: "unprocessable", NotImplemented: "not-implemented", ServiceUnavailable: "service-unavailable",
	UnsupportedMediaType: "unsupported-media-type", PayloadTooLarge: "payload-too-large",
	MethodNotAllowed: "method-not-allowed", NotAcceptable: "not-acceptable",
	NoSuchPlanID: "no-such-plan-id", NoSuchPlanTask: "no-such-plan-task",
	WarehouseNotEmpty: "warehouse-not-empty", NoSuchFunction: "no-such-function",
}

// String is the kind's stable name.
func (k Kind) String() string {
	if n, ok := kindNames[k]; ok {
		return n
	}
	return "internal"
}

// ParseKind returns the kind named name (String); unknown names are
// Internal.
func ParseKind(name string) Kind {
	for k, n := range kindNames {
		if n == name {
			return k
		}
	}
	return Internal
}

// Error is a domain error: a kind and a message meant for the client.
type Error struct {
	Kind    Kind
	Message string
	Err     error // optional cause; logged, never sent to the client
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an error of kind k with a formatted client-facing message.
func New(k Kind, format string, args ...any) error {
	return &Error{Kind: k, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an error of kind k that keeps cause for logs and errors.Is.
func Wrap(k Kind, cause error, format string, args ...any) error {
	return &Error{Kind: k, Message: fmt.Sprintf(format, args...), Err: cause}
}

// KindOf reports the kind of err; errors that are not domain errors are Internal.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// Is reports whether err is a domain error of kind k.
func Is(err error, k Kind) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == k
}
