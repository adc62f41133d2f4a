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

/* ---- the key file ------------------------------------------------------ */

static void complain(const char *path, const char *what)
{
	fprintf(stderr, "sightline: %s: %s\n", path, what);
}

/* Makes dir (mode 0700) unless it exists as a directory. */
static sl_err ensure_dir(const char *dir)
{
	if (mkdir(dir, 0700) == 0)
		return SL_OK;
	if (errno != EEXIST) {
		complain(dir, strerror(errno));
		return SL_EIO;
	}
	struct stat st;
	if (stat(dir, &st) != 0) {
		complain(dir, strerror(errno));
		return SL_EIO;
	}
	if (!S_ISDIR(st.st_mode)) {
		complain(dir, "exists and is not a directory");
		return SL_EIO;
	}
	return SL_OK;
}

/* Reads exactly KEY_BYTES into k from fd, the key file at path, and closes
 * fd. SL_ECRYPTO when the file is not a key (wrong size, not a file). */
static sl_err read_key(int fd, const char *path, sl_receipt_key *k)
{
	sl_err err = SL_OK;
	struct stat st;
	if (fstat(fd, &st) != 0) {
		complain(path, strerror(errno));
		err = SL_EIO;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		complain(path, "not a regular file");
		err = SL_ECRYPTO;
		goto out;
	}
	if (st.st_size != KEY_BYTES) {
		char msg[96];
		snprintf(msg, sizeof(msg), "is %lld bytes, a receipt key is %d",
			 (long long)st.st_size, KEY_BYTES);
		complain(path, msg);
		err = SL_ECRYPTO;
		goto out;
	}
	if (st.st_mode & 077)
		complain(path, "warning: open to group or others; should be mode 0600");

	size_t got = 0;
	while (got < KEY_BYTES) {
		ssize_t r = read(fd, k->key + got, KEY_BYTES - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			complain(path, strerror(errno));
			err = SL_EIO;
			goto out;
		}
		if (r == 0) {
			complain(path, "shorter than a receipt key");
			err = SL_ECRYPTO;
			goto out;
		}
		got += (size_t)r;
	}
out:
	close(fd);
	return err;
}

static bool write_all(int fd, const unsigned char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

static void fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

/* Fills k with a fresh key and publishes it at path; when another process
 * published one first, k holds that one instead. */
static sl_err create_key(const char *keys_dir, const char *path, sl_receipt_key *k)
{
	char tmp[PATH_MAX];
	int n = snprintf(tmp, sizeof(tmp), "%s/.receipt.key.%ld.%08x", keys_dir,
			 (long)getpid(), (unsigned)randombytes_random());
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		complain(keys_dir, "path too long");
		return SL_EINVAL;
	}

	randombytes_buf(k->key, KEY_BYTES);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		complain(tmp, strerror(errno));
		return SL_EIO;
	}
	/* The umask can only narrow 0600; make it exact anyway. */
	bool ok =
	    fchmod(fd, 0600) == 0 && write_all(fd, k->key, KEY_BYTES) && fsync(fd) == 0;
	int saved = errno;
	if (close(fd) != 0 && ok) {
		ok = false;
		saved = errno;
	}
	if (!ok) {
		complain(tmp, strerror(saved));
		unlink(tmp);
		return SL_EIO;
	}

	sl_err err = SL_OK;
	if (link(tmp, path) == 0) {
		fsync_dir(keys_dir);
	} else if (errno == EEXIST) {
		/* Lost the race: the key that counts is the one in place. */
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd >= 0) {
			err = read_key(fd, path, k);
		} else {
			complain(path, strerror(errno));
			err = SL_EIO;
		}
	} else {
		complain(path, strerror(errno));
		err = SL_EIO;
	}
	unlink(tmp);
	return err;
}

sl_err sl_receipt_key_load(const char *data_dir, sl_receipt_key **out)
{
	if (!data_dir || !*data_dir || !out)
		return SL_EINVAL;
	*out = NULL;
	if (sl_crypto_init() != SL_OK)
		return SL_ECRYPTO;

	char keys_dir[PATH_MAX], path[PATH_MAX];
	int n1 = snprintf(keys_dir, sizeof(keys_dir), "%s/keys", data_dir);
	int n2 = snprintf(path, sizeof(path), "%s/keys/receipt.key", data_dir);
	if (n1 < 0 || n2 < 0 || (size_t)n2 >= sizeof(path)) { /* n2 > n1 */
		complain(data_dir, "path too long");
		return SL_EINVAL;
	}
	sl_err err = ensure_dir(data_dir);
	if (err == SL_OK)
		err = ensure_dir(keys_dir);
	if (err != SL_OK)
		return err;

	sl_receipt_key *k = sodium_malloc(sizeof(*k));
	if (!k)
		return SL_ENOMEM;

	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd >= 0) {
		err = read_key(fd, path, k);
	} else if (errno == ENOENT) {
		err = create_key(keys_dir, path, k);
	} else {
		complain(path, strerror(errno));
		err = SL_EIO;
	}

	if (err == SL_OK && sodium_mprotect_readonly(k) != 0) {
		complain(path, "cannot protect the key in memory");
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
