/*
 * event_json.h — events as JSON: the form of GET /api/v1/mod/events and of
 * `sightline export --what events` (docs/API.md, docs/ENGINE.md).
 */
#ifndef SIGHTLINE_EVENT_JSON_H
#define SIGHTLINE_EVENT_JSON_H

#include <jansson.h>
#include <stdio.h>

#include "sightline/store.h"

/* The JSON form of e: id, category, origin ("engine" or "moderator"),
 * time {start, end}, location {lat, lon, uncertainty_m}, heading,
 * equipment [{type, count, count_min, count_max}], confidence, report_ids
 * and, when e->refs is set, reports (the refs of the reports that have
 * one). Caller owns the result; NULL when out of memory. */
json_t *sl_event_to_json(const sl_event *e);

/* An equipment estimate as JSON: [{type, count, count_min, count_max}]
 * (events and tracks alike). Caller owns the result; NULL when out of
 * memory. */
json_t *sl_event_items_json(const sl_event_item *items, size_t n);

/* Writes v (taken: decref'd) as one compact JSON line, reals with 10
 * significant digits. SL_EIO when the write fails, SL_ENOMEM when v is
 * NULL. */
sl_err sl_json_line(FILE *out, json_t *v);

/* Writes every stored event with at least one report, in id order, as one
 * JSON line with its refs, to out. *count (may be NULL) gets how many. */
sl_err sl_export_events_jsonl(sl_store *s, FILE *out, size_t *count);

#endif
