/*
 * postgres_events.c — events, their reports, bans, the change log, the
 * corroboration engine's saved state and its lock, in the PostgreSQL
 * backend. The rules are sqlite_events.c's: what a moderator decided is
 * kept apart from what the engine may redo, the engine's save touches only
 * its own rows and re-checks the bans in SQL, and every moderator write
 * appends a change row in its own transaction.
 *
 * Every write here runs under PG_LOCK_WRITE, so a moderator's event write
 * and the engine's save never interleave, on one server or several. The
 * engine runs on one server at a time: the one whose session holds
 * PG_LOCK_ENGINE. PostgreSQL drops that lock when the session ends (the
 * server died, or its connection did), and another server's engine thread
 * takes it within seconds. So that an engine that lost its lock cannot
 * write over its successor, each save checks, under PG_LOCK_FENCE taken
 * shared, that this store's session still holds the lock; a new holder
 * takes PG_LOCK_FENCE exclusively once before it loads, which waits for any
 * save of the old one still in flight.
 */
#include "store/postgres_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pg_stmt st_event_exists = PG_STMT("SELECT 1 FROM events WHERE id = $1");
static pg_stmt st_report_exists = PG_STMT("SELECT 1 FROM reports WHERE id = $1");

/* Whether row id exists (st is one of the two above), inside the open
 * transaction: SL_OK, SL_ENOTFOUND, SL_ESTORE. */
static sl_err row_exists(pg_conn *c, pg_stmt *st, int64_t id)
{
	pg_params p = {0};
	pp_i64(&p, id);
	sl_err err;
	PGresult *r = pg_run(c, st, &p, "look up row", &err);
	if (r && PQntuples(r) == 0)
		err = SL_ENOTFOUND;
	PQclear(r);
	return err;
}

/* Runs st with the int64 arguments (0 binds NULL where the argument is
 * wrapped in NULLABLE) inside the open transaction. */
#define NULLABLE(v) ((v) ? (int64_t)(v) : INT64_MIN)
static sl_err exec_ids(pg_conn *c, pg_stmt *st, const char *what, int n,
		       const int64_t *args)
{
	pg_params p = {0};
	for (int i = 0; i < n; i++) {
		if (args[i] == INT64_MIN)
			pp_null(&p);
		else
			pp_i64(&p, args[i]);
	}
	return pg_do(c, st, &p, what, NULL);
}
#define EXEC_IDS(c, st, what, ...)                                                       \
	exec_ids((c), (st), (what), (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), \
		 (int64_t[]){__VA_ARGS__})

static pg_stmt st_recount =
    PG_STMT("UPDATE events SET n_reports = (SELECT count(*) FROM event_reports"
	    " WHERE event_id = $1) WHERE id = $1");

/* Keeps events.n_reports true after a change of event_id's reports. */
static sl_err recount(pg_conn *c, int64_t event_id)
{
	return EXEC_IDS(c, &st_recount, "count reports", event_id);
}

static pg_stmt st_attach = PG_STMT(
    "INSERT INTO event_reports (event_id, report_id, attached_by, attached_at)"
    " VALUES ($1, $2, $3, $4) ON CONFLICT (event_id, report_id) DO UPDATE SET"
    " attached_by = excluded.attached_by, attached_at = excluded.attached_at");
static pg_stmt st_lift_ban =
    PG_STMT("DELETE FROM event_bans WHERE event_id = $1 AND report_id = $2");
static pg_stmt st_detach =
    PG_STMT("DELETE FROM event_reports WHERE event_id = $1 AND report_id = $2");
static pg_stmt st_ban =
    PG_STMT("INSERT INTO event_bans (event_id, report_id, banned_by, banned_at)"
	    " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING");
static pg_stmt st_decide = PG_STMT(
    "UPDATE events SET decided_by_moderator = 1, updated_at = $2 WHERE id = $1");

/* A moderator's attach inside the open transaction: the link becomes theirs
 * even if the engine had made it, a ban of the pair is lifted. */
static sl_err attach_by_moderator(pg_conn *c, int64_t event_id, int64_t report_id,
				  int64_t moderator_id, int64_t now)
{
	sl_err err = EXEC_IDS(c, &st_attach, "attach report", event_id, report_id,
			      NULLABLE(moderator_id), now);
	return err ? err : EXEC_IDS(c, &st_lift_ban, "lift ban", event_id, report_id);
}

/* A moderator's detach inside the open transaction, with its ban. */
static sl_err detach_by_moderator(pg_conn *c, int64_t event_id, int64_t report_id,
				  int64_t moderator_id, int64_t now)
{
	sl_err err = EXEC_IDS(c, &st_detach, "detach report", event_id, report_id);
	return err ? err
		   : EXEC_IDS(c, &st_ban, "ban report", event_id, report_id,
			      NULLABLE(moderator_id), now);
}

static sl_err mark_decided(pg_conn *c, int64_t event_id, int64_t now)
{
	return EXEC_IDS(c, &st_decide, "decide event", event_id, now);
}

static pg_stmt st_insert_event =
    PG_STMT("INSERT INTO events (category, created_at, created_by,"
	    " decided_by_moderator, updated_at) VALUES ($1, $2, $3, $4, $2) RETURNING id");

static void bind_new_event(pg_params *p, const sl_event *e, bool by_moderator)
{
	pp_text(p, e->has_category ? sl_category_name(e->category) : NULL);
	pp_i64(p, e->created_at);
	pp_id(p, e->created_by);
	pp_i64(p, by_moderator ? 1 : 0);
}

