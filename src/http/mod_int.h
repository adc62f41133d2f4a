/*
 * mod_int.h — what mod.c (sessions, sign-in, the gate in front of
 * /api/v1/mod/ and its route table), review.c (the review API: its JSON
 * handlers and the actions under them) and console.c (the server-rendered
 * console at /mod, which calls the same actions) share.
 *
 * The review actions are split in two layers so that the JSON API and the
 * console's forms do the same thing and write the same audit entries: each
 * front end decodes its own body (JSON, or an HTML form) and answers in its
 * own way (JSON, or a page), and in between calls one sl_review_* action,
 * which checks what is left, writes the audit entry and only then acts.
 */
#ifndef SIGHTLINE_MOD_INT_H
#define SIGHTLINE_MOD_INT_H

#include "http/http_int.h"
#include "sightline/session.h"

#define MOD_PARAMS_MAX 4

/* One routed request, valid for the handler's call. */
typedef struct mod_ctx {
	sl_server *srv;
	struct MHD_Connection *conn;
	sl_session *session; /* the signed-in moderator; valid for the call */
	const char *method;
	const char *params[MOD_PARAMS_MAX]; /* the "{x}" segments, in order */
	size_t n_params;
	const char *body; /* POST, PUT, PATCH: the whole body; else NULL */
	size_t len;
	const void *action; /* the route's action (mod_route.action) */
} mod_ctx;

typedef enum MHD_Result (*mod_handler)(mod_ctx *ctx);

/* A row of a route table: method ("GET" also serves HEAD), pattern ("{x}"
 * is one path segment, handed to the handler in params), the least role
 * (an admin may do what a moderator may), the handler, and what else the
 * handler is told (console.c's form actions; NULL elsewhere). */
typedef struct mod_route {
	const char *method;
	const char *pattern;
	sl_role role;
	mod_handler handler;
	const void *action;
} mod_route;

/* ---- mod.c, for console.c ---- */

#define SL_MOD_COOKIE "sl_session"
/* The Set-Cookie value that ends the session cookie. */
#define SL_MOD_COOKIE_CLEAR                                                              \
	SL_MOD_COOKIE "=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict"

/* The session of the request's cookie, as a reference the caller
 * releases; NULL without one. */
sl_session *sl_mod_session_of(sl_server *srv, struct MHD_Connection *c);

/* The JSON API's Origin rule: no Origin, or one naming this server's Host. */
bool sl_mod_origin_ok(struct MHD_Connection *c);

/* The rule for the console's pages and forms: the JSON API's, except that
 * "Origin: null" passes when the browser says the request is same-origin
 * (Sec-Fetch-Site: same-origin) — a form on a page with Referrer-Policy:
 * no-referrer is posted with "Origin: null" — and that a Sec-Fetch-Site
 * other than same-origin (or "none", a request the user made themselves,
 * for GET and HEAD) is refused. */
bool sl_mod_form_origin_ok(struct MHD_Connection *c, const char *method);

/* The row of table (n rows) for url and method, or NULL: then allow holds
 * the methods the path has ("" when it matches no row: 404). */
const mod_route *sl_mod_route_find(const mod_route *table, size_t n, const char *url,
				   const char *method, char *allow, size_t allow_size);

/* Runs route's handler for url, a request of session s without a body. */
enum MHD_Result sl_mod_dispatch(sl_server *srv, struct MHD_Connection *c,
				const mod_route *route, const char *method,
				const char *url, sl_session *s);

/* Reads the body of a request routed to route (at most cap bytes; 413
 * beyond), then runs its handler with ctx.body. Takes over the reference
 * s, which is released at the request's end; sets *con_cls. */
enum MHD_Result sl_mod_read_body(sl_server *srv, struct MHD_Connection *c,
				 const mod_route *route, const char *url, sl_session *s,
				 size_t cap, void **con_cls);

/* POST /mod/sign-in: a sign-in from the console's form (name, passphrase
 * as application/x-www-form-urlencoded), with the same workers, delays and
 * audit entries as the JSON one; answered with a 303 to /mod and the
 * cookie, or the sign-in page saying what went wrong
 * (sl_console_signin_page). The caller has checked the Origin. */
enum MHD_Result sl_mod_signin_form(sl_server *srv, struct MHD_Connection *c,
				   void **con_cls);

/* Signs s out: logs sign_out and ends the session (its key is wiped when
 * the last reference goes; the caller still releases its own). */
