/*
 * lang.h — the four languages informants are spoken to in: Russian,
 * Belarusian, Ukrainian and English.
 *
 * The web form (/report) picks one from ?lang= or Accept-Language, the
 * Telegram bot from the user's language_code or a button; both show the
 * report's closed vocabularies (categories, equipment types, statuses) in
 * it through the tables here, so that the form and the bot say the same
 * thing in the same words. Strings are static UTF-8, never freed.
 */
#ifndef SIGHTLINE_LANG_H
#define SIGHTLINE_LANG_H

#include <stdbool.h>

#include "sightline/report.h"

typedef enum sl_lang {
	SL_LANG_RU,
	SL_LANG_BE,
	SL_LANG_UK,
	SL_LANG_EN,
	SL_LANG_COUNT
} sl_lang;

/* The informants' local time, seconds east of UTC: Belarus keeps UTC+3 all
 * year. Times typed without a zone ("08:30") are read in it. */
#define SL_LOCAL_UTC_OFFSET (3 * 3600)

/* The language when nothing says otherwise. */
#define SL_LANG_DEFAULT SL_LANG_RU

/* "ru", "be", "uk", "en". */
const char *sl_lang_tag(sl_lang l);

/* The language's own name: "Русский", "Беларуская", "Українська", "English". */
const char *sl_lang_name(sl_lang l);

/* One of the four from a language tag ("ru", "be-BY", "UK", "en_GB"):
 * its primary subtag, any case. false for anything else. */
bool sl_lang_from_tag(const char *tag, sl_lang *out /* OUT */);

/* The best of the four by an Accept-Language header ("be,ru;q=0.8,en;
 * q=0.5"): the highest q among the ones we speak, the first given on a
 * tie; dflt when the header is NULL or names none of them. */
sl_lang sl_lang_from_accept(const char *header, sl_lang dflt);

/* The words for the report's vocabularies in l: a category ("Эшелон
 * (железная дорога)"), an equipment type as a plural noun ("Танки"), a
 * status ("на проверке"). Out-of-range values read as "other" (or
 * "received"). */
const char *sl_lang_category(sl_lang l, sl_category c);
const char *sl_lang_equipment(sl_lang l, sl_equipment_type t);
const char *sl_lang_status(sl_lang l, sl_report_status s);

#endif
