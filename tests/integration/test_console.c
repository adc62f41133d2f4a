/*
 * test_console.c — the server-rendered moderator console at /mod, end to
 * end against the binary (docs/MODERATION.md, docs/API.md "The console").
 *
 * One server is shared by the group, with an admin and two moderators made
 * by the real CLI before it starts, so that everything posted is sealed to
 * all three. group_setup posts three reports: a train whose place, model
 * and text carry canaries (found in a page only when it may show them), a
 * report whose place, model, destination and text are HTML injections, and
 * an aircraft the moderators contend for.
 *
 * What is proved: every page and action refuses a caller without a
 * session with the sign-in page or a 401 and shows no report data, and
 * unknown paths look the same as known ones; admin pages refuse
 * moderators; a form without the session's CSRF token, or with a foreign
 * Origin or Sec-Fetch-Site, is 403 and changes nothing, not even the audit
 * log; every string from a report, a note or a reason is escaped; each
 * form does what the JSON API's action does (the JSON API shows it) and
 * writes the same audit entry; a refused form is shown again with the
 * error beside it and the input kept; every page carries the CSP and the
 * other security headers; sign-in and sign-out work as plain forms. The
 * last test stops the server and checks that the audit log verifies.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>

#include "harness.h"

#define MOD_API "/api/v1/mod"
#define FORM "Content-Type: application/x-www-form-urlencoded"
#define PLACE_CANARY "Orsha-canary-place-Pq4"
#define MODEL_CANARY "T-72-canary-model-Jx9"
#define TEXT_CANARY "canary-text-Kd3 echelon at the sidings"
#define SCRIPT "<script>alert(1)</script>"
#define BREAKOUT "\"'><img src=x onerror=alert(2)>"
#define SCRIPT_ESCAPED "&lt;script&gt;alert(1)&lt;/script&gt;"
#define BREAKOUT_ESCAPED "&quot;&#39;&gt;&lt;img src=x onerror=alert(2)&gt;"

static harness_server srv;
static long long id_train, id_xss, id_air;
static char receipt_train[64];

/* ---- helpers ---- */

typedef harness_client client;

/* A request as cl (NULL: no cookie) with up to two more headers (may be
 * NULL) and body (NULL: none), sent as a form when body is given. */
static void req(const client *cl, const char *method, const char *path, const char *body,
		const char *h1, const char *h2, harness_response *out)
{
	const char *h[6];
	size_t n = 0;
	if (cl)
		h[n++] = cl->cookie;
	if (body)
		h[n++] = FORM;
	if (h1)
		h[n++] = h1;
	if (h2)
		h[n++] = h2;
	h[n] = NULL;
	harness_request(&srv, method, path, h, body, body ? strlen(body) : 0, out);
}

static void page(const client *cl, const char *path, long want, harness_response *out)
{
	req(cl, "GET", path, NULL, NULL, NULL, out);
	char ctx[300];
	snprintf(ctx, sizeof(ctx), "GET %s", path);
	harness_expect_status(out, want, ctx);
}

/* POSTs fields (urlencoded, without the token) to path as cl with its
 * CSRF token in the form, expecting want. */
static void post(const client *cl, const char *path, const char *fields, long want,
		 harness_response *out)
{
	char body[8192];
	snprintf(body, sizeof(body), "csrf=%s%s%s", cl->csrf,
		 fields && *fields ? "&" : "", fields ? fields : "");
	req(cl, "POST", path, body, NULL, NULL, out);
	char ctx[400];
	snprintf(ctx, sizeof(ctx), "POST %s %.200s", path, fields ? fields : "");
	harness_expect_status(out, want, ctx);
}

/* post, expecting a 303 back to the report's page saying done. */
static void post_ok(const client *cl, long long id, const char *verb, const char *fields,
		    const char *done)
{
	char path[128], want[160];
	snprintf(path, sizeof(path), "/mod/reports/%lld/%s", id, verb);
	snprintf(want, sizeof(want), "/mod/reports/%lld?done=%s", id, done);
	harness_response r;
	post(cl, path, fields, 303, &r);
	const char *loc = harness_response_header(&r, "Location");
	if (!loc || strcmp(loc, want) != 0)
		fail_msg("POST %s: Location %s, expected %s", path, loc ? loc : "(none)",
			 want);
	harness_response_free(&r);
}

/* s as application/x-www-form-urlencoded into out. */
static void urlencode(const char *s, char *out, size_t size)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t k = 0;
	for (; *s && k + 4 < size; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.') {
			out[k++] = (char)c;
		} else if (c == ' ') {
			out[k++] = '+';
		} else {
			out[k++] = '%';
			out[k++] = hex[c >> 4];
			out[k++] = hex[c & 15];
		}
	}
	out[k] = '\0';
}

static bool has(const harness_response *r, const char *s)
{
	return r->body && strstr(r->body, s) != NULL;
}

static void expect_has(const harness_response *r, const char *s, const char *ctx)
{
	if (!has(r, s))
		fail_msg("%s: the page does not hold \"%s\": %.1500s", ctx, s,
			 r->body ? r->body : "");
}

static void expect_not(const harness_response *r, const char *s, const char *ctx)
{
	if (has(r, s))
		fail_msg("%s: the page holds \"%s\"", ctx, s);
}

/* The headers every console page carries, and no script or style of its
 * own: every <script> loads a file of this server. */
