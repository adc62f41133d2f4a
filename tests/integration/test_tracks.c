/*
 * test_tracks.c — the tracker inside the real server, and the moderators'
 * tracks and summary API (GET /api/v1/mod/tracks, /tracks/{id},
 * /summary).
 *
 * The server runs its engine and tracker every 100 ms, with the borders of
 * node_modules/world-atlas and, when ../shared/data is there, the region's
 * rail network. A train posted as seen at seven stations from Minsk to
 * Orsha becomes one track (and a sighting 300 km away one of its own)
 * moving toward Russia; its route and events are in the API; the summary
 * counts it. Bad parameters are refused with 422 naming the field, an
 * unknown track with 404, a stranger with 401; after a restart the track
 * is the same, with the same id.
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

static harness_server srv;
static harness_client mia;
static bool have_borders;

static void post(double lat, double lon, int minutes_ago, const char *heading)
{
	char when[32], body[512];
	time_t t = time(NULL) - minutes_ago * 60;
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	snprintf(body, sizeof(body),
		 "{\"category\":\"rail_transport\",\"observed_at\":\"%s\",\"location\":{"
		 "\"lat\":%.5f,\"lon\":%.5f,\"uncertainty_m\":300}%s%s%s,\"equipment\":[{"
		 "\"type\":\"tank\",\"count\":24},{\"type\":\"truck\",\"count\":6}]}",
		 when, lat, lon, heading ? ",\"heading\":\"" : "", heading ? heading : "",
		 heading ? "\"" : "");
	harness_response r;
	harness_post_json(&srv, "/api/v1/reports", body, &r);
	harness_expect_status(&r, 201, body);
	harness_response_free(&r);
}

/* Minsk to Orsha at about 60 km/h: seven stations, two sightings each. */
static const struct {
	double lat, lon;
	int minutes_ago;
} line[] = {
    {53.8906, 27.5507, 300}, {54.0300, 28.0870, 265}, {54.0930, 28.3330, 250},
    {54.2290, 28.5050, 230}, {54.3200, 29.1440, 190}, {54.4070, 29.6970, 150},
    {54.5081, 30.4172, 105},
};

static long long count_of(const char *sql)
{
	return harness_db_integer(&srv, sql);
}

static bool tracked(void)
{
	for (int i = 0; i < 200; i++) {
		if (count_of("SELECT count(*) FROM tracks WHERE n_events >= 6") >= 1 &&
		    count_of("SELECT count(*) FROM tracks") >= 2)
			return true;
		usleep(50 * 1000);
	}
	return false;
}

