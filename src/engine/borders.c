/*
 * borders.c — country borders from TopoJSON or GeoJSON (borders.h).
 *
 * Both formats end up as the same thing: countries, each a list of closed
 * rings (outer boundaries and holes alike), all points in two arrays. A
 * TopoJSON ring is the concatenation of its arcs (an index i >= 0 is arc i,
 * ~i is arc i reversed; each arc after the first repeats the point the
 * previous one ended on), and quantized arcs are delta-encoded integers
 * scaled by the topology's transform. A point is inside a country when a
 * ray from it crosses the country's rings an odd number of times (holes
 * and multi-polygons need no special case). Distances and crossings look
 * only at the ring segments near the place: a uniform grid over all
 * segments (network_int.h's, the one the rail network snaps with).
 *
 * Geometry is planar in degrees for the inside test and for intersecting
 * short segments (a few km: the error is far below the file's resolution);
 * distances are great-circle metres to the nearest point found.
 */
#include "sightline/borders.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/network_int.h"
#include "sightline/buf.h"
#include "sightline/geo.h"

#define RAD (SL_GEO_PI / 180.0)
#define CELL_M 25000.0		/* the segment grid's cells */
#define FAR_M 3000000.0		/* distance searches stop here */
#define CROSSING_DEDUP_M 2000.0 /* crossings of one edge closer than this are one */
#define STATION_NEAR_M 25000.0

typedef struct box {
	double min_lat, min_lon, max_lat, max_lon;
} box;

/* A closed ring: points first .. first + n - 1, the last equal to the
 * first. */
typedef struct ring {
	uint32_t first, n;
	box bb;
} ring;

typedef struct country {
	int code;
	char name[SL_BORDERS_NAME_MAX + 1];
	uint32_t ring0, n_rings;
	box bb;
} country;

/* b grown to hold (lat, lon); first: b is only that point. */
static void box_add(box *b, bool first, double lat, double lon)
{
	if (first) {
		*b = (box){lat, lon, lat, lon};
		return;
	}
	b->min_lat = fmin(b->min_lat, lat), b->max_lat = fmax(b->max_lat, lat);
	b->min_lon = fmin(b->min_lon, lon), b->max_lon = fmax(b->max_lon, lon);
}

static bool box_has(const box *b, double lat, double lon)
{
	return lat >= b->min_lat && lat <= b->max_lat && lon >= b->min_lon &&
	       lon <= b->max_lon;
}

struct sl_borders {
	country *c;
	size_t nc, cap_c;
	ring *r;
	size_t nr, cap_r;
	double *lat, *lon;
	size_t np, cap_p;
	uint8_t *seg_next;    /* point i and i + 1 are a segment of one ring */
	uint32_t *pt_country; /* the country of each point */
	sl_grid grid;
};

/* ---------------------------------------------------------------- building */

typedef struct build {
	sl_borders *b;
	sl_problems *why;
	sl_err err;
	/* TopoJSON arcs, decoded. */
	double *alat, *alon;
	size_t nap, cap_ap;
	uint32_t *arc_start; /* arc i is points arc_start[i] .. arc_start[i + 1] - 1 */
	size_t narcs, cap_arcs;
} build;

