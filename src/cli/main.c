/*
 * main.c — the `sightline` command.
 *
 *   sightline serve   --data DIR --listen HOST:PORT   the HTTP API
 *                     [--store postgresql://...]      (every command that
 *                                                     takes --data takes it)
 *   sightline import  --data DIR --format F FILE      bulk intake
 *   sightline export  --data DIR --what reports|events|tracks  as JSON lines
 *   sightline evaluate --truth FILE --events FILE    grouping accuracy
 *   sightline summary --period day|week|month        movements by direction
 *   sightline audit verify | show                      the audit log
 *   sightline simulate --seed N --hours H --out F      a report stream with truth
 *   sightline version | help [COMMAND]
 *
 * Every option can also come from a JSON config file (--config FILE, or
 * DIR/sightline.json when present) whose keys are the long option names;
 * options on the command line win. Nothing needs a config to start.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sightline/event_json.h"
#include "sightline/import.h"
#include "sightline/media.h"
#include "sightline/receipt.h"
#include "sightline/server.h"
#include "sightline/store.h"
#include "sightline/timefmt.h"
#include "sightline/track_json.h"

#include "cli/cli.h"
#include "sl_config.h"



typedef struct command command;

/* One option of one command: its long name, whether it takes a value, and
 * the help line. Each command lists the ones it accepts. */
typedef struct option_doc {
	const char *name;
	bool has_arg;
	const char *help;
} option_doc;

struct command {
	const char *name;
	const char *usage;
	const char *summary;
	const option_doc *opts;
	int (*run)(options *o, int argc, char **argv);
};

int fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("sightline: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return 2;
}

static bool parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	if (!s || !*s || *s == '-')
		return false;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return false;
	*out = v;
	return true;
}

static bool parse_double(const char *s, double *out)
{
	if (!s || !*s)
		return false;
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || *end || v < 0 || v > 1e9)
		return false;
	*out = v;
	return true;
}

/* "127.0.0.1:8080", "[::1]:8080", "localhost:0" into host (size bytes)
 * and *port. */
static bool parse_host_port(const char *s, char *host, size_t size, uint16_t *port)
{
	const char *colon = strrchr(s, ':');
	if (!colon || colon == s)
		return false;
	const char *h = s;
	size_t hl = (size_t)(colon - s);
	if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']')
		h++, hl -= 2;
	if (hl == 0 || hl >= size)
		return false;
	unsigned long long p;
	if (!parse_uint(colon + 1, 65535, &p))
		return false;
	memcpy(host, h, hl);
	host[hl] = '\0';
	*port = (uint16_t)p;
	return true;
}

/* --listen: the HTTP server's address. */
static bool parse_listen(options *o, const char *s)
{
	if (!parse_host_port(s, o->host, sizeof(o->host), &o->server.port))
		return false;
	o->server.host = o->host;
	return true;
}

/* --cot-listen: the CoT stream's, in the same forms. */
static bool parse_cot_listen(options *o, const char *s)
{
	if (!parse_host_port(s, o->cot_host, sizeof(o->cot_host), &o->server.cot_port))
		return false;
	o->server.cot_host = o->cot_host;
	return true;
}

/* Applies one option by its long name; the same path for flags and config.
 * Returns 0, or 2 after saying what is wrong. */
