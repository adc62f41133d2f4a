/*
 * modkey.c — moderator key pairs, their wrapped records, and the CLI's
 * passphrase prompt.
 *
 * The informant's sensitive parts are sealed to moderators' X25519 public
 * keys (seal.c). Whoever seizes the server gets the store and the config,
 * so the secret halves cannot simply sit there: each is kept only inside
 * an sl_modkey_record, encrypted with XChaCha20-Poly1305 under
 *
 *   - a key derived from the moderator's passphrase by Argon2id with
 *     3 passes over 64 MiB (RFC 9106's choice for when 2 GiB is too much;
 *     about 0.1-0.5 s), so that every guess costs an attacker that, and
 *   - a random 32-byte recovery key shown to the moderator once, as base32
 *     text, so that a forgotten passphrase does not lose every report sealed
 *     to them. It is random, so it needs no slow derivation.
 *
 * Both wraps bind the public key (and a label naming which wrap it is) as
 * associated data: a record whose public key was swapped, or a wrap moved
 * from one record or slot to another, does not open. After opening, the
 * secret's public key is recomputed and compared anyway, so a record that
 * was written wrongly cannot hand out a key that seals cannot reach.
 *
 * The secret half, once unlocked, lives in sodium_malloc memory (guard
 * pages, mlock'd, read-only once filled) and never leaves this file as
 * bytes: seal.c opens wrapped item keys through sl_secret_key_unseal.
 * docs/CRYPTO.md has the byte layouts and the reasons.
 */
#define _GNU_SOURCE
#include "sightline/modkey.h"
#include "sightline/receipt.h" /* sl_crypto_init */

#include "crypto/crypto_int.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

#define NONCE_BYTES crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG_BYTES crypto_aead_xchacha20poly1305_ietf_ABYTES
#define WRAP_KEY_BYTES crypto_aead_xchacha20poly1305_ietf_KEYBYTES

/* The labels in each wrap's associated data, without their NUL. */
#define PASS_LABEL "sightline modkey v1"
#define RECOVERY_LABEL "sightline recovery v1"
#define AD_MAX (SL_MODKEY_PUBLIC_BYTES + 32)

#define RECOVERY_BYTES 32
#define RECOVERY_SYMBOLS 52    /* unpadded base32 of 32 bytes */
#define RECOVERY_TEXT_LEN 64   /* 52 symbols and 12 dashes */
#define RECOVERY_INPUT_MAX 256 /* longer input is refused before any work */

/* A line of a passphrase file or the terminal as read: the passphrase, a
 * '\r' that may precede the newline, and the newline, whose place the NUL
 * takes once the line end is cut off. */
#define LINE_BUF (SL_PASSPHRASE_MAX + 2)

_Static_assert(SL_MODKEY_PUBLIC_BYTES == crypto_box_PUBLICKEYBYTES, "public key size");
_Static_assert(SL_MODKEY_SECRET_BYTES == crypto_box_SECRETKEYBYTES, "secret key size");
_Static_assert(SL_MODKEY_SECRET_BYTES == crypto_scalarmult_BYTES, "X25519 size");
_Static_assert(SL_MODKEY_SALT_BYTES == crypto_pwhash_SALTBYTES, "salt size");
_Static_assert(SL_MODKEY_WRAPPED_BYTES ==
		   NONCE_BYTES + SL_MODKEY_SECRET_BYTES + TAG_BYTES,
	       "wrapped layout");
_Static_assert(WRAP_KEY_BYTES == RECOVERY_BYTES, "the recovery key is a wrap key");
_Static_assert(sizeof(PASS_LABEL) - 1 <= AD_MAX - SL_MODKEY_PUBLIC_BYTES &&
		   sizeof(RECOVERY_LABEL) - 1 <= AD_MAX - SL_MODKEY_PUBLIC_BYTES,
	       "labels fit the associated data buffer");
_Static_assert(RECOVERY_SYMBOLS * 5 >= RECOVERY_BYTES * 8 &&
		   RECOVERY_SYMBOLS * 5 - RECOVERY_BYTES * 8 < 5,
	       "RECOVERY_SYMBOLS is the unpadded base32 length");
_Static_assert(RECOVERY_TEXT_LEN == RECOVERY_SYMBOLS + (RECOVERY_SYMBOLS - 1) / 4,
	       "text length: symbols and a dash between groups of four");
