/*
 * track.c — the commands around tracking (docs/TRACKING.md): loading the
 * network, stations and borders the tracker reads, bringing tracks up to
 * date after the engine, and `sightline summary`.
 *
 *   sightline import --network region-rail.geojson --stations stations.tsv ...
 *   sightline summary --period week --from 2022-10-01T00:00:00Z
 *
 * The files come from --network, --stations and --borders (or the config
 * file); without --borders the world-atlas file installed by
 * scripts/install-deps is used when it is there, and tracks get no
 * direction when it is not.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sightline/summary.h"
#include "sightline/timefmt.h"
#include "sightline/track.h"

#include "cli/cli.h"

static int bad_file(const char *what, const char *path, sl_err e, const sl_problems *why)
{
	char msg[1024];
	sl_problems_format(why, msg, sizeof(msg));
	return fail("--%s %s: %s", what, path, msg[0] ? msg : sl_strerror(e));
}

int tracking_load(const options *o, tracking *t)
{
	memset(t, 0, sizeof(*t));
	sl_track_params_default(&t->params);
	if (o->train_speed_kmh > 0) {
		sl_track_motion *m = &t->params.motion[SL_CAT_RAIL_TRANSPORT];
		m->max_speed_kmh = o->train_speed_kmh;
		if (m->typical_speed_kmh > m->max_speed_kmh)
			m->typical_speed_kmh = m->max_speed_kmh;
	}
	sl_problems why = {0};
	sl_err e;
	if (o->sim.network &&
	    (e = sl_network_load_file(o->sim.network, NULL, &t->network, &why)) != SL_OK)
		return bad_file("network", o->sim.network, e, &why);
	if (o->sim.stations &&
	    (e = sl_stations_load_file(o->sim.stations, &t->stations, &why)) != SL_OK) {
		tracking_free(t);
		return bad_file("stations", o->sim.stations, e, &why);
	}
	const char *borders = o->borders;
	if (!borders && access(SL_BORDERS_DEFAULT_PATH, R_OK) == 0)
		borders = SL_BORDERS_DEFAULT_PATH;
	if (borders && strcmp(borders, "none") != 0 &&
	    (e = sl_borders_load_file(borders, &t->borders, &why)) != SL_OK) {
		tracking_free(t);
		return bad_file("borders", borders, e, &why);
	}
	return 0;
}

void tracking_free(tracking *t)
{
	sl_network_free(t->network);
	sl_stations_free(t->stations);
	sl_borders_free(t->borders);
	memset(t, 0, sizeof(*t));
}

int catch_up(const options *o, sl_store *store, bool quiet)
{
	bool ran = false;
	int rc = catch_up_events(store, quiet, &ran);
	if (rc || !ran)
		return rc; /* a running server's tracker does the rest */
	tracking t;
	if ((rc = tracking_load(o, &t)))
		return rc;
	sl_track_context ctx = {.params = &t.params,
				.network = t.network,
				.stations = t.stations,
				.borders = t.borders};
	sl_err e = sl_tracker_catch_up(store, &ctx, sl_time_now());
	tracking_free(&t);
	if (e != SL_OK)
		return fail("tracking failed: %s", sl_strerror(e));
	return 0;
}

/* ---------------------------------------------------------------- summary */

static int parse_time_opt(const char *name, const char *v, bool *has, int64_t *t)
{
	if (!v)
		return 0;
	if (sl_time_parse(v, t) != SL_OK)
		return fail("summary: --%s: \"%s\" is not an RFC 3339 time such as "
			    "2022-10-10T00:00:00Z",
			    name, v);
	*has = true;
	return 0;
}

static void print_range(const json_t *r)
{
	json_int_t c = json_integer_value(json_object_get(r, "count"));
	json_int_t lo = json_integer_value(json_object_get(r, "min"));
	json_int_t hi = json_integer_value(json_object_get(r, "max"));
	char buf[64];
	if (lo == hi)
		snprintf(buf, sizeof(buf), "%lld", (long long)c);
	else
		snprintf(buf, sizeof(buf), "%lld (%lld-%lld)", (long long)c,
			 (long long)lo, (long long)hi);
	printf(" %-16s", buf);
}

/* One line: a label, the movements, then each equipment type's count. */
static void print_tally(const char *label, const json_t *t)
{
	printf("  %-20s", label);
	print_range(json_object_get(t, "movements"));
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(t, "equipment"), i, e)
	{
		printf(" %s", json_string_value(json_object_get(e, "type")));
		print_range(e);
	}
	putchar('\n');
}

static void print_summary(const json_t *s)
{
	printf("%s movements by %s, first seen; count (sure-all) where unsure\n",
	       json_string_value(json_object_get(s, "category")),
	       json_string_value(json_object_get(s, "period")));
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(s, "periods"), i, p)
	{
		const char *start = json_string_value(json_object_get(p, "start"));
		printf("%.10s\n", start ? start : "?");
		print_tally("all", p);
		size_t k;
		json_t *d;
		json_array_foreach(json_object_get(p, "directions"), k, d) if (
		    json_integer_value(
			json_object_get(json_object_get(d, "movements"), "max")) > 0)
		    print_tally(json_string_value(json_object_get(d, "class")), d);
	}
	printf("total\n");
	print_tally("all", json_object_get(s, "total"));
	size_t k;
	json_t *d;
	json_array_foreach(
	    json_object_get(json_object_get(s, "total"), "directions"), k,
	    d) if (json_integer_value(json_object_get(json_object_get(d, "movements"),
						      "max")) > 0)
	    print_tally(json_string_value(json_object_get(d, "class")), d);
}

int cmd_summary(options *o, int argc, char **argv)
{
	if (argc > 0)
		return fail("summary: unexpected argument \"%s\"", argv[0]);
	sl_summary_query q = {.period = SL_PERIOD_DAY, .category = SL_CAT_RAIL_TRANSPORT};
	if (o->period && !sl_period_from_name(o->period, &q.period))
		return fail("summary: --period: \"%s\" is not day, week or month",
			    o->period);
	if (o->category && !sl_category_from_name(o->category, &q.category))
		return fail("summary: --category: \"%s\" is not a category", o->category);
	int rc;
	if ((rc = parse_time_opt("from", o->from, &q.has_from, &q.from)) ||
	    (rc = parse_time_opt("to", o->to, &q.has_to, &q.to)))
		return rc;
	if (q.has_from && q.has_to && q.to <= q.from)
		return fail("summary: --to: is not after --from");
	bool json = o->format && strcmp(o->format, "json") == 0;
	if (o->format && !json && strcmp(o->format, "text") != 0)
		return fail("summary: --format \"%s\" is not text or json", o->format);
	sl_store *store;
	if ((rc = open_store(o, &store)))
		return rc;
	if ((rc = catch_up(o, store, true))) {
		sl_store_close(store);
		return rc;
	}
	json_t *s;
	sl_err e = sl_summary_json(store, &q, &s);
	sl_store_close(store);
	if (e == SL_ETOOBIG)
		return fail(
		    "summary: the range holds more than %d %ss; narrow --from and "
		    "--to, or use a longer --period",
		    SL_SUMMARY_MAX_PERIODS, sl_period_name(q.period));
	if (e != SL_OK)
		return fail("summary failed: %s", sl_strerror(e));
	if (json) {
		json_dumpf(s, stdout, JSON_COMPACT | JSON_REAL_PRECISION(10));
		putchar('\n');
	} else {
		print_summary(s);
	}
	json_decref(s);
	return fflush(stdout) == 0 ? 0
				   : fail("summary: cannot write: %s", strerror(errno));
}
