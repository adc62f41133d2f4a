/*
 * console.c — the moderator console at /mod: pages rendered here, in C,
 * and the plain HTML forms they post back (docs/MODERATION.md).
 *
 *   GET  /mod[?status=open|all]        sign-in page, or the queue
 *   GET  /mod/reports/{id}             one report, opened for the moderator
 *   GET  /mod/events, /mod/events/{id} events and their reports
 *   GET  /mod/audit                    the audit log (admins)
 *   GET  /mod/publish                  the publication policy and webhooks
 *                                      (admins), POST .../policy, .../webhooks,
 *                                      .../webhooks/remove, .../excerpt
 *   POST /mod/sign-in, /mod/sign-out
 *   POST /mod/reports/{id}/claim|release|grade|verify|reject|notes|attach|detach
 *   POST /mod/events                   a new event from a report
 *
 * Every page works without JavaScript: each action is a form posted as
 * application/x-www-form-urlencoded, which does what the JSON API's action
 * does by calling the same function (review.c, mod_int.h), with the same
 * audit entry, and answers 303 See Other back to the page it came from
 * (post/redirect/get); a refused action shows the page again with the
 * error beside the form and the moderator's input kept. web/mod.js only
 * adds keys and draws the map from data-* attributes.
 *
 * The gate, in order: POST /mod/sign-in is the one thing a stranger may
 * do; any other request without a session gets the sign-in page (GET, the
 * same page and status for every path, so that route names do not show)
 * or 401; then the Origin and Sec-Fetch-Site (sl_mod_form_origin_ok),
 * 403; then the route table, 404 or 405; an admin page for a moderator,
 * 403; a form's body must be urlencoded (415) and carry the session's CSRF
 * token in its "csrf" field (403, compared in constant time); then the
 * handler. The cookie is SameSite=Strict as well.
 *
 * Escaping: every string from a report, a moderator or the store goes
 * through sl_html_text; sl_html_raw and sl_html_rawf carry only this
 * file's own markup and numbers. Pages have no inline script or style
 * (the CSP forbids both), and carry Cache-Control: no-store with the rest
 * of the common headers: a report's page holds unsealed text, opened in
 * memory for this answer only, after its "view" entry is in the audit log.
 */
#include "http/mod_int.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sightline/geo.h"
#include "sightline/html.h"
#include "sightline/timefmt.h"

#define ROOT "/mod"
#define FORM_TYPE "application/x-www-form-urlencoded"

/* Other reports on a report's map: this close in place and time. */
#define NEAR_M 50000.0
#define NEAR_S (24 * 3600)
#define NEAR_MAX 100		 /* markers at most */
#define CONTEXT_MAX SL_QUEUE_MAX /* reports looked through for them */
#define EVENT_ROWS_BRIEF 12	 /* reports shown per event in the list */
#define LIST_ARENA_CAP ((size_t)64 << 20)

/* ---- words ---- */

static const char *category_label(sl_category c)
{
	static const char *const labels[SL_CAT_COUNT] = {
	    "Rail transport", "Road convoy",	"Aircraft", "Helicopter",    "Troops",
	    "Air defence",    "Missile system", "Naval",    "Fortification", "Other"};
	return (unsigned)c < SL_CAT_COUNT ? labels[c] : "Other";
}

static const char *status_label(sl_report_status s)
{
	static const char *const labels[SL_STATUS_COUNT] = {"received", "under review",
							    "verified", "rejected"};
	return (unsigned)s < SL_STATUS_COUNT ? labels[s] : "?";
}

/* What a 303 back to the report says happened: ?done=WORD. Only these
 * words are shown, so nothing of the query reaches the page. */
static const char *const done_words[][2] = {
    {"claimed", "Claimed."},   {"released", "Released."}, {"graded", "Graded."},
    {"verified", "Verified."}, {"rejected", "Rejected."}, {"noted", "Note added."},
    {"attached", "Attached."}, {"detached", "Detached."}, {"event", "Event created."},
};

/* "2022-02-14 06:40Z" (seconds only when there are any). */
static void human_time(int64_t t, char out[SL_TIME_TEXT_MAX])
{
	char iso[SL_TIME_TEXT_MAX];
	sl_time_format(t, iso);
	/* iso is YYYY-MM-DDTHH:MM:SSZ */
	bool secs = strlen(iso) == 20 && strcmp(iso + 16, ":00Z") != 0;
	snprintf(out, SL_TIME_TEXT_MAX, "%.10s %.*sZ", iso, secs ? 8 : 5, iso + 11);
}

static void time_el(sl_html *h, const char *cls, int64_t t)
{
	char iso[SL_TIME_TEXT_MAX], hu[SL_TIME_TEXT_MAX];
	sl_time_format(t, iso);
	human_time(t, hu);
	sl_html_rawf(h, "<time class=\"%s\" datetime=\"%s\">%s</time>", cls, iso, hu);
}

/* ---- the request ---- */

static bool is_get(const char *m)
{
	return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;
}

static const char *arg(struct MHD_Connection *c, const char *name)
{
	return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
}

/* Whether the queue shown is every report (?status=all) or the open ones. */
static bool show_all(struct MHD_Connection *c)
{
	const char *s = arg(c, "status");
	return s && strcmp(s, "all") == 0;
}

/* The query that keeps the queue's filter on the next page: "" or
 * "?status=all" (first is '?'), "&status=all" (first is '&'). */
static const char *keep_query(struct MHD_Connection *c, char first)
{
	if (!show_all(c))
		return "";
	return first == '?' ? "?status=all" : "&status=all";
}

static bool is_form(struct MHD_Connection *c)
{
	const char *ct =
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	size_t n = sizeof(FORM_TYPE) - 1;
	if (!ct || strncasecmp(ct, FORM_TYPE, n) != 0)
		return false;
	return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ';
}

/* ---- pages ---- */

/* Sends the page in h (freed) with status and the console's headers, and
 * Retry-After when retry_after is not 0. */
static enum MHD_Result send_page(struct MHD_Connection *c, unsigned status, sl_html *h,
				 unsigned retry_after)
{
	return sl_http_page(c, status, h, sl_web_page_csp, retry_after, NULL);
}

static void csrf_field(sl_html *h, const sl_session *s)
{
	sl_html_raw(h, "<input type=\"hidden\" name=\"csrf\" value=\"");
	sl_html_text(h, sl_session_csrf(s));
	sl_html_raw(h, "\">");
}

/* The top of every page: head, and the bar with the navigation for a
 * signed-in moderator (s; NULL on the sign-in page). map: the page has a
 * map (Leaflet's files). */
static void page_open(sl_html *h, const char *title, const sl_session *s, bool map,
		      const char *body_class)
{
	sl_html_raw(h, "<!doctype html>\n<html lang=\"en\">\n<head>\n"
		       "<meta charset=\"utf-8\">\n"
		       "<meta name=\"viewport\" content=\"width=device-width, "
		       "initial-scale=1\">\n"
		       "<meta name=\"referrer\" content=\"no-referrer\">\n<title>");
	sl_html_text(h, title);
	sl_html_raw(
	    h, " — sightline moderation</title>\n<link rel=\"icon\" href=\"data:,\">\n");
	if (map)
		sl_html_raw(h, "<link rel=\"stylesheet\" "
			       "href=\"/static/vendor/leaflet/leaflet.css\">\n");
	sl_html_raw(h, "<link rel=\"stylesheet\" href=\"/static/mod.css\">\n");
	if (map)
		sl_html_raw(h, "<script src=\"/static/vendor/leaflet/leaflet.js\" "
			       "defer></script>\n<script "
			       "src=\"/static/vendor/topojson-client/"
			       "topojson-client.min.js\" defer></script>\n");
	sl_html_raw(h, "<script src=\"/static/mod.js\" defer></script>\n</head>\n<body");
	if (body_class)
		sl_html_rawf(h, " class=\"%s\"", body_class);
	sl_html_raw(h,
		    ">\n<header class=\"bar\">\n<h1><a href=\"" ROOT "\">sightline</a> "
		    "<span class=\"sub\">moderation</span></h1>\n");
	if (s) {
		sl_html_raw(h, "<nav id=\"nav\">\n<a id=\"nav-queue\" href=\"" ROOT
			       "\">Queue</a>\n"
			       "<a id=\"nav-events\" href=\"" ROOT
			       "/events\" title=\"Events (e)\">Events</a>\n");
		if (sl_session_role(s) == SL_ROLE_ADMIN)
			sl_html_raw(
			    h,
			    "<a id=\"nav-audit\" href=\"" ROOT
			    "/audit\">Audit log</a>\n<a id=\"nav-publish\" href=\"" ROOT
			    "/publish\">Publication</a>\n");
		sl_html_raw(h,
			    "<a id=\"nav-help\" href=\"#help\" title=\"Keys (?)\">?</a>\n"
			    "<span id=\"who\" class=\"who\">");
		sl_html_text(h, sl_session_name(s));
		if (sl_session_role(s) == SL_ROLE_ADMIN)
			sl_html_raw(h, " (admin)");
		sl_html_raw(h, "</span>\n<form method=\"post\" action=\"" ROOT
			       "/sign-out\" class=\"sign-out\">");
		csrf_field(h, s);
		sl_html_raw(h, "<button type=\"submit\" id=\"sign-out\">Sign out</button>"
			       "</form>\n</nav>\n");
	}
	sl_html_raw(h, "</header>\n<main>\n");
}

static const char help_html[] =
    "<details id=\"help\" class=\"help\">\n<summary>Keys</summary>\n<table>\n"
    "<tr><td><kbd>j</kbd> / <kbd>k</kbd></td><td>next / previous in the "
    "queue</td></tr>\n"
    "<tr><td><kbd>Enter</kbd> or <kbd>o</kbd></td><td>open the selected "
    "report</td></tr>\n"
    "<tr><td><kbd>n</kbd></td><td>the next report in the queue</td></tr>\n"
    "<tr><td><kbd>c</kbd></td><td>claim (or release) the report</td></tr>\n"
    "<tr><td><kbd>g</kbd> <kbd>A</kbd>–<kbd>F</kbd> <kbd>1</kbd>–<kbd>6</kbd></td>"
    "<td>grade: source reliability, then information credibility (<kbd>g</kbd> "
    "<kbd>b</kbd> <kbd>2</kbd> is B2)</td></tr>\n"
    "<tr><td><kbd>v</kbd></td><td>verify</td></tr>\n"
    "<tr><td><kbd>r</kbd></td><td>reject: type the reason, <kbd>Enter</kbd> "
    "sends it</td></tr>\n"
    "<tr><td><kbd>N</kbd></td><td>new event from the report</td></tr>\n"
    "<tr><td><kbd>a</kbd> / <kbd>d</kbd></td><td>attach to an event (type its "
    "number) / detach from its first event</td></tr>\n"
    "<tr><td><kbd>e</kbd></td><td>the events</td></tr>\n"
    "<tr><td><kbd>Esc</kbd></td><td>leave a field, close this</td></tr>\n"
    "<tr><td><kbd>?</kbd></td><td>this list</td></tr>\n"
    "</table>\n<p>Every key has a button or a link: the console works without "
    "JavaScript. Grades: A completely reliable … F cannot be judged; 1 confirmed "
    "… 6 cannot be judged (docs/MODERATION.md).</p>\n</details>\n";

static void page_close(sl_html *h, bool signed_in)
{
	sl_html_raw(h, "</main>\n");
	if (signed_in)
		sl_html_raw(h, help_html);
	sl_html_raw(h, "</body>\n</html>\n");
}

