/*
 * test_form.c — the informant's web form (/report, /report/status) against
 * the real binary, as a browser with JavaScript off would post it:
 * application/x-www-form-urlencoded and multipart/form-data.
 *
 * What is checked: the pages in the four languages (by ?lang=, by a form
 * field, by Accept-Language) with their headers — a Content-Security-Policy
 * that allows no script, nosniff, no-referrer, no-store, no framing, and
 * never a Set-Cookie; a good report reaching the store through the same
 * path as the JSON API (place resolved through the gazetteer and the
 * station list, equipment, heading, the time in Minsk's zone or the one
 * chosen, text sealed, photos cleaned and sealed); every kind of bad input
 * answered with the form again, the reason beside the field (id
 * e-FIELD) and the input kept, and nothing stored; refusals before the body
 * (another origin, another Content-Type, too large, the rate limit) as
 * pages; the status page and follow-ups; a server with no moderator.
 *
 * The browser's view of the same (chromium with JavaScript disabled,
 * through to a receipt) is tests/browser/form.test.mjs.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
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

#include "harness.h"
#include "http/form_int.h"

static const char *const no_rate[] = {"--rate-per-client", "0", "--rate-global", "0",
				      NULL};

static harness_server shared; /* a moderator, the test station list, no rates */
static harness_server own;

/* ---- bodies ---- */

typedef struct body {
	char *data;
	size_t len, cap;
} body;

static void body_put(body *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 1024;
		while (cap < b->len + n + 1)
			cap *= 2;
		b->data = realloc(b->data, cap);
		if (!b->data)
			abort();
		b->cap = cap;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

/* Appends name=value, percent-encoded, to an urlencoded body. */
static void field(body *b, const char *name, const char *value)
{
	if (b->len)
		body_put(b, "&", 1);
	body_put(b, name, strlen(name));
	body_put(b, "=", 1);
	for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
		char e[4];
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.')
			body_put(b, (const char *)p, 1);
		else if (*p == ' ')
			body_put(b, "+", 1);
		else {
			snprintf(e, sizeof(e), "%%%02X", *p);
			body_put(b, e, 3);
		}
	}
}

/* The local time (Minsk, UTC+3) of now + delta, as a datetime-local. */
static void local_time(long delta, char out[32], long offset)
{
	time_t t = time(NULL) + delta + offset;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M", &tm);
}

/* A good form: a train of 10-12 tanks at Orsha an hour ago, in lang. */
static void good_form(body *b, const char *lang)
{
	char when[32];
	local_time(-3600, when, 3 * 3600);
	field(b, "lang", lang);
	field(b, "category", "rail_transport");
	field(b, "place", "Орша");
	field(b, "observed_at", when);
	field(b, "tz", "+03:00");
	field(b, "eq1_type", "tank");
	field(b, "eq1_count", "10-12");
	field(b, "eq1_model", "T-72B3");
	field(b, "heading", "NE");
}

static void post_form(harness_server *srv, const char *path, const body *b,
		      const char *const *extra, harness_response *r)
{
	const char *h[12];
	size_t n = 0;
	h[n++] = "Content-Type: application/x-www-form-urlencoded";
	for (size_t i = 0; extra && extra[i]; i++)
		h[n++] = extra[i];
	h[n] = NULL;
	harness_request(srv, "POST", path, h, b->data ? b->data : "", b->len, r);
}

/* ---- checks ---- */

static void expect_has(const char *ctx, const harness_response *r, const char *needle)
{
	if (!r->body || !strstr(r->body, needle))
		fail_msg("%s: the page has no \"%s\"; status %ld, page: %.3000s", ctx,
			 needle, r->status, r->body ? r->body : "");
}

static void expect_lacks(const char *ctx, const harness_response *r, const char *needle)
{
	if (r->body && strstr(r->body, needle))
		fail_msg("%s: the page has \"%s\": %.3000s", ctx, needle, r->body);
}

