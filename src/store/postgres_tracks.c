/*
 * postgres_tracks.c — tracks in the PostgreSQL backend (store.h,
 * docs/STORE.md), with sqlite_tracks.c's rules: only the tracker writes
 * them, replacing a track's row and events whole, all of a save in one
 * transaction; an event deleted meanwhile is skipped, not an error.
 *
 * The tracker runs where the engine runs, on the server holding the
 * engine's lock: a save checks that lock as the engine's save does
 * (pg_engine_fence), so a leader that lost it cannot write over its
 * successor's tracks.
 */
#include "store/postgres_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- saving */

/* $1 is the id; $2 .. $27 the columns in the order bind_track gives them. */
#define TRACK_SET_COLUMNS                                                                \
	"category, t_first, t_last, first_lat, first_lon, last_lat, last_lon,"           \
	" heading_deg, length_m, confidence, may_continue, direction,"                   \
	" direction_confidence, ukraine_change_m, russia_change_m, crossing_country,"    \
	" crossing_lat, crossing_lon, crossing_distance_m, crossing_name, equipment,"    \
	" n_events, n_reports, updated_at, route, toward_russia"

static pg_stmt st_update = PG_STMT(
    "UPDATE tracks SET (" TRACK_SET_COLUMNS ") = ($2, $3, $4, $5, $6, $7, $8, $9, $10,"
    " $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26,"
    " $27) WHERE id = $1 RETURNING id");
/* $1 is there so that both statements take the same parameters. */
static pg_stmt st_insert = PG_STMT(
    "INSERT INTO tracks (" TRACK_SET_COLUMNS ") SELECT $2, $3, $4, $5, $6, $7, $8, $9,"
    " $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25,"
    " $26, $27 WHERE $1::bigint IS NOT NULL RETURNING id");
static pg_stmt st_clear = PG_STMT("DELETE FROM track_events WHERE track_id = $1");
static pg_stmt st_link = PG_STMT(
    "INSERT INTO track_events (track_id, seq, event_id)"
    " SELECT $1, u.ord - 1, u.e FROM unnest($2::bigint[]) WITH ORDINALITY AS u(e, ord)"
    " WHERE EXISTS (SELECT 1 FROM events WHERE id = u.e)");
static pg_stmt st_delete = PG_STMT("DELETE FROM tracks WHERE id = ANY ($1::bigint[])");

/* The parameters of st_update and st_insert; *eq and *route are malloc'd
 * and must outlive p. */
static sl_err bind_track(pg_params *p, const sl_track *t, int64_t now, char **eq,
			 char **route)
{
	sl_err err = store_items_json(t->items, t->n_items, eq);
	if (!err)
		err = store_route_json(t, route);
	if (err)
		return err;
	pp_i64(p, t->id);
	pp_text(p, sl_category_name(t->category));
	pp_i64(p, t->t_first);
	pp_i64(p, t->t_last);
	pp_f64(p, t->first_lat);
	pp_f64(p, t->first_lon);
	pp_f64(p, t->last_lat);
	pp_f64(p, t->last_lon);
	pp_optf(p, t->has_heading, fmod(fmod(t->heading_deg, 360) + 360, 360));
	pp_f64(p, t->length_m > 0 ? t->length_m : 0);
	pp_f64(p, t->confidence);
	pp_i64(p, t->may_continue);
	pp_text(p, sl_direction_name(t->direction));
	pp_f64(p, t->direction_confidence);
	pp_f64(p, t->ukraine_change_m);
	pp_f64(p, t->russia_change_m);
	pp_opt(p, t->has_crossing, t->crossing_country);
	pp_optf(p, t->has_crossing, t->crossing_lat);
	pp_optf(p, t->has_crossing, t->crossing_lon);
	pp_optf(p, t->has_crossing, t->crossing_distance_m);
	pp_text(p, t->has_crossing ? t->crossing_name : NULL);
	pp_text(p, *eq);
	pp_i64(p, (int64_t)t->n_events);
	pp_i64(p, (int64_t)t->n_reports);
	pp_i64(p, now);
	pp_text(p, *route);
	pp_i64(p, t->toward_russia);
	return SL_OK;
}

/* Runs st (st_update or st_insert) with p; *id the row's id, 0 when none
 * (no track of that id). */
static sl_err write_row(pg_conn *c, pg_stmt *st, const pg_params *p, int64_t *id)
{
	sl_err err;
	PGresult *r = pg_run(c, st, p, "save track", &err);
	*id = r && PQntuples(r) ? pg_i64(r, 0, 0) : 0;
	PQclear(r);
	return err;
}

