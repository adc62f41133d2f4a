/*
 * publish.h — the publication policy: the one gate between the store and
 * everything the public sees (docs/PUBLISH.md).
 *
 * Every public output — the feeds under /api/v1/public/, the CoT stream,
 * the webhooks, the public map — is written from an sl_pub_snapshot, and a
 * snapshot is made only here, by applying the policy to what the store
 * holds:
 *
 *   - only verified events: at least one report a moderator verified (so
 *     not only rejected ones), with a time window, a point and a category;
 *   - only once due: an event is published at its window's end plus its
 *     category's delay (default 60 minutes; 0 is allowed, e.g. aircraft
 *     take-offs used as air-raid alerts);
 *   - locations rounded to the centre of a grid cell (default 5 km) unless
 *     at least k independent (non-rejected) reports support the event
 *     (default 3), and then still to about 100 m;
 *   - times to the minute, headings to 16 compass points, confidence to
 *     two decimals;
 *   - never a report's text, contact, photos, place name, destination,
 *     model, ref, or id: only an excerpt a moderator approved for the
 *     event;
 *   - ids are keyed hashes of the store's ids, so gaps between them tell
 *     nothing about events that are not published.
 *
 * Filters (time, category, bounding box) select among the published values
 * only: a filter never looks at a precise location or an unpublished time,
 * so no sequence of queries can narrow down more than the output shows.
 *
 * An sl_publish is thread-safe. A snapshot is immutable and reference
 * counted: readers hold one while they write an answer.
 */
#ifndef SIGHTLINE_PUBLISH_H
#define SIGHTLINE_PUBLISH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sightline/arena.h"
#include "sightline/borders.h"
#include "sightline/err.h"
#include "sightline/network.h"
#include "sightline/report.h"
#include "sightline/store.h"

/* ---- the policy ---- */

#define SL_PUB_DELAY_DEFAULT_S (60 * 60)
#define SL_PUB_DELAY_MAX_S (7 * 86400)
#define SL_PUB_GRID_DEFAULT_M 5000.0
#define SL_PUB_GRID_MIN_M 500.0
#define SL_PUB_GRID_MAX_M 100000.0
#define SL_PUB_K_DEFAULT 3
#define SL_PUB_K_MAX 100
#define SL_PUB_FINE_M 100.0	/* what a well-supported location is rounded to */
#define SL_PUB_EXCERPT_MAX 1000 /* bytes of an approved excerpt */

typedef struct sl_publish_policy {
	int64_t delay_s[SL_CAT_COUNT]; /* 0..SL_PUB_DELAY_MAX_S */
	double grid_m;		       /* SL_PUB_GRID_MIN_M..SL_PUB_GRID_MAX_M */
	int min_reports;	       /* k: 1..SL_PUB_K_MAX */
} sl_publish_policy;

void sl_publish_policy_default(sl_publish_policy *p /* OUT */);

/* The policy as JSON text: {"delay_minutes":{"rail_transport":60,...},
 * "grid_km":5,"min_reports":3}. Caller frees; NULL when out of memory. */
char *sl_publish_policy_to_json(const sl_publish_policy *p);

/* Applies the members of the JSON object text (len bytes) over *p: any of
 * delay_minutes (an object of categories, each 0..10080), grid_km
 * (0.5..100), min_reports (1..100); nothing else. On a problem, adds a
 * reason naming the field to why, returns SL_EVALID (SL_EPARSE for text
 * that is not a JSON object) and leaves *p as it was. */
sl_err sl_publish_policy_apply(sl_publish_policy *p, const char *text, size_t len,
			       sl_problems *why);

/* ---- tracks: the interface tracking plugs into ----
 *
 * Tracks (moving units: events linked in time along the network) are
 * made elsewhere. Publication asks a track source for them when it builds
 * a snapshot and publishes a track only through its events: each point of
 * a public track is the published form of one of its events, events that
 * are not published are left out, and a track with fewer than two
 * published events is not shown; its direction class is that of the move
 * from its first published point to its last, by the borders of
 * sl_publish_set_places (none: unknown). So a track can never carry a
 * location, a time, an event or a direction the policy keeps back. */

