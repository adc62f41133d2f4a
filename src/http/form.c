/*
 * form.c — the informant's web form: plain HTML rendered here, that works
 * with JavaScript off (Tor Browser at its "Safest" level).
 *
 *   GET  /report           the form, in the language of ?lang= or
 *                          Accept-Language (ru, be, uk, en)
 *   POST /report           a report: multipart/form-data with photos, or
 *                          application/x-www-form-urlencoded
 *   GET  /report/status    a receipt's status, looked up ...
 *   POST /report/status    ... here, and a follow-up added to its report
 *
 * A POST goes through intake.c's path and nothing else: its body is read
 * by libmicrohttpd's post processor into capped buffers (the photos beside
 * the fields, as the JSON API's multipart), the fields become an sl_report
 * — the place through the gazetteer (place.h), the time in Minsk's UTC+3
 * or the zone chosen — that sl_report_validate checks, and
 * sl_intake_queue hands to an intake worker, which cleans the photos,
 * seals, makes the receipt and commits.
 * A refusal shows the form again with the reason beside each field and
 * every value kept (file inputs excepted: no browser keeps those); the
 * receipt page shows the receipt once.
 *
 * No cookie is ever set for informants; the pages load nothing but
 * /static/report.css, under a policy that allows no script at all, and a
 * form is accepted only from a page of this server (Origin and
 * Sec-Fetch-Site, as the console's). Every string from the request goes
 * into a page through sl_html_text. The fields are kept in memory only,
 * wiped when the request ends; Accept-Language is read to choose the
 * language and nothing else of it is kept.
 */
#include "http/form_int.h"
#include "http/mod_int.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sightline/buf.h"
#include "sightline/html.h"
#include "sightline/place.h"
#include "sightline/timefmt.h"

#define FORM_URLENCODED "application/x-www-form-urlencoded"
#define FORM_MULTIPART "multipart/form-data"
#define PATH_FORM "/report"
#define PATH_STATUS "/report/status"

#define FIELDS_MAX 48
#define FIELD_NAME_MAX 24
#define EQ_ROWS 4

/* No script, no frames, nothing from elsewhere: the form's own stylesheet
 * and forms posted back here. */
static const char form_csp[] =
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'";

/* ---- the fields as they arrive ---- */

typedef struct form_value {
	char name[FIELD_NAME_MAX];
	char *value; /* NUL-terminated; len bytes (a %00 makes strlen shorter) */
	size_t len, cap;
} form_value;

struct form_fields {
	size_t n;
	size_t bytes; /* all values together, capped by the body cap */
	form_value v[FIELDS_MAX];
};

void sl_form_fields_free(form_fields *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n; i++) {
		if (f->v[i].value)
			sodium_memzero(f->v[i].value, f->v[i].cap);
		free(f->v[i].value);
	}
	sodium_memzero(f, sizeof(*f));
	free(f);
}

/* Room for n more bytes in v (and a NUL); wiped as it grows: a value may
 * be the informant's text. */
static bool grow(form_value *v, size_t n)
{
	return sl_grow_wiped(&v->value, &v->cap, v->len, v->len + n + 1, 64, SIZE_MAX);
}

bool sl_form_part(request *rq, const char *key, const char *data, uint64_t off,
		  size_t size)
{
	if (!rq->form && !(rq->form = calloc(1, sizeof(*rq->form))))
		return false;
	form_fields *f = rq->form;
	form_value *v = NULL;
	if (off == 0) {
		/* A field whose name is not the form's, or one too many, is
		 * dropped: only fields the form has are ever read. */
		if (strlen(key) >= FIELD_NAME_MAX || f->n == FIELDS_MAX)
			return true;
		v = &f->v[f->n++];
		snprintf(v->name, sizeof(v->name), "%s", key);
	} else {
		for (size_t i = f->n; i-- > 0 && !v;)
			if (strcmp(f->v[i].name, key) == 0)
				v = &f->v[i];
		if (!v)
			return true;
	}
	if (f->bytes + size > rq->srv->cfg.body_cap) {
		rq->too_big = true;
		return true;
	}
	if (!grow(v, size))
		return false;
	memcpy(v->value + v->len, data, size);
	v->len += size;
	v->value[v->len] = '\0';
	f->bytes += size;
	return true;
}

/* The value of the first field called name, or NULL. */
static const form_value *field(const request *rq, const char *name)
{
	const form_fields *f = rq ? rq->form : NULL;
	for (size_t i = 0; f && i < f->n; i++)
		if (strcmp(f->v[i].name, name) == 0)
			return &f->v[i];
	return NULL;
}

static const char *value_of(const request *rq, const char *name)
{
	const form_value *v = field(rq, name);
	return v && v->value ? v->value : NULL;
}

/* ---- language ---- */

static sl_lang language(struct MHD_Connection *c, const request *rq)
{
	sl_lang l;
	if (sl_lang_from_tag(value_of(rq, "lang"), &l))
		return l;
	if (sl_lang_from_tag(
		MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "lang"), &l))
		return l;
	return sl_lang_from_accept(
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept-Language"),
	    SL_LANG_DEFAULT);
}

#define W(key) sl_form_word(lang, key)

/* ---- pages ---- */

static enum MHD_Result send_page(struct MHD_Connection *c, unsigned status, sl_html *h,
				 unsigned retry_after)
{
	return sl_http_page(c, status, h, form_csp, retry_after, NULL);
}

/* The head, the bar with the language links (to path in each language),
 * and the page's title. */
