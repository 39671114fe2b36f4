#!/usr/bin/env bash
# scripts/brokers.sh: real message brokers as local processes, on loopback only.
#
#   scripts/brokers.sh up     [kafka|rabbitmq|nats|redis|registry]...   install if missing, start, wait until each answers
#   scripts/brokers.sh down   [kafka|rabbitmq|nats|redis|registry]...   stop the brokers this script started
#   scripts/brokers.sh status [kafka|rabbitmq|nats|redis|registry]...   one line per broker: running/stopped + address
#
# No name means the four brokers for `up` and `status`, and all five (the registry too) for `down`:
# the schema registry is started only when asked for (scripts/test.sh does). Works for a developer
# and for CI (root on Debian 12, no Docker).
#
#   kafka     127.0.0.1:9092                  Apache Kafka 4.x, KRaft, single node (controller on 127.0.0.1:9093),
#                                             jars from Maven Central cached under ${XDG_CACHE_HOME:-~/.cache}/evtgen
#   rabbitmq  amqp://guest:guest@127.0.0.1:5672/   Debian's rabbitmq-server, own node evtgen@localhost
#   nats      nats://127.0.0.1:4222            Debian's nats-server, JetStream on
#   redis     redis://127.0.0.1:6379           Debian's redis-server, no persistence
#   registry  http://localhost:8081/apis/ccompat/v7   Apicurio Registry 3 (Confluent-compatible API), in-memory
#                                             storage (`down` forgets every schema), management and readiness
#                                             on 127.0.0.1:9000; the complete app from Maven Central (cached in
#                                             ~/.m2 and ${XDG_CACHE_HOME:-~/.cache}/evtgen), run by a Java 21+ found
#                                             on PATH, in JAVA_HOME or among the installed JDKs
#
# `up` is idempotent: a broker that already answers on its address is used as it is, whoever started it
# (it is then reported as "external" and `down` leaves it alone). `up` prints one line per broker on
# stdout, `<name> BROKER_URL=<url>` (`registry REGISTRY_URL=<url>`); progress goes to stderr.
# `down` keeps the data (Kafka topics, JetStream streams, RabbitMQ queues) in the state directory;
# delete that directory after `down` for a clean slate. A broker that did not answer in time is left
# booting (the next `up` waits for it; `down` stops it). If Kafka exits during startup (e.g. a broken
# log directory) `up` wipes its data and formats it again, once. `status` exits 0 when every broker
# asked for answers, 3 otherwise.
#
# Environment:
#   EVTGEN_BROKERS_DIR    state: pidfiles, logs, data   (default ${XDG_STATE_HOME:-~/.local/state}/evtgen/brokers)
#   EVTGEN_KAFKA_VERSION  Kafka version from Maven Central (default below; any 4.x)
#   EVTGEN_REGISTRY_VERSION  Apicurio Registry version from Maven Central (default below; any 3.x)
#   EVTGEN_BROKERS_TIMEOUT  seconds to wait for each broker to answer (default: kafka and registry 90,
#                           rabbitmq 60, others 20)
set -euo pipefail

readonly KAFKA_VERSION_DEFAULT=4.3.1
readonly REGISTRY_VERSION_DEFAULT=3.3.3
readonly ALL_BROKERS=(kafka rabbitmq nats redis)
readonly EVERYTHING=(kafka rabbitmq nats redis registry)

SELF=$(readlink -f "${BASH_SOURCE[0]}")
PROG=${0##*/}
STATE_DIR=${EVTGEN_BROKERS_DIR:-${XDG_STATE_HOME:-$HOME/.local/state}/evtgen/brokers}
CACHE_DIR=${XDG_CACHE_HOME:-$HOME/.cache}/evtgen
KAFKA_VERSION=${EVTGEN_KAFKA_VERSION:-$KAFKA_VERSION_DEFAULT}
KAFKA_LIBS=$CACHE_DIR/kafka-$KAFKA_VERSION/libs
REGISTRY_VERSION=${EVTGEN_REGISTRY_VERSION:-$REGISTRY_VERSION_DEFAULT}
REGISTRY_APP=$CACHE_DIR/apicurio-registry-$REGISTRY_VERSION/app
RABBIT_NODE=evtgen@localhost
PATH=$PATH:/usr/sbin:/sbin

log() { printf 'brokers: %s\n' "$*" >&2; }
die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }

usage() {
    cat >&2 <<EOF
usage: $PROG up|down|status [kafka|rabbitmq|nats|redis|registry]...
  up      install when missing, start, and wait until each broker answers (default: the four brokers)
  down    stop the brokers started by this script (default: all five; data is kept in $STATE_DIR,
          but the registry keeps its schemas in memory only)
  status  print running/stopped and the address of each broker (default: the four brokers)
EOF
}

