"""EM for Gaussian mixtures, recorded step by step.

The arithmetic (log-densities, the E- and M-steps, the public math such as
:func:`responsibilities`) lives in :mod:`tracelab.labs.em.mixture`, and its public
names are offered here too; this module runs EM with it and records every step.

:func:`trace_em` runs expectation-maximisation and returns a :class:`~tracelab.record.trace.Trace`
whose steps are :class:`EMSnapshot` instances: the start (phase ``"init"``), then an
``"E"`` and an ``"M"`` snapshot per iteration. The arithmetic follows scikit-learn's
``GaussianMixture`` (log space, Cholesky factors of the precisions, ``reg_covar`` on
the diagonal, ``10 * eps`` added to the component counts), so with the same start the
parameters agree with scikit-learn's to rounding.

Which responsibilities a snapshot carries
-----------------------------------------
A snapshot's responsibilities are the posterior ``p(component | x)`` under one set of
parameters, recomputed from ``X`` on demand (and kept in a small shared cache) rather
than stored, so a trace holds only small arrays:

* ``init`` and ``E`` steps: the posterior under the snapshot's own parameters (an
  ``E`` step holds the same parameters as the step before it; what it adds is the
  responsibilities and their log-likelihood).
* ``M`` steps: the responsibilities the M-step was computed from, i.e. those of the
  ``E`` step before it, the posterior under that step's parameters. The M snapshot
  stores those parameters in ``resp_means``, ``resp_covariances`` and
  ``resp_weights`` (``None`` on the other steps, meaning "my own").
  :attr:`EMSnapshot.responsibility_parameters` gives whichever set applies.

The recomputation runs the same code on the same numbers as the run itself, so the
responsibilities are bit for bit those the M-step used, and they survive JSON and
pickle round trips exactly.

All covariances are stored as full ``(k, d, d)`` matrices whatever the covariance type.
A trace from a file is checked with :func:`check_trace` before it is drawn.

Does the log-likelihood always rise?
------------------------------------
Without regularisation, yes: each M-step maximises the bound Q + H, which touches the
log-likelihood after each E-step. ``reg_covar`` (added to the variances, as in
scikit-learn) makes the M-step miss the maximiser of Q slightly, so the log-likelihood
can fall, by at most ``sum_k nk/2 sum_i [log(1 + u) - u/(1 + u)]`` with
``u = reg_covar / lambda_i`` over the eigenvalues ``lambda_i`` of each component's
scatter: nothing visible while variances are far above ``reg_covar``, and real only
when a component collapses, which the step's message then says. ``covariance_type=
"fixed"`` is never regularised. A positive ``reg_covar`` is raised to a floor of
1e-12 times the data's largest variance (:func:`effective_reg_covar`), below which it
would vanish in rounding; at ordinary scales the floor is inactive.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterator, NamedTuple

import numpy as np

from tracelab._validate import check_data as _check_data
from tracelab._validate import check_step_kind as _check_step_kind
from tracelab._validate import check_trace_data as _check_trace_data
from tracelab._validate import check_trace_header as _check_trace_header
from tracelab._validate import is_real as _is_real
from tracelab._validate import trace_problem as _trace_problem_in
from tracelab._validate import check_k as _check_k
from tracelab._validate import check_seed as _check_seed
from tracelab._validate import number as _number
from tracelab._validate import one_of as _one_of
from tracelab.labs.em.mixture import (
    COVARIANCE_TYPES,
    REG_COVAR_FLOOR,
    NotPositiveDefinite,
    Prepared,
    cached_responsibilities,
    covariance_of,
    effective_reg_covar,
    estep,
    estimate_parameters,
    evidence_lower_bound,
    list_components,
    log_likelihood,
    mstep,
    precision_cholesky,
    prepare,
    reg_covar_for,
    responsibilities,
    weighted_log_prob,
)
from tracelab.labs.kmeans.kmeans import kmeans_plusplus, lloyd
from tracelab.record.arrays import freeze
from tracelab.record.trace import Snapshot, Trace, collect
from tracelab.record.words import num as _num
from tracelab.record.words import points as _points

__all__ = [
    "COVARIANCE_TYPES",
    "INITS",
    "EMSnapshot",
    "trace_em",
    "iter_em",
    "check_trace",
    "weighted_log_prob",
    "responsibilities",
    "log_likelihood",
    "evidence_lower_bound",
    "estimate_parameters",
    "effective_reg_covar",
    "precision_cholesky",
    "REG_COVAR_FLOOR",
    "WORK_BUDGET",
    "max_samples",
    "work",
]

#: What one request may ask of EM, in the units of :func:`work`: about 5 s of one
#: core. The longest run it allows with 2 features: 20 000 points, 10 Gaussians and
#: 1 000 iterations (5.5 s).
WORK_BUDGET = 4.25e8


def _per_iteration(n_features: int) -> float:
    # What an iteration costs each Gaussian whatever the number of points (its Cholesky
    # factor, the step's record), in the units of one point with 2 features: measured
    # 0.04, 0.12 and 0.41 ms a Gaussian at 2, 20 and 50 features, written as an upper bound.
    return 2_000.0 + 200.0 * n_features + 0.15 * n_features**3


def work(n_samples: int, n_features: int, n_components: int, max_iter: int) -> float:
    """About how much work :func:`trace_em` may do, in the units of :data:`WORK_BUDGET`.

    Measured: the time grows with n_samples x n_components x max_iter and, through
    each Gaussian's Cholesky solve, about as 1 + n_features**2 / 4 per point (an upper
    bound: 20 features cost up to 50 times what 2 do), plus a part per iteration and
    Gaussian that does not shrink with the points (it grows as n_features**3).
    """
    per_point = 1.0 + n_features**2 / 4.0
    return float(n_components) * max_iter * (float(n_samples) * per_point + _per_iteration(n_features))


def max_samples(n_features: int, n_components: int, max_iter: int, budget: float | None = None) -> int:
    """The most points :func:`trace_em` may run on within ``budget`` (0 if none).

    Parameters
    ----------
    n_features, n_components, max_iter : int
    budget : float, optional
        Default :data:`WORK_BUDGET`.

    Returns
    -------
    int
        The largest ``n`` with ``work(n, n_features, n_components, max_iter) <= budget``.
    """
    per_fit = float(n_components) * max_iter
    room = (WORK_BUDGET if budget is None else budget) / per_fit - _per_iteration(n_features)
    return max(0, int(room / (1.0 + n_features**2 / 4.0)))


INITS = ("kmeans", "k-means++", "random_from_data", "random")

# ---------------------------------------------------------------------------
# Snapshots
# ---------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, eq=False)
class EMSnapshot(Snapshot):
    """One step of EM: the mixture's parameters and how well they explain the data.

    Parameters
    ----------
    means : ndarray of shape (n_components, n_features)
    covariances : ndarray of shape (n_components, n_features, n_features)
        Full matrices whatever the covariance type.
    weights : ndarray of shape (n_components,)
    log_likelihood : float
        Total natural-log likelihood of the data under this snapshot's parameters.
    lower_bound : float or None
        M steps only: ``Q(theta_new | theta_old) + H(responsibilities)``, the EM
        bound under the new parameters with the responsibilities the M-step used.
    resp_means, resp_covariances, resp_weights : ndarray or None
        M steps only: the parameters whose posterior the responsibilities are (the
        preceding E step's). ``None`` means the snapshot's own parameters.

    Notes
    -----
    ``responsibilities`` and ``log_resp`` are recomputed from the trace's data on
    demand (see the module docstring); a snapshot built without data raises
    ValueError when asked for them.
    """

    means: np.ndarray
    covariances: np.ndarray
    weights: np.ndarray
    log_likelihood: float
    lower_bound: float | None = None
    resp_means: np.ndarray | None = None
    resp_covariances: np.ndarray | None = None
    resp_weights: np.ndarray | None = None
    _X: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        means, cov, w = self.means, self.covariances, self.weights
        if not (isinstance(means, np.ndarray) and means.ndim == 2):
            raise ValueError("means should be a 2-D array (n_components, n_features)")
        k, d = means.shape
        if not isinstance(cov, np.ndarray) or cov.shape != (k, d, d):
            raise ValueError(f"covariances should have shape {(k, d, d)}")
        if not isinstance(w, np.ndarray) or w.shape != (k,):
            raise ValueError(f"weights should have shape {(k,)}")
        given = [self.resp_means is None, self.resp_covariances is None, self.resp_weights is None]
        if any(given) and not all(given):
            raise ValueError("resp_means, resp_covariances and resp_weights go together")
        if self.resp_means is not None and not all(
            isinstance(a, np.ndarray)
            for a in (self.resp_means, self.resp_covariances, self.resp_weights)
        ):
            raise ValueError("resp_means, resp_covariances and resp_weights should be arrays")
        if self.resp_means is not None and (
            self.resp_means.shape != (k, d)
            or self.resp_covariances.shape != (k, d, d)
            or self.resp_weights.shape != (k,)
        ):
            raise ValueError("resp_means, resp_covariances and resp_weights have the wrong shapes")
        if self._X is not None and self._X.shape[1] != d:
            raise ValueError(f"the step has {d} features but the data have {self._X.shape[1]}")

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, X: np.ndarray | None = None) -> EMSnapshot:
        """Rebuild a snapshot from :meth:`to_dict` output, attached to the data ``X``.

        Pass a read-only ``X`` (as :meth:`Trace.from_json` does) so that every step
        shares it; a writeable one is copied.
        """
        snap = super().from_dict(data)  # wrong-typed fields raise ValueError there
        if X is not None:
            X = freeze(X, dtype=np.float64)
            if X.ndim != 2 or X.shape[1] != snap.means.shape[1]:
                raise ValueError(
                    f"the step has {snap.means.shape[1]} features but the data have shape {X.shape}"
                )
            object.__setattr__(snap, "_X", X)
        return snap

    @property
    def n_components(self) -> int:
        return self.means.shape[0]

    @property
    def variances(self) -> np.ndarray:
        """Diagonals of the covariances, shape (n_components, n_features), read-only."""
        return np.diagonal(self.covariances, axis1=1, axis2=2)

    @property
    def responsibility_parameters(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The parameters whose posterior :attr:`responsibilities` are.

        The snapshot's own ``(means, covariances, weights)``, except on an M-step:
        there the responsibilities are those the M-step was computed from, i.e. the
        posterior under the preceding E-step's parameters (``resp_means``,
        ``resp_covariances``, ``resp_weights``). Needs no data.

        Returns
        -------
        means : ndarray of shape (n_components, n_features)
        covariances : ndarray of shape (n_components, n_features, n_features)
        weights : ndarray of shape (n_components,)
        """
        if self.resp_means is None:
            return self.means, self.covariances, self.weights
        return self.resp_means, self.resp_covariances, self.resp_weights

    @property
    def responsibilities_from_own_parameters(self) -> bool:
        """Whether :attr:`responsibility_parameters` are this step's own (not an earlier step's)."""
        return self.resp_means is None

    def _resp_source(self):
        if self._X is None:
            raise ValueError(
                "This step has no data attached, so its responsibilities cannot be "
                "recomputed; load it as part of its trace (Trace.from_json) or pass X "
                "to EMSnapshot.from_dict."
            )
        return self.responsibility_parameters

    @property
    def responsibilities(self) -> np.ndarray:
        """Posterior of each component for each point, shape (n_samples, n_components), read-only."""
        return cached_responsibilities(self._X, *self._resp_source(), kind="resp")

    @property
    def log_resp(self) -> np.ndarray:
        """Natural log of :attr:`responsibilities`, shape (n_samples, n_components), read-only."""
        return cached_responsibilities(self._X, *self._resp_source(), kind="log_resp")


# ---------------------------------------------------------------------------
# Messages
# ---------------------------------------------------------------------------


def _ll_pair(a: float, b: float) -> tuple[str, str]:
    """Format two log-likelihoods with enough decimals to show that they differ."""
    for dec in range(1, 7):
        sa, sb = f"{a:.{dec}f}", f"{b:.{dec}f}"
        if sa != sb:
            return sa, sb
    return f"{a:.1f}", f"{b:.1f}"


def _collapse_note(weights, covariances, n, reg_covar, covariance_type) -> str:
    """Name the components that are collapsing, or return ''."""
    nk = weights * n
    light = [j for j in range(len(weights)) if nk[j] < 1.0]
    thin = []
    if covariance_type != "fixed" and reg_covar > 0:
        lam = np.linalg.eigvalsh(covariances).min(axis=1)
        thin = [j for j in range(len(weights)) if lam[j] <= 2.0 * reg_covar and j not in light]
    notes = []
    if light:
        w = ", ".join(_num(weights[j], 2) for j in light[:6])
        verb = "is" if len(light) == 1 else "are"
        notes.append(
            f"{list_components([j + 1 for j in light])} {verb} collapsing (weight {w}, less than one point)"
        )
    if thin:
        verb = "is" if len(thin) == 1 else "are"
        notes.append(
            f"{list_components([j + 1 for j in thin])} {verb} collapsing "
            f"(a variance is down at reg_covar = {reg_covar:g})"
        )
    return "; ".join(notes)


def _weights_text(weights) -> str:
    if len(weights) <= 6:
        return "weights " + "/".join(_num(w, 2) for w in weights)
    return f"weights from {_num(weights.min(), 2)} to {_num(weights.max(), 2)}"


# ---------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------


class _Config(NamedTuple):
    X: np.ndarray
    k: int
    covariance_type: str
    init: str
    means_init: np.ndarray | None
    weights_init: np.ndarray | None
    covariances_init: np.ndarray | None
    fixed_variance: float
    reg_covar: float
    tol: float
    max_iter: int
    seed: int | None


def _validate(
    X, n_components, covariance_type, init, means_init, weights_init, covariances_init,
    fixed_variance, reg_covar, tol, max_iter, seed,
) -> _Config:
    X = _check_data(X, "EM")
    n, d = X.shape
    if not isinstance(covariance_type, str) or covariance_type not in COVARIANCE_TYPES:
        raise ValueError(_one_of("covariance_type", covariance_type, COVARIANCE_TYPES))
    if not isinstance(init, str) or init not in INITS:
        raise ValueError(_one_of("init", init, INITS))
    k = _check_k(n_components, n, "Gaussians", name="n_components")
    fixed_variance = _number("fixed_variance", fixed_variance, positive=True)
    reg_covar = _number("reg_covar", reg_covar, minimum=0, hint=" (it is added to every variance)")
    tol = _number("tol", tol, minimum=0, hint=" (0 runs exactly max_iter iterations)")
    max_iter = _number("max_iter", max_iter, integer=True, minimum=1)
    seed = _check_seed(seed)

    if means_init is not None:
        means_init = _init_array("means_init", means_init, (k, d), "(n_components, n_features)")
    if weights_init is not None:
        weights_init = _init_array("weights_init", weights_init, (k,), "(n_components,)")
        if np.any(weights_init <= 0):
            j = int(np.flatnonzero(weights_init <= 0)[0])
            raise ValueError(
                f"weights_init should all be positive, but component {j + 1} has weight "
                f"{weights_init[j]:g}; give every component some weight"
            )
        total = float(weights_init.sum())
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"weights_init should sum to 1, but they sum to {total:g}")
        weights_init = weights_init / total
    if covariances_init is not None:
        if covariance_type == "fixed":
            raise ValueError(
                "covariance_type='fixed' keeps every covariance at fixed_variance * I; "
                "set fixed_variance instead of covariances_init"
            )
        covariances_init = _init_array(
            "covariances_init", covariances_init, (k, d, d), "(n_components, n_features, n_features)"
        )
        for j, C in enumerate(covariances_init):
            scale = np.abs(C).max()
            if np.abs(C - C.T).max() > 1e-10 * scale:
                raise ValueError(f"covariances_init[{j}] should be symmetric, but it is not")
        covariances_init = 0.5 * (covariances_init + covariances_init.transpose(0, 2, 1))
        try:
            precision_cholesky(covariances_init)
        except NotPositiveDefinite as exc:
            j = exc.components[0] - 1
            lam = np.linalg.eigvalsh(covariances_init[j]).min()
            raise ValueError(
                f"covariances_init[{j}] should be positive definite, but its smallest "
                f"eigenvalue is {lam:g}; give symmetric matrices with positive eigenvalues "
                "(e.g. add to the diagonal)"
            ) from None
    return _Config(
        X, k, covariance_type, init, means_init, weights_init, covariances_init,
        fixed_variance, reg_covar, tol, max_iter, seed,
    )