static void page_open(sl_html *h, sl_lang lang, const char *title, const char *path)
{
	sl_html_rawf(
	    h,
	    "<!doctype html>\n<html lang=\"%s\">\n<head>\n<meta charset=\"utf-8\">\n"
	    "<meta name=\"viewport\" content=\"width=device-width, "
	    "initial-scale=1\">\n<meta name=\"referrer\" content=\"no-referrer\">\n"
	    "<title>",
	    sl_lang_tag(lang));
	sl_html_text(h, title);
	sl_html_raw(
	    h, " — sightline</title>\n<link rel=\"icon\" href=\"data:,\">\n"
	       "<link rel=\"stylesheet\" href=\"/static/report.css\">\n</head>\n"
	       "<body class=\"informant\">\n<header class=\"bar\">\n<p class=\"site\">"
	       "<a href=\"" PATH_FORM);
	sl_html_rawf(h, "?lang=%s\">", sl_lang_tag(lang));
	sl_html_text(h, W(FW_SITE));
	sl_html_raw(h, "</a></p>\n<nav class=\"langs\" id=\"langs\">");
	for (int i = 0; i < SL_LANG_COUNT; i++) {
		const char *tag = sl_lang_tag((sl_lang)i);
		if (i == (int)lang)
			sl_html_rawf(h, "<b lang=\"%s\">", tag);
		else
			sl_html_rawf(
			    h, "<a lang=\"%s\" hreflang=\"%s\" href=\"%s?lang=%s\">", tag,
			    tag, path, tag);
		sl_html_text(h, sl_lang_name((sl_lang)i));
		sl_html_raw(h, i == (int)lang ? "</b> " : "</a> ");
	}
	sl_html_raw(h, "</nav>\n</header>\n<main>\n<h1>");
	sl_html_text(h, title);
	sl_html_raw(h, "</h1>\n");
}

static void page_close(sl_html *h, sl_lang lang, bool to_form, bool to_status)
{
	sl_html_raw(h, "</main>\n<footer>\n");
	if (to_form) {
		sl_html_rawf(h, "<p><a id=\"to-form\" href=\"" PATH_FORM "?lang=%s\">",
			     sl_lang_tag(lang));
		sl_html_text(h, W(FW_TO_FORM));
		sl_html_raw(h, "</a></p>\n");
	}
	if (to_status) {
		sl_html_rawf(h,
			     "<p><a id=\"to-status\" href=\"" PATH_STATUS "?lang=%s\">",
			     sl_lang_tag(lang));
		sl_html_text(h, W(FW_TO_STATUS));
		sl_html_raw(h, "</a></p>\n");
	}
	sl_html_raw(h, "</footer>\n</body>\n</html>\n");
}

/* A page that only says one thing (why something was refused). */
static enum MHD_Result message_page(struct MHD_Connection *c, sl_lang lang,
				    unsigned status, fw_key text, unsigned retry_after)
{
	sl_html h;
	sl_html_init(&h, SL_HTML_MAX);
	page_open(&h, lang, W(FW_ERROR_TITLE), PATH_FORM);
	sl_html_raw(&h, "<p class=\"error\" role=\"alert\" id=\"message\">");
	sl_html_text(&h, W(text));
	sl_html_raw(&h, "</p>\n");
	page_close(&h, lang, true, true);
	return send_page(c, status, &h, retry_after);
}

/* ---- the report form ---- */

/* The form's fields that can carry an error, each shown beside its input. */
enum {
	F_CATEGORY,
	F_PLACE,
	F_OBSERVED,
	F_TZ,
	F_HEADING,
	F_DESTINATION,
	F_TEXT,
	F_CONTACT,
	F_PHOTO,
	F_GENERAL,
	F_EQ, /* then EQ_ROWS times type, model, count */
	F_COUNT = F_EQ + 3 * EQ_ROWS
};
#define F_EQ_TYPE(r) (F_EQ + 3 * (r))
#define F_EQ_MODEL(r) (F_EQ + 3 * (r) + 1)
#define F_EQ_COUNT(r) (F_EQ + 3 * (r) + 2)

/* One reason per field: the form's own sentence, and the rule's detail
 * when the validator or the photo cleaner said more (in English: their
 * reasons are fixed sentences of the code, never the informant's input). */
typedef struct field_error {
	bool set;
	fw_key key;
	char detail[160];
} field_error;

typedef struct form_state {
	sl_lang lang;
	field_error err[F_COUNT];
	size_t n_errors;
	bool photos_sent; /* the informant had chosen photos: say to choose again */
} form_state;

static void set_error(form_state *st, int f, fw_key key, const char *detail)
{
	if (st->err[f].set)
		return;
	st->err[f].set = true;
	st->err[f].key = key;
	snprintf(st->err[f].detail, sizeof(st->err[f].detail), "%s",
		 detail ? detail : "");
	st->n_errors++;
}

/* The HTML name and id of field f: "place" and "f-place", "eq2_count" and
 * "f-eq2-count". */
static void field_name(int f, char name[24], char id[24])
{
	static const char *const names[F_EQ] = {
	    "category",	   "place", "observed_at", "tz",    "heading",
	    "destination", "text",  "contact",	   "photo", "general"};
	static const char *const eq[3] = {"type", "model", "count"};
	if (f < F_EQ) {
		snprintf(name, 24, "%s", names[f]);
		snprintf(id, 24, "%s", names[f]);
	} else {
		int row = (f - F_EQ) / 3 + 1, part = (f - F_EQ) % 3;
		snprintf(name, 24, "eq%d_%s", row, eq[part]);
		snprintf(id, 24, "eq%d-%s", row, eq[part]);
	}
	for (char *p = id; *p; p++)
		if (*p == '_')
			*p = '-';
}

/* The error beside field f, if it has one: <p class="field-error"
 * id="e-ID">. */
static void error_beside(sl_html *h, const form_state *st, int f)
{
	if (!st || !st->err[f].set)
		return;
	sl_lang lang = st->lang;
	char name[24], id[24];
	field_name(f, name, id);
	sl_html_rawf(h, "<p class=\"field-error\" id=\"e-%s\">", id);
	sl_html_text(h, W(st->err[f].key));
	if (st->err[f].detail[0]) {
		sl_html_raw(h, " <span class=\"detail\" lang=\"en\">(");
		sl_html_text(h, st->err[f].detail);
		sl_html_raw(h, ")</span>");
	}
	sl_html_raw(h, "</p>\n");
}

