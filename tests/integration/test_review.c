/*
 * test_review.c — the moderators' review API end to end against the binary
 * (docs/API.md, "Review API"): the queue and its order, opening a report
 * with the session's key, its photo, claims, edits, grades, verify and
 * reject (seen by the informant's receipt), sealed notes, events, the
 * admin's view of the audit log, and the gate in front of every route.
 *
 * One server is shared by the group, with an admin and two moderators
 * made by the real CLI before it starts, so that everything posted is
 * sealed to all three. group_setup posts three reports: an aircraft seen
 * 10 minutes ago (with a photo from $SHARED_DATA/exif-samples when there),
 * a train seen an hour ago, and an old sighting. The tests run in order
 * and build on each other (the claim test leaves a claim, the events test
 * uses the reports), as a moderator's session would.
 *
 * The last test stops the server, checks that `sightline audit verify`
 * passes, and scans every file of the data directory for the note's canary
 * text: notes are sealed, never on disk in clear.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>

#include "harness.h"

#define MOD "/api/v1/mod"
#define TEXT_CANARY "canary-text-Zq81 tanks on platform 3"
#define NOTE_CANARY "note-canary-Wv27 informant sounds reliable"

static harness_server srv;

/* The reports group_setup posts. */
static long long id_air, id_rail, id_old;
static char receipt_air[64], receipt_rail[64];
static bool have_photo;

/* ---- helpers ---- */

typedef harness_client client;

static void sign_in(const char *name, client *cl)
{
	harness_sign_in(&srv, name, cl);
}

static void req(const client *cl, bool csrf, const char *method, const char *path,
		const char *body, harness_response *out)
{
	harness_mod_request(&srv, cl, csrf, method, path, body, out);
}

static json_t *call(const client *cl, const char *method, const char *path,
		    const char *body, long want)
{
	return harness_mod_call(&srv, cl, method, path, body, want);
}

/* Whether doc, written out, holds a canary (sealed text in clear). */
static bool has_canary(const json_t *doc)
{
	char *text = json_dumps(doc, JSON_COMPACT);
	bool found = text && strstr(text, "canary") != NULL;
	free(text);
	return found;
}

/* The problem's errors name field. */
static void expect_field(json_t *problem, const char *field)
{
	json_t *errors = json_object_get(problem, "errors");
	size_t i;
	json_t *e;
	json_array_foreach(errors, i, e)
	{
		const char *f = json_string_value(json_object_get(e, "field"));
		if (f && strcmp(f, field) == 0)
			return;
	}
	fail_msg("the problem does not name %s: %s", field,
		 json_dumps(problem, JSON_COMPACT));
}

static void path_of(char *buf, size_t size, long long id, const char *tail)
{
	snprintf(buf, size, MOD "/reports/%lld%s", id, tail);
}

