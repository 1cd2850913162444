package main

import (
	"math/bits"
	"time"
)

// hist is a log-linear latency histogram: values below 64ns are exact,
// above that every power of two is split into 64 buckets (error < 1.6%).
// One per worker; merged at the end.
type hist struct {
	counts [64 * 40]uint64
	n      uint64
}

const subBuckets = 64

func bucketOf(v uint64) int {
	if v < subBuckets {
		return int(v)
	}
	exp := bits.Len64(v) - 7 // v>>exp is in [64, 128)
	i := (exp+1)*subBuckets + int(v>>uint(exp)) - subBuckets
	if i >= len(hist{}.counts) {
		i = len(hist{}.counts) - 1
	}
	return i
}

// valueOf is the middle of bucket i.
func valueOf(i int) uint64 {
	if i < subBuckets {
		return uint64(i)
	}
	exp := i/subBuckets - 1
	m := uint64(i%subBuckets + subBuckets)
	return m<<uint(exp) + (uint64(1)<<uint(exp))/2
}

func (h *hist) record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[bucketOf(uint64(d))]++
	h.n++
}

func (h *hist) merge(o *hist) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
}

// quantile returns the q-quantile (0 < q <= 1).
func (h *hist) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q * float64(h.n))
	if rank == 0 {
		rank = 1
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return time.Duration(valueOf(i))
		}
	}
	return 0
}
