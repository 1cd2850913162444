package planning

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/apache/iceberg-go"

	"github.com/bingsan/bingsan/errs"
)

func filterSchema() *iceberg.Schema {
	return iceberg.NewSchema(0,
		iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64, Required: true},
		iceberg.NestedField{ID: 2, Name: "Name", Type: iceberg.PrimitiveTypes.String},
		iceberg.NestedField{ID: 3, Name: "ts", Type: iceberg.PrimitiveTypes.TimestampTz},
		iceberg.NestedField{ID: 4, Name: "amount", Type: iceberg.DecimalTypeOf(9, 2)},
		iceberg.NestedField{ID: 5, Name: "day", Type: iceberg.PrimitiveTypes.Date},
		iceberg.NestedField{ID: 6, Name: "blob", Type: iceberg.PrimitiveTypes.Binary},
		iceberg.NestedField{ID: 7, Name: "u", Type: iceberg.PrimitiveTypes.UUID},
		iceberg.NestedField{ID: 8, Name: "info", Type: &iceberg.StructType{FieldList: []iceberg.NestedField{
			{ID: 9, Name: "Tag", Type: iceberg.PrimitiveTypes.String},
		}}},
		iceberg.NestedField{ID: 10, Name: "ratio", Type: iceberg.PrimitiveTypes.Float32},
		iceberg.NestedField{ID: 11, Name: "flag", Type: iceberg.PrimitiveTypes.Bool},
	)
}

// The filters Java 1.11 and iceberg-go v0.7.0 clients send, and the spec's
// own forms, decode to the expression they mean.
func TestDecodeFilter(t *testing.T) {
	sc := filterSchema()
	cases := []struct {
		name      string
		doc       string
		sensitive bool
		want      string // the bound expression's String()
	}{
		{"eq long", `{"type":"eq","term":"id","value":9007199254740993}`, true, "BoundEqual(term=BoundReference(field=1: id: required long, accessor=Accessor(position=0, inner=<nil>)), literal=9007199254740993)"},
		{"bare true", `true`, true, "AlwaysTrue()"},
		{"bare false", `false`, true, "AlwaysFalse()"},
		{"spec true", `{"type":"true"}`, true, "AlwaysTrue()"},
		{"spec false inside not", `{"type":"not","child":{"type":"false"}}`, true, "AlwaysTrue()"},
		{"literal true", `{"type":"literal","value":true}`, true, "AlwaysTrue()"},
		{"and/or", `{"type":"and","left":{"type":"lt","term":"id","value":5},"right":{"type":"or","left":{"type":"is-null","term":"Name"},"right":{"type":"true"}}}`, true, ""},
		{"in", `{"type":"in","term":"id","values":[1,2,3]}`, true, ""},
		{"not-in", `{"type":"not-in","term":"Name","values":["a","b"]}`, true, ""},
		{"starts-with", `{"type":"starts-with","term":"Name","value":"ab"}`, true, ""},
		{"not-starts-with", `{"type":"not-starts-with","term":"Name","value":"ab"}`, true, ""},
		{"timestamptz", `{"type":"gt-eq","term":"ts","value":"2024-01-02T03:04:05.123456+00:00"}`, true, ""},
		{"decimal", `{"type":"gt","term":"amount","value":"12.30"}`, true, ""},
		{"date", `{"type":"eq","term":"day","value":"2024-02-29"}`, true, ""},
		{"binary hex", `{"type":"eq","term":"blob","value":"00FF10"}`, true, ""},
		{"uuid", `{"type":"eq","term":"u","value":"f79c3e09-677c-4bbd-a479-3f349cb785e7"}`, true, ""},
		{"nested", `{"type":"eq","term":"info.Tag","value":"x"}`, true, ""},
		{"nan", `{"type":"is-nan","term":"ratio"}`, true, ""},
		{"boolean", `{"type":"eq","term":"flag","value":true}`, true, ""},
		{"transform term", `{"type":"eq","term":{"type":"transform","transform":"bucket[16]","term":"id"},"value":3}`, true, ""},
		{"reference object", `{"type":"not-null","term":{"type":"reference","term":"Name"}}`, true, ""},
		{"case insensitive", `{"type":"eq","term":"NAME","value":"x"}`, false, ""},
		{"case insensitive nested", `{"type":"eq","term":"INFO.tag","value":"x"}`, false, ""},
		{"case insensitive transform", `{"type":"eq","term":{"type":"transform","transform":"identity","term":"ID"},"value":3}`, false, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			expr, err := decodeFilter(json.RawMessage(c.doc), sc, c.sensitive)
			if err != nil {
				t.Fatalf("decodeFilter: %v", err)
			}
			bound, err := iceberg.BindExpr(sc, expr, c.sensitive)
			if err != nil {
				t.Fatalf("bind: %v", err)
			}
			if c.want != "" && bound.String() != c.want {
				t.Fatalf("got %s, want %s", bound, c.want)
			}
		})
	}
}

