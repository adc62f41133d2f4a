/*
 * network.c — the rail network graph (network.h, docs/NETWORK.md).
 *
 * Loading goes in three steps, each over plain arrays:
 *
 *   1. read: GeoJSON (jansson) into raw lines, every position checked and
 *      counted against the caps; a bad feature is named and nothing is
 *      built.
 *   2. junctions: the "node candidates" are every line end and every
 *      position that two lines (or one line twice) share exactly. Candidates
 *      within join_m of each other are one junction (union-find over a
 *      grid). An end within join_m of another line's interior, far from that
 *      line's own candidates, is a T-junction: that line is cut there.
 *      Interiors that cross without a shared position are overpasses and stay
 *      apart: Natural Earth and OSM both draw junctions as shared vertices.
 *   3. edges: every line is cut at its junctions into node-to-node edges
 *      whose first and last points are the junction's position, then an
 *      adjacency list (CSR), connected components and a segment grid for
 *      snapping.
 *
 * Routing is A* from the two ends of the start edge, with the great-circle
 * distance to the target place as heuristic (admissible: no rail is shorter
 * than the great circle), and an optional bound that stops the search once
 * every open path is longer.
 */
#include "sightline/network.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine/network_int.h"
#include "sightline/buf.h"
#include "sightline/geo.h"

#define RAD (SL_GEO_PI / 180.0)
#define NO_NODE UINT32_MAX

/* ---------------------------------------------------------------- grid */

/* A tenth of a millionth of a cell: a point on a cell's edge counts in
 * both cells, so that rounding never drops a segment from the cell a
 * query looks in. */
#define CELL_EPS 1e-7

static uint32_t cell_index(double v, uint32_t n)
{
	if (!(v > 0))
		return 0;
	return v >= (double)n ? n - 1 : (uint32_t)v;
}

/* Counts (pass 0) or places (pass 1) item in every cell the segment from
 * (xa, ya) to (xb, yb) passes through, coordinates in cells from the
 * grid's corner: column by column, the rows the segment spans within
 * each. A segment so covers about nx + ny cells, not its bounding box's
 * nx * ny: one long diagonal line would otherwise fill the whole grid. */
static void place_segment(sl_grid *g, int pass, uint32_t *cursor, double xa, double ya,
			  double xb, double yb, uint32_t item)
{
	if (xa > xb) {
		double t = xa;
		xa = xb, xb = t;
		t = ya;
		ya = yb, yb = t;
	}
	uint32_t cx0 = cell_index(floor(xa - CELL_EPS), g->nx),
		 cx1 = cell_index(floor(xb + CELL_EPS), g->nx);
	for (uint32_t cx = cx0; cx <= cx1; cx++) {
		double x0 = fmax(xa, (double)cx), x1 = fmin(xb, (double)cx + 1);
		double y0 = ya, y1 = yb;
		if (xb > xa) {
			y0 = ya + (yb - ya) * (x0 - xa) / (xb - xa);
			y1 = ya + (yb - ya) * (x1 - xa) / (xb - xa);
		}
		if (y0 > y1) {
			double t = y0;
			y0 = y1, y1 = t;
		}
		uint32_t cy0 = cell_index(floor(y0 - CELL_EPS), g->ny),
			 cy1 = cell_index(floor(y1 + CELL_EPS), g->ny);
		for (uint32_t cy = cy0; cy <= cy1; cy++) {
			size_t cell = (size_t)cy * g->nx + cx;
			if (pass == 0)
				g->start[cell + 1]++;
			else
				g->items[cursor[cell]++] = item;
		}
	}
}

bool sl_grid_build(sl_grid *g, const double *lat, const double *lon, size_t n,
		   const uint8_t *seg_next, double cell_m)
{
	memset(g, 0, sizeof(*g));
	double la0 = 90, la1 = -90, lo0 = 180, lo1 = -180;
	for (size_t i = 0; i < n; i++) {
		la0 = fmin(la0, lat[i]), la1 = fmax(la1, lat[i]);
		lo0 = fmin(lo0, lon[i]), lo1 = fmax(lo1, lon[i]);
	}
	if (n == 0)
		la0 = la1 = lo0 = lo1 = 0;
	double c = cos((la0 + la1) / 2 * RAD);
	g->dlat = cell_m / SL_M_PER_DEG;
	g->dlon = cell_m / (SL_M_PER_DEG * fmax(c, 0.01));
	for (;;) {
		double nx = floor((lo1 - lo0) / g->dlon) + 1,
		       ny = floor((la1 - la0) / g->dlat) + 1;
		if (nx * ny <= GRID_MAX_CELLS) {
			g->nx = (uint32_t)nx, g->ny = (uint32_t)ny;
			break;
		}
		g->dlat *= 2, g->dlon *= 2;
	}
	g->lat0 = la0, g->lon0 = lo0;
	size_t cells = (size_t)g->nx * g->ny;
	g->start = calloc(cells + 1, sizeof(*g->start));
	if (!g->start)
		return false;
	/* Two passes: count per cell, then place (a counting sort). */
	uint32_t *cursor = NULL;
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < n; i++) {
			if (seg_next && (i + 1 >= n || !seg_next[i]))
				continue;
			size_t j = seg_next ? i + 1 : i;
			place_segment(g, pass, cursor, (lon[i] - lo0) / g->dlon,
				      (lat[i] - la0) / g->dlat, (lon[j] - lo0) / g->dlon,
				      (lat[j] - la0) / g->dlat, (uint32_t)i);
		}
		if (pass == 1)
			break;
		for (size_t k = 0; k < cells; k++) {
			if (g->start[k + 1] > UINT32_MAX - g->start[k])
				return false;
			g->start[k + 1] += g->start[k];
		}
		g->n_items = g->start[cells];
		g->items = malloc((g->n_items ? g->n_items : 1) * sizeof(*g->items));
		cursor = malloc(cells * sizeof(*cursor));
		if (!g->items || !cursor) {
			free(cursor);
			return false;
		}
		memcpy(cursor, g->start, cells * sizeof(*cursor));
	}
	free(cursor);
	return true;
}

void sl_grid_free(sl_grid *g)
{
	free(g->start);
	free(g->items);
	memset(g, 0, sizeof(*g));
}

bool sl_grid_cells(const sl_grid *g, double lat, double lon, double r, uint32_t *x0,
		   uint32_t *x1, uint32_t *y0, uint32_t *y1)
{
	if (!g->start)
		return false;
	double rlat = r / SL_M_PER_DEG;
	double rlon = r / (SL_M_PER_DEG * fmax(cos(lat * RAD), 0.01));
	double fx0 = floor((lon - rlon - g->lon0) / g->dlon);
	double fx1 = floor((lon + rlon - g->lon0) / g->dlon);
	double fy0 = floor((lat - rlat - g->lat0) / g->dlat);
	double fy1 = floor((lat + rlat - g->lat0) / g->dlat);
	if (fx1 < 0 || fy1 < 0 || fx0 >= g->nx || fy0 >= g->ny)
		return false;
	*x0 = fx0 < 0 ? 0 : (uint32_t)fx0;
	*y0 = fy0 < 0 ? 0 : (uint32_t)fy0;
	*x1 = fx1 >= g->nx ? g->nx - 1 : (uint32_t)fx1;
	*y1 = fy1 >= g->ny ? g->ny - 1 : (uint32_t)fy1;
	return true;
}

double sl_seg_distance(double lat, double lon, double alat, double alon, double blat,
		       double blon, double *t)
{
	double kx = SL_M_PER_DEG * cos(lat * RAD), ky = SL_M_PER_DEG;
	double ax = (alon - lon) * kx, ay = (alat - lat) * ky;
	double bx = (blon - lon) * kx, by = (blat - lat) * ky;
	double dx = bx - ax, dy = by - ay, l2 = dx * dx + dy * dy;
	double u = l2 > 0 ? -(ax * dx + ay * dy) / l2 : 0;
	u = u < 0 ? 0 : u > 1 ? 1 : u;
	*t = u;
	return hypot(ax + u * dx, ay + u * dy);
}

