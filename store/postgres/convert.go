package postgres

import (
	"github.com/bingsan/bingsan/gen/pgdb"
	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/store/internal/backend"
)

// Rows of gen/pgdb become store types here and nowhere else.

func namespaceFromRow(r pgdb.Namespace) (store.Namespace, error) {
	props, err := backend.DecodeProperties(r.Properties)
	if err != nil {
		return store.Namespace{}, err
	}
	return store.Namespace{Levels: backend.SplitKey(r.Name), Properties: props, Location: r.Location.String}, nil
}

func entityFromRow(r pgdb.Entity) store.Entity {
	return store.Entity{
		Ident:            store.Ident{Warehouse: r.Warehouse, Namespace: backend.SplitKey(r.Namespace), Name: r.Name},
		Kind:             store.Kind(r.Kind),
		MetadataLocation: r.MetadataLocation,
		Metadata:         r.Metadata,
		Version:          r.Version,
		UUID:             r.Uuid.String,
	}
}

func idempotencyFromRow(r pgdb.IdempotencyKey) store.IdempotencyRecord {
	return store.IdempotencyRecord{
		Key:         r.Key,
		Operation:   r.Operation,
		RequestHash: r.RequestHash,
		Status:      int(r.Status),
		Body:        r.Body,
		Done:        r.Done,
		ExpiresAt:   r.ExpiresAt,
		Committed:   r.Committed,
		Outcome:     backend.DecodeOutcome(r.Outcome),
	}
}

func purgeJobFromRow(r pgdb.PurgeJob) store.PurgeJob {
	return store.PurgeJob{
		ID:               r.ID,
		Location:         r.Location,
		MetadataLocation: r.MetadataLocation,
		Metadata:         r.Metadata,
		Attempts:         int(r.Attempts),
		CreatedAt:        r.CreatedAt,
	}
}
