package keys

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// IndexKey is the Secret data key of the JSON index that lists the keys; each
// private key is a PEM "PRIVATE KEY" (PKCS #8) under its own data key, named
// by algorithm and role, for example "es256-current.pem".
const IndexKey = "keys.json"

// NextIndexKey is the Secret data key of the index of the next keys (role
// "next", for example "es256-next.pem"). It is separate from IndexKey so that
// a release from before next keys, which ignores data keys its index does not
// name, still reads a Secret written by this one: during a rolling upgrade or
// a rollback, replicas of both releases share the Secret.
const NextIndexKey = "keys-next.json"

// indexVersion is written to and required in the index.
const indexVersion = 1

// ErrInvalidSecretData is wrapped by every error of FromSecretData: the
// Secret exists but does not hold a usable key set. The message says which
// entry is wrong and how.
var ErrInvalidSecretData = errors.New("keys: invalid key Secret")

type index struct {
	Version int          `json:"version"`
	Default string       `json:"default"`
	Keys    []indexEntry `json:"keys"`
}

type indexEntry struct {
	ID      string    `json:"kid"`
	Alg     string    `json:"alg"`
	Role    string    `json:"role"` // roleCurrent or rolePrevious; roleNext in NextIndexKey
	Created time.Time `json:"created"`
	// DataKey is the Secret data key of the PEM file.
	DataKey string `json:"dataKey"`
}

const (
	roleCurrent  = "current"
	rolePrevious = "previous"
	roleNext     = "next"
)

func dataKey(alg jose.SignatureAlgorithm, role string) string {
	return strings.ToLower(string(alg)) + "-" + role + ".pem"
}

// SecretData serialises the set for a Secret's data: the index under IndexKey
// and one PEM file per key; the next keys are listed under NextIndexKey.
func (s *KeySet) SecretData() (map[string][]byte, error) {
	if s == nil {
		return nil, errors.New("keys: no key set to serialise")
	}
	idx := index{Version: indexVersion, Default: string(s.defaultAlg)}
	nextIdx := index{Version: indexVersion, Default: string(s.defaultAlg)}
	data := map[string][]byte{}
	for _, alg := range s.SignatureAlgorithms() {
		p := s.pairs[alg]
		for _, e := range []struct {
			k    *Key
			role string
			idx  *index
		}{{p.Current, roleCurrent, &idx}, {p.Previous, rolePrevious, &idx}, {p.Next, roleNext, &nextIdx}} {
			if e.k == nil {
				continue
			}
			der, err := x509.MarshalPKCS8PrivateKey(e.k.private)
			if err != nil {
				return nil, fmt.Errorf("keys: encoding %s key %s: %w", alg, e.k.id, err)
			}
			name := dataKey(alg, e.role)
			data[name] = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
			e.idx.Keys = append(e.idx.Keys, indexEntry{
				ID: e.k.id, Alg: string(alg), Role: e.role, Created: e.k.created, DataKey: name,
			})
		}
	}
	for _, i := range []struct {
		key string
		idx index
	}{{IndexKey, idx}, {NextIndexKey, nextIdx}} {
		if i.key == NextIndexKey && len(i.idx.Keys) == 0 {
			continue
		}
		raw, err := json.MarshalIndent(i.idx, "", "  ")
		if err != nil {
			return nil, fmt.Errorf("keys: encoding %s: %w", i.key, err)
		}
		data[i.key] = append(raw, '\n')
	}
	return data, nil
}

