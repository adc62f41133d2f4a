/*
 * ratelimit.h — in-memory rate limits for intake.
 *
 * Token buckets per client and one global bucket. Clients are never stored
 * by address: the bucket table is keyed by an HMAC of the address under a
 * key that is random per process and replaced every day (the table is then
 * emptied), so not even memory keeps an address. Nothing here touches disk.
 */
#ifndef SIGHTLINE_RATELIMIT_H
#define SIGHTLINE_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sightline/err.h"

typedef struct sl_ratelimit sl_ratelimit;

typedef struct sl_ratelimit_config {
	double per_client_per_min; /* 0 disables the per-client limit */
	double per_client_burst;
	double global_per_sec;     /* 0 disables the global limit */
	double global_burst;
	size_t max_clients;        /* table size bound */
} sl_ratelimit_config;

sl_err sl_ratelimit_new(const sl_ratelimit_config *cfg, sl_ratelimit **out);
void sl_ratelimit_free(sl_ratelimit *rl);

/* Takes one token for the client whose address is the len bytes at addr.
 * Returns true when allowed; false with *retry_after (seconds) when not.
 * now_ms is a monotonic clock in milliseconds. Thread-safe. */
bool sl_ratelimit_take(sl_ratelimit *rl, const void *addr, size_t len,
		       uint64_t now_ms, unsigned *retry_after /* OUT */);

#endif
