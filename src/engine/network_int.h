/*
 * network_int.h — what network.c, stations.c and network_gen.c share: the
 * uniform grid over points or segments that both the network and the station
 * list search, and loading a network from an already parsed GeoJSON value
 * (the generator builds its lines as jansson values and goes through the
 * same checks as a file).
 */
#ifndef SIGHTLINE_NETWORK_INT_H
#define SIGHTLINE_NETWORK_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sightline/geo.h"
#include "sightline/network.h"

/* Metres per degree of latitude on the sphere of geo.h. */
#define SL_M_PER_DEG (SL_GEO_EARTH_M * SL_GEO_PI / 180.0)

/* A uniform grid in degrees over a bounding box. Each cell lists items: a
 * point index, or the index of a segment's first vertex. Cells are about
 * cell_m wide at the box's middle latitude; the grid never has more than
 * GRID_MAX_CELLS cells (a wider box gets larger cells). */
typedef struct sl_grid {
	double lat0, lon0; /* south-west corner */
	double dlat, dlon; /* cell size, degrees */
	uint32_t nx, ny;
	uint32_t *start; /* nx * ny + 1 offsets into items */
	uint32_t *items;
	size_t n_items;
} sl_grid;

#define GRID_MAX_CELLS (1u << 22)

/* Builds a grid over n points (seg_next == NULL) or over the segments
 * i -> i + 1 for which seg_next[i] is true. false when out of memory or when
 * the items would overflow 32 bits. g is freed with sl_grid_free. */
bool sl_grid_build(sl_grid *g, const double *lat, const double *lon, size_t n,
		   const uint8_t *seg_next, double cell_m);
void sl_grid_free(sl_grid *g);

/* The range of cells covering a circle of r metres around (lat, lon),
 * clamped to the grid: x in x0..x1, y in y0..y1. false when it misses the
 * grid entirely. */
bool sl_grid_cells(const sl_grid *g, double lat, double lon, double r, uint32_t *x0,
		   uint32_t *x1, uint32_t *y0, uint32_t *y1);

/* Distance in metres from (lat, lon) to the segment a -> b, in a local flat
 * frame at the point; *t gets the nearest point's fraction along it. */
double sl_seg_distance(double lat, double lon, double alat, double alon, double blat,
		       double blon, double *t);

/* Builds a network from a parsed GeoJSON value (network.h's rules). */
sl_err sl_network_from_json(const json_t *root, const sl_network_options *opt,
			    sl_network **out, sl_problems *why);

#endif
