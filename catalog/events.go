package catalog

import "github.com/apache/iceberg-go/table"

// snapshotsAdded lists the ids of the snapshots next has and base (nil for
// a create) has not, in next's order: what a commit's event reports.
func snapshotsAdded(base, next table.Metadata) []int64 {
	had := map[int64]bool{}
	if base != nil {
		for _, s := range base.Snapshots() {
			had[s.SnapshotID] = true
		}
	}
	var added []int64
	for _, s := range next.Snapshots() {
		if !had[s.SnapshotID] {
			added = append(added, s.SnapshotID)
		}
	}
	return added
}