/* Inserts an events row inside the open transaction; sets *id. */
static sl_err insert_event(pg_conn *c, const sl_event *e, bool by_moderator, int64_t *id)
{
	pg_params p = {0};
	bind_new_event(&p, e, by_moderator);
	sl_err err;
	PGresult *r = pg_run(c, &st_insert_event, &p, "create event", &err);
	if (r)
		*id = pg_i64(r, 0, 0);
	PQclear(r);
	return err;
}

static sl_err event_create_body(pg_store *s, pg_conn *c, void *ud)
{
	(void)s;
	sl_event *e = ud;
	sl_err err = SL_OK;
	for (size_t i = 0; i < e->n_reports && !err; i++)
		err = row_exists(c, &st_report_exists, e->report_ids[i]);
	if (!err)
		err = insert_event(c, e, true, &e->id);
	for (size_t i = 0; i < e->n_reports && !err; i++)
		err = attach_by_moderator(c, e->id, e->report_ids[i], e->created_by,
					  e->created_at);
	if (!err)
		err = recount(c, e->id);
	if (!err)
		err = pg_note_change(c, 0, e->id);
	return err;
}

sl_err pg_event_create(sl_store *base, sl_event *e)
{
	sl_err err = pg_in_tx((pg_store *)base, PG_LOCK_WRITE, event_create_body, e);
	if (err)
		e->id = 0;
	return err;
}

typedef struct link_args {
	int64_t event_id, report_id, moderator_id, now;
	bool detach;
} link_args;

static sl_err link_body(pg_store *s, pg_conn *c, void *ud)
{
	(void)s;
	link_args *a = ud;
	sl_err err = row_exists(c, &st_event_exists, a->event_id);
	if (!err)
		err = row_exists(c, &st_report_exists, a->report_id);
	if (!err)
		err = a->detach ? detach_by_moderator(c, a->event_id, a->report_id,
						      a->moderator_id, a->now)
				: attach_by_moderator(c, a->event_id, a->report_id,
						      a->moderator_id, a->now);
	if (!err)
		err = mark_decided(c, a->event_id, a->now);
	if (!err)
		err = recount(c, a->event_id);
	if (!err)
		err = pg_note_change(c, a->report_id, a->event_id);
	return err;
}

sl_err pg_event_attach(sl_store *base, int64_t event_id, int64_t report_id,
		       int64_t moderator_id, int64_t now)
{
	link_args a = {event_id, report_id, moderator_id, now, false};
	return pg_in_tx((pg_store *)base, PG_LOCK_WRITE, link_body, &a);
}

sl_err pg_event_detach(sl_store *base, int64_t event_id, int64_t report_id,
		       int64_t moderator_id, int64_t now)
{
	link_args a = {event_id, report_id, moderator_id, now, true};
	return pg_in_tx((pg_store *)base, PG_LOCK_WRITE, link_body, &a);
}

typedef struct merge_args {
	int64_t into, from, moderator_id, now;
} merge_args;

static pg_stmt st_merge = PG_STMT(
    "INSERT INTO event_reports (event_id, report_id, attached_by, attached_at)"
    " SELECT $1::bigint, report_id, $3::bigint, $4::bigint FROM event_reports"
    " WHERE event_id = $2::bigint ON CONFLICT (event_id, report_id) DO UPDATE SET"
    " attached_by = excluded.attached_by, attached_at = excluded.attached_at");
static pg_stmt st_merge_bans =
    PG_STMT("DELETE FROM event_bans WHERE event_id = $1 AND report_id IN"
	    " (SELECT report_id FROM event_reports WHERE event_id = $1)");
static pg_stmt st_delete_event = PG_STMT("DELETE FROM events WHERE id = $1");

static sl_err merge_body(pg_store *s, pg_conn *c, void *ud)
{
	(void)s;
	merge_args *a = ud;
	sl_err err = row_exists(c, &st_event_exists, a->into);
	if (!err)
		err = row_exists(c, &st_event_exists, a->from);
	if (!err)
		err = EXEC_IDS(c, &st_merge, "merge events", a->into, a->from,
			       NULLABLE(a->moderator_id), a->now);
	if (!err)
		err = EXEC_IDS(c, &st_merge_bans, "merge bans", a->into);
	if (!err)
		err = EXEC_IDS(c, &st_delete_event, "delete merged event", a->from);
	if (!err)
		err = mark_decided(c, a->into, a->now);
	if (!err)
		err = recount(c, a->into);
	if (!err)
		err = pg_note_change(c, 0, a->into);
	if (!err)
		err = pg_note_change(c, 0, a->from);
	return err;
}

sl_err pg_event_merge(sl_store *base, int64_t into, int64_t from, int64_t moderator_id,
		      int64_t now)
{
	merge_args a = {into, from, moderator_id, now};
	return pg_in_tx((pg_store *)base, PG_LOCK_WRITE, merge_body, &a);
}

typedef struct split_args {
	int64_t from;
	const int64_t *ids;
	size_t n;
	int64_t moderator_id, now;
	int64_t *new_id;
} split_args;

static pg_stmt st_count_links =
    PG_STMT("SELECT count(*) FROM event_reports WHERE event_id = $1"
	    " AND ($2 = 0 OR report_id = $2)");
static pg_stmt st_event_category = PG_STMT("SELECT category FROM events WHERE id = $1");

/* The number of reports of event_id (report_id 0), or whether report_id
 * is one (0 or 1), inside the open transaction. */
