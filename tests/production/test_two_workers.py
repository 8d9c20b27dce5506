"""gunicorn with two sync workers over one trained site: what one worker stores in Django's cache (the
dashboard's `?customer=` preselection, the API throttle counters) the other worker reads.

Sync workers close the connection after every response, so each request goes to whichever worker
accepts it first; the access log (with the worker's pid) shows that both served."""

from __future__ import annotations

import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from .conftest import copy_site
from .processes import LiveServer, manage

PASSWORD = "two-workers-analyst-1"
LOADS = 15
MORE_LOADS = 60
USER_RATE = 8

ANALYST = """
import json
from django.contrib.auth.models import Group, User
from django.db.models import Count
from detection.models import ModelVersion, TransactionScore
user = User.objects.create_user("analyst", password="PASSWORD", is_staff=True)
user.groups.add(Group.objects.get(name="Analyst"))
top = (
    TransactionScore.objects.filter(model_version=ModelVersion.objects.get(is_active=True), is_flagged=True)
    .values("customer_id").annotate(flagged=Count("id")).order_by("-flagged", "customer_id").first()
)
print(json.dumps({"customer": top["customer_id"]}))
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, trained_site_template: Path):
    """A trained site with an Analyst, served by gunicorn with 2 workers and the default (database) cache.

    Yields {"url", "customer" (one with flagged rows), "log" (the access log: pid, method, status, path?query)}.
    """
    folder = tmp_path_factory.mktemp("two_workers")
    env = copy_site(trained_site_template, folder / "site")
    env.pop("CACHE_URL", None)  # the documented default: the database cache, shared by both workers
    customer = json.loads(manage("shell", "-c", ANALYST.replace("PASSWORD", PASSWORD), env=env).stdout.splitlines()[-1])
    # Its own gunicorn config, so the access log goes to a file the test can read while the server runs.
    log, config = folder / "access.log", folder / "gunicorn.conf.py"
    config.write_text(f"accesslog = {str(log)!r}\naccess_log_format = '%(p)s %(m)s %(s)s %(U)s?%(q)s'\n")
    extra = ["--config", str(config), "--log-level", "warning"]
    with LiveServer(env | {"API_USER_RATE": f"{USER_RATE}/hour"}, workers=2, extra=extra) as server:
        yield {"url": server.url, "customer": customer["customer"], "log": log}


def served_by(log: Path, pattern: str, count: int) -> list[str]:
    """The pids of the workers that answered requests whose path?query matches `pattern`, in log order;
    waits up to 10 s for `count` of them (a worker logs a request after answering it)."""
    deadline = time.monotonic() + 10
    while True:
        lines = [line.split(" ", 3) for line in log.read_text().splitlines()]
        pids = [pid for pid, _, _, target in lines if re.search(pattern, target)]
        if len(pids) >= count or time.monotonic() > deadline:
            return pids
        time.sleep(0.1)


def test_every_load_of_a_customer_link_preselects_the_customer_whichever_worker_answers(served) -> None:
    """The link's customer travels in the Dash frame's own address; the callback that reads it chooses
    the customer, so no worker needs state another one stored. Loads go on (up to MORE_LOADS more)
    until a page and its callback were answered by different workers, since the kernel may hand a
    run of requests to one."""
    url, customer = served["url"], served["customer"]
    session = requests.Session()
    session.get(f"{url}/admin/login/", timeout=60).raise_for_status()
    login = session.post(
        f"{url}/admin/login/?next=/",
        data={"username": "analyst", "password": PASSWORD, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        timeout=60,
    )
    assert login.status_code == 200 and login.url == f"{url}/", login.url

    def load() -> int:
        """Open the link, its frame and the frame's first callback; return the customer it chose."""
        page = session.get(f"{url}/?customer={customer}", timeout=60)
        assert page.status_code == 200
        (src,) = re.findall(r'<iframe src="([^"?]+)\?([^"]*)"', page.text)
        app, query = src
        assert query == f"customer={customer}"
        assert session.get(f"{url}{app}?{query}", timeout=60).status_code == 200
        dependencies = session.get(f"{url}{app}_dash-dependencies", timeout=60).json()
        (choices,) = [item for item in dependencies if "customer.options" in item["output"]]
        body = {
            "output": choices["output"],
            "outputs": [
                {"id": "customer", "property": "options"},
                {"id": "customer", "property": "value"},
                {"id": "metric", "property": "value"},
            ],
            "inputs": [
                {"id": "customer", "property": "search_value", "value": None},
                {"id": "url", "property": "search", "value": f"?{query}"},
            ],
            "state": [{"id": "customer", "property": "value", "value": None}],
            "changedPropIds": ["url.search"],
        }
        answer = session.post(f"{url}{app}_dash-update-component", json=body, timeout=60)
        assert answer.status_code == 200, answer.text[:500]
        return answer.json()["response"]["customer"]["value"]

    def crossings(loads: int) -> tuple[int, int]:
        """(loads the log shows, loads whose page and callback different workers answered)."""
        pages = served_by(served["log"], rf"^/\?customer={customer}$", loads)
        callbacks = served_by(served["log"], r"/_dash-update-component\?$", loads)
        return len(pages), sum(page != callback for page, callback in zip(pages, callbacks, strict=True))

    chosen = [load() for _ in range(LOADS)]
    logged, crossed = crossings(len(chosen))
    while crossed == 0 and len(chosen) < LOADS + MORE_LOADS:
        chosen.append(load())
        logged, crossed = crossings(len(chosen))
    assert chosen == [customer] * len(chosen), f"{chosen.count(customer)} of {len(chosen)} preselected"
    assert logged == len(chosen) and crossed > 0, f"{crossed} of {logged} loads crossed workers"


def test_the_api_throttle_counts_the_requests_of_both_workers_together(served) -> None:
    """Past the rate, every request is refused whichever worker answers it; requests go on (up to 60
    more, four at a time so that one busy worker leaves some to the other) until both workers have
    answered some, since the kernel may hand a run of sequential requests to one."""
    url, log, pattern = served["url"], served["log"], r"^/api/models\?$"
    token = requests.post(
        f"{url}/api/auth/token", json={"username": "analyst", "password": PASSWORD}, timeout=60
    ).json()["token"]

    def status() -> int:
        headers = {"Authorization": f"Token {token}", "Connection": "close"}
        return requests.get(f"{url}/api/models", headers=headers, timeout=60).status_code

    statuses = [status() for _ in range(USER_RATE + 4)]
    while len(set(served_by(log, pattern, len(statuses)))) < 2 and len(statuses) < USER_RATE + 64:
        with ThreadPoolExecutor(max_workers=4) as pool:
            statuses += list(pool.map(lambda _: status(), range(4)))

    refused = len(statuses) - USER_RATE
    assert statuses == [200] * USER_RATE + [429] * refused, f"{statuses.count(200)} of {len(statuses)} succeeded"
    assert len(set(served_by(log, pattern, len(statuses)))) == 2
