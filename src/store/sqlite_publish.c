/*
 * sqlite_publish.c — what publication keeps and reads in the SQLite
 * backend (docs/PUBLISH.md, docs/STORE.md).
 *
 * Publication reads events with their estimates and, per event, how many
 * of its reports a moderator verified and how many are not rejected: one
 * pass over event_reports joined to reports, grouped by event, in one read
 * transaction. It writes only its own tables: publish_settings,
 * event_excerpts, event_photos, webhooks, published_events, publications and
 * webhook_outbox. Nothing here reads a sealed item, and the only text
 * publication ever gets from reports is their status.
 */
#include "store/sqlite_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

static const char sql_sources[] =
    "SELECT e.id, e.category, e.t_start, e.t_end, e.lat, e.lon, e.uncertainty_m,"
    " e.heading_deg, e.confidence, e.equipment, v.n_verified, v.n_ok, x.text,"
    " EXISTS (SELECT 1 FROM event_photos p WHERE p.event_id = e.id)"
    " FROM (SELECT er.event_id AS id,"
    "  sum(r.status = 'verified') AS n_verified,"
    "  sum(r.status != 'rejected') AS n_ok"
    "  FROM event_reports er JOIN reports r ON r.id = er.report_id"
    "  GROUP BY er.event_id) v"
    " JOIN events e ON e.id = v.id"
    " LEFT JOIN event_excerpts x ON x.event_id = e.id"
    " WHERE v.n_verified > 0 AND e.category IS NOT NULL AND e.t_end IS NOT NULL"
    " AND e.lat IS NOT NULL";

/* The arena a row is decoded into is reset every this many rows. */
#define SOURCES_ARENA_CAP ((size_t)1 << 20)

sl_err sq_pub_sources(sl_store *base, sl_pub_source_visit visit, void *ud)
{
	sqlite_store *s = (sqlite_store *)base;
	sl_arena *a = sl_arena_new(SOURCES_ARENA_CAP);
	if (!a)
		return SL_ENOMEM;
	sqlite3_stmt *st;
	pthread_mutex_lock(&s->rlock);
	sqlite3_exec(s->rdb, "BEGIN", NULL, NULL, NULL);
	sl_err err = sq_prepare_once(s->rdb, sql_sources, &st);
	int rc = SQLITE_DONE;
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		sl_arena_reset(a);
		sl_pub_source src = {0};
		src.id = sqlite3_column_int64(st, 0);
		if (!sl_category_from_name((const char *)sqlite3_column_text(st, 1),
					   &src.category)) {
			err = SL_ESTORE;
			break;
		}
		src.t_start = sqlite3_column_int64(st, 2);
		src.t_end = sqlite3_column_int64(st, 3);
		src.lat = sqlite3_column_double(st, 4);
		src.lon = sqlite3_column_double(st, 5);
		src.uncertainty_m = sqlite3_column_double(st, 6);
		src.has_heading = sqlite3_column_type(st, 7) != SQLITE_NULL;
		src.heading_deg = sqlite3_column_double(st, 7);
		src.confidence = sqlite3_column_double(st, 8);
		const char *eq = (const char *)sqlite3_column_text(st, 9);
		if (eq) {
			if ((err = store_items_parse(eq, a, &src.items, &src.n_items)))
				break;
		}
		src.n_verified = sqlite3_column_int64(st, 10);
		src.n_independent = sqlite3_column_int64(st, 11);
		src.excerpt = (const char *)sqlite3_column_text(st, 12);
		src.has_photo = sqlite3_column_int(st, 13) != 0;
		if ((err = visit(ud, &src)))
			break;
	}
	if (!err && rc != SQLITE_DONE)
		err = sq_fail(s->rdb, "read publishable events");
	if (st)
		sqlite3_finalize(st);
	sqlite3_exec(s->rdb, "COMMIT", NULL, NULL, NULL);
	pthread_mutex_unlock(&s->rlock);
	sl_arena_free(a);
	if (err == SL_ESTORE)
		fprintf(stderr, LOG_PREFIX "publication: malformed event row\n");
	return err;
}