/* One track as its source gives it: the store ids of its events in time
 * order. */
typedef struct sl_track_input {
	int64_t id; /* the source's id for it, stable while it lives */
	sl_category category;
	sl_direction direction; /* the tracker's, from all its events: not published */
	size_t n_events;
	const int64_t *event_ids;
} sl_track_input;

/* A source of tracks: fills *out (in a, which it may use for everything
 * it returns) and *n. Called from the thread that builds a snapshot. */
typedef sl_err (*sl_publish_track_source)(void *ud, sl_store *s, sl_arena *a,
					  sl_track_input **out /* OUT */,
					  size_t *n /* OUT */);

/* The source of a publisher given none (the feeds' own tests): no tracks.
 * The server's is the store's tracks (src/http/public.c). */
sl_err sl_publish_no_tracks(void *ud, sl_store *s, sl_arena *a, sl_track_input **out,
			    size_t *n);

/* ---- what the public sees ---- */

#define SL_PUB_ID_MAX 24			   /* "e" or "t" and 20 hex digits, NUL */
#define SL_PUB_PHOTO_PATH "/api/v1/public/photos/" /* + public id + ".jpg" */

typedef struct sl_pub_event {
	char id[SL_PUB_ID_MAX];
	sl_category category;
	int64_t t_start, t_end; /* to the minute */
	int64_t published_at;	/* t_end + the category's delay */
	double lat, lon;
	double precision_m; /* the grid, or the estimate's radius */
	bool coarse;	    /* rounded to the grid */
	bool has_heading;
	double heading_deg; /* to 22.5 degrees */
	double confidence;  /* to 0.01 */
	int sources;	    /* independent reports */
	size_t n_items;
	const sl_event_item *items;
	const char *excerpt; /* approved by a moderator, or NULL */
	bool has_photo;	     /* an admin approved a photo: served at
				SL_PUB_PHOTO_PATH ID ".jpg" */
	/* Names of the published (rounded) point, for the CSV's ACLED
	 * columns, borrowed from the places given with
	 * sl_publish_set_places; NULL when unknown. */
	const char *country;  /* "Belarus" */
	const char *admin1;   /* "Gomel" */
	const char *location; /* the nearest station within
				 SL_PUB_LOCATION_M: "Речица" */
	int64_t event_id;    /* the store's id: never written out */
	/* Its GeoJSON Feature, written once when the snapshot is made (the
	 * feeds are assembled from these); NULL outside a snapshot. */
	const char *feature;
	size_t feature_len;
} sl_pub_event;

typedef struct sl_pub_track {
	char id[SL_PUB_ID_MAX];
	sl_category category;
	sl_direction direction;
	size_t n_points;
	const sl_pub_event *const *points; /* in time order */
} sl_pub_track;

typedef struct sl_pub_snapshot {
	uint64_t generation; /* grows with every snapshot an sl_publish makes */
	int64_t built_at;
	sl_publish_policy policy;
	size_t n;
	const sl_pub_event *events; /* newest published first */
	size_t n_tracks;
	const sl_pub_track *tracks;
} sl_pub_snapshot;

/* ---- the module ---- */

typedef struct sl_publish sl_publish;

/* A publisher over store s, which must outlive it: loads the policy and
 * the id key kept in the store (creating them on first use). Caller frees
 * with sl_publish_free. */
sl_err sl_publish_new(sl_store *s, sl_publish **out);
void sl_publish_free(sl_publish *p);

/* The nearest station within this of a published point names it. */
#define SL_PUB_LOCATION_M 10000.0

