/*
 * form_int.h — the informant's web form (form.c) and its words in four
 * languages (form_words.c).
 */
#ifndef SIGHTLINE_FORM_INT_H
#define SIGHTLINE_FORM_INT_H

#include "sightline/lang.h"

/* Everything the form's pages say, one key per sentence. */
typedef enum fw_key {
	FW_SITE,
	FW_TITLE,
	FW_INTRO,
	FW_TOR,
	FW_WHAT,
	FW_CATEGORY,
	FW_CHOOSE,
	FW_WHERE,
	FW_PLACE,
	FW_PLACE_HINT,
	FW_WHEN,
	FW_OBSERVED,
	FW_TZ,
	FW_HOW_MANY,
	FW_EQ_HINT,
	FW_EQ_TYPE,
	FW_EQ_MODEL,
	FW_EQ_COUNT,
	FW_HEADING,
	FW_HEADING_NONE,
	FW_N, /* the eight compass points, in order */
	FW_NE,
	FW_E,
	FW_SE,
	FW_S,
	FW_SW,
	FW_W,
	FW_NW,
	FW_DESTINATION,
	FW_DETAILS,
	FW_TEXT,
	FW_PHOTOS,
	FW_PHOTOS_HINT,
	FW_PHOTOS_AGAIN,
	FW_CONTACT,
	FW_CONTACT_HINT,
	FW_SEND,
	FW_TO_STATUS,
	FW_TO_FORM,
	FW_ERRORS,
	FW_E_CATEGORY,
	FW_E_PLACE,
	FW_E_PLACE_RANGE,
	FW_E_SHORT,
	FW_E_TIME_FORMAT,
	FW_E_TIME_RULE,
	FW_E_TZ,
	FW_E_COUNT,
	FW_E_TYPE,
	FW_E_HEADING,
	FW_E_TEXT,
	FW_E_PHOTO,
	FW_E_PHOTO_COUNT,
	FW_E_PHOTO_SIZE,
	FW_E_NO_MODERATORS,
	FW_E_BROKEN,
	FW_E_TOO_BIG,
	FW_E_RATE,
	FW_E_UNAVAILABLE,
	FW_E_TYPE_FORM,
	FW_E_ORIGIN,
	FW_E_NOT_FOUND,
	FW_E_METHOD,
	FW_ERROR_TITLE,
	FW_RECEIPT_TITLE,
	FW_RECEIPT_INTRO,
	FW_RECEIPT_HOW,
	FW_RECEIPT_DEVICE,
	FW_PLACE_KEPT, /* followed by the place, then FW_PLACE_KEPT_END */
	FW_PLACE_KEPT_END,
	FW_ANOTHER,
	FW_STATUS_TITLE,
	FW_RECEIPT,
	FW_RECEIPT_HINT,
	FW_CHECK,
	FW_STATUS_IS,
	FW_E_RECEIPT,
	FW_E_RECEIPT_UNKNOWN,
	FW_ADD,
	FW_ADD_SEND,
	FW_ADDED,
	FW_E_ADD_EMPTY,
	FW_COUNT
} fw_key;

/* The sentence for key in l (UTF-8, static, never NULL). */
const char *sl_form_word(sl_lang l, fw_key key);

#endif
