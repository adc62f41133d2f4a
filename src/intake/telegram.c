/*
 * telegram.c — Bot API updates in, method calls out (telegram.h).
 *
 * The parser walks the Update with jansson and copies the few members the
 * bot reads into an sl_tg_update; it never touches "username",
 * "first_name", "last_name", "phone_number", "file_name" or
 * "file_unique_id", so none of them is ever in memory of ours beyond the
 * request's JSON (which the webhook wipes). Group chats, channels and
 * edited messages are not the bot's: they parse as SL_ENOTFOUND.
 *
 * The client is one libcurl easy handle with the token in sodium_malloc
 * memory. URLs are built on the stack and wiped after each call; response
 * bodies grow in wiped buffers (a sendMessage answer echoes the message,
 * which may quote the informant; a download is the photo as sent, metadata
 * and all) with a hard cap. Nothing is logged here: a URL names the token.
 */
#include "sightline/telegram.h"

#include <curl/curl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sightline/buf.h"

#define TOKEN_MAX 128
#define URL_MAX 2048
#define ANSWER_CAP ((size_t)1 << 20) /* a Bot API answer larger than this is wrong */

/* ---- updates ---- */

void sl_tg_update_clear(sl_tg_update *u)
{
	if (!u)
		return;
	if (u->text) {
		sodium_memzero(u->text, u->text_len);
		free(u->text);
	}
	sodium_memzero(u, sizeof(*u));
}

static bool integer(const json_t *o, const char *key, int64_t *out)
{
	const json_t *v = json_object_get(o, key);
	if (!json_is_integer(v))
		return false;
	*out = (int64_t)json_integer_value(v);
	return true;
}

static bool number(const json_t *o, const char *key, double *out)
{
	const json_t *v = json_object_get(o, key);
	if (!json_is_number(v))
		return false;
	*out = json_number_value(v);
	return true;
}

/* A copy of o's string member key into u->text; true when there is none. */
static bool take_text(sl_tg_update *u, const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);
	if (!json_is_string(v))
		return true;
	size_t n = json_string_length(v);
	u->text = malloc(n + 1);
	if (!u->text)
		return false;
	memcpy(u->text, json_string_value(v), n);
	u->text[n] = '\0';
	u->text_len = n;
	return true;
}

/* The id of chat when it is a private chat; false otherwise. */
static bool private_chat(const json_t *chat, int64_t *id)
{
	const char *type = json_string_value(json_object_get(chat, "type"));
	return json_is_object(chat) && type && strcmp(type, "private") == 0 &&
	       integer(chat, "id", id) && *id != 0;
}

static void language_of(const json_t *from, char lang[8])
{
	const char *l = json_string_value(json_object_get(from, "language_code"));
	if (l && strlen(l) < 8)
		snprintf(lang, 8, "%s", l);
}

static void copy_id(char *dst, size_t size, const char *src)
{
	if (src && strlen(src) < size)
		snprintf(dst, size, "%s", src);
}

static sl_err parse_message(const json_t *m, sl_tg_update *u)
{
	if (!private_chat(json_object_get(m, "chat"), &u->chat_id))
		return SL_ENOTFOUND;
	integer(m, "message_id", &u->message_id);
	language_of(json_object_get(m, "from"), u->lang);
	const json_t *photo = json_object_get(m, "photo");
	const json_t *doc = json_object_get(m, "document");
	const json_t *venue = json_object_get(m, "venue");
	const json_t *loc = json_object_get(m, "location");
	bool ok = true;
	if (json_is_string(json_object_get(m, "text"))) {
		u->kind = SL_TG_TEXT;
		ok = take_text(u, m, "text");
	} else if (json_is_array(photo) && json_array_size(photo) > 0) {
		/* PhotoSize objects come smallest first: the last is the whole
		 * photo as Telegram keeps it. */
		const json_t *p = json_array_get(photo, json_array_size(photo) - 1);
		u->kind = SL_TG_PHOTO;
		copy_id(u->file_id, sizeof(u->file_id),
			json_string_value(json_object_get(p, "file_id")));
		integer(p, "file_size", &u->file_size);
		ok = take_text(u, m, "caption");
	} else if (json_is_object(doc)) {
		const char *mime = json_string_value(json_object_get(doc, "mime_type"));
		if (mime && strncmp(mime, "image/", 6) == 0) {
			u->kind = SL_TG_PHOTO;
			u->is_document = true;
			copy_id(u->file_id, sizeof(u->file_id),
				json_string_value(json_object_get(doc, "file_id")));
			integer(doc, "file_size", &u->file_size);
			ok = take_text(u, m, "caption");
		} else {
			u->kind = SL_TG_OTHER;
		}
	} else if (json_is_object(venue)) {
		const json_t *vl = json_object_get(venue, "location");
		u->kind =
		    number(vl, "latitude", &u->lat) && number(vl, "longitude", &u->lon)
			? SL_TG_VENUE
			: SL_TG_OTHER;
		ok = u->kind != SL_TG_VENUE || take_text(u, venue, "title");
	} else if (json_is_object(loc)) {
		u->kind =
		    number(loc, "latitude", &u->lat) && number(loc, "longitude", &u->lon)
			? SL_TG_LOCATION
			: SL_TG_OTHER;
		number(loc, "horizontal_accuracy", &u->accuracy_m);
	} else if (json_is_object(json_object_get(m, "contact"))) {
		u->kind = SL_TG_CONTACT; /* nothing of it is read */
	} else {
		u->kind = SL_TG_OTHER;
	}
	if (u->kind == SL_TG_PHOTO && !u->file_id[0])
		u->kind = SL_TG_OTHER;
	return ok ? SL_OK : SL_ENOMEM;
}