static sl_err count_links(pg_conn *c, int64_t event_id, int64_t report_id, int64_t *out)
{
	pg_params p = {0};
	pp_i64(&p, event_id);
	pp_i64(&p, report_id);
	sl_err err;
	PGresult *r = pg_run(c, &st_count_links, &p, "count links", &err);
	if (r)
		*out = pg_i64(r, 0, 0);
	PQclear(r);
	return err;
}

static sl_err split_body(pg_store *s, pg_conn *c, void *ud)
{
	(void)s;
	split_args *a = ud;
	sl_err err = row_exists(c, &st_event_exists, a->from);
	int64_t total = 0, in = 0;
	if (!err)
		err = count_links(c, a->from, 0, &total);
	for (size_t i = 0; i < a->n && !err; i++) {
		if ((err = row_exists(c, &st_report_exists, a->ids[i])))
			break;
		if ((err = count_links(c, a->from, a->ids[i], &in)))
			break;
		if (in == 0)
			err = SL_EVALID;
	}
	if (!err && (int64_t)a->n >= total)
		err = SL_EVALID;
	sl_event e = {.created_at = a->now, .created_by = a->moderator_id};
	if (!err) {
		pg_params p = {0};
		pp_i64(&p, a->from);
		PGresult *r = pg_run(c, &st_event_category, &p, "event category", &err);
		if (r && PQntuples(r) && !pg_isnull(r, 0, 0))
			e.has_category = sl_category_from_name(PQgetvalue(r, 0, 0), &e.category);
		PQclear(r);
	}
	if (!err)
		err = insert_event(c, &e, true, a->new_id);
	for (size_t i = 0; i < a->n && !err; i++) {
		err = detach_by_moderator(c, a->from, a->ids[i], a->moderator_id, a->now);
		if (!err)
			err = attach_by_moderator(c, *a->new_id, a->ids[i], a->moderator_id,
						  a->now);
	}
	if (!err)
		err = mark_decided(c, a->from, a->now);
	if (!err)
		err = recount(c, a->from);
	if (!err)
		err = recount(c, *a->new_id);
	if (!err)
		err = pg_note_change(c, 0, a->from);
	if (!err)
		err = pg_note_change(c, 0, *a->new_id);
	return err;
}

sl_err pg_event_split(sl_store *base, int64_t from, const int64_t *report_ids, size_t n,
		      int64_t moderator_id, int64_t now, int64_t *new_id)
{
	split_args a = {from, report_ids, n, moderator_id, now, new_id};
	*new_id = 0;
	sl_err err = pg_in_tx((pg_store *)base, PG_LOCK_WRITE, split_body, &a);
	if (err)
		*new_id = 0;
	return err;
}

/* ---- reading events ---- */

static sl_err decode_event(const PGresult *r, int row, sl_arena *a, sl_event *e)
{
	memset(e, 0, sizeof(*e));
	e->id = pg_i64(r, row, 0);
	if (!pg_isnull(r, row, 1)) {
		if (!sl_category_from_name(PQgetvalue(r, row, 1), &e->category))
			return SL_ESTORE;
		e->has_category = true;
	}
	e->created_at = pg_i64(r, row, 2);
	e->created_by = pg_i64(r, row, 3);
	e->by_moderator = pg_i64(r, row, 4) != 0;
	if (!pg_isnull(r, row, 5)) {
		e->has_estimate = true;
		e->t_start = pg_i64(r, row, 5);
		e->t_end = pg_i64(r, row, 6);
		e->confidence = pg_f64(r, row, 11);
	}
	if (!pg_isnull(r, row, 7)) {
		e->has_point = true;
		e->lat = pg_f64(r, row, 7);
		e->lon = pg_f64(r, row, 8);
		e->uncertainty_m = pg_f64(r, row, 9);
	}
	if (!pg_isnull(r, row, 10)) {
		e->has_heading = true;
		e->heading_deg = pg_f64(r, row, 10);
	}
	e->updated_at = pg_i64(r, row, 13);
	return pg_isnull(r, row, 12) ? SL_OK : store_items_parse(PQgetvalue(r, row, 12), a, &e->items,
								    &e->n_items);
}

/* ids as a PostgreSQL array literal, "{1,2,3}" (malloc'd). */
char *pg_id_array(const int64_t *ids, size_t n, size_t stride)
{
	char *s = malloc(n * 21 + 3);
	if (!s)
		return NULL;
	size_t o = 0;
	s[o++] = '{';
	for (size_t i = 0; i < n; i++) {
		int64_t v = *(const int64_t *)((const char *)ids + i * stride);
		o += (size_t)snprintf(s + o, 22, i ? ",%lld" : "%lld", (long long)v);
	}
	s[o++] = '}';
	s[o] = '\0';
	return s;
}

static pg_stmt st_members =
    PG_STMT("SELECT er.event_id, er.report_id, r.ref FROM event_reports er"
	    " JOIN reports r ON r.id = er.report_id"
	    " WHERE er.event_id = ANY ($1::bigint[]) ORDER BY er.event_id, er.report_id");

/* The reports (and, when with_refs, their refs) of the n events in list,
 * read at once. */
