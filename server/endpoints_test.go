package server_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/bingsan/bingsan/gen/iceberg"
	"github.com/bingsan/bingsan/server/servertest"
	"github.com/bingsan/bingsan/vend"
)

// GET /v1/config advertises signRequest only for the warehouses whose
// storage signs: an S3 warehouse with remote signing, not the local default
// warehouse nor an S3 one without it. Everything else is the same list.
func TestConfigEndpointsPerWarehouse(t *testing.T) {
	t.Parallel()
	l := startLake(t, nil, servertest.Config{})
	const sign = "POST /v1/{prefix}/namespaces/{namespace}/tables/{table}/sign"
	endpoints := func(query string) []string {
		status, _, body := call(t, "GET", l.URL+"/v1/config"+query, "", nil)
		if status != 200 {
			t.Fatalf("config%s: %d %s", query, status, body)
		}
		var cfg iceberg.CatalogConfig
		if err := json.Unmarshal(body, &cfg); err != nil || cfg.Endpoints == nil {
			t.Fatalf("config%s: %v %s", query, err, body)
		}
		return *cfg.Endpoints
	}
	lake, local := endpoints("?warehouse=lake"), endpoints("")
	if !slices.Contains(lake, sign) || slices.Contains(local, sign) {
		t.Fatalf("sign advertised: lake %v, default %v", slices.Contains(lake, sign), slices.Contains(local, sign))
	}
	if len(lake) != len(local)+1 {
		t.Fatalf("lake %d endpoints, default %d: only sign should differ", len(lake), len(local))
	}
	for _, want := range []string{
		"POST /v1/{prefix}/namespaces/{namespace}/tables/{table}/unregister",
		"GET /v1/{prefix}/namespaces/{namespace}/functions",
		"GET /v1/{prefix}/namespaces/{namespace}/functions/{function}",
	} {
		if !slices.Contains(local, want) {
			t.Errorf("%s not advertised", want)
		}
	}

	unsigned := startLake(t, func(p *vend.Profile) { p.RemoteSigning = false }, servertest.Config{})
	status, _, body := call(t, "GET", unsigned.URL+"/v1/config?warehouse=lake", "", nil)
	var cfg iceberg.CatalogConfig
	if status != 200 || json.Unmarshal(body, &cfg) != nil || cfg.Endpoints == nil || slices.Contains(*cfg.Endpoints, sign) {
		t.Fatalf("S3 without remote signing: %d %s", status, body)
	}
}
