"""Settings for the test suite: the project's own, with development defaults and fast password hashing."""

import os

os.environ.setdefault("DEBUG", "1")

from marketplace.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
