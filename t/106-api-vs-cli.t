# ipgeo.api agrees with the CLI (`ipgeo lookup`) on 10,000 seeded addresses,
# through the shipped location (nginx-conf/ipgeo_api_location.conf: GET
# twice, so that answer() in the rewrite phase answers the second pass):
# the same ip, network and field values (numbers compared as numbers, names
# objects compared), 404 not_found where the CLI says "not found"; a batch
# answers each address as GET does.
#
# TEST 1 uses a table generated here (t/tables/api-cmp.ipgeo, from a seeded
# CSV: overlapping IPv4 and IPv6 networks, every field, three languages, so
# `names` and language fallback are compared too); TEST 2 uses DB-IP City
# Lite ($IPGEO_DATA/dbip.ipgeo, built by `make data`: CI has it) and is
# skipped with a note when that table is absent. The CLI's answers are
# computed by this file's Perl part, before nginx starts, into t/tables/.
use lib '.';
use t::Ipgeo 'no_plan';

use Socket qw(AF_INET6 inet_ntop);

repeat_each(1);

my $root = $ENV{TEST_NGINX_IPGEO_ROOT};
my $cli = $ENV{IPGEO_CLI} || "$root/target/release/ipgeo";
my $tables = "$root/t/tables";

# xorshift32: deterministic, and no call to rand (that would move the
# harness's shuffling seed).
my $x = 88172645;
sub rnd {
    my $n = shift;
    $x ^= ($x << 13) & 0xffffffff;
    $x ^= $x >> 17;
    $x ^= ($x << 5) & 0xffffffff;
    return $x % $n;
}
sub pick { return $_[rnd(scalar @_)] }

sub write_file {
    my ($path, $bytes) = @_;
    open my $fh, '>:raw', "$path.$$.tmp" or bail_out("cannot write $path.$$.tmp: $!");
    print {$fh} $bytes;
    close $fh or bail_out("cannot write $path.$$.tmp: $!");
    rename "$path.$$.tmp", $path or bail_out("cannot rename $path.$$.tmp: $!");
}

sub read_file {
    my $path = shift;
    open my $fh, '<:raw', $path or return undef;
    local $/;
    my $s = <$fh>;
    close $fh;
    return $s;
}

sub shell_quote { join ' ', map { (my $q = $_) =~ s/'/'\\''/g; "'$q'" } @_ }

