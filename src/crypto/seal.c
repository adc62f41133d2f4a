/*
 * seal.c — sealing one sensitive item for the moderators present.
 *
 * Intake hands the sensitive parts of a report (the text+contact JSON, each
 * photo, each follow-up) here before the store sees them (DESIGN.md,
 * invariant 2). Each item is encrypted under its own fresh random key:
 *
 *   sealed item  = nonce (24, random) || XChaCha20-Poly1305(plain, ad)
 *   wrapped key  = crypto_box_seal(item key, moderator public key)   (80)
 *
 * One key per item, rather than sealing each item to each moderator
 * directly, keeps a multi-megabyte photo encrypted once however many
 * moderators there are, and lets an admin share exactly one item with a
 * newcomer (unwrap, wrap) without handing over anything else (invariant 3).
 * The server needs only public keys to seal: nothing it holds can open what
 * it wrote. The ad the caller gives binds the ciphertext to its place
 * (which report, which part), so the store cannot swap one sealed blob for
 * another unnoticed.
 *
 * Item keys and plaintexts come from malloc and are wiped when freed. Not
 * sodium_malloc: an item key lives for one seal or one open, and
 * sodium_malloc's guard pages cost mmap, mprotect and munmap calls whose TLB
 * shootdowns, on the intake path, made every report five times slower
 * (docs/PERFORMANCE.md). Long-lived secrets (moderator keys) stay in
 * sodium_malloc memory (modkey.c).
 */
#include "sightline/seal.h"
#include "sightline/receipt.h" /* sl_crypto_init */

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define ITEM_KEY_BYTES crypto_aead_xchacha20poly1305_ietf_KEYBYTES

_Static_assert(SL_SEAL_NONCE_BYTES == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
	       "nonce size");
_Static_assert(SL_SEAL_TAG_BYTES == crypto_aead_xchacha20poly1305_ietf_ABYTES,
	       "tag size");
_Static_assert(SL_WRAPPED_ITEM_KEY_BYTES == ITEM_KEY_BYTES + crypto_box_SEALBYTES,
	       "wrapped item key size");
_Static_assert(SL_MODKEY_PUBLIC_BYTES == crypto_box_PUBLICKEYBYTES, "public key size");
_Static_assert(SL_SEAL_PLAIN_MAX <= crypto_aead_xchacha20poly1305_ietf_MESSAGEBYTES_MAX,
	       "the cap is within what the AEAD takes");

struct sl_item_key {
	uint8_t key[ITEM_KEY_BYTES];
};

/* A writable item key; the caller fills it and calls seal_key. */
static sl_item_key *new_key(void)
{
	return malloc(sizeof(sl_item_key));
}

static void free_key(sl_item_key *k)
{
	if (k) {
		sodium_memzero(k, sizeof(*k));
		free(k);
	}
}

/* Hands the filled key k over to the caller. */
static sl_err seal_key(sl_item_key *k, sl_item_key **out)
{
	*out = k;
	return SL_OK;
}

sl_err sl_seal_item(const void *plain, size_t len, const void *ad, size_t ad_len,
		    uint8_t **cipher, size_t *cipher_len, sl_item_key **key)
{
	if (!cipher || !cipher_len || !key)
		return SL_EINVAL;
	*cipher = NULL;
	*cipher_len = 0;
	*key = NULL;
	if ((!plain && len > 0) || (!ad && ad_len > 0))
		return SL_EINVAL;
	if (len > SL_SEAL_PLAIN_MAX)
		return SL_ETOOBIG;
	if (sl_crypto_init() != SL_OK)
		return SL_ECRYPTO;

	sl_item_key *k = new_key();
	if (!k)
		return SL_ENOMEM;
	size_t n = len + SL_SEAL_OVERHEAD;
	uint8_t *c = malloc(n);
	if (!c) {
		free_key(k);
		return SL_ENOMEM;
	}
	crypto_aead_xchacha20poly1305_ietf_keygen(k->key);
	randombytes_buf(c, SL_SEAL_NONCE_BYTES);

	unsigned long long clen = 0;
	if (crypto_aead_xchacha20poly1305_ietf_encrypt(c + SL_SEAL_NONCE_BYTES, &clen,
						       plain, len, ad, ad_len, NULL, c,
						       k->key) != 0 ||
	    clen != len + SL_SEAL_TAG_BYTES) {
		free(c);
		free_key(k);
		return SL_ECRYPTO;
	}
	sl_err err = seal_key(k, key);
	if (err != SL_OK) {
		free(c);
		return err;
	}
	*cipher = c;
	*cipher_len = n;
	return SL_OK;
}

