/*
 * snapshot.c — the published picture: the policy applied to every
 * publishable event of the store, kept in memory as an immutable,
 * reference-counted snapshot that the feeds, the CoT stream and the
 * webhooks are written from (publish.h).
 *
 * A refresh is cheap when nothing changed: it reads a fingerprint of the
 * store (the newest change, the events' count and newest update, the
 * newest excerpt) and the time the next delayed event falls due, and
 * rebuilds only when one of them says the picture may differ. A rebuild
 * reads the events once, applies the policy to each, asks the track
 * source for tracks and maps their events to published ones, and swaps
 * the new snapshot in; readers keep the one they hold.
 *
 * The server's publisher also records what changed: each event's public
 * form has a hash, the hashes of what is published are kept in the store
 * (published_events), and an event whose hash is new, changed or gone
 * goes to the publication log with one webhook delivery per webhook, in
 * one transaction, before anyone is told.
 */
#include "sightline/publish.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sightline/buf.h"
#include "sightline/track.h"

#define ID_KEY_SETTING "id_key"
#define POLICY_SETTING "policy"
#define SNAP_ARENA_CAP ((size_t)1 << 30)
#define DOC_CAP ((size_t)64 << 10)

/* ---- a map of store ids (int64 > 0) to a slot value ---- */

typedef struct id_map {
	int64_t *keys; /* 0: empty */
	size_t *vals;
	size_t cap; /* a power of two */
	size_t n;
} id_map;

static size_t slot_of(const id_map *m, int64_t k)
{
	uint64_t h = (uint64_t)k * 0x9E3779B97F4A7C15ull;
	size_t i = (size_t)(h >> 17) & (m->cap - 1);
	while (m->keys[i] && m->keys[i] != k)
		i = (i + 1) & (m->cap - 1);
	return i;
}

static bool map_init(id_map *m, size_t n)
{
	size_t cap = 64;
	while (cap < 2 * n + 2)
		cap *= 2;
	m->keys = calloc(cap, sizeof(*m->keys));
	m->vals = calloc(cap, sizeof(*m->vals));
	m->cap = cap;
	m->n = 0;
	return m->keys && m->vals;
}

