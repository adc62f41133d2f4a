/*
 * keyfile.c — the server's own small keys on disk: DATA_DIR/keys/NAME.
 *
 * The receipt key and the audit signing key are random bytes the server
 * makes once and keeps (mode 0600 in a 0700 directory). A new key is written
 * to a temporary file, fsynced and link()ed into place, so nobody ever reads
 * a half-written key and two processes starting at once agree on one.
 */
#include "crypto/crypto_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>


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

/* Reads exactly len bytes into seed from fd, the key file at path, and
 * closes fd. SL_ECRYPTO when the file is not a key (wrong size, not a file). */
static sl_err read_seed(int fd, const char *path, uint8_t *seed, size_t len)
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
	if (st.st_size != (off_t)len) {
		char msg[96];
		snprintf(msg, sizeof(msg), "is %lld bytes, the key is %zu",
			 (long long)st.st_size, len);
		complain(path, msg);
		err = SL_ECRYPTO;
		goto out;
	}
	if (st.st_mode & 077)
		complain(path, "warning: open to group or others; should be mode 0600");
	size_t got = 0;
	while (got < len) {
		ssize_t r = read(fd, seed + got, len - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			complain(path, strerror(errno));
			err = SL_EIO;
			goto out;
		}
		if (r == 0) {
			complain(path, "shorter than the key");
			err = SL_ECRYPTO;
			goto out;
		}
		got += (size_t)r;
	}
out:
	close(fd);
	return err;
}

static bool write_all(int fd, const uint8_t *p, size_t n)
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

/* Fills seed with a fresh one and publishes it at path; when another
 * process published one first, seed holds that one instead. */
static sl_err create_seed(const char *keys_dir, const char *name, const char *path,
			  uint8_t *seed, size_t len)
{
	char tmp[PATH_MAX];
	int n = snprintf(tmp, sizeof(tmp), "%s/.%s.%ld.%08x", keys_dir, name,
			 (long)getpid(), (unsigned)randombytes_random());
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		complain(keys_dir, "path too long");
		return SL_EINVAL;
	}
	randombytes_buf(seed, len);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		complain(tmp, strerror(errno));
		return SL_EIO;
	}
	bool ok =
	    fchmod(fd, 0600) == 0 && write_all(fd, seed, len) && fsync(fd) == 0;
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
			err = read_seed(fd, path, seed, len);
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

sl_err sl_keyfile_load(const char *data_dir, const char *name, uint8_t *key, size_t len,
		       bool may_create)
{
	char keys_dir[PATH_MAX], path[PATH_MAX];
	int n1 = snprintf(keys_dir, sizeof(keys_dir), "%s/keys", data_dir);
	int n2 = snprintf(path, sizeof(path), "%s/keys/%s", data_dir, name);
	if (n1 < 0 || n2 < 0 || (size_t)n2 >= sizeof(path)) { /* n2 > n1 */
		complain(data_dir, "path too long");
		return SL_EINVAL;
	}
	sl_err err = ensure_dir(data_dir);
	if (err == SL_OK)
		err = ensure_dir(keys_dir);
	if (err != SL_OK)
		return err;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd >= 0)
		return read_seed(fd, path, key, len);
	if (errno != ENOENT) {
		complain(path, strerror(errno));
		return SL_EIO;
	}
	if (!may_create)
		return SL_ENOTFOUND;
	return create_seed(keys_dir, name, path, key, len);
}