static void error_box(sl_html *h, const char *id, const char *detail,
		      const sl_problems *why)
{
	sl_html_rawf(h, "<div class=\"error\" role=\"alert\" id=\"%s\">", id);
	if (why && why->n) {
		sl_html_raw(h, "<ul>");
		for (size_t i = 0; i < why->n; i++) {
			sl_html_raw(h, "<li>");
			if (why->items[i].field[0]) {
				sl_html_raw(h, "<b>");
				sl_html_text(h, why->items[i].field);
				sl_html_raw(h, "</b>: ");
			}
			sl_html_text(h, why->items[i].message);
			sl_html_raw(h, "</li>");
		}
		sl_html_raw(h, "</ul>");
	} else {
		sl_html_text(h, detail);
	}
	sl_html_raw(h, "</div>\n");
}

enum MHD_Result sl_console_signin_page(struct MHD_Connection *c, unsigned status,
				       const char *name, const char *error,
				       unsigned retry_after)
{
	sl_html h;
	sl_html_init(&h, SL_HTML_MAX);
	page_open(&h, "Sign in", NULL, false, "signin-page");
	sl_html_raw(&h, "<section id=\"signin\" class=\"signin\">\n<h2>Sign in</h2>\n");
	if (error)
		error_box(&h, "signin-error", error, NULL);
	sl_html_raw(&h, "<form method=\"post\" action=\"" ROOT
			"/sign-in\" id=\"signin-form\" "
			"autocomplete=\"off\">\n"
			"<label>Name <input name=\"name\" id=\"signin-name\" required "
			"maxlength=\"64\" autocapitalize=\"none\" spellcheck=\"false\"");
	if (name && *name) {
		sl_html_raw(&h, " value=\"");
		sl_html_text(&h, name);
		sl_html_raw(&h, "\"");
	} else {
		sl_html_raw(&h, " autofocus");
	}
	sl_html_raw(&h,
		    "></label>\n<label>Passphrase <input name=\"passphrase\" "
		    "id=\"signin-pass\" type=\"password\" required maxlength=\"1024\"");
	if (name && *name)
		sl_html_raw(&h, " autofocus");
	sl_html_raw(&h,
		    "></label>\n<button type=\"submit\" id=\"signin-submit\">Sign "
		    "in</button>\n</form>\n<p class=\"hint\">Signing in unlocks your "
		    "key on the server for this session only. Sign out when you leave "
		    "the machine.</p>\n</section>\n");
	page_close(&h, false);
	return send_page(c, status, &h, retry_after);
}

/* A page that only says something: title, and text (both plain words;
 * text may be NULL), for s (NULL: signed out). */
static enum MHD_Result message_page(struct MHD_Connection *c, unsigned status,
				    const sl_session *s, const char *title,
				    const char *text, unsigned retry_after)
{
	sl_html h;
	sl_html_init(&h, SL_HTML_MAX);
	page_open(&h, title, s, false, "message-page");
	sl_html_raw(&h, "<section class=\"message\">\n<h2>");
	sl_html_text(&h, title);
	sl_html_raw(&h, "</h2>\n");
	if (text) {
		sl_html_raw(&h, "<p class=\"error\" role=\"alert\">");
		sl_html_text(&h, text);
		sl_html_raw(&h, "</p>\n");
	}
	sl_html_raw(&h, s ? "<p><a href=\"" ROOT "\">Back to the queue</a></p>\n"
			  : "<p><a href=\"" ROOT "\">Sign in</a></p>\n");
	sl_html_raw(&h, "</section>\n");
	page_close(&h, s != NULL);
	return send_page(c, status, &h, retry_after);
}

/* A refusal that has no form to show it beside. */
static enum MHD_Result fail_page(mod_ctx *ctx, const review_fail *f)
{
	char buf[1024];
	const char *text = f->detail;
	if (f->why.n) {
		sl_problems_format(&f->why, buf, sizeof(buf));
		text = buf;
	}
	unsigned status = f->status ? f->status : 500;
	const char *title = status == 404   ? "Not found"
			    : status == 409 ? "Someone else is on it"
			    : status == 422 ? "Not accepted"
					    : "The server could not do it";
	return message_page(ctx->conn, status, ctx->session, title, text, f->retry_after);
}

/* ---- clear fields of other reports ---- */

/* The newest reports of every status, clear fields only (the queue's
 * rows): where a report's neighbours and an event's reports are looked up,
 * so that listing them opens nothing sealed and logs no "view". */
typedef struct context_list {
	sl_queue_item *items;
	size_t n;
} context_list;

static sl_err context_load(mod_ctx *ctx, sl_arena *a, context_list *out)
{
	return sl_store_queue(ctx->srv->store, false, sl_time_now(), CONTEXT_MAX, a,
			      &out->items, &out->n);
}

/* Report id's clear fields: from the list, else from the store (its
 * sealed items are counted, not opened: no key is asked for). */
static bool clear_fields(mod_ctx *ctx, const context_list *cl, int64_t id, sl_arena *a,
			 sl_queue_item *out)
{
	for (size_t i = 0; i < cl->n; i++)
		if (cl->items[i].report.id == id) {
			*out = cl->items[i];
			return true;
		}
	memset(out, 0, sizeof(*out));
	if (sl_store_get_report(ctx->srv->store, id, 0, a, &out->report) != SL_OK ||
	    sl_store_get_review(ctx->srv->store, id, a, &out->review) != SL_OK)
		return false;
	for (size_t i = 0; i < out->report.n_sealed; i++) {
		if (out->report.sealed[i].kind == SL_SEALED_PHOTO)
			out->n_photos++;
		if (out->report.sealed[i].kind == SL_SEALED_CONTENT)
			out->has_text = true;
	}
	out->report.n_sealed = 0;
	out->report.sealed = NULL;
	out->urgency = -1;
	return true;
}

/* ---- pieces of pages ---- */

static void place_text(sl_html *h, const sl_location *loc)
{
	if (loc->place)
		sl_html_text(h, loc->place);
	else if (loc->has_point)
		sl_html_rawf(h, "%.4f, %.4f", loc->lat, loc->lon);
	else
		sl_html_raw(h, "no place");
}

/* The grade of rv as "B2" into out ("" when not graded). */
static void grade_text(const sl_review *rv, char out[4])
{
	if (rv->reliability)
		snprintf(out, 4, "%c%d", rv->reliability, rv->credibility);
	else
		out[0] = '\0';
}

/* One report as a row of a list (the queue, an event's reports): clear
 * fields only. q keeps the queue's filter on the link; open marks the
 * report shown beside the list. */
static void report_row(sl_html *h, mod_ctx *ctx, review_names *nm,
		       const sl_queue_item *it, const char *q, bool open, int64_t now)
{
	const sl_report *r = &it->report;
	sl_html_rawf(h, "<li class=\"item%s\" data-id=\"%" PRId64 "\">",
		     open ? " open" : "", r->id);
	sl_html_rawf(h, "<a class=\"row\" href=\"" ROOT "/reports/%" PRId64 "%s\">",
		     r->id, q);
	sl_html_rawf(h,
		     "<span class=\"row1\"><span class=\"cat cat-%s\">%s</span>"
		     "<span class=\"status st-%s\">%s</span><span class=\"id\">#%" PRId64
		     "</span></span>",
		     sl_category_name(r->category), category_label(r->category),
		     sl_status_name(r->status), status_label(r->status), r->id);
	sl_html_raw(h, "<span class=\"row2\"><span class=\"place\">");
	place_text(h, &r->location);
	sl_html_raw(h, "</span>");
	time_el(h, "time", r->observed_at);
	sl_html_raw(h, "</span><span class=\"badges\">");
	if (it->n_photos)
		sl_html_rawf(h, "<span class=\"badge photo\">%zu photo%s</span>",
			     it->n_photos, it->n_photos == 1 ? "" : "s");
	if (it->has_text)
		sl_html_raw(h, "<span class=\"badge text\">text</span>");
	if (it->review.claimed_by && it->review.claimed_until > now) {
		sl_html_raw(h, "<span class=\"badge claimed\">claimed: ");
		sl_html_text(h, sl_review_name_of(ctx->srv, nm, it->review.claimed_by));
		sl_html_raw(h, "</span>");
	}
	char g[4];
	grade_text(&it->review, g);
	if (g[0])
		sl_html_rawf(h, "<span class=\"badge grade\">%s</span>", g);
	if (it->urgency >= 0)
		sl_html_rawf(h, "<span class=\"urgency\">urgency %d</span>", it->urgency);
	sl_html_raw(h, "</span></a></li>\n");
}

/* The queue pane: the status filter and the rows; current is the report
 * open beside it (0: none). */
static void queue_pane(sl_html *h, mod_ctx *ctx, review_names *nm,
		       const sl_queue_item *items, size_t n, size_t limit, bool all,
		       int64_t current)
{
	int64_t now = sl_time_now();
	const char *q = all ? "?status=all" : "";
	sl_html_raw(
	    h, "<section id=\"queue-pane\" class=\"queue-pane\" aria-label=\"Queue\">\n"
	       "<div class=\"queue-head\">\n");
	sl_html_rawf(
	    h, "<h2>Queue <span id=\"queue-count\" class=\"count\">(%zu)</span></h2>\n",
	    n);
	sl_html_rawf(h,
		     "<form method=\"get\" action=\"" ROOT "\" class=\"status-filter\">"
		     "<label>Show <select name=\"status\" id=\"queue-status\">"
		     "<option value=\"open\"%s>open</option>"
		     "<option value=\"all\"%s>all</option></select></label> "
		     "<button type=\"submit\" id=\"queue-show\">Show</button></form>\n",
		     all ? "" : " selected", all ? " selected" : "");
	sl_html_raw(h, "</div>\n<ol id=\"queue\" class=\"queue\">\n");
	for (size_t i = 0; i < n; i++)
		report_row(h, ctx, nm, &items[i], q, items[i].report.id == current, now);
	sl_html_raw(h, "</ol>\n");
	if (n == 0)
		sl_html_raw(
		    h, "<p id=\"queue-empty\" class=\"hint\">Nothing waiting.</p>\n");
	if (n == limit && limit < SL_QUEUE_MAX)
		sl_html_rawf(h,
			     "<p class=\"hint\"><a href=\"" ROOT
			     "?status=%s&amp;limit=%d\">Show up to %d</a></p>\n",
			     all ? "all" : "open", SL_QUEUE_MAX, SL_QUEUE_MAX);
	sl_html_raw(h, "</section>\n");
}

/* The queue of the request's filter and ?limit= into *items (in a). */
static sl_err load_queue(mod_ctx *ctx, sl_arena *a, bool all, size_t *limit,
			 sl_queue_item **items, size_t *n)
{
	if (!sl_review_parse_limit(ctx->conn, SL_QUEUE_MAX, limit))
		*limit = SL_REVIEW_LIST_DEFAULT;
	return sl_store_queue(ctx->srv->store, !all, sl_time_now(), *limit, a, items, n);
}

/* ---- the queue ---- */

