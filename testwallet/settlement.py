"""Background settlement: each outgoing payment settles ``settle_delay_seconds`` after it is created.

Rafiki sends over ILP once the payment is funded (about 100-200 ms in the observed runs); here a timer
on the event loop calls :func:`testwallet.resources.settle`. The fault injector can slow it down.
"""

from __future__ import annotations

import asyncio
import logging

from .faults import FaultInjector
from .models import PaymentState
from .resources import settle
from .state import Store

log = logging.getLogger("testwallet.settlement")


class Settler:
    """Schedules settlements on the running loop and remembers the pending ones."""

    def __init__(self, store: Store, faults: FaultInjector) -> None:
        self.store = store
        self.faults = faults
        self._pending: dict[str, asyncio.TimerHandle] = {}

    def schedule(self, payment_id: str) -> None:
        delay = self.store.settings.settle_delay_seconds + self.faults.extra_settlement_delay()
        loop = asyncio.get_running_loop()
        self._pending[payment_id] = loop.call_later(max(0.0, delay), self._run, payment_id)

    def _run(self, payment_id: str) -> None:
        self._pending.pop(payment_id, None)
        try:
            settle(self.store, payment_id)
        except Exception:  # a bug here must not kill the loop; the payment stays pending and is logged
            log.exception("settling %s failed", payment_id)

    def settle_now(self) -> int:
        """Settle every pending payment immediately (shutdown, ``--state`` save); returns how many."""
        pending = list(self._pending.items())
        for payment_id, handle in pending:
            handle.cancel()
            self._run(payment_id)
        return len(pending)

    def resume(self) -> None:
        """After loading ``--state``: schedule payments that were still pending when we stopped."""
        for payment in list(self.store.outgoing.values()):
            if payment.state == PaymentState.FUNDING and payment.id not in self._pending:
                self.schedule(payment.id)
