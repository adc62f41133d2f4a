/*
 * store_int.h — what a store backend implements.
 *
 * A backend allocates a struct that begins with `struct sl_store` and fills
 * in ops; store.c forwards each public sl_store_* call to it. Adding a
 * backend (PostgreSQL) means one more ops table and one more branch in
 * sl_store_open, nothing for callers.
 */
#ifndef SIGHTLINE_STORE_INT_H
#define SIGHTLINE_STORE_INT_H

#include "sightline/store.h"

typedef struct sl_store_ops {
	const char *name; /* "sqlite", "postgresql" */
	void (*close)(sl_store *s);
	sl_err (*put_reports)(sl_store *s, sl_report *const *reports, size_t n,
			      sl_put_result *results);
	sl_err (*report_status)(sl_store *s, const uint8_t hash[32], int64_t *id,
				sl_report_status *out);
	sl_err (*get_report)(sl_store *s, int64_t id, int64_t moderator_id, sl_arena *a,
			     sl_report *out);
	sl_err (*put_sealed)(sl_store *s, int64_t report_id, sl_sealed *item);
	sl_err (*keys_since)(sl_store *s, int64_t since, int64_t holder_id, size_t *n,
			     int64_t **sealed_ids, uint8_t **wrapped);
	sl_err (*add_keys)(sl_store *s, int64_t moderator_id, size_t n,
			   const int64_t *sealed_ids, const uint8_t *wrapped);
	sl_err (*purge_sealed)(sl_store *s, int64_t before, int64_t *n);
	sl_err (*add_moderator)(sl_store *s, sl_moderator *m);
	sl_err (*get_moderator)(sl_store *s, const char *name, sl_moderator *out);
	sl_err (*list_moderators)(sl_store *s, bool all, sl_moderator **out, size_t *n);
	sl_err (*remove_moderator)(sl_store *s, const char *name, int64_t now);
	sl_err (*each_report)(sl_store *s, int64_t after_id,
			      sl_report_visit visit, void *ud);
	sl_err (*count_reports)(sl_store *s, int64_t *out);
	sl_err (*audit_append)(sl_store *s, const sl_audit_entry *e);
	sl_err (*audit_last)(sl_store *s, sl_audit_entry *out, sl_arena *a);
	sl_err (*each_audit)(sl_store *s, int64_t after_seq, sl_audit_visit visit,
			     void *ud);
	sl_err (*queue)(sl_store *s, bool open_only, int64_t now, size_t limit,
			sl_arena *a, sl_queue_item **out, size_t *n);
	sl_err (*get_review)(sl_store *s, int64_t id, sl_arena *a, sl_review *out);
	sl_err (*set_status)(sl_store *s, int64_t id, sl_report_status status,
			     const char *reason, int64_t moderator_id, int64_t now);
	sl_err (*set_grade)(sl_store *s, int64_t id, char reliability, int credibility);
	sl_err (*claim)(sl_store *s, int64_t id, int64_t moderator_id, int64_t now,
			int64_t until, int64_t *held_by);
	sl_err (*release)(sl_store *s, int64_t id, int64_t moderator_id, int64_t now);
	sl_err (*update_report)(sl_store *s, const sl_report *r);
	sl_err (*event_create)(sl_store *s, sl_event *e);
	sl_err (*event_attach)(sl_store *s, int64_t event_id, int64_t report_id,
			       int64_t moderator_id, int64_t now);
	sl_err (*event_detach)(sl_store *s, int64_t event_id, int64_t report_id,
			       int64_t moderator_id, int64_t now);
	sl_err (*event_merge)(sl_store *s, int64_t into, int64_t from,
			      int64_t moderator_id, int64_t now);
	sl_err (*event_split)(sl_store *s, int64_t from, const int64_t *report_ids,
			      size_t n, int64_t moderator_id, int64_t now,
			      int64_t *new_id);
	sl_err (*find_events)(sl_store *s, const sl_event_filter *f, sl_arena *a,
			      sl_event **out, size_t *n);
	sl_err (*each_item)(sl_store *s, int64_t after_id, sl_item_visit visit,
			    void *ud);
	sl_err (*get_item)(sl_store *s, int64_t id, sl_arena *a, sl_queue_item *out);
	sl_err (*changes)(sl_store *s, int64_t after, size_t max, sl_change *out,
			  size_t *n);
	sl_err (*engine_state)(sl_store *s, bool engine_links, sl_engine_state *out);
	sl_err (*engine_save)(sl_store *s, sl_engine_save *save);
	sl_err (*engine_lock)(sl_store *s, bool *got);
	sl_err (*report_events)(sl_store *s, int64_t report_id, sl_arena *a,
				int64_t **ids, size_t *n);
	sl_err (*pub_sources)(sl_store *s, sl_pub_source_visit visit, void *ud);
	sl_err (*pub_fingerprint)(sl_store *s, sl_pub_fingerprint *out);
	sl_err (*pub_setting_get)(sl_store *s, const char *key, char **out);
	sl_err (*pub_setting_set)(sl_store *s, const char *key, const char *value,
				  int64_t moderator_id, int64_t now);
	sl_err (*photo_set)(sl_store *s, int64_t event_id, const uint8_t *jpeg, size_t len,
			    int64_t moderator_id, int64_t now);
	sl_err (*photo_get)(sl_store *s, int64_t event_id, uint8_t **out, size_t *len);
	sl_err (*excerpt_set)(sl_store *s, int64_t event_id, const char *text,
			      int64_t moderator_id, int64_t now);
	sl_err (*webhook_add)(sl_store *s, sl_webhook *w);
	sl_err (*webhooks)(sl_store *s, bool all, sl_webhook **out, size_t *n);
	sl_err (*webhook_remove)(sl_store *s, int64_t id, int64_t now);
	sl_err (*pub_record)(sl_store *s, const sl_pub_record *recs, size_t n, int64_t now);
	sl_err (*pub_state)(sl_store *s, sl_pub_state_visit visit, void *ud);
	sl_err (*deliveries_due)(sl_store *s, int64_t now, size_t max, sl_arena *a,
				 sl_delivery **out, size_t *n);
	sl_err (*delivery_result)(sl_store *s, int64_t webhook_id, int64_t seq, bool done,
				  int attempts, int64_t next_at, int status);
	sl_err (*meta_get)(sl_store *s, const char *key, char **out);
	sl_err (*meta_set)(sl_store *s, const char *key, const char *value);
	sl_err (*check)(sl_store *s);
	/* Tracks (sqlite_tracks.c) and what the tracker reads. */
	sl_err (*tracks_save)(sl_store *s, sl_tracks_save *save);
	sl_err (*find_tracks)(sl_store *s, const sl_track_filter *f, sl_arena *a,
			      sl_track **out, size_t *n);
	sl_err (*each_event)(sl_store *s, int64_t since, sl_event_visit visit, void *ud);
	sl_err (*count_events)(sl_store *s, int64_t *out);
} sl_store_ops;


