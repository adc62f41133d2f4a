/*
 * review.c — the moderators' review API under /api/v1/mod/ (docs/API.md,
 * "Review API"): the queue, one report opened with the session's key, its
 * photos, claims, edits, grades, verify/reject, notes, events, and the
 * admin's view of the audit log; and, under those handlers, the actions
 * the console's forms (console.c) call too.
 *
 * mod.c's gate has already checked the session, the Origin, the CSRF token
 * of a state-changing request and the role before a handler here runs;
 * each handler checks its input (404 for an unknown report or event, 415
 * for a body that is not JSON, 400 for malformed JSON, 422 naming the
 * field), then calls an action (sl_review_*_report, mod_int.h), which
 * writes the audit log and only then acts: a change or an opening of
 * sealed content the log cannot show does not happen (503). The one order
 * that differs is an edit's answer, which opens the report again and logs
 * that as a "view" of its own. The actions know nothing of JSON: the
 * console decodes its forms, calls the same ones and so writes the same
 * entries.
 *
 * Opening sealed items needs the moderator's unlocked key, which lives in
 * the session (session.h) for the length of the request. What is opened
 * lands in the request's arena, which is wiped when freed (arena.c);
 * jansson's and MHD's copies of the answer are not, which is the price of
 * answering at all.
 */
#include "http/mod_int.h"

#include "sightline/event_json.h"
#include "sightline/geo.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sightline/report_json.h"
#include "sightline/seal.h"
#include "sightline/timefmt.h"

/* ---- refusals ---- */

/* Fills f (status, detail printf-style, retry_after) and returns e, which
 * must not be SL_OK. */
