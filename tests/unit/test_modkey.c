/*
 * test_modkey.c — moderator key records: create and unlock, wrong and
 * tampered inputs, the recovery text, rewrapping, what a record must not
 * contain, and the passphrase reader (files, no terminal, a real pty).
 *
 * Argon2id runs with the real cost (3 passes, 64 MiB), so derivations are
 * counted: one for the shared record, and nine in the tests. Where a test
 * needs a key without a derivation it unlocks with the recovery text. The
 * record layout is checked against docs/CRYPTO.md by re-opening both wraps
 * here with libsodium directly and a base32 decoder of this file's own.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "sightline/modkey.h"
#include "sightline/receipt.h"

/* Exactly SL_PASSPHRASE_MIN bytes: the shortest accepted, used for real. */
static const char PASS[] = "orsha-08";

typedef struct fixture {
	sl_modkey_record rec;
	char recovery[SL_RECOVERY_TEXT_MAX];
} fixture;

static int group_setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	assert_int_equal(sl_crypto_init(), SL_OK);
	assert_int_equal(strlen(PASS), SL_PASSPHRASE_MIN);
	assert_int_equal(sl_modkey_create(PASS, strlen(PASS), &f->rec, f->recovery),
			 SL_OK);
	*state = f;
	return 0;
}

static int group_teardown(void **state)
{
	fixture *f = *state;
	sodium_memzero(f, sizeof(*f));
	free(f);
	return 0;
}

/* ---- helpers ----------------------------------------------------------- */

/* Base32 (RFC 4648) of n bytes, symbol by symbol, bit by bit: written
 * independently of modkey.c's. Groups of four with dashes when grouped. */
static void b32(const uint8_t *in, size_t n, bool grouped, char *out)
{
	static const char abc[] = "abcdefghijklmnopqrstuvwxyz234567";
	size_t bits = n * 8, o = 0;
	for (size_t at = 0, sym = 0; at < bits; at += 5, sym++) {
		unsigned v = 0;
		for (size_t b = at; b < at + 5; b++) {
			unsigned bit = b < bits ? (in[b / 8] >> (7 - b % 8)) & 1 : 0;
			v = (v << 1) | bit;
		}
		if (grouped && sym > 0 && sym % 4 == 0)
			out[o++] = '-';
		out[o++] = abc[v];
	}
	out[o] = '\0';
}

/* The inverse, for well-formed grouped lowercase text only. */
static void unb32(const char *text, uint8_t *out, size_t n)
{
	static const char abc[] = "abcdefghijklmnopqrstuvwxyz234567";
	memset(out, 0, n);
	size_t b = 0;
	for (const char *p = text; *p; p++) {
		if (*p == '-')
			continue;
		const char *hit = strchr(abc, *p);
		assert_non_null(hit);
		unsigned v = (unsigned)(hit - abc);
		for (int i = 4; i >= 0; i--, b++)
			if (b < n * 8 && ((v >> i) & 1))
				out[b / 8] |= (uint8_t)(0x80 >> (b % 8));
	}
	assert_int_equal(b, 52 * 5);
}

/* pk || label, as docs/CRYPTO.md says each wrap's associated data is. */
static size_t ad_of(uint8_t *ad, const uint8_t *pk, const char *label)
{
	memcpy(ad, pk, 32);
	memcpy(ad + 32, label, strlen(label));
	return 32 + strlen(label);
}

/* Opens one wrap of rec by the documented layout: nonce || ct || tag. */
static int open_wrap(const uint8_t wrapped[SL_MODKEY_WRAPPED_BYTES], const uint8_t *pk,
		     const char *label, const uint8_t key[32], uint8_t secret[32])
{
	uint8_t ad[64];
	size_t ad_len = ad_of(ad, pk, label);
	unsigned long long n = 0;
	int r = crypto_aead_xchacha20poly1305_ietf_decrypt(secret, &n, NULL, wrapped + 24,
							   48, ad, ad_len, wrapped, key);
	if (r == 0)
		assert_int_equal(n, 32);
	return r;
}

