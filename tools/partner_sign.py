#!/usr/bin/env python3
"""Sign and send a request to the partner API, or check a webhook's signature. Standard library only,
so a partner can copy this file as it is.

    python tools/partner_sign.py --key pky_... --secret psk_... \
        POST http://127.0.0.1:8000/partner/v1/complaints complaint.json
    python tools/partner_sign.py --key pky_... --secret psk_... \
        GET http://127.0.0.1:8000/partner/v1/complaints/cmp_...

The signature is HMAC-SHA256, hex, with the key's secret, over these lines joined by "\\n":
the method, the path, the query string (its pairs sorted), the Unix time in seconds, a fresh random
nonce, and the hex SHA-256 of the body (of nothing for a GET). Send them as X-Partner-Key,
X-Partner-Timestamp, X-Partner-Nonce and X-Partner-Signature. The platform refuses a request older
than 5 minutes and a nonce it has seen. Webhooks to you are signed the same way: `verify` checks one.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import secrets
import sys
import time
import urllib.error
import urllib.request
from urllib.parse import parse_qsl, urlencode, urlsplit


def signature(secret: str, method: str, path: str, query: str, timestamp: str, nonce: str, body: bytes) -> str:
    lines = [
        method.upper(),
        path,
        urlencode(sorted(parse_qsl(query, keep_blank_values=True))),
        timestamp,
        nonce,
        hashlib.sha256(body).hexdigest(),
    ]
    return hmac.new(secret.encode(), "\n".join(lines).encode(), hashlib.sha256).hexdigest()


def signed_headers(key_id: str, secret: str, method: str, url: str, body: bytes = b"") -> dict[str, str]:
    parts = urlsplit(url)
    timestamp, nonce = str(int(time.time())), secrets.token_hex(16)
    return {
        "X-Partner-Key": key_id,
        "X-Partner-Timestamp": timestamp,
        "X-Partner-Nonce": nonce,
        "X-Partner-Signature": signature(secret, method, parts.path or "/", parts.query, timestamp, nonce, body),
    }


def verify(secret: str, method: str, url: str, headers: dict[str, str], body: bytes, window: int = 300) -> bool:
    """Is this webhook from the platform: signed with our key, and recent?"""
    parts = urlsplit(url)
    lower = {k.lower(): v for k, v in headers.items()}
    timestamp, nonce, sent = (lower.get(f"x-partner-{h}", "") for h in ("timestamp", "nonce", "signature"))
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > window:
        return False
    expected = signature(secret, method, parts.path or "/", parts.query, timestamp, nonce, body)
    return hmac.compare_digest(expected, sent)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--key", required=True, help="the key id (pky_...)")
    parser.add_argument("--secret", required=True, help="the key's secret (psk_...)")
    parser.add_argument("method")
    parser.add_argument("url")
    parser.add_argument("body", nargs="?", help="a file with the JSON body")
    args = parser.parse_args()
    body = open(args.body, "rb").read() if args.body else b""
    headers = {"Content-Type": "application/json", **signed_headers(args.key, args.secret, args.method, args.url, body)}
    request = urllib.request.Request(args.url, data=body or None, method=args.method.upper(), headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            print(response.status, response.read().decode())
    except urllib.error.HTTPError as error:
        print(error.code, error.read().decode())
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
