"""The value of every reported figure, on inputs whose answer is known by hand.

Charge histories with jumps of 0, 1 and 2 (so <dQ_Z^2> and mean |dQ_Z| differ), summaries
with chosen tau_int and trajectory rates (so every gain is a hand-computed ratio), and the
report's gain columns and targets on rows written here. The AR(1) checks of tau_int itself
(Gamma-method and per-chain Sokal) are in test_autocorr.py and test_inference.py.
"""
import math
from dataclasses import replace

import numpy as np
import pytest

from benchmarks import report
from l2hmc_tf import compare, exact, inference
from l2hmc_tf.summary import ChainSummary, Comparison, History, Statistics

PERIOD = np.array([0, 1, 1, -1, -1, 0])   # jumps +1, 0, -2, 0, +1, then 0 into the next period


def periodic_charges(periods: int, chains: int = 4) -> np.ndarray:
    """Q_Z [steps, chains]: each chain runs PERIOD, shifted by its index (a chain's charge
    offset does not change its jumps). Over `periods` periods there are 6 periods - 1 jumps,
    whose squares sum to 6 per period (1 + 4 + 1) and whose sizes sum to 4 per period (1 + 2
    + 1)."""
    q = np.tile(PERIOD, periods)[:, None] + np.arange(chains)[None, :]
    return q.astype(float)


def test_topology_figures_of_a_charge_with_jumps_of_0_1_and_2():
    periods = 50
    q = periodic_charges(periods)
    n_jumps = 6 * periods - 1
    d = inference.topology_diagnostics(q, q2_mean=1.5)
    assert d["dq2_mean"] == pytest.approx(6 * periods / n_jumps)
    assert d["tau_int_predicted"] == pytest.approx(4 * 1.5 / d["dq2_mean"] - 1)
    history = History(q, q, np.full(q.shape, 0.5), np.full(q.shape, 0.25))
    stats = inference.summarize(history, (8, 8), 2.0)
    assert stats.tunneling_rate == pytest.approx(4 * periods / n_jumps)
    assert stats.dq2_mean == pytest.approx(6 * periods / n_jumps)
    q2_exact = exact.torus_observables(8, 8, 2.0)["q2"]          # not the chains' own <Q^2>
    assert stats.tau_int_predicted == pytest.approx(4 * q2_exact / stats.dq2_mean - 1)
    assert stats.accept_mean == pytest.approx(0.25) and stats.plaq_mean == pytest.approx(0.5)
    assert stats.q2_mean == pytest.approx(np.mean(q ** 2))


def test_dq2_error_of_independent_jumps_is_the_binomial_error():
    """Jumps of +-1 with probability p each trajectory, independently: dQ_Z^2 is Bernoulli(p),
    so <dQ_Z^2> = p with error sqrt(p (1 - p) / N), N the number of jumps; tau_int 1."""
    rng = np.random.default_rng(7)
    p, steps, chains = 0.3, 4001, 16
    jumps = rng.choice([-1, 0, 1], size=(steps - 1, chains), p=[p / 2, 1 - p, p / 2])
    q = np.concatenate([np.zeros((1, chains)), np.cumsum(jumps, axis=0)])
    d = inference.topology_diagnostics(q, q2_mean=1.0)
    n = (steps - 1) * chains
    binomial = math.sqrt(p * (1 - p) / n)
    assert abs(d["dq2_mean"] - p) < 4 * binomial
    assert d["dq2_err"] == pytest.approx(binomial, rel=0.1)


def test_frozen_charge_predicts_no_tau_int():
    q = np.zeros((40, 4))
    d = inference.topology_diagnostics(q, q2_mean=1.0)
    assert d["dq2_mean"] == 0 and d["tau_int_predicted"] == math.inf


