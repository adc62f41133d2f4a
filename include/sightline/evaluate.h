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

/* ---- tracks (docs/TRACKING.md, "Measured accuracy") ----
 *
 * purity: the share of a track's reports that saw its majority object,
 * over all tracks (a false report is an object of its own); completeness:
 * the share of an object's reports in the track holding most of them, over
 * all objects; identity switches: how many times, along a track's events
 * in time order, the object most of an event's reports saw changes (events
 * of false reports only are skipped); fragments: for each object, the
 * tracks holding it beyond the first. A ref in no track is a track of its
 * own. Kinds are the truth's: rail, convoy, sortie, false. */

#define SL_EVAL_KINDS 4 /* rail, convoy, sortie, false */

typedef struct sl_track_score {
	size_t reports; /* scored */
	size_t tracks;	/* holding them */
	size_t objects; /* true objects among them */
	double purity, completeness;
	size_t switches, fragments;
} sl_track_score;

typedef struct sl_track_eval {
	sl_track_score all;
	sl_track_score kind[SL_EVAL_KINDS]; /* tracks by the kind of their
					       majority object, objects by theirs */
	size_t unknown; /* refs of the tracks that the truth lacks (ignored) */
	/* The grouping scores of sl_evaluate_groups, by object. */
	double pair_precision, pair_recall, pair_f1;
} sl_track_eval;

/* One scored report: its track and the place of its event in the track's
 * time order (step), and what it saw: object (>= 0; -1 for a false
 * report) of kind 0..SL_EVAL_KINDS-1. */
typedef struct sl_track_item {
	int64_t track, step, object;
	int kind;
} sl_track_item;

/* Scores n items (reordered in place). */
sl_err sl_evaluate_track_items(sl_track_item *items, size_t n, sl_track_eval *out);

/* The names of the kinds: "rail", "convoy", "sortie", "false". */
const char *sl_eval_kind_name(int kind);

/* Scores the tracks export (`export --what tracks`: one line per track
 * with "reports", and "event_reports" [[refs of each event in order]])
 * against the truth (with "object" and "kind"). SL_EPARSE naming the file
 * and line as sl_evaluate_groups does. */
sl_err sl_evaluate_tracks(FILE *truth, FILE *tracks, sl_track_eval *out,
			  sl_problems *why);

#endif
