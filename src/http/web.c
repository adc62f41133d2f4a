/*
 * web.c — the static files under /static/: the moderator console's, and
 * the public map's (its page is served at /).
 *
 * The console's pages are rendered by the server (console.c); what they
 * load is served here: web/mod.js (keys, and the map drawn from the
 * page's data-* attributes), web/mod.css, and the vendored libraries —
 * Leaflet, topojson-client, and Natural Earth's country borders from
 * world-atlas — so that a moderator's browser talks to no other origin.
 * Only the files in the table below are served: no directory listing, no
 * path taken from the request, so no "..". The console's own files are
 * read from the web root (serve --web, default "web"); the vendored
 * libraries from the npm packages in WEB_ROOT/../node_modules, where
 * scripts/install-deps puts them in a source tree.
 *
 * Files are read at request time (a changed mod.js shows on reload), each
 * capped at WEB_FILE_CAP. Every header is the server's common set
 * (no-store, nosniff, no framing); sl_web_page_csp, the policy of the
 * console's pages, lives here beside the list of what they may load.
 *
 * None of these files holds data: everything about reports is in the
 * pages, behind the session gate (console.c).
 */
#include "http/http_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The largest file served; world-atlas's countries-50m.json is 740 KB. */
#define WEB_FILE_CAP (4u << 20)

#define JS "text/javascript; charset=utf-8"
#define CSS "text/css; charset=utf-8"
#define JSON "application/json"
#define PNG "image/png"

#define VENDOR "../node_modules/"

/* What the console's pages may load: their own scripts, styles, images
 * (data: and blob: for Leaflet's own), fetches of the map's borders from
 * this origin, and forms posted to it. No 'unsafe-inline': the pages
 * carry no script or style of their own. */
const char sl_web_page_csp[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

typedef struct web_file {
	const char *url;  /* the exact request path */
	const char *path; /* relative to the web root */
	const char *type; /* Content-Type */
} web_file;

#define HTML "text/html; charset=utf-8"

static const web_file files[] = {
    /* The public map (docs/PUBLISH.md): a page that fetches the public
     * feeds, and its script and style. */
    {"/", "index.html", HTML},
    {"/static/public.js", "public.js", JS},
    {"/static/public.css", "public.css", CSS},
    {"/static/vendor/uplot/uPlot.iife.min.js", VENDOR "uplot/dist/uPlot.iife.min.js", JS},
    {"/static/vendor/uplot/uPlot.min.css", VENDOR "uplot/dist/uPlot.min.css", CSS},
    /* The moderator console's. */
    {"/static/mod.js", "mod.js", JS},
    {"/static/mod.css", "mod.css", CSS},
    {"/static/report.css", "report.css", CSS}, /* the informant's form (form.c) */
    {"/static/vendor/leaflet/leaflet.js", VENDOR "leaflet/dist/leaflet.js", JS},
    {"/static/vendor/leaflet/leaflet.css", VENDOR "leaflet/dist/leaflet.css", CSS},
    {"/static/vendor/leaflet/images/layers.png", VENDOR "leaflet/dist/images/layers.png",
     PNG},
    {"/static/vendor/leaflet/images/layers-2x.png",
     VENDOR "leaflet/dist/images/layers-2x.png", PNG},
    {"/static/vendor/leaflet/images/marker-icon.png",
     VENDOR "leaflet/dist/images/marker-icon.png", PNG},
    {"/static/vendor/leaflet/images/marker-icon-2x.png",
     VENDOR "leaflet/dist/images/marker-icon-2x.png", PNG},
    {"/static/vendor/leaflet/images/marker-shadow.png",
     VENDOR "leaflet/dist/images/marker-shadow.png", PNG},
    {"/static/vendor/topojson-client/topojson-client.min.js",
     VENDOR "topojson-client/dist/topojson-client.min.js", JS},
    {"/static/vendor/world-atlas/countries-50m.json",
     VENDOR "world-atlas/countries-50m.json", JSON},
};

static const web_file *lookup(const char *url)
{
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (strcmp(files[i].url, url) == 0)
			return &files[i];
	return NULL;
}

/* Reads root/rel whole into a malloc'd buffer. Returns 0, or an errno:
 * ENOENT when it is missing (or not a regular file), EFBIG over the cap. */
static int read_file(const char *root, const char *rel, char **out, size_t *len)
{
	char path[PATH_MAX];
	int n = snprintf(path, sizeof(path), "%s/%s", root, rel);
	if (n < 0 || (size_t)n >= sizeof(path))
		return ENAMETOOLONG;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return errno == ENOTDIR ? ENOENT : errno;
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return ENOENT;
	}
	if (st.st_size > (off_t)WEB_FILE_CAP) {
		close(fd);
		return EFBIG;
	}
	size_t size = (size_t)st.st_size;
	char *buf = malloc(size ? size : 1);
	if (!buf) {
		close(fd);
		return ENOMEM;
	}
	size_t got = 0;
	while (got < size) {
		ssize_t r = read(fd, buf + got, size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break; /* shrank while read: serve what was there */
		got += (size_t)r;
	}
	close(fd);
	*out = buf;
	*len = got;
	return 0;
}

enum MHD_Result sl_web_serve(sl_server *srv, struct MHD_Connection *c, const char *url,
			     const char *method)
{
	const web_file *f = lookup(url);
	if (!f)
		return sl_http_problem(c, 404, "no such resource", NULL, NULL, 0);
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return sl_http_problem(c, 405, "use GET", NULL, "GET, HEAD", 0);
	const char *root = srv->cfg.web_root;
	char *body = NULL;
	size_t len = 0;
	int e = root && *root ? read_file(root, f->path, &body, &len) : ENOENT;
	if (e == ENOENT || e == EACCES || e == ENAMETOOLONG) {
		bool vendored = strncmp(f->path, VENDOR, strlen(VENDOR)) == 0;
		return sl_http_problem(
		    c, 404,
		    vendored ? "the web pages' libraries are not installed on "
			       "this server (run scripts/install-deps)"
			     : "the web pages are not installed on this server "
			       "(sightline serve --web DIR names their files)",
		    NULL, NULL, 0);
	}
	if (e == EFBIG)
		return sl_http_problem(
		    c, 500, "the file is larger than the server serves", NULL, NULL, 0);
	if (e != 0)
		return sl_http_problem(c, 503, "the file could not be read; try again",
				       NULL, NULL, 5);
	if (strcmp(f->type, HTML) == 0) {
		/* The map's page: its own scripts and styles, fetches of the
		 * public feeds from this origin, nothing else. */
		const char *const page[] = {"Content-Security-Policy", sl_web_page_csp,
					    "Cross-Origin-Resource-Policy", "same-origin", NULL};
		return sl_http_respond_bytes(c, 200, f->type, body, len, page);
	}
	const char *const asset[] = {"Cross-Origin-Resource-Policy", "same-origin", NULL};
	return sl_http_respond_bytes(c, 200, f->type, body, len, asset);
}
