/*
 * audit.c — the hash-chained, signed audit log (DESIGN.md invariant 4).
 *
 * Every moderator and admin action is appended here as one entry: who
 * (actor), what (action), to what (subject), with a little JSON (detail).
 * Each entry carries
 *
 *   hash = BLAKE2b-256(encode(seq, at, actor, action, subject, detail,
 *                             prev_hash))
 *   sig  = Ed25519 detached signature of hash
 *
 * where prev_hash is the hash of the entry before (32 zero bytes for entry
 * 1), so that changing, removing or reordering any entry breaks the chain
 * from there on, and sl_audit_verify finds the first entry that is wrong.
 * encode() (entry_hash below) is unambiguous: a fixed prefix naming the
 * format, fixed-width integers, and a length before every string, so no two
 * different entries encode to the same bytes.
 *
 * The signing key is an Ed25519 key pair derived from a 32-byte seed in
 * DATA/keys/audit.key, made on first use the way receipt.c makes
 * receipt.key (private temporary, fsync, link() into place; the loser of a
 * race reads the winner's). The signature adds what the hash alone cannot:
 * whoever edits the database without the key cannot make a chain that
 * verifies. Whoever holds the key (a seized server) can rewrite the whole
 * chain; that, and cutting entries off the end, is only caught against a
 * head noted somewhere else (docs/AUDIT.md).
 *
 * Appending: the store checks, inside one BEGIN IMMEDIATE transaction, that
 * the new entry's seq and prev_hash follow the last stored entry, and
 * refuses it otherwise (SL_EVALID). Here a mutex keeps this process's
 * threads in line; another process appending in between only costs a retry
 * with the new last entry. So the chain never forks.
 */
#define _GNU_SOURCE
#include "sightline/audit.h"

#include "crypto/crypto_int.h"

#include "sightline/receipt.h" /* sl_crypto_init */
#include "sightline/report.h"  /* sl_utf8_text_ok */
#include "sightline/timefmt.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#define SEED_BYTES crypto_sign_SEEDBYTES
#define FIELD_MAX 200		  /* bytes of actor, action, subject */
#define DETAIL_MAX 4096		  /* bytes of detail, as given */
#define APPEND_TRIES 50		  /* another process appending meanwhile */
#define LAST_ARENA_CAP (64 << 10) /* one entry: three fields and a detail */

/* The first bytes hashed for every entry: the format and its version. A
 * new format gets a new prefix, so old and new hashes never collide. */
static const char HASH_DOMAIN[] = "sightline audit entry v1";

_Static_assert(SEED_BYTES == 32, "the key file holds a 32-byte seed");
_Static_assert(SL_AUDIT_PUBLIC_BYTES == crypto_sign_PUBLICKEYBYTES, "public key size");
_Static_assert(SL_AUDIT_SIG_BYTES == crypto_sign_BYTES, "signature size");
_Static_assert(SL_AUDIT_HASH_BYTES >= crypto_generichash_BYTES_MIN &&
		   SL_AUDIT_HASH_BYTES <= crypto_generichash_BYTES_MAX,
	       "hash size must suit BLAKE2b");

/* The secret half lives in sodium_malloc memory, read-only once made. */
typedef struct audit_secret {
	uint8_t sk[crypto_sign_SECRETKEYBYTES];
} audit_secret;

struct sl_audit {
	sl_store *store;
	pthread_mutex_t lock; /* one append at a time from this handle */
	audit_secret *secret;
	uint8_t pk[SL_AUDIT_PUBLIC_BYTES];
};

/* Loads (or, when the log is still empty, makes) the key of data_dir into
 * a: a->secret and a->pk. A missing key for a log that has entries is an
 * error, not a reason to start a new key: entries signed with a lost key
 * could no longer be told from forged ones, and the log would look broken
 * from entry 1. */
