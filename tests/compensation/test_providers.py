"""The payout adapters against the provider fakes over real HTTP: transfers, queries, notifications, bills, faults."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from fastapi import FastAPI, Request, Response

from services.compensation.errors import NotificationRejected, ProviderError, ProviderTimeout
from services.compensation.providers.alipay import AlipayTransfers
from services.compensation.providers.wechatpay import WeChatPayTransfers
from shared.testing.fakes.alipay import create_alipay_fake, sign_rsa2, signing_string
from shared.testing.fakes.keys import generate_rsa_keypair
from shared.testing.fakes.server import ServerThread, free_port
from shared.testing.fakes.wechatpay import create_wechatpay_fake
from tests.support import eventually

MCHID, WX_APPID, SERIAL, PUBLIC_KEY_ID = "1900000109", "wx-providers-test", "MERCHANT-SERIAL-01", "PUB_KEY_ID_01"
APIV3_KEY = "0123456789abcdef0123456789abcdef"
ALIPAY_APPID = "2021000000000042"
OPENID, ALIPAY_USER = "o-providers-test-openid", "2088000000000042"


@dataclass(frozen=True)
class Keys:
    merchant: tuple[str, str]
    wechat_platform: tuple[str, str]
    alipay_app: tuple[str, str]
    alipay_platform: tuple[str, str]


@dataclass
class Receiver:
    """Stands where the gateway's callback routes would: keeps every notification it gets."""

    url: str
    received: list[dict[str, Any]] = field(default_factory=list)

    async def wait(self, provider: str, count: int = 1) -> list[dict[str, Any]]:
        async def arrived() -> list[dict[str, Any]]:
            notes = [n for n in self.received if n["provider"] == provider]
            return notes if len(notes) >= count else []

        return await eventually(arrived)


@pytest.fixture(scope="module")
def keys() -> Keys:
    return Keys(generate_rsa_keypair(), generate_rsa_keypair(), generate_rsa_keypair(), generate_rsa_keypair())


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    app = FastAPI()
    received: list[dict[str, Any]] = []

    @app.post("/notify/{provider}")
    async def keep(provider: str, request: Request) -> Response:
        received.append({"provider": provider, "headers": dict(request.headers), "body": await request.body()})
        return Response(status_code=204)

    with ServerThread(app) as server:
        yield Receiver(server.url, received)


@pytest.fixture(scope="module")
def wechatpay_fake(keys: Keys) -> Iterator[tuple[FastAPI, str]]:
    app = create_wechatpay_fake(
        MCHID, WX_APPID, keys.merchant[1], SERIAL, keys.wechat_platform[0], PUBLIC_KEY_ID, APIV3_KEY
    )
    with ServerThread(app) as server:
        yield app, server.url


@pytest.fixture(scope="module")
def alipay_fake(keys: Keys) -> Iterator[tuple[FastAPI, str]]:
    app = create_alipay_fake(ALIPAY_APPID, keys.alipay_app[1], keys.alipay_platform[0])
    with ServerThread(app) as server:
        yield app, server.url + "/gateway.do"


@pytest.fixture(autouse=True)
async def clean(wechatpay_fake: tuple[FastAPI, str], alipay_fake: tuple[FastAPI, str], receiver: Receiver) -> None:
    """Each test starts with empty fakes, once the last test's transfers and notifications are done."""
    fakes = (wechatpay_fake[0], alipay_fake[0])
    deadline = time.monotonic() + 3
    while any(fake.state.background for fake in fakes) and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.02)  # the tasks live on the servers' loops: nothing here to await
    for fake in fakes:
        fake.state.faults.set("none", 0)
        fake.state.transfer_calls = 0
        fake.state.notifications.clear()
    wechatpay_fake[0].state.bills.clear()
    wechatpay_fake[0].state.failing_openids.clear()
    wechatpay_fake[0].state.real_names.clear()
    wechatpay_fake[0].state.user_names.clear()
    alipay_fake[0].state.orders.clear()
    alipay_fake[0].state.failing_payees.clear()
    alipay_fake[0].state.real_names.clear()
    alipay_fake[0].state.payee_names.clear()
    receiver.received.clear()


