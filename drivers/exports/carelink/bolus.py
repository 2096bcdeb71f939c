"""Assemble CareLink bolus rows into one :class:`Bolus` with its calculator inputs.

A modern export writes one user bolus as up to three rows (780G, observed): the Bolus
Wizard row (``BWZ ...`` columns, no Bolus Type), the programmed row at the same second
(``Bolus Type``, ``Bolus Volume Selected``, ``Bolus Number``) and a completion row a
minute later with the same ``Bolus Number`` and ``Bolus Volume Delivered``. A dual
bolus adds ``Dual (normal part)``/``Dual (square part)`` rows. Classic exports write
``BolusNormal``/``BolusSquare`` raw records plus ``BolusWizardBolusEstimate``. Both
feed a :class:`BolusDraft`, which :meth:`BolusDraft.build` turns into the record.

``user_changed`` compares what the user *programmed* (normal + extended) with the
calculator's recommendation; a bolus cancelled part-way is not a changed recommendation
(the shortfall is visible as ``delivered_u`` < ``programmed_u``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from drivers._core.records import Bolus, BolusCalculation, BolusSubtype

TOLERANCE_U = 0.001


@dataclass(slots=True)
class BolusDraft:
    """A bolus being assembled from several rows (all amounts in units)."""

    device_id: str
    key: str
    time: datetime
    line: int
    normal_programmed: float | None = None
    normal_delivered: float | None = None
    square_programmed: float | None = None
    square_delivered: float | None = None
    square_duration_s: int = 0
    calculation: BolusCalculation | None = None
    annotations: list[str] = field(default_factory=list)
    dual: bool = False

    def add_part(
        self,
        *,
        square: bool,
        programmed: float | None,
        delivered: float | None,
        duration_s: int | None,
    ) -> None:
        """Record the programmed and/or delivered amount of the normal or square part."""
        if square:
            self.square_programmed = (
                programmed if programmed is not None else self.square_programmed
            )
            self.square_delivered = delivered if delivered is not None else self.square_delivered
            self.square_duration_s = duration_s or self.square_duration_s
        else:
            self.normal_programmed = (
                programmed if programmed is not None else self.normal_programmed
            )
            self.normal_delivered = delivered if delivered is not None else self.normal_delivered

    @property
    def complete(self) -> bool:
        """Every part that was programmed has a delivered amount."""
        normal_done = self.normal_programmed is None or self.normal_delivered is not None
        square_done = self.square_programmed is None or self.square_delivered is not None
        if self.dual and (self.normal_programmed is None or self.square_programmed is None):
            return False  # a dual bolus waits for both of its parts
        return normal_done and square_done

    def build(self) -> Bolus:
        """The normalized bolus; an undelivered part counts as delivered as programmed
        and is annotated ``bolus/delivery-not-recorded``."""
        notes = list(self.annotations)
        n_prog = (
            self.normal_programmed if self.normal_programmed is not None else self.normal_delivered
        )
        s_prog = (
            self.square_programmed if self.square_programmed is not None else self.square_delivered
        )
        n_del, s_del = self.normal_delivered, self.square_delivered
        if (n_prog is not None and n_del is None) or (s_prog is not None and s_del is None):
            notes.append("bolus/delivery-not-recorded")
        subtype: BolusSubtype = "normal"
        if s_prog is not None:
            subtype = "dual" if n_prog is not None else "extended"
        calc = self.calculation
        programmed_total = (n_prog or 0.0) + (s_prog or 0.0)
        if calc is not None and calc.recommended_total_u is not None:
            changed = abs(programmed_total - calc.recommended_total_u) > TOLERANCE_U
            calc = replace(calc, user_changed=changed)
        return Bolus(
            device_id=self.device_id,
            source_index=self.key,
            device_time=self.time,
            subtype=subtype,
            programmed_u=n_prog or 0.0,
            delivered_u=(n_del if n_del is not None else n_prog) or 0.0,
            extended_programmed_u=s_prog or 0.0,
            extended_delivered_u=(s_del if s_del is not None else s_prog) or 0.0,
            extended_duration_s=self.square_duration_s if s_prog is not None else 0,
            calculation=calc,
            annotations=tuple(notes),
        )


def is_square_part(bolus_type: str) -> bool:
    """Whether a Bolus Type names the extended part (``Square``, ``Dual (square part)``,
    classic ``Dual/Square``)."""
    low = bolus_type.lower()
    return "square" in low and "normal part" not in low and low != "dual/normal"
