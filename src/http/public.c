/*
 * public.c — what anyone may fetch, under /api/v1/public/ (docs/PUBLISH.md,
 * docs/API.md "Public feeds"):
 *
 *   GET events.geojson  events.atom  events.csv  events.kml  events.cot
 *   GET tracks.geojson  summary.json  network.geojson
 *
 * Each feed is written from the publication policy's snapshot (publish.h)
 * and nothing else: this file never reads the store. Answers are kept in a
 * small cache keyed by the snapshot's generation, the format and the
 * parsed filter, with an ETag (a hash of the bytes) and, when the client
 * accepts it, a gzip copy made once; If-None-Match answers 304. A cached
 * answer is sent from the cache's own buffer, which stays alive (reference
 * counted) until libmicrohttpd is done with it.
 *
 * The public side needs no sign-in and sets no cookie. Its errors are
 * fixed words and the name of a query parameter; they never echo a value
 * or anything stored. It keeps no record of who asked.
 *
 * The publisher thread here brings the snapshot up to date every
 * publish_interval_ms and hands what was newly published to the CoT
 * stream (cot.c) and the webhook sender (webhook.c).
 */
#include "http/http_int.h"

#include <errno.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <zlib.h>

#include "sightline/buf.h"
#include "sightline/timefmt.h"

#define PUBLIC_PREFIX "/api/v1/public/"
#define FEED_SLOTS 32
#define CACHE_BYTES_MAX ((size_t)512 << 20)
#define NETWORK_FILE_CAP ((size_t)256 << 20)
#define NETWORK_POINTS_MAX 400000
#define NETWORK_FORMAT SL_PUB_FORMAT_COUNT /* the network's slot */

/* One answer: its bytes, ETag and (once asked for) gzip copy. */
typedef struct feed {
	sl_public *owner;
	int refs; /* under owner->lock: the cache's one, and one per response */
	bool cached;
	uint64_t generation;
	int fmt;
	sl_pub_filter filter;
	char *body;
	size_t len;
	char etag[40];
	char *gz;
	size_t gz_len;
	char gz_etag[44];
	uint64_t used; /* for eviction */
} feed;

struct sl_public {
	pthread_mutex_t lock;
	feed *slots[FEED_SLOTS];
	size_t bytes;
	uint64_t clock;
	feed *network; /* NULL when the server has none */
};

static const struct {
	const char *name, *type;
} formats[SL_PUB_FORMAT_COUNT] = {
    [SL_PUB_GEOJSON] = {"events.geojson", "application/geo+json"},
    [SL_PUB_ATOM] = {"events.atom", "application/atom+xml; charset=utf-8"},
    [SL_PUB_CSV] = {"events.csv", "text/csv; charset=utf-8; header=present"},
    [SL_PUB_KML] = {"events.kml", "application/vnd.google-earth.kml+xml"},
    [SL_PUB_COT] = {"events.cot", "application/xml; charset=utf-8"},
    [SL_PUB_TRACKS] = {"tracks.geojson", "application/geo+json"},
    [SL_PUB_SUMMARY] = {"summary.json", "application/json"},
};

static void feed_free(feed *f)
{
	if (!f)
		return;
	free(f->body);
	free(f->gz);
	free(f);
}

static void feed_release(feed *f)
{
	sl_public *p = f->owner;
	pthread_mutex_lock(&p->lock);
	bool last = --f->refs == 0;
	pthread_mutex_unlock(&p->lock);
	if (last)
		feed_free(f);
}

static void etag_of(const void *data, size_t len, const char *suffix, char *out,
		    size_t size)
{
	uint8_t h[16];
	char hex[33];
	crypto_generichash(h, sizeof(h), data, len, NULL, 0);
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	snprintf(out, size, "\"%s%s\"", hex, suffix);
}

/* A gzip copy of len bytes at data (malloc'd), or NULL. zlib counts in
 * 32 bits: large bodies go in in pieces. */
