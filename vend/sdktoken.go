package vend

import (
	"context"
	"fmt"
	"reflect"
	"time"

	"github.com/bingsan/bingsan/vend/azure"
	"github.com/bingsan/bingsan/vend/gcs"
)

// Programs that embed the catalog may hand it credentials of Google's and
// Microsoft's Go SDKs (cloud.google.com/go/auth, azcore.TokenCredential).
// The catalog calls their token methods by reflection rather than
// importing the SDKs, whose packages (gRPC, OpenTelemetry, MSAL) would
// otherwise be linked into every binary and initialised at start-up, for
// about 30 MB of memory that a catalog without such a warehouse never uses.

var (
	contextType = reflect.TypeFor[context.Context]()
	errorType   = reflect.TypeFor[error]()
	timeType    = reflect.TypeFor[time.Time]()
)

// googleTokenSource adapts v: a gcs.TokenSource, or a value with the method
// Token(context.Context) (*T, error) where T has the string fields Value
// and Type and the time.Time field Expiry (cloud.google.com/go/auth).
func googleTokenSource(v any) (gcs.TokenSource, error) {
	if ts, ok := v.(gcs.TokenSource); ok {
		return ts, nil
	}
	m := reflect.ValueOf(v).MethodByName("Token")
	if !m.IsValid() || !tokenMethod(m.Type(), 1, "Value", "Type", "Expiry") {
		return nil, fmt.Errorf("credentials of type %T give no tokens: want a gcs.TokenSource or a Token(context.Context) (*auth.Token, error) method", v)
	}
	return gcs.TokenFunc(func(ctx context.Context) (gcs.Token, error) {
		out := m.Call([]reflect.Value{reflect.ValueOf(&ctx).Elem()})
		if err, _ := out[1].Interface().(error); err != nil {
			return gcs.Token{}, err
		}
		t := reflect.Indirect(out[0])
		if !t.IsValid() {
			return gcs.Token{}, fmt.Errorf("credentials of type %T returned no token", v)
		}
		return gcs.Token{Value: t.FieldByName("Value").String(), Type: t.FieldByName("Type").String(),
			Expiry: t.FieldByName("Expiry").Interface().(time.Time)}, nil
	}), nil
}

// azureSDKTokenSource adapts a value with the method GetToken(ctx, opts)
// (T, error), where opts is a struct with the field Scopes []string and T
// has the fields Token string and ExpiresOn time.Time
// (azcore.TokenCredential of the Azure SDK).
func azureSDKTokenSource(v any) (azure.TokenSource, error) {
	if ts, ok := v.(azure.TokenSource); ok {
		return ts, nil
	}
	m := reflect.ValueOf(v).MethodByName("GetToken")
	bad := fmt.Errorf("credential of type %T gives no tokens: want a GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) method", v)
	if !m.IsValid() || !tokenMethod(m.Type(), 2, "Token", "ExpiresOn") {
		return nil, bad
	}
	opts := m.Type().In(1)
	if opts.Kind() != reflect.Struct {
		return nil, bad
	}
	if f, ok := opts.FieldByName("Scopes"); !ok || f.Type != reflect.TypeFor[[]string]() {
		return nil, bad
	}
	return azure.TokenFunc(func(ctx context.Context, scope string) (azure.Token, error) {
		o := reflect.New(opts).Elem()
		o.FieldByName("Scopes").Set(reflect.ValueOf([]string{scope}))
		out := m.Call([]reflect.Value{reflect.ValueOf(&ctx).Elem(), o})
		if err, _ := out[1].Interface().(error); err != nil {
			return azure.Token{}, err
		}
		t := reflect.Indirect(out[0])
		return azure.Token{Value: t.FieldByName("Token").String(), Expiry: t.FieldByName("ExpiresOn").Interface().(time.Time)}, nil
	}), nil
}

// tokenMethod reports whether t is func(context.Context[, X]) (T or *T,
// error) with T a struct having the named fields: strings, and the last a
// time.Time.
func tokenMethod(t reflect.Type, in int, fields ...string) bool {
	if t.NumIn() != in || t.In(0) != contextType || t.NumOut() != 2 || t.Out(1) != errorType {
		return false
	}
	res := t.Out(0)
	if res.Kind() == reflect.Pointer {
		res = res.Elem()
	}
	if res.Kind() != reflect.Struct {
		return false
	}
	for i, name := range fields {
		f, ok := res.FieldByName(name)
		want := reflect.TypeFor[string]()
		if i == len(fields)-1 {
			want = timeType
		}
		if !ok || f.Type != want {
			return false
		}
	}
	return true
}
