/*
 * test_borders.c — country borders (src/engine/borders.c).
 *
 * Two small countries side by side, written as GeoJSON and as a quantized
 * TopoJSON sharing one arc, give the same answers: which country a point is
 * in (a hole is not in it), how far a point is from a country, where a ray
 * leaves one, where a rail line crosses between them. Broken files are
 * refused naming the place. With node_modules/world-atlas installed (the
 * WORLD_ATLAS path meson sets), the real borders: Minsk in Belarus, Kyiv in
 * Ukraine, Orsha about 40 km from Russia, Homel about 40 km from Ukraine,
 * and the rail crossings of Belarus's border on the region network.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data_files.h"
#include "sightline/borders.h"

/* A: lon 0..2, lat 0..2 with a hole at lon 0.5..1, lat 0.5..1; B: lon
 * 2..4, lat 0..2. */
static const char geojson[] =
    "{\"type\":\"FeatureCollection\",\"features\":["
    "{\"type\":\"Feature\",\"id\":\"001\",\"properties\":{\"name\":\"Aland\"},"
    "\"geometry\":{\"type\":\"Polygon\",\"coordinates\":["
    "[[0,0],[2,0],[2,2],[0,2],[0,0]],[[0.5,0.5],[1,0.5],[1,1],[0.5,1],[0.5,0.5]]]}},"
    "{\"type\":\"Feature\",\"properties\":{\"NAME\":\"Bland\",\"ISO_N3\":\"002\"},"
    "\"geometry\":{\"type\":\"MultiPolygon\",\"coordinates\":["
    "[[[2,0],[4,0],[4,2],[2,2],[2,0]]]]}},"
    "{\"type\":\"Feature\",\"properties\":{},\"geometry\":null}]}";

/* The same two as a topology: arc 0 is the shared edge lon 2 from lat 0 to
 * 2; arc 1 the rest of A, arc 2 the rest of B, arc 3 A's hole. Quantized
 * with a scale of 0.5 degrees: positions are delta-encoded integers. */
static const char topojson[] =
    "{\"type\":\"Topology\",\"transform\":{\"scale\":[0.5,0.5],\"translate\":[0,0]},"
    "\"arcs\":["
    "[[4,0],[0,4]],"
    "[[4,4],[-4,0],[0,-4],[4,0]],"
    "[[4,0],[4,0],[0,4],[-4,0]],"
    "[[1,1],[1,0],[0,1],[-1,0],[0,-1]]],"
    "\"objects\":{\"countries\":{\"type\":\"GeometryCollection\",\"geometries\":["
    "{\"type\":\"Polygon\",\"id\":\"001\",\"arcs\":[[0,1],[3]],\"properties\":{\"name\":"
    "\"Aland\"}},"
    "{\"type\":\"Polygon\",\"id\":\"002\",\"arcs\":[[2,-1]],\"properties\":{\"name\":"
    "\"Bland\"}},"
    "{\"type\":null}]}}}";

static sl_borders *load(const char *text)
{
	sl_borders *b = NULL;
	sl_problems why = {0};
	sl_err e = sl_borders_load_buffer(text, strlen(text), &b, &why);
	if (e != SL_OK) {
		char msg[512];
		sl_problems_format(&why, msg, sizeof(msg));
		fail_msg("load: %s: %s", sl_strerror(e), msg);
	}
	return b;
}