/* ---- what every backend shares ---- */

/* The columns of reports in the order SELECTs return them. For the INSERT,
 * parameter N binds column N (id, column 0, is never bound). */
enum {
	COL_ID,
	COL_RECEIPT_HASH,
	COL_STATUS,
	COL_RECEIVED_AT,
	COL_CATEGORY,
	COL_OBSERVED_AT,
	COL_OBSERVED_UNTIL,
	COL_LAT,
	COL_LON,
	COL_UNCERTAINTY_M,
	COL_PLACE,
	COL_HEADING_DEG,
	COL_DESTINATION,
	COL_EQUIPMENT,
	COL_LANGUAGE,
	COL_REF,
	COL_COUNT
};

#define REPORT_COLUMNS                                                                   \
	"id, receipt_hash, status, received_at, category, observed_at, observed_until, " \
	"lat, lon, uncertainty_m, place, heading_deg, destination, equipment, "          \
	"language, ref"

/* The review columns, selected after REPORT_COLUMNS (decode_review). */
#define REVIEW_COLUMNS                                                                   \
	"grade_reliability, grade_credibility, claimed_by, claimed_until, "              \
	"reject_reason, decided_by, decided_at"

/* The columns every queue item is read with: the report, its review,
 * its photo count, whether it has sealed content (standard SQL). */
#define ITEM_COLUMNS                                                                     \
	REPORT_COLUMNS ", " REVIEW_COLUMNS ","                                           \
		       " (SELECT count(*) FROM sealed s WHERE s.report_id = r.id AND "   \
		       "s.kind = 'photo'),"                                              \
		       " EXISTS (SELECT 1 FROM sealed s WHERE s.report_id = r.id AND "   \
		       "s.kind = 'content')"

/* The columns events are read with, in this order (decode_event of each
 * backend). */
#define EVENT_COLUMNS                                                                    \
	"id, category, created_at, created_by, decided_by_moderator, t_start, t_end, "   \
	"lat, lon, uncertainty_m, heading_deg, confidence, equipment, updated_at"

/* columns.c: a report's equipment list to and from its JSON column
 * ([{"type":"tank","model":"T-72","count":3,"count_max":5}, ...], model and
 * count_max left out when absent); json is len bytes. *out is malloc'd. */
sl_err store_equipment_json(const sl_report *r, char **out);
sl_err store_equipment_parse(const char *json, size_t len, sl_arena *a, sl_report *r);
/* An equipment estimate (events, tracks) to and from its JSON column
 * ([{"type":"tank","count":12,"min":10,"max":14}, ...]); items in a.
 * SL_ESTORE for a malformed one. */
sl_err store_items_json(const sl_event_item *items, size_t n, char **out);
sl_err store_items_parse(const char *json, sl_arena *a, const sl_event_item **items,
			 size_t *n);

/* A track's route to and from its JSON column ([[lon, lat], ...], 6
 * decimals); the points in a. SL_ESTORE for a malformed one. */
sl_err store_route_json(const sl_track *t, char **out);
sl_err store_route_parse(const char *json, sl_arena *a, sl_track *t);

/* The columns tracks are read with, in this order (decode_track of each
 * backend). */
#define TRACK_COLUMNS                                                                    \
	"id, category, t_first, t_last, first_lat, first_lon, last_lat, last_lon, "      \
	"heading_deg, length_m, confidence, may_continue, direction, "                   \
	"direction_confidence, ukraine_change_m, russia_change_m, crossing_country, "    \
	"crossing_lat, crossing_lon, crossing_distance_m, crossing_name, equipment, "    \
	"n_events, n_reports, updated_at, route, toward_russia"

struct sl_store {
	const sl_store_ops *ops;
};

/* The SQLite backend: DATA_DIR/sightline.db. */
sl_err sl_store_sqlite_open(const char *data_dir, sl_store **out);

/* The PostgreSQL backend (postgres.c): the database url names; data_dir
 * is made as the SQLite backend makes it (it keeps the keys). */
sl_err sl_store_postgres_open(const char *data_dir, const char *url, sl_store **out);

/* Creates the data directory and any missing parents, private to our
 * user, unless it exists; warns when an existing one is open to others.
 * SL_EIO when it cannot (store.c). */
sl_err store_make_data_dir(const char *dir);

#endif
