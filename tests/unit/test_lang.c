/*
 * test_lang.c — the four languages (lang.h): tags in their shapes,
 * Accept-Language with q-values, and a word in every language for every
 * category, equipment type and status.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "sightline/lang.h"

static void test_tags(void **state)
{
	(void)state;
	struct {
		const char *tag;
		sl_lang want;
	} good[] = {
	    {"ru", SL_LANG_RU},	   {"be", SL_LANG_BE},	  {"uk", SL_LANG_UK},
	    {"en", SL_LANG_EN},	   {"RU", SL_LANG_RU},	  {"be-BY", SL_LANG_BE},
	    {"uk_UA", SL_LANG_UK}, {"en-GB", SL_LANG_EN}, {"ru-Latn-x", SL_LANG_RU}};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		sl_lang l = SL_LANG_COUNT;
		if (!sl_lang_from_tag(good[i].tag, &l) || l != good[i].want)
			fail_msg("\"%s\": %d, want %d", good[i].tag, (int)l,
				 (int)good[i].want);
	}
	const char *bad[] = {"", "r", "rus", "de", "ua", "ru!", " ru", "*", NULL};
	for (size_t i = 0; bad[i]; i++) {
		sl_lang l;
		if (sl_lang_from_tag(bad[i], &l))
			fail_msg("\"%s\" was taken as %d", bad[i], (int)l);
	}
	sl_lang l;
	assert_false(sl_lang_from_tag(NULL, &l));
	for (int i = 0; i < SL_LANG_COUNT; i++) {
		assert_true(sl_lang_from_tag(sl_lang_tag((sl_lang)i), &l));
		assert_int_equal(l, i);
		assert_true(strlen(sl_lang_name((sl_lang)i)) > 0);
	}
}

static void test_accept_language(void **state)
{
	(void)state;
	struct {
		const char *header;
		sl_lang want;
	} cases[] = {
	    {NULL, SL_LANG_DEFAULT},
	    {"", SL_LANG_DEFAULT},
	    {"de-DE,de;q=0.9", SL_LANG_DEFAULT},
	    {"en-US,en;q=0.5", SL_LANG_EN}, /* Tor Browser's */
	    {"be,ru;q=0.8,en;q=0.5", SL_LANG_BE},
	    {"ru;q=0.5, be;q=0.9", SL_LANG_BE},
	    {"de, uk;q=0.3, en;q=0.2", SL_LANG_UK},
	    {"en;q=0, ru;q=0.1", SL_LANG_RU}, /* q=0: not acceptable */
	    {"en;q=2, uk", SL_LANG_UK},	      /* a malformed q is skipped */
	    {"  uk-UA  ;  q=0.7 ", SL_LANG_UK},
	    {"*", SL_LANG_DEFAULT},
	    {",,,;;;q=", SL_LANG_DEFAULT},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sl_lang l = sl_lang_from_accept(cases[i].header, SL_LANG_DEFAULT);
		if (l != cases[i].want)
			fail_msg("\"%s\": %s, want %s",
				 cases[i].header ? cases[i].header : "NULL",
				 sl_lang_tag(l), sl_lang_tag(cases[i].want));
	}
	assert_int_equal(sl_lang_from_accept("de", SL_LANG_EN), SL_LANG_EN);
}

static void test_words(void **state)
{
	(void)state;
	for (int l = 0; l < SL_LANG_COUNT; l++) {
		for (int c = 0; c < SL_CAT_COUNT; c++) {
			const char *w = sl_lang_category((sl_lang)l, (sl_category)c);
			if (!w || !*w)
				fail_msg("no word for category %d in %s", c,
					 sl_lang_tag((sl_lang)l));
		}
		for (int t = 0; t < SL_EQ_COUNT; t++) {
			const char *w =
			    sl_lang_equipment((sl_lang)l, (sl_equipment_type)t);
			if (!w || !*w)
				fail_msg("no word for equipment %d in %s", t,
					 sl_lang_tag((sl_lang)l));
		}
		for (int s = 0; s < SL_STATUS_COUNT; s++) {
			const char *w = sl_lang_status((sl_lang)l, (sl_report_status)s);
			if (!w || !*w)
				fail_msg("no word for status %d in %s", s,
					 sl_lang_tag((sl_lang)l));
		}
	}
	assert_string_equal(sl_lang_category(SL_LANG_BE, SL_CAT_ROAD_CONVOY),
			    "Калона на дарозе");
	assert_string_equal(sl_lang_equipment(SL_LANG_UK, SL_EQ_TRUCK), "Вантажівки");
	assert_string_equal(sl_lang_status(SL_LANG_EN, SL_STATUS_UNDER_REVIEW),
			    "under review");
	/* Out of range reads as other / received, in the default language
	 * for an unknown language. */
	assert_string_equal(sl_lang_category(SL_LANG_EN, SL_CAT_COUNT), "Other");
	assert_string_equal(sl_lang_equipment(SL_LANG_COUNT, SL_EQ_TANK), "Танки");
	assert_string_equal(sl_lang_status(SL_LANG_RU, SL_STATUS_COUNT), "получено");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tags),
	    cmocka_unit_test(test_accept_language),
	    cmocka_unit_test(test_words),
	};
	return cmocka_run_group_tests_name("lang", tests, NULL, NULL);
}
