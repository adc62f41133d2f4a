/*
 * ratelimit.c — token buckets for intake, kept in memory only.
 *
 * Intake must throttle floods without remembering who sent what
 * (invariant 1 in DESIGN.md). Each client gets a token bucket, found in a
 * fixed-size open-addressing table by the first 16 bytes of an
 * HMAC-SHA-256 of its address; the key is random, lives only in this process (in sodium_malloc
 * memory) and is replaced, with the whole table wiped, once it is a day
 * old. So the table never holds an address, and yesterday's entries
 * cannot be matched against anything even by someone who reads memory.
 *
 * The table never grows and nothing is allocated per request. A client is
 * looked for only in a short probe window after its home slot; when the
 * window is full, the entry with the most tokens (after refill) is evicted,
 * the oldest-touched among equals. A full bucket is the same as no entry at
 * all, so under normal load eviction forgets nothing; under a flood of
 * distinct addresses a throttled client may be evicted and get a fresh
 * bucket, which is the price of a bounded table.
 *
 * The client's bucket is checked first, then the global one; a token is
 * taken from both or from neither, so a request the global bucket refuses
 * costs the client nothing.
 */
#include "sightline/ratelimit.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define ID_BYTES 16
#define KEY_BYTES crypto_auth_hmacsha256_KEYBYTES
#define PROBE_MAX 32			     /* slots searched per lookup */
#define KEY_LIFE_MS (24ull * 60 * 60 * 1000) /* then a new key, empty table */
#define RETRY_MAX 86400u		     /* retry_after is capped at a day */
#define TOKEN_EPS 1e-9			     /* absorbs rounding of refills */

typedef struct bucket {
	double tokens;
	uint64_t last_ms; /* when tokens was last brought up to date */
} bucket;

typedef struct entry {
	uint8_t id[ID_BYTES]; /* keyed hash of the address, never the address */
	bucket b;
	bool used;
} entry;

struct sl_ratelimit {
	pthread_mutex_t lock;

	bool client_on, global_on;
	double client_rate; /* tokens per millisecond */
	double client_burst;
	double global_rate; /* tokens per millisecond */
	double global_burst;

	bucket global;
	entry *table; /* cap entries; NULL when the per-client limit is off */
	size_t cap, probe;

	unsigned char *key; /* KEY_BYTES, sodium_malloc */
	uint64_t key_born_ms;
	bool key_dated; /* key_born_ms is set (by the first take) */
};

static bool valid_limit(double rate, double burst)
{
	if (!isfinite(rate) || rate < 0)
		return false;
	return rate == 0 || (isfinite(burst) && burst >= 1);
}

sl_err sl_ratelimit_new(const sl_ratelimit_config *cfg, sl_ratelimit **out)
{
	if (!cfg || !out)
		return SL_EINVAL;
	*out = NULL;
	if (!valid_limit(cfg->per_client_per_min, cfg->per_client_burst) ||
	    !valid_limit(cfg->global_per_sec, cfg->global_burst))
		return SL_EINVAL;
	bool client_on = cfg->per_client_per_min > 0;
	if (client_on &&
	    (cfg->max_clients == 0 || cfg->max_clients > SIZE_MAX / sizeof(entry)))
		return SL_EINVAL;
	/* sodium_init is idempotent and thread-safe. */
	if (sodium_init() < 0)
		return SL_ECRYPTO;

	sl_ratelimit *rl = calloc(1, sizeof(*rl));
	if (!rl)
		return SL_ENOMEM;
	rl->client_on = client_on;
	rl->client_rate = cfg->per_client_per_min / 60000.0;
	rl->client_burst = cfg->per_client_burst;
	rl->global_on = cfg->global_per_sec > 0;
	rl->global_rate = cfg->global_per_sec / 1000.0;
	rl->global_burst = cfg->global_burst;
	/* Full from the start: refills are capped at the burst anyway. */
	rl->global.tokens = cfg->global_burst;

	if (client_on) {
		rl->cap = cfg->max_clients;
		rl->probe = rl->cap < PROBE_MAX ? rl->cap : PROBE_MAX;
		rl->table = calloc(rl->cap, sizeof(entry));
		if (!rl->table)
			goto nomem;
	}
	/* The key is not made read-only: it is rewritten once a day from
	 * inside take(), and a failed mprotect there would have no good
	 * answer. Guard pages and the wipe on free still apply. */
	rl->key = sodium_malloc(KEY_BYTES);
	if (!rl->key)
		goto nomem;
	randombytes_buf(rl->key, KEY_BYTES);
	if (pthread_mutex_init(&rl->lock, NULL) != 0)
		goto nomem;
	*out = rl;
	return SL_OK;
nomem:
	sodium_free(rl->key);
	free(rl->table);
	free(rl);
	return SL_ENOMEM;
}

