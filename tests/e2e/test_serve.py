"""`fangpin serve` as the bureaus run it: SQLite, DEBUG off, Django's server, static files
from the app, a user made with `fangpin create-user` logging in over HTTP."""

from __future__ import annotations

import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

RUN_CLI = "import sys; from fangpin.cli import main; sys.exit(main())"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "FANGPIN_"))}
    env.update(
        {"FANGPIN_HOME": str(tmp_path / "home"), "DJANGO_SETTINGS_MODULE": "fangpin.site.settings"}
    )
    created = subprocess.run(
        [
            sys.executable,
            "-c",
            RUN_CLI,
            "create-user",
            "county",
            "--role",
            "县级经办",
            "--name",
            "马县经办",
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert created.returncode == 0, created.stderr
    password = re.search(r"初始密码：(\S+)", created.stdout).group(1)
    port = free_port()
    log = open(tmp_path / "serve.log", "w+")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-c", RUN_CLI, "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2) as r:
                    assert r.status == 200
                    break
            except (urllib.error.URLError, ConnectionError):
                if proc.poll() is not None or time.time() > deadline:
                    log.seek(0)
                    pytest.fail(f"fangpin serve did not start:\n{log.read()}")
                time.sleep(0.2)
        yield base, password
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


def test_fangpin_serve_serves_pages_and_static_files_and_a_created_user_logs_in(server):
    base, password = server
    with urllib.request.urlopen(base + "/static/fangpin/chart.js") as r:
        assert r.status == 200 and b"FangpinChart" in r.read()

    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect())
    with pytest.raises(urllib.error.HTTPError) as redirect:
        opener.open(base + "/")
    assert redirect.value.code == 302 and redirect.value.headers["Location"].startswith(
        "/accounts/login/"
    )

    page = opener.open(base + "/accounts/login/").read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": token, "username": "county", "password": password}
    ).encode()
    request = urllib.request.Request(
        base + "/accounts/login/", data=form, headers={"Referer": base + "/accounts/login/"}
    )
    with pytest.raises(urllib.error.HTTPError) as logged_in:
        opener.open(request)
    assert logged_in.value.code == 302 and logged_in.value.headers["Location"] == "/"
    home = opener.open(base + "/").read().decode()
    assert "马县经办" in home and "在用区域政策包" in home
