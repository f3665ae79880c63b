# ipgeo.open(): in the master (init_by_lua, inherited by forked workers), in
# each worker (init_worker_by_lua) and in the content phase; relative paths;
# tables that cannot be opened (nil, err); misuse (raises); close().
use lib '.';
use t::Ipgeo 'no_plan';

master_on();
workers(2);
repeat_each(2);

run_tests();

__DATA__

=== TEST 1: open() in init_by_lua: the workers inherit the master's table
--- http_config
    init_by_lua_block {
        local ipgeo = require "ipgeo"
        assert(ipgeo.open("$TEST_NGINX_TABLE_A", { snapshot_dir = "$TEST_NGINX_SNAPSHOT_DIR" }))
    }
--- config
    location = /t {
        content_by_lua_block {
            local ipgeo = require "ipgeo"
            local db = ipgeo.get()
            ngx.say("name: ", db.name)
            ngx.say("8.8.8.8: ", db:country_code("8.8.8.8"))
            ngx.say("2001:db8::1: ", db:record("2001:db8::1").city)
            local info = db:info()
            ngx.say("generation: ", info.generation)
            ngx.say("path: ", info.path == "$TEST_NGINX_TABLE_A")
            -- The master unlinks its snapshot's name once it is mapped.
            ngx.say("snapshot: ", tostring(info.snapshot))
            -- No init_worker(): no reload timer, nothing published.
            ngx.say("workers published: ", next(ipgeo.status().workers) ~= nil)
        }
    }
--- response_body
name: default
8.8.8.8: US
2001:db8::1: Amsterdam
generation: 1
path: true
snapshot: nil
workers published: false



=== TEST 2: open() in init_worker_by_lua: each worker maps the shared snapshot
--- http_config
    init_worker_by_lua_block {
        local ipgeo = require "ipgeo"
        assert(ipgeo.open("$TEST_NGINX_TABLE_A", {
            name = "w", check_interval = 0, snapshot_dir = "$TEST_NGINX_SNAPSHOT_DIR",
        }))
    }
--- config
    location = /t {
        content_by_lua_block {
            local ipgeo = require "ipgeo"
            local db = ipgeo.get("w")
            ngx.say("default: ", tostring(ipgeo.get()))
            ngx.say("8.8.8.8: ", db:country_code("8.8.8.8"))
            local info = db:info()
            ngx.say("snapshot: ", info.snapshot == "$TEST_NGINX_SNAPSHOT_DIR/"
                                  .. info.checksum .. "-" .. info.size .. ".ipgeo")
            local f = io.open(info.snapshot, "rb")
            ngx.say("snapshot exists: ", f ~= nil)
            if f then f:close() end
        }
    }
--- response_body
default: nil
8.8.8.8: US
snapshot: true
snapshot exists: true



=== TEST 3: open() in the content phase returns the db that get() finds
--- config
    location = /t {
        content_by_lua_block {
            local ipgeo = require "ipgeo"
            local db, err = ipgeo.open("$TEST_NGINX_TABLE_B", {
                name = "late", check_interval = 0, snapshot_dir = "$TEST_NGINX_SNAPSHOT_DIR",
            })
            ngx.say("err: ", tostring(err))
            ngx.say("get: ", ipgeo.get("late") == db)
            ngx.say("8.8.8.8: ", db:country_code("8.8.8.8"))
            ngx.say("generation: ", db:generation())
            db:close()
            ngx.say("after close: ", tostring(ipgeo.get("late")))
        }
    }
--- response_body
err: nil
get: true
8.8.8.8: JP
generation: 1
after close: nil



=== TEST 4: open() resolves a relative path against the nginx prefix
--- http_config
    init_by_lua_block {
        local src = assert(io.open("$TEST_NGINX_TABLE_A", "rb"))
        local dst = assert(io.open("$TEST_NGINX_HTML_DIR/rel.ipgeo", "wb"))
        dst:write(src:read("*a"))
        src:close()
        dst:close()
        local ipgeo = require "ipgeo"
        assert(ipgeo.open("html/rel.ipgeo", { name = "rel", snapshot_dir = "$TEST_NGINX_SNAPSHOT_DIR" }))
    }
--- config
    location = /t {
        content_by_lua_block {
            local db = require("ipgeo").get("rel")
            ngx.say("path: ", db:info().path == ngx.config.prefix() .. "html/rel.ipgeo")
            ngx.say("prefix is absolute: ", ngx.config.prefix():sub(1, 1) == "/")
            ngx.say("8.8.8.8: ", db:country_code("8.8.8.8"))
        }
    }
--- response_body
path: true
prefix is absolute: true
8.8.8.8: US



=== TEST 5: open() returns nil, err for a table it cannot use
--- config
    location = /t {
        content_by_lua_block {
            local ipgeo = require "ipgeo"
            local dir = "$TEST_NGINX_SNAPSHOT_DIR"
            local function try(path)
                local db, err = ipgeo.open(path, { name = "bad", check_interval = 0, snapshot_dir = dir })
                ngx.say(tostring(db), ": ", err)
            end
            try("$TEST_NGINX_HTML_DIR/no-such.ipgeo")
            try("$TEST_NGINX_TABLE_TRUNCATED")
            try("$TEST_NGINX_TABLE_GARBAGE")
            try("$TEST_NGINX_HTML_DIR")
            ngx.say("registered: ", tostring(ipgeo.get("bad")))
        }
    }
