package catalog

import (
	"bytes"
	"context"
	"encoding/json"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/vend"
)

// This file holds the access to tables' files that clients get
// (vend.Vendor per warehouse); where files may be is locations.go's.

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
	locKey, _ := vend.LocationKey(location)
	for _, k := range storagePathKeys {
		v := props[k]
		if v == "" {
			continue
		}
		if key, err := vend.LocationKey(v); err == nil && locKey != "" && (key == locKey || within(locKey, key)) {
			continue
		}
		sc.Locations = append(sc.Locations, v)
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

// SignsRequests reports whether signRequest can succeed for the tables of
// warehouse: its storage has a vendor that signs (S3 with remote signing
// enabled); GCS, Azure and local storage never do.
func (s *Service) SignsRequests(warehouse string) bool {
	signer, ok := s.vendor(warehouse).(vend.RemoteSigner)
	return ok && signer.SignsRequests()
}
