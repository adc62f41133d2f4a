/*
 * test_seal.c — sealing items for moderators: every recipient opens, a
 * newcomer does not (until shared with on purpose), wrong context, altered
 * or cut ciphertext, the caps, and what a sealed item must not show.
 *
 * Three moderators are made once for the group (three Argon2id
 * derivations, at the real cost) and a fourth, the newcomer, in its test;
 * their unlocked keys come from the recovery text, which costs none. The
 * sealed format is checked against docs/CRYPTO.md by opening an item with
 * libsodium directly.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "sightline/modkey.h"
#include "sightline/receipt.h"
#include "sightline/seal.h"

#define N_MODS 3

typedef struct moderator {
	sl_modkey_record rec;
	sl_secret_key *sk;
} moderator;

typedef struct fixture {
	moderator mod[N_MODS];
	uint8_t pks[N_MODS][SL_MODKEY_PUBLIC_BYTES];
} fixture;

static const char TEXT[] = "{\"text\":\"12 tanks on flatcars at Orsha, heading west\","
			   "\"contact\":\"@canary_informant_7731\"}";
static const char CANARY[] = "canary_informant_7731";
static const char AD[] = "sightline report text v1|report 42";

/* A moderator made with the real API: create, then unlock by recovery. */
static void make_moderator(moderator *m, const char *pass)
{
	char recovery[SL_RECOVERY_TEXT_MAX];
	assert_int_equal(sl_modkey_create(pass, strlen(pass), &m->rec, recovery), SL_OK);
	assert_int_equal(sl_modkey_unlock_recovery(&m->rec, recovery, &m->sk), SL_OK);
	sodium_memzero(recovery, sizeof(recovery));
}

static int group_setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	assert_int_equal(sl_crypto_init(), SL_OK);
	static const char *passes[N_MODS] = {"first moderator", "second moderator",
					     "third moderator"};
	for (size_t i = 0; i < N_MODS; i++) {
		make_moderator(&f->mod[i], passes[i]);
		memcpy(f->pks[i], f->mod[i].rec.public_key, SL_MODKEY_PUBLIC_BYTES);
	}
	*state = f;
	return 0;
}

static int group_teardown(void **state)
{
	fixture *f = *state;
	for (size_t i = 0; i < N_MODS; i++)
		sl_secret_key_free(f->mod[i].sk);
	free(f);
	return 0;
}

/* A sealed item and its wrapped keys, one per fixture moderator. */
typedef struct sealed {
	uint8_t *cipher;
	size_t cipher_len;
	uint8_t wrapped[N_MODS][SL_WRAPPED_ITEM_KEY_BYTES];
} sealed;

static void seal_text(const fixture *f, const void *plain, size_t len, sealed *s)
{
	assert_int_equal(sl_seal_for(plain, len, AD, strlen(AD), f->pks, N_MODS,
				     &s->cipher, &s->cipher_len, &s->wrapped[0][0]),
			 SL_OK);
	assert_non_null(s->cipher);
	assert_int_equal(s->cipher_len, len + SL_SEAL_OVERHEAD);
}

/* Unwraps with sk and opens with ad; returns the first error. On success
 * the plaintext must equal want[0..want_len). */
static sl_err open_as(const sl_secret_key *sk, const uint8_t *wrapped,
		      const uint8_t *cipher, size_t cipher_len, const void *ad,
		      size_t ad_len, const void *want, size_t want_len)
{
	sl_item_key *k = (sl_item_key *)&k; /* must be reset */
	sl_err err = sl_seal_unwrap(wrapped, sk, &k);
	if (err != SL_OK) {
		assert_null(k);
		return err;
	}
	assert_non_null(k);
	uint8_t *p = (uint8_t *)&p;
	size_t n = 99;
	err = sl_seal_open(k, cipher, cipher_len, ad, ad_len, &p, &n);
	sl_item_key_free(k);
	if (err != SL_OK) {
		assert_null(p);
		assert_int_equal(n, 0);
		return err;
	}
	assert_non_null(p);
	assert_int_equal(n, want_len);
	assert_memory_equal(p, want, want_len);
	sl_seal_plain_free(p, n);
	return SL_OK;
}

/* ---- who can open ------------------------------------------------------ */