# ---------------------------------------------------------------------------------------------
# Addresses and protocol-level probes (pure bash, /dev/tcp): each answers 0 only when the broker
# speaks its protocol on the address, so they tell "ours or someone else's broker is up" apart
# from "the port is taken by something else".

addr_of() {
    case $1 in
        kafka) echo 127.0.0.1:9092 ;;
        rabbitmq) echo 127.0.0.1:5672 ;;
        nats) echo 127.0.0.1:4222 ;;
        redis) echo 127.0.0.1:6379 ;;
        registry) echo 127.0.0.1:8081 ;;
    esac
}

url_of() {
    case $1 in
        kafka) echo 127.0.0.1:9092 ;;
        rabbitmq) echo amqp://guest:guest@127.0.0.1:5672/ ;;
        nats) echo nats://127.0.0.1:4222 ;;
        redis) echo redis://127.0.0.1:6379 ;;
        registry) echo http://localhost:8081/apis/ccompat/v7 ;;
    esac
}

# The environment variable `up` prints the URL as.
var_of() {
    case $1 in
        registry) echo REGISTRY_URL ;;
        *) echo BROKER_URL ;;
    esac
}

# Extra ports a broker binds besides its main one.
extra_ports_of() {
    case $1 in
        kafka) echo 9093 ;;
        rabbitmq) echo 25672 ;;
        registry) echo 9000 ;;
        *) echo ;;
    esac
}

# Read exactly N bytes from fd 3 and print them as hex.
read_hex() {
    dd bs="$1" count=1 iflag=fullblock status=none <&3 | od -An -tx1 -v | tr -d ' \n'
}

probe_redis() {
    exec 3<>/dev/tcp/127.0.0.1/6379
    printf 'PING\r\n' >&3
    local line
    IFS= read -r line <&3
    [[ $line == "+PONG"* ]]
}

probe_nats() {
    exec 3<>/dev/tcp/127.0.0.1/4222
    local line
    IFS= read -r line <&3
    [[ $line == INFO* && $line == *'"jetstream":true'* ]] || return 1
    printf 'CONNECT {"verbose":false,"pedantic":false,"name":"evtgen-brokers"}\r\nPING\r\n' >&3
    IFS= read -r line <&3
    [[ $line == PONG* ]]
}

