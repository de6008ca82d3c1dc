"""`python -m shared.testing.fakes`: the WeChat, Alipay, WeChat Pay, Douyin and Kuaishou fakes as servers, for
`make run`."""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path

import uvicorn

from shared.logging import configure_logging
from shared.testing.fakes.alipay import create_alipay_fake
from shared.testing.fakes.bytedance_kuaishou import create_mini_fakes
from shared.testing.fakes.keys import ensure_keypair
from shared.testing.fakes.wechat import create_wechat_fake
from shared.testing.fakes.wechatpay import create_wechatpay_fake


async def serve(args: argparse.Namespace) -> None:
    keys = Path(args.keys_dir)
    _, app_public = ensure_keypair(keys, "alipay_app")
    platform_private, _ = ensure_keypair(keys, "alipay_platform")
    _, merchant_public = ensure_keypair(keys, "wechatpay_merchant")
    wechatpay_platform_private, _ = ensure_keypair(keys, "wechatpay_platform")
    wechat = create_wechat_fake(args.wechat_appid, args.wechat_secret)
    alipay = create_alipay_fake(args.alipay_appid, app_public.read_text(), platform_private.read_text())
    wechatpay = create_wechatpay_fake(
        args.wechatpay_mchid,
        args.wechat_appid,
        merchant_public.read_text(),
        args.wechatpay_serial,
        wechatpay_platform_private.read_text(),
        args.wechatpay_public_key_id,
        args.wechatpay_apiv3_key,
    )
    minis = create_mini_fakes(("tt-demo-app", "demo-douyin-secret"), ("ks-demo-app", "demo-kuaishou-secret"))
    servers = [
        uvicorn.Server(uvicorn.Config(app, host=args.host, port=port, log_config=None, log_level="warning"))
        for app, port in (
            (wechat, args.wechat_port),
            (alipay, args.alipay_port),
            (wechatpay, args.wechatpay_port),
            (minis, args.minis_port),
        )
    ]
    print(f"WeChat fake: http://127.0.0.1:{args.wechat_port}", flush=True)
    print(f"Alipay fake: http://127.0.0.1:{args.alipay_port}/gateway.do", flush=True)
    print(f"WeChat Pay fake: http://127.0.0.1:{args.wechatpay_port}", flush=True)
    print(f"Douyin and Kuaishou fakes: http://127.0.0.1:{args.minis_port}/douyin, /kuaishou", flush=True)
    await asyncio.gather(*(server.serve() for server in servers))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m shared.testing.fakes")
    parser.add_argument("--keys-dir", default="var/keys")
    parser.add_argument("--host", default="127.0.0.1", help="0.0.0.0 in a container")
    parser.add_argument("--wechat-port", type=int, default=8010)
    parser.add_argument("--alipay-port", type=int, default=8011)
    parser.add_argument("--minis-port", type=int, default=8013, help="Douyin and Kuaishou (the gateway's defaults)")
    parser.add_argument("--wechat-appid", default="wx-demo-app")
    parser.add_argument("--wechat-secret", default="demo-secret")
    parser.add_argument("--alipay-appid", default="2021000000000000")
    # The defaults are compensation's embedded defaults (services/compensation/config.py).
    parser.add_argument("--wechatpay-port", type=int, default=8012)
    parser.add_argument("--wechatpay-mchid", default="1900000001")
    parser.add_argument("--wechatpay-serial", default="DEMO-MERCHANT-SERIAL")
    parser.add_argument("--wechatpay-public-key-id", default="PUB_KEY_ID_DEMO")
    parser.add_argument("--wechatpay-apiv3-key", default="demo-apiv3-key-0123456789abcdef0")
    args = parser.parse_args()
    configure_logging("fakes", "INFO")
    logging.getLogger("fakes").info("starting provider fakes")
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
