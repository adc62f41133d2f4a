/*
 * columns.c — the JSON columns every backend stores the same way: a
 * report's equipment list and an event's equipment estimate. Written with
 * jansson, compact; read back strictly (a column that is not what we write
 * is SL_ESTORE, and jansson's message, which may quote the text, is never
 * logged). docs/STORE.md shows both forms.
 */
#include "store/store_int.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include <jansson.h>

/* The equipment list as a compact JSON array:
 * [{"type":"tank","model":"T-72","count":3,"count_max":5}, ...] with model and
 * count_max left out when absent. *out is malloc'd (free it). SL_EINVAL when a
 * name is not UTF-8, which validation should have caught. */
sl_err store_equipment_json(const sl_report *r, char **out)
{
	json_t *arr = json_array();
	if (!arr)
		return SL_ENOMEM;
	sl_err err = SL_OK;
	for (size_t i = 0; i < r->n_equipment && !err; i++) {
		const sl_equipment *e = &r->equipment[i];
		json_t *o = json_object();
		if (!o || json_array_append_new(arr, o)) {
			err = SL_ENOMEM;
			break;
		}
		json_t *model = e->model ? json_string(e->model) : NULL;
		if (e->model && !model) {
			err = SL_EINVAL;
			break;
		}
		if (json_object_set_new(o, "type",
					json_string(sl_equipment_type_name(e->type))) ||
		    (model && json_object_set_new(o, "model", model)) ||
		    json_object_set_new(o, "count", json_integer(e->count)) ||
		    (e->count_max &&
		     json_object_set_new(o, "count_max", json_integer(e->count_max))))
			err = SL_ENOMEM;
	}
	if (!err) {
		*out = json_dumps(arr, JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (!*out)
			err = SL_ENOMEM;
	}
	json_decref(arr);
	return err;
}

static bool json_int32(json_t *v, int32_t lo, int32_t *out)
{
	if (!json_is_integer(v))
		return false;
	json_int_t i = json_integer_value(v);
	if (i < lo || i > INT32_MAX)
		return false;
	*out = (int32_t)i;
	return true;
}

/* Parses the equipment column (see encode_equipment) into a. SL_ESTORE when
 * it is not what we write; jansson's message is not logged since it may
 * quote the text. */
sl_err store_equipment_parse(const char *json, size_t len, sl_arena *a, sl_report *r)
{
	json_t *arr = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_array(arr)) {
		json_decref(arr);
		return SL_ESTORE;
	}
	sl_err err = SL_OK;
	size_t n = json_array_size(arr);
	if (n > 0) {
		if (n > SIZE_MAX / sizeof(sl_equipment))
			err = SL_ENOMEM;
		else if (!(r->equipment = sl_arena_alloc(a, n * sizeof(sl_equipment))))
			err = SL_ENOMEM;
	}
	for (size_t i = 0; i < n && !err; i++) {
		json_t *o = json_array_get(arr, i);
		sl_equipment *e = &r->equipment[i];
		json_t *model = json_object_get(o, "model");
		json_t *count_max = json_object_get(o, "count_max");
		if (!json_is_object(o) ||
		    !sl_equipment_type_from_name(
			json_string_value(json_object_get(o, "type")), &e->type) ||
		    !json_int32(json_object_get(o, "count"), 0, &e->count) ||
		    (count_max && !json_int32(count_max, 0, &e->count_max)) ||
		    (model && !json_is_string(model))) {
			err = SL_ESTORE;
		} else if (model) {
			e->model = sl_arena_strndup(a, json_string_value(model),
						    json_string_length(model));
			if (!e->model)
				err = SL_ENOMEM;
		}
	}
	if (!err)
		r->n_equipment = n;
	json_decref(arr);
	return err;
}

/* The equipment estimate column (events and tracks alike):
 * [{"type":"tank","count":12,"min":10,"max":14}, ...]. *out is malloc'd. */