static sl_err read_members(pg_conn *c, sl_event *list, size_t n, bool with_refs,
			   sl_arena *a)
{
	if (n == 0)
		return SL_OK;
	char *arr = pg_id_array(&list[0].id, n, sizeof(list[0]));
	if (!arr)
		return SL_ENOMEM;
	pg_params p = {0};
	pp_text(&p, arr);
	sl_err err;
	PGresult *r = pg_run(c, &st_members, &p, "read event reports", &err);
	free(arr);
	if (!r)
		return err;
	int rows = PQntuples(r), at = 0;
	/* Rows are by event id; list is in either order: find each event's
	 * run of rows by search. */
	for (size_t i = 0; i < n && !err; i++) {
		sl_event *e = &list[i];
		int lo = 0, hi = rows;
		while (lo < hi) {
			int mid = (lo + hi) / 2;
			if (pg_i64(r, mid, 0) < e->id)
				lo = mid + 1;
			else
				hi = mid;
		}
		at = lo;
		int end = at;
		while (end < rows && pg_i64(r, end, 0) == e->id)
			end++;
		size_t k = (size_t)(end - at);
		int64_t *ids = k ? sl_arena_alloc(a, k * sizeof(*ids)) : NULL;
		const char **refs = k && with_refs ? sl_arena_alloc(a, k * sizeof(*refs)) : NULL;
		if (k && (!ids || (with_refs && !refs))) {
			err = SL_ENOMEM;
			break;
		}
		for (size_t j = 0; j < k && !err; j++) {
			ids[j] = pg_i64(r, at + (int)j, 1);
			if (with_refs)
				err = pg_str(r, at + (int)j, 2, a, &refs[j]);
		}
		e->report_ids = ids;
		e->refs = with_refs ? (const char *const *)refs : NULL;
		e->n_reports = k;
	}
	PQclear(r);
	return err;
}

typedef struct find_args {
	const sl_event_filter *f;
	sl_arena *a;
	sl_event *list;
	size_t n;
} find_args;

/* The query is written for the filter at hand and planned for its values
 * (not prepared): the conditions vary, and a bounding box can then use the
 * point index, PostGIS's GiST one when the database has it. The exact
 * comparisons are kept beside PostGIS's && (whose index boxes are floats
 * rounded outwards), so both backends answer the same rows. */
static sl_err find_body(pg_store *s, pg_conn *c, void *ud)
{
	find_args *x = ud;
	const sl_event_filter *f = x->f;
	char sql[1400];
	pg_params p = {0};
	size_t o = (size_t)snprintf(sql, sizeof(sql),
				    "SELECT " EVENT_COLUMNS
				    " FROM events WHERE n_reports >= $1::bigint");
	pp_i64(&p, f->min_reports);
#define COND(...) (o += (size_t)snprintf(sql + o, sizeof(sql) - o, __VA_ARGS__))
	if (f->id) {
		pp_i64(&p, f->id);
		COND(" AND id = $%d::bigint", p.n);
	}
	if (f->has_bbox) {
		pp_f64(&p, f->min_lat);
		pp_f64(&p, f->max_lat);
		pp_f64(&p, f->min_lon);
		pp_f64(&p, f->max_lon);
		int b = p.n - 3;
		if (s->postgis)
			COND(" AND geom && ST_MakeEnvelope($%d::float8, $%d::float8,"
			     " $%d::float8, $%d::float8, 4326)",
			     b + 2, b, b + 3, b + 1);
		COND(" AND lat BETWEEN $%d::float8 AND $%d::float8"
		     " AND lon BETWEEN $%d::float8 AND $%d::float8",
		     b, b + 1, b + 2, b + 3);
	}
	if (f->has_from) {
		pp_i64(&p, f->from);
		COND(" AND t_end >= $%d::bigint", p.n);
	}
	if (f->has_to) {
		pp_i64(&p, f->to);
		COND(" AND t_start <= $%d::bigint", p.n);
	}
	if (f->has_category) {
		pp_text(&p, sl_category_name(f->category));
		COND(" AND category = $%d::text", p.n);
	}
	if (f->cursor) {
		pp_i64(&p, f->cursor);
		COND(" AND id %s $%d::bigint", f->ascending ? ">" : "<", p.n);
	}
	if (f->origin) {
		pp_i64(&p, f->origin == SL_ORIGIN_MODERATOR ? 1 : 0);
		COND(" AND decided_by_moderator = $%d::integer", p.n);
	}
	pp_i64(&p, (int64_t)f->limit);
	COND(" ORDER BY id %s LIMIT $%d::bigint", f->ascending ? "ASC" : "DESC", p.n);
#undef COND
	sl_err err;
	PGresult *r = pg_run_sql(c, sql, &p, "read events", &err);
	if (!r)
		return err;
	for (int i = 0; i < PQntuples(r) && x->n < f->limit && !err; i++) {
		if (!(err = decode_event(r, i, x->a, &x->list[x->n])))
			x->n++;
	}
	PQclear(r);
	return err ? err : read_members(c, x->list, x->n, f->with_refs, x->a);
}

sl_err pg_find_events(sl_store *base, const sl_event_filter *f, sl_arena *a,
		      sl_event **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	find_args x = {f, a, sl_arena_alloc(a, f->limit * sizeof(sl_event)), 0};
	if (!x.list)
		return SL_ENOMEM;
	/* One read transaction, so an event and its reports agree. */
	sl_err err = pg_in_read((pg_store *)base, find_body, &x);
	if (err == SL_ESTORE)
		fprintf(stderr, PG_LOG "events: malformed row or query failed\n");
	if (!err) {
		*out = x.list;
		*n = x.n;
	}
	return err;
}

static pg_stmt st_report_events =
    PG_STMT("SELECT event_id FROM event_reports WHERE report_id = $1 ORDER BY event_id");

sl_err pg_report_events(sl_store *base, int64_t report_id, sl_arena *a, int64_t **ids,
			size_t *n)
{
	pg_store *s = (pg_store *)base;
	*ids = NULL;
	*n = 0;
	pg_params p = {0};
	pp_i64(&p, report_id);
	sl_err err;
	PGresult *r = pg_query(s, &st_report_events, &p, "read report events", &err);
	if (!r)
		return err;
	size_t rows = (size_t)PQntuples(r);
	if (rows && !(*ids = sl_arena_alloc(a, rows * sizeof(**ids))))
		err = SL_ENOMEM;
	for (size_t i = 0; i < rows && !err; i++)
		(*ids)[i] = pg_i64(r, (int)i, 0);
	if (!err)
		*n = rows;
	PQclear(r);
	return err;
}

