/*
 * postgres_publish.c — what publication keeps and reads in the PostgreSQL
 * backend (docs/PUBLISH.md, docs/STORE.md), as sqlite_publish.c does.
 *
 * Several servers may publish from one database: each builds its own
 * picture (its feeds, its CoT clients), and each may record what changed.
 * So that a change is logged and delivered once, a record is written only
 * where published_events does not already say it (under PG_LOCK_WRITE:
 * the first server to record it wins, the others' records of it are
 * no-ops), and a delivery is leased to the server that takes it.
 */
#include "store/postgres_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

static pg_stmt st_sources = PG_STMT(
    "SELECT e.id, e.category, e.t_start, e.t_end, e.lat, e.lon, e.uncertainty_m,"
    " e.heading_deg, e.confidence, e.equipment, v.n_verified, v.n_ok, x.text,"
    " EXISTS (SELECT 1 FROM event_photos p WHERE p.event_id = e.id)"
    " FROM (SELECT er.event_id AS id,"
    "  count(*) FILTER (WHERE r.status = 'verified') AS n_verified,"
    "  count(*) FILTER (WHERE r.status <> 'rejected') AS n_ok"
    "  FROM event_reports er JOIN reports r ON r.id = er.report_id"
    "  GROUP BY er.event_id) v"
    " JOIN events e ON e.id = v.id"
    " LEFT JOIN event_excerpts x ON x.event_id = e.id"
    " WHERE v.n_verified > 0 AND e.category IS NOT NULL AND e.t_end IS NOT NULL"
    " AND e.lat IS NOT NULL");

/* The arena a row is decoded into is reset every row. */
#define SOURCES_ARENA_CAP ((size_t)1 << 20)

/* One statement is one snapshot: counts and estimates agree. The rows
 * are visited after the connection is back in the pool. */
sl_err pg_pub_sources(sl_store *base, sl_pub_source_visit visit, void *ud)
{
	pg_store *s = (pg_store *)base;
	sl_arena *a = sl_arena_new(SOURCES_ARENA_CAP);
	if (!a)
		return SL_ENOMEM;
	sl_err err;
	PGresult *r = pg_query(s, &st_sources, NULL, "read publishable events", &err);
	for (int i = 0; r && i < PQntuples(r) && !err; i++) {
		sl_arena_reset(a);
		sl_pub_source src = {0};
		src.id = pg_i64(r, i, 0);
		if (!sl_category_from_name(PQgetvalue(r, i, 1), &src.category)) {
			err = SL_ESTORE;
			break;
		}
		src.t_start = pg_i64(r, i, 2);
		src.t_end = pg_i64(r, i, 3);
		src.lat = pg_f64(r, i, 4);
		src.lon = pg_f64(r, i, 5);
		src.uncertainty_m = pg_f64(r, i, 6);
		src.has_heading = !pg_isnull(r, i, 7);
		src.heading_deg = pg_f64(r, i, 7);
		src.confidence = pg_f64(r, i, 8);
		if (!pg_isnull(r, i, 9)) {
			if ((err = store_items_parse(PQgetvalue(r, i, 9), a, &src.items,
						     &src.n_items)))
				break;
		}
		src.n_verified = pg_i64(r, i, 10);
		src.n_independent = pg_i64(r, i, 11);
		src.excerpt = pg_isnull(r, i, 12) ? NULL : PQgetvalue(r, i, 12);
		src.has_photo = pg_bool(r, i, 13);
		err = visit(ud, &src);
	}
	PQclear(r);
	sl_arena_free(a);
	if (err == SL_ESTORE)
		fprintf(stderr, PG_LOG "publication: malformed event row\n");
	return err;
}

/* change_seq is the newest change ever committed: the engine deletes the
 * changes it has read, and its mark is the newest of those. */
