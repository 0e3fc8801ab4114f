# Shared by the benchmarks that need a running platform: a Release nano-server on its own ports and data
# folder, one local nano-cell, an initialised admin session ($api, $session, H=(-H "Nano-Session: ...")),
# and a clean-up that stops both and removes the guests the run left behind. Source after prereqs.sh.

# bench_platform NAME REST_PORT GRPC_PORT: starts everything; sets work, server (pid), api, session, H, cell.
bench_platform() {
    local name=$1 rest=$2 grpc=$3 token="bench-$1-token"
    have curl || apt_install curl
    have jq || apt_install jq
    have virsh || apt_install libvirt-clients
    say "building (Release)"
    need_node_tools # noVNC, which the server build copies
    dotnet build "$NANO_ROOT/src/Nano.Server/Nano.Server.csproj" -c Release -v quiet -nologo >/dev/null
    dotnet build "$NANO_ROOT/src/Nano.Cell/Nano.Cell.csproj" -c Release -v quiet -nologo >/dev/null
    work=$(mktemp -d -p "${NANO_BENCH_DIR:-/var/tmp}")
    chmod 755 "$work"
    cell="bench-$name-cell"
    bench_pids=()
    trap bench_cleanup EXIT
    dotnet "$NANO_ROOT/src/Nano.Server/bin/Release/net10.0/nano-server.dll" --Nano:RestPort="$rest" --Nano:GrpcPort="$grpc" \
        --Nano:DataDir="$work/server" "${bench_database_args[@]}" --Nano:CellToken="$token" --Nano:SessionTimeoutSeconds=3600 --Nano:CellCommandTimeoutSeconds=60 \
        --Logging:LogLevel:Default=Warning >"$work/server.log" 2>&1 &
    server=$!
    bench_pids+=("$server")
    api="http://127.0.0.1:$rest/api/v1"
    for _ in $(seq 1 120); do curl -s -o /dev/null "$api/system/" && break; sleep 0.5; done
    curl -s -X POST "$api/system/" --json '{"user":"bench","password":"Bench2026Pass","menu":["compute_pool","instance","image","media","user"]}' >/dev/null
    session=$(curl -s -X POST "$api/sessions/" --json '{"user":"bench","password":"Bench2026Pass","nonce":""}' | jq -r .data.session)
    H=(-H "Nano-Session: $session")
    dotnet "$NANO_ROOT/src/Nano.Cell/bin/Release/net10.0/nano-cell.dll" --server "http://127.0.0.1:$grpc" --token "$token" --name "$cell" \
        --address 127.0.0.1 --storage-path "$work/images" --mount-root "$work/mounts" --state-file "$work/cell.json" \
        --Logging:LogLevel:Default=Warning >"$work/cell.log" 2>&1 &
    bench_pids+=($!)
    for _ in $(seq 1 120); do curl -s "${H[@]}" "$api/compute_pool_cells/" | grep -q "\"$cell\"" && break; sleep 0.5; done
    curl -s -X POST "${H[@]}" "$api/compute_pool_cells/default/$cell" >/dev/null
    for _ in $(seq 1 120); do [ "$(curl -s "${H[@]}" "$api/compute_cell_status/$cell" | jq .data.available_memory)" -gt 0 ] && break; sleep 0.5; done
}

bench_cleanup() {
    for pid in "${bench_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${bench_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    # the guests the run created (their domains name this cell in their metadata)
    for d in $(virsh -c qemu:///system list --all --name 2>/dev/null); do
        [[ $(virsh -c qemu:///system dumpxml "$d" 2>/dev/null) == *"cell=\"$cell\""* ]] || continue
        virsh -c qemu:///system destroy "$d" >/dev/null 2>&1 || true
        virsh -c qemu:///system undefine "$d" >/dev/null 2>&1 || true
    done
    rm -rf "$work"
}

now_ms() { date +%s%3N; }

# The server's CPU time so far, in milliseconds.
server_cpu_ms() { awk '{ print ($14 + $15) * 10 }' "/proc/$server/stat"; }

# new_image AREA NAME: creates a media_images or disk_images record; prints its id.
new_image() { curl -s -X POST "${H[@]}" "$api/$1/" --json "{\"name\":\"$2\"}" | jq -r .data.id; }

# wait_created GUEST: polls GET /guests/GUEST every 10 ms until created (exits on a failure).
wait_created() {
    local state
    for _ in $(seq 1 60000); do
        state=$(curl -s "${H[@]}" "$api/guests/$1")
        [ "$(jq .data.created <<<"$state")" = true ] && return 0
        [ "$(jq .error_code <<<"$state")" = 0 ] || { say "guest $1 failed: $state"; exit 1; }
        sleep 0.01
    done
    say "guest $1 was not created in time"; exit 1
}
