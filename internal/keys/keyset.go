package keys

import (
	"errors"
	"fmt"
	"slices"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// Pair is the keys of one algorithm.
type Pair struct {
	// Current signs new tokens.
	Current *Key
	// Previous was current before the last rotation; it is only published.
	// Nil when there is none.
	Previous *Key
	// Next becomes current at the next rotation; until then it is only
	// published, so that every replica's JWKS already holds the key that
	// a replica which has loaded the rotated set signs with. Nil in sets
	// written before next keys existed; Rotate adds one.
	Next *Key
}

// KeySet is the current, previous and next key of each algorithm, and which
// algorithm signs by default. It is immutable: Rotate returns a new set. A nil
// *KeySet (nothing loaded yet) has no keys, and its SigningKey is an error.
type KeySet struct {
	defaultAlg jose.SignatureAlgorithm
	pairs      map[jose.SignatureAlgorithm]Pair
}

// NewKeySet generates a current key for every algorithm, created at now, with
// DefaultAlgorithm as the default.
func NewKeySet(now time.Time) (*KeySet, error) {
	s, _, err := Rotate(nil, now, time.Hour)
	return s, err
}

// NewKeySetFromPairs builds a set from existing keys, checking that each key
// belongs to its algorithm, that every pair has a current key and that the
// default algorithm has one.
func NewKeySetFromPairs(defaultAlg jose.SignatureAlgorithm, pairs map[jose.SignatureAlgorithm]Pair) (*KeySet, error) {
	s := &KeySet{defaultAlg: defaultAlg, pairs: make(map[jose.SignatureAlgorithm]Pair, len(pairs))}
	for alg, p := range pairs {
		if !slices.Contains(Algorithms(), alg) {
			return nil, fmt.Errorf("keys: unsupported algorithm %q", alg)
		}
		if p.Current == nil {
			return nil, fmt.Errorf("keys: %s has no current key", alg)
		}
		for _, k := range []*Key{p.Current, p.Previous, p.Next} {
			if k != nil && k.alg != alg {
				return nil, fmt.Errorf("keys: key %s is %s, listed under %s", k.id, k.alg, alg)
			}
		}
		if p.Previous != nil && p.Previous.id == p.Current.id {
			return nil, fmt.Errorf("keys: %s key %s is both current and previous", alg, p.Current.id)
		}
		if p.Next != nil && (p.Next.id == p.Current.id || (p.Previous != nil && p.Next.id == p.Previous.id)) {
			return nil, fmt.Errorf("keys: %s key %s is next and also current or previous", alg, p.Next.id)
		}
		s.pairs[alg] = p
	}
	if _, ok := s.pairs[defaultAlg]; !ok {
		return nil, fmt.Errorf("keys: default algorithm %q has no current key", defaultAlg)
	}
	return s, nil
}

// DefaultAlgorithm is the algorithm whose current key SigningKey returns.
func (s *KeySet) DefaultAlgorithm() jose.SignatureAlgorithm {
	if s == nil {
		return ""
	}
	return s.defaultAlg
}

// Pair returns the keys of alg.
func (s *KeySet) Pair(alg jose.SignatureAlgorithm) (Pair, bool) {
	if s == nil {
		return Pair{}, false
	}
	p, ok := s.pairs[alg]
	return p, ok
}

// Keys returns every key, the default algorithm first, then within an
// algorithm current, previous and next.
func (s *KeySet) Keys() []*Key {
	var out []*Key
	for _, alg := range s.SignatureAlgorithms() {
		p := s.pairs[alg]
		out = append(out, p.Current)
		for _, k := range []*Key{p.Previous, p.Next} {
			if k != nil {
				out = append(out, k)
			}
		}
	}
	return out
}

// Key returns the key with this ID, current, previous or next.
func (s *KeySet) Key(id string) (*Key, bool) {
	for _, k := range s.Keys() {
		if k.id == id {
			return k, true
		}
	}
	return nil, false
}

// SignatureAlgorithms returns the algorithms that have keys, the default
// first: what op.Storage.SignatureAlgorithms reports in discovery.
func (s *KeySet) SignatureAlgorithms() []jose.SignatureAlgorithm {
	if s == nil {
		return nil
	}
	out := []jose.SignatureAlgorithm{s.defaultAlg}
	for _, alg := range Algorithms() {
		if _, ok := s.pairs[alg]; ok && alg != s.defaultAlg {
			out = append(out, alg)
		}
	}
	return out
}

// SigningKey returns the current key of the default algorithm, for
// op.Storage.SigningKey.
func (s *KeySet) SigningKey() (op.SigningKey, error) {
	if s == nil {
		return nil, errors.New("keys: no key set loaded")
	}
	p, ok := s.pairs[s.defaultAlg]
	if !ok {
		return nil, fmt.Errorf("keys: default algorithm %q has no current key", s.defaultAlg)
	}
	return p.Current.SigningKey(), nil
}

// PublicKeys returns the public half of every key, current, previous and
// next, of every algorithm, for op.Storage.KeySet.
func (s *KeySet) PublicKeys() []op.Key {
	keys := s.Keys()
	out := make([]op.Key, len(keys))
	for i, k := range keys {
		out[i] = k.PublicKey()
	}
	return out
}

// JWKS returns the public keys as a JSON Web Key Set.
func (s *KeySet) JWKS() jose.JSONWebKeySet {
	keys := s.Keys()
	set := jose.JSONWebKeySet{Keys: make([]jose.JSONWebKey, len(keys))}
	for i, k := range keys {
		set.Keys[i] = k.JWK()
	}
	return set
}

// NextRotation is when Rotate will next change the set: the earliest time a
// current key becomes period old, or now (the zero time) when an algorithm
// lacks a current or next key. The reconciler requeues for then.
func (s *KeySet) NextRotation(period time.Duration) time.Time {
	var next time.Time
	for _, alg := range Algorithms() {
		p, ok := s.Pair(alg)
		if !ok || p.Next == nil {
			return time.Time{} // incomplete: rotate now
		}
		if at := p.Current.created.Add(period); next.IsZero() || at.Before(next) {
			next = at
		}
	}
	return next
}

// Rotate returns the set to use at now, and whether it differs from set:
//
//   - an algorithm without a current key gets one, and a next key (a nil set
//     gets both for every algorithm, with DefaultAlgorithm as the default);
//   - a current key at least period old becomes the previous key, dropping
//     the one that was previous before; the next key becomes current (from
//     now on, for the age that decides its rotation) and a new next key is
//     made;
//   - an algorithm without a next key (a set written before next keys
//     existed) gets one.
//
// So a key is published for a period before it signs, signs for a period,
// and is published for one more period after. Otherwise it returns set
// itself and false. set is never modified.
func Rotate(set *KeySet, now time.Time, period time.Duration) (*KeySet, bool, error) {
	if period <= 0 {
		return nil, false, fmt.Errorf("keys: rotation period must be positive, got %s", period)
	}
	next := &KeySet{defaultAlg: DefaultAlgorithm, pairs: make(map[jose.SignatureAlgorithm]Pair, len(Algorithms()))}
	if set != nil {
		next.defaultAlg = set.defaultAlg
	}
	changed := false
	for _, alg := range Algorithms() {
		var p Pair
		if set != nil {
			p = set.pairs[alg]
		}
		var err error
		switch {
		case p.Current == nil:
			if p.Current, err = Generate(alg, now); err != nil {
				return nil, false, err
			}
			p.Next = nil // a lone next key without a current one is not trusted
		case now.Sub(p.Current.created) >= period:
			promoted := p.Next
			if promoted == nil {
				// An overdue set from before next keys: nothing was
				// published ahead, so this rotation works as it used to.
				if promoted, err = Generate(alg, now); err != nil {
					return nil, false, err
				}
			}
			p = Pair{Current: promoted.since(now), Previous: p.Current}
		case p.Next != nil:
			next.pairs[alg] = p
			continue
		}
		if p.Next, err = Generate(alg, now); err != nil {
			return nil, false, err
		}
		changed = true
		next.pairs[alg] = p
	}
	if !changed {
		return set, false, nil
	}
	return next, true, nil
}
