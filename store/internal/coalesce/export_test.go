package coalesce

// Queued is the number of reads waiting for a batch to begin, for tests
// that need reads queued in a known order.
func (r *Reader[K, V]) Queued() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, k := range r.order {
		n += len(r.queue[k])
	}
	return n
}
