/*
 * sqlite_events.c — events, their reports, bans, the change log and the
 * corroboration engine's saved state, in the SQLite backend.
 *
 * An event row carries the engine's estimate (time window, location,
 * equipment, confidence) beside who made it; event_reports says which
 * reports support it and who attached each (NULL: the engine). What a
 * moderator decided is kept apart from what the engine may redo: a
 * moderator's attach has attached_by set, a detach leaves an event_bans
 * row, and an event a moderator made or changed has decided_by_moderator.
 * The engine's save touches only its own rows (attached_by NULL, events not
 * decided), and re-checks the bans in SQL, so a moderator's decision made
 * while the engine was working is never overwritten.
 *
 * Every moderator write appends a row to changes in the same transaction;
 * the engine reads them after its last seq to learn what to look at again,
 * whichever process made the change.
 */
#include "store/sqlite_int.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

/* Runs sql with ?1..?n bound to the int64 arguments (0 binds NULL when the
 * argument is marked so by the caller passing INT64_MIN) inside the open
 * write transaction; rows are not read. */
static sl_err exec_ids(sqlite_store *s, const char *what, const char *sql, int n, ...)
{
	sqlite3_stmt *st;
	sl_err err = sq_prepare_once(s->wdb, sql, &st);
	if (err)
		return err;
	va_list ap;
	va_start(ap, n);
	for (int i = 1; i <= n; i++) {
		int64_t v = va_arg(ap, int64_t);
		if (v == INT64_MIN)
			sqlite3_bind_null(st, i);
		else
			sqlite3_bind_int64(st, i, v);
	}
	va_end(ap);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		;
	if (rc != SQLITE_DONE)
		err = sq_fail(s->wdb, what);
	sqlite3_finalize(st);
	return err;
}

#define NULLABLE(v) ((v) ? (int64_t)(v) : INT64_MIN)

sl_err sq_note_change(sqlite_store *s, int64_t report_id, int64_t event_id)
{
	return exec_ids(s, "note change",
			"INSERT INTO changes (report_id, event_id) VALUES (?1, ?2)", 2,
			NULLABLE(report_id), NULLABLE(event_id));
}

/* Whether row id exists in table (a fixed name), inside the open write
 * transaction: SL_OK, SL_ENOTFOUND, SL_ESTORE. */
