"""CGM Service (0x181F): a read-only collector for any CGM that implements the SIG profile.

Models: any sensor exposing the standard CGM Service (reference servers: Nordic nRF5 /
nRF Connect SDK ``nrf_ble_cgms``, Silicon Labs CGM example; reported: Roche Accu-Chek
SmartGuide, Sinocare iCan). Dexcom and FreeStyle Libre use proprietary services and are
not covered. Reads Feature, Status, Session Start Time and Run Time; backfills through
the RACP by time offset (``>=`` the last offset seen); streams live notifications.
Never writes the Session Start Time or the Specific Ops Control Point.

Use :class:`drivers.ble.cgms.session.CgmsReader`.
"""
