# t::Ipgeo: what every test file of ipgeo's Test::Nginx suite shares.
#
#     use lib '.';
#     use t::Ipgeo 'no_plan';
#
# Works with the real Test::Nginx (OpenResty CI) and with
# util/test-nginx-subset (which `make test-nginx` puts on PERL5LIB when the
# real one is missing). It:
#
# - builds the test tables from t/data/*.csv with the ipgeo CLI into
#   t/tables/ (rebuilt when a CSV or the CLI is newer than the table; run
#   `make build` first, or point IPGEO_CLI at the CLI), and derives two
#   corrupt tables from table A;
# - exports their paths and facts for the config sections:
#     $TEST_NGINX_IPGEO_ROOT          the checkout (nginx-conf/, lua/, ...)
#     $TEST_NGINX_HTML_DIR            the block's html dir (scratch space)
#     $TEST_NGINX_TABLE_A, _B         two tables that answer the same
#                                     addresses differently (a.csv, b.csv)
#     $TEST_NGINX_TABLE_LANG          names in en and zh-CN (lang.csv)
#     $TEST_NGINX_TABLE_CODES         lang.csv built with the default
#                                     enrichment (GB/T 2260 codes added);
#                                     every other table is built with
#                                     `codes=false`, the CSV values only
#     $TEST_NGINX_TABLE_TRUNCATED     the first 4096 bytes of table A
#     $TEST_NGINX_TABLE_GARBAGE       4096 bytes that are no table at all
#     $TEST_NGINX_TABLE_A_SIZE        table A's size in bytes
#     $TEST_NGINX_TABLE_A_CHECKSUM, _B_CHECKSUM, _LANG_CHECKSUM
#                                     as `ipgeo info` prints them
#     $TEST_NGINX_SNAPSHOT_DIR        this run's snapshot directory (next
#                                     to the server root, emptied at start)
#   Tests never modify these tables: a test that replaces or rewrites a
#   table works on its own copy under $TEST_NGINX_HTML_DIR, which the
#   harness recreates for every block.
# - adds block defaults: `--- request GET /t`; `--- no_error_log` of
#   [error], [alert] and [crit] unless the block has error_log,
#   no_error_log or must_die; and the http {} declarations below in front
#   of the block's http_config, unless that http_config includes
#   ipgeo_paths.conf itself (the tests of the shipped files do);
# - offers $t::Ipgeo::LuaHelpers, Lua code for an init_by_lua_block that
#   makes `require "t.helpers"` (copy, replace, sh, wait) work in the block.

package t::Ipgeo;

use Test::Nginx::Socket::Lua -Base;

use Cwd ();
use File::Basename ();
use File::Path ();
use File::Spec ();

my $root = $ENV{TEST_NGINX_IPGEO_ROOT}
    ||= Cwd::abs_path(File::Spec->catdir(File::Basename::dirname(__FILE__), File::Spec->updir));

$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();

my $cli = $ENV{IPGEO_CLI} || "$root/target/release/ipgeo";
my $data = "$root/t/data";
my $tables = "$root/t/tables";

if (!-x $cli) {
    bail_out("t::Ipgeo: the ipgeo CLI $cli is missing: run `make build` first (or set IPGEO_CLI)");
}
if (!-f "$root/nginx-conf/ipgeo_paths.conf") {
    bail_out("t::Ipgeo: $root/nginx-conf/ipgeo_paths.conf is missing: run `make build` first");
}

File::Path::make_path($tables);

# name => [languages, source, input options]
my %TABLES = (
    a     => ['en', 'a.csv', '?codes=false'],
    b     => ['en', 'b.csv', '?codes=false'],
    lang  => ['en,zh-CN', 'lang.csv', '?codes=false'],
    codes => ['en,zh-CN', 'lang.csv', ''],
);