def summary(sampler: str, tau: float, traj_per_s: float, n_lf: int = 8,
            chains: int = 32) -> ChainSummary:
    stats = replace(Statistics(*range(16)), tau_int_charge_int=tau,
                    tau_int_charge_int_err=tau / 10)
    return ChainSummary(sampler, 6.0, "16x16", n_lf, chains, 1000, 100, stats,
                        trajectories_per_second=traj_per_s)


def test_cost_figures_of_one_summary():
    s = summary("l2hmc", tau=12.0, traj_per_s=4.0, n_lf=6)
    assert s.nlf_tau_int_charge_int == pytest.approx(72.0)
    assert s.tau_int_seconds_charge_int == pytest.approx(3.0)    # 12 trajectories at 4 per s
    d = s.to_dict()
    assert d["nlf_tau_int_charge_int"] == pytest.approx(72.0)
    assert d["tau_int_seconds_charge_int"] == pytest.approx(3.0)


def test_gains_of_two_summaries_with_known_rates():
    """HMC: tau 400 at 200 trajectories/s (N_LF 8); sampler: tau 10 at 4 trajectories/s
    (N_LF 4). Gains are HMC / sampler: tau 40, N_LF tau 3200 / 40 = 80, seconds per
    independent Q_Z 2 / 2.5 = 0.8, and a sampler trajectory costs 50 HMC trajectories."""
    pair = Comparison(summary("l2hmc", 10.0, 4.0, n_lf=4), summary("hmc", 400.0, 200.0))
    gains = pair.gains()
    assert gains == pytest.approx({"tau_int_gain": 40.0, "nlf_tau_int_gain": 80.0,
                                   "seconds_gain": 0.8, "trajectory_cost": 50.0})
    row = pair.row()
    assert row["tau_int_hmc"] == 400.0 and row["tau_int_l2hmc"] == 10.0
    assert row["nlf_tau_int_hmc"] == pytest.approx(3200) and row["nlf_tau_int_l2hmc"] == 40
    assert row["tau_int_seconds_hmc"] == pytest.approx(2.0)
    assert row["tau_int_seconds_l2hmc"] == pytest.approx(2.5)
    assert row["seconds_gain"] == pytest.approx(0.8)


def test_compare_table_prints_the_ratios(tmp_path):
    rows, _ = compare.pair_rows([("hmc", summary("hmc", 400.0, 200.0)),
                                 ("run", summary("l2hmc", 10.0, 4.0))])
    line = compare.table(rows).splitlines()[2]
    cells = [c.split() for c in line.split("|")]
    assert cells[1] == ["400.00", "±", "40.00", "10.00", "±", "1.00", "40.00"]
    assert cells[2] == ["3200.0", "80.0", "40.00"]
    assert cells[3] == ["2.0000", "2.5000", "0.80"]


def report_row(tau_hmc=400.0, tau=10.0, cost=40.0, **extra) -> dict:
    pair = Comparison(summary("l2hmc", tau, 200.0 / cost), summary("hmc", tau_hmc, 200.0))
    return pair.row() | {"variant": "gauge", "run": "campaign/x", "command": "c"} | extra


def test_report_gain_columns_use_the_interleaved_cost(tmp_path):
    """A row whose trajectory cost was timed interleaved with HMC: gain per second = tau_int
    gain / that cost (here 40 / 25 = 1.6 instead of the in-run 40 / 40 = 1)."""
    row = report_row()
    assert row["seconds_gain"] == pytest.approx(1.0)
    timed = report.with_interleaved_cost([row], {report.row_name(row): 25.0})[0]
    assert timed["trajectory_cost"] == 25.0 and timed["seconds_gain"] == pytest.approx(1.6)
    table = "\n".join(report.tau_section([timed], {}, tmp_path, tmp_path)[:8])
    assert "| 1.60x |" in table and "| 3200.0 ± 320.0 | 80.0 ± 8.0 |" in table


