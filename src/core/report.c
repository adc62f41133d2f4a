/*
 * report.c — the report model's vocabularies and rules.
 *
 * Every source of reports (JSON API, imports, later the web form and the
 * Telegram bot) ends in sl_report_validate, so the rules live once, here.
 */
#include "sightline/report.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sightline/timefmt.h"

static const char *const category_names[SL_CAT_COUNT] = {
	"rail_transport", "road_convoy", "aircraft", "helicopter",
	"troops", "air_defence", "missile_system", "naval",
	"fortification", "other",
};

static const char *const equipment_names[SL_EQ_COUNT] = {
	"tank", "ifv", "apc", "artillery", "mlrs", "air_defence",
	"missile_launcher", "truck", "fuel_truck", "engineering",
	"command", "helicopter", "aircraft", "other",
};

static const char *const status_names[SL_STATUS_COUNT] = {
	"received", "under_review", "verified", "rejected",
};

static bool lookup(const char *const *names, int n, const char *name, int *out)
{
	if (!name)
		return false;
	for (int i = 0; i < n; i++) {
		if (strcmp(names[i], name) == 0) {
			*out = i;
			return true;
		}
	}
	return false;
}

const char *sl_category_name(sl_category c)
{
	return (unsigned)c < SL_CAT_COUNT ? category_names[c] : "?";
}

bool sl_category_from_name(const char *name, sl_category *out)
{
	int i;
	if (!lookup(category_names, SL_CAT_COUNT, name, &i))
		return false;
	*out = (sl_category)i;
	return true;
}

const char *sl_equipment_type_name(sl_equipment_type t)
{
	return (unsigned)t < SL_EQ_COUNT ? equipment_names[t] : "?";
}

bool sl_equipment_type_from_name(const char *name, sl_equipment_type *out)
{
	int i;
	if (!lookup(equipment_names, SL_EQ_COUNT, name, &i))
		return false;
	*out = (sl_equipment_type)i;
	return true;
}

const char *sl_status_name(sl_report_status s)
{
	return (unsigned)s < SL_STATUS_COUNT ? status_names[s] : "?";
}

bool sl_status_from_name(const char *name, sl_report_status *out)
{
	int i;
	if (!lookup(status_names, SL_STATUS_COUNT, name, &i))
		return false;
	*out = (sl_report_status)i;
	return true;
}

static const char *const sealed_kind_names[SL_SEALED_KIND_COUNT] = {
	"content", "photo", "followup", "note",
};

const char *sl_sealed_kind_name(sl_sealed_kind k)
{
	return (unsigned)k < SL_SEALED_KIND_COUNT ? sealed_kind_names[k] : "?";
}

bool sl_sealed_kind_from_name(const char *name, sl_sealed_kind *out)
{
	int i;
	if (!lookup(sealed_kind_names, SL_SEALED_KIND_COUNT, name, &i))
		return false;
	*out = (sl_sealed_kind)i;
	return true;
}

void sl_problems_add(sl_problems *p, const char *field, const char *fmt, ...)
{
	if (p->n >= SL_PROBLEMS_MAX) {
		p->dropped++;
		return;
	}
	sl_field_error *e = &p->items[p->n++];
	snprintf(e->field, sizeof(e->field), "%s", field ? field : "");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
}

void sl_problems_format(const sl_problems *p, char *buf, size_t size)
{
	size_t used = 0;
	if (size == 0)
		return;
	buf[0] = '\0';
	for (size_t i = 0; i < p->n && used < size; i++) {
		const sl_field_error *e = &p->items[i];
		int w = snprintf(buf + used, size - used, "%s%s%s%s",
				 i ? "; " : "", e->field, e->field[0] ? ": " : "",
				 e->message);
		if (w < 0)
			break;
		used += (size_t)w;
	}
	if (p->dropped && used < size)
		snprintf(buf + used, size - used, "; and %zu more", p->dropped);
}

/* The 16 points of the compass, clockwise from north, in short and long
 * form; both match case-insensitively, with '-', '_' or ' ' in long forms. */
static const char *const compass_short[16] = {
	"n", "nne", "ne", "ene", "e", "ese", "se", "sse",
	"s", "ssw", "sw", "wsw", "w", "wnw", "nw", "nnw",
};
static const char *const compass_long[16] = {
	"north", "north-north-east", "north-east", "east-north-east",
	"east", "east-south-east", "south-east", "south-south-east",
	"south", "south-south-west", "south-west", "west-south-west",
	"west", "west-north-west", "north-west", "north-north-west",
};

