"""gunicorn settings for an app host behind nginx (deploy/nginx.conf); docs/deploy.md.

`nextapi start` runs gunicorn in its working directory, so a gunicorn.conf.py there is read,
or name this one: GUNICORN_CMD_ARGS="--config /srv/board/deploy/gunicorn.conf.py". What
`nextapi start` passes itself (--workers, --bind from --host/--port) wins over this file.
tests/cluster starts every app host with this file.
"""
import os

# nextapi start --host 0.0.0.0 --port 8000 sets these; for `gunicorn -c this nextapi.wsgi:app`:
bind = os.environ.get("BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * (os.cpu_count() or 1) + 1))

# Sync workers: nginx buffers requests and answers, so a slow client never holds a worker, and
# each worker has one connection from its own pool (board_pg). For handlers that wait a lot,
# worker_class = "gthread" with threads = 4 (BOARD_POOL_SIZE at least the threads).
worker_class = "sync"

# Graceful restarts (SIGTERM, or SIGHUP for new code): the listening socket is closed, nginx
# sends new requests to the other hosts, and requests in flight get up to graceful_timeout to
# finish. A worker stuck longer than `timeout` is killed and replaced.
timeout = 30
graceful_timeout = 20
backlog = 128

# Recycle workers now and then, so slow leaks never add up (jitter: not all at once).
max_requests = 20000
max_requests_jitter = 2000

# Connections are opened lazily in each worker after the fork (board_pg checks the pid), so
# preloading would be safe; it stays off so SIGHUP reloads the code.
preload_app = False

# Only nginx talks to the app host: believe its X-Forwarded-Proto (wsgi.url_scheme). For
# req.ip set NEXTAPI_TRUSTED_PROXIES to nginx's address.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

accesslog = os.environ.get("ACCESS_LOG", "-") or None  # stdout for the journal; ACCESS_LOG= for none
errorlog = "-"
loglevel = "info"
proc_name = "board"

# gunicorn 27's control socket (for gunicornc) sits in the user's home, one path for every
# gunicorn of that user on the machine; off here (older gunicorns ignore the name).
control_socket_disable = True
