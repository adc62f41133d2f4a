/*
 * track.c — linking events into tracks (track.h, docs/TRACKING.md).
 *
 * Time is cut into steps of p.step_s from the epoch. At each step, the
 * events whose mid-time falls in it are the rows of an assignment problem;
 * its columns are the ends of the tracks still alive (last seen within the
 * category's gap), the step's earlier events (so that one unit seen twice in
 * a step chains) and, for each row, a new track of its own at birth_cost.
 * An edge row-column is a feasible link with its cost (link_cost below);
 * the assignment of least total cost is found by successive shortest paths
 * with potentials (the sparse form of the Hungarian method: each row is
 * added by a Dijkstra over reduced costs that may move earlier rows to
 * other columns). Then the chosen links are applied in time order and the
 * next step begins.
 *
 * Everything a step decides depends only on the events before its end, so
 * after a change at time t the tracks are cut back to before the step of t
 * and linked again from there: the same tracks as linking from scratch.
 */
#include "engine/track_int.h"

#include <stdlib.h>
#include <string.h>

#include "sightline/buf.h"
#include "sightline/geo.h"

#define SLACK_CAP_S (12 * 3600.0)  /* the most a time window widens a gap */
#define TIME_SIGMA_S 300.0	   /* an instant's uncertainty */
#define VAGUE_SIGMA_S (2 * 3600.0) /* times this unsure are only dates */
#define VAGUE_MAX_M 600000.0	   /* ... and a day's move is the most */
#define VAGUE_SHARE 0.5		   /* ... and half the way's time the gap */
#define W_NO_EVIDENCE 2.0	   /* ... and nothing says it is one unit */
#define SHORT_M 3000.0		   /* closer than this, directions are noise */
#define NEAR_M 30000.0		   /* closer than this, headings must agree */
#define BEARING_MIN_M 3000.0	   /* a hop this long has a bearing */
#define AXIAL_SIGMAS 2.0	   /* time order unknown within this */
#define HEADING_GATE 181.0	   /* a heading this far off is another unit */
#define W_HEADING_OFF 2.0	   /* ... and past heading_max_deg, unlikely */
#define TIMED_S 900		   /* links this long time a track's speed */
#define TIMED_M 5000.0
#define M_PER_DEG (SL_GEO_EARTH_M * SL_GEO_PI / 180.0)

/* Link costs, in units of about one "unlikely" each (docs/TRACKING.md). */
#define W_WAIT_PER_H 0.35    /* idle time beyond what the way needs */
#define W_GAP_PER_H 1.3	     /* any time between sightings */
#define W_STOP 1.0	     /* a stop to explain the time */
#define STOP_S 900.0	     /* idle longer than this is a stop */
#define SPEED_SPREAD 0.35    /* how far the speeds of units of a kind vary */
#define SPEED_SPREAD_OWN 0.2 /* ... and one unit's, once it shows its own */
#define W_HEADING 1.2	     /* x (1 - cos) of a heading against the way */
#define W_REVERSE 4.0	     /* turning back along the line */
#define JUNCTION_M 1500.0    /* turning back this close to a node is passing it */
#define W_TURN 1.5	     /* x (1 - cos) / 2 of a turn, off the network */
#define EQ_UNKNOWN 0.6	     /* one side names no equipment */
#define EQ_LN_SIGMA 0.22     /* counts of one load differ by this (log) */
#define EQ_COUNT_CAP 2.0     /* the most a count difference costs (one wild count) */
#define EQ_CONFUSED 1.2	     /* tanks taken for IFVs, or the reverse */
#define EQ_SWAPPED 1.0	     /* both name both loads, in another order */
#define EQ_SUPPORT_ONLY 3.5  /* one names a combat load, the other none */
#define EQ_NEW_TYPE 0.6	     /* a type the unit never showed */
#define EQ_MISSING_TYPE 0.6  /* one it usually shows, untold */
#define EQ_MAX_RATIO 4.0     /* counts further apart: another load */
#define WELL_SUPPORTED 0.6   /* an event this sure gets the full birth cost */
#define WEAK_BIRTH 0.2	     /* ... one of no support, this much less */
#define AMBIGUOUS_FACTOR 1.0 /* a birth beating a link this cheap is unsure */

void sl_track_params_default(sl_track_params *p)
{
	memset(p, 0, sizeof(*p));
	p->snap_m = 5000;
	p->step_s = 3600;
	p->time_slack_s = 600;
	p->birth_cost = 5.0;
	p->heading_max_deg = 100;
	p->home = SL_COUNTRY_BELARUS;
	p->ukraine = SL_COUNTRY_UKRAINE;
	p->russia = SL_COUNTRY_RUSSIA;
	p->motion[SL_CAT_RAIL_TRANSPORT] = (sl_track_motion){.tracked = true,
							     .on_network = true,
							     .max_speed_kmh = 90,
							     .typical_speed_kmh = 60,
							     .max_gap_s = 6 * 3600,
							     .detour = 1.1};
	p->motion[SL_CAT_ROAD_CONVOY] = (sl_track_motion){.tracked = true,
							  .max_speed_kmh = 70,
							  .typical_speed_kmh = 40,
							  .max_gap_s = 6 * 3600,
							  .detour = 1.25};
	/* Aircraft look alike and most sightings are one take-off: two are
	 * one flight only on strong evidence. */
	p->motion[SL_CAT_AIRCRAFT] = (sl_track_motion){.tracked = true,
						       .max_speed_kmh = 950,
						       .typical_speed_kmh = 600,
						       .max_gap_s = 1 * 3600,
						       .detour = 1.0,
						       .link_prior = 4.0};
	p->motion[SL_CAT_HELICOPTER] = (sl_track_motion){.tracked = true,
							 .max_speed_kmh = 300,
							 .typical_speed_kmh = 200,
							 .max_gap_s = 1 * 3600,
							 .detour = 1.0,
							 .link_prior = 4.0};
}

static bool params_ok(const sl_track_params *p)
{
	if (!(p->snap_m > 0 && p->snap_m <= 100000) || p->step_s < 60 ||
	    p->step_s > 7 * 86400 ||
	    !(p->time_slack_s >= 0 && p->time_slack_s <= 86400) ||
	    !(p->birth_cost > 0 && p->birth_cost < 1000) ||
	    !(p->heading_max_deg > 0 && p->heading_max_deg <= 180))
		return false;
	for (int c = 0; c < SL_CAT_COUNT; c++) {
		const sl_track_motion *m = &p->motion[c];
		if (!m->tracked)
			continue;
		if (!(m->max_speed_kmh > 0 && m->max_speed_kmh <= 5000) ||
		    !(m->typical_speed_kmh > 0 &&
		      m->typical_speed_kmh <= m->max_speed_kmh) ||
		    !(m->max_gap_s > 0 && m->max_gap_s <= 30 * 86400) ||
		    !(m->detour >= 1 && m->detour <= 5) ||
		    !(m->link_prior >= 0 && m->link_prior < 1000))
			return false;
	}
	return true;
}