sl_err sq_pub_fingerprint(sl_store *base, sl_pub_fingerprint *out)
{
	sqlite_store *s = (sqlite_store *)base;
	memset(out, 0, sizeof(*out));
	sqlite3_stmt *st;
	pthread_mutex_lock(&s->rlock);
	sl_err err = sq_prepare_once(
	    s->rdb,
	    "SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'changes'), "
	    "0),"
	    " (SELECT count(*) FROM events),"
	    " (SELECT coalesce(max(updated_at), 0) FROM events),"
	    " (SELECT coalesce(max(approved_at), 0) + count(*) FROM event_excerpts)"
	    " + (SELECT coalesce(max(approved_at), 0) + count(*) FROM event_photos),"
	    " coalesce((SELECT CAST(value AS INTEGER) FROM meta"
	    "  WHERE key = 'engine.last_change'), 0)",
	    &st);
	if (!err) {
		if (sqlite3_step(st) == SQLITE_ROW) {
			out->change_seq = sqlite3_column_int64(st, 0);
			out->n_events = sqlite3_column_int64(st, 1);
			out->events_updated = sqlite3_column_int64(st, 2);
			out->excerpts_updated = sqlite3_column_int64(st, 3);
			out->engine_change = sqlite3_column_int64(st, 4);
		} else {
			err = sq_fail(s->rdb, "publication fingerprint");
		}
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&s->rlock);
	return err;
}

sl_err sq_pub_setting_get(sl_store *base, const char *key, char **out)
{
	sqlite_store *s = (sqlite_store *)base;
	sqlite3_stmt *st;
	*out = NULL;
	pthread_mutex_lock(&s->rlock);
	sl_err err = sq_prepare_once(
	    s->rdb, "SELECT value FROM publish_settings WHERE key = ?1", &st);
	if (!err) {
		sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
		int rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			const char *v = (const char *)sqlite3_column_text(st, 0);
			*out = v ? strdup(v) : NULL;
			if (!*out)
				err = SL_ENOMEM;
		} else if (rc == SQLITE_DONE) {
			err = SL_ENOTFOUND;
		} else {
			err = sq_fail(s->rdb, "read publication setting");
		}
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&s->rlock);
	return err;
}

typedef struct setting_args {
	const char *key, *value;
	int64_t by, now;
} setting_args;

static sl_err setting_body(sqlite_store *s, void *ud)
{
	setting_args *a = ud;
	sqlite3_stmt *st;
	sl_err err = sq_prepare_once(
	    s->wdb,
	    "INSERT INTO publish_settings (key, value, updated_at, updated_by)"
	    " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (key) DO UPDATE SET"
	    " value = excluded.value, updated_at = excluded.updated_at,"
	    " updated_by = excluded.updated_by",
	    &st);
	if (err)
		return err;
	sqlite3_bind_text(st, 1, a->key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, a->value, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, a->now);
	if (a->by)
		sqlite3_bind_int64(st, 4, a->by);
	if (sqlite3_step(st) != SQLITE_DONE)
		err = sq_fail(s->wdb, "write publication setting");
	sqlite3_finalize(st);
	return err;
}

sl_err sq_pub_setting_set(sl_store *base, const char *key, const char *value,
			  int64_t moderator_id, int64_t now)
{
	setting_args a = {key, value, moderator_id, now};
	return sq_in_write_tx((sqlite_store *)base, setting_body, &a);
}

/* SL_OK when event id is in the store, SL_ENOTFOUND when not. */
static sl_err event_exists(sqlite_store *s, int64_t id)
{
	sqlite3_stmt *st;
	sl_err err = sq_prepare_once(s->wdb, "SELECT 1 FROM events WHERE id = ?1", &st);
	if (err)
		return err;
	sqlite3_bind_int64(st, 1, id);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE)
		return SL_ENOTFOUND;
	return rc == SQLITE_ROW ? SL_OK : sq_fail(s->wdb, "look up event");
}

