/*
 * test_network.c — the rail network (network.h): building the graph from
 * small hand-made GeoJSON in tests/data/network (a T-junction, ends joined
 * within the tolerance and one just beyond it, an overpass, a shared vertex),
 * every kind of bad input and its error, snapping, routes and bearings; then
 * the real Natural Earth lines of ../shared/data (skipped when absent):
 * counts, length, load time, and that Minsk–Orsha, Baranavichy–Orsha and
 * Brest–Minsk are connected by a plausible network distance; the station
 * list and lookups by name; the generated network.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "sightline/geo.h"
#include "sightline/network.h"
#include "data_files.h"

static void near(double got, double want, double tol, const char *what)
{
	if (!(fabs(got - want) <= tol))
		fail_msg("%s: got %.3f, want %.3f +- %.3f", what, got, want, tol);
}

static void eq_size(size_t got, size_t want, const char *what)
{
	if (got != want)
		fail_msg("%s: got %zu, want %zu", what, got, want);
}

static sl_network *load(const char *name)
{
	sl_network *n = NULL;
	sl_problems why = {0};
	sl_err e = sl_network_load_file(test_data(name), NULL, &n, &why);
	if (e != SL_OK) {
		char msg[1024];
		sl_problems_format(&why, msg, sizeof(msg));
		fail_msg("%s: %s: %s", name, sl_strerror(e), msg);
	}
	return n;
}

static void check_shape(const sl_network *n, size_t nodes, size_t edges, size_t comps,
			const char *what)
{
	sl_network_stats st;
	sl_network_stats_get(n, &st);
	char w[128];
	snprintf(w, sizeof(w), "%s: nodes", what);
	eq_size(st.nodes, nodes, w);
	snprintf(w, sizeof(w), "%s: edges", what);
	eq_size(st.edges, edges, w);
	snprintf(w, sizeof(w), "%s: components", what);
	eq_size(st.components, comps, w);
}

static sl_network_pos snap(const sl_network *n, double lat, double lon, double max_m)
{
	sl_network_pos p;
	sl_err e = sl_network_snap(n, lat, lon, max_m, &p);
	if (e != SL_OK)
		fail_msg("snap %.5f %.5f within %.0f m: %s", lat, lon, max_m,
			 sl_strerror(e));
	return p;
}

static double dist(const sl_network *n, const sl_network_pos *a, const sl_network_pos *b)
{
	double d;
	sl_err e = sl_network_distance(n, a, b, 0, &d);
	if (e != SL_OK)
		fail_msg("distance: %s", sl_strerror(e));
	return d;
}

static void test_t_junction(void **state)
{
	(void)state;
	sl_network *n = load("network/tjunction.geojson");
	check_shape(n, 4, 3, 1, "T-junction");
	sl_network_stats st;
	sl_network_stats_get(n, &st);
	eq_size(st.splits, 1, "lines cut at a T");
	/* West end of the main line to the north end of the branch: half the
	 * main line (6.7 km) plus the branch (11.1 km, the 55 m gap closed). */
	sl_network_pos w = snap(n, 53.0, 27.0, 10), north = snap(n, 53.1, 27.1, 10);
	double want = sl_geo_distance_m(53.0, 27.0, 53.0, 27.1) +
		      sl_geo_distance_m(53.0, 27.1, 53.1, 27.1);
	near(dist(n, &w, &north), want, 80, "west end to the branch's end");
	/* The route turns north at the junction: bearing ~90 before, ~0 after. */
	sl_route *r;
	assert_int_equal(sl_network_route(n, &w, &north, 0, &r), SL_OK);
	double b;
	sl_route_at(r, 1000, NULL, NULL, &b);
	near(b, 90, 1, "bearing on the main line");
	sl_route_at(r, sl_route_length_m(r) - 1000, NULL, NULL, &b);
	near(fmod(b + 180, 360), 180, 1, "bearing on the branch");
	const double *la, *lo, *cum;
	size_t np = sl_route_points(r, &la, &lo, &cum);
	assert_true(np >= 3);
	near(la[0], 53.0, 1e-9, "route starts at the start");
	near(la[np - 1], 53.1, 1e-9, "route ends at the end");
	near(cum[np - 1], sl_route_length_m(r), 1e-6, "cumulative distance = length");
	/* The junction node lies on the main line. */
	sl_network_pos j = snap(n, 53.0, 27.1, 10);
	near(j.distance_m, 0, 0.5, "junction on the main line");
	double s;
	assert_int_equal(sl_route_locate(r, &j, &s), SL_OK);
	near(s, sl_geo_distance_m(53.0, 27.0, 53.0, 27.1), 5, "junction along the route");
	sl_route_free(r);
	sl_network_free(n);
}