static enum MHD_Result page_queue(mod_ctx *ctx)
{
	bool all = show_all(ctx->conn);
	sl_arena *a = sl_arena_new(LIST_ARENA_CAP);
	if (!a)
		return message_page(ctx->conn, 503, ctx->session, "Out of memory", NULL,
				    5);
	sl_queue_item *items;
	size_t n, limit;
	sl_err e = load_queue(ctx, a, all, &limit, &items, &n);
	if (e != SL_OK) {
		sl_arena_free(a);
		return message_page(ctx->conn, 503, ctx->session, "The store failed",
				    "try again", 5);
	}
	review_names nm = {0};
	sl_html h;
	sl_html_init(&h, SL_HTML_MAX);
	page_open(&h, "Queue", ctx->session, false, "queue-page");
	sl_html_raw(&h, "<div id=\"console\" class=\"console\">\n");
	queue_pane(&h, ctx, &nm, items, n, limit, all, 0);
	sl_html_raw(
	    &h,
	    "<section id=\"report-pane\" class=\"report-pane\">\n<p id=\"report-none\" "
	    "class=\"hint\">Pick a report from the queue (<kbd>j</kbd>/<kbd>k</kbd> "
	    "to move, <kbd>Enter</kbd> to open, <kbd>?</kbd> for all "
	    "keys).</p>\n</section>\n</div>\n");
	page_close(&h, true);
	sl_review_names_free(&nm);
	sl_arena_free(a);
	return send_page(ctx->conn, 200, &h, 0);
}

/* ---- one report ---- */

/* What a refused form left for the report page to show again: which form
 * (an id: "claim", "grade", "verify", "reject", "event", "note"), why, and
 * what the moderator had typed. */
typedef struct form_state {
	const char *form;
	const review_fail *fail;
	bool has_grade;
	char reliability;
	int credibility;
	const char *reason, *note, *event_id;
} form_state;

static bool is_form_of(const form_state *fs, const char *form)
{
	return fs && fs->form && strcmp(fs->form, form) == 0;
}

static void form_error(sl_html *h, const form_state *fs, const char *form)
{
	if (!is_form_of(fs, form) || !fs->fail)
		return;
	char id[32];
	snprintf(id, sizeof(id), "error-%s", form);
	error_box(h, id, fs->fail->detail, &fs->fail->why);
}

/* <form method="post" action="/mod/reports/ID/VERB[?status=all]" id=...> with
 * the CSRF field. */
static void form_open(sl_html *h, mod_ctx *ctx, int64_t id, const char *verb,
		      const char *form_id, const char *cls)
{
	sl_html_rawf(h,
		     "<form method=\"post\" action=\"" ROOT "/reports/%" PRId64
		     "/%s%s\" id=\"%s\" class=\"%s\">",
		     id, verb, keep_query(ctx->conn, '?'), form_id, cls);
	csrf_field(h, ctx->session);
}

static void field(sl_html *h, const char *name, const char *value)
{
	if (!value || !*value)
		return;
	sl_html_rawf(h, "<dt>%s</dt><dd>", name);
	sl_html_text(h, value);
	sl_html_raw(h, "</dd>\n");
}

static void equipment(sl_html *h, const sl_report *r)
{
	for (size_t i = 0; i < r->n_equipment; i++) {
		const sl_equipment *e = &r->equipment[i];
		if (i)
			sl_html_raw(h, ", ");
		if (e->count_max && e->count_max != e->count)
			sl_html_rawf(h, "%d–%d", e->count, e->count_max);
		else
			sl_html_rawf(h, "%d", e->count);
		char type[32];
		snprintf(type, sizeof(type), "%s", sl_equipment_type_name(e->type));
		for (char *p = type; *p; p++)
			if (*p == '_')
				*p = ' ';
		sl_html_rawf(h, " × %s", type);
		if (e->model) {
			sl_html_raw(h, " (");
			sl_html_text(h, e->model);
			sl_html_raw(h, ")");
		}
	}
}

static void facts(sl_html *h, const review_view *v)
{
	const sl_report *r = &v->report;
	char t[SL_TIME_TEXT_MAX];
	sl_html_raw(h, "<dl id=\"r-fields\">\n<dt>Observed</dt><dd>");
	time_el(h, "time", r->observed_at);
	if (r->has_until) {
		sl_html_raw(h, " – ");
		time_el(h, "time", r->observed_until);
	}
	sl_html_raw(h, "</dd>\n<dt>Received</dt><dd>");
	human_time(r->received_at, t);
	sl_html_rawf(h, "%s</dd>\n", t);
	field(h, "Place", r->location.place);
	if (r->location.has_point)
		sl_html_rawf(h, "<dt>Point</dt><dd>%.5f, %.5f ± %.0f m</dd>\n",
			     r->location.lat, r->location.lon, r->location.uncertainty_m);
	if (r->n_equipment) {
		sl_html_raw(h, "<dt>Equipment</dt><dd>");
		equipment(h, r);
		sl_html_raw(h, "</dd>\n");
	}
	if (r->has_heading)
		sl_html_rawf(h, "<dt>Heading</dt><dd>%.0f°</dd>\n", r->heading_deg);
	field(h, "Destination", r->destination);
	field(h, "Language", r->language);
	field(h, "Ref", r->ref);
	field(h, "Rejected because", v->review.reject_reason);
	sl_html_raw(h, "</dl>\n");
}

static void sealed_text(sl_html *h, const char *id, const char *text, const char *none)
{
	sl_html_rawf(h, "<p id=\"%s\" class=\"text%s\">", id, text ? "" : " none");
	if (text)
		sl_html_text(h, text);
	else
		sl_html_text(h, none);
	sl_html_raw(h, "</p>\n");
}

static void texts(sl_html *h, const char *id, const review_text *list, size_t n,
		  const char *none)
{
	sl_html_rawf(h, "<ol id=\"%s\" class=\"texts\">\n", id);
	for (size_t i = 0; i < n; i++) {
		sl_html_raw(h, "<li>");
		if (list[i].author) {
			sl_html_raw(h, "<span class=\"author\">");
			sl_html_text(h, list[i].author);
			sl_html_raw(h, "</span> ");
		}
		time_el(h, "time", list[i].at);
		sl_html_raw(h, "<p class=\"text\">");
		sl_html_textn(h, list[i].text, list[i].len);
		sl_html_raw(h, "</p></li>\n");
	}
	if (n == 0)
		sl_html_rawf(h, "<li class=\"none\">%s</li>\n", none);
	sl_html_raw(h, "</ol>\n");
}

/* The actions bar: claim or release, grade, verify, next. */
static void actions(sl_html *h, mod_ctx *ctx, const review_view *v, const form_state *fs,
		    const sl_queue_item *next)
{
	int64_t id = v->report.id;
	bool mine =
	    v->claimed_by && strcmp(v->claimed_by, sl_session_name(ctx->session)) == 0;
	sl_html_raw(h, "<div class=\"actions\" id=\"actions\">\n");
	form_open(h, ctx, id, mine ? "release" : "claim", "f-claim", "inline");
	sl_html_raw(
	    h,
	    mine ? "<button type=\"submit\" id=\"a-release\">Release "
		   "<kbd>c</kbd></button>"
		 : "<button type=\"submit\" id=\"a-claim\">Claim <kbd>c</kbd></button>");
	sl_html_raw(h, "</form>\n");

	char rel = v->review.reliability;
	int cred = v->review.credibility;
	if (is_form_of(fs, "grade")) {
		rel = fs->reliability;
		cred = fs->credibility;
	}
	form_open(h, ctx, id, "grade", "f-grade", "inline grade-pick");
	sl_html_raw(h, "<label>Reliability <select name=\"reliability\" id=\"g-rel\">"
		       "<option value=\"\">–</option>");
	for (char c = 'A'; c <= 'F'; c++)
		sl_html_rawf(h, "<option%s>%c</option>", c == rel ? " selected" : "", c);
	sl_html_raw(h,
		    "</select></label> <label>Credibility <select name=\"credibility\" "
		    "id=\"g-cred\"><option value=\"\">–</option>");
	for (int c = 1; c <= 6; c++)
		sl_html_rawf(h, "<option%s>%d</option>", c == cred ? " selected" : "", c);
	sl_html_raw(h, "</select></label> <button type=\"submit\" id=\"a-grade\">Grade "
		       "<kbd>g</kbd></button></form>\n");

	form_open(h, ctx, id, "verify", "f-verify", "inline");
	sl_html_raw(h, "<button type=\"submit\" id=\"a-verify\" class=\"good\">Verify "
		       "<kbd>v</kbd></button></form>\n");
	if (next)
		sl_html_rawf(h,
			     "<a id=\"next\" rel=\"next\" class=\"button\" href=\"" ROOT
			     "/reports/%" PRId64 "%s\">Next <kbd>n</kbd></a>\n",
			     next->report.id, keep_query(ctx->conn, '?'));
	sl_html_raw(h, "</div>\n");
	form_error(h, fs, "claim");
	form_error(h, fs, "grade");
	form_error(h, fs, "verify");

	form_open(h, ctx, id, "reject", "f-reject", "inline-form");
	sl_html_raw(h,
		    "<label>Reject because <input name=\"reason\" id=\"reject-reason\" "
		    "maxlength=\"500\" required placeholder=\"e.g. a photo from 2021, "
		    "already published elsewhere\"");
	if (is_form_of(fs, "reject") && fs->reason) {
		sl_html_raw(h, " value=\"");
		sl_html_text(h, fs->reason);
		sl_html_raw(h, "\" autofocus");
	}
	sl_html_raw(
	    h, "></label> <button type=\"submit\" id=\"a-reject\" class=\"bad\">Reject "
	       "<kbd>r</kbd></button></form>\n");
	form_error(h, fs, "reject");
}

/* Events a report is in, as they are listed beside it. */
typedef struct report_event {
	sl_event ev;
	bool found;
} report_event;

static void events_block(sl_html *h, mod_ctx *ctx, const review_view *v,
			 const report_event *evs, const form_state *fs)
{
	int64_t id = v->report.id;
	sl_html_raw(h, "<h3>Events</h3>\n<ul id=\"r-events\" class=\"r-events\">\n");
	for (size_t i = 0; i < v->n_events; i++) {
		int64_t eid = v->events[i];
		sl_html_rawf(h,
			     "<li data-event=\"%" PRId64
			     "\"><a class=\"ev-link\" href=\"" ROOT "/events/%" PRId64
			     "\">event #%" PRId64 "</a> ",
			     eid, eid, eid);
		if (evs[i].found) {
			const sl_event *e = &evs[i].ev;
			sl_html_rawf(h,
				     "<span class=\"ev-about\">%s%s%zu report%s</span> ",
				     e->has_category ? category_label(e->category) : "",
				     e->has_category ? ", " : "", e->n_reports,
				     e->n_reports == 1 ? "" : "s");
		}
		form_open(h, ctx, id, "detach", "", "inline detach");
		sl_html_rawf(
		    h,
		    "<input type=\"hidden\" name=\"event_id\" value=\"%" PRId64 "\">"
		    "<button type=\"submit\" class=\"small\" title=\"Detach this "
		    "report from event #%" PRId64 "\">Detach</button></form></li>\n",
		    eid, eid);
	}
	if (v->n_events == 0)
		sl_html_raw(h, "<li class=\"none\">not linked to an event</li>\n");
	sl_html_raw(h, "</ul>\n<div class=\"event-actions\">\n");
	sl_html_rawf(h,
		     "<form method=\"post\" action=\"" ROOT
		     "/events%s\" id=\"f-event-new\" "
		     "class=\"inline\">",
		     keep_query(ctx->conn, '?'));
	csrf_field(h, ctx->session);
	sl_html_rawf(
	    h,
	    "<input type=\"hidden\" name=\"report_id\" value=\"%" PRId64 "\">"
	    "<button type=\"submit\" id=\"a-event-new\">New event from this report "
	    "<kbd>N</kbd></button></form>\n",
	    id);
	form_open(h, ctx, id, "attach", "f-attach", "inline-form");
	sl_html_raw(h,
		    "<label>Attach to event # <input name=\"event_id\" id=\"event-id\" "
		    "inputmode=\"numeric\" pattern=\"[0-9]*\" maxlength=\"18\" required");
	if (is_form_of(fs, "event") && fs->event_id) {
		sl_html_raw(h, " value=\"");
		sl_html_text(h, fs->event_id);
		sl_html_raw(h, "\"");
	}
	sl_html_raw(h, "></label> <button type=\"submit\" id=\"a-attach\">Attach "
		       "<kbd>a</kbd></button></form>\n</div>\n");
	form_error(h, fs, "event");
}

