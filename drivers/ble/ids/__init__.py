"""Insulin Delivery Service (0x183A): a read-only history reader for IDS insulin pumps.

Models: pumps implementing the SIG Insulin Delivery Profile (Tidepool's
InsulinDeliveryServiceKit targets them; Roche Accu-Chek Solo has been linked to IDS
[unverified]). Reads IDD Features, Status, Status Changed and Annunciation Status, then
the history through the IDD Record Access Control Point (0x2B27) by record number.

Read-only: the only characteristic this driver writes is the IDD RACP, with Report,
Report Number and Abort. It never writes the IDD Command Control Point (0x2B25: bolus,
basal, suspend, priming, time ...), never sends RACP Delete, and does not use the
Status Reader "Reset Status" op. ``tests/drivers/ble/test_ids_session.py`` proves it
against the simulated pump's write log.

Use :class:`drivers.ble.ids.session.IdsReader`.
"""