static void test_joined_ends(void **state)
{
	(void)state;
	sl_network *n = load("network/joined.geojson");
	/* 52 m apart: joined; 301 m apart: two parts. */
	check_shape(n, 5, 3, 2, "ends 52 m and 301 m apart");
	sl_network_stats st;
	sl_network_stats_get(n, &st);
	eq_size(st.joined, 1, "ends joined");
	sl_network_pos a = snap(n, 53.0, 27.0, 10), b = snap(n, 53.0, 27.19, 10),
		       c = snap(n, 53.0, 27.25, 10);
	near(dist(n, &a, &b), sl_geo_distance_m(53.0, 27.0, 53.0, 27.19), 60,
	     "across the join");
	double d;
	assert_int_equal(sl_network_distance(n, &a, &c, 0, &d), SL_ENOTFOUND);
	assert_int_not_equal(sl_network_component(n, a.edge),
			     sl_network_component(n, c.edge));
	/* A wider tolerance joins the second gap too. */
	sl_network_options o = {.join_m = 400};
	sl_network *w;
	sl_problems why = {0};
	assert_int_equal(
	    sl_network_load_file(test_data("network/joined.geojson"), &o, &w, &why),
	    SL_OK);
	check_shape(w, 4, 3, 1, "ends joined within 400 m");
	sl_network_free(w);
	/* A bound shorter than the way stops the search. */
	assert_int_equal(sl_network_distance(n, &a, &b, 5000, &d), SL_ENOTFOUND);
	assert_int_equal(sl_network_distance(n, &a, &b, 20000, &d), SL_OK);
	sl_network_free(n);
}

static void test_overpass_and_shared_vertex(void **state)
{
	(void)state;
	sl_network *n = load("network/overpass.geojson");
	check_shape(n, 4, 2, 2, "crossing without a shared vertex");
	sl_network_free(n);
	n = load("network/shared.geojson");
	check_shape(n, 5, 4, 1, "crossing at a shared vertex");
	sl_network_stats st;
	sl_network_stats_get(n, &st);
	eq_size(st.features, 2, "line features");
	eq_size(st.skipped, 2, "a point and a null geometry skipped");
	/* The properties travel with the edges. */
	sl_network_pos p = snap(n, 53.05, 27.05, 100);
	sl_network_edge_info ei;
	assert_int_equal(sl_network_edge(n, p.edge, &ei), SL_OK);
	assert_int_equal(ei.line_id, 7);
	assert_int_equal(ei.electric, 1);
	assert_int_equal(ei.feature, 0);
	assert_int_equal(sl_network_edge(n, 99, &ei), SL_EINVAL);
	sl_network_free(n);
}

