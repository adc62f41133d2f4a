/*
 * feeds.c — the public formats, written from a snapshot (publish.h,
 * docs/PUBLISH.md): GeoJSON (RFC 7946), Atom (RFC 4287, with GeoRSS
 * points), CSV with ACLED's columns, KML 2.2, Cursor-on-Target events,
 * tracks as GeoJSON lines and the weekly summary.
 *
 * Everything written here comes from sl_pub_event values, which the
 * policy made (policy.c): nothing here can reach the store. The text is
 * written through one buffer with its own escapers for JSON strings, XML
 * and CSV fields, so a moderator's excerpt is escaped the same way in
 * every format. The feeds are the hot path of the public side (100,000
 * events in well under 100 ms, docs/PERFORMANCE.md), so numbers and
 * times are formatted by hand, not with printf.
 */
#include "sightline/publish.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the buffer ---- */

void sl_pbuf_init(sl_pbuf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void sl_pbuf_free(sl_pbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static bool reserve(sl_pbuf *b, size_t n)
{
	if (b->failed)
		return false;
	if (b->len + n <= b->cap)
		return true;
	if (b->len + n > b->max) {
		b->failed = true;
		return false;
	}
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < b->len + n)
		cap *= 2;
	if (cap > b->max)
		cap = b->max;
	char *p = realloc(b->p, cap);
	if (!p) {
		b->failed = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

void sl_pbuf_put(sl_pbuf *b, const char *s, size_t n)
{
	if (n && reserve(b, n)) {
		memcpy(b->p + b->len, s, n);
		b->len += n;
	}
}

void sl_pbuf_puts(sl_pbuf *b, const char *s)
{
	sl_pbuf_put(b, s, strlen(s));
}

void sl_pbuf_putf(sl_pbuf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(tmp)) {
		sl_pbuf_put(b, tmp, (size_t)n);
		return;
	}
	if (!reserve(b, (size_t)n + 1))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

static void put_uint(sl_pbuf *b, uint64_t v)
{
	char tmp[24];
	int i = sizeof(tmp);
	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	sl_pbuf_put(b, tmp + i, sizeof(tmp) - (size_t)i);
}

static void put_int(sl_pbuf *b, int64_t v)
{
	if (v < 0) {
		sl_pbuf_put(b, "-", 1);
		put_uint(b, (uint64_t)(-(v + 1)) + 1);
	} else {
		put_uint(b, (uint64_t)v);
	}
}

void sl_pbuf_fixed(sl_pbuf *b, double x, int decimals)
{
	static const double scale[] = {1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};
	if (decimals < 0)
		decimals = 0;
	if (decimals > 9)
		decimals = 9;
	if (!isfinite(x) || fabs(x) > 1e9) {
		sl_pbuf_put(b, "0", 1);
		return;
	}
	bool neg = x < 0;
	uint64_t v = (uint64_t)llround(fabs(x) * scale[decimals]);
	if (neg && v)
		sl_pbuf_put(b, "-", 1);
	uint64_t whole = v / (uint64_t)scale[decimals];
	put_uint(b, whole);
	if (decimals) {
		char frac[10];
		uint64_t f = v % (uint64_t)scale[decimals];
		for (int i = decimals - 1; i >= 0; i--, f /= 10)
			frac[i] = (char)('0' + f % 10);
		sl_pbuf_put(b, ".", 1);
		sl_pbuf_put(b, frac, (size_t)decimals);
	}
}

void sl_pbuf_json_str(sl_pbuf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	sl_pbuf_put(b, "\"", 1);
	const char *run = s;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' &&
		    c != '&')
			continue;
		sl_pbuf_put(b, run, (size_t)(s - run));
		char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
		if (c == '"' || c == '\\') {
			esc[1] = (char)c;
			sl_pbuf_put(b, esc, 2);
		} else {
			/* < > & as \u escapes too: the JSON stays safe to embed. */
			sl_pbuf_put(b, esc, 6);
		}
		run = s + 1;
	}
	sl_pbuf_put(b, run, (size_t)(s - run));
	sl_pbuf_put(b, "\"", 1);
}

void sl_pbuf_xml(sl_pbuf *b, const char *s)
{
	const char *run = s;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		const char *rep = NULL;
		switch (c) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&apos;";
			break;
		default:
			if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
				rep = ""; /* not allowed in XML 1.0 */
		}
		if (!rep)
			continue;
		sl_pbuf_put(b, run, (size_t)(s - run));
		sl_pbuf_puts(b, rep);
		run = s + 1;
	}
	sl_pbuf_put(b, run, (size_t)(s - run));
}