static void iso_ago(long seconds, char out[32])
{
	time_t t = time(NULL) - seconds;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Posts a report (with a photo when jpeg is not NULL); returns its id
 * (from the store) and writes its receipt. */
static long long post_report(const char *category, long ago_s, double lat,
			     const void *jpeg, size_t jpeg_len, char receipt[64])
{
	char when[32], body[1024];
	iso_ago(ago_s, when);
	snprintf(body, sizeof(body),
		 "{\"category\":\"%s\",\"observed_at\":\"%s\","
		 "\"location\":{\"lat\":%.4f,\"lon\":27.56,\"place\":\"Minsk\"},"
		 "\"equipment\":[{\"type\":\"tank\",\"count\":3}],"
		 "\"text\":\"" TEXT_CANARY "\"}",
		 category, when, lat);
	harness_response r;
	if (jpeg) {
		harness_multipart m;
		harness_multipart_init(&m);
		harness_multipart_part(&m, "report", NULL, "application/json", body,
				       strlen(body));
		harness_multipart_part(&m, "photo", "IMG_0001.jpg", "image/jpeg", jpeg,
				       jpeg_len);
		harness_multipart_end(&m);
		harness_post_multipart(&srv, "/api/v1/reports", &m, NULL, &r);
		harness_multipart_free(&m);
	} else {
		harness_post_json(&srv, "/api/v1/reports", body, &r);
	}
	harness_expect_status(&r, 201, category);
	json_t *doc = harness_body_json(&r, category);
	snprintf(receipt, 64, "%s", harness_str_field(doc, "receipt", category));
	long long id = json_integer_value(json_object_get(doc, "id"));
	json_decref(doc);
	harness_response_free(&r);
	if (id <= 0)
		fail_msg("no id for the %s report", category);
	return id;
}

static long long count_action(const char *action)
{
	return harness_count_audit(&srv, action);
}

/* ---- group ---- */

static int group_setup(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	/* No engine here: these tests count exact event memberships, which the
	 * engine (test_engine.c) would change under them. */
	static const char *const args[] = {"--engine-interval", "0", NULL};
	harness_server_init(&srv, args);
	harness_moderator_add(&srv, "root", "admin");
	harness_moderator_add(&srv, "mia", "moderator");
	harness_moderator_add(&srv, "ned", "moderator");
	harness_server_launch(&srv);

	char photo[2048] = "";
	const char *shared = getenv("SHARED_DATA");
	if (shared)
		snprintf(photo, sizeof(photo), "%s/exif-samples/jpg_gps_DSCN0010.jpg",
			 shared);
	size_t len = 0;
	char *jpeg = NULL;
	if (photo[0] && access(photo, R_OK) == 0) {
		jpeg = harness_read_file(photo, &len);
		have_photo = true;
	}
	char receipt_old[64];
	id_old = post_report("road_convoy", 3 * 86400, 53.90, NULL, 0, receipt_old);
	id_rail = post_report("rail_transport", 3600, 53.91, NULL, 0, receipt_rail);
	id_air = post_report("aircraft", 600, 53.92, jpeg, len, receipt_air);
	free(jpeg);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	harness_server_cleanup(&srv);
	harness_thread_done();
	return 0;
}

/* ---- tests ---- */

/* Every route without a session is 401; every state change with a session
 * but without the CSRF token is 403; the admin's audit is 403 for a
 * moderator. */
static void test_authorization(void **state)
{
	(void)state;
	char rp[64];
	path_of(rp, sizeof(rp), id_air, "");
	static const struct {
		const char *method, *tail;
		bool report;
	} routes[] = {
	    {"GET", MOD "/queue", false},
	    {"GET", "", true},
	    {"PATCH", "", true},
	    {"GET", "/photos/1", true},
	    {"POST", "/claim", true},
	    {"POST", "/release", true},
	    {"POST", "/grade", true},
	    {"POST", "/verify", true},
	    {"POST", "/reject", true},
	    {"POST", "/notes", true},
	    {"POST", "/attach", true},
	    {"POST", "/detach", true},
	    {"POST", MOD "/events", false},
	    {"GET", MOD "/events", false},
	    {"GET", MOD "/events/1", false},
	    {"GET", MOD "/admin/audit", false},
	};
	client mia;
	sign_in("mia", &mia);
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		char path[256];
		if (routes[i].report)
			snprintf(path, sizeof(path), "%s%s", rp, routes[i].tail);
		else
			snprintf(path, sizeof(path), "%s", routes[i].tail);
		bool change = strcmp(routes[i].method, "GET") != 0;
		harness_response r;
		req(NULL, false, routes[i].method, path, change ? "{}" : NULL, &r);
		char ctx[300];
		snprintf(ctx, sizeof(ctx), "%s %s without a session", routes[i].method,
			 path);
		harness_expect_status(&r, 401, ctx);
		harness_response_free(&r);
		if (change) {
			req(&mia, false, routes[i].method, path, "{}", &r);
			snprintf(ctx, sizeof(ctx), "%s %s without CSRF", routes[i].method,
				 path);
			harness_expect_status(&r, 403, ctx);
			harness_response_free(&r);
		}
	}
	json_t *p = call(&mia, "GET", MOD "/admin/audit", NULL, 403);
	json_decref(p);
	/* Unknown ids are 404; a body that is not JSON is 415, malformed 400. */
	json_decref(call(&mia, "GET", MOD "/reports/999999", NULL, 404));
	json_decref(call(&mia, "GET", MOD "/reports/abc", NULL, 404));
	json_decref(call(&mia, "POST", MOD "/reports/999999/verify", "{}", 404));
	json_decref(call(&mia, "GET", MOD "/events/999999", NULL, 404));
	char gp[64];
	path_of(gp, sizeof(gp), id_old, "/grade");
	json_decref(call(&mia, "POST", gp, "{\"reliability\":", 400));
	harness_response r;
	const char *h[] = {mia.cookie, mia.csrf_h, "Content-Type: text/plain", NULL};
	harness_request(&srv, "POST", gp, h, "x", 1, &r);
	harness_expect_status(&r, 415, "grade as text/plain");
	harness_response_free(&r);
}

