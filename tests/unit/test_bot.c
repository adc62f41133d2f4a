/*
 * test_bot.c — the bot's conversations (bot.h) with fake ops and a clock
 * of the test's own: a conversation through to the report handed to
 * submit (nothing of Telegram in it), abandoned ones forgotten at their
 * timeout with their messages deleted and nothing said, the per-chat
 * limit and how it is forgotten after two key changes, a full table, and
 * photos that cannot be fetched or cleaned. The integration test
 * (test_telegram.c) does the same against the real server and a fake Bot
 * API; this one can move time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sightline/bot.h"

#define T0 1665390600 /* 2022-10-10T08:30:00Z */

typedef struct fake {
	char said[64][4096]; /* texts of sendMessage, in order */
	size_t n_said;
	size_t deletes, answers;
	char last_answer[256];
	size_t submitted;
	sl_report last; /* strings not kept */
	char last_text[SL_REPORT_MAX_TEXT + 1];
	size_t last_photos;
	sl_err submit_err;
	sl_err photo_err;
} fake;

static sl_err f_call(void *ud, const char *method, const json_t *params, json_t **result)
{
	fake *f = ud;
	if (strcmp(method, "sendMessage") == 0) {
		if (f->n_said < 64)
			snprintf(f->said[f->n_said++], 4096, "%s",
				 json_string_value(json_object_get(params, "text")));
		if (result)
			*result =
			    json_pack("{s:i}", "message_id", (int)(100 + f->n_said));
	} else if (strcmp(method, "deleteMessages") == 0) {
		f->deletes++;
	} else if (strcmp(method, "answerCallbackQuery") == 0) {
		f->answers++;
		const char *t = json_string_value(json_object_get(params, "text"));
		snprintf(f->last_answer, sizeof(f->last_answer), "%s", t ? t : "");
	}
	return SL_OK;
}

static sl_err f_photo(void *ud, const char *file_id, int64_t size, void **jpeg,
		      size_t *len)
{
	fake *f = ud;
	(void)file_id, (void)size;
	if (f->photo_err != SL_OK)
		return f->photo_err;
	*jpeg = malloc(4);
	memcpy(*jpeg, "\xff\xd8\xff\xd9", 4);
	*len = 4;
	return SL_OK;
}

static sl_err f_submit(void *ud, sl_report *r, const sl_photo *photos, size_t n,
		       sl_arena *a, char receipt[SL_RECEIPT_TEXT_MAX])
{
	fake *f = ud;
	(void)photos, (void)a;
	if (f->submit_err != SL_OK)
		return f->submit_err;
	f->submitted++;
	f->last = *r;
	snprintf(f->last_text, sizeof(f->last_text), "%s", r->text ? r->text : "");
	f->last.text = NULL;
	f->last.location.place = NULL;
	f->last.equipment = NULL;
	f->last_photos = n;
	snprintf(receipt, SL_RECEIPT_TEXT_MAX, "abcd-efgh-ijkl-mnop-qrst-uvwx-yz");
	return SL_OK;
}

static sl_err f_status(void *ud, const char *text, sl_report_status *out)
{
	(void)ud;
	if (strcmp(text, "abcd-efgh-ijkl-mnop-qrst-uvwx-yz") != 0)
		return SL_ENOTFOUND;
	*out = SL_STATUS_VERIFIED;
	return SL_OK;
}

static const sl_bot_ops ops = {f_call, f_photo, f_submit, f_status};

static sl_bot *new_bot(unsigned shards, size_t max, unsigned timeout, unsigned reports)
{
	static sl_gazetteer *g;
	if (!g)
		assert_int_equal(sl_gazetteer_new(NULL, &g), SL_OK);
	sl_bot_config cfg = {.shards = shards,
			     .max_conversations = max,
			     .timeout_s = timeout,
			     .max_reports = reports,
			     .gazetteer = g};
	sl_bot *b;
	assert_int_equal(sl_bot_new(&cfg, &ops, &b), SL_OK);
	return b;
}

static long long update_id = 1;

static void send_text(sl_bot *b, fake *f, int64_t chat, const char *lang, int64_t now,
		      const char *text)
{
	sl_tg_update u = {.update_id = update_id++,
			  .chat_id = chat,
			  .message_id = 7,
			  .kind = SL_TG_TEXT};
	snprintf(u.lang, sizeof(u.lang), "%s", lang);
	u.text = strdup(text);
	u.text_len = strlen(text);
	sl_bot_handle(b, &u, now, f);
	sl_tg_update_clear(&u);
}

static void press_as(sl_bot *b, fake *f, int64_t chat, const char *lang, int64_t now,
		     const char *data)
{
	sl_tg_update u = {.update_id = update_id++,
			  .chat_id = chat,
			  .message_id = 101,
			  .kind = SL_TG_CALLBACK};
	snprintf(u.lang, sizeof(u.lang), "%s", lang);
	snprintf(u.callback_id, sizeof(u.callback_id), "cb%lld", update_id);
	u.text = strdup(data);
	u.text_len = strlen(data);
	sl_bot_handle(b, &u, now, f);
	sl_tg_update_clear(&u);
}