void sl_mod_sign_out(sl_server *srv, sl_session *s);

/* console.c: the sign-in page with status, name kept in its field (may be
 * NULL), error shown above the form (may be NULL) and Retry-After when
 * retry_after is not 0. */
enum MHD_Result sl_console_signin_page(struct MHD_Connection *c, unsigned status,
				       const char *name, const char *error,
				       unsigned retry_after);

/* ---- review.c: the JSON handlers (docs/API.md, "Review API") ---- */

/* Each answers the request itself and writes its action to the audit log
 * first. */
enum MHD_Result sl_review_queue(mod_ctx *ctx);	      /* GET queue */
enum MHD_Result sl_review_get(mod_ctx *ctx);	      /* GET reports/{id} */
enum MHD_Result sl_review_edit(mod_ctx *ctx);	      /* PATCH reports/{id} */
enum MHD_Result sl_review_photo(mod_ctx *ctx);	      /* GET .../photos/{n} */
enum MHD_Result sl_review_claim(mod_ctx *ctx);	      /* POST .../claim */
enum MHD_Result sl_review_release(mod_ctx *ctx);      /* POST .../release */
enum MHD_Result sl_review_grade(mod_ctx *ctx);	      /* POST .../grade */
enum MHD_Result sl_review_verify(mod_ctx *ctx);	      /* POST .../verify */
enum MHD_Result sl_review_reject(mod_ctx *ctx);	      /* POST .../reject */
enum MHD_Result sl_review_note(mod_ctx *ctx);	      /* POST .../notes */
enum MHD_Result sl_review_attach(mod_ctx *ctx);	      /* POST .../attach */
enum MHD_Result sl_review_detach(mod_ctx *ctx);	      /* POST .../detach */
enum MHD_Result sl_review_event_create(mod_ctx *ctx); /* POST events */
enum MHD_Result sl_review_events(mod_ctx *ctx);	      /* GET events */
enum MHD_Result sl_review_event(mod_ctx *ctx);	      /* GET events/{id} */
enum MHD_Result sl_review_event_merge(mod_ctx *ctx);  /* POST events/{id}/merge */
enum MHD_Result sl_review_event_split(mod_ctx *ctx);  /* POST events/{id}/split */
enum MHD_Result sl_review_audit(mod_ctx *ctx);	      /* GET admin/audit */

/* ---- tracks.c: tracks and the summary (reads only) ---- */

enum MHD_Result sl_tracks_summary(mod_ctx *ctx); /* GET summary */
enum MHD_Result sl_tracks_list(mod_ctx *ctx);	 /* GET tracks */
enum MHD_Result sl_tracks_get(mod_ctx *ctx);	 /* GET tracks/{id} */

/* ---- review.c: what both front ends call ---- */

#define SL_REVIEW_LIST_DEFAULT 100 /* ?limit= when absent */
#define SL_REVIEW_NOTE_MAX 2000	   /* bytes of a note */
#define SL_REVIEW_REASON_MAX 500   /* bytes of a rejection's reason */
#define SL_REVIEW_EVENT_REPORTS_MAX 500
#define SL_REVIEW_PHOTO_PATH "/api/v1/mod/reports/%" PRId64 "/photos/%zu"

/* Why an action below was refused: the HTTP status the JSON API answers
 * (404, 409, 422, 503), in words (detail) or, for 422, field by field
 * (why), and for 503 when to try again. */
typedef struct review_fail {
	unsigned status;
	char detail[200];
	sl_problems why;
	unsigned retry_after;
} review_fail;

/* Answers f as a problem document (the JSON API's refusal). */
enum MHD_Result sl_review_refuse(mod_ctx *ctx, const review_fail *f);

/* A positive decimal id of at most 18 digits; false otherwise (the path
 * names nothing, which is 404). */
bool sl_review_parse_id(const char *s, int64_t *out);

/* ?limit=N of the request: SL_REVIEW_LIST_DEFAULT (or max, when smaller)
 * when absent, at most max. False for anything but a positive whole
 * number. */
bool sl_review_parse_limit(struct MHD_Connection *c, size_t max, size_t *out);

/* The events a request's query asks for: ?bbox=min_lon,min_lat,max_lon,
 * max_lat, ?from, ?to (RFC 3339), ?category, ?min_reports, ?origin=engine|
 * moderator, ?limit (1..SL_EVENTS_MAX), ?before (a page's "next"). One
 * reason per bad parameter in why, naming it. */