/* The queue: open reports by urgency (aircraft now, rail within 6 h, the
 * old one last), clear fields only. */
static void test_queue(void **state)
{
	(void)state;
	client mia;
	sign_in("mia", &mia);
	json_t *doc = call(&mia, "GET", MOD "/queue", NULL, 200);
	json_t *list = json_object_get(doc, "reports");
	if (json_array_size(list) != 3)
		fail_msg("queue: %s", json_dumps(doc, JSON_COMPACT));
	const long long want[] = {id_air, id_rail, id_old};
	const int urgency[] = {3, 2, 0};
	for (size_t i = 0; i < 3; i++) {
		json_t *o = json_array_get(list, i);
		if (json_integer_value(json_object_get(o, "id")) != want[i] ||
		    json_integer_value(json_object_get(o, "urgency")) != urgency[i])
			fail_msg("queue position %zu: want report %lld urgency %d; %s", i,
				 want[i], urgency[i], json_dumps(doc, JSON_COMPACT));
		assert_true(json_is_true(json_object_get(o, "has_text")));
		assert_true(json_is_array(json_object_get(o, "equipment")));
		assert_string_equal(harness_str_field(o, "place", "queue"), "Minsk");
		assert_null(json_object_get(o, "text"));
		assert_null(json_object_get(o, "contact"));
	}
	assert_int_equal(
	    json_integer_value(json_object_get(json_array_get(list, 0), "n_photos")),
	    have_photo ? 1 : 0);
	if (has_canary(doc))
		fail_msg("sealed text in the queue");
	json_decref(doc);
	doc = call(&mia, "GET", MOD "/queue?status=all&limit=1", NULL, 200);
	assert_int_equal(json_array_size(json_object_get(doc, "reports")), 1);
	json_decref(doc);
	json_decref(call(&mia, "GET", MOD "/queue?status=nope", NULL, 422));
	json_decref(call(&mia, "GET", MOD "/queue?limit=x", NULL, 422));
}

/* Opening a report shows its text, logs a "view" first; the photo opens. */
static void test_open_report(void **state)
{
	(void)state;
	client mia;
	sign_in("mia", &mia);
	long long views = count_action("view");
	char p[96];
	path_of(p, sizeof(p), id_air, "");
	json_t *doc = call(&mia, "GET", p, NULL, 200);
	assert_string_equal(harness_str_field(doc, "text", "open"), TEXT_CANARY);
	assert_string_equal(harness_str_field(doc, "status", "open"), "received");
	assert_true(json_is_array(json_object_get(doc, "followups")));
	assert_true(json_is_array(json_object_get(doc, "notes")));
	assert_true(json_is_array(json_object_get(doc, "events")));
	assert_int_equal(
	    json_integer_value(json_object_get(doc, "sealed_items_not_for_you")), 0);
	json_t *photos = json_object_get(doc, "photos");
	assert_int_equal(json_array_size(photos), have_photo ? 1 : 0);
	assert_int_equal(count_action("view"), views + 1);
	assert_int_equal(harness_db_integer(&srv, "SELECT count(*) FROM audit WHERE "
						  "action = 'view' AND actor = 'mia' AND "
						  "detail LIKE '%sealed_opened%'"),
			 views + 1);
	if (have_photo) {
		const char *url =
		    json_string_value(json_object_get(json_array_get(photos, 0), "url"));
		assert_non_null(url);
		harness_response r;
		req(&mia, false, "GET", url, NULL, &r);
		harness_expect_status(&r, 200, url);
		const char *ct = harness_response_header(&r, "Content-Type");
		assert_non_null(ct);
		assert_string_equal(ct, "image/jpeg");
		assert_true(r.body_len > 100);
		assert_true((unsigned char)r.body[0] == 0xff &&
			    (unsigned char)r.body[1] == 0xd8);
		harness_response_free(&r);
		assert_true(count_action("view_photo") >= 1);
		char p2[128];
		path_of(p2, sizeof(p2), id_air, "/photos/2");
		json_decref(call(&mia, "GET", p2, NULL, 404));
	} else {
		print_message("no exif-samples: photo checks skipped\n");
	}
	json_decref(doc);
}

