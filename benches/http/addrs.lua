-- benches/http/addrs.lua: wrk script. Every request asks about a random
-- address from a fixed list; done() prints one JSON line of results.
--
--   wrk -t2 -c100 -d10s --latency -s addrs.lua URL -- ADDR_FILE MODE [SEED]
--
-- MODE: "get"  GET  <path>?ip=<addr>
--       "post" POST <path> with {"ip":"<addr>"}
-- Requests are formatted once per thread in init(), so the per-request cost
-- in wrk is one math.random and a table index, the same for every contender.

local SEED = 42

local next_id = 0

-- Runs in wrk's main Lua state: give each thread its own random stream.
function setup(thread)
    next_id = next_id + 1
    thread:set("id", next_id)
end

local reqs, n

function init(args)
    local file, mode = args[1], args[2] or "get"
    local seed = tonumber(args[3]) or SEED
    assert(file, "usage: -- ADDR_FILE get|post [SEED]")
    reqs, n = {}, 0
    local path = wrk.path
    local post_headers = { ["Content-Type"] = "application/json" }
    for ip in io.lines(file) do
        if ip ~= "" then
            n = n + 1
            if mode == "post" then
                reqs[n] = wrk.format("POST", path, post_headers, '{"ip":"' .. ip .. '"}')
            elseif mode == "get" then
                reqs[n] = wrk.format("GET", path .. "?ip=" .. ip)
            else
                error("unknown mode " .. tostring(mode))
            end
        end
    end
    assert(n > 0, "no addresses in " .. file)
    math.randomseed(seed * 1000 + (id or 0))
end

function request()
    return reqs[math.random(n)]
end

function done(summary, latency, requests)
    local e = summary.errors
    local secs = summary.duration / 1e6
    io.write(string.format(
        'WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"rps":%.1f,' ..
        '"errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d,"status":%d},' ..
        '"latency_us":{"mean":%.1f,"stdev":%.1f,"max":%d,"p50":%d,"p75":%d,"p90":%d,"p99":%d,"p999":%d}}\n',
        summary.requests, summary.duration, summary.bytes, summary.requests / secs,
        e.connect, e.read, e.write, e.timeout, e.status,
        latency.mean, latency.stdev, latency.max,
        latency:percentile(50), latency:percentile(75), latency:percentile(90),
        latency:percentile(99), latency:percentile(99.9)))
end
