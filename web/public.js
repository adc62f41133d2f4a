/*
 * public.js — the public map at / (docs/PUBLISH.md "The map").
 *
 * Everything it shows comes from this server's public feeds, which the
 * publication policy wrote: events.geojson (markers by category, with
 * popups), tracks.geojson (lines with an arrow at their newest end),
 * summary.json (the weekly chart of movements by direction), and an
 * offline basemap — country borders from Natural Earth (world-atlas,
 * vendored) and the rail network (network.geojson) — so no tile server
 * is needed and the page works on an onion or air-gapped deployment.
 * Nothing is fetched from another origin, nothing is stored in the
 * browser, and text from the feeds is put in as text, never as HTML.
 *
 * English, Russian and Belarusian: ?lang=en|ru|be, else the browser's.
 * When it is done, document.body carries data-ready="1" and the counts
 * (data-events, data-tracks), which the browser test reads; it tells the
 * layers apart by their classes (sl-border, sl-rail, sl-event, sl-track).
 */
'use strict';

(function () {
	const T = {
		en: {
			title: 'Verified sightings', range: 'Time', r24h: 'last 24 hours',
			r7d: 'last 7 days', r30d: 'last 30 days', rall: 'all',
			rcustom: 'from … to …', from: 'from', to: 'to', lang: 'Language',
			loading: 'Loading…', chart: 'Movements per week, by direction',
			about: 'Only events verified by moderators are shown, after a delay, with locations rounded unless several independent reports support them. Nothing here identifies who reported.',
			feeds: 'Feeds:', status: 'Events: {n}, tracks: {t}', failed: 'The feeds could not be loaded.',
			seen: 'Seen', precision: 'Location to', km: 'km', sources: 'Independent reports',
			confidence: 'Confidence', heading: 'Heading', equipment: 'Equipment',
			excerpt: 'From the reports', coarse: 'rounded to the grid',
			notracks: 'No tracks yet: movements appear here once sightings are linked into tracks.',
			direction: 'Direction', week: 'Week of',
			cat: {
				rail_transport: 'Rail transport', road_convoy: 'Road convoy', aircraft: 'Aircraft',
				helicopter: 'Helicopter', troops: 'Troops', air_defence: 'Air defence',
				missile_system: 'Missile system', naval: 'Naval', fortification: 'Fortification',
				other: 'Other',
			},
			dir: {
				toward_ukraine: 'toward Ukraine', away_from_ukraine: 'away from Ukraine',
				toward_russia: 'toward Russia', internal: 'within Belarus', unknown: 'unknown',
			},
			eq: {
				tank: 'tanks', ifv: 'IFVs', apc: 'APCs', artillery: 'artillery', mlrs: 'MLRS',
				air_defence: 'air defence', missile_launcher: 'missile launchers', truck: 'trucks',
				fuel_truck: 'fuel trucks', engineering: 'engineering vehicles',
				command: 'command vehicles', helicopter: 'helicopters', aircraft: 'aircraft',
				other: 'other',
			},
		},
		ru: {
			title: 'Проверенные наблюдения', range: 'Время', r24h: 'за 24 часа',
			r7d: 'за 7 дней', r30d: 'за 30 дней', rall: 'всё время',
			rcustom: 'с … по …', from: 'с', to: 'по', lang: 'Язык',
			loading: 'Загрузка…', chart: 'Передвижения за неделю по направлениям',
			about: 'Показаны только события, проверенные модераторами, с задержкой; места округлены, если их не подтверждают несколько независимых сообщений. Ничто здесь не указывает, кто сообщил.',
			feeds: 'Ленты:', status: 'Событий: {n}, маршрутов: {t}', failed: 'Не удалось загрузить данные.',
			seen: 'Замечено', precision: 'Точность места', km: 'км', sources: 'Независимых сообщений',
			confidence: 'Уверенность', heading: 'Направление', equipment: 'Техника',
			excerpt: 'Из сообщений', coarse: 'округлено до сетки',
			notracks: 'Маршрутов пока нет: передвижения появятся здесь, когда наблюдения будут связаны в маршруты.',
			direction: 'Направление', week: 'Неделя с',
			cat: {
				rail_transport: 'Ж/д перевозка', road_convoy: 'Автоколонна', aircraft: 'Самолёт',
				helicopter: 'Вертолёт', troops: 'Войска', air_defence: 'ПВО',
				missile_system: 'Ракетный комплекс', naval: 'Флот', fortification: 'Укрепления',
				other: 'Другое',
			},
			dir: {
				toward_ukraine: 'к Украине', away_from_ukraine: 'от Украины',
				toward_russia: 'к России', internal: 'внутри Беларуси', unknown: 'неизвестно',
			},
			eq: {
				tank: 'танки', ifv: 'БМП', apc: 'БТР', artillery: 'артиллерия', mlrs: 'РСЗО',
				air_defence: 'ПВО', missile_launcher: 'пусковые установки', truck: 'грузовики',
				fuel_truck: 'топливозаправщики', engineering: 'инженерная техника',
				command: 'командно-штабные машины', helicopter: 'вертолёты', aircraft: 'самолёты',
				other: 'другое',
			},
		},
		be: {
			title: 'Правераныя назіранні', range: 'Час', r24h: 'за 24 гадзіны',
			r7d: 'за 7 дзён', r30d: 'за 30 дзён', rall: 'увесь час',
			rcustom: 'з … па …', from: 'з', to: 'па', lang: 'Мова',
			loading: 'Загрузка…', chart: 'Перамяшчэнні за тыдзень па кірунках',
			about: 'Паказаны толькі падзеі, правераныя мадэратарамі, з затрымкай; месцы акруглены, калі іх не пацвярджаюць некалькі незалежных паведамленняў. Нішто тут не паказвае, хто паведаміў.',
			feeds: 'Стужкі:', status: 'Падзей: {n}, маршрутаў: {t}', failed: 'Не ўдалося загрузіць даныя.',
			seen: 'Заўважана', precision: 'Дакладнасць месца', km: 'км', sources: 'Незалежных паведамленняў',
			confidence: 'Упэўненасць', heading: 'Кірунак', equipment: 'Тэхніка',
			excerpt: 'З паведамленняў', coarse: 'акруглена да сеткі',
			notracks: 'Маршрутаў пакуль няма: перамяшчэнні з\u2019явяцца тут, калі назіранні будуць звязаныя ў маршруты.',
			direction: 'Кірунак', week: 'Тыдзень з',
			cat: {
				rail_transport: 'Чыгуначная перавозка', road_convoy: 'Аўтакалона', aircraft: 'Самалёт',
				helicopter: 'Верталёт', troops: 'Войскі', air_defence: 'СПА',
				missile_system: 'Ракетны комплекс', naval: 'Флот', fortification: 'Умацаванні',
				other: 'Іншае',
			},
			dir: {
				toward_ukraine: 'да Украіны', away_from_ukraine: 'ад Украіны',
				toward_russia: 'да Расіі', internal: 'унутры Беларусі', unknown: 'невядома',
			},
			eq: {
				tank: 'танкі', ifv: 'БМП', apc: 'БТР', artillery: 'артылерыя', mlrs: 'РСЗА',
				air_defence: 'СПА', missile_launcher: 'пускавыя ўстаноўкі', truck: 'грузавікі',
				fuel_truck: 'паліўныя цыстэрны', engineering: 'інжынерная тэхніка',
				command: 'камандна-штабныя машыны', helicopter: 'верталёты', aircraft: 'самалёты',
				other: 'іншае',
			},
		},
	};
	const COLORS = {
		rail_transport: '#b3261e', road_convoy: '#e8710a', aircraft: '#1a73e8',
		helicopter: '#12b5cb', troops: '#6d4c41', air_defence: '#9334e6',
		missile_system: '#d01884', naval: '#185abc', fortification: '#5f6368', other: '#188038',
	};
	const DIR_COLORS = {
		toward_ukraine: '#b3261e', away_from_ukraine: '#188038', toward_russia: '#1a73e8',
		internal: '#e8710a', unknown: '#9aa0a6',
	};
	const BELARUS = [[51.2, 23.1], [56.2, 32.8]];
	const API = '/api/v1/public/';

	const $ = (id) => document.getElementById(id);

	function pickLang() {
		const q = new URLSearchParams(window.location.search).get('lang');
		if (q && T[q])
			return q;
		for (const l of navigator.languages || [navigator.language || 'en']) {
			const k = String(l).slice(0, 2).toLowerCase();
			if (T[k])
				return k;
		}
		return 'en';
	}

	let lang = pickLang();
	const t = (k) => T[lang][k] || T.en[k] || k;

	function el(tag, cls, text) {
		const e = document.createElement(tag);
		if (cls)
			e.className = cls;
		if (text !== undefined)
			e.textContent = text;
		return e;
	}

	function applyLang() {
		document.documentElement.lang = lang;
		document.title = 'sightline — ' + t('title');
		document.querySelectorAll('[data-i18n]').forEach((n) => {
			n.textContent = t(n.dataset.i18n);
		});
		$('lang').value = lang;
	}

	function fmtTime(iso) {
		const d = new Date(iso);
		try {
			return new Intl.DateTimeFormat(lang, { dateStyle: 'medium', timeStyle: 'short' }).format(d);
		} catch (e) {
			return d.toISOString();
		}
	}

	function getJSON(url) {
		return fetch(url, { credentials: 'omit' }).then((r) => {
			if (!r.ok)
				throw new Error(url + ': ' + r.status);
			return r.json();
		});
	}

	/* ---- the map ---- */

	const map = L.map('map', { zoomControl: true, attributionControl: true, worldCopyJump: false });
	map.fitBounds(BELARUS);
	map.attributionControl.addAttribution('Natural Earth');
	const base = L.layerGroup().addTo(map);
	const events = L.layerGroup().addTo(map);
	const tracks = L.layerGroup().addTo(map);

	function drawBasemap() {
		const borders = getJSON('/static/vendor/world-atlas/countries-50m.json').then((topo) => {
			const world = window.topojson.feature(topo, topo.objects.countries);
			L.geoJSON(world, {
				interactive: false,
				style: (f) => ({
					color: '#6b7b88', weight: 1,
					fillColor: String(f.id) === '112' ? '#fbfbf6' : '#e6e8e1',
					fillOpacity: 1, className: 'sl-border',
				}),
			}).addTo(base);
		}).catch(() => {});
		/* The rail lines over the borders' fill, so after them. */
		const rail = () => fetch(API + 'network.geojson', { credentials: 'omit' })
			.then((r) => (r.ok ? r.json() : null))
			.then((g) => {
				if (g)
					L.geoJSON(g, { interactive: false, style: { color: '#8d6e63', weight: 1, opacity: 0.7, className: 'sl-rail' } }).addTo(base);
			}).catch(() => {});
		return borders.then(rail);
	}

	function equipmentText(p) {
		const eq = T[lang].eq;
		return (p.equipment || []).map((it) => {
			const range = it.max > it.min ? ` (${it.min}–${it.max})` : '';
			return `${it.count}${range} ${eq[it.type] || it.type}`;
		}).join(', ');
	}

	function popup(f) {
		const p = f.properties;
		const box = el('div', 'sl-popup');
		box.appendChild(el('h3', null, (T[lang].cat[p.category] || p.category)));
		const dl = el('dl');
		const row = (k, v) => {
			dl.appendChild(el('dt', null, t(k)));
			dl.appendChild(el('dd', null, v));
		};
		row('seen', `${fmtTime(p.start)} – ${fmtTime(p.end)}`);
		const eq = equipmentText(p);
		if (eq)
			row('equipment', eq);
		if (p.heading_deg !== null && p.heading_deg !== undefined)
			row('heading', `${p.heading_deg}°`);
		row('precision', `${(p.precision_m / 1000).toLocaleString(lang)} ${t('km')}` +
			(p.coarse ? ` (${t('coarse')})` : ''));
		row('sources', String(p.sources));
		row('confidence', `${Math.round(p.confidence * 100)}%`);
		if (p.excerpt)
			row('excerpt', p.excerpt);
		box.appendChild(dl);
		return box;
	}

	function drawEvents(gj) {
		events.clearLayers();
		L.geoJSON(gj, {
			pointToLayer: (f, ll) => {
				const p = f.properties;
				const c = COLORS[p.category] || '#333';
				if (p.coarse)
					L.circle(ll, { radius: p.precision_m / 2, color: c, weight: 1, opacity: 0.5,
						fillOpacity: 0.08, interactive: false, className: 'sl-cell' }).addTo(events);
				return L.circleMarker(ll, {
					radius: 6, color: '#222', weight: 1, fillColor: c, fillOpacity: 0.9,
					className: 'sl-event sl-cat-' + p.category,
				});
			},
			onEachFeature: (f, layer) => layer.bindPopup(() => popup(f)),
		}).addTo(events);
	}

	function bearing(a, b) {
		const r = Math.PI / 180;
		const y = Math.sin((b[0] - a[0]) * r) * Math.cos(b[1] * r);
		const x = Math.cos(a[1] * r) * Math.sin(b[1] * r) -
			Math.sin(a[1] * r) * Math.cos(b[1] * r) * Math.cos((b[0] - a[0]) * r);
		return (Math.atan2(y, x) / r + 360) % 360;
	}

	function drawTracks(gj) {
		tracks.clearLayers();
		for (const f of gj.features || []) {
			const cs = f.geometry.coordinates;
			if (cs.length < 2)
				continue;
			const dir = f.properties.direction || 'unknown';
			const color = DIR_COLORS[dir] || DIR_COLORS.unknown;
			const line = L.polyline(cs.map((c) => [c[1], c[0]]),
				{ color, weight: 3, opacity: 0.8, className: 'sl-track sl-dir-' + dir });
			line.bindPopup(() => {
				const box = el('div', 'sl-popup');
				box.appendChild(el('h3', null, T[lang].cat[f.properties.category] || ''));
				box.appendChild(el('p', null, `${t('direction')}: ${T[lang].dir[dir] || dir}`));
				box.appendChild(el('p', null, `${fmtTime(f.properties.start)} – ${fmtTime(f.properties.end)}`));
				return box;
			});
			line.addTo(tracks);
			/* The arrow at the newest end, turned by script (no inline style
			 * in markup: the page's policy forbids it). */
			const a = cs[cs.length - 2], b = cs[cs.length - 1];
			const icon = L.divIcon({ className: 'sl-arrow', html: '<span>➤</span>', iconSize: [18, 18] });
			const m = L.marker([b[1], b[0]], { icon, interactive: false });
			m.on('add', () => {
				const s = m.getElement() && m.getElement().firstChild;
				if (s) {
					s.style.transform = `rotate(${bearing(a, b) - 90}deg)`;
					s.style.color = color; /* the line's direction colour */
				}
			});
			m.addTo(tracks);
		}
	}

	/* ---- the chart ---- */

	let chart = null;

	function drawChart(summary) {
		const box = $('chart');
		if (chart) {
			chart.destroy();
			chart = null;
		}
		box.textContent = '';
		const note = $('chart-note');
		const dirs = (summary.directions || []).filter((d) => d in DIR_COLORS);
		note.hidden = summary.tracks > 0;
		note.textContent = t('notracks');
		/* Every week from the first with data to the last (at most two
		 * years back), eight at least: empty weeks are empty bars. */
		const W = 7 * 86400;
		const byWeek = new Map((summary.weeks || []).map((w) =>
			[Date.parse(w.week_start + 'T00:00:00Z') / 1000, w]));
		const starts = [...byWeek.keys()];
		const last = starts.length ? Math.max(...starts)
			: Math.floor((Date.now() / 1000 - 4 * 86400) / W) * W + 4 * 86400;
		let first = starts.length ? Math.min(...starts) : last;
		first = Math.max(Math.min(first, last - 7 * W), last - 104 * W);
		const xs = [];
		for (let x = first; x <= last; x += W)
			xs.push(x);
		/* Stacked bars: each series is the running sum, drawn from the
		 * tallest down so that each shows its own share. */
		const sums = [];
		let acc = xs.map(() => 0);
		for (const d of dirs) {
			acc = acc.map((v, i) => {
				const w = byWeek.get(xs[i]);
				return v + (w ? w.movements[d] || 0 : 0);
			});
			sums.push(acc.slice());
		}
		const width = Math.max(260, box.clientWidth || 300);
		const bars = uPlot.paths.bars({ size: [0.7, 40] });
		const series = [{}];
		const data = [xs];
		for (let i = dirs.length - 1; i >= 0; i--) {
			series.push({
				label: T[lang].dir[dirs[i]], stroke: DIR_COLORS[dirs[i]],
				fill: DIR_COLORS[dirs[i]], paths: bars, points: { show: false },
			});
			data.push(sums[i]);
		}
		const day = (v) => new Date(v * 1000).toLocaleDateString(lang, { month: 'short', day: 'numeric', timeZone: 'UTC' });
		chart = new uPlot({
			width, height: 200, series,
			scales: {
				x: { time: false, range: () => [first - W / 2, last + W / 2] },
				y: { range: (u, min, max) => [0, Math.max(1, max)] },
			},
			axes: [{ values: (u, vals) => vals.map(day), space: 60 }, {}],
			legend: { show: false },
		}, data, box);
		const keys = el('ul', 'legend');
		for (const d of dirs) {
			const li = el('li');
			const sw = el('span', 'swatch');
			sw.style.background = DIR_COLORS[d];
			li.appendChild(sw);
			li.appendChild(el('span', null, T[lang].dir[d]));
			keys.appendChild(li);
		}
		box.appendChild(keys);
	}

	/* ---- what is asked ---- */

	function query() {
		const v = $('range').value;
		const q = new URLSearchParams();
		const now = Date.now();
		const back = { '24h': 86400e3, '7d': 7 * 86400e3, '30d': 30 * 86400e3 }[v];
		if (back)
			q.set('from', new Date(now - back).toISOString().replace(/\.\d+Z$/, 'Z'));
		if (v === 'custom') {
			if ($('from').value)
				q.set('from', $('from').value + 'T00:00:00Z');
			if ($('to').value)
				q.set('to', $('to').value + 'T23:59:59Z');
		}
		const s = q.toString();
		return s ? '?' + s : '';
	}

	let data = { events: null, tracks: null, summary: null };

	function render() {
		applyLang();
		if (data.events)
			drawEvents(data.events);
		if (data.tracks)
			drawTracks(data.tracks);
		if (data.summary)
			drawChart(data.summary);
		const n = data.events ? data.events.features.length : 0;
		const k = data.tracks ? data.tracks.features.length : 0;
		$('status').textContent = t('status').replace('{n}', n).replace('{t}', k);
		document.body.dataset.events = String(n);
		document.body.dataset.tracks = String(k);
	}

	function legend() {
		const ul = $('legend');
		ul.textContent = '';
		for (const c of Object.keys(COLORS)) {
			const li = el('li');
			const sw = el('span', 'swatch');
			sw.style.background = COLORS[c];
			li.appendChild(sw);
			li.appendChild(el('span', null, T[lang].cat[c]));
			ul.appendChild(li);
		}
	}

	function load() {
		const q = query();
		document.body.dataset.ready = '0';
		return Promise.all([
			getJSON(API + 'events.geojson' + q),
			getJSON(API + 'tracks.geojson' + q),
			getJSON(API + 'summary.json' + q),
		]).then(([ev, tr, su]) => {
			data = { events: ev, tracks: tr, summary: su };
			render();
		}).catch(() => {
			$('status').textContent = t('failed');
		}).finally(() => {
			document.body.dataset.ready = '1';
		});
	}

	$('range').addEventListener('change', () => {
		$('controls').classList.toggle('custom-range', $('range').value === 'custom');
		load();
	});
	$('from').addEventListener('change', load);
	$('to').addEventListener('change', load);
	$('lang').addEventListener('change', () => {
		lang = $('lang').value;
		const u = new URL(window.location.href);
		u.searchParams.set('lang', lang);
		window.history.replaceState(null, '', u);
		legend();
		render();
	});
	$('controls').addEventListener('submit', (e) => e.preventDefault());

	applyLang();
	legend();
	drawBasemap().then(load);
})();
