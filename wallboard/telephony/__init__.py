"""Telephony adapters: Asterisk's queue_log and AMI into the Wallboard contract."""