static sl_err parse_callback(const json_t *q, sl_tg_update *u)
{
	const json_t *m = json_object_get(q, "message");
	if (!json_is_object(m) || !private_chat(json_object_get(m, "chat"), &u->chat_id))
		return SL_ENOTFOUND;
	integer(m, "message_id", &u->message_id);
	language_of(json_object_get(q, "from"), u->lang);
	copy_id(u->callback_id, sizeof(u->callback_id),
		json_string_value(json_object_get(q, "id")));
	if (!u->callback_id[0])
		return SL_ENOTFOUND;
	u->kind = SL_TG_CALLBACK;
	return take_text(u, q, "data") ? SL_OK : SL_ENOMEM;
}

sl_err sl_tg_update_parse(const json_t *root, sl_tg_update *out)
{
	memset(out, 0, sizeof(*out));
	if (!json_is_object(root) || !integer(root, "update_id", &out->update_id))
		return SL_EPARSE;
	const json_t *m = json_object_get(root, "message");
	const json_t *q = json_object_get(root, "callback_query");
	sl_err e = json_is_object(m)   ? parse_message(m, out)
		   : json_is_object(q) ? parse_callback(q, out)
				       : SL_ENOTFOUND;
	if (e != SL_OK) {
		int64_t id = out->update_id;
		sl_tg_update_clear(out);
		out->update_id = id;
	}
	return e;
}

static bool token_chars(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
	}
	return true;
}

bool sl_tg_token_ok(const char *token)
{
	if (!token)
		return false;
	size_t n = strlen(token), d = strspn(token, "0123456789");
	return n <= TOKEN_MAX && d > 0 && token[d] == ':' && n > d + 1 &&
	       token_chars(token + d + 1, n - d - 1);
}

bool sl_tg_secret_ok(const char *secret)
{
	size_t n = secret ? strlen(secret) : 0;
	return n >= 1 && n <= 256 && token_chars(secret, n);
}

/* ---- the client ---- */

struct sl_tg_client {
	CURL *curl;
	char *base;  /* without a trailing slash */
	char *token; /* sodium_malloc */
	const volatile bool *stop;
	long timeout_ms;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static bool curl_ready;

static void curl_start(void)
{
	curl_ready = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
}

sl_err sl_tg_client_new(const char *base, const char *token, const volatile bool *stop,
			unsigned timeout_s, sl_tg_client **out)
{
	*out = NULL;
	if (!base || !sl_tg_token_ok(token) ||
	    (strncmp(base, "http://", 7) != 0 && strncmp(base, "https://", 8) != 0) ||
	    strlen(base) > 512)
		return SL_EINVAL;
	pthread_once(&curl_once, curl_start);
	if (!curl_ready)
		return SL_EIO;
	sl_tg_client *c = calloc(1, sizeof(*c));
	if (!c)
		return SL_ENOMEM;
	c->base = strdup(base);
	c->token = sodium_malloc(TOKEN_MAX + 1);
	c->curl = curl_easy_init();
	if (!c->base || !c->token || !c->curl) {
		sl_tg_client_free(c);
		return SL_ENOMEM;
	}
	size_t n = strlen(c->base);
	while (n && c->base[n - 1] == '/')
		c->base[--n] = '\0';
	snprintf(c->token, TOKEN_MAX + 1, "%s", token);
	c->stop = stop;
	c->timeout_ms = (long)(timeout_s ? timeout_s : 10) * 1000;
	*out = c;
	return SL_OK;
}

void sl_tg_client_free(sl_tg_client *c)
{
	if (!c)
		return;
	if (c->curl)
		curl_easy_cleanup(c->curl);
	sodium_free(c->token);
	free(c->base);
	free(c);
}

/* A body arriving, capped, in a buffer wiped as it grows. */
typedef struct sink {
	char *buf;
	size_t len, size, cap;
	bool over;
} sink;

static size_t on_data(char *p, size_t size, size_t nmemb, void *ud)
{
	sink *s = ud;
	size_t n = size * nmemb;
	if (n > s->cap || s->len > s->cap - n ||
	    !sl_grow_wiped(&s->buf, &s->size, s->len, s->len + n + 1, 4096, s->cap + 1)) {
		s->over = true;
		return 0; /* aborts the transfer */
	}
	memcpy(s->buf + s->len, p, n);
	s->len += n;
	s->buf[s->len] = '\0';
	return n;
}

static void sink_free(sink *s)
{
	if (s->buf) {
		sodium_memzero(s->buf, s->size);
		free(s->buf);
	}
	memset(s, 0, sizeof(*s));
}

static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut,
		       curl_off_t un)
{
	(void)dt, (void)dn, (void)ut, (void)un;
	const volatile bool *stop = ud;
	return stop && *stop ? 1 : 0;
}