static sl_err load_key(const char *data_dir, sl_audit *a)
{
	uint8_t *seed = sodium_malloc(SEED_BYTES);
	a->secret = sodium_malloc(sizeof(*a->secret));
	if (!seed || !a->secret) {
		if (seed)
			sodium_free(seed);
		return SL_ENOMEM;
	}
	sl_err err = sl_keyfile_load(data_dir, "audit.key", seed, SEED_BYTES, false);
	if (err == SL_ENOTFOUND) {
		sl_arena *ar = sl_arena_new(LAST_ARENA_CAP);
		sl_audit_entry last;
		err = ar ? sl_store_audit_last(a->store, &last, ar) : SL_ENOMEM;
		sl_arena_free(ar);
		if (err == SL_ENOTFOUND) {
			err = sl_keyfile_load(data_dir, "audit.key", seed, SEED_BYTES, true);
		} else if (err == SL_OK) {
			fprintf(stderr, "sightline: %s/keys/audit.key is missing, but the "
					"audit log has entries signed with it; restore the "
					"key from a backup\n",
				data_dir);
			err = SL_ECRYPTO;
		}
	}
	if (err == SL_OK && crypto_sign_seed_keypair(a->pk, a->secret->sk, seed) != 0)
		err = SL_ECRYPTO;
	sodium_free(seed); /* wipes it */
	if (err == SL_OK && sodium_mprotect_readonly(a->secret) != 0) {
		fprintf(stderr, "sightline: cannot protect the audit key in memory\n");
		err = SL_ECRYPTO;
	}
	return err;
}

/* ---- entries ------------------------------------------------------------- */

static void put_u64(crypto_generichash_state *h, uint64_t v)
{
	uint8_t b[8];
	for (int i = 7; i >= 0; i--, v >>= 8)
		b[i] = (uint8_t)v;
	crypto_generichash_update(h, b, sizeof(b));
}

/* A 4-byte big-endian length, then the bytes. Every string here is capped
 * far below 4 GiB (the store caps rows at 1 GB). */
static void put_str(crypto_generichash_state *h, const char *s)
{
	size_t n = strlen(s);
	uint8_t b[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8),
			(uint8_t)n};
	crypto_generichash_update(h, b, sizeof(b));
	crypto_generichash_update(h, (const uint8_t *)s, n);
}

/* The hash of e from its fields and prev_hash (not from e->hash). detail
 * NULL and present are told apart by a flag byte before it. */
static void entry_hash(const sl_audit_entry *e, uint8_t out[SL_AUDIT_HASH_BYTES])
{
	crypto_generichash_state h;
	crypto_generichash_init(&h, NULL, 0, SL_AUDIT_HASH_BYTES);
	crypto_generichash_update(&h, (const uint8_t *)HASH_DOMAIN, sizeof(HASH_DOMAIN));
	put_u64(&h, (uint64_t)e->seq);
	put_u64(&h, (uint64_t)e->at);
	put_str(&h, e->actor);
	put_str(&h, e->action);
	put_str(&h, e->subject);
	uint8_t has_detail = e->detail != NULL;
	crypto_generichash_update(&h, &has_detail, 1);
	put_str(&h, e->detail ? e->detail : "");
	crypto_generichash_update(&h, e->prev_hash, SL_AUDIT_HASH_BYTES);
	crypto_generichash_final(&h, out, SL_AUDIT_HASH_BYTES);
}

/* A name-like field: 1..FIELD_MAX bytes of UTF-8 text on one line. */
static bool field_ok(const char *s)
{
	if (!s)
		return false;
	size_t n = strnlen(s, FIELD_MAX + 1);
	return n >= 1 && n <= FIELD_MAX && sl_utf8_text_ok(s, n) &&
	       strcspn(s, "\t\r\n") == n;
}

/* detail as stored: a JSON object, re-written compact (one line, keys in
 * the caller's order). *out is malloc'd; NULL for no detail. */
static sl_err normalize_detail(const char *detail, char **out)
{
	*out = NULL;
	if (!detail)
		return SL_OK;
	if (strnlen(detail, DETAIL_MAX + 1) > DETAIL_MAX)
		return SL_EINVAL;
	json_t *v = json_loads(detail, JSON_REJECT_DUPLICATES, NULL);
	sl_err err = SL_OK;
	if (!json_is_object(v))
		err = SL_EINVAL;
	else if (!(*out = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER)))
		err = SL_ENOMEM;
	json_decref(v);
	return err;
}

