"""Historical import over loopback, through the gateway: good rows go in once, however often the file
is imported; bad rows are reported by line; a dry run writes nothing; unreadable files are refused."""

from __future__ import annotations

import json

import httpx

from tests.e2e.conftest import System

HEADER = (
    "channel,external_id,region_code,merchant_name,industry,description,received_at,accepted_at,closed_at,"
    "amount_refunded_fen\n"
)
ROWS = [
    "hotline_12345,GD-2025-0001,460200,三亚某海鲜排档,food,宰客：海鲜按两计价,2025-07-01T10:00:00+08:00,"
    "2025-07-01T10:02:00+08:00,2025-07-01T10:40:00+08:00,12000",
    "platform_12301,12301-88812,460100,骑楼老街某商行,shopping,强制购物,2025-07-02T09:00:00+08:00,,"
    "2025-07-03T09:00:00+08:00,0",
    "hotline_12345,GD-2025-0002,469999,不存在的地区,food,地区不对,2025-07-01T10:00:00+08:00,,,0",
    "fax,GD-2025-0003,460200,某酒店,lodging,渠道不对,2025-07-01T10:00:00+08:00,,,0",
    "hotline_12345,GD-2025-0004,460200,某酒店,lodging,时间在未来,2099-07-01T10:00:00+08:00,,,0",
    "hotline_12345,GD-2025-0005,460200,某酒店,lodging,没有时区,2025-07-01 10:00:00,,,0",
    "hotline_12345,GD-2025-0006,460200,某酒店,lodging,先办结后受理,2025-07-02T10:00:00+08:00,"
    "2025-07-02T11:00:00+08:00,2025-07-02T10:30:00+08:00,0",
]


def test_an_import_reports_bad_rows_and_imports_good_ones_once(system: System) -> None:
    with httpx.Client(base_url=system.url, timeout=20) as gw:
        r = gw.post("/v1/auth/staff/login", json={"username": "admin", "password": "admin-pass-e2e"})
        admin = {"Authorization": f"Bearer {r.json()['access_token']}"}
        csv = (HEADER + "\n".join(ROWS) + "\n").encode()

        def upload(data: bytes, name: str = "history.csv", **params: str) -> httpx.Response:
            return gw.post(
                "/v1/imports/complaints", headers=admin, params=params, files={"file": (name, data, "text/csv")}
            )

        dry = upload(csv, dry_run="true").json()
        assert (dry["dry_run"], dry["imported"]) == (True, 2)
        assert [(b["line"], b["code"]) for b in dry["bad"]] == [
            (4, "unknown_region"),
            (5, "unknown_channel"),
            (6, "timestamp_in_future"),
            (7, "bad_timestamp"),
            (8, "timestamps_out_of_order"),
        ]
        first = upload(csv).json()
        assert (first["imported"], first["already_present"], len(first["bad"])) == (2, 0, 5)
        again = upload(csv).json()
        assert (again["imported"], again["already_present"]) == (0, 2)  # once, even when run twice

        lines = (
            "\n".join(
                json.dumps(x, ensure_ascii=False)
                for x in (
                    {
                        "channel": "hotline_12345",
                        "external_id": "GD-2025-0001",
                        "region_code": "460200",
                        "merchant_name": "三亚某海鲜排档",
                        "industry": "food",
                        "description": "宰客：海鲜按两计价",
                        "received_at": "2025-07-01T10:00:00+08:00",
                    },
                    {
                        "channel": "partner",
                        "external_id": "ZLT-7",
                        "region_code": "460200",
                        "merchant_name": "某景区",
                        "industry": "sightseeing",
                        "description": "门票多收",
                        "received_at": "2025-07-05T08:00:00+08:00",
                    },
                )
            )
            + "\nnot json\n"
        )
        jsonl = upload(lines.encode(), "history.jsonl").json()
        assert (jsonl["imported"], jsonl["already_present"]) == (1, 1)
        assert [(b["line"], b["code"]) for b in jsonl["bad"]] == [(3, "bad_row")]

        gbk = upload((HEADER + ROWS[0]).encode("gb18030"))
        assert gbk.status_code == 422 and gbk.json()["code"] == "import_encoding_invalid"
        columns = upload(b"channel,region_code\nhotline_12345,460200\n")
        assert columns.status_code == 422 and columns.json()["code"] == "import_columns_missing"

        report = gw.get(
            "/v1/reports/complaints",
            headers=admin,
            params={"region_code": "460000", "from": "2025-07-01", "to": "2025-07-07"},
        ).json()
        assert report["received"] == 3  # history counts in the figures
