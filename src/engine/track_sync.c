/*
 * track_sync.c — the tracker attached to a store (track.h, docs/TRACKING.md
 * "State and restarts").
 *
 * The store is the truth here too: the events (which the corroboration
 * engine and the moderators keep) are read, linked, and the tracks saved.
 * At load every event is read and everything linked from scratch; a saved
 * track whose first event, event list and events' estimates are still the
 * same is left as it is, the others are written (a track keeps its id while
 * its first event stays its first), and saved tracks that no longer exist
 * are deleted. A sync reads the events updated since its mark (the store's
 * updated_at; an event updated in the same second is read again, which
 * changes nothing), and every event when their number changed (one was
 * deleted: merged away) or every FULL_EVERY_S seconds in any case; then it
 * relinks from the earliest change and saves the tracks that changed, in
 * chunks of SAVE_CHUNK per transaction.
 */
#include "engine/track_int.h"

#include <stdlib.h>
#include <string.h>

#include "sightline/buf.h"

#define SAVE_CHUNK 500
#define FULL_EVERY_S 300
#define SAVE_ARENA_CAP ((size_t)256 << 20)

/* ---- reading events ---- */

typedef struct reader {
	sl_tracker *t;
	int64_t max_updated;
	/* When every event is read: (id, updated_at) of each, in id order. */
	int64_t *seen;
	size_t n_seen, cap_seen;
	bool collect;
	sl_err err;
} reader;

static sl_err on_event(void *ud, const sl_event *ev)
{
	reader *r = ud;
	if (ev->updated_at > r->max_updated)
		r->max_updated = ev->updated_at;
	if (r->collect) {
		if (!sl_grow((void **)&r->seen, &r->cap_seen, 2 * (r->n_seen + 1),
			     sizeof(int64_t)))
			return SL_ENOMEM;
		r->seen[2 * r->n_seen] = ev->id;
		r->seen[2 * r->n_seen + 1] = ev->updated_at;
		r->n_seen++;
	}
	return sl_tracker_put(r->t, ev);
}

