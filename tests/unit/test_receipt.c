/*
 * test_receipt.c — receipts: text form, strict parsing, keyed hashing, and
 * the key file's creation, permissions, reload and corruption.
 *
 * Each test works in its own fresh directory under $TMPDIR (or /tmp) and
 * removes it afterwards. Known-answer tests recompute the keyed BLAKE2b
 * from the key file itself, so they check the base32 decoding against
 * RFC 4648 independently of the module's own encoder.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "sightline/receipt.h"

typedef struct fixture {
	char root[PATH_MAX];	/* mkdtemp result */
	char data[PATH_MAX];	/* root/data, not yet made */
	char keyfile[PATH_MAX]; /* data/keys/receipt.key */
	sl_receipt_key *key;	/* loaded from data */
} fixture;

/* out = dir/name; out has PATH_MAX bytes. */
static void join(char *out, const char *dir, const char *name)
{
	int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);
	assert_true(n > 0 && n < PATH_MAX);
}

static void make_paths(fixture *f)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(f->root, sizeof(f->root), "%s/sl-receipt-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(f->root));
	join(f->data, f->root, "data");
	join(f->keyfile, f->data, "keys/receipt.key");
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	assert_int_equal(sl_crypto_init(), SL_OK);
	make_paths(f);
	assert_int_equal(sl_receipt_key_load(f->data, &f->key), SL_OK);
	assert_non_null(f->key);
	*state = f;
	return 0;
}

/* Removes a fixture's tree; it holds at most data/keys/<files>. */
static void remove_tree(const char *root)
{
	char cmd[PATH_MAX + 32];
	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", root);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", root);
}

static int teardown(void **state)
{
	fixture *f = *state;
	sl_receipt_key_free(f->key);
	remove_tree(f->root);
	free(f);
	return 0;
}

static void write_file(const char *path, const void *data, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, n), (ssize_t)n);
	assert_int_equal(close(fd), 0);
}

/* The module's hash, recomputed here from the key file. */
static void expected_hash(const fixture *f, const uint8_t bytes[SL_RECEIPT_BYTES],
			  uint8_t out[SL_RECEIPT_HASH_BYTES])
{
	unsigned char key[32];
	int fd = open(f->keyfile, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, key, sizeof(key)), (ssize_t)sizeof(key));
	close(fd);
	assert_int_equal(crypto_generichash(out, SL_RECEIPT_HASH_BYTES, bytes,
					    SL_RECEIPT_BYTES, key, sizeof(key)),
			 0);
}

static sl_err hash_of(const fixture *f, const char *text)
{
	uint8_t h[SL_RECEIPT_HASH_BYTES];
	return sl_receipt_hash(f->key, text, h);
}

/* ---- text form ---------------------------------------------------------- */

static void test_text_shape(void **state)
{
	fixture *f = *state;
	for (int round = 0; round < 200; round++) {
		char text[SL_RECEIPT_TEXT_MAX];
		uint8_t hash[SL_RECEIPT_HASH_BYTES];
		assert_int_equal(sl_receipt_new(f->key, text, hash), SL_OK);
		assert_int_equal(strlen(text), 32);
		int symbols = 0;
		for (size_t i = 0; text[i]; i++) {
			if (i % 5 == 4) {
				assert_int_equal(text[i], '-');
				continue;
			}
			char c = text[i];
			assert_true((c >= 'a' && c <= 'z') || (c >= '2' && c <= '7'));
			symbols++;
		}
		assert_int_equal(symbols, 26);
		/* 26 symbols carry 130 bits: the last one has 2 zero pad bits,
		 * so it is one of a e i m q u y 4 (values divisible by 4). */
		assert_non_null(strchr("aeimquy4", text[31]));
	}
}

