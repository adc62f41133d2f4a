/*
 * test_events.c — the corroboration engine inside the real server, and the
 * moderators' events API (GET /api/v1/mod/events with its filters, merge,
 * split).
 *
 * The server runs its engine every 100 ms. Reports posted the way an
 * informant's client posts them become events within seconds: four
 * sightings of one train at Orsha are one event, a sighting 300 km away
 * and an aircraft are events of their own. The filters select what they
 * say and refuse bad values with the field's name, changing nothing. A
 * moderator's detach, merge and split hold against the engine, through a
 * restart, and are in the audit log.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define MOD "/api/v1/mod"
#define EVENTS MOD "/events"

static harness_server srv;
static harness_client mia;
static long long orsha[4], far_id, air_id;

/* Posts one report, returns its id. */
static long long post(const char *category, double lat, double lon, int minutes_ago,
		      int tanks)
{
	char when[32], body[512];
	time_t t = time(NULL) - minutes_ago * 60;
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	snprintf(body, sizeof(body),
		 "{\"category\":\"%s\",\"observed_at\":\"%s\",\"location\":{\"lat\":%.5f,"
		 "\"lon\":%.5f,\"uncertainty_m\":300},\"heading\":\"NE\",\"equipment\":[{"
		 "\"type\":\"tank\",\"count\":%d}]}",
		 category, when, lat, lon, tanks);
	harness_response r;
	harness_post_json(&srv, "/api/v1/reports", body, &r);
	harness_expect_status(&r, 201, body);
	json_t *doc = harness_body_json(&r, "post");
	long long id = json_integer_value(json_object_get(doc, "id"));
	json_decref(doc);
	harness_response_free(&r);
	return id;
}

/* The events GET path answers, as a JSON object (caller decrefs). */
static json_t *get(const char *path, long want)
{
	return harness_mod_call(&srv, &mia, "GET", path, NULL, want);
}

static long long event_of(long long id)
{
	return harness_event_of(&srv, id);
}

static long long events_of(long long id)
{
	char sql[128];
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM event_reports WHERE report_id = %lld", id);
	return harness_db_integer(&srv, sql);
}

static bool all_placed(void *ud)
{
	(void)ud;
	long long ids[] = {orsha[0], orsha[1], orsha[2], orsha[3], far_id, air_id};
	for (size_t i = 0; i < 6; i++)
		if (!event_of(ids[i]))
			return false;
	return true;
}

static int group_setup(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	static const char *const args[] = {"--engine-interval", "100",
					   "--rate-per-client", "0", NULL};
	harness_server_init(&srv, args);
	harness_moderator_add(&srv, "mia", "moderator");
	harness_server_launch(&srv);
	orsha[0] = post("rail_transport", 54.5095, 30.4233, 30, 12);
	orsha[1] = post("rail_transport", 54.5105, 30.4250, 29, 12);
	orsha[2] = post("rail_transport", 54.5085, 30.4215, 28, 13);
	orsha[3] = post("rail_transport", 54.5100, 30.4240, 27, 11);
	far_id = post("rail_transport", 52.1000, 26.1000, 30, 12);
	air_id = post("aircraft", 53.6000, 27.3000, 10, 0 + 1);
	harness_sign_in(&srv, "mia", &mia);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	harness_server_stop_ok(&srv);
	harness_server_cleanup(&srv);
	return 0;
}

/* The engine in the server groups what was posted. */
static void test_server_corroborates(void **state)
{
	(void)state;
	if (!harness_eventually(all_placed, NULL))
		fail_msg("reports not in events after 10 s");
	long long ev = event_of(orsha[0]);
	for (int i = 1; i < 4; i++)
		assert_int_equal(event_of(orsha[i]), ev);
	assert_true(event_of(far_id) != ev);
	assert_true(event_of(air_id) != ev && event_of(air_id) != event_of(far_id));
	char p[64];
	snprintf(p, sizeof(p), EVENTS "/%lld", ev);
	json_t *doc = get(p, 200);
	assert_string_equal(harness_str_field(doc, "category", p), "rail_transport");
	assert_string_equal(harness_str_field(doc, "origin", p), "engine");
	assert_int_equal(json_array_size(json_object_get(doc, "report_ids")), 4);
	json_t *loc = json_object_get(doc, "location");
	double lat = json_real_value(json_object_get(loc, "lat"));
	double lon = json_real_value(json_object_get(loc, "lon"));
	if (fabs(lat - 54.5096) > 0.002 || fabs(lon - 30.4235) > 0.003)
		fail_msg("event at %f %f, want near Orsha station", lat, lon);
	double conf = json_real_value(json_object_get(doc, "confidence"));
	if (conf < 0.7 || conf > 1)
		fail_msg("confidence of four agreeing reports %.3f, want 0.7..1", conf);
	json_t *eq = json_array_get(json_object_get(doc, "equipment"), 0);
	assert_string_equal(harness_str_field(eq, "type", "equipment"), "tank");
	assert_int_equal(json_integer_value(json_object_get(eq, "count")), 12);
	assert_non_null(json_object_get(json_object_get(doc, "time"), "start"));
	json_decref(doc);
}

