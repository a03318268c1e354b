"""The desk unit: a stack light and a "supervisor needed" button on a small Raspberry Pi.

It needs only paho-mqtt, gpiozero and pydantic: it shares the MQTT contract
(``wallboard.messages``, ``wallboard.topics``) and the broker link with the rest of
Wallboard, and never imports Kivy or the InfluxDB client.
"""