/* The attributes every input of field f has: name, id, and when it has an
 * error aria-invalid and aria-describedby. */
static void input_attrs(sl_html *h, const form_state *st, int f)
{
	char name[24], id[24];
	field_name(f, name, id);
	sl_html_rawf(h, " name=\"%s\" id=\"f-%s\"", name, id);
	if (st && st->err[f].set)
		sl_html_rawf(h, " aria-invalid=\"true\" aria-describedby=\"e-%s\"", id);
}

/* value="..." from the request's field, escaped; nothing without one. */
static void value_attr(sl_html *h, const request *rq, int f, const char *dflt)
{
	char name[24], id[24];
	field_name(f, name, id);
	const char *v = value_of(rq, name);
	if (!v)
		v = dflt;
	if (!v)
		return;
	sl_html_raw(h, " value=\"");
	sl_html_text(h, v);
	sl_html_raw(h, "\"");
}

static void label(sl_html *h, sl_lang lang, int f, fw_key text)
{
	char name[24], id[24];
	field_name(f, name, id);
	sl_html_rawf(h, "<label for=\"f-%s\">", id);
	sl_html_text(h, W(text));
	sl_html_raw(h, "</label>\n");
}

static void option(sl_html *h, const char *value, const char *text, const char *chosen)
{
	sl_html_raw(h, "<option value=\"");
	sl_html_text(h, value);
	sl_html_raw(h, "\"");
	if (chosen && strcmp(chosen, value) == 0)
		sl_html_raw(h, " selected");
	sl_html_raw(h, ">");
	sl_html_text(h, text);
	sl_html_raw(h, "</option>");
}

static const char *const tz_values[] = {"+03:00", "+02:00", "+01:00", "+00:00", "+04:00"};
#define N_TZ (sizeof(tz_values) / sizeof(tz_values[0]))

static const char *const compass[8] = {"N", "NE", "E", "SE", "S", "SW", "W", "NW"};

static void render_equipment(sl_html *h, const request *rq, const form_state *st)
{
	sl_lang lang = st->lang;
	sl_html_raw(h, "<fieldset id=\"how-many\">\n<legend>");
	sl_html_text(h, W(FW_HOW_MANY));
	sl_html_raw(h, "</legend>\n<p class=\"hint\">");
	sl_html_text(h, W(FW_EQ_HINT));
	sl_html_raw(h, "</p>\n");
	for (int r = 0; r < EQ_ROWS; r++) {
		char name[24], id[24];
		sl_html_rawf(
		    h, "<div class=\"eq-row\" id=\"eq%d\">\n<div class=\"eq-type\">",
		    r + 1);
		label(h, lang, F_EQ_TYPE(r), FW_EQ_TYPE);
		sl_html_raw(h, "<select");
		input_attrs(h, st, F_EQ_TYPE(r));
		sl_html_raw(h, ">");
		field_name(F_EQ_TYPE(r), name, id);
		const char *chosen = value_of(rq, name);
		option(h, "", "—", chosen);
		for (int t = 0; t < SL_EQ_COUNT; t++)
			option(h, sl_equipment_type_name((sl_equipment_type)t),
			       sl_lang_equipment(lang, (sl_equipment_type)t), chosen);
		sl_html_raw(h, "</select>\n");
		error_beside(h, st, F_EQ_TYPE(r));
		sl_html_raw(h, "</div>\n<div class=\"eq-count\">");
		label(h, lang, F_EQ_COUNT(r), FW_EQ_COUNT);
		sl_html_raw(h, "<input type=\"text\" inputmode=\"numeric\" size=\"8\" "
			       "maxlength=\"20\" autocomplete=\"off\"");
		input_attrs(h, st, F_EQ_COUNT(r));
		value_attr(h, rq, F_EQ_COUNT(r), NULL);
		sl_html_raw(h, ">\n");
		error_beside(h, st, F_EQ_COUNT(r));
		sl_html_raw(h, "</div>\n<div class=\"eq-model\">");
		label(h, lang, F_EQ_MODEL(r), FW_EQ_MODEL);
		sl_html_raw(
		    h, "<input type=\"text\" maxlength=\"200\" autocomplete=\"off\"");
		input_attrs(h, st, F_EQ_MODEL(r));
		value_attr(h, rq, F_EQ_MODEL(r), NULL);
		sl_html_raw(h, ">\n");
		error_beside(h, st, F_EQ_MODEL(r));
		sl_html_raw(h, "</div>\n</div>\n");
	}
	sl_html_raw(h, "</fieldset>\n");
}

/* The report form, with rq's values and st's errors when it is shown
 * again (rq NULL: a fresh form, the time set to now in Minsk). */