static void test_snap(void **state)
{
	(void)state;
	sl_network *n = load("network/tjunction.geojson");
	/* 1 km south of the main line at 27.05. */
	double lat, lon;
	sl_geo_destination(53.0, 27.05, 180, 1000, &lat, &lon);
	sl_network_pos p = snap(n, lat, lon, 1500);
	near(p.distance_m, 1000, 2, "snap distance");
	near(p.lat, 53.0, 1e-6, "snapped lat");
	near(p.lon, 27.05, 1e-6, "snapped lon");
	sl_network_edge_info ei;
	assert_int_equal(sl_network_edge(n, p.edge, &ei), SL_OK);
	double lat0 = ei.lat[0], lon0 = ei.lon[0];
	near(p.offset_m, sl_geo_distance_m(lat0, lon0, 53.0, 27.05), 2,
	     "offset along the edge");
	assert_int_equal(sl_network_snap(n, lat, lon, 900, &p), SL_ENOTFOUND);
	assert_int_equal(sl_network_snap(n, 95, lon, 900, &p), SL_EINVAL);
	assert_int_equal(sl_network_snap(n, 10, 10, 5000, &p), SL_ENOTFOUND);
	sl_network_free(n);
}

/* One bad input: its error code, and words the message must hold. */
typedef struct bad_case {
	const char *json;
	sl_err want;
	const char *words;
} bad_case;

