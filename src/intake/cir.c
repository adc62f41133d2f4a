/*
 * cir.c — the Centre for Information Resilience "Russia-Ukraine Monitor"
 * CSV, as reports.
 *
 * The CIR map is the largest public set of geolocated sightings from 2022
 * (6,650 rows, 165 in Belarus), so it is how a new deployment gets real
 * history, and how the engine is tested on real data. Its rows are
 * free-text incidents, not structured sightings: the category and the
 * equipment are read from the words of the title, the description and the
 * arms/munition column, by the rules documented (with the counts they give on
 * the real file) in docs/IMPORT.md. Change a word list there and here
 * together.
 *
 * Reading: libcsv parses; lines are fed to it one at a time so that every
 * record knows the line it starts on, although quoted fields may hold
 * newlines. Each record is capped (SL_IMPORT_MAX_RECORD), decoded into a
 * scratch arena, mapped, validated and handed to the import batch.
 */
#include <csv.h>
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "intake/import_int.h"
#include "sightline/timefmt.h"

/* ---- small text helpers ---- */

static bool is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* A word character for keyword boundaries: ASCII letters and digits, and
 * every byte of a multi-byte UTF-8 character (a letter in another script
 * must not make a boundary inside a word). */
static bool is_word(unsigned char c)
{
	return isalnum(c) || c >= 0x80;
}

/* s without leading and trailing white space: *len gets its length. */
static const char *trim(const char *s, size_t *len)
{
	size_t n = strlen(s);
	while (n && is_space((unsigned char)*s))
		s++, n--;
	while (n && is_space((unsigned char)s[n - 1]))
		n--;
	*len = n;
	return s;
}

/* The longest prefix of s (n bytes) that is at most max bytes and does not
 * end inside a UTF-8 character. */
static size_t utf8_cut(const char *s, size_t n, size_t max)
{
	if (n <= max)
		return n;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return n;
}

/* A field, trimmed, or "" when the record has no such column. */
static const char *field(const char *const *fields, size_t n, int col, size_t *len)
{
	if (col < 0 || (size_t)col >= n || !fields[col]) {
		*len = 0;
		return "";
	}
	return trim(fields[col], len);
}

/* A value quoted for an error message, cut short at a UTF-8 boundary. */
static void excerpt(const char *s, size_t n, char out[56])
{
	size_t cut = utf8_cut(s, n, 40);
	snprintf(out, 56, "\"%.*s%s\"", (int)cut, s, cut < n ? "..." : "");
}

/* FNV-1a, 64 bits: a stable fingerprint of a record's fields, used to name
 * records the source left without an id, and to tell repeated ids apart. */
static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

#define FNV_SEED 0xcbf29ce484222325ull

static uint64_t record_hash(const char *const *fields, size_t n)
{
	uint64_t h = FNV_SEED;
	for (size_t i = 0; i < n; i++) {
		const char *f = fields[i] ? fields[i] : "";
		h = fnv1a(h, f, strlen(f));
		h = fnv1a(h, "\x1f", 1);
	}
	return h;
}

/* ---- the header ---- */

static const struct {
	const char *name;
	size_t offset;
} column_names[] = {
    {"entry", offsetof(sl_cir_columns, entry)},
    {"date", offsetof(sl_cir_columns, date)},
    {"title", offsetof(sl_cir_columns, title)},
    {"brief description", offsetof(sl_cir_columns, description)},
    {"lat", offsetof(sl_cir_columns, lat)},
    {"lon", offsetof(sl_cir_columns, lon)},
    {"country", offsetof(sl_cir_columns, country)},
    {"province", offsetof(sl_cir_columns, province)},
    {"district", offsetof(sl_cir_columns, district)},
    {"town/city", offsetof(sl_cir_columns, town)},
    {"arms/munition", offsetof(sl_cir_columns, arms)},
    {"link", offsetof(sl_cir_columns, link)},
};

#define N_COLUMNS (sizeof(column_names) / sizeof(column_names[0]))

sl_err sl_cir_columns_from_header(const char *const *fields, size_t n,
				  sl_cir_columns *out, sl_problems *why)
{
	for (size_t c = 0; c < N_COLUMNS; c++)
		*(int *)((char *)out + column_names[c].offset) = -1;
	for (size_t i = 0; i < n && i < (size_t)INT32_MAX; i++) {
		if (!fields[i])
			continue;
		const char *f = fields[i];
		if (i == 0 && memcmp(f, "\xef\xbb\xbf", 3) == 0)
			f += 3; /* a UTF-8 byte order mark, as spreadsheets write */
		size_t len;
		f = trim(f, &len);
		for (size_t c = 0; c < N_COLUMNS; c++) {
			int *slot = (int *)((char *)out + column_names[c].offset);
			if (*slot < 0 && strlen(column_names[c].name) == len &&
			    strncasecmp(f, column_names[c].name, len) == 0)
				*slot = (int)i;
		}
	}
	for (size_t c = 0; c < N_COLUMNS; c++) {
		if (*(int *)((char *)out + column_names[c].offset) < 0) {
			sl_problems_add(why, "header", "has no column \"%s\"",
					column_names[c].name);
			return SL_EPARSE;
		}
	}
	return SL_OK;
}

/* ---- words: categories and equipment ---- */

/* A keyword matches at a word boundary on both sides; a trailing '*' lets
 * it be the start of a longer word ("t-72*" matches "T-72B3"). Keywords are
 * lower case; the text they are matched against is lowered and has its runs
 * of white space collapsed to one space. */
