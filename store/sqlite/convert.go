package sqlite

import (
	"database/sql"
	"time"

	"github.com/bingsan/bingsan/gen/sqlitedb"
	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/store/internal/backend"
)

// Rows of gen/sqlitedb become store types here and nowhere else. Times are
// stored as INTEGER microseconds since the epoch (see the migration).

func micros(t time.Time) int64 { return t.UnixMicro() }

func nullMicros(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMicro(), Valid: true}
}

func fromMicros(v int64) time.Time { return time.UnixMicro(v) }

func namespaceFromRow(r sqlitedb.Namespace) (store.Namespace, error) {
	props, err := backend.DecodeProperties([]byte(r.Properties))
	if err != nil {
		return store.Namespace{}, err
	}
	return store.Namespace{Levels: backend.SplitKey(r.Name), Properties: props, Location: r.Location.String}, nil
}

func entityFromRow(r sqlitedb.Entity) store.Entity {
	return store.Entity{
		Ident:            store.Ident{Warehouse: r.Warehouse, Namespace: backend.SplitKey(r.Namespace), Name: r.Name},
		Kind:             store.Kind(r.Kind),
		MetadataLocation: r.MetadataLocation,
		Metadata:         r.Metadata,
		Version:          r.Version,
		UUID:             r.Uuid.String,
	}
}

func idempotencyFromRow(r sqlitedb.IdempotencyKey) store.IdempotencyRecord {
	return store.IdempotencyRecord{
		Key:         r.Key,
		Operation:   r.Operation,
		RequestHash: r.RequestHash,
		Status:      int(r.Status),
		Body:        r.Body,
		Done:        r.Done,
		ExpiresAt:   fromMicros(r.ExpiresAt),
		Committed:   r.Committed,
		Outcome:     backend.DecodeOutcome(r.Outcome),
	}
}

func purgeJobFromRow(r sqlitedb.PurgeJob) store.PurgeJob {
	return store.PurgeJob{
		ID:               r.ID,
		Location:         r.Location,
		MetadataLocation: r.MetadataLocation,
		Metadata:         r.Metadata,
		Attempts:         int(r.Attempts),
		CreatedAt:        fromMicros(r.CreatedAt),
	}
}
