/*
 * bench_engine.c — the corroboration engine's figures for `make bench`
 * (bench/engine.sh, docs/PERFORMANCE.md).
 *
 *   bench_engine REPORTS.jsonl [POINTS.csv]
 *   bench_engine --sim SCALE HOURS [POINTS.csv]
 *
 * Reads every report of REPORTS.jsonl (the simulator's output) into memory
 * first, outside any timing, or has the simulator (sim.h, on its generated
 * network, seed 1) make them in memory; then:
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
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sightline/arena.h"
#include "sightline/engine.h"
#include "sightline/report_json.h"
#include "sightline/sim.h"

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

/* The reports being collected, with their equipment in one pool (the
 * items point into it once it stops growing). */
typedef struct input {
	sl_queue_item *items;
	size_t n, cap;
	sl_equipment *eq;
	size_t neq, eqcap;
} input;

static int keep(input *in, const sl_report *r)
{
	if (in->n == in->cap) {
		in->cap = in->cap ? in->cap * 2 : 1 << 16;
		in->items = realloc(in->items, in->cap * sizeof(*in->items));
	}
	while (in->neq + r->n_equipment > in->eqcap) {
		in->eqcap = in->eqcap ? in->eqcap * 2 : 1 << 16;
		in->eq = realloc(in->eq, in->eqcap * sizeof(*in->eq));
	}
	if (!in->items || !in->eq) {
		fprintf(stderr, "bench_engine: out of memory\n");
		return 1;
	}
	sl_queue_item *it = &in->items[in->n];
	memset(it, 0, sizeof(*it));
	it->report = *r;
	it->report.id = (int64_t)in->n + 1;
	it->report.n_sealed = 0;
	it->report.sealed = NULL;
	/* Strings die with their source: the engine reads none of them. */
	it->report.location.place = it->report.destination = it->report.ref = NULL;
	it->report.text = it->report.contact = it->report.language = NULL;
	for (size_t k = 0; k < r->n_equipment; k++) {
		in->eq[in->neq + k] = r->equipment[k];
		in->eq[in->neq + k].model = NULL;
	}
	it->report.equipment = (sl_equipment *)(uintptr_t)in->neq; /* fixed below */
	in->neq += r->n_equipment;
	in->n++;
	return 0;
}

static sl_err sim_keep(void *ud, const sl_sim_record *rec)
{
	return keep(ud, rec->report) ? SL_ENOMEM : SL_OK;
}

static int read_jsonl(const char *path, input *in, long *bad)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		perror(path);
		return 1;
	}
	sl_arena *a = sl_arena_new(1 << 20);
	char *line = NULL;
	size_t lcap = 0;
	ssize_t len;
	int64_t now = (int64_t)time(NULL);
	int rc = 0;
	while (!rc && (len = getline(&line, &lcap, f)) > 0) {
		sl_report r;
		sl_problems why = {0};
		sl_arena_reset(a);
		if (sl_report_from_json_text(line, (size_t)len, 0, now, a, &r, &why) != SL_OK)
			(*bad)++;
		else
			rc = keep(in, &r);
	}
	fclose(f);
	free(line);
	sl_arena_free(a);
	return rc;
}

int main(int argc, char **argv)
{
	input in = {0};
	long bad = 0;
	const char *points = NULL;
	const char *source = argc > 1 ? argv[1] : "";
	if (argc >= 4 && strcmp(argv[1], "--sim") == 0) {
		sl_sim_config c;
		sl_sim_config_default(&c);
		c.scale = strtod(argv[2], NULL);
		c.hours = strtod(argv[3], NULL);
		sl_problems why = {0};
		if (sl_sim_run(&c, sim_keep, &in, NULL, &why) != SL_OK) {
			char msg[512];
			sl_problems_format(&why, msg, sizeof(msg));
			fprintf(stderr, "bench_engine: simulator: %s\n", msg);
			return 1;
		}
		points = argc > 4 ? argv[4] : NULL;
	} else if (argc == 2 || argc == 3) {
		if (read_jsonl(argv[1], &in, &bad))
			return 1;
		points = argc > 2 ? argv[2] : NULL;
	} else {
		fprintf(stderr, "usage: bench_engine REPORTS.jsonl [POINTS.csv]\n"
				"       bench_engine --sim SCALE HOURS [POINTS.csv]\n");
		return 2;
	}
	size_t n = in.n;
	sl_queue_item *items = in.items;
	sl_equipment *eq = in.eq;
	for (size_t i = 0; i < n; i++)
		items[i].report.equipment = eq + (uintptr_t)items[i].report.equipment;
	if (n == 0) {
		fprintf(stderr, "bench_engine: no reports in %s (%ld refused)\n", source, bad);
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
	/* What the heap keeps free after the arrays grew and shrank is not
	 * the engine's: give it back before reading. */
	malloc_trim(0);
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

	if (points) {
		FILE *out = fopen(points, "w");
		if (!out) {
			perror(points);
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
			perror(points);
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
