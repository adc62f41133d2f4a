/*
 * track.h — tracking: events linked into the tracks of moving units, and
 * where each track is going (docs/TRACKING.md).
 *
 * The corroboration engine makes events (one occurrence at one place); the
 * tracker links the events of one moving unit — a military train along the
 * rail network, a road convoy, an aircraft — into a track. A link from an
 * earlier event to a later one is feasible when the way between them (the
 * network distance for trains, the straight line for the rest) fits in the
 * time gap at the category's top speed, the direction of travel is
 * consistent (no turning back, reported headings along the way) and the
 * equipment is compatible; its cost says how well it fits. Events are taken
 * in steps of params.step_s along time (a sliding window): the events of one
 * step are assigned to the ends of the tracks alive at that time, or to each
 * other, or start new tracks, by a minimum-cost assignment over all of them
 * at once (successive shortest paths), so that two trains passing one
 * junction are not swapped the way first-come greedy swaps them.
 *
 * Each track then gets its route (along the network, as a polyline), first
 * and last seen, heading, equipment estimate and confidence, and, with
 * country borders, a direction class (toward or away from the Ukrainian
 * border, toward the Russian one, internal) with a confidence and the border
 * crossing its route leads to.
 *
 * An sl_tracker lives in memory. Used alone (sl_tracker_put, sl_tracker_run)
 * it links any set of events, as the benchmark and the tests do. Attached to
 * a store (sl_tracker_load, sl_tracker_sync), it reads the events saved
 * there, relinks from the earliest event that changed, and saves the tracks
 * that changed. The result depends only on the events and the parameters:
 * relinking after a change gives what linking everything from scratch gives.
 *
 * An sl_tracker is not thread-safe: one thread drives it (the server's engine
 * thread, or a command). The network, stations and borders it is given are
 * only read, and must outlive it.
 */
#ifndef SIGHTLINE_TRACK_H
#define SIGHTLINE_TRACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sightline/borders.h"
#include "sightline/err.h"
#include "sightline/network.h"
#include "sightline/report.h"
#include "sightline/store.h"

typedef struct sl_tracker sl_tracker;

/* How units of one category move. */
typedef struct sl_track_motion {
	bool tracked;		  /* false: events of this category are not linked */
	bool on_network;	  /* along the rail network, when one is given */
	double max_speed_kmh;	  /* no link needs more (90 for military trains) */
	double typical_speed_kmh; /* expected until a track shows its own */
	double max_gap_s;	  /* the most time between two sightings linked */
	double detour;		  /* the way is the straight line times this */
	double link_prior;	  /* added to every link's cost: how unlikely two
				     sightings are one unit before looking */
} sl_track_motion;

typedef struct sl_track_params {
	sl_track_motion motion[SL_CAT_COUNT];
	double snap_m;		   /* events this close to the network are on it */
	int64_t step_s;		   /* the sliding window's step */
	double time_slack_s;	   /* added to every time gap: clocks and memory */
	double birth_cost;	   /* a link must cost less than a new track */
	double heading_max_deg;	   /* a reported heading this far off the way is
				      another unit */
	bool greedy;		   /* first-come greedy instead of the min-cost
				      assignment (the benchmark's baseline) */
	int home, ukraine, russia; /* ISO 3166 numeric: 112, 804, 643 */
} sl_track_params;

/* The defaults, documented in docs/TRACKING.md: trains at most 90 km/h
 * along the network, gaps up to 6 h; convoys 70 km/h straight (x1.25),
 * aircraft 950 km/h, helicopters 300 km/h; one step per hour. */
void sl_track_params_default(sl_track_params *p /* OUT */);

/* A new tracker with params p (NULL: the defaults). net, stations and
 * borders may each be NULL: without a network trains go by straight lines
 * too, without stations crossings have no names, without borders tracks
 * have no direction class. Caller frees with sl_tracker_free. SL_EINVAL for
 * bad params (a speed or gap not above 0, a step under a minute). */
sl_err sl_tracker_new(const sl_track_params *p, const sl_network *net,
		      const sl_stations *stations, const sl_borders *borders,
		      sl_tracker **out /* OUT */);
void sl_tracker_free(sl_tracker *t);

/* Adds event ev (by ev->id, which must not be 0), or replaces it when the
 * tracker has it; nothing is linked until sl_tracker_run. Events without an
 * estimate, a point or a report, or of an untracked category, are kept out
 * of tracks. Does not keep ev. SL_ETOOBIG past SL_TRACK_EVENTS_MAX. */
#define SL_TRACK_EVENTS_MAX 10000000u
sl_err sl_tracker_put(sl_tracker *t, const sl_event *ev);

/* Forgets event id (not known is fine). */
sl_err sl_tracker_remove(sl_tracker *t, int64_t id);

/* Links again every event from the earliest one put or removed since the
 * last run. *changed (may be NULL) gets how many tracks this run made,
 * changed or dropped (a track linked again into what it was counts). */
sl_err sl_tracker_run(sl_tracker *t, size_t *changed /* OUT */);

size_t sl_tracker_event_count(const sl_tracker *t); /* events held */
size_t sl_tracker_track_count(const sl_tracker *t); /* tracks, singletons too */

/* The track event id is in: *key (stable until the next run) and how many
 * events that track has. SL_ENOTFOUND for an event the tracker does not
 * have or keeps out of tracks. */
sl_err sl_tracker_track_of(const sl_tracker *t, int64_t id, int64_t *key /* OUT */,
			   size_t *n_events /* OUT */);

/* Calls visit for every track in order of first sighting, with its route,
 * equipment, confidence and direction (refs NULL, id the store's or, never
 * saved, the negated key). Everything is valid until visit returns. Stops
 * at the first non-SL_OK. */
typedef sl_err (*sl_track_visit)(void *ud, const sl_track *tr);
sl_err sl_tracker_each_track(sl_tracker *t, sl_track_visit visit, void *ud);

/* Attached to a store. sl_tracker_load reads every event and the saved
 * tracks, links everything and saves what differs from what was saved;
 * sl_tracker_sync reads the events changed since, relinks from the earliest
 * of them and saves the tracks that changed (*changed, may be NULL). Only
 * the process holding the engine's lock should run them (after the engine:
 * sl_engine_catch_up, or the server's engine thread). The store must
 * outlive the tracker. */
sl_err sl_tracker_load(sl_tracker *t, sl_store *s, int64_t now);
sl_err sl_tracker_sync(sl_tracker *t, int64_t now, size_t *changed /* OUT */);

/* The direction class of a move from (lat0, lon0) to (lat1, lon1) by the
 * change of its distances to the borders of ukraine and russia (ISO 3166
 * numeric), as a track's from its first place to its last
 * (docs/TRACKING.md "Where it is going"): SL_DIR_UNKNOWN without borders
 * or for a move under 5 km. Publication classes a public track by its
 * published points with it, so that the class says nothing its points do
 * not (docs/PUBLISH.md). */
sl_direction sl_track_direction_of_move(const sl_borders *b, int ukraine, int russia,
					double lat0, double lon0, double lat1,
					double lon1);

/* What a tracker is made with, for sl_tracker_catch_up (any may be NULL). */
typedef struct sl_track_context {
	const sl_track_params *params;
	const sl_network *network;
	const sl_stations *stations;
	const sl_borders *borders;
} sl_track_context;

/* Brings the tracks of store s up to date once: loads a tracker made from
 * ctx (NULL: nothing but the defaults), syncs and frees it. The caller
 * holds the engine's lock (sl_engine_catch_up said it ran). */
sl_err sl_tracker_catch_up(sl_store *s, const sl_track_context *ctx, int64_t now);

#endif
