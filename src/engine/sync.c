/*
 * sync.c — the engine attached to a store: rebuilding its state from what
 * was saved, taking in moderators' decisions and new reports, saving what
 * changed (docs/ENGINE.md, "State and restarts").
 *
 * The store is the truth. At load the engine reads every report, every
 * event and link and ban, puts the reports back where they were saved, and
 * places the ones not placed yet (new since the last save, or freed by a
 * moderator meanwhile). A sync reads the change log after its mark: a
 * report a moderator edited, graded, verified or rejected is read again and
 * placed again; any change to an event makes the engine read the
 * moderators' decisions again (their events, links and bans) and follow
 * them. Then it reads the reports stored after its mark, places them, and
 * saves every event that changed, in chunks of SAVE_CHUNK events per
 * transaction; the marks move with the last chunk, so a crash in between
 * only repeats work.
 */
#include "engine/engine_int.h"

#include <stdlib.h>
#include <string.h>

#define SAVE_CHUNK 4096 /* events per save transaction */
#define CHANGE_PAGE 256 /* changes read at once */
#define SAVE_ARENA_CAP ((size_t)256 << 20)

/* ---- loading ---- */

static sl_err load_item(void *ud, const sl_queue_item *it)
{
	sl_engine *e = ud;
	int32_t i;
	bool moved, reweighed;
	sl_err err = sl_eng_put_report(e, it, &i, &moved, &reweighed);
	if (!err && it->report.id > e->last_report)
		e->last_report = it->report.id;
	return err;
}

static int cmp_pair(const void *a, const void *b)
{
	const int64_t *x = a, *y = b;
	if (x[0] != y[0])
		return x[0] < y[0] ? -1 : 1;
	return (x[1] > y[1]) - (x[1] < y[1]);
}

/* Takes the bans of st as the engine's (sorted pairs). */
static sl_err take_bans(sl_engine *e, const sl_engine_state *st)
{
	int64_t *b = st->n_bans ? malloc(st->n_bans * 2 * sizeof(*b)) : NULL;
	if (st->n_bans && !b)
		return SL_ENOMEM;
	for (size_t i = 0; i < st->n_bans; i++) {
		b[2 * i] = st->bans[i].event_id;
		b[2 * i + 1] = st->bans[i].report_id;
	}
	if (b)
		qsort(b, st->n_bans, 2 * sizeof(*b), cmp_pair);
	free(e->bans);
	e->bans = b;
	e->nbans = st->n_bans;
	return SL_OK;
}

/* The in-memory event of a stored one, made (empty) when the engine has
 * not seen it. */
static int32_t event_for(sl_engine *e, const sl_event *se)
{
	int32_t v = sl_idmap_get(&e->by_store, se->id);
	if (v != NONE)
		return v;
	v = sl_eng_new_event(e, se->has_category ? (uint8_t)se->category : 0);
	if (v == NONE)
		return NONE;
	if (!se->has_category)
		e->e[v].flags &= (uint8_t)~E_HAS_CAT;
	e->e[v].store_id = se->id;
	e->e[v].flags &= (uint8_t)~E_DIRTY;
	if (sl_idmap_put(&e->by_store, se->id, v) != SL_OK) {
		e->e[v].store_id = 0;
		sl_eng_kill(e, v);
		return NONE;
	}
	return v;
}

/* The pin set of report r, made when make. */
static pinset *pinset_of(sl_engine *e, int32_t r, bool make)
{
	int32_t p = sl_idmap_get(&e->pin_of, (int64_t)r + 1);
	if (p != NONE)
		return &e->pins[p];
	if (!make)
		return NULL;
	if (e->npins == e->pincap) {
		size_t ncap = e->pincap ? e->pincap * 2 : 64;
		pinset *g = realloc(e->pins, ncap * sizeof(*g));
		if (!g)
			return NULL;
		e->pins = g;
		e->pincap = ncap;
	}
	if (sl_idmap_put(&e->pin_of, (int64_t)r + 1, (int32_t)e->npins) != SL_OK)
		return NULL;
	pinset *ps = &e->pins[e->npins++];
	memset(ps, 0, sizeof(*ps));
	ps->rep = r;
	return ps;
}

