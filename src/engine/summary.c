/*
 * summary.c — movements and equipment by period and direction (summary.h).
 *
 * The tracks of the query's category are read once, in pages, and added
 * into the period of their first sighting: one tally for the period and one
 * per direction class. A sure track (confidence >= SL_SUMMARY_SURE, not
 * possibly another's continuation) adds to min; every track adds to max,
 * and to count its probability of being one real movement of its own
 * (confidence, halved for a possible continuation), so that count is the
 * expected number. Equipment adds the track's estimate: its low end to min
 * (sure tracks only), its high end to max, its count times the track's
 * probability to count.
 */
#include "sightline/summary.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sightline/timefmt.h"

static const char *const period_names[SL_PERIOD_COUNT] = {"day", "week", "month"};

const char *sl_period_name(sl_period p)
{
	return (unsigned)p < SL_PERIOD_COUNT ? period_names[p] : "day";
}

bool sl_period_from_name(const char *name, sl_period *out)
{
	for (int p = 0; name && p < SL_PERIOD_COUNT; p++)
		if (strcmp(name, period_names[p]) == 0) {
			*out = (sl_period)p;
			return true;
		}
	return false;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	return a >= 0 ? a / b : -((-a + b - 1) / b);
}

int64_t sl_period_start(sl_period p, int64_t t)
{
	int64_t day = floor_div(t, 86400);
	if (p == SL_PERIOD_DAY)
		return day * 86400;
	if (p == SL_PERIOD_WEEK) {
		/* 1970-01-01 was a Thursday: day 0 is 3 days after a Monday. */
		int64_t wd = ((day + 3) % 7 + 7) % 7;
		return (day - wd) * 86400;
	}
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	tm.tm_mday = 1;
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	return (int64_t)timegm(&tm);
}

int64_t sl_period_next(sl_period p, int64_t start)
{
	if (p == SL_PERIOD_DAY)
		return start + 86400;
	if (p == SL_PERIOD_WEEK)
		return start + 7 * 86400;
	time_t tt = (time_t)start;
	struct tm tm;
	gmtime_r(&tt, &tm);
	tm.tm_mon += 1;
	tm.tm_mday = 1;
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	return (int64_t)timegm(&tm);
}

typedef struct range {
	double sum; /* the expected count */
	int64_t min, max;
} range;

typedef struct tally {
	range moves;
	range eq[SL_EQ_COUNT];
	int64_t toward_russia; /* movements also closing on the Russian border */
} tally;

typedef struct bucket {
	int64_t start, end;
	tally all;
	tally dir[SL_DIR_COUNT];
} bucket;

/* How likely a track is one real movement of its own: its confidence,
 * halved when it may be the rest of another track. */
static double weight(const sl_track *tr)
{
	return tr->confidence * (tr->may_continue ? 0.5 : 1.0);
}

static void add(tally *t, const sl_track *tr, bool sure)
{
	double w = weight(tr);
	t->moves.sum += w;
	t->moves.max++;
	t->moves.min += sure;
	t->toward_russia += tr->toward_russia;
	for (size_t i = 0; i < tr->n_items; i++) {
		const sl_event_item *it = &tr->items[i];
		if ((unsigned)it->type >= SL_EQ_COUNT)
			continue;
		range *r = &t->eq[it->type];
		r->sum += w * it->count;
		r->max += it->count_max > it->count ? it->count_max : it->count;
		if (sure)
			r->min += it->count_min < it->count ? it->count_min : it->count;
	}
}

static json_t *range_json(const range *r)
{
	/* The expected count, inside its range (rounding aside). */
	json_int_t c = (json_int_t)llround(r->sum);
	c = c < r->min ? r->min : c > r->max ? r->max : c;
	return json_pack("{s:I,s:I,s:I}", "count", c, "min", (json_int_t)r->min, "max",
			 (json_int_t)r->max);
}

