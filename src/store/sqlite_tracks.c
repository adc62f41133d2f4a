/*
 * sqlite_tracks.c — tracks in the SQLite backend (store.h, docs/STORE.md).
 *
 * A track row carries what the tracker says of it (times, places, heading,
 * equipment, direction, the crossing ahead, the route as a JSON array of
 * [lon, lat]); track_events its events in order. Only the tracker writes
 * them, replacing a track's row and events whole in one transaction with
 * the others of its save. An event deleted meanwhile (a moderator merged it
 * away) is skipped, not an error: the tracker's next sync reads that too.
 */
#include "store/sqlite_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- saving */

typedef struct save_ctx {
	sl_tracks_save *save;
	sqlite3_stmt *insert, *update, *clear, *link, *del;
} save_ctx;

/* Binds t's columns ?2 .. ?27 (id is ?1) of INSERT or UPDATE. */
static sl_err bind_track(sqlite3_stmt *st, const sl_track *t, int64_t now, char **eq,
			 char **route)
{
	sl_err err = store_items_json(t->items, t->n_items, eq);
	if (!err)
		err = store_route_json(t, route);
	if (err)
		return err;
	sqlite3_bind_text(st, 2, sl_category_name(t->category), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, t->t_first);
	sqlite3_bind_int64(st, 4, t->t_last);
	sqlite3_bind_double(st, 5, t->first_lat);
	sqlite3_bind_double(st, 6, t->first_lon);
	sqlite3_bind_double(st, 7, t->last_lat);
	sqlite3_bind_double(st, 8, t->last_lon);
	if (t->has_heading)
		sqlite3_bind_double(st, 9, fmod(fmod(t->heading_deg, 360) + 360, 360));
	sqlite3_bind_double(st, 10, t->length_m > 0 ? t->length_m : 0);
	sqlite3_bind_double(st, 11, t->confidence);
	sqlite3_bind_int(st, 12, t->may_continue);
	sqlite3_bind_text(st, 13, sl_direction_name(t->direction), -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 14, t->direction_confidence);
	sqlite3_bind_double(st, 15, t->ukraine_change_m);
	sqlite3_bind_double(st, 16, t->russia_change_m);
	if (t->has_crossing) {
		sqlite3_bind_int(st, 17, t->crossing_country);
		sqlite3_bind_double(st, 18, t->crossing_lat);
		sqlite3_bind_double(st, 19, t->crossing_lon);
		sqlite3_bind_double(st, 20, t->crossing_distance_m);
		sq_bind_text(st, 21, t->crossing_name);
	}
	sqlite3_bind_text(st, 22, *eq, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 23, (sqlite3_int64)t->n_events);
	sqlite3_bind_int64(st, 24, (sqlite3_int64)t->n_reports);
	sqlite3_bind_int64(st, 25, now);
	sqlite3_bind_text(st, 26, *route, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 27, t->toward_russia);
	return SL_OK;
}

static sl_err save_track(sqlite_store *s, save_ctx *c, sl_track *t)
{
	char *eq = NULL, *route = NULL;
	bool exists = false;
	sl_err err = SL_OK;
	if (t->id > 0) {
		sqlite3_bind_int64(c->update, 1, t->id);
		if (!(err = bind_track(c->update, t, c->save->now, &eq, &route))) {
			int rc = sqlite3_step(c->update);
			if (rc != SQLITE_DONE)
				err = sq_fail(s->wdb, "save track");
			exists = rc == SQLITE_DONE && sqlite3_changes64(s->wdb) > 0;
		}
		sq_done_with(c->update);
	}
	if (!err && !exists) {
		free(eq), free(route);
		eq = route = NULL;
		if (!(err = bind_track(c->insert, t, c->save->now, &eq, &route))) {
			if (sqlite3_step(c->insert) == SQLITE_ROW)
				t->id = sqlite3_column_int64(c->insert, 0);
			else
				err = sq_fail(s->wdb, "insert track");
		}
		sq_done_with(c->insert);
	}
	free(eq);
	free(route);
	if (!err) {
		sqlite3_bind_int64(c->clear, 1, t->id);
		err = sq_run(s->wdb, c->clear, "clear track events");
	}
	for (size_t i = 0; i < t->n_events && !err; i++) {
		sqlite3_bind_int64(c->link, 1, t->id);
		sqlite3_bind_int64(c->link, 2, (sqlite3_int64)i);
		sqlite3_bind_int64(c->link, 3, t->event_ids[i]);
		err = sq_run(s->wdb, c->link, "track event");
	}
	return err;
}