def _init_array(name, value, shape, meaning) -> np.ndarray:
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} should be an array of numbers with shape {shape}") from None
    if arr.shape != shape:
        raise ValueError(f"{name} should have shape {shape} {meaning}, but got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} holds NaN or infinite values")
    return arr


def _not_pd_error(components, where: str, reg_covar: float) -> ValueError:
    text = covariance_of(components)
    return ValueError(
        f"{text[0].upper()}{text[1:]} not positive definite {where} (too few distinct points "
        f"to spread over); increase reg_covar (now {reg_covar:g}) or scale the data"
    )


# ---------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------


_INIT_NAME = {
    "kmeans": "k-means",
    "k-means++": "k-means++",
    "random_from_data": "random data points",
    "random": "random",
}
_INIT_TEXT = {
    "kmeans": "means from k-means' clusters",
    "k-means++": "means from k-means++ seeding, covariances from the data, equal weights",
    "random_from_data": "means at {k} random data points, covariances from the data, equal weights",
    "random": "parameters from random responsibilities",
}


def _data_covariances(prep, k, covariance_type, reg_covar, fixed):
    if covariance_type == "fixed":
        return fixed
    XcT = prep.XcT
    d, n = XcT.shape
    S = (XcT @ XcT.T) / n
    S = 0.5 * (S + S.T)
    if covariance_type == "diag":
        S = np.diag(np.diag(S))
    elif covariance_type == "spherical":
        S = np.mean(np.diag(S)) * np.eye(d)
    S = S + reg_covar * np.eye(d)
    return np.repeat(S[None], k, axis=0)


