/*
 * report_json.c — the JSON form of a report (docs/API.md), both ways.
 *
 * Decoding is where outside input first becomes a report, so it is strict
 * and explains itself: jansson refuses malformed text, invalid UTF-8, NUL in
 * strings and duplicate keys; here every field is checked for its type and
 * unknown fields are refused (a typo must not silently drop data). Range and
 * cross-field rules are sl_report_validate's, shared with every other source.
 */
#include "sightline/report_json.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sightline/timefmt.h"

/* The body of an error message may quote what was sent, cut short at a
 * UTF-8 boundary so the message itself stays valid text. */
static void excerpt(const char *s, char out[48])
{
	size_t n = strlen(s);
	if (n <= 40) {
		snprintf(out, 48, "\"%s\"", s);
		return;
	}
	n = 40;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	snprintf(out, 48, "\"%.*s...\"", (int)n, s);
}

static const char *type_word(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	case JSON_NULL: return "null";
	}
	return "a value";
}

typedef struct decoder {
	sl_arena *a;
	sl_problems *why;
	int64_t now;
	bool nomem;
} decoder;

/* An optional string: NULL when absent or null; reports a wrong type. */
static const char *opt_string(decoder *d, const char *field, const json_t *v)
{
	if (!v || json_is_null(v))
		return NULL;
	if (!json_is_string(v)) {
		sl_problems_add(d->why, field, "expected a string, got %s", type_word(v));
		return NULL;
	}
	char *s = sl_arena_strndup(d->a, json_string_value(v), json_string_length(v));
	if (!s)
		d->nomem = true;
	return s;
}

static bool get_number(decoder *d, const char *field, const json_t *v, double *out)
{
	if (!json_is_number(v)) {
		sl_problems_add(d->why, field, "expected a number, got %s", type_word(v));
		return false;
	}
	*out = json_number_value(v);
	return true;
}

/* A whole number that must fit the model's int32 counts. Values outside are
 * reported here, against the model's range, and replaced by lo so that the
 * shared validation does not report them a second time. */
static int32_t get_count(decoder *d, const char *field, const json_t *v, int32_t lo)
{
	if (!json_is_integer(v)) {
		sl_problems_add(d->why, field, "expected a whole number, got %s",
				type_word(v));
		return lo;
	}
	json_int_t n = json_integer_value(v);
	if (n < lo || n > SL_REPORT_MAX_COUNT) {
		if (n < INT32_MIN || n > INT32_MAX) {
			sl_problems_add(d->why, field, "%" JSON_INTEGER_FORMAT
					" is outside %d..%d", n, (int)lo, SL_REPORT_MAX_COUNT);
			return lo;
		}
	}
	return (int32_t)n;
}

static void get_time(decoder *d, const char *field, const json_t *v, int64_t *out)
{
	if (!json_is_string(v)) {
		sl_problems_add(d->why, field, "expected an RFC 3339 date-time string, got %s",
				type_word(v));
		return;
	}
	if (sl_time_parse(json_string_value(v), out) != SL_OK) {
		char ex[48];
		excerpt(json_string_value(v), ex);
		sl_problems_add(d->why, field,
				"%s is not an RFC 3339 date-time such as 2022-10-10T08:30:00Z",
				ex);
	}
}

static void decode_location(decoder *d, const json_t *v, sl_location *loc)
{
	if (!json_is_object(v)) {
		sl_problems_add(d->why, "location", "expected an object, got %s", type_word(v));
		return;
	}
	const char *key;
	json_t *item;
	const json_t *lat = NULL, *lon = NULL, *unc = NULL;
	json_object_foreach((json_t *)v, key, item) {
		if (strcmp(key, "lat") == 0)
			lat = item;
		else if (strcmp(key, "lon") == 0)
			lon = item;
		else if (strcmp(key, "uncertainty_m") == 0)
			unc = item;
		else if (strcmp(key, "place") == 0)
			loc->place = opt_string(d, "location.place", item);
		else {
			char f[64];
			snprintf(f, sizeof(f), "location.%.40s", key);
			sl_problems_add(d->why, f, "is not a known field");
		}
	}
	if (json_is_null(lat))
		lat = NULL;
	if (json_is_null(lon))
		lon = NULL;
	if (json_is_null(unc))
		unc = NULL;
	if ((lat == NULL) != (lon == NULL)) {
		sl_problems_add(d->why, lat ? "location.lon" : "location.lat",
				"is required when %s is given", lat ? "lat" : "lon");
		return;
	}
	if (!lat) {
		if (unc)
			sl_problems_add(d->why, "location.uncertainty_m",
					"needs lat and lon");
		return;
	}
	bool ok = get_number(d, "location.lat", lat, &loc->lat);
	ok = get_number(d, "location.lon", lon, &loc->lon) && ok;
	loc->uncertainty_m = SL_REPORT_DEFAULT_UNCERTAINTY;
	if (unc)
		ok = get_number(d, "location.uncertainty_m", unc, &loc->uncertainty_m) && ok;
	loc->has_point = ok;
}