static pg_stmt st_fingerprint = PG_STMT(
    "SELECT greatest(coalesce((SELECT max(seq) FROM changes), 0), m.v),"
    " (SELECT count(*) FROM events),"
    " (SELECT coalesce(max(updated_at), 0) FROM events),"
    " (SELECT coalesce(max(approved_at), 0) + count(*) FROM event_excerpts)"
    " + (SELECT coalesce(max(approved_at), 0) + count(*) FROM event_photos),"
    " m.v"
    " FROM (SELECT coalesce((SELECT value::bigint FROM meta"
    "  WHERE key = 'engine.last_change'), 0) AS v) m");

sl_err pg_pub_fingerprint(sl_store *base, sl_pub_fingerprint *out)
{
	pg_store *s = (pg_store *)base;
	memset(out, 0, sizeof(*out));
	sl_err err;
	PGresult *r = pg_query(s, &st_fingerprint, NULL, "publication fingerprint", &err);
	if (r) {
		out->change_seq = pg_i64(r, 0, 0);
		out->n_events = pg_i64(r, 0, 1);
		out->events_updated = pg_i64(r, 0, 2);
		out->excerpts_updated = pg_i64(r, 0, 3);
		out->engine_change = pg_i64(r, 0, 4);
	}
	PQclear(r);
	return err;
}

static pg_stmt st_setting_get = PG_STMT("SELECT value FROM publish_settings WHERE key = $1");

sl_err pg_pub_setting_get(sl_store *base, const char *key, char **out)
{
	pg_store *s = (pg_store *)base;
	*out = NULL;
	pg_params p = {0};
	pp_text(&p, key);
	sl_err err;
	PGresult *r = pg_query(s, &st_setting_get, &p, "read publication setting", &err);
	if (r && PQntuples(r) == 0)
		err = SL_ENOTFOUND;
	else if (r && !(*out = strdup(PQgetvalue(r, 0, 0))))
		err = SL_ENOMEM;
	PQclear(r);
	return err;
}

static pg_stmt st_setting_set = PG_STMT(
    "INSERT INTO publish_settings (key, value, updated_at, updated_by)"
    " VALUES ($1, $2, $3, $4) ON CONFLICT (key) DO UPDATE SET"
    " value = excluded.value, updated_at = excluded.updated_at,"
    " updated_by = excluded.updated_by");

/* One statement, bound in p, in its own write transaction; SL_ENOTFOUND
 * when must_change and it touched no row. */
typedef struct write_args {
	pg_stmt *st;
	pg_params p;
	const char *what;
	bool must_change;
	pg_stmt *then; /* a second statement with the same first parameter */
} write_args;

static sl_err write_body(pg_store *s, pg_conn *c, void *ud)
{
	(void)s;
	write_args *a = ud;
	sl_err err = a->must_change ? pg_change(c, a->st, &a->p, a->what)
				    : pg_do(c, a->st, &a->p, a->what, NULL);
	if (!err && a->then) {
		pg_params q = {0};
		pp_text(&q, a->p.v[0]);
		err = pg_do(c, a->then, &q, a->what, NULL);
	}
	return err;
}

sl_err pg_pub_setting_set(sl_store *base, const char *key, const char *value,
			  int64_t moderator_id, int64_t now)
{
	write_args a = {.st = &st_setting_set, .what = "write publication setting"};
	pp_text(&a.p, key);
	pp_text(&a.p, value);
	pp_i64(&a.p, now);
	pp_id(&a.p, moderator_id);
	return pg_in_tx((pg_store *)base, PG_LOCK_WRITE, write_body, &a);
}

static pg_stmt st_excerpt_delete = PG_STMT("DELETE FROM event_excerpts WHERE event_id = $1");
static pg_stmt st_excerpt_set = PG_STMT(
    "INSERT INTO event_excerpts (event_id, text, approved_by, approved_at)"
    " SELECT id, $2::text, $3::bigint, $4::bigint FROM events WHERE id = $1::bigint"
    " ON CONFLICT (event_id) DO UPDATE SET text = excluded.text,"
    " approved_by = excluded.approved_by, approved_at = excluded.approved_at");
static pg_stmt st_event_exists = PG_STMT("SELECT 1 FROM events WHERE id = $1");