/* A marker for the map: a report near this one, or in one of its events. */
typedef struct neighbour {
	const sl_queue_item *it;
	bool same_event;
	double km;
} neighbour;

static bool in_events(const report_event *evs, size_t n, int64_t id)
{
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; evs[i].found && k < evs[i].ev.n_reports; k++)
			if (evs[i].ev.report_ids[k] == id)
				return true;
	return false;
}

/* The map (its data in data-* attributes for mod.js) and, under it, the
 * reports drawn on it as links: useful without JavaScript too. */
static void map_block(sl_html *h, mod_ctx *ctx, const review_view *v, const neighbour *nb,
		      size_t n_nb)
{
	const sl_location *loc = &v->report.location;
	if (loc->has_point)
		sl_html_rawf(
		    h,
		    "<div id=\"map\" class=\"map\" data-lat=\"%.6f\" data-lon=\"%.6f\" "
		    "data-radius=\"%.0f\" role=\"img\" aria-label=\"Map of the "
		    "report's location\"><p class=\"hint map-off\">The map is drawn "
		    "with JavaScript; the reports it would show are listed "
		    "below.</p></div>\n",
		    loc->lat, loc->lon, loc->uncertainty_m);
	else
		sl_html_raw(h,
			    "<p id=\"map-note\" class=\"hint\">No coordinates: placed by "
			    "name only.</p>\n");
	size_t near = 0, same = 0;
	for (size_t i = 0; i < n_nb; i++)
		nb[i].same_event ? same++ : near++;
	sl_html_raw(h, "<h3>On the map</h3>\n");
	if (n_nb == 0) {
		sl_html_raw(
		    h,
		    "<p class=\"hint\" id=\"nearby-none\">No other report within 50 km "
		    "and 24 h, none in its events.</p>\n");
		return;
	}
	sl_html_raw(h, "<p class=\"hint\" id=\"nearby-note\">");
	if (near)
		sl_html_rawf(h, "%zu other report%s within 50 km and 24 h (blue)", near,
			     near == 1 ? "" : "s");
	if (near && same)
		sl_html_raw(h, "; ");
	if (same)
		sl_html_rawf(h, "%zu of the same event (purple)", same);
	sl_html_raw(h, "</p>\n<ul id=\"nearby\" class=\"nearby\">\n");
	for (size_t i = 0; i < n_nb; i++) {
		const sl_report *o = &nb[i].it->report;
		char t[SL_TIME_TEXT_MAX];
		human_time(o->observed_at, t);
		sl_html_rawf(h, "<li class=\"%s\" data-id=\"%" PRId64 "\"",
			     nb[i].same_event ? "mk-event" : "mk-near", o->id);
		if (o->location.has_point)
			sl_html_rawf(h, " data-lat=\"%.6f\" data-lon=\"%.6f\"",
				     o->location.lat, o->location.lon);
		sl_html_rawf(h,
			     "><a href=\"" ROOT "/reports/%" PRId64 "%s\">#%" PRId64
			     " %s</a>, "
			     "<span class=\"when\">%s</span>",
			     o->id, keep_query(ctx->conn, '?'), o->id,
			     category_label(o->category), t);
		if (o->location.has_point && loc->has_point)
			sl_html_rawf(h, ", %.0f km", nb[i].km);
		if (nb[i].same_event)
			sl_html_raw(h, " <span class=\"badge event\">same event</span>");
		sl_html_raw(h, "</li>\n");
	}
	sl_html_raw(h, "</ul>\n");
}

/* The reports to mark on r's map: those within NEAR_M and NEAR_S of it,
 * and those of its events wherever they are; at most NEAR_MAX, in nb. */
static size_t neighbours(mod_ctx *ctx, const sl_report *r, const context_list *cl,
			 const report_event *evs, size_t n_evs, sl_arena *a,
			 neighbour *nb)
{
	size_t n = 0;
	const sl_location *loc = &r->location;
	for (size_t i = 0; i < cl->n && n < NEAR_MAX; i++) {
		const sl_queue_item *it = &cl->items[i];
		const sl_report *o = &it->report;
		if (o->id == r->id)
			continue;
		bool same = in_events(evs, n_evs, o->id);
		double d = 0;
		if (loc->has_point && o->location.has_point)
			d = sl_geo_distance_m(loc->lat, loc->lon, o->location.lat,
					      o->location.lon);
		bool near = loc->has_point && o->location.has_point && d <= NEAR_M &&
			    llabs(o->observed_at - r->observed_at) <= NEAR_S;
		if (same || near)
			nb[n++] = (neighbour){it, same, d / 1000.0};
	}
	/* An event's reports that the list is too short to hold. */
	for (size_t i = 0; i < n_evs; i++)
		for (size_t k = 0;
		     evs[i].found && k < evs[i].ev.n_reports && n < NEAR_MAX; k++) {
			int64_t id = evs[i].ev.report_ids[k];
			bool have = id == r->id;
			for (size_t j = 0; j < n && !have; j++)
				have = nb[j].it->report.id == id;
			sl_queue_item *it = sl_arena_alloc(a, sizeof(*it));
			if (have || !it || !clear_fields(ctx, cl, id, a, it))
				continue;
			double d = 0;
			if (loc->has_point && it->report.location.has_point)
				d = sl_geo_distance_m(loc->lat, loc->lon,
						      it->report.location.lat,
						      it->report.location.lon);
			nb[n++] = (neighbour){it, true, d / 1000.0};
		}
	return n;
}

/* The report page for report id: the queue beside the report, opened for
 * the session's moderator (the "view" is logged before anything is sent),
 * with status and, after a refused form, fs. */
static enum MHD_Result report_page(mod_ctx *ctx, int64_t id, unsigned status,
				   const form_state *fs)
{
	bool all = show_all(ctx->conn);
	sl_arena *a = sl_arena_new(sl_review_arena_cap(ctx->srv));
	sl_arena *la = sl_arena_new(LIST_ARENA_CAP);
	if (!a || !la) {
		sl_arena_free(a);
		sl_arena_free(la);
		return message_page(ctx->conn, 503, ctx->session, "Out of memory", NULL,
				    5);
	}
	review_view v;
	review_fail f = {0};
	if (sl_review_open_report(ctx, id, a, &v, &f) != SL_OK) {
		sl_arena_free(a);
		sl_arena_free(la);
		return fail_page(ctx, &f);
	}
	sl_queue_item *items = NULL;
	size_t n = 0, limit;
	context_list cl = {0};
	sl_err e = load_queue(ctx, la, all, &limit, &items, &n);
	if (e == SL_OK)
		e = context_load(ctx, la, &cl);
	report_event *evs = sl_arena_alloc(la, (v.n_events + 1) * sizeof(*evs));
	for (size_t i = 0; e == SL_OK && evs && i < v.n_events; i++) {
		sl_event *list;
		size_t k;
		e = sl_store_events(ctx->srv->store, v.events[i], 1, la, &list, &k);
		if (e == SL_OK && k == 1) {
			evs[i].ev = list[0];
			evs[i].found = true;
		}
	}
	neighbour *nb = sl_arena_alloc(la, NEAR_MAX * sizeof(*nb));
	if (e == SL_OK && (!evs || !nb))
		e = SL_ENOMEM;
	if (e != SL_OK) {
		sl_arena_free(a);
		sl_arena_free(la);
		return message_page(ctx->conn, 503, ctx->session, "The store failed",
				    "try again", 5);
	}
	size_t n_nb = neighbours(ctx, &v.report, &cl, evs, v.n_events, la, nb);
	/* n: the report after this one in the queue, or the first. */
	const sl_queue_item *next = NULL;
	for (size_t i = 0; i < n && !next; i++)
		if (items[i].report.id == id)
			next = i + 1 < n ? &items[i + 1] : NULL;
	if (!next && n && items[0].report.id != id)
		next = &items[0];

	review_names nm = {0};
	sl_html h;
	sl_html_init(&h, SL_HTML_MAX);
	char title[64];
	snprintf(title, sizeof(title), "Report #%" PRId64, id);
	page_open(&h, title, ctx->session, true, "report-page reading");
	sl_html_raw(&h, "<div id=\"console\" class=\"console\">\n");
	queue_pane(&h, ctx, &nm, items, n, limit, all, id);

	const sl_report *r = &v.report;
	char g[4];
	grade_text(&v.review, g);
	sl_html_raw(&h, "<section id=\"report-pane\" class=\"report-pane\">\n");
	sl_html_rawf(&h, "<article id=\"report\" data-id=\"%" PRId64 "\">\n", id);
	sl_html_rawf(
	    &h,
	    "<header class=\"report-head\"><a id=\"back\" class=\"back\" href=\"" ROOT
	    "%s\">← Queue</a>"
	    "<h2 id=\"r-title\">#%" PRId64 " %s</h2>"
	    "<span id=\"r-status\" class=\"status st-%s\">%s</span>",
	    keep_query(ctx->conn, '?'), id, category_label(r->category),
	    sl_status_name(r->status), status_label(r->status));
	if (g[0])
		sl_html_rawf(&h, "<span id=\"r-grade\" class=\"grade\">grade %s</span>",
			     g);
	if (v.claimed_by) {
		sl_html_raw(&h,
			    "<span id=\"r-claimed\" class=\"badge claimed\">claimed: ");
		sl_html_text(&h, v.claimed_by);
		sl_html_raw(&h, "</span>");
	}
	sl_html_raw(&h, "</header>\n");
	const char *done = arg(ctx->conn, "done");
	for (size_t i = 0; done && !fs && i < sizeof(done_words) / sizeof(done_words[0]);
	     i++)
		if (strcmp(done, done_words[i][0]) == 0)
			sl_html_rawf(
			    &h, "<p id=\"done\" class=\"done\" role=\"status\">%s</p>\n",
			    done_words[i][1]);
	actions(&h, ctx, &v, fs, next);

	sl_html_raw(&h, "<div class=\"report-body\">\n<div class=\"facts\">\n");
	facts(&h, &v);
	sl_html_raw(&h, "<h3>Text</h3>\n");
	sealed_text(&h, "r-text", r->text, "no text");
	sl_html_raw(&h, "<h3>Contact</h3>\n");
	sealed_text(&h, "r-contact", r->contact, "no contact");
	sl_html_raw(&h, "<h3>Follow-ups</h3>\n");
	texts(&h, "r-followups", v.followups, v.n_followups, "none");
	if (v.not_for_you)
		sl_html_rawf(
		    &h,
		    "<p class=\"hint\" id=\"not-for-you\">%zu sealed item%s of this "
		    "report %s not sealed to you (sent before you joined): an admin "
		    "can share them.</p>\n",
		    v.not_for_you, v.not_for_you == 1 ? "" : "s",
		    v.not_for_you == 1 ? "was" : "were");
	events_block(&h, ctx, &v, evs, fs);
	sl_html_raw(&h, "</div>\n<div class=\"side\">\n");
	map_block(&h, ctx, &v, nb, n_nb);
	sl_html_raw(&h, "<div id=\"r-photos\" class=\"photos\">\n");
	for (size_t i = 0; i < v.n_photos; i++) {
		char url[96];
		snprintf(url, sizeof(url), SL_REVIEW_PHOTO_PATH, id, v.photos[i]);
		sl_html_rawf(&h,
			     "<a href=\"%s\"><img src=\"%s\" alt=\"photo %zu\" "
			     "loading=\"lazy\"></a>\n",
			     url, url, v.photos[i]);
	}
	sl_html_raw(&h, "</div>\n</div>\n</div>\n");

	sl_html_raw(&h, "<section class=\"notes\">\n<h3>Notes</h3>\n");
	texts(&h, "r-notes", v.notes, v.n_notes, "no notes yet");
	form_open(&h, ctx, id, "notes", "f-note", "inline-form");
	sl_html_raw(&h, "<label>Add a note <textarea name=\"text\" id=\"note-text\" "
			"maxlength=\"2000\" rows=\"2\" required>");
	if (is_form_of(fs, "note") && fs->note)
		sl_html_text(&h, fs->note);
	sl_html_raw(
	    &h, "</textarea></label> <button type=\"submit\" id=\"a-note\">Add</button>"
		"</form>\n");
	form_error(&h, fs, "note");
	sl_html_raw(&h, "</section>\n</article>\n</section>\n</div>\n");
	page_close(&h, true);

	sl_review_names_free(&nm);
	sl_arena_free(la);
	sl_arena_free(a); /* wipes what was opened */
	return send_page(ctx->conn, status, &h,
			 fs && fs->fail ? fs->fail->retry_after : 0);
}