def _initial_parameters(cfg: _Config, prep: Prepared, fixed, reg):
    X, k = cfg.X, cfg.k
    n, d = X.shape
    rng = np.random.default_rng(cfg.seed)
    have_cov = cfg.covariances_init is not None or cfg.covariance_type == "fixed"
    given = [
        name
        for name, v in (("means", cfg.means_init), ("weights", cfg.weights_init), ("covariances", cfg.covariances_init))
        if v is not None
    ]
    if cfg.means_init is not None and cfg.weights_init is not None and have_cov:
        weights, means, covariances = cfg.weights_init, cfg.means_init, cfg.covariances_init
        text = "given parameters"
        how = "given means, weights and covariances"
    else:
        if cfg.init in ("kmeans", "random"):
            if cfg.init == "kmeans":
                _, labels = lloyd(X, kmeans_plusplus(X, k, rng))
                R = np.zeros((k, n))
                R[labels, np.arange(n)] = 1.0
            else:
                R = np.ascontiguousarray(rng.uniform(size=(n, k)).T)
                R /= R.sum(axis=0)
            weights, means, covariances = mstep(prep, R, cfg.covariance_type, reg, fixed)
        else:
            if cfg.init == "k-means++":
                means = kmeans_plusplus(X, k, rng)
            else:
                means = X[rng.choice(n, size=k, replace=False)].copy()
            weights = np.full(k, 1.0 / k)
            covariances = _data_covariances(prep, k, cfg.covariance_type, reg, fixed)
        if cfg.means_init is not None:
            means = cfg.means_init
        if cfg.weights_init is not None:
            weights = cfg.weights_init
        if cfg.covariances_init is not None:
            covariances = cfg.covariances_init
        text = _INIT_NAME[cfg.init] + "".join(f", {g} given" for g in given)
        how = _INIT_TEXT[cfg.init].format(k=k)
        if given:
            how += " (" + ", ".join(given) + " given)"
    if cfg.covariance_type == "fixed":
        covariances = fixed
        how += f"; covariances fixed at {cfg.fixed_variance:g}·I"
    return weights, means, covariances, text, how