/* ---------------------------------------------------------------- the graph */

typedef struct edge {
	uint32_t from, to;
	uint32_t first, n; /* vertices first .. first + n - 1 */
	double length_m;
	int32_t feature;
	int32_t scalerank, mult_track, electric;
	int64_t line_id;
} edge;

struct sl_network {
	size_t n_nodes, n_edges, n_vertices;
	double *node_lat, *node_lon;
	uint32_t *node_comp;
	uint32_t *adj_start; /* n_nodes + 1 */
	uint32_t *adj;	     /* edge << 1 | 1 when leaving from the edge's `to` end */
	edge *edges;
	double *vlat, *vlon, *vcum; /* vcum: distance from the edge's first vertex */
	uint8_t *seg_next;	    /* vertex i and i + 1 are one segment */
	sl_grid grid;
	sl_network_stats stats;
};

void sl_network_options_default(sl_network_options *o)
{
	*o = (sl_network_options){
	    .join_m = SL_NETWORK_JOIN_M,
	    .max_bytes = SL_NETWORK_MAX_BYTES,
	    .max_features = SL_NETWORK_MAX_FEATURES,
	    .max_vertices = SL_NETWORK_MAX_VERTICES,
	};
}

/* The options with defaults filled in; SL_EINVAL (said in why) for a
 * tolerance that is negative, not a number or over 10 km. */
static sl_err resolve(const sl_network_options *opt, sl_network_options *o,
		      sl_problems *why)
{
	sl_network_options_default(o);
	if (!opt)
		return SL_OK;
	if (!(opt->join_m >= 0 && opt->join_m <= 10000)) {
		sl_problems_add(why, "join_m", "%g is outside 0..10000 metres",
				opt->join_m);
		return SL_EINVAL;
	}
	if (opt->join_m > 0)
		o->join_m = opt->join_m;
	if (opt->max_bytes)
		o->max_bytes = opt->max_bytes;
	if (opt->max_features)
		o->max_features = opt->max_features;
	if (opt->max_vertices)
		o->max_vertices = opt->max_vertices;
	return SL_OK;
}

void sl_network_free(sl_network *n)
{
	if (!n)
		return;
	free(n->node_lat);
	free(n->node_lon);
	free(n->node_comp);
	free(n->adj_start);
	free(n->adj);
	free(n->edges);
	free(n->vlat);
	free(n->vlon);
	free(n->vcum);
	free(n->seg_next);
	sl_grid_free(&n->grid);
	free(n);
}

/* ---------------------------------------------------------------- 1. read */

typedef struct line_props {
	int32_t feature;
	int32_t scalerank, mult_track, electric;
	int64_t line_id;
} line_props;

typedef struct raw {
	sl_network_options opt;
	sl_problems *why;
	sl_err err; /* the first failure's kind */
	double *lat, *lon;
	size_t nv, cap_v;
	uint32_t *start; /* line i holds vertices start[i] .. start[i + 1] - 1 */
	line_props *props;
	size_t nl, cap_l, cap_s;
	size_t features, skipped;
} raw;

static void raw_free(raw *r)
{
	free(r->lat);
	free(r->lon);
	free(r->start);
	free(r->props);
}

