-- bench/public_cold.lua — wrk script for the public feed "cold" run
-- (bench/run, docs/PERFORMANCE.md "Public feeds"): every request asks for
-- the full GeoJSON feed under a filter no earlier request used (a "from"
-- before every event, one second apart per request and thread), so the
-- server finds nothing in its cache and assembles the feed again each
-- time. The bytes are those of the full feed.
local threads = {}
local counter = 0

function setup(thread)
	counter = counter + 1
	thread:set("id", counter)
	table.insert(threads, thread)
end

function init(args)
	n = 0
	base = 946684800 + id * 10000000 -- 2000-01-01 plus a stretch per thread
end

function request()
	n = n + 1
	return wrk.format("GET", "/api/v1/public/events.geojson?from=" ..
		os.date("!%Y-%m-%dT%H:%M:%SZ", base + n))
end