static sl_err row_exists(sqlite_store *s, const char *table, int64_t id)
{
	char sql[64];
	snprintf(sql, sizeof(sql), "SELECT 1 FROM %s WHERE id = ?1", table);
	sqlite3_stmt *st;
	sl_err err = sq_prepare_once(s->wdb, sql, &st);
	if (err)
		return err;
	sqlite3_bind_int64(st, 1, id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		err = SL_ENOTFOUND;
	else if (rc != SQLITE_ROW)
		err = sq_fail(s->wdb, "look up row");
	sqlite3_finalize(st);
	return err;
}

/* Keeps events.n_reports true after a change of event_id's reports. */
static sl_err recount(sqlite_store *s, int64_t event_id)
{
	return exec_ids(
	    s, "count reports",
	    "UPDATE events SET n_reports = (SELECT count(*) FROM event_reports"
	    " WHERE event_id = ?1) WHERE id = ?1",
	    1, event_id);
}

/* A moderator's attach inside the open transaction: the link becomes theirs
 * even if the engine had made it, a ban of the pair is lifted. */
static sl_err attach_by_moderator(sqlite_store *s, int64_t event_id, int64_t report_id,
				  int64_t moderator_id, int64_t now)
{
	sl_err err =
	    exec_ids(s, "attach report",
		     "INSERT INTO event_reports (event_id, report_id, attached_by,"
		     " attached_at) VALUES (?1, ?2, ?3, ?4)"
		     " ON CONFLICT DO UPDATE SET attached_by = excluded.attached_by,"
		     " attached_at = excluded.attached_at",
		     4, event_id, report_id, NULLABLE(moderator_id), now);
	if (!err)
		err = exec_ids(
		    s, "lift ban",
		    "DELETE FROM event_bans WHERE event_id = ?1 AND report_id = ?2", 2,
		    event_id, report_id);
	return err;
}

/* A moderator's detach inside the open transaction, with its ban. */
static sl_err detach_by_moderator(sqlite_store *s, int64_t event_id, int64_t report_id,
				  int64_t moderator_id, int64_t now)
{
	sl_err err =
	    exec_ids(s, "detach report",
		     "DELETE FROM event_reports WHERE event_id = ?1 AND report_id = ?2",
		     2, event_id, report_id);
	if (!err)
		err =
		    exec_ids(s, "ban report",
			     "INSERT INTO event_bans (event_id, report_id, banned_by,"
			     " banned_at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
			     4, event_id, report_id, NULLABLE(moderator_id), now);
	return err;
}

static sl_err mark_decided(sqlite_store *s, int64_t event_id, int64_t now)
{
	return exec_ids(s, "decide event",
			"UPDATE events SET decided_by_moderator = 1, updated_at = ?2"
			" WHERE id = ?1",
			2, event_id, now);
}

/* Inserts an events row inside the open transaction; sets *id. */
static sl_err insert_event(sqlite_store *s, const sl_event *e, bool by_moderator,
			   int64_t *id)
{
	sqlite3_stmt *st;
	sl_err err =
	    sq_prepare_once(s->wdb,
			    "INSERT INTO events (category, created_at, created_by,"
			    " decided_by_moderator, updated_at) VALUES (?1, ?2, ?3,"
			    " ?4, ?2) RETURNING id",
			    &st);
	if (err)
		return err;
	if (e->has_category)
		sqlite3_bind_text(st, 1, sl_category_name(e->category), -1,
				  SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, e->created_at);
	if (e->created_by)
		sqlite3_bind_int64(st, 3, e->created_by);
	sqlite3_bind_int(st, 4, by_moderator ? 1 : 0);
	if (sqlite3_step(st) == SQLITE_ROW)
		*id = sqlite3_column_int64(st, 0);
	else
		err = sq_fail(s->wdb, "create event");
	sqlite3_finalize(st);
	return err;
}

static sl_err event_create_body(sqlite_store *s, void *ud)
{
	sl_event *e = ud;
	sl_err err = SL_OK;
	for (size_t i = 0; i < e->n_reports && !err; i++)
		err = row_exists(s, "reports", e->report_ids[i]);
	if (!err)
		err = insert_event(s, e, true, &e->id);
	for (size_t i = 0; i < e->n_reports && !err; i++)
		err = attach_by_moderator(s, e->id, e->report_ids[i], e->created_by,
					  e->created_at);
	if (!err)
		err = recount(s, e->id);
	if (!err)
		err = sq_note_change(s, 0, e->id);
	return err;
}

sl_err sq_event_create(sl_store *base, sl_event *e)
{
	sl_err err = sq_in_write_tx((sqlite_store *)base, event_create_body, e);
	if (err)
		e->id = 0;
	return err;
}

typedef struct link_args {
	int64_t event_id, report_id, moderator_id, now;
	bool detach;
} link_args;

static sl_err link_body(sqlite_store *s, void *ud)
{
	link_args *a = ud;
	sl_err err = row_exists(s, "events", a->event_id);
	if (!err)
		err = row_exists(s, "reports", a->report_id);
	if (!err)
		err = a->detach ? detach_by_moderator(s, a->event_id, a->report_id,
						      a->moderator_id, a->now)
				: attach_by_moderator(s, a->event_id, a->report_id,
						      a->moderator_id, a->now);
	if (!err)
		err = mark_decided(s, a->event_id, a->now);
	if (!err)
		err = recount(s, a->event_id);
	if (!err)
		err = sq_note_change(s, a->report_id, a->event_id);
	return err;
}

sl_err sq_event_attach(sl_store *base, int64_t event_id, int64_t report_id,
		       int64_t moderator_id, int64_t now)
{
	link_args a = {event_id, report_id, moderator_id, now, false};
	return sq_in_write_tx((sqlite_store *)base, link_body, &a);
}

sl_err sq_event_detach(sl_store *base, int64_t event_id, int64_t report_id,
		       int64_t moderator_id, int64_t now)
{
	link_args a = {event_id, report_id, moderator_id, now, true};
	return sq_in_write_tx((sqlite_store *)base, link_body, &a);
}

typedef struct merge_args {
	int64_t into, from, moderator_id, now;
} merge_args;

static sl_err merge_body(sqlite_store *s, void *ud)
{
	merge_args *a = ud;
	sl_err err = row_exists(s, "events", a->into);
	if (!err)
		err = row_exists(s, "events", a->from);
	if (!err)
		err = exec_ids(
		    s, "merge events",
		    "INSERT INTO event_reports (event_id, report_id, attached_by,"
		    " attached_at) SELECT ?1, report_id, ?3, ?4 FROM event_reports"
		    " WHERE event_id = ?2 ON CONFLICT DO UPDATE SET"
		    " attached_by = excluded.attached_by,"
		    " attached_at = excluded.attached_at",
		    4, a->into, a->from, NULLABLE(a->moderator_id), a->now);
	if (!err)
		err =
		    exec_ids(s, "merge bans",
			     "DELETE FROM event_bans WHERE event_id = ?1 AND report_id IN"
			     " (SELECT report_id FROM event_reports WHERE event_id = ?1)",
			     1, a->into);
	if (!err)
		err = exec_ids(s, "delete merged event",
			       "DELETE FROM events WHERE id = ?1", 1, a->from);
	if (!err)
		err = mark_decided(s, a->into, a->now);
	if (!err)
		err = recount(s, a->into);
	if (!err)
		err = sq_note_change(s, 0, a->into);
	if (!err)
		err = sq_note_change(s, 0, a->from);
	return err;
}

sl_err sq_event_merge(sl_store *base, int64_t into, int64_t from, int64_t moderator_id,
		      int64_t now)
{
	merge_args a = {into, from, moderator_id, now};
	return sq_in_write_tx((sqlite_store *)base, merge_body, &a);
}

typedef struct split_args {
	int64_t from;
	const int64_t *ids;
	size_t n;
	int64_t moderator_id, now;
	int64_t *new_id;
} split_args;

/* The number of reports of event_id, inside the open transaction. */
static sl_err count_links(sqlite_store *s, int64_t event_id, int64_t report_id,
			  int64_t *out)
{
	sqlite3_stmt *st;
	sl_err err =
	    sq_prepare_once(s->wdb,
			    "SELECT count(*) FROM event_reports WHERE event_id = ?1"
			    " AND (?2 = 0 OR report_id = ?2)",
			    &st);
	if (err)
		return err;
	sqlite3_bind_int64(st, 1, event_id);
	sqlite3_bind_int64(st, 2, report_id);
	if (sqlite3_step(st) == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	else
		err = sq_fail(s->wdb, "count links");
	sqlite3_finalize(st);
	return err;
}

static sl_err split_body(sqlite_store *s, void *ud)
{
	split_args *a = ud;
	sl_err err = row_exists(s, "events", a->from);
	int64_t total = 0, in = 0;
	if (!err)
		err = count_links(s, a->from, 0, &total);
	for (size_t i = 0; i < a->n && !err; i++) {
		if ((err = row_exists(s, "reports", a->ids[i])))
			break;
		if ((err = count_links(s, a->from, a->ids[i], &in)))
			break;
		if (in == 0)
			err = SL_EVALID;
	}
	if (!err && (int64_t)a->n >= total)
		err = SL_EVALID;
	sqlite3_stmt *st;
	sl_event e = {.created_at = a->now, .created_by = a->moderator_id};
	if (!err && !(err = sq_prepare_once(
			  s->wdb, "SELECT category FROM events WHERE id = ?1", &st))) {
		sqlite3_bind_int64(st, 1, a->from);
		if (sqlite3_step(st) == SQLITE_ROW &&
		    sqlite3_column_type(st, 0) != SQLITE_NULL)
			e.has_category = sl_category_from_name(
			    (const char *)sqlite3_column_text(st, 0), &e.category);
		sqlite3_finalize(st);
	}
	if (!err)
		err = insert_event(s, &e, true, a->new_id);
	for (size_t i = 0; i < a->n && !err; i++) {
		err = detach_by_moderator(s, a->from, a->ids[i], a->moderator_id, a->now);
		if (!err)
			err = attach_by_moderator(s, *a->new_id, a->ids[i],
						  a->moderator_id, a->now);
	}
	if (!err)
		err = mark_decided(s, a->from, a->now);
	if (!err)
		err = recount(s, a->from);
	if (!err)
		err = recount(s, *a->new_id);
	if (!err)
		err = sq_note_change(s, 0, a->from);
	if (!err)
		err = sq_note_change(s, 0, *a->new_id);
	return err;
}

sl_err sq_event_split(sl_store *base, int64_t from, const int64_t *report_ids, size_t n,
		      int64_t moderator_id, int64_t now, int64_t *new_id)
{
	split_args a = {from, report_ids, n, moderator_id, now, new_id};
	*new_id = 0;
	sl_err err = sq_in_write_tx((sqlite_store *)base, split_body, &a);
	if (err)
		*new_id = 0;
	return err;
}

/* ---- reading events ---- */

static sl_err decode_event(sqlite3_stmt *st, sl_arena *a, sl_event *e)
{
	memset(e, 0, sizeof(*e));
	e->id = sqlite3_column_int64(st, 0);
	if (sqlite3_column_type(st, 1) != SQLITE_NULL) {
		if (!sl_category_from_name((const char *)sqlite3_column_text(st, 1),
					   &e->category))
			return SL_ESTORE;
		e->has_category = true;
	}
	e->created_at = sqlite3_column_int64(st, 2);
	e->created_by = sqlite3_column_int64(st, 3);
	e->by_moderator = sqlite3_column_int(st, 4) != 0;
	if (sqlite3_column_type(st, 5) != SQLITE_NULL) {
		e->has_estimate = true;
		e->t_start = sqlite3_column_int64(st, 5);
		e->t_end = sqlite3_column_int64(st, 6);
		e->confidence = sqlite3_column_double(st, 11);
	}
	if (sqlite3_column_type(st, 7) != SQLITE_NULL) {
		e->has_point = true;
		e->lat = sqlite3_column_double(st, 7);
		e->lon = sqlite3_column_double(st, 8);
		e->uncertainty_m = sqlite3_column_double(st, 9);
	}
	if (sqlite3_column_type(st, 10) != SQLITE_NULL) {
		e->has_heading = true;
		e->heading_deg = sqlite3_column_double(st, 10);
	}
	e->updated_at = sqlite3_column_int64(st, 13);
	const char *eq = (const char *)sqlite3_column_text(st, 12);
	return eq ? store_items_parse(eq, a, &e->items, &e->n_items) : SL_OK;
}

/* Reads the reports (and, when with_refs, their refs) of e. The caller
 * holds the read lock; st is prepared on rdb and reset here. */
static sl_err read_members(sqlite_store *s, sqlite3_stmt *st, sl_arena *a, sl_event *e,
			   bool with_refs)
{
	size_t cap = 0, n = 0;
	int64_t *ids = NULL;
	const char **refs = NULL;
	sl_err err = SL_OK;
	sqlite3_bind_int64(st, 1, e->id);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			int64_t *gi = sl_arena_alloc(a, ncap * sizeof(*gi));
			const char **gr =
			    with_refs ? sl_arena_alloc(a, ncap * sizeof(*gr)) : NULL;
			if (!gi || (with_refs && !gr)) {
				err = SL_ENOMEM;
				break;
			}
			if (n) {
				memcpy(gi, ids, n * sizeof(*gi));
				if (with_refs)
					memcpy(gr, refs, n * sizeof(*gr));
			}
			ids = gi;
			refs = gr;
			cap = ncap;
		}
		ids[n] = sqlite3_column_int64(st, 0);
		if (with_refs && (err = sq_column_str(st, 1, a, &refs[n])))
			break;
		n++;
	}
	if (!err && rc != SQLITE_DONE)
		err = sq_fail(s->rdb, "read event reports");
	sq_done_with(st);
	e->report_ids = ids;
	e->refs = with_refs ? (const char *const *)refs : NULL;
	e->n_reports = n;
	return err;
}

