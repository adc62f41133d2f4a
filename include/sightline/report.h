/*
 * report.h — the report model: one informant's sighting.
 *
 * A report says when (a time window), where (a point with an uncertainty
 * radius, or a place name), what (a category and equipment items), which way
 * it was going, and free text. This header holds the plain value structs, the
 * closed vocabularies (categories, equipment types, statuses) and the rules a
 * report must satisfy whatever its source: the JSON API, an import, a form.
 * Decoding JSON into a report lives in report_json.h.
 *
 * Strings in a report are borrowed: they point into the arena of whoever
 * decoded it (a request, an imported line, a store row) and live as long as it.
 */
#ifndef SIGHTLINE_REPORT_H
#define SIGHTLINE_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sightline/err.h"

typedef enum sl_category {
	SL_CAT_RAIL_TRANSPORT,
	SL_CAT_ROAD_CONVOY,
	SL_CAT_AIRCRAFT,
	SL_CAT_HELICOPTER,
	SL_CAT_TROOPS,
	SL_CAT_AIR_DEFENCE,
	SL_CAT_MISSILE_SYSTEM,
	SL_CAT_NAVAL,
	SL_CAT_FORTIFICATION,
	SL_CAT_OTHER,
	SL_CAT_COUNT
} sl_category;

typedef enum sl_equipment_type {
	SL_EQ_TANK,
	SL_EQ_IFV,
	SL_EQ_APC,
	SL_EQ_ARTILLERY,
	SL_EQ_MLRS,
	SL_EQ_AIR_DEFENCE,
	SL_EQ_MISSILE_LAUNCHER,
	SL_EQ_TRUCK,
	SL_EQ_FUEL_TRUCK,
	SL_EQ_ENGINEERING,
	SL_EQ_COMMAND,
	SL_EQ_HELICOPTER,
	SL_EQ_AIRCRAFT,
	SL_EQ_OTHER,
	SL_EQ_COUNT
} sl_equipment_type;

typedef enum sl_report_status {
	SL_STATUS_RECEIVED,
	SL_STATUS_UNDER_REVIEW,
	SL_STATUS_VERIFIED,
	SL_STATUS_REJECTED,
	SL_STATUS_COUNT
} sl_report_status;

/* Limits of the model; validation enforces them and docs/API.md lists them. */
#define SL_REPORT_MAX_EQUIPMENT 32
#define SL_REPORT_MAX_COUNT 100000
#define SL_REPORT_MAX_TEXT 8000       /* bytes of UTF-8 */
#define SL_REPORT_MAX_SHORT 200       /* place, destination, contact, model, ref */
#define SL_REPORT_MAX_WINDOW (14 * 86400) /* observed_until - observed_at */
#define SL_REPORT_FUTURE_SLACK 600    /* seconds an observation may lie ahead */
#define SL_REPORT_MIN_TIME 946684800  /* 2000-01-01T00:00:00Z */
#define SL_REPORT_MAX_UNCERTAINTY 100000.0 /* metres */
#define SL_REPORT_DEFAULT_UNCERTAINTY 1000.0

typedef struct sl_equipment {
	sl_equipment_type type;
	const char *model;  /* optional, NULL when absent */
	int32_t count;      /* 1..SL_REPORT_MAX_COUNT; the lower bound of a range */
	int32_t count_max;  /* 0 when absent, else count..SL_REPORT_MAX_COUNT */
} sl_equipment;

typedef struct sl_location {
	bool has_point;        /* lat/lon/uncertainty_m are meaningful */
	double lat, lon;       /* WGS 84 degrees */
	double uncertainty_m;  /* radius, metres */
	const char *place;     /* a place name; NULL when absent */
} sl_location;

/* What a sealed item holds (seal.h says how it is sealed). */
typedef enum sl_sealed_kind {
	SL_SEALED_CONTENT,  /* the report's text and contact, as JSON */
	SL_SEALED_PHOTO,    /* one cleaned photo, JPEG */
	SL_SEALED_FOLLOWUP, /* a follow-up the informant sent with the receipt */
	SL_SEALED_NOTE,     /* a moderator's note (it may quote the informant) */
	SL_SEALED_KIND_COUNT
} sl_sealed_kind;

#define SL_WRAPPED_KEY_BYTES 80 /* an item key sealed to one moderator */

/* One sealed part of a report: ciphertext under a fresh item key, and that
 * key wrapped for each moderator who may open it (moderator_ids[i] has
 * wrapped[i * SL_WRAPPED_KEY_BYTES ...]). Nothing here opens without a
 * moderator's secret key. */
