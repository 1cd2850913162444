// Command preprocess turns the pinned upstream spec into the document that
// oapi-codegen loads. It does only what an overlay cannot do, because
// overlays are applied after the document has been loaded and the upstream
// text does not load as is:
//
//   - response headers that $ref a parameter (#/components/parameters/etag)
//     are repointed at an equivalent entry under components/headers;
//   - prose (description, summary) and comments are dropped, so no upstream
//     text reaches generated code.
//
// Usage: preprocess IN OUT
package main

import (
	"bytes"
	"fmt"
	"os"

	"gopkg.in/yaml.v3"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: preprocess IN OUT")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "preprocess:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	src, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	root := doc.Content[0]
	if err := moveParameterHeaders(root); err != nil {
		return err
	}
	stripProse(root)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return err
	}
	return os.WriteFile(out, buf.Bytes(), 0o644)
}

// moveParameterHeaders finds response headers whose $ref points at
// components/parameters/X and points them at components/headers/X instead,
// creating that header from the parameter's schema.
func moveParameterHeaders(root *yaml.Node) error {
	components := mapValue(root, "components")
	if components == nil {
		return fmt.Errorf("spec has no components")
	}
	params := mapValue(components, "parameters")
	const prefix = "#/components/parameters/"
	var moved []string
	walk(root, func(n *yaml.Node) {
		headers := mapValue(n, "headers")
		if headers == nil || headers.Kind != yaml.MappingNode {
			return
		}
		for i := 1; i < len(headers.Content); i += 2 {
			ref := mapValue(headers.Content[i], "$ref")
			if ref == nil || len(ref.Value) <= len(prefix) || ref.Value[:len(prefix)] != prefix {
				continue
			}
			name := ref.Value[len(prefix):]
			ref.Value = "#/components/headers/" + name
			moved = append(moved, name)
		}
	})
	if len(moved) == 0 {
		return nil
	}
	headers := mapValue(components, "headers")
	if headers == nil {
		headers = &yaml.Node{Kind: yaml.MappingNode}
		components.Content = append(components.Content, scalar("headers"), headers)
	}
	for _, name := range moved {
		if mapValue(headers, name) != nil {
			continue
		}
		param := mapValue(params, name)
		if param == nil {
			return fmt.Errorf("header $ref to missing parameter %q", name)
		}
		header := &yaml.Node{Kind: yaml.MappingNode}
		for _, key := range []string{"required", "schema"} {
			if v := mapValue(param, key); v != nil {
				header.Content = append(header.Content, scalar(key), v)
			}
		}
		headers.Content = append(headers.Content, scalar(name), header)
	}
	return nil
}

// stripProse removes description and summary entries whose value is text
// (a property that happens to be named "description" has a mapping value and
// stays), and every comment.
func stripProse(n *yaml.Node) {
	n.HeadComment, n.LineComment, n.FootComment = "", "", ""
	if n.Kind == yaml.MappingNode {
		kept := n.Content[:0]
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if (k.Value == "description" || k.Value == "summary") && v.Kind == yaml.ScalarNode {
				continue
			}
			kept = append(kept, k, v)
		}
		n.Content = kept
	}
	for _, c := range n.Content {
		stripProse(c)
	}
}

func walk(n *yaml.Node, visit func(*yaml.Node)) {
	visit(n)
	for _, c := range n.Content {
		walk(c, visit)
	}
}

func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func scalar(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v} }
