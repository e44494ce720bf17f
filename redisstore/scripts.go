package redisstore

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// Every change that touches more than one key is one of these scripts, so
// that it is atomic; all the keys a script touches share one job's hash tag.
// Expiry is PX/PEXPIRE: the server's clock, never the caller's.

// deliverScript: KEYS job, events, outcome[, id]; ARGV event JSON, token,
// terminal ("1"/"0"), dedupe TTL ms, event TTL ms, max events, channel, key,
// signer.
// Returns 1 for a duplicate id, else 0. Every delivery but a duplicate
// publishes a hint, also one that keeps nothing: a waiter that missed the
// hint of the outcome or of the first event reads again.
var deliverScript = redis.NewScript(`
if KEYS[4] and not redis.call('SET', KEYS[4], '1', 'NX', 'PX', ARGV[4]) then
	return 1
end
local jt = redis.call('PTTL', KEYS[1])
local keep = redis.call('EXISTS', KEYS[3]) == 0 and (ARGV[3] == '1' or jt > 0)
if keep then
	local evs = redis.call('LRANGE', KEYS[2], 0, -1)
	keep = #evs < tonumber(ARGV[6])
	for _, e in ipairs(evs) do
		local d = cjson.decode(e)
		local terminal = '0'
		if d.terminal == true then terminal = '1' end
		if (d.token or '') == ARGV[2] and (d.signer or '') == ARGV[9] and terminal == ARGV[3] then
			keep = false
		end
	end
end
if keep then
	redis.call('RPUSH', KEYS[2], ARGV[1])
	local ttl = tonumber(ARGV[5])
	if jt > ttl then ttl = jt end
	redis.call('PEXPIRE', KEYS[2], ttl)
end
redis.call('PUBLISH', ARGV[7], ARGV[8])
return 0
`)

// registerScript: KEYS job, events, outcome; ARGV job JSON, job TTL ms.
// Returns {job, events, outcome}; a registration's events live as long as it.
var registerScript = redis.NewScript(`
local evs = redis.call('LRANGE', KEYS[2], 0, -1)
local out = redis.call('GET', KEYS[3])
if out then
	return {false, evs, out}
end
redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2])
local jt = redis.call('PTTL', KEYS[1])
if #evs > 0 and redis.call('PTTL', KEYS[2]) < jt then
	redis.call('PEXPIRE', KEYS[2], jt)
end
return {redis.call('GET', KEYS[1]), evs, false}
`)

// lookupScript: KEYS job, events, outcome. Returns {job, events, outcome}
// as of one instant.
var lookupScript = redis.NewScript(`
return {redis.call('GET', KEYS[1]), redis.call('LRANGE', KEYS[2], 0, -1), redis.call('GET', KEYS[3])}
`)

// settleScript: KEYS job, events, outcome; ARGV outcome JSON, outcome TTL
// ms, channel, key. Returns the outcome that holds.
var settleScript = redis.NewScript(`
local prev = redis.call('GET', KEYS[3])
if prev then
	return prev
end
redis.call('SET', KEYS[3], ARGV[1], 'PX', ARGV[2])
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return ARGV[1]
`)

// leaseScript: KEYS lease; ARGV owner, TTL ms. Returns 1 if owner holds the
// lease now.
var leaseScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v then
	redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
	return 1
end
if v == ARGV[1] then
	redis.call('PEXPIRE', KEYS[1], ARGV[2])
	return 1
end
return 0
`)

// releaseScript: KEYS lease; ARGV owner.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
	redis.call('DEL', KEYS[1])
end
return 0
`)

// run executes sc by its digest (EVALSHA) and, when the server's script
// cache lacks it (a restart, SCRIPT FLUSH), by its source. extra, if not
// nil, queues commands that go in the same round trip after the script; they
// are not part of its atomic step.
func (s *Store) run(ctx context.Context, sc *redis.Script, keys []string, args []any, extra func(redis.Pipeliner)) (any, error) {
	if extra == nil {
		return sc.Run(ctx, s.client, keys, args...).Result()
	}
	for _, bySHA := range []bool{true, false} {
		var cmd *redis.Cmd
		_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			if bySHA {
				cmd = sc.EvalSha(ctx, p, keys, args...)
			} else {
				cmd = sc.Eval(ctx, p, keys, args...)
			}
			extra(p)
			return nil
		})
		if bySHA && redis.HasErrorPrefix(cmd.Err(), "NOSCRIPT") {
			continue
		}
		if err != nil {
			return nil, err
		}
		return cmd.Result()
	}
	panic("unreachable")
}