static int set_option(options *o, const char *name, const char *value)
{
	unsigned long long u;
	double d;
	sl_server_config *s = &o->server;
#define UINT_OPT(key, field, max)                                                  \
	if (strcmp(name, key) == 0) {                                              \
		if (!parse_uint(value, max, &u))                                   \
			return fail("--%s: \"%s\" is not a whole number in 0..%llu", \
				    name, value, (unsigned long long)(max));       \
		field = u;                                                         \
		return 0;                                                          \
	}
#define RATE_OPT(key, field)                                                       \
	if (strcmp(name, key) == 0) {                                              \
		if (!parse_double(value, &d))                                      \
			return fail("--%s: \"%s\" is not a non-negative number", name, \
				    value);                                        \
		field = d;                                                         \
		return 0;                                                          \
	}
	if (strcmp(name, "data") == 0)
		o->data = value;
	else if (strcmp(name, "store") == 0)
		o->store = value;
	else if (strcmp(name, "config") == 0)
		o->config = value;
	else if (strcmp(name, "format") == 0)
		o->format = value;
	else if (strcmp(name, "what") == 0)
		o->what = value;
	else if (strcmp(name, "out") == 0)
		o->out = value;
	else if (strcmp(name, "role") == 0)
		o->role = value;
	else if (strcmp(name, "passphrase-file") == 0)
		o->passphrase_file = value;
	else if (strcmp(name, "since") == 0)
		o->since = value;
	else if (strcmp(name, "admin") == 0)
		o->admin = value;
	else if (strcmp(name, "moderator") == 0)
		o->moderator = value;
	else if (strcmp(name, "photos") == 0)
		o->photos = value;
	else if (strcmp(name, "web") == 0)
		o->server.web_root = value;
	else if (strcmp(name, "telegram-token-file") == 0)
		o->server.telegram_token_file = value;
	else if (strcmp(name, "telegram-secret-file") == 0)
		o->server.telegram_secret_file = value;
	else if (strcmp(name, "telegram-api-base") == 0)
		o->server.telegram_api_base = value;
	else if (strcmp(name, "secure-cookies") == 0)
		o->server.secure_cookies = true;
	else if (strcmp(name, "all") == 0)
		o->all = true;
	else if (strcmp(name, "quiet") == 0)
		o->quiet = true;
	else if (strcmp(name, "expect-head") == 0)
		o->expect_head = value;
	else if (strcmp(name, "events") == 0)
		o->events_file = value;
	else if (strcmp(name, "tracks") == 0)
		o->tracks_file = value;
	else if (strcmp(name, "borders") == 0)
		o->borders = value;
	else if (strcmp(name, "train-speed") == 0) {
		if (!parse_double(value, &d) || d < 10 || d > 400)
			return fail("--train-speed: \"%s\" is not a speed in 10..400 km/h",
				    value);
		o->train_speed_kmh = d;
	}
	else if (strcmp(name, "period") == 0)
		o->period = value;
	else if (strcmp(name, "from") == 0)
		o->from = value;
	else if (strcmp(name, "to") == 0)
		o->to = value;
	else if (strcmp(name, "category") == 0)
		o->category = value;
	else if (strcmp(name, "listen") == 0) {
		if (!parse_listen(o, value))
			return fail("--listen: \"%s\" is not HOST:PORT", value);
	} else if (strcmp(name, "cot-listen") == 0) {
		if (!parse_cot_listen(o, value))
			return fail("--cot-listen: \"%s\" is not HOST:PORT", value);
	} else if (simulate_option(o, name, value)) {
		/* kept as given; simulate.c parses and checks it */
	} else {
		UINT_OPT("threads", s->threads, 64)
		UINT_OPT("max-connections", s->conn_limit, 100000)
		UINT_OPT("timeout", s->conn_timeout_s, 3600)
		UINT_OPT("header-timeout", s->header_timeout_s, 3600)
		UINT_OPT("body-timeout", s->body_timeout_s, 3600)
		UINT_OPT("min-body-rate", s->min_body_rate, 1u << 30)
		UINT_OPT("max-body", s->body_cap, 16u << 20)
		UINT_OPT("max-photo", s->photo_cap, 64u << 20)
		UINT_OPT("retention-days", s->retention_days, 36500)
		UINT_OPT("queue", s->queue_cap, 1u << 20)
		UINT_OPT("batch", s->batch_max, 1u << 16)
		UINT_OPT("intake-workers", s->intake_workers, 64)
		UINT_OPT("intake-queue", s->intake_queue, 1u << 20)
		UINT_OPT("intake-wait", s->intake_wait_ms, 3600000)
		UINT_OPT("upload-budget", s->upload_budget, (size_t)1 << 40)
		UINT_OPT("session-idle", s->session_idle_s, 86400)
		UINT_OPT("session-max", s->session_max_s, 7 * 86400)
		UINT_OPT("engine-interval", s->engine_interval_ms, 3600000)
		UINT_OPT("publish-interval", s->publish_interval_ms, 3600000)
		UINT_OPT("cot-buffer", s->cot_client_buffer, 64u << 20)
		UINT_OPT("webhook-backoff", s->webhook_backoff_ms, 3600000)
		UINT_OPT("webhook-timeout", s->webhook_timeout_s, 300)
		UINT_OPT("telegram-conversations", s->telegram_conversations, 1000000)
		UINT_OPT("telegram-timeout", s->telegram_timeout_s, 86400)
		UINT_OPT("telegram-workers", s->telegram_workers, 64)
		UINT_OPT("telegram-reports", s->telegram_reports, 100000)
		UINT_OPT("limit", o->limit, 1000000000)
		RATE_OPT("rate-per-client", s->rate.per_client_per_min)
		RATE_OPT("rate-burst", s->rate.per_client_burst)
		RATE_OPT("rate-global", s->rate.global_per_sec)
		RATE_OPT("global-burst", s->rate.global_burst)
		return fail("unknown option --%s", name);
	}
	return 0;
#undef UINT_OPT
#undef RATE_OPT
}