static bool pinned_to(const pinset *ps, int32_t v)
{
	for (uint32_t k = 0; ps && k < ps->n && k < 4; k++)
		if (ps->ev[k] == v)
			return true;
	return false;
}

/* A moderator's link of report r to event v. */
static sl_err pin(sl_engine *e, int32_t r, int32_t v)
{
	pinset *ps = pinset_of(e, r, true);
	if (!ps)
		return SL_ENOMEM;
	if (pinned_to(ps, v))
		return SL_OK;
	if (e->r[r].home != NONE)
		sl_eng_unplace(e, r); /* the moderator's place wins */
	e->r[r].flags |= R_PINNED;
	if (ps->n < 4)
		ps->ev[ps->n] = v;
	ps->n++;
	return sl_eng_member_add(e, v, r);
}

sl_err sl_engine_load(sl_engine *e, sl_store *s, int64_t now)
{
	(void)now;
	if (!e || !s || e->store)
		return SL_EINVAL;
	e->store = s;
	sl_engine_state st;
	sl_err err = sl_store_engine_state(s, true, &st);
	if (err)
		return err;
	int64_t mark_change = 0;
	char *v = NULL;
	if (sl_store_meta_get(s, "engine.last_change", &v) == SL_OK)
		mark_change = strtoll(v, NULL, 10);
	free(v);
	if (!err)
		err = sl_store_each_item(s, 0, load_item, e);
	if (!err)
		err = take_bans(e, &st);
	for (size_t i = 0; i < st.n_events && !err; i++) {
		int32_t ev = event_for(e, &st.events[i]);
		if (ev == NONE)
			err = SL_ENOMEM;
		else if (st.events[i].by_moderator)
			e->e[ev].flags |= E_DECIDED;
	}
	/* Moderators' links first: they win over a stale engine link. */
	for (size_t i = 0; i < st.n_links && !err; i++) {
		const sl_event_link *l = &st.links[i];
		int32_t ev = sl_idmap_get(&e->by_store, l->event_id);
		int32_t r = sl_eng_report_index(e, l->report_id);
		if (l->by && ev != NONE && r != NONE)
			err = pin(e, r, ev);
	}
	for (size_t i = 0; i < st.n_links && !err; i++) {
		const sl_event_link *l = &st.links[i];
		int32_t ev = sl_idmap_get(&e->by_store, l->event_id);
		int32_t r = sl_eng_report_index(e, l->report_id);
		if (l->by || ev == NONE || r == NONE)
			continue;
		if (!sl_eng_clusterable(e, r) || e->r[r].home != NONE ||
		    sl_eng_banned(e, ev, r) || e->e[ev].cat != e->r[r].cat) {
			e->e[ev].flags |= E_DIRTY; /* the saved link goes */
			continue;
		}
		if (!(err = sl_eng_member_add(e, ev, r)))
			e->r[r].home = ev;
	}
	/* Saved events start clean; what was changed above is dirty. */
	for (size_t i = 0; i < e->ne && !err; i++) {
		ev *x = &e->e[i];
		if (!(x->flags & E_LIVE))
			continue;
		if (x->n == 0 && !(x->flags & E_DECIDED)) {
			sl_eng_kill(e, (int32_t)i);
			continue;
		}
		err = sl_eng_reindex(e, (int32_t)i);
	}
	/* Reports a moderator changed after the last save are placed again. */
	sl_change ch[CHANGE_PAGE];
	int64_t after = mark_change;
	while (!err) {
		size_t n;
		if ((err = sl_store_changes(s, after, CHANGE_PAGE, ch, &n)) || n == 0)
			break;
		for (size_t i = 0; i < n; i++) {
			int32_t r = sl_eng_report_index(e, ch[i].report_id);
			if (r != NONE && !(e->r[r].flags & R_PINNED))
				sl_eng_unplace(e, r);
			int32_t ev = sl_idmap_get(&e->by_store, ch[i].event_id);
			if (ev != NONE)
				e->e[ev].flags |= E_DIRTY;
		}
		after = ch[n - 1].seq;
	}
	e->last_change = st.last_change > after ? st.last_change : after;
	e->saved_report = st.last_report;
	e->saved_change = mark_change;
	/* Every report not placed yet, in time order. */
	int32_t *todo = err ? NULL : malloc((e->nr + 1) * sizeof(*todo));
	size_t ntodo = 0;
	if (!err && !todo)
		err = SL_ENOMEM;
	for (size_t i = 0; i < e->nr && !err; i++)
		if (e->r[i].home == NONE && sl_eng_clusterable(e, (int32_t)i))
			todo[ntodo++] = (int32_t)i;
	if (!err && ntodo)
		err = sl_eng_place_many(e, todo, ntodo);
	free(todo);
	sl_eng_shrink(e);
	sl_engine_state_free(&st);
	return err;
}