void sl_pbuf_csv(sl_pbuf *b, const char *s)
{
	if (!s[strcspn(s, ",\"\r\n")]) {
		sl_pbuf_puts(b, s);
		return;
	}
	sl_pbuf_put(b, "\"", 1);
	for (const char *q; (q = strchr(s, '"')); s = q + 1) {
		sl_pbuf_put(b, s, (size_t)(q - s + 1));
		sl_pbuf_put(b, "\"", 1);
	}
	sl_pbuf_puts(b, s);
	sl_pbuf_put(b, "\"", 1);
}

/* "YYYY-MM-DDTHH:MM:SSZ" without gmtime (days from civil, H. Hinnant). */
static void fmt_time(int64_t t, char out[21])
{
	int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
	int64_t secs = t - days * 86400;
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t y = yoe + era * 400;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int64_t d = doy - (153 * mp + 2) / 5 + 1;
	int64_t m = mp < 10 ? mp + 3 : mp - 9;
	y += m <= 2;
	if (y < 0 || y > 9999)
		y = 0;
	int v[6] = {
	    (int)y,	     (int)m, (int)d, (int)(secs / 3600), (int)(secs / 60 % 60),
	    (int)(secs % 60)};
	char *p = out;
	p[0] = (char)('0' + v[0] / 1000);
	p[1] = (char)('0' + v[0] / 100 % 10);
	p[2] = (char)('0' + v[0] / 10 % 10);
	p[3] = (char)('0' + v[0] % 10);
	p += 4;
	static const char seps[] = "--T::";
	for (int i = 1; i < 6; i++) {
		*p++ = seps[i - 1];
		*p++ = (char)('0' + v[i] / 10);
		*p++ = (char)('0' + v[i] % 10);
	}
	*p++ = 'Z';
	*p = '\0';
}

static void put_time(sl_pbuf *b, int64_t t)
{
	char s[21];
	fmt_time(t, s);
	sl_pbuf_put(b, s, 20);
}

static void put_time_q(sl_pbuf *b, int64_t t)
{
	char s[23];
	s[0] = '"';
	fmt_time(t, s + 1);
	s[21] = '"';
	sl_pbuf_put(b, s, 22);
}

/* ---- words ---- */

const char *sl_pub_category_label(sl_category c)
{
	static const char *const labels[SL_CAT_COUNT] = {
	    "Rail transport", "Road convoy",	"Aircraft", "Helicopter",    "Troops",
	    "Air defence",    "Missile system", "Naval",    "Fortification", "Other"};
	return (unsigned)c < SL_CAT_COUNT ? labels[c] : "Other";
}

static const char *equipment_words(sl_equipment_type t, bool one)
{
	static const char *const many[SL_EQ_COUNT] = {"tanks",
						      "IFVs",
						      "APCs",
						      "artillery pieces",
						      "MLRS",
						      "air-defence systems",
						      "missile launchers",
						      "trucks",
						      "fuel trucks",
						      "engineering vehicles",
						      "command vehicles",
						      "helicopters",
						      "aircraft",
						      "other vehicles"};
	static const char *const single[SL_EQ_COUNT] = {"tank",
							"IFV",
							"APC",
							"artillery piece",
							"MLRS",
							"air-defence system",
							"missile launcher",
							"truck",
							"fuel truck",
							"engineering vehicle",
							"command vehicle",
							"helicopter",
							"aircraft",
							"other vehicle"};
	if ((unsigned)t >= SL_EQ_COUNT)
		t = SL_EQ_OTHER;
	return one ? single[t] : many[t];
}

void sl_pub_equipment_text(const sl_pub_event *e, char *buf, size_t size)
{
	size_t o = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < e->n_items && o + 1 < size; i++) {
		const sl_event_item *it = &e->items[i];
		int n;
		if (it->count_max > it->count_min && it->count_min >= 0)
			n = snprintf(buf + o, size - o, "%s%d %s (%d-%d)", i ? ", " : "",
				     it->count, equipment_words(it->type, it->count == 1),
				     it->count_min, it->count_max);
		else
			n = snprintf(buf + o, size - o, "%s%d %s", i ? ", " : "",
				     it->count,
				     equipment_words(it->type, it->count == 1));
		if (n < 0)
			break;
		o += (size_t)n;
		if (o >= size)
			o = size - 1;
	}
	if (!e->n_items)
		snprintf(buf, size, "%s", sl_pub_category_label(e->category));
}

