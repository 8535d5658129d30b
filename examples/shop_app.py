"""A small shop backend that takes its weights from a WeightsClient: the runnable example of issue 5.

Standard library only (``http.server``) plus ``validator.runtime``. It serves:

    POST /orders/score        an order (JSON)              -> fraud_risk: value, decision, reasons, version
    POST /search/rank         {"items": [...], "limit": n} -> search_ranking: item ids in order, version
    GET  /homepage            ?visitor=<id>                -> homepage_hero: the hero variant to render
    POST /customers/segment   a customer (JSON)            -> customer_segments: segment and variant
    GET  /weights/status      the client's status (200 while serving, 503 when not)

Run it against the demo repository (see the README's walk-through)::

    weights publish && weights serve &          # in the weights repository
    python examples/shop_app.py --url http://127.0.0.1:8001/ --root .weights/dev-keys/root.json

The app is built against the contracts in config/contracts/ (checkout, search, storefront, marketing):
a published bundle that breaks any of them is refused and the app keeps serving the last good one.
"""
from __future__ import annotations

import argparse
import json
import logging
import random
import sys
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

PROJECT = Path(__file__).resolve().parents[1]
if str(PROJECT) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(PROJECT))

from validator.kinds import InputError  # noqa: E402
from validator.runtime import NotReady, WeightsClient, load_contract  # noqa: E402

CONTRACTS = ("checkout", "search", "storefront", "marketing")
MAX_BODY = 1 << 20


def make_handler(weights: WeightsClient) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "shop-example"

        def _reply(self, status: int, body: Any) -> None:
            data = json.dumps(body, indent=2, sort_keys=True).encode() + b"\n"
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> Any:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                raise ValueError("request body too large")
            return json.loads(self.rfile.read(length) or b"{}")

        def _handle(self, route: str, query: dict[str, list[str]]) -> tuple[int, Any]:
            if route == "/weights/status":
                status = weights.status()
                return (HTTPStatus.OK if status.serving else HTTPStatus.SERVICE_UNAVAILABLE), status.to_dict()
            if route == "/orders/score" and self.command == "POST":
                score = weights.model("fraud_risk").score(self._body())
                return HTTPStatus.OK, {"risk": score.value, "decision": score.decision,
                                       "reasons": list(score.reasons), "weights_version": score.version}
            if route == "/search/rank" and self.command == "POST":
                body = self._body()
                ranking = weights.model("search_ranking").rank(body["items"], limit=body.get("limit"))
                return HTTPStatus.OK, {"items": ranking.ids(), "scores": [round(i.score, 6) for i in ranking.items],
                                       "weights_version": ranking.version}
            if route == "/homepage" and self.command == "GET":
                visitor = (query.get("visitor") or [None])[0]
                # A visitor id as the seed keeps one visitor's hero stable within a bundle version.
                choice = weights.model("homepage_hero").choose(random.Random(visitor) if visitor else None)
                return HTTPStatus.OK, {"hero": choice.arm, "holdout": choice.holdout,
                                       "weights_version": choice.version}
            if route == "/customers/segment" and self.command == "POST":
                assignment = weights.model("customer_segments").assign(self._body())
                return HTTPStatus.OK, {"segment": assignment.segment, "variant": assignment.variant,
                                       "fallback": assignment.fallback, "weights_version": assignment.version}
            return HTTPStatus.NOT_FOUND, {"error": f"no route {self.command} {route}"}

        def _dispatch(self) -> None:
            parts = urlsplit(self.path)
            try:
                status, body = self._handle(parts.path, parse_qs(parts.query))
            except NotReady as exc:
                status, body = HTTPStatus.SERVICE_UNAVAILABLE, {"error": str(exc)}
            except (InputError, ValueError, KeyError, TypeError) as exc:
                status, body = HTTPStatus.BAD_REQUEST, {"error": str(exc)}
            self._reply(status, body)

        do_GET = do_POST = _dispatch  # noqa: N815

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            logging.getLogger("shop").debug(format, *args)

    return Handler


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8001/", help="the weights repository (weights serve)")
    parser.add_argument("--root", default=str(PROJECT / ".weights/dev-keys/root.json"),
                        help="the trusted TUF root the app ships with")
    parser.add_argument("--cache-dir", default=str(PROJECT / ".weights/app-cache"))
    parser.add_argument("--contracts", default=str(PROJECT / "config/contracts"))
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between polls (30 in production)")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

    def on_change(old, new) -> None:
        logging.info("weights: now serving version %s (commit %s, was %s)", new.version, (new.commit or "?")[:12],
                     old.version if old else "nothing")

    contracts = [load_contract(Path(args.contracts) / f"{name}.yaml") for name in CONTRACTS]
    weights = WeightsClient(args.url, args.root, args.cache_dir, interval=args.interval, contract=contracts,
                            on_change=on_change,
                            on_error=lambda exc: logging.warning("weights: %s (%s)", exc, exc.reason))
    with weights:
        if not weights.wait_ready(10):
            logging.warning("weights: nothing to serve yet (%s); answering 503 until it arrives",
                            weights.status().last_error)
        server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(weights))
        server.daemon_threads = True
        logging.info("shop example on http://127.0.0.1:%d/ (GET /weights/status)", server.server_address[1])
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()


if __name__ == "__main__":
    main()