static void check_two_countries(sl_borders *b)
{
	assert_int_equal(sl_borders_count(b), 2);
	size_t i;
	assert_true(sl_borders_find(b, 1, &i));
	assert_string_equal(sl_borders_name(b, i), "Aland");
	assert_true(sl_borders_find(b, 2, &i));
	assert_string_equal(sl_borders_name(b, i), "Bland");
	assert_false(sl_borders_find(b, 3, &i));
	assert_int_equal(sl_borders_country_at(b, 1.5, 1.5), 1);
	assert_int_equal(sl_borders_country_at(b, 1.5, 3.0), 2);
	assert_int_equal(sl_borders_country_at(b, 0.75, 0.75), 0); /* the hole */
	assert_int_equal(sl_borders_country_at(b, 5.0, 5.0), 0);
	/* From the middle of A to B: one degree of longitude at lat 1. */
	double d = sl_borders_distance_m(b, 2, 1.0, 1.0);
	if (fabs(d - 111180) > 500)
		fail_msg("distance to B: %.0f m, want about 111180", d);
	assert_true(sl_borders_distance_m(b, 1, 1.5, 1.5) == 0);
	assert_true(sl_borders_distance_m(b, 7, 1.5, 1.5) < 0);
	/* A ray east from A leaves it into B at lon 2. */
	sl_border_exit x;
	assert_int_equal(sl_borders_ray_exit(b, 1, 1.0, 1.5, 90, 500000, &x), SL_OK);
	assert_int_equal(x.country, 2);
	if (fabs(x.lon - 2.0) > 0.01 || fabs(x.along_m - 55590) > 1000)
		fail_msg("exit at lon %.4f after %.0f m, want 2 after about 55600", x.lon,
			 x.along_m);
	/* North leaves into nothing; from outside there is nothing to leave. */
	assert_int_equal(sl_borders_ray_exit(b, 1, 1.5, 1.5, 0, 500000, &x), SL_OK);
	assert_int_equal(x.country, 0);
	assert_int_equal(sl_borders_ray_exit(b, 1, 1.5, 3.0, 90, 500000, &x),
			 SL_ENOTFOUND);
	/* A rail line from A into B crosses once, at lon 2. */
	static const char line[] =
	    "{\"type\":\"LineString\",\"coordinates\":[[1.5,1.2],[2.5,1.2],[3.5,1.2]]}";
	sl_network *n;
	sl_problems why = {0};
	assert_int_equal(sl_network_load_buffer(line, strlen(line), NULL, &n, &why),
			 SL_OK);
	sl_border_crossing *xs;
	size_t nx;
	assert_int_equal(sl_borders_crossings(b, 1, n, NULL, &xs, &nx), SL_OK);
	assert_int_equal(nx, 1);
	assert_int_equal(xs[0].country, 2);
	if (fabs(xs[0].lon - 2.0) > 0.001 || fabs(xs[0].lat - 1.2) > 0.001)
		fail_msg("crossing at %.4f %.4f", xs[0].lat, xs[0].lon);
	free(xs);
	sl_network_free(n);
}

static void test_geojson(void **state)
{
	(void)state;
	sl_borders *b = load(geojson);
	check_two_countries(b);
	sl_borders_free(b);
}

static void test_topojson(void **state)
{
	(void)state;
	sl_borders *b = load(topojson);
	check_two_countries(b);
	sl_borders_free(b);
}

static void test_refused(void **state)
{
	(void)state;
	static const struct {
		const char *text, *want;
		sl_err err;
	} bad[] = {
	    {"not json", "not JSON", SL_EPARSE},
	    {"{\"type\":\"Feature\"}", "expected a TopoJSON Topology", SL_EVALID},
	    {"{\"type\":\"FeatureCollection\",\"features\":[]}", "has no polygons",
	     SL_EVALID},
	    {"{\"type\":\"FeatureCollection\",\"features\":[{\"geometry\":{\"type\":"
	     "\"Polygon\",\"coordinates\":[[[0,0],[1,0],[1,95],[0,0]]]}}]}",
	     "is not a longitude and latitude", SL_EVALID},
	    {"{\"type\":\"FeatureCollection\",\"features\":[{\"geometry\":{\"type\":"
	     "\"Circle\",\"coordinates\":[]}}]}",
	     "expected Polygon or MultiPolygon", SL_EVALID},
	    {"{\"type\":\"Topology\",\"arcs\":[[[0,0],[1,1]]],\"objects\":{\"countries\":"
	     "{\"type\":\"GeometryCollection\",\"geometries\":[{\"type\":\"Polygon\","
	     "\"arcs\":[[5]]}]}}}",
	     "is not an arc of the topology", SL_EVALID},
	    {"{\"type\":\"Topology\",\"arcs\":7}", "expected an array of arcs",
	     SL_EVALID},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sl_borders *b = (sl_borders *)1;
		sl_problems why = {0};
		sl_err e =
		    sl_borders_load_buffer(bad[i].text, strlen(bad[i].text), &b, &why);
		char msg[512];
		sl_problems_format(&why, msg, sizeof(msg));
		if (e != bad[i].err || b != NULL || !strstr(msg, bad[i].want))
			fail_msg("%s: %s \"%s\", want %s \"%s\"", bad[i].text,
				 sl_strerror(e), msg, sl_strerror(bad[i].err),
				 bad[i].want);
	}
	sl_borders *b;
	sl_problems why = {0};
	assert_int_equal(sl_borders_load_file("/nonexistent/borders.json", &b, &why),
			 SL_EIO);
}

