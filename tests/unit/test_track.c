/*
 * test_track.c — tracking (src/engine/track*.c): events into tracks.
 *
 * The assignment first: min-cost beats first-come greedy on a case made
 * for it, and equals brute force on small random ones. Then the tracker on
 * events made by hand around a junction where a line from west to east
 * crosses one from north to south: two trains with the same load passing
 * it at the same time stay two tracks, with the network and without; the
 * speed, direction and equipment gates keep another unit out of a track.
 * Linking bit by bit gives what linking at once gives. The simulator's
 * train from Baranavichy to Orsha is one track, moving away from the
 * Ukrainian border toward Russia, with the Russian border crossing ahead.
 * Last, the tracker on a real SQLite store: tracks saved, read back with
 * their refs, kept (same ids) across reloads, extended by new reports.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data_files.h"
#include "engine/track_int.h"
#include "sightline/engine.h"
#include "sightline/geo.h"
#include "sightline/sim.h"
#include "sightline/store.h"
#include "sightline/track.h"

#include "teststore.h"

#define T0 1665390600 /* 2022-10-10T08:30:00Z */

/* ---- the assignment ---- */

static void test_min_cost_beats_greedy(void **state)
{
	(void)state;
	/* Columns: 0 and 1 two track ends, 2 and 3 the births of rows 0 and
	 * 1. Row 0 (earlier) fits end 0 best, but row 1 fits only end 0. */
	const uint32_t rs[] = {0, 3, 5};
	const uint32_t col[] = {0, 1, 2, 0, 3};
	const double cost[] = {1, 2, 5, 2, 5};
	int32_t greedy[2], best[2];
	assert_int_equal(sl_trk_assign(2, 4, rs, col, cost, true, greedy), SL_OK);
	assert_int_equal(sl_trk_assign(2, 4, rs, col, cost, false, best), SL_OK);
	/* Greedy: 1 + 5 (row 1 starts a track); min-cost: 2 + 2. */
	assert_int_equal(greedy[0], 0);
	assert_int_equal(greedy[1], 3);
	assert_int_equal(best[0], 1);
	assert_int_equal(best[1], 0);
}

/* The least total over every assignment of rows to distinct columns. */
static double brute(size_t nr, const double *m, size_t nc, size_t r, uint32_t used)
{
	if (r == nr)
		return 0;
	double best = INFINITY;
	for (size_t c = 0; c < nc; c++)
		if (!(used & (1u << c)) && isfinite(m[r * nc + c]))
			best = fmin(best, m[r * nc + c] +
					      brute(nr, m, nc, r + 1, used | (1u << c)));
	return best;
}

static void test_min_cost_is_optimal(void **state)
{
	(void)state;
	srand(7);
	for (int trial = 0; trial < 300; trial++) {
		size_t nr = 1 + (size_t)(rand() % 5), na = (size_t)(rand() % 5);
		size_t nc = na + nr;
		double m[5 * 10];
		uint32_t rs[6], col[60];
		double cost[60];
		size_t ne = 0;
		for (size_t r = 0; r < nr; r++) {
			rs[r] = (uint32_t)ne;
			for (size_t c = 0; c < nc; c++) {
				double v = INFINITY;
				if (c < na && rand() % 3)
					v = (double)(rand() % 100) / 10;
				else if (c == na + r)
					v = 5; /* the birth */
				m[r * nc + c] = v;
				if (isfinite(v))
					col[ne] = (uint32_t)c, cost[ne++] = v;
			}
		}
		rs[nr] = (uint32_t)ne;
		int32_t got[5];
		assert_int_equal(sl_trk_assign(nr, nc, rs, col, cost, false, got), SL_OK);
		double total = 0;
		uint32_t used = 0;
		for (size_t r = 0; r < nr; r++) {
			assert_true(got[r] >= 0 && (size_t)got[r] < nc);
			assert_false(used & (1u << got[r]));
			used |= 1u << got[r];
			total += m[r * nc + (size_t)got[r]];
		}
		double want = brute(nr, m, nc, 0, 0);
		if (fabs(total - want) > 1e-9)
			fail_msg("trial %d: min-cost total %.2f, brute force %.2f", trial,
				 total, want);
	}
}

/* ---- events by hand ---- */

