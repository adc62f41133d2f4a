/*
 * geojson.c — fuzz target: the rail network from GeoJSON
 * (sl_network_load_buffer: `serve --network`, `simulate --network`).
 *
 * What loads is used as the engine uses it: its stats read, every edge
 * looked at, a few points snapped, and a route between two of them.
 * Caps are small (features, vertices) so that one input stays quick; the
 * caps' own checks are part of what is fuzzed.
 */
#include <math.h>

#include "fuzz.h"
#include "sightline/network.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sl_network_options opt;
	sl_network_options_default(&opt);
	opt.max_features = 2000;
	opt.max_vertices = 20000;
	opt.max_bytes = 1u << 20;
	sl_network *n = NULL;
	sl_problems why = {0};
	sl_err e = sl_network_load_buffer((const char *)data, size, &opt, &n, &why);
	if (e != SL_OK) {
		if (n)
			fuzz_fail("a failed load handed back a network");
		if (why.n == 0)
			fuzz_fail("refused (error %d) without a reason", (int)e);
		return 0;
	}
	sl_network_stats st;
	sl_network_stats_get(n, &st);
	size_t edges = sl_network_edge_count(n);
	if (edges == 0 || st.edges != edges)
		fuzz_fail("a network with %zu edges (stats say %zu)", edges, st.edges);
	for (uint32_t i = 0; i < edges; i++) {
		sl_network_edge_info info;
		if (sl_network_edge(n, i, &info) != SL_OK || info.n_points < 2 ||
		    !isfinite(info.length_m) || info.length_m < 0)
			fuzz_fail("edge %u is not usable", i);
		if (info.from >= sl_network_node_count(n) ||
		    info.to >= sl_network_node_count(n))
			fuzz_fail("edge %u has a node out of range", i);
	}
	/* Snap the corners and the middle of the bounding box; route between
	 * the first two that snap. */
	double pts[5][2] = {
	    {st.min_lat, st.min_lon},
	    {st.max_lat, st.max_lon},
	    {(st.min_lat + st.max_lat) / 2, (st.min_lon + st.max_lon) / 2},
	    {st.min_lat, st.max_lon},
	    {st.max_lat, st.min_lon}};
	sl_network_pos pos[5];
	size_t got = 0;
	for (size_t i = 0; i < 5; i++)
		if (sl_network_snap(n, pts[i][0], pts[i][1], 50000, &pos[got]) == SL_OK)
			got++;
	if (got >= 2) {
		double d;
		sl_network_distance(n, &pos[0], &pos[1], 0, &d);
		sl_route *r = NULL;
		if (sl_network_route(n, &pos[0], &pos[1], 0, &r) == SL_OK) {
			double lat, lon, bearing;
			sl_route_at(r, sl_route_length_m(r) / 2, &lat, &lon, &bearing);
			if (!isfinite(lat) || !isfinite(lon))
				fuzz_fail("a route's middle is not a point");
			sl_route_free(r);
		}
	}
	sl_network_free(n);
	return 0;
}
