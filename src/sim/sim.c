/*
 * sim.c — the simulator (sim.h, docs/SIMULATOR.md).
 *
 * A run has three steps:
 *
 *   1. objects: trains get an origin and a destination town in one of the
 *      2022 patterns (towards the Ukrainian border, away from it towards
 *      Russia, between training grounds), a route along the network, a
 *      speed and stops; convoys a road of straight legs with a wiggle
 *      between two towns; sorties an airfield and a time. Objects from a
 *      file replace the generated ones.
 *   2. occurrences and observations: each passage of an object at an
 *      observation site (a station, a level crossing, a place by the road,
 *      a take-off) is an occurrence if anyone saw it; each observer becomes a
 *      compact pending report: the place and time they give (with noise),
 *      when it reached the server, and a seed from which the rest of it
 *      (counts, types, heading, destination, place name, text) is drawn
 *      when it is emitted. Duplicates copy the seed, so they say the same;
 *      false reports have no occurrence.
 *   3. emission: pending reports sorted by received time, refs numbered in
 *      that order, each one built into an sl_report and handed to the
 *      callback with its truth.
 *
 * Every random draw comes from the project's xoshiro (rng.h) seeded by the
 * run's seed, in a fixed order, so a seed gives the same stream anywhere.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sightline/buf.h"
#include "sightline/geo.h"
#include "sightline/rng.h"
#include "sightline/timefmt.h"
#include "sim/sim_int.h"

/* ---------------------------------------------------------------- model */

/* Objects per 24 hours at scale 1. */
#define TRAINS_PER_DAY 85.0
#define CONVOYS_PER_DAY 45.0
#define SORTIES_PER_DAY 50.0

/* Mean observers of one passage, in daylight (docs/SIMULATOR.md). */
#define OBS_TOWN 3.0	/* a town's station */
#define OBS_STATION 1.3 /* another station (ст) */
#define OBS_HALT 0.6	/* a halt (оп) or passing loop */
#define OBS_CROSSING 0.5
#define OBS_ROAD 2.0 /* a convoy at a place by the road */
#define OBS_TAKEOFF 3.5
#define MAX_OBSERVERS 6

#define STATION_SNAP_M 300.0 /* a station this close to the lines is on them */
#define HUB_SNAP_M 10000.0
#define LOCAL_UTC_OFFSET (3 * 3600) /* Minsk time, for daylight */

typedef enum place_kind {
	PLACE_NONE,
	PLACE_STATION,
	PLACE_CROSSING,
	PLACE_ROAD,
	PLACE_AIRFIELD
} place_kind;

typedef struct object {
	char id[SIM_NAME_MAX];
	sl_sim_kind kind;
	sl_category category;
	size_t n_items;
	sim_item items[SIM_MAX_ITEMS];
	char destination[SIM_NAME_MAX];
} object;

typedef struct occurrence {
	uint32_t object, seq;
	int64_t t;
	double lat, lon, heading;
	place_kind place;
	int32_t place_idx; /* a station or airfield index, or -1 */
} occurrence;

#define F_DUP 1
#define F_LATE 2
#define F_UNTIL 4

/* One report waiting for emission (~72 bytes). */
typedef struct pending {
	int64_t received, observed_at;
	int32_t until_s; /* observed_until - observed_at, when F_UNTIL */
	uint32_t occ;	 /* UINT32_MAX: a false report */
	double lat, lon;
	float uncertainty;
	uint32_t serial;
	uint64_t seed;
	uint8_t flags;
} pending;

typedef struct hub {
	bool ok;
	sl_network_pos pos;
	double lat, lon;
} hub;

typedef struct sim {
	const sl_sim_config *c;
	sl_network *own_net;
	sl_stations *own_st;
	const sl_network *net;
	const sl_stations *st;
	const sl_sim_airfield *af;
	size_t n_af;
	const sl_town *towns;
	size_t n_towns;
	hub *hubs;
	sl_network_pos *st_pos;
	uint8_t *st_on, *st_town;
	size_t n_st;
	sl_rng rng;
	int64_t t0, t1;
	object *obj;
	size_t n_obj, cap_obj;
	occurrence *occ;
	size_t n_occ, cap_occ;
	pending *p;
	size_t n_p, cap_p;
	uint32_t serial;
	sl_sim_stats stats;
	sl_problems *why;
} sim;

static const char *const kind_names[SL_SIM_KIND_COUNT] = {"rail", "convoy", "sortie",
							  "false"};

const char *sl_sim_kind_name(sl_sim_kind k)
{
	return k < SL_SIM_KIND_COUNT ? kind_names[k] : "?";
}

bool sl_sim_kind_from_name(const char *name, sl_sim_kind *out)
{
	for (int k = 0; k < SL_SIM_KIND_COUNT; k++)
		if (strcmp(name, kind_names[k]) == 0) {
			*out = (sl_sim_kind)k;
			return true;
		}
	return false;
}

void sl_sim_config_default(sl_sim_config *c)
{
	*c = (sl_sim_config){
	    .seed = 1,
	    .start = SL_SIM_DEFAULT_START,
	    .hours = 24,
	    .scale = 1,
	    .false_rate = 0.05,
	    .duplicate_rate = 0.03,
	    .late_rate = 0.08,
	};
}

/* ---------------------------------------------------------------- equipment */

typedef struct kit {
	sl_equipment_type type;
	const char *models[4];
	int lo, hi;
} kit;

/* What trains carry: the main load, then support. */
static const kit rail_main[] = {
    {SL_EQ_TANK, {"T-72B3", "T-72B", "T-80BV", "T-90A"}, 10, 40},
    {SL_EQ_IFV, {"BMP-2", "BMP-3", "BMD-2", "BMP-1"}, 10, 40},
    {SL_EQ_APC, {"BTR-82A", "BTR-80", "MT-LB", NULL}, 8, 30},
    {SL_EQ_ARTILLERY, {"2S19 Msta-S", "2S3 Akatsiya", "2S1 Gvozdika", "D-30"}, 6, 18},
    {SL_EQ_MLRS, {"BM-21 Grad", "BM-27 Uragan", "BM-30 Smerch", "TOS-1A"}, 6, 12},
    {SL_EQ_AIR_DEFENCE, {"S-400", "Pantsir-S1", "Tor-M2", "Buk-M2"}, 3, 8},
    {SL_EQ_MISSILE_LAUNCHER, {"Iskander-M", NULL, NULL, NULL}, 2, 6},
    {SL_EQ_TRUCK, {"KamAZ-43118", "Ural-4320", "KamAZ-5350", NULL}, 15, 45},
};
static const double rail_weights[] = {22, 20, 8, 12, 8, 8, 4, 18};
static const kit support[] = {
    {SL_EQ_TRUCK, {"KamAZ-43118", "Ural-4320", NULL, NULL}, 2, 12},
    {SL_EQ_FUEL_TRUCK, {"ATZ-10", NULL, NULL, NULL}, 1, 6},
    {SL_EQ_COMMAND, {"R-149", NULL, NULL, NULL}, 1, 3},
    {SL_EQ_ENGINEERING, {"PMP pontoon", "IMR-2", NULL, NULL}, 2, 8},
};
static const kit aircraft[] = {
    {SL_EQ_AIRCRAFT, {"Su-30SM", "Su-25", "Su-34", "MiG-31K"}, 1, 4},
    {SL_EQ_AIRCRAFT, {"Il-76MD", "An-26", "Yak-130", "Su-24M"}, 1, 2},
};
static const kit helicopters[] = {
    {SL_EQ_HELICOPTER, {"Mi-8", "Mi-24", "Ka-52", "Mi-35M"}, 1, 6},
};