static size_t match_at(const char *hay, size_t len, size_t at, const char *kw)
{
	if (at > 0 && is_word((unsigned char)hay[at - 1]))
		return 0;
	size_t k = strlen(kw);
	bool prefix = k && kw[k - 1] == '*';
	if (prefix)
		k--;
	if (k == 0 || len - at < k || memcmp(hay + at, kw, k) != 0)
		return 0;
	size_t end = at + k;
	if (prefix) {
		while (end < len && (is_word((unsigned char)hay[end]) || hay[end] == '-'))
			end++;
		return end - at;
	}
	if (end < len && is_word((unsigned char)hay[end]))
		return 0;
	return k;
}

static bool contains_word(const char *hay, size_t len, const char *kw)
{
	for (size_t at = 0; at < len; at++) {
		if (hay[at] == kw[0] && match_at(hay, len, at, kw))
			return true;
	}
	return false;
}

static bool contains_any(const char *hay, size_t len, const char *const *kws)
{
	for (; *kws; kws++) {
		if (contains_word(hay, len, *kws))
			return true;
	}
	return false;
}

/* Words of an incident (a strike, its damage, casualties, combat, remains
 * of munitions): such a row reports what happened to a place, not a unit
 * seen, so it is "other" whatever vehicles it names. Most of the CIR rows
 * from Ukraine are these. */
static const char *const incident_words[] = {
    "damage",
    "damaged",
    "damages",
    "destroyed",
    "destruction",
    "destroying",
    "strike",
    "strikes",
    "struck",
    "striking",
    "airstrike",
    "airstrikes",
    "shelling",
    "shelled",
    "shell",
    "shells",
    "explosion",
    "explosions",
    "exploded",
    "fire",
    "fires",
    "burning",
    "burned",
    "burnt",
    "hit",
    "hits",
    "hitting",
    "attack",
    "attacks",
    "attacked",
    "aftermath",
    "casualties",
    "casualty",
    "casualtys",
    "dead",
    "deceased",
    "killed",
    "bombing",
    "bombed",
    "bombardment",
    "impact",
    "impacts",
    "impacted",
    "impacting",
    "ruins",
    "crater",
    "craters",
    "wreckage",
    "wreck",
    "shot down",
    "downed",
    "grave",
    "graves",
    "burial",
    "injured",
    "wounded",
    "bodies",
    "body",
    "debris",
    "remains",
    "remnants",
    "fragments",
    "embedded",
    "landed",
    "unexploded",
    "abandoned",
    "captured",
    "lost",
    "losses",
    "blown up",
    "collapsed",
    "targeted",
    "targeting",
    "assault",
    "shooting",
    "shot",
    "heavy fighting",
    "urban fighting",
    "street fighting",
    "firefight",
    "battle",
    "clashes",
    "crashed",
    "bomb",
    "bombs",
    "dropping",
    "drops",
    "gunfire",
    NULL,
};

static const char *const rail_words[] = {
    "train", "trains", "rail",	  "railway",  "railroad", "echelon",   "echelons",
    "wagon", "wagons", "flatcar", "flatcars", "platform", "platforms", NULL,
};
static const char *const missile_words[] = {
    "iskander*",
    "iskender*",
    "tochka*",
    "missile system",
    "missile systems",
    "missile launcher",
    "missile launchers",
    "missile launch",
    "ballistic missile",
    "ballistic missiles",
    NULL,
};
static const char *const air_defence_words[] = {
    "s-300*", "s300*",	"s-400*",      "s400*",	      "pantsir*",      "tor", "tor-m*",
    "buk",    "buk-m*", "air defence", "air defense", "anti-aircraft", NULL,
};
static const char *const helicopter_words[] = {
    "helicopter", "helicopters", "ka-52*", "ka52*", "mi-8*",
    "mi-24*",	  "mi-28*",	 "mi-35*", NULL,
};
static const char *const aircraft_words[] = {
    "aircraft",	   "aircrafts",	   "jet",	"jets",	   "plane",
    "planes",	   "warplane",	   "warplanes", "su-2*",   "su-3*",
    "fighter jet", "fighter jets", "bomber",	"bombers", "airfield",
    "airbase",	   "air base",	   "airstrip",	"il-76*",  NULL,
};
static const char *const naval_words[] = {
    "ship",  "ships",	  "vessel",  "vessels",	 "naval", "boat",
    "boats", "submarine", "warship", "warships", NULL,
};
static const char *const convoy_words[] = {
    "convoy",	   "convoys",	  "column",	  "columns",   "moving",  "moved",
    "on the move", "movement",	  "movements",	  "road",      "highway", "vehicles",
    "trucks",	   "transported", "transporting", "logistics", "driving", NULL,
};
static const char *const troops_words[] = {
    "troops",	      "troop",	    "soldier",	     "soldiers",
    "personnel",      "servicemen", "fighters",	     "forces",
    "military camp",  "camp",	    "military base", "base",
    "field hospital", NULL,
};
static const char *const fortification_words[] = {
    "trench",	      "trenches",	  "fortification",
    "fortifications", "fortified",	  "dug in",
    "earthworks",     "dugout",		  "dugouts",
    "checkpoint",     "checkpoints",	  "roadblock",
    "roadblocks",     "firing positions", "military positions",
    "entrenched",     "entrenching",	  NULL,
};

/* The priority order: the first category with a word in the text wins. */
static const struct {
	sl_category cat;
	const char *const *words;
} category_rules[] = {
    {SL_CAT_RAIL_TRANSPORT, rail_words},	 {SL_CAT_MISSILE_SYSTEM, missile_words},
    {SL_CAT_AIR_DEFENCE, air_defence_words},	 {SL_CAT_HELICOPTER, helicopter_words},
    {SL_CAT_AIRCRAFT, aircraft_words},		 {SL_CAT_NAVAL, naval_words},
    {SL_CAT_ROAD_CONVOY, convoy_words},		 {SL_CAT_TROOPS, troops_words},
    {SL_CAT_FORTIFICATION, fortification_words},
};

