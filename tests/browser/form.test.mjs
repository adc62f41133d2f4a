// form.test.mjs — the informant's web form in Debian's chromium with
// JavaScript disabled, as Tor Browser at its "Safest" level shows it.
//
// Starts the real server ($SIGHTLINE_BIN) with a moderator, then in a
// browser context with javaScriptEnabled: false: opens /report, switches
// language with the links, sends a report with mistakes and sees each
// reason beside its field with everything typed kept, corrects it, adds a
// photo and reaches the receipt page; looks the receipt up at
// /report/status and adds a follow-up; checks the stored report with
// `sightline export` and the sealed text with `sightline unseal`.
// Throughout: no cookie is ever set, no request leaves the server's
// origin, no console error (a CSP violation would be one). Screenshots
// (form.png, form-errors.png, form-receipt.png, form-status.png,
// form-phone.png) go to $ARTIFACT_DIR.
//
// Run by meson (tests/meson.build, suite "browser"); by hand:
//   SIGHTLINE_BIN=build/sightline node --test tests/browser/form.test.mjs
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { dataDirWithAdmin, launchChromium, loadChromium, root, run, serve, stop, watchedPage } from './lib.mjs';

const chromium = loadChromium();
const ARTIFACTS = process.env.ARTIFACT_DIR || path.join(tmpdir(), 'sightline-browser');
const SHARED = process.env.SHARED_DATA || path.join(root, '..', 'shared', 'data');
const PASS = 'correct horse battery staple, for the form';
const RECEIPT = /^[a-z2-7]{4}(-[a-z2-7]{4}){5}-[a-z2-7]{2}$/;

// A 1x1 PNG, for when the shared photos are not there.
const PNG_1x1 = Buffer.from(
	'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
	'base64');

const ctx = { dir: null, server: null, base: null, browser: null, page: null, errors: [], foreign: [], receipt: null };