sl_err sl_seal_wrap(const sl_item_key *key,
		    const uint8_t public_key[SL_MODKEY_PUBLIC_BYTES],
		    uint8_t out[SL_WRAPPED_ITEM_KEY_BYTES])
{
	if (!key || !public_key || !out)
		return SL_EINVAL;
	if (sl_crypto_init() != SL_OK)
		return SL_ECRYPTO;
	/* crypto_box_seal refuses a public key whose shared secret would be
	 * all zero (the low-order points), which no real moderator has. */
	if (crypto_box_seal(out, key->key, ITEM_KEY_BYTES, public_key) != 0) {
		sodium_memzero(out, SL_WRAPPED_ITEM_KEY_BYTES);
		return SL_ECRYPTO;
	}
	return SL_OK;
}

sl_err sl_seal_unwrap(const uint8_t wrapped[SL_WRAPPED_ITEM_KEY_BYTES],
		      const sl_secret_key *sk, sl_item_key **key)
{
	if (!key)
		return SL_EINVAL;
	*key = NULL;
	if (!wrapped || !sk)
		return SL_EINVAL;
	if (sl_crypto_init() != SL_OK)
		return SL_ECRYPTO;

	sl_item_key *k = new_key();
	if (!k)
		return SL_ENOMEM;
	sl_err err = sl_secret_key_unseal(sk, wrapped, SL_WRAPPED_ITEM_KEY_BYTES, k->key);
	if (err != SL_OK) {
		free_key(k);
		return err;
	}
	return seal_key(k, key);
}

sl_err sl_seal_open(const sl_item_key *key, const uint8_t *cipher, size_t cipher_len,
		    const void *ad, size_t ad_len, uint8_t **plain, size_t *plain_len)
{
	if (!plain || !plain_len)
		return SL_EINVAL;
	*plain = NULL;
	*plain_len = 0;
	if (!key || !cipher || (!ad && ad_len > 0))
		return SL_EINVAL;
	if (cipher_len < SL_SEAL_OVERHEAD)
		return SL_EPARSE;
	if (cipher_len - SL_SEAL_OVERHEAD > SL_SEAL_PLAIN_MAX)
		return SL_ETOOBIG;
	if (sl_crypto_init() != SL_OK)
		return SL_ECRYPTO;

	size_t n = cipher_len - SL_SEAL_OVERHEAD;
	/* One byte at least, so that an empty item opens to a real pointer. */
	uint8_t *p = malloc(n ? n : 1);
	if (!p)
		return SL_ENOMEM;
	unsigned long long mlen = 0;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(
		p, &mlen, NULL, cipher + SL_SEAL_NONCE_BYTES,
		cipher_len - SL_SEAL_NONCE_BYTES, ad, ad_len, cipher, key->key) != 0 ||
	    mlen != n) {
		/* libsodium writes nothing it has not verified, but wipe anyway. */
		sl_seal_plain_free(p, n);
		return SL_ECRYPTO;
	}
	*plain = p;
	*plain_len = n;
	return SL_OK;
}

void sl_seal_plain_free(uint8_t *p, size_t len)
{
	if (!p)
		return;
	sodium_memzero(p, len);
	free(p);
}

void sl_item_key_free(sl_item_key *k)
{
	free_key(k);
}

sl_err sl_seal_for(const void *plain, size_t len, const void *ad, size_t ad_len,
		   const uint8_t (*recipients)[SL_MODKEY_PUBLIC_BYTES],
		   size_t n_recipients, uint8_t **cipher, size_t *cipher_len,
		   uint8_t *wrapped)
{
	if (!cipher || !cipher_len)
		return SL_EINVAL;
	*cipher = NULL;
	*cipher_len = 0;
	if (n_recipients == 0 || !recipients || !wrapped)
		return SL_EINVAL;
	if (n_recipients > SIZE_MAX / SL_WRAPPED_ITEM_KEY_BYTES)
		return SL_EINVAL;

	sl_item_key *k = NULL;
	uint8_t *c = NULL;
	size_t clen = 0;
	sl_err err = sl_seal_item(plain, len, ad, ad_len, &c, &clen, &k);
	for (size_t i = 0; err == SL_OK && i < n_recipients; i++)
		err = sl_seal_wrap(k, recipients[i],
				   wrapped + i * SL_WRAPPED_ITEM_KEY_BYTES);
	sl_item_key_free(k);
	if (err != SL_OK) {
		free(c);
		sodium_memzero(wrapped, n_recipients * SL_WRAPPED_ITEM_KEY_BYTES);
		return err;
	}
	*cipher = c;
	*cipher_len = clen;
	return SL_OK;
}