static sl_category categorize(const char *hay, size_t len)
{
	if (contains_any(hay, len, incident_words))
		return SL_CAT_OTHER;
	for (size_t i = 0; i < sizeof(category_rules) / sizeof(category_rules[0]); i++) {
		if (contains_any(hay, len, category_rules[i].words))
			return category_rules[i].cat;
	}
	return SL_CAT_OTHER;
}

#define EQ_NONE (-1) /* a phrase that looks like equipment but is not */

/* Equipment words. model marks the name of a model, kept (as written in the
 * source) in the item's model. The longest match at a position wins, so the
 * EQ_NONE phrases ("fuel tank", "anti-tank") hide the words inside them. */
static const struct {
	const char *word;
	int type;
	bool model;
} equipment_words[] = {
    {"tank", SL_EQ_TANK, false},
    {"tanks", SL_EQ_TANK, false},
    {"mbt", SL_EQ_TANK, false},
    {"mbts", SL_EQ_TANK, false},
    {"t-62*", SL_EQ_TANK, true},
    {"t-64*", SL_EQ_TANK, true},
    {"t-72*", SL_EQ_TANK, true},
    {"t72*", SL_EQ_TANK, true},
    {"t-80*", SL_EQ_TANK, true},
    {"t-90*", SL_EQ_TANK, true},
    {"fuel tank", EQ_NONE, false},
    {"fuel tanks", EQ_NONE, false},
    {"oil tank", EQ_NONE, false},
    {"oil tanks", EQ_NONE, false},
    {"water tank", EQ_NONE, false},
    {"water tanks", EQ_NONE, false},
    {"gas tank", EQ_NONE, false},
    {"storage tank", EQ_NONE, false},
    {"storage tanks", EQ_NONE, false},
    {"tank farm", EQ_NONE, false},
    {"anti-tank", EQ_NONE, false},
    {"ifv", SL_EQ_IFV, false},
    {"ifvs", SL_EQ_IFV, false},
    {"bmp*", SL_EQ_IFV, true},
    {"bmd*", SL_EQ_IFV, true},
    {"infantry fighting vehicle", SL_EQ_IFV, false},
    {"infantry fighting vehicles", SL_EQ_IFV, false},
    {"apc", SL_EQ_APC, false},
    {"apcs", SL_EQ_APC, false},
    {"btr*", SL_EQ_APC, true},
    {"mt-lb*", SL_EQ_APC, true},
    {"mtlb*", SL_EQ_APC, true},
    {"armoured personnel carrier", SL_EQ_APC, false},
    {"armoured personnel carriers", SL_EQ_APC, false},
    {"armored personnel carrier", SL_EQ_APC, false},
    {"armored personnel carriers", SL_EQ_APC, false},
    {"personnel carriers", SL_EQ_APC, false},
    {"artillery", SL_EQ_ARTILLERY, false},
    {"howitzer", SL_EQ_ARTILLERY, false},
    {"howitzers", SL_EQ_ARTILLERY, false},
    {"self-propelled gun", SL_EQ_ARTILLERY, false},
    {"self-propelled guns", SL_EQ_ARTILLERY, false},
    {"msta*", SL_EQ_ARTILLERY, true},
    {"gvozdika", SL_EQ_ARTILLERY, true},
    {"akatsiya", SL_EQ_ARTILLERY, true},
    {"giatsint*", SL_EQ_ARTILLERY, true},
    {"2s1", SL_EQ_ARTILLERY, true},
    {"2s3", SL_EQ_ARTILLERY, true},
    {"2s5*", SL_EQ_ARTILLERY, true},
    {"2s19*", SL_EQ_ARTILLERY, true},
    {"mlrs", SL_EQ_MLRS, false},
    {"mrls", SL_EQ_MLRS, false},
    {"multiple rocket launcher", SL_EQ_MLRS, false},
    {"multiple rocket launchers", SL_EQ_MLRS, false},
    {"multiple launch rocket", SL_EQ_MLRS, false},
    {"grad", SL_EQ_MLRS, true},
    {"grads", SL_EQ_MLRS, false},
    {"bm-21*", SL_EQ_MLRS, true},
    {"uragan", SL_EQ_MLRS, true},
    {"bm-27*", SL_EQ_MLRS, true},
    {"smerch", SL_EQ_MLRS, true},
    {"bm-30*", SL_EQ_MLRS, true},
    {"tornado*", SL_EQ_MLRS, true},
    {"tos-1*", SL_EQ_MLRS, true},
    {"iskander*", SL_EQ_MISSILE_LAUNCHER, true},
    {"iskender*", SL_EQ_MISSILE_LAUNCHER, true},
    {"tochka*", SL_EQ_MISSILE_LAUNCHER, true},
    {"s-300*", SL_EQ_AIR_DEFENCE, true},
    {"s300*", SL_EQ_AIR_DEFENCE, true},
    {"s-400*", SL_EQ_AIR_DEFENCE, true},
    {"s400*", SL_EQ_AIR_DEFENCE, true},
    {"pantsir*", SL_EQ_AIR_DEFENCE, true},
    {"tor", SL_EQ_AIR_DEFENCE, true},
    {"tor-m*", SL_EQ_AIR_DEFENCE, true},
    {"buk", SL_EQ_AIR_DEFENCE, true},
    {"buk-m*", SL_EQ_AIR_DEFENCE, true},
    {"osa*", SL_EQ_AIR_DEFENCE, true},
    {"strela-10*", SL_EQ_AIR_DEFENCE, true},
    {"anti-aircraft", SL_EQ_AIR_DEFENCE, false},
    {"air defence system", SL_EQ_AIR_DEFENCE, false},
    {"air defence systems", SL_EQ_AIR_DEFENCE, false},
    {"air defense system", SL_EQ_AIR_DEFENCE, false},
    {"air defense systems", SL_EQ_AIR_DEFENCE, false},
    {"truck", SL_EQ_TRUCK, false},
    {"trucks", SL_EQ_TRUCK, false},
    {"lorry", SL_EQ_TRUCK, false},
    {"lorries", SL_EQ_TRUCK, false},
    {"kamaz*", SL_EQ_TRUCK, true},
    {"ural", SL_EQ_TRUCK, true},
    {"ural-*", SL_EQ_TRUCK, true},
    {"maz", SL_EQ_TRUCK, true},
    {"fuel truck", SL_EQ_FUEL_TRUCK, false},
    {"fuel trucks", SL_EQ_FUEL_TRUCK, false},
    {"fuel tanker", SL_EQ_FUEL_TRUCK, false},
    {"fuel tankers", SL_EQ_FUEL_TRUCK, false},
    {"tanker", SL_EQ_FUEL_TRUCK, false},
    {"tankers", SL_EQ_FUEL_TRUCK, false},
    {"pontoon", SL_EQ_ENGINEERING, false},
    {"pontoons", SL_EQ_ENGINEERING, false},
    {"command vehicle", SL_EQ_COMMAND, false},
    {"command vehicles", SL_EQ_COMMAND, false},
    {"helicopter", SL_EQ_HELICOPTER, false},
    {"helicopters", SL_EQ_HELICOPTER, false},
    {"ka-52*", SL_EQ_HELICOPTER, true},
    {"ka52*", SL_EQ_HELICOPTER, true},
    {"mi-8*", SL_EQ_HELICOPTER, true},
    {"mi-24*", SL_EQ_HELICOPTER, true},
    {"mi-26*", SL_EQ_HELICOPTER, true},
    {"mi-28*", SL_EQ_HELICOPTER, true},
    {"mi-35*", SL_EQ_HELICOPTER, true},
    {"aircraft", SL_EQ_AIRCRAFT, false},
    {"aircrafts", SL_EQ_AIRCRAFT, false},
    {"jet", SL_EQ_AIRCRAFT, false},
    {"jets", SL_EQ_AIRCRAFT, false},
    {"fighter jet", SL_EQ_AIRCRAFT, false},
    {"fighter jets", SL_EQ_AIRCRAFT, false},
    {"plane", SL_EQ_AIRCRAFT, false},
    {"planes", SL_EQ_AIRCRAFT, false},
    {"warplane", SL_EQ_AIRCRAFT, false},
    {"warplanes", SL_EQ_AIRCRAFT, false},
    {"bomber", SL_EQ_AIRCRAFT, false},
    {"bombers", SL_EQ_AIRCRAFT, false},
    {"su-2*", SL_EQ_AIRCRAFT, true},
    {"su-3*", SL_EQ_AIRCRAFT, true},
    {"il-76*", SL_EQ_AIRCRAFT, true},
};