sl_err sl_tracker_new(const sl_track_params *p, const sl_network *net,
		      const sl_stations *stations, const sl_borders *borders,
		      sl_tracker **out)
{
	if (!out)
		return SL_EINVAL;
	*out = NULL;
	sl_track_params def;
	if (!p) {
		sl_track_params_default(&def);
		p = &def;
	}
	if (!params_ok(p))
		return SL_EINVAL;
	sl_tracker *t = calloc(1, sizeof(*t));
	if (!t)
		return SL_ENOMEM;
	t->p = *p;
	t->stations = stations;
	t->borders = borders;
	t->t_change = INT64_MAX;
	for (int c = 0; c < SL_CAT_COUNT; c++)
		if (p->motion[c].tracked && p->motion[c].max_gap_s > t->max_gap_s)
			t->max_gap_s = p->motion[c].max_gap_s;
	sl_err err = SL_OK;
	if (net) {
		err = sl_tnet_init(&t->net, net);
		t->has_net = err == SL_OK;
	}
	if (!err && net && borders && sl_borders_find(borders, p->home, &(size_t){0}))
		err = sl_borders_crossings(borders, p->home, net, stations, &t->crossings,
					   &t->n_crossings);
	if (!err) {
		t->net.x = t->crossings;
		t->net.n_x = t->n_crossings;
	}
	if (err) {
		sl_tracker_free(t);
		return err;
	}
	*out = t;
	return SL_OK;
}

void sl_tracker_free(sl_tracker *t)
{
	if (!t)
		return;
	if (t->has_net)
		sl_tnet_free(&t->net);
	free(t->crossings);
	free(t->ev);
	sl_idmap_free(&t->by_id);
	free(t->tr);
	free(t->dead_heads);
	free(t->dead_ids);
	free(t);
}

size_t sl_tracker_event_count(const sl_tracker *t)
{
	return t ? t->by_id.n : 0;
}

size_t sl_tracker_track_count(const sl_tracker *t)
{
	return t ? t->live_tracks : 0;
}

int64_t sl_trk_step_of(const sl_tracker *t, int64_t time)
{
	int64_t s = t->p.step_s;
	return time >= 0 ? time / s : -((-time + s - 1) / s);
}

/* ---------------------------------------------------------------- events */

/* Trucks, fuel trucks, engineering and command vehicles go with every
 * kind of unit: the load a unit is told by is its combat equipment. */
static bool support_type(int ty)
{
	return ty == SL_EQ_TRUCK || ty == SL_EQ_FUEL_TRUCK || ty == SL_EQ_ENGINEERING ||
	       ty == SL_EQ_COMMAND || ty == SL_EQ_OTHER;
}

/* Combat equipment first, then by count, largest first. */
static int cmp_item_desc(const void *x, const void *y)
{
	const sl_event_item *a = x, *b = y;
	bool sa = support_type(a->type), sb = support_type(b->type);
	if (sa != sb)
		return sa ? 1 : -1;
	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	return (int)a->type - (int)b->type;
}

/* ev as the tracker keeps it, into *e (links untouched). */
static void convert(const sl_tracker *t, const sl_event *ev, tev *e)
{
	e->id = ev->id;
	e->t0 = ev->t_start, e->t1 = ev->t_end;
	if (e->t1 < e->t0)
		e->t1 = e->t0;
	e->t = e->t0 + (e->t1 - e->t0) / 2;
	e->lat = ev->lat, e->lon = ev->lon;
	e->coslat = (float)cos(ev->lat * SL_GEO_PI / 180);
	e->unc = (float)(ev->uncertainty_m > 0 ? ev->uncertainty_m : 0);
	e->heading = ev->has_heading ? (float)ev->heading_deg : NAN;
	e->conf = (float)ev->confidence;
	e->n_reports =
	    (uint32_t)(ev->n_reports > UINT32_MAX ? UINT32_MAX : ev->n_reports);
	e->cat = ev->has_category ? (uint8_t)ev->category : SL_CAT_OTHER;
	e->flags = TE_LIVE;
	if (ev->has_category && ev->has_estimate && ev->has_point && ev->n_reports > 0 &&
	    (unsigned)ev->category < SL_CAT_COUNT && t->p.motion[ev->category].tracked &&
	    sl_geo_valid(ev->lat, ev->lon))
		e->flags |= TE_TRACKED;
	sl_event_item items[SL_EVENT_MAX_ITEMS];
	size_t n = ev->n_items < SL_EVENT_MAX_ITEMS ? ev->n_items : SL_EVENT_MAX_ITEMS;
	if (n)
		memcpy(items, ev->items, n * sizeof(*items));
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (items[i].count > 0 && (unsigned)items[i].type < SL_EQ_COUNT)
			items[k++] = items[i];
	if (k > 1)
		qsort(items, k, sizeof(*items), cmp_item_desc);
	e->n_items = (uint8_t)(k < TE_ITEMS ? k : TE_ITEMS);
	memset(e->item, 0, sizeof(e->item));
	for (size_t i = 0; i < e->n_items; i++)
		e->item[i] = (te_item){(uint8_t)items[i].type, items[i].count,
				       items[i].count_min, items[i].count_max};
	e->edge = 0, e->off = 0, e->snap_m = 0, e->edge_brg = 0;
	if (t->has_net && (e->flags & TE_TRACKED) && t->p.motion[e->cat].on_network)
		sl_tnet_snap(&t->net, t->p.snap_m, e);
}

/* Whether what linking reads of two versions of one event differs. */
static bool same_event(const tev *a, const tev *b)
{
	bool hs = (isnan(a->heading) && isnan(b->heading)) || a->heading == b->heading;
	return a->t0 == b->t0 && a->t1 == b->t1 && a->lat == b->lat && a->lon == b->lon &&
	       a->unc == b->unc && hs && a->conf == b->conf &&
	       a->n_reports == b->n_reports && a->cat == b->cat && a->flags == b->flags &&
	       a->n_items == b->n_items &&
	       memcmp(a->item, b->item, sizeof(a->item[0]) * a->n_items) == 0;
}

static void note_change(sl_tracker *t, int64_t time)
{
	if (time < t->t_change)
		t->t_change = time;
}