my $build = sub {
    my ($name, $langs, $csv, $options) = @_;
    my $out = "$tables/$name.ipgeo";
    my $src = "$data/$csv";
    my $mtime = (stat $out)[9];
    return $out
        if defined $mtime && $mtime >= (stat $src)[9] && $mtime >= (stat $cli)[9]
            && $mtime >= (stat __FILE__)[9];
    # The CLI writes a temporary file and renames it, so concurrent runs
    # are safe. A fixed build time keeps the checksums stable.
    my @cmd = ($cli, 'build', '-q', '--build-time', '1700000000', '--lang', $langs,
               '-o', $out, "$name=$src$options");
    my $shell = join ' ', map { (my $q = $_) =~ s/'/'\\''/g; "'$q'" } @cmd;
    my $log = `$shell 2>&1`;
    bail_out("t::Ipgeo: `@cmd` failed: $log") if $? != 0;
    return $out;
};

my $write = sub {
    my ($path, $bytes) = @_;
    my $tmp = "$path.$$.tmp";
    open my $fh, '>:raw', $tmp or bail_out("t::Ipgeo: cannot write $tmp: $!");
    print {$fh} $bytes;
    close $fh or bail_out("t::Ipgeo: cannot write $tmp: $!");
    rename $tmp, $path or bail_out("t::Ipgeo: cannot rename $tmp: $!");
};

my $checksum = sub {
    my $path = shift;
    my $out = `'$cli' info '$path' 2>&1`;
    $out =~ /^checksum:\s+([0-9a-f]{16})$/m
        or bail_out("t::Ipgeo: no checksum in `ipgeo info $path`: $out");
    return $1;
};

for my $name (sort keys %TABLES) {
    my $path = $build->($name, @{ $TABLES{$name} });
    $ENV{'TEST_NGINX_TABLE_' . uc $name} = $path;
    $ENV{'TEST_NGINX_TABLE_' . uc($name) . '_CHECKSUM'} = $checksum->($path);
}

{
    my $ta = $ENV{TEST_NGINX_TABLE_A};
    $ENV{TEST_NGINX_TABLE_A_SIZE} = -s $ta;

    my $truncated = "$tables/truncated.ipgeo";
    my $garbage = "$tables/garbage.ipgeo";
    if (!-f $truncated || (stat $truncated)[9] < (stat $ta)[9]) {
        open my $fh, "<:raw", $ta or bail_out("t::Ipgeo: cannot read $ta: $!");
        read $fh, my $head, 4096;
        close $fh;
        $write->($truncated, $head);
    }
    if (!-f $garbage) {
        # Deterministic noise (no call to rand: that would move the
        # harness's shuffling seed).
        my $x = 2463534242;
        my $bytes = '';
        for (1 .. 4096) {
            $x ^= ($x << 13) & 0xffffffff;
            $x ^= $x >> 17;
            $x ^= ($x << 5) & 0xffffffff;
            $bytes .= chr($x & 0xff);
        }
        $write->($garbage, $bytes);
    }
    $ENV{TEST_NGINX_TABLE_TRUNCATED} = $truncated;
    $ENV{TEST_NGINX_TABLE_GARBAGE} = $garbage;
}

# Snapshots go next to the server root (the real harness wants the server
# root to hold nothing but its own files), and start empty for each file.
{
    my $dir = $ENV{TEST_NGINX_SNAPSHOT_DIR} ||= server_root() . '-snapshots';
    File::Path::make_path($dir);
    if (opendir my $dh, $dir) {
        unlink map { "$dir/$_" } grep { /\.ipgeo$|^\..*\.tmp$/ } readdir $dh;
        closedir $dh;
    }
}

# The shipped declarations: Lua search paths for this checkout (written by
# `make build`) and the ipgeo_state shared dict.
our $HttpConfig = <<'_EOC_';
    include $TEST_NGINX_IPGEO_ROOT/nginx-conf/ipgeo_paths.conf;
    include $TEST_NGINX_IPGEO_ROOT/nginx-conf/ipgeo_http.conf;
_EOC_

