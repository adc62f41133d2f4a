/*
 * network.h — the rail network: a routable graph built from GeoJSON lines,
 * a spatial index to snap points to it, shortest paths by network distance,
 * and the station list that names places on it.
 *
 * The engine snaps corroborated events to the network and links them into
 * tracks by network distance; the simulator moves trains along it; the
 * Telegram bot will turn place names into stations. docs/NETWORK.md tells
 * how the graph is built (ends joined within a tolerance, T-junctions split,
 * crossings without a shared vertex left as overpasses) and what each load
 * refuses.
 *
 * A network is read-only once loaded: any number of threads may snap and
 * route on one at the same time (each query allocates its own scratch).
 * Positions, stations and routes hold no pointer into the caller's input.
 */
#ifndef SIGHTLINE_NETWORK_H
#define SIGHTLINE_NETWORK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sightline/err.h"
#include "sightline/report.h"

typedef struct sl_network sl_network;
typedef struct sl_route sl_route;
typedef struct sl_stations sl_stations;

/* How a network is read and built. Zero fields take the defaults. */
typedef struct sl_network_options {
	double join_m;	     /* line ends this close are one junction (100 m) */
	size_t max_bytes;    /* largest GeoJSON file (64 MiB) */
	size_t max_features; /* features at most (200,000) */
	size_t max_vertices; /* positions at most, all lines together (4,000,000) */
} sl_network_options;

#define SL_NETWORK_JOIN_M 100.0
#define SL_NETWORK_MAX_BYTES (64u << 20)
#define SL_NETWORK_MAX_FEATURES 200000u
#define SL_NETWORK_MAX_VERTICES 4000000u

/* What a load built, for logs and tests. */
typedef struct sl_network_stats {
	size_t features;   /* line features read */
	size_t skipped;	   /* features that are not lines (points, polygons, null) */
	size_t nodes;	   /* junctions and dead ends */
	size_t edges;	   /* node-to-node pieces of line */
	size_t vertices;   /* positions of all edges */
	size_t components; /* connected parts */
	size_t joined;	   /* line ends moved to meet another end within join_m */
	size_t splits;	   /* lines cut where another line's end meets their interior */
	double length_m;   /* all edges together */
	double min_lat, min_lon, max_lat, max_lon;
} sl_network_stats;

/* The properties of the line an edge came from (Natural Earth names them;
 * absent ones are -1). */
typedef struct sl_network_edge_info {
	uint32_t from, to; /* node indices */
	double length_m;
	int32_t feature; /* index of the feature in the file */
	int64_t line_id; /* rwdb_rr_id, else "id", else -1 */
	int32_t scalerank;
	int32_t mult_track;	 /* 1 = more than one track */
	int32_t electric;	 /* 1 = electrified */
	size_t n_points;	 /* its polyline, from node `from` to node `to` */
	const double *lat, *lon; /* borrowed from the network */
} sl_network_edge_info;

/* A place on the network: an edge and how far along it. */
typedef struct sl_network_pos {
	uint32_t edge;
	double offset_m;   /* from the edge's `from` node, 0..length */
	double distance_m; /* from the point that was snapped */
	double lat, lon;   /* the place itself */
} sl_network_pos;

/* Fills o with the defaults. */
void sl_network_options_default(sl_network_options *o /* OUT */);

/* Loads a GeoJSON file: a FeatureCollection of LineString and
 * MultiLineString features (a single Feature or a bare geometry is taken
 * too). opt may be NULL for the defaults. On success *out is a new network
 * the caller frees with sl_network_free. On failure *out is NULL, nothing is
 * kept, and why names the feature and the problem: SL_EIO (cannot read),
 * SL_ETOOBIG (over a cap), SL_EPARSE (not JSON), SL_EVALID (not lines, bad
 * coordinates, empty), SL_ENOMEM. */
sl_err sl_network_load_file(const char *path, const sl_network_options *opt,
			    sl_network **out /* OUT */, sl_problems *why);

/* The same from len bytes at buf (not kept). */
sl_err sl_network_load_buffer(const char *buf, size_t len, const sl_network_options *opt,
			      sl_network **out /* OUT */, sl_problems *why);

/* A generated network over Belarus's bounding box (lon 23.1-32.8, lat
 * 51.2-56.2) for when no file is given: the main lines between about thirty
 * real towns, drawn with a seeded wiggle, and a station list with the towns
 * and halts every few kilometres. The same seed gives the same network.
 * *net and *stations are new; the caller frees both. stations may be NULL
 * when only the lines are wanted. */
sl_err sl_network_generate(uint64_t seed, const sl_network_options *opt,
			   sl_network **net /* OUT */, sl_stations **stations /* OUT */);

/* A town the generated network joins, with its main station. */
typedef struct sl_town {
	const char *name;	/* the town in Russian: "Орша" */
	const char *station_ru; /* its main station: "Орша-Центральная" */
	const char *station_be; /* "Орша Цэнтральная" */
	double lat, lon;	/* the station */
} sl_town;

/* The towns of the generated network (a static table, never freed): real
 * coordinates, so the simulator can send trains between them on any
 * network that reaches them. */