static const char *compass(double deg)
{
	static const char *const pts[16] = {"N",  "NNE", "NE", "ENE", "E",  "ESE",
					    "SE", "SSE", "S",  "SSW", "SW", "WSW",
					    "W",  "WNW", "NW", "NNW"};
	int i = (int)lround(deg / 22.5) % 16;
	return pts[i < 0 ? i + 16 : i];
}

/* "Rail transport: 12 tanks, heading NE. 3 independent reports; location
 * to 5 km." and the excerpt: the notes of the CSV, the Atom summary, the
 * KML description, the CoT remarks. */
static void put_notes(sl_pbuf *b, const sl_pub_event *e,
		      void (*esc)(sl_pbuf *, const char *))
{
	char eq[512], text[1400];
	sl_pub_equipment_text(e, eq, sizeof(eq));
	int n = snprintf(text, sizeof(text), "%s: %s", sl_pub_category_label(e->category),
			 eq);
	if (e->has_heading && n > 0 && (size_t)n < sizeof(text))
		n += snprintf(text + n, sizeof(text) - (size_t)n, ", heading %s",
			      compass(e->heading_deg));
	if (n > 0 && (size_t)n < sizeof(text))
		snprintf(text + n, sizeof(text) - (size_t)n,
			 ". %d independent report%s; location to %g km.", e->sources,
			 e->sources == 1 ? "" : "s", e->precision_m / 1000.0);
	esc(b, text);
	if (e->excerpt) {
		esc(b, " ");
		esc(b, e->excerpt);
	}
}

static int coord_decimals(const sl_pub_event *e)
{
	return e->coarse ? 4 : 3;
}

/* ---- GeoJSON ---- */

void sl_pub_write_feature(sl_pbuf *b, const sl_pub_event *e)
{
	int dec = coord_decimals(e);
	sl_pbuf_puts(b, "{\"type\":\"Feature\",\"id\":\"");
	sl_pbuf_puts(b, e->id);
	sl_pbuf_puts(b, "\",\"geometry\":{\"type\":\"Point\",\"coordinates\":[");
	sl_pbuf_fixed(b, e->lon, dec);
	sl_pbuf_put(b, ",", 1);
	sl_pbuf_fixed(b, e->lat, dec);
	sl_pbuf_puts(b, "]},\"properties\":{\"category\":\"");
	sl_pbuf_puts(b, sl_category_name(e->category));
	sl_pbuf_puts(b, "\",\"start\":");
	put_time_q(b, e->t_start);
	sl_pbuf_puts(b, ",\"end\":");
	put_time_q(b, e->t_end);
	sl_pbuf_puts(b, ",\"published\":");
	put_time_q(b, e->published_at);
	sl_pbuf_puts(b, ",\"precision_m\":");
	put_int(b, (int64_t)e->precision_m);
	sl_pbuf_puts(b, e->coarse ? ",\"coarse\":true" : ",\"coarse\":false");
	sl_pbuf_puts(b, ",\"sources\":");
	put_int(b, e->sources);
	sl_pbuf_puts(b, ",\"confidence\":");
	sl_pbuf_fixed(b, e->confidence, 2);
	sl_pbuf_puts(b, ",\"heading_deg\":");
	if (e->has_heading)
		sl_pbuf_fixed(b, e->heading_deg, 1);
	else
		sl_pbuf_puts(b, "null");
	sl_pbuf_puts(b, ",\"equipment\":[");
	for (size_t i = 0; i < e->n_items; i++) {
		const sl_event_item *it = &e->items[i];
		sl_pbuf_puts(b, i ? ",{\"type\":\"" : "{\"type\":\"");
		sl_pbuf_puts(b, sl_equipment_type_name(it->type));
		sl_pbuf_puts(b, "\",\"count\":");
		put_int(b, it->count);
		sl_pbuf_puts(b, ",\"min\":");
		put_int(b, it->count_min);
		sl_pbuf_puts(b, ",\"max\":");
		put_int(b, it->count_max);
		sl_pbuf_put(b, "}", 1);
	}
	char eq[512];
	sl_pub_equipment_text(e, eq, sizeof(eq));
	sl_pbuf_puts(b, "],\"summary\":");
	sl_pbuf_json_str(b, eq);
	sl_pbuf_puts(b, ",\"excerpt\":");
	if (e->excerpt)
		sl_pbuf_json_str(b, e->excerpt);
	else
		sl_pbuf_puts(b, "null");
	sl_pbuf_puts(b, ",\"photo\":");
	if (e->has_photo) {
		sl_pbuf_puts(b, "\"" SL_PUB_PHOTO_PATH);
		sl_pbuf_puts(b, e->id);
		sl_pbuf_puts(b, ".jpg\"");
	} else {
		sl_pbuf_puts(b, "null");
	}
	sl_pbuf_puts(b, "}}");
}

