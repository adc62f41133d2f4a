/*
 * test_sealing.c — the sealing layer end to end (src/intake/sealing.c).
 *
 * Real crypto over a real store in a fresh data directory: moderators with
 * real key pairs (modkey.h), reports sealed with sl_report_seal, stored,
 * fetched per moderator and opened again. Besides the round trips, the
 * security invariants this layer carries are checked directly:
 *
 *   2. text, contact and photos never reach the disk in clear: the raw bytes
 *      of sightline.db and sightline.db-wal are searched for canaries, and
 *      the caller's plaintext buffers are wiped by the sealing;
 *   3. a moderator added later opens nothing sealed before, until an admin
 *      shares it (done here as `sightline moderator share` does it).
 *
 * Argon2id makes each sl_modkey_create or sl_modkey_unlock cost a fraction
 * of a second, so the key pairs are made and unlocked once for the whole
 * group (6 derivations) and one test adds a wrong-passphrase unlock (7).
 */
#define _GNU_SOURCE /* nftw, memmem */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sightline/arena.h"
#include "sightline/modkey.h"
#include "sightline/seal.h"
#include "sightline/sealing.h"
#include "sightline/store.h"

#include "teststore.h"

/* --- the group's moderators ------------------------------------------------- */

enum { A, B, C, N_KEYS }; /* admin A, moderator B, newcomer C */

static const char *const names[N_KEYS] = {"amira", "boris", "chen"};
static const char *const passes[N_KEYS] = {
    "amira's long passphrase",
    "boris: correct horse battery",
    "chen joins later, passphrase",
};

typedef struct group {
	sl_modkey_record rec[N_KEYS];
	sl_secret_key *sk[N_KEYS];
} group;

static group g;