/* A claim holds for 15 minutes; another moderator gets 409 until the
 * holder releases it; claiming moves the report under review. */
static void test_claim(void **state)
{
	(void)state;
	client mia, ned;
	sign_in("mia", &mia);
	sign_in("ned", &ned);
	char p[96];
	path_of(p, sizeof(p), id_rail, "/claim");
	json_t *doc = call(&mia, "POST", p, NULL, 200);
	assert_string_equal(harness_str_field(doc, "claimed_by", "claim"), "mia");
	assert_non_null(harness_str_field(doc, "claimed_until", "claim"));
	json_decref(doc);
	json_decref(call(&mia, "POST", p, "{}", 200)); /* extends it */
	json_decref(call(&ned, "POST", p, "{}", 409));
	char rel[96];
	path_of(rel, sizeof(rel), id_rail, "/release");
	json_decref(call(&ned, "POST", rel, "{}", 409));
	json_t *q = call(&ned, "GET", MOD "/queue", NULL, 200);
	json_t *first_rail = NULL;
	size_t i;
	json_t *o;
	json_array_foreach(json_object_get(q, "reports"), i, o)
	{
		if (json_integer_value(json_object_get(o, "id")) == id_rail)
			first_rail = o;
	}
	assert_non_null(first_rail);
	assert_string_equal(harness_str_field(first_rail, "claimed_by", "queue"), "mia");
	assert_string_equal(harness_str_field(first_rail, "status", "queue"),
			    "under_review");
	json_decref(q);
	json_decref(call(&mia, "POST", rel, "{}", 200));
	doc = call(&ned, "POST", p, "{}", 200);
	assert_string_equal(harness_str_field(doc, "claimed_by", "claim"), "ned");
	json_decref(doc);
	json_decref(call(&ned, "POST", rel, NULL, 200));
	assert_true(count_action("claim") >= 3);
	assert_true(count_action("release") >= 2);
}

/* PATCH: a bad latitude is 422 naming location.lat and changes nothing; a
 * good one moves the point and keeps the place; unknown fields are 422. */
static void test_edit(void **state)
{
	(void)state;
	client mia;
	sign_in("mia", &mia);
	char p[96];
	path_of(p, sizeof(p), id_old, "");
	json_t *doc = call(&mia, "PATCH", p, "{\"location\":{\"lat\":123.0}}", 422);
	expect_field(doc, "location.lat");
	json_decref(doc);
	doc = call(&mia, "PATCH", p, "{\"text\":\"x\"}", 422);
	expect_field(doc, "text");
	json_decref(doc);
	json_decref(call(&mia, "PATCH", p, "{}", 422));
	doc = call(&mia, "PATCH", p, "{\"category\":\"tanks\"}", 422);
	expect_field(doc, "category");
	json_decref(doc);
	doc = call(&mia, "PATCH", p,
		   "{\"location\":{\"lat\":52.1,\"lon\":23.7},\"category\":\"troops\","
		   "\"heading\":\"NE\"}",
		   200);
	json_t *loc = json_object_get(doc, "location");
	assert_true(json_real_value(json_object_get(loc, "lat")) == 52.1);
	assert_true(json_real_value(json_object_get(loc, "lon")) == 23.7);
	assert_string_equal(harness_str_field(loc, "place", "edit"), "Minsk");
	assert_string_equal(harness_str_field(doc, "category", "edit"), "troops");
	assert_string_equal(harness_str_field(doc, "text", "edit"), TEXT_CANARY);
	json_decref(doc);
	assert_true(harness_db_integer(
			&srv, "SELECT count(*) FROM audit WHERE action = 'edit' "
			      "AND detail LIKE '%location%category%heading%'") == 1);
	char sql[128];
	snprintf(sql, sizeof(sql), "SELECT lat * 10 FROM reports WHERE id = %lld",
		 id_old);
	assert_int_equal(harness_db_integer(&srv, sql), 521);
}

