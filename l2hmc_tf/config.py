"""Run configuration: one typed schema with defaults, read from YAML, overridable with --set.

Every key is documented here with its default. Validation (pydantic, strict: no unknown keys,
no silent type coercion) happens before any work starts, and errors are one line naming the
key: `training.steps: must be >= 1 (got -5)`. The resolved config is written into each run
directory, so any run can be repeated from that directory alone.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Literal, Optional

import yaml
from pydantic import (BaseModel, ConfigDict, Field, ValidationError, field_validator,
                      model_validator)

from . import atomic
from .checks import check_shape


class ConfigError(ValueError):
    """A configuration problem, worded for the command line."""


# The allowed values of every choice, defined once; the modules that act on them read these.
# conv: any lattice size; mlp: the paper's dense net; gauge: gauge-equivariant, plaquette
# inputs (sides multiples of 4); scalar: tempered HMC, no network
NetworkKind = Literal["conv", "mlp", "gauge", "scalar"]
Activation = Literal["relu", "swish", "tanh", "gelu", "elu", "softplus"]
LossForm = Literal["standard", "mixed"]     # mixed: w/l - l/w keeps gradients alive
AnnealingKind = Literal["linear", "geometric", "steps", "none"]
LrDecay = Literal["none", "cosine", "exponential"]
FloatType = Literal["float32", "float64"]
# leapfrog: one force evaluation per step; 2mn: the minimum-norm (Omelyan) scheme, two
Integrator = Literal["leapfrog", "2mn"]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class LatticeConfig(Section):
    size: tuple[int, int] = (8, 8)          # Lt, Lx (even: checkerboard masks)

    @field_validator("size")
    @classmethod
    def _even(cls, size):
        return check_shape(*size, even=True)


class DynamicsConfig(Section):
    n_leapfrog: int = Field(4, ge=1)        # layers (integrator steps) per trajectory (N_LF)
    step_size: float = Field(0.2, gt=0)     # initial eps_x = eps_v of every layer
    train_step_size: bool = True            # eps_x, eps_v trainable per layer
    share_networks: bool = False            # one set of networks for all layers
    instanton: bool = False                 # shift x -> x + d A mid-trajectory (2D U(1) only)
    # gauge kind: layer N_LF-1-k reuses layer k's networks, so forward and backward chains
    # share every network call and one pass serves both directions (half the calls)
    mirror_networks: bool = False
    dtype: FloatType = "float32"
    # the scheme of each step of HMC and the scalar kind (2mn: two force evaluations a step);
    # networks of kind conv, mlp and gauge run leapfrog layers
    integrator: Integrator = "leapfrog"


class NetworkConfig(Section):
    """Architecture of every Gamma (v) and Lambda (x) network of a model."""
    kind: NetworkKind = "conv"
    units: tuple[int, ...] = Field((8, 8), min_length=1)   # hidden channels (conv) / units (mlp)
    activation: Activation = "swish"
    init_scale: float = Field(0.1, ge=0)    # head weight scale: small = starts near leapfrog
    kernel_size: int = Field(3, ge=1)       # conv and gauge; odd
    x_subupdates: int = Field(8, ge=1, le=8)    # gauge: x sub-updates with a network per layer
    # gauge: layer k starts at sub-update (k * x_subupdates) mod 8, so that over a trajectory
    # the networks move every link (false: every layer uses the first x_subupdates)
    rotate_subupdates: bool = False
    # false: no Gamma network; each layer's v-updates temper with two trained numbers, as
    # the scalar kind does, and only the x-updates have networks (half the network calls)
    v_network: bool = True
    # gauge: the layers (0-based) that have networks; the others are tempered leapfrog
    # layers with the scalar kind's two numbers (null: every layer has networks)
    network_layers: Optional[tuple[int, ...]] = Field(None, min_length=1)

    @model_validator(mode="after")
    def _options_of_their_kind(self):
        if self.rotate_subupdates and self.kind != "gauge":
            raise ValueError(f"rotate_subupdates applies to kind gauge, not {self.kind}")
        if self.network_layers is not None and self.kind != "gauge":
            raise ValueError(f"network_layers applies to kind gauge, not {self.kind}")
        if self.network_layers is not None and (
                len(set(self.network_layers)) != len(self.network_layers)
                or min(self.network_layers) < 0):
            raise ValueError(f"network_layers must be distinct layer indices >= 0, got "
                             f"{list(self.network_layers)}")
        if not self.v_network and self.kind == "scalar":
            raise ValueError("v_network: the scalar kind has no networks to switch off")
        return self

    @field_validator("units")
    @classmethod
    def _positive_units(cls, units):
        if any(u < 1 for u in units):
            raise ValueError(f"units must be positive, got {units}")
        return units

    @field_validator("kernel_size")
    @classmethod
    def _odd(cls, size):
        if size % 2 == 0:
            raise ValueError(f"kernel_size must be odd, got {size}")
        return size


class LossConfig(Section):
    charge_weight: float = Field(1.0, ge=0)     # w_Q on A * (Q_R' - Q_R)^2
    plaq_weight: float = Field(0.0, ge=0)       # w_P on A * sum_P 2(1 - cos(x'_P - x_P))
    form: LossForm = "standard"
    eps: float = Field(1e-4, gt=0)              # regulator of the mixed form


class AnnealingConfig(Section):
    kind: AnnealingKind = "linear"
    beta_start: float = Field(2.0, gt=0)        # beta at step 0 (ignored by kind=none)
    beta_final: float = Field(3.0, gt=0)        # target beta; gamma_t = beta_t / beta_final
    stages: int = Field(5, ge=1)                # plateaus of kind=steps


class TrainingConfig(Section):
    steps: int = Field(400, ge=1)
    chains: int = Field(64, ge=1)               # per rank
    seed: int = 0                               # rank r uses seed + r
    lr: float = Field(3e-3, gt=0)
    lr_warmup_steps: int = Field(0, ge=0)
    lr_decay: LrDecay = "none"
    lr_decay_rate: float = Field(0.1, gt=0)     # final lr = lr * rate (cosine, exponential)
    scale_lr_with_ranks: bool = False           # lr * n_ranks under Horovod
    clip_norm: Optional[float] = Field(1.0, gt=0)   # global-norm gradient clipping; null: off
    max_nan_steps: int = Field(10, ge=1)        # stop after this many non-finite steps in a row
    log_every: int = Field(25, ge=1)
    init_from: Optional[str] = None             # trained run dir whose weights start this run
    # true: init_from may have another layout; each layer takes the parts of the source
    # layer (step sizes, each network) whose names and shapes agree: a cheaper layout from a
    # trained one
    init_partial: bool = False
    # with init_partial: layer k starts from init_from's layer k - offset, so a longer
    # trajectory keeps the trained layers in its middle; the layers outside start fresh
    init_layer_offset: int = Field(0, ge=0)
    hmc_therm: int = Field(0, ge=0)             # HMC trajectories at beta_start before step 1


class CheckpointConfig(Section):
    every: int = Field(100, ge=1)
    keep: int = Field(3, ge=1)


class EvaluationConfig(Section):
    steps: int = Field(300, ge=0)               # 0: no evaluation after training
    chains: int = Field(64, ge=1)
    therm: int = Field(30, ge=0)
    compare_hmc: bool = True                    # also run HMC at identical settings
    hmc_step_size: Optional[float] = Field(None, gt=0)   # null: dynamics.step_size
    hmc_integrator: Optional[Integrator] = None          # null: dynamics.integrator


class Config(Section):
    lattice: LatticeConfig = LatticeConfig()
    dynamics: DynamicsConfig = DynamicsConfig()
    network: NetworkConfig = NetworkConfig()
    loss: LossConfig = LossConfig()
    annealing: AnnealingConfig = AnnealingConfig()
    training: TrainingConfig = TrainingConfig()
    checkpoint: CheckpointConfig = CheckpointConfig()
    evaluation: EvaluationConfig = EvaluationConfig()

    def to_dict(self) -> dict:
        return self.model_dump(mode="json")

    def architecture(self) -> dict:
        """The keys that fix the shapes of a model's weights: a trained model can start
        another run only where these agree (mlp weights also depend on the lattice)."""
        arch = {"dynamics.n_leapfrog": self.dynamics.n_leapfrog,
                "dynamics.share_networks": self.dynamics.share_networks,
                "dynamics.dtype": self.dynamics.dtype, "network.kind": self.network.kind,
                "dynamics.mirror_networks": self.dynamics.mirror_networks,
                "network.units": self.network.units,
                "network.kernel_size": self.network.kernel_size}
        if self.network.kind == "mlp":
            arch["lattice.size"] = self.lattice.size
        if self.network.kind == "gauge":
            arch["network.x_subupdates"] = self.network.x_subupdates
        if not self.network.v_network:
            arch["network.v_network"] = False
        if self.network.network_layers is not None:
            arch["network.network_layers"] = self.network.network_layers
        return arch

    @model_validator(mode="after")
    def _mirrored_gauge(self):
        if self.dynamics.mirror_networks and (self.network.kind != "gauge"
                                              or self.dynamics.share_networks):
            raise ValueError("dynamics.mirror_networks needs network.kind gauge and "
                             "dynamics.share_networks false")
        return self

    @model_validator(mode="after")
    def _network_layers_exist(self):
        layers = self.network.network_layers
        if layers is not None and max(layers) >= self.dynamics.n_leapfrog:
            raise ValueError(f"network.network_layers {list(layers)}: the model has layers 0 "
                             f"to {self.dynamics.n_leapfrog - 1} (dynamics.n_leapfrog)")
        if layers is not None and (self.dynamics.mirror_networks or self.dynamics.share_networks):
            raise ValueError("network.network_layers needs dynamics.mirror_networks and "
                             "dynamics.share_networks false")
        return self

    @model_validator(mode="after")
    def _layer_offset_is_partial(self):
        offset = self.training.init_layer_offset
        if offset and not (self.training.init_partial and self.training.init_from):
            raise ValueError(f"training.init_layer_offset {offset} moves the layers of "
                             "training.init_from: set init_from and init_partial true")
        if offset >= self.dynamics.n_leapfrog:
            raise ValueError(f"training.init_layer_offset {offset}: the model has layers 0 to "
                             f"{self.dynamics.n_leapfrog - 1} (dynamics.n_leapfrog)")
        return self

    @model_validator(mode="after")
    def _gauge_lattice(self):
        if self.network.kind == "gauge" and any(side % 4 for side in self.lattice.size):
            raise ValueError(f"lattice.size {list(self.lattice.size)}: network.kind gauge "
                             "needs sides that are multiples of 4")
        return self


def check_trainable(cfg: Config) -> None:
    """What a config needs to build a trained model, beyond what HMC needs from it (bin/infer.py
    --hmc reads only its lattice and dynamics): network layers are leapfrog steps."""
    if cfg.dynamics.integrator != "leapfrog" and cfg.network.kind != "scalar":
        raise ConfigError(f"dynamics.integrator {cfg.dynamics.integrator}: network kind "
                          f"{cfg.network.kind} has leapfrog layers; the {cfg.dynamics.integrator} "
                          "integrator runs HMC (bin/infer.py --hmc) and network.kind scalar")


def _one_line(err: ValidationError) -> str:
    first = err.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "config"
    msg = first["msg"]
    if first["type"] == "extra_forbidden":
        msg = "unknown key; see l2hmc_tf/config.py for the allowed keys"
    given = first.get("input")
    extra = "" if isinstance(given, dict) else f" (got {given!r})"
    more = len(err.errors()) - 1
    return f"{where}: {msg}{extra}" + (f"; and {more} more problem(s)" if more else "")


def _lists_to_tuples(node):
    if isinstance(node, dict):
        return {k: _lists_to_tuples(v) for k, v in node.items()}
    if isinstance(node, list):
        return tuple(_lists_to_tuples(v) for v in node)
    return node


def from_dict(data: dict) -> Config:
    """Validate a nested dict (YAML-shaped) into a Config."""
    if not isinstance(data, dict):
        raise ConfigError(f"config must be a mapping of sections, got {type(data).__name__}")
    try:
        return Config.model_validate(_lists_to_tuples(data))
    except ValidationError as err:
        raise ConfigError(_one_line(err)) from None


def apply_overrides(data: dict, overrides: list[str]) -> dict:
    """Apply 'section.key=value' strings (values parsed as YAML) to a nested dict."""
    data = {k: dict(v) if isinstance(v, dict) else v for k, v in data.items()}
    for item in overrides:
        key, sep, raw = item.partition("=")
        parts = key.strip().split(".")
        if not sep or len(parts) != 2 or not all(parts):
            raise ConfigError(f"--set {item!r}: expected section.key=value")
        section, name = parts
        if section not in Config.model_fields:
            raise ConfigError(f"--set {key}: unknown section {section!r}")
        data.setdefault(section, {})[name] = _yaml_value(raw)
    return data


_EXPONENT_FLOAT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+")


def _yaml_value(raw: str):
    """A --set value as YAML, except that 2e-4 is the number people mean (YAML 1.1 reads a
    mantissa without a dot as a string, and the config would then refuse it)."""
    text = raw.strip()
    return float(text) if _EXPONENT_FLOAT.fullmatch(text) else yaml.safe_load(raw)


def load(path: str | Path | None, overrides: list[str] = ()) -> Config:
    """Read a YAML config (None: the built-in defaults) and apply overrides."""
    data = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist")
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as err:
            raise ConfigError(f"config file {path} is not valid YAML: {err}") from None
    return from_dict(apply_overrides(data, list(overrides)))


def dump(config: Config, path: str | Path) -> None:
    """Write the resolved config as YAML (atomically)."""
    atomic.write_text(path, yaml.safe_dump(config.to_dict(), sort_keys=False))