static enum MHD_Result page_report(mod_ctx *ctx)
{
	int64_t id;
	if (!sl_review_parse_id(ctx->params[0], &id))
		return message_page(ctx->conn, 404, ctx->session, "Not found",
				    "no such report", 0);
	return report_page(ctx, id, 200, NULL);
}

/* ---- events ---- */

/* The engine's estimate of an event: when, where (with its radius), what,
 * which way and how sure. Numbers only: nothing here is informant text. */
static void event_estimate(sl_html *h, const sl_event *e)
{
	if (!e->has_estimate)
		return;
	sl_html_raw(h, "<dl class=\"facts ev-estimate\">\n<dt>Seen</dt><dd>");
	time_el(h, "ev-start", e->t_start);
	if (e->t_end != e->t_start) {
		sl_html_raw(h, " – ");
		time_el(h, "ev-end", e->t_end);
	}
	sl_html_raw(h, "</dd>\n");
	if (e->has_point)
		sl_html_rawf(h,
			     "<dt>Where</dt><dd class=\"ev-where\" data-lat=\"%.6f\" "
			     "data-lon=\"%.6f\">%.5f, %.5f ± %.0f m</dd>\n",
			     e->lat, e->lon, e->lat, e->lon, e->uncertainty_m);
	if (e->has_heading)
		sl_html_rawf(h, "<dt>Heading</dt><dd>%.0f°</dd>\n", e->heading_deg);
	if (e->n_items) {
		sl_html_raw(h, "<dt>Equipment</dt><dd class=\"ev-equipment\">");
		for (size_t i = 0; i < e->n_items; i++) {
			const sl_event_item *it = &e->items[i];
			if (i)
				sl_html_raw(h, ", ");
			sl_html_rawf(h, "%d", it->count);
			if (it->count_min != it->count || it->count_max != it->count)
				sl_html_rawf(h, " (%d–%d)", it->count_min, it->count_max);
			char type[32];
			snprintf(type, sizeof(type), "%s",
				 sl_equipment_type_name(it->type));
			for (char *p = type; *p; p++)
				if (*p == '_')
					*p = ' ';
			sl_html_rawf(h, " × %s", type);
		}
		sl_html_raw(h, "</dd>\n");
	}
	sl_html_rawf(
	    h,
	    "<dt>Confidence</dt><dd class=\"ev-confidence\" data-confidence=\"%.3f\">"
	    "%.0f %%</dd>\n</dl>\n",
	    e->confidence, e->confidence * 100);
}

/* An admin's form on an event's page: the text the public may see with
 * it (docs/PUBLISH.md), approved or withdrawn. */
static void excerpt_form(sl_html *h, mod_ctx *ctx, int64_t id)
{
	sl_html_rawf(h,
		     "<form method=\"post\" action=\"" ROOT
		     "/publish/excerpt\" id=\"excerpt-form\" class=\"excerpt\">\n"
		     "<input type=\"hidden\" name=\"event_id\" value=\"%" PRId64 "\">",
		     id);
	csrf_field(h, ctx->session);
	sl_html_rawf(
	    h,
	    "<label>Public excerpt (at most %d bytes; shown with the event in "
	    "every feed: nothing that could point at who reported)"
	    "<textarea name=\"text\" id=\"excerpt-text\" rows=\"3\" "
	    "maxlength=\"%d\"></textarea></label>\n"
	    "<button type=\"submit\" id=\"excerpt-approve\">Approve for the "
	    "public</button> <button type=\"submit\" name=\"withdraw\" value=\"1\" "
	    "id=\"excerpt-withdraw\">Withdraw the excerpt</button>\n</form>\n",
	    SL_PUB_EXCERPT_MAX, SL_PUB_EXCERPT_MAX);
	/* A photo for the public: one of a report's cleaned photos (the
	 * report's page shows them, numbered), opened with the admin's key. */
	sl_html_rawf(h,
		     "<form method=\"post\" action=\"" ROOT
		     "/publish/photo\" id=\"photo-form\" class=\"excerpt\">\n"
		     "<input type=\"hidden\" name=\"event_id\" value=\"%" PRId64 "\">",
		     id);
	csrf_field(h, ctx->session);
	sl_html_raw(h,
		    "<label>Public photo: report <input name=\"report_id\" "
		    "id=\"photo-report\" type=\"number\" min=\"1\"></label> "
		    "<label>photo <input name=\"photo\" id=\"photo-n\" type=\"number\" "
		    "min=\"1\" max=\"1000\" value=\"1\"></label>\n"
		    "<button type=\"submit\" id=\"photo-approve\">Publish this photo "
		    "with the event</button> <button type=\"submit\" name=\"withdraw\" "
		    "value=\"1\" id=\"photo-withdraw\">Withdraw the photo</button>\n"
		    "</form>\n");
}

/* One event with its supporting reports: the one place an event is drawn,
 * in the list (brief: a few of its reports) and on its own page. */
static void render_event(sl_html *h, mod_ctx *ctx, review_names *nm, const sl_event *e,
			 const context_list *cl, sl_arena *a, bool brief)
{
	int64_t now = sl_time_now();
	sl_html_rawf(h,
		     "<article class=\"event\" id=\"event-%" PRId64
		     "\" data-id=\"%" PRId64 "\">\n",
		     e->id, e->id);
	if (brief)
		sl_html_rawf(h,
			     "<h3 class=\"ev-title\"><a href=\"" ROOT "/events/%" PRId64
			     "\">Event #%" PRId64 "</a>",
			     e->id, e->id);
	else
		sl_html_rawf(h, "<h2 class=\"ev-title\" id=\"ev-title\">Event #%" PRId64,
			     e->id);
	if (e->has_category)
		sl_html_rawf(h, " — %s", category_label(e->category));
	sl_html_raw(h, brief ? "</h3>\n" : "</h2>\n");
	char t[SL_TIME_TEXT_MAX];
	human_time(e->created_at, t);
	if (e->created_by) {
		sl_html_rawf(
		    h, "<p class=\"hint ev-meta\">made %s by <span class=\"by\">", t);
		sl_html_text(h, sl_review_name_of(ctx->srv, nm, e->created_by));
		sl_html_raw(h, "</span>");
	} else {
		sl_html_rawf(
		    h,
		    "<p class=\"hint ev-meta\">made %s by <span class=\"by\">the "
		    "engine</span>",
		    t);
	}
	sl_html_rawf(h, "%s; <span class=\"n\">%zu</span> report%s</p>\n",
		     e->by_moderator ? ", decided by moderators" : "", e->n_reports,
		     e->n_reports == 1 ? "" : "s");
	event_estimate(h, e);
	sl_html_raw(h, "<ol class=\"queue ev-reports\">\n");
	size_t shown =
	    brief && e->n_reports > EVENT_ROWS_BRIEF ? EVENT_ROWS_BRIEF : e->n_reports;
	for (size_t i = 0; i < shown; i++) {
		sl_queue_item it;
		if (clear_fields(ctx, cl, e->report_ids[i], a, &it)) {
			it.urgency = -1;
			report_row(h, ctx, nm, &it, "", false, now);
		} else {
			sl_html_rawf(h,
				     "<li class=\"item\" data-id=\"%" PRId64
				     "\">#%" PRId64 " (cannot be read)</li>\n",
				     e->report_ids[i], e->report_ids[i]);
		}
	}
	sl_html_raw(h, "</ol>\n");
	if (!brief && sl_session_role(ctx->session) == SL_ROLE_ADMIN)
		excerpt_form(h, ctx, e->id);
	if (shown < e->n_reports)
		sl_html_rawf(h,
			     "<p class=\"hint\"><a href=\"" ROOT "/events/%" PRId64
			     "\">and %zu more</a></p>\n",
			     e->id, e->n_reports - shown);
	sl_html_raw(h, "</article>\n");
}

/* The list's filters as a plain GET form, with what was wrong with the
 * query (the parameter's name and why; never its value). */
static void events_filter_form(sl_html *h, const sl_event_filter *f,
			       const sl_problems *why)
{
	sl_html_raw(h, "<form class=\"events-filter\" method=\"get\" action=\"" ROOT
		       "/events\">\n<label>Category <select name=\"category\">"
		       "<option value=\"\">any</option>");
	for (int c = 0; c < SL_CAT_COUNT; c++)
		sl_html_rawf(
		    h, "<option value=\"%s\"%s>%s</option>", sl_category_name(c),
		    f->has_category && f->category == (sl_category)c ? " selected" : "",
		    category_label(c));
	sl_html_rawf(
	    h,
	    "</select></label>\n<label>Made by <select name=\"origin\">"
	    "<option value=\"\">anyone</option>"
	    "<option value=\"engine\"%s>the engine</option>"
	    "<option value=\"moderator\"%s>moderators</option></select></label>\n"
	    "<label>Reports at least <input name=\"min_reports\" type=\"number\" "
	    "min=\"0\" max=\"999999\" value=\"%lld\"></label>\n"
	    "<button type=\"submit\">Show</button>\n</form>\n",
	    f->origin == SL_ORIGIN_ENGINE ? " selected" : "",
	    f->origin == SL_ORIGIN_MODERATOR ? " selected" : "",
	    (long long)f->min_reports);
	for (size_t i = 0; i < why->n; i++) {
		sl_html_raw(h, "<p class=\"error\" role=\"alert\">");
		sl_html_text(h, why->items[i].field);
		sl_html_raw(h, ": ");
		sl_html_text(h, why->items[i].message);
		sl_html_raw(h, "</p>\n");
	}
}