@pytest.fixture
def wechat(keys: Keys, wechatpay_fake: tuple[FastAPI, str], receiver: Receiver) -> Callable[..., WeChatPayTransfers]:
    """An adapter at the fake; keyword arguments replace any of its settings."""

    def make(**overrides: Any) -> WeChatPayTransfers:
        settings: dict[str, Any] = {
            "mchid": MCHID,
            "appid": WX_APPID,
            "private_key_pem": keys.merchant[0],
            "cert_serial_no": SERIAL,
            "apiv3_key": APIV3_KEY,
            "platform_public_key_pem": keys.wechat_platform[1],
            "public_key_id": PUBLIC_KEY_ID,
            "notify_url": receiver.url + "/notify/wechat",
            "gateway_url": wechatpay_fake[1],
            "timeout": 2.0,
        }
        return WeChatPayTransfers(**{**settings, **overrides})

    return make


@pytest.fixture
def alipay(keys: Keys, alipay_fake: tuple[FastAPI, str], receiver: Receiver) -> Callable[..., AlipayTransfers]:
    """An adapter at the fake; keyword arguments replace any of its settings."""

    def make(**overrides: Any) -> AlipayTransfers:
        settings: dict[str, Any] = {
            "appid": ALIPAY_APPID,
            "gateway_url": alipay_fake[1],
            "app_private_key_pem": keys.alipay_app[0],
            "alipay_public_key_pem": keys.alipay_platform[1],
            "notify_url": receiver.url + "/notify/alipay",
            "timeout": 2.0,
        }
        return AlipayTransfers(**{**settings, **overrides})

    return make


async def fault_taken(fake: FastAPI) -> bool:
    """The fake has met the request the fault was set for. A caller's timeout passes on its own clock, maybe
    before the fake's loop even read the request (a loaded machine): the next call must not meet the fault."""
    return fake.state.faults.remaining == 0


def out_no() -> str:
    return "pay" + uuid.uuid4().hex[:24]


def wechat_headers(body: bytes, private_key_pem: str, *, age_seconds: int = 0) -> dict[str, str]:
    """Headers as WeChat Pay signs a notification, `age_seconds` ago."""
    stamp, nonce = str(int(time.time()) - age_seconds), uuid.uuid4().hex
    key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    signature = key.sign(
        f"{stamp}\n{nonce}\n{body.decode()}\n".encode(),
        padding.PKCS1v15(),  # type: ignore[union-attr]
        hashes.SHA256(),
    )
    return {
        "Wechatpay-Timestamp": stamp,
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Serial": PUBLIC_KEY_ID,
        "Wechatpay-Signature": base64.b64encode(signature).decode(),
        "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
        "Content-Type": "application/json",
    }


# --- WeChat Pay ----------------------------------------------------------------------------------------


async def test_wechat_transfer_is_accepted_then_succeeds_and_notifies(wechat, wechatpay_fake, receiver) -> None:
    adapter, no = wechat(), out_no()
    sent = await adapter.transfer(out_no=no, payee=OPENID, amount_fen=12_345, remark="旅游投诉先行赔付")
    assert sent.state in ("processing", "succeeded") and sent.out_no == no and sent.provider_ref

    (note,) = await receiver.wait("wechat")
    parsed = adapter.parse_notification(note["headers"], note["body"])
    assert (parsed.out_no, parsed.state, parsed.amount_fen, parsed.provider_ref) == (
        no,
        "succeeded",
        12_345,
        sent.provider_ref,
    )
    known = await adapter.query(no)
    assert (known.state, known.amount_fen, known.provider_ref) == ("succeeded", 12_345, sent.provider_ref)
    bill = wechatpay_fake[0].state.bills[no]
    assert (bill["openid"], bill["transfer_amount"], bill["appid"]) == (OPENID, 12_345, WX_APPID)
    (log,) = wechatpay_fake[0].state.notifications
    assert (log["url"], log["status"], log["body"].encode()) == (receiver.url + "/notify/wechat", 204, note["body"])