static sl_err save_body(sqlite_store *s, void *ud)
{
	save_ctx *c = ud;
	sl_err err;
	if ((err = sq_prepare_once(
		 s->wdb,
		 "INSERT INTO tracks (category, t_first, t_last, first_lat,"
		 " first_lon, last_lat, last_lon, heading_deg, length_m,"
		 " confidence, may_continue, direction, direction_confidence,"
		 " ukraine_change_m, russia_change_m, crossing_country,"
		 " crossing_lat, crossing_lon, crossing_distance_m,"
		 " crossing_name, equipment, n_events, n_reports, updated_at,"
		 " route, toward_russia) VALUES (?2, ?3, ?4, ?5, ?6, ?7, ?8,"
		 " ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20,"
		 " ?21, ?22, ?23, ?24, ?25, ?26, ?27) RETURNING id",
		 &c->insert)) ||
	    (err = sq_prepare_once(
		 s->wdb,
		 "UPDATE tracks SET category = ?2, t_first = ?3, t_last = ?4,"
		 " first_lat = ?5, first_lon = ?6, last_lat = ?7, last_lon = ?8,"
		 " heading_deg = ?9, length_m = ?10, confidence = ?11, may_continue = "
		 "?12,"
		 " direction = ?13, direction_confidence = ?14, ukraine_change_m = ?15,"
		 " russia_change_m = ?16, crossing_country = ?17, crossing_lat = ?18,"
		 " crossing_lon = ?19, crossing_distance_m = ?20, crossing_name = ?21,"
		 " equipment = ?22, n_events = ?23, n_reports = ?24, updated_at = ?25,"
		 " route = ?26, toward_russia = ?27 WHERE id = ?1",
		 &c->update)) ||
	    (err = sq_prepare_once(s->wdb, "DELETE FROM track_events WHERE track_id = ?1",
				   &c->clear)) ||
	    (err = sq_prepare_once(s->wdb,
				   "INSERT INTO track_events (track_id, seq, event_id)"
				   " SELECT ?1, ?2, ?3 WHERE EXISTS"
				   " (SELECT 1 FROM events WHERE id = ?3)",
				   &c->link)) ||
	    (err = sq_prepare_once(s->wdb, "DELETE FROM tracks WHERE id = ?1", &c->del)))
		return err;
	sl_tracks_save *sv = c->save;
	for (size_t i = 0; i < sv->n_deleted && !err; i++) {
		sqlite3_bind_int64(c->del, 1, sv->deleted[i]);
		err = sq_run(s->wdb, c->del, "delete track");
	}
	for (size_t i = 0; i < sv->n_tracks && !err; i++)
		err = save_track(s, c, &sv->tracks[i]);
	return err;
}

sl_err sq_tracks_save(sl_store *base, sl_tracks_save *save)
{
	sqlite_store *s = (sqlite_store *)base;
	save_ctx c = {.save = save};
	int64_t *ids = save->n_tracks ? malloc(save->n_tracks * sizeof(*ids)) : NULL;
	if (save->n_tracks && !ids)
		return SL_ENOMEM;
	for (size_t i = 0; i < save->n_tracks; i++)
		ids[i] = save->tracks[i].id;
	sl_err err = sq_in_write_tx(s, save_body, &c);
	sqlite3_finalize(c.insert);
	sqlite3_finalize(c.update);
	sqlite3_finalize(c.clear);
	sqlite3_finalize(c.link);
	sqlite3_finalize(c.del);
	/* Rolled back: the ids given to new tracks inside are not real. */
	for (size_t i = 0; err && i < save->n_tracks; i++)
		save->tracks[i].id = ids[i];
	free(ids);
	return err;
}

/* ---------------------------------------------------------------- reading */