#define TRACK_OPTS                                                                       \
	{"network", true, "FILE    rail lines the tracker routes trains on, GeoJSON (default: none, straight lines)"}, \
	{"stations", true, "FILE   stations, TSV: places by name (form, bot) and border crossings"}, \
	{"borders", true, "FILE    country borders, TopoJSON or GeoJSON (default: " SL_BORDERS_DEFAULT_PATH " when present; none)"}, \
	{"train-speed", true, "KMH  the fastest a train is linked at, 10..400 (default: 90)"}

static const option_doc serve_opts[] = {
	{"data", true, "DIR             where everything the server writes lives (default: var/data)"},
	{"store", true, "URL            the database: postgresql://... shared by several servers (docs/SCALING.md), or sqlite (default: DIR/sightline.db)"},
	{"config", true, "FILE          a JSON file of options, keys as the long names"},
	{"listen", true, "HOST:PORT     address to serve (default: 127.0.0.1:8080; port 0 = any)"},
	{"threads", true, "N            worker threads (default: 2)"},
	{"max-connections", true, "N    open connections at most (default: 1000)"},
	{"timeout", true, "SECONDS      idle connection timeout (default: 30)"},
	{"header-timeout", true, "SECONDS request line and headers must be in this long after the connection opens (default: 10; 0 = off)"},
	{"body-timeout", true, "SECONDS  a request body may stall this long (default: 20; 0 = off)"},
	{"min-body-rate", true, "BYTES   a request body must average this many bytes a second (default: 512; 0 = off)"},
	{"max-body", true, "BYTES       largest report body (default: 65536)"},
	{"max-photo", true, "BYTES      largest photo, five at most (default: 10485760)"},
	{"retention-days", true, "N     purge sealed text and photos after N days, 0 = never (default: 30)"},
	{"queue", true, "N              reports waiting for commit at most (default: 4096)"},
	{"batch", true, "N              reports in one transaction at most (default: 512)"},
	{"intake-workers", true, "N     threads that clean photos and seal reports (default: 2)"},
	{"intake-queue", true, "N       reports waiting to be sealed at most; beyond it 503 (default: 1024)"},
	{"intake-wait", true, "MS        once the oldest waiting report has waited this long, 503 (default: 5000; 0 = no limit)"},
	{"upload-budget", true, "BYTES  request bodies held in memory at once, all together; beyond it 503 (default: 268435456; 0 = no limit)"},
	{"rate-per-client", true, "N    reports per minute per client, 0 = off (default: 20)"},
	{"rate-burst", true, "N         per-client burst (default: 20)"},
	{"rate-global", true, "N        reports per second in all, 0 = off (default: 500)"},
	{"global-burst", true, "N       global burst (default: 1000)"},
	{"session-idle", true, "SECONDS a moderator's session ends after this long unused (default: 1800)"},
	{"session-max", true, "SECONDS  a moderator's session ends after this long in any case (default: 43200)"},
	{"web", true, "DIR              the moderator console's files, served at /mod (default: web)"},
	{"secure-cookies", false, "     mark the session cookie Secure (behind a TLS proxy)"},
	{"engine-interval", true, "MS   how often events follow new reports and changes, 0 = no engine here (default: 1000)"},
	{"publish-interval", true, "MS  how often the public picture follows the events (default: 1000)"},
	{"cot-listen", true, "HOST:PORT  stream published events as CoT to TAK clients over TCP (e.g. 0.0.0.0:8087)"},
	{"cot-buffer", true, "BYTES     queued for one TAK client before it is dropped as too slow (default: 262144)"},
	{"webhook-backoff", true, "MS   first retry of a failed webhook delivery, doubled each time (default: 5000)"},
	{"webhook-timeout", true, "SECONDS a webhook receiver has to answer, 0 = the default (default: 10)"},
	{"telegram-token-file", true, "FILE  the Telegram bot's token (first line); with the secret, the bot is on"},
	{"telegram-secret-file", true, "FILE the webhook's secret token (first line), as given to setWebhook"},
	{"telegram-api-base", true, "URL    the Bot API (default: https://api.telegram.org)"},
	{"telegram-conversations", true, "N conversations at once at most (default: 1000)"},
	{"telegram-timeout", true, "SECONDS a conversation is forgotten this long after its last message (default: 1800)"},
	{"telegram-workers", true, "N     threads that talk to the Bot API (default: 2)"},
	{"telegram-reports", true, "N     reports one chat may send per timeout (default: 10)"},
	TRACK_OPTS,
	{NULL, false, NULL},
};

static const option_doc import_opts[] = {
	{"data", true, "DIR        the data directory (default: var/data)"},
	{"store", true, "URL       the database: postgresql://... (docs/SCALING.md), or sqlite (default: DIR/sightline.db)"},
	{"config", true, "FILE     a JSON file of options"},
	{"format", true, "F        jsonl | cir-csv | demo (demo takes no FILE)"},
	{"quiet", false, "         print only the summary, not each rejected record"},
	TRACK_OPTS,
	{NULL, false, NULL},
};

