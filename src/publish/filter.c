/*
 * filter.c — the public feeds' filters: time range, categories, bounding
 * box, limit. They test published values only (the coarsened point, the
 * rounded window), so a query can never learn more than the feed shows:
 * shrinking a box around a coarsened point finds the cell's centre, never
 * the estimate behind it.
 */
#include "sightline/publish.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sightline/geo.h"
#include "sightline/timefmt.h"

bool sl_pub_filter_match(const sl_pub_filter *f, const sl_pub_event *e)
{
	if (f->categories && !(f->categories & (1u << e->category)))
		return false;
	if (f->has_from && e->t_end < f->from)
		return false;
	if (f->has_to && e->t_start > f->to)
		return false;
	if (f->has_bbox && (e->lat < f->min_lat || e->lat > f->max_lat ||
			    e->lon < f->min_lon || e->lon > f->max_lon))
		return false;
	return true;
}

static void parse_time(const char *name, const char *v, bool *has, int64_t *t,
		       sl_problems *why)
{
	if (!v)
		return;
	if (sl_time_parse(v, t) != SL_OK)
		sl_problems_add(why, name,
				"expected an RFC 3339 time such as 2022-10-10T08:30:00Z");
	else
		*has = true;
}

static void parse_categories(const char *v, unsigned *out, sl_problems *why)
{
	char name[64];
	while (*v) {
		size_t n = strcspn(v, ",");
		sl_category c;
		if (n == 0 || n >= sizeof(name)) {
			sl_problems_add(why, "category",
					"expected category names, comma-separated");
			return;
		}
		memcpy(name, v, n);
		name[n] = '\0';
		if (!sl_category_from_name(name, &c)) {
			sl_problems_add(why, "category",
					"names a category that does not exist");
			return;
		}
		*out |= 1u << c;
		v += n;
		if (*v == ',')
			v++;
	}
	if (!*out)
		sl_problems_add(why, "category",
				"expected category names, comma-separated");
}

static void parse_bbox(const char *v, sl_pub_filter *f, sl_problems *why)
{
	double box[4];
	if (!sl_geo_bbox_param(v, box, why))
		return;
	double x0 = box[0], y0 = box[1], x1 = box[2], y1 = box[3];
	f->has_bbox = true;
	f->min_lon = x0, f->min_lat = y0, f->max_lon = x1, f->max_lat = y1;
}

sl_err sl_pub_filter_parse(const char *(*get)(void *ud, const char *name), void *ud,
			   sl_pub_filter *out, sl_problems *why)
{
	memset(out, 0, sizeof(*out));
	size_t before = why->n + why->dropped;
	const char *v;
	parse_time("from", get(ud, "from"), &out->has_from, &out->from, why);
	parse_time("to", get(ud, "to"), &out->has_to, &out->to, why);
	if (out->has_from && out->has_to && out->from > out->to)
		sl_problems_add(why, "to", "is before from");
	if ((v = get(ud, "category")))
		parse_categories(v, &out->categories, why);
	if ((v = get(ud, "bbox")))
		parse_bbox(v, out, why);
	if ((v = get(ud, "limit"))) {
		size_t n = strspn(v, "0123456789");
		if (n == 0 || n > 7 || v[n] || strtoul(v, NULL, 10) == 0)
			sl_problems_add(why, "limit",
					"expected a whole number from 1 to 9999999");
		else
			out->limit = strtoul(v, NULL, 10);
	}
	return why->n + why->dropped == before ? SL_OK : SL_EVALID;
}