def _em_steps(cfg: _Config) -> Iterator[EMSnapshot]:
    """Yield the snapshots of one EM run; return (converged, n_iter, message)."""
    X, k = cfg.X, cfg.k
    n, d = X.shape
    ctype = cfg.covariance_type
    prep = prepare(X)
    reg = reg_covar_for(prep, cfg.reg_covar)
    fixed = cfg.fixed_variance * np.broadcast_to(np.eye(d), (k, d, d)).copy()
    weights, means, covariances, init_name, how = _initial_parameters(cfg, prep, fixed, reg)
    if reg != cfg.reg_covar and ctype != "fixed":
        how += (
            f"; reg_covar raised from {cfg.reg_covar:g} to {reg:.2g}, the smallest variance "
            "that survives rounding at this data's scale"
        )
    means, covariances, weights = freeze(means), freeze(covariances), freeze(weights)
    try:
        prec = precision_cholesky(covariances)
    except NotPositiveDefinite as exc:
        raise _not_pd_error(exc.components, "at the start", reg) from None

    # Ping-pong buffers: the E-step of t+1 needs the responsibilities of t for the
    # bound of M_t, so two R arrays alternate.
    R_bufs = [np.empty((k, n)), np.empty((k, n))]
    index = 0

    def make(phase, t, message, params, ll, **extra):
        nonlocal index
        snap = EMSnapshot(
            index=index, phase=phase, iteration=t, message=message,
            means=params[0], covariances=params[1], weights=params[2],
            log_likelihood=float(ll), _X=X, **extra,
        )
        index += 1
        return snap

    def check_finite(*values):
        if not all(math.isfinite(v) for v in values):
            raise ValueError(
                "EM ran into numbers too large or too small to represent; "
                f"increase reg_covar (now {reg:g}) or scale the data"
            )

    params = (means, covariances, weights)
    pending = None  # the init or M snapshot waiting for its log-likelihood (next E-step)
    prev_R = prev_ent = None
    prev_labels = None
    prev_mean_ll = -math.inf
    mean_ll = -math.inf
    change = math.inf
    converged = False
    t = 0
    for t in range(1, cfg.max_iter + 2):
        last = t == cfg.max_iter + 1 or converged
        # One pass scores the parameters of M_{t-1}: their log-likelihood, the bound of
        # M_{t-1} (sum r_prev wlp - sum r_prev log r_prev) and the responsibilities of E_t.
        e = estep(
            prep, params[0], prec, np.log(params[2]), R=R_bufs[t % 2], prev_R=prev_R,
            want_labels=not last, prev_labels=prev_labels,
        )
        ll, ent = e.log_likelihood, e.sum_r_log_r
        check_finite(ll, ent)
        if pending is None:
            note = _collapse_note(params[2], params[1], n, reg, ctype)
            yield make(
                "init", 0,
                f"Start ({init_name}): {k} Gaussian{'s' if k != 1 else ''} with {how}; "
                f"log-likelihood {ll:.1f}" + (f"; {note}." if note else "."),
                params, ll,
            )
        else:
            bound = e.q_prev - prev_ent
            check_finite(bound)
            old_params, old_ll = pending  # those of E_{t-1}: M_{t-1}'s responsibilities
            moved = float(np.sqrt(((params[0] - old_params[0]) ** 2).sum(axis=1)).max())
            a, b = _ll_pair(old_ll, ll)
            note = _collapse_note(params[2], params[1], n, reg, ctype)
            yield make(
                "M", t - 1,
                f"M-step: means moved by up to {_num(moved)}; {_weights_text(params[2])}; "
                f"log-likelihood {a} → {b}" + (f"; {note}." if note else "."),
                params, ll, lower_bound=bound,
                resp_means=old_params[0], resp_covariances=old_params[1],
                resp_weights=old_params[2],
            )
        if last:
            break

        labels = e.labels
        head = "E-step: compute how much each Gaussian explains every point; "
        if prev_labels is None:
            if k == 1:
                tail = f"one Gaussian explains all {_points(n)}."
            elif k <= 6:
                counts = np.bincount(labels, minlength=k)
                tail = "each Gaussian is the most likely for " + "/".join(map(str, counts)) + " points."
            else:
                tail = f"{np.unique(labels).size} of the {k} Gaussians are the most likely for some point."
        else:
            changed = e.changed
            verb = "changed its" if changed == 1 else "changed their"
            tail = f"{_points(changed)} {verb} most likely Gaussian."
        yield make("E", t, head + tail, params, ll)
        prev_labels = labels

        # Convergence, scikit-learn's rule: the mean log-likelihood of the parameters
        # this E-step scored versus those the previous E-step scored.
        mean_ll = ll / n
        change = mean_ll - prev_mean_ll
        prev_mean_ll = mean_ll

        new_w, new_mu, new_cov = mstep(prep, e.R, ctype, reg, fixed)
        new_params = (freeze(new_mu), freeze(new_cov), freeze(new_w))
        try:
            prec = precision_cholesky(new_params[1])
        except NotPositiveDefinite as exc:
            raise _not_pd_error(exc.components, f"after the M-step of iteration {t}", reg) from None
        pending = (params, ll)
        params = new_params
        prev_R, prev_ent = e.R, ent
        if abs(change) < cfg.tol:
            converged = True

    n_iter = t - 1
    its = f"iteration{'s' if n_iter != 1 else ''}"
    if converged:
        # What scikit-learn compared: the mean log-likelihood of the parameters scored by
        # the last two E-steps (those after iterations n_iter - 2 and n_iter - 1); the last
        # M-step ran after the test, so the final value is not one of the two.
        message = (
            f"EM converged after {n_iter} {its}: the mean log-likelihood per point went from "
            f"{_compared_pair(prev_mean_ll - change, prev_mean_ll, n_iter)}, marked at steps "
            f"{2 * n_iter - 2} and {2 * n_iter} of the curve (log-likelihood "
            f"{' → '.join(_ll_pair((prev_mean_ll - change) * n, prev_mean_ll * n))}): a change of "
            f"{_num(abs(change), 2)}, less than tol = {cfg.tol:g}; the last M-step then "
            f"brought it to {ll / n:.{_mean_decimals(change)}f}, final log-likelihood {ll:.1f}."
        )
    elif cfg.tol == 0:
        message = f"EM ran all {n_iter} {its} (tol = 0); final log-likelihood {ll:.1f}."
    else:
        message = (
            f"EM stopped after max_iter = {n_iter} {its} without converging (the mean "
            f"log-likelihood per point last changed by {_num(abs(change), 2)}, tol = "
            f"{cfg.tol:g}); final log-likelihood {ll:.1f}."
        )
    stacked = _stacked_note(X, params[0])
    if stacked:
        message += " " + stacked + (" Try tol = 0 (run all max_iter iterations) or another start (seed or init)."
                                    if converged else " Try another start (seed or init).")
    return converged, n_iter, message