/* Records one problem; the first kind of failure other than EVALID wins. */
static void fail_with(raw *r, sl_err e, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void fail_with(raw *r, sl_err e, const char *field, const char *fmt, ...)
{
	if (r->err == SL_OK || e != SL_EVALID)
		r->err = e;
	char msg[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sl_problems_add(r->why, field, "%s", msg);
}

static const char *type_word(const json_t *v)
{
	if (!v)
		return "nothing";
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		return "null";
	}
	return "a value";
}

static int32_t int_prop(const json_t *props, const char *key)
{
	const json_t *v = json_object_get(props, key);
	if (!json_is_integer(v))
		return -1;
	json_int_t i = json_integer_value(v);
	return i < INT32_MIN || i > INT32_MAX ? -1 : (int32_t)i;
}

/* Too many problems already: stop looking for more. */
static bool enough(const raw *r)
{
	return r->why->n + r->why->dropped >= SL_PROBLEMS_MAX || r->err == SL_ETOOBIG ||
	       r->err == SL_ENOMEM;
}

/* One LineString's coordinates (field names the array). */
static void read_line(raw *r, const json_t *coords, const char *field,
		      const line_props *lp)
{
	char f[64];
	if (!json_is_array(coords)) {
		fail_with(r, SL_EVALID, field, "expected an array of positions, got %s",
			  type_word(coords));
		return;
	}
	size_t n = json_array_size(coords);
	if (n < 2) {
		fail_with(r, SL_EVALID, field,
			  "a line needs at least 2 positions, got %s", n ? "1" : "none");
		return;
	}
	if (r->nv + n > r->opt.max_vertices) {
		fail_with(r, SL_ETOOBIG, field,
			  "the lines have more positions than the limit of %zu",
			  r->opt.max_vertices);
		return;
	}
	size_t cap = r->cap_v;
	if (!sl_grow((void **)&r->lat, &cap, r->nv + n, sizeof(double)) ||
	    (cap = r->cap_v,
	     !sl_grow((void **)&r->lon, &cap, r->nv + n, sizeof(double))) ||
	    (r->cap_v = cap,
	     !sl_grow((void **)&r->props, &r->cap_l, r->nl + 1, sizeof(line_props))) ||
	    !sl_grow((void **)&r->start, &r->cap_s, r->nl + 2, sizeof(uint32_t))) {
		r->err = SL_ENOMEM;
		return;
	}
	size_t first = r->nv, kept = 0;
	bool bad = false;
	for (size_t i = 0; i < n && !enough(r); i++) {
		const json_t *p = json_array_get(coords, i);
		snprintf(f, sizeof(f), "%.40s[%zu]", field, i);
		if (!json_is_array(p) || json_array_size(p) < 2 ||
		    !json_is_number(json_array_get(p, 0)) ||
		    !json_is_number(json_array_get(p, 1))) {
			fail_with(r, SL_EVALID, f,
				  "expected a position [lon, lat], got %s",
				  json_is_array(p) ? "an array without two numbers"
						   : type_word(p));
			bad = true;
			continue;
		}
		double lon = json_number_value(json_array_get(p, 0));
		double lat = json_number_value(json_array_get(p, 1));
		if (!(lon >= -180 && lon <= 180)) {
			fail_with(r, SL_EVALID, f, "longitude %g is outside -180..180",
				  lon);
			bad = true;
			continue;
		}
		if (!(lat >= -90 && lat <= 90)) {
			fail_with(r, SL_EVALID, f, "latitude %g is outside -90..90", lat);
			bad = true;
			continue;
		}
		/* A position repeated in a row adds nothing. */
		if (kept && r->lat[first + kept - 1] == lat &&
		    r->lon[first + kept - 1] == lon)
			continue;
		r->lat[first + kept] = lat;
		r->lon[first + kept] = lon;
		kept++;
	}
	if (bad || enough(r))
		return;
	if (kept < 2) {
		fail_with(r, SL_EVALID, field,
			  "a line needs 2 distinct positions, got %s", "one repeated");
		return;
	}
	r->start[r->nl] = (uint32_t)first;
	r->props[r->nl] = *lp;
	r->nl++;
	r->nv = first + kept;
	r->start[r->nl] = (uint32_t)r->nv;
}

static void read_geometry(raw *r, const json_t *g, const char *field,
			  const line_props *lp, int depth)
{
	char f[64];
	if (json_is_null(g)) {
		r->skipped++;
		return;
	}
	if (!json_is_object(g)) {
		fail_with(r, SL_EVALID, field, "expected a geometry object, got %s",
			  type_word(g));
		return;
	}
	const char *type = json_string_value(json_object_get(g, "type"));
	if (!type) {
		snprintf(f, sizeof(f), "%.50s.type", field);
		fail_with(r, SL_EVALID, f, "expected a geometry type string, got %s",
			  type_word(json_object_get(g, "type")));
		return;
	}
	const json_t *coords = json_object_get(g, "coordinates");
	snprintf(f, sizeof(f), "%.45s.coordinates", field);
	if (strcmp(type, "LineString") == 0) {
		r->features++;
		read_line(r, coords, f, lp);
	} else if (strcmp(type, "MultiLineString") == 0) {
		r->features++;
		if (!json_is_array(coords) || json_array_size(coords) == 0) {
			fail_with(r, SL_EVALID, f,
				  "expected a non-empty array of lines, got %s",
				  json_is_array(coords) ? "an empty one"
							: type_word(coords));
			return;
		}
		for (size_t i = 0; i < json_array_size(coords) && !enough(r); i++) {
			char fi[64];
			snprintf(fi, sizeof(fi), "%.40s[%zu]", f, i);
			read_line(r, json_array_get(coords, i), fi, lp);
		}
	} else if (strcmp(type, "GeometryCollection") == 0 && depth < 4) {
		const json_t *gs = json_object_get(g, "geometries");
		for (size_t i = 0; i < json_array_size(gs) && !enough(r); i++) {
			snprintf(f, sizeof(f), "%.30s.geometries[%zu]", field, i);
			read_geometry(r, json_array_get(gs, i), f, lp, depth + 1);
		}
	} else if (strcmp(type, "Point") == 0 || strcmp(type, "MultiPoint") == 0 ||
		   strcmp(type, "Polygon") == 0 || strcmp(type, "MultiPolygon") == 0) {
		r->skipped++; /* stations drawn in the same file, say */
	} else {
		snprintf(f, sizeof(f), "%.50s.type", field);
		fail_with(r, SL_EVALID, f, "\"%.40s\" is not a GeoJSON geometry type",
			  type);
	}
}

static void read_feature(raw *r, const json_t *ft, size_t i, const char *prefix)
{
	char f[64];
	snprintf(f, sizeof(f), "%s[%zu]", prefix, i);
	if (!json_is_object(ft)) {
		fail_with(r, SL_EVALID, f, "expected a Feature object, got %s",
			  type_word(ft));
		return;
	}
	const char *type = json_string_value(json_object_get(ft, "type"));
	if (!type || strcmp(type, "Feature") != 0) {
		fail_with(r, SL_EVALID, f, "expected \"type\": \"Feature\"");
		return;
	}
	const json_t *props = json_object_get(ft, "properties");
	line_props lp = {.feature = (int32_t)i,
			 .scalerank = int_prop(props, "scalerank"),
			 .mult_track = int_prop(props, "mult_track"),
			 .electric = int_prop(props, "electric"),
			 .line_id = -1};
	const json_t *id = json_object_get(props, "rwdb_rr_id");
	if (!json_is_integer(id))
		id = json_object_get(ft, "id");
	if (json_is_integer(id))
		lp.line_id = json_integer_value(id);
	char gf[64];
	snprintf(gf, sizeof(gf), "%.50s.geometry", f);
	if (!json_object_get(ft, "geometry")) {
		fail_with(r, SL_EVALID, gf, "is required (null for none)");
		return;
	}
	read_geometry(r, json_object_get(ft, "geometry"), gf, &lp, 0);
}

static void read_root(raw *r, const json_t *root)
{
	if (!json_is_object(root)) {
		fail_with(r, SL_EVALID, "", "expected a GeoJSON object, got %s",
			  type_word(root));
		return;
	}
	const char *type = json_string_value(json_object_get(root, "type"));
	if (!type) {
		fail_with(r, SL_EVALID, "type", "expected a GeoJSON type string, got %s",
			  type_word(json_object_get(root, "type")));
		return;
	}
	if (strcmp(type, "FeatureCollection") == 0) {
		const json_t *fs = json_object_get(root, "features");
		if (!json_is_array(fs)) {
			fail_with(r, SL_EVALID, "features", "expected an array, got %s",
				  type_word(fs));
			return;
		}
		size_t n = json_array_size(fs);
		if (n > r->opt.max_features) {
			fail_with(r, SL_ETOOBIG, "features",
				  "%zu features is more than the limit of %zu", n,
				  r->opt.max_features);
			return;
		}
		for (size_t i = 0; i < n && !enough(r); i++)
			read_feature(r, json_array_get(fs, i), i, "features");
	} else if (strcmp(type, "Feature") == 0) {
		read_feature(r, root, 0, "feature");
	} else {
		line_props lp = {.feature = 0,
				 .scalerank = -1,
				 .mult_track = -1,
				 .electric = -1,
				 .line_id = -1};
		read_geometry(r, root, "geometry", &lp, 0);
	}
	if (r->err == SL_OK && r->nl == 0)
		fail_with(r, SL_EVALID, "", "has no LineString or MultiLineString");
}

/* ---------------------------------------------------------------- 2. junctions */

/* A node candidate: a line end, or a position two lines share. */
typedef struct cand {
	uint32_t v; /* raw vertex */
	uint32_t line;
	double arc; /* distance along its line */
	bool end;
} cand;

/* A T-junction: line `line` is cut at fraction t of segment v -> v + 1. */
typedef struct split {
	uint32_t line, v;
	double t, arc, lat, lon;
	uint32_t cand; /* the end that meets it */
} split;

typedef struct build {
	raw *r;
	double *arc; /* per raw vertex: distance from its line's start */
	uint32_t *line_of;
	cand *c;
	size_t nc, cap_c;
	uint32_t *parent;  /* union-find over candidates */
	uint32_t *by_line; /* candidate ids sorted by (line, arc) */
	uint32_t *line_c0; /* by_line range of each line: line_c0[l] .. line_c0[l+1] */
	split *s;
	size_t ns, cap_s;
	size_t joined;
} build;

static uint32_t find(uint32_t *p, uint32_t x)
{
	while (p[x] != x) {
		p[x] = p[p[x]];
		x = p[x];
	}
	return x;
}

static bool unite(uint32_t *p, uint32_t a, uint32_t b)
{
	a = find(p, a), b = find(p, b);
	if (a == b)
		return false;
	if (a < b)
		p[b] = a;
	else
		p[a] = b;
	return true;
}

static const double *sort_lat, *sort_lon;

static int cmp_vertex_pos(const void *x, const void *y)
{
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
	if (sort_lat[a] != sort_lat[b])
		return sort_lat[a] < sort_lat[b] ? -1 : 1;
	if (sort_lon[a] != sort_lon[b])
		return sort_lon[a] < sort_lon[b] ? -1 : 1;
	return a < b ? -1 : a > b;
}

static const cand *sort_cand;

static int cmp_cand_line(const void *x, const void *y)
{
	const cand *a = &sort_cand[*(const uint32_t *)x],
		   *b = &sort_cand[*(const uint32_t *)y];
	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	if (a->arc != b->arc)
		return a->arc < b->arc ? -1 : 1;
	return a->v < b->v ? -1 : a->v > b->v;
}

static bool add_cand(build *b, uint32_t v, bool end)
{
	if (!sl_grow((void **)&b->c, &b->cap_c, b->nc + 1, sizeof(cand)))
		return false;
	b->c[b->nc++] =
	    (cand){.v = v, .line = b->line_of[v], .arc = b->arc[v], .end = end};
	return true;
}

/* Every line end, and every position held by more than one vertex. */
static bool find_candidates(build *b)
{
	raw *r = b->r;
	for (size_t l = 0; l < r->nl; l++) {
		if (!add_cand(b, r->start[l], true) ||
		    !add_cand(b, r->start[l + 1] - 1, true))
			return false;
	}
	size_t n_ends = b->nc;
	uint32_t *order = malloc(r->nv * sizeof(*order));
	if (!order)
		return false;
	for (size_t i = 0; i < r->nv; i++)
		order[i] = (uint32_t)i;
	sort_lat = r->lat, sort_lon = r->lon;
	qsort(order, r->nv, sizeof(*order), cmp_vertex_pos);
	bool ok = true;
	for (size_t i = 0; i < r->nv && ok;) {
		size_t j = i + 1;
		while (j < r->nv && r->lat[order[j]] == r->lat[order[i]] &&
		       r->lon[order[j]] == r->lon[order[i]])
			j++;
		if (j - i > 1) {
			for (size_t k = i; k < j && ok; k++) {
				uint32_t v = order[k], l = b->line_of[v];
				if (v != r->start[l] && v != r->start[l + 1] - 1)
					ok = add_cand(b, v, false);
			}
		}
		i = j;
	}
	free(order);
	if (!ok)
		return false;
	b->parent = malloc(b->nc * sizeof(*b->parent));
	if (!b->parent)
		return false;
	for (size_t i = 0; i < b->nc; i++)
		b->parent[i] = (uint32_t)i;
	(void)n_ends;
	return true;
}

/* Unites candidates within join_m (a grid of join_m cells over them). */
static bool join_candidates(build *b)
{
	raw *r = b->r;
	double *la = malloc(b->nc * sizeof(double)), *lo = malloc(b->nc * sizeof(double));
	sl_grid g;
	bool ok = la && lo;
	for (size_t i = 0; ok && i < b->nc; i++)
		la[i] = r->lat[b->c[i].v], lo[i] = r->lon[b->c[i].v];
	/* Cells much wider than join_m: a 100 m grid over a country would be
	 * millions of empty cells. */
	ok = ok && sl_grid_build(&g, la, lo, b->nc, NULL, fmax(b->r->opt.join_m, 2000));
	for (size_t i = 0; ok && i < b->nc; i++) {
		uint32_t x0, x1, y0, y1;
		if (!sl_grid_cells(&g, la[i], lo[i], r->opt.join_m, &x0, &x1, &y0, &y1))
			continue;
		for (uint32_t y = y0; y <= y1; y++)
			for (uint32_t x = x0; x <= x1; x++) {
				size_t cell = (size_t)y * g.nx + x;
				for (uint32_t k = g.start[cell]; k < g.start[cell + 1];
				     k++) {
					uint32_t j = g.items[k];
					if (j <= i)
						continue;
					double d =
					    sl_geo_distance_m(la[i], lo[i], la[j], lo[j]);
					if (d <= r->opt.join_m &&
					    unite(b->parent, (uint32_t)i, j) && d > 0)
						b->joined++;
				}
			}
	}
	if (la && lo)
		sl_grid_free(&g);
	free(la);
	free(lo);
	return ok;
}

/* The candidate of `line` nearest along it to arc, or UINT32_MAX. */
static uint32_t nearest_on_line(const build *b, uint32_t line, double arc, double *gap)
{
	uint32_t lo = b->line_c0[line], hi = b->line_c0[line + 1], best = UINT32_MAX;
	*gap = INFINITY;
	/* Lines have few candidates (ends and a few shared positions). */
	for (uint32_t k = lo; k < hi; k++) {
		double d = fabs(b->c[b->by_line[k]].arc - arc);
		if (d < *gap)
			*gap = d, best = b->by_line[k];
	}
	return best;
}

typedef struct hit {
	uint32_t line, v;
	double d, t;
} hit;

/* Ends that meet another line's interior: cut that line there, or join the
 * end to the candidate of that line that lies within join_m. */
static bool find_t_junctions(build *b)
{
	raw *r = b->r;
	double join = r->opt.join_m;
	uint8_t *next = malloc(r->nv ? r->nv : 1);
	if (!next)
		return false;
	for (size_t i = 0; i < r->nv; i++)
		next[i] = i + 1 < r->nv && b->line_of[i] == b->line_of[i + 1];
	sl_grid g;
	bool ok = sl_grid_build(&g, r->lat, r->lon, r->nv, next, fmax(join * 20, 2000));
	hit hits[16];
	for (size_t ci = 0; ok && ci < b->nc; ci++) {
		const cand *e = &b->c[ci];
		if (!e->end)
			continue;
		double la = r->lat[e->v], lo = r->lon[e->v];
		uint32_t x0, x1, y0, y1;
		size_t nh = 0;
		if (!sl_grid_cells(&g, la, lo, join, &x0, &x1, &y0, &y1))
			continue;
		for (uint32_t y = y0; y <= y1; y++)
			for (uint32_t x = x0; x <= x1; x++) {
				size_t cell = (size_t)y * g.nx + x;
				for (uint32_t k = g.start[cell]; k < g.start[cell + 1];
				     k++) {
					uint32_t s = g.items[k], m = b->line_of[s];
					double t;
					double d = sl_seg_distance(
					    la, lo, r->lat[s], r->lon[s], r->lat[s + 1],
					    r->lon[s + 1], &t);
					if (d > join)
						continue;
					double arc =
					    b->arc[s] + t * (b->arc[s + 1] - b->arc[s]);
					if (m == e->line &&
					    fabs(arc - e->arc) <= 3 * join)
						continue; /* its own line, near itself */
					size_t h = 0;
					while (h < nh && hits[h].line != m)
						h++;
					if (h == nh) {
						if (nh == sizeof(hits) / sizeof(hits[0]))
							continue;
						nh++;
						hits[h].d = INFINITY;
					}
					if (d < hits[h].d)
						hits[h] = (hit){
						    .line = m, .v = s, .d = d, .t = t};
				}
			}
		for (size_t h = 0; h < nh; h++) {
			uint32_t s = hits[h].v, m = hits[h].line;
			double t = hits[h].t,
			       arc = b->arc[s] + t * (b->arc[s + 1] - b->arc[s]), gap;
			uint32_t c = nearest_on_line(b, m, arc, &gap);
			if (c != UINT32_MAX && gap <= join) {
				if (unite(b->parent, (uint32_t)ci, c))
					b->joined++;
				continue;
			}
			if (!sl_grow((void **)&b->s, &b->cap_s, b->ns + 1,
				     sizeof(split))) {
				ok = false;
				break;
			}
			b->s[b->ns++] =
			    (split){.line = m,
				    .v = s,
				    .t = t,
				    .arc = arc,
				    .lat = r->lat[s] + t * (r->lat[s + 1] - r->lat[s]),
				    .lon = r->lon[s] + t * (r->lon[s + 1] - r->lon[s]),
				    .cand = (uint32_t)ci};
		}
	}
	free(next);
	sl_grid_free(&g);
	return ok;
}

static int cmp_split(const void *x, const void *y)
{
	const split *a = x, *b = y;
	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	if (a->arc != b->arc)
		return a->arc < b->arc ? -1 : 1;
	return a->cand < b->cand ? -1 : a->cand > b->cand;
}

/* Splits of one line closer than join_m to each other are one junction. */
static void merge_splits(build *b)
{
	if (b->ns > 1) /* qsort wants a real pointer even for nothing */
		qsort(b->s, b->ns, sizeof(split), cmp_split);
	size_t w = 0;
	for (size_t i = 0; i < b->ns; i++) {
		if (w && b->s[w - 1].line == b->s[i].line &&
		    b->s[i].arc - b->s[w - 1].arc <= b->r->opt.join_m) {
			unite(b->parent, b->s[w - 1].cand, b->s[i].cand);
			continue;
		}
		b->s[w++] = b->s[i];
	}
	b->ns = w;
}

/* ---------------------------------------------------------------- 3. edges */

/* A place where a line is cut: at vertex v (t = 0) or inside v -> v + 1. */
typedef struct cut {
	uint32_t v;
	double t;
	uint32_t node;
} cut;

static int cmp_cut(const void *x, const void *y)
{
	const cut *a = x, *b = y;
	if (a->v != b->v)
		return a->v < b->v ? -1 : 1;
	return a->t < b->t ? -1 : a->t > b->t;
}

typedef struct out {
	sl_network *n;
	size_t cap_e, cap_v;
} out;

static bool push_vertex(out *o, double lat, double lon)
{
	sl_network *n = o->n;
	if (n->n_vertices && n->vlat[n->n_vertices - 1] == lat &&
	    n->vlon[n->n_vertices - 1] == lon && n->seg_next[n->n_vertices - 1] == 2)
		return true; /* the same as the last vertex of this edge */
	size_t cap = o->cap_v;
	if (!sl_grow((void **)&n->vlat, &cap, n->n_vertices + 1, sizeof(double)))
		return false;
	cap = o->cap_v;
	if (!sl_grow((void **)&n->vlon, &cap, n->n_vertices + 1, sizeof(double)))
		return false;
	cap = o->cap_v;
	if (!sl_grow((void **)&n->seg_next, &cap, n->n_vertices + 1, 1))
		return false;
	o->cap_v = cap;
	n->vlat[n->n_vertices] = lat;
	n->vlon[n->n_vertices] = lon;
	n->seg_next[n->n_vertices] = 2; /* "open": part of the edge being built */
	n->n_vertices++;
	return true;
}

/* Emits the piece of line l between cuts a and b as an edge. */
static bool emit_piece(out *o, const raw *r, uint32_t l, const cut *a, const cut *b,
		       double join)
{
	sl_network *n = o->n;
	size_t first = n->n_vertices;
	bool ok = push_vertex(o, n->node_lat[a->node], n->node_lon[a->node]);
	uint32_t last = b->t > 0 ? b->v : b->v - 1;
	for (uint32_t v = a->v + 1; ok && v <= last && v < r->start[l + 1]; v++)
		ok = push_vertex(o, r->lat[v], r->lon[v]);
	ok = ok && push_vertex(o, n->node_lat[b->node], n->node_lon[b->node]);
	if (!ok)
		return false;
	size_t cnt = n->n_vertices - first;
	double len = 0;
	for (size_t i = first + 1; i < n->n_vertices; i++)
		len += sl_geo_distance_m(n->vlat[i - 1], n->vlon[i - 1], n->vlat[i],
					 n->vlon[i]);
	if (cnt < 2 || (a->node == b->node && len < 2 * join)) {
		n->n_vertices = first; /* a stub or a tiny loop: nothing to route on */
		return true;
	}
	for (size_t i = first; i < n->n_vertices; i++)
		n->seg_next[i] = i + 1 < n->n_vertices;
	if (!sl_grow((void **)&n->edges, &o->cap_e, n->n_edges + 1, sizeof(edge)))
		return false;
	const line_props *p = &r->props[l];
	n->edges[n->n_edges++] = (edge){.from = a->node,
					.to = b->node,
					.first = (uint32_t)first,
					.n = (uint32_t)cnt,
					.length_m = len,
					.feature = p->feature,
					.scalerank = p->scalerank,
					.mult_track = p->mult_track,
					.electric = p->electric,
					.line_id = p->line_id};
	return true;
}

/* Nodes from the candidate clusters; every line cut into edges. */
static bool make_edges(build *b, sl_network *n)
{
	raw *r = b->r;
	uint32_t *node_of = malloc(b->nc * sizeof(uint32_t));
	double *sum_lat = calloc(b->nc, sizeof(double)),
	       *sum_lon = calloc(b->nc, sizeof(double));
	uint32_t *cnt = calloc(b->nc, sizeof(uint32_t));
	uint8_t *pinned = calloc(b->nc, 1);
	cut *cuts = NULL;
	size_t cap_cuts = 0;
	bool ok = node_of && sum_lat && sum_lon && cnt && pinned;
	/* Node positions: a shared position or a T cut pins it (it lies on
	 * the lines already); otherwise the mean of the ends that met. */
	for (size_t i = 0; ok && i < b->nc; i++) {
		uint32_t root = find(b->parent, (uint32_t)i);
		if (!b->c[i].end && !pinned[root]) {
			pinned[root] = 1;
			sum_lat[root] = r->lat[b->c[i].v],
			sum_lon[root] = r->lon[b->c[i].v];
			cnt[root] = 1;
		}
	}
	for (size_t i = 0; ok && i < b->ns; i++) {
		uint32_t root = find(b->parent, b->s[i].cand);
		if (!pinned[root]) {
			pinned[root] = 1;
			sum_lat[root] = b->s[i].lat, sum_lon[root] = b->s[i].lon;
			cnt[root] = 1;
		}
	}
	for (size_t i = 0; ok && i < b->nc; i++) {
		uint32_t root = find(b->parent, (uint32_t)i);
		if (!pinned[root]) {
			sum_lat[root] += r->lat[b->c[i].v];
			sum_lon[root] += r->lon[b->c[i].v];
			cnt[root]++;
		}
	}
	size_t nodes = 0;
	for (size_t i = 0; ok && i < b->nc; i++)
		if (find(b->parent, (uint32_t)i) == i)
			node_of[i] = (uint32_t)nodes++;
	if (ok) {
		n->node_lat = malloc((nodes ? nodes : 1) * sizeof(double));
		n->node_lon = malloc((nodes ? nodes : 1) * sizeof(double));
		ok = n->node_lat && n->node_lon;
	}
	for (size_t i = 0; ok && i < b->nc; i++) {
		if (find(b->parent, (uint32_t)i) != i)
			continue;
		n->node_lat[node_of[i]] = sum_lat[i] / cnt[i];
		n->node_lon[node_of[i]] = sum_lon[i] / cnt[i];
	}
	n->n_nodes = nodes;
	out o = {.n = n};
	size_t si = 0;
	for (size_t l = 0; ok && l < r->nl; l++) {
		size_t nc = 0;
		for (uint32_t k = b->line_c0[l]; ok && k < b->line_c0[l + 1]; k++) {
			const cand *c = &b->c[b->by_line[k]];
			ok = sl_grow((void **)&cuts, &cap_cuts, nc + 1, sizeof(cut));
			if (ok)
				cuts[nc++] = (cut){
				    .v = c->v,
				    .t = 0,
				    .node = node_of[find(b->parent, b->by_line[k])]};
		}
		for (; ok && si < b->ns && b->s[si].line == l; si++) {
			ok = sl_grow((void **)&cuts, &cap_cuts, nc + 1, sizeof(cut));
			double t = b->s[si].t;
			uint32_t v = b->s[si].v;
			if (t >= 1 - 1e-12)
				v++, t = 0;
			if (ok)
				cuts[nc++] = (cut){
				    .v = v,
				    .t = t > 1e-12 ? t : 0,
				    .node = node_of[find(b->parent, b->s[si].cand)]};
		}
		if (!ok)
			break;
		qsort(cuts, nc, sizeof(cut), cmp_cut);
		for (size_t k = 0; ok && k + 1 < nc; k++) {
			if (cuts[k + 1].v == cuts[k].v && cuts[k + 1].t == cuts[k].t)
				continue; /* the same place twice (a closed line's ends)
					   */
			ok = emit_piece(&o, r, (uint32_t)l, &cuts[k], &cuts[k + 1],
					r->opt.join_m);
		}
	}
	free(cuts);
	free(node_of);
	free(sum_lat);
	free(sum_lon);
	free(cnt);
	free(pinned);
	return ok;
}

/* Drops nodes no edge uses, builds the adjacency, the per-edge cumulative
 * distances, the components, the grid and the stats. */
static bool finish(sl_network *n)
{
	uint32_t *map = malloc((n->n_nodes ? n->n_nodes : 1) * sizeof(uint32_t));
	if (!map)
		return false;
	for (size_t i = 0; i < n->n_nodes; i++)
		map[i] = NO_NODE;
	double *nlat = malloc((n->n_nodes ? n->n_nodes : 1) * sizeof(double));
	double *nlon = malloc((n->n_nodes ? n->n_nodes : 1) * sizeof(double));
	if (!nlat || !nlon) {
		free(map), free(nlat), free(nlon);
		return false;
	}
	size_t used = 0;
	for (size_t e = 0; e < n->n_edges; e++) {
		uint32_t *ends[2] = {&n->edges[e].from, &n->edges[e].to};
		for (int k = 0; k < 2; k++) {
			uint32_t old = *ends[k];
			if (map[old] == NO_NODE) {
				map[old] = (uint32_t)used;
				nlat[used] = n->node_lat[old];
				nlon[used] = n->node_lon[old];
				used++;
			}
			*ends[k] = map[old];
		}
	}
	free(map);
	free(n->node_lat);
	free(n->node_lon);
	n->node_lat = nlat, n->node_lon = nlon;
	n->n_nodes = used;
	n->vcum = malloc((n->n_vertices ? n->n_vertices : 1) * sizeof(double));
	n->adj_start = calloc(used + 1, sizeof(uint32_t));
	n->adj = malloc((n->n_edges ? 2 * n->n_edges : 1) * sizeof(uint32_t));
	n->node_comp = malloc((used ? used : 1) * sizeof(uint32_t));
	if (!n->vcum || !n->adj_start || !n->adj || !n->node_comp)
		return false;
	sl_network_stats *st = &n->stats;
	st->min_lat = 90, st->max_lat = -90, st->min_lon = 180, st->max_lon = -180;
	for (size_t e = 0; e < n->n_edges; e++) {
		const edge *ed = &n->edges[e];
		n->adj_start[ed->from + 1]++;
		n->adj_start[ed->to + 1]++;
		double c = 0;
		for (uint32_t i = 0; i < ed->n; i++) {
			uint32_t v = ed->first + i;
			if (i)
				c += sl_geo_distance_m(n->vlat[v - 1], n->vlon[v - 1],
						       n->vlat[v], n->vlon[v]);
			n->vcum[v] = c;
			st->min_lat = fmin(st->min_lat, n->vlat[v]);
			st->max_lat = fmax(st->max_lat, n->vlat[v]);
			st->min_lon = fmin(st->min_lon, n->vlon[v]);
			st->max_lon = fmax(st->max_lon, n->vlon[v]);
		}
		st->length_m += ed->length_m;
	}
	for (size_t i = 0; i < used; i++)
		n->adj_start[i + 1] += n->adj_start[i];
	uint32_t *fill = malloc((used ? used : 1) * sizeof(uint32_t));
	if (!fill)
		return false;
	memcpy(fill, n->adj_start, used * sizeof(uint32_t));
	for (size_t e = 0; e < n->n_edges; e++) {
		n->adj[fill[n->edges[e].from]++] = (uint32_t)(e << 1);
		n->adj[fill[n->edges[e].to]++] = (uint32_t)(e << 1 | 1);
	}
	/* Components: union-find over the edges, numbered in node order. */
	for (size_t i = 0; i < used; i++)
		fill[i] = (uint32_t)i;
	for (size_t e = 0; e < n->n_edges; e++)
		unite(fill, n->edges[e].from, n->edges[e].to);
	size_t comps = 0;
	for (size_t i = 0; i < used; i++) {
		uint32_t root = find(fill, (uint32_t)i);
		if (root == i)
			n->node_comp[i] = (uint32_t)comps++;
		else
			n->node_comp[i] = n->node_comp[root];
	}
	free(fill);
	st->nodes = used;
	st->edges = n->n_edges;
	st->vertices = n->n_vertices;
	st->components = comps;
	return sl_grid_build(&n->grid, n->vlat, n->vlon, n->n_vertices, n->seg_next,
			     2000);
}

static sl_err build_network(raw *r, sl_network **outp)
{
	build b = {.r = r};
	sl_network *n = calloc(1, sizeof(*n));
	b.arc = malloc(r->nv * sizeof(double));
	b.line_of = malloc(r->nv * sizeof(uint32_t));
	bool ok = n && b.arc && b.line_of;
	for (size_t l = 0; ok && l < r->nl; l++) {
		double a = 0;
		for (uint32_t v = r->start[l]; v < r->start[l + 1]; v++) {
			if (v > r->start[l])
				a += sl_geo_distance_m(r->lat[v - 1], r->lon[v - 1],
						       r->lat[v], r->lon[v]);
			b.arc[v] = a;
			b.line_of[v] = (uint32_t)l;
		}
	}
	ok = ok && find_candidates(&b);
	if (ok) {
		b.by_line = malloc(b.nc * sizeof(uint32_t));
		b.line_c0 = calloc(r->nl + 1, sizeof(uint32_t));
		ok = b.by_line && b.line_c0;
	}
	if (ok) {
		for (size_t i = 0; i < b.nc; i++) {
			b.by_line[i] = (uint32_t)i;
			b.line_c0[b.c[i].line + 1]++;
		}
		for (size_t l = 0; l < r->nl; l++)
			b.line_c0[l + 1] += b.line_c0[l];
		sort_cand = b.c;
		qsort(b.by_line, b.nc, sizeof(uint32_t), cmp_cand_line);
	}
	ok = ok && join_candidates(&b) && find_t_junctions(&b);
	if (ok) {
		merge_splits(&b);
		ok = make_edges(&b, n) && finish(n);
	}
	if (ok) {
		n->stats.features = r->features;
		n->stats.skipped = r->skipped;
		n->stats.joined = b.joined;
		n->stats.splits = b.ns;
	}
	free(b.arc);
	free(b.line_of);
	free(b.c);
	free(b.parent);
	free(b.by_line);
	free(b.line_c0);
	free(b.s);
	if (!ok) {
		sl_network_free(n);
		return SL_ENOMEM;
	}
	*outp = n;
	return SL_OK;
}

sl_err sl_network_from_json(const json_t *root, const sl_network_options *opt,
			    sl_network **out, sl_problems *why)
{
	*out = NULL;
	raw r = {.why = why};
	sl_err e = resolve(opt, &r.opt, why);
	if (e != SL_OK)
		return e;
	read_root(&r, root);
	e = r.err;
	if (e == SL_OK)
		e = build_network(&r, out);
	raw_free(&r);
	if (e == SL_ENOMEM)
		sl_problems_add(why, "", "out of memory building the network");
	return e;
}

sl_err sl_network_load_buffer(const char *buf, size_t len, const sl_network_options *opt,
			      sl_network **out, sl_problems *why)
{
	*out = NULL;
	sl_network_options o;
	sl_err e = resolve(opt, &o, why);
	if (e != SL_OK)
		return e;
	if (len > o.max_bytes) {
		sl_problems_add(why, "", "%zu bytes is more than the limit of %zu", len,
				o.max_bytes);
		return SL_ETOOBIG;
	}
	json_error_t err;
	json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &err);
	if (!root) {
		if (json_error_code(&err) == json_error_out_of_memory)
			return SL_ENOMEM;
		sl_problems_add(why, "", "not JSON: line %d, column %d: %s", err.line,
				err.column, err.text);
		return SL_EPARSE;
	}
	e = sl_network_from_json(root, &o, out, why);
	json_decref(root);
	return e;
}

