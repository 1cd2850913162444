package server

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/bingsan/bingsan/config"
	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/gen/managementapi"
	"github.com/bingsan/bingsan/warehouse"
)

// The warehouses the server serves come from Options.Registry (changed at
// runtime) or, without one, from the fixed Options.Warehouses.

// serving checks that requests may use the named warehouse.
func (s *Server) serving(name string) error {
	if r := s.opts.Registry; r != nil {
		_, err := r.Serving(name)
		return err
	}
	if _, ok := s.opts.Warehouses[name]; !ok {
		return errs.New(errs.NoSuchWarehouse, "Warehouse does not exist: %s", name)
	}
	return nil
}

// findWarehouse finds a warehouse by name or location.
func (s *Server) findWarehouse(v string) (string, bool) {
	if r := s.opts.Registry; r != nil {
		return r.ByNameOrLocation(v)
	}
	return warehouseByNameOrLocation(s.opts.Warehouses, v)
}

// warehouseNames lists the warehouses by name.
func (s *Server) warehouseNames() []string {
	if r := s.opts.Registry; r != nil {
		return slices.Clone(r.Names())
	}
	names := make([]string, 0, len(s.opts.Warehouses))
	for name := range s.opts.Warehouses {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

func (m *managementAPI) registry() (*warehouse.Registry, error) {
	if m.srv.opts.Registry == nil {
		return nil, errs.New(errs.NotImplemented, "This server does not manage warehouses at runtime")
	}
	return m.srv.opts.Registry, nil
}

// warehouseAdmin checks the caller may manage warehouses and returns the
// registry.
func (m *managementAPI) warehouseAdmin(ctx context.Context) (*warehouse.Registry, error) {
	if m.auth != nil {
		if err := m.admin(ctx); err != nil {
			return nil, err
		}
	}
	return m.registry()
}

func warehouseOut(e warehouse.Entry) managementapi.Warehouse {
	w := e.Config
	out := managementapi.Warehouse{
		Name: w.Name, Location: w.Location, Active: e.Active, ManagedBy: managementapi.WarehouseManagedBy(e.Source),
		Secrets: nonNil(e.Secrets), TableLayout: w.TableLayout, AllowExternalLocations: w.AllowExternalLocations,
		VendedCredentials: w.VendedCredentials, RemoteSigning: w.RemoteSigning,
		CredentialDuration: w.CredentialDuration.String(),
		CreatedAt:          optTime(e.CreatedAt.UTC()), UpdatedAt: optTime(e.UpdatedAt.UTC()),
	}
	typ, _ := storageTypeOf(w.Location)
	out.Storage.Type = managementapi.StorageType(typ)
	// Secrets are never copied out: only their names (Secrets).
	switch typ {
	case "s3":
		out.Storage.S3 = &managementapi.S3Profile{Endpoint: optString(w.S3.Endpoint), Region: optString(w.S3.Region),
			PathStyle: &w.S3.PathStyle, AccessKeyId: optString(w.S3.AccessKeyID), RoleArn: optString(w.S3.RoleARN),
			StsEndpoint: optString(w.S3.STSEndpoint)}
	case "gcs":
		out.Storage.Gcs = &managementapi.GcsProfile{Endpoint: optString(w.GCS.Endpoint), CredentialsFile: optString(w.GCS.CredentialsFile),
			NoAuth: &w.GCS.NoAuth, StsEndpoint: optString(w.GCS.STSEndpoint)}
	case "azure":
		scope := managementapi.AzureProfileSasScope(w.Azure.SASScope)
		out.Storage.Azure = &managementapi.AzureProfile{Endpoint: optString(w.Azure.Endpoint), TenantId: optString(w.Azure.TenantID),
			ClientId: optString(w.Azure.ClientID), SasScope: &scope}
	}
	return out
}

func optString(v string) *string {
	if v == "" {
		return nil
	}
	return &v
}

// storageTypeOf is the storage type a location's scheme calls for.
func storageTypeOf(location string) (string, bool) {
	if strings.HasPrefix(location, "/") {
		return "file", true
	}
	u, err := url.Parse(location)
	if err != nil {
		return "", false
	}
	switch strings.ToLower(u.Scheme) {
	case "file":
		return "file", true
	case "s3", "s3a", "s3n":
		return "s3", true
	case "gs":
		return "gcs", true
	case "abfs", "abfss", "wasb", "wasbs":
		return "azure", true
	}
	return "", false
}

// applySettings sets the settings given on w.
func applySettings(w *config.WarehouseConfig, in managementapi.WarehouseSettings) error {
	if in.TableLayout != nil {
		w.TableLayout = string(*in.TableLayout)
	}
	if in.AllowExternalLocations != nil {
		w.AllowExternalLocations = *in.AllowExternalLocations
	}
	if in.VendedCredentials != nil {
		w.VendedCredentials = *in.VendedCredentials
	}
	if in.RemoteSigning != nil {
		w.RemoteSigning = *in.RemoteSigning
	}
	if in.CredentialDuration != nil {
		d, err := time.ParseDuration(strings.TrimSpace(*in.CredentialDuration))
		if err != nil {
			return errs.New(errs.BadRequest, "Invalid credential-duration %q: want a duration such as 1h or 30m", *in.CredentialDuration)
		}
		w.CredentialDuration = d
	}
	return nil
}

// applyStorage replaces the section of w's storage profile that p gives;
// a secret p leaves out keeps its value.
func applyStorage(w *config.WarehouseConfig, p managementapi.StorageProfile) error {
	want, ok := storageTypeOf(w.Location)
	if !ok {
		return errs.New(errs.BadRequest, "Invalid warehouse location %q: storage is one of file://, s3://, gs://, abfs[s]:// or wasb[s]://", w.Location)
	}
	switch p.Type {
	case "file", "s3", "gcs", "azure":
	default:
		return errs.New(errs.BadRequest, "Unknown storage type %q: want file, s3, gcs or azure", p.Type)
	}
	if string(p.Type) != want {
		return errs.New(errs.BadRequest, "Storage type %s does not match location %s (%s storage)", p.Type, w.Location, want)
	}
	str := func(v *string, keep string) string {
		if v == nil {
			return keep
		}
		return *v
	}
	def := config.NewWarehouse("", "")
	switch want {
	case "s3":
		in := managementapi.S3Profile{}
		if p.S3 != nil {
			in = *p.S3
		}
		s3 := def.S3
		s3.Endpoint, s3.Region, s3.AccessKeyID = str(in.Endpoint, ""), str(in.Region, def.S3.Region), str(in.AccessKeyId, "")
		s3.RoleARN, s3.STSEndpoint = str(in.RoleArn, ""), str(in.StsEndpoint, "")
		s3.PathStyle = in.PathStyle != nil && *in.PathStyle
		s3.SecretAccessKey = str(in.SecretAccessKey, w.S3.SecretAccessKey)
		w.S3 = s3
	case "gcs":
		in := managementapi.GcsProfile{}
		if p.Gcs != nil {
			in = *p.Gcs
		}
		w.GCS = config.GCSConfig{Endpoint: str(in.Endpoint, ""), CredentialsFile: str(in.CredentialsFile, ""),
			CredentialsJSON: str(in.CredentialsJson, w.GCS.CredentialsJSON), NoAuth: in.NoAuth != nil && *in.NoAuth,
			STSEndpoint: str(in.StsEndpoint, "")}
	case "azure":
		in := managementapi.AzureProfile{}
		if p.Azure != nil {
			in = *p.Azure
		}
		scope := def.Azure.SASScope
		if in.SasScope != nil {
			scope = string(*in.SasScope)
		}
		w.Azure = config.AzureConfig{Endpoint: str(in.Endpoint, ""), AccountKey: str(in.AccountKey, w.Azure.AccountKey),
			TenantID: str(in.TenantId, ""), ClientID: str(in.ClientId, ""),
			ClientSecret: str(in.ClientSecret, w.Azure.ClientSecret), SASScope: scope}
	}
	return nil
}

func (m *managementAPI) ListWarehouses(ctx context.Context, _ managementapi.ListWarehousesRequestObject) (managementapi.ListWarehousesResponseObject, error) {
	r, err := m.warehouseAdmin(ctx)
	if err != nil {
		return nil, err
	}
	out := managementapi.WarehouseList{Warehouses: []managementapi.Warehouse{}}
	for _, name := range r.Names() {
		if e, ok := r.Get(name); ok {
			out.Warehouses = append(out.Warehouses, warehouseOut(e))
		}
	}
	return managementapi.ListWarehouses200JSONResponse(out), nil
}

func (m *managementAPI) CreateWarehouse(ctx context.Context, req managementapi.CreateWarehouseRequestObject) (managementapi.CreateWarehouseResponseObject, error) {
	b := req.Body
	target(ctx, "warehouse %s", b.Name)
	r, err := m.warehouseAdmin(ctx)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(b.Name) == "" || strings.TrimSpace(b.Location) == "" {
		return nil, errs.New(errs.BadRequest, "A warehouse needs a name and a location")
	}
	w := config.NewWarehouse(b.Name, b.Location)
	settings := managementapi.WarehouseSettings{TableLayout: (*managementapi.WarehouseSettingsTableLayout)(b.TableLayout),
		AllowExternalLocations: b.AllowExternalLocations, VendedCredentials: b.VendedCredentials,
		RemoteSigning: b.RemoteSigning, CredentialDuration: b.CredentialDuration}
	if err := applySettings(&w, settings); err != nil {
		return nil, err
	}
	if err := applyStorage(&w, b.Storage); err != nil {
		return nil, err
	}
	e, err := r.Create(ctx, w)
	if err != nil {
		return nil, err
	}
	return managementapi.CreateWarehouse201JSONResponse(warehouseOut(e)), nil
}

func (m *managementAPI) GetWarehouse(ctx context.Context, req managementapi.GetWarehouseRequestObject) (managementapi.GetWarehouseResponseObject, error) {
	r, err := m.warehouseAdmin(ctx)
	if err != nil {
		return nil, err
	}
	e, ok := r.Get(req.Warehouse)
	if !ok {
		return nil, errs.New(errs.NoSuchWarehouse, "Warehouse does not exist: %s", req.Warehouse)
	}
	return managementapi.GetWarehouse200JSONResponse(warehouseOut(e)), nil
}

func (m *managementAPI) UpdateWarehouse(ctx context.Context, req managementapi.UpdateWarehouseRequestObject) (managementapi.UpdateWarehouseResponseObject, error) {
	target(ctx, "warehouse %s", req.Warehouse)
	r, err := m.warehouseAdmin(ctx)
	if err != nil {
		return nil, err
	}
	b := req.Body
	e, err := r.Update(ctx, req.Warehouse, func(w *config.WarehouseConfig) error {
		settings := managementapi.WarehouseSettings{TableLayout: (*managementapi.WarehouseSettingsTableLayout)(b.TableLayout),
			AllowExternalLocations: b.AllowExternalLocations, VendedCredentials: b.VendedCredentials,
			RemoteSigning: b.RemoteSigning, CredentialDuration: b.CredentialDuration}
		if err := applySettings(w, settings); err != nil {
			return err
		}
		if b.Storage != nil {
			return applyStorage(w, *b.Storage)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return managementapi.UpdateWarehouse200JSONResponse(warehouseOut(e)), nil
}

func (m *managementAPI) DeleteWarehouse(ctx context.Context, req managementapi.DeleteWarehouseRequestObject) (managementapi.DeleteWarehouseResponseObject, error) {
	cascade := req.Params.Cascade != nil && *req.Params.Cascade
	target(ctx, "warehouse %s (cascade %t)", req.Warehouse, cascade)
	r, err := m.warehouseAdmin(ctx)
	if err != nil {
		return nil, err
	}
	cat := m.srv.opts.Catalog
	if err := r.Remove(ctx, req.Warehouse, cascade, cat.DropWarehouseContents, cat.PurgeOnce); err != nil {
		return nil, err
	}
	return managementapi.DeleteWarehouse204Response{}, nil
}

func (m *managementAPI) RenameWarehouse(ctx context.Context, req managementapi.RenameWarehouseRequestObject) (managementapi.RenameWarehouseResponseObject, error) {
	target(ctx, "warehouse %s to %s", req.Warehouse, req.Body.NewName)
	r, err := m.warehouseAdmin(ctx)
	if err != nil {
		return nil, err
	}
	e, err := r.Rename(ctx, req.Warehouse, req.Body.NewName)
	if err != nil {
		return nil, err
	}
	return managementapi.RenameWarehouse200JSONResponse(warehouseOut(e)), nil
}

func (m *managementAPI) DeactivateWarehouse(ctx context.Context, req managementapi.DeactivateWarehouseRequestObject) (managementapi.DeactivateWarehouseResponseObject, error) {
	target(ctx, "warehouse %s", req.Warehouse)
	r, err := m.warehouseAdmin(ctx)
	if err != nil {
		return nil, err
	}
	e, err := r.SetActive(ctx, req.Warehouse, false)
	if err != nil {
		return nil, err
	}
	return managementapi.DeactivateWarehouse200JSONResponse(warehouseOut(e)), nil
}

func (m *managementAPI) ReactivateWarehouse(ctx context.Context, req managementapi.ReactivateWarehouseRequestObject) (managementapi.ReactivateWarehouseResponseObject, error) {
	target(ctx, "warehouse %s", req.Warehouse)
	r, err := m.warehouseAdmin(ctx)
	if err != nil {
		return nil, err
	}
	e, err := r.SetActive(ctx, req.Warehouse, true)
	if err != nil {
		return nil, err
	}
	return managementapi.ReactivateWarehouse200JSONResponse(warehouseOut(e)), nil
}
