package vend

import (
	"context"
	"maps"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/bingsan/bingsan/metrics"
)

// credCache holds vended credentials (client config maps) per scope key
// until shortly before they expire, and makes one call to the credential
// service per key however many requests want it at once. Every vendor
// uses it: credentials are handed out while they have at least a quarter
// of their lifetime (and never less than minRemaining) left.
type credCache struct {
	now func() time.Time

	flight singleflight.Group
	mu     sync.Mutex
	items  map[string]cachedCred

	metrics *metrics.Metrics // hits and misses; nil: none
}

type cachedCred struct {
	config  map[string]string
	issued  time.Time
	expires time.Time
}

func newCredCache(now func() time.Time) *credCache {
	return &credCache{now: now, items: map[string]cachedCred{}}
}

// fresh reports whether c may still be handed out: it has more than a
// quarter of its lifetime left, and at least minRemaining, though never
// more than half its lifetime is required (a short-lived credential would
// otherwise never count as fresh).
func (cc *credCache) fresh(c cachedCred) bool {
	life := c.expires.Sub(c.issued)
	margin := max(life/refreshShare, minRemaining)
	margin = min(margin, life/2)
	return cc.now().Add(margin).Before(c.expires)
}

// get returns the cached credentials for key, or calls fetch once for all
// concurrent callers and caches what it returns. fetch runs detached from
// any request's context (it serves them all) with a bound of stsTimeout,
// and returns the config and its expiry.
func (cc *credCache) get(key string, fetch func(ctx context.Context) (map[string]string, time.Time, error)) (map[string]string, error) {
	cfg, ok := cc.lookup(key)
	cc.metrics.VendCache(ok)
	if ok {
		return cfg, nil
	}
	res, err, _ := cc.flight.Do(key, func() (any, error) {
		if cfg, ok := cc.lookup(key); ok {
			return cfg, nil
		}
		ctx, cancel := context.WithTimeout(context.Background(), stsTimeout)
		defer cancel()
		issued := cc.now()
		cfg, exp, err := fetch(ctx)
		if err != nil {
			return nil, err
		}
		cc.store(key, cachedCred{config: cfg, issued: issued, expires: exp})
		return cfg, nil
	})
	if err != nil {
		return nil, err
	}
	return maps.Clone(res.(map[string]string)), nil
}

func (cc *credCache) lookup(key string) (map[string]string, bool) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	c, ok := cc.items[key]
	if !ok || !cc.fresh(c) {
		return nil, false
	}
	return maps.Clone(c.config), true
}

func (cc *credCache) store(key string, c cachedCred) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if len(cc.items) >= maxCached {
		for k, e := range cc.items {
			if !cc.fresh(e) {
				delete(cc.items, k)
			}
		}
	}
	cc.items[key] = c
}