// Bad filters are BadRequest and the message shows the document.
func TestDecodeFilterErrors(t *testing.T) {
	sc := filterSchema()
	cases := []struct {
		name, doc, mention string
		sensitive          bool
	}{
		{"unknown type", `{"type":"like","term":"Name","value":"a%"}`, "like", true},
		{"unknown field", `{"type":"eq","term":"nope","value":1}`, "nope", true},
		{"wrong case", `{"type":"eq","term":"name","value":"x"}`, "name", true},
		{"unknown field, any case", `{"type":"eq","term":"nope","value":1}`, "nope", false},
		{"missing value", `{"type":"eq","term":"id"}`, "eq", true},
		{"value for unary", `{"type":"is-null","term":"id","value":1}`, "is-null", true},
		{"values missing", `{"type":"in","term":"id"}`, "in", true},
		{"wrong literal", `{"type":"eq","term":"id","value":"seven"}`, "seven", true},
		{"bad hex", `{"type":"eq","term":"blob","value":"zz"}`, "zz", true},
		{"not an object", `[1,2]`, "[1,2]", true},
		{"number", `7`, "7", true},
		{"type not a string", `{"type":1}`, `{"type":1}`, true},
		{"true with fields", `{"type":"true","left":true}`, "true", true},
		{"nested bad child", `{"type":"and","left":{"type":"eq","term":"id","value":1},"right":{"type":"eq"}}`, "and", true},
		{"unknown transform", `{"type":"eq","term":{"type":"transform","transform":"zorder","term":"id"},"value":1}`, "zorder", true},
		{"string vs struct", `{"type":"eq","term":"info","value":"x"}`, "info", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := decodeFilter(json.RawMessage(c.doc), sc, c.sensitive)
			if !errs.Is(err, errs.BadRequest) {
				t.Fatalf("got %v, want BadRequest", err)
			}
			if msg := err.Error(); !strings.Contains(msg, "Invalid filter expression") || !strings.Contains(msg, c.mention) {
				t.Fatalf("message %q does not name %q", msg, c.mention)
			}
		})
	}
	long := `{"type":"eq","term":"` + strings.Repeat("é", 500) + `","value":1}`
	_, err := decodeFilter(json.RawMessage(long), sc, true)
	if err == nil || len(err.Error()) > 1000 || !strings.Contains(err.Error(), "…") {
		t.Fatalf("long document: %v", err)
	}
}

