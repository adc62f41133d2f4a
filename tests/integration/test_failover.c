/*
 * test_failover.c — two servers on one store: intake on both, the engine
 * on one, and the other taking over when it dies (docs/SCALING.md).
 *
 * Two `serve` processes share a data directory (the same keys) and its
 * store: one PostgreSQL database (its engine elected by an advisory lock),
 * or on SQLite one file (elected by the file lock). Reports posted to
 * either are corroborated by the one that holds the lock, and one server
 * says it follows. That leader is killed with SIGKILL; reports posted to
 * the survivor afterwards are in events within seconds, and the survivor
 * says it took over. Both see the same events throughout.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

static harness_server a, b;
static harness_client mia_a, mia_b;

/* Posts one rail sighting to srv, returns its id. */
static long long post(harness_server *srv, double lat, double lon, int minutes_ago)
{
	char when[32], body[512];
	time_t t = time(NULL) - minutes_ago * 60;
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	snprintf(body, sizeof(body),
		 "{\"category\":\"rail_transport\",\"observed_at\":\"%s\",\"location\":{"
		 "\"lat\":%.5f,\"lon\":%.5f,\"uncertainty_m\":300},\"equipment\":[{"
		 "\"type\":\"tank\",\"count\":12}]}",
		 when, lat, lon);
	harness_response r;
	harness_post_json(srv, "/api/v1/reports", body, &r);
	harness_expect_status(&r, 201, body);
	json_t *doc = harness_body_json(&r, "post");
	long long id = json_integer_value(json_object_get(doc, "id"));
	json_decref(doc);
	harness_response_free(&r);
	return id;
}

typedef struct pair {
	harness_server *srv;
	long long ids[2];
} pair;

/* Both reports in one event. */
static bool together(void *ud)
{
	pair *p = ud;
	long long e0 = harness_event_of(p->srv, p->ids[0]);
	return e0 && harness_event_of(p->srv, p->ids[1]) == e0;
}

static bool log_says(const harness_server *srv, const char *what)
{
	size_t n;
	char *log = harness_server_log(srv, &n);
	bool yes = log && strstr(log, what);
	free(log);
	return yes;
}

/* The event GET path gives on srv: its number of reports. */
static size_t reports_seen(harness_server *srv, harness_client *c, long long ev)
{
	char path[64];
	snprintf(path, sizeof(path), "/api/v1/mod/events/%lld", ev);
	json_t *doc = harness_mod_call(srv, c, "GET", path, NULL, 200);
	size_t n = json_array_size(json_object_get(doc, "report_ids"));
	json_decref(doc);
	return n;
}

static int setup(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	static const char *const args[] = {"--engine-interval", "100",
					   "--rate-per-client", "0", NULL};
	harness_server_init(&a, args);
	harness_moderator_add(&a, "mia", "moderator");
	harness_server_launch(&a);
	harness_server_init_shared(&b, &a, args);
	harness_server_launch(&b);
	harness_sign_in(&a, "mia", &mia_a);
	harness_sign_in(&b, "mia", &mia_b);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	harness_server_cleanup(&b);
	harness_server_cleanup(&a);
	return 0;
}

static void test_takeover(void **state)
{
	(void)state;
	/* Intake on both; one engine corroborates them, whichever posted. */
	pair first = {&a, {post(&a, 54.5095, 30.4233, 20), post(&b, 54.5100, 30.4240, 19)}};
	if (!harness_eventually(together, &first))
		fail_msg("two servers: reports not corroborated into one event");
	long long ev = harness_event_of(&a, first.ids[0]);
	assert_int_equal(reports_seen(&a, &mia_a, ev), 2);
	assert_int_equal(reports_seen(&b, &mia_b, ev), 2);

	/* Exactly one leads; the other says it follows. */
	bool a_follows = log_says(&a, "another process runs it");
	bool b_follows = log_says(&b, "another process runs it");
	if (a_follows == b_follows)
		fail_msg("want exactly one follower (a follows: %d, b follows: %d)",
			 a_follows, b_follows);
	harness_server *leader = a_follows ? &b : &a, *survivor = a_follows ? &a : &b;
	harness_client *c = a_follows ? &mia_a : &mia_b;

	/* The leader dies without a word; what comes after is still grouped. */
	harness_server_kill(leader);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pair after = {survivor,
		      {post(survivor, 52.1000, 26.1000, 15), post(survivor, 52.1005, 26.1008, 14)}};
	if (!harness_eventually(together, &after))
		fail_msg("reports after the leader died not corroborated within 15 s");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("takeover: reports corroborated %.1f s after the leader was killed\n", s);
	assert_true(log_says(survivor, "took over"));
	long long ev2 = harness_event_of(survivor, after.ids[0]);
	assert_true(ev2 != ev);
	assert_int_equal(reports_seen(survivor, c, ev2), 2);
	/* The first event is still there, unchanged. */
	assert_int_equal(reports_seen(survivor, c, ev), 2);
	harness_server_stop_ok(survivor);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_takeover, setup, teardown),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	harness_thread_done();
	return rc;
}
