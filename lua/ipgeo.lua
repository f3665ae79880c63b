-- Copyright (C) ipgeo authors. MIT or Apache-2.0.
--
-- ipgeo: IP geolocation for nginx / OpenResty, from a shared, memory-mapped
-- table. Lookups go through LuaJIT's FFI into libipgeo_ffi.so; records are
-- cached per worker as Lua tables. See the README for the reference manual.

local cdefs = require "ipgeo.cdefs"
local ffi = require "ffi"
local ok_new, new_tab = pcall(require, "table.new")
local ok_clone, clone_tab = pcall(require, "table.clone")

if not ok_new then
    new_tab = function() return {} end
end
if not ok_clone then
    clone_tab = function(t)
        local u = {}
        for k, v in pairs(t) do u[k] = v end
        return u
    end
end

local C = cdefs.C
local native = cdefs.native
local ffi_cast = ffi.cast
local ffi_new = ffi.new
local ffi_string = ffi.string
local ngx = ngx
local ngx_log = ngx and ngx.log
local ngx_ERR = ngx and ngx.ERR
local ngx_NOTICE = ngx and ngx.NOTICE
local type = type
local error = error
local pairs = pairs
local ipairs = ipairs
local tonumber = tonumber
local tostring = tostring
local setmetatable = setmetatable
local str_byte = string.byte
local str_char = string.char
local str_format = string.format
local str_gsub = string.gsub
local str_sub = string.sub

local ERR_INVALID = cdefs.ERR_INVALID
local ERR_CLOSED = cdefs.ERR_CLOSED
local MAX_COLUMNS = 64
local NET_CAP = 64
local DEFAULT_CHECK_INTERVAL = 5
local DEFAULT_CACHE_SIZE = 100000
local LOADING_POLL = 0.05
local MAX_ERR_IP = 64

local _M = {
    _VERSION = "0.1.0",
    library = cdefs.path,
}

-- Scratch buffers, shared by all lookups of this VM (lookups never yield
-- between filling and reading them).
local values = ffi_new("ipgeo_value_t[?]", MAX_COLUMNS)
local net_buf = ffi_new("char[?]", NET_CAP)
local net_len = ffi_new("size_t[1]")
-- For db:refs(), grown to the largest batch seen.
local NET_STRIDE = 48
local batch_cap = 0
local b_ptrs, b_lens, b_refs, b_nets, b_nlens

local dbs = {}

local DB = {}
local DB_mt = { __index = DB }

-- Country codes by their packed form (first byte | second << 8).
local cc_strings = {}


local function log(level, ...)
    if ngx_log then
        ngx_log(level, "[ipgeo] ", ...)
    end
end


-- The text of a bad address, made safe for logs and JSON: at most 64 bytes,
-- control and non-ASCII bytes as \xNN.
local function printable(ip)
    local s = str_sub(ip, 1, MAX_ERR_IP)
    s = str_gsub(s, "[%c\128-\255\\\"]", function(c)
        return str_format("\\x%02x", str_byte(c))
    end)
    if #ip > MAX_ERR_IP then
        s = s .. "..."
    end
    return s
end


--- Internal: `printable` for other ipgeo modules.
_M._printable = printable


local function failure(rc, ip)
    if rc == 0 then
        return nil, "not found"
    end
    if rc == ERR_INVALID then
        return nil, "invalid address: " .. printable(ip)
    end
    if rc == ERR_CLOSED then
        return nil, "database closed"
    end
    return nil, "internal error (" .. tostring(rc) .. ")"
end


--- Internal: nil and the error of a lookup's return code `rc` (<= 0) for
--- `ip`, as db:ref() gives it, for other ipgeo modules.
_M._failure = failure


-- Builds the Lua table of record `ref` from its column values. A name
-- field takes the value of the best-ranked language present; with several
-- languages in the table, `names` holds them all.
local function build_record(self, ref)
    local n = C.ipgeo_record_values(self.ptr, ref, values, MAX_COLUMNS)
    if n < 0 then
        return nil
    end
    local cols = self.columns
    local rec = new_tab(0, n + 1)
    local names, ranks
    for i = 0, n - 1 do
        local v = values[i]
        local col = cols[v.col + 1]
        local val
        if v.ty == 1 then
            val = ffi_string(v.str, v.len)
        else
            val = tonumber(v.num)
        end
        local field = col.field
        if col.hidden then -- luacheck: ignore 542
            -- bookkeeping (_sources): not part of the answer
        elseif col.lang then
            if self.multilingual then
                names = names or new_tab(0, 4)
                local t = names[field]
                if not t then
                    t = new_tab(0, 2)
                    names[field] = t
                end
                t[col.lang] = val
            end
            ranks = ranks or new_tab(0, 4)
            local best = ranks[field]
            if not best or col.rank < best then
                rec[field] = val
                ranks[field] = col.rank
            end
        else
            rec[field] = val
        end
    end
    if names then
        rec.names = names
    end
    return rec
