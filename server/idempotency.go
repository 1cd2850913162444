package server

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/google/uuid"
	"github.com/valyala/fasthttp"

	"github.com/bingsan/bingsan/catalog"
	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/gen/bingsanapi"
	"github.com/bingsan/bingsan/gen/iceberg"
	"github.com/bingsan/bingsan/internal/failpoint"
	"github.com/bingsan/bingsan/internal/reqctx"
	"github.com/bingsan/bingsan/principal"
	"github.com/bingsan/bingsan/store"
)

// inFlightLease bounds how long a key stays claimed by a request that never
// finished (its node died): after it, a retry may run the operation.
const inFlightLease = 2 * time.Minute

// idempotent replays the stored final response of a request that was already
// completed with the same Idempotency-Key, instead of running it again.
// 2xx and 4xx responses are final; 5xx are not stored so a retry runs again.
//
// The mutation itself marks the key committed, with its outcome, in its own
// database transaction (store.IdempotencyMark); the answer is recorded after
// it. A process that dies in between leaves a committed key without an
// answer: a retry then gets the answer rebuilt from the outcome
// (replayCommitted), never a second run of the mutation.
func (s *Server) idempotent(operation string, next fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		raw := ctx.Request.Header.Peek("Idempotency-Key")
		if len(raw) == 0 {
			next(ctx)
			return
		}
		u, err := uuid.ParseBytes(raw)
		if err != nil || len(raw) != 36 {
			writeError(ctx, s.log, errs.New(errs.BadRequest, "Invalid Idempotency-Key: expected a UUID"))
			return
		}
		// UUIDs are case-insensitive: one key, however it is spelled.
		key := u.String()
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
		// The store gets a context without the request's cancellation: a
		// driver watching Done would read the request after fasthttp
		// recycled it (see reqctx).
		c := reqctx.New(ctx)

		for attempt := 0; ; attempt++ {
			rec.ExpiresAt = time.Now().Add(inFlightLease)
			existing, began, err := s.opts.Store.BeginIdempotent(c, rec)
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
			case existing.Committed:
				if err := s.replayCommitted(ctx, operation, existing.Outcome); err != nil {
					writeError(ctx, s.log, err)
					return
				}
				s.finishIdempotent(ctx, rec)
				return
			case existing.ExpiresAt.Before(time.Now()) && attempt == 0:
				if err := s.opts.Store.AbandonIdempotent(c, key); err != nil {
					writeError(ctx, s.log, err)
					return
				}
			default:
				writeError(ctx, s.log, errs.New(errs.ServiceUnavailable, "A request with Idempotency-Key %s is still in progress", key))
				ctx.Response.Header.Set("Retry-After", "1")
				return
			}
		}

		store.SetIdempotency(ctx, store.IdempotencyMark{Key: key, ExpiresAt: time.Now().Add(s.opts.IdempotencyLifetime)})
		next(ctx)

		status := ctx.Response.StatusCode()
		if status >= 500 {
			// A mutation that committed keeps its key (the store refuses
			// to abandon it): a retry replays it.
			if err := s.opts.Store.AbandonIdempotent(c, key); err != nil {
				s.log.Error("releasing idempotency key", "key", key, "error", err)
			}
			return
		}
		if status < 300 {
			failpoint.Kill(failpoint.MutationCommitted)
		}
		s.finishIdempotent(ctx, rec)
	}
}

// finishIdempotent records the response written to ctx as rec's answer.
func (s *Server) finishIdempotent(ctx *fasthttp.RequestCtx, rec store.IdempotencyRecord) {
	rec.Status = ctx.Response.StatusCode()
	rec.Body = append([]byte(nil), ctx.Response.Body()...)
	rec.Done = true
	rec.ExpiresAt = time.Now().Add(s.opts.IdempotencyLifetime)
	if err := s.opts.Store.FinishIdempotent(reqctx.New(ctx), rec); err != nil {
		s.log.Error("recording idempotent response", "key", rec.Key, "error", err)
	}
}

// replayCommitted writes the answer of operation, whose mutation committed
// with outcome o but whose answer was never recorded. Answers that carry
// metadata carry the metadata file the mutation left current, read again
// (metadata files never change); vended credentials are not repeated (a
// client gets fresh ones by loading the table).
func (s *Server) replayCommitted(ctx *fasthttp.RequestCtx, operation string, o store.IdempotentOutcome) error {
	switch operation {
	case "createNamespace":
		var req iceberg.CreateNamespaceRequest
		if err := json.Unmarshal(ctx.Request.Body(), &req); err != nil {
			return errs.Wrap(errs.Internal, err, "replaying createNamespace")
		}
		props := nonNilProps(deref(req.Properties))
		return iceberg.CreateNamespace200JSONResponse{CreateNamespaceResponseJSONResponse: iceberg.CreateNamespaceResponseJSONResponse{
			Namespace: req.Namespace, Properties: &props,
		}}.VisitCreateNamespaceResponse(ctx)
	case "updateProperties":
		ch := o.PropertyChange
		if ch == nil {
			ch = &store.PropertyChange{}
		}
		r := iceberg.UpdateNamespacePropertiesResponse{Updated: nonNil(ch.Updated), Removed: nonNil(ch.Removed)}
		if len(ch.Missing) > 0 {
			r.Missing = &ch.Missing
		}
		return iceberg.UpdateProperties200JSONResponse{UpdateNamespacePropertiesResponseJSONResponse: iceberg.UpdateNamespacePropertiesResponseJSONResponse(r)}.VisitUpdatePropertiesResponse(ctx)
	case "createTable", "registerTable", "updateTable", "unregisterTable", "createView", "registerView", "replaceView":
		doc, err := s.opts.Catalog.MetadataDocument(reqctx.New(ctx), o.MetadataLocation)
		if err != nil {
			return err
		}
		a := &api{srv: s, cat: s.opts.Catalog}
		loc, tag := o.MetadataLocation, catalog.ETag(o.MetadataLocation)
		switch operation {
		case "updateTable":
			return a.commitTableResponse(iceberg.CommitTableResponse{MetadataLocation: loc, Metadata: doc}, &tag).write(ctx)
		case "createTable", "registerTable":
			return a.loadTableResponse(iceberg.LoadTableResult{MetadataLocation: &loc, Metadata: doc}, &tag).write(ctx)
		case "unregisterTable":
			return iceberg.UnregisterTable200JSONResponse{UnregisterTableResponseJSONResponse: iceberg.UnregisterTableResponseJSONResponse{
				MetadataLocation: loc, Metadata: doc,
			}}.VisitUnregisterTableResponse(ctx)
		}
		return iceberg.LoadView200JSONResponse{LoadViewResponseJSONResponse: iceberg.LoadViewResponseJSONResponse{
			MetadataLocation: loc, Metadata: doc,
		}}.VisitLoadViewResponse(ctx)
	case "createFunction", "registerFunction", "commitFunction":
		doc, err := s.opts.Catalog.MetadataDocument(reqctx.New(ctx), o.MetadataLocation)
		if err != nil {
			return err
		}
		return bingsanapi.CreateFunction200JSONResponse{LoadFunctionJSONResponse: bingsanapi.LoadFunctionJSONResponse{
			MetadataLocation: o.MetadataLocation, Metadata: doc,
		}}.VisitCreateFunctionResponse(ctx)
	}
	// Drops, renames and transactions answer 204 without a body.
	ctx.SetStatusCode(fasthttp.StatusNoContent)
	return nil
}
