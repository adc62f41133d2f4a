// lib.mjs — what the browser tests share: finding chromium and
// playwright-core (or exiting 77, a skip for meson), running the real
// server on a loopback port, and pages that record every request to
// another origin and every console error.
import { spawn, spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const root = path.resolve(here, '..', '..');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const BIN = process.env.SIGHTLINE_BIN;
export const WEB = process.env.WEB_ROOT || path.join(root, 'web');

export function skip(why) {
	console.log(`# SKIP browser test: ${why}`);
	process.exit(77);
}

// playwright-core's chromium, or a skip when something is missing.
export function loadChromium() {
	if (!BIN)
		skip('SIGHTLINE_BIN is not set (run it through meson, or set it to build/sightline)');
	if (!existsSync(CHROMIUM))
		skip(`${CHROMIUM} is missing (scripts/install-deps installs Debian's chromium)`);
	try {
		return createRequire(path.join(root, 'package.json'))('playwright-core').chromium;
	} catch {
		skip('node_modules/playwright-core is missing (scripts/install-deps runs npm ci)');
	}
}

export function launchChromium(chromium) {
	return chromium.launch({
		executablePath: CHROMIUM,
		args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
			'--disable-background-networking', '--disable-component-update', '--disable-sync'],
	});
}

// Runs `sightline args...` to its end; its standard output.
export function run(args) {
	const r = spawnSync(BIN, args, { encoding: 'utf8', timeout: 60000 });
	assert.equal(r.status, 0, `${BIN} ${args.join(' ')} failed: ${r.stderr}`);
	return r.stdout;
}

// A fresh directory (prefix in the system's temporary directory) with a
// data directory holding one admin, ana, whose passphrase is in passFile:
// { dir, data, passFile }. The caller removes dir.
export function dataDirWithAdmin(prefix, passphrase) {
	const dir = mkdtempSync(path.join(tmpdir(), prefix));
	const data = path.join(dir, 'data');
	mkdirSync(data, { mode: 0o700 });
	const passFile = path.join(dir, 'pass');
	writeFileSync(passFile, passphrase + '\n', { mode: 0o600 });
	run(['moderator', 'add', 'ana', '--role', 'admin', '--data', data, '--passphrase-file', passFile]);
	return { dir, data, passFile };
}

// A running `sightline serve --data dataDir ...args` on 127.0.0.1 port 0:
// resolves with { base, process, log() } once it says where it listens.
export function serve(dataDir, args) {
	return new Promise((resolve, reject) => {
		const p = spawn(BIN, ['serve', '--data', dataDir, '--listen', '127.0.0.1:0',
			'--web', WEB, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
		const s = { process: p, base: null, text: '', log() { return s.text; } };
		const timer = setTimeout(() => {
			p.kill('SIGKILL');
			reject(new Error(`no "listening on" within 20 s:\n${s.text}`));
		}, 20000);
		const onData = (d) => {
			s.text += d;
			const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(s.text);
			if (m && !s.base) {
				clearTimeout(timer);
				s.base = m[1];
				resolve(s);
			}
		};
		p.stdout.setEncoding('utf8').on('data', onData);
		p.stderr.setEncoding('utf8').on('data', (d) => { s.text += d; });
		p.on('exit', (code) => {
			clearTimeout(timer);
			reject(new Error(`the server exited (${code}):\n${s.text}`));
		});
	});
}

// Stops a server from serve() with SIGTERM (SIGKILL after 20 s); resolves
// with its exit code, or the signal that ended it.
export function stop(s) {
	const p = s && s.process;
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

// A new page in a context of its own, watched: every request that does
// not go to base's origin lands in foreign, every console error and page
// error in errors (with name in front).
export async function watchedPage(browser, base, name, errors, foreign, options) {
	const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, ...options });
	const page = await context.newPage();
	page.setDefaultTimeout(15000);
	const origin = new URL(base).origin;
	page.on('request', (req) => {
		const u = req.url();
		if (!u.startsWith('data:') && !u.startsWith('blob:') && new URL(u).origin !== origin)
			foreign.push(u);
	});
	page.on('pageerror', (e) => errors.push(`${name}: page error: ${e.message}`));
	page.on('console', (m) => {
		if (m.type() !== 'error')
			return;
		const loc = m.location();
		errors.push(`${name}: ${m.text()}` + (loc && loc.url ? ` (${loc.url})` : ''));
	});
	return page;
}
