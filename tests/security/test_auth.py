"""API tokens expire and are revoked when trust changes; token and admin logins resist brute force."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import Group, User
from django.test import Client
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from knox.models import AuthToken
from knox.settings import CONSTANTS
from rest_framework.test import APIClient

from .conftest import ANALYST_GROUP, PASSWORD

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def log_in(client: APIClient, username: str = "analyst", password: str = PASSWORD, **extra):
    return client.post("/api/auth/token", {"username": username, "password": password}, format="json", **extra)


def token_client(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


@pytest.fixture
def token(analyst) -> str:
    response = log_in(APIClient())
    assert response.status_code == 200, response.content
    return response.json()["token"]


def works(token: str) -> bool:
    """Whether the token still authenticates (an analyst may read the customer list)."""
    status = token_client(token).get("/customer_ids").status_code
    assert status in (200, 401), status
    return status == 200


# Tokens -------------------------------------------------------------------------------------------


def test_the_login_returns_a_token_that_expires_after_the_ttl(analyst, settings) -> None:
    settings.REST_KNOX = {**settings.REST_KNOX, "TOKEN_TTL": timedelta(hours=10)}

    body = log_in(APIClient()).json()

    assert set(body) == {"token", "expiry"}
    expiry = parse_datetime(body["expiry"])
    assert abs(expiry - (timezone.now() + timedelta(hours=10))) < timedelta(minutes=1)
    assert works(body["token"])


def test_an_expired_token_is_refused_and_deleted(token) -> None:
    AuthToken.objects.update(expiry=timezone.now() - timedelta(seconds=1))

    assert not works(token)
    assert AuthToken.objects.count() == 0


def test_a_password_change_revokes_the_users_tokens(token, analyst) -> None:
    analyst.set_password("a-new-pass-654321")
    analyst.save()

    assert not works(token)


def test_a_password_change_in_the_admin_revokes_the_tokens(token, analyst, admin_client) -> None:
    response = admin_client.post(
        f"/admin/auth/user/{analyst.pk}/password/",
        {"password1": "a-new-pass-654321", "password2": "a-new-pass-654321", "usable_password": "true"},
    )

    assert response.status_code == 302
    assert not works(token)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda user: setattr(user, "is_active", False) or user.save(), id="deactivated"),
        pytest.param(lambda user: setattr(user, "is_staff", False) or user.save(), id="staff-removed"),
        pytest.param(lambda user: user.groups.clear(), id="groups-cleared"),
        pytest.param(lambda user: user.groups.remove(Group.objects.get(name=ANALYST_GROUP)), id="group-removed"),
        pytest.param(lambda user: Group.objects.get(name=ANALYST_GROUP).user_set.remove(user), id="removed-from-group"),
        pytest.param(lambda user: Group.objects.get(name=ANALYST_GROUP).user_set.clear(), id="group-emptied"),
        pytest.param(lambda user: user.user_permissions.clear(), id="permissions-cleared"),
    ],
)
def test_losing_trust_revokes_the_users_tokens(token, analyst, change) -> None:
    other = User.objects.create_user("other", password=PASSWORD)
    _, other_token = AuthToken.objects.create(user=other)

    change(User.objects.get(pk=analyst.pk))

    assert not works(token)
    assert AuthToken.objects.filter(user=other).count() == 1 and other_token


def test_other_changes_to_the_user_keep_the_tokens(token, analyst) -> None:
    user = User.objects.get(pk=analyst.pk)
    user.first_name = "Ana"
    user.save()
    user.is_superuser = True  # more trust, not less
    user.save()
    user.groups.add(Group.objects.create(name="Readers"))
    log_in(APIClient())  # a second login updates last_login

    assert works(token)


def test_a_superuser_revokes_a_token_in_the_admin_and_an_analyst_cannot(token, analyst, admin_client) -> None:
    digest = AuthToken.objects.get(user=analyst).pk
    analyst_admin = Client()
    analyst_admin.force_login(analyst)

    assert analyst_admin.get("/admin/knox/authtoken/").status_code == 403
    assert analyst_admin.post(f"/admin/knox/authtoken/{digest}/delete/", {"post": "yes"}).status_code == 403
    assert works(token)
    assert admin_client.get("/admin/knox/authtoken/").status_code == 200
    assert admin_client.post(f"/admin/knox/authtoken/{digest}/delete/", {"post": "yes"}).status_code == 302
    assert not works(token)


def test_logout_revokes_only_this_token_and_logoutall_every_one(analyst) -> None:
    first, second, third = (log_in(APIClient()).json()["token"] for _ in range(3))

    assert token_client(first).post("/api/auth/logout").status_code == 204
    assert (works(first), works(second), works(third)) == (False, True, True)
    assert token_client(second).post("/api/auth/logoutall").status_code == 204
    assert (works(second), works(third)) == (False, False)


def test_wrong_credentials_get_400_and_an_inactive_user_no_token(analyst) -> None:
    wrong = log_in(APIClient(), password="wrong")
    analyst.is_active = False
    analyst.save()
    inactive = log_in(APIClient(), REMOTE_ADDR="10.0.0.2")

    assert wrong.status_code == inactive.status_code == 400
    assert wrong.json()["errors"] == {"body": ["Unable to log in with provided credentials."]}
    assert AuthToken.objects.count() == 0


# Brute force ----------------------------------------------------------------------------------------


def test_repeated_wrong_passwords_on_the_token_login_get_429_even_for_the_right_one(analyst) -> None:
    client = APIClient()

    statuses = [log_in(client, password=f"wrong-{i}").status_code for i in range(6)]
    right = log_in(client)

    assert statuses[:4] == [400] * 4 and statuses[4:] == [429, 429]
    assert right.status_code == 429
    assert right["Content-Type"] == "application/json"
    assert "detail" in right.json() and int(right["Retry-After"]) > 0
    assert AuthToken.objects.count() == 0


def test_token_logins_are_throttled_per_username_across_addresses(analyst) -> None:
    statuses = [log_in(APIClient(), REMOTE_ADDR=f"10.0.1.{i}").status_code for i in range(6)]

    assert statuses == [200] * 5 + [429]


def test_token_logins_are_throttled_per_address_across_usernames(analyst) -> None:
    client = APIClient()

    statuses = [log_in(client, username=f"nobody-{i}", password="x").status_code for i in range(5)]
    sixth = log_in(client)

    assert statuses == [400] * 5 and sixth.status_code == 429


def test_failed_token_logins_lock_the_admin_login_too(analyst, monkeypatch) -> None:
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "login", "1000/min")
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "login_username", "1000/min")
    api = APIClient()

    statuses = [log_in(api, password=f"wrong-{i}").status_code for i in range(5)]
    right = log_in(api)
    admin = Client().post("/admin/login/", {"username": "analyst", "password": PASSWORD})

    assert statuses == [400] * 4 + [429]  # axes locks at the fifth failure, not the throttle
    assert right.status_code == admin.status_code == 429
    assert AccessAttempt.objects.get(username="analyst").failures_since_start >= 5


def admin_login(client: Client, username: str, password: str, address: str = "127.0.0.1"):
    return client.post("/admin/login/?next=/admin/", {"username": username, "password": password}, REMOTE_ADDR=address)


def test_the_admin_login_locks_a_username_and_address_after_five_failures(analyst, settings) -> None:
    client = Client()
    User.objects.create_user("colleague", password=PASSWORD, is_staff=True)

    statuses = [admin_login(client, "analyst", f"wrong-{i}").status_code for i in range(5)]
    right = admin_login(client, "analyst", PASSWORD)

    assert statuses == [200] * 4 + [429]  # 200: the login form again, with its error
    assert right.status_code == 429 and "_auth_user_id" not in client.session
    assert admin_login(Client(), "colleague", PASSWORD).status_code == 302  # another username: not locked
    assert admin_login(Client(), "analyst", PASSWORD, address="10.9.9.9").status_code == 302  # another address


def test_the_lockout_ends_after_the_cool_off(analyst, settings) -> None:
    for i in range(5):
        admin_login(Client(), "analyst", f"wrong-{i}")
    assert admin_login(Client(), "analyst", PASSWORD).status_code == 429

    AccessAttempt.objects.update(attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1))

    assert admin_login(Client(), "analyst", PASSWORD).status_code == 302


def test_the_default_counters_are_shared_by_every_process() -> None:
    """Without CACHE_URL the throttle counters live in the database cache, and axes counts in its tables."""
    unset = {"CACHE_URL", "TOKEN_TTL_HOURS", "DJANGO_SETTINGS_MODULE"}
    env = {key: value for key, value in os.environ.items() if key not in unset}
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'anomaly_site.settings'; django.setup();"
        "from django.conf import settings; from django.core.cache import caches;"
        "print(type(caches['default']).__name__, settings.AXES_HANDLER, settings.AUTHENTICATION_BACKENDS[0],"
        " settings.REST_KNOX['TOKEN_TTL'].total_seconds())"
    )

    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)

    assert out.stdout.split() == [
        "DatabaseCache",
        "axes.handlers.database.AxesDatabaseHandler",
        "axes.backends.AxesStandaloneBackend",
        "36000.0",
    ]


def test_a_request_reads_only_its_own_token_and_a_login_deletes_expired_ones(token, analyst) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert works(token)
        return len(captured)

    assert works(token)  # the first read of the customer list stores its stamp (transactions.customer_list)
    before = queries()
    for _ in range(5):  # more tokens of the same user, as more logins give
        AuthToken.objects.create(user=analyst)
    assert queries() == before  # knox's own check read every token of the user on each request
    AuthToken.objects.exclude(token_key=token[: CONSTANTS.TOKEN_KEY_LENGTH]).update(
        expiry=timezone.now() - timedelta(seconds=1)
    )
    assert works(token)  # others' expiry is not this request's business
    assert AuthToken.objects.count() == 6
    assert log_in(APIClient()).status_code == 200
    assert AuthToken.objects.count() == 2  # the expired five are gone, the live one and the new one stay


def test_each_request_reads_the_token_and_its_user_afresh(token, analyst) -> None:
    from api.authentication import TokenAuthentication

    user, auth_token = TokenAuthentication().authenticate_credentials(token.encode())
    assert auth_token == AuthToken.objects.get() and auth_token.user is user
    stored = User.objects.get(pk=analyst.pk)
    assert [getattr(user, field.attname) for field in User._meta.concrete_fields] == [
        getattr(stored, field.attname) for field in User._meta.concrete_fields
    ]
    analyst.is_active = False
    analyst.save()
    assert not works(token)  # an inactive user is refused at once


def test_a_token_sharing_its_key_with_another_is_told_apart_by_its_digest(token, analyst, admin_user) -> None:
    other, other_token = AuthToken.objects.create(user=admin_user)
    AuthToken.objects.filter(pk=other.pk).update(token_key=token[: CONSTANTS.TOKEN_KEY_LENGTH])
    assert works(token)
    assert token_client(other_token).get("/customer_ids").status_code == 401  # its key no longer matches
    forged = token[: CONSTANTS.TOKEN_KEY_LENGTH] + other_token[CONSTANTS.TOKEN_KEY_LENGTH :]
    assert token_client(forged).get("/customer_ids").status_code == 401
