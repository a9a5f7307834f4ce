"""Celery tasks (thin) and the payment pipeline they drive."""
