"""Flower's configuration file: `celery -A marketplace flower --conf=marketplace/flowerconfig.py`.

Flower runs it and takes every name it defines as an option of its own; it defines none, and stops
Flower when it would run without a log-in (see marketplace.flower).
"""

from marketplace.flower import refuse_without_login

refuse_without_login()