sl_err sq_find_events(sl_store *base, const sl_event_filter *f, sl_arena *a,
		      sl_event **out, size_t *n)
{
	sqlite_store *s = (sqlite_store *)base;
	*out = NULL;
	*n = 0;
	sl_event *list = sl_arena_alloc(a, f->limit * sizeof(*list));
	if (!list)
		return SL_ENOMEM;
	char sql[1024];
	snprintf(
	    sql, sizeof(sql),
	    "SELECT " EVENT_COLUMNS " FROM events WHERE (?1 = 0 OR id = ?1)"
	    " AND (?2 = 0 OR (lat BETWEEN ?3 AND ?4 AND lon BETWEEN ?5 AND ?6))"
	    " AND (?7 = 0 OR t_end >= ?8) AND (?9 = 0 OR t_start <= ?10)"
	    " AND (?11 IS NULL OR category = ?11) AND n_reports >= ?12"
	    " AND (?13 = 0 OR id %s ?13) AND (?15 = 0 OR decided_by_moderator = ?15 - 1)"
	    " ORDER BY id %s LIMIT ?14",
	    f->ascending ? ">" : "<", f->ascending ? "ASC" : "DESC");
	sqlite3_stmt *st, *members = NULL;
	pthread_mutex_lock(&s->rlock);
	/* One read transaction, so an event and its reports agree. */
	sqlite3_exec(s->rdb, "BEGIN", NULL, NULL, NULL);
	sl_err err = sq_prepare_once(s->rdb, sql, &st);
	if (!err) {
		sqlite3_bind_int64(st, 1, f->id);
		sqlite3_bind_int(st, 2, f->has_bbox);
		sqlite3_bind_double(st, 3, f->min_lat);
		sqlite3_bind_double(st, 4, f->max_lat);
		sqlite3_bind_double(st, 5, f->min_lon);
		sqlite3_bind_double(st, 6, f->max_lon);
		sqlite3_bind_int(st, 7, f->has_from);
		sqlite3_bind_int64(st, 8, f->from);
		sqlite3_bind_int(st, 9, f->has_to);
		sqlite3_bind_int64(st, 10, f->to);
		if (f->has_category)
			sqlite3_bind_text(st, 11, sl_category_name(f->category), -1,
					  SQLITE_STATIC);
		sqlite3_bind_int64(st, 12, f->min_reports);
		sqlite3_bind_int64(st, 13, f->cursor);
		sqlite3_bind_int64(st, 14, (sqlite3_int64)f->limit);
		sqlite3_bind_int(st, 15, f->origin);
		int rc;
		while (*n < f->limit && (rc = sqlite3_step(st)) == SQLITE_ROW) {
			if ((err = decode_event(st, a, &list[*n])))
				break;
			(*n)++;
		}
		if (!err && rc != SQLITE_DONE && rc != SQLITE_ROW)
			err = sq_fail(s->rdb, "read events");
		sqlite3_finalize(st);
	}
	if (!err)
		err = sq_prepare_once(s->rdb,
				      "SELECT er.report_id, r.ref FROM event_reports er"
				      " JOIN reports r ON r.id = er.report_id"
				      " WHERE er.event_id = ?1 ORDER BY er.report_id",
				      &members);
	for (size_t i = 0; i < *n && !err; i++)
		err = read_members(s, members, a, &list[i], f->with_refs);
	sqlite3_finalize(members);
	sqlite3_exec(s->rdb, "COMMIT", NULL, NULL, NULL);
	pthread_mutex_unlock(&s->rlock);
	if (err == SL_ESTORE)
		fprintf(stderr, LOG_PREFIX "events: malformed row\n");
	if (err)
		*n = 0;
	else
		*out = list;
	return err;
}

