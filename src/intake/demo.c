/*
 * demo.c — a generated, deterministic set of plausible reports in Belarus.
 *
 * A new deployment, a screenshot, a benchmark or a test of the moderator
 * console needs reports that look like the real thing — trains of armour at
 * the main junctions, convoys on the roads south, aircraft and helicopters
 * near the air bases — without touching anyone's real data. The set is made
 * from a fixed seed (splitmix64), so it is the same on every machine; only
 * the observation times move with `now` (spread over the 30 days before it).
 * Refs are "demo-0001" ..., so importing the demo twice stores it once.
 *
 * Places are approximate coordinates of real stations and air bases, typed
 * in here (no files are read). Nothing in the set describes a real sighting.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "intake/import_int.h"

/* splitmix64 (Steele, Lea, Flood 2014): small, fast, and good enough to
 * scatter a demo; never for anything secret. */
static uint64_t next(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [0, n). */
static uint32_t below(uint64_t *state, uint32_t n)
{
	return (uint32_t)(next(state) % n);
}

/* Uniform in [0, 1). */
static double unit(uint64_t *state)
{
	return (double)(next(state) >> 11) / 9007199254740992.0;
}

typedef struct site {
	const char *name;  /* English, for the text and the destination */
	const char *place; /* as an informant would write it */
	double lat, lon;
} site;

static const site stations[] = {
    {"Minsk", "Minsk-Passazhirsky station", 53.8908, 27.5510},
    {"Orsha", "Orsha-Tsentralnaya station", 54.5170, 30.4150},
    {"Brest", "Brest-Tsentralny station", 52.0990, 23.6880},
    {"Homel", "Homel-Passazhirsky station", 52.4311, 30.9917},
    {"Mazyr", "Mazyr station", 52.0756, 29.2028},
    {"Asipovichy", "Asipovichy-1 station", 53.2994, 28.6472},
    {"Baranavichy", "Baranavichy-Paleskiya station", 53.1320, 26.0190},
    {"Luninets", "Luninets station", 52.2444, 26.8083},
    {"Kalinkavichy", "Kalinkavichy station", 52.1392, 29.3153},
    {"Vitebsk", "Vitebsk-Passazhirsky station", 55.1964, 30.1883},
};

static const site airfields[] = {
    {"Machulishchy", "Machulishchy air base", 53.7733, 27.5800},
    {"Baranavichy", "Baranavichy air base", 53.1000, 26.0500},
    {"Luninets", "Luninets air base", 52.2750, 26.7750},
};

/* Road sightings: towns on the main roads towards the borders. */
static const site roads[] = {
    {"Homel", "M10 near Homel", 52.4700, 30.8800},
    {"Mazyr", "P31 near Mazyr", 52.0400, 29.2800},
    {"Yelsk", "P36 near Yelsk", 51.8100, 29.1500},
    {"Brest", "M1 near Brest", 52.1200, 23.8000},
    {"Asipovichy", "R43 near Asipovichy", 53.3100, 28.6000},
    {"Rechytsa", "M10 near Rechytsa", 52.3600, 30.4100},
    {"Pinsk", "M10 near Pinsk", 52.1200, 26.1000},
    {"Babruisk", "M5 near Babruisk", 53.1400, 29.2000},
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char *const compass[] = {"north", "north-east", "east", "south-east",
				      "south", "south-west", "west", "north-west"};

typedef struct demo_ctx {
	uint64_t rng;
	sl_arena *a;
} demo_ctx;

/* A point near s, within about r metres; uncertainty r. */
static void place_near(demo_ctx *d, sl_report *r, const site *s, double radius_m)
{
	double dist = radius_m * sqrt(unit(&d->rng));
	double bearing = unit(&d->rng) * 2 * M_PI;
	double dlat = dist * cos(bearing) / 111320.0;
	double dlon = dist * sin(bearing) / (111320.0 * cos(s->lat * M_PI / 180));
	r->location.has_point = true;
	r->location.lat = round((s->lat + dlat) * 1e5) / 1e5;
	r->location.lon = round((s->lon + dlon) * 1e5) / 1e5;
	r->location.uncertainty_m = radius_m;
	r->location.place = s->place;
}

static void add_item(demo_ctx *d, sl_report *r, sl_equipment_type type,
		     const char *const *models, size_t n_models, int lo, int hi)
{
	if (r->n_equipment >= 4)
		return;
	sl_equipment *e = &r->equipment[r->n_equipment++];
	e->type = type;
	e->model = n_models ? models[below(&d->rng, (uint32_t)n_models)] : NULL;
	e->count = lo + (int)below(&d->rng, (uint32_t)(hi - lo + 1));
	/* An informant often gives a range for what they could not count. */
	if (below(&d->rng, 4) == 0)
		e->count_max = e->count + 1 + (int)below(&d->rng, 5);
}

static const char *const tanks[] = {"T-72B3", "T-72B", "T-80BV"};
static const char *const ifvs[] = {"BMP-2", "BMP-3", "BMD-4M"};
static const char *const apcs[] = {"BTR-82A", "BTR-80", "MT-LB"};
static const char *const guns[] = {"2S19 Msta-S", "2S3 Akatsiya", "2S1 Gvozdika"};
static const char *const rockets[] = {"BM-21 Grad", "BM-27 Uragan"};
static const char *const trucks[] = {"KamAZ", "Ural-4320", "MAZ"};
static const char *const helis[] = {"Mi-8", "Ka-52", "Mi-24"};
static const char *const planes[] = {"Su-25", "Su-34", "Il-76", "Su-30SM"};
static const char *const sams[] = {"S-400", "Pantsir-S1", "Tor-M2"};

static const char *summary(const sl_report *r)
{
	static const char *const words[SL_CAT_COUNT] = {
	    [SL_CAT_RAIL_TRANSPORT] = "Military train",
	    [SL_CAT_ROAD_CONVOY] = "Convoy",
	    [SL_CAT_AIRCRAFT] = "Aircraft",
	    [SL_CAT_HELICOPTER] = "Helicopters",
	    [SL_CAT_TROOPS] = "Soldiers",
	    [SL_CAT_AIR_DEFENCE] = "Air defence",
	    [SL_CAT_MISSILE_SYSTEM] = "Missile launchers",
	};
	return words[r->category] ? words[r->category] : "Sighting";
}

/* The informant's words: "Military train: 12 x T-72B3 tank, 3 x KamAZ
 * truck. Going south. (demo data)". */
static const char *demo_text(demo_ctx *d, const sl_report *r)
{
	char buf[512];
	size_t used = (size_t)snprintf(buf, sizeof(buf), "%s", summary(r));
	for (size_t i = 0; i < r->n_equipment && used < sizeof(buf); i++) {
		const sl_equipment *e = &r->equipment[i];
		char count[24];
		if (e->count_max)
			snprintf(count, sizeof(count), "%d-%d", e->count, e->count_max);
		else
			snprintf(count, sizeof(count), "%d", e->count);
		used += (size_t)snprintf(buf + used, sizeof(buf) - used, "%s %s x %s%s%s",
					 i ? "," : ":", count, e->model ? e->model : "",
					 e->model ? " " : "",
					 sl_equipment_type_name(e->type));
	}
	if (r->has_heading && used < sizeof(buf))
		used += (size_t)snprintf(buf + used, sizeof(buf) - used, ". Going %s",
					 compass[(int)(r->heading_deg / 45) % 8]);
	if (r->destination && used < sizeof(buf))
		used += (size_t)snprintf(buf + used, sizeof(buf) - used, ", towards %s",
					 r->destination);
	if (used < sizeof(buf))
		snprintf(buf + used, sizeof(buf) - used, ". (demo data)");
	return sl_arena_strdup(d->a, buf);
}

static void heading(demo_ctx *d, sl_report *r)
{
	r->has_heading = true;
	r->heading_deg = 45.0 * below(&d->rng, 8);
}

/* One report of category c; strings in d->a. */
static bool make_one(demo_ctx *d, sl_report *r, sl_category c)
{
	r->category = c;
	r->equipment = sl_arena_alloc(d->a, 4 * sizeof(*r->equipment));
	if (!r->equipment)
		return false;
	switch (c) {
	case SL_CAT_RAIL_TRANSPORT: {
		const site *s = &stations[below(&d->rng, N(stations))];
		place_near(d, r, s, 300 + 100 * below(&d->rng, 8));
		switch (below(&d->rng, 4)) {
		case 0:
			add_item(d, r, SL_EQ_TANK, tanks, N(tanks), 6, 30);
			break;
		case 1:
			add_item(d, r, SL_EQ_IFV, ifvs, N(ifvs), 8, 30);
			break;
		case 2:
			add_item(d, r, SL_EQ_ARTILLERY, guns, N(guns), 4, 18);
			break;
		default:
			add_item(d, r, SL_EQ_MLRS, rockets, N(rockets), 4, 12);
			break;
		}
		if (below(&d->rng, 2))
			add_item(d, r, SL_EQ_TRUCK, trucks, N(trucks), 2, 20);
		if (below(&d->rng, 5) == 0)
			add_item(d, r, SL_EQ_FUEL_TRUCK, NULL, 0, 1, 6);
		if (below(&d->rng, 3)) {
			heading(d, r);
			const site *to = &stations[below(&d->rng, N(stations))];
			if (to != s)
				r->destination = to->name;
		}
		break;
	}
	case SL_CAT_ROAD_CONVOY: {
		const site *s = &roads[below(&d->rng, N(roads))];
		place_near(d, r, s, 500 + 250 * below(&d->rng, 8));
		add_item(d, r, SL_EQ_TRUCK, trucks, N(trucks), 3, 40);
		if (below(&d->rng, 2))
			add_item(d, r, SL_EQ_APC, apcs, N(apcs), 2, 12);
		if (below(&d->rng, 3) == 0)
			add_item(d, r, SL_EQ_TANK, tanks, N(tanks), 2, 10);
		if (below(&d->rng, 4) == 0)
			add_item(d, r, SL_EQ_FUEL_TRUCK, NULL, 0, 1, 5);
		heading(d, r);
		break;
	}
	case SL_CAT_AIRCRAFT: {
		const site *s = &airfields[below(&d->rng, N(airfields))];
		place_near(d, r, s, 2000 + 1000 * below(&d->rng, 5));
		add_item(d, r, SL_EQ_AIRCRAFT, planes, N(planes), 1, 6);
		if (below(&d->rng, 2))
			heading(d, r);
		break;
	}
	case SL_CAT_HELICOPTER: {
		bool base = below(&d->rng, 2);
		const site *s = base ? &airfields[below(&d->rng, N(airfields))]
				     : &roads[below(&d->rng, N(roads))];
		place_near(d, r, s, 1500 + 500 * below(&d->rng, 6));
		add_item(d, r, SL_EQ_HELICOPTER, helis, N(helis), 1, 8);
		heading(d, r);
		break;
	}
	case SL_CAT_AIR_DEFENCE: {
		const site *s = &airfields[below(&d->rng, N(airfields))];
		place_near(d, r, s, 3000);
		add_item(d, r, SL_EQ_AIR_DEFENCE, sams, N(sams), 1, 4);
		break;
	}
	case SL_CAT_MISSILE_SYSTEM: {
		const site *s = &stations[below(&d->rng, N(stations))];
		place_near(d, r, s, 2000);
		add_item(d, r, SL_EQ_MISSILE_LAUNCHER,
			 (const char *const[]){"9K720 Iskander-M"}, 1, 1, 4);
		break;
	}
	default: { /* troops */
		const site *s = &roads[below(&d->rng, N(roads))];
		place_near(d, r, s, 1000);
		add_item(d, r, SL_EQ_TRUCK, trucks, N(trucks), 1, 10);
		break;
	}
	}
	return true;
}

/* The share of each category, in per cent: trains first, as in the
 * sightings that Belarusian monitors actually got. */
static sl_category pick_category(demo_ctx *d)
{
	static const struct {
		sl_category c;
		unsigned pct;
	} mix[] = {
	    {SL_CAT_RAIL_TRANSPORT, 40}, {SL_CAT_ROAD_CONVOY, 25},
	    {SL_CAT_AIRCRAFT, 12},	 {SL_CAT_HELICOPTER, 10},
	    {SL_CAT_TROOPS, 5},		 {SL_CAT_AIR_DEFENCE, 4},
	    {SL_CAT_MISSILE_SYSTEM, 4},
	};
	unsigned roll = below(&d->rng, 100);
	for (size_t i = 0; i < N(mix); i++) {
		if (roll < mix[i].pct)
			return mix[i].c;
		roll -= mix[i].pct;
	}
	return SL_CAT_RAIL_TRANSPORT;
}

sl_err sl_import_demo(sl_import_batch *b, int64_t now)
{
	demo_ctx d = {.rng = 0x5ee1d0c0ffee2025ull};
	d.a = sl_arena_new(64 * 1024);
	if (!d.a)
		return SL_ENOMEM;
	sl_err err = SL_OK;
	for (int i = 1; i <= SL_DEMO_COUNT && err == SL_OK; i++) {
		sl_report r = {0};
		char ref[16];
		sl_arena_reset(d.a);
		sl_import_batch_count(b);
		if (!make_one(&d, &r, pick_category(&d))) {
			err = SL_ENOMEM;
			break;
		}
		/* Seen in the 30 days before now, to the minute; sometimes
		 * over a window, as a train passing takes a while. */
		int64_t ago = 600 + (int64_t)below(&d.rng, 30 * 86400 - 600);
		r.observed_at = (now - ago) - (now - ago) % 60;
		if (below(&d.rng, 3) == 0) {
			r.has_until = true;
			r.observed_until = r.observed_at + 60 * (5 + below(&d.rng, 40));
			if (r.observed_until > now)
				r.observed_until = now;
		}
		r.language = "en";
		r.text = demo_text(&d, &r);
		snprintf(ref, sizeof(ref), "demo-%04d", i);
		r.ref = ref;
		r.status = SL_STATUS_RECEIVED;
		r.received_at = now - now % 60;
		sl_problems why = {0};
		if (!r.text) {
			err = SL_ENOMEM;
		} else if (sl_report_validate(&r, now, &why) != SL_OK) {
			/* A bug here, not bad input: say so, as for a record. */
			sl_import_batch_reject_problems(b, i, &why);
		} else {
			err = sl_import_batch_add(b, &r, i);
		}
	}
	sl_arena_free(d.a);
	return err;
}
