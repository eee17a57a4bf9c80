#!/usr/bin/env python
"""Mutation check: does the test suite fail whenever exactness, or a reported figure, breaks?

    .venv/bin/python scripts/mutation_check.py [--only NAME ...] [--tests ID ...] [--every]
        [--list]

Applies each deliberate defect below, one at a time, to a temporary copy of the package and
its tests, runs the fast exactness tests there (for a defect in a reported figure, the
figures' tests STATS_TESTS; pytest -x: the first failure is the catch), and prints one line
per defect: `caught` and the test that failed, or `SURVIVED` (`--every`:
run all the tests and name every one that failed; `--tests`: run these instead). It ends with
`N of N caught` and exits 1 if any defect survived or no longer applies to the code (a
mutation whose text is not found exactly once is an error, not a pass). Not part of CI: it
takes about as many minutes as there are defects. docs/testing.md explains the results.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = ["tests/test_transition.py", "tests/test_leapfrog.py", "tests/test_instanton.py",
         "tests/test_gauge.py", "tests/test_schemes.py",
         "tests/test_training.py::test_a_training_step_is_the_sampler_transition",
         "tests/test_hmc.py::test_hmc_reversibility_in_float64",
         "tests/test_hmc.py::test_transition_traces_once_and_reports_metrics"]


@dataclass(frozen=True)
class Mutation:
    name: str
    path: str       # relative to the repository
    old: str        # must occur exactly once
    new: str
    select: str = ""    # pytest -k expression: run only these tests (a kind's own)
    tests: tuple[str, ...] = ()     # run these instead (the statistics' own tests)


MODEL, KERNEL, STARTS = "l2hmc_tf/model.py", "l2hmc_tf/kernel.py", "l2hmc_tf/starts.py"
LAYERS, TRAIN = "l2hmc_tf/layers.py", "l2hmc_tf/training.py"
SCHEMES = "l2hmc_tf/schemes.py"
INTEGRATORS = "l2hmc_tf/integrators.py"
INFERENCE, SUMMARY = "l2hmc_tf/inference.py", "l2hmc_tf/summary.py"
AUTOCORR = "l2hmc_tf/autocorr.py"
EXACT, OBSERVABLES = "l2hmc_tf/exact.py", "l2hmc_tf/observables.py"
MEASURE, DRIVER = "l2hmc_tf/measure.py", "l2hmc_tf/driver.py"
ENSEMBLES = "tests/test_ensembles.py::"
COMPARE, REPORT = "l2hmc_tf/compare.py", "benchmarks/report.py"
# The reported figures' tests: values known by hand (test_figures.py), AR(1) tau_int, pairing.
STATS_TESTS = ("tests/test_figures.py", "tests/test_autocorr.py",
               "tests/test_inference.py::test_per_chain_sokal_estimator_on_ar1_chains",
               "tests/test_inference.py::test_summaries_say_how_many_tau_int_long_the_chains_were",
               "tests/test_inference.py::"
               "test_compare_pairs_every_sampler_with_the_strongest_plain_hmc",
               "tests/test_inference.py::"
               "test_a_window_cut_short_is_reported_as_a_lower_bound_and_cannot_shorten_the_chains")


def stats(name: str, path: str, old: str, new: str) -> "Mutation":
    """A defect in a reported figure, checked by the figures' tests."""
    return Mutation(name, path, old, new, tests=STATS_TESTS)


def ensembles(name: str, path: str, old: str, new: str, test: str) -> "Mutation":
    """A defect in the ensembles' code (issue 29), checked by its own test in
    tests/test_ensembles.py."""
    return Mutation(name, path, old, new, tests=(ENSEMBLES + test,))


