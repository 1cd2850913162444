// Package image builds Bingsan's container image without a container
// daemon: an empty base, one layer with the files a static Go program needs
// (CA certificates, a passwd entry for the non-root user, a data directory
// it owns) and one with the binary. Every timestamp is the given creation
// time and every tar header is written the same way each time, so the same
// binary and options give the same image digest.
package image

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/crypto/x509roots/fallback/bundle"
)

// What the image looks like; the Dockerfile builds the same.
const (
	BinaryPath   = "/bingsan"
	DataDir      = "/var/lib/bingsan"
	CACertsPath  = "/etc/ssl/certs/ca-certificates.crt"
	UID          = 65532
	User         = "65532:65532"
	Port         = "8181/tcp"
	ListenEnv    = "BINGSAN_LISTEN=0.0.0.0:8181"
	DataDirEnv   = "BINGSAN_DATA_DIR=" + DataDir
	SourceURL    = "https://github.com/bingsan/bingsan"
	userName     = "bingsan"
	layerComment = "bingsan image builder"
)

// Options describe one image.
type Options struct {
	Binary   string    // a statically linked Linux executable of cmd/bingsan
	Version  string    // org.opencontainers.image.version, and the tag
	Revision string    // the VCS commit
	Created  time.Time // image and file times (make: the commit's time)
}

// Build assembles the image.
func Build(o Options) (v1.Image, error) {
	bin, err := os.ReadFile(o.Binary)
	if err != nil {
		return nil, err
	}
	arch, err := staticArch(o.Binary)
	if err != nil {
		return nil, err
	}
	created := o.Created.UTC().Truncate(time.Second)
	base, err := baseLayer(created)
	if err != nil {
		return nil, err
	}
	binLayer, err := layer(created, []entry{{name: BinaryPath, mode: 0o755, data: bin}})
	if err != nil {
		return nil, err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img,
		mutate.Addendum{Layer: base, MediaType: types.OCILayer, History: v1.History{Created: v1.Time{Time: created}, CreatedBy: layerComment + ": CA certificates, user " + userName + ", " + DataDir, Comment: "base"}},
		mutate.Addendum{Layer: binLayer, MediaType: types.OCILayer, History: v1.History{Created: v1.Time{Time: created}, CreatedBy: layerComment + ": " + BinaryPath, Comment: "binary"}},
	)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Architecture, cf.OS = arch, "linux"
	cf.Created = v1.Time{Time: created}
	cf.Config = v1.Config{
		Entrypoint:   []string{BinaryPath},
		Cmd:          []string{"serve"},
		User:         User,
		WorkingDir:   DataDir,
		Env:          []string{ListenEnv, DataDirEnv},
		ExposedPorts: map[string]struct{}{Port: {}},
		Volumes:      map[string]struct{}{DataDir: {}},
		StopSignal:   "SIGTERM",
		Healthcheck: &v1.HealthConfig{
			Test:        []string{"CMD", BinaryPath, "health"},
			Interval:    10 * time.Second,
			Timeout:     5 * time.Second,
			StartPeriod: 10 * time.Second,
			Retries:     3,
		},
		Labels: Labels(o, created),
	}
	return mutate.ConfigFile(img, cf)
}

// Labels are the image's OCI annotations, as labels.
func Labels(o Options, created time.Time) map[string]string {
	return map[string]string{
		"org.opencontainers.image.title":         "bingsan",
		"org.opencontainers.image.description":   "Apache Iceberg REST catalog server",
		"org.opencontainers.image.version":       o.Version,
		"org.opencontainers.image.revision":      o.Revision,
		"org.opencontainers.image.created":       created.UTC().Format(time.RFC3339),
		"org.opencontainers.image.source":        SourceURL,
		"org.opencontainers.image.documentation": SourceURL + "/tree/main/docs",
	}
}

// Tag is version made into a valid image tag.
func Tag(version string) string {
	t := regexp.MustCompile(`[^A-Za-z0-9_.-]`).ReplaceAllString(version, "-")
	if t == "" || t[0] == '.' || t[0] == '-' {
		t = "v" + t
	}
	if len(t) > 128 {
		t = t[:128]
	}
	return t
}