# Lua test helpers, for the inside of an init_by_lua_block; blocks then
# `local H = require "t.helpers"`:
#   H.sh(cmd)             os.execute, raising unless it succeeded
#   H.copy(src, dst)      writes src's bytes into dst, opened with truncation
#                         (in place when dst exists, as cp(1) does)
#   H.replace(src, dst)   the way writers should: dst.tmp, then rename()
#   H.wait(cond, t)       polls cond() every 50 ms: seconds taken, or nil
#                         after t seconds
our $LuaHelpers = <<'_EOC_';
        local H = {}

        function H.sh(cmd)
            local rc = os.execute(cmd)
            if rc ~= 0 and rc ~= true then
                error("command failed (" .. tostring(rc) .. "): " .. cmd, 2)
            end
        end

        function H.copy(src, dst)
            local i = assert(io.open(src, "rb"))
            local data = i:read("*a")
            i:close()
            local o = assert(io.open(dst, "wb"))
            assert(o:write(data))
            assert(o:close())
        end

        function H.replace(src, dst)
            H.copy(src, dst .. ".tmp")
            assert(os.rename(dst .. ".tmp", dst))
        end

        function H.wait(cond, timeout)
            ngx.update_time()
            local t0 = ngx.now()
            while true do
                local ok = cond()
                ngx.update_time()
                local dt = ngx.now() - t0
                if ok then
                    return dt
                end
                if dt > timeout then
                    return nil
                end
                ngx.sleep(0.05)
            end
        end

        package.loaded["t.helpers"] = H
_EOC_

# ---------------------------------------------------------------------
# For the HTTP API's tests (t/100-*.t .. t/107-*.t). Nothing above depends
# on this section.
#
#   $TEST_NGINX_TABLE_API       t/data/api.csv: every field, values that need
#                               JSON escaping, extreme numbers; built with
#                               $t::Ipgeo::ApiAttribution as its attribution
#   $TEST_NGINX_TABLE_API_CHECKSUM
#   $t::Ipgeo::ApiInit          Lua for the inside of an init_by_lua_block:
#                               opens A as "default", B as "b", LANG as
#                               "lang" and API as "api"
#   $t::Ipgeo::ApiServer        nginx-conf/ipgeo_api_server.conf verbatim,
#                               except that it listens on
#                               127.0.0.1:$TEST_NGINX_RAND_PORT_1 instead of
#                               127.0.0.1:8080 (which other runs may hold);
#                               for an http_config. Its comments name
#                               ipgeo_paths.conf, so the defaults below do
#                               not add $HttpConfig: put it in front yourself.
#   $t::Ipgeo::LuaHttp          Lua for the inside of an init_by_lua_block
#                               that makes `require "t.http"` work:
#                               request(port, raw, timeout_ms, bind) sends raw
#                               bytes (from the local address `bind`, if
#                               given) and returns status, headers
#                               (lower-case names), body
our $ApiAttribution = 'Fixture data "A&B" \ ipgeo tests — CC0';

{
    my $out = "$tables/api.ipgeo";
    my $src = "$data/api.csv";
    my $mtime = (stat $out)[9];
    if (!defined $mtime || $mtime < (stat $src)[9] || $mtime < (stat $cli)[9]
        || $mtime < (stat __FILE__)[9])
    {
        my @cmd = ($cli, 'build', '-q', '--build-time', '1700000000', '--lang', 'en',
                   '--description', 'HTTP API fixture', '--attribution', $ApiAttribution,
                   '-o', $out, "api=$src?codes=false");
        my $shell = join ' ', map { (my $q = $_) =~ s/'/'\\''/g; "'$q'" } @cmd;
        my $log = `$shell 2>&1`;
        bail_out("t::Ipgeo: `@cmd` failed: $log") if $? != 0;
    }
    $ENV{TEST_NGINX_TABLE_API} = $out;
    $ENV{TEST_NGINX_TABLE_API_CHECKSUM} = $checksum->($out);
}

