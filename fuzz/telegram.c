/*
 * telegram.c — fuzz target: Telegram updates, as the webhook hands them
 * to the bot: each line of the input is one Update's JSON, read by
 * sl_tg_update_parse and answered by sl_bot_handle, so that a sequence of
 * lines is a whole conversation — buttons, typed places, times, counts,
 * photos, /commands — through to the report the bot submits.
 *
 * The Bot API, the photo fetcher and intake are fakes (sl_bot_ops): a
 * sendMessage gets a message id, a photo's file_id chooses whether it
 * comes back cleaned, too big, broken or unfetchable, and a submitted
 * report must pass sl_report_validate and carry nothing of Telegram's.
 * Every update of a private chat must be answered: a message sent or a
 * button answered. The clock moves 20 s per update and a sweep runs
 * every tenth one; at the end every conversation times out.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "sightline/bot.h"

#define TIMEOUT_S 600
#define MAX_LINES 64

typedef struct fake {
	size_t calls;	  /* in the current update */
	size_t messages;  /* sendMessage so far */
	size_t submitted; /* reports */
} fake;

static sl_err f_call(void *ud, const char *method, const json_t *params, json_t **result)
{
	fake *f = ud;
	f->calls++;
	if (!json_is_object(params))
		fuzz_fail("%s without parameters", method);
	if (strcmp(method, "sendMessage") == 0) {
		const char *text = json_string_value(json_object_get(params, "text"));
		if (!text || !*text)
			fuzz_fail("a message without text");
		if (!json_is_integer(json_object_get(params, "chat_id")))
			fuzz_fail("a message without a chat");
		f->messages++;
		if (result)
			*result = json_pack("{s:I}", "message_id",
					    (json_int_t)(1000 + f->messages));
	} else if (strcmp(method, "answerCallbackQuery") == 0) {
		if (!json_is_string(json_object_get(params, "callback_query_id")))
			fuzz_fail("a button answered without its id");
	} else if (strcmp(method, "deleteMessages") == 0) {
		json_t *ids = json_object_get(params, "message_ids");
		if (!json_is_array(ids) || json_array_size(ids) == 0 ||
		    json_array_size(ids) > 100)
			fuzz_fail("deleteMessages of %zu ids", json_array_size(ids));
	} else {
		fuzz_fail("an unexpected Bot API method %s", method);
	}
	return SL_OK;
}

static sl_err f_photo(void *ud, const char *file_id, int64_t size, void **jpeg,
		      size_t *len)
{
	(void)ud, (void)size;
	switch (file_id[0] % 5) {
	case 1:
		return SL_ETOOBIG;
	case 2:
		return SL_EVALID;
	case 3:
		return SL_EIO;
	case 4:
		return SL_EPARSE;
	}
	static const uint8_t tiny[] = {0xff, 0xd8, 0xff, 0xd9};
	*jpeg = malloc(sizeof(tiny));
	if (!*jpeg)
		return SL_ENOMEM;
	memcpy(*jpeg, tiny, sizeof(tiny));
	*len = sizeof(tiny);
	return SL_OK;
}

static sl_err f_submit(void *ud, sl_report *r, const sl_photo *photos, size_t n,
		       sl_arena *a, char receipt[SL_RECEIPT_TEXT_MAX])
{
	fake *f = ud;
	(void)a;
	sl_problems why = {0};
	/* The bot validates at its own clock, which runs ahead of FUZZ_NOW. */
	if (sl_report_validate(r, r->received_at + 60, &why) != SL_OK) {
		char msg[2048];
		sl_problems_format(&why, msg, sizeof(msg));
		fuzz_fail("the bot submitted a report that is not valid: %s", msg);
	}
	if (n > SL_BOT_PHOTOS)
		fuzz_fail("%zu photos submitted", n);
	for (size_t i = 0; i < n; i++)
		if (!photos[i].jpeg || !photos[i].len)
			fuzz_fail("photo %zu is empty", i);
	if (r->contact || r->ref)
		fuzz_fail("the bot made up a contact or a ref");
	if ((r->text || n) && r->category == SL_CAT_NAVAL)
		return SL_ECLOSED; /* as with no moderator */
	f->submitted++;
	snprintf(receipt, SL_RECEIPT_TEXT_MAX, "abcd-efgh-ijkl-mnop-qrst-uvwx-yz");
	return SL_OK;
}

static sl_err f_status(void *ud, const char *text, sl_report_status *out)
{
	(void)ud;
	if (strlen(text) < 26)
		return SL_EPARSE;
	if (strcmp(text, "abcd-efgh-ijkl-mnop-qrst-uvwx-yz") != 0)
		return SL_ENOTFOUND;
	*out = SL_STATUS_VERIFIED;
	return SL_OK;
}

static const sl_bot_ops ops = {f_call, f_photo, f_submit, f_status};

void fuzz_cleanup(void)
{
	fuzz_gazetteer_free();
}

/* Checks what the parser copied out of an update it took. */
static void check_update(const sl_tg_update *u)
{
	if (memchr(u->lang, '\0', sizeof(u->lang)) == NULL)
		fuzz_fail("the language code is not terminated");
	if (u->text && strlen(u->text) > u->text_len)
		fuzz_fail("text of %zu bytes says it has %zu", strlen(u->text),
			  u->text_len);
	if (!u->text && u->text_len)
		fuzz_fail("no text, but text_len %zu", u->text_len);
	if (memchr(u->file_id, '\0', sizeof(u->file_id)) == NULL ||
	    memchr(u->callback_id, '\0', sizeof(u->callback_id)) == NULL)
		fuzz_fail("an id is not terminated");
	if (u->kind == SL_TG_PHOTO && !u->file_id[0])
		fuzz_fail("a photo without a file id");
	if (u->kind == SL_TG_CALLBACK && !u->callback_id[0])
		fuzz_fail("a button press without its id");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_init_libs(); /* the bot's keys are libsodium's */
	sl_bot_config cfg = {.shards = 1,
			     .max_conversations = 4,
			     .timeout_s = TIMEOUT_S,
			     .max_reports = 3,
			     .gazetteer = fuzz_gazetteer()};
	sl_bot *b;
	if (sl_bot_new(&cfg, &ops, &b) != SL_OK)
		fuzz_fail("no bot");
	fake f = {0};
	int64_t now = FUZZ_NOW;
	const char *p = (const char *)data, *end = p + size;
	for (int line = 0; p < end && line < MAX_LINES; line++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		json_t *root = json_loadb(p, n, JSON_REJECT_DUPLICATES, NULL);
		p += n + (nl ? 1 : 0);
		now += 20;
		if (!root)
			continue;
		sl_tg_update u;
		sl_err e = sl_tg_update_parse(root, &u);
		json_decref(root);
		if (e == SL_OK) {
			check_update(&u);
			f.calls = 0;
			sl_bot_handle(b, &u, now, &f);
			if (f.calls == 0)
				fuzz_fail("update %d (kind %d) was not answered", line,
					  (int)u.kind);
		} else if (e != SL_ENOTFOUND && e != SL_EPARSE && e != SL_ENOMEM) {
			fuzz_fail("sl_tg_update_parse: error %d", (int)e);
		}
		sl_tg_update_clear(&u);
		if (line % 10 == 9)
			sl_bot_sweep(b, 0, now, &f);
	}
	sl_bot_sweep(b, 0, now + 2 * TIMEOUT_S + 1, &f);
	if (sl_bot_live(b) != 0)
		fuzz_fail("%zu conversations outlive their timeout", sl_bot_live(b));
	sl_bot_free(b);
	return 0;
}