typedef struct excerpt_args {
	int64_t event_id;
	const char *text;
	int64_t by, now;
} excerpt_args;

static sl_err excerpt_body(sqlite_store *s, void *ud)
{
	excerpt_args *a = ud;
	sqlite3_stmt *st;
	sl_err err = event_exists(s, a->event_id);
	if (err)
		return err;
	if (!a->text) {
		err = sq_prepare_once(
		    s->wdb, "DELETE FROM event_excerpts WHERE event_id = ?1", &st);
		if (err)
			return err;
		sqlite3_bind_int64(st, 1, a->event_id);
	} else {
		err = sq_prepare_once(
		    s->wdb,
		    "INSERT INTO event_excerpts (event_id, text, approved_by, "
		    "approved_at)"
		    " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (event_id) DO UPDATE SET"
		    " text = excluded.text, approved_by = excluded.approved_by,"
		    " approved_at = excluded.approved_at",
		    &st);
		if (err)
			return err;
		sqlite3_bind_int64(st, 1, a->event_id);
		sqlite3_bind_text(st, 2, a->text, -1, SQLITE_STATIC);
		if (a->by)
			sqlite3_bind_int64(st, 3, a->by);
		sqlite3_bind_int64(st, 4, a->now);
	}
	if (sqlite3_step(st) != SQLITE_DONE)
		err = sq_fail(s->wdb, "write excerpt");
	sqlite3_finalize(st);
	return err;
}

sl_err sq_excerpt_set(sl_store *base, int64_t event_id, const char *text,
		      int64_t moderator_id, int64_t now)
{
	excerpt_args a = {event_id, text, moderator_id, now};
	return sq_in_write_tx((sqlite_store *)base, excerpt_body, &a);
}

typedef struct photo_args {
	int64_t event_id;
	const uint8_t *jpeg;
	size_t len;
	int64_t by, now;
} photo_args;

static sl_err photo_body(sqlite_store *s, void *ud)
{
	photo_args *a = ud;
	sqlite3_stmt *st;
	sl_err err = event_exists(s, a->event_id);
	if (err)
		return err;
	err = sq_prepare_once(
	    s->wdb,
	    a->jpeg ? "INSERT INTO event_photos (event_id, jpeg, approved_by,"
		      " approved_at) VALUES (?1, ?2, ?3, ?4)"
		      " ON CONFLICT (event_id) DO UPDATE SET jpeg = excluded.jpeg,"
		      " approved_by = excluded.approved_by,"
		      " approved_at = excluded.approved_at"
		    : "DELETE FROM event_photos WHERE event_id = ?1",
	    &st);
	if (err)
		return err;
	sqlite3_bind_int64(st, 1, a->event_id);
	if (a->jpeg) {
		sqlite3_bind_blob(st, 2, a->jpeg, (int)a->len, SQLITE_STATIC);
		if (a->by)
			sqlite3_bind_int64(st, 3, a->by);
		sqlite3_bind_int64(st, 4, a->now);
	}
	if (sqlite3_step(st) != SQLITE_DONE)
		err = sq_fail(s->wdb, "write photo");
	sqlite3_finalize(st);
	return err;
}

sl_err sq_photo_set(sl_store *base, int64_t event_id, const uint8_t *jpeg, size_t len,
		    int64_t moderator_id, int64_t now)
{
	photo_args a = {event_id, jpeg, len, moderator_id, now};
	return sq_in_write_tx((sqlite_store *)base, photo_body, &a);
}

