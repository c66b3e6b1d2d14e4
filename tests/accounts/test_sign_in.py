"""Signing in: only local redirects, failures throttled in the database, no timing tell,
and passwords that users change and admins reset."""

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from argon2 import PasswordHasher
from sqlmodel import Session, select

from pro_app import create_app
from pro_app.accounts import passwords
from pro_app.models import SignInThrottle, User
from pro_app.web.auth import safe_next

T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
WRONG = "not the right password"


@pytest.fixture(autouse=True)
def quick_hashes(monkeypatch):
    """Cheap Argon2 parameters: these tests make many checks on a busy machine."""
    monkeypatch.setattr(
        passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


@pytest.fixture
def clock():
    """The clock stands still at ``T0`` (instead of running on, as in tests/conftest.py)
    until a test moves it: pauses and lifetimes are checked to the second."""
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def _sign_in(client, email, password=None, address="192.0.2.10", next_=None):
    path = "/login" if next_ is None else f"/login?next={next_}"
    return client.post(
        path,
        data={"email": email, "password": password or "correct horse battery"},
        environ_base={"REMOTE_ADDR": address},
    )


# Where a sign-in leads

HOSTILE_NEXT = [
    "/%09/evil.example",  # a tab, dropped by browsers: //evil.example
    "/%0A/evil.example",
    "/%0D/evil.example",
    "/%00/evil.example",
    "//evil.example",
    "%2F%2Fevil.example",
    "/%5Cevil.example",  # /\evil.example
    "%5C%5Cevil.example",
    "https://evil.example/",
    "https:/evil.example",
    "javascript:alert(1)",
    "%20//evil.example",
    "/%7F/evil.example",
    "/%C2%85/evil.example",  # a C1 control character
    "evil.example",
]


def test_sign_in_never_redirects_off_this_host(app, gen):
    """A hostile ``next`` is ignored; one carrying a control character the input guard
    refuses outright (400), before anyone is signed in."""
    user = gen.user(gen.site())
    refused_by_the_input_guard = {"/%00/evil.example", "/%7F/evil.example"}
    for target in HOSTILE_NEXT:
        client = app.test_client()
        response = _sign_in(client, user.email, next_=target)
        if target in refused_by_the_input_guard:
            assert response.status_code == 400 and "Location" not in response.headers, target
        else:
            assert (response.status_code, response.headers["Location"]) == (302, "/patients/"), (
                target
            )


def test_sign_in_follows_a_path_on_this_host(client, gen):
    user = gen.user(gen.site())
    response = _sign_in(client, user.email, next_="/patients/%3Fq%3DAlex")
    assert response.headers["Location"] == "/patients/?q=Alex"


def test_safe_next_accepts_only_local_paths():
    assert safe_next("/patients/3?tab=answers") == "/patients/3?tab=answers"
    refused = ["", None, "//x", "/\\x", "/a\\b", "/\t/x", "/\u0085/x", "http://x/", "x"]
    assert [safe_next(target) for target in refused] == [None] * len(refused)


# Failed sign-ins: counted in the database, paused, said in plain words


def test_five_failures_pause_the_account_even_for_the_right_password(client, gen, clock):
    user = gen.user(gen.site())
    first = _sign_in(client, user.email, WRONG)
    assert first.status_code == 401
    assert "After 4 more failed tries, signing in to this account pauses for 1 minute." in (
        first.data.decode()
    )
    for _ in range(3):
        _sign_in(client, user.email, WRONG)
    fifth = _sign_in(client, user.email, WRONG).data.decode()
    assert "Too many failed sign-ins for this account" in fifth
    assert "Try again in 1 minute." in fifth
    clock.shift(timedelta(seconds=15))
    paused = _sign_in(client, user.email)
    assert (paused.status_code, paused.headers["Retry-After"]) == (429, "45")
    assert "signing in is paused. Try again in 1 minute." in paused.data.decode()
    clock.shift(timedelta(seconds=46))
    assert _sign_in(client, user.email).status_code == 302


def test_failures_from_elsewhere_cannot_keep_a_nurse_out_of_her_own_browser(app, gen, clock):
    """One wrong password an hour from fresh addresses would pause the account for good;
    the browser the nurse signed in from before is held only by its own address's pause.
    Everyone else, a new browser of hers included, still waits."""
    user = gen.user(gen.site())
    hers, new_browser, attacker = app.test_client(), app.test_client(), app.test_client()
    assert _sign_in(hers, user.email).status_code == 302  # her ward computer, last week
    hers.post("/logout")
    for n in range(8):  # the attacker, a new address each time
        _sign_in(attacker, user.email, WRONG, address=f"198.51.100.{n}")
    assert _sign_in(new_browser, user.email).status_code == 429
    assert _sign_in(attacker, user.email, address="198.51.100.99").status_code == 429
    forged = app.test_client()
    forged.set_cookie("pro_device", "not-signed")
    assert _sign_in(forged, user.email, address="198.51.100.50").status_code == 429
    assert _sign_in(hers, user.email).status_code == 302


def test_a_copied_device_cookie_buys_no_more_guesses_than_the_account_pause(app, gen, clock):
    """The cookie skips the account's pause; copied off a shared computer it gave guesses
    limited only by each address's pause. Its failures now pause it, as an account's do,
    from any address; and they no longer pause the account for everyone else."""
    user = gen.user(gen.site())
    ward = app.test_client()
    assert _sign_in(ward, user.email).status_code == 302
    ward.post("/logout")
    copy = app.test_client()
    copy.set_cookie("pro_device", ward.get_cookie("pro_device").value)
    for n in range(5):
        assert _sign_in(copy, user.email, WRONG, address=f"198.51.100.{n}").status_code == 401
    paused = _sign_in(copy, user.email, address="198.51.100.77")
    assert paused.status_code == 429
    assert "Too many failed sign-ins for this account on this browser" in paused.data.decode()
    assert _sign_in(ward, user.email, address="192.0.2.99").status_code == 429  # one cookie
    assert _sign_in(app.test_client(), user.email).status_code == 302  # the account is not
    clock.shift(timedelta(minutes=2))
    assert _sign_in(ward, user.email).status_code == 302


def test_a_new_password_forgets_the_browsers_known_before(app, gen, engine, clock):
    """A cookie kept after an administrator's reset (a leaver's laptop, a copy) went on
    skipping the account's pause. It names the account with its password now: after a
    reset it is a stranger's browser, held by the account's pause like any other."""
    user = gen.user(gen.site())
    old_laptop = app.test_client()
    assert _sign_in(old_laptop, user.email).status_code == 302
    old_laptop.post("/logout")
    with Session(engine) as session:  # an administrator resets the password
        stored = session.get(User, user.id)
        stored.password_hash = passwords.hash_password("a brand new passphrase")
        session.add(stored)
        session.commit()
    for n in range(5):  # someone else, wrong each time
        _sign_in(app.test_client(), user.email, WRONG, address=f"198.51.100.{n}")
    held = _sign_in(old_laptop, user.email, WRONG, address="198.51.100.77")
    assert held.status_code == 429
    assert "Too many failed sign-ins for this account, so" in held.data.decode()


def test_the_pause_doubles_and_tries_during_it_do_not_count(client, gen, engine, clock):
    user = gen.user(gen.site())
    for _ in range(5):
        _sign_in(client, user.email, WRONG)
    for _ in range(10):  # during the pause: refused unchecked and uncounted
        assert _sign_in(client, user.email, WRONG).status_code == 429
    clock.shift(timedelta(minutes=1, seconds=1))
    page = _sign_in(client, user.email, WRONG).data.decode()
    assert "Try again in 2 minutes." in page
    clock.shift(timedelta(minutes=2, seconds=1))
    assert "Try again in 4 minutes." in _sign_in(client, user.email, WRONG).data.decode()
    with Session(engine) as session:
        row = session.exec(select(SignInThrottle).where(SignInThrottle.scope == "account")).one()
    assert (row.key, row.failures, row.locked_until) == (
        user.email,
        7,
        T0 + timedelta(minutes=7, seconds=2),
    )


def test_a_success_clears_the_count(client, gen, engine, clock):
    user = gen.user(gen.site())
    for _ in range(4):
        _sign_in(client, user.email, WRONG)
    assert _sign_in(client, user.email).status_code == 302
    client.post("/logout")
    page = _sign_in(client, user.email, WRONG).data.decode()
    assert "After 4 more failed tries" in page


def test_the_count_holds_across_workers_and_restarts(app, gen, engine, clock):
    """Two apps on one database stand for two workers, or one before and after a restart."""
    user = gen.user(gen.site())
    for _ in range(5):
        _sign_in(app.test_client(), user.email, WRONG)
    restarted = create_app(
        {
            "TESTING": True,
            "SETTINGS": app.extensions["pro_settings"],
            "ENGINE": engine,
            "WTF_CSRF_ENABLED": False,
        }
    )
    assert _sign_in(restarted.test_client(), user.email).status_code == 429


def test_an_unknown_email_is_counted_and_answered_alike(client, gen, clock):
    user = gen.user(gen.site())
    known = _sign_in(client, user.email, WRONG)
    unknown = _sign_in(client, "nobody@example.test", WRONG)
    assert known.status_code == unknown.status_code == 401
    assert known.data.replace(user.email.encode(), b"") == unknown.data.replace(
        b"nobody@example.test", b""
    )
    for _ in range(4):
        _sign_in(client, "nobody@example.test", WRONG)
    assert "Too many failed sign-ins for this account" in (
        _sign_in(client, "nobody@example.test", WRONG).data.decode()
    )


def test_one_address_trying_many_accounts_is_paused(client, gen, clock):
    user = gen.user(gen.site())
    for n in range(20):
        _sign_in(client, f"guess{n}@example.test", WRONG, address="198.51.100.7")
    paused = _sign_in(client, user.email, address="198.51.100.7")
    assert paused.status_code == 429
    assert "Too many failed sign-ins for your network address" in paused.data.decode()
    assert _sign_in(client, user.email, address="198.51.100.8").status_code == 302


# No timing tell: an argon2 verification whether or not the account exists


def test_unknown_and_inactive_accounts_spend_a_full_verification(client, gen, monkeypatch):
    checked: list[str] = []

    class RecordingHasher(PasswordHasher):
        def verify(self, password_hash, password):
            checked.append(password_hash)
            return super().verify(password_hash, password)

    monkeypatch.setattr(passwords, "_hasher", RecordingHasher())  # the production cost
    user = gen.user(gen.site())
    inactive = gen.user(gen.site())
    with Session(gen.engine) as session:
        session.get(User, inactive.id).active = False
        session.commit()
        real_hash = session.get(User, user.id).password_hash
    for email in ("nobody@example.test", inactive.email, user.email):
        _sign_in(client, email, WRONG)
    assert len(checked) == 3
    # The dummy hash costs what a real one does: same algorithm and parameters.
    parameters = [password_hash.rsplit("$", 2)[0] for password_hash in checked]
    assert parameters == [real_hash.rsplit("$", 2)[0]] * 3
    assert checked[0] != real_hash


# Changing and resetting passwords


def _change(client, current, new, confirm=None):
    return client.post(
        "/account/password",
        data={"current": current, "new": new, "confirm": confirm or new},
        environ_base={"REMOTE_ADDR": "192.0.2.10"},
    )


def test_a_user_changes_their_password(client, gen, clock):
    user = gen.user(gen.site())
    _sign_in(client, user.email)
    assert client.get("/account/password").status_code == 200
    assert _change(client, WRONG, "a brand new password").status_code == 400
    assert (
        _change(client, gen.PASSWORD, "a brand new password", "another one entirely").status_code
        == 400
    )
    assert _change(client, gen.PASSWORD, "short").status_code == 400
    response = _change(client, gen.PASSWORD, "a brand new password")
    assert response.status_code == 302
    assert client.get("/patients/").status_code == 200  # this session carries on
    client.post("/logout")
    assert _sign_in(client, user.email).status_code == 401
    assert _sign_in(client, user.email, "a brand new password").status_code == 302


def test_a_browser_that_changed_its_password_stays_known(app, gen, clock):
    """Changing one's own password is made on a browser known for it: it stays out of the
    account's pause, with the new password."""
    user = gen.user(gen.site())
    ward = app.test_client()
    _sign_in(ward, user.email)
    assert _change(ward, gen.PASSWORD, "a brand new password").status_code == 302
    ward.post("/logout")
    for n in range(5):
        _sign_in(app.test_client(), user.email, WRONG, address=f"198.51.100.{n}")
    assert _sign_in(app.test_client(), user.email, "a brand new password").status_code == 429
    assert _sign_in(ward, user.email, "a brand new password").status_code == 302


def test_wrong_current_passwords_count_towards_the_pause(client, gen, clock):
    user = gen.user(gen.site())
    _sign_in(client, user.email)
    for _ in range(5):
        _change(client, WRONG, "a brand new password")
    assert _change(client, gen.PASSWORD, "a brand new password").status_code == 429
    with Session(gen.engine) as session:
        assert passwords.verify_password(session.get(User, user.id).password_hash, gen.PASSWORD)


def test_an_admin_reset_forces_a_new_password_at_next_sign_in(app, client, gen, clock):
    site = gen.site()
    nurse = gen.user(site)
    nurse_client = app.test_client()
    _sign_in(nurse_client, nurse.email)
    assert nurse_client.get("/patients/").status_code == 200
    _sign_in(client, gen.user(site, role="admin").email)
    reset = client.post(
        f"/admin/users/{nurse.id}/password", data={"password": "temporary password"}
    )
    assert reset.status_code == 302
    # The nurse's open session ended at once.
    assert nurse_client.get("/patients/").headers["Location"].startswith("/login")
    assert _sign_in(nurse_client, nurse.email).status_code == 401  # old password gone
    signed_in = _sign_in(nurse_client, nurse.email, "temporary password")
    assert signed_in.headers["Location"] == "/account/password"
    for page in ("/patients/", "/account", "/patients/enrol"):
        assert nurse_client.get(page).headers["Location"] == "/account/password"
    assert (
        _change(nurse_client, "temporary password", "the nurse's own password").status_code == 302
    )
    assert nurse_client.get("/patients/").status_code == 200
    with Session(gen.engine) as session:
        assert not session.get(User, nurse.id).must_change_password


def test_an_account_added_by_an_admin_chooses_its_own_password_first(client, gen, clock):
    site = gen.site()
    _sign_in(client, gen.user(None, role="admin").email)
    client.post(
        "/admin/users",
        data={
            "email": "new@example.org",
            "name": "New",
            "role": "nurse",
            "site_code": site.code,
            "password": "initial password",
        },
    )
    client.post("/logout")
    assert _sign_in(client, "new@example.org", "initial password").headers["Location"] == (
        "/account/password"
    )


def test_failures_arriving_at_once_are_all_counted(app, gen, engine, clock):
    """Several workers counting the same email at the same moment lose no failure."""
    user = gen.user(gen.site())

    def fail(n: int) -> int:
        return _sign_in(app.test_client(), user.email, WRONG, address=f"203.0.113.{n}").status_code

    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = list(pool.map(fail, range(4)))
    assert statuses == [401] * 4
    with Session(engine) as session:
        row = session.exec(select(SignInThrottle).where(SignInThrottle.scope == "account")).one()
    assert row.failures == 4


def test_an_operator_resets_a_password_from_the_command_line(runner, client, gen, clock):
    user = gen.user(None, role="admin")
    result = runner.invoke(
        args=["reset-password", "--email", user.email.upper(), "--password", "temporary password"]
    )
    assert result.exit_code == 0, result.output
    assert _sign_in(client, user.email, "temporary password").headers["Location"] == (
        "/account/password"
    )
    nobody = ["--email", "nobody@example.test", "--password", "temporary password"]
    unknown = runner.invoke(args=["reset-password", *nobody])
    assert unknown.exit_code == 1 and "No user with email nobody@example.test" in unknown.output
