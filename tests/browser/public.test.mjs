// public.test.mjs — the public side as its real consumers see it.
//
// Starts the real server ($SIGHTLINE_BIN) with the corroboration engine,
// the rail network of ../shared/data (when present) and an admin, sends it
// reports the way informants' clients do and has a moderator verify some
// of them through the review API. Then:
//
//   - the GeoJSON passes @placemarkio/check-geojson (RFC 7946);
//   - the Atom feed parses with @rowanmanning/feed-parser, one entry per
//     event;
//   - the KML converts with @tmcw/togeojson (over @xmldom/xmldom) to the
//     same features: ids, points and categories;
//   - every CoT event parses with @tak-ps/node-cot, with the type of its
//     category and how="h-e";
//   - the CSV loads with csv-parse and has ACLED's columns;
//   - tracks.geojson passes check-geojson and holds the one track the
//     server's tracker made of the train seen at Orsha and then at
//     Shukhovtsy: a LineString through the two events' published points
//     (the fine one and the coarsened one, exactly as events.geojson has
//     them), toward Russia, with nothing else of the track in it — not
//     even the class the tracker gives it from an earlier, unverified
//     sighting at Shklov (away from Ukraine: moderators see that one);
//     summary.json counts it, in its week, by its direction;
//   - the map at / loads in Debian's chromium (playwright-core), draws the
//     borders, the rail network (network.geojson) and one marker per
//     published event, opens a popup, speaks Russian and Belarusian, fits
//     a phone's screen, draws the track as a line coloured by its
//     direction with an arrow at its newest end and the weekly chart with
//     its bar, asks no other origin for anything and logs no error;
//     screenshots public-map.png, public-map-ru.png, public-map-phone.png
//     and public-map-tracks.png go to $ARTIFACT_DIR.
//
// Exits 77 (a skip for meson) when chromium or node_modules is missing.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as lib from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const BIN = process.env.SIGHTLINE_BIN;
const ARTIFACTS = process.env.ARTIFACT_DIR || path.join(tmpdir(), 'sightline-browser');
const WEB = process.env.WEB_ROOT || path.join(root, 'web');
const NETWORK = path.resolve(root, '..', 'shared', 'data', 'geo', 'belarus-rail.geojson');
const STATIONS = path.resolve(root, '..', 'shared', 'data', 'geo', 'belarus-stations.tsv');
const BORDERS = path.join(root, 'node_modules', 'world-atlas', 'countries-50m.json');
const PASS = 'a long admin passphrase, for the feeds';

function skip(why) {
	console.log(`# SKIP public test: ${why}`);
	process.exit(77);
}

if (!BIN)
	skip('SIGHTLINE_BIN is not set (run it through meson, or set it to build/sightline)');
if (!existsSync(CHROMIUM))
	skip(`${CHROMIUM} is missing (scripts/install-deps installs Debian's chromium)`);
const require = createRequire(path.join(root, 'package.json'));
let chromium, checkGeoJSON, parseFeed, togeojson, DOMParser, CoTParser, parseCsv;
try {
	chromium = require('playwright-core').chromium;
	checkGeoJSON = (await import('@placemarkio/check-geojson')).check;
	parseFeed = require('@rowanmanning/feed-parser').parseFeed;
	togeojson = await import('@tmcw/togeojson');
	DOMParser = (await import('@xmldom/xmldom')).DOMParser;
	CoTParser = (await import('@tak-ps/node-cot')).CoTParser;
	parseCsv = (await import('csv-parse/sync')).parse;
} catch (e) {
	skip(`node_modules is missing a consumer library (scripts/install-deps runs npm ci): ${e.message}`);
}

const iso = (minutesAgo) => new Date(Date.now() - minutesAgo * 60e3).toISOString().replace(/\.\d+Z$/, 'Z');