def test_report_targets_pick_the_best_network_row_and_count_sigmas():
    """Network rows: N_LF tau 80 at gain per second 1, and 40 at 80 / 50 = 1.6; the HMC +
    instanton row (N_LF tau 16) is not a network and does not count."""
    rows = [report_row(tau=10.0), report_row(tau=5.0, cost=50.0), report_row(tau=2.0) |
            {"variant": "hmc", "instanton": True}]
    assert report._best(rows, "nlf_tau_int_l2hmc", 6.0, True, report.is_network) == 40.0
    assert report._best(rows, "seconds_gain", 6.0, False, report.is_network) == 1.6
    for r in rows:
        r.update(plaq_sigma_l2hmc=1.0, q2_sigma_l2hmc=-2.5, plaq_sigma_hmc=0.5,
                 q2_sigma_hmc=0.1)
    rows[1]["q2_sigma_hmc"] = 3.2
    assert report._within_3_sigma(rows)[1:] == ["11 of 12", "not met"]


def test_campaign_hours_count_each_run_once_at_its_newest_row():
    """Run a toward beta 6 screened twice (CPU 360 s, then 720 s), run b from before the CPU
    clock (wall 3,600 s), run c aimed at beta 5 and HMC: (720 + 3,600) s = 1.2 hours."""
    def screened(run, beta_final, steps, cpu, wall=1.0):
        return {"run": run, "beta": 6.0, "lattice": "16x16", "dq2": 0.01, "dq2_err": 0.001,
                "accept": 0.3, "nlf_tau_int_predicted": 100.0, "training_steps": steps,
                "train_seconds": wall, "train_cpu_seconds": cpu,
                "recipe": {"annealing": {"beta_final": beta_final}}}
    rows = [screened("a", 6.0, 100, 360.0), screened("a", 6.0, 200, 720.0),
            screened("b", 7.0, 50, None, wall=3600.0), screened("c", 5.0, 900, 9000.0),
            screened("hmc", 6.0, None, None) | {"recipe": None}]
    hours, runs = report.training_hours(rows, min_beta=6.0)
    assert hours == pytest.approx(1.2) and runs == ["a", "b"]
    assert "**1.20 CPU-hours** over 2 runs (a, b)" in "\n".join(
        report.campaign_section({"rows": rows}))
    # issue 27's subtotal: runs whose first row is an interleaved screen; run a, trained
    # before and screened again beside them, stays out of it; run e, aimed at beta 5, is in
    rows += [screened("d", 6.0, 400, 1800.0) | {"timing": "interleaved"},
             screened("a", 6.0, 200, 720.0) | {"timing": "interleaved"},
             screened("e", 5.0, 100, 900.0) | {"timing": "interleaved"}]
    assert [r["run"] for r in report.issue27_rows(rows)] == ["d", "e"]
    assert "at any beta: **0.75 CPU-hours** over 2 runs (d, e)" in "\n".join(
        report.campaign_section({"rows": rows}))


def test_precision_combines_seeds_by_inverse_variance_of_their_replica_errors():
    """benchmarks.precision's verdict on float32: two seeds 1.0 +- 0.1 and 1.3 +- 0.2 about an
    exact 1.2 combine to (1.0/0.01 + 1.3/0.04) / (1/0.01 + 1/0.04) = 1.06 +- sqrt(0.008),
    a pull of -0.14 / 0.0894, and chi^2 per seed ((-2)^2 + 0.5^2) / 2."""
    from benchmarks.precision import combine
    rows = [{"q2_mean": 1.0, "q2_err_replica": 0.1, "q2_exact": 1.2},
            {"q2_mean": 1.3, "q2_err_replica": 0.2, "q2_exact": 1.2}]
    c = combine(rows)
    assert c["q2_mean"] == pytest.approx(1.06) and c["q2_err"] == pytest.approx(math.sqrt(0.008))
    assert c["pull"] == pytest.approx(-0.14 / math.sqrt(0.008))
    assert c["chi2_per_seed"] == pytest.approx((4 + 0.25) / 2) and c["seeds"] == 2