static void decode_equipment_item(decoder *d, size_t i, const json_t *v,
				  sl_equipment *e)
{
	char f[64];
	if (!json_is_object(v)) {
		snprintf(f, sizeof(f), "equipment[%zu]", i);
		sl_problems_add(d->why, f, "expected an object, got %s", type_word(v));
		return;
	}
	const char *key;
	json_t *item;
	bool has_type = false, has_count = false;
	e->count = 1;
	json_object_foreach((json_t *)v, key, item) {
		snprintf(f, sizeof(f), "equipment[%zu].%.30s", i, key);
		if (strcmp(key, "type") == 0) {
			has_type = true;
			if (!json_is_string(item)) {
				sl_problems_add(d->why, f, "expected a string, got %s",
						type_word(item));
			} else if (!sl_equipment_type_from_name(json_string_value(item),
								&e->type)) {
				char ex[48];
				excerpt(json_string_value(item), ex);
				sl_problems_add(d->why, f,
						"%s is not one of tank, ifv, apc, artillery, "
						"mlrs, air_defence, missile_launcher, truck, "
						"fuel_truck, engineering, command, "
						"helicopter, aircraft, other", ex);
			}
		} else if (strcmp(key, "model") == 0) {
			e->model = opt_string(d, f, item);
		} else if (strcmp(key, "count") == 0) {
			has_count = true;
			e->count = get_count(d, f, item, 1);
		} else if (strcmp(key, "count_max") == 0) {
			if (!json_is_null(item))
				e->count_max = get_count(d, f, item, 1);
		} else {
			sl_problems_add(d->why, f, "is not a known field");
		}
	}
	if (!has_type) {
		snprintf(f, sizeof(f), "equipment[%zu].type", i);
		sl_problems_add(d->why, f, "is required");
	}
	if (!has_count) {
		snprintf(f, sizeof(f), "equipment[%zu].count", i);
		sl_problems_add(d->why, f, "is required");
	}
}

static void decode_equipment(decoder *d, const json_t *v, sl_report *r)
{
	if (json_is_null(v))
		return;
	if (!json_is_array(v)) {
		sl_problems_add(d->why, "equipment", "expected an array, got %s", type_word(v));
		return;
	}
	size_t n = json_array_size(v);
	if (n > SL_REPORT_MAX_EQUIPMENT) {
		sl_problems_add(d->why, "equipment", "%zu items is more than the limit of %d",
				n, SL_REPORT_MAX_EQUIPMENT);
		return;
	}
	r->equipment = n ? sl_arena_alloc(d->a, n * sizeof(*r->equipment)) : NULL;
	if (n && !r->equipment) {
		d->nomem = true;
		return;
	}
	r->n_equipment = n;
	for (size_t i = 0; i < n; i++)
		decode_equipment_item(d, i, json_array_get(v, i), &r->equipment[i]);
}