static void write_geojson(const sl_pub_snapshot *s, const sl_pub_filter *f, sl_pbuf *b)
{
	/* The snapshot has every Feature written already: the feed is the
	 * matching ones, copied, into a buffer sized once. */
	size_t need = 64;
	for (size_t i = 0; i < s->n; i++)
		need += s->events[i].feature_len + 2;
	reserve(b, need > b->max ? b->max : need); /* failing, it says so in b */
	sl_pbuf_puts(b, "{\"type\":\"FeatureCollection\",\"features\":[");
	size_t k = 0;
	for (size_t i = 0; i < s->n && !b->failed; i++) {
		const sl_pub_event *e = &s->events[i];
		if (!sl_pub_filter_match(f, e))
			continue;
		if (k++)
			sl_pbuf_put(b, ",\n", 2);
		if (e->feature)
			sl_pbuf_put(b, e->feature, e->feature_len);
		else
			sl_pub_write_feature(b, e);
		if (f->limit && k >= f->limit)
			break;
	}
	sl_pbuf_puts(b, "]}\n");
}

/* ---- tracks ---- */

static bool track_match(const sl_pub_filter *f, const sl_pub_track *t)
{
	if (f->categories && !(f->categories & (1u << t->category)))
		return false;
	/* A track is shown when one of its points is. */
	sl_pub_filter g = *f;
	g.categories = 0;
	for (size_t i = 0; i < t->n_points; i++)
		if (sl_pub_filter_match(&g, t->points[i]))
			return true;
	return false;
}

static void write_tracks(const sl_pub_snapshot *s, const sl_pub_filter *f, sl_pbuf *b)
{
	sl_pbuf_puts(b, "{\"type\":\"FeatureCollection\",\"features\":[");
	size_t k = 0;
	for (size_t i = 0; i < s->n_tracks && !b->failed; i++) {
		const sl_pub_track *t = &s->tracks[i];
		if (!track_match(f, t))
			continue;
		if (k++)
			sl_pbuf_puts(b, ",\n");
		sl_pbuf_puts(b, "{\"type\":\"Feature\",\"id\":\"");
		sl_pbuf_puts(b, t->id);
		sl_pbuf_puts(
		    b, "\",\"geometry\":{\"type\":\"LineString\",\"coordinates\":[");
		for (size_t j = 0; j < t->n_points; j++) {
			const sl_pub_event *e = t->points[j];
			sl_pbuf_puts(b, j ? ",[" : "[");
			sl_pbuf_fixed(b, e->lon, coord_decimals(e));
			sl_pbuf_put(b, ",", 1);
			sl_pbuf_fixed(b, e->lat, coord_decimals(e));
			sl_pbuf_put(b, "]", 1);
		}
		sl_pbuf_puts(b, "]},\"properties\":{\"category\":\"");
		sl_pbuf_puts(b, sl_category_name(t->category));
		sl_pbuf_puts(b, "\",\"direction\":\"");
		sl_pbuf_puts(b, sl_direction_name(t->direction));
		sl_pbuf_puts(b, "\",\"start\":");
		put_time_q(b, t->points[0]->t_start);
		sl_pbuf_puts(b, ",\"end\":");
		put_time_q(b, t->points[t->n_points - 1]->t_end);
		sl_pbuf_puts(b, ",\"events\":[");
		for (size_t j = 0; j < t->n_points; j++) {
			sl_pbuf_puts(b, j ? ",\"" : "\"");
			sl_pbuf_puts(b, t->points[j]->id);
			sl_pbuf_put(b, "\"", 1);
		}
		sl_pbuf_puts(b, "]}}");
	}
	sl_pbuf_puts(b, "]}\n");
}

/* ---- Atom ---- */

