package main

import (
	"bytes"
	"regexp"
	"runtime/debug"
	"testing"
)

func TestResolveBuild(t *testing.T) {
	t.Parallel()
	vcs := func(rev, time, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs.revision", Value: rev}, {Key: "vcs.time", Value: time}, {Key: "vcs.modified", Value: modified}}
	}
	cases := []struct {
		name          string
		ldV, ldC, ldD string
		bi            *debug.BuildInfo
		want          buildInfo
	}{
		{name: "make build: link-time values win",
			ldV: "v1.2.3", ldC: "0123456789abcdef", ldD: "2026-11-27T10:00:00Z",
			bi:   &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs("ffff", "2000-01-01T00:00:00Z", "false")},
			want: buildInfo{Version: "v1.2.3", Commit: "0123456789abcdef", Date: "2026-11-27T10:00:00Z"}},
		{name: "make build in a dirty tree",
			ldV: "devel", ldC: "0123456789abcdef-dirty", ldD: "2026-11-27T10:00:00Z",
			want: buildInfo{Version: "devel", Commit: "0123456789abcdef", Modified: true, Date: "2026-11-27T10:00:00Z"}},
		{name: "go install module@tag",
			bi:   &debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}},
			want: buildInfo{Version: "v1.4.0", Commit: "unknown", Date: "unknown"}},
		{name: "go install module@commit: the pseudo-version carries the commit",
			bi:   &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261127100000-abcdef123456"}},
			want: buildInfo{Version: "v0.0.0-20261127100000-abcdef123456", Commit: "abcdef123456", Date: "unknown"}},
		{name: "go build in a checkout",
			bi:   &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs("abc", "2026-11-26T09:00:00Z", "true")},
			want: buildInfo{Version: "devel", Commit: "abc", Modified: true, Date: "2026-11-26T09:00:00Z"}},
		{name: "nothing recorded",
			want: buildInfo{Version: "devel", Commit: "unknown", Date: "unknown"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := resolveBuild(tc.ldV, tc.ldC, tc.ldD, tc.bi); got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestPrintVersion(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	printVersion(&out)
	re := regexp.MustCompile(`^bingsan \S+\ncommit: \S+( \(modified\))?\nbuilt:  \S+\ngo:     go\S+ \w+/\w+\n$`)
	if !re.Match(out.Bytes()) {
		t.Fatalf("unexpected version output:\n%s", out.String())
	}
}