typedef struct mk {
	int64_t id;
	int64_t t;
	double lat, lon;
	double heading; /* < 0: none */
	sl_equipment_type type;
	int count;
} mk;

static sl_event_item items_buf[2];

static sl_event event_of(const mk *m)
{
	sl_event e;
	memset(&e, 0, sizeof(e));
	e.id = m->id;
	e.has_category = true;
	e.category = SL_CAT_RAIL_TRANSPORT;
	e.has_estimate = true;
	e.t_start = e.t_end = m->t;
	e.has_point = true;
	e.lat = m->lat, e.lon = m->lon;
	e.uncertainty_m = 300;
	e.has_heading = m->heading >= 0;
	e.heading_deg = m->heading >= 0 ? m->heading : 0;
	e.confidence = 0.6;
	e.n_reports = 2;
	items_buf[0] = (sl_event_item){m->type, m->count, m->count - 2, m->count + 2};
	e.items = items_buf;
	e.n_items = 1;
	return e;
}

static void put(sl_tracker *t, const mk *m)
{
	sl_event e = event_of(m);
	sl_err err = sl_tracker_put(t, &e);
	if (err)
		fail_msg("put %lld: %s", (long long)m->id, sl_strerror(err));
}

static int64_t track_key(sl_tracker *t, int64_t id)
{
	int64_t key = 0;
	sl_err err = sl_tracker_track_of(t, id, &key, NULL);
	if (err)
		fail_msg("event %lld: %s", (long long)id, sl_strerror(err));
	return key;
}

static void same_track(sl_tracker *t, int64_t a, int64_t b)
{
	int64_t ka = track_key(t, a), kb = track_key(t, b);
	if (ka != kb)
		fail_msg("events %lld and %lld: tracks %lld and %lld, want one",
			 (long long)a, (long long)b, (long long)ka, (long long)kb);
}

static void other_tracks(sl_tracker *t, int64_t a, int64_t b)
{
	int64_t ka = track_key(t, a), kb = track_key(t, b);
	if (ka == kb)
		fail_msg("events %lld and %lld are both in track %lld, want two",
			 (long long)a, (long long)b, (long long)ka);
}

/* A cross of two lines sharing the vertex 54 N 28 E. */
static const char cross[] =
    "{\"type\":\"FeatureCollection\",\"features\":["
    "{\"type\":\"Feature\",\"properties\":{},\"geometry\":{\"type\":\"LineString\","
    "\"coordinates\":[[27.0,54.0],[27.5,54.0],[28.0,54.0],[28.5,54.0],[29.0,54.0]]}},"
    "{\"type\":\"Feature\",\"properties\":{},\"geometry\":{\"type\":\"LineString\","
    "\"coordinates\":[[28.0,55.0],[28.0,54.5],[28.0,54.0],[28.0,53.5],[28.0,53.0]]}}]}";

static sl_network *cross_network(void)
{
	sl_network *n;
	sl_problems why = {0};
	assert_int_equal(sl_network_load_buffer(cross, strlen(cross), NULL, &n, &why),
			 SL_OK);
	return n;
}

/* Train A east along 54 N, train B south along 28 E, at about 60 km/h,
 * both at the junction at T0 (B two minutes later), the same load. */
static void two_trains(sl_tracker *t)
{
	for (int k = -2; k <= 2; k++) {
		mk a = {100 + k,	 T0 + k * 900, 54.0, 28.0 + 0.25 * k,
			k % 2 ? 90 : -1, SL_EQ_TANK,   20};
		mk b = {200 + k, T0 + 120 + k * 900, 54.0 - 0.125 * k,
			28.0,	 k % 2 ? 180 : -1,   SL_EQ_TANK,
			21};
		put(t, &a);
		put(t, &b);
	}
	assert_int_equal(sl_tracker_run(t, NULL), SL_OK);
}

static void check_two_trains(sl_tracker *t)
{
	for (int k = -1; k <= 2; k++) {
		same_track(t, 98, 100 + k);
		same_track(t, 198, 200 + k);
	}
	other_tracks(t, 100, 200);
	assert_int_equal(sl_tracker_track_count(t), 2);
}

