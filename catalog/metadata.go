package catalog

// This file is the one place where table metadata is built, parsed and
// encoded. Everything Iceberg-specific is done by iceberg-go; the helpers
// below only fill gaps that iceberg-go leaves (each one says which).

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
	"github.com/google/uuid"
	"github.com/klauspost/compress/zstd"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/store"
)

// Snapshot modes of LoadTable.
const (
	SnapshotsAll  = "all"
	SnapshotsRefs = "refs"
)

// parseStored parses metadata bytes that the catalog stored itself; a
// failure means the row is corrupt, not that the client erred.
func parseStored(id store.Ident, doc []byte) (table.Metadata, error) {
	m, err := table.ParseMetadataBytes(doc)
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "Stored metadata of %s is invalid", id)
	}
	return m, nil
}

// encodeMetadata is the JSON document of m, as stored and served.
// iceberg-go's metadata types marshal themselves with json.Marshal, whose
// output is compact already: calling MarshalJSON directly spares
// json.Marshal's validating and compacting copy of the whole document.
func encodeMetadata(m table.Metadata) ([]byte, error) {
	var (
		b   []byte
		err error
	)
	if jm, ok := m.(json.Marshaler); ok {
		b, err = jm.MarshalJSON()
	} else {
		b, err = json.Marshal(m)
	}
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "encoding table metadata")
	}
	return b, nil
}

// updatesError and requirementError give iceberg-go's reasons the kinds the
// REST spec wants: a bad update is the client's error (400), a requirement
// that no longer holds is a conflict (409).
func updatesError(err error) error {
	return errs.New(errs.BadRequest, "%s", err.Error())
}

func requirementError(err error) error {
	return errs.New(errs.CommitFailed, "%s", err.Error())
}

// validateRequirements checks reqs against base (nil: the table does not
// exist). A failed requirement is worded as Java's UpdateRequirement words
// it ("Requirement failed: current schema changed: expected id 0 != 1"):
// Java clients and the REST compatibility kit match on those messages, and
// iceberg-go's differ ("current schema id has changed: expected 0, found
// 1"). Cases Java does not have keep iceberg-go's message.
func validateRequirements(reqs table.Requirements, base table.Metadata) error {
	for _, r := range reqs {
		var err error
		if base == nil {
			err = r.Validate(nil) // an untyped nil: the requirements compare against nil
		} else {
			err = r.Validate(base)
		}
		if err == nil {
			continue
		}
		if base == nil {
			return requirementError(err)
		}
		// The expected values, read from the requirement itself (see
		// fieldOf: iceberg-go keeps them in unexported types).
		w := struct {
			UUID                    string
			Ref                     string
			SnapshotID              *int64
			LastAssignedFieldID     int
			CurrentSchemaID         int
			LastAssignedPartitionID int
			DefaultSpecID           int
			DefaultSortOrderID      int
		}{
			UUID: stringField(r, "UUID"), Ref: stringField(r, "Ref"), SnapshotID: int64PtrField(r, "SnapshotID"),
			LastAssignedFieldID: intField(r, "LastAssignedFieldID"), CurrentSchemaID: intField(r, "CurrentSchemaID"),
			LastAssignedPartitionID: intField(r, "LastAssignedPartitionID"), DefaultSpecID: intField(r, "DefaultSpecID"),
			DefaultSortOrderID: intField(r, "DefaultSortOrderID"),
		}
		msg := ""
		switch r.GetType() {
		case "assert-table-uuid":
			msg = fmt.Sprintf("UUID does not match: expected %s != %s", w.UUID, base.TableUUID())
		case "assert-ref-snapshot-id":
			var ref *table.SnapshotRef
			for name, rf := range base.Refs() {
				if name == w.Ref {
					ref = &rf
					break
				}
			}
			switch {
			case ref != nil && w.SnapshotID == nil:
				msg = fmt.Sprintf("%s %s was created concurrently", ref.SnapshotRefType, w.Ref)
			case ref != nil && *w.SnapshotID != ref.SnapshotID:
				msg = fmt.Sprintf("%s %s has changed: expected id %d != %d", ref.SnapshotRefType, w.Ref, *w.SnapshotID, ref.SnapshotID)
			case ref == nil && w.SnapshotID != nil:
				msg = fmt.Sprintf("branch or tag %s is missing, expected %d", w.Ref, *w.SnapshotID)
			}
		case "assert-last-assigned-field-id":
			msg = fmt.Sprintf("last assigned field id changed: expected id %d != %d", w.LastAssignedFieldID, base.LastColumnID())
		case "assert-current-schema-id":
			msg = fmt.Sprintf("current schema changed: expected id %d != %d", w.CurrentSchemaID, base.CurrentSchema().ID)
		case "assert-last-assigned-partition-id":
			if last := base.LastPartitionSpecID(); last != nil {
				msg = fmt.Sprintf("last assigned partition id changed: expected id %d != %d", w.LastAssignedPartitionID, *last)
			}
		case "assert-default-spec-id":
			msg = fmt.Sprintf("default partition spec changed: expected id %d != %d", w.DefaultSpecID, base.DefaultPartitionSpec())
		case "assert-default-sort-order-id":
			msg = fmt.Sprintf("default sort order changed: expected id %d != %d", w.DefaultSortOrderID, base.DefaultSortOrder())
		}
		if msg == "" {
			return requirementError(err)
		}
		return errs.New(errs.CommitFailed, "Requirement failed: %s", msg)
	}
	return nil
}

