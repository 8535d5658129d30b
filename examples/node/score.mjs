// Calls `weights agent` from Node 20+ with its built-in fetch: scores an order with fraud_risk and ranks
// search candidates with search_ranking. No dependencies.
//
//   AGENT_URL=http://127.0.0.1:8080/ node score.mjs
//
// Every answer carries the bundle version that computed it (the Weights-Version header and a "version"
// field); a refused request is an RFC 9457 application/problem+json naming the model and the input at fault.

const AGENT_URL = process.env.AGENT_URL ?? "http://127.0.0.1:8080/";
const READY_TIMEOUT_MS = Number(process.env.READY_TIMEOUT_MS ?? 30000);

class ProblemError extends Error {
  constructor(problem) {
    super(`${problem.title}: ${problem.detail}`);
    this.problem = problem; // type, title, status, detail, instance, model, input, version
  }
}

// POST one request (or {"requests": [...]}) to a model's operation; throw a ProblemError on a refusal.
async function call(model, operation, body) {
  const response = await fetch(new URL(`v1/models/${encodeURIComponent(model)}/${operation}`, AGENT_URL), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(5000), // a scoring call is milliseconds; never hang a checkout on it
  });
  const payload = await response.json();
  if (!response.ok) throw new ProblemError(payload);
  return payload;
}

// Wait until the agent serves a bundle (GET /readyz answers 200), as a startup probe would.
async function waitReady() {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    try {
      const response = await fetch(new URL("readyz", AGENT_URL));
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`the agent at ${AGENT_URL} is not ready after ${READY_TIMEOUT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const order = {
  order_amount: 80.0,
  account_age_days: 400,
  country_mismatch: false,
  payment_method: "card",
  email_domain_age_days: 3000,
  orders_last_24h: 1,
  shipping_to_billing_distance_km: 2.0,
  device_seen_before: true,
};

const candidates = [
  { item_id: "SKU-2001", bm25_score: 6.0, sales_30d: 900, avg_rating: 4.8, review_count: 2000, in_stock: true,
    stock_units: 500, brand_tier: "house", margin_pct: 40.0, return_rate: 0.02, days_since_launch: 800 },
  { item_id: "SKU-1001", bm25_score: 18.0, sales_30d: 240, avg_rating: 4.6, review_count: 310, in_stock: true,
    stock_units: 120, brand_tier: "national", margin_pct: 22.0, return_rate: 0.04, days_since_launch: 400 },
  { item_id: "SKU-1002", bm25_score: 18.0, sales_30d: 240, avg_rating: 4.6, review_count: 310, in_stock: false,
    stock_units: 0, brand_tier: "national", margin_pct: 22.0, return_rate: 0.04, days_since_launch: 400 },
];

async function main() {
  await waitReady();

  const score = await call("fraud_risk", "score", order);
  const reasons = score.reasons.length ? score.reasons.join(", ") : "none";
  console.log(`fraud_risk: ${score.decision} (score ${score.value.toFixed(4)}, reasons: ${reasons}) version ${score.version}`);

  const ranking = await call("search_ranking", "rank", { items: candidates });
  const order_ = ranking.items.map((entry) => entry.item.item_id).join(", ");
  console.log(`search_ranking: ${order_} version ${ranking.version}`);

  // A refused request: the problem names the model and the input to fix.
  try {
    await call("fraud_risk", "score", { ...order, order_amount: "80 EUR" });
  } catch (error) {
    if (!(error instanceof ProblemError)) throw error;
    const p = error.problem;
    console.log(`refused: ${p.status} ${p.type} model=${p.model} input=${p.input}`);
  }
}

main().catch((error) => {
  console.error(`score.mjs: ${error.message}`);
  process.exit(1);
});