static void test_junction_not_swapped(void **state)
{
	(void)state;
	sl_network *n = cross_network();
	sl_tracker *t;
	assert_int_equal(sl_tracker_new(NULL, n, NULL, NULL, &t), SL_OK);
	two_trains(t);
	check_two_trains(t);
	sl_tracker_free(t);
	/* Without the network, by straight lines, the same. */
	assert_int_equal(sl_tracker_new(NULL, NULL, NULL, NULL, &t), SL_OK);
	two_trains(t);
	check_two_trains(t);
	sl_tracker_free(t);
	sl_network_free(n);
}

static void test_gates(void **state)
{
	(void)state;
	sl_network *n = cross_network();
	sl_tracker *t;
	assert_int_equal(sl_tracker_new(NULL, n, NULL, NULL, &t), SL_OK);
	/* A train east at 65 km/h: two sightings 16 km and 15 min apart. */
	put(t, &(mk){1, T0, 54.0, 27.50, 90, SL_EQ_TANK, 20});
	put(t, &(mk){2, T0 + 900, 54.0, 27.75, 90, SL_EQ_TANK, 20});
	/* 65 km further 5 minutes later: 780 km/h, no train. */
	put(t, &(mk){3, T0 + 1200, 54.0, 28.75, 90, SL_EQ_TANK, 20});
	/* Behind it, heading back west: not this train turning round. */
	put(t, &(mk){4, T0 + 2700, 54.0, 27.60, 270, SL_EQ_TANK, 20});
	/* Ahead at the right time, with another load: not this train. */
	put(t, &(mk){5, T0 + 1800, 54.0, 28.00, 90, SL_EQ_ARTILLERY, 12});
	/* Ahead at the right time with its load: the train. */
	put(t, &(mk){6, T0 + 1860, 54.0, 28.01, 90, SL_EQ_TANK, 19});
	assert_int_equal(sl_tracker_run(t, NULL), SL_OK);
	same_track(t, 1, 2);
	same_track(t, 1, 6);
	other_tracks(t, 1, 3);
	other_tracks(t, 1, 4);
	other_tracks(t, 1, 5);
	sl_tracker_free(t);
	sl_network_free(n);
}

/* ---- simulated days ---- */

typedef struct simrun {
	sl_queue_item *items;
	sl_equipment *eq;
	size_t n, cap, neq, eqcap;
	char **object; /* by report id - 1 */
} simrun;

static sl_err on_record(void *ud, const sl_sim_record *rec)
{
	simrun *s = ud;
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 4096;
		s->items = realloc(s->items, s->cap * sizeof(*s->items));
		s->object = realloc(s->object, s->cap * sizeof(*s->object));
	}
	if (s->neq + rec->report->n_equipment > s->eqcap) {
		s->eqcap = s->eqcap ? 2 * s->eqcap : 16384;
		s->eq = realloc(s->eq, s->eqcap * sizeof(*s->eq));
	}
	if (!s->items || !s->object || !s->eq)
		return SL_ENOMEM;
	sl_queue_item *it = &s->items[s->n];
	memset(it, 0, sizeof(*it));
	it->report = *rec->report;
	it->report.id = (int64_t)s->n + 1;
	it->report.ref = it->report.destination = it->report.location.place = NULL;
	it->report.text = it->report.contact = it->report.language = NULL;
	it->report.n_sealed = 0;
	it->report.sealed = NULL;
	memcpy(s->eq + s->neq, rec->report->equipment,
	       rec->report->n_equipment * sizeof(*s->eq));
	for (size_t k = 0; k < rec->report->n_equipment; k++)
		s->eq[s->neq + k].model = NULL;
	it->report.equipment = (sl_equipment *)(uintptr_t)s->neq;
	s->neq += rec->report->n_equipment;
	s->object[s->n] = rec->object ? strdup(rec->object) : NULL;
	s->n++;
	return SL_OK;
}

static void simulate(sl_sim_config *c, simrun *s)
{
	memset(s, 0, sizeof(*s));
	sl_problems why = {0};
	sl_err e = sl_sim_run(c, on_record, s, NULL, &why);
	if (e) {
		char msg[512];
		sl_problems_format(&why, msg, sizeof(msg));
		fail_msg("simulate: %s %s", sl_strerror(e), msg);
	}
	for (size_t i = 0; i < s->n; i++)
		s->items[i].report.equipment =
		    s->eq + (uintptr_t)s->items[i].report.equipment;
}

static void simrun_free(simrun *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->object[i]);
	free(s->object);
	free(s->items);
	free(s->eq);
}

