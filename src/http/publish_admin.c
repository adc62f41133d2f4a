/*
 * publish_admin.c — what admins decide about publication, under
 * /api/v1/mod/admin/ (docs/API.md "Publication, for admins"):
 *
 *   GET|PUT        publish/policy        the delays, the grid, k
 *   GET|POST       webhooks              list, register (the secret is
 *                                         shown once)
 *   DELETE         webhooks/{id}         remove
 *   PUT|DELETE     events/{id}/excerpt   approve (or withdraw) the text
 *   PUT|DELETE     events/{id}/photo     approve (or withdraw) a cleaned photo
 *                                         the public may see with an event
 *
 * mod.c's gate has checked the session, the admin role, the Origin and
 * the CSRF token. As in review.c, the JSON handlers decode and answer,
 * and the actions under them (sl_admin_*, which the console's forms call
 * too) check, write the audit log and only then act; an excerpt's entry carries its
 * length and hash, not its words (the log never holds what informants wrote). After a
 * change the publisher is nudged, so the public picture follows within a refresh.
 */
#include "http/mod_int.h"

#include "sightline/seal.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sightline/timefmt.h"

/* ---- the actions (mod_int.h): what the JSON API and the console's
 * forms both call. Each checks what is left, logs itself, then acts. ---- */

static sl_err fail_with(review_fail *f, sl_err e, unsigned status, unsigned retry,
			const char *detail)
{
	f->status = status;
	f->retry_after = retry;
	snprintf(f->detail, sizeof(f->detail), "%s", detail);
	return e == SL_OK ? SL_EINVAL : e;
}

static sl_err store_fail(review_fail *f, sl_err e, const char *missing)
{
	if (e == SL_ENOTFOUND)
		return fail_with(f, e, 404, 0, missing);
	return fail_with(f, e, 503, 5, "the store failed; try again");
}

static sl_err audit_fail(review_fail *f)
{
	return fail_with(f, SL_EIO, 503, 5,
			 "the audit log cannot record this; nothing was done");
}

static json_t *policy_json(const sl_publish_policy *p)
{
	char *text = sl_publish_policy_to_json(p);
	json_t *doc = text ? json_loads(text, 0, NULL) : NULL;
	free(text);
	return doc;
}

sl_err sl_admin_set_policy(mod_ctx *ctx, const sl_publish_policy *p, review_fail *f)
{
	json_t *detail = policy_json(p);
	if (!detail || sl_review_log(ctx, "publish_policy", "publication:policy",
				     json_pack("{s:o}", "policy", detail)) != SL_OK)
		return audit_fail(f);
	sl_err e = sl_publish_set_policy(
	    ctx->srv->publish, p, sl_session_moderator_id(ctx->session), sl_time_now());
	if (e)
		return store_fail(f, e, "");
	sl_public_kick(ctx->srv);
	return SL_OK;
}

/* An http:// or https:// URL of printable ASCII without spaces. */
static bool url_ok(const char *u, size_t n)
{
	if (n == 0 || n > SL_WEBHOOK_URL_MAX || strlen(u) != n)
		return false;
	if (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0)
		return false;
	const char *host = u + (u[4] == 's' ? 8 : 7);
	if (!*host || *host == '/')
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)u[i] <= 0x20 || (unsigned char)u[i] >= 0x7f)
			return false;
	return true;
}

sl_err sl_admin_add_webhook(mod_ctx *ctx, const char *url, size_t len, sl_webhook *w,
			    review_fail *f)
{
	if (!url_ok(url, len)) {
		f->status = 422;
		sl_problems_add(
		    &f->why, "url",
		    "expected an http:// or https:// URL of at most 2000 characters");
		return SL_EVALID;
	}
	memset(w, 0, sizeof(*w));
	memcpy(w->url, url, len);
	randombytes_buf(w->secret, sizeof(w->secret));
	w->created_at = sl_time_now();
	w->created_by = sl_session_moderator_id(ctx->session);
	sl_err e = SL_OK;
	if (sl_review_log(ctx, "webhook_add", "webhooks",
			  json_pack("{s:s}", "url", w->url)) != SL_OK)
		e = audit_fail(f);
	else if ((e = sl_store_webhook_add(ctx->srv->store, w)))
		store_fail(f, e, "");
	if (e)
		sodium_memzero(w, sizeof(*w));
	return e;
}

static void free_webhooks(sl_webhook *list, size_t n)
{
	if (list)
		sodium_memzero(list, n * sizeof(*list));
	free(list);
}