static bool contains(const void *hay, size_t n, const void *needle, size_t m)
{
	return memmem(hay, n, needle, m) != NULL;
}

static void expect_unlock(const sl_modkey_record *rec, const char *pass, sl_err want)
{
	sl_secret_key *sk = (sl_secret_key *)&sk; /* must be reset */
	assert_int_equal(sl_modkey_unlock(rec, pass, strlen(pass), &sk), want);
	if (want == SL_OK) {
		assert_non_null(sk);
		assert_memory_equal(sl_secret_key_public(sk), rec->public_key, 32);
	} else {
		assert_null(sk);
	}
	sl_secret_key_free(sk);
}

static void expect_recovery(const sl_modkey_record *rec, const char *text, sl_err want)
{
	sl_secret_key *sk = (sl_secret_key *)&sk;
	assert_int_equal(sl_modkey_unlock_recovery(rec, text, &sk), want);
	if (want == SL_OK) {
		assert_non_null(sk);
		assert_memory_equal(sl_secret_key_public(sk), rec->public_key, 32);
	} else {
		assert_null(sk);
	}
	sl_secret_key_free(sk);
}

/* ---- create and unlock ------------------------------------------------- */

static void test_create_unlock_round_trip(void **state) /* 1 derivation */
{
	fixture *f = *state;
	expect_unlock(&f->rec, PASS, SL_OK);
}

static void test_wrong_passphrase(void **state) /* 1 derivation */
{
	fixture *f = *state;
	expect_unlock(&f->rec, "orsha-09", SL_ECRYPTO);
}

static void test_tampered_record(void **state) /* 3 derivations */
{
	fixture *f = *state;
	sl_modkey_record r = f->rec;
	r.wrapped[30] ^= 0x01;
	expect_unlock(&r, PASS, SL_ECRYPTO);

	r = f->rec;
	r.salt[0] ^= 0x80;
	expect_unlock(&r, PASS, SL_ECRYPTO);

	r = f->rec;
	r.public_key[0] ^= 0x01;
	expect_unlock(&r, PASS, SL_ECRYPTO);
}

static void test_record_cost(void **state)
{
	fixture *f = *state;
	assert_true(f->rec.opslimit >= 3);
	assert_true(f->rec.memlimit >= 64ull << 20);
	assert_int_equal(f->rec.opslimit, SL_MODKEY_OPSLIMIT);
	assert_int_equal(f->rec.memlimit, SL_MODKEY_MEMLIMIT);
}

static void test_cost_out_of_range(void **state) /* refused before deriving */
{
	fixture *f = *state;
	static const struct {
		uint64_t ops, mem;
	} bad[] = {
	    {2, 64ull << 20},	       /* too few passes */
	    {3, (64ull << 20) - 1024}, /* too little memory */
	    {0, 0},
	    {17, 64ull << 20},	      /* a tampered record asking for minutes */
	    {3, (1ull << 30) + 1024}, /* ... or for more than 1 GiB */
	    {UINT64_MAX, UINT64_MAX},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sl_modkey_record r = f->rec;
		r.opslimit = bad[i].ops;
		r.memlimit = bad[i].mem;
		expect_unlock(&r, PASS, SL_EVALID);
	}
}

/* ---- the recovery text ------------------------------------------------- */

static void test_recovery_text_shape(void **state)
{
	fixture *f = *state;
	const char *t = f->recovery;
	assert_int_equal(strlen(t), 64);
	for (size_t i = 0; t[i]; i++) {
		if (i % 5 == 4) {
			assert_int_equal(t[i], '-');
			continue;
		}
		assert_true((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= '2' && t[i] <= '7'));
	}
	/* 52 symbols carry 260 bits: the last one has 4 zero pad bits. */
	assert_non_null(strchr("aq", t[63]));
}