#: Means closer together than this fraction of the data's spread count as "on top of each other".
STACKED_BELOW = 0.25


def _stacked_note(X: np.ndarray, means: np.ndarray) -> str:
    """Say so when every mean sits within a small fraction of the data's spread of the others.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    means : ndarray of shape (n_components, n_features)

    Returns
    -------
    str
        A sentence, or '' (also for one component, which is never "stacked").
    """
    k = means.shape[0]
    if k < 2:
        return ""
    # The root of the total variance: the typical distance of a point from the data's mean.
    spread = math.sqrt(float(np.var(X, axis=0).sum()))
    if spread == 0:
        return ""
    diff = means[:, None, :] - means[None, :, :]
    widest = float(np.sqrt((diff**2).sum(axis=-1)).max())
    if widest >= STACKED_BELOW * spread:
        return ""
    return (
        f"All {k} Gaussians are still on top of each other: their means are at most "
        f"{_num(widest, 2)} apart, {widest / spread:.0%} of the data's spread ({_num(spread, 2)}), "
        "so EM has not yet separated them; it stopped because the first steps changed little."
    )


def _mean_decimals(change: float) -> int:
    """Decimals that show a change of ``change`` with two significant digits (4 to 8)."""
    if change == 0 or not math.isfinite(change):
        return 4
    return int(min(8, max(4, -math.floor(math.log10(abs(change))) + 1)))