end


-- Records cached per worker in two generations: the current one, and the
-- one before it, whose entries move back into the current one when used.
-- When the current generation holds half of cache_size records it becomes
-- the old one, so at most cache_size records are kept and the records in
-- use survive a turnover (a least-recently-used approximation without
-- per-hit bookkeeping).
--- Internal: a fresh record table for `ref`, outside the cache, for
--- modules that keep their own per-record data (the HTTP API's JSON).
_M._build_record = build_record


local function cached_record(self, ref)
    local rec = self.cache[ref]
    if rec then
        return rec
    end
    local old = self.old
    rec = old and old[ref]
    if not rec then
        rec = build_record(self, ref)
        if not rec then
            return nil
        end
    end
    local n = self.cached + 1
    if n > self.half then
        -- (With cache_size 1 there is no room for an old generation.)
        self.old = self.cache_size > 1 and self.cache or nil
        self.cache = {}
        n = 1
    end
    self.cached = n
    self.cache[ref] = rec
    return rec
end


local function flush(self)
    self.cache = {}
    self.old = nil
    self.cached = 0
    -- Modules that cache per-record data compare this (a plain Lua number:
    -- no FFI call per request) to know when to drop their caches.
    self.serial = self.serial + 1
end


-- Column descriptions, with each localised column's rank in the preferred
-- language order.
local function describe_columns(self, langs)
    local pref = {}
    for i, l in ipairs(langs) do
        pref[l] = i
    end
    local cols = self.handle:columns()
    local multilingual = false
    local seen = {}
    for _, c in ipairs(cols) do
        c.hidden = str_sub(c.field, 1, 1) == "_"
        if c.lang then
            c.rank = pref[c.lang] or (100 + c.lang_index)
            if seen[c.field] then
                multilingual = true
            end
            seen[c.field] = true
        end
    end
    self.columns = cols
    self.multilingual = multilingual
end


local function check_opts(opts)
    if opts == nil then
        return {}
    end
    if type(opts) ~= "table" then
        error("opts must be a table", 3)
    end
    local function want(k, t)
        local v = opts[k]
        if v ~= nil and type(v) ~= t then
            error("opts." .. k .. " must be a " .. t, 4)
        end
    end
    want("name", "string")
    want("check_interval", "number")
    want("snapshot_dir", "string")
    want("snapshot", "boolean")
    want("cache_size", "number")
    want("languages", "table")
    if opts.check_interval and opts.check_interval < 0 then
        error("opts.check_interval must not be negative", 3)
    end
    if opts.cache_size and opts.cache_size < 1 then
        error("opts.cache_size must be at least 1", 3)
    end
    return opts
end


local start_timer


--- Opens a table. Callable in init_by_lua* (the master maps it; workers
--- inherit the mapping) or later in a worker.
function _M.open(path, opts)
    if type(path) ~= "string" then
        error("path must be a string", 2)
    end
    opts = check_opts(opts)
    if str_sub(path, 1, 1) ~= "/" and ngx and ngx.config then
        path = ngx.config.prefix() .. path
    end
    local name = opts.name or "default"
    local in_master = ngx and ngx.get_phase and ngx.get_phase() == "init"
    local handle, err = native.open(path, {
        snapshot_dir = opts.snapshot_dir,
        snapshot = opts.snapshot,
        unlink_snapshot = in_master and true or false,
    })
    if not handle then
        return nil, err
    end
    local info = handle:info()
    local self = setmetatable({
        name = name,
        path = path,
        handle = handle,
        ptr = ffi_cast("const ipgeo_db_t *", handle:ptr()),
        check_interval = opts.check_interval or DEFAULT_CHECK_INTERVAL,
        cache_size = opts.cache_size or DEFAULT_CACHE_SIZE,
        half = math.max(1, math.floor((opts.cache_size or DEFAULT_CACHE_SIZE) / 2)),
        cache = {},
        old = nil,
        cached = 0,
        serial = 1,
        languages = opts.languages or info.languages,
        opened_at = ngx and ngx.now() or os.time(),
        last_reload = nil,
    }, DB_mt)
    describe_columns(self, self.languages)
    local old = dbs[name]
    dbs[name] = self
    if old and old ~= self then
        old.replaced = true
    end
    if not in_master and ngx and self.check_interval > 0 then
        start_timer(self)
    end
    return self
end


--- The database opened under `name` (default "default"), or nil.
function _M.get(name)
    return dbs[name or "default"]
end


--- All open databases, by name.
function _M.databases()
    return dbs
end


-- The record reference and network text for `ip`, or nil, err.
local function ref_and_network(self, ip)
    local ref = C.ipgeo_lookup_net(self.ptr, ip, #ip, net_buf, NET_CAP, net_len)
    if ref <= 0 then
        return failure(ref, ip)
    end
    return ref, ffi_string(net_buf, net_len[0])
end


--- The record table for `ip`: every field plus `network`. A fresh table the
--- caller may change (its `names` subtable is shared).
function DB:lookup(ip)
    if type(ip) ~= "string" then
        error("ip must be a string", 2)
    end
    local ref, net = ref_and_network(self, ip)
    if not ref then
        return nil, net
    end
    local rec = cached_record(self, ref)
    if not rec then
        return nil, "internal error (record)"
    end
    local out = clone_tab(rec)
    out.network = net
    return out
end


--- The record reference (an integer > 0, equal for equal records until the
--- next reload) and the matched network text for `ip`, or nil, err. For
--- modules that cache their own per-record data (the HTTP API).
function DB:ref(ip)
    if type(ip) ~= "string" then
        error("ip must be a string", 2)
    end
    return ref_and_network(self, ip)
end


-- Checks the argument of a batch method (raising the caller's error,
-- `level` up) and fills the batch buffers with its strings; returns their
-- number.
local function fill_batch(ips, level)
    if type(ips) ~= "table" then
        error("ips must be a table", level + 1)
    end
    local n = #ips
    if n > batch_cap then
        batch_cap = n > 2 * batch_cap and n or 2 * batch_cap
        b_ptrs = ffi_new("const char *[?]", batch_cap)
        b_lens = ffi_new("size_t[?]", batch_cap)
        b_refs = ffi_new("int32_t[?]", batch_cap)
        b_nets = ffi_new("char[?]", batch_cap * NET_STRIDE)
        b_nlens = ffi_new("uint8_t[?]", batch_cap)
    end
    for i = 1, n do
        local ip = ips[i]
        if type(ip) ~= "string" then
            error("ips[" .. i .. "] must be a string", level + 1)
        end
        b_ptrs[i - 1] = ip -- kept alive by `ips` until the call returns
        b_lens[i - 1] = #ip
    end
    return n
end


--- db:ref() for many addresses in one call, the lookups overlapping in
--- memory: `refs, nets = db:refs(ips)`. For each i, `refs[i]` is the
--- reference and `nets[i]` the network text, or `refs[i]` is false and
--- `nets[i]` the error db:ref() gives. nil, err if the database is closed.
function DB:refs(ips)
    local n = fill_batch(ips, 2)
    if n == 0 then
        return {}, {}
    end
    local rc = C.ipgeo_locate_batch(self.ptr, b_ptrs, b_lens, b_refs, b_nets, b_nlens, n)
    if rc < 0 then
        return failure(rc)
    end
    local refs, nets = new_tab(n, 0), new_tab(n, 0)
    for i = 1, n do
        local r = b_refs[i - 1]
        if r > 0 then
            refs[i] = r
            nets[i] = ffi_string(b_nets + (i - 1) * NET_STRIDE, b_nlens[i - 1])
        else
            local _, err = failure(r, ips[i])
            refs[i], nets[i] = false, err
        end
    end
    return refs, nets
end


--- db:record() for many addresses in one call, the lookups overlapping in
--- memory: `recs, errs = db:records(ips)`. For each i, `recs[i]` is the
--- cached record table (shared: do not modify), or false and `errs[i]` the
--- error db:record() gives (`errs` holds only the failures). nil, err if
--- the database is closed.
function DB:records(ips)
    local n = fill_batch(ips, 2)
    if n == 0 then
        return {}, {}
    end
    local rc = C.ipgeo_lookup_batch(self.ptr, b_ptrs, b_lens, b_refs, n)
    if rc < 0 then
        return failure(rc)
    end
    local recs, errs = new_tab(n, 0), {}
    for i = 1, n do
        local r = b_refs[i - 1]
        local rec = r > 0 and cached_record(self, r)
        if rec then
            recs[i] = rec
        else
            local _, err = failure(r, ips[i])
            if r > 0 then
                err = "internal error (record)"
            end
            recs[i], errs[i] = false, err
        end
    end
    return recs, errs
end


--- The record table of reference `ref` (shared; do not modify).
function DB:record_of(ref)
    return cached_record(self, ref)
end


--- The cached record table for `ip`, without `network`: the fast path. The
--- table is shared by every address with this record: do not modify it.
function DB:record(ip)
    if type(ip) ~= "string" then
        error("ip must be a string", 2)
    end
    local ref = C.ipgeo_lookup(self.ptr, ip, #ip)
    if ref <= 0 then
        return failure(ref, ip)
    end
    local rec = cached_record(self, ref)
    if not rec then
        return nil, "internal error (record)"
    end
    return rec
end


--- The ISO country code for `ip`, e.g. "CN".
function DB:country_code(ip)
    if type(ip) ~= "string" then
        error("ip must be a string", 2)
    end
    local cc = C.ipgeo_lookup_cc(self.ptr, ip, #ip)
    if cc <= 0 then
        return failure(cc, ip)
    end
    local s = cc_strings[cc]
    if not s then
        s = str_char(cc % 256, (cc - cc % 256) / 256)
        cc_strings[cc] = s
    end
    return s
end


--- One field of the record for `ip` (by name, e.g. "city"), or nil, err.
function DB:field(ip, name)
    if type(ip) ~= "string" then
        error("ip must be a string", 2)
    end
    if type(name) ~= "string" then
        error("name must be a string", 2)
    end
    local rec, err = self:record(ip)
    if not rec then
        return nil, err
    end
    local v = rec[name]
    if v == nil then
        return nil, "no " .. name
    end
    return v
end


--- Metadata: path, snapshot, size, checksum, build time, generation, load
--- and check times, languages, columns, sources, cache use.
function DB:info()
    local info = self.handle:info()
    info.name = self.name
    local old = 0
    for _ in pairs(self.old or {}) do
        old = old + 1
    end
    info.cached_records = self.cached + old
    info.cache_size = self.cache_size
    info.check_interval = self.check_interval
    info.last_reload = self.last_reload
    info.library = _M.library
    local cols = {}
    for i, c in ipairs(self.columns) do
        cols[i] = c.lang and (c.field .. "@" .. c.lang) or c.field
    end
    info.columns = cols
    return info
end


-- Publishes this worker's view of a database in the ipgeo_state shared
-- dict (if declared): "generation checksum loaded_at". Entries expire after
-- three check intervals, so those of exited workers go away.
local function publish(self)
    local dict = ngx and ngx.shared and ngx.shared.ipgeo_state
    if not dict or not ngx.worker or not ngx.worker.pid then
        return
    end
    local info = self.handle:info()
    local ttl = self.check_interval > 0 and self.check_interval * 3 + 1 or 0
    dict:set("ipgeo:db:" .. self.name .. ":" .. ngx.worker.pid(),
             info.generation .. " " .. info.checksum .. " " .. info.loaded_at, ttl)
end


local function swapped(self, how)
    flush(self)
    self.last_reload = ngx and ngx.now() or os.time()
    describe_columns(self, self.languages)
    local info = self.handle:info()
    log(ngx_NOTICE, self.name, ": ", how, " generation ", info.generation,
        " from ", self.path, " (", info.checksum, ")")
    publish(self)
end


--- Reloads the file now (blocking the worker while it is copied and
--- checked). Returns true when a new table was swapped in, false when the
--- file is unchanged, or nil, err (the current table keeps serving).
function DB:reload(force)
    local ok, err = self.handle:reload(force and true or false)
    if ok == nil then
        return nil, err
    end
    if ok then
        swapped(self, "reloaded")
    end
    return ok
end


--- Looks at the file without blocking: returns "unchanged", "loading",
--- "swapped" or "failed", err. Workers call it from a timer.
function DB:check()
    local status, err = self.handle:check()
    if status == "swapped" then
        swapped(self, "loaded")
    elseif status == "failed" then
        log(ngx_ERR, self.name, ": refused ", self.path, ", still serving generation ",
            self.handle:generation(), ": ", err)
    end
    return status, err
end


--- The handle's generation: 1 after open, +1 per table swapped in.
function DB:generation()
    return C.ipgeo_generation(self.ptr)
end


--- Closes the database: lookups then fail with "database closed".
function DB:close()
    flush(self)
    self.handle:close()
    if dbs[self.name] == self then
        dbs[self.name] = nil
    end
end


local function poll_loading(premature, self)
    if premature or self.replaced then
        return
    end
    if self:check() == "loading" then
        ngx.timer.at(LOADING_POLL, poll_loading, self)
    end
end


local function tick(premature, self)
    if premature then
        -- The worker is exiting: take its entry out of the status.
        local dict = ngx.shared.ipgeo_state
        if dict then
            dict:delete("ipgeo:db:" .. self.name .. ":" .. ngx.worker.pid())
        end
        return
    end
    if self.replaced then
        return
    end
    publish(self)
    if self:check() == "loading" then
        ngx.timer.at(LOADING_POLL, poll_loading, self)
    end
end


start_timer = function(self)
    if self.timer_started or self.check_interval <= 0 then
        return true
    end
    local ok, err = ngx.timer.every(self.check_interval, tick, self)
    if not ok then
        log(ngx_ERR, self.name, ": cannot start the reload timer: ", err)
        return nil, err
    end
    self.timer_started = true
    publish(self)
    return true
end


--- Every worker's view of database `name` (default "default"), from the
--- ipgeo_state shared dict: { workers = { [pid] = { generation = n,
--- checksum = "...", loaded_at = t } }, converged = true when all workers
--- serve the same table }. nil, err without the dict.
function _M.status(name)
    name = name or "default"
    local dict = ngx and ngx.shared and ngx.shared.ipgeo_state
    if not dict then
        return nil, "lua_shared_dict ipgeo_state is not declared"
    end
    local prefix = "ipgeo:db:" .. name .. ":"
    local workers, checksum, converged = {}, nil, true
    for _, key in ipairs(dict:get_keys(0)) do
        if str_sub(key, 1, #prefix) == prefix then
            local v = dict:get(key)
            if v then
                local gen, sum, at = v:match("^(%d+) (%x+) ([%d.]+)$")
                workers[tonumber(str_sub(key, #prefix + 1))] = {
                    generation = tonumber(gen), checksum = sum, loaded_at = tonumber(at),
                }
                if checksum and sum ~= checksum then
                    converged = false
                end
                checksum = checksum or sum
            end
        end
    end
    return { workers = workers, converged = converged, checksum = checksum }
end


--- One-line init_by_lua wiring: opens every database in `conf` and raises
--- (so that nginx refuses to start) if one cannot be opened.
---   conf = { path = "...", ... }                   -- one database, "default"
---   conf = { databases = { name = { path = ..., ... }, ... } }
function _M.init(conf)
    if type(conf) ~= "table" then
        error("ipgeo.init: conf must be a table", 2)
    end
    local list = conf.databases
    if list == nil then
        list = { [conf.name or "default"] = conf }
    elseif type(list) ~= "table" then
        error("ipgeo.init: conf.databases must be a table", 2)
    end
    for name, spec in pairs(list) do
        if type(spec) == "string" then
            spec = { path = spec }
        end
        if type(spec) ~= "table" or type(spec.path) ~= "string" then
            error("ipgeo.init: database " .. tostring(name) .. " needs a path", 2)
        end
        local opts = clone_tab(spec)
        opts.path = nil
        opts.name = name
        local ok, db, err = pcall(_M.open, spec.path, opts)
        if not ok then
            -- A misused option: name the database, not this file.
            error("ipgeo.init: database " .. tostring(name) .. ": "
                  .. tostring(db):gsub("^[^:]+:%d+: ", ""), 2)
        end
        if not db then
            error("ipgeo.init: cannot open database " .. tostring(name) .. ": " .. err, 2)
        end
    end
    return true
end


--- One-line init_worker_by_lua wiring: starts each database's reload timer.
function _M.init_worker()
    for _, db in pairs(dbs) do
        local ok, err = start_timer(db)
        if not ok then
            return nil, err
        end
    end
    return true
end


return _M