/* ---- what the engine reads ---- */

#define ITEM_PAGE 256
#define ITEM_ARENA_CAP ((size_t)8 << 20)

static pg_stmt st_item_page = PG_STMT("SELECT " ITEM_COLUMNS " FROM reports r WHERE id > $1"
				      " ORDER BY id LIMIT $2");
static pg_stmt st_get_item = PG_STMT("SELECT " ITEM_COLUMNS " FROM reports r WHERE id = $1");

static sl_err decode_item_row(const PGresult *r, int row, sl_arena *a, void *out)
{
	return pg_decode_item(r, row, a, out);
}

sl_err pg_each_item(sl_store *base, int64_t after_id, sl_item_visit visit, void *ud)
{
	pg_store *s = (pg_store *)base;
	sl_arena *a = sl_arena_new(ITEM_ARENA_CAP);
	sl_queue_item *page = calloc(ITEM_PAGE, sizeof(*page));
	sl_err err = a && page ? SL_OK : SL_ENOMEM;
	int64_t cursor = after_id;
	while (!err) {
		size_t n;
		bool more;
		sl_arena_reset(a);
		err = pg_read_page(s, &st_item_page, cursor, ITEM_PAGE, decode_item_row, page,
				   sizeof(*page), a, "read items", &n, &more);
		for (size_t i = 0; i < n && !err; i++)
			err = visit(ud, &page[i]);
		if (err || !more)
			break;
		cursor = page[n - 1].report.id;
	}
	free(page);
	sl_arena_free(a);
	return err;
}

sl_err pg_get_item(sl_store *base, int64_t id, sl_arena *a, sl_queue_item *out)
{
	pg_store *s = (pg_store *)base;
	pg_params p = {0};
	pp_i64(&p, id);
	sl_err err;
	PGresult *r = pg_query(s, &st_get_item, &p, "get item", &err);
	if (r)
		err = PQntuples(r) ? pg_decode_item(r, 0, a, out) : SL_ENOTFOUND;
	PQclear(r);
	return err;
}

static pg_stmt st_changes = PG_STMT("SELECT seq, report_id, event_id FROM changes"
				    " WHERE seq > $1 ORDER BY seq LIMIT $2");

sl_err pg_changes(sl_store *base, int64_t after, size_t max, sl_change *out, size_t *n)
{
	pg_store *s = (pg_store *)base;
	*n = 0;
	pg_params p = {0};
	pp_i64(&p, after);
	pp_i64(&p, (int64_t)max);
	sl_err err;
	PGresult *r = pg_query(s, &st_changes, &p, "read changes", &err);
	for (int i = 0; r && i < PQntuples(r) && *n < max; i++) {
		out[*n].seq = pg_i64(r, i, 0);
		out[*n].report_id = pg_i64(r, i, 1);
		out[*n].event_id = pg_i64(r, i, 2);
		(*n)++;
	}
	PQclear(r);
	return err;
}

static pg_stmt st_state_events =
    PG_STMT("SELECT id, category, decided_by_moderator FROM events"
	    " WHERE $1::boolean OR decided_by_moderator = 1 ORDER BY id");
static pg_stmt st_state_links_all =
    PG_STMT("SELECT event_id, report_id, coalesce(attached_by, 0)"
	    " FROM event_reports ORDER BY report_id, event_id");
static pg_stmt st_state_links_mod =
    PG_STMT("SELECT event_id, report_id, attached_by FROM event_reports"
	    " WHERE attached_by IS NOT NULL ORDER BY report_id, event_id");
static pg_stmt st_state_bans = PG_STMT("SELECT event_id, report_id, coalesce(banned_by, 0)"
				       " FROM event_bans ORDER BY report_id, event_id");
static pg_stmt st_state_marks = PG_STMT(
    "SELECT coalesce((SELECT max(seq) FROM changes), 0),"
    " coalesce((SELECT value::bigint FROM meta WHERE key = 'engine.last_report'), 0)");

/* The rows of a links query (event_id, report_id, by) into a malloc'd
 * array. */
static sl_err read_links(pg_conn *c, pg_stmt *st, sl_event_link **arr, size_t *n)
{
	sl_err err;
	PGresult *r = pg_run(c, st, NULL, "read links", &err);
	if (!r)
		return err;
	size_t rows = (size_t)PQntuples(r);
	if (rows && !(*arr = malloc(rows * sizeof(**arr))))
		err = SL_ENOMEM;
	for (size_t i = 0; i < rows && !err; i++)
		(*arr)[i] = (sl_event_link){pg_i64(r, (int)i, 0), pg_i64(r, (int)i, 1),
					    pg_i64(r, (int)i, 2)};
	if (!err)
		*n = rows;
	PQclear(r);
	return err;
}

typedef struct state_args {
	bool engine_links;
	sl_engine_state *out;
} state_args;