sl_err sl_admin_remove_webhook(mod_ctx *ctx, int64_t id, review_fail *f)
{
	sl_webhook *list = NULL;
	size_t n = 0;
	sl_err e = sl_store_webhooks(ctx->srv->store, false, &list, &n);
	if (e)
		return store_fail(f, e, "");
	bool found = false;
	for (size_t i = 0; i < n; i++)
		found |= list[i].id == id;
	free_webhooks(list, n);
	if (!found)
		return fail_with(f, SL_ENOTFOUND, 404, 0, "no such webhook");
	char subject[48];
	snprintf(subject, sizeof(subject), "webhook:%" PRId64, id);
	if (sl_review_log(ctx, "webhook_remove", subject, NULL) != SL_OK)
		return audit_fail(f);
	if ((e = sl_store_webhook_remove(ctx->srv->store, id, sl_time_now())))
		return store_fail(f, e, "no such webhook");
	return SL_OK;
}

/* Whether event id exists (f says 404 or 503 when not). */
static bool event_exists(mod_ctx *ctx, int64_t id, review_fail *f)
{
	sl_arena *a = sl_arena_new((size_t)1 << 20);
	if (!a) {
		fail_with(f, SL_ENOMEM, 503, 5, "out of memory; try again");
		return false;
	}
	sl_event_filter flt = {.id = id, .limit = 1};
	sl_event *list;
	size_t n = 0;
	sl_err e = sl_store_find_events(ctx->srv->store, &flt, a, &list, &n);
	sl_arena_free(a);
	if (e || n == 0) {
		store_fail(f, e ? e : SL_ENOTFOUND, "no such event");
		return false;
	}
	return true;
}

sl_err sl_admin_set_excerpt(mod_ctx *ctx, int64_t id, const char *text, size_t len,
			    review_fail *f)
{
	if (text &&
	    !sl_review_check_text(text, len, "text", SL_PUB_EXCERPT_MAX, &f->why)) {
		f->status = 422;
		return SL_EVALID;
	}
	if (!event_exists(ctx, id, f))
		return SL_ENOTFOUND;
	char subject[48];
	snprintf(subject, sizeof(subject), "event:%" PRId64, id);
	json_t *detail = NULL;
	if (text) {
		/* Its length and hash, never its words: the log holds nothing
		 * informants wrote. */
		uint8_t h[16];
		char hex[33];
		crypto_generichash(h, sizeof(h), (const uint8_t *)text, len, NULL, 0);
		sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
		detail =
		    json_pack("{s:I, s:s}", "bytes", (json_int_t)len, "blake2b", hex);
	}
	if (sl_review_log(ctx, text ? "excerpt_approve" : "excerpt_withdraw", subject,
			  detail) != SL_OK)
		return audit_fail(f);
	sl_err e =
	    sl_store_excerpt_set(ctx->srv->store, id, text,
				 sl_session_moderator_id(ctx->session), sl_time_now());
	if (e)
		return store_fail(f, e, "no such event");
	sl_publish_invalidate(ctx->srv->publish);
	sl_public_kick(ctx->srv);
	return SL_OK;
}

/* ---- the JSON handlers ---- */

static enum MHD_Result store_failed(mod_ctx *ctx)
{
	return sl_http_problem(ctx->conn, 503, "the store failed; try again", NULL, NULL,
			       5);
}

static enum MHD_Result answer_policy(mod_ctx *ctx)
{
	sl_publish_policy p;
	sl_publish_get_policy(ctx->srv->publish, &p);
	json_t *doc = policy_json(&p);
	if (!doc)
		return sl_http_problem(ctx->conn, 503, "out of memory; try again", NULL,
				       NULL, 5);
	return sl_http_json(ctx->conn, 200, json_pack("{s:o}", "policy", doc));
}

enum MHD_Result sl_admin_policy_get(mod_ctx *ctx)
{
	return answer_policy(ctx);
}

enum MHD_Result sl_admin_policy_put(mod_ctx *ctx)
{
	enum MHD_Result ret;
	json_t *doc;
	if (!sl_review_body_object(ctx, &doc, &ret))
		return ret;
	json_decref(doc);
	sl_publish_policy p;
	sl_publish_get_policy(ctx->srv->publish, &p);
	sl_problems why = {0};
	const char *body = ctx->len ? ctx->body : "{}";
	if (sl_publish_policy_apply(&p, body, ctx->len ? ctx->len : 2, &why) != SL_OK)
		return sl_http_problem(ctx->conn, 422, NULL, &why, NULL, 0);
	review_fail f = {0};
	if (sl_admin_set_policy(ctx, &p, &f) != SL_OK)
		return sl_review_refuse(ctx, &f);
	return answer_policy(ctx);
}

static json_t *time_or_null(int64_t t)
{
	if (!t)
		return json_null();
	char buf[SL_TIME_TEXT_MAX];
	sl_time_format(t, buf);
	return json_string(buf);
}

