/*
 * buf.h — growing arrays and whole files, both with a hard cap: what the
 * loaders of the network, the station list and the simulator's objects
 * share.
 */
#ifndef SIGHTLINE_BUF_H
#define SIGHTLINE_BUF_H

#include <stdbool.h>
#include <stddef.h>

#include "sightline/err.h"
#include "sightline/report.h"

/* Grows the array *p of *cap elements of elem bytes (doubling, from 64) so
 * that it holds at least need; false when out of memory (*p untouched). */
bool sl_grow(void **p, size_t *cap, size_t need, size_t elem);

/* Makes the buffer *buf (of *size bytes, the first len of them in use)
 * hold at least need bytes, doubling from first, never past max: not by
 * realloc but by copying into a new buffer and wiping the old one
 * (sodium_memzero), for buffers that may hold a passphrase or an
 * informant's text, which realloc would leave copies of in freed memory.
 * false, *buf untouched, when need is over max or memory is out. */
bool sl_grow_wiped(char **buf, size_t *size, size_t len, size_t need, size_t first,
		   size_t max);

/* Reads the regular file at path, at most max bytes, into *buf (*len
 * bytes; the caller frees *buf). SL_EIO (cannot open, not a regular file,
 * changed while read) or SL_ETOOBIG, said in why with the path. */
sl_err sl_read_file(const char *path, size_t max, char **buf /* OUT */,
		    size_t *len /* OUT */, sl_problems *why);

#endif