static void decode_heading(decoder *d, const json_t *v, sl_report *r)
{
	if (json_is_null(v))
		return;
	if (json_is_number(v)) {
		double h = json_number_value(v);
		if (h < 0 || h > 360) {
			sl_problems_add(d->why, "heading", "%g is outside 0..360", h);
			return;
		}
		r->heading_deg = h == 360 ? 0 : h;
		r->has_heading = true;
	} else if (json_is_string(v)) {
		if (!sl_heading_parse(json_string_value(v), &r->heading_deg)) {
			char ex[48];
			excerpt(json_string_value(v), ex);
			sl_problems_add(d->why, "heading",
					"%s is neither a compass point (N, NE, ENE, "
					"north-east ...) nor degrees 0..360", ex);
			return;
		}
		r->has_heading = true;
	} else {
		sl_problems_add(d->why, "heading",
				"expected a compass point or degrees, got %s", type_word(v));
	}
}

static void decode_category(decoder *d, const json_t *v, sl_report *r)
{
	if (!json_is_string(v)) {
		sl_problems_add(d->why, "category", "expected a string, got %s", type_word(v));
		return;
	}
	if (!sl_category_from_name(json_string_value(v), &r->category)) {
		char ex[48];
		excerpt(json_string_value(v), ex);
		sl_problems_add(d->why, "category",
				"%s is not one of rail_transport, road_convoy, aircraft, "
				"helicopter, troops, air_defence, missile_system, naval, "
				"fortification, other", ex);
	}
}

/* The fields only an export carries. */
static bool decode_server_field(decoder *d, const char *key, const json_t *v,
				sl_report *r)
{
	if (strcmp(key, "id") == 0)
		return true; /* a new store gives its own ids */
	if (strcmp(key, "received_at") == 0) {
		/* A server set it, so it lies between 2000 and now; anything
		 * else (the year 0026) was never written by one. */
		int64_t t = r->received_at;
		size_t before = d->why->n + d->why->dropped;
		get_time(d, "received_at", v, &t);
		if (d->why->n + d->why->dropped == before &&
		    (t < SL_REPORT_MIN_TIME || t > d->now + SL_REPORT_FUTURE_SLACK))
			sl_problems_add(d->why, "received_at",
					"is before 2000 or in the future");
		r->received_at = t - t % 60;
		return true;
	}
	if (strcmp(key, "status") == 0) {
		if (!json_is_string(v) || !sl_status_from_name(json_string_value(v), &r->status))
			sl_problems_add(d->why, "status",
					"is not one of received, under_review, verified, "
					"rejected");
		return true;
	}
	return false;
}

sl_err sl_report_from_json(const json_t *root, unsigned flags, int64_t now,
			   sl_arena *a, sl_report *out, sl_problems *why)
{
	sl_report_init(out, now);
	if (!json_is_object(root)) {
		sl_problems_add(why, "", "expected a JSON object, got %s", type_word(root));
		return SL_EVALID;
	}
	decoder d = {.a = a, .why = why, .now = now};
	size_t before = why->n + why->dropped;
	bool has_category = false, has_observed = false;
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)root, key, v) {
		if (strcmp(key, "category") == 0) {
			has_category = !json_is_null(v);
			if (has_category)
				decode_category(&d, v, out);
		} else if (strcmp(key, "observed_at") == 0) {
			has_observed = !json_is_null(v);
			if (has_observed)
				get_time(&d, "observed_at", v, &out->observed_at);
		} else if (strcmp(key, "observed_until") == 0) {
			if (!json_is_null(v)) {
				out->has_until = true;
				get_time(&d, "observed_until", v, &out->observed_until);
			}
		} else if (strcmp(key, "location") == 0) {
			if (!json_is_null(v))
				decode_location(&d, v, &out->location);
		} else if (strcmp(key, "equipment") == 0) {
			decode_equipment(&d, v, out);
		} else if (strcmp(key, "heading") == 0) {
			decode_heading(&d, v, out);
		} else if (strcmp(key, "destination") == 0) {
			out->destination = opt_string(&d, "destination", v);
		} else if (strcmp(key, "text") == 0) {
			out->text = opt_string(&d, "text", v);
		} else if (strcmp(key, "contact") == 0) {
			out->contact = opt_string(&d, "contact", v);
		} else if (strcmp(key, "language") == 0) {
			out->language = opt_string(&d, "language", v);
		} else if (strcmp(key, "ref") == 0) {
			out->ref = opt_string(&d, "ref", v);
		} else if (!((flags & SL_JSON_SERVER_FIELDS) &&
			     decode_server_field(&d, key, v, out))) {
			char f[64];
			snprintf(f, sizeof(f), "%.60s", key);
			sl_problems_add(why, f, "is not a known field");
		}
	}
	if (d.nomem)
		return SL_ENOMEM;
	if (!has_category)
		sl_problems_add(why, "category", "is required");
	if (!has_observed)
		sl_problems_add(why, "observed_at", "is required");
	if (why->n + why->dropped > before) {
		/* Type errors first; range rules only make sense on a report whose
		 * fields all decoded, except that a missing location is worth
		 * saying in the same answer. */
		if (!out->location.has_point && !out->location.place &&
		    !json_object_get(root, "location"))
			sl_problems_add(why, "location",
					"is required: give lat and lon, or place");
		return SL_EVALID;
	}
	return sl_report_validate(out, now, why);
}