void sl_review_event_filter(struct MHD_Connection *c, sl_event_filter *out,
			    sl_problems *why);

/* Moderator names by id, read from the store once, when first needed;
 * removed moderators keep their names. Zero it to start; free with
 * sl_review_names_free. */
typedef struct review_names {
	sl_moderator *list;
	size_t n;
	bool loaded;
} review_names;

/* The name of moderator id ("(unknown)" when there is none), valid until
 * nm is freed. */
const char *sl_review_name_of(sl_server *srv, review_names *nm, int64_t id);
void sl_review_names_free(review_names *nm);

/* Checks the n bytes at s for a text field called field (a reason, a
 * note): UTF-8 text, not blank, at most max bytes. Adds a reason to why
 * and returns false otherwise. */
bool sl_review_check_text(const char *s, size_t n, const char *field, size_t max,
			  sl_problems *why);

/* Checks a grade: reliability 'A'..'F' (0: given, but not one letter) and
 * credibility 1..6, each when given (has_*), "is required" when not. Adds a
 * reason to why per part that is wrong; true when neither is. */
bool sl_review_check_grade(bool has_reliability, char reliability, bool has_credibility,
			   long long credibility, sl_problems *why);

/* Whether report id exists: false (f says 404, or 503) otherwise. Every
 * action below expects its report to have been looked up this way first,
 * so that an unknown one is 404 before anything is logged. */
bool sl_review_report_exists(mod_ctx *ctx, int64_t id, review_fail *f);

/* The actions. Each logs itself to the audit log (actor: the session's
 * moderator, subject report:ID) before it acts, and does nothing when the
 * log cannot take the entry (503). SL_OK when done; otherwise f says why
 * and nothing changed. */

/* Opens photo n (1, 2 ...) of report id with the session's key, writing
 * action ("view_photo", "photo_approve") to the audit log first; *plain
 * (len bytes, the cleaned JPEG) is the caller's to wipe and free with
 * sl_seal_plain_free. */
sl_err sl_review_open_photo(mod_ctx *ctx, int64_t id, int64_t n, const char *action,
			    uint8_t **plain, size_t *len, review_fail *f);

/* Claims report id for the session's moderator until *until (OUT);
 * 409 when another moderator's claim is live. */
sl_err sl_review_claim_report(mod_ctx *ctx, int64_t id, int64_t *until, review_fail *f);
/* Drops the session's moderator's claim; 409 for another's live claim. */
sl_err sl_review_release_report(mod_ctx *ctx, int64_t id, review_fail *f);
/* Grades report id (checked by sl_review_check_grade first). */
sl_err sl_review_grade_report(mod_ctx *ctx, int64_t id, char reliability, int credibility,
			      review_fail *f);
/* Verifies (reason NULL) or rejects (reason checked by
 * sl_review_check_text) report id. */
sl_err sl_review_decide_report(mod_ctx *ctx, int64_t id, sl_report_status status,
			       const char *reason, review_fail *f);
/* Seals the len bytes of text (checked) as a note on report id and wipes
 * text; *at (may be NULL) gets the note's time. */
sl_err sl_review_note_report(mod_ctx *ctx, int64_t id, char *text, size_t len,
			     int64_t *at /* OUT */, review_fail *f);
/* Attaches report id to event_id, or detaches it; 404 for no such event. */
sl_err sl_review_attach_report(mod_ctx *ctx, int64_t id, int64_t event_id, bool detach,
			       review_fail *f);
/* Stores ev (report_ids and n_reports set, category optional: without one
 * it takes its first report's), made by the session's moderator now;
 * sets ev->id. 404 naming a report that does not exist. */
sl_err sl_review_create_event(mod_ctx *ctx, sl_event *ev, review_fail *f);

/* A follow-up or a note, opened. */
typedef struct review_text {
	int64_t at;
	const char *author; /* a note's moderator; NULL for a follow-up */
	const char *text;   /* len bytes, NUL-terminated */
	size_t len;
} review_text;

/* One report opened for the session's moderator: everything in the arena
 * given to sl_review_open_report, which wipes it when freed. */
typedef struct review_view {
	sl_report report; /* text and contact opened when the key opens them */
	sl_review review;
	const char *claimed_by; /* the moderator of a live claim, or NULL */
	int64_t *events;	/* ids of its events, ascending */
	size_t n_events;
	review_text *followups, *notes;
	size_t n_followups, n_notes;
	size_t *photos; /* the numbers (from 1) of the photos sealed to you */
	size_t n_photos;
	size_t opened;	    /* sealed items opened */
	size_t not_for_you; /* sealed items this moderator cannot open */
} review_view;

