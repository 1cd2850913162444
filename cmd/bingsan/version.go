package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"
)

// Set at link time by `make build` and `make image`:
//
//	-ldflags "-X main.version=v1.2.3 -X main.commit=<sha> -X main.date=<RFC 3339>"
//
// A binary built otherwise (`go install …@v1.2.3`, `go build` in a
// checkout) takes what the Go toolchain recorded in its build info instead.
var (
	version = ""
	commit  = ""
	date    = ""
)

// buildInfo is what `bingsan version` reports.
type buildInfo struct {
	Version  string // module version, e.g. v1.2.3; "devel" for an untagged build
	Commit   string // VCS revision, "unknown" when nothing recorded it
	Modified bool   // built from a work tree with uncommitted changes
	Date     string // build date (make: the commit's date, so builds are reproducible)
}

// currentBuild is this binary's buildInfo.
func currentBuild() buildInfo {
	bi, _ := debug.ReadBuildInfo()
	return resolveBuild(version, commit, date, bi)
}

// resolveBuild prefers the link-time values and fills what they leave
// empty from the toolchain's build info (nil when there is none).
func resolveBuild(ldVersion, ldCommit, ldDate string, bi *debug.BuildInfo) buildInfo {
	b := buildInfo{Version: ldVersion, Commit: ldCommit, Date: ldDate}
	if strings.HasSuffix(b.Commit, "-dirty") {
		b.Commit, b.Modified = strings.TrimSuffix(b.Commit, "-dirty"), true
	}
	if bi != nil {
		if v := bi.Main.Version; b.Version == "" && v != "" && v != "(devel)" {
			b.Version = v
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if b.Commit == "" {
					b.Commit = s.Value
				}
			case "vcs.time":
				if b.Date == "" {
					b.Date = s.Value
				}
			case "vcs.modified":
				if ldCommit == "" && s.Value == "true" {
					b.Modified = true
				}
			}
		}
		// `go install module@version` records no VCS settings, but a pseudo-
		// version carries the commit: v0.0.0-20260101120000-abcdef123456.
		if b.Commit == "" {
			if parts := strings.Split(b.Version, "-"); len(parts) >= 3 && len(parts[len(parts)-1]) == 12 {
				b.Commit = parts[len(parts)-1]
			}
		}
	}
	if b.Version == "" {
		b.Version = "devel"
	}
	if b.Commit == "" {
		b.Commit = "unknown"
	}
	if b.Date == "" {
		b.Date = "unknown"
	}
	return b
}

// buildVersion is the version alone (logs, bingsan_build_info).
func buildVersion() string { return currentBuild().Version }

func printVersion(w io.Writer) {
	b := currentBuild()
	c := b.Commit
	if b.Modified {
		c += " (modified)"
	}
	fmt.Fprintf(w, "bingsan %s\ncommit: %s\nbuilt:  %s\ngo:     %s %s/%s\n",
		b.Version, c, b.Date, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
