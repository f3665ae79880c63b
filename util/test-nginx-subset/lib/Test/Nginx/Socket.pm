package Test::Nginx::Socket;

# =====================================================================
#  THIS IS NOT openresty/test-nginx.
#
#  This is ipgeo's minimal, independent re-implementation of a
#  documented SUBSET of Test::Nginx::Socket (openresty/test-nginx,
#  CPAN distribution "Test-Nginx"), written so that ipgeo's t/*.t files
#  -- which are written in genuine Test::Nginx::Socket::Lua format --
#  can run on machines where the real Test::Nginx cannot be installed.
#  The real module stays the reference: whenever this file and the real
#  harness disagree, the real harness is right and this file has a bug.
#  Our Makefile puts util/test-nginx-subset/lib on PERL5LIB only when
#  `perl -MTest::Nginx::Socket::Lua -e1` fails.
#
#  Supported subset (semantics follow Test::Nginx 0.29's Socket.pm/Util.pm;
#  see util/test-nginx-subset/README.md for details and known differences):
#
#   import forms  use Test::Nginx::Socket::Lua 'no_plan';
#                 use Test::Nginx::Socket::Lua; plan tests => N;
#                 use Test::Nginx::Socket::Lua -Base;   (wrapper modules)
#   functions     run_tests repeat_each workers master_on master_off
#                 master_process_enabled no_shuffle log_level
#                 no_long_string no_root_location add_block_preprocessor
#                 add_response_body_check add_cleanup_handler env_to_nginx
#                 html_dir server_root server_port server_port_for_client
#                 server_name server_addr worker_connections timeout
#                 check_accum_error_log config_preamble is_str bail_out
#                 + everything Test::Base exports (blocks, plan, is, ok,
#                 like, unlike, pass, fail, diag, skip, no_diff, ...)
#   sections      main_config http_config config post_main_config
#                 server_name request (string or eval arrayref of strings)
#                 pipelined_requests raw_request raw_request_middle_delay
#                 more_headers response_body response_body_like
#                 response_body_unlike error_code error_code_like
#                 response_headers response_headers_like
#                 raw_response_headers_like raw_response_headers_unlike
#                 error_log no_error_log grep_error_log grep_error_log_out
#                 must_die timeout abort shutdown wait user_files log_level
#                 ignore_response http09 skip_nginx skip_eval error_log_file
#                 server_addr_for_client ONLY SKIP LAST (via Test::Base)
#                 curl / ignore_response_body / no_check_leak are accepted
#                 and have no effect here (as for the real harness without
#                 the corresponding testing modes / wrapper conventions).
#   environment   TEST_NGINX_BINARY TEST_NGINX_LOAD_MODULES TEST_NGINX_PORT
#                 TEST_NGINX_SERVER_PORT TEST_NGINX_CLIENT_PORT
#                 TEST_NGINX_SERVROOT TEST_NGINX_RANDOMIZE TEST_NGINX_NO_SHUFFLE
#                 TEST_NGINX_NO_CLEAN TEST_NGINX_TIMEOUT TEST_NGINX_SLEEP
#                 TEST_NGINX_LOG_LEVEL TEST_NGINX_MASTER_PROCESS
#                 TEST_NGINX_WORKER_USER TEST_NGINX_EVENT_TYPE
#                 TEST_NGINX_REUSE_PORT TEST_NGINX_ERROR_LOG
#                 TEST_NGINX_CHECK_ACCUM_ERR_LOG
#                 TEST_NGINX_INIT_BY_LUA (Socket/Lua.pm) TEST_NGINX_VERBOSE
#                 TEST_NGINX_SHUFFLE_SEED (ipgeo extension), and $TEST_NGINX_*
#                 expansion (incl. TEST_NGINX_RAND_PORT_<n>) in the config
#                 sections and user_files.
#
#  Anything else that the real harness implements (HUP/valgrind/stap/
#  check-leak/benchmark/http2/http3 modes, embedded tcp/udp servers,
#  access_log checks, response_body_filters, request packets, ...) is NOT
#  implemented; using it makes this runner bail out loudly instead of
#  silently doing something different.
# =====================================================================

use strict;
use warnings;

# "-base" (lower case) makes this package a Test::Base subclass and
# imports Test::Base's exports, exactly like the real module's
# "use Test::Base -Base", but without Spiffy's source filter (which would
# inject "my $self = shift;" into our subs).
use Test::Base -base;

use Test::LongString ();
use POSIX ();
use Time::HiRes ();
use IO::Socket::INET ();
use IO::Select ();
use File::Path qw(make_path remove_tree);
use File::Spec ();
use List::Util ();
use Scalar::Util qw(looks_like_number);
use Errno ();

our $VERSION = '0.29_ipgeo_subset_1';

our @EXPORT = qw(
    run_tests repeat_each workers master_on master_off
    master_process_enabled no_shuffle log_level no_long_string
    no_root_location add_block_preprocessor add_response_body_check
    add_cleanup_handler env_to_nginx html_dir server_root server_port
    server_port_for_client server_name server_addr worker_connections
    timeout check_accum_error_log config_preamble is_str bail_out
);

# ---------------------------------------------------------------------
# Global settings (same defaults / environment variables as the real one)
# ---------------------------------------------------------------------

our $Verbose            = $ENV{TEST_NGINX_VERBOSE};
our $RepeatEach         = 1;
our $Workers            = 1;
our $WorkerConnections  = 64;
our $LogLevel           = $ENV{TEST_NGINX_LOG_LEVEL} || 'debug';
our $MasterProcessEnabled = $ENV{TEST_NGINX_MASTER_PROCESS} || 'off';
our $NoShuffle          = $ENV{TEST_NGINX_NO_SHUFFLE} || 0;
our $NoRootLocation     = 0;
our $NoLongString       = undef;
our $CheckAccumErrLog   = $ENV{TEST_NGINX_CHECK_ACCUM_ERR_LOG};
our $Timeout            = $ENV{TEST_NGINX_TIMEOUT} || 3;
our $TestNginxSleep     = $ENV{TEST_NGINX_SLEEP} || 0.015;
our $ServerAddr         = '127.0.0.1';
our $ServerName         = 'localhost';
our $Randomize          = $ENV{TEST_NGINX_RANDOMIZE};
our $ServerPort         = $ENV{TEST_NGINX_SERVER_PORT} || $ENV{TEST_NGINX_PORT} || 1984;
our $ServerPortForClient = $ENV{TEST_NGINX_CLIENT_PORT} || $ServerPort || 1984;
our $NginxBinary        = $ENV{TEST_NGINX_BINARY} || 'nginx';
our $LoadModules        = $ENV{TEST_NGINX_LOAD_MODULES};
our $EventType          = $ENV{TEST_NGINX_EVENT_TYPE};
our $ReusePort          = $ENV{TEST_NGINX_REUSE_PORT};
our $WorkerUser         = $ENV{TEST_NGINX_WORKER_USER};
our $ConfigPreamble     = '';
our $FilterHttpConfig;          # set by Test::Nginx::Socket::Lua
our (@EnvToNginx, @BlockPreprocessors, @CleanupHandlers, @ResponseBodyChecks);

our ($NginxVersion, $NginxRawVersion, $PrevConfig, $ErrLogFilePos);
our $TotalConnectingTimeouts = 0;
our $MainPid = $$;
our ($ShuffleSeed, $Shuffled);

if (defined $WorkerUser && $WorkerUser !~ /^\w+(?:\s+\w+)?$/) {
    die "Bad value in the env TEST_NGINX_WORKER_USER: $WorkerUser\n";
}

if ($Randomize) {
    $ServerPort = gen_rand_port(1000, {})
        or die "Cannot find an available listening port number.\n";
    $ServerPortForClient = $ServerPort;
}

our $ServRoot = $Randomize
    ? File::Spec->rel2abs("t/servroot_$ServerPort")
    : ($ENV{TEST_NGINX_SERVROOT} || File::Spec->rel2abs('t/servroot'));
