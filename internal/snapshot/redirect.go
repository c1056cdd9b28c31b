package snapshot

import "strings"

// AcceptsRedirectURI reports whether uri may receive authorization
// responses (codes and errors) of the client: exactly one of its registered
// URIs, byte for byte. The one exception is RFC 8252 section 7.3: a Public
// client that registered http://127.0.0.1[:port]/rest or
// http://[::1][:port]/rest (a native application) may use any port with the
// same host literal and exactly the same rest. A nil client accepts
// nothing.
//
// It is the one rule for /authorize, for the callback and the saving of a
// code (an auth request outlives a change of the application), and for the
// login pages' error redirects.
func (c *Client) AcceptsRedirectURI(uri string) bool {
	if c == nil {
		return false
	}
	if c.HasRedirectURI(uri) {
		return true
	}
	if !c.IsPublic() {
		return false
	}
	host, rest, ok := splitLoopback(uri)
	if !ok {
		return false
	}
	for _, reg := range c.RedirectURIs {
		if h, r, ok := splitLoopback(reg); ok && h == host && r == rest {
			return true
		}
	}
	return false
}

// splitLoopback splits http://127.0.0.1:port/rest or http://[::1]:port/rest
// (port optional, digits only) into the host literal and the rest, which
// starts with '/' or is empty. Anything else (other hosts, localhost,
// userinfo, https) is not a loopback redirect URI.
func splitLoopback(uri string) (host, rest string, ok bool) {
	for _, h := range []string{"127.0.0.1", "[::1]"} {
		prefix := "http://" + h
		if !strings.HasPrefix(uri, prefix) {
			continue
		}
		rest = uri[len(prefix):]
		if strings.HasPrefix(rest, ":") {
			i := 1
			for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
				i++
			}
			if i == 1 || i > 6 {
				return "", "", false
			}
			rest = rest[i:]
		}
		if rest != "" && rest[0] != '/' {
			return "", "", false
		}
		return h, rest, true
	}
	return "", "", false
}
