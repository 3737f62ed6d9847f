#!/usr/bin/env bash
# Lockstep's one test command (style-guide.md §3.9, §3.10). `.ci/run` calls it; so do developers.
#
#   ./test.sh                      build Lockstep.slnx once (Release, warnings are errors), run every test project
#   ./test.sh Protocol Storage     build and run only test projects whose name contains one of the words
#   ./test.sh Protocol -- -method '*VarInt*'
#                                  everything after `--` goes to the xUnit v3 runner (see `dotnet X.dll -?`)
#
# Each test project under tests/ with IsTestProject=true is an xUnit v3 executable; its built dll is run directly
# under `timeout` (LOCKSTEP_TEST_TIMEOUT seconds, default 1200) and its summary line
#   "<assembly>  Total: N, Errors: E, Failed: F, Skipped: S, Not Run: R, Time: …"
# is parsed. The LAST line printed is always "N passed, N failed" (", N skipped" when any were skipped). A build
# failure, a crashed or timed-out project, or a project that printed no summary counts as one failure; zero tests
# run overall is a failure too. Logs and xUnit XML results go to .test-results/ (git-ignored).
#
# External peers: a test project declares what it needs in its csproj, e.g.
#   <PropertyGroup><LockstepTestPeers>postgresql;redis</LockstepTestPeers></PropertyGroup>
# and this script installs/starts exactly those before running tests (see start_peer). Tests read the exported
# LOCKSTEP_* variables and use Lockstep.Testing.Peers.RequireOrSkip, which fails under CI=true when a peer is missing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"

CONFIGURATION="Release"
HANG_TIMEOUT="${LOCKSTEP_TEST_TIMEOUT:-1200}"
BUILD_TIMEOUT="${LOCKSTEP_BUILD_TIMEOUT:-1800}"
RESULTS_DIR="$ROOT/.test-results"
PEER_DIR=""                # temp dir holding databases/sockets of started peers; removed on exit
CLEANUP_COMMANDS=()        # run in reverse order on exit (stop servers)
APT_UPDATED=0
FINAL_LINE_PRINTED=0       # the EXIT trap prints a failing count line if the script dies before printing one

FILTERS=()
RUNNER_ARGS=()

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

# Totals over all projects. "Units" (build, crashed project) count as one failure each.
TOTAL_PASSED=0
TOTAL_FAILED=0
TOTAL_SKIPPED=0
FAILED_TESTS=()
PROJECT_LINES=()

log() { printf '==> %s\n' "$*"; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }

usage() {
    sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
}

parse_args() {
    while (($# > 0)); do
        case "$1" in
            -h | --help) usage; exit 0 ;;
            --) shift; RUNNER_ARGS=("$@"); return ;;
            -*) echo "unknown option: $1 (runner options go after --)" >&2; exit 2 ;;
            *) FILTERS+=("$1") ;;
        esac
        shift
    done
}

# Prints the closing count line. Must stay the last thing this script prints on every path that has counts.
print_final_line() {
    local line="${TOTAL_PASSED} passed, ${TOTAL_FAILED} failed"
    if ((TOTAL_SKIPPED > 0)); then
        line+=", ${TOTAL_SKIPPED} skipped"
    fi
    echo "$line"
    FINAL_LINE_PRINTED=1
}

