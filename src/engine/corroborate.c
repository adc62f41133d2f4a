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

#define CELL_M 3000.0	    /* side of an index cell */
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

/* ---- parameters ---- */

void sl_engine_params_default(sl_engine_params *p)
{
	memset(p, 0, sizeof(*p));
	p->sigmas = 3.0;
	p->min_sigma_m = 50.0;
	p->heading_max_deg = 90.0;
	/* slack_m, gap_s, span_s, moving: docs/ENGINE.md explains each. */
	const sl_engine_gate moving_ground = {500, 20 * 60, 60 * 60, true};
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
	return r->t0 + (r->t1 - r->t0) / 2;
}

static double half_width(const rep *r)
{
	return (double)(r->t1 - r->t0) / 2;
}

/* Equirectangular distance in metres: exact enough inside a gate. */
static double near_distance(double lat1, double lon1, double lat2, double lon2)
{
	double c = cos((lat1 + lat2) * 0.5 * SL_GEO_PI / 180.0);
	double dy = (lat2 - lat1), dx = (lon2 - lon1) * c;
	return DEG_M * sqrt(dx * dx + dy * dy);
}

static int32_t cell_y(double lat)
{
	return (int32_t)floor(lat * DEG_M / CELL_M);
}

static int32_t cell_x(double lon)
{
	return (int32_t)floor(lon * DEG_M * REF_COS / CELL_M);
}

static int64_t bucket_len(const sl_engine *e, uint8_t cat)
{
	int64_t b = e->p.gate[cat].span_s;
	return b < 3600 ? 3600 : b;
}

static int32_t bucket_of(const sl_engine *e, uint8_t cat, int64_t t)
{
	int64_t b = bucket_len(e, cat);
	int64_t q = t >= 0 ? t / b : -((-t + b - 1) / b);
	return (int32_t)q;
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
 * memory). Cells are never removed: an emptied one keeps its slot. */
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

static sl_err cell_push(sl_engine *e, cell_key k, int32_t v)
{
	cell *c = cell_at(e, k, true);
	if (!c)
		return SL_ENOMEM;
	if (c->n == c->cap) {
		uint32_t ncap = c->cap ? c->cap * 2 : 4;
		int32_t *g = realloc(c->v, ncap * sizeof(*g));
		if (!g)
			return SL_ENOMEM;
		c->v = g;
		c->cap = ncap;
	}
	c->v[c->n++] = v;
	return SL_OK;
}

static void cell_drop(sl_engine *e, cell_key k, int32_t v)
{
	cell *c = cell_at(e, k, false);
	if (!c)
		return;
	for (uint32_t i = 0; i < c->n; i++)
		if (c->v[i] == v) {
			c->v[i] = c->v[--c->n];
			break;
		}
	if (c->n == 0) {
		free(c->v);
		c->v = NULL;
		c->cap = 0;
	}
}

static void unindex(sl_engine *e, int32_t id)
{
	ev *v = &e->e[id];
	if (!v->idx_n)
		return;
	for (int32_t b = v->b0; b <= v->b1; b++)
		for (int32_t x = v->cx0; x <= v->cx1; x++)
			cell_drop(e, (cell_key){x, v->cy, b, v->cat}, id);
	v->idx_n = 0;
}

/* An event is indexed in the cell of its centroid, over the buckets of its
 * mid-times widened by the category's gap; an event of reports without a
 * point is not indexed (nothing can be near it). */
sl_err sl_eng_reindex(sl_engine *e, int32_t id)
{
	ev *v = &e->e[id];
	if (!(v->flags & E_LIVE) || v->n_live == 0) {
		unindex(e, id);
		return SL_OK;
	}
	const sl_engine_gate *g = &e->p.gate[v->cat];
	int32_t cy = cell_y(v->lat), cx = cell_x(v->lon);
	int32_t b0 = bucket_of(e, v->cat, v->tm_min - g->gap_s);
	int32_t b1 = bucket_of(e, v->cat, v->tm_max + g->gap_s);
	if (v->idx_n && v->cy == cy && v->cx0 == cx && v->b0 == b0 && v->b1 == b1)
		return SL_OK;
	unindex(e, id);
	for (int32_t b = b0; b <= b1; b++) {
		sl_err err = cell_push(e, (cell_key){cx, cy, b, v->cat}, id);
		if (err)
			return err;
	}
	v->cy = cy;
	v->cx0 = v->cx1 = cx;
	v->b0 = b0;
	v->b1 = b1;
	v->idx_n = 1;
	return SL_OK;
}

/* ---- events ---- */

