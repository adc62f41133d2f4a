/*
 * fakebot.c — the fake Bot API of fakebot.h, on libmicrohttpd with a
 * thread per connection (so that a hanging method blocks only its own
 * caller), and the Update builders.
 */
#define _GNU_SOURCE
#include "fakebot.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>
#include <microhttpd.h>

#define BODY_MAX (1u << 20)
#define CALLS_MAX 4096
#define FILES_MAX 32
#define BOT_ID 7000000001LL

typedef struct file {
	char *id, *path;
	void *data;
	size_t len;
} file;

typedef struct call {
	char method[64];
	json_t *params;
} call;

struct fakebot {
	struct MHD_Daemon *daemon;
	char token[128];
	char url[64];
	pthread_mutex_t lock;
	pthread_cond_t changed;
	call calls[CALLS_MAX];
	size_t n_calls;
	file files[FILES_MAX];
	size_t n_files;
	char hang[64];
	long long next_message;
};

typedef struct body {
	char *data;
	size_t len;
} body;

static enum MHD_Result answer(struct MHD_Connection *c, unsigned status, const char *type,
			      const void *data, size_t len)
{
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", type);
	enum MHD_Result ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result answer_json(struct MHD_Connection *c, unsigned status, json_t *doc)
{
	char *s = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	enum MHD_Result ret = answer(c, status, "application/json", s, strlen(s));
	free(s);
	return ret;
}

static enum MHD_Result error(struct MHD_Connection *c, unsigned status, const char *desc)
{
	return answer_json(c, status,
			   json_pack("{s:b, s:i, s:s}", "ok", 0, "error_code",
				     (int)status, "description", desc));
}

static enum MHD_Result ok(struct MHD_Connection *c, json_t *result)
{
	return answer_json(c, 200, json_pack("{s:b, s:o}", "ok", 1, "result", result));
}

/* Records the call; waits while its method is the hanging one. */
static void record(fakebot *fb, const char *method, json_t *params)
{
	pthread_mutex_lock(&fb->lock);
	if (fb->n_calls < CALLS_MAX) {
		call *k = &fb->calls[fb->n_calls++];
		snprintf(k->method, sizeof(k->method), "%s", method);
		k->params = json_incref(params);
	}
	pthread_cond_broadcast(&fb->changed);
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 60;
	while (fb->hang[0] && strcmp(fb->hang, method) == 0 &&
	       pthread_cond_timedwait(&fb->changed, &fb->lock, &until) == 0)
		;
	pthread_mutex_unlock(&fb->lock);
}

static enum MHD_Result method_call(fakebot *fb, struct MHD_Connection *c,
				   const char *method, const body *b)
{
	json_t *params = json_loadb(b->data ? b->data : "", b->len, 0, NULL);
	if (!json_is_object(params)) {
		json_decref(params);
		return error(c, 400, "Bad Request: the body is not a JSON object");
	}
	record(fb, method, params);
	enum MHD_Result ret;
	if (strcmp(method, "sendMessage") == 0) {
		json_t *chat = json_object_get(params, "chat_id");
		const char *text = json_string_value(json_object_get(params, "text"));
		if (!json_is_integer(chat) || !text) {
			ret = error(c, 400, "Bad Request: chat_id and text are required");
		} else {
			pthread_mutex_lock(&fb->lock);
			long long id = ++fb->next_message;
			pthread_mutex_unlock(&fb->lock);
			ret =
			    ok(c, json_pack("{s:I, s:{s:I, s:b, s:s, s:s}, s:{s:O, s:s}, "
					    "s:I, s:s}",
					    "message_id", (json_int_t)id, "from", "id",
					    (json_int_t)BOT_ID, "is_bot", 1, "first_name",
					    "Sightline", "username", "sightline_test_bot",
					    "chat", "id", chat, "type", "private", "date",
					    (json_int_t)time(NULL), "text", text));
		}
	} else if (strcmp(method, "answerCallbackQuery") == 0 ||
		   strcmp(method, "deleteMessages") == 0 ||
		   strcmp(method, "deleteMessage") == 0 ||
		   strcmp(method, "setWebhook") == 0) {
		ret = ok(c, json_true());
	} else if (strcmp(method, "getFile") == 0) {
		const char *id = json_string_value(json_object_get(params, "file_id"));
		file *f = NULL;
		pthread_mutex_lock(&fb->lock);
		for (size_t i = 0; id && i < fb->n_files; i++)
			if (strcmp(fb->files[i].id, id) == 0)
				f = &fb->files[i];
		pthread_mutex_unlock(&fb->lock);
		if (!f)
			ret = error(c, 400, "Bad Request: invalid file_id");
		else
			ret =
			    ok(c, json_pack("{s:s, s:s, s:I, s:s}", "file_id", f->id,
					    "file_unique_id", "AQADfakeUniq", "file_size",
					    (json_int_t)f->len, "file_path", f->path));
	} else {
		ret = error(c, 404, "Not Found");
	}
	json_decref(params);
	return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *data,
			      size_t *size, void **con_cls)
{
	(void)version;
	fakebot *fb = cls;
	if (!*con_cls) {
		body *b = calloc(1, sizeof(*b));
		if (!b)
			return MHD_NO;
		*con_cls = b;
		return MHD_YES;
	}
	body *b = *con_cls;
	if (*size) {
		if (b->len + *size <= BODY_MAX) {
			b->data = realloc(b->data, b->len + *size + 1);
			memcpy(b->data + b->len, data, *size);
			b->len += *size;
			b->data[b->len] = '\0';
		}
		*size = 0;
		return MHD_YES;
	}
	char prefix[160];
	snprintf(prefix, sizeof(prefix), "/bot%s/", fb->token);
	char file_prefix[170];
	snprintf(file_prefix, sizeof(file_prefix), "/file/bot%s/", fb->token);
	if (strncmp(url, prefix, strlen(prefix)) == 0 && strcmp(method, "POST") == 0)
		return method_call(fb, c, url + strlen(prefix), b);
	if (strncmp(url, file_prefix, strlen(file_prefix)) == 0 &&
	    strcmp(method, "GET") == 0) {
		const char *path = url + strlen(file_prefix);
		pthread_mutex_lock(&fb->lock);
		for (size_t i = 0; i < fb->n_files; i++)
			if (strcmp(fb->files[i].path, path) == 0) {
				file f = fb->files[i];
				pthread_mutex_unlock(&fb->lock);
				return answer(c, 200, "application/octet-stream", f.data,
					      f.len);
			}
		pthread_mutex_unlock(&fb->lock);
		return error(c, 404, "Not Found");
	}
	if (strncmp(url, "/bot", 4) == 0 || strncmp(url, "/file/bot", 9) == 0)
		return error(c, 401, "Unauthorized");
	return error(c, 404, "Not Found");
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	(void)cls, (void)c, (void)toe;
	body *b = *con_cls;
	if (b) {
		free(b->data);
		free(b);
	}
	*con_cls = NULL;
}

fakebot *fakebot_start(const char *token)
{
	fakebot *fb = calloc(1, sizeof(*fb));
	if (!fb)
		fail_msg("out of memory");
	snprintf(fb->token, sizeof(fb->token), "%s", token);
	pthread_mutex_init(&fb->lock, NULL);
	pthread_cond_init(&fb->changed, NULL);
	fb->next_message = 1000;
	struct sockaddr_in sa = {.sin_family = AF_INET};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fb->daemon = MHD_start_daemon(
	    MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL,
	    NULL, handle, fb, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
	    MHD_OPTION_NOTIFY_COMPLETED, completed, fb, MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned)120, MHD_OPTION_END);
	if (!fb->daemon)
		fail_msg("cannot start the fake Bot API");
	const union MHD_DaemonInfo *di =
	    MHD_get_daemon_info(fb->daemon, MHD_DAEMON_INFO_BIND_PORT);
	snprintf(fb->url, sizeof(fb->url), "http://127.0.0.1:%u", di ? di->port : 0);
	return fb;
}