MUTATIONS = [
    Mutation("Jacobian dropped from the MH acceptance", KERNEL,
             "            + proposal.logdet)", "            + 0.0 * proposal.logdet)"),
    Mutation("log-det sign flipped in the MH acceptance", KERNEL,
             "            + proposal.logdet)", "            - proposal.logdet)"),
    Mutation("kinetic energy of the proposal taken from the initial momenta", KERNEL,
             "kinetic_energy(proposal.v)", "kinetic_energy(v)"),
    Mutation("biased direction coin, P(d=+1) = 0.7", KERNEL,
             "tf.where(coin < 0.5,", "tf.where(coin < 0.7,"),
    Mutation("direction always +1", KERNEL,
             "tf.where(coin < 0.5,", "tf.where(coin < 2.0,"),
    Mutation("momenta not fully refreshed (drawn with variance 0.81)", KERNEL,
             "    v = rng.normal(tf.shape(x), dtype=x.dtype)",
             "    v = 0.9 * rng.normal(tf.shape(x), dtype=x.dtype)"),
    Mutation("observables of the proposal recorded instead of the accepted state", KERNEL,
             "return self.after.where(self.accepted, self.before)", "return self.after"),
    Mutation("MH step skipped in training (chains advance to every proposal)", TRAIN,
             "        self.x = step.x_new", "        self.x = step.proposal.x"),
    Mutation("reference defect: backward x-update uses the first half's network", LAYERS,
             "heads = self.networks[1 + which](features)",
             "heads = self.networks[1 + (which if forward else 0)](features)"),
    Mutation("reference defect: backward undoes the scaling before the shift", LAYERS,
             "        shifted = lattice.wrap(x - shift)\n"
             "        new = lattice.wrap(circle_scale(shifted, -scale))\n"
             "        logdet = circle_scale_logdet(shifted, -scale)",
             "        shifted = lattice.wrap(circle_scale(x, -scale))\n"
             "        new = lattice.wrap(shifted - shift)\n"
             "        logdet = circle_scale_logdet(x, -scale)"),
    Mutation("wrong log-det factor of the v-update (eps instead of eps/2)", LAYERS,
             "logdet = sum_links(half * heads.s)", "logdet = sum_links(2 * half * heads.s)"),
    Mutation("stale force in the kick after a drift", LAYERS,
             "            x, ld_x = self._x_steps(x, v, forward, drift * self.eps_x)\n"
             "            force = lattice.force(x, beta)\n",
             "            x, ld_x = self._x_steps(x, v, forward, drift * self.eps_x)\n"),
    Mutation("x-network fed the links it updates", LAYERS,
             "self.encode(x, 1.0 - update_mask)", "self.encode(x)"),
    Mutation("instanton layer not mirrored in the backward direction", MODEL,
             "half = self.n_leapfrog // 2 if forward else self.n_leapfrog - self.n_leapfrog // 2",
             "half = self.n_leapfrog // 2"),
    Mutation("instanton proposals taken without the Metropolis test", KERNEL,
             "accept_probability(current.action - after.action)",
             "accept_probability(0.0 * after.action)"),
    Mutation("instanton proposals always shift by +A (sign coin ignored)", KERNEL,
             "proposed = lattice.wrap(x + random_signs(rng, x)[:, None, None, None] * field)",
             "proposed = lattice.wrap(x + 0.0 * random_signs(rng, x)[:, None, None, None] "
             "+ field)"),
    Mutation("instanton shift applied with the wrong sign backward", MODEL,
             "x = lattice.wrap(x + field if forward else x - field)",
             "x = lattice.wrap(x + field)"),
    Mutation("gauge: wrong sign sigma_1 of a mu=1 link in its plaquette", LAYERS,
             "sigma = tf.constant([1.0, -1.0], x.dtype)",
             "sigma = tf.constant([1.0, 1.0], x.dtype)"),
    Mutation("gauge: x-network fed an active plaquette (frozen rows off by one)", LAYERS,
             "return tf.cast((rel == 1) | (rel == 2), dtype)[..., None]",
             "return tf.cast((rel == 0) | (rel == 1), dtype)[..., None]"),
    Mutation("gauge: backward sub-update reads the plaquette before removing the shift", LAYERS,
             "    phi = lattice.plaquette_angles(y)[..., None]",
             "    phi = lattice.plaquette_angles(x)[..., None]"),
    Mutation("gauge: drifted links skipped in the backward direction", LAYERS,
             "        if not forward:\n            x = lattice.wrap(x - drift)",
             "        if not forward:\n            x = lattice.wrap(x - 0.0 * drift)"),
    Mutation("x-update scales the links it does not update (mask dropped)", LAYERS,
             "    scale = update_mask * eps * heads.s", "    scale = eps * heads.s"),
    Mutation("gauge: inactive links shifted too (mask dropped from the shift)", LAYERS,
             "    shift = active * x_shift(v, eps, heads)", "    shift = x_shift(v, eps, heads)"),
    Mutation("gauge rotation: the drift skips the rotated sub-updates' complement", LAYERS,
             "self.drift_subupdates = order[len(x_nets):]",
             "self.drift_subupdates = list(SUBUPDATES[len(x_nets):])"),
    Mutation("mirrored: backward chains drift with the forward layer's step size",
             INTEGRATORS, "eps_x = _per_chain(f, fwd_layer.eps_x, bwd_layer.eps_x)",
             "eps_x = fwd_layer.eps_x"),
    Mutation("mirrored: backward chains undo the forward layer's drift links", INTEGRATORS,
             "x = lattice.wrap(x - (1.0 - f) * eps_x * v * bwd_layer._drift_mask(x))",
             "x = lattice.wrap(x - (1.0 - f) * eps_x * v * fwd_layer._drift_mask(x))"),
    Mutation("scalar kind: Jacobian dropped (only the scalar kind's tests run)", KERNEL,
             "            + proposal.logdet)", "            + 0.0 * proposal.logdet)",
             select="scalar"),
    Mutation("scalar kind: wrong log-det factor of its momentum scaling (scalar tests only)",
             INTEGRATORS, "logdet = links * tf.add_n(", "logdet = 2.0 * links * tf.add_n(",
             select="scalar"),
    Mutation("scalar kind: backward v-update adds the kick after undoing the scaling (scalar "
             "tests only)", INTEGRATORS, "return -hs, kick * tf.exp(-hs)",
             "return -hs, kick", select="scalar"),
    Mutation("fast path: kicks merged across steps without the second kick's scaling",
             INTEGRATORS, "tf.exp(second[0]) * first[1] + second[1]",
             "first[1] + second[1]", select="scalar"),
    Mutation("2MN: lambda 1/4 (two leapfrog half-steps), not the minimum-norm value", SCHEMES,
             "OMELYAN_LAMBDA = 0.1931833275037836", "OMELYAN_LAMBDA = 0.25"),
    Mutation("2MN: middle kick 1 - lambda (the kicks no longer sum to one step)", SCHEMES,
             "1.0 - 2.0 * OMELYAN_LAMBDA, OMELYAN_LAMBDA)",
             "1.0 - OMELYAN_LAMBDA, OMELYAN_LAMBDA)"),
    Mutation("2MN fast path: every kick taken as a leapfrog half-step", INTEGRATORS,
             "    h = weight * layer.eps_v", "    h = 0.5 * layer.eps_v"),
    Mutation("2MN: one force evaluation counted per step", MODEL,
             "return self.n_leapfrog * self.scheme.forces_per_step",
             "return self.n_leapfrog"),
    Mutation("equilibrium start's HMC on the stream of a sampler with the same seed", STARTS,
             "return int(np.random.SeedSequence([seed, _THERMALIZATION_STREAM])",
             "return seed or int(np.random.SeedSequence([seed, _THERMALIZATION_STREAM])",
             tests=("tests/test_hmc.py::test_a_sampler_seeded_like_its_equilibrium_start_"
                    "samples_the_exact_plaquette_at_once",)),
    ensembles("exact Wilson loop: the enclosed plaquettes shifted by two representations",
              EXACT, "np.log(special.ive(n + 1, beta))", "np.log(special.ive(n + 2, beta))",
              "test_exact_wilson_loops_agree_with_direct_integration"),
    ensembles("exact Creutz ratio: W(R-1, T) and W(R, T-1) in the numerator", EXACT,
              "return -math.log(w(r, t) * w(r - 1, t - 1) / (w(r, t - 1) * w(r - 1, t)))",
              "return -math.log(w(r, t - 1) * w(r - 1, t) / (w(r, t) * w(r - 1, t - 1)))",
              "test_exact_wilson_loops_obey_the_area_law_in_a_large_volume"),
    ensembles("Wilson loop measured in one orientation only", OBSERVABLES,
              "return 0.5 * (_rectangles(angles, t, r) + _rectangles(angles, r, t))",
              "return _rectangles(angles, t, r)",
              "test_wilson_loop_is_the_product_of_the_links_around_the_rectangle"),
    ensembles("measured Creutz ratio with its sign flipped", MEASURE,
              "return -np.log(w[0] * w[1] / (w[2] * w[3]))",
              "return np.log(w[0] * w[1] / (w[2] * w[3]))",
              "test_measured_wilson_loops_and_creutz_ratios_match_exact"),
    ensembles("measurement keeps the thermalisation the inference run dropped", MEASURE,
              'first = int(np.searchsorted(trajectory, thermalization, side="right"))',
              "first = 0",
              "test_the_saved_ensemble_remeasured_equals_what_inference_reported"),
    ensembles("configurations saved one trajectory early", DRIVER,
              "if save_every and step % save_every == 0:",
              "if save_every and (step + 1) % save_every == 0:",
              "test_save_every_keeps_every_nth_trajectory_and_records_its_source"),
    Mutation("jackknife over chains without its (n - 1) factor", AUTOCORR,
             "spread = float(math.sqrt((chains - 1) * np.var(leave_one_out)))",
             "spread = float(math.sqrt(np.var(leave_one_out)))",
             tests=("tests/test_autocorr.py::test_a_function_of_means_carries_its_errors_and_"
                    "correlations",)),
    stats("figures: <dQ_Z^2> taken as the mean |dQ_Z|", INFERENCE,
          "jumps = np.diff(charge, axis=0) ** 2", "jumps = np.abs(np.diff(charge, axis=0))"),
    stats("figures: predicted tau_int from 2 <Q^2> / <dQ^2> (a factor 2 lost)", INFERENCE,
          "predicted = 4.0 * q2_mean", "predicted = 2.0 * q2_mean"),
    stats("figures: tunneling rate taken as <dQ_Z^2>", INFERENCE,
          "tunneling_rate=float(np.mean(np.abs(np.diff(charge, axis=0))))",
          "tunneling_rate=float(np.mean(np.diff(charge, axis=0) ** 2))"),
    stats("figures: chain length counted in tau_int / 2", INFERENCE,
          "length = len(charge) / tau", "length = 2 * len(charge) / tau"),
    stats("figures: tau_int in pyerrors' convention (1/2 + sum rho)", AUTOCORR,
          "tau_int=2.0 * float(obs.e_tauint[name])", "tau_int=float(obs.e_tauint[name])"),
    stats("figures: Sokal estimate averaged over frozen chains too", AUTOCORR,
          "moving = data[:, np.ptp(data, axis=0) > 0]", "moving = data"),
    stats("figures: seconds per independent Q_Z as tau_int times the rate", SUMMARY,
          "return self.stats.tau_int_charge_int / self.trajectories_per_second",
          "return self.stats.tau_int_charge_int * self.trajectories_per_second"),
    stats("figures: N_LF * tau_int without N_LF", SUMMARY,
          "return self.force_evaluations * self.stats.tau_int_charge_int",
          "return self.stats.tau_int_charge_int"),
    stats("figures: 2MN's N_LF * tau_int counts one force evaluation a step", SUMMARY,
          "return self.n_leapfrog * SCHEMES[self.integrator].forces_per_step",
          "return self.n_leapfrog"),
    stats("figures: trajectory cost inverted (sampler / HMC rate)", SUMMARY,
          '"trajectory_cost": _ratio(hmc.trajectories_per_second,\n'
          '                                          l2.trajectories_per_second)',
          '"trajectory_cost": _ratio(l2.trajectories_per_second,\n'
          '                                          hmc.trajectories_per_second)'),
    stats("figures: gain per second taken as sampler / HMC", SUMMARY,
          '"seconds_gain": _ratio(hmc.tau_int_seconds_charge_int,\n'
          '                                       l2.tau_int_seconds_charge_int)',
          '"seconds_gain": _ratio(l2.tau_int_seconds_charge_int,\n'
          '                                       hmc.tau_int_seconds_charge_int)'),
    stats("errors: replica error over chains, not sqrt(chains)", AUTOCORR,
          "/ math.sqrt(len(means))) if len(means) > 1", "/ len(means)) if len(means) > 1"),
    stats("errors: the smaller of the Gamma-method and replica errors quoted", AUTOCORR,
          "return float(np.nanmax([self.error, self.replica_error]))",
          "return float(np.nanmin([self.error, self.replica_error]))"),
    stats("errors: chain length counted in the window's tau_int only", INFERENCE,
          "longest = max(tau, predicted) if np.isfinite(predicted) else tau",
          "longest = tau"),
    stats("compare: the first plain HMC given taken, not the strongest", COMPARE,
          "or _cost_per_charge(s) < _cost_per_charge(best[key][1])):",
          "or False):"),
    stats("compare: gain per second kept when the chains per rank differ", COMPARE,
          "if s.chains != base.chains:", "if s.chains != base.chains and False:"),
    stats("report: the interleaved cost multiplies the tau_int gain", REPORT,
          '"seconds_gain": r["tau_int_gain"] / cost', '"seconds_gain": r["tau_int_gain"] * cost'),
    stats("report: the targets take the worst row", REPORT,
          "return (min if lowest else max)(values)", "return (max if lowest else min)(values)"),
]


