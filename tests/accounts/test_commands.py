"""`fangpin create-user` and `fangpin serve` (the server itself runs in tests/e2e/test_serve.py)."""

from __future__ import annotations

import pytest
from django.contrib.auth import authenticate

from fangpin.cli import main
from fangpin.commands.users import generate_password

pytestmark = pytest.mark.django_db


def test_create_user_prints_a_generated_password_that_logs_in(areas, capsys):
    assert (
        main(
            [
                "create-user",
                "yuhai2",
                "--role",
                "乡镇专干",
                "--area",
                "640324100",
                "--name",
                "马专干",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "已创建用户 yuhai2（乡镇专干，豫海镇）" in out
    password = out.split("初始密码：")[1].split()[0]
    user = authenticate(username="yuhai2", password=password)
    assert (
        user is not None
        and user.profile.area_code == "640324100"
        and user.get_full_name() == "马专干"
    )


def test_create_user_takes_a_given_password_and_department(capsys):
    code = main(
        [
            "create-user",
            "mz",
            "--role",
            "部门联络员",
            "--department",
            "民政",
            "--password",
            "Minzheng-2025-ok",
            "--read-only",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "初始密码" not in out and "（部门联络员，民政，只读）" in out
    assert authenticate(username="mz", password="Minzheng-2025-ok").profile.read_only


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["create-user", "x", "--role", "乡镇专干"], "区划代码"),
        (["create-user", "x", "--role", "部门联络员"], "须指定部门"),
        (["create-user", "x", "--role", "县级经办", "--password", "short"], "密码不合要求"),
    ],
)
def test_create_user_explains_what_is_missing_with_exit_status_2(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_create_user_refuses_an_unknown_role(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["create-user", "x", "--role", "县长"])
    assert exc.value.code == 2


def test_generated_passwords_pass_the_password_rules():
    from django.contrib.auth.password_validation import validate_password

    for _ in range(20):
        validate_password(generate_password())


def test_serve_migrates_then_runs_djangos_server_on_the_address_given(monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(
        "django.core.management.call_command", lambda *a, **kw: calls.append((a, kw))
    )
    assert main(["serve", "--host", "127.0.0.1", "--port", "8123"]) == 0
    assert calls == [
        (("runserver", "127.0.0.1:8123"), {"use_reloader": False, "skip_checks": False})
    ]
    assert "http://127.0.0.1:8123/" in capsys.readouterr().out


def test_serve_refuses_a_port_out_of_range(capsys):
    assert main(["serve", "--port", "70000"]) == 2