static void expect_page_headers(const harness_response *r, const char *ctx)
{
	const char *csp = harness_response_header(r, "Content-Security-Policy");
	static const char *const parts[] = {
	    "default-src 'none'", "script-src 'self'",	    "style-src 'self'",
	    "form-action 'self'", "frame-ancestors 'none'", "base-uri 'none'"};
	if (!csp)
		fail_msg("%s: no Content-Security-Policy", ctx);
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		if (!strstr(csp, parts[i]))
			fail_msg("%s: the CSP lacks %s: %s", ctx, parts[i], csp);
	if (strstr(csp, "unsafe") || strstr(csp, "http"))
		fail_msg("%s: the CSP allows too much: %s", ctx, csp);
	static const char *const want[][2] = {{"X-Content-Type-Options", "nosniff"},
					      {"Referrer-Policy", "no-referrer"},
					      {"Cache-Control", "no-store"},
					      {"X-Frame-Options", "DENY"}};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const char *v = harness_response_header(r, want[i][0]);
		if (!v || strcmp(v, want[i][1]) != 0)
			fail_msg("%s: %s is %s, expected %s", ctx, want[i][0],
				 v ? v : "(none)", want[i][1]);
	}
	const char *ct = harness_response_header(r, "Content-Type");
	if (!ct || strncmp(ct, "text/html", 9) != 0)
		fail_msg("%s: Content-Type %s", ctx, ct ? ct : "(none)");
	for (const char *p = r->body; p && (p = strstr(p, "<script")); p++)
		if (strncmp(p, "<script src=\"/static/", 21) != 0)
			fail_msg("%s: an inline script: %.80s", ctx, p);
	if (has(r, " style=") || has(r, "<style"))
		fail_msg("%s: inline style", ctx);
}

/* cl's JSON view of report id (caller decrefs). */
static json_t *api_report(const client *cl, long long id)
{
	char path[96];
	snprintf(path, sizeof(path), MOD_API "/reports/%lld", id);
	const char *h[] = {cl->cookie, NULL};
	harness_response r;
	harness_request(&srv, "GET", path, h, NULL, 0, &r);
	harness_expect_status(&r, 200, path);
	json_t *doc = harness_body_json(&r, path);
	harness_response_free(&r);
	return doc;
}

static long long count_action(const char *action)
{
	return harness_count_audit(&srv, action);
}

static long long audit_total(void)
{
	return harness_count_audit(&srv, NULL);
}

/* Posts a report (fields built by the caller as a JSON object, taken);
 * returns its id and writes its receipt when receipt is not NULL. */
static long long post_report(json_t *doc, char *receipt)
{
	char *body = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	harness_response r;
	harness_post_json(&srv, "/api/v1/reports", body, &r);
	free(body);
	harness_expect_status(&r, 201, "report");
	json_t *out = harness_body_json(&r, "report");
	if (receipt)
		snprintf(receipt, 64, "%s", harness_str_field(out, "receipt", "report"));
	long long id = json_integer_value(json_object_get(out, "id"));
	json_decref(out);
	harness_response_free(&r);
	return id;
}

/* ---- group ---- */