static void fail(build *bd, sl_err e, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void fail(build *bd, sl_err e, const char *field, const char *fmt, ...)
{
	if (bd->err == SL_OK || e != SL_EVALID)
		bd->err = e;
	char msg[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sl_problems_add(bd->why, field, "%s", msg);
}

/* Appends (lat, lon) to the two arrays *la, *lo of *n points, capacity
 * *cap, at most SL_BORDERS_MAX_POINTS; false (said in bd) when it cannot. */
static bool add_pos(build *bd, double **la, double **lo, size_t *n, size_t *cap,
		    double lat, double lon, const char *field)
{
	if (*n >= SL_BORDERS_MAX_POINTS) {
		fail(bd, SL_ETOOBIG, field, "more than %u positions",
		     SL_BORDERS_MAX_POINTS);
		return false;
	}
	size_t c = *cap;
	if (!sl_grow((void **)la, &c, *n + 1, sizeof(double)) ||
	    !sl_grow((void **)lo, cap, *n + 1, sizeof(double))) {
		fail(bd, SL_ENOMEM, "", "out of memory");
		return false;
	}
	(*la)[*n] = lat, (*lo)[*n] = lon;
	(*n)++;
	return true;
}

static bool push_point(build *bd, double lat, double lon)
{
	sl_borders *b = bd->b;
	return add_pos(bd, &b->lat, &b->lon, &b->np, &b->cap_p, lat, lon, "");
}

/* Opens ring number nr of the current country at the next point. */
static ring *begin_ring(build *bd)
{
	sl_borders *b = bd->b;
	if (b->nr >= SL_BORDERS_MAX_RINGS) {
		fail(bd, SL_ETOOBIG, "", "more than %u rings", SL_BORDERS_MAX_RINGS);
		return NULL;
	}
	if (!sl_grow((void **)&b->r, &b->cap_r, b->nr + 1, sizeof(ring))) {
		fail(bd, SL_ENOMEM, "", "out of memory");
		return NULL;
	}
	ring *r = &b->r[b->nr];
	memset(r, 0, sizeof(*r));
	r->first = (uint32_t)b->np;
	return r;
}

/* Closes the ring opened last: its bounding box, closed if it was not; a
 * ring of fewer than 3 distinct points is dropped. */
static void end_ring(build *bd)
{
	sl_borders *b = bd->b;
	ring *r = &b->r[b->nr];
	r->n = (uint32_t)(b->np - r->first);
	if (r->n >= 1 && (b->lat[r->first] != b->lat[b->np - 1] ||
			  b->lon[r->first] != b->lon[b->np - 1])) {
		if (!push_point(bd, b->lat[r->first], b->lon[r->first]))
			return;
		r->n++;
	}
	if (r->n < 4) {
		/* A sliver of fewer than 3 distinct points (Natural Earth has a
		 * few): nothing to be inside of, dropped. */
		b->np = r->first;
		return;
	}
	for (uint32_t i = r->first; i < r->first + r->n; i++)
		box_add(&r->bb, i == r->first, b->lat[i], b->lon[i]);
	b->nr++;
}

static bool valid_pos(build *bd, double lat, double lon, const char *field)
{
	if (isfinite(lat) && isfinite(lon) && fabs(lat) <= 90 + 1e-6 &&
	    fabs(lon) <= 180 + 1e-6)
		return true;
	fail(bd, SL_EVALID, field, "position (%g, %g) is not a longitude and latitude",
	     lon, lat);
	return false;
}

static double clamp(double v, double lim)
{
	return v > lim ? lim : v < -lim ? -lim : v;
}

/* A GeoJSON ring: an array of [lon, lat] positions. */
static void read_geojson_ring(build *bd, const json_t *coords, const char *field)
{
	if (!json_is_array(coords)) {
		fail(bd, SL_EVALID, field, "expected an array of positions");
		return;
	}
	if (!begin_ring(bd))
		return;
	size_t i;
	const json_t *p;
	json_array_foreach(coords, i, p)
	{
		const json_t *x = json_array_get(p, 0), *y = json_array_get(p, 1);
		if (!json_is_number(x) || !json_is_number(y)) {
			fail(bd, SL_EVALID, field, "position %zu: expected [lon, lat]",
			     i);
			bd->b->np = bd->b->r[bd->b->nr].first;
			return;
		}
		double lon = json_number_value(x), lat = json_number_value(y);
		if (!valid_pos(bd, lat, lon, field) ||
		    !push_point(bd, clamp(lat, 90), clamp(lon, 180))) {
			bd->b->np = bd->b->r[bd->b->nr].first;
			return;
		}
	}
	end_ring(bd);
}

/* A TopoJSON ring: an array of arc indices. */
static void read_topo_ring(build *bd, const json_t *arcs, const char *field)
{
	if (!json_is_array(arcs)) {
		fail(bd, SL_EVALID, field, "expected an array of arc indices");
		return;
	}
	if (!begin_ring(bd))
		return;
	size_t i;
	const json_t *a;
	json_array_foreach(arcs, i, a)
	{
		json_int_t k = json_is_integer(a) ? json_integer_value(a) : INT64_MAX;
		json_int_t arc = k < 0 ? ~k : k;
		if (arc < 0 || (size_t)arc >= bd->narcs) {
			fail(bd, SL_EVALID, field,
			     "arc %zu: %s is not an arc of the topology", i,
			     json_is_integer(a) ? "the index" : "not an index; it");
			bd->b->np = bd->b->r[bd->b->nr].first;
			return;
		}
		uint32_t s = bd->arc_start[arc], e = bd->arc_start[arc + 1];
		for (uint32_t j = 0; j < e - s; j++) {
			if (i > 0 && j == 0)
				continue; /* the previous arc's last point */
			uint32_t v = k >= 0 ? s + j : e - 1 - j;
			if (!push_point(bd, bd->alat[v], bd->alon[v])) {
				bd->b->np = bd->b->r[bd->b->nr].first;
				return;
			}
		}
	}
	end_ring(bd);
}

/* The numeric code in v (a string of digits or an integer), or 0. */
static int code_of(const json_t *v)
{
	if (json_is_integer(v) && json_integer_value(v) > 0 &&
	    json_integer_value(v) < 100000)
		return (int)json_integer_value(v);
	if (!json_is_string(v))
		return 0;
	const char *s = json_string_value(v);
	size_t n = strspn(s, "0123456789");
	if (n == 0 || n > 5 || s[n])
		return 0;
	return atoi(s);
}

static country *begin_country(build *bd, const json_t *id, const json_t *props)
{
	sl_borders *b = bd->b;
	if (b->nc >= SL_BORDERS_MAX_COUNTRIES) {
		fail(bd, SL_ETOOBIG, "", "more than %u countries",
		     SL_BORDERS_MAX_COUNTRIES);
		return NULL;
	}
	if (!sl_grow((void **)&b->c, &b->cap_c, b->nc + 1, sizeof(country))) {
		fail(bd, SL_ENOMEM, "", "out of memory");
		return NULL;
	}
	country *c = &b->c[b->nc];
	memset(c, 0, sizeof(*c));
	c->code = code_of(id);
	static const char *const code_keys[] = {"ISO_N3", "iso_n3", "ISO_N3_EH", NULL};
	for (size_t k = 0; !c->code && code_keys[k]; k++)
		c->code = code_of(json_object_get(props, code_keys[k]));
	static const char *const name_keys[] = {"name", "NAME", "ADMIN", "name_en", NULL};
	for (size_t k = 0; name_keys[k]; k++) {
		const json_t *n = json_object_get(props, name_keys[k]);
		if (json_is_string(n)) {
			snprintf(c->name, sizeof(c->name), "%s", json_string_value(n));
			break;
		}
	}
	c->ring0 = (uint32_t)b->nr;
	return c;
}

static void end_country(build *bd)
{
	sl_borders *b = bd->b;
	country *c = &b->c[b->nc];
	c->n_rings = (uint32_t)(b->nr - c->ring0);
	if (c->n_rings == 0)
		return; /* a null or empty geometry: nothing to keep */
	c->bb = b->r[c->ring0].bb;
	for (uint32_t k = 1; k < c->n_rings; k++) {
		const box *r = &b->r[c->ring0 + k].bb;
		box_add(&c->bb, false, r->min_lat, r->min_lon);
		box_add(&c->bb, false, r->max_lat, r->max_lon);
	}
	b->nc++;
}

/* A Polygon's or MultiPolygon's rings; topo: arc indices, else positions. */
static void read_polygons(build *bd, const json_t *g, const json_t *coords, bool topo,
			  const char *field)
{
	const char *type = json_string_value(json_object_get(g, "type"));
	char f[96];
	bool multi = type && strcmp(type, "MultiPolygon") == 0;
	if (!type || (!multi && strcmp(type, "Polygon") != 0)) {
		if (type &&
		    (strcmp(type, "Point") == 0 || strcmp(type, "LineString") == 0 ||
		     strcmp(type, "MultiPoint") == 0 ||
		     strcmp(type, "MultiLineString") == 0))
			return; /* not an area: skipped */
		fail(bd, SL_EVALID, field, "type: expected Polygon or MultiPolygon");
		return;
	}
	if (!json_is_array(coords)) {
		fail(bd, SL_EVALID, field, "%s: expected an array",
		     topo ? "arcs" : "coordinates");
		return;
	}
	size_t np = multi ? json_array_size(coords) : 1;
	for (size_t p = 0; p < np && bd->err == SL_OK; p++) {
		const json_t *poly = multi ? json_array_get(coords, p) : coords;
		if (!json_is_array(poly)) {
			fail(bd, SL_EVALID, field,
			     "polygon %zu: expected an array of rings", p);
			return;
		}
		size_t k;
		const json_t *rg;
		json_array_foreach(poly, k, rg)
		{
			snprintf(f, sizeof(f), "%s.%s[%zu]", field,
				 multi ? "polygons" : "rings", multi ? p : k);
			if (topo)
				read_topo_ring(bd, rg, f);
			else
				read_geojson_ring(bd, rg, f);
			if (bd->err != SL_OK)
				return;
		}
	}
}

static void read_topology(build *bd, const json_t *root)
{
	const json_t *tr = json_object_get(root, "transform");
	double sx = 1, sy = 1, tx = 0, ty = 0;
	bool quant = json_is_object(tr);
	if (quant) {
		const json_t *sc = json_object_get(tr, "scale"),
			     *tl = json_object_get(tr, "translate");
		if (!json_is_number(json_array_get(sc, 0)) ||
		    !json_is_number(json_array_get(sc, 1)) ||
		    !json_is_number(json_array_get(tl, 0)) ||
		    !json_is_number(json_array_get(tl, 1))) {
			fail(bd, SL_EVALID, "transform",
			     "expected scale and translate, two numbers each");
			return;
		}
		sx = json_number_value(json_array_get(sc, 0));
		sy = json_number_value(json_array_get(sc, 1));
		tx = json_number_value(json_array_get(tl, 0));
		ty = json_number_value(json_array_get(tl, 1));
	}
	const json_t *arcs = json_object_get(root, "arcs");
	if (!json_is_array(arcs)) {
		fail(bd, SL_EVALID, "arcs", "expected an array of arcs");
		return;
	}
	size_t na = json_array_size(arcs);
	bd->arc_start = malloc((na + 1) * sizeof(*bd->arc_start));
	if (!bd->arc_start) {
		fail(bd, SL_ENOMEM, "", "out of memory");
		return;
	}
	char f[64];
	for (size_t i = 0; i < na; i++) {
		const json_t *arc = json_array_get(arcs, i);
		snprintf(f, sizeof(f), "arcs[%zu]", i);
		bd->arc_start[i] = (uint32_t)bd->nap;
		if (!json_is_array(arc) || json_array_size(arc) < 2) {
			fail(bd, SL_EVALID, f,
			     "expected an array of at least 2 positions");
			return;
		}
		double x = 0, y = 0;
		size_t j;
		const json_t *p;
		json_array_foreach(arc, j, p)
		{
			const json_t *px = json_array_get(p, 0),
				     *py = json_array_get(p, 1);
			if (!json_is_number(px) || !json_is_number(py)) {
				fail(bd, SL_EVALID, f, "position %zu: expected [x, y]",
				     j);
				return;
			}
			double lon, lat;
			if (quant) {
				x += json_number_value(px), y += json_number_value(py);
				lon = x * sx + tx, lat = y * sy + ty;
			} else {
				lon = json_number_value(px), lat = json_number_value(py);
			}
			if (!valid_pos(bd, lat, lon, f))
				return;
			if (bd->nap >= SL_BORDERS_MAX_POINTS) {
				fail(bd, SL_ETOOBIG, f, "more than %u positions",
				     SL_BORDERS_MAX_POINTS);
				return;
			}
			size_t c = bd->cap_ap;
			if (!sl_grow((void **)&bd->alat, &c, bd->nap + 1,
				     sizeof(double)) ||
			    !sl_grow((void **)&bd->alon, &bd->cap_ap, bd->nap + 1,
				     sizeof(double))) {
				fail(bd, SL_ENOMEM, "", "out of memory");
				return;
			}
			bd->alat[bd->nap] = clamp(lat, 90),
			bd->alon[bd->nap] = clamp(lon, 180);
			bd->nap++;
		}
	}
	bd->arc_start[na] = (uint32_t)bd->nap;
	bd->narcs = na;
	const json_t *objects = json_object_get(root, "objects");
	const json_t *coll = json_object_get(objects, "countries");
	if (!coll) {
		const char *key;
		const json_t *v;
		json_object_foreach((json_t *)objects, key, v)
		{
			const char *t = json_string_value(json_object_get(v, "type"));
			if (t && strcmp(t, "GeometryCollection") == 0) {
				coll = v;
				break;
			}
		}
	}
	const json_t *geoms = json_object_get(coll, "geometries");
	if (!json_is_array(geoms)) {
		fail(bd, SL_EVALID, "objects",
		     "expected a GeometryCollection (\"countries\") with geometries");
		return;
	}
	size_t i;
	const json_t *g;
	json_array_foreach(geoms, i, g)
	{
		snprintf(f, sizeof(f), "geometries[%zu]", i);
		if (json_is_null(json_object_get(g, "type")) ||
		    !json_object_get(g, "arcs"))
			continue; /* a null geometry */
		if (!begin_country(bd, json_object_get(g, "id"),
				   json_object_get(g, "properties")))
			return;
		read_polygons(bd, g, json_object_get(g, "arcs"), true, f);
		if (bd->err != SL_OK)
			return;
		end_country(bd);
	}
}

static void read_geojson(build *bd, const json_t *root)
{
	const json_t *features = json_object_get(root, "features");
	if (!json_is_array(features)) {
		fail(bd, SL_EVALID, "features", "expected an array of features");
		return;
	}
	size_t i;
	const json_t *ft;
	char f[64];
	json_array_foreach(features, i, ft)
	{
		snprintf(f, sizeof(f), "features[%zu].geometry", i);
		const json_t *g = json_object_get(ft, "geometry");
		if (json_is_null(g))
			continue;
		if (!json_is_object(g)) {
			fail(bd, SL_EVALID, f, "is required (null for none)");
			return;
		}
		if (!begin_country(bd, json_object_get(ft, "id"),
				   json_object_get(ft, "properties")))
			return;
		read_polygons(bd, g, json_object_get(g, "coordinates"), false, f);
		if (bd->err != SL_OK)
			return;
		end_country(bd);
	}
}

/* The segment grid and the country of each point. */
static bool finish(sl_borders *b)
{
	b->seg_next = calloc(b->np ? b->np : 1, 1);
	b->pt_country = malloc((b->np ? b->np : 1) * sizeof(*b->pt_country));
	if (!b->seg_next || !b->pt_country)
		return false;
	for (size_t ci = 0; ci < b->nc; ci++) {
		const country *c = &b->c[ci];
		for (uint32_t k = 0; k < c->n_rings; k++) {
			const ring *r = &b->r[c->ring0 + k];
			for (uint32_t i = r->first; i < r->first + r->n; i++) {
				b->pt_country[i] = (uint32_t)ci;
				b->seg_next[i] = i + 1 < r->first + r->n;
			}
		}
	}
	return sl_grid_build(&b->grid, b->lat, b->lon, b->np, b->seg_next, CELL_M);
}

sl_err sl_borders_load_buffer(const char *buf, size_t len, sl_borders **out,
			      sl_problems *why)
{
	*out = NULL;
	if (len > SL_BORDERS_MAX_BYTES) {
		sl_problems_add(why, "", "%zu bytes is more than the limit of %u", len,
				SL_BORDERS_MAX_BYTES);
		return SL_ETOOBIG;
	}
	json_error_t je;
	json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		if (json_error_code(&je) == json_error_out_of_memory)
			return SL_ENOMEM;
		sl_problems_add(why, "", "not JSON: line %d, column %d: %s", je.line,
				je.column, je.text);
		return SL_EPARSE;
	}
	build bd = {.why = why};
	bd.b = calloc(1, sizeof(*bd.b));
	if (!bd.b) {
		json_decref(root);
		return SL_ENOMEM;
	}
	const char *type = json_string_value(json_object_get(root, "type"));
	if (type && strcmp(type, "Topology") == 0)
		read_topology(&bd, root);
	else if (type && strcmp(type, "FeatureCollection") == 0)
		read_geojson(&bd, root);
	else
		fail(&bd, SL_EVALID, "type",
		     "expected a TopoJSON Topology or a GeoJSON "
		     "FeatureCollection of polygons");
	json_decref(root);
	free(bd.alat);
	free(bd.alon);
	free(bd.arc_start);
	if (bd.err == SL_OK && bd.b->nc == 0)
		fail(&bd, SL_EVALID, "", "has no polygons");
	if (bd.err == SL_OK && !finish(bd.b))
		fail(&bd, SL_ENOMEM, "", "out of memory");
	if (bd.err != SL_OK) {
		sl_borders_free(bd.b);
		return bd.err;
	}
	*out = bd.b;
	return SL_OK;
}

sl_err sl_borders_load_file(const char *path, sl_borders **out, sl_problems *why)
{
	*out = NULL;
	char *buf;
	size_t len;
	sl_err e = sl_read_file(path, SL_BORDERS_MAX_BYTES, &buf, &len, why);
	if (e != SL_OK)
		return e;
	e = sl_borders_load_buffer(buf, len, out, why);
	free(buf);
	return e;
}

void sl_borders_free(sl_borders *b)
{
	if (!b)
		return;
	free(b->c);
	free(b->r);
	free(b->lat);
	free(b->lon);
	free(b->seg_next);
	free(b->pt_country);
	sl_grid_free(&b->grid);
	free(b);
}

/* ---------------------------------------------------------------- queries */

size_t sl_borders_count(const sl_borders *b)
{
	return b->nc;
}

int sl_borders_code(const sl_borders *b, size_t i)
{
	return i < b->nc ? b->c[i].code : 0;
}

const char *sl_borders_name(const sl_borders *b, size_t i)
{
	return i < b->nc ? b->c[i].name : "";
}

bool sl_borders_find(const sl_borders *b, int code, size_t *i)
{
	for (size_t k = 0; code && k < b->nc; k++)
		if (b->c[k].code == code) {
			*i = k;
			return true;
		}
	return false;
}

/* Even-odd: does a ray east of (lat, lon) cross country c's rings an odd
 * number of times? */
static bool inside(const sl_borders *b, const country *c, double lat, double lon)
{
	if (!box_has(&c->bb, lat, lon))
		return false;
	bool in = false;
	for (uint32_t k = 0; k < c->n_rings; k++) {
		const ring *r = &b->r[c->ring0 + k];
		if (!box_has(&r->bb, lat, lon))
			continue;
		const double *la = b->lat + r->first, *lo = b->lon + r->first;
		for (uint32_t i = 0; i + 1 < r->n; i++) {
			if ((la[i] > lat) == (la[i + 1] > lat))
				continue;
			double x = lo[i] + (lat - la[i]) * (lo[i + 1] - lo[i]) /
					       (la[i + 1] - la[i]);
			if (x > lon)
				in = !in;
		}
	}
	return in;
}

static int index_at(const sl_borders *b, double lat, double lon)
{
	for (size_t k = 0; k < b->nc; k++)
		if (inside(b, &b->c[k], lat, lon))
			return (int)k;
	return -1;
}

int sl_borders_country_at(const sl_borders *b, double lat, double lon)
{
	int k = index_at(b, lat, lon);
	return k < 0 ? 0 : b->c[k].code;
}

/* The nearest point of country ci's boundary among the segments in the
 * cells within r of (lat, lon): its distance, or INFINITY. */
static double nearest_within(const sl_borders *b, uint32_t ci, double lat, double lon,
			     double r)
{
	uint32_t x0, x1, y0, y1;
	if (!sl_grid_cells(&b->grid, lat, lon, r, &x0, &x1, &y0, &y1))
		return INFINITY;
	double best = INFINITY;
	for (uint32_t y = y0; y <= y1; y++)
		for (uint32_t x = x0; x <= x1; x++) {
			size_t cell = (size_t)y * b->grid.nx + x;
			for (uint32_t k = b->grid.start[cell];
			     k < b->grid.start[cell + 1]; k++) {
				uint32_t i = b->grid.items[k];
				if (b->pt_country[i] != ci)
					continue;
				double t;
				sl_seg_distance(lat, lon, b->lat[i], b->lon[i],
						b->lat[i + 1], b->lon[i + 1], &t);
				double plat = b->lat[i] + t * (b->lat[i + 1] - b->lat[i]);
				double plon = b->lon[i] + t * (b->lon[i + 1] - b->lon[i]);
				double d = sl_geo_distance_m(lat, lon, plat, plon);
				if (d < best)
					best = d;
			}
		}
	return best;
}

double sl_borders_distance_m(const sl_borders *b, int code, double lat, double lon)
{
	size_t ci;
	if (!b || !sl_borders_find(b, code, &ci))
		return -1;
	if (inside(b, &b->c[ci], lat, lon))
		return 0;
	/* Grow the search until the nearest segment found lies within it. The
	 * flat frame of the cell search is only a guide: a point found at d
	 * is certain once every cell within d has been looked at. */
	for (double r = CELL_M; r <= FAR_M * 2; r *= 2) {
		double d = nearest_within(b, (uint32_t)ci, lat, lon, r);
		if (d <= r * 0.9)
			return d;
	}
	return FAR_M;
}

/* Where segments p-q and a-b (lat, lon in degrees) cross: the fraction
 * along p-q in *s. Planar; the segments are short. */
static bool seg_cross(double plat, double plon, double qlat, double qlon, double alat,
		      double alon, double blat, double blon, double *s)
{
	double rx = qlon - plon, ry = qlat - plat, sx = blon - alon, sy = blat - alat;
	double den = rx * sy - ry * sx;
	if (den == 0)
		return false;
	double ux = alon - plon, uy = alat - plat;
	double t = (ux * sy - uy * sx) / den, u = (ux * ry - uy * rx) / den;
	if (t < 0 || t > 1 || u < 0 || u > 1)
		return false;
	*s = t;
	return true;
}

/* The first crossing of segment p-q with country ci's boundary: its
 * fraction along p-q, or false. */
static bool first_cross(const sl_borders *b, uint32_t ci, double plat, double plon,
			double qlat, double qlon, double *frac)
{
	double mlat = (plat + qlat) / 2, mlon = (plon + qlon) / 2;
	double half = sl_geo_distance_m(plat, plon, qlat, qlon) / 2 + 1;
	uint32_t x0, x1, y0, y1;
	if (!sl_grid_cells(&b->grid, mlat, mlon, half, &x0, &x1, &y0, &y1))
		return false;
	double best = 2;
	for (uint32_t y = y0; y <= y1; y++)
		for (uint32_t x = x0; x <= x1; x++) {
			size_t cell = (size_t)y * b->grid.nx + x;
			for (uint32_t k = b->grid.start[cell];
			     k < b->grid.start[cell + 1]; k++) {
				uint32_t i = b->grid.items[k];
				double s;
				if (b->pt_country[i] == ci &&
				    seg_cross(plat, plon, qlat, qlon, b->lat[i],
					      b->lon[i], b->lat[i + 1], b->lon[i + 1],
					      &s) &&
				    s < best)
					best = s;
			}
		}
	if (best > 1)
		return false;
	*frac = best;
	return true;
}

/* The country other than home found just across a crossing at (lat, lon)
 * going from (alat, alon) to (blat, blon). */
static int across(const sl_borders *b, int home, double lat, double lon, double blat,
		  double blon)
{
	double d = sl_geo_distance_m(lat, lon, blat, blon);
	double brg = sl_geo_bearing_deg(lat, lon, blat, blon);
	for (double step = 300; step <= 3000; step *= 3) {
		double la, lo;
		sl_geo_destination(lat, lon, brg, d > 0 && d < step ? d : step, &la, &lo);
		int c = sl_borders_country_at(b, la, lo);
		if (c != home && c != 0)
			return c;
	}
	return 0;
}

#define RAY_STEP_M 10000.0

sl_err sl_borders_ray_exit(const sl_borders *b, int home, double lat, double lon,
			   double bearing_deg, double max_m, sl_border_exit *out)
{
	size_t ci;
	if (!b || !out || !sl_borders_find(b, home, &ci) || !sl_geo_valid(lat, lon) ||
	    !(max_m > 0))
		return SL_EINVAL;
	if (!inside(b, &b->c[ci], lat, lon))
		return SL_ENOTFOUND;
	double plat = lat, plon = lon;
	for (double s = 0; s < max_m; s += RAY_STEP_M) {
		double step = fmin(RAY_STEP_M, max_m - s);
		double qlat, qlon;
		sl_geo_destination(lat, lon, bearing_deg, s + step, &qlat, &qlon);
		double f;
		if (first_cross(b, (uint32_t)ci, plat, plon, qlat, qlon, &f)) {
			out->lat = plat + f * (qlat - plat);
			out->lon = plon + f * (qlon - plon);
			out->along_m = s + f * step;
			out->country = across(b, home, out->lat, out->lon, qlat, qlon);
			return SL_OK;
		}
		plat = qlat, plon = qlon;
	}
	return SL_ENOTFOUND;
}

sl_err sl_borders_crossings(const sl_borders *b, int home, const sl_network *n,
			    const sl_stations *stations, sl_border_crossing **out,
			    size_t *n_out)
{
	*out = NULL, *n_out = 0;
	size_t ci;
	if (!b || !n || !sl_borders_find(b, home, &ci))
		return SL_EINVAL;
	const country *c = &b->c[ci];
	sl_border_crossing *list = NULL;
	size_t cnt = 0, cap = 0;
	for (uint32_t e = 0; e < sl_network_edge_count(n); e++) {
		sl_network_edge_info ei;
		if (sl_network_edge(n, e, &ei) != SL_OK)
			continue;
		double cum = 0, last = -INFINITY;
		for (size_t i = 0; i + 1 < ei.n_points; i++) {
			double alat = ei.lat[i], alon = ei.lon[i], blat = ei.lat[i + 1],
			       blon = ei.lon[i + 1];
			double seg = sl_geo_distance_m(alat, alon, blat, blon);
			/* Only segments near home's box can cross its border. */
			if (fmax(alat, blat) < c->bb.min_lat ||
			    fmin(alat, blat) > c->bb.max_lat ||
			    fmax(alon, blon) < c->bb.min_lon ||
			    fmin(alon, blon) > c->bb.max_lon) {
				cum += seg;
				continue;
			}
			double s0 = 0, f;
			double plat = alat, plon = alon;
			while (s0 < 1 &&
			       first_cross(b, (uint32_t)ci, plat, plon, blat, blon, &f)) {
				double xlat = plat + f * (blat - plat),
				       xlon = plon + f * (blon - plon);
				double s = s0 + f * (1 - s0);
				double off = cum + s * seg;
				if (off - last >= CROSSING_DEDUP_M) {
					if (cnt >= SL_BORDERS_MAX_CROSSINGS) {
						free(list);
						return SL_ETOOBIG;
					}
					if (!sl_grow((void **)&list, &cap, cnt + 1,
						     sizeof(*list))) {
						free(list);
						return SL_ENOMEM;
					}
					sl_border_crossing *x = &list[cnt++];
					memset(x, 0, sizeof(*x));
					x->lat = xlat, x->lon = xlon;
					x->edge = e;
					x->offset_m =
					    off < ei.length_m ? off : ei.length_m;
					/* The neighbour is on whichever side home is not.
					 */
					x->country =
					    inside(b, c, alat, alon)
						? across(b, home, xlat, xlon, blat, blon)
						: across(b, home, xlat, xlon, alat, alon);
					size_t si;
					if (stations &&
					    sl_stations_nearest(stations, xlat, xlon,
								STATION_NEAR_M, &si,
								NULL) == SL_OK)
						snprintf(x->station, sizeof(x->station),
							 "%s",
							 sl_stations_get(stations, si)
							     ->name_ru);
					last = off;
				}
				/* Look for another crossing on the rest of the segment.
				 */
				double nlat = xlat + (blat - xlat) * 1e-6,
				       nlon = xlon + (blon - xlon) * 1e-6;
				s0 = s + 1e-6;
				plat = nlat, plon = nlon;
			}
			cum += seg;
		}
	}
	*out = list;
	*n_out = cnt;
	return SL_OK;
}
