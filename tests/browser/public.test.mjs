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
//   - tracks.geojson is a valid, empty FeatureCollection (tracking is not
//     wired in yet) and summary.json says so;
//   - the map at / loads in Debian's chromium (playwright-core), draws one
//     marker per published event, opens a popup, speaks Russian and
//     Belarusian, fits a phone's screen, draws tracks (with arrows) and the
//     weekly chart when the feeds have them (given to the page as they
//     will be, until tracking is wired in), asks no other origin for
//     anything and logs no error; screenshots public-map.png,
//     public-map-ru.png, public-map-phone.png and public-map-tracks.png go
//     to $ARTIFACT_DIR.
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
// location), one convoy near Brest (one report: coarsened), an aircraft a
// few minutes ago (delayed an hour by default), one unverified train far
// away and one convoy that will be rejected.
const REPORTS = [
	{ key: 'orsha', category: 'rail_transport', observed_at: iso(180), location: { lat: 54.5095, lon: 30.4233, uncertainty_m: 300 }, heading: 'NE', equipment: [{ type: 'tank', count: 12 }] },
	{ key: 'orsha', category: 'rail_transport', observed_at: iso(179), location: { lat: 54.5105, lon: 30.4250, uncertainty_m: 300 }, heading: 'NE', equipment: [{ type: 'tank', count: 12 }] },
	{ key: 'orsha', category: 'rail_transport', observed_at: iso(178), location: { lat: 54.5085, lon: 30.4215, uncertainty_m: 300 }, heading: 'NE', equipment: [{ type: 'tank', count: 13 }] },
	{ key: 'orsha', category: 'rail_transport', observed_at: iso(177), location: { lat: 54.5100, lon: 30.4240, uncertainty_m: 300 }, heading: 'NE', equipment: [{ type: 'tank', count: 11 }] },
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
		await mod('POST', `/api/v1/mod/reports/${ctx.ids.brest[0]}/verify`);
		await mod('POST', `/api/v1/mod/reports/${ctx.ids.air[0]}/verify`);
		await mod('POST', `/api/v1/mod/reports/${ctx.ids.rejected[0]}/reject`, { reason: 'a bus' });
		await until('two published events', async () => (await published()).length === 2);
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
		assert.deepEqual(before.map((f) => f.properties.category).sort(), ['rail_transport', 'road_convoy']);
		await mod('PUT', '/api/v1/mod/admin/publish/policy', { delay_minutes: { aircraft: 0 } });
		await until('the aircraft published', async () => (await published()).length === 3);
	});

	it('GeoJSON passes @placemarkio/check-geojson', async () => {
		const body = await text('events.geojson');
		const gj = checkGeoJSON(body); // throws on anything RFC 7946 refuses
		assert.equal(gj.type, 'FeatureCollection');
		assert.equal(gj.features.length, 3);
		const byCat = Object.fromEntries(gj.features.map((f) => [f.properties.category, f]));
		assert.equal(byCat.rail_transport.properties.coarse, false, 'four reports: a fine location');
		assert.equal(byCat.road_convoy.properties.coarse, true, 'one report: the grid');
		assert.equal(byCat.road_convoy.properties.precision_m, 5000);
		for (const f of gj.features)
			assert.match(f.id, /^e[0-9a-f]{20}$/);
	});

	it('Atom parses with @rowanmanning/feed-parser', async () => {
		const feed = parseFeed(await text('events.atom'));
		assert.equal(feed.meta.type, 'atom');
		assert.equal(feed.items.length, 3);
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
		assert.equal(events.length, 3);
		const want = { rail_transport: 'a-h-G-E-V-T', road_convoy: 'a-h-G-E-V', aircraft: 'a-h-A-M-F' };
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
		assert.deepEqual(types.sort(), Object.values(want).sort());
	});

	it('CSV loads with csv-parse and has the ACLED columns', async () => {
		const rows = parseCsv(await text('events.csv'), { columns: true, skip_empty_lines: true });
		assert.equal(rows.length, 3);
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
		if (existsSync(STATIONS)) {
			assert.equal(orsha.admin1, 'Vitebsk');
			assert.match(orsha.location, /Орша/);
		}
	});

	it('tracks.geojson is a valid empty FeatureCollection; summary.json says there are none', async () => {
		const tr = checkGeoJSON(await text('tracks.geojson'));
		assert.equal(tr.type, 'FeatureCollection');
		assert.equal(tr.features.length, 0);
		const su = JSON.parse(await text('summary.json'));
		assert.equal(su.events, 3);
		assert.equal(su.tracks, 0);
		assert.ok(Array.isArray(su.weeks) && su.weeks.length >= 1);
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
		assert.equal(await page.locator('path.sl-event').count(), 3);
		assert.equal(await page.locator('body').getAttribute('data-events'), '3');
		// Borders from world-atlas were drawn (Belarus and its neighbours).
		assert.ok(await page.locator('.leaflet-overlay-pane path').count() > 3);
		await page.locator('path.sl-cat-rail_transport').click({ force: true });
		await page.locator('.sl-popup').waitFor();
		await page.waitForTimeout(400); /* the popup's fade */
		assert.match(await page.locator('.sl-popup h3').textContent(), /Rail transport/);
		assert.ok(!(await page.locator('#chart-note').isHidden()), 'the note says there are no tracks yet');
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
		assert.equal(await page.locator('path.sl-event').count(), 3);
		await page.context().close();
	});

	it('draws tracks with arrows and the weekly chart when the feeds have them', async () => {
		// Tracking is not wired in yet: the page is given feeds as they will
		// be, a track between the two rail and convoy events, moving toward
		// Ukraine in the current week.
		const gj = JSON.parse(await text('events.geojson'));
		const pts = gj.features.filter((f) => f.properties.category !== 'aircraft');
		const week = new Date(Date.now() - ((new Date().getUTCDay() + 6) % 7) * 86400e3).toISOString().slice(0, 10);
		const tracks = { type: 'FeatureCollection', features: [{
			type: 'Feature', id: 't00000000000000000001',
			geometry: { type: 'LineString', coordinates: pts.map((f) => f.geometry.coordinates) },
			properties: { category: 'rail_transport', direction: 'toward_ukraine',
				start: pts[0].properties.start, end: pts[1].properties.end, events: pts.map((f) => f.id) },
		}] };
		const summary = JSON.parse(await text('summary.json'));
		summary.tracks = 1;
		summary.weeks = [{ week_start: week, events: {}, movements: { toward_ukraine: 1, away_from_ukraine: 0, toward_russia: 0, internal: 0, unknown: 0 } }];
		const context = await ctx.browser.newContext({ viewport: { width: 1280, height: 860 } });
		const page = await context.newPage();
		page.on('pageerror', (e) => ctx.errors.push(`tracks: page error: ${e.message}`));
		await page.route('**/api/v1/public/tracks.geojson*', (r) => r.fulfill({ contentType: 'application/geo+json', body: JSON.stringify(tracks) }));
		await page.route('**/api/v1/public/summary.json*', (r) => r.fulfill({ contentType: 'application/json', body: JSON.stringify(summary) }));
		await page.goto(ctx.base + '/');
		await page.locator('body[data-ready="1"]').waitFor();
		assert.equal(await page.locator('path.sl-track').count(), 1);
		assert.equal(await page.locator('.sl-arrow').count(), 1);
		assert.equal(await page.locator('body').getAttribute('data-tracks'), '1');
		assert.ok(await page.locator('#chart-note').isHidden(), 'no "no tracks" note');
		assert.ok(await page.locator('#chart canvas').count() >= 1, 'the chart is drawn');
		await page.screenshot({ path: path.join(ARTIFACTS, 'public-map-tracks.png') });
		await context.close();
	});

	it('asked no other origin for anything and logged no error', () => {
		assert.deepEqual(ctx.foreign, []);
		assert.deepEqual(ctx.errors, []);
	});
});