$ServRoot = File::Spec->rel2abs($ServRoot);
$ServRoot =~ s{/+$}{};
$ENV{TEST_NGINX_SERVER_ROOT} = $ServRoot;
# NOTE: like the real harness we do NOT set TEST_NGINX_HTML_DIR; test files
# do `$ENV{TEST_NGINX_HTML_DIR} ||= html_dir();` themselves.

our $LogDir     = "$ServRoot/logs";
our $ErrLogFile = "$LogDir/error.log";
our $AccLogFile = "$LogDir/access.log";
our $HtmlDir    = "$ServRoot/html";
our $ConfDir    = "$ServRoot/conf";
our $ConfFile   = "$ConfDir/nginx.conf";
our $PidFile    = "$LogDir/nginx.pid";

# Known sections / modes of the real harness that this subset does not
# implement: we refuse them loudly rather than silently ignoring them.
my @UnsupportedSections = qw(
    http2 http3 curl_protocol curl_options curl_error
    stap stap_out stap_out_like stap_out_unlike
    tcp_listen tcp_reply tcp_query tcp_query_len tcp_reply_delay
    tcp_shutdown tcp_shutdown_delay tcp_no_close
    udp_listen udp_reply udp_query udp_reply_delay
    response_body_filters access_log no_access_log
    shutdown_error_log no_shutdown_error_log init todo todo_nginx
    skip_nginx2 skip_openssl skip_slave request_eval response_body_eval
    charset reload_fails quic_max_idle_timeout
);
my @UnsupportedEnv = qw(
    TEST_NGINX_USE_HUP TEST_NGINX_USE_VALGRIND TEST_NGINX_USE_STAP
    TEST_NGINX_USE_RR TEST_NGINX_CHECK_LEAK TEST_NGINX_BENCHMARK
    TEST_NGINX_USE_HTTP2 TEST_NGINX_USE_HTTP3 TEST_NGINX_NO_NGINX_MANAGER
    TEST_NGINX_IGNORE_MISSING_DIRECTIVES TEST_NGINX_POSTPONE_OUTPUT
);

# ---------------------------------------------------------------------
# Exported configuration functions (same prototypes as the real ones)
# ---------------------------------------------------------------------

sub repeat_each (@) { $RepeatEach = shift if @_; return $RepeatEach }
sub workers (@) { $Workers = shift if @_; $Workers }
sub worker_connections (@) { $WorkerConnections = shift if @_; $WorkerConnections }
sub master_on () { $MasterProcessEnabled = 'on' }
sub master_off () { $MasterProcessEnabled = 'off' }
sub master_process_enabled (@) {
    $MasterProcessEnabled = shift() ? 'on' : 'off' if @_;
    return $MasterProcessEnabled;
}
sub no_shuffle () { $NoShuffle = 1 }
sub log_level (@) { $LogLevel = shift if @_; $LogLevel }
sub no_long_string () { $NoLongString = 1 }
sub no_root_location () { $NoRootLocation = 1 }
sub check_accum_error_log () { $CheckAccumErrLog = 1 }
sub config_preamble ($) { $ConfigPreamble = shift }
sub timeout (@) { $Timeout = shift if @_; $Timeout }
sub html_dir () { $HtmlDir }
sub server_root () { $ServRoot }
sub server_port (@) { $ServerPort = shift if @_; $ServerPort }
sub server_port_for_client (@) {
    $ServerPortForClient = shift if @_;
    $ServerPortForClient;
}
sub server_name (@) { $ServerName = shift if @_; $ServerName }
sub server_addr (@) { $ServerAddr = shift if @_; $ServerAddr }

# Like the real one: the preprocessor added last runs first.
sub add_block_preprocessor (&) { unshift @BlockPreprocessors, shift }
sub add_cleanup_handler ($) { unshift @CleanupHandlers, shift }
sub add_response_body_check ($) { push @ResponseBodyChecks, shift }
sub set_http_config_filter ($) { $FilterHttpConfig = shift }

sub env_to_nginx (@) {
    croak "env_to_nginx: no arguments specified" unless @_;
    for my $v (@_) {
        croak "env_to_nginx: bad argument value: $v\n"
            if $v !~ /^[A-Za-z_]/ || $v =~ /\n/;
        push @EnvToNginx, $v;
    }
}

sub is_str (@) {
    my ($got, $expected, $desc) = @_;
    return Test::More::like($got, $expected, $desc)
        if ref $expected && ref $expected eq 'Regexp';
    return Test::More::is($got, $expected, $desc) if $NoLongString;
    return Test::LongString::is_string($got, $expected, $desc);
}

sub bail_out (@) {
    cleanup();
    Test::More::BAIL_OUT(join '', @_);
}

# ---------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------

sub vwarn { warn @_ if $Verbose }

sub parse_time ($) {
    my $tm = shift;
    return $tm unless defined $tm;
    if ($tm =~ s/([^_a-zA-Z])ms$/$1/) { $tm = $tm / 1000 }
    else { $tm =~ s/([^_a-zA-Z])s$/$1/ }
    return $tm;
}

sub trim ($) {
    my $s = shift;
    return undef unless defined $s;
    $s =~ s/^\s+|\s+$//g;
    $s =~ s/\n/ /gs;
    $s =~ s/\s{2,}/ /gs;
    return $s;
}

sub fmt_str ($) {
    my $s = shift;
    chomp $s;
    $s =~ s/"/\\"/g;
    $s =~ s/\r/\\r/g;
    $s =~ s/\n/\\n/g;
    return $s;
}

sub is_running ($) {
    my $pid = shift;
    return 0 unless defined $pid && $pid =~ /^\d+$/ && kill(0, $pid);
    # A daemonized nginx is not our child: once it has exited it may stay
    # a zombie until init reaps it (slowly, in some containers). Dead is dead.
    if (open my $in, '<', "/proc/$pid/stat") {
        my $stat = <$in> // '';
        close $in;
        return 0 if $stat =~ /^\d+ \(.*\) [ZX] /s;
    }
    return 1;
}

sub gen_rand_port {
    my ($tries, $used) = @_;
    for (1 .. $tries) {
        my $port = int(rand 63550) + 1985;
        next if $used->{$port};
        my $sock = IO::Socket::INET->new(
            LocalAddr => $ServerAddr, LocalPort => $port,
            Proto => 'tcp', Listen => 1, ReuseAddr => 1,
        ) or next;
        close $sock;
        return $port;
    }
    return undef;
}

sub get_canon_version (@) { sprintf "%d.%03d%03d", $_[0], $_[1], $_[2] }

