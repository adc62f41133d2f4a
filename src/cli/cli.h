/*
 * cli.h — what the files of the `sightline` command share: the parsed
 * options and the few helpers every subcommand uses.
 */
#ifndef SIGHTLINE_CLI_H
#define SIGHTLINE_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "sightline/audit.h"
#include "sightline/borders.h"
#include "sightline/network.h"
#include "sightline/server.h"
#include "sightline/store.h"

typedef struct options {
	const char *data;
	const char *store; /* --store: a PostgreSQL URL; NULL: SQLite in data */
	const char *config;
	const char *format;
	const char *what;
	const char *out;
	bool quiet;
	const char *role;
	const char *passphrase_file;
	const char *since;
	const char *admin;
	const char *moderator;
	const char *photos;
	bool all;
	const char *expect_head;
	unsigned long long limit; /* audit show: last N entries, 0 = all */
	const char *events_file; /* evaluate */
	const char *tracks_file;
	const char *borders; /* country borders for tracks (--borders) */
	double train_speed_kmh; /* --train-speed: the tracker's most for
				   trains; 0: its default */
	const char *period, *from, *to, *category; /* summary */
	struct { /* simulate's options, as given; simulate.c parses them */
		const char *seed, *hours, *truth, *network, *stations, *airfields;
		const char *start, *scale, *objects;
		bool text;
	} sim;
	sl_server_config server;
	char host[256];
	char cot_host[256]; /* serve --cot-listen's host */
	char *owned[32]; /* strings from the config file, freed at exit */
	size_t n_owned;
} options;

/* Prints "sightline: " and the message to stderr; returns 2 (the exit code
 * of a usage or runtime error). */
int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Opens the store of o->data; 0, or 2 after saying why. */
int open_store(const options *o, sl_store **store);

/* The subcommands of keys.c. */
int cmd_moderator_add(options *o, int argc, char **argv);
int cmd_moderator_list(options *o, int argc, char **argv);
int cmd_moderator_remove(options *o, int argc, char **argv);
int cmd_moderator_share(options *o, int argc, char **argv);
int cmd_unseal(options *o, int argc, char **argv);
int cmd_purge(options *o, int argc, char **argv);
int cmd_media_clean(options *o, int argc, char **argv);

/* Opens the audit log of o->data over store; 0, or 2 after saying why. */
int open_audit(const options *o, sl_store *store, sl_audit **audit);

/* Appends one entry (sl_audit_append); 0, or 2 after saying that the action
 * could not be recorded. */
int audit_append(sl_audit *audit, const char *actor, const char *action,
		 const char *subject, const char *detail_json);

/* corroborate.c: brings the events of store up to date (unless a running
 * server does it); *ran (may be NULL) says whether this process did. 0, or
 * 2 after saying why. And `evaluate`. */
int catch_up_events(sl_store *store, bool quiet, bool *ran);
int cmd_evaluate(options *o, int argc, char **argv);
/* simulate.c: the command, and its options for set_option (true when
 * name is one of them; the value is kept as given). */
int cmd_simulate(options *o, int argc, char **argv);
bool simulate_option(options *o, const char *name, const char *value);

/* Loads the station list of --stations (o->sim.stations, shared by
 * simulate and serve) into *out, or leaves *out NULL when none is given;
 * 0, or 2 after saying why, naming cmd. */
int load_stations(const options *o, const char *cmd, sl_stations **out);
/* track.c: what tracking reads (--network, --stations, --borders: the
 * files given, else none, and the default borders file when it is there),
 * loaded once; 0, or 2 after saying which file is wrong. Free with
 * tracking_free. */
typedef struct tracking {
	sl_network *network;
	sl_stations *stations;
	sl_borders *borders;
	sl_track_params params; /* the defaults and --train-speed */
} tracking;
int tracking_load(const options *o, tracking *t);
void tracking_free(tracking *t);

/* Brings events and then tracks up to date (unless a running server does
 * it), loading what tracking reads; 0, or 2 after saying why. */
int catch_up(const options *o, sl_store *store, bool quiet);

/* `sightline summary`. */
int cmd_summary(options *o, int argc, char **argv);

/* The subcommands of audit.c. verify returns 1 when the log is damaged. */
int cmd_audit_verify(options *o, int argc, char **argv);
int cmd_audit_show(options *o, int argc, char **argv);

#endif