static int group_setup(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	static const char *args[12];
	size_t n = 0;
	args[n++] = "--engine-interval", args[n++] = "100";
	args[n++] = "--rate-per-client", args[n++] = "0";
	const char *atlas = getenv("WORLD_ATLAS");
	have_borders = atlas && access(atlas, R_OK) == 0;
	args[n++] = "--borders", args[n++] = have_borders ? atlas : "none";
	static char rail[1024];
	const char *shared = getenv("SHARED_DATA");
	snprintf(rail, sizeof(rail), "%s/geo/region-rail.geojson", shared ? shared : "");
	if (shared && access(rail, R_OK) == 0)
		args[n++] = "--network", args[n++] = rail;
	args[n] = NULL;
	harness_server_init(&srv, args);
	harness_moderator_add(&srv, "mia", "moderator");
	harness_server_launch(&srv);
	for (size_t i = 0; i < sizeof(line) / sizeof(line[0]); i++) {
		post(line[i].lat, line[i].lon, line[i].minutes_ago, i % 2 ? "E" : NULL);
		post(line[i].lat + 0.001, line[i].lon + 0.001, line[i].minutes_ago - 2,
		     NULL);
	}
	post(52.1000, 26.1000, 200, NULL); /* Luninets way: another train */
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

static json_t *get(const char *path, long want)
{
	return harness_mod_call(&srv, &mia, "GET", path, NULL, want);
}

/* The track with the most events in the list answer doc. */
static json_t *longest(json_t *doc)
{
	json_t *best = NULL;
	size_t i;
	json_t *t;
	json_array_foreach(json_object_get(doc, "tracks"), i, t)
	{
		if (!best || json_array_size(json_object_get(t, "events")) >
				 json_array_size(json_object_get(best, "events")))
			best = t;
	}
	return best;
}

static long long track_id;

static void test_server_tracks(void **state)
{
	(void)state;
	if (!tracked())
		fail_msg("no track of the train within 10 s: %lld tracks",
			 count_of("SELECT count(*) FROM tracks"));
	json_t *doc = get(MOD "/tracks", 200);
	json_t *t = longest(doc);
	assert_non_null(t);
	assert_int_equal(json_array_size(json_object_get(t, "events")), 7);
	assert_int_equal(json_integer_value(json_object_get(t, "n_reports")), 14);
	assert_string_equal(json_string_value(json_object_get(t, "category")),
			    "rail_transport");
	json_t *eq = json_array_get(json_object_get(t, "equipment"), 0);
	assert_string_equal(json_string_value(json_object_get(eq, "type")), "tank");
	assert_int_equal(json_integer_value(json_object_get(eq, "count")), 24);
	double km = json_real_value(json_object_get(t, "length_km"));
	if (km < 190 || km > 260)
		fail_msg("Minsk to Orsha is %.1f km along the track, want about 210", km);
	json_t *dir = json_object_get(t, "direction");
	const char *cls = json_string_value(json_object_get(dir, "class"));
	if (have_borders) {
		assert_string_equal(cls, "toward_russia");
		assert_true(json_is_true(json_object_get(dir, "toward_russia")));
		assert_true(json_real_value(json_object_get(dir, "russia_change_km")) < -100);
		json_t *x = json_object_get(t, "crossing");
		assert_int_equal(json_integer_value(json_object_get(x, "country")), 643);
	} else {
		assert_string_equal(cls, "unknown");
	}
	track_id = json_integer_value(json_object_get(t, "id"));
	json_decref(doc);
	/* One track in full: its route, and the refs of its reports (these
	 * came from the API, so they have none). */
	char p[64];
	snprintf(p, sizeof(p), MOD "/tracks/%lld", track_id);
	doc = get(p, 200);
	json_t *route = json_object_get(doc, "route");
	assert_true(json_array_size(route) >= 2);
	json_t *first = json_array_get(route, 0);
	assert_true(fabs(json_real_value(json_array_get(first, 0)) - 27.55) < 0.1);
	assert_int_equal(json_array_size(json_object_get(doc, "event_reports")), 7);
	json_decref(doc);
	/* Filters: by direction, by events, newest first with a cursor. */
	doc = get(MOD "/tracks?min_events=5", 200);
	assert_int_equal(json_array_size(json_object_get(doc, "tracks")), 1);
	json_decref(doc);
	doc = get(MOD "/tracks?limit=1", 200);
	assert_int_equal(json_array_size(json_object_get(doc, "tracks")), 1);
	assert_true(json_is_integer(json_object_get(doc, "next")));
	json_decref(doc);
	if (have_borders) {
		doc = get(MOD "/tracks?direction=toward_ukraine", 200);
		size_t i;
		json_t *x;
		json_array_foreach(json_object_get(doc, "tracks"), i, x)
			assert_int_not_equal(json_integer_value(json_object_get(x, "id")),
					     track_id);
		json_decref(doc);
	}
}

static void test_summary(void **state)
{
	(void)state;
	json_t *doc = get(MOD "/summary?period=day", 200);
	assert_string_equal(json_string_value(json_object_get(doc, "period")), "day");
	json_t *total = json_object_get(doc, "total");
	json_t *moves = json_object_get(total, "movements");
	long long lo = json_integer_value(json_object_get(moves, "min"));
	long long hi = json_integer_value(json_object_get(moves, "max"));
	long long c = json_integer_value(json_object_get(moves, "count"));
	/* The train, sure; the lone sighting, unsure. */
	if (!(lo >= 1 && hi == 2 && lo <= c && c <= hi))
		fail_msg("movements %lld (%lld-%lld), want 1-2 with the train sure", c, lo, hi);
	assert_true(json_array_size(json_object_get(doc, "periods")) >= 1);
	json_t *tanks = json_array_get(json_object_get(total, "equipment"), 0);
	assert_string_equal(json_string_value(json_object_get(tanks, "type")), "tank");
	assert_true(json_integer_value(json_object_get(tanks, "min")) >= 20);
	if (have_borders) {
		size_t i;
		json_t *d;
		long long to_russia = 0;
		json_array_foreach(json_object_get(total, "directions"), i, d)
			if (strcmp(json_string_value(json_object_get(d, "class")),
				   "toward_russia") == 0)
				to_russia = json_integer_value(json_object_get(
				    json_object_get(d, "movements"), "max"));
		assert_int_equal(to_russia, 1);
	}
	json_decref(doc);
	/* A week by its bounds: every day of it, the empty ones too. */
	char p[256], from[32], to[32];
	time_t now = time(NULL);
	time_t a = now - 3 * 86400, b = now + 4 * 86400;
	strftime(from, sizeof(from), "%Y-%m-%dT00:00:00Z", gmtime(&a));
	strftime(to, sizeof(to), "%Y-%m-%dT00:00:00Z", gmtime(&b));
	snprintf(p, sizeof(p), MOD "/summary?period=day&from=%s&to=%s", from, to);
	doc = get(p, 200);
	assert_int_equal(json_array_size(json_object_get(doc, "periods")), 7);
	json_decref(doc);
	doc = get(MOD "/summary?period=month&category=road_convoy", 200);
	moves = json_object_get(json_object_get(doc, "total"), "movements");
	assert_int_equal(json_integer_value(json_object_get(moves, "max")), 0);
	json_decref(doc);
}

static void test_refused(void **state)
{
	(void)state;
	static const struct {
		const char *path, *field;
	} bad[] = {
	    {MOD "/summary?period=fortnight", "period"},
	    {MOD "/summary?from=yesterday", "from"},
	    {MOD "/summary?to=2022-13-01T00:00:00Z", "to"},
	    {MOD "/summary?from=2022-10-11T00:00:00Z&to=2022-10-10T00:00:00Z", "to"},
	    {MOD "/summary?category=tanks", "category"},
	    {MOD "/summary?period=day&from=1990-01-01T00:00:00Z&to=2022-01-01T00:00:00Z",
	     "period"},
	    {MOD "/tracks?direction=north", "direction"},
	    {MOD "/tracks?limit=0", "limit"},
	    {MOD "/tracks?before=abc", "before"},
	    {MOD "/tracks?min_events=-1", "min_events"},
	    {MOD "/tracks?from=2022-10-11T00:00:00Z&to=2022-10-10T00:00:00Z", "to"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *doc = get(bad[i].path, 422);
		const char *f = json_string_value(json_object_get(
		    json_array_get(json_object_get(doc, "errors"), 0), "field"));
		if (!f || strcmp(f, bad[i].field) != 0)
			fail_msg("%s: errors name %s, want %s", bad[i].path, f ? f : "nothing",
				 bad[i].field);
		json_decref(doc);
	}
	json_decref(get(MOD "/tracks/999999", 404));
	json_decref(get(MOD "/tracks/abc", 404));
	harness_response r;
	harness_mod_request(&srv, NULL, false, "GET", MOD "/summary", NULL, &r);
	harness_expect_status(&r, 401, "anonymous summary");
	harness_response_free(&r);
	harness_mod_request(&srv, NULL, false, "GET", MOD "/tracks", NULL, &r);
	harness_expect_status(&r, 401, "anonymous tracks");
	if (r.body && strstr(r.body, "rail"))
		fail_msg("401 body mentions a track: %s", r.body);
	harness_response_free(&r);
	harness_server_assert_alive(&srv);
}

static void test_restart(void **state)
{
	(void)state;
	long long before = count_of("SELECT count(*) FROM tracks");
	harness_server_stop_ok(&srv);
	harness_server_restart(&srv);
	harness_sign_in(&srv, "mia", &mia);
	usleep(500 * 1000);
	assert_int_equal(count_of("SELECT count(*) FROM tracks"), before);
	char p[64];
	snprintf(p, sizeof(p), MOD "/tracks/%lld", track_id);
	json_t *doc = get(p, 200);
	assert_int_equal(json_array_size(json_object_get(doc, "events")), 7);
	json_decref(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_server_tracks),
	    cmocka_unit_test(test_summary),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_restart),
	};
	int rc = cmocka_run_group_tests(tests, group_setup, group_teardown);
	harness_thread_done();
	return rc;
}
