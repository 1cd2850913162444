package catalog

import (
	"context"

	icebergio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"

	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/vend"
)

// What server-side scan planning (package planning) reads of tables: their
// metadata, their files, and read-only access to those files for clients.

// CurrentTable returns table id's current metadata and its location.
func (s *Service) CurrentTable(ctx context.Context, id store.Ident) (string, table.Metadata, error) {
	e, err := s.loadEntity(ctx, store.KindTable, id)
	if err != nil {
		return "", nil, err
	}
	m, err := s.parseCached(id, e.MetadataLocation, e.Metadata)
	if err != nil {
		return "", nil, err
	}
	return e.MetadataLocation, m, nil
}

// TableAt returns the metadata of table id in the metadata file at
// location (a version the table had).
func (s *Service) TableAt(ctx context.Context, id store.Ident, location string) (table.Metadata, error) {
	if m, ok := s.metaCache.get(location); ok {
		if tm, ok := m.(table.Metadata); ok {
			return tm, nil
		}
	}
	doc, err := s.MetadataDocument(ctx, location)
	if err != nil {
		return nil, err
	}
	return s.parseCached(id, location, doc)
}

// ReaderCredentials returns read-only credentials for table id's files when
// the client accepts delegation d (none when its warehouse vends none).
func (s *Service) ReaderCredentials(ctx context.Context, id store.Ident, d vend.Delegation) ([]vend.Credential, error) {
	if s.vendor(id.Warehouse) == nil {
		return nil, nil
	}
	e, err := s.loadEntity(ctx, store.KindTable, id)
	if err != nil {
		return nil, err
	}
	g, err := s.TableAccess(ctx, id, e.Metadata, AccessRequest{Delegation: d, Mode: vend.ReadOnly})
	if err != nil {
		return nil, err
	}
	return g.Credentials, nil
}

// TableFS is iceberg-go's FileIO for the files at location (manifest lists
// and manifests).
func (s *Service) TableFS(ctx context.Context, location string) (icebergio.IO, error) {
	return s.io.FS(ctx, location)
}