int32_t sl_eng_new_event(sl_engine *e, uint8_t cat)
{
	int32_t id;
	if (e->free_ev != NONE) {
		id = e->free_ev;
		e->free_ev = e->e[id].next_free;
	} else {
		if (e->ne == e->ecap) {
			size_t ncap = e->ecap ? e->ecap * 2 : 1024;
			ev *g = realloc(e->e, ncap * sizeof(*g));
			if (!g)
				return NONE;
			e->e = g;
			e->ecap = ncap;
		}
		id = (int32_t)e->ne++;
	}
	ev *v = &e->e[id];
	memset(v, 0, sizeof(*v));
	v->cat = cat;
	v->flags = E_LIVE | E_DIRTY | E_HAS_CAT;
	v->next_free = NONE;
	e->live++;
	return id;
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
	if (v->n_live == 0 || tm < v->tm_min)
		v->tm_min = tm;
	if (v->n_live == 0 || tm > v->tm_max)
		v->tm_max = tm;
	v->tm_sum += (double)tm;
	v->n_live++;
	if (r->heading >= 0) {
		double h = r->heading * SL_GEO_PI / 180.0;
		v->hs += sin(h);
		v->hc += cos(h);
		v->nh++;
	}
	v->types |= r->types;
	v->lat = v->swlat / v->sw;
	v->lon = v->swlon / v->sw;
	v->sigma = sqrt(1.0 / v->sq);
	(void)e;
}

void sl_eng_recompute(sl_engine *e, int32_t id)
{
	ev *v = &e->e[id];
	v->sw = v->swlat = v->swlon = v->sq = v->tm_sum = v->hs = v->hc = 0;
	v->n_live = v->nh = 0;
	v->types = 0;
	v->tm_min = v->tm_max = 0;
	for (uint32_t i = 0; i < v->n; i++)
		add_to_sums(e, v, &e->r[v->m[i]]);
	v->flags |= E_DIRTY;
}

sl_err sl_eng_member_add(sl_engine *e, int32_t id, int32_t r)
{
	ev *v = &e->e[id];
	for (uint32_t i = 0; i < v->n; i++)
		if (v->m[i] == r)
			return SL_OK;
	if (v->n == v->cap) {
		uint32_t ncap = v->cap ? v->cap * 2 : 2;
		int32_t *g = realloc(v->m, ncap * sizeof(*g));
		if (!g)
			return SL_ENOMEM;
		v->m = g;
		v->cap = ncap;
	}
	v->m[v->n++] = r;
	add_to_sums(e, v, &e->r[r]);
	v->flags |= E_DIRTY;
	return SL_OK;
}

