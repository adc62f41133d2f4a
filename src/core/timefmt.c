/*
 * timefmt.c — RFC 3339 date-times.
 *
 * strptime reads the fixed date and time fields; what it does not read
 * (fractions, the "Z" or numeric offset) is checked here, strictly, and
 * the fields are checked against the calendar by a timegm round trip.
 */
#define _GNU_SOURCE
#include "sightline/timefmt.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

static bool fields_are_real(const struct tm *tm)
{
	struct tm copy = *tm;
	time_t t = timegm(&copy);
	struct tm back;
	if (!gmtime_r(&t, &back))
		return false;
	return back.tm_year == tm->tm_year && back.tm_mon == tm->tm_mon &&
	       back.tm_mday == tm->tm_mday && back.tm_hour == tm->tm_hour &&
	       back.tm_min == tm->tm_min && back.tm_sec == tm->tm_sec;
}

static bool two_digits(const char *p, int *out)
{
	if (!isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1]))
		return false;
	*out = (p[0] - '0') * 10 + (p[1] - '0');
	return true;
}

sl_err sl_time_parse(const char *s, int64_t *out)
{
	/* The fixed part is exactly "YYYY-MM-DDTHH:MM:SS" (19 characters). */
	if (!s || strlen(s) < 20 || strlen(s) > 40)
		return SL_EPARSE;
	for (int i = 0; i < 19; i++) {
		char c = s[i];
		bool ok = (i == 4 || i == 7) ? c == '-'
			  : (i == 13 || i == 16) ? c == ':'
			  : i == 10 ? (c == 'T' || c == 't' || c == ' ')
				    : isdigit((unsigned char)c);
		if (!ok)
			return SL_EPARSE;
	}
	struct tm tm = {0};
	const char *p = strptime(s, "%Y-%m-%d", &tm);
	if (!p || p != s + 10)
		return SL_EPARSE;
	p = strptime(s + 11, "%H:%M:%S", &tm);
	if (!p || p != s + 19)
		return SL_EPARSE;
	if (!fields_are_real(&tm)) /* 2022-02-30, 25:00:00, leap seconds */
		return SL_EPARSE;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return SL_EPARSE;
		while (isdigit((unsigned char)*p))
			p++;
	}
	int64_t offset = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int hh, mm;
		if (!two_digits(p + 1, &hh) || p[3] != ':' || !two_digits(p + 4, &mm) ||
		    hh > 23 || mm > 59)
			return SL_EPARSE;
		offset = (int64_t)(hh * 3600 + mm * 60) * (*p == '-' ? -1 : 1);
		p += 6;
	} else {
		return SL_EPARSE;
	}
	if (*p)
		return SL_EPARSE;
	*out = (int64_t)timegm(&tm) - offset;
	return SL_OK;
}

void sl_time_format(int64_t t, char *buf)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!gmtime_r(&tt, &tm)) {
		strcpy(buf, "1970-01-01T00:00:00Z");
		return;
	}
	strftime(buf, SL_TIME_TEXT_MAX, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int64_t sl_time_now(void)
{
	return (int64_t)time(NULL);
}
