package catalog

import (
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/vend"
)

func TestWithin(t *testing.T) {
	t.Parallel()
	tests := []struct {
		base, loc string
		want      bool
	}{
		{"file:///wh", "file:///wh/ns/t", true},
		{"file:///wh/", "/wh/ns/t", true},
		{"file:///wh", "file:///wh", false},
		{"file:///wh", "file:///wh/", false},
		{"file:///wh", "file:///wh2/t", false},
		{"file:///wh", "s3://bucket/wh/t", false},
		{"s3://bucket/wh", "s3a://bucket/wh/t", true},
		{"s3://bucket/wh", "s3://other/wh/t", false},
		{"gs://bucket/wh", "gs://bucket/wh/t", true},
		{"abfss://c@acct.dfs.core.windows.net/wh", "wasbs://c@acct.blob.core.windows.net/wh/t", true},
		{"abfss://c@acct.dfs.core.windows.net/wh", "abfss://other@acct.dfs.core.windows.net/wh/t", false},
	}
	for _, tt := range tests {
		b, errB := vend.LocationKey(tt.base)
		l, errL := vend.LocationKey(tt.loc)
		if errB != nil || errL != nil {
			t.Fatalf("keys of %q, %q: %v, %v", tt.base, tt.loc, errB, errL)
		}
		if got := within(b, l); got != tt.want {
			t.Errorf("within(%q, %q) = %v, want %v", tt.base, tt.loc, got, tt.want)
		}
	}
}

func TestPathSegment(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"t": "t", "sales_2024": "sales_2024", "a.b-c": "a.b-c",
		"..": "~2e~2e", ".": "~2e", "a/b": "a~2fb", `c\d`: "c~5cd",
		"sp ace": "sp~20ace", "ü": "~c3~bc", "x~y": "x~7ey", "%00": "~2500",
	}
	seen := map[string]string{}
	for in, want := range tests {
		got := pathSegment(in)
		if got != want {
			t.Errorf("pathSegment(%q) = %q, want %q", in, got, want)
		}
		if other, dup := seen[got]; dup {
			t.Errorf("%q and %q share the segment %q", in, other, got)
		}
		seen[got] = in
	}
	// The names that shared a directory before no longer do.
	if pathSegment("a b") == pathSegment("a_b") {
		t.Error(`"a b" and "a_b" share a directory`)
	}
	if legacyPathSegment("a b") != "a_b" || legacyPathSegment("..") != "__" {
		t.Error("legacy segments changed: namespaces created before would move")
	}
}

func TestDefaultEntityLocation(t *testing.T) {
	t.Parallel()
	u := uuid.MustParse("0f8fad5b-d9cb-469f-a165-70867728950e")
	s := &Service{opts: Options{NameOnlyLocations: map[string]bool{"java": true}}}
	id := store.Ident{Warehouse: "w", Namespace: []string{"ns"}, Name: "my table"}
	if got := s.defaultEntityLocation("s3://b/wh/ns", id, u); got != "s3://b/wh/ns/my~20table-0f8fad5bd9cb469fa16570867728950e" {
		t.Errorf("name-uuid layout: %s", got)
	}
	id.Warehouse = "java"
	if got := s.defaultEntityLocation("s3://b/wh/ns", id, u); got != "s3://b/wh/ns/my~20table" {
		t.Errorf("name layout: %s", got)
	}
	if !strings.HasPrefix(s.defaultEntityLocation("file:///wh/ns", store.Ident{Name: ".."}, u), "file:///wh/ns/~2e~2e") {
		t.Error("a name of dots became a dot segment")
	}
}
