/*
 * tracks.c — the moderators' tracks and summary (docs/API.md, "Tracks and
 * summaries"; docs/TRACKING.md):
 *
 *   GET /api/v1/mod/summary?period=day|week|month&from&to&category
 *   GET /api/v1/mod/tracks?from&to&category&direction&min_events&limit&before
 *   GET /api/v1/mod/tracks/{id}        one track with its route and refs
 *
 * Reads only: nothing here writes, so nothing is audited. A parameter that
 * is wrong is refused with 422 naming it; a store that fails, with 503.
 */
#include "http/http_int.h"
#include "http/mod_int.h"

#include <stdlib.h>
#include <string.h>

#include "sightline/summary.h"
#include "sightline/timefmt.h"
#include "sightline/track_json.h"

static const char *arg(mod_ctx *ctx, const char *name)
{
	return MHD_lookup_connection_value(ctx->conn, MHD_GET_ARGUMENT_KIND, name);
}

static void time_arg(mod_ctx *ctx, const char *name, bool *has, int64_t *t,
		     sl_problems *why)
{
	const char *v = arg(ctx, name);
	if (!v)
		return;
	if (sl_time_parse(v, t) != SL_OK)
		sl_problems_add(why, name,
				"is not an RFC 3339 time such as 2022-10-10T00:00:00Z");
	else
		*has = true;
}

static void category_arg(mod_ctx *ctx, bool *has, sl_category *c, sl_problems *why)
{
	const char *v = arg(ctx, "category");
	if (!v)
		return;
	if (!sl_category_from_name(v, c))
		sl_problems_add(why, "category", "is not a known category");
	else
		*has = true;
}

static enum MHD_Result refuse(mod_ctx *ctx, unsigned status, const char *detail,
			      const sl_problems *why)
{
	return sl_http_problem(ctx->conn, status, detail, why, NULL,
			       status == 503 ? 5 : 0);
}

enum MHD_Result sl_tracks_summary(mod_ctx *ctx)
{
	sl_summary_query q = {.period = SL_PERIOD_DAY, .category = SL_CAT_RAIL_TRANSPORT};
	sl_problems why = {0};
	const char *v;
	if ((v = arg(ctx, "period")) && !sl_period_from_name(v, &q.period))
		sl_problems_add(&why, "period", "expected day, week or month");
	time_arg(ctx, "from", &q.has_from, &q.from, &why);
	time_arg(ctx, "to", &q.has_to, &q.to, &why);
	if (q.has_from && q.has_to && q.to <= q.from)
		sl_problems_add(&why, "to", "is not after from");
	bool has_cat = false;
	category_arg(ctx, &has_cat, &q.category, &why);
	if (why.n)
		return refuse(ctx, 422, NULL, &why);
	json_t *doc;
	sl_err e = sl_summary_json(ctx->srv->store, &q, &doc);
	if (e == SL_ETOOBIG) {
		sl_problems_add(
		    &why, "period",
		    "the range holds more than %d of them: narrow from and to, or "
		    "take a longer period",
		    SL_SUMMARY_MAX_PERIODS);
		return refuse(ctx, 422, NULL, &why);
	}
	if (e != SL_OK)
		return refuse(ctx, 503,
			      e == SL_ENOMEM ? "out of memory; try again"
					     : "the store failed; try again",
			      NULL);
	return sl_http_json(ctx->conn, 200, doc);
}

static enum MHD_Result list_tracks(mod_ctx *ctx, const sl_track_filter *f)
{
	sl_arena *a = sl_arena_new((size_t)64 << 20);
	if (!a)
		return refuse(ctx, 503, "out of memory; try again", NULL);
	sl_track *list;
	size_t n;
	sl_err e = sl_store_find_tracks(ctx->srv->store, f, a, &list, &n);
	if (e != SL_OK) {
		sl_arena_free(a);
		return refuse(ctx, 503, "the store failed; try again", NULL);
	}
	if (f->id && n == 0) {
		sl_arena_free(a);
		return refuse(ctx, 404, "no such track", NULL);
	}
	unsigned flags = f->id ? SL_TRACK_JSON_ROUTE | SL_TRACK_JSON_REFS : 0;
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < n; i++)
		if (json_array_append_new(arr, sl_track_to_json(&list[i], flags))) {
			json_decref(arr);
			arr = NULL;
		}
	int64_t next = n == f->limit ? list[n - 1].id : 0;
	sl_arena_free(a);
	if (!arr)
		return refuse(ctx, 503, "out of memory; try again", NULL);
	if (f->id) {
		json_t *one = json_incref(json_array_get(arr, 0));
		json_decref(arr);
		return sl_http_json(ctx->conn, 200, one);
	}
	return sl_http_json(ctx->conn, 200,
			    json_pack("{s:o,s:o}", "tracks", arr, "next",
				      next ? json_integer(next) : json_null()));
}

enum MHD_Result sl_tracks_list(mod_ctx *ctx)
{
	sl_track_filter f = {0};
	sl_problems why = {0};
	if (!sl_review_parse_limit(ctx->conn, SL_TRACKS_MAX, &f.limit))
		sl_problems_add(&why, "limit", "expected a whole number from 1");
	time_arg(ctx, "from", &f.has_from, &f.from, &why);
	time_arg(ctx, "to", &f.has_to, &f.to, &why);
	if (f.has_from && f.has_to && f.from > f.to)
		sl_problems_add(&why, "to", "is before from");
	category_arg(ctx, &f.has_category, &f.category, &why);
	const char *v;
	if ((v = arg(ctx, "direction"))) {
		if (!sl_direction_from_name(v, &f.direction))
			sl_problems_add(&why, "direction",
					"expected toward_ukraine, away_from_ukraine, "
					"toward_russia, internal or unknown");
		else
			f.has_direction = true;
	}
	if ((v = arg(ctx, "min_events"))) {
		size_t n = strspn(v, "0123456789");
		if (n == 0 || n > 6 || v[n])
			sl_problems_add(&why, "min_events", "expected a whole number");
		else
			f.min_events = strtol(v, NULL, 10);
	}
	if ((v = arg(ctx, "before")) && !sl_review_parse_id(v, &f.cursor))
		sl_problems_add(&why, "before", "is not a track id");
	if (why.n)
		return refuse(ctx, 422, NULL, &why);
	return list_tracks(ctx, &f);
}

enum MHD_Result sl_tracks_get(mod_ctx *ctx)
{
	sl_track_filter f = {.limit = 1, .with_route = true, .with_refs = true};
	if (!sl_review_parse_id(ctx->params[0], &f.id))
		return refuse(ctx, 404, "no such track", NULL);
	return list_tracks(ctx, &f);
}
