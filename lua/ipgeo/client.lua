-- Copyright (C) ipgeo authors. MIT or Apache-2.0.
--
-- The client's address, trusting X-Forwarded-For / X-Real-IP only from
-- configured proxies (like nginx's realip module with real_ip_recursive).

local cdefs = require "ipgeo.cdefs"
local ffi = require "ffi"

local C = cdefs.C
local ffi_new = ffi.new
local ngx = ngx
local type = type
local error = error
local ipairs = ipairs
local tonumber = tonumber
local setmetatable = setmetatable
local str_byte = string.byte
local str_sub = string.sub
local str_match = string.match
local str_lower = string.lower
local str_gsub = string.gsub

local MAX_HEADER = 4096
local MAX_HOPS = 32

local _M = { _VERSION = "0.1.0" }
local mt = { __index = _M }

local scratch = ffi_new("uint8_t[16]")


-- Parses "addr" or "addr/len" into { family, bytes (Lua string), len }.
local function parse_cidr(text)
    if type(text) ~= "string" then
        return nil, "not a string"
    end
    if text == "unix:" then
        return { family = "unix" }
    end
    local addr, len = str_match(text, "^([^/]+)/(%d+)$")
    addr = addr or text
    local family = C.ipgeo_parse_addr(addr, #addr, scratch)
    if family < 0 then
        return nil, "bad address " .. addr
    end
    local bits = family == 4 and 32 or 128
    len = len and tonumber(len) or bits
    if len > bits then
        return nil, "bad prefix length in " .. text
    end
    return { family = family, bytes = ffi.string(scratch, 16), len = len }
end


local function matches(net, family, bytes)
    if net.family ~= family then
        return false
    end
    local len = net.len
    local whole = (len - len % 8) / 8
    local nb = net.bytes
    for i = 1, whole do
        if str_byte(nb, i) ~= bytes[i - 1] then
            return false
        end
    end
    local rest = len % 8
    if rest > 0 then
        local unit = 2 ^ (8 - rest)
        local a, b = str_byte(nb, whole + 1), bytes[whole]
        return a - a % unit == b - b % unit
    end
    return true
end


--- A resolver. opts.trusted: list of addresses/CIDRs whose forwarding
--- headers are believed (default none; "unix:" trusts UNIX-socket peers); opts.header: "X-Forwarded-For"
--- (default) or "X-Real-IP"; opts.recursive: skip trusted addresses in
--- X-Forwarded-For from the right (default true).
function _M.new(opts)
    opts = opts or {}
    if type(opts) ~= "table" then
        error("opts must be a table", 2)
    end
    local trusted = {}
    for i, t in ipairs(opts.trusted or {}) do
        local net, err = parse_cidr(t)
        if not net then
            error("opts.trusted[" .. i .. "]: " .. err, 2)
        end
        trusted[#trusted + 1] = net
    end
    local header = opts.header or "X-Forwarded-For"
    if type(header) ~= "string" then
        error("opts.header must be a string", 2)
    end
    local var = "http_" .. str_gsub(str_lower(header), "-", "_")
    return setmetatable({
        trusted = trusted,
        var = var,
        xff = var == "http_x_forwarded_for",
        recursive = opts.recursive ~= false,
    }, mt)
end


--- Whether text `ip` is a trusted proxy.
function _M.is_trusted(self, ip)
    local trusted = self.trusted
    if #trusted == 0 then
        return false
    end
    if ip == "unix:" then
        for i = 1, #trusted do
            if trusted[i].family == "unix" then
                return true
            end
        end
        return false
    end
    local family = C.ipgeo_parse_addr(ip, #ip, scratch)
    if family < 0 then
        return false
    end
    -- An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is its IPv4 address.
    if family == 6 and scratch[10] == 0xff and scratch[11] == 0xff then
        local mapped = true
        for i = 0, 9 do
            if scratch[i] ~= 0 then
                mapped = false
                break
            end
        end
        if mapped then
            for i = 0, 3 do
                scratch[i] = scratch[12 + i]
            end
            family = 4
        end
    end
    for i = 1, #trusted do
        if matches(trusted[i], family, scratch) then
            return true
        end
    end
    return false
end


local function valid(ip)
    return C.ipgeo_parse_addr(ip, #ip, scratch) > 0
end


--- The client address of the current request.
function _M.ip(self)
    local remote = ngx.var.remote_addr
    if #self.trusted == 0 or not self:is_trusted(remote) then
        return remote
    end
    local value = ngx.var[self.var]
    if type(value) == "table" then
        value = value[#value]
    end
    if not value or value == "" or #value > MAX_HEADER then
        return remote
    end
    if not self.xff then
        value = str_match(value, "^%s*(.-)%s*$")
        return valid(value) and value or remote
    end
    -- Right to left: the first address that is not a trusted proxy.
    local last = remote
    local stop = #value
    for _ = 1, MAX_HOPS do
        local comma = nil
        local at = stop
        while at > 0 do
            if str_sub(value, at, at) == "," then
                comma = at
                break
            end
            at = at - 1
        end
        local item = str_match(str_sub(value, (comma or 0) + 1, stop), "^%s*(.-)%s*$")
        -- "a.b.c.d:port" and "[v6]:port", as some proxies write them.
        item = str_match(item, "^%[(.-)%]:?%d*$") or str_match(item, "^([%d.]+):%d+$") or item
        if item == "" then
            -- An empty entry ("a, , b" or a trailing comma): skip it.
            if not comma then
                return last
            end
            stop = comma - 1
            goto continue
        end
        if not valid(item) then
            return last
        end
        if not self.recursive or not self:is_trusted(item) then
            return item
        end
        last = item
        if not comma then
            return item
        end
        stop = comma - 1
        ::continue::
    end
    return last
end


return _M