static char *gzip(const char *data, size_t len, size_t *out_len)
{
	const size_t piece = (size_t)1 << 30;
	z_stream z;
	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return NULL;
	size_t cap = deflateBound(&z, len) + 64;
	char *out = malloc(cap);
	if (!out) {
		deflateEnd(&z);
		return NULL;
	}
	size_t fed = 0;
	int rc = Z_OK;
	while (rc == Z_OK || rc == Z_BUF_ERROR) {
		if (z.avail_in == 0 && fed < len) {
			size_t in = len - fed > piece ? piece : len - fed;
			z.next_in = (Bytef *)data + fed;
			z.avail_in = (uInt)in;
			fed += in;
		}
		size_t room = cap - z.total_out;
		if (room == 0)
			break;
		z.next_out = (Bytef *)out + z.total_out;
		z.avail_out = (uInt)(room > piece ? piece : room);
		rc = deflate(&z, fed == len ? Z_FINISH : Z_NO_FLUSH);
	}
	*out_len = z.total_out;
	deflateEnd(&z);
	if (rc != Z_STREAM_END) {
		free(out);
		return NULL;
	}
	return out;
}

/* A cached feed for (generation, fmt, filter), with a reference for the
 * caller; NULL when there is none. */
static feed *cache_get(sl_public *p, uint64_t gen, int fmt, const sl_pub_filter *flt)
{
	feed *hit = NULL;
	pthread_mutex_lock(&p->lock);
	for (size_t i = 0; i < FEED_SLOTS && !hit; i++) {
		feed *f = p->slots[i];
		if (f && f->generation == gen && f->fmt == fmt &&
		    memcmp(&f->filter, flt, sizeof(*flt)) == 0)
			hit = f;
	}
	if (hit) {
		hit->refs++;
		hit->used = ++p->clock;
	}
	pthread_mutex_unlock(&p->lock);
	return hit;
}

/* Drops slot i from the cache; under lock. Returns a feed to free after
 * unlocking, or NULL. */
static feed *evict(sl_public *p, size_t i)
{
	feed *f = p->slots[i];
	p->slots[i] = NULL;
	if (!f)
		return NULL;
	f->cached = false;
	p->bytes -= f->len + f->gz_len;
	return --f->refs == 0 ? f : NULL;
}

/* Puts f (with its caller's reference) in the cache, evicting older
 * generations and the least used answers to stay within the bounds. */
static void cache_put(sl_public *p, feed *f)
{
	feed *drop[FEED_SLOTS + 1];
	size_t nd = 0;
	pthread_mutex_lock(&p->lock);
	for (size_t i = 0; i < FEED_SLOTS; i++)
		if (p->slots[i] && p->slots[i]->generation < f->generation &&
		    (drop[nd] = evict(p, i)))
			nd++;
	size_t free_slot = FEED_SLOTS;
	for (;;) {
		size_t lru = FEED_SLOTS;
		free_slot = FEED_SLOTS;
		for (size_t i = 0; i < FEED_SLOTS; i++) {
			if (!p->slots[i] && free_slot == FEED_SLOTS)
				free_slot = i;
			else if (p->slots[i] && (lru == FEED_SLOTS ||
						 p->slots[i]->used < p->slots[lru]->used))
				lru = i;
		}
		bool full =
		    free_slot == FEED_SLOTS || p->bytes + f->len > CACHE_BYTES_MAX;
		if (!full || lru == FEED_SLOTS)
			break;
		if ((drop[nd] = evict(p, lru)))
			nd++;
	}
	if (free_slot < FEED_SLOTS && p->bytes + f->len <= CACHE_BYTES_MAX) {
		f->refs++;
		f->cached = true;
		f->used = ++p->clock;
		p->slots[free_slot] = f;
		p->bytes += f->len;
	}
	pthread_mutex_unlock(&p->lock);
	for (size_t i = 0; i < nd; i++)
		feed_free(drop[i]);
}

/* Makes f's gzip copy if it has none yet. */
static bool ensure_gzip(sl_public *p, feed *f)
{
	pthread_mutex_lock(&p->lock);
	bool have = f->gz != NULL;
	pthread_mutex_unlock(&p->lock);
	if (have)
		return true;
	size_t n = 0;
	char *gz = gzip(f->body, f->len, &n);
	if (!gz)
		return false;
	pthread_mutex_lock(&p->lock);
	if (!f->gz) {
		f->gz = gz;
		f->gz_len = n;
		etag_of(gz, n, "-gz", f->gz_etag, sizeof(f->gz_etag));
		if (f->cached)
			p->bytes += n;
		gz = NULL;
	}
	pthread_mutex_unlock(&p->lock);
	free(gz);
	return true;
}

