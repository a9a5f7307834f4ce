"""Options of the test wallet: the command line, their defaults (Rafiki's) and the runtime-tunable subset."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

# Rafiki's defaults: WAIT_SECONDS 5, ACCESS_TOKEN_EXPIRY_SECONDS 600, INTERACTION_EXPIRY_SECONDS 600,
# QUOTE_LIFESPAN 5 min, incoming payments at most 30 days ahead.
DEFAULT_WAIT_SECONDS = 5
DEFAULT_TOKEN_LIFETIME_SECONDS = 600
DEFAULT_INTERACTION_EXPIRY_SECONDS = 600
DEFAULT_QUOTE_LIFESPAN_SECONDS = 300.0
DEFAULT_INCOMING_PAYMENT_MAX_EXPIRY_SECONDS = 30 * 24 * 3600
DEFAULT_TENANT = "438fa74a-fa7d-4317-9ced-dde32ece1787"


@dataclass(frozen=True)
class Fee:
    """A sending fee in the sender's minor units: ``fixed`` plus ``basis_points`` of the amount."""

    fixed: int = 0
    basis_points: int = 0

    def of(self, amount: int) -> int:
        """The fee charged on ``amount`` (basis points rounded up, in favour of the wallet)."""
        return self.fixed + -(-amount * self.basis_points // 10_000)


@dataclass
class Settings:
    """Behaviour that tests may change at runtime through ``PUT /_admin/settings``."""

    wait_seconds: int = DEFAULT_WAIT_SECONDS
    token_lifetime_seconds: int = DEFAULT_TOKEN_LIFETIME_SECONDS
    interaction_expiry_seconds: int = DEFAULT_INTERACTION_EXPIRY_SECONDS
    quote_lifespan_seconds: float = DEFAULT_QUOTE_LIFESPAN_SECONDS
    incoming_payment_max_expiry_seconds: int = DEFAULT_INCOMING_PAYMENT_MAX_EXPIRY_SECONDS
    settle_delay_seconds: float = 0.1
    auto_consent: str | None = None  # "accept" | "reject" | None (a person clicks)
    jwks_cache_seconds: float = 1.0
    # asset code -> fee; "*" applies to every asset without its own entry.
    fees: dict[str, Fee] = field(default_factory=dict)
    # (from asset code, to asset code) -> rate, exact; the reverse pair is derived when missing.
    rates: dict[tuple[str, str], Fraction] = field(default_factory=dict)

    def fee_for(self, asset_code: str) -> Fee:
        """The sending fee for payments debited in ``asset_code``."""
        return self.fees.get(asset_code) or self.fees.get("*") or Fee()

    def rate(self, source: str, target: str) -> Fraction | None:
        """How many units of ``target`` one unit of ``source`` buys, or None when unknown."""
        if source == target:
            return Fraction(1)
        if (source, target) in self.rates:
            return self.rates[(source, target)]
        if (target, source) in self.rates:
            return 1 / self.rates[(target, source)]
        return None


@dataclass
class Options:
    """Everything ``python -m testwallet`` is started with."""

    host: str = "127.0.0.1"
    port: int = 4000
    public_url: str | None = None
    tenant: str = DEFAULT_TENANT
    seed: Path | None = None
    state: Path | None = None
    admin: bool = False
    faults: dict[str, object] = field(default_factory=dict)
    ilp_prefix: str = "test.testwallet"
    access_log: bool = False
    log_level: str = "warning"
    tls: bool = False
    tls_dir: Path | None = None  # None with tls: a temporary directory for this run
    settings: Settings = field(default_factory=Settings)


def parse_rate(text: str) -> tuple[tuple[str, str], Fraction]:
    """Parse ``USD:EUR=0.9`` (one USD buys 0.9 EUR) into a rate entry; decimals are kept exact."""
    pair, _, value = text.partition("=")
    source, _, target = pair.partition(":")
    if not source or not target or not value:
        raise argparse.ArgumentTypeError(f"rate must look like USD:EUR=0.9, got {text!r}")
    try:
        rate = Fraction(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"rate value must be a decimal, got {value!r}") from None
    if rate <= 0:
        raise argparse.ArgumentTypeError("rate must be positive")
    return (source.upper(), target.upper()), rate


def _faults(text: str) -> dict[str, object]:
    source = Path(text[1:]).read_text() if text.startswith("@") else text
    value = json.loads(source)
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("--faults must be a JSON object")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m testwallet``."""
    parser = argparse.ArgumentParser(
        prog="python -m testwallet",
        description="Local Open Payments wallet: wallet addresses, GNAP auth server, resource server.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=4000, help="port to bind; 0 picks a free one (default 4000)"
    )
    parser.add_argument(
        "--public-url", help="base URL the wallet advertises (default http://HOST:PORT, https with --tls)"
    )
    parser.add_argument(
        "--tenant", default=DEFAULT_TENANT, help="tenant path segment of authServer/resourceServer"
    )
    parser.add_argument("--seed", type=Path, help='JSON seed file: {"wallets": [...]}')
    parser.add_argument("--state", type=Path, help="JSON file the state is loaded from and saved to on exit")
    parser.add_argument("--admin", action="store_true", help="enable the /_admin/ API (refused otherwise)")
    parser.add_argument("--wait", type=int, default=DEFAULT_WAIT_SECONDS, help="GNAP continue wait, seconds")
    parser.add_argument(
        "--token-lifetime",
        type=int,
        default=DEFAULT_TOKEN_LIFETIME_SECONDS,
        help="access token expires_in, seconds",
    )
    parser.add_argument(
        "--interaction-expiry",
        type=int,
        default=DEFAULT_INTERACTION_EXPIRY_SECONDS,
        help="interaction lifetime, seconds",
    )
    parser.add_argument(
        "--quote-lifespan", type=float, default=DEFAULT_QUOTE_LIFESPAN_SECONDS, help="quote lifetime, seconds"
    )
    parser.add_argument(
        "--incoming-payment-max-expiry",
        type=int,
        default=DEFAULT_INCOMING_PAYMENT_MAX_EXPIRY_SECONDS,
        help="latest allowed incoming-payment expiresAt, seconds ahead",
    )
    parser.add_argument("--settle-delay", type=float, default=0.1, help="seconds before a payment settles")
    parser.add_argument(
        "--auto-consent",
        choices=["accept", "reject"],
        help="visiting interact.redirect finishes the interaction at once",
    )
    parser.add_argument(
        "--jwks-cache",
        type=float,
        default=1.0,
        help="seconds a foreign client's JWKS / wallet document is cached",
    )
    parser.add_argument("--fee-fixed", type=int, default=0, help="sending fee, fixed part (minor units)")
    parser.add_argument("--fee-basis-points", type=int, default=0, help="sending fee, basis points")
    parser.add_argument(
        "--rate",
        type=parse_rate,
        action="append",
        default=[],
        help="exchange rate FROM:TO=DECIMAL, repeatable (e.g. USD:EUR=0.9)",
    )
    parser.add_argument(
        "--faults",
        type=_faults,
        default={},
        help="fault injection config as JSON or @file (see testwallet.faults)",
    )
    parser.add_argument(
        "--ilp-prefix", default="test.testwallet", help="ILP address prefix in payment methods"
    )
    parser.add_argument("--access-log", action="store_true", help="log every request")
    parser.add_argument("--log-level", default="warning", help="uvicorn log level")
    parser.add_argument(
        "--tls",
        action="store_true",
        help="serve https with a certificate from a local CA (see testwallet.tls)",
    )
    parser.add_argument(
        "--tls-dir",
        type=Path,
        help="where the CA (kept if present) and server certificate go (default: a temporary directory)",
    )
    return parser


def options_from_args(argv: list[str] | None = None) -> Options:
    """Parse ``argv`` into :class:`Options`."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.tls_dir is not None and not args.tls:
        parser.error("--tls-dir needs --tls")
    fees = (
        {"*": Fee(args.fee_fixed, args.fee_basis_points)} if args.fee_fixed or args.fee_basis_points else {}
    )
    settings = Settings(
        wait_seconds=args.wait,
        token_lifetime_seconds=args.token_lifetime,
        interaction_expiry_seconds=args.interaction_expiry,
        quote_lifespan_seconds=args.quote_lifespan,
        incoming_payment_max_expiry_seconds=args.incoming_payment_max_expiry,
        settle_delay_seconds=args.settle_delay,
        auto_consent=args.auto_consent,
        jwks_cache_seconds=args.jwks_cache,
        fees=fees,
        rates=dict(args.rate),
    )
    return Options(
        host=args.host,
        port=args.port,
        public_url=args.public_url,
        tenant=args.tenant,
        seed=args.seed,
        state=args.state,
        admin=args.admin,
        faults=args.faults,
        ilp_prefix=args.ilp_prefix,
        access_log=args.access_log,
        log_level=args.log_level,
        tls=args.tls,
        tls_dir=args.tls_dir,
        settings=settings,
    )