static const option_doc export_opts[] = {
	{"data", true, "DIR        the data directory (default: var/data)"},
	{"store", true, "URL       the database: postgresql://... (docs/SCALING.md), or sqlite (default: DIR/sightline.db)"},
	{"config", true, "FILE     a JSON file of options"},
	{"what", true, "reports|events|tracks  what to export (default: reports)"},
	{"format", true, "jsonl    one JSON object per line (the default)"},
	{"out", true, "FILE        write there instead of standard output"},
	TRACK_OPTS,
	{NULL, false, NULL},
};

static const option_doc summary_opts[] = {
	{"data", true, "DIR        the data directory (default: var/data)"},
	{"config", true, "FILE     a JSON file of options"},
	{"period", true, "day|week|month  the periods counted in (default: day)"},
	{"from", true, "TIME       tracks first seen at or after TIME, RFC 3339"},
	{"to", true, "TIME         ... and before TIME"},
	{"category", true, "C      what moves (default: rail_transport)"},
	{"format", true, "text|json  a table, or the API's JSON (default: text)"},
	TRACK_OPTS,
	{NULL, false, NULL},
};

#define PASS_OPT {"passphrase-file", true, "FILE  read the passphrase from FILE's first line (scripts)"}
#define DATA_OPTS                                                              \
	{"data", true, "DIR        the data directory (default: var/data)"},       \
	{"store", true, "URL       the database: postgresql://..., or sqlite (default)"}, \
	{"config", true, "FILE     a JSON file of options"}

static const option_doc mod_add_opts[] = {
	DATA_OPTS,
	{"role", true, "admin|moderator  what they may do (default: moderator)"},
	PASS_OPT,
	{NULL, false, NULL},
};

static const option_doc data_only_opts[] = {
	DATA_OPTS,
	{NULL, false, NULL},
};

static const option_doc share_opts[] = {
	DATA_OPTS,
	{"since", true, "DATE      share items sealed on or after DATE (YYYY-MM-DD)"},
	{"admin", true, "NAME      the admin whose key opens them (asks their passphrase)"},
	PASS_OPT,
	{NULL, false, NULL},
};

static const option_doc unseal_opts[] = {
	DATA_OPTS,
	{"moderator", true, "NAME  whose key opens it (asks their passphrase)"},
	{"photos", true, "DIR      write the report's photos there"},
	PASS_OPT,
	{NULL, false, NULL},
};

static const option_doc purge_opts[] = {
	DATA_OPTS,
	{"retention-days", true, "N  purge sealed items older than N days (default: 30)"},
	{"all", false, "            purge every sealed item, whatever its age"},
	{NULL, false, NULL},
};

static const option_doc audit_verify_opts[] = {
	DATA_OPTS,
	{"expect-head", true, "HEX  a head noted earlier: fail unless it is still in the log"},
	{NULL, false, NULL},
};

static const option_doc audit_show_opts[] = {
	DATA_OPTS,
	{"limit", true, "N         the last N entries, 0 = all (default: 20)"},
	{NULL, false, NULL},
};

static const option_doc evaluate_opts[] = {
	{"truth", true, "FILE      the simulator's ground truth (simulate --truth)"},
	{"events", true, "FILE     events as export --what events writes them"},
	{"tracks", true, "FILE     tracks as export --what tracks writes them"},
	{NULL, false, NULL},
};

static const option_doc simulate_opts[] = {
	{"config", true, "FILE     a JSON file of options"},
	{"seed", true, "N          the seed: the same seed, the same output (default: 1)"},
	{"hours", true, "H         hours observed (default: 24)"},
	{"start", true, "TIME      start, RFC 3339 (default: 2022-10-10T00:00:00Z)"},
	{"scale", true, "X         multiplies the number of objects (default: 1)"},
	{"out", true, "FILE        the reports, one JSON line each (default: standard output)"},
	{"truth", true, "FILE      what each report saw, by ref (default: not written)"},
	{"network", true, "FILE    rail lines, GeoJSON (default: a generated network)"},
	{"stations", true, "FILE   stations, TSV (default: the generated network's)"},
	{"airfields", true, "FILE  airfields, OurAirports CSV (default: built in)"},
	{"objects", true, "FILE    the real objects, one JSON line each (default: generated)"},
	{"text", false, "          give each report a short free text"},
	{"quiet", false, "         no summary on standard error"},
	{NULL, false, NULL},
};

static const option_doc media_opts[] = {
	{NULL, false, NULL},
};

static void print_help(const command *cmd, FILE *f)
{
	fprintf(f, "usage: sightline %s\n\n%s\n", cmd->usage, cmd->summary);
	if (cmd->opts) {
		fputs("\noptions:\n", f);
		for (const option_doc *d = cmd->opts; d->name; d++)
			fprintf(f, "  --%s %s\n", d->name, d->help);
		fputs("  --help              this text\n", f);
	}
}