static size_t pick_weighted(sl_rng *r, const double *w, size_t n)
{
	double total = 0;
	for (size_t i = 0; i < n; i++)
		total += w[i];
	double x = sl_rng_unit(r) * total;
	for (size_t i = 0; i < n; i++) {
		if (x < w[i])
			return i;
		x -= w[i];
	}
	return n - 1;
}

static void add_item(sl_rng *r, object *o, const kit *k)
{
	if (o->n_items >= SIM_MAX_ITEMS)
		return;
	size_t nm = 0;
	while (nm < 4 && k->models[nm])
		nm++;
	sim_item *it = &o->items[o->n_items++];
	it->type = k->type;
	it->model = nm ? k->models[sl_rng_below(r, (uint32_t)nm)] : NULL;
	it->count = k->lo + (int32_t)sl_rng_below(r, (uint32_t)(k->hi - k->lo + 1));
}

static void rail_load(sl_rng *r, object *o)
{
	add_item(r, o, &rail_main[pick_weighted(r, rail_weights, 8)]);
	if (o->items[0].type != SL_EQ_TRUCK && sl_rng_chance(r, 0.6))
		add_item(r, o, &support[0]);
	if (sl_rng_chance(r, 0.25))
		add_item(r, o, &support[1 + sl_rng_below(r, 3)]);
}

static void convoy_load(sl_rng *r, object *o)
{
	kit trucks = {
	    SL_EQ_TRUCK, {"KamAZ-43118", "Ural-4320", "KamAZ-5350", "GAZ-66"}, 10, 50};
	add_item(r, o, &trucks);
	static const double w[] = {20, 10, 12, 8, 8, 3, 39};
	size_t k = pick_weighted(r, w, 7);
	if (k < 6) {
		kit m = rail_main[k];
		m.lo = m.lo / 2 + 1, m.hi = m.hi / 2 + 2;
		add_item(r, o, &m);
	}
	if (sl_rng_chance(r, 0.3))
		add_item(r, o, &support[1]);
	if (sl_rng_chance(r, 0.15))
		add_item(r, o, &support[2]);
}

/* ---------------------------------------------------------------- setup */

static sl_err setup(sim *s)
{
	const sl_sim_config *c = s->c;
	if (!(c->hours > 0 && c->hours <= SL_SIM_MAX_HOURS)) {
		sl_problems_add(s->why, "hours", "%g is outside 0..%d (exclusive of 0)",
				c->hours, SL_SIM_MAX_HOURS);
		return SL_EINVAL;
	}
	if (!(c->scale > 0 && c->scale <= SL_SIM_MAX_SCALE)) {
		sl_problems_add(s->why, "scale", "%g is outside 0..%g (exclusive of 0)",
				c->scale, SL_SIM_MAX_SCALE);
		return SL_EINVAL;
	}
	const struct {
		const char *name;
		double v, max;
	} rates[] = {{"false_rate", c->false_rate, 0.9},
		     {"duplicate_rate", c->duplicate_rate, 1},
		     {"late_rate", c->late_rate, 1}};
	for (size_t i = 0; i < 3; i++)
		if (!(rates[i].v >= 0 && rates[i].v <= rates[i].max)) {
			sl_problems_add(s->why, rates[i].name, "%g is outside 0..%g",
					rates[i].v, rates[i].max);
			return SL_EINVAL;
		}
	if (c->start < SL_REPORT_MIN_TIME || c->start > 32503680000) {
		sl_problems_add(s->why, "start", "must be between 2000 and 3000");
		return SL_EINVAL;
	}
	sl_rng_seed(&s->rng, c->seed);
	s->t0 = c->start;
	s->t1 = c->start + (int64_t)llround(c->hours * 3600);
	s->net = c->network;
	s->st = c->stations;
	if (!s->net) {
		sl_err e = sl_network_generate(c->seed, NULL, &s->own_net,
					       c->stations ? NULL : &s->own_st);
		if (e != SL_OK) {
			sl_problems_add(s->why, "network", "cannot generate one: %s",
					sl_strerror(e));
			return e;
		}
		s->net = s->own_net;
		if (!s->st)
			s->st = s->own_st;
	}
	s->af = c->airfields, s->n_af = c->n_airfields;
	if (!s->af || !s->n_af)
		s->n_af = sl_sim_airfields_default(&s->af);
	s->n_towns = sl_network_towns(&s->towns);
	s->hubs = calloc(s->n_towns, sizeof(hub));
	s->n_st = s->st ? sl_stations_count(s->st) : 0;
	s->st_pos = calloc(s->n_st ? s->n_st : 1, sizeof(sl_network_pos));
	s->st_on = calloc(s->n_st ? s->n_st : 1, 1);
	s->st_town = calloc(s->n_st ? s->n_st : 1, 1);
	if (!s->hubs || !s->st_pos || !s->st_on || !s->st_town)
		return SL_ENOMEM;
	for (size_t i = 0; i < s->n_towns; i++) {
		hub *h = &s->hubs[i];
		h->ok = sl_network_snap(s->net, s->towns[i].lat, s->towns[i].lon,
					HUB_SNAP_M, &h->pos) == SL_OK;
		h->lat = s->towns[i].lat, h->lon = s->towns[i].lon;
	}
	for (size_t i = 0; i < s->n_st; i++) {
		const sl_station *st = sl_stations_get(s->st, i);
		s->st_on[i] = sl_network_snap(s->net, st->lat, st->lon, STATION_SNAP_M,
					      &s->st_pos[i]) == SL_OK;
		for (size_t k = 0; k < s->n_towns; k++)
			if (sl_geo_distance_m(st->lat, st->lon, s->towns[k].lat,
					      s->towns[k].lon) < 3000)
				s->st_town[i] = 1;
	}
	return SL_OK;
}