static int group_setup(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	/* No engine: these tests count exact event memberships, which the
	 * engine (test_events.c) would change under them. */
	static const char *const args[] = {"--engine-interval", "0", NULL};
	harness_server_init(&srv, args);
	harness_moderator_add(&srv, "root", "admin");
	harness_moderator_add(&srv, "mia", "moderator");
	harness_moderator_add(&srv, "ned", "moderator");
	harness_server_launch(&srv);
	id_train = post_report(
	    json_pack("{s:s, s:s, s:{s:f, s:f, s:s}, s:[{s:s, s:s, s:i}], s:s}",
		      "category", "rail_transport", "observed_at", "2022-10-10T08:30:00Z",
		      "location", "lat", 54.5081, "lon", 30.4172, "place", PLACE_CANARY,
		      "equipment", "type", "tank", "model", MODEL_CANARY, "count", 12,
		      "text", TEXT_CANARY),
	    receipt_train);
	id_xss = post_report(
	    json_pack("{s:s, s:s, s:{s:f, s:f, s:s}, s:[{s:s, s:s, s:i}], s:s, s:s}",
		      "category", "road_convoy", "observed_at", "2022-10-10T09:30:00Z",
		      "location", "lat", 54.51, "lon", 30.42, "place", SCRIPT BREAKOUT,
		      "equipment", "type", "truck", "model", BREAKOUT SCRIPT, "count", 3,
		      "destination", SCRIPT " and " BREAKOUT, "text",
		      "text " SCRIPT " then " BREAKOUT),
	    NULL);
	id_air = post_report(json_pack("{s:s, s:s, s:{s:s}}", "category", "aircraft",
				       "observed_at", "2022-10-11T10:00:00Z", "location",
				       "place", "Machulishchy"),
			     NULL);
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

/* Without a session: the sign-in page for every GET (200 at /mod, 401
 * elsewhere, the same page for known and unknown paths), 401 for every
 * POST, never any report data, nothing in the audit log. */
static void test_anonymous(void **state)
{
	(void)state;
	long long before = audit_total();
	char rp[64];
	snprintf(rp, sizeof(rp), "/mod/reports/%lld", id_train);
	const char *gets[] = {"/mod",
			      "/mod/",
			      rp,
			      "/mod/events",
			      "/mod/events/1",
			      "/mod/audit",
			      "/mod/no-such-page",
			      "/mod/reports/1/claim",
			      "/mod/queue?status=all"};
	char *known = NULL, *unknown = NULL;
	for (size_t i = 0; i < sizeof(gets) / sizeof(gets[0]); i++) {
		harness_response r;
		bool root = strcmp(gets[i], "/mod") == 0 || strcmp(gets[i], "/mod/") == 0;
		page(NULL, gets[i], root ? 200 : 401, &r);
		expect_page_headers(&r, gets[i]);
		expect_has(&r, "action=\"/mod/sign-in\"", gets[i]);
		expect_not(&r, PLACE_CANARY, gets[i]);
		expect_not(&r, TEXT_CANARY, gets[i]);
		expect_not(&r, "Rail transport", gets[i]);
		expect_not(&r, "sign-out", gets[i]);
		if (gets[i] == rp)
			known = strdup(r.body);
		if (strcmp(gets[i], "/mod/no-such-page") == 0)
			unknown = strdup(r.body);
		harness_response_free(&r);
	}
	assert_non_null(known);
	assert_non_null(unknown);
	assert_string_equal(known, unknown);
	free(known);
	free(unknown);

	/* A cookie that is no session is no better. */
	harness_response r;
	req(NULL, "GET", rp, NULL,
	    "Cookie: sl_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL, &r);
	harness_expect_status(&r, 401, "a forged cookie");
	expect_not(&r, PLACE_CANARY, "a forged cookie");
	harness_response_free(&r);

	const char *verbs[] = {"claim",	 "release", "grade",  "verify",
			       "reject", "notes",   "attach", "detach"};
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]) + 3; i++) {
		char path[128];
		if (i < sizeof(verbs) / sizeof(verbs[0]))
			snprintf(path, sizeof(path), "%s/%s", rp, verbs[i]);
		else
			snprintf(path, sizeof(path), "%s",
				 (const char *[]){"/mod/events", "/mod/sign-out",
						  "/mod/no-such-action"}[i - 8]);
		req(NULL, "POST", path,
		    "csrf=x&reliability=A&credibility=1&reason=x&text=x", NULL, NULL, &r);
		harness_expect_status(&r, 401, path);
		expect_not(&r, PLACE_CANARY, path);
		expect_not(&r, TEXT_CANARY, path);
		harness_response_free(&r);
	}
	assert_int_equal(audit_total(), before);
	json_t *doc = NULL;
	client root;
	harness_sign_in(&srv, "root", &root);
	doc = api_report(&root, id_train);
	assert_null(json_object_get(doc, "grade"));
	assert_string_equal(harness_str_field(doc, "status", "train"), "received");
	json_decref(doc);
}

/* Signing in and out with the plain forms. */
static void test_form_sign_in_out(void **state)
{
	(void)state;
	char pass[256], body[1024];
	harness_response r;
	req(NULL, "POST", "/mod/sign-in", "name=nobody&passphrase=wrong+one", NULL, NULL,
	    &r);
	harness_expect_status(&r, 401, "a wrong sign-in");
	expect_page_headers(&r, "a wrong sign-in");
	expect_has(&r, "name or passphrase is wrong", "a wrong sign-in");
	expect_has(&r, "value=\"nobody\"", "a wrong sign-in");
	harness_response_free(&r);

	req(NULL, "POST", "/mod/sign-in", "name=ned", NULL, NULL, &r);
	harness_expect_status(&r, 422, "no passphrase");
	expect_has(&r, "passphrase", "no passphrase");
	harness_response_free(&r);

	harness_passphrase("mia", pass, sizeof(pass));
	char enc[768];
	urlencode(pass, enc, sizeof(enc));
	snprintf(body, sizeof(body), "name=mia&passphrase=%s", enc);
	req(NULL, "POST", "/mod/sign-in", body, "Origin: http://evil.example", NULL, &r);
	harness_expect_status(&r, 403, "a sign-in from another site");
	assert_null(harness_response_header(&r, "Set-Cookie"));
	harness_response_free(&r);
	req(NULL, "POST", "/mod/sign-in", body, "Origin: null",
	    "Sec-Fetch-Site: cross-site", &r);
	harness_expect_status(&r, 403, "a sign-in from a sandboxed page elsewhere");
	harness_response_free(&r);

	long long ins = count_action("sign_in");
	/* What a browser sends from the sign-in page (Referrer-Policy:
	 * no-referrer makes its Origin "null"). */
	req(NULL, "POST", "/mod/sign-in", body, "Origin: null",
	    "Sec-Fetch-Site: same-origin", &r);
	harness_expect_status(&r, 303, "the sign-in form");
	const char *loc = harness_response_header(&r, "Location");
	assert_non_null(loc);
	assert_string_equal(loc, "/mod");
	const char *sc = harness_response_header(&r, "Set-Cookie");
	if (!sc || strncmp(sc, "sl_session=", 11) != 0 || !strstr(sc, "HttpOnly") ||
	    !strstr(sc, "SameSite=Strict"))
		fail_msg("the form's sign-in set %s", sc ? sc : "no cookie");
	client mia;
	memset(&mia, 0, sizeof(mia));
	snprintf(mia.cookie, sizeof(mia.cookie), "Cookie: sl_session=%.*s",
		 HARNESS_TOKEN_LEN, sc + 11);
	harness_response_free(&r);
	assert_int_equal(count_action("sign_in"), ins + 1);

	/* The queue, and the CSRF token in its forms. */
	page(&mia, "/mod", 200, &r);
	expect_page_headers(&r, "the queue");
	expect_has(&r, "id=\"who\" class=\"who\">mia</span>", "the queue");
	expect_has(&r, PLACE_CANARY, "the queue");
	const char *t = strstr(r.body, "name=\"csrf\" value=\"");
	assert_non_null(t);
	snprintf(mia.csrf, sizeof(mia.csrf), "%.*s", HARNESS_TOKEN_LEN, t + 19);
	expect_not(&r, "nav-audit", "a moderator's queue");
	harness_response_free(&r);

	/* Sign-out needs the token too. */
	req(&mia, "POST", "/mod/sign-out", "csrf=nope", NULL, NULL, &r);
	harness_expect_status(&r, 403, "sign-out without the token");
	harness_response_free(&r);
	page(&mia, "/mod", 200, &r);
	expect_has(&r, "sign-out", "still signed in");
	harness_response_free(&r);
	long long outs = count_action("sign_out");
	post(&mia, "/mod/sign-out", NULL, 303, &r);
	assert_string_equal(harness_response_header(&r, "Location"), "/mod");
	sc = harness_response_header(&r, "Set-Cookie");
	if (!sc || !strstr(sc, "Max-Age=0"))
		fail_msg("sign-out did not clear the cookie: %s", sc ? sc : "(none)");
	harness_response_free(&r);
	assert_int_equal(count_action("sign_out"), outs + 1);
	page(&mia, "/mod", 200, &r);
	expect_has(&r, "action=\"/mod/sign-in\"", "after sign-out");
	expect_not(&r, PLACE_CANARY, "after sign-out");
	harness_response_free(&r);
	const char *h[] = {mia.cookie, NULL};
	harness_request(&srv, "GET", MOD_API "/whoami", h, NULL, 0, &r);
	harness_expect_status(&r, 401, "the API after sign-out");
	harness_response_free(&r);
}

