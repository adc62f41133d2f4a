/*
 * bench_network.c — how long the rail network takes to load and to route
 * (docs/PERFORMANCE.md, "Rail network").
 *
 *   bench_network [FILE [QUERIES]]
 *
 * FILE defaults to ../shared/data/geo/region-rail.geojson, QUERIES to
 * 2000. Prints, best of 5 runs each: jansson's json_load_file of FILE alone
 * (the floor: any loader must at least parse the JSON), sl_network_load_file
 * of it and their ratio; then QUERIES shortest-path queries between random
 * points of the network's box snapped to it (a fixed seed, so every run asks
 * the same), as distance only and as a route with its polyline, and the
 * same distances with a 100 km bound (how the tracker asks: "is this event
 * within reach of that one?").
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "sightline/network.h"
#include "sightline/rng.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "../shared/data/geo/region-rail.geojson";
	long queries = argc > 2 ? strtol(argv[2], NULL, 10) : 2000;
	if (queries <= 0 || queries > 10000000) {
		fprintf(stderr, "bench_network: QUERIES must be 1..10000000\n");
		return 2;
	}
	double best_json = 1e9, best_net = 1e9;
	sl_network *n = NULL;
	for (int run = 0; run < 5; run++) {
		double t0 = now_s();
		json_error_t err;
		json_t *root = json_load_file(path, 0, &err);
		double t1 = now_s();
		if (!root) {
			fprintf(stderr, "bench_network: %s: %s\n", path, err.text);
			return 1;
		}
		json_decref(root);
		sl_network_free(n);
		sl_problems why = {0};
		double t2 = now_s();
		sl_err e = sl_network_load_file(path, NULL, &n, &why);
		double t3 = now_s();
		if (e != SL_OK) {
			char msg[512];
			sl_problems_format(&why, msg, sizeof(msg));
			fprintf(stderr, "bench_network: %s: %s\n", path, msg);
			return 1;
		}
		best_json = t1 - t0 < best_json ? t1 - t0 : best_json;
		best_net = t3 - t2 < best_net ? t3 - t2 : best_net;
	}
	sl_network_stats st;
	sl_network_stats_get(n, &st);
	printf("network: %s\n", path);
	printf(
	    "  %zu lines, %zu nodes, %zu edges, %zu vertices, %zu components, %.0f km\n",
	    st.features, st.nodes, st.edges, st.vertices, st.components,
	    st.length_m / 1000);
	printf("load (best of 5):\n");
	printf("  json_load_file       %8.1f ms\n", best_json * 1000);
	printf("  sl_network_load_file %8.1f ms\n", best_net * 1000);
	printf("  ratio                %8.2f\n", best_net / best_json);

	sl_network_pos *pa = malloc((size_t)queries * sizeof(*pa));
	sl_network_pos *pb = malloc((size_t)queries * sizeof(*pb));
	if (!pa || !pb)
		return 1;
	sl_rng rng;
	sl_rng_seed(&rng, 42);
	double t0 = now_s();
	long snaps = 0;
	for (long i = 0; i < queries; i++) {
		sl_network_pos *p[2] = {&pa[i], &pb[i]};
		for (int k = 0; k < 2; k++) {
			do {
				double lat = sl_rng_range(&rng, st.min_lat, st.max_lat);
				double lon = sl_rng_range(&rng, st.min_lon, st.max_lon);
				snaps++;
				if (sl_network_snap(n, lat, lon, 20000, p[k]) == SL_OK)
					break;
			} while (1);
		}
	}
	double t_snap = now_s() - t0;
	printf("snap within 20 km: %ld snaps, %.2f us each\n", snaps,
	       t_snap / snaps * 1e6);

	const char *what[] = {"distance", "route + polyline", "distance, 100 km bound"};
	for (int mode = 0; mode < 3; mode++) {
		long found = 0;
		double km = 0;
		t0 = now_s();
		for (long i = 0; i < queries; i++) {
			double d = 0;
			sl_err e;
			if (mode == 1) {
				sl_route *r;
				e = sl_network_route(n, &pa[i], &pb[i], 0, &r);
				if (e == SL_OK)
					d = sl_route_length_m(r), sl_route_free(r);
			} else {
				e = sl_network_distance(n, &pa[i], &pb[i],
							mode == 2 ? 100000 : 0, &d);
			}
			if (e == SL_OK)
				found++, km += d / 1000;
		}
		double t = now_s() - t0;
		printf("%-24s %ld queries, %ld found (mean %.0f km), %.1f us per query\n",
		       what[mode], queries, found, found ? km / found : 0,
		       t / queries * 1e6);
	}
	free(pa);
	free(pb);
	sl_network_free(n);
	return 0;
}
