"""Test data made through the API (urllib), so each browser test starts from known state.

Names carry a random suffix: the server and its database are shared by the whole session.
"""

from __future__ import annotations

import pathlib
import uuid

ROOT_CA = (pathlib.Path(__file__).resolve().parents[2] / "domain" / "tests" / "fixtures" / "root-ca.pem").read_text()


def suffix() -> str:
    return uuid.uuid4().hex[:8]


def user(scepter, name: str | None = None) -> dict:
    tag = suffix()
    return scepter.ok(
        "POST",
        "/api/v1/users",
        json={
            "userPrincipalName": f"{tag}@contoso.example",
            "displayName": name or f"User {tag}",
            "mail": f"{tag}@contoso.example",
        },
    )


def device(scepter, name: str | None = None, user_id: str | None = None, platform: str = "ios") -> dict:
    return scepter.ok(
        "POST",
        "/api/v1/devices",
        json={"deviceName": name or f"Device {suffix()}", "platform": platform, "userId": user_id},
    )


def group(scepter, kind: str = "device", name: str | None = None) -> dict:
    return scepter.ok(
        "POST", "/api/v1/groups", json={"displayName": name or f"Group {suffix()}", "groupType": kind}
    )


def add_members(scepter, group_id: str, *member_ids: str) -> None:
    scepter.ok("POST", f"/api/v1/groups/{group_id}/members", json={"memberIds": list(member_ids)})


def root_profile(scepter, platform: str = "ios") -> dict:
    return scepter.ok(
        "POST",
        "/api/v1/trusted-certificate-profiles",
        json={"displayName": f"Root {suffix()}", "platform": platform, "trustedRootCertificate": ROOT_CA},
    )


def scep_profile(scepter, root_id: str, platform: str = "ios") -> dict:
    return scepter.ok(
        "POST",
        "/api/v1/scep-certificate-profiles",
        json={
            "displayName": f"Wi-Fi {suffix()}",
            "platform": platform,
            "certificateType": "user",
            "subjectNameFormat": "commonName",
            "keyUsage": ["digitalSignature"],
            "keySize": 2048,
            "rootCertificateId": root_id,
            "scepServerUrls": ["https://ndes.contoso.example/certsrv/mscep/mscep.dll"],
        },
    )


def assign(scepter, kind: str, profile_id: str, group_id: str, intent: str = "include") -> dict:
    collection = "scep-certificate-profiles" if kind == "scep" else "trusted-certificate-profiles"
    return scepter.ok(
        "POST", f"/api/v1/{collection}/{profile_id}/assignments", json={"groupId": group_id, "intent": intent}
    )


def enrolled_device(scepter, name: str | None = None) -> dict:
    """A user's iPhone in a device group that both a root and a SCEP profile are assigned to."""
    owner = user(scepter)
    phone = device(scepter, name=name, user_id=owner["id"])
    devices = group(scepter, "device")
    add_members(scepter, devices["id"], phone["id"])
    root = root_profile(scepter)
    scep = scep_profile(scepter, root["id"])
    assign(scepter, "trusted", root["id"], devices["id"])
    assign(scepter, "scep", scep["id"], devices["id"])
    return {"user": owner, "device": phone, "group": devices, "root": root, "scep": scep}