sl_err sq_photo_get(sl_store *base, int64_t event_id, uint8_t **out, size_t *len)
{
	sqlite_store *s = (sqlite_store *)base;
	*out = NULL;
	*len = 0;
	sqlite3_stmt *st;
	pthread_mutex_lock(&s->rlock);
	sl_err err = sq_prepare_once(
	    s->rdb, "SELECT jpeg FROM event_photos WHERE event_id = ?1", &st);
	if (!err) {
		sqlite3_bind_int64(st, 1, event_id);
		int rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			size_t n = (size_t)sqlite3_column_bytes(st, 0);
			const void *b = sqlite3_column_blob(st, 0);
			*out = n ? malloc(n) : NULL;
			if (!*out)
				err = SL_ENOMEM;
			else {
				memcpy(*out, b, n);
				*len = n;
			}
		} else if (rc == SQLITE_DONE) {
			err = SL_ENOTFOUND;
		} else {
			err = sq_fail(s->rdb, "read photo");
		}
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&s->rlock);
	return err;
}

/* ---- webhooks ---- */

static sl_err webhook_add_body(sqlite_store *s, void *ud)
{
	sl_webhook *w = ud;
	sqlite3_stmt *st;
	sl_err err =
	    sq_prepare_once(s->wdb,
			    "INSERT INTO webhooks (url, secret, created_at, created_by)"
			    " VALUES (?1, ?2, ?3, ?4) RETURNING id",
			    &st);
	if (err)
		return err;
	sqlite3_bind_text(st, 1, w->url, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, w->secret, sizeof(w->secret), SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, w->created_at);
	if (w->created_by)
		sqlite3_bind_int64(st, 4, w->created_by);
	if (sqlite3_step(st) == SQLITE_ROW)
		w->id = sqlite3_column_int64(st, 0);
	else
		err = sq_fail(s->wdb, "add webhook");
	sqlite3_finalize(st);
	return err;
}

sl_err sq_webhook_add(sl_store *base, sl_webhook *w)
{
	return sq_in_write_tx((sqlite_store *)base, webhook_add_body, w);
}

sl_err sq_webhooks(sl_store *base, bool all, sl_webhook **out, size_t *n)
{
	sqlite_store *s = (sqlite_store *)base;
	*out = NULL;
	*n = 0;
	sqlite3_stmt *st;
	size_t cap = 0;
	pthread_mutex_lock(&s->rlock);
	sl_err err = sq_prepare_once(
	    s->rdb,
	    "SELECT w.id, w.url, w.secret, w.created_at, coalesce(w.created_by, 0),"
	    " coalesce(w.removed_at, 0),"
	    " (SELECT count(*) FROM webhook_outbox o WHERE o.webhook_id = w.id"
	    "  AND o.next_at IS NOT NULL),"
	    " (SELECT count(*) FROM webhook_outbox o WHERE o.webhook_id = w.id"
	    "  AND o.next_at IS NULL)"
	    " FROM webhooks w WHERE ?1 OR w.removed_at IS NULL ORDER BY w.id",
	    &st);
	int rc = SQLITE_DONE;
	if (!err) {
		sqlite3_bind_int(st, 1, all);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			if (*n == cap) {
				size_t ncap = cap ? cap * 2 : 8;
				sl_webhook *g = realloc(*out, ncap * sizeof(*g));
				if (!g) {
					err = SL_ENOMEM;
					break;
				}
				*out = g;
				cap = ncap;
			}
			sl_webhook *w = &(*out)[*n];
			memset(w, 0, sizeof(*w));
			w->id = sqlite3_column_int64(st, 0);
			snprintf(w->url, sizeof(w->url), "%s",
				 (const char *)sqlite3_column_text(st, 1));
			if (sqlite3_column_bytes(st, 2) == (int)sizeof(w->secret))
				memcpy(w->secret, sqlite3_column_blob(st, 2),
				       sizeof(w->secret));
			w->created_at = sqlite3_column_int64(st, 3);
			w->created_by = sqlite3_column_int64(st, 4);
			w->removed_at = sqlite3_column_int64(st, 5);
			w->pending = sqlite3_column_int64(st, 6);
			w->failed = sqlite3_column_int64(st, 7);
			(*n)++;
		}
		if (!err && rc != SQLITE_DONE)
			err = sq_fail(s->rdb, "list webhooks");
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&s->rlock);
	if (err) {
		if (*out)
			sodium_memzero(*out, cap * sizeof(**out));
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return err;
}

