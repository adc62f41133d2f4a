/*
 * buf.c — capped growing arrays and whole-file reads (buf.h).
 */
#include "sightline/buf.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

bool sl_grow(void **p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return true;
	size_t c = *cap ? *cap : 64;
	while (c < need)
		c *= 2;
	void *q = realloc(*p, c * elem);
	if (!q)
		return false;
	*p = q;
	*cap = c;
	return true;
}

bool sl_grow_wiped(char **buf, size_t *size, size_t len, size_t need, size_t first,
		   size_t max)
{
	if (*buf && need <= *size)
		return true;
	if (need > max)
		return false;
	size_t n = *size ? *size : first;
	while (n < need)
		n *= 2;
	if (n > max)
		n = max;
	char *nb = malloc(n);
	if (!nb)
		return false;
	if (*buf) {
		memcpy(nb, *buf, len);
		sodium_memzero(*buf, *size);
		free(*buf);
	}
	*buf = nb;
	*size = n;
	return true;
}

sl_err sl_read_file(const char *path, size_t max, char **buf, size_t *len,
		    sl_problems *why)
{
	*buf = NULL, *len = 0;
	FILE *f = fopen(path, "rb");
	struct stat st;
	if (!f || fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
		sl_problems_add(why, "", "cannot read %s: %s", path,
				f ? "not a regular file" : strerror(errno));
		if (f)
			fclose(f);
		return SL_EIO;
	}
	if ((uintmax_t)st.st_size > max) {
		fclose(f);
		sl_problems_add(why, "", "%s: %jd bytes is more than the limit of %zu",
				path, (intmax_t)st.st_size, max);
		return SL_ETOOBIG;
	}
	size_t size = (size_t)st.st_size;
	char *b = malloc(size ? size : 1);
	if (!b) {
		fclose(f);
		return SL_ENOMEM;
	}
	size_t got = fread(b, 1, size, f);
	bool more = fgetc(f) != EOF; /* it grew while we read it */
	fclose(f);
	if (got != size || more) {
		free(b);
		sl_problems_add(why, "", "%s changed or failed while being read", path);
		return SL_EIO;
	}
	*buf = b, *len = size;
	return SL_OK;
}