sl_err sq_report_events(sl_store *base, int64_t report_id, sl_arena *a, int64_t **ids,
			size_t *n)
{
	sqlite_store *s = (sqlite_store *)base;
	*ids = NULL;
	*n = 0;
	sqlite3_stmt *st;
	pthread_mutex_lock(&s->rlock);
	sl_err err =
	    sq_prepare_once(s->rdb,
			    "SELECT event_id FROM event_reports WHERE report_id = ?1"
			    " ORDER BY event_id",
			    &st);
	size_t cap = 0;
	int rc = SQLITE_DONE;
	if (!err) {
		sqlite3_bind_int64(st, 1, report_id);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			if (*n == cap) {
				size_t ncap = cap ? cap * 2 : 8;
				int64_t *g = sl_arena_alloc(a, ncap * sizeof(*g));
				if (!g) {
					err = SL_ENOMEM;
					break;
				}
				if (cap)
					memcpy(g, *ids, cap * sizeof(*g));
				*ids = g;
				cap = ncap;
			}
			(*ids)[(*n)++] = sqlite3_column_int64(st, 0);
		}
		if (!err && rc != SQLITE_DONE)
			err = sq_fail(s->rdb, "read report events");
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&s->rlock);
	return err;
}

/* ---- what the engine reads ---- */

