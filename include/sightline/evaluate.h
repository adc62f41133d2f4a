/*
 * evaluate.h — how well the engine's grouping matches ground truth
 * (`sightline evaluate`, docs/ENGINE.md "Measured accuracy").
 *
 * The truth is the simulator's: one JSON line per report ref naming the
 * occurrence it saw (null for a false report). The prediction is the events
 * export: one JSON line per event with the refs of its reports. A ref in
 * the truth and in no event counts as an event of its own; a false report
 * is a truth cluster of its own.
 */
#ifndef SIGHTLINE_EVALUATE_H
#define SIGHTLINE_EVALUATE_H

#include <stdio.h>

#include "sightline/report.h"

typedef struct sl_eval {
	size_t items;	     /* refs scored: in the truth */
	size_t in_events;    /* of them, in some event */
	size_t unknown;	     /* refs of events that the truth lacks (ignored) */
	size_t truth_groups; /* occurrences (false reports count one each) */
	size_t events;	     /* predicted groups, singletons included */
	double pair_precision, pair_recall, pair_f1;
	double b3_precision, b3_recall, b3_f1;
} sl_eval;

/* Scores events against truth, by the field "occurrence" of the truth
 * lines (or "object" when by_object, for tracks: the "reports" of each line
 * of events are then a track's). SL_EPARSE with why naming the file and
 * line when a line is not what it should be. */
sl_err sl_evaluate_groups(FILE *truth, FILE *events, bool by_object, sl_eval *out,
			  sl_problems *why);

#endif
