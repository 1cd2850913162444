// Package bufpool is a sync.Pool of byte buffers that reports how it is
// used (gets, misses, discards) to an Observer, for the buffer pool metrics.
package bufpool

import (
	"bytes"
	"sync"
)

// Observer is told about every Get, every Get the pool could not serve
// (Miss: a new buffer was allocated) and every Put of a buffer too large to
// keep (Discard). *metrics.BufferPool is one.
type Observer interface {
	Get()
	Miss()
	Discard()
}

// Pool hands out *bytes.Buffer. Buffers that grew beyond MaxCap are
// dropped on Put rather than kept, so one huge response does not pin its
// memory for good.
type Pool struct {
	p      sync.Pool
	maxCap int
	obs    Observer
}

// New returns a pool keeping buffers of at most maxCap bytes; obs may be nil.
func New(maxCap int, obs Observer) *Pool {
	return &Pool{maxCap: maxCap, obs: obs}
}

// Get returns an empty buffer.
func (p *Pool) Get() *bytes.Buffer {
	if p.obs != nil {
		p.obs.Get()
	}
	if b, ok := p.p.Get().(*bytes.Buffer); ok {
		return b
	}
	if p.obs != nil {
		p.obs.Miss()
	}
	return new(bytes.Buffer)
}

// Put returns b to the pool; b must not be used afterwards.
func (p *Pool) Put(b *bytes.Buffer) {
	if b.Cap() > p.maxCap {
		if p.obs != nil {
			p.obs.Discard()
		}
		return
	}
	b.Reset()
	p.p.Put(b)
}
