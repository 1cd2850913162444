//go:build !linux

package main

// releaseStartupPages is Linux-only (see startuppages_linux.go).
func releaseStartupPages() {}