/* The audit page is for admins: 403 for a moderator, with none of it. */
static void test_admin_pages(void **state)
{
	(void)state;
	client mia, root;
	harness_sign_in(&srv, "mia", &mia);
	harness_sign_in(&srv, "root", &root);
	harness_response r;
	page(&mia, "/mod/audit", 403, &r);
	expect_page_headers(&r, "the audit page for a moderator");
	expect_not(&r, "moderator_add", "the audit page for a moderator");
	expect_not(&r, "audit-table", "the audit page for a moderator");
	harness_response_free(&r);
	page(&root, "/mod/audit", 200, &r);
	expect_page_headers(&r, "the audit page");
	expect_has(&r, "id=\"audit-table\"", "the audit page");
	expect_has(&r, "moderator_add", "the audit page");
	expect_has(&r, "sign_in", "the audit page");
	expect_has(&r, "nav-audit", "an admin's page");
	harness_response_free(&r);
}

/* A form without the session's token, with a wrong one, or with another
 * session's: 403, nothing changed, nothing logged, nothing shown. */
static void test_csrf(void **state)
{
	(void)state;
	client mia, ned;
	harness_sign_in(&srv, "mia", &mia);
	harness_sign_in(&srv, "ned", &ned);
	char path[96], wrong[160], other[160];
	snprintf(path, sizeof(path), "/mod/reports/%lld/grade", id_train);
	snprintf(wrong, sizeof(wrong), "csrf=%.*s&reliability=B&credibility=2",
		 HARNESS_TOKEN_LEN, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	snprintf(other, sizeof(other), "csrf=%s&reliability=B&credibility=2", ned.csrf);
	const char *bodies[] = {"reliability=B&credibility=2",
				"csrf=&reliability=B&credibility=2", wrong, other};
	long long before = audit_total();
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		harness_response r;
		req(&mia, "POST", path, bodies[i], NULL, NULL, &r);
		harness_expect_status(&r, 403, bodies[i]);
		expect_page_headers(&r, "a refused form");
		expect_has(&r, "CSRF", bodies[i]);
		expect_not(&r, TEXT_CANARY, bodies[i]);
		harness_response_free(&r);
	}
	/* The JSON API's header does not stand in for the form's field. */
	harness_response r;
	req(&mia, "POST", path, "reliability=B&credibility=2", mia.csrf_h, NULL, &r);
	harness_expect_status(&r, 403, "the header instead of the field");
	harness_response_free(&r);
	assert_int_equal(audit_total(), before);
	json_t *doc = api_report(&mia, id_train);
	assert_null(json_object_get(doc, "grade"));
	json_decref(doc);
}

/* Origin and Sec-Fetch-Site: a request from another site is refused
 * before anything is done; what our own pages send passes. */
