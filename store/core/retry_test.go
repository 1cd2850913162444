package core

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/bingsan/bingsan/errs"
	"github.com/bingsan/bingsan/store"
	"github.com/bingsan/bingsan/store/driver"
)

func TestRetry(t *testing.T) {
	t.Parallel()
	r := retryPolicy{MaxRetries: 3, BaseDelay: time.Microsecond, MaxDelay: 10 * time.Microsecond}
	busy := fmt.Errorf("%w: lock timeout", driver.ErrBusy)
	for _, tc := range []struct {
		name      string
		failures  int   // calls that fail before one succeeds
		failWith  error // what they fail with
		wantCalls int
		wantBusy  bool
	}{
		{"FirstTry", 0, busy, 1, false},
		{"RecoversOnLastRetry", 3, busy, 4, false},
		{"GivesUp", 10, busy, 4, true},
		{"OtherErrorsAreFinal", 10, errs.New(errs.CommitFailed, "stale"), 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			calls := 0
			err := r.Do(context.Background(), func() error {
				calls++
				if calls <= tc.failures {
					return tc.failWith
				}
				return nil
			})
			if calls != tc.wantCalls {
				t.Fatalf("calls: got %d, want %d", calls, tc.wantCalls)
			}
			if got := errors.Is(err, driver.ErrBusy); got != tc.wantBusy {
				t.Fatalf("busy: got %v (%v), want %v", got, err, tc.wantBusy)
			}
			if tc.failures < tc.wantCalls && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
		})
	}
}

func TestRetryStopsWithContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := retryPolicy{MaxRetries: 100, BaseDelay: time.Hour, MaxDelay: time.Hour}
	err := r.Do(ctx, func() error { return driver.ErrBusy })
	if !errors.Is(err, context.Canceled) || !errors.Is(err, driver.ErrBusy) {
		t.Fatalf("got %v", err)
	}
}

func TestSortCommits(t *testing.T) {
	t.Parallel()
	c := func(wh string, ns []string, name string) store.Commit {
		return store.Commit{Ident: store.Ident{Warehouse: wh, Namespace: ns, Name: name}, Kind: store.KindTable}
	}
	got, err := sortCommits([]store.Commit{
		c("w", []string{"b"}, "a"), c("w", []string{"a", "z"}, "a"), c("v", []string{"z"}, "z"), c("w", []string{"a"}, "b"), c("w", []string{"a"}, "a"),
	})
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, x := range got {
		order = append(order, x.Ident.Warehouse+":"+x.Ident.String())
	}
	want := []string{"v:z.z", "w:a.a", "w:a.b", "w:a.z.a", "w:b.a"}
	if fmt.Sprint(order) != fmt.Sprint(want) {
		t.Fatalf("order: got %v, want %v", order, want)
	}
}

// Negative MaxRetries disables retries; zero takes the default.
func TestRetryOptions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want int }{{-1, 0}, {0, 5}, {2, 2}} {
		if got := New(nil, Options{MaxRetries: tc.in}).retry.MaxRetries; got != tc.want {
			t.Errorf("MaxRetries %d: retries %d, want %d", tc.in, got, tc.want)
		}
	}
}