/* The headers every page of the form has. */
static void check_page_headers(const char *ctx, const harness_response *r)
{
	const char *ct = harness_response_header(r, "Content-Type");
	if (!ct || strncmp(ct, "text/html", 9) != 0)
		fail_msg("%s: Content-Type %s", ctx, ct ? ct : "(none)");
	const char *csp = harness_response_header(r, "Content-Security-Policy");
	if (!csp || !strstr(csp, "default-src 'none'") ||
	    !strstr(csp, "form-action 'self'") ||
	    !strstr(csp, "frame-ancestors 'none'") || !strstr(csp, "base-uri 'none'") ||
	    strstr(csp, "script-src") || strstr(csp, "unsafe") || strstr(csp, "http"))
		fail_msg("%s: Content-Security-Policy %s", ctx, csp ? csp : "(none)");
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
	if (harness_response_header(r, "Set-Cookie"))
		fail_msg("%s: a Set-Cookie for an informant: %s", ctx,
			 harness_response_header(r, "Set-Cookie"));
	/* Nothing the page could run or fetch from elsewhere. */
	expect_lacks(ctx, r, "<script");
	expect_lacks(ctx, r, " style=");
	expect_lacks(ctx, r, "src=\"http");
	expect_lacks(ctx, r, "href=\"http");
	expect_lacks(ctx, r, "//cdn");
}

static long reports(harness_server *srv)
{
	return harness_count_reports(srv);
}

static void expect_reports(const char *ctx, harness_server *srv, long want)
{
	long n = reports(srv);
	if (n != want)
		fail_msg("%s: %ld reports stored, expected %ld", ctx, n, want);
}

/* The receipt on a receipt page (into out). */
static void receipt_of(const char *ctx, const harness_response *r, char out[64])
{
	harness_expect_status(r, 200, ctx);
	check_page_headers(ctx, r);
	const char *p = r->body ? strstr(r->body, "<code id=\"receipt\">") : NULL;
	const char *e = NULL;
	if (p) {
		p += strlen("<code id=\"receipt\">");
		e = strchr(p, '<');
	}
	if (!p || !e || e - p < 26 || e - p > 40)
		fail_msg("%s: no receipt on the page: %.3000s", ctx,
			 r->body ? r->body : "");
	snprintf(out, 64, "%.*s", (int)(e - p), p);
}

/* The last report stored, as export writes it. */

/* A refused form: status, the error beside field (e-ID), the form again
 * with kept in it, nothing stored. */
static void expect_refused(const char *ctx, harness_server *srv, const body *b,
			   long status, const char *error_id, const char *kept)
{
	long before = reports(srv);
	harness_response r;
	post_form(srv, "/report", b, NULL, &r);
	harness_expect_status(&r, status, ctx);
	check_page_headers(ctx, &r);
	char want[64];
	snprintf(want, sizeof(want), "id=\"e-%s\"", error_id);
	expect_has(ctx, &r, want);
	snprintf(want, sizeof(want), "aria-describedby=\"e-%s\"", error_id);
	expect_has(ctx, &r, want);
	expect_has(ctx, &r, "id=\"errors\"");
	expect_has(ctx, &r, "id=\"report-form\"");
	if (kept)
		expect_has(ctx, &r, kept);
	harness_response_free(&r);
	expect_reports(ctx, srv, before);
}

/* ---- the group ---- */

static int group_setup(void **state)
{
	(void)state;
	const char *data = getenv("TEST_DATA");
	static char stations[PATH_MAX];
	snprintf(stations, sizeof(stations), "%s/network/stations.tsv",
		 data ? data : "tests/data");
	const char *args[] = {
	    "--rate-per-client", "0", "--rate-global", "0", "--stations", stations, NULL};
	harness_server_init(&shared, args);
	harness_moderator_add(&shared, "ana", "admin");
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
	return 0;
}

/* ---- the tests ---- */

static void test_words(void **state)
{
	(void)state;
	for (int k = 0; k < FW_COUNT; k++)
		for (int l = 0; l < SL_LANG_COUNT; l++)
			if (!*sl_form_word((sl_lang)l, (fw_key)k))
				fail_msg("the form has no words for key %d in %s", k,
					 sl_lang_tag((sl_lang)l));
}