sl_err store_items_json(const sl_event_item *items, size_t n, char **out)
{
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < n; i++) {
		const sl_event_item *it = &items[i];
		json_t *o = json_pack(
		    "{s:s,s:i,s:i,s:i}", "type", sl_equipment_type_name(it->type),
		    "count", (json_int_t)it->count, "min", (json_int_t)it->count_min,
		    "max", (json_int_t)it->count_max);
		if (!o || json_array_append_new(arr, o)) {
			json_decref(arr);
			return SL_ENOMEM;
		}
	}
	*out = arr ? json_dumps(arr, JSON_COMPACT) : NULL;
	json_decref(arr);
	return *out ? SL_OK : SL_ENOMEM;
}

sl_err store_items_parse(const char *json, sl_arena *a, const sl_event_item **out,
			 size_t *n_out)
{
	json_t *arr = json_loads(json, JSON_REJECT_DUPLICATES, NULL);
	size_t n = json_array_size(arr);
	if (!json_is_array(arr) || n > SL_EVENT_MAX_ITEMS) {
		json_decref(arr);
		return SL_ESTORE;
	}
	sl_event_item *items = n ? sl_arena_alloc(a, n * sizeof(*items)) : NULL;
	sl_err err = n && !items ? SL_ENOMEM : SL_OK;
	for (size_t i = 0; i < n && !err; i++) {
		const char *type;
		json_int_t c, lo, hi;
		if (json_unpack(json_array_get(arr, i), "{s:s,s:I,s:I,s:I}", "type",
				&type, "count", &c, "min", &lo, "max", &hi) ||
		    !sl_equipment_type_from_name(type, &items[i].type) || c < 0 ||
		    lo < 0 || hi < 0 || c > INT32_MAX || lo > INT32_MAX || hi > INT32_MAX)
			err = SL_ESTORE;
		else {
			items[i].count = (int32_t)c;
			items[i].count_min = (int32_t)lo;
			items[i].count_max = (int32_t)hi;
		}
	}
	if (!err) {
		*out = items;
		*n_out = n;
	}
	json_decref(arr);
	return err;
}

/* The route column: [[lon, lat], ...], 6 decimals (0.1 m). *out is
 * malloc'd. */
sl_err store_route_json(const sl_track *t, char **out)
{
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < t->n_route; i++) {
		json_t *p = json_pack("[f,f]", round(t->route_lon[i] * 1e6) / 1e6,
				      round(t->route_lat[i] * 1e6) / 1e6);
		if (!p || json_array_append_new(arr, p)) {
			json_decref(arr);
			return SL_ENOMEM;
		}
	}
	*out = arr ? json_dumps(arr, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
	json_decref(arr);
	return *out ? SL_OK : SL_ENOMEM;
}

sl_err store_route_parse(const char *json, sl_arena *a, sl_track *t)
{
	json_t *arr = json_loads(json, JSON_REJECT_DUPLICATES, NULL);
	size_t n = json_array_size(arr);
	if (!json_is_array(arr) || n > SL_TRACK_ROUTE_MAX) {
		json_decref(arr);
		return SL_ESTORE;
	}
	double *lat = sl_arena_alloc(a, (n ? n : 1) * sizeof(double));
	double *lon = sl_arena_alloc(a, (n ? n : 1) * sizeof(double));
	sl_err err = lat && lon ? SL_OK : SL_ENOMEM;
	for (size_t i = 0; i < n && !err; i++) {
		json_t *p = json_array_get(arr, i);
		if (!json_is_number(json_array_get(p, 0)) ||
		    !json_is_number(json_array_get(p, 1)))
			err = SL_ESTORE;
		else
			lon[i] = json_number_value(json_array_get(p, 0)),
			lat[i] = json_number_value(json_array_get(p, 1));
	}
	json_decref(arr);
	if (!err)
		t->route_lat = lat, t->route_lon = lon, t->n_route = n;
	return err;
}
