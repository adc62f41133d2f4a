/*
 * objects.c — the objects file of `sightline simulate --objects` (sim.h,
 * docs/SIMULATOR.md): one real object per line, as JSON.
 *
 *   {"id": "train-1", "kind": "rail", "route": ["Брест", "Барановичи", "Орша"],
 *    "start": "2022-10-10T06:00:00Z", "end": "2022-10-10T16:00:00Z",
 *    "origin": "Брест", "destination": "Орша",
 *    "equipment": [{"type": "tank", "model": "T-72B3", "count": 20}]}
 *
 * Strict like the report JSON: unknown fields and wrong types are refused,
 * with the line and the field; blank lines are skipped.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sightline/buf.h"
#include "sightline/geo.h"
#include "sightline/timefmt.h"
#include "sim/sim_int.h"

#define LINE_MAX_BYTES (1u << 20)

void sl_sim_objects_free(sl_sim_objects *o)
{
	if (!o)
		return;
	for (size_t i = 0; i < o->n; i++) {
		sim_spec *s = &o->spec[i];
		free(s->lon);
		free(s->lat);
		for (size_t k = 0; s->names && k < s->n_route; k++)
			free(s->names[k]);
		free(s->names);
	}
	free(o->spec);
	free(o);
}

size_t sl_sim_objects_count(const sl_sim_objects *o)
{
	return o ? o->n : 0;
}

/* Copies a string field into out[cap]; false (said in why) if it is not a
 * string or too long. */
static bool get_string(const json_t *v, const char *field, char *out, size_t cap,
		       sl_problems *why, const char *where)
{
	if (!json_is_string(v)) {
		sl_problems_add(why, where, "%s: expected a string", field);
		return false;
	}
	if (json_string_length(v) >= cap || json_string_length(v) == 0) {
		sl_problems_add(why, where, "%s: must be 1..%zu bytes", field, cap - 1);
		return false;
	}
	memcpy(out, json_string_value(v), json_string_length(v) + 1);
	return true;
}

static bool get_time(const json_t *v, const char *field, int64_t *out, sl_problems *why,
		     const char *where)
{
	if (!json_is_string(v) || sl_time_parse(json_string_value(v), out) != SL_OK) {
		sl_problems_add(why, where,
				"%s: expected an RFC 3339 date-time such as "
				"2022-10-10T08:30:00Z",
				field);
		return false;
	}
	return true;
}

static bool get_route(const json_t *v, sim_spec *s, sl_problems *why, const char *where)
{
	size_t n = json_array_size(v);
	size_t need = s->kind == SL_SIM_SORTIE ? 1 : 2;
	if (!json_is_array(v) || n < need || n > SL_SIM_ROUTE_MAX) {
		sl_problems_add(why, where,
				"route: expected an array of %zu..%u positions "
				"[lon, lat] or station names",
				need, SL_SIM_ROUTE_MAX);
		return false;
	}
	bool names = json_is_string(json_array_get(v, 0));
	if (names)
		s->names = calloc(n, sizeof(char *));
	else
		s->lon = malloc(n * sizeof(double)), s->lat = malloc(n * sizeof(double));
	if (names ? !s->names : !s->lon || !s->lat) {
		sl_problems_add(why, where, "out of memory");
		return false;
	}
	s->n_route = n;
	for (size_t i = 0; i < n; i++) {
		const json_t *p = json_array_get(v, i);
		if (names) {
			if (!json_is_string(p) || json_string_length(p) == 0 ||
			    json_string_length(p) >= SIM_NAME_MAX ||
			    !(s->names[i] = strdup(json_string_value(p)))) {
				sl_problems_add(why, where,
						"route[%zu]: expected a station name "
						"(1..%d bytes), like the first",
						i, SIM_NAME_MAX - 1);
				return false;
			}
			continue;
		}
		double lon = json_number_value(json_array_get(p, 0));
		double lat = json_number_value(json_array_get(p, 1));
		if (!json_is_array(p) || json_array_size(p) != 2 ||
		    !json_is_number(json_array_get(p, 0)) ||
		    !json_is_number(json_array_get(p, 1)) || !sl_geo_valid(lat, lon)) {
			sl_problems_add(why, where,
					"route[%zu]: expected [lon, lat] in range, "
					"like the first",
					i);
			return false;
		}
		s->lon[i] = lon, s->lat[i] = lat;
	}
	return true;
}

