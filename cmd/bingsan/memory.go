package main

import "runtime/debug"

// releaseStartupMemory returns what start-up allocated and no longer needs
// to the operating system before the node starts serving: package
// initialisation garbage (iceberg-go's substrait extensions parse tens of
// megabytes) and the 4 MiB parse buffers that goose's migrations leave in
// a sync.Pool (a pool empties only after two collections). Without it an
// idle node keeps them resident until enough traffic triggers collections.
func releaseStartupMemory() {
	debug.FreeOSMemory() // moves pooled buffers to the pools' victim caches
	debug.FreeOSMemory() // drops them and returns the freed pages
}