#define N_EQUIPMENT_WORDS (sizeof(equipment_words) / sizeof(equipment_words[0]))

static const char *const number_words[] = {
    "one",   "two",   "three", "four", "five",	 "six",
    "seven", "eight", "nine",  "ten",  "eleven", "twelve",
};

/* The count written just before a match at at: "15 tanks", "12x 2S3",
 * "two Il-76". 0 when there is none. A number that is part of a date or a
 * code ("24/02/2022 tanks", "Sentinel-2 ...") does not count. */
static int32_t count_before(const char *hay, size_t at)
{
	if (at < 2 || hay[at - 1] != ' ')
		return 0;
	size_t end = at - 1, start = end;
	while (start > 0 && is_word((unsigned char)hay[start - 1]))
		start--;
	if (start == end || end - start > 12)
		return 0;
	if (start > 0 && hay[start - 1] != ' ' && hay[start - 1] != '(' &&
	    hay[start - 1] != ',')
		return 0;
	const char *w = hay + start;
	size_t n = end - start;
	for (size_t i = 0; i < sizeof(number_words) / sizeof(number_words[0]); i++) {
		if (strlen(number_words[i]) == n && memcmp(w, number_words[i], n) == 0)
			return (int32_t)i + 1;
	}
	if (n > 1 && w[n - 1] == 'x')
		n--;
	if (n > 6)
		return 0;
	int32_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)w[i]))
			return 0;
		v = v * 10 + (w[i] - '0');
	}
	/* "Obr. 2016 tank" names a year; "Su 25 aircraft" a model. */
	if (v >= 1900 && v <= 2099)
		return 0;
	if (start >= 2 && hay[start - 1] == ' ') {
		static const char *const designators[] = {
		    "su", "mi",	 "ka",	"t",   "bm",  "il", "tu",  "an", "tos",
		    "s",  "mig", "yak", "btr", "bmp", "no", "no.", "#",
		};
		size_t pe = start - 1, ps = pe;
		while (ps > 0 && hay[ps - 1] != ' ')
			ps--;
		for (size_t i = 0; i < sizeof(designators) / sizeof(designators[0]);
		     i++) {
			if (strlen(designators[i]) == pe - ps &&
			    memcmp(hay + ps, designators[i], pe - ps) == 0)
				return 0;
		}
	}
	return v >= 1 && v <= SL_REPORT_MAX_COUNT ? v : 0;
}

/* A count written after a name, as in inventories: "BMP-2: 8+3+25". */
static int32_t count_after(const char *hay, size_t len, size_t end)
{
	if (len - end < 3 || hay[end] != ':' || hay[end + 1] != ' ')
		return 0;
	size_t p = end + 2;
	int64_t sum = 0, term = 0;
	bool digits = false;
	for (; p < len; p++) {
		if (isdigit((unsigned char)hay[p])) {
			term = term * 10 + (hay[p] - '0');
			digits = true;
			if (term > SL_REPORT_MAX_COUNT)
				return 0;
		} else if (hay[p] == '+' && digits) {
			sum += term;
			term = 0;
			digits = false;
		} else {
			break;
		}
	}
	if (!digits || (p < len && is_word((unsigned char)hay[p])))
		return 0;
	sum += term;
	return sum >= 1 && sum <= SL_REPORT_MAX_COUNT ? (int32_t)sum : 0;
}

