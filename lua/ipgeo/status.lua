-- Copyright (C) ipgeo authors. MIT or Apache-2.0.
--
-- A JSON status page: every database's metadata and every worker's view of
-- it (from the ipgeo_state shared dict). Expose it to operators only.

local ipgeo = require "ipgeo"
local json = require "ipgeo.json"
local ok_cjson, cjson = pcall(require, "cjson.safe")

local ngx = ngx
local pairs = pairs

local _M = { _VERSION = "0.1.0" }

local INFO_KEYS = {
    "name", "path", "snapshot", "size", "checksum", "build_time", "generation",
    "loaded_at", "last_check", "last_reload", "last_error", "check_interval",
    "languages", "columns", "v4_ranges", "v6_ranges", "cached_records", "cache_size",
}


--- The status as a Lua table.
function _M.collect()
    local out = { databases = {} }
    for name, db in pairs(ipgeo.databases()) do
        local info = db:info()
        local entry = {}
        for _, k in ipairs(INFO_KEYS) do
            entry[k] = info[k]
        end
        if ok_cjson then
            local meta = cjson.decode(info.meta or "")
            if type(meta) == "table" then
                entry.sources = meta.sources
                entry.description = meta.description ~= cjson.null and meta.description or nil
                entry.attribution = meta.attribution ~= cjson.null and meta.attribution or nil
            end
        end
        local workers = ipgeo.status(name)
        if workers then
            local list = {}
            for pid, w in pairs(workers.workers) do
                w.pid = pid
                list[#list + 1] = w
            end
            table.sort(list, function(a, b) return a.pid < b.pid end)
            entry.workers = json.array(list)
            entry.converged = workers.converged
        end
        out.databases[name] = entry
    end
    out.worker_pid = ngx.worker.pid()
    out.version = ipgeo._VERSION
    return out
end


--- Answers the current request with the status as JSON.
function _M.serve()
    ngx.header["Content-Type"] = "application/json; charset=utf-8"
    ngx.say(json.encode(_M.collect()))
end


return _M