static void test_recovery_unlock(void **state)
{
	fixture *f = *state;
	expect_recovery(&f->rec, f->recovery, SL_OK);

	char upper[SL_RECOVERY_TEXT_MAX], bare[SL_RECOVERY_TEXT_MAX],
	    spaced[SL_RECOVERY_TEXT_MAX], loose[2 * SL_RECOVERY_TEXT_MAX];
	size_t nb = 0, nl = 0;
	for (size_t i = 0; f->recovery[i]; i++) {
		char c = f->recovery[i];
		upper[i] = (char)toupper((unsigned char)c);
		spaced[i] = c == '-' ? ' ' : c;
		upper[i + 1] = spaced[i + 1] = '\0';
		if (c != '-')
			bare[nb++] = c;
		loose[nl++] = i % 3 ? c : (char)toupper((unsigned char)c);
		if (i % 7 == 0)
			loose[nl++] = i % 2 ? ' ' : '-';
	}
	bare[nb] = loose[nl] = '\0';
	assert_int_equal(nb, 52);
	expect_recovery(&f->rec, upper, SL_OK);
	expect_recovery(&f->rec, bare, SL_OK);
	expect_recovery(&f->rec, spaced, SL_OK);
	expect_recovery(&f->rec, loose, SL_OK);
}

static void test_recovery_wrong(void **state)
{
	fixture *f = *state;
	/* some other well-formed recovery key */
	uint8_t other[32];
	char text[SL_RECOVERY_TEXT_MAX];
	randombytes_buf(other, sizeof(other));
	b32(other, sizeof(other), true, text);
	expect_recovery(&f->rec, text, SL_ECRYPTO);

	/* the right one with its first symbol changed */
	char near[SL_RECOVERY_TEXT_MAX];
	memcpy(near, f->recovery, sizeof(near));
	near[0] = near[0] == 'b' ? 'c' : 'b';
	expect_recovery(&f->rec, near, SL_ECRYPTO);

	/* the right one, but the record's recovery wrap or public key altered */
	sl_modkey_record r = f->rec;
	r.recovery_wrapped[40] ^= 0x10;
	expect_recovery(&r, f->recovery, SL_ECRYPTO);
	r = f->rec;
	r.public_key[31] ^= 0x40;
	expect_recovery(&r, f->recovery, SL_ECRYPTO);

	/* the passphrase wrap is not the recovery wrap: swapped, neither opens */
	r = f->rec;
	memcpy(r.recovery_wrapped, f->rec.wrapped, SL_MODKEY_WRAPPED_BYTES);
	expect_recovery(&r, f->recovery, SL_ECRYPTO);
}

static void test_recovery_malformed(void **state)
{
	fixture *f = *state;
	char buf[600];

	expect_recovery(&f->rec, "", SL_EPARSE);
	expect_recovery(&f->rec, "- - -", SL_EPARSE);
	/* 51 and 53 symbols */
	snprintf(buf, sizeof(buf), "%.63s", f->recovery);
	expect_recovery(&f->rec, buf, SL_EPARSE);
	snprintf(buf, sizeof(buf), "%sa", f->recovery);
	expect_recovery(&f->rec, buf, SL_EPARSE);
	/* letters outside the alphabet, in place of the second symbol */
	const char *bad[] = {"0", "1",	"8",  "9",    "=",
			     "_", "\t", "\n", "\xff", "\xd0\xb0"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(buf, sizeof(buf), "%c%s%s", f->recovery[0], bad[i],
			 f->recovery + 2);
		expect_recovery(&f->rec, buf, SL_EPARSE);
	}
	/* '=' padding after a whole text */
	snprintf(buf, sizeof(buf), "%s====", f->recovery);
	expect_recovery(&f->rec, buf, SL_EPARSE);
	/* non-zero pad bits: the last symbol must be 'a' or 'q' */
	for (const char *c = "bcdefghijklmnoprstuvwxyz234567"; *c; c++) {
		memcpy(buf, f->recovery, 64);
		buf[63] = *c;
		buf[64] = '\0';
		expect_recovery(&f->rec, buf, SL_EPARSE);
	}
	/* over 256 characters, even if only separators pad it out */
	snprintf(buf, sizeof(buf), "%s%*s", f->recovery, 192, "");
	assert_int_equal(strlen(buf), 256);
	expect_recovery(&f->rec, buf, SL_OK);
	snprintf(buf, sizeof(buf), "%s%*s", f->recovery, 193, "");
	expect_recovery(&f->rec, buf, SL_EPARSE);
}

