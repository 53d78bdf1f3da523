"""The baseline: a bare Flask app with one route returning a small fixed JSON.

Served like the registry (gunicorn, sync workers, access log on), it gives the ceiling that
Flask + gunicorn + the load generator reach on this machine; the registry's throughput is
reported as a ratio of it.

    .venv/bin/gunicorn --no-control-socket -w 2 -b 127.0.0.1:8001 --chdir bench bare_app:app
"""

from flask import Flask

app = Flask(__name__)
PAYLOAD = {"status": "ok", "service": "bare-flask-baseline", "items": [1, 2, 3]}


@app.get("/bare")
def bare():
    return PAYLOAD
