# Backup and restore of a platform's data folder (sourced by tools/nano, after prereqs.sh).
#
# A backup is one tar file: database.dump (pg_dump of the embedded cluster's database, custom format), the image store
# (images/, without uploads in flight), the zone's keys (secrets.key, which seals guests' passwords in the database;
# tls/, the zone CA cells trust; cell-token, metrics-token) and MANIFEST.sha256, the SHA-256 of every other file in it. Guests' volumes
# stay on their cells. It holds the zone's keys: it is written readable by root only and must be kept like them.

# The embedded cluster of a data folder: its folder, binaries, and whether it runs.
cluster_dir() { echo "$1/postgres"; }
cluster_bin() { echo "/usr/lib/postgresql/$(cat "$(cluster_dir "$1")/data/PG_VERSION")/bin"; }

as_postgres() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

cluster_running() {
    local pg; pg=$(cluster_dir "$1")
    [ -f "$pg/data/PG_VERSION" ] && as_postgres "$(cluster_bin "$1")/pg_ctl" -D "$pg/data" status >/dev/null 2>&1
}

# cluster_start DATA_DIR: starts the cluster as nano-server does (socket in its folder, no TCP); cluster_stop stops it.
cluster_start() {
    local pg; pg=$(cluster_dir "$1")
    as_postgres "$(cluster_bin "$1")/pg_ctl" -D "$pg/data" -w -l "$pg/postgres.log" \
        -o "-p 5432 -k $pg -c listen_addresses=''" start >/dev/null
}
cluster_stop() {
    local pg; pg=$(cluster_dir "$1")
    as_postgres "$(cluster_bin "$1")/pg_ctl" -D "$pg/data" -m fast -w stop >/dev/null
}

# cluster_init DATA_DIR: a new cluster, as nano-server makes one (its own password, kept for the cluster's user only).
cluster_init() {
    local pg bin
    pg=$(cluster_dir "$1")
    bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    mkdir -p "$pg"
    if [ "$(id -u)" = 0 ]; then
        id -u postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
        chown postgres:postgres "$pg"
        setfacl -m u:postgres:x "$1" 2>/dev/null || true
    fi
    chmod 0700 "$pg"
    (umask 077 && head -c 24 /dev/urandom | base64 | tr -d '/+=\n' > "$pg/password")
    printf '*:*:*:postgres:%s\n' "$(cat "$pg/password")" > "$pg/pgpass"
    chmod 0600 "$pg/password" "$pg/pgpass"
    [ "$(id -u)" != 0 ] || chown postgres:postgres "$pg/password" "$pg/pgpass"
    as_postgres "$bin/initdb" -D "$pg/data" -U postgres --auth=scram-sha-256 --pwfile "$pg/password" --no-instructions -E UTF8 --locale=C >/dev/null
}

# pg_tool DATA_DIR TOOL ARGS...: runs a client tool of the cluster against its database "postgres".
pg_tool() {
    local data=$1 tool=$2 pg
    shift 2
    pg=$(cluster_dir "$data")
    PGPASSFILE="$pg/pgpass" "$(cluster_bin "$data")/$tool" -h "$pg" -p 5432 -U postgres "$@"
}

# The files of a data folder a backup carries besides the dump, relative to it.
backup_files() {
    local data=$1 f
    for f in secrets.key cell-token metrics-token; do [ ! -f "$data/$f" ] || echo "$f"; done
    [ ! -d "$data/tls" ] || (cd "$data" && find tls -type f)
    [ ! -d "$data/images" ] || (cd "$data" && find images -path images/.incoming -prune -o -type f -print)
}

# nano_backup FILE DATA_DIR: on a running platform (its cluster is running: a consistent dump while it works) or a
# stopped one (the cluster is started for the dump and stopped again).
nano_backup() {
    local file=$1 data=$2 staging started=0
    [ -f "$(cluster_dir "$data")/data/PG_VERSION" ] || { say "no database in $data (--data-dir): nothing to back up"; return 1; }
    staging=$(mktemp -d "${TMPDIR:-/tmp}/nano-backup-XXXXXX")
    chmod 0700 "$staging"
    if ! cluster_running "$data"; then
        cluster_start "$data"
        started=1
    fi
    say "dumping the database"
    if ! pg_tool "$data" pg_dump -d postgres -Fc -f "$staging/database.dump"; then
        [ "$started" = 0 ] || cluster_stop "$data"
        rm -rf "$staging"
        return 1
    fi
    [ "$started" = 0 ] || cluster_stop "$data"
    say "checksumming the image store and the zone's keys"
    local list="$staging/files"
    backup_files "$data" > "$list"
    (cd "$staging" && sha256sum database.dump) > "$staging/MANIFEST.sha256"
    (cd "$data" && tr '\n' '\0' < "$list" | xargs -0 -r sha256sum) >> "$staging/MANIFEST.sha256"
    (umask 077 && tar -cf "$file.partial" -C "$staging" MANIFEST.sha256 database.dump -C "$data" -T "$list")
    mv "$file.partial" "$file"
    say "backup written: $file ($(du -h "$file" | cut -f1), $(($(wc -l < "$staging/MANIFEST.sha256") - 1)) files besides the database; it holds the zone's keys: keep it like them)"
    rm -rf "$staging"
}

# nano_restore FILE DATA_DIR: only while the platform is stopped. Checks every checksum before it changes anything;
# what the data folder held before (images, keys) is kept beside it as *.before-restore-<time>, never deleted.
nano_restore() {
    local file=$1 data=$2 staging stamp
    [ -f "$file" ] || { say "no backup file $file"; return 1; }
    mkdir -p "$data"
    if cluster_running "$data"; then
        say "the platform of $data is running (its database is): stop it first (Ctrl-C on nano up)"
        return 1
    fi
    staging=$(mktemp -d "$data/.restore-XXXXXX")
    chmod 0700 "$staging"
    tar -xf "$file" -C "$staging"
    if ! (cd "$staging" && sha256sum --quiet -c MANIFEST.sha256); then
        say "the backup $file is damaged (a checksum does not match): nothing was restored"
        rm -rf "$staging"
        return 1
    fi
    stamp=$(date +%Y%m%dT%H%M%S)
    [ -f "$(cluster_dir "$data")/data/PG_VERSION" ] || cluster_init "$data"
    cluster_start "$data"
    say "restoring the database"
    if ! pg_tool "$data" psql -q -v ON_ERROR_STOP=1 -d postgres -c 'SET client_min_messages = warning; DROP SCHEMA public CASCADE; CREATE SCHEMA public;' ||
       ! pg_tool "$data" pg_restore --no-owner --exit-on-error -d postgres "$staging/database.dump"; then
        cluster_stop "$data"
        rm -rf "$staging"
        say "the database could not be restored"
        return 1
    fi
    cluster_stop "$data"
    local item
    for item in images tls secrets.key cell-token metrics-token; do
        [ -e "$staging/$item" ] || continue
        [ ! -e "$data/$item" ] || mv "$data/$item" "$data/$item.before-restore-$stamp"
        mv "$staging/$item" "$data/$item"
    done
    rm -rf "$staging"
    say "restored $file into $data. Start the platform (nano up): cells rejoin, and their domains this backup does not know are kept and listed (GET /api/v1/unknown_domains)"
}
