package main

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// releaseStartupPages drops this process's mappings of the executable's
// read-only pages (code, read-only data, the function table) once start-up
// is done. Package initialisation touches a large part of them once —
// iceberg-go builds its Substrait and Arrow compute registries at init,
// running code from all over Arrow — and an idle node would otherwise keep
// them resident for good. They are clean pages of the executable file: the
// kernel keeps them in its page cache and maps back, without I/O, those
// the server uses again (which is what it does itself under memory
// pressure). Only mappings without a private copy of any page are
// released: writable data, and read-only data that the dynamic loader
// relocated (position-independent builds), keep their contents.
func releaseStartupPages() {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return
	}
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		return
	}
	type mapping struct {
		start, end uintptr
		private    bool // holds anonymous (copied) pages, or may
	}
	var (
		todo []mapping
		cur  *mapping
	)
	sc := bufio.NewScanner(bytes.NewReader(smaps))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if start, end, ok := strings.Cut(f[0], "-"); ok && len(f) >= 5 {
			// A mapping: start-end perms offset dev inode [path].
			cur = nil
			a, err1 := strconv.ParseUint(start, 16, 64)
			b, err2 := strconv.ParseUint(end, 16, 64)
			if err1 == nil && err2 == nil && b > a && len(f) >= 6 && f[5] == exe && len(f[1]) == 4 {
				todo = append(todo, mapping{start: uintptr(a), end: uintptr(b), private: f[1][1] == 'w'})
				cur = &todo[len(todo)-1]
			}
			continue
		}
		if cur != nil && f[0] == "Anonymous:" && len(f) >= 2 && f[1] != "0" {
			cur.private = true
		}
	}
	for _, m := range todo {
		if !m.private {
			_, _, _ = syscall.Syscall(syscall.SYS_MADVISE, m.start, m.end-m.start, syscall.MADV_DONTNEED)
		}
	}
}