static void test_every_recipient_opens(void **state)
{
	fixture *f = *state;
	sealed s;
	seal_text(f, TEXT, strlen(TEXT), &s);
	for (size_t i = 0; i < N_MODS; i++)
		assert_int_equal(open_as(f->mod[i].sk, s.wrapped[i], s.cipher,
					 s.cipher_len, AD, strlen(AD), TEXT,
					 strlen(TEXT)),
				 SL_OK);
	/* each wrapped key is for its own moderator only */
	for (size_t i = 0; i < N_MODS; i++)
		for (size_t j = 0; j < N_MODS; j++)
			if (i != j)
				assert_int_equal(open_as(f->mod[i].sk, s.wrapped[j],
							 s.cipher, s.cipher_len, AD,
							 strlen(AD), TEXT, strlen(TEXT)),
						 SL_ECRYPTO);
	free(s.cipher);
}

/* DESIGN.md invariant 3: a moderator added after sealing cannot open, until
 * one who can shares that one item on purpose. (1 derivation.) */
static void test_newcomer_cannot_open(void **state)
{
	fixture *f = *state;
	sealed s;
	seal_text(f, TEXT, strlen(TEXT), &s);

	moderator late;
	make_moderator(&late, "joined after the report");
	for (size_t i = 0; i < N_MODS; i++)
		assert_int_equal(open_as(late.sk, s.wrapped[i], s.cipher, s.cipher_len,
					 AD, strlen(AD), TEXT, strlen(TEXT)),
				 SL_ECRYPTO);

	/* the deliberate re-share: moderator 0 unwraps, wraps for the newcomer */
	sl_item_key *k = NULL;
	uint8_t shared[SL_WRAPPED_ITEM_KEY_BYTES];
	assert_int_equal(sl_seal_unwrap(s.wrapped[0], f->mod[0].sk, &k), SL_OK);
	assert_int_equal(sl_seal_wrap(k, late.rec.public_key, shared), SL_OK);
	sl_item_key_free(k);
	assert_int_equal(open_as(late.sk, shared, s.cipher, s.cipher_len, AD, strlen(AD),
				 TEXT, strlen(TEXT)),
			 SL_OK);
	/* which opens nothing else sealed before */
	sealed other;
	seal_text(f, TEXT, strlen(TEXT), &other);
	assert_int_equal(open_as(late.sk, shared, other.cipher, other.cipher_len, AD,
				 strlen(AD), TEXT, strlen(TEXT)),
			 SL_ECRYPTO);

	sl_secret_key_free(late.sk);
	free(s.cipher);
	free(other.cipher);
}

/* ---- altered inputs ---------------------------------------------------- */

static void test_wrong_ad(void **state)
{
	fixture *f = *state;
	sealed s;
	seal_text(f, TEXT, strlen(TEXT), &s);
	const sl_secret_key *sk = f->mod[1].sk;
	const uint8_t *w = s.wrapped[1];
	const char other[] = "sightline report text v1|report 43";
	assert_int_equal(strlen(other), strlen(AD));
	assert_int_equal(open_as(sk, w, s.cipher, s.cipher_len, other, strlen(other),
				 TEXT, strlen(TEXT)),
			 SL_ECRYPTO);
	/* a prefix of the right ad, and none at all */
	assert_int_equal(open_as(sk, w, s.cipher, s.cipher_len, AD, strlen(AD) - 1, TEXT,
				 strlen(TEXT)),
			 SL_ECRYPTO);
	assert_int_equal(
	    open_as(sk, w, s.cipher, s.cipher_len, NULL, 0, TEXT, strlen(TEXT)),
	    SL_ECRYPTO);
	/* and the right one still opens */
	assert_int_equal(
	    open_as(sk, w, s.cipher, s.cipher_len, AD, strlen(AD), TEXT, strlen(TEXT)),
	    SL_OK);
	free(s.cipher);
}