sl_err sl_audit_open(const char *data_dir, sl_store *store, sl_audit **out)
{
	if (!data_dir || !*data_dir || !store || !out)
		return SL_EINVAL;
	*out = NULL;
	if (sl_crypto_init() != SL_OK)
		return SL_ECRYPTO;
	sl_audit *a = calloc(1, sizeof(*a));
	if (!a)
		return SL_ENOMEM;
	a->store = store;
	sl_err err = load_key(data_dir, a);
	if (err != SL_OK) {
		if (a->secret)
			sodium_free(a->secret);
		free(a);
		return err;
	}
	pthread_mutex_init(&a->lock, NULL);
	*out = a;
	return SL_OK;
}

void sl_audit_close(sl_audit *a)
{
	if (!a)
		return;
	pthread_mutex_destroy(&a->lock);
	sodium_free(a->secret); /* makes the pages writable again and wipes them */
	free(a);
}

const uint8_t *sl_audit_public_key(const sl_audit *a)
{
	return a ? a->pk : NULL;
}

/* A short pause before trying again after another process appended: 1 to
 * 4 ms, random so that two retrying processes drift apart. */
static void backoff(void)
{
	struct timespec ts = {0, (long)(1000000 + randombytes_uniform(3000000))};
	nanosleep(&ts, NULL);
}

sl_err sl_audit_append(sl_audit *a, const char *actor, const char *action,
		       const char *subject, const char *detail_json)
{
	if (!a || !field_ok(actor) || !field_ok(action) || !field_ok(subject))
		return SL_EINVAL;
	char *detail = NULL;
	sl_err err = normalize_detail(detail_json, &detail);
	if (err != SL_OK)
		return err;
	sl_arena *ar = sl_arena_new(LAST_ARENA_CAP);
	if (!ar) {
		free(detail);
		return SL_ENOMEM;
	}

	pthread_mutex_lock(&a->lock);
	err = SL_EVALID;
	for (int attempt = 0; attempt < APPEND_TRIES && err == SL_EVALID; attempt++) {
		if (attempt > 0)
			backoff();
		sl_audit_entry e = {.seq = 1,
				    .at = sl_time_now(),
				    .actor = actor,
				    .action = action,
				    .subject = subject,
				    .detail = detail};
		sl_audit_entry last;
		sl_arena_reset(ar);
		err = sl_store_audit_last(a->store, &last, ar);
		if (err == SL_OK) {
			e.seq = last.seq + 1;
			memcpy(e.prev_hash, last.hash, sizeof(e.prev_hash));
		} else if (err == SL_ENOTFOUND) {
			err = SL_OK; /* entry 1: prev_hash stays zero */
		}
		if (err != SL_OK)
			break;
		entry_hash(&e, e.hash);
		if (crypto_sign_detached(e.sig, NULL, e.hash, sizeof(e.hash),
					 a->secret->sk) != 0) {
			err = SL_ECRYPTO;
			break;
		}
		/* SL_EVALID: someone else's entry came first; build on it. */
		err = sl_store_audit_append(a->store, &e);
	}
	pthread_mutex_unlock(&a->lock);
	if (err == SL_EVALID)
		fprintf(stderr,
			"sightline: audit: gave up appending after %d tries: "
			"the log keeps moving under us\n",
			APPEND_TRIES);
	sl_arena_free(ar);
	free(detail);
	return err == SL_EVALID ? SL_EBUSY : err;
}

/* ---- verification -------------------------------------------------------- */

typedef struct verify_ctx {
	const uint8_t *pk;
	const uint8_t *expect_head; /* NULL: none noted */
	bool head_found;
	int64_t head_seq;
	sl_audit_result *out;
	int64_t last_seq;
	uint8_t last_hash[SL_AUDIT_HASH_BYTES];
} verify_ctx;

/* The visitor stops the walk with this once it has found damage. */
#define STOP SL_ECLOSED