/* Opens report id with the session's key into *out (in a, whose cap must
 * hold a report with its photos: sl_review_arena_cap) and logs a "view"
 * ({"sealed_opened":N}) before returning: what the log cannot show is not
 * opened (503). 404 for no such report. */
sl_err sl_review_open_report(mod_ctx *ctx, int64_t id, sl_arena *a,
			     review_view *out /* OUT */, review_fail *f);

/* The arena cap sl_review_open_report needs. */
size_t sl_review_arena_cap(const sl_server *srv);

/* The newest limit entries of the audit log, oldest first, copied into a
 * (*out, *n). Reading the log is not itself logged. */
sl_err sl_review_audit_tail(mod_ctx *ctx, size_t limit, sl_arena *a,
			    sl_audit_entry **out /* OUT */, size_t *n /* OUT */,
			    review_fail *f);

/* Appends action by the session's moderator on subject, with detail (a
 * JSON object, taken; may be NULL), to the audit log; logs a failure to
 * stderr. The one way every handler here writes the log. */
sl_err sl_review_log(mod_ctx *ctx, const char *action, const char *subject,
		     json_t *detail);

/* The request's body as a JSON object in *doc (caller decrefs; an empty
 * body is {}); false when the request was answered (415, 400, 422). */
bool sl_review_body_object(mod_ctx *ctx, json_t **doc, enum MHD_Result *ret);

/* ---- publish_admin.c: admins set the publication policy, webhooks and
 * excerpts (docs/API.md "Publication, for admins") ---- */

enum MHD_Result sl_admin_policy_get(mod_ctx *ctx);     /* GET admin/publish/policy */
enum MHD_Result sl_admin_policy_put(mod_ctx *ctx);     /* PUT admin/publish/policy */
enum MHD_Result sl_admin_webhooks(mod_ctx *ctx);       /* GET admin/webhooks */
enum MHD_Result sl_admin_webhook_add(mod_ctx *ctx);    /* POST admin/webhooks */
enum MHD_Result sl_admin_webhook_remove(mod_ctx *ctx); /* DELETE admin/webhooks/{id} */
enum MHD_Result sl_admin_excerpt_put(mod_ctx *ctx);    /* PUT admin/events/{id}/excerpt */
enum MHD_Result sl_admin_excerpt_delete(mod_ctx *ctx); /* DELETE .../excerpt */
enum MHD_Result sl_admin_photo_put(mod_ctx *ctx);      /* PUT admin/events/{id}/photo */
enum MHD_Result sl_admin_photo_delete(mod_ctx *ctx);   /* DELETE .../photo */

/* The actions under them, which the console's forms call too. Each logs
 * itself to the audit log (actor: the session's admin) before it acts and
 * does nothing when the log cannot take the entry (503). SL_OK when done;
 * otherwise f says why (404, 422 field by field, 503) and nothing
 * changed. */

/* Makes policy the one in force (checked by sl_publish_policy_apply). */
sl_err sl_admin_set_policy(mod_ctx *ctx, const sl_publish_policy *policy, review_fail *f);
/* Registers the len bytes of url (http:// or https://) with a new secret,
 * into *w (the caller wipes it). */
sl_err sl_admin_add_webhook(mod_ctx *ctx, const char *url, size_t len, sl_webhook *w,
			    review_fail *f);
/* Removes active webhook id; 404 for none. */
sl_err sl_admin_remove_webhook(mod_ctx *ctx, int64_t id, review_fail *f);
/* Approves the len bytes of text (checked: UTF-8 text, at most
 * SL_PUB_EXCERPT_MAX bytes) as event id's public excerpt, or withdraws it
 * (text NULL); 404 for no such event. The audit entry has the text's
 * length and hash, not its words. */
sl_err sl_admin_set_excerpt(mod_ctx *ctx, int64_t id, const char *text, size_t len,
			    review_fail *f);
/* Approves photo n of report report_id (one of event id's reports, 422
 * otherwise; opened with the session's key, which logs it as
 * "photo_approve") as event id's public photo, or withdraws it
 * (report_id 0, "photo_withdraw"). */
sl_err sl_admin_set_photo(mod_ctx *ctx, int64_t id, int64_t report_id, int64_t n,
			  review_fail *f);

#endif
