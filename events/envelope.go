// Package events publishes the catalog's event outbox (see store.Event):
// the CloudEvents envelope of an event, subscription filters, paged
// listing, the per-node Broker that fans new events out to in-process
// subscribers (WebSocket streams), and the pruner that applies retention.
//
// The outbox in the database is the source of truth. Each node runs one
// Broker, which reads the outbox after the last id it has seen whenever the
// store wakes it (PostgreSQL LISTEN/NOTIFY, so commits on any node wake
// every node; in-process on SQLite) and every PollInterval besides, and
// hands every new event to each matching subscriber's bounded queue. A
// subscriber whose queue is full is closed, never skipped: it resumes with
// the last id it received.
package events

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/gen/bingsanapi"
	"github.com/bingsan/bingsan/store"
)

// TypePrefix starts every CloudEvents type: io.bingsan.table.committed.
const TypePrefix = "io.bingsan."

// Envelope is e as a CloudEvents 1.0 envelope.
func Envelope(e store.Event) bingsanapi.Event {
	d := bingsanapi.EventData{
		Warehouse: e.Warehouse,
		Namespace: nonNil(e.Namespace),
		Kind:      bingsanapi.EventDataKind(e.Type.Object()),
	}
	subject := strings.Join(e.Namespace, ".")
	if e.Name != "" {
		d.Name = ptr(e.Name)
		subject += "." + e.Name
	}
	if e.PreviousMetadataLocation != "" {
		d.PreviousMetadataLocation = ptr(e.PreviousMetadataLocation)
	}
	if e.MetadataLocation != "" {
		d.MetadataLocation = ptr(e.MetadataLocation)
	}
	if e.SnapshotsAdded != nil {
		d.SnapshotsAdded = ptr(e.SnapshotsAdded)
	}
	if e.RenamedTo != nil {
		d.RenamedTo = &struct {
			Name      string   `json:"name"`
			Namespace []string `json:"namespace"`
		}{Name: e.RenamedTo.Name, Namespace: nonNil(e.RenamedTo.Namespace)}
	}
	if e.PropertiesUpdated != nil {
		d.PropertiesUpdated = ptr(e.PropertiesUpdated)
	}
	if e.PropertiesRemoved != nil {
		d.PropertiesRemoved = ptr(e.PropertiesRemoved)
	}
	if e.PurgeRequested {
		d.PurgeRequested = ptr(true)
	}
	if e.Principal != "" {
		d.Principal = ptr(e.Principal)
	}
	return bingsanapi.Event{
		Specversion:     bingsanapi.N10,
		Id:              strconv.FormatInt(e.ID, 10),
		Type:            TypePrefix + string(e.Type),
		Source:          "/bingsan/" + url.PathEscape(e.Warehouse),
		Time:            e.Time.UTC(),
		Subject:         subject,
		Datacontenttype: bingsanapi.Applicationjson,
		Data:            d,
	}
}

// Encode is the JSON text of e's envelope, as sent on streams.
func Encode(e store.Event) ([]byte, error) {
	b, err := json.Marshal(Envelope(e))
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "encoding event %d", e.ID)
	}
	return b, nil
}

func ptr[T any](v T) *T { return &v }

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
