/*
 * test_html.c — the console's page builder and form decoder (html.h):
 * every character that could end a text or an attribute is escaped, markup
 * passes as written, a page past its cap fails as a whole instead of being
 * cut, and urlencoded forms decode ('+', %XX, empty pairs, %00) or are
 * refused (a broken escape, too many fields).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sightline/html.h"

/* Builds a page with build and checks it reads want. */
static void expect_page(sl_html *h, const char *want)
{
	size_t len;
	char *got = sl_html_take(h, &len);
	if (!got)
		fail_msg("the page failed; expected \"%s\"", want);
	if (strcmp(got, want) != 0 || len != strlen(want))
		fail_msg("page: got \"%s\" (%zu bytes), want \"%s\"", got, len, want);
	free(got);
}

static void test_escaping(void **state)
{
	(void)state;
	sl_html h;
	sl_html_init(&h, SL_HTML_MAX);
	sl_html_raw(&h, "<p title=\"");
	sl_html_text(&h, "\"'><img src=x onerror=alert(1)>");
	sl_html_raw(&h, "\">");
	sl_html_text(&h, "<script>alert(1)</script> & more");
	sl_html_text(&h, NULL);
	sl_html_textn(&h, "a<b", 2);
	sl_html_raw(&h, "</p>");
	expect_page(&h, "<p title=\"&quot;&#39;&gt;&lt;img src=x onerror=alert(1)&gt;\">"
			"&lt;script&gt;alert(1)&lt;/script&gt; &amp; more"
			"a&lt;</p>");
	/* UTF-8 and plain text pass as they are. */
	sl_html_init(&h, SL_HTML_MAX);
	sl_html_text(&h, "Орша — 12 × T-72");
	expect_page(&h, "Орша — 12 × T-72");
}

static void test_rawf(void **state)
{
	(void)state;
	sl_html h;
	sl_html_init(&h, SL_HTML_MAX);
	sl_html_rawf(&h, "<a href=\"/mod/reports/%d\">%.2f</a>", 42, 1.5);
	/* Longer than rawf's own small buffer. */
	char big[2000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	sl_html_rawf(&h, "%s", big);
	size_t len;
	char *got = sl_html_take(&h, &len);
	assert_non_null(got);
	assert_int_equal(len, strlen("<a href=\"/mod/reports/42\">1.50</a>") + 1999);
	assert_memory_equal(got, "<a href=\"/mod/reports/42\">1.50</a>", 34);
	free(got);
}

static void test_cap(void **state)
{
	(void)state;
	sl_html h;
	sl_html_init(&h, 64);
	sl_html_raw(&h,
		    "0123456789012345678901234567890123456789012345678901234567890123");
	assert_false(sl_html_failed(&h));
	sl_html_raw(&h, "x");
	assert_true(sl_html_failed(&h));
	/* Escaping counts what it writes: 20 '<' are 80 bytes. */
	sl_html_free(&h);
	sl_html_init(&h, 64);
	sl_html_text(&h, "<<<<<<<<<<<<<<<<<<<<");
	assert_true(sl_html_failed(&h));
	/* Once failed, nothing more is written, and nothing is handed out. */
	sl_html_raw(&h, "ok");
	assert_true(sl_html_failed(&h));
	size_t len = 99;
	assert_null(sl_html_take(&h, &len));
	assert_int_equal(len, 0);
	sl_html_init(&h, 64);
	sl_html_raw(&h, "ok");
	expect_page(&h, "ok");
	/* An empty page is "". */
	sl_html_init(&h, 64);
	expect_page(&h, "");
	sl_html_free(&h);
}

static void test_form(void **state)
{
	(void)state;
	sl_arena *a = sl_arena_new(1 << 16);
	sl_form f;
	static const char body[] = "csrf=abc&reason=a+photo+from+2021%2C+%22reused%22"
				   "&&empty=&flag&name%5B%5D=x%00y&reason=second";
	assert_int_equal(sl_html_form_parse(body, strlen(body), a, &f), SL_OK);
	assert_int_equal(f.n, 6);
	assert_string_equal(sl_html_form_get(&f, "csrf")->value, "abc");
	/* The first of two fields of one name. */
	assert_string_equal(sl_html_form_get(&f, "reason")->value,
			    "a photo from 2021, \"reused\"");
	assert_string_equal(sl_html_form_get(&f, "empty")->value, "");
	assert_int_equal(sl_html_form_get(&f, "flag")->len, 0);
	const sl_form_field *n = sl_html_form_get(&f, "name[]");
	assert_non_null(n);
	assert_int_equal(n->len, 3);
	assert_int_equal(strlen(n->value), 1); /* %00: the length tells */
	assert_null(sl_html_form_get(&f, "missing"));
	assert_int_equal(sl_html_form_parse("", 0, a, &f), SL_OK);
	assert_int_equal(f.n, 0);

	static const char *const broken[] = {"a=%", "a=%4", "a=%zz", "a=%4g&b=1", "%=1"};
	for (size_t i = 0; i < sizeof(broken) / sizeof(broken[0]); i++)
		if (sl_html_form_parse(broken[i], strlen(broken[i]), a, &f) != SL_EPARSE)
			fail_msg("\"%s\" was not refused as a broken escape", broken[i]);
	/* Only len bytes are read: a body need not end with a NUL. */
	assert_int_equal(sl_html_form_parse("a=1%41", 5, a, &f), SL_EPARSE);
	assert_int_equal(sl_html_form_parse("a=1%41", 6, a, &f), SL_OK);
	assert_string_equal(f.fields[0].value, "1A");

	char many[SL_FORM_FIELDS_MAX * 4 + 8] = "";
	for (int i = 0; i <= SL_FORM_FIELDS_MAX; i++)
		strcat(many, "x=1&");
	assert_int_equal(sl_html_form_parse(many, strlen(many), a, &f), SL_ETOOBIG);
	sl_arena_free(a);

	/* An arena too small for the form. */
	a = sl_arena_new(16);
	static const char long_body[] = "text=0123456789012345678901234567890123456789";
	assert_int_equal(sl_html_form_parse(long_body, strlen(long_body), a, &f),
			 SL_ENOMEM);
	sl_arena_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_escaping),
	    cmocka_unit_test(test_rawf),
	    cmocka_unit_test(test_cap),
	    cmocka_unit_test(test_form),
	};
	return cmocka_run_group_tests_name("html", tests, NULL, NULL);
}
