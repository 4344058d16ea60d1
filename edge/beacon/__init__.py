"""BLE beacon scanner agent: iBeacon, Eddystone-UID and member-app advertisements become
`beacon.sighting` events (smoothed RSSI, zone, throttled). See docs/ble-advertisement.md."""
