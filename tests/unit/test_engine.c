/*
 * test_engine.c — corroboration (src/engine/): reports into events.
 *
 * The first half drives an engine in memory: one train seen by five people
 * at one station is one event with a robust estimate; the same train at
 * the next station, a train going the other way, another category, a
 * report far off are other events; a report between two events merges
 * them; an edited or rejected report leaves its event; the confidence
 * follows the number, grades and agreement of reports.
 *
 * The second half attaches the engine to a real SQLite store in a fresh
 * directory: events are saved and rebuilt on reload, new reports are
 * placed incrementally, and moderators' decisions (their events, attach,
 * detach, merge, split) are never undone by the engine, across reloads.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sightline/engine.h"
#include "sightline/geo.h"
#include "sightline/store.h"

#include "teststore.h"

#define T0 1665390600 /* 2022-10-10T08:30:00Z */
#define ORSHA_LAT 54.5095
#define ORSHA_LON 30.4233

/* ---- building reports ---- */

typedef struct spec {
	int64_t id;
	sl_category cat;
	int64_t t;	 /* observed_at */
	int64_t until;	 /* 0: none */
	double lat, lon; /* both 0: no point */
	double unc;
	double heading; /* < 0: none */
	int tanks;	/* 0: no equipment */
	int trucks;
	int ifvs;
	char rel;
	int cred;
	sl_report_status status;
	size_t photos;
} spec;

static sl_equipment eqbuf[4];

static sl_queue_item item_of(const spec *s)
{
	sl_queue_item it;
	memset(&it, 0, sizeof(it));
	sl_report *r = &it.report;
	r->id = s->id;
	r->category = s->cat;
	r->observed_at = s->t;
	if (s->until) {
		r->has_until = true;
		r->observed_until = s->until;
	}
	if (s->lat != 0 || s->lon != 0) {
		r->location.has_point = true;
		r->location.lat = s->lat;
		r->location.lon = s->lon;
		r->location.uncertainty_m = s->unc > 0 ? s->unc : 300;
	}
	if (s->heading >= 0) {
		r->has_heading = true;
		r->heading_deg = s->heading;
	}
	size_t n = 0;
	if (s->tanks)
		eqbuf[n++] = (sl_equipment){.type = SL_EQ_TANK, .count = s->tanks};
	if (s->trucks)
		eqbuf[n++] = (sl_equipment){.type = SL_EQ_TRUCK, .count = s->trucks};
	if (s->ifvs)
		eqbuf[n++] = (sl_equipment){.type = SL_EQ_IFV, .count = s->ifvs};
	r->equipment = eqbuf;
	r->n_equipment = n;
	r->status = s->status;
	it.review.reliability = s->rel;
	it.review.credibility = s->cred;
	it.n_photos = s->photos;
	return it;
}

/* A rail report near Orsha: dx, dy metres east and north, dt seconds. */
static spec rail(int64_t id, double dx, double dy, int64_t dt, int tanks)
{
	sl_geo_frame f = sl_geo_local(ORSHA_LAT, ORSHA_LON);
	spec s = {.id = id,
		  .cat = SL_CAT_RAIL_TRANSPORT,
		  .t = T0 + dt,
		  .unc = 300,
		  .heading = 45,
		  .tanks = tanks};
	sl_geo_from_xy(&f, dx, dy, &s.lat, &s.lon);
	return s;
}

static void add(sl_engine *e, spec s)
{
	sl_queue_item it = item_of(&s);
	sl_err err = sl_engine_add(e, &it);
	if (err != SL_OK)
		fail_msg("add report %lld: %s", (long long)s.id, sl_strerror(err));
}

static int64_t event_of(sl_engine *e, int64_t id)
{
	int64_t key;
	assert_int_equal(sl_engine_event_of(e, id, &key), SL_OK);
	return key;
}

static void same_event(sl_engine *e, int64_t a, int64_t b)
{
	int64_t ea = event_of(e, a), eb = event_of(e, b);
	if (ea == 0 || ea != eb)
		fail_msg("reports %lld and %lld: events %lld and %lld, want one",
			 (long long)a, (long long)b, (long long)ea, (long long)eb);
}

