-- Copyright (C) ipgeo authors. MIT or Apache-2.0.
--
-- The HTTP IP-query API, one line in a location:
--
--     location = /api/ip_query {
--         default_type "application/json; charset=utf-8";
--         content_by_lua_block { require("ipgeo.api").serve() }
--     }
--
-- GET ?ip=1.2.4.8 | POST {"ip": "..."} | POST {"ips": [...]}; no address:
-- the caller's own (trusted-proxy aware). Errors are JSON with a stable
-- `error` code and a human `message`. See the README for the reference.

local ipgeo = require "ipgeo"
local C = require("ipgeo.cdefs").C
local json = require "ipgeo.json"
local client = require "ipgeo.client"
local ffi = require "ffi"
local ok_cjson, cjson = pcall(require, "cjson.safe")
if not ok_cjson then
    cjson = nil
end

local ngx = ngx
local ngx_var = ngx.var
local ngx_req = ngx.req
local ngx_print = ngx.print
local ngx_header = ngx.header
local unescape_uri = ngx.unescape_uri
local type = type
local error = error
local pairs = pairs
local tostring = tostring
local setmetatable = setmetatable
local str_find = string.find
local str_format = string.format
local printable = ipgeo._printable
local failure = ipgeo._failure
local build_record = ipgeo._build_record
local ffi_cast = ffi.cast
local ffi_string = ffi.string
local ffi_copy = ffi.copy
local ffi_new = ffi.new
local next = next
local ok_new, new_tab = pcall(require, "table.new")
if not ok_new then
    new_tab = function() return {} end
end
local concat = table.concat
local json_string = json.string
local json_encode = json.encode

local CONTENT_TYPE = "application/json; charset=utf-8"

-- A single answer is printed as three pieces: the head of its JSON object
-- (`{"ip":"...","network":"..."`, written by ipgeo_lookup_head: one string
-- per answer), the record's cached fields, and the database's tail. The
-- table is reused: ngx.print copies the pieces before returning, and
-- nothing yields in between.
local HEAD_CAP = 128 -- ipgeo_lookup_head always fits (HEAD_CAP in ffi/src/lib.rs)
local head_buf = ffi.new("char[?]", HEAD_CAP)
local head_len = ffi.new("size_t[1]")
local char_ptr = ffi.typeof("const char *")
local answer = new_tab(3, 0)
-- _M.answer() writes a whole body (head, fragment, tail) here; it grows to
-- the longest body answered.
local body_cap = 4096
local body_buf = ffi.new("char[?]", body_cap)

