package catalog

import (
	"context"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/view"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/store"
)

// viewOps is the commit engine's view part: iceberg-go's view builder, and
// view metadata files that are never compressed.
type viewOps struct{}

func (viewOps) kind() store.Kind                { return store.KindView }
func (viewOps) ident(c *ViewChange) store.Ident { return c.Ident }

func (viewOps) parse(s *Service, cur store.Entity) (view.Metadata, error) {
	if m, ok := s.metaCache.get(cur.MetadataLocation); ok {
		if vm, ok := m.(view.Metadata); ok {
			return vm, nil
		}
	}
	m, err := view.ParseMetadataBytes(cur.Metadata)
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "Stored metadata of %s is invalid", cur.Ident)
	}
	s.metaCache.put(cur.MetadataLocation, m, len(cur.Metadata))
	return m, nil
}

func (viewOps) apply(m view.Metadata, _ string, c *ViewChange) (view.Metadata, bool, error) {
	for _, r := range c.Requirements {
		if err := r.Validate(m); err != nil {
			return nil, false, requirementError(err)
		}
	}
	upds, err := c.updates()
	if err != nil {
		return nil, false, err
	}
	return applyViewUpdates(m, upds)
}

func (viewOps) placement(m view.Metadata) (string, iceberg.Properties) {
	return m.Location(), m.Properties()
}

func (viewOps) file(m view.Metadata, version int) ([]byte, string, []byte, error) {
	doc, err := encodeViewMetadata(m)
	if err != nil {
		return nil, "", nil, err
	}
	loc, err := newViewMetadataLocation(m, version)
	if err != nil {
		return nil, "", nil, err
	}
	return doc, loc, doc, nil
}

func (viewOps) snapshotsAdded(view.Metadata, view.Metadata) []int64 { return nil }
func (viewOps) removedFiles(view.Metadata, view.Metadata) []string  { return nil }

// CommitView applies a replace-view request: the requirements are checked
// against the view's current metadata and the updates applied to it in
// request order with iceberg-go's view builder, through the same commit
// engine as tables (queueing, grouping, retries, metrics).
func (s *Service) CommitView(ctx context.Context, c ViewChange) (ViewResult, error) {
	if err := s.checkEntityIdent(store.KindView, c.Ident); err != nil {
		return ViewResult{}, err
	}
	commit, err := commitQueued(ctx, s, viewOps{}, &s.viewQueues, &c)
	if err != nil {
		return ViewResult{}, err
	}
	return ViewResult{MetadataLocation: commit.MetadataLocation, Metadata: commit.Metadata}, nil
}
