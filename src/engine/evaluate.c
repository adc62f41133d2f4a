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
			err = bad(why, "events", line, "line too long");
			break;
		}
		json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
		json_t *rs = json_object_get(j, "reports");
		if (!json_is_object(j) || !json_is_array(rs)) {
			json_decref(j);
			if (len <= 1)
				continue;
			err = bad(why, "events", line,
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
				err = bad(why, "events", line, "a ref is in two groups");
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
