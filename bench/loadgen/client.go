package main

import (
	"fmt"
	"time"

	"github.com/valyala/fasthttp"
)

// client sends requests over a fixed set of keep-alive connections.
type client struct {
	hc *fasthttp.HostClient
}

func newClient(addr string, conns int) *client {
	return &client{hc: &fasthttp.HostClient{
		Addr:                addr,
		MaxConns:            conns,
		MaxIdleConnDuration: time.Minute,
		ReadTimeout:         60 * time.Second,
		WriteTimeout:        60 * time.Second,
		MaxConnWaitTimeout:  60 * time.Second,
		ReadBufferSize:      16 << 10,
	}}
}

// do sends one request and returns the status and a copy of the body.
func (c *client) do(method, path string, body []byte) (int, []byte, error) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(method)
	req.SetRequestURI("http://" + c.hc.Addr + path)
	if body != nil {
		req.Header.SetContentType("application/json")
		req.SetBody(body)
	}
	if err := c.hc.Do(req, resp); err != nil {
		return 0, nil, err
	}
	return resp.StatusCode(), append([]byte(nil), resp.Body()...), nil
}

// mustDo is do for seeding: anything but want is an error.
func (c *client) mustDo(want int, method, path string, body []byte) ([]byte, error) {
	status, out, err := c.do(method, path, body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if status != want {
		return nil, fmt.Errorf("%s %s: status %d: %s", method, path, status, out)
	}
	return out, nil
}
