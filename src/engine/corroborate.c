/*
 * corroborate.c — placing reports into events (docs/ENGINE.md).
 *
 * A new report is compared with the events near it in space and time: the
 * cell index (a grid of CELL_M cells per category and time bucket) gives a
 * handful of candidates, each is scored against the report, and the report
 * joins the best one that passes every gate, or starts an event of its own.
 * When it also passes the gates of a second candidate and the two events
 * pass them against each other, it bridges them and they merge.
 *
 * The gates, per category (sl_engine_params): the distance between the
 * report and the event's centroid within `sigmas` combined standard
 * deviations plus the category's slack (observers of one passage stand a
 * few hundred metres apart along the line); the report's time within the
 * category's gap of the event's mean time; the event's members within its
 * span; for moving categories the headings within heading_max_deg; and no
 * moderator's ban of the pair. Among the passing events the lowest sum of
 * the squared distance and time ratios wins, with a penalty when the two
 * name disjoint kinds of equipment (tanks against fuel trucks).
 *
 * Moderators' decisions are respected here by construction: an event a
 * moderator decided is never merged away nor emptied, a pinned report
 * (one a moderator linked) is never placed, and banned pairs never meet.
 */
#include "engine/engine_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sightline/geo.h"

#define CELL_M 16000.0	    /* side of an index cell: a search looks at 1 to 4 */
#define REF_COS 0.587785    /* cos(54 deg): index cells are square in Belarus */
#define SIGMA_IDX 1000.0    /* the event uncertainty the search allows for */
#define MAX_CELL_SPAN 3	    /* cells each way searched at most */
#define MAX_BUCKETS 3	    /* time buckets a report looks into */
#define PENALTY_TYPES 0.5   /* disjoint kinds of equipment */
#define MAX_MERGES 2	    /* bridges one report may close */
#define MAX_CANDIDATES 4096 /* events one search returns at most */

#define DEG_M (SL_GEO_EARTH_M * SL_GEO_PI / 180.0) /* metres per degree */

/* ---- an int64 -> int32 hash map ---- */

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

static sl_err idmap_grow(idmap *m)
{
	size_t ncap = m->cap ? m->cap * 2 : 1024;
	int64_t *keys = calloc(ncap, sizeof(*keys));
	int32_t *vals = malloc(ncap * sizeof(*vals));
	if (!keys || !vals) {
		free(keys);
		free(vals);
		return SL_ENOMEM;
	}
	for (size_t i = 0; i < m->cap; i++) {
		if (!m->keys[i])
			continue;
		size_t j = mix64((uint64_t)m->keys[i]) & (ncap - 1);
		while (keys[j])
			j = (j + 1) & (ncap - 1);
		keys[j] = m->keys[i];
		vals[j] = m->vals[i];
	}
	free(m->keys);
	free(m->vals);
	m->keys = keys;
	m->vals = vals;
	m->cap = ncap;
	return SL_OK;
}

sl_err sl_idmap_put(idmap *m, int64_t key, int32_t val)
{
	if (key == 0)
		return SL_EINVAL;
	if ((m->n + 1) * 2 > m->cap) {
		sl_err err = idmap_grow(m);
		if (err)
			return err;
	}
	size_t j = mix64((uint64_t)key) & (m->cap - 1);
	while (m->keys[j] && m->keys[j] != key)
		j = (j + 1) & (m->cap - 1);
	if (!m->keys[j])
		m->n++;
	m->keys[j] = key;
	m->vals[j] = val;
	return SL_OK;
}

int32_t sl_idmap_get(const idmap *m, int64_t key)
{
	if (!m->cap || key == 0)
		return NONE;
	size_t j = mix64((uint64_t)key) & (m->cap - 1);
	while (m->keys[j]) {
		if (m->keys[j] == key)
			return m->vals[j];
		j = (j + 1) & (m->cap - 1);
	}
	return NONE;
}

/* Backward-shift deletion keeps every probe chain whole. */
void sl_idmap_del(idmap *m, int64_t key)
{
	if (!m->cap || key == 0)
		return;
	size_t mask = m->cap - 1, j = mix64((uint64_t)key) & mask;
	while (m->keys[j] && m->keys[j] != key)
		j = (j + 1) & mask;
	if (!m->keys[j])
		return;
	m->keys[j] = 0;
	m->n--;
	for (size_t k = (j + 1) & mask; m->keys[k]; k = (k + 1) & mask) {
		size_t home = mix64((uint64_t)m->keys[k]) & mask;
		/* Move k back to j when its home is not in (j, k]. */
		bool between = j <= k ? (home > j && home <= k) : (home > j || home <= k);
		if (!between) {
			m->keys[j] = m->keys[k];
			m->vals[j] = m->vals[k];
			m->keys[k] = 0;
			j = k;
		}
	}
}