static void map_free(id_map *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

static bool map_get(const id_map *m, int64_t k, size_t *v)
{
	if (!m->cap)
		return false;
	size_t i = slot_of(m, k);
	if (!m->keys[i])
		return false;
	*v = m->vals[i];
	return true;
}

/* Sets k to v, growing when half full. */
static bool map_put(id_map *m, int64_t k, size_t v)
{
	if (2 * (m->n + 1) > m->cap) {
		id_map g;
		if (!map_init(&g, m->n + 1)) {
			map_free(&g);
			return false;
		}
		for (size_t i = 0; i < m->cap; i++)
			if (m->keys[i])
				map_put(&g, m->keys[i], m->vals[i]);
		map_free(m);
		*m = g;
	}
	size_t i = slot_of(m, k);
	if (!m->keys[i])
		m->n++;
	m->keys[i] = k;
	m->vals[i] = v;
	return true;
}

/* ---- snapshots ---- */

typedef struct snap {
	sl_pub_snapshot pub; /* first: readers hold &pub */
	int refs;	     /* under sl_publish.snap_lock */
	sl_pub_event *events;
	sl_pub_track *tracks;
	char *features; /* every event's Feature, one after another */
	sl_arena *arena;
	id_map by_event; /* store id -> index in events */
} snap;

static void snap_free(snap *s)
{
	if (!s)
		return;
	free(s->events);
	free(s->tracks);
	free(s->features);
	sl_arena_free(s->arena);
	map_free(&s->by_event);
	free(s);
}

/* The state the publisher keeps: the hash of the public form of each
 * event recorded as published. */
typedef struct pub_state {
	id_map index; /* event id -> slot in hashes */
	uint8_t (*hashes)[16];
	bool *seen; /* scratch: marked during a diff */
	size_t n, cap;
	bool loaded;
} pub_state;

struct sl_publish {
	sl_store *store;
	uint8_t key[32];

	pthread_mutex_t lock; /* policy, track source, dirty */
	sl_publish_policy policy;
	sl_publish_track_source tracks;
	void *tracks_ud;
	const sl_borders *borders;
	const sl_stations *stations;
	bool dirty;

	pthread_mutex_t refresh_lock; /* one refresh at a time; what follows */
	bool wait_engine;
	int64_t unsettled_since; /* 0: the engine had caught up */
	sl_pub_fingerprint fp;
	bool built;
	int64_t built_at;
	int64_t next_due;
	uint64_t generation;
	pub_state state;

	pthread_mutex_t snap_lock;
	snap *current;
};

static const uint8_t zero_hash[16];

sl_err sl_publish_no_tracks(void *ud, sl_store *s, sl_arena *a, sl_track_input **out,
			    size_t *n)
{
	/* A publisher given no track source (the feeds' own tests) has no
	 * tracks. */
	(void)ud, (void)s, (void)a;
	*out = NULL;
	*n = 0;
	return SL_OK;
}

static sl_err load_key(sl_publish *p)
{
	char *hex = NULL;
	sl_err e = sl_store_pub_setting_get(p->store, ID_KEY_SETTING, &hex);
	if (e == SL_OK) {
		size_t got = 0;
		int rc = sodium_hex2bin(p->key, sizeof(p->key), hex, strlen(hex), NULL,
					&got, NULL);
		sodium_memzero(hex, strlen(hex));
		free(hex);
		return rc == 0 && got == sizeof(p->key) ? SL_OK : SL_ESTORE;
	}
	if (e != SL_ENOTFOUND)
		return e;
	randombytes_buf(p->key, sizeof(p->key));
	char text[2 * sizeof(p->key) + 1];
	sodium_bin2hex(text, sizeof(text), p->key, sizeof(p->key));
	e = sl_store_pub_setting_set(p->store, ID_KEY_SETTING, text, 0, 0);
	sodium_memzero(text, sizeof(text));
	return e;
}

static sl_err load_policy(sl_publish *p)
{
	sl_publish_policy_default(&p->policy);
	char *text = NULL;
	sl_err e = sl_store_pub_setting_get(p->store, POLICY_SETTING, &text);
	if (e == SL_ENOTFOUND)
		return SL_OK;
	if (e != SL_OK)
		return e;
	sl_problems why = {0};
	e = sl_publish_policy_apply(&p->policy, text, strlen(text), &why);
	free(text);
	if (e != SL_OK) {
		fprintf(stderr, "sightline: publication: the stored policy is not valid; "
				"using the defaults\n");
		sl_publish_policy_default(&p->policy);
	}
	return SL_OK;
}

static snap *empty_snap(void)
{
	snap *s = calloc(1, sizeof(*s));
	if (s)
		s->refs = 1;
	return s;
}

sl_err sl_publish_new(sl_store *s, sl_publish **out)
{
	sl_publish *p = calloc(1, sizeof(*p));
	if (!p)
		return SL_ENOMEM;
	p->store = s;
	p->tracks = sl_publish_no_tracks;
	pthread_mutex_init(&p->lock, NULL);
	pthread_mutex_init(&p->refresh_lock, NULL);
	pthread_mutex_init(&p->snap_lock, NULL);
	p->current = empty_snap();
	sl_err e = p->current ? SL_OK : SL_ENOMEM;
	if (!e)
		e = load_key(p);
	if (!e)
		e = load_policy(p);
	if (!e)
		p->current->pub.policy = p->policy;
	if (e) {
		sl_publish_free(p);
		return e;
	}
	*out = p;
	return SL_OK;
}

void sl_publish_free(sl_publish *p)
{
	if (!p)
		return;
	snap_free(p->current);
	map_free(&p->state.index);
	free(p->state.hashes);
	free(p->state.seen);
	pthread_mutex_destroy(&p->lock);
	pthread_mutex_destroy(&p->refresh_lock);
	pthread_mutex_destroy(&p->snap_lock);
	sodium_memzero(p->key, sizeof(p->key));
	free(p);
}

void sl_publish_set_places(sl_publish *p, const sl_borders *borders,
			   const sl_stations *stations)
{
	pthread_mutex_lock(&p->lock);
	p->borders = borders;
	p->stations = stations;
	p->dirty = true;
	pthread_mutex_unlock(&p->lock);
}

void sl_publish_set_track_source(sl_publish *p, sl_publish_track_source fn, void *ud)
{
	pthread_mutex_lock(&p->lock);
	p->tracks = fn ? fn : sl_publish_no_tracks;
	p->tracks_ud = fn ? ud : NULL;
	p->dirty = true;
	pthread_mutex_unlock(&p->lock);
}

void sl_publish_get_policy(sl_publish *p, sl_publish_policy *out)
{
	pthread_mutex_lock(&p->lock);
	*out = p->policy;
	pthread_mutex_unlock(&p->lock);
}

sl_err sl_publish_set_policy(sl_publish *p, const sl_publish_policy *policy,
			     int64_t moderator_id, int64_t now)
{
	char *text = sl_publish_policy_to_json(policy);
	if (!text)
		return SL_ENOMEM;
	sl_err e =
	    sl_store_pub_setting_set(p->store, POLICY_SETTING, text, moderator_id, now);
	free(text);
	if (e)
		return e;
	pthread_mutex_lock(&p->lock);
	p->policy = *policy;
	p->dirty = true;
	pthread_mutex_unlock(&p->lock);
	return SL_OK;
}

void sl_publish_wait_for_engine(sl_publish *p, bool wait)
{
	pthread_mutex_lock(&p->refresh_lock);
	p->wait_engine = wait;
	pthread_mutex_unlock(&p->refresh_lock);
}

void sl_publish_invalidate(sl_publish *p)
{
	pthread_mutex_lock(&p->lock);
	p->dirty = true;
	pthread_mutex_unlock(&p->lock);
}

const sl_pub_snapshot *sl_publish_snapshot(sl_publish *p)
{
	pthread_mutex_lock(&p->snap_lock);
	snap *s = p->current;
	s->refs++;
	pthread_mutex_unlock(&p->snap_lock);
	return &s->pub;
}

void sl_publish_release(sl_publish *p, const sl_pub_snapshot *pub)
{
	if (!pub)
		return;
	snap *s = (snap *)pub;
	pthread_mutex_lock(&p->snap_lock);
	bool last = --s->refs == 0;
	pthread_mutex_unlock(&p->snap_lock);
	if (last)
		snap_free(s);
}

/* ---- building ---- */

typedef struct build {
	const sl_publish_policy *policy;
	const uint8_t *key;
	const sl_borders *borders;
	const sl_stations *stations;
	int64_t now;
	snap *s;
	size_t cap;
	int64_t next_due;
} build;

static sl_err take_source(void *ud, const sl_pub_source *src)
{
	build *b = ud;
	sl_pub_event ev;
	int64_t due;
	if (!sl_publish_apply(b->policy, b->key, src, b->now, &ev, &due)) {
		if (due && (!b->next_due || due < b->next_due))
			b->next_due = due;
		return SL_OK;
	}
	sl_publish_name_place(b->borders, b->stations, &ev);
	snap *s = b->s;
	if (!sl_grow((void **)&s->events, &b->cap, s->pub.n + 1, sizeof(*s->events)))
		return SL_ENOMEM;
	/* The source's strings and items live until we return: copy them. */
	if (ev.n_items) {
		sl_event_item *items =
		    sl_arena_alloc(s->arena, ev.n_items * sizeof(*items));
		if (!items)
			return SL_ENOMEM;
		memcpy(items, ev.items, ev.n_items * sizeof(*items));
		ev.items = items;
	}
	if (ev.excerpt && !(ev.excerpt = sl_arena_strdup(s->arena, ev.excerpt)))
		return SL_ENOMEM;
	s->events[s->pub.n++] = ev;
	return SL_OK;
}

static int newest_first(const void *a, const void *b)
{
	const sl_pub_event *x = a, *y = b;
	if (x->published_at != y->published_at)
		return x->published_at > y->published_at ? -1 : 1;
	return x->event_id > y->event_id ? -1 : x->event_id < y->event_id;
}

static int by_time(const void *a, const void *b)
{
	const sl_pub_event *x = *(const sl_pub_event *const *)a;
	const sl_pub_event *y = *(const sl_pub_event *const *)b;
	if (x->t_end != y->t_end)
		return x->t_end < y->t_end ? -1 : 1;
	return x->t_start < y->t_start ? -1 : x->t_start > y->t_start;
}

/* The tracks of the source, each reduced to its published events and
 * classed by them: the tracker's own class comes from all its events, the
 * unverified and the still delayed among them, and from their estimates,
 * so it could tell what the policy keeps back (where a train went next,
 * before that sighting is due). The class of the move from the first
 * published point to the last says only what the points say. */
static sl_err build_tracks(sl_publish *p, sl_publish_track_source fn, void *ud,
			   const sl_borders *borders, snap *s)
{
	sl_track_input *in = NULL;
	size_t n = 0;
	sl_arena *a = sl_arena_new((size_t)256 << 20);
	if (!a)
		return SL_ENOMEM;
	sl_err e = fn(ud, p->store, a, &in, &n);
	if (!e && n) {
		s->tracks = calloc(n, sizeof(*s->tracks));
		if (!s->tracks)
			e = SL_ENOMEM;
	}
	for (size_t i = 0; i < n && !e; i++) {
		const sl_track_input *t = &in[i];
		const sl_pub_event **pts =
		    t->n_events ? sl_arena_alloc(s->arena, t->n_events * sizeof(*pts))
				: NULL;
		if (t->n_events && !pts) {
			e = SL_ENOMEM;
			break;
		}
		size_t k = 0;
		for (size_t j = 0; j < t->n_events; j++) {
			size_t at;
			if (map_get(&s->by_event, t->event_ids[j], &at))
				pts[k++] = &s->events[at];
		}
		if (k < 2)
			continue;
		qsort(pts, k, sizeof(*pts), by_time);
		sl_pub_track *pt = &s->tracks[s->pub.n_tracks++];
		sl_publish_public_id(p->key, 't', t->id, pt->id);
		pt->category = t->category;
		pt->direction = sl_track_direction_of_move(
		    borders, SL_COUNTRY_UKRAINE, SL_COUNTRY_RUSSIA, pts[0]->lat,
		    pts[0]->lon, pts[k - 1]->lat, pts[k - 1]->lon);
		pt->n_points = k;
		pt->points = pts;
	}
	sl_arena_free(a);
	s->pub.tracks = s->tracks;
	return e;
}

/* Each event's GeoJSON Feature, written once into one buffer the snapshot
 * owns: the feeds and the publication log copy them from there. */
static sl_err render_features(snap *s)
{
	sl_pbuf b;
	sl_pbuf_init(&b, SL_PUB_FEED_CAP);
	size_t *at = s->pub.n ? malloc(s->pub.n * sizeof(*at)) : NULL;
	if (s->pub.n && !at)
		return SL_ENOMEM;
	for (size_t i = 0; i < s->pub.n && !b.failed; i++) {
		at[i] = b.len;
		sl_pub_write_feature(&b, &s->events[i]);
	}
	if (b.failed) {
		free(at);
		sl_pbuf_free(&b);
		return SL_ENOMEM;
	}
	for (size_t i = 0; i < s->pub.n; i++) {
		s->events[i].feature = b.p + at[i];
		s->events[i].feature_len = (i + 1 < s->pub.n ? at[i + 1] : b.len) - at[i];
	}
	free(at);
	s->features = b.p;
	return SL_OK;
}

static sl_err build_snap(sl_publish *p, int64_t now, uint64_t gen, snap **out,
			 int64_t *next_due)
{
	pthread_mutex_lock(&p->lock);
	sl_publish_policy policy = p->policy;
	sl_publish_track_source fn = p->tracks;
	void *ud = p->tracks_ud;
	const sl_borders *borders = p->borders;
	const sl_stations *stations = p->stations;
	pthread_mutex_unlock(&p->lock);

	snap *s = empty_snap();
	if (!s || !(s->arena = sl_arena_new(SNAP_ARENA_CAP))) {
		snap_free(s);
		return SL_ENOMEM;
	}
	build b = {.policy = &policy,
		   .key = p->key,
		   .borders = borders,
		   .stations = stations,
		   .now = now,
		   .s = s};
	sl_err e = sl_store_pub_sources(p->store, take_source, &b);
	if (!e && s->pub.n > 1)
		qsort(s->events, s->pub.n, sizeof(*s->events), newest_first);
	if (!e)
		e = render_features(s);
	if (!e && !map_init(&s->by_event, s->pub.n))
		e = SL_ENOMEM;
	for (size_t i = 0; i < s->pub.n && !e; i++)
		if (!map_put(&s->by_event, s->events[i].event_id, i))
			e = SL_ENOMEM;
	if (!e)
		e = build_tracks(p, fn, ud, borders, s);
	if (e) {
		snap_free(s);
		return e;
	}
	s->pub.events = s->events;
	s->pub.generation = gen;
	s->pub.built_at = now;
	s->pub.policy = policy;
	*next_due = b.next_due;
	*out = s;
	return SL_OK;
}

/* ---- recording changes ---- */

static void hash_event(const sl_pub_event *e, uint8_t out[16])
{
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, 16);
	struct {
		int64_t t_start, t_end, published_at;
		double lat, lon, precision, heading, confidence;
		int32_t category, sources, has_heading, n_items, has_photo;
	} f;
	memset(&f, 0, sizeof(f));
	f.t_start = e->t_start, f.t_end = e->t_end, f.published_at = e->published_at;
	f.lat = e->lat, f.lon = e->lon, f.precision = e->precision_m;
	f.heading = e->has_heading ? e->heading_deg : -1, f.confidence = e->confidence;
	f.category = (int32_t)e->category, f.sources = e->sources;
	f.has_heading = e->has_heading, f.n_items = (int32_t)e->n_items;
	f.has_photo = e->has_photo;
	crypto_generichash_update(&st, (const uint8_t *)&f, sizeof(f));
	if (e->n_items)
		crypto_generichash_update(&st, (const uint8_t *)e->items,
					  e->n_items * sizeof(*e->items));
	if (e->excerpt)
		crypto_generichash_update(&st, (const uint8_t *)e->excerpt,
					  strlen(e->excerpt) + 1);
	crypto_generichash_final(&st, out, 16);
}

