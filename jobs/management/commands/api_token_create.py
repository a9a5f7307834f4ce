"""`manage.py api_token_create <username> [--name NAME]`: issues an API token and prints its key once."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from jobs import services


class Command(BaseCommand):
    help = "Issues an API token for a user and prints its key; only the key's hash is stored."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="A label to recognise the token by in the admin.")

    def handle(self, *args: Any, username: str, name: str, **options: Any) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        issued = services.api_token_create(user=user, name=name)
        self.stderr.write(f"API token {issued.token.pk} for {username}; the key is shown only this once:")
        self.stdout.write(issued.key)