static void other_events(sl_engine *e, int64_t a, int64_t b)
{
	int64_t ea = event_of(e, a), eb = event_of(e, b);
	if (ea == 0 || eb == 0 || ea == eb)
		fail_msg("reports %lld and %lld: events %lld and %lld, want two",
			 (long long)a, (long long)b, (long long)ea, (long long)eb);
}

/* The estimate of the event that holds report id. */
typedef struct found {
	int64_t report;
	sl_event ev;
	sl_event_item items[SL_EQ_COUNT];
	size_t n_reports;
	bool seen;
} found;

static sl_err find_visit(void *ud, const sl_event *ev)
{
	found *f = ud;
	for (size_t i = 0; i < ev->n_reports; i++)
		if (ev->report_ids[i] == f->report) {
			f->ev = *ev;
			memcpy(f->items, ev->items, ev->n_items * sizeof(*ev->items));
			f->ev.items = f->items;
			f->n_reports = ev->n_reports;
			f->ev.report_ids = NULL;
			f->seen = true;
		}
	return SL_OK;
}

static found estimate_of(sl_engine *e, int64_t report)
{
	found f = {.report = report};
	assert_int_equal(sl_engine_each_event(e, find_visit, &f), SL_OK);
	if (!f.seen)
		fail_msg("report %lld is in no event", (long long)report);
	return f;
}

static sl_engine *fresh(void)
{
	sl_engine *e;
	assert_int_equal(sl_engine_new(NULL, &e), SL_OK);
	return e;
}

/* ---- in memory ---- */

/* Five people at Orsha see one train within four minutes and 400 m and
 * count 11 to 13 tanks: one event. A sixth counts 120 (a wild count, ten
 * times the others): more than miscounting, so not this train. */
static void test_one_passage_one_event(void **state)
{
	(void)state;
	sl_engine *e = fresh();
	add(e, rail(1, 0, 0, 0, 12));
	add(e, rail(2, 150, 120, 60, 12));
	add(e, rail(3, -200, -100, 180, 13));
	add(e, rail(4, 80, -250, 240, 11));
	add(e, rail(5, 300, 200, 120, 13));
	add(e, rail(6, 100, 100, 150, 120));
	for (int64_t i = 2; i <= 5; i++)
		same_event(e, 1, i);
	other_events(e, 1, 6);
	assert_int_equal(sl_engine_event_count(e), 2);
	found f = estimate_of(e, 3);
	assert_int_equal(f.n_reports, 5);
	double d = sl_geo_distance_m(f.ev.lat, f.ev.lon, ORSHA_LAT, ORSHA_LON);
	if (d > 200)
		fail_msg("centroid %.0f m from the station, want < 200", d);
	if (f.ev.uncertainty_m <= 0 || f.ev.uncertainty_m > 300)
		fail_msg("uncertainty %.0f m, want 0..300", f.ev.uncertainty_m);
	assert_int_equal(f.ev.t_start, T0);
	assert_int_equal(f.ev.t_end, T0 + 240);
	assert_int_equal(f.ev.n_items, 1);
	assert_int_equal(f.ev.items[0].type, SL_EQ_TANK);
	if (f.ev.items[0].count != 12 || f.ev.items[0].count_min != 11 ||
	    f.ev.items[0].count_max != 13)
		fail_msg("tanks %d (%d..%d), want 12 (11..13)", f.ev.items[0].count,
			 f.ev.items[0].count_min, f.ev.items[0].count_max);
	assert_true(f.ev.has_heading);
	if (sl_geo_angle_diff(f.ev.heading_deg, 45) > 1)
		fail_msg("heading %.1f, want 45", f.ev.heading_deg);
	sl_engine_free(e);
}

/* Equipment tells trains apart at one station and one time: trucks
 * against tanks, 12 tanks against 30; tanks taken for IFVs in the same
 * number are still the same train. */
