/*
 * estimate.c — what an event says: where, when, what and how sure
 * (docs/ENGINE.md, "Estimates" and "Confidence").
 *
 * Location: the centroid of the members weighted by precision and grade
 * (w = q / sigma^2, q the report's weight below), with the pooled
 * uncertainty sqrt(1 / sum(1 / sigma^2)), widened to the members' own
 * scatter when they disagree by more than their claimed precision.
 * Time: from the earliest member's start to the latest one's end.
 * Equipment: per type, the median of the members' counts (the middle of a
 * range), with the range of the counts within a factor of two of it, so
 * that one wild count neither moves the estimate nor widens the range; a
 * type counts when at least a third of the members who name equipment
 * name it.
 * Confidence: 1 - prod(1 - q_i) over independent members (near-identical
 * reports sent twice count once), scaled by how well their equipment
 * agrees: c = support * (0.6 + 0.4 * agreement).
 */
#include "engine/engine_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sightline/geo.h"

#define DUP_SECONDS 60	 /* two reports this close in time ... */
#define DUP_METRES 25.0	 /* ... and place, with the same equipment, are one */
#define DUP_CHECK_MAX 64 /* members compared for duplicates at most */

/* The Admiralty grades as probabilities (docs/MODERATION.md explains the
 * letters and digits): reliability of the source, credibility of the
 * information; 0 is ungraded, F and 6 "cannot be judged". */
static double reliability_p(char g)
{
	switch (g) {
	case 'A':
		return 0.9;
	case 'B':
		return 0.8;
	case 'C':
		return 0.65;
	case 'D':
		return 0.45;
	case 'E':
		return 0.25;
	default:
		return 0.5;
	}
}

static double credibility_p(int g)
{
	static const double p[] = {0.5, 0.95, 0.8, 0.65, 0.45, 0.2, 0.5};
	return g >= 0 && g <= 6 ? p[g] : 0.5;
}

double sl_eng_report_weight(const rep *r)
{
	/* Ungraded: 1.4 * 0.5 * 0.5 = 0.35; B2: 0.9; A1: capped at 0.95. */
	double q = 1.4 * reliability_p(r->reliability) * credibility_p(r->credibility);
	if (q > 0.95)
		q = 0.95;
	if (r->flags & R_VERIFIED && q < 0.9)
		q = 0.9;
	if (r->photos)
		q = 1 - (1 - q) * 0.7;
	return q;
}

static bool live(const rep *r)
{
	return (r->flags & R_POINT) && !(r->flags & R_REJECTED);
}

