package connector

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/types"

	"github.com/orgkeeper/orgkeeper/internal/snapshot"
)

// Registry hands out the connector of each identity provider version, built
// once and reused, so that discovery and keys are not fetched per login. A
// provider whose spec (generation), client secret or status.discovery
// changed gets a new connector on its next use, without a restart. It keeps
// one connector per provider UID (the latest version seen).
type Registry struct {
	cfg Config

	mu      sync.Mutex
	entries map[types.UID]registryEntry
}

type registryEntry struct {
	version string
	conn    *OIDC
}

// NewRegistry returns a registry whose connectors share cfg.
func NewRegistry(cfg Config) *Registry {
	return &Registry{cfg: cfg, entries: make(map[types.UID]registryEntry)}
}

// Connector returns the connector of idp as the snapshot serves it.
func (r *Registry) Connector(idp *snapshot.IdentityProvider) (*OIDC, error) {
	if idp == nil {
		return nil, newError(ReasonMisconfigured, nil, "no identity provider")
	}
	v := version(idp)
	r.mu.Lock()
	defer r.mu.Unlock()
	if e, ok := r.entries[idp.UID]; ok && e.version == v {
		return e.conn, nil
	}
	c, err := New(idp, r.cfg)
	if err != nil {
		return nil, err
	}
	r.entries[idp.UID] = registryEntry{version: v, conn: c}
	return c, nil
}

// Forget drops the connectors of providers for which keep is false (for
// example, those the current snapshot no longer serves).
func (r *Registry) Forget(keep func(types.UID) bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for uid := range r.entries {
		if !keep(uid) {
			delete(r.entries, uid)
		}
	}
}

// version is what tells two versions of one provider apart: its UID and
// generation (the spec), a digest of the client secret (a Secret change
// bumps no generation; the digest keeps the secret itself out of the key)
// and status.discovery (written by the reconciler, no generation either).
func version(idp *snapshot.IdentityProvider) string {
	h := sha256.New()
	for _, s := range []string{
		string(idp.UID), strconv.FormatInt(idp.Generation, 10), idp.ClientSecret,
		idp.Discovery.AuthorizationEndpoint, idp.Discovery.TokenEndpoint, idp.Discovery.JWKSURI, idp.Discovery.UserinfoEndpoint,
		strconv.FormatBool(idp.Discovery.AuthorizationResponseIssParameterSupported),
	} {
		h.Write([]byte(strconv.Itoa(len(s))))
		h.Write([]byte{':'})
		h.Write([]byte(s))
	}
	return strings.ToLower(hex.EncodeToString(h.Sum(nil)))
}
