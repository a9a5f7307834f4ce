"""Resolving the wallet addresses users type into their profile."""

from __future__ import annotations