static sl_err state_put(pub_state *st, int64_t id, const uint8_t hash[16])
{
	size_t slot;
	if (map_get(&st->index, id, &slot)) {
		memcpy(st->hashes[slot], hash, 16);
		return SL_OK;
	}
	if (!sl_grow((void **)&st->hashes, &st->cap, st->n + 1, sizeof(*st->hashes)))
		return SL_ENOMEM;
	bool *seen = realloc(st->seen, st->cap * sizeof(*seen));
	if (!seen)
		return SL_ENOMEM;
	st->seen = seen;
	memcpy(st->hashes[st->n], hash, 16);
	if (!map_put(&st->index, id, st->n))
		return SL_ENOMEM;
	st->n++;
	return SL_OK;
}

static sl_err state_visit(void *ud, int64_t id, const uint8_t hash[16])
{
	return state_put(ud, id, hash);
}

/* A change being made: the record for the store and the copy for the
 * caller. */
typedef struct pending {
	sl_pub_record *recs;
	sl_pub_change *changes;
	size_t n, cap_r, cap_c;
	sl_arena *a;
	sl_pbuf doc;
} pending;

static sl_err add_change(pending *pd, sl_pub_kind kind, const sl_pub_event *e, int64_t id,
			 const char *pub_id, const uint8_t hash[16])
{
	if (!sl_grow((void **)&pd->recs, &pd->cap_r, pd->n + 1, sizeof(*pd->recs)) ||
	    !sl_grow((void **)&pd->changes, &pd->cap_c, pd->n + 1, sizeof(*pd->changes)))
		return SL_ENOMEM;
	sl_pbuf_init(&pd->doc, DOC_CAP);
	if (e && e->feature) {
		sl_pbuf_put(&pd->doc, e->feature, e->feature_len);
	} else if (e) {
		sl_pub_write_feature(&pd->doc, e);
	} else {
		sl_pbuf_puts(&pd->doc, "{\"type\":\"Feature\",\"id\":");
		sl_pbuf_json_str(&pd->doc, pub_id);
		sl_pbuf_puts(&pd->doc,
			     ",\"geometry\":null,\"properties\":{\"withdrawn\":true}}");
	}
	sl_pbuf_put(&pd->doc, "", 1);
	char *doc = pd->doc.failed ? NULL : sl_arena_strdup(pd->a, pd->doc.p);
	sl_pbuf_free(&pd->doc);
	if (!doc)
		return SL_ENOMEM;
	sl_pub_record *r = &pd->recs[pd->n];
	r->event_id = id;
	r->kind = kind;
	memcpy(r->hash, hash, 16);
	r->doc = doc;
	sl_pub_change *c = &pd->changes[pd->n];
	memset(c, 0, sizeof(*c));
	c->kind = kind;
	if (e) {
		c->has_form = true;
		c->event = *e;
		c->event.feature = NULL; /* it lives in the snapshot */
		c->event.feature_len = 0;
		if (e->n_items) {
			sl_event_item *items =
			    sl_arena_alloc(pd->a, e->n_items * sizeof(*items));
			if (!items)
				return SL_ENOMEM;
			memcpy(items, e->items, e->n_items * sizeof(*items));
			c->event.items = items;
		}
		if (e->excerpt &&
		    !(c->event.excerpt = sl_arena_strdup(pd->a, e->excerpt)))
			return SL_ENOMEM;
	} else {
		snprintf(c->event.id, sizeof(c->event.id), "%s", pub_id);
		c->event.event_id = id;
	}
	pd->n++;
	return SL_OK;
}

