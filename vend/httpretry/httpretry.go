// Package httpretry sends a request to a cloud storage REST API again after
// the failures worth another try: the retry policy of the catalog's own
// storage clients (vend/gcs, vend/azure), written once.
package httpretry

import (
	"context"
	"math/rand/v2"
	"net/http"
	"time"
)

// Attempts is how many times a request is sent at most. The first wait is
// firstBackoff, doubled up to maxBackoff.
const (
	Attempts     = 3
	firstBackoff = 100 * time.Millisecond
	maxBackoff   = time.Second
)

// Do sends the request prepare builds (an error from prepare, such as a
// failed token exchange, is returned at once) until the answer is 2xx, the
// failure is not worth retrying, or Attempts requests were sent. Network
// failures are retried, and answers whose status retryable accepts. A 2xx
// response is returned open; any other answer becomes the error readError
// makes of it (readError closes the body).
func Do(ctx context.Context, client *http.Client, prepare func() (*http.Request, error),
	retryable func(status int) bool, readError func(*http.Response) error) (*http.Response, error) {
	wait := firstBackoff
	for attempt := 1; ; attempt++ {
		req, err := prepare()
		if err != nil {
			return nil, err
		}
		resp, err := client.Do(req)
		var retry bool
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			retry = true
		case resp.StatusCode >= 200 && resp.StatusCode < 300:
			return resp, nil
		default:
			err = readError(resp)
			retry = retryable(resp.StatusCode)
		}
		if !retry || attempt == Attempts {
			return nil, err
		}
		// Jitter keeps retries of many requests from arriving together.
		d := wait/2 + rand.N(wait/2+1)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(d):
		}
		wait = min(2*wait, maxBackoff)
	}
}