void sl_ratelimit_free(sl_ratelimit *rl)
{
	if (!rl)
		return;
	pthread_mutex_destroy(&rl->lock);
	sodium_free(rl->key);
	if (rl->table)
		sodium_memzero(rl->table, rl->cap * sizeof(entry));
	free(rl->table);
	free(rl);
}

/* Once the key is a day old: a new key, and every entry forgotten. The
 * day is counted from the first take, as only take() knows the clock. */
static void maybe_rotate(sl_ratelimit *rl, uint64_t now_ms)
{
	if (!rl->key_dated) {
		rl->key_born_ms = now_ms;
		rl->key_dated = true;
		return;
	}
	if (now_ms < rl->key_born_ms || now_ms - rl->key_born_ms < KEY_LIFE_MS)
		return;
	randombytes_buf(rl->key, KEY_BYTES);
	if (rl->table)
		sodium_memzero(rl->table, rl->cap * sizeof(entry));
	rl->key_born_ms = now_ms;
}

/* The tokens b would hold at now_ms, without changing it. */
static double tokens_at(const bucket *b, double rate, double burst, uint64_t now_ms)
{
	if (now_ms <= b->last_ms)
		return b->tokens;
	double t = b->tokens + (double)(now_ms - b->last_ms) * rate;
	return t < burst ? t : burst;
}

static void refill(bucket *b, double rate, double burst, uint64_t now_ms)
{
	b->tokens = tokens_at(b, rate, burst, now_ms);
	/* A clock that steps back does not move last_ms back with it. */
	if (now_ms > b->last_ms)
		b->last_ms = now_ms;
}

static bool has_token(const bucket *b)
{
	return b->tokens >= 1.0 - TOKEN_EPS;
}

static void spend(bucket *b)
{
	b->tokens = b->tokens > 1.0 ? b->tokens - 1.0 : 0.0;
}

/* Whole seconds until b holds one token, in [1, RETRY_MAX]. */
static unsigned retry_secs(const bucket *b, double rate_per_ms)
{
	double secs = ceil((1.0 - b->tokens) / (rate_per_ms * 1000.0));
	if (!(secs >= 1.0))
		return 1;
	return secs > RETRY_MAX ? RETRY_MAX : (unsigned)secs;
}

/* The client's entry, made (with a full bucket) when it has none. */
static entry *find_client(sl_ratelimit *rl, const uint8_t id[ID_BYTES], uint64_t now_ms)
{
	uint64_t h;
	memcpy(&h, id, sizeof(h)); /* id is already uniformly random */
	size_t home = (size_t)(h % rl->cap);
	entry *empty = NULL, *victim = NULL;
	double victim_tokens = 0;

	for (size_t i = 0; i < rl->probe; i++) {
		entry *e = &rl->table[(home + i) % rl->cap];
		if (!e->used) {
			if (!empty)
				empty = e;
			continue;
		}
		if (memcmp(e->id, id, ID_BYTES) == 0)
			return e;
		double t = tokens_at(&e->b, rl->client_rate, rl->client_burst, now_ms);
		if (!victim || t > victim_tokens ||
		    (t == victim_tokens && e->b.last_ms < victim->b.last_ms)) {
			victim = e;
			victim_tokens = t;
		}
	}
	entry *e = empty ? empty : victim;
	memcpy(e->id, id, ID_BYTES);
	e->used = true;
	e->b.tokens = rl->client_burst;
	e->b.last_ms = now_ms;
	return e;
}

bool sl_ratelimit_take(sl_ratelimit *rl, const void *addr, size_t len, uint64_t now_ms,
		       unsigned *retry_after /* OUT */)
{
	bool ok = true;
	unsigned retry = 0;

	pthread_mutex_lock(&rl->lock);
	maybe_rotate(rl, now_ms);

	entry *e = NULL;
	if (rl->client_on) {
		uint8_t mac[crypto_auth_hmacsha256_BYTES], id[ID_BYTES];
		crypto_auth_hmacsha256(mac, addr ? addr : (const void *)"", addr ? len : 0,
				       rl->key);
		memcpy(id, mac, sizeof(id));
		sodium_memzero(mac, sizeof(mac));
		e = find_client(rl, id, now_ms);
		sodium_memzero(id, sizeof(id));
		refill(&e->b, rl->client_rate, rl->client_burst, now_ms);
		if (!has_token(&e->b)) {
			ok = false;
			retry = retry_secs(&e->b, rl->client_rate);
		}
	}
	if (ok && rl->global_on) {
		refill(&rl->global, rl->global_rate, rl->global_burst, now_ms);
		if (!has_token(&rl->global)) {
			ok = false;
			retry = retry_secs(&rl->global, rl->global_rate);
		}
	}
	if (ok) {
		if (e)
			spend(&e->b);
		if (rl->global_on)
			spend(&rl->global);
	}
	pthread_mutex_unlock(&rl->lock);

	if (retry_after)
		*retry_after = retry;
	return ok;
}
