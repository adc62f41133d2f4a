/*
 * evaluate.c — pairwise and B-cubed scores of a grouping (evaluate.h).
 *
 * Every scored ref gets a truth group and a predicted group (small
 * integers). Sorting the pairs (predicted, truth) gives the contingency
 * table in runs, from which both scores follow without looking at any pair
 * of reports:
 *   pairwise precision = sum C(n_pt, 2) / sum C(n_p, 2), recall over
 *   sum C(n_t, 2); B-cubed precision = (1/N) sum n_pt^2 / n_p, recall
 *   (1/N) sum n_pt^2 / n_t (Bagga and Baldwin 1998; Amigó et al. 2009).
 * A group of one has no pairs: when nothing has pairs, precision and
 * recall are 1.
 */
#include "sightline/evaluate.h"

#include "sightline/buf.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define LINE_MAX_BYTES (16u << 20) /* one JSON line at most */

typedef struct item {
	int64_t pred, truth;
} item;

static int cmp_item(const void *a, const void *b)
{
	const item *x = a, *y = b;
	if (x->pred != y->pred)
		return x->pred < y->pred ? -1 : 1;
	return (x->truth > y->truth) - (x->truth < y->truth);
}

/* Reads one line into *buf (grown, capped); false at the end. */
static bool read_line(FILE *f, char **buf, size_t *cap, size_t *len, bool *too_long)
{
	ssize_t n = getline(buf, cap, f);
	*too_long = n > (ssize_t)LINE_MAX_BYTES;
	if (n < 0)
		return false;
	*len = (size_t)n;
	return true;
}

static double ratio(double num, double den)
{
	return den > 0 ? num / den : 1.0;
}

static double f1(double p, double r)
{
	return p + r > 0 ? 2 * p * r / (p + r) : 0;
}

static sl_err bad(sl_problems *why, const char *file, long line, const char *what)
{
	char field[64];
	snprintf(field, sizeof(field), "%s:%ld", file, line);
	sl_problems_add(why, field, "%s", what);
	return SL_EPARSE;
}

sl_err sl_evaluate_groups(FILE *truth, FILE *events, bool by_object, sl_eval *out,
			  sl_problems *why)
{
	memset(out, 0, sizeof(*out));
	const char *label = by_object ? "object" : "occurrence";
	const char *pred_file = by_object ? "tracks" : "events";
	json_t *refs = json_object();	/* ref -> index in items */
	json_t *groups = json_object(); /* truth label -> group number */
	item *items = NULL;
	size_t n = 0, cap = 0;
	char *buf = NULL;
	size_t bcap = 0, len;
	bool too_long;
	long line = 0;
	int64_t next_group = 0;
	sl_err err = refs && groups ? SL_OK : SL_ENOMEM;
	while (!err && read_line(truth, &buf, &bcap, &len, &too_long)) {
		line++;
		if (too_long) {
			err = bad(why, "truth", line, "line too long");
			break;
		}
		json_error_t je;
		json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
		json_t *ref = json_object_get(j, "ref"), *lab = json_object_get(j, label);
		if (!json_is_object(j) || !json_is_string(ref) ||
		    !(json_is_string(lab) || json_is_null(lab))) {
			json_decref(j);
			if (len <= 1)
				continue; /* an empty line */
			char msg[128];
			snprintf(msg, sizeof(msg),
				 "expected {\"ref\": string, \"%s\": string or null}",
				 label);
			err = bad(why, "truth", line, msg);
			break;
		}
		if (json_object_get(refs, json_string_value(ref))) {
			json_decref(j);
			err = bad(why, "truth", line, "ref given twice");
			break;
		}
		int64_t g;
		if (json_is_null(lab)) {
			g = next_group++; /* a false report: a group of its own */
		} else {
			json_t *known = json_object_get(groups, json_string_value(lab));
			if (known) {
				g = json_integer_value(known);
			} else {
				g = next_group++;
				json_object_set_new(groups, json_string_value(lab),
						    json_integer(g));
			}
		}
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 4096;
			item *grown = realloc(items, ncap * sizeof(*grown));
			if (!grown) {
				json_decref(j);
				err = SL_ENOMEM;
				break;
			}
			items = grown;
			cap = ncap;
		}
		items[n] = (item){-1, g};
		json_object_set_new(refs, json_string_value(ref),
				    json_integer((json_int_t)n));
		n++;
		json_decref(j);
	}
	out->truth_groups = (size_t)next_group;
	/* Predicted groups: event lines are numbered from 0. */
	int64_t pred = 0;
	line = 0;
	while (!err && read_line(events, &buf, &bcap, &len, &too_long)) {
		line++;
		if (too_long) {
			err = bad(why, pred_file, line, "line too long");
			break;
		}
		json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
		json_t *rs = json_object_get(j, "reports");
		if (!json_is_object(j) || !json_is_array(rs)) {
			json_decref(j);
			if (len <= 1)
				continue;
			err = bad(why, pred_file, line,
				  "expected an object with \"reports\": [refs]");
			break;
		}
		size_t k;
		json_t *r;
		json_array_foreach(rs, k, r)
		{
			json_t *at = json_is_string(r)
					 ? json_object_get(refs, json_string_value(r))
					 : NULL;
			if (!at) {
				out->unknown++;
				continue;
			}
			item *it = &items[json_integer_value(at)];
			if (it->pred >= 0) {
				err = bad(why, pred_file, line, "a ref is in two groups");
				break;
			}
			it->pred = pred;
			out->in_events++;
		}
		pred++;
		json_decref(j);
	}
	free(buf);
	json_decref(refs);
	json_decref(groups);
	if (err) {
		free(items);
		return err;
	}
	for (size_t i = 0; i < n; i++)
		if (items[i].pred < 0)
			items[i].pred = pred++; /* in no event: a group of its own */
	out->items = n;
	int64_t *tsize = calloc((size_t)next_group + 1, sizeof(*tsize));
	if (!tsize) {
		free(items);
		return SL_ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		tsize[items[i].truth]++;
	if (n)
		qsort(items, n, sizeof(*items), cmp_item);
	double pairs_pred = 0, pairs_truth = 0, pairs_both = 0, b3p = 0, b3r = 0;
	size_t groups_pred = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && items[j].pred == items[i].pred)
			j++;
		double np = (double)(j - i);
		pairs_pred += np * (np - 1) / 2;
		groups_pred++;
		for (size_t k = i; k < j;) {
			size_t l = k;
			while (l < j && items[l].truth == items[k].truth)
				l++;
			double npt = (double)(l - k), nt = (double)tsize[items[k].truth];
			pairs_both += npt * (npt - 1) / 2;
			b3p += npt * npt / np;
			b3r += npt * npt / nt;
			k = l;
		}
		i = j;
	}
	for (int64_t g = 0; g < next_group; g++)
		pairs_truth += (double)tsize[g] * (double)(tsize[g] - 1) / 2;
	out->events = groups_pred;
	out->pair_precision = ratio(pairs_both, pairs_pred);
	out->pair_recall = ratio(pairs_both, pairs_truth);
	out->pair_f1 = f1(out->pair_precision, out->pair_recall);
	out->b3_precision = n ? b3p / n : 1;
	out->b3_recall = n ? b3r / n : 1;
	out->b3_f1 = f1(out->b3_precision, out->b3_recall);
	free(tsize);
	free(items);
	return SL_OK;
}

