from ingest import conversions as cv


def test_sale_after_try_on_converts_once() -> None:
    record = cv.mark_tried(None, "e1", "g1", "fitting-room-1", 1000, "m1")
    converted = cv.mark_sold(record, "sale-1", 5000)
    assert converted == cv.Conversion(
        epc="e1", gtin="g1", zone="fitting-room-1", tried_ms=1000, sold_ms=5000,
        sale_id="sale-1", member_id="m1",
    )  # fmt: skip
    assert cv.mark_sold(record, "sale-1", 5000) is None
    assert cv.mark_sold(record, "sale-2", 6000) is None


def test_sale_before_the_try_on_or_without_one_is_no_conversion() -> None:
    record = cv.mark_tried(None, "e1", "g1", "fr", 9000, None)
    assert cv.mark_sold(record, "s", 5000) is None
    assert cv.mark_sold(None, "s", 5000) is None


def test_a_later_try_on_replaces_an_earlier_one_but_not_a_converted_one() -> None:
    first = cv.mark_tried(None, "e1", "g1", "fr-1", 1000, None)
    later = cv.mark_tried(first, "e1", "g1", "fr-2", 2000, "m2")
    assert (later.zone, later.member_id) == ("fr-2", "m2")
    cv.mark_sold(later, "s", 3000)
    assert cv.mark_tried(later, "e1", "g1", "fr-1", 4000, None) is later
