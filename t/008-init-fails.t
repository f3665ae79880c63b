# nginx refuses to start when a table cannot be opened at startup: through
# the shipped one-line wiring (ipgeo_init.conf, with IPGEO_TABLE naming a
# missing file) and through an explicit ipgeo.init{} in init_by_lua.
use lib '.';
use t::Ipgeo 'no_plan';

$ENV{IPGEO_TABLE} = "$ENV{TEST_NGINX_IPGEO_ROOT}/t/tables/no-such-table.ipgeo";

run_tests();

__DATA__

=== TEST 1: ipgeo_init.conf with IPGEO_TABLE naming a missing file: nginx does not start
--- http_config
    include $TEST_NGINX_IPGEO_ROOT/nginx-conf/ipgeo_paths.conf;
    include $TEST_NGINX_IPGEO_ROOT/nginx-conf/ipgeo_http.conf;
    include $TEST_NGINX_IPGEO_ROOT/nginx-conf/ipgeo_init.conf;
--- config
    location = /t {
        return 200;
    }
--- must_die
--- error_log eval
"ipgeo.init: cannot open database default: $ENV{IPGEO_TABLE}: No such file or directory (os error 2)"



=== TEST 2: init{} with a truncated table: nginx does not start
--- http_config
    init_by_lua_block {
        require("ipgeo").init{ databases = { geo = { path = "$TEST_NGINX_TABLE_TRUNCATED" } } }
    }
--- config
    location = /t {
        return 200;
    }
--- must_die
--- error_log eval
"ipgeo.init: cannot open database geo: $ENV{TEST_NGINX_TABLE_TRUNCATED}: header says the file is $ENV{TEST_NGINX_TABLE_A_SIZE} bytes but it is 4096 (truncated or extended)"



=== TEST 3: init{} with a file that is not a table: nginx does not start
--- http_config
    init_by_lua_block {
        require("ipgeo").init{ path = "$TEST_NGINX_TABLE_GARBAGE" }
    }
--- config
    location = /t {
        return 200;
    }
--- must_die
--- error_log eval
"ipgeo.init: cannot open database default: $ENV{TEST_NGINX_TABLE_GARBAGE}: not an ipgeo table (bad magic at offset 0)"



=== TEST 4: init{} with one bad table among good ones: nginx does not start
--- http_config
    init_by_lua_block {
        require("ipgeo").init{ databases = {
            a = { path = "$TEST_NGINX_TABLE_A" },
            b = { path = "$TEST_NGINX_TABLE_B" },
            broken = { path = "$TEST_NGINX_TABLE_TRUNCATED" },
        } }
    }
--- config
    location = /t {
        return 200;
    }
--- must_die
--- error_log
ipgeo.init: cannot open database broken:



=== TEST 5: init{} with a bad option: nginx does not start
--- http_config
    init_by_lua_block {
        require("ipgeo").init{ path = "$TEST_NGINX_TABLE_A", check_interval = "5" }
    }
--- config
    location = /t {
        return 200;
    }
--- must_die
--- error_log
opts.check_interval must be a number