sl_err sl_network_load_file(const char *path, const sl_network_options *opt,
			    sl_network **out, sl_problems *why)
{
	*out = NULL;
	sl_network_options o;
	sl_err e = resolve(opt, &o, why);
	if (e != SL_OK)
		return e;
	char *buf;
	size_t size;
	if ((e = sl_read_file(path, o.max_bytes, &buf, &size, why)) != SL_OK)
		return e;
	e = sl_network_load_buffer(buf, size, &o, out, why);
	free(buf);
	return e;
}

/* ---------------------------------------------------------------- queries */

void sl_network_stats_get(const sl_network *n, sl_network_stats *out)
{
	*out = n->stats;
}

size_t sl_network_node_count(const sl_network *n)
{
	return n->n_nodes;
}

size_t sl_network_edge_count(const sl_network *n)
{
	return n->n_edges;
}

void sl_network_node(const sl_network *n, uint32_t node, double *lat, double *lon)
{
	*lat = node < n->n_nodes ? n->node_lat[node] : NAN;
	*lon = node < n->n_nodes ? n->node_lon[node] : NAN;
}

sl_err sl_network_edge(const sl_network *n, uint32_t e, sl_network_edge_info *out)
{
	if (e >= n->n_edges)
		return SL_EINVAL;
	const edge *ed = &n->edges[e];
	*out = (sl_network_edge_info){.from = ed->from,
				      .to = ed->to,
				      .length_m = ed->length_m,
				      .feature = ed->feature,
				      .line_id = ed->line_id,
				      .scalerank = ed->scalerank,
				      .mult_track = ed->mult_track,
				      .electric = ed->electric,
				      .n_points = ed->n,
				      .lat = n->vlat + ed->first,
				      .lon = n->vlon + ed->first};
	return SL_OK;
}

