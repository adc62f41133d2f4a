/*
 * test_crash.c — a power cut at the worst moment: the server is killed
 * with SIGKILL while reports pour in, again and again, and must lose
 * nothing it acknowledged (docs/RELIABILITY.md).
 *
 * One data directory lives through every trial. A trial starts the
 * server, lets four clients post reports as fast as they can (JSON, and
 * every fourth one multipart with a photo), each with a ref of its own and
 * fields drawn from a seeded generator, and kills the server at a random
 * moment between 0 and 1.2 s after the clients start — while intake seals,
 * the writer commits, the engine syncs, the publisher writes. Then the
 * server is started again on the same directory, and:
 *
 *   - it starts (prints its port) and answers /healthz and a new report;
 *   - PRAGMA integrity_check says "ok";
 *   - every report whose 201 a client received, in this trial or any
 *     before, is in `sightline export` once, by its id, with every field
 *     as it was sent, and its text (and photo) sealed beside it;
 *   - its receipt still finds it.
 *
 * CRASH_TRIALS (default 10, what make check runs; RELIABILITY=1, as make
 * reliability sets it, makes it 200) and CRASH_SEED (default: the time) say how many and
 * which; the seed is printed, so a failing run can be repeated.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define CLIENTS 4
#define KILL_WINDOW_MS 1200
#define REPORTS "/api/v1/reports"

/* One acknowledged report: what was sent, and what the 201 said. */
typedef struct ack {
	long long id;
	char ref[48];
	char receipt[40];
	json_t *sent; /* the report as posted, text included */
	bool photo;
} ack;

static struct {
	pthread_mutex_t lock;
	ack *acks;
	size_t n, cap;
} acked = {.lock = PTHREAD_MUTEX_INITIALIZER};

static harness_server srv;
static uint64_t seed;
static int trials;