void sl_idmap_free(idmap *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

sl_err sl_eng_grow(void **arr, size_t *cap, size_t need, size_t elem, size_t first)
{
	if (need <= *cap)
		return SL_OK;
	size_t ncap = *cap ? *cap + *cap / 2 : first;
	if (ncap < need)
		ncap = need;
	if (ncap > SIZE_MAX / elem)
		return SL_ENOMEM;
	void *g = realloc(*arr, ncap * elem);
	if (!g)
		return SL_ENOMEM;
	*arr = g;
	*cap = ncap;
	return SL_OK;
}

/* Ids a little ahead of the dense array still go into it. */
#define DENSE_SLACK 4096

int32_t sl_eng_report_index(const sl_engine *e, int64_t id)
{
	if (id >= e->dense_base && (uint64_t)(id - e->dense_base) < e->dense_cap) {
		int32_t i = e->dense[id - e->dense_base];
		if (i != NONE)
			return i;
	}
	return sl_idmap_get(&e->by_id, id);
}

/* Remembers report id at index i: in the dense array when id is near its
 * end, else in the hash map. */
static sl_err index_report(sl_engine *e, int64_t id, int32_t i)
{
	if (!e->dense)
		e->dense_base = id;
	if (id >= e->dense_base) {
		uint64_t off = (uint64_t)(id - e->dense_base);
		if (off >= e->dense_cap && off < e->dense_cap + DENSE_SLACK + e->nr) {
			size_t old = e->dense_cap;
			sl_err err = sl_eng_grow((void **)&e->dense, &e->dense_cap,
						 off + 1, sizeof(int32_t), 4096);
			if (err)
				return err;
			for (size_t k = old; k < e->dense_cap; k++)
				e->dense[k] = NONE;
		}
		if (off < e->dense_cap) {
			e->dense[off] = i;
			return SL_OK;
		}
	}
	return sl_idmap_put(&e->by_id, id, i);
}

/* ---- parameters ---- */

void sl_engine_params_default(sl_engine_params *p)
{
	memset(p, 0, sizeof(*p));
	p->sigmas = 3.0;
	p->min_sigma_m = 50.0;
	p->heading_max_deg = 90.0;
	/* slack_m, gap_s, span_s, moving: docs/ENGINE.md explains each. */
	const sl_engine_gate moving_ground = {200, 18 * 60, 60 * 60, true};
	p->gate[SL_CAT_RAIL_TRANSPORT] = moving_ground;
	p->gate[SL_CAT_ROAD_CONVOY] = moving_ground;
	p->gate[SL_CAT_AIRCRAFT] = (sl_engine_gate){3000, 15 * 60, 30 * 60, true};
	p->gate[SL_CAT_HELICOPTER] = (sl_engine_gate){2000, 15 * 60, 30 * 60, true};
	p->gate[SL_CAT_TROOPS] = (sl_engine_gate){1000, 6 * 3600, 24 * 3600, false};
	p->gate[SL_CAT_AIR_DEFENCE] = (sl_engine_gate){1000, 12 * 3600, 3 * 86400, false};
	p->gate[SL_CAT_MISSILE_SYSTEM] =
	    (sl_engine_gate){1000, 6 * 3600, 24 * 3600, false};
	p->gate[SL_CAT_NAVAL] = (sl_engine_gate){2000, 6 * 3600, 24 * 3600, false};
	p->gate[SL_CAT_FORTIFICATION] =
	    (sl_engine_gate){500, 7 * 86400, 60 * 86400, false};
	p->gate[SL_CAT_OTHER] = (sl_engine_gate){1000, 3 * 3600, 12 * 3600, false};
}

/* ---- geometry and time of one report ---- */

static int64_t mid_time(const rep *r)
{
	return r->t0 + (int64_t)(r->dur / 2);
}

static double half_width(const rep *r)
{
	return (double)r->dur / 2;
}

/* Equirectangular squared distance in square metres, with c the cosine of
 * a latitude near both points: exact enough inside a gate. */
static double near_distance2(double lat1, double lon1, double lat2, double lon2, double c)
{
	double dy = (lat2 - lat1), dx = (lon2 - lon1) * c;
	return DEG_M * DEG_M * (dx * dx + dy * dy);
}

static double cos_deg(double lat)
{
	return cos(lat * SL_GEO_PI / 180.0);
}

/* floor() without a libm call (x86-64's baseline has no SSE4.1 round):
 * this is on the hot path of every placement. |x| is far below 2^31. */
static int32_t ifloor(double x)
{
	int32_t i = (int32_t)x;
	return i - (x < (double)i);
}

static int32_t cell_y(double lat)
{
	return ifloor(lat * (DEG_M / CELL_M));
}

static int32_t cell_x(double lon)
{
	return ifloor(lon * (DEG_M * REF_COS / CELL_M));
}

/* Time buckets of four spans: a search then mostly looks at one bucket,
 * and a cell-bucket still holds few events (a year at the busiest station
 * is a few hundred passages, a handful to a 4-hour bucket). */
static int64_t bucket_len(const sl_engine *e, uint8_t cat)
{
	int64_t b = 4 * e->p.gate[cat].span_s;
	return b < 3600 ? 3600 : b;
}

static int32_t bucket_of(const sl_engine *e, uint8_t cat, int64_t t)
{
	return ifloor((double)t * e->inv_bucket[cat]);
}

bool sl_eng_clusterable(const sl_engine *e, int32_t r)
{
	const rep *p = &e->r[r];
	return (p->flags & R_POINT) && !(p->flags & (R_REJECTED | R_PINNED));
}

/* ---- the cell index ---- */

static uint64_t cell_hash(cell_key k)
{
	uint64_t h = (uint64_t)(uint32_t)k.cx * 0x9e3779b97f4a7c15ULL;
	h ^= (uint64_t)(uint32_t)k.cy * 0xc2b2ae3d27d4eb4fULL;
	h ^= (uint64_t)(uint32_t)k.b * 0x165667b19e3779f9ULL;
	h ^= (uint64_t)(uint32_t)k.cat;
	return mix64(h);
}

static bool key_eq(cell_key a, cell_key b)
{
	return a.cx == b.cx && a.cy == b.cy && a.b == b.b && a.cat == b.cat;
}

static sl_err cells_grow(sl_engine *e)
{
	size_t ncap = e->cellcap ? e->cellcap * 2 : 4096;
	cell *nc = calloc(ncap, sizeof(*nc));
	if (!nc)
		return SL_ENOMEM;
	for (size_t i = 0; i < ncap; i++)
		nc[i].k.cat = -1;
	for (size_t i = 0; i < e->cellcap; i++) {
		if (e->cells[i].k.cat < 0)
			continue;
		size_t j = cell_hash(e->cells[i].k) & (ncap - 1);
		while (nc[j].k.cat >= 0)
			j = (j + 1) & (ncap - 1);
		nc[j] = e->cells[i];
	}
	free(e->cells);
	e->cells = nc;
	e->cellcap = ncap;
	return SL_OK;
}

/* The cell of k, made when create and missing; NULL when absent (or out of
 * memory). An emptied cell leaves the table (cell_remove). */
static cell *cell_at(sl_engine *e, cell_key k, bool create)
{
	if (create && (e->ncells + 1) * 10 > e->cellcap * 7 && cells_grow(e))
		return NULL;
	if (!e->cellcap)
		return NULL;
	size_t j = cell_hash(k) & (e->cellcap - 1);
	while (e->cells[j].k.cat >= 0) {
		if (key_eq(e->cells[j].k, k))
			return &e->cells[j];
		j = (j + 1) & (e->cellcap - 1);
	}
	if (!create)
		return NULL;
	e->cells[j].k = k;
	e->ncells++;
	return &e->cells[j];
}

/* Takes emptied cell c out of the table (backward-shift deletion, so that
 * every probe chain stays whole), keeping the table as small as the live
 * index: a sliding batch touches few cells at a time. */
static void cell_remove(sl_engine *e, cell *c)
{
	if (c->cap > INLINE_MEMBERS)
		free(c->u.v);
	size_t mask = e->cellcap - 1, j = (size_t)(c - e->cells);
	memset(&e->cells[j], 0, sizeof(cell));
	e->cells[j].k.cat = -1;
	e->ncells--;
	for (size_t k = (j + 1) & mask; e->cells[k].k.cat >= 0; k = (k + 1) & mask) {
		size_t home = cell_hash(e->cells[k].k) & mask;
		bool between = j <= k ? (home > j && home <= k) : (home > j || home <= k);
		if (!between) {
			e->cells[j] = e->cells[k];
			memset(&e->cells[k], 0, sizeof(cell));
			e->cells[k].k.cat = -1;
			j = k;
		}
	}
}

/* Appends v to an inline-or-heap list (an event's members, a cell's
 * events): the first INLINE_MEMBERS live in the struct itself, which spares
 * most events and cells a malloc. */
static sl_err list_push(int32_t **heap, int32_t *inl, uint32_t *n, uint32_t *cap,
			int32_t v)
{
	if (*cap < INLINE_MEMBERS)
		*cap = INLINE_MEMBERS;
	if (*n == *cap) {
		uint32_t ncap = *cap * 2;
		int32_t *g;
		if (*cap == INLINE_MEMBERS) {
			g = malloc(ncap * sizeof(*g));
			if (g)
				memcpy(g, inl, INLINE_MEMBERS * sizeof(*g));
		} else {
			g = realloc(*heap, ncap * sizeof(*g));
		}
		if (!g)
			return SL_ENOMEM;
		*heap = g;
		*cap = ncap;
	}
	(*cap > INLINE_MEMBERS ? *heap : inl)[(*n)++] = v;
	return SL_OK;
}

static sl_err cell_push(sl_engine *e, cell_key k, int32_t v)
{
	cell *c = cell_at(e, k, true);
	if (!c)
		return SL_ENOMEM;
	return list_push(&c->u.v, c->u.inl, &c->n, &c->cap, v);
}

static void cell_drop(sl_engine *e, cell_key k, int32_t v)
{
	cell *c = cell_at(e, k, false);
	if (!c)
		return;
	int32_t *l = cell_events(c);
	for (uint32_t i = 0; i < c->n; i++)
		if (l[i] == v) {
			l[i] = l[--c->n];
			break;
		}
	if (c->n == 0)
		cell_remove(e, c);
}

static void unindex(sl_engine *e, int32_t id)
{
	ev *v = &e->e[id];
	if (!(v->flags & E_INDEXED))
		return;
	cell_drop(e, (cell_key){v->cx, v->cy, v->b0, v->cat}, id);
	v->flags &= (uint8_t)~E_INDEXED;
}

/* An event is indexed in one cell: that of its centroid and of the time
 * bucket of its mean time (a search looks at the buckets within the gap
 * of a report); an event of reports without a point is not indexed
 * (nothing can be near it). */
sl_err sl_eng_reindex(sl_engine *e, int32_t id)
{
	ev *v = &e->e[id];
	if (!(v->flags & E_LIVE) || v->n_live == 0) {
		unindex(e, id);
		return SL_OK;
	}
	int32_t cy = cell_y(ev_lat(v)), cx = cell_x(ev_lon(v));
	int32_t b = bucket_of(e, v->cat, (int64_t)(v->tm_sum / v->n_live));
	if ((v->flags & E_INDEXED) && v->cy == cy && v->cx == cx && v->b0 == b)
		return SL_OK;
	unindex(e, id);
	sl_err err = cell_push(e, (cell_key){cx, cy, b, v->cat}, id);
	if (err)
		return err;
	v->cy = cy;
	v->cx = cx;
	v->b0 = b;
	v->flags |= E_INDEXED;
	return SL_OK;
}

/* ---- events ---- */

int32_t sl_eng_new_event(sl_engine *e, uint8_t cat)
{
	int32_t id;
	if (e->free_ev != NONE) {
		id = e->free_ev;
		e->free_ev = (int32_t)e->e[id].n;
	} else {
		if (e->ne >= INT32_MAX ||
		    sl_eng_grow((void **)&e->e, &e->ecap, e->ne + 1, sizeof(ev), 1024))
			return NONE;
		id = (int32_t)e->ne++;
	}
	ev *v = &e->e[id];
	memset(v, 0, sizeof(*v));
	v->cat = cat;
	v->flags = E_LIVE | E_DIRTY | E_HAS_CAT;
	e->live++;
	return id;
}

/* How many of type t report r counts (the middle of a range). */
static uint32_t count_of(const sl_engine *e, const rep *r, uint8_t t)
{
	uint32_t c = 0;
	for (uint8_t k = 0; k < r->n_eq; k++) {
		const eqi *q = &e->eq[r->eq_at + k];
		if (q->type == t)
			c += (uint32_t)(q->count_max > q->count
					    ? (q->count + q->count_max + 1) / 2
					    : q->count);
	}
	return c;
}

/* The first equipped member sets the event's tallies: its main type, then
 * its next biggest; every later member adds its counts of those types. */
static void count_into(const sl_engine *e, ev *v, const rep *r)
{
	if (v->tl[0].n == 0) {
		v->tl[0].type = r->main_type;
		size_t k = 1;
		for (uint8_t i = 0; i < r->n_eq && k < TALLIES; i++) {
			uint8_t t = e->eq[r->eq_at + i].type;
			bool seen = t == r->main_type;
			for (size_t j = 1; j < k && !seen; j++)
				seen = v->tl[j].type == t;
			if (!seen)
				v->tl[k++].type = t;
		}
		for (; k < TALLIES; k++)
			v->tl[k].type = SL_EQ_COUNT; /* none */
	}
	for (size_t k = 0; k < TALLIES; k++) {
		tally *t = &v->tl[k];
		uint32_t c = t->type < SL_EQ_COUNT ? count_of(e, r, t->type) : 0;
		if (!c)
			continue;
		uint16_t c16 = (uint16_t)(c > 65535 ? 65535 : c);
		if (t->n == 0 || c16 < t->lo)
			t->lo = c16;
		if (t->n == 0 || c16 > t->hi)
			t->hi = c16;
		t->sum += (float)c;
		t->n++;
	}
}

/* Adds member r's share to v's sums. */
static void add_to_sums(const sl_engine *e, ev *v, const rep *r)
{
	if (!(r->flags & R_POINT) || (r->flags & R_REJECTED))
		return;
	double s2 = (double)r->sigma * r->sigma;
	double w = sl_eng_report_weight(r) / s2;
	v->sw += w;
	v->swlat += w * r->lat;
	v->swlon += w * r->lon;
	v->sq += 1.0 / s2;
	int64_t tm = mid_time(r);
	if (v->n_live == 0) {
		v->tm_min = tm;
		v->tm_span = 0;
	} else if (tm < v->tm_min) {
		v->tm_span = (uint32_t)(ev_tm_max(v) - tm);
		v->tm_min = tm;
	} else if (tm > ev_tm_max(v)) {
		v->tm_span = (uint32_t)(tm - v->tm_min);
	}
	v->tm_sum += (double)tm;
	v->n_live++;
	if (r->has_heading) {
		v->hs += r->hx / HEADING_ONE;
		v->hc += r->hy / HEADING_ONE;
		v->nh++;
	}
	v->types |= r->types;
	if (r->main_cnt)
		count_into(e, v, r);
	v->sigma = (float)sqrt(1.0 / v->sq);
	(void)e;
}

void sl_eng_recompute(sl_engine *e, int32_t id)
{
	ev *v = &e->e[id];
	v->sw = v->swlat = v->swlon = v->sq = v->tm_sum = 0;
	v->hs = v->hc = v->sigma = 0;
	v->n_live = v->nh = 0;
	v->types = 0;
	memset(v->tl, 0, sizeof(v->tl));
	v->tm_min = 0;
	v->tm_span = 0;
	const int32_t *m = ev_members(v);
	for (uint32_t i = 0; i < v->n; i++)
		add_to_sums(e, v, &e->r[m[i]]);
	v->flags |= E_DIRTY;
}

sl_err sl_eng_member_add(sl_engine *e, int32_t id, int32_t r)
{
	ev *v = &e->e[id];
	const int32_t *m = ev_members(v);
	for (uint32_t i = 0; i < v->n; i++)
		if (m[i] == r)
			return SL_OK;
	sl_err err = list_push(&v->u.m, v->u.inl, &v->n, &v->cap, r);
	if (err)
		return err;
	add_to_sums(e, v, &e->r[r]);
	v->flags |= E_DIRTY;
	return SL_OK;
}

void sl_eng_member_remove(sl_engine *e, int32_t id, int32_t r)
{
	ev *v = &e->e[id];
	int32_t *m = ev_members(v);
	for (uint32_t i = 0; i < v->n; i++)
		if (m[i] == r) {
			m[i] = m[--v->n];
			sl_eng_recompute(e, id);
			return;
		}
}

void sl_eng_kill(sl_engine *e, int32_t id)
{
	ev *v = &e->e[id];
	unindex(e, id);
	if (v->store_id) {
		sl_idmap_del(&e->by_store, v->store_id);
		if (e->ndeleted == e->delcap) {
			size_t ncap = e->delcap ? e->delcap * 2 : 64;
			int64_t *g = realloc(e->deleted, ncap * sizeof(*g));
			if (g) {
				e->deleted = g;
				e->delcap = ncap;
			}
		}
		/* Out of memory here leaves a stale stored event, which the
		 * next load finds without reports and deletes. */
		if (e->ndeleted < e->delcap)
			e->deleted[e->ndeleted++] = v->store_id;
	}
	if (v->cap > INLINE_MEMBERS)
		free(v->u.m);
	memset(v, 0, sizeof(*v));
	v->n = (uint32_t)e->free_ev; /* the free list runs through n */
	e->free_ev = id;
	e->live--;
}

/* Binary search of the sorted (event, report) ban pairs. */
bool sl_eng_banned(const sl_engine *e, int32_t id, int32_t r)
{
	if (!e->nbans || !e->e[id].store_id)
		return false;
	int64_t want_e = e->e[id].store_id, want_r = e->r[r].id;
	size_t lo = 0, hi = e->nbans;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int64_t me = e->bans[2 * mid], mr = e->bans[2 * mid + 1];
		if (me < want_e || (me == want_e && mr < want_r))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < e->nbans && e->bans[2 * lo] == want_e &&
	       e->bans[2 * lo + 1] == want_r;
}

/* ---- scoring ---- */

/* Observers of one train miscount by a fifth at most (docs/ENGINE.md):
 * two counts further apart than COUNT_RATIO_MAX are two trains, or one
 * wild count, which is better alone than merging two trains. */
#define COUNT_RATIO_MAX 1.35
#define COUNT_SLACK 2	     /* small counts: 5 and 7 may be one thing */
#define PENALTY_CONFUSED 0.3 /* tanks against IFVs: observers mix them up */

/* Whether counts lo..hi of one type could be one thing's, miscounted: a
 * ratio up to COUNT_RATIO_MAX, or a difference of COUNT_SLACK for small
 * counts. */
static bool counts_agree(uint32_t lo, uint32_t hi)
{
	return lo > 0 && (hi - lo <= COUNT_SLACK || (double)hi / lo <= COUNT_RATIO_MAX);
}

/* A penalty in 0..0.5 for count c against the mean of a tally. */
static double count_penalty(uint32_t c, double mean)
{
	double q = c > mean ? c / mean : mean / c;
	double x = (q - 1) / (COUNT_RATIO_MAX - 1);
	return x > 1 ? 0.5 : 0.5 * x * x;
}

static bool armour_pair(uint8_t a, uint8_t b)
{
	return (a == SL_EQ_TANK && b == SL_EQ_IFV) || (a == SL_EQ_IFV && b == SL_EQ_TANK);
}

/* What the equipment says against r joining v: < 0 when it says they
 * are two things, else a penalty that grows with the disagreement (0 when
 * either names nothing). Observers of one train name its main load (they
 * may miss the lesser items, and take tanks for IFVs); so the report must
 * name the event's main type, or the event the report's, or the two be
 * tanks and IFVs in about the same number; and every type both count
 * must agree within miscounting. */
static double equipment_penalty(const sl_engine *e, const ev *v, const rep *r)
{
	if (!r->main_cnt || !v->tl[0].n)
		return 0;
	const tally *m = &v->tl[0];
	double pen = 0;
	if (!count_of(e, r, m->type)) {
		double mean = m->sum / m->n;
		if (armour_pair(r->main_type, m->type) &&
		    counts_agree(r->main_cnt < mean ? r->main_cnt : (uint32_t)mean,
				 r->main_cnt < mean ? (uint32_t)(mean + 0.5)
						    : r->main_cnt))
			pen = PENALTY_CONFUSED;
		else if (v->types & (1u << r->main_type))
			pen = PENALTY_TYPES;
		else
			return -1;
	}
	for (size_t k = 0; k < TALLIES; k++) {
		const tally *t = &v->tl[k];
		uint32_t c = t->n ? count_of(e, r, t->type) : 0;
		if (!c)
			continue;
		uint32_t lo = c < t->lo ? c : t->lo, hi = c > t->hi ? c : t->hi;
		if (!counts_agree(lo, hi))
			return -1;
		double p = count_penalty(c, t->sum / t->n);
		pen = p > pen ? p : pen;
	}
	return pen;
}

/* Whether the direction (x, y) (a unit vector, or a sum of n of them)
 * agrees with event v's, within max_cos = cos(heading_max_deg). An event
 * whose members disagree (their mean shorter than 1/2) has no heading to
 * hold against, nor has a report without one. */
static bool heading_agrees(const ev *v, double x, double y, double n, double max_cos)
{
	if (v->nh == 0 || n == 0)
		return true;
	double ex = v->hs, ey = v->hc, el2 = ex * ex + ey * ey;
	double ol2 = x * x + y * y;
	if (el2 < 0.25 * v->nh * v->nh || ol2 < 0.25 * n * n)
		return true;
	double dot = ex * x + ey * y;
	/* cos(angle) = dot / (|e| |o|) >= max_cos, without a square root
	 * unless the signs need one. */
	if (max_cos >= 0)
		return dot >= 0 && dot * dot >= max_cos * max_cos * el2 * ol2;
	return dot >= 0 || dot * dot <= max_cos * max_cos * el2 * ol2;
}

/* How well report r fits event v: < 0 when a gate fails, else the sum of
 * the squared space and time ratios (each at most 1) plus penalties.
 * cr is the cosine of r's latitude. */
static double fit(const sl_engine *e, int32_t id, int32_t ri, double cr)
{
	const ev *v = &e->e[id];
	const rep *r = &e->r[ri];
	if (!(v->flags & E_LIVE) || v->cat != r->cat || v->n_live == 0)
		return -1;
	const sl_engine_gate *g = &e->p.gate[r->cat];
	double sd = e->p.sigmas *
			sqrt((double)r->sigma * r->sigma + (double)v->sigma * v->sigma) +
		    g->slack_m;
	double d2 = near_distance2(r->lat, r->lon, ev_lat(v), ev_lon(v), cr);
	if (d2 > sd * sd)
		return -1;
	int64_t tm = mid_time(r);
	double dt = fabs((double)tm - v->tm_sum / v->n_live) - half_width(r);
	if (dt < 0)
		dt = 0;
	if (dt > (double)g->gap_s)
		return -1;
	int64_t lo = tm < v->tm_min ? tm : v->tm_min;
	int64_t hi = tm > ev_tm_max(v) ? tm : ev_tm_max(v);
	if (hi - lo > g->span_s)
		return -1;
	if (g->moving && r->has_heading &&
	    !heading_agrees(v, r->hx / HEADING_ONE, r->hy / HEADING_ONE, 1,
			    e->heading_max_cos))
		return -1;
	if (sl_eng_banned(e, id, ri))
		return -1;
	double s = d2 / (sd * sd) + (dt / (double)g->gap_s) * (dt / (double)g->gap_s);
	double pen = equipment_penalty(e, v, r);
	return pen < 0 ? -1 : s + pen;
}

/* Whether events a and b may become one: every gate between their
 * centroids (c the cosine of a latitude near them), no decided event lost,
 * no ban broken by the move. keep is set to the one that stays. */
static bool mergeable(const sl_engine *e, int32_t a, int32_t b, double c, int32_t *keep)
{
	const ev *x = &e->e[a], *y = &e->e[b];
	if (x->cat != y->cat || !x->n_live || !y->n_live)
		return false;
	if ((x->flags & E_DECIDED) && (y->flags & E_DECIDED))
		return false;
	const sl_engine_gate *g = &e->p.gate[x->cat];
	double sd = e->p.sigmas *
			sqrt((double)x->sigma * x->sigma + (double)y->sigma * y->sigma) +
		    g->slack_m;
	if (near_distance2(ev_lat(x), ev_lon(x), ev_lat(y), ev_lon(y), c) > sd * sd)
		return false;
	if (fabs(x->tm_sum / x->n_live - y->tm_sum / y->n_live) > (double)g->gap_s)
		return false;
	int64_t lo = x->tm_min < y->tm_min ? x->tm_min : y->tm_min;
	int64_t hi = ev_tm_max(x) > ev_tm_max(y) ? ev_tm_max(x) : ev_tm_max(y);
	if (hi - lo > g->span_s)
		return false;
	if (g->moving && !heading_agrees(x, y->hs, y->hc, y->nh, e->heading_max_cos))
		return false;
	if (x->types && y->types && !(x->types & y->types))
		return false;
	/* One main load, counts that agree, as for a report joining. */
	if (x->tl[0].n && y->tl[0].n) {
		if (x->tl[0].type != y->tl[0].type)
			return false;
		for (size_t i = 0; i < TALLIES; i++)
			for (size_t j = 0; j < TALLIES; j++) {
				const tally *p = &x->tl[i], *q = &y->tl[j];
				if (!p->n || !q->n || p->type != q->type)
					continue;
				if (!counts_agree(p->lo < q->lo ? p->lo : q->lo,
						  p->hi > q->hi ? p->hi : q->hi))
					return false;
			}
	}
	/* The decided one stays, else the bigger. */
	int32_t k =
	    (y->flags & E_DECIDED) || (!(x->flags & E_DECIDED) && y->n > x->n) ? b : a;
	int32_t gone = k == a ? b : a;
	const ev *gv = &e->e[gone];
	const int32_t *gm = ev_members_c(gv);
	for (uint32_t i = 0; i < gv->n; i++)
		if (sl_eng_banned(e, k, gm[i]))
			return false;
	*keep = k;
	return true;
}

/* Moves every member of gone (all placed by the engine: an event that is
 * not decided has no moderator's links) into keep, and kills gone. */
static sl_err merge(sl_engine *e, int32_t keep, int32_t gone)
{
	for (uint32_t i = 0; i < e->e[gone].n; i++) {
		int32_t r = ev_members(&e->e[gone])[i];
		sl_err err = sl_eng_member_add(e, keep, r);
		if (err)
			return err;
		e->r[r].home = keep;
	}
	sl_eng_kill(e, gone);
	return sl_eng_reindex(e, keep);
}

/* The live events indexed near report r, each once, into e->scratch. */
static sl_err candidates(sl_engine *e, int32_t ri, size_t *n, double *cr)
{
	const rep *r = &e->r[ri];
	const sl_engine_gate *g = &e->p.gate[r->cat];
	double reach =
	    e->p.sigmas * sqrt((double)r->sigma * r->sigma + SIGMA_IDX * SIGMA_IDX) +
	    g->slack_m;
	double dlat = reach / DEG_M, c = *cr = cos_deg(r->lat);
	double dlon = reach / (DEG_M * (c > 0.05 ? c : 0.05));
	int32_t y0 = cell_y(r->lat - dlat), y1 = cell_y(r->lat + dlat);
	int32_t x0 = cell_x(r->lon - dlon), x1 = cell_x(r->lon + dlon);
	int32_t cy = cell_y(r->lat), cx = cell_x(r->lon);
	if (y0 < cy - MAX_CELL_SPAN)
		y0 = cy - MAX_CELL_SPAN;
	if (y1 > cy + MAX_CELL_SPAN)
		y1 = cy + MAX_CELL_SPAN;
	if (x0 < cx - MAX_CELL_SPAN)
		x0 = cx - MAX_CELL_SPAN;
	if (x1 > cx + MAX_CELL_SPAN)
		x1 = cx + MAX_CELL_SPAN;
	int64_t tm = mid_time(r), h = (int64_t)(r->dur / 2) + g->gap_s;
	int32_t bm = bucket_of(e, r->cat, tm);
	int32_t b0 = bucket_of(e, r->cat, tm - h), b1 = bucket_of(e, r->cat, tm + h);
	if (b0 < bm - MAX_BUCKETS / 2)
		b0 = bm - MAX_BUCKETS / 2;
	if (b1 > bm + MAX_BUCKETS / 2)
		b1 = bm + MAX_BUCKETS / 2;
	*n = 0;
	for (int32_t b = b0; b <= b1; b++)
		for (int32_t y = y0; y <= y1; y++)
			for (int32_t x = x0; x <= x1; x++) {
				cell *cl = cell_at(e, (cell_key){x, y, b, r->cat}, false);
				const int32_t *cv = cl ? cell_events(cl) : NULL;
				for (uint32_t i = 0; cl && i < cl->n; i++) {
					int32_t v = cv[i];
					bool seen = false;
					for (size_t k = 0; k < *n && !seen; k++)
						seen = e->scratch[k] == v;
					if (seen)
						continue;
					if (*n == e->scratch_cap) {
						if (e->scratch_cap >= MAX_CANDIDATES)
							return SL_OK;
						if (sl_eng_grow((void **)&e->scratch,
								&e->scratch_cap, *n + 1,
								sizeof(int32_t), 64))
							return SL_ENOMEM;
					}
					e->scratch[(*n)++] = v;
				}
			}
	return SL_OK;
}

/* Puts every live event back in the index after a sweep left only the
 * last ones in it. */
static sl_err rebuild_index(sl_engine *e)
{
	e->index_stale = false;
	for (size_t i = 0; i < e->ne; i++)
		if (e->e[i].flags & E_LIVE) {
			sl_err err = sl_eng_reindex(e, (int32_t)i);
			if (err) {
				e->index_stale = true;
				return err;
			}
		}
	return SL_OK;
}

sl_err sl_eng_place(sl_engine *e, int32_t ri)
{
	if (!sl_eng_clusterable(e, ri))
		return SL_OK;
	if (e->index_stale && !e->sweeping) {
		sl_err err = rebuild_index(e);
		if (err)
			return err;
	}
	size_t n;
	double cr;
	sl_err err = candidates(e, ri, &n, &cr);
	if (err)
		return err;
	int32_t best = NONE;
	double best_s = 0;
	size_t fits = 0; /* candidates that fit, moved to the front of scratch */
	for (size_t i = 0; i < n; i++) {
		double s = fit(e, e->scratch[i], ri, cr);
		if (s < 0)
			continue;
		int32_t c = e->scratch[i];
		e->scratch[i] = e->scratch[fits];
		e->scratch[fits++] = c;
		if (s <= 1.0 + PENALTY_TYPES * 0.4 && (best == NONE || s < best_s)) {
			best = c;
			best_s = s;
		}
	}
	n = fits;
	if (best == NONE) {
		best = sl_eng_new_event(e, e->r[ri].cat);
		if (best == NONE)
			return SL_ENOMEM;
		n = 0; /* a new event bridges nothing */
	}
	if ((err = sl_eng_member_add(e, best, ri)))
		return err;
	e->r[ri].home = best;
	/* Bridges: another candidate the report fits, which now fits the
	 * grown event too. */
	int merges = 0;
	for (size_t i = 0; i < n && merges < MAX_MERGES; i++) {
		int32_t other = e->scratch[i], keep;
		if (other == best || !(e->e[other].flags & E_LIVE))
			continue;
		if (!mergeable(e, best, other, cr, &keep))
			continue;
		int32_t gone = keep == best ? other : best;
		if ((err = merge(e, keep, gone)))
			return err;
		best = keep;
		merges++;
	}
	return sl_eng_reindex(e, best);
}

void sl_eng_unplace(sl_engine *e, int32_t ri)
{
	int32_t h = e->r[ri].home;
	if (h == NONE)
		return;
	e->r[ri].home = NONE;
	sl_eng_member_remove(e, h, ri);
	ev *v = &e->e[h];
	if (v->n == 0 && !(v->flags & E_DECIDED))
		sl_eng_kill(e, h);
	else
		sl_eng_reindex(e, h); /* out of memory: found again on reload */
}

static void reestimate(sl_engine *e, int32_t i);

/* ---- many reports at once ---- */

/* A batch places reports in time order, and then an event can only meet a
 * report within its category's gap of it, plus the report's own half
 * window: the index keeps only the events still in reach of the sweep, a
 * few hundred for a year of reports, so every lookup hits the cache. A
 * report whose window is wider than BATCH_NARROW_S each way would reach
 * back further: those wait for a second pass over the full index. */
#define BATCH_NARROW_S 3600

typedef struct ord {
	uint64_t key; /* mid-time, from the earliest */
	int32_t r;
} ord;

/* LSD radix sort by key, 16 bits a pass, only as many passes as the
 * largest key needs. */
static void radix_sort(ord *a, ord *tmp, size_t n)
{
	uint64_t max = 0;
	for (size_t i = 0; i < n; i++)
		max = a[i].key > max ? a[i].key : max;
	static size_t count[1 << 16];
	for (unsigned shift = 0; shift < 64 && (max >> shift); shift += 16) {
		memset(count, 0, sizeof(count));
		for (size_t i = 0; i < n; i++)
			count[(a[i].key >> shift) & 0xffff]++;
		size_t sum = 0;
		for (size_t k = 0; k < (1 << 16); k++) {
			size_t c = count[k];
			count[k] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			tmp[count[(a[i].key >> shift) & 0xffff]++] = a[i];
		memcpy(a, tmp, n * sizeof(*a));
	}
}

/* The events indexed during a sweep, with the time after which each
 * leaves the index (re-checked when it comes up: it may have grown). */
typedef struct sweep {
	struct {
		int64_t until;
		int32_t ev;
	} * q;
	size_t head, n, cap;
} sweep;

static sl_err sweep_push(sweep *w, const sl_engine *e, int32_t id)
{
	if (sl_eng_grow((void **)&w->q, &w->cap, w->n + 1, sizeof(*w->q), 4096))
		return SL_ENOMEM;
	const ev *v = &e->e[id];
	w->q[w->n].ev = id;
	w->q[w->n].until = ev_tm_max(v) + e->p.gate[v->cat].gap_s + BATCH_NARROW_S;
	w->n++;
	return SL_OK;
}

/* Takes out of the index the events no report at or after now can reach. */
static void sweep_expire(sweep *w, sl_engine *e, int64_t now)
{
	while (w->head < w->n && w->q[w->head].until < now) {
		int32_t id = w->q[w->head++].ev;
		ev *v = &e->e[id];
		if ((v->flags & E_LIVE) &&
		    ev_tm_max(v) + e->p.gate[v->cat].gap_s + BATCH_NARROW_S < now)
			unindex(e, id);
	}
}

sl_err sl_eng_place_many(sl_engine *e, const int32_t *idx, size_t n)
{
	ord *a = malloc((n + 1) * sizeof(*a)), *tmp = malloc((n + 1) * sizeof(*tmp));
	sweep w = {0};
	sl_err err = a && tmp ? SL_OK : SL_ENOMEM;
	size_t na = 0, nwide = 0;
	int64_t base = INT64_MAX;
	for (size_t i = 0; i < n && !err; i++)
		if (sl_eng_clusterable(e, idx[i]) && e->r[idx[i]].home == NONE) {
			int64_t tm = mid_time(&e->r[idx[i]]);
			base = tm < base ? tm : base;
		}
	/* Narrow reports first, from the front of a; wide ones from its back. */
	for (size_t i = 0; i < n && !err; i++) {
		const rep *r = &e->r[idx[i]];
		if (!sl_eng_clusterable(e, idx[i]) || r->home != NONE)
			continue;
		ord o = {(uint64_t)(mid_time(r) - base), idx[i]};
		if (r->dur / 2 > BATCH_NARROW_S)
			a[n - ++nwide] = o;
		else
			a[na++] = o;
	}
	if (!err) {
		radix_sort(a, tmp, na);
		radix_sort(a + n - nwide, tmp, nwide);
	}
	/* The sweep starts from an empty index; what was indexed before
	 * (a loaded store's events) comes back at the end. */
	for (size_t i = 0; i < e->ne && !err && na; i++)
		unindex(e, (int32_t)i);
	e->index_stale = false;
	e->sweeping = true;
	for (size_t i = 0; i < na && !err; i++) {
		int64_t now = (int64_t)a[i].key + base;
		sweep_expire(&w, e, now);
		if ((err = sl_eng_place(e, a[i].r)))
			break;
		int32_t h = e->r[a[i].r].home;
		if (h != NONE)
			err = sweep_push(&w, e, h);
	}
	/* The sweep's index holds only its last events: the full one is
	 * rebuilt when a placement next needs it (the wide reports below, or
	 * the first report after the batch), not here. */
	e->sweeping = false;
	e->index_stale = true;
	for (size_t i = n - nwide; i < n && !err; i++)
		err = sl_eng_place(e, a[i].r);
	free(w.q);
	free(a);
	free(tmp);
	return err;
}

/* Gives back what the growing arrays hold beyond their use, after a batch
 * or a load: they grew by half again each time, and an engine that keeps
 * a million reports keeps them for long. */
static void shrink(void **arr, size_t *cap, size_t n, size_t elem)
{
	if (n == 0 || n >= *cap)
		return;
	void *g = realloc(*arr, n * elem);
	if (g) {
		*arr = g;
		*cap = n;
	}
}

void sl_eng_shrink(sl_engine *e)
{
	shrink((void **)&e->r, &e->rcap, e->nr, sizeof(rep));
	shrink((void **)&e->e, &e->ecap, e->ne, sizeof(ev));
	shrink((void **)&e->eq, &e->eqcap, e->neq, sizeof(eqi));
}

sl_err sl_engine_add_batch(sl_engine *e, const sl_queue_item *items, size_t n)
{
	if (!e || (n && !items))
		return SL_EINVAL;
	int32_t *idx = malloc((n + 1) * sizeof(*idx));
	if (!idx)
		return SL_ENOMEM;
	size_t k = 0;
	sl_err err = SL_OK;
	for (size_t i = 0; i < n && !err; i++) {
		int32_t r;
		bool moved, reweighed;
		if ((err = sl_eng_put_report(e, &items[i], &r, &moved, &reweighed)))
			continue;
		if (reweighed)
			reestimate(e, r);
		if (!moved)
			continue;
		if (e->r[r].flags & R_PINNED)
			continue; /* a moderator's: where they put it */
		sl_eng_unplace(e, r);
		idx[k++] = r;
	}
	if (!err)
		err = sl_eng_place_many(e, idx, k);
	free(idx);
	sl_eng_shrink(e);
	return err;
}

/* ---- reports ---- */

static uint16_t type_mask(const eqi *q, size_t n)
{
	uint16_t m = 0;
	for (size_t i = 0; i < n; i++)
		m |= (uint16_t)(1u << q[i].type);
	return m;
}

sl_err sl_eng_put_report(sl_engine *e, const sl_queue_item *it, int32_t *idx, bool *moved,
			 bool *reweighed)
{
	const sl_report *src = &it->report;
	if ((unsigned)src->category >= SL_CAT_COUNT || src->id <= 0 ||
	    src->n_equipment > SL_REPORT_MAX_EQUIPMENT)
		return SL_EINVAL;
	int32_t i = sl_eng_report_index(e, src->id);
	bool fresh = i == NONE;
	if (fresh) {
		if (e->nr >= INT32_MAX ||
		    sl_eng_grow((void **)&e->r, &e->rcap, e->nr + 1, sizeof(rep), 4096))
			return SL_ENOMEM;
		i = (int32_t)e->nr;
		sl_err err = index_report(e, src->id, i);
		if (err)
			return err;
		e->nr++;
		memset(&e->r[i], 0, sizeof(rep));
		e->r[i].home = NONE;
	}
	if (sl_eng_grow((void **)&e->eq, &e->eqcap, e->neq + src->n_equipment,
			sizeof(eqi), 4096))
		return SL_ENOMEM;
	rep n = e->r[i];
	n.id = src->id;
	n.cat = (uint8_t)src->category;
	n.t0 = src->observed_at;
	int64_t dur = src->has_until ? src->observed_until - src->observed_at : 0;
	n.dur = (uint32_t)(dur < 0 ? 0 : dur > INT32_MAX ? INT32_MAX : dur);
	n.flags &= R_PINNED;
	if (src->location.has_point) {
		n.flags |= R_POINT;
		n.lat = (float)src->location.lat;
		n.lon = (float)src->location.lon;
		/* uncertainty_m is a radius people give as "within about": read
		 * as two standard deviations. */
		double s = src->location.uncertainty_m / 2;
		n.sigma = (float)(s > e->p.min_sigma_m ? s : e->p.min_sigma_m);
	}
	if (src->status == SL_STATUS_REJECTED)
		n.flags |= R_REJECTED;
	if (src->status == SL_STATUS_VERIFIED)
		n.flags |= R_VERIFIED;
	n.has_heading = src->has_heading;
	n.hx = n.hy = 0;
	if (src->has_heading) {
		double h = src->heading_deg * SL_GEO_PI / 180.0;
		n.hx = (int16_t)lrint(sin(h) * HEADING_ONE);
		n.hy = (int16_t)lrint(cos(h) * HEADING_ONE);
	}
	n.reliability = it->review.reliability;
	n.credibility = (uint8_t)it->review.credibility;
	n.photos = (uint8_t)(it->n_photos > 255 ? 255 : it->n_photos);
	/* Equipment: an unchanged list keeps its place in the pool. */
	bool same_eq = !fresh && n.n_eq == src->n_equipment;
	for (size_t k = 0; same_eq && k < src->n_equipment; k++) {
		const eqi *q = &e->eq[n.eq_at + k];
		const sl_equipment *s = &src->equipment[k];
		same_eq = q->type == (uint8_t)s->type && q->count == s->count &&
			  q->count_max == s->count_max;
	}
	if (!same_eq) {
		n.eq_at = (uint32_t)e->neq;
		n.n_eq = (uint8_t)src->n_equipment;
		for (size_t k = 0; k < src->n_equipment; k++)
			e->eq[e->neq++] =
			    (eqi){src->equipment[k].count, src->equipment[k].count_max,
				  (uint8_t)src->equipment[k].type};
		n.types = type_mask(&e->eq[n.eq_at], n.n_eq);
		n.main_cnt = 0;
		for (uint8_t k = 0; k < n.n_eq; k++) {
			uint32_t c = count_of(e, &n, e->eq[n.eq_at + k].type);
			if (c > n.main_cnt) {
				n.main_cnt = (uint16_t)(c > 65535 ? 65535 : c);
				n.main_type = e->eq[n.eq_at + k].type;
			}
		}
	}
	const rep *o = &e->r[i];
	/* What decides where it goes, and what only weighs it: a grade, a
	 * verification or a photo changes the event's estimate, not which
	 * event the report belongs to (and so not the event's id). */
	*moved = fresh || o->cat != n.cat || o->t0 != n.t0 || o->dur != n.dur ||
		 ((o->flags ^ n.flags) & (uint8_t)~R_VERIFIED) || o->lat != n.lat ||
		 o->lon != n.lon || o->sigma != n.sigma ||
		 o->has_heading != n.has_heading || o->hx != n.hx || o->hy != n.hy ||
		 !same_eq;
	*reweighed =
	    !*moved &&
	    (((o->flags ^ n.flags) & R_VERIFIED) || o->reliability != n.reliability ||
	     o->credibility != n.credibility || o->photos != n.photos);
	e->r[i] = n;
	*idx = i;
	return SL_OK;
}

/* ---- the public in-memory API ---- */

sl_err sl_engine_new(const sl_engine_params *p, sl_engine **out)
{
	if (!out)
		return SL_EINVAL;
	sl_engine *e = calloc(1, sizeof(*e));
	if (!e)
		return SL_ENOMEM;
	if (p)
		e->p = *p;
	else
		sl_engine_params_default(&e->p);
	if (!(e->p.sigmas > 0) || !(e->p.min_sigma_m > 0)) {
		free(e);
		return SL_EINVAL;
	}
	for (int c = 0; c < SL_CAT_COUNT; c++)
		if (e->p.gate[c].gap_s <= 0 || e->p.gate[c].span_s <= 0 ||
		    e->p.gate[c].slack_m < 0) {
			free(e);
			return SL_EINVAL;
		}
	e->free_ev = NONE;
	e->heading_max_cos = cos(e->p.heading_max_deg * SL_GEO_PI / 180.0);
	for (int c = 0; c < SL_CAT_COUNT; c++)
		e->inv_bucket[c] = 1.0 / (double)bucket_len(e, (uint8_t)c);
	*out = e;
	return SL_OK;
}

void sl_engine_free(sl_engine *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->ne; i++)
		if ((e->e[i].flags & E_LIVE) && e->e[i].cap > INLINE_MEMBERS)
			free(e->e[i].u.m);
	for (size_t i = 0; i < e->cellcap; i++)
		if (e->cells[i].cap > INLINE_MEMBERS)
			free(e->cells[i].u.v);
	free(e->cells);
	free(e->e);
	free(e->r);
	free(e->eq);
	free(e->pins);
	free(e->bans);
	free(e->deleted);
	free(e->scratch);
	free(e->dense);
	sl_idmap_free(&e->by_id);
	sl_idmap_free(&e->by_store);
	sl_idmap_free(&e->pin_of);
	free(e);
}

/* The events a pinned report is in, through its pinset. */
static const pinset *pins_of(const sl_engine *e, int32_t r)
{
	int32_t p = sl_idmap_get(&e->pin_of, (int64_t)r + 1);
	return p == NONE ? NULL : &e->pins[p];
}

/* Recomputes the events report i is in: its own, and a moderator's. */
static void reestimate(sl_engine *e, int32_t i)
{
	if (e->r[i].home != NONE) {
		sl_eng_recompute(e, e->r[i].home);
		sl_eng_reindex(e, e->r[i].home);
	}
	const pinset *ps = pins_of(e, i);
	for (uint32_t k = 0; ps && k < ps->n && k < 4; k++) {
		sl_eng_recompute(e, ps->ev[k]);
		sl_eng_reindex(e, ps->ev[k]);
	}
}

sl_err sl_engine_add(sl_engine *e, const sl_queue_item *it)
{
	if (!e || !it)
		return SL_EINVAL;
	int32_t i;
	bool moved, reweighed;
	sl_err err = sl_eng_put_report(e, it, &i, &moved, &reweighed);
	if (err || (!moved && !reweighed))
		return err;
	if ((e->r[i].flags & R_PINNED) || reweighed) {
		/* A moderator's report stays where they put it, and a report
		 * only graded or verified where it is; the estimates of its
		 * events change. */
		reestimate(e, i);
		return SL_OK;
	}
	sl_eng_unplace(e, i);
	return sl_eng_place(e, i);
}

size_t sl_engine_report_count(const sl_engine *e)
{
	return e->nr;
}

size_t sl_engine_event_count(const sl_engine *e)
{
	return e->live;
}

size_t sl_engine_memory(const sl_engine *e)
{
	size_t m = sizeof(*e) + e->rcap * sizeof(rep) + e->ecap * sizeof(ev) +
		   e->eqcap * sizeof(eqi) + e->cellcap * sizeof(cell) +
		   e->by_id.cap * 12 + e->by_store.cap * 12 + e->pin_of.cap * 12 +
		   e->pincap * sizeof(pinset) + e->nbans * 16 + e->scratch_cap * 4;
	m += e->dense_cap * sizeof(int32_t);
	/* Lists past their inline room, with malloc's own 16 bytes each. */
	for (size_t i = 0; i < e->ne; i++)
		if (e->e[i].cap > INLINE_MEMBERS)
			m += e->e[i].cap * sizeof(int32_t) + 16;
	for (size_t i = 0; i < e->cellcap; i++)
		if (e->cells[i].cap > INLINE_MEMBERS)
			m += e->cells[i].cap * sizeof(int32_t) + 16;
	return m;
}

sl_err sl_engine_event_of(const sl_engine *e, int64_t report_id, int64_t *key)
{
	if (!e || !key)
		return SL_EINVAL;
	*key = 0;
	int32_t i = sl_eng_report_index(e, report_id);
	if (i == NONE)
		return SL_ENOTFOUND;
	int32_t h = e->r[i].home;
	if (h == NONE) {
		const pinset *ps = pins_of(e, i);
		if (ps && ps->n)
			h = ps->ev[0];
	}
	if (h != NONE)
		*key = (int64_t)h + 1;
	return SL_OK;
}

sl_err sl_engine_each_event(sl_engine *e, sl_engine_visit visit, void *ud)
{
	if (!e || !visit)
		return SL_EINVAL;
	sl_arena *a = sl_arena_new((size_t)64 << 20);
	if (!a)
		return SL_ENOMEM;
	sl_err err = SL_OK;
	for (size_t i = 0; i < e->ne && !err; i++) {
		if (!(e->e[i].flags & E_LIVE))
			continue;
		sl_event out;
		sl_arena_reset(a);
		if (!(err = sl_eng_estimate(e, (int32_t)i, false, a, &out)))
			err = visit(ud, &out);
	}
	sl_arena_free(a);
	return err;
}
