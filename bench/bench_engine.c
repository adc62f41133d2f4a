/*
 * bench_engine.c — the corroboration engine's figures for `make bench`
 * (bench/engine.sh, docs/PERFORMANCE.md).
 *
 *   bench_engine REPORTS.jsonl [POINTS.csv]
 *
 * Reads every report of REPORTS.jsonl (the simulator's output) into memory
 * first, outside any timing, then:
 *   batch   one engine takes all of them at once (sl_engine_add_batch:
 *           placed in time order), timed as a whole;
 *   incr    a second engine takes them again, each sl_engine_add timed on
 *           its own: the per-report cost as a server pays it, p50/p99/max;
 *   memory  what the first engine holds, per report, by its own count
 *           and by the growth of the process's resident memory.
 * With POINTS.csv it also writes "id,category,lon,lat,t" for the PostGIS
 * baseline, which clusters the same points.
 * Prints "name value" lines that bench/engine.sh reads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sightline/arena.h"
#include "sightline/engine.h"
#include "sightline/report_json.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Resident memory of this process, bytes (from /proc/self/statm). */
static size_t rss_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long pages = 0, res = 0;
	if (f) {
		if (fscanf(f, "%lu %lu", &pages, &res) != 2)
			res = 0;
		fclose(f);
	}
	return (size_t)res * (size_t)sysconf(_SC_PAGESIZE);
}

static int cmp_u64(const void *a, const void *b)
{
	unsigned long long x = *(const unsigned long long *)a,
			   y = *(const unsigned long long *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: bench_engine REPORTS.jsonl [POINTS.csv]\n");
		return 2;
	}
	FILE *in = fopen(argv[1], "r");
	if (!in) {
		perror(argv[1]);
		return 1;
	}
	size_t cap = 1 << 16, n = 0, eqcap = 1 << 16, neq = 0;
	sl_queue_item *items = malloc(cap * sizeof(*items));
	sl_equipment *eq = malloc(eqcap * sizeof(*eq));
	sl_arena *a = sl_arena_new(1 << 20);
	char *line = NULL;
	size_t lcap = 0;
	ssize_t len;
	long bad = 0;
	int64_t now = (int64_t)time(NULL);
	while ((len = getline(&line, &lcap, in)) > 0) {
		sl_report r;
		sl_problems why = {0};
		sl_arena_reset(a);
		if (sl_report_from_json_text(line, (size_t)len, 0, now, a, &r, &why) !=
		    SL_OK) {
			bad++;
			continue;
		}
		if (n == cap) {
			cap *= 2;
			items = realloc(items, cap * sizeof(*items));
		}
		while (neq + r.n_equipment > eqcap) {
			eqcap *= 2;
			eq = realloc(eq, eqcap * sizeof(*eq));
		}
		if (!items || !eq) {
			fprintf(stderr, "bench_engine: out of memory\n");
			return 1;
		}
		sl_queue_item *it = &items[n];
		memset(it, 0, sizeof(*it));
		it->report = r;
		it->report.id = (int64_t)n + 1;
		/* Strings die with the arena: the engine reads none of them. */
		it->report.location.place = it->report.destination = it->report.ref =
		    NULL;
		it->report.text = it->report.contact = it->report.language = NULL;
		for (size_t k = 0; k < r.n_equipment; k++) {
			eq[neq + k] = r.equipment[k];
			eq[neq + k].model = NULL;
		}
		it->report.equipment = (sl_equipment *)(uintptr_t)neq; /* fixed below */
		neq += r.n_equipment;
		n++;
	}
	fclose(in);
	free(line);
	sl_arena_free(a);
	for (size_t i = 0; i < n; i++)
		items[i].report.equipment = eq + (uintptr_t)items[i].report.equipment;
	if (n == 0) {
		fprintf(stderr, "bench_engine: no reports in %s (%ld refused)\n", argv[1],
			bad);
		return 1;
	}

	sl_engine *e;
	if (sl_engine_new(NULL, &e) != SL_OK)
		return 1;
	size_t rss0 = rss_bytes();
	double t0 = now_s();
	if (sl_engine_add_batch(e, items, n) != SL_OK) {
		fprintf(stderr, "bench_engine: batch failed\n");
		return 1;
	}
	double batch = now_s() - t0;
	size_t events = sl_engine_event_count(e);
	size_t mem = sl_engine_memory(e);
	size_t rss = rss_bytes() - rss0;
	sl_engine_free(e);

	unsigned long long *ns = malloc(n * sizeof(*ns));
	if (!ns || sl_engine_new(NULL, &e) != SL_OK)
		return 1;
	for (size_t i = 0; i < n; i++) {
		struct timespec s, f;
		clock_gettime(CLOCK_MONOTONIC, &s);
		sl_engine_add(e, &items[i]);
		clock_gettime(CLOCK_MONOTONIC, &f);
		ns[i] = (unsigned long long)((f.tv_sec - s.tv_sec) * 1000000000LL +
					     (f.tv_nsec - s.tv_nsec));
	}
	size_t events_incr = sl_engine_event_count(e);
	sl_engine_free(e);
	qsort(ns, n, sizeof(*ns), cmp_u64);

	if (argc == 3) {
		FILE *out = fopen(argv[2], "w");
		if (!out) {
			perror(argv[2]);
			return 1;
		}
		for (size_t i = 0; i < n; i++) {
			const sl_report *r = &items[i].report;
			if (!r->location.has_point)
				continue;
			int64_t t = r->has_until
					? r->observed_at +
					      (r->observed_until - r->observed_at) / 2
					: r->observed_at;
			fprintf(out, "%zu,%d,%.6f,%.6f,%lld\n", i + 1, (int)r->category,
				r->location.lon, r->location.lat, (long long)t);
		}
		if (fclose(out) != 0) {
			perror(argv[2]);
			return 1;
		}
	}
	printf("reports %zu\n", n);
	printf("refused %ld\n", bad);
	printf("events %zu\n", events);
	printf("events_incr %zu\n", events_incr);
	printf("batch_s %.3f\n", batch);
	printf("batch_per_s %.0f\n", n / batch);
	printf("incr_p50_us %.2f\n", ns[n / 2] / 1000.0);
	printf("incr_p99_us %.2f\n", ns[n * 99 / 100] / 1000.0);
	printf("incr_p999_us %.2f\n", ns[n * 999 / 1000] / 1000.0);
	printf("incr_max_us %.1f\n", ns[n - 1] / 1000.0);
	printf("bytes_per_report %.0f\n", (double)mem / n);
	printf("rss_per_report %.0f\n", (double)rss / n);
	free(ns);
	free(items);
	free(eq);
	return 0;
}
