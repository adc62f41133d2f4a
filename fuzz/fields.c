/*
 * fields.c — fuzz target: what informants type into the web form and the
 * bot, read by the small parsers they share, and the console's form
 * decoding: places (sl_place_resolve over the towns and a small station
 * list, sl_place_parse_coords), local and RFC 3339 times, counts,
 * headings, Accept-Language, and application/x-www-form-urlencoded bodies
 * (sl_html_form_parse).
 *
 * The input's first byte chooses the parser (and, for places and times,
 * the language or zone); the rest is the text, NUL-terminated as the
 * callers hand it over. Each answer is checked for what its contract
 * promises: points on the globe, counts in range, a heading below 360.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "sightline/html.h"
#include "sightline/lang.h"
#include "sightline/place.h"
#include "sightline/report.h"
#include "sightline/timefmt.h"

void fuzz_cleanup(void)
{
	fuzz_gazetteer_free();
}

static void check_point(double lat, double lon, double unc)
{
	if (!(lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180))
		fuzz_fail("a place at %g, %g", lat, lon);
	if (!(unc > 0 && isfinite(unc)))
		fuzz_fail("a place with uncertainty %g", unc);
}

static void place(const char *s, unsigned lang)
{
	sl_place p;
	sl_err e = sl_place_resolve(fuzz_gazetteer(), s, (sl_lang)(lang % SL_LANG_COUNT), &p);
	if (e == SL_OK)
		check_point(p.lat, p.lon, p.uncertainty_m);
	else if (e != SL_ENOTFOUND && e != SL_EVALID)
		fuzz_fail("sl_place_resolve: error %d", (int)e);
	double lat, lon, unc;
	e = sl_place_parse_coords(s, &lat, &lon, &unc);
	if (e == SL_OK)
		check_point(lat, lon, unc);
}

static void times(const char *s, unsigned which)
{
	static const int offsets[] = {3 * 3600, 2 * 3600, 3600, 0, 4 * 3600};
	int offset = offsets[which % 5];
	int64_t t;
	if (sl_time_parse_local(s, FUZZ_NOW, offset, &t) == SL_OK &&
	    t >= SL_REPORT_MIN_TIME && t <= FUZZ_NOW + 86400) {
		/* What the form prefills is read back as the same minute. */
		char buf[SL_TIME_TEXT_MAX];
		sl_time_format_local(t, offset, buf);
		int64_t back;
		if (sl_time_parse_local(buf, FUZZ_NOW, offset, &back) != SL_OK ||
		    back != t - (t % 60 + 60) % 60)
			fuzz_fail("local time %lld is written %s and read back as %lld",
				  (long long)t, buf, (long long)back);
	}
	if (sl_time_parse(s, &t) == SL_OK && t >= SL_REPORT_MIN_TIME && t < 4102444800) {
		char buf[SL_TIME_TEXT_MAX];
		sl_time_format(t, buf);
		int64_t back;
		if (sl_time_parse(buf, &back) != SL_OK || back != t)
			fuzz_fail("time %lld is written %s and read back differently",
				  (long long)t, buf);
	}
}

static void counts(const char *s)
{
	int32_t c, m;
	if (sl_count_parse(s, &c, &m) && (c < 1 || c > SL_REPORT_MAX_COUNT ||
					  (m && (m < c || m > SL_REPORT_MAX_COUNT))))
		fuzz_fail("count %d..%d", c, m);
	double deg;
	if (sl_heading_parse(s, &deg) && !(deg >= 0 && deg < 360))
		fuzz_fail("heading %g", deg);
	sl_lang l = sl_lang_from_accept(s, SL_LANG_DEFAULT);
	if ((int)l < 0 || l >= SL_LANG_COUNT)
		fuzz_fail("language %d", (int)l);
	if (sl_lang_from_tag(s, &l) && ((int)l < 0 || l >= SL_LANG_COUNT))
		fuzz_fail("language %d", (int)l);
}

static void form(const uint8_t *data, size_t size)
{
	sl_arena *a = sl_arena_new(4 * size + 4096);
	if (!a)
		fuzz_fail("out of memory");
	sl_form f;
	sl_err e = sl_html_form_parse((const char *)data, size, a, &f);
	if (e == SL_OK) {
		if (f.n > SL_FORM_FIELDS_MAX)
			fuzz_fail("%zu fields", f.n);
		for (size_t i = 0; i < f.n; i++) {
			if (!f.fields[i].name || !f.fields[i].value ||
			    strlen(f.fields[i].value) > f.fields[i].len)
				fuzz_fail("field %zu is broken", i);
			if (sl_html_form_get(&f, f.fields[i].name) == NULL)
				fuzz_fail("field %zu is not found by its name", i);
		}
	} else if (e != SL_EPARSE && e != SL_ETOOBIG && e != SL_ENOMEM) {
		fuzz_fail("sl_html_form_parse: error %d", (int)e);
	}
	sl_arena_free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0 || size > 4096)
		return 0;
	unsigned sel = data[0];
	char *s = malloc(size);
	if (!s)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	switch (sel % 4) {
	case 0:
		place(s, sel / 4);
		break;
	case 1:
		times(s, sel / 4);
		break;
	case 2:
		counts(s);
		break;
	default:
		form(data + 1, size - 1);
		break;
	}
	free(s);
	return 0;
}