static void test_equipment_separates(void **state)
{
	(void)state;
	sl_engine *e = fresh();
	add(e, rail(1, 0, 0, 0, 12));
	spec art = rail(2, 50, 0, 60, 0);
	art.trucks = 20;
	add(e, art);
	add(e, rail(3, -50, 0, 90, 30));
	spec ifv = rail(4, 20, 20, 30, 0);
	ifv.ifvs = 12;
	add(e, ifv);
	other_events(e, 1, 2);
	other_events(e, 1, 3);
	same_event(e, 1, 4);
	sl_engine_free(e);
}

/* The same train at the next station 20 km on, 25 minutes later, is
 * another event; so is a train going the other way at the same time, and
 * a helicopter over the station. */
static void test_separate_occurrences(void **state)
{
	(void)state;
	sl_engine *e = fresh();
	add(e, rail(1, 0, 0, 0, 12));
	add(e, rail(2, 100, 50, 60, 12));
	add(e, rail(3, 14000, 14000, 25 * 60, 12));
	add(e, rail(4, 14100, 13900, 26 * 60, 12));
	spec back = rail(5, 50, 0, 90, 12);
	back.heading = 225;
	add(e, back);
	spec heli = rail(6, 0, 0, 60, 0);
	heli.cat = SL_CAT_HELICOPTER;
	add(e, heli);
	spec later = rail(7, 0, 0, 3 * 3600, 12);
	add(e, later);
	same_event(e, 1, 2);
	same_event(e, 3, 4);
	other_events(e, 1, 3);
	other_events(e, 1, 5);
	other_events(e, 1, 6);
	other_events(e, 1, 7);
	assert_int_equal(sl_engine_event_count(e), 5);
	sl_engine_free(e);
}

/* Two sightings 900 m apart along the line are two events until a report
 * between them, fitting both, bridges them. */
static void test_bridge_merges(void **state)
{
	(void)state;
	sl_engine *e = fresh();
	add(e, rail(1, 0, 0, 0, 10));
	add(e, rail(2, 900, 0, 120, 10));
	other_events(e, 1, 2);
	add(e, rail(3, 450, 0, 60, 10));
	same_event(e, 1, 2);
	same_event(e, 1, 3);
	assert_int_equal(sl_engine_event_count(e), 1);
	sl_engine_free(e);
}

/* A report moved by an edit leaves its event; a rejected one too, and an
 * event left with no report is gone. A report without a point is kept but
 * in no event. */
static void test_updates(void **state)
{
	(void)state;
	sl_engine *e = fresh();
	add(e, rail(1, 0, 0, 0, 10));
	add(e, rail(2, 100, 0, 60, 10));
	same_event(e, 1, 2);
	add(e, rail(2, 30000, 0, 60, 10)); /* edited: 30 km east */
	other_events(e, 1, 2);
	spec rej = rail(2, 30000, 0, 60, 10);
	rej.status = SL_STATUS_REJECTED;
	add(e, rej);
	assert_int_equal(event_of(e, 2), 0);
	assert_int_equal(sl_engine_event_count(e), 1);
	spec nowhere = {.id = 9, .cat = SL_CAT_TROOPS, .t = T0, .heading = -1};
	add(e, nowhere);
	assert_int_equal(event_of(e, 9), 0);
	assert_int_equal(sl_engine_report_count(e), 3);
	int64_t key;
	assert_int_equal(sl_engine_event_of(e, 12345, &key), SL_ENOTFOUND);
	sl_engine_free(e);
}

/* Confidence: one ungraded report 0.35; five that agree much more; grades
 * B2 above ungraded; a verified report 0.9 at least; the same report sent
 * twice counts once. */
