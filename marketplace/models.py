"""What the project keeps of its own: counts of failed log-ins (see marketplace.throttle)."""

from __future__ import annotations

from django.db import models


class LoginFailures(models.Model):
    """The failed log-ins of one account or one client since `window_started_at`, and its lock-out."""

    # A keyed hash of the username or the client's address: neither is stored as typed.
    key = models.CharField(max_length=64, unique=True)
    failures = models.PositiveIntegerField(default=0)
    window_started_at = models.DateTimeField(db_index=True)
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "login failures"

    def __str__(self) -> str:
        return f"{self.failures} failed log-ins since {self.window_started_at:%Y-%m-%d %H:%M}"