static size_t count_of(const char *query)
{
	char p[512];
	snprintf(p, sizeof(p), EVENTS "?%s", query);
	json_t *doc = get(p, 200);
	json_t *list = json_object_get(doc, "events");
	if (!json_is_array(list))
		fail_msg("%s: no events array", p);
	size_t n = json_array_size(list);
	json_decref(doc);
	return n;
}

static void test_filters(void **state)
{
	(void)state;
	assert_true(harness_eventually(all_placed, NULL));
	assert_int_equal(count_of("origin=engine"), 3);
	assert_int_equal(count_of("bbox=30.3,54.4,30.5,54.6"), 1);
	assert_int_equal(count_of("bbox=20,40,21,41"), 0);
	assert_int_equal(count_of("category=aircraft"), 1);
	assert_int_equal(count_of("category=naval"), 0);
	assert_int_equal(count_of("min_reports=2"), 1);
	char q[160], when[32];
	time_t t = time(NULL) - 20 * 60;
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	snprintf(q, sizeof(q), "from=%s", when);
	assert_int_equal(count_of(q), 1); /* only the aircraft, 10 minutes ago */
	snprintf(q, sizeof(q), "to=%s", when);
	assert_int_equal(count_of(q), 2);
	/* Pages: newest first, "next" is the cursor. */
	json_t *doc = get(EVENTS "?limit=2", 200);
	json_t *next = json_object_get(doc, "next");
	assert_true(json_is_integer(next));
	snprintf(q, sizeof(q), EVENTS "?limit=2&before=%lld", json_integer_value(next));
	json_decref(doc);
	doc = get(q, 200);
	assert_int_equal(json_array_size(json_object_get(doc, "events")), 1);
	assert_true(json_is_null(json_object_get(doc, "next")));
	json_decref(doc);
}

/* Each bad filter: 422 naming it; the server serves on. */
static void test_bad_filters(void **state)
{
	(void)state;
	static const struct {
		const char *query, *field;
	} bad[] = {
	    {"bbox=1,2,3", "bbox"},
	    {"bbox=a,b,c,d", "bbox"},
	    {"bbox=200,0,201,1", "bbox"},
	    {"bbox=30,55,29,54", "bbox"},
	    {"bbox=1,2,3,4,5", "bbox"},
	    {"from=yesterday", "from"},
	    {"to=2022-13-01T00:00:00Z", "to"},
	    {"from=2022-10-11T00:00:00Z&to=2022-10-10T00:00:00Z", "to"},
	    {"category=tanks", "category"},
	    {"min_reports=-1", "min_reports"},
	    {"min_reports=9999999999", "min_reports"},
	    {"limit=0", "limit"},
	    {"limit=x", "limit"},
	    {"origin=somebody", "origin"},
	    {"before=abc", "before"},
	    {"before=0", "before"},
	};
	long long before = harness_db_integer(&srv, "SELECT count(*) FROM events");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char p[256];
		snprintf(p, sizeof(p), EVENTS "?%s", bad[i].query);
		json_t *doc = get(p, 422);
		json_t *errors = json_object_get(doc, "errors");
		const char *f = json_string_value(
		    json_object_get(json_array_get(errors, 0), "field"));
		if (!f || strcmp(f, bad[i].field) != 0)
			fail_msg("%s: errors name %s, want %s", p, f ? f : "nothing",
				 bad[i].field);
		json_decref(doc);
	}
	assert_int_equal(harness_db_integer(&srv, "SELECT count(*) FROM events"), before);
	harness_server_assert_alive(&srv);
	/* Anonymous callers learn nothing; a change without CSRF is refused. */
	harness_response r;
	harness_mod_request(&srv, NULL, false, "GET", EVENTS, NULL, &r);
	harness_expect_status(&r, 401, "anonymous events");
	if (r.body && strstr(r.body, "rail"))
		fail_msg("401 body mentions an event: %s", r.body);
	harness_response_free(&r);
	char p[64];
	snprintf(p, sizeof(p), EVENTS "/%lld/merge", event_of(orsha[0]));
	harness_mod_request(&srv, &mia, false, "POST", p, "{\"event_id\":1}", &r);
	harness_expect_status(&r, 403, "merge without CSRF");
	harness_response_free(&r);
}

/* The console's events page (server-rendered HTML) shows the engine's
 * events with their estimate, takes the API's filters, and names a bad one
 * without echoing it. */
static void test_console_events(void **state)
{
	(void)state;
	assert_true(harness_eventually(all_placed, NULL));
	const char *h[] = {mia.cookie, NULL};
	harness_response r;
	harness_request(&srv, "GET", "/mod/events?origin=engine&category=rail_transport",
			h, NULL, 0, &r);
	harness_expect_status(&r, 200, "events page");
	const char *want[] = {"by <span class=\"by\">the engine</span>",
			      "class=\"ev-confidence\"", "12 × tank",
			      "class=\"ev-where\"", "<option value=\"engine\" selected>"};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (!r.body || !strstr(r.body, want[i]))
			fail_msg("events page lacks %s", want[i]);
	if (strstr(r.body, " — Aircraft</h3>"))
		fail_msg("category=rail_transport shows an aircraft event");
	harness_response_free(&r);
	harness_request(&srv, "GET", "/mod/events?category=%3Cscript%3E", h, NULL, 0, &r);
	harness_expect_status(&r, 200, "events page, bad filter");
	if (!strstr(r.body, "category: is not a known category") ||
	    strstr(r.body, "<script>"))
		fail_msg("bad filter: not named, or echoed");
	harness_response_free(&r);
}