static enum MHD_Result form_page(struct MHD_Connection *c, unsigned status,
				 const request *rq, const form_state *st, fw_key general,
				 unsigned retry_after)
{
	sl_lang lang = st->lang;
	sl_html h;
	sl_html_init(&h, SL_HTML_MAX);
	page_open(&h, lang, W(FW_TITLE), PATH_FORM);
	sl_html_raw(&h, "<p class=\"intro\" id=\"intro\">");
	sl_html_text(&h, W(FW_INTRO));
	sl_html_raw(&h, "</p>\n<p class=\"hint\">");
	sl_html_text(&h, W(FW_TOR));
	sl_html_raw(&h, "</p>\n");
	if (st->n_errors || general != FW_COUNT) {
		sl_html_raw(&h,
			    "<div class=\"errors\" role=\"alert\" id=\"errors\">\n<p>");
		sl_html_text(&h, W(general != FW_COUNT ? general : FW_ERRORS));
		sl_html_raw(&h, "</p>\n");
		if (st->n_errors) {
			sl_html_raw(&h, "<ul>\n");
			for (int f = 0; f < F_COUNT; f++) {
				if (!st->err[f].set || f == F_GENERAL)
					continue;
				char name[24], id[24];
				field_name(f, name, id);
				sl_html_rawf(&h, "<li><a href=\"#f-%s\">", id);
				sl_html_text(&h, W(st->err[f].key));
				sl_html_raw(&h, "</a></li>\n");
			}
			sl_html_raw(&h, "</ul>\n");
		}
		error_beside(&h, st, F_GENERAL);
		sl_html_raw(&h, "</div>\n");
	}
	sl_html_rawf(&h,
		     "<form method=\"post\" action=\"" PATH_FORM "?lang=%s\" "
		     "enctype=\"multipart/form-data\" id=\"report-form\" "
		     "accept-charset=\"utf-8\">\n<input type=\"hidden\" name=\"lang\" "
		     "value=\"%s\">\n",
		     sl_lang_tag(lang), sl_lang_tag(lang));

	/* What */
	sl_html_raw(&h, "<fieldset id=\"what\">\n<legend>");
	sl_html_text(&h, W(FW_WHAT));
	sl_html_raw(&h, "</legend>\n");
	label(&h, lang, F_CATEGORY, FW_CATEGORY);
	sl_html_raw(&h, "<select required");
	input_attrs(&h, st, F_CATEGORY);
	sl_html_raw(&h, ">");
	const char *cat = value_of(rq, "category");
	option(&h, "", W(FW_CHOOSE), cat);
	for (int k = 0; k < SL_CAT_COUNT; k++)
		option(&h, sl_category_name((sl_category)k),
		       sl_lang_category(lang, (sl_category)k), cat);
	sl_html_raw(&h, "</select>\n");
	error_beside(&h, st, F_CATEGORY);
	sl_html_raw(&h, "</fieldset>\n");

	/* Where */
	sl_html_raw(&h, "<fieldset id=\"where\">\n<legend>");
	sl_html_text(&h, W(FW_WHERE));
	sl_html_raw(&h, "</legend>\n");
	label(&h, lang, F_PLACE, FW_PLACE);
	sl_html_raw(&h, "<input type=\"text\" required maxlength=\"200\" "
			"autocomplete=\"off\" spellcheck=\"false\"");
	input_attrs(&h, st, F_PLACE);
	value_attr(&h, rq, F_PLACE, NULL);
	sl_html_raw(&h, ">\n<p class=\"hint\">");
	sl_html_text(&h, W(FW_PLACE_HINT));
	sl_html_raw(&h, "</p>\n");
	error_beside(&h, st, F_PLACE);
	label(&h, lang, F_HEADING, FW_HEADING);
	sl_html_raw(&h, "<select");
	input_attrs(&h, st, F_HEADING);
	sl_html_raw(&h, ">");
	const char *heading = value_of(rq, "heading");
	option(&h, "", W(FW_HEADING_NONE), heading);
	for (int k = 0; k < 8; k++)
		option(&h, compass[k], W((fw_key)(FW_N + k)), heading);
	sl_html_raw(&h, "</select>\n");
	error_beside(&h, st, F_HEADING);
	label(&h, lang, F_DESTINATION, FW_DESTINATION);
	sl_html_raw(&h, "<input type=\"text\" maxlength=\"200\" autocomplete=\"off\"");
	input_attrs(&h, st, F_DESTINATION);
	value_attr(&h, rq, F_DESTINATION, NULL);
	sl_html_raw(&h, ">\n");
	error_beside(&h, st, F_DESTINATION);
	sl_html_raw(&h, "</fieldset>\n");

	/* When */
	char now_local[SL_TIME_TEXT_MAX];
	sl_time_format_local(sl_time_now(), SL_LOCAL_UTC_OFFSET, now_local);
	sl_html_raw(&h, "<fieldset id=\"when\">\n<legend>");
	sl_html_text(&h, W(FW_WHEN));
	sl_html_raw(&h, "</legend>\n<div class=\"when-row\">\n<div>");
	label(&h, lang, F_OBSERVED, FW_OBSERVED);
	sl_html_raw(&h, "<input type=\"datetime-local\" required");
	input_attrs(&h, st, F_OBSERVED);
	value_attr(&h, rq, F_OBSERVED, rq ? NULL : now_local);
	sl_html_raw(&h, ">\n");
	error_beside(&h, st, F_OBSERVED);
	sl_html_raw(&h, "</div>\n<div>");
	label(&h, lang, F_TZ, FW_TZ);
	sl_html_raw(&h, "<select");
	input_attrs(&h, st, F_TZ);
	sl_html_raw(&h, ">");
	const char *tz = value_of(rq, "tz");
	for (size_t k = 0; k < N_TZ; k++) {
		char text[16];
		snprintf(text, sizeof(text), "UTC%s", tz_values[k]);
		option(&h, tz_values[k], text, tz ? tz : tz_values[0]);
	}
	sl_html_raw(&h, "</select>\n");
	error_beside(&h, st, F_TZ);
	sl_html_raw(&h, "</div>\n</div>\n</fieldset>\n");

	render_equipment(&h, rq, st);

	/* Details */
	sl_html_raw(&h, "<fieldset id=\"details\">\n<legend>");
	sl_html_text(&h, W(FW_DETAILS));
	sl_html_raw(&h, "</legend>\n");
	label(&h, lang, F_TEXT, FW_TEXT);
	sl_html_raw(&h, "<textarea rows=\"6\" maxlength=\"8000\"");
	input_attrs(&h, st, F_TEXT);
	sl_html_raw(&h, ">");
	sl_html_text(&h, value_of(rq, "text"));
	sl_html_raw(&h, "</textarea>\n");
	error_beside(&h, st, F_TEXT);
	label(&h, lang, F_PHOTO, FW_PHOTOS);
	sl_html_raw(&h, "<input type=\"file\" multiple accept=\"image/jpeg,image/png,"
			"image/webp,image/heic,image/heif,.heic,.heif\"");
	input_attrs(&h, st, F_PHOTO);
	sl_html_raw(&h, ">\n<p class=\"hint\">");
	sl_html_text(&h, W(FW_PHOTOS_HINT));
	sl_html_raw(&h, "</p>\n");
	if (st->photos_sent) {
		sl_html_raw(&h, "<p class=\"hint again\" id=\"photos-again\">");
		sl_html_text(&h, W(FW_PHOTOS_AGAIN));
		sl_html_raw(&h, "</p>\n");
	}
	error_beside(&h, st, F_PHOTO);
	label(&h, lang, F_CONTACT, FW_CONTACT);
	sl_html_raw(&h, "<input type=\"text\" maxlength=\"200\" autocomplete=\"off\"");
	input_attrs(&h, st, F_CONTACT);
	value_attr(&h, rq, F_CONTACT, NULL);
	sl_html_raw(&h, ">\n<p class=\"hint\">");
	sl_html_text(&h, W(FW_CONTACT_HINT));
	sl_html_raw(&h, "</p>\n");
	error_beside(&h, st, F_CONTACT);
	sl_html_raw(&h, "</fieldset>\n<p><button type=\"submit\" id=\"send\">");
	sl_html_text(&h, W(FW_SEND));
	sl_html_raw(&h, "</button></p>\n</form>\n");
	page_close(&h, lang, false, true);
	return send_page(c, status, &h, retry_after);
}