# The CLI's answers for @$addrs (one JSON line each, in order) into $out.
sub cli_answers {
    my ($table, $addrs, $out, @opts) = @_;
    write_file("$out.in", join('', map { "$_\n" } @$addrs));
    my $cmd = shell_quote($cli, 'lookup', '-d', $table, @opts) . " < " . shell_quote("$out.in")
              . " > " . shell_quote("$out.$$.tmp") . " 2>&1";
    system($cmd) == 0 or bail_out("`$cmd` failed: " . (read_file("$out.$$.tmp") // ''));
    my $lines = () = read_file("$out.$$.tmp") =~ /\n/g;
    bail_out("`$cmd` printed $lines lines for " . scalar(@$addrs) . " addresses")
        if $lines != @$addrs;
    rename "$out.$$.tmp", $out or bail_out("cannot rename $out.$$.tmp: $!");
    unlink "$out.in";
}

sub ipv4 { join '.', map { ($_[0] >> (24 - 8 * $_)) & 255 } 0 .. 3 }

sub ipv6 {    # from 8 16-bit groups, in one of three spellings
    my @g = @_;
    my $text = inet_ntop(AF_INET6, pack('n8', @g));
    my $k = rnd(5);
    return uc $text if $k == 0;
    return join ':', map { sprintf '%04x', $_ } @g if $k == 1;
    return $text;
}

# --- TEST 1's table: seeded networks with every kind of field --------------

my @NAMES = ('Springfield', 'São Paulo', 'Zürich', 'Kraków', "O'Fallon", 'Say "x"', 'a\\b',
             'Ḩalab', 'Ōsaka', 'Đà Nẵng', 'Reykjavík', 'Tab	Town');
my @ZH = ('北京', '上海', '广州', '深圳', '杭州', '南京', '成都', '武汉');
my @DE = ('München', 'Köln', 'Wien', 'Genf', 'Mailand');
my @TZ = ('Europe/Berlin', 'Asia/Shanghai', 'America/Sao_Paulo', 'Etc/GMT+12', 'UTC');

my (@v4nets, @v6nets);
{
    my @rows;
    my $cell = sub {    # a quoted CSV cell, or empty (absent) one time in four
        my $v = shift;
        return '' if rnd(4) == 0;
        $v =~ s/"/""/g;
        return qq{"$v"};
    };
    my $num = sub {
        my ($lo, $hi) = @_;
        my $digits = rnd(9);
        my $v = $lo + ($hi - $lo) * rnd(1_000_000_007) / 1_000_000_007;
        return sprintf('%.*f', $digits, $v);
    };
    my $record = sub {
        return join ',',
            $cell->(chr(65 + rnd(26)) . chr(65 + rnd(26))),
            $cell->(pick(@NAMES) . ' Land'), $cell->(pick(@ZH) . '国'),
            $cell->(pick(@NAMES)), $cell->(pick(@ZH) . '省'),
            $cell->(pick(@NAMES)), $cell->(pick(@ZH)), $cell->(pick(@DE)),
            $cell->(pick(1, 11, 110000, 'X-1')), $cell->(pick(@NAMES) . ' Net'),
            (rnd(4) ? pick(0, 1, 64512, 4294967295, rnd(4000000000)) : ''),
            (rnd(4) ? $num->(-90, 90) : ''), (rnd(4) ? $num->(-180, 180) : ''),
            (rnd(4) ? pick(0, 1, 5, 100, 1000, 65535) : ''),
            $cell->(pick(@TZ)), $cell->(sprintf '%05d', rnd(100000));
    };
    for (1 .. 1500) {
        my $len = pick(8, 12, 16, 16, 20, 22, 24, 24, 24, 26, 28, 30, 32);
        my $base = (rnd(0xffffffff) >> (32 - $len)) << (32 - $len);
        $base &= 0xffffffff;
        push @v4nets, [$base, $len];
        push @rows, ipv4($base) . "/$len," . $record->();
    }
    for (1 .. 1200) {
        # Mostly inside 2001:db8::/32, some in 2400::/12.
        my @g = rnd(6) ? (0x2001, 0x0db8) : (0x2400 + rnd(16), rnd(65536));
        push @g, rnd(65536) for 1 .. 6;
        my $len = $g[0] == 0x2001 ? pick(33, 40, 44, 48, 48, 52, 56, 60, 64) : pick(20, 24, 28, 32);
        my $keep = $len;
        for my $i (0 .. 7) {    # clear the host bits
            my $bits = $keep >= 16 ? 16 : $keep > 0 ? $keep : 0;
            $g[$i] &= (0xffff << (16 - $bits)) & 0xffff;
            $keep -= 16;
        }
        push @v6nets, [[@g], $len];
        push @rows, inet_ntop(AF_INET6, pack('n8', @g)) . "/$len," . $record->();
    }
    my $csv = "# Generated by t/106-api-vs-cli.t (seeded): do not edit.\n"
        . "network,country_code,country\@en,country\@zh-CN,province\@en,province\@zh-CN,"
        . "city\@en,city\@zh-CN,city\@de,city_code,isp,asn,latitude,longitude,accuracy_radius,"
        . "timezone,postal_code\n" . join('', map { "$_\n" } @rows);
    my $src = "$tables/api-cmp.csv";
    my $out = "$tables/api-cmp.ipgeo";
    my $old = read_file($src);
    write_file($src, $csv) if !defined $old || $old ne $csv;
    my $mtime = (stat $out)[9];
    if (!defined $mtime || $mtime < (stat $src)[9] || $mtime < (stat $cli)[9]) {
        my $cmd = shell_quote($cli, 'build', '-q', '--build-time', '1700000000',
                              '--lang', 'en,zh-CN,de', '--attribution', 'Seeded test data',
                              '-o', $out, "cmp=$src") . ' 2>&1';
        my $log = `$cmd`;
        bail_out("`$cmd` failed: $log") if $? != 0;
    }
    $ENV{TEST_NGINX_CMP_TABLE} = $out;
}

{
    my @addrs;
    for my $i (1 .. 10000) {
        my $k = rnd(10);
        if ($k < 3) {           # inside an IPv4 network
            my ($base, $len) = @{ pick(@v4nets) };
            my $host = $len == 32 ? 0 : rnd(2 ** (32 - $len));
            my $a = ipv4($base + $host);
            push @addrs, rnd(5) ? $a : "::ffff:$a";
        } elsif ($k < 5) {      # inside an IPv6 network
            my ($g, $len) = @{ pick(@v6nets) };
            my @g = @$g;
            for my $j (0 .. 7) {
                my $fixed = $len - 16 * $j;
                next if $fixed >= 16;
                my $free = $fixed > 0 ? 16 - $fixed : 16;
                $g[$j] |= rnd(2 ** $free);
            }
            push @addrs, ipv6(@g);
        } elsif ($k < 8) {      # anywhere in IPv4
            push @addrs, ipv4(rnd(0xffffffff));
        } elsif ($k < 9) {      # anywhere in 2001:db8::/32
            push @addrs, ipv6(0x2001, 0x0db8, map { rnd(65536) } 1 .. 6);
        } else {                # anywhere in IPv6
            push @addrs, ipv6(map { rnd(65536) } 1 .. 8);
        }
    }
    my $out = "$tables/api-vs-cli-cmp.jsonl";
    cli_answers($ENV{TEST_NGINX_CMP_TABLE}, \@addrs, $out, '--all-languages');
    $ENV{TEST_NGINX_CMP_CLI} = $out;
}

# --- TEST 2: DB-IP City Lite, when `make data` has built it -----------------

our $DbipAbsent;
{
    my $dbip = ($ENV{IPGEO_DATA} || "$root/data") . "/dbip.ipgeo";
    $ENV{TEST_NGINX_DBIP_TABLE} = $dbip;
    $ENV{TEST_NGINX_DBIP_CLI} = "$tables/api-vs-cli-dbip.jsonl";
    if (!-f $dbip) {
        $DbipAbsent = 1;
        Test::More::diag("t/106-api-vs-cli.t: $dbip is absent (run `make data`): "
                         . "TEST 2 (DB-IP) is skipped");
    } else {
        # Allocated IPv6 space (RIR /12s), so that most addresses have data.
        my @v6heads = (0x2001, 0x2003, (map { 0x2400 + $_ } 0 .. 15), (map { 0x2600 + $_ } 0 .. 15),
                       (map { 0x2800 + $_ } 0 .. 15), (map { 0x2a00 + $_ } 0 .. 15),
                       (map { 0x2c00 + $_ } 0 .. 15));
        my @addrs;
        for my $i (1 .. 10000) {
            my $k = rnd(20);
            if ($k < 12) {
                push @addrs, ipv4(rnd(0xffffffff));
            } elsif ($k < 17) {
                push @addrs, ipv6(pick(@v6heads), map { rnd(65536) } 1 .. 7);
            } elsif ($k < 18) {
                push @addrs, '::ffff:' . ipv4(rnd(0xffffffff));
            } elsif ($k < 19) {     # 6to4: the table aliases 2002::/16 to IPv4
                push @addrs, ipv6(0x2002, rnd(65536), rnd(65536), map { rnd(65536) } 1 .. 5);
            } else {                # Teredo (2001::/32)
                push @addrs, ipv6(0x2001, 0, map { rnd(65536) } 1 .. 6);
            }
        }
        my $langs = `'$cli' info '$dbip' 2>&1`;
        # names only when some field is stored in more than one language
        my %seen;
        my $multi = grep { $seen{$_}++ } ($langs =~ /^columns:(.*)$/m ? $1 : '') =~ /(\w+)@/g;
        cli_answers($dbip, \@addrs, $ENV{TEST_NGINX_DBIP_CLI}, $multi ? ('--all-languages') : ());
    }
}

our $Compare = <<'_EOC_';
        local cjson = require "cjson.safe"
        local M = {}

        local function same(a, b)
            if type(a) ~= type(b) then
                return false
            end
            if type(a) ~= "table" then
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

        -- What differs between the API's answer (status, decoded body) and
        -- the CLI's line, or nil.
        local function differ(status, api, cli, attribution)
            if type(api) ~= "table" then
                return "not JSON"
            end
            if cli.error == "not found" then
                if status ~= 404 or api.error ~= "not_found" or api.ip ~= cli.ip then
                    return "CLI: not found; API: " .. status .. " " .. tostring(api.error)
                end
                return nil
            end
            if cli.error then
                return "CLI: " .. cli.error
            end
            if status ~= 200 then
                return "status " .. status .. " " .. tostring(api.error)
            end
            for k, v in pairs(cli) do
                local w = api[k]
                if type(v) == "number" then
                    if type(w) ~= "number" or w ~= v then
                        return k .. ": " .. tostring(w) .. " ~= " .. tostring(v)
                    end
                elseif not same(v, w) then
                    return k .. ": " .. cjson.encode(w) .. " ~= " .. cjson.encode(v)
                end
            end
            for k in pairs(api) do
                if cli[k] == nil and k ~= "attribution" then
                    return "extra field " .. k
                end
            end
            if api.attribution ~= attribution then
                return "attribution " .. tostring(api.attribution)
            end
            return nil
        end

        -- Compares the API (GET, then POST batches of 100) with the CLI's
        -- answers in `path`, on database `name`.
        function M.run(path, name)
            local db = require("ipgeo").get(name)
            local meta = cjson.decode(db:info().meta or "{}") or {}
            local attribution = type(meta.attribution) == "string" and meta.attribution or nil
            local lines = {}
            for line in io.lines(path) do
                lines[#lines + 1] = assert(cjson.decode(line), line)
            end
            local found, bad, examples = 0, 0, {}
            local function note(ip, why)
                bad = bad + 1
                if #examples < 10 then
                    examples[#examples + 1] = ip .. ": " .. why
                end
            end
            -- GET twice: the first pass caches each record's JSON (in
            -- serve()); in the second, answer() sends every address with
            -- data from the rewrite phase (with Content-Length).
            local rewrite_phase = 0
            for pass = 1, 2 do
                for _, cli in ipairs(lines) do
                    -- Pass 1 percent-encodes (IPv6's colons: serve() decodes
                    -- them), pass 2 sends the address as it is.
                    local args = pass == 1 and { ip = cli.ip, db = name } or ("ip=" .. cli.ip .. "&db=" .. name)
                    local res = ngx.location.capture("/api/ip_query", { args = args })
                    local why = differ(res.status, cjson.decode(res.body), cli, attribution)
                    if why then
                        note(cli.ip, "GET pass " .. pass .. ": " .. why)
                    end
                    if pass == 2 then
                        if not cli.error then
                            found = found + 1
                        end
                        if tonumber(res.header["Content-Length"]) == #res.body and res.status == 200 then
                            rewrite_phase = rewrite_phase + 1
                        end
                    end
                end
            end
            local batches = 0
            for first = 1, #lines, 100 do
                local ips = {}
                for i = first, math.min(first + 99, #lines) do
                    ips[#ips + 1] = lines[i].ip
                end
                local res = ngx.location.capture("/api/ip_query", {
                    method = ngx.HTTP_POST, body = cjson.encode{ ips = ips, db = name } })
                local doc = cjson.decode(res.body)
                batches = batches + 1
                if res.status ~= 200 or type(doc) ~= "table" or #doc.results ~= #ips then
                    note(ips[1], "batch: " .. res.status)
                else
                    local errors = {}
                    for _, e in ipairs(doc.errors) do
                        errors[e.index + 1] = e
                    end
                    if doc.attribution ~= attribution then
                        note(ips[1], "batch attribution " .. tostring(doc.attribution))
                    end
                    for j, item in ipairs(doc.results) do
                        local cli = lines[first + j - 1]
                        local why
                        if item == cjson.null then
                            local e = errors[j] or {}
                            why = differ(e.error == "not_found" and 404 or 400,
                                         { error = e.error, ip = cli.ip }, cli, attribution)
                        else
                            item.attribution = attribution
                            why = differ(200, item, cli, attribution)
                        end
                        if why then
                            note(cli.ip, "batch: " .. why)
                        end
                    end
                end
            end
            ngx.say("addresses: ", #lines)
            ngx.say("batches: ", batches)
            ngx.say("with data: over a third: ", found > #lines / 3, ", not all: ", found < #lines)
            ngx.say("second GET pass, answered in the rewrite phase: all with data: ", rewrite_phase == found)
            ngx.say("differences from the CLI: ", bad)
            for _, e in ipairs(examples) do
                ngx.say("  ", e)
            end
        end

        package.loaded["t.compare"] = M
_EOC_

run_tests();

__DATA__

=== TEST 1: the API and `ipgeo lookup --all-languages` agree on 10,000 addresses of a seeded table (GET and batches)
--- http_config eval
"    init_by_lua_block {\n" . $::Compare . <<'_EOC_';
        require("ipgeo").init{ databases = {
            cmp = { path = "$TEST_NGINX_CMP_TABLE", snapshot_dir = "$TEST_NGINX_SNAPSHOT_DIR" },
        } }
    }
_EOC_
--- config
    location = /api/ip_query {
        include $TEST_NGINX_IPGEO_ROOT/nginx-conf/ipgeo_api_location.conf;
    }
    location = /t {
        content_by_lua_block { require("t.compare").run("$TEST_NGINX_CMP_CLI", "cmp") }
    }
--- request
GET /t
--- timeout: 60
--- response_body
addresses: 10000
batches: 100
with data: over a third: true, not all: true
second GET pass, answered in the rewrite phase: all with data: true
differences from the CLI: 0



=== TEST 2: the API and `ipgeo lookup` agree on 10,000 seeded addresses of DB-IP City Lite (GET and batches)
--- skip_eval: 5: $::DbipAbsent
--- http_config eval
"    init_by_lua_block {\n" . $::Compare . <<'_EOC_';
        require("ipgeo").init{ databases = {
            dbip = { path = "$TEST_NGINX_DBIP_TABLE", snapshot_dir = "$TEST_NGINX_SNAPSHOT_DIR" },
        } }
    }
_EOC_
--- config
    location = /api/ip_query {
        include $TEST_NGINX_IPGEO_ROOT/nginx-conf/ipgeo_api_location.conf;
    }
    location = /t {
        content_by_lua_block { require("t.compare").run("$TEST_NGINX_DBIP_CLI", "dbip") }
    }
--- request
GET /t
--- timeout: 60
--- response_body
addresses: 10000
batches: 100
with data: over a third: true, not all: true
second GET pass, answered in the rewrite phase: all with data: true
differences from the CLI: 0