static void press(sl_bot *b, fake *f, int64_t chat, int64_t now, const char *data)
{
	press_as(b, f, chat, "", now, data);
}

static void send_photo(sl_bot *b, fake *f, int64_t chat, int64_t now)
{
	sl_tg_update u = {.update_id = update_id++,
			  .chat_id = chat,
			  .message_id = 8,
			  .kind = SL_TG_PHOTO};
	snprintf(u.file_id, sizeof(u.file_id), "AgACfile");
	sl_bot_handle(b, &u, now, f);
	sl_tg_update_clear(&u);
}

static const char *last_said(const fake *f)
{
	return f->n_said ? f->said[f->n_said - 1] : "";
}

static void expect_said(const fake *f, const char *want)
{
	if (!strstr(last_said(f), want))
		fail_msg("the bot said \"%s\"; expected \"%s\"", last_said(f), want);
}

/* A whole conversation in English up to and including Send. */
static void converse(sl_bot *b, fake *f, int64_t chat, int64_t now)
{
	send_text(b, f, chat, "en", now, "/start");
	press(b, f, chat, now + 1, "c:road_convoy");
	send_text(b, f, chat, "en", now + 2, "Brest");
	press(b, f, chat, now + 3, "t:60");
	press(b, f, chat, now + 4, "e:truck");
	send_text(b, f, chat, "en", now + 5, "20+");
	press(b, f, chat, now + 6, "m:next");
	send_photo(b, f, chat, now + 7);
	send_text(b, f, chat, "en", now + 8, "heading west");
	send_text(b, f, chat, "en", now + 9, "then north");
	press(b, f, chat, now + 10, "p:done");
	press(b, f, chat, now + 11, "s:send");
}

static void test_conversation(void **state)
{
	(void)state;
	fake f = {0};
	sl_bot *b = new_bot(2, 10, 1800, 10);
	converse(b, &f, 5550001, T0);
	expect_said(&f, "Your receipt: <code>abcd-efgh-ijkl-mnop-qrst-uvwx-yz</code>");
	assert_int_equal(f.submitted, 1);
	assert_int_equal(f.deletes, 1);
	assert_int_equal(sl_bot_live(b), 0);
	/* What reached submit: the answers, nothing of Telegram. */
	assert_int_equal(f.last.category, SL_CAT_ROAD_CONVOY);
	assert_true(f.last.location.has_point);
	assert_int_equal(f.last.observed_at, T0 + 3 - 3600 - (T0 + 3 - 3600) % 60);
	assert_int_equal(f.last.n_equipment, 1);
	assert_string_equal(f.last_text, "heading west\nthen north");
	assert_int_equal(f.last_photos, 1);
	assert_null(f.last.contact);
	assert_null(f.last.ref);
	assert_string_equal(f.last.language, "en");
	/* /status is answered without a conversation. */
	send_text(b, &f, 5550001, "en", T0 + 20,
		  "/status abcd-efgh-ijkl-mnop-qrst-uvwx-yz");
	expect_said(&f, "The report is verified.");
	assert_int_equal(sl_bot_live(b), 0);
	sl_bot_free(b);
}

static void test_abandoned(void **state)
{
	(void)state;
	fake f = {0};
	sl_bot *b = new_bot(1, 10, 60, 10);
	send_text(b, &f, 5550002, "uk", T0, "/start");
	press(b, &f, 5550002, T0 + 5, "c:troops");
	assert_int_equal(sl_bot_live(b), 1);
	size_t said = f.n_said;
	sl_bot_sweep(b, 0, T0 + 64, &f); /* 59 s after the last message */
	assert_int_equal(sl_bot_live(b), 1);
	sl_bot_sweep(b, 0, T0 + 65, &f);
	assert_int_equal(sl_bot_live(b), 0);
	assert_int_equal(f.deletes, 1);
	assert_int_equal(f.n_said, said); /* nothing said */
	/* Its buttons now say it is over; a new message starts afresh. */
	press_as(b, &f, 5550002, "uk", T0 + 70, "t:0");
	assert_string_equal(f.last_answer,
			    "Ця розмова вже закінчилася. Почати знову: /start");
	send_text(b, &f, 5550002, "uk", T0 + 71, "привіт");
	expect_said(&f, "Вітаємо.");
	sl_bot_free(b);
}