// applyUpdates applies upds in request order on base, whose file is
// baseLocation. It reports changed=false when the updates left the metadata
// as it was. This is table.UpdateTableMetadata with the builder kept: a
// commit without changes must not write a new file, and only the builder
// knows (iceberg-go's builder appends the previous file to the metadata log,
// and trims it per write.metadata.previous-versions-max, only when something
// changed).
func applyUpdates(base table.Metadata, baseLocation string, upds table.Updates) (table.Metadata, bool, error) {
	b, err := table.MetadataBuilderFromBase(base, baseLocation)
	if err != nil {
		return nil, false, errs.Wrap(errs.Internal, err, "loading table metadata")
	}
	for _, u := range upds {
		if err := u.Apply(b); err != nil {
			return nil, false, updatesError(err)
		}
	}
	if !b.HasChanges() {
		return base, false, nil
	}
	m, err := b.Build()
	if err != nil {
		return nil, false, updatesError(err)
	}
	// iceberg-go's builder lets assign-uuid replace an existing table's
	// UUID; Java's refuses ("Cannot reassign uuid"), and clients rely on
	// the UUID to detect that a name now denotes another table.
	if m.TableUUID() != base.TableUUID() {
		return nil, false, errs.New(errs.BadRequest, "Cannot reassign uuid: %s != %s", m.TableUUID(), base.TableUUID())
	}
	return m, true, nil
}

// buildFromEmpty builds the metadata of a staged create from its updates,
// the way Java's CatalogHandlers does: start from empty metadata of the
// format version the first upgrade-format-version asks for, then apply the
// updates in order. iceberg-go's own catalogs start from a v2 table with an
// empty schema instead, which cannot create v1 tables (no downgrade) and
// leaves the empty schema behind. The table gets a fresh UUID unless the
// updates assign one, and defaultLocation unless they set another.
func buildFromEmpty(c TableChange, upds table.Updates, defaultLocation string) (table.Metadata, error) {
	formatVersion := table.DefaultFormatVersion
	if c.FormatVersion != 0 {
		formatVersion = c.FormatVersion
	}
	assignsUUID := c.AssignsUUID
	b, err := table.NewMetadataBuilder(formatVersion)
	if err != nil {
		return nil, updatesError(err)
	}
	if !assignsUUID {
		if err := b.SetUUID(uuid.New()); err != nil {
			return nil, errs.Wrap(errs.Internal, err, "assigning table UUID")
		}
	}
	if err := b.SetLoc(defaultLocation); err != nil {
		return nil, errs.Wrap(errs.Internal, err, "setting table location")
	}
	for _, u := range upds {
		if err := u.Apply(b); err != nil {
			return nil, updatesError(err)
		}
	}
	m, err := b.Build()
	if err != nil {
		return nil, updatesError(err)
	}
	return m, nil
}

