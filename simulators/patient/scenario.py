"""One synthetic patient over a period: normalized records plus the truth behind them.

``Scenario(patient, days, seed, tz, start=...)`` runs the physiology
(:mod:`~simulators.patient.physiology`) in closed loop with the patient's behaviour
(:mod:`~simulators.patient.behaviour`) and the pump (:mod:`~simulators.patient.therapy`):
meal boluses and corrections are computed by the pump's calculator from the CGM value
(or a fingerstick) *at the moment of the bolus*, and hypoglycaemia is treated when it
happens. The result is

* :attr:`Scenario.records` -- time-ordered normalized records, as the devices would
  report them: CGM readings (``cgm``, Low/High as ``special`` at the 40/400 limits, none
  during warm-up or dropouts), calibrations, fingersticks (``smbg``), boluses with the
  calculator record, basal segments, meals (``Food``, the patient's meal log with the
  counted carbs), device events (reservoir change, tubing prime, site change, sensor
  start/stop) and settings snapshots (at the start, at each retitration, at each
  upload). ``device_time`` is the local wall clock, ``time_utc`` and ``utc_offset_s``
  are set. The CGM and the pump have distinct ``device_id``\\ s
  (:func:`~drivers._core.records.make_device_id`);
* :attr:`Scenario.truth` -- what was planted and what happened (:class:`Truth`).

Reproducible: every random draw comes from ``numpy.random.default_rng(seed)`` spawned
into one independent stream per component, so the same seed gives identical records.
Hypoglycaemia treatments are eaten but not logged (most patients do not log them);
they are in the truth.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field, replace
from datetime import date

import numpy as np
from numpy.typing import NDArray

from drivers._core.records import (
    BasalSegment,
    BolusCalculation,
    Food,
    GlucoseSample,
    Record,
    make_device_id,
)
from simulators.patient.behaviour import (
    MODE_LATE,
    MODE_MISSED,
    apply_override,
    draw_bolus_behaviour,
    draw_exercise,
    draw_meals,
    draw_sensor_sessions,
    draw_site_changes,
)
from simulators.patient.physiology import (
    SLOTS_PER_DAY,
    STEP_MIN,
    GlucoseIntegrator,
    carb_kernel,
    draw_sensor_errors,
    endogenous_drive,
    exercise_effects,
    insulin_kernel,
    ou_noise,
    scatter_kernels,
    sensor_readings,
    session_layout,
)
from simulators.patient.presets import Patient
from simulators.patient.therapy import (
    BasalProgram,
    PumpSettings,
    SlotClock,
    TempBasal,
    basal_program,
    basal_runs,
    bolus_iob,
    bolus_record,
    device_event,
    glucose_record,
    recommend_bolus,
)

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

METER_CV = 0.04
"""Fingerstick error, SD as a fraction (a meter meeting ISO 15197:2013 +-15 %)."""
RESCUE_TMAX_MIN = 20.0
"""Glucose tablets/juice absorb fast."""
_KIND_ORDER = {
    "settings": 0,
    "device-event": 1,
    "basal": 2,
    "food": 3,
    "glucose": 4,
    "bolus": 5,
}


@dataclass(frozen=True, slots=True)
class Truth:
    """What the scenario planted and what happened.

    Arrays are per 5-minute slot. ``cgm_mgdl`` is the sensor as a grid (NaN without a
    reading, Low/High at 40/400); ``true_mgdl`` the blood glucose.

    Counts
    ------
    n_meals : meals eaten (each has a ``Food`` record).
    planted_missed : meals the patient chose not to bolus for.
    zero_dose_meals : meals whose calculator recommendation was 0 U (not bolused).
    missed_meal_boluses : meals without a bolus (``planted_missed + zero_dose_meals``).
    late_boluses : meal boluses given after the meal (``late_bolus_min`` later).
    meal_boluses, correction_boluses : delivered boluses by purpose.
    overrides, overrides_up : boluses where the user changed the recommendation.
    """

    time_utc: NDArray[np.datetime64]
    utc_offset_s: IntArray
    true_mgdl: FloatArray
    interstitial_mgdl: FloatArray
    cgm_mgdl: FloatArray
    cgm_low: NDArray[np.bool_]
    cgm_high: NDArray[np.bool_]
    meal_slots: IntArray
    meal_carbs_true_g: FloatArray
    meal_carbs_counted_g: FloatArray
    n_meals: int
    planted_missed: int
    zero_dose_meals: int
    missed_meal_boluses: int
    missed_bolus_rate: float
    late_boluses: int
    meal_boluses: int
    correction_boluses: int
    overrides: int
    overrides_up: int
    override_rate: float
    rescue_slots: IntArray
    exercise_sessions: int
    temp_basals: int
    site_change_slots: IntArray
    cartridge_changes: int
    sensor_sessions: int
    warmup_slots: int
    dropout_slots: int
    compression_lows: int
    fingersticks: int
    calibrations: int
    upload_slots: IntArray
    bolus_insulin_u: float
    basal_insulin_u: float
    daily_sensitivity: FloatArray

    @property
    def n_site_changes(self) -> int:
        """Infusion-set changes."""
        return len(self.site_change_slots)

    @property
    def n_rescues(self) -> int:
        """Hypoglycaemia treatments eaten."""
        return len(self.rescue_slots)


@dataclass(frozen=True, slots=True)
class Scenario:
    """A seeded, reproducible synthetic patient period (see module docstring).

    Examples
    --------
    >>> from simulators.patient.presets import preset
    >>> sc = Scenario(preset("well_controlled"), days=2, seed=1, tz="Europe/Berlin")
    >>> again = Scenario(preset("well_controlled"), days=2, seed=1, tz="Europe/Berlin")
    >>> sc.records == again.records
    True
    >>> sorted({r.kind for r in sc.records})
    ['basal', 'bolus', 'device-event', 'food', 'glucose', 'settings']
    """

    patient: Patient
    days: int
    seed: int
    tz: str = "UTC"
    start: date = date(2024, 3, 4)
    records: list[Record] = field(init=False, repr=False, compare=False)
    truth: Truth = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.days < 1:
            raise ValueError("days must be >= 1")
        records, truth = _simulate(self.patient, self.days, self.seed, self.tz, self.start)
        object.__setattr__(self, "records", records)
        object.__setattr__(self, "truth", truth)

    @property
    def pump_id(self) -> str:
        """``device_id`` of the pump."""
        return make_device_id(*self.patient.pump)

    @property
    def cgm_id(self) -> str:
        """``device_id`` of the CGM."""
        return make_device_id(*self.patient.cgm)


# --------------------------------------------------------------------------- simulation


@dataclass
class _Pump:
    """Mutable bookkeeping of the event loop."""

    settings: list[PumpSettings]
    change_slots: list[int]
    bolus_slots: list[int] = field(default_factory=list)
    bolus_units: list[float] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)
    overrides: int = 0
    overrides_up: int = 0
    meal_boluses: int = 0
    correction_boluses: int = 0
    late_boluses: int = 0
    zero_dose_meals: int = 0
    fingersticks: int = 0

    def settings_at(self, slot: int) -> PumpSettings:
        return self.settings[bisect.bisect_right(self.change_slots, slot) - 1]

    def iob(self, slot: int, settings: PumpSettings) -> float:
        if not self.bolus_slots:
            return 0.0
        ago = (slot - np.array(self.bolus_slots, dtype=np.float64)) * STEP_MIN
        return bolus_iob(ago, np.array(self.bolus_units), settings)


def _simulate(
    patient: Patient, days: int, seed: int, tz: str, start: date
) -> tuple[list[Record], Truth]:
    (
        r_meal,
        r_bolus,
        r_ex,
        r_site,
        r_phys,
        r_sensor,
        r_corr,
        r_meter,
        r_misc,
    ) = np.random.default_rng(seed).spawn(9)
    phys, beh = patient.physiology, patient.behaviour
    n = days * SLOTS_PER_DAY
    clock = SlotClock.build(tz=tz, start=start, n_slots=n)
    pump_id, cgm_id = make_device_id(*patient.pump), make_device_id(*patient.cgm)
    cgm_serial = patient.cgm[2]

    change_slots = [0]
    settings_list = [patient.settings]
    for day, s in patient.retitrations:
        if 0 < day < days:
            change_slots.append(int(clock.slot_at_local([day], [9 * 60.0])[0]))
            settings_list.append(s)
    pump = _Pump(settings_list, change_slots)

    # ---- meals and bolus decisions
    md = draw_meals(r_meal, 1, days, beh.meals, carb_count_sd=beh.carb_count_sd)
    _, m_day, m_occ = np.nonzero(md.present)
    m_min = md.minute[0, m_day, m_occ]
    m_slot = clock.slot_at_local(m_day, m_min)
    bd = draw_bolus_behaviour(
        r_bolus,
        (len(m_slot),),
        missed_rate=beh.missed_bolus_rate,
        late_rate=beh.late_bolus_rate,
        late_min=beh.late_bolus_min,
        prebolus_min=beh.prebolus_min,
        override_rate=beh.override_rate,
        override_up_fraction=beh.override_up_fraction,
        override_size=beh.override_size,
    )
    b_slot = m_slot + np.round(bd.offset_min / STEP_MIN).astype(np.int64)
    lead = int(np.ceil(beh.prebolus_min[1] / STEP_MIN))
    tail = int(np.ceil(beh.late_bolus_min[1] / STEP_MIN)) + 1
    keep = (m_slot >= lead) & (m_slot < n - tail)
    m_slot, b_slot = m_slot[keep], b_slot[keep]
    carbs_true = md.carbs_true_g[0, m_day, m_occ][keep]
    carbs_counted = md.carbs_counted_g[0, m_day, m_occ][keep]
    tmax = md.tmax_min[0, m_day, m_occ][keep]
    mode, over, up, size = (
        bd.mode[keep],
        bd.override[keep],
        bd.override_up[keep],
        bd.override_size[keep],
    )

    # ---- exercise and temp basals
    ex = draw_exercise(
        r_ex,
        1,
        days,
        per_week=beh.exercise_per_week,
        hour=beh.exercise_hour,
        duration_min=beh.exercise_min,
        intensity=beh.exercise_intensity,
        temp_basal_probability=beh.exercise_temp_basal_probability,
    )
    e_day = np.flatnonzero(ex.present[0])
    e_slot = clock.slot_at_local(e_day, ex.minute[0, e_day])
    e_dur = (ex.duration_min[0, e_day] / STEP_MIN).astype(np.int64)
    e_int = ex.intensity[0, e_day]
    temps = [
        TempBasal(int(s) - 12, int(d) + 12, 50.0)
        for s, d, t in zip(e_slot, e_dur, ex.temp_basal[0, e_day], strict=True)
        if t and s >= 12
    ]

    # ---- site changes and site age
    site_t = draw_site_changes(
        r_site, days, interval_days=beh.site_change_days, jitter_days=beh.site_change_jitter_days
    )
    site_slots = clock.slot_at_local(np.floor(site_t), (site_t % 1.0) * 1440.0)
    site_slots = np.unique(site_slots[site_slots < n - 1])
    initial_age_days = float(r_site.uniform(0.0, beh.site_change_days))
    age_days = np.arange(n) * STEP_MIN / 1440.0 + initial_age_days
    for s in site_slots:
        age_days[s:] = (np.arange(n - s)) * STEP_MIN / 1440.0
    site_factor = np.maximum(1.0 - phys.site_loss_per_day * np.maximum(age_days - 3.0, 0.0), 0.5)

    # ---- physiology drive
    daily = np.exp(phys.daily_sensitivity_sd * r_phys.standard_normal(days + 2))
    day_idx = np.clip(clock.local_day, 0, days + 1)
    uptake, sens_ex = exercise_effects(
        n,
        1,
        slot=e_slot,
        patient=np.zeros(len(e_slot), np.int64),
        duration_slots=e_dur,
        intensity=e_int,
        uptake_mgdl_per_min=phys.exercise_uptake_mgdl_per_min,
        sensitivity_gain=phys.exercise_sensitivity_gain,
        decay_min=phys.exercise_sensitivity_decay_min,
    )
    sens = daily[day_idx] * sens_ex[:, 0] * site_factor
    program = basal_program(pump.settings, pump.change_slots, clock.seconds_of_day, temps)
    ikern = insulin_kernel(dia_min=phys.dia_min, peak_min=phys.peak_min)
    units = program.units_per_slot
    padded = np.concatenate([np.full(len(ikern), units[0]), units])
    basal_act = np.convolve(padded, ikern)[len(ikern) : len(ikern) + n]
    ckern = carb_kernel(tmax)
    carb_app = scatter_kernels(
        n, 1, m_slot, np.zeros(len(m_slot), np.int64), carbs_true[:, None] * ckern
    )[:, 0]
    isf, csf = phys.isf_mgdl_per_u, phys.csf_mgdl_per_g
    egp = endogenous_drive(clock.local_hour, phys.basal_need_u_per_h, isf, phys.dawn_fraction)
    noise = ou_noise(
        r_phys,
        (n,),
        sd=phys.noise_mgdl_per_min * STEP_MIN,
        corr_slots=phys.noise_corr_min / STEP_MIN,
    )
    drive = (csf * carb_app - isf * sens * basal_act + egp - uptake[:, 0] + noise)[:, None]
    rescue_effect = (csf * beh.rescue_carbs_g * carb_kernel(RESCUE_TMAX_MIN))[:, None]
    integ = GlucoseIntegrator(
        np.ascontiguousarray(drive),
        initial_mgdl=phys.initial_mgdl,
        reference_mgdl=phys.reference_mgdl,
        effectiveness_per_min=phys.glucose_effectiveness_per_min,
        counterregulation_mgdl=phys.counterregulation_mgdl,
        counterregulation_per_min=phys.counterregulation_per_min,
        interstitial_lag_min=phys.interstitial_lag_min,
        rescue_below_mgdl=beh.rescue_below_mgdl,
        rescue_effect=rescue_effect,
        rescue_refractory_slots=4,
    )

    # ---- sensor (errors drawn up front; readings are elementwise, so any slot can be read)
    first = int(r_sensor.integers(12, 72))
    s_starts, s_ends = draw_sensor_sessions(
        r_sensor,
        1,
        n,
        session_days=patient.sensor.session_days,
        first_start_slot=[first],
        gap_probability=beh.sensor_gap_probability,
        gap_days=beh.sensor_gap_days,
    )
    session, minutes = session_layout(n, s_starts, s_ends)
    errors = draw_sensor_errors(
        r_sensor, patient.sensor, session, minutes, clock.local_hour[:, None]
    )
    model = patient.sensor

    def cgm_at(k: int) -> float | None:
        if not errors.valid[k, 0]:
            return None
        v = float(np.rint(errors.gain[k, 0] * integ.interstitial[k, 0] + errors.additive[k, 0]))
        return v if model.low_limit_mgdl <= v <= model.high_limit_mgdl else None

    def meter_at(k: int, z: float) -> float:
        return float(round(integ.glucose[k, 0] * (1.0 + METER_CV * z)))

    # ---- the event loop: meal boluses and hourly correction checks, in time order
    hourly = np.flatnonzero(
        (clock.seconds_of_day % 3600 == 0) & (clock.local_hour >= 7) & (clock.local_hour <= 22)
    )
    c_act = r_corr.random(len(hourly))
    c_over = r_corr.random(len(hourly)) < beh.override_rate
    c_up = r_corr.random(len(hourly)) < beh.override_up_fraction
    c_size = r_corr.uniform(*beh.override_size, len(hourly))
    meal_fs = r_meter.random(len(m_slot)) < beh.fingerstick_when_no_cgm
    meal_z = r_meter.standard_normal(len(m_slot))
    events = sorted(
        [(int(b_slot[i]), 0, i) for i in range(len(m_slot)) if mode[i] != MODE_MISSED]
        + [(int(hourly[j]), 1, j) for j in range(len(hourly))]
    )
    bolus_kernel = ikern
    n_smbg = 0

    def deliver(k: int, dose: float, calc: BolusCalculation, changed: bool, is_up: bool) -> None:
        end = min(k + len(bolus_kernel), n)
        integ.drive[k:end, 0] -= isf * sens[k:end] * dose * bolus_kernel[: end - k]
        pump.bolus_slots.append(k)
        pump.bolus_units.append(dose)
        full = replace(calc, user_changed=changed)
        pump.records.append(
            bolus_record(
                clock,
                k,
                device_id=pump_id,
                source_index=f"bolus:{len(pump.bolus_slots)}",
                units=dose,
                calculation=full,
            )
        )
        if changed:
            pump.overrides += 1
            pump.overrides_up += int(is_up)

    last_bolus = -(10**9)
    for k, kind, i in events:
        integ.run_until(k)
        settings = pump.settings_at(k)
        sod = int(clock.seconds_of_day[k])
        if kind == 1:  # hourly correction check
            bg = cgm_at(k)
            gap_ok = (k - last_bolus) * STEP_MIN >= beh.correction_min_gap_min
            if bg is None or bg <= beh.correction_above_mgdl or not gap_ok:
                continue
            if c_act[i] >= beh.correction_probability:
                continue
            calc = recommend_bolus(
                settings, seconds_of_day=sod, carbs_g=0.0, bg_mgdl=bg, iob_u=pump.iob(k, settings)
            )
            rec = calc.recommended_total_u or 0.0
            if rec <= 0.0:
                continue
            dose = apply_override(rec, bool(c_up[i]), float(c_size[i])) if c_over[i] else rec
            deliver(k, dose, calc, bool(c_over[i]), bool(c_up[i]))
            pump.correction_boluses += 1
            last_bolus = k
            continue
        bg = cgm_at(k)
        if bg is None and meal_fs[i]:
            bg = meter_at(k, float(meal_z[i]))
            n_smbg += 1
            pump.records.append(
                glucose_record(
                    clock,
                    k,
                    device_id=pump_id,
                    source_index=f"smbg:w{n_smbg}",
                    sample_type="smbg",
                    mgdl=bg,
                )
            )
        calc = recommend_bolus(
            settings,
            seconds_of_day=sod,
            carbs_g=float(carbs_counted[i]),
            bg_mgdl=bg,
            iob_u=pump.iob(k, settings),
        )
        rec = calc.recommended_total_u or 0.0
        if over[i] and rec > 0.0:
            dose = apply_override(rec, bool(up[i]), float(size[i]))
            changed = True
        else:
            dose, changed = rec, False
        if dose <= 0.0:
            pump.zero_dose_meals += 1
            continue
        deliver(k, dose, calc, changed, bool(up[i]))
        pump.meal_boluses += 1
        pump.late_boluses += int(mode[i] == MODE_LATE)
        last_bolus = k
    integ.run_until(n - 1)

    true_g = integ.glucose[:, 0].copy()
    ig = integ.interstitial[:, 0].copy()
    cgm, low, high = sensor_readings(integ.interstitial, errors, model)

    records: list[Record] = list(pump.records)
    # ---- CGM readings
    for k_np in np.flatnonzero(errors.valid[:, 0]):
        kk = int(k_np)
        special = "low" if low[kk, 0] else "high" if high[kk, 0] else None
        records.append(
            GlucoseSample(
                device_id=cgm_id,
                source_index=f"egv:{cgm_serial}:{kk}",
                device_time=clock.local[kk],
                time_utc=clock.utc[kk],
                utc_offset_s=int(clock.offset_s[kk]),
                sample_type="cgm",
                glucose_mgdl=None if special else float(cgm[kk, 0]),
                special=special,  # type: ignore[arg-type]
                reporting_limit_mgdl=(
                    model.low_limit_mgdl
                    if special == "low"
                    else model.high_limit_mgdl
                    if special == "high"
                    else None
                ),
            )
        )
    # ---- sensor sessions, calibrations
    n_sessions = 0
    n_cal = 0
    for s, e in zip(s_starts[0], s_ends[0], strict=True):
        if s >= n:
            break
        n_sessions += 1
        records.append(
            device_event(
                clock,
                int(s),
                device_id=cgm_id,
                source_index=f"sensor:{n_sessions}:start",
                event_type="sensor-start",
            )
        )
        if e < n:
            records.append(
                device_event(
                    clock,
                    int(e) - 1,
                    device_id=cgm_id,
                    source_index=f"sensor:{n_sessions}:stop",
                    event_type="sensor-stop",
                )
            )
        u_cal, z_cal, when = r_misc.random(), r_misc.standard_normal(), r_misc.uniform(0.0, 120.0)
        k_cal = int(s) + int(np.ceil((model.warmup_min + when) / STEP_MIN))
        if u_cal < beh.calibration_probability and k_cal < min(int(e), n):
            n_cal += 1
            records.append(
                glucose_record(
                    clock,
                    k_cal,
                    device_id=cgm_id,
                    source_index=f"cal:{n_cal}",
                    sample_type="calibration",
                    mgdl=meter_at(k_cal, float(z_cal)),
                )
            )
    # ---- fingersticks
    n_checks = r_misc.poisson(beh.fingersticks_per_day, days)
    fs_day = np.repeat(np.arange(days), n_checks)
    fs_min = r_misc.uniform(7 * 60.0, 22 * 60.0, len(fs_day))
    fs_z = r_misc.standard_normal(len(fs_day))
    for j, k in enumerate(clock.slot_at_local(fs_day, fs_min)):
        n_smbg += 1
        records.append(
            glucose_record(
                clock,
                int(k),
                device_id=pump_id,
                source_index=f"smbg:{n_smbg}",
                sample_type="smbg",
                mgdl=meter_at(int(k), float(fs_z[j])),
            )
        )
    # ---- meals (the meal log)
    for j, k in enumerate(m_slot.tolist()):
        records.append(
            Food(
                device_id=pump_id,
                source_index=f"food:{j + 1}",
                device_time=clock.local[k],
                time_utc=clock.utc[k],
                utc_offset_s=int(clock.offset_s[k]),
                carbs_g=float(carbs_counted[j]),
            )
        )
    # ---- basal
    records.extend(_basal_records(program, clock, pump, pump_id))
    # ---- site and cartridge changes
    delivered = program.units_per_slot.copy()
    np.add.at(delivered, np.array(pump.bolus_slots, dtype=np.int64), np.array(pump.bolus_units))
    used = np.cumsum(delivered)
    fill = float(r_misc.uniform(120.0, 200.0))
    fill_used = 0.0
    n_cart = 0
    for j, k in enumerate(site_slots):
        kk = int(k)
        per_day = used[kk] / max((kk + 1) / SLOTS_PER_DAY, 0.5)
        remaining = fill - (used[kk] - fill_used)
        if remaining < per_day * (beh.site_change_days + 1.0):
            n_cart += 1
            fill, fill_used = float(r_misc.uniform(150.0, 300.0)), float(used[kk])
            records.append(
                device_event(
                    clock,
                    kk,
                    device_id=pump_id,
                    source_index=f"event:{j}:rc",
                    event_type="reservoir-change",
                )
            )
        records.append(
            device_event(
                clock,
                kk,
                device_id=pump_id,
                source_index=f"event:{j}:prime",
                event_type="prime",
                prime_u=round(float(r_misc.uniform(8, 15)), 1),
                detail="tubing",
            )
        )
        records.append(
            device_event(
                clock,
                kk,
                device_id=pump_id,
                source_index=f"event:{j}:site",
                event_type="site-change",
                prime_u=0.3,
                detail="cannula",
            )
        )
    # ---- settings snapshots: start, retitrations, uploads
    gaps = np.maximum(
        beh.upload_every_days + beh.upload_jitter_days * r_misc.standard_normal(days + 1), 1.0
    )
    up_t = np.cumsum(gaps)
    up_t = up_t[up_t < days]
    up_slots = clock.slot_at_local(np.floor(up_t), 18 * 60.0 + (up_t % 1.0) * 240.0)
    snap_slots = sorted({*pump.change_slots, *(int(s) for s in up_slots)})
    for j, k in enumerate(snap_slots):
        records.append(
            pump.settings_at(k).snapshot(
                device_id=pump_id,
                source_index=f"settings:{j}",
                device_time=clock.local[k],
                time_utc=clock.utc[k],
                utc_offset_s=int(clock.offset_s[k]),
            )
        )

    records.sort(key=lambda r: (r.time_utc, _KIND_ORDER.get(r.kind, 9)))
    n_meals = len(m_slot)
    planted = int((mode == MODE_MISSED).sum())
    missed = planted + pump.zero_dose_meals
    n_bolus = len(pump.bolus_slots)
    truth = Truth(
        time_utc=np.array([int(u.timestamp()) for u in clock.utc], dtype="datetime64[s]"),
        utc_offset_s=clock.offset_s,
        true_mgdl=true_g,
        interstitial_mgdl=ig,
        cgm_mgdl=cgm[:, 0],
        cgm_low=low[:, 0],
        cgm_high=high[:, 0],
        meal_slots=m_slot,
        meal_carbs_true_g=carbs_true,
        meal_carbs_counted_g=carbs_counted,
        n_meals=n_meals,
        planted_missed=planted,
        zero_dose_meals=pump.zero_dose_meals,
        missed_meal_boluses=missed,
        missed_bolus_rate=missed / n_meals if n_meals else 0.0,
        late_boluses=pump.late_boluses,
        meal_boluses=pump.meal_boluses,
        correction_boluses=pump.correction_boluses,
        overrides=pump.overrides,
        overrides_up=pump.overrides_up,
        override_rate=pump.overrides / n_bolus if n_bolus else 0.0,
        rescue_slots=np.array(integ.rescue_slots, dtype=np.int64),
        exercise_sessions=len(e_slot),
        temp_basals=len(temps),
        site_change_slots=site_slots.astype(np.int64),
        cartridge_changes=n_cart,
        sensor_sessions=n_sessions,
        warmup_slots=int(errors.warmup.sum()),
        dropout_slots=int(errors.dropout.sum()),
        compression_lows=int(errors.n_compressions.sum()),
        fingersticks=n_smbg,
        calibrations=n_cal,
        upload_slots=np.asarray(up_slots, dtype=np.int64),
        bolus_insulin_u=float(sum(pump.bolus_units)),
        basal_insulin_u=float(program.units_per_slot.sum()),
        daily_sensitivity=daily[:days],
    )
    return records, truth


def _basal_records(
    program: BasalProgram, clock: SlotClock, pump: _Pump, pump_id: str
) -> list[BasalSegment]:
    out = []
    for j, (k, length) in enumerate(basal_runs(program)):
        temp = bool(program.temp[k])
        out.append(
            BasalSegment(
                device_id=pump_id,
                source_index=f"basal:{j}",
                device_time=clock.local[k],
                time_utc=clock.utc[k],
                utc_offset_s=int(clock.offset_s[k]),
                basal_type="temp" if temp else "scheduled",
                rate_u_per_h=round(float(program.rate_u_per_h[k]), 3),
                duration_s=length * 300,
                scheduled_rate_u_per_h=round(float(program.scheduled_u_per_h[k]), 3),
                percent=float(program.percent[k]) if temp else None,
                schedule_name=pump.settings_at(k).schedule_name,
            )
        )
    return out
