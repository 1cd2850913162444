package conformance

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	verrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/pb33f/libopenapi-validator/helpers"
	"github.com/pb33f/libopenapi-validator/paths"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"
	"gopkg.in/yaml.v3"
)

// SpecFile is the pristine upstream spec that `make spec` provides, relative
// to the repository root (openapi/pin.mk names it).
const SpecFile = "openapi/spec/rest-catalog-open-api-main-2026-08-21.yaml"

// Violation is one way an exchange breaks the spec.
type Violation struct {
	Operation string // operationId, or METHOD path when the spec has none
	Method    string
	Path      string // the request path as sent
	Status    int    // response status (0: the request itself is at fault)
	Where     string // "request" or "response"
	At        string // offending location: a JSON path in the body, a parameter or header, or "status"
	Reason    string
}

func (v Violation) String() string {
	status := "request"
	if v.Status != 0 {
		status = fmt.Sprint(v.Status)
	}
	return fmt.Sprintf("spec violation: %s (%s %s) %s, %s at %s: %s", v.Operation, v.Method, v.Path, status, v.Where, v.At, v.Reason)
}

// Validator checks requests and responses against the pinned spec. It is
// safe for concurrent use.
type Validator struct {
	doc *v3.Document
	v   validator.Validator
	// routeOpts are the options FindPath needs to name operations.
	routeOpts *config.ValidationOptions
	mu        sync.Mutex
}

var (
	loadOnce   sync.Once
	loadedSpec *Validator
	loadErr    error
)

// SpecPath finds SpecFile from the working directory upwards, so that the
// suite runs from any package directory of the module.
func SpecPath() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, SpecFile)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return "", fmt.Errorf("%s is missing under %s: run `make spec`", SpecFile, dir)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("%s not found above the working directory: run `make spec`", SpecFile)
		}
		dir = parent
	}
}

// LoadSpec loads and compiles the pinned spec once per process.
func LoadSpec() (*Validator, error) {
	loadOnce.Do(func() {
		p, err := SpecPath()
		if err != nil {
			loadErr = err
			return
		}
		loadedSpec, loadErr = NewValidator(p)
	})
	return loadedSpec, loadErr
}

// NewValidator loads the OpenAPI 3.1 document at path.
func NewValidator(path string) (*Validator, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if src, err = normalizeSpec(src); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	doc, err := libopenapi.NewDocument(src)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	model, err := doc.BuildV3Model()
	if err != nil {
		return nil, fmt.Errorf("build model of %s: %w", path, err)
	}
	// Security is left out: the suite authenticates (or not) as the
	// catalog under test requires; the spec's schemes do not decide that.
	opts := []config.Option{config.WithoutSecurityValidation()}
	v := validator.NewValidatorFromV3Model(&model.Model, opts...)
	return &Validator{doc: &model.Model, v: v, routeOpts: config.NewValidationOptions(opts...)}, nil
}

// unprefixedRoots are the first path segments after /v1/ of routes that
// the spec declares under /v1/{prefix}/. Catalogs without a prefix serve
// them as /v1/<root>/… (every client omits an empty prefix), so such paths
// are matched with a placeholder prefix.
var unprefixedRoots = map[string]bool{"namespaces": true, "tables": true, "views": true, "transactions": true}

// specRequest returns a copy of req, body restored, whose path the spec's
// templates match.
func specRequest(req *http.Request, body []byte) *http.Request {
	r := req.Clone(req.Context())
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	u := *req.URL
	segs := strings.SplitN(strings.TrimPrefix(u.EscapedPath(), "/"), "/", 3)
	if len(segs) >= 2 && segs[0] == "v1" && unprefixedRoots[segs[1]] {
		u.Path = "/v1/_" + strings.TrimPrefix(u.Path, "/v1")
		if u.RawPath != "" {
			u.RawPath = "/v1/_" + strings.TrimPrefix(u.RawPath, "/v1")
		}
	}
	r.URL = &u
	return r
}

// Operation names the spec operation req is for ("" when none matches).
func (v *Validator) Operation(req *http.Request) string {
	r := specRequest(req, nil)
	item, _, _ := paths.FindPath(r, v.doc, v.routeOpts)
	if item == nil {
		return ""
	}
	if op := helpers.ExtractOperation(r, item); op != nil {
		return op.OperationId
	}
	return ""
}