#define ITEM_PAGE 256
#define ITEM_ARENA_CAP ((size_t)8 << 20)

sl_err sq_each_item(sl_store *base, int64_t after_id, sl_item_visit visit, void *ud)
{
	sqlite_store *s = (sqlite_store *)base;
	sl_arena *a = sl_arena_new(ITEM_ARENA_CAP);
	sl_queue_item *page = calloc(ITEM_PAGE, sizeof(*page));
	sqlite3_stmt *st = NULL;
	sl_err err = a && page ? SL_OK : SL_ENOMEM;
	pthread_mutex_lock(&s->rlock);
	if (!err)
		err = sq_prepare(s->rdb,
				 "SELECT " ITEM_COLUMNS " FROM reports r WHERE id > ?1"
				 " ORDER BY id LIMIT ?2",
				 &st);
	pthread_mutex_unlock(&s->rlock);
	int64_t cursor = after_id;
	while (!err) {
		size_t n = 0;
		sl_arena_reset(a);
		pthread_mutex_lock(&s->rlock);
		sqlite3_bind_int64(st, 1, cursor);
		sqlite3_bind_int(st, 2, ITEM_PAGE);
		int rc;
		while (n < ITEM_PAGE && (rc = sqlite3_step(st)) == SQLITE_ROW) {
			sl_err e = sq_decode_item(st, a, &page[n]);
			if (e == SL_ENOMEM && n > 0)
				break; /* the rest in the next page */
			if ((err = e))
				break;
			n++;
		}
		if (!err && rc != SQLITE_DONE && rc != SQLITE_ROW)
			err = sq_fail(s->rdb, "read items");
		sq_done_with(st);
		pthread_mutex_unlock(&s->rlock);
		for (size_t i = 0; i < n && !err; i++)
			err = visit(ud, &page[i]);
		if (err || n == 0)
			break;
		cursor = page[n - 1].report.id;
	}
	if (st) {
		pthread_mutex_lock(&s->rlock);
		sqlite3_finalize(st);
		pthread_mutex_unlock(&s->rlock);
	}
	free(page);
	sl_arena_free(a);
	return err;
}

sl_err sq_get_item(sl_store *base, int64_t id, sl_arena *a, sl_queue_item *out)
{
	sqlite_store *s = (sqlite_store *)base;
	sqlite3_stmt *st;
	pthread_mutex_lock(&s->rlock);
	sl_err err = sq_prepare_once(
	    s->rdb, "SELECT " ITEM_COLUMNS " FROM reports r WHERE id = ?1", &st);
	if (!err) {
		sqlite3_bind_int64(st, 1, id);
		int rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			err = sq_decode_item(st, a, out);
		else if (rc == SQLITE_DONE)
			err = SL_ENOTFOUND;
		else
			err = sq_fail(s->rdb, "get item");
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&s->rlock);
	return err;
}