/* ---- rewrap ------------------------------------------------------------ */

static void test_rewrap(void **state) /* 3 derivations */
{
	fixture *f = *state;
	sl_modkey_record r = f->rec;
	sl_secret_key *sk = NULL;
	assert_int_equal(sl_modkey_unlock_recovery(&r, f->recovery, &sk), SL_OK);

	/* the new passphrase is the longest accepted */
	char *np = malloc(SL_PASSPHRASE_MAX + 1);
	assert_non_null(np);
	for (size_t i = 0; i < SL_PASSPHRASE_MAX; i++)
		np[i] = (char)('a' + i % 26);
	np[SL_PASSPHRASE_MAX] = '\0';

	/* refused: too short, too long, someone else's record; r unchanged */
	assert_int_equal(sl_modkey_rewrap(sk, "7 bytes", 7, &r), SL_EVALID);
	assert_int_equal(sl_modkey_rewrap(sk, np, SL_PASSPHRASE_MAX + 1, &r), SL_EVALID);
	sl_modkey_record other = r;
	other.public_key[5] ^= 1;
	assert_int_equal(sl_modkey_rewrap(sk, np, SL_PASSPHRASE_MAX, &other), SL_EINVAL);
	assert_memory_equal(&r, &f->rec, sizeof(r));

	assert_int_equal(sl_modkey_rewrap(sk, np, SL_PASSPHRASE_MAX, &r), SL_OK);
	sl_secret_key_free(sk);
	assert_memory_equal(r.public_key, f->rec.public_key, 32);
	assert_memory_not_equal(r.salt, f->rec.salt, sizeof(r.salt));
	assert_memory_not_equal(r.wrapped, f->rec.wrapped, sizeof(r.wrapped));
	assert_memory_equal(r.recovery_wrapped, f->rec.recovery_wrapped,
			    sizeof(r.recovery_wrapped));
	assert_int_equal(r.opslimit, SL_MODKEY_OPSLIMIT);
	assert_int_equal(r.memlimit, SL_MODKEY_MEMLIMIT);

	expect_unlock(&r, np, SL_OK);
	expect_unlock(&r, PASS, SL_ECRYPTO);
	/* the recovery text still works after a passphrase change */
	expect_recovery(&r, f->recovery, SL_OK);
	free(np);
}

/* ---- limits and arguments ---------------------------------------------- */

static void test_passphrase_length(void **state) /* refused before deriving */
{
	fixture *f = *state;
	sl_modkey_record r;
	char text[SL_RECOVERY_TEXT_MAX];
	char big[SL_PASSPHRASE_MAX + 2];
	memset(big, 'x', sizeof(big));

	memset(&r, 0xaa, sizeof(r));
	memset(text, 'z', sizeof(text));
	assert_int_equal(sl_modkey_create("7 bytes", 7, &r, text), SL_EVALID);
	assert_int_equal(sl_modkey_create("", 0, &r, text), SL_EVALID);
	assert_int_equal(sl_modkey_create(big, SL_PASSPHRASE_MAX + 1, &r, text),
			 SL_EVALID);
	/* nothing half made is left behind */
	static const sl_modkey_record zero;
	assert_memory_equal(&r, &zero, sizeof(r));
	assert_int_equal(text[0], '\0');

	sl_secret_key *sk = (sl_secret_key *)&sk;
	assert_int_equal(sl_modkey_unlock(&f->rec, big, SL_PASSPHRASE_MAX + 1, &sk),
			 SL_EVALID);
	assert_null(sk);
}