sl_err sl_tracker_put(sl_tracker *t, const sl_event *ev)
{
	if (!t || !ev || ev->id == 0 || (ev->n_items && !ev->items))
		return SL_EINVAL;
	tev e;
	memset(&e, 0, sizeof(e));
	convert(t, ev, &e);
	int32_t i = sl_idmap_get(&t->by_id, ev->id);
	if (i != NONE) {
		tev *o = &t->ev[i];
		uint8_t keep = o->flags & TE_AMBIGUOUS;
		o->flags &= (uint8_t)~TE_AMBIGUOUS;
		bool same = same_event(o, &e);
		o->flags |= keep;
		if (same)
			return SL_OK;
		note_change(t, o->t);
		note_change(t, e.t);
		e.prev = o->prev, e.next = o->next, e.track = o->track;
		*o = e;
		return SL_OK;
	}
	if (t->nev >= SL_TRACK_EVENTS_MAX)
		return SL_ETOOBIG;
	if (!sl_grow((void **)&t->ev, &t->evcap, t->nev + 1, sizeof(tev)))
		return SL_ENOMEM;
	e.prev = e.next = e.track = NONE;
	if (sl_idmap_put(&t->by_id, ev->id, (int32_t)t->nev) != SL_OK)
		return SL_ENOMEM;
	t->ev[t->nev++] = e;
	note_change(t, e.t);
	return SL_OK;
}

sl_err sl_tracker_remove(sl_tracker *t, int64_t id)
{
	if (!t)
		return SL_EINVAL;
	int32_t i = sl_idmap_get(&t->by_id, id);
	if (i == NONE)
		return SL_OK;
	t->ev[i].flags &= (uint8_t)~TE_LIVE;
	sl_idmap_del(&t->by_id, id);
	note_change(t, t->ev[i].t);
	return SL_OK;
}

/* ---------------------------------------------------------------- tracks */

static int32_t new_track(sl_tracker *t, int32_t head)
{
	if (!sl_grow((void **)&t->tr, &t->trcap, t->ntr + 1, sizeof(trk)))
		return NONE;
	trk *k = &t->tr[t->ntr];
	memset(k, 0, sizeof(*k));
	k->head = k->tail = head;
	k->head_id = t->ev[head].id;
	k->n = 1;
	k->cat = t->ev[head].cat;
	k->live = k->dirty = true;
	k->touched = t->run;
	t->ev[head].track = (int32_t)t->ntr;
	t->live_tracks++;
	/* A track that died in this run with the same first event was this
	 * one: it keeps its store id. */
	for (size_t i = 0; i < t->n_dead; i++)
		if (t->dead_heads[i] == k->head_id) {
			k->store_id = t->dead_ids[i];
			t->dead_heads[i] = t->dead_heads[--t->n_dead];
			t->dead_ids[i] = t->dead_ids[t->n_dead];
			break;
		}
	return (int32_t)t->ntr++;
}

static void remember_load(trk *k, const tev *e)
{
	if (e->n_items == 0)
		return;
	k->recent_type[k->recent_at] = e->item[0].type;
	uint16_t mask = 0;
	for (int i = 0; i < e->n_items; i++)
		mask |= (uint16_t)(1u << e->item[i].type);
	k->recent_mask[k->recent_at] = mask;
	k->recent_count[k->recent_at] = (float)e->item[0].count;
	k->recent_at = (uint8_t)((k->recent_at + 1) % RECENT);
	if (k->n_recent < RECENT)
		k->n_recent++;
}

/* Appends event j to track k after its tail, by the way w at cost c. */
static void append(sl_tracker *t, int32_t k, int32_t j, const way *w, double c)
{
	trk *tk = &t->tr[k];
	tev *a = &t->ev[tk->tail], *b = &t->ev[j];
	a->next = j;
	b->prev = tk->tail;
	b->track = k;
	b->cost = (float)c;
	b->way_m = (float)w->m;
	b->arr_dir = w->arr_dir;
	b->arr_brg = (float)w->arr_brg;
	int64_t dt = b->t - a->t;
	if (dt >= TIMED_S && w->m >= TIMED_M)
		tk->way_m += w->m, tk->way_s += (double)dt;
	remember_load(tk, b);
	tk->tail = j;
	tk->n++;
	tk->dirty = true;
	tk->touched = t->run;
}

/* Rebuilds the linking state of track k from its chain (after a cut). */
static void restate(sl_tracker *t, int32_t k)
{
	trk *tk = &t->tr[k];
	tk->way_m = tk->way_s = 0;
	tk->n_recent = tk->recent_at = 0;
	tk->n = 0;
	for (int32_t i = tk->head; i != NONE; i = t->ev[i].next) {
		const tev *e = &t->ev[i];
		if (e->prev != NONE) {
			int64_t dt = e->t - t->ev[e->prev].t;
			if (dt >= TIMED_S && e->way_m >= TIMED_M)
				tk->way_m += e->way_m, tk->way_s += (double)dt;
		}
		remember_load(tk, e);
		tk->tail = i;
		tk->n++;
	}
}

/* ---------------------------------------------------------------- costs */

/* How uncertain an event's time is: half its window, at least a few
 * minutes (observers' clocks and memories); and a pair's together. */
static double time_sigma(const tev *e)
{
	return fmax(TIME_SIGMA_S, fmin(SLACK_CAP_S, 0.5 * (double)(e->t1 - e->t0)));
}

static double pair_sigma(const tev *a, const tev *b)
{
	double x = time_sigma(a), y = time_sigma(b);
	return sqrt(x * x + y * y);
}

/* What a link is costed against on the side of the earlier event: a
 * track's end, or a lone event of the same step. */
typedef struct end_state {
	int32_t at;    /* the event */
	double v_ref;  /* m/s expected; 0: the category's typical speed */
	int dir;       /* direction on the edge arriving, 0 unknown */
	double brg;    /* bearing arriving, NAN unknown */
	int main_type; /* the load it carries, -1 none known */
	double main_count;
	uint32_t types;		       /* every type it was seen with */
	uint32_t usual;		       /* types seen in most of its recent sightings */
	float last_count[SL_EQ_COUNT]; /* by type, at its last sighting */
	int32_t before;		       /* the sighting before the end, NONE */
	int equipped;		       /* recent sightings naming equipment */
} end_state;

static double median_f(float *v, size_t n)
{
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && v[j - 1] > v[j]; j--) {
			float x = v[j];
			v[j] = v[j - 1], v[j - 1] = x;
		}
	return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void state_of_event(const sl_tracker *t, int32_t i, end_state *s)
{
	const tev *e = &t->ev[i];
	memset(s, 0, sizeof(*s));
	s->at = i;
	s->brg = NAN;
	s->main_type = e->n_items ? e->item[0].type : -1;
	s->main_count = e->n_items ? e->item[0].count : 0;
	for (int k = 0; k < e->n_items; k++)
		s->types |= 1u << e->item[k].type;
	s->usual = s->types;
	s->equipped = e->n_items > 0;
	for (int k = 0; k < e->n_items; k++)
		s->last_count[e->item[k].type] = (float)e->item[k].count;
	s->before = NONE;
}