uint32_t sl_network_component(const sl_network *n, uint32_t e)
{
	return e < n->n_edges ? n->node_comp[n->edges[e].from] : UINT32_MAX;
}

sl_err sl_network_snap(const sl_network *n, double lat, double lon, double max_m,
		       sl_network_pos *out)
{
	if (!sl_geo_valid(lat, lon) || !(max_m >= 0) || max_m > 2e7)
		return SL_EINVAL;
	uint32_t x0, x1, y0, y1;
	if (!sl_grid_cells(&n->grid, lat, lon, max_m, &x0, &x1, &y0, &y1))
		return SL_ENOTFOUND;
	double best = INFINITY, best_t = 0;
	uint32_t best_v = 0;
	for (uint32_t y = y0; y <= y1; y++)
		for (uint32_t x = x0; x <= x1; x++) {
			size_t cell = (size_t)y * n->grid.nx + x;
			for (uint32_t k = n->grid.start[cell];
			     k < n->grid.start[cell + 1]; k++) {
				uint32_t v = n->grid.items[k];
				double t;
				double d =
				    sl_seg_distance(lat, lon, n->vlat[v], n->vlon[v],
						    n->vlat[v + 1], n->vlon[v + 1], &t);
				if (d < best || (d == best && v < best_v))
					best = d, best_v = v, best_t = t;
			}
		}
	if (!(best <= max_m))
		return SL_ENOTFOUND;
	/* The edge holding vertex best_v: edges are stored in vertex order. */
	size_t lo = 0, hi = n->n_edges;
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;
		if (n->edges[mid].first <= best_v)
			lo = mid;
		else
			hi = mid;
	}
	const edge *ed = &n->edges[lo];
	uint32_t v = best_v;
	out->edge = (uint32_t)lo;
	out->offset_m = n->vcum[v] + best_t * (n->vcum[v + 1] - n->vcum[v]);
	if (out->offset_m > ed->length_m)
		out->offset_m = ed->length_m;
	out->distance_m = best;
	out->lat = n->vlat[v] + best_t * (n->vlat[v + 1] - n->vlat[v]);
	out->lon = n->vlon[v] + best_t * (n->vlon[v + 1] - n->vlon[v]);
	return SL_OK;
}