// Residuals are written in the spec's form: constants as objects, the rest
// as iceberg-go writes them, and they read back as the same expression.
func TestEncodeResidual(t *testing.T) {
	sc := filterSchema()
	bind := func(e iceberg.BooleanExpression) iceberg.BooleanExpression {
		b, err := iceberg.BindExpr(sc, e, true)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cases := []struct {
		expr iceberg.BooleanExpression // unbound; encoded bound, as planning does
		want string
	}{
		{iceberg.AlwaysTrue{}, `{"type":"true"}`},
		{iceberg.AlwaysFalse{}, `{"type":"false"}`},
		{iceberg.EqualTo(iceberg.Reference("id"), int64(9007199254740993)), `{"type":"eq","term":"id","value":9007199254740993}`},
		{iceberg.NewNot(iceberg.IsNull(iceberg.Reference("Name"))), `{"child":{"type":"is-null","term":"Name"},"type":"not"}`},
	}
	for _, c := range cases {
		got, err := encodeResidual(bind(c.expr))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != c.want {
			t.Errorf("%s: got %s, want %s", c.expr, got, c.want)
		}
		back, err := decodeFilter(got, sc, true)
		if err != nil {
			t.Fatalf("%s does not read back: %v", got, err)
		}
		if !bind(back).Equals(bind(c.expr)) {
			t.Errorf("%s reads back as %s", got, back)
		}
	}
	// A constant below a connective (iceberg-go simplifies them away, but
	// the encoding must not depend on it).
	got, err := constantObjects(json.RawMessage(`{"type":"not","child":true}`))
	if err != nil || string(got) != `{"child":{"type":"true"},"type":"not"}` {
		t.Fatalf("nested constant: %s %v", got, err)
	}
}

// A filter written in the post-1.11 form (Predicate, Reference, Apply,
// Literal) means exactly what its 1.11 twin means: both bind to the same
// expression.
func TestDecodeFilterBothForms(t *testing.T) {
	sc := filterSchema()
	cases := []struct {
		name, old, new string
		sensitive      bool
	}{
		{"eq named", `{"type":"eq","term":"id","value":5}`,
			`{"type":"eq","left":{"type":"reference","name":"id"},"right":5}`, true},
		{"eq by id", `{"type":"eq","term":"Name","value":"x"}`,
			`{"type":"eq","left":{"type":"reference","id":2},"right":{"type":"literal","value":"x"}}`, true},
		{"typed literal", `{"type":"lt","term":"amount","value":"12.30"}`,
			`{"type":"lt","left":{"type":"reference","name":"amount"},"right":{"type":"literal","value":"12.30","data-type":"decimal(9,2)"}}`, true},
		{"literal on the left", `{"type":"gt","term":"id","value":3}`,
			`{"type":"lt","left":3,"right":{"type":"reference","name":"id"}}`, true},
		{"literal on the left, lt-eq", `{"type":"gt-eq","term":"id","value":3}`,
			`{"type":"lt-eq","left":{"type":"literal","value":3},"right":{"type":"reference","name":"id"}}`, true},
		{"unary child", `{"type":"is-null","term":"Name"}`,
			`{"type":"is-null","child":{"type":"reference","name":"Name"}}`, true},
		{"nan by id", `{"type":"not-nan","term":"ratio"}`,
			`{"type":"not-nan","child":{"type":"reference","id":10}}`, true},
		{"set", `{"type":"in","term":"id","values":[1,2,3]}`,
			`{"type":"in","child":{"type":"reference","name":"id"},"values":[1,{"type":"literal","value":2},3]}`, true},
		{"typed set", `{"type":"not-in","term":"Name","values":["a","b"]}`,
			`{"type":"not-in","child":{"type":"reference","name":"Name"},"values":{"type":"literals","values":["a","b"],"data-type":"string"}}`, true},
		{"deprecated term with literal object", `{"type":"eq","term":"id","value":7}`,
			`{"type":"eq","term":"id","value":{"type":"literal","value":7}}`, true},
		{"apply bucket", `{"type":"eq","term":{"type":"transform","transform":"bucket[16]","term":"id"},"value":3}`,
			`{"type":"eq","left":{"type":"apply","function":"bucket","arguments":[16,{"type":"reference","name":"id"}]},"right":3}`, true},
		{"apply truncate, width last", `{"type":"eq","term":{"type":"transform","transform":"truncate[4]","term":"Name"},"value":"abcd"}`,
			`{"type":"eq","left":{"type":"apply","function":"truncate","arguments":[{"type":"reference","name":"Name"},{"type":"literal","value":4}]},"right":"abcd"}`, true},
		{"apply day", `{"type":"eq","term":{"type":"transform","transform":"day","term":"ts"},"value":19000}`,
			`{"type":"eq","left":{"type":"apply","function":"day","arguments":[{"type":"reference","id":3}]},"right":19000}`, true},
		{"nested and/or/not, bare booleans", `{"type":"and","left":{"type":"not","child":{"type":"is-null","term":"Name"}},"right":{"type":"or","left":{"type":"lt","term":"id","value":5},"right":{"type":"false"}}}`,
			`{"type":"and","left":{"type":"not","child":{"type":"is-null","child":{"type":"reference","name":"Name"}}},"right":{"type":"or","left":{"type":"lt","left":{"type":"reference","name":"id"},"right":5},"right":false}}`, true},
		{"case insensitive", `{"type":"eq","term":"NAME","value":"x"}`,
			`{"type":"eq","left":{"type":"reference","name":"NAME"},"right":"x"}`, false},
		{"case insensitive nested", `{"type":"eq","term":"INFO.tag","value":"x"}`,
			`{"type":"eq","left":{"type":"reference","name":"INFO.tag"},"right":"x"}`, false},
	}
	// The comparison below can fail: different filters are not Equal.
	a, _ := decodeFilter(json.RawMessage(`{"type":"eq","left":{"type":"reference","name":"id"},"right":5}`), sc, true)
	b, _ := decodeFilter(json.RawMessage(`{"type":"eq","term":"id","value":6}`), sc, true)
	ab, _ := iceberg.BindExpr(sc, a, true)
	bb, _ := iceberg.BindExpr(sc, b, true)
	if ab == nil || bb == nil || ab.Equals(bb) {
		t.Fatal("eq 5 and eq 6 compare equal")
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bind := func(doc string) iceberg.BooleanExpression {
				t.Helper()
				expr, err := decodeFilter(json.RawMessage(doc), sc, c.sensitive)
				if err != nil {
					t.Fatalf("decodeFilter(%s): %v", doc, err)
				}
				bound, err := iceberg.BindExpr(sc, expr, c.sensitive)
				if err != nil {
					t.Fatalf("bind %s: %v", doc, err)
				}
				return bound
			}
			oldExpr, newExpr := bind(c.old), bind(c.new)
			if !oldExpr.Equals(newExpr) {
				t.Fatalf("1.11 form binds to %s, new form to %s", oldExpr, newExpr)
			}
		})
	}
}

