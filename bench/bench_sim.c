/*
 * bench_sim.c — how fast the simulator makes reports in memory
 * (docs/PERFORMANCE.md, "Simulator").
 *
 *   bench_sim [SCALE [HOURS]]
 *
 * Runs sl_sim_run on the generated network at SCALE (default 400: about a
 * million reports in 24 hours) with a callback that only counts, and
 * prints reports per second, best of 3. No files, no JSON: the cost of the
 * model itself, what a corroboration benchmark pays to get its input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "sightline/sim.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static sl_err count(void *ud, const sl_sim_record *rec)
{
	(void)rec;
	(*(size_t *)ud)++;
	return SL_OK;
}

int main(int argc, char **argv)
{
	sl_sim_config c;
	sl_sim_config_default(&c);
	c.scale = argc > 1 ? strtod(argv[1], NULL) : 400;
	c.hours = argc > 2 ? strtod(argv[2], NULL) : 24;
	double best = 1e9;
	size_t n = 0;
	for (int run = 0; run < 3; run++) {
		n = 0;
		sl_problems why = {0};
		double t0 = now_s();
		sl_err e = sl_sim_run(&c, count, &n, NULL, &why);
		double t = now_s() - t0;
		if (e != SL_OK) {
			char msg[512];
			sl_problems_format(&why, msg, sizeof(msg));
			fprintf(stderr, "bench_sim: %s\n", msg);
			return 1;
		}
		best = t < best ? t : best;
	}
	printf("simulator: scale %g, %g h: %zu reports in %.2f s (best of 3), %.0f "
	       "reports/s\n",
	       c.scale, c.hours, n, best, (double)n / best);
	return 0;
}
