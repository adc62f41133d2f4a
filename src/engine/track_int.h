/*
 * track_int.h — what the files of the tracker share: track.c (events,
 * link costs, the sliding window and the assignment), track_net.c (network
 * distances and directions between events), track_shape.c (a track's route,
 * equipment, confidence and direction) and track_sync.c (the store).
 *
 * Events live in one array sorted by (mid-time, id); a track is a chain of
 * them (prev/next indices) with a record of its own. Everything before the
 * step of the earliest change stays as it is across a relink: only the
 * array's tail is sorted again and linked again, which is why a relink gives
 * what linking from scratch gives.
 */
#ifndef SIGHTLINE_TRACK_INT_H
#define SIGHTLINE_TRACK_INT_H

#include <math.h>

#include "engine/engine_int.h"
#include "sightline/track.h"

#define TE_LIVE 1u	/* in the array (a removed event is dropped at the next run) */
#define TE_TRACKED 2u	/* linkable: tracked category, an estimate and a point */
#define TE_SNAPPED 4u	/* on the network */
#define TE_AMBIGUOUS 8u /* started a track though another could have taken it */

#define TE_ITEMS 4 /* the largest items of an event kept */

typedef struct te_item {
	uint8_t type;
	int32_t count, lo, hi;
} te_item;

/* One event as the tracker sees it. */
typedef struct tev {
	int64_t id;
	int64_t t, t0, t1; /* mid-time and window */
	double lat, lon;
	float unc;     /* metres */
	float coslat;  /* cos(lat), for quick distances */
	float heading; /* degrees, NAN when none */
	float conf;
	uint32_t n_reports;
	uint8_t cat;
	uint8_t flags;
	uint8_t n_items;
	te_item item[TE_ITEMS]; /* largest count first: item[0] is the main load */
	/* On the network (TE_SNAPPED). */
	uint32_t edge;
	float off;	/* along the edge, metres */
	float snap_m;	/* from the event's place */
	float edge_brg; /* the edge's bearing there, from its `from` end */
	/* Links. */
	int32_t prev, next, track;
	float cost;	/* of the link from prev */
	float way_m;	/* the way from prev */
	int8_t arr_dir; /* along the edge when arriving from prev: +1 the edge's
			   way, -1 against it, 0 unknown */
	float arr_brg;	/* bearing of travel arriving, NAN unknown */
} tev;

#define RECENT 7 /* main loads a track remembers */

typedef struct trk {
	int64_t store_id; /* 0 until saved */
	int64_t head_id;  /* the id of its first event: its identity */
	int32_t head, tail;
	uint32_t n;
	uint8_t cat;
	bool live, dirty; /* dirty: to be saved */
	uint32_t touched; /* the run that last changed it */
	/* What the next link is costed against. */
	double way_m, way_s; /* links long enough to time a speed */
	uint8_t n_recent, recent_at;
	uint8_t recent_type[RECENT];
	uint16_t recent_mask[RECENT]; /* every type each one named */
	float recent_count[RECENT];
} trk;

/* What the tracker knows of the way between two events. */
typedef struct way {
	double m;	 /* length */
	bool on_network; /* along it: dep/arr are known */
	int8_t dep_dir;	 /* leaving a: +1 along a's edge, -1 against */
	int8_t arr_dir;	 /* arriving at b: the same on b's edge */
	double dep_brg;	 /* bearing leaving a */
	double arr_brg;	 /* bearing arriving at b */
} way;

/* Network distances (track_net.c): all pairs of nodes when the network is
 * small enough, bounded A* otherwise. */
typedef struct tnet {
	const sl_network *net;
	size_t n_nodes, n_edges;
	float *apsp; /* n_nodes^2, or NULL */
	uint32_t *e_from, *e_to;
	double *e_len;
	const sl_border_crossing *x; /* the crossings of home's border */
	size_t n_x;
} tnet;

#define TNET_APSP_MAX_NODES 2048

struct sl_tracker {
	sl_track_params p;
	const sl_stations *stations;
	const sl_borders *borders;
	tnet net;
	bool has_net;
	sl_border_crossing *crossings;
	size_t n_crossings;
	double max_gap_s; /* the largest of any tracked category */
	tev *ev;
	size_t nev, evcap;
	size_t n_sorted; /* ev[0 .. n_sorted) are in order; the rest new */
	idmap by_id;	 /* event id -> index */
	trk *tr;
	size_t ntr, trcap;
	size_t live_tracks;
	int64_t t_change; /* the earliest time put or removed since the last
			     run; INT64_MAX when none */
	uint32_t run;	  /* runs so far */
	size_t died;	  /* tracks the current run dropped */
	/* Store ids of tracks that died in the last run, by head event, for
	 * the next ones to reuse or the save to delete. */
	int64_t *dead_heads, *dead_ids;
	size_t n_dead, deadcap;
	/* Attached to a store (track_sync.c). */
	sl_store *store;
	int64_t mark;	      /* events updated at or after it are read */
	int64_t known_events; /* events the store had at the last read */
	int64_t last_full;    /* when every event was last read */
};

/* track.c */
int64_t sl_trk_step_of(const sl_tracker *t, int64_t time);
/* One step's assignment on its own, for the tests: nrows rows, each to one
 * of the columns its edges name (row_start[nrows + 1], ecol, ecost: CSR),
 * each column to at most one row, at least total cost (or first-come
 * greedy). Every row needs a column no other row has (its birth), so that
 * a solution exists. row_col (nrows) gets each row's column. */
sl_err sl_trk_assign(size_t nrows, size_t ncols, const uint32_t *row_start,
		     const uint32_t *ecol, const double *ecost, bool greedy,
		     int32_t *row_col /* OUT */);

/* A binary min-heap of (key, value), growing (track_net.c): the
 * all-pairs Dijkstras and the assignment's shortest paths share it. */
typedef struct theap_item {
	double d;
	uint32_t v;
} theap_item;

typedef struct theap {
	theap_item *a;
	size_t n, cap;
} theap;

bool sl_theap_push(theap *h, double d, uint32_t v); /* false: out of memory */
theap_item sl_theap_pop(theap *h);		    /* h->n > 0 */

/* track_net.c */
sl_err sl_tnet_init(tnet *n, const sl_network *net);
void sl_tnet_free(tnet *n);
/* Snaps e (sets TE_SNAPPED, edge, off, snap_m, edge_brg). */
void sl_tnet_snap(const tnet *n, double snap_m, tev *e);
/* The way from a to b along the network, at most bound_m: false when
 * there is none that short. */
bool sl_tnet_way(const tnet *n, const tev *a, const tev *b, double bound_m, way *out);
/* The way ahead from e leaving along dir (+1/-1) to crossing x; INFINITY
 * when it cannot be reached that way (or without all pairs). */
double sl_tnet_ahead(const tnet *n, const tev *e, int dir, const sl_border_crossing *x);

/* track_shape.c: track k as an sl_track (arrays in a). */
sl_err sl_trk_shape(sl_tracker *t, size_t k, sl_arena *a, sl_track *out);

/* Adds a tev's equipment item by type and count (track.c and shape). */
double sl_trk_eq_ratio(double a, double b);

#endif
