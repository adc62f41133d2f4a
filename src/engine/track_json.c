/*
 * track_json.c — tracks to JSON (track_json.h) and the tracks export.
 */
#include "sightline/track_json.h"

#include <math.h>
#include <stdlib.h>

#include "sightline/borders.h"
#include "sightline/event_json.h"
#include "sightline/timefmt.h"

static const struct {
	int code;
	const char *name;
} countries[] = {
    {SL_COUNTRY_UKRAINE, "Ukraine"}, {SL_COUNTRY_RUSSIA, "Russia"},
    {SL_COUNTRY_POLAND, "Poland"},   {SL_COUNTRY_LITHUANIA, "Lithuania"},
    {SL_COUNTRY_LATVIA, "Latvia"},   {SL_COUNTRY_BELARUS, "Belarus"},
};

const char *sl_country_name(int code)
{
	for (size_t i = 0; i < sizeof(countries) / sizeof(countries[0]); i++)
		if (countries[i].code == code)
			return countries[i].name;
	return NULL;
}

/* Sets key to v (taken) on o; false when v is NULL or the set fails. */
static bool put(json_t *o, const char *key, json_t *v)
{
	return v && json_object_set_new(o, key, v) == 0;
}

static json_t *km(double m)
{
	return json_real(round(m / 100.0) / 10.0);
}

static json_t *seen(int64_t t, double lat, double lon)
{
	char buf[SL_TIME_TEXT_MAX];
	sl_time_format(t, buf);
	return json_pack("{s:s,s:f,s:f}", "time", buf, "lat", lat, "lon", lon);
}

static json_t *crossing(const sl_track *t)
{
	if (!t->has_crossing)
		return json_null();
	const char *name = sl_country_name(t->crossing_country);
	json_t *o =
	    json_pack("{s:i,s:o,s:s,s:f,s:f,s:o}", "country", t->crossing_country,
		      "country_name", name ? json_string(name) : json_null(), "station",
		      t->crossing_name ? t->crossing_name : "", "lat", t->crossing_lat,
		      "lon", t->crossing_lon, "distance_km", km(t->crossing_distance_m));
	return o;
}

json_t *sl_track_to_json(const sl_track *t, unsigned flags)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	bool ok =
	    put(o, "id", json_integer(t->id)) &&
	    put(o, "category", json_string(sl_category_name(t->category))) &&
	    put(o, "first", seen(t->t_first, t->first_lat, t->first_lon)) &&
	    put(o, "last", seen(t->t_last, t->last_lat, t->last_lon)) &&
	    put(o, "heading", t->has_heading ? json_real(t->heading_deg) : json_null()) &&
	    put(o, "length_km", km(t->length_m)) &&
	    put(o, "confidence", json_real(t->confidence)) &&
	    put(o, "may_continue", json_boolean(t->may_continue)) &&
	    put(o, "direction",
		json_pack("{s:s,s:f,s:o,s:o,s:b}", "class",
			  sl_direction_name(t->direction), "confidence",
			  t->direction_confidence, "ukraine_change_km",
			  km(t->ukraine_change_m), "russia_change_km",
			  km(t->russia_change_m), "toward_russia", t->toward_russia)) &&
	    put(o, "crossing", crossing(t));
	ok = ok && put(o, "equipment", sl_event_items_json(t->items, t->n_items)) &&
	     put(o, "n_reports", json_integer((json_int_t)t->n_reports));
	json_t *ids = ok ? json_array() : NULL;
	for (size_t i = 0; ids && i < t->n_events; i++)
		if (json_array_append_new(ids, json_integer(t->event_ids[i])))
			ok = false;
	ok = ok && put(o, "events", ids);
	if (ok && (flags & SL_TRACK_JSON_ROUTE)) {
		json_t *r = json_array();
		for (size_t i = 0; r && i < t->n_route; i++)
			if (json_array_append_new(
				r, json_pack("[f,f]", t->route_lon[i], t->route_lat[i])))
				ok = false;
		ok = ok && put(o, "route", r);
	}
	if (ok && (flags & SL_TRACK_JSON_REFS) && t->ref_start) {
		json_t *all = json_array(), *per = json_array();
		for (size_t i = 0; all && per && i < t->n_events; i++) {
			json_t *ev = json_array();
			for (size_t k = t->ref_start[i]; ev && k < t->ref_start[i + 1];
			     k++)
				if (json_array_append_new(ev, json_string(t->refs[k])) ||
				    json_array_append_new(all, json_string(t->refs[k])))
					ok = false;
			if (!ev || json_array_append_new(per, ev))
				ok = false;
		}
		ok = ok && put(o, "reports", all) && put(o, "event_reports", per);
		if (!ok) {
			json_decref(all);
			json_decref(per);
		}
	}
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

#define EXPORT_PAGE 200

sl_err sl_export_tracks_jsonl(sl_store *s, FILE *out, size_t *count)
{
	if (count)
		*count = 0;
	if (!s || !out)
		return SL_EINVAL;
	sl_arena *a = sl_arena_new((size_t)128 << 20);
	if (!a)
		return SL_ENOMEM;
	sl_track_filter f = {.ascending = true,
			     .with_route = true,
			     .with_refs = true,
			     .limit = EXPORT_PAGE};
	sl_err err = SL_OK;
	for (;;) {
		sl_track *trs;
		size_t n;
		sl_arena_reset(a);
		if ((err = sl_store_find_tracks(s, &f, a, &trs, &n)) || n == 0)
			break;
		for (size_t i = 0; i < n && !err; i++)
			if (!(err = sl_json_line(
				  out,
				  sl_track_to_json(&trs[i], SL_TRACK_JSON_ROUTE |
								SL_TRACK_JSON_REFS))) &&
			    count)
				(*count)++;
		f.cursor = trs[n - 1].id;
	}
	sl_arena_free(a);
	if (!err && (fflush(out) != 0 || ferror(out)))
		err = SL_EIO;
	return err;
}
