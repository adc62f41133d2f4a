/*
 * test_audit.c — the audit log: appending and verifying, concurrent
 * appenders (threads on one handle, and two store handles as two processes
 * would have), every kind of tampering done directly in the SQLite file
 * (each must be found at the right entry), input the log refuses, and the
 * key file.
 *
 * The entry hash is recomputed here from docs/AUDIT.md's description of the
 * encoding, independently of audit.c, so the format is pinned down by a
 * test; it is also what lets the "attacker" below re-sign entries with a
 * key of their own.
 *
 * Each test works in its own fresh directory under $TMPDIR (or /tmp).
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "sightline/audit.h"
#include "sightline/receipt.h" /* sl_crypto_init */

#include "teststore.h"

typedef struct fixture {
	char root[256];	   /* mkdtemp result */
	char data[512];	   /* root/data */
	char db[PATH_MAX]; /* data/sightline.db */
	sl_store *store;
	sl_audit *audit;
	uint8_t pk[SL_AUDIT_PUBLIC_BYTES];
} fixture;

static void open_log(fixture *f)
{
	assert_int_equal(teststore_open(f->data, &f->store), SL_OK);
	assert_int_equal(sl_audit_open(f->data, f->store, &f->audit), SL_OK);
	memcpy(f->pk, sl_audit_public_key(f->audit), sizeof(f->pk));
}