bool sl_heading_parse(const char *s, double *deg)
{
	if (!s || !*s || strlen(s) > 32)
		return false;
	char norm[40];
	size_t n = 0;
	for (const char *p = s; *p && n < sizeof(norm) - 1; p++)
		norm[n++] = (*p == '_' || *p == ' ') ? '-' : *p;
	norm[n] = '\0';
	for (int i = 0; i < 16; i++) {
		if (strcasecmp(norm, compass_short[i]) == 0 ||
		    strcasecmp(norm, compass_long[i]) == 0) {
			*deg = i * 22.5;
			return true;
		}
	}
	char *end;
	double d = strtod(s, &end);
	if (end == s || *end || !isfinite(d) || d < 0 || d > 360)
		return false;
	*deg = d == 360 ? 0 : d;
	return true;
}

bool sl_utf8_text_ok(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	while (p < end) {
		unsigned c = *p;
		if (c < 0x80) {
			if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
				return false;
			if (c == 0x7f)
				return false;
			p++;
			continue;
		}
		size_t len;
		unsigned min;
		if ((c & 0xe0) == 0xc0) {
			len = 2, min = 0x80, c &= 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			len = 3, min = 0x800, c &= 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			len = 4, min = 0x10000, c &= 0x07;
		} else {
			return false;
		}
		if ((size_t)(end - p) < len)
			return false;
		for (size_t i = 1; i < len; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			c = (c << 6) | (p[i] & 0x3f);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return false;
		p += len;
	}
	return true;
}

/* An optional string field: within max bytes, valid text, not blank. */
static void check_text(sl_problems *why, const char *field, const char *s,
		       size_t max)
{
	if (!s)
		return;
	size_t n = strlen(s);
	if (n > max) {
		sl_problems_add(why, field, "%zu bytes is longer than the limit of %zu",
				n, max);
		return;
	}
	if (!sl_utf8_text_ok(s, n)) {
		sl_problems_add(why, field, "contains invalid UTF-8 or control characters");
		return;
	}
	if (strspn(s, " \t\r\n") == n)
		sl_problems_add(why, field, "is empty");
}

static void check_time_window(const sl_report *r, int64_t now, sl_problems *why)
{
	char t[SL_TIME_TEXT_MAX];
	if (r->observed_at < SL_REPORT_MIN_TIME) {
		sl_time_format(r->observed_at, t);
		sl_problems_add(why, "observed_at", "%s is before 2000-01-01", t);
	} else if (r->observed_at > now + SL_REPORT_FUTURE_SLACK) {
		sl_time_format(r->observed_at, t);
		sl_problems_add(why, "observed_at",
				"%s is more than 10 minutes in the future", t);
	}
	if (!r->has_until)
		return;
	if (r->observed_until < r->observed_at) {
		sl_problems_add(why, "observed_until", "is before observed_at");
	} else if (r->observed_until - r->observed_at > SL_REPORT_MAX_WINDOW) {
		sl_problems_add(why, "observed_until",
				"the window is longer than 14 days");
	} else if (r->observed_until > now + SL_REPORT_FUTURE_SLACK) {
		sl_time_format(r->observed_until, t);
		sl_problems_add(why, "observed_until",
				"%s is more than 10 minutes in the future", t);
	}
}

static void check_location(const sl_location *loc, sl_problems *why)
{
	if (!loc->has_point && !loc->place) {
		sl_problems_add(why, "location",
				"is required: give lat and lon, or place");
		return;
	}
	if (loc->has_point) {
		if (!isfinite(loc->lat) || loc->lat < -90 || loc->lat > 90)
			sl_problems_add(why, "location.lat", "%g is outside -90..90",
					loc->lat);
		if (!isfinite(loc->lon) || loc->lon < -180 || loc->lon > 180)
			sl_problems_add(why, "location.lon", "%g is outside -180..180",
					loc->lon);
		if (!isfinite(loc->uncertainty_m) || loc->uncertainty_m < 0 ||
		    loc->uncertainty_m > SL_REPORT_MAX_UNCERTAINTY)
			sl_problems_add(why, "location.uncertainty_m",
					"%g is outside 0..%g metres", loc->uncertainty_m,
					SL_REPORT_MAX_UNCERTAINTY);
	}
	check_text(why, "location.place", loc->place, SL_REPORT_MAX_SHORT);
}

static void check_equipment(const sl_report *r, sl_problems *why)
{
	if (r->n_equipment > SL_REPORT_MAX_EQUIPMENT) {
		sl_problems_add(why, "equipment", "%zu items is more than the limit of %d",
				r->n_equipment, SL_REPORT_MAX_EQUIPMENT);
		return;
	}
	for (size_t i = 0; i < r->n_equipment; i++) {
		const sl_equipment *e = &r->equipment[i];
		char f[64];
		if ((unsigned)e->type >= SL_EQ_COUNT) {
			snprintf(f, sizeof(f), "equipment[%zu].type", i);
			sl_problems_add(why, f, "is not a known equipment type");
		}
		if (e->count < 1 || e->count > SL_REPORT_MAX_COUNT) {
			snprintf(f, sizeof(f), "equipment[%zu].count", i);
			sl_problems_add(why, f, "%d is outside 1..%d", (int)e->count,
					SL_REPORT_MAX_COUNT);
		}
		if (e->count_max != 0 &&
		    (e->count_max < e->count || e->count_max > SL_REPORT_MAX_COUNT)) {
			snprintf(f, sizeof(f), "equipment[%zu].count_max", i);
			sl_problems_add(why, f, "%d is outside count..%d (count is %d)",
					(int)e->count_max, SL_REPORT_MAX_COUNT,
					(int)e->count);
		}
		snprintf(f, sizeof(f), "equipment[%zu].model", i);
		check_text(why, f, e->model, SL_REPORT_MAX_SHORT);
	}
}

static void check_language(const char *lang, sl_problems *why)
{
	if (!lang)
		return;
	/* A BCP 47 tag's shape: letters, digits and '-', 2..35 characters. */
	size_t n = strlen(lang);
	bool ok = n >= 2 && n <= 35 &&
		  strspn(lang, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			       "0123456789-") == n;
	if (!ok)
		sl_problems_add(why, "language", "is not a language tag such as \"ru\" or \"be\"");
}

sl_err sl_report_validate(const sl_report *r, int64_t now, sl_problems *why)
{
	size_t before = why->n + why->dropped;
	if ((unsigned)r->category >= SL_CAT_COUNT)
		sl_problems_add(why, "category", "is not a known category");
	check_time_window(r, now, why);
	check_location(&r->location, why);
	check_equipment(r, why);
	if (r->has_heading &&
	    (!isfinite(r->heading_deg) || r->heading_deg < 0 || r->heading_deg >= 360))
		sl_problems_add(why, "heading", "%g is outside 0..360", r->heading_deg);
	check_text(why, "destination", r->destination, SL_REPORT_MAX_SHORT);
	check_text(why, "text", r->text, SL_REPORT_MAX_TEXT);
	check_text(why, "contact", r->contact, SL_REPORT_MAX_SHORT);
	check_text(why, "ref", r->ref, SL_REPORT_MAX_SHORT);
	check_language(r->language, why);
	if ((unsigned)r->status >= SL_STATUS_COUNT)
		sl_problems_add(why, "status", "is not a known status");
	return why->n + why->dropped > before ? SL_EVALID : SL_OK;
}

/* A whole number 1..SL_REPORT_MAX_COUNT at *p (advanced past it). */
static bool count_number(const char **p, int32_t *out)
{
	const char *s = *p;
	long v = 0;
	int n = 0;
	while (*s >= '0' && *s <= '9') {
		v = v * 10 + (*s++ - '0');
		if (++n > 6)
			return false;
	}
	if (n == 0 || v < 1 || v > SL_REPORT_MAX_COUNT)
		return false;
	*out = (int32_t)v;
	*p = s;
	return true;
}

static const char *skip_spaces(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* s past prefix (any of the words for "about"), or s. */
static const char *skip_about(const char *s)
{
	static const char *const about[] = {"~",       "\xe2\x89\x88" /* ≈ */,
					    "около",   "примерно",
					    "каля",    "прыкладна",
					    "близько", "приблизно",
					    "about",   "approx.",
					    "approx",  "ca.",
					    NULL};
	for (const char *const *a = about; *a; a++) {
		size_t n = strlen(*a);
		if (strncasecmp(s, *a, n) == 0)
			return skip_spaces(s + n);
	}
	return s;
}

bool sl_count_parse(const char *s, int32_t *count, int32_t *count_max)
{
	if (!s)
		return false;
	const char *p = skip_about(skip_spaces(s));
	int32_t lo, hi = 0;
	if (!count_number(&p, &lo))
		return false;
	p = skip_spaces(p);
	static const char *const dashes[] = {"-", "\xe2\x80\x93", "\xe2\x80\x94", "..",
					     NULL};
	for (const char *const *d = dashes; *d; d++) {
		size_t n = strlen(*d);
		if (strncmp(p, *d, n) == 0) {
			p = skip_spaces(p + n);
			if (!count_number(&p, &hi) || hi < lo)
				return false;
			break;
		}
	}
	if (!hi && *p == '+')
		p++;
	if (*skip_spaces(p))
		return false;
	*count = lo;
	*count_max = hi == lo ? 0 : hi;
	return true;
}

void sl_report_init(sl_report *r, int64_t now)
{
	memset(r, 0, sizeof(*r));
	r->status = SL_STATUS_RECEIVED;
	r->received_at = now - now % 60;
}
