/*
 * sim.h — the simulator: realistic report streams with ground truth.
 *
 * Real objects move — military trains along the rail network, road convoys
 * between towns, aircraft and helicopter sorties from real airfields — and
 * simulated observers report what they see the way informants do: with
 * position and time noise, miscounts, the odd tank taken for an IFV,
 * duplicates, late reports and some false reports. Every report carries a
 * ref; the truth tells, for each ref, which object and which occurrence (one
 * passage at one place) it saw, or that it saw nothing. Corroboration is
 * measured against that truth (one occurrence should be one event) and
 * tracking against the objects (occurrences of one object are one track).
 *
 * sl_sim_run streams reports and truth to a callback in emission (received)
 * order; `sightline simulate` (src/cli/simulate.c) writes them as JSON lines.
 * The model, its parameters and the formats are in docs/SIMULATOR.md. The
 * same configuration and seed give the same stream, byte for byte.
 */
#ifndef SIGHTLINE_SIM_H
#define SIGHTLINE_SIM_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sightline/err.h"
#include "sightline/network.h"
#include "sightline/report.h"

typedef enum sl_sim_kind {
	SL_SIM_RAIL,
	SL_SIM_CONVOY,
	SL_SIM_SORTIE,
	SL_SIM_FALSE, /* a false report: no object */
	SL_SIM_KIND_COUNT
} sl_sim_kind;

/* "rail", "convoy", "sortie", "false". */
const char *sl_sim_kind_name(sl_sim_kind k);
bool sl_sim_kind_from_name(const char *name, sl_sim_kind *out);

/* 2022-10-10T00:00:00Z: a fixed default start, so output is reproducible. */
#define SL_SIM_DEFAULT_START 1665360000
#define SL_SIM_MAX_HOURS (24 * 366)
#define SL_SIM_MAX_SCALE 10000.0

/* An airfield sorties take off from. */
typedef struct sl_sim_airfield {
	char name[96];
	char ident[16];
	double lat, lon;
	double weight; /* how busy, relative to the others (0 = never) */
} sl_sim_airfield;

/* Reads an OurAirports CSV (id, ident, type, name, latitude_deg,
 * longitude_deg, ...; columns found by name) with libcsv. Closed fields get
 * weight 0; the Belarusian bases busy in 2022 (Machulishchy, Baranavichi,
 * Lida, Luninets, Pribytki/Zyabrovka, Babruisk, ...) get more than the rest.
 * *out (n items in *n) is the caller's to free(). Errors name the line. */
sl_err sl_sim_airfields_load(const char *path, sl_sim_airfield **out /* OUT */,
			     size_t *n /* OUT */, sl_problems *why);

/* The built-in airfields, used when none are given (a static table). */
size_t sl_sim_airfields_default(const sl_sim_airfield **out /* OUT */);

/* Objects given by the user (--objects): one JSON object per line. */
typedef struct sl_sim_objects sl_sim_objects;

#define SL_SIM_OBJECTS_MAX_BYTES (16u << 20)
#define SL_SIM_OBJECTS_MAX 100000u
#define SL_SIM_ROUTE_MAX 1000u

/* Reads the objects file (docs/SIMULATOR.md: id, kind, category, route as
 * [[lon, lat], ...] or station names, start, end, origin, destination,
 * equipment). Station names are resolved later, against the stations the
 * run uses. *out is new; free with sl_sim_objects_free. Errors name the
 * line and the field. */
sl_err sl_sim_objects_load(const char *path, sl_sim_objects **out /* OUT */,
			   sl_problems *why);
sl_err sl_sim_objects_load_buffer(const char *buf, size_t len,
				  sl_sim_objects **out /* OUT */, sl_problems *why);
void sl_sim_objects_free(sl_sim_objects *o);
size_t sl_sim_objects_count(const sl_sim_objects *o);

typedef struct sl_sim_config {
	uint64_t seed;
	int64_t start;		     /* Unix seconds; SL_SIM_DEFAULT_START by default */
	double hours;		     /* length of the window observed (24) */
	double scale;		     /* multiplies the number of generated objects (1) */
	const sl_network *network;   /* NULL: the generated network of seed */
	const sl_stations *stations; /* NULL: the generated network's, or none
				      * when a network is given without them */
	const sl_sim_airfield *airfields; /* NULL: the built-in ones */
	size_t n_airfields;
	const sl_sim_objects *objects; /* NULL: generated objects; else only these */
	double false_rate;	       /* share of reports that saw nothing (0.05) */
	double duplicate_rate;	       /* share of true reports sent twice (0.03) */
	double late_rate;	       /* share sent hours after (0.08) */
	bool text;		       /* add a short free text to each report */
} sl_sim_config;

void sl_sim_config_default(sl_sim_config *c /* OUT */);

/* One report as emitted, with its truth. Everything is borrowed for the
 * duration of the callback only. */
typedef struct sl_sim_record {
	const sl_report *report;
	const char *ref; /* = report->ref */
	sl_sim_kind kind;
	const char *object;	/* "train-3"; NULL for a false report */
	const char *occurrence; /* "train-3#5"; NULL for a false report */
	int64_t received_at;	/* when it reached the server (emission order) */
	bool duplicate;		/* the same person sending it again */
	bool late;		/* sent hours after it was seen */
} sl_sim_record;

/* Told about each report in turn; anything but SL_OK stops the run and is
 * returned by sl_sim_run. */
typedef sl_err (*sl_sim_emit)(void *ud, const sl_sim_record *rec);

typedef struct sl_sim_stats {
	size_t objects[SL_SIM_KIND_COUNT]; /* by kind (false: always 0) */
	size_t occurrences;		   /* with at least one report */
	size_t reports[SL_SIM_KIND_COUNT]; /* by kind of what was seen */
	size_t duplicates, late;
} sl_sim_stats;

/* Runs the simulation of c and emits every report. stats may be NULL.
 * Memory: about 100 bytes per report until the run ends (reports are
 * emitted in received order, so all are drawn before the first is sent).
 * SL_EINVAL (said in why) for a bad configuration or an object that cannot
 * be placed (a station name not found, a rail route that the network does
 * not connect). */
sl_err sl_sim_run(const sl_sim_config *c, sl_sim_emit emit, void *ud,
		  sl_sim_stats *stats /* OUT */, sl_problems *why);

/* The truth line of a record: {"ref", "object", "occurrence", "kind"}.
 * New reference; NULL when out of memory. */
json_t *sl_sim_truth_json(const sl_sim_record *rec);

#endif