/* ---- moderators' decisions ---- */

static int cmp_link(const void *a, const void *b)
{
	const sl_event_link *x = a, *y = b;
	if (x->report_id != y->report_id)
		return x->report_id < y->report_id ? -1 : 1;
	return (x->event_id > y->event_id) - (x->event_id < y->event_id);
}

static sl_err push_freed(int32_t **arr, size_t *n, size_t *cap, int32_t r)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		int32_t *g = realloc(*arr, nc * sizeof(*g));
		if (!g)
			return SL_ENOMEM;
		*arr = g;
		*cap = nc;
	}
	(*arr)[(*n)++] = r;
	return SL_OK;
}

/* Follows the moderators' events, links and bans as the store has them
 * now; every report whose place they changed is placed again. */
static sl_err reconcile(sl_engine *e)
{
	sl_engine_state st;
	sl_err err = sl_store_engine_state(e->store, false, &st);
	if (err)
		return err;
	if ((err = take_bans(e, &st))) {
		sl_engine_state_free(&st);
		return err;
	}
	/* Events a moderator decided: new ones made, known ones marked. An
	 * event that was decided and is no longer in the store was merged
	 * away: it dies, and its reports are placed again. */
	idmap decided = {0};
	for (size_t i = 0; i < st.n_events && !err; i++) {
		int32_t ev = event_for(e, &st.events[i]);
		if (ev == NONE || (err = sl_idmap_put(&decided, st.events[i].id, ev)))
			err = err ? err : SL_ENOMEM;
		else
			e->e[ev].flags |= E_DECIDED;
	}
	int32_t *freed = NULL;
	size_t nfreed = 0, freecap = 0;
	for (size_t i = 0; i < e->ne && !err; i++) {
		ev *x = &e->e[i];
		if (!(x->flags & E_LIVE) || !(x->flags & E_DECIDED) ||
		    sl_idmap_get(&decided, x->store_id) != NONE)
			continue;
		for (uint32_t k = 0; k < x->n && !err; k++)
			if (e->r[ev_members_c(x)[k]].home == (int32_t)i)
				err = push_freed(&freed, &nfreed, &freecap,
						 ev_members_c(x)[k]);
		for (uint32_t k = 0; k < nfreed; k++)
			if (e->r[freed[k]].home == (int32_t)i)
				e->r[freed[k]].home = NONE;
		/* Gone from the store already: nothing to delete there. */
		sl_idmap_del(&e->by_store, x->store_id);
		x->store_id = 0;
		sl_eng_kill(e, (int32_t)i);
	}
	sl_idmap_free(&decided);
	/* The moderators' links now, report by report, against the pins the
	 * engine holds. */
	if (st.n_links) /* never qsort a NULL array of nothing (UBSan) */
		qsort(st.links, st.n_links, sizeof(*st.links), cmp_link);
	pinset *old = e->pins;
	size_t nold = e->npins;
	e->pins = NULL;
	e->npins = e->pincap = 0;
	sl_idmap_free(&e->pin_of);
	idmap had = {0}; /* report index + 1 -> index in old */
	for (size_t i = 0; i < nold && !err; i++)
		err = sl_idmap_put(&had, (int64_t)old[i].rep + 1, (int32_t)i);
	for (size_t i = 0; i < nold; i++)
		e->r[old[i].rep].flags &= (uint8_t)~R_PINNED;
	for (size_t i = 0; i < st.n_links && !err; i++) {
		int32_t r = sl_eng_report_index(e, st.links[i].report_id);
		int32_t ev = sl_idmap_get(&e->by_store, st.links[i].event_id);
		if (r == NONE || ev == NONE)
			continue;
		int32_t o = sl_idmap_get(&had, (int64_t)r + 1);
		bool was = o != NONE && pinned_to(&old[o], ev);
		pinset *ps = pinset_of(e, r, true);
		if (!ps) {
			err = SL_ENOMEM;
			break;
		}
		if (e->r[r].home != NONE) {
			int32_t h = e->r[r].home;
			sl_eng_unplace(e, r);
			if (h == ev)
				was = false;
		}
		e->r[r].flags |= R_PINNED;
		if (!pinned_to(ps, ev)) {
			if (ps->n < 4)
				ps->ev[ps->n] = ev;
			ps->n++;
		}
		if (!was)
			err = sl_eng_member_add(e, ev, r);
	}
	/* Links that are gone: out of their events; reports no longer
	 * pinned anywhere are placed again. */
	for (size_t i = 0; i < nold && !err; i++) {
		int32_t r = old[i].rep;
		const pinset *now = pinset_of(e, r, false);
		for (uint32_t k = 0; k < old[i].n && k < 4; k++) {
			int32_t ev = old[i].ev[k];
			if (!pinned_to(now, ev) && (e->e[ev].flags & E_LIVE))
				sl_eng_member_remove(e, ev, r);
		}
		if (!now)
			err = push_freed(&freed, &nfreed, &freecap, r);
	}
	sl_idmap_free(&had);
	free(old);
	/* Bans against where the engine put reports. */
	for (size_t i = 0; i < e->nr && !err; i++) {
		int32_t h = e->r[i].home;
		if (h != NONE && sl_eng_banned(e, h, (int32_t)i)) {
			sl_eng_unplace(e, (int32_t)i);
			err = push_freed(&freed, &nfreed, &freecap, (int32_t)i);
		}
	}
	for (size_t i = 0; i < e->ne && !err; i++)
		if (e->e[i].flags & E_LIVE) {
			if (e->e[i].n == 0 && !(e->e[i].flags & E_DECIDED))
				sl_eng_kill(e, (int32_t)i);
			else
				err = sl_eng_reindex(e, (int32_t)i);
		}
	for (size_t i = 0; i < nfreed && !err; i++)
		if (e->r[freed[i]].home == NONE)
			err = sl_eng_place(e, freed[i]);
	free(freed);
	sl_engine_state_free(&st);
	return err;
}