typedef struct feeder {
	sl_tracker *t;
	int64_t lo, hi; /* put events whose time is in lo .. hi */
} feeder;

static sl_err feed(void *ud, const sl_event *ev)
{
	feeder *f = ud;
	int64_t mid = ev->t_start + (ev->t_end - ev->t_start) / 2;
	if (mid < f->lo || mid > f->hi)
		return SL_OK;
	return sl_tracker_put(f->t, ev);
}

/* Every track's event ids, in order, as one text (to compare trackers). */
typedef struct dump {
	char *buf;
	size_t len, cap;
} dump;

static sl_err dump_track(void *ud, const sl_track *tr)
{
	dump *d = ud;
	for (size_t i = 0; i < tr->n_events; i++) {
		char num[32];
		int n = snprintf(num, sizeof(num), "%lld%c", (long long)tr->event_ids[i],
				 i + 1 < tr->n_events ? ',' : '\n');
		if (d->len + (size_t)n + 1 > d->cap) {
			d->cap = d->cap ? 2 * d->cap : 65536;
			d->buf = realloc(d->buf, d->cap);
			if (!d->buf)
				return SL_ENOMEM;
		}
		memcpy(d->buf + d->len, num, (size_t)n + 1);
		d->len += (size_t)n;
	}
	return SL_OK;
}

static char *tracks_text(sl_tracker *t)
{
	dump d = {0};
	assert_int_equal(sl_tracker_each_track(t, dump_track, &d), SL_OK);
	return d.buf ? d.buf : strdup("");
}

static void test_incremental_is_batch(void **state)
{
	(void)state;
	sl_sim_config c;
	sl_sim_config_default(&c);
	c.seed = 3;
	c.hours = 12;
	simrun s;
	simulate(&c, &s);
	sl_engine *e;
	assert_int_equal(sl_engine_new(NULL, &e), SL_OK);
	assert_int_equal(sl_engine_add_batch(e, s.items, s.n), SL_OK);
	sl_tracker *all, *bits;
	assert_int_equal(sl_tracker_new(NULL, NULL, NULL, NULL, &all), SL_OK);
	assert_int_equal(sl_tracker_new(NULL, NULL, NULL, NULL, &bits), SL_OK);
	feeder f = {.t = all, .lo = INT64_MIN, .hi = INT64_MAX};
	assert_int_equal(sl_engine_each_event(e, feed, &f), SL_OK);
	assert_int_equal(sl_tracker_run(all, NULL), SL_OK);
	/* The same events three hours at a time, each part linked on its
	 * own; then one event early on is changed and changed back, and one
	 * removed and put again. */
	for (int64_t t = c.start - 3600; t < c.start + 14 * 3600; t += 3 * 3600) {
		f = (feeder){.t = bits, .lo = t, .hi = t + 3 * 3600 - 1};
		assert_int_equal(sl_engine_each_event(e, feed, &f), SL_OK);
		assert_int_equal(sl_tracker_run(bits, NULL), SL_OK);
	}
	char *a = tracks_text(all), *b = tracks_text(bits);
	assert_string_equal(a, b);
	assert_true(sl_tracker_track_count(all) > 20);
	free(b);
	sl_tracker_remove(bits, -1);
	sl_tracker_remove(bits, -2);
	assert_int_equal(sl_tracker_run(bits, NULL), SL_OK);
	f = (feeder){.t = bits, .lo = INT64_MIN, .hi = INT64_MAX};
	assert_int_equal(sl_engine_each_event(e, feed, &f), SL_OK);
	assert_int_equal(sl_tracker_run(bits, NULL), SL_OK);
	b = tracks_text(bits);
	assert_string_equal(a, b);
	free(a);
	free(b);
	sl_tracker_free(all);
	sl_tracker_free(bits);
	sl_engine_free(e);
	simrun_free(&s);
}

/* Which track holds most of one object's reports. */
typedef struct finder {
	simrun *s;
	const char *object;
	sl_engine *e;
	/* event id -> its reports: from the engine's events */
	int64_t *ev_ids, *ev_count_obj;
	size_t nev;
	size_t best_reports, total;
	sl_track best;
	sl_event_item best_items[SL_EQ_COUNT];
} finder;