static sl_err state_body(pg_store *s, pg_conn *c, void *ud)
{
	(void)s;
	state_args *x = ud;
	sl_engine_state *out = x->out;
	pg_params p = {0};
	pp_bool(&p, x->engine_links);
	sl_err err;
	PGresult *r = pg_run(c, &st_state_events, &p, "read events", &err);
	if (!r)
		return err;
	size_t rows = (size_t)PQntuples(r);
	if (rows && !(out->events = calloc(rows, sizeof(*out->events))))
		err = SL_ENOMEM;
	for (size_t i = 0; i < rows && !err; i++) {
		sl_event *e = &out->events[i];
		e->id = pg_i64(r, (int)i, 0);
		if (!pg_isnull(r, (int)i, 1))
			e->has_category =
			    sl_category_from_name(PQgetvalue(r, (int)i, 1), &e->category);
		e->by_moderator = pg_i64(r, (int)i, 2) != 0;
	}
	if (!err)
		out->n_events = rows;
	PQclear(r);
	if (!err)
		err = read_links(c, x->engine_links ? &st_state_links_all : &st_state_links_mod,
				 &out->links, &out->n_links);
	if (!err)
		err = read_links(c, &st_state_bans, &out->bans, &out->n_bans);
	if (!err && (r = pg_run(c, &st_state_marks, NULL, "read marks", &err))) {
		out->last_change = pg_i64(r, 0, 0);
		out->last_report = pg_i64(r, 0, 1);
		PQclear(r);
	}
	return err;
}

sl_err pg_engine_state(sl_store *base, bool engine_links, sl_engine_state *out)
{
	memset(out, 0, sizeof(*out));
	state_args x = {engine_links, out};
	sl_err err = pg_in_read((pg_store *)base, state_body, &x);
	if (err)
		sl_engine_state_free(out);
	return err;
}

/* ---- what the engine writes ---- */

static pg_stmt st_fence = PG_STMT(
    "SELECT pg_advisory_xact_lock_shared($1::integer, $2::integer),"
    " EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory'"
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    " AND classid = $1::integer::oid AND objid = $3::integer::oid AND objsubid = 2"
    " AND pid = $4::integer AND granted)");
static pg_stmt st_save_event = PG_STMT(
    "UPDATE events SET t_start = $2, t_end = $3, lat = $4, lon = $5,"
    " uncertainty_m = $6, heading_deg = $7, equipment = $8, updated_at = $9,"
    " confidence = $10, category = coalesce(category, $11) WHERE id = $1");
static pg_stmt st_clear_links =
    PG_STMT("DELETE FROM event_reports WHERE event_id = $1 AND attached_by IS NULL");
/* The engine's links of one event, skipping banned pairs and an event a
 * moderator merged away meanwhile (its reports come back to the engine
 * through the change that merge wrote). */
static pg_stmt st_engine_links = PG_STMT(
    "INSERT INTO event_reports (event_id, report_id, attached_by, attached_at)"
    " SELECT $1::bigint, r, NULL, $3::bigint FROM unnest($2::bigint[]) AS r"
    " WHERE EXISTS (SELECT 1 FROM events WHERE id = $1::bigint)"
    " AND NOT EXISTS (SELECT 1 FROM event_bans b"
    "  WHERE b.event_id = $1::bigint AND b.report_id = r)"
    " ON CONFLICT DO NOTHING");
static pg_stmt st_delete_engine_events =
    PG_STMT("DELETE FROM events WHERE id = ANY ($1::bigint[]) AND decided_by_moderator = 0");
static pg_stmt st_engine_marks = PG_STMT(
    "INSERT INTO meta (key, value) VALUES ('engine.last_report', $1::text),"
    " ('engine.last_change', $2::text)"
    " ON CONFLICT (key) DO UPDATE SET value = excluded.value");
/* The changes the engine has read are spent. */
static pg_stmt st_prune_changes = PG_STMT("DELETE FROM changes WHERE seq <= $1");

enum { TAG_FENCE = 1 << 30 };

typedef struct save_ctx {
	sl_engine_save *save;
	bool fenced; /* this store's session still holds the lock */
} save_ctx;

static sl_err save_result(void *ud, int tag, const PGresult *r)
{
	save_ctx *x = ud;
	if (tag == TAG_FENCE) {
		x->fenced = pg_bool(r, 0, 1);
		return SL_OK;
	}
	if (PQntuples(r) != 1)
		return SL_ESTORE;
	x->save->events[tag].id = pg_i64(r, 0, 0);
	return SL_OK;
}

static void send_event(pg_pipe *p, const sl_event *e, int64_t now)
{
	char *items = NULL;
	if ((p->err = store_items_json(e->items, e->n_items, &items)))
		return;
	pg_params u = {0};
	pp_i64(&u, e->id);
	pp_opt(&u, e->has_estimate, e->t_start);
	pp_opt(&u, e->has_estimate, e->t_end);
	pp_optf(&u, e->has_point, e->lat);
	pp_optf(&u, e->has_point, e->lon);
	pp_optf(&u, e->has_point, e->uncertainty_m);
	pp_optf(&u, e->has_heading, e->heading_deg);
	pp_text(&u, items);
	pp_i64(&u, now);
	pp_optf(&u, e->has_estimate, e->confidence);
	pp_text(&u, e->has_category ? sl_category_name(e->category) : NULL);
	pg_pipe_send(p, &st_save_event, &u, -1);
	free(items);
	pg_params k = {0};
	pp_i64(&k, e->id);
	pg_pipe_send(p, &st_clear_links, &k, -1);
	if (e->n_reports) {
		char *arr = pg_id_array(e->report_ids, e->n_reports, sizeof(int64_t));
		if (!arr) {
			p->err = SL_ENOMEM;
			return;
		}
		pg_params l = {0};
		pp_i64(&l, e->id);
		pp_text(&l, arr);
		pp_i64(&l, now);
		pg_pipe_send(p, &st_engine_links, &l, -1);
		free(arr);
	}
	pg_pipe_send(p, &st_recount, &k, -1);
}