cleanup() {
    local status=$? i
    for ((i = ${#CLEANUP_COMMANDS[@]} - 1; i >= 0; i--)); do
        eval "${CLEANUP_COMMANDS[i]}" >/dev/null 2>&1 || true
    done
    if [[ -n "$PEER_DIR" && -d "$PEER_DIR" ]]; then
        rm -rf "$PEER_DIR"
    fi
    if ((FINAL_LINE_PRINTED == 0 && status != 0)); then
        echo "test.sh stopped early (exit code $status); counted as 1 failure."
        TOTAL_FAILED=$((TOTAL_FAILED + 1))
        print_final_line
    fi
}
trap cleanup EXIT

print_environment() {
    [[ "${CI:-}" == "true" ]] || return 0
    log "Environment (CI=true)"
    echo "  dotnet:   $(dotnet --version 2>/dev/null || echo 'not found')"
    echo "  cores:    $(nproc)"
    echo "  memory:   $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo 2>/dev/null || echo '?')"
    echo "  os:       $(. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-?}") / $(uname -r)"
    echo "  commit:   $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo 'not a git checkout')"
    echo "  shared/:  $([[ -d "$ROOT/../shared/kafka-protocol" ]] && echo "present at $(cd "$ROOT/../shared" && pwd)" || echo 'ABSENT')"
}

# --------------------------------------------------------------------------------------------------------------
# Installing and starting what tests need. Only ensure_dotnet runs unconditionally; the others run when a test
# project lists the peer in <LockstepTestPeers>. Every machine of this project's kind ships the .NET SDK; Debian
# packages are the only other source (apt-get, run as root on CI).
# --------------------------------------------------------------------------------------------------------------

ensure_dotnet() {
    if ! command -v dotnet >/dev/null 2>&1; then
        echo "The .NET SDK (dotnet) is not on PATH; install .NET SDK 10 (global.json pins 10.0.x)." >&2
        exit 1
    fi
}

apt_install() {
    if ((APT_UPDATED == 0)); then
        log "apt-get update"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        APT_UPDATED=1
    fi
    log "apt-get install $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# Creates PEER_DIR once. Not called through $(...): the assignment must reach this shell so cleanup removes it.
init_peer_dir() {
    if [[ -z "$PEER_DIR" ]]; then
        PEER_DIR="$(mktemp -d "${TMPDIR:-/tmp}/lockstep-peers.XXXXXX")"
        chmod 755 "$PEER_DIR"
    fi
}

# Prints a TCP port on 127.0.0.1 that nothing listens on (bash /dev/tcp probe; no extra tools needed).
free_port() {
    local port attempt
    for attempt in $(seq 1 200); do
        port=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    echo "no free TCP port found" >&2
    return 1
}

# Runs a command as the postgres user when we are root (initdb refuses to run as root).
as_postgres() {
    if [[ $EUID -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# PostgreSQL from Debian's packages, a throwaway cluster on a free port with trust auth on loopback only.
# Exports LOCKSTEP_POSTGRES (an Npgsql connection string).
ensure_postgresql() {
    local bin
    bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
    if [[ -z "$bin" || ! -x "$bin/initdb" ]]; then
        apt_install postgresql
        bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
    fi
    local dir port
    init_peer_dir
    dir="$PEER_DIR/postgresql"
    port="$(free_port)"
    mkdir -p "$dir"
    [[ $EUID -eq 0 ]] && chown postgres:postgres "$dir"
    log "PostgreSQL ($bin) on 127.0.0.1:$port"
    as_postgres "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; return 1; }
    as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null \
        || { cat "$dir/server.log" >&2; return 1; }
    CLEANUP_COMMANDS+=("as_postgres '$bin/pg_ctl' -D '$dir/data' -m immediate stop")
    export LOCKSTEP_POSTGRES="Host=127.0.0.1;Port=$port;Username=postgres;Database=postgres"
}

# Redis from Debian's packages, no persistence, on a free port. Exports LOCKSTEP_REDIS (host:port).
ensure_redis() {
    command -v redis-server >/dev/null 2>&1 || apt_install redis-server
    local dir port
    init_peer_dir
    dir="$PEER_DIR/redis"
    port="$(free_port)"
    mkdir -p "$dir"
    log "Redis on 127.0.0.1:$port"
    redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no --dir "$dir" \
        --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log"
    local i
    for i in $(seq 1 50); do
        [[ -s "$dir/redis.pid" ]] && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        sleep 0.1
    done
    CLEANUP_COMMANDS+=("kill \$(cat '$dir/redis.pid')")
    export LOCKSTEP_REDIS="127.0.0.1:$port"
}

# kcat (librdkafka's CLI) as an interop peer. Exports LOCKSTEP_KCAT.
ensure_kcat() {
    command -v kcat >/dev/null 2>&1 || apt_install kcat
    export LOCKSTEP_KCAT="$(command -v kcat)"
}

# Python Kafka clients from Debian (confluent-kafka = librdkafka, kafka-python = pure Python) for Debian's python3,
# not whatever python3 is first on PATH. Exports LOCKSTEP_PYTHON.
ensure_python_kafka() {
    if ! /usr/bin/python3 -c 'import confluent_kafka, kafka' >/dev/null 2>&1; then
        apt_install python3 python3-confluent-kafka python3-kafka
    fi
    export LOCKSTEP_PYTHON=/usr/bin/python3
}

# kafkajs from the npm registry, pinned by tests/Lockstep.Interop.Tests/js/package-lock.json and installed with
# `npm ci` into that folder's node_modules (git-ignored). Exports LOCKSTEP_NODE_MODULES (the tests set NODE_PATH).
ensure_kafkajs() {
    command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || apt_install nodejs npm
    local dir="$ROOT/tests/Lockstep.Interop.Tests/js"
    if [[ ! -f "$dir/node_modules/kafkajs/package.json" ]]; then
        log "npm ci (kafkajs) in $dir"
        (cd "$dir" && npm ci --silent --no-audit --no-fund >/dev/null)
    fi
    export LOCKSTEP_NODE_MODULES="$dir/node_modules"
}

start_peer() {
    case "$1" in
        postgresql) ensure_postgresql ;;
        redis) ensure_redis ;;
        kcat) ensure_kcat ;;
        python-kafka) ensure_python_kafka ;;
        kafkajs) ensure_kafkajs ;;
        *) echo "unknown peer '$1' in <LockstepTestPeers> (known: postgresql redis kcat python-kafka kafkajs)" >&2; return 1 ;;
    esac
}