/* Grades: A..F and 1..6 only. */
static void test_grade(void **state)
{
	(void)state;
	client mia;
	sign_in("mia", &mia);
	char p[96];
	path_of(p, sizeof(p), id_air, "/grade");
	json_t *doc =
	    call(&mia, "POST", p, "{\"reliability\":\"G\",\"credibility\":2}", 422);
	expect_field(doc, "reliability");
	json_decref(doc);
	doc = call(&mia, "POST", p, "{\"reliability\":\"B\",\"credibility\":7}", 422);
	expect_field(doc, "credibility");
	json_decref(doc);
	doc = call(&mia, "POST", p, "{\"reliability\":\"B\"}", 422);
	expect_field(doc, "credibility");
	json_decref(doc);
	json_decref(
	    call(&mia, "POST", p, "{\"reliability\":\"B\",\"credibility\":2}", 200));
	json_t *q = call(&mia, "GET", MOD "/queue", NULL, 200);
	json_t *g =
	    json_object_get(json_array_get(json_object_get(q, "reports"), 0), "grade");
	assert_string_equal(harness_str_field(g, "reliability", "grade"), "B");
	assert_int_equal(json_integer_value(json_object_get(g, "credibility")), 2);
	json_decref(q);
	assert_int_equal(harness_db_integer(&srv, "SELECT count(*) FROM audit WHERE "
						  "action = 'grade' AND detail LIKE "
						  "'%\"reliability\":\"B\"%'"),
			 1);
}

static const char *receipt_status(const char *receipt)
{
	static char st[32];
	char path[128];
	snprintf(path, sizeof(path), "/api/v1/reports/%s", receipt);
	harness_response r;
	harness_get(&srv, path, &r);
	harness_expect_status(&r, 200, "receipt status");
	json_t *doc = harness_body_json(&r, "receipt status");
	snprintf(st, sizeof(st), "%s", harness_str_field(doc, "status", "receipt"));
	json_decref(doc);
	harness_response_free(&r);
	return st;
}

/* Verify shows on the informant's receipt; reject needs a reason; a
 * decision can be taken again. */
static void test_verify_reject(void **state)
{
	(void)state;
	client mia;
	sign_in("mia", &mia);
	char p[96];
	path_of(p, sizeof(p), id_air, "/verify");
	json_decref(call(&mia, "POST", p, "{\"x\":1}", 422));
	json_decref(call(&mia, "POST", p, "{}", 200));
	assert_string_equal(receipt_status(receipt_air), "verified");

	path_of(p, sizeof(p), id_rail, "/reject");
	json_t *doc = call(&mia, "POST", p, "{}", 422);
	expect_field(doc, "reason");
	json_decref(doc);
	doc = call(&mia, "POST", p, "{\"reason\":\"   \"}", 422);
	expect_field(doc, "reason");
	json_decref(doc);
	char big[700];
	memset(big, 'x', sizeof(big));
	snprintf(big, sizeof(big), "{\"reason\":\"%0600d\"}", 0);
	doc = call(&mia, "POST", p, big, 422);
	expect_field(doc, "reason");
	json_decref(doc);
	doc = call(&mia, "POST", p, "{\"reason\":\"a passenger train\"}", 200);
	assert_string_equal(harness_str_field(doc, "status", "reject"), "rejected");
	json_decref(doc);
	assert_string_equal(receipt_status(receipt_rail), "rejected");
	char g[96];
	path_of(g, sizeof(g), id_rail, "");
	doc = call(&mia, "GET", g, NULL, 200);
	assert_string_equal(harness_str_field(doc, "reject_reason", "get"),
			    "a passenger train");
	json_decref(doc);
	/* Open only: the decided reports leave the queue. */
	json_t *q = call(&mia, "GET", MOD "/queue", NULL, 200);
	assert_int_equal(json_array_size(json_object_get(q, "reports")), 1);
	json_decref(q);
	/* Re-deciding is allowed and logged. */
	path_of(p, sizeof(p), id_rail, "/verify");
	json_decref(call(&mia, "POST", p, NULL, 200));
	assert_string_equal(receipt_status(receipt_rail), "verified");
	assert_int_equal(count_action("verify"), 2);
	assert_int_equal(count_action("reject"), 1);
}