// newMetadataLocation names the file of metadata version version with
// iceberg-go's location provider (which honours write.metadata.path and the
// compression codec's file extension).
func newMetadataLocation(m table.Metadata, version int) (string, error) {
	p, err := table.LoadLocationProvider(m.Location(), m.Properties())
	if err != nil {
		return "", errs.New(errs.BadRequest, "Invalid table location %q: %s", m.Location(), err.Error())
	}
	loc, err := p.NewTableMetadataFileLocation(version)
	if err != nil {
		return "", errs.New(errs.BadRequest, "%s", err.Error())
	}
	return loc, nil
}

// The version in a metadata file name: NNNNN-<uuid>[.codec].metadata.json or
// the legacy vN[.gz].metadata.json. iceberg-go parses these in its
// catalog/internal package, which cannot be imported.
var (
	metadataFileName       = regexp.MustCompile(`^(\d+)-[0-9a-fA-F-]{36}(?:\.\w+)?\.metadata\.json$`)
	legacyMetadataFileName = regexp.MustCompile(`^v(\d+)(?:\.gz)?\.metadata\.json$`)
)

// metadataVersion returns the version of the metadata file at loc, -1 when
// the name follows no known pattern (a registered table's file, say), so
// that the next version is 0 as in Java.
func metadataVersion(loc string) int {
	name := path.Base(loc)
	m := metadataFileName.FindStringSubmatch(name)
	if m == nil {
		m = legacyMetadataFileName.FindStringSubmatch(name)
	}
	if m == nil {
		return -1
	}
	v, err := strconv.Atoi(m[1])
	if err != nil {
		return -1
	}
	return v
}

// metadataFileBytes is what goes into the metadata file for doc: doc itself,
// or doc compressed per write.metadata.compression-codec. (iceberg-go
// compresses only inside its catalog/internal writer, which writes through
// an overwriting Create.)
func metadataFileBytes(doc []byte, props iceberg.Properties) ([]byte, error) {
	switch codec := strings.ToLower(props.Get(table.MetadataCompressionKey, table.MetadataCompressionDefault)); codec {
	case table.MetadataCompressionCodecNone, "":
		return doc, nil
	case table.MetadataCompressionCodecGzip:
		var buf bytes.Buffer
		w := gzip.NewWriter(&buf)
		if _, err := w.Write(doc); err != nil {
			return nil, errs.Wrap(errs.Internal, err, "compressing metadata")
		}
		if err := w.Close(); err != nil {
			return nil, errs.Wrap(errs.Internal, err, "compressing metadata")
		}
		return buf.Bytes(), nil
	case table.MetadataCompressionCodecZstd:
		enc, err := zstd.NewWriter(nil)
		if err != nil {
			return nil, errs.Wrap(errs.Internal, err, "compressing metadata")
		}
		defer enc.Close()
		return enc.EncodeAll(doc, nil), nil
	default:
		return nil, errs.New(errs.BadRequest, "Unsupported %s: %s", table.MetadataCompressionKey, codec)
	}
}

// decodeMetadataFile undoes metadataFileBytes, recognising the codec by its
// magic bytes (ParseMetadataBytes expects plain JSON).
func decodeMetadataFile(b []byte) ([]byte, error) {
	switch {
	case len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b:
		r, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		defer r.Close()
		return io.ReadAll(r)
	case len(b) >= 4 && b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd:
		dec, err := zstd.NewReader(nil)
		if err != nil {
			return nil, err
		}
		defer dec.Close()
		return dec.DecodeAll(b, nil)
	}
	return b, nil
}

// etag is the strong entity tag of a load of the metadata file at loc in a
// snapshots mode: a metadata file never changes, so its location and the
// mode determine the response body.
func etag(loc, mode string) string {
	if loc == "" {
		return ""
	}
	if mode == "" {
		mode = SnapshotsAll
	}
	h := sha256.Sum256([]byte(mode + "\x00" + loc))
	return `"` + hex.EncodeToString(h[:16]) + `"`
}