static void test_origin(void **state)
{
	(void)state;
	client mia;
	harness_sign_in(&srv, "mia", &mia);
	char path[96], body[128], own[96];
	snprintf(path, sizeof(path), "/mod/reports/%lld/claim", id_air);
	snprintf(body, sizeof(body), "csrf=%s", mia.csrf);
	snprintf(own, sizeof(own), "Origin: %s", srv.base);
	static const char *const refused[][2] = {
	    {"Origin: http://evil.example", NULL},
	    {"Origin: null", NULL},
	    {"Origin: null", "Sec-Fetch-Site: cross-site"},
	    {"Sec-Fetch-Site: cross-site", NULL},
	    {"Sec-Fetch-Site: same-site", NULL},
	    {"Origin: http://evil.example", "Sec-Fetch-Site: same-origin"},
	};
	long long before = audit_total();
	harness_response r;
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		req(&mia, "POST", path, body, refused[i][0], refused[i][1], &r);
		char ctx[160];
		snprintf(ctx, sizeof(ctx), "%s %s", refused[i][0],
			 refused[i][1] ? refused[i][1] : "");
		harness_expect_status(&r, 403, ctx);
		expect_page_headers(&r, ctx);
		harness_response_free(&r);
	}
	req(&mia, "GET", "/mod", NULL, "Origin: http://evil.example", NULL, &r);
	harness_expect_status(&r, 403, "a page fetched from another site");
	expect_not(&r, PLACE_CANARY, "a page fetched from another site");
	harness_response_free(&r);
	assert_int_equal(audit_total(), before);
	json_t *doc = api_report(&mia, id_air);
	assert_null(json_object_get(doc, "claimed_by"));
	json_decref(doc);

	req(&mia, "POST", path, body, "Origin: null", "Sec-Fetch-Site: same-origin", &r);
	harness_expect_status(&r, 303, "a form from our page");
	harness_response_free(&r);
	snprintf(path, sizeof(path), "/mod/reports/%lld/release", id_air);
	req(&mia, "POST", path, body, own, NULL, &r);
	harness_expect_status(&r, 303, "a form with our Origin");
	harness_response_free(&r);
	req(&mia, "GET", "/mod", NULL, "Sec-Fetch-Site: none", NULL, &r);
	harness_expect_status(&r, 200, "a page the moderator typed");
	harness_response_free(&r);
}

/* Every string from a report, a note or a reason is escaped. */
static void test_escaping(void **state)
{
	(void)state;
	client root;
	harness_sign_in(&srv, "root", &root);
	char enc[1024], fields[1200];
	urlencode("note " SCRIPT " " BREAKOUT, enc, sizeof(enc));
	snprintf(fields, sizeof(fields), "text=%s", enc);
	post_ok(&root, id_xss, "notes", fields, "noted");
	urlencode("reason " SCRIPT " " BREAKOUT, enc, sizeof(enc));
	snprintf(fields, sizeof(fields), "reason=%s", enc);
	post_ok(&root, id_xss, "reject", fields, "rejected");
	harness_response r;
	char body[128];
	snprintf(body, sizeof(body), "report_id=%lld", id_xss);
	post(&root, "/mod/events", body, 303, &r);
	harness_response_free(&r);

	char rp[64];
	snprintf(rp, sizeof(rp), "/mod/reports/%lld?status=all", id_xss);
	const char *pages[] = {"/mod?status=all", rp, "/mod/events"};
	for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
		page(&root, pages[i], 200, &r);
		expect_not(&r, "<script>alert", pages[i]);
		expect_not(&r, "<img src=x", pages[i]);
		expect_not(&r, "'><img", pages[i]);
		expect_has(&r, SCRIPT_ESCAPED, pages[i]);
		expect_has(&r, BREAKOUT_ESCAPED, pages[i]);
		expect_page_headers(&r, pages[i]);
		harness_response_free(&r);
	}
	page(&root, rp, 200, &r);
	/* place, model, destination, text, note, reason: each escaped. */
	expect_has(&r, "<dd>" SCRIPT_ESCAPED BREAKOUT_ESCAPED "</dd>", "the place");
	expect_has(&r, "(" BREAKOUT_ESCAPED SCRIPT_ESCAPED ")", "the model");
	expect_has(&r, "<dd>" SCRIPT_ESCAPED " and " BREAKOUT_ESCAPED "</dd>",
		   "the destination");
	expect_has(&r, "text " SCRIPT_ESCAPED " then " BREAKOUT_ESCAPED, "the text");
	expect_has(&r, "note " SCRIPT_ESCAPED " " BREAKOUT_ESCAPED, "the note");
	expect_has(&r, "reason " SCRIPT_ESCAPED " " BREAKOUT_ESCAPED, "the reason");
	harness_response_free(&r);
	/* The audit log shows them escaped too (the reason is in its detail). */
	page(&root, "/mod/audit", 200, &r);
	expect_not(&r, "<script>alert", "the audit page");
	expect_not(&r, "<img src=x", "the audit page");
	harness_response_free(&r);
}

/* Each form does what the JSON API's action does, and writes its entry:
 * the JSON API shows the change. */
