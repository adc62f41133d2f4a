// console.test.mjs — the moderator console in a real browser.
//
// Starts the real server ($SIGHTLINE_BIN) on a fresh data directory with an
// admin, sends it three reports with text the way an informant's client does,
// then drives Debian's chromium through playwright-core: sign in, see the
// reports in the queue, grade one B2 and verify it, reject another with a
// reason, and check that the page and the informants' status endpoint both
// show the new states; then make an event from the first report, attach the
// second, find both in the events view, and see the third (near the first in
// place and time) and the second (same event) as markers on the first's map.
// On the way it asserts that the page logs no error and asks no origin but
// the server for anything, and saves screenshots (console.png, events.png,
// console-event.png, console-phone.png) to $ARTIFACT_DIR.
//
// Run by meson (tests/meson.build, suite "browser"); by hand:
//   SIGHTLINE_BIN=build/sightline node --test tests/browser/
// Exits 77 (a skip for meson) when chromium or playwright-core is missing;
// scripts/install-deps installs both.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const BIN = process.env.SIGHTLINE_BIN;
const ARTIFACTS = process.env.ARTIFACT_DIR || path.join(tmpdir(), 'sightline-browser');
const WEB = process.env.WEB_ROOT || path.join(root, 'web');
const PASS = 'correct horse battery staple, twice';

function skip(why) {
	console.log(`# SKIP browser test: ${why}`);
	process.exit(77);
}

if (!BIN)
	skip('SIGHTLINE_BIN is not set (run it through meson, or set it to build/sightline)');
if (!existsSync(CHROMIUM))
	skip(`${CHROMIUM} is missing (scripts/install-deps installs Debian's chromium)`);
let chromium;
try {
	chromium = createRequire(path.join(root, 'package.json'))('playwright-core').chromium;
} catch {
	skip('node_modules/playwright-core is missing (scripts/install-deps runs npm ci)');
}

// Reports informants might send about a train and two convoys: the third is
// 42 km from the first and two and a half hours later (a "nearby" report).
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
];

const ctx = {
	dir: null, server: null, base: null, log: '',
	browser: null, page: null, receipts: [], ids: [],
	errors: [], foreign: [],
};

function run(args) {
	const r = spawnSync(BIN, args, { encoding: 'utf8', timeout: 60000 });
	assert.equal(r.status, 0, `${BIN} ${args.join(' ')} failed: ${r.stderr}`);
	return r.stdout;
}

