/*
 * store.c — the public store API, forwarding to the backend's ops table,
 * and the choice of backend: a PostgreSQL URL, or the SQLite file in the
 * data directory.
 */
#include "store/store_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define LOG_PREFIX "sightline: store: "

sl_err sl_store_open(const char *data_dir, sl_store **out)
{
	return sl_store_open_url(data_dir, NULL, out);
}

/* Whether url names a PostgreSQL database: libpq's URI form only, so that
 * a typo in a path is never taken for a set of connection keywords. */
static bool is_postgres_url(const char *url)
{
	return strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0;
}

sl_err sl_store_open_url(const char *data_dir, const char *url, sl_store **out)
{
	if (!data_dir || !out)
		return SL_EINVAL;
	*out = NULL;
	if (!url || !*url || strcmp(url, "sqlite") == 0)
		return sl_store_sqlite_open(data_dir, out);
	if (is_postgres_url(url))
		return sl_store_postgres_open(data_dir, url, out);
	fprintf(stderr,
		LOG_PREFIX "--store must be \"sqlite\" or a postgresql:// URL\n");
	return SL_EINVAL;
}

sl_err store_make_data_dir(const char *dir)
{
	struct stat st;
	if (stat(dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode)) {
			fprintf(stderr, LOG_PREFIX "the data directory is not a directory\n");
			return SL_EIO;
		}
		if (st.st_mode & 077)
			fprintf(stderr,
				LOG_PREFIX "warning: the data directory is "
					   "open to other users (mode %03o); "
					   "chmod 700 it\n",
				(unsigned)(st.st_mode & 0777));
		return SL_OK;
	}
	char path[4096];
	if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path))
		return SL_EINVAL;
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0700) != 0 && errno != EEXIST) {
			fprintf(stderr, LOG_PREFIX "cannot create data directory: %s\n",
				strerror(errno));
			return SL_EIO;
		}
		*p = '/';
	}
	if (mkdir(path, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, LOG_PREFIX "cannot create data directory: %s\n",
			strerror(errno));
		return SL_EIO;
	}
	return SL_OK;
}


void sl_store_close(sl_store *s)
{
	if (s)
		s->ops->close(s);
}

sl_err sl_store_put_reports(sl_store *s, sl_report *const *reports, size_t n,
			    sl_put_result *results)
{
	if (n == 0)
		return SL_OK;
	return s->ops->put_reports(s, reports, n, results);
}

sl_err sl_store_report_status(sl_store *s, const uint8_t hash[32], int64_t *id,
			      sl_report_status *out)
{
	return s->ops->report_status(s, hash, id, out);
}

sl_err sl_store_get_report(sl_store *s, int64_t id, int64_t moderator_id, sl_arena *a,
			   sl_report *out)
{
	return s->ops->get_report(s, id, moderator_id, a, out);
}

sl_err sl_store_put_sealed(sl_store *s, int64_t report_id, sl_sealed *item)
{
	return s->ops->put_sealed(s, report_id, item);
}

sl_err sl_store_keys_since(sl_store *s, int64_t since, int64_t holder_id, size_t *n,
			   int64_t **sealed_ids, uint8_t **wrapped)
{
	return s->ops->keys_since(s, since, holder_id, n, sealed_ids, wrapped);
}

sl_err sl_store_add_keys(sl_store *s, int64_t moderator_id, size_t n,
			 const int64_t *sealed_ids, const uint8_t *wrapped)
{
	if (n == 0)
		return SL_OK;
	return s->ops->add_keys(s, moderator_id, n, sealed_ids, wrapped);
}

sl_err sl_store_purge_sealed(sl_store *s, int64_t before, int64_t *n)
{
	return s->ops->purge_sealed(s, before, n);
}

sl_err sl_store_add_moderator(sl_store *s, sl_moderator *m)
{
	return s->ops->add_moderator(s, m);
}

sl_err sl_store_get_moderator(sl_store *s, const char *name, sl_moderator *out)
{
	return s->ops->get_moderator(s, name, out);
}

sl_err sl_store_list_moderators(sl_store *s, bool all, sl_moderator **out, size_t *n)
{
	return s->ops->list_moderators(s, all, out, n);
}

