/*
 * track_shape.c — what a track says (track_int.h): its route, equipment,
 * confidence, heading and where it is going (docs/TRACKING.md, "What a track
 * says" and "Where it is going").
 *
 * Route: the network route of each link (sl_network_route) for trains on
 * the network, straight legs otherwise, simplified (Douglas-Peucker, 50 m,
 * coarser until it fits SL_TRACK_ROUTE_MAX points).
 * Equipment: per type, the median of the events' counts, with a range that
 * holds the middle half of them and the events' own ranges; a type counts
 * when a third of the events that name equipment name it.
 * Confidence that it is one real movement: 1 - prod(1 - c) over its events.
 * Direction: how the distance to the Ukrainian and the Russian borders
 * changed from the first place to the last, against the distance moved
 * (or, for one sighting with a heading, 30 km along the heading), and the
 * first crossing of home's border ahead along the network in the direction
 * of travel (or along the heading, off the network).
 */
#include "engine/track_int.h"

#include <stdlib.h>
#include <string.h>

#include "sightline/buf.h"
#include "sightline/geo.h"

#define SIMPLIFY_M 50.0
#define VIRTUAL_M 30000.0     /* one sighting: how far its heading is followed */
#define LEVEL_MIN_M 15000.0   /* a border closer or farther by less is level */
#define LEVEL_SHARE 0.35      /* ... or by less than this share of the move */
#define MOVE_MIN_M 5000.0     /* a track that moved less has no direction of its own */
#define AHEAD_MAX_M 1500000.0 /* crossings farther ahead are not looked for */
#define RAY_MAX_M 800000.0
#define EVIDENCE_M 50000.0 /* a change this far past the threshold is clear */
#define VIRTUAL_SURE 0.4   /* one sighting's heading says this much of it */

/* ---------------------------------------------------------------- route */

typedef struct pts {
	double *lat, *lon;
	size_t n, cap;
} pts;

static bool pts_add(pts *p, double lat, double lon)
{
	if (p->n && p->lat[p->n - 1] == lat && p->lon[p->n - 1] == lon)
		return true;
	size_t c = p->cap;
	if (!sl_grow((void **)&p->lat, &c, p->n + 1, sizeof(double)) ||
	    !sl_grow((void **)&p->lon, &p->cap, p->n + 1, sizeof(double)))
		return false;
	p->lat[p->n] = lat, p->lon[p->n] = lon;
	p->n++;
	return true;
}

/* Douglas-Peucker over p in a flat frame at its first point: keep[] marks
 * the points kept; returns how many. */
static size_t simplify(const pts *p, double tol_m, uint8_t *keep, size_t *stack)
{
	if (p->n <= 2) {
		memset(keep, 1, p->n);
		return p->n;
	}
	memset(keep, 0, p->n);
	keep[0] = keep[p->n - 1] = 1;
	sl_geo_frame f = sl_geo_local(p->lat[0], p->lon[0]);
	size_t top = 0, kept = 2;
	stack[top++] = 0, stack[top++] = p->n - 1;
	while (top) {
		size_t j = stack[--top], i = stack[--top];
		double ax, ay, bx, by;
		sl_geo_to_xy(&f, p->lat[i], p->lon[i], &ax, &ay);
		sl_geo_to_xy(&f, p->lat[j], p->lon[j], &bx, &by);
		double dx = bx - ax, dy = by - ay, l2 = dx * dx + dy * dy;
		double worst = -1;
		size_t at = i;
		for (size_t k = i + 1; k < j; k++) {
			double x, y;
			sl_geo_to_xy(&f, p->lat[k], p->lon[k], &x, &y);
			double u = l2 > 0 ? ((x - ax) * dx + (y - ay) * dy) / l2 : 0;
			u = u < 0 ? 0 : u > 1 ? 1 : u;
			double d = hypot(x - ax - u * dx, y - ay - u * dy);
			if (d > worst)
				worst = d, at = k;
		}
		if (worst > tol_m) {
			keep[at] = 1;
			kept++;
			stack[top++] = i, stack[top++] = at;
			stack[top++] = at, stack[top++] = j;
		}
	}
	return kept;
}

