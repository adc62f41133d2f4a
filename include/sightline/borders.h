/*
 * borders.h — country borders: which country a point is in, how far it is
 * from a country, and where the rail network (or a straight line) leaves a
 * country (docs/TRACKING.md, "Where it is going").
 *
 * The tracker asks these questions of a track's first and last places to say
 * whether a unit moves toward or away from the Ukrainian border, toward the
 * Russian one, or inside Belarus, and which border crossing its route leads
 * to. Borders come from Natural Earth: the npm package world-atlas carries
 * them as TopoJSON (countries-50m.json, whose arcs are decoded here with
 * jansson), and a Natural Earth admin-0 GeoJSON export works too.
 *
 * Borders are read-only once loaded: any number of threads may query one at
 * the same time. Countries are named by their ISO 3166-1 numeric code, as
 * world-atlas and Natural Earth (ISO_N3) give it.
 */
#ifndef SIGHTLINE_BORDERS_H
#define SIGHTLINE_BORDERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sightline/err.h"
#include "sightline/network.h"
#include "sightline/report.h"

typedef struct sl_borders sl_borders;

#define SL_COUNTRY_BELARUS 112
#define SL_COUNTRY_UKRAINE 804
#define SL_COUNTRY_RUSSIA 643
#define SL_COUNTRY_POLAND 616
#define SL_COUNTRY_LITHUANIA 440
#define SL_COUNTRY_LATVIA 428

#define SL_BORDERS_MAX_BYTES (64u << 20) /* largest file */
#define SL_BORDERS_MAX_POINTS 8000000u	 /* positions, all arcs or rings */
#define SL_BORDERS_MAX_COUNTRIES 2000u	 /* features or geometries */
#define SL_BORDERS_MAX_RINGS 200000u	 /* rings, all countries */
#define SL_BORDERS_NAME_MAX 63		 /* bytes of a country's name kept */

/* The default file, relative to the working directory (the project root
 * for `make run`): installed by scripts/install-deps with npm. */
#define SL_BORDERS_DEFAULT_PATH "node_modules/world-atlas/countries-50m.json"

/* Loads a TopoJSON topology (its object "countries", else its first
 * GeometryCollection; quantized or not) or a GeoJSON FeatureCollection of
 * Polygon and MultiPolygon features. A country's code is the geometry's
 * "id" (world-atlas: "112") or its properties' ISO_N3 / iso_n3; its name is
 * properties.name, NAME or ADMIN. Countries without a numeric code are kept
 * with code 0 (they can be found by point, not by code). On success *out is
 * new, the caller frees it with sl_borders_free. On failure nothing is kept
 * and why names the place: SL_EIO, SL_ETOOBIG, SL_EPARSE (not JSON),
 * SL_EVALID (not a topology or polygons, bad coordinates, an arc index out
 * of range), SL_ENOMEM. */
sl_err sl_borders_load_file(const char *path, sl_borders **out /* OUT */,
			    sl_problems *why);
sl_err sl_borders_load_buffer(const char *buf, size_t len, sl_borders **out /* OUT */,
			      sl_problems *why);
void sl_borders_free(sl_borders *b);

size_t sl_borders_count(const sl_borders *b);
/* The code and name (borrowed) of country i < count. */
int sl_borders_code(const sl_borders *b, size_t i);
const char *sl_borders_name(const sl_borders *b, size_t i);
/* Country i by code; false when the file has none. */
bool sl_borders_find(const sl_borders *b, int code, size_t *i /* OUT */);

/* The code of the country (lat, lon) is in; 0 when in none (the sea, or a
 * place the file leaves out). */
int sl_borders_country_at(const sl_borders *b, double lat, double lon);

/* How far (lat, lon) is from country code: 0 inside it, else the distance
 * to its nearest boundary point, metres. -1 when the file has no such
 * country. Exact to the file's resolution within 3,000 km of the country;
 * farther away the answer is a lower bound of at least 3,000 km. */
double sl_borders_distance_m(const sl_borders *b, int code, double lat, double lon);

/* A place where a line leaves a country. */
typedef struct sl_border_exit {
	int country;	 /* the country on the other side (0: none known) */
	double lat, lon; /* where the line meets the border */
	double along_m;	 /* from the start of the line */
} sl_border_exit;

/* Where the straight line (a great circle) from (lat, lon) along bearing_deg
 * first leaves country home, within max_m. SL_ENOTFOUND when it does not
 * (or when the start is not in home). */
sl_err sl_borders_ray_exit(const sl_borders *b, int home, double lat, double lon,
			   double bearing_deg, double max_m,
			   sl_border_exit *out /* OUT */);

/* A place where a line of the rail network crosses home's border. */
typedef struct sl_border_crossing {
	int country;	 /* the neighbour across it (0 when unknown) */
	double lat, lon; /* the crossing itself */
	uint32_t edge;	 /* the network edge, and how far along it */
	double offset_m;
	char station[96]; /* the nearest station within 25 km in home, or "" */
} sl_border_crossing;

#define SL_BORDERS_MAX_CROSSINGS 4096u

/* Every place where an edge of n crosses the border of home, one per 2 km
 * of an edge, with the neighbour and (stations may be NULL) the nearest
 * station on home's side. *out (n_out items) is the caller's to free();
 * NULL when there are none. SL_EINVAL when home is not in the file,
 * SL_ETOOBIG past SL_BORDERS_MAX_CROSSINGS. */
sl_err sl_borders_crossings(const sl_borders *b, int home, const sl_network *n,
			    const sl_stations *stations,
			    sl_border_crossing **out /* OUT */, size_t *n_out /* OUT */);

#endif