static sl_err count_event(void *ud, const sl_event *ev)
{
	finder *f = ud;
	int64_t n = 0;
	for (size_t i = 0; i < ev->n_reports; i++) {
		const char *o = f->s->object[ev->report_ids[i] - 1];
		n += o && strcmp(o, f->object) == 0;
	}
	f->ev_ids = realloc(f->ev_ids, (f->nev + 1) * sizeof(int64_t));
	f->ev_count_obj = realloc(f->ev_count_obj, (f->nev + 1) * sizeof(int64_t));
	if (!f->ev_ids || !f->ev_count_obj)
		return SL_ENOMEM;
	f->ev_ids[f->nev] = ev->id;
	f->ev_count_obj[f->nev++] = n;
	f->total += (size_t)n;
	return SL_OK;
}

static sl_err find_best(void *ud, const sl_track *tr)
{
	finder *f = ud;
	size_t n = 0;
	for (size_t k = 0; k < tr->n_events; k++)
		for (size_t i = 0; i < f->nev; i++)
			if (f->ev_ids[i] == tr->event_ids[k])
				n += (size_t)f->ev_count_obj[i];
	if (n > f->best_reports) {
		f->best_reports = n;
		f->best = *tr;
		size_t ni = tr->n_items < SL_EQ_COUNT ? tr->n_items : SL_EQ_COUNT;
		memcpy(f->best_items, tr->items, ni * sizeof(*tr->items));
		f->best.items = f->best_items;
		f->best.event_ids = NULL, f->best.route_lat = f->best.route_lon = NULL;
		f->best.crossing_name = "";
	}
	return SL_OK;
}

static const char echelon[] =
    "{\"id\":\"echelon\",\"kind\":\"rail\",\"route\":[\"Барановичи\",\"Орша\"],"
    "\"start\":\"2022-10-10T04:00:00Z\",\"origin\":\"Барановичи\","
    "\"destination\":\"Орша\",\"equipment\":[{\"type\":\"tank\",\"model\":\"T-72B3\","
    "\"count\":24},{\"type\":\"truck\",\"count\":6}]}\n";

static void baranavichy_orsha(sl_network *net, sl_stations *st, const sl_borders *b,
			      const char *where)
{
	sl_sim_objects *objs;
	sl_problems why = {0};
	assert_int_equal(
	    sl_sim_objects_load_buffer(echelon, strlen(echelon), &objs, &why), SL_OK);
	sl_sim_config c;
	sl_sim_config_default(&c);
	c.network = net;
	c.stations = st;
	c.objects = objs;
	c.false_rate = 0;
	simrun s;
	simulate(&c, &s);
	sl_engine *e;
	assert_int_equal(sl_engine_new(NULL, &e), SL_OK);
	assert_int_equal(sl_engine_add_batch(e, s.items, s.n), SL_OK);
	sl_tracker *t;
	assert_int_equal(sl_tracker_new(NULL, net, st, b, &t), SL_OK);
	feeder fd = {.t = t, .lo = INT64_MIN, .hi = INT64_MAX};
	assert_int_equal(sl_engine_each_event(e, feed, &fd), SL_OK);
	assert_int_equal(sl_tracker_run(t, NULL), SL_OK);
	finder f = {.s = &s, .object = "echelon", .e = e};
	assert_int_equal(sl_engine_each_event(e, count_event, &f), SL_OK);
	assert_int_equal(sl_tracker_each_track(t, find_best, &f), SL_OK);
	const sl_track *tr = &f.best;
	printf("%s: Baranavichy-Orsha: %zu of %zu reports in one track of %zu events "
	       "(%zu tracks in all), %s (%.2f), Ukraine %+.0f km, Russia %+.0f km, "
	       "last seen %.3f %.3f, crossing ahead: %d %.0f km at %.3f %.3f\n",
	       where, f.best_reports, f.total, tr->n_events, sl_tracker_track_count(t),
	       sl_direction_name(tr->direction), tr->direction_confidence,
	       tr->ukraine_change_m / 1e3, tr->russia_change_m / 1e3, tr->last_lat,
	       tr->last_lon, tr->crossing_country, tr->crossing_distance_m / 1e3,
	       tr->crossing_lat, tr->crossing_lon);
	assert_true(f.total >= 10);
	if (f.best_reports != f.total || sl_tracker_track_count(t) != 1)
		fail_msg("the train is %zu tracks; its best holds %zu of %zu reports",
			 sl_tracker_track_count(t), f.best_reports, f.total);
	assert_int_equal(tr->direction, SL_DIR_AWAY_FROM_UKRAINE);
	assert_true(tr->toward_russia);
	assert_true(tr->ukraine_change_m > 50e3 && tr->russia_change_m < -100e3);
	assert_true(tr->direction_confidence > 0.5);
	assert_true(tr->has_crossing && tr->crossing_country == SL_COUNTRY_RUSSIA);
	assert_int_equal(tr->items[0].type, SL_EQ_TANK);
	assert_true(tr->items[0].count_min <= 24 && tr->items[0].count_max >= 24);
	free(f.ev_ids);
	free(f.ev_count_obj);
	sl_tracker_free(t);
	sl_engine_free(e);
	simrun_free(&s);
	sl_sim_objects_free(objs);
}

