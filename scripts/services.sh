#!/usr/bin/env bash
# Make sure the real Redis and PostgreSQL the tests talk to are up; start them or fail clearly.
set -u
redis_up() { (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; }
pg_up() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }

if ! redis_up; then
  echo "services: Redis is not answering on 127.0.0.1:6379, starting it" >&2
  if command -v redis-server >/dev/null; then
    mkdir -p /tmp/redis-sft
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
      --dir /tmp/redis-sft --logfile /tmp/redis-sft/redis.log >/dev/null
  fi
  for _ in $(seq 1 50); do redis_up && break; sleep 0.1; done
  redis_up || { echo "services: ERROR: Redis 127.0.0.1:6379 is down and could not be started (install redis-server)" >&2; exit 1; }
fi

if ! pg_up; then
  echo "services: PostgreSQL is not answering on 127.0.0.1:5432, starting it" >&2
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
  for _ in $(seq 1 100); do pg_up && break; sleep 0.1; done
  pg_up || { echo "services: ERROR: PostgreSQL 127.0.0.1:5432 is down and could not be started (database 'test', trust auth expected)" >&2; exit 1; }
fi
echo "services: Redis 127.0.0.1:6379 and PostgreSQL 127.0.0.1:5432 are up"