static json_t *tally_json(const tally *t, json_t *o)
{
	json_t *eq = json_array();
	for (int ty = 0; eq && ty < SL_EQ_COUNT; ty++) {
		const range *r = &t->eq[ty];
		if (r->max == 0 && r->sum == 0)
			continue;
		json_t *x = range_json(r);
		if (!x ||
		    json_object_set_new(
			x, "type",
			json_string(sl_equipment_type_name((sl_equipment_type)ty))) ||
		    json_array_append_new(eq, x)) {
			json_decref(eq);
			eq = NULL;
		}
	}
	if (!o || !eq || json_object_set_new(o, "movements", range_json(&t->moves)) ||
	    json_object_set_new(o, "equipment", eq)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *time_json(int64_t t)
{
	char buf[SL_TIME_TEXT_MAX];
	sl_time_format(t, buf);
	return json_string(buf);
}

static json_t *bucket_json(const bucket *b, bool times)
{
	json_t *o = tally_json(&b->all, json_object());
	json_t *dirs = json_array();
	for (int d = 0; o && dirs && d < SL_DIR_COUNT; d++) {
		json_t *x = tally_json(&b->dir[d], json_object());
		if (!x ||
		    json_object_set_new(
			x, "class", json_string(sl_direction_name((sl_direction)d))) ||
		    json_object_set_new(
			x, "toward_russia",
			json_integer((json_int_t)b->dir[d].toward_russia)) ||
		    json_array_append_new(dirs, x)) {
			json_decref(dirs);
			dirs = NULL;
		}
	}
	if (!o || !dirs || json_object_set_new(o, "directions", dirs) ||
	    (times && (json_object_set_new(o, "start", time_json(b->start)) ||
		       json_object_set_new(o, "end", time_json(b->end))))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

#define PAGE 1000

/* Every track of q's category first seen in its range, to visit. */
typedef sl_err (*track_fn)(void *ud, const sl_track *tr);

static sl_err each_track(sl_store *s, const sl_summary_query *q, track_fn fn, void *ud)
{
	sl_arena *a = sl_arena_new((size_t)64 << 20);
	if (!a)
		return SL_ENOMEM;
	sl_track_filter f = {.ascending = true,
			     .has_category = true,
			     .category = q->category,
			     .has_to = q->has_to,
			     .to = q->to,
			     .has_from = q->has_from,
			     .from = q->from,
			     .limit = PAGE};
	sl_err err = SL_OK;
	for (;;) {
		sl_track *tr;
		size_t n;
		sl_arena_reset(a);
		if ((err = sl_store_find_tracks(s, &f, a, &tr, &n)) || n == 0)
			break;
		for (size_t i = 0; i < n && !err; i++)
			if ((!q->has_from || tr[i].t_first >= q->from) &&
			    (!q->has_to || tr[i].t_first < q->to))
				err = fn(ud, &tr[i]);
		if (err)
			break;
		f.cursor = tr[n - 1].id;
	}
	sl_arena_free(a);
	return err;
}

typedef struct span {
	bool any;
	int64_t lo, hi;
} span;

static sl_err note_span(void *ud, const sl_track *tr)
{
	span *sp = ud;
	if (!sp->any || tr->t_first < sp->lo)
		sp->lo = tr->t_first;
	if (!sp->any || tr->t_first > sp->hi)
		sp->hi = tr->t_first;
	sp->any = true;
	return SL_OK;
}

typedef struct filler {
	const sl_summary_query *q;
	bucket *b;
	size_t n;
	tally total;
} filler;

static sl_err fill(void *ud, const sl_track *tr)
{
	filler *f = ud;
	int64_t start = sl_period_start(f->q->period, tr->t_first);
	size_t lo = 0, hi = f->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (f->b[mid].start < start)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo >= f->n || f->b[lo].start != start)
		return SL_OK; /* outside the range: cannot happen */
	bool sure = tr->confidence >= SL_SUMMARY_SURE && !tr->may_continue;
	unsigned d =
	    (unsigned)tr->direction < SL_DIR_COUNT ? tr->direction : SL_DIR_UNKNOWN;
	add(&f->b[lo].all, tr, sure);
	add(&f->b[lo].dir[d], tr, sure);
	add(&f->total, tr, sure);
	return SL_OK;
}

sl_err sl_summary_json(sl_store *s, const sl_summary_query *q, json_t **out)
{
	*out = NULL;
	if (!s || !q || (unsigned)q->period >= SL_PERIOD_COUNT ||
	    (unsigned)q->category >= SL_CAT_COUNT ||
	    (q->has_from && q->has_to && q->to <= q->from))
		return SL_EINVAL;
	/* The range: as asked, else the tracks' own. */
	span sp = {0};
	sl_err err = SL_OK;
	if (!q->has_from || !q->has_to)
		err = each_track(s, q, note_span, &sp);
	if (err)
		return err;
	int64_t lo = q->has_from ? q->from : sp.lo, hi = q->has_to ? q->to - 1 : sp.hi;
	filler f = {.q = q};
	if (q->has_from || q->has_to || sp.any) {
		if (hi < lo)
			hi = lo;
		size_t n = 0;
		for (int64_t b = sl_period_start(q->period, lo); b <= hi;
		     b = sl_period_next(q->period, b))
			if (++n > SL_SUMMARY_MAX_PERIODS)
				return SL_ETOOBIG;
		f.b = calloc(n ? n : 1, sizeof(*f.b));
		if (!f.b)
			return SL_ENOMEM;
		int64_t b = sl_period_start(q->period, lo);
		for (size_t i = 0; i < n; i++, b = sl_period_next(q->period, b))
			f.b[i].start = b, f.b[i].end = sl_period_next(q->period, b);
		f.n = n;
		err = each_track(s, q, fill, &f);
	}
	json_t *periods = err ? NULL : json_array();
	for (size_t i = 0; periods && i < f.n; i++)
		if (json_array_append_new(periods, bucket_json(&f.b[i], true))) {
			json_decref(periods);
			periods = NULL;
		}
	bucket total = {.all = f.total};
	if (!err && periods) {
		/* The directions of the total, from the periods'. */
		for (size_t i = 0; i < f.n; i++)
			for (int d = 0; d < SL_DIR_COUNT; d++) {
				tally *t = &total.dir[d], *x = &f.b[i].dir[d];
				t->moves.sum += x->moves.sum,
				    t->moves.min += x->moves.min;
				t->moves.max += x->moves.max,
				    t->toward_russia += x->toward_russia;
				for (int ty = 0; ty < SL_EQ_COUNT; ty++) {
					t->eq[ty].sum += x->eq[ty].sum;
					t->eq[ty].min += x->eq[ty].min;
					t->eq[ty].max += x->eq[ty].max;
				}
			}
	}
	free(f.b);
	if (err)
		return err;
	json_t *o = json_pack(
	    "{s:s,s:s,s:o,s:o,s:o,s:o,s:f}", "period", sl_period_name(q->period),
	    "category", sl_category_name(q->category), "from",
	    q->has_from ? time_json(q->from) : json_null(), "to",
	    q->has_to ? time_json(q->to) : json_null(), "periods",
	    periods ? periods : json_null(), "total", bucket_json(&total, false),
	    "sure_confidence", SL_SUMMARY_SURE);
	if (!o || !periods) {
		json_decref(o);
		return SL_ENOMEM;
	}
	*out = o;
	return SL_OK;
}
