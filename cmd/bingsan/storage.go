package main

import (
	"context"

	"github.com/bingsan/bingsan/config"
	"github.com/bingsan/bingsan/metrics"
	"github.com/bingsan/bingsan/vend"
)

// openStorage builds the storage of every configured warehouse (one FileIO
// and a Vendor per warehouse) and returns with it the warehouses' locations
// and those allowing external locations, by name. Local warehouse
// directories are created up front, so a misconfigured path fails at
// start-up rather than on the first create; object stores are not
// contacted (one that is down answers 503 per request).
// placement is what the catalog needs of the warehouses' configuration.
type placement struct {
	locations map[string]string
	external  map[string]bool
	nameOnly  map[string]bool
}

func openStorage(ctx context.Context, cfg config.Config, m *metrics.Metrics) (*vend.Storage, placement, error) {
	all := cfg.AllWarehouses()
	whs := make([]vend.Warehouse, 0, len(all))
	pl := placement{locations: map[string]string{}, external: map[string]bool{}, nameOnly: map[string]bool{}}
	for _, w := range all {
		if err := ensureLocalWarehouse(w.Location); err != nil {
			return nil, placement{}, err
		}
		pl.locations[w.Name] = w.Location
		pl.external[w.Name] = w.AllowExternalLocations
		pl.nameOnly[w.Name] = w.TableLayout == "name"
		whs = append(whs, vend.Warehouse{Name: w.Name, Location: w.Location, Profile: vend.Profile{
			VendedCredentials:  w.VendedCredentials,
			RemoteSigning:      w.RemoteSigning,
			CredentialDuration: w.CredentialDuration,
			S3: vend.S3Config{
				Endpoint:        w.S3.Endpoint,
				Region:          w.S3.Region,
				PathStyle:       w.S3.PathStyle,
				AccessKeyID:     w.S3.AccessKeyID,
				SecretAccessKey: vend.Secret(w.S3.SecretAccessKey),
				RoleARN:         w.S3.RoleARN,
				STSEndpoint:     w.S3.STSEndpoint,
			},
			GCS: vend.GCSConfig{
				Endpoint:        w.GCS.Endpoint,
				CredentialsFile: w.GCS.CredentialsFile,
				CredentialsJSON: vend.Secret(w.GCS.CredentialsJSON),
				NoAuth:          w.GCS.NoAuth,
				STSEndpoint:     w.GCS.STSEndpoint,
			},
			Azure: vend.AzureConfig{
				Endpoint:     w.Azure.Endpoint,
				AccountKey:   vend.Secret(w.Azure.AccountKey),
				TenantID:     w.Azure.TenantID,
				ClientID:     w.Azure.ClientID,
				ClientSecret: vend.Secret(w.Azure.ClientSecret),
				SASScope:     w.Azure.SASScope,
			},
		}})
	}
	storage, err := vend.Open(ctx, whs, vend.Options{Metrics: m})
	if err != nil {
		return nil, placement{}, err
	}
	return storage, pl, nil
}
