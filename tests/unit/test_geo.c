/*
 * test_geo.c — great-circle distances and bearings against known values
 * (Minsk–Orsha, a degree of latitude), the destination round trip and the
 * local frame.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sightline/geo.h"

static void near(double got, double want, double tol, const char *what)
{
	if (fabs(got - want) > tol)
		fail_msg("%s: got %.6f, want %.6f +- %.6f", what, got, want, tol);
}

static void test_distance(void **state)
{
	(void)state;
	/* Minsk-Pasažyrski to Orsha-Centralnaja: about 197 km as the crow flies. */
	double d = sl_geo_distance_m(53.8908, 27.5503, 54.5095, 30.4233);
	near(d, 199400, 1500, "Minsk-Orsha");
	near(sl_geo_distance_m(53, 27, 54, 27), 111195, 5, "one degree of latitude");
	near(sl_geo_distance_m(54, 30, 54, 30), 0, 1e-9, "same point");
	near(sl_geo_distance_m(0, 179.5, 0, -179.5), 111195, 5,
	     "across the antimeridian");
}

static void test_bearing_and_destination(void **state)
{
	(void)state;
	near(sl_geo_bearing_deg(53, 27, 54, 27), 0, 1e-9, "due north");
	near(sl_geo_bearing_deg(53, 27, 53, 28), 89.6, 0.1, "about east");
	near(sl_geo_bearing_deg(54, 27, 53, 27), 180, 1e-9, "due south");
	near(sl_geo_bearing_deg(53, 27, 53, 27), 0, 0, "same point");
	for (double b = 0; b < 360; b += 37) {
		double lat, lon;
		sl_geo_destination(53.9, 27.56, b, 25000, &lat, &lon);
		near(sl_geo_distance_m(53.9, 27.56, lat, lon), 25000, 0.01,
		     "destination distance");
		near(sl_geo_angle_diff(sl_geo_bearing_deg(53.9, 27.56, lat, lon), b), 0,
		     1e-6, "destination bearing");
	}
	near(sl_geo_angle_diff(350, 10), 20, 1e-12, "angle across north");
	near(sl_geo_angle_diff(0, 180), 180, 1e-12, "opposite");
}

static void test_local_frame(void **state)
{
	(void)state;
	sl_geo_frame f = sl_geo_local(54.5, 30.4);
	double x, y, lat, lon;
	sl_geo_to_xy(&f, 54.6, 30.55, &x, &y);
	near(hypot(x, y), sl_geo_distance_m(54.5, 30.4, 54.6, 30.55), 20,
	     "frame distance");
	sl_geo_from_xy(&f, x, y, &lat, &lon);
	near(lat, 54.6, 1e-9, "frame round trip lat");
	near(lon, 30.55, 1e-9, "frame round trip lon");
	assert_true(sl_geo_valid(54, 30));
	assert_false(sl_geo_valid(91, 30));
	assert_false(sl_geo_valid(54, NAN));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_distance),
	    cmocka_unit_test(test_bearing_and_destination),
	    cmocka_unit_test(test_local_frame),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
