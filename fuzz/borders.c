/*
 * borders.c — fuzz target: country borders from TopoJSON or GeoJSON
 * (sl_borders_load_buffer: `serve --borders`, `track --borders`, the
 * world-atlas file of npm or one a user supplies).
 *
 * What loads is used as the tracker uses it: every country found by its
 * code, the country at a few points, the distance to each, and a ray from
 * inside every country out across its border.
 */
#include <math.h>

#include "fuzz.h"
#include "sightline/borders.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sl_borders *b = NULL;
	sl_problems why = {0};
	sl_err e = sl_borders_load_buffer((const char *)data, size, &b, &why);
	if (e != SL_OK) {
		if (b)
			fuzz_fail("a failed load handed back borders");
		if (why.n == 0 && e != SL_ENOMEM)
			fuzz_fail("refused (error %d) without a reason", (int)e);
		return 0;
	}
	size_t n = sl_borders_count(b);
	if (n == 0)
		fuzz_fail("borders loaded with no country");
	static const double pts[][2] = {{53.9, 27.56},	{0, 0},	      {-89.9, 179.9},
					{89.9, -179.9}, {52.1, 23.7}, {51.5, 31.3}};
	for (size_t i = 0; i < n && i < 64; i++) {
		int code = sl_borders_code(b, i);
		size_t at;
		/* A country without a code (0) is kept for country_at, never
		 * found by one. */
		if (code == 0)
			continue;
		if (!sl_borders_find(b, code, &at))
			fuzz_fail("country %zu (code %d) is not found by its code", i,
				  code);
		if (!sl_borders_name(b, i))
			fuzz_fail("country %zu has no name", i);
		for (size_t k = 0; k < sizeof(pts) / sizeof(pts[0]); k++) {
			double d = sl_borders_distance_m(b, code, pts[k][0], pts[k][1]);
			if (!isfinite(d) || d < 0)
				fuzz_fail("distance to country %d: %g", code, d);
			if (d == 0) {
				sl_border_exit x;
				if (sl_borders_ray_exit(b, code, pts[k][0], pts[k][1],
							45.0, 2e6, &x) == SL_OK &&
				    (!isfinite(x.lat) || !isfinite(x.lon) ||
				     !(x.along_m >= 0)))
					fuzz_fail("a ray's exit is not a point");
			}
		}
	}
	for (size_t k = 0; k < sizeof(pts) / sizeof(pts[0]); k++)
		(void)sl_borders_country_at(b, pts[k][0], pts[k][1]);
	sl_borders_free(b);
	return 0;
}
