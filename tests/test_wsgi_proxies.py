"""nextapi.wsgi:app (what `nextapi start` serves) takes trusted_proxies from
NEXTAPI_TRUSTED_PROXIES, so req.ip behind nginx is the client's address (R100, docs/deploy.md)."""
from __future__ import annotations

import importlib
import sys

import pytest

from nextapi.testing import Client

IP_ROUTE = "def get(req, res):\n    return {'ip': req.ip}\n"


@pytest.fixture
def load_wsgi(tmp_path, monkeypatch):
    """Import nextapi.wsgi afresh for a project in tmp_path; sys.modules and the environment
    (the .env files it loads included) are put back afterwards."""
    (tmp_path / "pages" / "api").mkdir(parents=True)
    (tmp_path / "pages" / "api" / "ip.py").write_text(IP_ROUTE)
    monkeypatch.setenv("NEXTAPI_PAGES", str(tmp_path / "pages"))
    monkeypatch.setenv("NEXTAPI_TRUSTED_PROXIES", "")
    monkeypatch.delenv("NEXTAPI_TRUSTED_PROXIES")
    monkeypatch.delitem(sys.modules, "nextapi.wsgi", raising=False)

    def load(**env: str):
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        sys.modules.pop("nextapi.wsgi", None)
        return importlib.import_module("nextapi.wsgi").app

    return load


def ip(app, remote: str, forwarded: str | None = None) -> str:
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return Client(app).get("/api/ip", headers=headers, environ={"REMOTE_ADDR": remote}).json()["ip"]


def test_without_the_variable_no_proxy_is_trusted(load_wsgi):
    app = load_wsgi()
    assert app.trusted_proxies == ()
    assert ip(app, "10.0.0.10", "203.0.113.7") == "10.0.0.10"


def test_the_listed_proxies_and_ranges_are_trusted(load_wsgi):
    app = load_wsgi(NEXTAPI_TRUSTED_PROXIES=" 10.0.0.10 , 192.168.0.0/16,,")
    assert [str(n) for n in app.trusted_proxies] == ["10.0.0.10/32", "192.168.0.0/16"]
    assert ip(app, "10.0.0.10", "203.0.113.7") == "203.0.113.7"  # through nginx
    assert ip(app, "192.168.3.4", "198.51.100.1, 203.0.113.7") == "203.0.113.7"  # the right-most untrusted
    assert ip(app, "198.51.100.9", "203.0.113.7") == "198.51.100.9"  # not through a trusted proxy


def test_the_variable_may_come_from_the_production_env_file(load_wsgi, tmp_path):
    (tmp_path / ".env.production").write_text("NEXTAPI_TRUSTED_PROXIES=127.0.0.1\n")
    app = load_wsgi()
    assert ip(app, "127.0.0.1", "203.0.113.7") == "203.0.113.7"


def test_a_malformed_entry_stops_the_start_naming_it(load_wsgi):
    with pytest.raises(ValueError, match="trusted_proxies: .*not-an-ip"):
        load_wsgi(NEXTAPI_TRUSTED_PROXIES="10.0.0.1,not-an-ip")
