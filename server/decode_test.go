package server_test

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/bingsan/bingsan/server/servertest"
)

// What a create request says of its table reaches iceberg-go as sent: a
// partition field that names its source column with `source-ids` (format
// version 3), which the pinned REST spec does not know, is kept in the
// metadata file the catalog writes.
func TestCreateKeepsFieldsThePinnedSpecDoesNotKnow(t *testing.T) {
	t.Parallel()
	srv := servertest.Start(t, servertest.SQLite, servertest.Config{})
	epMust(t, 200, "POST", srv.URL+"/v1/namespaces", `{"namespace":["ns"]}`)
	body := `{"name":"t","schema":` + epSchema + `,
		"partition-spec":{"spec-id":0,"fields":[{"source-ids":[1],"field-id":1000,"name":"id_bucket","transform":"bucket[4]"}]},
		"properties":{"format-version":"3"}}`
	var res epTable
	if err := json.Unmarshal(epMust(t, 200, "POST", srv.URL+"/v1/namespaces/ns/tables", body), &res); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(localPath(t, res.MetadataLocation))
	if err != nil {
		t.Fatal(err)
	}
	var written struct {
		FormatVersion int `json:"format-version"`
		Specs         []struct {
			Fields []struct {
				SourceID  *int  `json:"source-id"`
				SourceIDs []int `json:"source-ids"`
				Name      string
			} `json:"fields"`
		} `json:"partition-specs"`
	}
	if err := json.Unmarshal(raw, &written); err != nil {
		t.Fatal(err)
	}
	if written.FormatVersion != 3 || len(written.Specs) != 1 || len(written.Specs[0].Fields) != 1 {
		t.Fatalf("written metadata: %s", raw)
	}
	f := written.Specs[0].Fields[0]
	if (f.SourceID == nil || *f.SourceID != 1) && (len(f.SourceIDs) != 1 || f.SourceIDs[0] != 1) {
		t.Fatalf("the partition field lost its source column: %s", raw)
	}
}