static void teardown(sim *s)
{
	sl_network_free(s->own_net);
	sl_stations_free(s->own_st);
	free(s->hubs);
	free(s->st_pos);
	free(s->st_on);
	free(s->st_town);
	free(s->obj);
	free(s->occ);
	free(s->p);
}

static object *new_object(sim *s, sl_sim_kind kind, const char *id)
{
	if (!sl_grow((void **)&s->obj, &s->cap_obj, s->n_obj + 1, sizeof(object)))
		return NULL;
	object *o = &s->obj[s->n_obj++];
	memset(o, 0, sizeof(*o));
	o->kind = kind;
	o->category = kind == SL_SIM_RAIL     ? SL_CAT_RAIL_TRANSPORT
		      : kind == SL_SIM_CONVOY ? SL_CAT_ROAD_CONVOY
					      : SL_CAT_AIRCRAFT;
	if (id)
		snprintf(o->id, sizeof(o->id), "%s", id);
	else
		snprintf(o->id, sizeof(o->id), "%s-%zu",
			 kind == SL_SIM_RAIL	 ? "train"
			 : kind == SL_SIM_CONVOY ? "convoy"
						 : "sortie",
			 s->stats.objects[kind] + 1);
	s->stats.objects[kind]++;
	return o;
}

/* ---------------------------------------------------------------- observers */

/* How likely someone is looking, by the local hour. */
static double daylight(int64_t t)
{
	int h = (int)(((t + LOCAL_UTC_OFFSET) % 86400 + 86400) % 86400 / 3600);
	return h >= 7 && h < 21 ? 1.0 : (h >= 5 && h < 23) ? 0.5 : 0.15;
}

static bool push_pending(sim *s, const pending *p)
{
	if (!sl_grow((void **)&s->p, &s->cap_p, s->n_p + 1, sizeof(pending)))
		return false;
	s->p[s->n_p] = *p;
	s->p[s->n_p].serial = s->serial++;
	s->n_p++;
	return true;
}

/* The observers of one occurrence: a pending report each, with position
 * and time noise, delays, and a duplicate now and then. sigma_lo/hi bound
 * the observer's position error; offset_m moves them away from the thing
 * seen (an airfield's fence). */
static bool observe(sim *s, uint32_t occ, unsigned k, double sigma_lo, double sigma_hi,
		    double offset_lo, double offset_hi)
{
	const occurrence *o = &s->occ[occ];
	sl_rng *r = &s->rng;
	for (unsigned i = 0; i < k; i++) {
		pending p = {.occ = occ};
		double sigma = sl_rng_range(r, sigma_lo, sigma_hi);
		double lat = o->lat, lon = o->lon;
		if (offset_hi > 0)
			sl_geo_destination(lat, lon, sl_rng_range(r, 0, 360),
					   sl_rng_range(r, offset_lo, offset_hi), &lat,
					   &lon);
		sl_geo_destination(lat, lon, sl_rng_range(r, 0, 360),
				   fabs(sl_rng_normal(r)) * sigma, &lat, &lon);
		p.lat = round(lat * 1e6) / 1e6, p.lon = round(lon * 1e6) / 1e6;
		/* People give a radius of about two sigmas, in round numbers. */
		p.uncertainty =
		    (float)(fmax(50, round(sigma * sl_rng_range(r, 1.5, 3) / 50) * 50) +
			    (offset_hi > 0 ? round(offset_hi / 1000) * 500 : 0));
		double tsig = sl_rng_range(r, 60, 480);
		int64_t t = o->t + (int64_t)llround(sl_rng_normal(r) * tsig);
		if (sl_rng_chance(r, 0.3)) {
			int64_t a = o->t - (int64_t)sl_rng_range(r, 0, 600);
			int64_t b = o->t + (int64_t)sl_rng_range(r, 300, 1800);
			p.observed_at = a - a % 60;
			p.until_s = (int32_t)((b - b % 60) - p.observed_at);
			p.flags |= F_UNTIL;
		} else {
			p.observed_at = t - ((t % 60) + 60) % 60;
		}
		int64_t seen = p.observed_at + (p.flags & F_UNTIL ? p.until_s : 0);
		p.received = seen + 30 + (int64_t)sl_rng_exp(r, 12 * 60);
		if (sl_rng_chance(r, s->c->late_rate)) {
			p.received += (int64_t)sl_rng_range(r, 2 * 3600, 30 * 3600);
			p.flags |= F_LATE;
			s->stats.late++;
		}
		p.seed = sl_rng_next(r);
		if (!push_pending(s, &p))
			return false;
		s->stats.reports[s->obj[o->object].kind]++;
		if (sl_rng_chance(r, s->c->duplicate_rate)) {
			p.flags |= F_DUP;
			p.flags &= (uint8_t)~F_LATE;
			p.received += 60 + (int64_t)sl_rng_range(r, 0, 40 * 60);
			if (!push_pending(s, &p))
				return false;
			s->stats.duplicates++;
			s->stats.reports[s->obj[o->object].kind]++;
		}
	}
	return true;
}

static int64_t new_occurrence(sim *s, uint32_t object, uint32_t seq, int64_t t,
			      double lat, double lon, double heading, place_kind place,
			      int32_t idx)
{
	if (!sl_grow((void **)&s->occ, &s->cap_occ, s->n_occ + 1, sizeof(occurrence)))
		return -1;
	s->occ[s->n_occ] = (occurrence){object, seq, t, lat, lon, heading, place, idx};
	s->stats.occurrences++;
	return (int64_t)s->n_occ++;
}

/* One passage at a site: maybe nobody saw it. */
static bool passage(sim *s, uint32_t obj, uint32_t seq, int64_t t, double lat, double lon,
		    double heading, place_kind place, int32_t idx, double mean,
		    double sig_lo, double sig_hi, double off_lo, double off_hi)
{
	if (t < s->t0 || t >= s->t1)
		return true;
	unsigned k = sl_rng_poisson(&s->rng, mean * daylight(t));
	if (place == PLACE_AIRFIELD && k < 2)
		k = 2; /* a take-off is loud: "seen by several people" */
	if (k > MAX_OBSERVERS)
		k = MAX_OBSERVERS;
	if (k == 0)
		return true;
	int64_t occ = new_occurrence(s, obj, seq, t, lat, lon, heading, place, idx);
	return occ >= 0 && observe(s, (uint32_t)occ, k, sig_lo, sig_hi, off_lo, off_hi);
}