/* The updated_at of event id among those read (in id order), or -1. */
static int64_t updated_of(const reader *r, int64_t id)
{
	size_t lo = 0, hi = r->n_seen;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (r->seen[2 * mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < r->n_seen && r->seen[2 * lo] == id ? r->seen[2 * lo + 1] : -1;
}

/* Reads every event (collect) or those updated since the mark. */
static sl_err read_events(sl_tracker *t, bool all, reader *r)
{
	memset(r, 0, sizeof(*r));
	r->t = t;
	r->collect = all;
	r->max_updated = t->mark;
	sl_err err = sl_store_each_event(t->store, all ? 0 : t->mark, on_event, r);
	if (err || !all)
		return err;
	/* Events the tracker has that the store no longer has. */
	for (size_t i = 0; i < t->nev && !err; i++)
		if ((t->ev[i].flags & TE_LIVE) && updated_of(r, t->ev[i].id) < 0)
			err = sl_tracker_remove(t, t->ev[i].id);
	return err;
}

/* ---- saving ---- */

/* Writes every dirty track and deletes the dead ones. */
static sl_err save(sl_tracker *t, int64_t now)
{
	sl_arena *a = sl_arena_new(SAVE_ARENA_CAP);
	sl_track *chunk = malloc(SAVE_CHUNK * sizeof(*chunk));
	int32_t *which = malloc(SAVE_CHUNK * sizeof(*which));
	sl_err err = a && chunk && which ? SL_OK : SL_ENOMEM;
	size_t k = 0;
	bool deleted = t->n_dead == 0;
	while (!err) {
		size_t n = 0;
		sl_arena_reset(a);
		for (; k < t->ntr && n < SAVE_CHUNK && !err; k++) {
			trk *tk = &t->tr[k];
			if (!tk->live || !tk->dirty)
				continue;
			if ((err = sl_trk_shape(t, k, a, &chunk[n])))
				break;
			chunk[n].id = tk->store_id; /* 0: a new track */
			which[n++] = (int32_t)k;
		}
		if (err || (n == 0 && deleted))
			break;
		sl_tracks_save sv = {.n_tracks = n,
				     .tracks = chunk,
				     .n_deleted = deleted ? 0 : t->n_dead,
				     .deleted = t->dead_ids,
				     .now = now};
		if ((err = sl_store_tracks_save(t->store, &sv)))
			break;
		if (!deleted)
			t->n_dead = 0;
		deleted = true;
		for (size_t i = 0; i < n; i++) {
			t->tr[which[i]].store_id = chunk[i].id;
			t->tr[which[i]].dirty = false;
		}
	}
	free(which);
	free(chunk);
	sl_arena_free(a);
	return err;
}

/* ---- load and sync ---- */

typedef struct saved {
	int64_t head, id, updated_at;
	uint64_t hash; /* of its event ids in order */
	size_t n;
	bool claimed;
} saved;

static uint64_t hash_ids(const int64_t *ids, size_t n)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (size_t i = 0; i < n; i++) {
		uint64_t v = (uint64_t)ids[i];
		for (int b = 0; b < 8; b++) {
			h ^= (v >> (8 * b)) & 0xff;
			h *= 1099511628211ull;
		}
	}
	return h;
}

static int cmp_saved(const void *x, const void *y)
{
	const saved *a = x, *b = y;
	return (a->head > b->head) - (a->head < b->head);
}

/* Every saved track: its first event, id, time and event list's hash. */
static sl_err read_saved(sl_store *s, saved **out, size_t *n_out)
{
	*out = NULL, *n_out = 0;
	sl_arena *a = sl_arena_new((size_t)64 << 20);
	if (!a)
		return SL_ENOMEM;
	sl_track_filter f = {.ascending = true, .limit = SL_TRACKS_MAX};
	saved *list = NULL;
	size_t n = 0, cap = 0;
	sl_err err = SL_OK;
	for (;;) {
		sl_track *tr;
		size_t got;
		sl_arena_reset(a);
		if ((err = sl_store_find_tracks(s, &f, a, &tr, &got)) || got == 0)
			break;
		for (size_t i = 0; i < got; i++) {
			if (!sl_grow((void **)&list, &cap, n + 1, sizeof(*list))) {
				err = SL_ENOMEM;
				break;
			}
			list[n++] = (saved){tr[i].n_events ? tr[i].event_ids[0] : 0,
					    tr[i].id,
					    tr[i].updated_at,
					    hash_ids(tr[i].event_ids, tr[i].n_events),
					    tr[i].n_events,
					    false};
		}
		if (err)
			break;
		f.cursor = tr[got - 1].id;
	}
	sl_arena_free(a);
	if (err) {
		free(list);
		return err;
	}
	if (n)
		qsort(list, n, sizeof(*list), cmp_saved);
	*out = list, *n_out = n;
	return SL_OK;
}

static bool push_dead(sl_tracker *t, int64_t id)
{
	size_t c = t->deadcap;
	if (!sl_grow((void **)&t->dead_heads, &c, t->n_dead + 1, sizeof(int64_t)) ||
	    !sl_grow((void **)&t->dead_ids, &t->deadcap, t->n_dead + 1, sizeof(int64_t)))
		return false;
	t->dead_heads[t->n_dead] = 0;
	t->dead_ids[t->n_dead++] = id;
	return true;
}

/* Gives each track the id of the saved track with its first event, dirty
 * unless nothing of it changed; saved tracks left over are to delete. */
static sl_err match_saved(sl_tracker *t, saved *sv, size_t n, const reader *r)
{
	int64_t *ids = NULL;
	size_t cap = 0;
	sl_err err = SL_OK;
	for (size_t k = 0; k < t->ntr && !err; k++) {
		trk *tk = &t->tr[k];
		if (!tk->live)
			continue;
		saved key = {.head = tk->head_id};
		saved *m = n ? bsearch(&key, sv, n, sizeof(*sv), cmp_saved) : NULL;
		if (!m || m->claimed)
			continue;
		m->claimed = true;
		tk->store_id = m->id;
		if (!sl_grow((void **)&ids, &cap, tk->n, sizeof(*ids))) {
			err = SL_ENOMEM;
			break;
		}
		size_t c = 0;
		bool fresh = true;
		for (int32_t i = tk->head; i != NONE && c < tk->n; i = t->ev[i].next) {
			ids[c++] = t->ev[i].id;
			fresh &= updated_of(r, t->ev[i].id) < m->updated_at;
		}
		tk->dirty = !(fresh && c == m->n && hash_ids(ids, c) == m->hash);
	}
	free(ids);
	for (size_t i = 0; i < n && !err; i++)
		if (!sv[i].claimed && !push_dead(t, sv[i].id))
			err = SL_ENOMEM;
	return err;
}

sl_err sl_tracker_load(sl_tracker *t, sl_store *s, int64_t now)
{
	if (!t || !s || t->store)
		return SL_EINVAL;
	t->store = s;
	saved *sv = NULL;
	size_t nsv = 0;
	reader r;
	int64_t count = 0;
	sl_err err = sl_store_count_events(s, &count);
	if (!err)
		err = read_saved(s, &sv, &nsv);
	if (!err)
		err = read_events(t, true, &r);
	if (!err)
		err = sl_tracker_run(t, NULL);
	if (!err)
		err = match_saved(t, sv, nsv, &r);
	if (!err)
		err = save(t, now);
	if (!err) {
		t->mark = r.max_updated;
		t->known_events = count;
		t->last_full = now;
	}
	free(r.seen);
	free(sv);
	return err;
}

sl_err sl_tracker_sync(sl_tracker *t, int64_t now, size_t *changed)
{
	if (!t || !t->store)
		return SL_EINVAL;
	if (changed)
		*changed = 0;
	int64_t count = 0;
	sl_err err = sl_store_count_events(t->store, &count);
	if (err)
		return err;
	bool all = count != t->known_events || now - t->last_full >= FULL_EVERY_S ||
		   now < t->last_full;
	reader r;
	err = read_events(t, all, &r);
	free(r.seen);
	if (!err)
		err = sl_tracker_run(t, changed);
	if (!err)
		err = save(t, now);
	if (err)
		return err;
	t->mark = r.max_updated;
	t->known_events = count;
	if (all)
		t->last_full = now;
	return SL_OK;
}

sl_err sl_tracker_catch_up(sl_store *s, const sl_track_context *ctx, int64_t now)
{
	if (!s)
		return SL_EINVAL;
	sl_track_context none = {0};
	if (!ctx)
		ctx = &none;
	sl_tracker *t;
	sl_err err =
	    sl_tracker_new(ctx->params, ctx->network, ctx->stations, ctx->borders, &t);
	if (err)
		return err;
	err = sl_tracker_load(t, s, now);
	sl_tracker_free(t);
	return err;
}