/* GET /mod/events (id 0) or /mod/events/{id}. */
static enum MHD_Result events_page(mod_ctx *ctx, int64_t id)
{
	/* The list takes the API's filters (?category, ?origin, ?min_reports,
	 * ?bbox, ?from, ?to, ?limit, ?before); a bad one is named on the page
	 * and the list shown without it. */
	sl_event_filter f = {.id = id, .limit = 1};
	sl_problems why = {0};
	if (!id) {
		sl_review_event_filter(ctx->conn, &f, &why);
		if (why.n) {
			f = (sl_event_filter){0};
			f.limit = SL_REVIEW_LIST_DEFAULT;
		}
	}
	if (f.limit > SL_QUEUE_MAX)
		f.limit = SL_QUEUE_MAX;
	sl_arena *a = sl_arena_new(LIST_ARENA_CAP);
	if (!a)
		return message_page(ctx->conn, 503, ctx->session, "Out of memory", NULL,
				    5);
	sl_event *list;
	size_t n;
	context_list cl = {0};
	sl_err e = sl_store_find_events(ctx->srv->store, &f, a, &list, &n);
	if (e == SL_OK)
		e = context_load(ctx, a, &cl);
	if (e != SL_OK) {
		sl_arena_free(a);
		return message_page(ctx->conn, 503, ctx->session, "The store failed",
				    "try again", 5);
	}
	if (id && n == 0) {
		sl_arena_free(a);
		return message_page(ctx->conn, 404, ctx->session, "Not found",
				    "no such event", 0);
	}
	review_names nm = {0};
	sl_html h;
	sl_html_init(&h, SL_HTML_MAX);
	char title[64];
	if (id)
		snprintf(title, sizeof(title), "Event #%" PRId64, id);
	else
		snprintf(title, sizeof(title), "Events");
	page_open(&h, title, ctx->session, false, "events-page");
	sl_html_raw(&h,
		    "<section id=\"events\" class=\"events\" aria-label=\"Events\">\n");
	if (id) {
		sl_html_raw(&h, "<p><a href=\"" ROOT "/events\">← All events</a></p>\n");
		render_event(&h, ctx, &nm, &list[0], &cl, a, false);
	} else {
		sl_html_rawf(
		    &h,
		    "<div class=\"events-head\"><h2>Events <span id=\"events-count\" "
		    "class=\"count\">(%zu)</span></h2></div>\n",
		    n);
		events_filter_form(&h, &f, &why);
		if (n == 0)
			sl_html_raw(
			    &h,
			    "<p id=\"events-empty\" class=\"hint\">No events yet. Open "
			    "a report and make one (<kbd>N</kbd>).</p>\n");
		sl_html_raw(&h, "<div id=\"events-list\" class=\"events-list\">\n");
		for (size_t i = 0; i < n; i++)
			render_event(&h, ctx, &nm, &list[i], &cl, a, true);
		sl_html_raw(&h, "</div>\n");
	}
	sl_html_raw(&h, "</section>\n");
	page_close(&h, true);
	sl_review_names_free(&nm);
	sl_arena_free(a);
	return send_page(ctx->conn, 200, &h, 0);
}

static enum MHD_Result page_events(mod_ctx *ctx)
{
	return events_page(ctx, 0);
}

static enum MHD_Result page_event(mod_ctx *ctx)
{
	int64_t id;
	if (!sl_review_parse_id(ctx->params[0], &id))
		return message_page(ctx->conn, 404, ctx->session, "Not found",
				    "no such event", 0);
	return events_page(ctx, id);
}

/* ---- the audit log ---- */

static enum MHD_Result page_audit(mod_ctx *ctx)
{
	size_t limit;
	if (!sl_review_parse_limit(ctx->conn, SL_QUEUE_MAX, &limit))
		limit = SL_REVIEW_LIST_DEFAULT;
	sl_arena *a = sl_arena_new((size_t)16 << 20);
	if (!a)
		return message_page(ctx->conn, 503, ctx->session, "Out of memory", NULL,
				    5);
	sl_audit_entry *list;
	size_t n;
	review_fail f = {0};
	if (sl_review_audit_tail(ctx, limit, a, &list, &n, &f) != SL_OK) {
		sl_arena_free(a);
		return fail_page(ctx, &f);
	}
	sl_html h;
	sl_html_init(&h, SL_HTML_MAX);
	page_open(&h, "Audit log", ctx->session, false, "audit-page");
	sl_html_rawf(
	    &h,
	    "<section id=\"audit\" class=\"audit\">\n<h2>Audit log <span "
	    "class=\"count\">(the latest %zu)</span></h2>\n<div "
	    "class=\"table-wrap\"><table id=\"audit-table\"><thead><tr><th>#</th>"
	    "<th>at</th><th>actor</th><th>action</th><th>subject</th><th>detail</th>"
	    "</tr></thead>\n<tbody>\n",
	    n);
	for (size_t i = n; i-- > 0;) {
		const sl_audit_entry *e = &list[i];
		char t[SL_TIME_TEXT_MAX];
		human_time(e->at, t);
		sl_html_rawf(&h, "<tr><td>%" PRId64 "</td><td>%s</td><td>", e->seq, t);
		sl_html_text(&h, e->actor);
		sl_html_raw(&h, "</td><td>");
		sl_html_text(&h, e->action);
		sl_html_raw(&h, "</td><td>");
		sl_html_text(&h, e->subject);
		sl_html_raw(&h, "</td><td>");
		sl_html_text(&h, e->detail);
		sl_html_raw(&h, "</td></tr>\n");
	}
	sl_html_raw(&h, "</tbody></table></div>\n");
	if (n == limit && limit < SL_QUEUE_MAX)
		sl_html_rawf(&h,
			     "<p class=\"hint\"><a href=\"" ROOT
			     "/audit?limit=%d\">Show the latest %d</a></p>\n",
			     SL_QUEUE_MAX, SL_QUEUE_MAX);
	sl_html_raw(&h,
		    "<p class=\"hint\"><code>sightline audit verify</code> checks the "
		    "chain and the signatures (docs/AUDIT.md).</p>\n</section>\n");
	page_close(&h, true);
	sl_arena_free(a);
	return send_page(ctx->conn, 200, &h, 0);
}

/* ---- publication (admins): the policy, webhooks ---- */

/* What a 303 back to /mod/publish says happened. */
static const char *const publish_done[][2] = {
    {"policy", "Policy saved."},
    {"removed", "Webhook removed."},
    {"excerpt", "Excerpt saved."},
};

/* GET /mod/publish, or the page again after a form: f the refusal (NULL),
 * w a webhook just added, whose secret is shown this once (NULL). */
static enum MHD_Result publish_page(mod_ctx *ctx, unsigned status, const review_fail *f,
				    const sl_webhook *w)
{
	sl_publish_policy p;
	sl_publish_get_policy(ctx->srv->publish, &p);
	sl_webhook *hooks = NULL;
	size_t n = 0;
	if (sl_store_webhooks(ctx->srv->store, false, &hooks, &n) != SL_OK)
		return message_page(ctx->conn, 503, ctx->session, "The store failed",
				    "try again", 5);
	sl_html h;
	sl_html_init(&h, SL_HTML_MAX);
	page_open(&h, "Publication", ctx->session, false, "publish-page");
	sl_html_raw(&h,
		    "<section id=\"publish\" class=\"publish\">\n<h2>Publication</h2>\n");
	const char *done = arg(ctx->conn, "done");
	for (size_t i = 0;
	     done && !f && i < sizeof(publish_done) / sizeof(publish_done[0]); i++)
		if (strcmp(done, publish_done[i][0]) == 0)
			sl_html_rawf(
			    &h, "<p id=\"done\" class=\"done\" role=\"status\">%s</p>\n",
			    publish_done[i][1]);
	if (f)
		error_box(&h, "publish-error", f->detail, &f->why);
	sl_html_raw(&h, "<p class=\"hint\">The public sees verified events only, after "
			"their category's delay, each point moved to the centre of its "
			"grid cell unless at least k independent reports support it "
			"(docs/PUBLISH.md). Every change is in the audit log.</p>\n"
			"<form method=\"post\" action=\"" ROOT
			"/publish/policy\" id=\"policy-form\" class=\"policy\">\n");
	csrf_field(&h, ctx->session);
	sl_html_raw(&h, "<table><thead><tr><th>category</th><th>delay, minutes</th></tr>"
			"</thead><tbody>\n");
	for (int c = 0; c < SL_CAT_COUNT; c++) {
		const char *name = sl_category_name((sl_category)c);
		sl_html_rawf(&h,
			     "<tr><td><label for=\"delay-%s\">%s</label></td><td><input "
			     "type=\"number\" min=\"0\" max=\"%d\" name=\"delay_%s\" "
			     "id=\"delay-%s\" value=\"%lld\"></td></tr>\n",
			     name, category_label((sl_category)c),
			     SL_PUB_DELAY_MAX_S / 60, name, name,
			     (long long)(p.delay_s[c] / 60));
	}
	sl_html_rawf(
	    &h,
	    "</tbody></table>\n<label>Grid, km <input type=\"number\" step=\"0.1\" "
	    "min=\"%g\" max=\"%g\" name=\"grid_km\" id=\"grid-km\" "
	    "value=\"%g\"></label>\n<label>k, independent reports for full "
	    "precision <input type=\"number\" min=\"1\" max=\"%d\" "
	    "name=\"min_reports\" id=\"min-reports\" value=\"%d\"></label>\n"
	    "<button type=\"submit\" id=\"policy-save\">Save the policy</button>\n"
	    "</form>\n",
	    SL_PUB_GRID_MIN_M / 1000, SL_PUB_GRID_MAX_M / 1000, p.grid_m / 1000,
	    SL_PUB_K_MAX, p.min_reports);
	sl_html_raw(&h, "<h3>Webhooks</h3>\n");
	if (w) {
		char hex[2 * SL_WEBHOOK_SECRET_BYTES + 1];
		sodium_bin2hex(hex, sizeof(hex), w->secret, sizeof(w->secret));
		sl_html_rawf(
		    &h,
		    "<div class=\"done\" id=\"webhook-secret\" role=\"status\">"
		    "Webhook #%" PRId64 " added. Its secret, shown this once: "
		    "<code>%s</code> (X-Sightline-Signature is sha256=HMAC-SHA-256 "
		    "of the timestamp, a dot and the body)</div>\n",
		    w->id, hex);
		sodium_memzero(hex, sizeof(hex));
	}
	sl_html_raw(&h, "<ul id=\"webhooks\" class=\"webhooks\">\n");
	for (size_t i = 0; i < n; i++) {
		sl_html_rawf(&h, "<li data-id=\"%" PRId64 "\"><code>", hooks[i].id);
		sl_html_text(&h, hooks[i].url);
		sl_html_rawf(
		    &h,
		    "</code> — %lld pending, %lld failed <form method=\"post\" "
		    "action=\"" ROOT "/publish/webhooks/remove\" class=\"inline\">"
		    "<input type=\"hidden\" name=\"id\" value=\"%" PRId64 "\">",
		    (long long)hooks[i].pending, (long long)hooks[i].failed, hooks[i].id);
		csrf_field(&h, ctx->session);
		sl_html_raw(&h, "<button type=\"submit\">Remove</button></form></li>\n");
	}
	sl_html_raw(&h, "</ul>\n<form method=\"post\" action=\"" ROOT
			"/publish/webhooks\" id=\"webhook-form\">\n");
	csrf_field(&h, ctx->session);
	sl_html_raw(&h,
		    "<label>URL <input type=\"url\" name=\"url\" id=\"webhook-url\" "
		    "required maxlength=\"2000\" placeholder=\"https://\"></label>\n"
		    "<button type=\"submit\" id=\"webhook-add\">Add</button>\n</form>\n"
		    "<p class=\"hint\">An event's public excerpt is approved on its "
		    "page.</p>\n</section>\n");
	sodium_memzero(hooks, n * sizeof(*hooks));
	free(hooks);
	page_close(&h, true);
	return send_page(ctx->conn, status, &h, 0);
}