/* The route of track tk through its events, into out (in a). */
static sl_err route_of(sl_tracker *t, const trk *tk, sl_arena *a, sl_track *out)
{
	pts p = {0};
	sl_err err = SL_OK;
	bool net = t->has_net && t->p.motion[tk->cat].on_network;
	for (int32_t i = tk->head; i != NONE && !err; i = t->ev[i].next) {
		const tev *e = &t->ev[i];
		const tev *pv = e->prev != NONE ? &t->ev[e->prev] : NULL;
		sl_route *r = NULL;
		if (pv && net && (pv->flags & TE_SNAPPED) && (e->flags & TE_SNAPPED)) {
			sl_network_pos pa = {.edge = pv->edge,
					     .offset_m = pv->off,
					     .lat = pv->lat,
					     .lon = pv->lon};
			sl_network_pos pb = {.edge = e->edge,
					     .offset_m = e->off,
					     .lat = e->lat,
					     .lon = e->lon};
			if (sl_network_route(t->net.net, &pa, &pb, e->way_m * 1.01 + 100,
					     &r) != SL_OK)
				r = NULL;
		}
		if (r) {
			const double *la, *lo, *cum;
			size_t n = sl_route_points(r, &la, &lo, &cum);
			for (size_t k = 0; k < n && !err; k++)
				if (!pts_add(&p, la[k], lo[k]))
					err = SL_ENOMEM;
			sl_route_free(r);
		} else if (!pts_add(&p, e->lat, e->lon)) {
			err = SL_ENOMEM;
		}
	}
	uint8_t *keep = err ? NULL : malloc(p.n ? p.n : 1);
	size_t *stack = err ? NULL : malloc((2 * p.n + 2) * sizeof(size_t));
	if (!err && (!keep || !stack))
		err = SL_ENOMEM;
	size_t kept = 0;
	for (double tol = SIMPLIFY_M; !err; tol *= 2) {
		kept = simplify(&p, tol, keep, stack);
		if (kept <= SL_TRACK_ROUTE_MAX)
			break;
	}
	if (!err) {
		double *la = sl_arena_alloc(a, (kept ? kept : 1) * sizeof(double));
		double *lo = sl_arena_alloc(a, (kept ? kept : 1) * sizeof(double));
		if (!la || !lo)
			err = SL_ENOMEM;
		for (size_t k = 0, w = 0; !err && k < p.n; k++)
			if (keep[k])
				la[w] = p.lat[k], lo[w] = p.lon[k], w++;
		out->route_lat = la, out->route_lon = lo, out->n_route = kept;
	}
	free(keep);
	free(stack);
	free(p.lat);
	free(p.lon);
	return err;
}

/* ---------------------------------------------------------------- equipment */

static int cmp_i32(const void *x, const void *y)
{
	int32_t a = *(const int32_t *)x, b = *(const int32_t *)y;
	return (a > b) - (a < b);
}

static int32_t pick(int32_t *v, size_t n, double q)
{
	qsort(v, n, sizeof(*v), cmp_i32);
	return v[(size_t)(q * (double)(n - 1) + 0.5)];
}

static int cmp_item(const void *x, const void *y)
{
	const sl_event_item *a = x, *b = y;
	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	return (int)a->type - (int)b->type;
}