static void test_new_hash_matches_text(void **state)
{
	fixture *f = *state;
	for (int round = 0; round < 50; round++) {
		char text[SL_RECEIPT_TEXT_MAX];
		uint8_t from_new[SL_RECEIPT_HASH_BYTES], from_text[SL_RECEIPT_HASH_BYTES];
		assert_int_equal(sl_receipt_new(f->key, text, from_new), SL_OK);
		assert_int_equal(sl_receipt_hash(f->key, text, from_text), SL_OK);
		assert_memory_equal(from_new, from_text, SL_RECEIPT_HASH_BYTES);
	}
}

static void test_two_receipts_differ(void **state)
{
	fixture *f = *state;
	char t1[SL_RECEIPT_TEXT_MAX], t2[SL_RECEIPT_TEXT_MAX];
	uint8_t h1[SL_RECEIPT_HASH_BYTES], h2[SL_RECEIPT_HASH_BYTES];
	assert_int_equal(sl_receipt_new(f->key, t1, h1), SL_OK);
	assert_int_equal(sl_receipt_new(f->key, t2, h2), SL_OK);
	assert_string_not_equal(t1, t2);
	assert_memory_not_equal(h1, h2, SL_RECEIPT_HASH_BYTES);
}

/* Known answers from RFC 4648 base32 (Python's base64.b32encode). */
static void test_known_answers(void **state)
{
	fixture *f = *state;
	static const struct {
		const char *text;
		uint8_t bytes[SL_RECEIPT_BYTES];
	} cases[] = {
	    {"aaaa-aaaa-aaaa-aaaa-aaaa-aaaa-aa", {0}},
	    {"7777-7777-7777-7777-7777-7777-74",
	     {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	      0xff, 0xff, 0xff, 0xff}},
	    {"aaaqeayeaudaocajbifqydiob4",
	     {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}},
	    {"GAYTEMZUGU3DOOBZMFRGGZDFMY", /* "0123456789abcdef" */
	     {'0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b', 'c', 'd', 'e',
	      'f'}},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t want[SL_RECEIPT_HASH_BYTES], got[SL_RECEIPT_HASH_BYTES];
		expected_hash(f, cases[i].bytes, want);
		assert_int_equal(sl_receipt_hash(f->key, cases[i].text, got), SL_OK);
		assert_memory_equal(want, got, SL_RECEIPT_HASH_BYTES);
	}
}

static void test_case_dash_space_insensitive(void **state)
{
	fixture *f = *state;
	char text[SL_RECEIPT_TEXT_MAX];
	uint8_t want[SL_RECEIPT_HASH_BYTES], got[SL_RECEIPT_HASH_BYTES];
	assert_int_equal(sl_receipt_new(f->key, text, want), SL_OK);

	char upper[SL_RECEIPT_TEXT_MAX], bare[SL_RECEIPT_TEXT_MAX], spaced[64];
	char mixed[64];
	size_t nb = 0, ns = 0, nm = 0, sym = 0;
	for (size_t i = 0; text[i]; i++) {
		upper[i] = (char)toupper((unsigned char)text[i]);
		upper[i + 1] = '\0';
		if (text[i] == '-') {
			spaced[ns++] = ' ';
			continue;
		}
		bare[nb++] = text[i];
		spaced[ns++] = text[i];
		/* mixed: alternate case, dashes and spaces in odd places */
		mixed[nm++] = sym % 2 ? (char)toupper((unsigned char)text[i]) : text[i];
		if (sym % 7 == 3)
			mixed[nm++] = sym % 2 ? '-' : ' ';
		sym++;
	}
	bare[nb] = spaced[ns] = mixed[nm] = '\0';

	const char *variants[] = {upper, bare, spaced, mixed};
	for (size_t i = 0; i < 4; i++) {
		memset(got, 0, sizeof(got));
		assert_int_equal(sl_receipt_hash(f->key, variants[i], got), SL_OK);
		assert_memory_equal(want, got, SL_RECEIPT_HASH_BYTES);
	}

	/* Leading and trailing dashes and spaces are ignored too. */
	char padded[64];
	snprintf(padded, sizeof(padded), "  -%s- ", text);
	assert_int_equal(sl_receipt_hash(f->key, padded, got), SL_OK);
	assert_memory_equal(want, got, SL_RECEIPT_HASH_BYTES);
}

