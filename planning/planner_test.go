package planning

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"slices"
	"testing"

	"github.com/apache/iceberg-go"

	"github.com/bingsan/bingsan/errs"
)

// Windows bound the files one scan holds; manifests are never split.
func TestSplitWindows(t *testing.T) {
	mf := func(i int, added, existing int32) iceberg.ManifestFile {
		return iceberg.NewManifestFile(2, fmt.Sprintf("m%d", i), 100, 0, 1).AddedFiles(added).ExistingFiles(existing).Build()
	}
	cases := []struct {
		name   string
		counts [][2]int32
		limit  int
		want   [][]int // manifest indexes per window
	}{
		{"all fit", [][2]int32{{3, 0}, {2, 2}, {1, 0}}, 10, [][]int{{0, 1, 2}}},
		{"split by counts", [][2]int32{{3, 0}, {2, 2}, {4, 0}, {1, 0}}, 8, [][]int{{0, 1}, {2, 3}}},
		{"one too large alone", [][2]int32{{1, 0}, {50, 0}, {1, 0}}, 10, [][]int{{0}, {1}, {2}}},
		{"unknown counts fill a window", [][2]int32{{1, 0}, {-1, -1}, {1, 0}, {1, 0}}, 10, [][]int{{0}, {1}, {2, 3}}},
		{"one manifest", [][2]int32{{7, 7}}, 1, [][]int{{0}}},
	}
	for _, c := range cases {
		var ms []iceberg.ManifestFile
		for i, n := range c.counts {
			ms = append(ms, mf(i, n[0], n[1]))
		}
		var got [][]int
		for _, w := range splitWindows(ms, c.limit) {
			var idx []int
			for _, m := range w {
				idx = append(idx, slices.IndexFunc(ms, func(x iceberg.ManifestFile) bool { return x.FilePath() == m.FilePath() }))
			}
			got = append(got, idx)
		}
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

// Failures of planning keep their meaning for the client: a bad argument
// is its fault, storage that does not answer may pass, a missing file is
// the catalog's problem.
func TestPlanErrorKinds(t *testing.T) {
	cases := []struct {
		err  error
		want errs.Kind
	}{
		{fmt.Errorf("binding: %w", iceberg.ErrInvalidArgument), errs.BadRequest},
		{&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}, errs.ServiceUnavailable},
		{&fs.PathError{Op: "open", Path: "s3://b/m.avro", Err: fs.ErrNotExist}, errs.Internal},
		{errors.New("avro: bad magic"), errs.Internal},
		{errs.New(errs.ServiceUnavailable, "already classified"), errs.ServiceUnavailable},
	}
	for _, c := range cases {
		if got := errs.KindOf(planError(c.err)); got != c.want {
			t.Errorf("%v: %s, want %s", c.err, got, c.want)
		}
	}
	if err := planError(context.Canceled); !errors.Is(err, context.Canceled) {
		t.Errorf("cancellation: %v", err)
	}
}