sl_err sl_report_from_json_text(const char *buf, size_t len, unsigned flags,
				int64_t now, sl_arena *a, sl_report *out,
				sl_problems *why)
{
	json_error_t err;
	json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &err);
	if (!root) {
		memset(out, 0, sizeof(*out));
		if (json_error_code(&err) == json_error_out_of_memory)
			return SL_ENOMEM;
		sl_problems_add(why, "", "malformed JSON at line %d, column %d: %s",
				err.line, err.column, err.text);
		return SL_EPARSE;
	}
	sl_err e = sl_report_from_json(root, flags, now, a, out, why);
	json_decref(root);
	return e;
}

/* json_object_set_new that remembers a failure instead of leaking. */
static void put(json_t *obj, const char *key, json_t *v, bool *ok)
{
	if (!v || json_object_set_new(obj, key, v) != 0)
		*ok = false;
}

static json_t *time_json(int64_t t)
{
	char buf[SL_TIME_TEXT_MAX];
	sl_time_format(t, buf);
	return json_string(buf);
}

static json_t *location_json(const sl_location *loc, bool *ok)
{
	json_t *o = json_object();
	if (!o) {
		*ok = false;
		return NULL;
	}
	if (loc->has_point) {
		put(o, "lat", json_real(loc->lat), ok);
		put(o, "lon", json_real(loc->lon), ok);
		put(o, "uncertainty_m", json_real(loc->uncertainty_m), ok);
	}
	if (loc->place)
		put(o, "place", json_string(loc->place), ok);
	return o;
}

static json_t *equipment_json(const sl_report *r, bool *ok)
{
	json_t *arr = json_array();
	if (!arr) {
		*ok = false;
		return NULL;
	}
	for (size_t i = 0; i < r->n_equipment; i++) {
		const sl_equipment *e = &r->equipment[i];
		json_t *o = json_object();
		if (!o || json_array_append_new(arr, o) != 0) {
			*ok = false;
			break;
		}
		put(o, "type", json_string(sl_equipment_type_name(e->type)), ok);
		if (e->model)
			put(o, "model", json_string(e->model), ok);
		put(o, "count", json_integer(e->count), ok);
		if (e->count_max)
			put(o, "count_max", json_integer(e->count_max), ok);
	}
	return arr;
}

json_t *sl_report_to_json(const sl_report *r, unsigned flags)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	bool ok = true;
	if (flags & SL_JSON_SERVER_FIELDS) {
		put(o, "id", json_integer(r->id), &ok);
		put(o, "status", json_string(sl_status_name(r->status)), &ok);
		put(o, "received_at", time_json(r->received_at), &ok);
	}
	put(o, "category", json_string(sl_category_name(r->category)), &ok);
	put(o, "observed_at", time_json(r->observed_at), &ok);
	if (r->has_until)
		put(o, "observed_until", time_json(r->observed_until), &ok);
	put(o, "location", location_json(&r->location, &ok), &ok);
	put(o, "equipment", equipment_json(r, &ok), &ok);
	if (r->has_heading)
		put(o, "heading", json_real(r->heading_deg), &ok);
	const struct {
		const char *key, *value;
	} texts[] = {
		{"destination", r->destination}, {"text", r->text},
		{"contact", r->contact},         {"language", r->language},
		{"ref", r->ref},
	};
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		if (texts[i].value)
			put(o, texts[i].key, json_string(texts[i].value), &ok);
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}
