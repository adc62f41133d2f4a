/*
 * test_json.c — the JSON form of a report: strict decoding with reasons
 * that name the field, and a lossless encode/decode round trip.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sightline/report_json.h"

#define NOW 1700000000 /* 2023-11-14T22:13:20Z */

static const char FULL[] =
	"{\"category\":\"rail_transport\",\"observed_at\":\"2022-10-10T08:30:00Z\","
	"\"observed_until\":\"2022-10-10T08:45:00+00:00\","
	"\"location\":{\"lat\":54.5123,\"lon\":30.4271,\"uncertainty_m\":300,"
	"\"place\":\"Orsha-Tsentralnaya\"},"
	"\"equipment\":[{\"type\":\"tank\",\"model\":\"T-72B3\",\"count\":12,"
	"\"count_max\":15},{\"type\":\"truck\",\"count\":4}],"
	"\"heading\":\"NE\",\"destination\":\"Smolensk\","
	"\"text\":\"Эшелон: 12 танков на платформах\",\"contact\":\"signal:+000\","
	"\"language\":\"ru\",\"ref\":\"UW0067\"}";

typedef struct fixture {
	sl_arena *a;
	sl_report r;
	sl_problems why;
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	f->a = sl_arena_new(1 << 20);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	sl_arena_free(f->a);
	free(f);
	return 0;
}

static sl_err decode(fixture *f, const char *text)
{
	memset(&f->why, 0, sizeof(f->why));
	sl_arena_reset(f->a);
	return sl_report_from_json_text(text, strlen(text), 0, NOW, f->a, &f->r, &f->why);
}

/* Asserts that text is refused with err and that some reason is on field
 * and contains want. */
static void expect(fixture *f, const char *text, sl_err err, const char *field,
		   const char *want)
{
	sl_err got = decode(f, text);
	char all[2048];
	sl_problems_format(&f->why, all, sizeof(all));
	if (got != err)
		fail_msg("%s: got %s (%s), want %s", text, sl_strerror(got), all,
			 sl_strerror(err));
	for (size_t i = 0; i < f->why.n; i++)
		if (strcmp(f->why.items[i].field, field) == 0 &&
		    strstr(f->why.items[i].message, want))
			return;
	fail_msg("%s: no reason on \"%s\" containing \"%s\"; reasons: %s", text, field,
		 want, all);
}

static void test_full_report(void **state)
{
	fixture *f = *state;
	assert_int_equal(decode(f, FULL), SL_OK);
	sl_report *r = &f->r;
	assert_int_equal(r->category, SL_CAT_RAIL_TRANSPORT);
	assert_int_equal(r->observed_at, 1665390600);
	assert_true(r->has_until);
	assert_int_equal(r->observed_until, 1665391500);
	assert_true(r->location.has_point);
	assert_true(r->location.lat == 54.5123 && r->location.lon == 30.4271);
	assert_true(r->location.uncertainty_m == 300);
	assert_string_equal(r->location.place, "Orsha-Tsentralnaya");
	assert_int_equal(r->n_equipment, 2);
	assert_int_equal(r->equipment[0].type, SL_EQ_TANK);
	assert_string_equal(r->equipment[0].model, "T-72B3");
	assert_int_equal(r->equipment[0].count, 12);
	assert_int_equal(r->equipment[0].count_max, 15);
	assert_null(r->equipment[1].model);
	assert_int_equal(r->equipment[1].count_max, 0);
	assert_true(r->has_heading && r->heading_deg == 45);
	assert_string_equal(r->destination, "Smolensk");
	assert_string_equal(r->text, "Эшелон: 12 танков на платформах");
	assert_string_equal(r->contact, "signal:+000");
	assert_string_equal(r->language, "ru");
	assert_string_equal(r->ref, "UW0067");
	assert_int_equal(r->status, SL_STATUS_RECEIVED);
	assert_int_equal(r->received_at % 60, 0);
}

static void test_minimal_report(void **state)
{
	fixture *f = *state;
	assert_int_equal(decode(f, "{\"category\":\"other\",\"observed_at\":"
				   "\"2023-11-14T20:00:00Z\",\"location\":{\"place\":\"Lida\"},"
				   "\"text\":null,\"equipment\":null}"),
			 SL_OK);
	assert_false(f->r.location.has_point);
	assert_null(f->r.text);
	assert_int_equal(f->r.n_equipment, 0);
	/* A point without uncertainty gets the documented default. */
	assert_int_equal(decode(f, "{\"category\":\"other\",\"observed_at\":"
				   "\"2023-11-14T20:00:00Z\",\"location\":{\"lat\":1,\"lon\":2}}"),
			 SL_OK);
	assert_true(f->r.location.uncertainty_m == SL_REPORT_DEFAULT_UNCERTAINTY);
	assert_true(f->r.location.lat == 1.0);
}