/* ---------------------------------------------------------------- trains */

typedef struct site {
	double s;
	place_kind place;
	int32_t idx;
	double mean;
} site;

static int cmp_site(const void *a, const void *b)
{
	const site *x = a, *y = b;
	return x->s < y->s ? -1 : x->s > y->s ? 1 : (x->idx > y->idx) - (x->idx < y->idx);
}

/* A train along its legs (routes laid end to end) from t_dep at v m/s, with
 * stops at some stations. */
static bool run_train(sim *s, uint32_t obj, sl_route **legs, size_t n_legs, int64_t t_dep,
		      double v, bool stops)
{
	site *sites = NULL;
	size_t n = 0, cap = 0;
	double total = 0;
	sl_rng *r = &s->rng;
	for (size_t l = 0; l < n_legs; l++) {
		for (size_t i = 0; i < s->n_st; i++) {
			double at;
			if (!s->st_on[i] ||
			    sl_route_locate(legs[l], &s->st_pos[i], &at) != SL_OK)
				continue;
			const sl_station *st = sl_stations_get(s->st, i);
			double mean = s->st_town[i]		    ? OBS_TOWN
				      : strcmp(st->type, "ст") == 0 ? OBS_STATION
								    : OBS_HALT;
			if (!sl_grow((void **)&sites, &cap, n + 1, sizeof(site)))
				goto nomem;
			sites[n++] = (site){total + at, PLACE_STATION, (int32_t)i, mean};
		}
		/* Level crossings: about one per 25 km between stations. */
		double len = sl_route_length_m(legs[l]);
		for (double x = sl_rng_range(r, 5000, 25000); x < len;
		     x += sl_rng_range(r, 10000, 40000)) {
			if (!sl_grow((void **)&sites, &cap, n + 1, sizeof(site)))
				goto nomem;
			sites[n++] = (site){total + x, PLACE_CROSSING, -1, OBS_CROSSING};
		}
		total += len;
	}
	qsort(sites, n, sizeof(site), cmp_site);
	double wait = 0;
	int n_stops = 0;
	size_t leg = 0;
	double leg0 = 0;
	for (size_t i = 0; i < n; i++) {
		while (leg + 1 < n_legs &&
		       sites[i].s > leg0 + sl_route_length_m(legs[leg]))
			leg0 += sl_route_length_m(legs[leg++]);
		double lat, lon, brg;
		sl_route_at(legs[leg], sites[i].s - leg0, &lat, &lon, &brg);
		int64_t t = t_dep + (int64_t)llround(sites[i].s / v + wait);
		if (sites[i].place == PLACE_STATION) {
			const sl_station *st =
			    sl_stations_get(s->st, (size_t)sites[i].idx);
			lat = st->lat, lon = st->lon;
		}
		if (!passage(s, obj, (uint32_t)i + 1, t, lat, lon, brg, sites[i].place,
			     sites[i].idx, sites[i].mean, 50, 500, 0, 0))
			goto nomem;
		/* A stop: standing trains are seen for longer, but once. */
		if (stops && sites[i].place == PLACE_STATION &&
		    sites[i].mean >= OBS_STATION && n_stops < 5 &&
		    sl_rng_chance(r, 0.15)) {
			wait += sl_rng_range(r, 600, 2700);
			n_stops++;
		}
	}
	free(sites);
	return true;
nomem:
	free(sites);
	return false;
}

/* Town patterns of 2022 (indices into sl_network_towns). */
static const uint8_t south_from[] = {30, 1, 6, 18, 31, 5, 0};
static const uint8_t south_to[] = {4, 14, 15, 26, 25, 28, 16, 2, 17, 21, 27};
static const uint8_t east_from[] = {3, 2, 4, 15, 16, 11, 14, 17};
static const uint8_t east_to[] = {1, 30, 18, 31};
static const uint8_t inner[] = {0, 19, 11, 3, 10, 7, 20, 12, 8, 9};

#define COUNT(a) (sizeof(a) / sizeof(a[0]))

static int pick_hub(sim *s, const uint8_t *set, size_t n)
{
	for (int tries = 0; tries < 8; tries++) {
		uint8_t h = set[sl_rng_below(&s->rng, (uint32_t)n)];
		if (h < s->n_towns && s->hubs[h].ok)
			return h;
	}
	return -1;
}

static bool gen_trains(sim *s, size_t count)
{
	sl_rng *r = &s->rng;
	for (size_t i = 0; i < count; i++) {
		sl_route *route = NULL;
		int a = -1, b = -1;
		for (int tries = 0; tries < 12 && !route; tries++) {
			double x = sl_rng_unit(r);
			const uint8_t *from = x < 0.4	 ? south_from
					      : x < 0.75 ? east_from
							 : inner;
			const uint8_t *to = x < 0.4    ? south_to
					    : x < 0.75 ? east_to
						       : inner;
			size_t nf = x < 0.4    ? COUNT(south_from)
				    : x < 0.75 ? COUNT(east_from)
					       : COUNT(inner);
			size_t nt = x < 0.4    ? COUNT(south_to)
				    : x < 0.75 ? COUNT(east_to)
					       : COUNT(inner);
			a = pick_hub(s, from, nf), b = pick_hub(s, to, nt);
			if (a < 0 || b < 0 || a == b)
				continue;
			if (sl_network_route(s->net, &s->hubs[a].pos, &s->hubs[b].pos, 0,
					     &route) != SL_OK ||
			    sl_route_length_m(route) < 50000) {
				sl_route_free(route);
				route = NULL;
			}
		}
		if (!route)
			continue; /* this network does not join those towns */
		object *o = new_object(s, SL_SIM_RAIL, NULL);
		if (!o) {
			sl_route_free(route);
			return false;
		}
		rail_load(r, o);
		snprintf(o->destination, sizeof(o->destination), "%s", s->towns[b].name);
		double v = sl_rng_range(r, 40, 80) / 3.6;
		double dur = sl_route_length_m(route) / v;
		int64_t t_dep =
		    s->t0 + (int64_t)sl_rng_range(r, -0.5 * dur, (double)(s->t1 - s->t0));
		bool ok = run_train(s, (uint32_t)(o - s->obj), &route, 1, t_dep, v, true);
		sl_route_free(route);
		if (!ok)
			return false;
	}
	return true;
}

/* ---------------------------------------------------------------- convoys */