typedef struct eq_item {
	sl_equipment_type type;
	const char *model; /* into the original text; model_len bytes */
	size_t model_len;
	int32_t count;
	bool explicit_count;
} eq_item;

static bool same_model(const eq_item *it, const char *model, size_t len)
{
	if (!it->model || !model)
		return !it->model && !model;
	return it->model_len == len && strncasecmp(it->model, model, len) == 0;
}

/* Merges one mention into the items: a second mention of what is already
 * listed raises its count to the larger one instead of adding an item, so
 * "12 T-72 tanks" is one item of 12, and "7x BM-27 Uragan" one of 7. */
static void add_mention(eq_item *items, size_t *n, sl_equipment_type type,
			const char *model, size_t model_len, int32_t count)
{
	bool has_count = count > 0;
	if (!has_count)
		count = 1;
	for (size_t i = 0; i < *n; i++) {
		eq_item *it = &items[i];
		if (it->type != type)
			continue;
		if (same_model(it, model, model_len) ||
		    ((!it->model || !model) && (!it->explicit_count || !has_count))) {
			if (!it->model && model) {
				it->model = model;
				it->model_len = model_len;
			}
			if (count > it->count)
				it->count = count;
			it->explicit_count |= has_count;
			return;
		}
	}
	if (!has_count) {
		for (size_t i = 0; i < *n; i++) {
			if (items[i].type == type)
				return; /* already counted, with its own model */
		}
	}
	if (*n >= SL_REPORT_MAX_EQUIPMENT)
		return;
	items[(*n)++] = (eq_item){type, model, model_len, count, has_count};
}

/* Scans the text for equipment words; orig is the same text before
 * lowering, where models are copied from. */
static size_t find_equipment(const char *hay, const char *orig, size_t len,
			     eq_item items[SL_REPORT_MAX_EQUIPMENT])
{
	size_t n = 0;
	size_t at = 0;
	while (at < len) {
		if (!is_word((unsigned char)hay[at]) ||
		    (at > 0 && is_word((unsigned char)hay[at - 1]))) {
			at++;
			continue;
		}
		size_t best = 0, best_len = 0;
		for (size_t k = 0; k < N_EQUIPMENT_WORDS; k++) {
			if (equipment_words[k].word[0] != hay[at])
				continue;
			size_t m = match_at(hay, len, at, equipment_words[k].word);
			if (m > best_len) {
				best_len = m;
				best = k;
			}
		}
		if (!best_len) {
			at++;
			continue;
		}
		if (equipment_words[best].type != EQ_NONE) {
			const char *model = NULL;
			size_t model_len = 0;
			if (equipment_words[best].model && best_len <= 40) {
				model = orig + at;
				model_len = best_len;
				/* "BMP3s", "Ka52s": the plural is not the model */
				char last = model[model_len - 1],
				     prev = model[model_len - 2];
				if (model_len > 3 && last == 's' &&
				    (isdigit((unsigned char)prev) ||
				     isupper((unsigned char)prev)))
					model_len--;
			}
			int32_t count = count_before(hay, at);
			if (!count)
				count = count_after(hay, len, at + best_len);
			add_mention(items, &n,
				    (sl_equipment_type)equipment_words[best].type, model,
				    model_len, count);
		}
		at += best_len;
	}
	return n;
}

/* "moving south", "heading north-east", "headed to the west". */
static const char *const motion_words[] = {
    "moving",	  "heading",   "headed", "going", "driving",
    "travelling", "traveling", "moves",	 "heads", NULL,
};

static bool find_heading(const char *hay, size_t len, double *deg)
{
	static const struct {
		const char *word;
		double deg;
	} dirs[] = {
	    {"north-east", 45},	 {"north east", 45},  {"northeast", 45},
	    {"south-east", 135}, {"south east", 135}, {"southeast", 135},
	    {"south-west", 225}, {"south west", 225}, {"southwest", 225},
	    {"north-west", 315}, {"north west", 315}, {"northwest", 315},
	    {"north", 0},	 {"east", 90},	      {"south", 180},
	    {"west", 270},
	};
	for (const char *const *m = motion_words; *m; m++) {
		for (size_t at = 0; at < len; at++) {
			size_t k = match_at(hay, len, at, *m);
			if (!k)
				continue;
			size_t p = at + k;
			if (p < len && hay[p] == ' ')
				p++;
			if (len - p > 7 && memcmp(hay + p, "to the ", 7) == 0)
				p += 7;
			for (size_t d = 0; d < sizeof(dirs) / sizeof(dirs[0]); d++) {
				if (match_at(hay, len, p, dirs[d].word)) {
					*deg = dirs[d].deg;
					return true;
				}
			}
		}
	}
	return false;
}

/* ---- one record ---- */

/* YYYY-MM-DD, strictly, and a real day. */
static bool parse_date(const char *s, size_t n, int64_t *out)
{
	if (n != 10)
		return false;
	for (size_t i = 0; i < 10; i++) {
		bool ok = (i == 4 || i == 7) ? s[i] == '-' : isdigit((unsigned char)s[i]);
		if (!ok)
			return false;
	}
	char buf[32];
	snprintf(buf, sizeof(buf), "%.10sT00:00:00Z", s);
	return sl_time_parse(buf, out) == SL_OK;
}