void sl_eng_member_remove(sl_engine *e, int32_t id, int32_t r)
{
	ev *v = &e->e[id];
	for (uint32_t i = 0; i < v->n; i++)
		if (v->m[i] == r) {
			v->m[i] = v->m[--v->n];
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
	free(v->m);
	memset(v, 0, sizeof(*v));
	v->next_free = e->free_ev;
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

static double event_heading(const ev *v, bool *has)
{
	*has = false;
	if (v->nh == 0)
		return 0;
	double len = hypot(v->hs, v->hc) / v->nh;
	if (len < 0.5) /* members disagree: no heading to hold against */
		return 0;
	*has = true;
	double h = atan2(v->hs, v->hc) * 180.0 / SL_GEO_PI;
	return h < 0 ? h + 360 : h;
}

/* How well report r fits event v: < 0 when a gate fails, else the sum of
 * the squared space and time ratios (each at most 1) plus penalties. */
static double fit(const sl_engine *e, int32_t id, int32_t ri)
{
	const ev *v = &e->e[id];
	const rep *r = &e->r[ri];
	if (!(v->flags & E_LIVE) || v->cat != r->cat || v->n_live == 0)
		return -1;
	const sl_engine_gate *g = &e->p.gate[r->cat];
	double sd =
	    e->p.sigmas * sqrt((double)r->sigma * r->sigma + v->sigma * v->sigma) +
	    g->slack_m;
	double d = near_distance(r->lat, r->lon, v->lat, v->lon);
	if (d > sd)
		return -1;
	int64_t tm = mid_time(r);
	double dt = fabs((double)tm - v->tm_sum / v->n_live) - half_width(r);
	if (dt < 0)
		dt = 0;
	if (dt > (double)g->gap_s)
		return -1;
	int64_t lo = tm < v->tm_min ? tm : v->tm_min,
		hi = tm > v->tm_max ? tm : v->tm_max;
	if (hi - lo > g->span_s)
		return -1;
	if (g->moving && r->heading >= 0) {
		bool has;
		double h = event_heading(v, &has);
		if (has && sl_geo_angle_diff(h, r->heading) > e->p.heading_max_deg)
			return -1;
	}
	if (sl_eng_banned(e, id, ri))
		return -1;
	double s =
	    (d / sd) * (d / sd) + (dt / (double)g->gap_s) * (dt / (double)g->gap_s);
	if (r->types && v->types && !(r->types & v->types))
		s += PENALTY_TYPES;
	return s;
}

/* Whether events a and b may become one: every gate between their
 * centroids, no decided event lost, no ban broken by the move. keep is set
 * to the one that stays. */
static bool mergeable(const sl_engine *e, int32_t a, int32_t b, int32_t *keep)
{
	const ev *x = &e->e[a], *y = &e->e[b];
	if (x->cat != y->cat || !x->n_live || !y->n_live)
		return false;
	if ((x->flags & E_DECIDED) && (y->flags & E_DECIDED))
		return false;
	const sl_engine_gate *g = &e->p.gate[x->cat];
	double sd =
	    e->p.sigmas * sqrt(x->sigma * x->sigma + y->sigma * y->sigma) + g->slack_m;
	if (near_distance(x->lat, x->lon, y->lat, y->lon) > sd)
		return false;
	if (fabs(x->tm_sum / x->n_live - y->tm_sum / y->n_live) > (double)g->gap_s)
		return false;
	int64_t lo = x->tm_min < y->tm_min ? x->tm_min : y->tm_min;
	int64_t hi = x->tm_max > y->tm_max ? x->tm_max : y->tm_max;
	if (hi - lo > g->span_s)
		return false;
	if (g->moving) {
		bool hx, hy;
		double h1 = event_heading(x, &hx), h2 = event_heading(y, &hy);
		if (hx && hy && sl_geo_angle_diff(h1, h2) > e->p.heading_max_deg)
			return false;
	}
	if (x->types && y->types && !(x->types & y->types))
		return false;
	/* The decided one stays, else the bigger. */
	int32_t k =
	    (y->flags & E_DECIDED) || (!(x->flags & E_DECIDED) && y->n > x->n) ? b : a;
	int32_t gone = k == a ? b : a;
	const ev *gv = &e->e[gone];
	for (uint32_t i = 0; i < gv->n; i++)
		if (sl_eng_banned(e, k, gv->m[i]))
			return false;
	*keep = k;
	return true;
}

/* Moves every member of gone (all placed by the engine: an event that is
 * not decided has no moderator's links) into keep, and kills gone. */
static sl_err merge(sl_engine *e, int32_t keep, int32_t gone)
{
	ev *g = &e->e[gone];
	for (uint32_t i = 0; i < g->n; i++) {
		int32_t r = g->m[i];
		sl_err err = sl_eng_member_add(e, keep, r);
		if (err)
			return err;
		e->r[r].home = keep;
		g = &e->e[gone]; /* add may not move e->e, but stay safe */
	}
	sl_eng_kill(e, gone);
	return sl_eng_reindex(e, keep);
}

/* The live events indexed near report r, each once, into e->scratch. */
static sl_err candidates(sl_engine *e, int32_t ri, size_t *n)
{
	const rep *r = &e->r[ri];
	const sl_engine_gate *g = &e->p.gate[r->cat];
	double reach =
	    e->p.sigmas * sqrt((double)r->sigma * r->sigma + SIGMA_IDX * SIGMA_IDX) +
	    g->slack_m;
	double dlat = reach / DEG_M, c = cos(r->lat * SL_GEO_PI / 180.0);
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
	int64_t tm = mid_time(r), h = (r->t1 - r->t0) / 2;
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
				for (uint32_t i = 0; cl && i < cl->n; i++) {
					int32_t v = cl->v[i];
					bool seen = false;
					for (size_t k = 0; k < *n && !seen; k++)
						seen = e->scratch[k] == v;
					if (seen)
						continue;
					if (*n == e->scratch_cap) {
						if (e->scratch_cap >= MAX_CANDIDATES)
							return SL_OK;
						size_t ncap = e->scratch_cap
								  ? e->scratch_cap * 2
								  : 64;
						int32_t *gr = realloc(e->scratch,
								      ncap * sizeof(*gr));
						if (!gr)
							return SL_ENOMEM;
						e->scratch = gr;
						e->scratch_cap = ncap;
					}
					e->scratch[(*n)++] = v;
				}
			}
	return SL_OK;
}

sl_err sl_eng_place(sl_engine *e, int32_t ri)
{
	if (!sl_eng_clusterable(e, ri))
		return SL_OK;
	size_t n;
	sl_err err = candidates(e, ri, &n);
	if (err)
		return err;
	int32_t best = NONE;
	double best_s = 0;
	for (size_t i = 0; i < n; i++) {
		double s = fit(e, e->scratch[i], ri);
		if (s >= 0 && s <= 1.0 + PENALTY_TYPES * 0.4 &&
		    (best == NONE || s < best_s)) {
			best = e->scratch[i];
			best_s = s;
		}
	}
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
		if (other == best || !(e->e[other].flags & E_LIVE) ||
		    fit(e, other, ri) < 0)
			continue;
		if (!mergeable(e, best, other, &keep))
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

/* ---- reports ---- */

static uint16_t type_mask(const eqi *q, size_t n)
{
	uint16_t m = 0;
	for (size_t i = 0; i < n; i++)
		m |= (uint16_t)(1u << q[i].type);
	return m;
}

sl_err sl_eng_put_report(sl_engine *e, const sl_queue_item *it, int32_t *idx, bool *moved)
{
	const sl_report *src = &it->report;
	if ((unsigned)src->category >= SL_CAT_COUNT || src->id <= 0 ||
	    src->n_equipment > SL_REPORT_MAX_EQUIPMENT)
		return SL_EINVAL;
	int32_t i = sl_idmap_get(&e->by_id, src->id);
	bool fresh = i == NONE;
	if (fresh) {
		if (e->nr == e->rcap) {
			size_t ncap = e->rcap ? e->rcap * 2 : 4096;
			rep *g = realloc(e->r, ncap * sizeof(*g));
			if (!g)
				return SL_ENOMEM;
			e->r = g;
			e->rcap = ncap;
		}
		if (e->nr >= INT32_MAX)
			return SL_ENOMEM;
		i = (int32_t)e->nr;
		sl_err err = sl_idmap_put(&e->by_id, src->id, i);
		if (err)
			return err;
		e->nr++;
		memset(&e->r[i], 0, sizeof(rep));
		e->r[i].home = NONE;
	}
	if (e->neq + src->n_equipment > e->eqcap) {
		size_t ncap = e->eqcap ? e->eqcap * 2 : 4096;
		while (ncap < e->neq + src->n_equipment)
			ncap *= 2;
		eqi *g = realloc(e->eq, ncap * sizeof(*g));
		if (!g)
			return SL_ENOMEM;
		e->eq = g;
		e->eqcap = ncap;
	}
	rep n = e->r[i];
	n.id = src->id;
	n.cat = (uint8_t)src->category;
	n.t0 = src->observed_at;
	n.t1 = src->has_until ? src->observed_until : src->observed_at;
	n.flags &= R_PINNED;
	if (src->location.has_point) {
		n.flags |= R_POINT;
		n.lat = src->location.lat;
		n.lon = src->location.lon;
		double s = src->location.uncertainty_m;
		n.sigma = (float)(s > e->p.min_sigma_m ? s : e->p.min_sigma_m);
	}
	if (src->status == SL_STATUS_REJECTED)
		n.flags |= R_REJECTED;
	if (src->status == SL_STATUS_VERIFIED)
		n.flags |= R_VERIFIED;
	n.heading = src->has_heading ? (float)src->heading_deg : -1.0f;
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
	}
	const rep *o = &e->r[i];
	*moved = fresh || o->cat != n.cat || o->t0 != n.t0 || o->t1 != n.t1 ||
		 o->flags != n.flags || o->lat != n.lat || o->lon != n.lon ||
		 o->sigma != n.sigma || o->heading != n.heading || !same_eq ||
		 o->reliability != n.reliability || o->credibility != n.credibility ||
		 o->photos != n.photos;
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
	*out = e;
	return SL_OK;
}

void sl_engine_free(sl_engine *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->ne; i++)
		free(e->e[i].m);
	for (size_t i = 0; i < e->cellcap; i++)
		free(e->cells[i].v);
	free(e->cells);
	free(e->e);
	free(e->r);
	free(e->eq);
	free(e->pins);
	free(e->bans);
	free(e->deleted);
	free(e->scratch);
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

sl_err sl_engine_add(sl_engine *e, const sl_queue_item *it)
{
	if (!e || !it)
		return SL_EINVAL;
	int32_t i;
	bool moved;
	sl_err err = sl_eng_put_report(e, it, &i, &moved);
	if (err || !moved)
		return err;
	if (e->r[i].flags & R_PINNED) {
		/* A moderator's report stays where they put it; only the
		 * estimates of its events change. */
		const pinset *ps = pins_of(e, i);
		for (uint32_t k = 0; ps && k < ps->n && k < 4; k++) {
			sl_eng_recompute(e, ps->ev[k]);
			sl_eng_reindex(e, ps->ev[k]);
		}
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
	for (size_t i = 0; i < e->ne; i++)
		m += e->e[i].cap * sizeof(int32_t);
	for (size_t i = 0; i < e->cellcap; i++)
		m += e->cells[i].cap * sizeof(int32_t);
	return m;
}

sl_err sl_engine_event_of(const sl_engine *e, int64_t report_id, int64_t *key)
{
	if (!e || !key)
		return SL_EINVAL;
	*key = 0;
	int32_t i = sl_idmap_get(&e->by_id, report_id);
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