/* A road: straight legs through up to three wiggled waypoints. */
typedef struct road {
	size_t n;
	double lat[5], lon[5], cum[5];
} road;

static void road_at(const road *rd, double s, double *lat, double *lon, double *brg)
{
	size_t i = 0;
	while (i + 2 < rd->n && rd->cum[i + 1] < s)
		i++;
	double seg = rd->cum[i + 1] - rd->cum[i];
	double f = seg > 0 ? (s - rd->cum[i]) / seg : 0;
	f = f < 0 ? 0 : f > 1 ? 1 : f;
	*lat = rd->lat[i] + f * (rd->lat[i + 1] - rd->lat[i]);
	*lon = rd->lon[i] + f * (rd->lon[i + 1] - rd->lon[i]);
	*brg = sl_geo_bearing_deg(rd->lat[i], rd->lon[i], rd->lat[i + 1], rd->lon[i + 1]);
}

static void make_road(sl_rng *r, road *rd, double la, double lo, double lb, double lob)
{
	double d = sl_geo_distance_m(la, lo, lb, lob),
	       brg = sl_geo_bearing_deg(la, lo, lb, lob);
	size_t mid = 1 + sl_rng_below(r, 3);
	rd->n = 0;
	rd->lat[rd->n] = la, rd->lon[rd->n++] = lo;
	for (size_t k = 1; k <= mid; k++) {
		double f = (double)k / (double)(mid + 1), clat, clon;
		sl_geo_destination(la, lo, brg, f * d, &clat, &clon);
		sl_geo_destination(clat, clon, brg + 90, sl_rng_range(r, -0.08, 0.08) * d,
				   &rd->lat[rd->n], &rd->lon[rd->n]);
		rd->n++;
	}
	rd->lat[rd->n] = lb, rd->lon[rd->n++] = lob;
	rd->cum[0] = 0;
	for (size_t k = 1; k < rd->n; k++)
		rd->cum[k] =
		    rd->cum[k - 1] + sl_geo_distance_m(rd->lat[k - 1], rd->lon[k - 1],
						       rd->lat[k], rd->lon[k]);
}

static bool run_convoy(sim *s, uint32_t obj, const road *rd, int64_t t_dep, double v)
{
	sl_rng *r = &s->rng;
	double len = rd->cum[rd->n - 1];
	size_t k = 2 + sl_rng_below(r, 5);
	double at[6];
	for (size_t i = 0; i < k; i++)
		at[i] = sl_rng_range(r, 0.05, 0.95) * len;
	for (size_t i = 1; i < k; i++) /* in order along the road */
		for (size_t j = i; j > 0 && at[j] < at[j - 1]; j--) {
			double x = at[j];
			at[j] = at[j - 1], at[j - 1] = x;
		}
	for (size_t i = 0; i < k; i++) {
		double lat, lon, brg;
		road_at(rd, at[i], &lat, &lon, &brg);
		size_t near;
		int32_t idx = s->st && sl_stations_nearest(s->st, lat, lon, 15000, &near,
							   NULL) == SL_OK
				  ? (int32_t)near
				  : -1;
		int64_t t = t_dep + (int64_t)llround(at[i] / v);
		if (!passage(s, obj, (uint32_t)i + 1, t, lat, lon, brg, PLACE_ROAD, idx,
			     OBS_ROAD, 100, 800, 0, 0))
			return false;
	}
	return true;
}

static bool gen_convoys(sim *s, size_t count)
{
	sl_rng *r = &s->rng;
	for (size_t i = 0; i < count; i++) {
		uint32_t a = 0, b = 0;
		double d = 0;
		for (int tries = 0; tries < 20; tries++) {
			a = sl_rng_below(r, (uint32_t)s->n_towns);
			b = sl_rng_chance(r, 0.45)
				? south_to[sl_rng_below(r, COUNT(south_to))]
				: sl_rng_below(r, (uint32_t)s->n_towns);
			d = sl_geo_distance_m(s->towns[a].lat, s->towns[a].lon,
					      s->towns[b].lat, s->towns[b].lon);
			if (a != b && d > 40000 && d < 350000)
				break;
		}
		if (a == b)
			continue;
		object *o = new_object(s, SL_SIM_CONVOY, NULL);
		if (!o)
			return false;
		convoy_load(r, o);
		snprintf(o->destination, sizeof(o->destination), "%s", s->towns[b].name);
		road rd;
		make_road(r, &rd, s->towns[a].lat, s->towns[a].lon, s->towns[b].lat,
			  s->towns[b].lon);
		double v = sl_rng_range(r, 30, 50) / 3.6;
		double dur = rd.cum[rd.n - 1] / v;
		int64_t t_dep =
		    s->t0 + (int64_t)sl_rng_range(r, -0.5 * dur, (double)(s->t1 - s->t0));
		if (!run_convoy(s, (uint32_t)(o - s->obj), &rd, t_dep, v))
			return false;
	}
	return true;
}

/* ---------------------------------------------------------------- sorties */

static bool run_sortie(sim *s, uint32_t obj, int32_t field, double lat, double lon,
		       int64_t t, double heading)
{
	return passage(s, obj, 1, t, lat, lon, heading, PLACE_AIRFIELD, field,
		       OBS_TAKEOFF, 200, 1000, 500, 3000);
}

static bool gen_sorties(sim *s, size_t count)
{
	sl_rng *r = &s->rng;
	double *w = malloc(s->n_af * sizeof(double));
	if (!w)
		return false;
	double total = 0;
	for (size_t i = 0; i < s->n_af; i++)
		total += w[i] = s->af[i].weight;
	for (size_t i = 0; total > 0 && i < count; i++) {
		size_t f = pick_weighted(r, w, s->n_af);
		object *o = new_object(s, SL_SIM_SORTIE, NULL);
		if (!o) {
			free(w);
			return false;
		}
		bool heli = sl_rng_chance(r, 0.35);
		const kit *k =
		    heli ? &helicopters[0] : &aircraft[sl_rng_chance(r, 0.8) ? 0 : 1];
		add_item(r, o, k);
		o->category = heli ? SL_CAT_HELICOPTER : SL_CAT_AIRCRAFT;
		/* Pairs are the most common flight. */
		int32_t *c = &o->items[0].count;
		double x = sl_rng_unit(r);
		*c = x < 0.4 ? 1 : x < 0.85 ? 2 : *c;
		/* A field's runway: the same two directions for every take-off. */
		uint64_t fs = (uint64_t)f * 0x9e3779b97f4a7c15ull ^ s->c->seed;
		double runway = (double)(sl_splitmix64(&fs) % 18) * 10;
		double heading = fmod(runway + (sl_rng_chance(r, 0.5) ? 180 : 0), 360);
		int64_t t = s->t0 + (int64_t)sl_rng_range(r, 0, (double)(s->t1 - s->t0));
		if (!run_sortie(s, (uint32_t)(o - s->obj), (int32_t)f, s->af[f].lat,
				s->af[f].lon, t, heading)) {
			free(w);
			return false;
		}
	}
	free(w);
	return true;
}

