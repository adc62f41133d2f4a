// console.test.mjs — the moderator console in a real browser.
//
// Starts the real server ($SIGHTLINE_BIN) on a fresh data directory with an
// admin, sends it five reports with text the way an informant's client
// does, then drives Debian's chromium through playwright-core.
//
// With JavaScript: sign in with the form, see the reports in the queue
// (sorted by urgency, rendered by the server), open one, claim it, grade it
// B2 and verify it with the keyboard, reject another with a reason, check
// that the pages and the informants' status endpoint show the new states;
// make an event from the first report (N), attach the second (a, number,
// Enter), find both in the events view (e), and see the third (near the
// first in place and time) and the second (same event) as markers on the
// first's map; the audit log; a phone-sized screen; sign out.
//
// Without JavaScript (a second browser context, javaScriptEnabled: false):
// sign in, grade, verify, be told why an empty reason is refused (with the
// input kept), reject, sign out — with the forms and links alone.
//
// Throughout it asserts that no page logs an error (a CSP violation would)
// or asks any origin but the server for anything, and saves screenshots
// (console.png, console-event.png, events.png, console-phone.png,
// console-nojs.png) to $ARTIFACT_DIR.
//
// Run by meson (tests/meson.build, suite "browser"); by hand:
//   SIGHTLINE_BIN=build/sightline node --test tests/browser/
// Exits 77 (a skip for meson) when chromium or playwright-core is missing;
// scripts/install-deps installs both.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as lib from './lib.mjs';

const chromium = lib.loadChromium();
const ARTIFACTS = process.env.ARTIFACT_DIR || path.join(tmpdir(), 'sightline-browser');
const PASS = 'correct horse battery staple, twice';

// Reports informants might send: a train and two convoys (the third is 42
// km from the first and two and a half hours later: a "nearby" report),
// then two more, far from them in place and time, for the pass without
// JavaScript.
const REPORTS = [
	{
		category: 'rail_transport',
		observed_at: '2022-02-14T06:40:00Z',
		location: { lat: 53.2875, lon: 28.6412, uncertainty_m: 500, place: 'Asipovichy station' },
		equipment: [{ type: 'tank', model: 'T-72B3', count: 12, count_max: 14 }],
		heading: 'S',
		text: 'Flatcar train with tanks under tarpaulins, 40 wagons, going south at 06:40',
	},
	{
		category: 'road_convoy',
		observed_at: '2022-02-15T13:10:00Z',
		location: { lat: 52.0976, lon: 23.7341, uncertainty_m: 2000 },
		equipment: [{ type: 'truck', count: 20 }],
		text: 'Convoy of trucks on the M1 near Brest, photo attached later',
	},
	{
		category: 'road_convoy',
		observed_at: '2022-02-14T09:15:00Z',
		location: { lat: 53.1384, lon: 29.2214, uncertainty_m: 1000, place: 'Babruysk' },
		equipment: [{ type: 'truck', count: 8 }],
		text: 'Eight army trucks going south through Babruysk',
	},
	{
		category: 'aircraft',
		observed_at: '2022-03-02T11:00:00Z',
		location: { lat: 53.8881, lon: 27.5397, uncertainty_m: 3000, place: 'Machulishchy' },
		equipment: [{ type: 'aircraft', model: 'Il-76', count: 4 }],
		text: 'Four Il-76 landing one after another at Machulishchy',
	},
	{
		category: 'troops',
		observed_at: '2022-03-20T17:30:00Z',
		location: { lat: 55.1904, lon: 30.2049, place: 'Vitsebsk' },
		text: 'Soldiers at the station, maybe 200',
	},
];

const ctx = {
	dir: null, server: null, base: null,
	browser: null, page: null, nojs: null, receipts: [], ids: [],
	errors: [], foreign: [],
};

const run = lib.run;