static void test_bad_arguments(void **state)
{
	fixture *f = *state;
	sl_modkey_record r;
	char text[SL_RECOVERY_TEXT_MAX];
	sl_secret_key *sk = (sl_secret_key *)&sk;

	assert_int_equal(sl_modkey_create(NULL, 8, &r, text), SL_EINVAL);
	assert_int_equal(sl_modkey_create(PASS, 8, NULL, text), SL_EINVAL);
	assert_int_equal(sl_modkey_create(PASS, 8, &r, NULL), SL_EINVAL);
	assert_int_equal(sl_modkey_unlock(NULL, PASS, 8, &sk), SL_EINVAL);
	assert_null(sk);
	assert_int_equal(sl_modkey_unlock(&f->rec, NULL, 8, &sk), SL_EINVAL);
	assert_int_equal(sl_modkey_unlock(&f->rec, PASS, 8, NULL), SL_EINVAL);
	assert_int_equal(sl_modkey_unlock_recovery(NULL, f->recovery, &sk), SL_EINVAL);
	assert_int_equal(sl_modkey_unlock_recovery(&f->rec, NULL, &sk), SL_EINVAL);
	assert_int_equal(sl_modkey_unlock_recovery(&f->rec, f->recovery, NULL),
			 SL_EINVAL);
	assert_int_equal(sl_modkey_rewrap(NULL, PASS, 8, &r), SL_EINVAL);
	assert_null(sl_secret_key_public(NULL));
	sl_secret_key_free(NULL);
	sl_passphrase_free(NULL, 0);
	size_t len;
	char *p;
	assert_int_equal(sl_passphrase_read(NULL, "/dev/null", false, NULL, &len),
			 SL_EINVAL);
	assert_int_equal(sl_passphrase_read(NULL, "/dev/null", false, &p, NULL),
			 SL_EINVAL);
}

/* ---- what a record holds ----------------------------------------------- */

/* Both wraps opened here by the documented layout (1 derivation): they hold
 * the secret of the record's public key, and the record holds neither the
 * passphrase, the secret, the recovery key nor the derived key. */
static void test_record_layout_and_contents(void **state)
{
	fixture *f = *state;
	/* A copy: under UBSan, GCC's -Wnonnull imagines &f->rec NULL. */
	const sl_modkey_record rec = f->rec;
	const sl_modkey_record *r = &rec;
	uint8_t recovery[32], secret[32], secret2[32], pk[32], kek[32];

	assert_int_equal(sizeof(*r), 32 + 16 + 8 + 8 + 72 + 72); /* no padding */
	unb32(f->recovery, recovery, sizeof(recovery));
	assert_int_equal(open_wrap(r->recovery_wrapped, r->public_key,
				   "sightline recovery v1", recovery, secret),
			 0);
	assert_int_equal(crypto_scalarmult_base(pk, secret), 0);
	assert_memory_equal(pk, r->public_key, 32);

	assert_int_equal(crypto_pwhash(kek, sizeof(kek), PASS, strlen(PASS), r->salt,
				       r->opslimit, (size_t)r->memlimit,
				       crypto_pwhash_ALG_ARGON2ID13),
			 0);
	assert_int_equal(
	    open_wrap(r->wrapped, r->public_key, "sightline modkey v1", kek, secret2), 0);
	assert_memory_equal(secret, secret2, 32);
	/* the labels are not interchangeable */
	assert_int_not_equal(
	    open_wrap(r->wrapped, r->public_key, "sightline recovery v1", kek, secret2),
	    0);

	assert_false(contains(r, sizeof(*r), PASS, strlen(PASS)));
	assert_false(contains(r, sizeof(*r), secret, sizeof(secret)));
	assert_false(contains(r, sizeof(*r), recovery, sizeof(recovery)));
	assert_false(contains(r, sizeof(*r), kek, sizeof(kek)));
	/* nor any 8-byte piece of the secret */
	for (size_t i = 0; i + 8 <= sizeof(secret); i++)
		assert_false(contains(r, sizeof(*r), secret + i, 8));

	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(secret2, sizeof(secret2));
	sodium_memzero(kek, sizeof(kek));
}

/* A record whose wrap opens but holds some other secret (a writer's bug, or
 * a forgery by whoever has the recovery key) must not unlock: the public
 * key is recomputed and compared. */