static void test_actions(void **state)
{
	(void)state;
	client mia;
	harness_sign_in(&srv, "mia", &mia);
	const long long id = id_train;
	harness_response r;

	/* Opening the page is a "view", logged before the page is sent. */
	long long views = count_action("view");
	char rp[64];
	snprintf(rp, sizeof(rp), "/mod/reports/%lld", id);
	page(&mia, rp, 200, &r);
	expect_page_headers(&r, "the report page");
	expect_has(&r, TEXT_CANARY, "the report page");
	expect_has(&r, MODEL_CANARY, "the report page");
	expect_has(&r, "data-lat=\"54.508100\"", "the map's data");
	harness_response_free(&r);
	assert_int_equal(count_action("view"), views + 1);
	assert_int_equal(harness_db_integer(&srv,
					    "SELECT count(*) FROM audit WHERE action = "
					    "'view' AND actor = 'mia' AND detail = "
					    "'{\"sealed_opened\":1}'") >= 1,
			 1);

	long long n = count_action("claim");
	post_ok(&mia, id, "claim", NULL, "claimed");
	assert_int_equal(count_action("claim"), n + 1);
	json_t *doc = api_report(&mia, id);
	assert_string_equal(harness_str_field(doc, "claimed_by", "claim"), "mia");
	assert_string_equal(harness_str_field(doc, "status", "claim"), "under_review");
	json_decref(doc);

	n = count_action("release");
	post_ok(&mia, id, "release", NULL, "released");
	assert_int_equal(count_action("release"), n + 1);
	doc = api_report(&mia, id);
	assert_null(json_object_get(doc, "claimed_by"));
	json_decref(doc);

	n = count_action("grade");
	post_ok(&mia, id, "grade", "reliability=B&credibility=2", "graded");
	assert_int_equal(count_action("grade"), n + 1);
	assert_int_equal(
	    harness_db_integer(&srv, "SELECT count(*) FROM audit WHERE action = "
				     "'grade' AND detail = "
				     "'{\"reliability\":\"B\",\"credibility\":2}'"),
	    1);
	doc = api_report(&mia, id);
	json_t *g = json_object_get(doc, "grade");
	assert_string_equal(harness_str_field(g, "reliability", "grade"), "B");
	assert_int_equal(json_integer_value(json_object_get(g, "credibility")), 2);
	json_decref(doc);

	n = count_action("note");
	post_ok(&mia, id, "notes", "text=seen+by+two+others%2C+see+%235", "noted");
	assert_int_equal(count_action("note"), n + 1);
	doc = api_report(&mia, id);
	json_t *note = json_array_get(json_object_get(doc, "notes"), 0);
	assert_string_equal(harness_str_field(note, "text", "note"),
			    "seen by two others, see #5");
	assert_string_equal(harness_str_field(note, "author", "note"), "mia");
	json_decref(doc);

	/* A new event from the report, then another report attached and
	 * detached. */
	n = count_action("event_create");
	char body[128];
	snprintf(body, sizeof(body), "report_id=%lld", id);
	post(&mia, "/mod/events", body, 303, &r);
	harness_response_free(&r);
	assert_int_equal(count_action("event_create"), n + 1);
	doc = api_report(&mia, id);
	json_t *evs = json_object_get(doc, "events");
	assert_int_equal(json_array_size(evs), 1);
	long long ev = json_integer_value(json_array_get(evs, 0));
	json_decref(doc);
	char fields[64];
	snprintf(fields, sizeof(fields), "event_id=%lld", ev);
	n = count_action("attach");
	post_ok(&mia, id_air, "attach", fields, "attached");
	assert_int_equal(count_action("attach"), n + 1);
	doc = api_report(&mia, id_air);
	assert_int_equal(json_array_size(json_object_get(doc, "events")), 1);
	json_decref(doc);
	char ep[64];
	snprintf(ep, sizeof(ep), "/mod/events/%lld", ev);
	page(&mia, ep, 200, &r);
	expect_page_headers(&r, ep);
	expect_has(&r, PLACE_CANARY, "the event's reports");
	expect_has(&r, "Machulishchy", "the event's reports");
	expect_not(&r, TEXT_CANARY, "the event page (clear fields only)");
	harness_response_free(&r);
	n = count_action("detach");
	post_ok(&mia, id_air, "detach", fields, "detached");
	assert_int_equal(count_action("detach"), n + 1);
	doc = api_report(&mia, id_air);
	assert_int_equal(json_array_size(json_object_get(doc, "events")), 0);
	json_decref(doc);

	/* Verify, then reject: the informant's receipt says each. */
	n = count_action("verify");
	post_ok(&mia, id, "verify", NULL, "verified");
	assert_int_equal(count_action("verify"), n + 1);
	doc = api_report(&mia, id);
	assert_string_equal(harness_str_field(doc, "status", "verify"), "verified");
	json_decref(doc);
	n = count_action("reject");
	post_ok(&mia, id, "reject", "reason=a+passenger+train", "rejected");
	assert_int_equal(count_action("reject"), n + 1);
	doc = api_report(&mia, id);
	assert_string_equal(harness_str_field(doc, "status", "reject"), "rejected");
	assert_string_equal(harness_str_field(doc, "reject_reason", "reject"),
			    "a passenger train");
	json_decref(doc);
	char sp[128];
	snprintf(sp, sizeof(sp), "/api/v1/reports/%s", receipt_train);
	harness_get(&srv, sp, &r);
	harness_expect_status(&r, 200, "the receipt");
	expect_has(&r, "\"rejected\"", "the receipt");
	harness_response_free(&r);

	/* The queue's filter is kept through the redirect. */
	char vp[96];
	snprintf(vp, sizeof(vp), "/mod/reports/%lld/verify?status=all", id);
	post(&mia, vp, NULL, 303, &r);
	char want[96];
	snprintf(want, sizeof(want), "/mod/reports/%lld?done=verified&status=all", id);
	assert_string_equal(harness_response_header(&r, "Location"), want);
	harness_response_free(&r);
	page(&mia, want, 200, &r);
	expect_has(&r, "id=\"done\"", "the page after the redirect");
	expect_has(&r, "Verified.", "the page after the redirect");
	harness_response_free(&r);
}

/* post, expecting the report's page again with status want, the error
 * beside form (id error-FORM) saying words, and keep in the page. */
