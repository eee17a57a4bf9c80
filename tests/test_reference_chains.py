"""The chains of fixed seeds are those recorded in tests/data/reference_chains.json.

Recorded before dynamics.py was split into model, kernel, driver and starts, so the split
(and any later refactoring) is shown to leave every random draw, proposal and acceptance
where it was: HMC with both integrators, instanton proposals, and committed trained models
of the scalar, conv and gauge kinds, each from an equilibrium start. The charges must match
exactly, the plaquette to 1e-6 and the acceptance probabilities to 1e-4: the float32
round-off of another CPU's kernels (on the recording machine they match bit for bit).
Record again only for an intended change of the chains: python -m tests.test_reference_chains
"""
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from l2hmc_tf import checkpoints, driver, starts
from l2hmc_tf.kernel import Sampler
from l2hmc_tf.model import hmc

ROOT = Path(__file__).resolve().parents[1]
RECORD = Path(__file__).with_name("data") / "reference_chains.json"
CHAINS, STEPS, SEED = 6, 8, 11
CASES = {   # name: (model, beta, lattice, instanton moves per trajectory)
    "hmc-leapfrog": (("hmc", 4, 0.2, "leapfrog"), 3.0, (8, 8), 0),
    "hmc-2mn-instanton": (("hmc", 3, 0.3, "2mn"), 4.0, (8, 8), 1),
    "b4-scalar": ("models/b4-scalar", 4.0, (8, 8), 0),
    "b4-scalar-instanton": ("models/b4-scalar-instanton", 4.0, (8, 8), 0),
    "b4-conv": ("models/b4-conv", 4.0, (12, 12), 0),
    "b7-gauge2": ("models/b7-gauge2", 7.0, (16, 16), 0),
}


def run_case(name: str) -> dict:
    """CHAINS chains of STEPS trajectories of one case, as lists."""
    model, beta, shape, moves = CASES[name]
    if isinstance(model, tuple):
        _, n_leapfrog, step, integrator = model
        dyn = hmc(shape, n_leapfrog, step, integrator=integrator)
    else:
        dyn, _ = checkpoints.load_model(ROOT / model)
    start = starts.equilibrium_chains(dyn, beta, CHAINS, shape, SEED)
    _, history = driver.sample_chain(Sampler(dyn, seed=SEED, instanton_moves=moves), start,
                                     beta, STEPS)
    return {"charge_int": np.rint(history.charge_int).astype(int).tolist(),
            "accept_prob": history.accept_prob.tolist(), "plaq": history.plaq.tolist()}


@pytest.mark.parametrize("name", sorted(CASES))
def test_chains_are_the_recorded_ones(name):
    recorded = json.loads(RECORD.read_text())[name]
    now = run_case(name)
    assert now["charge_int"] == recorded["charge_int"]
    np.testing.assert_allclose(now["plaq"], recorded["plaq"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(now["accept_prob"], recorded["accept_prob"], rtol=0, atol=1e-4)


if __name__ == "__main__":
    RECORD.write_text(json.dumps({name: run_case(name) for name in CASES}) + "\n")
    print(f"recorded {len(CASES)} cases in {RECORD}", file=sys.stderr)