/* SL_OK when event id is in the store, SL_ENOTFOUND when not. */
static sl_err event_exists(pg_conn *c, int64_t id)
{
	pg_params e = {0};
	pp_i64(&e, id);
	sl_err err;
	PGresult *r = pg_run(c, &st_event_exists, &e, "look up event", &err);
	if (r && PQntuples(r) == 0)
		err = SL_ENOTFOUND;
	PQclear(r);
	return err;
}

typedef struct excerpt_args {
	int64_t event_id;
	const char *text;
	int64_t by, now;
} excerpt_args;

static sl_err excerpt_body(pg_store *s, pg_conn *c, void *ud)
{
	(void)s;
	excerpt_args *a = ud;
	sl_err err = event_exists(c, a->event_id);
	if (err)
		return err;
	pg_params p = {0};
	pp_i64(&p, a->event_id);
	if (!a->text)
		return pg_do(c, &st_excerpt_delete, &p, "write excerpt", NULL);
	pp_text(&p, a->text);
	pp_id(&p, a->by);
	pp_i64(&p, a->now);
	return pg_do(c, &st_excerpt_set, &p, "write excerpt", NULL);
}

sl_err pg_excerpt_set(sl_store *base, int64_t event_id, const char *text, int64_t moderator_id,
		      int64_t now)
{
	excerpt_args a = {event_id, text, moderator_id, now};
	return pg_in_tx((pg_store *)base, PG_LOCK_WRITE, excerpt_body, &a);
}

/* ---- photos approved for the public ---- */

static pg_stmt st_photo_delete = PG_STMT("DELETE FROM event_photos WHERE event_id = $1");
static pg_stmt st_photo_set = PG_STMT(
    "INSERT INTO event_photos (event_id, jpeg, approved_by, approved_at)"
    " VALUES ($1, $2, $3, $4) ON CONFLICT (event_id) DO UPDATE SET jpeg = excluded.jpeg,"
    " approved_by = excluded.approved_by, approved_at = excluded.approved_at");
static pg_stmt st_photo_get = PG_STMT("SELECT jpeg FROM event_photos WHERE event_id = $1");

typedef struct photo_args {
	int64_t event_id;
	const uint8_t *jpeg;
	size_t len;
	int64_t by, now;
} photo_args;

static sl_err photo_body(pg_store *s, pg_conn *c, void *ud)
{
	(void)s;
	photo_args *a = ud;
	sl_err err = event_exists(c, a->event_id);
	if (err)
		return err;
	pg_params p = {0};
	pp_i64(&p, a->event_id);
	if (!a->jpeg)
		return pg_do(c, &st_photo_delete, &p, "withdraw photo", NULL);
	pp_bytes(&p, a->jpeg, a->len);
	pp_id(&p, a->by);
	pp_i64(&p, a->now);
	return pg_do(c, &st_photo_set, &p, "write photo", NULL);
}

sl_err pg_photo_set(sl_store *base, int64_t event_id, const uint8_t *jpeg, size_t len,
		    int64_t moderator_id, int64_t now)
{
	photo_args a = {event_id, jpeg, len, moderator_id, now};
	return pg_in_tx((pg_store *)base, PG_LOCK_WRITE, photo_body, &a);
}

sl_err pg_photo_get(sl_store *base, int64_t event_id, uint8_t **out, size_t *len)
{
	pg_store *s = (pg_store *)base;
	*out = NULL;
	*len = 0;
	pg_params p = {0};
	pp_i64(&p, event_id);
	sl_err err;
	PGresult *r = pg_query(s, &st_photo_get, &p, "read photo", &err);
	if (r && PQntuples(r) == 0)
		err = SL_ENOTFOUND;
	else if (r) {
		size_t n = 0;
		unsigned char *b = PQunescapeBytea((const unsigned char *)PQgetvalue(r, 0, 0), &n);
		if (!b)
			err = SL_ENOMEM;
		else if (!n || !(*out = malloc(n)))
			err = n ? SL_ENOMEM : SL_ESTORE;
		else {
			memcpy(*out, b, n);
			*len = n;
		}
		PQfreemem(b);
	}
	PQclear(r);
	return err;
}

