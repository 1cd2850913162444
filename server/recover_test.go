package server

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/bingsan/bingsan/gen/iceberg"
)

func TestPanicBecomes500AndALogLine(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	s := &Server{log: slog.New(slog.NewTextHandler(&logs, nil))}
	h := s.recoverPanics(func(*fasthttp.RequestCtx) { panic("boom") })

	var ctx fasthttp.RequestCtx
	ctx.Request.SetRequestURI("/v1/namespaces")
	h(&ctx)

	if ctx.Response.StatusCode() != 500 {
		t.Fatalf("status %d, want 500", ctx.Response.StatusCode())
	}
	var e iceberg.IcebergErrorResponse
	if err := json.Unmarshal(ctx.Response.Body(), &e); err != nil || e.Error.Code != 500 || e.Error.Message != "Internal server error" {
		t.Fatalf("body %s (%v)", ctx.Response.Body(), err)
	}
	if !bytes.Contains(logs.Bytes(), []byte("boom")) {
		t.Fatalf("panic not logged: %s", logs.String())
	}
}