/* Compares the new snapshot with what is recorded as published, records
 * the differences and updates the state. old is the previous snapshot
 * (for the last form of withdrawn events). */
static sl_err record_changes(sl_publish *p, const snap *old, const snap *s, int64_t now,
			     sl_pub_changes *out)
{
	pub_state *st = &p->state;
	sl_err e = SL_OK;
	if (!st->loaded) {
		if (!map_init(&st->index, 1024))
			return SL_ENOMEM;
		if ((e = sl_store_pub_state(p->store, state_visit, st))) {
			map_free(&st->index);
			st->n = 0;
			return e;
		}
		st->loaded = true;
	}
	pending pd = {0};
	if (!(pd.a = sl_arena_new(SNAP_ARENA_CAP)))
		return SL_ENOMEM;
	if (st->n)
		memset(st->seen, 0, st->n * sizeof(*st->seen));
	uint8_t(*hashes)[16] = s->pub.n ? malloc(s->pub.n * 16) : NULL;
	if (s->pub.n && !hashes)
		e = SL_ENOMEM;
	for (size_t i = 0; i < s->pub.n && !e; i++) {
		const sl_pub_event *ev = &s->events[i];
		hash_event(ev, hashes[i]);
		size_t slot;
		if (map_get(&st->index, ev->event_id, &slot)) {
			st->seen[slot] = true;
			bool was = memcmp(st->hashes[slot], zero_hash, 16) != 0;
			if (memcmp(st->hashes[slot], hashes[i], 16) != 0)
				e = add_change(&pd, was ? SL_PUB_UPDATE : SL_PUB_PUBLISH,
					       ev, ev->event_id, ev->id, hashes[i]);
		} else {
			e = add_change(&pd, SL_PUB_PUBLISH, ev, ev->event_id, ev->id,
				       hashes[i]);
		}
	}
	for (size_t c = 0; c < st->index.cap && !e; c++) {
		int64_t id = st->index.keys[c];
		size_t slot = st->index.vals[c];
		if (!id || st->seen[slot] || memcmp(st->hashes[slot], zero_hash, 16) == 0)
			continue;
		size_t at;
		const sl_pub_event *last =
		    old && map_get(&old->by_event, id, &at) ? &old->events[at] : NULL;
		char pub_id[SL_PUB_ID_MAX];
		sl_publish_public_id(p->key, 'e', id, pub_id);
		e = add_change(&pd, SL_PUB_WITHDRAW, NULL, id, pub_id, zero_hash);
		if (!e && last) {
			sl_pub_change *ch = &pd.changes[pd.n - 1];
			ch->has_form = true;
			ch->event = *last;
			ch->event.n_items = 0;
			ch->event.items = NULL;
			ch->event.excerpt = NULL;
			ch->event.feature = NULL;
			ch->event.feature_len = 0;
		}
	}
	if (!e)
		e = sl_store_pub_record(p->store, pd.recs, pd.n, now);
	/* Only what is durably recorded changes the state. */
	for (size_t i = 0; i < pd.n && !e; i++)
		e = state_put(st, pd.recs[i].event_id, pd.recs[i].hash);
	free(hashes);
	free(pd.recs);
	if (e || !out || pd.n == 0) {
		free(pd.changes);
		sl_arena_free(pd.a);
		return e;
	}
	out->n = pd.n;
	out->list = pd.changes;
	out->arena = pd.a;
	return SL_OK;
}