// Four sightings of one train at Orsha three hours ago (k = 3 met: a fine
// location); the same train (12 tanks, heading east) 38 minutes later at
// Shukhovtsy, 40 km on along the Orsha–Smolensk line and 8 km before the
// Russian border (one report: coarsened), which the tracker links to the
// Orsha event (about 60 km/h on the network: docs/TRACKING.md); the same
// train 35 minutes before Orsha at Shklov, 35 km south, never verified:
// the tracker puts it at the track's head, so its class, from Shklov on, is
// away from Ukraine, while the published points alone go toward Russia;
// one convoy near Brest (one report: coarsened), an aircraft a few minutes
// ago (delayed an hour by default), one unverified train far away and one
// convoy that will be rejected.
const REPORTS = [
	{ key: 'orsha', category: 'rail_transport', observed_at: iso(180), location: { lat: 54.5095, lon: 30.4233, uncertainty_m: 300 }, heading: 'NE', equipment: [{ type: 'tank', count: 12 }] },
	{ key: 'orsha', category: 'rail_transport', observed_at: iso(179), location: { lat: 54.5105, lon: 30.4250, uncertainty_m: 300 }, heading: 'NE', equipment: [{ type: 'tank', count: 12 }] },
	{ key: 'orsha', category: 'rail_transport', observed_at: iso(178), location: { lat: 54.5085, lon: 30.4215, uncertainty_m: 300 }, heading: 'NE', equipment: [{ type: 'tank', count: 13 }] },
	{ key: 'orsha', category: 'rail_transport', observed_at: iso(177), location: { lat: 54.5100, lon: 30.4240, uncertainty_m: 300 }, heading: 'NE', equipment: [{ type: 'tank', count: 11 }] },
	{ key: 'shklov', category: 'rail_transport', observed_at: iso(215), location: { lat: 54.2194, lon: 30.2797, uncertainty_m: 500 }, heading: 'N', equipment: [{ type: 'tank', count: 12 }] },
	{ key: 'east', category: 'rail_transport', observed_at: iso(140), location: { lat: 54.6867, lon: 30.8897, uncertainty_m: 500 }, heading: 'E', equipment: [{ type: 'tank', count: 12 }] },
	{ key: 'brest', category: 'road_convoy', observed_at: iso(150), location: { lat: 52.0976, lon: 23.7341, uncertainty_m: 1000 }, equipment: [{ type: 'truck', count: 20 }] },
	{ key: 'air', category: 'aircraft', observed_at: iso(5), location: { lat: 53.8881, lon: 27.5397, uncertainty_m: 3000 }, equipment: [{ type: 'aircraft', count: 2 }] },
	{ key: 'unverified', category: 'rail_transport', observed_at: iso(200), location: { lat: 52.1, lon: 26.1, uncertainty_m: 300 } },
	{ key: 'rejected', category: 'road_convoy', observed_at: iso(200), location: { lat: 55.19, lon: 30.20, uncertainty_m: 500 } },
];

const ctx = { dir: null, server: null, base: null, log: '', browser: null, ids: {}, cookie: '', csrf: '', errors: [], foreign: [] };

const run = lib.run;

// Starts `serve` with the engine and the rail network; resolves with its
// base URL.
async function serve(dataDir) {
	const args = ['--rate-per-client', '0', '--engine-interval', '100', '--publish-interval', '100'];
	if (existsSync(NETWORK))
		args.push('--network', NETWORK);
	if (existsSync(STATIONS))
		args.push('--stations', STATIONS);
	args.push('--borders', BORDERS);
	ctx.server = await lib.serve(dataDir, args);
	return ctx.server.base;
}

const stopServer = () => lib.stop(ctx.server);