// Starts `serve` and resolves with its base URL.
async function serve(dataDir) {
	// No corroboration engine: the steps below make and count events by
	// hand (test_events.c covers the engine's).
	ctx.server = await lib.serve(dataDir, ['--rate-per-client', '0', '--engine-interval', '0']);
	return ctx.server.base;
}

function stopServer() {
	return lib.stop(ctx.server);
}

async function getJson(url) {
	const res = await fetch(url);
	return { status: res.status, body: await res.json().catch(() => null), headers: res.headers };
}

async function informant(i) {
	const r = await getJson(`${ctx.base}/api/v1/reports/${ctx.receipts[i]}`);
	assert.equal(r.status, 200);
	return r.body.status;
}

// A new page in a context of its own, watched: every request must go to
// the server, every console error is kept (with the page's name) for the
// last test.
function watchedPage(name, options) {
	return lib.watchedPage(ctx.browser, ctx.base, name, ctx.errors, ctx.foreign, options);
}

async function signIn(page) {
	await page.goto(ctx.base + '/mod');
	await page.locator('#signin-name').fill('ana');
	await page.locator('#signin-pass').fill(PASS);
	await page.locator('#signin-submit').click();
	await page.locator('#who').filter({ hasText: 'ana (admin)' }).waitFor();
}

const item = (id) => `#queue li[data-id="${id}"]`;

// Opens report id from the queue and waits for its page.
async function open(page, id) {
	await page.locator(`${item(id)} a`).click();
	await page.locator('#r-title').filter({ hasText: `#${id}` }).waitFor();
}

// Presses keys on the page, then waits for the redirect after the form
// they submitted (?done=WORD) and the page it leads to.
async function keysThen(page, keys, done) {
	for (const k of keys)
		await page.keyboard.press(k);
	await page.waitForURL(new RegExp(`done=${done}`));
	await page.locator('#done').waitFor();
}