/* The options every transfer has: no redirects, http(s) only, the
 * timeouts, the stop flag, the body into s. */
static void common(sl_tg_client *c, const char *url, sink *s)
{
	CURL *h = c->curl;
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
			 c->timeout_ms < 5000 ? c->timeout_ms : 5000L);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, (void *)c->stop);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, s);
	/* Nothing about this server in the requests it makes. */
	curl_easy_setopt(h, CURLOPT_USERAGENT, "sightline");
}

sl_err sl_tg_call(sl_tg_client *c, const char *method, const json_t *params,
		  json_t **result, long *code)
{
	if (result)
		*result = NULL;
	if (code)
		*code = 0;
	if (c->stop && *c->stop)
		return SL_EIO;
	char url[URL_MAX];
	int n = snprintf(url, sizeof(url), "%s/bot%s/%s", c->base, c->token, method);
	if (n < 0 || (size_t)n >= sizeof(url))
		return SL_EINVAL;
	char *body = json_dumps(params, JSON_COMPACT);
	if (!body) {
		sodium_memzero(url, sizeof(url));
		return SL_ENOMEM;
	}
	sink s = {.cap = ANSWER_CAP};
	common(c, url, &s);
	struct curl_slist *hdr =
	    curl_slist_append(NULL, "Content-Type: application/json");
	hdr = curl_slist_append(hdr, "Expect:");
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	CURLcode rc = curl_easy_perform(c->curl);
	curl_slist_free_all(hdr);
	/* libcurl keeps its own copy of the URL in the handle until the next
	 * reset; ours goes now. */
	sodium_memzero(url, sizeof(url));
	sodium_memzero(body, strlen(body));
	free(body);
	curl_easy_reset(c->curl);
	if (rc != CURLE_OK) {
		sink_free(&s);
		return SL_EIO;
	}
	json_t *answer = s.buf ? json_loadb(s.buf, s.len, 0, NULL) : NULL;
	sink_free(&s);
	const json_t *ok = json_object_get(answer, "ok");
	sl_err e = SL_OK;
	if (!json_is_boolean(ok)) {
		e = SL_EPARSE;
	} else if (!json_is_true(ok)) {
		e = SL_EVALID;
		if (code)
			*code = (long)json_integer_value(
			    json_object_get(answer, "error_code"));
	} else if (result) {
		*result = json_incref(json_object_get(answer, "result"));
	}
	json_decref(answer);
	return e;
}

/* A file path as Telegram gives them ("photos/file_12.jpg"): nothing that
 * could leave the file directory or need escaping. */
static bool path_ok(const char *p)
{
	size_t n = strlen(p);
	if (n == 0 || n > 512 || p[0] == '/' || strstr(p, ".."))
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = p[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.' ||
		      ch == '/'))
			return false;
	}
	return true;
}

sl_err sl_tg_download(sl_tg_client *c, const char *file_path, size_t max, uint8_t **buf,
		      size_t *len)
{
	*buf = NULL;
	*len = 0;
	if (!file_path || !path_ok(file_path))
		return SL_EPARSE;
	if (c->stop && *c->stop)
		return SL_EIO;
	char url[URL_MAX];
	int n =
	    snprintf(url, sizeof(url), "%s/file/bot%s/%s", c->base, c->token, file_path);
	if (n < 0 || (size_t)n >= sizeof(url))
		return SL_EINVAL;
	sink s = {.cap = max};
	common(c, url, &s);
	curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(c->curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max);
	CURLcode rc = curl_easy_perform(c->curl);
	long status = 0;
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
	sodium_memzero(url, sizeof(url));
	curl_easy_reset(c->curl);
	if (s.over || rc == CURLE_FILESIZE_EXCEEDED) {
		sink_free(&s);
		return SL_ETOOBIG;
	}
	if (rc != CURLE_OK || status != 200 || !s.buf) {
		sink_free(&s);
		return SL_EIO;
	}
	*buf = (uint8_t *)s.buf;
	*len = s.len;
	return SL_OK;
}