size_t sl_network_towns(const sl_town **towns /* OUT */);

/* Frees the network; NULL is allowed. Routes made on it must be freed
 * first or not used after. */
void sl_network_free(sl_network *n);

void sl_network_stats_get(const sl_network *n, sl_network_stats *out /* OUT */);
size_t sl_network_node_count(const sl_network *n);
size_t sl_network_edge_count(const sl_network *n);
void sl_network_node(const sl_network *n, uint32_t node, double *lat /* OUT */,
		     double *lon /* OUT */);
/* SL_EINVAL when edge is out of range. */
sl_err sl_network_edge(const sl_network *n, uint32_t edge,
		       sl_network_edge_info *out /* OUT */);

/* The connected part an edge belongs to (0 .. components-1). */
uint32_t sl_network_component(const sl_network *n, uint32_t edge);

/* The nearest place on the network to (lat, lon) no farther than max_m.
 * SL_ENOTFOUND when there is none, SL_EINVAL for a bad point or max_m. */
sl_err sl_network_snap(const sl_network *n, double lat, double lon, double max_m,
		       sl_network_pos *out /* OUT */);

/* The shortest distance along the network from a to b, at most max_m
 * (0 = no bound; the search stops as soon as nothing shorter than the bound
 * can be found). SL_ENOTFOUND when b is not reachable within the bound. */
sl_err sl_network_distance(const sl_network *n, const sl_network_pos *a,
			   const sl_network_pos *b, double max_m,
			   double *out_m /* OUT */);

/* The same, with the route itself: *out is a new route the caller frees
 * with sl_route_free. */
sl_err sl_network_route(const sl_network *n, const sl_network_pos *a,
			const sl_network_pos *b, double max_m, sl_route **out /* OUT */);

void sl_route_free(sl_route *r);
double sl_route_length_m(const sl_route *r);

/* The route as a polyline from a to b: n points at *lat, *lon (borrowed
 * from the route), with *cum the distance along the route of each. */
size_t sl_route_points(const sl_route *r, const double **lat /* OUT */,
		       const double **lon /* OUT */, const double **cum /* OUT */);

/* The place s_m along the route (clamped to 0..length) and the bearing of
 * travel there, degrees clockwise from north. Any OUT may be NULL. */
void sl_route_at(const sl_route *r, double s_m, double *lat /* OUT */,
		 double *lon /* OUT */, double *bearing_deg /* OUT */);

/* How far along the route the network position p lies, when the route
 * passes over it (within 1 m); SL_ENOTFOUND otherwise. */
sl_err sl_route_locate(const sl_route *r, const sl_network_pos *p, double *s_m /* OUT */);

/* ---------------------------------------------------------------- stations */

/* One station or halt. Strings are owned by the station list. */
typedef struct sl_station {
	const char *name_ru; /* never NULL: the first name the row has */
	const char *name_be; /* NULL when the row has none */
	const char *type; /* "ст" station, "оп" halt, "рзд", "пп", ... or "" */
	const char *admin1; /* the region ("Вобласьць", admin1 or region
			       column: "Гомель"), NULL when the row has none */
	double lat, lon;
} sl_station;

#define SL_STATIONS_MAX_BYTES (16u << 20)
#define SL_STATIONS_MAX_ROWS 200000u

/* Loads a tab-separated station list with a header row. Columns are found
 * by name: the OsmBelarus headers of belarus-stations.tsv ("Па-расейску
 * правільнае", "Па-беларуску правільнае", "Тып", "Вобласьць", "lat", "lon",
 * ...) or plain ones (name, name_ru, name_be, type, admin1, lat, lon). Rows
 * without any name are skipped. A bad coordinate, a missing column, a line
 * over 4 KiB or a file over SL_STATIONS_MAX_BYTES fail the load, why naming
 * the line. *out is new; the caller frees it with sl_stations_free. */
sl_err sl_stations_load_file(const char *path, sl_stations **out /* OUT */,
			     sl_problems *why);
sl_err sl_stations_load_buffer(const char *buf, size_t len, sl_stations **out /* OUT */,
			       sl_problems *why);
void sl_stations_free(sl_stations *s);

size_t sl_stations_count(const sl_stations *s);
/* The i-th station in file order (i < count), borrowed. */
const sl_station *sl_stations_get(const sl_stations *s, size_t i);

/* The nearest station within max_m of (lat, lon): its index into *idx and
 * its distance into *dist_m (either may be NULL). SL_ENOTFOUND when none. */
sl_err sl_stations_nearest(const sl_stations *s, double lat, double lon, double max_m,
			   size_t *idx /* OUT */, double *dist_m /* OUT */);

/* A station by name: Russian or Belarusian, any case, ё as е, hyphens,
 * spaces and dots alike ("минск-пассажирский", "Мінск Пасажырскі"), or a
 * Latin transliteration ("Orsha", "Baranavichy", "Gomel", "Homel"). A name
 * that is only the first words of station names ("Минск", "Orsha") finds the
 * main one of them. Stations (ст) win over halts. SL_ENOTFOUND when none. */
sl_err sl_stations_find(const sl_stations *s, const char *name, size_t *idx /* OUT */);

#endif