/* ---- syncing and saving ---- */

static sl_err add_item(void *ud, const sl_queue_item *it)
{
	sl_engine *e = ud;
	sl_err err = sl_engine_add(e, it);
	if (!err && it->report.id > e->last_report)
		e->last_report = it->report.id;
	return err;
}

static sl_err save(sl_engine *e, int64_t now, size_t *saved)
{
	/* Nothing changed since the last save: no transaction (the server
	 * syncs every second, and each one would be an fsync). */
	bool dirty = e->ndeleted > 0 || e->last_report != e->saved_report ||
		     e->last_change != e->saved_change;
	for (size_t i = 0; i < e->ne && !dirty; i++)
		dirty = (e->e[i].flags & (E_LIVE | E_DIRTY)) == (E_LIVE | E_DIRTY);
	if (!dirty)
		return SL_OK;
	sl_arena *a = sl_arena_new(SAVE_ARENA_CAP);
	sl_event *evs = malloc(SAVE_CHUNK * sizeof(*evs));
	int32_t *which = malloc(SAVE_CHUNK * sizeof(*which));
	sl_err err = a && evs && which ? SL_OK : SL_ENOMEM;
	size_t i = 0;
	bool deleted_sent = false;
	while (!err) {
		size_t n = 0;
		sl_arena_reset(a);
		for (; i < e->ne && n < SAVE_CHUNK && !err; i++) {
			ev *x = &e->e[i];
			if (!(x->flags & E_LIVE) || !(x->flags & E_DIRTY))
				continue;
			err = sl_eng_estimate(e, (int32_t)i, true, a, &evs[n]);
			evs[n].id = x->store_id; /* 0: a new event, to insert */
			which[n++] = (int32_t)i;
		}
		bool last = i >= e->ne;
		if (err || (n == 0 && !last))
			break;
		sl_engine_save sv = {
		    .n_events = n,
		    .events = evs,
		    .n_deleted = deleted_sent ? 0 : e->ndeleted,
		    .deleted = e->deleted,
		    .last_report = last ? e->last_report : 0,
		    .last_change = last ? e->last_change : 0,
		    .now = now,
		};
		if (!last) {
			/* Marks move only with the last chunk: read them back
			 * unchanged meanwhile. */
			char *v = NULL;
			if (sl_store_meta_get(e->store, "engine.last_report", &v) ==
			    SL_OK)
				sv.last_report = strtoll(v, NULL, 10);
			free(v);
			v = NULL;
			if (sl_store_meta_get(e->store, "engine.last_change", &v) ==
			    SL_OK)
				sv.last_change = strtoll(v, NULL, 10);
			free(v);
		}
		if ((err = sl_store_engine_save(e->store, &sv)))
			break;
		deleted_sent = true;
		for (size_t k = 0; k < n; k++) {
			ev *x = &e->e[which[k]];
			if (!x->store_id) {
				x->store_id = evs[k].id;
				if ((err = sl_idmap_put(&e->by_store, x->store_id,
							which[k])))
					break;
			}
			x->flags &= (uint8_t)~E_DIRTY;
		}
		if (saved)
			*saved += n;
		if (last)
			break;
	}
	if (!err) {
		e->ndeleted = 0;
		e->saved_report = e->last_report;
		e->saved_change = e->last_change;
	}
	free(which);
	free(evs);
	sl_arena_free(a);
	return err;
}

