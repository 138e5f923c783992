"""Tables of the invariance experiment: closed form per t, set distances, smallest t.

Columns (``N`` is the band: 1 for the full band, else the low-pass factor of Phi_N):

- closed form: ``degradation, chain, severity, N, t, alpha_bar, signal, noise, ratio_mean,
  ratio_p90, distance`` (``signal`` is the mean s, ``noise`` the band's nu, ``distance = 1 +
  ratio_mean`` the normalised expected squared distance);
- set distances: ``degradation, chain, severity, N, t, alpha_bar, probe_accuracy, probe_chance,
  probe_p_value, indistinguishable, mmd``;
- types probe (all degradation types and clean at once): ``N, t, alpha_bar, accuracy, chance,
  p_value, indistinguishable, groups``;
- thresholds: ``degradation, chain, severity, N, signal, t_closed_form, t_closed_form_p90,
  t_probe``. ``t_probe`` is the smallest measured step from which on the probe is at chance at
  every measured step (None when it never is).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import numpy as np

from dr2.analysis.probe import mmd, probe_accuracy

if TYPE_CHECKING:
    import pandas as pd

    from dr2.analysis.experiment import Collected, InvarianceConfig
    from dr2.analysis.inputs import ChainSetting


def closed_form_table(
    config: InvarianceConfig,
    specs: list[ChainSetting],
    collected: Collected,
    alphas_cumprod: np.ndarray,
) -> pd.DataFrame:
    """Mean and 90th-percentile signal ratio at every step, per degradation and band."""
    import pandas as pd

    from dr2.analysis.distances import noise_energy, signal_ratio

    frames = []
    steps = np.arange(len(alphas_cumprod))
    for spec in specs:
        for n in config.bands:
            signal = collected.signal[(spec.label, n)]
            noise = noise_energy(config.size, n)
            ratio = signal_ratio(np.asarray(signal), noise, alphas_cumprod)
            frames.append(
                pd.DataFrame(
                    {
                        "degradation": spec.label,
                        "chain": spec.chain,
                        "severity": spec.severity,
                        "N": n,
                        "t": steps,
                        "alpha_bar": alphas_cumprod,
                        "signal": float(np.mean(signal)),
                        "noise": noise,
                        "ratio_mean": ratio.mean(axis=0),
                        "ratio_p90": np.quantile(ratio, 0.9, axis=0),
                        "distance": 1.0 + ratio.mean(axis=0),
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)


def set_tables(
    config: InvarianceConfig,
    specs: list[ChainSetting],
    collected: Collected,
    alphas_cumprod: np.ndarray,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[tuple[int, int], tuple[np.ndarray, np.ndarray]]]:
    """Probe and MMD per degradation, the all-types probe, and the features for the embedding."""
    import pandas as pd

    probe = functools.partial(probe_accuracy, folds=config.folds, alpha=config.alpha)
    rows, types, embedding = [], [], {}
    for (n, t), (parts, label_list, face_list) in sorted(collected.features.items()):
        features = np.concatenate(parts)
        labels, faces = np.asarray(label_list), np.asarray(face_list)
        embedding[(n, t)] = (features, labels)
        where = {"N": n, "t": t, "alpha_bar": float(alphas_cumprod[t])}
        for group, spec in enumerate(specs, start=1):
            pair = (labels == 0) | (labels == group)
            result = probe(features[pair], (labels[pair] == group).astype(int), faces[pair])
            distance = mmd(features[labels == 0], features[labels == group])
            rows.append(
                {"degradation": spec.label, "chain": spec.chain, "severity": spec.severity}
                | where
                | {
                    "probe_accuracy": result.accuracy,
                    "probe_chance": result.chance,
                    "probe_p_value": result.p_value,
                    "indistinguishable": result.indistinguishable,
                    "mmd": distance,
                }
            )
        result = probe(features, labels, faces)
        types.append(
            where
            | {
                "accuracy": result.accuracy,
                "chance": result.chance,
                "p_value": result.p_value,
                "indistinguishable": result.indistinguishable,
                "groups": len(specs) + 1,
            }
        )
    return pd.DataFrame(rows), pd.DataFrame(types), embedding


def first_invariant_step(steps: list[int], indistinguishable: list[bool]) -> int | None:
    """The smallest step from which on every measured step is indistinguishable, else None.

    Example:
        >>> first_invariant_step([0, 10, 20, 30], [False, True, False, True])
        30
    """
    found = None
    for step, flag in sorted(zip(steps, indistinguishable, strict=True), reverse=True):
        if not flag:
            break
        found = step
    return found


def threshold_table(
    config: InvarianceConfig,
    specs: list[ChainSetting],
    closed_form: pd.DataFrame,
    set_distances: pd.DataFrame,
) -> pd.DataFrame:
    """The smallest indistinguishable t per degradation and band, by each measure."""
    import pandas as pd

    from dr2.analysis.distances import first_below

    rows = []
    for spec in specs:
        for n in config.bands:
            curve = closed_form[
                (closed_form["degradation"] == spec.label) & (closed_form["N"] == n)
            ]
            probe = set_distances[
                (set_distances["degradation"] == spec.label) & (set_distances["N"] == n)
            ]
            rows.append(
                {
                    "degradation": spec.label,
                    "chain": spec.chain,
                    "severity": spec.severity,
                    "N": n,
                    "signal": float(curve["signal"].iloc[0]),
                    "t_closed_form": first_below(curve["ratio_mean"].to_numpy(), config.threshold),
                    "t_closed_form_p90": first_below(
                        curve["ratio_p90"].to_numpy(), config.threshold
                    ),
                    "t_probe": first_invariant_step(
                        probe["t"].tolist(), probe["indistinguishable"].tolist()
                    ),
                }
            )
    return pd.DataFrame(rows).astype(
        {"t_closed_form": "Int64", "t_closed_form_p90": "Int64", "t_probe": "Int64"}
    )