static void state_of_track(const sl_tracker *t, int32_t k, end_state *s)
{
	const trk *tk = &t->tr[k];
	const tev *e = &t->ev[tk->tail];
	const sl_track_motion *mo = &t->p.motion[tk->cat];
	state_of_event(t, tk->tail, s);
	s->before = e->prev;
	if (tk->way_s >= 1800) {
		double v = tk->way_m / tk->way_s, typ = mo->typical_speed_kmh / 3.6;
		s->v_ref = fmax(typ * 0.5, fmin(v, mo->max_speed_kmh / 3.6));
	}
	/* The direction it arrived in, from a hop much longer than the
	 * places' uncertainty and than their clocks' (a short or quick one's
	 * is mostly noise), and not against a heading reported here. */
	s->dir = 0;
	s->brg = NAN;
	if (e->prev != NONE) {
		const tev *p = &t->ev[e->prev];
		if (e->way_m >= fmax(BEARING_MIN_M, 2.0 * ((double)p->unc + e->unc)) &&
		    (double)(e->t - p->t) >= 2 * pair_sigma(p, e)) {
			s->brg = e->arr_brg;
			s->dir = e->arr_dir;
		}
		if (!isnan(s->brg) && !isnan(e->heading) &&
		    sl_geo_angle_diff(s->brg, e->heading) > 90)
			s->brg = NAN, s->dir = 0;
	}
	/* The load: the type seen most often lately, its median count. */
	if (tk->n_recent) {
		int votes[SL_EQ_COUNT] = {0};
		for (int i = 0; i < tk->n_recent; i++)
			votes[tk->recent_type[i]]++;
		int best = tk->recent_type[0];
		for (int ty = 0; ty < SL_EQ_COUNT; ty++)
			if (votes[ty] > votes[best])
				best = ty;
		float c[RECENT];
		size_t n = 0;
		int seen[SL_EQ_COUNT] = {0};
		for (int i = 0; i < tk->n_recent; i++)
			for (int ty = 0; ty < SL_EQ_COUNT; ty++)
				seen[ty] += (tk->recent_mask[i] >> ty) & 1;
		s->usual = 0;
		for (int ty = 0; ty < SL_EQ_COUNT; ty++)
			if (2 * seen[ty] > tk->n_recent)
				s->usual |= 1u << ty;
		s->equipped = tk->n_recent;
		for (int i = 0; i < tk->n_recent; i++) {
			s->types |= tk->recent_mask[i];
			if (tk->recent_type[i] == best)
				c[n++] = tk->recent_count[i];
		}
		s->main_type = best;
		s->main_count = median_f(c, n);
	}
}

double sl_trk_eq_ratio(double a, double b)
{
	double lo = fmin(a, b), hi = fmax(a, b);
	return lo > 0 ? hi / lo : INFINITY;
}

static bool confused(int a, int b)
{
	return (a == SL_EQ_TANK && b == SL_EQ_IFV) || (a == SL_EQ_IFV && b == SL_EQ_TANK);
}

/* The count of type ty an event names, 0 when none. */
static double count_of(const tev *e, int ty)
{
	for (int k = 0; k < e->n_items; k++)
		if (e->item[k].type == ty)
			return e->item[k].count;
	return 0;
}

/* The count of type ty at the end s: its main count, or the last
 * sighting's count of it. */
static double count_of_state(const end_state *s, int ty)
{
	if (ty == s->main_type)
		return s->main_count;
	return s->last_count[ty];
}

/* What equipment says about one unit having been seen at s and at b: a cost,
 * or false when the loads cannot be one. */
static bool equipment_cost(const end_state *s, const tev *b, double *cost)
{
	if (s->main_type < 0 || s->main_count <= 0 || b->n_items == 0) {
		*cost = EQ_UNKNOWN;
		return true;
	}
	int bt = b->item[0].type;
	double bc = b->item[0].count, c = 0;
	if (bt != s->main_type && support_type(bt) != support_type(s->main_type)) {
		/* An observer may tell only the trucks of a train of tanks; a
		 * unit seen more than once with trucks only carries no tanks. */
		if (support_type(s->main_type) && s->equipped >= 2)
			return false;
		int common = support_type(bt) ? bt : s->main_type;
		double sc = support_type(bt) ? count_of_state(s, bt) : s->main_count;
		if (!sc || !count_of(b, common))
			return *cost = EQ_SUPPORT_ONLY + EQ_UNKNOWN, true;
		bc = count_of(b, common);
		c += EQ_SUPPORT_ONLY;
		double r = sl_trk_eq_ratio(bc, sc);
		if (r > EQ_MAX_RATIO)
			return false;
		double z = log(r) / EQ_LN_SIGMA;
		*cost = c + fmin(0.5 * z * z, EQ_COUNT_CAP);
		return true;
	} else if (bt != s->main_type) {
		if (confused(bt, s->main_type)) {
			c += EQ_CONFUSED;
		} else if ((s->types & (1u << bt)) && count_of(b, s->main_type) > 0) {
			bc = count_of(b, s->main_type);
			c += EQ_SWAPPED;
		} else {
			return false;
		}
	}
	double r = sl_trk_eq_ratio(bc, s->main_count);
	if (r > EQ_MAX_RATIO)
		return false;
	double z = log(r) / EQ_LN_SIGMA;
	c += fmin(0.5 * z * z, EQ_COUNT_CAP);
	/* The rest of the load: a type never seen with this unit is some
	 * evidence of another; one it usually shows missing, a little (the
	 * smaller items are often not told). */
	if (s->equipped >= 2) {
		uint32_t bt_mask = 0;
		for (int k = 0; k < b->n_items; k++)
			bt_mask |= 1u << b->item[k].type;
		c += EQ_NEW_TYPE * __builtin_popcount(bt_mask & ~s->types);
		c += EQ_MISSING_TYPE * __builtin_popcount(s->usual & ~bt_mask);
	}
	*cost = c;
	return true;
}

/* How far a reported heading (degrees, NAN none) is from a bearing of
 * travel brg, or from alt (NAN: none) whichever is nearer: a cost, more
 * past max_deg, and false past HEADING_GATE. axial: the time order is not
 * known, so either way along the line is fine. */
static bool heading_cost(double heading, double brg, double alt, bool axial,
			 double max_deg, double off_cost, double *cost)
{
	if (isnan(brg))
		brg = alt, alt = NAN;
	if (isnan(heading) || isnan(brg))
		return true;
	double th = sl_geo_angle_diff(heading, brg);
	if (!isnan(alt))
		th = fmin(th, sl_geo_angle_diff(heading, alt));
	if (axial && th > 90)
		th = 180 - th;
	if (th > HEADING_GATE)
		return false;
	*cost +=
	    W_HEADING * (1 - cos(th * SL_GEO_PI / 180)) + (th > max_deg ? off_cost : 0);
	return true;
}