/* ---- from the fields to a report ---- */

/* A copy of field f's value in a, spaces trimmed; NULL when it is absent
 * or blank. *bad when it holds a NUL (from "%00"): never a report's. */
static char *text_field(request *rq, int f, bool trim, bool *bad)
{
	char name[24], id[24];
	field_name(f, name, id);
	const form_value *v = field(rq, name);
	*bad = false;
	if (!v || !v->value)
		return NULL;
	if (strlen(v->value) != v->len) {
		*bad = true;
		return NULL;
	}
	const char *s = v->value;
	size_t n = v->len;
	if (trim) {
		while (n && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n'))
			s++, n--;
		while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' ||
			     s[n - 1] == '\n'))
			n--;
	}
	if (strspn(s, " \t\r\n") >= n)
		return NULL;
	return sl_arena_strndup(rq->arena, s, n);
}

/* The form field of a validator's JSON path ("equipment[2].count"), and
 * which sentence says its rule; rows[k] is the form row of item k. */
static void map_problem(form_state *st, const sl_field_error *p, const int *rows,
			size_t n_items)
{
	const char *f = p->field;
	unsigned k;
	char part[16];
	if (sscanf(f, "equipment[%u].%15s", &k, part) == 2 && k < n_items) {
		int r = rows[k];
		if (strcmp(part, "type") == 0)
			set_error(st, F_EQ_TYPE(r), FW_E_TYPE, p->message);
		else if (strcmp(part, "model") == 0)
			set_error(st, F_EQ_MODEL(r), FW_E_SHORT, p->message);
		else
			set_error(st, F_EQ_COUNT(r), FW_E_COUNT, p->message);
		return;
	}
	static const struct {
		const char *path;
		int field;
		fw_key key;
	} map[] = {
	    {"category", F_CATEGORY, FW_E_CATEGORY},
	    {"observed_at", F_OBSERVED, FW_E_TIME_RULE},
	    {"observed_until", F_OBSERVED, FW_E_TIME_RULE},
	    {"location.place", F_PLACE, FW_E_SHORT},
	    {"location", F_PLACE, FW_E_PLACE_RANGE},
	    {"location.lat", F_PLACE, FW_E_PLACE_RANGE},
	    {"location.lon", F_PLACE, FW_E_PLACE_RANGE},
	    {"location.uncertainty_m", F_PLACE, FW_E_PLACE_RANGE},
	    {"heading", F_HEADING, FW_E_HEADING},
	    {"destination", F_DESTINATION, FW_E_SHORT},
	    {"text", F_TEXT, FW_E_TEXT},
	    {"contact", F_CONTACT, FW_E_SHORT},
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(f, map[i].path) == 0) {
			set_error(st, map[i].field, map[i].key, p->message);
			return;
		}
	set_error(st, F_GENERAL, FW_E_BROKEN, p->message);
}

/* The zone of the "tz" field in seconds east of UTC; Minsk's when absent. */
static bool tz_offset(const request *rq, int *out)
{
	const char *tz = value_of(rq, "tz");
	*out = SL_LOCAL_UTC_OFFSET;
	if (!tz || !*tz)
		return true;
	for (size_t k = 0; k < N_TZ; k++)
		if (strcmp(tz, tz_values[k]) == 0) {
			*out = (tz_values[k][1] - '0') * 36000 +
			       (tz_values[k][2] - '0') * 3600;
			return true;
		}
	return false;
}