/* Two round trips whatever the size of the step: the fence and the new
 * events (their ids are needed), then everything else and the COMMIT. */
static sl_err save_batch(pg_store *s, pg_conn *c, save_ctx *x, int engine_pid)
{
	sl_engine_save *sv = x->save;
	pg_pipe p;
	if (pg_pipe_start(&p, c, "engine save", save_result, x))
		return p.err;
	char lock[64];
	snprintf(lock, sizeof(lock), "SELECT pg_advisory_xact_lock(%d, %d)", PG_LOCK_NS,
		 PG_LOCK_WRITE);
	pg_pipe_sql(&p, "BEGIN");
	pg_pipe_sql(&p, lock);
	x->fenced = true;
	if (engine_pid) {
		pg_params f = {0};
		pp_i64(&f, PG_LOCK_NS);
		pp_i64(&f, PG_LOCK_FENCE);
		pp_i64(&f, PG_LOCK_ENGINE);
		pp_i64(&f, engine_pid);
		pg_pipe_send(&p, &st_fence, &f, TAG_FENCE);
	}
	for (size_t i = 0; i < sv->n_events && !p.err; i++) {
		sl_event *e = &sv->events[i];
		if (e->id)
			continue;
		e->created_at = sv->now;
		e->created_by = 0;
		pg_params n = {0};
		bind_new_event(&n, e, false);
		pg_pipe_send(&p, &st_insert_event, &n, (int)i);
	}
	if (!pg_pipe_sync(&p) && !x->fenced) {
		fprintf(stderr, PG_LOG "engine save refused: this server no longer "
				       "holds the engine's lock\n");
		p.err = SL_EBUSY;
	}
	for (size_t i = 0; i < sv->n_events && !p.err; i++)
		send_event(&p, &sv->events[i], sv->now);
	if (sv->n_deleted && !p.err) {
		char *arr = pg_id_array(sv->deleted, sv->n_deleted, sizeof(int64_t));
		if (!arr)
			p.err = SL_ENOMEM;
		pg_params d = {0};
		pp_text(&d, arr);
		if (arr)
			pg_pipe_send(&p, &st_delete_engine_events, &d, -1);
		free(arr);
	}
	pg_params m = {0};
	char lr[24], lc[24];
	snprintf(lr, sizeof(lr), "%lld", (long long)sv->last_report);
	snprintf(lc, sizeof(lc), "%lld", (long long)sv->last_change);
	pp_text(&m, lr);
	pp_text(&m, lc);
	pg_params q = {0};
	pp_i64(&q, sv->last_change);
	if (!p.err) {
		pg_pipe_send(&p, &st_engine_marks, &m, -1);
		pg_pipe_send(&p, &st_prune_changes, &q, -1);
		pg_pipe_sql(&p, "COMMIT");
	}
	sl_err err = pg_pipe_end(&p);
	if (!err && PQtransactionStatus(c->pg) != PQTRANS_IDLE)
		err = pg_fail(c->pg, NULL, "commit engine save");
	(void)s;
	return err;
}

sl_err pg_engine_save(sl_store *base, sl_engine_save *save)
{
	pg_store *s = (pg_store *)base;
	pthread_mutex_lock(&s->engine_lock);
	int pid = s->engine_pid;
	bool lost = s->engine_lost;
	pthread_mutex_unlock(&s->engine_lock);
	if (lost)
		return SL_EBUSY;
	/* New events get their ids inside; on failure none of them is kept. */
	int64_t *ids = save->n_events ? malloc(save->n_events * sizeof(*ids)) : NULL;
	if (save->n_events && !ids)
		return SL_ENOMEM;
	for (size_t i = 0; i < save->n_events; i++)
		ids[i] = save->events[i].id;
	pg_conn *c;
	sl_err err = pg_get(s, &c);
	if (!err) {
		save_ctx x = {save, true};
		err = save_batch(s, c, &x, pid);
		if (err)
			pg_rollback(c);
		pg_put(s, c);
	}
	if (err)
		for (size_t i = 0; i < save->n_events; i++)
			save->events[i].id = ids[i];
	if (err == SL_EBUSY) {
		pthread_mutex_lock(&s->engine_lock);
		s->engine_lost = true;
		pthread_mutex_unlock(&s->engine_lock);
	}
	free(ids);
	return err;
}

/* ---- the engine's lock ---- */

/* The engine's session: short keepalives, so that the server notices a
 * dead host (not only a dead process, whose socket the kernel closes at
 * once) and frees the lock within about 15 s. */
static PGconn *engine_session(const pg_store *s)
{
	PGconn *c = pg_connect(s);
	if (!c)
		return NULL;
	PGresult *r = PQexec(c, "SET tcp_keepalives_idle = 5;"
				"SET tcp_keepalives_interval = 2;"
				"SET tcp_keepalives_count = 3;"
				"SET idle_in_transaction_session_timeout = 0;"
				"SET statement_timeout = 0");
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		pg_fail(c, r, "set up engine session");
		PQclear(r);
		PQfinish(c);
		return NULL;
	}
	PQclear(r);
	return c;
}

/* Tries the lock on the new session c: 1 taken, 0 held by another, -1
 * failed. Taken, it waits for saves of a previous holder still running. */
