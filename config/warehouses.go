package config

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// The default warehouse is configured by the warehouse.* keys; the
// `warehouses` key lists further ones. Each list entry takes the same keys
// without the "warehouse." prefix and is read by the same code: the entry
// is applied as the warehouse section of a fresh Config, so the key table
// stays the one place that declares a warehouse setting.

// Credential lifetimes STS accepts.
const (
	minCredentialDuration = 15 * time.Minute
	maxCredentialDuration = 12 * time.Hour
)

// AllWarehouses returns the default warehouse followed by the others.
func (c Config) AllWarehouses() []WarehouseConfig {
	return append([]WarehouseConfig{c.Warehouse}, c.Warehouses...)
}

// shown is how a value of k appears in messages: secrets never do.
func (k *key) shown(v string) string {
	if k.secret && v != "" {
		return "[redacted]"
	}
	return v
}

// parseWarehouseList reads the list from a flag or environment variable:
// YAML (flow) text.
func parseWarehouseList(s string) ([]WarehouseConfig, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(s), &doc); err != nil {
		return nil, fmt.Errorf("want a YAML list of warehouses: %v", err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, nil
	}
	root := doc.Content[0]
	return warehouseList(keyWarehouses, root, root.Kind == yaml.ScalarNode && root.Tag == "!!null")
}

// warehouseList reads a sequence node of warehouse entries; path names the
// source in messages.
func warehouseList(path string, n *yaml.Node, isNull bool) ([]WarehouseConfig, error) {
	if isNull {
		return nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("config: %s:%d: %s: want a list of warehouses", path, n.Line, keyWarehouses)
	}
	var out []WarehouseConfig
	var errs []error
	for _, item := range n.Content {
		if item.Kind == yaml.AliasNode {
			item = item.Alias
		}
		if item.Kind != yaml.MappingNode {
			errs = append(errs, fmt.Errorf("config: %s:%d: %s: each warehouse is a mapping of keys", path, item.Line, keyWarehouses))
			continue
		}
		c := base()
		set := map[string]bool{}
		var itemErrs []error
		walkYAML(&c, path, "warehouse", item, set, &itemErrs)
		itemErrs = append(itemErrs, bothSecretSources(set, fmt.Sprintf("%s:%d: %s: ", path, item.Line, keyWarehouses))...)
		for _, k := range []string{"warehouse.name", keyWarehouseLoc} {
			if !set[k] {
				itemErrs = append(itemErrs, fmt.Errorf("config: %s:%d: %s: a warehouse needs %s", path, item.Line, keyWarehouses, strings.TrimPrefix(k, "warehouse.")))
			}
		}
		if len(itemErrs) > 0 {
			errs = append(errs, itemErrs...)
			continue
		}
		out = append(out, c.Warehouse)
	}
	return out, errors.Join(errs...)
}

// formatWarehouseList names the warehouses (their settings may hold
// secrets, so they are never rendered).
func formatWarehouseList(ws []WarehouseConfig) string {
	names := make([]string, len(ws))
	for i, w := range ws {
		names[i] = w.Name
	}
	return strings.Join(names, ",")
}

// validateWarehouses checks what the key rules cannot: unique names, and
// each warehouse's location and storage profile.
func (c Config) validateWarehouses() []error {
	var errs []error
	seen := map[string]bool{}
	for i, w := range c.AllWarehouses() {
		label := "warehouse"
		if i > 0 {
			label = fmt.Sprintf("%s[%d] (%s)", keyWarehouses, i-1, w.Name)
		}
		if i > 0 && seen[w.Name] {
			errs = append(errs, fmt.Errorf("config: %s: name %q is used by another warehouse", label, w.Name))
		}
		seen[w.Name] = true
		for _, p := range warehouseProblems(w, i > 0) {
			errs = append(errs, fmt.Errorf("config: %s: %s", label, p))
		}
	}
	return errs
}

// NewWarehouse returns a warehouse with every setting at its default
// (warehouse.* keys), for warehouses created at runtime.
func NewWarehouse(name, location string) WarehouseConfig {
	w := base().Warehouse
	w.Name, w.Location = name, location
	return w
}

