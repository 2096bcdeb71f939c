"""Glucose Service (0x1808): a read-only collector for Bluetooth blood glucose meters.

Models: meters implementing the SIG Glucose Profile (reported: Roche Accu-Chek Guide /
Aviva Connect / Instant, Ascensia Contour Next One, i-SENS CareSens, ForaCare and many
white-label meters on Nordic/TI/Silicon Labs reference stacks). Most meters advertise
and accept pairing only from their sync/pairing menu and disconnect soon after a
transfer, so the reader does all its work in one connection. Reads Glucose Feature,
then every record with sequence number ``>=`` the one after the cursor's, with its
Measurement Context (carbohydrate, meal, tester, health, exercise, medication, HbA1c).

Use :class:`drivers.ble.gls.session.GlsReader`.
"""
