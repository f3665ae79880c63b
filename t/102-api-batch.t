# ipgeo.api, POST {"ips": [...]}: answered in order, HTTP 200, a failing
# item is null in `results` with an entry in `errors` (0-based index); the
# empty batch; max_batch (default 100, and a handler with a small one);
# names and attribution in batches; items equal the single answers; the
# batch handler's server time (X-Ipgeo-Time, timing = true).
use lib '.';
use t::Ipgeo 'no_plan';

repeat_each(2);

our $Init = "    init_by_lua_block {\n" . $t::Ipgeo::ApiInit . <<'_EOC_';
        local api = require "ipgeo.api"
        package.loaded["t.api"] = {
            small = api.new{ max_batch = 3 },
            timed = api.new{ timing = true, max_batch = 1000 },
        }
    }
_EOC_

our $Config = <<'_EOC_';
    location = /api/ip_query {
        include $TEST_NGINX_IPGEO_ROOT/nginx-conf/ipgeo_api_location.conf;
    }
    location = /small {
        content_by_lua_block { require("t.api").small:serve() }
    }
    location = /timed {
        content_by_lua_block { require("t.api").timed:serve() }
    }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('http_config', $Init) if !defined $block->http_config;
    $block->set_value('config', $Config) if !defined $block->config;
});

run_tests();

__DATA__

=== TEST 1: a batch is answered in order; invalid, non-string and not-found items are null with an error each (0-based index); 200
--- request
POST /api/ip_query
{"ips": ["8.8.8.8", "not-an-ip", "2001:db8::1", null, 5, "192.0.2.1", "::ffff:1.0.0.1", ["8.8.8.8"], "10.9.9.9"]}
--- error_code: 200
--- response_headers
Content-Type: application/json; charset=utf-8
!X-Ipgeo-Time
--- response_body chomp
{"results":[{"ip":"8.8.8.8","network":"8.8.8.0/24","country_code":"US","country":"United States","province":"California","city":"Mountain View","asn":15169,"latitude":37.386,"longitude":-122.0838},null,{"ip":"2001:db8::1","network":"2001:db8::/32","country_code":"NL","country":"Netherlands","province":"North Holland","city":"Amsterdam","asn":64496,"latitude":52.374,"longitude":4.8897},null,null,null,{"ip":"::ffff:1.0.0.1","network":"::ffff:1.0.0.0/120","country_code":"AU","country":"Australia","province":"Queensland","city":"Brisbane","asn":13335,"latitude":-27.4679,"longitude":153.0281},null,{"ip":"10.9.9.9","network":"10.0.0.0/8","asn":64512}],"errors":[{"index":1,"error":"invalid_ip","message":"invalid address: not-an-ip"},{"index":3,"error":"invalid_field","message":"ips[3] is not a string"},{"index":4,"error":"invalid_field","message":"ips[4] is not a string"},{"index":5,"error":"not_found","message":"no data for 192.0.2.1","ip":"192.0.2.1"},{"index":7,"error":"invalid_field","message":"ips[7] is not a string"}]}



=== TEST 2: a batch in which every item fails is still 200
--- request
POST /api/ip_query
{"ips":["192.0.2.1","1.2.3.4.5"," 8.8.8.8"]}
--- error_code: 200
--- response_body chomp
{"results":[null,null,null],"errors":[{"index":0,"error":"not_found","message":"no data for 192.0.2.1","ip":"192.0.2.1"},{"index":1,"error":"invalid_ip","message":"invalid address: 1.2.3.4.5"},{"index":2,"error":"invalid_ip","message":"invalid address:  8.8.8.8"}]}



=== TEST 3: the empty batch: empty results and errors (arrays, not objects), attribution if the table has one
--- request eval
["POST /api/ip_query\n{\"ips\":[]}", "POST /api/ip_query\n{\"ips\":[],\"db\":\"api\"}"]
--- response_body eval
['{"results":[],"errors":[]}',
 '{"results":[],"errors":[],"attribution":"Fixture data \"A&B\" \\\\ ipgeo tests — CC0"}']



=== TEST 4: a batch with db: names objects (lang) and one attribution for the whole batch (api)
--- request eval
["POST /api/ip_query\n{\"db\":\"lang\",\"ips\":[\"8.8.8.8\",\"1.0.0.1\"]}",
 "POST /api/ip_query\n{\"ips\":[\"192.0.2.9\",\"203.0.113.9\",\"198.51.100.1\"],\"db\":\"api\"}"]
