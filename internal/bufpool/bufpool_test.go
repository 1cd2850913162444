package bufpool

import "testing"

type counts struct{ gets, misses, discards int }

func (c *counts) Get()     { c.gets++ }
func (c *counts) Miss()    { c.misses++ }
func (c *counts) Discard() { c.discards++ }

func TestPoolCounts(t *testing.T) {
	c := &counts{}
	p := New(64, c)
	b := p.Get()
	if c.gets != 1 || c.misses != 1 {
		t.Fatalf("first get: %+v", c)
	}
	b.WriteString("small")
	p.Put(b)
	b = p.Get()
	if b.Len() != 0 {
		t.Fatalf("buffer from the pool is not empty: %q", b.String())
	}
	b.Write(make([]byte, 1000))
	p.Put(b) // too large: dropped
	if c.discards != 1 {
		t.Fatalf("large put: %+v", c)
	}
	// sync.Pool may drop buffers at any GC, so hits are not asserted;
	// misses never exceed gets.
	if c.misses > c.gets {
		t.Fatalf("%+v", c)
	}
}

func TestNilObserver(t *testing.T) {
	p := New(16, nil)
	b := p.Get()
	b.WriteString("more than sixteen bytes")
	p.Put(b)
}