# Read one AMQP frame from fd 3 and print "<type><class><method>" in hex (e.g. 01000a001e).
amqp_frame() {
    local hdr size body
    hdr=$(read_hex 7)
    [[ ${#hdr} == 14 ]] || return 1
    size=$((16#${hdr:6:8}))
    body=$(read_hex $((size + 1)))
    [[ ${body: -2} == ce ]] || return 1
    echo "${hdr:0:2}${body:0:8}"
}

# AMQP 0-9-1 as a client would: header, Start/Start-Ok (PLAIN guest/guest), Tune/Tune-Ok,
# Open vhost "/" (expect Open-Ok), Close/Close-Ok. So the listener is up, guest can log in from
# localhost and the default vhost is there; a clean close keeps the broker's log quiet.
probe_rabbitmq() {
    exec 3<>/dev/tcp/127.0.0.1/5672
    printf 'AMQP\x00\x00\x09\x01' >&3
    [[ $(amqp_frame) == 01000a000a ]] || return 1 # connection.start
    printf '\x01\x00\x00\x00\x00\x00\x24\x00\x0a\x00\x0b\x00\x00\x00\x00\x05PLAIN\x00\x00\x00\x0c\x00guest\x00guest\x05en_US\xce' >&3
    [[ $(amqp_frame) == 01000a001e ]] || return 1 # connection.tune (a refused login gets connection.close)
    printf '\x01\x00\x00\x00\x00\x00\x0c\x00\x0a\x00\x1f\x00\x01\x00\x00\x10\x00\x00\x00\xce' >&3
    printf '\x01\x00\x00\x00\x00\x00\x08\x00\x0a\x00\x28\x01/\x00\x00\xce' >&3
    [[ $(amqp_frame) == 01000a0029 ]] || return 1 # connection.open-ok
    printf '\x01\x00\x00\x00\x00\x00\x0b\x00\x0a\x00\x32\x00\xc8\x00\x00\x00\x00\x00\xce' >&3
    [[ $(amqp_frame) == 01000a0033 ]] # connection.close-ok
}

# Kafka ApiVersions v0 request (api key 18, correlation id 1): a response carrying our correlation
# id means the broker's request handlers are running (a KRaft broker enables them once unfenced).
probe_kafka() {
    exec 3<>/dev/tcp/127.0.0.1/9092
    printf '\x00\x00\x00\x10\x00\x12\x00\x00\x00\x00\x00\x01\x00\x06evtgen' >&3
    local reply
    reply=$(read_hex 10)
    [[ ${#reply} == 20 && ${reply:8:8} == 00000001 ]]
}

# One HTTP/1.0 GET on 127.0.0.1:PORT; prints the status line's code and the body.
http_get() {
    exec 3<>"/dev/tcp/127.0.0.1/$1"
    printf 'GET %s HTTP/1.0\r\nHost: localhost:%s\r\nAccept: application/json\r\n\r\n' "$2" "$1" >&3
    local status _
    IFS=' ' read -r _ status _ <&3
    echo "$status"
    cat <&3
}

# The Confluent-compatible API answers with the global compatibility rule: a registry speaking
# that API is on the address (ours or another one).
probe_registry() {
    local reply
    reply=$(http_get 8081 /apis/ccompat/v7/config)
    [[ ${reply%%$'\n'*} == 200 && $reply == *compatibilityLevel* ]]
}

# Ours is ready when its management port says so (storage and every other check UP).
probe_registry_health() {
    local reply
    reply=$(http_get 9000 /health/ready)
    [[ ${reply%%$'\n'*} == 200 && $reply == *'"UP"'* ]]
}

registry_ready() {
    timeout 5 "$BASH" "$SELF" _probe registry_health >/dev/null 2>&1
}

# Run a probe in a child bash with a time limit, so a wedged peer cannot hang us.
answers() {
    timeout 5 "$BASH" "$SELF" _probe "$1" >/dev/null 2>&1
}

port_open() {
    # shellcheck disable=SC2016 # $0 is expanded by the child bash
    timeout 3 "$BASH" -c 'exec 3<>"/dev/tcp/127.0.0.1/$0"' "$1" >/dev/null 2>&1
}

# ---------------------------------------------------------------------------------------------
# Processes

dir_of() { echo "$STATE_DIR/$1"; }
pidfile_of() { echo "$STATE_DIR/$1/$1.pid"; }

# What /proc/PID/cmdline must contain for a pid from our pidfile to still be our broker.
cmd_pattern_of() {
    case $1 in
        kafka) echo kafka.Kafka ;;
        rabbitmq) echo rabbit ;;
        nats) echo nats-server ;;
        redis) echo redis-server ;;
        registry) echo "apicurio-registry-$REGISTRY_VERSION/app/quarkus-run.jar" ;;
    esac
}

# Print the pids (from pidfiles) of a broker this script started, that are still alive.
managed_pids() {
    local name=$1 f pid cmdline pattern
    pattern=$(cmd_pattern_of "$name")
    local files=("$(pidfile_of "$name")")
    [[ $name == rabbitmq ]] && files+=("$(dir_of rabbitmq)/beam.pid")
    for f in "${files[@]}"; do
        [[ -s $f ]] || continue
        pid=$(tr -dc '0-9' <"$f")
        [[ -n $pid ]] || continue
        kill -0 "$pid" 2>/dev/null || continue
        cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)
        [[ $cmdline == *"$pattern"* ]] && echo "$pid"
    done
    return 0
}

# SIGTERM, wait up to $2 seconds, then SIGKILL.
stop_pids() {
    local name=$1 grace=$2; shift 2
    local pids=("$@") pid waited=0 alive
    kill -TERM "${pids[@]}" 2>/dev/null || true
    while :; do
        alive=()
        for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive+=("$pid"); done
        ((${#alive[@]} == 0)) && return 0
        if ((waited >= grace * 2)); then
            log "$name: still running after ${grace}s, sending SIGKILL to ${alive[*]}"
            kill -KILL "${alive[@]}" 2>/dev/null || true
            sleep 0.5
            return 0
        fi
        sleep 0.5
        waited=$((waited + 1))
    done
}

# Start a command detached from this shell (own session, no stdin, output to a log file) and
# print its pid. setsid execs in place here (a background job is no group leader), so $! is the
# broker's own pid.
spawn() {
    local logfile=$1; shift
    setsid "$@" </dev/null >>"$logfile" 2>&1 9>&- &
    echo $!
}

show_log_tail() {
    local f=$1
    [[ -s $f ]] || return 0
    log "last lines of $f:"
    tail -n 12 "$f" | sed 's/^/  | /' >&2
}

# ---------------------------------------------------------------------------------------------
# Installation (Debian packages; apt-get update at most once, only when something is missing)

APT_UPDATED=
JUST_INSTALLED=()

as_root() {
    if [[ $(id -u) == 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root to run: $* (install sudo or run as root)"
    fi
}

apt_install() {
    (($# == 0)) && return 0
    command -v apt-get >/dev/null 2>&1 || die "missing Debian package(s) $* and no apt-get here; install them by hand"
    log "installing Debian package(s): $*"
    local aptlog="$STATE_DIR/apt.log"
    if [[ -z $APT_UPDATED ]]; then
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >"$aptlog" 2>&1 ||
            { show_log_tail "$aptlog"; die "apt-get update failed (see $aptlog)"; }
        APT_UPDATED=1
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >>"$aptlog" 2>&1 ||
        { show_log_tail "$aptlog"; die "apt-get install $* failed (see $aptlog)"; }
    JUST_INSTALLED+=("$@")
}

# A package install may start (and enable) the distribution's own service, bound to all
# interfaces and with its own data; we run our own process instead, so stop and disable it.
distro_service_port() {
    case $1 in
        rabbitmq-server) echo 5672 ;;
        redis-server) echo 6379 ;;
        nats-server) echo 4222 ;;
    esac
}

stop_distro_service() {
    local svc=$1 port _
    port=$(distro_service_port "$svc")
    if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null 2>&1; then
        as_root systemctl disable --now "$svc" >/dev/null 2>&1 || true
    fi
    port_open "$port" || return 0
    log "stopping the $svc system service that the package install started"
    if [[ -x /etc/init.d/$svc ]]; then
        as_root /etc/init.d/"$svc" stop >/dev/null 2>&1 || true
    fi
    for _ in $(seq 1 60); do
        port_open "$port" || return 0
        sleep 0.5
    done
    die "$svc: the system service started by the package install still holds port $port; stop it and retry"
}

have_cmd() { command -v "$1" >/dev/null 2>&1; }

java_major() {
    java -version 2>&1 | sed -nE '1s/.*version "([0-9]+)(\.[0-9]+)?.*/\1/p'
}

# Packages missing for a broker (printed one per line).
missing_packages() {
    case $1 in
        redis) have_cmd redis-server || echo redis-server ;;
        nats) have_cmd nats-server || echo nats-server ;;
        rabbitmq) [[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ]] || echo rabbitmq-server ;;
        kafka)
            have_cmd java || echo openjdk-17-jre-headless
            [[ -f $KAFKA_LIBS/.complete ]] || have_cmd mvn || echo maven
            ;;
        registry) [[ -f $REGISTRY_APP/.complete ]] || have_cmd mvn || echo maven ;;
    esac
}

# The major version of the JDK (or JRE) at $1, from its `release` file, or nothing.
jdk_major() {
    sed -nE 's/^JAVA_VERSION="([0-9]+).*/\1/p' "$1/release" 2>/dev/null
}

# A `java` of version 21 or newer, for the registry (Quarkus 3 there is built for Java 21): the one on
# PATH, else $JAVA_HOME's, else the newest JDK installed in the usual places (a Temurin or
# distribution JDK beside a default older one). Prints its path; fails when there is none.
REGISTRY_JAVA=
find_registry_java() {
    [[ -n $REGISTRY_JAVA ]] && return 0
    local major home best= best_major=0
    major=$(java_major)
    if [[ -n $major ]] && ((major >= 21)); then REGISTRY_JAVA=$(command -v java); return 0; fi
    for home in ${JAVA_HOME:+"$JAVA_HOME"} /usr/lib/jvm/* /usr/java/* /opt/* /opt/java/* /opt/*/jdk* ~/.sdkman/candidates/java/*; do
        [[ -x $home/bin/java ]] || continue
        major=$(jdk_major "$home")
        [[ -n $major ]] || continue
        if ((major >= 21 && major > best_major)); then best=$home; best_major=$major; fi
    done
    [[ -n $best ]] || return 1
    REGISTRY_JAVA=$best/bin/java
}

# Fetch kafka_2.13 and its runtime dependencies with Maven (a throwaway pom) into the cache.
# The ~/.m2 repository and the libs directory make later runs offline.
fetch_kafka_jars() {
    [[ -f $KAFKA_LIBS/.complete ]] && return 0
    [[ $KAFKA_VERSION == 4.* ]] || die "EVTGEN_KAFKA_VERSION=$KAFKA_VERSION: only Kafka 4.x is supported"
    have_cmd mvn || die "mvn not found; it is needed once to fetch the Kafka jars"
    local top=${KAFKA_LIBS%/libs} work
    mkdir -p "$top"
    rm -rf "$top"/fetch.* # leftovers of a failed fetch
    work=$(mktemp -d "$top/fetch.XXXXXX")
    log "kafka: fetching org.apache.kafka:kafka_2.13:$KAFKA_VERSION and its dependencies from Maven Central"
    cat >"$work/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.evtgen</groupId>
  <artifactId>kafka-server-libs</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>$KAFKA_VERSION</version>
    </dependency>
    <!-- kafka_2.13 declares slf4j 1.x and log4j-core but no binding: without these two the
         server logs nothing at all. Same pair as the Kafka 4 distribution ships. -->
    <dependency>
      <groupId>org.slf4j</groupId>
      <artifactId>slf4j-api</artifactId>
      <version>2.0.17</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j2-impl</artifactId>
      <version>2.25.4</version>
    </dependency>
  </dependencies>
</project>
EOF
    if ! mvn -B -q -f "$work/pom.xml" \
        org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
        -DincludeScope=runtime -DoutputDirectory="$work/libs" >"$work/mvn.log" 2>&1; then
        show_log_tail "$work/mvn.log"
        die "kafka: Maven could not fetch kafka_2.13:$KAFKA_VERSION (log: $work/mvn.log)"
    fi
    ls "$work/libs"/kafka_2.13-*.jar >/dev/null 2>&1 || die "kafka: Maven fetched no kafka_2.13 jar (log: $work/mvn.log)"
    touch "$work/libs/.complete"
    rm -rf "$KAFKA_LIBS"
    mv "$work/libs" "$KAFKA_LIBS"
    rm -rf "$work"
    log "kafka: $(find "$KAFKA_LIBS" -name '*.jar' | wc -l) jars in $KAFKA_LIBS"
}

# Fetch the complete Apicurio Registry application (a quarkus-app layout, ~160 MB) with Maven: the
# tar.gz stays in ~/.m2, its unpacked copy in the cache, so later runs are offline.
fetch_registry_app() {
    [[ -f $REGISTRY_APP/.complete ]] && return 0
    [[ $REGISTRY_VERSION == 3.* ]] || die "EVTGEN_REGISTRY_VERSION=$REGISTRY_VERSION: only Apicurio Registry 3.x is supported"
    have_cmd mvn || die "mvn not found; it is needed once to fetch Apicurio Registry"
    local top=${REGISTRY_APP%/app} work
    mkdir -p "$top"
    rm -rf "$top"/fetch.* # leftovers of a failed fetch
    work=$(mktemp -d "$top/fetch.XXXXXX")
    log "registry: fetching io.apicurio:apicurio-registry-app:$REGISTRY_VERSION (classifier all, tar.gz) from Maven Central"
    # (unpack keeps marker files under ${project.basedir}: run it in the work directory)
    if ! (cd "$work" && mvn -B -q org.apache.maven.plugins:maven-dependency-plugin:3.8.1:unpack \
        -Dartifact="io.apicurio:apicurio-registry-app:$REGISTRY_VERSION:tar.gz:all" \
        -DmarkersDirectory="$work/markers" -DoutputDirectory="$work/app") >"$work/mvn.log" 2>&1; then
        show_log_tail "$work/mvn.log"
        die "registry: Maven could not fetch apicurio-registry-app:$REGISTRY_VERSION (log: $work/mvn.log)"
    fi
    [[ -f $work/app/quarkus-run.jar ]] || die "registry: the fetched archive has no quarkus-run.jar (log: $work/mvn.log)"
    touch "$work/app/.complete"
    rm -rf "$REGISTRY_APP"
    mv "$work/app" "$REGISTRY_APP"
    rm -rf "$work"
    log "registry: Apicurio Registry $REGISTRY_VERSION in $REGISTRY_APP"
}

ensure_installed() {
    local name pkgs=() p
    for name in "$@"; do
        while IFS= read -r p; do [[ -n $p ]] && pkgs+=("$p"); done < <(missing_packages "$name")
    done
    if ((${#pkgs[@]})); then
        # de-duplicate
        mapfile -t pkgs < <(printf '%s\n' "${pkgs[@]}" | sort -u)
        apt_install "${pkgs[@]}"
        for p in "${JUST_INSTALLED[@]}"; do
            if [[ -n $(distro_service_port "$p") ]]; then stop_distro_service "$p"; fi
        done
    fi
    for name in "$@"; do
        if [[ $name == kafka ]]; then
            local major
            major=$(java_major)
            if [[ -z $major ]] || ((major < 17)); then
                die "kafka: needs Java 17 or newer as \`java\` on PATH (found: ${major:-none})"
            fi
            fetch_kafka_jars
        fi
        if [[ $name == registry ]]; then
            find_registry_java || die "registry: Apicurio Registry 3 needs Java 21 or newer; none found on PATH, in JAVA_HOME or under /usr/lib/jvm, /opt (install one, e.g. Temurin 21, and set JAVA_HOME)"
            fetch_registry_app
        fi
    done
}

# ---------------------------------------------------------------------------------------------
# Per-broker start

start_redis() {
    local d
    d=$(dir_of redis)
    redis-server --bind 127.0.0.1 --port 6379 --protected-mode yes \
        --save '' --appendonly no --dir "$d" \
        --daemonize yes --pidfile "$(pidfile_of redis)" --logfile "$d/redis.log" \
        </dev/null >>"$d/redis.out" 2>&1 9>&-
}

start_nats() {
    local d pid
    d=$(dir_of nats)
    mkdir -p "$d/jetstream"
    pid=$(spawn "$d/nats.log" nats-server -js -a 127.0.0.1 -p 4222 -sd "$d/jetstream" -P "$(pidfile_of nats)")
    echo "$pid" >"$(pidfile_of nats)"
}

# Environment for our own RabbitMQ node: everything under the state dir, loopback only
# (AMQP listener, Erlang distribution port and epmd), no plugins (no management UI).
rabbit_env() {
    local d
    d=$(dir_of rabbitmq)
    RABBIT_ENV=(
        HOME="$d/home" # the Erlang cookie lives here
        RABBITMQ_CONF_ENV_FILE="$d/rabbitmq-env.conf"
        RABBITMQ_NODENAME="$RABBIT_NODE"
        RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
        RABBITMQ_NODE_PORT=5672
        RABBITMQ_DIST_PORT=25672
        RABBITMQ_CONFIG_FILE="$d/rabbitmq.conf"
        RABBITMQ_ADVANCED_CONFIG_FILE="$d/advanced.config"
        RABBITMQ_ENABLED_PLUGINS_FILE="$d/enabled_plugins"
        RABBITMQ_MNESIA_BASE="$d/mnesia"
        RABBITMQ_LOG_BASE="$d/log"
        RABBITMQ_PID_FILE="$d/beam.pid"
        RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
        ERL_EPMD_ADDRESS=127.0.0.1
    )
}

start_rabbitmq() {
    local d pid
    d=$(dir_of rabbitmq)
    mkdir -p "$d/home" "$d/mnesia" "$d/log"
    chmod 700 "$d/home"
    : >"$d/rabbitmq-env.conf" # keep /etc/rabbitmq/rabbitmq-env.conf from overriding our settings
    echo '[].' >"$d/enabled_plugins" # no management plugin
    cat >"$d/rabbitmq.conf" <<'EOF'
listeners.tcp.default = 127.0.0.1:5672
loopback_users.guest = true
log.file.level = info
log.console = false
EOF
    rm -f "$d/beam.pid"
    [[ -f $d/rabbitmq.out ]] && mv -f "$d/rabbitmq.out" "$d/rabbitmq.out.prev"
    rabbit_env
    pid=$(spawn "$d/rabbitmq.out" env "${RABBIT_ENV[@]}" /usr/lib/rabbitmq/bin/rabbitmq-server)
    echo "$pid" >"$(pidfile_of rabbitmq)"
}

# Loopback only: the API on 8081 and the management interface (health, metrics) on 9000, which
# Quarkus otherwise binds on 0.0.0.0. A small heap and the serial collector: it is a test registry
# on a shared machine. Storage: the default in-memory H2.
start_registry() {
    local d pid
    d=$(dir_of registry)
    [[ -f $d/registry.log ]] && mv -f "$d/registry.log" "$d/registry.log.prev"
    pid=$(cd "$d" && spawn "$d/registry.log" "$REGISTRY_JAVA" -Xmx256m -XX:+UseSerialGC \
        -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
        -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port=8081 \
        -Dquarkus.management.host=127.0.0.1 -Dquarkus.management.port=9000 \
        -jar "$REGISTRY_APP/quarkus-run.jar")
    echo "$pid" >"$(pidfile_of registry)"
}

kafka_tool() {
    local d
    d=$(dir_of kafka)
    java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xmx256m \
        -Dlog4j2.configurationFile="$d/log4j2.properties" -Devtgen.log.level=ERROR \
        -cp "$KAFKA_LIBS/*" "$@"
}

write_kafka_config() {
    local d
    d=$(dir_of kafka)
    mkdir -p "$d/data"
    cat >"$d/server.properties" <<EOF
# Written by scripts/brokers.sh: single-node KRaft (combined broker+controller) on loopback.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:9093
listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093
advertised.listeners=PLAINTEXT://127.0.0.1:9092
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$d/data
num.partitions=1
default.replication.factor=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
EOF
    cat >"$d/log4j2.properties" <<'EOF'
status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = ${sys:evtgen.log.level:-INFO}
rootLogger.appenderRef.out.ref = OUT
logger.state.name = state.change.logger
logger.state.level = WARN
logger.request.name = kafka.request.logger
logger.request.level = WARN
EOF
}

format_kafka() {
    local d cid
    d=$(dir_of kafka)
    if [[ ! -s $d/cluster.id ]]; then
        cid=$(kafka_tool kafka.tools.StorageTool random-uuid 2>>"$d/format.log" | tail -n 1) ||
            die "kafka: could not make a cluster id (see $d/format.log)"
        [[ $cid =~ ^[A-Za-z0-9_-]{22}$ ]] || die "kafka: StorageTool random-uuid printed '$cid'"
        echo "$cid" >"$d/cluster.id"
    fi
    cid=$(<"$d/cluster.id")
    log "kafka: formatting storage in $d/data (cluster id $cid)"
    kafka_tool kafka.tools.StorageTool format -t "$cid" -c "$d/server.properties" --ignore-formatted \
        >>"$d/format.log" 2>&1 || { show_log_tail "$d/format.log"; die "kafka: formatting storage failed (see $d/format.log)"; }
}

start_kafka() {
    local d pid
    d=$(dir_of kafka)
    write_kafka_config
    [[ -f $d/data/meta.properties ]] || format_kafka
    [[ -f $d/kafka.log ]] && mv -f "$d/kafka.log" "$d/kafka.log.prev"
    pid=$(cd "$d" && spawn "$d/kafka.log" java -Xms256m -Xmx512m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
        -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
        -Dlog4j2.configurationFile="$d/log4j2.properties" \
        -cp "$KAFKA_LIBS/*" kafka.Kafka "$d/server.properties")
    echo "$pid" >"$(pidfile_of kafka)"
}

# A real client call: the admin client describes broker 1's configuration.
kafka_client_check() {
    timeout 30 java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xmx256m \
        -Dlog4j2.configurationFile="$(dir_of kafka)/log4j2.properties" -Devtgen.log.level=ERROR \
        -cp "$KAFKA_LIBS/*" kafka.admin.ConfigCommand --bootstrap-server 127.0.0.1:9092 \
        --describe --entity-type brokers --entity-name 1 >/dev/null 2>&1
}

log_of() {
    case $1 in
        kafka) echo "$(dir_of kafka)/kafka.log" ;;
        rabbitmq) echo "$(dir_of rabbitmq)/log/$RABBIT_NODE.log" ;;
        nats) echo "$(dir_of nats)/nats.log" ;;
        redis) echo "$(dir_of redis)/redis.log" ;;
        registry) echo "$(dir_of registry)/registry.log" ;;
    esac
}

timeout_of() {
    if [[ -n ${EVTGEN_BROKERS_TIMEOUT:-} ]]; then echo "$EVTGEN_BROKERS_TIMEOUT"; return; fi
    case $1 in
        kafka | registry) echo 90 ;;
        rabbitmq) echo 60 ;;
        *) echo 20 ;;
    esac
}

# Before starting: the broker's ports must be free (an answering broker was handled already).
check_ports_free() {
    local name=$1 port ports
    read -ra ports <<<"$(addr_of "$name" | cut -d: -f2) $(extra_ports_of "$name")"
    for port in "${ports[@]}"; do
        if port_open "$port"; then
            die "$name: port 127.0.0.1:$port is in use by another program that is not $name; free it first"
        fi
    done
}

start_broker() {
    local name=$1
    mkdir -p "$(dir_of "$name")"
    check_ports_free "$name"
    log "$name: starting (log: $(log_of "$name"))"
    "start_$name" || die "$name: could not be started; see $(log_of "$name") and $(dir_of "$name")"
}

# Wait until the broker answers; 0 = ready. On failure print a one-line reason in FAIL_REASON.
FAIL_REASON=
wait_broker() {
    local name=$1 started=$2 limit pids now
    limit=$(timeout_of "$name")
    while :; do
        if answers "$name"; then
            if [[ $name == kafka ]] && ! kafka_client_check; then
                FAIL_REASON="kafka answers on 127.0.0.1:9092 but an admin client call failed; see $(log_of kafka)"
                return 1
            fi
            if [[ $name == registry ]] && ! registry_ready; then
                # the API may answer a moment before the readiness checks pass: keep waiting
                if (($(date +%s) - started < limit)); then sleep 0.5; continue; fi
                FAIL_REASON="registry answers on 127.0.0.1:8081 but is not ready on 127.0.0.1:9000/health/ready; see $(log_of registry)"
                return 1
            fi
            log "$name: ready on $(addr_of "$name") after $(($(date +%s) - started))s"
            return 0
        fi
        mapfile -t pids < <(managed_pids "$name")
        if ((${#pids[@]} == 0)) && [[ $name != rabbitmq || $(($(date +%s) - started)) -gt 3 ]]; then
            FAIL_REASON="$name exited during startup; see $(log_of "$name")"
            return 2
        fi
        now=$(date +%s)
        if ((now - started >= limit)); then
            FAIL_REASON="$name did not answer on $(addr_of "$name") within ${limit}s; see $(log_of "$name")"
            return 1
        fi
        sleep 0.5
    done
}

# ---------------------------------------------------------------------------------------------
# Commands

cmd_up() {
    local name to_start=() failed=0 rc
    declare -A started_at=()
    mkdir -p "$STATE_DIR"
    for name in "$@"; do
        if answers "$name"; then
            if [[ -n $(managed_pids "$name") ]]; then
                log "$name: already running on $(addr_of "$name")"
            else
                log "$name: already running on $(addr_of "$name") (external, not started by $PROG)"
            fi
        else
            to_start+=("$name")
        fi
    done
    if ((${#to_start[@]})); then
        ensure_installed "${to_start[@]}"
        # Start everything first, then wait: RabbitMQ and Kafka boot in parallel.
        for name in "${to_start[@]}"; do
            if [[ -n $(managed_pids "$name") ]]; then
                log "$name: started earlier, still booting; waiting for it"
            else
                start_broker "$name"
            fi
            started_at[$name]=$(date +%s)
        done
        # Wait for the quick ones first, so each "ready after" is about right.
        local waits=() w
        for w in redis nats registry rabbitmq kafka; do
            [[ " ${to_start[*]} " == *" $w "* ]] && waits+=("$w")
        done
        for name in "${waits[@]}"; do
            rc=0
            wait_broker "$name" "${started_at[$name]}" || rc=$?
            if ((rc == 2)) && [[ $name == kafka ]] && ! grep -q 'Address already in use' "$(log_of kafka)" 2>/dev/null; then
                # Most likely a broken log directory (e.g. after a hard kill mid-format): reformat once.
                show_log_tail "$(log_of kafka)"
                log "kafka: exited during startup; wiping $(dir_of kafka)/data and formatting it again"
                rm -rf "$(dir_of kafka)/data"
                start_broker kafka
                rc=0
                wait_broker kafka "$(date +%s)" || rc=$?
            fi
            if ((rc != 0)); then
                show_log_tail "$(log_of "$name")"
                printf '%s: error: %s\n' "$PROG" "$FAIL_REASON" >&2
                failed=1
            fi
        done
    fi
    ((failed == 0)) || exit 1
    for name in "$@"; do
        printf '%s %s=%s\n' "$name" "$(var_of "$name")" "$(url_of "$name")"
    done
}

cmd_down() {
    local name pids grace
    for name in "$@"; do
        mapfile -t pids < <(managed_pids "$name")
        if ((${#pids[@]})); then
            case $name in kafka) grace=60 ;; rabbitmq | registry) grace=30 ;; *) grace=10 ;; esac
            log "$name: stopping (pid ${pids[*]})"
            stop_pids "$name" "$grace" "${pids[@]}"
            log "$name: stopped"
        elif answers "$name"; then
            log "$name: answering on $(addr_of "$name") but not started by $PROG; leaving it running"
        else
            log "$name: not running"
        fi
        rm -f "$(pidfile_of "$name")"
        [[ $name == rabbitmq ]] && rm -f "$(dir_of rabbitmq)/beam.pid"
    done
    return 0
}

cmd_status() {
    local name pids rc=0
    for name in "$@"; do
        mapfile -t pids < <(managed_pids "$name")
        if answers "$name"; then
            if ((${#pids[@]})); then
                printf '%-9s running  %-22s (pid %s)\n' "$name" "$(addr_of "$name")" "${pids[0]}"
            else
                printf '%-9s running  %-22s (external, not started by %s)\n' "$name" "$(addr_of "$name")" "$PROG"
            fi
        elif ((${#pids[@]})); then
            printf '%-9s starting %-22s (pid %s, not answering yet)\n' "$name" "$(addr_of "$name")" "${pids[0]}"
            rc=3
        else
            printf '%-9s stopped  %s\n' "$name" "$(addr_of "$name")"
            rc=3
        fi
    done
    return "$rc"
}

main() {
    (($# >= 1)) || { usage; exit 2; }
    local cmd=$1; shift
    if [[ $cmd == _probe ]]; then
        "probe_$1"
        return
    fi
    case $cmd in
        up | down | status) ;;
        -h | --help | help) usage; exit 0 ;;
        *) usage; die "unknown command '$cmd'" ;;
    esac
    local names=() n seen=" "
    if (($# == 0)); then
        if [[ $cmd == down ]]; then set -- "${EVERYTHING[@]}"; else set -- "${ALL_BROKERS[@]}"; fi
    fi
    for n in "$@"; do
        case $n in
            kafka | rabbitmq | nats | redis | registry) ;;
            *) die "unknown broker '$n' (expected kafka, rabbitmq, nats, redis or registry)" ;;
        esac
        [[ $seen == *" $n "* ]] || { names+=("$n"); seen+="$n "; }
    done
    mkdir -p "$STATE_DIR" || die "cannot create state directory $STATE_DIR"
    if [[ $cmd != status ]] && have_cmd flock; then
        exec 9>"$STATE_DIR/.lock"
        flock -w 300 9 || die "another $PROG is running for $STATE_DIR (lock held for 300s)"
    fi
    "cmd_$cmd" "${names[@]}"
}

main "$@"