static void test_rejects_wrong_length(void **state)
{
	fixture *f = *state;
	assert_int_equal(hash_of(f, ""), SL_EPARSE);
	assert_int_equal(hash_of(f, "----  --"), SL_EPARSE);
	assert_int_equal(hash_of(f, "a"), SL_EPARSE);
	/* 25 and 27 symbols */
	assert_int_equal(hash_of(f, "aaaa-aaaa-aaaa-aaaa-aaaa-aaaa-a"), SL_EPARSE);
	assert_int_equal(hash_of(f, "aaaa-aaaa-aaaa-aaaa-aaaa-aaaa-aaa"), SL_EPARSE);
	/* 32 symbols: a padded-out 20-byte value, not a receipt */
	assert_int_equal(hash_of(f, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), SL_EPARSE);
	assert_int_equal(sl_receipt_hash(f->key, NULL, (uint8_t[32]){0}), SL_EPARSE);
}

static void test_rejects_bad_characters(void **state)
{
	fixture *f = *state;
	const char *good = "aaaa-aaaa-aaaa-aaaa-aaaa-aaaa-aa";
	assert_int_equal(hash_of(f, good), SL_OK);

	/* Each of these stands in for the fifth symbol; the last two are UTF-8
	 * "é" and the Cyrillic "а" that looks like "a". */
	const char *bad[] = {"0", "1",	"8",  "9",    "!",    "=",	  "_",
			     ".", "\t", "\n", "\x7f", "\xff", "\xc3\xa9", "\xd0\xb0"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[64];
		snprintf(text, sizeof(text), "aaaa-%saaa-aaaa-aaaa-aaaa-aaaa-aa", bad[i]);
		assert_int_equal(hash_of(f, text), SL_EPARSE);
	}
	/* nor is RFC 4648 '=' padding accepted */
	assert_int_equal(hash_of(f, "aaaaaaaaaaaaaaaaaaaaaaaaaa======"), SL_EPARSE);
}

static void test_rejects_nonzero_pad_bits(void **state)
{
	fixture *f = *state;
	/* the last symbol's two low bits are padding and must be zero */
	const char last_ok[] = "aeimquy4";
	for (const char *c = "abcdefghijklmnopqrstuvwxyz234567"; *c; c++) {
		char text[64];
		snprintf(text, sizeof(text), "7777-7777-7777-7777-7777-7777-7%c", *c);
		sl_err want = strchr(last_ok, *c) ? SL_OK : SL_EPARSE;
		assert_int_equal(hash_of(f, text), want);
	}
}

static void test_rejects_long_input(void **state)
{
	fixture *f = *state;
	char text[SL_RECEIPT_TEXT_MAX];
	uint8_t h[SL_RECEIPT_HASH_BYTES];
	assert_int_equal(sl_receipt_new(f->key, text, h), SL_OK);

	/* 32 chars + 32 spaces = 64: accepted; one more space: refused. */
	char buf[256];
	snprintf(buf, sizeof(buf), "%s%32s", text, "");
	assert_int_equal(strlen(buf), 64);
	assert_int_equal(hash_of(f, buf), SL_OK);
	snprintf(buf, sizeof(buf), "%s%33s", text, "");
	assert_int_equal(hash_of(f, buf), SL_EPARSE);

	/* A very long string, unterminated for the first megabyte. */
	size_t n = 1 << 20;
	char *big = malloc(n + 1);
	assert_non_null(big);
	memset(big, 'a', n);
	big[n] = '\0';
	assert_int_equal(hash_of(f, big), SL_EPARSE);
	free(big);
}