/* ---------------------------------------------------------------- file objects */

/* A station's position by name, for objects routed through names. */
static bool name_pos(sim *s, const char *name, double *lat, double *lon)
{
	size_t i;
	if (s->st && sl_stations_find(s->st, name, &i) == SL_OK) {
		*lat = sl_stations_get(s->st, i)->lat,
		*lon = sl_stations_get(s->st, i)->lon;
		return true;
	}
	for (size_t k = 0; k < s->n_towns; k++)
		if (strcmp(s->towns[k].name, name) == 0) {
			*lat = s->towns[k].lat, *lon = s->towns[k].lon;
			return true;
		}
	for (size_t k = 0; k < s->n_af; k++)
		if (strcmp(s->af[k].name, name) == 0 ||
		    strcmp(s->af[k].ident, name) == 0) {
			*lat = s->af[k].lat, *lon = s->af[k].lon;
			return true;
		}
	return false;
}

static sl_err run_spec(sim *s, const sim_spec *sp)
{
	size_t n = sp->n_route;
	double *lat = malloc(n * sizeof(double)), *lon = malloc(n * sizeof(double));
	sl_route **legs = calloc(n, sizeof(sl_route *));
	sl_err e = lat && lon && legs ? SL_OK : SL_ENOMEM;
	for (size_t i = 0; e == SL_OK && i < n; i++) {
		if (!sp->names) {
			lat[i] = sp->lat[i], lon[i] = sp->lon[i];
		} else if (!name_pos(s, sp->names[i], &lat[i], &lon[i])) {
			sl_problems_add(s->why, "objects",
					"%.40s: route[%zu]: no station, town or "
					"airfield \"%.40s\"",
					sp->id, i, sp->names[i]);
			e = SL_EINVAL;
		}
	}
	object *o = e == SL_OK ? new_object(s, sp->kind, sp->id) : NULL;
	if (e == SL_OK && !o)
		e = SL_ENOMEM;
	if (e == SL_OK) {
		o->category = sp->category;
		o->n_items = sp->n_items;
		memcpy(o->items, sp->items, sizeof(o->items));
		snprintf(o->destination, sizeof(o->destination), "%s", sp->destination);
	}
	uint32_t obj = o ? (uint32_t)(o - s->obj) : 0;
	sl_rng *r = &s->rng;
	if (e == SL_OK && sp->kind == SL_SIM_RAIL) {
		double len = 0;
		for (size_t i = 0; e == SL_OK && i + 1 < n; i++) {
			sl_network_pos a, b;
			if (sl_network_snap(s->net, lat[i], lon[i], HUB_SNAP_M, &a) !=
				SL_OK ||
			    sl_network_snap(s->net, lat[i + 1], lon[i + 1], HUB_SNAP_M,
					    &b) != SL_OK ||
			    sl_network_route(s->net, &a, &b, 0, &legs[i]) != SL_OK) {
				sl_problems_add(s->why, "objects",
						"%.40s: route[%zu] to route[%zu]: "
						"the rail network does not join them",
						sp->id, i, i + 1);
				e = SL_EINVAL;
			} else {
				len += sl_route_length_m(legs[i]);
			}
		}
		double v = sp->end ? len / (double)(sp->end - sp->start)
				   : sl_rng_range(r, 40, 80) / 3.6;
		if (e == SL_OK &&
		    !run_train(s, obj, legs, n - 1, sp->start, fmax(v, 0.5), false))
			e = SL_ENOMEM;
	} else if (e == SL_OK && sp->kind == SL_SIM_CONVOY) {
		/* Each pair of waypoints is a road of its own, end to end. */
		double len = 0;
		for (size_t i = 0; i + 1 < n; i++)
			len += sl_geo_distance_m(lat[i], lon[i], lat[i + 1], lon[i + 1]);
		double v = sp->end ? len / (double)(sp->end - sp->start)
				   : sl_rng_range(r, 30, 50) / 3.6;
		double at = 0;
		for (size_t i = 0; e == SL_OK && i + 1 < n; i++) {
			road rd = {.n = 2,
				   .lat = {lat[i], lat[i + 1]},
				   .lon = {lon[i], lon[i + 1]}};
			rd.cum[1] =
			    sl_geo_distance_m(lat[i], lon[i], lat[i + 1], lon[i + 1]);
			if (!run_convoy(s, obj, &rd,
					sp->start + (int64_t)(at / fmax(v, 0.5)),
					fmax(v, 0.5)))
				e = SL_ENOMEM;
			at += rd.cum[1];
		}
	} else if (e == SL_OK) {
		double heading =
		    n > 1 ? sl_geo_bearing_deg(lat[0], lon[0], lat[1], lon[1]) : 0;
		int32_t field = -1; /* the airfield it takes off from, if it is one */
		for (size_t k = 0; k < s->n_af; k++)
			if (sl_geo_distance_m(lat[0], lon[0], s->af[k].lat,
					      s->af[k].lon) < 3000)
				field = (int32_t)k;
		if (!run_sortie(s, obj, field, lat[0], lon[0], sp->start, heading))
			e = SL_ENOMEM;
	}
	for (size_t i = 0; legs && i < n; i++)
		sl_route_free(legs[i]);
	free(legs);
	free(lat);
	free(lon);
	return e;
}

/* ---------------------------------------------------------------- false reports */

static bool gen_false(sim *s)
{
	sl_rng *r = &s->rng;
	double f = s->c->false_rate;
	size_t truth = s->n_p;
	size_t n = f > 0 && truth ? (size_t)llround((double)truth * f / (1 - f)) : 0;
	for (size_t i = 0; i < n; i++) {
		pending p = {.occ = UINT32_MAX};
		double lat, lon;
		if (s->n_st && sl_rng_chance(r, 0.7)) {
			const sl_station *st =
			    sl_stations_get(s->st, sl_rng_below(r, (uint32_t)s->n_st));
			lat = st->lat, lon = st->lon;
		} else {
			const sl_town *t =
			    &s->towns[sl_rng_below(r, (uint32_t)s->n_towns)];
			lat = t->lat, lon = t->lon;
		}
		double sigma = sl_rng_range(r, 100, 800);
		sl_geo_destination(lat, lon, sl_rng_range(r, 0, 360),
				   fabs(sl_rng_normal(r)) * sigma, &lat, &lon);
		p.lat = round(lat * 1e6) / 1e6, p.lon = round(lon * 1e6) / 1e6;
		p.uncertainty = (float)(round(sigma * 2 / 50) * 50);
		int64_t t = s->t0 + (int64_t)sl_rng_range(r, 0, (double)(s->t1 - s->t0));
		p.observed_at = t - t % 60;
		p.received = p.observed_at + 30 + (int64_t)sl_rng_exp(r, 15 * 60);
		p.seed = sl_rng_next(r);
		if (!push_pending(s, &p))
			return false;
		s->stats.reports[SL_SIM_FALSE]++;
	}
	return true;
}

