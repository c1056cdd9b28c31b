package telemetry

import (
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// handlers maps the issuer's paths (as the op package and the login pages
// serve them) to the handler label. The set is fixed: a path nobody serves
// is "other", so a scanner cannot add series.
var handlers = []struct{ suffix, name string }{
	{"/oauth/token", "token"},
	{"/oauth/introspect", "introspect"},
	{"/authorize/callback", "callback"},
	{"/authorize", "authorize"},
	{"/userinfo", "userinfo"},
	{"/revoke", "revoke"},
	{"/end_session", "end_session"},
	{"/keys", "keys"},
	{"/.well-known/openid-configuration", "discovery"},
}

// handlerName is the handler label of a request path.
func handlerName(path string) string {
	if path == "/login" || strings.HasPrefix(path, "/login/") {
		return "login"
	}
	for _, h := range handlers {
		if strings.HasSuffix(path, h.suffix) {
			return h.name
		}
	}
	return "other"
}

// InstrumentHTTP measures every request to next in
// orgkeeper_http_request_duration_seconds. A nil *Metrics returns next.
func (m *Metrics) InstrumentHTTP(next http.Handler) http.Handler {
	if m == nil {
		return next
	}
	// One instrumented handler per label value, built once: the request
	// only picks one.
	byName := map[string]http.Handler{}
	for _, name := range append(handlerNames(), "login", "other") {
		obs := m.requestDuration.MustCurryWith(prometheus.Labels{"handler": name})
		byName[name] = promhttp.InstrumentHandlerDuration(obs, next)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		byName[handlerName(r.URL.Path)].ServeHTTP(w, r)
	})
}

func handlerNames() []string {
	names := make([]string, 0, len(handlers))
	for _, h := range handlers {
		names = append(names, h.name)
	}
	return names
}