sl_err sl_store_remove_moderator(sl_store *s, const char *name, int64_t now)
{
	return s->ops->remove_moderator(s, name, now);
}

sl_err sl_store_each_report(sl_store *s, int64_t after_id, sl_report_visit visit,
			    void *ud)
{
	return s->ops->each_report(s, after_id, visit, ud);
}

sl_err sl_store_count_reports(sl_store *s, int64_t *out)
{
	return s->ops->count_reports(s, out);
}

sl_err sl_store_audit_append(sl_store *s, const sl_audit_entry *e)
{
	return s->ops->audit_append(s, e);
}

sl_err sl_store_audit_last(sl_store *s, sl_audit_entry *out, sl_arena *a)
{
	return s->ops->audit_last(s, out, a);
}

sl_err sl_store_each_audit(sl_store *s, int64_t after_seq, sl_audit_visit visit, void *ud)
{
	return s->ops->each_audit(s, after_seq, visit, ud);
}

sl_err sl_store_queue(sl_store *s, bool open_only, int64_t now, size_t limit, sl_arena *a,
		      sl_queue_item **out, size_t *n)
{
	if (!a || !out || !n || limit == 0 || limit > SL_QUEUE_MAX)
		return SL_EINVAL;
	return s->ops->queue(s, open_only, now, limit, a, out, n);
}

sl_err sl_store_get_review(sl_store *s, int64_t id, sl_arena *a, sl_review *out)
{
	if (!a || !out)
		return SL_EINVAL;
	return s->ops->get_review(s, id, a, out);
}

sl_err sl_store_set_status(sl_store *s, int64_t id, sl_report_status status,
			   const char *reason, int64_t moderator_id, int64_t now)
{
	if ((unsigned)status >= SL_STATUS_COUNT)
		return SL_EINVAL;
	return s->ops->set_status(s, id, status, reason, moderator_id, now);
}

sl_err sl_store_set_grade(sl_store *s, int64_t id, char reliability, int credibility)
{
	if (reliability < 'A' || reliability > 'F' || credibility < 1 || credibility > 6)
		return SL_EINVAL;
	return s->ops->set_grade(s, id, reliability, credibility);
}

sl_err sl_store_claim(sl_store *s, int64_t id, int64_t moderator_id, int64_t now,
		      int64_t until, int64_t *held_by)
{
	if (moderator_id <= 0 || until <= now)
		return SL_EINVAL;
	return s->ops->claim(s, id, moderator_id, now, until, held_by);
}

sl_err sl_store_release(sl_store *s, int64_t id, int64_t moderator_id, int64_t now)
{
	return s->ops->release(s, id, moderator_id, now);
}

sl_err sl_store_update_report(sl_store *s, const sl_report *r)
{
	if (!r || r->id <= 0)
		return SL_EINVAL;
	return s->ops->update_report(s, r);
}

sl_err sl_store_event_create(sl_store *s, sl_event *e)
{
	if (!e || (e->n_reports && !e->report_ids) ||
	    (e->has_category && (unsigned)e->category >= SL_CAT_COUNT))
		return SL_EINVAL;
	return s->ops->event_create(s, e);
}

sl_err sl_store_event_attach(sl_store *s, int64_t event_id, int64_t report_id,
			     int64_t moderator_id, int64_t now)
{
	return s->ops->event_attach(s, event_id, report_id, moderator_id, now);
}

sl_err sl_store_event_detach(sl_store *s, int64_t event_id, int64_t report_id,
			     int64_t moderator_id, int64_t now)
{
	return s->ops->event_detach(s, event_id, report_id, moderator_id, now);
}

sl_err sl_store_event_merge(sl_store *s, int64_t into, int64_t from, int64_t moderator_id,
			    int64_t now)
{
	if (into == from)
		return SL_EINVAL;
	return s->ops->event_merge(s, into, from, moderator_id, now);
}

sl_err sl_store_event_split(sl_store *s, int64_t from, const int64_t *report_ids,
			    size_t n, int64_t moderator_id, int64_t now, int64_t *new_id)
{
	if (!report_ids || n == 0 || !new_id)
		return SL_EINVAL;
	return s->ops->event_split(s, from, report_ids, n, moderator_id, now, new_id);
}