// Write stores img under dir as an OCI image layout (dir/oci, for
// skopeo, crane, podman and registries) and as a tarball that `docker load`
// reads (dir/bingsan.tar), both named bingsan:<tag>.
func Write(img v1.Image, dir, tag string) error {
	ociDir := filepath.Join(dir, "oci")
	if err := os.RemoveAll(ociDir); err != nil {
		return err
	}
	p, err := layout.Write(ociDir, empty.Index)
	if err != nil {
		return err
	}
	ref := "bingsan:" + tag
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": tag,
		"io.containerd.image.name":          "docker.io/library/" + ref,
	})); err != nil {
		return err
	}
	named, err := name.NewTag(ref)
	if err != nil {
		return err
	}
	return tarball.WriteToFile(filepath.Join(dir, "bingsan.tar"), named, img)
}

// staticArch checks that path is a statically linked Linux executable (the
// image has no libc or dynamic loader) and returns its GOARCH.
func staticArch(path string) (string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return "", fmt.Errorf("%s is not a Linux executable: %w", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return "", fmt.Errorf("%s is dynamically linked; build it with CGO_ENABLED=0", path)
		}
	}
	switch f.Machine {
	case elf.EM_X86_64:
		return "amd64", nil
	case elf.EM_AARCH64:
		return "arm64", nil
	}
	return "", fmt.Errorf("%s: unsupported machine %v", path, f.Machine)
}

// entry is one file or directory of a layer.
type entry struct {
	name     string
	mode     int64
	dir      bool
	uid, gid int
	data     []byte
}

func baseLayer(created time.Time) (v1.Layer, error) {
	certs, err := caBundle()
	if err != nil {
		return nil, err
	}
	return layer(created, []entry{
		{name: "/etc", mode: 0o755, dir: true},
		{name: "/etc/passwd", mode: 0o644, data: []byte(fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\n%s:x:%d:%d:%s:%s:/sbin/nologin\n", userName, UID, UID, userName, DataDir))},
		{name: "/etc/group", mode: 0o644, data: []byte(fmt.Sprintf("root:x:0:\n%s:x:%d:\n", userName, UID))},
		{name: "/etc/ssl", mode: 0o755, dir: true},
		{name: "/etc/ssl/certs", mode: 0o755, dir: true},
		{name: CACertsPath, mode: 0o644, data: certs},
		{name: "/tmp", mode: 0o1777, dir: true},
		{name: "/var", mode: 0o755, dir: true},
		{name: "/var/lib", mode: 0o755, dir: true},
		{name: DataDir, mode: 0o755, dir: true, uid: UID, gid: UID},
	})
}

// caBundle is Mozilla's root store as pinned in go.mod
// (golang.org/x/crypto/x509roots/fallback), as PEM: the image's trust does
// not depend on the machine that builds it. Roots with a distrust-after
// date are left out, since a PEM file cannot carry that constraint.
func caBundle() ([]byte, error) {
	var buf bytes.Buffer
	n := 0
	for r := range bundle.Roots() {
		if r.Constraint != nil {
			continue
		}
		if err := pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: r.Certificate}); err != nil {
			return nil, err
		}
		n++
	}
	if n == 0 {
		return nil, errors.New("no CA certificates in the pinned bundle")
	}
	return buf.Bytes(), nil
}

// layer writes entries, sorted by name, as an uncompressed tar with fixed
// times and owners, and wraps it as a layer.
func layer(created time.Time, entries []entry) (v1.Layer, error) {
	sort.Slice(entries, func(i, j int) bool { return entries[i].name < entries[j].name })
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{
			Name:    e.name[1:],
			Mode:    e.mode,
			Uid:     e.uid,
			Gid:     e.gid,
			ModTime: created,
			Format:  tar.FormatPAX,
		}
		if e.dir {
			h.Typeflag, h.Name = tar.TypeDir, h.Name+"/"
		} else {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(e.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(types.OCILayer))
}
