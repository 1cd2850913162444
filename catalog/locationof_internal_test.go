package catalog

import (
	"encoding/json"
	"maps"
	"testing"

	"github.com/bingsan/bingsan/store"
)

// locationOf reads what a full decode of the document reads, wherever the
// fields are.
func TestLocationOf(t *testing.T) {
	id := store.Ident{Warehouse: "wh", Namespace: []string{"db"}, Name: "t"}
	doc, _, _ := benchTable(t, 20)
	for _, tc := range []struct {
		name string
		doc  string
		ok   bool
	}{
		{"iceberg-go", string(doc), true},
		{"properties last", `{"format-version":2,"snapshots":[{"snapshot-id":1,"summary":{"location":"x"}}],"location":"s3://b/t","properties":{"write.data.path":"s3://b/d"}}`, true},
		{"no properties", `{"location":"s3://b/t","snapshots":[]}`, true},
		{"null properties", `{"location":"s3://b/t","properties":null}`, true},
		{"no location", `{"properties":{"a":"b"}}`, false},
		{"not an object", `[1,2]`, false},
		{"truncated", `{"location":"s3://b/t","snap`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			loc, props, err := locationOf(id, []byte(tc.doc))
			if !tc.ok {
				if err == nil {
					t.Fatalf("got %q, %v; want an error", loc, props)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var want struct {
				Location   string            `json:"location"`
				Properties map[string]string `json:"properties"`
			}
			if err := json.Unmarshal([]byte(tc.doc), &want); err != nil {
				t.Fatal(err)
			}
			if loc != want.Location || !maps.Equal(props, want.Properties) {
				t.Fatalf("got %q %v, want %q %v", loc, props, want.Location, want.Properties)
			}
		})
	}
}