/* ---------------------------------------------------------------- tracks */

static const char *const kind_names[SL_EVAL_KINDS] = {"rail", "convoy", "sortie",
						      "false"};

const char *sl_eval_kind_name(int kind)
{
	return kind >= 0 && kind < SL_EVAL_KINDS ? kind_names[kind] : "?";
}

/* A scored report while scoring: the kind of its track's majority object
 * rides along. */
typedef struct witem {
	int64_t track, step, object;
	int kind, tkind;
} witem;

static int cmp_w_track_object(const void *a, const void *b)
{
	const witem *x = a, *y = b;
	if (x->track != y->track)
		return x->track < y->track ? -1 : 1;
	return (x->object > y->object) - (x->object < y->object);
}

static int cmp_w_track_step(const void *a, const void *b)
{
	const witem *x = a, *y = b;
	if (x->track != y->track)
		return x->track < y->track ? -1 : 1;
	if (x->step != y->step)
		return x->step < y->step ? -1 : 1;
	return (x->object > y->object) - (x->object < y->object);
}

static int cmp_w_object_track(const void *a, const void *b)
{
	const witem *x = a, *y = b;
	if (x->object != y->object)
		return x->object < y->object ? -1 : 1;
	return (x->track > y->track) - (x->track < y->track);
}

enum { BY_TRACK, BY_STEP, BY_OBJECT };

static int64_t key_of(const witem *x, int by)
{
	return by == BY_TRACK ? x->track : by == BY_STEP ? x->step : x->object;
}

/* The end of the run of items equal to w[i] by `by`, in w[i .. n). */
static size_t run_end(const witem *w, size_t i, size_t n, int by)
{
	size_t j = i;
	while (j < n && key_of(&w[j], by) == key_of(&w[i], by))
		j++;
	return j;
}

