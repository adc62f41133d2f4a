/*
 * report_json.h — reports to and from JSON (jansson).
 *
 * The JSON form is the one documented in docs/API.md and shared by the HTTP
 * API, jsonl import and export. Decoding is strict: unknown fields, wrong
 * types, invalid UTF-8 and duplicate keys are refused with a reason naming
 * the field, and the decoded report is then checked by sl_report_validate.
 */
#ifndef SIGHTLINE_REPORT_JSON_H
#define SIGHTLINE_REPORT_JSON_H

#include <jansson.h>

#include "sightline/arena.h"
#include "sightline/report.h"

enum {
	/* Accept the fields the server sets (id, status, received_at), as an
	 * export contains them; status and received_at are kept, id ignored.
	 * Without this flag they are refused like any unknown field. */
	SL_JSON_SERVER_FIELDS = 1u << 0,
};

/* Decodes and validates one report from buf (len bytes of JSON text).
 * Strings of *out live in a. On failure why says what was wrong:
 * SL_EPARSE (not JSON: malformed, invalid UTF-8, duplicate keys, too deep),
 * SL_EVALID (JSON but not a valid report), SL_ENOMEM (arena cap reached). */
sl_err sl_report_from_json_text(const char *buf, size_t len, unsigned flags,
				int64_t now, sl_arena *a, sl_report *out,
				sl_problems *why);

/* The same for an already parsed JSON value. */
sl_err sl_report_from_json(const json_t *root, unsigned flags, int64_t now,
			   sl_arena *a, sl_report *out, sl_problems *why);

/* The JSON form of r. With SL_JSON_SERVER_FIELDS it also carries id, status
 * and received_at. Caller owns the result (json_decref); NULL when out of
 * memory. */
json_t *sl_report_to_json(const sl_report *r, unsigned flags);

#endif