static void test_flipped_bytes(void **state)
{
	fixture *f = *state;
	sealed s;
	seal_text(f, TEXT, strlen(TEXT), &s);
	sl_item_key *k = NULL;
	assert_int_equal(sl_seal_unwrap(s.wrapped[2], f->mod[2].sk, &k), SL_OK);

	/* every byte of the item: nonce, ciphertext, tag */
	for (size_t i = 0; i < s.cipher_len; i++) {
		s.cipher[i] ^= 0x04;
		uint8_t *p = (uint8_t *)&p;
		size_t n = 99;
		assert_int_equal(
		    sl_seal_open(k, s.cipher, s.cipher_len, AD, strlen(AD), &p, &n),
		    SL_ECRYPTO);
		assert_null(p);
		assert_int_equal(n, 0);
		s.cipher[i] ^= 0x04;
	}
	sl_item_key_free(k);

	/* every byte of a wrapped key */
	for (size_t i = 0; i < SL_WRAPPED_ITEM_KEY_BYTES; i++) {
		s.wrapped[2][i] ^= 0x80;
		k = (sl_item_key *)&k;
		assert_int_equal(sl_seal_unwrap(s.wrapped[2], f->mod[2].sk, &k),
				 SL_ECRYPTO);
		assert_null(k);
		s.wrapped[2][i] ^= 0x80;
	}
	assert_int_equal(open_as(f->mod[2].sk, s.wrapped[2], s.cipher, s.cipher_len, AD,
				 strlen(AD), TEXT, strlen(TEXT)),
			 SL_OK);
	free(s.cipher);
}

/* Each prefix is copied to a buffer of exactly its size, so that ASan sees
 * any read past the end. */
static void test_truncated(void **state)
{
	fixture *f = *state;
	sealed s;
	seal_text(f, TEXT, strlen(TEXT), &s);
	sl_item_key *k = NULL;
	assert_int_equal(sl_seal_unwrap(s.wrapped[0], f->mod[0].sk, &k), SL_OK);

	for (size_t n = 0; n < s.cipher_len; n++) {
		uint8_t *cut = malloc(n ? n : 1);
		assert_non_null(cut);
		memcpy(cut, s.cipher, n);
		uint8_t *p = (uint8_t *)&p;
		size_t pn = 99;
		sl_err want = n < SL_SEAL_OVERHEAD ? SL_EPARSE : SL_ECRYPTO;
		assert_int_equal(sl_seal_open(k, cut, n, AD, strlen(AD), &p, &pn), want);
		assert_null(p);
		free(cut);
	}
	/* and one byte too many */
	uint8_t *longer = malloc(s.cipher_len + 1);
	assert_non_null(longer);
	memcpy(longer, s.cipher, s.cipher_len);
	longer[s.cipher_len] = 0;
	uint8_t *p = NULL;
	size_t pn = 0;
	assert_int_equal(
	    sl_seal_open(k, longer, s.cipher_len + 1, AD, strlen(AD), &p, &pn),
	    SL_ECRYPTO);
	free(longer);

	/* a cut wrapped key cannot be passed: its size is in the type, but
	 * the unseal under it checks lengths too */
	uint8_t out[32];
	assert_int_equal(sl_secret_key_unseal(f->mod[0].sk, s.wrapped[0], 47, out),
			 SL_EPARSE);
	assert_int_equal(sl_secret_key_unseal(f->mod[0].sk, s.wrapped[0], 79, out),
			 SL_ECRYPTO);

	sl_item_key_free(k);
	free(s.cipher);
}

/* ---- what a sealed item shows ------------------------------------------ */

static void test_no_plaintext_in_cipher(void **state)
{
	fixture *f = *state;
	sealed s;
	seal_text(f, TEXT, strlen(TEXT), &s);
	assert_null(memmem(s.cipher, s.cipher_len, CANARY, strlen(CANARY)));
	/* nor any 6-byte piece of the plaintext, in the item or its keys */
	for (size_t i = 0; i + 6 <= strlen(TEXT); i++) {
		assert_null(memmem(s.cipher, s.cipher_len, TEXT + i, 6));
		assert_null(memmem(s.wrapped, sizeof(s.wrapped), TEXT + i, 6));
	}
	/* nor the ad: it is bound, not carried */
	assert_null(memmem(s.cipher, s.cipher_len, "report 42", 9));
	free(s.cipher);
}

