"""Sign-up, log-in, log-out, password reset by email and the profile page with its wallet address."""

from __future__ import annotations

import re
from collections.abc import Iterator
from unittest.mock import patch

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client
from django.urls import reverse
from pytest_django.fixtures import Settings

from jobs.models import Profile
from jobs.wallets import WalletAddressRefused
from payments import WalletAddress
from tests.jobs import factories as f
from worker.accounts import send_reset_link

pytestmark = pytest.mark.django_db

RESOLVE = "jobs.wallets.wallet_address_resolve"
EUR_WALLET = WalletAddress(
    id="https://wallet.example/alice",
    asset_code="EUR",
    asset_scale=2,
    auth_server="https://auth.wallet.example",
    resource_server="https://wallet.example/op",
    public_name="Alice",
)


SIGN_UP = {
    "email": "alice@example.org",
    "roles": ["provider"],
    "username": "alice",
    "password1": f.PASSWORD,
    "password2": f.PASSWORD,
}
NEW_PASSWORD = "another-long-password-77"
SENT = "If an account uses that email, we sent a link to it. Open the link to choose a new password."
EXPIRED = "This link has expired or was already used: each link works once."


def profile_of(user: User) -> tuple[object, ...]:
    p = Profile.objects.get(user=user)
    return (p.is_funder, p.is_provider, p.wallet_address, p.wallet_id, p.asset_code, p.asset_scale)


def accounts() -> list[tuple[str, str]]:
    return list(User.objects.values_list("username", "email").order_by("pk"))


def compact(html: str) -> str:
    """`html` without the layout whitespace of the templates: one space at most, none between tags."""
    return re.sub(r">\s+<", "><", re.sub(r"\s+", " ", html))


def fieldset(html: str) -> str:
    """The first <fieldset> of a page, tags included, compacted."""
    return compact(html[html.index("<fieldset") : html.index("</fieldset>") + len("</fieldset>")])


def test_sign_up_creates_the_user_with_email_and_roles_and_logs_them_in() -> None:
    # given
    client = Client()
    # when
    response = client.post(reverse("signup"), {**SIGN_UP, "roles": ["funder", "provider"]})
    # then
    alice = User.objects.get(username="alice")
    assert response.status_code == 302
    assert response["Location"] == "/profile"
    assert alice.email == "alice@example.org"
    assert profile_of(alice) == (True, True, "", "", "", None)
    assert client.session["_auth_user_id"] == str(alice.pk)


def test_the_sign_up_form_asks_for_the_email_and_the_roles_before_the_username() -> None:
    # when
    html = Client().get(reverse("signup")).content.decode()
    # then
    names = ['name="email"', 'name="roles"', 'name="username"', 'name="password1"', 'name="password2"']
    assert [html.index(name) for name in names] == sorted(html.index(name) for name in names)
    assert fieldset(html) == (
        '<fieldset class="field field-choices"><legend>I want to</legend><div id="id_roles"><div>'
        '<input type="checkbox" name="roles" value="funder" id="id_roles_0" '
        'aria-describedby="id_roles_0_helptext"><label for="id_roles_0">Fund jobs (funder)</label>'
        '<p class="help" id="id_roles_0_helptext">Post jobs and pay providers from your wallet.</p>'
        '</div><div><input type="checkbox" name="roles" value="provider" id="id_roles_1" '
        'aria-describedby="id_roles_1_helptext">'
        '<label for="id_roles_1">Do jobs and get paid (provider)</label>'
        '<p class="help" id="id_roles_1_helptext">Quote on jobs and get paid into your wallet.</p>'
        "</div></div></fieldset>"
    )


def test_no_label_of_the_sign_up_and_log_in_forms_ends_with_a_colon() -> None:
    # when
    signup = Client().get(reverse("signup")).content.decode()
    login = Client().get(reverse("login")).content.decode()
    # then
    assert '<label for="id_email">Email</label>' in signup
    assert '<label for="id_username">Username</label>' in signup
    assert '<label for="id_password1">Password</label>' in signup
    assert '<label for="id_password2">Password confirmation</label>' in signup
    assert '<label for="id_username">Username</label>' in login
    assert '<label for="id_password">Password</label>' in login
    assert re.findall(r"[^>]*:</(?:label|legend)>", signup + login) == []


