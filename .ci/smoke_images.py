"""Checks running images on loopback: /readyz, then one prediction from agent2 and one decision from
the coordinator (through agent2). Standard library only: it runs on the CI host's python3."""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request

DAY = {
    "store_id": 1,
    "product_id": 2,
    "lag_1": 3.0,
    "lag_7": 4.0,
    "day_of_week": 2,
    "month": 5,
    "promo_share": 0.1,
}


def wait_ready(url: str, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(1)
    raise SystemExit(f"{url} did not become ready in {timeout_s:.0f}s")


def post(url: str, payload: object) -> object:
    request = urllib.request.Request(  # noqa: S310
        url, data=json.dumps(payload).encode(), headers={"content-type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return json.loads(response.read())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--agent2", required=True)
    parser.add_argument("--coordinator", required=True)
    args = parser.parse_args()
    wait_ready(args.agent2)
    forecast = post(f"{args.agent2}/forecast", {"rows": [DAY]})
    assert isinstance(forecast, list) and forecast[0]["model_name"] == "agent2-demand-forecaster", forecast
    print(
        f"agent2 image: forecast {forecast[0]['predicted_quantity']:.2f} by v{forecast[0]['model_version']}"
    )
    wait_ready(args.coordinator)
    plan = post(
        f"{args.coordinator}/plan_restock", {"days": [DAY, {**DAY, "day_of_week": 3}], "on_hand": 1.0}
    )
    assert isinstance(plan, dict) and plan["model_name"] == "agent2-demand-forecaster", plan
    print(f"coordinator image: {plan['action']} {plan['restock_quantity']} ({plan['reason']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
