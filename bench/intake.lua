-- bench/intake.lua — wrk script for `make bench` (see docs/PERFORMANCE.md).
--
-- Posts valid report JSON to POST /api/v1/reports over keep-alive
-- connections. The bodies vary (category, coordinates, observed_at,
-- equipment) but come from a set built once per thread in init(), so each
-- request costs Lua one table lookup and wrk is not the bottleneck.
--
-- done() prints one machine-readable line that bench/run parses:
--   BENCH requests=N seconds=S rps=R p50_us=A p99_us=B sent=N status_2xx=N
--         status_201=N non2xx=N err_connect=N err_read=N err_write=N
--         err_timeout=N
-- sent counts requests handed to a socket, so sent - requests is the number
-- still in flight when wrk stopped.

local NBODIES = 512
local PATH = "/api/v1/reports"

local threads = {}
local next_id = 0

function setup(thread)
	thread:set("tid", next_id)
	next_id = next_id + 1
	table.insert(threads, thread)
end

local categories = {
	{ "rail_transport", "Train with %s on flatcars at %s" },
	{ "road_convoy", "Convoy of %s on the road near %s" },
	{ "aircraft", "Aircraft over %s, %s seen on the ground" },
}
local equipment = {
	{ "tank", { "T-72B3", "T-80BV", "T-90M" } },
	{ "ifv", { "BMP-2", "BTR-82A", "BMD-4M" } },
	{ "truck", { "KamAZ-5350", "Ural-4320", "GAZ-66" } },
	{ "artillery", { "2S19 Msta-S", "2S3 Akatsiya", "BM-21 Grad" } },
}
local places = { "Orsha", "Asipovichy", "Baranavichy", "Mazyr", "Rechytsa",
	"Luninets", "Kalinkavichy", "Zhlobin", "Krichev", "Polatsk" }
local headings = { "N", "NE", "E", "SE", "S", "SW", "W", "NW" }

-- 2022-10-10T08:30:00Z plus i minutes, always in the past.
local function observed_at(i)
	local t = 1665390600 + i * 60
	return os.date("!%Y-%m-%dT%H:%M:%SZ", t)
end

local function body(i, rnd)
	local cat = categories[i % #categories + 1]
	local lat = 51.3 + rnd() * 4.8
	local lon = 23.3 + rnd() * 9.4
	local items = {}
	local kinds = {}
	for k = 1, 1 + i % 3 do
		local eq = equipment[(i + k) % #equipment + 1]
		local model = eq[2][(i + k) % #eq[2] + 1]
		local count = 1 + math.floor(rnd() * 30)
		local count_max = count + math.floor(rnd() * 5)
		items[#items + 1] = string.format(
			'{"type":"%s","model":"%s","count":%d,"count_max":%d}',
			eq[1], model, count, count_max)
		kinds[#kinds + 1] = eq[1] .. "s"
	end
	local place = places[i % #places + 1]
	local text = string.format(cat[2], table.concat(kinds, " and "), place)
	return string.format(
		'{"category":"%s","observed_at":"%s",' ..
		'"location":{"lat":%.5f,"lon":%.5f,"uncertainty_m":%d},' ..
		'"equipment":[%s],"heading":"%s","text":"%s"}',
		cat[1], observed_at(i % 600), lat, lon, 100 + (i % 10) * 100,
		table.concat(items, ","), headings[i % #headings + 1], text)
end

function init(args)
	-- A small deterministic generator (wrk seeds math.random the same way
	-- in every thread; this keeps the set the same from run to run).
	local seed = 12345 + (tid or 0) * 7919
	local function rnd()
		seed = (seed * 1103515245 + 12345) % 2147483648
		return seed / 2147483648
	end
	reqs = {}
	local headers = { ["Content-Type"] = "application/json" }
	for i = 1, NBODIES do
		reqs[i] = wrk.format("POST", PATH, headers,
			body(i + (tid or 0) * NBODIES, rnd))
	end
	idx = 0
	sent = 0
	status_2xx = 0
	status_201 = 0
	non2xx = 0
end

function request()
	idx = idx % NBODIES + 1
	sent = sent + 1
	return reqs[idx]
end

function response(status, headers, body)
	if status >= 200 and status < 300 then
		status_2xx = status_2xx + 1
		if status == 201 then
			status_201 = status_201 + 1
		end
	else
		non2xx = non2xx + 1
	end
end

function done(summary, latency, requests)
	local sent_t, s2xx, s201, bad = 0, 0, 0, 0
	for _, t in ipairs(threads) do
		sent_t = sent_t + t:get("sent")
		s2xx = s2xx + t:get("status_2xx")
		s201 = s201 + t:get("status_201")
		bad = bad + t:get("non2xx")
	end
	local seconds = summary.duration / 1e6
	local e = summary.errors
	io.write(string.format(
		"BENCH requests=%d seconds=%.3f rps=%.1f p50_us=%d p99_us=%d " ..
		"sent=%d status_2xx=%d status_201=%d non2xx=%d " ..
		"err_connect=%d err_read=%d err_write=%d err_timeout=%d\n",
		summary.requests, seconds, summary.requests / seconds,
		latency:percentile(50), latency:percentile(99),
		sent_t, s2xx, s201, bad,
		e.connect, e.read, e.write, e.timeout))
end