// Check validates one exchange. With checkRequest false only the response
// is checked (for requests that are meant to be invalid).
func (v *Validator) Check(req *http.Request, reqBody []byte, resp *http.Response, respBody []byte, checkRequest bool) []Violation {
	op := v.Operation(req)
	if op == "" {
		op = req.Method + " " + req.URL.Path
	}
	base := Violation{Operation: op, Method: req.Method, Path: req.URL.EscapedPath()}

	v.mu.Lock()
	defer v.mu.Unlock()
	var out []Violation
	if checkRequest {
		if ok, errs := v.v.ValidateHttpRequestSync(specRequest(req, reqBody)); !ok {
			for _, e := range errs {
				out = append(out, violationsOf(base, "request", 0, e)...)
			}
		}
	}
	if resp != nil {
		r := *resp
		r.Body = io.NopCloser(bytes.NewReader(respBody))
		r.ContentLength = int64(len(respBody))
		if ok, errs := v.v.ValidateHttpResponse(specRequest(req, reqBody), &r); !ok {
			for _, e := range errs {
				out = append(out, violationsOf(base, "response", resp.StatusCode, e)...)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Where < out[j].Where })
	return out
}

// violationsOf flattens a libopenapi-validator error into violations, one
// per failing schema location.
func violationsOf(base Violation, where string, status int, e *verrors.ValidationError) []Violation {
	v := base
	v.Where, v.Status = where, status
	switch {
	case e.ParameterName != "":
		v.At = "parameter " + e.ParameterName
	case e.ValidationSubType == "code" || strings.Contains(strings.ToLower(e.Message), "response code"):
		v.At = "status"
	default:
		v.At = "$"
	}
	if len(e.SchemaValidationErrors) == 0 {
		v.Reason = e.Message
		if e.Reason != "" && e.Reason != e.Message {
			v.Reason += ": " + e.Reason
		}
		return []Violation{v}
	}
	out := make([]Violation, 0, len(e.SchemaValidationErrors))
	for _, f := range e.SchemaValidationErrors {
		w := v
		if f.FieldPath != "" {
			w.At = f.FieldPath
		} else if len(f.InstancePath) > 0 {
			w.At = "$." + strings.Join(f.InstancePath, ".")
		}
		w.Reason = e.Message + ": " + f.Reason
		out = append(out, w)
	}
	return out
}

// normalizeSpec rewrites, in memory, the two constructs of the upstream
// document that libopenapi loads but libopenapi-validator v0.16 cannot
// compile into JSON Schema; the document on disk stays pristine.
//
//   - Response status codes are unquoted YAML integers (`200:`). OpenAPI
//     says they are strings; the validator renders the whole document to
//     JSON to resolve $refs and fails on non-string keys ("failed to
//     unmarshal JSON schema resource ...: EOF"). Integer mapping keys
//     become strings.
//   - `nullable: true` is OpenAPI 3.0; in a 3.1 document the validator
//     rejects it ("The `nullable` keyword is not supported in OpenAPI
//     3.1+"). It is rewritten to what the authors meant, `type: [T,
//     "null"]`, and `nullable: false` is dropped.
//
// and three places where the document contradicts itself, resolved the way
// every Iceberg client reads them:
//
//   - 15 error responses (most of the view operations) give `ErrorModel`
//     as the body's schema, while their own examples, every other
//     operation and every client (Java's ErrorHandlers, iceberg-go, PyIceberg)
//     use the wrapped `IcebergErrorResponse` ({"error": {...}}). Those
//     references are pointed at IcebergErrorResponse.
//   - TableMetadata's current-snapshot-id is a plain int64, but table
//     format v3 requires `null` for a table without a current snapshot
//     (apache/iceberg#12335; Java and iceberg-go write null). It is made
//     nullable.
//   - PrimitiveTypeValue (literals of filter expressions, partition
//     values, bounds) is a oneOf whose members overlap by construction:
//     every integer is both an IntegerTypeValue and a LongTypeValue, every
//     string a StringTypeValue, a BinaryTypeValue, a FixedTypeValue and
//     more. No value can match exactly one member, and clients read the
//     value by the field's type, so it becomes an anyOf.
func normalizeSpec(src []byte) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, err
	}
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode {
			nullable, typeIdx := -1, -1
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i]
				if k.Tag == "!!int" {
					k.Tag, k.Style = "!!str", yaml.DoubleQuotedStyle
				}
				switch k.Value {
				case "nullable":
					nullable = i
				case "type":
					typeIdx = i
				}
			}
			if nullable >= 0 {
				if n.Content[nullable+1].Value == "true" && typeIdx >= 0 && n.Content[typeIdx+1].Kind == yaml.ScalarNode {
					t := n.Content[typeIdx+1]
					n.Content[typeIdx+1] = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: []*yaml.Node{
						{Kind: yaml.ScalarNode, Tag: "!!str", Value: t.Value},
						{Kind: yaml.ScalarNode, Tag: "!!str", Value: "null"},
					}}
				}
				n.Content = append(n.Content[:nullable], n.Content[nullable+2:]...)
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(&doc)
	if len(doc.Content) == 0 {
		return nil, fmt.Errorf("empty document")
	}
	root := doc.Content[0]
	// Error responses: .../responses/<code>/content/application/json/schema.
	if paths := mapGet(root, "paths"); paths != nil {
		for i := 1; i < len(paths.Content); i += 2 {
			for j := 1; j < len(paths.Content[i].Content); j += 2 {
				responses := mapGet(paths.Content[i].Content[j], "responses")
				if responses == nil {
					continue
				}
				for k := 1; k < len(responses.Content); k += 2 {
					schema := mapGet(mapGet(mapGet(responses.Content[k], "content"), "application/json"), "schema")
					if ref := mapGet(schema, "$ref"); ref != nil && ref.Value == "#/components/schemas/ErrorModel" {
						ref.Value = "#/components/schemas/IcebergErrorResponse"
					}
				}
			}
		}
	}
	if ptv := mapGet(mapGet(mapGet(root, "components"), "schemas"), "PrimitiveTypeValue"); ptv != nil {
		for i := 0; i+1 < len(ptv.Content); i += 2 {
			if ptv.Content[i].Value == "oneOf" {
				ptv.Content[i].Value = "anyOf"
			}
		}
	} else {
		return nil, fmt.Errorf("PrimitiveTypeValue not found: the normalization needs updating")
	}
	snap := mapGet(mapGet(mapGet(mapGet(mapGet(root, "components"), "schemas"), "TableMetadata"), "properties"), "current-snapshot-id")
	if t := mapGet(snap, "type"); t != nil && t.Kind == yaml.ScalarNode {
		*t = yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: []*yaml.Node{
			{Kind: yaml.ScalarNode, Tag: "!!str", Value: t.Value},
			{Kind: yaml.ScalarNode, Tag: "!!str", Value: "null"},
		}}
	} else {
		return nil, fmt.Errorf("TableMetadata.current-snapshot-id not found: the normalization needs updating")
	}
	return yaml.Marshal(&doc)
}

// mapGet returns the value of key in mapping node n (nil when absent).
func mapGet(n *yaml.Node, key string) *yaml.Node {
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
