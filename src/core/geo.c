/*
 * geo.c — spherical distances, bearings and a local flat frame (geo.h).
 */
#include "sightline/geo.h"

#include <math.h>
#include <stdio.h>

#define RAD (SL_GEO_PI / 180.0)

double sl_geo_distance_m(double lat1, double lon1, double lat2, double lon2)
{
	double p1 = lat1 * RAD, p2 = lat2 * RAD;
	double dp = (lat2 - lat1) * RAD, dl = (lon2 - lon1) * RAD;
	double a =
	    sin(dp / 2) * sin(dp / 2) + cos(p1) * cos(p2) * sin(dl / 2) * sin(dl / 2);
	if (a > 1)
		a = 1;
	return 2 * SL_GEO_EARTH_M * asin(sqrt(a));
}

double sl_geo_bearing_deg(double lat1, double lon1, double lat2, double lon2)
{
	double p1 = lat1 * RAD, p2 = lat2 * RAD, dl = (lon2 - lon1) * RAD;
	double y = sin(dl) * cos(p2);
	double x = cos(p1) * sin(p2) - sin(p1) * cos(p2) * cos(dl);
	if (x == 0 && y == 0)
		return 0;
	double b = atan2(y, x) / RAD;
	b = fmod(b + 360.0, 360.0);
	return b >= 360.0 ? 0 : b;
}

void sl_geo_destination(double lat, double lon, double bearing_deg, double dist_m,
			double *lat2, double *lon2)
{
	double d = dist_m / SL_GEO_EARTH_M, b = bearing_deg * RAD;
	double p1 = lat * RAD, l1 = lon * RAD;
	double p2 = asin(sin(p1) * cos(d) + cos(p1) * sin(d) * cos(b));
	double l2 = l1 + atan2(sin(b) * sin(d) * cos(p1), cos(d) - sin(p1) * sin(p2));
	*lat2 = p2 / RAD;
	double l = fmod(l2 / RAD + 540.0, 360.0) - 180.0;
	*lon2 = l;
}

double sl_geo_angle_diff(double a_deg, double b_deg)
{
	double d = fmod(fabs(a_deg - b_deg), 360.0);
	return d > 180.0 ? 360.0 - d : d;
}

sl_geo_frame sl_geo_local(double lat0, double lon0)
{
	sl_geo_frame f = {.lat0 = lat0, .lon0 = lon0};
	f.m_per_deg_lat = SL_GEO_EARTH_M * RAD;
	f.m_per_deg_lon = SL_GEO_EARTH_M * RAD * cos(lat0 * RAD);
	return f;
}

void sl_geo_to_xy(const sl_geo_frame *f, double lat, double lon, double *x, double *y)
{
	*x = (lon - f->lon0) * f->m_per_deg_lon;
	*y = (lat - f->lat0) * f->m_per_deg_lat;
}

void sl_geo_from_xy(const sl_geo_frame *f, double x, double y, double *lat, double *lon)
{
	*lat = f->lat0 + y / f->m_per_deg_lat;
	*lon = f->lon0 + (f->m_per_deg_lon > 0 ? x / f->m_per_deg_lon : 0);
}

bool sl_geo_valid(double lat, double lon)
{
	return isfinite(lat) && isfinite(lon) && lat >= -90 && lat <= 90 && lon >= -180 &&
	       lon <= 180;
}

bool sl_geo_bbox_param(const char *text, double box[4], sl_problems *why)
{
	char tail;
	if (sscanf(text, "%lf,%lf,%lf,%lf%c", &box[0], &box[1], &box[2], &box[3], &tail) != 4) {
		sl_problems_add(why, "bbox", "expected min_lon,min_lat,max_lon,max_lat");
		return false;
	}
	if (!sl_geo_valid(box[1], box[0]) || !sl_geo_valid(box[3], box[2]) || box[0] > box[2] ||
	    box[1] > box[3]) {
		sl_problems_add(why, "bbox",
				"corners must be longitudes -180..180 and latitudes -90..90, "
				"the first south-west of the second");
		return false;
	}
	return true;
}