static bool parse_coord(const char *name, const char *s, size_t n, double lo, double hi,
			double *out, sl_problems *why)
{
	char ex[56];
	if (n == 0) {
		sl_problems_add(why, name, "is empty");
		return false;
	}
	excerpt(s, n, ex);
	char buf[64];
	if (n >= sizeof(buf) || strspn(s, "+-0123456789.eE") < n) {
		sl_problems_add(why, name, "%s is not a number", ex);
		return false;
	}
	memcpy(buf, s, n);
	buf[n] = '\0';
	char *end;
	double v = strtod(buf, &end);
	if (end != buf + n || !isfinite(v)) {
		sl_problems_add(why, name, "%s is not a number", ex);
		return false;
	}
	if (v < lo || v > hi) {
		sl_problems_add(why, name, "%s is outside %g..%g", ex, lo, hi);
		return false;
	}
	*out = v;
	return true;
}

/* parts joined by sep, skipping empty ones, into the arena; NULL when all
 * are empty (or out of memory: *nomem). Cut to max bytes at a UTF-8
 * boundary. */
static char *join(sl_arena *a, const char *const *parts, const size_t *lens, size_t n,
		  const char *sep, size_t max, bool *nomem)
{
	size_t total = 0, seplen = strlen(sep);
	for (size_t i = 0; i < n; i++)
		total += lens[i] + seplen;
	if (total == 0)
		return NULL;
	char *out = sl_arena_alloc(a, total + 1);
	if (!out) {
		*nomem = true;
		return NULL;
	}
	size_t used = 0;
	for (size_t i = 0; i < n; i++) {
		if (!lens[i])
			continue;
		if (used) {
			memcpy(out + used, sep, seplen);
			used += seplen;
		}
		memcpy(out + used, parts[i], lens[i]);
		used += lens[i];
	}
	if (used == 0)
		return NULL;
	used = utf8_cut(out, used, max);
	out[used] = '\0';
	return out;
}

/* The text the words are read from: title, description and arms, lowered
 * (hay) and as written (orig), white space collapsed in both so that their
 * offsets agree. */
static bool words_text(sl_arena *a, const char *const *parts, const size_t *lens,
		       size_t n, char **hay, char **orig, size_t *len)
{
	size_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += lens[i] + 1;
	*hay = sl_arena_alloc(a, total + 1);
	*orig = sl_arena_alloc(a, total + 1);
	if (!*hay || !*orig)
		return false;
	size_t used = 0;
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < lens[i]; j++) {
			unsigned char c = (unsigned char)parts[i][j];
			if (is_space(c)) {
				if (used && (*orig)[used - 1] == ' ')
					continue;
				c = ' ';
			}
			(*orig)[used] = (char)c;
			(*hay)[used] = (char)tolower(c);
			used++;
		}
		if (used && (*orig)[used - 1] != ' ') {
			(*orig)[used] = (*hay)[used] = ' ';
			used++;
		}
	}
	(*hay)[used] = (*orig)[used] = '\0';
	*len = used;
	return true;
}

sl_err sl_cir_record_to_report(const sl_cir_columns *cols, const char *const *fields,
			       size_t n, int64_t now, sl_arena *a, sl_report *out,
			       sl_problems *why)
{
	if (!cols || !fields || !a || !out || !why)
		return SL_EINVAL;
	memset(out, 0, sizeof(*out));
	size_t before = why->n + why->dropped;
	bool nomem = false;
	char ex[56];
	size_t len;
	const char *s;

	/* when: the whole day of the date column, up to now */
	s = field(fields, n, cols->date, &len);
	int64_t day = 0;
	if (len == 0) {
		sl_problems_add(why, "date", "is empty");
	} else if (!parse_date(s, len, &day)) {
		excerpt(s, len, ex);
		sl_problems_add(why, "date", "%s is not a date (YYYY-MM-DD)", ex);
	} else {
		out->observed_at = day;
		out->has_until = true;
		out->observed_until = day + 86399;
		if (out->observed_until > now && day <= now)
			out->observed_until = now;
	}

	/* where */
	size_t lat_len, lon_len;
	const char *lat = field(fields, n, cols->lat, &lat_len);
	const char *lon = field(fields, n, cols->lon, &lon_len);
	bool lat_ok = parse_coord("lat", lat, lat_len, -90, 90, &out->location.lat, why);
	bool lon_ok =
	    parse_coord("lon", lon, lon_len, -180, 180, &out->location.lon, why);
	if (lat_ok && lon_ok) {
		out->location.has_point = true;
		out->location.uncertainty_m = SL_REPORT_DEFAULT_UNCERTAINTY;
	}
	const char *place[4];
	size_t place_len[4];
	place[0] = field(fields, n, cols->town, &place_len[0]);
	place[1] = field(fields, n, cols->district, &place_len[1]);
	place[2] = field(fields, n, cols->province, &place_len[2]);
	place[3] = field(fields, n, cols->country, &place_len[3]);
	out->location.place =
	    join(a, place, place_len, 4, ", ", SL_REPORT_MAX_SHORT, &nomem);

	/* what: the text, and the words in it */
	const char *text[3];
	size_t text_len[3];
	size_t title_len, desc_len, link_len, arms_len;
	const char *title = field(fields, n, cols->title, &title_len);
	const char *desc = field(fields, n, cols->description, &desc_len);
	const char *link = field(fields, n, cols->link, &link_len);
	const char *arms = field(fields, n, cols->arms, &arms_len);
	text[0] = title;
	text_len[0] = title_len;
	text[1] = desc;
	/* Most rows repeat the title as the description: say it once. */
	text_len[1] =
	    desc_len == title_len && memcmp(desc, title, desc_len) == 0 ? 0 : desc_len;
	char *source = NULL;
	if (link_len) {
		source = sl_arena_alloc(a, link_len + 9);
		if (source)
			snprintf(source, link_len + 9, "Source: %.*s", (int)link_len,
				 link);
		else
			nomem = true;
	}
	text[2] = source ? source : "";
	text_len[2] = source ? strlen(source) : 0;
	out->text = join(a, text, text_len, 3, "\n", SL_REPORT_MAX_TEXT, &nomem);

	const char *words[3] = {title, desc, arms};
	size_t words_len[3] = {title_len, desc_len, arms_len};
	char *hay, *orig;
	size_t hay_len;
	eq_item items[SL_REPORT_MAX_EQUIPMENT];
	size_t n_items = 0;
	if (words_text(a, words, words_len, 3, &hay, &orig, &hay_len)) {
		out->category = categorize(hay, hay_len);
		n_items = find_equipment(hay, orig, hay_len, items);
		out->has_heading = find_heading(hay, hay_len, &out->heading_deg);
	} else {
		nomem = true;
	}
	if (n_items) {
		out->equipment = sl_arena_alloc(a, n_items * sizeof(*out->equipment));
		if (!out->equipment)
			nomem = true;
	}
	for (size_t i = 0; out->equipment && i < n_items; i++) {
		sl_equipment *e = &out->equipment[out->n_equipment++];
		e->type = items[i].type;
		e->count = items[i].count;
		if (items[i].model) {
			e->model =
			    sl_arena_strndup(a, items[i].model, items[i].model_len);
			if (!e->model)
				nomem = true;
		}
	}

	/* who said it: the source's id, or a fingerprint when it has none */
	s = field(fields, n, cols->entry, &len);
	if (len) {
		out->ref = sl_arena_strndup(a, s, len);
	} else {
		char *ref = sl_arena_alloc(a, 24);
		if (ref)
			snprintf(ref, 24, "cir-%016llx",
				 (unsigned long long)record_hash(fields, n));
		out->ref = ref;
	}
	if (!out->ref)
		nomem = true;
	out->language = "en";
	out->status = SL_STATUS_RECEIVED;
	out->received_at = now - now % 60;

	if (nomem)
		return SL_ENOMEM;
	if (why->n + why->dropped > before)
		return SL_EVALID;
	return sl_report_validate(out, now, why);
}