static bool get_equipment(const json_t *v, sim_spec *s, sl_problems *why,
			  const char *where)
{
	size_t n = json_array_size(v);
	if (!json_is_array(v) || n == 0 || n > SIM_MAX_ITEMS) {
		sl_problems_add(why, where, "equipment: expected an array of 1..%d items",
				SIM_MAX_ITEMS);
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		const json_t *e = json_array_get(v, i);
		sim_item *it = &s->items[i];
		const char *key;
		json_t *val;
		bool type = false, count = false;
		if (!json_is_object(e)) {
			sl_problems_add(why, where, "equipment[%zu]: expected an object",
					i);
			return false;
		}
		json_object_foreach((json_t *)e, key, val)
		{
			if (strcmp(key, "type") == 0) {
				type = json_is_string(val) &&
				       sl_equipment_type_from_name(json_string_value(val),
								   &it->type);
			} else if (strcmp(key, "count") == 0) {
				count = json_is_integer(val) &&
					json_integer_value(val) >= 1 &&
					json_integer_value(val) <= SL_REPORT_MAX_COUNT;
				it->count = count ? (int32_t)json_integer_value(val) : 0;
			} else if (strcmp(key, "model") == 0) {
				char f[32];
				snprintf(f, sizeof(f), "equipment[%zu].model", i);
				if (!get_string(val, f, s->models[i],
						sizeof(s->models[i]), why, where))
					return false;
				it->model = s->models[i];
			} else {
				sl_problems_add(
				    why, where,
				    "equipment[%zu].%.30s: is not a known field", i, key);
				return false;
			}
		}
		if (!type || !count) {
			sl_problems_add(why, where, "equipment[%zu].%s: %s", i,
					type ? "count" : "type",
					type ? "a whole number 1..100000 is required"
					     : "a known equipment type (tank, ifv, "
					       "truck, ...) is required");
			return false;
		}
	}
	s->n_items = n;
	return true;
}

/* One line's object into s; false after saying why. */
static bool read_object(const json_t *o, sim_spec *s, sl_problems *why, const char *where)
{
	if (!json_is_object(o)) {
		sl_problems_add(why, where, "expected a JSON object");
		return false;
	}
	const json_t *kind = json_object_get(o, "kind");
	if (!json_is_string(kind) ||
	    !sl_sim_kind_from_name(json_string_value(kind), &s->kind) ||
	    s->kind == SL_SIM_FALSE) {
		sl_problems_add(why, where,
				"kind: expected \"rail\", \"convoy\" or \"sortie\"");
		return false;
	}
	s->category = s->kind == SL_SIM_RAIL	 ? SL_CAT_RAIL_TRANSPORT
		      : s->kind == SL_SIM_CONVOY ? SL_CAT_ROAD_CONVOY
						 : SL_CAT_AIRCRAFT;
	bool has_id = false, has_route = false, has_start = false, has_eq = false;
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)o, key, v)
	{
		bool ok = true;
		if (strcmp(key, "id") == 0)
			ok = has_id =
			    get_string(v, "id", s->id, sizeof(s->id), why, where);
		else if (strcmp(key, "kind") == 0)
			continue;
		else if (strcmp(key, "category") == 0) {
			ok = json_is_string(v) &&
			     sl_category_from_name(json_string_value(v), &s->category);
			if (!ok)
				sl_problems_add(why, where,
						"category: not a known category");
		} else if (strcmp(key, "route") == 0)
			ok = has_route = get_route(v, s, why, where);
		else if (strcmp(key, "start") == 0)
			ok = has_start = get_time(v, "start", &s->start, why, where);
		else if (strcmp(key, "end") == 0)
			ok = get_time(v, "end", &s->end, why, where);
		else if (strcmp(key, "origin") == 0)
			ok = get_string(v, "origin", s->origin, sizeof(s->origin), why,
					where);
		else if (strcmp(key, "destination") == 0)
			ok = get_string(v, "destination", s->destination,
					sizeof(s->destination), why, where);
		else if (strcmp(key, "equipment") == 0)
			ok = has_eq = get_equipment(v, s, why, where);
		else {
			sl_problems_add(why, where, "%.40s: is not a known field", key);
			ok = false;
		}
		if (!ok)
			return false;
	}
	const char *missing = !has_id	   ? "id"
			      : !has_route ? "route"
			      : !has_start ? "start"
			      : !has_eq	   ? "equipment"
					   : NULL;
	if (missing) {
		sl_problems_add(why, where, "%s: is required", missing);
		return false;
	}
	if (s->end && s->end <= s->start) {
		sl_problems_add(why, where, "end: must be after start");
		return false;
	}
	return true;
}