// Starts `serve` and resolves with its base URL from the "listening on" line.
function serve(dataDir) {
	return new Promise((resolve, reject) => {
		const p = spawn(BIN, ['serve', '--data', dataDir, '--listen', '127.0.0.1:0',
			'--web', WEB, '--rate-per-client', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
		ctx.server = p;
		const timer = setTimeout(() => reject(new Error(`no "listening on" within 20 s:\n${ctx.log}`)), 20000);
		const onData = (d) => {
			ctx.log += d;
			const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(ctx.log);
			if (m) {
				clearTimeout(timer);
				resolve(m[1]);
			}
		};
		p.stdout.setEncoding('utf8').on('data', onData);
		p.stderr.setEncoding('utf8').on('data', (d) => { ctx.log += d; });
		p.on('exit', (code) => {
			clearTimeout(timer);
			reject(new Error(`the server exited (${code}):\n${ctx.log}`));
		});
	});
}

function stopServer() {
	const p = ctx.server;
	if (!p || p.exitCode !== null)
		return Promise.resolve(p ? p.exitCode : 0);
	return new Promise((resolve) => {
		const t = setTimeout(() => p.kill('SIGKILL'), 20000);
		p.removeAllListeners('exit');
		p.on('exit', (code, sig) => {
			clearTimeout(t);
			resolve(code ?? sig);
		});
		p.kill('SIGTERM');
	});
}

async function getJson(url) {
	const res = await fetch(url);
	return { status: res.status, body: await res.json().catch(() => null), headers: res.headers };
}

const item = (id) => `#queue li[data-id="${id}"]`;

describe('moderator console', { timeout: 240000 }, () => {
	before(async () => {
		ctx.dir = mkdtempSync(path.join(tmpdir(), 'sl-browser-'));
		const data = path.join(ctx.dir, 'data');
		mkdirSync(data, { mode: 0o700 });
		const passFile = path.join(ctx.dir, 'pass');
		writeFileSync(passFile, PASS + '\n', { mode: 0o600 });
		run(['moderator', 'add', 'ana', '--role', 'admin', '--data', data, '--passphrase-file', passFile]);
		ctx.base = await serve(data);
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
		ctx.browser = await chromium.launch({
			executablePath: CHROMIUM,
			args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
				'--disable-background-networking', '--disable-component-update', '--disable-sync'],
		});
		const context = await ctx.browser.newContext({ viewport: { width: 1280, height: 860 } });
		const page = await context.newPage();
		page.setDefaultTimeout(15000);
		ctx.page = page;
		const origin = new URL(ctx.base).origin;
		page.on('request', (req) => {
			const u = req.url();
			if (!u.startsWith('data:') && !u.startsWith('blob:') && new URL(u).origin !== origin)
				ctx.foreign.push(u);
		});
		page.on('pageerror', (e) => ctx.errors.push('page error: ' + e.message));
		page.on('console', (m) => {
			if (m.type() !== 'error')
				return;
			// Opening the page asks the server who is signed in: before
			// the first sign-in that is a 401, which chromium logs.
			const loc = m.location();
			if (/status of 401/.test(m.text()) && loc && /\/api\/v1\/session$/.test(loc.url))
				return;
			ctx.errors.push(m.text() + (loc && loc.url ? ` (${loc.url})` : ''));
		});
	});

	after(async () => {
		if (ctx.browser)
			await ctx.browser.close().catch(() => {});
		const code = await stopServer();
		if (ctx.dir)
			rmSync(ctx.dir, { recursive: true, force: true });
		assert.equal(code, 0, `the server did not stop cleanly (${code}):\n${ctx.log}`);
	});

	it('serves the console with a strict CSP, and nothing off its list', async () => {
		const res = await fetch(ctx.base + '/mod');
		assert.equal(res.status, 200);
		assert.match(res.headers.get('content-type'), /^text\/html/);
		const csp = res.headers.get('content-security-policy');
		assert.match(csp, /default-src 'none'/);
		assert.match(csp, /script-src 'self'/);
		assert.match(csp, /frame-ancestors 'none'/);
		assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
		const js = await fetch(ctx.base + '/static/mod.js');
		assert.equal(js.status, 200);
		assert.match(js.headers.get('content-type'), /^text\/javascript/);
		for (const p of ['/static/', '/static/mod.html', '/static/../src/http/web.c',
			'/static/vendor/leaflet/leaflet-src.js', '/mod/x'])
			assert.equal((await fetch(ctx.base + p)).status, 404, p);
		assert.equal((await fetch(ctx.base + '/mod', { method: 'POST' })).status, 405);
	});

	it('signs in and shows the reports in the queue', async () => {
		const page = ctx.page;
		await page.goto(ctx.base + '/mod');
		await page.locator('#signin-name').fill('ana');
		await page.locator('#signin-pass').fill(PASS);
		await page.locator('#signin-submit').click();
		await page.locator('#who').filter({ hasText: 'ana (admin)' }).waitFor();
		for (const id of ctx.ids)
			await page.locator(item(id)).waitFor();
		assert.equal(await page.locator('#queue li').count(), REPORTS.length);
		const text = await page.locator(item(ctx.ids[0])).innerText();
		assert.match(text, /Rail transport/);
		assert.match(text, /Asipovichy/);
		assert.match(text, /text/);
	});

	it('opens a report, grades it B2 and verifies it with the keyboard', async () => {
		const page = ctx.page;
		const id = ctx.ids[0];
		await page.locator(item(id)).click();
		await page.locator('#r-title').filter({ hasText: `#${id}` }).waitFor();
		await page.locator('#r-text').filter({ hasText: 'Flatcar train' }).waitFor();
		await page.locator('#map .leaflet-interactive').first().waitFor(); // the circle
		await page.keyboard.press('c');
		await page.locator('#r-claimed').filter({ hasText: 'ana' }).waitFor();
		await page.keyboard.press('g');
		await page.keyboard.press('b');
		await page.keyboard.press('2');
		await page.locator('#r-grade').filter({ hasText: 'B2' }).waitFor();
		await page.keyboard.press('v');
		await page.locator('#r-status').filter({ hasText: 'verified' }).waitFor();
		assert.equal(await page.locator('#report-error').isVisible(), false,
			await page.locator('#report-error').innerText());
	});

	it('rejects the other report with a reason', async () => {
		const page = ctx.page;
		const id = ctx.ids[1];
		await page.locator('#queue-status').selectOption('all');
		await page.locator(item(id)).click();
		await page.locator('#r-title').filter({ hasText: `#${id}` }).waitFor();
		await page.keyboard.press('r');
		await page.locator('#reject-reason').fill('No photo, and no second report of a convoy there');
		await page.keyboard.press('Enter');
		await page.locator('#r-status').filter({ hasText: 'rejected' }).waitFor();
		await page.locator('#r-fields').filter({ hasText: 'No photo, and no second report' }).waitFor();
	});

	it('shows the new states in the queue, and tells the informants', async () => {
		const page = ctx.page;
		await page.locator(`${item(ctx.ids[0])} .status`).filter({ hasText: 'verified' }).waitFor();
		await page.locator(`${item(ctx.ids[1])} .status`).filter({ hasText: 'rejected' }).waitFor();
		const want = ['verified', 'rejected'];
		for (let i = 0; i < 2; i++) {
			const r = await getJson(`${ctx.base}/api/v1/reports/${ctx.receipts[i]}`);
			assert.equal(r.status, 200);
			assert.equal(r.body.status, want[i], `report ${ctx.ids[i]}: ${JSON.stringify(r.body)}`);
		}
		// The verified one again, for the picture: grade, map, text.
		await page.locator(item(ctx.ids[0])).click();
		await page.locator('#r-status').filter({ hasText: 'verified' }).waitFor();
		await page.waitForTimeout(300); // let the map settle
		await page.screenshot({ path: path.join(ARTIFACTS, 'console.png'), fullPage: true });
	});

	it('makes an event of two reports and lists them in the events view', async () => {
		const page = ctx.page;
		const [first, second, third] = ctx.ids;
		await page.locator(item(first)).click();
		await page.locator('#r-title').filter({ hasText: `#${first}` }).waitFor();
		await page.locator('#r-events li.none').waitFor(); // in no event yet
		await page.locator('#a-event-new').click();
		const link = page.locator('#r-events li[data-event]');
		await link.waitFor();
		const ev = Number(await link.getAttribute('data-event'));
		assert.ok(ev > 0, `no event id on ${await link.innerHTML()}`);

		// The second report, attached with the keyboard: a, the number, Enter.
		await page.locator(item(second)).click();
		await page.locator('#r-title').filter({ hasText: `#${second}` }).waitFor();
		await page.keyboard.press('a');
		await page.locator('#event-id').fill(String(ev));
		await page.keyboard.press('Enter');
		await page.locator(`#r-events li[data-event="${ev}"]`).filter({ hasText: '2 reports' }).waitFor();
		await page.locator('#event-form').waitFor({ state: 'hidden' });
		assert.equal(await page.locator('#report-error').isVisible(), false,
			await page.locator('#report-error').innerText());

		// e: the events view, the new event selected with both reports.
		await page.keyboard.press('e');
		await page.locator('#events').waitFor();
		const row = page.locator(`#events-table tr[data-id="${ev}"]`);
		await row.waitFor();
		assert.match(await row.innerText(), /Rail transport[\s\S]*ana[\s\S]*2/);
		await row.click();
		await page.locator('#ev-title').filter({ hasText: `#${ev}` }).waitFor();
		for (const id of [first, second])
			await page.locator(`#ev-reports li[data-id="${id}"]`).waitFor();
		assert.equal(await page.locator('#ev-reports li').count(), 2);
		assert.match(await page.locator(`#ev-reports li[data-id="${first}"]`).innerText(), /Asipovichy/);
		await page.screenshot({ path: path.join(ARTIFACTS, 'events.png'), fullPage: true });

		// From the event to its first report: the third is a nearby
		// marker on its map, the second one of the same event.
		await page.locator(`#ev-reports li[data-id="${first}"]`).click();
		await page.locator('#report').waitFor();
		await page.locator('#r-title').filter({ hasText: `#${first}` }).waitFor();
		await page.locator('#map path.mk-near').first().waitFor();
		await page.locator('#map path.mk-event').first().waitFor();
		assert.equal(await page.locator('#map path.mk-near').count(), 1);
		assert.equal(await page.locator('#map path.mk-event').count(), 1);
		// The tooltip, as a pointer over the dot would open it (a real
		// hover can miss while the map is still fitting its bounds).
		await page.locator('#map path.mk-near').dispatchEvent('mouseover');
		await page.locator('.leaflet-tooltip').filter({ hasText: `#${third}` }).waitFor();
		await page.locator(`#r-events li[data-event="${ev}"]`).waitFor();
		await page.screenshot({ path: path.join(ARTIFACTS, 'console-event.png'), fullPage: true });
	});

	it('shows the audit log to an admin', async () => {
		const page = ctx.page;
		await page.locator('#nav-audit').click();
		await page.locator('#audit-table tbody tr').first().waitFor();
		const all = await page.locator('#audit-table tbody').innerText();
		assert.match(all, /sign_in/);
		assert.match(all, /event_create/);
		assert.match(all, /attach/);
		await page.locator('#nav-queue').click();
	});

	it('fits a phone', async () => {
		const page = ctx.page;
		await page.setViewportSize({ width: 390, height: 844 });
		await page.keyboard.press('Escape');
		await page.locator(item(ctx.ids[0])).click();
		await page.locator('#back').waitFor();
		const w = await page.evaluate(() => document.documentElement.scrollWidth);
		assert.ok(w <= 390, `the page is ${w} px wide on a 390 px screen`);
		await page.screenshot({ path: path.join(ARTIFACTS, 'console-phone.png'), fullPage: true });
	});

	it('signs out', async () => {
		const page = ctx.page;
		await page.locator('#sign-out').click();
		await page.locator('#signin').waitFor();
		const r = await page.evaluate(async () => (await fetch('/api/v1/mod/queue')).status);
		assert.equal(r, 401);
	});

	it('logged no error and asked no other origin', () => {
		// The 401 just above is expected; every other error is not.
		const errors = ctx.errors.filter((e) => !/status of 401.*\/api\/v1\/mod\/queue/.test(e));
		assert.deepEqual(errors, []);
		assert.deepEqual(ctx.foreign, []);
	});
});
