"""The arithmetic of a Gaussian mixture, in log space, that the EM run and its views share.

Weighted log-probabilities ``log w_k + log N(x | mu_k, Sigma_k)`` through Cholesky
factors of the precisions (never an inverse), the E-step (responsibilities, their logs,
the log-likelihood) and the M-step, each one cache-sized block of points at a time;
the public math on ``(n, d)`` arrays (:func:`responsibilities`, :func:`log_likelihood`,
:func:`evidence_lower_bound`, :func:`estimate_parameters`, ...); and the small cache
from which a snapshot's responsibilities are recomputed on demand. The arithmetic
follows scikit-learn's ``GaussianMixture``. Imports numpy, scipy and the argument
checks only; :mod:`tracelab.labs.em.engine` runs and records EM with it.
"""

from __future__ import annotations

import math
import threading
import weakref
from collections import OrderedDict
from typing import NamedTuple

import numpy as np
from scipy.linalg.lapack import dtrtri

from tracelab._validate import as_points as _as_points
from tracelab._validate import one_of as _one_of

__all__ = [
    "COVARIANCE_TYPES",
    "REG_COVAR_FLOOR",
    "Prepared",
    "prepare",
    "reg_covar_for",
    "NotPositiveDefinite",
    "precision_cholesky",
    "EStep",
    "estep",
    "mstep",
    "weighted_log_prob",
    "responsibilities",
    "log_likelihood",
    "evidence_lower_bound",
    "estimate_parameters",
    "effective_reg_covar",
    "cached_responsibilities",
    "list_components",
    "covariance_of",
]

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical", "fixed")

_LOG_2PI = math.log(2.0 * math.pi)
_EPS = np.finfo(np.float64).eps
# Working blocks, in matrix entries: small enough to stay in (L2) cache while a block is
# squared, summed and exponentiated (E-step) or centred and weighted (M-step), large
# enough that the per-block Python overhead does not count.
_BLOCK = 1 << 17
_MSTEP_BLOCK = 1 << 15
# The responsibility cache keeps at most this many bytes (at least one entry).
_CACHE_BYTES = 32 * 2**20


# ---------------------------------------------------------------------------
# Shared arithmetic, in the (k, n) layout the run uses
# ---------------------------------------------------------------------------


class Prepared(NamedTuple):
    """The data as the kernels want it: shifted to its mean and transposed.

    Gaussian log-densities and moments are translation invariant; measuring from the
    data's mean keeps them accurate for data far from the origin (offsets of 1e7),
    and the (d, n) layout makes every per-component row contiguous.
    """

    center: np.ndarray  # (d,)
    XcT: np.ndarray  # (d, n), C-contiguous


def prepare(X: np.ndarray) -> Prepared:
    """``X`` of shape (n_samples, n_features) as the kernels want it (:class:`Prepared`)."""
    center = X.mean(axis=0) if len(X) else np.zeros(X.shape[1])
    XcT = np.ascontiguousarray((X - center).T)
    return Prepared(center, XcT)


# A positive reg_covar is raised to at least this fraction of the data's largest
# variance: below it, the regulariser is lost in the rounding of the covariance entries
# (|Sigma| * eps) and collinear or duplicated points give singular matrices however
# reg_covar is meant. At ordinary scales (variances below 1e6 with the default 1e-6)
# the floor is inactive, so results match scikit-learn's.
REG_COVAR_FLOOR = 1e-12


def reg_covar_for(prep: Prepared, reg_covar: float) -> float:
    """``reg_covar`` raised to its floor for these data (:func:`effective_reg_covar` on prepared data)."""
    if reg_covar <= 0:
        return float(reg_covar)
    XcT = prep.XcT
    largest_var = float(np.einsum("ij,ij->i", XcT, XcT).max()) / XcT.shape[1] if XcT.size else 0.0
    return max(float(reg_covar), REG_COVAR_FLOOR * largest_var)