def test_the_account_fields_say_what_browsers_may_fill_in() -> None:
    # when
    signup = Client().get(reverse("signup")).content.decode()
    login = Client().get(reverse("login")).content.decode()
    # then
    assert 'name="email" autocomplete="email"' in signup
    assert 'autocomplete="username"' in signup
    assert signup.count('autocomplete="new-password"') == 2
    assert 'autocomplete="username"' in login
    assert 'autocomplete="current-password"' in login


def test_sign_up_without_a_role_shows_the_error_in_the_roles_fieldset_and_keeps_what_was_typed() -> None:
    # when
    response = Client().post(reverse("signup"), {**SIGN_UP, "roles": []})
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert fieldset(html).startswith(
        '<fieldset class="field field-choices field-invalid" aria-describedby="id_roles_error">'
        '<legend>I want to</legend><ul class="errorlist" id="id_roles_error">'
        "<li>Choose at least one role: funder, provider, or both.</li></ul>"
        '<div id="id_roles"><div><input type="checkbox" name="roles" value="funder" aria-invalid="true"'
    )
    assert html.count("Choose at least one role") == 1
    assert "form-errors" not in html
    assert 'name="email" value="alice@example.org"' in html
    assert 'name="username" value="alice"' in html
    assert f.PASSWORD not in html
    assert accounts() == []


def test_sign_up_keeps_the_roles_ticked_when_something_else_is_wrong() -> None:
    # when
    response = Client().post(reverse("signup"), {**SIGN_UP, "roles": ["funder"], "password2": "other"})
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert 'value="funder" id="id_roles_0" checked aria-describedby="id_roles_0_helptext">' in html
    assert 'value="provider" id="id_roles_1" aria-describedby="id_roles_1_helptext">' in html
    assert accounts() == []


def test_sign_up_requires_an_email_address() -> None:
    # when
    response = Client().post(reverse("signup"), {**SIGN_UP, "email": ""})
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert '<ul class="errorlist" id="id_email_error"><li>This field is required.</li></ul>' in html
    assert 'aria-invalid="true" aria-describedby="id_email_helptext id_email_error" id="id_email"' in html
    assert accounts() == []


def test_sign_up_refuses_an_email_another_account_uses_whatever_its_case() -> None:
    # given
    User.objects.create_user("bob", "Alice@example.org", f.PASSWORD)
    # when
    response = Client().post(reverse("signup"), {**SIGN_UP, "email": "alice@EXAMPLE.ORG"})
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert (
        '<ul class="errorlist" id="id_email_error">'
        "<li>An account already uses this email. Log in or reset your password.</li></ul>"
    ) in html
    assert 'name="email" value="alice@EXAMPLE.ORG"' in html
    assert accounts() == [("bob", "Alice@example.org")]


def test_sign_up_requires_the_csrf_token() -> None:
    # when
    response = Client(enforce_csrf_checks=True).post(reverse("signup"), SIGN_UP)
    # then
    assert response.status_code == 403
    assert User.objects.count() == 0


def test_log_in_and_log_out() -> None:
    # given
    f.funder("fiona")
    client = Client()
    # when
    logged_in = client.post(reverse("login"), {"username": "fiona", "password": f.PASSWORD})
    logged_out = client.post(reverse("logout"))
    # then
    assert (logged_in.status_code, logged_in["Location"]) == (302, "/")
    assert (logged_out.status_code, logged_out["Location"]) == (302, "/")
    assert "_auth_user_id" not in client.session


def test_log_in_page_renders() -> None:
    # when
    response = Client().get(reverse("login"))
    # then
    assert response.status_code == 200
    assert '<input type="text" name="username"' in response.content.decode()
    assert '<a href="/password-reset">Forgot your password?</a>' in response.content.decode()