static sl_err items_of(const sl_tracker *t, const trk *tk, sl_arena *a, sl_track *out)
{
	size_t equipped = 0;
	for (int32_t i = tk->head; i != NONE; i = t->ev[i].next)
		equipped += t->ev[i].n_items > 0;
	out->n_items = 0;
	if (equipped == 0)
		return SL_OK;
	int32_t *c = malloc(3 * equipped * sizeof(*c));
	sl_event_item *items = sl_arena_alloc(a, SL_EQ_COUNT * sizeof(*items));
	if (!c || !items) {
		free(c);
		return SL_ENOMEM;
	}
	int32_t *lo = c + equipped, *hi = lo + equipped;
	size_t k = 0;
	for (int ty = 0; ty < SL_EQ_COUNT; ty++) {
		size_t n = 0;
		for (int32_t i = tk->head; i != NONE; i = t->ev[i].next) {
			const tev *e = &t->ev[i];
			for (int m = 0; m < e->n_items; m++)
				if (e->item[m].type == ty) {
					c[n] = e->item[m].count;
					lo[n] = e->item[m].lo ? e->item[m].lo
							      : e->item[m].count;
					hi[n] = e->item[m].hi ? e->item[m].hi
							      : e->item[m].count;
					n++;
				}
		}
		if (n == 0 || 3 * n < equipped)
			continue;
		int32_t med = pick(c, n, 0.5), q1 = pick(c, n, 0.25),
			q3 = pick(c, n, 0.75);
		int32_t l = pick(lo, n, 0.5), h = pick(hi, n, 0.5);
		items[k++] = (sl_event_item){.type = (sl_equipment_type)ty,
					     .count = med,
					     .count_min = l < q1 ? l : q1,
					     .count_max = h > q3 ? h : q3};
	}
	free(c);
	qsort(items, k, sizeof(*items), cmp_item);
	out->items = items;
	out->n_items = k;
	return SL_OK;
}

/* ---------------------------------------------------------------- direction */

/* The best crossing ahead of e leaving along dir, among those of country
 * want (0: any; -want: any but that one). */
static const sl_border_crossing *crossing_ahead(const sl_tracker *t, const tev *e,
						int dir, int want, double *dist)
{
	const sl_border_crossing *best = NULL;
	*dist = INFINITY;
	for (size_t i = 0; i < t->n_crossings; i++) {
		const sl_border_crossing *x = &t->crossings[i];
		if ((want > 0 && x->country != want) || (want < 0 && x->country == -want))
			continue;
		double d = sl_tnet_ahead(&t->net, e, dir, x);
		if (d < *dist && d <= AHEAD_MAX_M)
			*dist = d, best = x;
	}
	return best;
}

static void set_crossing(sl_track *out, int country, double lat, double lon, double dist,
			 const char *name, sl_arena *a)
{
	out->has_crossing = true;
	out->crossing_country = country;
	out->crossing_lat = lat, out->crossing_lon = lon;
	out->crossing_distance_m = dist;
	out->crossing_name = sl_arena_strdup(a, name ? name : "");
	if (!out->crossing_name)
		out->crossing_name = "";
}

static double clamp01(double v)
{
	return v < 0 ? 0 : v > 1 ? 1 : v;
}

/* How clearly a change of d metres in a border's distance, past the level
 * threshold thr, says toward or away: 0 at half the threshold, 0.63 at
 * EVIDENCE_M beyond it, near 1 at a few times that. */
static double evidence(double d, double thr)
{
	return clamp01(1 - exp(-(d - thr / 2) / EVIDENCE_M));
}

/* The class of a move of disp metres that changed the distance to
 * Ukraine's border by dua and Russia's by dru; *thr the level threshold. */
static sl_direction classify(double dua, double dru, double disp, double *thr)
{
	*thr = fmax(LEVEL_MIN_M, LEVEL_SHARE * disp);
	if (dua <= -*thr)
		return SL_DIR_TOWARD_UKRAINE;
	if (dua >= *thr)
		return SL_DIR_AWAY_FROM_UKRAINE;
	if (dru <= -*thr)
		return SL_DIR_TOWARD_RUSSIA;
	return SL_DIR_INTERNAL;
}

/* The change of the distance to country's border from one place to
 * another; 0 when either is unknown. */
static double change_m(const sl_borders *b, int country, double lat0, double lon0,
		       double lat1, double lon1)
{
	double d0 = sl_borders_distance_m(b, country, lat0, lon0);
	double d1 = sl_borders_distance_m(b, country, lat1, lon1);
	return d0 >= 0 && d1 >= 0 ? d1 - d0 : 0;
}

sl_direction sl_track_direction_of_move(const sl_borders *b, int ukraine, int russia,
					double lat0, double lon0, double lat1,
					double lon1)
{
	double disp = sl_geo_distance_m(lat0, lon0, lat1, lon1);
	if (!b || disp < MOVE_MIN_M)
		return SL_DIR_UNKNOWN;
	double thr;
	return classify(change_m(b, ukraine, lat0, lon0, lat1, lon1),
			change_m(b, russia, lat0, lon0, lat1, lon1), disp, &thr);
}

