"""`tendencias serve` as a person starts it: the command, its flags, a development sign-in."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.serve_helpers import ROOT, free_port


def _serve(archive, *flags: str, **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tendencias.cli", "serve", "--archive", str(archive), *flags],
        env=dict(os.environ, PYTHONPATH=str(ROOT), **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
    )


def test_serve_with_a_development_sign_in_lets_a_person_in(archive, tmp_path):
    port = free_port()
    proc = _serve(archive, "--port", str(port), "--dev_sign_in", "--store", str(tmp_path / "s.duckdb"))
    try:
        lines = []
        while not any("development sign-in" in line for line in lines):
            lines.append(proc.stdout.readline())
            assert proc.poll() is None, "".join(lines)
        assert "ana (analyst)" in lines[-1] and "'demo'" in lines[-1]
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                assert time.monotonic() < deadline
                time.sleep(0.2)
        with httpx.Client() as browser:
            form = browser.get(base + "/temas", headers={"accept": "text/html"}, follow_redirects=True)
            assert form.status_code == 200 and "Contraseña" in form.text
            fields = {k: v[-1] for k, v in parse_qs(urlsplit(str(form.url)).query).items()}
            action = re.search(r"action='([^']+)'", form.text).group(1)
            issuer = f"{form.url.scheme}://{form.url.host}:{form.url.port}"
            page = browser.post(
                issuer + action, data={**fields, "username": "ana", "password": "demo"}, follow_redirects=True
            )
            assert str(page.url) == base + "/temas" and "ana · analyst" in page.text
    finally:
        proc.terminate()
        proc.wait(20)


def test_bad_flags_fail_fast_naming_them(archive, tmp_path):
    for flags, said in (
        (["--dev_sign_in", "--host", "0.0.0.0"], "--dev_sign_in"),
        (["--port", "0"], "--port"),
    ):
        proc = _serve(archive, *flags)
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 2 and said in out, out
    proc = _serve(archive, TENDENCIAS_API_KEYS="", TENDENCIAS_OIDC_ISSUER="")
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 2 and "no credentials configured" in out
    proc = _serve(archive, TENDENCIAS_API_KEYS="k", TENDENCIAS_SESSION_HOURS="soon")
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 2 and "TENDENCIAS_SESSION_HOURS" in out
