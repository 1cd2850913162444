package events

import (
	"context"
	"log/slog"
	"time"

	"github.com/bingsan/bingsan/store"
)

// RunPruner deletes events older than retention every interval (and once
// at start) until ctx ends. Retention 0 keeps events forever. Every node
// may run it: the store lets one node at a time do the work.
func RunPruner(ctx context.Context, st store.Store, retention, interval time.Duration, log *slog.Logger) {
	if retention <= 0 || interval <= 0 {
		return
	}
	if log == nil {
		log = slog.Default()
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		n, err := st.PruneEvents(ctx, time.Now().Add(-retention))
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("pruning events", "error", err)
		case n > 0:
			log.Debug("pruned events", "count", n, "retention", retention)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