static sl_err fail(review_fail *f, sl_err e, unsigned status, unsigned retry,
		   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static sl_err fail(review_fail *f, sl_err e, unsigned status, unsigned retry,
		   const char *fmt, ...)
{
	f->status = status;
	f->retry_after = retry;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(f->detail, sizeof(f->detail), fmt, ap);
	va_end(ap);
	return e == SL_OK ? SL_EINVAL : e;
}

static sl_err out_of_memory_fail(review_fail *f)
{
	return fail(f, SL_ENOMEM, 503, 5, "out of memory; try again");
}

/* A store error: what is missing (missing: "no such report", "no such
 * event") for SL_ENOTFOUND, else 503. */
static sl_err store_fail(review_fail *f, sl_err e, const char *missing)
{
	if (e == SL_ENOTFOUND)
		return fail(f, e, 404, 0, "%s", missing);
	if (e == SL_ENOMEM)
		return out_of_memory_fail(f);
	return fail(f, e, 503, 5, "the store failed; try again");
}

static sl_err audit_fail(review_fail *f)
{
	return fail(f, SL_EIO, 503, 5,
		    "the audit log cannot record this; nothing was done");
}

enum MHD_Result sl_review_refuse(mod_ctx *ctx, const review_fail *f)
{
	if (f->why.n)
		return sl_http_problem(ctx->conn, f->status ? f->status : 422, NULL,
				       &f->why, NULL, 0);
	return sl_http_problem(ctx->conn, f->status ? f->status : 500, f->detail, NULL,
			       NULL, f->retry_after);
}

/* ---- answers ---- */

static enum MHD_Result no_report(mod_ctx *ctx)
{
	return sl_http_problem(ctx->conn, 404, "no such report", NULL, NULL, 0);
}

static enum MHD_Result no_event(mod_ctx *ctx)
{
	return sl_http_problem(ctx->conn, 404, "no such event", NULL, NULL, 0);
}

static enum MHD_Result store_failed(mod_ctx *ctx)
{
	return sl_http_problem(ctx->conn, 503, "the store failed; try again", NULL, NULL,
			       5);
}

static enum MHD_Result audit_failed(mod_ctx *ctx)
{
	review_fail f = {0};
	audit_fail(&f);
	return sl_review_refuse(ctx, &f);
}

static enum MHD_Result invalid(mod_ctx *ctx, const sl_problems *why)
{
	return sl_http_problem(ctx->conn, 422, NULL, why, NULL, 0);
}

static enum MHD_Result invalid1(mod_ctx *ctx, const char *field, const char *msg)
{
	sl_problems why = {0};
	sl_problems_add(&why, field, "%s", msg);
	return invalid(ctx, &why);
}

static enum MHD_Result out_of_memory(mod_ctx *ctx)
{
	return sl_http_problem(ctx->conn, 503, "out of memory; try again", NULL, NULL, 5);
}

/* An answer built from doc (taken); 503 when doc is NULL (out of memory). */
static enum MHD_Result answer(mod_ctx *ctx, unsigned status, json_t *doc)
{
	if (!doc)
		return out_of_memory(ctx);
	return sl_http_json(ctx->conn, status, doc);
}

static json_t *time_json(int64_t t)
{
	char buf[SL_TIME_TEXT_MAX];
	sl_time_format(t, buf);
	return json_string(buf);
}

/* ---- input ---- */

bool sl_review_parse_id(const char *s, int64_t *out)
{
	size_t n = strspn(s, "0123456789");
	if (n == 0 || n > 18 || s[n] != '\0' || s[0] == '0')
		return false;
	*out = (int64_t)strtoll(s, NULL, 10);
	return true;
}

bool sl_review_parse_limit(struct MHD_Connection *c, size_t max, size_t *out)
{
	const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit");
	*out = SL_REVIEW_LIST_DEFAULT < max ? SL_REVIEW_LIST_DEFAULT : max;
	if (!v)
		return true;
	size_t n = strspn(v, "0123456789");
	if (n == 0 || n > 9 || v[n] != '\0')
		return false;
	unsigned long l = strtoul(v, NULL, 10);
	if (l == 0)
		return false;
	*out = l > max ? max : (size_t)l;
	return true;
}

bool sl_review_check_text(const char *s, size_t n, const char *field, size_t max,
			  sl_problems *why)
{
	if (n > max) {
		sl_problems_add(why, field, "%zu bytes is longer than the limit of %zu",
				n, max);
		return false;
	}
	if (!sl_utf8_text_ok(s, n) || strspn(s, " \t\r\n") == n) {
		sl_problems_add(why, field, "is empty or has control characters");
		return false;
	}
	return true;
}

bool sl_review_check_grade(bool has_reliability, char reliability, bool has_credibility,
			   long long credibility, sl_problems *why)
{
	size_t before = why->n + why->dropped;
	if (!has_reliability)
		sl_problems_add(why, "reliability", "is required");
	else if (reliability < 'A' || reliability > 'F')
		sl_problems_add(why, "reliability", "is not one of A, B, C, D, E, F");
	if (!has_credibility)
		sl_problems_add(why, "credibility", "is required");
	else if (credibility < 1 || credibility > 6)
		sl_problems_add(why, "credibility", "is not a whole number from 1 to 6");
	return why->n + why->dropped == before;
}

static bool body_is_json(mod_ctx *ctx)
{
	const char *ct = MHD_lookup_connection_value(ctx->conn, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_TYPE);
	static const char want[] = "application/json";
	if (!ct || strncasecmp(ct, want, sizeof(want) - 1) != 0)
		return false;
	char next = ct[sizeof(want) - 1];
	return next == '\0' || next == ';' || next == ' ';
}

/* The request's body as a JSON object in *doc (caller decrefs). An empty
 * body is {} whatever its type, so that a bare POST .../claim works. False
 * when the request was answered (415, 400, 422) instead. */
static bool body_object(mod_ctx *ctx, json_t **doc, enum MHD_Result *ret)
{
	*doc = NULL;
	if (ctx->len == 0) {
		*doc = json_object();
		if (!*doc) {
			*ret = out_of_memory(ctx);
			return false;
		}
		return true;
	}
	if (!body_is_json(ctx)) {
		*ret = sl_http_problem(ctx->conn, 415,
				       "Content-Type must be application/json", NULL,
				       NULL, 0);
		return false;
	}
	json_error_t jerr;
	json_t *d = json_loadb(ctx->body, ctx->len, JSON_REJECT_DUPLICATES, &jerr);
	if (!d) {
		sl_problems why = {0};
		sl_problems_add(&why, "", "malformed JSON at line %d, column %d: %s",
				jerr.line, jerr.column, jerr.text);
		*ret = sl_http_problem(ctx->conn, 400, NULL, &why, NULL, 0);
		return false;
	}
	if (!json_is_object(d)) {
		json_decref(d);
		*ret = invalid1(ctx, "", "expected a JSON object");
		return false;
	}
	*doc = d;
	return true;
}

/* Adds a reason for every member of doc not named in known (NULL-ended). */
static void only_fields(json_t *doc, const char *const *known, sl_problems *why)
{
	const char *key;
	json_t *v;
	json_object_foreach(doc, key, v)
	{
		bool ok = false;
		for (size_t i = 0; known[i] && !ok; i++)
			ok = strcmp(key, known[i]) == 0;
		if (!ok) {
			char f[64];
			snprintf(f, sizeof(f), "%.60s", key);
			sl_problems_add(why, f, "is not a known field");
		}
	}
}

/* A required text member of doc, checked by sl_review_check_text; NULL
 * (with a reason) otherwise. */
static const char *text_field(json_t *doc, const char *name, size_t max, sl_problems *why)
{
	json_t *v = json_object_get(doc, name);
	if (!v) {
		sl_problems_add(why, name, "is required");
		return NULL;
	}
	if (!json_is_string(v)) {
		sl_problems_add(why, name, "expected a string");
		return NULL;
	}
	const char *s = json_string_value(v);
	return sl_review_check_text(s, json_string_length(v), name, max, why) ? s : NULL;
}

/* ---- who ---- */

const char *sl_review_name_of(sl_server *srv, review_names *nm, int64_t id)
{
	if (!nm->loaded) {
		nm->loaded = true;
		if (sl_store_list_moderators(srv->store, true, &nm->list, &nm->n) !=
		    SL_OK) {
			nm->list = NULL;
			nm->n = 0;
		}
	}
	for (size_t i = 0; i < nm->n; i++)
		if (nm->list[i].id == id)
			return nm->list[i].name;
	return "(unknown)";
}

void sl_review_names_free(review_names *nm)
{
	free(nm->list);
	memset(nm, 0, sizeof(*nm));
}

/* ---- the audit log ---- */

/* Appends action by the session's moderator on subject, with detail (a
 * JSON object, taken; may be NULL). Logs a failure to stderr. */
static sl_err audit(mod_ctx *ctx, const char *action, const char *subject, json_t *detail)
{
	char *text = NULL;
	if (detail) {
		text = json_dumps(detail, JSON_COMPACT);
		json_decref(detail);
		if (!text)
			return SL_ENOMEM;
	}
	sl_err e = sl_audit_append(ctx->srv->audit, sl_session_name(ctx->session), action,
				   subject, text);
	free(text);
	if (e != SL_OK)
		fprintf(stderr, "sightline: cannot append %s to the audit log: %s\n",
			action, sl_strerror(e));
	return e;
}

static sl_err audit_report(mod_ctx *ctx, const char *action, int64_t id, json_t *detail)
{
	char subject[48];
	snprintf(subject, sizeof(subject), "report:%" PRId64, id);
	return audit(ctx, action, subject, detail);
}

/* ---- the actions (mod_int.h) ---- */

/* Room for a report with every photo at its cap and a few hundred
 * follow-ups; the arena grows only as far as it is used. */
size_t sl_review_arena_cap(const sl_server *srv)
{
	return 2 * (size_t)MAX_PHOTOS * srv->cfg.photo_cap + ((size_t)64 << 20);
}

bool sl_review_report_exists(mod_ctx *ctx, int64_t id, review_fail *f)
{
	sl_arena *a = sl_arena_new(4096);
	if (!a) {
		out_of_memory_fail(f);
		return false;
	}
	sl_review rv;
	sl_err e = sl_store_get_review(ctx->srv->store, id, a, &rv);
	sl_arena_free(a);
	if (e != SL_OK) {
		store_fail(f, e, "no such report");
		return false;
	}
	return true;
}

sl_err sl_review_open_report(mod_ctx *ctx, int64_t id, sl_arena *a, review_view *out,
			     review_fail *f)
{
	sl_server *srv = ctx->srv;
	int64_t me = sl_session_moderator_id(ctx->session);
	const sl_secret_key *sk = sl_session_key(ctx->session);
	memset(out, 0, sizeof(*out));
	sl_report *r = &out->report;
	sl_err e = sl_store_get_report(srv->store, id, me, a, r);
	if (e == SL_OK)
		e = sl_store_get_review(srv->store, id, a, &out->review);
	if (e == SL_OK)
		e = sl_store_report_events(srv->store, id, a, &out->events,
					   &out->n_events);
	if (e != SL_OK)
		return store_fail(f, e, "no such report");
	size_t n = r->n_sealed ? r->n_sealed : 1;
	out->followups = sl_arena_alloc(a, n * sizeof(review_text));
	out->notes = sl_arena_alloc(a, n * sizeof(review_text));
	out->photos = sl_arena_alloc(a, n * sizeof(size_t));
	if (!out->followups || !out->notes || !out->photos)
		return out_of_memory_fail(f);

	if (sl_report_unseal_content(r, sk, a) == SL_OK)
		out->opened++;
	review_names nm = {0};
	size_t n_photo = 0;
	e = SL_OK;
	for (size_t i = 0; i < r->n_sealed && e == SL_OK; i++) {
		const sl_sealed *it = &r->sealed[i];
		if (it->kind == SL_SEALED_PHOTO)
			n_photo++;
		if (it->n_keys == 0) {
			out->not_for_you++;
			continue;
		}
		if (it->kind == SL_SEALED_PHOTO) {
			out->photos[out->n_photos++] = n_photo;
			continue;
		}
		if (it->kind != SL_SEALED_FOLLOWUP && it->kind != SL_SEALED_NOTE)
			continue; /* content: opened above */
		uint8_t *plain;
		size_t len;
		if (sl_sealed_open(it, sk, &plain, &len) != SL_OK) {
			out->not_for_you++;
			continue;
		}
		out->opened++;
		review_text t = {.at = it->created_at, .len = len};
		t.text = sl_arena_strndup(a, (const char *)plain, len);
		sl_seal_plain_free(plain, len);
		bool note = it->kind == SL_SEALED_NOTE;
		if (note)
			t.author = sl_arena_strdup(
			    a, sl_review_name_of(srv, &nm, it->author_id));
		if (!t.text || (note && !t.author))
			e = SL_ENOMEM;
		else if (note)
			out->notes[out->n_notes++] = t;
		else
			out->followups[out->n_followups++] = t;
	}
	const sl_review *rv = &out->review;
	if (e == SL_OK && rv->claimed_by && rv->claimed_until > sl_time_now()) {
		out->claimed_by =
		    sl_arena_strdup(a, sl_review_name_of(srv, &nm, rv->claimed_by));
		if (!out->claimed_by)
			e = SL_ENOMEM;
	}
	sl_review_names_free(&nm);
	if (e != SL_OK)
		return out_of_memory_fail(f);
	/* The log before the answer: an opening it cannot show does not
	 * happen. */
	if (audit_report(ctx, "view", id,
			 json_pack("{s:I}", "sealed_opened", (json_int_t)out->opened)) !=
	    SL_OK)
		return audit_fail(f);
	return SL_OK;
}

/* Who else holds a live claim on report id (*holder, 0 when nobody or
 * me): SL_EBUSY then. A refused claim is not an action, so this looks
 * before anything is logged. */
static sl_err claim_holder(mod_ctx *ctx, int64_t id, int64_t me, int64_t now,
			   int64_t *holder)
{
	sl_arena *a = sl_arena_new(4096);
	sl_review rv;
	sl_err e = a ? sl_store_get_review(ctx->srv->store, id, a, &rv) : SL_ENOMEM;
	sl_arena_free(a);
	*holder = 0;
	if (e == SL_OK && rv.claimed_by && rv.claimed_by != me &&
	    rv.claimed_until > now) {
		*holder = rv.claimed_by;
		e = SL_EBUSY;
	}
	return e;
}

sl_err sl_review_claim_report(mod_ctx *ctx, int64_t id, int64_t *until, review_fail *f)
{
	int64_t me = sl_session_moderator_id(ctx->session);
	int64_t now = sl_time_now();
	int64_t holder;
	*until = now + SL_CLAIM_SECONDS;
	sl_err e = claim_holder(ctx, id, me, now, &holder);
	if (e == SL_OK && audit_report(ctx, "claim", id, NULL) != SL_OK)
		return audit_fail(f);
	if (e == SL_OK)
		e = sl_store_claim(ctx->srv->store, id, me, now, *until, &holder);
	if (e == SL_EBUSY) {
		review_names nm = {0};
		fail(f, e, 409, 0, "%s has claimed this report",
		     sl_review_name_of(ctx->srv, &nm, holder));
		sl_review_names_free(&nm);
		return e;
	}
	return e == SL_OK ? SL_OK : store_fail(f, e, "no such report");
}

sl_err sl_review_release_report(mod_ctx *ctx, int64_t id, review_fail *f)
{
	int64_t me = sl_session_moderator_id(ctx->session);
	int64_t now = sl_time_now();
	int64_t holder;
	sl_err e = claim_holder(ctx, id, me, now, &holder);
	if (e == SL_OK && audit_report(ctx, "release", id, NULL) != SL_OK)
		return audit_fail(f);
	if (e == SL_OK)
		e = sl_store_release(ctx->srv->store, id, me, now);
	if (e == SL_EBUSY)
		return fail(f, e, 409, 0,
			    "another moderator holds the claim on this report");
	return e == SL_OK ? SL_OK : store_fail(f, e, "no such report");
}

sl_err sl_review_grade_report(mod_ctx *ctx, int64_t id, char reliability, int credibility,
			      review_fail *f)
{
	char rtext[2] = {reliability, '\0'};
	if (audit_report(ctx, "grade", id,
			 json_pack("{s:s, s:i}", "reliability", rtext, "credibility",
				   credibility)) != SL_OK)
		return audit_fail(f);
	sl_err e = sl_store_set_grade(ctx->srv->store, id, reliability, credibility);
	return e == SL_OK ? SL_OK : store_fail(f, e, "no such report");
}

sl_err sl_review_decide_report(mod_ctx *ctx, int64_t id, sl_report_status status,
			       const char *reason, review_fail *f)
{
	bool reject = status == SL_STATUS_REJECTED;
	json_t *detail = reject ? json_pack("{s:s}", "reason", reason) : NULL;
	if ((reject && !detail) ||
	    audit_report(ctx, reject ? "reject" : "verify", id, detail) != SL_OK)
		return audit_fail(f);
	sl_err e =
	    sl_store_set_status(ctx->srv->store, id, status, reject ? reason : NULL,
				sl_session_moderator_id(ctx->session), sl_time_now());
	return e == SL_OK ? SL_OK : store_fail(f, e, "no such report");
}

sl_err sl_review_note_report(mod_ctx *ctx, int64_t id, char *text, size_t len,
			     int64_t *at, review_fail *f)
{
	sl_server *srv = ctx->srv;
	int64_t now = sl_time_now();
	sl_arena *a = sl_arena_new(4 * SL_REVIEW_NOTE_MAX + 16384);
	sl_sealed item;
	sl_err e = a ? SL_OK : SL_ENOMEM;
	if (e == SL_OK) {
		pthread_rwlock_rdlock(&srv->rc_lock);
		e = sl_note_seal(text, len, sl_session_moderator_id(ctx->session),
				 &srv->rc, now, a, &item);
		pthread_rwlock_unlock(&srv->rc_lock);
	}
	sodium_memzero(text, len);
	if (e == SL_OK && audit_report(ctx, "note", id, NULL) != SL_OK) {
		sl_arena_free(a);
		return audit_fail(f);
	}
	if (e == SL_OK)
		e = sl_store_put_sealed(srv->store, id, &item);
	if (e == SL_OK && at)
		*at = item.created_at;
	sl_arena_free(a);
	if (e == SL_ECLOSED)
		return fail(f, e, 503, 5,
			    "no moderator to seal the note to yet; try again");
	if (e != SL_OK)
		return fail(f, e, 503, 5, "the store failed; try again");
	return SL_OK;
}

/* Whether event id exists. */
static sl_err event_exists(mod_ctx *ctx, int64_t id)
{
	sl_arena *a = sl_arena_new(64 * 1024);
	if (!a)
		return SL_ENOMEM;
	sl_event *list;
	size_t n;
	sl_err e = sl_store_events(ctx->srv->store, id, 1, a, &list, &n);
	sl_arena_free(a);
	if (e == SL_OK && n == 0)
		e = SL_ENOTFOUND;
	return e;
}

sl_err sl_review_attach_report(mod_ctx *ctx, int64_t id, int64_t event_id, bool detach,
			       review_fail *f)
{
	sl_err e = event_exists(ctx, event_id);
	if (e != SL_OK)
		return store_fail(f, e, "no such event");
	if (audit_report(ctx, detach ? "detach" : "attach", id,
			 json_pack("{s:I}", "event_id", (json_int_t)event_id)) != SL_OK)
		return audit_fail(f);
	int64_t me = sl_session_moderator_id(ctx->session), now = sl_time_now();
	e = detach ? sl_store_event_detach(ctx->srv->store, event_id, id, me, now)
		   : sl_store_event_attach(ctx->srv->store, event_id, id, me, now);
	return e == SL_OK ? SL_OK : store_fail(f, e, "no such event");
}

sl_err sl_review_create_event(mod_ctx *ctx, sl_event *ev, review_fail *f)
{
	ev->created_at = sl_time_now();
	ev->created_by = sl_session_moderator_id(ctx->session);
	/* Every report must exist; without a category the event takes the
	 * first report's. */
	sl_arena *a = sl_arena_new(sl_review_arena_cap(ctx->srv));
	if (!a)
		return out_of_memory_fail(f);
	for (size_t i = 0; i < ev->n_reports; i++) {
		sl_review rv;
		sl_report r;
		int64_t rid = ev->report_ids[i];
		sl_err e = i == 0 && !ev->has_category
			       ? sl_store_get_report(ctx->srv->store, rid, 0, a, &r)
			       : sl_store_get_review(ctx->srv->store, rid, a, &rv);
		if (e == SL_OK && i == 0 && !ev->has_category) {
			ev->category = r.category;
			ev->has_category = true;
		}
		sl_arena_reset(a);
		if (e != SL_OK) {
			sl_arena_free(a);
			if (e != SL_ENOTFOUND)
				return store_fail(f, e, "");
			return fail(f, e, 404, 0, "no report %" PRId64, rid);
		}
	}
	sl_arena_free(a);
	json_t *ids = json_array();
	for (size_t i = 0; ids && i < ev->n_reports; i++)
		json_array_append_new(ids, json_integer(ev->report_ids[i]));
	/* The event has no id until stored, and nothing is stored unlogged:
	 * the entry names the reports, which find the event. */
	if (audit(ctx, "event_create", "event:new",
		  json_pack("{s:o, s:o}", "report_ids", ids, "category",
			    ev->has_category ? json_string(sl_category_name(ev->category))
					     : json_null())) != SL_OK)
		return audit_fail(f);
	sl_err e = sl_store_event_create(ctx->srv->store, ev);
	return e == SL_OK ? SL_OK : store_fail(f, e, "no such report");
}

/* The ring sl_review_audit_tail keeps the newest entries in. */
typedef struct audit_ring {
	sl_arena *a;
	sl_audit_entry *slots;
	size_t limit, seen;
} audit_ring;

static sl_err keep_entry(void *ud, const sl_audit_entry *e)
{
	audit_ring *ring = ud;
	sl_audit_entry *slot = &ring->slots[ring->seen % ring->limit];
	*slot = *e;
	slot->actor = sl_arena_strdup(ring->a, e->actor);
	slot->action = sl_arena_strdup(ring->a, e->action);
	slot->subject = sl_arena_strdup(ring->a, e->subject);
	slot->detail = e->detail ? sl_arena_strdup(ring->a, e->detail) : NULL;
	if (!slot->actor || !slot->action || !slot->subject ||
	    (e->detail && !slot->detail))
		return SL_ENOMEM;
	ring->seen++;
	return SL_OK;
}

sl_err sl_review_audit_tail(mod_ctx *ctx, size_t limit, sl_arena *a, sl_audit_entry **out,
			    size_t *n, review_fail *f)
{
	*out = NULL;
	*n = 0;
	sl_arena *tmp = sl_arena_new(64 * 1024);
	if (!tmp)
		return out_of_memory_fail(f);
	sl_audit_entry last;
	sl_err e = sl_store_audit_last(ctx->srv->store, &last, tmp);
	int64_t last_seq = e == SL_OK ? last.seq : 0;
	sl_arena_free(tmp);
	if (e != SL_OK && e != SL_ENOTFOUND)
		return store_fail(f, e, "");
	if (last_seq == 0 || limit == 0)
		return SL_OK;
	audit_ring ring = {.a = a, .limit = limit};
	ring.slots = sl_arena_alloc(a, limit * sizeof(*ring.slots));
	if (!ring.slots)
		return out_of_memory_fail(f);
	/* Entries appended during the walk come last; the ring keeps the
	 * newest limit of them. */
	int64_t after = last_seq > (int64_t)limit ? last_seq - (int64_t)limit : 0;
	e = sl_store_each_audit(ctx->srv->store, after, keep_entry, &ring);
	if (e != SL_OK)
		return store_fail(f, e, "");
	size_t k = ring.seen < limit ? ring.seen : limit;
	sl_audit_entry *list = sl_arena_alloc(a, (k ? k : 1) * sizeof(*list));
	if (!list)
		return out_of_memory_fail(f);
	size_t first = ring.seen < limit ? 0 : ring.seen % limit;
	for (size_t i = 0; i < k; i++)
		list[i] = ring.slots[(first + i) % limit];
	*out = list;
	*n = k;
	return SL_OK;
}

/* ---- the JSON handlers: one report ---- */

/* Adds key: value (taken) to doc; *ok false when it could not. */
static void put(json_t *doc, const char *key, json_t *value, bool *ok)
{
	if (*ok && (!value || json_object_set_new(doc, key, value) != 0))
		*ok = false;
	else if (!*ok)
		json_decref(value);
}

/* Appends o (taken) to arr; *ok false when it could not. */
static void push(json_t *arr, json_t *o, bool *ok)
{
	if (*ok && (!o || json_array_append_new(arr, o) != 0))
		*ok = false;
	else if (!*ok)
		json_decref(o);
}

/* The JSON form of an opened follow-up or note. */
static json_t *text_json(const review_text *t)
{
	if (t->author)
		return json_pack("{s:s, s:o, s:s#}", "author", t->author, "at",
				 time_json(t->at), "text", t->text, t->len);
	return json_pack("{s:o, s:s#}", "received_at", time_json(t->at), "text", t->text,
			 t->len);
}

/* Opens report id (logging the "view") and answers status with it as
 * docs/API.md shows it. */
static enum MHD_Result answer_report(mod_ctx *ctx, int64_t id, unsigned status)
{
	sl_arena *a = sl_arena_new(sl_review_arena_cap(ctx->srv));
	if (!a)
		return out_of_memory(ctx);
	review_view v;
	review_fail f = {0};
	if (sl_review_open_report(ctx, id, a, &v, &f) != SL_OK) {
		sl_arena_free(a);
		return sl_review_refuse(ctx, &f);
	}
	json_t *doc = sl_report_to_json(&v.report, SL_JSON_SERVER_FIELDS);
	json_t *followups = json_array(), *photos = json_array(), *notes = json_array();
	json_t *events = json_array();
	bool ok = doc && followups && photos && notes && events;
	for (size_t i = 0; i < v.n_followups; i++)
		push(followups, text_json(&v.followups[i]), &ok);
	for (size_t i = 0; i < v.n_notes; i++)
		push(notes, text_json(&v.notes[i]), &ok);
	for (size_t i = 0; i < v.n_photos; i++) {
		char url[96];
		snprintf(url, sizeof(url), SL_REVIEW_PHOTO_PATH, id, v.photos[i]);
		push(photos,
		     json_pack("{s:I, s:s}", "n", (json_int_t)v.photos[i], "url", url),
		     &ok);
	}
	for (size_t i = 0; i < v.n_events; i++)
		push(events, json_integer(v.events[i]), &ok);
	if (!doc)
		ok = false;
	else {
		/* put takes each value, failing or not. */
		put(doc, "followups", followups, &ok);
		put(doc, "photos", photos, &ok);
		put(doc, "notes", notes, &ok);
		put(doc, "events", events, &ok);
		followups = photos = notes = events = NULL;
		put(doc, "sealed_items_not_for_you",
		    json_integer((json_int_t)v.not_for_you), &ok);
	}
	json_decref(followups);
	json_decref(photos);
	json_decref(notes);
	json_decref(events);
	const sl_review *rv = &v.review;
	if (ok && rv->reliability)
		put(doc, "grade",
		    json_pack("{s:s#, s:i}", "reliability", &rv->reliability, 1,
			      "credibility", rv->credibility),
		    &ok);
	if (ok && v.claimed_by) {
		put(doc, "claimed_by", json_string(v.claimed_by), &ok);
		put(doc, "claimed_until", time_json(rv->claimed_until), &ok);
	}
	if (ok && rv->reject_reason)
		put(doc, "reject_reason", json_string(rv->reject_reason), &ok);
	enum MHD_Result ret;
	if (ok)
		ret = sl_http_json(ctx->conn, status, doc);
	else {
		json_decref(doc);
		ret = out_of_memory(ctx);
	}
	sl_arena_free(a); /* wipes what was opened */
	return ret;
}

enum MHD_Result sl_review_get(mod_ctx *ctx)
{
	int64_t id;
	if (!sl_review_parse_id(ctx->params[0], &id))
		return no_report(ctx);
	return answer_report(ctx, id, 200);
}

sl_err sl_review_open_photo(mod_ctx *ctx, int64_t id, int64_t n, const char *action,
			    uint8_t **plain, size_t *len, review_fail *f)
{
	*plain = NULL;
	*len = 0;
	sl_arena *a = sl_arena_new(sl_review_arena_cap(ctx->srv));
	if (!a)
		return fail(f, SL_ENOMEM, 503, 5, "out of memory; try again");
	sl_report r;
	sl_err e = sl_store_get_report(ctx->srv->store, id,
				       sl_session_moderator_id(ctx->session), a, &r);
	if (e != SL_OK) {
		sl_arena_free(a);
		return store_fail(f, e, "no such report");
	}
	const sl_sealed *photo = NULL;
	int64_t k = 0;
	for (size_t i = 0; i < r.n_sealed && !photo; i++)
		if (r.sealed[i].kind == SL_SEALED_PHOTO && ++k == n)
			photo = &r.sealed[i];
	if (!photo || photo->n_keys == 0) {
		sl_arena_free(a);
		return fail(f, SL_ENOTFOUND, 404, 0,
			    photo ? "this photo was not sealed to you" : "no such photo");
	}
	/* Logged before it opens: an unlogged view shows nothing. */
	if (audit_report(ctx, action, id, json_pack("{s:I}", "n", (json_int_t)n)) !=
	    SL_OK) {
		sl_arena_free(a);
		return audit_fail(f);
	}
	e = sl_sealed_open(photo, sl_session_key(ctx->session), plain, len);
	sl_arena_free(a);
	if (e != SL_OK)
		return fail(f, SL_ECRYPTO, 404, 0,
			    "this photo does not open with your key");
	return SL_OK;
}

enum MHD_Result sl_review_photo(mod_ctx *ctx)
{
	int64_t id, n;
	if (!sl_review_parse_id(ctx->params[0], &id) ||
	    !sl_review_parse_id(ctx->params[1], &n))
		return sl_http_problem(ctx->conn, 404, "no such photo", NULL, NULL, 0);
	uint8_t *plain;
	size_t len;
	review_fail f = {0};
	if (sl_review_open_photo(ctx, id, n, "view_photo", &plain, &len, &f) != SL_OK)
		return sl_review_refuse(ctx, &f);
	/* MHD copies it; ours is wiped at once. */
	struct MHD_Response *resp =
	    MHD_create_response_from_buffer(len, plain, MHD_RESPMEM_MUST_COPY);
	sl_seal_plain_free(plain, len);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", "image/jpeg");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, "Content-Security-Policy",
				"default-src 'none'; frame-ancestors 'none'");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	enum MHD_Result ret = MHD_queue_response(ctx->conn, 200, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* ---- the JSON handlers: the queue ---- */

enum MHD_Result sl_review_queue(mod_ctx *ctx)
{
	const char *status =
	    MHD_lookup_connection_value(ctx->conn, MHD_GET_ARGUMENT_KIND, "status");
	bool open_only = true;
	if (status && strcmp(status, "all") == 0)
		open_only = false;
	else if (status && strcmp(status, "open") != 0)
		return invalid1(ctx, "status", "is not one of open, all");
	size_t limit;
	if (!sl_review_parse_limit(ctx->conn, SL_QUEUE_MAX, &limit))
		return invalid1(ctx, "limit", "expected a whole number from 1");
	sl_arena *a = sl_arena_new((size_t)64 << 20);
	if (!a)
		return out_of_memory(ctx);
	int64_t now = sl_time_now();
	sl_queue_item *items;
	size_t n;
	sl_err e = sl_store_queue(ctx->srv->store, open_only, now, limit, a, &items, &n);
	if (e != SL_OK) {
		sl_arena_free(a);
		return e == SL_ENOMEM ? out_of_memory(ctx) : store_failed(ctx);
	}
	review_names nm = {0};
	json_t *list = json_array();
	bool ok = list != NULL;
	for (size_t i = 0; i < n && ok; i++) {
		const sl_queue_item *it = &items[i];
		const sl_report *r = &it->report;
		json_t *full = sl_report_to_json(r, 0);
		json_t *eq = full ? json_object_get(full, "equipment") : NULL;
		json_t *o = json_pack(
		    "{s:I, s:s, s:s, s:o, s:o, s:O, s:I, s:b, s:i}", "id",
		    (json_int_t)r->id, "category", sl_category_name(r->category),
		    "status", sl_status_name(r->status), "observed_at",
		    time_json(r->observed_at), "received_at", time_json(r->received_at),
		    "equipment", eq ? eq : json_null(), "n_photos",
		    (json_int_t)it->n_photos, "has_text", it->has_text, "urgency",
		    it->urgency);
		json_decref(full);
		ok = o != NULL;
		if (ok && r->location.place)
			ok = json_object_set_new(o, "place",
						 json_string(r->location.place)) == 0;
		if (ok && r->location.has_point)
			ok = json_object_set_new(o, "lat", json_real(r->location.lat)) ==
				 0 &&
			     json_object_set_new(o, "lon", json_real(r->location.lon)) ==
				 0 &&
			     json_object_set_new(o, "uncertainty_m",
						 json_real(r->location.uncertainty_m)) ==
				 0;
		if (ok && it->review.claimed_by && it->review.claimed_until > now)
			ok =
			    json_object_set_new(
				o, "claimed_by",
				json_string(sl_review_name_of(
				    ctx->srv, &nm, it->review.claimed_by))) == 0 &&
			    json_object_set_new(o, "claimed_until",
						time_json(it->review.claimed_until)) == 0;
		if (ok && it->review.reliability)
			ok = json_object_set_new(o, "grade",
						 json_pack("{s:s#, s:i}", "reliability",
							   &it->review.reliability, 1,
							   "credibility",
							   it->review.credibility)) == 0;
		if (ok)
			ok = json_array_append_new(list, o) == 0;
		else
			json_decref(o);
	}
	sl_review_names_free(&nm);
	sl_arena_free(a);
	if (!ok) {
		json_decref(list);
		return out_of_memory(ctx);
	}
	return answer(ctx, 200, json_pack("{s:o}", "reports", list));
}

/* ---- the JSON handlers: actions ---- */

/* The start every report action shares: the id from the path (looked up,
 * so that an unknown one is 404 before anything else), the JSON body
 * (*doc, caller decrefs), and a reason in why for each member not in
 * known. false when it has answered already (*ret). */
static bool action_start(mod_ctx *ctx, const char *const *known, int64_t *id,
			 json_t **doc, sl_problems *why, enum MHD_Result *ret)
{
	review_fail f = {0};
	if (!sl_review_parse_id(ctx->params[0], id)) {
		*ret = no_report(ctx);
		return false;
	}
	if (!sl_review_report_exists(ctx, *id, &f)) {
		*ret = sl_review_refuse(ctx, &f);
		return false;
	}
	if (!body_object(ctx, doc, ret))
		return false;
	only_fields(*doc, known, why);
	return true;
}

/* action_start for an action whose body is {}: 422 for any member. */
static bool bare_action_start(mod_ctx *ctx, int64_t *id, enum MHD_Result *ret)
{
	json_t *doc;
	sl_problems why = {0};
	static const char *const known[] = {NULL};
	if (!action_start(ctx, known, id, &doc, &why, ret))
		return false;
	json_decref(doc);
	if (why.n) {
		*ret = invalid(ctx, &why);
		return false;
	}
	return true;
}

/* The fields an edit may change: the clear ones a moderator can check. */
static const char *const editable[] = {"category", "observed_at", "observed_until",
				       "location", "equipment",	  "heading",
				       NULL};

enum MHD_Result sl_review_edit(mod_ctx *ctx)
{
	enum MHD_Result ret;
	int64_t id;
	json_t *patch;
	sl_problems why = {0};
	if (!action_start(ctx, editable, &id, &patch, &why, &ret))
		return ret;
	if (!why.n && json_object_size(patch) == 0)
		sl_problems_add(&why, "",
				"nothing to change: give one of category, "
				"observed_at, observed_until, location, "
				"equipment, heading");
	if (why.n) {
		json_decref(patch);
		return invalid(ctx, &why);
	}
	sl_arena *a = sl_arena_new(sl_review_arena_cap(ctx->srv));
	if (!a) {
		json_decref(patch);
		return out_of_memory(ctx);
	}
	/* The report as it is (no key: nothing sealed is opened), in its JSON
	 * form, with the patch laid over it; a location is merged member by
	 * member so that moving the point keeps the place name. */
	sl_report cur;
	sl_err e = sl_store_get_report(ctx->srv->store, id, 0, a, &cur);
	json_t *merged = e == SL_OK ? sl_report_to_json(&cur, 0) : NULL;
	if (e != SL_OK || !merged) {
		json_decref(patch);
		sl_arena_free(a);
		return e == SL_ENOTFOUND ? no_report(ctx)
		       : e != SL_OK	 ? store_failed(ctx)
					 : out_of_memory(ctx);
	}
	json_t *fields = json_array();
	const char *key;
	json_t *v;
	json_object_foreach(patch, key, v)
	{
		json_array_append_new(fields, json_string(key));
		json_t *old = json_object_get(merged, key);
		if (strcmp(key, "location") == 0 && json_is_object(v) &&
		    json_is_object(old)) {
			json_t *loc = json_deep_copy(old);
			json_object_update(loc, v);
			json_object_set_new(merged, key, loc);
		} else {
			json_object_set(merged, key, v);
		}
	}
	json_decref(patch);
	sl_report r;
	e = sl_report_from_json(merged, 0, sl_time_now(), a, &r, &why);
	json_decref(merged);
	if (e != SL_OK) {
		json_decref(fields);
		sl_arena_free(a);
		return e == SL_ENOMEM ? out_of_memory(ctx) : invalid(ctx, &why);
	}
	r.id = id;
	if (audit_report(ctx, "edit", id, json_pack("{s:o}", "fields", fields)) !=
	    SL_OK) {
		sl_arena_free(a);
		return audit_failed(ctx);
	}
	e = sl_store_update_report(ctx->srv->store, &r);
	sl_arena_free(a);
	if (e != SL_OK)
		return e == SL_ENOTFOUND ? no_report(ctx) : store_failed(ctx);
	return answer_report(ctx, id, 200);
}

enum MHD_Result sl_review_claim(mod_ctx *ctx)
{
	enum MHD_Result ret;
	int64_t id, until;
	review_fail f = {0};
	if (!bare_action_start(ctx, &id, &ret))
		return ret;
	if (sl_review_claim_report(ctx, id, &until, &f) != SL_OK)
		return sl_review_refuse(ctx, &f);
	return answer(ctx, 200,
		      json_pack("{s:s, s:o}", "claimed_by", sl_session_name(ctx->session),
				"claimed_until", time_json(until)));
}

enum MHD_Result sl_review_release(mod_ctx *ctx)
{
	enum MHD_Result ret;
	int64_t id;
	review_fail f = {0};
	if (!bare_action_start(ctx, &id, &ret))
		return ret;
	if (sl_review_release_report(ctx, id, &f) != SL_OK)
		return sl_review_refuse(ctx, &f);
	return answer(ctx, 200, json_pack("{s:n}", "claimed_by"));
}

enum MHD_Result sl_review_grade(mod_ctx *ctx)
{
	enum MHD_Result ret;
	int64_t id;
	json_t *doc;
	sl_problems why = {0};
	static const char *const known[] = {"reliability", "credibility", NULL};
	if (!action_start(ctx, known, &id, &doc, &why, &ret))
		return ret;
	json_t *rel = json_object_get(doc, "reliability");
	json_t *cred = json_object_get(doc, "credibility");
	const char *rs = json_string_value(rel);
	char r = rs && strlen(rs) == 1 ? rs[0] : 0;
	long long c = json_is_integer(cred) ? (long long)json_integer_value(cred) : 0;
	json_decref(doc);
	sl_review_check_grade(rel != NULL, r, cred != NULL, c, &why);
	if (why.n)
		return invalid(ctx, &why);
	review_fail f = {0};
	if (sl_review_grade_report(ctx, id, r, (int)c, &f) != SL_OK)
		return sl_review_refuse(ctx, &f);
	char rtext[2] = {r, '\0'};
	return answer(ctx, 200,
		      json_pack("{s:{s:s, s:i}}", "grade", "reliability", rtext,
				"credibility", (int)c));
}

/* Verify or reject: status and, for a rejection, its reason. A decision
 * may be taken again the other way; each one is logged. */
static enum MHD_Result decide(mod_ctx *ctx, sl_report_status status)
{
	enum MHD_Result ret;
	int64_t id;
	json_t *doc;
	bool reject = status == SL_STATUS_REJECTED;
	sl_problems why = {0};
	static const char *const verify_fields[] = {NULL};
	static const char *const reject_fields[] = {"reason", NULL};
	if (!action_start(ctx, reject ? reject_fields : verify_fields, &id, &doc, &why,
			  &ret))
		return ret;
	const char *reason =
	    reject ? text_field(doc, "reason", SL_REVIEW_REASON_MAX, &why) : NULL;
	if (why.n) {
		json_decref(doc);
		return invalid(ctx, &why);
	}
	review_fail f = {0};
	if (sl_review_decide_report(ctx, id, status, reason, &f) != SL_OK) {
		json_decref(doc);
		return sl_review_refuse(ctx, &f);
	}
	json_t *out = json_pack("{s:s}", "status", sl_status_name(status));
	if (out && reject)
		json_object_set_new(out, "reject_reason", json_string(reason));
	json_decref(doc);
	return answer(ctx, 200, out);
}

enum MHD_Result sl_review_verify(mod_ctx *ctx)
{
	return decide(ctx, SL_STATUS_VERIFIED);
}

enum MHD_Result sl_review_reject(mod_ctx *ctx)
{
	return decide(ctx, SL_STATUS_REJECTED);
}

enum MHD_Result sl_review_note(mod_ctx *ctx)
{
	enum MHD_Result ret;
	int64_t id;
	json_t *doc;
	sl_problems why = {0};
	static const char *const known[] = {"text", NULL};
	if (!action_start(ctx, known, &id, &doc, &why, &ret))
		return ret;
	const char *text = text_field(doc, "text", SL_REVIEW_NOTE_MAX, &why);
	if (why.n) {
		json_decref(doc);
		return invalid(ctx, &why);
	}
	review_fail f = {0};
	int64_t at = 0;
	/* The note action wipes the text, which is jansson's copy. */
	sl_err e = sl_review_note_report(ctx, id, (char *)text, strlen(text), &at, &f);
	json_decref(doc);
	if (e != SL_OK)
		return sl_review_refuse(ctx, &f);
	return answer(ctx, 201,
		      json_pack("{s:s, s:o}", "author", sl_session_name(ctx->session),
				"at", time_json(at)));
}

/* ---- the JSON handlers: events ---- */

/* An event as the moderators' API shows it: its JSON form (event_json.h)
 * with who made it and when. */
static json_t *event_json(mod_ctx *ctx, review_names *nm, const sl_event *e)
{
	json_t *o = sl_event_to_json(e);
	if (o && (json_object_set_new(o, "created_at", time_json(e->created_at)) ||
		  json_object_set_new(o, "created_by",
				      e->created_by ? json_string(sl_review_name_of(
							  ctx->srv, nm, e->created_by))
						    : json_null()))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

enum MHD_Result sl_review_event_create(mod_ctx *ctx)
{
	enum MHD_Result ret;
	json_t *doc;
	if (!body_object(ctx, &doc, &ret))
		return ret;
	sl_problems why = {0};
	static const char *const known[] = {"report_ids", "category", NULL};
	only_fields(doc, known, &why);
	json_t *ids = json_object_get(doc, "report_ids");
	json_t *cat = json_object_get(doc, "category");
	sl_event ev = {0};
	int64_t report_ids[SL_REVIEW_EVENT_REPORTS_MAX];
	if (!json_is_array(ids)) {
		sl_problems_add(&why, "report_ids",
				ids ? "expected an array of report ids" : "is required");
	} else if (json_array_size(ids) > SL_REVIEW_EVENT_REPORTS_MAX) {
		sl_problems_add(&why, "report_ids", "more than %d reports",
				SL_REVIEW_EVENT_REPORTS_MAX);
	} else {
		size_t i;
		json_t *v;
		json_array_foreach(ids, i, v)
		{
			if (!json_is_integer(v) || json_integer_value(v) < 1) {
				char f[48];
				snprintf(f, sizeof(f), "report_ids[%zu]", i);
				sl_problems_add(&why, f, "is not a report id");
				continue;
			}
			report_ids[ev.n_reports++] = json_integer_value(v);
		}
	}
	if (cat && !json_is_null(cat)) {
		if (!json_is_string(cat) ||
		    !sl_category_from_name(json_string_value(cat), &ev.category))
			sl_problems_add(&why, "category", "is not a known category");
		else
			ev.has_category = true;
	}
	json_decref(doc);
	if (why.n)
		return invalid(ctx, &why);
	ev.report_ids = report_ids;
	review_fail f = {0};
	if (sl_review_create_event(ctx, &ev, &f) != SL_OK)
		return sl_review_refuse(ctx, &f);
	json_t *ids_json = json_array();
	for (size_t i = 0; ids_json && i < ev.n_reports; i++)
		json_array_append_new(ids_json, json_integer(report_ids[i]));
	return answer(
	    ctx, 201,
	    json_pack("{s:I, s:o}", "id", (json_int_t)ev.id, "report_ids", ids_json));
}

/* attach or detach the path's report to/from the body's event_id. */
static enum MHD_Result attach_or_detach(mod_ctx *ctx, bool detach)
{
	enum MHD_Result ret;
	int64_t id;
	json_t *doc;
	sl_problems why = {0};
	static const char *const known[] = {"event_id", NULL};
	if (!action_start(ctx, known, &id, &doc, &why, &ret))
		return ret;
	json_t *ev = json_object_get(doc, "event_id");
	if (!json_is_integer(ev) || json_integer_value(ev) < 1)
		sl_problems_add(&why, "event_id",
				ev ? "is not an event id" : "is required");
	int64_t event_id = json_integer_value(ev);
	json_decref(doc);
	if (why.n)
		return invalid(ctx, &why);
	review_fail f = {0};
	if (sl_review_attach_report(ctx, id, event_id, detach, &f) != SL_OK)
		return sl_review_refuse(ctx, &f);
	return answer(ctx, 200,
		      json_pack("{s:I, s:I, s:b}", "event_id", (json_int_t)event_id,
				"report_id", (json_int_t)id, "attached", !detach));
}

enum MHD_Result sl_review_attach(mod_ctx *ctx)
{
	return attach_or_detach(ctx, false);
}

enum MHD_Result sl_review_detach(mod_ctx *ctx)
{
	return attach_or_detach(ctx, true);
}

/* Answers the events f selects: one (f->id) or a page {"events": [...],
 * "next": cursor or null}. */
static enum MHD_Result list_events(mod_ctx *ctx, const sl_event_filter *f,
				   unsigned status)
{
	sl_arena *a = sl_arena_new((size_t)32 << 20);
	if (!a)
		return out_of_memory(ctx);
	sl_event *list;
	size_t n;
	sl_err e = sl_store_find_events(ctx->srv->store, f, a, &list, &n);
	if (e != SL_OK) {
		sl_arena_free(a);
		return e == SL_ENOMEM ? out_of_memory(ctx) : store_failed(ctx);
	}
	if (f->id && n == 0) {
		sl_arena_free(a);
		return no_event(ctx);
	}
	review_names nm = {0};
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < n; i++) {
		json_t *o = event_json(ctx, &nm, &list[i]);
		if (!o || json_array_append_new(arr, o) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	sl_review_names_free(&nm);
	int64_t next = n == f->limit ? list[n - 1].id : 0;
	sl_arena_free(a);
	if (!arr)
		return out_of_memory(ctx);
	if (f->id) {
		json_t *one = json_incref(json_array_get(arr, 0));
		json_decref(arr);
		return answer(ctx, status, one);
	}
	return answer(ctx, status,
		      json_pack("{s:o, s:o}", "events", arr, "next",
				next ? json_integer(next) : json_null()));
}

static const char *arg(struct MHD_Connection *c, const char *name)
{
	return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
}

/* ?bbox=min_lon,min_lat,max_lon,max_lat (the GeoJSON order). */
static void parse_bbox(const char *v, sl_event_filter *f, sl_problems *why)
{
	double box[4];
	if (!sl_geo_bbox_param(v, box, why))
		return;
	double x0 = box[0], y0 = box[1], x1 = box[2], y1 = box[3];
	f->has_bbox = true;
	f->min_lon = x0, f->min_lat = y0, f->max_lon = x1, f->max_lat = y1;
}

static void parse_time_arg(const char *name, const char *v, bool *has, int64_t *t,
			   sl_problems *why)
{
	if (!v)
		return;
	if (sl_time_parse(v, t) != SL_OK)
		sl_problems_add(why, name,
				"is not an RFC 3339 time such as 2022-10-10T08:30:00Z");
	else
		*has = true;
}

void sl_review_event_filter(struct MHD_Connection *c, sl_event_filter *out,
			    sl_problems *why)
{
	sl_event_filter f = {0};
	if (!sl_review_parse_limit(c, SL_EVENTS_MAX, &f.limit))
		sl_problems_add(why, "limit", "expected a whole number from 1");
	const char *v;
	if ((v = arg(c, "bbox")))
		parse_bbox(v, &f, why);
	parse_time_arg("from", arg(c, "from"), &f.has_from, &f.from, why);
	parse_time_arg("to", arg(c, "to"), &f.has_to, &f.to, why);
	if (f.has_from && f.has_to && f.from > f.to)
		sl_problems_add(why, "to", "is before from");
	if ((v = arg(c, "category"))) {
		if (!sl_category_from_name(v, &f.category))
			sl_problems_add(why, "category", "is not a known category");
		else
			f.has_category = true;
	}
	if ((v = arg(c, "min_reports"))) {
		size_t n = strspn(v, "0123456789");
		if (n == 0 || n > 6 || v[n])
			sl_problems_add(why, "min_reports", "expected a whole number");
		else
			f.min_reports = strtol(v, NULL, 10);
	}
	if ((v = arg(c, "origin"))) {
		if (strcmp(v, "engine") == 0)
			f.origin = SL_ORIGIN_ENGINE;
		else if (strcmp(v, "moderator") == 0)
			f.origin = SL_ORIGIN_MODERATOR;
		else
			sl_problems_add(why, "origin", "expected engine or moderator");
	}
	if ((v = arg(c, "before")) && !sl_review_parse_id(v, &f.cursor))
		sl_problems_add(why, "before", "is not an event id");
	*out = f;
}

/* GET events: the filters of sl_review_event_filter; newest first. */
enum MHD_Result sl_review_events(mod_ctx *ctx)
{
	sl_event_filter f;
	sl_problems why = {0};
	sl_review_event_filter(ctx->conn, &f, &why);
	if (why.n)
		return invalid(ctx, &why);
	return list_events(ctx, &f, 200);
}

enum MHD_Result sl_review_event(mod_ctx *ctx)
{
	sl_event_filter f = {.limit = 1, .with_refs = true};
	if (!sl_review_parse_id(ctx->params[0], &f.id))
		return no_event(ctx);
	return list_events(ctx, &f, 200);
}

/* The event of the path, which must exist; false when answered (*ret). */
static bool event_id(mod_ctx *ctx, int64_t *id, enum MHD_Result *ret)
{
	sl_err e = sl_review_parse_id(ctx->params[0], id) ? event_exists(ctx, *id)
							  : SL_ENOTFOUND;
	if (e == SL_OK)
		return true;
	*ret = e == SL_ENOTFOUND ? no_event(ctx) : store_failed(ctx);
	return false;
}

/* POST events/{id}/merge {"event_id": other}: other's reports join id and
 * other is deleted. */
enum MHD_Result sl_review_event_merge(mod_ctx *ctx)
{
	enum MHD_Result ret;
	int64_t into, from = 0;
	json_t *doc;
	if (!event_id(ctx, &into, &ret) || !body_object(ctx, &doc, &ret))
		return ret;
	sl_problems why = {0};
	static const char *const known[] = {"event_id", NULL};
	only_fields(doc, known, &why);
	json_t *o = json_object_get(doc, "event_id");
	if (!json_is_integer(o) || json_integer_value(o) < 1)
		sl_problems_add(&why, "event_id",
				o ? "is not an event id" : "is required");
	else if ((from = json_integer_value(o)) == into)
		sl_problems_add(&why, "event_id", "is the event itself");
	json_decref(doc);
	if (why.n)
		return invalid(ctx, &why);
	sl_err e = event_exists(ctx, from);
	if (e != SL_OK)
		return e == SL_ENOTFOUND ? no_event(ctx) : store_failed(ctx);
	char subject[48];
	snprintf(subject, sizeof(subject), "event:%" PRId64, into);
	if (audit(ctx, "event_merge", subject,
		  json_pack("{s:I}", "merged", (json_int_t)from)) != SL_OK)
		return audit_failed(ctx);
	e = sl_store_event_merge(ctx->srv->store, into, from,
				 sl_session_moderator_id(ctx->session), sl_time_now());
	if (e != SL_OK)
		return e == SL_ENOTFOUND ? no_event(ctx) : store_failed(ctx);
	sl_event_filter f = {.id = into, .limit = 1, .with_refs = true};
	return list_events(ctx, &f, 200);
}

/* POST events/{id}/split {"report_ids": [...]}: those reports become a new
 * event (201 with it). */
enum MHD_Result sl_review_event_split(mod_ctx *ctx)
{
	enum MHD_Result ret;
	int64_t from;
	json_t *doc;
	if (!event_id(ctx, &from, &ret) || !body_object(ctx, &doc, &ret))
		return ret;
	sl_problems why = {0};
	static const char *const known[] = {"report_ids", NULL};
	only_fields(doc, known, &why);
	json_t *ids = json_object_get(doc, "report_ids");
	int64_t report_ids[SL_REVIEW_EVENT_REPORTS_MAX];
	size_t n = 0;
	if (!json_is_array(ids) || json_array_size(ids) == 0)
		sl_problems_add(&why, "report_ids",
				ids ? "expected a non-empty array of report ids"
				    : "is required");
	else if (json_array_size(ids) > SL_REVIEW_EVENT_REPORTS_MAX)
		sl_problems_add(&why, "report_ids", "more than %d reports",
				SL_REVIEW_EVENT_REPORTS_MAX);
	else {
		size_t i;
		json_t *v;
		json_array_foreach(ids, i, v)
		{
			if (!json_is_integer(v) || json_integer_value(v) < 1) {
				char fld[48];
				snprintf(fld, sizeof(fld), "report_ids[%zu]", i);
				sl_problems_add(&why, fld, "is not a report id");
				continue;
			}
			report_ids[n++] = json_integer_value(v);
		}
	}
	json_t *ids_json = json_incref(ids);
	json_decref(doc);
	if (why.n) {
		json_decref(ids_json);
		return invalid(ctx, &why);
	}
	char subject[48];
	snprintf(subject, sizeof(subject), "event:%" PRId64, from);
	if (audit(ctx, "event_split", subject,
		  json_pack("{s:o}", "report_ids", ids_json)) != SL_OK)
		return audit_failed(ctx);
	int64_t new_id = 0;
	sl_err e = sl_store_event_split(ctx->srv->store, from, report_ids, n,
					sl_session_moderator_id(ctx->session),
					sl_time_now(), &new_id);
	if (e == SL_EVALID)
		return invalid1(
		    ctx, "report_ids",
		    "every report must be in the event, and at least one must stay");
	if (e != SL_OK)
		return e == SL_ENOTFOUND ? no_report(ctx) : store_failed(ctx);
	sl_event_filter f = {.id = new_id, .limit = 1, .with_refs = true};
	return list_events(ctx, &f, 201);
}

/* ---- the JSON handlers: the audit log, for admins ---- */

/* Reading the log is not itself logged: it holds nothing sealed, and an
 * entry per look would drown the actions it is for. */
enum MHD_Result sl_review_audit(mod_ctx *ctx)
{
	size_t limit;
	if (!sl_review_parse_limit(ctx->conn, SL_QUEUE_MAX, &limit))
		return invalid1(ctx, "limit", "expected a whole number from 1");
	sl_arena *a = sl_arena_new((size_t)16 << 20);
	if (!a)
		return out_of_memory(ctx);
	sl_audit_entry *list;
	size_t n;
	review_fail f = {0};
	if (sl_review_audit_tail(ctx, limit, a, &list, &n, &f) != SL_OK) {
		sl_arena_free(a);
		return sl_review_refuse(ctx, &f);
	}
	json_t *arr = json_array();
	bool ok = arr != NULL;
	for (size_t i = n; ok && i-- > 0;) {
		const sl_audit_entry *e = &list[i];
		json_t *detail = e->detail ? json_loads(e->detail, 0, NULL) : NULL;
		push(arr,
		     json_pack("{s:I, s:o, s:s, s:s, s:s, s:o}", "seq",
			       (json_int_t)e->seq, "at", time_json(e->at), "actor",
			       e->actor, "action", e->action, "subject", e->subject,
			       "detail", detail ? detail : json_null()),
		     &ok);
	}
	sl_arena_free(a);
	if (!ok) {
		json_decref(arr);
		return out_of_memory(ctx);
	}
	return answer(ctx, 200, json_pack("{s:o}", "entries", arr));
}

/* ---- for the other handlers of the moderators' API (mod_int.h) ---- */

sl_err sl_review_log(mod_ctx *ctx, const char *action, const char *subject,
		     json_t *detail)
{
	return audit(ctx, action, subject, detail);
}

bool sl_review_body_object(mod_ctx *ctx, json_t **doc, enum MHD_Result *ret)
{
	return body_object(ctx, doc, ret);
}
