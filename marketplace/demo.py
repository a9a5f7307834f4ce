"""What the demo publishes: the users' password, the staff member's name, the marketplace's key id and
the exchange rates of its local wallet (no Django imports here)."""

DEMO_PASSWORD = "demo-password-2026"  # noqa: S105 - the published password of the demo users
KEY_ID = "marketplace-key-1"
STAFF_USERNAME = "staff"
# The local wallet's rates (`--rate`): Paula quotes in EUR and the funder pays from a USD wallet.
RATES = ("USD:EUR=0.92",)