describe('informant web form without JavaScript', { timeout: 240000 }, () => {
	before(async () => {
		const made = dataDirWithAdmin('sl-form-', PASS);
		ctx.dir = made.dir;
		ctx.passFile = made.passFile;
		ctx.data = made.data;
		ctx.server = await serve(ctx.data, ['--rate-per-client', '0', '--engine-interval', '0',
			'--stations', path.join(root, 'tests', 'data', 'network', 'stations.tsv')]);
		ctx.base = ctx.server.base;
		mkdirSync(ARTIFACTS, { recursive: true });
		ctx.browser = await launchChromium(chromium);
		ctx.page = await watchedPage(ctx.browser, ctx.base, 'form', ctx.errors, ctx.foreign,
			{ javaScriptEnabled: false });
	});

	after(async () => {
		if (ctx.browser)
			await ctx.browser.close().catch(() => {});
		const code = await stop(ctx.server);
		if (ctx.dir)
			rmSync(ctx.dir, { recursive: true, force: true });
		assert.equal(code, 0, `the server did not stop cleanly (${code}):\n${ctx.server ? ctx.server.log() : ''}`);
	});

	it('shows the form with its stylesheet and a strict policy', async () => {
		const page = ctx.page;
		const res = await page.goto(ctx.base + '/report?lang=en');
		assert.equal(res.status(), 200);
		const h = res.headers();
		assert.match(h['content-security-policy'], /default-src 'none'/);
		assert.doesNotMatch(h['content-security-policy'], /script-src|unsafe/);
		assert.equal(h['set-cookie'], undefined);
		assert.equal(await page.locator('html').getAttribute('lang'), 'en');
		assert.equal(await page.locator('h1').innerText(), 'Report what you saw');
		// The stylesheet applied: the bar is dark.
		const bg = await page.locator('header.bar').evaluate((e) => getComputedStyle(e).backgroundColor);
		assert.equal(bg, 'rgb(27, 31, 35)');
		// The languages by their links, and back.
		await page.locator('#langs a[lang="be"]').click();
		await page.waitForURL(/lang=be/);
		assert.equal(await page.locator('html').getAttribute('lang'), 'be');
		assert.match(await page.locator('h1').innerText(), /Паведаміць/);
		await page.locator('#langs a[lang="uk"]').click();
		assert.match(await page.locator('h1').innerText(), /Повідомити/);
		await page.locator('#langs a[lang="ru"]').click();
		assert.match(await page.locator('h1').innerText(), /Сообщить/);
		await page.locator('#langs a[lang="en"]').click();
		await page.waitForURL(/lang=en/);
		await page.screenshot({ path: path.join(ARTIFACTS, 'form.png'), fullPage: true });
	});

	it('shows each mistake beside its field and keeps what was typed', async () => {
		const page = ctx.page;
		await page.locator('#f-category').selectOption('rail_transport');
		await page.locator('#f-place').fill('93.5, 27.5');
		await page.locator('#f-eq1-type').selectOption('tank');
		await page.locator('#f-eq1-count').fill('lots');
		await page.locator('#f-eq2-count').fill('5');
		await page.locator('#f-eq1-model').fill('T-72B3');
		await page.locator('#f-heading').selectOption('S');
		await page.locator('#f-text').fill('Flatcars with tanks under tarpaulins, going south');
		await page.locator('#send').click();
		await page.locator('#errors').waitFor();
		assert.match(await page.locator('#e-place').innerText(), /outside -90..90/);
		assert.match(await page.locator('#e-eq1-count').innerText(), /A number such as 12/);
		assert.match(await page.locator('#e-eq2-type').innerText(), /Choose the kind/);
		assert.equal(await page.locator('#f-place').getAttribute('aria-invalid'), 'true');
		assert.equal(await page.locator('#f-place').inputValue(), '93.5, 27.5');
		assert.equal(await page.locator('#f-eq1-count').inputValue(), 'lots');
		assert.equal(await page.locator('#f-eq1-model').inputValue(), 'T-72B3');
		assert.equal(await page.locator('#f-category').inputValue(), 'rail_transport');
		assert.equal(await page.locator('#f-heading').inputValue(), 'S');
		assert.equal(await page.locator('#f-text').inputValue(), 'Flatcars with tanks under tarpaulins, going south');
		// The summary links to the fields.
		assert.equal(await page.locator('#errors a[href="#f-place"]').count(), 1);
		await page.screenshot({ path: path.join(ARTIFACTS, 'form-errors.png'), fullPage: true });
	});

	it('takes the corrected report with a photo and shows the receipt once', async () => {
		const page = ctx.page;
		await page.locator('#f-place').fill('Orsha station');
		await page.locator('#f-eq1-count').fill('10-12');
		await page.locator('#f-eq2-count').fill('');
		const photo = path.join(SHARED, 'exif-samples', 'jpg_gps_DSCN0010.jpg');
		if (existsSync(photo))
			await page.locator('#f-photo').setInputFiles(photo);
		else
			await page.locator('#f-photo').setInputFiles({ name: 'p.png', mimeType: 'image/png', buffer: PNG_1x1 });
		await page.locator('#send').click();
		await page.locator('#receipt').waitFor();
		ctx.receipt = (await page.locator('#receipt').innerText()).trim();
		assert.match(ctx.receipt, RECEIPT);
		assert.match(await page.locator('h1').innerText(), /Report received/);
		assert.match(await page.locator('#receipt-how').innerText(), /shown only once|Check a report/);
		await page.screenshot({ path: path.join(ARTIFACTS, 'form-receipt.png'), fullPage: true });
		// Reloading the receipt page does not show it again (no-store; a
		// re-post would be a new report, which the browser asks about).
		assert.deepEqual(await page.context().cookies(), []);
	});

	it('stored the report, sealed its text and photo', () => {
		const lines = run(['export', '--data', ctx.data]).trim().split('\n');
		assert.equal(lines.length, 1);
		const r = JSON.parse(lines[0]);
		assert.equal(r.category, 'rail_transport');
		// "Orsha station": not in the test station list, so the town.
		assert.equal(r.location.place, 'Orsha station');
		assert.ok(Math.abs(r.location.lat - 54.52) < 0.01, JSON.stringify(r));
		assert.deepEqual(r.equipment, [{ type: 'tank', model: 'T-72B3', count: 10, count_max: 12 }]);
		assert.equal(r.heading, 180);
		assert.equal(r.language, 'en');
		assert.equal(r.text, undefined);
		const out = JSON.parse(run(['unseal', '--data', ctx.data, '--moderator', 'ana',
			'--passphrase-file', ctx.passFile, String(r.id)]));
		assert.equal(out.text, 'Flatcars with tanks under tarpaulins, going south');
		assert.equal(out.photos.length, 1);
	});

	it('finds the report by its receipt and takes a follow-up', async () => {
		const page = ctx.page;
		await page.locator('#to-status').click();
		await page.locator('#f-receipt').fill(ctx.receipt.toUpperCase());
		await page.locator('#check').click();
		await page.locator('#status').waitFor();
		assert.equal(await page.locator('#status').getAttribute('data-status'), 'received');
		assert.match(await page.locator('#status').innerText(), /received/);
		await page.locator('#f-add').fill('It left towards Smolensk at 09:10');
		await page.locator('#add').click();
		await page.locator('#added').waitFor();
		assert.match(await page.locator('#added').innerText(), /Added/);
		await page.screenshot({ path: path.join(ARTIFACTS, 'form-status.png'), fullPage: true });
		// A wrong receipt: said beside the field, kept.
		await page.locator('#f-receipt').fill('not-a-receipt');
		await page.locator('#check').click();
		await page.locator('#e-receipt').waitFor();
		assert.equal(await page.locator('#f-receipt').inputValue(), 'not-a-receipt');
		assert.deepEqual(await page.context().cookies(), []);
	});

	it('fits a phone', async () => {
		const page = ctx.page;
		await page.setViewportSize({ width: 390, height: 844 });
		await page.goto(ctx.base + '/report?lang=ru');
		const w = await page.evaluate(() => document.documentElement.scrollWidth);
		assert.ok(w <= 390, `the form is ${w} px wide on a 390 px screen`);
		await page.screenshot({ path: path.join(ARTIFACTS, 'form-phone.png'), fullPage: true });
	});

	it('asked no other origin and logged no error but the refusals', () => {
		// Expected: the 422 pages of the two refused posts, which chromium
		// reports as failed loads.
		const errors = ctx.errors.filter((e) => !/status of 422/.test(e));
		assert.deepEqual(errors, []);
		assert.deepEqual(ctx.foreign, []);
	});
});
