// Package failpoint lets crash tests stop a real `bingsan serve` process at
// an exact point of its work, as a power cut or `kill -9` would there. The
// points armed come from BINGSAN_TEST_FAILPOINTS (comma-separated names),
// read once at start-up; in a process started without it, Kill is a map
// lookup on an empty map.
package failpoint

import (
	"os"
	"strings"
	"syscall"
)

// Names of the points the code offers.
const (
	// MetadataWritten is after a local metadata file's temporary copy is
	// written and flushed, before it is published under its name.
	MetadataWritten = "metadata-written"
	// MutationCommitted is after a request's mutation committed, before its
	// answer is recorded for its Idempotency-Key and sent.
	MutationCommitted = "mutation-committed"
)

// EnvVar arms failpoints.
const EnvVar = "BINGSAN_TEST_FAILPOINTS"

var armed = parse(os.Getenv(EnvVar))

func parse(v string) map[string]bool {
	m := map[string]bool{}
	for name := range strings.SplitSeq(v, ",") {
		if name = strings.TrimSpace(name); name != "" {
			m[name] = true
		}
	}
	return m
}

// Kill ends the process at once with SIGKILL (no deferred functions, no
// flushing, no answer on open connections) when point name is armed.
func Kill(name string) {
	if armed[name] {
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal is on its way; never run past the point
	}
}
