package main

// The floor: the irreducible work of each hot path without the catalog,
// served over HTTP by a minimal fasthttp process (this binary started
// again with floorEnv set), so that the harness drives it with the same
// client at the same concurrency and reads its CPU time the same way as
// the server's.
//
//   - GET /load/{name}: one point select of the table's row in the
//     catalog's own database (the statement the PostgreSQL store reads a
//     table with), its stored metadata sent back as is.
//   - POST /commit/{name}: a metadata document of the size the catalog's
//     row holds written as a new file through the catalog's own local
//     storage writer (vend.Local.WriteNew: the same syscalls and syncs),
//     then the one-statement compare-and-swap with its event
//     (gen/pgdb.CommitEntity, the statement the PostgreSQL store commits
//     with) on a row of a database of the floor's own. Commits of one row
//     take turns on a lock, as the catalog's do on one node. The answer
//     holds the document, as the catalog's must.
//   - POST /create/{name}: the document of a new table written in a new
//     directory the same way, then the row and its event inserted in one
//     transaction (InsertEntity and InsertEvents).

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/valyala/fasthttp"

	"github.com/bingsan/bingsan/gen/pgdb"
	"github.com/bingsan/bingsan/store/migrate"
	"github.com/bingsan/bingsan/vend"
)

// floorEnv, when set, makes this binary the floor server; its value is
// "listen-address catalog-dsn floor-dsn warehouse-dir".
const floorEnv = "BINGSAN_LOADGEN_FLOOR"

const floorNS = "floor"

type floorServer struct {
	catalog, floor *pgxpool.Pool
	q              *pgdb.Queries
	io             *vend.Local
	dir            string
	// Where the catalog keeps the bench tables (its row keys).
	warehouse, namespace string

	mu   sync.Mutex
	rows map[string]*floorRow
	// createDoc is the document a created table starts with.
	createDoc []byte
}

// floorRow is one row the commit floor swaps: its version and a document
// of the size the catalog's row of the same name holds.
type floorRow struct {
	mu      sync.Mutex
	version int64
	doc     []byte
}

func runFloorServer(spec string) error {
	f := strings.Fields(spec)
	if len(f) != 4 {
		return fmt.Errorf("%s: want 4 fields, got %q", floorEnv, spec)
	}
	addr, catalogDSN, floorDSN, dir := f[0], f[1], f[2], f[3]
	ctx := context.Background()
	s := &floorServer{q: pgdb.New(), io: vend.NewLocal(), dir: dir, rows: map[string]*floorRow{}}
	var err error
	if s.catalog, err = newPool(ctx, catalogDSN); err != nil {
		return err
	}
	if s.floor, err = newPool(ctx, floorDSN); err != nil {
		return err
	}
	if err := s.catalog.QueryRow(ctx, `SELECT warehouse, namespace FROM entities WHERE name = 'small' AND kind = 'table'`).
		Scan(&s.warehouse, &s.namespace); err != nil {
		return fmt.Errorf("finding the seeded tables: %w", err)
	}
	if err := s.refresh(ctx); err != nil {
		return err
	}
	srv := &fasthttp.Server{Handler: s.handle, Name: "floor", ReadBufferSize: 16 << 10}
	return srv.ListenAndServe(addr)
}

// newPool opens a pool as large as the catalog's default
// (store.postgres.max-conns), so that both wait on PostgreSQL alike.
func newPool(ctx context.Context, dsn string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	cfg.MaxConns = 16
	return pgxpool.NewWithConfig(ctx, cfg)
}

// migrateFloor gives the floor's database the catalog's schema and the
// namespace its rows live in.
func migrateFloor(ctx context.Context, dsn string) error {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := migrate.Run(ctx, db, migrate.Postgres, migrate.Up); err != nil {
		return err
	}
	_, err = db.ExecContext(ctx, `INSERT INTO namespaces (warehouse, name, parent, properties) VALUES ('', $1, '', '{}')`, floorNS)
	return err
}

var _ = stdlib.GetDefaultDriver // registers the "pgx" database/sql driver

// refresh copies the sizes of the catalog's current documents: the floor
// writes what the catalog wrote last. Rows are created on first use.
func (s *floorServer) refresh(ctx context.Context) error {
	rows, err := s.catalog.Query(ctx, `SELECT name, metadata FROM entities WHERE warehouse = $1 AND namespace = $2 AND kind = 'table'`, s.warehouse, s.namespace)
	if err != nil {
		return err
	}
	docs := map[string][]byte{}
	for rows.Next() {
		var name string
		var doc []byte
		if err := rows.Scan(&name, &doc); err != nil {
			return err
		}
		docs[name] = doc
	}
	if err := rows.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.createDoc = docs["small"]
	for name, doc := range docs {
		r := s.rows[name]
		if r == nil {
			r = &floorRow{}
			if _, err := s.q.InsertEntity(ctx, s.floor, pgdb.InsertEntityParams{
				Namespace: floorNS, Name: name, Kind: "table", MetadataLocation: s.fileOf(name, 0), Metadata: doc,
				Uuid: pgtype.Text{String: uuid.NewString(), Valid: true},
			}); err != nil {
				return err
			}
			r.version = 1
			s.rows[name] = r
		}
		r.mu.Lock()
		r.doc = doc
		r.mu.Unlock()
	}
	return nil
}