static void test_secret_must_match_public_key(void **state)
{
	fixture *f = *state;
	uint8_t recovery[32], other[32], ad[64];
	unb32(f->recovery, recovery, sizeof(recovery));
	randombytes_buf(other, sizeof(other));

	sl_modkey_record r = f->rec;
	size_t ad_len = ad_of(ad, r.public_key, "sightline recovery v1");
	randombytes_buf(r.recovery_wrapped, 24);
	unsigned long long n = 0;
	assert_int_equal(crypto_aead_xchacha20poly1305_ietf_encrypt(
			     r.recovery_wrapped + 24, &n, other, sizeof(other), ad,
			     ad_len, NULL, r.recovery_wrapped, recovery),
			 0);
	assert_int_equal(n, 48);
	expect_recovery(&r, f->recovery, SL_ECRYPTO);
}

static void test_unseal(void **state)
{
	fixture *f = *state;
	sl_secret_key *sk = NULL;
	assert_int_equal(sl_modkey_unlock_recovery(&f->rec, f->recovery, &sk), SL_OK);

	const char msg[] = "item key stand-in, 32 bytes long";
	uint8_t sealed[sizeof(msg) + crypto_box_SEALBYTES], out[sizeof(msg)];
	assert_int_equal(
	    crypto_box_seal(sealed, (const uint8_t *)msg, sizeof(msg), f->rec.public_key),
	    0);
	assert_int_equal(sl_secret_key_unseal(sk, sealed, sizeof(sealed), out), SL_OK);
	assert_memory_equal(out, msg, sizeof(msg));

	sealed[sizeof(sealed) - 1] ^= 1;
	memset(out, 0x55, sizeof(out));
	assert_int_equal(sl_secret_key_unseal(sk, sealed, sizeof(sealed), out),
			 SL_ECRYPTO);
	static const uint8_t zero[sizeof(msg)];
	assert_memory_equal(out, zero, sizeof(out));
	assert_int_equal(sl_secret_key_unseal(sk, sealed, crypto_box_SEALBYTES - 1, out),
			 SL_EPARSE);
	assert_int_equal(sl_secret_key_unseal(NULL, sealed, sizeof(sealed), out),
			 SL_EINVAL);
	sl_secret_key_free(sk);
}

/* ---- passphrase_read --------------------------------------------------- */

typedef struct tmp_path {
	char dir[PATH_MAX];
	char path[PATH_MAX];
} tmp_path;

static void tmp_write(tmp_path *t, const void *data, size_t n)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(t->dir, sizeof(t->dir), "%s/sl-modkey-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(t->dir));
	int k = snprintf(t->path, sizeof(t->path), "%.*s/pass", PATH_MAX - 16, t->dir);
	assert_true(k > 0 && k < PATH_MAX);
	int fd = open(t->path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, n), (ssize_t)n);
	assert_int_equal(close(fd), 0);
}

static void tmp_remove(tmp_path *t)
{
	unlink(t->path);
	rmdir(t->dir);
}

/* Reads the file holding data; checks the error and, on success, the
 * passphrase. */
static void expect_file(const void *data, size_t n, bool confirm, sl_err want,
			const char *want_pass)
{
	tmp_path t;
	tmp_write(&t, data, n);
	char *p = (char *)&p;
	size_t len = 99;
	assert_int_equal(sl_passphrase_read("unused: ", t.path, confirm, &p, &len), want);
	if (want == SL_OK) {
		assert_non_null(p);
		assert_int_equal(len, strlen(want_pass));
		assert_string_equal(p, want_pass);
	} else {
		assert_null(p);
		assert_int_equal(len, 0);
	}
	sl_passphrase_free(p, len);
	tmp_remove(&t);
}

