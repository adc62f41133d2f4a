/*
 * receipt.h — the informant's receipt.
 *
 * A receipt is 128 random bits shown once to the informant as text
 * ("k7qm-3x9p-..."): with it they can later check their report's status. The
 * server keeps only a keyed BLAKE2b hash of the bits, under a key stored in
 * DATA/keys/receipt.key; the text itself is never written anywhere.
 */
#ifndef SIGHTLINE_RECEIPT_H
#define SIGHTLINE_RECEIPT_H

#include <stdint.h>

#include "sightline/err.h"

#define SL_RECEIPT_BYTES 16
#define SL_RECEIPT_HASH_BYTES 32
#define SL_RECEIPT_TEXT_MAX 48 /* buffer size for the text form, NUL incl. */

typedef struct sl_receipt_key sl_receipt_key;

/* Loads DATA_DIR/keys/receipt.key, creating it (mode 0600) with a fresh
 * random key when absent. The key lives in sodium_malloc memory; free it
 * with sl_receipt_key_free. Needs sl_crypto_init() first. */
sl_err sl_receipt_key_load(const char *data_dir, sl_receipt_key **out);
void sl_receipt_key_free(sl_receipt_key *k);

/* Initialises libsodium once; safe to call more than once. */
sl_err sl_crypto_init(void);

/* A fresh receipt: its text form (for the informant, once) and its hash
 * (for the store). */
sl_err sl_receipt_new(const sl_receipt_key *k, char text[SL_RECEIPT_TEXT_MAX],
		      uint8_t hash[SL_RECEIPT_HASH_BYTES]);

/* The hash of a receipt given as text; case, dashes and spaces are ignored.
 * SL_EPARSE when text is not a receipt's form. */
sl_err sl_receipt_hash(const sl_receipt_key *k, const char *text,
		       uint8_t hash[SL_RECEIPT_HASH_BYTES]);

#endif