enum MHD_Result sl_admin_webhooks(mod_ctx *ctx)
{
	sl_webhook *list = NULL;
	size_t n = 0;
	if (sl_store_webhooks(ctx->srv->store, true, &list, &n) != SL_OK)
		return store_failed(ctx);
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < n; i++) {
		const sl_webhook *w = &list[i];
		json_t *o =
		    json_pack("{s:I, s:s, s:o, s:o, s:I, s:I}", "id", (json_int_t)w->id,
			      "url", w->url, "created_at", time_or_null(w->created_at),
			      "removed_at", time_or_null(w->removed_at), "pending",
			      (json_int_t)w->pending, "failed", (json_int_t)w->failed);
		if (!o || json_array_append_new(arr, o)) {
			json_decref(arr);
			arr = NULL;
		}
	}
	free_webhooks(list, n);
	if (!arr)
		return sl_http_problem(ctx->conn, 503, "out of memory; try again", NULL,
				       NULL, 5);
	return sl_http_json(ctx->conn, 200, json_pack("{s:o}", "webhooks", arr));
}

enum MHD_Result sl_admin_webhook_add(mod_ctx *ctx)
{
	enum MHD_Result ret;
	json_t *doc;
	if (!sl_review_body_object(ctx, &doc, &ret))
		return ret;
	json_t *u = json_object_get(doc, "url");
	review_fail f = {0};
	const char *key;
	json_t *v;
	json_object_foreach(doc, key, v) if (strcmp(key, "url") != 0)
	{
		char fld[64];
		snprintf(fld, sizeof(fld), "%.60s", key);
		sl_problems_add(&f.why, fld, "is not a known field");
	}
	if (!json_is_string(u))
		sl_problems_add(&f.why, "url", u ? "expected a string" : "is required");
	sl_webhook w;
	sl_err e = SL_EVALID;
	if (!f.why.n)
		e = sl_admin_add_webhook(ctx, json_string_value(u), json_string_length(u),
					 &w, &f);
	json_decref(doc);
	if (e) {
		if (!f.status)
			f.status = 422;
		return sl_review_refuse(ctx, &f);
	}
	char hex[2 * SL_WEBHOOK_SECRET_BYTES + 1];
	sodium_bin2hex(hex, sizeof(hex), w.secret, sizeof(w.secret));
	json_t *out = json_pack("{s:I, s:s, s:s, s:s}", "id", (json_int_t)w.id, "url",
				w.url, "secret", hex, "signature",
				"X-Sightline-Signature: sha256=HMAC-SHA256(secret, "
				"X-Sightline-Timestamp + \".\" + body)");
	sodium_memzero(hex, sizeof(hex));
	sodium_memzero(&w, sizeof(w));
	return sl_http_json(ctx->conn, 201, out);
}

enum MHD_Result sl_admin_webhook_remove(mod_ctx *ctx)
{
	int64_t id;
	if (!sl_review_parse_id(ctx->params[0], &id))
		return sl_http_problem(ctx->conn, 404, "no such webhook", NULL, NULL, 0);
	review_fail f = {0};
	if (sl_admin_remove_webhook(ctx, id, &f) != SL_OK)
		return sl_review_refuse(ctx, &f);
	return sl_http_json(ctx->conn, 200,
			    json_pack("{s:I, s:b}", "id", (json_int_t)id, "removed", 1));
}

sl_err sl_admin_set_photo(mod_ctx *ctx, int64_t id, int64_t report_id, int64_t n,
			  review_fail *f)
{
	if (!event_exists(ctx, id, f))
		return SL_ENOTFOUND;
	char subject[48];
	snprintf(subject, sizeof(subject), "event:%" PRId64, id);
	sl_err e;
	if (!report_id) {
		if (sl_review_log(ctx, "photo_withdraw", subject, NULL) != SL_OK)
			return audit_fail(f);
		e = sl_store_photo_set(ctx->srv->store, id, NULL, 0,
				       sl_session_moderator_id(ctx->session),
				       sl_time_now());
	} else {
		/* Only a photo of one of the event's own reports. */
		sl_arena *a = sl_arena_new(1 << 16);
		int64_t *evs = NULL;
		size_t ne = 0;
		e = a ? sl_store_report_events(ctx->srv->store, report_id, a, &evs, &ne)
		      : SL_ENOMEM;
		bool member = false;
		for (size_t i = 0; !e && i < ne; i++)
			member |= evs[i] == id;
		sl_arena_free(a);
		if (e)
			return store_fail(f, e, "no such report");
		if (!member) {
			f->status = 422;
			sl_problems_add(&f->why, "report_id",
					"is not a report of this event");
			return SL_EVALID;
		}
		/* The photo was cleaned at intake (docs/MEDIA.md); opening it is
		 * logged as the approval, with the report and the photo's place. */
		uint8_t *plain;
		size_t len;
		if ((e = sl_review_open_photo(ctx, report_id, n, "photo_approve", &plain,
					      &len, f)) != SL_OK)
			return e;
		e = sl_store_photo_set(ctx->srv->store, id, plain, len,
				       sl_session_moderator_id(ctx->session),
				       sl_time_now());
		sl_seal_plain_free(plain, len);
	}
	if (e)
		return store_fail(f, e, "no such event");
	sl_publish_invalidate(ctx->srv->publish);
	sl_public_kick(ctx->srv);
	return SL_OK;
}