static void test_two_seals_differ(void **state)
{
	fixture *f = *state;
	sealed a, b;
	seal_text(f, TEXT, strlen(TEXT), &a);
	seal_text(f, TEXT, strlen(TEXT), &b);
	assert_int_equal(a.cipher_len, b.cipher_len);
	assert_memory_not_equal(a.cipher, b.cipher, SL_SEAL_NONCE_BYTES);
	assert_memory_not_equal(a.cipher + SL_SEAL_NONCE_BYTES,
				b.cipher + SL_SEAL_NONCE_BYTES,
				a.cipher_len - SL_SEAL_NONCE_BYTES);
	for (size_t i = 0; i < N_MODS; i++)
		assert_memory_not_equal(a.wrapped[i], b.wrapped[i],
					SL_WRAPPED_ITEM_KEY_BYTES);
	/* a's key does not open b */
	sl_item_key *k = NULL;
	assert_int_equal(sl_seal_unwrap(a.wrapped[0], f->mod[0].sk, &k), SL_OK);
	uint8_t *p = NULL;
	size_t n = 0;
	assert_int_equal(sl_seal_open(k, b.cipher, b.cipher_len, AD, strlen(AD), &p, &n),
			 SL_ECRYPTO);
	sl_item_key_free(k);
	free(a.cipher);
	free(b.cipher);
}

/* The layout in docs/CRYPTO.md, opened with libsodium directly: the item
 * key from the wrap, then nonce || XChaCha20-Poly1305(plain, ad). */
static void test_format(void **state)
{
	fixture *f = *state;
	sealed s;
	seal_text(f, TEXT, strlen(TEXT), &s);

	uint8_t key[32];
	assert_int_equal(sl_secret_key_unseal(f->mod[1].sk, s.wrapped[1],
					      SL_WRAPPED_ITEM_KEY_BYTES, key),
			 SL_OK);
	uint8_t *plain = malloc(s.cipher_len);
	assert_non_null(plain);
	unsigned long long n = 0;
	assert_int_equal(crypto_aead_xchacha20poly1305_ietf_decrypt(
			     plain, &n, NULL, s.cipher + 24, s.cipher_len - 24,
			     (const uint8_t *)AD, strlen(AD), s.cipher, key),
			 0);
	assert_int_equal(n, strlen(TEXT));
	assert_memory_equal(plain, TEXT, n);

	/* and the other way: an item made here by the layout opens there */
	uint8_t mine[24 + 5 + 16];
	randombytes_buf(mine, 24);
	assert_int_equal(crypto_aead_xchacha20poly1305_ietf_encrypt(
			     mine + 24, &n, (const uint8_t *)"hello", 5,
			     (const uint8_t *)AD, strlen(AD), NULL, mine, key),
			 0);
	assert_int_equal(open_as(f->mod[1].sk, s.wrapped[1], mine, sizeof(mine), AD,
				 strlen(AD), "hello", 5),
			 SL_OK);
	sodium_memzero(key, sizeof(key));
	sl_seal_plain_free(plain, s.cipher_len);
	free(s.cipher);
}

/* ---- sizes and arguments ----------------------------------------------- */

static void test_empty_plaintext(void **state)
{
	fixture *f = *state;
	sealed s;
	seal_text(f, NULL, 0, &s);
	assert_int_equal(s.cipher_len, SL_SEAL_OVERHEAD);
	assert_int_equal(open_as(f->mod[0].sk, s.wrapped[0], s.cipher, s.cipher_len, AD,
				 strlen(AD), "", 0),
			 SL_OK);
	free(s.cipher);

	/* an empty string, and no ad either */
	uint8_t *c = NULL;
	size_t cl = 0;
	uint8_t w[SL_WRAPPED_ITEM_KEY_BYTES];
	assert_int_equal(sl_seal_for("", 0, NULL, 0, f->pks, 1, &c, &cl, w), SL_OK);
	assert_int_equal(open_as(f->mod[0].sk, w, c, cl, NULL, 0, "", 0), SL_OK);
	free(c);
}