void sl_publish_changes_free(sl_pub_changes *c)
{
	if (!c)
		return;
	free(c->list);
	sl_arena_free(c->arena);
	memset(c, 0, sizeof(*c));
}

static bool same_fp(const sl_pub_fingerprint *a, const sl_pub_fingerprint *b)
{
	return a->change_seq == b->change_seq && a->engine_change == b->engine_change &&
	       a->n_events == b->n_events && a->events_updated == b->events_updated &&
	       a->excerpts_updated == b->excerpts_updated;
}

sl_err sl_publish_refresh(sl_publish *p, int64_t now, bool force, bool record,
			  sl_pub_changes *changes)
{
	if (changes)
		memset(changes, 0, sizeof(*changes));
	pthread_mutex_lock(&p->refresh_lock);
	sl_pub_fingerprint fp;
	sl_err e = sl_store_pub_fingerprint(p->store, &fp);
	if (e) {
		pthread_mutex_unlock(&p->refresh_lock);
		return e;
	}
	/* Moderators' changes the engine has not taken in yet: wait for it
	 * (a while at most), unless asked to build now. */
	if (p->wait_engine && !force && fp.engine_change < fp.change_seq) {
		if (!p->unsettled_since)
			p->unsettled_since = now;
		if (now - p->unsettled_since < SL_PUB_SETTLE_S) {
			pthread_mutex_unlock(&p->refresh_lock);
			return SL_OK;
		}
	} else {
		p->unsettled_since = 0;
	}
	pthread_mutex_lock(&p->lock);
	bool dirty = p->dirty;
	p->dirty = false;
	pthread_mutex_unlock(&p->lock);
	/* Updates are stamped in whole seconds: one in the second of the last
	 * build may have come after it, so that second is looked at again. */
	bool need = force || dirty || !p->built || !same_fp(&fp, &p->fp) ||
		    (p->next_due && now >= p->next_due) ||
		    fp.events_updated >= p->built_at ||
		    fp.excerpts_updated >= p->built_at;
	if (!need) {
		pthread_mutex_unlock(&p->refresh_lock);
		return SL_OK;
	}
	snap *s = NULL;
	int64_t next_due = 0;
	e = build_snap(p, now, p->generation + 1, &s, &next_due);
	if (!e && record) {
		pthread_mutex_lock(&p->snap_lock);
		snap *old = p->current;
		old->refs++;
		pthread_mutex_unlock(&p->snap_lock);
		e = record_changes(p, old, s, now, changes);
		sl_publish_release(p, &old->pub);
	}
	if (e) {
		snap_free(s);
		pthread_mutex_lock(&p->lock);
		p->dirty = true; /* try again next time */
		pthread_mutex_unlock(&p->lock);
		pthread_mutex_unlock(&p->refresh_lock);
		return e;
	}
	p->generation++;
	p->fp = fp;
	p->built = true;
	p->built_at = now;
	p->next_due = next_due;
	if (changes)
		changes->generation = p->generation;
	pthread_mutex_lock(&p->snap_lock);
	snap *old = p->current;
	p->current = s;
	bool last = --old->refs == 0;
	pthread_mutex_unlock(&p->snap_lock);
	if (last)
		snap_free(old);
	pthread_mutex_unlock(&p->refresh_lock);
	return SL_OK;
}