/* ---- webhooks ---- */

static pg_stmt st_webhook_add =
    PG_STMT("INSERT INTO webhooks (url, secret, created_at, created_by)"
	    " VALUES ($1, $2, $3, $4) RETURNING id");

static sl_err webhook_add_body(pg_store *s, pg_conn *c, void *ud)
{
	(void)s;
	sl_webhook *w = ud;
	pg_params p = {0};
	pp_text(&p, w->url);
	pp_bytes(&p, w->secret, sizeof(w->secret));
	pp_i64(&p, w->created_at);
	pp_id(&p, w->created_by);
	sl_err err;
	PGresult *r = pg_run(c, &st_webhook_add, &p, "add webhook", &err);
	if (r)
		w->id = pg_i64(r, 0, 0);
	PQclear(r);
	return err;
}

sl_err pg_webhook_add(sl_store *base, sl_webhook *w)
{
	return pg_in_tx((pg_store *)base, PG_LOCK_WRITE, webhook_add_body, w);
}

static pg_stmt st_webhooks = PG_STMT(
    "SELECT w.id, w.url, w.secret, w.created_at, coalesce(w.created_by, 0),"
    " coalesce(w.removed_at, 0),"
    " (SELECT count(*) FROM webhook_outbox o WHERE o.webhook_id = w.id"
    "  AND o.next_at IS NOT NULL),"
    " (SELECT count(*) FROM webhook_outbox o WHERE o.webhook_id = w.id"
    "  AND o.next_at IS NULL)"
    " FROM webhooks w WHERE $1::boolean OR w.removed_at IS NULL ORDER BY w.id");

sl_err pg_webhooks(sl_store *base, bool all, sl_webhook **out, size_t *n)
{
	pg_store *s = (pg_store *)base;
	*out = NULL;
	*n = 0;
	pg_params p = {0};
	pp_bool(&p, all);
	sl_err err;
	PGresult *r = pg_query(s, &st_webhooks, &p, "list webhooks", &err);
	if (!r)
		return err;
	size_t rows = (size_t)PQntuples(r);
	if (rows && !(*out = calloc(rows, sizeof(**out))))
		err = SL_ENOMEM;
	for (size_t i = 0; i < rows && !err; i++) {
		sl_webhook *w = &(*out)[i];
		int row = (int)i;
		w->id = pg_i64(r, row, 0);
		snprintf(w->url, sizeof(w->url), "%s", PQgetvalue(r, row, 1));
		pg_blob_into(r, row, 2, w->secret, sizeof(w->secret));
		w->created_at = pg_i64(r, row, 3);
		w->created_by = pg_i64(r, row, 4);
		w->removed_at = pg_i64(r, row, 5);
		w->pending = pg_i64(r, row, 6);
		w->failed = pg_i64(r, row, 7);
	}
	/* The result held the secrets too. */
	for (size_t i = 0; i < rows; i++)
		sodium_memzero(PQgetvalue(r, (int)i, 2), (size_t)PQgetlength(r, (int)i, 2));
	PQclear(r);
	if (err) {
		if (*out)
			sodium_memzero(*out, rows * sizeof(**out));
		free(*out);
		*out = NULL;
	} else {
		*n = rows;
	}
	return err;
}

static pg_stmt st_webhook_remove = PG_STMT(
    "UPDATE webhooks SET removed_at = $2 WHERE id = $1 AND removed_at IS NULL");
static pg_stmt st_webhook_drop = PG_STMT("DELETE FROM webhook_outbox WHERE webhook_id = $1");

sl_err pg_webhook_remove(sl_store *base, int64_t id, int64_t now)
{
	write_args a = {.st = &st_webhook_remove,
			.what = "remove webhook",
			.must_change = true,
			.then = &st_webhook_drop};
	pp_i64(&a.p, id);
	pp_i64(&a.p, now);
	return pg_in_tx((pg_store *)base, PG_LOCK_WRITE, write_body, &a);
}

/* ---- the publication log ---- */

static const char *const kind_names[] = {"publish", "update", "withdraw"};