static void test_confidence(void **state)
{
	(void)state;
	sl_engine *e = fresh();
	add(e, rail(1, 0, 0, 0, 10));
	double one = estimate_of(e, 1).ev.confidence;
	if (fabs(one - 0.35) > 1e-9)
		fail_msg("one ungraded report: %.3f, want 0.35", one);
	add(e, rail(2, 0, 0, 0, 10)); /* the very same again: a duplicate */
	double dup = estimate_of(e, 1).ev.confidence;
	if (fabs(dup - one) > 1e-9)
		fail_msg("a duplicate raised confidence to %.3f from %.3f", dup, one);
	for (int i = 3; i <= 6; i++)
		add(e, rail(i, 40.0 * i, -30.0 * i, 30 * i, 10 + i % 2));
	double five = estimate_of(e, 1).ev.confidence;
	if (five < 0.8)
		fail_msg("five agreeing reports: %.3f, want >= 0.8", five);

	sl_engine *g = fresh();
	spec b2 = rail(1, 0, 0, 0, 10);
	b2.rel = 'B', b2.cred = 2;
	add(g, b2);
	double graded = estimate_of(g, 1).ev.confidence;
	if (graded <= one)
		fail_msg("B2: %.3f, want above ungraded %.3f", graded, one);
	spec ver = rail(2, 10000, 0, 0, 10);
	ver.status = SL_STATUS_VERIFIED;
	add(g, ver);
	if (estimate_of(g, 2).ev.confidence < 0.9)
		fail_msg("verified: %.3f, want >= 0.9", estimate_of(g, 2).ev.confidence);
	spec e5 = rail(3, 20000, 0, 0, 10);
	e5.rel = 'E', e5.cred = 5;
	add(g, e5);
	if (estimate_of(g, 3).ev.confidence >= one)
		fail_msg("E5: %.3f, want below ungraded",
			 estimate_of(g, 3).ev.confidence);
	/* Disagreeing counts lower the confidence of as many reports. */
	sl_engine *h = fresh();
	add(h, rail(1, 0, 0, 0, 10));
	add(h, rail(2, 50, 0, 30, 40));
	add(h, rail(3, 0, 60, 60, 3));
	add(h, rail(4, 60, 60, 90, 25));
	add(h, rail(5, 20, 20, 20, 8));
	double messy = estimate_of(h, 1).ev.confidence;
	if (messy >= five)
		fail_msg("disagreeing counts: %.3f, want below agreeing %.3f", messy,
			 five);
	/* Photos: one ungraded report with one is worth 1 - 0.65 x 0.7. */
	sl_engine *ph = fresh();
	spec pic = rail(1, 0, 0, 0, 10);
	pic.photos = 1;
	add(ph, pic);
	double photo = estimate_of(ph, 1).ev.confidence;
	if (fabs(photo - (1 - 0.65 * 0.7)) > 1e-6)
		fail_msg("one ungraded report with a photo: %.3f, want %.3f", photo,
			 1 - 0.65 * 0.7);
	/* Types: six count tanks and one IFVs (often confused: one event): less sure
	 * than seven who all count tanks. */
	sl_engine *ta = fresh(), *tb = fresh();
	for (int i = 1; i <= 7; i++) {
		spec r = rail(i, 30.0 * i, -20.0 * i, 20 * i, 10);
		add(ta, r);
		if (i == 7)
			r.tanks = 0, r.ifvs = 10;
		add(tb, r);
	}
	found same = estimate_of(ta, 1), mixed = estimate_of(tb, 1);
	if (same.n_reports != 7 || mixed.n_reports != 7)
		fail_msg("seven reports in one event: %zu and %zu", same.n_reports,
			 mixed.n_reports);
	if (!(mixed.ev.confidence < same.ev.confidence - 0.01))
		fail_msg("a report of other types: %.3f, want below all agreeing %.3f",
			 mixed.ev.confidence, same.ev.confidence);
	sl_engine_free(e);
	sl_engine_free(g);
	sl_engine_free(h);
	sl_engine_free(ph);
	sl_engine_free(ta);
	sl_engine_free(tb);
}

/* Take-off watchers stand around an airfield, kilometres apart: one event.
 * A whole-day window (an import with only a date) still fits a static
 * category. */
