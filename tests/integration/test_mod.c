/*
 * test_mod.c — moderators' sign-in, sessions and the gate in front of
 * /api/v1/mod/, end to end against the binary (docs/API.md, "Moderators:
 * sign-in and sessions").
 *
 * One server is shared by the group, with a few moderators made by the real
 * CLI before it starts; each test signs in as its own moderator, since a
 * failed sign-in makes that name wait. The idle-expiry test runs its own
 * server with --session-idle 2. The last test stops the shared server and
 * scans its log and every file of its data directory for anything a
 * session handed out: tokens (as text and as raw bytes), CSRF tokens and
 * passphrases.
 *
 * What cannot be seen from outside: that an expired or ended session's
 * secret key is wiped. The tests here show the session is gone (401 from
 * then on); tests/unit/test_session.c shows its key wiped with it (by
 * sign-out, idle expiry, the lifetime, a full table, a sweep), watching the
 * count of unlocked keys, and ASan's leak check at the server's exit would
 * catch a key that was never freed.
 *
 * Each sign-in runs Argon2id (64 MiB, ~0.2 s) in the server, so the suite
 * signs in sparingly; it takes about 20 s.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
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

#define SESSION "/api/v1/session"
#define MOD "/api/v1/mod"
#define TOKEN_LEN 43

static harness_server shared;
static harness_server own;

/* Everything the server handed out or was given, for the final scan. */
#define SECRETS_MAX 64
static char secrets[SECRETS_MAX][256];
static size_t n_secrets;