static void test_baranavichy_orsha(void **state)
{
	(void)state;
	const char *atlas = getenv("WORLD_ATLAS");
	sl_borders *b = NULL;
	sl_problems why = {0};
	if (!atlas || sl_borders_load_file(atlas, &b, &why) != SL_OK) {
		printf("skip: WORLD_ATLAS (node_modules/world-atlas) is not there\n");
		skip();
	}
	sl_network *net;
	sl_stations *st;
	assert_int_equal(sl_network_generate(1, NULL, &net, &st), SL_OK);
	baranavichy_orsha(net, st, b, "generated network");
	sl_network_free(net);
	sl_stations_free(st);
	const char *rail = shared("geo/region-rail.geojson");
	const char *stations = shared("geo/belarus-stations.tsv");
	if (rail && stations) {
		assert_int_equal(sl_network_load_file(rail, NULL, &net, &why), SL_OK);
		assert_int_equal(sl_stations_load_file(stations, &st, &why), SL_OK);
		baranavichy_orsha(net, st, b, "region network");
		sl_network_free(net);
		sl_stations_free(st);
	}
	sl_borders_free(b);
}

static void test_bad_arguments(void **state)
{
	(void)state;
	sl_track_params p;
	sl_track_params_default(&p);
	sl_tracker *t;
	p.step_s = 10;
	assert_int_equal(sl_tracker_new(&p, NULL, NULL, NULL, &t), SL_EINVAL);
	sl_track_params_default(&p);
	p.motion[SL_CAT_RAIL_TRANSPORT].max_speed_kmh = 0;
	assert_int_equal(sl_tracker_new(&p, NULL, NULL, NULL, &t), SL_EINVAL);
	sl_track_params_default(&p);
	p.birth_cost = -1;
	assert_int_equal(sl_tracker_new(&p, NULL, NULL, NULL, &t), SL_EINVAL);
	assert_int_equal(sl_tracker_new(NULL, NULL, NULL, NULL, NULL), SL_EINVAL);
	assert_int_equal(sl_tracker_new(NULL, NULL, NULL, NULL, &t), SL_OK);
	sl_event e = event_of(&(mk){0, T0, 54, 28, -1, SL_EQ_TANK, 3});
	assert_int_equal(sl_tracker_put(t, &e), SL_EINVAL);
	assert_int_equal(sl_tracker_put(t, NULL), SL_EINVAL);
	/* An event of an untracked kind, or without a point, is kept out. */
	e = event_of(&(mk){5, T0, 54, 28, -1, SL_EQ_TANK, 3});
	e.category = SL_CAT_FORTIFICATION;
	assert_int_equal(sl_tracker_put(t, &e), SL_OK);
	e = event_of(&(mk){6, T0, 54, 28, -1, SL_EQ_TANK, 3});
	e.has_point = false;
	assert_int_equal(sl_tracker_put(t, &e), SL_OK);
	assert_int_equal(sl_tracker_run(t, NULL), SL_OK);
	int64_t key;
	assert_int_equal(sl_tracker_track_of(t, 5, &key, NULL), SL_ENOTFOUND);
	assert_int_equal(sl_tracker_track_of(t, 6, &key, NULL), SL_ENOTFOUND);
	assert_int_equal(sl_tracker_track_of(t, 7, &key, NULL), SL_ENOTFOUND);
	assert_int_equal(sl_tracker_track_count(t), 0);
	assert_int_equal(sl_tracker_remove(t, 12345), SL_OK);
	sl_tracker_free(t);
}

