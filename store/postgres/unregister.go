package postgres

import (
	"context"

	"github.com/bingsan/bingsan/store"
)

// UnregisterEntity implements store.Store: a drop without purge, recorded
// as "<kind>.unregistered".
func (s *Store) UnregisterEntity(ctx context.Context, kind store.Kind, id store.Ident) (store.Entity, error) {
	return s.dropEntity(ctx, kind, id, false, "unregistered")
}
