/*
 * bot.h — the Telegram bot's conversations: what → where → when → how many
 * of what → photos → confirm, in Russian, Belarusian, Ukrainian or
 * English, and then nothing.
 *
 * A conversation lives in memory only, in sodium_malloc memory (locked
 * out of swap, guarded, wiped when freed), for as long as the informant
 * keeps answering and at most timeout_s after their last message. It is
 * found by a keyed hash of the chat id under a random key of the process
 * that is replaced every timeout_s (the one before is kept for lookups, so
 * that a conversation survives one change); the chat id itself is kept
 * beside it only to reply, and wiped when the conversation ends — sent,
 * cancelled or abandoned. After a report is sent the slot keeps only the
 * hash and how many reports came (for the per-chat limit); two key
 * changes later it is gone, and with the keys gone nothing left in memory
 * can be matched to a chat. No name, username or phone number is ever
 * read (telegram.h), nothing of a conversation is written to disk or to a
 * log, and the report that reaches the store carries no Telegram
 * identifier of any kind. At the end the bot asks Telegram to delete the
 * conversation's messages on both sides (deleteMessages), then sends the
 * receipt with a reminder to delete the chat.
 *
 * Everything that leaves the process goes through sl_bot_ops: Bot API
 * calls, fetching and cleaning a photo, sealing and storing a report,
 * looking a receipt up. The server wires them to libcurl and intake
 * (src/http/telegram.c); tests wire them to fakes.
 *
 * Conversations are split into shards, one per worker thread: every update
 * of a chat goes to the same shard (sl_bot_shard), so one chat's updates
 * are handled in order while others go on in parallel.
 */
#ifndef SIGHTLINE_BOT_H
#define SIGHTLINE_BOT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "sightline/arena.h"
#include "sightline/place.h"
#include "sightline/receipt.h"
#include "sightline/report.h"
#include "sightline/sealing.h"
#include "sightline/telegram.h"

#define SL_BOT_PHOTOS 5	   /* photos in one report at most */
#define SL_BOT_EQUIPMENT 8 /* kinds of equipment in one report at most */
#define SL_BOT_UPDATES 200 /* messages in one conversation at most */

typedef struct sl_bot sl_bot;

/* What the bot needs from outside; ud is what sl_bot_handle and
 * sl_bot_sweep were given (the calling worker). Every one must return in
 * bounded time. */
typedef struct sl_bot_ops {
	/* Calls a Bot API method with params (not taken); its result into
	 * *result when result is not NULL (the caller decrefs). */
	sl_err (*call)(void *ud, const char *method, const json_t *params,
		       json_t **result);
	/* The photo Telegram knows as file_id (size bytes as Telegram says,
	 * 0 when unknown), fetched and cleaned (media.h) into *jpeg
	 * (malloc'd; the bot wipes and frees it). The file's path on
	 * Telegram's servers is not kept. SL_ETOOBIG over the photo cap;
	 * SL_EVALID or SL_EPARSE when it is not a usable image; SL_EIO when
	 * it could not be fetched. */
	sl_err (*photo)(void *ud, const char *file_id, int64_t size, void **jpeg,
			size_t *len);
	/* Seals and stores r (valid) with its n cleaned photos, the sealed
	 * items in a; the receipt's text into receipt. SL_ECLOSED when r has
	 * text or photos and there is no moderator to seal them to; SL_EBUSY
	 * (and others) when it could not be stored now. */
	sl_err (*submit)(void *ud, sl_report *r, const sl_photo *photos, size_t n,
			 sl_arena *a, char receipt[SL_RECEIPT_TEXT_MAX]);
	/* The status of the report whose receipt is text: SL_EPARSE when text
	 * is no receipt, SL_ENOTFOUND when no report has it. */
	sl_err (*status)(void *ud, const char *text, sl_report_status *out);
} sl_bot_ops;

typedef struct sl_bot_config {
	unsigned shards;	       /* >= 1: one per thread that calls sl_bot_handle */
	size_t max_conversations;      /* at once, in all shards (>= shards) */
	unsigned timeout_s;	       /* a conversation is forgotten this long after
					  its last message; also how often the keys
					  change */
	unsigned max_reports;	       /* reports one chat may send within
					  timeout_s..2*timeout_s */
	const sl_gazetteer *gazetteer; /* place names (borrowed) */
} sl_bot_config;

/* A new bot (no conversation yet). ops is copied. Free with sl_bot_free,
 * which wipes every conversation. */
sl_err sl_bot_new(const sl_bot_config *cfg, const sl_bot_ops *ops,
		  sl_bot **out /* OUT */);
void sl_bot_free(sl_bot *b);

/* The shard every update of chat_id goes to (< cfg.shards). */
unsigned sl_bot_shard(const sl_bot *b, int64_t chat_id);

/* Answers one update at now (Unix seconds): the next step of its chat's
 * conversation. Call from the thread of the update's shard. Does not keep
 * u. */
void sl_bot_handle(sl_bot *b, const sl_tg_update *u, int64_t now, void *ud);

/* Forgets the conversations of shard that were left for timeout_s (their
 * messages deleted from the chat, nothing said), and changes the shard's
 * key when it is due. Call from the shard's thread every second or so. */
void sl_bot_sweep(sl_bot *b, unsigned shard, int64_t now, void *ud);

/* Conversations going on, in all shards. */
size_t sl_bot_live(sl_bot *b);

#endif