async def test_wechat_same_out_no_twice_is_one_bill(wechat, wechatpay_fake) -> None:
    adapter, no = wechat(), out_no()
    first = await adapter.transfer(out_no=no, payee=OPENID, amount_fen=500, remark="赔付")
    again = await adapter.transfer(out_no=no, payee=OPENID, amount_fen=500, remark="赔付")
    assert first.provider_ref == again.provider_ref
    assert len(wechatpay_fake[0].state.bills) == 1 and wechatpay_fake[0].state.transfer_calls == 2


async def test_wechat_out_no_reused_for_another_amount_is_refused(wechat, wechatpay_fake) -> None:
    adapter, no = wechat(), out_no()
    await adapter.transfer(out_no=no, payee=OPENID, amount_fen=500, remark="赔付")
    other = await adapter.transfer(out_no=no, payee=OPENID, amount_fen=501, remark="赔付")
    assert other.state == "failed" and other.reason and other.reason.startswith("PARAM_ERROR")
    assert len(wechatpay_fake[0].state.bills) == 1 and wechatpay_fake[0].state.bills[no]["transfer_amount"] == 500


async def test_wechat_failing_payee_fails_with_the_reason(wechat, wechatpay_fake, receiver) -> None:
    wechatpay_fake[0].state.failing_openids.add("o-closed-account")
    adapter, no = wechat(), out_no()
    await adapter.transfer(out_no=no, payee="o-closed-account", amount_fen=800, remark="赔付")
    (note,) = await receiver.wait("wechat")
    parsed = adapter.parse_notification(note["headers"], note["body"])
    assert (parsed.state, parsed.reason) == ("failed", "PAYEE_ACCOUNT_ABNORMAL")
    known = await adapter.query(no)
    assert (known.state, known.reason, known.amount_fen) == ("failed", "PAYEE_ACCOUNT_ABNORMAL", 800)


async def test_wechat_query_of_an_unknown_bill_is_not_found(wechat) -> None:
    assert (await wechat().query(out_no())).state == "not_found"


async def test_wechat_a_404_that_is_not_wechat_pays_proves_nothing(wechat, receiver) -> None:
    with pytest.raises(ProviderError):  # the receiver has no such route: a misconfigured gateway URL
        await wechat(gateway_url=receiver.url).query(out_no())


async def test_wechat_error500_is_a_provider_error_and_pays_nothing(wechat, wechatpay_fake) -> None:
    wechatpay_fake[0].state.faults.set("error500", 1)
    adapter, no = wechat(), out_no()
    with pytest.raises(ProviderError):
        await adapter.transfer(out_no=no, payee=OPENID, amount_fen=100, remark="赔付")
    assert wechatpay_fake[0].state.bills == {} and (await adapter.query(no)).state == "not_found"


async def test_wechat_timeout_is_a_provider_timeout(wechat, wechatpay_fake) -> None:
    wechatpay_fake[0].state.faults.set("timeout", 1)
    no = out_no()
    with pytest.raises(ProviderTimeout):  # the fault holds the answer 30 s: only the fault times it out
        await wechat(timeout=0.5).transfer(out_no=no, payee=OPENID, amount_fen=100, remark="赔付")
    await eventually(lambda: fault_taken(wechatpay_fake[0]))
    assert (await wechat().query(no)).state == "not_found"  # it never got past the door: safe to send again


async def test_wechat_accepted_then_timed_out_shows_in_the_query(wechat, wechatpay_fake, receiver) -> None:
    wechatpay_fake[0].state.faults.set("accept_then_timeout", 1)
    no = out_no()
    with pytest.raises(ProviderTimeout):
        await wechat(timeout=0.5).transfer(out_no=no, payee=OPENID, amount_fen=2_000, remark="赔付")
    await receiver.wait("wechat")  # the bill was made and has finished
    known = await wechat().query(no)  # the caller asks before any retry: it was paid, so it must not pay again
    assert (known.state, known.amount_fen) == ("succeeded", 2_000)
    assert wechatpay_fake[0].state.transfer_calls == 1 and len(wechatpay_fake[0].state.bills) == 1


