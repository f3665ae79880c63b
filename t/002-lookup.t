# Lookups: db:lookup(), db:record(), db:country_code(), db:field() for IPv4,
# IPv6 and IPv4-mapped addresses; "not found"; malformed addresses (exact
# error strings); the shared record cache; languages; info(); misuse.
use lib '.';
use t::Ipgeo 'no_plan';

repeat_each(2);

our $Init = <<'_EOC_';
    init_by_lua_block {
        local ipgeo = require "ipgeo"
        ipgeo.init{ databases = {
            default = { path = "$TEST_NGINX_TABLE_A", snapshot_dir = "$TEST_NGINX_SNAPSHOT_DIR" },
            lang = { path = "$TEST_NGINX_TABLE_LANG", snapshot_dir = "$TEST_NGINX_SNAPSHOT_DIR" },
        } }
    }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('http_config', $Init) if !defined $block->http_config;
});

run_tests();

__DATA__

=== TEST 1: lookup() of an IPv4 address returns every field and the network
--- config
    location = /t {
        content_by_lua_block {
            local db = require("ipgeo").get()
            local rec = assert(db:lookup("8.8.8.8"))
            local keys = {}
            for k in pairs(rec) do keys[#keys + 1] = k end
            table.sort(keys)
            for _, k in ipairs(keys) do
                ngx.say(k, ": ", rec[k], " (", type(rec[k]), ")")
            end
        }
    }
--- response_body
asn: 15169 (number)
city: Mountain View (string)
country: United States (string)
country_code: US (string)
latitude: 37.386 (number)
longitude: -122.0838 (number)
network: 8.8.8.0/24 (string)
province: California (string)



=== TEST 2: lookup() of IPv6 addresses
--- config
    location = /t {
        content_by_lua_block {
            local db = require("ipgeo").get()
            for _, ip in ipairs{ "2001:db8::1", "2001:0db8:ffff:ffff:ffff:ffff:ffff:ffff",
                                 "2400:3200::1", "2400:3200:0:0:0:0:0:1" } do
                local rec = assert(db:lookup(ip))
                ngx.say(ip, ": ", rec.country_code, " ", rec.city, " ", rec.network)
            end
        }
    }
--- response_body
2001:db8::1: NL Amsterdam 2001:db8::/32
2001:0db8:ffff:ffff:ffff:ffff:ffff:ffff: NL Amsterdam 2001:db8::/32
2400:3200::1: CN Hangzhou 2400:3200::/32
2400:3200:0:0:0:0:0:1: CN Hangzhou 2400:3200::/32



=== TEST 3: lookup() of IPv4-mapped IPv6 addresses answers from the IPv4 data
--- config
    location = /t {
        content_by_lua_block {
            local db = require("ipgeo").get()
            for _, p in ipairs{ { "::ffff:8.8.8.8", "8.8.8.8" },
                                { "::FFFF:114.114.114.114", "114.114.114.114" },
                                { "::ffff:808:808", "8.8.8.8" } } do
                local ip, v4 = p[1], p[2]
                local rec = assert(db:lookup(ip))
                ngx.say(ip, ": ", rec.country_code, " ", rec.city, " ", rec.network)
                ngx.say("  same record as IPv4: ", db:record(ip) == db:record(v4))
            end
            ngx.say("::ffff:192.0.2.1: ", select(2, db:lookup("::ffff:192.0.2.1")))
        }
    }
--- response_body
::ffff:8.8.8.8: US Mountain View ::ffff:8.8.8.0/120
  same record as IPv4: true
::FFFF:114.114.114.114: CN Nanjing ::ffff:114.114.114.0/120
  same record as IPv4: true
::ffff:808:808: US Mountain View ::ffff:8.8.8.0/120
  same record as IPv4: true
::ffff:192.0.2.1: not found



=== TEST 4: lookups of addresses without data return nil, "not found"
--- config
    location = /t {
        content_by_lua_block {
            local db = require("ipgeo").get()
            for _, ip in ipairs{ "192.0.2.1", "198.51.100.128", "0.0.0.0", "255.255.255.255",
                                 "::", "::1", "2001:db9::1", "1.0.1.0" } do
                local a, ea = db:lookup(ip)
                local b, eb = db:record(ip)
                local c, ec = db:country_code(ip)
                local d, ed = db:field(ip, "city")
                ngx.say(ip, ": ", tostring(a), " ", ea, ", ", tostring(b), " ", eb, ", ",
                        tostring(c), " ", ec, ", ", tostring(d), " ", ed)
            end
        }
    }
--- response_body
192.0.2.1: nil not found, nil not found, nil not found, nil not found
198.51.100.128: nil not found, nil not found, nil not found, nil not found
0.0.0.0: nil not found, nil not found, nil not found, nil not found
255.255.255.255: nil not found, nil not found, nil not found, nil not found
::: nil not found, nil not found, nil not found, nil not found
::1: nil not found, nil not found, nil not found, nil not found
2001:db9::1: nil not found, nil not found, nil not found, nil not found
1.0.1.0: nil not found, nil not found, nil not found, nil not found



=== TEST 5: lookup() rejects a malformed address with an exact error
--- config
    location = /t {
        content_by_lua_block {
            local db = require("ipgeo").get()
            local bad = {
                "", " ", " 8.8.8.8", "8.8.8.8 ", "8.8.8.8\n", "08.8.8.8", "8.8.8.08",
                "8.8.8", "8.8.8.8.8", "256.8.8.8", "8.8.8.0/24", "2001:db8::/32",
                "fe80::1%eth0", "::ffff:08.8.8.8", "1:2:3:4:5:6:7:8:9", "localhost",
                "0x8.8.8.8", "8.8.8.8\0", "\0\1\255\254", 'say "hi"\\',
                string.rep("1", 46), string.rep("8", 100000),
            }
            for _, ip in ipairs(bad) do
                local rec, err = db:lookup(ip)
                ngx.say(tostring(rec), " ", err)
            end
        }
    }
--- response_body
nil invalid address: 
nil invalid address:  
nil invalid address:  8.8.8.8
nil invalid address: 8.8.8.8 
nil invalid address: 8.8.8.8\x0a
nil invalid address: 08.8.8.8
nil invalid address: 8.8.8.08
nil invalid address: 8.8.8
nil invalid address: 8.8.8.8.8
nil invalid address: 256.8.8.8
nil invalid address: 8.8.8.0/24
nil invalid address: 2001:db8::/32
nil invalid address: fe80::1%eth0
nil invalid address: ::ffff:08.8.8.8
nil invalid address: 1:2:3:4:5:6:7:8:9
nil invalid address: localhost
nil invalid address: 0x8.8.8.8
nil invalid address: 8.8.8.8\x00
nil invalid address: \x00\x01\xff\xfe
nil invalid address: say \x22hi\x22\x5c
nil invalid address: 1111111111111111111111111111111111111111111111
nil invalid address: 8888888888888888888888888888888888888888888888888888888888888888...



=== TEST 6: record(), country_code() and field() reject malformed addresses alike
--- config
    location = /t {
        content_by_lua_block {
            local db = require("ipgeo").get()
            for _, ip in ipairs{ "", "fe80::1%eth0", "8.8.8.0/24", "01.1.1.1", "\255" } do
                ngx.say(select(2, db:record(ip)), " | ", select(2, db:country_code(ip)),
                        " | ", select(2, db:field(ip, "city")))
            end
        }
    }
--- response_body
invalid address:  | invalid address:  | invalid address: 
invalid address: fe80::1%eth0 | invalid address: fe80::1%eth0 | invalid address: fe80::1%eth0
invalid address: 8.8.8.0/24 | invalid address: 8.8.8.0/24 | invalid address: 8.8.8.0/24
invalid address: 01.1.1.1 | invalid address: 01.1.1.1 | invalid address: 01.1.1.1
invalid address: \xff | invalid address: \xff | invalid address: \xff



=== TEST 7: record() returns the shared cached table; lookup() a fresh copy
--- config
    location = /t {
        content_by_lua_block {
            local db = require("ipgeo").get()
            local r1 = db:record("8.8.8.8")
            local r2 = db:record("8.8.8.200")
            local r3 = db:record("::ffff:8.8.8.1")
            ngx.say("same network, same table: ", r1 == r2 and r2 == r3)
            ngx.say("other network, other table: ", r1 ~= db:record("1.0.0.1"))
            ngx.say("record has no network: ", r1.network == nil)
            local l1 = db:lookup("8.8.8.8")
            local l2 = db:lookup("8.8.8.8")
            ngx.say("lookup tables are fresh: ", l1 ~= l2 and l1 ~= r1)
            l1.city = "changed"
            l1.extra = true
            ngx.say("changing a lookup result changes nothing else: ",
                    db:lookup("8.8.8.8").city, ", ", db:record("8.8.8.8").city,
                    ", ", tostring(db:record("8.8.8.8").extra))
            local n = 0
            for k, v in pairs(l2) do
                if k ~= "network" then
                    n = n + 1
                    assert(r1[k] == v, k)
                end
            end
            local m = 0
            for _ in pairs(r1) do m = m + 1 end
            ngx.say("lookup = record + network: ", n == m)
        }
    }
--- response_body
same network, same table: true
other network, other table: true
record has no network: true
lookup tables are fresh: true
changing a lookup result changes nothing else: Mountain View, Mountain View, nil
lookup = record + network: true



=== TEST 8: country_code() returns the two-letter code, or "not found" without one
--- config
    location = /t {
        content_by_lua_block {
            local db = require("ipgeo").get()
            for _, ip in ipairs{ "8.8.8.8", "1.0.0.255", "114.114.114.114", "198.51.100.1",
                                 "2001:db8::1", "2400:3200::", "::ffff:1.0.0.1", "10.1.2.3" } do
                local cc, err = db:country_code(ip)
                ngx.say(ip, ": ", tostring(cc), " ", tostring(err))
            end
            ngx.say("interned: ", db:country_code("8.8.8.8") == db:record("8.8.4.4") or "n/a")
        }
    }
--- response_body
8.8.8.8: US nil
1.0.0.255: AU nil
114.114.114.114: CN nil
198.51.100.1: DE nil
2001:db8::1: NL nil
2400:3200::: CN nil
::ffff:1.0.0.1: AU nil
10.1.2.3: nil not found
interned: n/a



=== TEST 9: field() returns one field by name, nil, "no <name>" when absent
--- config
    location = /t {
        content_by_lua_block {
            local db = require("ipgeo").get()
            local function show(ip, name)
                local v, err = db:field(ip, name)
                ngx.say(ip, " ", name, ": ", tostring(v), " (", type(v), ") ", tostring(err))
            end
            show("8.8.8.8", "city")
            show("8.8.8.8", "asn")
            show("8.8.8.8", "latitude")
            show("1.0.0.1", "latitude")
            show("2001:db8::1", "province")
            show("8.8.8.8", "network")
            show("8.8.8.8", "postal_code")
            show("10.1.2.3", "asn")
            show("10.1.2.3", "country_code")
            show("192.0.2.1", "city")
        }
    }
--- response_body
8.8.8.8 city: Mountain View (string) nil
8.8.8.8 asn: 15169 (number) nil
8.8.8.8 latitude: 37.386 (number) nil
1.0.0.1 latitude: -27.4679 (number) nil
2001:db8::1 province: North Holland (string) nil
8.8.8.8 network: nil (nil) no network
8.8.8.8 postal_code: nil (nil) no postal_code
10.1.2.3 asn: 64512 (number) nil
10.1.2.3 country_code: nil (nil) no country_code
192.0.2.1 city: nil (nil) not found



=== TEST 10: numeric fields are Lua numbers with the source's values
--- config
    location = /t {
        content_by_lua_block {
            local db = require("ipgeo").get()
            local r = db:record("114.114.114.114")
            ngx.say("asn: ", r.asn == 21859, " ", math.floor(r.asn) == r.asn)
            ngx.say("latitude: ", r.latitude == 32.0617, " ", string.format("%.4f", r.latitude))
            ngx.say("longitude: ", r.longitude == 118.7778, " ", string.format("%.4f", r.longitude))
            local l = db:record("1.0.0.1")
            ngx.say("negative: ", l.latitude == -27.4679, " ", l.latitude < 0)
            local lang = require("ipgeo").get("lang")
            ngx.say("accuracy_radius: ", lang:field("8.8.8.8", "accuracy_radius") == 1000)
        }
    }
--- response_body
asn: true true
latitude: true 32.0617
longitude: true 118.7778
negative: true true
accuracy_radius: true



=== TEST 11: names resolve to the first language; names holds all of them
--- config
    location = /t {
        content_by_lua_block {
            local db = require("ipgeo").get("lang")
            local r = db:record("114.114.114.114")
            ngx.say(r.country_code, " ", r.country, " ", r.province, " ", r.city)
            ngx.say(r.names.country.en, " ", r.names.country["zh-CN"])
            ngx.say(r.names.province.en, " ", r.names.province["zh-CN"])
            ngx.say(r.names.city.en, " ", r.names.city["zh-CN"])
            ngx.say("no names for codes: ", r.names.country_code == nil)
            local v6 = db:lookup("2400:3200::8")
            ngx.say(v6.city, " ", v6.names.city["zh-CN"], " ", v6.network)
            ngx.say(db:field("8.8.8.8", "city"), " ", db:record("8.8.8.8").names.city["zh-CN"])
            ngx.say("single-language table has no names: ",
                    require("ipgeo").get():record("8.8.8.8").names == nil)
        }
    }
--- response_body
CN China Jiangsu Nanjing
China 中国
Jiangsu 江苏省
Nanjing 南京
no names for codes: true
Hangzhou 杭州 2400:3200::/32
Mountain View 山景城
single-language table has no names: true



=== TEST 12: opts.languages changes which language names resolve to
--- config
    location = /t {
        content_by_lua_block {
            local ipgeo = require "ipgeo"
            local db = assert(ipgeo.open("$TEST_NGINX_TABLE_LANG", {
                name = "zh", languages = { "zh-CN", "en" }, check_interval = 0,
                snapshot_dir = "$TEST_NGINX_SNAPSHOT_DIR",
            }))
            local r = db:record("114.114.114.114")
            ngx.say(r.country, " ", r.province, " ", r.city, " ", r.names.city.en)
            ngx.say(db:field("8.8.8.8", "city"))
            ngx.say("the default db is unchanged: ", ipgeo.get("lang"):field("8.8.8.8", "city"))
            db:close()
        }
    }
--- response_body
中国 江苏省 南京 Nanjing
山景城
the default db is unchanged: Mountain View



=== TEST 13: info() describes the table
--- config
    location = /t {
        content_by_lua_block {
            local ipgeo = require "ipgeo"
            for _, name in ipairs{ "default", "lang" } do
                local info = ipgeo.get(name):info()
                ngx.say(name, ":")
                ngx.say("  name: ", info.name)
                ngx.say("  path: ", info.path)
                ngx.say("  generation: ", info.generation)
                ngx.say("  checksum: ", info.checksum)
                ngx.say("  languages: ", table.concat(info.languages, ","))
                ngx.say("  columns: ", table.concat(info.columns, ","))
                ngx.say("  loaded_at: ", type(info.loaded_at) == "number"
                        and info.loaded_at <= ngx.now() + 1 and info.loaded_at > ngx.now() - 600)
                ngx.say("  build_time: ", info.build_time)
                ngx.say("  size: ", info.size)
                ngx.say("  ranges: ", info.v4_ranges > 0, " ", info.v6_ranges > 0)
                ngx.say("  check_interval: ", info.check_interval)
                ngx.say("  cache_size: ", info.cache_size)
                ngx.say("  library: ", info.library == ipgeo.library)
            end
        }
    }
--- response_body eval
"default:
  name: default
  path: $ENV{TEST_NGINX_TABLE_A}
  generation: 1
  checksum: $ENV{TEST_NGINX_TABLE_A_CHECKSUM}
  languages: en
  columns: country_code,country\@en,province\@en,city\@en,asn,latitude,longitude
  loaded_at: true
  build_time: 1700000000
  size: $ENV{TEST_NGINX_TABLE_A_SIZE}
  ranges: true true
  check_interval: 5
  cache_size: 100000
  library: true
lang:
  name: lang
  path: $ENV{TEST_NGINX_TABLE_LANG}
  generation: 1
  checksum: $ENV{TEST_NGINX_TABLE_LANG_CHECKSUM}
  languages: en,zh-CN
  columns: country_code,country\@en,country\@zh-CN,province\@en,province\@zh-CN,city\@en,city\@zh-CN,accuracy_radius
  loaded_at: true
  build_time: 1700000000
  size: " . (-s $ENV{TEST_NGINX_TABLE_LANG}) . "
  ranges: true true
  check_interval: 5
  cache_size: 100000
  library: true
"



=== TEST 14: lookups raise on a non-string address, at the caller's line
--- config
    location = /t {
        content_by_lua_block {
            local db = require("ipgeo").get()
            local function raises(f)
                local ok, err = pcall(f)
                if ok then
                    return "no error"
                end
                local msg = err:match("^content_by_lua%(nginx%.conf:%d+%):%d+: (.*)$")
                return msg or ("raised at the wrong level: " .. err)
            end
            ngx.say(raises(function() local _ = db:lookup() end))
            ngx.say(raises(function() local _ = db:lookup(8) end))
            ngx.say(raises(function() local _ = db:record({}) end))
            ngx.say(raises(function() local _ = db:country_code(true) end))
            ngx.say(raises(function() local _ = db:field("8.8.8.8") end))
            ngx.say(raises(function() local _ = db:field("8.8.8.8", 1) end))
            ngx.say(raises(function() local _ = db.lookup("8.8.8.8") end))
        }
    }
--- response_body
ip must be a string
ip must be a string
ip must be a string
ip must be a string
name must be a string
name must be a string
ip must be a string



=== TEST 15: field() raises on a non-string address at the caller's line
--- config
    location = /t {
        content_by_lua_block {
            local db = require("ipgeo").get()
            local ok, err = pcall(function() local _ = db:field(nil, "city") end)
            ngx.say(ok, " ", err:match("^content_by_lua%(nginx%.conf:%d+%):%d+: (.*)$") or err)
        }
    }
--- response_body
false ip must be a string



=== TEST 16: a record cache of one entry still answers correctly
--- config
    location = /t {
        content_by_lua_block {
            local ipgeo = require "ipgeo"
            local db = assert(ipgeo.open("$TEST_NGINX_TABLE_A", {
                name = "tiny", cache_size = 1, check_interval = 0,
                snapshot_dir = "$TEST_NGINX_SNAPSHOT_DIR",
            }))
            local out = {}
            for i = 1, 3 do
                for _, ip in ipairs{ "8.8.8.8", "1.0.0.1", "2001:db8::1", "114.114.114.114" } do
                    out[#out + 1] = db:record(ip).city
                end
            end
            ngx.say(table.concat(out, ","))
            ngx.say("cached: ", db:info().cached_records)
            db:close()
        }
    }
--- response_body
Mountain View,Brisbane,Amsterdam,Nanjing,Mountain View,Brisbane,Amsterdam,Nanjing,Mountain View,Brisbane,Amsterdam,Nanjing
cached: 1



=== TEST 17: a table built with the default enrichment answers GB/T 2260 codes
The fixture source has names only for China; `ipgeo build` adds the codes
unless the input says codes=false (every other fixture table does).
--- config
    location = /t {
        content_by_lua_block {
            local ipgeo = require "ipgeo"
            local db = assert(ipgeo.open("$TEST_NGINX_TABLE_CODES", {
                name = "codes", check_interval = 0,
                snapshot_dir = "$TEST_NGINX_SNAPSHOT_DIR",
            }))
            for _, ip in ipairs{ "114.114.114.114", "2400:3200::1", "8.8.8.8" } do
                local r = db:record(ip)
                ngx.say(ip, " ", r.country_code, " ", r.province, " ", tostring(r.province_code),
                        " ", r.city, " ", tostring(r.city_code))
            end
            local plain = ipgeo.get("lang"):record("114.114.114.114")
            ngx.say("codes=false: ", tostring(plain.province_code), " ", tostring(plain.city_code))
            db:close()
        }
    }
--- response_body
114.114.114.114 CN Jiangsu 320000 Nanjing 320100
2400:3200::1 CN Zhejiang 330000 Hangzhou 330100
8.8.8.8 US California nil Mountain View nil
codes=false: nil nil



=== TEST 18: refs() answers an array as ref() answers each element, in one call
--- config
    location = /t {
        content_by_lua_block {
            local ipgeo = require "ipgeo"
            local db = ipgeo.get()
            local ips = { "8.8.8.8", "::ffff:8.8.8.8", "192.0.2.1", "1.2.3", "2001:db8:1::5",
                          "2400:3200::1", "198.51.100.200", "10.1.2.3", "", "8.8.8.8" }
            -- More than one chunk of the native batch (64), in a second call.
            local many = {}
            for i = 1, 150 do many[i] = ips[i % #ips + 1] end
            for _, list in ipairs{ ips, many } do
                local refs, nets = db:refs(list)
                local same = #refs == #list and #nets == #list
                for i, ip in ipairs(list) do
                    local r, n = db:ref(ip)
                    if (refs[i] or nil) ~= r or nets[i] ~= n then
                        same = false
                        ngx.say("differs at ", i, ": ", ip)
                    end
                end
                ngx.say(#list, " addresses, same as ref(): ", same)
            end
            local refs, nets = db:refs(ips)
            for i = 1, #ips do
                ngx.say(ips[i], " -> ", tostring(refs[i]) ~= "false" and "ref" or "false", " ", nets[i])
            end
            local r0, n0 = db:refs({})
            ngx.say("empty: ", #r0, " ", #n0)
            ngx.say(pcall(db.refs, db, "8.8.8.8"))
            ngx.say(pcall(db.refs, db, { "8.8.8.8", 7 }))
            local other = assert(ipgeo.open("$TEST_NGINX_TABLE_A", {
                name = "closing", check_interval = 0, snapshot_dir = "$TEST_NGINX_SNAPSHOT_DIR",
            }))
            other:close()
            ngx.say("closed: ", select("#", other:refs(ips)), " ", select(2, other:refs(ips)))
        }
    }
--- response_body_like chop
^10 addresses, same as ref\(\): true
150 addresses, same as ref\(\): true
8\.8\.8\.8 -> ref 8\.8\.8\.0/24
::ffff:8\.8\.8\.8 -> ref ::ffff:8\.8\.8\.0/120
192\.0\.2\.1 -> false not found
1\.2\.3 -> false invalid address: 1\.2\.3
2001:db8:1::5 -> ref 2001:db8::/32
2400:3200::1 -> ref 2400:3200::/32
198\.51\.100\.200 -> false not found
10\.1\.2\.3 -> ref 10\.0\.0\.0/8
 -> false invalid address: 
8\.8\.8\.8 -> ref 8\.8\.8\.0/24
empty: 0 0
false.*ips must be a table
false.*ips\[2\] must be a string
closed: 2 database closed$



=== TEST 19: records() answers an array as record() answers each element (the same cached tables), in one call
--- config
    location = /t {
        content_by_lua_block {
            local ipgeo = require "ipgeo"
            local db = ipgeo.get()
            local ips = { "8.8.8.8", "::ffff:8.8.8.8", "192.0.2.1", "1.2.3", "2001:db8:1::5",
                          "2400:3200::1", "198.51.100.200", "10.1.2.3", "", "8.8.8.8" }
            local many = {}
            for i = 1, 150 do many[i] = ips[i % #ips + 1] end
            for _, list in ipairs{ ips, many } do
                local recs, errs = db:records(list)
                local same = #recs == #list
                for i, ip in ipairs(list) do
                    local rec, err = db:record(ip)
                    if (recs[i] or nil) ~= rec or errs[i] ~= err then
                        same = false
                        ngx.say("differs at ", i, ": ", ip)
                    end
                end
                ngx.say(#list, " addresses, same tables as record(): ", same)
            end
            local recs, errs = db:records(ips)
            for i = 1, #ips do
                ngx.say(ips[i], " -> ", recs[i] and recs[i].city or "false", " ", tostring(errs[i]))
            end
            local r0, e0 = db:records({})
            ngx.say("empty: ", #r0, " ", next(e0) == nil)
            ngx.say(pcall(db.records, db, "8.8.8.8"))
            ngx.say(pcall(db.records, db, { "8.8.8.8", 7 }))
            local other = assert(ipgeo.open("$TEST_NGINX_TABLE_A", {
                name = "closing", check_interval = 0, snapshot_dir = "$TEST_NGINX_SNAPSHOT_DIR",
            }))
            other:close()
            ngx.say("closed: ", select("#", other:records(ips)), " ", select(2, other:records(ips)))
        }
    }
--- response_body_like chop
^10 addresses, same tables as record\(\): true
150 addresses, same tables as record\(\): true
8\.8\.8\.8 -> Mountain View nil
::ffff:8\.8\.8\.8 -> Mountain View nil
192\.0\.2\.1 -> false not found
1\.2\.3 -> false invalid address: 1\.2\.3
2001:db8:1::5 -> Amsterdam nil
2400:3200::1 -> Hangzhou nil
198\.51\.100\.200 -> false not found
10\.1\.2\.3 -> \S+ nil
 -> false invalid address: 
8\.8\.8\.8 -> Mountain View nil
empty: 0 true
false.*ips must be a table
false.*ips\[2\] must be a string
closed: 2 database closed$