_Static_assert(RECOVERY_TEXT_LEN < SL_RECOVERY_TEXT_MAX, "text form fits its buffer");
_Static_assert(SL_MODKEY_OPSLIMIT > crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE &&
		   SL_MODKEY_MEMLIMIT >= crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE,
	       "default cost is above libsodium's interactive level (docs/CRYPTO.md)");
_Static_assert(SL_MODKEY_MEMLIMIT_MAX <= SIZE_MAX, "memlimit fits size_t");
_Static_assert(SL_PASSPHRASE_MAX <= crypto_pwhash_PASSWD_MAX, "passphrase cap");

struct sl_secret_key {
	uint8_t secret[SL_MODKEY_SECRET_BYTES];
	uint8_t public_key[SL_MODKEY_PUBLIC_BYTES];
};

/* Every secret an operation handles on its way, in one sodium_malloc
 * region, so that one sodium_free wipes them all. */
typedef struct scratch {
	uint8_t wrap_key[WRAP_KEY_BYTES]; /* from Argon2id */
	uint8_t recovery[RECOVERY_BYTES];
	uint8_t secret[SL_MODKEY_SECRET_BYTES];
} scratch;


static void complain(const char *what, const char *why)
{
	fprintf(stderr, "sightline: %s: %s\n", what, why);
}

/* ---- wraps ------------------------------------------------------------- */

/* ad = public_key || label; returns its length. */
static size_t make_ad(uint8_t ad[AD_MAX], const uint8_t pk[SL_MODKEY_PUBLIC_BYTES],
		      const char *label)
{
	size_t n = strlen(label);
	memcpy(ad, pk, SL_MODKEY_PUBLIC_BYTES);
	memcpy(ad + SL_MODKEY_PUBLIC_BYTES, label, n);
	return SL_MODKEY_PUBLIC_BYTES + n;
}

/* out = random nonce || XChaCha20-Poly1305(secret, ad = pk || label) under
 * key. */
static sl_err wrap(const uint8_t key[WRAP_KEY_BYTES],
		   const uint8_t secret[SL_MODKEY_SECRET_BYTES],
		   const uint8_t pk[SL_MODKEY_PUBLIC_BYTES], const char *label,
		   uint8_t out[SL_MODKEY_WRAPPED_BYTES])
{
	uint8_t ad[AD_MAX];
	size_t ad_len = make_ad(ad, pk, label);
	unsigned long long clen = 0;

	randombytes_buf(out, NONCE_BYTES);
	if (crypto_aead_xchacha20poly1305_ietf_encrypt(out + NONCE_BYTES, &clen, secret,
						       SL_MODKEY_SECRET_BYTES, ad, ad_len,
						       NULL, out, key) != 0 ||
	    clen != SL_MODKEY_WRAPPED_BYTES - NONCE_BYTES)
		return SL_ECRYPTO;
	return SL_OK;
}

/* Opens one of rec's wraps (wrapped, under key, with label) into a new
 * read-only sl_secret_key, which must match rec->public_key. */
/* Unlocked keys not yet freed (sl_secret_keys_live). */
static atomic_size_t keys_live;

static sl_err unwrap(const uint8_t key[WRAP_KEY_BYTES], const sl_modkey_record *rec,
		     const uint8_t wrapped[SL_MODKEY_WRAPPED_BYTES], const char *label,
		     sl_secret_key **out)
{
	uint8_t ad[AD_MAX];
	size_t ad_len = make_ad(ad, rec->public_key, label);
	unsigned long long mlen = 0;
	sl_err err = SL_OK;

	sl_secret_key *sk = sodium_malloc(sizeof(*sk));
	if (!sk)
		return SL_ENOMEM;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(
		sk->secret, &mlen, NULL, wrapped + NONCE_BYTES,
		SL_MODKEY_WRAPPED_BYTES - NONCE_BYTES, ad, ad_len, wrapped, key) != 0 ||
	    mlen != SL_MODKEY_SECRET_BYTES)
		err = SL_ECRYPTO;
	else if (crypto_scalarmult_base(sk->public_key, sk->secret) != 0 ||
		 sodium_memcmp(sk->public_key, rec->public_key, SL_MODKEY_PUBLIC_BYTES) !=
		     0)
		err = SL_ECRYPTO;
	else if (sodium_mprotect_readonly(sk) != 0)
		err = SL_ECRYPTO;

	if (err != SL_OK) {
		sodium_free(sk);
		return err;
	}
	atomic_fetch_add(&keys_live, 1);
	*out = sk;
	return SL_OK;
}

