package catalog

import (
	"context"

	"github.com/bingsan/bingsan/store"
)

// UnregisterTable removes a table from the catalog and leaves its files
// where they are: the answer is the metadata that was current when it left
// (the file a later registerTable takes back). Its location claims are
// released with it, so the same files may be registered again, under any
// name. A commit racing with it either lands first, and is in the answer,
// or fails (store.UnregisterEntity).
func (s *Service) UnregisterTable(ctx context.Context, id store.Ident) (TableResult, error) {
	if err := s.checkEntityIdent(store.KindTable, id); err != nil {
		return TableResult{}, err
	}
	e, err := s.st.UnregisterEntity(ctx, store.KindTable, id)
	if err != nil {
		return TableResult{}, err
	}
	return TableResult{MetadataLocation: e.MetadataLocation, Metadata: e.Metadata, ETag: etag(e.MetadataLocation, "")}, nil
}