/* PUT admin/events/{id}/photo {"report_id", "photo"}: photo N (1, 2 ...)
 * of one of the event's reports becomes its public photo. */
enum MHD_Result sl_admin_photo_put(mod_ctx *ctx)
{
	enum MHD_Result ret;
	int64_t id;
	if (!sl_review_parse_id(ctx->params[0], &id))
		return sl_http_problem(ctx->conn, 404, "no such event", NULL, NULL, 0);
	json_t *doc;
	if (!sl_review_body_object(ctx, &doc, &ret))
		return ret;
	json_t *r = json_object_get(doc, "report_id"), *p = json_object_get(doc, "photo");
	sl_problems why = {0};
	if (json_object_size(doc) != (r ? 1u : 0u) + (p ? 1u : 0u))
		sl_problems_add(&why, "", "the fields are report_id and photo");
	if (!json_is_integer(r) || json_integer_value(r) < 1)
		sl_problems_add(&why, "report_id",
				r ? "is not a report id" : "is required");
	if (!json_is_integer(p) || json_integer_value(p) < 1 ||
	    json_integer_value(p) > 1000)
		sl_problems_add(&why, "photo",
				p ? "expected 1, 2 ... (the report's photo)"
				  : "is required");
	int64_t report_id = json_integer_value(r), n = json_integer_value(p);
	json_decref(doc);
	if (why.n)
		return sl_http_problem(ctx->conn, 422, NULL, &why, NULL, 0);
	review_fail f = {0};
	if (sl_admin_set_photo(ctx, id, report_id, n, &f) != SL_OK)
		return sl_review_refuse(ctx, &f);
	return sl_http_json(ctx->conn, 200,
			    json_pack("{s:I, s:I, s:I}", "event_id", (json_int_t)id,
				      "report_id", (json_int_t)report_id, "photo",
				      (json_int_t)n));
}

enum MHD_Result sl_admin_photo_delete(mod_ctx *ctx)
{
	int64_t id;
	if (!sl_review_parse_id(ctx->params[0], &id))
		return sl_http_problem(ctx->conn, 404, "no such event", NULL, NULL, 0);
	review_fail f = {0};
	if (sl_admin_set_photo(ctx, id, 0, 0, &f) != SL_OK)
		return sl_review_refuse(ctx, &f);
	return sl_http_json(ctx->conn, 200,
			    json_pack("{s:I, s:n}", "event_id", (json_int_t)id, "photo"));
}

static enum MHD_Result excerpt_answer(mod_ctx *ctx, int64_t id, const char *text,
				      size_t len)
{
	review_fail f = {0};
	if (sl_admin_set_excerpt(ctx, id, text, len, &f) != SL_OK)
		return sl_review_refuse(ctx, &f);
	return sl_http_json(
	    ctx->conn, 200,
	    json_pack("{s:I, s:s?}", "event_id", (json_int_t)id, "excerpt", text));
}

enum MHD_Result sl_admin_excerpt_put(mod_ctx *ctx)
{
	enum MHD_Result ret;
	int64_t id;
	if (!sl_review_parse_id(ctx->params[0], &id))
		return sl_http_problem(ctx->conn, 404, "no such event", NULL, NULL, 0);
	json_t *doc;
	if (!sl_review_body_object(ctx, &doc, &ret))
		return ret;
	json_t *t = json_object_get(doc, "text");
	sl_problems why = {0};
	if (json_object_size(doc) != (t ? 1u : 0u))
		sl_problems_add(&why, "", "the only field is text");
	if (!json_is_string(t))
		sl_problems_add(&why, "text", t ? "expected a string" : "is required");
	if (why.n) {
		json_decref(doc);
		return sl_http_problem(ctx->conn, 422, NULL, &why, NULL, 0);
	}
	ret = excerpt_answer(ctx, id, json_string_value(t), json_string_length(t));
	json_decref(doc);
	return ret;
}

enum MHD_Result sl_admin_excerpt_delete(mod_ctx *ctx)
{
	int64_t id;
	if (!sl_review_parse_id(ctx->params[0], &id))
		return sl_http_problem(ctx->conn, 404, "no such event", NULL, NULL, 0);
	return excerpt_answer(ctx, id, NULL, 0);
}
