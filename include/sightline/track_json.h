/*
 * track_json.h — tracks as JSON: the form of GET /api/v1/mod/tracks and of
 * `sightline export --what tracks` (docs/TRACKING.md, docs/API.md).
 */
#ifndef SIGHTLINE_TRACK_JSON_H
#define SIGHTLINE_TRACK_JSON_H

#include <jansson.h>
#include <stdio.h>

#include "sightline/store.h"

#define SL_TRACK_JSON_ROUTE 1u /* the route, as GeoJSON LineString coordinates */
#define SL_TRACK_JSON_REFS 2u  /* reports and event_reports, from t->refs */

/* The JSON form of t: id, category, first and last seen {time, lat, lon},
 * heading, length_km, confidence, may_continue, direction {class,
 * confidence, ukraine_change_km, russia_change_km, toward_russia},
 * crossing {country, name, station, lat, lon, distance_km} or null,
 * equipment [{type, count, count_min, count_max}], n_reports, events (ids
 * in order) and, by flags, route [[lon, lat], ...], reports (every ref)
 * and event_reports [[refs of each event], ...]. Caller owns the result;
 * NULL when out of memory. */
json_t *sl_track_to_json(const sl_track *t, unsigned flags);

/* The English name of a country code the tracker reports (Ukraine, Russia,
 * Poland, Lithuania, Latvia, Belarus), or NULL. */
const char *sl_country_name(int code);

/* Writes every stored track, in id order, as one JSON line with its route
 * and refs, to out. *count (may be NULL) gets how many. */
sl_err sl_export_tracks_jsonl(sl_store *s, FILE *out, size_t *count);

#endif