static sl_err decode_track(sqlite3_stmt *st, sl_arena *a, bool with_route, sl_track *t)
{
	memset(t, 0, sizeof(*t));
	t->id = sqlite3_column_int64(st, 0);
	if (!sl_category_from_name((const char *)sqlite3_column_text(st, 1),
				   &t->category) ||
	    !sl_direction_from_name((const char *)sqlite3_column_text(st, 12),
				    &t->direction))
		return SL_ESTORE;
	t->t_first = sqlite3_column_int64(st, 2);
	t->t_last = sqlite3_column_int64(st, 3);
	t->first_lat = sqlite3_column_double(st, 4);
	t->first_lon = sqlite3_column_double(st, 5);
	t->last_lat = sqlite3_column_double(st, 6);
	t->last_lon = sqlite3_column_double(st, 7);
	if (sqlite3_column_type(st, 8) != SQLITE_NULL) {
		t->has_heading = true;
		t->heading_deg = sqlite3_column_double(st, 8);
	}
	t->length_m = sqlite3_column_double(st, 9);
	t->confidence = sqlite3_column_double(st, 10);
	t->may_continue = sqlite3_column_int(st, 11) != 0;
	t->direction_confidence = sqlite3_column_double(st, 13);
	t->ukraine_change_m = sqlite3_column_double(st, 14);
	t->russia_change_m = sqlite3_column_double(st, 15);
	t->crossing_name = "";
	if (sqlite3_column_type(st, 16) != SQLITE_NULL) {
		t->has_crossing = true;
		t->crossing_country = sqlite3_column_int(st, 16);
		t->crossing_lat = sqlite3_column_double(st, 17);
		t->crossing_lon = sqlite3_column_double(st, 18);
		t->crossing_distance_m = sqlite3_column_double(st, 19);
		const char *name;
		sl_err err = sq_column_str(st, 20, a, &name);
		if (err)
			return err;
		t->crossing_name = name ? name : "";
	}
	t->n_reports = (size_t)sqlite3_column_int64(st, 23);
	t->toward_russia = sqlite3_column_int(st, 26) != 0;
	t->updated_at = sqlite3_column_int64(st, 24);
	const char *eq = (const char *)sqlite3_column_text(st, 21);
	sl_err err = eq ? store_items_parse(eq, a, &t->items, &t->n_items) : SL_ESTORE;
	const char *route = (const char *)sqlite3_column_text(st, 25);
	if (!err && with_route)
		err = route ? store_route_parse(route, a, t) : SL_ESTORE;
	return err;
}

/* A growing array in the arena: returns the new base (old contents
 * copied) with room for need, or NULL. */
static void *arena_grow(sl_arena *a, void *old, size_t n, size_t *cap, size_t need,
			size_t elem)
{
	if (need <= *cap)
		return old;
	size_t c = *cap ? *cap * 2 : 8;
	while (c < need)
		c *= 2;
	void *g = sl_arena_alloc(a, c * elem);
	if (g && n)
		memcpy(g, old, n * elem);
	if (g)
		*cap = c;
	return g;
}

/* The events of t (and, when with_refs, their reports' refs). The caller
 * holds the read lock. */
static sl_err read_track_events(sqlite_store *s, sqlite3_stmt *evs, sqlite3_stmt *refs,
				sl_arena *a, sl_track *t)
{
	int64_t *ids = NULL;
	size_t n = 0, cap = 0;
	sl_err err = SL_OK;
	sqlite3_bind_int64(evs, 1, t->id);
	int rc;
	while ((rc = sqlite3_step(evs)) == SQLITE_ROW) {
		if (!(ids = arena_grow(a, ids, n, &cap, n + 1, sizeof(*ids)))) {
			err = SL_ENOMEM;
			break;
		}
		ids[n++] = sqlite3_column_int64(evs, 0);
	}
	if (!err && rc != SQLITE_DONE)
		err = sq_fail(s->rdb, "read track events");
	sq_done_with(evs);
	t->event_ids = ids, t->n_events = n;
	if (err || !refs)
		return err;
	size_t *start = sl_arena_alloc(a, (n + 1) * sizeof(*start));
	const char **list = NULL;
	size_t nr = 0, capr = 0;
	if (!start)
		return SL_ENOMEM;
	for (size_t i = 0; i < n && !err; i++) {
		start[i] = nr;
		sqlite3_bind_int64(refs, 1, ids[i]);
		while ((rc = sqlite3_step(refs)) == SQLITE_ROW) {
			const char *ref;
			if ((err = sq_column_str(refs, 0, a, &ref)))
				break;
			if (!ref)
				continue;
			if (!(list = arena_grow(a, list, nr, &capr, nr + 1,
						sizeof(*list)))) {
				err = SL_ENOMEM;
				break;
			}
			list[nr++] = ref;
		}
		if (!err && rc != SQLITE_DONE)
			err = sq_fail(s->rdb, "read track refs");
		sq_done_with(refs);
	}
	start[n] = nr;
	t->refs = (const char *const *)list, t->n_refs = nr, t->ref_start = start;
	return err;
}