# Password reset by email

PUBLIC = "https://jobs.example"
ENQUEUE_RESET = "worker.tasks.password_reset.delay_on_commit"


@pytest.fixture(autouse=True)
def worker_sends_reset_links() -> Iterator[None]:
    """The worker's part of a reset, done at once: the link is emailed as the task would email it."""
    with patch(ENQUEUE_RESET, side_effect=send_reset_link):
        yield


@pytest.fixture
def alice(settings: Settings) -> User:
    """A provider with an email address, on a site whose public origin is PUBLIC."""
    settings.PUBLIC_BASE_URL = PUBLIC
    person = User.objects.create_user("alice", "alice@example.org", f.PASSWORD)
    Profile.objects.create(user=person, is_provider=True)
    return person


def link_in(message: mail.EmailMessage) -> str:
    """The one-time link an email carries."""
    found = re.search(rf"^{re.escape(PUBLIC)}/password-reset/\S+$", str(message.body), re.MULTILINE)
    assert found is not None, message.body
    return found.group(0)


def reset(browser: Client, link: str, password: str) -> str:
    """Opens `link` and sets `password` there; the path the page answered with at the end."""
    opened = browser.get(link.removeprefix(PUBLIC), follow=True)
    assert "<h1>Choose a new password</h1>" in opened.content.decode()
    form_path = opened.redirect_chain[-1][0]
    done = browser.post(form_path, {"new_password1": password, "new_password2": password}, follow=True)
    return str(done.redirect_chain[-1][0])


def logs_in(password: str) -> bool:
    response = Client().post(reverse("login"), {"username": "alice", "password": password})
    return response.status_code == 302


def test_a_forgotten_password_is_reset_through_the_emailed_link(alice: User) -> None:
    # given a browser on the reset page
    browser = Client()
    page = compact(browser.get(reverse("password-reset")).content.decode())
    assert '<label for="id_email">Email</label><input type="email" name="email" autocomplete="email"' in page
    # when alice asks for a link (typing her address in another case)
    asked = browser.post(reverse("password-reset"), {"email": "ALICE@example.org"}, follow=True)
    # then she is told to look at her email, which carries a link on the public origin
    assert asked.redirect_chain == [("/password-reset/sent", 302)]
    assert f"<h1>Check your email</h1><p>{SENT}</p>" in compact(asked.content.decode())
    [message] = mail.outbox
    link = link_in(message)
    assert (message.to, message.subject) == (
        ["alice@example.org"],
        "Reset your password on Open Jobs Marketplace",
    )
    assert message.body == (
        "Hello alice,\n\n"
        "Someone, we hope you, asked to reset the password of your Open Jobs Marketplace account. "
        "Your username is alice.\n\n"
        "To choose a new password, open this link. It works once, within 1 hour:\n"
        f"{link}\n\n"
        "If you did not ask for it, ignore this email: your password stays as it is.\n\n"
        "Open Jobs Marketplace\n"
    )
    # when she opens the link and sets a new password
    ended_on = reset(browser, link, NEW_PASSWORD)
    # then she is told so, and logs in with the new password only
    assert ended_on == "/password-reset/done"
    done = compact(browser.get(ended_on).content.decode())
    assert "<h1>Password changed</h1><p>Your new password is set. Log in with it.</p>" in done
    assert (logs_in(f.PASSWORD), logs_in(NEW_PASSWORD)) == (False, True)


def test_the_page_leaves_the_account_look_up_and_the_email_to_a_worker_whatever_the_address(
    alice: User,
) -> None:
    # given no worker behind the page
    with patch(ENQUEUE_RESET) as enqueue:
        # when links are asked for an account's address and for one no account uses
        known = Client().post(reverse("password-reset"), {"email": "ALICE@example.org"})
        unknown = Client().post(reverse("password-reset"), {"email": "nobody@example.org"})

    # then both get the same answer, each address typed is handed over as it is, and the page itself
    # sent nothing (so its answer takes no longer when an account exists)
    assert [(r.status_code, r["Location"]) for r in (known, unknown)] == [(302, "/password-reset/sent")] * 2
    assert [c.args for c in enqueue.call_args_list] == [("ALICE@example.org",), ("nobody@example.org",)]
    assert mail.outbox == []


