/*
 * test_telegram.c — the Telegram bot end to end: the real server, a fake
 * Bot API on loopback (fakebot.h) that answers as Telegram does and records
 * every call, and Updates posted to /telegram/webhook as Telegram posts
 * them.
 *
 * Whole conversations in Russian, Belarusian, Ukrainian (chosen with the
 * language button) and English, with every kind of answer — buttons,
 * place names from the gazetteer and the station list, a map pin, a
 * venue, typed times and counts, photos (cleaned like uploads, and read
 * back clean by a moderator), a document that is no image — through to
 * the receipt, after which the bot has asked Telegram to delete the
 * conversation's messages; the stored reports carry what was said and
 * nothing of Telegram. Nonsense at every step is asked again; stale
 * buttons are answered as such; a sticker, a contact, an unknown file are
 * refused politely. An abandoned conversation is forgotten after its
 * timeout; /cancel forgets at once; a full table says so; a server with
 * no moderator offers to send without text and photos.
 *
 * The webhook itself: a missing or wrong secret, malformed JSON, a body
 * that is no Update, one too large, another method or Content-Type are
 * refused before anything happens; update kinds the bot does not handle
 * and group chats are taken (200) and ignored; a resent update is handled
 * once. And a Bot API that hangs holds the bot's workers only: the webhook
 * still answers at once, and so do the JSON API and the web form.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>
#include <jansson.h>

#include "fakebot.h"
#include "harness.h"

#define TOKEN "123456789:AAtestTokenForTheFakeBotApi_0123-xyz"
#define SECRET "test-webhook_secret-0123456789"
#define WEBHOOK "/telegram/webhook"
#define WAIT_MS 15000

static fakebot *fb;
static harness_server srv; /* a moderator, the test station list */
static harness_server own;
static char secrets[PATH_MAX]; /* a directory for the token and secret files */
static size_t cursor;	       /* where in the fake's record the tests read */
static long long next_update = 500000;

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static char token_file[PATH_MAX + 16], secret_file[PATH_MAX + 16];

/* The server flags that give it the bot, with extra ones after. */
static void bot_args(const char **args, size_t *n, const char *const *extra)
{
	args[(*n)++] = "--telegram-token-file";
	args[(*n)++] = token_file;
	args[(*n)++] = "--telegram-secret-file";
	args[(*n)++] = secret_file;
	args[(*n)++] = "--telegram-api-base";
	args[(*n)++] = fakebot_url(fb);
	args[(*n)++] = "--rate-per-client";
	args[(*n)++] = "0";
	for (size_t i = 0; extra && extra[i]; i++)
		args[(*n)++] = extra[i];
	args[*n] = NULL;
}

static void start_with_bot(harness_server *s, const char *moderator,
			   const char *const *extra)
{
	const char *args[32];
	size_t n = 0;
	bot_args(args, &n, extra);
	harness_server_init(s, args);
	if (moderator)
		harness_moderator_add(s, moderator, "admin");
	harness_server_launch(s);
}

/* ---- talking to the webhook ---- */

static long post_raw(harness_server *s, const char *body, size_t len, const char *secret,
		     const char *type)
{
	char sh[320], th[128];
	const char *h[4];
	size_t n = 0;
	if (secret) {
		snprintf(sh, sizeof(sh), "X-Telegram-Bot-Api-Secret-Token: %s", secret);
		h[n++] = sh;
	}
	snprintf(th, sizeof(th), "Content-Type: %s", type);
	h[n++] = th;
	h[n] = NULL;
	harness_response r;
	harness_request(s, "POST", WEBHOOK, h, body, len, &r);
	long status = r.status;
	harness_response_free(&r);
	return status;
}

/* Posts an update (freed) as Telegram does; fails unless 200. */
static void post(harness_server *s, char *update)
{
	uint64_t t0 = mono_ms();
	long status = post_raw(s, update, strlen(update), SECRET, "application/json");
	uint64_t dt = mono_ms() - t0;
	if (status != 200)
		fail_msg("the webhook answered %ld to %.500s", status, update);
	if (dt > 2000)
		fail_msg("the webhook took %llu ms to answer", (unsigned long long)dt);
	free(update);
}

static const char *text_of(json_t *reply)
{
	const char *t = json_string_value(json_object_get(reply, "text"));
	return t ? t : "";
}

/* The button with callback data in reply's inline keyboard, or NULL. */
static json_t *button(json_t *reply, const char *data)
{
	json_t *rows =
	    json_object_get(json_object_get(reply, "reply_markup"), "inline_keyboard");
	size_t i, j;
	json_t *row, *b;
	json_array_foreach(rows, i, row) json_array_foreach(row, j, b)
	{
		const char *d = json_string_value(json_object_get(b, "callback_data"));
		if (d && strcmp(d, data) == 0)
			return b;
	}
	return NULL;
}