sl_err sl_store_find_events(sl_store *s, const sl_event_filter *f, sl_arena *a,
			    sl_event **out, size_t *n)
{
	if (!f || !a || !out || !n || f->limit == 0 || f->limit > SL_EVENTS_MAX ||
	    (f->has_category && (unsigned)f->category >= SL_CAT_COUNT))
		return SL_EINVAL;
	return s->ops->find_events(s, f, a, out, n);
}

sl_err sl_store_events(sl_store *s, int64_t id, size_t limit, sl_arena *a, sl_event **out,
		       size_t *n)
{
	if (!a || !out || !n || (id == 0 && limit == 0))
		return SL_EINVAL;
	sl_event_filter f = {.id = id, .limit = id ? 1 : limit};
	if (f.limit > SL_EVENTS_MAX)
		f.limit = SL_EVENTS_MAX;
	return s->ops->find_events(s, &f, a, out, n);
}

sl_err sl_store_each_item(sl_store *s, int64_t after_id, sl_item_visit visit, void *ud)
{
	if (!visit)
		return SL_EINVAL;
	return s->ops->each_item(s, after_id, visit, ud);
}

sl_err sl_store_get_item(sl_store *s, int64_t id, sl_arena *a, sl_queue_item *out)
{
	if (!a || !out)
		return SL_EINVAL;
	return s->ops->get_item(s, id, a, out);
}

sl_err sl_store_changes(sl_store *s, int64_t after, size_t max, sl_change *out, size_t *n)
{
	if (!out || !n || max == 0)
		return SL_EINVAL;
	return s->ops->changes(s, after, max, out, n);
}

sl_err sl_store_engine_state(sl_store *s, bool engine_links, sl_engine_state *out)
{
	if (!out)
		return SL_EINVAL;
	return s->ops->engine_state(s, engine_links, out);
}

void sl_engine_state_free(sl_engine_state *st)
{
	if (!st)
		return;
	free(st->events);
	free(st->links);
	free(st->bans);
	memset(st, 0, sizeof(*st));
}

sl_err sl_store_engine_save(sl_store *s, sl_engine_save *save)
{
	if (!save || (save->n_events && !save->events) ||
	    (save->n_deleted && !save->deleted))
		return SL_EINVAL;
	return s->ops->engine_save(s, save);
}

sl_err sl_store_engine_lock(sl_store *s, bool *got)
{
	if (!got)
		return SL_EINVAL;
	return s->ops->engine_lock(s, got);
}

sl_err sl_store_report_events(sl_store *s, int64_t report_id, sl_arena *a, int64_t **ids,
			      size_t *n)
{
	if (!a || !ids || !n)
		return SL_EINVAL;
	return s->ops->report_events(s, report_id, a, ids, n);
}

sl_err sl_store_meta_get(sl_store *s, const char *key, char **out)
{
	return s->ops->meta_get(s, key, out);
}

sl_err sl_store_meta_set(sl_store *s, const char *key, const char *value)
{
	return s->ops->meta_set(s, key, value);
}

sl_err sl_store_check(sl_store *s)
{
	return s->ops->check(s);
}

/* ---- publication ---- */

sl_err sl_store_pub_sources(sl_store *s, sl_pub_source_visit visit, void *ud)
{
	return s->ops->pub_sources(s, visit, ud);
}

sl_err sl_store_pub_fingerprint(sl_store *s, sl_pub_fingerprint *out)
{
	return s->ops->pub_fingerprint(s, out);
}

sl_err sl_store_pub_setting_get(sl_store *s, const char *key, char **out)
{
	return s->ops->pub_setting_get(s, key, out);
}

sl_err sl_store_pub_setting_set(sl_store *s, const char *key, const char *value,
				int64_t moderator_id, int64_t now)
{
	return s->ops->pub_setting_set(s, key, value, moderator_id, now);
}

sl_err sl_store_photo_set(sl_store *s, int64_t event_id, const uint8_t *jpeg, size_t len,
			  int64_t moderator_id, int64_t now)
{
	if (jpeg && (len < 4 || len > SL_PUB_PHOTO_MAX))
		return SL_EINVAL;
	return s->ops->photo_set(s, event_id, jpeg, len, moderator_id, now);
}