static void test_bad_arguments(void **state)
{
	fixture *f = *state;
	char text[SL_RECEIPT_TEXT_MAX];
	uint8_t h[SL_RECEIPT_HASH_BYTES];
	assert_int_equal(sl_receipt_new(NULL, text, h), SL_EINVAL);
	assert_int_equal(sl_receipt_new(f->key, NULL, h), SL_EINVAL);
	assert_int_equal(sl_receipt_new(f->key, text, NULL), SL_EINVAL);
	assert_int_equal(sl_receipt_hash(NULL, "aaaaaaaaaaaaaaaaaaaaaaaaaa", h),
			 SL_EINVAL);
	sl_receipt_key *k = (sl_receipt_key *)&k;
	assert_int_equal(sl_receipt_key_load(NULL, &k), SL_EINVAL);
	assert_int_equal(sl_receipt_key_load(f->data, NULL), SL_EINVAL);
	sl_receipt_key_free(NULL);
	assert_int_equal(sl_crypto_init(), SL_OK);
	assert_int_equal(sl_crypto_init(), SL_OK);
}

/* ---- keys --------------------------------------------------------------- */

static void test_different_keys_differ(void **state)
{
	fixture *f = *state;
	fixture other;
	make_paths(&other);
	assert_int_equal(sl_receipt_key_load(other.data, &other.key), SL_OK);

	char text[SL_RECEIPT_TEXT_MAX];
	uint8_t h1[SL_RECEIPT_HASH_BYTES], h2[SL_RECEIPT_HASH_BYTES];
	assert_int_equal(sl_receipt_new(f->key, text, h1), SL_OK);
	assert_int_equal(sl_receipt_hash(other.key, text, h2), SL_OK);
	assert_memory_not_equal(h1, h2, SL_RECEIPT_HASH_BYTES);

	sl_receipt_key_free(other.key);
	remove_tree(other.root);
}