static void expect_text(json_t *reply, const char *want)
{
	if (!strstr(text_of(reply), want))
		fail_msg("the bot said \"%s\"; expected it to say \"%s\"", text_of(reply),
			 want);
}

/* The button must be there, with its text when want_text is not NULL. */
static void expect_button(json_t *reply, const char *data, const char *want_text)
{
	json_t *b = button(reply, data);
	if (!b) {
		char *k =
		    json_dumps(json_object_get(reply, "reply_markup"), JSON_COMPACT);
		fail_msg("no button %s in %s (text \"%s\")", data, k ? k : "(none)",
			 text_of(reply));
	}
	const char *t = json_string_value(json_object_get(b, "text"));
	if (want_text && (!t || strcmp(t, want_text) != 0))
		fail_msg("button %s reads \"%s\", expected \"%s\"", data, t ? t : "",
			 want_text);
	if (strcmp(json_string_value(json_object_get(reply, "parse_mode")), "HTML") != 0)
		fail_msg("a reply not in parse_mode HTML");
}

/* The bot's next message to u. */
static json_t *reply_to(tg_user *u)
{
	json_t *r = fakebot_wait(fb, "sendMessage", u->id, &cursor, WAIT_MS);
	if (!r)
		fail_msg("the bot did not answer chat %lld within %d ms", u->id, WAIT_MS);
	return r;
}

static json_t *say(harness_server *s, tg_user *u, const char *text)
{
	post(s, fakebot_text(next_update++, u, text));
	return reply_to(u);
}

/* Presses a button; the press is answered (with text when the button is
 * stale, want_toast). Returns the next message, or NULL when none is
 * expected (a stale button). */
static json_t *tap_as(harness_server *s, tg_user *u, const char *data, const char *toast)
{
	size_t from = cursor;
	post(s, fakebot_button(next_update++, u, 1, data));
	json_t *a = fakebot_wait(fb, "answerCallbackQuery", 0, &from, WAIT_MS);
	if (!a)
		fail_msg("the press of %s was not answered", data);
	const char *t = json_string_value(json_object_get(a, "text"));
	if (toast && (!t || !strstr(t, toast)))
		fail_msg("the press of %s was answered \"%s\", expected \"%s\"", data,
			 t ? t : "(no text)", toast);
	if (!toast && t)
		fail_msg("the press of %s was answered \"%s\"", data, t);
	if (toast) {
		cursor = from;
		return NULL;
	}
	return reply_to(u);
}

static json_t *tap(harness_server *s, tg_user *u, const char *data)
{
	return tap_as(s, u, data, NULL);
}

/* The receipt in the bot's last message. */
static void receipt_in(json_t *reply, char out[64])
{
	const char *p = strstr(text_of(reply), "<code>");
	const char *e = p ? strstr(p, "</code>") : NULL;
	if (!p || !e || e - p - 6 < 26 || e - p - 6 > 40)
		fail_msg("no receipt in \"%s\"", text_of(reply));
	snprintf(out, 64, "%.*s", (int)(e - p - 6), p + 6);
}

/* The deleteMessages the bot sent for u since from: ids of both sides. */
static void expect_deleted(tg_user *u, size_t from, size_t at_least)
{
	json_t *d = fakebot_wait(fb, "deleteMessages", u->id, &from, WAIT_MS);
	if (!d)
		fail_msg("the bot did not ask to delete chat %lld's messages", u->id);
	size_t n = json_array_size(json_object_get(d, "message_ids"));
	if (n < at_least)
		fail_msg("the bot asked to delete %zu messages of chat %lld, expected at "
			 "least "
			 "%zu",
			 n, u->id, at_least);
}

static long long sealed_of(harness_server *s, long long id, const char *kind)
{
	char sql[160];
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM sealed WHERE report_id = %lld AND kind = '%s'", id,
		 kind);
	return harness_db_integer(s, sql);
}

/* A real camera JPEG with GPS, or NULL (then photos are left out). */
static char *sample_jpeg(size_t *len)
{
	const char *shared = getenv("SHARED_DATA");
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/exif-samples/jpg_gps_DSCN0010.jpg",
		 shared ? shared : "");
	if (!shared || access(path, R_OK) != 0)
		return NULL;
	return harness_read_file(path, len);
}

/* ---- the group ---- */