def test_an_unknown_email_gets_the_same_answer_and_no_email(alice: User) -> None:
    # when someone asks for a link for an address no account uses
    asked = Client().post(reverse("password-reset"), {"email": "nobody@example.org"}, follow=True)
    # then the answer is the one an account's owner gets, and nothing is sent
    assert asked.redirect_chain == [("/password-reset/sent", 302)]
    assert f"<h1>Check your email</h1><p>{SENT}</p>" in compact(asked.content.decode())
    assert mail.outbox == []
    assert logs_in(f.PASSWORD)


def test_a_used_link_is_refused_and_offers_a_new_one(alice: User) -> None:
    # given a link alice already used
    browser = Client()
    browser.post(reverse("password-reset"), {"email": "alice@example.org"})
    link = link_in(mail.outbox[0])
    reset(browser, link, NEW_PASSWORD)
    # when it is opened again, in the same browser or another
    again = [compact(b.get(link.removeprefix(PUBLIC)).content.decode()) for b in (browser, Client())]
    # then it is refused, with a way to ask for a new one, and the password stays the one set
    for page in again:
        assert (
            f"<h1>Link expired</h1><p>{EXPIRED}</p>"
            '<p><a class="button button-primary" href="/password-reset">Send me a new link</a></p>'
        ) in page
        assert 'name="new_password1"' not in page
    assert (logs_in(f.PASSWORD), logs_in(NEW_PASSWORD)) == (False, True)


def test_an_old_link_is_refused(alice: User, settings: Settings) -> None:
    # given a link older than the time links work
    Client().post(reverse("password-reset"), {"email": "alice@example.org"})
    link = link_in(mail.outbox[0])
    settings.PASSWORD_RESET_TIMEOUT = -1
    # when it is opened
    page = compact(Client().get(link.removeprefix(PUBLIC)).content.decode())
    # then it is refused and nothing changed
    assert f"<h1>Link expired</h1><p>{EXPIRED}</p>" in page
    assert logs_in(f.PASSWORD)


def test_too_many_requests_for_one_email_are_refused_for_a_while(alice: User) -> None:
    # given three links asked for alice's address
    for _ in range(3):
        assert Client().post(reverse("password-reset"), {"email": "alice@example.org"}).status_code == 302
    # when a fourth is asked for
    refused = Client().post(reverse("password-reset"), {"email": "Alice@example.org"})
    # then it is refused, saying for how long, and no fourth email is sent
    assert (refused.status_code, refused["Retry-After"]) == (429, "900")
    assert (
        '<div class="form-errors" role="alert"><ul class="errorlist nonfield">'
        "<li>Too many reset requests. Try again in 15 minutes.</li></ul></div>"
    ) in refused.content.decode()
    assert 'name="email" value="Alice@example.org"' in refused.content.decode()
    assert len(mail.outbox) == 3


def test_setting_a_new_password_lifts_a_log_in_lock_out(alice: User) -> None:
    # given alice's account locked out after five wrong passwords
    for _ in range(5):
        Client().post(reverse("login"), {"username": "alice", "password": "wrong"})
    assert Client().post(reverse("login"), {"username": "alice", "password": f.PASSWORD}).status_code == 429
    # when she resets her password by email
    browser = Client()
    browser.post(reverse("password-reset"), {"email": "alice@example.org"})
    reset(browser, link_in(mail.outbox[0]), NEW_PASSWORD)
    # then she logs in with it at once
    assert logs_in(NEW_PASSWORD)


# The profile