/* ---- helpers ---- */

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000,
			      .tv_nsec = (long)(ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void remember(const char *secret)
{
	if (n_secrets < SECRETS_MAX)
		snprintf(secrets[n_secrets++], sizeof(secrets[0]), "%s", secret);
}


/* POSTs a sign-in with name and passphrase (either may be NULL: left out). */
static void sign_in_raw(const harness_server *srv, const char *name, const char *pass,
			const char *const *headers, harness_response *out)
{
	json_t *doc = json_object();
	if (name)
		json_object_set_new(doc, "name", json_string(name));
	if (pass)
		json_object_set_new(doc, "passphrase", json_string(pass));
	char *body = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	const char *h[8] = {"Content-Type: application/json"};
	size_t n = 1;
	for (size_t i = 0; headers && headers[i] && n < 7; i++)
		h[n++] = headers[i];
	h[n] = NULL;
	harness_request(srv, "POST", SESSION, h, body, strlen(body), out);
	free(body);
}

/* A signed-in moderator as the client holds it. */
typedef struct client {
	char token[TOKEN_LEN + 1];
	char csrf[TOKEN_LEN + 1];
	char cookie[96]; /* "Cookie: sl_session=TOKEN" */
	char csrf_h[96]; /* "X-CSRF-Token: CSRF" */
	char set_cookie[256];
} client;

/* The token in a Set-Cookie value, checked for shape. */
static void token_of(const char *set_cookie, char token[TOKEN_LEN + 1])
{
	static const char prefix[] = "sl_session=";
	if (strncmp(set_cookie, prefix, sizeof(prefix) - 1) != 0)
		fail_msg("Set-Cookie is not sl_session: %s", set_cookie);
	const char *t = set_cookie + sizeof(prefix) - 1;
	size_t n = strcspn(t, ";");
	if (n != TOKEN_LEN ||
	    strspn(t,
		   "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") <
		TOKEN_LEN)
		fail_msg("the session token is not 43 characters of base64url: %s",
			 set_cookie);
	memcpy(token, t, TOKEN_LEN);
	token[TOKEN_LEN] = '\0';
}

static void sign_in(const harness_server *srv, const char *name, client *cl)
{
	char pass[256], ctx[128];
	harness_passphrase(name, pass, sizeof(pass));
	harness_response r;
	sign_in_raw(srv, name, pass, NULL, &r);
	snprintf(ctx, sizeof(ctx), "sign-in as %s", name);
	harness_expect_status(&r, 200, ctx);
	const char *sc = harness_response_header(&r, "Set-Cookie");
	if (!sc)
		fail_msg("%s: no Set-Cookie", ctx);
	memset(cl, 0, sizeof(*cl));
	snprintf(cl->set_cookie, sizeof(cl->set_cookie), "%s", sc ? sc : "");
	token_of(cl->set_cookie, cl->token);
	json_t *doc = harness_body_json(&r, ctx);
	assert_string_equal(harness_str_field(doc, "name", ctx), name);
	const char *csrf = harness_str_field(doc, "csrf", ctx);
	assert_int_equal(strlen(csrf), TOKEN_LEN);
	snprintf(cl->csrf, sizeof(cl->csrf), "%s", csrf);
	json_decref(doc);
	harness_response_free(&r);
	snprintf(cl->cookie, sizeof(cl->cookie), "Cookie: sl_session=%s", cl->token);
	snprintf(cl->csrf_h, sizeof(cl->csrf_h), "X-CSRF-Token: %s", cl->csrf);
	remember(cl->token);
	remember(cl->csrf);
}

/* A request as cl (NULL: no cookie), with the CSRF header when csrf, and
 * one more header when extra is not NULL. */
static void as(const harness_server *srv, const client *cl, bool csrf, const char *extra,
	       const char *method, const char *path, harness_response *out)
{
	const char *h[4];
	size_t n = 0;
	if (cl)
		h[n++] = cl->cookie;
	if (cl && csrf)
		h[n++] = cl->csrf_h;
	if (extra)
		h[n++] = extra;
	h[n] = NULL;
	bool body = strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0;
	harness_request(srv, method, path, h, body ? "{}" : NULL, body ? 2 : 0, out);
}

static long status_as(const harness_server *srv, const client *cl, bool csrf,
		      const char *extra, const char *method, const char *path)
{
	harness_response r;
	as(srv, cl, csrf, extra, method, path, &r);
	long s = r.status;
	harness_response_free(&r);
	return s;
}

/* ---- group ---- */

static const char *const mods[][2] = {
    {"alice", "moderator"}, {"root", "admin"},	   {"carol", "moderator"},
    {"dave", "moderator"},  {"erin", "moderator"},
};

static int group_setup(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	harness_server_init(&shared, NULL);
	for (size_t i = 0; i < sizeof(mods) / sizeof(mods[0]); i++)
		harness_moderator_add(&shared, mods[i][0], mods[i][1]);
	harness_server_launch(&shared);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	harness_server_cleanup(&shared);
	harness_thread_done();
	return 0;
}

static int own_teardown(void **state)
{
	(void)state;
	harness_server_cleanup(&own);
	memset(&own, 0, sizeof(own));
	return 0;
}

/* ---- tests ---- */

/* A good sign-in: the cookie is HttpOnly, SameSite=Strict, Path=/ and not
 * Secure by default; the body names the moderator and carries the CSRF
 * token; GET /api/v1/session says the same. */
static void test_sign_in(void **state)
{
	(void)state;
	client a;
	sign_in(&shared, "alice", &a);
	const char *sc = a.set_cookie;
	if (!strstr(sc, "; HttpOnly") || !strstr(sc, "; SameSite=Strict") ||
	    !strstr(sc, "; Path=/"))
		fail_msg("Set-Cookie lacks HttpOnly, SameSite=Strict or Path=/: %s", sc);
	if (strcasestr(sc, "secure"))
		fail_msg("Set-Cookie is Secure without --secure-cookies: %s", sc);
	if (strcasestr(sc, "expires") || strcasestr(sc, "max-age"))
		fail_msg("the session cookie should end with the browser: %s", sc);

	harness_response r;
	as(&shared, &a, false, NULL, "GET", SESSION, &r);
	harness_expect_status(&r, 200, "GET /api/v1/session");
	json_t *doc = harness_body_json(&r, "GET /api/v1/session");
	assert_string_equal(harness_str_field(doc, "name", "session"), "alice");
	assert_string_equal(harness_str_field(doc, "role", "session"), "moderator");
	assert_string_equal(harness_str_field(doc, "csrf", "session"), a.csrf);
	json_decref(doc);
	harness_response_free(&r);

	assert_int_equal(status_as(&shared, NULL, false, NULL, "GET", SESSION), 401);
	assert_int_equal(status_as(&shared, NULL, false, NULL, "PUT", SESSION), 405);
}

/* A wrong passphrase and an unknown name: the same 401 and body, after
 * about the same time (the unknown name is tried against a dummy record).
 * Each is timed twice, in both orders, a wait for the 1 s delay of the
 * first failure between, and the faster of each pair is compared: one
 * sample alone is at the mercy of whatever else the machine is doing.
 * Bodies that are not a sign-in are refused without counting. */
static double timed_failure(const char *name, const char *ctx, char **body)
{
	harness_response r;
	double t0 = now_s();
	sign_in_raw(&shared, name, "not carol's passphrase", NULL, &r);
	double t = now_s() - t0;
	harness_expect_status(&r, 401, ctx);
	assert_null(harness_response_header(&r, "Set-Cookie"));
	if (*body)
		assert_string_equal(r.body, *body);
	else
		*body = strdup(r.body);
	harness_response_free(&r);
	return t;
}

static void test_wrong_credentials(void **state)
{
	(void)state;
	char *body = NULL;
	double tw = timed_failure("carol", "wrong passphrase", &body);
	double tu = timed_failure("nobody", "unknown name", &body);
	assert_non_null(strstr(body, "name or passphrase is wrong"));
	usleep(1200 * 1000);
	double again = timed_failure("nobody", "unknown name again", &body);
	tu = again < tu ? again : tu;
	again = timed_failure("carol", "wrong passphrase again", &body);
	tw = again < tw ? again : tw;
	free(body);
	if (tu < tw / 2 || tw < tu / 2)
		fail_msg("a wrong passphrase took %.3f s and an unknown name %.3f s: "
			 "the difference tells names apart",
			 tw, tu);

	harness_response r;
	static const char *const json_h[] = {"Content-Type: application/json", NULL};
	harness_request(&shared, "POST", SESSION, json_h, "{\"name\":", 8, &r);
	harness_expect_status(&r, 400, "malformed sign-in");
	harness_response_free(&r);
	sign_in_raw(&shared, "alice", NULL, NULL, &r);
	harness_expect_status(&r, 422, "sign-in without passphrase");
	assert_non_null(strstr(r.body, "passphrase"));
	harness_response_free(&r);
	static const char *const text_h[] = {"Content-Type: text/plain", NULL};
	harness_request(&shared, "POST", SESSION, text_h, "x", 1, &r);
	harness_expect_status(&r, 415, "sign-in as text/plain");
	harness_response_free(&r);
	/* A sign-in posted from another site's page. */
	static const char *const evil[] = {"Origin: https://evil.example", NULL};
	char pass[256];
	harness_passphrase("alice", pass, sizeof(pass));
	sign_in_raw(&shared, "alice", pass, evil, &r);
	harness_expect_status(&r, 403, "sign-in with a foreign Origin");
	harness_response_free(&r);
}

static unsigned retry_after(const harness_response *r)
{
	const char *ra = harness_response_header(r, "Retry-After");
	if (!ra)
		fail_msg("status %ld without Retry-After: %s", r->status, r->body);
	return (unsigned)strtoul(ra, NULL, 10);
}

/* Failures make the name wait 1 s, 2 s, ...: an attempt within the wait
 * is 429 with Retry-After (even with the right passphrase); a success
 * after waiting resets the count. */
static void test_growing_delay(void **state)
{
	(void)state;
	char pass[256];
	harness_passphrase("dave", pass, sizeof(pass));
	harness_response r;
	sign_in_raw(&shared, "dave", "wrong one", NULL, &r);
	harness_expect_status(&r, 401, "dave, first failure");
	harness_response_free(&r);
	sign_in_raw(&shared, "dave", "wrong two", NULL, &r);
	harness_expect_status(&r, 429, "dave, straight after the first failure");
	unsigned ra = retry_after(&r);
	assert_in_range(ra, 1, 1);
	harness_response_free(&r);

	sleep_ms(1100);
	sign_in_raw(&shared, "dave", "wrong two", NULL, &r);
	harness_expect_status(&r, 401, "dave, second failure after waiting");
	harness_response_free(&r);
	sign_in_raw(&shared, "dave", pass, NULL, &r);
	harness_expect_status(&r, 429, "dave, right passphrase within the delay");
	ra = retry_after(&r);
	assert_in_range(ra, 1, 2); /* 2 s after the second failure */
	harness_response_free(&r);

	sleep_ms(ra * 1000 + 100);
	client d;
	sign_in(&shared, "dave", &d);
	/* Reset: one failure now waits 1 s again, not 4. */
	sign_in_raw(&shared, "dave", "wrong three", NULL, &r);
	harness_expect_status(&r, 401, "dave, failure after success");
	harness_response_free(&r);
	sign_in_raw(&shared, "dave", pass, NULL, &r);
	harness_expect_status(&r, 429, "dave, straight after that");
	assert_int_equal(retry_after(&r), 1);
	harness_response_free(&r);
}

/* Without a valid session every path under /api/v1/mod, existing or not,
 * for every method, gets the same 401. */
static void test_gate_without_session(void **state)
{
	(void)state;
	static const char *const paths[] = {
	    MOD,
	    MOD "/",
	    MOD "/whoami",
	    MOD "/admin/moderators",
	    MOD "/admin/nope",
	    MOD "/no/such/thing",
	    MOD "/whoami?x=1",
	    MOD "/%2e%2e/session",
	};
	static const char *const methods[] = {"GET", "POST", "DELETE", "PUT", "PATCH"};
	client bogus = {0};
	/* A well-formed token no session has, and a malformed one. */
	uint8_t raw[32];
	randombytes_buf(raw, sizeof(raw));
	char fake[TOKEN_LEN + 1];
	sodium_bin2base64(fake, sizeof(fake), raw, sizeof(raw),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	snprintf(bogus.cookie, sizeof(bogus.cookie), "Cookie: sl_session=%s", fake);
	snprintf(bogus.csrf_h, sizeof(bogus.csrf_h), "X-CSRF-Token: x");
	client junk = {0};
	snprintf(junk.cookie, sizeof(junk.cookie), "Cookie: sl_session=../../etc; a=b");
	snprintf(junk.csrf_h, sizeof(junk.csrf_h), "X-CSRF-Token: x");
	const client *who[] = {NULL, &bogus, &junk};

	char *first = NULL;
	for (size_t p = 0; p < sizeof(paths) / sizeof(paths[0]); p++)
		for (size_t m = 0; m < sizeof(methods) / sizeof(methods[0]); m++)
			for (size_t w = 0; w < 3; w++) {
				harness_response r;
				as(&shared, who[w], true, NULL, methods[m], paths[p], &r);
				char ctx[256];
				snprintf(ctx, sizeof(ctx), "%s %s (cookie %zu)",
					 methods[m], paths[p], w);
				harness_expect_status(&r, 401, ctx);
				const char *ct =
				    harness_response_header(&r, "Content-Type");
				if (!ct || strcmp(ct, "application/problem+json") != 0)
					fail_msg("%s: Content-Type %s", ctx,
						 ct ? ct : "(none)");
				if (!first)
					first = strdup(r.body);
				else if (strcmp(first, r.body) != 0)
					fail_msg("%s: body differs:\n%s\nvs\n%s", ctx,
						 r.body, first);
				harness_response_free(&r);
			}
	free(first);
	/* Not under /api/v1/mod/: an ordinary 404. */
	assert_int_equal(status_as(&shared, NULL, false, NULL, "GET", "/api/v1/modx"),
			 404);
}

/* With a moderator's session: whoami, admin paths refused, unknown paths
 * 404, CSRF needed for state-changing methods, Origin checked. */
static void test_gate_with_session(void **state)
{
	(void)state;
	client a, r0;
	sign_in(&shared, "alice", &a);
	sign_in(&shared, "root", &r0);

	harness_response r;
	as(&shared, &a, false, NULL, "GET", MOD "/whoami", &r);
	harness_expect_status(&r, 200, "whoami");
	json_t *doc = harness_body_json(&r, "whoami");
	assert_string_equal(harness_str_field(doc, "name", "whoami"), "alice");
	assert_string_equal(harness_str_field(doc, "role", "whoami"), "moderator");
	json_int_t left = json_integer_value(json_object_get(doc, "idle_expires_in"));
	assert_in_range(left, 1, 1800);
	json_decref(doc);
	harness_response_free(&r);

	assert_int_equal(
	    status_as(&shared, &a, false, NULL, "GET", MOD "/admin/moderators"), 403);
	assert_int_equal(status_as(&shared, &a, false, NULL, "GET", MOD "/admin/nope"),
			 403);
	assert_int_equal(status_as(&shared, &a, false, NULL, "GET", MOD "/nope"), 404);
	assert_int_equal(status_as(&shared, &a, false, NULL, "GET", MOD), 404);

	/* State-changing methods need the session's own CSRF token. */
	as(&shared, &a, false, NULL, "POST", MOD "/nope", &r);
	harness_expect_status(&r, 403, "POST without CSRF");
	assert_non_null(strstr(r.body, "missing or wrong CSRF token"));
	harness_response_free(&r);
	char other[96];
	snprintf(other, sizeof(other), "X-CSRF-Token: %s", r0.csrf);
	assert_int_equal(status_as(&shared, &a, false, other, "POST", MOD "/nope"), 403);
	assert_int_equal(
	    status_as(&shared, &a, false, "X-CSRF-Token:", "DELETE", MOD "/whoami"), 403);
	assert_int_equal(status_as(&shared, &a, true, NULL, "POST", MOD "/nope"), 404);
	as(&shared, &a, true, NULL, "DELETE", MOD "/whoami", &r);
	harness_expect_status(&r, 405, "DELETE whoami with CSRF");
	assert_non_null(harness_response_header(&r, "Allow"));
	harness_response_free(&r);

	/* Origin, when sent, must be this server. */
	char same[128];
	snprintf(same, sizeof(same), "Origin: %s", shared.base);
	assert_int_equal(status_as(&shared, &a, false, same, "GET", MOD "/whoami"), 200);
	assert_int_equal(status_as(&shared, &a, false, "Origin: http://evil.example",
				   "GET", MOD "/whoami"),
			 403);
	assert_int_equal(
	    status_as(&shared, &a, false, "Origin: null", "GET", MOD "/whoami"), 403);
	assert_int_equal(status_as(&shared, &a, true, "Origin: http://evil.example",
				   "POST", MOD "/nope"),
			 403);

	/* The admin sees the moderators, without key material. */
	as(&shared, &r0, false, NULL, "GET", MOD "/admin/moderators", &r);
	harness_expect_status(&r, 200, "admin/moderators as root");
	doc = harness_body_json(&r, "admin/moderators");
	json_t *list = json_object_get(doc, "moderators");
	assert_true(json_is_array(list));
	assert_int_equal(json_array_size(list), sizeof(mods) / sizeof(mods[0]));
	size_t i;
	json_t *m;
	json_array_foreach(list, i, m)
	{
		assert_int_equal(json_object_size(m), 5);
		assert_true(json_is_integer(json_object_get(m, "id")));
		assert_string_equal(harness_str_field(m, "name", "moderator"), mods[i][0]);
		assert_string_equal(harness_str_field(m, "role", "moderator"), mods[i][1]);
		assert_non_null(harness_str_field(m, "created_at", "moderator"));
		assert_non_null(json_object_get(m, "removed_at"));
	}
	json_decref(doc);
	harness_response_free(&r);
	assert_int_equal(status_as(&shared, &r0, false, NULL, "GET", MOD "/admin/nope"),
			 404);
	assert_int_equal(status_as(&shared, &r0, false, NULL, "GET", MOD "/whoami"), 200);
}

/* Sign-out needs the CSRF token, answers 204 clearing the cookie, and the
 * session is gone at once. */
static void test_sign_out(void **state)
{
	(void)state;
	client a;
	sign_in(&shared, "alice", &a);
	assert_int_equal(status_as(&shared, &a, false, NULL, "DELETE", SESSION), 403);
	assert_int_equal(status_as(&shared, &a, false, NULL, "GET", MOD "/whoami"), 200);
	harness_response r;
	as(&shared, &a, true, NULL, "DELETE", SESSION, &r);
	harness_expect_status(&r, 204, "sign-out");
	const char *sc = harness_response_header(&r, "Set-Cookie");
	if (!sc || strncmp(sc, "sl_session=;", 12) != 0 || !strstr(sc, "Max-Age=0"))
		fail_msg("sign-out does not clear the cookie: %s", sc ? sc : "(none)");
	harness_response_free(&r);
	assert_int_equal(status_as(&shared, &a, false, NULL, "GET", MOD "/whoami"), 401);
	assert_int_equal(status_as(&shared, &a, false, NULL, "GET", SESSION), 401);
	assert_int_equal(status_as(&shared, &a, true, NULL, "DELETE", SESSION), 401);
}

/* A moderator removed with the CLI while the server runs loses their
 * session within a sweep (every 2 s). */
static void test_removed_moderator(void **state)
{
	(void)state;
	client e;
	sign_in(&shared, "erin", &e);
	assert_int_equal(status_as(&shared, &e, false, NULL, "GET", MOD "/whoami"), 200);
	const char *args[] = {"moderator", "remove", "erin", "--data", shared.dir, NULL};
	harness_proc p;
	harness_cli(args, &p);
	harness_proc_expect("moderator remove erin", &p, 0);
	harness_proc_free(&p);
	long s = 0;
	for (int i = 0; i < 50; i++) {
		s = status_as(&shared, &e, false, NULL, "GET", MOD "/whoami");
		if (s == 401)
			break;
		sleep_ms(100);
	}
	if (s != 401)
		fail_msg("erin's session still works 5 s after her removal (status %ld)",
			 s);
}

typedef struct flood_arg {
	pthread_barrier_t *start;
	int i;
	long status;
	unsigned retry;
} flood_arg;

static void *flood_one(void *p)
{
	flood_arg *a = p;
	char name[32], body[128], why[256];
	snprintf(name, sizeof(name), "flood%d", a->i);
	snprintf(body, sizeof(body), "{\"name\":\"%s\",\"passphrase\":\"guess guess\"}",
		 name);
	static const char *const h[] = {"Content-Type: application/json", NULL};
	pthread_barrier_wait(a->start);
	harness_response r;
	if (harness_try_request(&shared, "POST", SESSION, h, body, strlen(body), &r, why,
				sizeof(why))) {
		a->status = r.status;
		const char *ra = harness_response_header(&r, "Retry-After");
		a->retry = ra ? (unsigned)strtoul(ra, NULL, 10) : 0;
		harness_response_free(&r);
	}
	harness_thread_done();
	return NULL;
}

/* Sign-ins at once beyond the two the server runs together get 503 with
 * Retry-After instead of piling up 64 MiB each. */
static void test_concurrent_sign_ins(void **state)
{
	(void)state;
	enum { N = 6 };
	pthread_t t[N];
	flood_arg args[N];
	pthread_barrier_t start;
	pthread_barrier_init(&start, NULL, N);
	for (int i = 0; i < N; i++) {
		args[i] = (flood_arg){.start = &start, .i = i};
		pthread_create(&t[i], NULL, flood_one, &args[i]);
	}
	int n401 = 0, n503 = 0;
	for (int i = 0; i < N; i++) {
		pthread_join(t[i], NULL);
		if (args[i].status == 401)
			n401++;
		else if (args[i].status == 503 && args[i].retry >= 1)
			n503++;
		else
			fail_msg("sign-in %d of a flood: status %ld, Retry-After %u", i,
				 args[i].status, args[i].retry);
	}
	pthread_barrier_destroy(&start);
	if (n401 < 1 || n503 < 1)
		fail_msg("%d sign-ins at once: %d ran (401), %d refused (503); expected "
			 "some of each",
			 N, n401, n503);
	harness_server_assert_alive(&shared);
}

/* A session unused for --session-idle seconds ends; one used keeps going. */
static void test_idle_expiry(void **state)
{
	(void)state;
	static const char *const flags[] = {"--session-idle", "2", NULL};
	harness_server_init(&own, flags);
	harness_moderator_add(&own, "fay", "moderator");
	harness_server_launch(&own);
	client f;
	sign_in(&own, "fay", &f);
	harness_response r;
	as(&own, &f, false, NULL, "GET", MOD "/whoami", &r);
	harness_expect_status(&r, 200, "whoami at once");
	json_t *doc = harness_body_json(&r, "whoami");
	assert_in_range(json_integer_value(json_object_get(doc, "idle_expires_in")), 1,
			2);
	json_decref(doc);
	harness_response_free(&r);
	sleep_ms(1200);
	assert_int_equal(status_as(&own, &f, false, NULL, "GET", MOD "/whoami"), 200);
	sleep_ms(1200); /* 2.4 s since sign-in, 1.2 s since the last use */
	assert_int_equal(status_as(&own, &f, false, NULL, "GET", MOD "/whoami"), 200);
	sleep_ms(3000);
	assert_int_equal(status_as(&own, &f, false, NULL, "GET", MOD "/whoami"), 401);
	assert_int_equal(status_as(&own, &f, false, NULL, "GET", SESSION), 401);
	harness_server_stop_ok(&own);
}

/* With --secure-cookies (behind a TLS proxy) the cookie is also Secure. */
static void test_secure_cookie(void **state)
{
	(void)state;
	static const char *const flags[] = {"--secure-cookies", NULL};
	harness_server_init(&own, flags);
	harness_moderator_add(&own, "gus", "moderator");
	harness_server_launch(&own);
	client g;
	sign_in(&own, "gus", &g);
	if (!strstr(g.set_cookie, "; Secure") || !strstr(g.set_cookie, "; HttpOnly"))
		fail_msg("Set-Cookie with --secure-cookies: %s", g.set_cookie);
	harness_server_stop_ok(&own);
}

/* Without the flag, a sign-in that a TLS proxy forwards (it says so in
 * X-Forwarded-Proto or Forwarded) gets a Secure cookie too; plain HTTP
 * does not. */
static void test_secure_behind_tls_proxy(void **state)
{
	(void)state;
	char pass[256];
	harness_passphrase("alice", pass, sizeof(pass));
	static const struct {
		const char *header;
		bool secure;
	} cases[] = {
	    {"X-Forwarded-Proto: https", true},
	    {"Forwarded: for=192.0.2.1;proto=https;by=203.0.113.5", true},
	    {"X-Forwarded-Proto: http", false},
	    {"X-Forwarded-Proto: httpsx", false},
	    {NULL, false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *h[] = {cases[i].header, NULL};
		harness_response r;
		sign_in_raw(&shared, "alice", pass, cases[i].header ? h : NULL, &r);
		harness_expect_status(&r, 200, cases[i].header ? cases[i].header : "plain");
		const char *sc = harness_response_header(&r, "Set-Cookie");
		if (!sc || (strstr(sc, "; Secure") != NULL) != cases[i].secure)
			fail_msg("%s: Set-Cookie %s", cases[i].header ? cases[i].header : "plain",
				 sc ? sc : "(none)");
		harness_response_free(&r);
	}
}

static long long count_action(const char *action)
{
	return harness_count_audit(&shared, action);
}

/* Sign-ins, failures and sign-outs are in the audit log, which verifies. */
static void test_audit_log(void **state)
{
	(void)state;
	long long in = count_action("sign_in"), failed = count_action("sign_in_failed"),
		  out = count_action("sign_out");
	if (in < 5 || failed < 4 || out < 1)
		fail_msg("audit log has %lld sign_in, %lld sign_in_failed, %lld sign_out",
			 in, failed, out);
	assert_int_equal(harness_db_integer(&shared,
					    "SELECT count(*) FROM audit WHERE "
					    "action = 'sign_in_failed' AND actor = "
					    "'unknown' AND subject = 'moderator:nobody'"),
			 2); /* test_wrong_credentials tries each twice */
	assert_int_equal(harness_db_integer(&shared,
					    "SELECT count(*) FROM audit WHERE "
					    "action = 'sign_in_failed' AND actor = "
					    "'carol'"),
			 2);
	const char *show[] = {"audit",	 "show", "--data", shared.dir,
			      "--limit", "0",	 NULL};
	harness_proc p;
	harness_cli(show, &p);
	harness_proc_expect("audit show", &p, 0);
	assert_non_null(strstr(p.out, "sign_in_failed"));
	assert_non_null(strstr(p.out, "sign_out"));
	harness_proc_free(&p);
	harness_audit_verify(&shared);
}

typedef struct scan {
	const char *what;
	const void *needle;
	size_t n;
} scan;

static void scan_file(void *ud, const char *path)
{
	const scan *s = ud;
	if (harness_file_contains(path, s->needle, s->n))
		fail_msg("%s is in %s", s->what, path);
}

/* Stops the shared server (cleanly: every session and key freed) and finds
 * no token, raw token, CSRF token or passphrase in its log or data. */
static void test_no_secret_on_disk(void **state)
{
	(void)state;
	assert_true(n_secrets >= 10);
	harness_server_stop_ok(&shared);
	for (size_t i = 0; i < sizeof(mods) / sizeof(mods[0]); i++) {
		char pass[256];
		harness_passphrase(mods[i][0], pass, sizeof(pass));
		remember(pass);
	}
	for (size_t i = 0; i < n_secrets; i++) {
		scan s = {"a token or passphrase", secrets[i], strlen(secrets[i])};
		harness_walk_files(shared.dir, scan_file, &s);
		scan_file(&s, shared.log);
		uint8_t raw[32];
		size_t got = 0;
		if (strlen(secrets[i]) == TOKEN_LEN &&
		    sodium_base642bin(raw, sizeof(raw), secrets[i], TOKEN_LEN, NULL, &got,
				      NULL,
				      sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0 &&
		    got == sizeof(raw)) {
			scan b = {"a token's raw bytes", raw, sizeof(raw)};
			harness_walk_files(shared.dir, scan_file, &b);
		}
	}
}

static bool name_listed(const char *list, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = list; (p = strstr(p, name)) != NULL; p += n)
		if ((p == list || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
			return true;
	return false;
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sign_in),
	    cmocka_unit_test(test_wrong_credentials),
	    cmocka_unit_test(test_growing_delay),
	    cmocka_unit_test(test_gate_without_session),
	    cmocka_unit_test(test_gate_with_session),
	    cmocka_unit_test(test_sign_out),
	    cmocka_unit_test(test_removed_moderator),
	    cmocka_unit_test(test_concurrent_sign_ins),
	    cmocka_unit_test_teardown(test_idle_expiry, own_teardown),
	    cmocka_unit_test_teardown(test_secure_cookie, own_teardown),
	    cmocka_unit_test(test_secure_behind_tls_proxy),
	    cmocka_unit_test(test_audit_log),
	    cmocka_unit_test(test_no_secret_on_disk),
	};
	/* MOD_TEST_ONLY and MOD_TEST_SKIP take comma-separated test names. */
	const char *only = getenv("MOD_TEST_ONLY"), *skip = getenv("MOD_TEST_SKIP");
	struct CMUnitTest chosen[sizeof(tests) / sizeof(tests[0])];
	size_t n = 0;
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		if ((only && !name_listed(only, tests[i].name)) ||
		    (skip && name_listed(skip, tests[i].name)))
			continue;
		chosen[n++] = tests[i];
	}
	return _cmocka_run_group_tests("mod", chosen, n, group_setup, group_teardown);
}
