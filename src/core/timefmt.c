/*
 * timefmt.c — RFC 3339 date-times.
 *
 * strptime reads the fixed date and time fields; what it does not read
 * (fractions, the "Z" or numeric offset) is checked here, strictly, and
 * the fields are checked against the calendar by a timegm round trip.
 */
#define _GNU_SOURCE
#include "sightline/timefmt.h"

#include "sightline/report.h"

#include <ctype.h>
#include <stdio.h>
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
	/* Not strftime's %Y: glibc writes the year 26 as "26", which no
	 * RFC 3339 reader (sl_time_parse included) takes back. */
	char text[96];
	int n = snprintf(text, sizeof(text), "%04lld-%02d-%02dT%02d:%02d:%02dZ",
			 (long long)tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			 tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (n < 0 || n >= SL_TIME_TEXT_MAX)
		n = 0;
	memcpy(buf, text, (size_t)n);
	buf[n] = '\0';
}

int64_t sl_time_now(void)
{
	return (int64_t)time(NULL);
}

/* ---- local times as informants type them ---- */

/* A whole number of 1..max_digits digits at *p. */
static bool digits(const char **p, int max_digits, int *out)
{
	int v = 0, n = 0;
	while (isdigit((unsigned char)**p) && n < max_digits) {
		v = v * 10 + (**p - '0');
		(*p)++;
		n++;
	}
	if (n == 0 || isdigit((unsigned char)**p))
		return false;
	*out = v;
	return true;
}

/* "HH:MM" or "HH.MM" and an optional ":SS" at *p. */
static bool clock_time(const char **p, bool dot_ok, struct tm *tm)
{
	int h, m, sec = 0;
	if (!digits(p, 2, &h))
		return false;
	if (**p != ':' && !(dot_ok && **p == '.'))
		return false;
	(*p)++;
	const char *mp = *p;
	if (!digits(p, 2, &m) || *p - mp != 2)
		return false;
	if (**p == ':') {
		(*p)++;
		if (!digits(p, 2, &sec))
			return false;
	}
	if (h > 23 || m > 59 || sec > 59)
		return false;
	tm->tm_hour = h, tm->tm_min = m, tm->tm_sec = sec;
	return true;
}

/* t as local broken-down time at offset_s. */
static void local_tm(int64_t t, int offset_s, struct tm *tm)
{
	time_t tt = (time_t)(t + offset_s);
	if (!gmtime_r(&tt, tm))
		memset(tm, 0, sizeof(*tm));
}

sl_err sl_time_parse_local(const char *s, int64_t now, int offset_s, int64_t *out)
{
	if (!s)
		return SL_EPARSE;
	while (*s == ' ' || *s == '\t')
		s++;
	char buf[48];
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n == 0 || n >= sizeof(buf))
		return SL_EPARSE;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (sl_time_parse(buf, out) == SL_OK)
		return SL_OK;
	struct tm now_tm, tm = {0};
	local_tm(now, offset_s, &now_tm);
	const char *p = buf;
	int a, b, c;
	enum { FULL, NO_YEAR, NO_DATE } shape;
	if (!digits(&p, 4, &a))
		return SL_EPARSE;
	if (*p == '-' && p - buf == 4) { /* YYYY-MM-DD[T ]HH:MM */
		p++;
		if (!digits(&p, 2, &b) || *p++ != '-' || !digits(&p, 2, &c))
			return SL_EPARSE;
		if (*p != 'T' && *p != 't' && *p != ' ')
			return SL_EPARSE;
		p++;
		tm.tm_year = a - 1900, tm.tm_mon = b - 1, tm.tm_mday = c;
		shape = FULL;
	} else if (*p == '.' && p - buf <= 2 && isdigit((unsigned char)p[1]) &&
		   strchr(p + 1, ' ')) { /* DD.MM[.YYYY] HH:MM */
		p++;
		if (!digits(&p, 2, &b))
			return SL_EPARSE;
		tm.tm_mday = a, tm.tm_mon = b - 1;
		shape = NO_YEAR;
		if (*p == '.') {
			p++;
			if (!digits(&p, 4, &c) || c < 1000)
				return SL_EPARSE;
			tm.tm_year = c - 1900;
			shape = FULL;
		}
		if (*p != ' ')
			return SL_EPARSE;
		while (*p == ' ')
			p++;
	} else { /* HH:MM */
		p = buf;
		shape = NO_DATE;
	}
	if (!clock_time(&p, shape == NO_DATE, &tm) || *p)
		return SL_EPARSE;
	if (shape == NO_DATE) {
		tm.tm_year = now_tm.tm_year, tm.tm_mon = now_tm.tm_mon;
		tm.tm_mday = now_tm.tm_mday;
	} else if (shape == NO_YEAR) {
		tm.tm_year = now_tm.tm_year;
	}
	if (!fields_are_real(&tm))
		return SL_EPARSE;
	int64_t t = (int64_t)timegm(&tm) - offset_s;
	/* A time of day or a date without a year that lies ahead is the last
	 * one that has passed. */
	if (shape == NO_DATE && t > now + SL_REPORT_FUTURE_SLACK)
		t -= 86400;
	if (shape == NO_YEAR && t > now + SL_REPORT_FUTURE_SLACK) {
		tm.tm_year--;
		if (!fields_are_real(&tm)) /* 29.02 of a year before a leap year */
			return SL_EPARSE;
		t = (int64_t)timegm(&tm) - offset_s;
	}
	*out = t;
	return SL_OK;
}

void sl_time_format_local(int64_t t, int offset_s, char *buf)
{
	struct tm tm;
	local_tm(t, offset_s, &tm);
	strftime(buf, SL_TIME_TEXT_MAX, "%Y-%m-%dT%H:%M", &tm);
}