static enum MHD_Result page_publish(mod_ctx *ctx)
{
	return publish_page(ctx, 200, NULL, NULL);
}

static enum MHD_Result back_to_publish(mod_ctx *ctx, const char *done)
{
	char loc[64];
	snprintf(loc, sizeof(loc), ROOT "/publish?done=%s", done);
	const char *const h[] = {"Location", loc, NULL};
	return sl_http_respond_with(ctx->conn, 303, NULL, NULL, h);
}

/* ---- forms ---- */

/* A form's action: id is the report of the path ({id}, looked up), or 0
 * for a path without one. */
typedef enum MHD_Result (*form_action)(mod_ctx *ctx, const sl_form *form, int64_t id);

/* 303 See Other to the report's page, saying what was done. */
static enum MHD_Result back_to_report(mod_ctx *ctx, int64_t id, const char *done)
{
	char loc[160];
	snprintf(loc, sizeof(loc), ROOT "/reports/%" PRId64 "?done=%s%s", id, done,
		 keep_query(ctx->conn, '&'));
	const char *const h[] = {"Location", loc, NULL};
	return sl_http_respond_with(ctx->conn, 303, NULL, NULL, h);
}

/* A refused action: the report's page again, with the status of the
 * refusal, the error beside the form and what was typed in it. */
static enum MHD_Result again(mod_ctx *ctx, int64_t id, form_state *fs,
			     const review_fail *f)
{
	fs->fail = f;
	return report_page(ctx, id, f->status ? f->status : 500, fs);
}

/* The report of the path: parsed and looked up (404 page otherwise). */
static bool form_report(mod_ctx *ctx, int64_t *id, enum MHD_Result *ret)
{
	review_fail f = {0};
	if (!sl_review_parse_id(ctx->params[0], id)) {
		*ret = message_page(ctx->conn, 404, ctx->session, "Not found",
				    "no such report", 0);
		return false;
	}
	if (!sl_review_report_exists(ctx, *id, &f)) {
		*ret = fail_page(ctx, &f);
		return false;
	}
	return true;
}

static const char *value_of(const sl_form *form, const char *name, size_t *len)
{
	const sl_form_field *f = sl_html_form_get(form, name);
	if (len)
		*len = f ? f->len : 0;
	return f ? f->value : NULL;
}

/* The text field name of form (a reason, a note), as sent in *kept (to
 * show again) and, when it passes sl_review_check_text, returned with its
 * length in *len; NULL with f saying why (422) otherwise. */
static const char *text_of(const sl_form *form, const char *name, size_t max, size_t *len,
			   const char **kept, review_fail *f)
{
	const char *text = value_of(form, name, len);
	*kept = text;
	if (!text)
		sl_problems_add(&f->why, name, "is required");
	if (!text || !sl_review_check_text(text, *len, name, max, &f->why)) {
		f->status = 422;
		return NULL;
	}
	return text;
}

static enum MHD_Result act_claim_or_release(mod_ctx *ctx, int64_t id, bool release)
{
	int64_t until;
	review_fail f = {0};
	sl_err e = release ? sl_review_release_report(ctx, id, &f)
			   : sl_review_claim_report(ctx, id, &until, &f);
	if (e != SL_OK) {
		form_state fs = {.form = "claim"};
		return again(ctx, id, &fs, &f);
	}
	return back_to_report(ctx, id, release ? "released" : "claimed");
}

static enum MHD_Result act_claim(mod_ctx *ctx, const sl_form *form, int64_t id)
{
	(void)form;
	return act_claim_or_release(ctx, id, false);
}

static enum MHD_Result act_release(mod_ctx *ctx, const sl_form *form, int64_t id)
{
	(void)form;
	return act_claim_or_release(ctx, id, true);
}

static enum MHD_Result act_grade(mod_ctx *ctx, const sl_form *form, int64_t id)
{
	size_t rl, cl;
	const char *rel = value_of(form, "reliability", &rl);
	const char *cred = value_of(form, "credibility", &cl);
	char r = rl == 1 ? rel[0] : 0;
	long long c = cl == 1 && cred[0] >= '0' && cred[0] <= '9' ? cred[0] - '0' : 0;
	review_fail f = {0};
	form_state fs = {.form = "grade", .reliability = r, .credibility = (int)c};
	if (!sl_review_check_grade(rl > 0, r, cl > 0, c, &f.why)) {
		f.status = 422;
		return again(ctx, id, &fs, &f);
	}
	if (sl_review_grade_report(ctx, id, r, (int)c, &f) != SL_OK)
		return again(ctx, id, &fs, &f);
	return back_to_report(ctx, id, "graded");
}

static enum MHD_Result act_verify(mod_ctx *ctx, const sl_form *form, int64_t id)
{
	(void)form;
	review_fail f = {0};
	if (sl_review_decide_report(ctx, id, SL_STATUS_VERIFIED, NULL, &f) != SL_OK) {
		form_state fs = {.form = "verify"};
		return again(ctx, id, &fs, &f);
	}
	return back_to_report(ctx, id, "verified");
}

static enum MHD_Result act_reject(mod_ctx *ctx, const sl_form *form, int64_t id)
{
	size_t len;
	review_fail f = {0};
	form_state fs = {.form = "reject"};
	const char *reason =
	    text_of(form, "reason", SL_REVIEW_REASON_MAX, &len, &fs.reason, &f);
	if (!reason)
		return again(ctx, id, &fs, &f);
	if (sl_review_decide_report(ctx, id, SL_STATUS_REJECTED, reason, &f) != SL_OK)
		return again(ctx, id, &fs, &f);
	return back_to_report(ctx, id, "rejected");
}

static enum MHD_Result act_note(mod_ctx *ctx, const sl_form *form, int64_t id)
{
	size_t len;
	review_fail f = {0};
	form_state fs = {.form = "note"};
	const char *text = text_of(form, "text", SL_REVIEW_NOTE_MAX, &len, &fs.note, &f);
	if (!text)
		return again(ctx, id, &fs, &f);
	/* The action wipes the text (the form's, in post_form's arena): a copy
	 * to show again if it fails, wiped like it. */
	char *copy = strdup(text);
	sl_err e = copy ? sl_review_note_report(ctx, id, (char *)text, len, NULL, &f)
			: SL_ENOMEM;
	enum MHD_Result r;
	if (e == SL_OK) {
		r = back_to_report(ctx, id, "noted");
	} else {
		if (!copy) {
			f.status = 503;
			snprintf(f.detail, sizeof(f.detail), "out of memory; try again");
		}
		fs.note = copy;
		r = again(ctx, id, &fs, &f);
	}
	if (copy) {
		sodium_memzero(copy, len);
		free(copy);
	}
	return r;
}

/* An event id typed in a form: digits only. */
static bool event_id_of(const char *s, size_t len, int64_t *out)
{
	return s && strlen(s) == len && sl_review_parse_id(s, out);
}

/* The id in the form's field name (a hidden field of the console's own). */
static bool id_field(const sl_form *form, const char *name, int64_t *out)
{
	size_t len;
	const char *v = value_of(form, name, &len);
	return event_id_of(v, len, out);
}

static enum MHD_Result act_attach_or_detach(mod_ctx *ctx, const sl_form *form, int64_t id,
					    bool detach)
{
	int64_t event_id;
	size_t len;
	const char *ev = value_of(form, "event_id", &len);
	review_fail f = {0};
	form_state fs = {.form = "event", .event_id = detach ? NULL : ev};
	if (!ev || len == 0)
		sl_problems_add(&f.why, "event_id", "is required");
	else if (!event_id_of(ev, len, &event_id))
		sl_problems_add(&f.why, "event_id", "is not an event id");
	if (f.why.n) {
		f.status = 422;
		return again(ctx, id, &fs, &f);
	}
	if (sl_review_attach_report(ctx, id, event_id, detach, &f) != SL_OK)
		return again(ctx, id, &fs, &f);
	return back_to_report(ctx, id, detach ? "detached" : "attached");
}

static enum MHD_Result act_attach(mod_ctx *ctx, const sl_form *form, int64_t id)
{
	return act_attach_or_detach(ctx, form, id, false);
}

static enum MHD_Result act_detach(mod_ctx *ctx, const sl_form *form, int64_t id)
{
	return act_attach_or_detach(ctx, form, id, true);
}

/* POST /mod/events: a new event from the report of the form's report_id;
 * back to that report. */
static enum MHD_Result act_event_create(mod_ctx *ctx, const sl_form *form, int64_t none)
{
	(void)none;
	int64_t id;
	review_fail f = {0};
	if (!id_field(form, "report_id", &id))
		return message_page(ctx->conn, 404, ctx->session, "Not found",
				    "no such report", 0);
	if (!sl_review_report_exists(ctx, id, &f))
		return fail_page(ctx, &f);
	sl_event ev = {.n_reports = 1, .report_ids = &id};
	if (sl_review_create_event(ctx, &ev, &f) != SL_OK) {
		form_state fs = {.form = "event"};
		return again(ctx, id, &fs, &f);
	}
	return back_to_report(ctx, id, "event");
}

static enum MHD_Result act_sign_out(mod_ctx *ctx, const sl_form *form, int64_t none)
{
	(void)form, (void)none;
	sl_mod_sign_out(ctx->srv, ctx->session);
	static const char *const h[] = {"Set-Cookie", SL_MOD_COOKIE_CLEAR, "Location",
					ROOT, NULL};
	return sl_http_respond_with(ctx->conn, 303, NULL, NULL, h);
}

/* A whole number 0..max in a form's field, or a reason in f. */
static bool form_uint(const sl_form *form, const char *name, long long max,
		      long long *out, review_fail *f)
{
	size_t len;
	const char *v = value_of(form, name, &len);
	if (!v)
		return false; /* absent: unchanged */
	size_t d = strspn(v, "0123456789");
	if (len == 0 || d != len || len > 9 || strtoll(v, NULL, 10) > max) {
		sl_problems_add(&f->why, name, "expected a whole number 0..%lld", max);
		return false;
	}
	*out = strtoll(v, NULL, 10);
	return true;
}

/* POST /mod/publish/policy: the delays, the grid, k; the same checks as
 * the JSON API's (sl_publish_policy_apply), through a JSON document made
 * of the fields. */