static void test_passphrase_file(void **state)
{
	(void)state;
	expect_file("tanks at orsha\n", 15, false, SL_OK, "tanks at orsha");
	expect_file("tanks at orsha", 14, false, SL_OK, "tanks at orsha");
	expect_file("tanks at orsha\r\n", 16, false, SL_OK, "tanks at orsha");
	expect_file("first line\nsecond line\n", 23, false, SL_OK, "first line");
	expect_file(" spaces kept \t\n", 15, false, SL_OK, " spaces kept \t");
	/* confirm means a new passphrase: the minimum length applies */
	expect_file("short\n", 6, true, SL_EVALID, NULL);
	expect_file("short\n", 6, false, SL_OK, "short");
	expect_file("\n", 1, false, SL_EVALID, NULL);
	expect_file("\r\nsecond\n", 9, false, SL_EVALID, NULL);
	expect_file("", 0, false, SL_EVALID, NULL);

	/* SL_PASSPHRASE_MAX bytes are fine, with or without "\r\n"; one more
	 * is not */
	char buf[SL_PASSPHRASE_MAX + 8];
	memset(buf, 'p', sizeof(buf));
	char *want = malloc(SL_PASSPHRASE_MAX + 1);
	assert_non_null(want);
	memset(want, 'p', SL_PASSPHRASE_MAX);
	want[SL_PASSPHRASE_MAX] = '\0';
	buf[SL_PASSPHRASE_MAX] = '\r';
	buf[SL_PASSPHRASE_MAX + 1] = '\n';
	expect_file(buf, SL_PASSPHRASE_MAX + 2, true, SL_OK, want);
	expect_file(buf, SL_PASSPHRASE_MAX, true, SL_OK, want);
	buf[SL_PASSPHRASE_MAX] = 'p';
	expect_file(buf, SL_PASSPHRASE_MAX + 1, false, SL_EVALID, NULL);
	expect_file(buf, sizeof(buf), false, SL_EVALID, NULL);
	free(want);
}

static void test_passphrase_file_errors(void **state)
{
	(void)state;
	char *p = (char *)&p;
	size_t len = 99;
	assert_int_equal(
	    sl_passphrase_read(NULL, "/nonexistent/sightline/pass", false, &p, &len),
	    SL_EIO);
	assert_null(p);
	/* an empty "file" */
	p = (char *)&p;
	assert_int_equal(sl_passphrase_read(NULL, "/dev/null", false, &p, &len),
			 SL_EVALID);
	assert_null(p);
	/* a directory cannot be read */
	p = (char *)&p;
	assert_int_equal(sl_passphrase_read(NULL, "/", false, &p, &len), SL_EIO);
	assert_null(p);
}

/* What a child reports back through a pipe. */
typedef struct child_result {
	int err;
	size_t len;
	char pass[64];
} child_result;

static void child_read(bool confirm, int result_fd)
{
	child_result res;
	memset(&res, 0, sizeof(res));
	char *p = NULL;
	size_t len = 0;
	res.err = sl_passphrase_read("Passphrase: ", NULL, confirm, &p, &len);
	if (res.err == SL_OK) {
		res.len = len;
		snprintf(res.pass, sizeof(res.pass), "%s", p);
	}
	sl_passphrase_free(p, len);
	if (write(result_fd, &res, sizeof(res)) != (ssize_t)sizeof(res))
		_exit(2);
	_exit(0);
}

static void collect(int pid, int result_fd, child_result *res)
{
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(read(result_fd, res, sizeof(*res)), (ssize_t)sizeof(*res));
}

/* Without a file and without a controlling terminal: SL_EIO. */
static void test_passphrase_no_tty(void **state)
{
	(void)state;
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		if (setsid() < 0) /* leaves the controlling terminal behind */
			_exit(3);
		child_read(false, fds[1]);
	}
	close(fds[1]);
	child_result res;
	collect(pid, fds[0], &res);
	close(fds[0]);
	assert_int_equal(res.err, SL_EIO);
}

/* Appends what the terminal shows to screen until want is in it (10 s at
 * most) or the other side closes. */
static bool wait_for(int master, char *screen, size_t cap, const char *want)
{
	size_t n = strlen(screen);
	while (!strstr(screen, want)) {
		struct pollfd pfd = {.fd = master, .events = POLLIN};
		if (poll(&pfd, 1, 10000) <= 0)
			return false;
		if (n + 1 >= cap)
			return false;
		ssize_t r = read(master, screen + n, cap - n - 1);
		if (r <= 0)
			return false; /* EIO once the child closed its side */
		n += (size_t)r;
		screen[n] = '\0';
	}
	return true;
}