/* key = Argon2id(pass, salt, ops, mem). */
static sl_err derive(const char *pass, size_t pass_len,
		     const uint8_t salt[SL_MODKEY_SALT_BYTES], uint64_t ops, uint64_t mem,
		     uint8_t key[WRAP_KEY_BYTES])
{
	errno = 0;
	if (crypto_pwhash(key, WRAP_KEY_BYTES, pass, pass_len, salt, ops, (size_t)mem,
			  crypto_pwhash_ALG_ARGON2ID13) != 0)
		return errno == ENOMEM ? SL_ENOMEM : SL_ECRYPTO;
	return SL_OK;
}

static bool cost_ok(const sl_modkey_record *rec)
{
	return rec->opslimit >= SL_MODKEY_OPSLIMIT &&
	       rec->opslimit <= SL_MODKEY_OPSLIMIT_MAX &&
	       rec->memlimit >= SL_MODKEY_MEMLIMIT &&
	       rec->memlimit <= SL_MODKEY_MEMLIMIT_MAX;
}

static bool new_pass_ok(size_t len)
{
	return len >= SL_PASSPHRASE_MIN && len <= SL_PASSPHRASE_MAX;
}

/* ---- records ----------------------------------------------------------- */

sl_err sl_modkey_create(const char *pass, size_t pass_len, sl_modkey_record *out,
			char recovery_text[SL_RECOVERY_TEXT_MAX])
{
	if (!pass || !out || !recovery_text)
		return SL_EINVAL;
	memset(out, 0, sizeof(*out));
	sodium_memzero(recovery_text, SL_RECOVERY_TEXT_MAX);
	if (!new_pass_ok(pass_len))
		return SL_EVALID;
	if (sl_crypto_init() != SL_OK)
		return SL_ECRYPTO;

	scratch *s = sodium_malloc(sizeof(*s));
	if (!s)
		return SL_ENOMEM;

	sl_modkey_record rec;
	memset(&rec, 0, sizeof(rec));
	sl_err err = SL_OK;
	if (crypto_box_keypair(rec.public_key, s->secret) != 0)
		err = SL_ECRYPTO;

	randombytes_buf(rec.salt, sizeof(rec.salt));
	rec.opslimit = SL_MODKEY_OPSLIMIT;
	rec.memlimit = SL_MODKEY_MEMLIMIT;
	if (err == SL_OK)
		err = derive(pass, pass_len, rec.salt, rec.opslimit, rec.memlimit,
			     s->wrap_key);
	if (err == SL_OK)
		err =
		    wrap(s->wrap_key, s->secret, rec.public_key, PASS_LABEL, rec.wrapped);

	crypto_aead_xchacha20poly1305_ietf_keygen(s->recovery);
	if (err == SL_OK)
		err = wrap(s->recovery, s->secret, rec.public_key, RECOVERY_LABEL,
			   rec.recovery_wrapped);
	if (err == SL_OK) {
		sl_base32_encode(s->recovery, RECOVERY_BYTES, recovery_text);
		*out = rec;
	}
	sodium_free(s);
	return err;
}

sl_err sl_modkey_unlock(const sl_modkey_record *rec, const char *pass, size_t pass_len,
			sl_secret_key **out)
{
	if (!out)
		return SL_EINVAL;
	*out = NULL;
	if (!rec || !pass)
		return SL_EINVAL;
	/* No lower bound here: the rule is for new passphrases, and a shorter
	 * one under an older rule must still open its record. */
	if (pass_len > SL_PASSPHRASE_MAX)
		return SL_EVALID;
	if (!cost_ok(rec)) {
		complain("moderator key", "record's Argon2id cost is out of range");
		return SL_EVALID;
	}
	if (sl_crypto_init() != SL_OK)
		return SL_ECRYPTO;

	scratch *s = sodium_malloc(sizeof(*s));
	if (!s)
		return SL_ENOMEM;
	sl_err err =
	    derive(pass, pass_len, rec->salt, rec->opslimit, rec->memlimit, s->wrap_key);
	if (err == SL_OK)
		err = unwrap(s->wrap_key, rec, rec->wrapped, PASS_LABEL, out);
	sodium_free(s);
	return err;
}

