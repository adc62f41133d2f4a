/*
 * base32.c — RFC 4648 base32, lowercase, unpadded, in dash-separated groups
 * of four: the text form of receipts and recovery keys, which people copy by
 * hand (no 0/1/8/9 to confuse with O/I/B/g).
 */
#include "crypto/crypto_int.h"

#include <sodium.h>

static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";


/* Writes in[0..n) to out as base32 in dash-separated groups of four and a
 * NUL; out must hold the symbols, the dashes and the NUL. */
void sl_base32_encode(const uint8_t *in, size_t n, char *out)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t nsym = 0, o = 0;

	for (size_t i = 0; i < n || bits > 0;) {
		unsigned sym;
		if (bits < 5 && i < n) {
			acc = (acc << 8) | in[i++];
			bits += 8;
			continue;
		}
		if (bits >= 5) {
			bits -= 5;
			sym = (acc >> bits) & 31;
		} else { /* the last, partial symbol: pad with zero bits */
			sym = (acc << (5 - bits)) & 31;
			bits = 0;
		}
		if (nsym > 0 && nsym % 4 == 0)
			out[o++] = '-';
		out[o++] = alphabet[sym];
		nsym++;
	}
	out[o] = '\0';
	sodium_memzero(&acc, sizeof(acc));
}

/* The value of a base32 symbol in either case; -1 when c is not one. */
static int symbol_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		c = (unsigned char)(c - 'A' + 'a');
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	if (c >= '2' && c <= '7')
		return c - '2' + 26;
	return -1;
}

/* Decodes text (any case, '-' and ' ' ignored) into out[0..n). SL_EPARSE
 * unless it is exactly the unpadded symbol count for n bytes, all of the
 * alphabet, with zero pad bits: one key has one spelling, up to case and
 * separators. out may be partly written on failure. */
sl_err sl_base32_decode(const char *text, uint8_t *out, size_t n)
{
	const size_t want = (n * 8 + 4) / 5;
	uint32_t acc = 0;
	int bits = 0;
	size_t nsym = 0, nout = 0;
	sl_err err = SL_OK;

	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		if (*p == '-' || *p == ' ')
			continue;
		int v = symbol_value(*p);
		if (v < 0 || nsym == want) {
			err = SL_EPARSE;
			goto out;
		}
		nsym++;
		acc = (acc << 5) | (uint32_t)v;
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			if (nout < n) /* always, given nsym <= want */
				out[nout++] = (uint8_t)(acc >> bits);
		}
	}
	if (nsym != want || nout != n || (acc & ((1u << bits) - 1)) != 0)
		err = SL_EPARSE;
out:
	sodium_memzero(&acc, sizeof(acc));
	return err;
}

