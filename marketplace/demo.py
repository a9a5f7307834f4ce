"""What the demo publishes: the users' password and the marketplace's key id (no Django imports here)."""

DEMO_PASSWORD = "demo-password-2026"  # noqa: S105 - the published password of the demo users
KEY_ID = "marketplace-key-1"