static sl_err damaged(verify_ctx *v, int64_t seq, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static sl_err damaged(verify_ctx *v, int64_t seq, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	v->out->ok = false;
	v->out->bad_seq = seq;
	vsnprintf(v->out->why, sizeof(v->out->why), fmt, ap);
	va_end(ap);
	return STOP;
}

/* Checks one entry against the one before; the order of the checks decides
 * the words: the position first (missing, out of order), then the link
 * (prev_hash), then the content (hash), then who wrote it (signature). */
static sl_err verify_one(void *ud, const sl_audit_entry *e)
{
	verify_ctx *v = ud;
	int64_t want = v->last_seq + 1;
	if (e->seq > want) {
		if (e->seq == want + 1)
			return damaged(v, want,
				       "entry %lld is missing (the next stored is %lld)",
				       (long long)want, (long long)e->seq);
		return damaged(v, want, "entries %lld to %lld are missing",
			       (long long)want, (long long)(e->seq - 1));
	}
	if (e->seq < want)
		return damaged(v, e->seq,
			       "out of order: entry %lld comes after entry %lld",
			       (long long)e->seq, (long long)v->last_seq);
	if (memcmp(e->prev_hash, v->last_hash, SL_AUDIT_HASH_BYTES) != 0) {
		if (e->seq == 1)
			return damaged(v, 1,
				       "out of order: entry 1 does not start the chain "
				       "(its prev_hash is not zero)");
		return damaged(
		    v, e->seq,
		    "out of order: it does not follow entry %lld (its prev_hash is "
		    "not that entry's hash; moved, or the entry before replaced)",
		    (long long)v->last_seq);
	}
	uint8_t h[SL_AUDIT_HASH_BYTES];
	entry_hash(e, h);
	if (sodium_memcmp(h, e->hash, sizeof(h)) != 0)
		return damaged(v, e->seq,
			       "edited: its fields do not hash to its stored hash");
	if (crypto_sign_verify_detached(e->sig, e->hash, sizeof(e->hash), v->pk) != 0)
		return damaged(v, e->seq, "signature invalid under the audit public key");
	v->last_seq = e->seq;
	memcpy(v->last_hash, e->hash, sizeof(v->last_hash));
	v->out->entries++;
	if (v->expect_head && !v->head_found &&
	    memcmp(e->hash, v->expect_head, SL_AUDIT_HASH_BYTES) == 0) {
		v->head_found = true;
		v->head_seq = e->seq;
	}
	return SL_OK;
}

sl_err sl_audit_verify_head(sl_store *store,
			    const uint8_t public_key[SL_AUDIT_PUBLIC_BYTES],
			    const uint8_t *expect_head, sl_audit_result *out)
{
	if (!store || !public_key || !out)
		return SL_EINVAL;
	if (sl_crypto_init() != SL_OK)
		return SL_ECRYPTO;
	memset(out, 0, sizeof(*out));
	out->ok = true;
	verify_ctx v = {.pk = public_key, .expect_head = expect_head, .out = out};
	sl_err err = sl_store_each_audit(store, 0, verify_one, &v);
	if (err == SL_ESTORE) {
		/* The store stopped at a row it cannot read, and said why on
		 * stderr: the damage starts after the last good entry. */
		err = damaged(&v, v.last_seq + 1,
			      "unreadable (a malformed row, or a database error: see the "
			      "store's message)");
	}
	if (err == STOP)
		err = SL_OK;
	if (err != SL_OK)
		return err;
	memcpy(out->head, v.last_hash, sizeof(out->head));
	out->noted_seq = v.head_seq;
	if (out->ok && expect_head && !v.head_found)
		damaged(
		    &v, v.last_seq + 1,
		    "the noted head is not the hash of any entry: entries were cut off "
		    "the end, or the log was rewritten, since it was noted");
	return SL_OK;
}

sl_err sl_audit_verify(sl_store *store, const uint8_t public_key[SL_AUDIT_PUBLIC_BYTES],
		       sl_audit_result *out)
{
	return sl_audit_verify_head(store, public_key, NULL, out);
}
