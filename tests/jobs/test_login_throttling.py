"""Log-in throttling: the web log-in, the admin's and the API's tokens lock out an account or a client
after too many failures, and a right password (or token) does not get through until the lock-out ends."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from jobs import services
from marketplace.models import LoginFailures
from tests.jobs import factories as f

pytestmark = pytest.mark.django_db

LOCKED = "Too many failed log-ins. Try again in 15 minutes."
WRONG = "Please enter a correct username and password. Note that both fields may be case-sensitive."
LOCKOUT_SECONDS = 15 * 60


def log_in(client: Client, username: str, password: str, address: str = "127.0.0.1"):  # type: ignore[no-untyped-def]
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address)


def logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def end_every_lockout() -> None:
    """As if LOGIN_LOCKOUT_MINUTES had passed since every failure."""
    past = timezone.now() - timedelta(minutes=16)
    LoginFailures.objects.update(window_started_at=past, locked_until=past)


# The web log-in: one account


def test_the_fifth_wrong_password_locks_the_account_and_the_right_one_is_then_refused():
    # given an account
    f.funder("fiona")
    client = Client()

    # when four wrong passwords are sent
    answers = [log_in(client, "fiona", "wrong-password") for _ in range(4)]

    # then each says the password is wrong
    assert [a.status_code for a in answers] == [200] * 4
    assert all(WRONG in a.content.decode() for a in answers)

    # when a fifth is sent
    fifth = log_in(client, "fiona", "wrong-password")

    # then the account is locked out, and the page says for how long
    assert fifth.status_code == 429
    assert fifth["Retry-After"] == str(LOCKOUT_SECONDS)
    assert LOCKED in fifth.content.decode()

    # when the right password is sent next
    right = log_in(client, "fiona", f.PASSWORD)

    # then it is refused the same way, and nobody is logged in
    assert right.status_code == 429
    assert LOCKED in right.content.decode()
    assert int(right["Retry-After"]) <= LOCKOUT_SECONDS
    assert not logged_in(client)


def test_the_lockout_holds_for_the_account_from_another_client_and_in_another_case():
    # given fiona's account locked out from one address
    f.funder("fiona")
    for _ in range(5):
        log_in(Client(), "fiona", "wrong-password", address="10.0.0.1")

    # when the right password comes from another address, the username typed in capitals
    client = Client()
    response = log_in(client, "FIONA", f.PASSWORD, address="10.0.0.2")

    # then it is refused: the lock-out is the account's
    assert response.status_code == 429
    assert LOCKED in response.content.decode()
    assert not logged_in(client)


def test_after_the_lockout_the_right_password_logs_in_and_clears_the_count():
    # given fiona locked out, and the lock-out over
    f.funder("fiona")
    answers = [log_in(Client(), "fiona", "wrong-password").status_code for _ in range(5)]
    assert answers[-1] == 429
    end_every_lockout()

    # when the right password is sent
    client = Client()
    response = log_in(client, "fiona", f.PASSWORD)

    # then fiona is logged in
    assert response.status_code == 302
    assert logged_in(client)

    # and four new failures do not lock her out (the count started again)
    for _ in range(4):
        log_in(Client(), "fiona", "wrong-password")
    again = Client()
    assert log_in(again, "fiona", f.PASSWORD).status_code == 302
    assert logged_in(again)


def test_a_success_before_the_limit_clears_the_accounts_count():
    # given four failures, then a success
    f.funder("fiona")
    for _ in range(4):
        log_in(Client(), "fiona", "wrong-password")
    assert log_in(Client(), "fiona", f.PASSWORD).status_code == 302

    # when five more failures follow
    answers = [log_in(Client(), "fiona", "wrong-password").status_code for _ in range(5)]

    # then the count started again at the success: the fifth of them locks the account out
    assert answers == [200, 200, 200, 200, 429]


def test_an_unknown_account_is_locked_out_like_a_real_one():
    # given / when five failures for a name nobody has
    answers = [log_in(Client(), "nobody", "wrong-password") for _ in range(5)]

    # then the fifth answers as for a real account (nothing tells the two apart)
    assert [a.status_code for a in answers] == [200, 200, 200, 200, 429]
    assert LOCKED in answers[-1].content.decode()


def test_neither_the_username_nor_the_address_is_stored():
    # given / when
    log_in(Client(), "fiona-typed-this", "wrong-password", address="203.0.113.9")

    # then the counts are under keyed hashes
    keys = list(LoginFailures.objects.values_list("key", flat=True))
    assert len(keys) == 2
    assert all(len(key) == 64 and "fiona" not in key and "203.0.113.9" not in key for key in keys)


# The web log-in: one client


def test_twenty_failures_from_one_address_lock_that_address_out_whatever_the_account():
    # given an account that never failed, and 20 failures on other names from one address
    f.funder("fiona")
    for number in range(20):
        log_in(Client(), f"guess-{number}", "wrong-password", address="198.51.100.7")

    # when fiona's right password comes from that address
    client = Client()
    response = log_in(client, "fiona", f.PASSWORD, address="198.51.100.7")

    # then it is refused; from another address it logs in
    assert response.status_code == 429
    assert LOCKED in response.content.decode()
    assert not logged_in(client)
    elsewhere = Client()
    assert log_in(elsewhere, "fiona", f.PASSWORD, address="198.51.100.8").status_code == 302
    assert logged_in(elsewhere)


def test_behind_a_proxy_the_client_is_the_last_address_of_the_configured_header(settings):
    # given a proxy in front that appends the client's address to X-Forwarded-For
    settings.LOGIN_THROTTLE = {**settings.LOGIN_THROTTLE, "CLIENT_IP_HEADER": "X-Forwarded-For"}
    f.funder("fiona")
    for number in range(20):
        Client().post(
            reverse("login"),
            {"username": f"guess-{number}", "password": "wrong-password"},
            # what the attacker sent first changes every time; the proxy's entry does not
            headers={"X-Forwarded-For": f"10.9.9.{number}, 198.51.100.7"},
            REMOTE_ADDR="192.0.2.1",
        )

    # when another person behind the same proxy logs in, and then the attacker's address
    other, attacker = Client(), Client()
    form = {"username": "fiona", "password": f.PASSWORD}
    first = other.post(
        reverse("login"), form, headers={"X-Forwarded-For": "203.0.113.5"}, REMOTE_ADDR="192.0.2.1"
    )
    second = attacker.post(
        reverse("login"), form, headers={"X-Forwarded-For": "1.2.3.4, 198.51.100.7"}, REMOTE_ADDR="192.0.2.1"
    )

    # then only the attacker's address is locked out
    assert first.status_code == 302
    assert second.status_code == 429


# The admin's log-in


def test_the_admin_login_is_throttled_too():
    # given a superuser, and five wrong passwords at the admin's log-in
    User.objects.create_superuser("root", "root@example.com", f.PASSWORD)
    url = reverse("admin:login")
    for _ in range(5):
        Client().post(url, {"username": "root", "password": "wrong-password", "next": "/admin/"})

    # when the right password is sent
    client = Client()
    response = client.post(url, {"username": "root", "password": f.PASSWORD, "next": "/admin/"})

    # then the admin is not entered, and the page says why
    assert response.status_code == 200
    assert LOCKED in response.content.decode()
    assert not logged_in(client)


def test_the_locked_out_site_login_also_locks_the_admin_login():
    # given root locked out at the site's log-in
    User.objects.create_superuser("root", "root@example.com", f.PASSWORD)
    for _ in range(5):
        log_in(Client(), "root", "wrong-password")

    # when the right password is sent to the admin's log-in
    client = Client()
    response = client.post(reverse("admin:login"), {"username": "root", "password": f.PASSWORD})

    # then it is refused
    assert LOCKED in response.content.decode()
    assert not logged_in(client)


# The API's tokens


def test_twenty_bad_tokens_lock_the_client_out_with_429_and_retry_after():
    # given a funder with a valid token
    fiona = f.funder("fiona")
    key = services.api_token_create(user=fiona).key
    job = f.job(fiona)
    url = reverse("api-job-payment", kwargs={"job_id": job.pk})

    def call(token: str, address: str = "198.51.100.7"):  # type: ignore[no-untyped-def]
        return Client().get(url, headers={"Authorization": f"Token {token}"}, REMOTE_ADDR=address)

    # when 19 bad tokens come from one address
    answers = [call(f"guess-{number}") for number in range(19)]

    # then each is told the token is not valid
    assert {a.status_code for a in answers} == {401}
    assert answers[0].json() == {"error": "The API token is not valid."}

    # when a 20th comes
    twentieth = call("guess-19")

    # then the client is locked out
    assert twentieth.status_code == 429
    assert twentieth["Retry-After"] == str(LOCKOUT_SECONDS)
    assert twentieth.json() == {"error": LOCKED}

    # and the valid token is refused from that address, and accepted from another
    locked = call(key)
    assert locked.status_code == 429
    assert locked.json() == {"error": LOCKED}
    assert int(locked["Retry-After"]) <= LOCKOUT_SECONDS
    elsewhere = call(key, address="198.51.100.8")
    assert (elsewhere.status_code, elsewhere.json()) == (404, {"error": "This job has no payment yet."})


def test_bad_tokens_and_bad_passwords_count_against_the_same_client():
    # given 15 wrong passwords and 5 bad tokens from one address
    fiona = f.funder("fiona")
    for number in range(15):
        log_in(Client(), f"guess-{number}", "wrong-password", address="198.51.100.7")
    url = reverse("api-job-payment", kwargs={"job_id": f.job(fiona).pk})
    for number in range(5):
        Client().get(url, headers={"Authorization": f"Token guess-{number}"}, REMOTE_ADDR="198.51.100.7")

    # when fiona logs in from there with the right password
    response = log_in(Client(), "fiona", f.PASSWORD, address="198.51.100.7")

    # then the address is locked out
    assert response.status_code == 429