/* ---------------------------------------------------------------- emission */

/* One report being built; reused for every emission. */
typedef struct built {
	sl_report r;
	sl_equipment eq[SIM_MAX_ITEMS];
	char place[SL_REPORT_MAX_SHORT + 1];
	char dest[SIM_NAME_MAX];
	char text[600];
	char ref[64];
	char occ[SIM_NAME_MAX + 16];
} built;

static const char *const type_words[SL_EQ_COUNT] = {"танки",
						    "БМП",
						    "БТР",
						    "САУ",
						    "РСЗО",
						    "ПВО",
						    "пусковые установки",
						    "грузовики",
						    "топливозаправщики",
						    "инженерная техника",
						    "штабные машины",
						    "вертолёты",
						    "самолёты",
						    "техника"};

static const char *const compass[8] = {"С", "СВ", "В", "ЮВ", "Ю", "ЮЗ", "З", "СЗ"};

/* What one observer says they saw of the object's load: some items missed,
 * counts off by up to 20 % (now and then wildly), tanks and IFVs confused. */
static void observed_items(sl_rng *r, const object *o, built *b)
{
	size_t n = 0;
	for (size_t i = 0; i < o->n_items; i++) {
		const sim_item *it = &o->items[i];
		if (i > 0 && sl_rng_chance(r, 0.2))
			continue;
		sl_equipment *e = &b->eq[n++];
		e->type = it->type;
		if (it->type == SL_EQ_TANK && sl_rng_chance(r, 0.05))
			e->type = SL_EQ_IFV;
		else if (it->type == SL_EQ_IFV && sl_rng_chance(r, 0.05))
			e->type = SL_EQ_TANK;
		double c = it->count;
		double got;
		if (c > 3 && sl_rng_chance(r, 0.03))
			got = sl_rng_chance(r, 0.5) ? c * sl_rng_range(r, 2, 4) : c / 3;
		else if (c > 3)
			got = c * (1 + fmax(-0.2, fmin(0.2, sl_rng_normal(r) * 0.08)));
		else
			got = c;
		int32_t k = (int32_t)fmax(1, fmin(SL_REPORT_MAX_COUNT, llround(got)));
		e->count = k, e->count_max = 0;
		if (k >= 4 && sl_rng_chance(r, 0.15)) {
			int32_t d = (int32_t)fmax(1, llround(k * 0.15));
			e->count = k - d, e->count_max = k + d;
		}
		e->model = e->type == it->type && it->model && sl_rng_chance(r, 0.4)
			       ? it->model
			       : NULL;
	}
	b->r.n_equipment = n;
}

static void false_items(sl_rng *r, sl_category cat, built *b)
{
	const kit *k = cat == SL_CAT_AIRCRAFT	  ? &aircraft[0]
		       : cat == SL_CAT_HELICOPTER ? &helicopters[0]
						  : &rail_main[sl_rng_below(r, 8)];
	sl_equipment *e = &b->eq[0];
	e->type = k->type;
	e->count = k->lo + (int32_t)sl_rng_below(r, (uint32_t)(k->hi - k->lo + 1));
	e->count_max = 0;
	e->model = NULL;
	b->r.n_equipment = 1;
}

static void station_name(const sim *s, int32_t idx, sl_rng *r, char *out, size_t cap,
			 const char *prefix)
{
	const sl_station *st =
	    s->st && idx >= 0 ? sl_stations_get(s->st, (size_t)idx) : NULL;
	if (!st) {
		out[0] = '\0';
		return;
	}
	const char *name =
	    st->name_be && sl_rng_chance(r, 0.2) ? st->name_be : st->name_ru;
	snprintf(out, cap, "%s%s", prefix, name);
}

static void describe(sl_rng *r, const pending *p, const occurrence *o, built *b)
{
	bool unsure = p->occ == UINT32_MAX && sl_rng_chance(r, 0.5);
	const char *what = b->r.category == SL_CAT_RAIL_TRANSPORT ? "Эшелонэшелон"
			   : b->r.category == SL_CAT_ROAD_CONVOY
			       ? "Колонна техникиколонна техники"
			   : o && o->place == PLACE_AIRFIELD ? "Взлётвзлёт"
							     : "Виделвидел";
	/* Each word twice, capitalised then not: "Кажется, эшелон". */
	size_t half = strlen(what) / 2;
	size_t n = (size_t)snprintf(b->text, sizeof(b->text), "%s%.*s",
				    unsure ? "Кажется, " : "", (int)half,
				    what + (unsure ? half : 0));
	for (size_t i = 0; i < b->r.n_equipment && n < sizeof(b->text) - 80; i++)
		n += (size_t)snprintf(b->text + n, sizeof(b->text) - n, "%s %s: %d",
				      i ? "," : ":", type_words[b->eq[i].type],
				      (int)b->eq[i].count);
	if (b->r.has_heading && n < sizeof(b->text) - 40)
		n +=
		    (size_t)snprintf(b->text + n, sizeof(b->text) - n, ". Направление %s",
				     compass[(int)(b->r.heading_deg / 45) % 8]);
	if (n < sizeof(b->text) - 2)
		snprintf(b->text + n, sizeof(b->text) - n, ".");
	b->r.text = b->text;
}

