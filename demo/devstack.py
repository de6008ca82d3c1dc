"""`make run`: the whole system on one machine, on SQLite files under var/, with local provider fakes.

Migrates every service, seeds the demo data (idempotent), starts the WeChat and Alipay fakes and the
four services as child processes, waits until each answers, prints where everything is, and stops
them all on Ctrl-C.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from demo import DEMO_FILE, demo_records

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
SERVICES = {"gateway": 8000, "intake": 8001, "compensation": 8002, "credit": 8003}
FAKES = {"wechat": 8010, "alipay": 8011, "wechatpay": 8012, "minis": 8013}


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("PYTHONUNBUFFERED", "1")
    for service in SERVICES:
        key = f"{service.upper()}_DATABASE_URL"
        env.setdefault(key, f"sqlite+aiosqlite:///{VAR / f'{service}.db'}")
    env.setdefault("INTAKE_EVIDENCE_DIR", str(VAR / "evidence"))
    env.setdefault("GATEWAY_ALIPAY_APP_PRIVATE_KEY_FILE", str(VAR / "keys" / "alipay_app_private.pem"))
    env.setdefault("GATEWAY_ALIPAY_PUBLIC_KEY_FILE", str(VAR / "keys" / "alipay_platform_public.pem"))
    keys = VAR / "keys"
    env.setdefault("COMPENSATION_ALIPAY_APP_PRIVATE_KEY_FILE", str(keys / "alipay_app_private.pem"))
    env.setdefault("COMPENSATION_ALIPAY_PUBLIC_KEY_FILE", str(keys / "alipay_platform_public.pem"))
    env.setdefault("COMPENSATION_WECHATPAY_PRIVATE_KEY_FILE", str(keys / "wechatpay_merchant_private.pem"))
    env.setdefault("COMPENSATION_WECHATPAY_PUBLIC_KEY_FILE", str(keys / "wechatpay_platform_public.pem"))
    return env


def prepare(env: dict[str, str]) -> None:
    """Keys, migrations and demo data: everything that must exist before the services start."""
    from shared.testing.fakes.keys import ensure_keypair

    for name in ("alipay_app", "alipay_platform", "wechatpay_merchant", "wechatpay_platform"):
        ensure_keypair(VAR / "keys", name)
    for service in ("gateway", "intake", "compensation", "credit"):
        subprocess.run(
            [
                sys.executable,
                "-m",
                "alembic",
                "-c",
                str(ROOT / "migrations" / "alembic.ini"),
                "-n",
                service,
                "upgrade",
                "head",
            ],
            check=True,
            env=env,
            cwd=ROOT,
        )
    for service in ("credit", "gateway", "compensation"):
        subprocess.run(
            [sys.executable, "-m", f"services.{service}.cli", "seed-demo", str(DEMO_FILE)],
            check=True,
            env=env,
            cwd=ROOT,
        )


def start(env: dict[str, str]) -> list[subprocess.Popen[bytes]]:
    logs = VAR / "log"
    logs.mkdir(parents=True, exist_ok=True)
    commands = [
        (
            "fakes",
            [
                sys.executable,
                "-m",
                "shared.testing.fakes",
                "--keys-dir",
                str(VAR / "keys"),
                "--wechat-port",
                str(FAKES["wechat"]),
                "--alipay-port",
                str(FAKES["alipay"]),
                "--wechatpay-port",
                str(FAKES["wechatpay"]),
                "--minis-port",
                str(FAKES["minis"]),
            ],
        ),
        *((service, [sys.executable, "-m", f"services.{service}.main"]) for service in SERVICES),
    ]
    children = []
    for name, command in commands:
        log = (logs / f"{name}.log").open("ab")
        children.append(subprocess.Popen(command, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT))
    return children


async def wait_ready(children: list[subprocess.Popen[bytes]], within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(timeout=1.0) as client:
        for service, port in SERVICES.items():
            while True:
                if any(child.poll() is not None for child in children):
                    raise SystemExit(f"a process exited during start-up; see {VAR / 'log'}")
                try:
                    if (await client.get(f"http://127.0.0.1:{port}/health/ready")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit(f"{service} did not become ready; see {VAR / 'log' / (service + '.log')}")
                await asyncio.sleep(0.2)


BANNER = """
Assured Tour is running (SQLite under var/, logs under var/log/). Ctrl-C stops everything.

  gateway       http://127.0.0.1:8000      API docs: http://127.0.0.1:8000/docs
  intake        http://127.0.0.1:8001      (internal)
  compensation  http://127.0.0.1:8002      (internal)
  credit        http://127.0.0.1:8003      (internal)
  WeChat fake   http://127.0.0.1:8010      Alipay fake  http://127.0.0.1:8011/gateway.do
  WeChat Pay fake http://127.0.0.1:8012    (transfers to tourists' WeChat balance)
  Douyin and Kuaishou fakes http://127.0.0.1:8013/douyin, /kuaishou

Mini-program logins: any code of the form demo-<name>, e.g.
  curl -s -X POST localhost:8000/v1/auth/wechat/login -H 'content-type: application/json' -d '{{"code":"demo-alice"}}'

Staff accounts (username / password):
{staff}
"""


def main() -> None:
    env = _env()
    prepare(env)
    children = start(env)

    def stop(*_: object) -> None:
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
        print("\nstopped.")
        raise SystemExit(0)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        asyncio.run(wait_ready(children))
        staff = "\n".join(
            f"  {s['username']:<9} {s['password']:<20} {s['role']:<15} "
            f"{s.get('region_code') or s.get('merchant_id') or ''}"
            for s in demo_records()["staff"]
        )
        print(BANNER.format(staff=staff), flush=True)
        while True:
            for child in children:
                if child.poll() is not None:
                    print(f"a process exited with {child.returncode}; stopping (see var/log/)", file=sys.stderr)
                    stop()
            time.sleep(1)
    finally:
        # Whatever ends this (Ctrl-C, a crash, a child dying), no child outlives it.
        for child in children:
            if child.poll() is None:
                child.terminate()


if __name__ == "__main__":
    main()