/* ---------------------------------------------------------------- routing */

typedef struct heap_item {
	double key;
	uint32_t node;
} heap_item;

typedef struct search {
	double *g;
	uint32_t *prev; /* edge << 1 | dir that reached the node, or a START */
	uint8_t *closed;
	heap_item *heap;
	size_t nh, cap_h;
} search;

#define START_FROM                                                                       \
	(UINT32_MAX - 1) /* reached from the start place via the edge's from end */
#define START_TO UINT32_MAX

static bool heap_push(search *s, double key, uint32_t node)
{
	if (!sl_grow((void **)&s->heap, &s->cap_h, s->nh + 1, sizeof(heap_item)))
		return false;
	size_t i = s->nh++;
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (s->heap[p].key <= key)
			break;
		s->heap[i] = s->heap[p];
		i = p;
	}
	s->heap[i] = (heap_item){key, node};
	return true;
}

static heap_item heap_pop(search *s)
{
	heap_item top = s->heap[0], last = s->heap[--s->nh];
	size_t i = 0;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= s->nh)
			break;
		if (c + 1 < s->nh && s->heap[c + 1].key < s->heap[c].key)
			c++;
		if (s->heap[c].key >= last.key)
			break;
		s->heap[i] = s->heap[c];
		i = c;
	}
	if (s->nh)
		s->heap[i] = last;
	return top;
}