/* ---- the reader ---- */

/* Ids the source used more than once, by a 64-bit hash of the id, each with
 * the fingerprint of the first record that used it. Bounded: beyond
 * SEEN_MAX ids a repeat is no longer noticed (and then stored once). */
#define SEEN_MAX (1u << 20)

typedef struct seen_entry {
	uint64_t id_hash, record_hash; /* id_hash 0: an empty slot */
} seen_entry;

typedef struct seen_set {
	seen_entry *slots;
	size_t size, used;
} seen_set;

static seen_entry *seen_find(seen_set *s, uint64_t id_hash)
{
	size_t mask = s->size - 1;
	for (size_t i = id_hash & mask;; i = (i + 1) & mask) {
		if (s->slots[i].id_hash == id_hash || s->slots[i].id_hash == 0)
			return &s->slots[i];
	}
}

/* The fingerprint of the first record with this id; records this one as
 * the first when it is. false only when out of memory. */
static bool seen_first(seen_set *s, uint64_t id_hash, uint64_t rec_hash, uint64_t *first)
{
	*first = rec_hash;
	if (id_hash == 0)
		id_hash = 1;
	if (s->used * 2 >= s->size && s->size < 2 * SEEN_MAX) {
		size_t size = s->size ? s->size * 2 : 1024;
		seen_entry *old = s->slots;
		size_t old_size = s->size;
		s->slots = calloc(size, sizeof(*s->slots));
		if (!s->slots) {
			s->slots = old;
			return false;
		}
		s->size = size;
		for (size_t i = 0; i < old_size; i++) {
			if (old[i].id_hash)
				*seen_find(s, old[i].id_hash) = old[i];
		}
		free(old);
	}
	seen_entry *e = seen_find(s, id_hash);
	if (e->id_hash) {
		*first = e->record_hash;
	} else if (s->used * 2 < s->size) { /* at the cap, only look */
		e->id_hash = id_hash;
		e->record_hash = rec_hash;
		s->used++;
	}
	return true;
}

#define MAX_FIELDS 64

typedef struct cir_reader {
	sl_import_batch *b;
	int64_t now;
	sl_arena *scratch;
	/* the record being parsed */
	long start;   /* the line it starts on */
	long feeding; /* the line being handed to libcsv */
	size_t bytes; /* bytes fed for it so far */
	const char *fields[MAX_FIELDS];
	size_t n_fields; /* may exceed MAX_FIELDS: only counted then */
	bool bad_nul;
	bool nomem;
	/* the file */
	bool have_header;
	size_t header_fields;
	sl_cir_columns cols;
	seen_set seen;
	sl_err err; /* a failure that stops the import */
} cir_reader;

static void on_field(void *s, size_t len, void *ud)
{
	cir_reader *r = ud;
	/* A record that began after a bare CR (libcsv ends records there)
	 * starts on the line that is being fed. */
	if (!r->start)
		r->start = r->feeding;
	if (r->n_fields < MAX_FIELDS) {
		const char *src = s ? s : "";
		if (s && memchr(src, '\0', len))
			r->bad_nul = true;
		char *copy = sl_arena_strndup(r->scratch, src, s ? len : 0);
		if (!copy)
			r->nomem = true;
		r->fields[r->n_fields] = copy ? copy : "";
	}
	r->n_fields++;
}

static void end_record(cir_reader *r)
{
	r->n_fields = 0;
	r->bad_nul = false;
	r->nomem = false;
	r->start = 0;
	r->bytes = 0;
	sl_arena_reset(r->scratch);
}