func (s *floorServer) fileOf(name string, version int64) string {
	return fmt.Sprintf("file://%s/%s/metadata/%05d-%s.metadata.json", s.dir, name, version, uuid.NewString())
}

func (s *floorServer) handle(rc *fasthttp.RequestCtx) {
	path := string(rc.Path())
	var err error
	switch {
	case path == "/health/ready":
	case path == "/refresh":
		err = s.refresh(rc)
	case strings.HasPrefix(path, "/load/"):
		err = s.load(rc, strings.TrimPrefix(path, "/load/"))
	case strings.HasPrefix(path, "/commit/"):
		err = s.commit(rc, strings.TrimPrefix(path, "/commit/"))
	case strings.HasPrefix(path, "/create/"):
		err = s.create(rc, strings.TrimPrefix(path, "/create/"))
	default:
		rc.SetStatusCode(404)
		return
	}
	if err != nil {
		rc.ResetBody()
		rc.SetStatusCode(500)
		rc.SetBodyString(err.Error())
	}
}

func (s *floorServer) load(rc *fasthttp.RequestCtx, name string) error {
	row, err := s.q.GetEntity(rc, s.catalog, pgdb.GetEntityParams{Warehouse: s.warehouse, Namespace: s.namespace, Name: name, Kind: "table"})
	if err != nil {
		return err
	}
	writeTableResponse(rc, row.MetadataLocation, row.Metadata)
	return nil
}

// writeTableResponse answers as the REST spec has loads, creates and
// commits answer: the metadata location and the document.
func writeTableResponse(rc *fasthttp.RequestCtx, loc string, doc []byte) {
	rc.SetContentType("application/json")
	fmt.Fprintf(rc, `{"metadata-location":%q,"metadata":`, loc)
	_, _ = rc.Write(doc)
	_, _ = rc.WriteString("}")
}

func (s *floorServer) commit(rc *fasthttp.RequestCtx, name string) error {
	s.mu.Lock()
	r := s.rows[name]
	s.mu.Unlock()
	if r == nil {
		return fmt.Errorf("no row %q", name)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	loc := s.fileOf(name, r.version)
	if err := s.io.WriteNew(rc, loc, r.doc); err != nil {
		return err
	}
	details, _ := json.Marshal(map[string]string{"metadata-location": loc})
	res, err := s.q.CommitEntity(rc, s.floor, pgdb.CommitEntityParams{
		Namespace: floorNS, Name: name, Kind: "table", BaseVersion: r.version,
		MetadataLocation: loc, Metadata: r.doc, EventType: "table.committed", Details: details,
		IdempotencyOutcome: []byte{}, IdempotencyExpiresAt: time.Now(), IdempotencyKeys: []string{},
	})
	if err != nil {
		return err
	}
	if !res.Committed {
		return errors.New("lost the compare-and-swap")
	}
	r.version++
	writeTableResponse(rc, loc, r.doc)
	return nil
}

func (s *floorServer) create(rc *fasthttp.RequestCtx, name string) error {
	s.mu.Lock()
	doc := s.createDoc
	s.mu.Unlock()
	loc := s.fileOf("created/"+name+"-"+uuid.NewString(), 0)
	if err := s.io.WriteNew(rc, loc, doc); err != nil {
		return err
	}
	details, _ := json.Marshal(map[string]string{"metadata-location": loc})
	tx, err := s.floor.Begin(rc)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(context.Background()) }()
	if _, err := s.q.InsertEntity(rc, tx, pgdb.InsertEntityParams{
		Namespace: floorNS, Name: name, Kind: "table", MetadataLocation: loc, Metadata: doc,
		Uuid: pgtype.Text{String: uuid.NewString(), Valid: true},
	}); err != nil {
		return err
	}
	if _, err := s.q.InsertEvents(rc, tx, pgdb.InsertEventsParams{
		Warehouses: []string{""}, Namespaces: []string{floorNS}, Names: []string{name},
		Details: []string{string(details)}, Types: []string{"table.created"},
	}); err != nil {
		return err
	}
	if err := tx.Commit(rc); err != nil {
		return err
	}
	writeTableResponse(rc, loc, doc)
	return nil
}

// startFloor starts the floor server against the catalog's database and
// a database of its own, with its files under dataParent.
func startFloor(ctx context.Context, logDir, catalogDSN, floorDSN, dataParent string) (*server, error) {
	if err := migrateFloor(ctx, floorDSN); err != nil {
		return nil, fmt.Errorf("floor database: %w", err)
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(dataParent, "floor")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	return startProcess(ctx, self, nil, []string{floorEnv + "=" + strings.Join([]string{addr, catalogDSN, floorDSN, dir}, " ")},
		addr, filepath.Join(logDir, "floor.log"), "")
}