static void test_key_file_mode_and_reload(void **state)
{
	fixture *f = *state;
	struct stat st;
	assert_int_equal(stat(f->keyfile, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, 32);

	char keys[PATH_MAX];
	join(keys, f->data, "keys");
	assert_int_equal(stat(keys, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(stat(f->data, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);

	/* No temporary is left beside the key. */
	char cmd[PATH_MAX + 64];
	snprintf(cmd, sizeof(cmd), "test \"$(ls -A '%s')\" = receipt.key", keys);
	assert_int_equal(system(cmd), 0);

	char text[SL_RECEIPT_TEXT_MAX];
	uint8_t h1[SL_RECEIPT_HASH_BYTES], h2[SL_RECEIPT_HASH_BYTES];
	assert_int_equal(sl_receipt_new(f->key, text, h1), SL_OK);

	sl_receipt_key *again = NULL;
	assert_int_equal(sl_receipt_key_load(f->data, &again), SL_OK);
	assert_int_equal(sl_receipt_hash(again, text, h2), SL_OK);
	assert_memory_equal(h1, h2, SL_RECEIPT_HASH_BYTES);
	sl_receipt_key_free(again);

	/* and the file did not change by being loaded */
	assert_int_equal(stat(f->keyfile, &st), 0);
	assert_int_equal(st.st_size, 32);
}

static void test_existing_data_dir_kept(void **state)
{
	(void)state;
	fixture f;
	make_paths(&f);
	/* root exists (mkdtemp, 0700); use it as the data dir itself */
	assert_int_equal(chmod(f.root, 0750), 0);
	assert_int_equal(sl_receipt_key_load(f.root, &f.key), SL_OK);
	struct stat st;
	assert_int_equal(stat(f.root, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0750); /* not ours to change */
	sl_receipt_key_free(f.key);
	remove_tree(f.root);
}

static void test_corrupt_key_file(void **state)
{
	fixture *f = *state;
	static const size_t sizes[] = {0, 1, 31, 33, 4096};
	unsigned char junk[4096];
	memset(junk, 0x5a, sizeof(junk));
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		write_file(f->keyfile, junk, sizes[i]);
		sl_receipt_key *k = (sl_receipt_key *)&k; /* must be reset */
		assert_int_equal(sl_receipt_key_load(f->data, &k), SL_ECRYPTO);
		assert_null(k);
	}

	/* A directory where the key should be. */
	assert_int_equal(unlink(f->keyfile), 0);
	assert_int_equal(mkdir(f->keyfile, 0700), 0);
	sl_receipt_key *k = NULL;
	assert_int_not_equal(sl_receipt_key_load(f->data, &k), SL_OK);
	assert_null(k);
	assert_int_equal(rmdir(f->keyfile), 0);

	/* A symlink is not followed. */
	char target[PATH_MAX];
	join(target, f->root, "elsewhere");
	write_file(target, junk, 32);
	assert_int_equal(symlink(target, f->keyfile), 0);
	assert_int_not_equal(sl_receipt_key_load(f->data, &k), SL_OK);
	assert_null(k);
}

static void test_data_dir_unusable(void **state)
{
	fixture *f = *state;
	char path[PATH_MAX];
	/* data dir is a file */
	join(path, f->root, "plainfile");
	write_file(path, "x", 1);
	sl_receipt_key *k = NULL;
	assert_int_not_equal(sl_receipt_key_load(path, &k), SL_OK);
	assert_null(k);
	/* parent missing */
	join(path, f->root, "no/such/dir");
	assert_int_not_equal(sl_receipt_key_load(path, &k), SL_OK);
	assert_null(k);
}

/* Many loaders racing on a fresh directory all end up with one key. */
#define RACERS 8

typedef struct racer {
	const char *data;
	pthread_barrier_t *start;
	sl_receipt_key *key;
	sl_err err;
} racer;

static void *race_load(void *arg)
{
	racer *r = arg;
	pthread_barrier_wait(r->start);
	r->err = sl_receipt_key_load(r->data, &r->key);
	return NULL;
}

static void test_concurrent_creation(void **state)
{
	(void)state;
	for (int round = 0; round < 10; round++) {
		fixture f;
		make_paths(&f);
		pthread_barrier_t start;
		pthread_barrier_init(&start, NULL, RACERS);
		racer r[RACERS];
		pthread_t t[RACERS];
		for (int i = 0; i < RACERS; i++) {
			r[i] = (racer){.data = f.data, .start = &start};
			assert_int_equal(pthread_create(&t[i], NULL, race_load, &r[i]),
					 0);
		}
		for (int i = 0; i < RACERS; i++)
			pthread_join(t[i], NULL);
		pthread_barrier_destroy(&start);

		char text[SL_RECEIPT_TEXT_MAX];
		uint8_t h0[SL_RECEIPT_HASH_BYTES], h[SL_RECEIPT_HASH_BYTES];
		assert_int_equal(r[0].err, SL_OK);
		assert_int_equal(sl_receipt_new(r[0].key, text, h0), SL_OK);
		for (int i = 0; i < RACERS; i++) {
			assert_int_equal(r[i].err, SL_OK);
			assert_int_equal(sl_receipt_hash(r[i].key, text, h), SL_OK);
			assert_memory_equal(h0, h, SL_RECEIPT_HASH_BYTES);
			sl_receipt_key_free(r[i].key);
		}
		remove_tree(f.root);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_text_shape, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_new_hash_matches_text, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_two_receipts_differ, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_known_answers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_case_dash_space_insensitive, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_rejects_wrong_length, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rejects_bad_characters, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rejects_nonzero_pad_bits, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_rejects_long_input, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_different_keys_differ, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_key_file_mode_and_reload, setup,
					    teardown),
	    cmocka_unit_test(test_existing_data_dir_kept),
	    cmocka_unit_test_setup_teardown(test_corrupt_key_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_data_dir_unusable, setup, teardown),
	    cmocka_unit_test(test_concurrent_creation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