def _compared_pair(before: float, after: float, n_iter: int) -> str:
    """'-2.830452 (start) to -2.829536 (after iteration 1)': the two values the tol test compared.

    Printed with enough decimals that their difference can be read off them.
    """
    dec = _mean_decimals(after - before)
    first = "start" if n_iter == 2 else f"after iteration {n_iter - 2}"
    return f"{before:.{dec}f} ({first}) to {after:.{dec}f} (after iteration {n_iter - 1})"


def _params_dict(cfg: _Config) -> dict[str, Any]:
    def arr(a):
        return None if a is None else freeze(a)

    return {
        "n_components": cfg.k,
        "covariance_type": cfg.covariance_type,
        "init": cfg.init,
        "means_init": arr(cfg.means_init),
        "weights_init": arr(cfg.weights_init),
        "covariances_init": arr(cfg.covariances_init),
        "fixed_variance": cfg.fixed_variance,
        "reg_covar": cfg.reg_covar,
        "tol": cfg.tol,
        "max_iter": cfg.max_iter,
        "seed": cfg.seed,
    }


def iter_em(
    X,
    n_components: int,
    *,
    covariance_type: str = "full",
    init: str = "kmeans",
    means_init=None,
    weights_init=None,
    covariances_init=None,
    fixed_variance: float = 1.0,
    reg_covar: float = 1e-6,
    tol: float = 1e-3,
    max_iter: int = 100,
    seed: int | None = None,
) -> Iterator[EMSnapshot]:
    """EM one snapshot at a time; the arguments are those of :func:`trace_em`.

    The arguments are checked before this returns. The generator's return value
    (``StopIteration.value``) is ``(converged, n_iter, message)``. A snapshot is
    yielded once its log-likelihood is known, i.e. after the next E-step.
    """
    cfg = _validate(
        X, n_components, covariance_type, init, means_init, weights_init, covariances_init,
        fixed_variance, reg_covar, tol, max_iter, seed,
    )
    return _em_steps(cfg)