async function mod(method, p, body) {
	const headers = { Cookie: ctx.cookie };
	if (method !== 'GET')
		headers['X-CSRF-Token'] = ctx.csrf;
	if (body !== undefined)
		headers['Content-Type'] = 'application/json';
	const res = await fetch(ctx.base + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
	const text = await res.text();
	assert.ok(res.status < 300, `${method} ${p}: ${res.status} ${text}`);
	return text ? JSON.parse(text) : null;
}

async function text(name) {
	const res = await fetch(`${ctx.base}/api/v1/public/${name}`);
	assert.equal(res.status, 200, name);
	assert.equal(res.headers.get('x-content-type-options'), 'nosniff', name);
	assert.equal(res.headers.get('referrer-policy'), 'no-referrer', name);
	assert.ok(res.headers.get('content-security-policy'), name);
	assert.equal(res.headers.get('set-cookie'), null, name);
	return res.text();
}

async function until(what, fn, ms = 15000) {
	const end = Date.now() + ms;
	for (;;) {
		const v = await fn();
		if (v)
			return v;
		if (Date.now() > end)
			assert.fail(`${what} did not happen within ${ms} ms`);
		await new Promise((r) => setTimeout(r, 100));
	}
}

async function published() {
	return JSON.parse(await text('events.geojson')).features;
}

async function tracks() {
	return JSON.parse(await text('tracks.geojson')).features;
}

// The Monday (UTC, YYYY-MM-DD) of the ISO week holding an RFC 3339 time.
function weekOf(t) {
	const d = new Date(t);
	d.setUTCHours(0, 0, 0, 0);
	d.setUTCDate(d.getUTCDate() - ((d.getUTCDay() + 6) % 7));
	return d.toISOString().slice(0, 10);
}

describe('public feeds and map', { timeout: 280000 }, () => {
	before(async () => {
		ctx.dir = mkdtempSync(path.join(tmpdir(), 'sl-public-'));
		const data = path.join(ctx.dir, 'data');
		mkdirSync(data, { mode: 0o700 });
		const passFile = path.join(ctx.dir, 'pass');
		writeFileSync(passFile, PASS + '\n', { mode: 0o600 });
		run(['moderator', 'add', 'ana', '--role', 'admin', '--data', data, '--passphrase-file', passFile]);
		ctx.base = await serve(data);
		for (const r of REPORTS) {
			const { key, ...body } = r;
			const res = await fetch(ctx.base + '/api/v1/reports', {
				method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
			});
			const doc = await res.json();
			assert.equal(res.status, 201, JSON.stringify(doc));
			(ctx.ids[key] ||= []).push(doc.id);
		}
		const res = await fetch(ctx.base + '/api/v1/session', {
			method: 'POST', headers: { 'Content-Type': 'application/json' },
			body: JSON.stringify({ name: 'ana', passphrase: PASS }),
		});
		assert.equal(res.status, 200);
		ctx.cookie = res.headers.get('set-cookie').split(';')[0];
		ctx.csrf = (await res.json()).csrf;
		// Wait for the engine to place every report, then decide.
		await until('events for every report', async () => {
			const ev = await mod('GET', '/api/v1/mod/events?limit=100');
			return ev.events.reduce((n, e) => n + e.report_ids.length, 0) === REPORTS.length;
		});
		await mod('POST', `/api/v1/mod/reports/${ctx.ids.orsha[0]}/verify`);
		await mod('POST', `/api/v1/mod/reports/${ctx.ids.east[0]}/verify`);
		await mod('POST', `/api/v1/mod/reports/${ctx.ids.brest[0]}/verify`);
		await mod('POST', `/api/v1/mod/reports/${ctx.ids.air[0]}/verify`);
		await mod('POST', `/api/v1/mod/reports/${ctx.ids.rejected[0]}/reject`, { reason: 'a bus' });
		await until('three published events', async () => (await published()).length === 3);
		// The engine thread links tracks after its step and tells the
		// publisher: the track follows the events within a refresh or two.
		await until('the track published', async () => (await tracks()).length === 1, 30000);
		mkdirSync(ARTIFACTS, { recursive: true });
		ctx.browser = await chromium.launch({
			executablePath: CHROMIUM,
			args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
				'--disable-background-networking', '--disable-component-update', '--disable-sync'],
		});
	});

	after(async () => {
		if (ctx.browser)
			await ctx.browser.close().catch(() => {});
		const code = await stopServer();
		if (ctx.dir)
			rmSync(ctx.dir, { recursive: true, force: true });
		assert.equal(code, 0, `the server did not stop cleanly (${code}):\n${ctx.server ? ctx.server.log() : ''}`);
	});

	it('publishes the aircraft at once when an admin sets its delay to 0', async () => {
		const before = await published();
		assert.deepEqual(before.map((f) => f.properties.category).sort(), ['rail_transport', 'rail_transport', 'road_convoy']);
		await mod('PUT', '/api/v1/mod/admin/publish/policy', { delay_minutes: { aircraft: 0 } });
		await until('the aircraft published', async () => (await published()).length === 4);
	});

	it('GeoJSON passes @placemarkio/check-geojson', async () => {
		const body = await text('events.geojson');
		const gj = checkGeoJSON(body); // throws on anything RFC 7946 refuses
		assert.equal(gj.type, 'FeatureCollection');
		assert.equal(gj.features.length, 4);
		const byCat = Object.fromEntries(gj.features.map((f) => [f.properties.category, f]));
		const rail = gj.features.filter((f) => f.properties.category === 'rail_transport')
			.sort((a, b) => a.properties.start.localeCompare(b.properties.start));
		assert.equal(rail.length, 2);
		assert.equal(rail[0].properties.sources, 4);
		assert.equal(rail[0].properties.coarse, false, 'four reports at Orsha: a fine location');
		assert.equal(rail[1].properties.sources, 1);
		assert.equal(rail[1].properties.coarse, true, 'one report at Shukhovtsy: the grid');
		assert.equal(rail[1].properties.precision_m, 5000);
		assert.equal(byCat.road_convoy.properties.coarse, true, 'one report: the grid');
		assert.equal(byCat.road_convoy.properties.precision_m, 5000);
		for (const f of gj.features)
			assert.match(f.id, /^e[0-9a-f]{20}$/);
	});

	it('Atom parses with @rowanmanning/feed-parser', async () => {
		const feed = parseFeed(await text('events.atom'));
		assert.equal(feed.meta.type, 'atom');
		assert.equal(feed.items.length, 4);
		for (const item of feed.items) {
			assert.match(item.id, /^urn:sightline:event:e[0-9a-f]{20}$/);
			assert.ok(item.title && item.published && item.updated);
		}
	});

	it('KML converts with @tmcw/togeojson to the same features', async () => {
		const gj = JSON.parse(await text('events.geojson'));
		const dom = new DOMParser().parseFromString(await text('events.kml'), 'text/xml');
		const fromKml = togeojson.kml(dom);
		assert.equal(fromKml.features.length, gj.features.length);
		const key = (f) => `${f.id}|${f.geometry.coordinates.slice(0, 2).join(',')}|${f.properties.category}`;
		assert.deepEqual(fromKml.features.map(key).sort(), gj.features.map(key).sort());
	});

	it('CoT parses with @tak-ps/node-cot', async () => {
		const body = await text('events.cot');
		const events = body.split('\n').filter((l) => l.trim());
		assert.equal(events.length, 4);
		// Two rail events (Orsha, Shukhovtsy), the convoy, the aircraft.
		const want = ['a-h-G-E-V-T', 'a-h-G-E-V-T', 'a-h-G-E-V', 'a-h-A-M-F'];
		const types = [];
		for (const xml of events) {
			const cot = CoTParser.from_xml(xml);
			const a = cot.raw.event._attributes;
			assert.equal(a.how, 'h-e');
			assert.ok(Date.parse(a.stale) > Date.parse(a.time), 'stale after time');
			types.push(a.type);
			const f = await CoTParser.to_geojson(cot);
			assert.equal(f.geometry.type, 'Point');
		}
		assert.deepEqual(types.sort(), want.sort());
	});

	it('CSV loads with csv-parse and has the ACLED columns', async () => {
		const rows = parseCsv(await text('events.csv'), { columns: true, skip_empty_lines: true });
		assert.equal(rows.length, 4);
		for (const col of ['event_id_cnty', 'event_date', 'time_precision', 'event_type', 'sub_event_type',
			'country', 'admin1', 'location', 'latitude', 'longitude', 'geo_precision', 'source',
			'source_scale', 'notes'])
			assert.ok(col in rows[0], `column ${col}`);
		for (const r of rows) {
			assert.match(r.event_date, /^\d{4}-\d{2}-\d{2}$/);
			assert.ok(Number.isFinite(Number(r.latitude)) && Number.isFinite(Number(r.longitude)));
			// Every sighting here is in Belarus: the borders name it.
			assert.equal(r.country, 'Belarus', JSON.stringify(r));
		}
		// The four Orsha reports are published at full precision, and the
		// station list names the point and its region.
		const orsha = rows.find((r) => r.sub_event_type && Number(r.latitude) > 54.4 && Number(r.latitude) < 54.6);
		assert.ok(orsha, 'the Orsha event is in the CSV');
		assert.equal(orsha.geo_precision, '1');
		// The one Shukhovtsy report only to the grid: its cell's centre.
		const east = rows.find((r) => Number(r.latitude) > 54.6 && Number(r.longitude) > 30.8);
		assert.ok(east, 'the Shukhovtsy event is in the CSV');
		assert.equal(east.geo_precision, '2');
		if (existsSync(STATIONS)) {
			assert.equal(orsha.admin1, 'Vitebsk');
			assert.match(orsha.location, /Орша/);
			assert.equal(east.admin1, 'Vitebsk');
			assert.equal(east.location, 'Шуховцы');
		}
	});

	it('tracks.geojson has the train from Orsha toward Russia, through published points only', async () => {
		const body = await text('tracks.geojson');
		const tr = checkGeoJSON(body); // throws on anything RFC 7946 refuses
		assert.equal(tr.type, 'FeatureCollection');
		assert.equal(tr.features.length, 1, body);
		const [t] = tr.features;
		assert.match(t.id, /^t[0-9a-f]{20}$/);
		assert.equal(t.geometry.type, 'LineString');
		// What a public track says, and nothing more: no route, equipment,
		// crossing, confidence or the tracker's ids.
		assert.deepEqual(Object.keys(t.properties).sort(), ['category', 'direction', 'end', 'events', 'start']);
		assert.equal(t.properties.category, 'rail_transport');
		assert.equal(t.properties.direction, 'toward_russia', 'Orsha to Shukhovtsy: 34 km nearer Russia, level with Ukraine');
		// The tracker's own track holds the unverified Shklov sighting too,
		// and its class says so; the public one does not (a regression
		// check: publication used to copy the tracker's class).
		const mine = (await mod('GET', '/api/v1/mod/tracks?limit=100')).tracks.filter((x) => x.events.length > 1);
		assert.equal(mine.length, 1, JSON.stringify(mine));
		assert.equal(mine[0].events.length, 3);
		assert.equal(mine[0].direction.class, 'away_from_ukraine');
		// Its points are its events' published points, oldest first: the
		// fine Orsha estimate and the Shukhovtsy grid cell's centre, exactly
		// as events.geojson publishes them.
		const events = new Map((await published()).map((f) => [f.id, f]));
		assert.equal(t.properties.events.length, 2);
		const pts = t.properties.events.map((id) => events.get(id));
		assert.ok(pts.every(Boolean), `every event of the track is published: ${t.properties.events}`);
		assert.deepEqual(pts.map((f) => f.properties.category), ['rail_transport', 'rail_transport']);
		assert.deepEqual(pts.map((f) => f.properties.sources), [4, 1]);
		assert.deepEqual(t.geometry.coordinates, pts.map((f) => f.geometry.coordinates));
		assert.equal(t.properties.start, pts[0].properties.start);
		assert.equal(t.properties.end, pts[1].properties.end);
		// The precise Shukhovtsy report (54.6867 N 30.8897 E) and what the
		// tracker knows of the track stay out.
		assert.doesNotMatch(body, /30\.889|54\.686|route|crossing|confidence|equipment|Шуховцы/);
		for (const c of t.geometry.coordinates)
			assert.ok(c.every((v) => /^-?\d+(\.\d{1,4})?$/.test(String(v))), `no more than 4 decimals: ${c}`);
		// A filter that leaves out one of its points still shows the track
		// (a track is shown when one of its points is); one that leaves out
		// both does not.
		const box = (b) => `tracks.geojson?bbox=${b}`;
		assert.equal(JSON.parse(await text(box('30.3,54.4,30.5,54.6'))).features.length, 1);
		assert.equal(JSON.parse(await text(box('23,51,24,53'))).features.length, 0);
	});

	it('summary.json counts the track in its week, by its direction', async () => {
		const [t] = await tracks();
		const su = JSON.parse(await text('summary.json'));
		assert.equal(su.events, 4);
		assert.equal(su.tracks, 1);
		assert.deepEqual(su.directions, ['toward_ukraine', 'away_from_ukraine', 'toward_russia', 'internal', 'unknown']);
		assert.ok(Array.isArray(su.weeks) && su.weeks.length >= 1);
		// A track counts in the week of its newest event's end.
		const week = su.weeks.find((w) => w.week_start === weekOf(t.properties.end));
		assert.ok(week, `a week of ${weekOf(t.properties.end)} in ${JSON.stringify(su.weeks)}`);
		assert.deepEqual(week.movements, { toward_ukraine: 0, away_from_ukraine: 0, toward_russia: 1, internal: 0, unknown: 0 });
		const moves = su.weeks.reduce((n, w) => n + Object.values(w.movements).reduce((a, b) => a + b, 0), 0);
		assert.equal(moves, 1, 'one movement in all');
		const rail = su.weeks.reduce((n, w) => n + w.events.rail_transport, 0);
		assert.equal(rail, 2);
	});

	async function mapPage(name, options, url = '/') {
		const context = await ctx.browser.newContext({ viewport: { width: 1280, height: 860 }, ...options });
		const page = await context.newPage();
		page.setDefaultTimeout(20000);
		const origin = new URL(ctx.base).origin;
		page.on('request', (req) => {
			const u = req.url();
			if (!u.startsWith('data:') && !u.startsWith('blob:') && new URL(u).origin !== origin)
				ctx.foreign.push(u);
		});
		page.on('pageerror', (e) => ctx.errors.push(`${name}: page error: ${e.message}`));
		page.on('console', (m) => {
			if (m.type() === 'error')
				ctx.errors.push(`${name}: ${m.text()}`);
		});
		await page.goto(ctx.base + url);
		await page.locator('body[data-ready="1"]').waitFor();
		return page;
	}

	it('the map shows one marker per published event, with popups', async () => {
		const res = await fetch(ctx.base + '/');
		assert.equal(res.status, 200);
		assert.match(res.headers.get('content-security-policy'), /script-src 'self'/);
		assert.equal(res.headers.get('set-cookie'), null);
		const page = await mapPage('map');
		assert.equal(await page.locator('path.sl-event').count(), 4);
		assert.equal(await page.locator('path.sl-cat-rail_transport').count(), 2);
		assert.equal(await page.locator('body').getAttribute('data-events'), '4');
		// Borders from world-atlas were drawn (Belarus and its neighbours).
		assert.ok(await page.locator('path.sl-border').count() > 3);
		await page.locator('path.sl-cat-road_convoy').click({ force: true });
		await page.locator('.sl-popup').waitFor();
		await page.waitForTimeout(400); /* the popup's fade */
		assert.match(await page.locator('.sl-popup h3').textContent(), /Road convoy/);
		assert.ok(await page.locator('#chart-note').isHidden(), 'no "no tracks yet" note: there is one');
		await page.screenshot({ path: path.join(ARTIFACTS, 'public-map.png'), fullPage: true });
		await page.context().close();
	});

	it('speaks Russian and Belarusian', async () => {
		const ru = await mapPage('ru', {}, '/?lang=ru');
		assert.equal(await ru.locator('h1').textContent(), 'Проверенные наблюдения');
		assert.equal(await ru.locator('html').getAttribute('lang'), 'ru');
		await ru.screenshot({ path: path.join(ARTIFACTS, 'public-map-ru.png') });
		await ru.locator('#lang').selectOption('be');
		assert.equal(await ru.locator('h1').textContent(), 'Правераныя назіранні');
		await ru.context().close();
	});

	it('fits a phone screen, and the time filter narrows what is shown', async () => {
		const page = await mapPage('phone', { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
		const box = await page.locator('#map').boundingBox();
		assert.ok(box.width <= 390 && box.height > 200, `map box ${JSON.stringify(box)}`);
		const width = await page.evaluate(() => document.documentElement.scrollWidth);
		assert.ok(width <= 392, `no sideways scrolling (${width})`);
		await page.screenshot({ path: path.join(ARTIFACTS, 'public-map-phone.png'), fullPage: true });
		await page.locator('#range').selectOption('24h');
		await page.locator('body[data-ready="1"]').waitFor();
		assert.equal(await page.locator('path.sl-event').count(), 4);
		assert.equal(await page.locator('path.sl-track').count(), 1);
		await page.context().close();
	});

	it('draws the real track with its direction, its week in the chart, and the rail network', async () => {
		const page = await mapPage('tracks');
		assert.equal(await page.locator('body').getAttribute('data-tracks'), '1');
		// The track: one line, classed and coloured by its direction
		// (DIR_COLORS in web/public.js), through its two points.
		const line = page.locator('path.sl-track');
		assert.equal(await line.count(), 1);
		assert.equal(await page.locator('path.sl-track.sl-dir-toward_russia').count(), 1);
		assert.equal(await line.getAttribute('stroke'), '#1a73e8');
		assert.match(await line.getAttribute('d'), /^M-?[\d.]+ -?[\d.]+L-?[\d.]+ -?[\d.]+$/, 'a line of two points');
		// The arrow sits on the newest event's marker and points away from
		// the oldest: the screen's angle from the Orsha marker to the
		// Shukhovtsy one (Mercator keeps angles) is the arrow's turn from
		// east.
		const centre = async (loc) => {
			const b = await loc.boundingBox();
			return [b.x + b.width / 2, b.y + b.height / 2];
		};
		const marks = await Promise.all([0, 1].map((i) => centre(page.locator('path.sl-cat-rail_transport').nth(i))));
		marks.sort((a, b) => a[0] - b[0]); /* Orsha is west of Shukhovtsy */
		const arrow = page.locator('.sl-arrow');
		assert.equal(await arrow.count(), 1);
		const at = await centre(arrow);
		assert.ok(Math.hypot(at[0] - marks[1][0], at[1] - marks[1][1]) < 3, `the arrow ${at} on the newest event ${marks[1]}`);
		const turn = Number(/rotate\((-?[\d.]+)deg\)/.exec(await arrow.locator('span').getAttribute('style'))[1]);
		const angle = Math.atan2(marks[1][1] - marks[0][1], marks[1][0] - marks[0][0]) * 180 / Math.PI;
		assert.ok(Math.abs(turn - angle) < 5, `the arrow turned ${turn}°, the track goes ${angle}°`);
		// The weekly chart: no "no tracks" note, and the week of the track
		// has a bar of its direction's colour (uPlot draws on a canvas: the
		// tallest run of that colour in one column of pixels); the other
		// directions have none.
		assert.ok(await page.locator('#chart-note').isHidden(), 'no "no tracks" note');
		const bars = await page.locator('#chart canvas').first().evaluate((c) => {
			const { data, width, height } = c.getContext('2d').getImageData(0, 0, c.width, c.height);
			const colours = { toward_ukraine: [0xb3, 0x26, 0x1e], away_from_ukraine: [0x18, 0x80, 0x38],
				toward_russia: [0x1a, 0x73, 0xe8], internal: [0xe8, 0x71, 0x0a], unknown: [0x9a, 0xa0, 0xa6] };
			const tallest = {};
			for (const [d, [r, g, b]] of Object.entries(colours)) {
				let best = 0;
				for (let x = 0; x < width; x++) {
					let run = 0;
					for (let y = 0; y < height; y++) {
						const i = (y * width + x) * 4;
						run = data[i] === r && data[i + 1] === g && data[i + 2] === b && data[i + 3] === 255 ? run + 1 : 0;
						best = Math.max(best, run);
					}
				}
				tallest[d] = best;
			}
			return { tallest, height };
		});
		assert.ok(bars.tallest.toward_russia > bars.height / 3, `a bar toward Russia: ${JSON.stringify(bars)}`);
		for (const d of ['toward_ukraine', 'away_from_ukraine', 'internal', 'unknown'])
			assert.ok(bars.tallest[d] < 4, `no bar ${d}: ${JSON.stringify(bars)}`);
		// The rail network of --network: network.geojson's lines, drawn
		// under the events (most of its lines inside the view).
		const rail = page.locator('path.sl-rail');
		if (existsSync(NETWORK)) {
			const net = JSON.parse(await text('network.geojson'));
			const lines = net.features.reduce((n, f) =>
				n + (f.geometry.type === 'MultiLineString' ? f.geometry.coordinates.length : 1), 0);
			assert.ok(lines > 100, `network.geojson has ${lines} lines`);
			assert.equal(await rail.count(), net.features.length);
			const drawn = (await rail.evaluateAll((ps) => ps.map((p) => p.getAttribute('d') || '')))
				.reduce((n, d) => n + (d.match(/M/g) || []).length, 0);
			assert.ok(drawn > lines / 2, `${drawn} of the network's ${lines} lines drawn`);
		} else {
			assert.equal(await rail.count(), 0);
		}
		await page.screenshot({ path: path.join(ARTIFACTS, 'public-map-tracks.png') });
		// The track's popup names its direction.
		await line.click({ force: true });
		await page.locator('.sl-popup').filter({ hasText: 'Direction: toward Russia' }).waitFor();
		await page.context().close();
	});

	it('asked no other origin for anything and logged no error', () => {
		assert.deepEqual(ctx.foreign, []);
		assert.deepEqual(ctx.errors, []);
	});
});