static void take_record(cir_reader *r)
{
	sl_problems why = {0};
	long line = r->start ? r->start : r->feeding;
	size_t n = r->n_fields < MAX_FIELDS ? r->n_fields : MAX_FIELDS;

	if (!r->have_header) {
		if (sl_cir_columns_from_header(r->fields, n, &r->cols, &why) != SL_OK) {
			char msg[512];
			sl_problems_format(&why, msg, sizeof(msg));
			sl_import_batch_tell(r->b, line, msg);
			r->err = SL_EPARSE;
			return;
		}
		r->have_header = true;
		r->header_fields = r->n_fields;
		return;
	}
	sl_import_batch_count(r->b);
	if (r->nomem) {
		sl_import_batch_reject(r->b, line, "record is too large to decode");
		return;
	}
	if (r->bad_nul) {
		sl_import_batch_reject(r->b, line, "record contains a NUL byte");
		return;
	}
	if (r->n_fields != r->header_fields) {
		char msg[96];
		snprintf(msg, sizeof(msg), "record has %zu fields; the header has %zu",
			 r->n_fields, r->header_fields);
		sl_import_batch_reject(r->b, line, msg);
		return;
	}
	sl_report rep;
	sl_err err = sl_cir_record_to_report(&r->cols, r->fields, n, r->now, r->scratch,
					     &rep, &why);
	if (err == SL_ENOMEM) {
		sl_import_batch_reject(r->b, line, "record is too large to decode");
		return;
	}
	if (err != SL_OK) {
		sl_import_batch_reject_problems(r->b, line, &why);
		return;
	}
	/* An id the source used before, on a different record, names a
	 * different sighting: keep both, the later as "ID#fingerprint". The
	 * same record repeated keeps the id, and the store skips it. */
	size_t idlen;
	const char *id = field(r->fields, n, r->cols.entry, &idlen);
	if (idlen) {
		uint64_t rec = record_hash(r->fields, n), first;
		if (!seen_first(&r->seen, fnv1a(FNV_SEED, id, idlen), rec, &first)) {
			r->err = SL_ENOMEM;
			return;
		}
		if (first != rec) {
			size_t size = idlen + 18;
			char *ref = sl_arena_alloc(r->scratch, size);
			if (!ref) {
				sl_import_batch_reject(r->b, line,
						       "record is too large to decode");
				return;
			}
			snprintf(ref, size, "%.*s#%016llx", (int)idlen, id,
				 (unsigned long long)rec);
			rep.ref = ref;
			if (sl_report_validate(&rep, r->now, &why) != SL_OK) {
				sl_import_batch_reject_problems(r->b, line, &why);
				return;
			}
		}
	}
	r->err = sl_import_batch_add(r->b, &rep, line);
}

static void on_record(int c, void *ud)
{
	(void)c;
	cir_reader *r = ud;
	if (r->err == SL_OK)
		take_record(r);
	end_record(r);
}

static bool blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!is_space((unsigned char)s[i]))
			return false;
	}
	return true;
}

static const unsigned char CSV_OPTIONS = CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL;

/* Drops the record being parsed (after a quoting error or at its cap) and
 * starts a fresh parser at the next line. */
static sl_err resync(cir_reader *r, struct csv_parser *p, const char *why)
{
	if (r->have_header) {
		sl_import_batch_count(r->b);
		sl_import_batch_reject(r->b, r->start, why);
	} else {
		sl_import_batch_tell(r->b, r->start, why);
		r->err = SL_EPARSE;
	}
	end_record(r);
	csv_free(p);
	if (csv_init(p, CSV_OPTIONS) != 0)
		return SL_ENOMEM;
	return r->err;
}

sl_err sl_import_cir_csv(sl_import_batch *b, FILE *in, int64_t now)
{
	cir_reader r = {.b = b, .now = now};
	struct csv_parser p;
	sl_line_reader lr;
	sl_err err = SL_OK;

	r.scratch = sl_arena_new(SL_IMPORT_SCRATCH_CAP);
	if (!r.scratch)
		return SL_ENOMEM;
	if (csv_init(&p, CSV_OPTIONS) != 0) {
		sl_arena_free(r.scratch);
		return SL_ENOMEM;
	}
	sl_line_reader_init(&lr, in, SL_IMPORT_MAX_RECORD);
	for (;;) {
		int got = sl_line_reader_next(&lr, &err);
		if (got <= 0)
			break;
		if (lr.too_long) {
			if (!r.start)
				r.start = lr.line;
			err = resync(&r, &p, "record is longer than 1 MiB");
			if (err)
				break;
			continue;
		}
		if (!r.start) {
			if (blank(lr.buf, lr.len))
				continue;
			r.start = lr.line;
		}
		r.bytes += lr.len + 1;
		if (r.bytes > SL_IMPORT_MAX_RECORD) {
			err = resync(&r, &p,
				     "record is longer than 1 MiB (a quote left open?)");
			if (err)
				break;
			continue;
		}
		/* The newline goes back in: inside quotes it is part of the
		 * field, outside it ends the record. */
		lr.buf[lr.len] = '\n';
		r.feeding = lr.line;
		size_t fed = csv_parse(&p, lr.buf, lr.len + 1, on_field, on_record, &r);
		lr.buf[lr.len] = '\0';
		if (r.err) {
			err = r.err;
			break;
		}
		if (fed != lr.len + 1) {
			if (csv_error(&p) != CSV_EPARSE) {
				err = SL_ENOMEM;
				break;
			}
			err = resync(&r, &p,
				     "malformed quoting (a '\"' inside an "
				     "unquoted field, or text after a closing quote)");
			if (err)
				break;
		}
	}
	if (err == SL_OK) {
		if (csv_fini(&p, on_field, on_record, &r) != 0 && r.start) {
			err = resync(&r, &p, "the file ends inside a quoted field");
		}
		if (err == SL_OK)
			err = r.err;
	}
	if (err == SL_OK && !r.have_header) {
		sl_import_batch_tell(b, 1, "the file is empty: no header");
		err = SL_EPARSE;
	}
	csv_free(&p);
	sl_line_reader_free(&lr);
	sl_arena_free(r.scratch);
	free(r.seen.slots);
	return err;
}