/* Names e's published point from borders and stations (either may be
 * NULL): country, admin1 and location, never from anything but e->lat and
 * e->lon, which the policy has already rounded. */
void sl_publish_name_place(const sl_borders *borders, const sl_stations *stations,
			   sl_pub_event *e);

/* The borders and stations that name published points (borrowed: they
 * must outlive p; NULL: not named). */
void sl_publish_set_places(sl_publish *p, const sl_borders *borders,
			   const sl_stations *stations);

/* Replaces the track source (NULL: sl_publish_no_tracks). */
void sl_publish_set_track_source(sl_publish *p, sl_publish_track_source fn, void *ud);

/* The policy in force. */
void sl_publish_get_policy(sl_publish *p, sl_publish_policy *out /* OUT */);

/* Stores a new policy (the caller has written the audit entry) and makes
 * the next snapshot follow it. */
sl_err sl_publish_set_policy(sl_publish *p, const sl_publish_policy *policy,
			     int64_t moderator_id, int64_t now);

/* With an engine running (the server's), a refresh waits, up to
 * SL_PUB_SETTLE_S, until it has taken in every moderator's change: a
 * verified report is placed again by the engine, and publishing the
 * event it was in just before would publish, then withdraw, an event that
 * is about to be replaced. */
#define SL_PUB_SETTLE_S 10
void sl_publish_wait_for_engine(sl_publish *p, bool wait);

/* Makes the next sl_publish_refresh rebuild whatever the store says (an
 * excerpt changed; tracks changed without their events changing). */
void sl_publish_invalidate(sl_publish *p);

/* What changed in the public picture since the last refresh: events
 * published for the first time, published events whose public form
 * changed, and events no longer published (withdrawn: their last public
 * form when this process had it, else has_form is false and only the id
 * is set). The events are copies, valid until freed with
 * sl_publish_changes_free. */
typedef struct sl_pub_change {
	sl_pub_kind kind;
	bool has_form;
	sl_pub_event event;
} sl_pub_change;

typedef struct sl_pub_changes {
	size_t n;
	sl_pub_change *list;
	sl_arena *arena;
	uint64_t generation;
} sl_pub_changes;

/* Brings the snapshot up to date at now when the store changed or an
 * event fell due since the last one (or force); cheap otherwise. When
 * record, newly published and changed events are written durably to the
 * publication log, with one webhook delivery per active webhook, before
 * they are returned in *changes (may be NULL). Only one thread should
 * refresh with record (the server's publisher). */
sl_err sl_publish_refresh(sl_publish *p, int64_t now, bool force, bool record,
			  sl_pub_changes *changes /* OUT, may be NULL */);
void sl_publish_changes_free(sl_pub_changes *c);

/* The current snapshot, as a reference the caller releases (never NULL:
 * an empty one before the first refresh). */
const sl_pub_snapshot *sl_publish_snapshot(sl_publish *p);
void sl_publish_release(sl_publish *p, const sl_pub_snapshot *snap);

/* ---- filters: over published values only ---- */

typedef struct sl_pub_filter {
	bool has_from; /* the window ends at or after from */
	int64_t from;
	bool has_to; /* the window starts at or before to */
	int64_t to;
	unsigned categories; /* bit (1u << category); 0: any */
	bool has_bbox;	     /* the published point inside */
	double min_lon, min_lat, max_lon, max_lat;
	size_t limit; /* the newest this many; 0: all */
} sl_pub_filter;

bool sl_pub_filter_match(const sl_pub_filter *f, const sl_pub_event *e);

/* Parses the query parameters of a public request: from, to (RFC 3339),
 * category (comma-separated names), bbox (min_lon,min_lat,max_lon,max_lat)
 * and limit. get(ud, name) returns a parameter or NULL. Problems name the
 * parameter only, never echo its value. */
sl_err sl_pub_filter_parse(const char *(*get)(void *ud, const char *name), void *ud,
			   sl_pub_filter *out /* OUT */, sl_problems *why);

