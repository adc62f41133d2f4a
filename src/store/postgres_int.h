/*
 * postgres_int.h — what the files of the PostgreSQL backend share: the
 * store struct with its pool of connections, prepared statements,
 * parameters and results, and transactions.
 *
 * postgres.c holds the connections, the schema, reports, sealed items,
 * moderators, the audit log, the review and meta; postgres_events.c the
 * events and the engine's state and lock; postgres_publish.c publication;
 * postgres_tracks.c the tracker's tracks.
 *
 * Values go to the server as parameters, never in the SQL text: numbers
 * and strings in text format, byte strings in binary format. Results come
 * back as text (bytea as hex). Errors are logged with the server's primary
 * message and SQLSTATE only: PostgreSQL's DETAIL ("Key (ref)=(...)",
 * "Failing row contains (...)") quotes stored values, so it is never read.
 */
#ifndef SIGHTLINE_POSTGRES_INT_H
#define SIGHTLINE_POSTGRES_INT_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "store/store_int.h"

#define PG_LOG "sightline: store: "

/* The most connections one store opens (besides the engine's lock session);
 * each is opened when first needed. Store functions are short and never
 * hold a connection while they call back, so a few serve many threads. */
#define PG_POOL 8
/* How long a caller waits for a free connection before SL_EBUSY. */
#define PG_POOL_WAIT_MS 30000
/* The most distinct prepared statements (each pg_stmt gets a slot). */
#define PG_MAX_STMTS 160
#define PG_MAX_PARAMS 32

/* Advisory locks, two-key form: (PG_LOCK_NS, one of these). Advisory
 * locks are per database, so two sightline databases on one server never
 * meet. */
#define PG_LOCK_NS 0x534C /* "SL" */
enum {
	PG_LOCK_INTAKE = 1,  /* transaction: report ids in commit order */
	PG_LOCK_WRITE = 2,   /* transaction: every other write, one at a time */
	PG_LOCK_ENGINE = 3,  /* session: the engine's leader */
	PG_LOCK_FENCE = 4,   /* engine saves (shared) against a new leader */
	PG_LOCK_MIGRATE = 5, /* transaction: a schema step */
};

/* A statement prepared on each connection the first time it runs there.
 * slot is given out on first use (0: not yet). */
typedef struct pg_stmt {
	const char *sql;
	int slot;
} pg_stmt;

#define PG_STMT(sql_text) {(sql_text), 0}

typedef struct pg_conn {
	PGconn *pg; /* NULL: not open */
	bool busy;
	bool prepared[PG_MAX_STMTS];
} pg_conn;

typedef struct pg_store {
	struct sl_store base;
	char *url;
	bool postgis; /* events.geom exists: bounding boxes use its index */

	pthread_mutex_t pool_lock; /* guards conns[].busy and .pg */
	pthread_cond_t pool_free;
	pg_conn conns[PG_POOL];

	pthread_mutex_t engine_lock; /* guards engine and engine_pid */
	PGconn *engine;		     /* the session holding PG_LOCK_ENGINE */
	int engine_pid;		     /* its backend's pid; 0 when never held */
	bool engine_lost;	     /* held once and lost since: saves refused */
} pg_store;

/* Parameters of one statement: text values (numbers formatted here) or
 * binary byte strings. They borrow the caller's strings and bytes. */
typedef struct pg_params {
	int n;
	const char *v[PG_MAX_PARAMS];
	int len[PG_MAX_PARAMS];
	int fmt[PG_MAX_PARAMS];
	char num[PG_MAX_PARAMS][32];
} pg_params;

void pp_i64(pg_params *p, int64_t v);
/* v, or NULL when v is 0 (an optional id). */
void pp_id(pg_params *p, int64_t v);
/* v, or NULL unless has. */
void pp_opt(pg_params *p, bool has, int64_t v);
void pp_f64(pg_params *p, double v);
void pp_optf(pg_params *p, bool has, double v);
void pp_bool(pg_params *p, bool v);
/* s, or NULL for NULL. */
void pp_text(pg_params *p, const char *s);
void pp_bytes(pg_params *p, const void *b, size_t n);
void pp_null(pg_params *p);

/* Logs what failed (r may be NULL: the connection's message) and returns
 * SL_ESTORE. */
sl_err pg_fail(PGconn *c, const PGresult *r, const char *what);

/* pg_run on a connection of s's pool, given back before returning: for a
 * statement run alone, outside a transaction. Returns the result (caller
 * PQclears) or NULL with *err set (no connection, or pg_run's failure). */
PGresult *pg_query(pg_store *s, pg_stmt *st, const pg_params *p, const char *what,
		   sl_err *err);

/* Runs st with p (NULL: none) on c, preparing it there first if needed.
 * Returns the result (caller PQclears) or NULL with *err set after
 * logging. */
PGresult *pg_run(pg_conn *c, pg_stmt *st, const pg_params *p, const char *what,
		 sl_err *err);
/* pg_run for a statement whose rows do not matter; *changed (may be NULL)
 * gets the number of rows it touched. */