static void search_free(search *s)
{
	free(s->g);
	free(s->prev);
	free(s->closed);
	free(s->heap);
}

/* How the best path ends. */
typedef enum via { VIA_NONE, VIA_DIRECT, VIA_FROM, VIA_TO } via;

static bool pos_ok(const sl_network *n, const sl_network_pos *p)
{
	return p->edge < n->n_edges && p->offset_m >= 0 &&
	       p->offset_m <= n->edges[p->edge].length_m + 1e-6;
}

/* A* from a to b; *best and *how tell the result. */
static sl_err astar(const sl_network *n, const sl_network_pos *a, const sl_network_pos *b,
		    double bound, search *s, double *best, via *how)
{
	*best = INFINITY;
	*how = VIA_NONE;
	if (!pos_ok(n, a) || !pos_ok(n, b) || !(bound >= 0))
		return SL_EINVAL;
	if (bound == 0)
		bound = INFINITY;
	const edge *ea = &n->edges[a->edge], *eb = &n->edges[b->edge];
	if (a->edge == b->edge) {
		*best = fabs(a->offset_m - b->offset_m);
		*how = VIA_DIRECT;
	}
	if (n->node_comp[ea->from] != n->node_comp[eb->from])
		return *how != VIA_NONE && *best <= bound ? SL_OK : SL_ENOTFOUND;
	s->g = malloc(n->n_nodes * sizeof(double));
	s->prev = malloc(n->n_nodes * sizeof(uint32_t));
	s->closed = calloc(n->n_nodes, 1);
	if (!s->g || !s->prev || !s->closed)
		return SL_ENOMEM;
	for (size_t i = 0; i < n->n_nodes; i++)
		s->g[i] = INFINITY;
	double blat = b->lat, blon = b->lon;
	double ga = a->offset_m, gb = ea->length_m - a->offset_m;
	s->g[ea->from] = ga, s->prev[ea->from] = START_FROM;
	if (gb < s->g[ea->to])
		s->g[ea->to] = gb, s->prev[ea->to] = START_TO;
	for (int k = 0; k < 2; k++) {
		uint32_t v = k ? ea->to : ea->from;
		double h = sl_geo_distance_m(n->node_lat[v], n->node_lon[v], blat, blon);
		if (!heap_push(s, s->g[v] + h, v))
			return SL_ENOMEM;
	}
	while (s->nh) {
		heap_item it = heap_pop(s);
		if (it.key >= *best || it.key > bound)
			break;
		uint32_t u = it.node;
		if (s->closed[u])
			continue;
		s->closed[u] = 1;
		double gu = s->g[u];
		if (u == eb->from && gu + b->offset_m < *best)
			*best = gu + b->offset_m, *how = VIA_FROM;
		if (u == eb->to && gu + eb->length_m - b->offset_m < *best)
			*best = gu + eb->length_m - b->offset_m, *how = VIA_TO;
		for (uint32_t k = n->adj_start[u]; k < n->adj_start[u + 1]; k++) {
			uint32_t ad = n->adj[k];
			const edge *e = &n->edges[ad >> 1];
			uint32_t v = (ad & 1) ? e->from : e->to;
			double gv = gu + e->length_m;
			if (gv >= s->g[v] || s->closed[v])
				continue;
			s->g[v] = gv;
			s->prev[v] = ad;
			double h =
			    sl_geo_distance_m(n->node_lat[v], n->node_lon[v], blat, blon);
			if (!heap_push(s, gv + h, v))
				return SL_ENOMEM;
		}
	}
	return *how != VIA_NONE && *best <= bound ? SL_OK : SL_ENOTFOUND;
}

sl_err sl_network_distance(const sl_network *n, const sl_network_pos *a,
			   const sl_network_pos *b, double max_m, double *out_m)
{
	search s = {0};
	double best;
	via how;
	sl_err e = astar(n, a, b, max_m, &s, &best, &how);
	search_free(&s);
	if (e == SL_OK)
		*out_m = best;
	return e;
}

/* One stretch of a route: along edge from offset off0 to off1 (off1 < off0
 * when it runs against the edge). */
typedef struct piece {
	uint32_t edge;
	double off0, off1;
	double s0; /* distance along the route where it starts */
} piece;

struct sl_route {
	double length_m;
	size_t n_pieces, n_points, cap_p;
	piece *pieces;
	double *lat, *lon, *cum;
};

void sl_route_free(sl_route *r)
{
	if (!r)
		return;
	free(r->pieces);
	free(r->lat);
	free(r->lon);
	free(r->cum);
	free(r);
}

