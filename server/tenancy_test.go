package server_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/bingsan/bingsan/auth"
	"github.com/bingsan/bingsan/server/servertest"
)

// A principal with every right on namespace A, and none on B, tries to
// reach B's storage through the catalog on S3 (MinIO) with vended
// credentials: registering B's table, placing tables, namespaces and data
// paths over B, moving a table there. Every attempt is refused without
// credentials, and B's table keeps its files.
func TestNamespaceCannotReachAnothersStorage(t *testing.T) {
	t.Parallel()
	for _, external := range []bool{false, true} {
		t.Run(fmt.Sprintf("external-locations=%v", external), func(t *testing.T) {
			t.Parallel()
			l := startLake(t, nil, servertest.Config{
				Auth:              &auth.Options{BootstrapClientID: adminID, BootstrapClientSecret: adminSecret},
				ExternalLocations: map[string]bool{"lake": external},
			})
			e := &authEnv{t: t, srv: l.Instance}
			e.admin = e.token(adminID, adminSecret)
			ctx := context.Background()
			const vendedHeader = "vended-credentials"

			// The victim, with a data file written with its own credentials.
			e.must(200, "POST", "/v1/lake/namespaces", e.admin, `{"namespace":["A"]}`, nil)
			e.must(200, "POST", "/v1/lake/namespaces", e.admin, `{"namespace":["B"]}`, nil)
			status, _, body := call(t, "POST", l.base+"/namespaces/B/tables", "application/json",
				[]byte(`{"name":"victim","schema":`+s3SchemaJSON+`}`), "Authorization", "Bearer "+e.admin, "X-Iceberg-Access-Delegation", vendedHeader)
			if status != 200 {
				t.Fatalf("create victim: %d %s", status, body)
			}
			victim := loadResult(t, body)
			victimLoc := tableLocation(t, victim)
			ak, sk, tok := vended(t, victim, victimLoc)
			dataKey := keyOf(t, l.bucket, victimLoc) + "/data/precious.parquet"
			if err := s3Put(ctx, l.s3.Client(ak, sk, tok), l.bucket, dataKey); err != nil {
				t.Fatal(err)
			}

			alice, _ := e.principal("alice", "team-a")
			for _, p := range []string{"read", "write", "create", "drop"} {
				e.grant("team-a", p, "namespace", "lake", []string{"A"}, "")
			}
			e.must(200, "POST", "/v1/lake/namespaces/A/tables", alice, `{"name":"mine","schema":`+s3SchemaJSON+`}`, nil)

			// Where a refusal comes from depends on the warehouse: outside
			// the namespace (400) without external locations, or owned by
			// B's table (409) with them.
			refused := 400
			if external {
				refused = 409
			}
			attempts := []struct {
				name   string
				method string
				path   string
				body   string
				status int
			}{
				{"register B's table in A", "POST", "/namespaces/A/register",
					fmt.Sprintf(`{"name":"stolen","metadata-location":%q}`, *victim.MetadataLocation), refused},
				{"create at B's table's location", "POST", "/namespaces/A/tables",
					fmt.Sprintf(`{"name":"x","location":%q,"schema":%s}`, victimLoc, s3SchemaJSON), refused},
				{"create over all of B", "POST", "/namespaces/A/tables",
					fmt.Sprintf(`{"name":"x","location":%q,"schema":%s}`, l.loc+"/B", s3SchemaJSON), refused},
				{"create with B's table as data path", "POST", "/namespaces/A/tables",
					fmt.Sprintf(`{"name":"x","schema":%s,"properties":{"write.data.path":%q}}`, s3SchemaJSON, victimLoc+"/data"), refused},
				{"a namespace over B", "POST", "/namespaces",
					fmt.Sprintf(`{"namespace":["A","sub"],"properties":{"location":%q}}`, l.loc+"/B"), refused},
				{"move a table onto B's", "POST", "/namespaces/A/tables/mine",
					fmt.Sprintf(`{"requirements":[],"updates":[{"action":"set-location","location":%q}]}`, victimLoc), 400},
				{"point a table's data at B's", "POST", "/namespaces/A/tables/mine",
					fmt.Sprintf(`{"requirements":[],"updates":[{"action":"set-properties","updates":{"write.data.path":%q}}]}`, victimLoc+"/data"), 400},
				{"register in B", "POST", "/namespaces/B/register",
					fmt.Sprintf(`{"name":"twin","metadata-location":%q}`, *victim.MetadataLocation), 403},
			}
			for _, a := range attempts {
				status, _, body := call(t, a.method, l.base+a.path, "application/json", []byte(a.body),
					"Authorization", "Bearer "+alice, "X-Iceberg-Access-Delegation", vendedHeader)
				if status != a.status {
					t.Errorf("%s: %d, want %d: %s", a.name, status, a.status, body)
				}
				if strings.Contains(string(body), "s3.session-token") {
					t.Errorf("%s: credentials handed out: %s", a.name, body)
				}
			}

			// B's table is whole: it loads, and its data file is there.
			status, _, body = call(t, "GET", l.base+"/namespaces/B/tables/victim", "", nil, "Authorization", "Bearer "+e.admin)
			if status != 200 || *loadResult(t, body).MetadataLocation != *victim.MetadataLocation {
				t.Fatalf("victim after the attempts: %d %s", status, body)
			}
			if err := s3Get(ctx, l.s3.Root(), l.bucket, dataKey); err != nil {
				t.Fatalf("victim's data file: %v", err)
			}
			// Dropping alice's own table with purge leaves B alone.
			e.must(204, "DELETE", "/v1/lake/namespaces/A/tables/mine?purgeRequested=true", alice, nil, nil)
			if _, err := l.Catalog.PurgeOnce(ctx); err != nil {
				t.Fatal(err)
			}
			if err := s3Get(ctx, l.s3.Root(), l.bucket, dataKey); err != nil {
				t.Fatalf("victim's data file after a purge in A: %v", err)
			}
		})
	}
}