static void test_zero_recipients(void **state)
{
	fixture *f = *state;
	uint8_t *c = (uint8_t *)&c;
	size_t cl = 99;
	uint8_t w[SL_WRAPPED_ITEM_KEY_BYTES];
	assert_int_equal(
	    sl_seal_for(TEXT, strlen(TEXT), AD, strlen(AD), f->pks, 0, &c, &cl, w),
	    SL_EINVAL);
	assert_null(c);
	assert_int_equal(cl, 0);
	assert_int_equal(
	    sl_seal_for(TEXT, strlen(TEXT), AD, strlen(AD), NULL, 0, &c, &cl, w),
	    SL_EINVAL);
}

/* A recipient key with no usable secret (all zero: a low-order point) is
 * refused, and nothing is returned: sealing to it would lose the item. */
static void test_unusable_recipient(void **state)
{
	fixture *f = *state;
	uint8_t pks[3][SL_MODKEY_PUBLIC_BYTES];
	memcpy(pks[0], f->pks[0], 32);
	memset(pks[1], 0, 32);
	memcpy(pks[2], f->pks[2], 32);
	uint8_t *c = (uint8_t *)&c;
	size_t cl = 99;
	uint8_t w[3][SL_WRAPPED_ITEM_KEY_BYTES];
	memset(w, 0xee, sizeof(w));
	assert_int_equal(sl_seal_for(TEXT, strlen(TEXT), AD, strlen(AD),
				     (const uint8_t(*)[32])pks, 3, &c, &cl, &w[0][0]),
			 SL_ECRYPTO);
	assert_null(c);
	assert_int_equal(cl, 0);
	static const uint8_t zero[sizeof(w)];
	assert_memory_equal(w, zero, sizeof(w));
}

static void test_five_mib_round_trip(void **state)
{
	fixture *f = *state;
	size_t n = 5u << 20;
	uint8_t *big = malloc(n);
	assert_non_null(big);
	randombytes_buf(big, n);
	const char ad[] = "sightline photo v1|report 42|photo 0";
	uint8_t *c = NULL;
	size_t cl = 0;
	uint8_t w[N_MODS][SL_WRAPPED_ITEM_KEY_BYTES];
	assert_int_equal(
	    sl_seal_for(big, n, ad, strlen(ad), f->pks, N_MODS, &c, &cl, &w[0][0]),
	    SL_OK);
	assert_int_equal(cl, n + SL_SEAL_OVERHEAD);
	assert_int_equal(open_as(f->mod[2].sk, w[2], c, cl, ad, strlen(ad), big, n),
			 SL_OK);
	free(c);
	free(big);
}

/* SL_SEAL_PLAIN_MAX seals and opens; one byte more is refused both ways,
 * before any of it is read. */
static void test_size_cap(void **state)
{
	fixture *f = *state;
	size_t n = SL_SEAL_PLAIN_MAX;
	uint8_t *big = calloc(1, n + SL_SEAL_OVERHEAD + 1);
	assert_non_null(big);
	uint8_t *c = (uint8_t *)&c;
	size_t cl = 99;
	uint8_t w[SL_WRAPPED_ITEM_KEY_BYTES];
	assert_int_equal(sl_seal_for(big, n + 1, NULL, 0, f->pks, 1, &c, &cl, w),
			 SL_ETOOBIG);
	assert_null(c);
	sl_item_key *k = (sl_item_key *)&k;
	assert_int_equal(sl_seal_item(big, n + 1, NULL, 0, &c, &cl, &k), SL_ETOOBIG);
	assert_null(k);

	assert_int_equal(sl_seal_for(big, n, NULL, 0, f->pks, 1, &c, &cl, w), SL_OK);
	assert_int_equal(cl, n + SL_SEAL_OVERHEAD);
	assert_int_equal(open_as(f->mod[0].sk, w, c, cl, NULL, 0, big, n), SL_OK);
	free(c);

	assert_int_equal(sl_seal_unwrap(w, f->mod[0].sk, &k), SL_OK);
	uint8_t *p = (uint8_t *)&p;
	size_t pn = 99;
	assert_int_equal(sl_seal_open(k, big, n + SL_SEAL_OVERHEAD + 1, NULL, 0, &p, &pn),
			 SL_ETOOBIG);
	assert_null(p);
	sl_item_key_free(k);
	free(big);
}