static void refused(const client *cl, long long id, const char *verb, const char *fields,
		    long want, const char *form, const char *words, const char *keep)
{
	char path[96], ctx[300], err[64];
	snprintf(path, sizeof(path), "/mod/reports/%lld/%s", id, verb);
	snprintf(ctx, sizeof(ctx), "POST %s %.120s", path, fields);
	harness_response r;
	post(cl, path, fields, want, &r);
	expect_page_headers(&r, ctx);
	snprintf(err, sizeof(err), "id=\"error-%s\"", form);
	expect_has(&r, err, ctx);
	const char *box = strstr(r.body, err);
	if (!strstr(box, words))
		fail_msg("%s: the error does not say \"%s\": %.400s", ctx, words, box);
	if (keep)
		expect_has(&r, keep, ctx);
	harness_response_free(&r);
}

/* A refused form: its page again, the error beside the form, what was
 * typed kept; nothing changed and no action logged. */
static void test_validation(void **state)
{
	(void)state;
	client mia, ned;
	harness_sign_in(&srv, "mia", &mia);
	harness_sign_in(&srv, "ned", &ned);
	const long long id = id_air;
	long long before[4] = {count_action("grade"), count_action("reject"),
			       count_action("note"), count_action("attach")};

	refused(&mia, id, "grade", "reliability=G&credibility=2", 422, "grade",
		"is not one of A, B, C, D, E, F", "<option selected>2</option>");
	refused(&mia, id, "grade", "reliability=C&credibility=7", 422, "grade",
		"is not a whole number from 1 to 6", "<option selected>C</option>");
	refused(&mia, id, "grade", "reliability=C", 422, "grade", "is required", NULL);

	refused(&mia, id, "reject", "reason=+++", 422, "reject",
		"is empty or has control characters", "value=\"   \"");
	char big[700] = "reason=";
	memset(big + 7, 'x', 600);
	big[607] = '\0';
	refused(&mia, id, "reject", big, 422, "reject", "longer than the limit of 500",
		"value=\"xxxxxxxxxxxxxxxxxxxx");
	refused(&mia, id, "reject", "", 422, "reject", "is required", NULL);

	char longnote[2200] = "text=";
	memset(longnote + 5, 'n', 2100);
	longnote[2105] = '\0';
	refused(&mia, id, "notes", longnote, 422, "note", "longer than the limit of 2000",
		">nnnnnnnnnnnnnnnnnnnn");
	refused(&mia, id, "notes", "text=%01bad", 422, "note", "control characters",
		NULL);

	refused(&mia, id, "attach", "event_id=abc", 422, "event", "is not an event id",
		"value=\"abc\"");
	refused(&mia, id, "attach", "event_id=999999", 404, "event", "no such event",
		"value=\"999999\"");

	/* Someone else's claim: 409 beside the claim button. */
	char path[96];
	snprintf(path, sizeof(path), "/mod/reports/%lld/claim", id);
	harness_response r;
	post(&ned, path, NULL, 303, &r);
	harness_response_free(&r);
	refused(&mia, id, "claim", "", 409, "claim", "ned has claimed this report", NULL);
	snprintf(path, sizeof(path), "/mod/reports/%lld/release", id);
	post(&ned, path, NULL, 303, &r);
	harness_response_free(&r);

	assert_int_equal(count_action("grade"), before[0]);
	assert_int_equal(count_action("reject"), before[1]);
	assert_int_equal(count_action("note"), before[2]);
	assert_int_equal(count_action("attach"), before[3]);
	json_t *doc = api_report(&mia, id);
	assert_null(json_object_get(doc, "grade"));
	assert_string_equal(harness_str_field(doc, "status", "unchanged"),
			    "under_review");
	assert_int_equal(json_array_size(json_object_get(doc, "notes")), 0);
	json_decref(doc);

	/* An unknown report, a body that is not a form. */
	post(&mia, "/mod/reports/999999/verify", NULL, 404, &r);
	expect_page_headers(&r, "an unknown report");
	harness_response_free(&r);
	page(&mia, "/mod/reports/999999", 404, &r);
	harness_response_free(&r);
	page(&mia, "/mod/events/999999", 404, &r);
	harness_response_free(&r);
	page(&mia, "/mod/no-such-page", 404, &r);
	expect_page_headers(&r, "no such page");
	harness_response_free(&r);
	const char *h[] = {mia.cookie, "Content-Type: application/json", NULL};
	snprintf(path, sizeof(path), "/mod/reports/%lld/verify", id);
	char json[128];
	snprintf(json, sizeof(json), "{\"csrf\":\"%s\"}", mia.csrf);
	harness_request(&srv, "POST", path, h, json, strlen(json), &r);
	harness_expect_status(&r, 415, "a JSON body to a form");
	harness_response_free(&r);
	page(&mia, path, 405, &r);
	harness_response_free(&r);
}

/* Every page, for each role, carries the console's headers. */
static void test_headers(void **state)
{
	(void)state;
	client root;
	harness_sign_in(&srv, "root", &root);
	char rp[64];
	snprintf(rp, sizeof(rp), "/mod/reports/%lld", id_air);
	const char *pages[] = {"/mod",	      "/mod/?status=all", rp,
			       "/mod/events", "/mod/audit",	  "/mod/audit?limit=2",
			       "/mod?limit=1"};
	for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
		harness_response r;
		page(&root, pages[i], 200, &r);
		expect_page_headers(&r, pages[i]);
		harness_response_free(&r);
	}
	harness_response r;
	req(&root, "HEAD", "/mod", NULL, NULL, NULL, &r);
	harness_expect_status(&r, 200, "HEAD /mod");
	expect_page_headers(&r, "HEAD /mod");
	harness_response_free(&r);
}