/* Makes rq->report from the fields; false with st's errors when it cannot. */
static bool build(request *rq, form_state *st)
{
	sl_server *srv = rq->srv;
	sl_lang lang = st->lang;
	sl_report *r = &rq->report;
	int64_t now = sl_time_now();
	sl_report_init(r, now);
	r->language = sl_lang_tag(lang);
	bool bad;

	const char *cat = value_of(rq, "category");
	if (!cat || !sl_category_from_name(cat, &r->category))
		set_error(st, F_CATEGORY, FW_E_CATEGORY, NULL);

	char *place = text_field(rq, F_PLACE, true, &bad);
	if (!place) {
		set_error(st, F_PLACE, bad ? FW_E_SHORT : FW_E_PLACE, NULL);
	} else {
		sl_place p;
		sl_err e = sl_place_resolve(srv->gazetteer, place, lang, &p);
		if (e == SL_EVALID) {
			set_error(st, F_PLACE, FW_E_PLACE_RANGE, NULL);
		} else if (e == SL_OK) {
			r->location.has_point = true;
			r->location.lat = p.lat;
			r->location.lon = p.lon;
			r->location.uncertainty_m = p.uncertainty_m;
			if (p.kind != SL_PLACE_COORDS)
				r->location.place = place;
		} else {
			r->location.place = place; /* kept as a name */
		}
	}

	int offset;
	const char *when = value_of(rq, "observed_at");
	if (!tz_offset(rq, &offset))
		set_error(st, F_TZ, FW_E_TZ, NULL);
	else if (!when ||
		 sl_time_parse_local(when, now, offset, &r->observed_at) != SL_OK)
		set_error(st, F_OBSERVED, FW_E_TIME_FORMAT, NULL);

	int rows[EQ_ROWS];
	r->equipment = sl_arena_alloc(rq->arena, EQ_ROWS * sizeof(sl_equipment));
	if (!r->equipment)
		return false;
	for (int row = 0; row < EQ_ROWS; row++) {
		char tn[24], cn[24], id[24];
		field_name(F_EQ_TYPE(row), tn, id);
		field_name(F_EQ_COUNT(row), cn, id);
		const char *type = value_of(rq, tn), *count = value_of(rq, cn);
		bool bad_model;
		char *model = text_field(rq, F_EQ_MODEL(row), true, &bad_model);
		bool has_type = type && *type,
		     has_count = count && strspn(count, " ") < strlen(count);
		if (!has_type && !has_count && !model && !bad_model)
			continue;
		sl_equipment *eq = &r->equipment[r->n_equipment];
		if (!has_type || !sl_equipment_type_from_name(type, &eq->type))
			set_error(st, F_EQ_TYPE(row), FW_E_TYPE, NULL);
		if (!has_count || !sl_count_parse(count, &eq->count, &eq->count_max))
			set_error(st, F_EQ_COUNT(row), FW_E_COUNT, NULL);
		if (bad_model)
			set_error(st, F_EQ_MODEL(row), FW_E_SHORT, NULL);
		eq->model = model;
		rows[r->n_equipment++] = row;
	}

	const char *heading = value_of(rq, "heading");
	if (heading && *heading) {
		r->has_heading = sl_heading_parse(heading, &r->heading_deg);
		if (!r->has_heading)
			set_error(st, F_HEADING, FW_E_HEADING, NULL);
	}
	r->destination = text_field(rq, F_DESTINATION, true, &bad);
	if (bad)
		set_error(st, F_DESTINATION, FW_E_SHORT, NULL);
	r->text = text_field(rq, F_TEXT, false, &bad);
	if (bad)
		set_error(st, F_TEXT, FW_E_TEXT, NULL);
	r->contact = text_field(rq, F_CONTACT, true, &bad);
	if (bad)
		set_error(st, F_CONTACT, FW_E_SHORT, NULL);

	/* What the post processor found wrong with the parts. */
	for (size_t i = 0; i < rq->parts.n; i++) {
		const char *f = rq->parts.items[i].field;
		if (strcmp(f, "photo") == 0)
			set_error(st, F_PHOTO, FW_E_PHOTO_COUNT, NULL);
		else if (strncmp(f, "photo[", 6) == 0)
			set_error(st, F_PHOTO, FW_E_PHOTO_SIZE, NULL);
		else
			set_error(st, F_GENERAL, FW_E_BROKEN, NULL);
	}
	if (st->n_errors)
		return false;
	sl_problems why = {0};
	if (sl_report_validate(r, now, &why) != SL_OK) {
		for (size_t i = 0; i < why.n; i++)
			map_problem(st, &why.items[i], rows, r->n_equipment);
		if (!st->n_errors)
			set_error(st, F_GENERAL, FW_E_BROKEN, NULL);
		return false;
	}
	return true;
}

static bool form_type_ok(struct MHD_Connection *c)
{
	const char *ct =
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	if (!ct)
		return false;
	static const char *const types[] = {FORM_URLENCODED, FORM_MULTIPART};
	for (size_t i = 0; i < 2; i++) {
		size_t n = strlen(types[i]);
		if (strncasecmp(ct, types[i], n) == 0 &&
		    (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' '))
			return true;
	}
	return false;
}

/* The first call of a form's POST: what can be refused from the headers
 * is refused here, as a page, before any body is read. */
static enum MHD_Result begin_post(sl_server *srv, struct MHD_Connection *c, req_kind kind,
				  void **con_cls)
{
	sl_lang lang = language(c, NULL);
	if (!sl_mod_form_origin_ok(c, "POST"))
		return message_page(c, lang, 403, FW_E_ORIGIN, 0);
	if (!form_type_ok(c))
		return message_page(c, lang, 415, FW_E_TYPE_FORM, 0);
	size_t cap = sl_intake_body_cap(srv, kind);
	const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl && strtoull(cl, NULL, 10) > cap)
		return message_page(c, lang, 413, FW_E_TOO_BIG, 0);
	unsigned retry = 0;
	if (kind == REQ_FORM && !sl_intake_rate_allows(srv, c, &retry))
		return message_page(c, lang, 429, FW_E_RATE, retry);
	request *rq = sl_intake_request_new(srv, c, kind);
	if (!rq)
		return message_page(c, lang, 400, FW_E_BROKEN, 0);
	if (!sl_intake_reserve_length(rq)) {
		sl_intake_free(rq);
		return message_page(c, lang, 503, FW_E_UNAVAILABLE, BUSY_RETRY_S);
	}
	*con_cls = rq;
	return MHD_YES;
}

/* ---- the receipt ---- */

/* The form again (or a message) for a report that could not be taken:
 * e as sl_intake_queue or an intake worker said it, why naming the photos
 * that cannot be used. */
