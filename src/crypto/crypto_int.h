/*
 * crypto_int.h — what the files of src/crypto share.
 */
#ifndef SIGHTLINE_CRYPTO_INT_H
#define SIGHTLINE_CRYPTO_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sightline/err.h"

/* Writes in[0..n) to out as base32 in dash-separated groups of four and a
 * NUL; out must hold the symbols, the dashes and the NUL. */
void sl_base32_encode(const uint8_t *in, size_t n, char *out);

/* Decodes text (any case, '-' and ' ' ignored) into out[0..n). SL_EPARSE
 * unless it is exactly the unpadded symbol count for n bytes, all of the
 * alphabet, with zero pad bits: one value has one spelling, up to case and
 * separators. out may be partly written on failure. */
sl_err sl_base32_decode(const char *text, uint8_t *out, size_t n);

/* Reads the len-byte key DATA_DIR/keys/NAME into key. When the file is
 * absent: with may_create, makes a random key and publishes it (if another
 * process published one first, key is that one); without, SL_ENOTFOUND.
 * SL_ECRYPTO when the file is not a key (wrong size, not a regular file),
 * SL_EIO when it cannot be read or written. Creates DATA_DIR and keys/
 * (mode 0700) as needed. Reasons go to stderr, naming the path. */
sl_err sl_keyfile_load(const char *data_dir, const char *name, uint8_t *key, size_t len,
		       bool may_create);

#endif