def mutated(mutation: Mutation, tree: Path) -> str:
    """The mutated text of mutation.path in tree; an error unless its text occurs once."""
    text = (tree / mutation.path).read_text()
    count = text.count(mutation.old)
    if count != 1:
        raise ValueError(f"mutation {mutation.name!r}: its text occurs {count} times in "
                         f"{mutation.path}; update scripts/mutation_check.py")
    return text.replace(mutation.old, mutation.new)


def apply(mutation: Mutation, tree: Path) -> None:
    (tree / mutation.path).write_text(mutated(mutation, tree))


def run_tests(tree: Path, tests: list[str], every: bool = False, select: str = "") -> str | None:
    """The failing tests' ids (the first one unless `every`), or None when all passed."""
    env = dict(os.environ, PYTHONPATH=str(tree), TF_CPP_MIN_LOG_LEVEL="3")
    stop = ([] if every else ["-x"]) + (["-k", select] if select else [])
    done = subprocess.run([sys.executable, "-m", "pytest", *stop, "-q", "-p", "no:cacheprovider",
                           "-o", "addopts=-rf", *tests], cwd=tree, env=env,
                          capture_output=True, text=True)
    if done.returncode == 0:
        return None
    if done.returncode == 5:
        raise ValueError(f"no test selected by {tests} -k {select!r}")
    failed = re.findall(r"^FAILED (\S+)", done.stdout, re.MULTILINE)
    return ", ".join(failed) if failed else f"pytest exit {done.returncode}: {done.stdout[-300:]}"


