"""deploy/compose.yaml and its nginx upstreams stay in step with the topology the cluster
and the chaos tests run (deploy/cluster.py, tests/servers.py::upstreams_conf)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from tests.servers import GATEWAY_SERVICES, upstreams_conf

from mov_adapters.settings import SERVICES

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def _upstream_names(text: str) -> set[str]:
    return set(re.findall(r"upstream\s+(\w+)\s*\{", text))


def test_the_gateway_knows_every_service_mov_serve_knows():
    assert set(GATEWAY_SERVICES) == set(SERVICES)


def test_nginx_conf_proxies_only_to_upstreams_both_topologies_define():
    used = set(re.findall(r"proxy_pass http://(\w+);", (DEPLOY / "nginx.conf").read_text()))
    tested = _upstream_names(upstreams_conf({name: ["127.0.0.1:1"] for name in SERVICES}))
    composed = _upstream_names((DEPLOY / "upstreams.compose.conf").read_text())
    assert used == tested == composed == {*SERVICES, "chat_sockets"}


def test_compose_runs_each_service_alone_the_worker_and_the_gateway():
    services = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]
    for name in SERVICES:
        command = services[name]["command"]
        assert command[:2] == ["mov", "serve"]
        assert command[command.index("--services") + 1] == name
    assert services["worker"]["command"] == ["mov", "worker"]
    assert services["migrate"]["command"] == ["mov", "db", "upgrade"]
    mounts = " ".join(services["nginx"]["volumes"])
    assert "nginx.conf" in mounts
    assert "upstreams.compose.conf" in mounts
    assert {"postgres", "mongo", "redis"} <= set(services)


def test_the_dashboard_plots_only_series_mov_exports():
    import json  # noqa: PLC0415 - only this test reads JSON

    exported = {
        "mov_http_requests_total", "mov_http_request_duration_seconds_bucket",
        "mov_enrollments_total", "mov_outbox_backlog", "mov_outbox_oldest_age_seconds",
        "mov_open_sockets", "mov_rate_limit_refusals_total", "mov_db_pool_in_use", "mov_deliveries",
    }  # fmt: skip
    dashboard = json.loads((DEPLOY / "grafana-dashboard.json").read_text())
    used = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"\b(mov_\w+)", target["expr"])
    }
    assert used == exported
