"""The example shop app answers from the live bundle and follows a publish without a restart."""
from __future__ import annotations

import json
import sys
import threading
import urllib.error
import urllib.request
from http.server import ThreadingHTTPServer
from pathlib import Path

from publish_helpers import served
from runtime_helpers import ORDER, Site, document, wait_for

from validator.runtime import WeightsClient, load_contract

PROJECT = Path(__file__).resolve().parents[1]
# The upper bound of every wait (the client's first bundle, an HTTP answer, a publish picked up): only a hang
# fails, a loaded runner does not.
WAIT = 120.0
sys.path.insert(0, str(PROJECT / "examples"))

import shop_app  # noqa: E402


def call(base: str, path: str, body=None) -> tuple[int, dict]:
    data = None if body is None else json.dumps(body).encode()
    try:
        with urllib.request.urlopen(urllib.request.Request(base + path, data=data), timeout=WAIT) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_the_shop_example_serves_and_follows_a_publish(tmp_path):
    site = Site(tmp_path / "site")
    site.publish(document(1))
    contracts = [load_contract(PROJECT / "config" / "contracts" / f"{n}.yaml") for n in shop_app.CONTRACTS]
    # max_age: READY below must not depend on how soon after a poll the status is read
    with served(site.folder) as server, WeightsClient(server.url, site.root, tmp_path / "cache", interval=0.05,
                                                      max_age=600.0, contract=contracts) as weights:
        app = ThreadingHTTPServer(("127.0.0.1", 0), shop_app.make_handler(weights))
        threading.Thread(target=app.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{app.server_address[1]}"
        try:
            assert weights.wait_ready(WAIT)
            status, body = call(base, "/weights/status")
            assert status == 200 and body["state"] == "READY" and body["bundle"]["version"] == "1"
            status, body = call(base, "/orders/score", ORDER)
            assert status == 200 and body["decision"] == "approve" and body["weights_version"] == "1"
            status, body = call(base, "/homepage?visitor=7")
            assert status == 200 and body["hero"]
            status, body = call(base, "/customers/segment", {"orders_12m": 12, "avg_basket_eur": 60.0,
                                                             "discount_share": 0.1, "categories_bought": 5,
                                                             "tenure_days": 900, "spend_trend_pct": 5.0,
                                                             "newsletter_subscriber": True, "country": "DE"})
            assert status == 200 and body["segment"]
            item = {"bm25_score": 10.0, "sales_30d": 5, "review_count": 3, "in_stock": True, "stock_units": 4,
                    "brand_tier": "house", "margin_pct": 20.0, "return_rate": 0.1, "days_since_launch": 30}
            status, body = call(base, "/search/rank", {"items": [{**item, "item_id": "a"},
                                                                 {**item, "item_id": "b", "bm25_score": 30.0}]})
            assert status == 200 and body["items"] == ["b", "a"]
            status, body = call(base, "/orders/score", {"order_amount": "lots"})
            assert status == 400 and "order_amount" in body["error"]
            site.publish(document(2))
            wait_for(lambda: call(base, "/orders/score", ORDER)[1]["weights_version"] == "2", timeout=WAIT)
        finally:
            app.shutdown()
            app.server_close()
