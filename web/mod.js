/*
 * mod.js — a little help for the moderator console (docs/MODERATION.md).
 *
 * The console's pages are rendered by the server and work without this
 * script: every action is a form, every view a link. This adds one-key
 * shortcuts that press those same buttons and follow those same links
 * (g B 2 grades B2, v verifies, r goes to the reason, c claims, n opens
 * the next report, j/k move in the queue, e the events, ? the keys), and
 * draws the report's map with Leaflet from the page's data-* attributes:
 * the point, its uncertainty circle, and the reports listed under it.
 * Nothing is fetched but the map's borders, from this server; no string
 * from the page is ever put back into it as HTML.
 */
'use strict';

(function () {
	const $ = (sel) => document.querySelector(sel);
	const $$ = (sel) => Array.from(document.querySelectorAll(sel));

	/* ---- keys ---- */

	let prefix = ''; /* a grade being typed: "g", then "gB" */
	let sel = -1;    /* the selected row of the list */

	function rows() {
		return $$('#queue li.item, #events-list article.event');
	}

	function select(i) {
		const list = rows();
		if (!list.length)
			return;
		sel = Math.max(0, Math.min(list.length - 1, i));
		list.forEach((r, k) => r.classList.toggle('sel', k === sel));
		list[sel].scrollIntoView({ block: 'nearest' });
	}

	function follow(a) {
		if (a && a.href)
			window.location.assign(a.href);
	}

	function submit(form) {
		if (!form)
			return;
		if (form.requestSubmit)
			form.requestSubmit();
		else
			form.submit();
	}

	function prompt(text) {
		let p = $('#key-prompt');
		if (!p) {
			p = document.createElement('p');
			p.id = 'key-prompt';
			p.className = 'prompt';
			const at = $('#actions');
			if (!at)
				return;
			at.after(p);
		}
		p.textContent = text;
		p.hidden = !text;
	}

	function toggleHelp(open) {
		const h = $('#help');
		if (!h)
			return;
		h.open = open === undefined ? !h.open : open;
		if (h.open)
			h.scrollIntoView({ block: 'nearest' });
	}

	function typing(t) {
		const tag = t && t.tagName;
		return tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' ||
			(t && t.isContentEditable);
	}

	function grade(k) {
		if (prefix === 'g' && /^[a-f]$/i.test(k)) {
			prefix = 'g' + k.toUpperCase();
			prompt('Grade ' + prefix[1] + '… now 1–6');
			return;
		}
		if (prefix.length === 2 && /^[1-6]$/.test(k)) {
			$('#g-rel').value = prefix[1];
			$('#g-cred').value = k;
			prefix = '';
			prompt('Grading ' + $('#g-rel').value + k + '…');
			submit($('#f-grade'));
			return;
		}
		prefix = '';
		prompt('');
	}

	const keys = {
		j: () => select(sel + 1),
		k: () => select(sel - 1),
		ArrowDown: () => select(sel + 1),
		ArrowUp: () => select(sel - 1),
		Enter: () => sel >= 0 && follow(rows()[sel].querySelector('a')),
		o: () => sel >= 0 && follow(rows()[sel].querySelector('a')),
		n: () => follow($('#next')),
		c: () => submit($('#f-claim')),
		v: () => submit($('#f-verify')),
		r: () => { const i = $('#reject-reason'); if (i) { i.focus(); i.select(); } },
		N: () => submit($('#f-event-new')),
		a: () => { const i = $('#event-id'); if (i) { i.focus(); i.select(); } },
		d: () => submit($('#r-events form.detach')),
		e: () => window.location.assign('/mod/events'),
		'?': () => toggleHelp(),
		g: () => {
			if (!$('#f-grade'))
				return;
			prefix = 'g';
			prompt('Grade: source reliability A–F…');
		},
	};

	function onKey(ev) {
		if (ev.ctrlKey || ev.metaKey || ev.altKey)
			return;
		if (ev.key === 'Escape') {
			prefix = '';
			prompt('');
			toggleHelp(false);
			if (typing(ev.target))
				ev.target.blur();
			return;
		}
		if (typing(ev.target))
			return;
		if (prefix) {
			ev.preventDefault();
			grade(ev.key);
			return;
		}
		const f = keys[ev.key];
		if (!f)
			return;
		ev.preventDefault();
		f();
	}

	/* ---- the map: Natural Earth borders, no tile server ---- */

	function drawMap() {
		const box = $('#map');
		const L = window.L;
		if (!box || !L)
			return;
		const lat = Number(box.dataset.lat), lon = Number(box.dataset.lon);
		const radius = Number(box.dataset.radius) || 1000;
		if (!Number.isFinite(lat) || !Number.isFinite(lon))
			return;
		box.replaceChildren(); /* the words for a browser without scripts */
		const map = L.map(box, { zoomSnap: 0.5 });
		map.attributionControl.setPrefix(false);
		map.attributionControl.addAttribution('Borders: Natural Earth');
		const here = [lat, lon];
		/* Enough around the point to see where in the country it is, and
		 * the event's other reports too, unless a country away. */
		const view = L.latLng(here).toBounds(Math.max(radius * 4, 200000) * 2);
		const others = $$('#nearby li[data-lat]').map((li) => ({
			li, p: [Number(li.dataset.lat), Number(li.dataset.lon)],
			same: li.classList.contains('mk-event'),
		}));
		others.forEach((o) => {
			if (o.same && map.distance(here, o.p) <= 1500000)
				view.extend(o.p);
		});
		const fit = () => {
			map.invalidateSize();
			map.fitBounds(view, { maxZoom: 12, animate: false });
		};
		/* A view first: Leaflet draws nothing on a map without one. */
		fit();
		others.forEach((o) => {
			const colour = o.same ? '#6a3d9a' : '#2c5d8a';
			const m = L.circleMarker(o.p, {
				radius: 5, weight: 1.5, color: colour, fillColor: colour,
				fillOpacity: 0.75, className: o.same ? 'mk mk-event' : 'mk mk-near',
			});
			const tip = document.createElement('span');
			tip.textContent = o.li.textContent;
			m.bindTooltip(tip);
			m.on('click', () => follow(o.li.querySelector('a')));
			m.addTo(map);
		});
		L.circle(here, { radius, color: '#b3261e', weight: 1, fillOpacity: 0.15 }).addTo(map);
		L.circleMarker(here, { radius: 5, color: '#b3261e', fillOpacity: 1 }).addTo(map);
		/* Once the layout has settled. */
		requestAnimationFrame(fit);
		fetch('/static/vendor/world-atlas/countries-50m.json', { cache: 'no-store' })
			.then((res) => {
				if (!res.ok)
					throw new Error('the map data is not installed on the server');
				return res.json();
			})
			.then((topo) => {
				const world = window.topojson.feature(topo, topo.objects.countries);
				L.geoJSON(world, {
					style: { color: '#7a6f5a', weight: 1, fillColor: '#efe9dc', fillOpacity: 1 },
					interactive: false,
				}).addTo(map).bringToBack();
			})
			.catch((e) => {
				const note = document.createElement('p');
				note.className = 'hint';
				note.textContent = 'Borders: ' + e.message;
				box.after(note);
			});
	}

	function start() {
		document.addEventListener('keydown', onKey);
		const open = rows().findIndex((r) => r.classList.contains('open'));
		if (open >= 0)
			select(open);
		const status = $('#queue-status');
		if (status)
			status.addEventListener('change', () => submit(status.form));
		const help = $('#nav-help');
		if (help)
			help.addEventListener('click', (ev) => { ev.preventDefault(); toggleHelp(); });
		drawMap();
	}

	if (document.readyState === 'loading')
		document.addEventListener('DOMContentLoaded', start);
	else
		start();
})();