sl_err sl_modkey_unlock_recovery(const sl_modkey_record *rec, const char *recovery_text,
				 sl_secret_key **out)
{
	if (!out)
		return SL_EINVAL;
	*out = NULL;
	if (!rec || !recovery_text)
		return SL_EINVAL;
	if (strnlen(recovery_text, RECOVERY_INPUT_MAX + 1) > RECOVERY_INPUT_MAX)
		return SL_EPARSE;
	if (sl_crypto_init() != SL_OK)
		return SL_ECRYPTO;

	scratch *s = sodium_malloc(sizeof(*s));
	if (!s)
		return SL_ENOMEM;
	sl_err err = sl_base32_decode(recovery_text, s->recovery, RECOVERY_BYTES);
	if (err == SL_OK)
		err =
		    unwrap(s->recovery, rec, rec->recovery_wrapped, RECOVERY_LABEL, out);
	sodium_free(s);
	return err;
}

sl_err sl_modkey_rewrap(const sl_secret_key *sk, const char *new_pass, size_t len,
			sl_modkey_record *rec)
{
	if (!sk || !new_pass || !rec)
		return SL_EINVAL;
	if (sodium_memcmp(sk->public_key, rec->public_key, SL_MODKEY_PUBLIC_BYTES) != 0)
		return SL_EINVAL;
	if (!new_pass_ok(len))
		return SL_EVALID;
	if (sl_crypto_init() != SL_OK)
		return SL_ECRYPTO;

	scratch *s = sodium_malloc(sizeof(*s));
	if (!s)
		return SL_ENOMEM;
	sl_modkey_record next = *rec;
	randombytes_buf(next.salt, sizeof(next.salt));
	next.opslimit = SL_MODKEY_OPSLIMIT;
	next.memlimit = SL_MODKEY_MEMLIMIT;
	sl_err err =
	    derive(new_pass, len, next.salt, next.opslimit, next.memlimit, s->wrap_key);
	if (err == SL_OK)
		err = wrap(s->wrap_key, sk->secret, sk->public_key, PASS_LABEL,
			   next.wrapped);
	if (err == SL_OK)
		*rec = next;
	sodium_free(s);
	return err;
}

/* ---- unlocked keys ----------------------------------------------------- */

const uint8_t *sl_secret_key_public(const sl_secret_key *sk)
{
	return sk ? sk->public_key : NULL;
}

sl_err sl_secret_key_unseal(const sl_secret_key *sk, const uint8_t *sealed,
			    size_t sealed_len, uint8_t *out)
{
	if (!sk || !sealed || !out)
		return SL_EINVAL;
	if (sealed_len < crypto_box_SEALBYTES)
		return SL_EPARSE;
	if (crypto_box_seal_open(out, sealed, sealed_len, sk->public_key, sk->secret) !=
	    0) {
		sodium_memzero(out, sealed_len - crypto_box_SEALBYTES);
		return SL_ECRYPTO;
	}
	return SL_OK;
}

void sl_secret_key_free(sl_secret_key *sk)
{
	/* sodium_free makes the pages writable again and wipes them. */
	if (sk) {
		sodium_free(sk);
		atomic_fetch_sub(&keys_live, 1);
	}
}

size_t sl_secret_keys_live(void)
{
	return atomic_load(&keys_live);
}

/* ---- passphrase prompt ------------------------------------------------- */

/* Signals that would otherwise leave the terminal with echo off. */
static const int trapped[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP};
#define N_TRAPPED (sizeof(trapped) / sizeof(trapped[0]))

static volatile sig_atomic_t caught;

static void on_signal(int sig)
{
	caught = sig;
}

/* Reads one line from fd into buf (LINE_BUF bytes) and NUL-terminates it
 * without its "\n" or "\r\n". SL_EVALID when it is over SL_PASSPHRASE_MAX
 * bytes (the rest is left unread), SL_EIO on a read error or a trapped
 * signal. End of input ends the line. */
static sl_err read_line(int fd, char *buf, size_t *len)
{
	size_t n = 0;
	for (;;) {
		if (caught)
			return SL_EIO;
		if (n == LINE_BUF)
			return SL_EVALID;
		ssize_t r = read(fd, buf + n, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return SL_EIO;
		if (r == 0)
			break;
		if (buf[n] == '\n') {
			if (n > 0 && buf[n - 1] == '\r')
				n--;
			break;
		}
		n++;
	}
	if (n > SL_PASSPHRASE_MAX)
		return SL_EVALID;
	buf[n] = '\0';
	*len = n;
	return SL_OK;
}

static sl_err read_file(const char *path, char *buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		complain(path, strerror(errno));
		return SL_EIO;
	}
	struct stat st;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077))
		complain(path, "warning: open to group or others; should be mode 0600");
	sl_err err = read_line(fd, buf, len);
	if (err == SL_EIO)
		complain(path, strerror(errno));
	close(fd);
	return err;
}