/* out's direction, its confidence and the crossing ahead. tail: the event
 * the track ends at; swapped: the time order was unsure and the headings
 * say the track ran from last to first. */
static void direction_of(sl_tracker *t, const trk *tk, sl_arena *a, sl_track *out)
{
	out->direction = SL_DIR_UNKNOWN;
	if (!t->borders)
		return;
	const tev *head = &t->ev[tk->head], *tail = &t->ev[tk->tail];
	double slat = out->first_lat, slon = out->first_lon;
	double elat = out->last_lat, elon = out->last_lon;
	double disp = sl_geo_distance_m(slat, slon, elat, elon);
	bool virtual = false, swapped = false;
	const tev *end = tail;
	if (tk->n < 2 || disp < MOVE_MIN_M) {
		if (!out->has_heading)
			return;
		slat = elat, slon = elon;
		sl_geo_destination(slat, slon, out->heading_deg, VIRTUAL_M, &elat, &elon);
		disp = VIRTUAL_M;
		virtual = true;
	} else {
		/* Whole-day sightings (the CIR map) leave the order open: the
		 * reported headings decide it then. */
		double tau = t->p.time_slack_s + 0.5 * (double)(head->t1 - head->t0) +
			     0.5 * (double)(tail->t1 - tail->t0);
		if ((double)(tail->t - head->t) < tau / 2) {
			double hs = 0, hc = 0;
			for (int32_t i = tk->head; i != NONE; i = t->ev[i].next)
				if (!isnan(t->ev[i].heading)) {
					hs += sin(t->ev[i].heading * SL_GEO_PI / 180);
					hc += cos(t->ev[i].heading * SL_GEO_PI / 180);
				}
			double b =
			    sl_geo_bearing_deg(slat, slon, elat, elon) * SL_GEO_PI / 180;
			if (hs * sin(b) + hc * cos(b) < 0) {
				double x = slat, y = slon;
				slat = elat, slon = elon, elat = x, elon = y;
				swapped = true;
				end = head;
				/* First and last as it moved. */
				out->first_lat = slat, out->first_lon = slon;
				out->last_lat = elat, out->last_lon = elon;
				out->has_heading = true;
				out->heading_deg =
				    sl_geo_bearing_deg(slat, slon, elat, elon);
			}
		}
	}
	const sl_borders *b = t->borders;
	double dua = change_m(b, t->p.ukraine, slat, slon, elat, elon);
	double dru = change_m(b, t->p.russia, slat, slon, elat, elon);
	out->ukraine_change_m = dua;
	out->russia_change_m = dru;
	double thr;
	out->direction = classify(dua, dru, disp, &thr);
	out->toward_russia = dru <= -thr;
	/* How sure: the border distance changed well beyond the threshold
	 * (for a unit leaving Ukraine for Russia, whichever says it more
	 * clearly; for an internal one, neither came near it), on a track of
	 * several real sightings. */
	double s_ua = evidence(fabs(dua), thr), s_ru = evidence(fabs(dru), thr);
	double s_m;
	switch (out->direction) {
	case SL_DIR_TOWARD_UKRAINE:
		s_m = s_ua;
		break;
	case SL_DIR_AWAY_FROM_UKRAINE:
		s_m = out->toward_russia ? fmax(s_ua, s_ru) : s_ua;
		break;
	case SL_DIR_TOWARD_RUSSIA:
		s_m = s_ru;
		break;
	default:
		s_m = 1 - fmax(fabs(dua), fabs(dru)) / thr;
		s_m = 0.3 + 0.7 * clamp01(s_m) * (1 - exp(-disp / EVIDENCE_M));
		break;
	}
	double s_n = 1 - pow(0.5, (double)tk->n);
	out->direction_confidence =
	    clamp01(s_m * s_n * sqrt(out->confidence) * (virtual ? VIRTUAL_SURE : 1));
	/* The crossing its route leads to. */
	int want = 0;
	switch (out->direction) {
	case SL_DIR_TOWARD_UKRAINE:
		want = t->p.ukraine;
		break;
	case SL_DIR_TOWARD_RUSSIA:
		want = t->p.russia;
		break;
	case SL_DIR_AWAY_FROM_UKRAINE:
		want = dru <= -thr ? t->p.russia : -t->p.ukraine;
		break;
	default:
		break;
	}
	int dir = 0;
	if (!swapped && (end->flags & TE_SNAPPED) && t->has_net && t->net.apsp) {
		if (end->prev != NONE && end->arr_dir != 0)
			dir = end->arr_dir;
		else if (!isnan(end->heading))
			dir =
			    sl_geo_angle_diff(end->heading, end->edge_brg) <= 90 ? 1 : -1;
	}
	if (dir != 0 && t->n_crossings) {
		double d;
		const sl_border_crossing *x = crossing_ahead(t, end, dir, want, &d);
		if (!x && want)
			x = crossing_ahead(t, end, dir, 0, &d);
		if (x)
			set_crossing(out, x->country, x->lat, x->lon, d, x->station, a);
		return;
	}
	if (!out->has_heading && !virtual && disp < MOVE_MIN_M)
		return;
	double brg = out->has_heading ? out->heading_deg
				      : sl_geo_bearing_deg(slat, slon, elat, elon);
	sl_border_exit ex;
	double from_lat = virtual ? slat : elat, from_lon = virtual ? slon : elon;
	if (sl_borders_ray_exit(b, t->p.home, from_lat, from_lon, brg, RAY_MAX_M, &ex) !=
	    SL_OK)
		return;
	size_t si;
	const char *name = NULL;
	if (t->stations &&
	    sl_stations_nearest(t->stations, ex.lat, ex.lon, 25000, &si, NULL) == SL_OK)
		name = sl_stations_get(t->stations, si)->name_ru;
	set_crossing(out, ex.country, ex.lat, ex.lon, ex.along_m, name, a);
}