static int group_setup(void **state)
{
	(void)state;
	for (int i = 0; i < N_KEYS; i++) {
		char recovery[SL_RECOVERY_TEXT_MAX];
		if (sl_modkey_create(passes[i], strlen(passes[i]), &g.rec[i], recovery) !=
			SL_OK ||
		    sl_modkey_unlock(&g.rec[i], passes[i], strlen(passes[i]), &g.sk[i]) !=
			SL_OK)
			return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	for (int i = 0; i < N_KEYS; i++)
		sl_secret_key_free(g.sk[i]);
	return 0;
}

/* --- per test: a store with A and B ----------------------------------------- */

typedef struct fixture {
	char root[64]; /* mkdtemp'd */
	char dir[96];  /* root/data */
	char db[128];  /* dir/sightline.db */
	sl_store *s;
	sl_moderator mod[N_KEYS]; /* id 0 until added */
	sl_arena *a;
} fixture;

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void add_moderator(fixture *f, int who)
{
	sl_moderator *m = &f->mod[who];
	memset(m, 0, sizeof(*m));
	snprintf(m->name, sizeof(m->name), "%s", names[who]);
	m->role = who == A ? SL_ROLE_ADMIN : SL_ROLE_MODERATOR;
	m->created_at = 1700000000 + who;
	m->key = g.rec[who];
	assert_int_equal(sl_store_add_moderator(f->s, m), SL_OK);
	assert_true(m->id > 0);
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	strcpy(f->root, "/tmp/sl-test-sealing-XXXXXX");
	assert_non_null(mkdtemp(f->root));
	snprintf(f->dir, sizeof(f->dir), "%s/data", f->root);
	snprintf(f->db, sizeof(f->db), "%s/sightline.db", f->dir);
	assert_int_equal(teststore_open(f->dir, &f->s), SL_OK);
	f->a = sl_arena_new(1 << 20);
	assert_non_null(f->a);
	add_moderator(f, A);
	add_moderator(f, B);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	sl_store_close(f->s);
	sl_arena_free(f->a);
	teststore_drop(f->dir);
	nftw(f->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* --- raw bytes on disk ------------------------------------------------------ */

/* The store's files (and, on PostgreSQL, its rows: teststore.h) hold s
 * nowhere / somewhere. */
static void assert_not_on_disk(const fixture *f, const char *s)
{
	const char *at = teststore_holds(f->dir, s, strlen(s),
					 TESTSTORE_FILES | TESTSTORE_ROWS);
	if (at)
		fail_msg("\"%s\" found in %s", s, at);
}

static void assert_on_disk(const fixture *f, const char *s)
{
	if (!teststore_holds(f->dir, s, strlen(s), TESTSTORE_FILES | TESTSTORE_ROWS))
		fail_msg("\"%s\" is nowhere in the store of %s", s, f->dir);
}

/* --- helpers ------------------------------------------------------------------ */

/* Fails naming the first byte of buf[0..n) that is not zero. */
static void assert_wiped(const char *what, const char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (buf[i] != 0)
			fail_msg("%s not wiped: byte %zu is 0x%02x", what, i,
				 (unsigned)(unsigned char)buf[i]);
}

static sl_report plain_report(const char *place)
{
	sl_report r = {0};
	r.category = SL_CAT_RAIL_TRANSPORT;
	r.observed_at = 1700000000;
	r.location.place = place; /* stored in clear: shows the search works */
	r.status = SL_STATUS_RECEIVED;
	r.received_at = 1700000040;
	return r;
}

static void load(sl_store *s, sl_recipients *rc)
{
	assert_int_equal(sl_recipients_load(s, rc), SL_OK);
}

static void put(sl_store *s, sl_report *r)
{
	sl_put_result res = 99;
	sl_report *rs[] = {r};
	assert_int_equal(sl_store_put_reports(s, rs, 1, &res), SL_OK);
	assert_int_equal(res, SL_PUT_INSERTED);
	assert_true(r->id > 0);
}

/* Canaries of one report: text, contact and photo bytes, tagged. */
typedef struct canaries {
	char text[32], contact[32], photo[32];
} canaries;

static void make_canaries(canaries *c, int tag)
{
	snprintf(c->text, sizeof(c->text), "CANARY-text-%d", tag);
	snprintf(c->contact, sizeof(c->contact), "CANARY-contact-%d", tag);
	snprintf(c->photo, sizeof(c->photo), "CANARY-photo-bytes-%d", tag);
}

/* Seals a report with text, contact and one photo from c for rc at now,
 * checks what sealing did to it, and stores it. c's text and contact are
 * wiped afterwards; the originals are kept in want. Returns the id. */
static int64_t seal_and_store(fixture *f, canaries *c, const sl_recipients *rc,
			      int64_t now, canaries *want)
{
	*want = *c;
	sl_report r = plain_report("CANARY-place");
	r.text = c->text;
	r.contact = c->contact;
	sl_photo ph = {(const uint8_t *)c->photo, strlen(c->photo)};
	assert_true(sl_report_has_sensitive(&r, 0));
	assert_int_equal(sl_report_seal(&r, rc, &ph, 1, now, f->a), SL_OK);

	assert_null(r.text);
	assert_null(r.contact);
	assert_wiped("text", c->text, strlen(want->text));
	assert_wiped("contact", c->contact, strlen(want->contact));
	assert_int_equal(r.n_sealed, 2);
	assert_int_equal(r.sealed[0].kind, SL_SEALED_CONTENT);
	assert_int_equal(r.sealed[1].kind, SL_SEALED_PHOTO);
	assert_int_equal(r.sealed[1].cipher_len, strlen(want->photo) + SL_SEAL_OVERHEAD);
	for (size_t i = 0; i < 2; i++) {
		const sl_sealed *it = &r.sealed[i];
		assert_int_equal(it->created_at, now - now % 60);
		assert_int_equal(it->n_keys, rc->n);
		for (size_t k = 0; k < rc->n; k++)
			assert_int_equal(it->moderator_ids[k], rc->ids[k]);
		assert_null(memmem(it->cipher, it->cipher_len, "CANARY", 6));
	}
	put(f->s, &r);
	return r.id;
}

/* Fetches report id as moderator who (into f->a, reset first). */
static void fetch(fixture *f, int64_t id, int who, sl_report *out)
{
	sl_arena_reset(f->a);
	assert_int_equal(sl_store_get_report(f->s, id, f->mod[who].id, f->a, out), SL_OK);
	assert_int_equal(out->id, id);
}

/* Opens item with sk and compares it with want (a string). */
static void assert_opens_to(const sl_sealed *item, const sl_secret_key *sk,
			    const char *want)
{
	uint8_t *plain = NULL;
	size_t len = 0;
	assert_int_equal(sl_sealed_open(item, sk, &plain, &len), SL_OK);
	assert_non_null(plain);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(plain, want, len);
	sl_seal_plain_free(plain, len);
}

/* Moderator who reads report id in full: text, contact and the photo. */
static void assert_reads(fixture *f, int64_t id, int who, const canaries *want)
{
	sl_report r;
	fetch(f, id, who, &r);
	assert_null(r.text); /* nothing in clear until unsealed */
	assert_null(r.contact);
	assert_int_equal(r.n_sealed, 2);
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(r.sealed[i].n_keys, 1);
		assert_int_equal(r.sealed[i].moderator_ids[0], f->mod[who].id);
	}
	assert_int_equal(sl_report_unseal_content(&r, g.sk[who], f->a), SL_OK);
	assert_non_null(r.text);
	assert_non_null(r.contact);
	assert_string_equal(r.text, want->text);
	assert_string_equal(r.contact, want->contact);
	assert_int_equal(r.sealed[1].kind, SL_SEALED_PHOTO);
	assert_opens_to(&r.sealed[1], g.sk[who], want->photo);
}

/* Moderator who has no key to any item of report id. */
static void assert_locked_out(fixture *f, int64_t id, int who)
{
	sl_report r;
	fetch(f, id, who, &r);
	assert_true(r.n_sealed > 0);
	for (size_t i = 0; i < r.n_sealed; i++) {
		assert_int_equal(r.sealed[i].n_keys, 0);
		uint8_t *plain = NULL;
		size_t len = 0;
		assert_int_equal(sl_sealed_open(&r.sealed[i], g.sk[who], &plain, &len),
				 SL_ENOTFOUND);
	}
	assert_int_equal(sl_report_unseal_content(&r, g.sk[who], f->a), SL_ENOTFOUND);
	assert_null(r.text);
	assert_null(r.contact);
}

/* What `sightline moderator share --admin A --since since TARGET` does:
 * every item key A holds since then, unwrapped with A's key and wrapped
 * again for the target's public key. Returns how many were shared. */
static size_t share(fixture *f, int64_t since, int target)
{
	size_t n = 0;
	int64_t *ids = NULL;
	uint8_t *wrapped = NULL;
	assert_int_equal(
	    sl_store_keys_since(f->s, since, f->mod[A].id, &n, &ids, &wrapped), SL_OK);
	uint8_t *rewrapped = n ? malloc(n * SL_WRAPPED_KEY_BYTES) : NULL;
	assert_true(n == 0 || rewrapped);
	for (size_t i = 0; i < n; i++) {
		sl_item_key *k = NULL;
		assert_int_equal(
		    sl_seal_unwrap(wrapped + i * SL_WRAPPED_KEY_BYTES, g.sk[A], &k),
		    SL_OK);
		assert_int_equal(sl_seal_wrap(k, f->mod[target].key.public_key,
					      rewrapped + i * SL_WRAPPED_KEY_BYTES),
				 SL_OK);
		sl_item_key_free(k);
	}
	assert_int_equal(sl_store_add_keys(f->s, f->mod[target].id, n, ids, rewrapped),
			 SL_OK);
	free(ids);
	free(wrapped);
	free(rewrapped);
	return n;
}

/* --- tests ------------------------------------------------------------------ */

static void test_recipients_load(void **state)
{
	fixture *f = *state;
	sl_recipients rc;
	load(f->s, &rc);
	assert_int_equal(rc.n, 2);
	assert_int_equal(rc.ids[0], f->mod[A].id);
	assert_int_equal(rc.ids[1], f->mod[B].id);
	assert_memory_equal(rc.public_keys[0], sl_secret_key_public(g.sk[A]),
			    SL_MODKEY_PUBLIC_BYTES);
	assert_memory_equal(rc.public_keys[1], sl_secret_key_public(g.sk[B]),
			    SL_MODKEY_PUBLIC_BYTES);
	sl_recipients_free(&rc);
	assert_int_equal(rc.n, 0);
	assert_null(rc.ids);
	sl_recipients_free(&rc); /* twice is fine */
	sl_recipients_free(NULL);

	/* Only the active ones. */
	add_moderator(f, C);
	assert_int_equal(sl_store_remove_moderator(f->s, names[B], 1700009999), SL_OK);
	load(f->s, &rc);
	assert_int_equal(rc.n, 2);
	assert_int_equal(rc.ids[0], f->mod[A].id);
	assert_int_equal(rc.ids[1], f->mod[C].id);
	assert_memory_equal(rc.public_keys[1], sl_secret_key_public(g.sk[C]),
			    SL_MODKEY_PUBLIC_BYTES);
	sl_recipients_free(&rc);
}

/* A report sealed for A and B: both read it all, nothing of it is on disk
 * in clear, the caller's buffers are wiped. */
static void test_seal_store_open(void **state)
{
	fixture *f = *state;
	sl_recipients rc;
	load(f->s, &rc);
	canaries c, want;
	make_canaries(&c, 1);
	int64_t id = seal_and_store(f, &c, &rc, 1700000123, &want);
	sl_recipients_free(&rc);
	assert_string_equal(want.text, "CANARY-text-1");
	assert_string_equal(want.contact, "CANARY-contact-1");

	assert_reads(f, id, A, &want);
	assert_reads(f, id, B, &want);

	/* The report itself is as stored, without its sensitive parts. */
	sl_report r;
	fetch(f, id, A, &r);
	assert_int_equal(r.category, SL_CAT_RAIL_TRANSPORT);
	assert_string_equal(r.location.place, "CANARY-place");

	/* One moderator's wrapped key does not open with another's secret. */
	uint8_t *plain = NULL;
	size_t len = 0;
	assert_int_equal(sl_sealed_open(&r.sealed[1], g.sk[B], &plain, &len), SL_ECRYPTO);
	assert_int_equal(sl_report_unseal_content(&r, g.sk[B], f->a), SL_ECRYPTO);

	/* The kind is bound to the item: a photo is not content. */
	sl_sealed swapped = r.sealed[1];
	swapped.kind = SL_SEALED_CONTENT;
	assert_int_equal(sl_sealed_open(&swapped, g.sk[A], &plain, &len), SL_ECRYPTO);
	swapped.kind = SL_SEALED_FOLLOWUP;
	assert_int_equal(sl_sealed_open(&swapped, g.sk[A], &plain, &len), SL_ECRYPTO);
	swapped.kind = SL_SEALED_KIND_COUNT;
	assert_int_equal(sl_sealed_open(&swapped, g.sk[A], &plain, &len), SL_EINVAL);
	/* And an altered cipher does not open. */
	uint8_t *copy = malloc(r.sealed[1].cipher_len);
	assert_non_null(copy);
	memcpy(copy, r.sealed[1].cipher, r.sealed[1].cipher_len);
	copy[SL_SEAL_NONCE_BYTES] ^= 1;
	swapped = r.sealed[1];
	swapped.cipher = copy;
	assert_int_equal(sl_sealed_open(&swapped, g.sk[A], &plain, &len), SL_ECRYPTO);
	free(copy);

	/* Invariant 2: on disk only sealed, while open and after closing. */
	static const char *const canary[] = {
	    "CANARY-text-1", "CANARY-contact-1", "CANARY-photo-bytes-1",
	    "CANARY-text",   "CANARY-contact",	 "CANARY-photo",
	};
	assert_on_disk(f, "CANARY-place");
	for (size_t i = 0; i < sizeof(canary) / sizeof(canary[0]); i++)
		assert_not_on_disk(f, canary[i]);
	sl_store_close(f->s);
	f->s = NULL;
	assert_on_disk(f, "CANARY-place");
	for (size_t i = 0; i < sizeof(canary) / sizeof(canary[0]); i++)
		assert_not_on_disk(f, canary[i]);

	/* Reopened, the same store still opens for both. */
	assert_int_equal(teststore_open(f->dir, &f->s), SL_OK);
	assert_reads(f, id, B, &want);
}

/* Text alone, contact alone: the content item holds what there was. */
static void test_content_parts(void **state)
{
	fixture *f = *state;
	sl_recipients rc;
	load(f->s, &rc);
	char text[] = "only text, \"quoted\"\nЭшелон", contact[] = "@only-contact";
	const char *want_text = "only text, \"quoted\"\nЭшелон";
	sl_report t = plain_report(NULL), k = plain_report(NULL);
	t.text = text;
	k.contact = contact;
	assert_int_equal(sl_report_seal(&t, &rc, NULL, 0, 1700000000, f->a), SL_OK);
	assert_int_equal(sl_report_seal(&k, &rc, NULL, 0, 1700000000, f->a), SL_OK);
	assert_wiped("text", text, strlen(want_text));
	assert_wiped("contact", contact, strlen("@only-contact"));
	assert_int_equal(t.n_sealed, 1);
	assert_int_equal(k.n_sealed, 1);
	put(f->s, &t);
	put(f->s, &k);
	sl_recipients_free(&rc);

	sl_report r;
	fetch(f, t.id, B, &r);
	assert_int_equal(sl_report_unseal_content(&r, g.sk[B], f->a), SL_OK);
	assert_string_equal(r.text, want_text);
	assert_null(r.contact);
	fetch(f, k.id, A, &r);
	assert_int_equal(sl_report_unseal_content(&r, g.sk[A], f->a), SL_OK);
	assert_null(r.text);
	assert_string_equal(r.contact, "@only-contact");

	/* Photos only: no content item, so nothing to unseal as content. */
	static const uint8_t jpeg[] = {0xFF, 0xD8, 0xFF, 0xE0, 0,
				       0x10, 'J',  'F',	 'I',  'F'};
	sl_photo ph[2] = {{jpeg, sizeof(jpeg)}, {jpeg, 4}};
	sl_report p = plain_report(NULL);
	load(f->s, &rc);
	assert_true(sl_report_has_sensitive(&p, 2));
	assert_int_equal(sl_report_seal(&p, &rc, ph, 2, 1700000000, f->a), SL_OK);
	sl_recipients_free(&rc);
	assert_int_equal(p.n_sealed, 2);
	put(f->s, &p);
	fetch(f, p.id, A, &r);
	assert_int_equal(r.n_sealed, 2);
	assert_int_equal(sl_report_unseal_content(&r, g.sk[A], f->a), SL_ENOTFOUND);
	uint8_t *plain;
	size_t len;
	assert_int_equal(sl_sealed_open(&r.sealed[1], g.sk[A], &plain, &len), SL_OK);
	assert_int_equal(len, 4);
	assert_memory_equal(plain, jpeg, 4);
	sl_seal_plain_free(plain, len);
}

/* Invariant 3: C, added later, opens nothing of before; once A shares on
 * purpose (and only what A shares), C does. */
static void test_newcomer_and_share(void **state)
{
	fixture *f = *state;
	const int64_t t_old = 1700000000, t_new = t_old + 7 * 86400;
	sl_recipients rc;
	load(f->s, &rc);
	canaries c1, c2, want_old, want_new;
	make_canaries(&c1, 2);
	make_canaries(&c2, 3);
	int64_t old_id = seal_and_store(f, &c1, &rc, t_old, &want_old);
	int64_t new_id = seal_and_store(f, &c2, &rc, t_new, &want_new);
	sl_recipients_free(&rc);

	add_moderator(f, C);
	assert_locked_out(f, old_id, C);
	assert_locked_out(f, new_id, C);
	/* Nor does C's key open what was wrapped for A. */
	sl_report r;
	fetch(f, old_id, A, &r);
	assert_int_equal(sl_report_unseal_content(&r, g.sk[C], f->a), SL_ECRYPTO);
	assert_null(r.text);

	/* A shares what was sealed since t_new: the new report only. */
	assert_int_equal(share(f, t_new - t_new % 60, C), 2);
	assert_reads(f, new_id, C, &want_new);
	assert_locked_out(f, old_id, C);

	/* Then everything; sharing again what C has is harmless. */
	assert_int_equal(share(f, 0, C), 4);
	assert_reads(f, old_id, C, &want_old);
	assert_reads(f, new_id, C, &want_new);
	/* A and B are untouched. */
	assert_reads(f, old_id, A, &want_old);
	assert_reads(f, old_id, B, &want_old);
}

static void test_wrong_passphrase(void **state)
{
	(void)state;
	sl_secret_key *sk = (sl_secret_key *)1;
	const char wrong[] = "amira's long passphrasE";
	assert_int_equal(sl_modkey_unlock(&g.rec[A], wrong, strlen(wrong), &sk),
			 SL_ECRYPTO);
	assert_null(sk);
}

/* With nobody to seal for, a report with sensitive parts is refused as it
 * was; one without any needs no recipient. */
static void test_no_recipients(void **state)
{
	fixture *f = *state;
	assert_int_equal(sl_store_remove_moderator(f->s, names[A], 1700009999), SL_OK);
	assert_int_equal(sl_store_remove_moderator(f->s, names[B], 1700009999), SL_OK);
	sl_recipients rc;
	load(f->s, &rc);
	assert_int_equal(rc.n, 0);

	char text[] = "CANARY-text-4", contact[] = "CANARY-contact-4";
	sl_report r = plain_report(NULL);
	r.text = text;
	r.contact = contact;
	assert_int_equal(sl_report_seal(&r, &rc, NULL, 0, 1700000000, f->a), SL_ECLOSED);
	assert_ptr_equal(r.text, text);
	assert_ptr_equal(r.contact, contact);
	assert_string_equal(text, "CANARY-text-4");
	assert_string_equal(contact, "CANARY-contact-4");
	assert_int_equal(r.n_sealed, 0);
	assert_null(r.sealed);

	/* A photo alone is refused too. */
	static const uint8_t jpeg[] = "CANARY-photo-bytes-4";
	sl_photo ph = {jpeg, sizeof(jpeg) - 1};
	sl_report p = plain_report(NULL);
	assert_int_equal(sl_report_seal(&p, &rc, &ph, 1, 1700000000, f->a), SL_ECLOSED);
	assert_int_equal(p.n_sealed, 0);
	assert_null(p.sealed);

	/* And a follow-up. */
	sl_sealed item;
	assert_int_equal(sl_followup_seal("more", 4, &rc, 1700000000, f->a, &item),
			 SL_ECLOSED);

	/* Nothing to seal: fine without anyone, and stored as it is. */
	sl_report e = plain_report("CANARY-place");
	assert_false(sl_report_has_sensitive(&e, 0));
	assert_int_equal(sl_report_seal(&e, &rc, NULL, 0, 1700000000, f->a), SL_OK);
	assert_int_equal(e.n_sealed, 0);
	assert_null(e.sealed);
	put(f->s, &e);
	sl_recipients_free(&rc);
	sl_report got;
	fetch(f, e.id, A, &got);
	assert_int_equal(got.n_sealed, 0);
}

/* A follow-up sealed to the moderators of the day and stored with its
 * report opens for them. */
static void test_followup(void **state)
{
	fixture *f = *state;
	sl_recipients rc;
	load(f->s, &rc);
	canaries c, want;
	make_canaries(&c, 5);
	int64_t id = seal_and_store(f, &c, &rc, 1700000000, &want);

	const char text[] = "CANARY-followup-5: the train left at 14:05";
	sl_sealed item;
	const int64_t now = 1700003725;
	assert_int_equal(sl_followup_seal(text, strlen(text), &rc, now, f->a, &item),
			 SL_OK);
	sl_recipients_free(&rc);
	assert_int_equal(item.kind, SL_SEALED_FOLLOWUP);
	assert_int_equal(item.created_at, now - now % 60);
	assert_int_equal(item.n_keys, 2);
	assert_int_equal(item.cipher_len, strlen(text) + SL_SEAL_OVERHEAD);
	assert_int_equal(sl_store_put_sealed(f->s, id, &item), SL_OK);
	assert_true(item.id > 0);

	for (int who = A; who <= B; who++) {
		sl_report r;
		fetch(f, id, who, &r);
		assert_int_equal(r.n_sealed, 3);
		const sl_sealed *fu = &r.sealed[2];
		assert_int_equal(fu->id, item.id);
		assert_int_equal(fu->kind, SL_SEALED_FOLLOWUP);
		assert_opens_to(fu, g.sk[who], text);
		/* The content is still the report's. */
		assert_int_equal(sl_report_unseal_content(&r, g.sk[who], f->a), SL_OK);
		assert_string_equal(r.text, want.text);
	}
	assert_not_on_disk(f, "CANARY-followup");
	assert_not_on_disk(f, "the train left");
	sl_store_close(f->s);
	f->s = NULL;
	assert_not_on_disk(f, "CANARY-followup");
	assert_not_on_disk(f, "the train left");
	assert_int_equal(teststore_open(f->dir, &f->s), SL_OK);
}

/* Once B is removed, B keeps no key to anything, and what is sealed next
 * is for A alone. */
static void test_removed_moderator(void **state)
{
	fixture *f = *state;
	sl_recipients rc;
	load(f->s, &rc);
	canaries c1, c2, want1, want2;
	make_canaries(&c1, 6);
	make_canaries(&c2, 7);
	int64_t before = seal_and_store(f, &c1, &rc, 1700000000, &want1);
	sl_recipients_free(&rc);

	assert_int_equal(sl_store_remove_moderator(f->s, names[B], 1700001000), SL_OK);
	load(f->s, &rc);
	assert_int_equal(rc.n, 1);
	assert_int_equal(rc.ids[0], f->mod[A].id);
	int64_t after = seal_and_store(f, &c2, &rc, 1700002000, &want2);
	sl_recipients_free(&rc);

	assert_reads(f, before, A, &want1);
	assert_reads(f, after, A, &want2);
	assert_locked_out(f, before, B); /* their keys were deleted */
	assert_locked_out(f, after, B);	 /* never wrapped for them */
	sl_report r;
	fetch(f, after, A, &r);
	assert_int_equal(sl_report_unseal_content(&r, g.sk[B], f->a), SL_ECRYPTO);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	/* clang-format off */
	const struct CMUnitTest tests[] = {
		T(test_recipients_load),
		T(test_seal_store_open),
		T(test_content_parts),
		T(test_newcomer_and_share),
		T(test_wrong_passphrase),
		T(test_no_recipients),
		T(test_followup),
		T(test_removed_moderator),
	};
	/* clang-format on */
#undef T
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