sl_err pg_do(pg_conn *c, pg_stmt *st, const pg_params *p, const char *what,
	     int64_t *changed);
/* pg_do, and SL_ENOTFOUND when it touched no row. */
sl_err pg_change(pg_conn *c, pg_stmt *st, const pg_params *p, const char *what);
/* Runs one-off SQL with parameters (planned for these values; for
 * queries whose conditions vary), or plain SQL without (p NULL). */
PGresult *pg_run_sql(pg_conn *c, const char *sql, const pg_params *p, const char *what,
		     sl_err *err);

/* The statements of one pipelined round trip at most. */
#define PG_PIPE_CHUNK 128

/* Statements sent one after another without waiting (libpq's pipeline
 * mode), their results read at each sync: one round trip for a chunk of
 * them instead of one each. on_result sees the result of every statement
 * sent with a tag >= 0. After a failure the server skips the rest until
 * the sync, and the caller rolls back. */
typedef struct pg_pipe {
	pg_conn *c;
	sl_err err;
	int queued;
	int tags[PG_PIPE_CHUNK + 1];
	int prepares[PG_PIPE_CHUNK + 1]; /* the slot a queued prepare makes, or 0 */
	sl_err (*on_result)(void *ud, int tag, const PGresult *r);
	void *ud;
	const char *what;
} pg_pipe;

sl_err pg_pipe_start(pg_pipe *p, pg_conn *c, const char *what,
		     sl_err (*on_result)(void *ud, int tag, const PGresult *r), void *ud);
/* Queues st with pp (copied now); its result goes to on_result with tag
 * (-1: only checked). Prepares st in the pipeline if c has not yet. */
void pg_pipe_send(pg_pipe *p, pg_stmt *st, const pg_params *pp, int tag);
/* Queues SQL without parameters (BEGIN, COMMIT, a lock). */
void pg_pipe_sql(pg_pipe *p, const char *sql);
/* Sends a sync and reads the results queued so far; p->err after. */
sl_err pg_pipe_sync(pg_pipe *p);
/* Reads what is left and leaves pipeline mode; p->err. */
sl_err pg_pipe_end(pg_pipe *p);

/* A connection of the pool, for one store call; put it back when done
 * (a broken one, or one left inside a transaction, is closed then). */
sl_err pg_get(pg_store *s, pg_conn **out);
void pg_put(pg_store *s, pg_conn *c);

/* Runs body(s, c, ud) in one transaction that first takes advisory lock
 * lock_key (0: none) until it ends; commits when body returns SL_OK,
 * rolls back otherwise. */
typedef sl_err (*pg_body)(pg_store *s, pg_conn *c, void *ud);
sl_err pg_in_tx(pg_store *s, int lock_key, pg_body body, void *ud);
/* The same for reads that must agree: one REPEATABLE READ, READ ONLY
 * transaction. */
sl_err pg_in_read(pg_store *s, pg_body body, void *ud);
/* BEGIN [and the lock] / COMMIT / ROLLBACK on c. */
sl_err pg_begin(pg_conn *c, int lock_key);
sl_err pg_commit(pg_conn *c);
void pg_rollback(pg_conn *c);

/* Result accessors: row, column. NULL reads as 0, false, NULL. */
int64_t pg_i64(const PGresult *r, int row, int col);
double pg_f64(const PGresult *r, int row, int col);
bool pg_bool(const PGresult *r, int row, int col);
bool pg_isnull(const PGresult *r, int row, int col);
/* A text column copied into a (NULL for NULL). */
sl_err pg_str(const PGresult *r, int row, int col, sl_arena *a, const char **out);
/* A bytea column into dst, which must be exactly size bytes long once
 * decoded; false otherwise (or when NULL). */
bool pg_blob_into(const PGresult *r, int row, int col, void *dst, size_t size);
/* A bytea column copied into a; *len its length (NULL and 0 for NULL or
 * empty). SL_ESTORE when it is not hex. */
sl_err pg_blob(const PGresult *r, int row, int col, sl_arena *a, const uint8_t **out,
	       size_t *len);

/* The report at row of a SELECT REPORT_COLUMNS, strings in a. */
sl_err pg_decode_report(const PGresult *r, int row, sl_arena *a, sl_report *out);
/* The REVIEW_COLUMNS from column col0 on. */
sl_err pg_decode_review(const PGresult *r, int row, int col0, sl_arena *a,
			sl_review *out);
/* A row of SELECT ITEM_COLUMNS. */
sl_err pg_decode_item(const PGresult *r, int row, sl_arena *a, sl_queue_item *it);

/* Decodes row of r into the element at out, strings in a. */
typedef sl_err (*pg_row_decoder)(const PGresult *r, int row, sl_arena *a, void *out);
/* One page of a paged walk: st is SELECT ... WHERE key > $1 ORDER BY key
 * LIMIT $2, run for after and rows; the rows are decoded into page
 * (elements of elem bytes), *n of them; *more is false when there are no
 * more. No connection is held once it returns. */
