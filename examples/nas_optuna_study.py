"""A NAS study in Optuna whose trials train models: RF targets as constraints, no wasted trial.

`suggest_stack` samples a stack of a search space inside the objective (define-by-run). With
feasible_only=True every stack meets the space's RF, jump and output-size targets by
construction (the exact counter repairs each choice that has no feasible continuation), so no
training run is spent on an architecture that can never meet them; every constraint is also
set on the trial (`trial.set_constraint`, graded). "Training" here is a stand-in score.

    python examples/nas_optuna_study.py
"""

from pathlib import Path

import optuna

from rfsearch import suggest_stack
from rfsearch.search import load_space

optuna.logging.set_verbosity(optuna.logging.WARNING)
space = load_space(Path(__file__).resolve().parent / "spaces" / "imagenet_stem.yaml")


def train_and_evaluate(layers) -> float:
    """Stand-in for building the network from `layers`, training it and returning its accuracy."""
    return 0.70 + 0.01 * len(layers) - 0.02 * sum(layer.kind == "maxpool" for layer in layers)


def objective(trial: optuna.Trial) -> float:
    entry = suggest_stack(trial, space, feasible_only=True)  # also: constraints, user attrs
    return train_and_evaluate(entry.layers)


study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=0))
study.optimize(objective, n_trials=30)
print(f"best: {study.best_trial.user_attrs['stack']}  (accuracy {study.best_value:.2f})")
for trial in study.trials:  # every trial met every target: nothing was trained in vain
    assert trial.constraints and all(v <= 0 for v in trial.constraints.values())
print(f"{len(study.trials)} trials, all feasible; constraint keys: {sorted(study.trials[0].constraints)}")
