package catalog

import (
	"strings"
	"testing"

	"github.com/apache/iceberg-go"
	"github.com/google/uuid"

	"github.com/bingsan/bingsan/store"
)

func TestInsideLocation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		base, loc string
		want      bool
	}{
		{"file:///wh", "file:///wh/ns/t", true},
		{"file:///wh/", "/wh/ns/t", true},
		{"/wh", "file:/wh/ns/t", true},
		{"file:///wh", "file:///wh", false},
		{"file:///wh", "file:///wh/", false},
		{"file:///wh", "file:///wh2/t", false},
		{"file:///wh", "file:///wh/../etc", false},
		{"file:///wh", "file://otherhost/wh/t", false},
		{"file:///wh", "s3://bucket/wh/t", false},
		{"s3://bucket/wh", "s3://bucket/wh/t", true},
		{"s3://bucket/wh", "s3://other/wh/t", false},
		{"gs://bucket/wh", "gs://bucket/wh/t", true},
		{"abfss://c@acct.dfs.core.windows.net/wh", "abfss://c@acct.dfs.core.windows.net/wh/t", true},
		{"abfss://c@acct.dfs.core.windows.net/wh", "abfss://other@acct.dfs.core.windows.net/wh/t", false},
		{"abfss://c@acct.dfs.core.windows.net/wh", "abfss://acct.dfs.core.windows.net/wh/t", false},
	}
	for _, tt := range tests {
		if got := insideLocation(tt.base, tt.loc); got != tt.want {
			t.Errorf("insideLocation(%q, %q) = %v, want %v", tt.base, tt.loc, got, tt.want)
		}
	}
}

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

func TestDefaultTableLocationStaysInside(t *testing.T) {
	t.Parallel()
	u := uuid.New()
	tests := []struct {
		ns   []string
		name string
		want string
	}{
		{[]string{"a", "b"}, "t", "file:///wh/a/b/t-"},
		{[]string{".."}, "..", "file:///wh/__/__-"},
		{[]string{"a/b"}, "c\\d", "file:///wh/a_b/c_d-"},
		{[]string{"sp ace"}, "ünï", "file:///wh/sp_ace/_n_-"},
	}
	for _, tt := range tests {
		loc := defaultTableLocation("file:///wh", store.Ident{Namespace: tt.ns, Name: tt.name}, u)
		if loc != tt.want+uuidHex(u) {
			t.Errorf("location(%q, %q) = %s, want %s<uuid>", tt.ns, tt.name, loc, tt.want)
		}
		if !insideLocation("file:///wh", loc) || !ownsDirectory(loc, u) {
			t.Errorf("%s is not a table directory inside the warehouse", loc)
		}
	}
	if ownsDirectory("file:///wh/ns/t-"+uuidHex(u), uuid.New()) {
		t.Error("a directory named after another table's uuid is not this table's")
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