double sl_route_length_m(const sl_route *r)
{
	return r->length_m;
}

size_t sl_route_points(const sl_route *r, const double **lat, const double **lon,
		       const double **cum)
{
	*lat = r->lat, *lon = r->lon, *cum = r->cum;
	return r->n_points;
}

static bool route_point(sl_route *r, double lat, double lon)
{
	if (r->n_points && r->lat[r->n_points - 1] == lat &&
	    r->lon[r->n_points - 1] == lon)
		return true;
	size_t c = r->cap_p;
	if (!sl_grow((void **)&r->lat, &c, r->n_points + 1, sizeof(double)))
		return false;
	c = r->cap_p;
	if (!sl_grow((void **)&r->lon, &c, r->n_points + 1, sizeof(double)))
		return false;
	c = r->cap_p;
	if (!sl_grow((void **)&r->cum, &c, r->n_points + 1, sizeof(double)))
		return false;
	r->cap_p = c;
	size_t i = r->n_points++;
	r->lat[i] = lat, r->lon[i] = lon;
	r->cum[i] =
	    i ? r->cum[i - 1] + sl_geo_distance_m(r->lat[i - 1], r->lon[i - 1], lat, lon)
	      : 0;
	return true;
}

/* The point at distance x along the polyline lat/lon[lo..hi] whose
 * distances are cum[lo..hi]; returns the index of its segment's first
 * point. */
static size_t interpolate(const double *cum, const double *plat, const double *plon,
			  size_t lo, size_t hi, double x, double *lat, double *lon)
{
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;
		if (cum[mid] <= x)
			lo = mid;
		else
			hi = mid;
	}
	double d = cum[lo + 1] - cum[lo];
	double t = d > 0 ? (x - cum[lo]) / d : 0;
	t = t < 0 ? 0 : t > 1 ? 1 : t;
	*lat = plat[lo] + t * (plat[lo + 1] - plat[lo]);
	*lon = plon[lo] + t * (plon[lo + 1] - plon[lo]);
	return lo;
}

/* The point at offset off along edge e, and the index of the segment's
 * first vertex. */
static void edge_point(const sl_network *n, const edge *e, double off, double *lat,
		       double *lon, uint32_t *seg)
{
	*seg = (uint32_t)interpolate(n->vcum, n->vlat, n->vlon, e->first,
				     e->first + e->n - 1, off, lat, lon);
}

static bool add_piece(const sl_network *n, sl_route *r, uint32_t e, double off0,
		      double off1, size_t *cap)
{
	if (!sl_grow((void **)&r->pieces, cap, r->n_pieces + 1, sizeof(piece)))
		return false;
	double s0 = r->n_pieces ? r->pieces[r->n_pieces - 1].s0 +
				      fabs(r->pieces[r->n_pieces - 1].off1 -
					   r->pieces[r->n_pieces - 1].off0)
				: 0;
	r->pieces[r->n_pieces++] = (piece){e, off0, off1, s0};
	const edge *ed = &n->edges[e];
	double lat, lon;
	uint32_t s0v, s1v;
	edge_point(n, ed, off0, &lat, &lon, &s0v);
	if (!route_point(r, lat, lon))
		return false;
	edge_point(n, ed, off1, &lat, &lon, &s1v);
	if (off1 >= off0) {
		for (uint32_t v = s0v + 1; v <= s1v; v++)
			if (!route_point(r, n->vlat[v], n->vlon[v]))
				return false;
	} else {
		for (uint32_t v = s0v; v > s1v; v--)
			if (!route_point(r, n->vlat[v], n->vlon[v]))
				return false;
	}
	return route_point(r, lat, lon);
}

sl_err sl_network_route(const sl_network *n, const sl_network_pos *a,
			const sl_network_pos *b, double max_m, sl_route **out)
{
	*out = NULL;
	search s = {0};
	double best;
	via how;
	sl_err e = astar(n, a, b, max_m, &s, &best, &how);
	sl_route *r = e == SL_OK ? calloc(1, sizeof(*r)) : NULL;
	if (e == SL_OK && !r)
		e = SL_ENOMEM;
	size_t cap = 0;
	uint32_t *chain = NULL;
	if (e == SL_OK && how == VIA_DIRECT) {
		if (!add_piece(n, r, a->edge, a->offset_m, b->offset_m, &cap))
			e = SL_ENOMEM;
	} else if (e == SL_OK) {
		const edge *eb = &n->edges[b->edge], *ea = &n->edges[a->edge];
		uint32_t x = how == VIA_FROM ? eb->from : eb->to;
		/* Walk back to the start, then lay the pieces forwards. */
		size_t nchain = 0, capc = 0;
		uint32_t u = x;
		while (e == SL_OK && s.prev[u] != START_FROM && s.prev[u] != START_TO) {
			if (!sl_grow((void **)&chain, &capc, nchain + 1,
				     sizeof(uint32_t)))
				e = SL_ENOMEM;
			else
				chain[nchain++] = s.prev[u];
			const edge *ed = &n->edges[s.prev[u] >> 1];
			u = (s.prev[u] & 1) ? ed->to : ed->from;
		}
		bool ok = e == SL_OK;
		double first_end = s.prev[u] == START_FROM ? 0 : ea->length_m;
		ok = ok && add_piece(n, r, a->edge, a->offset_m, first_end, &cap);
		for (size_t i = nchain; ok && i-- > 0;) {
			uint32_t ad = chain[i];
			const edge *ed = &n->edges[ad >> 1];
			ok = (ad & 1) ? add_piece(n, r, ad >> 1, ed->length_m, 0, &cap)
				      : add_piece(n, r, ad >> 1, 0, ed->length_m, &cap);
		}
		ok = ok && add_piece(n, r, b->edge, how == VIA_FROM ? 0 : eb->length_m,
				     b->offset_m, &cap);
		if (!ok && e == SL_OK)
			e = SL_ENOMEM;
	}
	free(chain);
	search_free(&s);
	if (e != SL_OK) {
		sl_route_free(r);
		return e;
	}
	r->length_m = best;
	/* The polyline's own sum differs from best by rounding only; keep
	 * the distances along it consistent with the length. */
	if (r->n_points > 1 && r->cum[r->n_points - 1] > 0) {
		double k = best / r->cum[r->n_points - 1];
		for (size_t i = 0; i < r->n_points; i++)
			r->cum[i] *= k;
	}
	if (r->n_points == 0 && !route_point(r, a->lat, a->lon)) {
		sl_route_free(r);
		return SL_ENOMEM;
	}
	*out = r;
	return SL_OK;
}

void sl_route_at(const sl_route *r, double s, double *lat, double *lon, double *bearing)
{
	size_t n = r->n_points;
	if (n < 2) {
		if (lat)
			*lat = n ? r->lat[0] : NAN;
		if (lon)
			*lon = n ? r->lon[0] : NAN;
		if (bearing)
			*bearing = 0;
		return;
	}
	s = s < 0 ? 0 : s > r->cum[n - 1] ? r->cum[n - 1] : s;
	double la, lo;
	size_t k = interpolate(r->cum, r->lat, r->lon, 0, n - 1, s, &la, &lo);
	if (lat)
		*lat = la;
	if (lon)
		*lon = lo;
	if (bearing)
		*bearing = sl_geo_bearing_deg(r->lat[k], r->lon[k], r->lat[k + 1],
					      r->lon[k + 1]);
}

sl_err sl_route_locate(const sl_route *r, const sl_network_pos *p, double *s_m)
{
	for (size_t i = 0; i < r->n_pieces; i++) {
		const piece *pc = &r->pieces[i];
		if (pc->edge != p->edge)
			continue;
		double lo = fmin(pc->off0, pc->off1), hi = fmax(pc->off0, pc->off1);
		if (p->offset_m < lo - 1 || p->offset_m > hi + 1)
			continue;
		double s = pc->s0 + fabs(p->offset_m - pc->off0);
		*s_m = s < 0 ? 0 : s > r->length_m ? r->length_m : s;
		return SL_OK;
	}
	return SL_ENOTFOUND;
}
