/*
 * publish_admin.c — what admins decide about publication, under
 * /api/v1/mod/admin/ (docs/API.md "Publication, for admins"):
 *
 *   GET|PUT        publish/policy        the delays, the grid, k
 *   GET|POST       webhooks              list, register (the secret is
 *                                         shown once)
 *   DELETE         webhooks/{id}         remove
 *   PUT|DELETE     events/{id}/excerpt   approve (or withdraw) the text
 *                                         the public may see with an event
 *
 * mod.c's gate has checked the session, the admin role, the Origin and
 * the CSRF token. Each change is written to the audit log before it is
 * made, as review.c's actions are; an excerpt's entry carries its length
 * and hash, not its words (the log never holds what informants wrote).
 * After a change the publisher is nudged, so the public picture follows
 * within a refresh.
 */
#include "http/mod_int.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sightline/timefmt.h"

static enum MHD_Result store_failed(mod_ctx *ctx)
{
	return sl_http_problem(ctx->conn, 503, "the store failed; try again", NULL, NULL,
			       5);
}

static enum MHD_Result audit_failed(mod_ctx *ctx)
{
	return sl_http_problem(ctx->conn, 503,
			       "the audit log cannot record this; nothing was done", NULL,
			       NULL, 5);
}

static json_t *policy_json(const sl_publish_policy *p)
{
	char *text = sl_publish_policy_to_json(p);
	json_t *doc = text ? json_loads(text, 0, NULL) : NULL;
	free(text);
	return doc;
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
	json_t *detail = policy_json(&p);
	if (!detail || sl_review_log(ctx, "publish_policy", "publication:policy",
				     json_pack("{s:o}", "policy", detail)) != SL_OK)
		return audit_failed(ctx);
	if (sl_publish_set_policy(ctx->srv->publish, &p,
				  sl_session_moderator_id(ctx->session),
				  sl_time_now()) != SL_OK)
		return store_failed(ctx);
	sl_public_kick(ctx->srv);
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

static void free_webhooks(sl_webhook *list, size_t n)
{
	if (list)
		sodium_memzero(list, n * sizeof(*list));
	free(list);
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

/* An http:// or https:// URL of printable ASCII without spaces. */
static bool url_ok(const char *u, size_t n)
{
	if (n == 0 || n > SL_WEBHOOK_URL_MAX)
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

enum MHD_Result sl_admin_webhook_add(mod_ctx *ctx)
{
	enum MHD_Result ret;
	json_t *doc;
	if (!sl_review_body_object(ctx, &doc, &ret))
		return ret;
	json_t *u = json_object_get(doc, "url");
	sl_problems why = {0};
	const char *key;
	json_t *v;
	json_object_foreach(doc, key, v) if (strcmp(key, "url") != 0)
	{
		char f[64];
		snprintf(f, sizeof(f), "%.60s", key);
		sl_problems_add(&why, f, "is not a known field");
	}
	if (!json_is_string(u))
		sl_problems_add(&why, "url", u ? "expected a string" : "is required");
	else if (!url_ok(json_string_value(u), json_string_length(u)))
		sl_problems_add(
		    &why, "url",
		    "expected an http:// or https:// URL of at most 2000 characters");
	if (why.n) {
		json_decref(doc);
		return sl_http_problem(ctx->conn, 422, NULL, &why, NULL, 0);
	}
	sl_webhook w;
	memset(&w, 0, sizeof(w));
	snprintf(w.url, sizeof(w.url), "%s", json_string_value(u));
	json_decref(doc);
	randombytes_buf(w.secret, sizeof(w.secret));
	w.created_at = sl_time_now();
	w.created_by = sl_session_moderator_id(ctx->session);
	if (sl_review_log(ctx, "webhook_add", "webhooks",
			  json_pack("{s:s}", "url", w.url)) != SL_OK) {
		sodium_memzero(&w, sizeof(w));
		return audit_failed(ctx);
	}
	if (sl_store_webhook_add(ctx->srv->store, &w) != SL_OK) {
		sodium_memzero(&w, sizeof(w));
		return store_failed(ctx);
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
	sl_webhook *list = NULL;
	size_t n = 0;
	if (sl_store_webhooks(ctx->srv->store, false, &list, &n) != SL_OK)
		return store_failed(ctx);
	bool found = false;
	for (size_t i = 0; i < n; i++)
		found |= list[i].id == id;
	free_webhooks(list, n);
	if (!found)
		return sl_http_problem(ctx->conn, 404, "no such webhook", NULL, NULL, 0);
	char subject[48];
	snprintf(subject, sizeof(subject), "webhook:%" PRId64, id);
	if (sl_review_log(ctx, "webhook_remove", subject, NULL) != SL_OK)
		return audit_failed(ctx);
	sl_err e = sl_store_webhook_remove(ctx->srv->store, id, sl_time_now());
	if (e == SL_ENOTFOUND)
		return sl_http_problem(ctx->conn, 404, "no such webhook", NULL, NULL, 0);
	if (e)
		return store_failed(ctx);
	return sl_http_json(ctx->conn, 200,
			    json_pack("{s:I, s:b}", "id", (json_int_t)id, "removed", 1));
}

/* The event of the path, which must exist; false when answered. */
static bool event_of_path(mod_ctx *ctx, int64_t *id, enum MHD_Result *ret)
{
	if (!sl_review_parse_id(ctx->params[0], id)) {
		*ret = sl_http_problem(ctx->conn, 404, "no such event", NULL, NULL, 0);
		return false;
	}
	sl_arena *a = sl_arena_new((size_t)1 << 20);
	if (!a) {
		*ret = sl_http_problem(ctx->conn, 503, "out of memory; try again", NULL,
				       NULL, 5);
		return false;
	}
	sl_event_filter f = {.id = *id, .limit = 1};
	sl_event *list;
	size_t n = 0;
	sl_err e = sl_store_find_events(ctx->srv->store, &f, a, &list, &n);
	sl_arena_free(a);
	if (e) {
		*ret = store_failed(ctx);
		return false;
	}
	if (n == 0) {
		*ret = sl_http_problem(ctx->conn, 404, "no such event", NULL, NULL, 0);
		return false;
	}
	return true;
}

static enum MHD_Result set_excerpt(mod_ctx *ctx, int64_t id, const char *text, size_t len)
{
	char subject[48];
	snprintf(subject, sizeof(subject), "event:%" PRId64, id);
	json_t *detail = NULL;
	if (text) {
		uint8_t h[16];
		char hex[33];
		crypto_generichash(h, sizeof(h), (const uint8_t *)text, len, NULL, 0);
		sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
		detail =
		    json_pack("{s:I, s:s}", "bytes", (json_int_t)len, "blake2b", hex);
	}
	if (sl_review_log(ctx, text ? "excerpt_approve" : "excerpt_withdraw", subject,
			  detail) != SL_OK)
		return audit_failed(ctx);
	sl_err e =
	    sl_store_excerpt_set(ctx->srv->store, id, text,
				 sl_session_moderator_id(ctx->session), sl_time_now());
	if (e == SL_ENOTFOUND)
		return sl_http_problem(ctx->conn, 404, "no such event", NULL, NULL, 0);
	if (e)
		return store_failed(ctx);
	sl_publish_invalidate(ctx->srv->publish);
	sl_public_kick(ctx->srv);
	return sl_http_json(
	    ctx->conn, 200,
	    json_pack("{s:I, s:s?}", "event_id", (json_int_t)id, "excerpt", text));
}

enum MHD_Result sl_admin_excerpt_put(mod_ctx *ctx)
{
	enum MHD_Result ret;
	int64_t id;
	json_t *doc;
	if (!event_of_path(ctx, &id, &ret) || !sl_review_body_object(ctx, &doc, &ret))
		return ret;
	json_t *t = json_object_get(doc, "text");
	sl_problems why = {0};
	if (json_object_size(doc) != (t ? 1u : 0u))
		sl_problems_add(&why, "", "the only field is text");
	if (!json_is_string(t))
		sl_problems_add(&why, "text", t ? "expected a string" : "is required");
	else
		sl_review_check_text(json_string_value(t), json_string_length(t), "text",
				     SL_PUB_EXCERPT_MAX, &why);
	if (why.n) {
		json_decref(doc);
		return sl_http_problem(ctx->conn, 422, NULL, &why, NULL, 0);
	}
	ret = set_excerpt(ctx, id, json_string_value(t), json_string_length(t));
	json_decref(doc);
	return ret;
}

enum MHD_Result sl_admin_excerpt_delete(mod_ctx *ctx)
{
	enum MHD_Result ret;
	int64_t id;
	if (!event_of_path(ctx, &id, &ret))
		return ret;
	return set_excerpt(ctx, id, NULL, 0);
}