static enum MHD_Result refused(request *rq, form_state *st, sl_err e,
			       const sl_problems *why)
{
	struct MHD_Connection *c = rq->conn;
	switch (e) {
	case SL_EVALID:
		for (size_t i = 0; why && i < why->n; i++)
			set_error(st, F_PHOTO, FW_E_PHOTO, why->items[i].message);
		return form_page(c, 422, rq, st, FW_COUNT, 0);
	case SL_ECLOSED:
		return form_page(c, 503, rq, st, FW_E_NO_MODERATORS, 60);
	case SL_EBUSY:
		return message_page(c, st->lang, 503, FW_E_UNAVAILABLE, BUSY_RETRY_S);
	case SL_ENOMEM:
		return message_page(c, st->lang, 503, FW_E_UNAVAILABLE, 5);
	default:
		return message_page(c, st->lang, 500, FW_E_UNAVAILABLE, 0);
	}
}

enum MHD_Result sl_form_committed(request *rq)
{
	struct MHD_Connection *c = rq->conn;
	sl_lang lang = language(c, rq);
	form_state *st = rq->form_state;
	if (rq->work_err != SL_OK && st)
		return refused(rq, st, rq->work_err, &rq->work_why);
	if (rq->commit_err == SL_EBUSY)
		return message_page(c, lang, 503, FW_E_UNAVAILABLE, BUSY_RETRY_S);
	if (rq->commit_err != SL_OK || rq->put_result != SL_PUT_INSERTED)
		return message_page(c, lang, 503, FW_E_UNAVAILABLE, 5);
	sl_html h;
	sl_html_init(&h, SL_HTML_MAX);
	page_open(&h, lang, W(FW_RECEIPT_TITLE), PATH_FORM);
	sl_html_raw(&h, "<p>");
	sl_html_text(&h, W(FW_RECEIPT_INTRO));
	sl_html_raw(&h, "</p>\n<p class=\"receipt\"><code id=\"receipt\">");
	sl_html_text(&h, rq->receipt);
	sl_html_raw(&h, "</code></p>\n<p id=\"receipt-how\">");
	sl_html_text(&h, W(FW_RECEIPT_HOW));
	sl_html_raw(&h, "</p>\n");
	const sl_location *loc = &rq->report.location;
	if (loc->place && !loc->has_point) {
		sl_html_raw(&h, "<p class=\"hint\" id=\"place-kept\">");
		sl_html_text(&h, W(FW_PLACE_KEPT));
		sl_html_text(&h, loc->place);
		sl_html_text(&h, W(FW_PLACE_KEPT_END));
		sl_html_raw(&h, "</p>\n");
	}
	sl_html_raw(&h, "<p class=\"hint\">");
	sl_html_text(&h, W(FW_RECEIPT_DEVICE));
	sl_html_raw(&h, "</p>\n");
	page_close(&h, lang, true, true);
	sodium_memzero(rq->receipt, sizeof(rq->receipt));
	return send_page(c, 200, &h, 0);
}

/* ---- the status page ---- */

/* The status page: the receipt's form (with the value kept and its error),
 * and, once a report is found, its status and the follow-up form. */
static enum MHD_Result status_page(struct MHD_Connection *c, sl_lang lang,
				   unsigned status, const char *receipt,
				   fw_key receipt_err, const sl_report_status *found,
				   fw_key add_msg, bool add_error, const char *add_text)
{
	sl_html h;
	sl_html_init(&h, SL_HTML_MAX);
	page_open(&h, lang, W(FW_STATUS_TITLE), PATH_STATUS);
	sl_html_rawf(
	    &h,
	    "<form method=\"post\" action=\"" PATH_STATUS "?lang=%s\" "
	    "id=\"status-form\" accept-charset=\"utf-8\">\n<input type=\"hidden\" "
	    "name=\"lang\" value=\"%s\">\n<label for=\"f-receipt\">",
	    sl_lang_tag(lang), sl_lang_tag(lang));
	sl_html_text(&h, W(FW_RECEIPT));
	sl_html_raw(&h,
		    "</label>\n<input type=\"text\" name=\"receipt\" id=\"f-receipt\" "
		    "required maxlength=\"80\" autocomplete=\"off\" "
		    "autocapitalize=\"none\" spellcheck=\"false\"");
	if (receipt_err != FW_COUNT)
		sl_html_raw(&h, " aria-invalid=\"true\" aria-describedby=\"e-receipt\"");
	if (receipt) {
		sl_html_raw(&h, " value=\"");
		sl_html_text(&h, receipt);
		sl_html_raw(&h, "\"");
	}
	sl_html_raw(&h, ">\n<p class=\"hint\">");
	sl_html_text(&h, W(FW_RECEIPT_HINT));
	sl_html_raw(&h, "</p>\n");
	if (receipt_err != FW_COUNT) {
		sl_html_raw(&h,
			    "<p class=\"field-error\" id=\"e-receipt\" role=\"alert\">");
		sl_html_text(&h, W(receipt_err));
		sl_html_raw(&h, "</p>\n");
	}
	sl_html_raw(&h, "<p><button type=\"submit\" id=\"check\">");
	sl_html_text(&h, W(FW_CHECK));
	sl_html_raw(&h, "</button></p>\n</form>\n");
	if (found) {
		sl_html_rawf(&h, "<p class=\"status\" id=\"status\" data-status=\"%s\">",
			     sl_status_name(*found));
		sl_html_text(&h, W(FW_STATUS_IS));
		sl_html_raw(&h, " <b>");
		sl_html_text(&h, sl_lang_status(lang, *found));
		sl_html_raw(&h, "</b></p>\n");
		if (add_msg != FW_COUNT) {
			sl_html_rawf(&h, "<p class=\"%s\" id=\"added\" role=\"%s\">",
				     add_error ? "field-error" : "done",
				     add_error ? "alert" : "status");
			sl_html_text(&h, W(add_msg));
			sl_html_raw(&h, "</p>\n");
		}
		sl_html_rawf(&h,
			     "<form method=\"post\" action=\"" PATH_STATUS "?lang=%s\" "
			     "id=\"add-form\" accept-charset=\"utf-8\">\n<input "
			     "type=\"hidden\" name=\"lang\" value=\"%s\">\n<input "
			     "type=\"hidden\" name=\"receipt\" value=\"",
			     sl_lang_tag(lang), sl_lang_tag(lang));
		sl_html_text(&h, receipt);
		sl_html_raw(&h, "\">\n<label for=\"f-add\">");
		sl_html_text(&h, W(FW_ADD));
		sl_html_raw(&h,
			    "</label>\n<textarea name=\"text\" id=\"f-add\" rows=\"4\" "
			    "maxlength=\"8000\">");
		sl_html_text(&h, add_error ? add_text : NULL);
		sl_html_raw(&h, "</textarea>\n<p><button type=\"submit\" id=\"add\">");
		sl_html_text(&h, W(FW_ADD_SEND));
		sl_html_raw(&h, "</button></p>\n</form>\n");
	}
	page_close(&h, lang, true, false);
	return send_page(c, status, &h, 0);
}