static uint64_t next(uint64_t *s)
{
	/* splitmix64 */
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double unit(uint64_t *s)
{
	return (double)(next(s) >> 11) / 9007199254740992.0;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* A report with fields from s and the given ref. Coordinates have six
 * decimals and the uncertainty a fraction, so that the export's numbers
 * can be compared exactly. */
static json_t *make_report(uint64_t *s, const char *ref)
{
	static const char *const cats[] = {"rail_transport", "road_convoy", "aircraft",
					   "troops"};
	static const char *const types[] = {"tank", "ifv", "truck", "artillery"};
	char when[32];
	time_t t = 1665390600 + (time_t)(next(s) % 86400);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	double lat = round((51.3 + 4.8 * unit(s)) * 1e6) / 1e6;
	double lon = round((23.3 + 9.4 * unit(s)) * 1e6) / 1e6;
	json_t *eq = json_array();
	for (uint64_t i = 0, n = 1 + next(s) % 3; i < n; i++)
		json_array_append_new(eq,
				      json_pack("{s:s, s:I}", "type", types[next(s) % 4],
						"count", (json_int_t)(1 + next(s) % 40)));
	char text[96];
	snprintf(text, sizeof(text), "crash test %s: %llu wagons", ref,
		 (unsigned long long)(next(s) % 60));
	return json_pack("{s:s, s:s, s:{s:f, s:f, s:f}, s:o, s:f, s:s, s:s, s:s}",
			 "category", cats[next(s) % 4], "observed_at", when, "location",
			 "lat", lat, "lon", lon, "uncertainty_m",
			 250.5 + (double)(next(s) % 1000), "equipment", eq, "heading",
			 (double)(next(s) % 3600) / 10.0, "destination", "Orsha", "ref",
			 ref, "text", text);
}

static char *read_test_file(const char *name, size_t *len)
{
	const char *dir = getenv("TEST_DATA");
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", dir ? dir : "tests/data", name);
	return harness_read_file(path, len);
}

static char *photo;
static size_t photo_len;

typedef struct client {
	int trial, index;
	volatile int *stop;
	int posted, created;
	char failure[512];
} client;

static void record(const char *ref, json_t *sent, bool with_photo,
		   const harness_response *r)
{
	json_t *j = json_loadb(r->body, r->body_len, 0, NULL);
	json_t *id = json_object_get(j, "id");
	const char *receipt = json_string_value(json_object_get(j, "receipt"));
	if (!json_is_integer(id) || !receipt) {
		json_decref(j);
		json_decref(sent);
		return;
	}
	pthread_mutex_lock(&acked.lock);
	if (acked.n == acked.cap) {
		acked.cap = acked.cap ? acked.cap * 2 : 1024;
		acked.acks = realloc(acked.acks, acked.cap * sizeof(*acked.acks));
	}
	ack *a = &acked.acks[acked.n++];
	memset(a, 0, sizeof(*a));
	a->id = (long long)json_integer_value(id);
	snprintf(a->ref, sizeof(a->ref), "%s", ref);
	snprintf(a->receipt, sizeof(a->receipt), "%s", receipt);
	a->sent = sent;
	a->photo = with_photo;
	pthread_mutex_unlock(&acked.lock);
	json_decref(j);
}

static void *client_run(void *arg)
{
	client *c = arg;
	uint64_t s = seed ^ ((uint64_t)c->trial << 32) ^ (uint64_t)c->index * 7919;
	static const char *const json[] = {"Content-Type: application/json", NULL};
	for (int i = 0; !*c->stop; i++) {
		char ref[48];
		snprintf(ref, sizeof(ref), "crash-%d-%d-%d", c->trial, c->index, i);
		json_t *rep = make_report(&s, ref);
		char *body = json_dumps(rep, JSON_COMPACT | JSON_REAL_PRECISION(17));
		bool with_photo = i % 4 == 3;
		harness_response r;
		char why[256];
		bool ok;
		if (with_photo) {
			harness_multipart m;
			harness_multipart_init(&m);
			harness_multipart_part(&m, "report", NULL, "application/json",
					       body, strlen(body));
			harness_multipart_part(&m, "photo", "p.jpg", "image/jpeg", photo,
					       photo_len);
			harness_multipart_end(&m);
			char ct[160];
			snprintf(ct, sizeof(ct),
				 "Content-Type: multipart/form-data; boundary=%s",
				 m.boundary);
			const char *const h[] = {ct, NULL};
			ok = harness_try_request(&srv, "POST", REPORTS, h, m.data, m.len,
						 &r, why, sizeof(why));
			harness_multipart_free(&m);
		} else {
			ok = harness_try_request(&srv, "POST", REPORTS, json, body,
						 strlen(body), &r, why, sizeof(why));
		}
		free(body);
		c->posted++;
		if (!ok) { /* killed under us, most likely */
			json_decref(rep);
			if (*c->stop)
				break;
			sleep_ms(5);
			continue;
		}
		if (r.status == 201) {
			c->created++;
			record(ref, rep, with_photo, &r);
		} else {
			/* 503 while stopping is allowed; anything else is not. */
			if (r.status != 503 && !c->failure[0])
				snprintf(c->failure, sizeof(c->failure),
					 "%s: HTTP %ld: %.300s", ref, r.status, r.body);
			json_decref(rep);
		}
		harness_response_free(&r);
	}
	harness_thread_done();
	return NULL;
}

/* PRAGMA integrity_check on the data directory's database. */
static void check_integrity(int trial)
{
	char path[2100];
	snprintf(path, sizeof(path), "%s/sightline.db", srv.dir);
	sqlite3 *db = NULL;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		fail_msg("trial %d: cannot open %s: %s", trial, path, sqlite3_errmsg(db));
	sqlite3_busy_timeout(db, 10000);
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) != SQLITE_OK)
		fail_msg("trial %d: integrity_check: %s", trial, sqlite3_errmsg(db));
	char first[512] = "";
	if (sqlite3_step(st) == SQLITE_ROW)
		snprintf(first, sizeof(first), "%s",
			 (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
	if (strcmp(first, "ok") != 0)
		fail_msg("trial %d (seed %llu): PRAGMA integrity_check: %s", trial,
			 (unsigned long long)seed, first);
}

/* Whether the exported value got is what was sent: every member of sent
 * but text (sealed, never exported) is in got with the same value;
 * numbers compare as numbers. */
static bool same(const json_t *sent, const json_t *got, char *where, size_t size)
{
	if (json_is_number(sent)) {
		if (!json_is_number(got) ||
		    json_number_value(sent) != json_number_value(got)) {
			snprintf(where, size, "%g != %g", json_number_value(sent),
				 json_number_value(got));
			return false;
		}
		return true;
	}
	if (json_is_object(sent)) {
		const char *key;
		json_t *v;
		json_object_foreach((json_t *)sent, key, v)
		{
			if (strcmp(key, "text") == 0)
				continue;
			if (!same(v, json_object_get(got, key), where, size)) {
				size_t n = strlen(where);
				char tail[256];
				snprintf(tail, sizeof(tail), "%.*s",
					 (int)(n < 200 ? n : 200), where);
				snprintf(where, size, "%s: %s", key, tail);
				return false;
			}
		}
		return true;
	}
	if (json_is_array(sent)) {
		if (!json_is_array(got) ||
		    json_array_size(got) != json_array_size(sent)) {
			snprintf(where, size, "array of %zu, exported %zu",
				 json_array_size(sent), json_array_size(got));
			return false;
		}
		for (size_t i = 0; i < json_array_size(sent); i++)
			if (!same(json_array_get(sent, i), json_array_get(got, i), where,
				  size))
				return false;
		return true;
	}
	if (!json_equal((json_t *)sent, (json_t *)got)) {
		snprintf(where, size, "differs");
		return false;
	}
	return true;
}

/* The sealed items of every report, one read: {"ID:KIND": count}. One
 * query, not one per report: the reports acknowledged grow with every
 * trial. */
static json_t *sealed_counts(int trial)
{
	char path[2100];
	snprintf(path, sizeof(path), "%s/sightline.db", srv.dir);
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
			       "SELECT report_id, kind, count(*) FROM sealed "
			       "GROUP BY report_id, kind",
			       -1, &st, NULL) != SQLITE_OK)
		fail_msg("trial %d: reading sealed: %s", trial, sqlite3_errmsg(db));
	json_t *counts = json_object();
	while (sqlite3_step(st) == SQLITE_ROW) {
		char key[64];
		snprintf(key, sizeof(key), "%lld:%s",
			 (long long)sqlite3_column_int64(st, 0),
			 (const char *)sqlite3_column_text(st, 1));
		json_object_set_new(counts, key,
				    json_integer(sqlite3_column_int64(st, 2)));
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return counts;
}

/* How many sealed items of kind report id has, in counts. */
static long long sealed_of(const json_t *counts, long long id, const char *kind)
{
	char key[64];
	snprintf(key, sizeof(key), "%lld:%s", id, kind);
	return (long long)json_integer_value(json_object_get(counts, key));
}

/* Every report acknowledged so far is exported once, as it was sent. */
static void check_acknowledged(int trial)
{
	const char *args[] = {"export", "--data", srv.dir, NULL};
	harness_proc p;
	harness_cli(args, &p);
	harness_proc_expect("export", &p, 0);
	json_t *by_id = json_object();
	json_t *refs = json_object();
	for (char *line = p.out, *nl; line && *line; line = nl ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		json_t *j =
		    json_loadb(line, nl ? (size_t)(nl - line) : strlen(line), 0, NULL);
		if (!json_is_object(j))
			fail_msg(
			    "trial %d: export printed a line that is no report: %.200s",
			    trial, line);
		char key[32];
		snprintf(key, sizeof(key), "%lld",
			 (long long)json_integer_value(json_object_get(j, "id")));
		const char *ref = json_string_value(json_object_get(j, "ref"));
		if (ref) {
			json_t *seen = json_object_get(refs, ref);
			json_object_set_new(
			    refs, ref,
			    json_integer(seen ? json_integer_value(seen) + 1 : 1));
		}
		json_object_set_new(by_id, key, j);
	}
	harness_proc_free(&p);
	json_t *counts = sealed_counts(trial);
	for (size_t i = 0; i < acked.n; i++) {
		ack *a = &acked.acks[i];
		char key[32], where[512] = "";
		snprintf(key, sizeof(key), "%lld", a->id);
		json_t *got = json_object_get(by_id, key);
		if (!got)
			fail_msg(
			    "trial %d (seed %llu): report %lld (ref %s) was acknowledged "
			    "with 201 and is not in the store",
			    trial, (unsigned long long)seed, a->id, a->ref);
		if (!same(a->sent, got, where, sizeof(where)))
			fail_msg("trial %d (seed %llu): report %lld (ref %s) changed: %s",
				 trial, (unsigned long long)seed, a->id, a->ref, where);
		if (json_integer_value(json_object_get(refs, a->ref)) != 1)
			fail_msg(
			    "trial %d: ref %s is stored %lld times", trial, a->ref,
			    (long long)json_integer_value(json_object_get(refs, a->ref)));
		if (sealed_of(counts, a->id, "content") != 1 ||
		    sealed_of(counts, a->id, "photo") != (a->photo ? 1 : 0))
			fail_msg(
			    "trial %d: report %lld has %lld sealed contents and %lld "
			    "photos, expected 1 and %d",
			    trial, a->id, sealed_of(counts, a->id, "content"),
			    sealed_of(counts, a->id, "photo"), a->photo ? 1 : 0);
	}
	json_decref(counts);
	json_decref(by_id);
	json_decref(refs);
}

/* A few receipts, the last ones given, still find their reports. */
static void check_receipts(int trial)
{
	for (size_t i = acked.n > 3 ? acked.n - 3 : 0; i < acked.n; i++) {
		char path[128];
		snprintf(path, sizeof(path), REPORTS "/%s", acked.acks[i].receipt);
		harness_response r;
		harness_get(&srv, path, &r);
		if (r.status != 200)
			fail_msg("trial %d: the receipt of report %lld: HTTP %ld: %s",
				 trial, acked.acks[i].id, r.status, r.body);
		harness_response_free(&r);
	}
}

/* The server answers after the restart: /healthz and a new report. */
static void check_serving(int trial)
{
	harness_server_assert_alive(&srv);
	harness_response r;
	harness_get(&srv, "/healthz", &r);
	harness_expect_status(&r, 200, "/healthz after the restart");
	harness_response_free(&r);
	uint64_t s = seed ^ (uint64_t)trial;
	char ref[48];
	snprintf(ref, sizeof(ref), "crash-%d-after", trial);
	json_t *rep = make_report(&s, ref);
	char *body = json_dumps(rep, JSON_COMPACT | JSON_REAL_PRECISION(17));
	harness_post_json(&srv, REPORTS, body, &r);
	free(body);
	if (r.status != 201)
		fail_msg("trial %d: a report after the restart: HTTP %ld: %s", trial,
			 r.status, r.body);
	record(ref, rep, false, &r);
	harness_response_free(&r);
}

static void kill_server(void)
{
	kill(srv.pid, SIGKILL);
	int status;
	waitpid(srv.pid, &status, 0);
	srv.pid = 0;
}

static void test_crash_trials(void **state)
{
	(void)state;
	const char *const args[] = {"--rate-per-client",
				    "0",
				    "--rate-global",
				    "0",
				    "--engine-interval",
				    "200",
				    "--publish-interval",
				    "300",
				    NULL};
	harness_server_init(&srv, args);
	harness_moderator_add(&srv, "crash", "admin");
	harness_server_launch(&srv);
	uint64_t rng = seed;
	size_t total_posted = 0;
	for (int trial = 0; trial < trials; trial++) {
		volatile int stop = 0;
		client c[CLIENTS];
		pthread_t tids[CLIENTS];
		for (int i = 0; i < CLIENTS; i++) {
			c[i] = (client){.trial = trial, .index = i, .stop = &stop};
			assert_int_equal(
			    pthread_create(&tids[i], NULL, client_run, &c[i]), 0);
		}
		unsigned at = (unsigned)(next(&rng) % KILL_WINDOW_MS);
		sleep_ms(at);
		kill_server();
		stop = 1;
		int created = 0;
		for (int i = 0; i < CLIENTS; i++) {
			pthread_join(tids[i], NULL);
			if (c[i].failure[0])
				fail_msg("trial %d, client %d: %s", trial, i,
					 c[i].failure);
			created += c[i].created;
			total_posted += (size_t)c[i].posted;
		}
		harness_server_restart(&srv);
		check_integrity(trial);
		check_acknowledged(trial);
		check_receipts(trial);
		check_serving(trial);
		print_message("trial %d: killed after %u ms, %d acknowledged; %zu "
			      "acknowledged in all, every one present\n",
			      trial, at, created, acked.n);
	}
	print_message("%d SIGKILL trials (seed %llu): %zu reports posted, %zu "
		      "acknowledged, 0 lost, integrity ok after each\n",
		      trials, (unsigned long long)seed, total_posted, acked.n);
	harness_server_stop_ok(&srv);
	harness_server_cleanup(&srv);
	for (size_t i = 0; i < acked.n; i++)
		json_decref(acked.acks[i].sent);
	free(acked.acks);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const char *t = getenv("CRASH_TRIALS");
	trials = t && *t ? atoi(t) : getenv("RELIABILITY") ? 200 : 10;
	const char *s = getenv("CRASH_SEED");
	seed = s && *s ? strtoull(s, NULL, 10) : (uint64_t)time(NULL);
	print_message("crash trials: %d, seed %llu (CRASH_SEED to repeat)\n", trials,
		      (unsigned long long)seed);
	photo = read_test_file("photo/tiny.jpg", &photo_len);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_crash_trials),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	free(photo);
	harness_thread_done();
	return rc;
}