/* ---- the formats (src/publish/feeds.c) ---- */

typedef enum sl_pub_format {
	SL_PUB_GEOJSON,
	SL_PUB_ATOM,
	SL_PUB_CSV,
	SL_PUB_KML,
	SL_PUB_COT,
	SL_PUB_TRACKS,
	SL_PUB_SUMMARY,
	SL_PUB_FORMAT_COUNT
} sl_pub_format;

#define SL_PUB_ATOM_MAX 1000 /* entries in the Atom feed at most */
#define SL_PUB_FEED_CAP ((size_t)512 << 20)

/* A growing output buffer with a hard cap (failed past it). */
typedef struct sl_pbuf {
	char *p;
	size_t len, cap, max;
	bool failed;
} sl_pbuf;

void sl_pbuf_init(sl_pbuf *b, size_t max);
void sl_pbuf_free(sl_pbuf *b);
void sl_pbuf_put(sl_pbuf *b, const char *s, size_t n);
void sl_pbuf_puts(sl_pbuf *b, const char *s);
void sl_pbuf_putf(sl_pbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* x with exactly decimals digits after the point (0..9), no exponent. */
void sl_pbuf_fixed(sl_pbuf *b, double x, int decimals);
/* s as a JSON string, quotes included. */
void sl_pbuf_json_str(sl_pbuf *b, const char *s);
/* s escaped for XML text and attribute values (& < > " '); characters XML
 * 1.0 forbids are dropped. */
void sl_pbuf_xml(sl_pbuf *b, const char *s);
/* s as one CSV field (RFC 4180: quoted when it must be). */
void sl_pbuf_csv(sl_pbuf *b, const char *s);

/* Writes snap's events (or tracks, or the summary) that match f as fmt to
 * out; now is the time of the answer (CoT stale times, the summary). */
sl_err sl_pub_write(sl_pub_format fmt, const sl_pub_snapshot *snap,
		    const sl_pub_filter *f, sl_pbuf *out);

/* One event as a GeoJSON Feature: the body of a webhook delivery and the
 * form of the publication log. */
void sl_pub_write_feature(sl_pbuf *out, const sl_pub_event *e);

/* One event as a CoT <event> (no XML declaration), sent at now. */
void sl_pub_write_cot_event(sl_pbuf *out, const sl_pub_event *e, int64_t now);

/* The CoT type of a category (MIL-STD-2525 through CoT's a-h-...), and
 * how long its events stay fresh for a TAK client. */
const char *sl_pub_cot_type(sl_category c);
int64_t sl_pub_cot_stale_s(sl_category c);

/* "12 tanks (10-14), 3 trucks", or the category's words when there is no
 * equipment. buf of size bytes. */
void sl_pub_equipment_text(const sl_pub_event *e, char *buf, size_t size);

/* The category's words ("Rail transport"). */
const char *sl_pub_category_label(sl_category c);

/* ---- the policy on one event (for tests and the snapshot) ---- */

/* sl_pub_source, what the store says of an event, is in store.h. */

/* Whether src is published at now under policy, and if so its public
 * form in *out (id from key; strings and items borrowed from src). When
 * it is verified but not due yet, *due gets when it will be (else 0). */
bool sl_publish_apply(const sl_publish_policy *policy, const uint8_t key[32],
		      const sl_pub_source *src, int64_t now, sl_pub_event *out /* OUT */,
		      int64_t *due /* OUT */);

/* The public id of store id kind ('e' event, 't' track) under key. */
void sl_publish_public_id(const uint8_t key[32], char kind, int64_t id,
			  char out[SL_PUB_ID_MAX]);

/* Rounds (lat, lon) to the centre of its cell of a grid_m grid: rows of
 * grid_m in latitude, each cut in cells of grid_m at the row's centre. */
void sl_publish_grid(double grid_m, double *lat, double *lon);

#endif