describe('moderator console', { timeout: 280000 }, () => {
	before(async () => {
		const made = lib.dataDirWithAdmin('sl-browser-', PASS);
		ctx.dir = made.dir;
		ctx.base = await serve(made.data);
		for (const r of REPORTS) {
			const res = await fetch(ctx.base + '/api/v1/reports', {
				method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(r),
			});
			const doc = await res.json();
			assert.equal(res.status, 201, `intake refused a report: ${JSON.stringify(doc)}`);
			ctx.receipts.push(doc.receipt);
			ctx.ids.push(doc.id);
		}
		mkdirSync(ARTIFACTS, { recursive: true });
		ctx.browser = await lib.launchChromium(chromium);
		ctx.page = await watchedPage('js');
	});

	after(async () => {
		if (ctx.browser)
			await ctx.browser.close().catch(() => {});
		const code = await stopServer();
		if (ctx.dir)
			rmSync(ctx.dir, { recursive: true, force: true });
		assert.equal(code, 0, `the server did not stop cleanly (${code}):\n${ctx.server ? ctx.server.log() : ''}`);
	});

	it('serves the console with a strict CSP, and nothing off its list', async () => {
		const res = await fetch(ctx.base + '/mod');
		assert.equal(res.status, 200);
		assert.match(res.headers.get('content-type'), /^text\/html/);
		const csp = res.headers.get('content-security-policy');
		assert.match(csp, /default-src 'none'/);
		assert.match(csp, /script-src 'self'/);
		assert.match(csp, /form-action 'self'/);
		assert.match(csp, /frame-ancestors 'none'/);
		assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
		assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
		assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
		assert.equal(res.headers.get('cache-control'), 'no-store');
		const html = await res.text();
		assert.match(html, /<form method="post" action="\/mod\/sign-in"/);
		assert.doesNotMatch(html, /<script>|<script [^>]*>[^<]|\sstyle=|\son[a-z]+=/);
		const js = await fetch(ctx.base + '/static/mod.js');
		assert.equal(js.status, 200);
		assert.match(js.headers.get('content-type'), /^text\/javascript/);
		for (const p of ['/static/', '/static/mod.html', '/static/../src/http/web.c',
			'/static/vendor/leaflet/leaflet-src.js'])
			assert.equal((await fetch(ctx.base + p)).status, 404, p);
		// Without a session: the sign-in page for every path, nothing else.
		const a = await fetch(ctx.base + '/mod/reports/' + ctx.ids[0]);
		const b = await fetch(ctx.base + '/mod/no-such-page');
		assert.equal(a.status, 401);
		assert.equal(b.status, 401);
		assert.equal(await a.text(), await b.text());
		assert.equal((await fetch(ctx.base + '/mod', { method: 'POST' })).status, 401);
	});

	it('signs in with the form and shows the reports in the queue', async () => {
		const page = ctx.page;
		await signIn(page);
		for (const id of ctx.ids)
			await page.locator(item(id)).waitFor();
		assert.equal(await page.locator('#queue li').count(), REPORTS.length);
		const text = await page.locator(item(ctx.ids[0])).innerText();
		assert.match(text, /Rail transport/);
		assert.match(text, /Asipovichy/);
		assert.match(text, /text/);
	});

	it('opens a report, claims it, grades it B2 and verifies it with the keyboard', async () => {
		const page = ctx.page;
		const id = ctx.ids[0];
		await open(page, id);
		await page.locator('#r-text').filter({ hasText: 'Flatcar train' }).waitFor();
		await page.locator('#map .leaflet-interactive').first().waitFor(); // the circle
		await keysThen(page, ['c'], 'claimed');
		await page.locator('#r-claimed').filter({ hasText: 'ana' }).waitFor();
		await keysThen(page, ['g', 'b', '2'], 'graded');
		await page.locator('#r-grade').filter({ hasText: 'B2' }).waitFor();
		await keysThen(page, ['v'], 'verified');
		await page.locator('#r-status').filter({ hasText: 'verified' }).waitFor();
		assert.equal(await page.locator('.error').count(), 0);
		assert.equal(await informant(0), 'verified');
	});

	it('rejects another report with a reason', async () => {
		const page = ctx.page;
		const id = ctx.ids[1];
		await page.locator('#queue-status').selectOption('all'); // submits the filter
		await page.waitForURL(/status=all/);
		await open(page, id);
		await page.keyboard.press('r');
		assert.equal(await page.evaluate(() => document.activeElement.id), 'reject-reason');
		await page.keyboard.type('No photo, and no second report of a convoy there');
		await page.keyboard.press('Enter');
		await page.waitForURL(/done=rejected.*status=all/);
		await page.locator('#r-status').filter({ hasText: 'rejected' }).waitFor();
		await page.locator('#r-fields').filter({ hasText: 'No photo, and no second report' }).waitFor();
		assert.equal(await informant(1), 'rejected');
	});

	it('shows the new states in the queue', async () => {
		const page = ctx.page;
		await page.locator(`${item(ctx.ids[0])} .status`).filter({ hasText: 'verified' }).waitFor();
		await page.locator(`${item(ctx.ids[1])} .status`).filter({ hasText: 'rejected' }).waitFor();
		// The verified one again, for the picture: grade, map, text.
		await open(page, ctx.ids[0]);
		await page.locator('#r-status').filter({ hasText: 'verified' }).waitFor();
		await page.locator('#map path.mk-near').first().waitFor();
		await page.waitForTimeout(300); // let the borders draw
		await page.screenshot({ path: path.join(ARTIFACTS, 'console.png'), fullPage: true });
	});

	it('makes an event of two reports and lists them in the events view', async () => {
		const page = ctx.page;
		const [first, second, third] = ctx.ids;
		await open(page, first);
		await page.locator('#r-events li.none').waitFor(); // in no event yet
		await keysThen(page, ['N'], 'event');
		const link = page.locator('#r-events li[data-event]');
		await link.waitFor();
		const ev = Number(await link.getAttribute('data-event'));
		assert.ok(ev > 0, `no event id on ${await link.innerHTML()}`);

		// The second report, attached with the keyboard: a, the number, Enter.
		await open(page, second);
		await page.keyboard.press('a');
		assert.equal(await page.evaluate(() => document.activeElement.id), 'event-id');
		await page.keyboard.type(String(ev));
		await page.keyboard.press('Enter');
		await page.waitForURL(/done=attached/);
		await page.locator(`#r-events li[data-event="${ev}"]`).filter({ hasText: '2 reports' }).waitFor();
		assert.equal(await page.locator('.error').count(), 0);

		// e: the events view, with both reports under the new event.
		await page.keyboard.press('e');
		await page.waitForURL(/\/mod\/events$/);
		const card = page.locator(`#events-list article[data-id="${ev}"]`);
		await card.waitFor();
		assert.match(await card.innerText(), /Rail transport[\s\S]*ana[\s\S]*2 reports/);
		await card.locator('h3 a').click();
		await page.locator('#ev-title').filter({ hasText: `#${ev}` }).waitFor();
		for (const id of [first, second])
			await page.locator(`.ev-reports li[data-id="${id}"]`).waitFor();
		assert.equal(await page.locator('.ev-reports li').count(), 2);
		assert.match(await page.locator(`.ev-reports li[data-id="${first}"]`).innerText(), /Asipovichy/);
		await page.screenshot({ path: path.join(ARTIFACTS, 'events.png'), fullPage: true });

		// From the event to its first report: the third is a nearby
		// marker on its map, the second one of the same event.
		await page.locator(`.ev-reports li[data-id="${first}"] a`).click();
		await page.locator('#r-title').filter({ hasText: `#${first}` }).waitFor();
		await page.locator('#map path.mk-near').first().waitFor();
		await page.locator('#map path.mk-event').first().waitFor();
		assert.equal(await page.locator('#map path.mk-near').count(), 1);
		assert.equal(await page.locator('#map path.mk-event').count(), 1);
		assert.equal(await page.locator(`#nearby li.mk-near[data-id="${third}"]`).count(), 1);
		assert.equal(await page.locator(`#nearby li.mk-event[data-id="${second}"]`).count(), 1);
		// The tooltip, as a pointer over the dot would open it (a real
		// hover can miss while the map is still fitting its bounds).
		await page.locator('#map path.mk-near').dispatchEvent('mouseover');
		await page.locator('.leaflet-tooltip').filter({ hasText: `#${third}` }).waitFor();
		await page.locator(`#r-events li[data-event="${ev}"]`).waitFor();
		await page.waitForTimeout(300);
		await page.screenshot({ path: path.join(ARTIFACTS, 'console-event.png'), fullPage: true });
	});

	it('moves in the queue with j and k, and shows the keys with ?', async () => {
		const page = ctx.page;
		await page.goto(ctx.base + '/mod?status=all');
		await page.keyboard.press('j');
		await page.keyboard.press('j');
		await page.keyboard.press('k');
		const sel = page.locator('#queue li.sel');
		assert.equal(await sel.count(), 1);
		const id = await sel.getAttribute('data-id');
		await page.keyboard.press('Enter');
		await page.locator('#r-title').filter({ hasText: `#${id}` }).waitFor();
		await page.keyboard.press('?');
		assert.equal(await page.locator('#help').evaluate((d) => d.open), true);
		await page.keyboard.press('Escape');
		assert.equal(await page.locator('#help').evaluate((d) => d.open), false);
		// n: the next report of the queue.
		const next = await page.locator('#next').getAttribute('href');
		await page.keyboard.press('n');
		await page.waitForURL((u) => u.pathname + u.search === next);
	});

	it('shows the audit log to an admin', async () => {
		const page = ctx.page;
		await page.locator('#nav-audit').click();
		await page.locator('#audit-table tbody tr').first().waitFor();
		const all = await page.locator('#audit-table tbody').innerText();
		for (const a of ['sign_in', 'view', 'claim', 'grade', 'verify', 'reject', 'event_create', 'attach'])
			assert.match(all, new RegExp(`\\b${a}\\b`), a);
	});

	it('fits a phone', async () => {
		const page = ctx.page;
		await page.setViewportSize({ width: 390, height: 844 });
		await page.goto(ctx.base + '/mod');
		await page.locator('#queue').waitFor();
		let w = await page.evaluate(() => document.documentElement.scrollWidth);
		assert.ok(w <= 390, `the queue is ${w} px wide on a 390 px screen`);
		await open(page, ctx.ids[2]);
		assert.equal(await page.locator('#back').isVisible(), true);
		assert.equal(await page.locator('#queue-pane').isVisible(), false);
		w = await page.evaluate(() => document.documentElement.scrollWidth);
		assert.ok(w <= 390, `the report is ${w} px wide on a 390 px screen`);
		await page.locator('#map path.mk-near').first().waitFor();
		await page.waitForTimeout(300);
		await page.screenshot({ path: path.join(ARTIFACTS, 'console-phone.png'), fullPage: true });
		await page.goto(ctx.base + '/mod/events');
		w = await page.evaluate(() => document.documentElement.scrollWidth);
		assert.ok(w <= 390, `the events are ${w} px wide on a 390 px screen`);
		await page.setViewportSize({ width: 1280, height: 860 });
	});

	it('signs out', async () => {
		const page = ctx.page;
		await page.locator('#sign-out').click();
		await page.locator('#signin').waitFor();
		const r = await page.evaluate(async () => (await fetch('/api/v1/mod/queue')).status);
		assert.equal(r, 401);
	});

	it('works without JavaScript: sign in, grade, verify, reject', async () => {
		const page = await watchedPage('nojs', { javaScriptEnabled: false });
		ctx.nojs = page;
		const [, , , fourth, fifth] = ctx.ids;
		await signIn(page);
		await open(page, fourth);
		assert.equal(await page.locator('#map .leaflet-container, .leaflet-container').count(), 0);
		await page.locator('#g-rel').selectOption('C');
		await page.locator('#g-cred').selectOption('3');
		await page.locator('#a-grade').click();
		await page.waitForURL(/done=graded/);
		await page.locator('#r-grade').filter({ hasText: 'C3' }).waitFor();
		await page.locator('#a-verify').click();
		await page.waitForURL(/done=verified/);
		await page.locator('#r-status').filter({ hasText: 'verified' }).waitFor();
		assert.equal(await informant(3), 'verified');

		// A blank reason is refused beside the form, the input kept.
		await page.locator(`${item(fifth)} a`).click();
		await page.locator('#r-title').filter({ hasText: `#${fifth}` }).waitFor();
		await page.locator('#reject-reason').fill('   ');
		await page.locator('#a-reject').click();
		await page.locator('#error-reject').filter({ hasText: 'reason' }).waitFor();
		assert.equal(await page.locator('#reject-reason').inputValue(), '   ');
		assert.equal(await informant(4), 'received');
		await page.locator('#reject-reason').fill('Two hundred soldiers and no one else saw them');
		await page.locator('#a-reject').click();
		await page.waitForURL(/done=rejected/);
		await page.locator('#r-status').filter({ hasText: 'rejected' }).waitFor();
		assert.equal(await informant(4), 'rejected');
		await page.screenshot({ path: path.join(ARTIFACTS, 'console-nojs.png'), fullPage: true });

		await page.locator('#nav-events').click();
		await page.locator('#events-list article').first().waitFor();
		await page.locator('#sign-out').click();
		await page.locator('#signin').waitFor();
	});

	it('logged no error and asked no other origin', () => {
		// Expected: the 401 of the fetch after signing out, and the 422 of
		// the refused reason (a page chromium reports as a failed load).
		const errors = ctx.errors.filter((e) =>
			!/^js: .*status of 401.*\/api\/v1\/mod\/queue/.test(e) &&
			!/^nojs: .*status of 422.*\/reject/.test(e));
		assert.deepEqual(errors, []);
		assert.deepEqual(ctx.foreign, []);
	});
});
