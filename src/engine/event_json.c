/*
 * event_json.c — events to JSON (event_json.h) and the events export.
 */
#include "sightline/event_json.h"

#include <stdlib.h>

#include "sightline/timefmt.h"

static json_t *time_text(int64_t t)
{
	char buf[SL_TIME_TEXT_MAX];
	sl_time_format(t, buf);
	return json_string(buf);
}

/* Sets key to v (taken) on o; false when v is NULL or the set fails. */
static bool put(json_t *o, const char *key, json_t *v)
{
	return v && json_object_set_new(o, key, v) == 0;
}

json_t *sl_event_items_json(const sl_event_item *items, size_t n)
{
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < n; i++) {
		const sl_event_item *it = &items[i];
		if (json_array_append_new(
			arr, json_pack("{s:s,s:i,s:i,s:i}", "type",
				       sl_equipment_type_name(it->type), "count",
				       (int)it->count, "count_min", (int)it->count_min,
				       "count_max", (int)it->count_max))) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

sl_err sl_json_line(FILE *out, json_t *v)
{
	if (!v)
		return SL_ENOMEM;
	sl_err err = json_dumpf(v, out, JSON_COMPACT | JSON_REAL_PRECISION(10)) ||
			     fputc('\n', out) == EOF
			 ? SL_EIO
			 : SL_OK;
	json_decref(v);
	return err;
}

json_t *sl_event_to_json(const sl_event *e)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	bool ok = put(o, "id", json_integer(e->id)) &&
		  put(o, "category",
		      e->has_category ? json_string(sl_category_name(e->category))
				      : json_null()) &&
		  put(o, "origin", json_string(e->by_moderator ? "moderator" : "engine"));
	if (ok && e->has_estimate)
		ok = put(o, "time",
			 json_pack("{s:o,s:o}", "start", time_text(e->t_start), "end",
				   time_text(e->t_end))) &&
		     put(o, "confidence", json_real(e->confidence));
	if (ok && e->has_point)
		ok = put(o, "location",
			 json_pack("{s:f,s:f,s:f}", "lat", e->lat, "lon", e->lon,
				   "uncertainty_m", e->uncertainty_m));
	if (ok && e->has_heading)
		ok = put(o, "heading", json_real(e->heading_deg));
	ok = ok && put(o, "equipment", sl_event_items_json(e->items, e->n_items));
	json_t *ids = ok ? json_array() : NULL;
	json_t *refs = ok && e->refs ? json_array() : NULL;
	for (size_t i = 0; ids && i < e->n_reports; i++) {
		if (json_array_append_new(ids, json_integer(e->report_ids[i])))
			ok = false;
		if (refs && e->refs[i] &&
		    json_array_append_new(refs, json_string(e->refs[i])))
			ok = false;
	}
	ok = ok && put(o, "report_ids", ids);
	if (ok && e->refs)
		ok = put(o, "reports", refs);
	else
		json_decref(refs);
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

#define EXPORT_PAGE 500

sl_err sl_export_events_jsonl(sl_store *s, FILE *out, size_t *count)
{
	if (count)
		*count = 0;
	if (!s || !out)
		return SL_EINVAL;
	sl_arena *a = sl_arena_new((size_t)64 << 20);
	if (!a)
		return SL_ENOMEM;
	sl_event_filter f = {
	    .ascending = true, .with_refs = true, .min_reports = 1, .limit = EXPORT_PAGE};
	sl_err err = SL_OK;
	for (;;) {
		sl_event *evs;
		size_t n;
		sl_arena_reset(a);
		if ((err = sl_store_find_events(s, &f, a, &evs, &n)) || n == 0)
			break;
		for (size_t i = 0; i < n && !err; i++)
			if (!(err = sl_json_line(out, sl_event_to_json(&evs[i]))) &&
			    count)
				(*count)++;
		f.cursor = evs[n - 1].id;
	}
	sl_arena_free(a);
	if (!err && (fflush(out) != 0 || ferror(out)))
		err = SL_EIO;
	return err;
}