static double value_of(const eqi *q)
{
	return q->count_max > q->count ? (q->count + q->count_max) / 2.0 : q->count;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static bool same_equipment(const sl_engine *e, const rep *a, const rep *b)
{
	if (a->n_eq != b->n_eq)
		return false;
	for (uint8_t k = 0; k < a->n_eq; k++) {
		const eqi *x = &e->eq[a->eq_at + k], *y = &e->eq[b->eq_at + k];
		if (x->type != y->type || x->count != y->count ||
		    x->count_max != y->count_max)
			return false;
	}
	return true;
}

/* Equipment estimate and its agreement in 0..1 (1 when there is nothing
 * to disagree about). items has room for SL_EQ_COUNT. */
static double estimate_items(const sl_engine *e, const ev *v, sl_event_item *items,
			     size_t *n_items, double *scratch)
{
	*n_items = 0;
	uint32_t with_eq = 0;
	for (uint32_t i = 0; i < v->n; i++) {
		const rep *r = &e->r[ev_members_c(v)[i]];
		with_eq += live(r) && r->n_eq > 0;
	}
	if (with_eq == 0)
		return 1;
	uint32_t need = (with_eq + 2) / 3;
	double count_agree = 0;
	int counted = 0;
	uint16_t chosen = 0;
	for (int t = 0; t < SL_EQ_COUNT; t++) {
		size_t nv = 0;
		for (uint32_t i = 0; i < v->n; i++) {
			const rep *r = &e->r[ev_members_c(v)[i]];
			if (!live(r) || !(r->types & (1u << t)))
				continue;
			double sum = 0;
			for (uint8_t k = 0; k < r->n_eq; k++)
				if (e->eq[r->eq_at + k].type == t)
					sum += value_of(&e->eq[r->eq_at + k]);
			scratch[nv++] = sum;
		}
		if (nv == 0 || nv < need)
			continue;
		double med = median(scratch, nv);
		double lo = med, hi = med, dev = 0;
		for (size_t k = 0; k < nv; k++) {
			if (scratch[k] >= med / 2 && scratch[k] <= med * 2) {
				lo = scratch[k] < lo ? scratch[k] : lo;
				hi = scratch[k] > hi ? scratch[k] : hi;
			}
			dev += fabs(scratch[k] - med);
		}
		if (nv >= 2 && med > 0) {
			double mad = dev / nv / med;
			count_agree += mad > 1 ? 0 : 1 - mad;
			counted++;
		}
		sl_event_item *it = &items[(*n_items)++];
		it->type = (sl_equipment_type)t;
		it->count = (int32_t)lround(med);
		it->count_min = (int32_t)floor(lo);
		it->count_max = (int32_t)ceil(hi);
		if (it->count < 1)
			it->count = 1;
		if (it->count_min < 1)
			it->count_min = 1;
		chosen |= (uint16_t)(1u << t);
	}
	uint32_t agree_types = 0;
	for (uint32_t i = 0; i < v->n; i++) {
		const rep *r = &e->r[ev_members_c(v)[i]];
		agree_types += live(r) && r->n_eq > 0 && (r->types & chosen);
	}
	double a_types = (double)agree_types / with_eq;
	return counted ? (a_types + count_agree / counted) / 2 : a_types;
}

sl_err sl_eng_estimate(const sl_engine *e, int32_t id, bool engine_only, sl_arena *a,
		       sl_event *out)
{
	const ev *v = &e->e[id];
	memset(out, 0, sizeof(*out));
	out->id = v->store_id ? v->store_id : -((int64_t)id + 1);
	out->has_category = (v->flags & E_HAS_CAT) != 0;
	out->category = (sl_category)v->cat;
	out->by_moderator = (v->flags & E_DECIDED) != 0;
	int64_t *ids = a ? sl_arena_alloc(a, (v->n + 1) * sizeof(*ids)) : NULL;
	sl_event_item *items = a ? sl_arena_alloc(a, SL_EQ_COUNT * sizeof(*items)) : NULL;
	double *scratch = a ? sl_arena_alloc(a, (v->n + 1) * sizeof(*scratch)) : NULL;
	if (a && (!ids || !items || !scratch))
		return SL_ENOMEM;
	size_t n = 0;
	for (uint32_t i = 0; ids && i < v->n; i++) {
		const rep *r = &e->r[ev_members_c(v)[i]];
		if (!engine_only || r->home == id)
			ids[n++] = r->id;
	}
	out->report_ids = ids;
	out->n_reports = n;
	if (v->n_live == 0)
		return SL_OK;

	out->has_estimate = true;
	out->has_point = true;
	out->lat = ev_lat(v);
	out->lon = ev_lon(v);
	double scatter = 0;
	int64_t t0 = INT64_MAX, t1 = INT64_MIN;
	bool verified = false;
	/* Support from independent members: a near-identical earlier member
	 * makes a report a duplicate of it. */
	double miss = 1;
	uint32_t checked = 0;
	for (uint32_t i = 0; i < v->n; i++) {
		const rep *r = &e->r[ev_members_c(v)[i]];
		if (!live(r))
			continue;
		double d = sl_geo_distance_m(r->lat, r->lon, ev_lat(v), ev_lon(v));
		scatter += d * d;
		t0 = r->t0 < t0 ? r->t0 : t0;
		t1 = rep_t1(r) > t1 ? rep_t1(r) : t1;
		verified |= (r->flags & R_VERIFIED) != 0;
		bool dup = false;
		for (uint32_t j = 0; j < i && checked < DUP_CHECK_MAX && !dup; j++) {
			const rep *o = &e->r[ev_members_c(v)[j]];
			dup = live(o) && llabs(o->t0 - r->t0) <= DUP_SECONDS &&
			      sl_geo_distance_m(o->lat, o->lon, r->lat, r->lon) <=
				  DUP_METRES &&
			      same_equipment(e, o, r);
		}
		checked++;
		if (!dup)
			miss *= 1 - sl_eng_report_weight(r);
	}
	double pooled = v->sigma, spread = sqrt(scatter / v->n_live / v->n_live);
	/* A radius like the reports' own: two standard deviations. */
	out->uncertainty_m = 2 * (pooled > spread ? pooled : spread);
	out->t_start = t0;
	out->t_end = t1;
	if (v->nh && hypot(v->hs, v->hc) / v->nh >= 0.5) {
		double h = atan2(v->hs, v->hc) * 180.0 / SL_GEO_PI;
		h = h < 0 ? h + 360 : h;
		out->has_heading = true;
		out->heading_deg = h >= 360 ? 0 : h;
	}
	double agree = 1;
	if (items) {
		agree = estimate_items(e, v, items, &out->n_items, scratch);
		out->items = items;
	}
	double c = (1 - miss) * (0.6 + 0.4 * agree);
	if (verified && c < 0.9)
		c = 0.9;
	out->confidence = c < 0 ? 0 : c > 1 ? 1 : c;
	return SL_OK;
}