static void test_pages_in_four_languages(void **state)
{
	(void)state;
	static const struct {
		const char *how, *path, *header, *lang, *title;
	} cases[] = {
	    {"?lang=ru", "/report?lang=ru", NULL, "ru", "Сообщить, что вы видели"},
	    {"?lang=be", "/report?lang=be", NULL, "be", "Паведаміць, што вы бачылі"},
	    {"?lang=uk", "/report?lang=uk", NULL, "uk", "Повідомити, що ви бачили"},
	    {"?lang=en", "/report?lang=en", NULL, "en", "Report what you saw"},
	    {"Accept-Language be", "/report", "Accept-Language: be-BY,be;q=0.9,en;q=0.5",
	     "be", "Паведаміць"},
	    {"Accept-Language en (Tor Browser)", "/report",
	     "Accept-Language: en-US,en;q=0.5", "en", "Report what you saw"},
	    {"Accept-Language uk", "/report", "Accept-Language: de, uk;q=0.4", "uk",
	     "Повідомити"},
	    {"nothing", "/report", NULL, "ru", "Сообщить"},
	    {"?lang wins", "/report?lang=en", "Accept-Language: ru", "en", "Report"},
	    {"status, ?lang=be", "/report/status?lang=be", NULL, "be",
	     "Праверыць паведамленне"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *h[] = {cases[i].header, NULL};
		harness_response r;
		harness_request(&shared, "GET", cases[i].path, cases[i].header ? h : NULL,
				NULL, 0, &r);
		harness_expect_status(&r, 200, cases[i].how);
		check_page_headers(cases[i].how, &r);
		char want[64];
		snprintf(want, sizeof(want), "<html lang=\"%s\">", cases[i].lang);
		expect_has(cases[i].how, &r, want);
		expect_has(cases[i].how, &r, cases[i].title);
		/* Links to the other three. */
		for (int l = 0; l < SL_LANG_COUNT; l++) {
			const char *tag = sl_lang_tag((sl_lang)l);
			if (strcmp(tag, cases[i].lang) == 0)
				continue;
			snprintf(want, sizeof(want), "?lang=%s\">", tag);
			expect_has(cases[i].how, &r, want);
		}
		harness_response_free(&r);
	}
	/* The form's fields, its multipart encoding, and its stylesheet. */
	harness_response r;
	harness_get(&shared, "/report?lang=en", &r);
	static const char *const parts[] = {"enctype=\"multipart/form-data\"",
					    "action=\"/report?lang=en\"",
					    "name=\"category\"",
					    "name=\"place\"",
					    "type=\"datetime-local\"",
					    "name=\"tz\"",
					    "name=\"eq1_type\"",
					    "name=\"eq4_count\"",
					    "name=\"heading\"",
					    "name=\"text\"",
					    "type=\"file\"",
					    "name=\"photo\"",
					    "name=\"contact\"",
					    "href=\"/static/report.css\"",
					    "href=\"/report/status?lang=en\"",
					    "value=\"rail_transport\"",
					    "Military train"};
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		expect_has("the English form", &r, parts[i]);
	harness_response_free(&r);
	harness_get(&shared, "/static/report.css", &r);
	/* The stylesheet is served from the web root (the default "web" is
	 * relative to where the server runs): found, or a 404 that says so. */
	if (r.status != 200 && r.status != 404)
		fail_msg("/static/report.css: %ld", r.status);
	harness_response_free(&r);
}

static void test_good_report_urlencoded(void **state)
{
	(void)state;
	long before = reports(&shared);
	body b = {0};
	good_form(&b, "be");
	field(&b, "text", "Эшалон з танкамі, 40 вагонаў");
	field(&b, "contact", "");
	field(&b, "unknown_field", "ignored");
	harness_response r;
	post_form(&shared, "/report", &b, NULL, &r);
	free(b.data);
	char receipt[64];
	receipt_of("good urlencoded form", &r, receipt);
	expect_has("the Belarusian receipt page", &r, "<html lang=\"be\">");
	expect_has("the Belarusian receipt page", &r, "Паведамленне атрымана");
	expect_lacks("a town is no kept place name", &r, "id=\"place-kept\"");
	harness_response_free(&r);
	expect_reports("good urlencoded form", &shared, before + 1);
	json_t *j = harness_last_report(&shared);
	json_t *loc = json_object_get(j, "location");
	const char *place = json_string_value(json_object_get(loc, "place"));
	double lat = json_real_value(json_object_get(loc, "lat"));
	double u = json_real_value(json_object_get(loc, "uncertainty_m"));
	if (!place || strcmp(place, "Орша") != 0 || lat < 54.5 || lat > 54.55 || u < 1000)
		fail_msg("Orsha as a town: %s", json_dumps(j, JSON_COMPACT));
	json_t *eq = json_array_get(json_object_get(j, "equipment"), 0);
	if (strcmp(json_string_value(json_object_get(eq, "type")), "tank") != 0 ||
	    json_integer_value(json_object_get(eq, "count")) != 10 ||
	    json_integer_value(json_object_get(eq, "count_max")) != 12 ||
	    strcmp(json_string_value(json_object_get(eq, "model")), "T-72B3") != 0)
		fail_msg("equipment: %s", json_dumps(j, JSON_COMPACT));
	if (json_real_value(json_object_get(j, "heading")) != 45.0 ||
	    strcmp(json_string_value(json_object_get(j, "language")), "be") != 0 ||
	    json_object_get(j, "text"))
		fail_msg("heading, language or text in clear: %s",
			 json_dumps(j, JSON_COMPACT));
	/* An hour ago in Minsk, to the minute. */
	const char *obs = json_string_value(json_object_get(j, "observed_at"));
	int64_t t;
	struct tm tm = {0};
	if (!obs || !strptime(obs, "%Y-%m-%dT%H:%M:%SZ", &tm))
		fail_msg("observed_at %s", obs ? obs : "(none)");
	t = timegm(&tm);
	if (llabs((long long)(time(NULL) - 3600 - t)) > 120)
		fail_msg("observed_at %s is not an hour ago", obs);
	long long id = json_integer_value(json_object_get(j, "id"));
	json_decref(j);
	/* The text was sealed: a moderator reads it. */
	harness_proc p;
	harness_unseal(&shared, "ana", NULL, NULL, id, &p);
	harness_proc_expect("unseal the form's report", &p, 0);
	if (!strstr(p.out, "Эшалон з танкамі"))
		fail_msg("unseal: no text: %.2000s", p.out);
	harness_proc_free(&p);

	/* A station from the list, by its Belarusian name, with a zone chosen;
	 * and coordinates. */
	b = (body){0};
	char when[32];
	local_time(-7200, when, 3600);
	field(&b, "lang", "en");
	field(&b, "category", "road_convoy");
	field(&b, "place", "станцыя Вузлавая");
	field(&b, "observed_at", when);
	field(&b, "tz", "+01:00");
	post_form(&shared, "/report", &b, NULL, &r);
	free(b.data);
	receipt_of("a station, UTC+1", &r, receipt);
	harness_response_free(&r);
	j = harness_last_report(&shared);
	loc = json_object_get(j, "location");
	if (json_real_value(json_object_get(loc, "lat")) != 53.0 ||
	    json_real_value(json_object_get(loc, "lon")) != 27.1 ||
	    json_real_value(json_object_get(loc, "uncertainty_m")) != 500)
		fail_msg("the station Узловая: %s", json_dumps(j, JSON_COMPACT));
	obs = json_string_value(json_object_get(j, "observed_at"));
	memset(&tm, 0, sizeof(tm));
	strptime(obs, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (llabs((long long)(time(NULL) - 7200 - timegm(&tm))) > 120)
		fail_msg("observed_at %s is not two hours ago (UTC+1)", obs);
	json_decref(j);

	b = (body){0};
	field(&b, "place", "52.4312, 30.9931");
	good_form(&b, "uk");
	post_form(&shared, "/report", &b, NULL, &r);
	free(b.data);
	receipt_of("coordinates", &r, receipt);
	harness_response_free(&r);
	j = harness_last_report(&shared);
	loc = json_object_get(j, "location");
	if (json_real_value(json_object_get(loc, "lat")) != 52.4312 ||
	    json_object_get(loc, "place"))
		fail_msg("coordinates: %s", json_dumps(j, JSON_COMPACT));
	json_decref(j);

	/* A place nobody knows is kept as written, and the page says so. */
	b = (body){0};
	field(&b, "place", "Малые Васюки, у переезда");
	good_form(&b, "ru");
	post_form(&shared, "/report", &b, NULL, &r);
	free(b.data);
	receipt_of("an unknown place", &r, receipt);
	expect_has("an unknown place", &r, "id=\"place-kept\"");
	expect_has("an unknown place", &r, "Малые Васюки, у переезда");
	harness_response_free(&r);
	j = harness_last_report(&shared);
	loc = json_object_get(j, "location");
	if (json_object_get(loc, "lat") ||
	    strcmp(json_string_value(json_object_get(loc, "place")),
		   "Малые Васюки, у переезда"))
		fail_msg("an unknown place: %s", json_dumps(j, JSON_COMPACT));
	json_decref(j);
}

static void test_good_report_multipart(void **state)
{
	(void)state;
	const char *shared_data = getenv("SHARED_DATA");
	char photo[PATH_MAX];
	snprintf(photo, sizeof(photo), "%s/exif-samples/jpg_gps_DSCN0010.jpg",
		 shared_data ? shared_data : "");
	if (!shared_data || access(photo, R_OK) != 0)
		skip();
	size_t len;
	char *jpeg = harness_read_file(photo, &len);
	char when[32];
	local_time(-600, when, 3 * 3600);
	harness_multipart m;
	harness_multipart_init(&m);
	static const char *const f[][2] = {
	    {"lang", "en"},   {"category", "aircraft"}, {"place", "Minsk"},
	    {"tz", "+03:00"}, {"eq1_type", "aircraft"}, {"eq1_count", "4"},
	    {"eq2_type", ""}, {"eq2_count", ""},	{"text", "Four Il-76 landing"}};
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		harness_multipart_part(&m, f[i][0], NULL, NULL, f[i][1], strlen(f[i][1]));
	harness_multipart_part(&m, "observed_at", NULL, NULL, when, strlen(when));
	harness_multipart_part(&m, "photo", "DSCN0010.jpg", "image/jpeg", jpeg, len);
	/* A second file input left empty: browsers send a part with no file. */
	harness_multipart_part(&m, "photo", "", "application/octet-stream", "", 0);
	harness_multipart_end(&m);
	free(jpeg);
	long before = reports(&shared);
	harness_response r;
	harness_post_multipart(&shared, "/report", &m, NULL, &r);
	harness_multipart_free(&m);
	char receipt[64];
	receipt_of("multipart with a photo", &r, receipt);
	harness_response_free(&r);
	expect_reports("multipart with a photo", &shared, before + 1);
	json_t *j = harness_last_report(&shared);
	long long id = json_integer_value(json_object_get(j, "id"));
	json_decref(j);
	char sql[128];
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM sealed WHERE report_id = %lld AND kind = 'photo'",
		 id);
	long long photos = harness_db_integer(&shared, sql);
	if (photos != 1)
		fail_msg("%lld photos sealed, expected 1 (the empty part is no photo)",
			 photos);
}

static void test_refusals_urlencoded(void **state)
{
	(void)state;
	char future[32];
	local_time(3 * 3600, future, 3 * 3600);
	char long_text[8100];
	memset(long_text, 'x', 8001);
	long_text[8001] = '\0';
	static const struct {
		const char *ctx, *name, *value, *error_id, *kept;
	} cases[] = {
	    {"no category", "category", "", "category", "value=\"Орша\""},
	    {"an unknown category", "category", "spaceship", "category", NULL},
	    {"no place", "place", "   ", "place", NULL},
	    {"coordinates out of range", "place", "93.5, 27.5", "place",
	     "value=\"93.5, 27.5\""},
	    {"a time that is no time", "observed_at", "yesterday-ish", "observed-at",
	     "value=\"yesterday-ish\""},
	    {"an unknown zone", "tz", "+13:00", "tz", NULL},
	    {"a count that is no count", "eq1_count", "lots", "eq1-count",
	     "value=\"lots\""},
	    {"a range backwards", "eq1_count", "15-10", "eq1-count", NULL},
	    {"a count without a kind", "eq2_count", "5", "eq2-type", "value=\"5\""},
	    {"a kind without a count", "eq3_type", "truck", "eq3-count", NULL},
	    {"an unknown kind", "eq2_type", "ufo", "eq2-type", NULL},
	    {"an unknown direction", "heading", "up", "heading", NULL},
	    {"a model too long", "eq1_model",
	     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	     "xxxxxxxxxx"
	     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	     "xxxxxxxxxx"
	     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
	     "eq1-model", NULL},
	    {"a control character in the text", "text",
	     "before\x01"
	     "after",
	     "text", NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		body b = {0};
		/* The bad field first: the form takes the first of a name. */
		field(&b, cases[i].name, cases[i].value);
		good_form(&b, "ru");
		expect_refused(cases[i].ctx, &shared, &b, 422, cases[i].error_id,
			       cases[i].kept);
		free(b.data);
	}
	/* The future; a text over its limit; an escaped %00; markup kept as
	 * text. */
	body b = {0};
	field(&b, "observed_at", future);
	good_form(&b, "en");
	expect_refused("three hours ahead", &shared, &b, 422, "observed-at",
		       "The time cannot be in the future");
	free(b.data);
	b = (body){0};
	field(&b, "text", long_text);
	good_form(&b, "en");
	expect_refused("8001 bytes of text", &shared, &b, 422, "text", "8000 bytes");
	free(b.data);
	b = (body){0};
	good_form(&b, "en");
	body_put(&b, "&text=a%00b", 11);
	expect_refused("%00 in the text", &shared, &b, 422, "text", NULL);
	free(b.data);
	b = (body){0};
	field(&b, "place", "<script>alert(1)</script>\"'");
	field(&b, "category", "");
	good_form(&b, "en");
	expect_refused("markup in the place", &shared, &b, 422, "category",
		       "value=\"&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;\"");
	free(b.data);
	/* The errors speak the form's language. */
	b = (body){0};
	field(&b, "category", "");
	good_form(&b, "uk");
	expect_refused("Ukrainian errors", &shared, &b, 422, "category",
		       "Оберіть, що це було.");
	free(b.data);
	harness_server_assert_alive(&shared);
}

static void test_refusals_multipart(void **state)
{
	(void)state;
	char when[32];
	local_time(-600, when, 3 * 3600);
	/* A photo that is not one; six photos; a body cut before its end. */
	const struct {
		const char *ctx;
		int photos;
		bool text_file, cut;
		const char *error_id;
	} cases[] = {
	    {"a text file as a photo", 1, true, false, "photo"},
	    {"six photos", 6, false, false, "photo"},
	    {"a body without its closing boundary", 0, false, true, "general"},
	};
	const char *shared_data = getenv("SHARED_DATA");
	char photo[PATH_MAX];
	snprintf(photo, sizeof(photo), "%s/exif-samples/jpg_Canon_40D.jpg",
		 shared_data ? shared_data : "");
	bool have = shared_data && access(photo, R_OK) == 0;
	size_t len = 0;
	char *jpeg = have ? harness_read_file(photo, &len) : NULL;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (cases[i].photos > 1 && !have)
			continue;
		harness_multipart m;
		harness_multipart_init(&m);
		static const char *const f[][2] = {{"lang", "en"},
						   {"category", "road_convoy"},
						   {"place", "Brest"},
						   {"text", "kept text"}};
		for (size_t k = 0; k < sizeof(f) / sizeof(f[0]); k++)
			harness_multipart_part(&m, f[k][0], NULL, NULL, f[k][1],
					       strlen(f[k][1]));
		harness_multipart_part(&m, "observed_at", NULL, NULL, when, strlen(when));
		for (int k = 0; k < cases[i].photos; k++) {
			if (cases[i].text_file)
				harness_multipart_part(&m, "photo", "notes.txt",
						       "text/plain", "not a photo at all",
						       18);
			else
				harness_multipart_part(&m, "photo", "p.jpg", "image/jpeg",
						       jpeg, len);
		}
		if (!cases[i].cut)
			harness_multipart_end(&m);
		long before = reports(&shared);
		harness_response r;
		harness_post_multipart(&shared, "/report", &m, NULL, &r);
		harness_multipart_free(&m);
		harness_expect_status(&r, 422, cases[i].ctx);
		check_page_headers(cases[i].ctx, &r);
		char want[64];
		snprintf(want, sizeof(want), "id=\"e-%s\"", cases[i].error_id);
		expect_has(cases[i].ctx, &r, want);
		if (!cases[i].cut) {
			expect_has(cases[i].ctx, &r, ">kept text</textarea>");
			expect_has(cases[i].ctx, &r, "id=\"photos-again\"");
		}
		harness_response_free(&r);
		expect_reports(cases[i].ctx, &shared, before);
	}
	free(jpeg);
}

static void test_refusals_before_the_body(void **state)
{
	(void)state;
	body b = {0};
	good_form(&b, "en");
	long before = reports(&shared);
	static const struct {
		const char *ctx, *header;
		long status;
	} cases[] = {
	    {"another site's page", "Sec-Fetch-Site: cross-site", 403},
	    {"another origin", "Origin: http://evil.example", 403},
	    {"Origin: null from elsewhere", "Origin: null", 403},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *h[] = {cases[i].header, NULL};
		harness_response r;
		post_form(&shared, "/report", &b, h, &r);
		harness_expect_status(&r, cases[i].status, cases[i].ctx);
		check_page_headers(cases[i].ctx, &r);
		expect_has(cases[i].ctx, &r, "id=\"message\"");
		harness_response_free(&r);
	}
	/* Our own page, as a browser posts it with no-referrer. */
	const char *same[] = {"Origin: null", "Sec-Fetch-Site: same-origin", NULL};
	harness_response r;
	post_form(&shared, "/report", &b, same, &r);
	char receipt[64];
	receipt_of("Origin: null, same-origin", &r, receipt);
	harness_response_free(&r);
	before++;
	/* JSON to the form; a body too large by its Content-Length. */
	const char *json[] = {"Content-Type: application/json", NULL};
	harness_request(&shared, "POST", "/report", json, "{}", 2, &r);
	harness_expect_status(&r, 415, "JSON to the form");
	check_page_headers("JSON to the form", &r);
	harness_response_free(&r);
	char raw[512];
	int n =
	    snprintf(raw, sizeof(raw),
		     "POST /report HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
		     "application/x-www-form-urlencoded\r\nContent-Length: 99999999\r\n"
		     "Connection: close\r\n\r\n");
	harness_raw(&shared, raw, (size_t)n, HARNESS_RAW_SHUT_WR, &r);
	harness_expect_status(&r, 413, "a form of 99999999 bytes");
	harness_response_free(&r);
	/* Methods and paths. */
	harness_request(&shared, "PUT", "/report", NULL, "x", 1, &r);
	harness_expect_status(&r, 405, "PUT /report");
	if (!harness_response_header(&r, "Allow"))
		fail_msg("405 without Allow");
	check_page_headers("PUT /report", &r);
	harness_response_free(&r);
	harness_get(&shared, "/report/nope", &r);
	harness_expect_status(&r, 404, "/report/nope");
	check_page_headers("/report/nope", &r);
	harness_response_free(&r);
	harness_get(&shared, "/reports", &r);
	harness_expect_status(&r, 404, "/reports");
	harness_response_free(&r);
	free(b.data);
	expect_reports("refusals before the body", &shared, before);
}

static void test_status_and_followups(void **state)
{
	(void)state;
	body b = {0};
	good_form(&b, "en");
	harness_response r;
	post_form(&shared, "/report", &b, NULL, &r);
	free(b.data);
	char receipt[64];
	receipt_of("a report to look up", &r, receipt);
	harness_response_free(&r);

	harness_get(&shared, "/report/status?lang=en", &r);
	harness_expect_status(&r, 200, "the status page");
	check_page_headers("the status page", &r);
	expect_has("the status page", &r, "name=\"receipt\"");
	expect_lacks("the status page before a lookup", &r, "id=\"status\"");
	harness_response_free(&r);

	/* Found, in upper case with spaces; then not a receipt; then unknown. */
	char loud[64];
	size_t k = 0;
	for (const char *p = receipt; *p && k < sizeof(loud) - 1; p++)
		loud[k++] =
		    *p == '-' ? ' ' : (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
	loud[k] = '\0';
	b = (body){0};
	field(&b, "lang", "en");
	field(&b, "receipt", loud);
	post_form(&shared, "/report/status", &b, NULL, &r);
	free(b.data);
	harness_expect_status(&r, 200, "a receipt looked up");
	check_page_headers("a receipt looked up", &r);
	expect_has("a receipt looked up", &r, "data-status=\"received\"");
	expect_has("a receipt looked up", &r, "id=\"add-form\"");
	harness_response_free(&r);

	b = (body){0};
	field(&b, "receipt", "not-a-receipt");
	post_form(&shared, "/report/status?lang=ru", &b, NULL, &r);
	free(b.data);
	harness_expect_status(&r, 422, "not a receipt");
	expect_has("not a receipt", &r, "id=\"e-receipt\"");
	expect_has("not a receipt", &r, "value=\"not-a-receipt\"");
	expect_has("not a receipt", &r, "Это не квитанция");
	harness_response_free(&r);

	b = (body){0};
	field(&b, "receipt", "aaaa-aaaa-aaaa-aaaa-aaaa-aaaa-aa");
	post_form(&shared, "/report/status?lang=en", &b, NULL, &r);
	free(b.data);
	harness_expect_status(&r, 404, "an unknown receipt");
	expect_has("an unknown receipt", &r, "No report has this receipt.");
	harness_response_free(&r);

	/* A follow-up: sealed and stored; a blank one refused. */
	long long before = harness_db_integer(
	    &shared, "SELECT count(*) FROM sealed WHERE kind = 'followup'");
	b = (body){0};
	field(&b, "lang", "en");
	field(&b, "receipt", receipt);
	field(&b, "text", "It left towards Smolensk at 09:10");
	post_form(&shared, "/report/status", &b, NULL, &r);
	free(b.data);
	harness_expect_status(&r, 201, "a follow-up");
	expect_has("a follow-up", &r, "Added. Thank you.");
	harness_response_free(&r);
	b = (body){0};
	field(&b, "receipt", receipt);
	field(&b, "text", "   ");
	post_form(&shared, "/report/status?lang=en", &b, NULL, &r);
	free(b.data);
	harness_expect_status(&r, 422, "a blank follow-up");
	harness_response_free(&r);
	long long after = harness_db_integer(
	    &shared, "SELECT count(*) FROM sealed WHERE kind = 'followup'");
	if (after != before + 1)
		fail_msg("%lld follow-ups sealed, expected %lld", after, before + 1);
}

static void test_no_moderator(void **state)
{
	(void)state;
	harness_server_start(&own, no_rate);
	body b = {0};
	good_form(&b, "en");
	field(&b, "text", "nobody could read this");
	harness_response r;
	post_form(&own, "/report", &b, NULL, &r);
	free(b.data);
	harness_expect_status(&r, 503, "text with no moderator");
	check_page_headers("text with no moderator", &r);
	expect_has("text with no moderator", &r, "it has no moderators");
	expect_has("text with no moderator", &r, ">nobody could read this</textarea>");
	harness_response_free(&r);
	expect_reports("text with no moderator", &own, 0);
	b = (body){0};
	good_form(&b, "en");
	post_form(&own, "/report", &b, NULL, &r);
	free(b.data);
	char receipt[64];
	receipt_of("no text, no moderator", &r, receipt);
	harness_response_free(&r);
	expect_reports("no text, no moderator", &own, 1);
}

static void test_rate_limit(void **state)
{
	(void)state;
	const char *args[] = {"--rate-per-client", "2", "--rate-burst", "2", NULL};
	harness_server_start(&own, args);
	for (int i = 0; i < 3; i++) {
		body b = {0};
		good_form(&b, "en");
		harness_response r;
		/* The form's action carries its language: a refusal before the
		 * body is read speaks it too. */
		post_form(&own, "/report?lang=en", &b, NULL, &r);
		free(b.data);
		if (i < 2) {
			char receipt[64];
			receipt_of("within the rate", &r, receipt);
		} else {
			harness_expect_status(&r, 429, "over the rate");
			check_page_headers("over the rate", &r);
			expect_has("over the rate", &r, "Too many reports");
			if (!harness_response_header(&r, "Retry-After"))
				fail_msg("429 without Retry-After");
		}
		harness_response_free(&r);
	}
	expect_reports("the rate limit", &own, 2);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_words),
	    cmocka_unit_test(test_pages_in_four_languages),
	    cmocka_unit_test(test_good_report_urlencoded),
	    cmocka_unit_test(test_good_report_multipart),
	    cmocka_unit_test(test_refusals_urlencoded),
	    cmocka_unit_test(test_refusals_multipart),
	    cmocka_unit_test(test_refusals_before_the_body),
	    cmocka_unit_test(test_status_and_followups),
	    cmocka_unit_test_teardown(test_no_moderator, own_teardown),
	    cmocka_unit_test_teardown(test_rate_limit, own_teardown),
	};
	return cmocka_run_group_tests_name("form", tests, group_setup, group_teardown);
}
