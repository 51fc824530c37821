"""The OpenAPI actions each softphone SDK calls through the proxy, and which are safe to retry.

Sources (see docs/ccc-2x.md): the 1.x list is the one the 1.x WorkbenchSdk calls (CCC doc 63063,
API 2017-07-05); the 2.x list is the table "服务端准备工作" of the 2.x softphone SDK page
("软电话前端SDK文档接入", public repository ``AlibabaCloudDocs/ccc``, folder
``cn.zh-CN/开发指南/开发指南（2.x版本）/集成坐席工作台``), business actions then call control.

``True`` marks an action that only reads, so that repeating it once after the agent's token was
refreshed cannot do anything twice. Call control (MakeCall, AnswerCall, ReleaseCall,
BlindTransfer, ...), state changes, devices and logs are never repeated by the proxy.
"""

API_2017 = "2017-07-05"
API_2020 = "2020-07-01"

# The product name the 2.x SDK puts in its URL (``product=CloudCallCenter``).
SDK_2X_PRODUCT = "CloudCallCenter"

ACTIONS: dict[str, dict[str, bool]] = {
    API_2017: {
        "RequestLoginInfo": True,
        "RefreshToken": True,
        "ListSkillGroupsOfUser": True,
        "GetConfig": True,
        "ListConfig": True,
        "GetServiceExtensions": True,
        "ListRecentCallRecords": True,
        "PickGlobalOutboundNumbers": True,
        "GetNumberRegionInfo": True,
        "LaunchAppraise": False,
        "ListOutboundPhoneNumberOfUser": True,
        "ListRealTimeAgent": True,
        "ListAgentStates": True,
        "ListRecordingsByContactId": True,
        "GetTURNCredentials": True,
        "GetTURNServerList": True,
        "AddAgentDevice": False,
        "ModifyAgentDevice": False,
        "ListAgentDevices": True,
        "ResetUserStatus": False,
        "DownloadRecording": True,
    },
    API_2020: {
        # Business actions.
        "GetLoginDetails": True,
        "ListSkillLevelsOfUser": True,
        "ListOutboundNumbersOfUser": True,
        "ListConfigItems": True,
        "GetTurnServerList": True,
        "ListPrivilegesOfUser": True,
        "GetTurnCredentials": True,
        "ListDevices": True,
        "AddAgentDevice": False,
        "PickOutboundNumbers": True,
        "GetNumberLocation": True,
        "ListRealtimeAgentStates": True,
        "ListAgentStates": True,
        "ResetAgentState": False,
        "ListRecentCallDetailRecords": True,
        "ListSkillGroups": True,
        "ListBriefSkillGroups": True,
        "ListHistoricalAgentReport": True,
        "SaveTerminalLog": False,
        # Call control: never repeated. (SignInGroup is not in the SDK page's table; it is
        # documented and is what register/logIn do.)
        "SignInGroup": False,
        "SignOutGroup": False,
        "TakeBreak": False,
        "ReadyForService": False,
        "MakeCall": False,
        "AnswerCall": False,
        "ReleaseCall": False,
        "HoldCall": False,
        "RetrieveCall": False,
        "BlindTransfer": False,
        "InitiateAttendedTransfer": False,
        "CompleteAttendedTransfer": False,
        "CancelAttendedTransfer": False,
        "SendDtmfSignaling": False,
        "MonitorCall": False,
        "MuteCall": False,
        "UnmuteCall": False,
        "LaunchSurvey": False,
        # Not in the SDK page's table either, but documented reads: PollUserStatus (the agent's
        # state and call, e.g. after a reload), GetCallDetailRecord (one call's record).
        "PollUserStatus": True,
        "GetCallDetailRecord": True,
    },
}


def default_allowed(version: str) -> list[str]:
    """The actions of API ``version`` in table order (empty for a version not listed)."""
    return list(ACTIONS.get(version, {}))


def is_retry_safe(version: str, action: str) -> bool:
    """Whether ``action`` of API ``version`` may be repeated after a token refresh (only reads;
    an action missing from the table is not)."""
    return ACTIONS.get(version, {}).get(action, False)