/* Loads the JSON config file into o, through set_option. */
static int load_config(options *o, const command *cmd, const char *path, bool must)
{
	if (!must && access(path, R_OK) != 0)
		return 0;
	json_error_t err;
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
	if (!root)
		return fail("%s:%d: %s", path, err.line, err.text);
	if (!json_is_object(root)) {
		json_decref(root);
		return fail("%s: expected a JSON object of options", path);
	}
	const char *key;
	json_t *v;
	int rc = 0;
	json_object_foreach(root, key, v) {
		bool known = false;
		for (const option_doc *d = cmd->opts; d && d->name; d++)
			known |= strcmp(d->name, key) == 0;
		if (!known || strcmp(key, "config") == 0) {
			rc = fail("%s: \"%s\" is not an option of sightline %s", path, key,
				  cmd->name);
			break;
		}
		char buf[64];
		const char *value = buf;
		if (json_is_string(v))
			value = json_string_value(v);
		else if (json_is_integer(v))
			snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		else if (json_is_real(v))
			snprintf(buf, sizeof(buf), "%.17g", json_real_value(v));
		else if (json_is_true(v))
			snprintf(buf, sizeof(buf), "true");
		else {
			rc = fail("%s: \"%s\" must be a string or a number", path, key);
			break;
		}
		/* Strings from the file must outlive it: options keep pointers. */
		char *copy = o->n_owned < 32 ? strdup(value) : NULL;
		if (!copy) {
			rc = fail("%s: too many options", path);
			break;
		}
		o->owned[o->n_owned++] = copy;
		if ((rc = set_option(o, key, copy)) != 0)
			break;
	}
	json_decref(root);
	return rc;
}

/* Parses argv for cmd into o: config file first, then flags over it.
 * *first_arg gets the index of the first non-option argument. Returns 0,
 * 1 after printing help, or 2 after an error. */
static int parse_args(const command *cmd, options *o, int argc, char **argv,
		      int *first_arg)
{
	struct option longopts[64];
	size_t n = 0;
	for (const option_doc *d = cmd->opts; d && d->name; d++) {
		if (n == 62) /* a command with more options than this table: a bug */
			return fail("%s: too many options for the parser", cmd->name);
		longopts[n++] = (struct option){d->name, d->has_arg ? required_argument
								   : no_argument, NULL, 0};
	}
	longopts[n++] = (struct option){"help", no_argument, NULL, 'h'};
	longopts[n] = (struct option){NULL, 0, NULL, 0};

	/* First pass: find --config and --data to load the file before flags. */
	const char *config = NULL, *data = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			config = argv[i + 1];
		else if (strncmp(argv[i], "--config=", 9) == 0)
			config = argv[i] + 9;
		else if (strcmp(argv[i], "--data") == 0 && i + 1 < argc)
			data = argv[i + 1];
		else if (strncmp(argv[i], "--data=", 7) == 0)
			data = argv[i] + 7;
	}
	int rc;
	if (config) {
		if ((rc = load_config(o, cmd, config, true)))
			return rc;
	} else {
		char path[4096];
		snprintf(path, sizeof(path), "%s/sightline.json", data ? data : o->data);
		if ((rc = load_config(o, cmd, path, false)))
			return rc;
	}
	optind = 1;
	opterr = 0;
	int idx = 0, c;
	while ((c = getopt_long(argc, argv, "", longopts, &idx)) != -1) {
		if (c == 'h') {
			print_help(cmd, stdout);
			return 1;
		}
		if (c == '?' || c == ':') {
			fail("%s: unknown option or missing value: %s (see sightline %s --help)",
			     cmd->name, argv[optind - 1], cmd->name);
			return 2;
		}
		if ((rc = set_option(o, longopts[idx].name, optarg)))
			return rc;
	}
	*first_arg = optind;
	return 0;
}

/* The URL is never printed: it may carry a password. */
int open_store(const options *o, sl_store **store)
{
	sl_err e = sl_store_open_url(o->data, o->store, store);
	if (e != SL_OK && o->store && strcmp(o->store, "sqlite") != 0)
		return fail("cannot open the store given by --store (keys in %s): %s", o->data,
			    sl_strerror(e));
	if (e != SL_OK)
		return fail("cannot open the store in %s: %s", o->data, sl_strerror(e));
	return 0;
}