def trace_em(
    X,
    n_components: int,
    *,
    covariance_type: str = "full",
    init: str = "kmeans",
    means_init=None,
    weights_init=None,
    covariances_init=None,
    fixed_variance: float = 1.0,
    reg_covar: float = 1e-6,
    tol: float = 1e-3,
    max_iter: int = 100,
    seed: int | None = None,
) -> Trace:
    """Run EM for a Gaussian mixture and record every step.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features) or Dataset
    n_components : int
        Number of Gaussians k, 1 to n_samples.
    covariance_type : {"full", "tied", "diag", "spherical", "fixed"}, default="full"
        scikit-learn's meanings, plus ``"fixed"``: every covariance is
        ``fixed_variance * I`` and never updated, so only means and weights move.
    init : {"kmeans", "k-means++", "random_from_data", "random"}, default="kmeans"
        ``"kmeans"``: parameters from the clusters of k-means (k-means++ seeding,
        Lloyd). ``"k-means++"``: means from k-means++ seeding, covariances from the
        data, equal weights. ``"random_from_data"``: k random data points as means,
        covariances from the data, equal weights. ``"random"``: random
        responsibilities followed by an M-step.
    means_init : array-like of shape (n_components, n_features), optional
    weights_init : array-like of shape (n_components,), optional
        Positive, summing to 1.
    covariances_init : array-like of shape (n_components, n_features, n_features), optional
        Full symmetric positive definite matrices, whatever the covariance type (not
        with ``"fixed"``). Each given array overrides that part of the start.
    fixed_variance : float, default=1.0
        The variance of every Gaussian when ``covariance_type="fixed"``.
    reg_covar : float, default=1e-6
        Added to the diagonal of every estimated covariance.
    tol : float, default=1e-3
        Stop when the mean per-point log-likelihood changes by less than ``tol``
        between successive M-steps (scikit-learn's rule, so the iteration count
        matches ``GaussianMixture.n_iter_``); 0 runs exactly ``max_iter`` iterations.
    max_iter : int, default=100
    seed : int or None
        Randomness of the start; the same seed gives the same trace.

    Returns
    -------
    Trace
        ``algorithm="em"``; ``steps[0]`` is the start, then an E and an M snapshot per
        iteration (:class:`EMSnapshot`).

    Raises
    ------
    ValueError
        For impossible requests, with a message saying what to change.
    """
    cfg = _validate(
        X, n_components, covariance_type, init, means_init, weights_init, covariances_init,
        fixed_variance, reg_covar, tol, max_iter, seed,
    )
    return collect(_em_steps(cfg), algorithm="em", params=_params_dict(cfg), X=cfg.X)


