package warehouse

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/bingsan/bingsan/config"
	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/vend"
)

// The management operations. Each checks its input first and changes
// nothing on error; the store serializes them and checks names and
// locations atomically; the registry reloads before returning, so the
// node that made a change serves it at once.

// Create stores a new warehouse, active.
func (r *Registry) Create(ctx context.Context, w config.WarehouseConfig) (Entry, error) {
	if err := r.check(w); err != nil {
		return Entry{}, err
	}
	if _, ok := r.config[w.Name]; ok {
		return Entry{}, errs.New(errs.AlreadyExists, "Warehouse already exists: %s (in the configuration file)", w.Name)
	}
	row, err := r.rowFor(w)
	if err != nil {
		return Entry{}, err
	}
	row.Active, row.Source = true, store.WarehouseFromAPI
	if err := r.st.CreateWarehouse(ctx, row, store.EventWarehouseCreated); err != nil {
		return Entry{}, err
	}
	return r.after(ctx, w.Name)
}

// Update applies change to the named warehouse's settings. Its name and
// location stay (a location change would move the files' ownership; create
// another warehouse instead).
func (r *Registry) Update(ctx context.Context, name string, change func(*config.WarehouseConfig) error) (Entry, error) {
	e, err := r.managed(name)
	if err != nil {
		return Entry{}, err
	}
	w := e.Config
	if err := change(&w); err != nil {
		return Entry{}, err
	}
	w.Name, w.Location = e.Config.Name, e.Config.Location
	if err := r.check(w); err != nil {
		return Entry{}, err
	}
	row, err := r.rowFor(w)
	if err != nil {
		return Entry{}, err
	}
	row.Active, row.Source = e.Active, e.Source
	if err := r.st.UpdateWarehouse(ctx, row, store.EventWarehouseUpdated); err != nil {
		return Entry{}, err
	}
	return r.after(ctx, name)
}

// SetActive deactivates or reactivates the named warehouse. A deactivated
// warehouse keeps its contents; requests for it answer Forbidden.
func (r *Registry) SetActive(ctx context.Context, name string, active bool) (Entry, error) {
	e, err := r.managed(name)
	if err != nil {
		return Entry{}, err
	}
	if e.Active == active {
		return e, nil
	}
	row, err := r.rowFor(e.Config)
	if err != nil {
		return Entry{}, err
	}
	row.Active, row.Source = active, e.Source
	event := store.EventWarehouseDeactivated
	if active {
		event = store.EventWarehouseReactivated
	}
	if err := r.st.UpdateWarehouse(ctx, row, event); err != nil {
		return Entry{}, err
	}
	return r.after(ctx, name)
}

// Rename renames the warehouse with everything in it.
func (r *Registry) Rename(ctx context.Context, from, to string) (Entry, error) {
	if _, err := r.managed(from); err != nil {
		return Entry{}, err
	}
	if err := checkName(to); err != nil {
		return Entry{}, err
	}
	if _, ok := r.config[to]; ok {
		return Entry{}, errs.New(errs.AlreadyExists, "Warehouse already exists: %s (in the configuration file)", to)
	}
	if _, ok := r.Get(to); ok {
		return Entry{}, errs.New(errs.AlreadyExists, "Warehouse already exists: %s", to)
	}
	if err := r.st.RenameWarehouse(ctx, from, to); err != nil {
		return Entry{}, err
	}
	return r.after(ctx, to)
}

// cascadePurgeWait bounds how long a cascading delete waits for the purge
// of the warehouse's files.
const cascadePurgeWait = time.Minute

// Dropper drops everything a warehouse holds, tables and views with purge
// (the catalog's DropWarehouseContents).
type Dropper func(ctx context.Context, warehouse string) error

// PurgeRunner works through due purge jobs (the catalog's PurgeOnce).
type PurgeRunner func(ctx context.Context) (int, error)