static bool detached_alone(void *ud)
{
	long long *ids = ud; /* report, old event */
	long long now = event_of(ids[0]);
	return now && now != ids[1] && events_of(ids[0]) == 1;
}

static long long count_action(const char *action)
{
	char sql[128];
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM audit WHERE action = '%s'",
		 action);
	return harness_db_integer(&srv, sql);
}

/* Detach, merge and split through the API; the engine keeps to them. */
static void test_moderators_decide(void **state)
{
	(void)state;
	assert_true(harness_eventually(all_placed, NULL));
	long long ev = event_of(orsha[0]);
	char p[96], body[96];
	snprintf(p, sizeof(p), "/api/v1/mod/reports/%lld/detach", orsha[3]);
	snprintf(body, sizeof(body), "{\"event_id\":%lld}", ev);
	json_decref(harness_mod_call(&srv, &mia, "POST", p, body, 200));
	long long wait[] = {orsha[3], ev};
	if (!harness_eventually(detached_alone, wait))
		fail_msg("detached report %lld: in event %lld", orsha[3],
			 event_of(orsha[3]));
	long long alone = event_of(orsha[3]);
	usleep(500 * 1000); /* a few more syncs: it must not come back */
	assert_int_equal(event_of(orsha[3]), alone);

	/* Merge the lone one back by hand: that is a moderator's to do. */
	snprintf(p, sizeof(p), EVENTS "/%lld/merge", ev);
	snprintf(body, sizeof(body), "{\"event_id\":%lld}", alone);
	json_t *doc = harness_mod_call(&srv, &mia, "POST", p, body, 200);
	assert_int_equal(json_array_size(json_object_get(doc, "report_ids")), 4);
	assert_string_equal(harness_str_field(doc, "origin", "merge"), "moderator");
	json_decref(doc);
	assert_int_equal(count_action("event_merge"), 1);
	json_decref(
	    harness_mod_call(&srv, &mia, "POST", p, "{\"event_id\":999999}", 404));
	snprintf(body, sizeof(body), "{\"event_id\":%lld}", ev);
	json_decref(harness_mod_call(&srv, &mia, "POST", p, body, 422));
	json_decref(harness_mod_call(&srv, &mia, "POST", p, "{\"event\":1}", 422));
	json_decref(harness_mod_call(&srv, &mia, "POST", EVENTS "/999999/merge",
				     "{\"event_id\":1}", 404));

	/* Split two reports out. */
	snprintf(p, sizeof(p), EVENTS "/%lld/split", ev);
	snprintf(body, sizeof(body), "{\"report_ids\":[%lld,%lld]}", orsha[2], orsha[3]);
	doc = harness_mod_call(&srv, &mia, "POST", p, body, 201);
	long long split = json_integer_value(json_object_get(doc, "id"));
	assert_int_equal(json_array_size(json_object_get(doc, "report_ids")), 2);
	json_decref(doc);
	assert_int_equal(count_action("event_split"), 1);
	snprintf(body, sizeof(body), "{\"report_ids\":[%lld]}", far_id);
	json_decref(harness_mod_call(&srv, &mia, "POST", p, body, 422));
	snprintf(body, sizeof(body), "{\"report_ids\":[%lld,%lld]}", orsha[0], orsha[1]);
	json_decref(
	    harness_mod_call(&srv, &mia, "POST", p, body, 422)); /* none would stay */
	json_decref(harness_mod_call(&srv, &mia, "POST", p, "{\"report_ids\":[]}", 422));
	json_decref(
	    harness_mod_call(&srv, &mia, "POST", p, "{\"report_ids\":[\"x\"]}", 422));
	usleep(500 * 1000);
	assert_int_equal(event_of(orsha[2]), split);
	assert_int_equal(event_of(orsha[0]), ev);

	/* A restart rebuilds the engine from the store: nothing moves. */
	harness_server_stop_ok(&srv);
	harness_server_restart(&srv);
	harness_sign_in(&srv, "mia", &mia);
	post("rail_transport", 54.5095, 30.4233, 26,
	     12); /* fits: placed, nothing moved */
	usleep(800 * 1000);
	assert_int_equal(event_of(orsha[2]), split);
	assert_int_equal(event_of(orsha[3]), split);
	assert_int_equal(event_of(orsha[0]), ev);
	assert_int_equal(event_of(orsha[1]), ev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_server_corroborates),
	    cmocka_unit_test(test_filters),
	    cmocka_unit_test(test_bad_filters),
	    cmocka_unit_test(test_console_events),
	    cmocka_unit_test(test_moderators_decide),
	};
	return cmocka_run_group_tests_name("events", tests, group_setup, group_teardown);
}
