#!/bin/bash
# Entrypoint of the rabbitmq:3.13-management stand-in (see the Dockerfile beside it).
set -euo pipefail

log() { echo "rabbitmq stand-in: $*" >&2; }

# Keys RabbitMQ 3.10 does not know, which it would refuse to boot with. What they do
# in 3.13 is done another way here or not needed (docs/development.md, "The stack test").
UNKNOWN_KEYS='^[[:space:]]*quorum_queue\.continuous_membership_reconciliation\.'

if [ -n "${RABBITMQ_ERLANG_COOKIE:-}" ]; then
    cookie="$HOME/.erlang.cookie"
    rm -f "$cookie"
    printf '%s' "$RABBITMQ_ERLANG_COOKIE" > "$cookie"
    chmod 400 "$cookie"
fi

# The config the server reads: the image's defaults, then every mounted
# /etc/rabbitmq/conf.d/*.conf in name order, each without the unknown keys.
conf_dir=$(mktemp -d /tmp/rabbitmq-conf.d.XXXXXX)
{
    echo "loopback_users.guest = false"
    echo "listeners.tcp.default = 5672"
    echo "management.tcp.port = 15672"
    if [ -n "${RABBITMQ_DEFAULT_USER:-}" ]; then
        echo "default_user = $RABBITMQ_DEFAULT_USER"
    fi
    if [ -n "${RABBITMQ_DEFAULT_PASS:-}" ]; then
        echo "default_pass = $RABBITMQ_DEFAULT_PASS"
    fi
} > "$conf_dir/10-defaults.conf"
shopt -s nullglob
for file in /etc/rabbitmq/conf.d/*.conf; do
    name=$(basename "$file")
    if grep -Eq "$UNKNOWN_KEYS" "$file"; then
        log "$name: left out for RabbitMQ $(dpkg-query -W -f '${Version}' rabbitmq-server): $(grep -E "$UNKNOWN_KEYS" "$file" | cut -d= -f1 | tr -s ' \n' ' ')"
    fi
    grep -Ev "$UNKNOWN_KEYS" "$file" > "$conf_dir/$name" || true
done
export RABBITMQ_CONFIG_FILES="$conf_dir"

# Debian's /usr/sbin/rabbitmq-server runs the server as a child of a shell that, as
# PID 1, ignores SIGTERM (so `docker stop` ends in a SIGKILL, exit 137), and sends
# its output to /var/log/rabbitmq. Run the server script itself: it traps SIGTERM,
# stops the node cleanly and exits 0, as the official image does.
if [ "${1:-}" = rabbitmq-server ]; then
    shift
    set -- /usr/lib/rabbitmq/bin/rabbitmq-server "$@"
fi
exec "$@"
