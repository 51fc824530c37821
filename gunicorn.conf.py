"""gunicorn settings for scripts/serve.sh (every value from the environment, documented in the
README's Deploy section).

Threaded workers (``gthread``): a request to the CCC proxy mostly waits on Alibaba's network, so
threads keep a worker busy with other agents meanwhile. The app is loaded before forking, so a
wrong production variable stops the start with Django's message naming it, not in a request.
"""

import os

bind = os.environ.get("BIND", "0.0.0.0:8000")
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
# Seconds: a request past it is aborted and its worker restarted. Above the upstream timeouts
# (ALIYUN_CONNECT_TIMEOUT + ALIYUN_READ_TIMEOUT) so that an upstream stall answers 504, not 502.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
preload_app = True
# Addresses whose X-Forwarded-* headers are believed (the TLS proxy's); "*" only when the
# instance is reachable by nothing else.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# One line per request on stdout (GUNICORN_ACCESS_LOG=0: none): the path without its query (which
# may carry an authorization code), status, size, milliseconds and the request id.
accesslog = None if os.environ.get("GUNICORN_ACCESS_LOG", "1") == "0" else "-"
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms request_id=%({x-request-id}o)s'
errorlog = "-"
wsgi_app = "crmdemo.wsgi:application"
# gunicorn's control socket (gunicornc) sits at one fixed path per user: instances on one host
# would share it, and nothing here uses it.
control_socket_disable = True