/* Notes are sealed: another moderator reads them, the disk never holds
 * them in clear (test_no_clear_note checks at the end). */
static void test_notes(void **state)
{
	(void)state;
	client mia, ned;
	sign_in("mia", &mia);
	sign_in("ned", &ned);
	char p[96];
	path_of(p, sizeof(p), id_air, "/notes");
	json_t *doc = call(&mia, "POST", p, "{\"text\":\"" NOTE_CANARY "\"}", 201);
	assert_string_equal(harness_str_field(doc, "author", "note"), "mia");
	json_decref(doc);
	doc = call(&mia, "POST", p, "{}", 422);
	expect_field(doc, "text");
	json_decref(doc);
	char big[2100];
	snprintf(big, sizeof(big), "{\"text\":\"%02010d\"}", 0);
	doc = call(&mia, "POST", p, big, 422);
	expect_field(doc, "text");
	json_decref(doc);

	char g[96];
	path_of(g, sizeof(g), id_air, "");
	doc = call(&ned, "GET", g, NULL, 200);
	json_t *notes = json_object_get(doc, "notes");
	assert_int_equal(json_array_size(notes), 1);
	json_t *n = json_array_get(notes, 0);
	assert_string_equal(harness_str_field(n, "text", "note"), NOTE_CANARY);
	assert_string_equal(harness_str_field(n, "author", "note"), "mia");
	assert_non_null(harness_str_field(n, "at", "note"));
	json_decref(doc);
	assert_int_equal(count_action("note"), 1);
	assert_int_equal(harness_db_integer(&srv,
					    "SELECT count(*) FROM sealed WHERE "
					    "kind = 'note' AND author_id IS NOT NULL"),
			 1);
}