// FromSecretData loads a set written by SecretData. Data keys the indexes do
// not name are ignored; the next keys' index is optional (Secrets written
// before next keys have none). Every problem is reported as an error
// wrapping ErrInvalidSecretData; malformed input never panics.
func FromSecretData(data map[string][]byte) (*KeySet, error) {
	raw, ok := data[IndexKey]
	if !ok {
		return nil, invalidf("no %q entry", IndexKey)
	}
	idx, err := readIndex(IndexKey, raw)
	if err != nil {
		return nil, err
	}
	defaultAlg := jose.SignatureAlgorithm(idx.Default)
	if !slices.Contains(Algorithms(), defaultAlg) {
		return nil, invalidf("%s: unsupported default algorithm %q (want one of %v)", IndexKey, idx.Default, Algorithms())
	}
	entries := idx.Keys
	if raw, ok := data[NextIndexKey]; ok {
		nextIdx, err := readIndex(NextIndexKey, raw)
		if err != nil {
			return nil, err
		}
		for i, e := range nextIdx.Keys {
			if e.Role != roleNext {
				return nil, invalidf("%s: key %d (%s): role %q, want %q", NextIndexKey, i, e.DataKey, e.Role, roleNext)
			}
		}
		entries = append(slices.Clip(entries), nextIdx.Keys...)
	}

	pairs := map[jose.SignatureAlgorithm]Pair{}
	for i, e := range entries {
		where := fmt.Sprintf("%s: key %d (%s)", IndexKey, i, e.DataKey)
		if e.Role == roleNext {
			where = fmt.Sprintf("%s: key %d (%s)", NextIndexKey, i-len(idx.Keys), e.DataKey)
		}
		alg := jose.SignatureAlgorithm(e.Alg)
		if !slices.Contains(Algorithms(), alg) {
			return nil, invalidf("%s: unsupported algorithm %q", where, e.Alg)
		}
		if e.Created.IsZero() {
			return nil, invalidf("%s: no creation time", where)
		}
		k, err := parseKeyPEM(alg, data[e.DataKey], e.Created)
		if err != nil {
			return nil, invalidf("%s: %v", where, err)
		}
		if k.id != e.ID {
			return nil, invalidf("%s: index says kid %q but the key's thumbprint is %q", where, e.ID, k.id)
		}
		p := pairs[alg]
		slot := &p.Current
		switch e.Role {
		case roleCurrent:
		case rolePrevious:
			slot = &p.Previous
		case roleNext:
			if i < len(idx.Keys) {
				// Next keys live in their own index, which earlier
				// releases do not read.
				return nil, invalidf("%s: role %q, want %q or %q", where, e.Role, roleCurrent, rolePrevious)
			}
			slot = &p.Next
		default:
			return nil, invalidf("%s: role %q, want %q or %q", where, e.Role, roleCurrent, rolePrevious)
		}
		if *slot != nil {
			return nil, invalidf("%s: a second %s %s key", where, e.Role, alg)
		}
		*slot = k
		pairs[alg] = p
	}
	s, err := NewKeySetFromPairs(defaultAlg, pairs)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidSecretData, err)
	}
	return s, nil
}

// readIndex decodes one index, refusing unknown fields and other versions.
func readIndex(name string, raw []byte) (index, error) {
	var idx index
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&idx); err != nil {
		return idx, invalidf("%s is not a valid index: %v", name, err)
	}
	if idx.Version != indexVersion {
		return idx, invalidf("%s has version %d, this version of orgkeeper reads version %d", name, idx.Version, indexVersion)
	}
	return idx, nil
}

func parseKeyPEM(alg jose.SignatureAlgorithm, raw []byte, created time.Time) (*Key, error) {
	if len(raw) == 0 {
		return nil, errors.New("missing or empty in the Secret")
	}
	block, rest := pem.Decode(raw)
	if block == nil {
		return nil, errors.New("not PEM")
	}
	if block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("PEM block is %q, want \"PRIVATE KEY\" (PKCS #8)", block.Type)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, errors.New("more than one PEM block")
	}
	priv, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("not a PKCS #8 private key: %v", err)
	}
	signer, ok := priv.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%T cannot sign", priv)
	}
	return newKey(alg, signer, created)
}

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidSecretData, fmt.Sprintf(format, args...))
}