static void test_limit_and_forgetting(void **state)
{
	(void)state;
	fake f = {0};
	sl_bot *b = new_bot(1, 10, 100, 2);
	int64_t chat = 5550003;
	converse(b, &f, chat, T0);
	converse(b, &f, chat, T0 + 20);
	assert_int_equal(f.submitted, 2);
	converse(b, &f, chat, T0 + 40);
	assert_int_equal(f.submitted, 2);
	expect_said(&f, "Many reports came from this chat recently.");
	send_text(b, &f, chat, "en", T0 + 55, "/cancel");
	/* Another chat is not limited. */
	converse(b, &f, 5550004, T0 + 60);
	assert_int_equal(f.submitted, 3);
	/* One key change: the count is still known under the previous key. */
	sl_bot_sweep(b, 0, T0 + 100, &f);
	converse(b, &f, chat, T0 + 110);
	assert_int_equal(f.submitted, 3);
	send_text(b, &f, chat, "en", T0 + 125, "/cancel");
	/* Two changes after the last touch: forgotten with the key. */
	sl_bot_sweep(b, 0, T0 + 200, &f);
	sl_bot_sweep(b, 0, T0 + 300, &f);
	converse(b, &f, chat, T0 + 310);
	assert_int_equal(f.submitted, 4);
	sl_bot_free(b);
}

static void test_full_table(void **state)
{
	(void)state;
	fake f = {0};
	sl_bot *b = new_bot(1, 2, 1800, 10);
	send_text(b, &f, 1001, "en", T0, "/start");
	send_text(b, &f, 1002, "en", T0, "/start");
	send_text(b, &f, 1003, "ru", T0, "/start");
	expect_said(&f, "Сейчас слишком много разговоров.");
	assert_int_equal(sl_bot_live(b), 2);
	press(b, &f, 1003, T0, "c:other");
	assert_string_equal(f.last_answer,
			    "Этот разговор уже закончился. Начать заново: /start");
	send_text(b, &f, 1001, "en", T0 + 1, "/cancel");
	send_text(b, &f, 1003, "ru", T0 + 2, "/start");
	expect_said(&f, "Здравствуйте.");
	sl_bot_free(b);
}

static void test_photos_refused(void **state)
{
	(void)state;
	fake f = {0};
	sl_bot *b = new_bot(1, 4, 1800, 10);
	int64_t chat = 5550005;
	send_text(b, &f, chat, "be", T0, "/start");
	press(b, &f, chat, T0, "c:other");
	send_text(b, &f, chat, "be", T0, "53.9, 27.56");
	expect_said(&f, "Месца: 53.90000, 27.56000, ±5.6 км.");
	press(b, &f, chat, T0, "t:0");
	press(b, &f, chat, T0, "e:none");
	const struct {
		sl_err e;
		const char *want;
	} cases[] = {{SL_ETOOBIG, "Фота занадта вялікае"},
		     {SL_EVALID, "Гэтае фота не падыходзіць"},
		     {SL_EIO, "Не ўдалося атрымаць фота"}};
	for (size_t i = 0; i < 3; i++) {
		f.photo_err = cases[i].e;
		send_photo(b, &f, chat, T0);
		expect_said(&f, cases[i].want);
	}
	f.photo_err = SL_OK;
	for (int i = 0; i < SL_BOT_PHOTOS; i++)
		send_photo(b, &f, chat, T0);
	send_photo(b, &f, chat, T0);
	expect_said(&f, "Ужо 5 фота");
	/* No moderator: offered without text and photos. */
	f.submit_err = SL_ECLOSED;
	press(b, &f, chat, T0, "p:done");
	press(b, &f, chat, T0, "s:send");
	expect_said(&f, "у яго яшчэ няма мадэратараў");
	f.submit_err = SL_OK;
	press(b, &f, chat, T0, "s:strip");
	expect_said(&f, "Ваша квітанцыя");
	assert_int_equal(f.last_photos, 0);
	sl_bot_free(b);
}

static void test_shards(void **state)
{
	(void)state;
	sl_bot *b = new_bot(4, 8, 1800, 10);
	unsigned seen[4] = {0};
	for (int64_t chat = 1; chat <= 400; chat++) {
		unsigned s = sl_bot_shard(b, chat);
		assert_true(s < 4);
		assert_int_equal(sl_bot_shard(b, chat), s); /* the same every time */
		seen[s]++;
	}
	for (int i = 0; i < 4; i++)
		assert_true(seen[i] > 50);
	sl_bot_free(b);
	sl_bot_config bad = {.shards = 0, .max_conversations = 1, .timeout_s = 1};
	sl_bot *x;
	assert_int_equal(sl_bot_new(&bad, &ops, &x), SL_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_conversation),
	    cmocka_unit_test(test_abandoned),
	    cmocka_unit_test(test_limit_and_forgetting),
	    cmocka_unit_test(test_full_table),
	    cmocka_unit_test(test_photos_refused),
	    cmocka_unit_test(test_shards),
	};
	return cmocka_run_group_tests_name("bot", tests, NULL, NULL);
}