sl_err sl_store_photo_get(sl_store *s, int64_t event_id, uint8_t **out, size_t *len)
{
	if (!out || !len)
		return SL_EINVAL;
	return s->ops->photo_get(s, event_id, out, len);
}

sl_err sl_store_excerpt_set(sl_store *s, int64_t event_id, const char *text,
			    int64_t moderator_id, int64_t now)
{
	return s->ops->excerpt_set(s, event_id, text, moderator_id, now);
}

sl_err sl_store_webhook_add(sl_store *s, sl_webhook *w)
{
	return s->ops->webhook_add(s, w);
}

sl_err sl_store_webhooks(sl_store *s, bool all, sl_webhook **out, size_t *n)
{
	return s->ops->webhooks(s, all, out, n);
}

sl_err sl_store_webhook_remove(sl_store *s, int64_t id, int64_t now)
{
	return s->ops->webhook_remove(s, id, now);
}

sl_err sl_store_pub_record(sl_store *s, const sl_pub_record *recs, size_t n, int64_t now)
{
	if (n == 0)
		return SL_OK;
	return s->ops->pub_record(s, recs, n, now);
}

sl_err sl_store_pub_state(sl_store *s, sl_pub_state_visit visit, void *ud)
{
	return s->ops->pub_state(s, visit, ud);
}

sl_err sl_store_deliveries_due(sl_store *s, int64_t now, size_t max, sl_arena *a,
			       sl_delivery **out, size_t *n)
{
	return s->ops->deliveries_due(s, now, max, a, out, n);
}

sl_err sl_store_delivery_result(sl_store *s, int64_t webhook_id, int64_t seq, bool done,
				int attempts, int64_t next_at, int status)
{
	return s->ops->delivery_result(s, webhook_id, seq, done, attempts, next_at,
				       status);
}

sl_err sl_store_tracks_save(sl_store *s, sl_tracks_save *save)
{
	if (!save || (save->n_tracks && !save->tracks) ||
	    (save->n_deleted && !save->deleted))
		return SL_EINVAL;
	for (size_t i = 0; i < save->n_tracks; i++) {
		const sl_track *t = &save->tracks[i];
		if ((unsigned)t->category >= SL_CAT_COUNT ||
		    (unsigned)t->direction >= SL_DIR_COUNT ||
		    (t->n_events && !t->event_ids) || (t->n_items && !t->items) ||
		    t->n_route > SL_TRACK_ROUTE_MAX ||
		    (t->n_route && (!t->route_lat || !t->route_lon)))
			return SL_EINVAL;
	}
	return s->ops->tracks_save(s, save);
}

sl_err sl_store_find_tracks(sl_store *s, const sl_track_filter *f, sl_arena *a,
			    sl_track **out, size_t *n)
{
	if (!f || !a || !out || !n || f->limit == 0 || f->limit > SL_TRACKS_MAX ||
	    (f->has_category && (unsigned)f->category >= SL_CAT_COUNT) ||
	    (f->has_direction && (unsigned)f->direction >= SL_DIR_COUNT))
		return SL_EINVAL;
	return s->ops->find_tracks(s, f, a, out, n);
}

sl_err sl_store_each_event(sl_store *s, int64_t since, sl_event_visit visit, void *ud)
{
	if (!visit)
		return SL_EINVAL;
	return s->ops->each_event(s, since, visit, ud);
}

sl_err sl_store_count_events(sl_store *s, int64_t *out)
{
	if (!out)
		return SL_EINVAL;
	return s->ops->count_events(s, out);
}

static const char *const direction_names[SL_DIR_COUNT] = {
    "unknown", "toward_ukraine", "away_from_ukraine", "toward_russia", "internal",
};

const char *sl_direction_name(sl_direction d)
{
	return (unsigned)d < SL_DIR_COUNT ? direction_names[d] : "unknown";
}

bool sl_direction_from_name(const char *name, sl_direction *out)
{
	for (int d = 0; name && d < SL_DIR_COUNT; d++)
		if (strcmp(name, direction_names[d]) == 0) {
			*out = (sl_direction)d;
			return true;
		}
	return false;
}

const char *sl_store_backend(const sl_store *s)
{
	return s->ops->name;
}
