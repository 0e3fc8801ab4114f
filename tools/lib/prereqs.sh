# Sourced by tools/nano and tools/test: installs what a fresh Debian 12 machine lacks.
# Everything comes from Debian's packages, NuGet and npm; nothing else is reachable.

NANO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

say() { printf '[nano] %s\n' "$*" >&2; }

_apt_updated=0
apt_install() {
    if [ "$(id -u)" != 0 ]; then
        say "missing: $* (run as root, or install these Debian packages yourself)"
        return 1
    fi
    if [ "$_apt_updated" = 0 ]; then
        say "apt-get update"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
        _apt_updated=1
    fi
    say "apt-get install $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

have() { command -v "$1" >/dev/null 2>&1; }

# The .NET SDK is not a Debian package: it comes with this kind of machine.
need_dotnet() {
    have dotnet || { say "the .NET 10 SDK (dotnet) is required and not on PATH"; exit 1; }
}

# PostgreSQL server binaries (initdb, pg_ctl) for the embedded cluster; runuser for running them as 'postgres'
# and setfacl for letting that user into a data folder only root may enter (mktemp -d).
need_postgres() {
    local missing=()
    ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || missing+=(postgresql)
    have runuser || missing+=(util-linux)
    have setfacl || missing+=(acl)
    [ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
}

# The npm tools, into tools/node_modules: buf (proto lint, breaking check, buf curl), playwright-core (browser tests)
# and noVNC (the console page the server serves). Debian's nodejs has no npm of its own; other builds of nodejs
# (NodeSource) bring theirs. Installed again whenever tools/package-lock.json changed since the last install.
need_node_tools() {
    have node || apt_install nodejs
    have npm || apt_install npm
    npm_ci "$NANO_ROOT/tools" "tools: buf, playwright-core, noVNC"
}

# npm ci in folder $1 (said as $2), unless its node_modules was installed from its current package-lock.json.
npm_ci() {
    if [ ! -f "$1/node_modules/.package-lock.json" ] || [ "$1/package-lock.json" -nt "$1/node_modules/.package-lock.json" ]; then
        say "npm ci ($2)"
        (cd "$1" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    fi
}

# The example clients (examples/): Debian's python3 with grpcio and protobuf, protoc 3.21 and grpc_python_plugin for
# buf generate, and the Node example's packages (protoc-gen-es, Connect's gRPC transport) in examples/node/node_modules.
need_examples() {
    local missing=()
    /usr/bin/python3 -c 'import grpc, google.protobuf' 2>/dev/null || missing+=(python3-grpcio python3-protobuf)
    have protoc || missing+=(protobuf-compiler)
    have grpc_python_plugin || missing+=(protobuf-compiler-grpc)
    [ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
    npm_ci "$NANO_ROOT/examples/node" "examples/node"
}

# What only the tests use: Debian's Chromium (driven headless by playwright-core), Prometheus with promtool (the
# /metrics checks), tmux (the command-line client driven as a person would), nginx (the load balancer of
# tools/nano nginx-config; the tests run their own on loopback ports).
need_test_tools() {
    local missing=()
    have chromium || missing+=(chromium)
    have promtool || missing+=(prometheus)
    have tmux || missing+=(tmux)
    [ -x /usr/sbin/nginx ] || missing+=(nginx)
    [ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
    # Where the package's own service started (a host with systemd), it would serve its default site on port 80: stopped.
    if [[ " ${missing[*]} " == *" nginx "* ]] && pgrep -x nginx >/dev/null; then
        say "stopping the nginx service its package started (the tests run their own)"
        { have systemctl && systemctl stop nginx 2>/dev/null; } || /usr/sbin/nginx -s quit 2>/dev/null || true
    fi
}

# libvirt.so.0 for the binding (its tests use the in-process test:///default driver).
need_libvirt_client() {
    ls /usr/lib/*/libvirt.so.0 >/dev/null 2>&1 || apt_install libvirt0
}

# A root-run libvirtd with QEMU/KVM for the cell agent (guests' QEMU itself runs unprivileged). There is no systemd on these machines, so
# the daemons are started here (once; later calls find them running).
need_libvirtd() {
    local missing=()
    have libvirtd || missing+=(libvirt-daemon libvirt-daemon-driver-qemu)
    have virsh || missing+=(libvirt-clients)
    have qemu-system-x86_64 || missing+=(qemu-system-x86)
    have qemu-img && have qemu-io || missing+=(qemu-utils)
    have genisoimage || missing+=(genisoimage)
    # What the agent, the end-to-end tests and the benches call beside libvirt.
    have pgrep || missing+=(procps)
    have ip || missing+=(iproute2)
    have unshare && have mount && have runuser || missing+=(util-linux mount)
    # The agent lets QEMU's user through its folders with an access entry (setfacl), as tried by runuser.
    have setfacl || missing+=(acl)
    # Guests' firewalls are libvirt nwfilters (iptables and ebtables); NAT networks need dnsmasq.
    # libvirtd looks for these when it starts, so they come first.
    have iptables || missing+=(iptables)
    have ebtables || missing+=(ebtables)
    have dnsmasq || [ -x /usr/sbin/dnsmasq ] || missing+=(dnsmasq-base)
    # libvirt's stock filters: every guest's filter includes clean-traffic (no MAC, IP or ARP spoofing). libvirtd reads
    # them when it starts.
    local restart=0
    [ -f /etc/libvirt/nwfilter/clean-traffic.xml ] || { missing+=(libvirt-daemon-config-nwfilter); restart=1; }
    [ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}" libvirt0
    if [ "$(id -u)" = 0 ]; then
        # Debian's packages do not create /etc/libvirt (nor always the daemon's state folders): a host that
        # never had libvirt installed by hand has none of them.
        mkdir -p /etc/libvirt /var/log/libvirt /var/run/libvirt /var/lib/libvirt /var/lib/nano
        getent group kvm >/dev/null || groupadd --system kvm
        getent group libvirt-qemu >/dev/null || groupadd --system libvirt-qemu
        id libvirt-qemu >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin -g libvirt-qemu -G kvm libvirt-qemu
        # Guests' QEMU runs as libvirt-qemu (group kvm, for /dev/kvm), and libvirt's DAC driver hands each guest its
        # own files when it starts (dynamic ownership) and nothing else; AppArmor and SELinux stay off (hosts differ).
        local conf=/etc/libvirt/qemu.conf
        if grep -q '^# nano-grpc root-run settings' "$conf" 2>/dev/null; then
            sed -i '/^# nano-grpc root-run settings/,+4d' "$conf"   # what earlier versions wrote: QEMU as root
        fi
        if ! grep -q '^# nano-grpc settings' "$conf" 2>/dev/null; then
            printf '# nano-grpc settings\nuser = "libvirt-qemu"\ngroup = "kvm"\ndynamic_ownership = 1\nsecurity_driver = "none"\n' >> "$conf"
            restart=1
        fi
        # Disk leases: libvirt's lockd plugin has virtlockd hold a lock on every disk a guest opens (on the disk file
        # itself, so on the shared folder for guests of shared storage), taken before the guest's CPUs first run and
        # kept while its QEMU lives, by a daemon that outlives libvirtd restarts. A second QEMU, on this host or on
        # another that sees the same files, is refused the disk until the first ends. Guests already running when
        # this is first set keep running, without a lease until their next start.
        if ! grep -q '^lock_manager' "$conf" 2>/dev/null; then
            printf '# nano-grpc disk leases\nlock_manager = "lockd"\n' >> "$conf"
            restart=1
        fi
        # Without udev (containers, minimal hosts) /dev/kvm stays root's alone; udev's own rule makes it root:kvm 0660.
        if [ -c /dev/kvm ] && ! runuser -u libvirt-qemu -- test -r /dev/kvm -a -w /dev/kvm; then
            chgrp kvm /dev/kvm && chmod 0660 /dev/kvm
        fi
        # libvirtd asks virtlockd for every lease: it runs first.
        pgrep -x virtlockd >/dev/null || virtlockd -d
        if [ "$restart" = 1 ] && pgrep -x libvirtd >/dev/null; then
            say "restarting libvirtd for its new settings (running guests keep running)"
            pkill -x libvirtd
            for _ in $(seq 1 50); do pgrep -x libvirtd >/dev/null || break; sleep 0.2; done
        fi
    fi
    pgrep -x virtlogd >/dev/null || virtlogd -d
    # A daemon that is still shutting down makes a new one exit at once: try a few times.
    local attempt
    for attempt in 1 2 3; do
        if pgrep -x libvirtd >/dev/null && [ -S /var/run/libvirt/libvirt-sock ]; then
            break
        fi
        pgrep -x libvirtd >/dev/null || libvirtd -d
        for _ in $(seq 1 25); do [ -S /var/run/libvirt/libvirt-sock ] && pgrep -x libvirtd >/dev/null && break; sleep 0.2; done
    done
    pgrep -x libvirtd >/dev/null && [ -S /var/run/libvirt/libvirt-sock ] || { say "libvirtd did not start (see /var/log/libvirt/libvirtd.log)"; return 1; }
    [ -e /dev/kvm ] || say "no /dev/kvm: guests run under QEMU's emulator (TCG), slowly"
}

# A libvirt NAT network for guests (DHCP and outbound NAT through dnsmasq and iptables) on bridge $2:
# the bridge nano-cell's --bridge joins, where guests' firewalls (nwfilters) bind to their NICs.
need_guest_network() {
    local name=$1 bridge=$2 prefix=$3   # e.g. nano nano0 192.168.251
    have virsh || apt_install libvirt-clients
    if ! virsh -c qemu:///system net-info "$name" >/dev/null 2>&1; then
        local xml
        xml=$(mktemp)
        cat >"$xml" <<XML
<network><name>$name</name><forward mode='nat'/><bridge name='$bridge' stp='on' delay='0'/>
<ip address='$prefix.1' netmask='255.255.255.0'><dhcp><range start='$prefix.10' end='$prefix.250'/></dhcp></ip></network>
XML
        virsh -c qemu:///system net-define "$xml" >/dev/null
        rm -f "$xml"
    fi
    # libvirtd may be restoring the network's state while this runs: starting it twice is no failure.
    net_active "$name" || virsh -c qemu:///system net-start "$name" >/dev/null 2>&1 || net_active "$name" \
        || { say "cannot start the libvirt network $name"; virsh -c qemu:///system net-start "$name"; return 1; }
}

net_active() {
    # Not through `| grep -q`: with pipefail, grep leaving early makes virsh's SIGPIPE the pipeline's failure.
    [[ $(virsh -c qemu:///system net-info "$1" 2>/dev/null) =~ Active:[[:space:]]+yes ]]
}

# Benchmarks run their embedded PostgreSQL without fsync (a setting for tests and benches only) and say so
# next to their figures.
bench_database_args=(--Nano:DatabaseFsync=false)
bench_database_note() { echo "database: embedded PostgreSQL with fsync off (a benchmark setting; nano up runs it durable)"; }