static void close_log(fixture *f)
{
	sl_audit_close(f->audit);
	sl_store_close(f->store);
	f->audit = NULL;
	f->store = NULL;
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	assert_int_equal(sl_crypto_init(), SL_OK);
	const char *tmp = getenv("TMPDIR");
	snprintf(f->root, sizeof(f->root), "%s/sl-audit-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(f->root));
	snprintf(f->data, sizeof(f->data), "%s/data", f->root);
	snprintf(f->db, sizeof(f->db), "%s/sightline.db", f->data);
	open_log(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	close_log(f);
	teststore_drop(f->data);
	char cmd[PATH_MAX + 32];
	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", f->root);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", f->root);
	free(f);
	return 0;
}

/* Appends n entries: actor "mod-K", action "unseal", subject "report:K",
 * a detail on every other one. */
static void append_n(fixture *f, int n)
{
	for (int k = 1; k <= n; k++) {
		char actor[32], subject[32], detail[64];
		snprintf(actor, sizeof(actor), "mod-%d", k);
		snprintf(subject, sizeof(subject), "report:%d", k);
		snprintf(detail, sizeof(detail), "{\"items_opened\": %d}", k);
		assert_int_equal(sl_audit_append(f->audit, actor, "unseal", subject,
						 k % 2 ? detail : NULL),
				 SL_OK);
	}
}

static sl_audit_result verify(fixture *f)
{
	sl_audit_result r;
	assert_int_equal(sl_audit_verify(f->store, f->pk, &r), SL_OK);
	return r;
}

/* Asserts that verification fails at entry seq, with why containing words. */
static void expect_damage(fixture *f, int64_t seq, const char *words)
{
	sl_audit_result r = verify(f);
	if (r.ok || r.bad_seq != seq || !strstr(r.why, words))
		fail_msg("want damage at entry %lld (\"%s\"), got ok=%d bad_seq=%lld "
			 "why=\"%s\"",
			 (long long)seq, words, r.ok, (long long)r.bad_seq, r.why);
}

/* Runs SQL on the database as an attacker would: with the store closed,
 * through the database itself (SQLite, or psql's way into PostgreSQL), the
 * append-only triggers dropped first. pg_sql (NULL: the same as sql) is
 * the PostgreSQL words for it. */
static void tamper2(fixture *f, const char *sql, const char *pg_sql)
{
	close_log(f);
	bool pg = teststore_pg();
	teststore_exec(f->data, pg ? "DROP TRIGGER IF EXISTS audit_no_update ON audit;"
				     "DROP TRIGGER IF EXISTS audit_no_delete ON audit;"
				   : "DROP TRIGGER IF EXISTS audit_no_update;"
				     "DROP TRIGGER IF EXISTS audit_no_delete;");
	teststore_exec(f->data, pg && pg_sql ? pg_sql : sql);
	open_log(f);
}

static void tamper(fixture *f, const char *sql)
{
	tamper2(f, sql, NULL);
}

/* A blob literal of the backend's: X'..' or '\x..'::bytea. */
static void blob_literal(char *buf, size_t size, const uint8_t *b, size_t n)
{
	bool pg = teststore_pg();
	size_t o = (size_t)snprintf(buf, size, pg ? "'\\x" : "X'");
	for (size_t i = 0; i < n && o + 3 < size; i++)
		o += (size_t)snprintf(buf + o, size - o, "%02x", b[i]);
	snprintf(buf + o, size - o, pg ? "'::bytea" : "'");
}

/* ---- the encoding, per docs/AUDIT.md ------------------------------------- */

static void put_be(crypto_generichash_state *h, uint64_t v, int bytes)
{
	uint8_t b[8];
	for (int i = bytes - 1; i >= 0; i--, v >>= 8)
		b[i] = (uint8_t)v;
	crypto_generichash_update(h, b, (size_t)bytes);
}

static void put_str(crypto_generichash_state *h, const char *s)
{
	put_be(h, strlen(s), 4);
	crypto_generichash_update(h, (const uint8_t *)s, strlen(s));
}

static void doc_hash(const sl_audit_entry *e, uint8_t out[SL_AUDIT_HASH_BYTES])
{
	static const char domain[] = "sightline audit entry v1"; /* and its NUL */
	crypto_generichash_state h;
	crypto_generichash_init(&h, NULL, 0, SL_AUDIT_HASH_BYTES);
	crypto_generichash_update(&h, (const uint8_t *)domain, sizeof(domain));
	put_be(&h, (uint64_t)e->seq, 8);
	put_be(&h, (uint64_t)e->at, 8);
	put_str(&h, e->actor);
	put_str(&h, e->action);
	put_str(&h, e->subject);
	uint8_t flag = e->detail != NULL;
	crypto_generichash_update(&h, &flag, 1);
	put_str(&h, e->detail ? e->detail : "");
	crypto_generichash_update(&h, e->prev_hash, SL_AUDIT_HASH_BYTES);
	crypto_generichash_final(&h, out, SL_AUDIT_HASH_BYTES);
}

/* Every entry, copied out of the visit. */
typedef struct copied {
	int64_t seq, at;
	char actor[256], action[256], subject[256], detail[512];
	bool has_detail;
	uint8_t prev_hash[32], hash[32], sig[64];
} copied;

typedef struct collect {
	copied *e;
	size_t n, cap;
} collect;

static sl_err collect_one(void *ud, const sl_audit_entry *e)
{
	collect *c = ud;
	if (c->n == c->cap)
		return SL_ETOOBIG;
	copied *o = &c->e[c->n++];
	o->seq = e->seq;
	o->at = e->at;
	snprintf(o->actor, sizeof(o->actor), "%s", e->actor);
	snprintf(o->action, sizeof(o->action), "%s", e->action);
	snprintf(o->subject, sizeof(o->subject), "%s", e->subject);
	o->has_detail = e->detail != NULL;
	snprintf(o->detail, sizeof(o->detail), "%s", e->detail ? e->detail : "");
	memcpy(o->prev_hash, e->prev_hash, 32);
	memcpy(o->hash, e->hash, 32);
	memcpy(o->sig, e->sig, 64);
	return SL_OK;
}

static collect all_entries(fixture *f, size_t cap)
{
	collect c = {calloc(cap, sizeof(copied)), 0, cap};
	assert_non_null(c.e);
	assert_int_equal(sl_store_each_audit(f->store, 0, collect_one, &c), SL_OK);
	return c;
}

static sl_audit_entry view(const copied *c)
{
	sl_audit_entry e = {.seq = c->seq,
			    .at = c->at,
			    .actor = c->actor,
			    .action = c->action,
			    .subject = c->subject,
			    .detail = c->has_detail ? c->detail : NULL};
	memcpy(e.prev_hash, c->prev_hash, 32);
	memcpy(e.hash, c->hash, 32);
	memcpy(e.sig, c->sig, 64);
	return e;
}

/* ---- round trip ---------------------------------------------------------- */

static void test_round_trip(void **state)
{
	fixture *f = *state;
	sl_audit_result r = verify(f);
	assert_true(r.ok);
	assert_int_equal(r.entries, 0);

	append_n(f, 100);
	r = verify(f);
	if (!r.ok)
		fail_msg("a fresh log is damaged at %lld: %s", (long long)r.bad_seq,
			 r.why);
	assert_int_equal(r.entries, 100);
	assert_int_equal(r.bad_seq, 0);

	collect c = all_entries(f, 128);
	assert_int_equal(c.n, 100);
	uint8_t zero[32] = {0};
	for (size_t i = 0; i < c.n; i++) {
		copied *e = &c.e[i];
		assert_int_equal(e->seq, (int64_t)i + 1);
		char want[64];
		snprintf(want, sizeof(want), "mod-%zu", i + 1);
		assert_string_equal(e->actor, want);
		assert_string_equal(e->action, "unseal");
		/* detail is stored compact; no detail stays NULL */
		if ((i + 1) % 2) {
			snprintf(want, sizeof(want), "{\"items_opened\":%zu}", i + 1);
			assert_true(e->has_detail);
			assert_string_equal(e->detail, want);
		} else {
			assert_false(e->has_detail);
		}
		assert_memory_equal(e->prev_hash, i ? c.e[i - 1].hash : zero, 32);
		/* the documented encoding gives the stored hash ... */
		sl_audit_entry v = view(e);
		uint8_t h[32];
		doc_hash(&v, h);
		assert_memory_equal(h, e->hash, 32);
		/* ... and the signature is Ed25519 over it, under the public key */
		assert_int_equal(crypto_sign_verify_detached(e->sig, e->hash, 32, f->pk),
				 0);
	}
	assert_memory_equal(r.head, c.e[99].hash, 32);

	/* last, and each_audit from a seq */
	sl_arena *a = sl_arena_new(1 << 16);
	sl_audit_entry last;
	assert_int_equal(sl_store_audit_last(f->store, &last, a), SL_OK);
	assert_int_equal(last.seq, 100);
	assert_memory_equal(last.hash, r.head, 32);
	sl_arena_free(a);
	collect tail = {calloc(8, sizeof(copied)), 0, 8};
	assert_int_equal(sl_store_each_audit(f->store, 95, collect_one, &tail), SL_OK);
	assert_int_equal(tail.n, 5);
	assert_int_equal(tail.e[0].seq, 96);
	free(tail.e);
	free(c.e);
}

static void test_empty_last(void **state)
{
	fixture *f = *state;
	sl_arena *a = sl_arena_new(1 << 16);
	sl_audit_entry last;
	assert_int_equal(sl_store_audit_last(f->store, &last, a), SL_ENOTFOUND);
	sl_arena_free(a);
}

/* The store refuses an entry that does not follow the last one. */
static void test_store_refuses_fork(void **state)
{
	fixture *f = *state;
	append_n(f, 3);
	sl_arena *a = sl_arena_new(1 << 16);
	sl_audit_entry last;
	assert_int_equal(sl_store_audit_last(f->store, &last, a), SL_OK);
	sl_audit_entry e = last;
	e.seq = last.seq; /* a second entry 3 */
	assert_int_equal(sl_store_audit_append(f->store, &e), SL_EVALID);
	e.seq = last.seq + 2; /* a gap */
	memcpy(e.prev_hash, last.hash, 32);
	assert_int_equal(sl_store_audit_append(f->store, &e), SL_EVALID);
	e.seq = last.seq + 1; /* right seq, wrong link */
	memcpy(e.prev_hash, last.prev_hash, 32);
	assert_int_equal(sl_store_audit_append(f->store, &e), SL_EVALID);
	sl_arena_free(a);
	sl_audit_result r = verify(f);
	assert_true(r.ok);
	assert_int_equal(r.entries, 3);
}

/* ---- concurrency --------------------------------------------------------- */

#define THREADS 4
#define PER_THREAD 25

typedef struct worker {
	sl_audit *audit;
	int id;
	sl_err err;
} worker;

static void *append_many(void *arg)
{
	worker *w = arg;
	for (int k = 0; k < PER_THREAD && w->err == SL_OK; k++) {
		char actor[32], detail[64];
		snprintf(actor, sizeof(actor), "thread-%d", w->id);
		snprintf(detail, sizeof(detail), "{\"k\": %d}", k);
		w->err = sl_audit_append(w->audit, actor, "grade", "report:1", detail);
	}
	return NULL;
}

static void run_workers(sl_audit *handles[THREADS])
{
	pthread_t t[THREADS];
	worker w[THREADS];
	for (int i = 0; i < THREADS; i++) {
		w[i] = (worker){handles[i], i, SL_OK};
		assert_int_equal(pthread_create(&t[i], NULL, append_many, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		if (w[i].err != SL_OK)
			fail_msg("thread %d: %s", i, sl_strerror(w[i].err));
	}
}

/* Four threads on one handle. */
static void test_concurrent_threads(void **state)
{
	fixture *f = *state;
	sl_audit *h[THREADS] = {f->audit, f->audit, f->audit, f->audit};
	run_workers(h);
	sl_audit_result r = verify(f);
	if (!r.ok)
		fail_msg("damaged at %lld: %s", (long long)r.bad_seq, r.why);
	assert_int_equal(r.entries, THREADS * PER_THREAD);
}

/* Two store handles (two connections, each with its own write mutex: as
 * two processes), two audit handles on each: only the store's check inside
 * BEGIN IMMEDIATE keeps the chain from forking here. */
static void test_concurrent_connections(void **state)
{
	fixture *f = *state;
	sl_store *s2;
	sl_audit *a2, *a3, *a4;
	assert_int_equal(teststore_open(f->data, &s2), SL_OK);
	assert_int_equal(sl_audit_open(f->data, s2, &a2), SL_OK);
	assert_int_equal(sl_audit_open(f->data, s2, &a3), SL_OK);
	assert_int_equal(sl_audit_open(f->data, f->store, &a4), SL_OK);
	assert_memory_equal(sl_audit_public_key(a2), f->pk, 32);
	sl_audit *h[THREADS] = {f->audit, a2, a3, a4};
	run_workers(h);
	sl_audit_close(a2);
	sl_audit_close(a3);
	sl_audit_close(a4);
	sl_store_close(s2);
	sl_audit_result r = verify(f);
	if (!r.ok)
		fail_msg("damaged at %lld: %s", (long long)r.bad_seq, r.why);
	assert_int_equal(r.entries, THREADS * PER_THREAD);
}

/* ---- tampering ----------------------------------------------------------- */

static void test_edit_actor(void **state)
{
	fixture *f = *state;
	append_n(f, 10);
	tamper(f, "UPDATE audit SET actor = 'someone-else' WHERE seq = 5");
	expect_damage(f, 5, "edited");
}

static void test_edit_detail(void **state)
{
	fixture *f = *state;
	append_n(f, 10);
	tamper(f, "UPDATE audit SET detail = '{\"items_opened\":0}' WHERE seq = 7");
	expect_damage(f, 7, "edited");
}

static void test_drop_detail(void **state)
{
	fixture *f = *state;
	append_n(f, 10);
	tamper(f, "UPDATE audit SET detail = NULL WHERE seq = 3");
	expect_damage(f, 3, "edited");
}

static void test_edit_time(void **state)
{
	fixture *f = *state;
	append_n(f, 10);
	tamper(f, "UPDATE audit SET at = at - 86400 WHERE seq = 8");
	expect_damage(f, 8, "edited");
}

static void test_delete_middle(void **state)
{
	fixture *f = *state;
	append_n(f, 10);
	tamper(f, "DELETE FROM audit WHERE seq = 5");
	expect_damage(f, 5, "entry 5 is missing");
}

static void test_delete_first(void **state)
{
	fixture *f = *state;
	append_n(f, 10);
	tamper(f, "DELETE FROM audit WHERE seq = 1");
	expect_damage(f, 1, "entry 1 is missing");
}

static void test_delete_several(void **state)
{
	fixture *f = *state;
	append_n(f, 10);
	tamper(f, "DELETE FROM audit WHERE seq BETWEEN 4 AND 6");
	expect_damage(f, 4, "entries 4 to 6 are missing");
}

/* Deleting one and renumbering the rest closes the gap in seq, not in the
 * chain. */
static void test_delete_and_renumber(void **state)
{
	fixture *f = *state;
	append_n(f, 10);
	tamper(f, "DELETE FROM audit WHERE seq = 5;"
		  "UPDATE audit SET seq = seq + 100 WHERE seq > 5;"
		  "UPDATE audit SET seq = seq - 101 WHERE seq > 100;");
	expect_damage(f, 5, "out of order");
}

static void test_swap_entries(void **state)
{
	fixture *f = *state;
	append_n(f, 10);
	tamper(f, "UPDATE audit SET seq = 1000 WHERE seq = 3;"
		  "UPDATE audit SET seq = 3 WHERE seq = 7;"
		  "UPDATE audit SET seq = 7 WHERE seq = 1000;");
	expect_damage(f, 3, "out of order");
}

static void test_replace_signature(void **state)
{
	fixture *f = *state;
	append_n(f, 10);
	tamper2(f, "UPDATE audit SET sig = randomblob(64) WHERE seq = 4",
		"UPDATE audit SET sig = sha512(sig) WHERE seq = 4");
	expect_damage(f, 4, "signature invalid");
}

/* Copies entry 2's signature onto entry 6: a real signature, of another
 * entry. */
static void test_borrowed_signature(void **state)
{
	fixture *f = *state;
	append_n(f, 10);
	tamper(
	    f,
	    "UPDATE audit SET sig = (SELECT sig FROM audit WHERE seq = 2) WHERE seq = 6");
	expect_damage(f, 6, "signature invalid");
}

/* A hash and signature of the wrong size: not a row the log writes. */
static void test_malformed_row(void **state)
{
	fixture *f = *state;
	append_n(f, 10);
	tamper2(f,
		"PRAGMA ignore_check_constraints = ON;"
		"UPDATE audit SET hash = x'0102' WHERE seq = 6",
		"ALTER TABLE audit DROP CONSTRAINT audit_hash_check;"
		"UPDATE audit SET hash = '\\x0102'::bytea WHERE seq = 6");
	expect_damage(f, 6, "unreadable");
}

/* Rewrites entries from `from` on: edits entry `from`'s actor, re-chains
 * and re-signs with sk, as someone with a key but not the server's would. */
static void resign_from(fixture *f, int64_t from, const uint8_t sk[64])
{
	collect c = all_entries(f, 64);
	size_t cap = 64 * 512, o = 0;
	char *sql = malloc(cap);
	assert_non_null(sql);
	sql[0] = '\0';
	for (size_t i = 0; i < c.n; i++) {
		copied *e = &c.e[i];
		if (e->seq < from)
			continue;
		if (e->seq == from)
			snprintf(e->actor, sizeof(e->actor), "%s", "forger");
		if (i == 0)
			memset(e->prev_hash, 0, 32);
		else
			memcpy(e->prev_hash, c.e[i - 1].hash, 32); /* rewritten already */
		sl_audit_entry v = view(e);
		doc_hash(&v, e->hash);
		crypto_sign_detached(e->sig, NULL, e->hash, 32, sk);
		char prev[80], hash[80], sig[144];
		blob_literal(prev, sizeof(prev), e->prev_hash, 32);
		blob_literal(hash, sizeof(hash), e->hash, 32);
		blob_literal(sig, sizeof(sig), e->sig, 64);
		o += (size_t)snprintf(sql + o, cap - o,
				      "UPDATE audit SET actor = '%s', prev_hash = %s,"
				      " hash = %s, sig = %s WHERE seq = %lld;",
				      e->actor, prev, hash, sig, (long long)e->seq);
		assert_true(o < cap);
	}
	tamper(f, sql);
	free(sql);
	free(c.e);
}

/* Edited and re-signed with another key: the hashes chain, the signature
 * under the real key does not hold. */
static void test_resigned_with_other_key(void **state)
{
	fixture *f = *state;
	append_n(f, 10);
	uint8_t pk[32], sk[64];
	crypto_sign_keypair(pk, sk);
	resign_from(f, 5, sk);
	expect_damage(f, 5, "signature invalid");
}

/* The whole chain rewritten under another key verifies only under that
 * key; a head noted before catches it whatever key is used. */
static void test_rewritten_whole_chain(void **state)
{
	fixture *f = *state;
	append_n(f, 10);
	sl_audit_result before = verify(f);
	uint8_t pk[32], sk[64];
	crypto_sign_keypair(pk, sk);
	resign_from(f, 1, sk);
	expect_damage(f, 1, "signature invalid");
	sl_audit_result r;
	assert_int_equal(sl_audit_verify_head(f->store, pk, NULL, &r), SL_OK);
	assert_true(r.ok); /* what a seized key allows ... */
	assert_int_equal(sl_audit_verify_head(f->store, pk, before.head, &r), SL_OK);
	assert_false(r.ok); /* ... and what a noted head still catches */
	assert_non_null(strstr(r.why, "noted head"));
}

/* Cutting off the tail leaves a valid chain: only a noted head tells. */
static void test_truncated_tail(void **state)
{
	fixture *f = *state;
	append_n(f, 10);
	sl_audit_result noted = verify(f);
	assert_true(noted.ok);
	collect c = all_entries(f, 16);
	tamper(f, "DELETE FROM audit WHERE seq > 8");
	sl_audit_result r = verify(f);
	assert_true(r.ok);
	assert_int_equal(r.entries, 8);
	assert_memory_not_equal(r.head, noted.head, 32);
	assert_memory_equal(r.head, c.e[7].hash, 32);

	assert_int_equal(sl_audit_verify_head(f->store, f->pk, noted.head, &r), SL_OK);
	assert_false(r.ok);
	assert_int_equal(r.bad_seq, 9);
	assert_non_null(strstr(r.why, "noted head"));

	/* an older noted head is still there, and later entries are fine */
	assert_int_equal(sl_audit_verify_head(f->store, f->pk, c.e[5].hash, &r), SL_OK);
	assert_true(r.ok);
	assert_int_equal(r.noted_seq, 6);
	assert_int_equal(r.entries, 8);

	/* truncated and then appended to: the chain is valid again, the noted
	 * head is still gone */
	append_n(f, 3);
	assert_int_equal(sl_audit_verify_head(f->store, f->pk, noted.head, &r), SL_OK);
	assert_false(r.ok);
	free(c.e);
}

/* The append-only triggers stop this program's own SQL from rewriting. */
static void test_triggers_refuse(void **state)
{
	fixture *f = *state;
	append_n(f, 2);
	close_log(f);
	char why[512];
	assert_false(teststore_try_exec(f->data, "UPDATE audit SET actor = 'x'", why,
					sizeof(why)));
	assert_non_null(strstr(why, "append-only"));
	assert_false(teststore_try_exec(f->data, "DELETE FROM audit", why, sizeof(why)));
	assert_non_null(strstr(why, "append-only"));
	if (teststore_pg())
		assert_false(teststore_try_exec(f->data, "TRUNCATE audit", why, sizeof(why)));
	open_log(f);
	assert_true(verify(f).ok);
}

/* ---- input refused ------------------------------------------------------- */

static void test_invalid_input(void **state)
{
	fixture *f = *state;
	char long_field[202];
	memset(long_field, 'a', 201);
	long_field[201] = '\0';
	char big_detail[5000];
	memset(big_detail, ' ', sizeof(big_detail));
	memcpy(big_detail, "{\"a\":1}", 7);
	big_detail[sizeof(big_detail) - 1] = '\0';
	static const char bad_utf8[] = "mod-\xc3\x28";
	static const char overlong[] = "\xc0\xaf";

	sl_audit *a = f->audit;
	assert_int_equal(sl_audit_append(a, "", "unseal", "report:1", NULL), SL_EINVAL);
	assert_int_equal(sl_audit_append(a, "cli", "", "report:1", NULL), SL_EINVAL);
	assert_int_equal(sl_audit_append(a, "cli", "unseal", "", NULL), SL_EINVAL);
	assert_int_equal(sl_audit_append(a, NULL, "unseal", "report:1", NULL), SL_EINVAL);
	assert_int_equal(sl_audit_append(a, long_field, "unseal", "report:1", NULL),
			 SL_EINVAL);
	assert_int_equal(sl_audit_append(a, "cli", long_field, "report:1", NULL),
			 SL_EINVAL);
	assert_int_equal(sl_audit_append(a, "cli", "unseal", long_field, NULL),
			 SL_EINVAL);
	assert_int_equal(sl_audit_append(a, bad_utf8, "unseal", "report:1", NULL),
			 SL_EINVAL);
	assert_int_equal(sl_audit_append(a, "cli", overlong, "report:1", NULL),
			 SL_EINVAL);
	assert_int_equal(sl_audit_append(a, "cli", "unseal", "report:1\nforged", NULL),
			 SL_EINVAL);
	assert_int_equal(sl_audit_append(a, "cli\x1b[2J", "unseal", "report:1", NULL),
			 SL_EINVAL);
	assert_int_equal(sl_audit_append(a, "cli", "unseal", "report:1", "[1, 2]"),
			 SL_EINVAL);
	assert_int_equal(sl_audit_append(a, "cli", "unseal", "report:1", "\"text\""),
			 SL_EINVAL);
	assert_int_equal(sl_audit_append(a, "cli", "unseal", "report:1", "42"),
			 SL_EINVAL);
	assert_int_equal(sl_audit_append(a, "cli", "unseal", "report:1", "{"), SL_EINVAL);
	assert_int_equal(sl_audit_append(a, "cli", "unseal", "report:1", ""), SL_EINVAL);
	assert_int_equal(
	    sl_audit_append(a, "cli", "unseal", "report:1", "{\"a\":1,\"a\":2}"),
	    SL_EINVAL);
	assert_int_equal(
	    sl_audit_append(a, "cli", "unseal", "report:1", "{\"a\":\"\xff\"}"),
	    SL_EINVAL);
	assert_int_equal(sl_audit_append(a, "cli", "unseal", "report:1", big_detail),
			 SL_EINVAL);
	assert_int_equal(sl_audit_append(NULL, "cli", "unseal", "report:1", NULL),
			 SL_EINVAL);

	/* nothing of that was stored */
	sl_audit_result r = verify(f);
	assert_true(r.ok);
	assert_int_equal(r.entries, 0);

	/* the limits themselves are fine: 200 bytes, UTF-8, an empty object */
	long_field[200] = '\0';
	assert_int_equal(sl_audit_append(a, long_field, "unseal", "report:1", "{}"),
			 SL_OK);
	assert_int_equal(
	    sl_audit_append(a, "Алеся", "unseal", "moderator:Алеся", "{\"note\": \"ў\"}"),
	    SL_OK);
	r = verify(f);
	assert_true(r.ok);
	assert_int_equal(r.entries, 2);
}

/* ---- the key file -------------------------------------------------------- */

static void test_key_file(void **state)
{
	fixture *f = *state;
	char path[PATH_MAX + 32], keys[PATH_MAX + 16];
	snprintf(keys, sizeof(keys), "%s/keys", f->data);
	snprintf(path, sizeof(path), "%s/keys/audit.key", f->data);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, 32);
	assert_int_equal(stat(keys, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);

	/* reloaded: the same key; entries signed before still verify */
	append_n(f, 3);
	uint8_t pk[32];
	memcpy(pk, f->pk, 32);
	close_log(f);
	open_log(f);
	assert_memory_equal(f->pk, pk, 32);
	assert_true(verify(f).ok);

	/* the public key is the one of the seed in the file */
	uint8_t seed[32], dpk[32], dsk[64];
	FILE *kf = fopen(path, "rb");
	assert_non_null(kf);
	assert_int_equal(fread(seed, 1, 32, kf), 32);
	fclose(kf);
	crypto_sign_seed_keypair(dpk, dsk, seed);
	assert_memory_equal(dpk, pk, 32);

	/* a log with entries and no key: refused, no new key made */
	close_log(f);
	char moved[PATH_MAX + 32];
	snprintf(moved, sizeof(moved), "%s/keys/audit.key.bak", f->data);
	assert_int_equal(rename(path, moved), 0);
	assert_int_equal(teststore_open(f->data, &f->store), SL_OK);
	assert_int_equal(sl_audit_open(f->data, f->store, &f->audit), SL_ECRYPTO);
	assert_null(f->audit);
	assert_int_not_equal(access(path, F_OK), 0);

	/* a key file of the wrong size: refused */
	kf = fopen(path, "wb");
	assert_non_null(kf);
	assert_int_equal(fwrite(seed, 1, 16, kf), 16);
	fclose(kf);
	chmod(path, 0600);
	assert_int_equal(sl_audit_open(f->data, f->store, &f->audit), SL_ECRYPTO);
	sl_store_close(f->store);
	f->store = NULL;

	/* put back: all is well again */
	assert_int_equal(rename(moved, path), 0);
	open_log(f);
	assert_memory_equal(f->pk, pk, 32);
	assert_true(verify(f).ok);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_empty_last, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_store_refuses_fork, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_concurrent_threads, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_concurrent_connections, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_edit_actor, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_edit_detail, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_drop_detail, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_edit_time, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_delete_middle, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_delete_first, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_delete_several, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_delete_and_renumber, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_swap_entries, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_replace_signature, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_borrowed_signature, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_malformed_row, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_resigned_with_other_key, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_rewritten_whole_chain, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_truncated_tail, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_triggers_refuse, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_invalid_input, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_key_file, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