static void test_bad_input(void **state)
{
	(void)state;
	static const bad_case cases[] = {
	    {"not json", SL_EPARSE, "not JSON: line 1"},
	    {"[1, 2]", SL_EVALID, "expected a GeoJSON object, got an array"},
	    {"{\"type\": 3}", SL_EVALID,
	     "type: expected a GeoJSON type string, got an integer"},
	    {"{\"type\": \"FeatureCollection\", \"features\": {}}", SL_EVALID,
	     "features: expected an array, got an object"},
	    {"{\"type\": \"FeatureCollection\", \"features\": []}", SL_EVALID,
	     "has no LineString or MultiLineString"},
	    {"{\"type\": \"FeatureCollection\", \"features\": [7]}", SL_EVALID,
	     "features[0]: expected a Feature object, got an integer"},
	    {"{\"type\": \"FeatureCollection\", \"features\": [{\"type\": \"Feature\"}]}",
	     SL_EVALID, "features[0].geometry: is required"},
	    {"{\"type\": \"FeatureCollection\", \"features\": [{\"type\": \"Feature\", "
	     "\"geometry\": {\"type\": \"LineString\", \"coordinates\": [[27, 53], "
	     "[27.1, 53]]}},"
	     "{\"type\": \"Feature\", \"geometry\": {\"type\": \"LineString\", "
	     "\"coordinates\": \"no\"}}]}",
	     SL_EVALID,
	     "features[1].geometry.coordinates: expected an array of positions, got a "
	     "string"},
	    {"{\"type\": \"LineString\", \"coordinates\": [[27, 53], [27.1, 95]]}",
	     SL_EVALID, "geometry.coordinates[1]: latitude 95 is outside -90..90"},
	    {"{\"type\": \"LineString\", \"coordinates\": [[-190, 53], [27.1, 53]]}",
	     SL_EVALID, "geometry.coordinates[0]: longitude -190 is outside -180..180"},
	    {"{\"type\": \"LineString\", \"coordinates\": [[27, 53], [\"27\", 53]]}",
	     SL_EVALID, "geometry.coordinates[1]: expected a position [lon, lat]"},
	    {"{\"type\": \"LineString\", \"coordinates\": [[27, 53]]}", SL_EVALID,
	     "geometry.coordinates: a line needs at least 2 positions, got 1"},
	    {"{\"type\": \"LineString\", \"coordinates\": []}", SL_EVALID,
	     "a line needs at least 2 positions, got none"},
	    {"{\"type\": \"LineString\", \"coordinates\": [[27, 53], [27, 53]]}",
	     SL_EVALID, "a line needs 2 distinct positions"},
	    {"{\"type\": \"MultiLineString\", \"coordinates\": []}", SL_EVALID,
	     "expected a non-empty array of lines, got an empty one"},
	    {"{\"type\": \"Feature\", \"geometry\": {\"type\": \"Curve\", "
	     "\"coordinates\": []}}",
	     SL_EVALID,
	     "feature[0].geometry.type: \"Curve\" is not a GeoJSON geometry type"},
	    {"{\"type\": \"Feature\", \"geometry\": {\"type\": \"Point\", "
	     "\"coordinates\": [1, 2]}}",
	     SL_EVALID, "has no LineString or MultiLineString"},
	    {"{\"type\": \"Topology\"}", SL_EVALID,
	     "geometry.type: \"Topology\" is not a GeoJSON"},
	    {"{\"type\": \"LineString\", \"coordinates\": [[27, 53], [27.1, 53]], "
	     "\"type\": \"Point\"}",
	     SL_EPARSE, "duplicate object key"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sl_network *n = (sl_network *)1;
		sl_problems why = {0};
		sl_err e = sl_network_load_buffer(cases[i].json, strlen(cases[i].json),
						  NULL, &n, &why);
		char msg[1024];
		sl_problems_format(&why, msg, sizeof(msg));
		if (e != cases[i].want || n != NULL || !strstr(msg, cases[i].words))
			fail_msg("case %zu (%s): got %s \"%s\", want %s with \"%s\"", i,
				 cases[i].json, sl_strerror(e), msg,
				 sl_strerror(cases[i].want), cases[i].words);
	}
}

static void test_caps(void **state)
{
	(void)state;
	const char *two =
	    "{\"type\": \"FeatureCollection\", \"features\": ["
	    "{\"type\": \"Feature\", \"geometry\": {\"type\": \"LineString\", "
	    "\"coordinates\": [[27, 53], [27.1, 53], [27.2, 53]]}},"
	    "{\"type\": \"Feature\", \"geometry\": {\"type\": \"LineString\", "
	    "\"coordinates\": [[28, 53], [28.1, 53]]}}]}";
	struct {
		sl_network_options o;
		sl_err want;
		const char *words;
	} cases[] = {
	    {{.max_bytes = 100}, SL_ETOOBIG, "bytes is more than the limit of 100"},
	    {{.max_features = 1},
	     SL_ETOOBIG,
	     "features: 2 features is more than the limit of 1"},
	    {{.max_vertices = 4},
	     SL_ETOOBIG,
	     "features[1].geometry.coordinates: the lines have more positions than the "
	     "limit of 4"},
	    {{.join_m = -1}, SL_EINVAL, "join_m: -1 is outside 0..10000 metres"},
	    {{.max_vertices = 5}, SL_OK, ""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sl_network *n = NULL;
		sl_problems why = {0};
		sl_err e =
		    sl_network_load_buffer(two, strlen(two), &cases[i].o, &n, &why);
		char msg[512];
		sl_problems_format(&why, msg, sizeof(msg));
		if (e != cases[i].want || !strstr(msg, cases[i].words))
			fail_msg("cap %zu: got %s \"%s\", want %s with \"%s\"", i,
				 sl_strerror(e), msg, sl_strerror(cases[i].want),
				 cases[i].words);
		assert_true((n != NULL) == (e == SL_OK));
		sl_network_free(n);
	}
	/* Files: missing, a directory, over the cap. */
	sl_network *n;
	sl_problems why = {0};
	assert_int_equal(
	    sl_network_load_file(test_data("network/none.geojson"), NULL, &n, &why),
	    SL_EIO);
	assert_null(n);
	assert_int_equal(sl_network_load_file(test_data("network"), NULL, &n, &why),
			 SL_EIO);
	sl_network_options small = {.max_bytes = 50};
	why = (sl_problems){0};
	assert_int_equal(
	    sl_network_load_file(test_data("network/shared.geojson"), &small, &n, &why),
	    SL_ETOOBIG);
	char msg[512];
	sl_problems_format(&why, msg, sizeof(msg));
	assert_non_null(strstr(msg, "is more than the limit of 50"));
}

/* Loads a shared rail file, prints what it built and how long it took. */
static sl_network *load_shared(const char *name, double *secs)
{
	const char *p = shared(name);
	if (!p)
		return NULL;
	double t0 = now_s();
	sl_network *n = NULL;
	sl_problems why = {0};
	sl_err e = sl_network_load_file(p, NULL, &n, &why);
	*secs = now_s() - t0;
	if (e != SL_OK) {
		char msg[1024];
		sl_problems_format(&why, msg, sizeof(msg));
		fail_msg("%s: %s: %s", name, sl_strerror(e), msg);
	}
	sl_network_stats st;
	sl_network_stats_get(n, &st);
	printf("# %s: %zu lines, %zu nodes, %zu edges, %zu vertices, %zu components, "
	       "%zu ends joined, %zu T cuts, %.0f km, loaded in %.1f ms\n",
	       name, st.features, st.nodes, st.edges, st.vertices, st.components,
	       st.joined, st.splits, st.length_m / 1000, *secs * 1000);
	return n;
}

/* Network distance between two towns: reachable, >= the great circle and
 * within factor of it. */
static void connected(const sl_network *n, const char *what, double lat1, double lon1,
		      double lat2, double lon2, double factor)
{
	/* Natural Earth's lines pass up to a few km from a town's station. */
	sl_network_pos a = snap(n, lat1, lon1, 5000), b = snap(n, lat2, lon2, 5000);
	double d = dist(n, &a, &b), gc = sl_geo_distance_m(a.lat, a.lon, b.lat, b.lon);
	printf("# %s: %.1f km by rail, %.1f km great circle (x%.2f)\n", what, d / 1000,
	       gc / 1000, d / gc);
	if (!(d >= gc - 1 && d <= factor * gc))
		fail_msg("%s: network %.0f m, great circle %.0f m, want within x%.2f",
			 what, d, gc, factor);
	/* The route's polyline has the same length and ends at the ends. */
	sl_route *r;
	assert_int_equal(sl_network_route(n, &a, &b, 0, &r), SL_OK);
	near(sl_route_length_m(r), d, 1e-6, "route length = distance");
	double lat, lon;
	sl_route_at(r, sl_route_length_m(r), &lat, &lon, NULL);
	near(sl_geo_distance_m(lat, lon, b.lat, b.lon), 0, 1, "route ends at b");
	sl_route_free(r);
}

static void test_belarus(void **state)
{
	(void)state;
	double secs;
	sl_network *n = load_shared("geo/belarus-rail.geojson", &secs);
	if (!n)
		skip();
	sl_network_stats st;
	sl_network_stats_get(n, &st);
	eq_size(st.features, 506, "lines in belarus-rail");
	if (st.length_m < 10500e3 || st.length_m > 11500e3)
		fail_msg("length %.0f km, want about 11,000 km", st.length_m / 1000);
	if (st.components > 60)
		fail_msg("%zu components: the lines did not join", st.components);
	connected(n, "Minsk-Orsha", 53.8903, 27.5528, 54.5208, 30.3756, 1.4);
	connected(n, "Baranavichy-Orsha", 53.1319, 25.9961, 54.5208, 30.3756, 1.4);
	connected(n, "Brest-Minsk", 52.1014, 23.6819, 53.8903, 27.5528, 1.4);
	connected(n, "Homel-Kalinkavichy", 52.4311, 30.9917, 52.1392, 29.3153, 1.5);
	sl_network_free(n);
}

static void test_region(void **state)
{
	(void)state;
	double secs;
	sl_network *n = load_shared("geo/region-rail.geojson", &secs);
	if (!n)
		skip();
	sl_network_stats st;
	sl_network_stats_get(n, &st);
	eq_size(st.features, 852, "lines in region-rail");
	if (secs > 1.0)
		fail_msg("loading the region network took %.3f s, want well under 1 s",
			 secs);
	connected(n, "Brest-Smolensk", 52.1014, 23.6819, 54.7800, 32.0500, 1.4);
	/* Random queries never fail for a reason other than unreachable. */
	for (int i = 0; i < 50; i++) {
		double la1 = 51.5 + (i * 37 % 40) / 10.0, lo1 = 24 + (i * 53 % 80) / 10.0;
		double la2 = 51.5 + (i * 11 % 40) / 10.0, lo2 = 24 + (i * 29 % 80) / 10.0;
		sl_network_pos a, b;
		if (sl_network_snap(n, la1, lo1, 50000, &a) != SL_OK ||
		    sl_network_snap(n, la2, lo2, 50000, &b) != SL_OK)
			continue;
		double d;
		sl_err e = sl_network_distance(n, &a, &b, 0, &d);
		assert_true(e == SL_OK || e == SL_ENOTFOUND);
		if (e == SL_OK && d + 1 < sl_geo_distance_m(a.lat, a.lon, b.lat, b.lon))
			fail_msg(
			    "query %d: %.0f m by rail is shorter than the great circle",
			    i, d);
	}
	sl_network_free(n);
}

static void test_stations(void **state)
{
	(void)state;
	sl_stations *s;
	sl_problems why = {0};
	assert_int_equal(
	    sl_stations_load_file(test_data("network/stations.tsv"), &s, &why), SL_OK);
	eq_size(sl_stations_count(s), 3, "stations");
	size_t i;
	double d;
	assert_int_equal(sl_stations_nearest(s, 53.001, 27.1, 1000, &i, &d), SL_OK);
	assert_string_equal(sl_stations_get(s, i)->name_ru, "Узловая");
	near(d, 111, 1, "distance to the nearest station");
	assert_int_equal(sl_stations_nearest(s, 53.05, 27.05, 1000, &i, &d),
			 SL_ENOTFOUND);
	assert_int_equal(sl_stations_find(s, "ПАЎНОЧНАЯ", &i), SL_OK);
	assert_string_equal(sl_stations_get(s, i)->type, "оп");
	assert_int_equal(sl_stations_find(s, "uzlovaya", &i), SL_OK);
	assert_string_equal(sl_stations_get(s, i)->name_be, "Вузлавая");
	assert_int_equal(sl_stations_find(s, "nowhere", &i), SL_ENOTFOUND);
	sl_stations_free(s);

	static const struct {
		const char *tsv;
		sl_err want;
		const char *words;
	} bad[] = {
	    {"", SL_EPARSE, "is empty"},
	    {"name\tlat\n", SL_EPARSE, "header: has no column \"lon\""},
	    {"name\tlat\tlon\nA\t53.5\t27\nB\t95\t27\n", SL_EVALID,
	     "line 3: lat: \"95\" is not a latitude"},
	    {"name\tlat\tlon\nA\t53\tabc\n", SL_EVALID,
	     "line 2: lon: \"abc\" is not a longitude"},
	    {"name\tlat\tlon\nA\xff\t53\t27\n", SL_EPARSE,
	     "line 2: a name is not valid UTF-8"},
	};
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		why = (sl_problems){0};
		s = (sl_stations *)1;
		sl_err e =
		    sl_stations_load_buffer(bad[k].tsv, strlen(bad[k].tsv), &s, &why);
		char msg[512];
		sl_problems_format(&why, msg, sizeof(msg));
		if (e != bad[k].want || s != NULL || !strstr(msg, bad[k].words))
			fail_msg("stations case %zu: got %s \"%s\", want %s with \"%s\"",
				 k, sl_strerror(e), msg, sl_strerror(bad[k].want),
				 bad[k].words);
	}
	char *big = malloc(5000);
	memset(big, 'x', 4999);
	big[4999] = '\0';
	why = (sl_problems){0};
	assert_int_equal(sl_stations_load_buffer(big, strlen(big), &s, &why), SL_ETOOBIG);
	free(big);
}

static void find_is(const sl_stations *s, const char *name, const char *want_ru)
{
	size_t i;
	sl_err e = sl_stations_find(s, name, &i);
	if (e != SL_OK)
		fail_msg("find \"%s\": %s, want %s", name, sl_strerror(e), want_ru);
	if (strcmp(sl_stations_get(s, i)->name_ru, want_ru) != 0)
		fail_msg("find \"%s\": got %s, want %s", name,
			 sl_stations_get(s, i)->name_ru, want_ru);
}

static void test_real_stations(void **state)
{
	(void)state;
	const char *p = shared("geo/belarus-stations.tsv");
	if (!p)
		skip();
	sl_stations *s;
	sl_problems why = {0};
	assert_int_equal(sl_stations_load_file(p, &s, &why), SL_OK);
	eq_size(sl_stations_count(s), 953, "stations in belarus-stations.tsv");
	find_is(s, "Орша", "Орша-Центральная");
	find_is(s, "orsha", "Орша-Центральная");
	find_is(s, "Мінск", "Минск-Пассажирский");
	find_is(s, "minsk", "Минск-Пассажирский");
	find_is(s, "Gomel", "Гомель-Пассажирский");
	find_is(s, "Homel", "Гомель-Пассажирский");
	find_is(s, "Baranavichy", "Барановичи-Центральные");
	find_is(s, "барановичи полесские", "Барановичи-Полесские");
	find_is(s, "Kalinkavichy", "Калинковичи");
	find_is(s, "Мазыр", "Мозырь");
	find_is(s, "Лунинец", "Лунинец");
	size_t i;
	double d;
	assert_int_equal(sl_stations_nearest(s, 54.5208, 30.3756, 2000, &i, &d), SL_OK);
	assert_string_equal(sl_stations_get(s, i)->name_ru, "Орша-Центральная");
	sl_stations_free(s);
}

static void test_generated(void **state)
{
	(void)state;
	sl_network *n, *m;
	sl_stations *s;
	assert_int_equal(sl_network_generate(7, NULL, &n, &s), SL_OK);
	assert_int_equal(sl_network_generate(7, NULL, &m, NULL), SL_OK);
	sl_network_stats a, b;
	sl_network_stats_get(n, &a);
	sl_network_stats_get(m, &b);
	printf("# generated: %zu nodes, %zu edges, %.0f km, %zu stations\n", a.nodes,
	       a.edges, a.length_m / 1000, sl_stations_count(s));
	eq_size(a.components, 1, "generated network is one part");
	near(a.length_m, b.length_m, 0, "same seed, same network");
	if (a.min_lat < 51.2 || a.max_lat > 56.2 || a.min_lon < 23.1 || a.max_lon > 32.8)
		fail_msg(
		    "generated network outside Belarus's box: %.2f..%.2f, %.2f..%.2f",
		    a.min_lat, a.max_lat, a.min_lon, a.max_lon);
	if (a.length_m < 3000e3)
		fail_msg("generated network only %.0f km", a.length_m / 1000);
	if (sl_stations_count(s) < 200)
		fail_msg("only %zu generated stations", sl_stations_count(s));
	/* Every station lies on the network. */
	for (size_t i = 0; i < sl_stations_count(s); i++) {
		const sl_station *st = sl_stations_get(s, i);
		sl_network_pos p;
		if (sl_network_snap(n, st->lat, st->lon, 200, &p) != SL_OK)
			fail_msg("station %s is not on the generated network",
				 st->name_ru);
	}
	connected(n, "generated Brest-Orsha", 52.1014, 23.6819, 54.5208, 30.3756, 1.5);
	find_is(s, "Орша", "Орша-Центральная");
	sl_network_free(m);
	assert_int_equal(sl_network_generate(8, NULL, &m, NULL), SL_OK);
	sl_network_stats_get(m, &b);
	assert_true(a.length_m != b.length_m);
	sl_network_free(m);
	sl_network_free(n);
	sl_stations_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_t_junction),
	    cmocka_unit_test(test_joined_ends),
	    cmocka_unit_test(test_overpass_and_shared_vertex),
	    cmocka_unit_test(test_snap),
	    cmocka_unit_test(test_bad_input),
	    cmocka_unit_test(test_caps),
	    cmocka_unit_test(test_belarus),
	    cmocka_unit_test(test_region),
	    cmocka_unit_test(test_stations),
	    cmocka_unit_test(test_real_stations),
	    cmocka_unit_test(test_generated),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