static void test_categories(void **state)
{
	(void)state;
	sl_engine *e = fresh();
	const double lat = 53.6, lon = 27.3; /* Machulishchy */
	spec a = {.id = 1,
		  .cat = SL_CAT_AIRCRAFT,
		  .t = T0,
		  .lat = lat,
		  .lon = lon,
		  .unc = 1000,
		  .heading = -1};
	spec b = a, c = a;
	b.id = 2, b.lat += 0.02, b.t += 120;
	c.id = 3, c.lon -= 0.04, c.t += 240;
	add(e, a);
	add(e, b);
	add(e, c);
	same_event(e, 1, 2);
	same_event(e, 1, 3);
	spec day = {.id = 4,
		    .cat = SL_CAT_TROOPS,
		    .t = T0 - 30000,
		    .until = T0 + 50000,
		    .lat = lat + 0.5,
		    .lon = lon,
		    .unc = 2000,
		    .heading = -1};
	spec seen = day;
	seen.id = 5, seen.t = T0, seen.until = 0, seen.lat += 0.01;
	add(e, day);
	add(e, seen);
	same_event(e, 4, 5);
	sl_engine_free(e);
}

static void test_bad_arguments(void **state)
{
	(void)state;
	sl_engine *e;
	sl_engine_params p;
	sl_engine_params_default(&p);
	p.gate[SL_CAT_NAVAL].gap_s = 0;
	assert_int_equal(sl_engine_new(&p, &e), SL_EINVAL);
	sl_engine_params_default(&p);
	p.sigmas = -1;
	assert_int_equal(sl_engine_new(&p, &e), SL_EINVAL);
	e = fresh();
	spec s = rail(0, 0, 0, 0, 1); /* id 0 */
	sl_queue_item it = item_of(&s);
	assert_int_equal(sl_engine_add(e, &it), SL_EINVAL);
	s.id = 1;
	it = item_of(&s);
	it.report.category = SL_CAT_COUNT;
	assert_int_equal(sl_engine_add(e, &it), SL_EINVAL);
	assert_int_equal(sl_engine_add(e, NULL), SL_EINVAL);
	assert_int_equal(sl_engine_load(e, NULL, 0), SL_EINVAL);
	assert_int_equal(sl_engine_sync(e, 0, NULL), SL_EINVAL);
	assert_int_equal(sl_engine_report_count(e), 0);
	sl_engine_free(e);
	sl_engine_free(NULL);
}

/* ---- on a store ---- */