static void write_atom(const sl_pub_snapshot *s, const sl_pub_filter *f, sl_pbuf *b)
{
	int64_t updated = 0;
	for (size_t i = 0; i < s->n; i++)
		if (sl_pub_filter_match(f, &s->events[i])) {
			updated = s->events[i].published_at; /* newest first */
			break;
		}
	sl_pbuf_puts(
	    b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
	       "<feed xmlns=\"http://www.w3.org/2005/Atom\" "
	       "xmlns:georss=\"http://www.georss.org/georss\">\n"
	       "<id>urn:sightline:events</id>\n"
	       "<title>sightline: verified sightings</title>\n"
	       "<subtitle>Events verified by moderators, published after a delay with "
	       "coarsened locations</subtitle>\n<updated>");
	put_time(b, updated);
	sl_pbuf_puts(b, "</updated>\n<author><name>sightline</name></author>\n"
			"<link rel=\"self\" type=\"application/atom+xml\" "
			"href=\"/api/v1/public/events.atom\"/>\n"
			"<link rel=\"alternate\" type=\"text/html\" href=\"/\"/>\n");
	size_t limit =
	    f->limit && f->limit < SL_PUB_ATOM_MAX ? f->limit : SL_PUB_ATOM_MAX;
	size_t k = 0;
	char eq[512];
	for (size_t i = 0; i < s->n && k < limit && !b->failed; i++) {
		const sl_pub_event *e = &s->events[i];
		if (!sl_pub_filter_match(f, e))
			continue;
		k++;
		sl_pub_equipment_text(e, eq, sizeof(eq));
		sl_pbuf_puts(b, "<entry>\n<id>urn:sightline:event:");
		sl_pbuf_puts(b, e->id);
		sl_pbuf_puts(b, "</id>\n<title>");
		sl_pbuf_xml(b, sl_pub_category_label(e->category));
		sl_pbuf_puts(b, ": ");
		sl_pbuf_xml(b, eq);
		sl_pbuf_puts(b, "</title>\n<updated>");
		put_time(b, e->published_at);
		sl_pbuf_puts(b, "</updated>\n<published>");
		put_time(b, e->published_at);
		sl_pbuf_puts(b, "</published>\n<category term=\"");
		sl_pbuf_puts(b, sl_category_name(e->category));
		sl_pbuf_puts(b, "\" label=\"");
		sl_pbuf_xml(b, sl_pub_category_label(e->category));
		sl_pbuf_puts(b, "\"/>\n<summary type=\"text\">Seen ");
		put_time(b, e->t_start);
		sl_pbuf_puts(b, " to ");
		put_time(b, e->t_end);
		sl_pbuf_puts(b, ". ");
		put_notes(b, e, sl_pbuf_xml);
		sl_pbuf_puts(b, "</summary>\n<georss:point>");
		sl_pbuf_fixed(b, e->lat, coord_decimals(e));
		sl_pbuf_put(b, " ", 1);
		sl_pbuf_fixed(b, e->lon, coord_decimals(e));
		sl_pbuf_puts(
		    b, "</georss:point>\n<link rel=\"alternate\" type=\"text/html\" "
		       "href=\"/#");
		sl_pbuf_puts(b, e->id);
		sl_pbuf_puts(b, "\"/>\n");
		if (e->has_photo) {
			sl_pbuf_puts(b, "<link rel=\"enclosure\" type=\"image/jpeg\" "
					"href=\"" SL_PUB_PHOTO_PATH);
			sl_pbuf_puts(b, e->id);
			sl_pbuf_puts(b, ".jpg\"/>\n");
		}
		sl_pbuf_puts(b, "</entry>\n");
	}
	sl_pbuf_puts(b, "</feed>\n");
}

/* ---- CSV, ACLED's columns where they apply ---- */

static const char csv_header[] =
    "event_id_cnty,event_date,time_precision,event_type,sub_event_type,country,admin1,"
    "location,latitude,longitude,geo_precision,source,source_scale,notes,"
    "category,start,end,precision_m,sources,timestamp\r\n";

static void write_csv(const sl_pub_snapshot *s, const sl_pub_filter *f, sl_pbuf *b)
{
	sl_pbuf_puts(b, csv_header);
	size_t k = 0;
	for (size_t i = 0; i < s->n && !b->failed; i++) {
		const sl_pub_event *e = &s->events[i];
		if (!sl_pub_filter_match(f, e))
			continue;
		char day[21];
		fmt_time(e->t_start, day);
		day[10] = '\0';
		sl_pbuf_puts(b, "SL");
		sl_pbuf_puts(b, e->id);
		sl_pbuf_put(b, ",", 1);
		sl_pbuf_puts(b, day);
		/* time_precision 1: the day is known. Military movements are
		 * ACLED's "Strategic developments"; country, admin1 and location
		 * name the published (rounded) point. */
		sl_pbuf_puts(b, ",1,Strategic developments,Other,");
		sl_pbuf_csv(b, e->country ? e->country : "");
		sl_pbuf_put(b, ",", 1);
		sl_pbuf_csv(b, e->admin1 ? e->admin1 : "");
		sl_pbuf_put(b, ",", 1);
		sl_pbuf_csv(b, e->location ? e->location : "");
		sl_pbuf_put(b, ",", 1);
		sl_pbuf_fixed(b, e->lat, coord_decimals(e));
		sl_pbuf_put(b, ",", 1);
		sl_pbuf_fixed(b, e->lon, coord_decimals(e));
		sl_pbuf_puts(b, e->coarse ? ",2" : ",1");
		sl_pbuf_puts(b, ",sightline,New media,");
		sl_pbuf csvnote;
		sl_pbuf_init(&csvnote, 8192);
		put_notes(&csvnote, e, sl_pbuf_puts);
		sl_pbuf_put(&csvnote, "", 1);
		sl_pbuf_csv(b, csvnote.failed ? "" : csvnote.p);
		sl_pbuf_free(&csvnote);
		sl_pbuf_put(b, ",", 1);
		sl_pbuf_puts(b, sl_category_name(e->category));
		sl_pbuf_put(b, ",", 1);
		put_time(b, e->t_start);
		sl_pbuf_put(b, ",", 1);
		put_time(b, e->t_end);
		sl_pbuf_put(b, ",", 1);
		put_int(b, (int64_t)e->precision_m);
		sl_pbuf_put(b, ",", 1);
		put_int(b, e->sources);
		sl_pbuf_put(b, ",", 1);
		put_int(b, e->published_at);
		sl_pbuf_puts(b, "\r\n");
		if (f->limit && ++k >= f->limit)
			break;
	}
}