/* After a clean stop the audit log verifies, and the note of the escaping
 * test was sealed (its text is nowhere on disk in clear). */
/* The publication page (admins): the policy's form, webhooks, and the
 * excerpt form on an event's page; each change audited; a moderator is
 * refused. */
static void test_publication(void **state)
{
	(void)state;
	client mia, root;
	harness_sign_in(&srv, "mia", &mia);
	harness_sign_in(&srv, "root", &root);
	harness_response r;
	page(&mia, "/mod/publish", 403, &r);
	expect_not(&r, "policy-form", "the publication page for a moderator");
	harness_response_free(&r);
	post(&mia, "/mod/publish/policy", "delay_aircraft=0", 403, &r);
	harness_response_free(&r);
	page(&root, "/mod/publish", 200, &r);
	expect_page_headers(&r, "the publication page");
	expect_has(&r, "id=\"policy-form\"", "the publication page");
	expect_has(&r, "name=\"delay_aircraft\" id=\"delay-aircraft\" value=\"60\"",
		   "the default delay");
	expect_has(&r, "nav-publish", "an admin's page");
	harness_response_free(&r);

	long long before = count_action("publish_policy");
	post(&root, "/mod/publish/policy", "delay_aircraft=0&grid_km=10&min_reports=2", 303, &r);
	assert_string_equal(harness_response_header(&r, "Location"), "/mod/publish?done=policy");
	harness_response_free(&r);
	assert_int_equal(count_action("publish_policy"), before + 1);
	page(&root, "/mod/publish?done=policy", 200, &r);
	expect_has(&r, "id=\"delay-aircraft\" value=\"0\"", "the saved delay");
	expect_has(&r, "id=\"min-reports\" value=\"2\"", "the saved k");
	expect_has(&r, "Policy saved.", "the done message");
	harness_response_free(&r);
	post(&root, "/mod/publish/policy", "grid_km=0.1&delay_naval=x", 422, &r);
	expect_has(&r, "grid_km", "a bad grid");
	expect_has(&r, "delay_naval", "a bad delay");
	harness_response_free(&r);
	assert_int_equal(count_action("publish_policy"), before + 1);

	post(&root, "/mod/publish/webhooks", "url=ftp%3A%2F%2Fexample%2Fx", 422, &r);
	harness_response_free(&r);
	post(&root, "/mod/publish/webhooks", "url=http%3A%2F%2F127.0.0.1%3A9%2Fhook", 201, &r);
	expect_has(&r, "id=\"webhook-secret\"", "the new webhook's secret");
	harness_response_free(&r);
	assert_int_equal(count_action("webhook_add"), 1);
	page(&root, "/mod/publish", 200, &r);
	expect_not(&r, "webhook-secret", "the secret, shown once");
	expect_has(&r, "http://127.0.0.1:9/hook", "the webhook listed");
	harness_response_free(&r);
	post(&root, "/mod/publish/webhooks/remove", "id=1", 303, &r);
	harness_response_free(&r);
	assert_int_equal(count_action("webhook_remove"), 1);

	char body[64];
	snprintf(body, sizeof(body), "{\"report_ids\":[%lld]}", id_air);
	json_t *ev = harness_mod_call(&srv, &root, "POST", MOD_API "/events", body, 201);
	long long eid = json_integer_value(json_object_get(ev, "id"));
	json_decref(ev);
	char path[64], fields[160];
	snprintf(path, sizeof(path), "/mod/events/%lld", eid);
	page(&root, path, 200, &r);
	expect_has(&r, "id=\"excerpt-form\"", "the event page for an admin");
	harness_response_free(&r);
	page(&mia, path, 200, &r);
	expect_not(&r, "id=\"excerpt-form\"", "the event page for a moderator");
	harness_response_free(&r);
	snprintf(fields, sizeof(fields), "event_id=%lld&text=Two+aircraft+took+off", eid);
	post(&root, "/mod/publish/excerpt", fields, 303, &r);
	assert_string_equal(harness_response_header(&r, "Location"), path);
	harness_response_free(&r);
	assert_int_equal(count_action("excerpt_approve"), 1);
	snprintf(fields, sizeof(fields), "event_id=%lld&withdraw=1", eid);
	post(&root, "/mod/publish/excerpt", fields, 303, &r);
	harness_response_free(&r);
	assert_int_equal(count_action("excerpt_withdraw"), 1);
}

static void test_audit_verifies(void **state)
{
	(void)state;
	harness_server_stop_ok(&srv);
	harness_audit_verify(&srv);
	assert_int_equal(harness_db_integer(&srv,
					    "SELECT count(*) FROM sealed WHERE kind = "
					    "'note' AND author_id IS NOT NULL") >= 2,
			 1);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_anonymous),	cmocka_unit_test(test_form_sign_in_out),
	    cmocka_unit_test(test_admin_pages), cmocka_unit_test(test_csrf),
	    cmocka_unit_test(test_origin),	cmocka_unit_test(test_escaping),
	    cmocka_unit_test(test_actions),	cmocka_unit_test(test_validation),
	    cmocka_unit_test(test_headers),	cmocka_unit_test(test_publication),
	    cmocka_unit_test(test_audit_verifies),
	};
	return cmocka_run_group_tests_name("console", tests, group_setup, group_teardown);
}