--- response_body eval
['{"results":[{"ip":"8.8.8.8","network":"8.8.8.0/24","country_code":"US","country":"United States","province":"California","city":"Mountain View","accuracy_radius":1000,"names":{"city":{"en":"Mountain View","zh-CN":"山景城"},"country":{"en":"United States","zh-CN":"美国"},"province":{"en":"California","zh-CN":"加利福尼亚州"}}},null],"errors":[{"index":1,"error":"not_found","message":"no data for 1.0.0.1","ip":"1.0.0.1"}]}',
 '{"results":[{"ip":"192.0.2.9","network":"192.0.2.0/24","country_code":"AU","country":"Australia","continent_code":"OC","continent":"Oceania","province":"New South Wales","province_code":"NSW","city":"Sydney","city_code":"2000","district":"Haymarket","district_code":"HM","isp":"Example ISP","organization":"Example Org","asn":4294967295,"asn_org":"Example AS","latitude":-33.8688197,"longitude":151.2092955,"accuracy_radius":0,"timezone":"Australia/Sydney","postal_code":"2000"},{"ip":"203.0.113.9","network":"203.0.113.0/24","country_code":"XX","country":"Say \"hi\" \\\\ back","province":"Tab\tinside","city":"Line\nbreak","district":"Zürich ☃ 北京","isp":"</script>","organization":"{\"json\":true}","asn":0,"asn_org":"Esc\u001b[31m red","latitude":90,"longitude":-180,"accuracy_radius":65535,"timezone":"Etc/GMT+12","postal_code":"A, B"},null],"errors":[{"index":2,"error":"not_found","message":"no data for 198.51.100.1","ip":"198.51.100.1"}],"attribution":"Fixture data \"A&B\" \\\\ ipgeo tests — CC0"}']



=== TEST 5: max_batch: a handler with max_batch = 3 takes 3 addresses and refuses 4 with 400 batch_too_large
--- request eval
["POST /small\n{\"ips\":[\"8.8.8.8\",\"8.8.8.8\",\"8.8.8.8\"]}",
 "POST /small\n{\"ips\":[\"8.8.8.8\",\"8.8.8.8\",\"8.8.8.8\",\"8.8.8.8\"]}",
 "POST /small\n{\"ips\":[1,2,3,4,5,6,7,8,9,10]}"]
--- error_code eval
[200, 400, 400]
--- response_headers eval
["Content-Type: application/json; charset=utf-8",
 "Content-Type: application/json; charset=utf-8",
 "Content-Type: application/json; charset=utf-8"]
--- response_body eval
['{"results":[{"ip":"8.8.8.8","network":"8.8.8.0/24","country_code":"US","country":"United States","province":"California","city":"Mountain View","asn":15169,"latitude":37.386,"longitude":-122.0838},{"ip":"8.8.8.8","network":"8.8.8.0/24","country_code":"US","country":"United States","province":"California","city":"Mountain View","asn":15169,"latitude":37.386,"longitude":-122.0838},{"ip":"8.8.8.8","network":"8.8.8.0/24","country_code":"US","country":"United States","province":"California","city":"Mountain View","asn":15169,"latitude":37.386,"longitude":-122.0838}],"errors":[]}',
 '{"error":"batch_too_large","message":"a batch holds at most 3 addresses, not 4"}',
 '{"error":"batch_too_large","message":"a batch holds at most 3 addresses, not 10"}']



