"""Broker security: which device may publish and read what, and provisioning a device.

``acl.py`` and ``device_config.py`` are pure (text in, text out); ``provision.py`` is the
shell that runs ``mosquitto_passwd`` and writes the ACL file.
"""