static sl_err save_track(pg_conn *c, sl_track *t, int64_t now)
{
	char *eq = NULL, *route = NULL;
	pg_params p = {0};
	sl_err err = bind_track(&p, t, now, &eq, &route);
	int64_t id = 0;
	if (!err && t->id > 0)
		err = write_row(c, &st_update, &p, &id);
	if (!err && !id && !(err = write_row(c, &st_insert, &p, &id)) && !id)
		err = SL_ESTORE;
	free(eq);
	free(route);
	if (err)
		return err;
	t->id = id;
	pg_params k = {0};
	pp_i64(&k, t->id);
	if ((err = pg_do(c, &st_clear, &k, "clear track events", NULL)) || !t->n_events)
		return err;
	char *arr = pg_id_array(t->event_ids, t->n_events, sizeof(int64_t));
	if (!arr)
		return SL_ENOMEM;
	pp_text(&k, arr);
	err = pg_do(c, &st_link, &k, "track events", NULL);
	free(arr);
	return err;
}

static sl_err save_body(pg_store *s, pg_conn *c, void *ud)
{
	sl_tracks_save *sv = ud;
	sl_err err = pg_engine_fence(s, c);
	if (!err && sv->n_deleted) {
		char *arr = pg_id_array(sv->deleted, sv->n_deleted, sizeof(int64_t));
		if (!arr)
			return SL_ENOMEM;
		pg_params p = {0};
		pp_text(&p, arr);
		err = pg_do(c, &st_delete, &p, "delete tracks", NULL);
		free(arr);
	}
	for (size_t i = 0; i < sv->n_tracks && !err; i++)
		err = save_track(c, &sv->tracks[i], sv->now);
	return err;
}

sl_err pg_tracks_save(sl_store *base, sl_tracks_save *save)
{
	int64_t *ids = save->n_tracks ? malloc(save->n_tracks * sizeof(*ids)) : NULL;
	if (save->n_tracks && !ids)
		return SL_ENOMEM;
	for (size_t i = 0; i < save->n_tracks; i++)
		ids[i] = save->tracks[i].id;
	sl_err err = pg_in_tx((pg_store *)base, PG_LOCK_WRITE, save_body, save);
	/* Rolled back: the ids given to new tracks inside are not real. */
	for (size_t i = 0; err && i < save->n_tracks; i++)
		save->tracks[i].id = ids[i];
	free(ids);
	return err;
}

/* ---------------------------------------------------------------- reading */

static sl_err decode_track(const PGresult *r, int row, sl_arena *a, bool with_route,
			   sl_track *t)
{
	memset(t, 0, sizeof(*t));
	t->id = pg_i64(r, row, 0);
	if (!sl_category_from_name(PQgetvalue(r, row, 1), &t->category) ||
	    !sl_direction_from_name(PQgetvalue(r, row, 12), &t->direction))
		return SL_ESTORE;
	t->t_first = pg_i64(r, row, 2);
	t->t_last = pg_i64(r, row, 3);
	t->first_lat = pg_f64(r, row, 4);
	t->first_lon = pg_f64(r, row, 5);
	t->last_lat = pg_f64(r, row, 6);
	t->last_lon = pg_f64(r, row, 7);
	t->has_heading = !pg_isnull(r, row, 8);
	t->heading_deg = pg_f64(r, row, 8);
	t->length_m = pg_f64(r, row, 9);
	t->confidence = pg_f64(r, row, 10);
	t->may_continue = pg_i64(r, row, 11) != 0;
	t->direction_confidence = pg_f64(r, row, 13);
	t->ukraine_change_m = pg_f64(r, row, 14);
	t->russia_change_m = pg_f64(r, row, 15);
	t->crossing_name = "";
	sl_err err = SL_OK;
	if (!pg_isnull(r, row, 16)) {
		t->has_crossing = true;
		t->crossing_country = (int)pg_i64(r, row, 16);
		t->crossing_lat = pg_f64(r, row, 17);
		t->crossing_lon = pg_f64(r, row, 18);
		t->crossing_distance_m = pg_f64(r, row, 19);
		const char *name;
		if ((err = pg_str(r, row, 20, a, &name)))
			return err;
		t->crossing_name = name ? name : "";
	}
	t->n_reports = (size_t)pg_i64(r, row, 23);
	t->updated_at = pg_i64(r, row, 24);
	t->toward_russia = pg_i64(r, row, 26) != 0;
	err = pg_isnull(r, row, 21) ? SL_ESTORE
				    : store_items_parse(PQgetvalue(r, row, 21), a, &t->items,
							&t->n_items);
	if (!err && with_route)
		err = pg_isnull(r, row, 25) ? SL_ESTORE
					    : store_route_parse(PQgetvalue(r, row, 25), a, t);
	return err;
}

/* The events of the tracks (and their reports' refs), one query for all. */
static pg_stmt st_members = PG_STMT(
    "SELECT te.track_id, te.event_id, r.ref FROM track_events te"
    " LEFT JOIN event_reports er ON er.event_id = te.event_id AND $2"
    " LEFT JOIN reports r ON r.id = er.report_id"
    " WHERE te.track_id = ANY ($1::bigint[]) ORDER BY te.track_id, te.seq, er.report_id");