/* ---- on a store ---- */

static char dir[256];

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/sl-test-track-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	teststore_drop(dir);
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

static sl_report report_at(int64_t t, double lat, double lon, int tanks, char *ref)
{
	static sl_equipment eq[64];
	static size_t k;
	sl_report r;
	memset(&r, 0, sizeof(r));
	r.category = SL_CAT_RAIL_TRANSPORT;
	r.observed_at = t;
	r.location = (sl_location){true, lat, lon, 300, NULL};
	sl_equipment *e = &eq[k++ % 64];
	*e = (sl_equipment){SL_EQ_TANK, NULL, tanks, 0};
	r.equipment = e;
	r.n_equipment = 1;
	r.has_heading = true;
	r.heading_deg = 90;
	r.ref = ref;
	r.status = SL_STATUS_RECEIVED;
	r.received_at = t + 600;
	return r;
}

static void put_reports(sl_store *s, sl_report *r, size_t n)
{
	sl_report *ptr[16];
	sl_put_result res[16];
	for (size_t i = 0; i < n; i++)
		ptr[i] = &r[i];
	assert_int_equal(sl_store_put_reports(s, ptr, n, res), SL_OK);
}

static void catch_up(sl_store *s)
{
	bool ran;
	assert_int_equal(sl_engine_catch_up(s, T0 + 86400, &ran), SL_OK);
	assert_true(ran);
	assert_int_equal(sl_tracker_catch_up(s, NULL, T0 + 86400), SL_OK);
}

static size_t read_tracks(sl_store *s, sl_arena *a, sl_track **out)
{
	sl_track_filter f = {.ascending = true,
			     .with_route = true,
			     .with_refs = true,
			     .limit = SL_TRACKS_MAX};
	size_t n;
	sl_arena_reset(a);
	assert_int_equal(sl_store_find_tracks(s, &f, a, out, &n), SL_OK);
	return n;
}