typedef struct remove_args {
	int64_t id, now;
} remove_args;

static sl_err webhook_remove_body(sqlite_store *s, void *ud)
{
	remove_args *a = ud;
	sqlite3_stmt *st;
	sl_err err = sq_prepare_once(s->wdb,
				     "UPDATE webhooks SET removed_at = ?2 WHERE id = ?1"
				     " AND removed_at IS NULL",
				     &st);
	if (err)
		return err;
	sqlite3_bind_int64(st, 1, a->id);
	sqlite3_bind_int64(st, 2, a->now);
	if ((err = sq_change_rows(s, st, "remove webhook")))
		return err;
	if ((err = sq_prepare_once(
		 s->wdb, "DELETE FROM webhook_outbox WHERE webhook_id = ?1", &st)))
		return err;
	sqlite3_bind_int64(st, 1, a->id);
	if (sqlite3_step(st) != SQLITE_DONE)
		err = sq_fail(s->wdb, "drop deliveries");
	sqlite3_finalize(st);
	return err;
}

sl_err sq_webhook_remove(sl_store *base, int64_t id, int64_t now)
{
	remove_args a = {id, now};
	return sq_in_write_tx((sqlite_store *)base, webhook_remove_body, &a);
}

/* ---- the publication log ---- */

static const char *const kind_names[] = {"publish", "update", "withdraw"};

typedef struct record_args {
	const sl_pub_record *recs;
	size_t n;
	int64_t now;
} record_args;

/* The kind record r has as published_events holds it (prev: its hash
 * there, or NULL): a publish of an event already published is an update,
 * an update of one that is not, a publish; -1 when it is there already
 * (the same hash; a withdrawal of what is not published), so that servers
 * sharing the file record each change once. */
static int recorded_kind(const sl_pub_record *r, const void *prev, int prev_len)
{
	if (r->kind == SL_PUB_WITHDRAW)
		return prev ? SL_PUB_WITHDRAW : -1;
	if (!prev)
		return SL_PUB_PUBLISH;
	if (prev_len == (int)sizeof(r->hash) && memcmp(prev, r->hash, sizeof(r->hash)) == 0)
		return -1;
	return SL_PUB_UPDATE;
}

static sl_err record_body(sqlite_store *s, void *ud)
{
	record_args *a = ud;
	sqlite3_stmt *prev = NULL, *log = NULL, *keep = NULL, *drop = NULL, *queue = NULL;
	sl_err err = sq_prepare_once(
	    s->wdb, "SELECT hash FROM published_events WHERE event_id = ?1", &prev);
	if (!err)
		err = sq_prepare_once(s->wdb,
				      "INSERT INTO publications (event_id, kind, at, doc)"
				      " VALUES (?1, ?2, ?3, ?4) RETURNING seq",
				      &log);
	if (!err)
		err = sq_prepare_once(
		    s->wdb,
		    "INSERT INTO published_events (event_id, hash, first_at, updated_at)"
		    " VALUES (?1, ?2, ?3, ?3) ON CONFLICT (event_id) DO UPDATE SET"
		    " hash = excluded.hash, updated_at = excluded.updated_at",
		    &keep);
	if (!err)
		err = sq_prepare_once(
		    s->wdb, "DELETE FROM published_events WHERE event_id = ?1", &drop);
	if (!err)
		err = sq_prepare_once(
		    s->wdb,
		    "INSERT INTO webhook_outbox (webhook_id, seq, next_at)"
		    " SELECT id, ?1, ?2 FROM webhooks WHERE removed_at IS NULL",
		    &queue);
	for (size_t i = 0; i < a->n && !err; i++) {
		const sl_pub_record *r = &a->recs[i];
		sqlite3_bind_int64(prev, 1, r->event_id);
		int rc = sqlite3_step(prev);
		int kind = rc == SQLITE_ROW ? recorded_kind(r, sqlite3_column_blob(prev, 0),
							     sqlite3_column_bytes(prev, 0))
					    : recorded_kind(r, NULL, 0);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			err = sq_fail(s->wdb, "read published event");
		sq_done_with(prev);
		if (err)
			break;
		if (kind < 0)
			continue;
		sqlite3_bind_int64(log, 1, r->event_id);
		sqlite3_bind_text(log, 2, kind_names[kind], -1, SQLITE_STATIC);
		sqlite3_bind_int64(log, 3, a->now);
		sqlite3_bind_text(log, 4, r->doc, -1, SQLITE_STATIC);
		int64_t seq = 0;
		if (sqlite3_step(log) == SQLITE_ROW)
			seq = sqlite3_column_int64(log, 0);
		else
			err = sq_fail(s->wdb, "log publication");
		sq_done_with(log);
		if (err)
			break;
		sqlite3_stmt *st = kind == SL_PUB_WITHDRAW ? drop : keep;
		sqlite3_bind_int64(st, 1, r->event_id);
		if (st == keep) {
			sqlite3_bind_blob(st, 2, r->hash, sizeof(r->hash), SQLITE_STATIC);
			sqlite3_bind_int64(st, 3, a->now);
		}
		if ((err = sq_run(s->wdb, st, "keep published")))
			break;
		sqlite3_bind_int64(queue, 1, seq);
		sqlite3_bind_int64(queue, 2, a->now * 1000); /* due now, in ms */
		err = sq_run(s->wdb, queue, "queue deliveries");
	}
	sqlite3_finalize(prev);
	sqlite3_finalize(log);
	sqlite3_finalize(keep);
	sqlite3_finalize(drop);
	sqlite3_finalize(queue);
	return err;
}