static int cmd_serve(options *o, int argc, char **argv)
{
	if (argc > 0)
		return fail("serve: unexpected argument \"%s\"", argv[0]);
	if (sl_crypto_init() != SL_OK)
		return fail("cannot initialise libsodium");
	if (sl_media_init() != SL_OK)
		return fail("cannot initialise libvips");
	sl_store *store;
	int rc = open_store(o, &store);
	if (rc)
		return rc;
	sl_receipt_key *key = NULL;
	sl_err e = sl_receipt_key_load(o->data, &key);
	if (e != SL_OK) {
		sl_store_close(store);
		return fail("cannot load the receipt key in %s/keys: %s", o->data,
			    sl_strerror(e));
	}
	/* Keep freed memory in the heap: by default glibc hands it back with
	 * madvise() as soon as a thread's heap top is free, and the TLB
	 * shootdowns that follow on every core cost intake ~30% of its rate
	 * (docs/PERFORMANCE.md). Memory stays bounded by the peak, which the
	 * queue, connection and body caps bound. */
	mallopt(M_TRIM_THRESHOLD, 256 << 20);
	mallopt(M_MMAP_THRESHOLD, 32 << 20);
	/* Block the stop signals in every thread; this one waits for them. */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);

	sl_audit *audit = NULL;
	e = sl_audit_open(o->data, store, &audit);
	if (e != SL_OK) {
		sl_receipt_key_free(key);
		sl_store_close(store);
		return fail("cannot open the audit log in %s: %s", o->data, sl_strerror(e));
	}
	o->server.network_path = o->sim.network; /* also the public map's basemap */
	tracking trk;
	if ((rc = tracking_load(o, &trk))) {
		sl_audit_close(audit);
		sl_receipt_key_free(key);
		sl_store_close(store);
		return rc;
	}
	o->server.network = trk.network;
	o->server.stations = trk.stations;
	o->server.borders = trk.borders;
	o->server.track_params = &trk.params;
	sl_server *srv;
	e = sl_server_start(&o->server, store, key, audit, &srv);
	if (e != SL_OK) {
		tracking_free(&trk);
		sl_audit_close(audit);
		sl_receipt_key_free(key);
		sl_store_close(store);
		return fail("cannot start the server: %s", sl_strerror(e));
	}
	const char *h = o->server.host;
	printf(strchr(h, ':') ? "sightline: listening on http://[%s]:%u\n"
			      : "sightline: listening on http://%s:%u\n",
	       h, sl_server_port(srv));
	if (o->server.cot_host)
		printf(strchr(o->server.cot_host, ':') ? "sightline: cot stream on [%s]:%u\n"
						       : "sightline: cot stream on %s:%u\n",
		       o->server.cot_host, sl_server_cot_port(srv));
	fflush(stdout);
	int sig = 0;
	sigwait(&stop, &sig);
	fprintf(stderr, "sightline: stopping\n");
	sl_server_stop(srv);
	tracking_free(&trk);
	sl_audit_close(audit);
	sl_receipt_key_free(key);
	sl_store_close(store);
	return 0;
}

typedef struct import_ctx {
	const char *file;
	bool quiet;
} import_ctx;

static void on_reject(void *ud, long line, const char *why)
{
	import_ctx *ctx = ud;
	if (!ctx->quiet)
		fprintf(stderr, "%s:%ld: %s\n", ctx->file, line, why);
}

static int cmd_import(options *o, int argc, char **argv)
{
	sl_import_format fmt;
	if (!o->format)
		return fail("import: --format is required (jsonl, cir-csv or demo)");
	if (!sl_import_format_from_name(o->format, &fmt))
		return fail("import: --format \"%s\" is not jsonl, cir-csv or demo", o->format);
	if (fmt == SL_IMPORT_DEMO && argc > 0)
		return fail("import: --format demo takes no file");
	if (fmt != SL_IMPORT_DEMO && argc != 1)
		return fail("import: give exactly one FILE (or - for standard input)");
	import_ctx ctx = {.file = argc ? argv[0] : "demo", .quiet = o->quiet};
	FILE *in = NULL;
	if (fmt != SL_IMPORT_DEMO) {
		in = strcmp(argv[0], "-") == 0 ? stdin : fopen(argv[0], "r");
		if (!in)
			return fail("import: cannot open %s: %s", argv[0], strerror(errno));
		ctx.file = in == stdin ? "stdin" : argv[0];
	}
	sl_store *store;
	int rc = open_store(o, &store);
	if (rc) {
		if (in && in != stdin)
			fclose(in);
		return rc;
	}
	sl_import_stats st = {0};
	sl_err e = sl_import(store, fmt, in, sl_time_now(), on_reject, &ctx, &st);
	if (in && in != stdin)
		fclose(in);
	fprintf(stderr, "sightline: imported %zu, duplicates %zu, rejected %zu of %zu records\n",
		st.imported, st.duplicate, st.rejected, st.records);
	/* What was stored is corroborated into events now, even after a read
	 * error: it is stored. */
	rc = st.imported ? catch_up(o, store, o->quiet) : 0;
	sl_store_close(store);
	if (e != SL_OK)
		return fail("import stopped: %s", sl_strerror(e));
	return rc;
}