def precision_cholesky(covariances) -> np.ndarray:
    """Cholesky factors of the precision matrices.

    Parameters
    ----------
    covariances : array-like of shape (n_components, n_features, n_features)
        Symmetric positive definite matrices.

    Returns
    -------
    ndarray of shape (n_components, n_features, n_features)
        Upper-triangular ``U`` with ``U @ U.T == inv(covariance)``, computed from the
        Cholesky factor of the covariance (never an explicit inverse).

    Raises
    ------
    NotPositiveDefinite
        A ValueError naming the components whose covariance is not positive definite.
    """
    covariances = np.asarray(covariances, dtype=np.float64)
    if covariances.ndim != 3 or covariances.shape[1] != covariances.shape[2]:
        raise ValueError(
            "covariances should have shape (n_components, n_features, n_features), "
            f"but got {covariances.shape}"
        )
    k, d, _ = covariances.shape
    try:
        L = np.linalg.cholesky(covariances)
    except np.linalg.LinAlgError:
        raise NotPositiveDefinite([j + 1 for j in range(k) if not _is_pd(covariances[j])]) from None
    U = np.empty_like(L)
    for j in range(k):
        # inv(Sigma) = inv(L)^T inv(L), so U = inv(L)^T; a triangular inverse, no general inverse.
        inv_L, info = dtrtri(L[j], lower=1)
        if info != 0:
            raise NotPositiveDefinite([j + 1])
        U[j] = inv_L.T
    if not np.all(np.isfinite(U)):
        raise NotPositiveDefinite([j + 1 for j in range(k) if not np.all(np.isfinite(U[j]))])
    return U


class NotPositiveDefinite(ValueError):
    """Some covariances are not positive definite: ``components`` (numbered from 1) says which."""

    def __init__(self, components):
        self.components = list(components) or [1]
        super().__init__(f"{covariance_of(self.components)} not positive definite")


def _is_pd(C: np.ndarray) -> bool:
    try:
        np.linalg.cholesky(C)
    except np.linalg.LinAlgError:
        return False
    return True


def _coefficients(center, means, prec_chol, log_weights):
    """Per-block coefficients: ``y = W x_c - b`` stacks every component's whitened offset."""
    k, d = means.shape
    # Row j*d + a of W is column a of U_j, so (W x)[j*d + a] = ((x - c) @ U_j)[a].
    W = np.ascontiguousarray(prec_chol.transpose(0, 2, 1).reshape(k * d, d))
    b = np.matmul((means - center)[:, None, :], prec_chol)[:, 0, :].reshape(k * d)
    log_det = np.log(np.diagonal(prec_chol, axis1=1, axis2=2)).sum(axis=1)
    const = log_weights + log_det - 0.5 * d * _LOG_2PI
    return W, b[:, None], const[:, None]


def _wlp_block(XcT_block, W, b, const, k, d, y, out):
    """Weighted log-probabilities log w_j + log N(x | mu_j, Sigma_j) of one block, into ``out``."""
    np.matmul(W, XcT_block, out=y)
    y -= b
    np.square(y, out=y)
    np.add.reduce(y.reshape(k, d, -1), axis=1, out=out)
    out *= -0.5
    out += const


