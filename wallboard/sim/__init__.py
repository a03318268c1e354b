"""Simulated floors: event streams that speak only the contract topics."""