/* Runs sl_passphrase_read in a child whose controlling terminal is a new
 * pty, types first (and second, if confirm) at its prompts, and returns
 * what the child got and what the terminal showed. */
static void on_pty(bool confirm, const char *first, const char *second, child_result *res,
		   char *screen, size_t cap)
{
	int master = posix_openpt(O_RDWR | O_NOCTTY);
	assert_true(master >= 0);
	assert_int_equal(grantpt(master), 0);
	assert_int_equal(unlockpt(master), 0);
	char name[PATH_MAX];
	assert_int_equal(ptsname_r(master, name, sizeof(name)), 0);
	int fds[2];
	assert_int_equal(pipe(fds), 0);

	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(master);
		close(fds[0]);
		if (setsid() < 0)
			_exit(3);
		int slave = open(name, O_RDWR); /* becomes the controlling tty */
		if (slave < 0 || ioctl(slave, TIOCSCTTY, 0) != 0)
			_exit(4);
		child_read(confirm, fds[1]);
	}
	close(fds[1]);
	screen[0] = '\0';
	bool ok = wait_for(master, screen, cap, "Passphrase: ");
	if (ok)
		ok = write(master, first, strlen(first)) == (ssize_t)strlen(first);
	if (ok && confirm) {
		ok = wait_for(master, screen, cap, "Again: ");
		if (ok)
			ok = write(master, second, strlen(second)) ==
			     (ssize_t)strlen(second);
	}
	if (!ok)
		kill(pid, SIGKILL);
	else
		wait_for(master, screen, cap, "\x01never"); /* drain until closed */
	collect(pid, fds[0], res);
	close(fds[0]);
	close(master);
	assert_true(ok);
}

static void test_passphrase_tty(void **state)
{
	(void)state;
	child_result res;
	char screen[4096];

	on_pty(true, "convoy at zhlobin\n", "convoy at zhlobin\n", &res, screen,
	       sizeof(screen));
	assert_int_equal(res.err, SL_OK);
	assert_int_equal(res.len, 17);
	assert_string_equal(res.pass, "convoy at zhlobin");
	/* echo was off: the prompts show, what was typed does not */
	assert_non_null(strstr(screen, "Passphrase: "));
	assert_non_null(strstr(screen, "Again: "));
	assert_null(strstr(screen, "zhlobin"));

	on_pty(true, "convoy at zhlobin\n", "convoy at zhlobim\n", &res, screen,
	       sizeof(screen));
	assert_int_equal(res.err, SL_EVALID);

	on_pty(false, "old one\n", NULL, &res, screen, sizeof(screen));
	assert_int_equal(res.err, SL_OK);
	assert_string_equal(res.pass, "old one");
	assert_null(strstr(screen, "Again: "));
	assert_null(strstr(screen, "old one"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_create_unlock_round_trip),
	    cmocka_unit_test(test_wrong_passphrase),
	    cmocka_unit_test(test_tampered_record),
	    cmocka_unit_test(test_record_cost),
	    cmocka_unit_test(test_cost_out_of_range),
	    cmocka_unit_test(test_recovery_text_shape),
	    cmocka_unit_test(test_recovery_unlock),
	    cmocka_unit_test(test_recovery_wrong),
	    cmocka_unit_test(test_recovery_malformed),
	    cmocka_unit_test(test_rewrap),
	    cmocka_unit_test(test_passphrase_length),
	    cmocka_unit_test(test_bad_arguments),
	    cmocka_unit_test(test_record_layout_and_contents),
	    cmocka_unit_test(test_secret_must_match_public_key),
	    cmocka_unit_test(test_unseal),
	    cmocka_unit_test(test_passphrase_file),
	    cmocka_unit_test(test_passphrase_file_errors),
	    cmocka_unit_test(test_passphrase_no_tty),
	    cmocka_unit_test(test_passphrase_tty),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
