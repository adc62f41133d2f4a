/*
 * bot_int.h — what bot.c (the conversations) and bot_words.c (what the bot
 * says, in four languages) share.
 */
#ifndef SIGHTLINE_BOT_INT_H
#define SIGHTLINE_BOT_INT_H

#include "sightline/lang.h"

/* Everything the bot says or puts on a button. Keys marked "%s" or "%d"
 * are formats with one argument. */
typedef enum bw_key {
	BW_HELLO,
	BW_ASK_CATEGORY,
	BW_LANGUAGE_BUTTON,
	BW_ASK_LANGUAGE,
	BW_ASK_WHERE,
	BW_WHERE_HINT,
	BW_PLACE_OK,	  /* %s */
	BW_PLACE_UNKNOWN, /* %s */
	BW_KEEP,
	BW_PLACE_RANGE,
	BW_PLACE_LONG,
	BW_STATION,    /* %s */
	BW_AS_WRITTEN, /* %s */
	BW_ASK_WHEN,
	BW_WHEN_0,
	BW_WHEN_15,
	BW_WHEN_30,
	BW_WHEN_60,
	BW_WHEN_120,
	BW_WHEN_180,
	BW_TIME_BAD,
	BW_TIME_RULE,
	BW_ASK_EQ,
	BW_EQ_NONE,
	BW_ASK_COUNT, /* %s */
	BW_COUNT_BAD,
	BW_EQ_NOTED, /* %s */
	BW_MORE,
	BW_NEXT,
	BW_EQ_FULL,
	BW_ASK_PHOTOS,
	BW_DONE,
	BW_PHOTO_OK, /* %d */
	BW_PHOTO_BAD,
	BW_PHOTO_BIG,
	BW_PHOTO_FETCH,
	BW_PHOTO_MANY,
	BW_TEXT_OK,
	BW_TEXT_FULL,
	BW_SUMMARY,
	BW_L_WHAT,
	BW_L_WHERE,
	BW_L_WHEN,
	BW_L_EQ,
	BW_L_PHOTOS,
	BW_L_TEXT,
	BW_MINSK_TIME,
	BW_NOT_GIVEN,
	BW_SEND,
	BW_CANCEL,
	BW_SENT, /* %s */
	BW_CANCELLED,
	BW_EXPIRED,
	BW_STALE,
	BW_USE_BUTTONS,
	BW_ANSWER_ABOVE,
	BW_CONTACT,
	BW_UNSUPPORTED,
	BW_BUSY,
	BW_TOO_MANY,
	BW_NO_MODERATORS,
	BW_STRIP,
	BW_UNAVAILABLE,
	BW_STATUS, /* %s */
	BW_STATUS_UNKNOWN,
	BW_STATUS_USAGE,
	BW_HELP,
	BW_TOO_LONG,
	BW_UNIT_M,
	BW_UNIT_KM,
	BW_COUNT
} bw_key;

/* The words for key in l (UTF-8, static; never NULL). */
const char *sl_bot_word(sl_lang l, bw_key key);

#endif