sl_err sq_find_tracks(sl_store *base, const sl_track_filter *f, sl_arena *a,
		      sl_track **out, size_t *n)
{
	sqlite_store *s = (sqlite_store *)base;
	*out = NULL;
	*n = 0;
	sl_track *list = sl_arena_alloc(a, f->limit * sizeof(*list));
	if (!list)
		return SL_ENOMEM;
	char sql[1024];
	snprintf(sql, sizeof(sql),
		 "SELECT " TRACK_COLUMNS " FROM tracks WHERE (?1 = 0 OR id = ?1)"
		 " AND (?2 = 0 OR t_last >= ?3) AND (?4 = 0 OR t_first <= ?5)"
		 " AND (?6 IS NULL OR category = ?6) AND (?7 IS NULL OR direction = ?7)"
		 " AND n_events >= ?8 AND (?9 = 0 OR id %s ?9)"
		 " ORDER BY id %s LIMIT ?10",
		 f->ascending ? ">" : "<", f->ascending ? "ASC" : "DESC");
	sqlite3_stmt *st = NULL, *evs = NULL, *refs = NULL;
	pthread_mutex_lock(&s->rlock);
	/* One read transaction: a track, its events and their reports agree. */
	sqlite3_exec(s->rdb, "BEGIN", NULL, NULL, NULL);
	sl_err err = sq_prepare_once(s->rdb, sql, &st);
	if (!err) {
		sqlite3_bind_int64(st, 1, f->id);
		sqlite3_bind_int(st, 2, f->has_from);
		sqlite3_bind_int64(st, 3, f->from);
		sqlite3_bind_int(st, 4, f->has_to);
		sqlite3_bind_int64(st, 5, f->to);
		if (f->has_category)
			sqlite3_bind_text(st, 6, sl_category_name(f->category), -1,
					  SQLITE_STATIC);
		if (f->has_direction)
			sqlite3_bind_text(st, 7, sl_direction_name(f->direction), -1,
					  SQLITE_STATIC);
		sqlite3_bind_int64(st, 8, f->min_events);
		sqlite3_bind_int64(st, 9, f->cursor);
		sqlite3_bind_int64(st, 10, (sqlite3_int64)f->limit);
		int rc = SQLITE_DONE;
		while (*n < f->limit && (rc = sqlite3_step(st)) == SQLITE_ROW) {
			if ((err = decode_track(st, a, f->with_route, &list[*n])))
				break;
			(*n)++;
		}
		if (!err && rc != SQLITE_DONE && rc != SQLITE_ROW)
			err = sq_fail(s->rdb, "read tracks");
		sqlite3_finalize(st);
	}
	if (!err)
		err = sq_prepare_once(
		    s->rdb,
		    "SELECT event_id FROM track_events WHERE track_id = ?1"
		    " ORDER BY seq",
		    &evs);
	if (!err && f->with_refs)
		err = sq_prepare_once(s->rdb,
				      "SELECT r.ref FROM event_reports er JOIN reports r"
				      " ON r.id = er.report_id WHERE er.event_id = ?1"
				      " ORDER BY er.report_id",
				      &refs);
	for (size_t i = 0; i < *n && !err; i++)
		err = read_track_events(s, evs, refs, a, &list[i]);
	sqlite3_finalize(evs);
	sqlite3_finalize(refs);
	sqlite3_exec(s->rdb, "COMMIT", NULL, NULL, NULL);
	pthread_mutex_unlock(&s->rlock);
	if (err == SL_ESTORE)
		fprintf(stderr, LOG_PREFIX "tracks: malformed row\n");
	if (err)
		*n = 0;
	else
		*out = list;
	return err;
}