static int group_setup(void **state)
{
	(void)state;
	fakebot_write_secrets(secrets, sizeof(secrets), TOKEN, SECRET, token_file,
			      secret_file, sizeof(token_file));
	fb = fakebot_start(TOKEN);
	size_t len;
	char *jpeg = sample_jpeg(&len);
	if (jpeg) {
		fakebot_add_file(fb, "AgACphotoGPS", "photos/file_1.jpg", jpeg, len);
		free(jpeg);
	}
	fakebot_add_file(fb, "BQACnotanimage", "documents/file_2.jpg",
			 "not a jpeg at all", 17);
	const char *data = getenv("TEST_DATA");
	static char stations[PATH_MAX];
	snprintf(stations, sizeof(stations), "%s/network/stations.tsv",
		 data ? data : "tests/data");
	const char *extra[] = {"--stations", stations, NULL};
	start_with_bot(&srv, "ana", extra);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	harness_server_cleanup(&srv);
	fakebot_stop(fb);
	fakebot_remove_secrets(secrets);
	harness_thread_done();
	return 0;
}

static int own_teardown(void **state)
{
	(void)state;
	harness_server_cleanup(&own);
	return 0;
}

/* ---- conversations ---- */

static void test_russian(void **state)
{
	(void)state;
	tg_user u = {.id = 611000001,
		     .first_name = "Иван",
		     .username = "ivan_r",
		     .language_code = "ru",
		     .next_message = 10};
	json_t *r = say(&srv, &u, "/start");
	expect_text(r, "Здравствуйте");
	expect_text(r, "Что вы видели?");
	expect_button(r, "c:rail_transport", "Эшелон (железная дорога)");
	expect_button(r, "l:menu", NULL);
	r = tap(&srv, &u, "c:rail_transport");
	expect_text(r, "Где это было?");
	r = say(&srv, &u, "Орша");
	expect_text(r, "Место: Орша, ±4 км.");
	expect_text(r, "Когда?");
	expect_button(r, "t:30", "30 минут назад");
	r = tap(&srv, &u, "t:30");
	expect_text(r, "Что именно и сколько?");
	expect_button(r, "e:tank", "Танки");
	r = tap(&srv, &u, "e:tank");
	expect_text(r, "Танки: сколько?");
	expect_button(r, "n:10-20", "10-20");
	r = say(&srv, &u, "10-12");
	expect_text(r, "Записано: Танки: 10–12");
	r = tap(&srv, &u, "m:next");
	expect_text(r, "Есть фото?");
	expect_button(r, "p:done", "Готово →");
	size_t len = 0;
	char *jpeg = sample_jpeg(&len);
	bool photo = jpeg != NULL;
	free(jpeg);
	if (photo) {
		post(&srv, fakebot_photo(next_update++, &u, "AgACphotoGPS", len, NULL));
		expect_text(reply_to(&u), "Фото 1 получено и очищено.");
	}
	r = say(&srv, &u, "Шли на север, <b>40</b> вагонов & больше");
	expect_text(r, "Записано.");
	r = tap(&srv, &u, "p:done");
	expect_text(r, "Проверьте и отправьте:");
	expect_text(r, "Эшелон (железная дорога)");
	expect_text(r, "Танки: 10–12");
	expect_text(r, photo ? "Фото: 1" : "Фото: 0");
	/* What the informant typed comes back escaped. */
	expect_text(r, "&lt;b&gt;40&lt;/b&gt; вагонов &amp; больше");
	expect_button(r, "s:send", "✅ Отправить");
	size_t before_send = cursor;
	r = tap(&srv, &u, "s:send");
	expect_text(r, "Ваша квитанция: <code>");
	expect_text(r, "удалите этот чат");
	expect_deleted(&u, before_send, 10);
	char receipt[64];
	receipt_in(r, receipt);

	json_t *j = harness_last_report(&srv);
	json_t *loc = json_object_get(j, "location");
	if (strcmp(json_string_value(json_object_get(j, "category")), "rail_transport") ||
	    fabs(json_real_value(json_object_get(loc, "lat")) - 54.5208) > 1e-3 ||
	    json_real_value(json_object_get(loc, "uncertainty_m")) != 4000 ||
	    strcmp(json_string_value(json_object_get(loc, "place")), "Орша") ||
	    strcmp(json_string_value(json_object_get(j, "language")), "ru") ||
	    json_object_get(j, "text"))
		fail_msg("the Russian report: %s", json_dumps(j, JSON_COMPACT));
	json_t *eq = json_array_get(json_object_get(j, "equipment"), 0);
	if (strcmp(json_string_value(json_object_get(eq, "type")), "tank") ||
	    json_integer_value(json_object_get(eq, "count")) != 10 ||
	    json_integer_value(json_object_get(eq, "count_max")) != 12)
		fail_msg("the Russian report's equipment: %s",
			 json_dumps(j, JSON_COMPACT));
	struct tm tm = {0};
	strptime(json_string_value(json_object_get(j, "observed_at")),
		 "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (llabs((long long)(time(NULL) - 1800 - timegm(&tm))) > 120)
		fail_msg("observed_at is not half an hour ago: %s",
			 json_dumps(j, JSON_COMPACT));
	long long id = json_integer_value(json_object_get(j, "id"));
	json_decref(j);
	if (sealed_of(&srv, id, "photo") != (photo ? 1 : 0))
		fail_msg("%lld photos sealed", sealed_of(&srv, id, "photo"));

	/* A moderator reads the text, and the photo comes out clean. */
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/photos-ru", srv.root);
	mkdir(dir, 0700);
	harness_proc p;
	harness_unseal(&srv, "ana", NULL, dir, id, &p);
	harness_proc_expect("unseal the bot's report", &p, 0);
	if (!strstr(p.out, "Шли на север, <b>40</b> вагонов & больше"))
		fail_msg("unseal: %.2000s", p.out);
	harness_proc_free(&p);
	if (photo) {
		char path[PATH_MAX + 32], why[1024];
		snprintf(path, sizeof(path), "%s/report-%lld-photo-0.jpg", dir, id);
		if (access(path, R_OK) != 0)
			fail_msg("unseal wrote no %s", path);
		if (!harness_photo_is_clean(path, why, sizeof(why)))
			fail_msg("the bot's photo is not clean: %s", why);
	}

	/* /status with the receipt; the API says the same. */
	char cmd[96];
	snprintf(cmd, sizeof(cmd), "/status %s", receipt);
	expect_text(say(&srv, &u, cmd), "Состояние сообщения: получено.");
	expect_text(say(&srv, &u, "/status nonsense"), "Напишите /status и квитанцию");
	char path[128];
	snprintf(path, sizeof(path), "/api/v1/reports/%s", receipt);
	harness_response hr;
	harness_get(&srv, path, &hr);
	harness_expect_status(&hr, 200, "the bot's receipt at the API");
	harness_response_free(&hr);
}

static void test_belarusian_pin(void **state)
{
	(void)state;
	tg_user u = {.id = 611000002,
		     .first_name = "Алесь",
		     .language_code = "be",
		     .next_message = 10};
	json_t *r = say(&srv, &u, "добры дзень");
	expect_text(r, "Вітаем");
	expect_button(r, "c:road_convoy", "Калона на дарозе");
	r = tap(&srv, &u, "c:road_convoy");
	expect_text(r, "Дзе гэта было?");
	post(&srv, fakebot_location(next_update++, &u, 53.9, 27.56, 30));
	r = reply_to(&u);
	expect_text(r, "Месца: 53.90000, 27.56000, ±30 м.");
	expect_text(r, "Калі?");
	r = say(&srv, &u, "08:30");
	expect_text(r, "Што менавіта");
	expect_button(r, "e:none", "Не ведаю / не лічыў(ла)");
	r = tap(&srv, &u, "e:none");
	expect_text(r, "Ёсць фота?");
	r = tap(&srv, &u, "p:done");
	expect_text(r, "Праверце і адпраўце:");
	expect_text(r, "Тэхніка: не пазначана");
	expect_text(r, "08:30 (па Мінску)");
	r = tap(&srv, &u, "s:send");
	expect_text(r, "Ваша квітанцыя: <code>");
	json_t *j = harness_last_report(&srv);
	json_t *loc = json_object_get(j, "location");
	struct tm tm = {0};
	strptime(json_string_value(json_object_get(j, "observed_at")),
		 "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (json_real_value(json_object_get(loc, "lat")) != 53.9 ||
	    json_real_value(json_object_get(loc, "uncertainty_m")) != 30 ||
	    json_object_get(loc, "place") ||
	    json_array_size(json_object_get(j, "equipment")) ||
	    strcmp(json_string_value(json_object_get(j, "language")), "be") ||
	    (long long)timegm(&tm) % 86400 != 5 * 3600 + 30 * 60)
		fail_msg("the Belarusian report: %s", json_dumps(j, JSON_COMPACT));
	json_decref(j);
}

static void test_ukrainian_by_button(void **state)
{
	(void)state;
	/* A language the bot does not speak: Russian, until the button. */
	tg_user u = {.id = 611000003,
		     .first_name = "Оксана",
		     .language_code = "de",
		     .next_message = 10};
	json_t *r = say(&srv, &u, "/start");
	expect_text(r, "Здравствуйте");
	r = tap(&srv, &u, "l:menu");
	expect_text(r, "Выберите язык:");
	expect_button(r, "l:uk", "Українська");
	r = tap(&srv, &u, "l:uk");
	expect_text(r, "Що ви бачили?");
	expect_button(r, "c:aircraft", "Літаки");
	r = tap(&srv, &u, "c:aircraft");
	expect_text(r, "Де це було?");
	post(&srv, fakebot_venue(next_update++, &u, 53.88, 27.54, "Мачулищи",
				 "Minsk Region, Belarus"));
	r = reply_to(&u);
	expect_text(r, "Місце: 53.88000, 27.54000 (Мачулищи), ±250 м.");
	r = say(&srv, &u, "10.10 08:30");
	expect_text(r, "Що саме і скільки?");
	r = tap(&srv, &u, "e:aircraft");
	expect_text(r, "Літаки: скільки?");
	r = tap(&srv, &u, "n:2-5");
	expect_text(r, "Записано: Літаки: 2–5");
	r = tap(&srv, &u, "m:more");
	r = tap(&srv, &u, "e:helicopter");
	r = say(&srv, &u, "3");
	expect_text(r, "Гелікоптери: 3");
	r = tap(&srv, &u, "m:next");
	/* An image that is not one, as a file. */
	post(&srv, fakebot_document(next_update++, &u, "BQACnotanimage", "IMG_4711.jpg",
				    "image/jpeg", 17));
	expect_text(reply_to(&u), "Це фото не підходить");
	r = tap(&srv, &u, "p:done");
	expect_text(r, "Літаки: 2–5; Гелікоптери: 3");
	expect_text(r, "Фото: 0");
	r = tap(&srv, &u, "s:send");
	expect_text(r, "Ваша квитанція: <code>");
	json_t *j = harness_last_report(&srv);
	json_t *loc = json_object_get(j, "location");
	if (strcmp(json_string_value(json_object_get(loc, "place")), "Мачулищи") ||
	    json_array_size(json_object_get(j, "equipment")) != 2 ||
	    strcmp(json_string_value(json_object_get(j, "language")), "uk") ||
	    strcmp(json_string_value(json_object_get(j, "category")), "aircraft"))
		fail_msg("the Ukrainian report: %s", json_dumps(j, JSON_COMPACT));
	json_decref(j);
}

static void test_english_nonsense(void **state)
{
	(void)state;
	tg_user u = {.id = 611000004,
		     .first_name = "Jo",
		     .language_code = "en-GB",
		     .next_message = 10};
	long before = harness_count_reports(&srv);
	json_t *r = say(&srv, &u, "/start");
	expect_text(r, "Hello.");
	r = say(&srv, &u, "a train, I think");
	expect_text(r, "Please choose one of the buttons.");
	expect_button(r, "c:troops", "Troops");
	tap_as(&srv, &u, "c:spaceship", "This button no longer works.");
	tap_as(&srv, &u, "t:0", "This button no longer works."); /* not this step's */
	r = tap(&srv, &u, "c:troops");
	r = say(&srv, &u, "Xyzzyville");
	expect_text(r, "I did not find \"Xyzzyville\" on the map.");
	expect_button(r, "k:keep", "Keep it as written");
	r = say(&srv, &u, "93.5, 27.5");
	expect_text(r, "outside -90..90");
	r = tap(&srv, &u, "k:keep");
	expect_text(r, "Place: Xyzzyville (as written).");
	expect_text(r, "When?");
	r = say(&srv, &u, "yesterday-ish");
	expect_text(r, "I did not understand the time.");
	expect_button(r, "t:0", "Just now");
	char future[32];
	time_t soon = time(NULL) + 3 * 3600 + 3 * 3600;
	struct tm tm;
	gmtime_r(&soon, &tm);
	strftime(future, sizeof(future), "%d.%m.%Y %H:%M", &tm);
	r = say(&srv, &u, future);
	expect_text(r, "That time is in the future");
	r = tap(&srv, &u, "t:0");
	expect_text(r, "What exactly, and how many?");
	post(&srv, fakebot_sticker(next_update++, &u));
	expect_text(reply_to(&u),
		    "I understand only text, photos and points on the map.");
	post(&srv, fakebot_contact(next_update++, &u, "+375291234567"));
	expect_text(reply_to(&u), "Do not send numbers or contacts");
	post(&srv, fakebot_location(next_update++, &u, 53.9, 27.5, 0));
	expect_text(reply_to(&u), "First answer the question above.");
	r = tap(&srv, &u, "e:other");
	r = say(&srv, &u, "lots");
	expect_text(r, "I need a number such as 12");
	r = say(&srv, &u, "about 200");
	expect_text(r, "Noted: Other: 200.");
	r = tap(&srv, &u, "m:next");
	/* A photo Telegram does not know (getFile refuses it). */
	post(&srv, fakebot_photo(next_update++, &u, "AgACunknownfile", 50000, "caption"));
	expect_text(reply_to(&u), "This photo cannot be used");
	r = tap(&srv, &u, "p:done");
	expect_text(r, "Where: Xyzzyville (as written)");
	r = say(&srv, &u, "/language");
	expect_text(r, "Choose a language:");
	r = tap(&srv, &u, "l:en");
	expect_text(r, "Check and send:"); /* back where it was */
	r = tap(&srv, &u, "s:send");
	expect_text(r, "Your receipt: <code>");
	if (harness_count_reports(&srv) != before + 1)
		fail_msg("%ld reports, expected %ld", harness_count_reports(&srv),
			 before + 1);
	json_t *j = harness_last_report(&srv);
	json_t *loc = json_object_get(j, "location");
	if (json_object_get(loc, "lat") ||
	    strcmp(json_string_value(json_object_get(loc, "place")), "Xyzzyville") ||
	    json_integer_value(json_object_get(
		json_array_get(json_object_get(j, "equipment"), 0), "count")) != 200)
		fail_msg("the English report: %s", json_dumps(j, JSON_COMPACT));
	json_decref(j);
	/* The conversation is over: its buttons say so. */
	tap_as(&srv, &u, "s:send", "This conversation is over.");
	harness_server_assert_alive(&srv);
}

static void test_cancel(void **state)
{
	(void)state;
	tg_user u = {.id = 611000005, .language_code = "ru", .next_message = 10};
	long before = harness_count_reports(&srv);
	say(&srv, &u, "/start");
	tap(&srv, &u, "c:troops");
	say(&srv, &u, "Брест");
	size_t from = cursor;
	json_t *r = say(&srv, &u, "/cancel");
	expect_text(r, "Отменено. Ничего не сохранено.");
	expect_deleted(&u, from, 6);
	tap_as(&srv, &u, "t:0", "Этот разговор уже закончился.");
	expect_text(say(&srv, &u, "/cancel"), "Отменено.");
	expect_text(say(&srv, &u, "/help"), "/status");
	if (harness_count_reports(&srv) != before)
		fail_msg("a cancelled conversation stored a report");
}

static void test_station(void **state)
{
	(void)state;
	tg_user u = {.id = 611000006, .language_code = "ru", .next_message = 10};
	say(&srv, &u, "/start");
	tap(&srv, &u, "c:rail_transport");
	json_t *r = say(&srv, &u, "станция Узловая");
	expect_text(r, "Место: станция Узловая, ±500 м.");
	r = say(&srv, &u, "/start"); /* starts over */
	expect_text(r, "Что вы видели?");
	r = say(&srv, &u, "/cancel");
	expect_text(r, "Отменено");
}

/* ---- the webhook ---- */

static void test_webhook_refusals(void **state)
{
	(void)state;
	tg_user u = {.id = 611000010, .language_code = "en", .next_message = 10};
	size_t calls = fakebot_count(fb, NULL);
	char *up = fakebot_text(next_update++, &u, "/start");
	size_t len = strlen(up);
	if (post_raw(&srv, up, len, NULL, "application/json") != 401)
		fail_msg("no secret: not 401");
	if (post_raw(&srv, up, len, "wrong-secret", "application/json") != 403)
		fail_msg("a wrong secret: not 403");
	if (post_raw(&srv, up, len, SECRET "x", "application/json") != 403)
		fail_msg("a longer secret: not 403");
	if (post_raw(&srv, up, len, SECRET, "text/plain") != 415)
		fail_msg("text/plain: not 415");
	free(up);
	if (post_raw(&srv, "{\"update_id\":1,", 15, SECRET, "application/json") != 400)
		fail_msg("malformed JSON: not 400");
	if (post_raw(&srv, "[1,2,3]", 7, SECRET, "application/json") != 400)
		fail_msg("an array: not 400");
	if (post_raw(&srv, "{\"message\":{}}", 14, SECRET, "application/json") != 400)
		fail_msg("no update_id: not 400");
	size_t big = 70 * 1024;
	char *huge = malloc(big + 64);
	int n = snprintf(huge, 64, "{\"update_id\":%lld,\"message\":{\"text\":\"",
			 next_update++);
	memset(huge + n, 'x', big);
	memcpy(huge + n + big, "\"}}", 4);
	if (post_raw(&srv, huge, strlen(huge), SECRET, "application/json") != 413)
		fail_msg("70 KiB: not 413");
	free(huge);
	harness_response r;
	harness_get(&srv, WEBHOOK, &r);
	harness_expect_status(&r, 405, "GET of the webhook");
	harness_response_free(&r);
	/* Kinds the bot does not handle: taken, ignored. */
	const char *chat =
	    "{\"id\":-1001234567890,\"title\":\"A channel\",\"type\":\"channel\"}";
	char obj[512];
	char *others[6];
	snprintf(obj, sizeof(obj),
		 "{\"message_id\":5,\"date\":1700000000,\"chat\":%s,\"text\":\"hi\"}",
		 chat);
	others[0] = fakebot_other(next_update++, "channel_post", obj);
	others[1] =
	    fakebot_other(next_update++, "edited_message",
			  "{\"message_id\":5,\"date\":1,\"edit_date\":2,\"chat\":{\"id\":"
			  "611000010,\"type\":\"private\"},\"text\":\"edited\"}");
	others[2] = fakebot_other(
	    next_update++, "my_chat_member",
	    "{\"chat\":{\"id\":611000010,\"type\":\"private\"},\"from\":{\"id\":"
	    "611000010,"
	    "\"is_bot\":false,\"first_name\":\"A\"},\"date\":1,\"old_chat_member\":{},"
	    "\"new_chat_member\":{}}");
	others[3] =
	    fakebot_other(next_update++, "inline_query",
			  "{\"id\":\"1\",\"from\":{\"id\":1,\"is_bot\":false,"
			  "\"first_name\":\"A\"},\"query\":\"x\",\"offset\":\"\"}");
	others[4] = fakebot_other(
	    next_update++, "message",
	    "{\"message_id\":7,\"date\":1,\"chat\":{\"id\":-4001,\"title\":\"a group\","
	    "\"type\":\"group\"},\"from\":{\"id\":5,\"is_bot\":false,\"first_name\":"
	    "\"B\"},"
	    "\"text\":\"/start\"}");
	others[5] = fakebot_other(next_update++, "poll",
				  "{\"id\":\"9\",\"question\":\"?\",\"options\":[]}");
	for (size_t i = 0; i < 6; i++)
		post(&srv, others[i]);
	usleep(500 * 1000);
	if (fakebot_count(fb, NULL) != calls)
		fail_msg(
		    "the bot called the Bot API %zu times for refused or ignored updates",
		    fakebot_count(fb, NULL) - calls);
	/* A resent update is handled once. */
	long long id = next_update++;
	char *once = fakebot_text(id, &u, "/start");
	post(&srv, strdup(once));
	post(&srv, once);
	reply_to(&u);
	usleep(500 * 1000);
	if (fakebot_wait(fb, "sendMessage", u.id, &cursor, 200))
		fail_msg("a resent update was answered twice");
	say(&srv, &u, "/cancel");
	harness_server_assert_alive(&srv);
}

/* A Bot API that does not answer holds only the bot's workers. */
static void test_hung_api(void **state)
{
	(void)state;
	tg_user u = {.id = 611000020, .language_code = "en", .next_message = 10};
	fakebot_hang(fb, "sendMessage");
	for (int i = 0; i < 6; i++)
		post(&srv, fakebot_text(next_update++, &u, i ? "more" : "/start"));
	uint64_t t0 = mono_ms();
	static const char report[] =
	    "{\"category\":\"other\",\"observed_at\":\"2022-10-10T08:30:00Z\","
	    "\"location\":{\"place\":\"Minsk\"}}";
	harness_response r;
	harness_post_json(&srv, "/api/v1/reports", report, &r);
	harness_expect_status(&r, 201, "a report while the Bot API hangs");
	harness_response_free(&r);
	harness_get(&srv, "/report", &r);
	harness_expect_status(&r, 200, "the form while the Bot API hangs");
	harness_response_free(&r);
	uint64_t dt = mono_ms() - t0;
	if (dt > 2000)
		fail_msg("intake took %llu ms while the Bot API hung",
			 (unsigned long long)dt);
	usleep(1500 * 1000);
	fakebot_hang(fb, NULL);
	expect_text(reply_to(&u), "Hello.");
	/* What waited is answered in order once the API is back. */
	for (int i = 1; i < 6; i++)
		expect_text(reply_to(&u), "Please choose one of the buttons.");
	say(&srv, &u, "/cancel");
}

/* Stopping while the Bot API hangs: the calls are cut short, the server
 * exits cleanly and soon. */
static void test_stop_while_hung(void **state)
{
	(void)state;
	start_with_bot(&own, "ana", NULL);
	tg_user u = {.id = 611000060, .language_code = "en", .next_message = 10};
	fakebot_hang(fb, "sendMessage");
	size_t from = cursor;
	post(&own, fakebot_text(next_update++, &u, "/start"));
	if (!fakebot_wait(fb, "sendMessage", u.id, &from, WAIT_MS))
		fail_msg("the bot made no call to hang on");
	uint64_t t0 = mono_ms();
	harness_server_stop_ok(&own);
	uint64_t dt = mono_ms() - t0;
	fakebot_hang(fb, NULL);
	cursor = from;
	if (dt > 5000)
		fail_msg("the server took %llu ms to stop while the Bot API hung",
			 (unsigned long long)dt);
}

static void test_abandoned(void **state)
{
	(void)state;
	const char *extra[] = {"--telegram-timeout", "2", NULL};
	start_with_bot(&own, "ana", extra);
	tg_user u = {.id = 611000030, .language_code = "uk", .next_message = 10};
	size_t from = cursor;
	say(&own, &u, "/start");
	json_t *r = tap(&own, &u, "c:naval");
	expect_text(r, "Де це було?");
	/* Nothing more: forgotten within its timeout and a sweep, its
	 * messages deleted, nothing said. */
	expect_deleted(&u, from, 3);
	size_t after = cursor;
	if (fakebot_wait(fb, "sendMessage", u.id, &after, 1500))
		fail_msg("the bot said something when it forgot a conversation");
	tap_as(&own, &u, "c:naval", "Ця розмова вже закінчилася.");
	if (harness_count_reports(&own) != 0)
		fail_msg("an abandoned conversation stored a report");
	/* And a new one starts from the beginning. */
	expect_text(say(&own, &u, "/start"), "Вітаємо.");
	harness_server_stop_ok(&own);
}

static void test_full_table(void **state)
{
	(void)state;
	const char *extra[] = {"--telegram-conversations", "2", "--telegram-workers", "1",
			       NULL};
	start_with_bot(&own, "ana", extra);
	tg_user a = {.id = 611000041, .language_code = "en", .next_message = 10};
	tg_user b = {.id = 611000042, .language_code = "en", .next_message = 10};
	tg_user c = {.id = 611000043, .language_code = "be", .next_message = 10};
	expect_text(say(&own, &a, "/start"), "Hello.");
	expect_text(say(&own, &b, "/start"), "Hello.");
	expect_text(say(&own, &c, "/start"), "Зараз занадта шмат размоў.");
	say(&own, &a, "/cancel");
	expect_text(say(&own, &c, "/start"), "Вітаем.");
	harness_server_stop_ok(&own);
}

static void test_no_moderator(void **state)
{
	(void)state;
	start_with_bot(&own, NULL, NULL);
	tg_user u = {.id = 611000050, .language_code = "en", .next_message = 10};
	say(&own, &u, "/start");
	tap(&own, &u, "c:other");
	say(&own, &u, "Minsk");
	tap(&own, &u, "t:15");
	tap(&own, &u, "e:none");
	say(&own, &u, "some words nobody could read");
	tap(&own, &u, "p:done");
	json_t *r = tap(&own, &u, "s:send");
	expect_text(r, "it has no moderators");
	expect_button(r, "s:strip", "Send without text and photos");
	r = tap(&own, &u, "s:strip");
	expect_text(r, "Your receipt: <code>");
	json_t *j = harness_last_report(&own);
	if (json_object_get(j, "text"))
		fail_msg("text stored without a moderator: %s",
			 json_dumps(j, JSON_COMPACT));
	json_decref(j);
	if (harness_db_integer(&own, "SELECT count(*) FROM sealed") != 0)
		fail_msg("sealed items without a moderator");
	harness_server_stop_ok(&own);
}

static void test_no_bot(void **state)
{
	(void)state;
	harness_server_start(&own, NULL);
	harness_response r;
	static const char *const h[] = {"Content-Type: application/json",
					"X-Telegram-Bot-Api-Secret-Token: " SECRET, NULL};
	harness_request(&own, "POST", WEBHOOK, h, "{\"update_id\":1}", 15, &r);
	harness_expect_status(&r, 404, "the webhook of a server without the bot");
	harness_response_free(&r);
	harness_server_stop_ok(&own);
	/* A token without a secret, or a token of the wrong shape: no start. */
	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/bad-token", secrets);
	harness_write_file(path, "not a token\n", 12);
	const char *args[][10] = {
	    {"serve", "--data", own.dir, "--listen", "127.0.0.1:0",
	     "--telegram-token-file", token_file, NULL},
	    {"serve", "--data", own.dir, "--listen", "127.0.0.1:0",
	     "--telegram-token-file", path, "--telegram-secret-file", token_file, NULL},
	};
	for (size_t i = 0; i < 2; i++) {
		harness_proc p;
		harness_cli(args[i], &p);
		if (p.exit_code == 0 || !strstr(p.err, "telegram"))
			fail_msg("serve with a bad bot setup: exit %d, stderr %.500s",
				 p.exit_code, p.err);
		if (strstr(p.err, "not a token") || strstr(p.err, TOKEN))
			fail_msg("serve printed the file's content: %.500s", p.err);
		harness_proc_free(&p);
	}
	unlink(path);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_russian),
	    cmocka_unit_test(test_belarusian_pin),
	    cmocka_unit_test(test_ukrainian_by_button),
	    cmocka_unit_test(test_english_nonsense),
	    cmocka_unit_test(test_cancel),
	    cmocka_unit_test(test_station),
	    cmocka_unit_test(test_webhook_refusals),
	    cmocka_unit_test(test_hung_api),
	    cmocka_unit_test_teardown(test_stop_while_hung, own_teardown),
	    cmocka_unit_test_teardown(test_abandoned, own_teardown),
	    cmocka_unit_test_teardown(test_full_table, own_teardown),
	    cmocka_unit_test_teardown(test_no_moderator, own_teardown),
	    cmocka_unit_test_teardown(test_no_bot, own_teardown),
	};
	return cmocka_run_group_tests_name("telegram", tests, group_setup,
					   group_teardown);
}