static bool ids_are(json_t *arr, const long long *want, size_t n)
{
	if (json_array_size(arr) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (json_integer_value(json_array_get(arr, i)) != want[i])
			return false;
	return true;
}

/* Events: create with reports, attach, detach, list, one; unknown reports
 * and events are 404. */
static void test_events(void **state)
{
	(void)state;
	client ned;
	sign_in("ned", &ned);
	char body[256];
	snprintf(body, sizeof(body), "{\"report_ids\":[%lld]}", id_air);
	json_t *doc = call(&ned, "POST", MOD "/events", body, 201);
	long long ev = json_integer_value(json_object_get(doc, "id"));
	assert_true(ev > 0);
	const long long one[] = {id_air};
	assert_true(ids_are(json_object_get(doc, "report_ids"), one, 1));
	json_decref(doc);
	json_decref(call(&ned, "POST", MOD "/events", "{\"report_ids\":[999999]}", 404));
	doc = call(&ned, "POST", MOD "/events", "{\"report_ids\":\"x\"}", 422);
	expect_field(doc, "report_ids");
	json_decref(doc);
	doc = call(&ned, "POST", MOD "/events", "{\"report_ids\":[],\"category\":\"x\"}",
		   422);
	expect_field(doc, "category");
	json_decref(doc);

	char p[96];
	snprintf(body, sizeof(body), "{\"event_id\":%lld}", ev);
	path_of(p, sizeof(p), id_rail, "/attach");
	json_decref(call(&ned, "POST", p, body, 200));
	json_decref(call(&ned, "POST", p, "{\"event_id\":999999}", 404));
	path_of(p, sizeof(p), id_old, "/attach");
	json_decref(call(&ned, "POST", p, body, 200));
	path_of(p, sizeof(p), id_old, "/detach");
	json_decref(call(&ned, "POST", p, body, 200));

	char ep[64];
	snprintf(ep, sizeof(ep), MOD "/events/%lld", ev);
	doc = call(&ned, "GET", ep, NULL, 200);
	long long two[] = {id_rail < id_air ? id_rail : id_air,
			   id_rail < id_air ? id_air : id_rail};
	if (!ids_are(json_object_get(doc, "report_ids"), two, 2))
		fail_msg("event: %s", json_dumps(doc, JSON_COMPACT));
	assert_string_equal(harness_str_field(doc, "category", "event"), "aircraft");
	assert_string_equal(harness_str_field(doc, "created_by", "event"), "ned");
	assert_non_null(harness_str_field(doc, "created_at", "event"));
	json_decref(doc);

	doc = call(&ned, "GET", MOD "/events?origin=moderator&limit=10", NULL, 200);
	json_t *list = json_object_get(doc, "events");
	assert_int_equal(json_array_size(list), 1);
	assert_int_equal(
	    json_integer_value(json_object_get(json_array_get(list, 0), "id")), ev);
	json_decref(doc);

	char g[96];
	path_of(g, sizeof(g), id_rail, "");
	doc = call(&ned, "GET", g, NULL, 200);
	const long long evs[] = {ev};
	assert_true(ids_are(json_object_get(doc, "events"), evs, 1));
	json_decref(doc);
	assert_int_equal(count_action("event_create"), 1);
	assert_int_equal(count_action("attach"), 2);
	assert_int_equal(count_action("detach"), 1);
	assert_int_equal(harness_db_integer(&srv, "SELECT count(*) FROM events"
						  " WHERE decided_by_moderator = 1"),
			 1);
}

/* The admin reads the log newest first; it holds every action above. */
static void test_admin_audit(void **state)
{
	(void)state;
	client root;
	sign_in("root", &root);
	json_t *doc = call(&root, "GET", MOD "/admin/audit?limit=500", NULL, 200);
	json_t *list = json_object_get(doc, "entries");
	assert_true(json_array_size(list) > 10);
	long long prev = INT64_MAX;
	static const char *const actions[] = {"view", "view_photo",   "claim",	"release",
					      "edit", "grade",	      "verify", "reject",
					      "note", "event_create", "attach", "detach"};
	bool seen[sizeof(actions) / sizeof(actions[0])] = {0};
	size_t i;
	json_t *e;
	json_array_foreach(list, i, e)
	{
		long long seq = json_integer_value(json_object_get(e, "seq"));
		if (seq >= prev)
			fail_msg("audit not newest first at %zu", i);
		prev = seq;
		const char *a = harness_str_field(e, "action", "audit");
		harness_str_field(e, "actor", "audit");
		harness_str_field(e, "subject", "audit");
		harness_str_field(e, "at", "audit");
		assert_non_null(json_object_get(e, "detail"));
		for (size_t k = 0; k < sizeof(actions) / sizeof(actions[0]); k++)
			if (strcmp(a, actions[k]) == 0)
				seen[k] = true;
	}
	for (size_t k = 0; k < sizeof(actions) / sizeof(actions[0]); k++)
		if (!seen[k] && !(strcmp(actions[k], "view_photo") == 0 && !have_photo))
			fail_msg("no %s in the admin's audit view", actions[k]);
	if (has_canary(doc))
		fail_msg("sealed text in the audit log");
	json_decref(doc);
	doc = call(&root, "GET", MOD "/admin/audit?limit=2", NULL, 200);
	assert_int_equal(json_array_size(json_object_get(doc, "entries")), 2);
	json_decref(doc);
}

static void scan_file(void *ud, const char *path)
{
	const char *needle = ud;
	if (harness_file_contains(path, needle, strlen(needle)))
		fail_msg("\"%s\" is in clear in %s", needle, path);
}

/* After a clean stop: the log verifies, and neither the note nor the
 * report's text is anywhere in the data directory in clear. */
static void test_no_clear_note(void **state)
{
	(void)state;
	harness_server_stop_ok(&srv);
	harness_audit_verify(&srv);
	harness_walk_files(srv.dir, scan_file, (void *)NOTE_CANARY);
	harness_walk_files(srv.dir, scan_file, (void *)TEXT_CANARY);
	scan_file((void *)NOTE_CANARY, srv.log);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_authorization), cmocka_unit_test(test_queue),
	    cmocka_unit_test(test_open_report),	  cmocka_unit_test(test_claim),
	    cmocka_unit_test(test_edit),	  cmocka_unit_test(test_grade),
	    cmocka_unit_test(test_verify_reject), cmocka_unit_test(test_notes),
	    cmocka_unit_test(test_events),	  cmocka_unit_test(test_admin_audit),
	    cmocka_unit_test(test_no_clear_note),
	};
	return cmocka_run_group_tests_name("review", tests, group_setup, group_teardown);
}