async def test_wechat_refused_connection_is_a_provider_error(wechat) -> None:
    with pytest.raises(ProviderError):
        await wechat(gateway_url=f"http://127.0.0.1:{free_port()}").transfer(
            out_no=out_no(), payee=OPENID, amount_fen=100, remark="赔付"
        )


async def test_wechat_request_signed_with_another_key_is_refused(wechat, wechatpay_fake) -> None:
    with pytest.raises(ProviderError, match="401"):
        await wechat(private_key_pem=generate_rsa_keypair()[0]).transfer(
            out_no=out_no(), payee=OPENID, amount_fen=100, remark="赔付"
        )
    assert wechatpay_fake[0].state.bills == {}


async def test_wechat_answer_signed_with_another_key_is_not_trusted(wechat, wechatpay_fake) -> None:
    adapter, no = wechat(platform_public_key_pem=generate_rsa_keypair()[1]), out_no()
    with pytest.raises(ProviderTimeout):  # WeChat Pay did act on it: "unknown", never "failed"
        await adapter.transfer(out_no=no, payee=OPENID, amount_fen=100, remark="赔付")
    assert no in wechatpay_fake[0].state.bills


async def test_wechat_payee_name_is_required_from_2000_yuan(wechat, wechatpay_fake) -> None:
    result = await wechat().transfer(out_no=out_no(), payee=OPENID, amount_fen=200_000, remark="赔付")
    assert result.state == "failed" and "payee_name_required" in (result.reason or "")
    assert wechatpay_fake[0].state.transfer_calls == 0


async def test_wechat_payee_name_goes_encrypted_with_the_platform_key_and_is_checked(
    wechat, wechatpay_fake, receiver
) -> None:
    wechatpay_fake[0].state.real_names[OPENID] = "王小明"
    adapter, no = wechat(), out_no()
    assert adapter.payee_name_required(200_000) and not adapter.payee_name_required(199_999)
    sent = await adapter.transfer(out_no=no, payee=OPENID, amount_fen=249_363, remark="赔付", user_name="王小明")
    assert sent.state == "processing"
    (note,) = await receiver.wait("wechat")
    assert adapter.parse_notification(note["headers"], note["body"]).state == "succeeded"
    assert wechatpay_fake[0].state.user_names[no] == "王小明"  # decrypted by the fake with the platform key


async def test_wechat_payee_name_that_is_not_the_account_holders_fails_the_bill(
    wechat, wechatpay_fake, receiver
) -> None:
    wechatpay_fake[0].state.real_names[OPENID] = "王小明"
    adapter, no = wechat(), out_no()
    await adapter.transfer(out_no=no, payee=OPENID, amount_fen=249_363, remark="赔付", user_name="王晓明")
    (note,) = await receiver.wait("wechat")
    told = adapter.parse_notification(note["headers"], note["body"])
    assert (told.state, told.reason) == ("failed", "NAME_NOT_CORRECT")


def _signed_transfer(keys: Keys, url: str, body: dict[str, Any], serial: str) -> Any:
    """A transfer request signed by the merchant's key, as the SDK would send it, but with what the test wants."""
    import httpx
    from wechatpayv3.utils import build_authorization, load_private_key

    path = "/v3/fund-app/mch-transfer/transfer-bills"
    text = json.dumps(body)
    headers = {
        "Authorization": build_authorization(path, "POST", MCHID, SERIAL, load_private_key(keys.merchant[0]), text),
        "Content-Type": "application/json",
        "Wechatpay-Serial": serial,
    }
    return httpx.post(url + path, content=text, headers=headers, timeout=5)