/* Builds the report of pending p (its details drawn from p->seed). */
static void build_report(const sim *s, const pending *p, size_t index, built *b)
{
	sl_rng r;
	sl_rng_seed(&r, p->seed);
	memset(&b->r, 0, sizeof(b->r));
	b->r.equipment = b->eq;
	b->r.status = SL_STATUS_RECEIVED;
	b->r.observed_at = p->observed_at;
	b->r.has_until = p->flags & F_UNTIL;
	b->r.observed_until = p->observed_at + p->until_s;
	b->r.location = (sl_location){.has_point = true,
				      .lat = p->lat,
				      .lon = p->lon,
				      .uncertainty_m = p->uncertainty};
	b->r.received_at = p->received - p->received % 60;
	b->place[0] = '\0';
	const occurrence *o = p->occ == UINT32_MAX ? NULL : &s->occ[p->occ];
	if (o) {
		const object *obj = &s->obj[o->object];
		b->r.category = obj->category;
		observed_items(&r, obj, b);
		if (sl_rng_chance(&r, o->place == PLACE_AIRFIELD ? 0.6 : 0.5)) {
			double h = o->heading + sl_rng_normal(&r) * 15;
			b->r.heading_deg = fmod(round(h / 45) * 45 + 720, 360);
			b->r.has_heading = true;
		}
		b->r.destination = NULL;
		if (obj->destination[0] && o->place != PLACE_AIRFIELD &&
		    sl_rng_chance(&r, 0.15)) {
			const char *d = obj->destination;
			if (sl_rng_chance(&r, 0.1))
				d = s->towns[sl_rng_below(&r, (uint32_t)s->n_towns)].name;
			snprintf(b->dest, sizeof(b->dest), "%s", d);
			b->r.destination = b->dest;
		}
		size_t near;
		switch (o->place) {
		case PLACE_STATION:
			if (sl_rng_chance(&r, 0.65))
				station_name(s, o->place_idx, &r, b->place,
					     sizeof(b->place), "");
			break;
		case PLACE_CROSSING:
			if (s->st && sl_rng_chance(&r, 0.4) &&
			    sl_stations_nearest(s->st, o->lat, o->lon, 10000, &near,
						NULL) == SL_OK)
				station_name(s, (int32_t)near, &r, b->place,
					     sizeof(b->place), "переезд у ");
			break;
		case PLACE_ROAD:
			if (sl_rng_chance(&r, 0.5))
				station_name(s, o->place_idx, &r, b->place,
					     sizeof(b->place), "трасса у ");
			break;
		case PLACE_AIRFIELD:
			if (o->place_idx >= 0 && sl_rng_chance(&r, 0.6))
				snprintf(b->place, sizeof(b->place), "%s",
					 s->af[o->place_idx].name);
			break;
		case PLACE_NONE:
			break;
		}
	} else {
		double x = sl_rng_unit(&r);
		b->r.category = x < 0.55   ? SL_CAT_RAIL_TRANSPORT
				: x < 0.8  ? SL_CAT_ROAD_CONVOY
				: x < 0.92 ? SL_CAT_AIRCRAFT
					   : SL_CAT_HELICOPTER;
		false_items(&r, b->r.category, b);
		if (sl_rng_chance(&r, 0.3)) {
			b->r.heading_deg = 45.0 * sl_rng_below(&r, 8);
			b->r.has_heading = true;
		}
		size_t near;
		if (s->st && sl_rng_chance(&r, 0.5) &&
		    sl_stations_nearest(s->st, p->lat, p->lon, 5000, &near, NULL) ==
			SL_OK)
			station_name(s, (int32_t)near, &r, b->place, sizeof(b->place),
				     "");
	}
	b->r.location.place = b->place[0] ? b->place : NULL;
	b->r.text = NULL;
	if (s->c->text)
		describe(&r, p, o, b);
	snprintf(b->ref, sizeof(b->ref), "sim-%llu-%07zu", (unsigned long long)s->c->seed,
		 index + 1);
	b->r.ref = b->ref;
	if (o)
		snprintf(b->occ, sizeof(b->occ), "%s#%u", s->obj[o->object].id, o->seq);
}

static int cmp_pending(const void *x, const void *y)
{
	const pending *a = x, *b = y;
	if (a->received != b->received)
		return a->received < b->received ? -1 : 1;
	return (a->serial > b->serial) - (a->serial < b->serial);
}

/* Objects to generate for a base rate per day: the expected number, rounded
 * at random so fractions are honoured on average. */
static size_t how_many(sim *s, double per_day)
{
	double x = per_day * s->c->scale * s->c->hours / 24.0;
	size_t n = (size_t)x;
	return n + (sl_rng_unit(&s->rng) < x - (double)n);
}

sl_err sl_sim_run(const sl_sim_config *c, sl_sim_emit emit, void *ud, sl_sim_stats *stats,
		  sl_problems *why)
{
	sim s = {.c = c, .why = why};
	sl_err e = setup(&s);
	if (e == SL_OK && c->objects) {
		for (size_t i = 0; e == SL_OK && i < c->objects->n; i++)
			e = run_spec(&s, &c->objects->spec[i]);
	} else if (e == SL_OK) {
		size_t trains = how_many(&s, TRAINS_PER_DAY),
		       convoys = how_many(&s, CONVOYS_PER_DAY),
		       sorties = how_many(&s, SORTIES_PER_DAY);
		if (!gen_trains(&s, trains) || !gen_convoys(&s, convoys) ||
		    !gen_sorties(&s, sorties))
			e = SL_ENOMEM;
	}
	if (e == SL_OK && !gen_false(&s))
		e = SL_ENOMEM;
	if (e == SL_OK && s.n_p > 1)
		qsort(s.p, s.n_p, sizeof(pending), cmp_pending);
	built *b = e == SL_OK ? malloc(sizeof(built)) : NULL;
	if (e == SL_OK && !b)
		e = SL_ENOMEM;
	for (size_t i = 0; e == SL_OK && i < s.n_p; i++) {
		const pending *p = &s.p[i];
		build_report(&s, p, i, b);
		const occurrence *o = p->occ == UINT32_MAX ? NULL : &s.occ[p->occ];
		sl_sim_record rec = {
		    .report = &b->r,
		    .ref = b->ref,
		    .kind = o ? s.obj[o->object].kind : SL_SIM_FALSE,
		    .object = o ? s.obj[o->object].id : NULL,
		    .occurrence = o ? b->occ : NULL,
		    .received_at = p->received,
		    .duplicate = p->flags & F_DUP,
		    .late = p->flags & F_LATE,
		};
		e = emit(ud, &rec);
	}
	free(b);
	if (e == SL_ENOMEM)
		sl_problems_add(why, "", "out of memory");
	if (stats)
		*stats = s.stats;
	teardown(&s);
	return e;
}

json_t *sl_sim_truth_json(const sl_sim_record *rec)
{
	return json_pack("{s:s, s:s?, s:s?, s:s}", "ref", rec->ref, "object", rec->object,
			 "occurrence", rec->occurrence, "kind",
			 sl_sim_kind_name(rec->kind));
}
