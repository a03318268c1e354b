"""Wallboard: call-centre floor screens, desk help lights and trends over MQTT and InfluxDB."""

__version__ = "0.1.0"
