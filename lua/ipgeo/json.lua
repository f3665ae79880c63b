-- Copyright (C) ipgeo authors. MIT or Apache-2.0.
--
-- A small JSON encoder for ipgeo's responses: strings escaped per RFC 8259
-- (control characters, quotes, backslash; bytes >= 0x80 pass through, as
-- table strings are UTF-8), numbers in the shortest text that reads back
-- the same double, arrays and objects with keys in a given order. It does
-- not depend on which lua-cjson build is installed (empty arrays stay
-- arrays), and decoding is left to cjson.

local str_byte = string.byte
local str_find = string.find
local str_format = string.format
local str_gsub = string.gsub
local tonumber = tonumber
local tostring = tostring
local type = type
local concat = table.concat
local math_huge = math.huge

local _M = { _VERSION = "0.1.0" }

local ESCAPES = {
    ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
    ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t",
}

local function escape_char(c)
    return ESCAPES[c] or str_format("\\u%04x", str_byte(c))
end


--- `s` as a JSON string, quotes included.
function _M.string(s)
    if not str_find(s, '[%c"\\]') then
        return '"' .. s .. '"'
    end
    return '"' .. str_gsub(s, '[%c"\\]', escape_char) .. '"'
end


--- `n` as a JSON number: the shortest %.Ng text that reads back the same.
--- Non-finite numbers have no JSON form and become null.
function _M.number(n)
    if n ~= n or n == math_huge or n == -math_huge then
        return "null"
    end
    if n == n - n % 1 and n >= -2^53 and n <= 2^53 then
        return str_format("%d", n)
    end
    for digits = 14, 17 do
        local s = str_format("%." .. digits .. "g", n)
        if tonumber(s) == n then
            return s
        end
    end
    return str_format("%.17g", n)
end


local encode

local function encode_array(t)
    local out = {}
    for i = 1, #t do
        out[i] = encode(t[i])
    end
    return "[" .. concat(out, ",") .. "]"
end


local function encode_object(t, keys)
    local out, n = {}, 0
    if keys then
        for i = 1, #keys do
            local k = keys[i]
            local v = t[k]
            if v ~= nil then
                n = n + 1
                out[n] = _M.string(k) .. ":" .. encode(v)
            end
        end
    else
        for k, v in pairs(t) do
            n = n + 1
            out[n] = _M.string(tostring(k)) .. ":" .. encode(v)
        end
        table.sort(out)
    end
    return "{" .. concat(out, ",") .. "}"
end


--- Encodes a value. Tables with a positive length (or `_M.array`-marked)
--- are arrays, others objects with sorted keys.
encode = function(v)
    local t = type(v)
    if t == "string" then
        return _M.string(v)
    elseif t == "number" then
        return _M.number(v)
    elseif t == "boolean" then
        return v and "true" or "false"
    elseif t == "table" then
        if v == _M.null then
            return "null"
        end
        if #v > 0 or getmetatable(v) == _M.array_mt then
            return encode_array(v)
        end
        return encode_object(v)
    end
    return "null"
end

_M.encode = encode
_M.object = encode_object

--- A value that encodes as null (inside arrays, where nil cannot be).
_M.null = setmetatable({}, { __tostring = function() return "null" end })

--- Marks a table as an array, so that an empty one encodes as [].
_M.array_mt = {}
function _M.array(t)
    return setmetatable(t or {}, _M.array_mt)
end

return _M
