// Package docs_test checks the documentation: every relative link in the
// README, CHANGELOG, docs/ and the deploy READMEs resolves to a file (and,
// with a #fragment into markdown, to a heading), and every `make` target
// they name in code exists in the Makefile.
package docs_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/bingsan/bingsan/deploy/internal/testbin"
)

func markdownFiles(t *testing.T, root string) []string {
	t.Helper()
	files := []string{filepath.Join(root, "README.md"), filepath.Join(root, "CHANGELOG.md")}
	for _, pattern := range []string{"docs/*.md", "deploy/*/README.md", "deploy/*/*/README.md"} {
		m, err := filepath.Glob(filepath.Join(root, pattern))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	return files
}

var (
	link      = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	fence     = regexp.MustCompile("(?s)```.*?```")
	codeSpan  = regexp.MustCompile("`[^`\n]+`")
	makeCall  = regexp.MustCompile(`(?:^|[\s;&(|$])make +((?:[A-Z_]+=\S+ +)*)([a-z][a-z0-9-]*)`)
	heading   = regexp.MustCompile(`(?m)^#{1,6} +(.+?) *$`)
	nonAnchor = regexp.MustCompile(`[^\p{L}\p{N} _-]`)
)

// anchor is GitHub's id for a heading.
func anchor(h string) string {
	h = strings.ToLower(strings.NewReplacer("`", "", "*", "").Replace(h))
	return strings.ReplaceAll(nonAnchor.ReplaceAllString(h, ""), " ", "-")
}

func anchors(t *testing.T, path string) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, m := range heading.FindAllStringSubmatch(fence.ReplaceAllString(string(b), ""), -1) {
		out[anchor(m[1])] = true
	}
	return out
}

func TestRelativeLinks(t *testing.T) {
	t.Parallel()
	root := testbin.RepoRoot(t)
	checked := 0
	for _, file := range markdownFiles(t, root) {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, file)
		text := fence.ReplaceAllString(string(b), "")
		for _, m := range link.FindAllStringSubmatch(text, -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			path, frag, _ := strings.Cut(target, "#")
			dest := file
			if path != "" {
				dest = filepath.Join(filepath.Dir(file), path)
				if _, err := os.Stat(dest); err != nil {
					t.Errorf("%s: link %s: %v", rel, target, err)
					continue
				}
			}
			if frag != "" && strings.HasSuffix(dest, ".md") && !anchors(t, dest)[frag] {
				t.Errorf("%s: link %s: no heading #%s in %s", rel, target, frag, filepath.Base(dest))
			}
			checked++
		}
	}
	if checked < 30 {
		t.Errorf("only %d relative links checked", checked)
	}
}

func TestMakeTargets(t *testing.T) {
	t.Parallel()
	root := testbin.RepoRoot(t)
	b, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	targets := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^([a-z][a-z0-9-]*):`).FindAllStringSubmatch(string(b), -1) {
		targets[m[1]] = true
	}
	named := 0
	for _, file := range markdownFiles(t, root) {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, file)
		code := strings.Join(append(fence.FindAllString(string(b), -1), codeSpan.FindAllString(string(b), -1)...), "\n")
		for _, m := range makeCall.FindAllStringSubmatch(code, -1) {
			named++
			if !targets[m[2]] {
				t.Errorf("%s names `make %s`, which the Makefile does not define", rel, m[2])
			}
		}
	}
	if named < 5 {
		t.Errorf("only %d make targets named in the docs", named)
	}
}
