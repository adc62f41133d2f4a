/*
 * bench_publish.c — the public feeds' figures for `make bench`
 * (bench/run, docs/PERFORMANCE.md "Public feeds").
 *
 *   bench_publish DATA_DIR [EVENTS] [FEED_OUT]
 *
 * Makes a store in DATA_DIR (or uses the one an earlier run made there)
 * holding EVENTS
 * (default 100,000) published events — one verified report each, over
 * Belarus and the past year, a third of them with three more reports so
 * that they are published at full precision — then, in this process:
 *   snapshot  the publication policy applied to the whole store
 *             (sl_publish_refresh: read every event with its report
 *             counts, apply the policy, sort), best of 5;
 *   geojson   the full GeoJSON feed written from the snapshot, best of 5:
 *             what a request pays when the feed is not cached;
 *   gzip      ... and its gzip copy (made once per snapshot, on the first
 *             request that accepts it).
 * With FEED_OUT it writes the GeoJSON there, for nginx to serve as a
 * static file in the same run. Prints "name value" lines.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "sightline/publish.h"
#include "sightline/store.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

#define BATCH 2000

static int fill(sl_store *s, size_t n_events)
{
	int64_t now = (int64_t)time(NULL);
	size_t per = 1; /* reports of the current event */
	size_t n_reports = n_events + 3 * ((n_events + 2) / 3);
	sl_report *reports = calloc(BATCH, sizeof(*reports));
	sl_report **ptrs = calloc(BATCH, sizeof(*ptrs));
	sl_put_result *res = calloc(BATCH, sizeof(*res));
	sl_equipment *eq = calloc(BATCH, sizeof(*eq));
	int64_t *ids = calloc(n_reports, sizeof(*ids));
	if (!reports || !ptrs || !res || !eq || !ids)
		return 1;
	uint64_t seed = 7;
	size_t made = 0;
	double *lat = calloc(n_events, sizeof(*lat)),
	       *lon = calloc(n_events, sizeof(*lon));
	int64_t *when = calloc(n_events, sizeof(*when));
	for (size_t e = 0; e < n_events; e++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		lat[e] = 51.3 + (double)(seed >> 40) / (double)(1ull << 24) * 4.8;
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		lon[e] = 23.3 + (double)(seed >> 40) / (double)(1ull << 24) * 9.3;
		when[e] = now - 7200 - (int64_t)(e * (365ll * 86400 / (int64_t)n_events));
	}
	size_t ev = 0, k = 0;
	while (made < n_reports) {
		size_t b = 0;
		for (; b < BATCH && made + b < n_reports; b++) {
			per = ev % 3 == 0 ? 4 : 1;
			sl_report *r = &reports[b];
			memset(r, 0, sizeof(*r));
			r->category = (sl_category)(ev % SL_CAT_COUNT);
			r->observed_at = when[ev] + (int64_t)k * 60;
			r->location.has_point = true;
			r->location.lat = lat[ev] + 0.0003 * (double)k;
			r->location.lon = lon[ev];
			r->location.uncertainty_m = 500;
			eq[b] = (sl_equipment){.type = SL_EQ_TANK,
					       .count = 5 + (int32_t)(ev % 20)};
			r->n_equipment = 1;
			r->equipment = &eq[b];
			r->has_heading = true;
			r->heading_deg = (double)(ev % 16) * 22.5;
			r->status = k == 0 ? SL_STATUS_VERIFIED : SL_STATUS_RECEIVED;
			r->received_at = r->observed_at / 60 * 60;
			ptrs[b] = r;
			if (++k == per) {
				k = 0;
				ev++;
			}
		}
		if (sl_store_put_reports(s, ptrs, b, res) != SL_OK)
			return 1;
		for (size_t i = 0; i < b; i++)
			ids[made + i] = reports[i].id;
		made += b;
	}
	/* One event per sighting, saved as the engine saves its events. */
	sl_event *events = calloc(BATCH, sizeof(*events));
	sl_event_item item = {SL_EQ_TANK, 10, 8, 12};
	size_t at = 0;
	for (size_t e0 = 0; e0 < n_events; e0 += BATCH) {
		size_t n = 0;
		for (size_t e = e0; e < n_events && n < BATCH; e++, n++) {
			size_t nr = e % 3 == 0 ? 4 : 1;
			sl_event *x = &events[n];
			memset(x, 0, sizeof(*x));
			x->has_category = true;
			x->category = (sl_category)(e % SL_CAT_COUNT);
			x->has_estimate = true;
			x->t_start = when[e];
			x->t_end = when[e] + (int64_t)(nr - 1) * 60;
			x->has_point = true;
			x->lat = lat[e];
			x->lon = lon[e];
			x->uncertainty_m = 400;
			x->has_heading = true;
			x->heading_deg = (double)(e % 16) * 22.5;
			x->confidence = 0.6;
			x->n_items = 1;
			x->items = &item;
			x->n_reports = nr;
			x->report_ids = &ids[at];
			at += nr;
		}
		sl_engine_save sv = {.n_events = n, .events = events, .now = now};
		if (sl_store_engine_save(s, &sv) != SL_OK)
			return 1;
	}
	free(events);
	free(reports);
	free(ptrs);
	free(res);
	free(eq);
	free(ids);
	free(lat);
	free(lon);
	free(when);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 4) {
		fprintf(stderr, "usage: bench_publish DATA_DIR [EVENTS] [FEED_OUT]\n");
		return 2;
	}
	size_t n = argc > 2 ? strtoul(argv[2], NULL, 10) : 100000;
	sl_store *s;
	if (sl_store_open(argv[1], &s) != SL_OK)
		return 1;
	double t0 = now_s();
	int64_t have = 0;
	if (sl_store_count_reports(s, &have) != SL_OK)
		return 1;
	if (have) /* a store made by an earlier run: measure it again */
		printf("reused %lld reports\n", (long long)have);
	else if (fill(s, n)) {
		fprintf(stderr, "bench_publish: cannot fill the store\n");
		return 1;
	}
	printf("fill_s %.2f\n", now_s() - t0);
	sl_publish *p;
	if (sl_publish_new(s, &p) != SL_OK)
		return 1;
	double best_snap = 1e9, best_geo = 1e9;
	size_t bytes = 0, published = 0;
	for (int i = 0; i < 5; i++) {
		t0 = now_s();
		if (sl_publish_refresh(p, (int64_t)time(NULL), true, false, NULL) !=
		    SL_OK)
			return 1;
		double t = now_s() - t0;
		best_snap = t < best_snap ? t : best_snap;
	}
	const sl_pub_snapshot *snap = sl_publish_snapshot(p);
	published = snap->n;
	sl_pub_filter all = {0};
	sl_pbuf b = {0};
	for (int i = 0; i < 5; i++) {
		sl_pbuf_free(&b);
		sl_pbuf_init(&b, SL_PUB_FEED_CAP);
		t0 = now_s();
		if (sl_pub_write(SL_PUB_GEOJSON, snap, &all, &b) != SL_OK)
			return 1;
		double t = now_s() - t0;
		best_geo = t < best_geo ? t : best_geo;
	}
	bytes = b.len;
	t0 = now_s();
	uLongf zlen = compressBound((uLong)b.len);
	Bytef *z = malloc(zlen);
	z_stream zs = {0};
	deflateInit2(&zs, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
	zs.next_in = (Bytef *)b.p;
	zs.avail_in = (uInt)b.len;
	zs.next_out = z;
	zs.avail_out = (uInt)zlen;
	deflate(&zs, Z_FINISH);
	double gz = now_s() - t0;
	size_t gz_bytes = zs.total_out;
	deflateEnd(&zs);
	free(z);
	if (argc > 3) {
		FILE *f = fopen(argv[3], "wb");
		if (!f || fwrite(b.p, 1, b.len, f) != b.len || fclose(f) != 0) {
			perror(argv[3]);
			return 1;
		}
	}
	printf("events %zu\npublished %zu\nsnapshot_ms %.1f\ngeojson_ms %.1f\n"
	       "geojson_bytes %zu\ngzip_ms %.1f\ngzip_bytes %zu\n",
	       n, published, best_snap * 1e3, best_geo * 1e3, bytes, gz * 1e3, gz_bytes);
	sl_pbuf_free(&b);
	sl_publish_release(p, snap);
	sl_publish_free(p);
	sl_store_close(s);
	return 0;
}
