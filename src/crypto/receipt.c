/*
 * receipt.c — informant receipts and the key that hashes them.
 *
 * A receipt is 16 random bytes. The informant sees them once, as RFC 4648
 * base32 (lowercase, no padding: 26 symbols) in dash-separated groups of
 * four, "abcd-efgh-ijkl-mnop-qrst-uvwx-yz"; the store only ever sees
 * BLAKE2b-256(bytes) keyed with DATA/keys/receipt.key. Whoever holds the
 * database without that key cannot test guessed receipts against it, and
 * no one can turn a stored hash back into a receipt.
 *
 * Base32 because it survives being read aloud, copied by hand or typed on
 * a phone: one case, no 0/O or 1/l pairs. The decoder is deliberately
 * strict (RFC 4648 alphabet only, exactly 26 symbols, zero pad bits) so
 * that one receipt has exactly one spelling, up to case, dashes and spaces.
 *
 * The key file is created once, atomically: it is written in full to a
 * private temporary name (O_CREAT|O_EXCL, fsync) and then link()ed into
 * place, which fails with EEXIST if another process got there first; the
 * loser reads the winner's key. A reader therefore never sees a half
 * written key, and a crash mid-creation leaves only a stray temporary.
 */
#define _GNU_SOURCE
#include "sightline/receipt.h"

#include "crypto/crypto_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#define KEY_BYTES 32
#define SYMBOLS 26	  /* base32 symbols of SL_RECEIPT_BYTES, unpadded */
#define TEXT_LEN 32	  /* SYMBOLS plus 6 dashes */
#define TEXT_INPUT_MAX 64 /* longer input is refused before any work */

_Static_assert(KEY_BYTES >= crypto_generichash_KEYBYTES_MIN &&
		   KEY_BYTES <= crypto_generichash_KEYBYTES_MAX,
	       "receipt key size must suit BLAKE2b");
_Static_assert(SL_RECEIPT_HASH_BYTES >= crypto_generichash_BYTES_MIN &&
		   SL_RECEIPT_HASH_BYTES <= crypto_generichash_BYTES_MAX,
	       "receipt hash size must suit BLAKE2b");
_Static_assert(TEXT_LEN < SL_RECEIPT_TEXT_MAX, "text form must fit its buffer");
_Static_assert(SYMBOLS * 5 >= SL_RECEIPT_BYTES * 8 &&
		   SYMBOLS * 5 - SL_RECEIPT_BYTES * 8 < 5,
	       "SYMBOLS must be the unpadded base32 length");

struct sl_receipt_key {
	unsigned char key[KEY_BYTES];
};


static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_result = -1;

static void init_sodium(void)
{
	init_result = sodium_init();
}

sl_err sl_crypto_init(void)
{
	pthread_once(&init_once, init_sodium);
	return init_result < 0 ? SL_ECRYPTO : SL_OK;
}

sl_err sl_receipt_key_load(const char *data_dir, sl_receipt_key **out)
{
	if (!data_dir || !*data_dir || !out)
		return SL_EINVAL;
	*out = NULL;
	if (sl_crypto_init() != SL_OK)
		return SL_ECRYPTO;

	sl_receipt_key *k = sodium_malloc(sizeof(*k));
	if (!k)
		return SL_ENOMEM;
	sl_err err = sl_keyfile_load(data_dir, "receipt.key", k->key, KEY_BYTES, true);
	if (err == SL_OK && sodium_mprotect_readonly(k) != 0) {
		fprintf(stderr, "sightline: cannot protect the receipt key in memory\n");
		err = SL_ECRYPTO;
	}
	if (err != SL_OK) {
		sodium_free(k);
		return err;
	}
	*out = k;
	return SL_OK;
}

void sl_receipt_key_free(sl_receipt_key *k)
{
	/* sodium_free makes the pages writable again and wipes them. */
	if (k)
		sodium_free(k);
}

/* ---- receipts ---------------------------------------------------------- */

static sl_err hash_bytes(const sl_receipt_key *k, const uint8_t bytes[SL_RECEIPT_BYTES],
			 uint8_t hash[SL_RECEIPT_HASH_BYTES])
{
	if (crypto_generichash(hash, SL_RECEIPT_HASH_BYTES, bytes, SL_RECEIPT_BYTES,
			       k->key, KEY_BYTES) != 0)
		return SL_ECRYPTO;
	return SL_OK;
}

sl_err sl_receipt_new(const sl_receipt_key *k, char text[SL_RECEIPT_TEXT_MAX],
		      uint8_t hash[SL_RECEIPT_HASH_BYTES])
{
	if (!k || !text || !hash)
		return SL_EINVAL;
	uint8_t bytes[SL_RECEIPT_BYTES];
	randombytes_buf(bytes, sizeof(bytes));
	sl_base32_encode(bytes, SL_RECEIPT_BYTES, text);
	sl_err err = hash_bytes(k, bytes, hash);
	sodium_memzero(bytes, sizeof(bytes));
	if (err != SL_OK)
		sodium_memzero(text, SL_RECEIPT_TEXT_MAX);
	return err;
}

sl_err sl_receipt_hash(const sl_receipt_key *k, const char *text,
		       uint8_t hash[SL_RECEIPT_HASH_BYTES])
{
	if (!k || !hash)
		return SL_EINVAL;
	if (!text || strnlen(text, TEXT_INPUT_MAX + 1) > TEXT_INPUT_MAX)
		return SL_EPARSE;
	uint8_t bytes[SL_RECEIPT_BYTES];
	sl_err err = sl_base32_decode(text, bytes, SL_RECEIPT_BYTES);
	if (err == SL_OK)
		err = hash_bytes(k, bytes, hash);
	sodium_memzero(bytes, sizeof(bytes));
	return err;
}
