/*
 * seal.h — sealing the sensitive parts of a report.
 *
 * An informant's free text and contact details (one JSON item), each photo,
 * and each follow-up are sealed one by one before they reach the store.
 * Every item gets its own random key; the item is encrypted under it with
 * XChaCha20-Poly1305, and the item key is wrapped (crypto_box_seal) for each
 * moderator public key present at the time. The store keeps the ciphertext
 * and one wrapped key per recipient; without a recipient's unlocked secret
 * key (modkey.h) neither opens. A moderator added later has no wrapped key
 * for older items, so cannot read them, unless someone who can unwraps the
 * item key (sl_seal_unwrap) and wraps it for them (sl_seal_wrap) on purpose.
 * Byte layouts and reasons are in docs/CRYPTO.md.
 */
#ifndef SIGHTLINE_SEAL_H
#define SIGHTLINE_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "sightline/err.h"
#include "sightline/modkey.h"

#define SL_SEAL_NONCE_BYTES 24 /* crypto_aead_xchacha20poly1305_ietf_NPUBBYTES */
#define SL_SEAL_TAG_BYTES 16   /* crypto_aead_xchacha20poly1305_ietf_ABYTES */
/* A sealed item is its plaintext's length plus this: nonce || ct || tag. */
#define SL_SEAL_OVERHEAD (SL_SEAL_NONCE_BYTES + SL_SEAL_TAG_BYTES)
/* The largest plaintext sealed in one piece (a photo after sanitizing). */
#define SL_SEAL_PLAIN_MAX ((size_t)64 << 20)
/* An item key wrapped for one recipient: 32 + crypto_box_SEALBYTES (48). */
#define SL_WRAPPED_ITEM_KEY_BYTES 80

/* One item's key, in sodium_malloc memory, read-only once made. */
typedef struct sl_item_key sl_item_key;

/* Seals plain (len bytes; NULL is fine when len is 0) under a fresh item
 * key, binding ad (ad_len bytes, may be 0) as associated data: the same ad
 * must be given to open it. On success *cipher is malloc'd, *cipher_len =
 * len + SL_SEAL_OVERHEAD bytes, and the caller frees it with free(); *key
 * is the item key, freed with sl_item_key_free (wrap it first). Nothing of
 * plain or ad is kept. SL_ETOOBIG when len > SL_SEAL_PLAIN_MAX. On failure
 * the out-parameters are NULL / 0. */
sl_err sl_seal_item(const void *plain, size_t len, const void *ad, size_t ad_len,
		    uint8_t **cipher /* OUT */, size_t *cipher_len /* OUT */,
		    sl_item_key **key /* OUT */);

/* Wraps key for the holder of public_key into out. SL_ECRYPTO when
 * public_key is not a usable X25519 key (e.g. all zero: sealing to it would
 * lose the item); out is zeroed then. */
sl_err sl_seal_wrap(const sl_item_key *key,
		    const uint8_t public_key[SL_MODKEY_PUBLIC_BYTES],
		    uint8_t out[SL_WRAPPED_ITEM_KEY_BYTES] /* OUT */);

/* Unwraps an item key with a moderator's unlocked key. On success *key is
 * new and the caller frees it with sl_item_key_free. SL_ECRYPTO when wrapped
 * is not for sk or was altered; *key is NULL then. */
sl_err sl_seal_unwrap(const uint8_t wrapped[SL_WRAPPED_ITEM_KEY_BYTES],
		      const sl_secret_key *sk, sl_item_key **key /* OUT */);

/* Opens a sealed item. On success *plain is malloc'd (not NULL, even for an
 * empty item), *plain_len bytes, and the caller frees it with
 * sl_seal_plain_free, which wipes it. SL_EPARSE when cipher_len is less
 * than SL_SEAL_OVERHEAD, SL_ETOOBIG when it is more than
 * SL_SEAL_PLAIN_MAX + SL_SEAL_OVERHEAD, SL_ECRYPTO when key or ad is wrong
 * or cipher was altered; *plain is NULL / 0 then. */
sl_err sl_seal_open(const sl_item_key *key, const uint8_t *cipher, size_t cipher_len,
		    const void *ad, size_t ad_len, uint8_t **plain /* OUT */,
		    size_t *plain_len /* OUT */);

/* Wipes and frees an opened item; NULL is fine. len is the *plain_len
 * sl_seal_open gave. */
void sl_seal_plain_free(uint8_t *p, size_t len);

/* Wipes and frees an item key; NULL is fine. */
void sl_item_key_free(sl_item_key *k);

/* The intake path in one call: seals plain as sl_seal_item does, wraps the
 * item key for each of the n_recipients public keys into wrapped (caller
 * allocated, n_recipients * SL_WRAPPED_ITEM_KEY_BYTES, recipient i at
 * i * SL_WRAPPED_ITEM_KEY_BYTES), and wipes the item key. *cipher as for
 * sl_seal_item. SL_EINVAL when n_recipients is 0: an item sealed to nobody
 * is lost, so the caller must refuse the report before that. SL_ECRYPTO
 * when one recipient's key is unusable; nothing is returned then and
 * wrapped is zeroed. */
sl_err sl_seal_for(const void *plain, size_t len, const void *ad, size_t ad_len,
		   const uint8_t (*recipients)[SL_MODKEY_PUBLIC_BYTES],
		   size_t n_recipients, uint8_t **cipher /* OUT */,
		   size_t *cipher_len /* OUT */, uint8_t *wrapped /* OUT */);

#endif
