/*
 * sqlite_int.h — what the files of the SQLite backend share: the store
 * struct, the columns of reports and the small helpers every query uses.
 * sqlite.c holds the schema, reports, sealed items, moderators, the audit
 * log and the review; sqlite_events.c the events and the engine's state.
 */
#ifndef SIGHTLINE_SQLITE_INT_H
#define SIGHTLINE_SQLITE_INT_H

#include <pthread.h>
#include <sqlite3.h>

#include "store/store_int.h"

#define LOG_PREFIX "sightline: store: "

typedef struct sqlite_store {
	struct sl_store base;

	pthread_mutex_t wlock; /* guards wdb and its statements */
	sqlite3 *wdb;
	sqlite3_stmt *begin, *commit, *rollback, *insert, *meta_set;
	sqlite3_stmt *insert_sealed, *insert_key;

	pthread_mutex_t rlock; /* guards rdb and its statements */
	sqlite3 *rdb;
	sqlite3_stmt *status, *page, *count, *meta_get;

	char *path;	    /* of the database file, for check's own connection */
	int engine_lock_fd; /* DATA_DIR/engine.lock while held, else -1 */
} sqlite_store;

/* Logs what failed with SQLite's own words (never a bound value); the caller
 * holds db's mutex. Returns SL_ESTORE. */
sl_err sq_fail(sqlite3 *db, const char *what);
/* Resets st and drops its bindings. */
void sq_done_with(sqlite3_stmt *st);
/* Steps a statement that returns no rows of interest, then resets it. */
sl_err sq_run(sqlite3 *db, sqlite3_stmt *st, const char *what);
/* Prepares a cached (persistent) statement / a one-off statement. */
sl_err sq_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **out);
sl_err sq_prepare_once(sqlite3 *db, const char *sql, sqlite3_stmt **st);
/* Runs body(s, ud) in one write transaction, rolled back on error. */
sl_err sq_in_write_tx(sqlite_store *s, sl_err (*body)(sqlite_store *, void *), void *ud);
/* Steps an UPDATE or DELETE (bound by the caller) in the open transaction;
 * SL_ENOTFOUND when no row changed. Finalizes st. */
sl_err sq_change_rows(sqlite_store *s, sqlite3_stmt *st, const char *what);
/* Binds s, or NULL for a NULL s. */
int sq_bind_text(sqlite3_stmt *st, int col, const char *s);
/* Text column col copied into a; NULL for NULL. */
sl_err sq_column_str(sqlite3_stmt *st, int col, sl_arena *a, const char **out);
/* The report at the current row of a SELECT REPORT_COLUMNS, strings in a. */
sl_err sq_decode_row(sqlite3_stmt *st, sl_arena *a, sl_report *r);
/* The REVIEW_COLUMNS from column col0 on. */
sl_err sq_decode_review(sqlite3_stmt *st, int col0, sl_arena *a, sl_review *out);
/* The current row of a SELECT ITEM_COLUMNS (store_int.h): the report,
 * its review, its photo count and whether it has sealed content. */
sl_err sq_decode_item(sqlite3_stmt *st, sl_arena *a, sl_queue_item *it);
/* sqlite_events.c: the ops over events, links, bans, changes and the
 * engine's saved state (their contracts are in store.h). */
sl_err sq_note_change(sqlite_store *s, int64_t report_id, int64_t event_id);
sl_err sq_event_create(sl_store *s, sl_event *e);
sl_err sq_event_attach(sl_store *s, int64_t event_id, int64_t report_id,
		       int64_t moderator_id, int64_t now);
sl_err sq_event_detach(sl_store *s, int64_t event_id, int64_t report_id,
		       int64_t moderator_id, int64_t now);
sl_err sq_event_merge(sl_store *s, int64_t into, int64_t from, int64_t moderator_id,
		      int64_t now);
sl_err sq_event_split(sl_store *s, int64_t from, const int64_t *report_ids, size_t n,
		      int64_t moderator_id, int64_t now, int64_t *new_id);
sl_err sq_find_events(sl_store *s, const sl_event_filter *f, sl_arena *a, sl_event **out,
		      size_t *n);
sl_err sq_report_events(sl_store *s, int64_t report_id, sl_arena *a, int64_t **ids,
			size_t *n);
sl_err sq_each_item(sl_store *s, int64_t after_id, sl_item_visit visit, void *ud);
sl_err sq_get_item(sl_store *s, int64_t id, sl_arena *a, sl_queue_item *out);
sl_err sq_changes(sl_store *s, int64_t after, size_t max, sl_change *out, size_t *n);
sl_err sq_engine_state(sl_store *s, bool engine_links, sl_engine_state *out);
sl_err sq_engine_save(sl_store *s, sl_engine_save *save);
sl_err sq_engine_lock(sl_store *s, bool *got);
sl_err sq_each_event(sl_store *s, int64_t since, sl_event_visit visit, void *ud);
sl_err sq_count_events(sl_store *s, int64_t *out);

/* sqlite_tracks.c: the tracks the tracker saves (store.h). */
sl_err sq_tracks_save(sl_store *s, sl_tracks_save *save);
sl_err sq_find_tracks(sl_store *s, const sl_track_filter *f, sl_arena *a, sl_track **out,
		      size_t *n);

/* sqlite_publish.c: publication's reads, settings, excerpts, webhooks, log
 * and outbox (contracts in store.h). */
sl_err sq_pub_sources(sl_store *s, sl_pub_source_visit visit, void *ud);
sl_err sq_pub_fingerprint(sl_store *s, sl_pub_fingerprint *out);
sl_err sq_pub_setting_get(sl_store *s, const char *key, char **out);
sl_err sq_pub_setting_set(sl_store *s, const char *key, const char *value,
			  int64_t moderator_id, int64_t now);
sl_err sq_photo_set(sl_store *s, int64_t event_id, const uint8_t *jpeg, size_t len,
		    int64_t moderator_id, int64_t now);
sl_err sq_photo_get(sl_store *s, int64_t event_id, uint8_t **out, size_t *len);
sl_err sq_excerpt_set(sl_store *s, int64_t event_id, const char *text, int64_t moderator_id,
		      int64_t now);
sl_err sq_webhook_add(sl_store *s, sl_webhook *w);
sl_err sq_webhooks(sl_store *s, bool all, sl_webhook **out, size_t *n);
sl_err sq_webhook_remove(sl_store *s, int64_t id, int64_t now);
sl_err sq_pub_record(sl_store *s, const sl_pub_record *recs, size_t n, int64_t now);
sl_err sq_pub_state(sl_store *s, sl_pub_state_visit visit, void *ud);
sl_err sq_deliveries_due(sl_store *s, int64_t now, size_t max, sl_arena *a,
			 sl_delivery **out, size_t *n);
sl_err sq_delivery_result(sl_store *s, int64_t webhook_id, int64_t seq, bool done,
			  int attempts, int64_t next_at, int status);

#endif