/* ---- KML ---- */

static void kml_data(sl_pbuf *b, const char *name, const char *value)
{
	sl_pbuf_puts(b, "<Data name=\"");
	sl_pbuf_puts(b, name);
	sl_pbuf_puts(b, "\"><value>");
	sl_pbuf_xml(b, value);
	sl_pbuf_puts(b, "</value></Data>");
}

static void write_kml(const sl_pub_snapshot *s, const sl_pub_filter *f, sl_pbuf *b)
{
	sl_pbuf_puts(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			"<kml xmlns=\"http://www.opengis.net/kml/2.2\">\n<Document>\n"
			"<name>sightline: verified sightings</name>\n");
	size_t k = 0;
	char eq[512], num[32], t[21];
	for (size_t i = 0; i < s->n && !b->failed; i++) {
		const sl_pub_event *e = &s->events[i];
		if (!sl_pub_filter_match(f, e))
			continue;
		sl_pub_equipment_text(e, eq, sizeof(eq));
		sl_pbuf_puts(b, "<Placemark id=\"");
		sl_pbuf_puts(b, e->id);
		sl_pbuf_puts(b, "\"><name>");
		sl_pbuf_xml(b, sl_pub_category_label(e->category));
		sl_pbuf_puts(b, ": ");
		sl_pbuf_xml(b, eq);
		sl_pbuf_puts(b, "</name><description>");
		put_notes(b, e, sl_pbuf_xml);
		sl_pbuf_puts(b, "</description><TimeSpan><begin>");
		put_time(b, e->t_start);
		sl_pbuf_puts(b, "</begin><end>");
		put_time(b, e->t_end);
		sl_pbuf_puts(b, "</end></TimeSpan><ExtendedData>");
		kml_data(b, "category", sl_category_name(e->category));
		fmt_time(e->published_at, t);
		kml_data(b, "published", t);
		snprintf(num, sizeof(num), "%d", (int)e->precision_m);
		kml_data(b, "precision_m", num);
		snprintf(num, sizeof(num), "%d", e->sources);
		kml_data(b, "sources", num);
		kml_data(b, "summary", eq);
		sl_pbuf_puts(b, "</ExtendedData><Point><coordinates>");
		sl_pbuf_fixed(b, e->lon, coord_decimals(e));
		sl_pbuf_put(b, ",", 1);
		sl_pbuf_fixed(b, e->lat, coord_decimals(e));
		sl_pbuf_puts(b, "</coordinates></Point></Placemark>\n");
		if (f->limit && ++k >= f->limit)
			break;
	}
	sl_pbuf_puts(b, "</Document>\n</kml>\n");
}

/* ---- Cursor on Target ---- */

const char *sl_pub_cot_type(sl_category c)
{
	/* Hostile (a-h-), MIL-STD-2525 through CoT's type tree (CoTtypes.xml):
	 * a locomotive for a military train, a ground vehicle for a convoy,
	 * fixed and rotary military aircraft, infantry, air defence, a
	 * surface-to-surface missile launcher, a surface vessel, an
	 * installation. */
	static const char *const types[SL_CAT_COUNT] = {
	    "a-h-G-E-V-T",   /* rail_transport */
	    "a-h-G-E-V",     /* road_convoy */
	    "a-h-A-M-F",     /* aircraft */
	    "a-h-A-M-H",     /* helicopter */
	    "a-h-G-U-C-I",   /* troops */
	    "a-h-G-U-C-D",   /* air_defence */
	    "a-h-G-E-W-M-S", /* missile_system */
	    "a-h-S",	     /* naval */
	    "a-h-G-I",	     /* fortification */
	    "a-h-G",	     /* other */
	};
	return (unsigned)c < SL_CAT_COUNT ? types[c] : "a-h-G";
}