typedef struct fixture {
	char root[64];
	char dir[96];
	sl_store *s;
	int64_t mod; /* a moderator's id */
} fixture;

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	strcpy(f->root, "/tmp/sl-test-engine-XXXXXX");
	assert_non_null(mkdtemp(f->root));
	snprintf(f->dir, sizeof(f->dir), "%s/data", f->root);
	assert_int_equal(teststore_open(f->dir, &f->s), SL_OK);
	sl_moderator m;
	memset(&m, 0, sizeof(m));
	snprintf(m.name, sizeof(m.name), "mia");
	m.created_at = T0;
	m.key.opslimit = 3;
	m.key.memlimit = (uint64_t)64 << 20;
	assert_int_equal(sl_store_add_moderator(f->s, &m), SL_OK);
	f->mod = m.id;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	sl_store_close(f->s);
	teststore_drop(f->dir);
	nftw(f->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* Stores the report of s; returns its id. */
static int64_t store_report(fixture *f, spec s)
{
	sl_queue_item it = item_of(&s);
	sl_report *r = &it.report;
	r->id = 0;
	r->received_at = T0;
	sl_report *list[] = {r};
	sl_put_result res;
	assert_int_equal(sl_store_put_reports(f->s, list, 1, &res), SL_OK);
	assert_int_equal(res, SL_PUT_INSERTED);
	return r->id;
}

/* Loads a new engine over the store, syncs and returns it. */
static sl_engine *attached(fixture *f)
{
	sl_engine *e = fresh();
	assert_int_equal(sl_engine_load(e, f->s, T0), SL_OK);
	assert_int_equal(sl_engine_sync(e, T0, NULL), SL_OK);
	return e;
}

/* The stored event report id is in, by the store's own links (0: none);
 * fails when it is in more than one. */
static int64_t stored_event(fixture *f, int64_t report)
{
	sl_arena *a = sl_arena_new(1 << 16);
	int64_t *ids;
	size_t n;
	assert_int_equal(sl_store_report_events(f->s, report, a, &ids, &n), SL_OK);
	int64_t id = n ? ids[0] : 0;
	if (n > 1)
		fail_msg("report %lld is in %zu events", (long long)report, n);
	sl_arena_free(a);
	return id;
}

static size_t stored_events(fixture *f, int origin)
{
	sl_arena *a = sl_arena_new(1 << 20);
	sl_event_filter flt = {
	    .limit = SL_EVENTS_MAX, .origin = origin, .min_reports = 1};
	sl_event *evs;
	size_t n;
	assert_int_equal(sl_store_find_events(f->s, &flt, a, &evs, &n), SL_OK);
	sl_arena_free(a);
	return n;
}

static void test_save_and_reload(void **state)
{
	fixture *f = *state;
	int64_t a = store_report(f, rail(0, 0, 0, 0, 12));
	int64_t b = store_report(f, rail(0, 100, 100, 60, 12));
	int64_t c = store_report(f, rail(0, 20000, 0, 1500, 12));
	sl_engine *e = attached(f);
	int64_t ea = stored_event(f, a);
	assert_true(ea > 0);
	assert_int_equal(stored_event(f, b), ea);
	assert_true(stored_event(f, c) > 0 && stored_event(f, c) != ea);
	assert_int_equal(stored_events(f, SL_ORIGIN_ENGINE), 2);
	/* The stored estimate. */
	sl_arena *ar = sl_arena_new(1 << 16);
	sl_event *evs;
	size_t n;
	assert_int_equal(sl_store_events(f->s, ea, 1, ar, &evs, &n), SL_OK);
	assert_int_equal(n, 1);
	assert_true(evs[0].has_estimate && evs[0].has_point);
	assert_int_equal(evs[0].n_reports, 2);
	assert_int_equal(evs[0].n_items, 1);
	assert_int_equal(evs[0].items[0].count, 12);
	assert_false(evs[0].by_moderator);
	sl_arena_free(ar);
	/* A new report joins incrementally; a second engine reloads the same
	 * state and changes nothing. */
	int64_t d = store_report(f, rail(0, -100, 50, 120, 12));
	size_t changed;
	assert_int_equal(sl_engine_sync(e, T0, &changed), SL_OK);
	assert_int_equal(changed, 1);
	assert_int_equal(stored_event(f, d), ea);
	assert_int_equal(sl_engine_sync(e, T0, &changed), SL_OK);
	assert_int_equal(changed, 0);
	sl_engine_free(e);
	e = attached(f);
	assert_int_equal(sl_engine_event_count(e), 2);
	assert_int_equal(stored_event(f, a), ea);
	sl_engine_free(e);
	/* The lock: one holder at a time. */
	bool ran;
	assert_int_equal(sl_engine_catch_up(f->s, T0, &ran), SL_OK);
	assert_true(ran);
	sl_store *other;
	assert_int_equal(teststore_open(f->dir, &other), SL_OK);
	assert_int_equal(sl_engine_catch_up(other, T0, &ran), SL_OK);
	assert_false(ran);
	sl_store_close(other);
}

/* What a moderator decides holds: a detached report never goes back, an
 * attached one stays where it was put, a merged or split event stays so,
 * through syncs and reloads. */
static void test_moderators_bind(void **state)
{
	fixture *f = *state;
	int64_t a = store_report(f, rail(0, 0, 0, 0, 12));
	int64_t b = store_report(f, rail(0, 100, 100, 60, 12));
	int64_t c = store_report(f, rail(0, -80, 40, 90, 12));
	sl_engine *e = attached(f);
	int64_t ev = stored_event(f, a);
	assert_int_equal(stored_event(f, c), ev);

	/* Detach c: it gets an event of its own, never ev again. */
	assert_int_equal(sl_store_event_detach(f->s, ev, c, f->mod, T0), SL_OK);
	assert_int_equal(sl_engine_sync(e, T0, NULL), SL_OK);
	int64_t ec = stored_event(f, c);
	assert_true(ec > 0 && ec != ev);
	sl_engine_free(e);
	e = attached(f);
	assert_int_equal(stored_event(f, c), ec);
	/* A new report that fits both stays out of merging them. */
	int64_t d = store_report(f, rail(0, -40, 20, 75, 12));
	assert_int_equal(sl_engine_sync(e, T0, NULL), SL_OK);
	assert_true(stored_event(f, c) != ev);
	assert_true(stored_event(f, d) > 0);

	/* A moderator's own event of b: the engine takes b out of ev and
	 * leaves it there, however well it fits ev. */
	sl_event mine = {.has_category = true,
			 .category = SL_CAT_RAIL_TRANSPORT,
			 .created_at = T0,
			 .created_by = f->mod,
			 .n_reports = 1,
			 .report_ids = &b};
	assert_int_equal(sl_store_event_create(f->s, &mine), SL_OK);
	assert_int_equal(sl_engine_sync(e, T0, NULL), SL_OK);
	assert_int_equal(stored_event(f, b), mine.id);
	/* ev is the moderator's too since the detach. */
	assert_int_equal(stored_events(f, SL_ORIGIN_MODERATOR), 2);

	/* Merge ev into the moderator's event; split a back out. */
	int64_t keep = stored_event(f, a);
	assert_int_equal(sl_store_event_merge(f->s, mine.id, keep, f->mod, T0), SL_OK);
	assert_int_equal(sl_engine_sync(e, T0, NULL), SL_OK);
	assert_int_equal(stored_event(f, a), mine.id);
	int64_t split = 0;
	assert_int_equal(sl_store_event_split(f->s, mine.id, &a, 1, f->mod, T0, &split),
			 SL_OK);
	assert_int_equal(sl_engine_sync(e, T0, NULL), SL_OK);
	assert_int_equal(stored_event(f, a), split);
	assert_int_equal(stored_event(f, b), mine.id);
	sl_engine_free(e);
	e = attached(f);
	assert_int_equal(stored_event(f, a), split);
	assert_int_equal(stored_event(f, b), mine.id);
	assert_int_equal(stored_events(f, SL_ORIGIN_MODERATOR), 2);
	/* Splitting every report out, or one not in the event, is refused. */
	int64_t all[] = {a};
	assert_int_equal(sl_store_event_split(f->s, split, all, 1, f->mod, T0, &split),
			 SL_EVALID);
	assert_int_equal(sl_store_event_split(f->s, mine.id, &c, 1, f->mod, T0, &split),
			 SL_EVALID);
	assert_int_equal(sl_store_event_merge(f->s, mine.id, mine.id, f->mod, T0),
			 SL_EINVAL);
	assert_int_equal(sl_store_event_merge(f->s, mine.id, 999999, f->mod, T0),
			 SL_ENOTFOUND);
	/* A rejected report leaves the engine's event; the moderators' stay. */
	assert_int_equal(
	    sl_store_set_status(f->s, d, SL_STATUS_REJECTED, "wrong", f->mod, T0), SL_OK);
	assert_int_equal(sl_engine_sync(e, T0, NULL), SL_OK);
	assert_int_equal(stored_event(f, d), 0);
	sl_engine_free(e);
}

/* A moderator's event of three reports, one of them counting 120 tanks
 * against 12 and 13: the estimate is not moved by the wild count. */
static void test_estimate_robust(void **state)
{
	fixture *f = *state;
	int64_t ids[3] = {store_report(f, rail(0, 0, 0, 0, 12)),
			  store_report(f, rail(0, 100, 0, 60, 13)),
			  store_report(f, rail(0, 50, 50, 30, 120))};
	sl_event mine = {.has_category = true,
			 .category = SL_CAT_RAIL_TRANSPORT,
			 .created_at = T0,
			 .created_by = f->mod,
			 .n_reports = 3,
			 .report_ids = ids};
	assert_int_equal(sl_store_event_create(f->s, &mine), SL_OK);
	sl_engine *e = attached(f);
	sl_arena *a = sl_arena_new(1 << 16);
	sl_event *evs;
	size_t n;
	assert_int_equal(sl_store_events(f->s, mine.id, 1, a, &evs, &n), SL_OK);
	assert_int_equal(n, 1);
	assert_int_equal(evs[0].n_reports, 3);
	assert_int_equal(evs[0].n_items, 1);
	const sl_event_item *it = &evs[0].items[0];
	if (it->count != 13 || it->count_min != 12 || it->count_max != 13)
		fail_msg(
		    "tanks %d (%d..%d), want 13 (12..13): one wild count must not count",
		    it->count, it->count_min, it->count_max);
	sl_arena_free(a);
	sl_engine_free(e);
}

/* Grading and verifying change how sure an event is, not which event a
 * report is in: the event keeps its id (the public side names events by
 * it) and gains confidence. */
static void test_grade_keeps_event(void **state)
{
	fixture *f = *state;
	int64_t a = store_report(f, rail(0, 0, 0, 0, 12));
	int64_t b = store_report(f, rail(0, 100, 50, 60, 12));
	sl_engine *e = attached(f);
	int64_t ev = stored_event(f, a);
	assert_int_equal(stored_event(f, b), ev);
	sl_arena *ar = sl_arena_new(1 << 16);
	sl_event *evs;
	size_t n;
	assert_int_equal(sl_store_events(f->s, ev, 1, ar, &evs, &n), SL_OK);
	double before = evs[0].confidence;
	assert_int_equal(sl_store_set_grade(f->s, a, 'B', 2), SL_OK);
	assert_int_equal(
	    sl_store_set_status(f->s, b, SL_STATUS_VERIFIED, NULL, f->mod, T0), SL_OK);
	assert_int_equal(sl_engine_sync(e, T0, NULL), SL_OK);
	assert_int_equal(stored_event(f, a), ev);
	assert_int_equal(stored_event(f, b), ev);
	sl_arena_reset(ar);
	assert_int_equal(sl_store_events(f->s, ev, 1, ar, &evs, &n), SL_OK);
	assert_int_equal(n, 1);
	if (evs[0].confidence <= before || evs[0].confidence < 0.9)
		fail_msg("confidence %.3f after a grade and a verification (was %.3f)",
			 evs[0].confidence, before);
	sl_arena_free(ar);
	sl_engine_free(e);
}

/* An edit moves a report: the engine follows, in this process or after a
 * reload that finds the change unread. */
static void test_edit_moves(void **state)
{
	fixture *f = *state;
	int64_t a = store_report(f, rail(0, 0, 0, 0, 12));
	int64_t b = store_report(f, rail(0, 100, 0, 30, 12));
	sl_engine *e = attached(f);
	assert_int_equal(stored_event(f, a), stored_event(f, b));
	sl_engine_free(e);
	/* Edited with no engine running. */
	spec moved = rail(b, 50000, 0, 30, 12);
	sl_queue_item it = item_of(&moved);
	assert_int_equal(sl_store_update_report(f->s, &it.report), SL_OK);
	e = attached(f);
	assert_true(stored_event(f, a) != stored_event(f, b));
	assert_true(stored_event(f, b) > 0);
	sl_engine_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_one_passage_one_event),
	    cmocka_unit_test(test_equipment_separates),
	    cmocka_unit_test(test_separate_occurrences),
	    cmocka_unit_test(test_bridge_merges),
	    cmocka_unit_test(test_updates),
	    cmocka_unit_test(test_confidence),
	    cmocka_unit_test(test_categories),
	    cmocka_unit_test(test_bad_arguments),
	    cmocka_unit_test_setup_teardown(test_save_and_reload, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_moderators_bind, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_edit_moves, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_estimate_robust, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_grade_keeps_event, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
