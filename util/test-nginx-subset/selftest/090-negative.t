# Self-test of the runner's failure paths. Fixture .t files (written to a
# temporary directory) are run in subprocesses -- with perl to inspect the
# exact TAP, and once with prove -- and we assert that wrong expectations
# really fail, with the real harness' messages, without hanging, and that
# nginx is always stopped afterwards. Also checks the generated nginx.conf
# layout, shuffling, ONLY, and the loud refusal of unsupported features.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use File::Spec;
use Cwd qw(abs_path);
use FindBin;
use Time::HiRes qw(time);

my $root = abs_path("$FindBin::Bin/..");
my $lib  = "$root/lib";
my $tmp  = tempdir('tnx-selftest-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $servroot = "$tmp/servroot";

my $common = <<'_EOC_';
use Test::Nginx::Socket::Lua 'no_plan';
repeat_each(1);
no_shuffle();
log_level('info');
run_tests();
__DATA__
_EOC_

sub write_file {
    my ($path, $text) = @_;
    open my $out, '>', $path or die "$path: $!";
    print $out $text;
    close $out;
}

# Runs a fixture; returns (output, exit code, seconds).
sub run_fixture {
    my ($name, $text, %env) = @_;
    write_file("$tmp/$name", $text);
    local %ENV = (%ENV, TEST_NGINX_SERVROOT => $servroot, %env);
    delete $ENV{$_} for grep { !defined $ENV{$_} } keys %ENV;
    my $t0 = time;
    my $out = `cd '$tmp' && '$^X' -I'$lib' '$name' 2>&1`;
    my $rc = $? >> 8;
    return ($out, $rc, time - $t0);
}

sub nginx_procs_under {
    my $dir = shift;
    my @found;
    for my $cmdfile (glob '/proc/[0-9]*/cmdline') {
        open my $in, '<', $cmdfile or next;
        my $cmd = do { local $/; <$in> } // '';
        close $in;
        next unless $cmd =~ /nginx/ && index($cmd, $dir) >= 0;
        my ($pid) = $cmdfile =~ m{/proc/(\d+)/};
        open my $st, '<', "/proc/$pid/stat" or next;
        my $stat = <$st> // '';
        close $st;
        next if $stat =~ /^\d+ \(.*\) [ZX] /s;
        push @found, $pid;
    }
    return @found;
}

sub has_line {
    my ($out, $re, $desc) = @_;
    like($out, $re, $desc) or diag("---- output ----\n$out");
}

# ------------------------------------------------------------------
# 1. A fixture whose blocks all contain failing expectations.
# ------------------------------------------------------------------
my $fail_t = $common . <<'_EOC_';

=== TEST 1: wrong body
--- config
    location = /t { content_by_lua_block { ngx.say("actual") } }
--- request
GET /t
--- response_body
expected



=== TEST 2: wrong status
--- config
    location = /t { return 404; }
--- request
GET /t



=== TEST 3: unexpected error line
--- config
    location = /t {
        content_by_lua_block { ngx.log(ngx.ERR, "boom") ngx.say("ok") }
    }
--- request
GET /t
--- response_body
ok
--- no_error_log
[error]



=== TEST 4: missing error_log pattern
--- config
    location = /t { content_by_lua_block { ngx.say("ok") } }
--- request
GET /t
--- response_body
ok
--- error_log
never-logged-xyz



=== TEST 5: header present although expected absent, wrong header value
--- config
    location = /t {
        content_by_lua_block { ngx.header["X-Foo"] = "real" ngx.say("ok") }
    }
--- request
GET /t
--- response_headers
!Content-Type
X-Foo: expected



=== TEST 6: grep_error_log_out mismatch
--- config
    location = /t {
        content_by_lua_block { ngx.log(ngx.WARN, "gr: 1") ngx.say("ok") }
    }
--- request
GET /t
--- grep_error_log eval: qr/gr: \d/
--- grep_error_log_out
gr: 2



=== TEST 7: response_body_like mismatch
--- config
    location = /t { content_by_lua_block { ngx.say("abc") } }
--- request
GET /t
--- response_body_like: ^xyz$



=== TEST 8: request timeout is a failure, not a hang
--- config
    location = /t { content_by_lua_block { ngx.sleep(1.5) ngx.say("late") } }
--- request
GET /t
--- timeout: 0.3
--- response_body
late



=== TEST 9: must_die, but nginx starts fine
--- config
    location = /t { return 200; }
--- must_die



=== TEST 10: nginx fails to start without must_die
--- config
    location = /t { this_directive_does_not_exist; }
--- request
GET /t
--- response_body
never



=== TEST 11: request array: second status differs
--- config
    location = /a { return 200 "a\n"; }
    location = /b { return 404; }
--- request eval
["GET /a", "GET /b"]
--- error_code eval
[200, 200]



=== TEST 12: pipelined: wrong second body
--- config
    location = /p { content_by_lua_block { ngx.say(ngx.var.arg_n) } }
--- pipelined_requests eval
["GET /p?n=1", "GET /p?n=2"]
--- response_body eval
["1\n", "3\n"]



=== TEST 13: a passing block after all the failures
--- config
    location = /t { content_by_lua_block { ngx.say("fine") } }
--- request
GET /t
--- response_body
fine
_EOC_

{
    my ($out, $rc, $secs) = run_fixture('fail.t', $fail_t);

    isnt($rc, 0, 'failing fixture exits non-zero');
    cmp_ok($secs, '<', 20, "failing fixture finishes quickly (${\ sprintf '%.1f', $secs}s)");

    my %expect_fail = (
        'wrong body - response_body - response is expected \(repeated req 0, req 0\)' => 1,
        'wrong status - status code ok' => 1,
        'unexpected error line - pattern "\[error\]" should not match any line in error.log but matches line .*boom' => 1,
        'missing error_log pattern - pattern "never-logged-xyz" should match a line in error.log \(req 0\)' => 1,
        'header present although expected absent, wrong header value - header Content-Type not present in the raw headers' => 1,
        'header present although expected absent, wrong header value - header X-Foo ok' => 1,
        'grep_error_log_out mismatch - grep_error_log_out \(req 0\)' => 1,
        'response_body_like mismatch - response_body_like - response is expected \(abc\)' => 1,
        'must_die, but nginx starts fine - die as expected' => 1,
        'nginx fails to start without must_die - nginx failed to start' => 1,
        'pipelined: wrong second body - response_body - response is expected \(repeated req 0, req 1\)' => 1,
    );
    for my $re (sort keys %expect_fail) {
        has_line($out, qr/^not ok \d+ - fail\.t TEST \d+: $re/m,
                 "reported as failing: $re");
    }

    has_line($out, qr/^not ok \d+ - ERROR: client socket timed out - fail\.t TEST 8: request timeout/m,
             'timeout reported with the real harness message');
    has_line($out, qr/unknown directive "this_directive_does_not_exist"/,
             'nginx stderr is shown when it fails to start');

    # exactly one failing status check in the request array (req 1)
    my @arr = $out =~ /^(not ok \d+ - fail\.t TEST 11: .*)$/mg;
    is(scalar(@arr), 1, 'request array: only the second request fails');
    has_line($out, qr/^ok \d+ - fail\.t TEST 11: .* - status code ok$/m,
             'request array: first request passes');

    # passing assertions inside failing blocks stay "ok"
    has_line($out, qr/^ok \d+ - fail\.t TEST 1: wrong body - status code ok$/m,
             'status code of the wrong-body block passes');
    has_line($out, qr/^ok \d+ - fail\.t TEST 12: .* - response_body - response is expected \(repeated req 0, req 0\)$/m,
             'first pipelined response passes');
    has_line($out, qr/^ok \d+ - fail\.t TEST 13: a passing block after all the failures - response_body/m,
             'a later block still runs and passes');

    is_deeply([nginx_procs_under($servroot)], [], 'no nginx left running');

    # the same file under prove: overall FAIL
    local %ENV = (%ENV, TEST_NGINX_SERVROOT => $servroot);
    my $prove = `cd '$tmp' && prove -I'$lib' fail.t 2>&1`;
    isnt($? >> 8, 0, 'prove exits non-zero');
    has_line($prove, qr/^Result: FAIL$/m, 'prove reports Result: FAIL');
}

# ------------------------------------------------------------------
# 2. die() after nginx was started: nginx must still be stopped.
# ------------------------------------------------------------------
{
    my $t = <<'_EOC_';
use Test::Nginx::Socket::Lua 'no_plan';
no_shuffle();
my $n = 0;
add_block_preprocessor(sub { die "deliberate death\n" if ++$n == 2 });
run_tests();
__DATA__

=== TEST 1: starts nginx
--- config
    location = /t { return 200 "ok\n"; }
--- request
GET /t
--- response_body
ok

=== TEST 2: dies in the preprocessor
--- config
    location = /t { return 200 "ok\n"; }
--- request
GET /t
_EOC_
    my ($out, $rc) = run_fixture('die.t', $t);
    isnt($rc, 0, 'dying fixture exits non-zero');
    has_line($out, qr/^ok 2 - die\.t TEST 1: starts nginx - response_body/m,
             'first block ran before the death');
    has_line($out, qr/deliberate death/, 'the death is reported');
    is_deeply([nginx_procs_under($servroot)], [], 'nginx stopped after die()');
}

# ------------------------------------------------------------------
# 3. Generated nginx.conf layout (line numbers as in the real harness).
# ------------------------------------------------------------------
sub conf_lines {
    open my $in, '<', "$servroot/conf/nginx.conf" or die $!;
    my @l = <$in>;
    close $in;
    chomp @l;
    return @l;
}

{
    my $mods = join ' ', map { "load_module $_;" } grep { length }
               split /\s+/, ($ENV{TEST_NGINX_LOAD_MODULES} // '');

    # a) no main_config / http_config: "--- config" starts at line 40
    my $t = <<'_EOC_';
use Test::Nginx::Socket::Lua 'no_plan';
run_tests();
__DATA__

=== TEST 1: layout
--- config
    location = /t { return 200 "ok\n"; }
--- request
GET /t
--- response_body
ok
_EOC_
    my ($out, $rc) = run_fixture('layout.t', $t);
    is($rc, 0, 'layout fixture passes') or diag($out);
    my @l = conf_lines();
    is($l[0], 'worker_processes  1;', 'line 1: worker_processes');
    is($l[1], 'daemon on;', 'line 2: daemon on');
    is($l[2], 'master_process off;', 'master_process off by default');
    like($l[3], qr{^error_log \Q$servroot\E/logs/error\.log debug;$},
         'error_log at debug level by default');
    like($l[4], qr{^pid\s+\Q$servroot\E/logs/nginx\.pid;$}, 'pid file');
    is($l[14], $mods, 'line 15: load_module directives, in order, one line');
    is($l[17], 'http {', 'line 18: http {');
    like($l[27], qr/^\s+listen\s+\d+;$/, 'line 28: listen');
    is($l[28], "        server_name     'localhost';", 'line 29: server_name');
    is($l[38], '        # Begin test case config...', 'line 39: config marker');
    is($l[39], '    location = /t { return 200 "ok\n"; }', 'line 40: config');
    like(join("\n", @l), qr!\n        location / \{\n            root \Q$servroot\E/html;\n!,
         'root location');
    like(join("\n", @l), qr/events \{\n    accept_mutex off;\n\n    worker_connections  64;\n\}/,
         'events block');
    is($l[-1], 'user root;', 'user root when running as root') if $> == 0;

    # b) main_config goes right after the load_module line, before http {}
    $t = <<'_EOC_';
use Test::Nginx::Socket::Lua 'no_plan';
run_tests();
__DATA__

=== TEST 1: layout with main_config and http_config
--- main_config
    env LAYOUT_MAIN;
--- http_config
    lua_shared_dict layout 1m;
--- config
    location = /t { return 200 "ok\n"; }
--- request
GET /t
--- response_body
ok
_EOC_
    ($out, $rc) = run_fixture('layout2.t', $t);
    is($rc, 0, 'layout fixture with main_config passes') or diag($out);
    @l = conf_lines();
    is($l[14], $mods, 'line 15: load_module directives');
    is($l[15], '    env LAYOUT_MAIN;', 'line 16: main_config');
    my ($http) = grep { $l[$_] eq 'http {' } 0 .. $#l;
    my ($dict) = grep { $l[$_] eq '    lua_shared_dict layout 1m;' } 0 .. $#l;
    my ($srv) = grep { $l[$_] eq '    server {' } 0 .. $#l;
    ok($http > 15 && $dict > $http && $srv > $dict,
       'http_config inside http {}, before server {}');
}

# ------------------------------------------------------------------
# 4. Shuffling: seed is reported on failure and replayable.
# ------------------------------------------------------------------
{
    my $t = "use Test::Nginx::Socket::Lua 'no_plan';\nrun_tests();\n__DATA__\n";
    for my $i (1 .. 6) {
        my $body = $i == 3 ? 'wrong' : "b$i";
        $t .= "\n=== TEST $i: block $i\n--- config\n"
            . "    location = /t { return 200 \"b$i\\n\"; }\n"
            . "--- request\nGET /t\n--- response_body\n$body\n";
    }
    my ($out1) = run_fixture('shuffle.t', $t, TEST_NGINX_SHUFFLE_SEED => 4242);
    my ($out2) = run_fixture('shuffle.t', $t, TEST_NGINX_SHUFFLE_SEED => 4242);
    my @o1 = $out1 =~ /^(?:not )?ok \d+ - shuffle\.t (TEST \d+):.*status code/mg;
    my @o2 = $out2 =~ /^(?:not )?ok \d+ - shuffle\.t (TEST \d+):.*status code/mg;
    is(scalar(@o1), 6, 'all shuffled blocks ran');
    is("@o1", "@o2", 'same seed, same order');
    isnt("@o1", join(' ', map { "TEST $_" } 1 .. 6),
         'seed 4242 does not give the file order');
    has_line($out1, qr/replay it with TEST_NGINX_SHUFFLE_SEED=4242/,
             'seed reported on failure');
    my ($out3) = run_fixture('shuffle.t', $t, TEST_NGINX_NO_SHUFFLE => 1);
    my @o3 = $out3 =~ /^(?:not )?ok \d+ - shuffle\.t (TEST \d+):.*status code/mg;
    is("@o3", join(' ', map { "TEST $_" } 1 .. 6),
       'TEST_NGINX_NO_SHUFFLE=1 keeps the file order');
}

# ------------------------------------------------------------------
# 5. ONLY (Test::Base): only that block runs.
# ------------------------------------------------------------------
{
    my $t = $common . <<'_EOC_';

=== TEST 1: not run
--- config
    location = /t { return 200 "one\n"; }
--- request
GET /t
--- response_body
one

=== TEST 2: the only one
--- ONLY
--- config
    location = /t { return 200 "two\n"; }
--- request
GET /t
--- response_body
two
_EOC_
    my ($out, $rc) = run_fixture('only.t', $t);
    is($rc, 0, 'ONLY fixture passes') or diag($out);
    unlike($out, qr/TEST 1/, 'other blocks are not run');
    like($out, qr/^ok 2 - only\.t TEST 2: the only one - response_body/m,
         'the ONLY block runs');
}

# ------------------------------------------------------------------
# 6. Like the real harness: $TEST_NGINX_HTML_DIR is not predefined, and a
#    missing $TEST_NGINX_* variable aborts the run.
# ------------------------------------------------------------------
{
    my $t = $common . <<'_EOC_';

=== TEST 1: uses an undefined variable
--- config
    location = /t { alias $TEST_NGINX_HTML_DIR/x; }
--- request
GET /t
_EOC_
    my ($out, $rc) = run_fixture('env.t', $t, TEST_NGINX_HTML_DIR => undef);
    isnt($rc, 0, 'undefined $TEST_NGINX_* variable fails');
    has_line($out, qr/^Bail out!.*No environment TEST_NGINX_HTML_DIR defined/m,
             'bails out like the real harness');
}

# ------------------------------------------------------------------
# 7. Unsupported features are refused loudly, not ignored.
# ------------------------------------------------------------------
{
    my $t = $common . <<'_EOC_';

=== TEST 1: tcp_listen is not implemented
--- config
    location = /t { return 200; }
--- tcp_listen: 12345
--- tcp_reply: hi
--- request
GET /t
_EOC_
    my ($out, $rc) = run_fixture('unsupported.t', $t);
    isnt($rc, 0, 'unsupported section fails');
    has_line($out, qr/^Bail out!.*'--- tcp_listen' is not implemented/m,
             'unsupported section is named');
}

is_deeply([nginx_procs_under($servroot)], [], 'no nginx left running at the end');

done_testing();
