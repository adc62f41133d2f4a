/*
 * test_report.c — the report model: vocabularies, time stamps, headings,
 * UTF-8 and every validation rule, each named in its error.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "sightline/report.h"
#include "sightline/timefmt.h"

#define NOW 1700000000 /* 2023-11-14T22:13:20Z */

static sl_report valid(void)
{
	sl_report r = {0};
	r.category = SL_CAT_RAIL_TRANSPORT;
	r.observed_at = NOW - 3600;
	r.location.has_point = true;
	r.location.lat = 54.5;
	r.location.lon = 30.4;
	r.location.uncertainty_m = 300;
	return r;
}

/* Validates r and asserts exactly one problem, on field, whose message
 * contains want. */
static void expect_one(const sl_report *r, const char *field, const char *want)
{
	sl_problems why = {0};
	assert_int_equal(sl_report_validate(r, NOW, &why), SL_EVALID);
	assert_int_equal(why.n, 1);
	assert_string_equal(why.items[0].field, field);
	if (!strstr(why.items[0].message, want))
		fail_msg("message \"%s\" lacks \"%s\"", why.items[0].message, want);
}

static void test_names_round_trip(void **state)
{
	(void)state;
	for (int i = 0; i < SL_CAT_COUNT; i++) {
		sl_category c;
		assert_true(sl_category_from_name(sl_category_name(i), &c));
		assert_int_equal(c, i);
	}
	for (int i = 0; i < SL_EQ_COUNT; i++) {
		sl_equipment_type t;
		assert_true(sl_equipment_type_from_name(sl_equipment_type_name(i), &t));
		assert_int_equal(t, i);
	}
	for (int i = 0; i < SL_STATUS_COUNT; i++) {
		sl_report_status s;
		assert_true(sl_status_from_name(sl_status_name(i), &s));
		assert_int_equal(s, i);
	}
	sl_category c;
	assert_false(sl_category_from_name("Rail_Transport", &c));
	assert_false(sl_category_from_name("", &c));
	assert_false(sl_category_from_name(NULL, &c));
	assert_string_equal(sl_category_name(SL_CAT_COUNT), "?");
}

