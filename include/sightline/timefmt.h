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

/* What an informant types for when they saw something, in local time at
 * offset_s seconds east of UTC (10800 for Minsk), with now the server's
 * clock:
 *   an RFC 3339 date-time (its own offset wins);
 *   "2022-10-10T08:30" or "2022-10-10 08:30[:00]" (an HTML datetime-local);
 *   "10.10.2022 08:30";
 *   "10.10 08:30": this year, or last year when that would be in the
 *   future;
 *   "08:30", "8:30", "08.30": today, or yesterday when that would be more
 *   than SL_REPORT_FUTURE_SLACK ahead.
 * Surrounding spaces are ignored. SL_EPARSE for anything else, including
 * impossible dates and times. Whether the result is in the allowed window
 * is sl_report_validate's to say. */
sl_err sl_time_parse_local(const char *s, int64_t now, int offset_s,
			   int64_t *out /* OUT */);

/* Formats t in local time at offset_s as "YYYY-MM-DDTHH:MM" (an HTML
 * datetime-local value) into buf (>= SL_TIME_TEXT_MAX bytes). */
void sl_time_format_local(int64_t t, int offset_s, char *buf);

/* The current time, Unix seconds. */
int64_t sl_time_now(void);

#endif