static int try_engine_lock(PGconn *c, int *pid)
{
	char sql[160];
	snprintf(sql, sizeof(sql),
		 "SELECT pg_try_advisory_lock(%d, %d), pg_backend_pid()", PG_LOCK_NS,
		 PG_LOCK_ENGINE);
	PGresult *r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		pg_fail(c, r, "take the engine's lock");
		PQclear(r);
		return -1;
	}
	bool got = pg_bool(r, 0, 0);
	*pid = (int)pg_i64(r, 0, 1);
	PQclear(r);
	if (!got)
		return 0;
	snprintf(sql, sizeof(sql), "SELECT pg_advisory_lock(%d, %d), pg_advisory_unlock(%d, %d)",
		 PG_LOCK_NS, PG_LOCK_FENCE, PG_LOCK_NS, PG_LOCK_FENCE);
	r = PQexec(c, sql);
	int rc = PQresultStatus(r) == PGRES_TUPLES_OK ? 1 : -1;
	if (rc < 0)
		pg_fail(c, r, "wait for the previous engine");
	PQclear(r);
	return rc;
}

sl_err pg_engine_lock(sl_store *base, bool *got)
{
	pg_store *s = (pg_store *)base;
	*got = false;
	pthread_mutex_lock(&s->engine_lock);
	if (s->engine) {
		/* Held: is the session still there? */
		PGresult *r = PQexec(s->engine, "SELECT 1");
		bool alive = PQresultStatus(r) == PGRES_TUPLES_OK;
		PQclear(r);
		if (alive) {
			*got = true;
			pthread_mutex_unlock(&s->engine_lock);
			return SL_OK;
		}
		pg_fail(s->engine, NULL, "engine lock lost");
		PQfinish(s->engine);
		s->engine = NULL;
		s->engine_lost = true;
		pthread_mutex_unlock(&s->engine_lock);
		return SL_OK;
	}
	PGconn *c = engine_session(s);
	sl_err err = SL_ESTORE;
	int pid = 0, rc = c ? try_engine_lock(c, &pid) : -1;
	if (rc == 1) {
		s->engine = c;
		s->engine_pid = pid;
		s->engine_lost = false;
		*got = true;
		err = SL_OK;
	} else {
		if (c)
			PQfinish(c);
		err = rc == 0 ? SL_OK : SL_ESTORE;
	}
	pthread_mutex_unlock(&s->engine_lock);
	return err;
}

void pg_engine_release(pg_store *s)
{
	pthread_mutex_lock(&s->engine_lock);
	if (s->engine)
		PQfinish(s->engine); /* the server drops the session's locks */
	s->engine = NULL;
	pthread_mutex_unlock(&s->engine_lock);
}

sl_err pg_engine_fence(pg_store *s, pg_conn *c)
{
	pthread_mutex_lock(&s->engine_lock);
	int pid = s->engine_pid;
	bool lost = s->engine_lost;
	pthread_mutex_unlock(&s->engine_lock);
	if (lost)
		return SL_EBUSY;
	if (!pid)
		return SL_OK; /* a command's own store, never an engine's leader */
	pg_params f = {0};
	pp_i64(&f, PG_LOCK_NS);
	pp_i64(&f, PG_LOCK_FENCE);
	pp_i64(&f, PG_LOCK_ENGINE);
	pp_i64(&f, pid);
	sl_err err;
	PGresult *r = pg_run(c, &st_fence, &f, "check the engine's lock", &err);
	if (r && !pg_bool(r, 0, 1)) {
		fprintf(stderr, PG_LOG "tracks save refused: this server no longer "
				       "holds the engine's lock\n");
		err = SL_EBUSY;
		pthread_mutex_lock(&s->engine_lock);
		s->engine_lost = true;
		pthread_mutex_unlock(&s->engine_lock);
	}
	PQclear(r);
	return err;
}

/* ---- what the tracker reads ---- */

#define EVENT_PAGE 500
#define EVENT_ARENA_CAP ((size_t)4 << 20)

/* Since a mark, through the index on updated_at (every event has one:
 * engine saves and moderators' writes set it). */
static pg_stmt st_event_page = PG_STMT("SELECT " EVENT_COLUMNS ", n_reports FROM events"
				       " WHERE id > $1 AND ($3::bigint = 0 OR updated_at >= $3::bigint)"
				       " ORDER BY id LIMIT $2");

sl_err pg_each_event(sl_store *base, int64_t since, sl_event_visit visit, void *ud)
{
	pg_store *s = (pg_store *)base;
	sl_arena *a = sl_arena_new(EVENT_ARENA_CAP);
	sl_event *page = calloc(EVENT_PAGE, sizeof(*page));
	sl_err err = a && page ? SL_OK : SL_ENOMEM;
	int64_t cursor = 0;
	while (!err) {
		sl_arena_reset(a);
		pg_params p = {0};
		pp_i64(&p, cursor);
		pp_i64(&p, EVENT_PAGE);
		pp_i64(&p, since);
		PGresult *r = pg_query(s, &st_event_page, &p, "read events", &err);
		size_t n = r ? (size_t)PQntuples(r) : 0;
		for (size_t i = 0; i < n && !err; i++) {
			err = decode_event(r, (int)i, a, &page[i]);
			page[i].n_reports = (size_t)pg_i64(r, (int)i, 14);
		}
		PQclear(r);
		for (size_t i = 0; i < n && !err; i++)
			err = visit(ud, &page[i]);
		if (err || n < EVENT_PAGE)
			break;
		cursor = page[n - 1].id;
	}
	free(page);
	sl_arena_free(a);
	return err;
}

static pg_stmt st_count_events = PG_STMT("SELECT count(*) FROM events");

sl_err pg_count_events(sl_store *base, int64_t *out)
{
	*out = 0;
	return pg_one_int((pg_store *)base, &st_count_events, NULL, "count events", out);
}