int64_t sl_pub_cot_stale_s(sl_category c)
{
	/* How long a sighting stays useful on a TAK map: aircraft move in
	 * minutes, trains in hours, fortifications stay. */
	static const int64_t stale[SL_CAT_COUNT] = {
	    12 * 3600, 6 * 3600,  3600,	     3600,	 24 * 3600,
	    24 * 3600, 12 * 3600, 24 * 3600, 30 * 86400, 24 * 3600};
	return (unsigned)c < SL_CAT_COUNT ? stale[c] : 24 * 3600;
}

static void cot_event(sl_pbuf *b, const sl_pub_event *e, int64_t time, int64_t stale)
{
	sl_pbuf_puts(b, "<event version=\"2.0\" uid=\"sightline-");
	sl_pbuf_puts(b, e->id);
	sl_pbuf_puts(b, "\" type=\"");
	sl_pbuf_puts(b, sl_pub_cot_type(e->category));
	sl_pbuf_puts(b, "\" how=\"h-e\" time=\"");
	put_time(b, time);
	sl_pbuf_puts(b, "\" start=\"");
	put_time(b, time);
	sl_pbuf_puts(b, "\" stale=\"");
	put_time(b, stale);
	sl_pbuf_puts(b, "\"><point lat=\"");
	sl_pbuf_fixed(b, e->lat, coord_decimals(e));
	sl_pbuf_puts(b, "\" lon=\"");
	sl_pbuf_fixed(b, e->lon, coord_decimals(e));
	sl_pbuf_puts(b, "\" hae=\"9999999.0\" ce=\"");
	put_int(b, (int64_t)e->precision_m);
	sl_pbuf_puts(b, ".0\" le=\"9999999.0\"/><detail><contact callsign=\"");
	sl_pbuf_xml(b, sl_pub_category_label(e->category));
	sl_pbuf_put(b, " ", 1);
	sl_pbuf_put(b, e->id + 1, 6);
	sl_pbuf_puts(b, "\"/>");
	if (e->has_heading) {
		sl_pbuf_puts(b, "<track course=\"");
		sl_pbuf_fixed(b, e->heading_deg, 1);
		sl_pbuf_puts(b, "\" speed=\"0.0\"/>");
	}
	sl_pbuf_puts(b, "<remarks>Seen ");
	put_time(b, e->t_start);
	sl_pbuf_puts(b, " to ");
	put_time(b, e->t_end);
	sl_pbuf_puts(b, ". ");
	put_notes(b, e, sl_pbuf_xml);
	sl_pbuf_puts(b, "</remarks></detail></event>\n");
}

void sl_pub_write_cot_event(sl_pbuf *b, const sl_pub_event *e, int64_t now)
{
	cot_event(b, e, now, now + sl_pub_cot_stale_s(e->category));
}

static void write_cot(const sl_pub_snapshot *s, const sl_pub_filter *f, sl_pbuf *b)
{
	size_t k = 0;
	for (size_t i = 0; i < s->n && !b->failed; i++) {
		const sl_pub_event *e = &s->events[i];
		if (!sl_pub_filter_match(f, e))
			continue;
		cot_event(b, e, e->published_at,
			  e->published_at + sl_pub_cot_stale_s(e->category));
		if (f->limit && ++k >= f->limit)
			break;
	}
}

/* ---- the weekly summary ---- */

/* Monday 00:00 UTC of t's ISO week. */
static int64_t week_of(int64_t t)
{
	int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
	int64_t dow = ((days % 7) + 7 + 3) % 7; /* 1970-01-01 was a Thursday: 3 */
	return (days - dow) * 86400;
}

typedef struct week {
	int64_t start;
	int64_t events[SL_CAT_COUNT];
	int64_t moves[SL_DIR_COUNT];
} week;

static int by_start(const void *a, const void *b)
{
	const week *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

static week *week_get(week **w, size_t *n, size_t *cap, int64_t start)
{
	for (size_t i = *n; i-- > 0;)
		if ((*w)[i].start == start)
			return &(*w)[i];
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		week *g = realloc(*w, nc * sizeof(*g));
		if (!g)
			return NULL;
		*w = g;
		*cap = nc;
	}
	week *k = &(*w)[(*n)++];
	memset(k, 0, sizeof(*k));
	k->start = start;
	return k;
}