-- GET reads its query string as a pointer and length, without making a Lua
-- string of it (a new string per request costs about half a microsecond of
-- interning and garbage collection): through ngx_http_lua_ffi_var_get, the
-- C function behind resty.core's ngx.var, when resty.core declares it;
-- otherwise from ngx.var.args.
--
-- _M.answer() hands its body to nginx through ngx_http_lua_ffi_var_set (behind
-- resty.core's ngx.var assignment), from the buffer it was written in:
-- again no Lua string.
local var_get, var_set, get_request
do
    local ok_base, base = pcall(require, "resty.core.base")
    if ok_base and pcall(require, "resty.core.var") then
        local ok, f = pcall(function() return ffi.C.ngx_http_lua_ffi_var_get end)
        if ok and f and type(base.get_request) == "function" then
            var_get, get_request = f, base.get_request
            local ok_set, g = pcall(function() return ffi.C.ngx_http_lua_ffi_var_set end)
            var_set = ok_set and g or nil
        end
    end
end
local var_lower = ffi.new("char[32]")
local var_ptr = ffi.new("char *[1]")
local var_len = ffi.new("size_t[1]")
local var_err = ffi.new("char *[1]")
local set_lower = ffi.new("unsigned char[32]")
local set_err = ffi.new("unsigned char[256]")
local set_errlen = ffi.new("size_t[1]")
local arg_at = ffi.new("size_t[1]")
local arg_len = ffi.new("size_t[1]")
local FIELDS = {
    "country_code", "country", "continent_code", "continent", "province", "province_code",
    "city", "city_code", "district", "district_code", "isp", "organization", "asn", "asn_org",
    "latitude", "longitude", "accuracy_radius", "timezone", "postal_code",
}

local _M = { _VERSION = "0.1.0" }
local mt = { __index = _M }

-- Internal, for the tests: how GET reads its query string.
_M._query_via = var_get and "ngx_http_lua_ffi_var_get" or "ngx.var.args"

-- Monotonic clock for the optional X-Ipgeo-Time header.
if not pcall(ffi.typeof, "struct ipgeo_timespec") then
    ffi.cdef [[
struct ipgeo_timespec { long tv_sec; long tv_nsec; };
int clock_gettime(int clk_id, struct ipgeo_timespec *tp);
]]
end
local ts = ffi.new("struct ipgeo_timespec")
local function now_us()
    ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
    return tonumber(ts.tv_sec) * 1e6 + tonumber(ts.tv_nsec) / 1e3
end


--- A handler. Options (all optional):
---   db = "default"        database answering by default
---   content_type = true   set Content-Type on every response; false when the
---                         location's default_type already says
---                         "application/json; charset=utf-8" (saves a header
---                         call per request)
---   allow_db = true       whether the `db` parameter may pick another one
---   max_batch = 100       most addresses in one POST {"ips": [...]}
---   max_body = 65536      largest POST body in bytes (else 413)
---   trusted = {}          proxies whose X-Forwarded-For is believed
---   header = "X-Forwarded-For"  or "X-Real-IP"
---   timing = false        add X-Ipgeo-Time: server time in microseconds
function _M.new(opts)
    opts = opts or {}
    if type(opts) ~= "table" then
        error("opts must be a table", 2)
    end
    local function want(k, t)
        if opts[k] ~= nil and type(opts[k]) ~= t then
            error("opts." .. k .. " must be a " .. t, 3)
        end
    end
    want("db", "string")
    want("allow_db", "boolean")
    want("max_batch", "number")
    want("max_body", "number")
    want("trusted", "table")
    want("header", "string")
    want("timing", "boolean")
    want("content_type", "boolean")
    if opts.max_batch and (opts.max_batch < 1 or opts.max_batch % 1 ~= 0) then
        error("opts.max_batch must be a positive integer", 2)
    end
    if opts.max_body and opts.max_body < 2 then
        error("opts.max_body must be at least 2", 2)
    end
    if not cjson then
        error("ipgeo.api needs lua-cjson (cjson.safe)", 2)
    end
    return setmetatable({
        db = opts.db or "default",
        allow_db = opts.allow_db ~= false,
        max_batch = opts.max_batch or 100,
        max_body = opts.max_body or 65536,
        client = client.new { trusted = opts.trusted, header = opts.header },
        timing = opts.timing or false,
        content_type = opts.content_type ~= false,
    }, mt)
end


-- Per database: JSON fragments of records by reference, and the database's
-- attribution, for the current generation.
local caches = setmetatable({}, { __mode = "k" })

local function cache_of(db)
    local gen = db.serial
    local c = caches[db]
    if c and c.gen == gen then
        return c
    end
    local attribution = ""
    local meta = cjson.decode(db.handle:info().meta or "{}")
    if type(meta) == "table" and type(meta.attribution) == "string" then
        attribution = ',"attribution":' .. json_string(meta.attribution)
    end
    c = { gen = gen, frags = {}, count = 0, attribution = attribution, tail = attribution .. "}" }
    caches[db] = c
    return c
end


local function fragment(db, c, ref)
    local f = c.frags[ref]
    if f then
        return f
    end
    -- Built outside the database's record cache: only the JSON is kept.
    local rec = build_record(db, ref)
    if not rec then
        return nil
    end
    local parts, n = {}, 0
    for i = 1, #FIELDS do
        local k = FIELDS[i]
        local v = rec[k]
        if v ~= nil then
            n = n + 1
            parts[n] = '"' .. k .. '":' .. json_encode(v)
        end
    end
    if rec.names then
        n = n + 1
        parts[n] = '"names":' .. json_encode(rec.names)
    end
    f = n > 0 and ("," .. concat(parts, ",")) or ""
    if c.count >= db.cache_size then
        c.frags = {}
        c.count = 0
    end
    c.count = c.count + 1
    c.frags[ref] = f
    return f
end


-- The error code and message for a failed lookup of `ip` (db:ref's error).
local function error_of(ip, err)
    if err == "not found" then
        -- `ip` parsed as an address, so it needs no escaping.
        return "not_found", "no data for " .. ip
    end
    if err == "database closed" then
        return "unavailable", "the database is closed"
    end
    if str_find(err, "internal error", 1, true) == 1 then
        return "unavailable", err
    end
    return "invalid_ip", err
end


-- Appends the pieces of the JSON object for one found address (without its
-- closing brace) to `buf` after index `n`; returns the new n, or nil, code,
-- message. Pieces are printed as they are, never concatenated.
local function append_hit(db, c, ip, ref, net, buf, n)
    local frag = fragment(db, c, ref)
    if not frag then
        return nil, "unavailable", "record unavailable"
    end
    -- `ip` parsed as an address, so it needs no escaping.
    buf[n + 1] = '{"ip":"'
    buf[n + 2] = ip
    buf[n + 3] = '","network":"'
    buf[n + 4] = net
    buf[n + 5] = '"'
    buf[n + 6] = frag
    return n + 6
end


-- Strings whose memory a pointer in use points into.
local held = {} -- luacheck: ignore 241 (it only keeps strings alive)

-- The value of nginx variable `name` (lower case, under 32 bytes) as a
-- pointer and its length, nil when unset. The memory is the request's, or
-- the string in held[name]. `r`, the request, if the caller has it.
local function variable(name, r)
    if var_get then
        r = r or get_request()
        if r and var_get(r, name, #name, var_lower, 0, var_ptr, var_len, var_err) == 0 then
            return var_ptr[0], var_len[0]
        end
        return nil
    end
    local value = ngx_var[name]
    held[name] = value
    if not value then
        return nil
    end
    return ffi_cast(char_ptr, value), #value
end


-- The first value of `key` in query string `q` (`qlen` bytes): a pointer
-- and length when it needs no unescaping, else (nil, nil) and the unescaped
-- string; nothing when absent.
local function query_arg(q, qlen, key)
    local rc = C.ipgeo_query_arg(q, qlen, key, #key, arg_at, arg_len)
    if rc == 1 then
        return q + arg_at[0], arg_len[0]
    end
    if rc == 2 then
        return nil, nil, unescape_uri(ffi_string(q + arg_at[0], arg_len[0]))
    end
    return nil
end


local function send(self, status, body, t0)
    if status ~= 200 then
        ngx.status = status
    end
    if self.content_type then
        ngx_header["Content-Type"] = CONTENT_TYPE
    end
    if t0 then
        ngx_header["X-Ipgeo-Time"] = str_format("%d", math.floor(now_us() - t0))
    end
    ngx_print(body)
end


local function fail(self, status, code, message, t0, extra)
    send(self, status, '{"error":"' .. code .. '","message":' .. json_string(message)
         .. (extra or "") .. "}", t0)
end


-- Answers for one address: the text `ip`, or with `ip` nil, the `len`
-- bytes at `p` (in GET's query string: no string is made for an address
-- that is found).
local function single(self, db, ip, t0, p, len)
    local c = cache_of(db)
    if ip then
        p, len = ip, #ip
    end
    local ref = C.ipgeo_lookup_head(db.ptr, p, len, head_buf, HEAD_CAP, head_len)
    if ref > 0 then
        local frag = fragment(db, c, ref)
        if not frag then
            return fail(self, 503, "unavailable", "record unavailable", t0)
        end
        answer[1] = ffi_string(head_buf, head_len[0])
        answer[2] = frag
        answer[3] = c.tail
        return send(self, 200, answer, t0)
    end
    ip = ip or ffi_string(p, len)
    local _, err = failure(ref, ip)
    local code, message = error_of(ip, err)
    local status = code == "not_found" and 404 or code == "unavailable" and 503 or 400
    return fail(self, status, code, message, t0, code == "not_found" and (',"ip":' .. json_string(ip)) or nil)
end


-- Answers for the caller's own address (trusted-proxy aware).
local function own_address(self, db, t0)
    local ip = self.client:ip()
    if ip == "unix:" then
        return fail(self, 400, "invalid_ip",
                    "the client came through a UNIX socket: give ?ip=, or trust the proxy (trusted = {\"unix:\"})", t0)
    end
    return single(self, db, ip, t0)
end


local function batch(self, db, ips, t0)
    local n = #ips
    for k in pairs(ips) do
        if type(k) ~= "number" or k < 1 or k > n or k % 1 ~= 0 then
            return fail(self, 400, "invalid_field", "ips must be an array of address strings", t0)
        end
    end
    if n > self.max_batch then
        return fail(self, 400, "batch_too_large",
                    "a batch holds at most " .. self.max_batch .. " addresses, not " .. n, t0)
    end
    local c = cache_of(db)
    -- All lookups in one call (they overlap in memory); an item that is not
    -- a string is looked up as "" and answered below.
    local strs = ips
    for i = 1, n do
        if type(ips[i]) ~= "string" then
            strs = new_tab(n, 0)
            for j = 1, n do
                local ip = ips[j]
                strs[j] = type(ip) == "string" and ip or ""
            end
            break
        end
    end
    local refs, nets = db:refs(strs)
    if not refs then
        return fail(self, 503, "unavailable", nets == "database closed"
                    and "the database is closed" or nets, t0)
    end
    -- One table for the whole response; errors are collected on the side.
    local buf, m = new_tab(n * 8 + 8, 0), 1
    buf[1] = '{"results":['
    local errors, nerr = nil, 0
    for i = 1, n do
        if i > 1 then
            m = m + 1
            buf[m] = ","
        end
        local ip = ips[i]
        local after, code, message
        if type(ip) ~= "string" then
            code, message = "invalid_field", "ips[" .. (i - 1) .. "] is not a string"
        elseif refs[i] then
            after, code, message = append_hit(db, c, ip, refs[i], nets[i], buf, m)
        else
            code, message = error_of(ip, nets[i])
        end
        if after then
            m = after + 1
            buf[m] = "}"
        else
            m = m + 1
            buf[m] = "null"
            errors = errors or new_tab(8, 0)
            nerr = nerr + 1
            errors[nerr] = '{"index":' .. (i - 1) .. ',"error":"' .. code .. '","message":'
                           .. json_string(message)
                           .. (code == "not_found" and (',"ip":' .. json_string(ip)) or "") .. "}"
        end
    end
    m = m + 1
    buf[m] = '],"errors":['
    if errors then
        m = m + 1
        buf[m] = concat(errors, ",")
    end
    m = m + 1
    buf[m] = "]" .. c.attribution .. "}"
    return send(self, 200, buf, t0)
end


local function pick_db(self, name, t0)
    if name ~= nil and name ~= self.db then
        if not self.allow_db then
            return nil, fail(self, 400, "invalid_field", "the db parameter is not allowed here", t0)
        end
        if type(name) ~= "string" then
            return nil, fail(self, 400, "invalid_field", "db must be a string", t0)
        end
    end
    local db = ipgeo.get(name or self.db)
    if not db then
        return nil, fail(self, 400, "unknown_database", "no database named " .. printable(name or self.db), t0)
    end
    return db
end


-- The request body as a pointer and its length, and the Lua string holding
-- it if one was made; or nil and the error response already sent. A body
-- that nginx holds in memory is read in place through $request_body (one
-- buffer, or its buffers joined in the request's pool): no Lua string. One
-- larger than client_body_buffer_size sits in a temporary file and is read
-- from there (at most max_body + 1 bytes).
local function read_body(self, t0)
    local p, n = variable("http_content_length")
    local len = p and C.ipgeo_decimal(p, n)
    local too_big = "the body is over " .. self.max_body .. " bytes"
    if len and len > self.max_body then
        return nil, fail(self, 413, "body_too_large", too_big, t0)
    end
    ngx_req.read_body()
    local body
    p, n = variable("request_body")
    if not p or n == 0 then
        body = ngx_req.get_body_data()
        if not body then
            local path = ngx_req.get_body_file()
            if path then
                local f = io.open(path, "rb")
                body = f and f:read(self.max_body + 1)
                if f then
                    f:close()
                end
            end
            if not body or body == "" then
                return nil, fail(self, 400, "invalid_json", "the body is empty", t0)
            end
        end
        held.body = body
        p, n = ffi_cast(char_ptr, body), #body
    end
    if n > self.max_body then
        return nil, fail(self, 413, "body_too_large", too_big, t0)
    end
    return p, n, body
end


local function post(self, t0)
    local p, n, body = read_body(self, t0)
    if not p then
        return n -- (the error response sent)
    end
    -- The common body, {"ip": "<text>"}, is read in place; the rest is
    -- decoded by lua-cjson.
    local sent
    if C.ipgeo_json_ip(p, n, arg_at, arg_len) == 1 then
        local db
        db, sent = pick_db(self, nil, t0)
        if not db then
            return sent
        end
        return single(self, db, nil, t0, p + arg_at[0], arg_len[0])
    end
    body = body or ffi_string(p, n)
    -- cjson decodes [] and {} alike: look at the text for the object.
    if not str_find(body, "^%s*{") then
        local _, err = cjson.decode(body)
        return fail(self, 400, "invalid_json",
                    err and ("the body is not JSON: " .. err) or "the body must be a JSON object", t0)
    end
    local doc, err = cjson.decode(body)
    if type(doc) ~= "table" then
        return fail(self, 400, "invalid_json", "the body is not JSON: " .. tostring(err), t0)
    end
    local db
    db, sent = pick_db(self, doc.db, t0)
    if not db then
        return sent
    end
    local ip, ips = doc.ip, doc.ips
    if ip ~= nil and ips ~= nil then
        return fail(self, 400, "invalid_field", "give ip or ips, not both", t0)
    end
    if ips ~= nil then
        -- An empty {} would decode like []: only an array will do.
        if type(ips) ~= "table" or (next(ips) == nil and not str_find(body, '"ips"%s*:%s*%[')) then
            return fail(self, 400, "invalid_field", "ips must be an array of address strings", t0)
        end
        return batch(self, db, ips, t0)
    end
    if ip == nil then
        return own_address(self, db, t0)
    end
    if type(ip) ~= "string" then
        return fail(self, 400, "invalid_field", "ip must be a string", t0)
    end
    return single(self, db, ip, t0)
end


--- Answers the current request. Call as `handler:serve()`, or as
--- `require("ipgeo.api").serve(opts)` (handlers are cached per options
--- table and per content).
function _M.serve(self)
    if getmetatable(self) ~= mt then
        self = _M.handler(self)
    end
    local t0 = self.timing and now_us() or nil
    local method = ngx_req.get_method()
    if method == "GET" or method == "HEAD" then
        local q, qlen = variable("args")
        local ip_p, ip_len, ip
        local dbname
        if q then
            local db_p, db_len
            db_p, db_len, dbname = query_arg(q, qlen, "db")
            if db_p then
                dbname = ffi_string(db_p, db_len)
            end
            ip_p, ip_len, ip = query_arg(q, qlen, "ip")
        end
        local db, sent = pick_db(self, dbname, t0)
        if not db then
            return sent
        end
        if ip then
            return single(self, db, ip, t0)
        end
        if ip_p == nil then
            return own_address(self, db, t0)
        end
        return single(self, db, nil, t0, ip_p, ip_len)
    end
    if method == "POST" then
        return post(self, t0)
    end
    ngx_header["Allow"] = "GET, HEAD, POST"
    return fail(self, 405, "method_not_allowed", method .. " is not allowed: use GET or POST", t0)
end


local warned_body_var = false

--- For set_by_lua: answers a GET whose ?ip= is found before the
--- content phase, with no Lua coroutine and no Lua string for the body.
--- The JSON body, byte for byte serve()'s, goes into the nginx variable
--- $ipgeo_body, and "1" is returned; any other request gets "" and is left
--- to serve() in the same location (errors, HEAD, POST, no ip, db=, escaped
--- addresses, timing). See nginx-conf/ipgeo_api_location.conf. A location
--- without `set $ipgeo_body ""` is logged once per worker and left to
--- serve(). No pcall (it would cost the JIT a trace per request path:
--- "NYI: return to lower frame"): nothing here raises except what serve()
--- raises for too (misused options).
function _M.answer(self)
    if getmetatable(self) ~= mt then
        self = _M.handler(self)
    end
    if self.timing or not var_set then
        return ""
    end
    local method = ngx_req.get_method()
    if method ~= "GET" then
        return ""
    end
    local r = get_request()
    local q, qlen = variable("args", r)
    if not q then
        return ""
    end
    -- An escaped db= or ip=, db= where allow_db is false, and an unknown
    -- database are serve()'s (it answers their errors).
    local db
    local rc = C.ipgeo_query_arg(q, qlen, "db", 2, arg_at, arg_len)
    if rc == 0 then
        db = ipgeo.get(self.db)
    elseif rc == 1 and self.allow_db then
        db = ipgeo.get(ffi_string(q + arg_at[0], arg_len[0]))
    end
    if not db or C.ipgeo_query_arg(q, qlen, "ip", 2, arg_at, arg_len) ~= 1 then
        return ""
    end
    -- Straight-line for the JIT: a record whose fragment is not cached yet
    -- is left to serve(), which caches it.
    local c = cache_of(db)
    local ref = C.ipgeo_lookup_head(db.ptr, q + arg_at[0], arg_len[0], body_buf, HEAD_CAP, head_len)
    if ref <= 0 then
        return ""
    end
    local frag = c.frags[ref]
    if not frag then
        return ""
    end
    local n, tail = tonumber(head_len[0]), c.tail
    local total = n + #frag + #tail
    if total > body_cap then
        body_cap = total * 2
        local grown = ffi_new("char[?]", body_cap)
        ffi_copy(grown, body_buf, n)
        body_buf = grown
    end
    ffi_copy(body_buf + n, frag, #frag)
    ffi_copy(body_buf + n + #frag, tail, #tail)
    set_errlen[0] = 256
    if var_set(r, "ipgeo_body", 10, set_lower, body_buf, total, set_err, set_errlen) ~= 0 then
        if not warned_body_var then
            warned_body_var = true
            ngx.log(ngx.ERR, "ipgeo.api answer(): cannot set $ipgeo_body (", ffi_string(set_err, set_errlen[0]),
                    "): declare it in the location with set $ipgeo_body \"\"; before set_by_lua",
                    " (serve() answers instead)")
        end
        return ""
    end
    return "1"
end


local handlers = setmetatable({}, { __mode = "k" })
local by_signature = {}
local default_handler
local sort = table.sort

-- A string that equal options tables share: sorted keys with typed values
-- (`trusted` element by element). Other tables count by identity.
local function signature(opts)
    local keys = {}
    for k in pairs(opts) do
        keys[#keys + 1] = tostring(k)
    end
    sort(keys)
    local parts = {}
    for i = 1, #keys do
        local k = keys[i]
        local v = opts[k]
        if k == "trusted" and type(v) == "table" then
            local list = {}
            for j = 1, #v do
                list[j] = type(v[j]) .. ":" .. tostring(v[j])
            end
            v = "[" .. concat(list, "\0") .. "]"
        end
        parts[i] = k .. "=" .. type(v) .. ":" .. tostring(v)
    end
    return concat(parts, "\0")
end

--- The handler for an options table, or the default one. Handlers are
--- cached per table and per content: a table literal written in
--- content_by_lua_block (a new table each request) finds the handler built
--- for an equal one.
function _M.handler(opts)
    if opts == nil then
        default_handler = default_handler or _M.new()
        return default_handler
    end
    local h = handlers[opts]
    if h then
        return h
    end
    local sig = type(opts) == "table" and signature(opts) or nil
    h = sig and by_signature[sig]
    if not h then
        h = _M.new(opts)
        if sig then
            by_signature[sig] = h
        end
    end
    handlers[opts] = h
    return h
end


return _M
