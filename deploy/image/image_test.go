package image_test

import (
	"archive/tar"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/bingsan/bingsan/deploy/image"
	"github.com/bingsan/bingsan/deploy/internal/testbin"
	"github.com/bingsan/bingsan/internal/pgtest"
)

// EnvImage names the directory `make image` wrote (with oci/ and
// bingsan.tar); without it the test builds an image of its own.
const EnvImage = "BINGSAN_TEST_IMAGE"

func imageDir(t *testing.T) string {
	t.Helper()
	if d := os.Getenv(EnvImage); d != "" {
		return d
	}
	dir := t.TempDir()
	img, err := image.Build(image.Options{Binary: testbin.Bingsan(t), Version: "v0.0.0-test", Revision: "test", Created: time.Unix(1700000000, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if err := image.Write(img, dir, "v0.0.0-test"); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestImage opens the built image the way a runtime would, checks its
// configuration and files, then runs the binary taken from its layer with
// the image's environment against PostgreSQL.
func TestImage(t *testing.T) {
	t.Parallel()
	dir := imageDir(t)
	idx, err := layout.ImageIndexFromPath(filepath.Join(dir, "oci"))
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 {
		t.Fatalf("layout holds %d images, want 1", len(im.Manifests))
	}
	img, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	checks := []struct {
		what string
		ok   bool
	}{
		{"entrypoint is the binary, no shell", slices.Equal(c.Entrypoint, []string{image.BinaryPath}) && slices.Equal(c.Cmd, []string{"serve"})},
		{"non-root user", c.User == image.User},
		{"port 8181 exposed", len(c.ExposedPorts) == 1 && hasKey(c.ExposedPorts, image.Port)},
		{"data directory is a volume", len(c.Volumes) == 1 && hasKey(c.Volumes, image.DataDir)},
		{"listens on all interfaces", slices.Contains(c.Env, image.ListenEnv)},
		{"data under the volume", slices.Contains(c.Env, image.DataDirEnv)},
		{"health check runs the binary", c.Healthcheck != nil && slices.Equal(c.Healthcheck.Test, []string{"CMD", image.BinaryPath, "health"})},
		{"linux", cf.OS == "linux" && cf.Architecture != ""},
		{"OCI labels", c.Labels["org.opencontainers.image.source"] == image.SourceURL && c.Labels["org.opencontainers.image.version"] != "" && c.Labels["org.opencontainers.image.revision"] != ""},
	}
	for _, ch := range checks {
		if !ch.ok {
			t.Errorf("image config: %s does not hold: %+v", ch.what, c)
		}
	}

	// Exactly these files; in particular no shell and no package manager.
	files := extract(t, img, t.TempDir())
	want := []string{"bingsan", "etc", "etc/group", "etc/passwd", "etc/ssl", "etc/ssl/certs", "etc/ssl/certs/ca-certificates.crt", "tmp", "var", "var/lib", "var/lib/bingsan"}
	var names []string
	for n := range files.headers {
		names = append(names, strings.TrimSuffix(n, "/"))
	}
	slices.Sort(names)
	if !slices.Equal(names, want) {
		t.Errorf("image files %v, want %v", names, want)
	}
	if h := files.headers["var/lib/bingsan"]; h == nil || h.Uid != image.UID {
		t.Errorf("the data directory is not owned by the image's user: %+v", h)
	}
	if h := files.headers["bingsan"]; h == nil || h.Mode&0o111 == 0 || h.Uid != 0 {
		t.Errorf("the binary is not an executable owned by root: %+v", h)
	}
	if b, err := os.ReadFile(filepath.Join(files.root, "etc/passwd")); err != nil || !strings.Contains(string(b), ":65532:65532:") {
		t.Errorf("/etc/passwd lacks the user 65532: %q %v", b, err)
	}
	if n := countCerts(t, filepath.Join(files.root, "etc/ssl/certs/ca-certificates.crt")); n < 100 {
		t.Errorf("only %d CA certificates", n)
	}

	bin := filepath.Join(files.root, "bingsan")
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("bingsan version: %v\n%s", err, out)
	}
	for _, label := range []string{"version", "revision", "created"} {
		if v := c.Labels["org.opencontainers.image."+label]; !strings.Contains(string(out), v) {
			t.Errorf("bingsan version does not print the image's %s %q:\n%s", label, v, out)
		}
	}

	// Run it with the image's environment (only the port and the data
	// directory moved: the test has no volume at /var/lib/bingsan) on
	// PostgreSQL, its secret from a file.
	data := t.TempDir()
	port := strconv.Itoa(testbin.FreePort(t))
	var env []string
	for _, kv := range c.Env {
		switch {
		case kv == image.ListenEnv:
			kv = "BINGSAN_LISTEN=0.0.0.0:" + port
		case kv == image.DataDirEnv:
			kv = "BINGSAN_DATA_DIR=" + data
		}
		env = append(env, kv)
	}
	dsnFile := filepath.Join(t.TempDir(), "dsn")
	if err := os.WriteFile(dsnFile, []byte(pgtest.NewDatabase(t)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env = append(env, "BINGSAN_STORE_DRIVER=postgres", "BINGSAN_STORE_POSTGRES_DSN_FILE="+dsnFile, "BINGSAN_LOG_FORMAT=json")
	p := testbin.Start(t, bin, data, env, append(c.Entrypoint[1:], c.Cmd...)...)
	if host, _, _ := net.SplitHostPort(p.Addr); !net.ParseIP(host).IsUnspecified() {
		t.Errorf("the image's server listens on %s, want every interface", p.Addr)
	}
	health := exec.Command(bin, c.Healthcheck.Test[2:]...)
	health.Env = env
	if out, err := health.CombinedOutput(); err != nil {
		t.Errorf("the image's health check fails against a ready server: %v\n%s", err, out)
	}
	resp, err := http.Post(p.URL+"/v1/namespaces", "application/json", strings.NewReader(`{"namespace":["from_image"]}`))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("create namespace: %v %v", err, resp)
	}
	resp.Body.Close()
	resp, err = http.Post(p.URL+"/v1/namespaces/from_image/tables", "application/json", strings.NewReader(
		`{"name":"t","schema":{"type":"struct","schema-id":0,"fields":[{"id":1,"name":"id","required":true,"type":"long"}]}}`))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("create table: %v %v", err, resp)
	}
	resp.Body.Close()
	p.Stop(t)
	health = exec.Command(bin, c.Healthcheck.Test[2:]...)
	health.Env = env
	if err := health.Run(); err == nil {
		t.Error("the health check passes with the server stopped")
	}
}

// TestImageReproducible: the same binary and options give the same digest,
// and the docker-load tarball holds the same image as the layout.
func TestImageReproducible(t *testing.T) {
	t.Parallel()
	bin := testbin.Bingsan(t)
	opts := image.Options{Binary: bin, Version: "v1.2.3", Revision: "abc", Created: time.Unix(1700000000, 0)}
	var digests []v1.Hash
	for range 2 {
		img, err := image.Build(opts)
		if err != nil {
			t.Fatal(err)
		}
		d, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		digests = append(digests, d)
	}
	if digests[0] != digests[1] {
		t.Fatalf("two builds differ: %v", digests)
	}
	dir := t.TempDir()
	img, _ := image.Build(opts)
	if err := image.Write(img, dir, image.Tag(opts.Version)); err != nil {
		t.Fatal(err)
	}
	// docker load's format has its own manifest; config and layers are the
	// built image's.
	fromTar, err := tarball.ImageFromPath(filepath.Join(dir, "bingsan.tar"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := imageParts(t, fromTar), imageParts(t, img); !slices.Equal(got, want) {
		t.Fatalf("the tarball holds %v, the built image is %v", got, want)
	}
}

func TestBuildRefusesDynamicBinaries(t *testing.T) {
	t.Parallel()
	_, err := image.Build(image.Options{Binary: "/bin/sh", Created: time.Unix(0, 0)})
	if err == nil || !strings.Contains(err.Error(), "dynamically linked") {
		t.Fatalf("Build(/bin/sh) = %v, want a refusal of a dynamically linked binary", err)
	}
	_, err = image.Build(image.Options{Binary: "/etc/passwd", Created: time.Unix(0, 0)})
	if err == nil || !strings.Contains(err.Error(), "not a Linux executable") {
		t.Fatalf("Build(/etc/passwd) = %v", err)
	}
}

func TestTag(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"v1.2.3": "v1.2.3", "devel": "devel", "v1.2.3+dirty": "v1.2.3-dirty", "": "v", "-x": "v-x",
		"v0.0.0-20261127100000-abcdef123456": "v0.0.0-20261127100000-abcdef123456",
	} {
		if got := image.Tag(in); got != want {
			t.Errorf("Tag(%q) = %q, want %q", in, got, want)
		}
	}
}

func hasKey(m map[string]struct{}, k string) bool { _, ok := m[k]; return ok }

type files struct {
	root    string
	headers map[string]*tar.Header
}

// extract unpacks the image's flattened file system into dir.
func extract(t *testing.T, img v1.Image, dir string) files {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	fs := files{root: dir, headers: map[string]*tar.Header{}}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		fs.headers[strings.TrimSuffix(h.Name, "/")] = h
		path := filepath.Join(dir, h.Name)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(path, 0o755); err != nil {
				t.Fatal(err)
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, os.FileMode(h.Mode)&0o755|0o600)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(f, tr); err != nil {
				t.Fatal(err)
			}
			f.Close()
		default:
			t.Errorf("unexpected entry %s of type %c", h.Name, h.Typeflag)
		}
	}
	return fs
}

func countCerts(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		if _, err := x509.ParseCertificate(blk.Bytes); err != nil {
			t.Errorf("certificate %d: %v", n, err)
		}
		n++
	}
	return n
}

// TestDockerfileMatches: the Dockerfile (for users who build with Docker;
// no daemon runs here) declares what the daemonless image has.
func TestDockerfileMatches(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join(testbin.RepoRoot(t), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	df := string(b)
	for _, line := range []string{
		"FROM scratch",
		"RUN CGO_ENABLED=0 go build -trimpath",
		"COPY --from=build /out/bingsan " + image.BinaryPath,
		"COPY --from=build --chown=65532:65532 /out/var/lib/bingsan " + image.DataDir,
		"COPY --from=build /etc/ssl/certs/ca-certificates.crt " + image.CACertsPath,
		"USER " + image.User,
		"ENV " + image.ListenEnv,
		"ENV " + image.DataDirEnv,
		"WORKDIR " + image.DataDir,
		"VOLUME " + image.DataDir,
		"EXPOSE " + image.Port,
		`HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 CMD ["` + image.BinaryPath + `", "health"]`,
		`ENTRYPOINT ["` + image.BinaryPath + `"]`,
		`CMD ["serve"]`,
	} {
		if !strings.Contains(df, "\n"+line) {
			t.Errorf("Dockerfile lacks %q", line)
		}
	}
	for label := range image.Labels(image.Options{}, time.Time{}) {
		if !strings.Contains(df, label+"=") {
			t.Errorf("Dockerfile lacks the label %s", label)
		}
	}
}

// imageParts are the digests of an image's config and uncompressed layers.
func imageParts(t *testing.T, img v1.Image) []string {
	t.Helper()
	cfg, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	parts := []string{cfg.String()}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers {
		d, err := l.DiffID()
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, d.String())
	}
	return parts
}