// referencedSnapshotsOnly returns doc with only the snapshots that a branch
// or tag (or, in v1 metadata, current-snapshot-id) points at. iceberg-go has
// no equivalent of Java's suppressHistoricalSnapshots: its builder's
// RemoveSnapshots would also rewrite the snapshot log, the statistics and
// last-updated-ms. So the document is filtered as JSON: every other field is
// passed through untouched, and snapshot ids are read as int64, never as
// float64.
func referencedSnapshotsOnly(doc []byte) ([]byte, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(doc, &top); err != nil {
		return nil, err
	}
	rawSnaps, ok := top["snapshots"]
	if !ok {
		return doc, nil
	}
	keep := map[int64]bool{}
	var refs map[string]struct {
		SnapshotID int64 `json:"snapshot-id"`
	}
	if r, ok := top["refs"]; ok {
		if err := json.Unmarshal(r, &refs); err != nil {
			return nil, fmt.Errorf("refs: %w", err)
		}
	}
	for _, r := range refs {
		keep[r.SnapshotID] = true
	}
	if c, ok := top["current-snapshot-id"]; ok {
		var cur *int64
		if err := json.Unmarshal(c, &cur); err != nil {
			return nil, fmt.Errorf("current-snapshot-id: %w", err)
		}
		if cur != nil && *cur != -1 {
			keep[*cur] = true
		}
	}
	var snaps []json.RawMessage
	if err := json.Unmarshal(rawSnaps, &snaps); err != nil {
		return nil, fmt.Errorf("snapshots: %w", err)
	}
	kept := make([]json.RawMessage, 0, len(keep))
	for _, s := range snaps {
		var id struct {
			SnapshotID *int64 `json:"snapshot-id"`
		}
		if err := json.Unmarshal(s, &id); err != nil {
			return nil, fmt.Errorf("snapshots: %w", err)
		}
		if id.SnapshotID == nil {
			return nil, errors.New("snapshots: snapshot without snapshot-id")
		}
		if keep[*id.SnapshotID] {
			kept = append(kept, s)
		}
	}
	if len(kept) == len(snaps) {
		return doc, nil
	}
	if top["snapshots"], ok = marshalNoEscape(kept); !ok {
		return nil, errors.New("snapshots: re-encoding failed")
	}
	out, ok := marshalNoEscape(top)
	if !ok {
		return nil, errors.New("re-encoding failed")
	}
	return out, nil
}

func marshalNoEscape(v any) (json.RawMessage, bool) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, false
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), true
}

// removedMetadataFiles lists the metadata files that base's log had and
// next's log no longer has, when next asks for them to be deleted
// (write.metadata.delete-after-commit.enabled). iceberg-go does this only
// inside its client-side commit (table.deleteOldMetadata, unexported).
func removedMetadataFiles(base, next table.Metadata) []string {
	if base == nil || !next.Properties().GetBool(table.MetadataDeleteAfterCommitEnabledKey, table.MetadataDeleteAfterCommitEnabledDefault) {
		return nil
	}
	kept := map[string]bool{}
	for e := range next.PreviousFiles() {
		kept[e.MetadataFile] = true
	}
	var out []string
	for e := range base.PreviousFiles() {
		if !kept[e.MetadataFile] {
			out = append(out, e.MetadataFile)
		}
	}
	return out
}

// ETag is the entity tag of a table's metadata file, as loads and commits
// answer it.
func ETag(metadataLocation string) string { return etag(metadataLocation, SnapshotsAll) }

// MetadataDocument returns the metadata document (JSON, decompressed) of
// the file at loc. Metadata files never change, so this is the document a
// commit that wrote loc answered with.
func (s *Service) MetadataDocument(ctx context.Context, loc string) ([]byte, error) {
	raw, err := s.io.Read(ctx, loc)
	if err != nil {
		return nil, err
	}
	doc, err := decodeMetadataFile(raw)
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "Cannot read metadata file %s", loc)
	}
	return doc, nil
}
