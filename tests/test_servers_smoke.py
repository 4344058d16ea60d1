import urllib.request

from tests.servers import InfluxDB, Mosquitto, Redis, port_open


def test_fixture_servers_answer(
    mosquitto: Mosquitto, redis_server: Redis, influxdb: InfluxDB
) -> None:
    assert port_open(mosquitto.port)
    assert port_open(redis_server.port)
    with urllib.request.urlopen(f"{influxdb.url}/ping") as response:
        assert response.status == 204