static enum MHD_Result act_policy(mod_ctx *ctx, const sl_form *form, int64_t none)
{
	(void)none;
	review_fail f = {.status = 422};
	json_t *delays = json_object(), *doc = json_object();
	long long v;
	for (int c = 0; c < SL_CAT_COUNT; c++) {
		char field[64];
		snprintf(field, sizeof(field), "delay_%s",
			 sl_category_name((sl_category)c));
		if (form_uint(form, field, SL_PUB_DELAY_MAX_S / 60, &v, &f))
			json_object_set_new(delays, sl_category_name((sl_category)c),
					    json_integer(v));
	}
	json_object_set_new(doc, "delay_minutes", delays);
	size_t len;
	const char *g = value_of(form, "grid_km", &len);
	if (g && len) {
		char *end;
		double km = strtod(g, &end);
		if (*end || end == g)
			sl_problems_add(&f.why, "grid_km", "expected a number");
		else
			json_object_set_new(doc, "grid_km", json_real(km));
	}
	if (form_uint(form, "min_reports", SL_PUB_K_MAX, &v, &f))
		json_object_set_new(doc, "min_reports", json_integer(v));
	char *text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	sl_publish_policy p;
	sl_publish_get_policy(ctx->srv->publish, &p);
	if (!text)
		return message_page(ctx->conn, 503, ctx->session, "Out of memory", NULL,
				    5);
	if (!f.why.n)
		sl_publish_policy_apply(&p, text, strlen(text), &f.why);
	free(text);
	if (f.why.n)
		return publish_page(ctx, 422, &f, NULL);
	f = (review_fail){0};
	if (sl_admin_set_policy(ctx, &p, &f) != SL_OK)
		return publish_page(ctx, f.status ? f.status : 503, &f, NULL);
	return back_to_publish(ctx, "policy");
}

/* POST /mod/publish/webhooks: the page again, with the secret shown once
 * (never in a URL). */
static enum MHD_Result act_webhook_add(mod_ctx *ctx, const sl_form *form, int64_t none)
{
	(void)none;
	size_t len = 0;
	const char *url = value_of(form, "url", &len);
	review_fail f = {0};
	sl_webhook w;
	if (sl_admin_add_webhook(ctx, url ? url : "", url ? len : 0, &w, &f) != SL_OK)
		return publish_page(ctx, f.status ? f.status : 503, &f, NULL);
	enum MHD_Result r = publish_page(ctx, 201, NULL, &w);
	sodium_memzero(&w, sizeof(w));
	return r;
}

static enum MHD_Result act_webhook_remove(mod_ctx *ctx, const sl_form *form, int64_t none)
{
	(void)none;
	int64_t id;
	review_fail f = {0};
	if (!id_field(form, "id", &id))
		return message_page(ctx->conn, 404, ctx->session, "Not found",
				    "no such webhook", 0);
	if (sl_admin_remove_webhook(ctx, id, &f) != SL_OK)
		return publish_page(ctx, f.status ? f.status : 503, &f, NULL);
	return back_to_publish(ctx, "removed");
}

/* 303 to event id's page, after an admin's form. */
static enum MHD_Result back_to_event(mod_ctx *ctx, int64_t id)
{
	char loc[96];
	snprintf(loc, sizeof(loc), ROOT "/events/%" PRId64, id);
	const char *const h[] = {"Location", loc, NULL};
	return sl_http_respond_with(ctx->conn, 303, NULL, NULL, h);
}

/* POST /mod/publish/excerpt (event_id, text; withdraw=1 withdraws): back
 * to the event's page. */
static enum MHD_Result act_excerpt(mod_ctx *ctx, const sl_form *form, int64_t none)
{
	(void)none;
	size_t len;
	int64_t id;
	if (!id_field(form, "event_id", &id))
		return message_page(ctx->conn, 404, ctx->session, "Not found",
				    "no such event", 0);
	bool withdraw = value_of(form, "withdraw", NULL) != NULL;
	const char *text = withdraw ? NULL : value_of(form, "text", &len);
	review_fail f = {0};
	if (!withdraw && !text) {
		f.status = 422;
		sl_problems_add(&f.why, "text", "is required");
		return fail_page(ctx, &f);
	}
	if (sl_admin_set_excerpt(ctx, id, text, withdraw ? 0 : len, &f) != SL_OK)
		return fail_page(ctx, &f);
	return back_to_event(ctx, id);
}

/* POST /mod/publish/photo (event_id, report_id, photo; withdraw=1
 * withdraws): back to the event's page. */
static enum MHD_Result act_photo(mod_ctx *ctx, const sl_form *form, int64_t none)
{
	(void)none;
	int64_t id, report_id = 0, n = 0;
	if (!id_field(form, "event_id", &id))
		return message_page(ctx->conn, 404, ctx->session, "Not found",
				    "no such event", 0);
	bool withdraw = value_of(form, "withdraw", NULL) != NULL;
	review_fail f = {0};
	if (!withdraw) {
		if (!id_field(form, "report_id", &report_id))
			sl_problems_add(&f.why, "report_id", "is not a report id");
		if (!id_field(form, "photo", &n) || n > 1000)
			sl_problems_add(&f.why, "photo",
					"expected 1, 2 ... (the report's photo)");
		if (f.why.n) {
			f.status = 422;
			return fail_page(ctx, &f);
		}
	}
	if (sl_admin_set_photo(ctx, id, report_id, n, &f) != SL_OK)
		return fail_page(ctx, &f);
	return back_to_event(ctx, id);
}

/* Every POST: the form decoded (into an arena wiped at the end: a note's
 * text is in it), its CSRF token checked, then the route's action. */
static enum MHD_Result post_form(mod_ctx *ctx)
{
	sl_arena *a = sl_arena_new(2 * ctx->srv->cfg.body_cap + 4096);
	if (!a)
		return message_page(ctx->conn, 503, ctx->session, "Out of memory", NULL,
				    5);
	sl_form form;
	sl_err e = sl_html_form_parse(ctx->body ? ctx->body : "", ctx->len, a, &form);
	enum MHD_Result r;
	if (e != SL_OK) {
		r = message_page(
		    ctx->conn, e == SL_ENOMEM ? 503 : 400, ctx->session, "Not accepted",
		    e == SL_ENOMEM ? "out of memory; try again"
				   : "the form is not application/x-www-form-urlencoded",
		    e == SL_ENOMEM ? 5 : 0);
	} else if (!sl_session_csrf_ok(ctx->session, value_of(&form, "csrf", NULL))) {
		/* Nothing done, nothing logged, nothing of the report shown. */
		r = message_page(
		    ctx->conn, 403, ctx->session, "Refused",
		    "missing or wrong CSRF token: this form is out of date or "
		    "was not sent from the console; reload the page",
		    0);
	} else {
		/* The report of the path: unknown is 404 before anything is
		 * logged. */
		int64_t id = 0;
		if (ctx->n_params == 0 || form_report(ctx, &id, &r))
			r = ((form_action)ctx->action)(ctx, &form, id);
	}
	sl_arena_free(a);
	return r;
}

/* ---- the gate ---- */

static const mod_route routes[] = {
    {"GET", ROOT, SL_ROLE_MODERATOR, page_queue, NULL},
    {"GET", ROOT "/", SL_ROLE_MODERATOR, page_queue, NULL},
    {"GET", ROOT "/reports/{id}", SL_ROLE_MODERATOR, page_report, NULL},
    {"GET", ROOT "/events", SL_ROLE_MODERATOR, page_events, NULL},
    {"GET", ROOT "/events/{id}", SL_ROLE_MODERATOR, page_event, NULL},
    {"GET", ROOT "/audit", SL_ROLE_ADMIN, page_audit, NULL},
    {"POST", ROOT "/sign-out", SL_ROLE_MODERATOR, post_form, act_sign_out},
    {"POST", ROOT "/reports/{id}/claim", SL_ROLE_MODERATOR, post_form, act_claim},
    {"POST", ROOT "/reports/{id}/release", SL_ROLE_MODERATOR, post_form, act_release},
    {"POST", ROOT "/reports/{id}/grade", SL_ROLE_MODERATOR, post_form, act_grade},
    {"POST", ROOT "/reports/{id}/verify", SL_ROLE_MODERATOR, post_form, act_verify},
    {"POST", ROOT "/reports/{id}/reject", SL_ROLE_MODERATOR, post_form, act_reject},
    {"POST", ROOT "/reports/{id}/notes", SL_ROLE_MODERATOR, post_form, act_note},
    {"POST", ROOT "/reports/{id}/attach", SL_ROLE_MODERATOR, post_form, act_attach},
    {"POST", ROOT "/reports/{id}/detach", SL_ROLE_MODERATOR, post_form, act_detach},
    {"POST", ROOT "/events", SL_ROLE_MODERATOR, post_form, act_event_create},
    {"GET", ROOT "/publish", SL_ROLE_ADMIN, page_publish, NULL},
    {"POST", ROOT "/publish/policy", SL_ROLE_ADMIN, post_form, act_policy},
    {"POST", ROOT "/publish/webhooks", SL_ROLE_ADMIN, post_form, act_webhook_add},
    {"POST", ROOT "/publish/webhooks/remove", SL_ROLE_ADMIN, post_form,
     act_webhook_remove},
    {"POST", ROOT "/publish/excerpt", SL_ROLE_ADMIN, post_form, act_excerpt},
    {"POST", ROOT "/publish/photo", SL_ROLE_ADMIN, post_form, act_photo},
};

static enum MHD_Result gate(sl_server *srv, struct MHD_Connection *c, const char *url,
			    const char *method, void **con_cls, sl_session *s)
{
	char allow[128];
	const mod_route *route = NULL;
	enum MHD_Result r;
	if (!sl_mod_form_origin_ok(c, method)) {
		r = message_page(c, 403, s, "Refused",
				 "the request's Origin is not this server", 0);
	} else if (!(route = sl_mod_route_find(routes, sizeof(routes) / sizeof(routes[0]),
					       url, method, allow, sizeof(allow)))) {
		r = allow[0] ? message_page(c, 405, s, "Not for this method",
					    "the path exists, but not for this method", 0)
			     : message_page(c, 404, s, "Not found", "no such page", 0);
	} else if (route->role == SL_ROLE_ADMIN && sl_session_role(s) != SL_ROLE_ADMIN) {
		r = message_page(c, 403, s, "Admins only", "only an admin may see this",
				 0);
	} else if (is_get(method)) {
		r = sl_mod_dispatch(srv, c, route, method, url, s);
	} else if (!is_form(c)) {
		r = message_page(
		    c, 415, s, "Not accepted",
		    "a form must be sent as application/x-www-form-urlencoded", 0);
	} else {
		/* The reference goes with the request until its end. */
		return sl_mod_read_body(srv, c, route, url, s, srv->cfg.body_cap,
					con_cls);
	}
	sl_session_release(s);
	return r;
}

enum MHD_Result sl_console_serve(sl_server *srv, struct MHD_Connection *c,
				 const char *url, const char *method, void **con_cls)
{
	if (strcmp(url, ROOT "/sign-in") == 0 && strcmp(method, "POST") == 0) {
		/* A sign-in from another site's page would sign the browser
		 * into an account of the attacker's choosing. */
		if (!sl_mod_form_origin_ok(c, method))
			return sl_console_signin_page(
			    c, 403, NULL, "the request's Origin is not this server", 0);
		if (!is_form(c))
			return sl_console_signin_page(
			    c, 415, NULL,
			    "the form must be application/x-www-form-urlencoded", 0);
		return sl_mod_signin_form(srv, c, con_cls);
	}
	sl_session *s = sl_mod_session_of(srv, c);
	if (!s) {
		/* One answer for every path, known or not: nothing about the
		 * console's routes, nothing of any report. */
		if (is_get(method))
			return sl_console_signin_page(
			    c,
			    strcmp(url, ROOT) == 0 || strcmp(url, ROOT "/") == 0 ? 200
										 : 401,
			    NULL, NULL, 0);
		return message_page(c, 401, NULL, "Sign in first",
				    "your session has ended, or you have not signed in",
				    0);
	}
	return gate(srv, c, url, method, con_cls, s);
}
