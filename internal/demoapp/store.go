package demoapp

import (
	"crypto/rand"
	"sync"
	"time"
)

// store is a small in-memory map from random IDs to values, with expiry and
// a size bound so that a flood of /login requests cannot grow it without
// limit.
type store[T any] struct {
	mu  sync.Mutex
	m   map[string]storeEntry[T]
	ttl time.Duration
	max int
	now func() time.Time
}

type storeEntry[T any] struct {
	v       T
	expires time.Time
}

func newStore[T any](ttl time.Duration, max int, now func() time.Time) *store[T] {
	return &store[T]{m: map[string]storeEntry[T]{}, ttl: ttl, max: max, now: now}
}

// put stores v under a new random ID (128 bits of entropy or more).
func (s *store[T]) put(v T) string {
	id := rand.Text()
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if len(s.m) >= s.max {
		for k, e := range s.m {
			if !now.Before(e.expires) {
				delete(s.m, k)
			}
		}
	}
	// Still full: drop arbitrary entries. This signs someone out, which is
	// acceptable for a demo and better than unbounded memory.
	for k := range s.m {
		if len(s.m) < s.max {
			break
		}
		delete(s.m, k)
	}
	s.m[id] = storeEntry[T]{v: v, expires: now.Add(s.ttl)}
	return id
}

// get returns the value of id unless it is unknown or expired.
func (s *store[T]) get(id string) (T, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lookup(id)
}

// take is get followed by delete: pending sign-ins are single use.
func (s *store[T]) take(id string) (T, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.lookup(id)
	delete(s.m, id)
	return v, ok
}

// set replaces the value of an existing, unexpired id, keeping its expiry.
func (s *store[T]) set(id string, v T) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[id]
	if !ok || !s.now().Before(e.expires) {
		return false
	}
	e.v = v
	s.m[id] = e
	return true
}

func (s *store[T]) delete(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, id)
}

func (s *store[T]) lookup(id string) (T, bool) {
	var zero T
	e, ok := s.m[id]
	if !ok {
		return zero, false
	}
	if !s.now().Before(e.expires) {
		delete(s.m, id)
		return zero, false
	}
	return e.v, true
}