static void test_world_atlas(void **state)
{
	(void)state;
	const char *path = getenv("WORLD_ATLAS");
	FILE *f = path ? fopen(path, "r") : NULL;
	if (!f) {
		printf("skip: WORLD_ATLAS (node_modules/world-atlas) is not there\n");
		skip();
	}
	fclose(f);
	double t0 = now_s();
	sl_borders *b;
	sl_problems why = {0};
	assert_int_equal(sl_borders_load_file(path, &b, &why), SL_OK);
	printf("world-atlas: %zu countries in %.0f ms\n", sl_borders_count(b),
	       (now_s() - t0) * 1e3);
	assert_int_equal(sl_borders_country_at(b, 53.90, 27.56), SL_COUNTRY_BELARUS);
	assert_int_equal(sl_borders_country_at(b, 50.45, 30.52), SL_COUNTRY_UKRAINE);
	assert_int_equal(sl_borders_country_at(b, 54.78, 32.04), SL_COUNTRY_RUSSIA);
	assert_int_equal(sl_borders_country_at(b, 52.23, 21.01), SL_COUNTRY_POLAND);
	double orsha_ru = sl_borders_distance_m(b, SL_COUNTRY_RUSSIA, 54.51, 30.42);
	double homel_ua = sl_borders_distance_m(b, SL_COUNTRY_UKRAINE, 52.43, 30.99);
	double brest_ua = sl_borders_distance_m(b, SL_COUNTRY_UKRAINE, 52.10, 23.69);
	printf("Orsha-Russia %.0f km, Homel-Ukraine %.0f km, Brest-Ukraine %.0f km\n",
	       orsha_ru / 1e3, homel_ua / 1e3, brest_ua / 1e3);
	assert_true(orsha_ru > 25e3 && orsha_ru < 55e3);
	assert_true(homel_ua > 25e3 && homel_ua < 55e3);
	assert_true(brest_ua > 20e3 && brest_ua < 80e3);
	const char *rail = shared("geo/region-rail.geojson");
	if (rail) {
		sl_network *n;
		assert_int_equal(sl_network_load_file(rail, NULL, &n, &why), SL_OK);
		sl_border_crossing *xs;
		size_t nx, by[1000] = {0};
		assert_int_equal(
		    sl_borders_crossings(b, SL_COUNTRY_BELARUS, n, NULL, &xs, &nx),
		    SL_OK);
		for (size_t i = 0; i < nx; i++)
			if (xs[i].country > 0 && xs[i].country < 1000)
				by[xs[i].country]++;
		printf("region network: %zu crossings of Belarus's border: Russia %zu, "
		       "Ukraine %zu, Poland %zu, Lithuania %zu, Latvia %zu\n",
		       nx, by[643], by[804], by[616], by[440], by[428]);
		assert_true(by[643] >= 4 && by[804] >= 4 && by[616] >= 2 && by[440] >= 2);
		free(xs);
		sl_network_free(n);
	}
	sl_borders_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_geojson),
	    cmocka_unit_test(test_topojson),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_world_atlas),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