void fakebot_stop(fakebot *fb)
{
	if (!fb)
		return;
	fakebot_hang(fb, NULL);
	MHD_stop_daemon(fb->daemon);
	for (size_t i = 0; i < fb->n_calls; i++)
		json_decref(fb->calls[i].params);
	for (size_t i = 0; i < fb->n_files; i++) {
		free(fb->files[i].id);
		free(fb->files[i].path);
		free(fb->files[i].data);
	}
	pthread_cond_destroy(&fb->changed);
	pthread_mutex_destroy(&fb->lock);
	free(fb);
}

const char *fakebot_url(const fakebot *fb)
{
	return fb->url;
}

void fakebot_add_file(fakebot *fb, const char *file_id, const char *file_path,
		      const void *data, size_t len)
{
	pthread_mutex_lock(&fb->lock);
	if (fb->n_files == FILES_MAX)
		fail_msg("too many files for the fake Bot API");
	file *f = &fb->files[fb->n_files++];
	f->id = strdup(file_id);
	f->path = strdup(file_path);
	f->data = malloc(len ? len : 1);
	memcpy(f->data, data, len);
	f->len = len;
	pthread_mutex_unlock(&fb->lock);
}

void fakebot_hang(fakebot *fb, const char *method)
{
	pthread_mutex_lock(&fb->lock);
	snprintf(fb->hang, sizeof(fb->hang), "%s", method ? method : "");
	pthread_cond_broadcast(&fb->changed);
	pthread_mutex_unlock(&fb->lock);
}

