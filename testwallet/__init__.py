"""A local, spec-faithful Open Payments account servicing entity (ASE) in miniature.

One process serves the three Open Payments apps on one origin, laid out like Rafiki:

* wallet-address server: ``GET /<name>`` and ``GET /<name>/jwks.json``;
* auth server (GNAP): grant endpoint ``/auth/<tenant>`` (the advertised ``authServer``), continuation
  ``/auth/continue/<id>``, token management ``/auth/token/<id>``, consent at ``/auth/interact/<id>/<nonce>``;
* resource server: ``/op/<tenant>/incoming-payments|quotes|outgoing-payments|outgoing-payment-grant``;

plus an opt-in admin API under ``/_admin/`` for set-up scripts and the reliability suite.
Behaviour follows Rafiki 884c4bc, the reference wallet: its observed answers (``docs/protocol-notes.md``)
where they were observed, its source where they were not, and the Open Payments OpenAPI specs for every
body. Run it with
``python -m testwallet --help``; drive it from tests with :mod:`testwallet.testing`.
"""

__version__ = "0.1.0"