sl_err sl_evaluate_track_items(sl_track_item *items, size_t n, sl_track_eval *out)
{
	memset(out, 0, sizeof(*out));
	witem *w = malloc((n ? n : 1) * sizeof(*w));
	if (!w)
		return SL_ENOMEM;
	int64_t n_real = 0;
	for (size_t i = 0; i < n; i++)
		if (items[i].object >= n_real)
			n_real = items[i].object + 1;
	int64_t next = n_real; /* false reports: an object each */
	for (size_t i = 0; i < n; i++) {
		int k = items[i].kind >= 0 && items[i].kind < SL_EVAL_KINDS
			    ? items[i].kind
			    : 3;
		w[i] = (witem){items[i].track, items[i].step,
			       items[i].object >= 0 ? items[i].object : next++, k, k};
		out->all.reports++;
		out->kind[k].reports++;
	}
	double pure[SL_EVAL_KINDS + 1] = {0}, tsize[SL_EVAL_KINDS + 1] = {0};
	double held[SL_EVAL_KINDS + 1] = {0}, osize[SL_EVAL_KINDS + 1] = {0};
	double pairs_pred = 0, pairs_both = 0, pairs_truth = 0;
	/* Tracks: the majority object, purity, pairs. */
	qsort(w, n, sizeof(*w), cmp_w_track_object);
	for (size_t i = 0; i < n;) {
		size_t j = run_end(w, i, n, BY_TRACK), most = 0;
		int kd = w[i].kind;
		for (size_t s = i; s < j;) {
			size_t e = run_end(w, s, j, BY_OBJECT);
			if (e - s > most)
				most = e - s, kd = w[s].kind;
			s = e;
		}
		for (size_t k = i; k < j; k++)
			w[k].tkind = kd;
		double nt = (double)(j - i);
		pure[kd] += (double)most, pure[SL_EVAL_KINDS] += (double)most;
		tsize[kd] += nt, tsize[SL_EVAL_KINDS] += nt;
		pairs_pred += nt * (nt - 1) / 2;
		out->all.tracks++;
		out->kind[kd].tracks++;
		i = j;
	}
	/* Identity switches: the majority real object of each event along
	 * the track. */
	qsort(w, n, sizeof(*w), cmp_w_track_step);
	for (size_t i = 0; i < n;) {
		size_t j = run_end(w, i, n, BY_TRACK);
		int64_t last = -1;
		for (size_t s = i; s < j;) {
			size_t e = run_end(w, s, j, BY_STEP), most = 0;
			int64_t m = -1;
			for (size_t r = s; r < e;) {
				size_t q = run_end(w, r, e, BY_OBJECT);
				if (w[r].object < n_real && q - r > most)
					most = q - r, m = w[r].object;
				r = q;
			}
			if (m >= 0 && last >= 0 && m != last) {
				out->all.switches++;
				out->kind[w[i].tkind].switches++;
			}
			if (m >= 0)
				last = m;
			s = e;
		}
		i = j;
	}
	/* Objects: completeness, fragments, pairs. */
	qsort(w, n, sizeof(*w), cmp_w_object_track);
	for (size_t i = 0; i < n;) {
		size_t j = run_end(w, i, n, BY_OBJECT), most = 0, tracks = 0;
		for (size_t s = i; s < j;) {
			size_t e = run_end(w, s, j, BY_TRACK);
			double c = (double)(e - s);
			pairs_both += c * (c - 1) / 2;
			if (e - s > most)
				most = e - s;
			tracks++;
			s = e;
		}
		double no = (double)(j - i);
		pairs_truth += no * (no - 1) / 2;
		if (w[i].object < n_real) {
			int kd = w[i].kind;
			held[kd] += (double)most, held[SL_EVAL_KINDS] += (double)most;
			osize[kd] += no, osize[SL_EVAL_KINDS] += no;
			out->all.objects++;
			out->kind[kd].objects++;
			out->all.fragments += tracks - 1;
			out->kind[kd].fragments += tracks - 1;
		}
		i = j;
	}
	out->all.purity = ratio(pure[SL_EVAL_KINDS], tsize[SL_EVAL_KINDS]);
	out->all.completeness = ratio(held[SL_EVAL_KINDS], osize[SL_EVAL_KINDS]);
	for (int k = 0; k < SL_EVAL_KINDS; k++) {
		out->kind[k].purity = ratio(pure[k], tsize[k]);
		out->kind[k].completeness = ratio(held[k], osize[k]);
	}
	out->pair_precision = ratio(pairs_both, pairs_pred);
	out->pair_recall = ratio(pairs_both, pairs_truth);
	out->pair_f1 = f1(out->pair_precision, out->pair_recall);
	free(w);
	return SL_OK;
}

static bool grow_items(sl_track_item **p, size_t *cap, size_t need)
{
	return sl_grow((void **)p, cap, need, sizeof(**p));
}

static bool grow_bytes(uint8_t **p, size_t *cap, size_t need)
{
	return sl_grow((void **)p, cap, need, 1);
}

