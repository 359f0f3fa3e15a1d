"""PNG plots of a search's study, from `optuna.visualization.matplotlib`, as bytes.

Files are written by the caller (the CLI writes them through `rfsearch.io.open_output`). Plots:
the optimisation history (feasible and infeasible trials, best feasible value), the Pareto front
(2 or 3 objectives; infeasible trials shown apart) and the parameter importances (Optuna's
default evaluator). With several objectives, the history and the importances are drawn once per
objective (``history_<objective>.png``). Needs matplotlib (``pip install 'rfsearch[plot]'``);
the backend is not changed here (without a display matplotlib picks Agg).
"""

from __future__ import annotations

import io
import warnings
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Sequence

if TYPE_CHECKING:
    import optuna

__all__ = ["MissingPlotDependency", "plot_images"]


class MissingPlotDependency(ImportError):
    """matplotlib is not installed."""


def _png(plot: Callable[..., Any], *args: Any, **kwargs: Any) -> bytes:
    import matplotlib.pyplot as plt

    ax = plot(*args, **kwargs)
    figure = ax.figure if hasattr(ax, "figure") else ax.flat[0].figure
    buffer = io.BytesIO()
    try:
        figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    finally:
        plt.close(figure)
    return buffer.getvalue()


def plot_images(study: optuna.Study, objective: Sequence[str]) -> Dict[str, bytes]:
    """File name -> PNG bytes: history, Pareto front (2-3 objectives) and parameter importances.
    A plot Optuna cannot draw for this study (no completed trial; importances without at least
    two trials or with no parameter that varies) is left out: the caller lists what it got."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise MissingPlotDependency("--plot needs matplotlib: pip install 'rfsearch[plot]'") from None
    from optuna.exceptions import ExperimentalWarning
    from optuna.trial import TrialState
    from optuna.visualization import matplotlib as vis

    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    out: Dict[str, bytes] = {}
    if not complete:
        return out
    multi = len(objective) > 1
    with warnings.catch_warnings():
        # optuna.visualization.matplotlib is experimental in Optuna 5: used on purpose for --plot.
        warnings.filterwarnings("ignore", category=ExperimentalWarning)
        # With a target (one objective of several) PED-ANOVA reminds that it explains low values:
        # every objective here is minimised, so that is what is wanted.
        warnings.filterwarnings("ignore", message="PedAnovaImportanceEvaluator computes the importances of params to "
                                "achieve low", category=UserWarning)  # fmt: skip
        for k, name in enumerate(objective):
            suffix = f"_{name}" if multi else ""
            target: Optional[Callable[[Any], float]] = (lambda t, k=k: t.values[k]) if multi else None
            out[f"history{suffix}.png"] = _png(vis.plot_optimization_history, study, target=target, target_name=name)
            varied = _varied_params(complete)
            if len(complete) >= 2 and varied:
                out[f"importances{suffix}.png"] = _png(vis.plot_param_importances, study, target=target,
                                                       target_name=name, params=varied)  # fmt: skip
        if multi and len(objective) <= 3:
            out["pareto_front.png"] = _png(vis.plot_pareto_front, study, target_names=list(objective))
    return out


def _varied_params(trials: Sequence[Any]) -> List[str]:
    """Parameters that take at least two values over the trials (importances need variation)."""
    seen: Dict[str, set[Any]] = {}
    for t in trials:
        for name, value in t.params.items():
            seen.setdefault(name, set()).add(value)
    return sorted(name for name, values in seen.items() if len(values) > 1)