sl_err sl_engine_sync(sl_engine *e, int64_t now, size_t *changed)
{
	if (!e || !e->store)
		return SL_EINVAL;
	if (changed)
		*changed = 0;
	sl_change ch[CHANGE_PAGE];
	sl_err err = SL_OK;
	bool decisions = false;
	sl_arena *a = sl_arena_new((size_t)1 << 20);
	if (!a)
		return SL_ENOMEM;
	int64_t after = e->last_change;
	/* Decisions first (an edit of a report a moderator has just pinned
	 * must find it pinned), then the reports, then the new ones. */
	for (int pass = 0; pass < 2 && !err; pass++) {
		after = e->last_change;
		while (!err) {
			size_t n;
			if ((err = sl_store_changes(e->store, after, CHANGE_PAGE, ch,
						    &n)) ||
			    n == 0)
				break;
			for (size_t i = 0; i < n && !err; i++) {
				if (pass == 0) {
					decisions |= ch[i].event_id != 0;
					continue;
				}
				if (!ch[i].report_id)
					continue;
				sl_queue_item it;
				sl_arena_reset(a);
				sl_err ge =
				    sl_store_get_item(e->store, ch[i].report_id, a, &it);
				if (ge == SL_OK)
					err = add_item(e, &it);
				else if (ge != SL_ENOTFOUND)
					err = ge;
			}
			after = ch[n - 1].seq;
		}
		if (pass == 0 && decisions && !err)
			err = reconcile(e);
	}
	sl_arena_free(a);
	if (!err)
		e->last_change = after;
	if (!err)
		err = sl_store_each_item(e->store, e->last_report, add_item, e);
	if (!err)
		err = save(e, now, changed);
	return err;
}

sl_err sl_engine_catch_up(sl_store *s, int64_t now, bool *ran)
{
	if (!s || !ran)
		return SL_EINVAL;
	*ran = false;
	bool got;
	sl_err err = sl_store_engine_lock(s, &got);
	if (err || !got)
		return err;
	sl_engine *e;
	if ((err = sl_engine_new(NULL, &e)))
		return err;
	err = sl_engine_load(e, s, now);
	if (!err)
		err = sl_engine_sync(e, now, NULL);
	sl_engine_free(e);
	*ran = !err;
	return err;
}