/* One record, as published_events has it: its kind follows what is
 * recorded (a publish of an event already published is an update, and
 * an update of one that is not, a publish), and nothing is written when
 * it is already there (the same hash; a withdrawal of what is not
 * published). */
static pg_stmt st_record = PG_STMT(
    "WITH prev AS (SELECT hash FROM published_events WHERE event_id = $1::bigint),"
    " k AS (SELECT CASE"
    "  WHEN $2::text = 'withdraw' THEN"
    "   CASE WHEN EXISTS (SELECT 1 FROM prev) THEN 'withdraw' END"
    "  WHEN NOT EXISTS (SELECT 1 FROM prev) THEN 'publish'"
    "  WHEN (SELECT hash FROM prev) = $3::bytea THEN NULL"
    "  ELSE 'update' END AS kind),"
    " log AS (INSERT INTO publications (event_id, kind, at, doc)"
    "  SELECT $1::bigint, kind, $4::bigint, $5::text FROM k WHERE kind IS NOT NULL"
    "  RETURNING seq, kind),"
    " keep AS (INSERT INTO published_events (event_id, hash, first_at, updated_at)"
    "  SELECT $1::bigint, $3::bytea, $4::bigint, $4::bigint FROM log"
    "  WHERE kind <> 'withdraw' ON CONFLICT (event_id) DO UPDATE SET"
    "  hash = excluded.hash, updated_at = excluded.updated_at RETURNING 1),"
    " gone AS (DELETE FROM published_events WHERE event_id = $1::bigint"
    "  AND EXISTS (SELECT 1 FROM log WHERE kind = 'withdraw') RETURNING 1)"
    " INSERT INTO webhook_outbox (webhook_id, seq, next_at)"
    " SELECT w.id, log.seq, $4::bigint * 1000 FROM webhooks w, log"
    " WHERE w.removed_at IS NULL");

typedef struct record_args {
	const sl_pub_record *recs;
	size_t n;
	int64_t now;
} record_args;

/* One round trip for a chunk of records. */
static sl_err record_body(pg_store *s, pg_conn *c, void *ud)
{
	(void)s;
	record_args *a = ud;
	pg_pipe p;
	if (pg_pipe_start(&p, c, "log publication", NULL, NULL))
		return p.err;
	for (size_t i = 0; i < a->n && !p.err; i++) {
		const sl_pub_record *r = &a->recs[i];
		pg_params q = {0};
		pp_i64(&q, r->event_id);
		pp_text(&q, kind_names[r->kind]);
		pp_bytes(&q, r->hash, sizeof(r->hash));
		pp_i64(&q, a->now);
		pp_text(&q, r->doc);
		pg_pipe_send(&p, &st_record, &q, -1);
	}
	return pg_pipe_end(&p);
}

sl_err pg_pub_record(sl_store *base, const sl_pub_record *recs, size_t n, int64_t now)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned)recs[i].kind > SL_PUB_WITHDRAW || !recs[i].doc)
			return SL_EINVAL;
	record_args a = {recs, n, now};
	return pg_in_tx((pg_store *)base, PG_LOCK_WRITE, record_body, &a);
}

static pg_stmt st_pub_state = PG_STMT("SELECT event_id, hash FROM published_events");

sl_err pg_pub_state(sl_store *base, sl_pub_state_visit visit, void *ud)
{
	pg_store *s = (pg_store *)base;
	sl_err err;
	PGresult *r = pg_query(s, &st_pub_state, NULL, "read published events", &err);
	for (int i = 0; r && i < PQntuples(r) && !err; i++) {
		uint8_t hash[16] = {0};
		pg_blob_into(r, i, 1, hash, sizeof(hash));
		err = visit(ud, pg_i64(r, i, 0), hash);
	}
	PQclear(r);
	return err;
}

