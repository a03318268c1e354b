"""The wall screen: a full-screen Kivy app showing what the controller publishes.

``config``, ``state``, ``view`` and ``theme`` are pure and import no Kivy, so they are tested
without a window; ``app`` and ``board.kv`` are the Kivy shell, and ``run`` wires it to MQTT.
"""
