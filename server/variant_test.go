package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"

	"github.com/bingsan/bingsan/server/servertest"
)

// Tables of format version 3 may have variant columns (the spec after 1.11
// names VariantType): created through iceberg-go, stored and loaded back
// exactly, top level and nested; format version 2 refuses them, as
// iceberg-go does.
func TestVariantColumns(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b servertest.Backend) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		srv := servertest.Start(t, b, servertest.Config{})
		cat := newRESTClient(ctx, t, srv.URL)
		ns := catalog.ToIdentifier("semi")
		if err := cat.CreateNamespace(ctx, ns, nil); err != nil {
			t.Fatal(err)
		}
		sc := iceberg.NewSchema(0,
			iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64, Required: true},
			iceberg.NestedField{ID: 2, Name: "payload", Type: iceberg.VariantType{}},
			iceberg.NestedField{ID: 3, Name: "extra", Type: &iceberg.StructType{FieldList: []iceberg.NestedField{
				{ID: 4, Name: "attrs", Type: iceberg.VariantType{}, Required: true},
			}}},
			iceberg.NestedField{ID: 5, Name: "history", Type: &iceberg.ListType{ElementID: 6, Element: iceberg.VariantType{}, ElementRequired: false}},
		)
		ident := catalog.ToIdentifier("semi", "events")
		created, err := cat.CreateTable(ctx, ident, sc, catalog.WithProperties(iceberg.Properties{"format-version": "3"}))
		if err != nil {
			t.Fatalf("create a v3 table with variant columns: %v", err)
		}
		loaded, err := cat.LoadTable(ctx, ident)
		if err != nil {
			t.Fatal(err)
		}
		if loaded.Metadata().Version() != 3 || !loaded.Schema().Equals(created.Schema()) {
			t.Fatalf("loaded v%d schema %s, want v3 %s", loaded.Metadata().Version(), loaded.Schema(), created.Schema())
		}
		for _, id := range []int{2, 4, 6} {
			f, ok := loaded.Schema().FindFieldByID(id)
			if !ok || !f.Type.Equals(iceberg.VariantType{}) {
				t.Fatalf("field %d: %v", id, f)
			}
		}
		// On the wire: the type is the string "variant".
		status, _, body := call(t, "GET", srv.URL+"/v1/namespaces/semi/tables/events", "", nil)
		if status != 200 {
			t.Fatalf("%d %s", status, body)
		}
		var res struct {
			Metadata struct {
				Schemas []struct {
					Fields []struct {
						Name string          `json:"name"`
						Type json.RawMessage `json:"type"`
					} `json:"fields"`
				} `json:"schemas"`
			} `json:"metadata"`
		}
		if err := json.Unmarshal(body, &res); err != nil || len(res.Metadata.Schemas) != 1 {
			t.Fatalf("%v %s", err, body)
		}
		if f := res.Metadata.Schemas[0].Fields[1]; f.Name != "payload" || string(f.Type) != `"variant"` {
			t.Fatalf("payload field on the wire: %s %s", f.Name, f.Type)
		}

		// Format version 2 has no variant type: a bad request.
		status, _, body = call(t, "POST", srv.URL+"/v1/namespaces/semi/tables", "application/json", []byte(`{"name":"old",`+
			`"schema":{"type":"struct","fields":[{"id":1,"name":"v","type":"variant","required":false}]},"properties":{"format-version":"2"}}`))
		if status != 400 || errorOf(t, status, body).Type != "BadRequestException" {
			t.Fatalf("v2 table with a variant column: %d %s", status, body)
		}
		if _, err := cat.LoadTable(ctx, catalog.ToIdentifier("semi", "old")); !errors.Is(err, catalog.ErrNoSuchTable) {
			t.Fatalf("refused table exists: %v", err)
		}
	})
}
