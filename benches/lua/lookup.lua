-- benches/lua/lookup.lua: the acceptance "Lua-side speed", in standalone
-- LuaJIT through the same facade nginx uses (lua/ipgeo.lua, which loads
-- target/release/libipgeo_ffi.so). Run it with benches/lua/run.sh.
--
--   luajit benches/lua/lookup.lua [TABLE] [N] [ROUNDS]
--
-- TABLE defaults to data/dbip.ipgeo, N (addresses per list) to 1000000,
-- ROUNDS to 7. Every address string is created before any timing; each
-- round runs every benchmark once over the whole list, side by side; the
-- report gives the median round. Times are process CPU time (os.clock), so
-- time spent descheduled on this shared machine does not count; wall-clock
-- medians are printed too.

local ROOT = os.getenv("IPGEO_ROOT")
    or ((arg and arg[0] or ""):match("^(.*)/benches/lua/[^/]*$"))
    or "."

package.path = ROOT .. "/lua/?.lua;" .. package.path
package.cpath = ROOT .. "/target/release/?.so;" .. package.cpath

local ffi = require "ffi"
local cjson = require "cjson"

local TABLE = arg[1] or (ROOT .. "/data/dbip.ipgeo")
local N = tonumber(arg[2]) or 1000000
local ROUNDS = tonumber(arg[3]) or 7
local CLI = ROOT .. "/target/release/ipgeo"
local RUN = ROOT .. "/run/bench-lua"
local SAMPLE = 20000

local fmt = string.format

ffi.cdef [[
typedef long time_t;
struct timespec { time_t tv_sec; long tv_nsec; };
int clock_gettime(int clk, struct timespec *tp);
]]
local ts = ffi.new("struct timespec")
local function wall()
    ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
    return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

-- The facade outside nginx: `ngx` must be nil here, and everything the
-- benchmark needs must work without it.
assert(rawget(_G, "ngx") == nil, "expected standalone LuaJIT")
local ipgeo = require "ipgeo"
io.write(fmt("ipgeo %s, library %s\n%s, %s\n", ipgeo._VERSION, ipgeo.library,
             jit.version, table.concat({ jit.status() }, " ", 2)))

-- snapshot = false maps TABLE itself, so the benchmark leaves no snapshot in
-- /dev/shm; lookups run the same code either way. check_interval = 0: no
-- reload checks (there are no timers outside nginx anyway).
local function open(opts)
    opts.snapshot = false
    opts.check_interval = 0
    local db, err = ipgeo.open(TABLE, opts)
    if not db then
        io.stderr:write("cannot open ", TABLE, ": ", err, "\n")
        os.exit(2)
    end
    return db
end

local db = open({ name = "bench" })
local info = db:info()
io.write(fmt("table %s: %d bytes, checksum %s, %d IPv4 + %d IPv6 ranges, columns %s\n",
             TABLE, info.size, info.checksum, info.v4_ranges, info.v6_ranges,
             table.concat(info.columns, ",")))
local st, st_err = ipgeo.status()
io.write(fmt("facade without ngx: open/lookup/record/country_code/info work; status() -> %s, %s\n",
             tostring(st), tostring(st_err)))

-- ---------------------------------------------------------------------------
-- Addresses, created before any timing.

math.randomseed(42)
local random = math.random

-- IPv4: uniform over 1.0.0.0-223.255.255.255 minus 10/8 and 127/8 (unicast
-- space that the RIRs have handed out; DB-IP covers nearly all of it).
local function v4()
    local a
    repeat a = random(1, 223) until a ~= 10 and a ~= 127
    return fmt("%d.%d.%d.%d", a, random(0, 255), random(0, 255), random(0, 255))
end

