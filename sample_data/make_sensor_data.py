"""Generate the synthetic machine-sensor table with labelled, injected anomalies.

Three hydraulic presses report six sensors every 5 minutes for one week. The
readings follow a shared production load (day shifts, quiet nights and
weekend), so the sensors are correlated the way real ones are; five kinds of
anomaly are then injected and labelled in ``is_anomaly``. Run
``python sample_data/make_sensor_data.py`` to regenerate ``sample_data/sensors.csv``;
the same seed always gives the same bytes.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

DEFAULT_PATH = Path(__file__).parent / "sensors.csv"
SEED = 20240304
START = "2024-03-04T00:00:00"  # a Monday, so the week ends with a weekend
STEP_MINUTES = 5
DAYS = 7
STEPS = DAYS * 24 * 60 // STEP_MINUTES

# Rounded as the sensors would report them.
DECIMALS = {
    "temperature_c": 2,
    "pressure_bar": 2,
    "vibration_mm_s": 3,
    "power_kw": 2,
    "rpm": 1,
    "humidity_pct": 1,
}
SENSORS = tuple(DECIMALS)


@dataclass(frozen=True)
class MachineProfile:
    """The nominal operating point of one machine; its readings scatter around it."""

    name: str
    rpm_nominal: float
    rated_kw: float
    idle_kw: float
    pressure_full_load_bar: float
    temperature_offset_c: float
    vibration_nominal_mm_s: float


# press_c has a slower, smaller drive, so a row of it with press_a/b readings
# (the wrong-machine anomaly) stands out only together with the machine column.
MACHINES = (
    MachineProfile("press_a", 1480.0, 45.0, 6.0, 180.0, 0.0, 1.4),
    MachineProfile("press_b", 1460.0, 55.0, 7.5, 200.0, 3.0, 1.8),
    MachineProfile("press_c", 980.0, 30.0, 4.0, 140.0, -2.0, 1.0),
)


def make_sensor_frame(seed: int = SEED, *, with_anomaly_type: bool = False) -> pd.DataFrame:
    """Return the sensor table, one row per machine and 5-minute step, sorted by time.

    ``with_anomaly_type`` adds the injected kind per row (empty for normal rows);
    it is for documentation and tests only, the CSV must not carry it.
    """
    rng = np.random.default_rng(seed)
    times = pd.date_range(START, periods=STEPS, freq=f"{STEP_MINUTES}min")
    readings = _normal_readings(rng, times)
    kinds = _inject_anomalies(rng, readings)
    _blank_missing(rng, readings, kinds)

    # Long format, time-major: row r belongs to step r // M and machine r % M.
    n_machines = len(MACHINES)
    table = pd.DataFrame(
        {
            "timestamp": np.repeat(times.strftime("%Y-%m-%dT%H:%M:%S").to_numpy(), n_machines),
            "machine": np.tile([m.name for m in MACHINES], STEPS),
        }
    )
    for sensor in SENSORS:
        table[sensor] = readings[sensor].T.ravel().round(DECIMALS[sensor])
    table["is_anomaly"] = (kinds.T.ravel() != "").astype(int)
    if with_anomaly_type:
        table["anomaly_type"] = kinds.T.ravel()
    return table


def main(out_path: Path = DEFAULT_PATH) -> Path:
    """Write the sensor table (without anomaly types) to ``out_path`` as CSV."""
    make_sensor_frame().to_csv(out_path, index=False, lineterminator="\n")
    return out_path


def _normal_readings(rng: np.random.Generator, times: pd.DatetimeIndex) -> dict[str, np.ndarray]:
    """Fault-free readings, each an array of shape (machines, steps)."""
    n_machines = len(MACHINES)
    hour = np.asarray(times.hour + times.minute / 60)
    weekend = np.asarray(times.day_of_week >= 5)

    # Day shift 06:00-22:00 with soft ramps; a skeleton crew keeps nights and weekends busy.
    day_shift = 1 / (1 + np.exp(-(hour - 6) / 0.4)) - 1 / (1 + np.exp(-(hour - 22) / 0.4))
    planned_load = 0.3 + 0.55 * day_shift * np.where(weekend, 0.35, 1.0)
    load = np.clip(planned_load + _red_noise(rng, (n_machines, STEPS), 0.05, 0.97), 0.1, 1.0)

    # The hall is warmest mid-afternoon; relative humidity moves the other way.
    daily_wave = np.sin(2 * np.pi * (hour - 9) / 24)
    hall_temperature = 19.0 + 3.0 * daily_wave + _red_noise(rng, (STEPS,), 0.4, 0.99)
    humidity = 55.0 - 9.0 * daily_wave + _red_noise(rng, (STEPS,), 2.0, 0.99)

    def per_machine(attribute: str) -> np.ndarray:
        return np.array([getattr(m, attribute) for m in MACHINES])[:, None]

    rpm_nominal = per_machine("rpm_nominal")
    speed = (0.6 + 0.4 * load) * (1 + rng.normal(0, 0.004, load.shape))
    # Motor housing heats with load, lagging it by about half an hour.
    heating = pd.DataFrame(load.T).ewm(alpha=STEP_MINUTES / 30, adjust=False).mean().to_numpy().T

    return {
        "temperature_c": hall_temperature
        + per_machine("temperature_offset_c")
        + 28.0 * heating
        + rng.normal(0, 0.3, load.shape),
        "pressure_bar": per_machine("pressure_full_load_bar") * (0.5 + 0.5 * load)
        + rng.normal(0, 2.0, load.shape),
        "vibration_mm_s": per_machine("vibration_nominal_mm_s")
        * (speed**2 + 0.3 * load)
        * rng.lognormal(0, 0.08, load.shape),
        "power_kw": per_machine("idle_kw")
        + per_machine("rated_kw") * load * speed
        + rng.normal(0, 0.6, load.shape),
        "rpm": rpm_nominal * speed,
        "humidity_pct": np.clip(humidity + rng.normal(0, 0.8, load.shape), 20, 95),
    }


def _red_noise(
    rng: np.random.Generator, shape: tuple[int, ...], sd: float, phi: float
) -> np.ndarray:
    """Autocorrelated AR(1) noise along the last axis with stationary deviation ``sd``."""
    shocks = rng.normal(0, sd * np.sqrt(1 - phi**2), shape)
    noise = np.empty(shape)
    noise[..., 0] = rng.normal(0, sd, shape[:-1])
    for step in range(1, shape[-1]):
        noise[..., step] = phi * noise[..., step - 1] + shocks[..., step]
    return noise


def _inject_anomalies(rng: np.random.Generator, readings: dict[str, np.ndarray]) -> np.ndarray:
    """Distort ``readings`` in place; return each cell's anomaly kind ("" when normal)."""
    kinds = np.full((len(MACHINES), STEPS), "", dtype=object)

    def place(kind: str, length: int) -> tuple[int, slice]:
        # Episodes keep an hour of clean data around them, so no two kinds overlap.
        margin = 12
        while True:
            machine = int(rng.integers(len(MACHINES)))
            start = int(rng.integers(margin, STEPS - length - margin))
            if (kinds[machine, start - margin : start + length + margin] == "").all():
                kinds[machine, start : start + length] = kind
                return machine, slice(start, start + length)

    # Wrong machine: readings logged under another machine's name. Only press_c differs
    # enough from the others for this to be an anomaly rather than noise. It goes first so
    # that the copied readings are fault-free.
    press_c = len(MACHINES) - 1
    for _ in range(12):
        machine, steps = place("wrong_machine", 1)
        source = int(rng.integers(press_c)) if machine == press_c else press_c
        for sensor in SENSORS:
            readings[sensor][machine, steps] = readings[sensor][source, steps] * rng.normal(1, 0.01)

    # Spikes: one sensor jumps for a single reading.
    spike_effects = {
        "temperature_c": lambda value: value + rng.uniform(12, 20),
        "pressure_bar": lambda value: value * rng.choice([0.6, 1.4]),
        "vibration_mm_s": lambda value: value * rng.uniform(3, 5),
        "power_kw": lambda value: value * rng.uniform(1.6, 2.0),
    }
    for _ in range(30):
        machine, steps = place("spike", 1)
        sensor = str(rng.choice(list(spike_effects)))
        readings[sensor][machine, steps] = spike_effects[sensor](readings[sensor][machine, steps])

    # Broken correlation: a jammed drive turns slowly while drawing more than full power.
    for _ in range(4):
        machine, steps = place("broken_correlation", 6)
        profile = MACHINES[machine]
        readings["rpm"][machine, steps] = profile.rpm_nominal * rng.uniform(0.35, 0.45, 6)
        readings["power_kw"][machine, steps] = profile.idle_kw + profile.rated_kw * rng.uniform(
            1.05, 1.2, 6
        )

    # Drifts over 2.5 hours: a pressure transducer losing calibration, a cooling fan failing.
    ramp = np.linspace(0, 1, 30)
    machine, steps = place("drift", 30)
    readings["pressure_bar"][machine, steps] *= 1 - 0.3 * ramp
    machine, steps = place("drift", 30)
    readings["temperature_c"][machine, steps] += 15 * ramp

    # Stuck sensors repeat the last good reading for 1.5 hours.
    for sensor in ("temperature_c", "vibration_mm_s"):
        machine, steps = place("stuck", 18)
        readings[sensor][machine, steps] = readings[sensor][machine, steps.start - 1]

    return kinds


def _blank_missing(
    rng: np.random.Generator, readings: dict[str, np.ndarray], kinds: np.ndarray
) -> None:
    """Blank about 0.5 % of rows in two sensors, only in normal rows."""
    normal = kinds == ""
    # The humidity logger drops out for 25 minutes at a time.
    gaps = 0
    while gaps < 4:
        machine, start = int(rng.integers(len(MACHINES))), int(rng.integers(STEPS - 5))
        if normal[machine, start : start + 5].all():
            readings["humidity_pct"][machine, start : start + 5] = np.nan
            normal[machine, start : start + 5] = False
            gaps += 1
    # Single lost vibration readings.
    candidates = np.flatnonzero(normal)
    lost = rng.choice(candidates, size=10, replace=False)
    readings["vibration_mm_s"][np.unravel_index(lost, normal.shape)] = np.nan


if __name__ == "__main__":
    print(f"wrote {main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_PATH)}")
