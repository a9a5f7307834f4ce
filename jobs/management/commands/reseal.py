"""`manage.py reseal [--batch-size N]`: seals every sealed value again under the first key of
SEALING_KEYS, printing its progress and how many values it re-sealed (safe to run again)."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import models, transaction
from django.db.models.functions import Cast
from django.db.models.lookups import Exact

from jobs.sealed import SealedField, Unsealable, reseal

# A row a process changed between our read and our write is read again, this many times at most.
ATTEMPTS = 3


def sealed_fields(model: type[models.Model]) -> list[str]:
    """The names of `model`'s SealedFields."""
    return [field.name for field in model._meta.concrete_fields if isinstance(field, SealedField)]


def raw(field: str) -> Cast:
    """The column `field` as the database holds it (sealed): a Cast has no `from_db_value`."""
    return Cast(field, output_field=models.TextField())


class Command(BaseCommand):
    help = (
        "Seals every sealed value (the budgets' grant tokens) again under the first key of SEALING_KEYS. "
        "To rotate the key: (1) make one: python -c 'from cryptography.fernet import Fernet; "
        "print(Fernet.generate_key().decode())'; (2) put it first in SEALING_KEYS with the old key after it "
        "(SEALING_KEYS=new,old) and restart the web and worker processes, so that whatever they seal is "
        "sealed under the new key; (3) run this command; (4) drop the old key and restart again. Running it "
        "again does no harm. A deployment that never set SEALING_KEYS seals under a key derived from "
        "SECRET_KEY: its old key is jobs.sealed.derived_key(SECRET_KEY)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--batch-size", type=int, default=500, help="Rows read and written per transaction (500)."
        )

    def handle(self, *args: Any, batch_size: int, **options: Any) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        resealed = unsealable = 0
        for model in apps.get_models():
            fields = sealed_fields(model)
            if fields:
                moved, failed = self.reseal_model(model, fields, batch_size)
                resealed, unsealable = resealed + moved, unsealable + failed
        self.stdout.write(f"Re-sealed {resealed} values under the first key of SEALING_KEYS.")
        if unsealable:
            raise CommandError(
                f"{unsealable} values open with none of SEALING_KEYS and were left as they are: put the "
                "key they were sealed under back into SEALING_KEYS (after the first) and run this again."
            )

    def reseal_model(self, model: type[models.Model], fields: list[str], batch_size: int) -> tuple[int, int]:
        """Re-seals `fields` of every row of `model`, `batch_size` rows per transaction, in key order."""
        label = model._meta.label
        manager = model._base_manager
        columns = {f"sealed_{field}": raw(field) for field in fields}
        resealed = unsealable = rows = 0
        last: Any = None
        while True:
            batch = manager.order_by("pk").annotate(**columns)
            if last is not None:
                batch = batch.filter(pk__gt=last)
            values = list(batch.values_list("pk", *columns)[:batch_size])
            if not values:
                break
            with transaction.atomic():
                for pk, *sealed in values:
                    moved, failed = self.reseal_row(manager, pk, dict(zip(fields, sealed, strict=True)))
                    resealed, unsealable = resealed + moved, unsealable + failed
            rows += len(values)
            last = values[-1][0]
            self.stdout.write(f"{label}: {rows} rows, {resealed} values re-sealed")
        if unsealable:
            self.stderr.write(f"{label}: {unsealable} values open with none of SEALING_KEYS")
        return resealed, unsealable

    def reseal_row(
        self, manager: models.Manager[Any], pk: Any, sealed: dict[str, str | None]
    ) -> tuple[int, int]:
        """Writes the row's values sealed again, provided no other process changed them meanwhile (it is
        read again then); (values re-sealed, values no key opens)."""
        for _ in range(ATTEMPTS):
            present = {field: value for field, value in sealed.items() if value}
            fresh: dict[str, str] = {}
            unsealable = 0
            for field, value in present.items():
                try:
                    fresh[field] = reseal(value)
                except Unsealable:
                    unsealable += 1
            if not fresh:
                return 0, unsealable
            unchanged = [Exact(raw(field), present[field]) for field in fresh]
            written = manager.filter(*unchanged, pk=pk).update(
                **{
                    field: models.Value(value, output_field=models.TextField())
                    for field, value in fresh.items()
                }
            )
            if written:
                return len(fresh), unsealable
            again = manager.filter(pk=pk).values_list(*(raw(field) for field in sealed)).first()
            if again is None:  # deleted meanwhile
                return 0, 0
            sealed = dict(zip(sealed, again, strict=True))
        raise CommandError(f"{manager.model._meta.label} {pk} kept changing; run this command again.")