-- IPv6: uniform inside the RIRs' big blocks (2001::/16, 2400::/12,
-- 2600::/12, 2800::/12, 2a00::/12, 2c00::/12), written in full (eight
-- groups). Most of those blocks is unallocated, so candidates are kept so
-- that about 90 % of the list is found in the table ("mostly assigned").
local V6 = { 0x2001, 0x2400, 0x2600, 0x2800, 0x2a00, 0x2c00 }
local function v6()
    local h = V6[random(#V6)]
    if h ~= 0x2001 then h = h + random(0, 15) end
    return fmt("%x:%x:%x:%x:%x:%x:%x:%x", h, random(0, 65535), random(0, 65535),
               random(0, 65535), random(0, 65535), random(0, 65535), random(0, 65535),
               random(0, 65535))
end

local t0 = wall()
local ips4 = {}
for i = 1, N do ips4[i] = v4() end

local ips6, found6, missed6, tried6 = {}, 0, 0, 0
local guard = 0
while #ips6 < N do
    guard = guard + 1
    if guard > 200 * N then error("cannot find enough IPv6 addresses in the table") end
    local ip = v6()
    tried6 = tried6 + 1
    if db:record(ip) then
        found6 = found6 + 1
        ips6[#ips6 + 1] = ip
    elseif missed6 < (found6 + missed6 + 1) * 0.1 then
        missed6 = missed6 + 1
        ips6[#ips6 + 1] = ip
    end
end
db:close()

-- A hot set: N references to 1024 distinct IPv4 strings, so the table's
-- pages in use stay in the CPU caches: the code path's own cost.
local HOT = 1024
local hot4 = {}
for i = 1, N do hot4[i] = ips4[(i - 1) % HOT + 1] end

io.write(fmt("generated %d IPv4 + %d IPv6 address strings in %.1f s (not timed); "
             .. "%.1f %% of IPv6 candidates were found\n",
             N, N, wall() - t0, 100 * found6 / tried6))

-- ---------------------------------------------------------------------------
-- Correctness: a sample against `ipgeo lookup` (the CLI reads the same
-- table with the Rust reader).

local function check(dbc, ips, label)
    os.execute("mkdir -p '" .. RUN .. "'")
    local path = RUN .. "/sample-" .. label .. ".txt"
    local f = assert(io.open(path, "w"))
    local step = math.max(1, math.floor(#ips / SAMPLE))
    local sample = {}
    for i = 1, #ips, step do
        sample[#sample + 1] = ips[i]
        f:write(ips[i], "\n")
    end
    f:close()
    local p = assert(io.popen("'" .. CLI .. "' lookup --db '" .. TABLE .. "' < '" .. path .. "'"))
    local n, bad, found = 0, 0, 0
    local first_bad
    local FIELDS = { "country_code", "province", "city", "latitude", "longitude" }
    for line in p:lines() do
        n = n + 1
        local want = cjson.decode(line)
        local ip = sample[n]
        local ok = want.ip == ip
        local rec, err = dbc:lookup(ip)
        local rec2 = dbc:record(ip)
        local cc = dbc:country_code(ip)
        if want.error then
            ok = ok and rec == nil and err == want.error and rec2 == nil and cc == nil
        else
            found = found + 1
            ok = ok and rec ~= nil and rec.network == want.network and rec2 ~= nil
                and cc == want.country_code
            for _, k in ipairs(FIELDS) do
                if rec and (rec[k] ~= want[k] or rec2[k] ~= want[k]) then ok = false end
            end
        end
        if not ok then
            bad = bad + 1
            first_bad = first_bad or fmt("%s: cli %s, lua %s", ip, line,
                                         rec and cjson.encode(rec) or tostring(err))
        end
    end
    p:close()
    if n ~= #sample then
        bad = bad + 1
        first_bad = first_bad or fmt("the CLI answered %d of %d", n, #sample)
    end
    return { n = n, bad = bad, found = found, first_bad = first_bad }
end

-- ---------------------------------------------------------------------------
-- The benchmarks. Each returns a count so the work cannot be optimised away.

local C = require("ipgeo.cdefs").C

-- A list cut into batches of BATCH addresses, made on first use (the
-- untimed warm-up pass) and kept, as a caller holding batches would.
local BATCH = 100
local batches_of = {}
local function records_in_batches(d, ips)
    local batches = batches_of[ips]
    if not batches then
        batches = {}
        for i = 1, #ips, BATCH do
            local b = {}
            for j = i, math.min(i + BATCH - 1, #ips) do b[#b + 1] = ips[j] end
            batches[#batches + 1] = b
        end
        batches_of[ips] = batches
    end
    local n = 0
    for k = 1, #batches do
        local recs = d:records(batches[k])
        for i = 1, #recs do if recs[i] then n = n + 1 end end
    end
    return n
end

local benches = {
    { name = "pure-Lua loop: `sum = sum + #ip`", fn = function(_, ips)
        local s = 0
        for i = 1, #ips do s = s + #ips[i] end
        return s
    end },
    { name = "raw C ABI `C.ipgeo_lookup` (no facade, for scale)", fn = function(d, ips)
        local n = 0
        local ptr = d.ptr -- the facade's handle pointer (an internal field)
        for i = 1, #ips do
            local ip = ips[i]
            if C.ipgeo_lookup(ptr, ip, #ip) > 0 then n = n + 1 end
        end
        return n
    end },
    { name = "`db:country_code(ip)`", fn = function(d, ips)
        local n = 0
        for i = 1, #ips do if d:country_code(ips[i]) then n = n + 1 end end
        return n
    end },
    { name = "`db:record(ip)`", fn = function(d, ips)
        local n = 0
        for i = 1, #ips do if d:record(ips[i]) then n = n + 1 end end
        return n
    end },
    { name = "`db:record(ip)`, cache_size 1 M", big_cache = true, fn = function(d, ips)
        local n = 0
        for i = 1, #ips do if d:record(ips[i]) then n = n + 1 end end
        return n
    end },
    { name = "`db:records(ips)`, batches of 100", fn = function(d, ips)
        return records_in_batches(d, ips)
    end },
    { name = "`db:records(ips)`, batches of 100, cache_size 1 M", big_cache = true, fn = function(d, ips)
        return records_in_batches(d, ips)
    end },
    { name = "`db:lookup(ip)` (fresh table + network)", fn = function(d, ips)
        local n = 0
        for i = 1, #ips do if d:lookup(ips[i]) then n = n + 1 end end
        return n
    end },
}

local db_default = open({ name = "default" })
local db_big = open({ name = "big", cache_size = 1000000 })

local lists = {
    { label = "IPv4", ips = ips4, title = "IPv4 random" },
    { label = "IPv6", ips = ips6, title = "IPv6 random" },
    { label = "hot", ips = hot4, title = "IPv4 hot set (1024 addresses)" },
}

-- Correctness first (this also warms both record caches and the JIT).
local checks = {}
for li = 1, 2 do
    checks[lists[li].label] = check(db_default, lists[li].ips, lists[li].label)
end

-- Warm-up: one untimed pass of each.
for _, l in ipairs(lists) do
    for _, b in ipairs(benches) do
        b.fn(b.big_cache and db_big or db_default, l.ips)
    end
end

local cpu, wl, hits = {}, {}, {}
for _, l in ipairs(lists) do
    cpu[l.label], wl[l.label], hits[l.label] = {}, {}, {}
    for bi = 1, #benches do
        cpu[l.label][bi], wl[l.label][bi] = {}, {}
    end
end

for r = 1, ROUNDS do
    for _, l in ipairs(lists) do
        for bi, b in ipairs(benches) do
            local d = b.big_cache and db_big or db_default
            collectgarbage()
            local w0, c0 = wall(), os.clock()
            local n = b.fn(d, l.ips)
            local c1, w1 = os.clock(), wall()
            cpu[l.label][bi][r] = c1 - c0
            wl[l.label][bi][r] = w1 - w0
            hits[l.label][bi] = n
        end
    end
    io.write(fmt("round %d/%d done\n", r, ROUNDS))
end

local function median(t)
    local s = {}
    for i, v in ipairs(t) do s[i] = v end
    table.sort(s)
    local k = #s
    if k % 2 == 1 then return s[(k + 1) / 2] end
    return (s[k / 2] + s[k / 2 + 1]) / 2
end

local function rate(sec, n) return n / sec end
local function mfmt(x)
    if x >= 1e6 then return fmt("%.1f M", x / 1e6) end
    return fmt("%.0f k", x / 1e3)
end

-- ---------------------------------------------------------------------------
-- Report.

local TARGETS = { [3] = 15e6, [4] = 5e6, [5] = 5e6, [6] = 5e6, [7] = 5e6 }

io.write("\n### Lua-side speed (standalone LuaJIT, ", os.date("!%Y-%m-%d"), ")\n\n")
io.write(fmt("%s through `lua/ipgeo.lua` + `libipgeo_ffi.so`; table `%s` (%s); %d address strings per list,\n",
             jit.version, TABLE:match("[^/]*$"), info.checksum, N))
io.write(fmt("made before timing; median of %d rounds (process CPU time; wall-clock median in brackets).\n",
             ROUNDS))
io.write(fmt("Found in the table: IPv4 %.1f %%, IPv6 %.1f %%. ns/lookup (net) = minus the pure-Lua loop.\n\n",
             100 * hits.IPv4[2] / N, 100 * hits.IPv6[2] / N))
local head, rule = { "operation" }, { "---" }
for _, l in ipairs(lists) do
    head[#head + 1] = l.title .. ": lookups/s"
    head[#head + 1] = "ns/lookup (net)"
    rule[#rule + 1], rule[#rule + 2] = "---:", "---:"
end
head[#head + 1], rule[#rule + 1] = "target (IPv4 random)", "---"
io.write("| ", table.concat(head, " | "), " |\n|", table.concat(rule, "|"), "|\n")
local verdicts = {}
for bi, b in ipairs(benches) do
    local cells = { b.name }
    for _, l in ipairs(lists) do
        local c = median(cpu[l.label][bi])
        local w = median(wl[l.label][bi])
        local base = median(cpu[l.label][1])
        local ns = c / N * 1e9
        local net = (c - base) / N * 1e9
        cells[#cells + 1] = fmt("%s (%s)", mfmt(rate(c, N)), mfmt(rate(w, N)))
        cells[#cells + 1] = bi == 1 and fmt("%.1f (loop)", ns) or fmt("%.1f (%.1f)", ns, net)
    end
    local target = TARGETS[bi]
    if target then
        local r4 = rate(median(cpu.IPv4[bi]), N)
        local met = r4 >= target
        cells[#cells + 1] = fmt("≥ %s/s: %s", mfmt(target), met and "met" or "**not met**")
        verdicts[#verdicts + 1] = fmt("%s %s", b.name, met and "met" or "NOT MET")
    else
        cells[#cells + 1] = ""
    end
    io.write("| ", table.concat(cells, " | "), " |\n")
end

io.write(fmt("\nRecord cache after the run: %d records cached with the default cache_size (%d; "
             .. "two generations of half that, so a working set beyond it is rebuilt), %d with cache_size 1 M.\n",
             db_default.cached, db_default.cache_size, db_big.cached))
local all_ok = true
for li = 1, 2 do
    local l = lists[li]
    local c = checks[l.label]
    io.write(fmt("Correctness (%s): %d sampled addresses (%d found) compared with `ipgeo lookup` "
                 .. "(network, country_code, province, city, latitude, longitude; lookup/record/"
                 .. "country_code): %d mismatches%s\n", l.label, c.n, c.found, c.bad,
                 c.first_bad and (", first: " .. c.first_bad) or ""))
    if c.bad > 0 then all_ok = false end
end
io.write("Targets: ", table.concat(verdicts, "; "), "\n")

os.exit(all_ok and 0 or 1)