/* The pieces one by one, as an admin's re-share or a follow-up uses them. */
static void test_item_key_api(void **state)
{
	fixture *f = *state;
	const char follow[] = "follow-up: the train left at 09:10";
	uint8_t *c = NULL;
	size_t cl = 0;
	sl_item_key *k = NULL;
	assert_int_equal(
	    sl_seal_item(follow, strlen(follow), AD, strlen(AD), &c, &cl, &k), SL_OK);
	uint8_t w[SL_WRAPPED_ITEM_KEY_BYTES];
	assert_int_equal(sl_seal_wrap(k, f->pks[1], w), SL_OK);

	/* the item key opens it directly, too */
	uint8_t *p = NULL;
	size_t n = 0;
	assert_int_equal(sl_seal_open(k, c, cl, AD, strlen(AD), &p, &n), SL_OK);
	assert_int_equal(n, strlen(follow));
	assert_memory_equal(p, follow, n);
	sl_seal_plain_free(p, n);
	sl_item_key_free(k);

	assert_int_equal(
	    open_as(f->mod[1].sk, w, c, cl, AD, strlen(AD), follow, strlen(follow)),
	    SL_OK);
	uint8_t zero_pk[32] = {0};
	assert_int_equal(sl_seal_item(follow, 1, NULL, 0, &p, &n, &k), SL_OK);
	memset(w, 0x11, sizeof(w));
	assert_int_equal(sl_seal_wrap(k, zero_pk, w), SL_ECRYPTO);
	static const uint8_t zw[SL_WRAPPED_ITEM_KEY_BYTES];
	assert_memory_equal(w, zw, sizeof(w));
	sl_item_key_free(k);
	free(p);
	free(c);
}

static void test_bad_arguments(void **state)
{
	fixture *f = *state;
	uint8_t *c = NULL, *p = NULL;
	size_t cl = 0, n = 0;
	sl_item_key *k = NULL;
	uint8_t w[SL_WRAPPED_ITEM_KEY_BYTES];

	assert_int_equal(sl_seal_item(NULL, 1, NULL, 0, &c, &cl, &k), SL_EINVAL);
	assert_int_equal(sl_seal_item("x", 1, NULL, 1, &c, &cl, &k), SL_EINVAL);
	assert_int_equal(sl_seal_item("x", 1, NULL, 0, NULL, &cl, &k), SL_EINVAL);
	assert_int_equal(sl_seal_item("x", 1, NULL, 0, &c, NULL, &k), SL_EINVAL);
	assert_int_equal(sl_seal_item("x", 1, NULL, 0, &c, &cl, NULL), SL_EINVAL);
	assert_int_equal(sl_seal_wrap(NULL, f->pks[0], w), SL_EINVAL);
	assert_int_equal(sl_seal_unwrap(w, NULL, &k), SL_EINVAL);
	assert_null(k);
	assert_int_equal(sl_seal_unwrap(NULL, f->mod[0].sk, &k), SL_EINVAL);
	assert_int_equal(sl_seal_unwrap(w, f->mod[0].sk, NULL), SL_EINVAL);
	assert_int_equal(sl_seal_open(NULL, w, sizeof(w), NULL, 0, &p, &n), SL_EINVAL);
	assert_int_equal(sl_seal_for("x", 1, NULL, 0, f->pks, 1, &c, &cl, NULL),
			 SL_EINVAL);
	assert_int_equal(sl_seal_for("x", 1, NULL, 0, f->pks, 1, NULL, &cl, w),
			 SL_EINVAL);
	sl_seal_plain_free(NULL, 0);
	sl_item_key_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_recipient_opens),
	    cmocka_unit_test(test_newcomer_cannot_open),
	    cmocka_unit_test(test_wrong_ad),
	    cmocka_unit_test(test_flipped_bytes),
	    cmocka_unit_test(test_truncated),
	    cmocka_unit_test(test_no_plaintext_in_cipher),
	    cmocka_unit_test(test_two_seals_differ),
	    cmocka_unit_test(test_format),
	    cmocka_unit_test(test_empty_plaintext),
	    cmocka_unit_test(test_zero_recipients),
	    cmocka_unit_test(test_unusable_recipient),
	    cmocka_unit_test(test_five_mib_round_trip),
	    cmocka_unit_test(test_size_cap),
	    cmocka_unit_test(test_item_key_api),
	    cmocka_unit_test(test_bad_arguments),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