size_t fakebot_count(fakebot *fb, const char *method)
{
	pthread_mutex_lock(&fb->lock);
	size_t n = 0;
	for (size_t i = 0; i < fb->n_calls; i++)
		n += !method || strcmp(fb->calls[i].method, method) == 0;
	pthread_mutex_unlock(&fb->lock);
	return n;
}

json_t *fakebot_call(fakebot *fb, size_t n, const char **method)
{
	pthread_mutex_lock(&fb->lock);
	json_t *p = n < fb->n_calls ? fb->calls[n].params : NULL;
	if (method)
		*method = n < fb->n_calls ? fb->calls[n].method : NULL;
	pthread_mutex_unlock(&fb->lock);
	return p;
}

json_t *fakebot_wait(fakebot *fb, const char *method, long long chat, size_t *from,
		     unsigned ms)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&fb->lock);
	for (;;) {
		for (size_t i = *from; i < fb->n_calls; i++) {
			call *k = &fb->calls[i];
			json_t *cid = json_object_get(k->params, "chat_id");
			if ((!method || strcmp(k->method, method) == 0) &&
			    (!chat ||
			     (json_is_integer(cid) && json_integer_value(cid) == chat))) {
				*from = i + 1;
				pthread_mutex_unlock(&fb->lock);
				return k->params;
			}
		}
		if (pthread_cond_timedwait(&fb->changed, &fb->lock, &until) != 0)
			break;
	}
	pthread_mutex_unlock(&fb->lock);
	return NULL;
}

static void write_line(const char *path, const char *line)
{
	FILE *f = fopen(path, "w");
	if (!f || fprintf(f, "%s\n", line) < 0 || fclose(f) != 0)
		fail_msg("cannot write %s", path);
	chmod(path, 0600);
}

void fakebot_write_secrets(char *dir, size_t dir_size, const char *token,
			   const char *secret, char *token_file, char *secret_file,
			   size_t size)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, dir_size, "%s/sl-bot-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		fail_msg("mkdtemp %s failed", dir);
	snprintf(token_file, size, "%s/token", dir);
	snprintf(secret_file, size, "%s/secret", dir);
	write_line(token_file, token);
	write_line(secret_file, secret);
}

void fakebot_remove_secrets(const char *dir)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/token", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/secret", dir);
	unlink(path);
	rmdir(dir);
}

/* ---- updates ---- */

static json_t *user_json(const tg_user *u, bool chat)
{
	json_t *o = json_pack("{s:I}", "id", (json_int_t)u->id);
	if (!chat)
		json_object_set_new(o, "is_bot", json_false());
	if (u->first_name)
		json_object_set_new(o, "first_name", json_string(u->first_name));
	if (u->last_name)
		json_object_set_new(o, "last_name", json_string(u->last_name));
	if (u->username)
		json_object_set_new(o, "username", json_string(u->username));
	if (chat)
		json_object_set_new(o, "type", json_string("private"));
	else if (u->language_code)
		json_object_set_new(o, "language_code", json_string(u->language_code));
	return o;
}

/* A Message from u with the members of extra (taken) added. */
static char *message(long long update_id, tg_user *u, json_t *extra)
{
	json_t *m = json_pack("{s:I, s:o, s:o, s:I}", "message_id",
			      (json_int_t)u->next_message++, "from", user_json(u, false),
			      "chat", user_json(u, true), "date", (json_int_t)time(NULL));
	json_object_update(m, extra);
	json_decref(extra);
	json_t *up =
	    json_pack("{s:I, s:o}", "update_id", (json_int_t)update_id, "message", m);
	char *s = json_dumps(up, JSON_COMPACT);
	json_decref(up);
	return s;
}

char *fakebot_text(long long update_id, tg_user *u, const char *text)
{
	json_t *x = json_pack("{s:s}", "text", text);
	if (text[0] == '/')
		json_object_set_new(x, "entities",
				    json_pack("[{s:i, s:i, s:s}]", "offset", 0, "length",
					      (int)strcspn(text, " "), "type",
					      "bot_command"));
	return message(update_id, u, x);
}