sl_err pg_read_page(pg_store *s, pg_stmt *st, int64_t after, int rows,
		    pg_row_decoder decode, void *page, size_t elem, sl_arena *a,
		    const char *what, size_t *n, bool *more);

/* Runs a statement that answers one integer; *out gets it (0 for none). */
sl_err pg_one_int(pg_store *s, pg_stmt *st, const pg_params *p, const char *what,
		  int64_t *out);

/* The n ids at ids (each stride bytes from the last) as an array literal
 * ("{1,2,3}") for a $n::bigint[] parameter; malloc'd, NULL without memory. */
char *pg_id_array(const int64_t *ids, size_t n, size_t stride);

/* Appends a change row (what the engine must look at again) inside the
 * open transaction. */
sl_err pg_note_change(pg_conn *c, int64_t report_id, int64_t event_id);

/* postgres_events.c: the ops over events, links, bans, changes and the
 * engine's state and lock (contracts in store.h). */
sl_err pg_event_create(sl_store *s, sl_event *e);
sl_err pg_event_attach(sl_store *s, int64_t event_id, int64_t report_id,
		       int64_t moderator_id, int64_t now);
sl_err pg_event_detach(sl_store *s, int64_t event_id, int64_t report_id,
		       int64_t moderator_id, int64_t now);
sl_err pg_event_merge(sl_store *s, int64_t into, int64_t from, int64_t moderator_id,
		      int64_t now);
sl_err pg_event_split(sl_store *s, int64_t from, const int64_t *report_ids, size_t n,
		      int64_t moderator_id, int64_t now, int64_t *new_id);
sl_err pg_find_events(sl_store *s, const sl_event_filter *f, sl_arena *a, sl_event **out,
		      size_t *n);
sl_err pg_report_events(sl_store *s, int64_t report_id, sl_arena *a, int64_t **ids,
			size_t *n);
sl_err pg_each_item(sl_store *s, int64_t after_id, sl_item_visit visit, void *ud);
sl_err pg_get_item(sl_store *s, int64_t id, sl_arena *a, sl_queue_item *out);
sl_err pg_changes(sl_store *s, int64_t after, size_t max, sl_change *out, size_t *n);
sl_err pg_engine_state(sl_store *s, bool engine_links, sl_engine_state *out);
sl_err pg_engine_save(sl_store *s, sl_engine_save *save);
sl_err pg_engine_lock(sl_store *s, bool *got);
sl_err pg_each_event(sl_store *s, int64_t since, sl_event_visit visit, void *ud);
sl_err pg_count_events(sl_store *s, int64_t *out);
/* Inside a transaction of the engine's leader (the tracker's save): SL_OK
 * while this store's session holds the engine's lock, SL_EBUSY once it has
 * lost it (as pg_engine_save checks). */
sl_err pg_engine_fence(pg_store *s, pg_conn *c);
/* Closes the engine's session (releasing its lock), at close. */
void pg_engine_release(pg_store *s);
/* Opens a connection of our own settings to s->url (NULL after logging). */
PGconn *pg_connect(const pg_store *s);

/* postgres_publish.c: publication's reads, settings, excerpts, webhooks,
 * log and outbox (contracts in store.h). */
sl_err pg_pub_sources(sl_store *s, sl_pub_source_visit visit, void *ud);
sl_err pg_pub_fingerprint(sl_store *s, sl_pub_fingerprint *out);
sl_err pg_pub_setting_get(sl_store *s, const char *key, char **out);
sl_err pg_pub_setting_set(sl_store *s, const char *key, const char *value,
			  int64_t moderator_id, int64_t now);
sl_err pg_excerpt_set(sl_store *s, int64_t event_id, const char *text, int64_t moderator_id,
		      int64_t now);
sl_err pg_webhook_add(sl_store *s, sl_webhook *w);
sl_err pg_webhooks(sl_store *s, bool all, sl_webhook **out, size_t *n);
sl_err pg_webhook_remove(sl_store *s, int64_t id, int64_t now);
sl_err pg_pub_record(sl_store *s, const sl_pub_record *recs, size_t n, int64_t now);
sl_err pg_pub_state(sl_store *s, sl_pub_state_visit visit, void *ud);
sl_err pg_deliveries_due(sl_store *s, int64_t now, size_t max, sl_arena *a,
			 sl_delivery **out, size_t *n);
sl_err pg_photo_set(sl_store *s, int64_t event_id, const uint8_t *jpeg, size_t len,
		    int64_t moderator_id, int64_t now);
sl_err pg_photo_get(sl_store *s, int64_t event_id, uint8_t **out, size_t *len);
sl_err pg_delivery_result(sl_store *s, int64_t webhook_id, int64_t seq, bool done,
			  int attempts, int64_t next_at, int status);

/* postgres_tracks.c: the tracks the tracker saves (store.h). */
sl_err pg_tracks_save(sl_store *s, sl_tracks_save *save);
sl_err pg_find_tracks(sl_store *s, const sl_track_filter *f, sl_arena *a, sl_track **out,
		      size_t *n);

#endif