static int cmp_id(const void *a, const void *b)
{
	return strcmp(((const sim_spec *)a)->id, ((const sim_spec *)b)->id);
}

sl_err sl_sim_objects_load_buffer(const char *buf, size_t len, sl_sim_objects **out,
				  sl_problems *why)
{
	*out = NULL;
	if (len > SL_SIM_OBJECTS_MAX_BYTES) {
		sl_problems_add(why, "", "%zu bytes is more than the limit of %u", len,
				SL_SIM_OBJECTS_MAX_BYTES);
		return SL_ETOOBIG;
	}
	sl_sim_objects *o = calloc(1, sizeof(*o));
	if (!o)
		return SL_ENOMEM;
	size_t cap = 0, pos = 0;
	long line = 0;
	sl_err e = SL_OK;
	while (pos < len && e == SL_OK) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - buf) : len, n = end - pos;
		const char *s = buf + pos;
		pos = end + 1;
		line++;
		char where[32];
		snprintf(where, sizeof(where), "line %ld", line);
		size_t k = 0;
		while (k < n && (s[k] == ' ' || s[k] == '\t' || s[k] == '\r'))
			k++;
		if (k == n)
			continue;
		if (n > LINE_MAX_BYTES) {
			sl_problems_add(why, where, "is longer than 1 MiB");
			e = SL_ETOOBIG;
			break;
		}
		if (o->n >= SL_SIM_OBJECTS_MAX) {
			sl_problems_add(why, where, "more than %u objects",
					SL_SIM_OBJECTS_MAX);
			e = SL_ETOOBIG;
			break;
		}
		json_error_t jerr;
		json_t *root = json_loadb(s, n, JSON_REJECT_DUPLICATES, &jerr);
		if (!root) {
			sl_problems_add(why, where, "malformed JSON at column %d: %s",
					jerr.column, jerr.text);
			e = SL_EPARSE;
			break;
		}
		if (o->n == cap) {
			cap = cap ? cap * 2 : 64;
			sim_spec *sp = realloc(o->spec, cap * sizeof(*sp));
			if (!sp) {
				json_decref(root);
				e = SL_ENOMEM;
				break;
			}
			o->spec = sp;
		}
		sim_spec *sp = &o->spec[o->n++];
		memset(sp, 0, sizeof(*sp));
		if (!read_object(root, sp, why, where))
			e = SL_EVALID;
		json_decref(root);
	}
	if (e == SL_OK && o->n == 0) {
		sl_problems_add(why, "", "has no objects");
		e = SL_EVALID;
	}
	if (e == SL_OK) {
		/* Ids name objects in the truth: each once. Sorting keeps the
		 * file's objects as a set; their order does not matter. */
		qsort(o->spec, o->n, sizeof(sim_spec), cmp_id);
		for (size_t i = 0; i + 1 < o->n; i++)
			if (strcmp(o->spec[i].id, o->spec[i + 1].id) == 0) {
				sl_problems_add(why, "id", "\"%.60s\" is used twice",
						o->spec[i].id);
				e = SL_EVALID;
				break;
			}
		/* Item models point into their own spec, which moved. */
		for (size_t i = 0; i < o->n; i++)
			for (size_t k = 0; k < o->spec[i].n_items; k++)
				if (o->spec[i].items[k].model)
					o->spec[i].items[k].model = o->spec[i].models[k];
	}
	if (e != SL_OK) {
		sl_sim_objects_free(o);
		return e;
	}
	*out = o;
	return SL_OK;
}

sl_err sl_sim_objects_load(const char *path, sl_sim_objects **out, sl_problems *why)
{
	*out = NULL;
	char *buf;
	size_t size;
	sl_err e = sl_read_file(path, SL_SIM_OBJECTS_MAX_BYTES, &buf, &size, why);
	if (e != SL_OK)
		return e;
	e = sl_sim_objects_load_buffer(buf, size, out, why);
	free(buf);
	return e;
}