sl_err sq_changes(sl_store *base, int64_t after, size_t max, sl_change *out, size_t *n)
{
	sqlite_store *s = (sqlite_store *)base;
	*n = 0;
	sqlite3_stmt *st;
	pthread_mutex_lock(&s->rlock);
	sl_err err = sq_prepare_once(s->rdb,
				     "SELECT seq, report_id, event_id FROM changes"
				     " WHERE seq > ?1 ORDER BY seq LIMIT ?2",
				     &st);
	if (!err) {
		sqlite3_bind_int64(st, 1, after);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)max);
		int rc;
		while (*n < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
			out[*n].seq = sqlite3_column_int64(st, 0);
			out[*n].report_id = sqlite3_column_int64(st, 1);
			out[*n].event_id = sqlite3_column_int64(st, 2);
			(*n)++;
		}
		if (rc != SQLITE_DONE && rc != SQLITE_ROW)
			err = sq_fail(s->rdb, "read changes");
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&s->rlock);
	return err;
}

/* Appends a link of the current row (event_id, report_id, by) to a
 * malloc'd array. */
static sl_err push_link(sqlite3_stmt *st, sl_event_link **arr, size_t *n, size_t *cap)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 256;
		sl_event_link *g = realloc(*arr, ncap * sizeof(*g));
		if (!g)
			return SL_ENOMEM;
		*arr = g;
		*cap = ncap;
	}
	(*arr)[(*n)++] =
	    (sl_event_link){sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
			    sqlite3_column_int64(st, 2)};
	return SL_OK;
}

static sl_err read_links(sqlite_store *s, const char *sql, sl_event_link **arr, size_t *n)
{
	sqlite3_stmt *st;
	size_t cap = 0;
	sl_err err = sq_prepare_once(s->rdb, sql, &st);
	if (err)
		return err;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if ((err = push_link(st, arr, n, &cap)))
			break;
	if (!err && rc != SQLITE_DONE)
		err = sq_fail(s->rdb, "read links");
	sqlite3_finalize(st);
	return err;
}

static sl_err meta_int(sqlite_store *s, const char *key, int64_t *out)
{
	sqlite3_stmt *st;
	*out = 0;
	sl_err err =
	    sq_prepare_once(s->rdb, "SELECT value FROM meta WHERE key = ?1", &st);
	if (err)
		return err;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return SL_OK;
}

sl_err sq_engine_state(sl_store *base, bool engine_links, sl_engine_state *out)
{
	sqlite_store *s = (sqlite_store *)base;
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&s->rlock);
	sqlite3_exec(s->rdb, "BEGIN", NULL, NULL, NULL);
	sqlite3_stmt *st;
	size_t cap = 0;
	sl_err err =
	    sq_prepare_once(s->rdb,
			    "SELECT id, category, decided_by_moderator FROM events"
			    " WHERE ?1 OR decided_by_moderator = 1 ORDER BY id",
			    &st);
	if (!err) {
		sqlite3_bind_int(st, 1, engine_links);
		int rc;
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			if (out->n_events == cap) {
				size_t ncap = cap ? cap * 2 : 256;
				sl_event *g = realloc(out->events, ncap * sizeof(*g));
				if (!g) {
					err = SL_ENOMEM;
					break;
				}
				out->events = g;
				cap = ncap;
			}
			sl_event *e = &out->events[out->n_events++];
			memset(e, 0, sizeof(*e));
			e->id = sqlite3_column_int64(st, 0);
			if (sqlite3_column_type(st, 1) != SQLITE_NULL)
				e->has_category = sl_category_from_name(
				    (const char *)sqlite3_column_text(st, 1),
				    &e->category);
			e->by_moderator = sqlite3_column_int(st, 2) != 0;
		}
		if (!err && rc != SQLITE_DONE)
			err = sq_fail(s->rdb, "read events");
		sqlite3_finalize(st);
	}
	if (!err)
		err = read_links(
		    s,
		    engine_links ? "SELECT event_id, report_id, coalesce(attached_by, 0)"
				   " FROM event_reports ORDER BY report_id, event_id"
				 : "SELECT event_id, report_id, attached_by FROM"
				   " event_reports WHERE attached_by IS NOT NULL"
				   " ORDER BY report_id, event_id",
		    &out->links, &out->n_links);
	if (!err)
		err = read_links(s,
				 "SELECT event_id, report_id, coalesce(banned_by, 0)"
				 " FROM event_bans ORDER BY report_id, event_id",
				 &out->bans, &out->n_bans);
	if (!err && !(err = sq_prepare_once(
			  s->rdb, "SELECT coalesce(max(seq), 0) FROM changes", &st))) {
		if (sqlite3_step(st) == SQLITE_ROW)
			out->last_change = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	if (!err)
		err = meta_int(s, "engine.last_report", &out->last_report);
	sqlite3_exec(s->rdb, "COMMIT", NULL, NULL, NULL);
	pthread_mutex_unlock(&s->rlock);
	if (err)
		sl_engine_state_free(out);
	return err;
}