/* ---------------------------------------------------------------- the track */

sl_err sl_trk_shape(sl_tracker *t, size_t k, sl_arena *a, sl_track *out)
{
	trk *tk = &t->tr[k];
	memset(out, 0, sizeof(*out));
	out->id = tk->store_id ? tk->store_id : -(int64_t)(k + 1);
	out->category = (sl_category)tk->cat;
	int64_t *ids = sl_arena_alloc(a, tk->n * sizeof(*ids));
	if (!ids)
		return SL_ENOMEM;
	double miss = 1;
	size_t n = 0;
	for (int32_t i = tk->head; i != NONE && n < tk->n; i = t->ev[i].next) {
		const tev *e = &t->ev[i];
		ids[n++] = e->id;
		out->n_reports += e->n_reports;
		miss *= 1 - fmin(fmax(e->conf, 0), 0.99);
		if (e->prev != NONE)
			out->length_m += e->way_m;
	}
	out->event_ids = ids;
	out->n_events = n;
	const tev *head = &t->ev[tk->head], *tail = &t->ev[tk->tail];
	out->t_first = head->t, out->t_last = tail->t;
	out->first_lat = head->lat, out->first_lon = head->lon;
	out->last_lat = tail->lat, out->last_lon = tail->lon;
	out->confidence = fmin(1 - miss, 0.99);
	out->may_continue = (head->flags & TE_AMBIGUOUS) != 0;
	double disp = sl_geo_distance_m(head->lat, head->lon, tail->lat, tail->lon);
	if (tk->n >= 2 && !isnan(tail->arr_brg)) {
		out->has_heading = true;
		out->heading_deg = tail->arr_brg;
	} else if (tk->n >= 2 && disp >= 1000) {
		out->has_heading = true;
		out->heading_deg =
		    fmod(sl_geo_bearing_deg(tail->lat, tail->lon, head->lat, head->lon) +
			     180.0,
			 360.0);
	} else if (!isnan(tail->heading)) {
		out->has_heading = true;
		out->heading_deg = tail->heading;
	}
	sl_err err = items_of(t, tk, a, out);
	if (!err)
		err = route_of(t, tk, a, out);
	if (!err)
		direction_of(t, tk, a, out);
	if (!out->crossing_name)
		out->crossing_name = "";
	return err;
}
