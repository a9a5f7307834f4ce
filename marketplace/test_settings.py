"""Settings for the test suite: the project's own, with development defaults and fast password hashing."""

import os

os.environ.setdefault("DEBUG", "1")

from marketplace.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

if DATABASE_POOL_SIZE:  # noqa: F405
    # A test may hold more connections at once than a worker thread would (twenty browsers at a barrier).
    DATABASES["default"]["OPTIONS"]["pool"]["max_size"] = 64  # noqa: F405