static int kind_of(const char *name)
{
	for (int k = 0; name && k < SL_EVAL_KINDS; k++)
		if (strcmp(name, kind_names[k]) == 0)
			return k;
	return 3;
}

/* One ref of a track: into items (grown), once. */
static sl_err put_ref(json_t *refs, json_t *r, int64_t track, int64_t step,
		      sl_track_item *items, uint8_t *used, size_t *unknown,
		      sl_problems *why, long line)
{
	json_t *at =
	    json_is_string(r) ? json_object_get(refs, json_string_value(r)) : NULL;
	if (!at) {
		(*unknown)++;
		return SL_OK;
	}
	size_t i = (size_t)json_integer_value(at);
	if (used[i])
		return bad(why, "tracks", line, "a ref is in two tracks");
	used[i] = 1;
	items[i].track = track;
	items[i].step = step;
	return SL_OK;
}

sl_err sl_evaluate_tracks(FILE *truth, FILE *tracks, sl_track_eval *out, sl_problems *why)
{
	memset(out, 0, sizeof(*out));
	json_t *refs = json_object();	 /* ref -> index in items */
	json_t *objects = json_object(); /* object -> number */
	sl_track_item *items = NULL;
	uint8_t *used = NULL;
	size_t n = 0, cap = 0;
	char *buf = NULL;
	size_t bcap = 0, len;
	bool too_long;
	long line = 0;
	sl_err err = refs && objects ? SL_OK : SL_ENOMEM;
	while (!err && read_line(truth, &buf, &bcap, &len, &too_long)) {
		line++;
		if (too_long) {
			err = bad(why, "truth", line, "line too long");
			break;
		}
		json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
		json_t *ref = json_object_get(j, "ref"),
		       *obj = json_object_get(j, "object");
		if (!json_is_object(j) || !json_is_string(ref) ||
		    !(json_is_string(obj) || json_is_null(obj))) {
			json_decref(j);
			if (len <= 1)
				continue;
			err =
			    bad(why, "truth", line,
				"expected {\"ref\": string, \"object\": string or null}");
			break;
		}
		if (json_object_get(refs, json_string_value(ref))) {
			json_decref(j);
			err = bad(why, "truth", line, "ref given twice");
			break;
		}
		int64_t o = -1;
		if (json_is_string(obj)) {
			json_t *known = json_object_get(objects, json_string_value(obj));
			o = known ? json_integer_value(known)
				  : (int64_t)json_object_size(objects);
			if (!known)
				json_object_set_new(objects, json_string_value(obj),
						    json_integer(o));
		}
		size_t c = cap;
		if (!grow_items(&items, &cap, n + 1) || !grow_bytes(&used, &c, n + 1)) {
			json_decref(j);
			err = SL_ENOMEM;
			break;
		}
		items[n] = (sl_track_item){
		    -1, 0, o, kind_of(json_string_value(json_object_get(j, "kind")))};
		used[n] = 0;
		json_object_set_new(refs, json_string_value(ref),
				    json_integer((json_int_t)n));
		n++;
		json_decref(j);
	}
	line = 0;
	int64_t track = 0;
	while (!err && read_line(tracks, &buf, &bcap, &len, &too_long)) {
		line++;
		if (too_long) {
			err = bad(why, "tracks", line, "line too long");
			break;
		}
		json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
		json_t *per = json_object_get(j, "event_reports"),
		       *all = json_object_get(j, "reports");
		if (!json_is_object(j) || !(json_is_array(per) || json_is_array(all))) {
			json_decref(j);
			if (len <= 1)
				continue;
			err =
			    bad(why, "tracks", line,
				"expected an object with \"event_reports\": [[refs]] or "
				"\"reports\": [refs]");
			break;
		}
		size_t k, m;
		json_t *ev, *r;
		if (json_is_array(per)) {
			json_array_foreach(per, k, ev)
			{
				json_array_foreach(ev, m, r)
				{
					if ((err = put_ref(refs, r, track, (int64_t)k,
							   items, used, &out->unknown,
							   why, line)))
						break;
				}
				if (err)
					break;
			}
		} else {
			/* Without events: each report a step of its own. */
			json_array_foreach(all, k, r)
			{
				if ((err = put_ref(refs, r, track, (int64_t)k, items,
						   used, &out->unknown, why, line)))
					break;
			}
		}
		track++;
		json_decref(j);
	}
	free(buf);
	json_decref(refs);
	json_decref(objects);
	/* A ref in no track is a track of its own. */
	for (size_t i = 0; !err && i < n; i++)
		if (!used[i])
			items[i].track = track++;
	size_t unknown = out->unknown;
	if (!err)
		err = sl_evaluate_track_items(items, n, out);
	out->unknown = unknown;
	free(items);
	free(used);
	return err;
}
