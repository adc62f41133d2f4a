/*
 * telegram.h — the Telegram Bot API, as much of it as the bot uses: the
 * Update objects its webhook receives, and a client for its methods
 * (sendMessage, answerCallbackQuery, getFile, deleteMessages) and file
 * downloads over libcurl.
 *
 * An Update carries who sent it: user and chat ids, username, first and
 * last name, sometimes a phone number. sl_tg_update_parse copies out only
 * what the conversation needs — the private chat's id (to reply), the
 * user's language code, the message's content — and never a name, a
 * username, a phone number or a file name; what it copies is in memory the
 * caller wipes (sl_tg_update_clear). Nothing here logs or stores anything.
 */
#ifndef SIGHTLINE_TELEGRAM_H
#define SIGHTLINE_TELEGRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "sightline/err.h"

/* What a message or a button press holds, in the bot's terms. */
typedef enum sl_tg_kind {
	SL_TG_TEXT,	/* a text message (commands too) */
	SL_TG_PHOTO,	/* a photo, or an image sent as a file; a caption in text */
	SL_TG_LOCATION, /* a point on the map */
	SL_TG_VENUE,	/* a point with a name (its title in text) */
	SL_TG_CALLBACK, /* an inline button pressed: its data in text */
	SL_TG_CONTACT,	/* a shared contact: nothing of it is copied */
	SL_TG_OTHER,	/* stickers, voice, video, polls ...: only that it came */
} sl_tg_kind;

#define SL_TG_FILE_ID_MAX 256
#define SL_TG_CALLBACK_ID_MAX 128

/* One Update of a private chat, as far as the bot reads it. */
typedef struct sl_tg_update {
	int64_t update_id;
	int64_t chat_id;    /* to reply; never stored, never logged */
	int64_t message_id; /* the user's message, or the pressed button's message */
	char lang[8];	    /* the user's language code ("ru", "be-BY"), or "" */
	sl_tg_kind kind;
	char *text; /* text, caption, venue title or callback data (malloc'd,
		       NUL-terminated, wiped by sl_tg_update_clear); NULL when none */
	size_t text_len;
	char file_id[SL_TG_FILE_ID_MAX]; /* SL_TG_PHOTO: the largest size's */
	int64_t file_size;		 /* bytes as Telegram says, 0 when unknown */
	bool is_document;		 /* sent as a file, not a photo */
	double lat, lon;		 /* SL_TG_LOCATION, SL_TG_VENUE */
	double accuracy_m;		 /* horizontal_accuracy; 0 when not given */
	char callback_id[SL_TG_CALLBACK_ID_MAX]; /* SL_TG_CALLBACK */
} sl_tg_update;

/* Reads one Update (a parsed JSON value) into *out. SL_OK for a message or
 * a button press in a private chat; SL_ENOTFOUND for an update the bot
 * ignores (edited messages, channel posts, group chats, membership
 * changes, inline queries ...), with out->update_id set; SL_EPARSE when
 * root is not an Update (no whole update_id); SL_ENOMEM. On any failure
 * *out holds nothing to wipe. */
sl_err sl_tg_update_parse(const json_t *root, sl_tg_update *out /* OUT */);

/* Wipes *u and frees its text. */
void sl_tg_update_clear(sl_tg_update *u);

/* A bot token's shape ("123456:AbC-dEf_..."): digits, ':', then letters,
 * digits, '-' and '_'. */
bool sl_tg_token_ok(const char *token);

/* A webhook secret's shape: 1..256 of letters, digits, '-' and '_'. */
bool sl_tg_secret_ok(const char *secret);

/* ---- the client ---- */

typedef struct sl_tg_client sl_tg_client;

/* A client of the Bot API at base (such as "https://api.telegram.org",
 * no trailing slash needed) for token (copied into sodium_malloc memory).
 * Every call gives up after timeout_s seconds, and at once when *stop
 * becomes true (stop may be NULL). Only http and https, no redirects.
 * One client per thread. Free with sl_tg_client_free, which wipes the
 * token. */
sl_err sl_tg_client_new(const char *base, const char *token, const volatile bool *stop,
			unsigned timeout_s, sl_tg_client **out /* OUT */);
void sl_tg_client_free(sl_tg_client *c);

/* Calls method with params (a JSON object, not taken) as an
 * application/json POST to BASE/botTOKEN/METHOD. SL_OK when the answer is
 * {"ok":true,...}, its "result" in *result when result is not NULL (the
 * caller decrefs). SL_EVALID when Telegram answered {"ok":false}: its
 * error_code in *code (when code is not NULL); SL_EPARSE when the answer
 * is not Bot API JSON; SL_EIO when the call failed (refused, timed out,
 * stopped). Logs nothing: the URL holds the token. */
sl_err sl_tg_call(sl_tg_client *c, const char *method, const json_t *params,
		  json_t **result /* OUT */, long *code /* OUT */);

/* Downloads BASE/file/botTOKEN/FILE_PATH into *buf (malloc'd; the caller
 * wipes and frees it), at most max bytes: SL_ETOOBIG past that (nothing
 * kept), SL_EIO when it fails or the answer is not 200. */
sl_err sl_tg_download(sl_tg_client *c, const char *file_path, size_t max,
		      uint8_t **buf /* OUT */, size_t *len /* OUT */);

#endif
