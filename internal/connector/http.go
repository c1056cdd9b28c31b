package connector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// upstreamClient makes every call to a provider: one timeout per call on
// top of the caller's context, no redirects followed (a token endpoint
// that redirects the code elsewhere is refused, not obeyed), and every
// answer read through a limit.
type upstreamClient struct {
	http     *http.Client
	cfg      *Config
	provider string // for error details: namespace/name
}

func newHTTPClient(cfg *Config) *http.Client {
	base := cfg.HTTPClient
	if base == nil {
		base = &http.Client{}
	}
	c := *base
	c.Transport = cfg.guardedTransport(base.Transport)
	c.Timeout = cfg.Timeout
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// do sends req with the call timeout and returns the status, the
// media type and the bounded body. Network errors, timeouts and oversized
// bodies are ReasonUnavailable.
func (c *upstreamClient) do(ctx context.Context, what string, req *http.Request) (int, string, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req = req.WithContext(ctx)
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if blocked := (*blockedAddressError)(nil); errors.As(err, &blocked) {
		// Not a passing failure: the spec or the installation must change.
		return 0, "", nil, newError(ReasonMisconfigured, nil, "%s of %s: %s", what, c.provider, blocked.Error())
	}
	if err != nil {
		return 0, "", nil, newError(ReasonUnavailable, redactURLError(err), "%s of %s", what, c.provider)
	}
	defer resp.Body.Close()
	max := c.cfg.MaxResponseBytes
	if resp.ContentLength > max {
		return 0, "", nil, newError(ReasonUnavailable, nil, "%s of %s: the answer has %d bytes, more than the %d allowed", what, c.provider, resp.ContentLength, max)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return 0, "", nil, newError(ReasonUnavailable, redactURLError(err), "%s of %s: reading the answer", what, c.provider)
	}
	if int64(len(body)) > max {
		return 0, "", nil, newError(ReasonUnavailable, nil, "%s of %s: the answer is longer than the %d bytes allowed", what, c.provider, max)
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	return resp.StatusCode, mt, body, nil
}

// getJSON fetches a JSON document (discovery, JWKS, userinfo) into v.
func (c *upstreamClient) getJSON(ctx context.Context, what, u string, header http.Header, v any) error {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return newError(ReasonMisconfigured, nil, "%s of %s: bad URL", what, c.provider)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	status, _, body, err := c.do(ctx, what, req)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return statusError(what, c.provider, status, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return newError(ReasonUnavailable, nil, "%s of %s: the answer is not the JSON expected: %v", what, c.provider, err)
	}
	return nil
}

// statusError turns a non-200 answer into an error: an OAuth error body
// becomes ReasonUpstreamError for 4xx, anything else ReasonUnavailable.
func statusError(what, provider string, status int, body []byte) error {
	if status >= 400 && status < 500 {
		var oe struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		if json.Unmarshal(body, &oe) == nil && oe.Error != "" {
			e := newError(ReasonUpstreamError, nil, "%s of %s answered %d", what, provider, status)
			e.Upstream = upstreamError(oe.Error, oe.Description)
			return e
		}
	}
	return newError(ReasonUnavailable, nil, "%s of %s answered HTTP %d", what, provider, status)
}

// redactURLError drops the URL from a *url.Error: a token endpoint URL is
// harmless, but a request's URL could carry a query someone put a secret
// in, and the operation and cause are what the log needs.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return fmt.Errorf("%s: timed out: %w", ue.Op, ue.Err)
		}
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

// checkEndpoint accepts an absolute https URL with a host (or http on a
// loopback host when allowed), without user information or fragment.
func checkEndpoint(raw string, allowLoopbackHTTP bool) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return fmt.Errorf("%q is not a URL", raw)
	case u.Host == "" || u.Hostname() == "":
		return fmt.Errorf("%q has no host", raw)
	case u.User != nil:
		return fmt.Errorf("%q contains a user name or password", raw)
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return fmt.Errorf("%q has a fragment", raw)
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && allowLoopbackHTTP && isLoopback(u.Hostname()):
		return nil
	case u.Scheme == "http":
		return fmt.Errorf("%q must use https", raw)
	default:
		return fmt.Errorf("%q must be an https URL", raw)
	}
}

// isLoopback is the set of hosts internal/validation accepts plain http
// on: 127.0.0.1, ::1 and localhost (and the rest of 127.0.0.0/8).
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