our $ApiInit = <<'_EOC_';
        require("ipgeo").init{ databases = {
            default = { path = "$TEST_NGINX_TABLE_A", snapshot_dir = "$TEST_NGINX_SNAPSHOT_DIR" },
            b = { path = "$TEST_NGINX_TABLE_B", snapshot_dir = "$TEST_NGINX_SNAPSHOT_DIR" },
            lang = { path = "$TEST_NGINX_TABLE_LANG", snapshot_dir = "$TEST_NGINX_SNAPSHOT_DIR" },
            api = { path = "$TEST_NGINX_TABLE_API", snapshot_dir = "$TEST_NGINX_SNAPSHOT_DIR" },
        } }
_EOC_

our $ApiServer;
{
    my $conf = "$root/nginx-conf/ipgeo_api_server.conf";
    open my $fh, '<', $conf or bail_out("t::Ipgeo: cannot read $conf: $!");
    local $/;
    $ApiServer = <$fh>;
    close $fh;
    my $n = ($ApiServer =~ s/^(\s*listen\s+)127\.0\.0\.1:8080\b/${1}127.0.0.1:\$TEST_NGINX_RAND_PORT_1/mg) || 0;
    bail_out("t::Ipgeo: $conf: expected one `listen 127.0.0.1:8080`, found $n") if $n != 1;
}

our $LuaHttp = <<'_EOC_';
        local T = {}

        -- Sends `raw` (a whole request, sent as given) on a new connection
        -- to 127.0.0.1:port, from the local address `bind` if given, and
        -- reads until the server closes it (send `Connection: close`).
        -- Returns status, headers (lower-case names, repeated ones joined
        -- with ", "), body (de-chunked); or nil, err.
        function T.request(port, raw, timeout, bind)
            local sock = ngx.socket.tcp()
            sock:settimeout(timeout or 5000)
            local ok, err
            if bind then
                ok, err = sock:bind(bind)
                if not ok then
                    return nil, "bind: " .. err
                end
            end
            ok, err = sock:connect("127.0.0.1", port)
            if not ok then
                return nil, "connect: " .. err
            end
            ok, err = sock:send(raw)
            if not ok then
                sock:close()
                return nil, "send: " .. err
            end
            local data, err, partial = sock:receive("*a")
            sock:close()
            if not data then
                return nil, "receive: " .. err .. " after " .. #(partial or "") .. " bytes"
            end
            local head, body = data:match("^(.-)\r\n\r\n(.*)$")
            if not head then
                return nil, "no header block in " .. #data .. " bytes"
            end
            local status = tonumber(head:match("^HTTP/1%.[01] (%d%d%d)"))
            if not status then
                return nil, "no status line"
            end
            local headers = {}
            for name, value in head:gmatch("\r\n([^:\r\n]+):[ \t]*([^\r\n]*)") do
                name = name:lower()
                headers[name] = headers[name] and (headers[name] .. ", " .. value) or value
            end
            if (headers["transfer-encoding"] or ""):lower():find("chunked", 1, true) then
                local parts, at = {}, 1
                while true do
                    local size, rest = body:match("^(%x+)[^\r\n]*\r\n()", at)
                    if not size then
                        return nil, "bad chunked body"
                    end
                    size = tonumber(size, 16)
                    if size == 0 then
                        break
                    end
                    parts[#parts + 1] = body:sub(rest, rest + size - 1)
                    at = rest + size + 2
                end
                body = table.concat(parts)
            elseif headers["content-length"] then
                body = body:sub(1, tonumber(headers["content-length"]))
            end
            return status, headers, body
        end

        package.loaded["t.http"] = T
_EOC_

add_block_preprocessor(sub {
    my $block = shift;

    my $http = $block->http_config;
    if (!defined $http) {
        $block->set_value('http_config', $HttpConfig);
    } elsif ($http !~ /ipgeo_paths\.conf/) {
        $block->set_value('http_config', $HttpConfig . $http);
    }

    if (!defined $block->request) {
        $block->set_value('request', 'GET /t');
    }

    if (!defined $block->error_log && !defined $block->no_error_log
        && !defined $block->must_die)
    {
        $block->set_value('no_error_log', "[error]\n[alert]\n[crit]");
    }
});

1;