typedef struct save_ctx {
	sl_engine_save *save;
	sqlite3_stmt *update, *clear, *link, *del, *meta;
} save_ctx;

static sl_err save_event(sqlite_store *s, save_ctx *c, sl_event *e)
{
	sl_err err = SL_OK;
	if (e->id == 0) {
		e->created_at = c->save->now;
		e->created_by = 0;
		if ((err = insert_event(s, e, false, &e->id)))
			return err;
	}
	char *items = NULL;
	if ((err = store_items_json(e->items, e->n_items, &items)))
		return err;
	sqlite3_stmt *st = c->update;
	sqlite3_bind_int64(st, 1, e->id);
	if (e->has_estimate) {
		sqlite3_bind_int64(st, 2, e->t_start);
		sqlite3_bind_int64(st, 3, e->t_end);
		sqlite3_bind_double(st, 10, e->confidence);
	}
	if (e->has_point) {
		sqlite3_bind_double(st, 4, e->lat);
		sqlite3_bind_double(st, 5, e->lon);
		sqlite3_bind_double(st, 6, e->uncertainty_m);
	}
	if (e->has_heading)
		sqlite3_bind_double(st, 7, e->heading_deg);
	sqlite3_bind_text(st, 8, items, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 9, c->save->now);
	if (e->has_category)
		sqlite3_bind_text(st, 11, sl_category_name(e->category), -1,
				  SQLITE_STATIC);
	free(items);
	int rc = sqlite3_step(st);
	bool exists = rc == SQLITE_DONE && sqlite3_changes64(s->wdb) > 0;
	if (rc != SQLITE_DONE)
		err = sq_fail(s->wdb, "save event");
	sq_done_with(st);
	/* Gone: a moderator merged it away meanwhile; its reports come back
	 * to the engine through the change that merge wrote. */
	if (err || !exists)
		return err;
	sqlite3_bind_int64(c->clear, 1, e->id);
	err = sq_run(s->wdb, c->clear, "clear engine links");
	for (size_t i = 0; i < e->n_reports && !err; i++) {
		sqlite3_bind_int64(c->link, 1, e->id);
		sqlite3_bind_int64(c->link, 2, e->report_ids[i]);
		sqlite3_bind_int64(c->link, 3, c->save->now);
		err = sq_run(s->wdb, c->link, "engine link");
	}
	if (!err)
		err = recount(s, e->id);
	return err;
}

static sl_err save_body(sqlite_store *s, void *ud)
{
	save_ctx *c = ud;
	sl_engine_save *sv = c->save;
	sl_err err = SL_OK;
	if ((err = sq_prepare_once(
		 s->wdb,
		 "UPDATE events SET t_start = ?2, t_end = ?3, lat = ?4, lon = ?5,"
		 " uncertainty_m = ?6, heading_deg = ?7, equipment = ?8, updated_at = ?9,"
		 " confidence = ?10, category = coalesce(category, ?11) WHERE id = ?1",
		 &c->update)) ||
	    (err = sq_prepare_once(s->wdb,
				   "DELETE FROM event_reports WHERE event_id = ?1"
				   " AND attached_by IS NULL",
				   &c->clear)) ||
	    (err = sq_prepare_once(
		 s->wdb,
		 "INSERT INTO event_reports (event_id, report_id, attached_by, "
		 "attached_at)"
		 " SELECT ?1, ?2, NULL, ?3 WHERE NOT EXISTS (SELECT 1 FROM event_bans"
		 " WHERE event_id = ?1 AND report_id = ?2) ON CONFLICT DO NOTHING",
		 &c->link)) ||
	    (err = sq_prepare_once(s->wdb,
				   "DELETE FROM events WHERE id = ?1"
				   " AND decided_by_moderator = 0",
				   &c->del)))
		return err;
	for (size_t i = 0; i < sv->n_events && !err; i++)
		err = save_event(s, c, &sv->events[i]);
	for (size_t i = 0; i < sv->n_deleted && !err; i++) {
		sqlite3_bind_int64(c->del, 1, sv->deleted[i]);
		err = sq_run(s->wdb, c->del, "delete engine event");
	}
	if (!err)
		err = exec_ids(
		    s, "engine mark",
		    "INSERT INTO meta (key, value) VALUES ('engine.last_report', ?1)"
		    " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
		    1, sv->last_report);
	if (!err)
		err = exec_ids(
		    s, "engine mark",
		    "INSERT INTO meta (key, value) VALUES ('engine.last_change', ?1)"
		    " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
		    1, sv->last_change);
	/* The changes the engine has read are spent. */
	if (!err)
		err = exec_ids(s, "prune changes", "DELETE FROM changes WHERE seq <= ?1",
			       1, sv->last_change);
	return err;
}