def test_wechatpay_fake_refuses_a_name_in_clear_under_another_serial_or_missing(keys, wechatpay_fake) -> None:
    public_key = serialization.load_pem_public_key(keys.wechat_platform[1].encode())
    oaep = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA1()), algorithm=hashes.SHA1(), label=None)
    encrypted = base64.b64encode(public_key.encrypt("王小明".encode(), oaep)).decode()  # type: ignore[union-attr]
    base = {
        "appid": WX_APPID,
        "transfer_scene_id": "1000",
        "openid": OPENID,
        "transfer_amount": 249_363,
        "transfer_remark": "赔付",
    }
    app, url = wechatpay_fake
    for body, serial, says in (
        ({**base, "user_name": "王小明"}, PUBLIC_KEY_ID, "解密失败"),  # in clear
        ({**base, "user_name": encrypted}, "SOME-OTHER-KEY", "Wechatpay-Serial"),
        (base, PUBLIC_KEY_ID, "user_name"),  # 2,000 yuan and no name
    ):
        answer = _signed_transfer(keys, url, {**body, "out_bill_no": out_no()}, serial)
        assert answer.status_code == 400 and answer.json()["code"] == "PARAM_ERROR", answer.text
        assert says in answer.json()["message"]
    good = _signed_transfer(keys, url, {**base, "user_name": encrypted, "out_bill_no": out_no()}, PUBLIC_KEY_ID)
    assert good.status_code == 200, good.text
    assert app.state.user_names[good.json()["out_bill_no"]] == "王小明"


async def test_alipay_passes_the_payee_name_and_checks_it(alipay, alipay_fake) -> None:
    alipay_fake[0].state.real_names[ALIPAY_USER] = "李雷"
    adapter, no = alipay(), out_no()
    assert not adapter.payee_name_required(10_000_000)
    sent = await adapter.transfer(out_no=no, payee=ALIPAY_USER, amount_fen=249_363, remark="赔付", user_name="李雷")
    assert sent.state == "succeeded" and alipay_fake[0].state.payee_names[no] == "李雷"
    wrong = await adapter.transfer(
        out_no=out_no(), payee=ALIPAY_USER, amount_fen=249_363, remark="赔付", user_name="韩梅梅"
    )
    assert wrong.state == "failed" and (wrong.reason or "").startswith("PAYEE_USER_INFO_ERROR")


async def test_wechat_duplicate_notifications_parse_to_one_id(wechat, wechatpay_fake, receiver) -> None:
    wechatpay_fake[0].state.faults.set("duplicate_notification", 1)
    adapter = wechat()
    await adapter.transfer(out_no=out_no(), payee=OPENID, amount_fen=300, remark="赔付")
    first, second = await receiver.wait("wechat", 2)
    ids = {adapter.parse_notification(n["headers"], n["body"]).notification_id for n in (first, second)}
    assert len(ids) == 1


async def test_wechat_forged_notification_is_rejected(wechat, wechatpay_fake, receiver) -> None:
    wechatpay_fake[0].state.faults.set("forged_notification", 1)
    adapter = wechat()
    await adapter.transfer(out_no=out_no(), payee=OPENID, amount_fen=300, remark="赔付")
    (note,) = await receiver.wait("wechat")
    with pytest.raises(NotificationRejected, match="signature"):
        adapter.parse_notification(note["headers"], note["body"])


@pytest.mark.parametrize(("age_seconds", "accepted"), [(60, True), (-60, True), (600, False), (-600, False)])
async def test_wechat_notification_must_be_fresh(wechat, keys, receiver, age_seconds: int, accepted: bool) -> None:
    adapter = wechat()
    await adapter.transfer(out_no=out_no(), payee=OPENID, amount_fen=300, remark="赔付")
    (note,) = await receiver.wait("wechat")
    # Signed properly by the platform key: only the time is wrong (or not).
    headers = wechat_headers(note["body"], keys.wechat_platform[0], age_seconds=age_seconds)
    if accepted:
        assert adapter.parse_notification(headers, note["body"]).state == "succeeded"
    else:
        with pytest.raises(NotificationRejected, match="stale"):
            adapter.parse_notification(headers, note["body"])