static void test_time_parse(void **state)
{
	(void)state;
	int64_t t;
	assert_int_equal(sl_time_parse("2022-10-10T08:30:00Z", &t), SL_OK);
	assert_int_equal(t, 1665390600);
	assert_int_equal(sl_time_parse("2022-10-10T11:30:00+03:00", &t), SL_OK);
	assert_int_equal(t, 1665390600);
	assert_int_equal(sl_time_parse("2022-10-10 08:30:00.123456z", &t), SL_OK);
	assert_int_equal(t, 1665390600);
	assert_int_equal(sl_time_parse("2022-10-10T05:00:00-03:30", &t), SL_OK);
	assert_int_equal(t, 1665390600);
	assert_int_equal(sl_time_parse("2024-02-29T00:00:00Z", &t), SL_OK);

	const char *bad[] = {
		"", "2022-10-10", "2022-10-10T08:30:00", "2022-10-10T08:30Z",
		"2022-13-10T08:30:00Z", "2022-02-30T08:30:00Z", "2023-02-29T00:00:00Z",
		"2022-10-10T24:00:00Z", "2022-10-10T08:60:00Z", "2022-10-10T08:30:60Z",
		"2022-10-10T08:30:00+3:00", "2022-10-10T08:30:00+03", "2022-10-10T08:30:00.Z",
		"2022-10-10T08:30:00Zjunk", "10/10/2022 08:30", "+2022-10-10T08:30:00Z",
		"2022-1O-10T08:30:00Z", "2022-10-10T08:30:00+24:00",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (sl_time_parse(bad[i], &t) != SL_EPARSE)
			fail_msg("\"%s\" was accepted", bad[i]);
	char buf[SL_TIME_TEXT_MAX];
	sl_time_format(1665390600, buf);
	assert_string_equal(buf, "2022-10-10T08:30:00Z");
}

/* Local times as informants type them, at Minsk's +03:00, with the
 * server's clock at 2022-10-10T08:30:00Z (11:30 in Minsk). */
static void test_time_parse_local(void **state)
{
	(void)state;
	const int64_t now = 1665390600;
	const int off = 3 * 3600;
	struct {
		const char *in;
		int64_t want;
	} good[] = {
	    {"2022-10-10T08:30:00Z", now},	/* its own offset wins */
	    {"2022-10-10T11:30", now},		/* datetime-local */
	    {" 2022-10-10 11:30:00 ", now},	/* spaces, seconds */
	    {"10.10.2022 11:30", now},		/* day first */
	    {"10.10 11:30", now},		/* this year */
	    {"11:30", now},			/* today */
	    {"8:05", now - 3 * 3600 - 25 * 60}, /* earlier today */
	    {"11.30", now},			/* a dot between hour and minute */
	    {"11:39", now + 9 * 60},		/* less than 10 min ahead: today */
	    {"23:00", now + 11 * 3600 + 30 * 60 - 86400}, /* ahead: yesterday */
	    {"11.10 08:00", 1665464400 - 365 * 86400},	  /* ahead: last year */
	    {"29.02.2024 00:00", 1709154000},
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		int64_t t = 0;
		sl_err e = sl_time_parse_local(good[i].in, now, off, &t);
		if (e != SL_OK || t != good[i].want)
			fail_msg("\"%s\": %s, %lld; want %lld", good[i].in,
				 sl_strerror(e), (long long)t, (long long)good[i].want);
	}
	const char *bad[] = {"",
			     "   ",
			     "now",
			     "25:00",
			     "11:60",
			     "11:3",
			     "1130",
			     "10.10.",
			     "32.10 08:00",
			     "29.02 10:00",
			     "2022-10-10",
			     "10/10/2022 08:30",
			     "11:30 tomorrow",
			     "2022-13-10 08:00",
			     "-1:00",
			     "011:30",
			     NULL};
	for (size_t i = 0; bad[i]; i++) {
		int64_t t;
		if (sl_time_parse_local(bad[i], now, off, &t) != SL_EPARSE)
			fail_msg("\"%s\" was accepted", bad[i]);
	}
	char buf[SL_TIME_TEXT_MAX];
	sl_time_format_local(now, off, buf);
	assert_string_equal(buf, "2022-10-10T11:30");
	sl_time_format_local(now, 0, buf);
	assert_string_equal(buf, "2022-10-10T08:30");
}

static void test_count_parse(void **state)
{
	(void)state;
	struct {
		const char *in;
		int32_t count, max;
	} good[] = {
	    {"12", 12, 0},
	    {" 12 ", 12, 0},
	    {"10-15", 10, 15},
	    {"10 - 15", 10, 15},
	    {"10\xe2\x80\x93"
	     "15",
	     10, 15},
	    {"10..15", 10, 15},
	    {"20+", 20, 0},
	    {"~20", 20, 0},
	    {"около 20", 20, 0},
	    {"about 5", 5, 0},
	    {"3-3", 3, 0},
	    {"100000", 100000, 0},
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		int32_t c = -1, m = -1;
		if (!sl_count_parse(good[i].in, &c, &m) || c != good[i].count ||
		    m != good[i].max)
			fail_msg("\"%s\": %d..%d, want %d..%d", good[i].in, (int)c,
				 (int)m, (int)good[i].count, (int)good[i].max);
	}
	const char *bad[] = {"",       "0",   "-3",  "15-10", "lots",	"12 tanks",
			     "100001", "1.5", "10-", "1e3",   "12-15+", NULL};
	for (size_t i = 0; bad[i]; i++) {
		int32_t c, m;
		if (sl_count_parse(bad[i], &c, &m))
			fail_msg("\"%s\" was accepted", bad[i]);
	}
}

static void test_heading(void **state)
{
	(void)state;
	double d;
	assert_true(sl_heading_parse("N", &d));
	assert_true(d == 0);
	assert_true(sl_heading_parse("ne", &d));
	assert_true(d == 45);
	assert_true(sl_heading_parse("WSW", &d));
	assert_true(d == 247.5);
	assert_true(sl_heading_parse("north-east", &d));
	assert_true(d == 45);
	assert_true(sl_heading_parse("South_West", &d));
	assert_true(d == 225);
	assert_true(sl_heading_parse("270.5", &d));
	assert_true(d == 270.5);
	assert_true(sl_heading_parse("360", &d));
	assert_true(d == 0);
	const char *bad[] = {"", "up", "NNNE", "-1", "361", "nan", "inf", "45deg",
			     "northeast-ish"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (sl_heading_parse(bad[i], &d))
			fail_msg("\"%s\" was accepted", bad[i]);
}

static void test_utf8(void **state)
{
	(void)state;
	const char *ok = "Орша, ст. \xd0\x9e\xd1\x80\xd1\x88\xd0\xb0\n\ttab \xf0\x9f\x9a\x82";
	assert_true(sl_utf8_text_ok(ok, strlen(ok)));
	const struct {
		const char *s;
		size_t n;
	} bad[] = {
		{"\xc3", 1},             /* truncated */
		{"\xc0\xaf", 2},         /* overlong '/' */
		{"\xe0\x80\xaf", 3},     /* overlong */
		{"\xed\xa0\x80", 3},     /* surrogate */
		{"\xf4\x90\x80\x80", 4}, /* beyond U+10FFFF */
		{"\xff", 1},
		{"a\0b", 3},             /* NUL */
		{"bell\x07", 5},
		{"del\x7f", 4},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (sl_utf8_text_ok(bad[i].s, bad[i].n))
			fail_msg("bad case %zu was accepted", i);
}

static void test_valid_reports(void **state)
{
	(void)state;
	sl_problems why = {0};
	sl_report r = valid();
	assert_int_equal(sl_report_validate(&r, NOW, &why), SL_OK);
	assert_int_equal(why.n, 0);

	sl_equipment eq[2] = {{SL_EQ_TANK, "T-72B3", 12, 15}, {SL_EQ_TRUCK, NULL, 3, 0}};
	r.equipment = eq;
	r.n_equipment = 2;
	r.has_until = true;
	r.observed_until = r.observed_at + 600;
	r.has_heading = true;
	r.heading_deg = 45;
	r.text = "Эшелон с танками";
	r.language = "ru";
	r.ref = "UW0067";
	r.location.has_point = false;
	r.location.place = "Orsha";
	assert_int_equal(sl_report_validate(&r, NOW, &why), SL_OK);

	/* Up to ten minutes ahead is clock skew, not the future. */
	r.observed_at = NOW + 600;
	r.observed_until = NOW + 600;
	assert_int_equal(sl_report_validate(&r, NOW, &why), SL_OK);
}

static void test_rules(void **state)
{
	(void)state;
	sl_report r = valid();
	r.location.lat = 123.4;
	expect_one(&r, "location.lat", "123.4 is outside -90..90");
	r = valid();
	r.location.lon = -180.5;
	expect_one(&r, "location.lon", "-180.5 is outside -180..180");
	r = valid();
	r.location.uncertainty_m = -1;
	expect_one(&r, "location.uncertainty_m", "outside");
	r = valid();
	r.location.has_point = false;
	expect_one(&r, "location", "required");
	r = valid();
	r.observed_at = NOW + 601;
	expect_one(&r, "observed_at", "future");
	r = valid();
	r.observed_at = 100;
	expect_one(&r, "observed_at", "before 2000");
	r = valid();
	r.has_until = true;
	r.observed_until = r.observed_at - 1;
	expect_one(&r, "observed_until", "before observed_at");
	r = valid();
	r.has_until = true;
	r.observed_until = r.observed_at - 3600 * 24 * 30;
	expect_one(&r, "observed_until", "before");
	r = valid();
	r.observed_at = NOW - 20 * 86400;
	r.has_until = true;
	r.observed_until = NOW - 86400;
	expect_one(&r, "observed_until", "14 days");
	r = valid();
	r.category = SL_CAT_COUNT;
	expect_one(&r, "category", "not a known");

	sl_equipment eq = {SL_EQ_TANK, NULL, -3, 0};
	r = valid();
	r.equipment = &eq;
	r.n_equipment = 1;
	expect_one(&r, "equipment[0].count", "-3 is outside 1..100000");
	eq.count = 0;
	expect_one(&r, "equipment[0].count", "0 is outside");
	eq.count = 100001;
	expect_one(&r, "equipment[0].count", "100001");
	eq.count = 10;
	eq.count_max = 5;
	expect_one(&r, "equipment[0].count_max", "5 is outside count");
	eq.count_max = 0;
	eq.type = SL_EQ_COUNT;
	expect_one(&r, "equipment[0].type", "not a known");
	eq.type = SL_EQ_TANK;
	eq.model = "";
	expect_one(&r, "equipment[0].model", "empty");

	sl_equipment many[SL_REPORT_MAX_EQUIPMENT + 1];
	for (size_t i = 0; i < SL_REPORT_MAX_EQUIPMENT + 1; i++)
		many[i] = (sl_equipment){SL_EQ_TANK, NULL, 1, 0};
	r = valid();
	r.equipment = many;
	r.n_equipment = SL_REPORT_MAX_EQUIPMENT + 1;
	expect_one(&r, "equipment", "limit of 32");

	char big[SL_REPORT_MAX_TEXT + 2];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	r = valid();
	r.text = big;
	expect_one(&r, "text", "longer than the limit of 8000");
	r = valid();
	r.contact = "a\x01" "b";
	expect_one(&r, "contact", "control characters");
	r = valid();
	r.destination = "\xc3\x28";
	expect_one(&r, "destination", "invalid UTF-8");
	r = valid();
	r.language = "r";
	expect_one(&r, "language", "language tag");
	r = valid();
	r.language = "ru; drop";
	expect_one(&r, "language", "language tag");
	r = valid();
	r.has_heading = true;
	r.heading_deg = 400;
	expect_one(&r, "heading", "outside 0..360");
}

static void test_problems_collect_and_format(void **state)
{
	(void)state;
	sl_report r = {0};
	r.category = SL_CAT_COUNT;
	r.observed_at = NOW + 100000;
	sl_problems why = {0};
	assert_int_equal(sl_report_validate(&r, NOW, &why), SL_EVALID);
	assert_int_equal(why.n, 3);
	char buf[512];
	sl_problems_format(&why, buf, sizeof(buf));
	assert_non_null(strstr(buf, "category: is not a known category"));
	assert_non_null(strstr(buf, "; observed_at: "));
	assert_non_null(strstr(buf, "; location: is required"));

	sl_problems many = {0};
	for (int i = 0; i < SL_PROBLEMS_MAX + 5; i++)
		sl_problems_add(&many, "f", "reason %d", i);
	assert_int_equal(many.n, SL_PROBLEMS_MAX);
	assert_int_equal(many.dropped, 5);
	sl_problems_format(&many, buf, sizeof(buf));
	assert_non_null(strstr(buf, "and 5 more"));
	char tiny[8];
	sl_problems_format(&many, tiny, sizeof(tiny));
	assert_int_equal(strlen(tiny), 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_round_trip),
		cmocka_unit_test(test_time_parse),
		cmocka_unit_test(test_time_parse_local),
		cmocka_unit_test(test_count_parse),
		cmocka_unit_test(test_heading),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_valid_reports),
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_problems_collect_and_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
