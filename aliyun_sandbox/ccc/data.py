"""The sandbox CCC instance's static data: skill groups, phone numbers, config items, and each
cloud user's agent identity.

Shapes follow the 2017-07-05 models (docs/PROTOCOL.md §2; aliyun/alibabacloud-java-sdk
ccc-20170705).
The instance id is ``settings.ALIYUN_CCC_INSTANCE_ID``, read at call time.
"""

import hashlib
import uuid

import phonenumbers
from django.conf import settings
from phonenumbers import geocoder

from aliyun_sandbox.models import CloudUser

_NAMESPACE = uuid.UUID("6f1c2a7e-3b9d-4c1e-9a51-2f0b7c8d9e10")

# Numbers the instance owns (PhoneNumber model of 2017-07-05).
PHONE_NUMBERS = [
    {
        "PhoneNumberId": "pn-shanghai-hotline",
        "Number": "02150001234",
        "Province": "上海",
        "City": "上海",
        "Usage": "Bidirection",
        "AllowOutbound": True,
        "TestOnly": False,
        "Trunks": 10,
        "RemainingTime": 0,
        "PhoneNumberDescription": "Shanghai hotline",
    },
    {
        "PhoneNumberId": "pn-beijing-sales",
        "Number": "01080005678",
        "Province": "北京",
        "City": "北京",
        "Usage": "Bidirection",
        "AllowOutbound": True,
        "TestOnly": False,
        "Trunks": 5,
        "RemainingTime": 0,
        "PhoneNumberDescription": "Beijing sales line",
    },
    {
        "PhoneNumberId": "pn-service-400",
        "Number": "4008001234",
        "Province": "",
        "City": "",
        "Usage": "Inbound",
        "AllowOutbound": False,
        "TestOnly": False,
        "Trunks": 30,
        "RemainingTime": 0,
        "PhoneNumberDescription": "National service number (inbound only)",
    },
]

# Skill groups of the instance and the numbers each may use.
SKILL_GROUPS = [
    {
        "SkillGroupId": "skg-sales",
        "SkillGroupName": "Sales",
        "SkillGroupDescription": "Inbound and outbound sales",
        "RoutingStrategy": "LongestIdle",
        "numbers": ["pn-shanghai-hotline", "pn-beijing-sales"],
    },
    {
        "SkillGroupId": "skg-support",
        "SkillGroupName": "Support",
        "SkillGroupDescription": "Customer support",
        "RoutingStrategy": "LongestIdle",
        "numbers": ["pn-shanghai-hotline", "pn-service-400"],
    },
]

# Instance configuration items (GetConfig / ListConfig).
CONFIG_ITEMS = {
    "AfterCallWorkDuration": "0",
    "AutoAnswer": "false",
    "EnableRecording": "false",
    "MaxConcurrentConversation": "1",
    "WebRtcEnabled": "true",
}

# Service extensions (GetServiceExtensions): numbers an agent can transfer to.
SERVICE_EXTENSIONS = [
    {"Name": "Satisfaction survey", "Number": "9001"},
    {"Name": "Voicemail", "Number": "9002"},
]


def _digest(*parts: str) -> int:
    return int.from_bytes(hashlib.sha256("|".join(parts).encode()).digest()[:4], "big")


def agent_user_id(user: CloudUser) -> str:
    """The user's CCC UserId: ``ccc_user_id`` when set, else a stable UUID from ``uid``."""
    return user.ccc_user_id or str(uuid.uuid5(_NAMESPACE, f"ccc-user:{user.uid}"))


def agent_extension(user: CloudUser) -> str:
    """The user's softphone extension: ``extension`` when set, else a stable 4-digit 8xxx."""
    return user.extension or f"8{_digest('ext', user.uid) % 1000:03d}"


def find_agent(user_id: str) -> CloudUser | None:
    """The cloud user whose CCC UserId (set or generated) is ``user_id``, or None."""
    found = CloudUser.objects.filter(ccc_user_id=user_id).first()
    if found:
        return found
    for user in CloudUser.objects.filter(ccc_user_id=""):
        if agent_user_id(user) == user_id:
            return user
    return None


def find_agent_by_name(name: str) -> CloudUser | None:
    """The cloud user named ``name``: its upn, the upn's part before ``@``, its CCC UserId or
    its extension (``edward`` finds ``edward@crmdemo.onaliyun.com``)."""
    user = CloudUser.objects.filter(upn__iexact=name).first()
    if user is None and "@" not in name:
        user = CloudUser.objects.filter(upn__istartswith=f"{name}@").first()
    if user is None:
        user = find_agent(name)
    if user is None:
        user = next((u for u in CloudUser.objects.all() if agent_extension(u) == name), None)
    return user


def phone_number(number_id: str) -> dict:
    """The PhoneNumber model of one instance number (with ``InstanceId``)."""
    item = next(n for n in PHONE_NUMBERS if n["PhoneNumberId"] == number_id)
    return {**item, "InstanceId": settings.ALIYUN_CCC_INSTANCE_ID}


def skill_levels(user: CloudUser) -> list[dict]:
    """The user's SkillLevel list: every skill group, each with a stable level 1-10."""
    levels = []
    for group in SKILL_GROUPS:
        levels.append(
            {
                "SkillLevelId": f"skl-{group['SkillGroupId']}-{agent_extension(user)}",
                "Level": 1 + _digest("level", user.uid, group["SkillGroupId"]) % 10,
                "Skill": {
                    "SkillGroupId": group["SkillGroupId"],
                    "SkillGroupName": group["SkillGroupName"],
                    "SkillGroupDescription": group["SkillGroupDescription"],
                    "InstanceId": settings.ALIYUN_CCC_INSTANCE_ID,
                    "RoutingStrategy": group["RoutingStrategy"],
                    "OutboundPhoneNumbers": {
                        "PhoneNumber": [phone_number(n) for n in group["numbers"]]
                    },
                },
            }
        )
    return levels


def outbound_numbers(user: CloudUser) -> list[dict]:
    """The instance numbers the user may call out from (union over the user's skill groups)."""
    ids: list[str] = []
    for group in SKILL_GROUPS:
        ids += [n for n in group["numbers"] if n not in ids]
    return [phone_number(n) for n in ids if phone_number(n)["AllowOutbound"]]


def number_region(number: str) -> dict:
    """``{Number, Province, City}`` of a phone number (Chinese names via phonenumbers' geocoder;
    empty strings when unknown)."""
    try:
        parsed = phonenumbers.parse(number, settings.PHONE_DEFAULT_REGION)
        where = geocoder.description_for_number(parsed, "zh")
    except phonenumbers.NumberParseException:
        where = ""
    province, city = where, where
    if "省" in where:
        province, city = where.split("省", 1)
        province += "省"
    return {"Number": number, "Province": province, "City": city or province}