/* The cost of a link from end s to event b, with the way in *w; false when
 * the link is not feasible. */
static bool link_cost(const sl_tracker *t, const end_state *s, const tev *b, way *w,
		      double *cost)
{
	const tev *a = &t->ev[s->at];
	const sl_track_motion *mo = &t->p.motion[b->cat];
	if (a->cat != b->cat)
		return false;
	double dt = (double)(b->t - a->t);
	double tau = t->p.time_slack_s +
		     fmin(SLACK_CAP_S,
			  0.5 * (double)(a->t1 - a->t0) + 0.5 * (double)(b->t1 - b->t0));
	if (dt < 0 || dt > mo->max_gap_s + tau)
		return false;
	double vmax = mo->max_speed_kmh / 3.6;
	double du = (double)a->unc + (double)b->unc;
	double reach = vmax * (dt + tau) + du;
	double snaps = (double)a->snap_m + (double)b->snap_m;
	/* Far apart on a flat map (a little short of the great circle at
	 * these distances): no need to look closer. */
	double dy = (b->lat - a->lat) * M_PER_DEG;
	double dx = (b->lon - a->lon) * M_PER_DEG * 0.5 * ((double)a->coslat + b->coslat);
	double lim = (reach + snaps) * 1.02 + 1000;
	if (dx * dx + dy * dy > lim * lim)
		return false;
	double dgc = sl_geo_distance_m(a->lat, a->lon, b->lat, b->lon);
	if (dgc > reach + snaps)
		return false;
	memset(w, 0, sizeof(*w));
	bool net = t->has_net && mo->on_network && (a->flags & TE_SNAPPED) &&
		   (b->flags & TE_SNAPPED);
	if (net) {
		if (!sl_tnet_way(&t->net, a, b, reach + snaps, w))
			return false;
	} else {
		w->m = dgc * mo->detour;
	}
	/* The straight bearings, when a heading or a turn is to be weighed:
	 * on the network too, as a place snapped onto a branch at a junction
	 * has the branch's bearing. */
	double sdep = NAN, sarr = NAN;
	bool bearings = !isnan(a->heading) || !isnan(b->heading) || !isnan(s->brg);
	if (dgc > 1 && (bearings || !w->on_network)) {
		sdep = sl_geo_bearing_deg(a->lat, a->lon, b->lat, b->lon);
		sarr = fmod(sl_geo_bearing_deg(b->lat, b->lon, a->lat, a->lon) + 180.0,
			    360.0);
	}
	if (!w->on_network)
		w->dep_brg = sdep, w->arr_brg = sarr;
	/* The gate: the least way the unit can have gone, at top speed. */
	double need = fmax(0, (net ? w->m : dgc) - du);
	if (need > vmax * (dt + tau))
		return false;
	/* ... from the sighting before too: the time windows of two close
	 * sightings leave their order open, not a zigzag of the track. */
	if (s->before != NONE) {
		const tev *p = &t->ev[s->before];
		double dtp = (double)(b->t - p->t);
		double taup = t->p.time_slack_s +
			      fmin(SLACK_CAP_S, 0.5 * (double)(p->t1 - p->t0) +
						    0.5 * (double)(b->t1 - b->t0));
		double dp = sl_geo_distance_m(p->lat, p->lon, b->lat, b->lon);
		if (dp - ((double)p->unc + b->unc) > vmax * (dtp + taup))
			return false;
	}
	/* Speed: as fast as this unit (or its kind) goes, or waiting. */
	double vref = s->v_ref > 0 ? s->v_ref : mo->typical_speed_kmh / 3.6;
	double t_need = fmax(0, w->m - du) / vref;
	/* Sightings known only to the day (the CIR map's) say nothing of the
	 * speed: the time the way takes stands for the gap, a day's move is
	 * the most, and something must say it is one unit. */
	bool vague = pair_sigma(a, b) > VAGUE_SIGMA_S;
	if (vague && need > VAGUE_MAX_M)
		return false;
	double gap = vague ? fmax(dt, VAGUE_SHARE * t_need) : dt;
	double c = mo->link_prior + W_GAP_PER_H * gap / 3600;
	if (vague && isnan(a->heading) && isnan(b->heading) &&
	    (a->n_items == 0 || b->n_items == 0))
		c += W_NO_EVIDENCE;
	if (dt < t_need) {
		double k = s->v_ref > 0 ? SPEED_SPREAD_OWN : SPEED_SPREAD;
		double sig = sqrt(tau * tau + k * k * t_need * t_need);
		double z = (t_need - dt) / sig;
		c += 0.5 * z * z;
	} else {
		/* Waiting: a stop (or a slower unit), rare, then its length. */
		double idle = dt - t_need - t->p.time_slack_s;
		if (idle > STOP_S)
			c += W_STOP;
		c += W_WAIT_PER_H * fmax(0, idle) / 3600;
	}
	/* Direction: on along the line, headings along the way. */
	/* Closer in time than their clocks tell apart: either may be first. */
	bool axial = dt < AXIAL_SIGMAS * pair_sigma(a, b);
	if (need > SHORT_M) {
		if (w->on_network && s->dir != 0 && w->dep_dir != s->dir && !axial) {
			/* In by one end and out by the same one: a real turn
			 * unless the place is about at that end (a junction it
			 * passed, the event snapped onto the branch). */
			double to_end =
			    s->dir > 0 ? a->off : t->net.e_len[a->edge] - a->off;
			if (to_end > a->unc + a->snap_m + JUNCTION_M)
				c += W_REVERSE;
		} else if (!w->on_network && !isnan(s->brg) && !isnan(w->dep_brg) &&
			   !axial) {
			double turn = sl_geo_angle_diff(s->brg, w->dep_brg);
			c += W_TURN * (1 - cos(turn * SL_GEO_PI / 180)) / 2;
		}
		double hmax = t->p.heading_max_deg + (w->on_network ? 0 : 20);
		if (!heading_cost(a->heading, w->dep_brg, sdep, axial, hmax,
				  W_HEADING_OFF, &c) ||
		    !heading_cost(b->heading, w->arr_brg, sarr, axial, hmax,
				  W_HEADING_OFF, &c))
			return false;
	}
	if (need <= NEAR_M) {
		/* Seen again near where it was: a stop, or another unit
		 * meeting it. Whatever the order, it must not have turned. */
		double going = !isnan(s->brg) ? s->brg : a->heading;
		if (!heading_cost(b->heading, going, NAN, false, t->p.heading_max_deg,
				  W_HEADING_OFF, &c))
			return false;
	}
	double ec;
	if (!equipment_cost(s, b, &ec))
		return false;
	c += ec;
	*cost = c;
	return true;
}

/* ---------------------------------------------------------------- assignment */

/* One step's problem: rows (the step's events) with their edges to
 * columns, in CSR form. */