// WarehouseProblems lists what is wrong with w, as the list entries of the
// configuration file are checked (the management API checks the
// warehouses it creates and updates with it); nil when nothing is.
func WarehouseProblems(w WarehouseConfig) []string {
	return warehouseProblems(w, true)
}

// warehouseProblems checks one warehouse; listed marks the entries of the
// warehouses list (and runtime warehouses), which must name everything the
// default warehouse may leave to defaults.
func warehouseProblems(w WarehouseConfig, listed bool) []string {
	var out []string
	bad := func(format string, args ...any) {
		out = append(out, fmt.Sprintf(format, args...))
	}
	if listed && (strings.TrimSpace(w.Name) == "" || strings.TrimSpace(w.Location) == "") {
		bad("name and location must not be empty")
	}
	if strings.ContainsAny(w.Name, "/%\x1f") {
		bad("name %q must not contain '/', '%%' or 0x1F", w.Name)
	}
	if u, err := url.Parse(w.Location); err == nil && u.Scheme != "" {
		switch strings.ToLower(u.Scheme) {
		case "file", "s3", "s3a", "s3n", "gs":
			if u.Scheme != "file" && u.Host == "" {
				bad("location %q names no bucket", w.Location)
			}
		case "abfs", "abfss", "wasb", "wasbs":
			if u.User == nil || u.User.Username() == "" || u.Host == "" {
				bad("location %q must name a container and a storage account: %s://<container>@<account>.dfs.core.windows.net/<path>", w.Location, u.Scheme)
			}
		default:
			bad("location %q: storage %q is not supported (file, s3, gs, abfs, abfss, wasb, wasbs)", w.Location, u.Scheme)
		}
	} else if !strings.HasPrefix(w.Location, "/") && w.Location != "" {
		bad("location %q is not a URI or an absolute path", w.Location)
	}
	if w.CredentialDuration < minCredentialDuration || w.CredentialDuration > maxCredentialDuration {
		bad("credential-duration %s must be between 15m and 12h", formatDuration(w.CredentialDuration))
	}
	if w.TableLayout != "name-uuid" && w.TableLayout != "name" {
		bad("table-layout %q must be name-uuid or name", w.TableLayout)
	}
	if (w.S3.AccessKeyID == "") != (w.S3.SecretAccessKey == "") {
		bad("s3.access-key-id and s3.secret-access-key must be set together")
	}
	for _, ep := range []struct{ name, v string }{
		{"s3.endpoint", w.S3.Endpoint}, {"s3.sts-endpoint", w.S3.STSEndpoint},
	} {
		if ep.v == "" {
			continue
		}
		if u, err := url.Parse(ep.v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("%s %q is not an http(s) URL", ep.name, ep.v)
		}
	}
	if listed && strings.TrimSpace(w.S3.Region) == "" {
		bad("s3.region must not be empty")
	}
	for _, ep := range []struct{ name, v string }{
		{"gcs.endpoint", w.GCS.Endpoint}, {"gcs.sts-endpoint", w.GCS.STSEndpoint}, {"azure.endpoint", w.Azure.Endpoint},
	} {
		if ep.v == "" {
			continue
		}
		if u, err := url.Parse(ep.v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("%s %q is not an http(s) URL", ep.name, ep.v)
		}
	}
	if w.GCS.CredentialsFile != "" && w.GCS.CredentialsJSON != "" {
		bad("gcs.credentials-file and gcs.credentials-json exclude each other")
	}
	if w.GCS.NoAuth && (w.GCS.CredentialsFile != "" || w.GCS.CredentialsJSON != "") {
		bad("gcs.no-auth excludes gcs.credentials-file and gcs.credentials-json")
	}
	if a := w.Azure; (a.TenantID == "") != (a.ClientID == "") || (a.ClientID == "") != (a.ClientSecret == "") {
		bad("azure.tenant-id, azure.client-id and azure.client-secret must be set together")
	}
	if sc := w.Azure.SASScope; sc != "directory" && sc != "container" {
		bad("azure.sas-scope %q must be directory or container", sc)
	}
	return out
}
