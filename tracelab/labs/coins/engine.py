"""EM for mixtures of coins, recorded step by step: sets of tosses and binary images.

Each observation was made with one of ``k`` coins, chosen at random with
probabilities ``weights`` (α_j); coin j shows heads with probability
``means[j]`` (p_j). Which coin made an observation is not seen. EM alternates

* **E-step**: r_ij ∝ α_j p_j^{h_i} (1 − p_j)^{t_i − h_i}, the probability that
  observation i came from coin j (``responsibilities``), in log space;
* **M-step**: p_j = Σ_i r_ij h_i / Σ_i r_ij t_i (expected heads over expected
  tosses) and α_j = Σ_i r_ij / n, unless the weights are held fixed.

Two models share that recipe. :func:`trace_binomial_em` takes sets of tosses
(``heads`` of ``trials`` per set): Do & Batzoglou's two coins (Nature
Biotechnology 26, 2008) are five sets of ten tosses with 5, 9, 8, 4 and 7 heads.
:func:`trace_bernoulli_em` takes binary vectors X (n, d), one coin per
feature and component (Bishop, PRML §9.3.3): ``means`` is then (k, d), each
row an image of the component's pixel probabilities.

Heads probabilities are kept within [:data:`CLIP`, 1 − :data:`CLIP`]: a
component that never sees a 1 in some pixel would otherwise give that pixel
probability 0 and every later image with a 1 there likelihood 0. The M-step's
message says how many values the bound held. Restricting each p to the interval
keeps EM's promise (the M-step maximises Q over the interval), so the
log-likelihood never falls.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generator, NamedTuple

import numpy as np
from scipy.special import gammaln, logsumexp

from tracelab._validate import check_k as _check_k
from tracelab._validate import check_seed as _check_seed
from tracelab._validate import number as _number
from tracelab._validate import trace_problem as _trace_problem
from tracelab.record.arrays import freeze
from tracelab.record.trace import Snapshot, Trace, collect
from tracelab.record.words import num as _num

__all__ = ["CLIP", "WORK_BUDGET", "CoinsSnapshot", "check_trace", "e_step", "m_step", "trace_bernoulli_em",
           "trace_binomial_em", "work"]

#: Heads probabilities stay within [CLIP, 1 - CLIP] (see the module docstring).
CLIP = 1e-6
#: Sets listed one by one in a message, at most.
_LISTED = 6


@dataclass(frozen=True, kw_only=True, eq=False)
class CoinsSnapshot(Snapshot):
    """One step of EM for a mixture of coins.

    Parameters
    ----------
    means : ndarray of shape (n_components,) or (n_components, n_features)
        Each coin's heads probability (binomial), or each component's pixel
        probabilities (Bernoulli).
    weights : ndarray of shape (n_components,)
        The probability of choosing each coin (α).
    responsibilities : ndarray of shape (n_samples, n_components)
        r_ij under the parameters of the E-step that computed them (on an M-step,
        the E-step's that the M-step used).
    log_likelihood : float
        Total log-likelihood of the observations under this step's parameters
        (natural log; binomial coefficients included).
    n_clipped : int
        M-steps: how many heads probabilities the bounds [CLIP, 1 - CLIP] held.
    """

    means: np.ndarray
    weights: np.ndarray
    responsibilities: np.ndarray
    log_likelihood: float
    n_clipped: int = 0


class _Data(NamedTuple):
    heads: np.ndarray  # (n, d) heads per observation and feature
    trials: np.ndarray  # (n, d) tosses per observation and feature
    log_choose: float  # Σ log C(t, h): the same for every parameter value


def e_step(heads: np.ndarray, trials: np.ndarray, means: np.ndarray, weights: np.ndarray,
           log_choose: float = 0.0) -> tuple[np.ndarray, float]:
    """Responsibilities and the log-likelihood under ``means`` and ``weights``, in log space.

    Parameters
    ----------
    heads, trials : ndarray of shape (n_samples, n_features)
    means : ndarray of shape (n_components, n_features)
        Heads probabilities, strictly between 0 and 1.
    weights : ndarray of shape (n_components,)
    log_choose : float
        Σ log C(trials, heads), added to the log-likelihood.

    Returns
    -------
    responsibilities : ndarray of shape (n_samples, n_components)
    log_likelihood : float
    """
    weighted = heads @ np.log(means).T + (trials - heads) @ np.log1p(-means).T + np.log(weights)
    norm = logsumexp(weighted, axis=1)
    return np.exp(weighted - norm[:, None]), float(norm.sum() + log_choose)


def m_step(heads: np.ndarray, trials: np.ndarray, responsibilities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The parameters that maximise Q: expected heads over expected tosses, and the mean responsibility.

    With hard responsibilities (each row one 1 and zeros) this is counting: a
    coin's heads among its observations' tosses, and its share of the observations.

    Parameters
    ----------
    heads, trials : ndarray of shape (n_samples, n_features)
    responsibilities : ndarray of shape (n_samples, n_components)

    Returns
    -------
    means : ndarray of shape (n_components, n_features)
        Not yet clipped; a component with no expected tosses keeps NaN here.
    weights : ndarray of shape (n_components,)
    """
    expected_heads = responsibilities.T @ heads
    expected_tosses = responsibilities.T @ trials
    with np.errstate(invalid="ignore", divide="ignore"):
        means = expected_heads / expected_tosses
    return means, responsibilities.mean(axis=0)


def _coin(j: int, binomial: bool) -> str:
    return f"coin {chr(ord('A') + j)}" if binomial and j < 26 else f"component {j + 1}"


def _theta_text(means: np.ndarray, binomial: bool) -> str:
    if binomial and means.shape[1] == 1:
        return ", ".join(f"θ_{chr(ord('A') + j) if j < 26 else j + 1} = {means[j, 0]:.2f}" for j in range(len(means)))
    return f"mean heads probability per component {' / '.join(f'{m:.2f}' for m in means.mean(axis=1))}"


def _weights_text(weights: np.ndarray, fixed: bool) -> str:
    text = " / ".join(f"{w:.2f}" for w in weights)
    return f"weights held at {text}" if fixed else f"weights {text}"


def _noun(binomial: bool) -> str:
    return "set" if binomial else "row"


def _first_column(resp: np.ndarray, binomial: bool) -> str:
    who, noun = _coin(0, binomial), _noun(binomial)
    r = resp[:, 0]
    if r.size <= _LISTED:
        return f"P({who}) per {noun}: {', '.join(f'{v:.2f}' for v in r)}"
    return f"P({who}) per {noun} from {r.min():.2f} to {r.max():.2f}"


def _iter_em(data: _Data, means: np.ndarray, weights: np.ndarray, *, fixed_weights: bool, max_iter: int,
             tol: float, binomial: bool, how: str) -> Generator[CoinsSnapshot, None, tuple[bool, int, str]]:
    heads, trials, log_choose = data
    n = heads.shape[0]
    shape = (lambda m: m[:, 0]) if binomial else (lambda m: m)
    resp, ll = e_step(heads, trials, means, weights, log_choose)
    resp = freeze(resp)  # shared by the snapshots that show it, not copied for each
    yield CoinsSnapshot(
        index=0, phase="init", iteration=0,
        message=f"Start ({how}): {_theta_text(means, binomial)}; {_weights_text(weights, fixed_weights)}; "
                f"log-likelihood {ll:.4g}.",
        means=freeze(shape(means)), weights=freeze(weights), responsibilities=resp, log_likelihood=ll)
    index = 1
    for it in range(1, max_iter + 1):
        # the E-step's responsibilities and log-likelihood were computed with the last
        # parameters (at the start, or by the M-step that scored them)
        yield CoinsSnapshot(
            index=index, phase="E", iteration=it,
            message=f"E-step: how likely each {'coin' if binomial else 'component'} made each {_noun(binomial)}; "
                    f"{_first_column(resp, binomial)}; "
                    f"log-likelihood {ll:.4g}.",
            means=freeze(shape(means)), weights=freeze(weights), responsibilities=resp, log_likelihood=ll)
        index += 1
        new_means, new_weights = m_step(heads, trials, resp)
        # a component with no expected tosses keeps its probabilities (nothing to learn from)
        new_means = np.where(np.isfinite(new_means), new_means, means)
        clipped = np.clip(new_means, CLIP, 1.0 - CLIP)
        n_clipped = int(np.count_nonzero(clipped != new_means))
        new_weights = weights if fixed_weights else new_weights
        new_resp, new_ll = e_step(heads, trials, clipped, new_weights, log_choose)
        bound = f"; {n_clipped} heads probabilit{'y' if n_clipped == 1 else 'ies'} held at {CLIP:g} or 1 − {CLIP:g}" \
            if n_clipped else ""
        yield CoinsSnapshot(
            index=index, phase="M", iteration=it,
            message=f"M-step: expected heads over expected tosses give {_theta_text(clipped, binomial)}; "
                    f"{_weights_text(new_weights, fixed_weights)}{bound}; log-likelihood {ll:.4g} → {new_ll:.4g}.",
            means=freeze(shape(clipped)), weights=freeze(new_weights), responsibilities=resp,
            log_likelihood=new_ll, n_clipped=n_clipped)
        index += 1
        change = (new_ll - ll) / n
        means, weights, resp, ll = clipped, new_weights, freeze(new_resp), new_ll
        # |change|, as scikit-learn: a flat ridge's change is rounding noise of either
        # sign, and tol = 0 means "run every iteration".
        if abs(change) < tol:
            return True, it, (f"EM converged after {it} iteration{'s' if it != 1 else ''}: the log-likelihood per "
                              f"{_noun(binomial)} changed by {_num(change, 2)}, less than tol = {tol:g}.")
    return False, max_iter, (f"EM stopped after max_iter = {max_iter} iterations without converging "
                             f"(tol = {tol:g}).")


def _start(n_components: int, d: int, means_init: Any, weights_init: Any, seed: int | None,
           binomial: bool) -> tuple[np.ndarray, np.ndarray, str]:
    k = n_components
    if means_init is None:
        rng = np.random.default_rng(seed)
        means = rng.uniform(0.25, 0.75, size=(k, d))
        how = f"random heads probabilities between 0.25 and 0.75, seed {seed}"
    else:
        try:
            means = np.array(means_init, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError("means_init should be numbers between 0 and 1") from None
        if means.shape in ((k,), (k, 1)) and d == 1:
            means = means.reshape(k, 1)
        if means.shape != (k, d):
            want = f"({k},)" if d == 1 else f"({k}, {d})"
            raise ValueError(f"means_init should have shape {want}, one per component, but got {means.shape}")
        if not np.all((means > 0) & (means < 1)):
            raise ValueError("means_init should be heads probabilities strictly between 0 and 1")
        means = np.clip(means, CLIP, 1.0 - CLIP)
        how = "given"
    if weights_init is None:
        weights = np.full(k, 1.0 / k)
    else:
        try:
            weights = np.array(weights_init, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            raise ValueError("weights_init should be numbers") from None
        if weights.shape != (k,) or not np.all(np.isfinite(weights)) or np.any(weights <= 0):
            raise ValueError(f"weights_init should be {k} positive numbers, one per component")
        if abs(weights.sum() - 1.0) > 1e-6:
            raise ValueError(f"weights_init should sum to 1, but they sum to {weights.sum():.6g}")
        weights = weights / weights.sum()
    return means, weights, how


def _common(max_iter: Any, tol: Any, seed: Any, fixed_weights: Any) -> tuple[int, float, int | None, bool]:
    max_iter = _number("max_iter", max_iter, integer=True, minimum=1)
    tol = _number("tol", tol, minimum=0)
    seed = _check_seed(seed)
    if not isinstance(fixed_weights, (bool, np.bool_)):
        raise ValueError(f"fixed_weights should be True or False, but got {fixed_weights!r}")
    return max_iter, tol, seed, bool(fixed_weights)


def trace_binomial_em(heads: Any, trials: Any, n_components: int, *, means_init: Any = None,
                      weights_init: Any = None, fixed_weights: bool = False, max_iter: int = 100,
                      tol: float = 1e-3, seed: int | None = 0) -> Trace:
    """EM for a mixture of ``n_components`` coins, from sets of tosses, recorded step by step.

    Parameters
    ----------
    heads : array-like of shape (n_sets,)
        Heads in each set, whole numbers from 0 to the set's trials.
    trials : int or array-like of shape (n_sets,)
        Tosses in each set (one number for all of them), at least 1.
    n_components : int
        Coins, from 1 to the number of sets.
    means_init : array-like of shape (n_components,), optional
        Starting heads probabilities, strictly between 0 and 1 (default: seeded
        random ones between 0.25 and 0.75).
    weights_init : array-like of shape (n_components,), optional
        Starting probabilities of choosing each coin (default equal).
    fixed_weights : bool, default False
        Hold the weights at their start, as Do & Batzoglou do.
    max_iter : int, default 100
    tol : float, default 1e-3
        Stop when an iteration raises the log-likelihood per set by less.
    seed : int or None, default 0
        For the random start.

    Returns
    -------
    Trace
        ``algorithm="binomial_em"``; ``X`` holds (heads, trials) per set; each
        :class:`CoinsSnapshot`'s ``means`` has shape (n_components,).

    Examples
    --------
    >>> trace = trace_binomial_em([5, 9, 8, 4, 7], 10, 2, means_init=[0.6, 0.5],
    ...                           weights_init=[0.5, 0.5], fixed_weights=True, tol=0, max_iter=10)
    >>> [round(float(p), 2) for p in trace.steps[-1].means]
    [0.8, 0.52]
    """
    try:
        h = np.asarray(heads, dtype=np.float64).reshape(-1)
        t = np.broadcast_to(np.asarray(trials, dtype=np.float64), h.shape).astype(np.float64)
    except (TypeError, ValueError):
        raise ValueError("heads should be a list of whole numbers, and trials one number or one per set") from None
    if h.size == 0:
        raise ValueError("heads is empty: give the heads of at least one set of tosses")
    for name, v in (("heads", h), ("trials", t)):
        if not np.all(np.isfinite(v)) or np.any(v != np.round(v)):
            raise ValueError(f"{name} should be whole numbers")
    if np.any(t < 1):
        raise ValueError("trials should be at least 1 in every set")
    if np.any(h < 0) or np.any(h > t):
        bad = int(np.flatnonzero((h < 0) | (h > t))[0])
        raise ValueError(f"heads should be between 0 and the set's trials, but set {bad + 1} has "
                         f"{h[bad]:g} heads in {t[bad]:g} tosses")
    k = _check_k(n_components, h.size, "coins", name="n_components")
    max_iter, tol, seed, fixed = _common(max_iter, tol, seed, fixed_weights)
    means, weights, how = _start(k, 1, means_init, weights_init, seed, binomial=True)
    data = _Data(h[:, None], t[:, None], float(np.sum(gammaln(t + 1) - gammaln(h + 1) - gammaln(t - h + 1))))
    X = freeze(np.column_stack([h, t]))
    params = dict(n_components=k, means_init=None if means_init is None else means[:, 0].tolist(),
                  weights_init=weights.tolist() if weights_init is not None else None, fixed_weights=fixed,
                  max_iter=max_iter, tol=tol, seed=seed, columns=["heads", "trials"])
    run = _iter_em(data, means, weights, fixed_weights=fixed, max_iter=max_iter, tol=tol, binomial=True, how=how)
    return collect(run, algorithm="binomial_em", params=params, X=X)


def trace_bernoulli_em(X: Any, n_components: int, *, means_init: Any = None, weights_init: Any = None,
                       fixed_weights: bool = False, max_iter: int = 100, tol: float = 1e-3,
                       seed: int | None = 0) -> Trace:
    """EM for a mixture of ``n_components`` multivariate Bernoulli distributions, recorded step by step.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Binary vectors (0 or 1), e.g. binarised images, one row each.
    n_components : int
    means_init : array-like of shape (n_components, n_features), optional
        Starting pixel probabilities, strictly between 0 and 1 (default:
        seeded random ones between 0.25 and 0.75).
    weights_init, fixed_weights, max_iter, tol, seed
        As for :func:`trace_binomial_em` (tol per observation).

    Returns
    -------
    Trace
        ``algorithm="bernoulli_em"``; each :class:`CoinsSnapshot`'s ``means``
        has shape (n_components, n_features).
    """
    try:
        Xa = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("X should be a table of 0s and 1s") from None
    if Xa.ndim == 1:
        Xa = Xa[:, None]
    if Xa.ndim != 2 or Xa.shape[0] == 0 or Xa.shape[1] == 0:
        raise ValueError(f"X should be a non-empty table (n_samples, n_features), but got shape {Xa.shape}")
    if not np.all((Xa == 0) | (Xa == 1)):
        bad = Xa[~((Xa == 0) | (Xa == 1))]
        raise ValueError(f"X should hold only 0s and 1s (a Bernoulli mixture models binary data), but it holds "
                         f"{bad.size} other value{'s' if bad.size != 1 else ''}, e.g. {bad[0]:g}; binarise it first "
                         "(e.g. X > 0.5)")
    n, d = Xa.shape
    k = _check_k(n_components, n, "components", name="n_components")
    max_iter, tol, seed, fixed = _common(max_iter, tol, seed, fixed_weights)
    means, weights, how = _start(k, d, means_init, weights_init, seed, binomial=False)
    data = _Data(Xa, np.ones_like(Xa), 0.0)
    params = dict(n_components=k, means_init=None if means_init is None else means.tolist(),
                  weights_init=weights.tolist() if weights_init is not None else None, fixed_weights=fixed,
                  max_iter=max_iter, tol=tol, seed=seed)
    run = _iter_em(data, means, weights, fixed_weights=fixed, max_iter=max_iter, tol=tol, binomial=False, how=how)
    return collect(run, algorithm="bernoulli_em", params=params, X=freeze(Xa))


#: The most work one run may do (see :func:`work`): about 2 s of one core, and its
#: responsibilities (kept at every E-step) within about 150 MB.
WORK_BUDGET = 2e8


def work(n_samples: int, n_features: int, n_components: int, max_iter: int) -> float:
    """What a run costs at most: values computed (n d k per iteration) or kept (n k per E-step), whichever is larger.

    Compare with :data:`WORK_BUDGET` before running a request.
    """
    per_iter = n_samples * n_components * max(n_features, 10)
    return float(per_iter) * max(int(max_iter), 1)


def check_trace(trace: Trace) -> None:
    """Check that a trace (e.g. loaded from a file) is a coins or binary-image EM run the lab can draw.

    Raises
    ------
    ValueError
        "This trace cannot be shown in the coins lab: ...", saying what is wrong
        and on which step (numbered from 1).
    """
    if not isinstance(trace, Trace):
        raise _trace_problem("coins", f"it is a {type(trace).__name__}, not a Trace")
    if trace.algorithm not in ("binomial_em", "bernoulli_em"):
        raise _trace_problem("coins", f"it is a trace of {trace.algorithm!r}, not of EM for coins or binary "
                                      "images; open it in the lab it came from")
    X = np.asarray(trace.X, dtype=np.float64)
    n = X.shape[0]
    k = trace.params.get("n_components")
    d = 1 if trace.algorithm == "binomial_em" else X.shape[1]
    if not isinstance(k, int) or not 1 <= k <= n:
        raise _trace_problem("coins", f"its n_components ({k!r}) is not a whole number from 1 to {n}")
    previous = -np.inf
    for snap in trace.steps:
        where = f"step {snap.index + 1}"
        means = np.asarray(snap.means, dtype=np.float64).reshape(k, -1) if np.size(snap.means) == k * d else None
        r = np.asarray(snap.responsibilities, dtype=np.float64)
        if not isinstance(snap, CoinsSnapshot) or means is None or r.shape != (n, k):
            raise _trace_problem("coins", f"{where} does not hold {k} components' parameters for {n} observations")
        if not (np.all((means >= 0) & (means <= 1)) and np.allclose(r.sum(axis=1), 1.0, atol=1e-6)
                and np.isclose(np.sum(snap.weights), 1.0, atol=1e-6)):
            raise _trace_problem("coins", f"{where} has probabilities outside [0, 1] or not summing to 1")
        ll = float(snap.log_likelihood)
        if ll < previous - 1e-8 * max(1.0, abs(previous)):
            raise _trace_problem("coins", f"the log-likelihood falls at {where} ({_num(previous, 6)} → "
                                          f"{_num(ll, 6)}), which EM never does")
        previous = ll
