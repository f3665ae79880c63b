-- Copyright (C) ipgeo authors. MIT or Apache-2.0.
--
-- The native surface of ipgeo: finds libipgeo_ffi.so on package.cpath,
-- loads its control module (mlua) and declares its C ABI to LuaJIT's FFI.
-- Both come from the same file, so they share one copy of the library.

local ffi = require "ffi"

local ffi_cdef = ffi.cdef
local ffi_load = ffi.load
local ffi_typeof = ffi.typeof
local io_open = io.open
local loadlib = package.loadlib
local str_gmatch = string.gmatch
local str_gsub = string.gsub
local pcall = pcall
local error = error

local LIB_NAME = "libipgeo_ffi"
local ABI_VERSION = 3

if not pcall(ffi_typeof, "ipgeo_value_t") then
    ffi_cdef [[
typedef struct ipgeo_db ipgeo_db_t;

typedef struct {
    const char *str;
    size_t      len;
    double      num;
    int32_t     col;
    int32_t     ty;
} ipgeo_value_t;

int      ipgeo_abi_version(void);
int32_t  ipgeo_lookup(const ipgeo_db_t *db, const char *ip, size_t len);
int32_t  ipgeo_lookup_cc(const ipgeo_db_t *db, const char *ip, size_t len);
int32_t  ipgeo_lookup_net(const ipgeo_db_t *db, const char *ip, size_t len,
                          char *net, size_t cap, size_t *net_len);
int32_t  ipgeo_lookup_head(const ipgeo_db_t *db, const char *ip, size_t len,
                           char *out, size_t cap, size_t *out_len);
int      ipgeo_query_arg(const char *q, size_t qlen, const char *key,
                         size_t klen, size_t *at, size_t *len);
int      ipgeo_json_ip(const char *body, size_t len, size_t *at, size_t *vlen);
int64_t  ipgeo_decimal(const char *text, size_t len);
int      ipgeo_record_values(const ipgeo_db_t *db, int32_t rec,
                             ipgeo_value_t *out, int cap);
int      ipgeo_lookup_batch(const ipgeo_db_t *db, const char *const *ips,
                            const size_t *lens, int32_t *refs, int n);
int      ipgeo_locate_batch(const ipgeo_db_t *db, const char *const *ips,
                            const size_t *lens, int32_t *refs, char *nets,
                            uint8_t *net_lens, int n);
uint32_t ipgeo_generation(const ipgeo_db_t *db);
int      ipgeo_parse_addr(const char *ip, size_t len, uint8_t *out);
]]
end


-- LuaJIT loads C modules RTLD_LOCAL, so ffi.C cannot see our symbols, and
-- package.searchpath is Lua 5.2: walk package.cpath ourselves.
local function find_library()
    for pattern in str_gmatch(package.cpath, "[^;]+") do
        local path = str_gsub(pattern, "%?", LIB_NAME)
        local f = io_open(path, "rb")
        if f then
            f:close()
            return path
        end
    end
    return nil
end


local path = find_library()
if not path then
    error("ipgeo: " .. LIB_NAME .. ".so not found in package.cpath ("
          .. package.cpath .. "); add its directory with lua_package_cpath", 2)
end

local open_native, err = loadlib(path, "luaopen_ipgeo_native")
if not open_native then
    error("ipgeo: cannot load " .. path .. ": " .. tostring(err), 2)
end

local C = ffi_load(path)
local abi = C.ipgeo_abi_version()
if abi ~= ABI_VERSION then
    error("ipgeo: " .. path .. " has C ABI version " .. abi
          .. ", this Lua code needs " .. ABI_VERSION, 2)
end


return {
    C = C,
    native = open_native(),
    path = path,
    -- Return codes of the C functions.
    ERR_INVALID = -1,
    ERR_CLOSED = -2,
    ERR_INTERNAL = -3,
    ERR_BUFFER = -4,
}
