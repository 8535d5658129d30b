"""Write the synthetic replay datasets of the example models (seeded: the same bytes on every run).

    .venv/bin/python tests/data/generate.py          # rewrites tests/data/*.parquet and *.csv

The data is synthetic but shaped like the real thing, with the correlations that make replay metrics mean
something: the outcome of each row is drawn from a "true" model that overlaps with, but is not, the
scorecard in weights/ (so AUC is high but not perfect, and moving a weight changes it).

- fraud_orders.parquet (checkout, fraud_risk): fraud is far more likely on new accounts, with a country
  mismatch, gift cards, bursts of orders and unknown devices; ~2% of orders are fraud. Outcome: is_fraud.
- churn_customers.csv (retention, churn_coupon; CSV to show both formats): customers churn when lapsing,
  unhappy (tickets, low NPS), without a plan and hunting deals. Outcome: churned_90d.
- search_candidates.parquet (search, search_ranking): 600 queries x 20-60 candidates, rows of a query
  adjacent; graded relevance 0-3 driven by text match, then popularity and rating. Label: relevance.
- customers.parquet (marketing, customer_segments): a mixture of the five behavioural archetypes the
  segments describe, plus customers who never ordered or fit none of them.

The bandit (homepage_hero) reads no inputs: its replay is a Monte Carlo over its posteriors, no dataset.
Sizes are kept small (the folder stays well under 2 MB) because the data lives in the repository.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
SEED = 20240611


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _with_nulls(values: np.ndarray, missing: np.ndarray) -> pa.Array:
    return pa.array(values, mask=missing)


def fraud_orders(rng: np.random.Generator, n: int = 40_000) -> pa.Table:
    guest = rng.random(n) < 0.15
    account_age = np.where(guest, 0, np.minimum(rng.lognormal(5.2, 1.6, n), 10_000)).astype(np.int64)
    new = account_age < 7
    mismatch = rng.random(n) < np.where(new, 0.18, 0.05)
    methods = np.array(["card", "paypal", "apple_pay", "google_pay", "bank_transfer", "invoice", "gift_card"])
    method = rng.choice(methods, n, p=[0.42, 0.25, 0.10, 0.06, 0.05, 0.09, 0.03])
    amount = np.round(np.minimum(rng.lognormal(4.3, 0.9, n) * np.where(new, 1.6, 1.0), 50_000), 2)
    domain_age = np.minimum(rng.lognormal(7.0, 1.5, n), 20_000).astype(np.int64)
    domain_age = np.where(new & (rng.random(n) < 0.2), rng.integers(0, 30, n), domain_age)
    domain_missing = rng.random(n) < 0.04
    velocity = rng.poisson(np.where(new, 0.9, 0.3), n)
    distance = np.round(np.where(rng.random(n) < 0.8, rng.exponential(8, n), rng.exponential(400, n)), 1)
    distance = np.minimum(distance, 20_000)
    seen = rng.random(n) < np.where(new, 0.15, 0.75)
    seen_missing = rng.random(n) < 0.06
    z = (-5.3 + 1.8 * (account_age < 1) + 1.1 * new + 1.3 * mismatch + 1.6 * (method == "gift_card")
         + 0.7 * (method == "invoice") - 0.6 * np.isin(method, ["apple_pay", "google_pay", "bank_transfer"])
         + 0.45 * np.minimum(velocity, 6) + 0.6 * (amount > 500) + 0.5 * (amount > 2000)
         + 0.9 * (domain_age < 30) + 0.25 * np.sqrt(distance) / 10 - 0.9 * seen + rng.normal(0, 0.6, n))
    fraud = rng.random(n) < _sigmoid(z)
    return pa.table({
        "order_id": pa.array([f"o{i:06d}" for i in range(n)]),
        "order_amount": amount,
        "account_age_days": account_age,
        "country_mismatch": mismatch,
        "payment_method": pa.array(method).dictionary_encode(),
        "email_domain_age_days": _with_nulls(domain_age, domain_missing),
        "orders_last_24h": velocity.astype(np.int64),
        "shipping_to_billing_distance_km": distance,
        "device_seen_before": _with_nulls(seen, seen_missing),
        "is_fraud": fraud,
    })


def churn_customers(rng: np.random.Generator, n: int = 16_000) -> pa.Table:
    engaged = rng.beta(2.2, 2.0, n)  # latent: 1 = very engaged
    days = np.minimum(rng.exponential(10 + 160 * (1 - engaged) ** 2), 3650).astype(np.int64)
    orders = np.minimum(rng.poisson(1 + 14 * engaged), 500).astype(np.int64)
    tickets = rng.poisson(0.15 + 0.9 * (1 - engaged) ** 3, n).astype(np.int64)
    nps = np.clip(np.round(rng.normal(3 + 6 * engaged, 1.6)), 0, 10).astype(np.int64)
    nps_missing = rng.random(n) < 0.35
    plan = np.where(rng.random(n) < 0.3 + 0.4 * engaged,
                    rng.choice(np.array(["basic", "plus", "premium"]), n, p=[0.5, 0.35, 0.15]), "none")
    discount = np.round(np.clip(rng.beta(1.5, 5, n) + 0.25 * (1 - engaged) * rng.random(n), 0, 1), 3)
    z = (-2.6 + 0.011 * np.minimum(days, 240) - 0.08 * np.minimum(orders, 20) + 0.55 * np.sqrt(tickets)
         + 0.16 * (7 - np.where(nps_missing, 7, nps)) + 0.5 * (plan == "none") - 0.5 * (plan == "premium")
         + 1.0 * discount + rng.normal(0, 0.5, n))
    churned = rng.random(n) < _sigmoid(z)
    return pa.table({
        "customer_id": pa.array([f"c{i:06d}" for i in range(n)]),
        "days_since_last_order": days,
        "orders_12m": orders,
        "support_tickets_90d": tickets,
        "nps_score": _with_nulls(nps, nps_missing),
        "subscription_plan": plan,
        "discount_share": discount,
        "churned_90d": churned,
    })


def search_candidates(rng: np.random.Generator, queries: int = 600) -> pa.Table:
    columns: dict[str, list] = {k: [] for k in (
        "query_id", "item_id", "bm25_score", "sales_30d", "avg_rating", "review_count", "in_stock",
        "stock_units", "brand_tier", "margin_pct", "return_rate", "days_since_launch", "relevance")}
    tiers = np.array(["house", "premium", "national", "marketplace"])
    catalogue = 20_000
    for q in range(queries):
        m = int(rng.integers(20, 61))
        items = rng.choice(catalogue, m, replace=False)
        match = rng.beta(1.3, 3.0, m)  # latent text match
        quality = rng.beta(3, 2, m)    # latent item quality
        bm25 = np.round(np.clip(match * 28 + rng.normal(0, 2.5, m), 0, 100), 3)
        sales = np.minimum(rng.poisson(np.exp(1 + 4 * quality * rng.random(m))), 1_000_000)
        reviews = rng.poisson(sales * 0.3 + 1).astype(np.int64)
        rating = np.round(np.clip(1.5 + 3.5 * quality + rng.normal(0, 0.4, m), 1, 5), 2)
        stock = np.where(rng.random(m) < 0.12, 0, rng.poisson(40, m)).astype(np.int64)
        launch = np.minimum(rng.exponential(400, m), 10_000).astype(np.int64)
        returns = np.round(np.clip(rng.beta(1.2, 9, m) + 0.15 * (1 - quality), 0, 1), 3)
        utility = 3.2 * match + 1.2 * quality + 0.3 * (stock > 0) - 0.8 * (returns > 0.25) + rng.normal(0, 0.35, m)
        relevance = np.digitize(utility, [1.6, 2.4, 3.1]).astype(np.int64)
        columns["query_id"] += [f"q{q:04d}"] * m
        columns["item_id"] += [f"sku{i:05d}" for i in items]
        columns["bm25_score"] += bm25.tolist()
        columns["sales_30d"] += sales.astype(np.int64).tolist()
        columns["avg_rating"] += [None if r == 0 else float(x) for r, x in zip(reviews, rating, strict=False)]
        columns["review_count"] += reviews.tolist()
        columns["in_stock"] += (stock > 0).tolist()
        columns["stock_units"] += stock.tolist()
        columns["brand_tier"] += rng.choice(tiers, m, p=[0.15, 0.2, 0.45, 0.2]).tolist()
        columns["margin_pct"] += np.round(np.clip(rng.normal(28, 14, m), -100, 100), 1).tolist()
        columns["return_rate"] += returns.tolist()
        columns["days_since_launch"] += launch.tolist()
        columns["relevance"] += relevance.tolist()
    table = pa.table(columns)
    return table.set_column(table.schema.get_field_index("brand_tier"), "brand_tier",
                            table.column("brand_tier").dictionary_encode())


# The archetypes of weights/customer_segments.yaml in the inputs' own units (means), and their mix.
_ARCHETYPES = {
    #                    orders, basket EUR, discount, days, categories, open rate, share
    "bargain_hunters": (5.3, 33, 0.35, 20, 3.0, 0.33, 0.2),
    "loyal_regulars": (10, 58, 0.09, 8, 5.0, 0.36, 0.15),
    "big_basket_occasional": (1.4, 128, 0.10, 45, 2.0, 0.18, 0.15),
    "lapsing_customers": (1.8, 48, 0.16, 191, 2.0, 0.06, 0.2),
    "new_explorers": (1.0, 43, 0.19, 13, 1.4, 0.29, 0.18),
    "unusual": (3.0, 400, 0.6, 700, 9.0, 0.9, 0.12),
}


def customers(rng: np.random.Generator, n: int = 24_000) -> pa.Table:
    shares = np.array([a[6] for a in _ARCHETYPES.values()])
    kind = rng.choice(len(_ARCHETYPES), n, p=shares / shares.sum())
    params = np.array([a[:6] for a in _ARCHETYPES.values()])[kind]
    orders = np.minimum(rng.poisson(params[:, 0] * rng.lognormal(0, 0.35, n)), 500).astype(np.int64)
    basket = np.round(np.minimum(params[:, 1] * rng.lognormal(0, 0.35, n), 5000), 2)
    discount = np.round(np.clip(params[:, 2] + rng.normal(0, 0.08, n), 0, 1), 3)
    days = np.minimum(params[:, 3] * rng.lognormal(0, 0.5, n), 3650).astype(np.int64)
    categories = np.clip(np.round(params[:, 4] * rng.lognormal(0, 0.3, n)), 0, 40).astype(np.int64)
    opens = np.round(np.clip(params[:, 5] + rng.normal(0, 0.08, n), 0, 1), 3)
    never = rng.random(n) < 0.03
    no_newsletter = rng.random(n) < 0.25
    basket = np.where(never, 0.0, basket)
    orders = np.where(never, 0, orders)
    return pa.table({
        "customer_id": pa.array([f"m{i:06d}" for i in range(n)]),
        "orders_12m": orders,
        "avg_basket_eur": basket,
        "discount_share": discount,
        "days_since_last_order": _with_nulls(days, never),
        "categories_bought": categories,
        "email_open_rate": _with_nulls(opens, no_newsletter),
    })


def main() -> None:
    rng = np.random.default_rng(SEED)
    pq.write_table(fraud_orders(rng), HERE / "fraud_orders.parquet", compression="zstd")
    pacsv.write_csv(churn_customers(rng), HERE / "churn_customers.csv")
    pq.write_table(search_candidates(rng), HERE / "search_candidates.parquet", compression="zstd")
    pq.write_table(customers(rng), HERE / "customers.parquet", compression="zstd")
    for path in sorted(HERE.glob("*.*")):
        if path.suffix in (".parquet", ".csv"):
            print(f"{path.name:28} {path.stat().st_size / 1024:8.1f} KiB")


if __name__ == "__main__":
    main()