async def test_wechat_notification_tampered_or_incomplete_is_rejected(wechat, keys, receiver) -> None:
    adapter = wechat()
    await adapter.transfer(out_no=out_no(), payee=OPENID, amount_fen=300, remark="赔付")
    (note,) = await receiver.wait("wechat")
    headers, body = note["headers"], note["body"]
    tampered = json.dumps({**json.loads(body), "summary": "篡改"}).encode()
    missing_type = {k: v for k, v in headers.items() if k != "wechatpay-signature-type"}
    other_serial = {**headers, "wechatpay-serial": "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"}
    envelope = json.loads(body)
    envelope["resource"]["ciphertext"] = base64.b64encode(b"\x00" * 64).decode()  # not under our APIv3 key
    undecryptable = json.dumps(envelope).encode()
    cases = [
        (headers, tampered, "does not verify"),
        (missing_type, body, "cannot be verified"),
        (other_serial, body, "unknown key"),
        ({}, body, "no timestamp"),
        (wechat_headers(undecryptable, keys.wechat_platform[0]), undecryptable, "does not verify"),
    ]
    for case_headers, case_body, why in cases:
        with pytest.raises(NotificationRejected, match=why):
            adapter.parse_notification(case_headers, case_body)


async def test_wechat_bill_lists_the_days_transfers(wechat, wechatpay_fake, receiver) -> None:
    wechatpay_fake[0].state.failing_openids.add("o-closed-account")
    adapter, paid, refused = wechat(), out_no(), out_no()
    await adapter.transfer(out_no=paid, payee=OPENID, amount_fen=12_30, remark="赔付")
    await adapter.transfer(out_no=refused, payee="o-closed-account", amount_fen=99_99, remark="赔付")
    await receiver.wait("wechat", 2)
    day = date.fromisoformat(wechatpay_fake[0].state.bills[paid]["update_time"][:10])  # Asia/Shanghai
    lines = {line.out_no: line for line in await adapter.bill(day)}
    assert set(lines) == {paid, refused}
    assert (lines[paid].amount_fen, lines[paid].state) == (12_30, "succeeded")
    assert (lines[refused].amount_fen, lines[refused].state) == (99_99, "failed")
    assert lines[paid].provider_ref == wechatpay_fake[0].state.bills[paid]["transfer_bill_no"]
    assert await adapter.bill(date(2001, 1, 1)) == []


# --- Alipay --------------------------------------------------------------------------------------------


async def test_alipay_transfer_succeeds_and_notifies(alipay, alipay_fake, receiver) -> None:
    adapter, no = alipay(), out_no()
    sent = await adapter.transfer(out_no=no, payee=ALIPAY_USER, amount_fen=12_30, remark="旅游投诉先行赔付")
    assert sent.state == "succeeded" and sent.provider_ref
    assert alipay_fake[0].state.orders[no]["trans_amount"] == "12.30"  # yuan at the boundary, from integer fen
    (note,) = await receiver.wait("alipay")
    parsed = adapter.parse_notification(note["headers"], note["body"])
    assert (parsed.out_no, parsed.state, parsed.amount_fen, parsed.provider_ref) == (
        no,
        "succeeded",
        12_30,
        sent.provider_ref,
    )
    known = await adapter.query(no)
    assert (known.state, known.amount_fen, known.provider_ref) == ("succeeded", 12_30, sent.provider_ref)


async def test_alipay_same_out_no_twice_is_one_order(alipay, alipay_fake) -> None:
    adapter, no = alipay(), out_no()
    first = await adapter.transfer(out_no=no, payee=ALIPAY_USER, amount_fen=500, remark="赔付")
    again = await adapter.transfer(out_no=no, payee=ALIPAY_USER, amount_fen=500, remark="赔付")
    assert first.provider_ref == again.provider_ref
    assert len(alipay_fake[0].state.orders) == 1 and alipay_fake[0].state.transfer_calls == 2


async def test_alipay_failing_payee_fails_with_the_reason(alipay, alipay_fake) -> None:
    alipay_fake[0].state.failing_payees.add("2088000000000999")
    result = await alipay().transfer(out_no=out_no(), payee="2088000000000999", amount_fen=100, remark="赔付")
    assert result.state == "failed" and (result.reason or "").startswith("PAYEE_NOT_EXIST")


