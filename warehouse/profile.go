package warehouse

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/bingsan/bingsan/config"
	"github.com/bingsan/bingsan/vend"
)

// VendWarehouse is w as package vend serves it.
func VendWarehouse(w config.WarehouseConfig) vend.Warehouse {
	return vend.Warehouse{Name: w.Name, Location: w.Location, Profile: vend.Profile{
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
	}}
}

// settings is the stored form of a warehouse's settings: everything but
// its name, location and secrets (the warehouses table's settings column).
type settings struct {
	TableLayout            string        `json:"table-layout"`
	AllowExternalLocations bool          `json:"allow-external-locations"`
	VendedCredentials      bool          `json:"vended-credentials"`
	RemoteSigning          bool          `json:"remote-signing"`
	CredentialDuration     time.Duration `json:"credential-duration-ns"`
	S3                     struct {
		Endpoint    string `json:"endpoint,omitempty"`
		Region      string `json:"region,omitempty"`
		PathStyle   bool   `json:"path-style,omitempty"`
		AccessKeyID string `json:"access-key-id,omitempty"`
		RoleARN     string `json:"role-arn,omitempty"`
		STSEndpoint string `json:"sts-endpoint,omitempty"`
	} `json:"s3"`
	GCS struct {
		Endpoint        string `json:"endpoint,omitempty"`
		CredentialsFile string `json:"credentials-file,omitempty"`
		NoAuth          bool   `json:"no-auth,omitempty"`
		STSEndpoint     string `json:"sts-endpoint,omitempty"`
	} `json:"gcs"`
	Azure struct {
		Endpoint string `json:"endpoint,omitempty"`
		TenantID string `json:"tenant-id,omitempty"`
		ClientID string `json:"client-id,omitempty"`
		SASScope string `json:"sas-scope,omitempty"`
	} `json:"azure"`
}

// secrets are the values of a storage profile that are stored sealed and
// never shown.
type secrets struct {
	S3SecretAccessKey  string `json:"s3.secret-access-key,omitempty"`
	GCSCredentialsJSON string `json:"gcs.credentials-json,omitempty"`
	AzureAccountKey    string `json:"azure.account-key,omitempty"`
	AzureClientSecret  string `json:"azure.client-secret,omitempty"`
}

// Names lists the secrets that are set, by their configuration key.
func (s secrets) names() []string {
	var out []string
	for _, f := range []struct{ name, v string }{
		{"s3.secret-access-key", s.S3SecretAccessKey}, {"gcs.credentials-json", s.GCSCredentialsJSON},
		{"azure.account-key", s.AzureAccountKey}, {"azure.client-secret", s.AzureClientSecret},
	} {
		if f.v != "" {
			out = append(out, f.name)
		}
	}
	return out
}

func split(w config.WarehouseConfig) (settings, secrets) {
	var st settings
	st.TableLayout = w.TableLayout
	st.AllowExternalLocations = w.AllowExternalLocations
	st.VendedCredentials = w.VendedCredentials
	st.RemoteSigning = w.RemoteSigning
	st.CredentialDuration = w.CredentialDuration
	st.S3.Endpoint, st.S3.Region, st.S3.PathStyle = w.S3.Endpoint, w.S3.Region, w.S3.PathStyle
	st.S3.AccessKeyID, st.S3.RoleARN, st.S3.STSEndpoint = w.S3.AccessKeyID, w.S3.RoleARN, w.S3.STSEndpoint
	st.GCS.Endpoint, st.GCS.CredentialsFile, st.GCS.NoAuth, st.GCS.STSEndpoint = w.GCS.Endpoint, w.GCS.CredentialsFile, w.GCS.NoAuth, w.GCS.STSEndpoint
	st.Azure.Endpoint, st.Azure.TenantID, st.Azure.ClientID, st.Azure.SASScope = w.Azure.Endpoint, w.Azure.TenantID, w.Azure.ClientID, w.Azure.SASScope
	sec := secrets{
		S3SecretAccessKey: w.S3.SecretAccessKey, GCSCredentialsJSON: w.GCS.CredentialsJSON,
		AzureAccountKey: w.Azure.AccountKey, AzureClientSecret: w.Azure.ClientSecret,
	}
	return st, sec
}

func join(name, location string, st settings, sec secrets) config.WarehouseConfig {
	w := config.NewWarehouse(name, location)
	w.TableLayout = st.TableLayout
	w.AllowExternalLocations = st.AllowExternalLocations
	w.VendedCredentials = st.VendedCredentials
	w.RemoteSigning = st.RemoteSigning
	w.CredentialDuration = st.CredentialDuration
	w.S3 = config.S3Config{Endpoint: st.S3.Endpoint, Region: st.S3.Region, PathStyle: st.S3.PathStyle,
		AccessKeyID: st.S3.AccessKeyID, SecretAccessKey: sec.S3SecretAccessKey, RoleARN: st.S3.RoleARN, STSEndpoint: st.S3.STSEndpoint}
	w.GCS = config.GCSConfig{Endpoint: st.GCS.Endpoint, CredentialsFile: st.GCS.CredentialsFile,
		CredentialsJSON: sec.GCSCredentialsJSON, NoAuth: st.GCS.NoAuth, STSEndpoint: st.GCS.STSEndpoint}
	w.Azure = config.AzureConfig{Endpoint: st.Azure.Endpoint, AccountKey: sec.AzureAccountKey, TenantID: st.Azure.TenantID,
		ClientID: st.Azure.ClientID, ClientSecret: sec.AzureClientSecret, SASScope: st.Azure.SASScope}
	return w
}

func decodeSettings(name string, b []byte) (settings, error) {
	var st settings
	if err := json.Unmarshal(b, &st); err != nil {
		return settings{}, fmt.Errorf("warehouse %s: stored settings: %w", name, err)
	}
	return st, nil
}