// Remove deletes the named warehouse: only when it holds no namespace,
// unless cascade. A cascade deactivates the warehouse (so nothing new
// appears in it), drops its contents with purge, works through the purge
// jobs of its files while its storage is still served, and deletes it. It
// is resumable: when it fails midway the warehouse stays deactivated, and
// repeating the request continues.
func (r *Registry) Remove(ctx context.Context, name string, cascade bool, drop Dropper, purge PurgeRunner) error {
	e, err := r.managed(name)
	if err != nil {
		return err
	}
	if !cascade {
		if err := r.st.DeleteWarehouse(ctx, name); err != nil {
			return err
		}
		_, err := r.after(ctx, "")
		return err
	}
	if _, err := r.SetActive(ctx, name, false); err != nil {
		return err
	}
	if err := drop(ctx, name); err != nil {
		return err
	}
	prefix := strings.TrimRight(e.Config.Location, "/") + "/"
	// Jobs that keep failing (a store down) must not hold the request
	// forever: after cascadePurgeWait the answer is 503 and a repeat resumes.
	deadline := time.Now().Add(cascadePurgeWait)
	for {
		left, err := r.st.PurgeJobsUnder(ctx, prefix)
		if err != nil {
			return err
		}
		if left == 0 {
			break
		}
		if time.Now().After(deadline) {
			return errs.New(errs.ServiceUnavailable, "Warehouse %s: %d purge jobs of its files are not done yet; it stays deactivated, repeat the request to finish", name, left)
		}
		if n, err := purge(ctx); err != nil || n == 0 {
			// Jobs leased by another node's purger, or failing: wait
			// for them a little.
			t := time.NewTimer(100 * time.Millisecond)
			select {
			case <-ctx.Done():
				t.Stop()
				return errs.Wrap(errs.ServiceUnavailable, ctx.Err(), "Warehouse %s: its files are still being purged; it stays deactivated, repeat the request to finish", name)
			case <-t.C:
			}
		}
	}
	if err := r.st.DeleteWarehouse(ctx, name); err != nil {
		return err
	}
	_, err = r.after(ctx, "")
	return err
}

// managed returns the named warehouse if the API may change it: the
// configuration file's are changed in the file.
func (r *Registry) managed(name string) (Entry, error) {
	e, ok := r.Get(name)
	if !ok {
		return Entry{}, errs.New(errs.NoSuchWarehouse, "Warehouse does not exist: %s", name)
	}
	if _, inFile := r.config[name]; inFile && e.Source == store.WarehouseFromConfig {
		return Entry{}, errs.New(errs.Forbidden, "Warehouse %s is defined in the configuration file, which wins: change it there", name)
	}
	return e, nil
}

// check validates w as the configuration file's warehouses are validated.
func (r *Registry) check(w config.WarehouseConfig) error {
	if err := checkName(w.Name); err != nil {
		return err
	}
	if problems := config.WarehouseProblems(w); len(problems) > 0 {
		return errs.New(errs.BadRequest, "Invalid warehouse %s: %s", w.Name, strings.Join(problems, "; "))
	}
	if _, err := vend.Open(context.Background(), []vend.Warehouse{VendWarehouse(w)}, vend.Options{}); err != nil {
		return errs.New(errs.BadRequest, "Invalid warehouse %s: %v", w.Name, err)
	}
	return nil
}

func checkName(name string) error {
	if err := store.CheckName("Warehouse", name); err != nil {
		return err
	}
	if strings.ContainsAny(name, "/%") {
		return errs.New(errs.BadRequest, "Invalid warehouse name %q: must not contain '/' or '%%'", name)
	}
	return nil
}

// rowFor is row for the API's warehouses: their secrets must be sealed.
func (r *Registry) rowFor(w config.WarehouseConfig) (store.Warehouse, error) {
	row, err := r.row(w, true, store.WarehouseFromAPI)
	if errors.Is(err, errNoKey) {
		return store.Warehouse{}, errs.New(errs.BadRequest, "Warehouse %s: storage profile secrets are stored sealed, and auth.key-encryption-secret is not set on this catalog", w.Name)
	}
	return row, err
}

// after reloads and returns the named entry ("" for none).
func (r *Registry) after(ctx context.Context, name string) (Entry, error) {
	if err := r.Reload(ctx); err != nil {
		return Entry{}, err
	}
	if name == "" {
		return Entry{}, nil
	}
	e, ok := r.Get(name)
	if !ok {
		return Entry{}, errs.New(errs.Internal, "Warehouse %s was stored but cannot be served (see the log)", name)
	}
	return e, nil
}