# ---------------------------------------------------------------------------
# Checking a trace from a file
# ---------------------------------------------------------------------------


def _trace_problem(text: str) -> ValueError:
    return _trace_problem_in("EM", text)


def _check_mixture(where: str, names: tuple[str, str, str], means, covariances, weights,
                   k: int, d: int) -> None:
    """Shapes, finiteness, weights on the simplex and positive definite covariances."""
    for name, a, shape in zip(names, (means, covariances, weights), ((k, d), (k, d, d), (k,))):
        if not isinstance(a, np.ndarray) or a.dtype.kind != "f":
            raise _trace_problem(f"{where}: {name} should be an array of decimal numbers")
        if a.shape != shape:
            raise _trace_problem(
                f"{where}: {name} should have shape {shape} for {k} Gaussian"
                f"{'s' if k != 1 else ''} in {d} feature{'s' if d != 1 else ''}, but it has {a.shape}"
            )
        if not np.all(np.isfinite(a)):
            raise _trace_problem(f"{where}: {name} holds NaN or infinite values")
    w_name, c_name = names[2], names[1]
    if np.any(weights <= 0):
        j = int(np.flatnonzero(weights <= 0)[0])
        raise _trace_problem(
            f"{where}: every weight should be positive, but {w_name}[{j}] (Gaussian {j + 1}) is {weights[j]:g}"
        )
    total = float(weights.sum())
    if abs(total - 1.0) > 1e-6:
        raise _trace_problem(f"{where}: {w_name} should sum to 1, but they sum to {total:.8g}")
    scale = np.abs(covariances).max(axis=(1, 2))
    asym = np.abs(covariances - covariances.transpose(0, 2, 1)).max(axis=(1, 2))
    if np.any(asym > 1e-8 * scale):
        j = int(np.flatnonzero(asym > 1e-8 * scale)[0])
        raise _trace_problem(f"{where}: {c_name}[{j}] (Gaussian {j + 1}) is not symmetric")
    try:
        precision_cholesky(covariances)
    except (ValueError, np.linalg.LinAlgError) as exc:
        raise _trace_problem(f"{where}: {c_name} — {exc}") from None


def check_trace(trace: Trace) -> None:
    """Check that a trace (e.g. loaded from a file) is an EM trace the views can draw.

    :meth:`Trace.from_json` checks that a file is a well-formed trace; this checks
    that it is a consistent EM run: data, parameters and every step.

    Parameters
    ----------
    trace : Trace

    Raises
    ------
    ValueError
        Saying what is wrong (and on which step, numbered from 1 as the lab shows
        them), for anything the EM lab could not draw.
    """
    _check_trace_header(trace, "EM", "em")
    params = trace.params
    if not isinstance(params, dict) or "covariance_type" not in params:
        raise _trace_problem("its parameters do not say which covariance_type was used")
    ctype = params["covariance_type"]
    if not isinstance(ctype, str) or ctype not in COVARIANCE_TYPES:
        raise _trace_problem(_one_of("its covariance_type", ctype, COVARIANCE_TYPES))
    X = _check_trace_data(trace, "EM", "which the responsibilities are computed from")
    n, d = X.shape
    k = None
    for i, snap in enumerate(trace.steps):
        where = f"step {i + 1}"
        _check_step_kind("EM", where, snap, EMSnapshot, ("init", "E", "M"))
        if k is None:
            k = snap.means.shape[0] if isinstance(snap.means, np.ndarray) and snap.means.ndim == 2 else 0
            if k < 1:
                raise _trace_problem(f"{where}: means should have shape (n_components, {d})")
        _check_mixture(where, ("means", "covariances", "weights"),
                       snap.means, snap.covariances, snap.weights, k, d)
        if snap.resp_means is not None:
            if snap.phase != "M":
                raise _trace_problem(f"{where} is not an M-step but carries resp_means")
            _check_mixture(where, ("resp_means", "resp_covariances", "resp_weights"),
                           snap.resp_means, snap.resp_covariances, snap.resp_weights, k, d)
        ll = snap.log_likelihood
        if not _is_real(ll) or not math.isfinite(ll):
            raise _trace_problem(f"{where}: log_likelihood should be a finite number, but it is {ll!r}")
        lb = snap.lower_bound
        if lb is not None and (not _is_real(lb) or not math.isfinite(lb)):
            raise _trace_problem(f"{where}: lower_bound should be empty or a finite number, but it is {lb!r}")
        if snap._X is None or snap._X.shape != X.shape:
            raise _trace_problem(f"{where} is not attached to the trace's data")
