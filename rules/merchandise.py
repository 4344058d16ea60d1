"""Merchandise rules: `sku.tried_not_bought` (tried often today, never bought: a fit or
price problem, for the manager) and `stock.restock` (the tried size is no longer on the
floor while the backroom has it)."""

from __future__ import annotations

from rules.drafts import AlertDraft
from rules.params import RestockRule, SkuTriedNotBoughtRule
from rules.views import SkuDay, StockView


def tried_not_bought(
    store: str, sku: SkuDay, params: SkuTriedNotBoughtRule, now_ms: int
) -> AlertDraft | None:
    """Once per SKU and day, when `min_tries` garments were tried at least `grace_min` ago
    and none of the SKU sold today."""
    grace_ms = int(params.grace_min * 60_000)
    settled = [ts for ts in sku.tried_ms if ts <= now_ms - grace_ms]
    if not params.enabled or len(settled) < params.min_tries or sku.sold > 0:
        return None
    facts: dict[str, object] = {"gtin": sku.gtin, "day": sku.day, "tried": sku.tried}
    if sku.product is not None:
        facts.update(name=sku.product.name, style=sku.product.style, size=sku.product.size)
        facts["colour"] = sku.product.colour
    return AlertDraft(
        type="sku.tried_not_bought",
        store=store,
        # Dated when the `min_tries`-th try-on settled: every later evaluation is the same.
        ts_ms=settled[params.min_tries - 1] + grace_ms,
        facts=facts,
        rule="sku.tried_not_bought",
        subject=f"{sku.gtin}@{sku.day}",
        audience="manager",
    )


def restock(
    store: str, stock: StockView, params: RestockRule, ts_ms: int, day: str
) -> AlertDraft | None:
    """The SKU just tried has no tag left on the floor and at least one in the backroom; one
    alert per time the floor ran out (`day` stands in while that time is unknown)."""
    if not params.enabled or stock.floor > 0 or stock.backroom == 0:
        return None
    facts: dict[str, object] = {"gtin": stock.gtin, "backroom": stock.backroom}
    if stock.product is not None:
        facts.update(name=stock.product.name, style=stock.product.style)
        facts.update(size=stock.product.size, colour=stock.product.colour)
    return AlertDraft(
        type="stock.restock",
        store=store,
        ts_ms=ts_ms,
        zone="backroom",
        facts=facts,
        rule="stock.restock",
        subject=f"{stock.gtin}@{stock.floor_out_ms or day}",
    )
