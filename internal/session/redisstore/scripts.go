package redisstore

import "github.com/redis/go-redis/v9"

// Every record is a Redis hash with at least the fields
//
//	v    the record as JSON (new struct fields flow through unchanged)
//	exp  its ExpiresAt in Unix microseconds, which the scripts compare with
//	     the store's clock (passed in, so that replicas and tests agree on
//	     "now" with the caller, not with the Redis host)
//
// and a Redis TTL a little after exp, so that Redis drops what nobody
// collects. The scripts below make each multi-step change one atomic step.
// (A Lua script runs alone: no other command runs between its reads and
// its writes.)

// createScript stores a new record unless the key exists.
// KEYS[1] record; ARGV json, exp (µs), pxat (ms). Returns 1 if stored, 0 if
// the key existed.
var createScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'exp', ARGV[2])
redis.call('PEXPIREAT', KEYS[1], ARGV[3])
return 1
`)

// casScript replaces a record's JSON if it is still the one read.
// KEYS[1] record; ARGV old json, new json. Returns 1 if replaced, 0 if the
// record changed or is gone.
var casScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'v') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[2])
return 1
`)

// consumeScript marks a code consumed once.
// KEYS[1] code; ARGV now (µs), now (JSON time). Returns {status, json,
// consumedAt}: status "ok", "reused", "expired" or "notfound".
var consumeScript = redis.NewScript(`
local c = redis.call('HMGET', KEYS[1], 'v', 'exp', 'consumed')
if not c[1] then return {'notfound'} end
if tonumber(c[2]) <= tonumber(ARGV[1]) then return {'expired'} end
if c[3] then return {'reused', c[1], c[3]} end
redis.call('HSET', KEYS[1], 'consumed', ARGV[2])
return {'ok', c[1], ARGV[2]}
`)

// familyLive is a Lua fragment: reads family KEYS[n] at now and returns
// whether it is revoked and its expiry, treating an expired family as absent.
const familyState = `
local function family(key, now)
  local f = redis.call('HMGET', key, 'revoked', 'exp')
  if not f[2] or tonumber(f[2]) <= now then return false, 0 end
  return f[1] == '1', tonumber(f[2])
end
-- keep lists a family's new token in the family's token list and deletes
-- the records of the oldest beyond max (session.MaxFamilyTokens); the list
-- lives as long as the family.
local function keep(list, token, fam, max, grace)
  redis.call('RPUSH', list, token)
  local n = redis.call('LLEN', list) - max
  if n > 0 then
    for _, k in ipairs(redis.call('LRANGE', list, 0, n - 1)) do redis.call('DEL', k) end
    redis.call('LTRIM', list, n, -1)
  end
  local fe = redis.call('HGET', fam, 'exp')
  if fe then redis.call('PEXPIREAT', list, string.format('%d', math.floor(tonumber(fe) / 1000) + grace)) end
end
local function extend(key, exp, grace)
  local cur = tonumber(redis.call('HGET', key, 'exp') or '0')
  if exp > cur then
    redis.call('HSET', key, 'exp', string.format('%d', exp))
    redis.call('PEXPIREAT', key, string.format('%d', math.floor(exp / 1000) + grace))
  end
end
`

// createTokenScript stores a new refresh token in its family unless the
// family is revoked.
// KEYS[1] family, KEYS[2] token, KEYS[3] the family's token list; ARGV now
// (µs), json, exp (µs), client, familyID, grace (ms), the most tokens a
// family keeps. Returns "started" (the token began the family), "ok",
// "revoked" or "exists".
var createTokenScript = redis.NewScript(familyState + `
local now = tonumber(ARGV[1])
local revoked, fexp = family(KEYS[1], now)
if revoked then return 'revoked' end
if fexp == 0 then redis.call('DEL', KEYS[1], KEYS[3]) end
if redis.call('EXISTS', KEYS[2]) == 1 then return 'exists' end
local exp = tonumber(ARGV[3])
redis.call('HSET', KEYS[2], 'v', ARGV[2], 'exp', ARGV[3], 'client', ARGV[4], 'fam', ARGV[5])
redis.call('PEXPIREAT', KEYS[2], string.format('%d', math.floor(exp / 1000) + tonumber(ARGV[6])))
extend(KEYS[1], exp, tonumber(ARGV[6]))
keep(KEYS[3], KEYS[2], KEYS[1], tonumber(ARGV[7]), tonumber(ARGV[6]))
if fexp == 0 then return 'started' end
return 'ok'
`)

// trackFamilyScript records a family just started among its owner's
// (one user at one client), forgets those that are no longer live
// (expired, revoked or gone), and returns the oldest beyond the bound,
// removed from the list, for the caller to revoke. A family counts for as
// long as it lives, however long its client's refresh tokens live and
// however often rotation extends it; the list lives as long as its
// longest-lived family. The families' records are read by name (prefix and
// ID), as the owner's list holds only IDs.
// KEYS[1] owner; ARGV now (µs), family, bound, family key prefix, grace
// (ms). Returns the families to revoke.
var trackFamilyScript = redis.NewScript(familyState + `
local now = tonumber(ARGV[1])
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
local last = 0
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local revoked, fexp = family(ARGV[4] .. id, now)
  if revoked or fexp == 0 then
    redis.call('ZREM', KEYS[1], id)
  elseif fexp > last then
    last = fexp
  end
end
if last > 0 then
  redis.call('PEXPIREAT', KEYS[1], string.format('%d', math.floor(last / 1000) + tonumber(ARGV[5])))
end
local n = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[3])
if n <= 0 then return {} end
local old = redis.call('ZRANGE', KEYS[1], 0, n - 1)
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, n - 1)
return old
`)

