package postgres

import (
	"context"
	"strings"

	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/store/driver"
)

// FetchEntities runs one batched read of ids (all of kind) and returns the
// metadata locations found, by ident, so that the batch query is tested
// with several keys whatever the timing of concurrent reads.
func FetchEntities(ctx context.Context, s *Store, kind store.Kind, ids []store.Ident) (map[string]string, error) {
	keys := make([]driver.EntityKey, len(ids))
	for i, id := range ids {
		if err := store.CheckIdent(kind, id); err != nil {
			return nil, err
		}
		keys[i] = driver.EntityKey{Warehouse: id.Warehouse, Namespace: id.NamespaceKey(), Name: id.Name, Kind: string(kind)}
	}
	rows, err := s.drv.GetEntities(ctx, keys)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, r := range rows {
		ns := strings.Split(r.Namespace, store.NamespaceSeparator)
		out[store.Ident{Warehouse: r.Warehouse, Namespace: ns, Name: r.Name}.String()] = r.MetadataLocation
	}
	return out, nil
}