async def test_alipay_query_of_an_unknown_order_is_not_found(alipay) -> None:
    assert (await alipay().query(out_no())).state == "not_found"


async def test_alipay_error500_is_a_provider_error(alipay, alipay_fake) -> None:
    alipay_fake[0].state.faults.set("error500", 1)
    adapter, no = alipay(), out_no()
    with pytest.raises(ProviderError):
        await adapter.transfer(out_no=no, payee=ALIPAY_USER, amount_fen=100, remark="赔付")
    assert (await adapter.query(no)).state == "not_found"


async def test_alipay_busy_is_an_unknown_outcome_not_a_refusal(alipay, alipay_fake) -> None:
    """Alipay's 20000 (service unavailable) as error_response: whether the transfer happened is unknown, so the
    worker must query before any retry (ProviderTimeout), never count it refused (ProviderError)."""
    handlers = alipay_fake[0].state.handlers
    transfer = handlers["alipay.fund.trans.uni.transfer"]
    busy = {
        "code": "20000",
        "msg": "Service Currently Unavailable",
        "sub_code": "isp.unknow-error",
        "sub_msg": "系统繁忙",
    }
    handlers["alipay.fund.trans.uni.transfer"] = lambda params, biz, base: (busy, True)
    try:
        with pytest.raises(ProviderTimeout, match="Alipay could not say"):
            await alipay().transfer(out_no=out_no(), payee=ALIPAY_USER, amount_fen=100, remark="赔付")
        refused = {**busy, "code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-signature"}
        handlers["alipay.fund.trans.uni.transfer"] = lambda params, biz, base: (refused, True)
        with pytest.raises(ProviderError, match="Alipay refused the request"):
            await alipay().transfer(out_no=out_no(), payee=ALIPAY_USER, amount_fen=100, remark="赔付")
    finally:
        handlers["alipay.fund.trans.uni.transfer"] = transfer


async def test_alipay_timeout_is_a_provider_timeout(alipay, alipay_fake) -> None:
    alipay_fake[0].state.faults.set("timeout", 1)
    with pytest.raises(ProviderTimeout):  # the fault holds the answer 30 s: only the fault times it out
        await alipay(timeout=0.5).transfer(out_no=out_no(), payee=ALIPAY_USER, amount_fen=100, remark="赔付")
    await eventually(lambda: fault_taken(alipay_fake[0]))
    assert alipay_fake[0].state.orders == {}


async def test_alipay_accepted_then_timed_out_shows_in_the_query(alipay, alipay_fake) -> None:
    alipay_fake[0].state.faults.set("accept_then_timeout", 1)
    no = out_no()
    with pytest.raises(ProviderTimeout):
        await alipay(timeout=0.5).transfer(out_no=no, payee=ALIPAY_USER, amount_fen=2_000, remark="赔付")
    await eventually(lambda: fault_taken(alipay_fake[0]))  # taken once the order is made: it was made
    known = await alipay().query(no)
    assert (known.state, known.amount_fen) == ("succeeded", 2_000)
    assert alipay_fake[0].state.transfer_calls == 1 and len(alipay_fake[0].state.orders) == 1


async def test_alipay_refused_connection_is_a_provider_error(alipay) -> None:
    with pytest.raises(ProviderError):
        await alipay(gateway_url=f"http://127.0.0.1:{free_port()}/gateway.do").query(out_no())


async def test_alipay_answer_signed_with_another_key_is_not_trusted(alipay, alipay_fake) -> None:
    adapter, no = alipay(alipay_public_key_pem=generate_rsa_keypair()[1]), out_no()
    with pytest.raises(ProviderTimeout):
        await adapter.transfer(out_no=no, payee=ALIPAY_USER, amount_fen=100, remark="赔付")
    assert no in alipay_fake[0].state.orders


