/*
 * mod.js — the moderator console (docs/MODERATION.md).
 *
 * A small vanilla script over the moderators' JSON API (docs/API.md):
 * sign in, the queue sorted by urgency, one report at a time with its
 * sealed text opened by the server for this session, one-key actions, and
 * an events view (reports a moderator grouped by hand), and
 * an audit log view for admins. Everything it loads comes from this server
 * (the page's Content-Security-Policy allows nothing else).
 *
 * The session cookie is HttpOnly; the CSRF token lives in this script's
 * memory only (never localStorage) and goes as X-CSRF-Token with every
 * request that changes anything. After a reload it is fetched again from
 * GET /api/v1/session. Every string from the server is put into the page
 * with textContent, never as HTML.
 */
'use strict';

(function () {
	const API = '/api/v1';
	const CATEGORY = {
		rail_transport: 'Rail transport', road_convoy: 'Road convoy',
		aircraft: 'Aircraft', helicopter: 'Helicopter', troops: 'Troops',
		air_defence: 'Air defence', missile_system: 'Missile system',
		naval: 'Naval', fortification: 'Fortification', other: 'Other',
	};
	const STATUS = {
		received: 'received', under_review: 'under review',
		verified: 'verified', rejected: 'rejected',
	};

	const state = {
		csrf: null,      /* the session's CSRF token, memory only */
		me: null,        /* {name, role} */
		queue: [],       /* sorted, as shown */
		sel: -1,         /* the selected row */
		report: null,    /* the open report */
		keys: '',        /* a grade being typed: "g", "gB" */
		world: null,     /* country borders, GeoJSON, loaded once */
		map: null, mapLayer: null,
		nearLayer: null, /* other reports near in place and time, same event */
		mapView: null,   /* the bounds the map is fitted to */
		all: [],         /* the queue with status=all: clear fields only */
		events: [],      /* the events view's list */
		evSel: null,     /* the selected event's id */
		evMode: 'attach', /* what the event form does: attach or detach */
	};

	/* Nearby reports on a report's map: this far and this close in time. */
	const NEAR_KM = 50;
	const NEAR_MS = 24 * 3600 * 1000;

	const $ = (id) => document.getElementById(id);

	function el(tag, cls, text) {
		const e = document.createElement(tag);
		if (cls)
			e.className = cls;
		if (text !== undefined && text !== null)
			e.textContent = String(text);
		return e;
	}

	function show(node, on) {
		node.hidden = !on;
	}

	/* ---- the API ---- */

	class ApiError extends Error {
		constructor(status, detail) {
			super(detail);
			this.status = status;
		}
	}

	/* fetch with the CSRF token on state changes; JSON in and out; a
	 * problem document becomes an ApiError carrying its detail. */
	async function api(method, path, body) {
		const headers = {};
		if (method !== 'GET' && method !== 'HEAD' && state.csrf)
			headers['X-CSRF-Token'] = state.csrf;
		const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
		if (body !== undefined) {
			headers['Content-Type'] = 'application/json';
			init.body = JSON.stringify(body);
		}
		let res;
		try {
			res = await fetch(API + path, init);
		} catch (e) {
			throw new ApiError(0, 'the server cannot be reached');
		}
		if (res.status === 204)
			return null;
		const type = res.headers.get('Content-Type') || '';
		const doc = type.includes('json') ? await res.json().catch(() => null) : null;
		if (!res.ok) {
			if (res.status === 401 && path !== '/session')
				signedOut('Your session has ended; sign in again.');
			const detail = doc && doc.detail ? doc.detail : res.status + ' ' + res.statusText;
			throw new ApiError(res.status, detail);
		}
		return doc;
	}

	function showError(id, err) {
		const p = $(id);
		if (!err) {
			p.textContent = '';
			show(p, false);
			return;
		}
		p.textContent = err instanceof ApiError || err instanceof Error ? err.message : String(err);
		show(p, true);
	}

	/* ---- signing in and out ---- */

	function signedOut(message) {
		state.csrf = null;
		state.me = null;
		state.queue = [];
		state.report = null;
		show($('nav'), false);
		show($('console'), false);
		show($('audit'), false);
		show($('events'), false);
		show($('signin'), true);
		showError('signin-error', message || null);
		$('signin-pass').value = '';
		$('signin-name').focus();
	}

	function signedIn(doc) {
		state.csrf = doc.csrf;
		state.me = { name: doc.name, role: doc.role };
		$('who').textContent = doc.name + (doc.role === 'admin' ? ' (admin)' : '');
		show($('nav-audit'), doc.role === 'admin');
		show($('signin'), false);
		show($('nav'), true);
		showQueueView();
		loadQueue();
	}

	async function signIn(ev) {
		ev.preventDefault();
		showError('signin-error', null);
		const name = $('signin-name').value.trim();
		const pass = $('signin-pass').value;
		$('signin-submit').disabled = true;
		try {
			const doc = await api('POST', '/session', { name, passphrase: pass });
			$('signin-pass').value = '';
			signedIn(doc);
		} catch (e) {
			showError('signin-error', e);
		} finally {
			$('signin-submit').disabled = false;
		}
	}

	async function signOut() {
		try {
			await api('DELETE', '/session');
		} catch (e) {
			/* signed out here in any case */
		}
		signedOut('Signed out.');
	}

	/* ---- the queue ---- */

	function place(r) {
		const loc = r.location || r;
		if (loc.place)
			return loc.place;
		if (typeof loc.lat === 'number')
			return loc.lat.toFixed(4) + ', ' + loc.lon.toFixed(4);
		return 'no place';
	}

	function when(t) {
		return t ? t.replace('T', ' ').replace(/:00Z$/, 'Z') : '—';
	}

	function gradeText(g) {
		return g && g.reliability ? g.reliability + g.credibility : '';
	}

	async function loadQueue() {
		showError('queue-error', null);
		const status = $('queue-status').value;
		let doc;
		try {
			doc = await api('GET', '/mod/queue?status=' + encodeURIComponent(status) + '&limit=500');
		} catch (e) {
			showError('queue-error', e);
			return;
		}
		const list = (doc && doc.reports) || [];
		list.sort((a, b) => (b.urgency || 0) - (a.urgency || 0) ||
			String(a.received_at).localeCompare(String(b.received_at)));
		const keep = state.sel >= 0 && state.queue[state.sel] ? state.queue[state.sel].id : null;
		state.queue = list;
		state.sel = list.findIndex((r) => r.id === (state.report ? state.report.id : keep));
		if (state.sel < 0 && list.length)
			state.sel = 0;
		renderQueue();
	}

	function renderQueue() {
		const ol = $('queue');
		ol.replaceChildren();
		state.queue.forEach((r, i) => {
			const li = reportItem(r);
			if (i === state.sel)
				li.classList.add('sel');
			if (state.report && state.report.id === r.id)
				li.classList.add('open');
			li.addEventListener('click', () => {
				state.sel = i;
				openReport(r.id);
			});
			ol.append(li);
		});
		$('queue-count').textContent = state.queue.length ? '(' + state.queue.length + ')' : '';
		show($('queue-empty'), state.queue.length === 0);
	}

	/* One report as a row of the queue (or of an event's list): its
	 * clear fields only. */
	function reportItem(r) {
		const li = el('li', 'item');
		li.dataset.id = r.id;
		li.tabIndex = -1;
		const top = el('div', 'row1');
		top.append(el('span', 'cat cat-' + r.category, CATEGORY[r.category] || r.category));
		top.append(el('span', 'status st-' + r.status, STATUS[r.status] || r.status));
		top.append(el('span', 'id', '#' + r.id));
		const mid = el('div', 'row2');
		mid.append(el('span', 'place', place(r)));
		mid.append(el('time', 'time', when(r.observed_at)));
		const badges = el('div', 'badges');
		if (r.n_photos)
			badges.append(el('span', 'badge photo', r.n_photos + (r.n_photos === 1 ? ' photo' : ' photos')));
		if (r.has_text)
			badges.append(el('span', 'badge text', 'text'));
		if (r.claimed_by)
			badges.append(el('span', 'badge claimed', 'claimed: ' + r.claimed_by));
		if (r.grade)
			badges.append(el('span', 'badge grade', gradeText(r.grade)));
		if (typeof r.urgency === 'number')
			badges.append(el('span', 'urgency', 'urgency ' + Math.round(r.urgency * 100) / 100));
		li.append(top, mid, badges);
		return li;
	}

	function moveSel(d) {
		if (!state.queue.length)
			return;
		state.sel = Math.max(0, Math.min(state.queue.length - 1, state.sel + d));
		renderQueue();
		const li = $('queue').children[state.sel];
		if (li)
			li.scrollIntoView({ block: 'nearest' });
	}

	function openNext() {
		if (!state.queue.length)
			return;
		let i = state.report ? state.queue.findIndex((r) => r.id === state.report.id) + 1 : state.sel;
		if (i < 0 || i >= state.queue.length)
			i = 0;
		state.sel = i;
		openReport(state.queue[i].id);
	}

	/* ---- one report ---- */

	async function openReport(id) {
		showError('report-error', null);
		let r;
		try {
			r = await api('GET', '/mod/reports/' + encodeURIComponent(id));
		} catch (e) {
			show($('report-none'), false);
			show($('report'), true);
			showError('report-error', e);
			return;
		}
		state.report = r;
		state.keys = '';
		document.body.classList.add('reading'); /* before the map is sized */
		renderReport();
		renderQueue();
		await loadContext(r);
	}

	/* What the report view shows around the report: its events (with
	 * their reports) and the other reports of the queue's "all" list —
	 * clear fields only, so no GET of another report (that would be a
	 * "view" in the audit log and unseal it). */
	async function loadContext(r) {
		const ids = r.events || [];
		let all, events;
		try {
			[all, events] = await Promise.all([loadAll(),
				Promise.all(ids.map((id) => api('GET', '/mod/events/' + encodeURIComponent(id))))]);
		} catch (e) {
			if (state.report === r)
				$('map-note').textContent = 'Other reports could not be loaded: ' + e.message;
			return;
		}
		if (state.report !== r)
			return; /* another report was opened meanwhile */
		renderReportEvents(r, events);
		drawNeighbours(r, all, events);
	}

	async function loadAll() {
		const doc = await api('GET', '/mod/queue?status=all&limit=500');
		state.all = (doc && doc.reports) || [];
		return state.all;
	}

	function renderReportEvents(r, events) {
		const ul = $('r-events');
		ul.replaceChildren();
		const ids = r.events || [];
		if (!ids.length)
			ul.append(el('li', 'none', 'not linked to an event'));
		ids.forEach((id) => {
			const ev = events && events.find((e) => e.id === id);
			const li = el('li');
			li.dataset.event = id;
			const go = el('button', 'link ev-link', 'event #' + id);
			go.type = 'button';
			go.title = 'Open event #' + id;
			go.addEventListener('click', () => showEvents(id));
			li.append(go);
			if (ev) {
				const n = ev.report_ids.length;
				li.append(el('span', 'ev-about', (ev.category ? (CATEGORY[ev.category] || ev.category) + ', ' : '') +
					n + (n === 1 ? ' report' : ' reports')));
			}
			const d = el('button', 'small', 'Detach');
			d.type = 'button';
			d.title = 'Detach this report from event #' + id;
			d.addEventListener('click', () => eventAct('detach', id));
			li.append(d);
			ul.append(li);
		});
		show($('a-detach'), ids.length > 0);
	}

	function field(dl, name, value) {
		if (value === undefined || value === null || value === '')
			return;
		dl.append(el('dt', null, name), el('dd', null, value));
	}

	function equipment(list) {
		if (!list || !list.length)
			return '';
		return list.map((e) => {
			const n = e.count_max && e.count_max !== e.count ? e.count + '–' + e.count_max : e.count;
			return n + ' × ' + e.type.replace('_', ' ') + (e.model ? ' (' + e.model + ')' : '');
		}).join(', ');
	}

	function renderReport() {
		const r = state.report;
		show($('report-none'), false);
		show($('report'), true);
		$('r-title').textContent = '#' + r.id + ' ' + (CATEGORY[r.category] || r.category);
		const st = $('r-status');
		st.textContent = STATUS[r.status] || r.status;
		st.className = 'status st-' + r.status;
		const g = $('r-grade');
		g.textContent = r.grade ? 'grade ' + gradeText(r.grade) : '';
		show(g, !!r.grade);
		const cl = $('r-claimed');
		cl.textContent = r.claimed_by ? 'claimed: ' + r.claimed_by : '';
		show(cl, !!r.claimed_by);
		const mine = r.claimed_by && state.me && r.claimed_by === state.me.name;
		show($('a-claim'), !mine);
		show($('a-release'), !!mine);
		if (r.grade) {
			$('g-rel').value = r.grade.reliability;
			$('g-cred').value = String(r.grade.credibility);
		} else {
			$('g-rel').value = '';
			$('g-cred').value = '';
		}
		show($('reject-form'), false);
		show($('grade-prompt'), false);

		const loc = r.location || r;
		const dl = $('r-fields');
		dl.replaceChildren();
		field(dl, 'Observed', when(r.observed_at) + (r.observed_until ? ' – ' + when(r.observed_until) : ''));
		field(dl, 'Received', when(r.received_at));
		field(dl, 'Place', loc.place);
		if (typeof loc.lat === 'number')
			field(dl, 'Point', loc.lat.toFixed(5) + ', ' + loc.lon.toFixed(5) +
				(loc.uncertainty_m !== undefined ? ' ± ' + Math.round(loc.uncertainty_m) + ' m' : ''));
		field(dl, 'Equipment', equipment(r.equipment));
		if (typeof r.heading === 'number')
			field(dl, 'Heading', Math.round(r.heading) + '°');
		field(dl, 'Destination', r.destination);
		field(dl, 'Language', r.language);
		field(dl, 'Ref', r.ref);
		field(dl, 'Rejected because', r.reject_reason);

		setText('r-text', r.text, 'no text');
		setText('r-contact', r.contact, 'no contact');
		const fu = $('r-followups');
		fu.replaceChildren();
		(r.followups || []).forEach((f) => {
			const li = el('li');
			li.append(el('time', 'time', when(f.received_at)), el('p', 'text', f.text));
			fu.append(li);
		});
		if (!fu.children.length)
			fu.append(el('li', 'none', 'none'));
		renderReportEvents(r, null);
		show($('event-form'), false);

		const ph = $('r-photos');
		ph.replaceChildren();
		(r.photos || []).forEach((p) => {
			const img = el('img');
			img.src = p.url || API + '/mod/reports/' + r.id + '/photos/' + p.n;
			img.alt = 'photo ' + p.n;
			img.loading = 'lazy';
			ph.append(img);
		});

		const notes = $('r-notes');
		notes.replaceChildren();
		(r.notes || []).forEach((n) => {
			const li = el('li');
			li.append(el('span', 'author', n.author), el('time', 'time', when(n.at)), el('p', 'text', n.text));
			notes.append(li);
		});
		renderMap(loc);
	}

	function setText(id, value, none) {
		const p = $(id);
		p.textContent = value || none;
		p.classList.toggle('none', !value);
	}

	/* ---- the map: Natural Earth borders, no tile server ---- */

	async function loadWorld() {
		if (state.world)
			return state.world;
		const res = await fetch('/static/vendor/world-atlas/countries-50m.json', { cache: 'no-store' });
		if (!res.ok)
			throw new Error('the map data is not installed on the server');
		const topo = await res.json();
		state.world = window.topojson.feature(topo, topo.objects.countries);
		return state.world;
	}

	async function renderMap(loc) {
		const note = $('map-note');
		const box = $('map');
		const has = typeof loc.lat === 'number' && typeof loc.lon === 'number';
		show(box, has);
		note.textContent = has ? '' : 'No coordinates: placed by name only.';
		if (!has || !window.L)
			return;
		if (!state.map) {
			state.map = window.L.map(box, {
				attributionControl: true, zoomSnap: 0.5, preferCanvas: false,
			});
			state.map.attributionControl.setPrefix(false);
			state.map.attributionControl.addAttribution('Borders: Natural Earth');
			try {
				const world = await loadWorld();
				window.L.geoJSON(world, {
					style: { color: '#7a6f5a', weight: 1, fillColor: '#efe9dc', fillOpacity: 1 },
					interactive: false,
				}).addTo(state.map);
			} catch (e) {
				note.textContent = e.message;
			}
		}
		if (state.mapLayer)
			state.mapLayer.remove();
		if (state.nearLayer) {
			state.nearLayer.remove();
			state.nearLayer = null;
		}
		const ll = [loc.lat, loc.lon];
		const radius = typeof loc.uncertainty_m === 'number' ? loc.uncertainty_m : 1000;
		const circle = window.L.circle(ll, { radius, color: '#b3261e', weight: 1, fillOpacity: 0.15 });
		const dot = window.L.circleMarker(ll, { radius: 5, color: '#b3261e', fillOpacity: 1 });
		state.mapLayer = window.L.layerGroup([circle, dot]).addTo(state.map);
		/* Enough around the point to see where it is in the country
		 * (the borders are all the map has). */
		const view = Math.max(radius * 4, 200000);
		state.mapView = window.L.latLng(ll).toBounds(view * 2);
		const fit = () => {
			state.map.invalidateSize();
			state.map.fitBounds(state.mapView, { maxZoom: 12 });
		};
		fit();
		/* Once the layout has settled (a phone shows the pane just now). */
		requestAnimationFrame(fit);
	}

	/* Great-circle distance in km. */
	function km(lat1, lon1, lat2, lon2) {
		const rad = Math.PI / 180;
		const a = Math.sin((lat2 - lat1) * rad / 2) ** 2 +
			Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin((lon2 - lon1) * rad / 2) ** 2;
		return 12742 * Math.asin(Math.min(1, Math.sqrt(a)));
	}

	/* Other reports on the report's map: those within NEAR_KM and
	 * NEAR_MS of it (blue), and those of its events wherever they are
	 * (purple). A tooltip says which; a click opens one. */
	function drawNeighbours(r, all, events) {
		if (state.nearLayer) {
			state.nearLayer.remove();
			state.nearLayer = null;
		}
		const loc = r.location || r;
		if (!state.map || !window.L || typeof loc.lat !== 'number' || typeof loc.lon !== 'number')
			return;
		const same = new Set();
		events.forEach((e) => e.report_ids.forEach((id) => { if (id !== r.id) same.add(id); }));
		const t0 = Date.parse(r.observed_at);
		const group = window.L.layerGroup();
		let nNear = 0, nSame = 0;
		const far = [];
		all.forEach((o) => {
			if (o.id === r.id || typeof o.lat !== 'number' || typeof o.lon !== 'number')
				return;
			const inEvent = same.has(o.id);
			const near = km(loc.lat, loc.lon, o.lat, o.lon) <= NEAR_KM &&
				Math.abs(Date.parse(o.observed_at) - t0) <= NEAR_MS;
			if (!inEvent && !near)
				return;
			const colour = inEvent ? '#6a3d9a' : '#2c5d8a';
			const m = window.L.circleMarker([o.lat, o.lon], {
				radius: 5, weight: 1.5, color: colour, fillColor: colour, fillOpacity: 0.75,
				className: inEvent ? 'mk mk-event' : 'mk mk-near',
			});
			m.bindTooltip(el('span', null, '#' + o.id + ' ' + (CATEGORY[o.category] || o.category) +
				', ' + when(o.observed_at) + (inEvent ? ' (same event)' : '')));
			m.on('click', () => openReport(o.id));
			group.addLayer(m);
			if (inEvent) {
				nSame++;
				far.push([o.lat, o.lon]);
			} else {
				nNear++;
			}
		});
		state.nearLayer = group.addTo(state.map);
		if (state.mapLayer)
			state.mapLayer.eachLayer((l) => l.bringToFront());
		/* Show the event's other reports too, unless they are a
		 * country away. */
		const ok = far.filter((p) => km(loc.lat, loc.lon, p[0], p[1]) <= 1500);
		if (ok.length && state.mapView) {
			ok.forEach((p) => state.mapView.extend(p));
			state.map.fitBounds(state.mapView, { maxZoom: 12, animate: false });
		}
		const parts = [];
		if (nNear)
			parts.push(nNear + ' other ' + (nNear === 1 ? 'report' : 'reports') + ' within ' + NEAR_KM + ' km and 24 h (blue)');
		if (nSame)
			parts.push(nSame + ' of the same event (purple)');
		$('map-note').textContent = parts.join('; ');
	}

	/* ---- actions ---- */

	async function act(verb, body, okText) {
		const r = state.report;
		if (!r)
			return;
		showError('report-error', null);
		try {
			await api('POST', '/mod/reports/' + encodeURIComponent(r.id) + '/' + verb, body || {});
		} catch (e) {
			showError('report-error', e);
			return;
		}
		await openReport(r.id);
		await loadQueue();
		if (okText)
			flash(okText);
	}

	function flash(text) {
		const p = $('grade-prompt');
		p.textContent = text;
		show(p, true);
		clearTimeout(flash.t);
		flash.t = setTimeout(() => show(p, false), 2500);
	}

	function grade(rel, cred) {
		if (!/^[A-F]$/.test(rel) || !/^[1-6]$/.test(String(cred))) {
			showError('report-error', 'pick a source reliability A–F and an information credibility 1–6');
			return;
		}
		act('grade', { reliability: rel, credibility: Number(cred) }, 'Graded ' + rel + cred + '.');
	}

	function claimToggle() {
		const r = state.report;
		if (!r)
			return;
		const mine = r.claimed_by && state.me && r.claimed_by === state.me.name;
		act(mine ? 'release' : 'claim', {}, mine ? 'Released.' : 'Claimed.');
	}

	function askReject() {
		if (!state.report)
			return;
		show($('reject-form'), true);
		$('reject-reason').value = '';
		$('reject-reason').focus();
	}

	async function reject(ev) {
		ev.preventDefault();
		const reason = $('reject-reason').value.trim();
		if (!reason) {
			showError('report-error', 'say why the report is rejected');
			return;
		}
		await act('reject', { reason }, 'Rejected.');
	}

	async function addNote(ev) {
		ev.preventDefault();
		const text = $('note-text').value.trim();
		if (!text)
			return;
		await act('notes', { text }, 'Note added.');
		$('note-text').value = '';
	}

	/* ---- events: a moderator's grouping, never undone by the engine ---- */

	function eventAct(verb, id) {
		return act(verb, { event_id: id },
			(verb === 'attach' ? 'Attached to event #' : 'Detached from event #') + id + '.');
	}

	async function newEvent() {
		const r = state.report;
		if (!r)
			return;
		showError('report-error', null);
		let doc;
		try {
			doc = await api('POST', '/mod/events', { report_ids: [r.id] });
		} catch (e) {
			showError('report-error', e);
			return;
		}
		await openReport(r.id);
		flash('Event #' + doc.id + ' created.');
	}

	function askEvent(mode) {
		const r = state.report;
		if (!r)
			return;
		state.evMode = mode;
		$('event-form-label').textContent = mode === 'attach' ? 'Attach to event #' : 'Detach from event #';
		$('event-submit').textContent = mode === 'attach' ? 'Attach' : 'Detach';
		$('event-submit').className = mode === 'attach' ? '' : 'bad';
		const input = $('event-id');
		input.value = mode === 'detach' && r.events && r.events.length ? String(r.events[0]) :
			(mode === 'attach' && state.evSel ? String(state.evSel) : '');
		show($('event-form'), true);
		input.focus();
		input.select();
	}

	async function submitEvent(ev) {
		ev.preventDefault();
		const v = $('event-id').value.trim();
		if (!/^[1-9][0-9]*$/.test(v)) {
			showError('report-error', 'give the event\'s number');
			return;
		}
		$('event-id').blur();
		show($('event-form'), false);
		await eventAct(state.evMode, Number(v));
	}

	async function showEvents(selectId) {
		show($('console'), false);
		show($('audit'), false);
		show($('events'), true);
		showError('events-error', null);
		if (selectId !== undefined)
			state.evSel = selectId;
		let doc;
		try {
			[doc] = await Promise.all([api('GET', '/mod/events?limit=200'), loadAll()]);
		} catch (e) {
			showError('events-error', e);
			return;
		}
		state.events = (doc && doc.events) || [];
		if (state.evSel !== null && !state.events.some((e) => e.id === state.evSel)) {
			/* older than the list: ask for it alone */
			try {
				state.events.push(await api('GET', '/mod/events/' + encodeURIComponent(state.evSel)));
			} catch (e) {
				showError('events-error', e);
				state.evSel = null;
			}
		}
		if (state.evSel === null && state.events.length)
			state.evSel = state.events[0].id;
		renderEvents();
	}

	function renderEvents() {
		const tbody = $('events-table').tBodies[0];
		tbody.replaceChildren();
		state.events.forEach((e) => {
			const tr = el('tr');
			tr.dataset.id = e.id;
			if (e.id === state.evSel)
				tr.classList.add('sel');
			const td = el('td');
			const b = el('button', 'link', '#' + e.id);
			b.type = 'button';
			td.append(b);
			tr.append(td, el('td', null, e.category ? CATEGORY[e.category] || e.category : '—'),
				el('td', null, when(e.created_at)), el('td', null, e.created_by || '—'),
				el('td', 'num', e.report_ids.length));
			tr.addEventListener('click', () => {
				state.evSel = e.id;
				renderEvents();
			});
			tbody.append(tr);
		});
		$('events-count').textContent = state.events.length ? '(' + state.events.length + ')' : '';
		show($('events-empty'), state.events.length === 0);

		const ev = state.events.find((e) => e.id === state.evSel);
		show($('event-detail'), !!ev);
		if (!ev)
			return;
		$('ev-title').textContent = 'Event #' + ev.id + (ev.category ? ' — ' + (CATEGORY[ev.category] || ev.category) : '');
		const n = ev.report_ids.length;
		$('ev-meta').textContent = 'made ' + when(ev.created_at) + ' by ' + (ev.created_by || 'unknown') +
			'; ' + n + (n === 1 ? ' report' : ' reports') + ' attached by moderators';
		const ol = $('ev-reports');
		ol.replaceChildren();
		ev.report_ids.forEach((id) => {
			const r = state.all.find((x) => x.id === id);
			const li = r ? reportItem(r) : el('li', 'item');
			if (!r) {
				li.dataset.id = id;
				li.append(el('div', 'row1', '#' + id));
			}
			li.title = 'Open report #' + id;
			li.addEventListener('click', () => openFromEvent(id));
			ol.append(li);
		});
	}

	function moveEvent(d) {
		if (!state.events.length)
			return;
		let i = state.events.findIndex((e) => e.id === state.evSel) + d;
		i = Math.max(0, Math.min(state.events.length - 1, i));
		state.evSel = state.events[i].id;
		renderEvents();
	}

	function openFromEvent(id) {
		showQueueView();
		const i = state.queue.findIndex((r) => r.id === id);
		if (i >= 0)
			state.sel = i;
		return openReport(id);
	}

	/* ---- views ---- */

	function showQueueView() {
		show($('audit'), false);
		show($('events'), false);
		show($('console'), true);
	}

	function backToQueue() {
		document.body.classList.remove('reading');
		const li = $('queue').children[state.sel];
		if (li)
			li.focus({ preventScroll: false });
	}

	async function showAudit() {
		show($('console'), false);
		show($('events'), false);
		show($('audit'), true);
		showError('audit-error', null);
		const tbody = $('audit-table').tBodies[0];
		tbody.replaceChildren();
		let doc;
		try {
			doc = await api('GET', '/mod/admin/audit?limit=200');
		} catch (e) {
			showError('audit-error', e);
			return;
		}
		(doc.entries || []).forEach((e) => {
			const tr = el('tr');
			const detail = e.detail === undefined || e.detail === null ? '' :
				typeof e.detail === 'string' ? e.detail : JSON.stringify(e.detail);
			[e.seq ?? e.id ?? '', when(e.at || e.time), e.actor, e.action, e.subject, detail]
				.forEach((v) => tr.append(el('td', null, v === undefined ? '' : v)));
			tbody.append(tr);
		});
	}

	function toggleHelp(on) {
		show($('help'), on === undefined ? $('help').hidden : on);
	}

	/* ---- keys ---- */

	function typing(target) {
		const t = target && target.tagName;
		return t === 'INPUT' || t === 'TEXTAREA' || t === 'SELECT' || (target && target.isContentEditable);
	}

	function onKey(ev) {
		if (!state.me || ev.ctrlKey || ev.metaKey || ev.altKey)
			return;
		if (ev.key === 'Escape') {
			if (!$('help').hidden)
				toggleHelp(false);
			else if (!$('reject-form').hidden)
				show($('reject-form'), false);
			else if (!$('event-form').hidden)
				show($('event-form'), false);
			else if (!$('events').hidden)
				showQueueView();
			else
				backToQueue();
			state.keys = '';
			show($('grade-prompt'), false);
			return;
		}
		if (typing(ev.target))
			return;
		const k = ev.key;
		if (state.keys) {
			/* g, then A-F, then 1-6 */
			ev.preventDefault();
			if (state.keys === 'g' && /^[a-fA-F]$/.test(k)) {
				state.keys = 'g' + k.toUpperCase();
				$('grade-prompt').textContent = 'Grade ' + k.toUpperCase() + '… now 1–6';
				return;
			}
			if (state.keys.length === 2 && /^[1-6]$/.test(k)) {
				const rel = state.keys[1];
				state.keys = '';
				grade(rel, k);
				return;
			}
			state.keys = '';
			show($('grade-prompt'), false);
			return;
		}
		const inEvents = !$('events').hidden;
		const onEvents = inEvents && {
			j: () => moveEvent(1),
			k: () => moveEvent(-1),
			ArrowDown: () => moveEvent(1),
			ArrowUp: () => moveEvent(-1),
			e: () => showEvents(),
			'?': () => toggleHelp(),
		}[k];
		if (inEvents) {
			if (onEvents) {
				ev.preventDefault();
				onEvents();
			}
			return;
		}
		const handled = {
			e: () => showEvents(),
			N: newEvent,
			a: () => askEvent('attach'),
			d: () => askEvent('detach'),
			j: () => moveSel(1),
			k: () => moveSel(-1),
			ArrowDown: () => moveSel(1),
			ArrowUp: () => moveSel(-1),
			Enter: () => state.queue[state.sel] && openReport(state.queue[state.sel].id),
			o: () => state.queue[state.sel] && openReport(state.queue[state.sel].id),
			n: openNext,
			c: claimToggle,
			v: () => act('verify', {}, 'Verified.'),
			r: askReject,
			'?': () => toggleHelp(),
			g: () => {
				if (!state.report)
					return;
				state.keys = 'g';
				const p = $('grade-prompt');
				p.textContent = 'Grade: source reliability A–F…';
				show(p, true);
				clearTimeout(flash.t);
			},
		}[k];
		if (!handled)
			return;
		ev.preventDefault();
		handled();
	}

	/* ---- start ---- */

	async function start() {
		$('signin-form').addEventListener('submit', signIn);
		$('sign-out').addEventListener('click', signOut);
		$('nav-queue').addEventListener('click', () => { showQueueView(); loadQueue(); });
		$('nav-audit').addEventListener('click', showAudit);
		$('nav-events').addEventListener('click', () => showEvents());
		$('events-refresh').addEventListener('click', () => showEvents());
		$('a-event-new').addEventListener('click', newEvent);
		$('a-attach').addEventListener('click', () => askEvent('attach'));
		$('a-detach').addEventListener('click', () => askEvent('detach'));
		$('event-form').addEventListener('submit', submitEvent);
		$('event-cancel').addEventListener('click', () => show($('event-form'), false));
		$('nav-help').addEventListener('click', () => toggleHelp());
		$('help-close').addEventListener('click', () => toggleHelp(false));
		$('queue-status').addEventListener('change', loadQueue);
		$('queue-refresh').addEventListener('click', loadQueue);
		$('back').addEventListener('click', backToQueue);
		$('a-claim').addEventListener('click', claimToggle);
		$('a-release').addEventListener('click', claimToggle);
		$('a-grade').addEventListener('click', () => grade($('g-rel').value, $('g-cred').value));
		$('a-verify').addEventListener('click', () => act('verify', {}, 'Verified.'));
		$('a-reject').addEventListener('click', askReject);
		$('a-next').addEventListener('click', openNext);
		$('reject-form').addEventListener('submit', reject);
		$('reject-cancel').addEventListener('click', () => show($('reject-form'), false));
		$('note-form').addEventListener('submit', addNote);
		document.addEventListener('keydown', onKey);
		/* A session that survives a reload: the cookie is still there,
		 * the CSRF token comes back from the server. */
		try {
			signedIn(await api('GET', '/session'));
		} catch (e) {
			signedOut(e.status === 401 ? null : e.message);
		}
	}

	if (document.readyState === 'loading')
		document.addEventListener('DOMContentLoaded', start);
	else
		start();
})();
