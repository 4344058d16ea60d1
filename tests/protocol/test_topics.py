import pytest

from storesense.errors import ProtocolError
from storesense.protocol.topics import Channel, DeviceTopic, Topics


def test_device_topics_round_trip() -> None:
    topics = Topics()
    topic = topics.events("store-1", "rfid_fr2")
    assert topic == "storesense/v1/store-1/rfid_fr2/events"
    assert topics.parse_device(topic) == DeviceTopic("store-1", "rfid_fr2", Channel.EVENTS)
    assert topics.parse_device(topics.status("a", "b")).channel is Channel.STATUS


def test_root_is_configurable_and_shared_subscriptions_are_built() -> None:
    topics = Topics("acme")
    assert topics.alerts("s1") == "acme/v1/s1/alerts"
    assert topics.all_events("ingest") == "$share/ingest/acme/v1/+/+/events"
    assert topics.parse_alerts("acme/v1/s1/alerts") == "s1"


@pytest.mark.parametrize(
    ("topic", "complaint"),
    [
        ("other/v1/s/d/events", "does not start with"),
        ("storesense/v1/s/events", "must be"),
        ("storesense/v1/S1/d/events", "store id"),
        ("storesense/v1/s/-d/events", "device id"),
        ("storesense/v1/s/d/commands", "channel"),
        ("storesense/v1/s/d/events/x", "must be"),
    ],
)
def test_bad_topics_are_rejected_with_the_reason(topic: str, complaint: str) -> None:
    with pytest.raises(ProtocolError, match=complaint):
        Topics().parse_device(topic)


def test_identifier_length_limit() -> None:
    topics = Topics()
    topics.events("a" * 64, "d")
    with pytest.raises(ProtocolError):
        topics.events("a" * 65, "d")
