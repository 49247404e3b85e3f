"""The Grafana dashboard and the Prometheus configuration stay true to the metrics Parley
really exposes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from server.metrics import Metrics

ROOT = Path(__file__).resolve().parents[1]
SUFFIXES = ("_bucket", "_total", "_count", "_sum", "_created")


def exposed() -> set[str]:
    names = set()
    for family in Metrics().registry.collect():
        names.add(family.name)
        names.update(sample.name for sample in family.samples)
    return names


def test_every_dashboard_query_names_a_real_metric():
    dashboard = json.loads((ROOT / "deploy/grafana/dashboards/parley.json").read_text())
    queried = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"parley_[a-z_]+", target["expr"])
    }
    assert queried, "the dashboard queries nothing"
    known = exposed()

    def base(name: str) -> str:
        for suffix in SUFFIXES:
            name = name.removesuffix(suffix)
        return name

    missing = {q for q in queried if q not in known and base(q) not in known}
    assert missing == set()
    titles = [p["title"] for p in dashboard["panels"]]
    assert len(titles) == len(set(titles))


def test_prometheus_scrapes_parley_with_the_token():
    config = yaml.safe_load((ROOT / "deploy/prometheus.yml").read_text())
    (job,) = config["scrape_configs"]
    assert job["metrics_path"] == "/metrics"
    assert job["authorization"]["type"] == "Bearer"
    assert job["dns_sd_configs"][0]["names"] == ["parley"]
