/*
 * modkey.h — moderator key pairs.
 *
 * Every moderator has an X25519 key pair. The public half is what sealed
 * items are wrapped for (seal.h); the secret half exists on disk only inside
 * an sl_modkey_record, wrapped twice: once under a key derived from the
 * moderator's passphrase with Argon2id, once under a random recovery key
 * that is shown to the moderator once, as text, at creation. A record is
 * safe to store next to the data it protects: nothing in it opens anything
 * without the passphrase or the recovery text. docs/CRYPTO.md has the byte
 * layouts and the reasons for each parameter.
 *
 * An unlocked secret lives in an opaque sl_secret_key, in sodium_malloc
 * memory that is read-only once made and wiped when freed. It never leaves
 * modkey.c as bytes: callers use it through sl_secret_key_unseal.
 */
#ifndef SIGHTLINE_MODKEY_H
#define SIGHTLINE_MODKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sightline/err.h"

/* Sizes; modkey.c checks each against libsodium's own constants. */
#define SL_MODKEY_PUBLIC_BYTES 32 /* crypto_box_PUBLICKEYBYTES */
#define SL_MODKEY_SECRET_BYTES 32 /* crypto_box_SECRETKEYBYTES */
#define SL_MODKEY_SALT_BYTES 16	  /* crypto_pwhash_SALTBYTES */
/* nonce (24) || XChaCha20-Poly1305 ciphertext of the secret (32) || tag (16) */
#define SL_MODKEY_WRAPPED_BYTES 72

/* The Argon2id cost every new or rewrapped record gets, and the least an
 * existing record may have to be unlocked at all. */
#define SL_MODKEY_OPSLIMIT 3ull
#define SL_MODKEY_MEMLIMIT (64ull << 20) /* bytes */
/* The most a record may ask for; a tampered record cannot make an unlock
 * run for minutes or take gigabytes. */
#define SL_MODKEY_OPSLIMIT_MAX 16ull
#define SL_MODKEY_MEMLIMIT_MAX (1ull << 30)

/* Passphrase length in bytes (not characters), for a new passphrase. */
#define SL_PASSPHRASE_MIN 8
#define SL_PASSPHRASE_MAX 1024

/* Buffer size for the recovery text, NUL included: 52 base32 symbols in 13
 * dash-separated groups of four is 64 characters. */
#define SL_RECOVERY_TEXT_MAX 80

/* What the store keeps per moderator: a plain value, all of it public-safe.
 * The layout of the two wrapped fields is in docs/CRYPTO.md. */
typedef struct sl_modkey_record {
	uint8_t public_key[SL_MODKEY_PUBLIC_BYTES];
	uint8_t salt[SL_MODKEY_SALT_BYTES];
	uint64_t opslimit;				   /* Argon2id passes */
	uint64_t memlimit;				   /* Argon2id memory, bytes */
	uint8_t wrapped[SL_MODKEY_WRAPPED_BYTES];	   /* under the passphrase */
	uint8_t recovery_wrapped[SL_MODKEY_WRAPPED_BYTES]; /* under the recovery key */
} sl_modkey_record;

/* An unlocked moderator secret key and its public key. */
typedef struct sl_secret_key sl_secret_key;

/* Makes a new moderator key pair. Fills *out with its record (passphrase
 * wrap with a fresh salt and the default cost) and recovery_text with the
 * recovery key, "abcd-efgh-...", 64 characters and a NUL: show it to the
 * moderator once and never store it. pass is pass_len bytes, not necessarily
 * NUL-terminated, and is not kept. SL_EVALID when pass_len is outside
 * [SL_PASSPHRASE_MIN, SL_PASSPHRASE_MAX]. On failure *out and recovery_text
 * are left zeroed. Takes one Argon2id derivation (about 0.1-0.5 s). */
sl_err sl_modkey_create(const char *pass, size_t pass_len,
			sl_modkey_record *out /* OUT */,
			char recovery_text[SL_RECOVERY_TEXT_MAX] /* OUT */);