sl_err sq_engine_save(sl_store *base, sl_engine_save *save)
{
	sqlite_store *s = (sqlite_store *)base;
	save_ctx c = {.save = save};
	/* New events get their ids inside; on failure none of them is kept. */
	sl_err err = sq_in_write_tx(s, save_body, &c);
	sqlite3_finalize(c.update);
	sqlite3_finalize(c.clear);
	sqlite3_finalize(c.link);
	sqlite3_finalize(c.del);
	return err;
}

sl_err sq_engine_lock(sl_store *base, bool *got)
{
	sqlite_store *s = (sqlite_store *)base;
	*got = false;
	if (s->engine_lock_fd >= 0) {
		*got = true;
		return SL_OK;
	}
	/* DATA_DIR/engine.lock beside DATA_DIR/sightline.db. */
	size_t len = strlen(s->path);
	char *path = malloc(len + 16);
	if (!path)
		return SL_ENOMEM;
	memcpy(path, s->path, len + 1);
	char *slash = strrchr(path, '/');
	snprintf(slash ? slash + 1 : path, 16, "engine.lock");
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	free(path);
	if (fd < 0) {
		fprintf(stderr, LOG_PREFIX "engine lock: %s\n", strerror(errno));
		return SL_EIO;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		close(fd);
		return errno == EWOULDBLOCK ? SL_OK : SL_EIO;
	}
	s->engine_lock_fd = fd;
	*got = true;
	return SL_OK;
}

/* ---- what the tracker reads ---- */

#define EVENT_PAGE 500
#define EVENT_ARENA_CAP ((size_t)4 << 20)

sl_err sq_each_event(sl_store *base, int64_t since, sl_event_visit visit, void *ud)
{
	sqlite_store *s = (sqlite_store *)base;
	sl_arena *a = sl_arena_new(EVENT_ARENA_CAP);
	sl_event *page = calloc(EVENT_PAGE, sizeof(*page));
	sqlite3_stmt *st = NULL;
	sl_err err = a && page ? SL_OK : SL_ENOMEM;
	pthread_mutex_lock(&s->rlock);
	/* Since a mark: few rows, found through the index on updated_at
	 * (every event has one: engine saves and moderators' writes set it)
	 * and sorted, where the planner would rather walk every id. */
	if (!err)
		err = sq_prepare(s->rdb,
				 since > 0
				     ? "SELECT " EVENT_COLUMNS ", n_reports FROM events"
				       " INDEXED BY events_updated"
				       " WHERE updated_at >= ?2 AND id > ?1"
				       " ORDER BY id LIMIT ?3"
				     : "SELECT " EVENT_COLUMNS ", n_reports FROM events"
				       " WHERE id > ?1 AND ?2 = 0 ORDER BY id LIMIT ?3",
				 &st);
	pthread_mutex_unlock(&s->rlock);
	int64_t cursor = 0;
	while (!err) {
		size_t n = 0;
		sl_arena_reset(a);
		pthread_mutex_lock(&s->rlock);
		sqlite3_bind_int64(st, 1, cursor);
		sqlite3_bind_int64(st, 2, since);
		sqlite3_bind_int(st, 3, EVENT_PAGE);
		int rc;
		while (n < EVENT_PAGE && (rc = sqlite3_step(st)) == SQLITE_ROW) {
			if ((err = decode_event(st, a, &page[n])))
				break;
			page[n].n_reports = (size_t)sqlite3_column_int64(st, 14);
			n++;
		}
		if (!err && rc != SQLITE_DONE && rc != SQLITE_ROW)
			err = sq_fail(s->rdb, "read events");
		sq_done_with(st);
		pthread_mutex_unlock(&s->rlock);
		for (size_t i = 0; i < n && !err; i++)
			err = visit(ud, &page[i]);
		if (err || n < EVENT_PAGE)
			break;
		cursor = page[n - 1].id;
	}
	if (st) {
		pthread_mutex_lock(&s->rlock);
		sqlite3_finalize(st);
		pthread_mutex_unlock(&s->rlock);
	}
	free(page);
	sl_arena_free(a);
	return err;
}

sl_err sq_count_events(sl_store *base, int64_t *out)
{
	sqlite_store *s = (sqlite_store *)base;
	sqlite3_stmt *st;
	*out = 0;
	pthread_mutex_lock(&s->rlock);
	sl_err err = sq_prepare_once(s->rdb, "SELECT count(*) FROM events", &st);
	if (!err) {
		if (sqlite3_step(st) == SQLITE_ROW)
			*out = sqlite3_column_int64(st, 0);
		else
			err = sq_fail(s->rdb, "count events");
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&s->rlock);
	return err;
}
