/*
 * geo.h — geometry on the WGS 84 sphere, shared by the engine (corroboration,
 * tracking), the rail network and the simulator.
 *
 * Distances are great-circle on a sphere of radius SL_GEO_EARTH_M: within
 * 0.5 % of the ellipsoid, far inside any sighting's uncertainty. For many
 * distances around one place (a cluster, a grid cell) a local projection is
 * cheaper: sl_geo_local makes an equirectangular frame at an origin, good to
 * a few metres over tens of kilometres.
 */
#ifndef SIGHTLINE_GEO_H
#define SIGHTLINE_GEO_H

#include <stdbool.h>

#include "sightline/report.h"

#define SL_GEO_EARTH_M 6371008.8 /* mean Earth radius, metres */
#define SL_GEO_PI 3.14159265358979323846

/* Great-circle distance in metres between two points in degrees. */
double sl_geo_distance_m(double lat1, double lon1, double lat2, double lon2);

/* Initial bearing from point 1 to point 2, degrees 0 <= b < 360 clockwise
 * from north; 0 for identical points. */
double sl_geo_bearing_deg(double lat1, double lon1, double lat2, double lon2);

/* The point dist_m from (lat, lon) along bearing_deg, into *lat2, *lon2
 * (longitude normalised to -180..180). */
void sl_geo_destination(double lat, double lon, double bearing_deg, double dist_m,
			double *lat2 /* OUT */, double *lon2 /* OUT */);

/* The smallest angle between two bearings, 0..180 degrees. */
double sl_geo_angle_diff(double a_deg, double b_deg);

/* A local equirectangular frame: x east and y north, metres, from origin. */
typedef struct sl_geo_frame {
	double lat0, lon0;
	double m_per_deg_lat, m_per_deg_lon;
} sl_geo_frame;

sl_geo_frame sl_geo_local(double lat0, double lon0);
void sl_geo_to_xy(const sl_geo_frame *f, double lat, double lon, double *x /* OUT */,
		  double *y /* OUT */);
void sl_geo_from_xy(const sl_geo_frame *f, double x, double y, double *lat /* OUT */,
		    double *lon /* OUT */);

/* True when lat is in -90..90 and lon in -180..180 (finite numbers). */
bool sl_geo_valid(double lat, double lon);

/* Parses the query parameter bbox, "min_lon,min_lat,max_lon,max_lat" (a
 * GeoJSON bbox), into box in that order; false, with the reason added to
 * why under "bbox", when it is not four numbers or its corners are out of
 * range or not south-west then north-east. */
bool sl_geo_bbox_param(const char *text, double box[4], sl_problems *why);

#endif
