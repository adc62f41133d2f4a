/*
 * engine_int.h — what the files of the corroboration engine share:
 * corroborate.c (reports, events, the cell index, placing and merging),
 * estimate.c (an event's location, time, equipment and confidence) and
 * sync.c (loading from and saving to a store, moderators' decisions).
 *
 * Reports and events live in two growing arrays and refer to each other by
 * index (int32), which keeps a report at about 80 bytes and lets the arrays
 * move when they grow. An event slot is reused once its event is dead.
 */
#ifndef SIGHTLINE_ENGINE_INT_H
#define SIGHTLINE_ENGINE_INT_H

#include "sightline/engine.h"

#define NONE (-1)

/* Report flags. */
#define R_POINT 1u    /* has a location */
#define R_REJECTED 2u /* a moderator rejected it */
#define R_VERIFIED 4u /* a moderator verified it */
#define R_PINNED 8u   /* a moderator linked it to one or more events */

/* One equipment item of a report, compactly. */
typedef struct eqi {
	int32_t count, count_max;
	uint8_t type;
} eqi;

typedef struct rep {
	int64_t id;
	int64_t t0;	   /* the observed window: t0 .. t0 + dur */
	float lat, lon;	   /* float: 0.2 m at these longitudes, far inside
			      any report's uncertainty */
	float sigma;	   /* metres */
	int16_t hx, hy;	   /* heading as a unit vector (east, north) times
			      HEADING_ONE; 0, 0 when none */
	uint32_t dur : 31; /* seconds */
	uint32_t has_heading : 1;
	int32_t home;	/* the event the engine placed it in, or NONE */
	uint32_t eq_at; /* its equipment in sl_engine.eq */
	uint16_t types; /* bit per equipment type it names */
	uint8_t n_eq;
	uint8_t cat;
	uint8_t flags;
	char reliability;    /* 'A'..'F', 0 when ungraded */
	uint8_t credibility; /* 1..6, 0 */
	uint8_t photos;	     /* capped at 255 */
	uint8_t main_type;   /* the type it counts most of (with main_cnt > 0) */
	uint16_t main_cnt;   /* how many, capped at 65535; 0: no equipment */
} rep;

#define HEADING_ONE 32767.0f

static inline int64_t rep_t1(const rep *r)
{
	return r->t0 + (int64_t)r->dur;
}

/* Event flags. */
#define E_LIVE 1u
#define E_DECIDED 2u /* a moderator's: never deleted or merged away */
#define E_DIRTY 4u   /* changed since the last save */
#define E_HAS_CAT 8u
#define E_INDEXED 16u

#define INLINE_MEMBERS 2 /* members kept in the event itself */

/* What an event's members count of one type: the first equipped
 * member's types, its main one first (n 0: an unused tally). */
#define TALLIES 2
typedef struct tally {
	uint16_t lo, hi; /* the fewest and most one member counts */
	uint16_t n;	 /* members counting it */
	uint8_t type;
	float sum; /* their counts, summed */
} tally;

typedef struct ev {
	int64_t store_id; /* 0 until saved */
	union {
		int32_t *m;		     /* cap > INLINE_MEMBERS */
		int32_t inl[INLINE_MEMBERS]; /* else */
	} u;
	uint32_t n, cap; /* members: report indices, engine's and moderators'
			    links alike */
	/* Sums over members with a point and not rejected, for the centroid
	 * and the gates; recomputed from the members after a removal. */
	double sw, swlat, swlon; /* weights w = q / sigma^2 */
	double sq;		 /* sum of 1 / sigma^2 */
	double tm_sum;		 /* member mid-times */
	int64_t tm_min;
	uint32_t tm_span; /* tm_max - tm_min */
	uint32_t n_live;  /* members counted in the sums */
	float sigma;	  /* sqrt(1 / sq) */
	float hs, hc;	  /* sums of the heading unit vectors (east, north) */
	uint16_t nh;
	uint16_t types;
	tally tl[TALLIES]; /* counts by type; tl[0] the main type */
	uint8_t cat;
	uint8_t flags;
	int32_t cy, cx, b0; /* where it is indexed (E_INDEXED) */
} ev;

static inline int32_t *ev_members(ev *v)
{
	return v->cap > INLINE_MEMBERS ? v->u.m : v->u.inl;
}

static inline const int32_t *ev_members_c(const ev *v)
{
	return v->cap > INLINE_MEMBERS ? v->u.m : v->u.inl;
}

static inline double ev_lat(const ev *v)
{
	return v->swlat / v->sw;
}

static inline double ev_lon(const ev *v)
{
	return v->swlon / v->sw;
}

static inline int64_t ev_tm_max(const ev *v)
{
	return v->tm_min + (int64_t)v->tm_span;
}

/* One cell of the index: a category, a cell of the grid and a time bucket,
 * and the events indexed there. */
typedef struct cell_key {
	int32_t cx, cy, b;
	int32_t cat; /* -1: empty slot */
} cell_key;