typedef struct problem {
	size_t nrows, ncols;
	uint32_t *row_start; /* nrows + 1 */
	uint32_t *ecol;
	double *ecost;
	size_t nedges, cap_e, cap_rs, cap_r;
	/* The solution. */
	int32_t *row_col, *col_row;
	double *row_cost; /* of each row's assigned edge */
	/* Scratch of the shortest-path search. */
	double *v, *dist;
	int32_t *prev;
	double *reach_cost; /* the edge that reached each column */
	uint8_t *done;
	uint32_t *touched;
	size_t cap_c;
	theap heap;
} problem;

static bool add_edge(problem *pb, uint32_t col, double cost)
{
	size_t c = pb->cap_e;
	if (!sl_grow((void **)&pb->ecol, &c, pb->nedges + 1, sizeof(uint32_t)) ||
	    !sl_grow((void **)&pb->ecost, &pb->cap_e, pb->nedges + 1, sizeof(double)))
		return false;
	pb->ecol[pb->nedges] = col;
	pb->ecost[pb->nedges] = cost;
	pb->nedges++;
	return true;
}

static void problem_free(problem *pb)
{
	free(pb->row_start);
	free(pb->ecol);
	free(pb->ecost);
	free(pb->row_col);
	free(pb->col_row);
	free(pb->row_cost);
	free(pb->reach_cost);
	free(pb->v);
	free(pb->dist);
	free(pb->prev);
	free(pb->done);
	free(pb->touched);
	free(pb->heap.a);
}

/* Grows n arrays that share one capacity *cap to hold need elements each. */
static bool grow_together(void **const *arr, const size_t *elem, size_t n, size_t *cap,
			  size_t need)
{
	if (need <= *cap)
		return true;
	size_t c = *cap ? *cap : 64;
	while (c < need)
		c *= 2;
	for (size_t i = 0; i < n; i++) {
		void *g = realloc(*arr[i], c * elem[i]);
		if (!g)
			return false;
		*arr[i] = g;
	}
	*cap = c;
	return true;
}

/* Room for pb's solution and scratch (ncols and nrows set), cleared. */
static bool problem_ready(problem *pb)
{
	void **const cols[] = {(void **)&pb->col_row,	(void **)&pb->v,
			       (void **)&pb->dist,	(void **)&pb->prev,
			       (void **)&pb->done,	(void **)&pb->touched,
			       (void **)&pb->reach_cost};
	const size_t csz[] = {
	    sizeof(int32_t),  sizeof(double), sizeof(double), sizeof(int32_t), 1,
	    sizeof(uint32_t), sizeof(double)};
	void **const rows[] = {(void **)&pb->row_col, (void **)&pb->row_cost};
	const size_t rsz[] = {sizeof(int32_t), sizeof(double)};
	if (!grow_together(cols, csz, 7, &pb->cap_c, pb->ncols) ||
	    !grow_together(rows, rsz, 2, &pb->cap_r, pb->nrows))
		return false;
	for (size_t c = 0; c < pb->ncols; c++) {
		pb->col_row[c] = NONE;
		pb->v[c] = 0;
		pb->dist[c] = INFINITY;
		pb->done[c] = 0;
	}
	for (size_t r = 0; r < pb->nrows; r++)
		pb->row_col[r] = NONE;
	return true;
}

/* Row s into the assignment: a shortest augmenting path over reduced costs
 * (cost - v[col] - u[row], u implicit: a row's assigned edge has reduced
 * cost 0) from s to a free column, then the potentials of the columns
 * settled before it move so that every reduced cost stays >= 0. Every row
 * has a free column of its own (its birth), so a path always exists. */
static bool augment(problem *pb, uint32_t s)
{
	size_t nt = 0;
	pb->heap.n = 0;
	for (uint32_t k = pb->row_start[s]; k < pb->row_start[s + 1]; k++) {
		uint32_t c = pb->ecol[k];
		double d = pb->ecost[k] - pb->v[c];
		if (d < pb->dist[c]) {
			if (pb->dist[c] == INFINITY)
				pb->touched[nt++] = c;
			pb->dist[c] = d;
			pb->prev[c] = NONE;
			pb->reach_cost[c] = pb->ecost[k];
			if (!sl_theap_push(&pb->heap, d, c))
				return false;
		}
	}
	int32_t end = NONE;
	double D = 0;
	while (pb->heap.n) {
		theap_item it = sl_theap_pop(&pb->heap);
		uint32_t c = it.v;
		if (pb->done[c] || it.d > pb->dist[c])
			continue;
		pb->done[c] = 1;
		if (pb->col_row[c] == NONE) {
			end = (int32_t)c;
			D = it.d;
			break;
		}
		int32_t r = pb->col_row[c];
		double ur = pb->row_cost[r] - pb->v[c];
		for (uint32_t k = pb->row_start[r]; k < pb->row_start[r + 1]; k++) {
			uint32_t c2 = pb->ecol[k];
			if (pb->done[c2])
				continue;
			double nd = it.d + fmax(0, pb->ecost[k] - pb->v[c2] - ur);
			if (nd < pb->dist[c2]) {
				if (pb->dist[c2] == INFINITY)
					pb->touched[nt++] = c2;
				pb->dist[c2] = nd;
				pb->prev[c2] = (int32_t)c;
				pb->reach_cost[c2] = pb->ecost[k];
				if (!sl_theap_push(&pb->heap, nd, c2))
					return false;
			}
		}
	}
	if (end == NONE)
		return false; /* cannot happen: the birth column is free */
	for (size_t k = 0; k < nt; k++) {
		uint32_t c = pb->touched[k];
		if (pb->done[c])
			pb->v[c] += pb->dist[c] - D;
	}
	for (int32_t c = end;;) {
		int32_t pc = pb->prev[c];
		int32_t r = pc == NONE ? (int32_t)s : pb->col_row[pc];
		pb->col_row[c] = r;
		pb->row_col[r] = c;
		pb->row_cost[r] = pb->reach_cost[c];
		if (pc == NONE)
			break;
		c = pc;
	}
	for (size_t k = 0; k < nt; k++) {
		uint32_t c = pb->touched[k];
		pb->dist[c] = INFINITY;
		pb->done[c] = 0;
	}
	return true;
}

static void solve_greedy(problem *pb);

static bool solve_min_cost(problem *pb)
{
	for (uint32_t r = 0; r < pb->nrows; r++)
		if (!augment(pb, r))
			return false;
	return true;
}

