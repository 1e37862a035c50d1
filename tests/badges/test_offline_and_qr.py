"""A badge can be checked offline with nothing but the published public key,
and the badge image carries the code."""
from __future__ import annotations

import base64
import io
import json

import zxingcpp
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from PIL import Image


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def offline_verify(qr_text: str, jwks: dict) -> dict | None:
    """What a verifier's phone does with no network: only `cryptography`."""
    token = qr_text.rsplit("/b/", 1)[-1]
    prefix, payload_b64, signature_b64 = token.split(".")
    payload = json.loads(_unb64(payload_b64))
    key = next((k for k in jwks["keys"] if k["kid"] == payload["k"]), None)
    if key is None:
        return None
    try:
        Ed25519PublicKey.from_public_bytes(_unb64(key["x"])).verify(
            _unb64(signature_b64), f"{prefix}.{payload_b64}".encode())
    except InvalidSignature:
        return None
    return payload


def test_offline_verification_with_only_the_published_key(client, member):
    badge = member(name="陈小文").get("/api/v1/me/badge").json
    jwks = client.get("/api/v1/badges/keys").json  # public: no token needed
    payload = offline_verify(badge["qr_text"], jwks)
    assert payload is not None
    assert payload["n"] == "陈*文" and payload["m"] == "full"
    assert "13800138000" not in badge["qr_text"]
    # a tampered payload fails offline too
    token = badge["qr_text"].rsplit("/b/", 1)[-1]
    prefix, _payload_b64, signature = token.split(".")
    forged = dict(payload, n="王*五")
    forged_b64 = base64.urlsafe_b64encode(json.dumps(forged).encode()).decode().rstrip("=")
    assert offline_verify(f"{prefix}.{forged_b64}.{signature}", jwks) is None


def test_badge_png_decodes_and_verifies(member, login):
    holder = member()
    response = holder.get("/api/v1/me/badge.png")
    assert response.status_code == 200 and response.mimetype == "image/png"
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(response.data)))
    assert len(decoded) == 1
    result = login("o-resident").post("/api/v1/badges/verify", json={"code": decoded[0].text})
    assert result.status_code == 200
    assert result.json["valid"] is True
    assert result.json["member"]["display_name"] == "陈*文"
