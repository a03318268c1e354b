"""Grafana dashboards as code: built with grafana-foundation-sdk, written as JSON by
``python -m wallboard.grafana`` (``make grafana``) into ``grafana/dashboards/``."""