typedef struct cell {
	cell_key k;
	union {
		int32_t *v;		     /* cap > INLINE_MEMBERS */
		int32_t inl[INLINE_MEMBERS]; /* else */
	} u;
	uint32_t n, cap;
} cell;

static inline int32_t *cell_events(cell *c)
{
	return c->cap > INLINE_MEMBERS ? c->u.v : c->u.inl;
}

/* An open-addressing hash map from int64 to int32. */
typedef struct idmap {
	int64_t *keys;
	int32_t *vals;
	size_t cap, n; /* cap a power of two; key 0 is the empty slot */
} idmap;

/* A moderator's links of one report: the events (indices) it is in. */
typedef struct pinset {
	int32_t rep;
	uint32_t n;
	int32_t ev[4]; /* more than four: the rest are not counted in memory */
} pinset;

struct sl_engine {
	sl_engine_params p;
	double heading_max_cos;		 /* cos(p.heading_max_deg) */
	double inv_bucket[SL_CAT_COUNT]; /* 1 / time bucket length */
	rep *r;
	size_t nr, rcap;
	ev *e;
	size_t ne, ecap;
	int32_t free_ev; /* a dead slot's n holds the next free one */
	size_t live;
	eqi *eq; /* every report's equipment, in order */
	size_t neq, eqcap;
	/* Report id -> index: a dense array from dense_base while ids come
	 * in order (store ids do), the hash map for the rest. */
	int32_t *dense;
	int64_t dense_base;
	size_t dense_cap;
	idmap by_id;
	idmap by_store; /* stored event id -> index */
	cell *cells;
	size_t ncells, cellcap;
	bool sweeping;	  /* a batch's sweep: the index holds recent events only */
	bool index_stale; /* events are missing from the index (after a sweep) */
	/* Moderators' decisions. */
	pinset *pins;
	size_t npins, pincap;
	idmap pin_of;  /* report index + 1 -> index in pins */
	int64_t *bans; /* pairs (stored event id, report id), sorted */
	size_t nbans;
	/* Attached to a store (sync.c). */
	sl_store *store;
	int64_t last_report, last_change;
	int64_t saved_report, saved_change; /* the marks as last saved */
	int64_t *deleted;		    /* stored ids of engine events that died */
	size_t ndeleted, delcap;
	int32_t *scratch; /* candidate lists */
	size_t scratch_cap;
};

/* Grows an array of *cap elements of size elem to hold need, by half again
 * (corroborate.c). */
sl_err sl_eng_grow(void **arr, size_t *cap, size_t need, size_t elem, size_t first);
/* The index of report id, or NONE. */
int32_t sl_eng_report_index(const sl_engine *e, int64_t id);

/* idmap (corroborate.c). */
sl_err sl_idmap_put(idmap *m, int64_t key, int32_t val);
int32_t sl_idmap_get(const idmap *m, int64_t key); /* NONE when absent */
void sl_idmap_del(idmap *m, int64_t key);
void sl_idmap_free(idmap *m);

/* corroborate.c. */
int32_t sl_eng_new_event(sl_engine *e, uint8_t cat); /* NONE when out of memory */
sl_err sl_eng_member_add(sl_engine *e, int32_t ev, int32_t r);
void sl_eng_member_remove(sl_engine *e, int32_t ev, int32_t r);
void sl_eng_recompute(sl_engine *e, int32_t ev);
sl_err sl_eng_reindex(sl_engine *e, int32_t ev);
void sl_eng_kill(sl_engine *e, int32_t ev);
sl_err sl_eng_place(sl_engine *e, int32_t r);
void sl_eng_unplace(sl_engine *e, int32_t r);
/* Gives back the unused room of the report, event and equipment arrays. */
void sl_eng_shrink(sl_engine *e);
/* Places the reports idx[0..n) that are not placed yet, in time order with
 * a sliding index (much faster than one by one for many). */
sl_err sl_eng_place_many(sl_engine *e, const int32_t *idx, size_t n);
bool sl_eng_banned(const sl_engine *e, int32_t ev, int32_t r);
bool sl_eng_clusterable(const sl_engine *e, int32_t r);
/* Stores the report's fields (new or updated) without placing it; *idx
 * gets its index, *moved whether anything the placement depends on
 * changed, *reweighed whether (nothing else but) its weight did: grade,
 * verification, photos. */
sl_err sl_eng_put_report(sl_engine *e, const sl_queue_item *it, int32_t *idx, bool *moved,
			 bool *reweighed);

/* estimate.c: e's estimate into out, arrays in a (NULL: report_ids and
 * items left empty). engine_only: report_ids only of the engine's
 * members. */
sl_err sl_eng_estimate(const sl_engine *e, int32_t ev, bool engine_only, sl_arena *a,
		       sl_event *out);
/* A report's weight in 0..1 from its grade, status and photos. */
double sl_eng_report_weight(const rep *r);

#endif
