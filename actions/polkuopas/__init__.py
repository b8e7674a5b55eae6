"""Polkuopas: a conversational guide to social and employment service paths."""

__version__ = "0.1.0"
