"""Per-call CPU overhead of the CCC proxy, without the network: prints microseconds per operation.

    .venv/bin/python benchmarks/ccc_proxy_overhead.py

Measures the two conversions on realistic 2017-07-05 shapes (a ListSkillGroupsOfUser answer and a
100-record ListRecentCallRecords answer), and building the per-call aliyun-python-sdk-core client
and request (``make_client`` + ``build_request``; the client is reused per access key pair, so
this is its cache lookup plus a new request), STS-signed
and in bearer mode (opaque access tokens), the bearer figure printed beside the STS one as its
reference, with the ratio.
"""

import os
import sys
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crmdemo.settings")

import django  # noqa: E402

django.setup()

from ccc_proxy import client  # noqa: E402
from ccc_proxy.conversion import to_openapi_parameters, to_sdk_response  # noqa: E402

NUMBER = {
    "PhoneNumberId": "pn-1",
    "Number": "02161234567",
    "Province": "Shanghai",
    "City": "Shanghai",
    "Usage": "Bidirection",
    "AllowOutbound": True,
    "TestOnly": False,
    "Trunks": 10,
    "RemainingTime": 0,
    "PhoneNumberDescription": "hotline",
    "InstanceId": "i",
}
SKILLS = {
    "RequestId": "r",
    "Success": True,
    "Code": "OK",
    "HttpStatusCode": 200,
    "SkillLevels": {
        "SkillLevel": [
            {
                "SkillLevelId": f"skl-{i}",
                "Level": 5,
                "Skill": {
                    "SkillGroupId": f"g{i}",
                    "SkillGroupName": "Sales",
                    "OutboundPhoneNumbers": {"PhoneNumber": [NUMBER, NUMBER]},
                },
            }
            for i in range(5)
        ]
    },
}
RECORDS = {
    "RequestId": "r",
    "Success": True,
    "CallDetailRecords": {
        "List": {
            "CallDetailRecord": [
                {
                    "ContactId": f"c{i}",
                    "ContactType": "Inbound",
                    "CallingNumber": "13501234567",
                    "CalledNumber": "02161234567",
                    "StartTime": 1764400000000,
                    "Duration": 42,
                    "AgentNames": "edward",
                    "SkillGroupNames": "Sales",
                }
                for i in range(100)
            ]
        },
        "PageNumber": 1,
        "PageSize": 100,
        "TotalCount": 100,
    },
}
REQUEST = {
    "instanceId": "i",
    "pageNumber": 1,
    "pageSize": 100,
    "startTime": 1764400000000,
    "criteria": {"phone": "135", "skillGroups": ["g1", "g2"]},
    "withRecording": True,
}


def per_call_us(fn, number: int) -> float:
    best = min(timeit.repeat(fn, number=number, repeat=5))
    return best / number * 1e6


STS = client.StsCredentials("STS.id", "secret", "token")


def build_client_and_request(credentials=STS):
    acs = client.make_client(credentials)
    request = client.build_request("GetLoginDetails", {"InstanceId": "i"}, credentials)
    request.get_url("cn-shanghai", acs.get_access_key(), acs.get_access_secret())  # signs
    acs.session.close()


def build_bearer_client_and_request():
    build_client_and_request(client.BearerToken("ot-opaque-access-token"))


if __name__ == "__main__":
    for name in client.OVERRIDE_ENVIRONMENT_VARIABLES:
        os.environ.pop(name, None)
    rows = [
        ("to_sdk_response(ListSkillGroupsOfUser, 5 groups)", lambda: to_sdk_response(SKILLS), 5000),
        ("to_sdk_response(ListRecentCallRecords, 100 rows)", lambda: to_sdk_response(RECORDS), 500),
        ("to_openapi_parameters(6 params, nested)", lambda: to_openapi_parameters(REQUEST), 20000),
        ("make_client + build_request + sign (STS)", build_client_and_request, 500),
    ]
    for label, fn, number in rows:
        print(f"{label:55s} {per_call_us(fn, number):9.1f} us/call")
    sts = per_call_us(build_client_and_request, 500)
    bearer = per_call_us(build_bearer_client_and_request, 500)
    print(
        f"{'make_client + build_request + sign (bearer)':55s} {bearer:9.1f} us/call"
        f"   STS reference {sts:.1f} us/call, ratio {bearer / sts:.2f}"
    )