def check(mutation: Mutation, tests: list[str], every: bool) -> str | None:
    with tempfile.TemporaryDirectory(prefix="l2hmc-mutant-") as tmp:
        tree = Path(tmp)
        for name in ("l2hmc_tf", "tests", "benchmarks"):
            shutil.copytree(ROOT / name, tree / name,
                            ignore=shutil.ignore_patterns("__pycache__", "results"))
        for name in ("setup.cfg", "pyproject.toml"):
            shutil.copy(ROOT / name, tree / name)
        apply(mutation, tree)
        return run_tests(tree, list(mutation.tests) or tests, every, mutation.select)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--only", nargs="+", help="run the mutations whose name contains these")
    p.add_argument("--tests", nargs="+", default=TESTS, help="pytest ids to run (default: the "
                   "fast exactness tests)")
    p.add_argument("--every", action="store_true",
                   help="do not stop at the first failure; name every failing test")
    p.add_argument("--list", action="store_true", help="list the mutations and stop")
    args = p.parse_args(argv)
    chosen = [m for m in MUTATIONS
              if not args.only or any(word in m.name for word in args.only)]
    if args.list:
        print("\n".join(m.name for m in chosen))
        return 0
    for mutation in chosen:      # a stale mutation is an error before, not after, the runs
        mutated(mutation, ROOT)
    for tests in {tuple(m.tests) or tuple(args.tests) for m in chosen}:
        if run_tests(ROOT, list(tests)) is not None:
            print(f"the unmutated tests fail ({' '.join(tests)}); fix them first",
                  file=sys.stderr)
            return 2
    caught = 0
    for mutation in chosen:
        failed = check(mutation, args.tests, args.every)
        caught += failed is not None
        print(f"{'caught' if failed else 'SURVIVED':>8}  {mutation.name}"
              + (f"  (by {failed})" if failed else ""), flush=True)
    print(f"{caught} of {len(chosen)} caught")
    return 0 if caught == len(chosen) else 1


if __name__ == "__main__":
    sys.exit(main())