typedef struct find_ctx {
	const sl_track_filter *f;
	sl_arena *a;
	sl_track *list;
	size_t n;
} find_ctx;

/* Fills each track's events (and refs) from the rows of st_members, which
 * come grouped by track, in list's id order or not: matched by id. */
static sl_err read_members(pg_conn *c, find_ctx *x)
{
	if (!x->n)
		return SL_OK;
	char *arr = pg_id_array(&x->list[0].id, x->n, sizeof(x->list[0]));
	if (!arr)
		return SL_ENOMEM;
	pg_params p = {0};
	pp_text(&p, arr);
	pp_bool(&p, x->f->with_refs);
	sl_err err;
	PGresult *r = pg_run(c, &st_members, &p, "read track events", &err);
	free(arr);
	int rows = r ? PQntuples(r) : 0;
	for (int i = 0; i < rows && !err;) {
		int64_t tid = pg_i64(r, i, 0);
		int end = i;
		while (end < rows && pg_i64(r, end, 0) == tid)
			end++;
		sl_track *t = NULL;
		for (size_t k = 0; k < x->n && !t; k++)
			if (x->list[k].id == tid)
				t = &x->list[k];
		/* At most one row per event without refs; one per report with. */
		size_t cap = (size_t)(end - i);
		int64_t *ids = sl_arena_alloc(x->a, cap * sizeof(*ids));
		size_t *start = sl_arena_alloc(x->a, (cap + 1) * sizeof(*start));
		const char **refs = sl_arena_alloc(x->a, cap * sizeof(*refs));
		if (!t || !ids || !start || !refs) {
			err = t ? SL_ENOMEM : SL_ESTORE;
			break;
		}
		size_t ne = 0, nr = 0;
		for (int j = i; j < end && !err; j++) {
			int64_t eid = pg_i64(r, j, 1);
			if (!ne || ids[ne - 1] != eid) {
				start[ne] = nr;
				ids[ne++] = eid;
			}
			if (x->f->with_refs && !pg_isnull(r, j, 2))
				err = pg_str(r, j, 2, x->a, &refs[nr++]);
		}
		start[ne] = nr;
		t->event_ids = ids, t->n_events = ne;
		if (x->f->with_refs)
			t->refs = (const char *const *)refs, t->n_refs = nr,
			t->ref_start = start;
		i = end;
	}
	PQclear(r);
	return err;
}

static sl_err find_body(pg_store *s, pg_conn *c, void *ud)
{
	(void)s;
	find_ctx *x = ud;
	const sl_track_filter *f = x->f;
	char sql[1024];
	snprintf(sql, sizeof(sql),
		 "SELECT " TRACK_COLUMNS " FROM tracks WHERE ($1::bigint = 0 OR id = $1)"
		 " AND ($2::bigint IS NULL OR t_last >= $2) AND ($3::bigint IS NULL OR"
		 " t_first <= $3) AND ($4::text IS NULL OR category = $4)"
		 " AND ($5::text IS NULL OR direction = $5) AND n_events >= $6"
		 " AND ($7::bigint = 0 OR id %s $7) ORDER BY id %s LIMIT $8",
		 f->ascending ? ">" : "<", f->ascending ? "ASC" : "DESC");
	pg_params p = {0};
	pp_i64(&p, f->id);
	pp_opt(&p, f->has_from, f->from);
	pp_opt(&p, f->has_to, f->to);
	pp_text(&p, f->has_category ? sl_category_name(f->category) : NULL);
	pp_text(&p, f->has_direction ? sl_direction_name(f->direction) : NULL);
	pp_i64(&p, f->min_events);
	pp_i64(&p, f->cursor);
	pp_i64(&p, (int64_t)f->limit);
	sl_err err;
	PGresult *r = pg_run_sql(c, sql, &p, "read tracks", &err);
	int rows = r ? PQntuples(r) : 0;
	for (int i = 0; i < rows && x->n < f->limit && !err; i++)
		if (!(err = decode_track(r, i, x->a, f->with_route, &x->list[x->n])))
			x->n++;
	PQclear(r);
	return err ? err : read_members(c, x);
}

sl_err pg_find_tracks(sl_store *base, const sl_track_filter *f, sl_arena *a,
		      sl_track **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	find_ctx x = {f, a, sl_arena_alloc(a, f->limit * sizeof(sl_track)), 0};
	if (!x.list)
		return SL_ENOMEM;
	/* One snapshot: a track, its events and their reports agree. */
	sl_err err = pg_in_read((pg_store *)base, find_body, &x);
	if (err == SL_ESTORE)
		fprintf(stderr, PG_LOG "tracks: malformed row\n");
	if (!err) {
		*out = x.list;
		*n = x.n;
	}
	return err;
}
