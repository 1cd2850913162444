package catalog

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"path"
	"strings"

	"github.com/apache/iceberg-go/table"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/vend"
)

// This file holds where tables may live (inside their warehouse) and the
// access to their files that clients get (vend.Vendor per warehouse).

// storagePathKeys are the properties that place an entity's files outside
// its location; they must stay inside the warehouse too.
var storagePathKeys = []string{
	table.WriteDataPathKey, table.WriteMetadataPathKey,
	"write.object-storage.path", "write.folder-storage.path",
}

// checkLocations refuses a table or view whose location, or a property
// placing its files, lies outside its warehouse's location, unless the
// warehouse allows external locations.
func (s *Service) checkLocations(warehouse, location string, props map[string]string) error {
	if err := s.checkInside(warehouse, "Location", location); err != nil {
		return err
	}
	for _, k := range storagePathKeys {
		if v := props[k]; v != "" {
			if err := s.checkInside(warehouse, "Property "+k, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkInside refuses loc outside the warehouse (what names it in the
// message).
func (s *Service) checkInside(warehouse, what, loc string) error {
	// Object stores take keys literally while paths are compared cleaned:
	// "a/../b" must not pass as inside "a" and then be written as is.
	if u, err := url.Parse(loc); err == nil {
		if p := strings.TrimSuffix(u.Path, "/"); p != "" && path.Clean(p) != p {
			return errs.New(errs.BadRequest, "%s %s must not contain empty, '.' or '..' segments", what, loc)
		}
	}
	if s.opts.ExternalLocations[warehouse] {
		return nil
	}
	whLoc, err := s.warehouseLocation(warehouse)
	if err != nil {
		return err
	}
	if !insideLocation(whLoc, loc) {
		return errs.New(errs.BadRequest, "%s %s is outside the location %s of warehouse %s", what, loc, whLoc, warehouse)
	}
	return nil
}

// locationsChanged reports whether a commit moves an entity's files: a new
// location or a changed path property. Only then are locations checked
// again, so tables placed before the rule (or by an allowed register)
// keep taking commits.
func locationsChanged(baseLoc, nextLoc string, baseProps, nextProps map[string]string) bool {
	if baseLoc != nextLoc {
		return true
	}
	for _, k := range storagePathKeys {
		if baseProps[k] != nextProps[k] {
			return true
		}
	}
	return false
}

// AccessRequest asks for delegated access to a table's files along with
// the table: the mechanisms the client accepts and the access it may have.
type AccessRequest struct {
	Delegation vend.Delegation
	Mode       vend.Mode
}

// vendor is the warehouse's Vendor, nil when it delegates nothing.
func (s *Service) vendor(warehouse string) vend.Vendor {
	if s.opts.Vendors == nil {
		return nil
	}
	return s.opts.Vendors.Vendor(warehouse)
}

// grant returns the access for a table at location with properties props.
func (s *Service) grant(ctx context.Context, warehouse, location string, props map[string]string, req AccessRequest) (vend.Grant, error) {
	v := s.vendor(warehouse)
	if v == nil {
		return vend.Grant{}, nil
	}
	return v.Grant(ctx, tableScope(location, props, req.Mode), req.Delegation)
}

// tableScope covers the table's location and the path properties that
// place its files elsewhere.
func tableScope(location string, props map[string]string, mode vend.Mode) vend.Scope {
	sc := vend.Scope{Locations: []string{location}, Mode: mode}
	for _, k := range storagePathKeys {
		if v := props[k]; v != "" && v != location && !insideLocation(location, v) {
			sc.Locations = append(sc.Locations, v)
		}
	}
	return sc
}

// locationOf reads the location and properties of table metadata. It
// reads the top-level fields in order and stops once it has both: iceberg-go
// writes them before the schemas' and snapshots' bulk, so a load that vends
// credentials does not decode the whole document.
func locationOf(id store.Ident, doc []byte) (string, map[string]string, error) {
	var (
		loc   string
		props map[string]string
		seen  int
	)
	noLocation := errs.New(errs.Internal, "Metadata of %s has no location", id)
	dec := json.NewDecoder(bytes.NewReader(doc))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return "", nil, noLocation
	}
	for seen < 2 && dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return "", nil, noLocation
		}
		switch key, _ := tok.(string); key {
		case "location":
			err = dec.Decode(&loc)
			seen++
		case "properties":
			err = dec.Decode(&props)
			seen++
		default:
			var skip json.RawMessage
			err = dec.Decode(&skip)
		}
		if err != nil {
			return "", nil, noLocation
		}
	}
	if loc == "" {
		return "", nil, noLocation
	}
	return loc, props, nil
}

// TableAccess returns the delegated access for the table id whose metadata
// is doc (as LoadTable or RegisterTable returned it). Without a Vendor for
// the warehouse the grant is empty.
func (s *Service) TableAccess(ctx context.Context, id store.Ident, doc []byte, req AccessRequest) (vend.Grant, error) {
	if s.vendor(id.Warehouse) == nil {
		return vend.Grant{}, nil
	}
	loc, props, err := locationOf(id, doc)
	if err != nil {
		return vend.Grant{}, err
	}
	return s.grant(ctx, id.Warehouse, loc, props, req)
}

// LoadCredentials returns credentials for the table's files (none when the
// warehouse vends none).
func (s *Service) LoadCredentials(ctx context.Context, id store.Ident, mode vend.Mode) ([]vend.Credential, error) {
	e, err := s.loadEntity(ctx, store.KindTable, id)
	if err != nil {
		return nil, err
	}
	v := s.vendor(id.Warehouse)
	if v == nil {
		return nil, nil
	}
	loc, props, err := locationOf(id, e.Metadata)
	if err != nil {
		return nil, err
	}
	return v.Credentials(ctx, tableScope(loc, props, mode))
}

// SignRequest signs a client's request to the table's storage if it
// addresses the table's files (Forbidden otherwise).
func (s *Service) SignRequest(ctx context.Context, id store.Ident, mode vend.Mode, r vend.SignRequest) (vend.SignedRequest, error) {
	e, err := s.loadEntity(ctx, store.KindTable, id)
	if err != nil {
		return vend.SignedRequest{}, err
	}
	v := s.vendor(id.Warehouse)
	if v == nil {
		return vend.SignedRequest{}, errs.New(errs.BadRequest, "Warehouse %s does not sign requests: its storage needs no credentials", id.Warehouse)
	}
	loc, props, err := locationOf(id, e.Metadata)
	if err != nil {
		return vend.SignedRequest{}, err
	}
	return v.Sign(ctx, tableScope(loc, props, mode), r)
}
