package postgres

import (
	"context"

	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/store/internal/backend"
)

// FetchEntities runs one batched read of ids (all of kind) and returns the
// metadata locations found, by ident, so that the batch query is tested
// with several keys whatever the timing of concurrent reads.
func FetchEntities(ctx context.Context, s *Store, kind store.Kind, ids []store.Ident) (map[string]string, error) {
	keys := make([]entityKey, len(ids))
	for i, id := range ids {
		ns, err := backend.CheckIdent(kind, id)
		if err != nil {
			return nil, err
		}
		keys[i] = entityKey{warehouse: id.Warehouse, namespace: ns, name: id.Name, kind: string(kind)}
	}
	rows, err := s.fetchEntities(ctx, keys)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, r := range rows {
		out[entityFromRow(r).Ident.String()] = r.MetadataLocation
	}
	return out, nil
}