static const char *header(struct MHD_Connection *c, const char *name)
{
	return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

/* Whether Accept-Encoding takes gzip (and does not refuse it with q=0).
 * Content codings are case-insensitive; every client sends "gzip". */
static bool accepts_gzip(struct MHD_Connection *c)
{
	const char *ae = header(c, "Accept-Encoding");
	const char *p = ae ? strstr(ae, "gzip") : NULL;
	if (!p)
		return false;
	const char *q = p + 4;
	while (*q == ' ')
		q++;
	if (*q == ';') {
		const char *v = strstr(q, "q=");
		if (v && strtod(v + 2, NULL) <= 0.0)
			return false;
	}
	return true;
}

/* Whether If-None-Match names etag (or is "*"). */
static bool not_modified(struct MHD_Connection *c, const char *etag)
{
	const char *inm = header(c, "If-None-Match");
	if (!inm)
		return false;
	if (strcmp(inm, "*") == 0)
		return true;
	size_t n = strlen(etag);
	for (const char *p = inm; (p = strstr(p, etag)); p += n)
		if ((p == inm || p[-1] == ' ' || p[-1] == ',' || p[-1] == '/') &&
		    (p[n] == '\0' || p[n] == ',' || p[n] == ' '))
			return true;
	return false;
}

static void feed_done(void *cls)
{
	feed_release(cls);
}

/* Answers with f (the caller's reference is taken). */
static enum MHD_Result send_feed(sl_server *srv, struct MHD_Connection *c, feed *f,
				 const char *type)
{
	sl_public *p = srv->pub;
	bool gz = accepts_gzip(c) && ensure_gzip(p, f);
	const char *etag = gz ? f->gz_etag : f->etag;
	const char *const common[] = {"Cache-Control",
				      "public, max-age=30",
				      "Access-Control-Allow-Origin",
				      "*",
				      "Cross-Origin-Resource-Policy",
				      "cross-origin",
				      "Vary",
				      "Accept-Encoding",
				      "ETag",
				      etag,
				      gz ? "Content-Encoding" : NULL,
				      "gzip",
				      NULL};
	if (not_modified(c, etag)) {
		struct MHD_Response *r =
		    MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
		feed_release(f);
		if (!r)
			return MHD_NO;
		return sl_http_queue(c, 304, r, NULL, common);
	}
	struct MHD_Response *r = MHD_create_response_from_buffer_with_free_callback_cls(
	    gz ? f->gz_len : f->len, gz ? f->gz : f->body, feed_done, f);
	if (!r) {
		feed_release(f);
		return MHD_NO;
	}
	return sl_http_queue(c, 200, r, type, common);
}

static const char *query_arg(void *ud, const char *name)
{
	return MHD_lookup_connection_value(ud, MHD_GET_ARGUMENT_KIND, name);
}

/* A feed not in the cache: written from snap, then cached. NULL when it
 * cannot be made (*status says why: 503, or 413 over the cap). */
static feed *make_feed(sl_server *srv, const sl_pub_snapshot *snap, int fmt,
		       const sl_pub_filter *flt, unsigned *status)
{
	sl_pbuf b;
	sl_pbuf_init(&b, SL_PUB_FEED_CAP);
	sl_err e = sl_pub_write((sl_pub_format)fmt, snap, flt, &b);
	feed *f = e ? NULL : calloc(1, sizeof(*f));
	if (!f) {
		sl_pbuf_free(&b);
		*status = e == SL_ETOOBIG ? 413 : 503;
		return NULL;
	}
	f->owner = srv->pub;
	f->refs = 1;
	f->generation = snap->generation;
	f->fmt = fmt;
	f->filter = *flt;
	f->body = b.p ? b.p : malloc(1);
	f->len = b.len;
	etag_of(f->body, f->len, "", f->etag, sizeof(f->etag));
	cache_put(srv->pub, f);
	return f;
}

/* GET photos/{public id}.jpg: the photo an admin approved for a published
 * event (docs/PUBLISH.md). Only an event in the current snapshot — one the
 * policy publishes now — has its photo served; the answer for any other
 * name is the same 404. */
static enum MHD_Result serve_photo(sl_server *srv, struct MHD_Connection *c,
				   const char *name, const char *method)
{
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return sl_http_problem(c, 405, "use GET", NULL, "GET, HEAD", 0);
	size_t n = strlen(name);
	char id[SL_PUB_ID_MAX];
	bool ok = n > 4 && n - 4 < sizeof(id) && strcmp(name + n - 4, ".jpg") == 0;
	if (ok) {
		memcpy(id, name, n - 4);
		id[n - 4] = '\0';
	}
	int64_t event_id = 0;
	const sl_pub_snapshot *snap = sl_publish_snapshot(srv->publish);
	for (size_t i = 0; ok && i < snap->n && !event_id; i++)
		if (snap->events[i].has_photo && strcmp(snap->events[i].id, id) == 0)
			event_id = snap->events[i].event_id;
	sl_publish_release(srv->publish, snap);
	if (!event_id)
		return sl_http_problem(c, 404, "no such resource", NULL, NULL, 0);
	uint8_t *jpeg;
	size_t len;
	sl_err e = sl_store_photo_get(srv->store, event_id, &jpeg, &len);
	if (e == SL_ENOTFOUND)
		return sl_http_problem(c, 404, "no such resource", NULL, NULL, 0);
	if (e != SL_OK)
		return sl_http_problem(c, 503, "try again", NULL, NULL, 5);
	static const char *const h[] = {"Cache-Control", "public, max-age=300", NULL};
	return sl_http_respond_bytes(c, 200, "image/jpeg", jpeg, len, h);
}

enum MHD_Result sl_public_serve(sl_server *srv, struct MHD_Connection *c, const char *url,
				const char *method)
{
	const char *name = url + strlen(PUBLIC_PREFIX);
	if (strncmp(name, "photos/", 7) == 0)
		return serve_photo(srv, c, name + 7, method);
	int fmt = -1;
	for (int i = 0; i < SL_PUB_FORMAT_COUNT; i++)
		if (strcmp(name, formats[i].name) == 0)
			fmt = i;
	bool network = strcmp(name, "network.geojson") == 0;
	if (fmt < 0 && !network)
		return sl_http_problem(c, 404, "no such resource", NULL, NULL, 0);
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return sl_http_problem(c, 405, "use GET", NULL, "GET, HEAD", 0);
	if (network) {
		feed *f = srv->pub->network;
		pthread_mutex_lock(&srv->pub->lock);
		f->refs++;
		pthread_mutex_unlock(&srv->pub->lock);
		return send_feed(srv, c, f, "application/geo+json");
	}
	sl_pub_filter flt;
	sl_problems why = {0};
	if (sl_pub_filter_parse(query_arg, c, &flt, &why) != SL_OK)
		return sl_http_problem(c, 400, NULL, &why, NULL, 0);
	const sl_pub_snapshot *snap = sl_publish_snapshot(srv->publish);
	feed *f = cache_get(srv->pub, snap->generation, fmt, &flt);
	unsigned status = 503;
	if (!f)
		f = make_feed(srv, snap, fmt, &flt, &status);
	sl_publish_release(srv->publish, snap);
	if (!f)
		return status == 413
			   ? sl_http_problem(c, 413,
					     "the answer is too large; narrow the "
					     "filters",
					     NULL, NULL, 0)
			   : sl_http_problem(c, 503, "try again", NULL, NULL, 5);
	return send_feed(srv, c, f, formats[fmt].type);
}

/* ---- the rail network for the map's basemap ---- */

/* Rounds to 4 decimals (about 10 m) and drops points that then repeat. */
static void put_line(sl_pbuf *b, json_t *coords, size_t *points, bool *first)
{
	if (!json_is_array(coords) || json_array_size(coords) < 2)
		return;
	double last_x = 1e9, last_y = 1e9;
	size_t start = b->len, n = 0;
	sl_pbuf_puts(b, *first ? "[" : ",[");
	size_t i;
	json_t *pt;
	json_array_foreach(coords, i, pt)
	{
		double x = json_number_value(json_array_get(pt, 0));
		double y = json_number_value(json_array_get(pt, 1));
		x = round(x * 1e4) / 1e4;
		y = round(y * 1e4) / 1e4;
		if (x == last_x && y == last_y)
			continue;
		if (*points + n >= NETWORK_POINTS_MAX)
			break;
		sl_pbuf_puts(b, n ? ",[" : "[");
		sl_pbuf_fixed(b, x, 4);
		sl_pbuf_put(b, ",", 1);
		sl_pbuf_fixed(b, y, 4);
		sl_pbuf_put(b, "]", 1);
		last_x = x, last_y = y;
		n++;
	}
	if (n < 2) {
		b->len = start; /* nothing worth drawing */
		return;
	}
	sl_pbuf_put(b, "]", 1);
	*points += n;
	*first = false;
}

/* Reads the network's GeoJSON and keeps its lines only, simplified: one
 * MultiLineString of at most NETWORK_POINTS_MAX points, no properties. */
static sl_err set_network(sl_public *p, sl_pbuf *b);

static sl_err load_network(sl_public *p, const char *path)
{
	char *text = NULL;
	size_t len = 0;
	sl_problems why = {0};
	sl_err e = sl_read_file(path, NETWORK_FILE_CAP, &text, &len, &why);
	if (e) {
		char msg[512];
		sl_problems_format(&why, msg, sizeof(msg));
		fprintf(stderr, "sightline: --network: %s\n", msg);
		return e;
	}
	json_error_t jerr;
	json_t *doc = json_loadb(text, len, 0, &jerr);
	free(text);
	json_t *features = json_object_get(doc, "features");
	if (!json_is_array(features)) {
		fprintf(stderr,
			"sightline: --network %s: not a GeoJSON FeatureCollection\n",
			path);
		json_decref(doc);
		return SL_EPARSE;
	}
	sl_pbuf b;
	sl_pbuf_init(&b, (size_t)64 << 20);
	sl_pbuf_puts(&b, "{\"type\":\"FeatureCollection\",\"features\":[{\"type\":"
			 "\"Feature\",\"properties\":{\"kind\":\"rail\"},\"geometry\":{"
			 "\"type\":\"MultiLineString\",\"coordinates\":[");
	size_t points = 0, i;
	bool first = true;
	json_t *f;
	json_array_foreach(features, i, f)
	{
		json_t *g = json_object_get(f, "geometry");
		const char *type = json_string_value(json_object_get(g, "type"));
		json_t *coords = json_object_get(g, "coordinates");
		if (type && strcmp(type, "LineString") == 0) {
			put_line(&b, coords, &points, &first);
		} else if (type && strcmp(type, "MultiLineString") == 0) {
			size_t j;
			json_t *line;
			json_array_foreach(coords, j, line)
			    put_line(&b, line, &points, &first);
		}
	}
	json_decref(doc);
	sl_pbuf_puts(&b, "]}}]}\n");
	return set_network(p, &b);
}

/* Without --network: no lines, but still a FeatureCollection, so that the
 * map draws none instead of logging a failed request. */
static sl_err no_network(sl_public *p)
{
	sl_pbuf b;
	sl_pbuf_init(&b, 64);
	sl_pbuf_puts(&b, "{\"type\":\"FeatureCollection\",\"features\":[]}\n");
	return set_network(p, &b);
}

/* The network feed from b's bytes (taken). */
static sl_err set_network(sl_public *p, sl_pbuf *b)
{
	if (b->failed) {
		sl_pbuf_free(b);
		return SL_ENOMEM;
	}
	feed *nf = calloc(1, sizeof(*nf));
	if (!nf) {
		sl_pbuf_free(b);
		return SL_ENOMEM;
	}
	nf->owner = p;
	nf->refs = 1;
	nf->fmt = NETWORK_FORMAT;
	nf->body = b->p;
	nf->len = b->len;
	etag_of(nf->body, nf->len, "", nf->etag, sizeof(nf->etag));
	p->network = nf;
	return SL_OK;
}

/* ---- the publisher thread ---- */

static void publish_once(sl_server *srv, bool *failing)
{
	sl_pub_changes ch;
	int64_t now = sl_time_now();
	sl_err e = sl_publish_refresh(srv->publish, now, false, true, &ch);
	if (e) {
		if (!*failing)
			fprintf(stderr,
				"sightline: publication: refresh failed: %s (retrying)\n",
				sl_strerror(e));
		*failing = true;
		return;
	}
	if (*failing)
		fprintf(stderr, "sightline: publication: works again\n");
	*failing = false;
	if (ch.n) {
		sl_cot_broadcast(srv, &ch, now);
		sl_webhook_wake(srv);
	}
	sl_publish_changes_free(&ch);
}

static void *publisher_main(void *arg)
{
	sl_server *srv = arg;
	bool failing = false;
	pthread_mutex_lock(&srv->publisher_lock);
	while (!srv->publisher_stopping) {
		pthread_mutex_unlock(&srv->publisher_lock);
		publish_once(srv, &failing);
		pthread_mutex_lock(&srv->publisher_lock);
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		unsigned ms =
		    srv->cfg.publish_interval_ms ? srv->cfg.publish_interval_ms : 1000;
		until.tv_sec += ms / 1000;
		until.tv_nsec += (long)(ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		while (!srv->publisher_stopping &&
		       pthread_cond_timedwait(&srv->publisher_wake, &srv->publisher_lock,
					      &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&srv->publisher_lock);
	return NULL;
}

void sl_public_kick(sl_server *srv)
{
	pthread_mutex_lock(&srv->publisher_lock);
	pthread_cond_signal(&srv->publisher_wake);
	pthread_mutex_unlock(&srv->publisher_lock);
}

/* The track source publication reads (publish.h): the tracker's tracks of
 * two events or more, as the store has them, oldest first. Everything
 * goes into a, the snapshot builder's arena. */
static sl_err stored_tracks(void *ud, sl_store *s, sl_arena *a, sl_track_input **out,
			    size_t *n)
{
	(void)ud;
	*out = NULL;
	*n = 0;
	size_t cap = 0;
	sl_track_filter f = {.ascending = true, .min_events = 2, .limit = SL_TRACKS_MAX};
	for (;;) {
		sl_track *tr;
		size_t k;
		sl_err e = sl_store_find_tracks(s, &f, a, &tr, &k);
		if (e)
			return e;
		if (*n + k > cap) {
			size_t ncap = cap ? cap * 2 : 1024;
			while (ncap < *n + k)
				ncap *= 2;
			sl_track_input *g = sl_arena_alloc(a, ncap * sizeof(*g));
			if (!g)
				return SL_ENOMEM;
			if (*n)
				memcpy(g, *out, *n * sizeof(*g));
			*out = g;
			cap = ncap;
		}
		for (size_t i = 0; i < k; i++)
			(*out)[(*n)++] =
			    (sl_track_input){tr[i].id, tr[i].category, tr[i].direction,
					     tr[i].n_events, tr[i].event_ids};
		if (k < f.limit)
			return SL_OK;
		f.cursor = tr[k - 1].id;
	}
}

sl_err sl_public_start(sl_server *srv)
{
	sl_public *p = calloc(1, sizeof(*p));
	if (!p)
		return SL_ENOMEM;
	pthread_mutex_init(&p->lock, NULL);
	srv->pub = p;
	pthread_mutex_init(&srv->publisher_lock, NULL);
	pthread_cond_init(&srv->publisher_wake, NULL);
	sl_err e = sl_publish_new(srv->store, &srv->publish);
	if (!e) {
		sl_publish_wait_for_engine(srv->publish, srv->cfg.engine_interval_ms > 0);
		sl_publish_set_track_source(srv->publish, stored_tracks, NULL);
		sl_publish_set_places(srv->publish, srv->cfg.borders, srv->cfg.stations);
	}
	if (!e)
		e = srv->cfg.network_path ? load_network(p, srv->cfg.network_path)
					  : no_network(p);
	if (!e) /* the first picture before the first request */
		e = sl_publish_refresh(srv->publish, sl_time_now(), true, false, NULL);
	if (!e)
		e = sl_cot_start(srv);
	if (!e)
		e = sl_webhook_start(srv);
	if (!e) {
		if (pthread_create(&srv->publisher, NULL, publisher_main, srv) == 0)
			srv->publisher_started = true;
		else
			e = SL_ENOMEM;
	}
	return e;
}

void sl_public_stop(sl_server *srv)
{
	if (srv->publisher_started) {
		pthread_mutex_lock(&srv->publisher_lock);
		srv->publisher_stopping = true;
		pthread_cond_signal(&srv->publisher_wake);
		pthread_mutex_unlock(&srv->publisher_lock);
		pthread_join(srv->publisher, NULL);
		srv->publisher_started = false;
	}
	sl_webhook_stop(srv);
	sl_cot_stop(srv);
	sl_public *p = srv->pub;
	if (p) {
		for (size_t i = 0; i < FEED_SLOTS; i++) {
			feed *f = evict(p, i);
			feed_free(f);
		}
		if (p->network)
			feed_release(p->network);
		pthread_mutex_destroy(&p->lock);
		free(p);
		srv->pub = NULL;
		pthread_cond_destroy(&srv->publisher_wake);
		pthread_mutex_destroy(&srv->publisher_lock);
	}
	sl_publish_free(srv->publish);
	srv->publish = NULL;
}
