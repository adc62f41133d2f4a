/*
 * crypto_int.h — what the files of src/crypto share.
 */
#ifndef SIGHTLINE_CRYPTO_INT_H
#define SIGHTLINE_CRYPTO_INT_H

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

#endif
