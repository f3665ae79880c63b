# Several databases at once: ipgeo.init{databases = ...}, ipgeo.get(),
# ipgeo.databases(), init() misuse, and ipgeo.status() (one worker; the
# two-worker case is in 005-reload-workers.t).
use lib '.';
use t::Ipgeo 'no_plan';

repeat_each(2);

run_tests();

__DATA__

=== TEST 1: init{databases = ...} opens several named databases in the master
--- http_config
    init_by_lua_block {
        require("ipgeo").init{ databases = {
            a = { path = "$TEST_NGINX_TABLE_A", snapshot_dir = "$TEST_NGINX_SNAPSHOT_DIR" },
            b = { path = "$TEST_NGINX_TABLE_B", snapshot_dir = "$TEST_NGINX_SNAPSHOT_DIR", check_interval = 0 },
            lang = { path = "$TEST_NGINX_TABLE_LANG", languages = { "zh-CN" } },
            c = "$TEST_NGINX_TABLE_A",
        } }
    }
--- config
    location = /t {
        content_by_lua_block {
            local ipgeo = require "ipgeo"
            local names = {}
            for name, db in pairs(ipgeo.databases()) do
                assert(db == ipgeo.get(name) and db.name == name)
                names[#names + 1] = name
            end
            table.sort(names)
            ngx.say("databases: ", table.concat(names, " "))
            for _, name in ipairs(names) do
                local db = ipgeo.get(name)
                ngx.say(name, ": ", db:record("8.8.8.8").city, ", check_interval ",
                        db:info().check_interval)
            end
            ngx.say("default: ", tostring(ipgeo.get()))
            ngx.say("nope: ", tostring(ipgeo.get("nope")))
        }
    }
--- response_body
databases: a b c lang
a: Mountain View, check_interval 5
b: Tokyo, check_interval 0
c: Mountain View, check_interval 5
lang: 山景城, check_interval 5
default: nil
nope: nil



=== TEST 2: init{path = ...} opens "default"; init{name = ...} another name
--- http_config
    init_by_lua_block {
        local ipgeo = require "ipgeo"
        assert(ipgeo.init{ path = "$TEST_NGINX_TABLE_A" } == true)
        assert(ipgeo.init{ name = "geo", path = "$TEST_NGINX_TABLE_B" } == true)
    }
--- config
    location = /t {
        content_by_lua_block {
            local ipgeo = require "ipgeo"
            ngx.say("default: ", ipgeo.get():country_code("8.8.8.8"))
            ngx.say("geo: ", ipgeo.get("geo"):country_code("8.8.8.8"))
            ngx.say("same as default: ", ipgeo.get("default") == ipgeo.get())
        }
    }
--- response_body
default: US
geo: JP
same as default: true



=== TEST 3: init() raises on misuse and on a table it cannot open
--- config
    location = /t {
        content_by_lua_block {
            local ipgeo = require "ipgeo"
            local function raises(f)
                local ok, err = pcall(f)
                if ok then
                    return "no error"
                end
                local msg = err:match("^content_by_lua%(nginx%.conf:%d+%):%d+: (.*)$")
                return msg or ("raised at the wrong level: " .. err)
            end
            ngx.say(raises(function() local _ = ipgeo.init() end))
            ngx.say(raises(function() local _ = ipgeo.init("$TEST_NGINX_TABLE_A") end))
            ngx.say(raises(function() local _ = ipgeo.init{ databases = "x" } end))
            ngx.say(raises(function() local _ = ipgeo.init{ databases = { x = {} } } end))
            ngx.say(raises(function() local _ = ipgeo.init{ databases = { x = 42 } } end))
            ngx.say(raises(function() local _ = ipgeo.init{} end))
            ngx.say(raises(function()
                local _ = ipgeo.init{ name = "x", path = "$TEST_NGINX_HTML_DIR/none.ipgeo", check_interval = 0 }
            end))
            ngx.say(raises(function()
                local _ = ipgeo.init{ name = "y", path = "$TEST_NGINX_TABLE_GARBAGE", check_interval = 0 }
            end))
            ngx.say("registered: ", next(ipgeo.databases()) ~= nil)
        }
    }
--- response_body eval
"ipgeo.init: conf must be a table
ipgeo.init: conf must be a table
ipgeo.init: conf.databases must be a table
ipgeo.init: database x needs a path
ipgeo.init: database x needs a path
ipgeo.init: database default needs a path
ipgeo.init: cannot open database x: $ENV{TEST_NGINX_HTML_DIR}/none.ipgeo: No such file or directory (os error 2)
ipgeo.init: cannot open database y: $ENV{TEST_NGINX_TABLE_GARBAGE}: not an ipgeo table (bad magic at offset 0)
registered: false
"



=== TEST 4: status() shows this worker's generation and checksum per database
--- http_config
    init_by_lua_block {
        require("ipgeo").init{ databases = {
            default = { path = "$TEST_NGINX_TABLE_A", snapshot_dir = "$TEST_NGINX_SNAPSHOT_DIR" },
            b = { path = "$TEST_NGINX_TABLE_B", snapshot_dir = "$TEST_NGINX_SNAPSHOT_DIR" },
        } }
    }
    init_worker_by_lua_block {
        assert(require("ipgeo").init_worker())
    }
--- config
    location = /t {
        content_by_lua_block {
            local ipgeo = require "ipgeo"
            for _, name in ipairs{ "default", "b" } do
                local st = assert(ipgeo.status(name))
                local info = ipgeo.get(name):info()
                local n = 0
                for pid, w in pairs(st.workers) do
                    n = n + 1
                    ngx.say(name, ": pid ", pid == ngx.worker.pid(), ", generation ", w.generation,
                            ", checksum ", w.checksum == info.checksum,
                            ", loaded_at ", math.abs(w.loaded_at - info.loaded_at) < 0.01)
                end
                ngx.say(name, ": workers ", n, ", converged ", st.converged, ", checksum ", st.checksum)
            end
            ngx.say(ipgeo.status() ~= nil and ipgeo.status().checksum == ipgeo.status("default").checksum)
            local none = ipgeo.status("nope")
            ngx.say("nope: ", next(none.workers) == nil, " ", none.converged, " ", tostring(none.checksum))
        }
    }
--- response_body eval
"default: pid true, generation 1, checksum true, loaded_at true
default: workers 1, converged true, checksum $ENV{TEST_NGINX_TABLE_A_CHECKSUM}
b: pid true, generation 1, checksum true, loaded_at true
b: workers 1, converged true, checksum $ENV{TEST_NGINX_TABLE_B_CHECKSUM}
true
nope: true true nil
"



=== TEST 5: status() without the ipgeo_state dict returns nil, err
--- http_config
    include $TEST_NGINX_IPGEO_ROOT/nginx-conf/ipgeo_paths.conf;
    init_by_lua_block {
        require("ipgeo").init{ path = "$TEST_NGINX_TABLE_A", snapshot_dir = "$TEST_NGINX_SNAPSHOT_DIR" }
    }
    init_worker_by_lua_block {
        assert(require("ipgeo").init_worker())
    }
--- config
    location = /t {
        content_by_lua_block {
            local ipgeo = require "ipgeo"
            ngx.say(ipgeo.status())
            ngx.say(ipgeo.get():country_code("8.8.8.8"))
        }
    }
--- response_body
nillua_shared_dict ipgeo_state is not declared
US



=== TEST 6: close() removes a database from databases()
--- config
    location = /t {
        content_by_lua_block {
            local ipgeo = require "ipgeo"
            local dir = "$TEST_NGINX_SNAPSHOT_DIR"
            ipgeo.init{ databases = {
                one = { path = "$TEST_NGINX_TABLE_A", check_interval = 0, snapshot_dir = dir },
                two = { path = "$TEST_NGINX_TABLE_B", check_interval = 0, snapshot_dir = dir },
            } }
            ipgeo.get("one"):close()
            local names = {}
            for name in pairs(ipgeo.databases()) do names[#names + 1] = name end
            ngx.say("left: ", table.concat(names, " "))
            ngx.say("two: ", ipgeo.get("two"):country_code("8.8.8.8"))
            ipgeo.get("two"):close()
            ngx.say("empty: ", next(ipgeo.databases()) == nil)
        }
    }
--- response_body
left: two
two: JP
empty: true