def test_saving_a_wallet_stores_what_it_resolved_to() -> None:
    # given
    alice = f.user("alice", wallet=False)
    # when
    with patch(RESOLVE, return_value=EUR_WALLET) as resolve:
        response = f.logged_in(alice).post(
            reverse("profile"), {"is_funder": "on", "wallet_address": " $wallet.example/alice "}
        )
    # then
    assert response.status_code == 302
    resolve.assert_called_once_with("$wallet.example/alice")
    assert profile_of(alice) == (
        True,
        False,
        "$wallet.example/alice",
        "https://wallet.example/alice",
        "EUR",
        2,
    )


def test_a_refused_wallet_shows_the_reason_and_saves_nothing() -> None:
    # given
    alice = f.user("alice", wallet=False)
    reason = "No wallet was found at https://wallet.example/nobody."
    # when
    with patch(RESOLVE, side_effect=WalletAddressRefused(reason)):
        response = f.logged_in(alice).post(
            reverse("profile"), {"is_funder": "on", "wallet_address": "https://wallet.example/nobody"}
        )
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert f'<ul class="errorlist" id="id_wallet_address_error"><li>{reason}</li></ul>' in html
    assert profile_of(alice) == (False, False, "", "", "", None)


def test_saving_roles_keeps_an_unchanged_wallet_without_resolving_it_again() -> None:
    # given
    fiona = f.funder("fiona")
    # when
    with patch(RESOLVE) as resolve:
        response = f.logged_in(fiona).post(
            reverse("profile"),
            {"is_funder": "on", "is_provider": "on", "wallet_address": "https://wallet.example/fiona"},
        )
    # then
    assert response.status_code == 302
    resolve.assert_not_called()
    assert profile_of(fiona) == (
        True,
        True,
        "https://wallet.example/fiona",
        "https://wallet.example/fiona",
        "USD",
        2,
    )


def test_clearing_the_wallet_address_removes_the_wallet() -> None:
    # given
    fiona = f.funder("fiona")
    # when
    with patch(RESOLVE) as resolve:
        f.logged_in(fiona).post(reverse("profile"), {"is_funder": "on", "wallet_address": ""})
    # then
    resolve.assert_not_called()
    assert profile_of(fiona) == (True, False, "", "", "", None)


def test_the_profile_page_shows_the_resolved_wallet() -> None:
    # when
    response = f.logged_in(f.funder("fiona")).get(reverse("profile"))
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert (
        '<p class="wallet-summary">Wallet <code>https://wallet.example/fiona</code>'
        " · you are paid and pay in <strong>US Dollar (USD)</strong></p>"
    ) in html


def test_the_profile_names_an_asset_babel_does_not_know_by_its_code() -> None:
    # when
    response = f.logged_in(f.funder("fiona", asset_code="XYZ")).get(reverse("profile"))
    # then
    assert " · you are paid and pay in <strong>XYZ</strong></p>" in response.content.decode()


def test_the_profile_refuses_an_email_another_account_uses() -> None:
    # given
    fiona = f.funder("fiona")
    User.objects.create_user("bob", "bob@example.org", f.PASSWORD)
    # when
    with patch(RESOLVE) as resolve:
        response = f.logged_in(fiona).post(
            reverse("profile"),
            {"is_funder": "on", "wallet_address": "https://wallet.example/fiona", "email": "BOB@example.org"},
        )
    # then
    assert response.status_code == 200
    assert (
        '<ul class="errorlist" id="id_email_error"><li>Another account already uses this email.</li></ul>'
    ) in response.content.decode()
    resolve.assert_not_called()
    assert accounts() == [("fiona", ""), ("bob", "bob@example.org")]


def test_the_profile_needs_a_login() -> None:
    # when
    response = Client().get(reverse("profile"))
    # then
    assert (response.status_code, response["Location"]) == (302, "/login?next=/profile")


def test_the_profile_form_requires_the_csrf_token() -> None:
    # given
    fiona = f.funder("fiona")
    # when
    with patch(RESOLVE) as resolve:
        response = f.logged_in(fiona, csrf=True).post(reverse("profile"), {"wallet_address": ""})
    # then
    assert response.status_code == 403
    resolve.assert_not_called()
    assert profile_of(fiona)[3] == "https://wallet.example/fiona"