static void test_store_round_trip(void **state)
{
	(void)state;
	sl_store *s;
	assert_int_equal(teststore_open(dir, &s), SL_OK);
	/* A train east along 54 N, seen twice at each of three stations. */
	char refs[8][8];
	sl_report r[8];
	for (int k = 0; k < 3; k++)
		for (int j = 0; j < 2; j++) {
			snprintf(refs[2 * k + j], sizeof(refs[0]), "r%d%d", k, j);
			r[2 * k + j] =
			    report_at(T0 + k * 900 + j * 60, 54.0 + j * 0.001,
				      27.5 + 0.25 * k, 20 + j, refs[2 * k + j]);
		}
	put_reports(s, r, 6);
	catch_up(s);
	sl_arena *a = sl_arena_new(1 << 20);
	sl_track *tr;
	size_t n = read_tracks(s, a, &tr);
	assert_int_equal(n, 1);
	int64_t id = tr[0].id;
	assert_int_equal(tr[0].n_events, 3);
	assert_int_equal(tr[0].n_reports, 6);
	assert_int_equal(tr[0].n_refs, 6);
	assert_string_equal(tr[0].refs[tr[0].ref_start[0]], "r00");
	assert_string_equal(tr[0].refs[tr[0].ref_start[2] + 1], "r21");
	assert_true(tr[0].t_first < tr[0].t_last);
	assert_true(tr[0].n_route >= 2 && tr[0].length_m > 30000);
	assert_true(tr[0].has_heading && fabs(tr[0].heading_deg - 90) < 5);
	assert_int_equal(tr[0].n_items, 1);
	assert_int_equal(tr[0].items[0].type, SL_EQ_TANK);
	/* Again: the same track, the same id, nothing written twice. */
	catch_up(s);
	n = read_tracks(s, a, &tr);
	assert_int_equal(n, 1);
	assert_int_equal(tr[0].id, id);
	/* The train seen at a fourth station: the track grows, its id kept. */
	char ref4[] = "r30";
	sl_report more = report_at(T0 + 3 * 900, 54.0, 28.25, 20, ref4);
	put_reports(s, &more, 1);
	catch_up(s);
	n = read_tracks(s, a, &tr);
	assert_int_equal(n, 1);
	assert_int_equal(tr[0].id, id);
	assert_int_equal(tr[0].n_events, 4);
	/* Every field a track has goes in and out as it was. */
	static const double lat[] = {54.1, 54.2, 54.3}, lon[] = {27.1, 27.2, 27.3};
	sl_event_item items[] = {{SL_EQ_IFV, 30, 25, 36}, {SL_EQ_TRUCK, 8, 6, 9}};
	int64_t evs[] = {tr[0].event_ids[0]};
	sl_track mine = {.category = SL_CAT_ROAD_CONVOY,
			 .t_first = T0,
			 .t_last = T0 + 3600,
			 .first_lat = 54.1,
			 .first_lon = 27.1,
			 .last_lat = 54.3,
			 .last_lon = 27.3,
			 .has_heading = true,
			 .heading_deg = 45,
			 .length_m = 25000,
			 .confidence = 0.8,
			 .may_continue = true,
			 .direction = SL_DIR_TOWARD_RUSSIA,
			 .direction_confidence = 0.4,
			 .ukraine_change_m = -5000,
			 .russia_change_m = -20000,
			 .toward_russia = true,
			 .has_crossing = true,
			 .crossing_country = SL_COUNTRY_RUSSIA,
			 .crossing_lat = 54.6,
			 .crossing_lon = 31.0,
			 .crossing_distance_m = 120000,
			 .crossing_name = "Осиновка",
			 .n_items = 2,
			 .items = items,
			 .n_events = 1,
			 .event_ids = evs,
			 .n_reports = 2,
			 .n_route = 3,
			 .route_lat = lat,
			 .route_lon = lon};
	sl_tracks_save sv = {.n_tracks = 1, .tracks = &mine, .now = T0};
	assert_int_equal(sl_store_tracks_save(s, &sv), SL_OK);
	assert_true(mine.id > id);
	sl_track_filter f = {.id = mine.id, .limit = 1, .with_route = true};
	sl_arena_reset(a);
	assert_int_equal(sl_store_find_tracks(s, &f, a, &tr, &n), SL_OK);
	assert_int_equal(n, 1);
	sl_track *g = &tr[0];
	assert_int_equal(g->category, SL_CAT_ROAD_CONVOY);
	assert_int_equal(g->direction, SL_DIR_TOWARD_RUSSIA);
	assert_true(g->may_continue && g->toward_russia && g->has_crossing &&
		    g->has_heading);
	assert_int_equal(g->crossing_country, SL_COUNTRY_RUSSIA);
	assert_string_equal(g->crossing_name, "Осиновка");
	assert_true(g->crossing_distance_m == 120000 && g->ukraine_change_m == -5000);
	assert_int_equal(g->n_items, 2);
	assert_int_equal(g->items[1].count_max, 9);
	assert_int_equal(g->n_route, 3);
	assert_true(fabs(g->route_lat[2] - 54.3) < 1e-6 &&
		    fabs(g->route_lon[1] - 27.2) < 1e-6);
	assert_int_equal(g->n_events, 1);
	/* By direction, and deleted. */
	f = (sl_track_filter){
	    .has_direction = true, .direction = SL_DIR_TOWARD_RUSSIA, .limit = 10};
	sl_arena_reset(a);
	assert_int_equal(sl_store_find_tracks(s, &f, a, &tr, &n), SL_OK);
	assert_int_equal(n, 1);
	int64_t del[] = {mine.id};
	sv = (sl_tracks_save){.n_deleted = 1, .deleted = del, .now = T0};
	assert_int_equal(sl_store_tracks_save(s, &sv), SL_OK);
	n = read_tracks(s, a, &tr);
	assert_int_equal(n, 1);
	/* Bad saves are refused before the store is touched. */
	mine.id = 0;
	mine.direction = SL_DIR_COUNT;
	sv = (sl_tracks_save){.n_tracks = 1, .tracks = &mine};
	assert_int_equal(sl_store_tracks_save(s, &sv), SL_EINVAL);
	sl_arena_free(a);
	sl_store_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_min_cost_beats_greedy),
	    cmocka_unit_test(test_min_cost_is_optimal),
	    cmocka_unit_test(test_junction_not_swapped),
	    cmocka_unit_test(test_gates),
	    cmocka_unit_test(test_incremental_is_batch),
	    cmocka_unit_test(test_baranavichy_orsha),
	    cmocka_unit_test(test_bad_arguments),
	    cmocka_unit_test_setup_teardown(test_store_round_trip, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
