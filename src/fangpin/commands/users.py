"""`fangpin create-user USERNAME --role ROLE [--area CODE] [--department D] [--password P]`."""

from __future__ import annotations

import argparse
import secrets
import string

from fangpin.accounts.roles import ALL_ROLES


def register(sub) -> None:
    p = sub.add_parser("create-user", help="create a user of the web application")
    p.add_argument("username")
    p.add_argument("--role", required=True, choices=ALL_ROLES, help="角色")
    p.add_argument("--area", help="区划代码 (乡镇专干 needs the township's code)")
    p.add_argument("--area-name", help="区划名称 (default: looked up in the people ledger)")
    p.add_argument("--department", help="部门 (部门联络员 needs it), e.g. 民政")
    p.add_argument("--name", default="", help="姓名 shown in the top bar")
    p.add_argument("--read-only", action="store_true", help="只读账户")
    p.add_argument("--password", help="password (default: a generated one, printed once)")
    p.set_defaults(handler=cmd_create_user)


def generate_password(length: int = 14) -> str:
    # No look-alike characters (0/O, 1/l/I): the password is read out or copied by hand.
    alphabet = "".join(c for c in string.ascii_letters + string.digits if c not in "0O1lI")
    while True:
        password = "".join(secrets.choice(alphabet) for _ in range(length))
        if any(c.isdigit() for c in password) and any(c.isalpha() for c in password):
            return password


def cmd_create_user(args: argparse.Namespace) -> int:
    from fangpin.cli import UsageError
    from fangpin.people.bootstrap import setup_django

    setup_django()
    from django.contrib.auth.models import User
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    from fangpin.accounts.services import AccountError, create_user

    generated = args.password is None
    password = generate_password() if generated else args.password
    try:
        validate_password(password, User(username=args.username))
    except ValidationError as exc:
        raise UsageError("密码不合要求：" + "；".join(exc.messages)) from None
    try:
        user = create_user(
            args.username,
            password,
            args.role,
            area_code=args.area,
            department=args.department,
            read_only=args.read_only,
            area_name=args.area_name,
            full_name=args.name,
        )
    except AccountError as exc:
        raise UsageError(str(exc)) from None
    where = user.profile.area_label
    print(
        f"已创建用户 {user.username}（{user.profile.role}，{where}{'，只读' if user.profile.read_only else ''}）"
    )
    if generated:
        print(f"初始密码：{password}")
        print("请转交本人，并提醒首次登录后修改密码。")
    return 0
