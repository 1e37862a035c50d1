"""gunicorn settings for production: ``gunicorn -c gunicorn.conf.py 'app:create_app()'``.

Threaded workers (gthread): a request waiting on an outside call (WeChat's
code2Session, up to WECHAT_TIMEOUT) holds one thread, not a whole worker, so
check-ins go on meanwhile; and the worker's heartbeat runs in its main loop,
so gunicorn's ``timeout`` never kills a worker for one slow request. Not
gevent: psycopg would need monkey-patching. Command-line flags override these.
"""
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
timeout = 30  # a worker whose main loop is stuck this long is restarted
graceful_timeout = 30  # on restart, requests in flight get this long to finish
keepalive = 5
limit_request_line = 8190  # long cursors and query strings; gunicorn's maximum
accesslog = None  # the app logs every request itself, as JSON
errorlog = "-"