/* Takes the due deliveries and leases them in one statement. */
static pg_stmt st_deliveries = PG_STMT(
    "WITH due AS (SELECT o.webhook_id, o.seq, o.next_at FROM webhook_outbox o"
    "  JOIN webhooks w ON w.id = o.webhook_id"
    "  WHERE o.next_at IS NOT NULL AND o.next_at <= $1::bigint AND w.removed_at IS NULL"
    "  ORDER BY o.next_at, o.seq LIMIT $2::bigint),"
    " leased AS (UPDATE webhook_outbox o SET next_at = $1::bigint + $3::bigint FROM due"
    "  WHERE o.webhook_id = due.webhook_id AND o.seq = due.seq"
    "  RETURNING o.webhook_id, o.seq, o.attempts, due.next_at AS was)"
    " SELECT l.webhook_id, l.seq, l.attempts, p.kind, p.at, w.url, w.secret, p.doc"
    " FROM leased l JOIN publications p ON p.seq = l.seq"
    " JOIN webhooks w ON w.id = l.webhook_id ORDER BY l.was, l.seq");

typedef struct due_args {
	int64_t now;
	size_t max;
	sl_arena *a;
	sl_delivery *list;
	size_t n;
} due_args;

static sl_err due_body(pg_store *s, pg_conn *c, void *ud)
{
	(void)s;
	due_args *x = ud;
	pg_params p = {0};
	pp_i64(&p, x->now);
	pp_i64(&p, (int64_t)x->max);
	pp_i64(&p, SL_DELIVERY_LEASE_MS);
	sl_err err;
	PGresult *r = pg_run(c, &st_deliveries, &p, "read deliveries", &err);
	for (int i = 0; r && i < PQntuples(r) && x->n < x->max && !err; i++) {
		sl_delivery *d = &x->list[x->n];
		memset(d, 0, sizeof(*d));
		d->webhook_id = pg_i64(r, i, 0);
		d->seq = pg_i64(r, i, 1);
		d->attempts = (int)pg_i64(r, i, 2);
		const char *k = PQgetvalue(r, i, 3);
		d->kind = strcmp(k, "update") == 0     ? SL_PUB_UPDATE
			  : strcmp(k, "withdraw") == 0 ? SL_PUB_WITHDRAW
						       : SL_PUB_PUBLISH;
		d->at = pg_i64(r, i, 4);
		pg_blob_into(r, i, 6, d->secret, sizeof(d->secret));
		sodium_memzero(PQgetvalue(r, i, 6), (size_t)PQgetlength(r, i, 6));
		if (!(err = pg_str(r, i, 5, x->a, &d->url)) &&
		    !(err = pg_str(r, i, 7, x->a, &d->doc)))
			x->n++;
	}
	PQclear(r);
	return err;
}

sl_err pg_deliveries_due(sl_store *base, int64_t now, size_t max, sl_arena *a,
			 sl_delivery **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	due_args x = {now, max, a, sl_arena_alloc(a, (max ? max : 1) * sizeof(sl_delivery)),
		      0};
	if (!x.list)
		return SL_ENOMEM;
	if (max == 0)
		return SL_OK;
	sl_err err = pg_in_tx((pg_store *)base, PG_LOCK_WRITE, due_body, &x);
	if (!err) {
		*out = x.list;
		*n = x.n;
	}
	return err;
}

static pg_stmt st_delivered =
    PG_STMT("DELETE FROM webhook_outbox WHERE webhook_id = $1 AND seq = $2");
static pg_stmt st_delivery_retry =
    PG_STMT("UPDATE webhook_outbox SET attempts = $3, next_at = $4,"
	    " last_status = $5 WHERE webhook_id = $1 AND seq = $2");

sl_err pg_delivery_result(sl_store *base, int64_t webhook_id, int64_t seq, bool done,
			  int attempts, int64_t next_at, int status)
{
	write_args a = {.st = done ? &st_delivered : &st_delivery_retry,
			.what = "delivery result"};
	pp_i64(&a.p, webhook_id);
	pp_i64(&a.p, seq);
	if (!done) {
		pp_i64(&a.p, attempts);
		pp_id(&a.p, next_at);
		pp_id(&a.p, status);
	}
	return pg_in_tx((pg_store *)base, PG_LOCK_WRITE, write_body, &a);
}
