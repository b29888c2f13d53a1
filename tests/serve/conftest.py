"""A real uvicorn server on 127.0.0.1 (free port, background thread) around any backend."""

from __future__ import annotations

import contextlib
import socket
import threading
import time

import pytest
import uvicorn

from tooltune.formats import get_format
from tooltune.serve.app import create_app


@contextlib.contextmanager
def running_server(llm, fmt="json", api_key=None, model_name="tooltune", **kw):
    app = create_app(llm, get_format(fmt), model_name, api_key, **kw)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}/v1", app
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def serve():
    return running_server
