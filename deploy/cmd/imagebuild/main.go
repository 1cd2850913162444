// Command imagebuild writes Bingsan's container image without a container
// daemon (`make image` runs it): an OCI image layout in <out>/oci and a
// `docker load` tarball in <out>/bingsan.tar.
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/bingsan/bingsan/deploy/image"
)

func main() {
	var (
		bin      = flag.String("binary", "", "static Linux build of cmd/bingsan")
		out      = flag.String("out", "", "output directory")
		version  = flag.String("version", "devel", "image version (label and tag)")
		revision = flag.String("revision", "", "VCS commit")
		epoch    = flag.String("source-date-epoch", "0", "creation time, seconds since 1970 (make: the commit's time)")
	)
	flag.Parse()
	if *bin == "" || *out == "" {
		fmt.Fprintln(os.Stderr, "usage: imagebuild -binary PATH -out DIR [-version V -revision SHA -source-date-epoch N]")
		os.Exit(2)
	}
	secs, err := strconv.ParseInt(*epoch, 10, 64)
	if err != nil {
		fail(fmt.Errorf("-source-date-epoch: %w", err))
	}
	img, err := image.Build(image.Options{Binary: *bin, Version: *version, Revision: *revision, Created: time.Unix(secs, 0)})
	if err != nil {
		fail(err)
	}
	tag := image.Tag(*version)
	if err := image.Write(img, *out, tag); err != nil {
		fail(err)
	}
	digest, err := img.Digest()
	if err != nil {
		fail(err)
	}
	size := int64(0)
	layers, _ := img.Layers()
	for _, l := range layers {
		n, _ := l.Size()
		size += n
	}
	fmt.Printf("bingsan:%s %s (%.1f MB compressed) in %s/oci and %s/bingsan.tar\n", tag, digest, float64(size)/1e6, *out, *out)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "imagebuild:", err)
	os.Exit(1)
}
