// Command specdiff lists what changed between two versions of an OpenAPI
// document, as the starting list of a spec upgrade: operations added,
// removed or changed (their parameters, request body and responses),
// schemas added or removed, and the fields of schemas added, removed or
// changed (type, reference, required, composition). It compares structure,
// never prose.
//
// Usage: specdiff OLD NEW
package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: specdiff OLD NEW")
		os.Exit(2)
	}
	oldDoc, err := load(os.Args[1])
	if err == nil {
		var newDoc map[string]any
		if newDoc, err = load(os.Args[2]); err == nil {
			writeDiff(os.Stdout, os.Args[1], os.Args[2], oldDoc, newDoc)
			return
		}
	}
	fmt.Fprintln(os.Stderr, "specdiff:", err)
	os.Exit(1)
}

func load(path string) (map[string]any, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return doc, nil
}

// operation is the structure of one operation that an upgrade cares about.
type operation struct {
	method, path string
	params       map[string]string // "in name" -> schema summary (+ required)
	body         string
	responses    map[string]string // status -> schema summary
}

var methods = []string{"get", "put", "post", "delete", "head", "patch", "options"}

func operations(doc map[string]any) map[string]operation {
	out := map[string]operation{}
	paths, _ := doc["paths"].(map[string]any)
	for p, v := range paths {
		item, _ := v.(map[string]any)
		shared := params(item["parameters"])
		for _, m := range methods {
			op, ok := item[m].(map[string]any)
			if !ok {
				continue
			}
			id, _ := op["operationId"].(string)
			if id == "" {
				id = strings.ToUpper(m) + " " + p
			}
			o := operation{method: strings.ToUpper(m), path: p, params: map[string]string{}, responses: map[string]string{}}
			for k, s := range shared {
				o.params[k] = s
			}
			for k, s := range params(op["parameters"]) {
				o.params[k] = s
			}
			if rb, ok := op["requestBody"].(map[string]any); ok {
				o.body = content(rb)
			}
			if rs, ok := op["responses"].(map[string]any); ok {
				for status, r := range rs {
					rm, _ := r.(map[string]any)
					if ref, ok := rm["$ref"].(string); ok {
						o.responses[status] = ref
						continue
					}
					o.responses[status] = content(rm)
				}
			}
			out[id] = o
		}
	}
	return out
}

func params(v any) map[string]string {
	out := map[string]string{}
	list, _ := v.([]any)
	for _, p := range list {
		pm, _ := p.(map[string]any)
		if ref, ok := pm["$ref"].(string); ok {
			out[ref] = "ref"
			continue
		}
		name, _ := pm["name"].(string)
		in, _ := pm["in"].(string)
		s := summary(pm["schema"])
		if req, _ := pm["required"].(bool); req {
			s += " required"
		}
		out[in+" "+name] = s
	}
	return out
}

// content summarises a request body or response by its media types'
// schemas.
func content(v map[string]any) string {
	c, _ := v["content"].(map[string]any)
	var parts []string
	for mt, m := range c {
		mm, _ := m.(map[string]any)
		parts = append(parts, mt+": "+summary(mm["schema"]))
	}
	sort.Strings(parts)
	return strings.Join(parts, "; ")
}

// summary is a one-line structural description of a schema: its $ref, its
// type (with items or nullability) or its composition.
func summary(v any) string {
	s, ok := v.(map[string]any)
	if !ok {
		return ""
	}
	if ref, ok := s["$ref"].(string); ok {
		return strings.TrimPrefix(ref, "#/components/schemas/")
	}
	for _, comp := range []string{"oneOf", "anyOf", "allOf"} {
		if list, ok := s[comp].([]any); ok {
			var parts []string
			for _, x := range list {
				parts = append(parts, summary(x))
			}
			return comp + "(" + strings.Join(parts, ", ") + ")"
		}
	}
	t := fmt.Sprint(s["type"])
	if s["type"] == nil {
		t = "any"
	}
	if items, ok := s["items"]; ok {
		t += " of " + summary(items)
	}
	if f, ok := s["format"].(string); ok {
		t += " (" + f + ")"
	}
	if e, ok := s["enum"].([]any); ok {
		t += fmt.Sprintf(" enum%v", e)
	}
	if n, _ := s["nullable"].(bool); n {
		t += " nullable"
	}
	return t
}