static void say(int fd, const char *s)
{
	size_t n = strlen(s);
	while (n > 0) {
		ssize_t w = write(fd, s, n);
		if (w < 0 && errno == EINTR && !caught)
			continue;
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

/* Asks on /dev/tty with echo off, once or (confirm) twice; the second
 * answer goes to again, which the caller compares. */
static sl_err read_tty(const char *prompt, bool confirm, char *buf, size_t *len,
		       char *again, size_t *again_len)
{
	int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		complain("/dev/tty",
			 "no terminal to ask for the passphrase on; give a file");
		return SL_EIO;
	}
	struct termios old, quiet;
	if (tcgetattr(fd, &old) != 0) {
		complain("/dev/tty", strerror(errno));
		close(fd);
		return SL_EIO;
	}

	/* Catch what would kill or stop us with echo off; no SA_RESTART, so
	 * that the read returns and the terminal is put back first. */
	struct sigaction sa, saved[N_TRAPPED];
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	caught = 0;
	for (size_t i = 0; i < N_TRAPPED; i++) {
		sigaction(trapped[i], NULL, &saved[i]);
		if (saved[i].sa_handler != SIG_IGN)
			sigaction(trapped[i], &sa, NULL);
	}

	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK);
	quiet.c_lflag |= ECHONL;
	/* Echo goes off before the prompt appears, and typed-ahead input is
	 * dropped (TCSAFLUSH), so nothing typed is ever shown. */
	sl_err err = SL_OK;
	if (tcsetattr(fd, TCSAFLUSH, &quiet) != 0) {
		complain("/dev/tty", strerror(errno));
		err = SL_EIO;
	}
	if (err == SL_OK) {
		say(fd, prompt);
		err = read_line(fd, buf, len);
	}
	if (err == SL_OK && confirm) {
		say(fd, "Again: ");
		err = read_line(fd, again, again_len);
	}
	/* TCSAFLUSH again: the rest of an over-long line is not left for the
	 * shell to run. */
	while (tcsetattr(fd, TCSAFLUSH, &old) != 0 && errno == EINTR)
		;
	close(fd);
	for (size_t i = 0; i < N_TRAPPED; i++)
		if (saved[i].sa_handler != SIG_IGN)
			sigaction(trapped[i], &saved[i], NULL);
	int sig = caught;
	caught = 0;
	if (sig) {
		/* Deliver it now, as the caller would have had it. */
		raise(sig);
		err = SL_EIO;
	}
	return err;
}

sl_err sl_passphrase_read(const char *prompt, const char *file, bool confirm, char **out,
			  size_t *len)
{
	if (!out || !len)
		return SL_EINVAL;
	*out = NULL;
	*len = 0;
	if (sl_crypto_init() != SL_OK)
		return SL_ECRYPTO;

	char *buf = sodium_malloc(LINE_BUF);
	char *again = NULL;
	if (!buf)
		return SL_ENOMEM;
	size_t n = 0, n2 = 0;
	sl_err err;
	if (file) {
		err = read_file(file, buf, &n);
	} else {
		again = confirm ? sodium_malloc(LINE_BUF) : NULL;
		if (confirm && !again)
			err = SL_ENOMEM;
		else
			err = read_tty(prompt ? prompt : "Passphrase: ", confirm, buf, &n,
				       again, &n2);
	}

	if (err == SL_EVALID) {
		complain("passphrase", "longer than 1024 bytes");
	} else if (err == SL_OK && n == 0) {
		complain("passphrase", "empty");
		err = SL_EVALID;
	} else if (err == SL_OK && confirm && n < SL_PASSPHRASE_MIN) {
		complain("passphrase", "shorter than 8 bytes");
		err = SL_EVALID;
	} else if (err == SL_OK && again &&
		   (n != n2 || sodium_memcmp(buf, again, n) != 0)) {
		complain("passphrase", "the two entries differ");
		err = SL_EVALID;
	}
	if (again)
		sodium_free(again);
	if (err != SL_OK) {
		sodium_free(buf);
		return err;
	}
	*out = buf;
	*len = n;
	return SL_OK;
}

void sl_passphrase_free(char *p, size_t len)
{
	/* sodium_free wipes the whole allocation, whatever len says. */
	(void)len;
	if (p)
		sodium_free(p);
}
