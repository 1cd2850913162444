package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The seeded catalog. Namespaces ns000..ns099 (getNamespace,
// listNamespaces) and "bench", holding "small" (loadTable), "big" (about
// 1 MB of metadata), "hot" (commits to one table) and t000..t099 (commits
// spread over 100 tables, the read/write mix).
const (
	benchNS      = "bench"
	createNS     = "create" // where createTable creates
	numNS        = 100
	numTables    = 100
	bigTarget    = 1_000_000 // bytes of metadata JSON
	snapsPerPost = 400
)

type seeded struct {
	namespaces, tables int
	bigSize            int
	runID              string // tells the names createTable makes apart from other runs'
}

func nsName(i int) string    { return fmt.Sprintf("ns%03d", i) }
func tableName(i int) string { return fmt.Sprintf("t%03d", i) }

func tablePath(name string) string { return "/v1/namespaces/" + benchNS + "/tables/" + name }

const schemaJSON = `{"type":"struct","schema-id":0,"fields":[` +
	`{"id":1,"name":"id","required":true,"type":"long"},` +
	`{"id":2,"name":"ts","required":false,"type":"timestamptz"},` +
	`{"id":3,"name":"category","required":false,"type":"string"},` +
	`{"id":4,"name":"amount","required":false,"type":"decimal(18,2)"},` +
	`{"id":5,"name":"payload","required":false,"type":"string"}]}`

func seedCatalog(ctx context.Context, c *client) (seeded, error) {
	var s seeded
	ns := func(name string) error {
		body := fmt.Sprintf(`{"namespace":[%q],"properties":{"owner":"bench","comment":"seeded by loadgen"}}`, name)
		_, err := c.mustDo(200, "POST", "/v1/namespaces", []byte(body))
		return err
	}
	for i := range numNS {
		if err := ns(nsName(i)); err != nil {
			return s, err
		}
	}
	for _, name := range []string{benchNS, createNS} {
		if err := ns(name); err != nil {
			return s, err
		}
	}
	s.namespaces = numNS + 2
	s.runID = strconv.FormatInt(time.Now().Unix()%100000, 36)

	names := []string{"small", "big", "hot"}
	for i := range numTables {
		names = append(names, tableName(i))
	}
	for _, name := range names {
		if ctx.Err() != nil {
			return s, ctx.Err()
		}
		if _, err := c.mustDo(200, "POST", "/v1/namespaces/"+benchNS+"/tables", createBody(name)); err != nil {
			return s, err
		}
	}
	s.tables = len(names)

	size, err := growBig(ctx, c)
	s.bigSize = size
	return s, err
}

// createBody is the createTable request of every table the harness makes.
func createBody(name string) []byte {
	return []byte(fmt.Sprintf(`{"name":%q,"schema":%s,"partition-spec":{"spec-id":0,"fields":[{"source-id":2,"field-id":1000,"name":"ts_day","transform":"day"}]},"properties":{"write.format.default":"parquet"}}`, name, schemaJSON))
}

// growBig appends snapshots to "big" until its metadata is about 1 MB, the
// way a long-lived table without snapshot expiry grows.
func growBig(ctx context.Context, c *client) (int, error) {
	var (
		parent int64
		seq    int64
		id     int64 = 1_000_000
	)
	ts := time.Now().UnixMilli()
	for {
		out, err := c.mustDo(200, "GET", tablePath("big"), nil)
		if err != nil {
			return 0, err
		}
		var load struct {
			Metadata json.RawMessage `json:"metadata"`
		}
		if err := json.Unmarshal(out, &load); err != nil {
			return 0, err
		}
		if len(load.Metadata) >= bigTarget || ctx.Err() != nil {
			return len(load.Metadata), ctx.Err()
		}
		var b strings.Builder
		b.WriteString(`{"requirements":[],"updates":[`)
		for i := range snapsPerPost {
			id++
			seq++
			ts++
			if i > 0 {
				b.WriteByte(',')
			}
			parentField := ""
			if parent != 0 {
				parentField = fmt.Sprintf(`"parent-snapshot-id":%d,`, parent)
			}
			fmt.Fprintf(&b, `{"action":"add-snapshot","snapshot":{"snapshot-id":%d,%s"sequence-number":%d,"timestamp-ms":%d,`+
				`"manifest-list":"s3://warehouse/bench/big/metadata/snap-%d-1-6a1f3c2e-9d4b-4f7a-8c1e-2b3d4e5f6a7b.avro","schema-id":0,`+
				`"summary":{"operation":"append","added-data-files":"4","added-records":"125000","added-files-size":"52428800",`+
				`"changed-partition-count":"1","total-records":"%d","total-files-size":"%d","total-data-files":"%d",`+
				`"total-delete-files":"0","total-position-deletes":"0","total-equality-deletes":"0"}}}`,
				id, parentField, seq, ts, id, seq*125000, seq*52428800, seq*4)
			parent = id
		}
		fmt.Fprintf(&b, `,{"action":"set-snapshot-ref","ref-name":"main","type":"branch","snapshot-id":%d}]}`, parent)
		if _, err := c.mustDo(200, "POST", tablePath("big"), []byte(b.String())); err != nil {
			return 0, err
		}
	}
}
