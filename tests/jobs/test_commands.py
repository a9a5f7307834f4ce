"""`manage.py api_token_create`: prints the key once, stores only its hash."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from jobs import services
from jobs.models import ApiToken
from tests.jobs import factories as f

pytestmark = pytest.mark.django_db


def test_api_token_create_prints_a_key_that_authenticates_its_user():
    # given
    fiona = f.funder("fiona")
    out, err = StringIO(), StringIO()
    # when
    call_command("api_token_create", "fiona", "--name", "ci", stdout=out, stderr=err)
    # then
    key = out.getvalue().strip()
    token = ApiToken.objects.get()
    assert (token.user, token.name, token.key_hash) == (fiona, "ci", services.api_key_hash(key))
    assert services.api_token_authenticate(key) == fiona
    assert err.getvalue() == f"API token {token.pk} for fiona; the key is shown only this once:\n"


def test_api_token_create_for_an_unknown_user_fails():
    # when
    with pytest.raises(CommandError) as refused:
        call_command("api_token_create", "nobody")
    # then
    assert str(refused.value) == "No user named 'nobody'."
    assert ApiToken.objects.count() == 0
