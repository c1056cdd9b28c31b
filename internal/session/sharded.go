package session

import (
	"hash/maphash"
	"sync"
)

// shardCount spreads each kind of record over this many independently locked
// maps, so that unrelated requests (different codes, different users) do not
// queue on one mutex.
const shardCount = 32

// shardedMap is a map split into shards, each with its own lock. Callers lock
// a shard (shardFor) and use its map directly: multi-step changes to one key
// (check then write) need the lock held across the steps.
type shardedMap[V any] struct {
	seed   maphash.Seed
	shards [shardCount]mapShard[V]
}

type mapShard[V any] struct {
	mu sync.RWMutex
	m  map[string]V
}

func newShardedMap[V any]() *shardedMap[V] {
	s := &shardedMap[V]{seed: maphash.MakeSeed()}
	for i := range s.shards {
		s.shards[i].m = make(map[string]V)
	}
	return s
}

func (s *shardedMap[V]) shardFor(key string) *mapShard[V] {
	return &s.shards[maphash.String(s.seed, key)%shardCount]
}

func (s *shardedMap[V]) get(key string) (V, bool) {
	sh := s.shardFor(key)
	sh.mu.RLock()
	v, ok := sh.m[key]
	sh.mu.RUnlock()
	return v, ok
}

func (s *shardedMap[V]) put(key string, v V) {
	sh := s.shardFor(key)
	sh.mu.Lock()
	sh.m[key] = v
	sh.mu.Unlock()
}

// putIfAbsent stores v unless key exists and reports whether it stored it.
func (s *shardedMap[V]) putIfAbsent(key string, v V) bool {
	sh := s.shardFor(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if _, ok := sh.m[key]; ok {
		return false
	}
	sh.m[key] = v
	return true
}

// update applies fn to the entry for key, if there is one, under the shard's
// lock, and reports whether there was one. It never re-creates an entry that
// GC removed meanwhile.
func (s *shardedMap[V]) update(key string, fn func(v *V)) bool {
	sh := s.shardFor(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	v, ok := sh.m[key]
	if !ok {
		return false
	}
	fn(&v)
	sh.m[key] = v
	return true
}

func (s *shardedMap[V]) delete(key string) {
	sh := s.shardFor(key)
	sh.mu.Lock()
	delete(sh.m, key)
	sh.mu.Unlock()
}

// deleteIf removes, shard by shard, every entry for which expired returns
// true, and returns how many it removed. Each shard is locked only while it is
// swept, so GC never stops the whole store.
func (s *shardedMap[V]) deleteIf(expired func(V) bool) int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for k, v := range sh.m {
			if expired(v) {
				delete(sh.m, k)
				n++
			}
		}
		sh.mu.Unlock()
	}
	return n
}

func (s *shardedMap[V]) len() int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.RLock()
		n += len(sh.m)
		sh.mu.RUnlock()
	}
	return n
}