static int cmd_export(options *o, int argc, char **argv)
{
	if (argc > 0)
		return fail("export: unexpected argument \"%s\"", argv[0]);
	bool events = o->what && strcmp(o->what, "events") == 0;
	bool tracks = o->what && strcmp(o->what, "tracks") == 0;
	if (o->what && !events && !tracks && strcmp(o->what, "reports") != 0)
		return fail("export: --what \"%s\" is not known (reports, events, tracks)",
			    o->what);
	if (o->format && strcmp(o->format, "jsonl") != 0)
		return fail("export: --format \"%s\" is not known (jsonl)", o->format);
	sl_store *store;
	int rc = open_store(o, &store);
	if (rc)
		return rc;
	FILE *out = stdout;
	if (o->out && !(out = fopen(o->out, "w"))) {
		sl_store_close(store);
		return fail("export: cannot write %s: %s", o->out, strerror(errno));
	}
	if ((events || tracks) && (rc = catch_up(o, store, true))) {
		if (out != stdout)
			fclose(out);
		sl_store_close(store);
		return rc;
	}
	size_t n = 0;
	sl_err e = events   ? sl_export_events_jsonl(store, out, &n)
		   : tracks ? sl_export_tracks_jsonl(store, out, &n)
			    : sl_export_reports_jsonl(store, out, &n);
	if (fflush(out) != 0 && e == SL_OK)
		e = SL_EIO;
	if (out != stdout)
		fclose(out);
	sl_store_close(store);
	if (e != SL_OK)
		return fail("export failed: %s", sl_strerror(e));
	fprintf(stderr, "sightline: exported %zu %s\n", n,
		events ? "events" : tracks ? "tracks" : "reports");
	return 0;
}

static int cmd_version(options *o, int argc, char **argv)
{
	(void)o, (void)argc, (void)argv;
	printf("sightline %s\n", SL_VERSION);
	return 0;
}

static int cmd_help(options *o, int argc, char **argv);

