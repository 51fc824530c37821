"""``manage.py bootstrap_demo``: demo accounts, roles and customers; safe to run again."""

import random

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from customers.roles import AGENTS, SUPERVISORS, PermissionsMissing, ensure_roles
from customers.services import ensure_customer

# (username, password, group, is_staff). Usernames are stored lower-case; sign-in ignores case.
DEMO_USERS = [
    ("edward", "1234", AGENTS, False),
    ("sissi", "5678", AGENTS, False),
    ("supervisor", "supervisor-2018", SUPERVISORS, True),
]
# The 2018 demo's own customers: 12-digit numbers, not valid Chinese mobiles, kept as given.
SEED_CUSTOMERS = [
    ("Mr Lu", "135012345678", "Alibaba Cloud demo"),
    ("Miss Lu", "135012345679", "Alibaba Cloud demo"),
]

_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁"
)
_GIVEN = [
    "伟",
    "芳",
    "娜",
    "秀英",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀兰",
    "霞",
    "平",
    "刚",
    "桂英",
    "建华",
    "文",
    "华",
    "红梅",
    "鑫",
    "宇航",
]
_COMPANIES = [
    "杭州西湖茶业有限公司",
    "上海浦江物流有限公司",
    "北京中关村软件有限公司",
    "深圳南山电子科技有限公司",
    "广州天河贸易有限公司",
    "成都锦江餐饮管理有限公司",
    "南京鼓楼医疗器械有限公司",
    "武汉光谷光电有限公司",
    "西安曲江文化传媒有限公司",
    "苏州工业园区精密制造有限公司",
    "",
    "",
]
# (city area code without trunk 0, local number length)
_AREAS = [("10", 8), ("21", 8), ("755", 8), ("20", 8), ("571", 8), ("28", 8), ("25", 8)]
_MOBILE_PREFIXES = ["134", "135", "136", "137", "138", "139", "150", "158", "186", "188", "199"]


def _written(rng, number, area=None):
    """Write a Chinese number the way people do: +86, 0086, spaces, dashes, or plain."""
    if area is None:  # mobile, 11 digits
        styles = [
            number,
            f"{number[:3]} {number[3:7]} {number[7:]}",
            f"+86 {number[:3]}-{number[3:7]}-{number[7:]}",
            f"0086{number}",
            f"+86{number}",
        ]
    else:
        styles = [
            f"0{area}-{number}",
            f"(0{area}) {number[:4]} {number[4:]}",
            f"+86 {area} {number}",
            f"0086-{area}-{number}",
        ]
    return rng.choice(styles)


def demo_customers(count=50, seed=2018):
    """Return ``count`` demo customers, the same on every run.

    Shape: ``[(name, company, email, notes, [phone numbers as written])]``.
    """
    rng = random.Random(seed)
    rows, seen = [], set()
    while len(rows) < count:
        name = rng.choice(_SURNAMES) + rng.choice(_GIVEN)
        if name in seen:
            continue
        seen.add(name)
        company = rng.choice(_COMPANIES)
        mobile = rng.choice(_MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
        phones = [_written(rng, mobile)]
        if company and rng.random() < 0.6:
            area, length = rng.choice(_AREAS)
            local = str(rng.randrange(2, 9)) + f"{rng.randrange(10 ** (length - 1)):0{length - 1}d}"
            phones.append(_written(rng, local, area))
        email = f"customer{len(rows) + 1:02d}@example.cn"
        notes = rng.choice(["", "VIP", "Prefers calls after 14:00", "Asked about invoices"])
        rows.append((name, company, email, notes, phones))
    return rows


class Command(BaseCommand):
    help = (
        "Create the demo roles (Agents, Supervisors), accounts edward/1234, sissi/5678 and a "
        "supervisor, and the demo customers. Idempotent. Refuses when DEBUG is off unless --force."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help="Set the weak demo passwords even though DEBUG is off.",
        )

    @transaction.atomic
    def handle(self, *args, force=False, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "DEBUG is off: refusing to create accounts with the weak demo passwords. "
                "Use --force if this really is a demo machine."
            )
        try:
            groups = ensure_roles()
        except PermissionsMissing as exc:
            raise CommandError(str(exc)) from None

        user_model = get_user_model()
        for username, password, group, staff in DEMO_USERS:
            user = user_model.objects.filter(username__iexact=username).first()
            created = user is None
            if created:
                user = user_model(username=username)
            user.is_staff, user.is_active, user.is_superuser = staff, True, False
            # Only a wrong password is reset: setting the same one again makes a new salted hash,
            # which changes the session auth hash and signs the user out on every restart.
            if created or not user.check_password(password):
                user.set_password(password)
            user.save()
            user.groups.add(groups[group])
            verb = "created" if created else "updated"
            self.stdout.write(f"{verb} {group[:-1].lower()} {username} / {password}")

        made = 0
        for name, phone, company in SEED_CUSTOMERS:
            made += ensure_customer(name, [phone], company=company)[1]
        for name, company, email, notes, phones in demo_customers():
            made += ensure_customer(name, phones, company=company, email=email, notes=notes)[1]
        total = len(SEED_CUSTOMERS) + len(demo_customers())
        self.stdout.write(
            self.style.SUCCESS(f"demo customers: {made} created, {total - made} kept")
        )
        if apps.is_installed("aliyun_sandbox"):
            # The agents' cloud identities live in the sandbox add-on, which seeds its own users.
            call_command("sandbox_seed", stdout=self.stdout)
