package audit

import (
	"context"
	"crypto/rand"
	"net"
	"net/http"
)

// HeaderRequestID carries a request's ID in and out.
const HeaderRequestID = "X-Request-Id"

// maxRequestIDLen bounds an incoming request ID.
const maxRequestIDLen = 64

// Request is what the audit line knows of the request an event happened in.
type Request struct {
	// ID is the request ID (X-Request-Id).
	ID string
	// ClientAddress is the client's address, as the per-address limits
	// see it (--trusted-proxies).
	ClientAddress string
}

type requestKey struct{}

// WithRequest returns ctx carrying r.
func WithRequest(ctx context.Context, r Request) context.Context {
	return context.WithValue(ctx, requestKey{}, r)
}

// FromContext returns the request ctx carries.
func FromContext(ctx context.Context) (Request, bool) {
	r, ok := ctx.Value(requestKey{}).(Request)
	return r, ok
}

// Middleware gives each request an ID and records it with the client
// address (clientIP; nil means the direct peer) in the request's context.
// An incoming X-Request-Id is kept only when it is at most 64 characters
// of letters, digits and "-._:", so that a client cannot write arbitrary
// text into the audit log or the response; otherwise, or without one, the
// ID is random. The ID is sent back in X-Request-Id.
func Middleware(clientIP func(*http.Request) string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(HeaderRequestID)
		if !saneRequestID(id) {
			id = rand.Text()
		}
		addr := ""
		if clientIP != nil {
			addr = clientIP(r)
		} else {
			addr = peer(r)
		}
		w.Header().Set(HeaderRequestID, id)
		next.ServeHTTP(w, r.WithContext(WithRequest(r.Context(), Request{ID: id, ClientAddress: addr})))
	})
}

func saneRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '.', c == '_', c == ':':
		default:
			return false
		}
	}
	return true
}

// peer is the host of the direct peer.
func peer(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
