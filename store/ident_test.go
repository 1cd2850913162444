package store_test

import (
	"strings"
	"testing"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/store"
)

func TestIdentifierRules(t *testing.T) {
	t.Parallel()
	long := func(n int) string { return strings.Repeat("x", n) }
	ok := [][]string{{"a"}, {"a.b", "c d"}, {"ünï", "日本"}, {long(200)}, make16("l")}
	for _, levels := range ok {
		if err := store.CheckNamespace(levels); err != nil {
			t.Errorf("CheckNamespace(%.40q): %v", levels, err)
		}
	}
	bad := map[string][]string{
		"none": nil, "empty level": {"a", ""}, "NUL": {"a\x00b"}, "separator": {"a\x1fb"}, "newline": {"a\nb"},
		"DEL": {"a\x7f"}, "C1 control": {"a\u0085"}, "invalid UTF-8": {"\xff\xfe"}, "long level": {long(201)},
		"too deep": append(make16("l"), "l"), "too long in all": {long(200), long(200), long(200), long(200), long(200), long(200)},
	}
	for name, levels := range bad {
		if err := store.CheckNamespace(levels); !errs.Is(err, errs.BadRequest) {
			t.Errorf("%s: %v, want BadRequest", name, err)
		}
	}
	for _, name := range []string{"", "a\x00", "\xc3", long(201), "tab\there"} {
		if err := store.CheckName("Table", name); !errs.Is(err, errs.BadRequest) {
			t.Errorf("CheckName(%.20q): %v", name, err)
		}
	}
	if err := store.CheckProperties(map[string]string{"comment": "line one\nline two"}); err != nil {
		t.Errorf("a line break in a value: %v", err)
	}
	for name, props := range map[string]map[string]string{
		"NUL in a value": {"k": "a\x00"}, "invalid value": {"k": "\xff"}, "newline in a key": {"a\nb": "v"}, "empty key": {"": "v"},
	} {
		if err := store.CheckProperties(props); !errs.Is(err, errs.BadRequest) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A message never carries a hostile value whole.
	err := store.CheckName("Table", long(1<<20))
	if len(err.Error()) > 200 {
		t.Errorf("message of %d bytes", len(err.Error()))
	}
}

func make16(l string) []string {
	out := make([]string, 16)
	for i := range out {
		out[i] = l
	}
	return out
}

// Distinct identifiers never share an in-memory key, whatever bytes their
// parts hold (those that would split or join differently above all).
func TestIdentKeyInjective(t *testing.T) {
	t.Parallel()
	ids := []store.Ident{
		{Warehouse: "w", Namespace: []string{"x\x00y"}, Name: "z"},
		{Warehouse: "w", Namespace: []string{"x"}, Name: "y\x00z"},
		{Warehouse: "w", Namespace: []string{"x", "y"}, Name: "z"},
		{Warehouse: "w", Namespace: []string{"x\x1fy"}, Name: "z"},
		{Warehouse: "w\x00x", Namespace: []string{"y"}, Name: "z"},
		{Warehouse: "w", Namespace: []string{"x\x00y", "z"}, Name: ""},
		{Warehouse: "w", Namespace: []string{"1:x"}, Name: "z"},
		{Warehouse: "w", Namespace: []string{"1:x", ""}, Name: "z"},
		{Warehouse: "w1", Namespace: []string{":x"}, Name: "z"},
		{Warehouse: "w", Namespace: nil, Name: "1;1:x1:z"},
	}
	seen := map[string]int{}
	for i, id := range ids {
		k := store.IdentKey(id)
		if j, dup := seen[k]; dup {
			t.Errorf("%q and %q share the key %q", ids[j], id, k)
		}
		seen[k] = i
	}
}
