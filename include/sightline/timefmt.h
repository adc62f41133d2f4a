/*
 * timefmt.h — RFC 3339 timestamps to and from Unix seconds.
 */
#ifndef SIGHTLINE_TIMEFMT_H
#define SIGHTLINE_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

#include "sightline/err.h"

#define SL_TIME_TEXT_MAX 32

/* Parses "2022-10-10T08:30:00Z", "2022-10-10T08:30:00.25+03:00" and the like
 * (RFC 3339 date-time; 'T' or ' ' between date and time; fractions dropped).
 * Returns SL_EPARSE when s is anything else, including impossible dates. */
sl_err sl_time_parse(const char *s, int64_t *out /* OUT */);

/* Formats t as "YYYY-MM-DDTHH:MM:SSZ" into buf (>= SL_TIME_TEXT_MAX bytes). */
void sl_time_format(int64_t t, char *buf);

/* The current time, Unix seconds. */
int64_t sl_time_now(void);

#endif