async def test_alipay_duplicate_notifications_parse_to_one_id(alipay, alipay_fake, receiver) -> None:
    alipay_fake[0].state.faults.set("duplicate_notification", 1)
    adapter = alipay()
    await adapter.transfer(out_no=out_no(), payee=ALIPAY_USER, amount_fen=300, remark="赔付")
    first, second = await receiver.wait("alipay", 2)
    ids = {adapter.parse_notification(n["headers"], n["body"]).notification_id for n in (first, second)}
    assert len(ids) == 1


async def test_alipay_forged_notification_is_rejected(alipay, alipay_fake, receiver) -> None:
    alipay_fake[0].state.faults.set("forged_notification", 1)
    adapter = alipay()
    await adapter.transfer(out_no=out_no(), payee=ALIPAY_USER, amount_fen=300, remark="赔付")
    (note,) = await receiver.wait("alipay")
    with pytest.raises(NotificationRejected, match="signature"):
        adapter.parse_notification(note["headers"], note["body"])


async def test_alipay_notification_tampered_foreign_or_incomplete_is_rejected(alipay, keys, receiver) -> None:
    adapter = alipay()
    await adapter.transfer(out_no=out_no(), payee=ALIPAY_USER, amount_fen=300, remark="赔付")
    (note,) = await receiver.wait("alipay")
    params = dict(parse_qsl(note["body"].decode()))
    biz = json.loads(params["biz_content"])

    def signed(sign_type: str = "RSA2", **changes: str) -> bytes:
        data = {k: v for k, v in {**params, **changes}.items() if k not in ("sign", "sign_type")}
        return urlencode(
            {**data, "sign": sign_rsa2(keys.alipay_platform[0], signing_string(data)), "sign_type": sign_type}
        ).encode()

    assert adapter.parse_notification({}, signed()).amount_fen == 300  # re-signing alone changes nothing
    tampered = urlencode({**params, "biz_content": json.dumps({**biz, "trans_amount": "3000.00"})}).encode()
    unsigned = urlencode({k: v for k, v in params.items() if k != "sign"}).encode()
    cases = [
        (tampered, "does not verify"),
        (unsigned, "not signed"),
        (signed(sign_type="RSA"), "cannot be verified"),
        (signed(app_id="2021000000009999"), "not a transfer of this app"),
        (signed(msg_method="alipay.trade.refund.depositback.completed"), "not a transfer of this app"),
        (signed(biz_content=json.dumps({"order_id": biz["order_id"]})), "lacks"),
    ]
    for body, why in cases:
        with pytest.raises(NotificationRejected, match=why):
            adapter.parse_notification({}, body)


async def test_alipay_bill_lists_the_days_transfers(alipay, alipay_fake) -> None:
    adapter, first, second = alipay(), out_no(), out_no()
    a = await adapter.transfer(out_no=first, payee=ALIPAY_USER, amount_fen=12_30, remark="赔付")
    await adapter.transfer(out_no=second, payee=ALIPAY_USER, amount_fen=1, remark="赔付")
    day = date.fromisoformat(alipay_fake[0].state.orders[first]["pay_date"][:10])  # Asia/Shanghai
    lines = {line.out_no: line for line in await adapter.bill(day)}
    assert set(lines) == {first, second}
    assert (lines[first].amount_fen, lines[first].state, lines[first].provider_ref) == (
        12_30,
        "succeeded",
        a.provider_ref,
    )
    assert lines[second].amount_fen == 1
    assert await adapter.bill(date(2001, 1, 1)) == []


def test_wechatpay_sdk_calls_go_through_the_keep_alive_sessions() -> None:
    """wechatpayv3 calls `requests.post(...)` by the module's global name; the adapter replaces that name.
    An SDK release that calls HTTP another way would silently lose keep-alive: this says so."""
    import inspect

    import wechatpayv3.core

    from services.compensation.providers.wechatpay import _KeepAlive

    assert isinstance(wechatpayv3.core.requests, _KeepAlive)
    source = inspect.getsource(wechatpayv3.core.Core.request)
    assert "requests.post(" in source and "requests.get(" in source
    post = wechatpayv3.core.requests.post
    assert post.__self__ is wechatpayv3.core.requests.post.__self__  # one session per thread, reused
