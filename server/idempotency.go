package server

import (
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/google/uuid"
	"github.com/valyala/fasthttp"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/principal"
	"github.com/bingsan/bingsan/store"
)

// idempotentOperations take an Idempotency-Key header (spec 1.11.0).
// fetchScanTasks takes one too, but only reads: asked again, it answers
// the same, so its (large) answers are not stored for replay.
var idempotentOperations = map[string]bool{
	"createNamespace": true, "dropNamespace": true, "updateProperties": true,
	"createTable": true, "registerTable": true, "dropTable": true, "updateTable": true, "renameTable": true,
	"commitTransaction": true,
	"registerView":      true, "replaceView": true, "dropView": true, "renameView": true,
	"planTableScan": true, "cancelPlanning": true,
}

// inFlightLease bounds how long a key stays claimed by a request that never
// finished (its node died): after it, a retry may run the operation.
const inFlightLease = 2 * time.Minute

// idempotent replays the stored final response of a request that was already
// completed with the same Idempotency-Key, instead of running it again.
// 2xx and 4xx responses are final; 5xx are not stored so a retry runs again.
func (s *Server) idempotent(operation string, next fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		raw := ctx.Request.Header.Peek("Idempotency-Key")
		if len(raw) == 0 {
			next(ctx)
			return
		}
		key := string(raw)
		if _, err := uuid.Parse(key); err != nil || len(key) != 36 {
			writeError(ctx, s.log, errs.New(errs.BadRequest, "Invalid Idempotency-Key: expected a UUID"))
			return
		}
		sum := sha256.New()
		sum.Write([]byte(operation))
		sum.Write([]byte{0})
		sum.Write(ctx.Request.URI().PathOriginal())
		sum.Write([]byte{0})
		sum.Write(ctx.Request.URI().QueryString())
		sum.Write([]byte{0})
		sum.Write(ctx.Request.Body())
		// Another principal's request never replays this one's answer.
		if who := principal.From(ctx); who != "" {
			sum.Write([]byte{0})
			sum.Write([]byte(who))
		}
		rec := store.IdempotencyRecord{Key: key, Operation: operation, RequestHash: hex.EncodeToString(sum.Sum(nil))}

		for attempt := 0; ; attempt++ {
			rec.ExpiresAt = time.Now().Add(inFlightLease)
			existing, began, err := s.opts.Store.BeginIdempotent(ctx, rec)
			if err != nil {
				writeError(ctx, s.log, err)
				return
			}
			if began {
				break
			}
			switch {
			case existing.Operation != rec.Operation || existing.RequestHash != rec.RequestHash:
				writeError(ctx, s.log, errs.New(errs.Unprocessable, "Idempotency-Key %s was already used for a different request", key))
				return
			case existing.Done:
				ctx.Response.Header.SetContentType("application/json")
				ctx.SetStatusCode(existing.Status)
				ctx.SetBody(existing.Body)
				return
			case existing.ExpiresAt.Before(time.Now()) && attempt == 0:
				if err := s.opts.Store.AbandonIdempotent(ctx, key); err != nil {
					writeError(ctx, s.log, err)
					return
				}
			default:
				writeError(ctx, s.log, errs.New(errs.ServiceUnavailable, "A request with Idempotency-Key %s is still in progress", key))
				ctx.Response.Header.Set("Retry-After", "1")
				return
			}
		}

		next(ctx)

		status := ctx.Response.StatusCode()
		if status >= 500 {
			if err := s.opts.Store.AbandonIdempotent(ctx, key); err != nil {
				s.log.Error("releasing idempotency key", "key", key, "error", err)
			}
			return
		}
		rec.Status = status
		rec.Body = append([]byte(nil), ctx.Response.Body()...)
		rec.Done = true
		rec.ExpiresAt = time.Now().Add(s.opts.IdempotencyLifetime)
		if err := s.opts.Store.FinishIdempotent(ctx, rec); err != nil {
			s.log.Error("recording idempotent response", "key", key, "error", err)
		}
	}
}