def _block_len(k: int, d: int) -> int:
    return max(64, _BLOCK // (k * d))


def _weighted_log_prob_T(prep, means, prec_chol, log_weights) -> np.ndarray:
    k, d = means.shape
    n = prep.XcT.shape[1]
    W, b, const = _coefficients(prep.center, means, prec_chol, log_weights)
    out = np.empty((k, n))
    step = _block_len(k, d)
    y_buf = np.empty((k * d, min(step, n)))
    for lo in range(0, n, step):
        hi = min(lo + step, n)
        _wlp_block(prep.XcT[:, lo:hi], W, b, const, k, d, y_buf[:, : hi - lo], out[:, lo:hi])
    return out


class EStep(NamedTuple):
    R: np.ndarray | None  # (k, n) responsibilities, if asked for
    log_resp: np.ndarray | None  # (k, n) their logs, if asked for
    log_likelihood: float  # sum_n log sum_k w_k N(x_n | ...)
    sum_r_log_r: float  # sum_nk r log r (minus the entropy)
    q_prev: float | None  # sum_nk r_prev * weighted log-prob, if r_prev was given
    labels: np.ndarray | None  # (n,) most likely component, if asked for
    changed: int  # points whose most likely component differs from prev_labels


def estep(
    prep, means, prec_chol, log_weights, *, R=None, want_R=True, want_log_resp=False,
    prev_R=None, want_labels=False, prev_labels=None,
) -> EStep:
    """E-step in log space, one cache-sized block of points at a time.

    Per block: wlp = log w + log N (see _wlp_block), m = max_k wlp, a = wlp - m,
    r = exp(a) / sum_k exp(a), so log r = a - log sum_k exp(a) (logsumexp). The shifted
    log-probabilities ``a`` never leave the block; what the run needs from them is
    reduced on the spot: the log-likelihood, sum r log r, the bound's
    sum r_prev * wlp, and which points changed their most likely component
    (``a`` is exactly 0 at a point's maximum, so one gather tells whether the old
    label still is one).

    The run and the lazy recomputation of a snapshot's responsibilities both call
    this with the same numbers, so they agree bit for bit; the optional reductions
    only read the block.
    """
    k, d = means.shape
    n = prep.XcT.shape[1]
    W, b, const = _coefficients(prep.center, means, prec_chol, log_weights)
    if want_R and R is None:
        R = np.empty((k, n))
    log_resp = np.empty((k, n)) if want_log_resp else None
    labels = np.empty(n, dtype=np.intp) if want_labels else None
    step = _block_len(k, d)
    width = min(step, n)
    y_buf = np.empty((k * d, width))
    a_buf = np.empty((k, width))
    r_buf = None if want_R else np.empty((k, width))
    col = np.empty(width)
    ll = sum_rlogr = 0.0
    q_prev = 0.0 if prev_R is not None else None
    changed = 0
    ar = np.arange(width)
    for lo in range(0, n, step):
        hi = min(lo + step, n)
        c = hi - lo
        a = a_buf[:, :c]
        r = R[:, lo:hi] if want_R else r_buf[:, :c]
        s = col[:c]
        _wlp_block(prep.XcT[:, lo:hi], W, b, const, k, d, y_buf[:, :c], a)
        m = a.max(axis=0)
        a -= m
        np.exp(a, out=r)
        np.sum(r, axis=0, out=s)
        log_s = np.log(s)
        np.divide(1.0, s, out=s)
        r *= s
        ll += float(m.sum()) + float(log_s.sum())
        # sum_k r = 1, so sum_k r log r = sum_k r a - log s and sum_k r_prev wlp = sum_k r_prev a + m.
        sum_rlogr += float(np.einsum("ij,ij->", r, a)) - float(log_s.sum())
        if prev_R is not None:
            q_prev += float(np.einsum("ij,ij->", prev_R[:, lo:hi], a)) + float(m.sum())
        if want_labels:
            lab = labels[lo:hi]
            if prev_labels is None:
                np.argmax(a, axis=0, out=lab)
            else:
                old = prev_labels[lo:hi]
                moved = np.flatnonzero(a[old, ar[:c]] != 0.0)
                lab[:] = old
                if moved.size:
                    lab[moved] = np.argmax(a[:, moved], axis=0)
                    changed += moved.size
        if want_log_resp:
            np.subtract(a, log_s, out=log_resp[:, lo:hi])
    return EStep(R if want_R else None, log_resp, ll, sum_rlogr, q_prev, labels, changed)


def mstep(prep, R, covariance_type, reg_covar, fixed_covariances=None):
    """M-step from responsibilities R (k, n): weights, means and full covariances.

    Scatter matrices are summed around each component's own mean (two passes), not
    as E[x x^T] - mu mu^T, which loses every digit when a tight component sits far
    from the data's centre.
    """
    XcT = prep.XcT
    d, n = XcT.shape
    k = R.shape[0]
    nk = R.sum(axis=1) + 10 * _EPS
    means_c = (R @ XcT.T) / nk[:, None]
    if covariance_type == "fixed":
        covariances = fixed_covariances
    else:
        full = covariance_type in ("full", "tied")
        step = max(64, _MSTEP_BLOCK // d)
        width = min(step, n)
        D_buf = np.empty((d, width))
        WD_buf = np.empty((d, width))
        eye = np.eye(d)
        # Block by block, so D and WD stay in cache; per component the block sums
        # add up in a fixed order, which estimate_parameters repeats exactly.
        scatter = np.zeros((k, d, d)) if full else np.zeros((k, d))
        for lo in range(0, n, step):
            hi = min(lo + step, n)
            xb = XcT[:, lo:hi]
            D = D_buf[:, : hi - lo]
            WD = WD_buf[:, : hi - lo]
            for j in range(k):
                np.subtract(xb, means_c[j][:, None], out=D)
                if full:
                    np.multiply(D, R[j, lo:hi], out=WD)
                    scatter[j] += WD @ D.T
                else:
                    np.square(D, out=D)
                    scatter[j] += D @ R[j, lo:hi]
        if full:
            scatter = 0.5 * (scatter + scatter.transpose(0, 2, 1))
            if covariance_type == "full":
                covariances = scatter / nk[:, None, None] + reg_covar * eye
            else:
                tied = scatter.sum(axis=0) / nk.sum() + reg_covar * eye
                covariances = np.repeat(tied[None], k, axis=0)
        else:
            var = scatter / nk[:, None]
            if covariance_type == "diag":
                var += reg_covar
            else:
                var[:] = var.mean(axis=1, keepdims=True) + reg_covar
            covariances = var[:, :, None] * eye
    weights = nk / nk.sum()
    return weights, means_c + prep.center, covariances


# ---------------------------------------------------------------------------
# Public math on (n, d) arrays
# ---------------------------------------------------------------------------


def _as_params(means, covariances, weights, n_features=None):
    means = np.asarray(means, dtype=np.float64)
    covariances = np.asarray(covariances, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    if means.ndim != 2:
        raise ValueError(f"means should have shape (n_components, n_features), but got {means.shape}")
    k, d = means.shape
    if n_features is not None and d != n_features:
        raise ValueError(f"means have {d} features but X has {n_features}")
    if covariances.shape != (k, d, d):
        raise ValueError(f"covariances should have shape {(k, d, d)}, but got {covariances.shape}")
    if weights.shape != (k,):
        raise ValueError(f"weights should have shape {(k,)}, but got {weights.shape}")
    return means, covariances, weights


def weighted_log_prob(X, means, covariances, weights) -> np.ndarray:
    """``log w_k + log N(x | mu_k, Sigma_k)`` for every point and component.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Any points, e.g. a grid for drawing densities.
    means : array-like of shape (n_components, n_features)
    covariances : array-like of shape (n_components, n_features, n_features)
    weights : array-like of shape (n_components,)

    Returns
    -------
    ndarray of shape (n_samples, n_components)
    """
    X = _as_points(X)
    means, covariances, weights = _as_params(means, covariances, weights, X.shape[1])
    prec = precision_cholesky(covariances)
    with np.errstate(divide="ignore"):
        log_w = np.log(weights)
    return _weighted_log_prob_T(prepare(X), means, prec, log_w).T.copy()


def _posterior(X, means, covariances, weights, **kw) -> EStep:
    X = _as_points(X)
    means, covariances, weights = _as_params(means, covariances, weights, X.shape[1])
    prec = precision_cholesky(covariances)
    # A weight of 0 gives log 0 = -inf: that component explains nothing, no warning.
    with np.errstate(divide="ignore", invalid="ignore"):
        return estep(prepare(X), means, prec, np.log(weights), **kw)


def responsibilities(X, means, covariances, weights) -> np.ndarray:
    """Posterior probability of each component for each point (the E-step).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    means : array-like of shape (n_components, n_features)
    covariances : array-like of shape (n_components, n_features, n_features)
    weights : array-like of shape (n_components,)
        Positive, summing to 1.

    Returns
    -------
    ndarray of shape (n_samples, n_components)
        Rows sum to 1. For the data of a trace this equals, bit for bit, the
        responsibilities of the snapshot with these parameters.
    """
    return _posterior(X, means, covariances, weights).R.T.copy()


def log_likelihood(X, means, covariances, weights) -> float:
    """Total natural-log likelihood ``sum_n log sum_k w_k N(x_n | mu_k, Sigma_k)``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    means : array-like of shape (n_components, n_features)
    covariances : array-like of shape (n_components, n_features, n_features)
    weights : array-like of shape (n_components,)

    Returns
    -------
    float
    """
    return _posterior(X, means, covariances, weights, want_R=False).log_likelihood


def evidence_lower_bound(X, resp, means, covariances, weights) -> float:
    """The EM bound ``Q(theta | resp) + H(resp)`` on the log-likelihood.

    ``sum_nk r_nk (log w_k + log N(x_n | mu_k, Sigma_k) - log r_nk)``, with
    ``0 log 0 = 0``. It never exceeds ``log_likelihood(X, means, covariances,
    weights)`` and equals it when ``resp`` is the posterior under these parameters.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    resp : array-like of shape (n_samples, n_components)
    means : array-like of shape (n_components, n_features)
    covariances : array-like of shape (n_components, n_features, n_features)
    weights : array-like of shape (n_components,)

    Returns
    -------
    float
    """
    wlp = weighted_log_prob(X, means, covariances, weights)
    resp = np.asarray(resp, dtype=np.float64)
    if resp.shape != wlp.shape:
        raise ValueError(f"resp should have shape {wlp.shape}, but got {resp.shape}")
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(resp > 0, resp * (wlp - np.log(resp)), 0.0)
    return float(terms.sum())


def estimate_parameters(
    X, resp, covariance_type: str = "full", reg_covar: float = 1e-6, fixed_variance: float = 1.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The M-step: weights, means and covariances from responsibilities.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    resp : array-like of shape (n_samples, n_components)
    covariance_type : {"full", "tied", "diag", "spherical", "fixed"}
    reg_covar : float
        Added to the diagonal of every estimated covariance (see
        :func:`effective_reg_covar` for the floor at large scales).
    fixed_variance : float
        For ``"fixed"``: every covariance is ``fixed_variance * I``.

    Returns
    -------
    weights : ndarray of shape (n_components,)
    means : ndarray of shape (n_components, n_features)
    covariances : ndarray of shape (n_components, n_features, n_features)
        For a snapshot's data and responsibilities this reproduces, bit for bit,
        the parameters of the M-step that used them.
    """
    X = _as_points(X)
    resp = np.asarray(resp, dtype=np.float64)
    if resp.ndim != 2 or resp.shape[0] != X.shape[0]:
        raise ValueError(f"resp should have shape ({X.shape[0]}, n_components), but got {resp.shape}")
    if covariance_type not in COVARIANCE_TYPES:
        raise ValueError(_one_of("covariance_type", covariance_type, COVARIANCE_TYPES))
    k, d = resp.shape[1], X.shape[1]
    fixed = fixed_variance * np.broadcast_to(np.eye(d), (k, d, d)).copy()
    prep = prepare(X)
    reg = reg_covar_for(prep, reg_covar)
    return mstep(prep, np.ascontiguousarray(resp.T), covariance_type, reg, fixed)


def effective_reg_covar(X, reg_covar: float = 1e-6) -> float:
    """The regularisation EM actually adds to the variances for data ``X``.

    ``reg_covar`` itself, except that a positive value is raised to at least
    ``REG_COVAR_FLOOR`` (1e-12) times the largest variance of the columns of ``X``:
    a smaller value disappears in the rounding of the covariance entries, and
    duplicated or collinear points would then give singular covariances. 0 stays 0.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    reg_covar : float

    Returns
    -------
    float
    """
    return reg_covar_for(prepare(_as_points(X)), float(reg_covar))


# ---------------------------------------------------------------------------
# Lazy responsibilities: a small cache shared by all snapshots
# ---------------------------------------------------------------------------


class _IdentityLRU:
    """LRU of values derived from a data array, keyed by the array's identity and more.

    The data are held by weak reference and compared by identity on every hit, so a
    key can never answer for other data that happened to reuse a freed id.
    """

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._entries: OrderedDict = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, X, key, compute):
        full_key = (id(X),) + key
        with self._lock:
            hit = self._entries.get(full_key)
            if hit is not None and hit[0]() is X:
                self._entries.move_to_end(full_key)
                return hit[1]
        value = compute()
        with self._lock:
            old = self._entries.pop(full_key, None)
            if old is not None:
                self._bytes -= old[1].nbytes
            self._entries[full_key] = (weakref.ref(X), value)
            self._bytes += value.nbytes
            while self._bytes > self.max_bytes and len(self._entries) > 1:
                _, (_, dropped) = self._entries.popitem(last=False)
                self._bytes -= dropped.nbytes
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    @property
    def nbytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)


_CACHE = _IdentityLRU(_CACHE_BYTES)
# The shifted, transposed data of the last few data sets read (n * d floats each).
_PREPARED = _IdentityLRU(0)


def _prepared_for(X: np.ndarray) -> Prepared:
    entry = _PREPARED.get(X, (), lambda: _PreparedEntry(prepare(X)))
    return entry.prep


class _PreparedEntry:
    """A Prepared with the ``nbytes`` the cache counts (it keeps only the newest)."""

    def __init__(self, prep: Prepared):
        self.prep = prep
        self.nbytes = prep.XcT.nbytes


def cached_responsibilities(X, means, covariances, weights, kind: str) -> np.ndarray:
    """A snapshot's responsibilities (``kind="resp"``) or their logs (``"log_resp"``), shape (n_samples, k).

    Recomputed from ``X`` (held by the caller, compared by identity) with the run's own
    E-step, so bit for bit those the run used, and kept in a small shared cache;
    read-only. ``means``, ``covariances`` and ``weights`` are the step's float64 arrays.
    """
    key = (kind, means.tobytes(), covariances.tobytes(), weights.tobytes(), means.shape)

    def compute():
        try:
            prec = precision_cholesky(covariances)
        except NotPositiveDefinite as exc:
            raise ValueError(
                f"In this step {covariance_of(exc.components)} not positive definite, "
                "so its responsibilities cannot be computed"
            ) from None
        prep = _prepared_for(X)
        if kind == "resp":
            out = estep(prep, means, prec, np.log(weights)).R.T
        else:
            out = estep(prep, means, prec, np.log(weights), want_R=False, want_log_resp=True).log_resp.T
        out.flags.writeable = False
        return out

    return _CACHE.get(X, key, compute)


# ---------------------------------------------------------------------------
# Words
# ---------------------------------------------------------------------------


def list_components(idx) -> str:
    """'component 2' / 'components 1 and 3' / '8 components (1, 2, 3, 4, 5, …)', from numbers counted from 1."""
    idx = [str(i) for i in idx]
    if len(idx) == 1:
        return f"component {idx[0]}"
    if len(idx) > 6:
        return f"{len(idx)} components ({', '.join(idx[:5])}, …)"
    return f"components {', '.join(idx[:-1])} and {idx[-1]}"


def covariance_of(components) -> str:
    """'the covariance of component 2 is' / 'the covariances of components 1 and 2 are'."""
    if len(components) == 1:
        return f"the covariance of component {components[0]} is"
    return f"the covariances of {list_components(components)} are"