sl_err sq_pub_record(sl_store *base, const sl_pub_record *recs, size_t n, int64_t now)
{
	record_args a = {recs, n, now};
	return sq_in_write_tx((sqlite_store *)base, record_body, &a);
}

sl_err sq_pub_state(sl_store *base, sl_pub_state_visit visit, void *ud)
{
	sqlite_store *s = (sqlite_store *)base;
	sqlite3_stmt *st;
	pthread_mutex_lock(&s->rlock);
	sl_err err =
	    sq_prepare_once(s->rdb, "SELECT event_id, hash FROM published_events", &st);
	int rc = SQLITE_DONE;
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		uint8_t hash[16] = {0};
		if (sqlite3_column_bytes(st, 1) == (int)sizeof(hash))
			memcpy(hash, sqlite3_column_blob(st, 1), sizeof(hash));
		err = visit(ud, sqlite3_column_int64(st, 0), hash);
	}
	if (!err && rc != SQLITE_DONE)
		err = sq_fail(s->rdb, "read published events");
	if (st)
		sqlite3_finalize(st);
	pthread_mutex_unlock(&s->rlock);
	return err;
}

typedef struct due_args {
	int64_t now;
	size_t max;
	sl_arena *a;
	sl_delivery *list;
	size_t n;
} due_args;

/* Reads the due deliveries and leases them, in the write transaction, so
 * that two processes sharing the file never take the same one. */