static enum MHD_Result status_post(request *rq, sl_lang lang)
{
	struct MHD_Connection *c = rq->conn;
	sl_server *srv = rq->srv;
	if (rq->too_big)
		return message_page(c, lang, 413, FW_E_TOO_BIG, 0);
	const char *receipt = value_of(rq, "receipt");
	const form_value *text = field(rq, "text");
	uint8_t hash[SL_RECEIPT_HASH_BYTES];
	if (!receipt || sl_receipt_hash(srv->key, receipt, hash) != SL_OK)
		return status_page(c, lang, 422, receipt, FW_E_RECEIPT, NULL, FW_COUNT,
				   false, NULL);
	sl_report_status st;
	sl_err e = sl_store_report_status(srv->store, hash, NULL, &st);
	if (e == SL_ENOTFOUND)
		return status_page(c, lang, 404, receipt, FW_E_RECEIPT_UNKNOWN, NULL,
				   FW_COUNT, false, NULL);
	if (e != SL_OK)
		return message_page(c, lang, 503, FW_E_UNAVAILABLE, 5);
	if (!text)
		return status_page(c, lang, 200, receipt, FW_COUNT, &st, FW_COUNT, false,
				   NULL);
	const char *t = text->value ? text->value : "";
	bool ok = text->len <= SL_REPORT_MAX_TEXT && strlen(t) == text->len &&
		  sl_utf8_text_ok(t, text->len) && strspn(t, " \t\r\n") < text->len;
	if (!ok)
		return status_page(c, lang, 422, receipt, FW_COUNT, &st, FW_E_ADD_EMPTY,
				   true, t);
	e = sl_intake_followup(srv, hash, t, text->len);
	if (e == SL_ECLOSED)
		return status_page(c, lang, 503, receipt, FW_COUNT, &st,
				   FW_E_NO_MODERATORS, true, t);
	if (e != SL_OK)
		return message_page(c, lang, 503, FW_E_UNAVAILABLE, 5);
	return status_page(c, lang, 201, receipt, FW_COUNT, &st, FW_ADDED, false, NULL);
}

/* ---- the whole body is in ---- */

enum MHD_Result sl_form_submit(request *rq)
{
	struct MHD_Connection *c = rq->conn;
	sl_lang lang = language(c, rq);
	if (rq->kind == REQ_FORM_STATUS)
		return status_post(rq, lang);
	if (rq->too_big)
		return message_page(c, lang, 413, FW_E_TOO_BIG, 0);
	if (rq->over_budget)
		return message_page(c, lang, 503, FW_E_UNAVAILABLE, BUSY_RETRY_S);
	form_state *st = NULL;
	if (!sl_intake_arena(rq) || !(st = sl_arena_alloc(rq->arena, sizeof(*st))))
		return message_page(c, lang, 503, FW_E_UNAVAILABLE, 5);
	memset(st, 0, sizeof(*st));
	st->lang = lang;
	/* Kept with the request: an intake worker's refusal (a photo) is
	 * shown on this form, with these errors, once the connection is
	 * resumed. */
	rq->form_state = st;
	st->photos_sent = rq->n_photos > 0;
	if (!build(rq, st))
		return form_page(c, 422, rq, st, FW_COUNT, 0);
	sl_err e = sl_intake_queue(rq);
	return e == SL_OK ? MHD_YES : refused(rq, st, e, NULL);
}

/* ---- routing ---- */

static bool is_get(const char *m)
{
	return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;
}

enum MHD_Result sl_form_serve(sl_server *srv, struct MHD_Connection *c, const char *url,
			      const char *method, void **con_cls)
{
	sl_lang lang = language(c, NULL);
	bool form = strcmp(url, PATH_FORM) == 0, status = strcmp(url, PATH_STATUS) == 0;
	if (!form && !status)
		return message_page(c, lang, 404, FW_E_NOT_FOUND, 0);
	if (strcmp(method, "POST") == 0)
		return begin_post(srv, c, form ? REQ_FORM : REQ_FORM_STATUS, con_cls);
	if (!is_get(method)) {
		sl_html h;
		sl_html_init(&h, SL_HTML_MAX);
		page_open(&h, lang, W(FW_ERROR_TITLE), url);
		sl_html_raw(&h, "<p class=\"error\" role=\"alert\" id=\"message\">");
		sl_html_text(&h, W(FW_E_METHOD));
		sl_html_raw(&h, "</p>\n");
		page_close(&h, lang, true, true);
		return sl_http_page(c, 405, &h, form_csp, 0, "GET, HEAD, POST");
	}
	if (status)
		return status_page(c, lang, 200, NULL, FW_COUNT, NULL, FW_COUNT, false,
				   NULL);
	form_state st = {.lang = lang};
	return form_page(c, 200, NULL, &st, FW_COUNT, 0);
}