sub resolve_nginx_binary {
    my $bin = $NginxBinary;
    if ($bin =~ m{/}) { return -f $bin && -x _ ? $bin : undef }
    for my $dir (split(/:/, $ENV{PATH} // ''), '.') {
        next if $dir eq '';
        my $abs = "$dir/$bin";
        return $abs if -f $abs && -x _;
    }
    # ipgeo addition: Debian keeps nginx in /usr/sbin, often not on a
    # non-root user's PATH.
    return '/usr/sbin/nginx'
        if $bin eq 'nginx' && -f '/usr/sbin/nginx' && -x _;
    return undef;
}

sub get_nginx_version () {
    my $bin = resolve_nginx_binary()
        or bail_out("Cannot find the nginx executable \"$NginxBinary\" "
                    . "(set TEST_NGINX_BINARY or PATH)");
    $NginxBinary = $bin;
    my $out = `'$bin' -V 2>&1`;
    if (!defined $out || $? != 0) {
        bail_out("Failed to get the version of the nginx ($bin): "
                 . ($out // ''));
    }
    if ($out =~ m{(?:nginx|openresty)[^/]*/(\d+)\.(\d+)\.(\d+)}s
        || $out =~ m{\w+/(\d+)\.(\d+)\.(\d+)}s)
    {
        $NginxRawVersion = "$1.$2.$3";
        return get_canon_version($1, $2, $3);
    }
    bail_out("Failed to parse the output of \"nginx -V\": $out\n");
}

sub expand_env_in_text ($$$) {
    my ($text, $name, $rand_ports) = @_;
    return undef unless defined $text;
    my %used = ($ServerPort => 1, map { $_ => 1 } values %$rand_ports);
    $text =~ s{\$(TEST_NGINX_[_A-Z0-9]+)}{
        my $var = $1;
        my $val;
        if ($var =~ /^TEST_NGINX_RAND_PORT_[0-9]+$/) {
            if (!defined $rand_ports->{$var}) {
                my $p = gen_rand_port(1000, \%used);
                bail_out("$name - Cannot find an available listening port "
                         . "number for $var.\n") unless defined $p;
                $rand_ports->{$var} = $p;
                $used{$p} = 1;
            }
            $val = $rand_ports->{$var};
        } else {
            bail_out("$name - No environment $var defined.\n")
                unless defined $ENV{$var};
            $val = $ENV{$var};
        }
        $val;
    }ge;
    return $text;
}

# ---------------------------------------------------------------------
# nginx process management
# ---------------------------------------------------------------------

sub read_pid_file {
    open my $in, '<', $PidFile or return undef;
    my $pid = do { local $/; <$in> };
    close $in;
    return undef unless defined $pid;
    $pid =~ s/\s+//g;
    return $pid =~ /^\d+$/ ? $pid : undef;
}

# Safety net (ipgeo addition): never signal a PID from a stale pid file
# that has been reused by some unrelated process.
sub looks_like_nginx ($) {
    my $pid = shift;
    open my $in, '<', "/proc/$pid/cmdline" or return 1;   # no /proc: trust
    my $cmd = do { local $/; <$in> } // '';
    close $in;
    return $cmd =~ /nginx/ || index($cmd, $ServRoot) >= 0;
}

sub wait_gone ($$) {
    my ($pid, $secs) = @_;
    my $deadline = Time::HiRes::time() + $secs;
    while (is_running($pid)) {
        waitpid($pid, POSIX::WNOHANG());
        return 0 if Time::HiRes::time() > $deadline;
        Time::HiRes::sleep(0.02);
    }
    return 1;
}

# QUIT (graceful), then TERM, then KILL (the whole process group when the
# master is a group leader, so orphaned workers cannot keep the port).
sub kill_process ($$) {
    my ($pid, $name) = @_;
    return unless is_running($pid);
    vwarn("sending QUIT signal to $pid\n");
    kill 'QUIT', $pid;
    return if wait_gone($pid, timeout());
    warn "$name - timeout when waiting for the process $pid to exit\n";
    kill 'TERM', $pid;
    return if wait_gone($pid, 1);
    warn "$name - WARNING: killing the child process $pid with force...\n";
    my $pgrp = getpgrp($pid);
    if (defined $pgrp && $pgrp == $pid) { kill 'KILL', -$pid }
    else { kill 'KILL', $pid }
    wait_gone($pid, 2);
}

sub stop_nginx ($) {
    my $name = shift;
    return unless -f $PidFile;
    my $pid = read_pid_file();
    if (is_running($pid) && looks_like_nginx($pid)) {
        kill_process($pid, $name);
    }
    unlink $PidFile if -f $PidFile && !is_running($pid);
}

sub cleanup () {
    $_->() for @CleanupHandlers;
}

# Runs the nginx binary (which daemonizes unless it fails); returns
# ($status, $stderr_text, $exec_failed).
sub run_nginx_binary {
    my @cmd = ($NginxBinary, '-p', "$ServRoot/", '-c', $ConfFile);
    # nginx >= 1.19.5: make the *startup* error log go to our error.log
    # (OpenResty's nginx uses the prefix-relative logs/error.log for that,
    # Debian's uses /var/log/nginx/error.log); see README.
    push @cmd, '-e', $ErrLogFile
        if defined $NginxVersion && $NginxVersion >= 1.019005;
    my $errfile = "$LogDir/nginx-start.stderr";
    vwarn("command: @cmd\n");
    my $pid = fork();
    if (!defined $pid) { return (-1, "fork() failed: $!", 1) }
    if ($pid == 0) {
        # Keep the daemon away from prove's pipes: stdout to /dev/null,
        # stderr to a file we read back.
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', '/dev/null';
        open STDERR, '>', $errfile;
        { no warnings 'exec'; exec { $cmd[0] } @cmd; }
        POSIX::_exit(127);
    }
    my $status;
    {
        my $deadline = Time::HiRes::time() + 30;
        while (1) {
            my $r = waitpid($pid, POSIX::WNOHANG());
            if ($r == $pid) { $status = $?; last }
            if ($r == -1) { $status = -1; last }
            if (Time::HiRes::time() > $deadline) {
                kill 'KILL', $pid;
                waitpid($pid, 0);
                $status = -1;
                last;
            }
            Time::HiRes::sleep(0.005);
        }
    }
    my $stderr = '';
    if (open my $in, '<', $errfile) {
        local $/;
        $stderr = <$in> // '';
        close $in;
    }
    unlink $errfile;
    my $exec_failed = ($status == -1 || ($status >> 8) == 127 && $stderr eq '');
    return ($status, $stderr, $exec_failed);
}

# ---------------------------------------------------------------------
# Server root, user files, nginx.conf
# ---------------------------------------------------------------------

sub setup_server_root () {
    if (-d $ServRoot) {
        # Only remove what we create ourselves, so that a misused
        # TEST_NGINX_SERVROOT cannot wipe real data.
        remove_tree($ConfDir, $HtmlDir, $LogDir,
                    glob("$ServRoot/*_temp"), glob("$ServRoot/*_cache"));
    }
    for my $d ($ServRoot, $LogDir, $HtmlDir, $ConfDir) {
        next if -d $d;
        make_path($d) or bail_out("Failed to do mkdir $d\n");
    }
    my $index = "$HtmlDir/index.html";
    open my $out, '>', $index or bail_out("Can't open $index for writing: $!\n");
    print $out '<html><head><title>It works!</title></head>'
             . '<body>It works!</body></html>';
    close $out;
}

sub write_user_files ($$) {
    my ($block, $rand_ports) = @_;
    my $name = $block->name;
    my $files = $block->user_files;
    return unless $files;

    if (!ref $files) {
        my @list;
        my ($fname, $body, $date);
        for my $line (split /^/m, $files) {
            # (unanchored, exactly like the real harness)
            if ($line =~ />>> (\S+)(?:\s+(.+))?/) {
                push @list, [$fname, $body, $date] if $fname;
                ($fname, $date, $body) = ($1, $2, undef);
            } else {
                $body .= $line;
            }
        }
        push @list, [$fname, $body, $date] if $fname;
        $files = \@list;
    } elsif (ref $files ne 'ARRAY') {
        bail_out("$name - wrong value type: ", ref $files,
                 ", only scalar or ARRAY are accepted");
    }

    for my $file (@$files) {
        my ($fname, $body, $date) = @$file;
        $body = '' unless defined $body;
        my $path = $fname =~ m{^/} ? $fname : "$HtmlDir/$fname";
        if ($path =~ m{(.*)/} && !-d $1) {
            make_path($1) or bail_out("$name - Cannot create directory $1");
        }
        $body = expand_env_in_text($body, $name, $rand_ports);
        open my $out, '>', $path
            or bail_out("$name - Cannot open $path for writing: $!\n");
        binmode $out;
        print $out $body;
        close $out;
        if ($date) {
            local $ENV{TZ} = 'GMT';
            system('touch', '-t', $date, $path) == 0
                or bail_out("Failed to run: touch -t '$date' $path\n");
        }
    }
}

# The layout (including blank and comment lines) mirrors the real
# template line by line, so "nginx.conf:NN" line numbers in error
# messages are the same as under the real harness.
sub write_config_file ($$$) {
    my ($block, $config, $rand_ports) = @_;
    my $name = $block->name;

    my $http_config = expand_env_in_text($block->http_config, $name, $rand_ports);
    my $main_config = expand_env_in_text($block->main_config, $name, $rand_ports);
    my $post_main   = expand_env_in_text($block->post_main_config, $name, $rand_ports);
    $config      = '' unless defined $config;
    $http_config = '' unless defined $http_config;
    $main_config = '' unless defined $main_config;
    $post_main   = '' unless defined $post_main;
    $http_config = $FilterHttpConfig->($http_config) if $FilterHttpConfig;

    my $err_log_file = $block->error_log_file || $ErrLogFile;
    my $server_name = $block->server_name;
    $server_name = $ServerName unless defined $server_name;

    # TEST_NGINX_LOAD_MODULES: load_module directives, in the given order,
    # on the blank line right before --- main_config: top level, before
    # main_config (and any stream {} in it) and before http {}, without
    # shifting any line number (cf. test-nginx issue #69, PRs #84/#187).
    my $load_modules = '';
    if ($LoadModules) {
        $load_modules = join ' ', map { "load_module $_;" }
                                  grep { length } split /\s+/, $LoadModules;
    }

    my $listen_opts = $ReusePort ? ' reuseport' : '';

    my @env = map { /\s/ ? "env '$_';" : "env $_;" } @EnvToNginx;

    my $root_location = $NoRootLocation ? '' : <<"_EOC_";
        location / {
            root $HtmlDir;
            index index.html index.htm;
        }
_EOC_

    my $events_use = $EventType ? "    use $EventType;\n" : '';

    my $user = '';
    if (defined $WorkerUser) { $user = "user $WorkerUser;\n" }
    elsif ($> == 0) { $user = "user root;\n" }

    my $conf = join '', map { "$_\n" } (
        "worker_processes  $Workers;",
        "daemon on;",
        "master_process $MasterProcessEnabled;",
        "error_log $err_log_file $LogLevel;",
        "pid       $PidFile;",
        "env MOCKEAGAIN_VERBOSE;",
        "env MOCKEAGAIN;",
        "env MOCKEAGAIN_WRITE_TIMEOUT_PATTERN;",
        "env LD_PRELOAD;",
        "env LD_LIBRARY_PATH;",
        "env DYLD_INSERT_LIBRARIES;",
        "env DYLD_FORCE_FLAT_NAMESPACE;",
        @env,
        "#env LUA_PATH;",
        "#env LUA_CPATH;",
        $load_modules,
        $main_config,
        "",
        "http {",
        "    access_log $AccLogFile;",
        "    #access_log off;",
        "",
        "    default_type text/plain;",
        "    keepalive_timeout  68;",
        "",
        $http_config,
        "",
        "    server {",
        "        listen          $ServerPort$listen_opts;",
        "        server_name     '$server_name';",
        "",
        "        client_max_body_size 30M;",
        "        #client_body_buffer_size 4k;",
        "",
        "",
        "        # Begin preamble config...",
        $ConfigPreamble,
        "        # End preamble config...",
        "",
        "        # Begin test case config...",
        $config,
        "        # End test case config.",
        "",
    );
    $conf .= $root_location;
    $conf .= "    }\n}\n\n$post_main\n\n#timer_resolution 100ms;\n\n"
           . "events {\n    accept_mutex off;\n\n"
           . "    worker_connections  $WorkerConnections;\n$events_use}\n"
           . "env ASAN_OPTIONS;\nenv MOCKNOEAGAIN_VERBOSE;\nenv MOCKNOEAGAIN;\n"
           . $user;

    open my $out, '>', $ConfFile
        or bail_out("Can't open $ConfFile for writing: $!\n");
    print $out $conf;
    close $out;
}

# ---------------------------------------------------------------------
# Main loop
# ---------------------------------------------------------------------

sub run_tests () {
    for my $env (@UnsupportedEnv) {
        bail_out("$env is set, but that testing mode is not implemented by "
                 . "ipgeo's Test::Nginx subset (util/test-nginx-subset)")
            if $ENV{$env};
    }
    if (defined $ENV{TEST_NGINX_FORCE_RESTART_ON_TEST}
        && !$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST})
    {
        bail_out("TEST_NGINX_FORCE_RESTART_ON_TEST=0 is not implemented by "
                 . "ipgeo's Test::Nginx subset");
    }

    $NginxVersion = get_nginx_version();
    $ENV{TEST_NGINX_SERVER_PORT} = $ServerPort
        unless defined $ENV{TEST_NGINX_SERVER_PORT};

    my @blocks = Test::Base::blocks();
    if (!$NoShuffle) {
        # The real harness does `srand $$` + List::Util::shuffle and
        # never tells you the order; we report the seed (and accept
        # TEST_NGINX_SHUFFLE_SEED) so a failing order can be replayed.
        $ShuffleSeed = $ENV{TEST_NGINX_SHUFFLE_SEED};
        $ShuffleSeed = $$ unless defined $ShuffleSeed && $ShuffleSeed =~ /^\d+$/;
        srand $ShuffleSeed;
        @blocks = List::Util::shuffle(@blocks);
        $Shuffled = 1;
        Test::More::note("blocks shuffled with TEST_NGINX_SHUFFLE_SEED=$ShuffleSeed");
    }

    for my $block (@blocks) {
        $_->($block) for @BlockPreprocessors;
        $block->set_value('name', "$0 " . $block->name);
        run_test($block);
    }

    cleanup();
}

sub check_unsupported_sections ($) {
    my $block = shift;
    for my $sec (@UnsupportedSections) {
        next unless exists $block->{$sec};
        bail_out($block->name . " - section '--- $sec' is not implemented by "
                 . "ipgeo's Test::Nginx subset (util/test-nginx-subset); "
                 . "run this file under the real Test::Nginx");
    }
}

# Returns ($tests_to_skip, $should_skip, $reason).
sub skip_spec ($) {
    my $block = shift;
    my $name = $block->name;
    my ($n, $skip, $reason);

    if (defined(my $spec = $block->skip_eval)) {
        if ($spec =~ /^\s*(\d+)\s*:\s*(.*)/s) {
            ($n, my $code) = ($1, $2);
            $reason = 'skip_eval';
            $skip = eval $code;
            bail_out("$name - skip_eval - failed to eval the Perl code "
                     . "\"$code\": $@") if $@;
        }
    }

    if (defined(my $spec = $block->skip_nginx)) {
        if ($spec =~ /^\s*(\d+)\s*:\s*([<>]=?)\s*(\d+)\.(\d+)\.(\d+)
                      (?:\s*:\s*(.*))?\s*$/x)
        {
            $n = $1;
            my ($op, $ver) = ($2, get_canon_version($3, $4, $5));
            $reason = $6 || "nginx version $op $3.$4.$5";
            my %cmp = (
                '<'  => sub { $_[0] <  $_[1] }, '<=' => sub { $_[0] <= $_[1] },
                '>'  => sub { $_[0] >  $_[1] }, '>=' => sub { $_[0] >= $_[1] },
            );
            $skip = 1 if (!defined $NginxVersion && $op =~ /^</)
                      || (defined $NginxVersion && $cmp{$op}->($NginxVersion, $ver));
        } else {
            bail_out("$name - Invalid --- skip_nginx spec: $spec");
        }
    }

    $reason = 'various reasons' unless defined $reason;
    return ($n, $skip, $reason);
}

sub run_test ($) {
    my $block = shift;
    my $name = $block->name;

    check_unsupported_sections($block);

    my $rand_ports = {};
    my $config = expand_env_in_text($block->config, $name, $rand_ports);

    local $LogLevel = $LogLevel;
    $LogLevel = $block->log_level if $block->log_level;

    my ($tests_to_skip, $should_skip, $skip_reason) = skip_spec($block);

    my $should_restart = 1;
    if (!defined $config) {
        # Like the real harness: no "--- config" means "keep using the
        # nginx started for a previous block".
        bail_out("$name - No '--- config' section specified and could not "
                 . "get previous one.") unless defined $PrevConfig;
        $should_restart = 0;
    }

    if (!$should_skip && $should_restart) {
        $PrevConfig = $config;
        stop_nginx($name);
        setup_server_root();
        write_user_files($block, $rand_ports);
        write_config_file($block, $config, $rand_ports);

        if (defined $block->must_die) {
            run_must_die($block);
            append_total_error_log($block);
            return;
        }

        if (!start_nginx($block)) {
            append_total_error_log($block);
            return;
        }
    }

    $ErrLogFilePos = 0;
    for my $i (1 .. $RepeatEach) {
        vwarn("Run the test block $name ...\n");
        write_user_files($block, $rand_ports) if $i > 1;

        if ($should_skip && defined $tests_to_skip) {
            Test::More->builder->skip("$name - $skip_reason")
                for 1 .. $tests_to_skip;
            next;
        }

        run_test_helper($block, 0, $i - 1);
    }

    append_total_error_log($block);
}

sub append_total_error_log ($) {
    my $block = shift;
    my $total = $ENV{TEST_NGINX_ERROR_LOG} or return;
    return unless -s $ErrLogFile;
    open my $out, '>>', $total
        or bail_out("Failed to append test case title to $total: $!\n");
    print $out "\n=== $0 ", $block->name, "\n";
    if (open my $in, '<', $ErrLogFile) {
        local $/;
        print $out scalar(<$in>) // '';
        close $in;
    }
    close $out;
}

sub start_nginx ($) {
    my $block = shift;
    my $name = $block->name;
    my $waited = 0;
    while (1) {
        my ($status, $stderr, $exec_failed) = run_nginx_binary();
        if ($status == 0) {
            Time::HiRes::sleep($TestNginxSleep);
            return 1;
        }
        # The real harness retries for up to 30 s and then bails out;
        # we only retry while the port is still busy, then fail the block.
        if (!$exec_failed && $stderr =~ /Address already in use/ && $waited < 10) {
            Time::HiRes::sleep(0.2);
            $waited += 0.2;
            next;
        }
        my $why = $exec_failed ? 'failed to execute' : 'status ' . ($status >> 8);
        $stderr =~ s/\s+\z//;
        Test::More::fail("$name - nginx failed to start ($why): "
                         . "$NginxBinary -p $ServRoot/ -c $ConfFile");
        Test::More::diag("nginx stderr:\n$stderr") if length $stderr;
        return 0;
    }
}

sub run_must_die ($) {
    my $block = shift;
    my $name = $block->name;
    my $must_die = $block->must_die;

    $ErrLogFilePos = 0;
    for my $i (0 .. $RepeatEach - 1) {
        my ($status, $stderr, $exec_failed) = run_nginx_binary();
        Test::More::note("$name - nginx stderr: $stderr") if length $stderr;
        my $exit_code = $status == -1 ? undef : ($status >> 8);
        my $coredump = $status != -1 && ($status & 128);

        if ($exec_failed) {
            Test::More::fail("$name - failed to execute the nginx command line");
        } elsif ($coredump) {
            Test::More::fail("$name - nginx core dumped");
        } elsif (looks_like_number($must_die)) {
            Test::More::is($must_die, $exit_code,
                           "$name - die with the expected exit code");
        } else {
            Test::More::isnt($status, 0, "$name - die as expected");
        }

        check_error_log($block, undef, 0, $i, 0);

        if ($status == 0) {
            warn "WARNING: $name - nginx must die but it does not; "
               . "killing it (req $i)\n";
            for (1 .. 15) { last if -f $PidFile; Time::HiRes::sleep($TestNginxSleep) }
            stop_nginx($name);
        }
    }
}

# ---------------------------------------------------------------------
# Requests
# ---------------------------------------------------------------------

sub parse_more_headers ($) {
    my $in = shift;
    my ($out, $is_chunked) = ('', undef);
    for my $header (split /\n+/, $in) {
        next if $header =~ /^\s*\#/;
        my ($key, $val) = split /:\s*/, $header, 2;
        $val = '' unless defined $val;
        $is_chunked = 1 if lc($key) eq 'transfer-encoding' && $val eq 'chunked';
        $out .= "$key: $val\r\n";
    }
    return ($out, $is_chunked);
}

# One request string in test-nginx syntax ("METHOD [URI [VERSION]]" on the
# first line, optional body on the following lines) -> raw HTTP request.
sub build_request ($$$$$) {
    my ($name, $more_headers, $is_chunked, $conn, $req) = @_;
    $req = '' unless defined $req;
    my ($first, $content) = $req =~ /\A([^\n]*\n?)(.*)\z/s;
    bail_out("$name - Request line should be non-empty") if !$first;
    $first =~ /^(\s*)(\S+)( *)((\S+)( *))?((\S+)( *))?(\s*)$/
        or bail_out("$name - Request line is not valid. Should be "
                    . "'meth [url [version]]' but got \"$first\".");
    my ($meth, $url, $ver) = ($2, $5, $8);
    $url = '/' unless defined $url;
    $ver = 'HTTP/1.1' unless defined $ver;

    my $len_header = '';
    if (!$is_chunked && $content ne ''
        && $more_headers !~ /(?:^|\n)Content-Length:/)
    {
        $content =~ s/^\s+|\s+$//gs;
        $len_header = "Content-Length: " . length($content) . "\r\n";
    }

    $more_headers =~ s/(?<!\r)\n/\r\n/gs;
    my $headers = '';
    $headers .= "Host: $ServerName\r\n"
        if $more_headers !~ /(?:^|\n)Host:/msi;
    $headers .= "Connection: $conn\r\n"
        if $more_headers !~ /(?:^|\n)Connection/msi;
    $headers .= "$more_headers$len_header\r\n";

    return "$meth $url $ver\r\n$headers$content";
}

sub more_headers_for ($$$) {
    my ($name, $more_headers, $i) = @_;
    if (ref $more_headers eq 'ARRAY') {
        my $hdr = $more_headers->[$i];
        bail_out("--- more_headers lacks data for the ${i}th request")
            unless defined $hdr;
        return parse_more_headers($hdr);
    }
    return parse_more_headers($more_headers);
}

# Returns a list of requests; each is an arrayref of strings that are
# written with separate syswrite() calls on one connection.
sub get_req_from_block ($) {
    my $block = shift;
    my $name = $block->name;

    if (defined(my $raw = $block->raw_request)) {
        return [ ref $raw eq 'ARRAY' ? [@$raw] : [$raw] ];
    }

    my $request = $block->request;
    if (defined $request && !ref $request) {
        1 while $request =~ s/^\s*\#[^\n]+\s+|^\s+//gs;
    }
    my $more_headers = $block->more_headers || '';

    if (my $reqs = $block->pipelined_requests) {
        bail_out("$name - invalid entries in --- pipelined_requests")
            if ref $reqs ne 'ARRAY';
        my $all = '';
        for my $i (0 .. $#$reqs) {
            my $conn = $i == $#$reqs ? 'close' : 'keep-alive';
            my ($hdr, $chunked) = more_headers_for($name, $more_headers, $i);
            $all .= build_request($name, $hdr, $chunked, $conn, $reqs->[$i]);
        }
        return [ [$all] ];
    }

    if (!ref $request) {
        my ($hdr, $chunked) = more_headers_for($name, $more_headers, 0);
        return [ [ build_request($name, $hdr, $chunked, 'close', $request) ] ];
    }

    if (ref $request eq 'ARRAY') {
        my @list;
        for my $i (0 .. $#$request) {
            my $one = $request->[$i];
            bail_out("$name - request packets (nested arrays in --- request) "
                     . "are not implemented by ipgeo's Test::Nginx subset")
                if ref $one;
            my ($hdr, $chunked) = more_headers_for($name, $more_headers, $i);
            push @list, [ build_request($name, $hdr, $chunked, 'close', $one) ];
        }
        return \@list;
    }

    bail_out("$name - invalid ---request : MUST be string or array of requests");
}

sub connect_to_server ($$) {
    my ($name, $timeout) = @_;
    my $addr = $ServerAddr;
    my $port = $ServerPortForClient;
    for (my $tries = 1; ; $tries++) {
        my $sock = IO::Socket::INET->new(
            PeerAddr => $addr, PeerPort => $port, Proto => 'tcp',
            Timeout => $timeout,
        );
        return $sock if $sock;
        my $err = "$!";
        my $total = $TotalConnectingTimeouts ? 20 : 50;
        my $pid = read_pid_file();
        # ipgeo addition: give up at once when our nginx is gone.
        my $gone = -f $ConfFile && !(defined $pid && is_running($pid));
        if ($tries > $total || ($gone && $tries > 6)) {
            my $msg = "$name - Can't connect to $addr:$port: $err (aborted)"
                    . ($gone ? " - nginx is not running" : '') . "\n";
            if (++$TotalConnectingTimeouts < 3) { Test::More::fail($msg) }
            else { bail_out($msg) }
            return undef;
        }
        my $wait = ($TestNginxSleep + $TestNginxSleep * $tries) * $tries / 2;
        $wait = 1 if $wait > 1;
        warn "$name - Can't connect to $addr:$port: $err\n\tRetry connecting "
           . "after $wait sec\n" if $wait >= 0.6;
        Time::HiRes::sleep($wait);
    }
}

# Sends the request pieces on one connection and reads until the server
# closes it. `timeout` is the maximum idle time between two I/O events,
# as in the real harness (plus an overall safety cap, see README).
sub send_request ($$$$) {
    my ($pieces, $middle_delay, $timeout, $block) = @_;
    my $name = $block->name;
    my @todo = @$pieces;

    my $sock = connect_to_server($name, $timeout) or return undef;
    $sock->blocking(0);

    my $resp = '';
    my $buf = shift @todo;
    $buf = '' unless defined $buf;
    my $off = 0;
    my $writing = 1;
    # ipgeo safety net: a server that trickles bytes forever must not hang
    # the run either.
    my $cap = $timeout * 10 > 30 ? $timeout * 10 : 30;
    my $deadline = Time::HiRes::time() + $cap;
    my $sel = IO::Select->new($sock);

    while (1) {
        $! = 0;
        my ($r, $w) = IO::Select->select($sel, $writing ? $sel : undef, undef,
                                         $timeout);
        if (!$r && !$w) {
            next if $!{EINTR} && Time::HiRes::time() < $deadline;
            close $sock;
            if (!defined $block->abort) {
                Test::More::fail("ERROR: client socket timed out - $name\n");
            }
            last;
        }

        if ($w && @$w) {
            while (1) {
                my $rest = length($buf) - $off;
                if ($rest > 0) {
                    my $n = syswrite($sock, $buf, $rest, $off);
                    if (!defined $n) {
                        last if $!{EAGAIN} || $!{EWOULDBLOCK};
                        warn "write failed: $!\n";
                        $resp = "write failed: $!" if $resp eq '';
                        $writing = 0;
                        last;
                    }
                    $off += $n;
                    next;
                }
                if (!@todo) {
                    $writing = 0;
                    if (defined(my $sd = $block->shutdown)) {
                        $sd = 1 if $sd =~ /^\s*$/s;
                        shutdown($sock, $sd);
                    }
                    last;
                }
                ($buf, $off) = (shift(@todo), 0);
                Time::HiRes::sleep($middle_delay) if $middle_delay;
            }
        }

        if ($r && @$r) {
            my $done = 0;
            while (1) {
                my $n = sysread($sock, my $chunk, 4096);
                if (!defined $n) {
                    last if $!{EAGAIN} || $!{EWOULDBLOCK};
                    warn "WARNING: $name - HTTP response read failure: $!\n";
                    $done = 1;
                    last;
                }
                if ($n == 0) { $done = 1; last }
                $resp .= $chunk;
            }
            last if $done;
        }

        if (Time::HiRes::time() > $deadline) {
            Test::More::fail("ERROR: client socket timed out (response not "
                             . "complete after ${cap}s) - $name\n")
                unless defined $block->abort;
            last;
        }
    }
    close $sock;
    return $resp;
}

# ---------------------------------------------------------------------
# Responses
# ---------------------------------------------------------------------

{
    package Test::Nginx::Socket::Response;
    sub new { my ($class, %a) = @_; return bless { headers => [], %a }, $class }
    sub code { $_[0]{code} }
    sub content { my $s = shift; $s->{content} = shift if @_; $s->{content} }
    # Like HTTP::Headers::header() in scalar context: case-insensitive,
    # "_" in the looked-up name means "-", multiple fields joined by ", ",
    # undef when absent.
    sub header {
        my ($s, $key) = @_;
        $key =~ tr/_/-/ if $key !~ /^:/;
        my @v = map { $_->[1] } grep { lc $_->[0] eq lc $key } @{ $s->{headers} };
        return @v ? join(', ', @v) : undef;
    }
}

# Mirrors the real parse_response() (which uses HTTP::Response->parse):
# returns ($res, $raw_headers, $left) where $left is what follows the
# response (for pipelined requests).
sub parse_response ($$$) {
    my ($name, $raw, $head_req) = @_;

    my $raw_headers = $raw =~ /(.*?\r\n)\r\n/s ? $1 : '';

    my ($status_line, $rest) = $raw =~ /\A([^\n]*)\n?(.*)\z/s;
    $status_line =~ s/\r\z//;
    my $code;
    if ($status_line =~ /^\d{3} /) { ($code) = split ' ', $status_line, 2 }
    else { (undef, $code) = split ' ', $status_line, 3 }
    undef $code if defined $code && $code !~ /^\d+$/;

    my @headers;
    while (1) {
        if ($rest =~ s/^([^\s:]+)[ \t]*: ?(.*)\n?//) {
            my ($k, $v) = ($1, $2);
            $v =~ s/\r\z//;
            push @headers, [$k, $v];
        } elsif (@headers && $rest =~ s/^([ \t].*)\n?//) {
            (my $cont = $1) =~ s/\r\z//;
            $headers[-1][1] .= "\n$cont";
        } else {
            last;
        }
    }
    $rest =~ s/^\r?\n//;

    my $res = Test::Nginx::Socket::Response->new(
        code => $code, headers => \@headers, content => $rest,
    );

    return ($res, $raw_headers) if $code && ($code == 304 || $code == 101);

    my $left;
    my $enc = $res->header('Transfer-Encoding');
    my $len = $res->header('Content-Length');

    if (defined $enc && $enc eq 'chunked') {
        my $body = $res->content;
        $body = '' unless defined $body;
        my $decoded = '';
        while (1) {
            if ($body =~ /\G 0 [\ \t]* \r\n \r\n /gcsx) {
                $left = $1 if $body =~ /\G (.+) /gcsx;
                last;
            }
            if ($body =~ /\G [\ \t]* ([A-Fa-f0-9]+) [\ \t]* \r\n /gcsx) {
                my $size = hex $1;
                my $pos = pos $body;
                if (length($body) - $pos < $size) {
                    Test::More::fail("$name - invalid chunked data received "
                                     . "(not enought octets for the data section)");
                    return;
                }
                $decoded .= substr($body, $pos, $size);
                pos($body) = $pos + $size;
                if ($body !~ /\G\r\n/gcs) {
                    Test::More::fail("$name - invalid chunked data received "
                                     . "(expected CRLF).");
                    return;
                }
            } elsif ($body =~ /\G(.+)/gcs) {
                Test::More::fail("$name - invalid chunked body received: $1");
                return;
            } else {
                Test::More::fail("$name - no last chunk found - $body");
                return;
            }
        }
        $res->content($decoded);

    } elsif (defined $len && $len =~ /^\s*\d+\s*$/) {
        my $body = $res->content;
        if (length $body < $len) {
            warn "WARNING: $name - response body truncated: $len expected, "
               . "but got ", length $body, "\n" unless $head_req;
        } elsif (length $body > $len) {
            $left = substr $body, $len;
            $res->content(substr $body, 0, $len);
        }
    }

    return ($res, $raw_headers, $left);
}

sub get_indexed_value ($$$$) {
    my ($name, $value, $req_idx, $need_array) = @_;
    if ($need_array) {
        return $value->[$req_idx] if ref $value && ref $value eq 'ARRAY';
        bail_out("$name - You asked for many requests, the expected results "
                 . "should be arrays as well.");
    }
    if (ref $value && ref $value eq 'ARRAY') {
        bail_out("$name - SHOULD NOT HAPPEN: idx != 0 and don't need array.")
            if $req_idx != 0;
        return $value->[0];
    }
    return $value;
}

# "Name: value" lines -> ordered [key, value] pairs; "!Name" -> value undef.
# One subtest per distinct name (the real one uses a hash).
sub parse_headers ($) {
    my $s = shift;
    my (%seen, @order);
    for my $line (split /\n/, $s) {
        $line =~ s/^\s+|\s+$//g;
        next if $line eq '';
        my ($key, $val);
        if ($line =~ s/^!\s*//) { ($key, $val) = ($line, undef) }
        else { ($key, $val) = split /\s*:\s*/, $line, 2 }
        push @order, $key unless exists $seen{$key};
        $seen{$key} = $val;
    }
    return [ map { [$_, $seen{$_}] } @order ];
}

sub check_error_code ($$$$$) {
    my ($block, $res, $dry_run, $req_idx, $need_array) = @_;
    my $name = $block->name;
    my $got = ($res && $res->code) || '';
    if (defined $block->error_code_like) {
        my $val = get_indexed_value($name, $block->error_code_like, $req_idx, $need_array);
        like($got, qr/$val/sm, "$name - status code ok");
    } elsif (defined $block->error_code) {
        is($got, get_indexed_value($name, $block->error_code, $req_idx, $need_array),
           "$name - status code ok");
    } else {
        is($got, 200, "$name - status code ok");
    }
}

sub check_raw_response_headers ($$$$$) {
    my ($block, $raw_headers, $dry_run, $req_idx, $need_array) = @_;
    my $name = $block->name;
    $raw_headers = '' unless defined $raw_headers;
    if (defined $block->raw_response_headers_like) {
        my $exp = get_indexed_value($name, $block->raw_response_headers_like,
                                    $req_idx, $need_array);
        like($raw_headers, qr/$exp/s, "$name - raw resp headers like");
    }
    if (defined $block->raw_response_headers_unlike) {
        my $exp = get_indexed_value($name, $block->raw_response_headers_unlike,
                                    $req_idx, $need_array);
        unlike($raw_headers, qr/$exp/s, "$name - raw resp headers unlike");
    }
}

sub check_response_headers ($$$$$$) {
    my ($block, $res, $raw_headers, $dry_run, $req_idx, $need_array) = @_;
    my $name = $block->name;
    $raw_headers = '' unless defined $raw_headers;

    if (defined $block->response_headers) {
        my $pairs = parse_headers(get_indexed_value(
            $name, $block->response_headers, $req_idx, $need_array));
        for my $p (@$pairs) {
            my ($key, $val) = @$p;
            if (!defined $val) {
                # as in the real harness: a case-sensitive search of the raw
                # header block
                unlike($raw_headers, qr/^\s*\Q$key\E\s*:/ms,
                       "$name - header $key not present in the raw headers");
                next;
            }
            $val =~ s/\$ServerPort\b/$ServerPort/g;
            $val =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;
            my $actual = $res ? $res->header($key) : undef;
            $actual = '' unless defined $actual;
            is($actual, $val, "$name - header $key ok");
        }

    } elsif (defined $block->response_headers_like) {
        my $pairs = parse_headers(get_indexed_value(
            $name, $block->response_headers_like, $req_idx, $need_array));
        for my $p (@$pairs) {
            my ($key, $val) = @$p;
            $val = '' unless defined $val;
            my $actual = $res ? $res->header($key) : undef;
            $actual = '' unless defined $actual;
            like($actual, qr/^$val$/, "$name - header $key like ok");
        }
    }
}

sub check_response_body ($$$$$$) {
    my ($block, $res, $dry_run, $req_idx, $repeated_req_idx, $need_array) = @_;
    my $name = $block->name;
    my $content = $res ? $res->content : undef;

    if (defined $block->response_body) {
        my $expected = get_indexed_value($name, $block->response_body,
                                         $req_idx, $need_array);
        if (defined $expected && !ref $expected) {
            $expected =~ s/\$ServerPort\b/$ServerPort/g;
            $expected =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;
        }
        my $what = "(repeated req $repeated_req_idx, req $req_idx)";
        if (ref $expected) {
            like($content, $expected, "$name - response_body - like $what");
        } elsif ($NoLongString) {
            is($content, $expected,
               "$name - response_body - response is expected $what");
        } else {
            Test::LongString::is_string($content, $expected,
               "$name - response_body - response is expected $what");
        }

    } elsif (defined $block->response_body_like
             || defined $block->response_body_unlike)
    {
        my ($pats, $type) = defined $block->response_body_like
            ? ($block->response_body_like, 'like')
            : ($block->response_body_unlike, 'unlike');
        my $pat = get_indexed_value($name, $pats, $req_idx, $need_array);
        $pat =~ s/\$ServerPort\b/$ServerPort/g;
        $pat =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;
        my $summary = trim($content);
        $summary = '' unless defined $summary;
        my $desc = "$name - response_body_$type - response is expected ($summary)";
        if ($type eq 'like') { like($content, qr/$pat/s, $desc) }
        else { unlike($content, qr/$pat/s, $desc) }
    }

    for my $check (@ResponseBodyChecks) {
        $check->($block, $content, $req_idx, $repeated_req_idx, $dry_run);
    }
}

# ---------------------------------------------------------------------
# error.log checks
# ---------------------------------------------------------------------

# Reads error.log from where the previous check stopped (unless
# check_accum_error_log), after a short sleep for log-phase messages.
sub error_log_data () {
    Time::HiRes::sleep($TestNginxSleep * 3);
    open my $in, '<', $ErrLogFile or return [];
    seek $in, $ErrLogFilePos, 0
        if !$CheckAccumErrLog && $ErrLogFilePos && $ErrLogFilePos > 0;
    my @lines = <$in>;
    $ErrLogFilePos = tell($in) unless $CheckAccumErrLog;
    close $in;
    return \@lines;
}

sub normalize_patterns ($) {
    my $pats = shift;
    if (!ref $pats) {
        chomp $pats;
        return [ split /\n+/, $pats ];
    }
    return [$pats] if ref $pats eq 'Regexp';
    return [@$pats];
}

sub line_matches ($$) {
    my ($line, $pat) = @_;
    return ref $pat ? scalar($line =~ $pat) : index($line, $pat) >= 0;
}

sub value_contains ($$);
sub value_contains ($$) {
    my ($val, $pat) = @_;
    return index("$val", $pat) >= 0 if !ref $val || ref $val eq 'Regexp';
    if (ref $val eq 'ARRAY') {
        for my $v (@$val) { return 1 if value_contains($v, $pat) }
    }
    return undef;
}

sub check_error_log ($$$$$) {
    my ($block, $res, $dry_run, $repeated_req_idx, $need_array) = @_;
    my $name = $block->name;
    my $lines = error_log_data();
    my %warn_on = ('writing a global lua variable' => 1, '[alert' => 1,
                   '[crit' => 1, '[emerg' => 1);

    my $grep_pats = $block->grep_error_log;
    my $grep_pat;
    if (defined $grep_pats) {
        $grep_pat = ref $grep_pats eq 'ARRAY'
                  ? $grep_pats->[$repeated_req_idx] : $grep_pats;
    } elsif (defined $block->grep_error_log_out) {
        bail_out("$name - No --- grep_error_log defined but "
                 . "--- grep_error_log_out is defined");
    }

    if (defined $grep_pat) {
        my $expected = $block->grep_error_log_out;
        bail_out("$name - No --- grep_error_log_out defined but "
                 . "--- grep_error_log is defined") unless defined $expected;
        $expected = $expected->[$repeated_req_idx] if ref $expected eq 'ARRAY';
        my $matched = '';
        for my $line (@$lines) {
            my $m;
            if (ref $grep_pat) {
                $m = substr($line, $-[0], $+[0] - $-[0]) if $line =~ $grep_pat;
            } elsif (index($line, $grep_pat) >= 0) {
                $m = $grep_pat;
            }
            $matched .= "$m\n" if defined $m && $m !~ /\n/;
        }
        my $desc = "$name - grep_error_log_out (req $repeated_req_idx)";
        if (ref $expected eq 'Regexp') { like($matched, $expected, $desc) }
        elsif ($NoLongString) { is($matched, $expected, $desc) }
        else { Test::LongString::is_string($matched, $expected, $desc) }
    }

    if (defined $block->error_log) {
        my $raw = $block->error_log;
        for my $k (keys %warn_on) { delete $warn_on{$k} if value_contains($raw, $k) }
        my $pats = normalize_patterns($raw);
        my @pending = @$pats;
        for my $line (@$lines) {
            for my $pat (@pending) {
                next unless defined $pat;
                if (line_matches($line, $pat)) {
                    pass("$name - pattern \"$pat\" matches a line in error.log "
                         . "(req $repeated_req_idx)");
                    undef $pat;
                }
            }
        }
        for my $pat (grep { defined } @pending) {
            fail("$name - pattern \"$pat\" should match a line in error.log "
                 . "(req $repeated_req_idx)");
        }
    }

    if (defined $block->no_error_log) {
        my $raw = $block->no_error_log;
        for my $k (keys %warn_on) { delete $warn_on{$k} if value_contains($raw, $k) }
        my $pats = normalize_patterns($raw);
        my %found;
        for my $i (0 .. $#$lines) {
            my $line = $lines->[$i];
            for my $pat (@$pats) {
                next unless defined $pat && line_matches($line, $pat);
                # like the real one: one failure per matching line
                $found{$pat}++;
                my @more = @$lines[$i + 1 .. List::Util::min($i + 9, $#$lines - 1)];
                fail("$name - pattern \"" . fmt_str($pat) . "\" should not match "
                     . "any line in error.log but matches line \""
                     . fmt_str($line) . "\" (req $repeated_req_idx)\n"
                     . join('', @more));
            }
        }
        for my $pat (@$pats) {
            next if !defined $pat || $found{$pat};
            pass("$name - pattern \"" . fmt_str($pat) . "\" does not match a "
                 . "line in error.log (req $repeated_req_idx)");
        }
    }

    if (!$dry_run) {
        for my $line (@$lines) {
            if (($warn_on{'writing a global lua variable'}
                 && $line =~ /writing a global lua variable/)
                || ($warn_on{'[alert'} && $line =~ /\[alert\]/)
                || ($warn_on{'[crit'} && $line =~ /\[crit\]/)
                || ($warn_on{'[emerg'} && $line =~ /\[emerg\]/))
            {
                warn "WARNING: $name - " . fmt_str($line) . "\n";
            }
        }
    }

    for my $line (@$lines) {
        if ($line =~ /\bAssertion .*?failed\b/) {
            (my $l = $line) =~ s/\n\z//;
            fail("$name - $l\n");
        }
    }
}

# ---------------------------------------------------------------------
# One repetition of a block
# ---------------------------------------------------------------------

sub run_test_helper ($$$) {
    my ($block, $dry_run, $repeated_req_idx) = @_;
    my $name = $block->name;

    my $reqs = get_req_from_block($block);
    bail_out("$name - request empty") unless @$reqs;

    my $timeout = parse_time($block->timeout);
    $timeout = timeout() unless defined $timeout;

    my $pipelined = $block->pipelined_requests;
    my $need_array = $pipelined ? 1 : (@$reqs > 1);
    my $res;
    my $req_idx = 0;

    for my $i (0 .. $#$reqs) {
        my $pieces = $reqs->[$i];
        my $head_req = join('', @$pieces) =~ /^\s*HEAD\s+/ ? 1 : 0;
        my $raw = send_request($pieces, $block->raw_request_middle_delay,
                               $timeout, $block);
        vwarn("!!! resp: [" . ($raw // '') . "]\n");

        # a pipelined connection carries several responses
        my $n = $pipelined ? scalar(@$pipelined) : 0;
        while (1) {
            $raw = '' unless defined $raw;
            my ($raw_headers, $left);
            if (!defined $block->ignore_response) {
                if (defined $block->http09) {
                    $res = Test::Nginx::Socket::Response->new(
                        code => 200, content => $raw);
                    $raw_headers = '';
                } else {
                    ($res, $raw_headers, $left) = parse_response($name, $raw, $head_req);
                }
            }

            if (!$n) {
                if (defined $left && length $left) {
                    $left =~ s/([\0-\037\200-\377])/sprintf('\x{%02x}', ord $1)/eg;
                    warn "WARNING: $name - unexpected extra bytes after last "
                       . "chunk in response: \"$left\"\n";
                }
            } else {
                $raw = $left;
                $n--;
            }

            if (!defined $block->ignore_response) {
                check_error_code($block, $res, $dry_run, $req_idx, $need_array);
                check_raw_response_headers($block, $raw_headers, $dry_run,
                                           $req_idx, $need_array);
                check_response_headers($block, $res, $raw_headers, $dry_run,
                                       $req_idx, $need_array);
                check_response_body($block, $res, $dry_run, $req_idx,
                                    $repeated_req_idx, $need_array);
            }

            # as in the real harness, the error log is also checked after
            # every response but the last one
            if ($n || $req_idx < @$reqs - 1) {
                Time::HiRes::sleep($block->wait) if $block->wait;
                check_error_log($block, $res, $dry_run, $repeated_req_idx,
                                $need_array);
            }

            $req_idx++;
            last unless $n;
        }
    }

    Time::HiRes::sleep($block->wait) if $block->wait;
    check_error_log($block, $res, $dry_run, $repeated_req_idx, $need_array);
}

# ---------------------------------------------------------------------
# Always stop nginx at exit (normal end, die, BAIL_OUT, INT/TERM/HUP).
# ---------------------------------------------------------------------

for my $sig (qw(INT TERM HUP)) {
    next if defined $SIG{$sig} && $SIG{$sig} ne '' && $SIG{$sig} ne 'DEFAULT';
    $SIG{$sig} = sub { warn "caught SIG$sig, stopping nginx\n"; exit 1 };
}

END {
    if ($$ == $MainPid) {
        local $?;
        eval { cleanup() };
        stop_nginx('END') unless $ENV{TEST_NGINX_NO_CLEAN};
        if ($Shuffled) {
            my $tb = Test::More->builder;
            Test::More::diag("test blocks were run in shuffled order; replay "
                             . "it with TEST_NGINX_SHUFFLE_SEED=$ShuffleSeed")
                if !$tb->is_passing;
        }
        if ($Randomize && -d $ServRoot && $ServRoot =~ m{/t/servroot_\d+$}) {
            remove_tree($ServRoot);
        }
    }
}

1;
__END__

=head1 NAME

Test::Nginx::Socket - ipgeo's minimal re-implementation of a documented
subset of openresty/test-nginx's Test::Nginx::Socket (NOT the real module)

=head1 DESCRIPTION

See the comment at the top of this file and
F<util/test-nginx-subset/README.md>.

=cut
