"""Ready-made synthetic patients.

Each preset is a coherent adult with type 1 diabetes on a pump and a CGM. True
physiology follows the usual pump-start rules of thumb from total daily dose (TDD):
basal ~ 45-50 % of TDD, ISF ~ 1800 / TDD mg/dL/U, carb ratio ~ 500 / TDD g/U (Walsh J,
Roberts R. *Pumping Insulin*). What differs is how well the pump settings match that
truth and what the patient does:

============== ==============================================================================
well_controlled settings match the physiology, few missed boluses, pre-bolusing, exercise
                with temp basals. Expected to meet the Battelino 2019 consensus targets.
missed_boluses  a quarter of meals without a bolus, many late boluses, loose carb counting,
                irregular site changes and uploads.
frequent_lows   over-aggressive settings (basal, carb ratio, ISF), upward overrides, late
                hypo treatment, blunted counter-regulation (hypoglycaemia unawareness).
new_pump_start  first weeks on a pump: cautious settings below need, short pump DIA, many
                (mostly downward) overrides, frequent fingersticks; titrated on day 7.
older_adult     lower insulin needs, conservative targets (120-140), early hypo treatment,
                smaller meals: the older/high-risk consensus profile (TIR > 50 %, TBR < 1 %).
pregnancy       later pregnancy: insulin resistance (TDD ~ 65 U), tight targets, six
                eating occasions, pre-bolusing; assessed on 63-140 mg/dL.
============== ==============================================================================
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from simulators.patient.behaviour import Behaviour, Meal
from simulators.patient.physiology import Physiology, SensorModel
from simulators.patient.therapy import PumpSettings, schedule


@dataclass(frozen=True, slots=True, kw_only=True)
class Patient:
    """A synthetic patient: true physiology, pump settings, habits and devices.

    Attributes
    ----------
    name : preset name (or any label).
    physiology : the true physiology.
    settings : the pump settings at the start.
    behaviour : habits.
    sensor : CGM error model.
    retitrations : ``(day, settings)`` changes made later (an educator visit).
    target_range_mgdl : the range this patient is assessed on.
    pump, cgm : ``(manufacturer, model, serial)`` of the devices.
    """

    name: str
    physiology: Physiology
    settings: PumpSettings
    behaviour: Behaviour
    sensor: SensorModel = field(default_factory=SensorModel)
    retitrations: tuple[tuple[int, PumpSettings], ...] = ()
    target_range_mgdl: tuple[float, float] = (70.0, 180.0)
    pump: tuple[str, str, str] = ("Medtronic", "MiniMed 770G", "NG2412345H")
    cgm: tuple[str, str, str] = ("Dexcom", "G6", "8AM1EY")


def matched_settings(
    phys: Physiology,
    *,
    basal_factor: float = 1.0,
    cr_factor: float = 1.0,
    isf_factor: float = 1.0,
    target: tuple[float, float] = (100.0, 120.0),
    insulin_action_min: float = 360.0,
) -> PumpSettings:
    """Pump settings derived from the true physiology, optionally mis-set by factors.

    The basal schedule covers the dawn rise from 01:00 to 07:00: basal insulin acts on
    average ~2 h after delivery, so the step leads the 03:00-09:00 EGP bump. ``cr_factor`` < 1 or
    ``isf_factor`` < 1 give more insulin than needed.

    Examples
    --------
    >>> s = matched_settings(Physiology(basal_need_u_per_h=1.0, dawn_fraction=0.2))
    >>> [e.value for e in s.basal_u_per_h]
    [1.0, 1.1, 1.0]
    """
    need = phys.basal_need_u_per_h * basal_factor
    dawn = need * (1.0 + phys.dawn_fraction / 2.0)
    basal = schedule(
        ("00:00", round(need, 2)), ("01:00", round(dawn, 2)), ("07:00", round(need, 2))
    )
    cr = phys.carb_ratio_g_per_u * cr_factor
    isf = phys.isf_mgdl_per_u * isf_factor
    return PumpSettings(
        basal_u_per_h=basal,
        carb_ratio_g_per_u=schedule(("00:00", round(cr, 1)), ("11:00", round(cr * 1.1, 1))),
        sensitivity_mgdl_per_u=schedule(("00:00", round(isf))),
        target_low_mgdl=schedule(("00:00", target[0])),
        target_high_mgdl=schedule(("00:00", target[1])),
        insulin_action_min=insulin_action_min,
        insulin_peak_min=phys.peak_min,
    )


def well_controlled() -> Patient:
    """Settings match the physiology; engaged, consistent habits."""
    phys = Physiology(
        isf_mgdl_per_u=45.0,
        carb_ratio_g_per_u=12.0,
        basal_need_u_per_h=0.85,
        daily_sensitivity_sd=0.1,
    )
    beh = Behaviour(
        carb_count_sd=0.15,
        exercise_intensity=(0.4, 0.8),
        rescue_below_mgdl=75.0,
        missed_bolus_rate=0.02,
        late_bolus_rate=0.04,
        prebolus_min=(5.0, 20.0),
        override_rate=0.04,
        correction_above_mgdl=200.0,
        correction_probability=0.6,
        exercise_per_week=3.0,
        exercise_temp_basal_probability=0.7,
        sensor_gap_probability=0.02,
    )
    return Patient(
        name="well_controlled", physiology=phys, settings=matched_settings(phys), behaviour=beh
    )


def missed_boluses() -> Patient:
    """A quarter of meals missed, late boluses, loose carb counting."""
    phys = Physiology(
        isf_mgdl_per_u=40.0,
        carb_ratio_g_per_u=10.0,
        basal_need_u_per_h=1.0,
        dawn_fraction=0.3,
        daily_sensitivity_sd=0.15,
    )
    beh = Behaviour(
        carb_count_sd=0.3,
        missed_bolus_rate=0.25,
        late_bolus_rate=0.3,
        prebolus_min=(0.0, 5.0),
        override_rate=0.12,
        override_up_fraction=0.3,
        correction_above_mgdl=280.0,
        correction_probability=0.15,
        fingersticks_per_day=0.1,
        site_change_days=4.0,
        site_change_jitter_days=1.0,
        sensor_gap_probability=0.25,
        sensor_gap_days=(1.0, 3.0),
        exercise_per_week=1.0,
        exercise_temp_basal_probability=0.1,
        upload_every_days=20.0,
        upload_jitter_days=8.0,
    )
    return Patient(
        name="missed_boluses",
        physiology=phys,
        settings=matched_settings(phys, basal_factor=0.9),
        behaviour=beh,
        pump=("Tandem", "t:slim X2", "1098765"),
    )


def frequent_lows() -> Patient:
    """Over-aggressive settings and late hypo treatment."""
    phys = Physiology(
        isf_mgdl_per_u=55.0,
        carb_ratio_g_per_u=14.0,
        basal_need_u_per_h=0.7,
        counterregulation_per_min=0.008,
        daily_sensitivity_sd=0.15,
    )
    beh = Behaviour(
        carb_count_sd=0.25,
        missed_bolus_rate=0.03,
        late_bolus_rate=0.05,
        prebolus_min=(10.0, 25.0),
        override_rate=0.15,
        override_up_fraction=0.85,
        correction_above_mgdl=170.0,
        correction_probability=0.7,
        correction_min_gap_min=120.0,
        exercise_per_week=4.0,
        exercise_temp_basal_probability=0.0,
        exercise_intensity=(0.7, 1.2),
        rescue_below_mgdl=62.0,
        rescue_carbs_g=12.0,
    )
    settings = matched_settings(
        phys, basal_factor=1.1, cr_factor=0.85, isf_factor=0.8, target=(90.0, 100.0)
    )
    return Patient(name="frequent_lows", physiology=phys, settings=settings, behaviour=beh)


def new_pump_start() -> Patient:
    """First weeks on a pump: cautious settings, titrated on day 7."""
    phys = Physiology(isf_mgdl_per_u=45.0, carb_ratio_g_per_u=11.0, basal_need_u_per_h=0.9)
    beh = Behaviour(
        carb_count_sd=0.25,
        missed_bolus_rate=0.05,
        late_bolus_rate=0.1,
        override_rate=0.25,
        override_up_fraction=0.3,
        correction_above_mgdl=220.0,
        correction_probability=0.5,
        fingersticks_per_day=3.0,
        calibration_probability=0.9,
        exercise_per_week=1.5,
        upload_every_days=3.5,
        upload_jitter_days=0.5,
        sensor_gap_probability=0.0,
    )
    first = matched_settings(
        phys, basal_factor=0.8, cr_factor=1.25, isf_factor=1.2, insulin_action_min=240.0
    )
    later = matched_settings(phys, basal_factor=0.95, cr_factor=1.05, insulin_action_min=300.0)
    return Patient(
        name="new_pump_start",
        physiology=phys,
        settings=first,
        behaviour=beh,
        retitrations=((7, later),),
        pump=("Insulet", "Omnipod DASH", "PDM-0042"),
    )


def older_adult() -> Patient:
    """Lower needs, conservative targets, early hypo treatment."""
    phys = Physiology(
        isf_mgdl_per_u=60.0,
        carb_ratio_g_per_u=15.0,
        basal_need_u_per_h=0.6,
        dawn_fraction=0.15,
        daily_sensitivity_sd=0.1,
        initial_mgdl=150.0,
        reference_mgdl=140.0,
    )
    meals = (
        Meal(name="breakfast", hour=8.0, sd_min=30.0, carbs_g=35.0, carbs_sd_g=8.0, tmax_min=50.0),
        Meal(name="lunch", hour=12.5, sd_min=30.0, carbs_g=45.0, carbs_sd_g=10.0, tmax_min=55.0),
        Meal(name="snack", hour=15.5, sd_min=40.0, carbs_g=15.0, carbs_sd_g=4.0, probability=0.3),
        Meal(name="dinner", hour=18.0, sd_min=30.0, carbs_g=50.0, carbs_sd_g=12.0, tmax_min=60.0),
    )
    beh = Behaviour(
        meals=meals,
        carb_count_sd=0.2,
        missed_bolus_rate=0.06,
        late_bolus_rate=0.15,
        prebolus_min=(0.0, 10.0),
        override_rate=0.1,
        override_up_fraction=0.1,
        correction_above_mgdl=250.0,
        correction_probability=0.4,
        correction_min_gap_min=240.0,
        fingersticks_per_day=1.0,
        exercise_per_week=3.0,
        exercise_min=(20.0, 40.0),
        exercise_intensity=(0.3, 0.6),
        exercise_temp_basal_probability=0.5,
        rescue_below_mgdl=80.0,
        upload_every_days=14.0,
        upload_jitter_days=3.0,
    )
    settings = matched_settings(phys, basal_factor=0.95, cr_factor=1.1, target=(120.0, 140.0))
    return Patient(name="older_adult", physiology=phys, settings=settings, behaviour=beh)


def pregnancy() -> Patient:
    """Later pregnancy: insulin resistance, tight targets, six eating occasions."""
    phys = Physiology(
        isf_mgdl_per_u=28.0,
        carb_ratio_g_per_u=7.5,
        basal_need_u_per_h=1.4,
        dawn_fraction=0.2,
        reference_mgdl=100.0,
        initial_mgdl=110.0,
        daily_sensitivity_sd=0.08,
        noise_mgdl_per_min=0.3,
    )
    meals = (
        Meal(name="breakfast", hour=7.5, sd_min=25.0, carbs_g=30.0, carbs_sd_g=6.0, tmax_min=50.0),
        Meal(name="snack", hour=10.0, sd_min=25.0, carbs_g=15.0, carbs_sd_g=4.0, probability=0.8),
        Meal(name="lunch", hour=12.8, sd_min=25.0, carbs_g=45.0, carbs_sd_g=8.0, tmax_min=55.0),
        Meal(name="snack", hour=15.5, sd_min=30.0, carbs_g=15.0, carbs_sd_g=4.0, probability=0.8),
        Meal(name="dinner", hour=18.5, sd_min=30.0, carbs_g=50.0, carbs_sd_g=10.0, tmax_min=60.0),
        Meal(name="snack", hour=21.5, sd_min=20.0, carbs_g=15.0, carbs_sd_g=4.0, probability=0.9),
    )
    beh = Behaviour(
        meals=meals,
        carb_count_sd=0.12,
        missed_bolus_rate=0.02,
        late_bolus_rate=0.03,
        prebolus_min=(15.0, 30.0),
        override_rate=0.05,
        correction_above_mgdl=150.0,
        correction_probability=0.7,
        correction_min_gap_min=120.0,
        fingersticks_per_day=2.0,
        exercise_per_week=3.0,
        exercise_intensity=(0.3, 0.6),
        exercise_temp_basal_probability=0.6,
        rescue_below_mgdl=72.0,
        upload_every_days=7.0,
    )
    settings = matched_settings(phys, target=(90.0, 100.0))
    return Patient(
        name="pregnancy",
        physiology=phys,
        settings=settings,
        behaviour=beh,
        target_range_mgdl=(63.0, 140.0),
    )


PRESETS: dict[str, Callable[[], Patient]] = {
    "well_controlled": well_controlled,
    "missed_boluses": missed_boluses,
    "frequent_lows": frequent_lows,
    "new_pump_start": new_pump_start,
    "older_adult": older_adult,
    "pregnancy": pregnancy,
}
"""Preset name -> factory."""


def preset(preset_name: str, /, **changes: object) -> Patient:
    """A preset patient by name, with optional field changes (``dataclasses.replace``).

    Examples
    --------
    >>> preset("pregnancy").target_range_mgdl
    (63.0, 140.0)
    >>> preset("well_controlled", name="pt-7").name
    'pt-7'
    """
    try:
        factory = PRESETS[preset_name]
    except KeyError:
        known = ", ".join(PRESETS)
        raise ValueError(f"unknown preset {preset_name!r}; known: {known}") from None
    patient = factory()
    return replace(patient, **changes) if changes else patient  # type: ignore[arg-type]