// revokeFamilyScript marks a family revoked and keeps it at least until
// keepUntil, so that tokens created in it later are refused.
// KEYS[1] family; ARGV now (µs), keepUntil (µs), grace (ms).
var revokeFamilyScript = redis.NewScript(familyState + `
local now = tonumber(ARGV[1])
local _, fexp = family(KEYS[1], now)
if fexp == 0 then redis.call('DEL', KEYS[1]) end
redis.call('HSET', KEYS[1], 'revoked', '1')
extend(KEYS[1], tonumber(ARGV[2]), tonumber(ARGV[3]))
return 1
`)

// rotateScript exchanges a live, unused token of the client for a new one,
// or revokes the family if the token was already used.
// KEYS[1] old token, KEYS[2] family, KEYS[3] new token, KEYS[4] the family's
// owner's list (trackFamilyScript), which a rotation keeps at least as long
// as the family, KEYS[5] the family's token list; ARGV now (µs), now (JSON
// time), client, new json, new exp (µs), keepUntil for a revoked family
// (µs), grace (ms), the most tokens a family keeps. Returns "ok", "notfound", "expired", "revoked", "reused".
var rotateScript = redis.NewScript(familyState + `
local now = tonumber(ARGV[1])
local r = redis.call('HMGET', KEYS[1], 'exp', 'used', 'revoked', 'client')
if not r[1] then return 'notfound' end
if tonumber(r[1]) <= now then return 'expired' end
local revoked = family(KEYS[2], now)
if r[3] == '1' or revoked then return 'revoked' end
local grace = tonumber(ARGV[7])
if r[2] then
  redis.call('HSET', KEYS[2], 'revoked', '1')
  extend(KEYS[2], tonumber(ARGV[6]), grace)
  return 'reused'
end
if r[4] ~= ARGV[3] then return 'notfound' end
if redis.call('EXISTS', KEYS[3]) == 1 then return 'exists' end
local exp = tonumber(ARGV[5])
redis.call('HSET', KEYS[3], 'v', ARGV[4], 'exp', ARGV[5], 'client', ARGV[3], 'fam', redis.call('HGET', KEYS[1], 'fam'))
redis.call('PEXPIREAT', KEYS[3], string.format('%d', math.floor(exp / 1000) + grace))
redis.call('HSET', KEYS[1], 'used', ARGV[2])
extend(KEYS[2], exp, grace)
keep(KEYS[5], KEYS[3], KEYS[2], tonumber(ARGV[8]), grace)
-- The list's end, on the server's clock (as PEXPIREAT reads its time).
local left = redis.call('PTTL', KEYS[4])
local t = redis.call('TIME')
local want = math.floor(exp / 1000) + grace
if left >= 0 and tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + left < want then
  redis.call('PEXPIREAT', KEYS[4], string.format('%d', want))
end
return 'ok'
`)

// setIfExistsScript sets one field of an existing record; it never
// re-creates a record that expired or was deleted meanwhile.
// KEYS[1] record; ARGV field, value. Returns 1 if set.
var setIfExistsScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
`)

// failureScript adds one failure in the current window or starts a new one.
// KEYS[1] counter; ARGV now (µs), window end (µs), window end (JSON time),
// pxat (ms). Returns {count, window end (JSON time)}.
var failureScript = redis.NewScript(`
local f = redis.call('HMGET', KEYS[1], 'exp', 'end')
if not f[1] or tonumber(f[1]) <= tonumber(ARGV[1]) then
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], 'count', 1, 'exp', ARGV[2], 'end', ARGV[3])
  redis.call('PEXPIREAT', KEYS[1], ARGV[4])
  return {1, ARGV[3]}
end
return {redis.call('HINCRBY', KEYS[1], 'count', 1), f[2]}
`)

// releaseScript takes one off a failure counter whose current window ends
// at the given time, never below zero; HINCRBY keeps the key's expiry.
// KEYS[1] counter; ARGV now (µs), window end (µs). Returns the count, or
// -1 when the window is another one (or over) and nothing changed.
var releaseScript = redis.NewScript(`
local f = redis.call('HMGET', KEYS[1], 'exp', 'count')
if not f[1] or tonumber(f[1]) <= tonumber(ARGV[1]) or f[1] ~= ARGV[2] then
  return -1
end
if tonumber(f[2]) <= 0 then
  return 0
end
return redis.call('HINCRBY', KEYS[1], 'count', -1)
`)

// gcScript deletes those of KEYS that expired at or before now. Keys
// that are not records (the owners' sorted sets) end by their Redis TTL.
// ARGV now (µs). Returns how many it deleted.
var gcScript = redis.NewScript(`
local n = 0
for _, k in ipairs(KEYS) do
  local exp = false
  if redis.call('TYPE', k).ok == 'hash' then exp = redis.call('HGET', k, 'exp') end
  if exp and tonumber(exp) <= tonumber(ARGV[1]) then
    redis.call('DEL', k)
    n = n + 1
  end
end
return n
`)