=== TEST 6: the default max_batch is 100
--- config
    location = /api/ip_query {
        content_by_lua_block { require("ipgeo.api").serve() }
    }
    location = /t {
        content_by_lua_block {
            local cjson = require "cjson.safe"
            for _, n in ipairs{ 99, 100, 101, 1000 } do
                local ips = {}
                for i = 1, n do
                    ips[i] = i % 2 == 0 and "8.8.8.8" or "2001:db8::" .. string.format("%x", i)
                end
                local r = ngx.location.capture("/api/ip_query", {
                    method = ngx.HTTP_POST, body = cjson.encode{ ips = ips } })
                local doc = cjson.decode(r.body)
                ngx.say(n, ": ", r.status, " ", doc.results and (#doc.results .. " results, "
                        .. #doc.errors .. " errors") or (doc.error .. ": " .. doc.message))
            end
        }
    }
--- request
GET /t
--- response_body
99: 200 99 results, 0 errors
100: 200 100 results, 0 errors
101: 400 batch_too_large: a batch holds at most 100 addresses, not 101
1000: 400 batch_too_large: a batch holds at most 100 addresses, not 1000



=== TEST 7: each batch item is the single answer for its address (GET ?ip=), without the attribution
--- config
    location = /api/ip_query {
        content_by_lua_block { require("ipgeo.api").serve() }
    }
    location = /t {
        content_by_lua_block {
            local cjson = require "cjson.safe"
            local function same(a, b)
                if type(a) ~= "table" or type(b) ~= "table" then
                    return a == b
                end
                for k, v in pairs(a) do
                    if not same(v, b[k]) then return false end
                end
                for k in pairs(b) do
                    if a[k] == nil then return false end
                end
                return true
            end
            local ips = { "8.8.8.8", "8.8.8.255", "1.0.0.0", "114.114.114.114", "198.51.100.127",
                          "10.0.0.0", "10.255.255.255", "2001:db8::", "2001:db8:ffff::1",
                          "2400:3200::abcd", "::ffff:10.1.1.1", "::ffff:8.8.8.8", "192.0.2.1",
                          "::1", "x", "192.0.2.9", "203.0.113.1", "2001:db8:1::2" }
            for _, db in ipairs{ "default", "b", "lang", "api" } do
                local r = ngx.location.capture("/api/ip_query", {
                    method = ngx.HTTP_POST, body = cjson.encode{ ips = ips, db = db } })
                local doc = cjson.decode(r.body)
                local equal, nulls, errors = 0, 0, {}
                for _, e in ipairs(doc.errors) do
                    errors[e.index + 1] = e
                end
                for i, ip in ipairs(ips) do
                    local one = ngx.location.capture("/api/ip_query", { args = { ip = ip, db = db } })
                    local single = cjson.decode(one.body)
                    local item = doc.results[i]
                    if item == cjson.null then
                        -- Same error code and message as the single answer.
                        nulls = nulls + 1
                        local e = errors[i]
                        assert(e and e.error == single.error and e.message == single.message, ip)
                    else
                        assert(one.status == 200, ip)
                        assert(single.attribution == doc.attribution, ip)
                        single.attribution = nil
                        if same(item, single) then
                            equal = equal + 1
                        end
                    end
                end
                ngx.say(db, ": ", #doc.results, " results, ", equal, " equal to GET, ",
                        nulls, " null with GET's error, ", #doc.errors, " errors")
            end
        }
    }
--- request
GET /t
--- response_body
default: 18 results, 13 equal to GET, 5 null with GET's error, 5 errors
b: 18 results, 10 equal to GET, 8 null with GET's error, 8 errors
lang: 18 results, 5 equal to GET, 13 null with GET's error, 13 errors
api: 18 results, 4 equal to GET, 14 null with GET's error, 14 errors



=== TEST 8: ips must be an array of strings: an object, a string, a number, null are 400 invalid_field
--- request eval
["POST /api/ip_query\n{\"ips\":{\"0\":\"8.8.8.8\"}}", "POST /api/ip_query\n{\"ips\":\"8.8.8.8\"}",
 "POST /api/ip_query\n{\"ips\":8}", "POST /api/ip_query\n{\"ips\":null}",
 "POST /api/ip_query\n{\"ips\":true}"]
--- error_code eval
[400, 400, 400, 400, 400]
--- response_body eval
['{"error":"invalid_field","message":"ips must be an array of address strings"}',
 '{"error":"invalid_field","message":"ips must be an array of address strings"}',
 '{"error":"invalid_field","message":"ips must be an array of address strings"}',
 '{"error":"invalid_field","message":"ips must be an array of address strings"}',
 '{"error":"invalid_field","message":"ips must be an array of address strings"}']



=== TEST 9: ips as an empty object is refused like any other object
--- request
POST /api/ip_query
{"ips":{}}
--- error_code: 400
--- response_body chomp
{"error":"invalid_field","message":"ips must be an array of address strings"}



=== TEST 10: new{ timing = true }: a batch's X-Ipgeo-Time is a number of microseconds
--- config
    location = /timed {
        content_by_lua_block { require("t.api").timed:serve() }
    }
    location = /t {
        content_by_lua_block {
            local cjson = require "cjson.safe"
            for _, n in ipairs{ 0, 1, 1000 } do
                local ips = {}
                for i = 1, n do
                    ips[i] = string.format("%d.%d.%d.%d", i % 223 + 1, i % 251, i % 241, i % 239)
                end
                -- (lua-cjson writes an empty table as {}, which is not a batch)
                local body = n == 0 and '{"ips": []}' or cjson.encode{ ips = ips }
                local r = ngx.location.capture("/timed", { method = ngx.HTTP_POST, body = body })
                local t = r.header["X-Ipgeo-Time"]
                local doc = cjson.decode(r.body)
                ngx.say(n, ": ", r.status, ", ", #doc.results, " results, X-Ipgeo-Time is a number >= 0: ",
                        type(t) == "string" and tonumber(t) ~= nil and tonumber(t) >= 0)
            end
        }
    }
--- request
GET /t
--- response_body
0: 200, 0 results, X-Ipgeo-Time is a number >= 0: true
1: 200, 1 results, X-Ipgeo-Time is a number >= 0: true
1000: 200, 1000 results, X-Ipgeo-Time is a number >= 0: true



=== TEST 11: a batch of IPv4-mapped, upper-case and written-out IPv6 addresses echoes each as given
--- request
POST /api/ip_query
{"ips":["::FFFF:8.8.8.8","2001:DB8::A","2001:0db8:0000:0000:0000:0000:0000:0001"]}
--- response_body chomp
{"results":[{"ip":"::FFFF:8.8.8.8","network":"::ffff:8.8.8.0/120","country_code":"US","country":"United States","province":"California","city":"Mountain View","asn":15169,"latitude":37.386,"longitude":-122.0838},{"ip":"2001:DB8::A","network":"2001:db8::/32","country_code":"NL","country":"Netherlands","province":"North Holland","city":"Amsterdam","asn":64496,"latitude":52.374,"longitude":4.8897},{"ip":"2001:0db8:0000:0000:0000:0000:0000:0001","network":"2001:db8::/32","country_code":"NL","country":"Netherlands","province":"North Holland","city":"Amsterdam","asn":64496,"latitude":52.374,"longitude":4.8897}],"errors":[]}
