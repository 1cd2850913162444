package core

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/store/driver"
)

// commitError turns what a commit transaction returned into its final form:
// lost lock races become CommitFailed (the client may retry), a failure while
// committing becomes CommitStateUnknown (it must not blindly retry).
func commitError(commits []store.Commit, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, driver.ErrOutcomeUnknown) {
		return errs.Wrap(errs.CommitStateUnknown, err, "Commit state unknown: the database connection failed while committing")
	}
	if errors.Is(err, driver.ErrBusy) {
		return errs.Wrap(errs.CommitFailed, err, "Commit failed: %s locked by concurrent commits; gave up waiting", describeCommits(commits))
	}
	return err
}

func describeCommits(commits []store.Commit) string {
	if len(commits) == 1 {
		return commits[0].Ident.String()
	}
	names := make([]string, len(commits))
	for i, c := range commits {
		names[i] = c.Ident.String()
	}
	return "[" + strings.Join(names, ", ") + "]"
}

// retryPolicy is the policy for transactions that failed with driver.ErrBusy.
type retryPolicy struct {
	MaxRetries int
	BaseDelay  time.Duration
	MaxDelay   time.Duration
	// OnBusy, when set, is told about every driver.ErrBusy failure, retried or
	// not (lock waits, for the metrics).
	OnBusy func(err error)
}

// Do runs fn until it succeeds, fails with an error that is not driver.ErrBusy, or
// the retries are used up; waits grow exponentially with full jitter so that
// writers that collided once do not collide again in lockstep.
func (r retryPolicy) Do(ctx context.Context, fn func() error) error {
	for attempt := 0; ; attempt++ {
		err := fn()
		if err == nil || !errors.Is(err, driver.ErrBusy) {
			return err
		}
		if r.OnBusy != nil {
			r.OnBusy(err)
		}
		if attempt >= r.MaxRetries {
			return fmt.Errorf("gave up after %d attempts: %w", attempt+1, err)
		}
		ceiling := r.MaxDelay
		if shifted := r.BaseDelay << attempt; attempt < 30 && shifted > 0 && shifted < ceiling {
			ceiling = shifted
		}
		t := time.NewTimer(time.Duration(rand.Int64N(int64(ceiling) + 1)))
		select {
		case <-ctx.Done():
			t.Stop()
			return errors.Join(err, ctx.Err())
		case <-t.C:
		}
	}
}

// busyError is what a non-commit operation returns once retryPolicy gave up.
func busyError(err error) error {
	if err != nil && errors.Is(err, driver.ErrBusy) {
		return errs.Wrap(errs.ServiceUnavailable, err, "The catalog database is busy; try again later")
	}
	return err
}