typedef struct sl_sealed {
	int64_t id;           /* 0 until stored */
	sl_sealed_kind kind;
	int64_t created_at;   /* Unix seconds rounded down to the minute */
	int64_t author_id;    /* a note's moderator, in clear; 0 for other kinds */
	const uint8_t *cipher;
	size_t cipher_len;
	size_t n_keys;
	const int64_t *moderator_ids;
	const uint8_t *wrapped;
} sl_sealed;

typedef struct sl_report {
	int64_t id;               /* 0 until stored */
	sl_category category;
	int64_t observed_at;      /* Unix seconds, UTC */
	bool has_until;
	int64_t observed_until;   /* meaningful when has_until */
	sl_location location;
	size_t n_equipment;
	sl_equipment *equipment;  /* n_equipment items */
	bool has_heading;
	double heading_deg;       /* 0 <= h < 360, 0 = north, clockwise */
	const char *destination;  /* each optional: NULL when absent */
	const char *text;         /* sensitive: never stored in clear (sealed) */
	const char *contact;      /* sensitive: never stored in clear (sealed) */
	const char *language;
	const char *ref;
	/* The sensitive parts, sealed (intake/sealing.h): stored with the report
	 * in the same transaction. */
	size_t n_sealed;
	sl_sealed *sealed;
	/* Set by the server, never by the informant. */
	sl_report_status status;
	int64_t received_at;      /* Unix seconds rounded down to the minute */
	bool has_receipt;
	uint8_t receipt_hash[32]; /* keyed hash of the receipt (receipt.h) */
} sl_report;

/* Clears r to a new report as intake makes it: status received, arrival
 * at now rounded down to the minute, every optional field absent. */
void sl_report_init(sl_report *r, int64_t now);

/* One reason an input was refused: which field and why, in words for a user.
 * field is a JSON path such as "equipment[2].count", or "" for the whole. */
typedef struct sl_field_error {
	char field[64];
	char message[200];
} sl_field_error;

#define SL_PROBLEMS_MAX 16

/* The reasons collected while decoding or validating one input. */
typedef struct sl_problems {
	size_t n;
	size_t dropped; /* reasons beyond SL_PROBLEMS_MAX, counted only */
	sl_field_error items[SL_PROBLEMS_MAX];
} sl_problems;

/* Adds a reason, printf-style. Never fails: beyond the cap it only counts. */
void sl_problems_add(sl_problems *p, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* "field: message; field: message ..." into buf (always NUL-terminated). */
void sl_problems_format(const sl_problems *p, char *buf, size_t size);

/* Names as used on the wire ("rail_transport", "tank", "received"); the
 * *_from_name functions return false for unknown names. */
const char *sl_category_name(sl_category c);
bool sl_category_from_name(const char *name, sl_category *out);
const char *sl_equipment_type_name(sl_equipment_type t);
bool sl_equipment_type_from_name(const char *name, sl_equipment_type *out);
const char *sl_status_name(sl_report_status s);
const char *sl_sealed_kind_name(sl_sealed_kind k);
bool sl_sealed_kind_from_name(const char *name, sl_sealed_kind *out);
bool sl_status_from_name(const char *name, sl_report_status *out);

/* A heading given as a compass word ("N", "ne", "north-east", "WSW") or as
 * decimal degrees ("45", "270.5"); false when it is neither. */
bool sl_heading_parse(const char *s, double *deg /* OUT */);

/* A count as an informant types it: "12", "10-15" (also with an en dash,
 * an em dash or ".."), "20+" (at least 20), "~20" or "около 20" (about
 * 20, taken as 20), spaces around it ignored. *count_max is 0 unless a
 * range was given. false for anything else, and for a count outside
 * 1..SL_REPORT_MAX_COUNT or a range whose end is below its start. */
bool sl_count_parse(const char *s, int32_t *count /* OUT */,
		    int32_t *count_max /* OUT */);

/* Checks every rule of the model against r, adding one reason per broken
 * rule to why. now is the server's clock (Unix seconds), for the "not in the
 * future" rule. Returns SL_OK or SL_EVALID. */
sl_err sl_report_validate(const sl_report *r, int64_t now, sl_problems *why);

/* True when s is n bytes of valid UTF-8 without NUL or other C0 controls
 * except tab, newline and carriage return. */
bool sl_utf8_text_ok(const char *s, size_t n);

#endif
