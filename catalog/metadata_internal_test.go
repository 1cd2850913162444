package catalog

import (
	"strings"
	"testing"

	"github.com/apache/iceberg-go"
	"github.com/google/uuid"
)

func TestMetadataVersion(t *testing.T) {
	t.Parallel()
	u := uuid.NewString()
	tests := []struct {
		loc  string
		want int
	}{
		{"file:///t/metadata/00000-" + u + ".metadata.json", 0},
		{"file:///t/metadata/00042-" + u + ".metadata.json", 42},
		{"file:///t/metadata/123456-" + u + ".gz.metadata.json", 123456},
		{"/t/metadata/v7.metadata.json", 7},
		{"/t/metadata/v7.gz.metadata.json", 7},
		{"/t/metadata/whatever.json", -1},
		{"/t/metadata/00001-short.metadata.json", -1},
	}
	for _, tt := range tests {
		if got := metadataVersion(tt.loc); got != tt.want {
			t.Errorf("metadataVersion(%q) = %d, want %d", tt.loc, got, tt.want)
		}
	}
}

func TestMetadataFileCodecs(t *testing.T) {
	t.Parallel()
	doc := []byte(`{"format-version":2,"x":"` + strings.Repeat("y", 100) + `"}`)
	for _, codec := range []string{"none", "gzip", "zstd"} {
		data, err := metadataFileBytes(doc, iceberg.Properties{"write.metadata.compression-codec": codec})
		if err != nil {
			t.Fatalf("%s: %v", codec, err)
		}
		if codec != "none" && string(data) == string(doc) {
			t.Errorf("%s: not compressed", codec)
		}
		back, err := decodeMetadataFile(data)
		if err != nil || string(back) != string(doc) {
			t.Errorf("%s: round trip = %q, %v", codec, back, err)
		}
	}
	if _, err := metadataFileBytes(doc, iceberg.Properties{"write.metadata.compression-codec": "lzo"}); err == nil {
		t.Error("unknown codec accepted")
	}
}

func TestReferencedSnapshotsOnly(t *testing.T) {
	t.Parallel()
	doc := `{"format-version":2,"current-snapshot-id":9007199254740993,"refs":{"main":{"snapshot-id":9007199254740993,"type":"branch"},"t":{"snapshot-id":1,"type":"tag"}},` +
		`"snapshots":[{"snapshot-id":1,"x":"<&>"},{"snapshot-id":2},{"snapshot-id":9007199254740993}],"snapshot-log":[{"snapshot-id":2,"timestamp-ms":1}]}`
	out, err := referencedSnapshotsOnly([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	if strings.Contains(s, `{"snapshot-id":2}`) || !strings.Contains(s, `{"snapshot-id":9007199254740993}`) || !strings.Contains(s, `"x":"<&>"`) {
		t.Errorf("filtered = %s", s)
	}
	if !strings.Contains(s, `"snapshot-log":[{"snapshot-id":2,"timestamp-ms":1}]`) {
		t.Errorf("other fields changed: %s", s)
	}
	// Nothing to drop: the document is returned as it is.
	same := `{"refs":{},"snapshots":[]}`
	if out, err := referencedSnapshotsOnly([]byte(same)); err != nil || string(out) != same {
		t.Errorf("no-op filter = %s, %v", out, err)
	}
}
