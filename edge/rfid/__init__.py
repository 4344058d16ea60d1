"""RFID fitting-room agent: an LLRP reader's raw tag reads become `rfid.tag` enter/leave
events per zone (edge/rfid/filter.py holds the hysteresis policy)."""