sl_err sl_trk_assign(size_t nrows, size_t ncols, const uint32_t *row_start,
		     const uint32_t *ecol, const double *ecost, bool greedy,
		     int32_t *row_col)
{
	problem pb = {.nrows = nrows, .ncols = ncols};
	size_t ne = row_start[nrows];
	pb.row_start = malloc((nrows + 1) * sizeof(uint32_t));
	pb.ecol = malloc((ne ? ne : 1) * sizeof(uint32_t));
	pb.ecost = malloc((ne ? ne : 1) * sizeof(double));
	sl_err err =
	    pb.row_start && pb.ecol && pb.ecost && problem_ready(&pb) ? SL_OK : SL_ENOMEM;
	if (!err) {
		memcpy(pb.row_start, row_start, (nrows + 1) * sizeof(uint32_t));
		memcpy(pb.ecol, ecol, ne * sizeof(uint32_t));
		memcpy(pb.ecost, ecost, ne * sizeof(double));
		if (greedy)
			solve_greedy(&pb);
		else if (!solve_min_cost(&pb))
			err = SL_ENOMEM;
	}
	if (!err)
		memcpy(row_col, pb.row_col, nrows * sizeof(int32_t));
	problem_free(&pb);
	return err;
}

/* The baseline: each row in time order takes the cheapest column left. */
static void solve_greedy(problem *pb)
{
	for (uint32_t r = 0; r < pb->nrows; r++) {
		int32_t best = NONE;
		double bc = INFINITY;
		for (uint32_t k = pb->row_start[r]; k < pb->row_start[r + 1]; k++)
			if (pb->col_row[pb->ecol[k]] == NONE && pb->ecost[k] < bc)
				bc = pb->ecost[k], best = (int32_t)pb->ecol[k];
		pb->row_col[r] = best;
		pb->col_row[best] = (int32_t)r;
		pb->row_cost[r] = bc;
	}
}

/* ---------------------------------------------------------------- steps */

typedef struct stepper {
	problem pb;
	int32_t *active; /* tracks that may still be continued */
	size_t nactive, cap_a;
	end_state *st; /* their end states this step */
	size_t cap_st;
	int32_t *rows;
	uint8_t *ambiguous;
	size_t cap_rows;
} stepper;

static void stepper_free(stepper *sp)
{
	problem_free(&sp->pb);
	free(sp->active);
	free(sp->st);
	free(sp->rows);
	free(sp->ambiguous);
}

static double end_life_s(const sl_tracker *t, const trk *k)
{
	return t->p.motion[k->cat].max_gap_s + SLACK_CAP_S + t->p.time_slack_s;
}

/* What starting a track at e costs: the full birth_cost for a well
 * supported event, less for a weak one (a single unconfirmed report is
 * often nothing, and nothing needs no track to join). */
static double birth_cost(const sl_tracker *t, const tev *e)
{
	double support = fmin(1.0, (double)e->conf / WELL_SUPPORTED);
	return t->p.birth_cost * (1 - WEAK_BIRTH * (1 - support));
}

/* Links the step's events ev[b0 .. b1). */
static sl_err solve_step(sl_tracker *t, stepper *sp, size_t b0, size_t b1)
{
	problem *pb = &sp->pb;
	size_t nr = 0;
	void **const arrs[] = {(void **)&sp->rows, (void **)&sp->ambiguous};
	const size_t sz[] = {sizeof(int32_t), 1};
	if (!grow_together(arrs, sz, 2, &sp->cap_rows, b1 - b0))
		return SL_ENOMEM;
	for (size_t i = b0; i < b1; i++)
		if (t->ev[i].flags & TE_TRACKED)
			sp->rows[nr++] = (int32_t)i;
	if (nr == 0)
		return SL_OK;
	size_t na = sp->nactive;
	if (!sl_grow((void **)&sp->st, &sp->cap_st, na ? na : 1, sizeof(end_state)))
		return SL_ENOMEM;
	for (size_t a = 0; a < na; a++)
		state_of_track(t, sp->active[a], &sp->st[a]);
	pb->nrows = nr;
	pb->ncols = na + 2 * nr;
	pb->nedges = 0;
	if (!sl_grow((void **)&pb->row_start, &pb->cap_rs, nr + 1, sizeof(uint32_t)))
		return SL_ENOMEM;
	double B = t->p.birth_cost;
	end_state es;
	way w;
	double c;
	for (size_t r = 0; r < nr; r++) {
		const tev *b = &t->ev[sp->rows[r]];
		pb->row_start[r] = (uint32_t)pb->nedges;
		double best = INFINITY;
		for (size_t a = 0; a < na; a++) {
			if (t->tr[sp->active[a]].cat != b->cat)
				continue;
			if (link_cost(t, &sp->st[a], b, &w, &c)) {
				best = fmin(best, c);
				if (c < B && !add_edge(pb, (uint32_t)a, c))
					return SL_ENOMEM;
			}
		}
		for (size_t q = 0; q < r; q++) {
			if (t->ev[sp->rows[q]].cat != b->cat)
				continue;
			state_of_event(t, sp->rows[q], &es);
			if (link_cost(t, &es, b, &w, &c)) {
				best = fmin(best, c);
				if (c < B && !add_edge(pb, (uint32_t)(na + q), c))
					return SL_ENOMEM;
			}
		}
		if (!add_edge(pb, (uint32_t)(na + nr + r), birth_cost(t, b)))
			return SL_ENOMEM;
		sp->ambiguous[r] = best < B * AMBIGUOUS_FACTOR;
	}
	pb->row_start[nr] = (uint32_t)pb->nedges;
	if (!problem_ready(pb))
		return SL_ENOMEM;
	if (t->p.greedy)
		solve_greedy(pb);
	else if (!solve_min_cost(pb))
		return SL_ENOMEM;
	/* The links, in time order: a row's predecessor is always settled
	 * before it. */
	size_t born0 = t->ntr;
	for (size_t r = 0; r < nr; r++) {
		int32_t j = sp->rows[r];
		int32_t col = pb->row_col[r];
		int32_t k = NONE;
		if (col >= 0 && (size_t)col < na) {
			k = sp->active[col];
			if (!link_cost(t, &sp->st[col], &t->ev[j], &w, &c))
				k = NONE;
		} else if (col >= 0 && (size_t)col < na + nr) {
			int32_t i = sp->rows[col - (int32_t)na];
			k = t->ev[i].track;
			state_of_event(t, i, &es);
			if (k == NONE || t->tr[k].tail != i ||
			    !link_cost(t, &es, &t->ev[j], &w, &c))
				k = NONE;
		}
		if (k != NONE) {
			append(t, k, j, &w, c);
			continue;
		}
		if (new_track(t, j) == NONE)
			return SL_ENOMEM;
		if (sp->ambiguous[r])
			t->ev[j].flags |= TE_AMBIGUOUS;
	}
	/* New tracks may be continued from the next step on. */
	size_t nnew = t->ntr - born0;
	if (!sl_grow((void **)&sp->active, &sp->cap_a, sp->nactive + nnew,
		     sizeof(int32_t)))
		return SL_ENOMEM;
	for (size_t k = born0; k < t->ntr; k++)
		sp->active[sp->nactive++] = (int32_t)k;
	return SL_OK;
}