// fields is the shape of one schema: its properties' summaries, what is
// required, and its composition.
func fields(s map[string]any) map[string]string {
	out := map[string]string{}
	required := map[string]bool{}
	if r, ok := s["required"].([]any); ok {
		for _, x := range r {
			required[fmt.Sprint(x)] = true
		}
	}
	if props, ok := s["properties"].(map[string]any); ok {
		for name, p := range props {
			v := summary(p)
			if required[name] {
				v += " required"
			}
			out[name] = v
		}
	}
	for _, comp := range []string{"oneOf", "anyOf", "allOf"} {
		if list, ok := s[comp].([]any); ok {
			for i, x := range list {
				if xm, ok := x.(map[string]any); ok && xm["$ref"] == nil {
					for k, v := range fields(xm) {
						out[k] = v
					}
					continue
				}
				out[fmt.Sprintf("(%s %d)", comp, i)] = summary(x)
			}
		}
	}
	if _, ok := s["properties"]; !ok && len(out) == 0 {
		out["(type)"] = summary(s)
	}
	return out
}

func schemas(doc map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	comps, _ := doc["components"].(map[string]any)
	all, _ := comps["schemas"].(map[string]any)
	for name, s := range all {
		if sm, ok := s.(map[string]any); ok {
			out[name] = sm
		}
	}
	return out
}

func writeDiff(w io.Writer, oldName, newName string, oldDoc, newDoc map[string]any) {
	fmt.Fprintf(w, "# %s -> %s\n\n## Operations\n\n", oldName, newName)
	oldOps, newOps := operations(oldDoc), operations(newDoc)
	changes := 0
	for _, id := range sortedKeys(newOps, oldOps) {
		o, inOld := oldOps[id]
		n, inNew := newOps[id]
		switch {
		case !inOld:
			fmt.Fprintf(w, "- added `%s`: %s %s\n", id, n.method, n.path)
		case !inNew:
			fmt.Fprintf(w, "- removed `%s`: %s %s\n", id, o.method, o.path)
		default:
			var what []string
			if o.method != n.method || o.path != n.path {
				what = append(what, fmt.Sprintf("route %s %s -> %s %s", o.method, o.path, n.method, n.path))
			}
			what = append(what, mapChanges("parameter", o.params, n.params)...)
			if o.body != n.body {
				what = append(what, fmt.Sprintf("request body %q -> %q", o.body, n.body))
			}
			what = append(what, mapChanges("response", o.responses, n.responses)...)
			if len(what) == 0 {
				continue
			}
			fmt.Fprintf(w, "- changed `%s`:\n", id)
			for _, x := range what {
				fmt.Fprintf(w, "  - %s\n", x)
			}
		}
		changes++
	}
	if changes == 0 {
		fmt.Fprintln(w, "(none)")
	}

	fmt.Fprintf(w, "\n## Schemas\n\n")
	oldS, newS := schemas(oldDoc), schemas(newDoc)
	changes = 0
	for _, name := range sortedKeys(newS, oldS) {
		o, inOld := oldS[name]
		n, inNew := newS[name]
		switch {
		case !inOld:
			fmt.Fprintf(w, "- added `%s`: %s\n", name, strings.Join(describe(fields(n)), ", "))
		case !inNew:
			fmt.Fprintf(w, "- removed `%s`\n", name)
		default:
			what := mapChanges("field", fields(o), fields(n))
			if len(what) == 0 {
				continue
			}
			fmt.Fprintf(w, "- changed `%s`:\n", name)
			for _, x := range what {
				fmt.Fprintf(w, "  - %s\n", x)
			}
		}
		changes++
	}
	if changes == 0 {
		fmt.Fprintln(w, "(none)")
	}
}

func describe(f map[string]string) []string {
	var out []string
	for _, k := range slices.Sorted(mapKeys(f)) {
		out = append(out, k+" "+f[k])
	}
	return out
}

func mapChanges(what string, o, n map[string]string) []string {
	var out []string
	for _, k := range sortedKeys(n, o) {
		ov, inOld := o[k]
		nv, inNew := n[k]
		switch {
		case !inOld:
			out = append(out, fmt.Sprintf("added %s `%s`: %s", what, k, nv))
		case !inNew:
			out = append(out, fmt.Sprintf("removed %s `%s` (was %s)", what, k, ov))
		case ov != nv:
			out = append(out, fmt.Sprintf("changed %s `%s`: %s -> %s", what, k, ov, nv))
		}
	}
	return out
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func sortedKeys[V any](a, b map[string]V) []string {
	set := map[string]bool{}
	for k := range a {
		set[k] = true
	}
	for k := range b {
		set[k] = true
	}
	return slices.Sorted(mapKeys(set))
}