static sl_err due_body(sqlite_store *s, void *ud)
{
	due_args *x = ud;
	sqlite3_stmt *st, *lease = NULL;
	sl_err err = sq_prepare_once(
	    s->wdb,
	    "SELECT o.webhook_id, o.seq, o.attempts, p.kind, p.at, w.url, w.secret, p.doc"
	    " FROM webhook_outbox o JOIN publications p ON p.seq = o.seq"
	    " JOIN webhooks w ON w.id = o.webhook_id"
	    " WHERE o.next_at IS NOT NULL AND o.next_at <= ?1 AND w.removed_at IS NULL"
	    " ORDER BY o.next_at, o.seq LIMIT ?2",
	    &st);
	if (err)
		return err;
	sqlite3_bind_int64(st, 1, x->now);
	sqlite3_bind_int64(st, 2, (int64_t)x->max);
	int rc;
	while (x->n < x->max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		sl_delivery *d = &x->list[x->n];
		d->webhook_id = sqlite3_column_int64(st, 0);
		d->seq = sqlite3_column_int64(st, 1);
		d->attempts = sqlite3_column_int(st, 2);
		const char *k = (const char *)sqlite3_column_text(st, 3);
		d->kind = k && strcmp(k, "update") == 0	    ? SL_PUB_UPDATE
			  : k && strcmp(k, "withdraw") == 0 ? SL_PUB_WITHDRAW
							    : SL_PUB_PUBLISH;
		d->at = sqlite3_column_int64(st, 4);
		if (sqlite3_column_bytes(st, 6) == (int)sizeof(d->secret))
			memcpy(d->secret, sqlite3_column_blob(st, 6), sizeof(d->secret));
		if ((err = sq_column_str(st, 5, x->a, &d->url)) ||
		    (err = sq_column_str(st, 7, x->a, &d->doc)))
			break;
		x->n++;
	}
	if (!err && rc != SQLITE_DONE && rc != SQLITE_ROW)
		err = sq_fail(s->wdb, "read deliveries");
	sqlite3_finalize(st);
	if (!err && x->n)
		err = sq_prepare_once(s->wdb,
				      "UPDATE webhook_outbox SET next_at = ?3"
				      " WHERE webhook_id = ?1 AND seq = ?2",
				      &lease);
	for (size_t i = 0; i < x->n && !err; i++) {
		sqlite3_bind_int64(lease, 1, x->list[i].webhook_id);
		sqlite3_bind_int64(lease, 2, x->list[i].seq);
		sqlite3_bind_int64(lease, 3, x->now + SL_DELIVERY_LEASE_MS);
		err = sq_run(s->wdb, lease, "lease delivery");
	}
	sqlite3_finalize(lease);
	return err;
}

sl_err sq_deliveries_due(sl_store *base, int64_t now, size_t max, sl_arena *a,
			 sl_delivery **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	due_args x = {now, max, a, sl_arena_alloc(a, (max ? max : 1) * sizeof(sl_delivery)),
		      0};
	if (!x.list)
		return SL_ENOMEM;
	sl_err err = max ? sq_in_write_tx((sqlite_store *)base, due_body, &x) : SL_OK;
	if (!err) {
		*out = x.list;
		*n = x.n;
	}
	return err;
}

typedef struct result_args {
	int64_t webhook_id, seq;
	bool done;
	int attempts;
	int64_t next_at;
	int status;
} result_args;

static sl_err result_body(sqlite_store *s, void *ud)
{
	result_args *a = ud;
	sqlite3_stmt *st;
	sl_err err;
	if (a->done) {
		err = sq_prepare_once(
		    s->wdb,
		    "DELETE FROM webhook_outbox WHERE webhook_id = ?1 AND seq = ?2", &st);
	} else {
		err = sq_prepare_once(
		    s->wdb,
		    "UPDATE webhook_outbox SET attempts = ?3, next_at = ?4,"
		    " last_status = ?5 WHERE webhook_id = ?1 AND seq = ?2",
		    &st);
	}
	if (err)
		return err;
	sqlite3_bind_int64(st, 1, a->webhook_id);
	sqlite3_bind_int64(st, 2, a->seq);
	if (!a->done) {
		sqlite3_bind_int(st, 3, a->attempts);
		if (a->next_at)
			sqlite3_bind_int64(st, 4, a->next_at);
		if (a->status)
			sqlite3_bind_int(st, 5, a->status);
	}
	if (sqlite3_step(st) != SQLITE_DONE)
		err = sq_fail(s->wdb, "delivery result");
	sqlite3_finalize(st);
	return err;
}

sl_err sq_delivery_result(sl_store *base, int64_t webhook_id, int64_t seq, bool done,
			  int attempts, int64_t next_at, int status)
{
	result_args a = {webhook_id, seq, done, attempts, next_at, status};
	return sq_in_write_tx((sqlite_store *)base, result_body, &a);
}
