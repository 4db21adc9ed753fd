"""Gathering: programmes, registration, tickets and door check-in for grassroots networks."""

__version__ = "0.1.0"
