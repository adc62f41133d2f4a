/*
 * summary.h — counts of movements and equipment by period and direction:
 * GET /api/v1/mod/summary and `sightline summary` (docs/TRACKING.md,
 * "Summaries").
 *
 * A movement is a track, counted in the period of its first sighting. The
 * counts come as ranges where they are uncertain: "min" counts only the
 * sure tracks (confidence of at least SL_SUMMARY_SURE that they are one real
 * movement, and not possibly the continuation of another track) and the
 * low end of each equipment count; "max" counts every track and the high
 * end of each count; "count" is the expected number: every track weighted
 * by how likely it is one real movement of its own.
 */
#ifndef SIGHTLINE_SUMMARY_H
#define SIGHTLINE_SUMMARY_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "sightline/err.h"
#include "sightline/report.h"
#include "sightline/store.h"

typedef enum sl_period {
	SL_PERIOD_DAY,
	SL_PERIOD_WEEK,
	SL_PERIOD_MONTH,
	SL_PERIOD_COUNT
} sl_period;

/* "day", "week" (ISO: from Monday 00:00 UTC), "month" (UTC). */
const char *sl_period_name(sl_period p);
bool sl_period_from_name(const char *name, sl_period *out /* OUT */);

#define SL_SUMMARY_MAX_PERIODS 1000
#define SL_SUMMARY_SURE 0.5

typedef struct sl_summary_query {
	sl_period period;
	sl_category category; /* rail_transport for rail movements */
	bool has_from, has_to;
	int64_t from, to; /* tracks first seen in from <= t < to */
} sl_summary_query;

/* The summary of q as JSON (docs/TRACKING.md has its form), every period
 * from the one holding from (or the first track) to the one holding to (or
 * the last), empty ones too. *out is new; the caller owns it. SL_ETOOBIG
 * when that is more than SL_SUMMARY_MAX_PERIODS periods, SL_EINVAL for a
 * bad query (to not after from). */
sl_err sl_summary_json(sl_store *s, const sl_summary_query *q, json_t **out /* OUT */);

/* The start of the period p that holds t, and the start of the next. */
int64_t sl_period_start(sl_period p, int64_t t);
int64_t sl_period_next(sl_period p, int64_t start);

#endif
