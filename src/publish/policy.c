/*
 * policy.c — the publication policy on one event: whether it is published
 * now, and what of it the public sees (publish.h says the rules;
 * docs/PUBLISH.md why). Everything public is made from what
 * sl_publish_apply returns, so this is the one place where precision is
 * taken away.
 */
#include "sightline/publish.h"

#include "sightline/geo.h"

#include <jansson.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define M_PER_DEG_LAT 111320.0

void sl_publish_policy_default(sl_publish_policy *p)
{
	memset(p, 0, sizeof(*p));
	for (int c = 0; c < SL_CAT_COUNT; c++)
		p->delay_s[c] = SL_PUB_DELAY_DEFAULT_S;
	p->grid_m = SL_PUB_GRID_DEFAULT_M;
	p->min_reports = SL_PUB_K_DEFAULT;
}

char *sl_publish_policy_to_json(const sl_publish_policy *p)
{
	json_t *delays = json_object();
	for (int c = 0; delays && c < SL_CAT_COUNT; c++)
		json_object_set_new(delays, sl_category_name((sl_category)c),
				    json_integer(p->delay_s[c] / 60));
	json_t *doc = json_pack("{s:o?, s:f, s:i}", "delay_minutes", delays, "grid_km",
				p->grid_m / 1000.0, "min_reports", p->min_reports);
	char *text =
	    doc ? json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(6))
		: NULL;
	json_decref(doc);
	return text;
}

sl_err sl_publish_policy_apply(sl_publish_policy *p, const char *text, size_t len,
			       sl_problems *why)
{
	json_error_t jerr;
	json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(doc)) {
		json_decref(doc);
		sl_problems_add(why, "", "expected a JSON object");
		return SL_EPARSE;
	}
	sl_publish_policy next = *p;
	size_t before = why->n + why->dropped;
	const char *key;
	json_t *v;
	json_object_foreach(doc, key, v)
	{
		if (strcmp(key, "delay_minutes") == 0) {
			if (!json_is_object(v)) {
				sl_problems_add(why, "delay_minutes",
						"expected an object of categories");
				continue;
			}
			const char *cat;
			json_t *m;
			json_object_foreach(v, cat, m)
			{
				sl_category c;
				char field[80];
				snprintf(field, sizeof(field), "delay_minutes.%.40s",
					 cat);
				if (!sl_category_from_name(cat, &c))
					sl_problems_add(why, field, "is not a category");
				else if (!json_is_integer(m) ||
					 json_integer_value(m) < 0 ||
					 json_integer_value(m) > SL_PUB_DELAY_MAX_S / 60)
					sl_problems_add(why, field,
							"expected whole minutes 0..%d",
							SL_PUB_DELAY_MAX_S / 60);
				else
					next.delay_s[c] = json_integer_value(m) * 60;
			}
		} else if (strcmp(key, "grid_km") == 0) {
			double km = json_number_value(v);
			if (!json_is_number(v) || !(km >= SL_PUB_GRID_MIN_M / 1000) ||
			    km > SL_PUB_GRID_MAX_M / 1000)
				sl_problems_add(
				    why, "grid_km", "expected a number %g..%g",
				    SL_PUB_GRID_MIN_M / 1000, SL_PUB_GRID_MAX_M / 1000);
			else
				next.grid_m = km * 1000.0;
		} else if (strcmp(key, "min_reports") == 0) {
			if (!json_is_integer(v) || json_integer_value(v) < 1 ||
			    json_integer_value(v) > SL_PUB_K_MAX)
				sl_problems_add(why, "min_reports",
						"expected a whole number 1..%d",
						SL_PUB_K_MAX);
			else
				next.min_reports = (int)json_integer_value(v);
		} else {
			char field[64];
			snprintf(field, sizeof(field), "%.60s", key);
			sl_problems_add(why, field, "is not a known field");
		}
	}
	json_decref(doc);
	if (why->n + why->dropped != before)
		return SL_EVALID;
	*p = next;
	return SL_OK;
}

void sl_publish_grid(double grid_m, double *lat, double *lon)
{
	double step_lat = grid_m / M_PER_DEG_LAT;
	double row = floor((*lat + 90.0) / step_lat);
	double clat = -90.0 + (row + 0.5) * step_lat;
	if (clat > 90.0)
		clat = 90.0 - step_lat / 2;
	/* Cells are grid_m wide at the row's centre; near the poles a row is
	 * one cell. */
	double width_deg = 360.0;
	double m_per_deg_lon = M_PER_DEG_LAT * cos(clat * M_PI / 180.0);
	if (m_per_deg_lon > grid_m / 360.0)
		width_deg = grid_m / m_per_deg_lon;
	if (width_deg > 360.0)
		width_deg = 360.0;
	double col = floor((*lon + 180.0) / width_deg);
	double clon = -180.0 + (col + 0.5) * width_deg;
	if (clon > 180.0)
		clon -= 360.0;
	*lat = clat;
	*lon = clon;
}