static void write_summary(const sl_pub_snapshot *s, const sl_pub_filter *f, sl_pbuf *b)
{
	week *w = NULL;
	size_t n = 0, cap = 0, n_events = 0, n_tracks = 0;
	int64_t by_cat[SL_CAT_COUNT] = {0};
	bool oom = false;
	for (size_t i = 0; i < s->n && !oom; i++) {
		const sl_pub_event *e = &s->events[i];
		if (!sl_pub_filter_match(f, e))
			continue;
		week *k = week_get(&w, &n, &cap, week_of(e->t_end));
		if (!k) {
			oom = true;
			break;
		}
		k->events[e->category]++;
		by_cat[e->category]++;
		n_events++;
	}
	for (size_t i = 0; i < s->n_tracks && !oom; i++) {
		const sl_pub_track *t = &s->tracks[i];
		if (!track_match(f, t))
			continue;
		week *k =
		    week_get(&w, &n, &cap, week_of(t->points[t->n_points - 1]->t_end));
		if (!k) {
			oom = true;
			break;
		}
		k->moves[t->direction]++;
		n_tracks++;
	}
	if (oom) {
		free(w);
		b->failed = true;
		return;
	}
	if (n > 1)
		qsort(w, n, sizeof(*w), by_start);
	char *policy = sl_publish_policy_to_json(&s->policy);
	sl_pbuf_puts(b, "{\"generated\":");
	put_time_q(b, s->built_at);
	sl_pbuf_puts(b, ",\"policy\":");
	sl_pbuf_puts(b, policy ? policy : "null");
	free(policy);
	sl_pbuf_puts(b, ",\"events\":");
	put_int(b, (int64_t)n_events);
	sl_pbuf_puts(b, ",\"tracks\":");
	put_int(b, (int64_t)n_tracks);
	sl_pbuf_puts(b, ",\"by_category\":{");
	for (int c = 0; c < SL_CAT_COUNT; c++) {
		sl_pbuf_putf(b, "%s\"%s\":", c ? "," : "",
			     sl_category_name((sl_category)c));
		put_int(b, by_cat[c]);
	}
	sl_pbuf_puts(b, "},\"directions\":[");
	for (int d = 1; d < SL_DIR_COUNT; d++)
		sl_pbuf_putf(b, "%s\"%s\"", d > 1 ? "," : "",
			     sl_direction_name((sl_direction)d));
	sl_pbuf_puts(b, ",\"unknown\"],\"weeks\":[");
	for (size_t i = 0; i < n; i++) {
		sl_pbuf_puts(b, i ? ",\n{\"week_start\":" : "\n{\"week_start\":");
		char day[21];
		fmt_time(w[i].start, day);
		day[10] = '\0';
		sl_pbuf_putf(b, "\"%s\",\"events\":{", day);
		for (int c = 0; c < SL_CAT_COUNT; c++) {
			sl_pbuf_putf(b, "%s\"%s\":", c ? "," : "",
				     sl_category_name((sl_category)c));
			put_int(b, w[i].events[c]);
		}
		sl_pbuf_puts(b, "},\"movements\":{");
		for (int d = 0; d < SL_DIR_COUNT; d++) {
			sl_pbuf_putf(b, "%s\"%s\":", d ? "," : "",
				     sl_direction_name((sl_direction)d));
			put_int(b, w[i].moves[d]);
		}
		sl_pbuf_puts(b, "}}");
	}
	sl_pbuf_puts(b, "]}\n");
	free(w);
}

sl_err sl_pub_write(sl_pub_format fmt, const sl_pub_snapshot *s, const sl_pub_filter *f,
		    sl_pbuf *out)
{
	switch (fmt) {
	case SL_PUB_GEOJSON:
		write_geojson(s, f, out);
		break;
	case SL_PUB_ATOM:
		write_atom(s, f, out);
		break;
	case SL_PUB_CSV:
		write_csv(s, f, out);
		break;
	case SL_PUB_KML:
		write_kml(s, f, out);
		break;
	case SL_PUB_COT:
		write_cot(s, f, out);
		break;
	case SL_PUB_TRACKS:
		write_tracks(s, f, out);
		break;
	case SL_PUB_SUMMARY:
		write_summary(s, f, out);
		break;
	default:
		return SL_EINVAL;
	}
	return out->failed ? (out->len + 1 > out->max ? SL_ETOOBIG : SL_ENOMEM) : SL_OK;
}
