# ipgeo.api against a corpus of malformed requests: never a 5xx, always the
# documented JSON. A seeded generator (Park-Miller, so the corpus is the
# same on every run and every LuaJIT) builds odd address spellings (leading
# zeros, octal and hex forms, too many or too few parts, scoped IPv6,
# brackets, ports, spaces, Unicode digits, very long strings, NULs and
# control bytes, CIDRs), invalid and deep JSON, wrong types, duplicate keys,
# huge numbers, empty bodies, random bytes and wrong methods.
#
# TEST 1 sends 12,000 of them to the API location with ngx.location.capture
# (method, args, body). TEST 2 sends a few hundred as raw bytes over TCP to
# the shipped server block (nginx-conf/ipgeo_api_server.conf, on a random
# port), so that nginx's HTTP layer (request line, percent-encoding, raw
# bytes in the query, chunked bodies, its own 400/413/414) is covered too.
use lib '.';
use t::Ipgeo 'no_plan';

repeat_each(1);
no_long_string();

our $Corpus = <<'_EOC_';
        local cjson = require "cjson.safe"
        local C = {}

        -- Park-Miller "minimal standard" generator: exact in doubles.
        local Rng = {}
        Rng.__index = Rng
        function C.rng(seed)
            return setmetatable({ x = seed }, Rng)
        end
        function Rng:next()
            self.x = self.x * 16807 % 2147483647
            return self.x
        end
        function Rng:int(n)             -- 0 .. n-1
            return self:next() % n
        end
        function Rng:pick(t)
            return t[self:int(#t) + 1]
        end
        function Rng:bytes(n, lo, hi)
            local t = {}
            for i = 1, n do
                t[i] = string.char((lo or 0) + self:int((hi or 255) - (lo or 0) + 1))
            end
            return table.concat(t)
        end

        C.VALID = {
            "8.8.8.8", "1.0.0.1", "114.114.114.114", "10.0.0.1", "198.51.100.1", "192.0.2.1",
            "203.0.113.9", "0.0.0.0", "255.255.255.255", "127.0.0.1", "2001:db8::1", "2400:3200::1",
            "::ffff:8.8.8.8", "::", "::1", "fe80::1", "2001:db8:1::1",
            "2001:0db8:0000:0000:0000:0000:0000:0001", "2400:3200:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF",
        }

        C.ODD = {
            "", " ", "8.8.8", "8.8", "8", "8.8.8.8.8", "8.8.8.", ".8.8.8.8", "8..8.8", "256.8.8.8",
            "8.8.8.256", "-1.8.8.8", "08.8.8.8", "010.010.010.010", "8.8.8.08", "0x8.0x8.0x8.0x8",
            "0x08080808", "134744072", "0134.0.0.1", "8.8.8.0x8", "8.8.8.8/24", "8.8.8.8/32",
            "0.0.0.0/0", "2001:db8::/32", "::/0", "2001:db8::1/128", "fe80::1%eth0", "fe80::1%25eth0",
            "fe80::1%", "[2001:db8::1]", "[2001:db8::1]:443", "[8.8.8.8]", "8.8.8.8:80", " 8.8.8.8",
            "8.8.8.8 ", "8. 8.8.8", "8.8.8.8\t", "\t8.8.8.8", "8.8.8.8\n", "8.8.8.8\r\nX-Evil: 1",
            "８.８.８.８", "٨.٨.٨.٨", "𝟖.𝟖.𝟖.𝟖", "8.8.8.8\0", "\0", "\0\1\2\3", "\27[31m", "\127",
            "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "2001:db8:::1", "2001::db8::1", ":2001:db8::1",
            "2001:db8::1:", ":::", "12345::1", "g::1", "2001:db8::g", "::ffff:8.8.8", "::ffff:256.8.8.8",
            "::ffff:08.8.8.8", "::ffff:8.8.8.8.8", "::ffff:0x8.8.8.8", "1.2.3.4::", "::1.2.3.4:5",
            "2001:DB8::1%lo", "localhost", "example.com", "null", "true", "0", "-0", "1e3", "NaN",
            "%", "%%", "%zz", "%3", "%00", "%2500", "+", "++", "8%2E8%2E8%2E8", "2001%3Adb8%3A%3A1",
            "\"", "\\", "\"8.8.8.8\"", "'8.8.8.8'", "{}", "[]", "8.8.8.8,1.0.0.1", "8.8.8.8;1.0.0.1",
            "\255\254", "\192\128", "\237\160\128", "\244\144\128\128",
            string.rep("1", 46), string.rep("8.", 300) .. "8", string.rep("f", 1000),
            string.rep(":", 100), string.rep("\0", 64), string.rep("x", 65536),
        }

        -- Characters an edit inserts: address syntax, separators, escapes,
        -- control bytes, Unicode digits and one random byte.
        local EDIT = { "0", "1", "9", ".", ":", "::", "a", "f", "F", "g", "x", "%", "%25", "%3A", "/",
                       " ", "+", "[", "]", "-", "\0", "\t", "\n", "\127", "٣", "３", "\"", "\\", "," }

        function C.odd_ip(r)
            local k = r:int(10)
            if k < 4 then
                return r:pick(C.ODD)
            elseif k < 9 then
                -- A valid address with 1 to 3 random edits.
                local s = r:pick(C.VALID)
                for _ = 1, 1 + r:int(3) do
                    local at = 1 + r:int(#s + 1)
                    local op = r:int(3)
                    local c = r:int(8) == 0 and r:bytes(1) or r:pick(EDIT)
                    if op == 0 then
                        s = s:sub(1, at - 1) .. c .. s:sub(at)
                    elseif op == 1 then
                        s = s:sub(1, at - 1) .. c .. s:sub(at + 1)
                    else
                        s = s:sub(1, at - 1) .. s:sub(at + 1)
                    end
                end
                return s
            else
                return r:bytes(r:int(40), 0, 255)
            end
        end

        -- Query-string forms of a value: as is, percent-encoded, or partly.
        function C.arg(r, v)
            local k = r:int(3)
            if k == 0 then
                return v
            elseif k == 1 then
                return ngx.escape_uri(v)
            end
            return (v:gsub("[:%%%s]", function(c) return string.format("%%%02X", c:byte()) end))
        end

        local JUNK_JSON = {
            "", " ", "\r\n\t ", "{", "}", "[", "]", "[]", "{}", "null", "true", "false", "0", "-0",
            "1e400", "-1e400", "123456789012345678901234567890", "\"8.8.8.8\"", "[\"8.8.8.8\"]",
            "{\"ip\":", "{\"ip\":\"8.8.8.8\"", "{\"ip\":\"8.8.8.8\",}", "{'ip':'8.8.8.8'}",
            "{ip:\"8.8.8.8\"}", "{\"ip\":\"8.8.8.8\"} {}", "{\"ip\":\"8.8.8.8\"}x",
            "\239\187\191{\"ip\":\"8.8.8.8\"}", "{\"ip\":\"8.8.8.8\" /* c */}",
            "{\"ip\":NaN}", "{\"ip\":Infinity}", "{\"ips\":[NaN,-Infinity]}", "{\"ip\":\"\\ud800\"}",
            "{\"ip\":\"\\u0000\"}", "{\"ip\":\"8.8.8.8\\u0000\"}", "{\"ip\":\"\\x41\"}",
            "{\"\\u0069p\":\"8.8.8.8\"}", "{\"ip\":\"8.8.8.8\",\"ip\":null}", "{\"ip\":null,\"ip\":\"8.8.8.8\"}",
            "{\"ips\":[],\"ips\":null}", "{\"ips\":null,\"ips\":[]}", "{\"db\":\"b\",\"db\":5}",
            "\0{\"ip\":\"8.8.8.8\"}", "{\"ip\":\"8.8.8.8\"}\0", "ip=8.8.8.8", "<ip>8.8.8.8</ip>",
            "\255\254{\0\"\0i\0p\0\"\0:\0\"\0008\0.\0008\0.\0008\0.\0008\0\"\0}\0",
            string.rep("[", 5000), string.rep("[", 5000) .. string.rep("]", 5000),
            string.rep("{\"a\":", 1100) .. "1" .. string.rep("}", 1100),
            "{\"ips\":" .. string.rep("[", 2000) .. string.rep("]", 2000) .. "}",
            "{\"ip\":\"" .. string.rep("8", 60000) .. "\"}",
            "{\"ip\":" .. string.rep("9", 400) .. "}",
            "{\"ips\":[" .. string.rep("\"8.8.8.8\",", 100) .. "\"8.8.8.8\"]}",
            "{\"ips\":[" .. string.rep("1,", 30000) .. "1]}",
        }

        local TYPES = { "5", "-1", "0.5", "1e308", "1e999", "-1e999", "true", "false", "null", "[]",
                        "{}", "[\"8.8.8.8\"]", "{\"ip\":\"8.8.8.8\"}", "\"\"",
                        "123456789012345678901234567890" }
        local DBS = { "default", "b", "lang", "api", "nope", "", " ", "DEFAULT", "default ",
                      "ünïcödé", "a\"b", string.rep("d", 300), "\\u0000", "%62" }

        local function jstr(s)
            -- cjson escapes control bytes and passes other bytes through.
            return cjson.encode(s)
        end

        -- A request body, and how many addresses it batches (nil if not a
        -- well-formed batch).
        function C.body(r)
            local k = r:int(20)
            if k < 5 then
                return "{\"ip\":" .. jstr(C.odd_ip(r)) .. "}"
            elseif k < 8 then
                local n = r:int(8) == 0 and 95 + r:int(12) or r:int(12)
                local items = {}
                for i = 1, n do
                    local j = r:int(6)
                    items[i] = j == 0 and r:pick(TYPES) or jstr(j == 1 and r:pick(C.VALID) or C.odd_ip(r))
                end
                local db = r:int(4) == 0 and (",\"db\":" .. jstr(r:pick(DBS))) or ""
                return "{\"ips\":[" .. table.concat(items, ",") .. "]" .. db .. "}", n
            elseif k < 10 then
                local key = r:pick{ "ip", "ips", "db" }
                return "{\"" .. key .. "\":" .. r:pick(TYPES) .. "}"
            elseif k < 12 then
                -- Valid-looking combinations, duplicate keys, extra keys.
                local parts = {}
                for i = 1, 1 + r:int(4) do
                    local key = r:pick{ "ip", "ips", "db", "IP", "x", "" }
                    local v
                    if key == "ips" then
                        v = "[" .. jstr(r:pick(C.VALID)) .. "]"
                    elseif key == "db" then
                        v = jstr(r:pick(DBS))
                    elseif r:int(3) == 0 then
                        v = r:pick(TYPES)
                    else
                        v = jstr(r:pick(C.VALID))
                    end
                    parts[i] = jstr(key) .. ":" .. v
                end
                return "{" .. table.concat(parts, ",") .. "}"
            elseif k < 16 then
                return r:pick(JUNK_JSON)
            elseif k < 17 then
                -- A valid body cut short.
                local b = "{\"ips\":[\"8.8.8.8\",\"2001:db8::1\"],\"db\":\"b\"}"
                return b:sub(1, r:int(#b))
            elseif k < 18 then
                return r:bytes(r:int(200))
            elseif k < 19 then
                -- Over max_body (65536 bytes).
                return "{\"ip\":\"8.8.8.8\"" .. string.rep(" ", 65521 + r:int(3)) .. "}"
            end
            return ""
        end

        -- Valid UTF-8 (RFC 3629: no overlongs, surrogates or > U+10FFFF).
        function C.utf8(s)
            local i, n = 1, #s
            while i <= n do
                local c = s:byte(i)
                local len, lo, hi = 0, 0x80, 0xBF
                if c < 0x80 then
                    len = 1
                elseif c >= 0xC2 and c <= 0xDF then
                    len = 2
                elseif c >= 0xE0 and c <= 0xEF then
                    len = 3
                    if c == 0xE0 then lo = 0xA0 elseif c == 0xED then hi = 0x9F end
                elseif c >= 0xF0 and c <= 0xF4 then
                    len = 4
                    if c == 0xF0 then lo = 0x90 elseif c == 0xF4 then hi = 0x8F end
                else
                    return false
                end
                for j = 1, len - 1 do
                    local d = s:byte(i + j)
                    if not d or d < (j == 1 and lo or 0x80) or d > (j == 1 and hi or 0xBF) then
                        return false
                    end
                end
                i = i + len
            end
            return true
        end

        local CODES = {
            [400] = { invalid_ip = true, invalid_json = true, invalid_field = true,
                      batch_too_large = true, unknown_database = true },
            [404] = { not_found = true },
            [405] = { method_not_allowed = true },
            [413] = { body_too_large = true },
        }

        -- What is wrong with an API answer, or nil: the status, headers
        -- (lower-case names) and body; head = a HEAD request; batch = the
        -- number of addresses sent in a well-formed batch.
        function C.check(status, headers, body, head, batch)
            if not status then
                return "no response"
            end
            if status >= 500 then
                return "status " .. status
            end
            if headers["content-type"] ~= "application/json; charset=utf-8" then
                return "Content-Type " .. tostring(headers["content-type"])
            end
            if head then
                return body ~= "" and "a body for HEAD" or nil
            end
            if not C.utf8(body) then
                return "not UTF-8"
            end
            local doc = cjson.decode(body)
            if type(doc) ~= "table" then
                return "not a JSON object"
            end
            if status == 200 then
                if type(doc.results) == "table" and type(doc.errors) == "table" then
                    local n, nulls = #doc.results, 0
                    for i = 1, n do
                        local v = doc.results[i]
                        if v == cjson.null then
                            nulls = nulls + 1
                        elseif type(v) ~= "table" or type(v.ip) ~= "string" or type(v.network) ~= "string" then
                            return "a bad batch item"
                        end
                    end
                    if nulls ~= #doc.errors or (batch and n ~= batch) then
                        return "results and errors disagree"
                    end
                    for _, e in ipairs(doc.errors) do
                        if type(e) ~= "table" or type(e.index) ~= "number" or type(e.error) ~= "string"
                           or type(e.message) ~= "string" or doc.results[e.index + 1] ~= cjson.null then
                            return "a bad batch error"
                        end
                    end
                    return nil
                end
                if type(doc.ip) == "string" and type(doc.network) == "string" then
                    return nil
                end
                return "200 without a result"
            end
            local codes = CODES[status]
            if not codes then
                return "unexpected status " .. status
            end
            if not codes[doc.error] or type(doc.message) ~= "string" then
                return "error " .. tostring(doc.error) .. " with status " .. status
            end
            if status == 404 and type(doc.ip) ~= "string" then
                return "404 without ip"
            end
            if status == 405 and headers["allow"] ~= "GET, HEAD, POST" then
                return "405 without Allow"
            end
            return nil, doc.error
        end

        package.loaded["t.corpus"] = C
_EOC_

our $Init = "    init_by_lua_block {\n" . $t::Ipgeo::ApiInit . $t::Ipgeo::LuaHttp . $Corpus . "    }\n";

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('http_config', $Init) if !defined $block->http_config;
});

run_tests();

__DATA__

=== TEST 1: 12,000 malformed requests through ngx.location.capture: no 5xx, every answer the documented JSON
--- config
    location = /api/ip_query {
        include $TEST_NGINX_IPGEO_ROOT/nginx-conf/ipgeo_api_location.conf;
    }
    location = /t {
        content_by_lua_block {
            local C = require "t.corpus"
            local r = C.rng(20240611)
            local METHODS = {
                { "GET", ngx.HTTP_GET }, { "HEAD", ngx.HTTP_HEAD }, { "POST", ngx.HTTP_POST },
                { "PUT", ngx.HTTP_PUT }, { "DELETE", ngx.HTTP_DELETE }, { "OPTIONS", ngx.HTTP_OPTIONS },
                { "PATCH", ngx.HTTP_PATCH }, { "TRACE", ngx.HTTP_TRACE }, { "PROPFIND", ngx.HTTP_PROPFIND },
                { "MKCOL", ngx.HTTP_MKCOL }, { "LOCK", ngx.HTTP_LOCK },
            }
            local N = 12000
            local statuses, codes, bad, examples = {}, {}, 0, {}
            for i = 1, N do
                local k = r:int(20)
                local m = k < 8 and METHODS[1] or k < 9 and METHODS[2] or k < 18 and METHODS[3]
                          or METHODS[4 + r:int(#METHODS - 3)]
                local opts = { method = m[2] }
                local batch
                if m[1] ~= "POST" or r:int(10) == 0 then
                    local args = {}
                    if r:int(10) > 0 then
                        args[#args + 1] = (r:int(20) == 0 and "IP" or "ip") .. "=" .. C.arg(r, C.odd_ip(r))
                    end
                    if r:int(4) == 0 then
                        args[#args + 1] = "db=" .. C.arg(r, r:pick{ "default", "b", "lang", "api",
                                                                   "nope", "", "%62", "\0", string.rep("d", 500) })
                    end
                    if r:int(8) == 0 then
                        args[#args + 1] = r:pick{ "ip=8.8.8.8", "ip", "ip=", "&", "=", "ip=1.0.0.1&ip=x" }
                    end
                    opts.args = table.concat(args, "&")
                end
                if m[1] ~= "GET" and m[1] ~= "HEAD" or r:int(20) == 0 then
                    opts.body, batch = C.body(r)
                end
                local res = ngx.location.capture("/api/ip_query", opts)
                local headers = {}
                for name, v in pairs(res.header) do
                    headers[name:lower()] = type(v) == "table" and table.concat(v, ", ") or v
                end
                local why, code = C.check(res.status, headers, res.body or "", m[1] == "HEAD",
                                          m[1] == "POST" and batch or nil)
                -- (ngx_lua marks every HEAD subrequest truncated, even `return 200`.)
                if res.truncated and m[1] ~= "HEAD" then
                    why = "truncated"
                end
                statuses[res.status] = (statuses[res.status] or 0) + 1
                if code then
                    codes[code] = true
                end
                if why then
                    bad = bad + 1
                    if #examples < 10 then
                        examples[#examples + 1] = string.format("%s ?%q body %q: %s %q", m[1],
                            (opts.args or ""):sub(1, 80), (opts.body or ""):sub(1, 80), why,
                            (res.body or ""):sub(1, 200))
                    end
                end
            end
            local list, fives = {}, 0
            for s, n in pairs(statuses) do
                list[#list + 1] = s
                if s >= 500 then fives = fives + n end
            end
            table.sort(list)
            local seen = {}
            for c in pairs(codes) do seen[#seen + 1] = c end
            table.sort(seen)
            ngx.say("requests: ", N)
            ngx.say("5xx: ", fives)
            ngx.say("not the documented JSON: ", bad)
            for _, e in ipairs(examples) do ngx.say("  ", e) end
            ngx.say("statuses: ", table.concat(list, " "))
            ngx.say("error codes: ", table.concat(seen, " "))
        }
    }
--- request
GET /t
--- timeout: 60
--- response_body
requests: 12000
5xx: 0
not the documented JSON: 0
statuses: 200 400 404 405 413
error codes: batch_too_large body_too_large invalid_field invalid_ip invalid_json method_not_allowed not_found unknown_database



=== TEST 2: a few hundred raw requests to the shipped server block over TCP: no 5xx; the API's answers are JSON, anything else is nginx's own 400/405/414
# The shipped file is included as it is, but for its listen address: it
# listens on 127.0.0.1:8080, which other runs may hold, so t::Ipgeo swaps in
# $TEST_NGINX_RAND_PORT_1.
--- http_config eval
$t::Ipgeo::HttpConfig . $::Init . $t::Ipgeo::ApiServer
--- config
    location = /t {
        content_by_lua_block {
            local C = require "t.corpus"
            local http = require "t.http"
            local cjson = require "cjson.safe"
            local port = $TEST_NGINX_RAND_PORT_1
            local r = C.rng(1984)
            local function send(method, target, body, extra, version)
                local req = { method, " ", target, " ", version or "HTTP/1.1", "\r\nHost: localhost\r\n",
                              "Connection: close\r\n", extra or "" }
                if body then
                    if r:int(4) == 0 then
                        req[#req + 1] = "Transfer-Encoding: chunked\r\n\r\n"
                        if #body > 0 then
                            req[#req + 1] = string.format("%x\r\n", #body) .. body .. "\r\n"
                        end
                        req[#req + 1] = "0\r\n\r\n"
                    else
                        req[#req + 1] = "Content-Length: " .. #body .. "\r\n\r\n" .. body
                    end
                else
                    req[#req + 1] = "\r\n"
                end
                return http.request(port, table.concat(req), 5000)
            end

            local total, fives, none, bad, nginx_own, examples = 0, 0, 0, 0, 0, {}
            local function tally(what, status, headers, body, head, batch)
                total = total + 1
                local why
                if not status then
                    none = none + 1
                    why = "no response: " .. tostring(headers)
                elseif status >= 500 then
                    fives = fives + 1
                    why = "status " .. status
                elseif (headers["content-type"] or ""):find("^text/html") then
                    nginx_own = nginx_own + 1
                    if status ~= 400 and status ~= 405 and status ~= 414 then
                        why = "nginx's own " .. status
                    end
                else
                    why = C.check(status, headers, body, head, batch)
                end
                if why then
                    bad = bad + 1
                    if #examples < 10 then
                        examples[#examples + 1] = string.format("%q: %s", what:sub(1, 100), why)
                    end
                end
            end

            -- Positive controls: percent-encoding is decoded once.
            local controls, passed = {
                { "/api/ip_query?ip=8.8.8.8", "8.8.8.8" },
                { "/api/ip_query?ip=8%2E8%2E8%2E8", "8.8.8.8" },
                { "/api/ip_query?ip=2001%3Adb8%3A%3A1", "2001:db8::1" },
                { "/api/ip_query?ip=2001%3adb8%3a%3a1", "2001:db8::1" },
                { "/api/ip_query?ip=%3A%3Affff%3A8.8.8.8", "::ffff:8.8.8.8" },
                { "/api/ip_query?db=default&ip=1.0.0.1", "1.0.0.1" },
                { "/api/ip_query?ip=1.0.0.1&ip=8.8.8.8", "1.0.0.1" },
                { "/api/%69p_query?ip=1.0.0.1", "1.0.0.1" },
                { "/api/ip_query?ip=2400:3200::1&x=%ZZ", "2400:3200::1" },
            }, 0
            for _, c in ipairs(controls) do
                local status, headers, body = send("GET", c[1])
                local doc = status == 200 and cjson.decode(body)
                if doc and doc.ip == c[2] then
                    passed = passed + 1
                else
                    examples[#examples + 1] = c[1] .. ": " .. tostring(status) .. " " .. tostring(body)
                end
            end

            for _ = 1, 400 do
                local k = r:int(10)
                if k < 4 then
                    -- Raw bytes and escapes in the query string (no CR or LF: they
                    -- would end the request line, and nginx answers HTTP/0.9).
                    local v = r:int(3) == 0 and r:bytes(1 + r:int(30), 1, 255) or C.arg(r, C.odd_ip(r))
                    v = v:gsub("[\r\n]", "")
                    local target = "/api/ip_query?ip=" .. v
                    local method = r:pick{ "GET", "GET", "HEAD" }
                    local status, headers, body = send(method, target)
                    tally(target, status, headers, body, method == "HEAD")
                elseif k < 7 then
                    local body, batch = C.body(r)
                    local status, headers, body_out = send("POST", "/api/ip_query", body)
                    tally(body, status, headers, body_out, false, batch)
                elseif k < 8 then
                    local method = r:pick{ "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "FOO", "get",
                                           "G\0T", "POST\t" }
                    tally(method, send(method, "/api/ip_query?ip=8.8.8.8", r:int(2) == 0 and "{}" or nil))
                elseif k < 9 then
                    -- Forwarding headers are junk to a handler without trusted proxies.
                    local xff = "X-Forwarded-For: " .. C.odd_ip(r):gsub("[\r\n]", "") .. "\r\n"
                    local status, headers, body = send("GET", "/api/ip_query", nil, xff)
                    tally(xff, status, headers, body)
                    if status == 404 and not (body or ""):find('"ip":"127.0.0.1"', 1, true) then
                        bad = bad + 1
                        examples[#examples + 1] = "X-Forwarded-For believed: " .. xff
                    end
                else
                    -- Long and odd request targets, HTTP/1.0.
                    local target = r:pick{ "/api/ip_query?ip=" .. string.rep("8", 20000),
                                           "/api/ip_query?" .. string.rep("ip=1&", 1000),
                                           "/api/ip_query?ip=8.8.8.8#frag", "/api/ip_query/../ip_query?ip=8.8.8.8",
                                           "/api/ip_query?ip=%", "/api/ip_query?%00=1" }
                    tally(target, send("GET", target, nil, nil, r:pick{ "HTTP/1.0", "HTTP/1.1" }))
                end
            end
            ngx.say("positive controls: ", passed, "/", #controls)
            ngx.say("raw requests: ", total >= 400)
            ngx.say("5xx: ", fives)
            ngx.say("no response: ", none)
            ngx.say("not the documented JSON or nginx's own 400/405/414: ", bad)
            for _, e in ipairs(examples) do ngx.say("  ", e) end
            ngx.say("some were refused by nginx itself: ", nginx_own > 0)
        }
    }
--- request
GET /t
--- timeout: 60
--- response_body
positive controls: 9/9
raw requests: true
5xx: 0
no response: 0
not the documented JSON or nginx's own 400/405/414: 0
some were refused by nginx itself: true
--- no_error_log
[alert]
[crit]
[emerg]
