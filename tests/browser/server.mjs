// server.mjs — what the browser tests share: running the sightline
// command, and starting and stopping `sightline serve` on a free port.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';

// Runs `bin args...` and returns its stdout; fails unless it exits 0.
export function runCli(bin, args) {
	const r = spawnSync(bin, args, { encoding: 'utf8', timeout: 60000 });
	assert.equal(r.status, 0, `${bin} ${args.join(' ')} failed: ${r.stderr}`);
	return r.stdout;
}

// Starts `bin args...` (a `serve` on 127.0.0.1:0) and resolves with its base
// URL from the "listening on" line. Keeps the process in ctx.server and
// everything it prints in ctx.log.
export function startServer(bin, args, ctx) {
	return new Promise((resolve, reject) => {
		const p = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
		ctx.server = p;
		ctx.log = ctx.log || '';
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

// Stops ctx.server (SIGTERM, SIGKILL after 20 s); resolves with its exit
// code, or the signal's name.
export function stopServer(ctx) {
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