# --------------------------------------------------------------------------------------------------------------
# Test projects
# --------------------------------------------------------------------------------------------------------------

# Selected csproj paths (tests/*/*.csproj, filtered by name), one per line.
select_projects() {
    local csproj name filter
    for csproj in tests/*/*.csproj; do
        name="$(basename "$csproj" .csproj)"
        if ((${#FILTERS[@]} == 0)); then
            echo "$csproj"
            continue
        fi
        for filter in "${FILTERS[@]}"; do
            if [[ "${name,,}" == *"${filter,,}"* ]]; then
                echo "$csproj"
                break
            fi
        done
    done
}

# Prints "<IsTestProject>|<TargetPath>" as MSBuild evaluates them (no build).
evaluate_project() {
    local json is_test target
    json="$(dotnet msbuild "$1" -nologo -p:Configuration="$CONFIGURATION" \
        -getProperty:IsTestProject -getProperty:TargetPath)"
    is_test="$(sed -n 's/.*"IsTestProject": *"\([^"]*\)".*/\1/p' <<<"$json")"
    target="$(sed -n 's/.*"TargetPath": *"\([^"]*\)".*/\1/p' <<<"$json")"
    echo "${is_test}|${target}"
}

declared_peers() {
    sed -n 's/.*<LockstepTestPeers>\([^<]*\)<\/LockstepTestPeers>.*/\1/p' "$1" | tr ';, ' '\n\n\n' | sed '/^$/d'
}

build() {
    local -a targets=("$@")
    local -a extra=()
    # CI machines are cleaned after the run; don't leave MSBuild/Roslyn servers behind there.
    [[ "${CI:-}" == "true" ]] && extra+=(--disable-build-servers)
    local target buildlog="$RESULTS_DIR/build.log"
    for target in "${targets[@]}"; do
        log "dotnet build $target -c $CONFIGURATION"
        if ! timeout --kill-after=30s "${BUILD_TIMEOUT}s" dotnet build "$target" -c "$CONFIGURATION" -nologo -v:quiet \
            -p:TreatWarningsAsErrors=true ${extra[@]+"${extra[@]}"} </dev/null >"$buildlog" 2>&1; then
            # MSBuild repeats every diagnostic in its closing summary; print each line once.
            awk 'NF && !seen[$0]++' "$buildlog" | grep -v -E '^ *(Build FAILED\.|[0-9]+ (Warning|Error)\(s\)|Time Elapsed)' || true
            echo
            echo "BUILD FAILED: $target (counted as 1 failure; no tests were run)"
            TOTAL_FAILED=1
            print_final_line
            exit 1
        fi
    done
}

# Runs one test executable and folds its results into the totals.
run_project() {
    local name="$1" dll="$2"
    local logfile="$RESULTS_DIR/$name.log" xml="$RESULTS_DIR/$name.xml"
    rm -f "$logfile" "$xml"
    log "$name"
    if [[ ! -f "$dll" ]]; then
        echo "  $dll was not built"
        PROJECT_LINES+=("$name: NOT BUILT (counted as 1 failure)")
        TOTAL_FAILED=$((TOTAL_FAILED + 1))
        return
    fi

    local rc=0
    # -noAutoReporters: keep the default reporter (and our parsing) even where the runner detects a CI vendor.
    timeout --kill-after=30s "${HANG_TIMEOUT}s" dotnet "$dll" -noColor -noLogo -noAutoReporters \
        -result-xml "$xml" ${RUNNER_ARGS[@]+"${RUNNER_ARGS[@]}"} </dev/null >"$logfile" 2>&1 || rc=$?
    # Belt and braces: strip any ANSI escape a test or the runner printed anyway.
    sed -i 's/\x1b\[[0-9;]*[A-Za-z]//g' "$logfile"

    local summary
    summary="$(grep -E 'Total: [0-9]+, Errors: [0-9]+, Failed: [0-9]+, Skipped: [0-9]+, Not Run: [0-9]+' "$logfile" | tail -n 1 || true)"
    local re='Total: ([0-9]+), Errors: ([0-9]+), Failed: ([0-9]+), Skipped: ([0-9]+), Not Run: ([0-9]+)'
    if ((rc == 124 || rc == 137)); then
        echo "  TIMED OUT after ${HANG_TIMEOUT}s; last lines of $logfile:"
        tail -n 40 "$logfile" | sed 's/^/    /'
        PROJECT_LINES+=("$name: TIMED OUT after ${HANG_TIMEOUT}s (counted as 1 failure)")
        TOTAL_FAILED=$((TOTAL_FAILED + 1))
        return
    fi
    # An assembly with no tests prints only "<assembly>  Total: 0": a warning (a project being written), not a crash.
    if [[ ! "$summary" =~ $re ]] && grep -qE '^ +[^ ]+ +Total: 0$' "$logfile" && ((rc == 0)); then
        warn "$name contains no tests"
        PROJECT_LINES+=("$name: no tests")
        return
    fi
    if [[ ! "$summary" =~ $re ]]; then
        echo "  CRASHED or printed no summary (exit code $rc); last lines of $logfile:"
        tail -n 60 "$logfile" | sed 's/^/    /'
        PROJECT_LINES+=("$name: NO SUMMARY, exit code $rc (counted as 1 failure)")
        TOTAL_FAILED=$((TOTAL_FAILED + 1))
        return
    fi

    # The reporter lists only failures and skips (with reasons and stack traces) between Starting and Finished.
    sed -n '/^  Starting:/,/^  Finished:/{/^  Starting:/d;/^  Finished:/d;p}' "$logfile"

    local total="${BASH_REMATCH[1]}" errors="${BASH_REMATCH[2]}" failed="${BASH_REMATCH[3]}"
    local skipped="${BASH_REMATCH[4]}" not_run="${BASH_REMATCH[5]}"
    local passed=$((total - failed - skipped - not_run))
    TOTAL_PASSED=$((TOTAL_PASSED + passed))
    TOTAL_FAILED=$((TOTAL_FAILED + failed + errors))
    TOTAL_SKIPPED=$((TOTAL_SKIPPED + skipped + not_run))

    local line="$name: $passed passed, $failed failed, $skipped skipped"
    ((not_run > 0)) && line+=", $not_run not run"
    ((errors > 0)) && line+=", $errors errors (fixture/cleanup failures, counted as failures)"
    if ((rc != 0 && failed == 0 && errors == 0)); then
        line+=" — but the runner exited $rc (counted as 1 failure)"
        TOTAL_FAILED=$((TOTAL_FAILED + 1))
    fi
    ((total == 0)) && warn "$name ran no tests (filtered out?)"
    PROJECT_LINES+=("$line")

    local test
    while IFS= read -r test; do
        FAILED_TESTS+=("$name: $test")
    done < <(sed -n 's/^ *\(.*\) \[FAIL\]$/\1/p' "$logfile")
}

main() {
    parse_args "$@"
    ensure_dotnet
    print_environment
    mkdir -p "$RESULTS_DIR"

    local -a projects=()
    mapfile -t projects < <(select_projects)
    if ((${#projects[@]} == 0)); then
        echo "No project under tests/ matches: ${FILTERS[*]}"
        print_final_line
        exit 1
    fi

    if ((${#FILTERS[@]} == 0)); then
        build Lockstep.slnx
    else
        build "${projects[@]}"
    fi

    # Which of the selected projects are xUnit test executables (Lockstep.Testing is a library), and what they need.
    local -a names=() dlls=() peers=()
    local csproj evaluated peer
    for csproj in "${projects[@]}"; do
        evaluated="$(evaluate_project "$csproj")"
        [[ "${evaluated%%|*}" == "true" ]] || continue
        names+=("$(basename "$csproj" .csproj)")
        dlls+=("${evaluated#*|}")
        while IFS= read -r peer; do
            [[ " ${peers[*]-} " == *" $peer "* ]] || peers+=("$peer")
        done < <(declared_peers "$csproj")
    done
    if ((${#names[@]} == 0)); then
        echo "No test project (IsTestProject=true) among: ${projects[*]}"
        print_final_line
        exit 1
    fi

    for peer in ${peers[@]+"${peers[@]}"}; do
        start_peer "$peer" # a failure here exits; the EXIT trap prints the count line
    done

    local i
    for i in "${!names[@]}"; do
        run_project "${names[i]}" "${dlls[i]}"
    done

    echo
    log "Summary"
    local line
    for line in "${PROJECT_LINES[@]}"; do
        echo "  $line"
    done
    if ((${#FAILED_TESTS[@]} > 0)); then
        echo "Failed tests:"
        for line in "${FAILED_TESTS[@]}"; do
            echo "  $line"
        done
    fi
    local status=0
    if ((TOTAL_PASSED + TOTAL_FAILED == 0)); then
        echo "No test ran: that is a failure."
        status=1
    fi
    ((TOTAL_FAILED > 0)) && status=1
    print_final_line
    return "$status"
}

# Sourcing (e.g. to try one ensure_* function) defines the functions without running anything.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    main "$@"
fi