static const command commands[] = {
	{"serve", "serve [--data DIR] [--listen HOST:PORT] [options]",
	 "Serves the HTTP API (docs/API.md). Stops cleanly on SIGINT or SIGTERM.",
	 serve_opts, cmd_serve},
	{"import", "import [--data DIR] --format jsonl|cir-csv|demo [--quiet] [FILE|-]",
	 "Stores reports from a file: jsonl (the API's report JSON, one per line, as\n"
	 "export writes it), cir-csv (the CIR Russia-Ukraine Monitor CSV) or demo (a\n"
	 "generated demo set). Unusable records are listed as FILE:LINE: reason.\n"
	 "Reports whose ref is already stored are skipped.",
	 import_opts, cmd_import},
	{"export", "export [--data DIR] [--what reports|events|tracks] [--format jsonl] [--out FILE]",
	 "Writes every report (or, with --what events, every event with the refs of\n"
	 "its reports; with --what tracks, every track with its events, the refs of\n"
	 "their reports, its route and direction) as one JSON object per line; import\n"
	 "--format jsonl reads reports back. Events and tracks are brought up to date\n"
	 "first (docs/ENGINE.md, docs/TRACKING.md).",
	 export_opts, cmd_export},
	{"evaluate", "evaluate --truth FILE --events FILE | --tracks FILE",
	 "Scores events (or tracks) against the simulator's ground truth: pairwise and\n"
	 "B-cubed precision, recall and F1 of the grouping (docs/ENGINE.md); for\n"
	 "tracks also purity, completeness and identity switches (docs/TRACKING.md).",
	 evaluate_opts, cmd_evaluate},
	{"summary", "summary [--period day|week|month] [--from TIME] [--to TIME] [--format text|json]",
	 "Counts rail movements (tracks, by the period of their first sighting) and\n"
	 "their equipment by type and by direction: toward or away from the Ukrainian\n"
	 "border, toward the Russian one, internal; as a range (sure-all) where the\n"
	 "counts are unsure (docs/TRACKING.md). Tracks are brought up to date first.",
	 summary_opts, cmd_summary},
	{"moderator add", "moderator add NAME [--role admin|moderator] [--passphrase-file F]",
	 "Creates a moderator's key pair; the secret half is stored only wrapped\n"
	 "under their passphrase (Argon2id). Prints a recovery key once. They can\n"
	 "open reports received from now on, not older ones.",
	 mod_add_opts, cmd_moderator_add},
	{"moderator list", "moderator list", "Lists moderators, removed ones too.",
	 data_only_opts, cmd_moderator_list},
	{"moderator remove", "moderator remove NAME",
	 "Removes a moderator: the keys they held are deleted and nothing new is\n"
	 "sealed to them.",
	 data_only_opts, cmd_moderator_remove},
	{"moderator share", "moderator share NAME --since DATE --admin ADMIN",
	 "Lets NAME open what was sealed since DATE, using the admin's key (asks\n"
	 "the admin's passphrase).",
	 share_opts, cmd_moderator_share},
	{"unseal", "unseal --moderator NAME [--photos DIR] REPORT_ID",
	 "Shows a report in full: text, contact, follow-ups and photos, after the\n"
	 "moderator's passphrase.",
	 unseal_opts, cmd_unseal},
	{"purge", "purge [--retention-days N | --all]",
	 "Deletes sealed text, photos and follow-ups older than N days (the server\n"
	 "does this hourly too).",
	 purge_opts, cmd_purge},
	{"audit verify", "audit verify [--expect-head HEX]",
	 "Checks the audit log: every entry in order, unedited and signed by this\n"
	 "server's audit key. Prints \"audit log intact: N entries, head HEX\" (exit\n"
	 "0) or \"audit log damaged at entry N: WHY\" (exit 1). Keep the head\n"
	 "somewhere else and give it back as --expect-head: only that catches\n"
	 "entries cut off the end, or a log rewritten with the server's key.",
	 audit_verify_opts, cmd_audit_verify},
	{"audit show", "audit show [--limit N]",
	 "Lists the last N entries of the audit log, one per line: seq, time,\n"
	 "actor, action, subject, detail. Does not verify them (audit verify does).",
	 audit_show_opts, cmd_audit_show},
	{"media-clean", "media-clean IN OUT",
	 "Cleans a photo as intake does: decoded, rotated upright, all metadata\n"
	 "dropped, at most 2048 px, written as JPEG.",
	 media_opts, cmd_media_clean},
	{"simulate", "simulate [--seed N] [--hours H] [--out FILE] [--truth FILE] [--network FILE]",
	 "Generates a realistic report stream with its ground truth: trains on the rail\n"
	 "network, road convoys, sorties from airfields, seen by noisy observers, with\n"
	 "duplicates, late and false reports (docs/SIMULATOR.md). Reports are the\n"
	 "JSON lines import --format jsonl reads, in received order.",
	 simulate_opts, cmd_simulate},
	{"version", "version", "Prints the version.", NULL, cmd_version},
	{"help", "help [COMMAND]", "Lists the commands, or explains one.", NULL, cmd_help},
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const command *find_command(const char *name)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static void usage(FILE *f)
{
	fputs("usage: sightline COMMAND [options]\n\ncommands:\n", f);
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(f, "  %s\n", commands[i].usage);
	fputs("\n'sightline COMMAND --help' explains one.\n", f);
}

static int cmd_help(options *o, int argc, char **argv)
{
	(void)o;
	if (argc == 0) {
		usage(stdout);
		return 0;
	}
	const command *cmd = find_command(argv[0]);
	if (!cmd)
		return fail("help: no command \"%s\"", argv[0]);
	print_help(cmd, stdout);
	return 0;
}

int main(int argc, char **argv)
{
	/* Everything sightline writes (database, keys, exports, photos) is for
	 * its own user only. */
	umask(077);
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0)
		return cmd_version(NULL, 0, NULL);
	/* "moderator add ...", "audit verify ..." are commands of two words. */
	if ((strcmp(argv[1], "moderator") == 0 || strcmp(argv[1], "audit") == 0) &&
	    argc > 2 && argv[2][0] != '-') {
		char name[64];
		snprintf(name, sizeof(name), "%s %s", argv[1], argv[2]);
		if (find_command(name)) {
			argv[2] = argv[1];
			argv++;
			argc--;
			argv[1] = (char *)find_command(name)->name;
		}
	}
	const command *cmd = find_command(argv[1]);
	if (!cmd) {
		fail("no command \"%s\"", argv[1]);
		usage(stderr);
		return 2;
	}
	options o = {.data = "var/data", .limit = 20};
	sl_server_config_default(&o.server);
	snprintf(o.host, sizeof(o.host), "%s", o.server.host);
	o.server.host = o.host;
	int first = 2, rc = 0;
	if (cmd->opts) {
		rc = parse_args(cmd, &o, argc - 1, argv + 1, &first);
		first += 1;
	} else if (argc > 2 && strcmp(argv[2], "--help") == 0) {
		print_help(cmd, stdout);
		rc = 1;
	}
	if (rc == 0)
		rc = cmd->run(&o, argc - first, argv + first);
	else if (rc == 1)
		rc = 0; /* printed help; a command's own 1 (audit verify) stays */
	for (size_t i = 0; i < o.n_owned; i++)
		free(o.owned[i]);
	return rc;
}
