package planning

import (
	"fmt"
	"slices"
	"testing"

	"github.com/apache/iceberg-go"
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