static void test_malformed(void **state)
{
	fixture *f = *state;
	const char *bad[] = {
		"", "{", "{\"a\":}", "{}x", "{\"category\":\"other\"} {}",
		"{\"text\":\"\xc3\x28\"}", "{\"text\":\"\xc0\xaf\"}",
		"{\"text\":\"\\u0000\"}", "{\"text\":\"\\ud800\"}",
		"{\"ref\":\"a\",\"ref\":\"b\"}", "{\"n\":1e400}",
		"{\"n\":99999999999999999999999}", "[[[[[[[[[[", "nul", "'a'",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sl_err e = decode(f, bad[i]);
		if (e != SL_EPARSE)
			fail_msg("case %zu %s: got %s", i, bad[i], sl_strerror(e));
		assert_int_equal(f->why.n, 1);
		assert_non_null(strstr(f->why.items[0].message, "malformed JSON at line"));
	}
	char deep[20001];
	memset(deep, '[', 20000);
	deep[20000] = '\0';
	assert_int_equal(decode(f, deep), SL_EPARSE);
}

static void test_wrong_types_name_the_field(void **state)
{
	fixture *f = *state;
	expect(f, "[]", SL_EVALID, "", "expected a JSON object, got an array");
	expect(f, "\"report\"", SL_EPARSE, "", "malformed JSON");
	expect(f, "{}", SL_EVALID, "category", "is required");
	expect(f, "{}", SL_EVALID, "observed_at", "is required");
	expect(f, "{}", SL_EVALID, "location", "is required");
	expect(f, "{\"category\":5}", SL_EVALID, "category", "expected a string, got an integer");
	expect(f, "{\"category\":\"tnak\"}", SL_EVALID, "category",
	       "\"tnak\" is not one of rail_transport");
	expect(f, "{\"observed_at\":1665390600}", SL_EVALID, "observed_at",
	       "expected an RFC 3339 date-time string");
	expect(f, "{\"observed_at\":\"yesterday\"}", SL_EVALID, "observed_at",
	       "\"yesterday\" is not an RFC 3339 date-time");
	expect(f, "{\"location\":[54,30]}", SL_EVALID, "location", "expected an object");
	expect(f, "{\"location\":{\"lat\":\"54.5\",\"lon\":30}}", SL_EVALID,
	       "location.lat", "expected a number, got a string");
	expect(f, "{\"location\":{\"lat\":54.5}}", SL_EVALID, "location.lon",
	       "is required when lat is given");
	expect(f, "{\"location\":{\"lat\":1,\"lon\":2,\"alt\":3}}", SL_EVALID,
	       "location.alt", "not a known field");
	expect(f, "{\"location\":{\"place\":7}}", SL_EVALID, "location.place",
	       "expected a string");
	expect(f, "{\"equipment\":{}}", SL_EVALID, "equipment", "expected an array");
	expect(f, "{\"equipment\":[5]}", SL_EVALID, "equipment[0]", "expected an object");
	expect(f, "{\"equipment\":[{\"count\":1}]}", SL_EVALID, "equipment[0].type",
	       "is required");
	expect(f, "{\"equipment\":[{\"type\":\"tank\"}]}", SL_EVALID,
	       "equipment[0].count", "is required");
	expect(f, "{\"equipment\":[{\"type\":\"tank\",\"count\":1.5}]}", SL_EVALID,
	       "equipment[0].count", "expected a whole number, got a number");
	expect(f, "{\"equipment\":[{\"type\":\"tank\",\"count\":\"3\"}]}", SL_EVALID,
	       "equipment[0].count", "got a string");
	expect(f, "{\"equipment\":[{\"type\":\"tank\",\"count\":9999999999}]}", SL_EVALID,
	       "equipment[0].count", "9999999999 is outside 1..100000");
	expect(f, "{\"equipment\":[{\"type\":\"tnak\",\"count\":1}]}", SL_EVALID,
	       "equipment[0].type", "\"tnak\" is not one of tank");
	expect(f, "{\"equipment\":[{\"type\":\"tank\",\"count\":1,\"colour\":1}]}",
	       SL_EVALID, "equipment[0].colour", "not a known field");
	expect(f, "{\"heading\":true}", SL_EVALID, "heading", "got a boolean");
	expect(f, "{\"heading\":\"up\"}", SL_EVALID, "heading", "neither a compass point");
	expect(f, "{\"heading\":-5}", SL_EVALID, "heading", "-5 is outside 0..360");
	expect(f, "{\"text\":[\"a\"]}", SL_EVALID, "text", "expected a string, got an array");
	expect(f, "{\"contact\":{}}", SL_EVALID, "contact", "got an object");
	expect(f, "{\"catgory\":\"other\"}", SL_EVALID, "catgory", "not a known field");
	expect(f, "{\"id\":5}", SL_EVALID, "id", "not a known field");
	expect(f, "{\"status\":\"verified\"}", SL_EVALID, "status", "not a known field");
}