char *fakebot_button(long long update_id, tg_user *u, long long message_id,
		     const char *data)
{
	json_t *bot =
	    json_pack("{s:I, s:b, s:s, s:s}", "id", (json_int_t)BOT_ID, "is_bot", 1,
		      "first_name", "Sightline", "username", "sightline_test_bot");
	json_t *m = json_pack(
	    "{s:I, s:o, s:o, s:I, s:s}", "message_id", (json_int_t)message_id, "from",
	    bot, "chat", user_json(u, true), "date", (json_int_t)time(NULL), "text", "…");
	char id[32];
	snprintf(id, sizeof(id), "%lld%lld", u->id % 100000, update_id);
	json_t *q =
	    json_pack("{s:s, s:o, s:o, s:s, s:s}", "id", id, "from", user_json(u, false),
		      "message", m, "chat_instance", "-3141592653589793", "data", data);
	json_t *up = json_pack("{s:I, s:o}", "update_id", (json_int_t)update_id,
			       "callback_query", q);
	char *s = json_dumps(up, JSON_COMPACT);
	json_decref(up);
	return s;
}

char *fakebot_location(long long update_id, tg_user *u, double lat, double lon,
		       double accuracy)
{
	json_t *loc = json_pack("{s:f, s:f}", "latitude", lat, "longitude", lon);
	if (accuracy > 0)
		json_object_set_new(loc, "horizontal_accuracy", json_real(accuracy));
	return message(update_id, u, json_pack("{s:o}", "location", loc));
}

char *fakebot_venue(long long update_id, tg_user *u, double lat, double lon,
		    const char *title, const char *address)
{
	return message(update_id, u,
		       json_pack("{s:{s:f, s:f}, s:{s:{s:f, s:f}, s:s, s:s}}", "location",
				 "latitude", lat, "longitude", lon, "venue", "location",
				 "latitude", lat, "longitude", lon, "title", title,
				 "address", address));
}

char *fakebot_photo(long long update_id, tg_user *u, const char *file_id, size_t size,
		    const char *caption)
{
	char small[300], medium[300];
	snprintf(small, sizeof(small), "%s-s", file_id);
	snprintf(medium, sizeof(medium), "%s-m", file_id);
	json_t *x =
	    json_pack("{s:[{s:s, s:s, s:i, s:i, s:i}, {s:s, s:s, s:i, s:i, s:i}, "
		      "{s:s, s:s, s:I, s:i, s:i}]}",
		      "photo", "file_id", small, "file_unique_id", "AQADs", "file_size",
		      1500, "width", 90, "height", 67, "file_id", medium,
		      "file_unique_id", "AQADm", "file_size", 18000, "width", 320,
		      "height", 240, "file_id", file_id, "file_unique_id", "AQADx",
		      "file_size", (json_int_t)size, "width", 1280, "height", 960);
	if (caption)
		json_object_set_new(x, "caption", json_string(caption));
	return message(update_id, u, x);
}

char *fakebot_document(long long update_id, tg_user *u, const char *file_id,
		       const char *file_name, const char *mime, size_t size)
{
	return message(update_id, u,
		       json_pack("{s:{s:s, s:s, s:s, s:s, s:I}}", "document", "file_id",
				 file_id, "file_unique_id", "AQADdoc", "file_name",
				 file_name, "mime_type", mime, "file_size",
				 (json_int_t)size));
}

char *fakebot_contact(long long update_id, tg_user *u, const char *phone)
{
	json_t *c =
	    json_pack("{s:s, s:I}", "phone_number", phone, "user_id", (json_int_t)u->id);
	if (u->first_name)
		json_object_set_new(c, "first_name", json_string(u->first_name));
	if (u->last_name)
		json_object_set_new(c, "last_name", json_string(u->last_name));
	return message(update_id, u, json_pack("{s:o}", "contact", c));
}

char *fakebot_sticker(long long update_id, tg_user *u)
{
	return message(update_id, u,
		       json_pack("{s:{s:s, s:s, s:s, s:i, s:i, s:b, s:b, s:s}}",
				 "sticker", "file_id", "CAACstk", "file_unique_id",
				 "AgADstk", "type", "regular", "width", 512, "height",
				 512, "is_animated", 0, "is_video", 0, "emoji", "👍"));
}

char *fakebot_other(long long update_id, const char *kind, const char *object)
{
	char *s = NULL;
	if (asprintf(&s, "{\"update_id\":%lld,\"%s\":%s}", update_id, kind, object) < 0)
		fail_msg("out of memory");
	return s;
}