void sl_publish_public_id(const uint8_t key[32], char kind, int64_t id,
			  char out[SL_PUB_ID_MAX])
{
	uint8_t msg[9], h[10];
	msg[0] = (uint8_t)kind;
	for (int i = 0; i < 8; i++)
		msg[1 + i] = (uint8_t)((uint64_t)id >> (8 * i));
	crypto_generichash(h, sizeof(h), msg, sizeof(msg), key, 32);
	out[0] = kind;
	sodium_bin2hex(out + 1, SL_PUB_ID_MAX - 1, h, sizeof(h));
}

static double round_to(double x, double step)
{
	return round(x / step) * step;
}

bool sl_publish_apply(const sl_publish_policy *policy, const uint8_t key[32],
		      const sl_pub_source *src, int64_t now, sl_pub_event *out,
		      int64_t *due)
{
	*due = 0;
	if (src->n_verified < 1 || (unsigned)src->category >= SL_CAT_COUNT ||
	    !sl_geo_valid(src->lat, src->lon))
		return false;
	int64_t t_end = (src->t_end + 59) / 60 * 60;
	int64_t at = t_end + policy->delay_s[src->category];
	if (now < at) {
		*due = at;
		return false;
	}
	memset(out, 0, sizeof(*out));
	sl_publish_public_id(key, 'e', src->id, out->id);
	out->event_id = src->id;
	out->category = src->category;
	out->t_start = src->t_start / 60 * 60;
	out->t_end = t_end;
	if (out->t_start > out->t_end)
		out->t_start = out->t_end;
	out->published_at = at;
	out->sources = src->n_independent > 1000000 ? 1000000 : (int)src->n_independent;
	double lat = src->lat, lon = src->lon;
	if (src->n_independent >= policy->min_reports) {
		/* Several people saw it: no one of them stands out, but the
		 * estimate is still not given closer than SL_PUB_FINE_M. */
		double r = src->uncertainty_m > SL_PUB_FINE_M ? src->uncertainty_m
							      : SL_PUB_FINE_M;
		out->precision_m = ceil(r / SL_PUB_FINE_M) * SL_PUB_FINE_M;
		out->lat = round_to(lat, 0.001);
		out->lon = round_to(lon, 0.001);
		out->coarse = false;
	} else {
		sl_publish_grid(policy->grid_m, &lat, &lon);
		out->lat = round_to(lat, 0.0001);
		out->lon = round_to(lon, 0.0001);
		out->precision_m = policy->grid_m;
		out->coarse = true;
	}
	if (src->has_heading) {
		out->has_heading = true;
		out->heading_deg = fmod(round_to(src->heading_deg, 22.5), 360.0);
	}
	double conf = src->confidence < 0 ? 0 : src->confidence > 1 ? 1 : src->confidence;
	out->confidence = round_to(conf, 0.01);
	out->n_items = src->n_items;
	out->items = src->items;
	out->excerpt = src->excerpt && *src->excerpt ? src->excerpt : NULL;
	out->has_photo = src->has_photo;
	return true;
}

/* The regions of belarus-stations.tsv as ACLED spells Belarus's admin1. */
static const char *acled_admin1(const char *region)
{
	static const char *const names[][2] = {
	    {"Брест", "Brest"},	  {"Витебск", "Vitebsk"}, {"Гомель", "Gomel"},
	    {"Гродно", "Grodno"}, {"Минск", "Minsk"},	  {"Могилёв", "Mogilev"},
	    {"Могилев", "Mogilev"},
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(region, names[i][0]))
			return names[i][1];
	return region;
}

void sl_publish_name_place(const sl_borders *borders, const sl_stations *stations,
			   sl_pub_event *e)
{
	e->country = e->admin1 = e->location = NULL;
	if (borders) {
		int code = sl_borders_country_at(borders, e->lat, e->lon);
		size_t i;
		if (code && sl_borders_find(borders, code, &i) &&
		    *sl_borders_name(borders, i))
			e->country = sl_borders_name(borders, i);
	}
	size_t k;
	if (stations && sl_stations_nearest(stations, e->lat, e->lon, SL_PUB_LOCATION_M, &k,
					    NULL) == SL_OK) {
		const sl_station *st = sl_stations_get(stations, k);
		e->location = st->name_ru;
		if (st->admin1)
			e->admin1 = acled_admin1(st->admin1);
	}
}