static void test_ranges_after_types(void **state)
{
	fixture *f = *state;
	expect(f, "{\"category\":\"other\",\"observed_at\":\"2023-11-14T20:00:00Z\","
		  "\"location\":{\"lat\":123.4,\"lon\":30}}",
	       SL_EVALID, "location.lat", "123.4 is outside -90..90");
	expect(f, "{\"category\":\"other\",\"observed_at\":\"2030-01-01T00:00:00Z\","
		  "\"location\":{\"place\":\"x\"}}",
	       SL_EVALID, "observed_at", "more than 10 minutes in the future");
	expect(f, "{\"category\":\"other\",\"observed_at\":\"2023-11-14T20:00:00Z\","
		  "\"location\":{\"place\":\"x\"},"
		  "\"equipment\":[{\"type\":\"tank\",\"count\":-2}]}",
	       SL_EVALID, "equipment[0].count", "-2 is outside 1..100000");
	expect(f, "{\"category\":\"other\",\"observed_at\":\"2023-11-14T20:00:00Z\","
		  "\"location\":{\"place\":\"a\\u0007b\"}}",
	       SL_EVALID, "location.place", "control characters");
}

static void test_long_values_are_quoted_short(void **state)
{
	fixture *f = *state;
	char text[400];
	/* 100 two-byte letters: the quote must cut between letters. */
	strcpy(text, "{\"category\":\"");
	for (int i = 0; i < 100; i++)
		strcat(text, "ж");
	strcat(text, "\"}");
	assert_int_equal(decode(f, text), SL_EVALID);
	const char *m = f->why.items[0].message;
	assert_true(sl_utf8_text_ok(m, strlen(m)));
	assert_non_null(strstr(m, "...\" is not one of"));
}

static void test_round_trip(void **state)
{
	fixture *f = *state;
	assert_int_equal(decode(f, FULL), SL_OK);
	f->r.id = 42;
	f->r.received_at = 1665391560;
	f->r.status = SL_STATUS_VERIFIED;
	json_t *j = sl_report_to_json(&f->r, SL_JSON_SERVER_FIELDS);
	assert_non_null(j);
	char *text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	sl_report again;
	sl_problems why = {0};
	sl_arena *a2 = sl_arena_new(1 << 20);
	assert_int_equal(sl_report_from_json_text(text, strlen(text), SL_JSON_SERVER_FIELDS,
						  NOW, a2, &again, &why),
			 SL_OK);
	/* Without the flag the server's fields are refused. */
	sl_report plain;
	assert_int_equal(sl_report_from_json_text(text, strlen(text), 0, NOW, a2, &plain,
						  &why),
			 SL_EVALID);
	free(text);
	assert_int_equal(again.id, 0);
	assert_int_equal(again.status, SL_STATUS_VERIFIED);
	assert_int_equal(again.received_at, 1665391560);
	assert_int_equal(again.observed_at, f->r.observed_at);
	assert_int_equal(again.observed_until, f->r.observed_until);
	assert_true(again.location.lat == f->r.location.lat);
	assert_true(again.location.lon == f->r.location.lon);
	assert_true(again.heading_deg == f->r.heading_deg);
	assert_int_equal(again.n_equipment, 2);
	assert_int_equal(again.equipment[0].count_max, 15);
	assert_string_equal(again.equipment[0].model, "T-72B3");
	assert_string_equal(again.text, f->r.text);
	assert_string_equal(again.ref, "UW0067");
	assert_string_equal(again.location.place, "Orsha-Tsentralnaya");
	sl_arena_free(a2);
}

static void test_arena_cap_is_enomem(void **state)
{
	(void)state;
	sl_arena *tiny = sl_arena_new(64);
	sl_report r;
	sl_problems why = {0};
	assert_int_equal(sl_report_from_json_text(FULL, strlen(FULL), 0, NOW, tiny, &r, &why),
			 SL_ENOMEM);
	sl_arena_free(tiny);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_full_report, setup, teardown),
		cmocka_unit_test_setup_teardown(test_minimal_report, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_types_name_the_field, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ranges_after_types, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_values_are_quoted_short, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test(test_arena_cap_is_enomem),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
