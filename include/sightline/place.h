/*
 * place.h — where an informant says they saw something, from what they
 * typed: coordinates, a town, or a railway station.
 *
 * The web form's place field and the Telegram bot's "where?" both end
 * here. Coordinates are read in the shapes people paste from maps
 * ("53.9, 27.56", "53,9 27,56", "53.9N 27.56E", "53°54'N 27°33'36\"E");
 * names are looked up in a gazetteer: the towns the rail network module
 * knows (sl_network_towns), by their Russian, Belarusian, Ukrainian and
 * English names and common Latin spellings, then the station list given
 * to the server (--stations). A match gives a point with an honest
 * uncertainty: the town's extent, a station's few hundred metres, the
 * precision the coordinates were typed with. What matches nothing is not
 * an error: the report keeps it as a place name (location.place).
 */
#ifndef SIGHTLINE_PLACE_H
#define SIGHTLINE_PLACE_H

#include "sightline/err.h"
#include "sightline/lang.h"
#include "sightline/network.h"

typedef struct sl_gazetteer sl_gazetteer;

/* A gazetteer of the built-in towns and, when stations is not NULL, that
 * station list (borrowed: it must outlive the gazetteer). Read-only once
 * made: any number of threads may resolve at once. Free with
 * sl_gazetteer_free. */
sl_err sl_gazetteer_new(const sl_stations *stations, sl_gazetteer **out /* OUT */);
void sl_gazetteer_free(sl_gazetteer *g);

/* How many towns the gazetteer has (for tests and docs). */
size_t sl_gazetteer_towns(const sl_gazetteer *g);

typedef enum sl_place_kind {
	SL_PLACE_COORDS,  /* typed coordinates */
	SL_PLACE_TOWN,	  /* a town of the gazetteer */
	SL_PLACE_STATION, /* a station of the station list */
} sl_place_kind;

/* The uncertainty given to a station's point: trains are seen along a
 * platform and its approaches, not at one spot. */
#define SL_PLACE_STATION_M 500.0
/* The least uncertainty typed coordinates get, however many digits. */
#define SL_PLACE_MIN_M 50.0

typedef struct sl_place {
	sl_place_kind kind;
	double lat, lon;
	double uncertainty_m;
	const char *name; /* the town or station in the language asked for
			     when the gazetteer has it (borrowed from g);
			     NULL for coordinates */
} sl_place;

/* Reads text as coordinates, then as a town, then as a station (words
 * such as "станция", "ст.", "station", "г." around a name are dropped).
 * SL_OK with *out; SL_ENOTFOUND when text is none of them (keep it as a
 * place name); SL_EVALID when it reads as coordinates outside -90..90 /
 * -180..180. */
sl_err sl_place_resolve(const sl_gazetteer *g, const char *text, sl_lang lang,
			sl_place *out /* OUT */);

/* Only the coordinates part of sl_place_resolve: SL_OK with the point and
 * the uncertainty its precision allows (half the last typed digit's step,
 * at least SL_PLACE_MIN_M), SL_ENOTFOUND when text is not coordinates,
 * SL_EVALID when out of range. */
sl_err sl_place_parse_coords(const char *text, double *lat /* OUT */,
			     double *lon /* OUT */, double *uncertainty_m /* OUT */);

#endif