static int cmp_tev(const void *x, const void *y)
{
	const tev *a = x, *b = y;
	if (a->t != b->t)
		return a->t < b->t ? -1 : 1;
	return (a->id > b->id) - (a->id < b->id);
}

static bool note_dead(sl_tracker *t, const trk *k)
{
	if (!k->store_id)
		return true;
	size_t c = t->deadcap;
	if (!sl_grow((void **)&t->dead_heads, &c, t->n_dead + 1, sizeof(int64_t)) ||
	    !sl_grow((void **)&t->dead_ids, &t->deadcap, t->n_dead + 1, sizeof(int64_t)))
		return false;
	t->dead_heads[t->n_dead] = k->head_id;
	t->dead_ids[t->n_dead] = k->store_id;
	t->n_dead++;
	return true;
}

/* Cuts every track back to its events before ev[split]; tracks that start
 * after are dropped (their store ids kept for reuse). */
static sl_err cut_tracks(sl_tracker *t, size_t split)
{
	size_t w = 0;
	int32_t *remap = malloc((t->ntr ? t->ntr : 1) * sizeof(*remap));
	if (!remap)
		return SL_ENOMEM;
	for (size_t k = 0; k < t->ntr; k++) {
		trk *tk = &t->tr[k];
		remap[k] = NONE;
		if (!tk->live)
			continue;
		if ((size_t)tk->head >= split) {
			if (!note_dead(t, tk)) {
				free(remap);
				return SL_ENOMEM;
			}
			t->live_tracks--;
			t->died++;
			continue;
		}
		if ((size_t)tk->tail >= split) {
			int32_t i = tk->head;
			while (t->ev[i].next != NONE && (size_t)t->ev[i].next < split)
				i = t->ev[i].next;
			t->ev[i].next = NONE;
			restate(t, (int32_t)k);
			tk->dirty = true;
			tk->touched = t->run;
		}
		remap[k] = (int32_t)w;
		t->tr[w++] = *tk;
	}
	t->ntr = w;
	for (size_t i = 0; i < split; i++)
		if (t->ev[i].track != NONE)
			t->ev[i].track = remap[t->ev[i].track];
	free(remap);
	return SL_OK;
}

/* Sorts the events from split on (dropping removed ones) and clears their
 * links. */
static sl_err resort_tail(sl_tracker *t, size_t split)
{
	size_t w = split;
	for (size_t i = split; i < t->nev; i++)
		if (t->ev[i].flags & TE_LIVE)
			t->ev[w++] = t->ev[i];
	t->nev = w;
	if (w > split)
		qsort(t->ev + split, w - split, sizeof(tev), cmp_tev);
	for (size_t i = split; i < w; i++) {
		tev *e = &t->ev[i];
		e->prev = e->next = e->track = NONE;
		e->flags &= (uint8_t)~TE_AMBIGUOUS;
		e->cost = e->way_m = 0;
		e->arr_dir = 0;
		e->arr_brg = NAN;
		if (sl_idmap_put(&t->by_id, e->id, (int32_t)i) != SL_OK)
			return SL_ENOMEM;
	}
	return SL_OK;
}

sl_err sl_tracker_run(sl_tracker *t, size_t *changed)
{
	if (!t)
		return SL_EINVAL;
	if (changed)
		*changed = 0;
	if (t->t_change == INT64_MAX)
		return SL_OK;
	int64_t T = sl_trk_step_of(t, t->t_change) * t->p.step_s;
	t->run++;
	t->died = 0;
	size_t lo = 0, hi = t->n_sorted;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->ev[mid].t < T)
			lo = mid + 1;
		else
			hi = mid;
	}
	size_t split = lo;
	sl_err err = cut_tracks(t, split);
	if (!err)
		err = resort_tail(t, split);
	stepper sp = {0};
	/* The tracks that can still be continued at T. */
	for (size_t k = 0; k < t->ntr && !err; k++) {
		const trk *tk = &t->tr[k];
		if ((double)t->ev[tk->tail].t + end_life_s(t, tk) < (double)T)
			continue;
		if (!sl_grow((void **)&sp.active, &sp.cap_a, sp.nactive + 1,
			     sizeof(int32_t)))
			err = SL_ENOMEM;
		else
			sp.active[sp.nactive++] = (int32_t)k;
	}
	size_t i = split;
	while (i < t->nev && !err) {
		int64_t k = sl_trk_step_of(t, t->ev[i].t);
		int64_t t1 = (k + 1) * t->p.step_s;
		size_t j = i;
		while (j < t->nev && t->ev[j].t < t1)
			j++;
		/* Tracks too old for this step leave the window. */
		size_t w = 0;
		for (size_t a = 0; a < sp.nactive; a++) {
			const trk *tk = &t->tr[sp.active[a]];
			if ((double)t->ev[tk->tail].t + end_life_s(t, tk) >=
			    (double)(k * t->p.step_s))
				sp.active[w++] = sp.active[a];
		}
		sp.nactive = w;
		err = solve_step(t, &sp, i, j);
		i = j;
	}
	stepper_free(&sp);
	if (err)
		return err; /* the tracker is left to be run again from scratch */
	t->n_sorted = t->nev;
	t->t_change = INT64_MAX;
	if (changed) {
		/* Dropped tracks that no new one took the place of, and every
		 * track made, cut or grown in this run. */
		size_t n = t->died;
		for (size_t k = 0; k < t->ntr; k++)
			n += t->tr[k].touched == t->run;
		*changed = n;
	}
	return SL_OK;
}

/* ---------------------------------------------------------------- reading */

sl_err sl_tracker_track_of(const sl_tracker *t, int64_t id, int64_t *key,
			   size_t *n_events)
{
	if (!t || !key)
		return SL_EINVAL;
	int32_t i = sl_idmap_get(&t->by_id, id);
	if (i == NONE || t->ev[i].track == NONE)
		return SL_ENOTFOUND;
	*key = t->ev[i].track + 1;
	if (n_events)
		*n_events = t->tr[t->ev[i].track].n;
	return SL_OK;
}

sl_err sl_tracker_each_track(sl_tracker *t, sl_track_visit visit, void *ud)
{
	if (!t || !visit)
		return SL_EINVAL;
	sl_arena *a = sl_arena_new((size_t)64 << 20);
	if (!a)
		return SL_ENOMEM;
	sl_err err = SL_OK;
	for (size_t k = 0; k < t->ntr && !err; k++) {
		sl_track tr;
		sl_arena_reset(a);
		if (!(err = sl_trk_shape(t, k, a, &tr)))
			err = visit(ud, &tr);
	}
	sl_arena_free(a);
	return err;
}