// Post-1.11 filters that mean nothing Bingsan can evaluate are BadRequest
// naming the document, like 1.11 ones.
func TestDecodeFilterNewFormErrors(t *testing.T) {
	sc := filterSchema()
	cases := []struct{ name, doc, mention string }{
		{"unknown field id", `{"type":"eq","left":{"type":"reference","id":99},"right":1}`, "99"},
		{"name and id", `{"type":"eq","left":{"type":"reference","name":"id","id":1},"right":1}`, "reference"},
		{"no column", `{"type":"eq","left":1,"right":2}`, "eq"},
		{"left without right", `{"type":"eq","left":{"type":"reference","name":"id"}}`, "eq"},
		{"child and term", `{"type":"is-null","child":{"type":"reference","name":"id"},"term":"id"}`, "is-null"},
		{"starts-with flipped", `{"type":"starts-with","left":"a","right":{"type":"reference","name":"Name"}}`, "starts-with"},
		{"catalog function", `{"type":"eq","left":{"type":"apply","function":["ns","f"],"arguments":[{"type":"reference","name":"id"}]},"right":1}`, "apply"},
		{"unknown transform", `{"type":"eq","left":{"type":"apply","function":"zorder","arguments":[{"type":"reference","name":"id"}]},"right":1}`, "zorder"},
		{"transform of nothing", `{"type":"eq","left":{"type":"apply","function":"day","arguments":[]},"right":1}`, "day"},
		{"bad width", `{"type":"eq","left":{"type":"apply","function":"bucket","arguments":[-2,{"type":"reference","name":"id"}]},"right":1}`, "bucket"},
		{"bad literal object", `{"type":"eq","left":{"type":"reference","name":"id"},"right":{"type":"lit","value":1}}`, "lit"},
		{"bad typed set", `{"type":"in","child":{"type":"reference","name":"id"},"values":{"type":"set","values":[1]}}`, "set"},
		{"literal child", `{"type":"is-null","child":"id"}`, "is-null"},
		{"wrong literal type", `{"type":"eq","left":{"type":"reference","name":"id"},"right":"seven"}`, "seven"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := decodeFilter(json.RawMessage(c.doc), sc, true)
			if !errs.Is(err, errs.BadRequest) {
				t.Fatalf("got %v, want BadRequest", err)
			}
			if msg := err.Error(); !strings.Contains(msg, "Invalid filter expression") || !strings.Contains(msg, c.mention) {
				t.Fatalf("message %q does not name %q", msg, c.mention)
			}
		})
	}
}