/* Unlocks rec with its passphrase. On success *out is a new key the caller
 * frees with sl_secret_key_free; on failure *out is NULL. SL_ECRYPTO when
 * the passphrase is wrong or the record was altered; SL_EVALID when the
 * record's cost is outside [SL_MODKEY_OPSLIMIT, SL_MODKEY_OPSLIMIT_MAX] x
 * [SL_MODKEY_MEMLIMIT, SL_MODKEY_MEMLIMIT_MAX] or pass_len is over
 * SL_PASSPHRASE_MAX (no derivation is run then). */
sl_err sl_modkey_unlock(const sl_modkey_record *rec, const char *pass, size_t pass_len,
			sl_secret_key **out /* OUT */);

/* Unlocks rec with its recovery text: any case, '-' and ' ' ignored.
 * SL_EPARSE when the text is not 52 base32 symbols with zero pad bits (or is
 * over 256 characters); SL_ECRYPTO when it is the wrong key or the record was
 * altered. *out as for sl_modkey_unlock. */
sl_err sl_modkey_unlock_recovery(const sl_modkey_record *rec, const char *recovery_text,
				 sl_secret_key **out /* OUT */);

/* Wraps sk again under a new passphrase: a new salt, the default cost, a new
 * wrapped. The recovery wrap is kept as it is. rec must be sk's own record
 * (same public key; SL_EINVAL otherwise); it is changed only on success.
 * SL_EVALID for a passphrase length outside the limits. */
sl_err sl_modkey_rewrap(const sl_secret_key *sk, const char *new_pass, size_t len,
			sl_modkey_record *rec /* IN/OUT */);

/* The key's public half, SL_MODKEY_PUBLIC_BYTES long; valid until sk is
 * freed. */
const uint8_t *sl_secret_key_public(const sl_secret_key *sk);

/* Opens a crypto_box_seal message addressed to sk's public key into out,
 * which must hold sealed_len - 48 (crypto_box_SEALBYTES) bytes; the caller
 * chooses where the plaintext lives (seal.c uses sodium_malloc memory).
 * SL_ECRYPTO when the message is not for this key or was altered, SL_EPARSE
 * when it is shorter than 48 bytes. out is zeroed on failure. */
sl_err sl_secret_key_unseal(const sl_secret_key *sk, const uint8_t *sealed,
			    size_t sealed_len, uint8_t *out /* OUT */);

/* Wipes and frees sk; NULL is fine. */
void sl_secret_key_free(sl_secret_key *sk);

/* How many unlocked keys this process holds (made by an unlock and not yet
 * wiped by sl_secret_key_free): what the tests of sign-out and session
 * expiry watch go back down. */
size_t sl_secret_keys_live(void);

/* Reads a passphrase for the CLI. With file, its first line without the
 * line end ("\n" or "\r\n"); a warning goes to stderr when a regular file is
 * open to group or others. Without file, from /dev/tty with echo off,
 * printing prompt there; with confirm, asks a second time ("Again: ") and
 * refuses a mismatch with SL_EVALID (confirm means a new passphrase, so it
 * also enforces SL_PASSPHRASE_MIN). SL_EVALID for an empty passphrase or one
 * over SL_PASSPHRASE_MAX bytes; SL_EIO when the file cannot be read or
 * there is no terminal. On success *out is NUL-terminated, *len bytes long,
 * in sodium_malloc memory; free it with sl_passphrase_free. Not
 * thread-safe: it briefly takes over SIGINT, SIGTERM, SIGHUP and SIGQUIT to
 * put the terminal back before the signal is delivered. */
sl_err sl_passphrase_read(const char *prompt, const char *file, bool confirm,
			  char **out /* OUT */, size_t *len /* OUT */);

/* Wipes and frees a passphrase from sl_passphrase_read; NULL is fine. */
void sl_passphrase_free(char *p, size_t len);

#endif