--- response_body eval
"nil: $ENV{TEST_NGINX_HTML_DIR}/no-such.ipgeo: No such file or directory (os error 2)
nil: $ENV{TEST_NGINX_TABLE_TRUNCATED}: header says the file is $ENV{TEST_NGINX_TABLE_A_SIZE} bytes but it is 4096 (truncated or extended)
nil: $ENV{TEST_NGINX_TABLE_GARBAGE}: not an ipgeo table (bad magic at offset 0)
nil: $ENV{TEST_NGINX_HTML_DIR}: cannot read the header: Is a directory (os error 21)
registered: nil
"



=== TEST 6: open() raises on misuse, at the caller's line
--- config
    location = /t {
        content_by_lua_block {
            local ipgeo = require "ipgeo"
            local A = "$TEST_NGINX_TABLE_A"
            local function raises(f)
                local ok, err = pcall(f)
                if ok then
                    return "no error"
                end
                local msg = err:match("^content_by_lua%(nginx%.conf:%d+%):%d+: (.*)$")
                return msg or ("raised at the wrong level: " .. err)
            end
            ngx.say(raises(function() local _ = ipgeo.open() end))
            ngx.say(raises(function() local _ = ipgeo.open(42) end))
            ngx.say(raises(function() local _ = ipgeo.open(A, "x") end))
            ngx.say(raises(function() local _ = ipgeo.open(A, { name = 1 }) end))
            ngx.say(raises(function() local _ = ipgeo.open(A, { check_interval = "5" }) end))
            ngx.say(raises(function() local _ = ipgeo.open(A, { check_interval = -1 }) end))
            ngx.say(raises(function() local _ = ipgeo.open(A, { snapshot_dir = true }) end))
            ngx.say(raises(function() local _ = ipgeo.open(A, { snapshot = "no" }) end))
            ngx.say(raises(function() local _ = ipgeo.open(A, { cache_size = "big" }) end))
            ngx.say(raises(function() local _ = ipgeo.open(A, { cache_size = 0 }) end))
            ngx.say(raises(function() local _ = ipgeo.open(A, { languages = "en" }) end))
            ngx.say("registered: ", next(ipgeo.databases()) ~= nil)
        }
    }
--- response_body
path must be a string
path must be a string
opts must be a table
opts.name must be a string
opts.check_interval must be a number
opts.check_interval must not be negative
opts.snapshot_dir must be a string
opts.snapshot must be a boolean
opts.cache_size must be a number
opts.cache_size must be at least 1
opts.languages must be a table
registered: false



=== TEST 7: open() with snapshot = false maps the file itself
--- config
    location = /t {
        content_by_lua_block {
            local ipgeo = require "ipgeo"
            local db = assert(ipgeo.open("$TEST_NGINX_TABLE_A", {
                name = "direct", check_interval = 0, snapshot = false,
            }))
            local info = db:info()
            ngx.say("snapshot: ", tostring(info.snapshot))
            ngx.say("path: ", info.path == "$TEST_NGINX_TABLE_A")
            ngx.say("8.8.8.8: ", db:country_code("8.8.8.8"))
            db:close()
        }
    }
--- response_body
snapshot: nil
path: true
8.8.8.8: US



=== TEST 8: open() again under a name replaces that database
--- config
    location = /t {
        content_by_lua_block {
            local ipgeo = require "ipgeo"
            local dir = "$TEST_NGINX_SNAPSHOT_DIR"
            local a = assert(ipgeo.open("$TEST_NGINX_TABLE_A", { name = "x", check_interval = 0, snapshot_dir = dir }))
            local b = assert(ipgeo.open("$TEST_NGINX_TABLE_B", { name = "x", check_interval = 0, snapshot_dir = dir }))
            ngx.say("get: ", ipgeo.get("x") == b)
            -- The replaced handle still answers from its own table.
            ngx.say("old: ", a:country_code("8.8.8.8"), ", new: ", b:country_code("8.8.8.8"))
            a:close()
            ngx.say("get after closing the old one: ", ipgeo.get("x") == b)
            b:close()
            ngx.say("get after closing the new one: ", tostring(ipgeo.get("x")))
        }
    }
--- response_body
get: true
old: US, new: JP
get after closing the old one: true
get after closing the new one: nil



=== TEST 9: close() makes lookups fail with "database closed"
--- config
    location = /t {
        content_by_lua_block {
            local ipgeo = require "ipgeo"
            local db = assert(ipgeo.open("$TEST_NGINX_TABLE_A", {
                name = "c", check_interval = 0, snapshot_dir = "$TEST_NGINX_SNAPSHOT_DIR",
            }))
            local rec = db:record("8.8.8.8")
            db:close()
            ngx.say("lookup: ", select(2, db:lookup("8.8.8.8")))
            ngx.say("record: ", select(2, db:record("8.8.8.8")))
            ngx.say("country_code: ", select(2, db:country_code("8.8.8.8")))
            ngx.say("field: ", select(2, db:field("8.8.8.8", "city")))
            ngx.say("invalid after close: ", select(2, db:lookup("nope")))
            ngx.say("generation: ", db:generation())
            -- A record fetched before close() is a plain Lua table.
            ngx.say("old record: ", rec.city)
            ngx.say("get: ", tostring(ipgeo.get("c")))
        }
    }
--- response_body
lookup: database closed
record: database closed
country_code: database closed
field: database closed
invalid after close: database closed
generation: 0
old record: Mountain View
get: nil
